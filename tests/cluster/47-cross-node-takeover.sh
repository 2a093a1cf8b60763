#!/bin/bash
# SPDX-License-Identifier: MIT
# Session takeover between nodes (issue 4): a persistent QoS 1 subscriber
# of node a goes offline; 100 numbered messages published on node c queue
# for it on a; it reconnects on node b: a hands the session over (its
# subscription and the 100 queued messages) and b delivers them, in order,
# before the 100 published after the reconnect.  A client connected on a
# whose id connects on b is disconnected (5.0: DISCONNECT 0x8E).  Tern
# only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_cluster.sh"

is_mosquitto && skip "clustering is Tern's"

"$TERNCTL" keys create "$TEST_DIR/keys" >/dev/null || fail "keys create"
for n in a b c; do
	start_node $n "cluster.key_dir = $TEST_DIR/keys"
	eval "CPORT_$n=$NODE_CPORT"
done
for n in b c; do
	"$TERNCTL" -c "$(eval echo \$CONF_$n)" cluster join \
	    "discovery-node=127.0.0.1:$CPORT_a" || fail "$n could not join"
done
for n in a b c; do
	wait_for 20 cluster_check $n 3
done

metric() {
	local conf
	eval "conf=\$CONF_$1"
	"$TERNCTL" -c "$conf" metrics show 2>/dev/null |
	    awk -v k="$2" '$1 == k { print $2; exit }'
}
has_routes() { [ "$(metric "$1" clusterd_routes_remote)" -ge "$2" ]; }

# The subscriber: persistent, on a, subscribes and goes.
mosquitto_sub -h 127.0.0.1 -p "$PORT_a" -i tk-sub -c -q 1 -t 'tk/#' -E ||
    fail "first subscribe on a"
wait_for 10 has_routes c 1
"$PY" "$PYDIR/pub_numbered.py" --port "$PORT_c" --topic tk/1 --qos 1 \
    --count 100 --id q >/dev/null || fail "publish while offline"
log "100 messages queued for tk-sub on a"

# It comes back on b: the queued 100 first, then 100 newer, in order.
"$PY" "$PYDIR/sub_count.py" --port "$PORT_b" --topic 'tk/#' --qos 1 \
    --client-id tk-sub --persistent --expect 200 --timeout 60 \
    --ready-file "$TEST_DIR/tk.ready" >"$TEST_DIR/tk.out" 2>&1 &
sub=$!
_PIDS="$_PIDS $sub"
wait_for 15 test -f "$TEST_DIR/tk.ready"
"$PY" "$PYDIR/pub_numbered.py" --port "$PORT_c" --topic tk/1 --qos 1 \
    --start 101 --count 100 --id q >/dev/null || fail "publish after"
wait "$sub" || { cat "$TEST_DIR/tk.out"; fail "takeover: not 1..200 in order"; }
forget_pid "$sub"
log "takeover a -> b: 200 messages in order"

# A connected client taken over from another node gets DISCONNECT 0x8E.
"$PY" - "$PORT_a" "$PORT_b" <<'PYEOF' || fail "connected takeover"
import sys
import mqttraw as mr
a, b = int(sys.argv[1]), int(sys.argv[2])
old = mr.Client(a, version=5, timeout=10)
old.connect('tk-live')
new = mr.Client(b, version=5, timeout=10)
new.connect('tk-live')
got = old.wait_closed()
rcs = [p.rc for p in got if p.type == mr.DISCONNECT]
assert rcs == [0x8E], 'old connection got %r' % got
assert new.is_open(), 'new connection closed'
new.disconnect()
PYEOF
log "connected takeover: DISCONNECT 0x8E"
pass
