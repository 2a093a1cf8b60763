/* SPDX-License-Identifier: MIT */
/* ternctl passwd: set a user's hashed password in a password file. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/buf.h"
#include "common/passwd.h"
#include "common/xmalloc.h"
#include "ternctl/passwd.h"

/* MQTT's limit on a password. */
#define PASSWD_PW_MAX	65535

/* The iteration count of new hashes: iter, the environment or default. */
static int
passwd_pick_iter(uint32_t iter, uint32_t *out)
{
	const char	*s;
	char		*end;
	unsigned long	 v;

	if (iter != 0) {
		*out = iter;
		return (0);
	}
	if ((s = getenv(TERNCTL_PASSWD_ITER_ENV)) == NULL || *s == '\0') {
		*out = PASSWD_ITER_DEFAULT;
		return (0);
	}
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > PASSWD_ITER_MAX) {
		fprintf(stderr, "ternctl: %s=%s: want 1..%u\n",
		    TERNCTL_PASSWD_ITER_ENV, s, PASSWD_ITER_MAX);
		return (-1);
	}
	*out = (uint32_t)v;
	return (0);
}

/*
 * Reads the old file into b with user's lines removed, its other lines
 * as they were.  A missing file is empty.  Sets *st (mode 0640 when new).
 */
static int
passwd_read_others(const char *file, const char *user, struct buf *b,
    struct stat *st, bool *exists)
{
	struct passwd_hash	 h;
	FILE			*fp;
	char			*line = NULL;
	const char		*u, *why;
	size_t			 cap = 0, ulen, n = strlen(user);
	ssize_t			 len;
	unsigned		 lineno = 0;
	int			 r;

	*exists = false;
	if ((fp = fopen(file, "re")) == NULL) {
		if (errno != ENOENT) {
			fprintf(stderr, "ternctl: %s: %s\n", file,
			    strerror(errno));
			return (-1);
		}
		memset(st, 0, sizeof(*st));
		st->st_mode = 0640;
		return (0);
	}
	*exists = true;
	if (fstat(fileno(fp), st) == -1) {
		fprintf(stderr, "ternctl: %s: %s\n", file, strerror(errno));
		fclose(fp);
		return (-1);
	}
	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		r = passwd_parse_line(line, (size_t)len, &u, &ulen, &h, &why);
		if (r == -1)
			fprintf(stderr, "ternctl: warning: %s:%u: %s (line "
			    "kept as it is)\n", file, lineno, why);
		if (r == 1 && ulen == n && memcmp(u, user, n) == 0)
			continue;
		buf_add(b, line, (size_t)len);
		if (line[len - 1] != '\n')
			buf_add_u8(b, '\n');
	}
	r = ferror(fp) ? -1 : 0;
	if (r == -1)
		fprintf(stderr, "ternctl: read %s: %s\n", file,
		    strerror(errno));
	free(line);
	fclose(fp);
	return (r);
}

