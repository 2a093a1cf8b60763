/* SPDX-License-Identifier: MIT */
/* Unit tests of ACL files and checks (mqttd/acl.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mqttd/auth.h"
#include "tests/unit/unit.h"

static char	tmpdir[64];
static char	tmppath[128];

/* Writes text to a file in tmpdir; returns its path (static). */
static const char *
tmp_file(const char *text)
{
	FILE	*fp;

	if (tmpdir[0] == '\0') {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/tern-acl-XXXXXX");
		if (mkdtemp(tmpdir) == NULL) {
			perror("mkdtemp");
			exit(2);
		}
	}
	snprintf(tmppath, sizeof(tmppath), "%s/acl", tmpdir);
	if ((fp = fopen(tmppath, "w")) == NULL) {
		perror(tmppath);
		exit(2);
	}
	fputs(text, fp);
	fclose(fp);
	return (tmppath);
}

static struct acl *
load(const char *text)
{
	struct acl	*acl;
	char		 err[512];

	acl = acl_load(tmp_file(text), err, sizeof(err));
	if (acl == NULL)
		fprintf(stderr, "\n  acl_load: %s\n", err);
	return (acl);
}

/* One expectation: user (NULL: anonymous), client id, access, topic. */
struct want {
	const char	*user;
	const char	*cid;
	enum acl_access	 access;
	const char	*topic;
	enum acl_result	 result;
};

#define R	ACL_READ
#define W	ACL_WRITE
#define DENY	ACL_DENY
#define ALLOW	ACL_ALLOW
#define SOME	ACL_ALLOW_SOME

static const char *
result_name(enum acl_result r)
{
	return (r == ACL_DENY ? "deny" : r == ACL_ALLOW ? "allow" : "some");
}

static void
check_all(const struct acl *acl, const struct want *w, size_t n)
{
	enum acl_result	r;
	size_t		i;

	for (i = 0; i < n; i++) {
		r = acl_check(acl, w[i].user, w[i].cid, w[i].topic,
		    strlen(w[i].topic), w[i].access);
		CU_ASSERT_EQUAL(r, w[i].result);
		if (r == w[i].result)
			continue;
		fprintf(stderr, "\n  #%zu user %s id %s %s \"%s\": got %s, "
		    "want %s", i, w[i].user ? w[i].user : "(anonymous)",
		    w[i].cid, w[i].access == R ? "read" : "write", w[i].topic,
		    result_name(r), result_name(w[i].result));
	}
}

#define CHECK_ALL(acl, w)						\
	check_all((acl), (w), sizeof(w) / sizeof((w)[0]))

static const char	*main_acl =
	"# anonymous clients\n"
	"topic read public/#\n"
	"  topic deny public/secret\r\n"
	"topic read\n"
	"\n"
	"user alice\n"
	"topic readwrite alice/#\n"
	"topic read shared/+/status\n"
	"topic write cmd/alice\n"
	"topic deny alice/private/#\n"
	"topic read my topic/#\n"
	"\n"
	"user bob\n"
	"topic bob/#\n"
	"topic read $SYS/#\n"
	"\n"
	"# alice again: merged with her first block\n"
	"user alice\n"
	"topic read extra/a\n"
	"\n"
	"pattern read devices/%c/config\n"
	"pattern write devices/%c/state/#\n"
	"pattern readwrite users/%u/#\n"
	"pattern deny users/%u/locked\n"
	"pattern read $SYS/clients/%c\n";

