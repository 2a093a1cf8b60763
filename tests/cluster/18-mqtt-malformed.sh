#!/bin/bash
# SPDX-License-Identifier: MIT
# Malformed and hostile input on raw sockets: bad remaining length,
# reserved bits, invalid UTF-8, wildcards in PUBLISH topics, packets before
# CONNECT, oversize packets, a second CONNECT...  Each closes only that
# connection (5.0: with the right reason code); a paho subscriber connected
# throughout gets every message; the broker stays up.
. "$(dirname "$0")/lib.sh"

start_node a "max_message_size = 1000"

# A paho subscriber and publisher run through the whole test.
"$PY" "$PYDIR/sub_count.py" --port "$NODE_PORT" --topic mal/steady --qos 1 \
    --expect 400 --ready-file "$TEST_DIR/ready" --timeout 120 \
    >"$TEST_DIR/steady.out" 2>&1 &
steady=$!
wait_for 10 test -e "$TEST_DIR/ready"
"$PY" "$PYDIR/pub_numbered.py" --port "$NODE_PORT" --topic mal/steady \
    --qos 1 --count 400 --rate 40 --timeout 120 \
    >"$TEST_DIR/steady-pub.out" 2>&1 &
steady_pub=$!

run_py t18_malformed.py || fail "python cases"

wait "$steady_pub" || fail "steady publisher: $(cat "$TEST_DIR/steady-pub.out")"
wait "$steady" || fail "steady subscriber: $(cat "$TEST_DIR/steady.out")"
log "steady flow: $(cat "$TEST_DIR/steady.out")"
kill -0 "$NODE_PID" || fail "broker died"
mqtt_ready "$NODE_PORT" || fail "broker does not accept connections"
pass
