/* SPDX-License-Identifier: MIT */
/* Access control lists: the acl_file parser and the checks (see auth.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "mqttd/auth.h"
#include "mqttd/mqtt.h"
#include "mqttd/topic.h"

#define ACL_DENY_RULE	0		/* access of a deny rule */
#define ACL_SUBST_C	0x1		/* pattern uses %c */
#define ACL_SUBST_U	0x2		/* pattern uses %u */
/* Substituted patterns up to this size are built on the stack. */
#define ACL_STACK_BUF	512

struct acl_rule {
	char		*filter;
	size_t		 len;
	uint8_t		 access;	/* ACL_READ|ACL_WRITE, or 0: deny */
	uint8_t		 subst;		/* ACL_SUBST_*, patterns only */
};

struct acl_rules {
	struct acl_rule	*v;
	size_t		 n;
	size_t		 cap;
};

struct acl_user {
	char		*name;
	size_t		 seq;		/* order of its "user" line */
	struct acl_rules rules;
};

struct acl {
	struct acl_rules anon;
	struct acl_rules patterns;
	struct acl_user	*users;		/* sorted by name after loading */
	size_t		 nusers;
	size_t		 cap;
};

/* What one acl_check() found so far. */
struct acl_eval {
	bool		 allowed;
	bool		 some_denied;
};

/* Topic levels: as in topic.c, a position past len means "no level". */
static size_t
acl_level_end(const char *s, size_t p, size_t len)
{
	const char	*slash;

	slash = memchr(s + p, '/', len - p);
	return (slash != NULL ? (size_t)(slash - s) : len);
}

static bool
is_acl_level(const char *s, size_t p, size_t e, char ch)
{
	return (e - p == 1 && s[p] == ch);
}

/* True if the first level of s is '+' or '#'. */
static bool
is_acl_wild_first(const char *s, size_t len)
{
	return (len > 0 && (s[0] == '+' || s[0] == '#') &&
	    (len == 1 || s[1] == '/'));
}

/*
 * True if every topic that filter s matches is matched by rule filter a
 * (s may be a topic name: then this is topic_match()).
 */
static bool
acl_covers(const char *a, size_t alen, const char *s, size_t slen)
{
	size_t	ap = 0, sp = 0, ae, se;

	if (slen > 0 && s[0] == '$' && is_acl_wild_first(a, alen))
		return (false);
	for (;;) {
		if (ap > alen)
			return (sp > slen);
		ae = acl_level_end(a, ap, alen);
		if (is_acl_level(a, ap, ae, '#'))
			return (true);
		if (sp > slen)
			return (false);
		se = acl_level_end(s, sp, slen);
		if (is_acl_level(s, sp, se, '#'))
			return (false);
		if (!is_acl_level(a, ap, ae, '+')) {
			if (is_acl_level(s, sp, se, '+') ||
			    ae - ap != se - sp ||
			    memcmp(a + ap, s + sp, ae - ap) != 0)
				return (false);
		}
		ap = ae + 1;
		sp = se + 1;
	}
}

/* True if some topic name matches both filters a and s. */
static bool
acl_overlaps(const char *a, size_t alen, const char *s, size_t slen)
{
	size_t	ap = 0, sp = 0, ae, se;

	if ((slen > 0 && s[0] == '$' && is_acl_wild_first(a, alen)) ||
	    (alen > 0 && a[0] == '$' && is_acl_wild_first(s, slen)))
		return (false);
	for (;;) {
		if (ap > alen && sp > slen)
			return (true);
		if (ap > alen) {
			se = acl_level_end(s, sp, slen);
			return (is_acl_level(s, sp, se, '#'));
		}
		ae = acl_level_end(a, ap, alen);
		if (is_acl_level(a, ap, ae, '#'))
			return (true);
		if (sp > slen)
			return (false);
		se = acl_level_end(s, sp, slen);
		if (is_acl_level(s, sp, se, '#'))
			return (true);
		if (!is_acl_level(a, ap, ae, '+') &&
		    !is_acl_level(s, sp, se, '+') && (ae - ap != se - sp ||
		    memcmp(a + ap, s + sp, ae - ap) != 0))
			return (false);
		ap = ae + 1;
		sp = se + 1;
	}
}

