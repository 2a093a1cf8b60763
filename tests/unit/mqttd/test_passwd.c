/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of password hashing and files: common/passwd.c (format, KDF),
 * mqttd/passwd.c (the loaded table, unknown-user timing) and
 * ternctl/passwd.c (updating a file).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/passwd.h"
#include "mqttd/auth.h"
#include "ternctl/passwd.h"
#include "tests/unit/unit.h"

/* Iteration count for tests: the real default takes 0.35 s a check. */
#define TEST_ITER	1000

static char	tmpdir[64];

static void
tmp_setup(void)
{
	if (tmpdir[0] == '\0') {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/tern-passwd-XXXXXX");
		if (mkdtemp(tmpdir) == NULL) {
			perror("mkdtemp");
			exit(2);
		}
	}
}

/* Writes text to a new file in tmpdir; returns its path (static). */
static const char *
tmp_file(const char *name, const char *text)
{
	static char	 path[128];
	FILE		*fp;

	tmp_setup();
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if ((fp = fopen(path, "w")) == NULL) {
		perror(path);
		exit(2);
	}
	fputs(text, fp);
	fclose(fp);
	return (path);
}

/* Reads a whole file into a new string. */
static char *
slurp(const char *path)
{
	FILE	*fp;
	char	*s;
	long	 n;

	if ((fp = fopen(path, "r")) == NULL)
		return (NULL);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	s = calloc(1, (size_t)n + 1);
	if (fread(s, 1, (size_t)n, fp) != (size_t)n) {
		free(s);
		s = NULL;
	}
	fclose(fp);
	return (s);
}

/* A "USER:HASH\n" line for pw at iter (a new string). */
static char *
make_line(const char *user, const char *pw, uint32_t iter)
{
	struct passwd_hash	 h;
	const char		*why;

	if (passwd_hash_new(&h, pw, strlen(pw), iter) == -1)
		return (NULL);
	return (passwd_line_new(user, strlen(user), &h, &why));
}

static void
test_passwd_roundtrip(void)
{
	struct passwd_hash	 h, p;
	char			 s[PASSWD_STR_MAX];
	const char		*why = NULL;

	CU_ASSERT_EQUAL_FATAL(passwd_hash_new(&h, "secret", 6, TEST_ITER), 0);
	CU_ASSERT_EQUAL(h.scheme, PASSWD_SCHEME_PBKDF2_SHA512);
	CU_ASSERT_EQUAL(h.salt_len, PASSWD_SALT_LEN);
	CU_ASSERT_EQUAL_FATAL(passwd_format(&h, s, sizeof(s)), 0);
	CU_ASSERT_EQUAL(strncmp(s, "$pbkdf2-sha512$i=1000$", 22), 0);
	CU_ASSERT_NOT_EQUAL(s[strlen(s) - 1], '=');	/* no padding */
	CU_ASSERT_EQUAL_FATAL(passwd_parse(s, strlen(s), &p, &why), 0);
	CU_ASSERT_EQUAL(p.iter, TEST_ITER);
	CU_ASSERT_EQUAL(p.salt_len, h.salt_len);
	CU_ASSERT_EQUAL(memcmp(p.salt, h.salt, h.salt_len), 0);
	CU_ASSERT_EQUAL(memcmp(p.hash, h.hash, PASSWD_HASH_LEN), 0);
	CU_ASSERT_TRUE(is_passwd_match(&p, "secret", 6));
	CU_ASSERT_FALSE(is_passwd_match(&p, "Secret", 6));
	CU_ASSERT_FALSE(is_passwd_match(&p, "secre", 5));
	CU_ASSERT_FALSE(is_passwd_match(&p, "secret\0", 7));
	CU_ASSERT_FALSE(is_passwd_match(&p, "", 0));
	/* Too small a buffer fails rather than truncating. */
	CU_ASSERT_EQUAL(passwd_format(&h, s, 40), -1);
}

static void
test_passwd_salt_is_random(void)
{
	struct passwd_hash	a, b;

	CU_ASSERT_EQUAL_FATAL(passwd_hash_new(&a, "pw", 2, TEST_ITER), 0);
	CU_ASSERT_EQUAL_FATAL(passwd_hash_new(&b, "pw", 2, TEST_ITER), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(a.salt, b.salt, PASSWD_SALT_LEN), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(a.hash, b.hash, PASSWD_HASH_LEN), 0);
	CU_ASSERT_TRUE(is_passwd_match(&a, "pw", 2));
	CU_ASSERT_TRUE(is_passwd_match(&b, "pw", 2));
}

