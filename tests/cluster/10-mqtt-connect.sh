#!/bin/bash
# SPDX-License-Identifier: MIT
# CONNECT/CONNACK: return and reason codes, client id rules, assigned ids,
# keep alive at 1.5x, takeover (5.0: 0x8E), clean session / clean start,
# session expiry; real clients of MQTT 3.1, 3.1.1 and 5.0.
. "$(dirname "$0")/lib.sh"

start_node noanon "allow_anonymous = off"
export NOANON_PORT=$NODE_PORT
start_node a

# mosquitto_pub/sub of each protocol version: 20 counted QoS 1 messages.
for v in mqttv31 mqttv311 mqttv5; do
	out=$TEST_DIR/sub-$v.txt
	mqtt_sub_bg "$out" -d -V $v -i "sub-$v" -t "conn/$v" -q 1 -C 20
	sub=$SUB_PID
	wait_for 10 grep -q "received SUBACK" "$out"
	for i in $(seq 1 20); do
		mosquitto_pub -p "$NODE_PORT" -V $v -i "pub-$v" -t "conn/$v" \
		    -q 1 -m "$v:$i" || fail "$v: mosquitto_pub $i"
	done
	wait_for 10 sh -c "! kill -0 $sub"
	forget_pid "$sub"
	have=$(grep "^$v:" "$out" | tr '\n' ' ')
	want=$(seq 1 20 | sed "s/^/$v:/" | tr '\n' ' ')
	[ "$have" = "$want" ] || fail "$v: got: $have"
	log "$v: 20 messages in order"
done

run_py t10_connect.py || fail "python cases"
pass