/* Applies one rule to the request; returns true if it denies. */
static bool
acl_apply(const char *f, size_t flen, uint8_t access, const char *topic,
    size_t len, enum acl_access want, struct acl_eval *ev)
{
	if (access == ACL_DENY_RULE) {
		if (acl_covers(f, flen, topic, len))
			return (true);
		if (want == ACL_READ && !ev->some_denied &&
		    acl_overlaps(f, flen, topic, len))
			ev->some_denied = true;
		return (false);
	}
	if ((access & want) && !ev->allowed && acl_covers(f, flen, topic, len))
		ev->allowed = true;
	return (false);
}

/* True if s may not be put into an allow pattern. */
static bool
is_acl_dangerous(const char *s)
{
	return (s != NULL && strpbrk(s, "+#/") != NULL);
}

/*
 * Writes r's filter with %c/%u replaced into out (room for cap bytes).
 * Returns the length it needs (larger than cap: nothing usable written).
 */
static size_t
acl_subst(const struct acl_rule *r, const char *user, const char *cid,
    char *out, size_t cap)
{
	const char	*v;
	size_t		 i, n = 0, vl;

	for (i = 0; i < r->len; i++) {
		v = NULL;
		if (r->filter[i] == '%' && i + 1 < r->len) {
			if (r->filter[i + 1] == 'c')
				v = cid;
			else if (r->filter[i + 1] == 'u')
				v = user;
		}
		if (v == NULL) {
			if (n < cap)
				out[n] = r->filter[i];
			n++;
			continue;
		}
		vl = strlen(v);
		if (n + vl <= cap)
			memcpy(out + n, v, vl);
		n += vl;
		i++;
	}
	return (n);
}

/* Applies one pattern; returns true if it denies. */
static bool
acl_apply_pattern(const struct acl_rule *r, const char *user,
    const char *cid, const char *topic, size_t len, enum acl_access want,
    struct acl_eval *ev)
{
	char	 stack[ACL_STACK_BUF], *buf = stack;
	size_t	 n;
	bool	 deny, rc = false;

	deny = r->access == ACL_DENY_RULE;
	if (!deny && !(r->access & want))
		return (false);
	if ((r->subst & ACL_SUBST_U) && user == NULL)
		return (false);
	if (!deny && (((r->subst & ACL_SUBST_C) && is_acl_dangerous(cid)) ||
	    ((r->subst & ACL_SUBST_U) && is_acl_dangerous(user))))
		return (false);
	if (r->subst == 0)
		return (acl_apply(r->filter, r->len, r->access, topic, len,
		    want, ev));
	n = acl_subst(r, user, cid, buf, sizeof(stack));
	if (n > sizeof(stack)) {
		buf = xmalloc(n);
		acl_subst(r, user, cid, buf, n);
	}
	/* A deny made invalid by the substitution matches nothing. */
	if (!deny || is_mqtt_topic_filter((const uint8_t *)buf, n))
		rc = acl_apply(buf, n, r->access, topic, len, want, ev);
	if (buf != stack)
		free(buf);
	return (rc);
}

static int
acl_user_cmp(const void *a, const void *b)
{
	const struct acl_user	*x = a, *y = b;
	int			 c;

	if ((c = strcmp(x->name, y->name)) != 0)
		return (c);
	return (x->seq < y->seq ? -1 : x->seq > y->seq);
}

static const struct acl_user *
acl_find_user(const struct acl *acl, const char *user)
{
	size_t	lo = 0, hi = acl->nusers, mid;
	int	c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(user, acl->users[mid].name);
		if (c == 0)
			return (&acl->users[mid]);
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return (NULL);
}

