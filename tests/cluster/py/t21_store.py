# SPDX-License-Identifier: MIT
"""Cases of tests/cluster/21-store-restart.sh, in two halves around a
kill -9 (of mqttd or of the whole node), with raw clients (mqttraw):

  prepare --port P --state FILE   set things up, leave flows half done
  check   --port P --state FILE   after the restart: what must be there

Retained messages (set, replaced, deleted), inbound QoS 2 stopped after
PUBREC (the resent PUBLISH is not delivered again), outbound QoS 2 stopped
before PUBREC and after PUBREL (the PUBLISH comes again with DUP and its
packet id; the PUBREL comes again), a session that expires while the
node is down, one that does not, and a session's subscriptions."""

import json
import sys
import time

import mqttraw as m


def conn(port, cid, clean=False, version=4, expiry=None, auto_ack=True):
    c = m.Client(port, version, auto_ack=auto_ack)
    prop = None
    if version == 5 and expiry is not None:
        prop = {'session_expiry': expiry}
    ca = c.connect(cid, clean=clean, prop=prop)
    return c, ca


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def prepare(port, st):
    # Retained: r/1 set then replaced, r/2 set then deleted, r/3 QoS 0.
    p, _ = conn(port, 't21-pub', clean=True)
    p.publish('r/1', b'old', qos=1, retain=True)
    p.publish('r/1', b'new', qos=1, retain=True)
    p.publish('r/2', b'gone', qos=1, retain=True)
    p.publish('r/2', b'', qos=1, retain=True)
    p.publish('r/3', b'zero', qos=0, retain=True)

    # A barrier: a QoS 1 PUBLISH to a persistent session is acknowledged
    # once stored, and storaged applies requests in order, so its PUBACK
    # (at the end) means everything before is on disk.
    b, _ = conn(port, 't21-barrier')
    b.subscribe(('b/#', 1))
    b.disconnect()

    # Subscribers that will be offline: a 3.1.1 persistent one on q2/#
    # and s/#, a 5.0 one expiring after 2 s, a 5.0 one after 1 h.
    s, _ = conn(port, 't21-sub')
    s.subscribe(('q2/#', 2), ('s/#', 1))
    s.disconnect()
    e, _ = conn(port, 't21-exp', version=5, expiry=2)
    e.subscribe(('s/#', 1))
    e.disconnect()
    k, _ = conn(port, 't21-keep', version=5, expiry=3600)
    k.subscribe(('s/#', 1))
    k.disconnect()
    st['disconnected_at'] = time.time()
    for i in range(3):
        p.publish('s/%d' % i, b'queued-%d' % i, qos=1)

    # Inbound QoS 2: PUBREC received, no PUBREL; then the connection
    # drops (no DISCONNECT).
    q, _ = conn(port, 't21-q2in')
    q.send(m.publish('q2/in', b'once', qos=2, pid=7))
    rec = q.wait(lambda x: x.type == m.PUBREC and x.pid == 7, what='PUBREC')
    check(rec.rc == 0, 'PUBREC rc %r' % rec.rc)
    q.close()

    # Outbound QoS 2, two flows stopped at different points: o1 gets the
    # PUBLISH and never answers; o2 answers PUBREC, gets PUBREL, and
    # never sends PUBCOMP.
    o1, _ = conn(port, 't21-o1', auto_ack=False)
    o1.subscribe(('q2/out1', 2))
    o2, _ = conn(port, 't21-o2', auto_ack=False)
    o2.subscribe(('q2/out2', 2))
    p.publish('q2/out1', b'out1', qos=2)
    p.publish('q2/out2', b'out2', qos=2)
    pub1 = o1.wait(m.PUBLISH)
    pub2 = o2.wait(m.PUBLISH)
    o2.send(m.ack(m.PUBREC, pub2.pid))
    rel = o2.wait(lambda x: x.type == m.PUBREL and x.pid == pub2.pid,
                  what='PUBREL')
    st['o1_pid'] = pub1.pid
    st['o2_pid'] = rel.pid
    o1.close()
    o2.close()
    p.publish('b/1', b'barrier', qos=1)
    p.disconnect()
    print('prepare: done; o1 pid %d, o2 pid %d' % (pub1.pid, pub2.pid))


