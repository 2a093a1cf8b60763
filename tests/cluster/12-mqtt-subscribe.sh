#!/bin/bash
# SPDX-License-Identifier: MIT
# SUBSCRIBE/UNSUBSCRIBE: + and #, $-topics not matched by wildcards at the
# first level, overlapping subscriptions delivered once, unsubscribe.
. "$(dirname "$0")/lib.sh"

start_node a

# mosquitto_sub on a + filter and paho on a # filter, counted.
out=$TEST_DIR/plus.txt
mqtt_sub_bg "$out" -d -V mqttv311 -t 'sub/+/x' -q 1 -C 40
sub=$SUB_PID
"$PY" "$PYDIR/sub_count.py" --port "$NODE_PORT" --topic 'sub/#' --qos 2 \
    --version 5 --expect 40 --publishers 2 --ready-file "$TEST_DIR/ready" \
    >"$TEST_DIR/hash.out" 2>&1 &
hash=$!
wait_for 10 grep -q "received SUBACK" "$out"
wait_for 10 test -e "$TEST_DIR/ready"
for i in $(seq 1 40); do
	mosquitto_pub -p "$NODE_PORT" -t "sub/$i/x" -q 1 -m "p1:$i" ||
	    fail "mosquitto_pub"
	mosquitto_pub -p "$NODE_PORT" -t "sub/$i/y" -q 1 -m "p2:$i" ||
	    fail "mosquitto_pub"
done
wait "$hash" || fail "sub/#: $(cat "$TEST_DIR/hash.out")"
wait_for 10 sh -c "! kill -0 $sub"
forget_pid "$sub"
have=$(grep '^p[12]:' "$out" | tr '\n' ' ')
want=$(seq 1 40 | sed 's/^/p1:/' | tr '\n' ' ')
[ "$have" = "$want" ] || fail "sub/+/x got: $have"
log "sub/+/x: 40 in order; sub/#: $(cat "$TEST_DIR/hash.out")"

run_py t12_subscribe.py || fail "python cases"
pass