enum acl_result
acl_check(const struct acl *acl, const char *user, const char *client_id,
    const char *topic, size_t len, enum acl_access access)
{
	const struct acl_rules	*rules;
	const struct acl_user	*u;
	const char		*group, *real;
	struct acl_eval		 ev = { 0 };
	size_t			 i, glen, rlen;

	if (acl == NULL)
		return (ACL_ALLOW);
	if (client_id == NULL)
		client_id = "";
	if (access == ACL_WRITE && (memchr(topic, '+', len) != NULL ||
	    memchr(topic, '#', len) != NULL))
		return (ACL_DENY);
	if (access == ACL_READ) {
		switch (topic_parse_shared(topic, len, &group, &glen, &real,
		    &rlen)) {
		case 1:
			topic = real;
			len = rlen;
			break;
		case -1:
			return (ACL_DENY);
		default:
			break;
		}
	}
	if (user == NULL)
		rules = &acl->anon;
	else if ((u = acl_find_user(acl, user)) != NULL)
		rules = &u->rules;
	else
		rules = NULL;
	for (i = 0; rules != NULL && i < rules->n; i++)
		if (acl_apply(rules->v[i].filter, rules->v[i].len,
		    rules->v[i].access, topic, len, access, &ev))
			return (ACL_DENY);
	for (i = 0; i < acl->patterns.n; i++)
		if (acl_apply_pattern(&acl->patterns.v[i], user, client_id,
		    topic, len, access, &ev))
			return (ACL_DENY);
	if (!ev.allowed)
		return (ACL_DENY);
	return (ev.some_denied ? ACL_ALLOW_SOME : ACL_ALLOW);
}

size_t
acl_count(const struct acl *acl)
{
	size_t	n, i;

	n = acl->anon.n + acl->patterns.n;
	for (i = 0; i < acl->nusers; i++)
		n += acl->users[i].rules.n;
	return (n);
}

/* Loading. */

static void
acl_rules_add(struct acl_rules *rs, const char *f, size_t len,
    uint8_t access, uint8_t subst)
{
	struct acl_rule	*r;

	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 8;
		rs->v = xreallocarray(rs->v, rs->cap, sizeof(*rs->v));
	}
	r = &rs->v[rs->n++];
	r->filter = xstrndup(f, len);
	r->len = len;
	r->access = access;
	r->subst = subst;
}

static void
acl_rules_free(struct acl_rules *rs)
{
	size_t	i;

	for (i = 0; i < rs->n; i++)
		free(rs->v[i].filter);
	free(rs->v);
	rs->v = NULL;
	rs->n = rs->cap = 0;
}

static struct acl_rules *
acl_add_user(struct acl *acl, const char *name, size_t len)
{
	struct acl_user	*u;

	if (acl->nusers == acl->cap) {
		acl->cap = acl->cap ? acl->cap * 2 : 8;
		acl->users = xreallocarray(acl->users, acl->cap,
		    sizeof(*acl->users));
	}
	u = &acl->users[acl->nusers];
	memset(u, 0, sizeof(*u));
	u->name = xstrndup(name, len);
	u->seq = acl->nusers++;
	return (&u->rules);
}

/* Sorts the users and merges the blocks of a user named twice. */
static void
acl_sort_users(struct acl *acl)
{
	struct acl_user	*a, *b;
	size_t		 i, j, k;

	if (acl->nusers == 0)
		return;
	qsort(acl->users, acl->nusers, sizeof(*acl->users), acl_user_cmp);
	for (i = 0, j = 1; j < acl->nusers; j++) {
		a = &acl->users[i];
		b = &acl->users[j];
		if (strcmp(a->name, b->name) != 0) {
			acl->users[++i] = *b;
			continue;
		}
		for (k = 0; k < b->rules.n; k++)
			acl_rules_add(&a->rules, b->rules.v[k].filter,
			    b->rules.v[k].len, b->rules.v[k].access, 0);
		acl_rules_free(&b->rules);
		free(b->name);
	}
	acl->nusers = i + 1;
}

static bool
is_acl_blank(char ch)
{
	return (ch == ' ' || ch == '\t');
}

/* Splits the first word off s[*p..len) (blanks skipped). */
static void
acl_word(const char *s, size_t len, size_t *p, const char **w, size_t *wl)
{
	while (*p < len && is_acl_blank(s[*p]))
		(*p)++;
	*w = s + *p;
	while (*p < len && !is_acl_blank(s[*p]))
		(*p)++;
	*wl = (size_t)(s + *p - *w);
	while (*p < len && is_acl_blank(s[*p]))
		(*p)++;
}

