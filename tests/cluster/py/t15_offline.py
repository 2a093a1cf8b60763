# SPDX-License-Identifier: MIT
"""Cases of 15-mqtt-offline.sh: persistent sessions queue QoS 1/2 messages
while offline and deliver them in order, exactly once for QoS 2; queued
messages come before newer ones; max_offline_messages drops the excess.
NODE_PORT has no limit; LIMITED_PORT runs max_offline_messages = 10."""

import os
import threading
import time

import mqttraw as m
from tcase import case, check, eq, spec, uid, run, PORT

LIMITED_PORT = int(os.environ.get('LIMITED_PORT', '0'))
LIMIT = 10


def _persist(port, v, cid, clean, **kw):
    c = m.Client(port, v, **kw)
    ca = c.connect(cid, clean=clean,
                   prop={'session_expiry': 300} if v == 5 else None)
    return c, ca


def _offline_queue(v, qos, n=200, port=PORT):
    cid, topic = uid('off'), uid('t')
    s, _ = _persist(port, v, cid, v == 5)
    s.subscribe((topic, qos))
    s.disconnect()
    p = m.Client(port, v)
    p.connect(uid('p'))
    for i in range(1, n + 1):
        p.publish(topic, str(i), qos=qos)
    p.publish(topic, b'q0', qos=0)
    s, ca = _persist(port, v, cid, False)
    eq(ca.session_present, 1, 'session present')
    return s, p, topic


@case
def offline_qos1_and_qos2_in_order():
    for v in (4, 5):
        for qos in (1, 2):
            n = 200
            s, p, _ = _offline_queue(v, qos, n)
            got = [g for g in s.wait_publishes(n)]
            eq([g.payload for g in got],
               [str(i).encode() for i in range(1, n + 1)],
               'v%d QoS %d queued messages' % (v, qos))
            check(all(g.qos == qos for g in got), 'QoS kept')
            rest = [g.payload for g in s.publishes(0.4)]
            # Offline QoS 0 may be queued or dropped (3.1.1: MAY).
            check(rest in ([], [b'q0']), 'extra messages %r' % rest[:5])
            s.disconnect()
            p.disconnect()


@case
def queued_before_newer():
    # A publisher keeps going while the subscriber goes away and comes
    # back: it sees every number in order (a message in flight at the
    # disconnect may come again with DUP, nothing else repeats).
    v, qos, n = 4, 1, 400
    cid, topic = uid('qb'), uid('t')
    s, _ = _persist(PORT, v, cid, False)
    s.subscribe((topic, qos))
    p = m.Client(PORT, v)
    p.connect(uid('p'))
    done = threading.Event()

    def pub():
        for i in range(1, n + 1):
            p.publish(topic, str(i), qos=qos)
            if i % 20 == 0:
                time.sleep(0.01)
        done.set()

    th = threading.Thread(target=pub)
    th.start()
    seen = []
    try:
        while len(seen) < n // 4:
            seen.append(s.wait(m.PUBLISH))
        s.close()
        time.sleep(0.2)     # let the publisher queue some while offline
        s, ca = _persist(PORT, v, cid, False)
        eq(ca.session_present, 1, 'session present')
        while not seen or int(seen[-1].payload) < n:
            seen.append(s.wait(m.PUBLISH, timeout=10))
    finally:
        th.join()
    nums = [int(g.payload) for g in seen]
    out = []
    for g, x in zip(seen, nums):
        if out and x <= out[-1]:
            check(g.dup, 'repeat of %d without DUP' % x)
            continue
        out.append(x)
    eq(out, list(range(1, n + 1)), 'numbers in order')
    s.disconnect()
    p.disconnect()


@case
def offline_limit_drops_excess():
    check(LIMITED_PORT, 'LIMITED_PORT not set')
    for v in (4, 5):
        n = 3 * LIMIT
        s, p, _ = _offline_queue(v, 1, n, LIMITED_PORT)
        got = [int(g.payload) for g in s.collect(LIMIT, 1.0)]
        check(got == sorted(got) and len(set(got)) == len(got),
              'v%d order %r' % (v, got))
        # Mosquitto's max_queued_messages counts above its in-flight
        # window, so it keeps a few more than the limit.
        spec(len(got) == LIMIT, 'v%d kept %d messages of %d, limit %d'
             % (v, len(got), n, LIMIT))
        check(LIMIT <= len(got) < n, 'v%d kept %d of %d' % (v, len(got), n))
        s.disconnect()
        p.disconnect()


@case
def queue_ends_with_session():
    cid, topic = uid('qe'), uid('t')
    s, _ = _persist(PORT, 4, cid, False)
    s.subscribe((topic, 1))
    s.disconnect()
    p = m.Client(PORT, 4)
    p.connect(uid('p'))
    for i in range(5):
        p.publish(topic, str(i), qos=1)
    s = m.Client(PORT, 4)
    eq(s.connect(cid, clean=True).session_present, 0, 'clean session')
    check(not s.publishes(0.5), 'queue of a discarded session delivered')
    s.disconnect()
    p.disconnect()


if __name__ == '__main__':
    run()
