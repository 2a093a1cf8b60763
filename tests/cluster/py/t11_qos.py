# SPDX-License-Identifier: MIT
"""Cases of 11-mqtt-qos.sh: QoS 0/1/2 both directions with the full
acknowledgement flows, QoS downgrade, exactly once with DUP, packet id
reuse, retry with DUP on reconnect, and the in-flight window (the node runs
with max_inflight_messages = 10)."""

import mqttraw as m
from tcase import case, check, eq, spec, uid, run, PORT

INFLIGHT = 10


def C(version=4, **kw):
    return m.Client(PORT, version, **kw)


def _matrix(version):
    n = 10
    for sq in (0, 1, 2):
        topic = uid('qos')
        s = C(version)
        s.connect(uid('s'))
        sa = s.subscribe((topic, sq))
        eq(sa.codes, [sq], 'granted QoS')
        p = C(version)
        p.connect(uid('p'))
        for pq in (0, 1, 2):
            for i in range(n):
                a = p.publish(topic, '%d:%d' % (pq, i), qos=pq)
                if pq:
                    check(a.rc in (0, 0x10), 'ack rc %r' % a)
            got = s.wait_publishes(n)
            eq([g.payload.decode() for g in got],
               ['%d:%d' % (pq, i) for i in range(n)],
               'v%d pub QoS %d sub QoS %d: payloads' % (version, pq, sq))
            for g in got:
                eq(g.qos, min(pq, sq), 'delivered QoS (pub %d, sub %d)'
                   % (pq, sq))
                eq(g.dup, 0, 'DUP on first delivery')
                check((g.pid is None) == (g.qos == 0), 'packet id')
        check(not s.publishes(0.2), 'extra messages')
        s.disconnect()
        p.disconnect()


@case
def qos_matrix_v311():
    _matrix(4)


@case
def qos_matrix_v5():
    _matrix(5)


@case
def qos2_flow_to_subscriber():
    # Subscriber side of QoS 2 by hand: PUBLISH, PUBREC, PUBREL, PUBCOMP.
    for v in (4, 5):
        topic = uid('q2')
        s = C(v, auto_ack=False)
        s.connect(uid('s'))
        s.subscribe((topic, 2))
        p = C(v)
        p.connect(uid('p'))
        p.publish(topic, b'x', qos=2)
        pub = s.wait(m.PUBLISH)
        eq(pub.qos, 2, 'QoS')
        s.send(m.ack(m.PUBREC, pub.pid, version=v))
        rel = s.wait(m.PUBREL)
        eq(rel.pid, pub.pid, 'PUBREL packet id')
        eq(rel.flags, 2, 'PUBREL flags')
        s.send(m.ack(m.PUBCOMP, pub.pid, version=v))
        check(not s.publishes(0.3), 'message delivered again after PUBCOMP')
        s.disconnect()
        p.disconnect()


@case
def qos2_exactly_once_with_dup():
    # A publisher resending a QoS 2 PUBLISH (DUP) before PUBREL must not
    # cause a second delivery; the packet id is free again after PUBCOMP.
    for v in (4, 5):
        topic = uid('eo')
        s = C(v)
        s.connect(uid('s'))
        s.subscribe((topic, 2))
        p = C(v)
        p.connect(uid('p'))
        p.send(m.publish(topic, b'once', 2, pid=7, version=v))
        r1 = p.wait(m.PUBREC)
        p.send(m.publish(topic, b'once', 2, dup=True, pid=7, version=v))
        r2 = p.wait(m.PUBREC)
        eq((r1.pid, r2.pid), (7, 7), 'PUBREC packet ids')
        p.send(m.ack(m.PUBREL, 7, version=v))
        eq(p.wait(m.PUBCOMP).pid, 7, 'PUBCOMP packet id')
        got = s.collect(1, 0.5)
        eq([g.payload for g in got], [b'once'], 'deliveries of one QoS 2')
        # Reuse of packet id 7 for a new message.
        p.send(m.publish(topic, b'again', 2, pid=7, version=v))
        p.wait(m.PUBREC)
        p.send(m.ack(m.PUBREL, 7, version=v))
        p.wait(m.PUBCOMP)
        eq(s.wait(m.PUBLISH).payload, b'again', 'reused packet id')
        s.disconnect()
        p.disconnect()


@case
def qos1_puback_ids_interleaved():
    # Several QoS 1 in flight at once; each PUBACK names its packet id.
    topic = uid('il')
    p = C(4)
    p.connect(uid('p'))
    for pid in (5, 6, 7, 300, 65535):
        p.send(m.publish(topic, b'x', 1, pid=pid))
    acks = sorted(p.wait(m.PUBACK).pid for _ in range(5))
    eq(acks, [5, 6, 7, 300, 65535], 'PUBACK ids')
    p.disconnect()


def _session(v, cid, clean):
    c = C(v, auto_ack=False)
    c.connect(cid, clean=clean,
              prop={'session_expiry': 60} if v == 5 else None)
    return c


