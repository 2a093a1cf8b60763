#!/bin/bash
# SPDX-License-Identifier: MIT
# Hostile clients (issue 6) on TCP, TLS and WebSocket listeners: garbage,
# half packets, huge remaining lengths, 2,000+ connections that never
# send CONNECT (closed by the CONNECT timeout while others are served),
# and subscribers that never read while 50 MB are published past them
# (mqttd's VmRSS stays bounded).  A paho publisher and subscriber keep
# exchanging numbered QoS 1 messages throughout and must get every one.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_listeners.sh"

is_mosquitto && skip "Tern's listeners and counters"
command -v openssl >/dev/null || skip "no openssl"

# Under AddressSanitizer freed memory waits in a quarantine (256 MB by
# default) and counts in VmRSS: keep it small so that RSS means something.
MEM_BOUND_MB=40
if ldd "$TERN_BUILDDIR/mqttd/mqttd" 2>/dev/null | grep -q libasan; then
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4"
	MEM_BOUND_MB=80
fi
export MEM_BOUND_MB

CA=$TEST_DIR/ca
make_ca "$CA"
WPORT=$(free_port)
SPORT=$(free_port)
start_node a "listener.ws.default = 127.0.0.1:$WPORT" \
    "listener.ssl.default = 127.0.0.1:$SPORT" \
    "listener.ssl.certfile = $CA/server.crt" \
    "listener.ssl.keyfile = $CA/server.key" \
    "max_write_buffer = 1048576" "max_online_messages = 100" \
    "log_level = info"
daemon_pid mqttd >"$TEST_DIR/mqttd.pid"
MQTTD_PID=$(cat "$TEST_DIR/mqttd.pid")
export NODE_CONF TERNCTL

"$PY" "$PYDIR/sub_count.py" --port "$NODE_PORT" --topic hostile/steady \
    --qos 1 --expect 1000 --ready-file "$TEST_DIR/ready" --timeout 200 \
    >"$TEST_DIR/steady.out" 2>&1 &
steady=$!
wait_for 10 test -e "$TEST_DIR/ready"
"$PY" "$PYDIR/pub_numbered.py" --port "$NODE_PORT" --topic hostile/steady \
    --qos 1 --count 1000 --rate 25 --timeout 200 \
    >"$TEST_DIR/steady-pub.out" 2>&1 &
steady_pub=$!

run_py t64_hostile.py input "$NODE_PORT" "$WPORT" "$SPORT" "$CA/ca.crt" ||
    fail "python cases (input)"
run_py t64_hostile.py idle "$NODE_PORT" "$WPORT" "$SPORT" 2200 ||
    fail "python cases (idle connections)"
run_py t64_hostile.py nonreader "$NODE_PORT" "$WPORT" "$SPORT" \
    "$CA/ca.crt" 50 "$TEST_DIR/mqttd.pid" || fail "python cases (non-readers)"

wait "$steady_pub" || fail "steady publisher: $(cat "$TEST_DIR/steady-pub.out")"
wait "$steady" || fail "steady subscriber: $(cat "$TEST_DIR/steady.out")"
log "steady flow: $(cat "$TEST_DIR/steady.out")"
[ "$(daemon_pid mqttd)" = "$MQTTD_PID" ] || fail "mqttd restarted"
mqtt_ready "$NODE_PORT" || fail "broker does not accept connections"
pass
