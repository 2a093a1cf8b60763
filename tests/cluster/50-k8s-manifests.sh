#!/bin/bash
# SPDX-License-Identifier: MIT
# Test 50: the Kubernetes manifests (deploy/kubernetes) parse and hold
# together: labels and selectors, serviceName, ports of the Services, the
# container and the probes, the volumes; the pod's entrypoint renders a
# tern.conf that Tern's own parser accepts (a helper linked with
# libcommon.a) and that matches the ports; the keys Secret holds what
# `ternctl keys create` makes; the preStop hook leaves only on a scale-down,
# with a command the real ternctl parses.  Then copies of the manifests
# with one thing broken each must fail (py/t50_k8s.py).  Needs no cluster
# and starts no daemon.
. "$(dirname "$0")/lib.sh"

py=/usr/bin/python3
"$py" -c 'import yaml' 2>/dev/null || skip "no python3-yaml for $py"
command -v shellcheck >/dev/null ||
    log "note: no shellcheck: the pod's scripts are not linted"

ternctl_arg=()
helper_arg=()
if [ -x "$TERNCTL" ]; then
	ternctl_arg=(--ternctl "$TERNCTL")
else
	log "note: no $TERNCTL: keys and the preStop syntax not checked"
fi

# Tern's config parser, as the daemons run it: conf_load() from the
# build's libcommon.a, printing what the checks compare.
lib=$TERN_BUILDDIR/common/libcommon.a
mkvar() { sed -n "s/^$1 = //p" "$TERN_BUILDDIR/Makefile" | head -n 1; }
if [ -f "$lib" ] && [ -f "$TERN_BUILDDIR/Makefile" ]; then
	cat >"$TEST_DIR/confcheck.c" <<'CEOF'
/* SPDX-License-Identifier: MIT */
/* Loads a tern.conf with the daemons' parser; prints the values test 50
 * compares, one "key=value" a line, or the parser's error. */
#include <stdio.h>

#include "common/conf.h"

int
main(int argc, char *argv[])
{
	static const char *const disc[] = { "none", "static", "dns", "k8s" };
	struct conf	 c;
	char		 err[1024];
	int		 i;

	if (argc != 2) {
		fprintf(stderr, "usage: confcheck FILE\n");
		return (2);
	}
	conf_defaults(&c);
	if (conf_load(&c, argv[1], err, sizeof(err)) == -1) {
		printf("%s\n", err);
		conf_free(&c);
		return (1);
	}
	for (i = 0; i < c.nlisteners; i++)
		printf("listener.%s.%s=%s:%u\n",
		    conf_listener_kind_name(c.listeners[i].kind),
		    c.listeners[i].name, c.listeners[i].host,
		    (unsigned)c.listeners[i].port);
	printf("nodename=%s\n", c.nodename);
	printf("data_dir=%s\nrun_dir=%s\n", c.data_dir, c.run_dir);
	printf("cluster.listen=%s\n", c.cluster_listen);
	printf("cluster.advertise=%s\n", c.cluster_advertise);
	printf("cluster.key_dir=%s\n", c.cluster_key_dir);
	if (c.password_file != NULL)
		printf("password_file=%s\n", c.password_file);
	printf("discovery=%s\n", disc[c.discovery]);
	printf("discovery.k8s.ordinal_start=%lld\n",
	    (long long)c.discovery_k8s_ordinal_start);
	if (c.discovery_k8s_seed_node != NULL)
		printf("discovery.k8s.seed_node=%s\n",
		    c.discovery_k8s_seed_node);
	conf_free(&c);
	return (0);
}
CEOF
	# shellcheck disable=SC2046 # flag lists split on purpose
	if $(mkvar CC) $(mkvar SAN_CFLAGS) -I"$TERN_SRCDIR" \
	    -o "$TEST_DIR/confcheck" "$TEST_DIR/confcheck.c" "$lib" \
	    $(mkvar SAN_LDFLAGS) $(mkvar SSL_LIBS) >"$TEST_DIR/cc.txt" 2>&1
	then
		helper_arg=(--helper "$TEST_DIR/confcheck")
	else
		cat "$TEST_DIR/cc.txt"
		fail "cannot build the config check helper against $lib"
	fi
else
	log "note: no $lib: tern.conf checked against conf_keys.c only"
fi

"$py" "$PYDIR/t50_k8s.py" --srcdir "$TERN_SRCDIR" --work "$TEST_DIR/work" \
    "${ternctl_arg[@]}" "${helper_arg[@]}" || fail "manifest checks"
pass