static void
test_acl_anonymous(void)
{
	static const struct want	w[] = {
		{ NULL, "c", R, "public/a", ALLOW },
		{ NULL, "c", R, "public/a/b", ALLOW },
		{ NULL, "c", W, "public/a", DENY },
		{ NULL, "c", R, "public/secret", DENY },
		{ NULL, "c", R, "public/#", SOME },
		{ NULL, "c", R, "public/+", SOME },
		{ NULL, "c", R, "public/x/+", ALLOW },
		{ NULL, "c", R, "public", ALLOW },	/* a/# covers a */
		{ NULL, "c", R, "#", DENY },
		{ NULL, "c", R, "other", DENY },
		/* "topic read" alone: the filter "read", readwrite. */
		{ NULL, "c", W, "read", ALLOW },
		/* Patterns apply; %u ones do not without a username. */
		{ NULL, "c", R, "devices/c/config", ALLOW },
		{ NULL, "c", R, "users//x", DENY },
		{ NULL, "c", W, "users/c/x", DENY },
		/* User rules do not apply to anonymous clients. */
		{ NULL, "c", R, "alice/x", DENY },
	};
	struct acl	*acl;

	acl = load(main_acl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(acl);
	CU_ASSERT_EQUAL(acl_count(acl), 16);
	CHECK_ALL(acl, w);
	acl_free(acl);
}

static void
test_acl_users(void)
{
	static const struct want	w[] = {
		{ "alice", "a1", W, "alice/x", ALLOW },
		{ "alice", "a1", R, "alice/x", ALLOW },
		{ "alice", "a1", R, "alice/#", SOME },
		/* alice/+ matches alice/private, which alice/private/#
		 * denies. */
		{ "alice", "a1", R, "alice/+", SOME },
		{ "alice", "a1", R, "alice/x/+", ALLOW },
		{ "alice", "a1", R, "alice/+/x", SOME },
		{ "alice", "a1", R, "alice/private/+", DENY },
		{ "alice", "a1", R, "alice/private", DENY },
		{ "alice", "a1", W, "alice/private/x", DENY },
		{ "alice", "a1", R, "shared/+/status", ALLOW },
		{ "alice", "a1", R, "shared/x/status", ALLOW },
		{ "alice", "a1", W, "shared/x/status", DENY },
		{ "alice", "a1", R, "shared/#", DENY },
		{ "alice", "a1", R, "shared/+/+", DENY },
		{ "alice", "a1", W, "cmd/alice", ALLOW },
		{ "alice", "a1", R, "cmd/alice", DENY },
		{ "alice", "a1", R, "extra/a", ALLOW },	/* second block */
		{ "alice", "a1", R, "my topic/x", ALLOW },
		{ "alice", "a1", R, "public/a", DENY },	/* anonymous only */
		{ "alice", "a1", W, "users/alice/x", ALLOW },
		{ "alice", "a1", W, "users/alice/locked", DENY },
		{ "alice", "a1", R, "users/alice/#", SOME },
		{ "alice", "a1", R, "users/bob/x", DENY },
		{ "Alice", "a1", W, "alice/x", DENY },	/* case matters */
		{ "bob", "b1", W, "bob/x", ALLOW },
		{ "bob", "b1", R, "bob/#", ALLOW },
		{ "bob", "b1", R, "#", DENY },
		{ "bob", "b1", R, "$SYS/broker/uptime", ALLOW },
		{ "bob", "b1", R, "$SYS/#", ALLOW },
		{ "bob", "b1", W, "$SYS/x", DENY },
		{ "bob", "b1", W, "alice/x", DENY },
		/* A user without a block gets the patterns only. */
		{ "carol", "c1", W, "users/carol/x", ALLOW },
		{ "carol", "c1", W, "users/carol/locked", DENY },
		{ "carol", "c1", R, "users/carol/#", SOME },
		{ "carol", "c1", R, "devices/c1/config", ALLOW },
		{ "carol", "c1", W, "devices/c1/config", DENY },
		{ "carol", "c1", R, "devices/c2/config", DENY },
		{ "carol", "c1", R, "devices/+/config", DENY },
		{ "carol", "c1", W, "devices/c1/state/t", ALLOW },
		{ "carol", "c1", W, "devices/c1/state", ALLOW },
		{ "carol", "c1", R, "$SYS/clients/c1", ALLOW },
		{ "carol", "c1", R, "$SYS/clients/c2", DENY },
		{ "carol", "c1", R, "public/a", DENY },
		/* Empty username: %u is "", a valid level. */
		{ "", "c1", W, "users//x", ALLOW },
		{ "", "c1", W, "users/x", DENY },
		/* $share/G/ is stripped before the check. */
		{ "alice", "a1", R, "$share/g/alice/x", ALLOW },
		{ "alice", "a1", R, "$share/g/bob/x", DENY },
		{ "alice", "a1", R, "$share/g/alice/private/x", DENY },
		{ "alice", "a1", R, "$share//alice/x", DENY },
		/* A topic name with wildcards is never writable. */
		{ "alice", "a1", W, "alice/+", DENY },
		{ "alice", "a1", W, "alice/#", DENY },
	};
	struct acl	*acl;

	acl = load(main_acl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(acl);
	CHECK_ALL(acl, w);
	acl_free(acl);
}

/*
 * Client ids and usernames with '+', '#' or '/' must not widen a pattern:
 * "devices/%c/config" for id "+" would be "devices/+/config", for id "x/y"
 * it would reach into client x's "devices/x/..." tree.
 */
static void
test_acl_escalation(void)
{
	static const struct want	w[] = {
		{ NULL, "+", R, "devices/+/config", DENY },
		{ NULL, "+", R, "devices/c1/config", DENY },
		{ NULL, "#", R, "devices/#", DENY },
		{ NULL, "a/b", R, "devices/a/b/config", DENY },
		{ NULL, "a/state", W, "devices/a/state/state/x", DENY },
		{ NULL, "x+", R, "devices/x+/config", DENY },
		{ "+", "c1", R, "users/+/#", DENY },
		{ "+", "c1", W, "users/x/y", DENY },
		{ "#", "c1", R, "users/#", DENY },
		{ "x/y", "c1", W, "users/x/y/z", DENY },
		/* Other patterns still work for them. */
		{ "x/y", "c1", R, "devices/c1/config", ALLOW },
		{ "u", "a/b", W, "users/u/x", ALLOW },
		/* Deny patterns are substituted even so: "+" denies more. */
		{ "ok", "c1", W, "users/ok/locked", DENY },
	};
	static const struct want	w2[] = {
		/* deny pattern with %u = "+": users/+/locked denies all. */
		{ "+", "c1", W, "topic/x/locked", DENY },
		{ "+", "c1", W, "topic/x/open", ALLOW },
		{ "a/b", "c1", W, "topic/a/b/locked", DENY },
		{ "a/b", "c1", W, "topic/a/c/locked", ALLOW },
		/* "#x" makes "topic/#x/locked", not a filter: matches
		 * nothing, the allow stands. */
		{ "#x", "c1", W, "topic/y/locked", ALLOW },
	};
	struct acl	*acl;

	acl = load(main_acl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(acl);
	CHECK_ALL(acl, w);
	acl_free(acl);
	acl = load("pattern write topic/#\n"
	    "pattern deny topic/%u/locked\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(acl);
	CHECK_ALL(acl, w2);
	acl_free(acl);
}

/* The coverage rules of a subscription filter, one rule per user. */
static void
test_acl_cover(void)
{
	static const struct want	w[] = {
		{ "c1", "i", R, "a", ALLOW },
		{ "c1", "i", R, "a/b/+", ALLOW },
		{ "c1", "i", R, "a/#", ALLOW },
		{ "c1", "i", R, "a/+/#", ALLOW },
		{ "c1", "i", R, "#", DENY },
		{ "c1", "i", R, "+/b", DENY },
		{ "c1", "i", R, "ab", DENY },
		{ "c1", "i", R, "a+", DENY },
		{ "c2", "i", R, "b/x", ALLOW },
		{ "c2", "i", R, "b/+", ALLOW },
		{ "c2", "i", R, "b/", ALLOW },
		{ "c2", "i", R, "b/#", DENY },
		{ "c2", "i", R, "b", DENY },
		{ "c2", "i", R, "b/x/y", DENY },
		{ "c3", "i", R, "x/y", ALLOW },
		{ "c3", "i", R, "#", ALLOW },
		{ "c3", "i", R, "+/x", ALLOW },
		{ "c3", "i", R, "$SYS/x", DENY },
		{ "c3", "i", R, "$SYS/#", DENY },
		{ "c4", "i", R, "a/b", ALLOW },
		{ "c4", "i", R, "+/+", ALLOW },
		{ "c4", "i", R, "+/#", DENY },
		{ "c4", "i", R, "a", DENY },
		{ "c4", "i", R, "$SYS/a", DENY },
		{ "c4", "i", W, "a/b", DENY },
		/* Deny rules overlapping a filter: allowed in part. */
		{ "d", "i", R, "x/#", SOME },
		{ "d", "i", R, "x/a/+", SOME },
		{ "d", "i", R, "x/a/b", ALLOW },
		{ "d", "i", R, "x/+/secret", DENY },
		{ "d", "i", R, "x/a/secret", DENY },
		{ "d", "i", R, "x/+", SOME },
		{ "d", "i", R, "x/a", ALLOW },
		{ "d", "i", R, "x", ALLOW },
		{ "d", "i", W, "x/top", DENY },
		{ "d", "i", W, "x/a/secret", DENY },
		{ "d", "i", W, "x/a/public", ALLOW },
		/* Deny wins over a later allow, and the other way round. */
		{ "e", "i", R, "y/z", DENY },
		{ "e", "i", R, "y/q", ALLOW },
		{ "e", "i", W, "y/z", DENY },
	};
	struct acl	*acl;

	acl = load("user c1\ntopic read a/#\n"
	    "user c2\ntopic read b/+\n"
	    "user c3\ntopic read #\n"
	    "user c4\ntopic read +/+\n"
	    "user d\ntopic x/#\ntopic deny x/+/secret\ntopic deny x/top\n"
	    "user e\ntopic deny y/z\ntopic y/#\ntopic y/z\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(acl);
	CHECK_ALL(acl, w);
	acl_free(acl);
}

static void
test_acl_empty_and_null(void)
{
	struct acl	*acl;

	/* No acl_file: everything goes. */
	CU_ASSERT_EQUAL(acl_check(NULL, NULL, "c", "a", 1, ACL_WRITE),
	    ACL_ALLOW);
	/* An empty ACL file denies everything. */
	acl = load("# nothing\n\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(acl);
	CU_ASSERT_EQUAL(acl_count(acl), 0);
	CU_ASSERT_EQUAL(acl_check(acl, NULL, "c", "a", 1, ACL_WRITE),
	    ACL_DENY);
	CU_ASSERT_EQUAL(acl_check(acl, "u", "c", "#", 1, ACL_READ), ACL_DENY);
	/* A NULL client id is treated as "". */
	acl_free(acl);
	acl = load("pattern c/%c/x\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(acl);
	CU_ASSERT_EQUAL(acl_check(acl, NULL, NULL, "c//x", 4, ACL_WRITE),
	    ACL_ALLOW);
	acl_free(acl);
	acl_free(NULL);
}

/* A pattern longer than the stack buffer after substitution. */
static void
test_acl_long_pattern(void)
{
	struct acl	*acl;
	char		 id[800], topic[2048];

	memset(id, 'i', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	acl = load("pattern p/%c/%c%%u\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(acl);
	/* "%%u" is a '%' then %u: needs a username. */
	snprintf(topic, sizeof(topic), "p/%s/%s%%u", id, id);
	CU_ASSERT_EQUAL(acl_check(acl, NULL, id, topic, strlen(topic),
	    ACL_WRITE), ACL_DENY);
	snprintf(topic, sizeof(topic), "p/%s/%s%%bob", id, id);
	CU_ASSERT_EQUAL(acl_check(acl, "bob", id, topic, strlen(topic),
	    ACL_WRITE), ACL_ALLOW);
	CU_ASSERT_EQUAL(acl_check(acl, "bob", id, topic, strlen(topic) - 1,
	    ACL_WRITE), ACL_DENY);
	acl_free(acl);
}

static void
test_acl_parse_errors(void)
{
	static const struct {
		const char	*text;
		unsigned	 line;
		const char	*why;
	} bad[] = {
		{ "topic\n", 1, "missing topic filter" },
		{ "topic read a\ntopic read a/#/b\n", 2,
		    "invalid topic filter" },
		{ "\n\nfrobnicate x\n", 3, "unknown keyword" },
		{ "# c\nuser\n", 2, "without a name" },
		{ "user u\ntopic read $share/g/x\n", 2, "$share" },
		{ "pattern write a+\n", 1, "invalid topic filter" },
		{ "topic deny a/b#\n", 1, "invalid topic filter" },
		{ "Topic read a\n", 1, "unknown keyword" },
	};
	char	 err[512], want[256];
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CU_ASSERT_PTR_NULL(acl_load(tmp_file(bad[i].text), err,
		    sizeof(err)));
		snprintf(want, sizeof(want), "%s:%u: ", tmppath, bad[i].line);
		if (strncmp(err, want, strlen(want)) != 0 ||
		    strstr(err, bad[i].why) == NULL) {
			fprintf(stderr, "\n  case %zu: got \"%s\"", i, err);
			CU_FAIL("wrong error");
		}
	}
	snprintf(want, sizeof(want), "%s/none", tmpdir);
	CU_ASSERT_PTR_NULL(acl_load(want, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "No such file"));
}

/* Reload: a new table changes the answers, the old one still works. */
static void
test_acl_reload(void)
{
	struct acl	*old, *cur;

	old = load("user u\ntopic read a/#\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(old);
	cur = load("user u\ntopic read b/#\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cur);
	CU_ASSERT_EQUAL(acl_check(old, "u", "c", "a/x", 3, ACL_READ),
	    ACL_ALLOW);
	CU_ASSERT_EQUAL(acl_check(cur, "u", "c", "a/x", 3, ACL_READ),
	    ACL_DENY);
	CU_ASSERT_EQUAL(acl_check(cur, "u", "c", "b/x", 3, ACL_READ),
	    ACL_ALLOW);
	acl_free(old);
	acl_free(cur);
}

int
main(void)
{
	static const struct unit_test	tests[] = {
		UNIT_TEST(test_acl_anonymous),
		UNIT_TEST(test_acl_users),
		UNIT_TEST(test_acl_escalation),
		UNIT_TEST(test_acl_cover),
		UNIT_TEST(test_acl_empty_and_null),
		UNIT_TEST(test_acl_long_pattern),
		UNIT_TEST(test_acl_parse_errors),
		UNIT_TEST(test_acl_reload),
		UNIT_END
	};
	int				rc;

	rc = unit_run("acl", tests);
	if (tmpdir[0] != '\0') {
		unlink(tmppath);
		rmdir(tmpdir);
	}
	return (rc);
}
