#!/bin/bash
# SPDX-License-Identifier: MIT
# Discovery by DNS (issue 5): a real dnsmasq started by this test on
# 127.0.0.1 (a free port) serves tern.test with one A record per node; the
# nodes run on 127.0.0.2-4 (Linux routes all of 127/8 to lo) with the same
# cluster port and resolve the name through that server (TERN_DNS_SERVER,
# the test hook of clusterd/discovery.c: glibc's resolver cannot be given a
# port per process otherwise).  They form one cluster, bootstrapped by the
# lowest address.  Then the records change to name no node at all, and a
# restart of every node still rejoins the stored cluster; finally a fourth
# node added to the records joins it.  Tern only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_cluster.sh"

is_mosquitto && skip "clustering is Tern's"

"$TERNCTL" keys create "$TEST_DIR/keys" >/dev/null || fail "keys create"
hosts=$TEST_DIR/hosts
printf '127.0.0.2 tern.test\n127.0.0.3 tern.test\n127.0.0.4 tern.test\n' \
    >"$hosts"
dnsmasq_start "$hosts"
DNS="TERN_DNS_SERVER=127.0.0.1:$DNS_PORT"
# dns_reads N: dnsmasq has read the hosts file N times.
dns_reads() {
	[ "$(grep -c "read $hosts" "$TEST_DIR/dnsmasq.log")" -ge "$1" ]
}
log "dnsmasq on 127.0.0.1:$DNS_PORT"

cp=$(low_port)
i=2
for n in a b c e; do
	node_conf $n "127.0.0.$i" "$cp" "discovery = dns" \
	    "discovery.dns.name = tern.test"
	i=$((i + 1))
done
for n in a b c; do
	node_spawn $n "$DNS"
done
wait_for 60 cluster_agree 3 a b c
id=$(cluster_id a)
grep -q 'bootstrapping a new cluster' "$TEST_DIR/a.log" ||
    fail "127.0.0.2 (the lowest address) did not bootstrap"
for n in b c; do
	grep -q 'bootstrapping a new cluster' "$TEST_DIR/$n.log" &&
	    fail "$n bootstrapped too"
done
grep -q "seeds: 127.0.0.2:$cp, 127.0.0.3:$cp, 127.0.0.4:$cp" \
    "$TEST_DIR/b.log" || fail "b did not resolve the three records"
grep -q 'query\[A\] tern.test' "$TEST_DIR/dnsmasq.log" ||
    fail "nobody asked dnsmasq"
log "one cluster $id from tern.test"

# The records change: tern.test names no node any more.  A restart of
# every node rejoins from data_dir; discovery does not run.
printf '127.0.0.9 tern.test\n' >"$hosts"
kill -HUP "$DNS_PID"
wait_for 10 dns_reads 2
node_stop a b c
for n in a b c; do
	mv "$TEST_DIR/$n.log" "$TEST_DIR/$n.log.1"
	node_spawn $n "$DNS"
done
wait_for 60 cluster_agree 3 a b c
[ "$(cluster_id b)" = "$id" ] || fail "cluster id changed after restart"
for n in a b c; do
	grep -q "holds this node's membership" "$TEST_DIR/$n.log" ||
	    fail "$n did not rejoin from its stored membership"
	grep -q 'discovery: seeds' "$TEST_DIR/$n.log" &&
	    fail "$n ran discovery again"
done
log "after the records changed, the restarted nodes rejoined $id"

# A fourth node, once the records name it and the others, joins them.
printf '127.0.0.%s tern.test\n' 2 3 4 5 >"$hosts"
kill -HUP "$DNS_PID"
wait_for 10 dns_reads 3
node_spawn e "$DNS"
wait_for 60 cluster_agree 4 a b c e
[ "$(cluster_id e)" = "$id" ] || fail "e is in another cluster"
grep -q 'bootstrapping' "$TEST_DIR/e.log" && fail "e bootstrapped"
log "e (127.0.0.5) joined $id"
pass
