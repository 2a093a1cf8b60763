#!/bin/bash
# SPDX-License-Identifier: MIT
# Discovery the Kubernetes StatefulSet way (issue 5), without Kubernetes:
# hostnames tern-0..tern-2 through TERN_HOSTNAME, the headless service's
# domain tern-headless.test from discovery.dns.name, and a dnsmasq started
# by this test that serves tern-N.tern-headless.test and tern-headless.test
# (all pods) as Kubernetes' DNS would, through TERN_DNS_SERVER.  tern-1 and
# tern-2 start first, before tern-0 even has a DNS record: they do not form
# a cluster, say every few seconds what they wait for, and report "not
# joined"; once tern-0 (the seed, ordinal 0) is up it bootstraps and they
# join it.  Then tern-0 comes back with an empty volume: it asks the other
# pods first and joins their cluster instead of starting a second one.
# Tern only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_cluster.sh"

is_mosquitto && skip "clustering is Tern's"

"$TERNCTL" keys create "$TEST_DIR/keys" >/dev/null || fail "keys create"
hosts=$TEST_DIR/hosts
# Only the pods that exist have records.
{
	echo "127.0.0.3 tern-1.tern-headless.test tern-headless.test"
	echo "127.0.0.4 tern-2.tern-headless.test tern-headless.test"
} >"$hosts"
dnsmasq_start "$hosts"
DNS="TERN_DNS_SERVER=127.0.0.1:$DNS_PORT"
dns_reads() {
	[ "$(grep -c "read $hosts" "$TEST_DIR/dnsmasq.log")" -ge "$1" ]
}

cp=$(low_port)
for i in 0 1 2; do
	node_conf "t$i" "127.0.0.$((i + 2))" "$cp" "discovery = k8s" \
	    "discovery.dns.name = tern-headless.test" \
	    "discovery.k8s.ordinal_start = 0" \
	    "nodename = tern@tern-$i.tern-headless.test"
done
node_spawn t1 "$DNS" TERN_HOSTNAME=tern-1
node_spawn t2 "$DNS" TERN_HOSTNAME=tern-2

# They wait for tern-0, and say so every few seconds.
waiting='discovery: waiting: waiting for the seed pod tern-0.tern-headless.test'
wait_for 20 grep -q "$waiting" "$TEST_DIR/t1.log"
wait_for 20 not_joined t1
wait_for 20 not_joined t2
twice() { [ "$(log_count "$TEST_DIR/$1.log" "$waiting")" -ge 2 ]; }
wait_for 15 twice t1
wait_for 15 twice t2
not_joined t1 || fail "tern-1 joined without tern-0"
not_joined t2 || fail "tern-2 joined without tern-0"
grep -q 'bootstrapping' "$TEST_DIR/t1.log" "$TEST_DIR/t2.log" &&
    fail "a pod other than the seed bootstrapped"
log "tern-1, tern-2: $(grep -m1 "$waiting" "$TEST_DIR/t1.log" |
    sed 's/.*waiting: //')"
cluster_field t1 discovery | grep -q 'tern-0' ||
    fail "cluster show does not say what tern-1 waits for"

# tern-0 gets its record and starts: it bootstraps, the others join.
echo "127.0.0.2 tern-0.tern-headless.test tern-headless.test" >>"$hosts"
kill -HUP "$DNS_PID"
wait_for 10 dns_reads 2
node_spawn t0 "$DNS" TERN_HOSTNAME=tern-0
wait_for 60 cluster_agree 3 t0 t1 t2
id=$(cluster_id t0)
grep -q 'bootstrapping a new cluster' "$TEST_DIR/t0.log" ||
    fail "tern-0 did not bootstrap"
log "tern-0 bootstrapped cluster $id; tern-1 and tern-2 joined it"

# tern-0 loses its volume: it asks tern-1 and tern-2 (tern-headless.test)
# and joins their cluster.
node_stop t0
rm -rf "$TEST_DIR/t0/data"
mkdir -p "$TEST_DIR/t0/data"
mv "$TEST_DIR/t0.log" "$TEST_DIR/t0.log.1"
node_spawn t0 "$DNS" TERN_HOSTNAME=tern-0
wait_for 60 cluster_agree 3 t0 t1 t2
[ "$(cluster_id t0)" = "$id" ] || fail "tern-0 is in another cluster"
grep -q 'bootstrapping' "$TEST_DIR/t0.log" &&
    fail "tern-0 bootstrapped a second cluster"
grep -q "answers with cluster $id: joining it" "$TEST_DIR/t0.log" ||
    fail "tern-0 did not join"
log "tern-0 came back empty and joined cluster $id"
pass