static bool
is_acl_word(const char *w, size_t wl, const char *kw)
{
	return (wl == strlen(kw) && memcmp(w, kw, wl) == 0);
}

/* Parses "[ACCESS] FILTER" of a topic or pattern line. */
static int
acl_parse_rule(struct acl_rules *rs, const char *s, size_t len,
    bool pattern, const char **why)
{
	static const struct {
		const char	*word;
		uint8_t		 access;
	} words[] = {
		{ "read", ACL_READ },
		{ "write", ACL_WRITE },
		{ "readwrite", ACL_READ | ACL_WRITE },
		{ "deny", ACL_DENY_RULE }
	};
	const char	*w, *f;
	size_t		 p = 0, wl, i, flen;
	uint8_t		 access = ACL_READ | ACL_WRITE, subst = 0;

	acl_word(s, len, &p, &w, &wl);
	f = s;
	flen = len;
	/* "topic read" alone is the filter "read", as in Mosquitto. */
	if (p < len) {
		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
			if (is_acl_word(w, wl, words[i].word)) {
				access = words[i].access;
				f = s + p;
				flen = len - p;
				break;
			}
		}
	}
	if (flen == 0) {
		*why = "missing topic filter";
		return (-1);
	}
	if (!is_mqtt_topic_filter((const uint8_t *)f, flen)) {
		*why = "invalid topic filter";
		return (-1);
	}
	if (flen >= 7 && memcmp(f, "$share/", 7) == 0) {
		*why = "$share filter in an ACL (write the filter without it)";
		return (-1);
	}
	if (pattern) {
		for (i = 0; i + 1 < flen; i++) {
			if (f[i] != '%')
				continue;
			if (f[i + 1] == 'c')
				subst |= ACL_SUBST_C;
			else if (f[i + 1] == 'u')
				subst |= ACL_SUBST_U;
			else
				continue;
			i++;
		}
	}
	acl_rules_add(rs, f, flen, access, subst);
	return (0);
}

/* Parses one line; cur is where "topic" lines go. */
static int
acl_parse_line(struct acl *acl, struct acl_rules **cur, const char *line,
    size_t len, const char **why)
{
	const char	*w;
	size_t		 p = 0, wl;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
	    is_acl_blank(line[len - 1])))
		len--;
	if (memchr(line, '\0', len) != NULL) {
		*why = "NUL byte in line";
		return (-1);
	}
	acl_word(line, len, &p, &w, &wl);
	if (wl == 0 || w[0] == '#')
		return (0);
	if (is_acl_word(w, wl, "user")) {
		if (p == len) {
			*why = "\"user\" without a name";
			return (-1);
		}
		*cur = acl_add_user(acl, line + p, len - p);
		return (0);
	}
	if (is_acl_word(w, wl, "topic"))
		return (acl_parse_rule(*cur, line + p, len - p, false, why));
	if (is_acl_word(w, wl, "pattern"))
		return (acl_parse_rule(&acl->patterns, line + p, len - p, true,
		    why));
	*why = "unknown keyword (want user, topic or pattern)";
	return (-1);
}

struct acl *
acl_load(const char *path, char *err, size_t errlen)
{
	struct acl		*acl;
	struct acl_rules	*cur;
	FILE			*fp;
	char			*line = NULL;
	const char		*why;
	size_t			 cap = 0;
	ssize_t			 len;
	unsigned		 lineno = 0;

	if ((fp = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	acl = xcalloc(1, sizeof(*acl));
	cur = &acl->anon;
	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		if (acl_parse_line(acl, &cur, line, (size_t)len, &why) == -1) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			goto fail;
		}
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: read: %s", path, strerror(errno));
		goto fail;
	}
	free(line);
	fclose(fp);
	acl_sort_users(acl);
	return (acl);
 fail:
	free(line);
	fclose(fp);
	acl_free(acl);
	return (NULL);
}

void
acl_free(struct acl *acl)
{
	size_t	i;

	if (acl == NULL)
		return;
	acl_rules_free(&acl->anon);
	acl_rules_free(&acl->patterns);
	for (i = 0; i < acl->nusers; i++) {
		acl_rules_free(&acl->users[i].rules);
		free(acl->users[i].name);
	}
	free(acl->users);
	free(acl);
}
