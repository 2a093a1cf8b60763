#!/bin/bash
# SPDX-License-Identifier: MIT
# WebSocket listeners (issue 6): paho's websocket transport publishing and
# subscribing over ws and wss (TLS with a CA this test makes), MQTT split
# across frames and several packets in one frame, ping/pong, the close
# handshake, refused upgrades and bad frames (each with its close code),
# max_publish_rate holding WebSocket input, all while a plain TCP
# subscriber keeps receiving.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_listeners.sh"

is_mosquitto && skip "Tern's listener.ws keys"
command -v openssl >/dev/null || skip "no openssl"

CA=$TEST_DIR/ca
make_ca "$CA"
WPORT=$(free_port)
WSPORT=$(free_port)
start_node a "listener.ws.default = 127.0.0.1:$WPORT" \
    "listener.wss.default = 127.0.0.1:$WSPORT" \
    "listener.ssl.certfile = $CA/server.crt" \
    "listener.ssl.keyfile = $CA/server.key" \
    "max_message_size = 300000" "max_publish_rate = 200"
grep -q "listening on 127.0.0.1:$WPORT (ws.default)" "$NODE_LOG" ||
    fail "no ws listener"
grep -q "listening on 127.0.0.1:$WSPORT (wss.default)" "$NODE_LOG" ||
    fail "no wss listener"

# A TCP subscriber sees what WebSocket clients publish.
mqtt_sub_bg "$TEST_DIR/sub.out" -t 'ws/#' -q 1 -i tcpsub
wait_for 10 metric_above subscribes 0

export NODE_PORT
run_py t61_ws.py "$WPORT" "$WSPORT" "$CA/ca.crt" || fail "python cases"
metric_above ws_upgrades 10 || fail "ws_upgrades did not move"
metric_above ws_failures 4 || fail "ws_failures did not move"
# 2 x 101 messages from paho, 1 + 2 x 500 from the raw client.
wait_for 10 has_lines "$TEST_DIR/sub.out" 1203
kill -0 "$SUB_PID" || fail "TCP subscriber died"
pass
