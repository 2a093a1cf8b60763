#!/bin/bash
# SPDX-License-Identifier: MIT
# Issue 3: what a restart must keep.  Retained messages (set, replaced,
# deleted), QoS 2 flows stopped half way in both directions, offline
# queues in order, and session expiry across the restart: prepared, then
# mqttd is killed (-9) and, in a second round, the whole node; the
# clients come back and check (py/t21_store.py).  Tern only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_store.sh"
EXPECT_RESTARTS=1

is_mosquitto && skip "kills Tern's daemons"

start_node a "log_level = info"
wait_for 20 ternctl_status

for victim in mqttd node; do
	log "round: kill -9 $victim"
	run_py t21_store.py prepare --port "$NODE_PORT" \
	    --state "$TEST_DIR/state.$victim" || fail "prepare ($victim)"
	if [ "$victim" = node ]; then
		kill_node a
		restart_node a
	else
		kill_daemon mqttd a
		try_for 20 mqtt_ready "$NODE_PORT" || fail "mqttd not back"
	fi
	run_py t21_store.py check --port "$NODE_PORT" \
	    --state "$TEST_DIR/state.$victim" || fail "after kill -9 $victim"
done
pass