/* Writes b to a temporary file beside file, then renames it over file. */
static int
passwd_replace(const char *file, const struct buf *b, const struct stat *st,
    bool exists)
{
	char	*tmp, *dcopy;
	int	 fd, dfd, rc = -1;
	size_t	 off = 0;
	ssize_t	 w;

	tmp = xasprintf("%s.XXXXXX", file);
	if ((fd = mkstemp(tmp)) == -1) {
		fprintf(stderr, "ternctl: create %s: %s\n", tmp,
		    strerror(errno));
		free(tmp);
		return (-1);
	}
	if (fchmod(fd, st->st_mode & 07777) == -1 ||
	    (exists && fchown(fd, st->st_uid, st->st_gid) == -1 &&
	    errno != EPERM)) {
		fprintf(stderr, "ternctl: %s: %s\n", tmp, strerror(errno));
		goto fail;
	}
	while (off < b->len) {
		if ((w = write(fd, b->data + off, b->len - off)) == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "ternctl: write %s: %s\n", tmp,
			    strerror(errno));
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		fprintf(stderr, "ternctl: write %s: %s\n", tmp,
		    strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, file) == -1) {
		fprintf(stderr, "ternctl: rename %s to %s: %s\n", tmp, file,
		    strerror(errno));
		goto fail;
	}
	/* Make the rename itself durable. */
	dcopy = xstrdup(file);
	if ((dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	free(dcopy);
	free(tmp);
	return (0);
 fail:
	if (fd != -1)
		close(fd);
	unlink(tmp);
	free(tmp);
	return (rc);
}

int
ternctl_passwd_set(const char *file, const char *user, const void *pw,
    size_t pwlen, uint32_t iter)
{
	struct passwd_hash	 h;
	struct buf		 b = BUF_INIT;
	struct stat		 st;
	const char		*why;
	char			*line = NULL;
	bool			 exists;
	int			 rc = -1;

	if (passwd_check_user(user, strlen(user), &why) == -1) {
		fprintf(stderr, "ternctl: user \"%s\": %s\n", user, why);
		return (-1);
	}
	if (pwlen == 0 || pwlen > PASSWD_PW_MAX) {
		fprintf(stderr, "ternctl: the password must be 1..%u bytes\n",
		    PASSWD_PW_MAX);
		return (-1);
	}
	if (memchr(pw, '\0', pwlen) != NULL) {
		fprintf(stderr, "ternctl: the password holds a NUL byte\n");
		return (-1);
	}
	if (passwd_pick_iter(iter, &iter) == -1)
		return (-1);
	if (passwd_read_others(file, user, &b, &st, &exists) == -1)
		goto out;
	if (passwd_hash_new(&h, pw, pwlen, iter) == -1) {
		fprintf(stderr, "ternctl: hashing failed (OpenSSL)\n");
		goto out;
	}
	if ((line = passwd_line_new(user, strlen(user), &h, &why)) == NULL) {
		fprintf(stderr, "ternctl: user \"%s\": %s\n", user, why);
		goto out;
	}
	buf_add(&b, line, strlen(line));
	rc = passwd_replace(file, &b, &st, exists);
 out:
	OPENSSL_cleanse(&h, sizeof(h));
	free(line);
	buf_free(&b);
	return (rc);
}

/* Reads one line from fp into a new string, without its newline. */
static char *
passwd_read_line(FILE *fp, size_t *len)
{
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 n;

	if ((n = getline(&line, &cap, fp)) == -1) {
		free(line);
		return (NULL);
	}
	if (n > 0 && line[n - 1] == '\n')
		n--;
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	*len = (size_t)n;
	return (line);
}

/* Prompts on the terminal with echo off; returns a new string or NULL. */
static char *
passwd_prompt(const char *prompt, size_t *len)
{
	struct termios	 old, quiet;
	char		*pw;

	fputs(prompt, stderr);
	fflush(stderr);
	if (tcgetattr(STDIN_FILENO, &old) == -1)
		return (passwd_read_line(stdin, len));
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	pw = passwd_read_line(stdin, len);
	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', stderr);
	return (pw);
}

static void
passwd_wipe(char *s, size_t len)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, len);
		free(s);
	}
}

int
ternctl_passwd(const char *file, const char *user)
{
	char	*pw, *again = NULL;
	size_t	 len = 0, alen = 0;
	int	 rc;

	if (isatty(STDIN_FILENO)) {
		pw = passwd_prompt("Password: ", &len);
		if (pw != NULL)
			again = passwd_prompt("Retype password: ", &alen);
		if (pw != NULL && (again == NULL || alen != len ||
		    memcmp(pw, again, len) != 0)) {
			fprintf(stderr, "ternctl: the passwords differ\n");
			passwd_wipe(pw, len);
			passwd_wipe(again, alen);
			return (1);
		}
		passwd_wipe(again, alen);
	} else
		pw = passwd_read_line(stdin, &len);
	if (pw == NULL) {
		fprintf(stderr, "ternctl: no password on standard input\n");
		return (1);
	}
	rc = ternctl_passwd_set(file, user, pw, len, 0);
	passwd_wipe(pw, len);
	if (rc == -1)
		return (1);
	fprintf(stderr, "ternctl: set the password of \"%s\" in %s\n", user,
	    file);
	return (0);
}
