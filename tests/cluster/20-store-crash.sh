#!/bin/bash
# SPDX-License-Identifier: MIT
# G1 on one node (issue 3): a persistent subscriber is offline while two
# publishers send numbered messages (QoS 1 and QoS 2, persistent sessions
# that reconnect by themselves); storaged, mqttd and the whole node are
# killed with SIGKILL at random points (5 rounds; in one, storaged is
# stopped first: no publish may be acknowledged while it cannot write,
# then the node is killed with everything mqttd was waiting for).  Then
# the subscriber reconnects: every acknowledged message arrives (QoS 1 at
# least once, QoS 2 exactly once), in publish order.  Tern only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_store.sh"
EXPECT_RESTARTS=1

is_mosquitto && skip "kills Tern's daemons"

start_node a "max_offline_messages = 0" "log_level = info"
wait_for 20 ternctl_status
port=$NODE_PORT
n1=${STORE_N1:-1500}
n2=${STORE_N2:-800}

run_py store_crash.py setup --port "$port" --client-id crash-sub \
    --topic crash/q1:1 --topic crash/q2:2 || fail "subscriber setup"

"$PY" "$STORE_PY" pub --port "$port" --topic crash/q1 --qos 1 \
    --count "$n1" --rate 100 --id p1 --client-id crash-p1 \
    --acked "$TEST_DIR/acked1" --timeout 80 >"$TEST_DIR/pub1.out" 2>&1 &
pub1=$!
"$PY" "$STORE_PY" pub --port "$port" --topic crash/q2 --qos 2 \
    --count "$n2" --rate 55 --id p2 --client-id crash-p2 \
    --acked "$TEST_DIR/acked2" --timeout 80 >"$TEST_DIR/pub2.out" 2>&1 &
pub2=$!

# Five kills at random points: each waits for 50..249 more acks first.
victims="storaged mqttd frozen node mqttd"
[ -n "${STORE_VICTIMS:-}" ] && victims=$STORE_VICTIMS
for v in $victims; do
	want=$(( $(acked_count "$TEST_DIR/acked1") + 50 + RANDOM % 200 ))
	[ "$want" -lt "$n1" ] || want=$((n1 - 1))
	wait_for 40 has_acked "$TEST_DIR/acked1" "$want"
	case $v in
	node)
		kill_node a
		restart_node a
		;;
	frozen)
		spid=$(daemon_pid storaged a)
		kill -STOP "$spid"
		a1=$(acked_count "$TEST_DIR/acked1")
		a2=$(acked_count "$TEST_DIR/acked2")
		# Measuring that nothing happens: a fixed time is the test.
		sleep 1
		b1=$(acked_count "$TEST_DIR/acked1")
		b2=$(acked_count "$TEST_DIR/acked2")
		log "storaged stopped: acks $a1 -> $b1, $a2 -> $b2"
		# Answers already on their way when it stopped: a window.
		[ $((b1 - a1)) -le 25 ] && [ $((b2 - a2)) -le 25 ] ||
		    fail "publishes acknowledged while storaged was stopped"
		kill_node a
		restart_node a
		;;
	*)
		kill_daemon "$v" a
		;;
	esac
	log "after $v: $(acked_count "$TEST_DIR/acked1") + \
$(acked_count "$TEST_DIR/acked2") acked"
done

wait "$pub1" || fail "QoS 1 publisher: $(cat "$TEST_DIR/pub1.out")"
wait "$pub2" || fail "QoS 2 publisher: $(cat "$TEST_DIR/pub2.out")"
log "$(cat "$TEST_DIR/pub1.out")"
log "$(cat "$TEST_DIR/pub2.out")"

run_py store_crash.py drain --port "$port" --client-id crash-sub \
    --topic "crash/q1:1:$TEST_DIR/acked1" \
    --topic "crash/q2:2:$TEST_DIR/acked2" --timeout 40 ||
    fail "acknowledged messages lost, repeated (QoS 2) or out of order"
pass
