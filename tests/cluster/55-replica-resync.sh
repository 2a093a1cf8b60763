#!/bin/bash
# SPDX-License-Identifier: MIT
# Re-replication (issue 8): while a replica node is down, the owner's
# sessions are under-replicated, which /metrics shows
# (tern_clusterd_replica_sessions_under_replicated, read with
# prometheus_client's parser); when it is back the owner copies them
# afresh (tern_clusterd_replica_resyncs_total) and the gauge returns to 0.
# Then the owner dies: every session gets, from its replica, what was
# published while that replica was down, in order.  Tern only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_cluster.sh"
. "$(dirname "$0")/lib_store.sh"

is_mosquitto && skip "clustering is Tern's"
"$PY" -c 'import prometheus_client.parser' 2>/dev/null ||
    skip "no python3-prometheus-client"
EXPECT_RESTARTS=1
QO=$PYDIR/queue_order.py
H="$PY $PYDIR/t72_http.py"
N=8

"$TERNCTL" keys create "$TEST_DIR/keys" >/dev/null || fail "keys create"
for n in a b c; do
	start_node $n "cluster.key_dir = $TEST_DIR/keys"
	eval "CPORT_$n=\$NODE_CPORT HPORT_$n=\$NODE_HPORT"
done
for n in b c; do
	"$TERNCTL" -c "$(eval echo \$CONF_$n)" cluster join \
	    "discovery-node=127.0.0.1:$CPORT_a" || fail "$n could not join"
done
for n in a b c; do
	wait_for 30 cluster_check $n 3
done

# val NAME: a sample of c's /metrics; ge NAME MIN / eq NAME WANT.
val() { $H val "$HPORT_c" "$1"; }
ge() { local v; v=$(val "$1"); [ "$v" != absent ] && [ "$v" -ge "$2" ]; }
eq() { [ "$(val "$1")" = "$2" ]; }

# N persistent sessions on c get A, go offline.
pids=""
for i in $(seq 1 $N); do
	"$PY" "$QO" --port "$PORT_c" sub --client-id rs$i --version 4 \
	    --topic rs/t --phase A --timeout 20 --stray 0.3 \
	    --ready "$TEST_DIR/r$i" >"$TEST_DIR/s$i" 2>&1 &
	pids="$pids $!"
done
for i in $(seq 1 $N); do
	wait_for 20 test -f "$TEST_DIR/r$i"
done
routes_a() {
	[ "$("$TERNCTL" -c "$CONF_a" metrics show 2>/dev/null |
	    awk '$1 == "clusterd_routes_remote" { print $2; exit }')" -ge 1 ]
}
wait_for 10 routes_a
"$PY" "$QO" --port "$PORT_a" pub --topic rs/t A >/dev/null || fail "pub A"
for p in $pids; do
	wait "$p" || { cat "$TEST_DIR"/s*; fail "a subscriber did not get A"; }
done
eq tern_clusterd_replica_sessions_under_replicated 0 ||
    fail "under-replicated with every node up: $(val \
    tern_clusterd_replica_sessions_under_replicated)"
resyncs=$(val tern_clusterd_replica_resyncs_total)

# b down: some of c's sessions have their replica there.
kill_node b
wait_for 20 ge tern_clusterd_replica_sessions_under_replicated 1
under=$(val tern_clusterd_replica_sessions_under_replicated)
log "b down: $under of $N sessions of c under-replicated"
"$PY" "$QO" --port "$PORT_a" pub --topic rs/t B C >/dev/null ||
    fail "pub B C with b down"
sleep 6		# past the 5 s after which copies to b are given up
restart_node b
wait_for 30 cluster_check a 3
wait_for 20 ge tern_clusterd_replica_resyncs_total $((resyncs + 1))
wait_for 20 eq tern_clusterd_replica_sessions_under_replicated 0
wait_for 20 eq tern_clusterd_replica_copies_pending 0
log "b back: resynced ($(val tern_clusterd_replica_resyncs_total) resyncs)," \
    "nothing under-replicated, no copy pending"
"$TERNCTL" -c "$CONF_c" cluster show | tail -1

# The owner dies: every session continues from its replica.
kill_node c
bad=0
for i in $(seq 1 $N); do
	via=$PORT_a
	[ $((i % 2)) = 0 ] && via=$PORT_b
	"$PY" "$QO" --port "$via" sub --client-id rs$i --version 4 \
	    --topic rs/t --phase "B C" --timeout 20 --stray 0.5 \
	    >"$TEST_DIR/x$i" 2>&1 || bad=$((bad + 1))
	tail -1 "$TEST_DIR/x$i"
done
[ "$bad" = 0 ] || fail "$bad of $N sessions did not get exactly B C"
pass
