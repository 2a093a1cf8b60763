#!/bin/bash
# SPDX-License-Identifier: MIT
# Bad discovery settings (issue 5) stop the node at start-up with a clear
# reason, never a silent cluster of one: an unknown method, an empty or
# malformed seed list, a missing DNS name, a cluster.advertise nobody can
# reach, no cluster keys, a name that does not resolve (NXDOMAIN from a
# dnsmasq started by this test), and a k8s pod whose hostname is not
# NAME-N or whose domain cannot be told.  Settings the config parser can
# judge also stop `ternctl run` before any daemon starts.  Tern only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_cluster.sh"

is_mosquitto && skip "clustering is Tern's"

CLUSTERD=$TERN_BUILDDIR/clusterd/clusterd
[ -x "$CLUSTERD" ] || fail "no $CLUSTERD"
"$TERNCTL" keys create "$TEST_DIR/keys" >/dev/null || fail "keys create"
hosts=$TEST_DIR/hosts
echo "127.0.0.2 known.test" >"$hosts"
dnsmasq_start "$hosts"

case_no=0
# bad NAME REGEX WHO [ENV=VALUE...] -- CONFIG LINES...: a node with these
# lines must not start.  WHO: "conf" (ternctl run refuses at once, and
# clusterd too) or "clusterd" (clusterd stops with the reason).
bad() {
	local name=$1 re=$2 who=$3 envs=() out rc
	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	case_no=$((case_no + 1))
	node_conf "c$case_no" 127.0.0.1 "$(low_port)" "$@"
	eval "conf=\$CONF_c$case_no"
	if [ "$who" = conf ]; then
		out=$(timeout 20 "$TERNCTL" run -c "$conf" 2>&1)
		rc=$?
		[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] ||
		    fail "$name: ternctl run did not refuse (rc $rc): $out"
		echo "$out" | grep -Eq "$re" ||
		    fail "$name: ternctl run said: $out"
		echo "$out" | grep -q "tern.conf:[0-9]*:\|tern.conf: " ||
		    fail "$name: no file in the error: $out"
	fi
	out=$(timeout 20 env "${envs[@]}" "$CLUSTERD" -c "$conf" 2>&1)
	rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] ||
	    fail "$name: clusterd did not stop (rc $rc): $(echo "$out" |
	    tail -n 5)"
	echo "$out" | grep -Eq "$re" ||
	    fail "$name: clusterd said: $(echo "$out" | tail -n 5)"
	echo "$out" | grep -q 'bootstrapped' &&
	    fail "$name: clusterd bootstrapped a cluster"
	log "$name: $(echo "$out" | grep -E "$re" | head -n 1 |
	    sed 's/^.*\(clusterd\|ternctl\)[^:]*: //')"
}

DNS=TERN_DNS_SERVER=127.0.0.1:$DNS_PORT
bad "unknown method" '"bogus" is not one of none, static, dns, k8s' conf -- \
    "discovery = bogus"
bad "no seeds" 'discovery = static needs discovery.static.seeds' conf -- \
    "discovery = static"
bad "empty seed list" 'discovery = static needs discovery.static.seeds' \
    conf -- "discovery = static" "discovery.static.seeds = , ,"
bad "seed without port" '"10.0.0.5" is not host:port' conf -- \
    "discovery = static" "discovery.static.seeds = 127.0.0.1:4000, 10.0.0.5"
bad "no dns name" 'discovery = dns needs discovery.dns.name' conf -- \
    "discovery = dns"
bad "unreachable advertise" 'cluster.advertise other nodes can reach' conf \
    -- "discovery = static" "discovery.static.seeds = 127.0.0.1:4000" \
    "cluster.advertise = 0.0.0.0:4000"
bad "bad seed_node" 'discovery.k8s.seed_node: "tern@" is not' conf -- \
    "discovery = k8s" "discovery.k8s.seed_node = tern@"
bad "no keys" 'discovery = static needs the cluster.s keys' clusterd -- \
    "discovery = static" "discovery.static.seeds = 127.0.0.1:4000" \
    "cluster.key_dir = $TEST_DIR/nokeys"
bad "unresolvable name" 'discovery.dns.name nosuch.test does not resolve' \
    clusterd "$DNS" -- "discovery = dns" "discovery.dns.name = nosuch.test"
bad "k8s hostname" 'hostname "tern" is not NAME-N|name "tern" is not NAME-N' \
    clusterd TERN_HOSTNAME=tern -- "discovery = k8s" \
    "discovery.dns.name = tern-headless.test"
bad "k8s domain" "cannot tell the headless service's domain" clusterd \
    TERN_HOSTNAME=ternbad-7 -- "discovery = k8s"
bad "bad TERN_DNS_SERVER" 'TERN_DNS_SERVER=localhost is not' clusterd \
    TERN_DNS_SERVER=localhost -- "discovery = dns" \
    "discovery.dns.name = known.test"

# The same name, resolvable, is fine: the node waits for its seeds.
node_conf ok 127.0.0.2 "$(low_port)" "discovery = dns" \
    "discovery.dns.name = known.test"
node_spawn ok "$DNS"
wait_for 20 grep -q 'discovery: seeds: 127.0.0.2' "$TEST_DIR/ok.log"
log "known.test resolves: the node goes on"
pass
