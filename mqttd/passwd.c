/* SPDX-License-Identifier: MIT */
/* The password table mqttd loads from password_file, and its checks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/passwd.h"
#include "common/xmalloc.h"
#include "mqttd/auth.h"

struct passwd_entry {
	char			*user;
	size_t			 ulen;
	unsigned		 line;
	struct passwd_hash	 h;
};

struct passwd_table {
	struct passwd_entry	*v;		/* sorted by passwd_entry_cmp */
	size_t			 n;
	size_t			 cap;
	/* What an unknown user is checked against: never matches. */
	struct passwd_hash	 dummy;
};

static int
passwd_entry_cmp(const void *a, const void *b)
{
	const struct passwd_entry	*x = a, *y = b;
	size_t				 n = x->ulen < y->ulen ? x->ulen :
					    y->ulen;
	int				 c;

	if ((c = memcmp(x->user, y->user, n)) != 0)
		return (c);
	return (x->ulen < y->ulen ? -1 : x->ulen > y->ulen);
}

static int
passwd_iter_cmp(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x < y ? -1 : x > y);
}

/*
 * The dummy hash: random salt and output, and the most common iteration
 * count of the table, so that an unknown user costs what most known ones
 * do.
 */
static int
passwd_table_make_dummy(struct passwd_table *t)
{
	uint32_t	*it, best;
	size_t		 i, run, best_run;

	best = PASSWD_ITER_DEFAULT;
	if (t->n > 0) {
		it = xreallocarray(NULL, t->n, sizeof(*it));
		for (i = 0; i < t->n; i++)
			it[i] = t->v[i].h.iter;
		qsort(it, t->n, sizeof(*it), passwd_iter_cmp);
		best_run = 0;
		for (i = 0; i < t->n; i += run) {
			for (run = 1; i + run < t->n && it[i + run] == it[i];
			    run++)
				;
			if (run > best_run) {
				best_run = run;
				best = it[i];
			}
		}
		free(it);
	}
	t->dummy.scheme = PASSWD_SCHEME_PBKDF2_SHA512;
	t->dummy.iter = best;
	t->dummy.salt_len = PASSWD_SALT_LEN;
	if (RAND_bytes(t->dummy.salt, PASSWD_SALT_LEN) != 1 ||
	    RAND_bytes(t->dummy.hash, PASSWD_HASH_LEN) != 1)
		return (-1);
	return (0);
}

static void
passwd_table_add(struct passwd_table *t, const char *user, size_t ulen,
    unsigned line, const struct passwd_hash *h)
{
	struct passwd_entry	*e;

	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->v = xreallocarray(t->v, t->cap, sizeof(*t->v));
	}
	e = &t->v[t->n++];
	e->user = xmemdup(user, ulen);
	e->ulen = ulen;
	e->line = line;
	e->h = *h;
}

/* Sorts the entries; a user twice is an error (its second line). */
static int
passwd_table_sort(struct passwd_table *t, const char *path, char *err,
    size_t errlen)
{
	const struct passwd_entry	*a, *b;
	size_t				 i;

	if (t->n > 0)
		qsort(t->v, t->n, sizeof(*t->v), passwd_entry_cmp);
	for (i = 1; i < t->n; i++) {
		if (passwd_entry_cmp(&t->v[i - 1], &t->v[i]) != 0)
			continue;
		a = &t->v[i - 1];
		b = &t->v[i];
		if (a->line > b->line) {
			a = &t->v[i];
			b = &t->v[i - 1];
		}
		snprintf(err, errlen, "%s:%u: user \"%.*s\" is also on line "
		    "%u", path, b->line, (int)(b->ulen > 64 ? 64 : b->ulen),
		    b->user, a->line);
		return (-1);
	}
	return (0);
}

struct passwd_table *
passwd_table_load(const char *path, char *err, size_t errlen)
{
	struct passwd_table	*t;
	struct passwd_hash	 h;
	FILE			*fp;
	char			*line = NULL;
	const char		*user, *why;
	size_t			 cap = 0, ulen;
	ssize_t			 len;
	unsigned		 lineno = 0;
	int			 r;

	if ((fp = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	t = xcalloc(1, sizeof(*t));
	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		r = passwd_parse_line(line, (size_t)len, &user, &ulen, &h,
		    &why);
		if (r == -1) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			goto fail;
		}
		if (r == 1)
			passwd_table_add(t, user, ulen, lineno, &h);
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: read: %s", path, strerror(errno));
		goto fail;
	}
	if (passwd_table_sort(t, path, err, errlen) == -1)
		goto fail;
	if (passwd_table_make_dummy(t) == -1) {
		snprintf(err, errlen, "%s: RAND_bytes failed", path);
		goto fail;
	}
	OPENSSL_cleanse(&h, sizeof(h));
	if (line != NULL)
		OPENSSL_cleanse(line, cap);
	free(line);
	fclose(fp);
	return (t);
 fail:
	if (line != NULL)
		OPENSSL_cleanse(line, cap);
	free(line);
	fclose(fp);
	passwd_table_free(t);
	return (NULL);
}

void
passwd_table_free(struct passwd_table *t)
{
	size_t	i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		free(t->v[i].user);
	if (t->v != NULL)
		OPENSSL_cleanse(t->v, t->cap * sizeof(*t->v));
	free(t->v);
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}

size_t
passwd_table_count(const struct passwd_table *t)
{
	return (t->n);
}

enum passwd_result
passwd_table_check(const struct passwd_table *t, const char *user,
    size_t ulen, const void *pw, size_t pwlen)
{
	struct passwd_entry		 key = { 0 };
	const struct passwd_entry	*e = NULL;
	bool				 ok;

	key.user = (char *)user;
	key.ulen = ulen;
	if (t->n > 0)
		e = bsearch(&key, t->v, t->n, sizeof(*t->v),
		    passwd_entry_cmp);
	/* Same KDF work either way: see passwd_table_make_dummy(). */
	ok = is_passwd_match(e != NULL ? &e->h : &t->dummy, pw, pwlen);
	if (e == NULL)
		return (PASSWD_RESULT_UNKNOWN);
	return (ok ? PASSWD_RESULT_OK : PASSWD_RESULT_WRONG);
}

const char *
passwd_result_name(enum passwd_result r)
{
	switch (r) {
	case PASSWD_RESULT_OK:
		return ("ok");
	case PASSWD_RESULT_WRONG:
		return ("wrong password");
	case PASSWD_RESULT_UNKNOWN:
		return ("unknown user");
	}
	return ("?");
}
