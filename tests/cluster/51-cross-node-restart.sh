#!/bin/bash
# SPDX-License-Identifier: MIT
# Routes after a node restarts and rejoins (issue 4): three nodes; node c
# has a clean subscriber and a persistent one; c stops (its routes stay
# known: it is still a member), publishers on a are not held up by it (its
# forwards end as "gone" after a few seconds); c starts again on its data
# dir, rejoins from its stored membership, and announces its routes again:
# the clean subscriber's route is gone from a, the persistent session's is
# back, and what a publishes reaches it.  Tern only.
#
# With replication_factor 1: with 2 (the default) c's persistent session
# moves to its replica 3 s after c stops, as it should, and takes its
# route with it (52-replicated-queues.sh and 55-replica-resync.sh test
# that); this test is about the routes of a node that is only down.
TERN_TEST_RF=1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_cluster.sh"

is_mosquitto && skip "clustering is Tern's"

"$TERNCTL" keys create "$TEST_DIR/keys" >/dev/null || fail "keys create"
for n in a b c; do
	start_node $n "cluster.key_dir = $TEST_DIR/keys"
	eval "CPORT_$n=$NODE_CPORT"
done
for n in b c; do
	"$TERNCTL" -c "$(eval echo \$CONF_$n)" cluster join \
	    "discovery-node=127.0.0.1:$CPORT_a" || fail "$n could not join"
done
for n in a b c; do
	wait_for 20 cluster_check $n 3
done
routes_a() {
	[ "$("$TERNCTL" -c "$CONF_a" metrics show 2>/dev/null |
	    awk '$1 == "clusterd_routes_remote" { print $2; exit }')" = "$1" ]
}

# A persistent subscription on c (session kept in c's storaged), and a
# clean subscriber that is connected when c stops.
mosquitto_sub -h 127.0.0.1 -p "$PORT_c" -i rs-keep -c -q 1 -t 'rs/keep' -E ||
    fail "persistent subscribe on c"
mqtt_sub_bg "$TEST_DIR/clean.txt" -h 127.0.0.1 -p "$PORT_c" -q 1 -t rs/clean
clean=$SUB_PID
wait_for 10 routes_a 2
log "a knows c's 2 routes"

stop_node c
forget_pid "$clean"
kill_group "$clean"
t0=$(ms_now)
"$PY" "$PYDIR/pub_numbered.py" --port "$PORT_a" --topic rs/clean --qos 1 \
    --count 20 --id down --timeout 30 >/dev/null ||
    fail "publishing on a while c is down"
took=$(( $(ms_now) - t0 ))
log "20 QoS 1 to c's routes while c is down: acknowledged after $took ms"
[ "$took" -lt 15000 ] || fail "publishers held up by a dead node"
routes_a 2 || fail "a forgot c's routes while c is only down"

# c again, same config and data: it rejoins and re-announces its routes.
spawn c "$TERNCTL" run -c "$CONF_c"
PID_c=$SPAWN_PID
wait_for 20 mqtt_ready "$PORT_c"
for n in a b c; do
	wait_for 20 cluster_check $n 3
done
wait_for 15 routes_a 1
log "after the restart a knows c's 1 route (the persistent session's)"
"$PY" "$PYDIR/sub_count.py" --port "$PORT_c" --topic rs/keep --qos 1 \
    --client-id rs-keep --persistent --expect 50 --timeout 40 \
    --ready-file "$TEST_DIR/keep.ready" >"$TEST_DIR/keep.out" 2>&1 &
keep=$!
_PIDS="$_PIDS $keep"
wait_for 15 test -f "$TEST_DIR/keep.ready"
"$PY" "$PYDIR/pub_numbered.py" --port "$PORT_a" --topic rs/keep --qos 1 \
    --count 50 --id up >/dev/null || fail "publishing on a after the restart"
wait "$keep" || { cat "$TEST_DIR/keep.out"; fail "a -> c after the restart"; }
forget_pid "$keep"
log "a -> c after c's restart: 50 in order"
pass