def check_after(port, st):
    errors = []

    def ok(cond, what):
        if not cond:
            errors.append(what)

    # Retained.
    c, _ = conn(port, 't21-ret', clean=True)
    c.subscribe(('r/#', 1))
    got = {x.topic: (bytes(x.payload), x.retain) for x in c.collect(2, 0.5)}
    ok(got.get('r/1') == (b'new', 1), 'retained r/1: %r' % (got.get('r/1'),))
    ok('r/2' not in got, 'deleted retained r/2 came back')
    ok(got.get('r/3') == (b'zero', 1), 'retained QoS 0 r/3: %r'
       % (got.get('r/3'),))
    c.disconnect()

    # Inbound QoS 2 continues: the PUBLISH again (DUP) is not a new
    # message; PUBREL completes it.
    q, ca = conn(port, 't21-q2in')
    ok(ca.session_present == 1, 't21-q2in: session not present')
    q.send(m.publish('q2/in', b'once', qos=2, pid=7, dup=True))
    rec = q.wait(lambda x: x.type == m.PUBREC and x.pid == 7, what='PUBREC')
    q.send(m.ack(m.PUBREL, 7))
    q.wait(lambda x: x.type == m.PUBCOMP and x.pid == 7, what='PUBCOMP')
    q.disconnect()

    # The persistent 3.1.1 subscriber: the three queued, in order, and
    # the QoS 2 message once.
    s, ca = conn(port, 't21-sub')
    ok(ca.session_present == 1, 't21-sub: session not present')
    pubs = s.collect(4, 0.8)
    q1 = [bytes(x.payload) for x in pubs if x.topic.startswith('s/')]
    ok(q1 == [b'queued-0', b'queued-1', b'queued-2'],
       't21-sub queued: %r' % q1)
    once = [x for x in pubs if x.topic == 'q2/in']
    ok(len(once) == 1, 'QoS 2 message delivered %d times' % len(once))
    s.disconnect()

    # Expired while the node was down (2 s), and the one that was not.
    left = st['disconnected_at'] + 2.5 - time.time()
    if left > 0:
        time.sleep(left)        # the expiry is time: wait it out
    e, ca = conn(port, 't21-exp', version=5, expiry=2)
    ok(ca.session_present == 0, 't21-exp: expired session still present')
    ok(not e.collect(1, 0, timeout=0.5),
       't21-exp: expired session kept messages')
    e.disconnect()
    k, ca = conn(port, 't21-keep', version=5, expiry=3600)
    ok(ca.session_present == 1, 't21-keep: session lost')
    q1 = [bytes(x.payload) for x in k.collect(3, 0.3)]
    ok(q1 == [b'queued-0', b'queued-1', b'queued-2'],
       't21-keep queued: %r' % q1)
    k.disconnect()

    # Outbound QoS 2: o1 gets the PUBLISH again with DUP and its packet
    # id; o2 gets the PUBREL again and no PUBLISH.
    o1, ca = conn(port, 't21-o1', auto_ack=False)
    ok(ca.session_present == 1, 't21-o1: session not present')
    p1 = o1.wait(m.PUBLISH)
    ok(p1.dup == 1 and p1.pid == st['o1_pid'] and
       bytes(p1.payload) == b'out1',
       'o1: PUBLISH again: dup %d pid %r (want %r) %r'
       % (p1.dup, p1.pid, st['o1_pid'], p1.payload))
    o1.send(m.ack(m.PUBREC, p1.pid))
    o1.wait(lambda x: x.type == m.PUBREL and x.pid == p1.pid,
            what='PUBREL')
    o1.send(m.ack(m.PUBCOMP, p1.pid))
    o2, ca = conn(port, 't21-o2', auto_ack=False)
    ok(ca.session_present == 1, 't21-o2: session not present')
    rel = o2.wait(m.PUBREL)
    ok(rel.pid == st['o2_pid'], 'o2: PUBREL pid %r, want %r'
       % (rel.pid, st['o2_pid']))
    o2.send(m.ack(m.PUBCOMP, rel.pid))
    extra = o2.collect(1, 0, timeout=0.5)
    ok(not extra, 'o2: got %r after PUBREL' % extra)
    o1.disconnect()
    o2.disconnect()

    for x in errors:
        print('FAIL: %s' % x)
    print('check: %d problems' % len(errors))
    return 1 if errors else 0


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument('phase', choices=('prepare', 'check'))
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--state', required=True)
    a = ap.parse_args()
    if a.phase == 'prepare':
        st = {}
        prepare(a.port, st)
        with open(a.state, 'w') as f:
            json.dump(st, f)
        return 0
    with open(a.state) as f:
        st = json.load(f)
    return check_after(a.port, st)


if __name__ == '__main__':
    sys.exit(main())
