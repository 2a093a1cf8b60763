# SPDX-License-Identifier: MIT
"""Publish numbered messages "PUBID:SEQ" (SEQ from 1) with paho-mqtt and
wait until every one is acknowledged (QoS 1/2) or sent (QoS 0)."""

import argparse
import sys
import time

import paho.mqtt.client as mqtt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--topic', required=True)
    ap.add_argument('--qos', type=int, default=1)
    ap.add_argument('--count', type=int, default=100)
    ap.add_argument('--start', type=int, default=1)
    ap.add_argument('--id', default='p1', help='publisher id in payload')
    ap.add_argument('--version', type=int, default=4, choices=(3, 4, 5))
    ap.add_argument('--rate', type=float, default=0,
                    help='messages per second (0: as fast as acked)')
    ap.add_argument('--retain', action='store_true')
    ap.add_argument('--inflight', type=int, default=10,
                    help='QoS 1/2 messages in flight (<= the broker window)')
    ap.add_argument('--timeout', type=float, default=60)
    a = ap.parse_args()

    proto = {3: mqtt.MQTTv31, 4: mqtt.MQTTv311, 5: mqtt.MQTTv5}[a.version]
    c = mqtt.Client(client_id='pub-%s-%d' % (a.id, time.time_ns() % 10**9),
                    protocol=proto)
    c.max_inflight_messages_set(a.inflight)
    lost = []
    c.on_disconnect = lambda cl, ud, rc, props=None: lost.append(rc)
    c.connect('127.0.0.1', a.port, keepalive=30)
    c.loop_start()
    deadline = time.monotonic() + a.timeout
    infos = []
    t0 = time.monotonic()
    for i in range(a.start, a.start + a.count):
        if a.rate:
            due = t0 + (i - a.start) / a.rate
            while time.monotonic() < due:
                time.sleep(max(0.0, min(0.01, due - time.monotonic())))
        infos.append(c.publish(a.topic, '%s:%d' % (a.id, i), a.qos,
                               a.retain))
    for info in infos:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        info.wait_for_publish(left)
    done = sum(1 for i in infos if i.is_published())
    if lost:
        print('pub %s: disconnected by the broker (rc %r)' % (a.id, lost))
        done = -1
    c.disconnect()
    c.loop_stop()
    print('pub %s: %d/%d published at QoS %d on %s'
          % (a.id, done, a.count, a.qos, a.topic))
    sys.exit(0 if done == a.count else 1)


if __name__ == '__main__':
    main()