@case
def redeliver_unacked_with_dup():
    # A subscriber that does not acknowledge, then reconnects with its
    # session, gets the same messages again with DUP set, in order.
    for v in (4, 5):
        for qos in (1, 2):
            cid, topic = uid('dup'), uid('t')
            s = _session(v, cid, v == 5)
            s.subscribe((topic, qos))
            p = C(v)
            p.connect(uid('p'))
            for i in range(3):
                p.publish(topic, 'm%d' % i, qos=qos)
            first = s.wait_publishes(3)
            s.close()
            s = _session(v, cid, False)
            again = s.wait_publishes(3)
            eq([a.payload for a in again], [f.payload for f in first],
               'v%d QoS %d redelivered payloads' % (v, qos))
            for a, f in zip(again, first):
                eq(a.dup, 1, 'DUP on redelivery')
                eq(a.qos, qos, 'QoS on redelivery')
                eq(a.pid, f.pid, 'packet id on redelivery')
            for a in again:
                s.send(m.ack(m.PUBACK if qos == 1 else m.PUBREC, a.pid,
                             version=v))
            if qos == 2:
                for a in again:
                    eq(s.wait(m.PUBREL).pid, a.pid, 'PUBREL')
                    s.send(m.ack(m.PUBCOMP, a.pid, version=v))
            check(not s.publishes(0.3), 'redelivered once more')
            s.disconnect()
            s = _session(v, cid, False)
            check(not s.publishes(0.5), 'acknowledged messages came back')
            s.disconnect()
            p.disconnect()


@case
def resend_pubrel_on_reconnect():
    # QoS 2 to a subscriber that sent PUBREC but not PUBCOMP: after the
    # reconnect the server sends PUBREL again, not the PUBLISH.
    for v in (4, 5):
        cid, topic = uid('rel'), uid('t')
        s = _session(v, cid, v == 5)
        s.subscribe((topic, 2))
        p = C(v)
        p.connect(uid('p'))
        p.publish(topic, b'q2', qos=2)
        pub = s.wait(m.PUBLISH)
        s.send(m.ack(m.PUBREC, pub.pid, version=v))
        s.wait(m.PUBREL)
        s.close()
        s = _session(v, cid, False)
        rel = s.wait(m.PUBREL)
        eq(rel.pid, pub.pid, 'v%d PUBREL packet id after reconnect' % v)
        check(not any(x.type == m.PUBLISH for x in s.poll(0.3)),
              'PUBLISH resent after PUBREC')
        s.send(m.ack(m.PUBCOMP, rel.pid, version=v))
        s.disconnect()
        p.disconnect()


@case
def inflight_window():
    # At most max_inflight_messages unacknowledged QoS 1 to a client;
    # each PUBACK lets the next one out, in order.
    topic = uid('win')
    s = C(4, auto_ack=False)
    s.connect(uid('s'))
    s.subscribe((topic, 1))
    p = C(4)
    p.connect(uid('p'))
    total = INFLIGHT + 5
    for i in range(total):
        p.publish(topic, str(i), qos=1)
    got = s.collect(INFLIGHT, 0.5)
    eq(len(got), INFLIGHT, 'unacknowledged messages in flight')
    seen = [g.payload for g in got]
    for g in got[:5]:
        s.send(m.ack(m.PUBACK, g.pid))
    more = s.collect(5, 0.5)
    eq(len(more), 5, 'released by 5 PUBACKs')
    seen += [g.payload for g in more]
    eq(seen, [str(i).encode() for i in range(total)], 'order')
    s.disconnect()
    p.disconnect()


@case
def qos2_burst_beyond_window_v311():
    # 3.1.1 has no receive maximum: 30 QoS 2 publishes in flight at once
    # (more than max_inflight_messages) must all be delivered.
    topic = uid('burst')
    s = C(4)
    s.connect(uid('s'))
    s.subscribe((topic, 2))
    p = C(4)
    p.connect(uid('p'))
    n = 3 * INFLIGHT
    for i in range(1, n + 1):
        p.send(m.publish(topic, str(i), 2, pid=i))
    recs = [p.wait(m.PUBREC) for _ in range(n)]
    for r in recs:
        p.send(m.ack(m.PUBREL, r.pid))
    for _ in range(n):
        p.wait(m.PUBCOMP)
    got = [g.payload for g in s.collect(n, 0.3)]
    spec(got == [str(i).encode() for i in range(1, n + 1)],
         '%d of %d QoS 2 delivered beyond the in-flight window'
         % (len(got), n),
         'mosquitto acknowledges and drops QoS 2 beyond its window')
    s.disconnect()
    p.disconnect()


@case
def qos_downgrade_retained_and_v5_max_qos():
    # A retained QoS 2 message is sent at the subscription's QoS.
    for v in (4, 5):
        topic = uid('rq')
        p = C(v)
        ca = p.connect(uid('p'))
        p.publish(topic, b'r', qos=2, retain=True)
        for sq in (0, 1, 2):
            s = C(v)
            s.connect(uid('s'))
            s.subscribe((topic, sq))
            g = s.wait(m.PUBLISH)
            eq((g.qos, g.retain), (min(2, sq), 1), 'retained at sub QoS')
            s.disconnect()
        p.publish(topic, b'', qos=1, retain=True)
        if v == 5:
            mq = ca.props.get('maximum_qos', 2)
            spec(mq == 2, 'CONNACK Maximum QoS %r' % mq)
        p.disconnect()


if __name__ == '__main__':
    run()