static void
test_passwd_binary_and_empty(void)
{
	struct passwd_hash	h;
	const uint8_t		pw[] = { 1, 0xff, 'x', 0x80 };

	/* MQTT passwords are binary data. */
	CU_ASSERT_EQUAL_FATAL(passwd_hash_new(&h, pw, sizeof(pw), 10), 0);
	CU_ASSERT_TRUE(is_passwd_match(&h, pw, sizeof(pw)));
	CU_ASSERT_FALSE(is_passwd_match(&h, pw, sizeof(pw) - 1));
	CU_ASSERT_FALSE(is_passwd_match(&h, "", 0));
	CU_ASSERT_EQUAL_FATAL(passwd_hash_new(&h, "", 0, 10), 0);
	CU_ASSERT_TRUE(is_passwd_match(&h, "", 0));
	/*
	 * HMAC pads its key with zeros, so PBKDF2 alone would take "\0" for
	 * "" and "pw\0" for "pw": NUL bytes never match and cannot be set.
	 */
	CU_ASSERT_FALSE(is_passwd_match(&h, "\0", 1));
	CU_ASSERT_EQUAL_FATAL(passwd_hash_new(&h, "pw", 2, 10), 0);
	CU_ASSERT_FALSE(is_passwd_match(&h, "pw\0", 3));
	CU_ASSERT_FALSE(is_passwd_match(&h, "pw\0\0", 4));
	CU_ASSERT_EQUAL(passwd_hash_new(&h, "pw\0", 3, 10), -1);
	CU_ASSERT_EQUAL(passwd_hash_new(&h, "\0x", 2, 10), -1);
}

/* Made by mosquitto_passwd 2.0 (-b pw alice secret; -I 1000 for bob). */
#define MOSQ_ALICE	"alice:$7$101$6ANDtjVuCKiuKWiY$hDyZ+XzkYoTVMuxf9l+O5" \
	"2SxmGJEOqvlwgeW4qOt/77EA06cFrnV4a1W55pGVDSnBDWxTLoSiQAXgDDYUjKSJw=="
#define MOSQ_BOB	"bob:$7$1000$Enx8XYkynRhl+IKw$dNeJEfJUU1JTJhz0EW3OZDY" \
	"x9dDfqAa8JXx3rM9y/b712PUH3xYRJSA4WxNMnEwbfXk/a0RiOqc+tFOhVS5j/A=="

static void
test_passwd_mosquitto(void)
{
	struct passwd_hash	 h;
	const char		*user, *why = NULL;
	char			 s[PASSWD_STR_MAX];
	size_t			 ulen;

	CU_ASSERT_EQUAL_FATAL(passwd_parse_line(MOSQ_ALICE,
	    strlen(MOSQ_ALICE), &user, &ulen, &h, &why), 1);
	CU_ASSERT_EQUAL(ulen, 5);
	CU_ASSERT_EQUAL(memcmp(user, "alice", 5), 0);
	CU_ASSERT_EQUAL(h.scheme, PASSWD_SCHEME_MOSQ7);
	CU_ASSERT_EQUAL(h.iter, 101);
	CU_ASSERT_EQUAL(h.salt_len, 12);
	CU_ASSERT_TRUE(is_passwd_match(&h, "secret", 6));
	CU_ASSERT_FALSE(is_passwd_match(&h, "secreT", 6));
	/* It formats back to exactly what mosquitto wrote. */
	CU_ASSERT_EQUAL_FATAL(passwd_format(&h, s, sizeof(s)), 0);
	CU_ASSERT_STRING_EQUAL(s, strchr(MOSQ_ALICE, ':') + 1);

	CU_ASSERT_EQUAL_FATAL(passwd_parse_line(MOSQ_BOB, strlen(MOSQ_BOB),
	    &user, &ulen, &h, &why), 1);
	CU_ASSERT_EQUAL(h.iter, 1000);
	CU_ASSERT_TRUE(is_passwd_match(&h, "hunter2", 7));
	CU_ASSERT_FALSE(is_passwd_match(&h, "secret", 6));
}

