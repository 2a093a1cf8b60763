#!/bin/bash
# SPDX-License-Identifier: MIT
# Retained messages: set, replace, delete with an empty payload, sent on
# subscribe (counted), 5.0 retain handling and retain as published.
. "$(dirname "$0")/lib.sh"

start_node a

# mosquitto_pub -r of 30 topics; mosquitto_sub on the wildcard gets 30.
for i in $(seq 1 30); do
	mosquitto_pub -p "$NODE_PORT" -r -q 1 -t "ret/$i" -m "r:$i" ||
	    fail "mosquitto_pub -r"
done
mosquitto_pub -p "$NODE_PORT" -r -q 1 -t "ret/7" -m "r:7b" || fail "replace"
mosquitto_pub -p "$NODE_PORT" -r -q 1 -t "ret/8" -n || fail "delete"
for v in mqttv311 mqttv5; do
	out=$TEST_DIR/ret-$v.txt
	timeout 10 mosquitto_sub -p "$NODE_PORT" -V $v -t 'ret/#' -q 1 \
	    -C 29 -F '%r %t %p' >"$out" || fail "$v: mosquitto_sub: $(cat "$out")"
	[ "$(grep -c '^1 ret/' "$out")" -eq 29 ] ||
	    fail "$v: retained: $(cat "$out")"
	grep -q '^1 ret/7 r:7b$' "$out" || fail "$v: ret/7 not replaced"
	grep -q ' ret/8 ' "$out" && fail "$v: ret/8 not deleted"
	[ "$(sort -u "$out" | wc -l)" -eq 29 ] || fail "$v: duplicates"
done
# Nothing beyond the 29: a 30th message within a second would be extra.
if timeout 1 mosquitto_sub -p "$NODE_PORT" -t 'ret/#' -C 30 \
    >"$TEST_DIR/extra.txt"; then
	fail "more than 29 retained: $(cat "$TEST_DIR/extra.txt")"
fi

run_py t13_retain.py || fail "python cases"
pass
