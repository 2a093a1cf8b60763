#!/bin/bash
# SPDX-License-Identifier: MIT
# Offline queueing for persistent sessions: counted, in order, exactly once
# for QoS 2, queued before newer; max_offline_messages drops the excess.
. "$(dirname "$0")/lib.sh"

start_node limited "max_offline_messages = 10"
export LIMITED_PORT=$NODE_PORT
start_node a

# paho: a persistent subscriber goes away, 300 messages per QoS are
# published, it comes back and gets all of them in order.
for v in 4 5; do
	for q in 1 2; do
		cid=off-$v-$q
		"$PY" "$PYDIR/sub_count.py" --port "$NODE_PORT" --topic "off/$v/$q" \
		    --qos $q --version $v --persistent --client-id "$cid" \
		    --expect 0 >/dev/null || fail "v$v QoS $q: subscribe"
		"$PY" "$PYDIR/pub_numbered.py" --port "$NODE_PORT" \
		    --topic "off/$v/$q" --qos $q --count 300 --version $v \
		    >/dev/null || fail "v$v QoS $q: publish"
		r=$("$PY" "$PYDIR/sub_count.py" --port "$NODE_PORT" \
		    --topic "off/$v/$q" --qos $q --version $v --persistent \
		    --client-id "$cid" --expect 300 --timeout 30) ||
		    fail "v$v QoS $q: $r"
		log "v$v QoS $q offline: $r"
	done
done

run_py t15_offline.py || fail "python cases"
pass
