#!/bin/bash
# SPDX-License-Identifier: MIT
# /metrics and /health on listener.http (issue 7): /metrics parses with
# prometheus_client's text parser, counters move as messages flow and agree
# with `ternctl metrics show`; /health is 200 when the node serves, 503
# while mqttd is stopped (kill -STOP) and after kill -9 until ternctl run
# has restarted it, and on a node that has not joined a cluster; 404, 405
# and malformed requests; the read timeout and the connection limit.
# Tern only.
. "$(dirname "$0")/lib.sh"
EXPECT_RESTARTS=1	# we kill mqttd on purpose

is_mosquitto && skip "/metrics and /health are clusterd's"
"$PY" -c 'import prometheus_client.parser' 2>/dev/null ||
    skip "no python3-prometheus-client"

H="$PY $PYDIR/t72_http.py"

start_node a
HPORT=$NODE_HPORT
wait_for 20 $H health "$HPORT" 200 ok
log "/health 200 on 127.0.0.1:$HPORT"

# val NAME [LABEL=VALUE]: a sample of /metrics now.
val() { $H val "$HPORT" "$@"; }
# is_val WANT NAME...: the sample equals WANT.
is_val() { local want=$1; shift; [ "$(val "$@")" = "$want" ]; }
is_val_b() {
	local want=$1
	shift
	[ "$($H val "$bh" "$@")" = "$want" ]
}

# Format, types and the families every dashboard needs (storaged may
# still be opening its database).
wait_for 20 is_val 1 tern_daemon_up daemon=storaged
$H fmt "$HPORT" a@127.0.0.1 || fail "/metrics format"

# Counters move as messages flow: N QoS 1 publishes to a QoS 1 subscriber.
n=25
in0=$(val tern_mqttd_messages_in_total)
in1=$(val tern_mqttd_messages_in_qos1_total)
out0=$(val tern_mqttd_messages_out_total)
bytes0=$(val tern_mqttd_bytes_in_total)
mqtt_sub_bg "$TEST_DIR/sub.out" -q 1 -t http/metrics -i sub72
wait_for 10 is_val 1 tern_mqttd_connections
wait_for 10 is_val 1 tern_mqttd_subscriptions
seq 1 $n | mosquitto_pub -h 127.0.0.1 -p "$NODE_PORT" -q 1 -t http/metrics \
    -l || fail "mosquitto_pub"
wait_for 10 has_lines "$TEST_DIR/sub.out" $n
wait_for 5 is_val $((in0 + n)) tern_mqttd_messages_in_total
wait_for 5 is_val $((in1 + n)) tern_mqttd_messages_in_qos1_total
wait_for 5 is_val $((out0 + n)) tern_mqttd_messages_out_total
[ "$(val tern_mqttd_bytes_in_total)" -gt "$((bytes0 + n))" ] ||
    fail "bytes_in did not grow"
log "messages_in +$n, messages_out +$n"
kill_group "$SUB_PID"
forget_pid "$SUB_PID"
wait_for 10 is_val 0 tern_mqttd_connections

# The same numbers as ternctl metrics show.
$H agree "$HPORT" "$NODE_CONF" "$TERNCTL" || fail "ternctl disagrees"

# HTTP itself.
$H raw "$HPORT" || fail "raw HTTP cases"
$H limits "$HPORT" || fail "HTTP limits"

# mqttd stopped: 503 within a few seconds, its counters gone, daemon_up 0;
# 200 again once it runs.
mq=$(daemon_pid mqttd)
[ -n "$mq" ] || fail "no mqttd"
kill -STOP "$mq"
if ! try_for 10 $H health "$HPORT" 503 mqttd; then
	kill -CONT "$mq"
	fail "/health not 503 with mqttd stopped"
fi
$H health "$HPORT" 503 || true
ok=1
is_val 0 tern_daemon_up daemon=mqttd || ok=0
is_val absent tern_mqttd_messages_in_total || ok=0
is_val 1 tern_daemon_up daemon=storaged || ok=0
kill -CONT "$mq"
[ $ok = 1 ] || fail "/metrics still shows a stopped mqttd as up"
wait_for 10 $H health "$HPORT" 200 ok
log "/health 503 while mqttd was stopped, 200 after"

# mqttd killed: ternctl run restarts it; /health is 200 again and the
# counters are the new process's (clusterd's DEALER reconnected).
kill -KILL "$mq"
wait_for 20 daemon_restarted mqttd "$mq"
wait_for 10 $H health "$HPORT" 200 ok
wait_for 10 is_val 0 tern_mqttd_messages_in_total
log "/health 200 after mqttd was restarted"

# A node that has not joined a cluster (static discovery, a seed nobody
# listens on) is not healthy.  Started by hand: such a node may keep its
# MQTT listener closed, which start_node would wait for.
dir=$TEST_DIR/b
mkdir -p "$dir/data" "$dir/run"
bh=$(free_port)
bm=$(free_port)
{
	echo "nodename = b@127.0.0.1"
	echo "data_dir = $dir/data"
	echo "run_dir = $dir/run"
	echo "log_level = debug"
	echo "listener.tcp.default = 127.0.0.1:$bm"
	echo "listener.http.default = 127.0.0.1:$bh"
	echo "allow_anonymous = on"
	echo "cluster.listen = 127.0.0.1:$(free_port)"
	echo "cluster.advertise = 127.0.0.1:$(free_port)"
	echo "cluster.key_dir = $dir/keys"
	echo "discovery = static"
	echo "discovery.static.seeds = 127.0.0.1:$(free_port)"
} >"$dir/tern.conf"
"$TERNCTL" keys create "$dir/keys" >>"$TEST_DIR/b.log" 2>&1
spawn b "$TERNCTL" run -c "$dir/tern.conf"
wait_for 20 $H health "$bh" 503
wait_for 10 is_val_b 0 tern_cluster_joined
$H health "$bh" 503 || fail "/health of a node that has not joined"
log "/health 503 on a node that has not joined: $($H health "$bh" 503)"

# ... and its MQTT listener refuses CONNECT with a clear reason (issue 5),
# so a load balancer that ignores /health still sends nobody there.
refused() {	# refused VERSION: CONNECT gets "server unavailable"
	local out
	out=$(timeout 5 mosquitto_pub -h 127.0.0.1 -p "$bm" -V "$1" \
	    -i probe -t t -m x 2>&1) && return 1
	case "$out" in
	*navailable*) return 0 ;;
	*) echo "$1: $out" >&2; return 1 ;;
	esac
}
wait_for 10 refused mqttv311
refused mqttv5 || fail "5.0 CONNECT to a node that has not joined"
log "CONNECT refused (server unavailable) while not joined, 3.1.1 and 5.0"
pass
