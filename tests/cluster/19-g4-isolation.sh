#!/bin/bash
# SPDX-License-Identifier: MIT
# G4: kill -9 of clusterd and of storaged while clients are connected: no
# client is disconnected, QoS 0 delivery goes on, `ternctl run` restarts
# them and QoS 1 (also to a persistent session) completes.  Tern only.
. "$(dirname "$0")/lib.sh"
EXPECT_RESTARTS=1

is_mosquitto && skip "kills Tern's clusterd and storaged"

start_node a
wait_for 20 ternctl_status
mqttd_pid=$(daemon_pid mqttd)

# Long-lived clients: QoS 0 and QoS 1 flows at 50 messages/s for ~12 s,
# a persistent QoS 1 subscriber, and idle raw clients of both versions.
n=600
"$PY" "$PYDIR/sub_count.py" --port "$NODE_PORT" --topic g4/q0 --qos 0 \
    --expect $n --ready-file "$TEST_DIR/r0" --timeout 90 \
    --progress-file "$TEST_DIR/progress0" \
    >"$TEST_DIR/sub0.out" 2>&1 &
sub0=$!
"$PY" "$PYDIR/sub_count.py" --port "$NODE_PORT" --topic g4/q1 --qos 1 \
    --version 5 --expect $n --ready-file "$TEST_DIR/r1" --timeout 90 \
    >"$TEST_DIR/sub1.out" 2>&1 &
sub1=$!
"$PY" "$PYDIR/sub_count.py" --port "$NODE_PORT" --topic g4/q1 --qos 1 \
    --persistent --client-id g4-persistent --dups --expect $n \
    --ready-file "$TEST_DIR/rp" --timeout 90 >"$TEST_DIR/subp.out" 2>&1 &
subp=$!
"$PY" - "$NODE_PORT" "$TEST_DIR/idle" >"$TEST_DIR/idle.out" 2>&1 <<'PYEOF' &
# Idle clients: connected until the file DIR.stop appears, then each must
# still answer PINGREQ.
import os, sys, time
import mqttraw as m
port, base = int(sys.argv[1]), sys.argv[2]
cs = []
for v in (4, 5, 4, 5):
    c = m.Client(port, v)
    c.connect('g4-idle-%d' % len(cs), keepalive=60)
    cs.append(c)
open(base + '.ready', 'w').close()
while not os.path.exists(base + '.stop'):
    for c in cs:
        c.poll(0.05)
        if c.closed:
            print('idle client closed by the broker', c.inbox)
            sys.exit(1)
for c in cs:
    c.ping()
    c.disconnect()
print('idle clients all stayed connected')
PYEOF
idle=$!
wait_for 10 test -e "$TEST_DIR/r0"
wait_for 10 test -e "$TEST_DIR/r1"
wait_for 10 test -e "$TEST_DIR/rp"
wait_for 10 test -e "$TEST_DIR/idle.ready"

"$PY" "$PYDIR/pub_numbered.py" --port "$NODE_PORT" --topic g4/q0 --qos 0 \
    --count $n --rate 50 --timeout 90 >"$TEST_DIR/pub0.out" 2>&1 &
pub0=$!
"$PY" "$PYDIR/pub_numbered.py" --port "$NODE_PORT" --topic g4/q1 --qos 1 \
    --count $n --rate 50 --timeout 90 >"$TEST_DIR/pub1.out" 2>&1 &
pub1=$!

# Let the flows run, then kill clusterd, then storaged, mid-flow.
at_least() { [ "$(cat "$1" 2>/dev/null || echo 0)" -ge "$2" ]; }
wait_for 20 at_least "$TEST_DIR/progress0" 100
for d in clusterd storaged; do
	old=$(daemon_pid $d)
	[ -n "$old" ] || fail "no $d"
	log "kill -9 $d ($old)"
	kill -KILL "$old"
	wait_for 20 daemon_restarted $d "$old"
	wait_for 20 ternctl_status
	log "$d back as $(daemon_pid $d)"
done

wait "$pub0" || fail "QoS 0 publisher: $(cat "$TEST_DIR/pub0.out")"
wait "$pub1" || fail "QoS 1 publisher: $(cat "$TEST_DIR/pub1.out")"
wait "$sub0" || fail "QoS 0 subscriber: $(cat "$TEST_DIR/sub0.out")"
wait "$sub1" || fail "QoS 1 subscriber: $(cat "$TEST_DIR/sub1.out")"
wait "$subp" || fail "persistent subscriber: $(cat "$TEST_DIR/subp.out")"
touch "$TEST_DIR/idle.stop"
wait "$idle" || fail "idle clients: $(cat "$TEST_DIR/idle.out")"
[ "$(daemon_pid mqttd)" = "$mqttd_pid" ] || fail "mqttd was restarted"
for f in sub0 sub1 subp idle; do
	log "$f: $(cat "$TEST_DIR/$f.out")"
done
pass
