/* SPDX-License-Identifier: MIT */
/* Unit tests of discovery's pure parts (clusterd/discovery.c): canonical
 * addresses, the order that picks the bootstrapper, seed lists, StatefulSet
 * hostnames, and the config checks of the discovery keys (common/conf.c). */
#include <stdlib.h>
#include <string.h>

#include "clusterd/clusterd.h"
#include "common/conf.h"
#include "tests/unit/unit.h"

static void
test_discovery_canon(void)
{
	char	out[DISCOVERY_ADDR_MAX];

	CU_ASSERT_EQUAL(discovery_canon(" 10.0.0.5:44053 ", 0, out,
	    sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "10.0.0.5:44053");
	CU_ASSERT_EQUAL(discovery_canon("[0:0::1]:7", 0, out, sizeof(out)),
	    0);
	CU_ASSERT_STRING_EQUAL(out, "[::1]:7");
	CU_ASSERT_EQUAL(discovery_canon("Tern-0.Svc:9", 0, out, sizeof(out)),
	    0);
	CU_ASSERT_STRING_EQUAL(out, "tern-0.svc:9");
	/* A bare host takes the default port; without one it is refused. */
	CU_ASSERT_EQUAL(discovery_canon("tern.test", 44053, out, sizeof(out)),
	    0);
	CU_ASSERT_STRING_EQUAL(out, "tern.test:44053");
	CU_ASSERT_EQUAL(discovery_canon("fe80::1", 5, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "[fe80::1]:5");
	CU_ASSERT_EQUAL(discovery_canon("tern.test", 0, out, sizeof(out)), -1);
	CU_ASSERT_EQUAL(discovery_canon("a:0", 0, out, sizeof(out)), -1);
	CU_ASSERT_EQUAL(discovery_canon(":5", 0, out, sizeof(out)), -1);
	CU_ASSERT_EQUAL(discovery_canon("a b:5", 0, out, sizeof(out)), -1);
	CU_ASSERT_EQUAL(discovery_canon("", 5, out, sizeof(out)), -1);
	CU_ASSERT_EQUAL(discovery_canon("a:99999", 0, out, sizeof(out)), -1);
}

static void
test_discovery_order(void)
{
	/* Numeric, not text: 10.0.0.9 < 10.0.0.10. */
	CU_ASSERT_TRUE(discovery_addr_cmp("10.0.0.9:1", "10.0.0.10:1") < 0);
	CU_ASSERT_TRUE(discovery_addr_cmp("10.0.0.10:1", "10.0.0.9:1") > 0);
	/* Same host: the port decides. */
	CU_ASSERT_TRUE(discovery_addr_cmp("127.0.0.1:900",
	    "127.0.0.1:10000") < 0);
	CU_ASSERT_EQUAL(discovery_addr_cmp("127.0.0.1:5", "127.0.0.1:5"), 0);
	/* IPv4, then IPv6, then names. */
	CU_ASSERT_TRUE(discovery_addr_cmp("255.0.0.1:1", "[::1]:1") < 0);
	CU_ASSERT_TRUE(discovery_addr_cmp("[ffff::1]:1", "a.test:1") < 0);
	CU_ASSERT_TRUE(discovery_addr_cmp("a.test:2", "b.test:1") < 0);
}

static void
test_discovery_seeds(void)
{
	char	s[8][DISCOVERY_ADDR_MAX], err[256];

	CU_ASSERT_EQUAL(discovery_parse_seeds("10.0.0.6:1, 10.0.0.5:1 "
	    "10.0.0.6:1,,[::1]:2", s, 8, err, sizeof(err)), 3);
	CU_ASSERT_STRING_EQUAL(s[0], "10.0.0.6:1");
	CU_ASSERT_STRING_EQUAL(s[1], "10.0.0.5:1");
	CU_ASSERT_STRING_EQUAL(s[2], "[::1]:2");
	CU_ASSERT_EQUAL(discovery_parse_seeds(" , ", s, 8, err, sizeof(err)),
	    -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "empty"));
	CU_ASSERT_EQUAL(discovery_parse_seeds("a:1, b", s, 8, err,
	    sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "\"b\""));
	CU_ASSERT_EQUAL(discovery_parse_seeds("a:1 b:1 c:1", s, 2, err,
	    sizeof(err)), -1);
}

static void
test_discovery_k8s_hostname(void)
{
	char	name[64], domain[128];
	long	ord;

	CU_ASSERT_EQUAL(discovery_k8s_hostname("tern-12", name, sizeof(name),
	    &ord, domain, sizeof(domain)), 0);
	CU_ASSERT_STRING_EQUAL(name, "tern");
	CU_ASSERT_EQUAL(ord, 12);
	CU_ASSERT_STRING_EQUAL(domain, "");
	CU_ASSERT_EQUAL(discovery_k8s_hostname(
	    "my-broker-0.tern-headless.mqtt.svc.cluster.local", name,
	    sizeof(name), &ord, domain, sizeof(domain)), 0);
	CU_ASSERT_STRING_EQUAL(name, "my-broker");
	CU_ASSERT_EQUAL(ord, 0);
	CU_ASSERT_STRING_EQUAL(domain, "tern-headless.mqtt.svc.cluster.local");
	CU_ASSERT_EQUAL(discovery_k8s_hostname("tern", name, sizeof(name),
	    &ord, domain, sizeof(domain)), -1);
	CU_ASSERT_EQUAL(discovery_k8s_hostname("tern-", name, sizeof(name),
	    &ord, domain, sizeof(domain)), -1);
	CU_ASSERT_EQUAL(discovery_k8s_hostname("-3", name, sizeof(name),
	    &ord, domain, sizeof(domain)), -1);
	CU_ASSERT_EQUAL(discovery_k8s_hostname("tern-1a.x", name,
	    sizeof(name), &ord, domain, sizeof(domain)), -1);
}

/* conf_parse() of text; returns its result, err gets the reason. */
static int
parse(const char *text, char *err, size_t errlen)
{
	struct conf	c;
	int		rc;

	conf_defaults(&c);
	rc = conf_parse(&c, "t.conf", text, err, errlen);
	conf_free(&c);
	return (rc);
}

static void
test_discovery_conf(void)
{
	char	err[512];

	CU_ASSERT_EQUAL(parse("discovery = static\n"
	    "discovery.static.seeds = 10.0.0.5:1, [::1]:2\n", err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(parse("discovery = static\n"
	    "discovery.static.seeds = ,\n", err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "needs discovery.static.seeds"));
	CU_ASSERT_EQUAL(parse("discovery = static\n"
	    "discovery.static.seeds = a:1 b\n", err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(parse("discovery = dns\n", err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(parse("discovery = dns\n"
	    "discovery.dns.name = tern.test:99\n", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(parse("discovery = dns\n"
	    "discovery.dns.name = tern.test:x\n", err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(parse("discovery = k8s\n", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(parse("discovery = k8s\n"
	    "discovery.k8s.seed_node = tern@tern-0.svc\n", err, sizeof(err)),
	    0);
	CU_ASSERT_EQUAL(parse("discovery = k8s\n"
	    "discovery.k8s.seed_node = tern@\n", err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(parse("discovery = k8s\n"
	    "cluster.advertise = 0.0.0.0:44053\n", err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cluster.advertise"));
	/* Without discovery the keys are not checked against each other. */
	CU_ASSERT_EQUAL(parse("cluster.advertise = 0.0.0.0:44053\n", err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(parse("discovery = sometimes\n", err, sizeof(err)),
	    -1);
}

int
main(void)
{
	static const struct unit_test tests[] = {
		UNIT_TEST(test_discovery_canon),
		UNIT_TEST(test_discovery_order),
		UNIT_TEST(test_discovery_seeds),
		UNIT_TEST(test_discovery_k8s_hostname),
		UNIT_TEST(test_discovery_conf),
		UNIT_END
	};

	return (unit_run("clusterd_discovery", tests));
}
