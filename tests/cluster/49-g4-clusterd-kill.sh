#!/bin/bash
# SPDX-License-Identifier: MIT
# Crash isolation across nodes (G4, issue 4): kill -9 of clusterd on the
# publisher's node, then on the subscriber's node, while a publisher sends
# 600 numbered QoS 1 messages from node a to a subscriber on node b (and a
# QoS 0 subscriber on a itself): no client connection closes, local QoS 0
# delivery goes on, and every message arrives at b, in order (QoS 1 may
# repeat a message across the restart: allowed, counted as such).  Tern
# only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_cluster.sh"

is_mosquitto && skip "clustering is Tern's"
EXPECT_RESTARTS=1	# we kill clusterd on purpose

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
	    awk '$1 == "clusterd_routes_remote" { print $2; exit }')" -ge 1 ]
}

for victim in a b; do
	"$PY" "$PYDIR/sub_count.py" --port "$PORT_b" --topic "g4/$victim" \
	    --qos 1 --expect 600 --dups --timeout 90 \
	    --ready-file "$TEST_DIR/r$victim.ready" \
	    >"$TEST_DIR/remote_$victim.out" 2>&1 &
	rsub=$!
	"$PY" "$PYDIR/sub_count.py" --port "$PORT_a" --topic "g4/$victim" \
	    --qos 0 --expect 600 --timeout 90 \
	    --ready-file "$TEST_DIR/l$victim.ready" \
	    >"$TEST_DIR/local_$victim.out" 2>&1 &
	lsub=$!
	_PIDS="$_PIDS $rsub $lsub"
	wait_for 10 test -f "$TEST_DIR/r$victim.ready"
	wait_for 10 test -f "$TEST_DIR/l$victim.ready"
	wait_for 10 routes_a
	"$PY" "$PYDIR/pub_numbered.py" --port "$PORT_a" --topic "g4/$victim" \
	    --qos 1 --count 600 --rate 100 --id "k$victim" --timeout 90 \
	    >"$TEST_DIR/pub_$victim.out" 2>&1 &
	pub=$!
	_PIDS="$_PIDS $pub"
	sleep 2		# about 200 messages in: then the kill
	pid=$(daemon_pid clusterd "$victim")
	[ -n "$pid" ] || fail "no clusterd on $victim"
	kill -KILL "$pid"
	log "killed clusterd of $victim (pid $pid) mid-stream"
	wait_for 15 daemon_restarted clusterd "$pid" "$victim"
	wait "$pub" || { cat "$TEST_DIR/pub_$victim.out"; fail "publisher"; }
	wait "$lsub" || { cat "$TEST_DIR/local_$victim.out";
	    fail "local QoS 0 subscriber on a"; }
	wait "$rsub" || { cat "$TEST_DIR/remote_$victim.out";
	    fail "subscriber on b"; }
	forget_pid "$pub"
	forget_pid "$lsub"
	forget_pid "$rsub"
	log "clusterd of $victim killed: 600/600 at b in order, no disconnect"
	for n in a b c; do
		wait_for 20 cluster_check $n 3
	done
done
pass