static void
test_passwd_parse_errors(void)
{
	static const struct {
		const char	*line;
		const char	*why;	/* a part of the reason */
	} bad[] = {
		{ "alice", "missing ':'" },
		{ ":$7$101$6ANDtjVuCKiuKWiY$x", "empty user" },
		{ "a\tb:$7$1$x$y", "control character" },
		{ "alice:secret", "plain text" },
		{ "alice:$6$abc$def", "too weak" },
		{ "alice:$argon2id$v=19$m=1$x$y", "unknown hash scheme" },
		{ "alice:$7$101$6ANDtjVuCKiuKWiY", "malformed" },
		{ "alice:$7$101$a$b$c", "malformed" },
		{ "alice:$7$0$6ANDtjVuCKiuKWiY$AAAA", "iteration" },
		{ "alice:$7$x1$6ANDtjVuCKiuKWiY$AAAA", "iteration" },
		{ "alice:$7$99999999999$6ANDtjVuCKiuKWiY$AAAA", "iteration" },
		{ "alice:$7$10000001$6ANDtjVuCKiuKWiY$AAAA", "iteration" },
		{ "alice:$7$$6ANDtjVuCKiuKWiY$AAAA", "iteration" },
		{ "alice:$7$101$AAAA$" "AAAA", "bad salt" },
		{ "alice:$7$101$6AND*jVuCKiuKWiY$AAAA", "bad salt" },
		{ "alice:$7$101$6ANDtjVuCKiuKWiY$AAAA", "bad hash" },
		{ "alice:$7$101$6ANDtjVuCKiuKWiY$", "bad hash" },
		{ "alice:$pbkdf2-sha512$i=5$6ANDtjVuCKiuKWiY$AAA=A",
		    "bad hash" },
	};
	struct passwd_hash	 h;
	const char		*user, *why;
	size_t			 ulen, i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		CU_ASSERT_EQUAL(passwd_parse_line(bad[i].line,
		    strlen(bad[i].line), &user, &ulen, &h, &why), -1);
		if (why == NULL || strstr(why, bad[i].why) == NULL) {
			fprintf(stderr, "\n  line %zu \"%s\": got \"%s\", want "
			    "\"%s\"\n", i, bad[i].line, why ? why : "(null)",
			    bad[i].why);
			CU_FAIL("wrong reason");
		}
	}
}

static void
test_passwd_parse_blank_comment(void)
{
	struct passwd_hash	 h;
	const char		*user, *why;
	size_t			 ulen;
	char			*line;

	CU_ASSERT_EQUAL(passwd_parse_line("", 0, &user, &ulen, &h, &why), 0);
	CU_ASSERT_EQUAL(passwd_parse_line(" \t\r\n", 4, &user, &ulen, &h,
	    &why), 0);
	CU_ASSERT_EQUAL(passwd_parse_line("  # alice:x", 11, &user, &ulen,
	    &h, &why), 0);
	/* Trailing CR/LF and blanks are not part of the hash. */
	line = make_line("carol", "pw", 10);
	CU_ASSERT_PTR_NOT_NULL_FATAL(line);
	line[strlen(line) - 1] = '\0';
	{
		char	crlf[PASSWD_STR_MAX + 16];

		snprintf(crlf, sizeof(crlf), "%s \r\n", line);
		CU_ASSERT_EQUAL(passwd_parse_line(crlf, strlen(crlf), &user,
		    &ulen, &h, &why), 1);
		CU_ASSERT_TRUE(is_passwd_match(&h, "pw", 2));
	}
	free(line);
	/* Users that cannot be written. */
	CU_ASSERT_EQUAL(passwd_check_user("#x", 2, &why), -1);
	CU_ASSERT_EQUAL(passwd_check_user("a:b", 3, &why), -1);
	CU_ASSERT_EQUAL(passwd_check_user("a\nb", 3, &why), -1);
	CU_ASSERT_EQUAL(passwd_check_user("", 0, &why), -1);
	CU_ASSERT_EQUAL(passwd_check_user("j\xc3\xbcrgen x", 9, &why), 0);
}

