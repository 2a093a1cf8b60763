# SPDX-License-Identifier: MIT
"""Clients of the durability tests (tests/cluster/3N-store-*.sh).

  setup  --port P --client-id S --topic T:Q ...
         create a persistent session subscribed to each topic T at QoS Q,
         then leave (the subscriber is offline from then on)
  pub    --port P --topic T --qos Q --count N --acked FILE ...
         publish "ID:SEQ" (SEQ from --start) with one paho client that
         reconnects (same client id, persistent session) whenever the
         broker goes away, resending what was not acknowledged; appends
         each acknowledged SEQ to FILE (PUBACK for QoS 1, PUBCOMP for
         QoS 2) as soon as it is; exits 0 once all N are acknowledged
  drain  --port P --client-id S --topic T:Q:ACKED_FILE ...
         reconnect the persistent session and receive until every SEQ in
         each ACKED_FILE arrived, then 1 s more; checks: nothing acked is
         missing, first arrivals are in publish order, QoS 2 topics have
         no duplicate at all; prints a summary, exits 0 if all hold
"""

import argparse
import os
import sys
import time

import paho.mqtt.client as mqtt


def proto(v):
    return {3: mqtt.MQTTv31, 4: mqtt.MQTTv311, 5: mqtt.MQTTv5}[v]


def new_client(a, client_id, clean):
    if a.version == 5:
        c = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv5)
    else:
        c = mqtt.Client(client_id=client_id, protocol=proto(a.version),
                        clean_session=clean)
    return c


def do_connect(a, c, clean):
    if a.version == 5:
        from paho.mqtt.properties import Properties
        from paho.mqtt.packettypes import PacketTypes
        p = Properties(PacketTypes.CONNECT)
        if not clean:
            p.SessionExpiryInterval = 3600
        c.connect('127.0.0.1', a.port, keepalive=30, clean_start=clean,
                  properties=p)
    else:
        c.connect('127.0.0.1', a.port, keepalive=30)


def cmd_setup(a):
    c = new_client(a, a.client_id, False)
    done = []
    subs = []
    for t in a.topic:
        name, qos = t.rsplit(':', 1)
        subs.append((name, int(qos)))
    c.on_connect = lambda cl, ud, fl, rc, pr=None: cl.subscribe(subs)
    c.on_subscribe = lambda cl, ud, mid, granted, pr=None: done.append(1)
    do_connect(a, c, False)
    c.loop_start()
    end = time.monotonic() + a.timeout
    while not done and time.monotonic() < end:
        time.sleep(0.02)
    c.disconnect()
    c.loop_stop()
    print('setup %s: %s' % (a.client_id, 'subscribed' if done else
                            'no SUBACK'))
    return 0 if done else 1


def fix_paho(c):
    """Two bugs of paho-mqtt 1.6 that break MQTT's own guarantees, fixed
    here so that the tests measure the broker:
    - every failed reconnect attempt runs _messages_reconnect_reset_out()
      again, and the second run turns a QoS 2 message that was waiting
      for PUBCOMP (PUBREL to resend) into a new PUBLISH with DUP 0: the
      broker then rightly takes it for a new message ([MQTT-4.3.3-2]);
    - publish() may send a new message on a fresh connection before the
      CONNACK handler has resent the older ones ([MQTT-4.6.0-1]): see
      the `ready` gate in cmd_pub()."""
    orig = c._messages_reconnect_reset_out

    def reset_out():
        with c._out_message_mutex:
            rel = [m for m in c._out_messages.values()
                   if m.state == mqtt.mqtt_ms_resend_pubrel]
        orig()
        with c._out_message_mutex:
            for m in rel:
                m.state = mqtt.mqtt_ms_resend_pubrel
    c._messages_reconnect_reset_out = reset_out


