#!/bin/bash
# SPDX-License-Identifier: MIT
# PUBLISH at QoS 0/1/2 in both directions, counted and in order per
# publisher (paho, 3.1.1 and 5.0), QoS downgrade, exactly once, retry with
# DUP on reconnect for unacknowledged messages, the in-flight window.
. "$(dirname "$0")/lib.sh"

start_node a "max_inflight_messages = 10"

# Two paho publishers, one paho subscriber per protocol version and QoS:
# every message once, in order per publisher.
n=300
for v in 4 5; do
	for q in 0 1 2; do
		topic=qos/$v/$q
		ready=$TEST_DIR/ready-$v-$q
		"$PY" "$PYDIR/sub_count.py" --port "$NODE_PORT" --topic "$topic" \
		    --qos "$q" --version "$v" --expect $n --publishers 2 \
		    --max-qos "$q" --ready-file "$ready" --timeout 60 \
		    >"$TEST_DIR/sub-$v-$q.out" 2>&1 &
		sub=$!
		wait_for 10 test -e "$ready"
		for p in 1 2; do
			"$PY" "$PYDIR/pub_numbered.py" --port "$NODE_PORT" \
			    --topic "$topic" --qos "$q" --count $n \
			    --id "p$p" --version "$v" \
			    >"$TEST_DIR/pub-$v-$q-$p.out" 2>&1 &
			eval "pub$p=\$!"
		done
		wait "$pub1" || fail "v$v QoS $q: publisher 1: $(cat \
		    "$TEST_DIR/pub-$v-$q-1.out")"
		wait "$pub2" || fail "v$v QoS $q: publisher 2"
		wait "$sub" || fail "v$v QoS $q: $(cat "$TEST_DIR/sub-$v-$q.out")"
		log "v$v QoS $q: $(cat "$TEST_DIR/sub-$v-$q.out")"
	done
done

# QoS downgrade with real clients: QoS 2 published, QoS 1 subscription.
"$PY" "$PYDIR/sub_count.py" --port "$NODE_PORT" --topic qos/down --qos 1 \
    --expect 50 --max-qos 1 --ready-file "$TEST_DIR/ready-down" \
    >"$TEST_DIR/sub-down.out" 2>&1 &
sub=$!
wait_for 10 test -e "$TEST_DIR/ready-down"
"$PY" "$PYDIR/pub_numbered.py" --port "$NODE_PORT" --topic qos/down \
    --qos 2 --count 50 >/dev/null || fail "downgrade publisher"
wait "$sub" || fail "downgrade: $(cat "$TEST_DIR/sub-down.out")"

run_py t11_qos.py || fail "python cases"
pass
