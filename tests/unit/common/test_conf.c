/* SPDX-License-Identifier: MIT */
/* Unit tests of the configuration parser (common/conf.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/conf.h"
#include "tests/unit/unit.h"

static int
parse(const char *text, char *err, size_t errlen, struct conf *c)
{
	conf_defaults(c);
	return (conf_parse(c, "t.conf", text, err, errlen));
}

static void
test_conf_defaults(void)
{
	struct conf	c;

	conf_defaults(&c);
	CU_ASSERT_STRING_EQUAL(c.run_dir, "/run/tern");
	CU_ASSERT_EQUAL(c.replication_factor, 2);
	CU_ASSERT_EQUAL(c.storage_sync, CONF_SYNC_ALWAYS);
	CU_ASSERT_FALSE(c.allow_anonymous);
	CU_ASSERT_EQUAL(c.nlisteners, 0);
	conf_free(&c);
}

static void
test_conf_values(void)
{
	struct conf	c;
	char		err[256] = "";

	CU_ASSERT_EQUAL(parse("# comment\n"
	    "nodename = tern@10.0.0.5   # trailing\n"
	    "allow_anonymous = on\n"
	    "listener.tcp.default = 0.0.0.0:1883\n"
	    "listener.tcp.other = [::1]:1884\n"
	    "listener.ssl.default = 127.0.0.1:8883\n"
	    "listener.ssl.certfile = /x/cert.pem\n"
	    "max_inflight_messages = 5\n"
	    "storage.sync = interval\n"
	    "discovery = static\n"
	    "discovery.static.seeds = 10.0.0.5:44053, 10.0.0.6:44053\n",
	    err, sizeof(err), &c), 0);
	CU_ASSERT_STRING_EQUAL(c.nodename, "tern@10.0.0.5");
	CU_ASSERT_TRUE(c.allow_anonymous);
	CU_ASSERT_EQUAL(c.nlisteners, 3);
	CU_ASSERT_EQUAL(c.listeners[0].kind, CONF_LISTENER_TCP);
	CU_ASSERT_STRING_EQUAL(c.listeners[0].host, "");
	CU_ASSERT_EQUAL(c.listeners[0].port, 1883);
	CU_ASSERT_STRING_EQUAL(c.listeners[1].host, "::1");
	CU_ASSERT_EQUAL(c.listeners[2].kind, CONF_LISTENER_SSL);
	CU_ASSERT_STRING_EQUAL(c.ssl_certfile, "/x/cert.pem");
	CU_ASSERT_EQUAL(c.max_inflight_messages, 5);
	CU_ASSERT_EQUAL(c.storage_sync, CONF_SYNC_INTERVAL);
	CU_ASSERT_EQUAL(c.discovery, CONF_DISCOVERY_STATIC);
	conf_free(&c);
}

static void
expect_error(const char *text, const char *want)
{
	struct conf	c;
	char		err[256] = "";

	CU_ASSERT_EQUAL(parse(text, err, sizeof(err), &c), -1);
	if (strstr(err, want) == NULL)
		fprintf(stderr, "error \"%s\" lacks \"%s\"\n", err, want);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
	conf_free(&c);
}

static void
test_conf_errors(void)
{
	expect_error("nodename = a\nbogus = 1\n", "t.conf:2: unknown key");
	expect_error("allow_anonymous = maybe\n", "t.conf:1: allow_anonymous");
	expect_error("max_inflight_messages = -1\n", "out of range");
	expect_error("max_inflight_messages = 12x\n", "not a number");
	expect_error("\n\nstorage.sync = sometimes\n", "t.conf:3:");
	expect_error("listener.tcp.default = 1883\n", "host:port");
	expect_error("listener.tcp.default = 1.2.3.4:99999\n", "bad port");
	expect_error("listener.foo.default = 1.2.3.4:1\n", "unknown key");
	expect_error("just words\n", "t.conf:1: expected");
	expect_error("nodename =\n", "missing value");
	expect_error("discovery = static\n", "discovery.static.seeds");
	expect_error("discovery = dns\n", "discovery.dns.name");
}

static void
test_conf_file(void)
{
	struct conf	c;
	char		err[256] = "", path[] = "/tmp/tern-conf-XXXXXX";
	int		fd;

	conf_defaults(&c);
	CU_ASSERT_EQUAL(conf_load(&c, "/nonexistent/tern.conf", err,
	    sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/tern.conf:0:"));
	conf_free(&c);

	fd = mkstemp(path);
	CU_ASSERT_TRUE(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "max_keepalive = 30\n", 19), 19);
	close(fd);
	conf_defaults(&c);
	CU_ASSERT_EQUAL(conf_load(&c, path, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.max_keepalive, 30);
	conf_free(&c);
	unlink(path);
}

static void
write_file(const char *path, const char *text)
{
	FILE	*f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

static void
test_conf_reload(void)
{
	struct conf	c;
	char		err[256] = "", path[] = "/tmp/tern-conf-XXXXXX";
	int		fd;

	fd = mkstemp(path);
	CU_ASSERT_TRUE(fd >= 0);
	close(fd);
	write_file(path, "max_inflight_messages = 5\nnodename = a\n"
	    "listener.tcp.default = 127.0.0.1:1\n");
	conf_defaults(&c);
	CU_ASSERT_EQUAL(conf_load(&c, path, err, sizeof(err)), 0);
	/* Reloadable keys change; the others stay until a restart. */
	write_file(path, "max_inflight_messages = 7\nnodename = b\n"
	    "acl_file = /x\nlistener.tcp.default = 127.0.0.1:2\n");
	CU_ASSERT_EQUAL(conf_reload(&c, CONF_D_MQTTD), 2);
	CU_ASSERT_EQUAL(c.max_inflight_messages, 7);
	CU_ASSERT_STRING_EQUAL(c.acl_file, "/x");
	CU_ASSERT_STRING_EQUAL(c.nodename, "a");
	CU_ASSERT_EQUAL(c.listeners[0].port, 1);
	/* Keys of other daemons are not applied. */
	write_file(path, "max_inflight_messages = 7\nnodename = a\n"
	    "acl_file = /x\nallow_publish_during_netsplit = on\n");
	CU_ASSERT_EQUAL(conf_reload(&c, CONF_D_STORAGED), 0);
	CU_ASSERT_FALSE(c.allow_publish_during_netsplit);
	/* A bad file changes nothing. */
	write_file(path, "max_inflight_messages = 9\nbogus = 1\n");
	CU_ASSERT_EQUAL(conf_reload(&c, CONF_D_MQTTD), -1);
	CU_ASSERT_EQUAL(c.max_inflight_messages, 7);
	conf_free(&c);
	unlink(path);
}

static void
test_conf_builtin(void)
{
	struct conf	c;
	char		err[256] = "";

	CU_ASSERT_EQUAL(parse(conf_builtin_text, err, sizeof(err), &c), 0);
	CU_ASSERT_TRUE(c.allow_anonymous);
	CU_ASSERT_EQUAL(c.listeners[0].port, 1883);
	conf_free(&c);
}

int
main(void)
{
	static const struct unit_test tests[] = {
		UNIT_TEST(test_conf_defaults),
		UNIT_TEST(test_conf_values),
		UNIT_TEST(test_conf_errors),
		UNIT_TEST(test_conf_file),
		UNIT_TEST(test_conf_builtin),
		UNIT_TEST(test_conf_reload),
		UNIT_END
	};

	return (unit_run("conf", tests));
}
