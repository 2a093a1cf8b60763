#!/bin/bash
# SPDX-License-Identifier: MIT
# Will messages: published on an abnormal close, not after DISCONNECT, 5.0
# DISCONNECT 0x04 and will delay; real clients killed with SIGKILL.
. "$(dirname "$0")/lib.sh"

start_node a

# Five mosquitto_sub clients with wills, killed with SIGKILL: a watcher
# counts five wills; one that disconnects normally sends none.
out=$TEST_DIR/wills.txt
mqtt_sub_bg "$out" -d -t 'will/#' -q 1 -F '%t %p'
watch=$SUB_PID
wait_for 10 grep -q "received SUBACK" "$out"
pids=""
for i in 1 2 3 4 5; do
	spawn "willer$i" stdbuf -oL mosquitto_sub -p "$NODE_PORT" -d -t "dummy/$i" \
	    --will-topic "will/$i" --will-payload "dead:$i" --will-qos 1
	pids="$pids $SPAWN_PID"
	wait_for 10 grep -q "received SUBACK" "$TEST_DIR/willer$i.log"
done
timeout 5 mosquitto_pub -p "$NODE_PORT" -t dummy/x -m x \
    --will-topic will/clean --will-payload clean || fail "clean client"
for pg in $pids; do
	kill -KILL -- -"$pg"
	wait "$pg" 2>/dev/null
	forget_pid "$pg"
done
wait_for 10 sh -c "[ \$(grep -c '^will/[0-9] dead:' '$out') -ge 5 ]"
for i in 1 2 3 4 5; do
	[ "$(grep -c "^will/$i dead:$i\$" "$out")" -eq 1 ] ||
	    fail "will $i: $(cat "$out")"
done
grep -q 'will/clean' "$out" && fail "will after a clean disconnect"

run_py t14_will.py || fail "python cases"
pass
