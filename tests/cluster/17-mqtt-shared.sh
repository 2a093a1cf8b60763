#!/bin/bash
# SPDX-License-Identifier: MIT
# Shared subscriptions $share/GROUP/FILTER, 3.1.1 and 5.0: each message to
# exactly one member, balanced across members, groups independent.
. "$(dirname "$0")/lib.sh"

start_node a

# Three mosquitto_sub members (3.1.1, 5.0, 5.0) and 300 paho messages.
subs=""
i=0
for v in mqttv311 mqttv5 mqttv5; do
	i=$((i + 1))
	mqtt_sub_bg "$TEST_DIR/member$i.txt" -d -V $v -t '$share/grp/shr/t' -q 1
	subs="$subs $SUB_PID"
	wait_for 10 grep -q "received SUBACK" "$TEST_DIR/member$i.txt"
done
"$PY" "$PYDIR/pub_numbered.py" --port "$NODE_PORT" --topic shr/t --qos 1 \
    --count 300 --id p >/dev/null || fail "publisher"
all() { cat "$TEST_DIR"/member[123].txt | grep '^p:'; }
wait_for 10 sh -c "[ \$(cat '$TEST_DIR'/member[123].txt | grep -c '^p:') \
    -ge 300 ]"
for pg in $subs; do
	kill_group "$pg"
	forget_pid "$pg"
done
[ "$(all | wc -l)" -eq 300 ] || fail "$(all | wc -l) deliveries for 300"
[ "$(all | sort -u | wc -l)" -eq 300 ] || fail "duplicates"
for i in 1 2 3; do
	n=$(grep -c '^p:' "$TEST_DIR/member$i.txt")
	[ "$n" -ge 25 ] || fail "member $i got only $n of 300"
	sorted=$(grep '^p:' "$TEST_DIR/member$i.txt" | sort -t: -k2 -n)
	[ "$(grep '^p:' "$TEST_DIR/member$i.txt")" = "$sorted" ] ||
	    fail "member $i: out of order"
	log "member $i: $n messages"
done

run_py t17_shared.py || fail "python cases"
pass