/* Builds a password file of the given lines (NULL-terminated). */
static const char *
write_table(const char *name, const char *const *lines)
{
	char	*text = NULL, *old;
	size_t	 i;

	text = strdup("# users of the test\n\n");
	for (i = 0; lines[i] != NULL; i++) {
		old = text;
		if (asprintf(&text, "%s%s", old, lines[i]) == -1)
			exit(2);
		free(old);
	}
	name = tmp_file(name, text);
	free(text);
	return (name);
}

static void
test_passwd_table(void)
{
	struct passwd_table	*t;
	char			*l[5], err[512];
	const char		*path;
	size_t			 i;

	l[0] = make_line("alice", "a-pw", TEST_ITER);
	l[1] = make_line("bob", "b-pw", TEST_ITER / 2);
	l[2] = strdup(MOSQ_ALICE "\n");
	l[3] = make_line("dave smith", "", TEST_ITER);
	l[4] = NULL;
	l[2][0] = 'A';		/* user "Alice": names are case-sensitive */
	path = write_table("table", (const char *const *)l);
	t = passwd_table_load(path, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(passwd_table_count(t), 4);
	CU_ASSERT_EQUAL(passwd_table_check(t, "alice", 5, "a-pw", 4),
	    PASSWD_RESULT_OK);
	CU_ASSERT_EQUAL(passwd_table_check(t, "alice", 5, "b-pw", 4),
	    PASSWD_RESULT_WRONG);
	CU_ASSERT_EQUAL(passwd_table_check(t, "bob", 3, "b-pw", 4),
	    PASSWD_RESULT_OK);
	CU_ASSERT_EQUAL(passwd_table_check(t, "Alice", 5, "secret", 6),
	    PASSWD_RESULT_OK);
	CU_ASSERT_EQUAL(passwd_table_check(t, "Alice", 5, "a-pw", 4),
	    PASSWD_RESULT_WRONG);
	CU_ASSERT_EQUAL(passwd_table_check(t, "dave smith", 10, "", 0),
	    PASSWD_RESULT_OK);
	CU_ASSERT_EQUAL(passwd_table_check(t, "alic", 4, "a-pw", 4),
	    PASSWD_RESULT_UNKNOWN);
	CU_ASSERT_EQUAL(passwd_table_check(t, "alicee", 6, "a-pw", 4),
	    PASSWD_RESULT_UNKNOWN);
	CU_ASSERT_EQUAL(passwd_table_check(t, "", 0, "", 0),
	    PASSWD_RESULT_UNKNOWN);
	/* The length counts: "bob\0" is another user. */
	CU_ASSERT_EQUAL(passwd_table_check(t, "bob\0", 4, "b-pw", 4),
	    PASSWD_RESULT_UNKNOWN);
	CU_ASSERT_STRING_EQUAL(passwd_result_name(PASSWD_RESULT_UNKNOWN),
	    "unknown user");
	passwd_table_free(t);
	passwd_table_free(NULL);
	for (i = 0; i < 4; i++)
		free(l[i]);

	/* An empty file is a valid table that knows nobody. */
	path = tmp_file("empty", "");
	t = passwd_table_load(path, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(passwd_table_count(t), 0);
	CU_ASSERT_EQUAL(passwd_table_check(t, "x", 1, "y", 1),
	    PASSWD_RESULT_UNKNOWN);
	passwd_table_free(t);
}

static void
test_passwd_table_errors(void)
{
	char	 err[512], want[256], *l[6];
	const char *path;
	size_t	 i;

	/* A bad line: FILE:LINE: reason (two header lines come first). */
	l[0] = make_line("alice", "a", 10);
	l[1] = strdup("bob:hunter2\n");
	l[2] = NULL;
	path = write_table("bad", (const char *const *)l);
	CU_ASSERT_PTR_NULL(passwd_table_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:4: not a hash", path);
	CU_ASSERT_EQUAL(strncmp(err, want, strlen(want)), 0);
	fprintf(stderr, "\n  error: %s\n", err);
	free(l[1]);

	/* A user twice: the second line is the error. */
	l[1] = make_line("bob", "b", 10);
	l[2] = strdup("# a comment\n");
	l[3] = make_line("alice", "c", 10);
	l[4] = NULL;
	path = write_table("dup", (const char *const *)l);
	CU_ASSERT_PTR_NULL(passwd_table_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:6: user \"alice\" is also on line 3",
	    path);
	CU_ASSERT_STRING_EQUAL(err, want);
	for (i = 0; i < 4; i++)
		free(l[i]);

	/* A missing file. */
	snprintf(want, sizeof(want), "%s/nope", tmpdir);
	CU_ASSERT_PTR_NULL(passwd_table_load(want, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "No such file"));
}

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/*
 * An unknown user costs what a wrong password does.  Most users have
 * 5000 iterations and one has 50: the dummy must follow the common count
 * (a dummy at the default would make the ratio ~40, at the minimum ~0.01).
 * The bound is loose on purpose; the measurement is printed.
 */
static void
test_passwd_timing(void)
{
	struct passwd_table	*t;
	char			*l[5], err[512];
	const char		*path;
	double			 t0, unknown = 0, wrong = 0, ratio;
	int			 i;

	l[0] = make_line("u1", "pw1", 5000);
	l[1] = make_line("u2", "pw2", 5000);
	l[2] = make_line("u3", "pw3", 5000);
	l[3] = make_line("fast", "pw4", 50);
	l[4] = NULL;
	path = write_table("timing", (const char *const *)l);
	t = passwd_table_load(path, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	/* Interleaved, so that noise hits both kinds alike. */
	for (i = 0; i < 40; i++) {
		t0 = now_s();
		CU_ASSERT_EQUAL(passwd_table_check(t, "nobody", 6, "pw", 2),
		    PASSWD_RESULT_UNKNOWN);
		unknown += now_s() - t0;
		t0 = now_s();
		CU_ASSERT_EQUAL(passwd_table_check(t, "u2", 2, "pw", 2),
		    PASSWD_RESULT_WRONG);
		wrong += now_s() - t0;
	}
	ratio = unknown / wrong;
	fprintf(stderr, "\n  40 unknown-user checks %.1f ms, 40 wrong-password "
	    "checks %.1f ms, ratio %.3f\n", unknown * 1e3, wrong * 1e3, ratio);
	CU_ASSERT_TRUE(ratio > 0.5 && ratio < 2.0);
	passwd_table_free(t);
	for (i = 0; i < 4; i++)
		free(l[i]);
}

/* ternctl passwd: adding, updating, keeping other lines. */
static void
test_passwd_file_update(void)
{
	struct passwd_table	*t;
	struct stat		 st;
	char			 path[128], err[512], *text, *bob1, *p;
	const char		*user, *why;
	struct passwd_hash	 h;
	size_t			 ulen;

	tmp_setup();
	snprintf(path, sizeof(path), "%s/ctl", tmpdir);
	unlink(path);
	/* A new file. */
	CU_ASSERT_EQUAL_FATAL(ternctl_passwd_set(path, "alice", "one", 3,
	    TEST_ITER), 0);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0640);
	CU_ASSERT_EQUAL_FATAL(ternctl_passwd_set(path, "bob", "two", 3,
	    TEST_ITER), 0);
	bob1 = slurp(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bob1);
	/* A comment and a line that does not parse survive updates. */
	text = NULL;
	CU_ASSERT_NOT_EQUAL_FATAL(asprintf(&text, "# keep me\n%sjunk line",
	    bob1), -1);
	tmp_file("ctl", text);
	free(text);
	CU_ASSERT_EQUAL(chmod(path, 0600), 0);
	fprintf(stderr, "\n");
	CU_ASSERT_EQUAL_FATAL(ternctl_passwd_set(path, "alice", "three", 5,
	    TEST_ITER), 0);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);	/* mode kept */
	text = slurp(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	/* Order kept: comment, bob (unchanged), junk, then the new alice. */
	CU_ASSERT_EQUAL(strncmp(text, "# keep me\nbob:", 14), 0);
	p = strstr(bob1, "bob:");
	CU_ASSERT_PTR_NOT_NULL(p != NULL ? strstr(text, p) : NULL);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\njunk line\nalice:$pbkdf2"));
	p = strstr(text, "alice:");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(passwd_parse_line(p, strlen(p), &user, &ulen, &h,
	    &why), 1);
	CU_ASSERT_TRUE(is_passwd_match(&h, "three", 5));
	CU_ASSERT_PTR_NULL(strstr(p + 1, "alice:"));	/* only once */
	free(text);
	free(bob1);

	/* Drop the junk; the daemon's loader then takes the file. */
	CU_ASSERT_EQUAL_FATAL(ternctl_passwd_set(path, "carol", "four", 4,
	    TEST_ITER), 0);
	text = slurp(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	p = strstr(text, "junk line\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	memmove(p, p + 10, strlen(p + 10) + 1);
	tmp_file("ctl", text);
	free(text);
	t = passwd_table_load(path, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(passwd_table_count(t), 3);
	CU_ASSERT_EQUAL(passwd_table_check(t, "alice", 5, "three", 5),
	    PASSWD_RESULT_OK);
	CU_ASSERT_EQUAL(passwd_table_check(t, "alice", 5, "one", 3),
	    PASSWD_RESULT_WRONG);
	CU_ASSERT_EQUAL(passwd_table_check(t, "bob", 3, "two", 3),
	    PASSWD_RESULT_OK);
	CU_ASSERT_EQUAL(passwd_table_check(t, "carol", 5, "four", 4),
	    PASSWD_RESULT_OK);
	passwd_table_free(t);

	/* Refusals change nothing. */
	text = slurp(path);
	fprintf(stderr, "  expected refusals:\n");
	CU_ASSERT_EQUAL(ternctl_passwd_set(path, "a:b", "x", 1, TEST_ITER),
	    -1);
	CU_ASSERT_EQUAL(ternctl_passwd_set(path, "#a", "x", 1, TEST_ITER), -1);
	CU_ASSERT_EQUAL(ternctl_passwd_set(path, "", "x", 1, TEST_ITER), -1);
	CU_ASSERT_EQUAL(ternctl_passwd_set(path, "dan", "", 0, TEST_ITER), -1);
	CU_ASSERT_EQUAL(ternctl_passwd_set(path, "dan", "a\0b", 3, TEST_ITER),
	    -1);
	snprintf(err, sizeof(err), "%s/no/such/dir/pw", tmpdir);
	CU_ASSERT_EQUAL(ternctl_passwd_set(err, "dan", "x", 1, TEST_ITER), -1);
	bob1 = slurp(path);
	CU_ASSERT_STRING_EQUAL(text, bob1);
	free(text);
	free(bob1);
}

static void
test_passwd_iter_env(void)
{
	struct passwd_hash	 h;
	char			 path[128], *text;
	const char		*user, *why;
	size_t			 ulen;

	tmp_setup();
	snprintf(path, sizeof(path), "%s/env", tmpdir);
	unlink(path);
	setenv(TERNCTL_PASSWD_ITER_ENV, "123", 1);
	CU_ASSERT_EQUAL_FATAL(ternctl_passwd_set(path, "e", "pw", 2, 0), 0);
	text = slurp(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_EQUAL(passwd_parse_line(text, strlen(text), &user, &ulen,
	    &h, &why), 1);
	CU_ASSERT_EQUAL(h.iter, 123);
	free(text);
	setenv(TERNCTL_PASSWD_ITER_ENV, "0", 1);
	CU_ASSERT_EQUAL(ternctl_passwd_set(path, "e", "pw", 2, 0), -1);
	unsetenv(TERNCTL_PASSWD_ITER_ENV);
}

static void
cleanup(void)
{
	char	cmd[128];

	if (tmpdir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
}

int
main(void)
{
	static const struct unit_test	tests[] = {
		UNIT_TEST(test_passwd_roundtrip),
		UNIT_TEST(test_passwd_salt_is_random),
		UNIT_TEST(test_passwd_binary_and_empty),
		UNIT_TEST(test_passwd_mosquitto),
		UNIT_TEST(test_passwd_parse_errors),
		UNIT_TEST(test_passwd_parse_blank_comment),
		UNIT_TEST(test_passwd_table),
		UNIT_TEST(test_passwd_table_errors),
		UNIT_TEST(test_passwd_timing),
		UNIT_TEST(test_passwd_file_update),
		UNIT_TEST(test_passwd_iter_env),
		UNIT_END
	};
	int				rc;

	rc = unit_run("passwd", tests);
	cleanup();
	return (rc);
}
