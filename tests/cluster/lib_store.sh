# SPDX-License-Identifier: MIT
# Helpers of the durability tests (tests/cluster/2N-store-*.sh), sourced
# after lib.sh: kill -9 of one daemon or of a whole node, and restarting a
# node on the same configuration, data dir and ports.

STORE_PY=$PYDIR/store_crash.py

# kill_daemon NAME [NODE]: kill -9 daemon NAME (mqttd, storaged, clusterd)
# of NODE and wait until `ternctl run` has started it again.
kill_daemon() {
	local d=$1 old
	old=$(daemon_pid "$d" ${2:+"$2"})
	[ -n "$old" ] || fail "kill_daemon: no $d running"
	log "kill -9 $d ($old)"
	kill -KILL "$old"
	wait_for 20 daemon_restarted "$d" "$old" ${2:+"$2"}
}

# kill_node NAME: kill -9 every process of the node (the process group of
# its `ternctl run`), as a power cut of the node would.
kill_node() {
	local pg
	eval "pg=\$PID_$1"
	log "kill -9 node $1 (group $pg)"
	kill -KILL -- -"$pg" 2>/dev/null
	try_for 10 sh -c "! kill -0 -- -$pg" || fail "node $1 survived kill -9"
	forget_pid "$pg"
}

# restart_node NAME: start NAME again on its configuration (same ports and
# data dir) and wait until MQTT answers and storaged is up.
restart_node() {
	local conf port
	eval "conf=\$CONF_$1 port=\$PORT_$1"
	spawn "$1" "$TERNCTL" run -c "$conf"
	eval "PID_$1=$SPAWN_PID"
	NODE_PID=$SPAWN_PID
	try_for "${TERN_START_TIMEOUT:-20}" mqtt_ready "$port" ||
	    fail "node $1: MQTT port $port not ready after restart"
	log "node $1 restarted (group $SPAWN_PID)"
}

# acked_count FILE: acknowledged messages recorded by store_crash.py pub.
acked_count() { line_count "$1"; }

# has_acked FILE N: at least N acknowledged.
has_acked() { [ "$(acked_count "$1")" -ge "$2" ]; }