def cmd_pub(a):
    cid = a.client_id or 'pub-%s-%d' % (a.id, os.getpid())
    c = new_client(a, cid, False)
    fix_paho(c)
    c.max_inflight_messages_set(a.inflight)
    c.max_queued_messages_set(0)
    c.reconnect_delay_set(0.05, 0.5)
    mids = {}
    acked = set()
    out = open(a.acked, 'a', buffering=1)
    state = {'conns': 0, 'drops': 0}

    def on_publish(cl, ud, mid):
        seq = mids.pop(mid, None)
        if seq is not None and seq not in acked:
            acked.add(seq)
            out.write('%d\n' % seq)

    def on_connect(cl, ud, fl, rc, pr=None):
        if rc == 0:
            state['conns'] += 1
            state['up_at'] = time.monotonic()

    def on_disconnect(cl, ud, rc, pr=None):
        state['up_at'] = None
        if not state.get('stopping'):
            state['drops'] += 1

    def ready():
        # Connected, and paho's resends after CONNACK (which run right
        # after on_connect) are out.
        t = state.get('up_at')
        return t is not None and time.monotonic() - t > 0.05

    c.on_publish = on_publish
    c.on_connect = on_connect
    c.on_disconnect = on_disconnect
    if os.environ.get('STORE_PAHO_LOG'):
        plog = open('%s.%s' % (os.environ['STORE_PAHO_LOG'], a.id), 'a',
                    buffering=1)
        c.on_log = lambda cl, ud, lvl, buf: plog.write(
            '%.3f %s\n' % (time.time(), buf))
    end = time.monotonic() + a.timeout
    while True:
        try:
            do_connect(a, c, False)
            break
        except OSError:
            if time.monotonic() > end:
                print('pub: cannot connect')
                return 1
            time.sleep(0.1)
    c.loop_start()
    t0 = time.monotonic()
    for i in range(a.count):
        seq = a.start + i
        if a.rate:
            due = t0 + i / a.rate
            while time.monotonic() < due:
                time.sleep(min(0.01, due - time.monotonic()))
        # Keep the window bounded; publish only when connected.
        while (len(mids) >= a.inflight or not ready()) and \
                time.monotonic() < end:
            time.sleep(0.005)
        info = c.publish(a.topic, '%s:%d' % (a.id, seq), a.qos)
        mids[info.mid] = seq
        if info.rc == mqtt.MQTT_ERR_SUCCESS or \
                info.rc == mqtt.MQTT_ERR_NO_CONN:
            continue
        print('pub: publish rc %d' % info.rc)
    while len(acked) < a.count and time.monotonic() < end:
        time.sleep(0.02)
    state['stopping'] = True
    c.disconnect()
    c.loop_stop()
    out.close()
    print('pub %s: %d/%d acknowledged at QoS %d, %d connections, '
          '%d lost' % (a.id, len(acked), a.count, a.qos, state['conns'],
                       state['drops']))
    return 0 if len(acked) == a.count else 1


def read_acked(path):
    if not os.path.exists(path):
        return set()
    with open(path) as f:
        return set(int(x) for x in f.read().split())


def cmd_drain(a):
    topics = {}
    for t in a.topic:
        name, qos, path = t.rsplit(':', 2)
        topics[name] = {'qos': int(qos), 'want': read_acked(path),
                        'got': [], 'seen': set()}
    c = new_client(a, a.client_id, False)
    errors = []
    present = []

    def on_connect(cl, ud, fl, rc, pr=None):
        sp = fl.get('session present') if isinstance(fl, dict) else None
        present.append(sp)
        if rc != 0:
            errors.append('connect rc %s' % rc)

    def on_message(cl, ud, msg):
        t = topics.get(msg.topic)
        if t is None:
            errors.append('message on %s' % msg.topic)
            return
        try:
            seq = int(msg.payload.decode().rsplit(':', 1)[1])
        except (ValueError, IndexError):
            errors.append('bad payload %r' % msg.payload)
            return
        t['got'].append(seq)

    c.on_connect = on_connect
    c.on_message = on_message
    if os.environ.get('STORE_PAHO_LOG'):
        plog = open('%s.drain' % os.environ['STORE_PAHO_LOG'], 'a',
                    buffering=1)
        c.on_log = lambda cl, ud, lvl, buf: plog.write(
            '%.3f %s\n' % (time.time(), buf))
    do_connect(a, c, False)
    c.loop_start()
    end = time.monotonic() + a.timeout
    quiet_from = None
    while time.monotonic() < end:
        if all(t['want'] <= set(t['got']) for t in topics.values()):
            if quiet_from is None:
                quiet_from = time.monotonic()
            elif time.monotonic() - quiet_from > 1.0:
                break
        time.sleep(0.02)
    c.disconnect()
    c.loop_stop()
    ok = not errors and present and present[0] in (1, True, None)
    if present and present[0] in (0, False):
        errors.append('session not present')
    for name, t in sorted(topics.items()):
        got = t['got']
        missing = sorted(t['want'] - set(got))
        firsts = []
        seen = set()
        dups = 0
        duplist = []
        for s in got:
            if s in seen:
                dups += 1
                duplist.append(s)
            else:
                seen.add(s)
                firsts.append(s)
        disorder = [(x, y) for x, y in zip(firsts, firsts[1:]) if y < x]
        print('drain %s (QoS %d): %d acked, %d received, %d missing %s, '
              '%d duplicates %s, %d out of order %s'
              % (name, t['qos'], len(t['want']), len(got), len(missing),
                 missing[:10], dups, duplist[:10], len(disorder),
                 disorder[:5]))
        if missing or disorder or (t['qos'] == 2 and dups):
            ok = False
    if errors:
        print('errors: %s' % errors[:5])
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('cmd', choices=('setup', 'pub', 'drain'))
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--version', type=int, default=4, choices=(3, 4, 5))
    ap.add_argument('--client-id', default='')
    ap.add_argument('--topic', action='append', default=[])
    ap.add_argument('--qos', type=int, default=1)
    ap.add_argument('--count', type=int, default=100)
    ap.add_argument('--start', type=int, default=1)
    ap.add_argument('--id', default='p1')
    ap.add_argument('--rate', type=float, default=0)
    ap.add_argument('--inflight', type=int, default=20)
    ap.add_argument('--acked', default='')
    ap.add_argument('--timeout', type=float, default=60)
    a = ap.parse_args()
    if a.cmd == 'pub':
        a.topic = a.topic[0]
        return cmd_pub(a)
    return {'setup': cmd_setup, 'drain': cmd_drain}[a.cmd](a)


if __name__ == '__main__':
    sys.exit(main())
