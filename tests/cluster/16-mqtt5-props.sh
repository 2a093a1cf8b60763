#!/bin/bash
# SPDX-License-Identifier: MIT
# MQTT 5.0 properties: message expiry, topic aliases both ways, user
# properties, payload format, content type, response topic, correlation
# data, subscription identifiers, receive maximum, maximum packet size, no
# local, server keep alive, reason codes.
. "$(dirname "$0")/lib.sh"

start_node a "max_keepalive = 30" "max_topic_alias = 10"

# Request/response with real clients: mosquitto_rr sends a request with a
# response topic and correlation data; a paho responder answers there.
"$PY" - "$NODE_PORT" >"$TEST_DIR/responder.out" 2>&1 <<'PYEOF' &
import sys, time
import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes
answered = [0]
def on_message(c, ud, msg):
    p = Properties(PacketTypes.PUBLISH)
    if hasattr(msg.properties, "CorrelationData"):
        p.CorrelationData = msg.properties.CorrelationData
    c.publish(msg.properties.ResponseTopic,
              b'answer:' + msg.payload, 1, properties=p)
    answered[0] += 1
def on_subscribe(c, ud, mid, rc, props):
    open(sys.argv[2] if len(sys.argv) > 2 else '/dev/null', 'w')
    print('ready', flush=True)
c = mqtt.Client('responder', protocol=mqtt.MQTTv5)
c.on_message = on_message
c.on_subscribe = on_subscribe
c.connect('127.0.0.1', int(sys.argv[1]))
c.subscribe('rr/request', 1)
c.loop_start()
end = time.monotonic() + 30
while answered[0] < 5 and time.monotonic() < end:
    time.sleep(0.05)
c.disconnect()
c.loop_stop()
sys.exit(0 if answered[0] == 5 else 1)
PYEOF
resp=$!
wait_for 10 grep -q ready "$TEST_DIR/responder.out"
for i in 1 2 3 4 5; do
	r=$(timeout 10 mosquitto_rr -p "$NODE_PORT" -t rr/request \
	    -e "rr/response/$i" -m "q$i" -q 1 -W 5 \
	    -D publish correlation-data "c$i") || fail "mosquitto_rr $i"
	[ "$r" = "answer:q$i" ] || fail "mosquitto_rr $i: got '$r'"
done
wait "$resp" || fail "responder: $(cat "$TEST_DIR/responder.out")"
log "5 request/response round trips"

run_py t16_props.py || fail "python cases"
pass
