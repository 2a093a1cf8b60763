#!/bin/bash
# SPDX-License-Identifier: MIT
# ternctl run: starts storaged, clusterd and mqttd of one node; `ternctl
# status` shows them up; a daemon that dies is restarted; a bad config line
# stops start-up with file:line: reason and a non-zero exit; SIGTERM stops
# everything.  Tern only.
. "$(dirname "$0")/lib.sh"
EXPECT_RESTARTS=1

is_mosquitto && skip "ternctl is Tern's"

start_node a
wait_for 20 ternctl_status
"$TERNCTL" -c "$NODE_CONF" --json status >"$TEST_DIR/status.json" ||
    fail "status --json"
"$PY" - "$TEST_DIR/status.json" <<'PYEOF' || fail "status JSON: $(cat "$TEST_DIR/status.json")"
import json, sys
o = json.load(open(sys.argv[1]))
for d in ('mqttd', 'clusterd', 'storaged'):
    assert o[d]['running'] is True, d
PYEOF
"$TERNCTL" status -c "$NODE_CONF" | grep -E '^mqttd +up' ||
    fail "status table (-c after the command)"
for d in mqttd clusterd storaged; do
	[ -n "$(daemon_pid $d)" ] || fail "no $d under ternctl"
done
log "all three daemons up"

# A daemon killed with SIGKILL is started again, and serves again.
old=$(daemon_pid mqttd)
kill -KILL "$old"
wait_for 15 daemon_restarted mqttd "$old"
wait_for 15 mqtt_ready "$NODE_PORT"
wait_for 15 ternctl_status
log "mqttd restarted: $old -> $(daemon_pid mqttd)"

# SIGTERM to ternctl stops all three, and ternctl exits 0.
pg=$NODE_PID
kill -TERM "$pg"
wait_for 15 sh -c "! kill -0 -- -$pg 2>/dev/null"
wait "$pg"
rc=$?
forget_pid "$pg"
[ "$rc" -eq 0 ] || fail "ternctl run exited $rc after SIGTERM"
ternctl_status >/dev/null 2>&1 && fail "status succeeds after stop"
mqtt_ready "$NODE_PORT" && fail "MQTT still answers after stop"
log "SIGTERM stopped everything"

# Bad configs: file:line: reason on stderr, non-zero exit, nothing left.
badrun() {
	local name=$1 want=$2 rc
	spawn "$name" "$TERNCTL" run -c "$TEST_DIR/$name.conf"
	local pg=$SPAWN_PID
	wait_for 15 sh -c "! kill -0 $pg 2>/dev/null"
	wait "$pg"
	rc=$?
	forget_pid "$pg"
	[ "$rc" -ne 0 ] || fail "$name: exit 0"
	grep -q -- "$want" "$TEST_DIR/$name.log" ||
	    fail "$name: no '$want' in: $(cat "$TEST_DIR/$name.log")"
	kill -0 -- -"$pg" 2>/dev/null && fail "$name: processes left"
	log "$name: exit $rc, $(grep -m1 -- "$want" "$TEST_DIR/$name.log")"
}
conf_lines=$(wc -l <"$NODE_CONF")
line=$((conf_lines + 1))
{ cat "$NODE_CONF"; echo "no_such_key = 1"; } >"$TEST_DIR/badkey.conf"
badrun badkey "badkey.conf:$line:"
{ cat "$NODE_CONF"; echo "max_inflight_messages = lots"; } \
    >"$TEST_DIR/badvalue.conf"
badrun badvalue "badvalue.conf:$line:"
{ head -n 3 "$NODE_CONF"; echo "this line has no equals sign"; } \
    >"$TEST_DIR/badsyntax.conf"
badrun badsyntax "badsyntax.conf:4:"
spawn missing "$TERNCTL" run -c "$TEST_DIR/does-not-exist.conf"
pg=$SPAWN_PID
wait_for 15 sh -c "! kill -0 $pg 2>/dev/null"
wait "$pg" && fail "missing config: exit 0"
forget_pid "$pg"
grep -q "does-not-exist.conf" "$TEST_DIR/missing.log" ||
    fail "missing config: $(cat "$TEST_DIR/missing.log")"
pass
