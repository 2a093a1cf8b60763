# SPDX-License-Identifier: MIT
"""Subscribe with paho-mqtt and count numbered messages "PUBID:SEQ": every
publisher's sequence must arrive complete, in order and (unless --dups) once.
Writes READY_FILE once subscribed; exits 0 when --expect messages per
publisher have arrived from --publishers publishers, 1 on any error or at
the timeout."""

import argparse
import os
import sys
import time

import paho.mqtt.client as mqtt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--topic', action='append', required=True)
    ap.add_argument('--qos', type=int, default=1)
    ap.add_argument('--version', type=int, default=4, choices=(3, 4, 5))
    ap.add_argument('--expect', type=int, required=True,
                    help='messages per publisher')
    ap.add_argument('--start', type=int, default=1)
    ap.add_argument('--publishers', type=int, default=1)
    ap.add_argument('--client-id', default='')
    ap.add_argument('--persistent', action='store_true',
                    help='clean session 0 / session expiry 300')
    ap.add_argument('--dups', action='store_true',
                    help='allow repeated messages (QoS 1 reconnects)')
    ap.add_argument('--ready-file')
    ap.add_argument('--progress-file',
                    help='rewritten with the count every 10 messages')
    ap.add_argument('--max-qos', type=int, default=None,
                    help='fail if a message arrives above this QoS')
    ap.add_argument('--timeout', type=float, default=60)
    a = ap.parse_args()

    proto = {3: mqtt.MQTTv31, 4: mqtt.MQTTv311, 5: mqtt.MQTTv5}[a.version]
    kw = {}
    if a.version != 5:
        kw['clean_session'] = not a.persistent
    c = mqtt.Client(client_id=a.client_id or 'sub-%d' % os.getpid(),
                    protocol=proto, **kw)
    errors = []
    last = {}
    count = [0]
    subscribed = [False]

    def on_connect(cl, ud, flags, rc, props=None):
        if rc != 0:
            errors.append('connect rc %s' % rc)
            return
        cl.subscribe([(t, a.qos) for t in a.topic])

    def on_subscribe(cl, ud, mid, granted, props=None):
        for g in granted:
            g = getattr(g, 'value', g)
            if g >= 0x80:
                errors.append('subscribe refused: %r' % g)
        subscribed[0] = True
        if a.ready_file:
            open(a.ready_file, 'w').close()

    def on_message(cl, ud, msg):
        try:
            pub, seq = msg.payload.decode().rsplit(':', 1)
            seq = int(seq)
        except ValueError:
            errors.append('bad payload %r' % msg.payload)
            return
        if a.max_qos is not None and msg.qos > a.max_qos:
            errors.append('%s:%d at QoS %d > %d'
                          % (pub, seq, msg.qos, a.max_qos))
        prev = last.get(pub, a.start - 1)
        if seq == prev + 1:
            last[pub] = seq
            count[0] += 1
            if a.progress_file and count[0] % 10 == 0:
                with open(a.progress_file + '.tmp', 'w') as f:
                    f.write('%d\n' % count[0])
                os.rename(a.progress_file + '.tmp', a.progress_file)
        elif seq <= prev and a.dups:
            pass
        else:
            errors.append('%s: got %d after %d' % (pub, seq, prev))
            last[pub] = max(prev, seq)

    def on_disconnect(cl, ud, rc, props=None):
        if not stopping[0]:
            errors.append('disconnected by the broker (rc %s)' % rc)

    stopping = [False]
    c.on_disconnect = on_disconnect
    c.on_connect = on_connect
    c.on_subscribe = on_subscribe
    c.on_message = on_message
    if a.version == 5:
        from paho.mqtt.properties import Properties
        from paho.mqtt.packettypes import PacketTypes
        p = Properties(PacketTypes.CONNECT)
        if a.persistent:
            p.SessionExpiryInterval = 300
        c.connect('127.0.0.1', a.port, keepalive=30,
                  clean_start=not a.persistent, properties=p)
    else:
        c.connect('127.0.0.1', a.port, keepalive=30)
    c.loop_start()
    end = a.start - 1 + a.expect
    deadline = time.monotonic() + a.timeout
    while time.monotonic() < deadline and not errors:
        if a.expect == 0 and subscribed[0]:
            break       # only set up the (persistent) subscription
        if len(last) >= a.publishers and \
                all(v >= end for v in last.values()):
            break
        time.sleep(0.02)
    # Anything extra (a duplicate) shows up shortly after the last one.
    time.sleep(0.2)
    stopping[0] = True
    c.disconnect()
    c.loop_stop()
    print('sub: %d messages from %d publishers %s; errors: %s'
          % (count[0], len(last), dict(last), errors[:5] or 'none'))
    if a.expect == 0:
        sys.exit(0 if subscribed[0] and not errors else 1)
    ok = (not errors and len(last) >= a.publishers and
          all(v >= end for v in last.values()))
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
