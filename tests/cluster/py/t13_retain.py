# SPDX-License-Identifier: MIT
"""Cases of 13-mqtt-retain.sh: retained messages set, replaced, deleted,
sent on subscribe (with wildcards, counted), the retain flag on live
delivery, 5.0 retain handling and retain as published."""

import mqttraw as m
from tcase import case, check, eq, uid, run, PORT


def C(version=4, **kw):
    return m.Client(PORT, version, **kw)


def _sub_get(filt, version=4, opts=None, wait=0.5):
    s = C(version)
    s.connect(uid('s'))
    s.subscribe((filt, 1 if opts is None else opts))
    got = s.publishes(wait)
    s.disconnect()
    return got


@case
def set_replace_delete():
    for v in (4, 5):
        t = uid('r')
        p = C(v)
        p.connect(uid('p'))
        p.publish(t, b'first', qos=1, retain=True)
        got = _sub_get(t, v)
        eq([(g.payload, g.retain) for g in got], [(b'first', 1)], 'set')
        p.publish(t, b'second', qos=1, retain=True)
        got = _sub_get(t, v)
        eq([(g.payload, g.retain) for g in got], [(b'second', 1)],
           'replaced')
        # A non-retained publish does not replace it.
        p.publish(t, b'live', qos=1)
        eq([g.payload for g in _sub_get(t, v)], [b'second'],
           'after a non-retained publish')
        p.publish(t, b'', qos=1, retain=True)
        eq(_sub_get(t, v), [], 'deleted by empty payload')
        p.disconnect()


@case
def retained_qos0_also_kept():
    t = uid('r0')
    p = C(4)
    p.connect(uid('p'))
    p.publish(t, b'q0', qos=0, retain=True)
    p.ping()    # the QoS 0 publish is processed before the PINGRESP
    got = _sub_get(t)
    eq([(g.payload, g.qos, g.retain) for g in got], [(b'q0', 0, 1)],
       'QoS 0 retained')
    p.publish(t, b'', retain=True)
    p.disconnect()


@case
def wildcard_subscribe_gets_each_retained_once():
    root = uid('rw')
    p = C(4)
    p.connect(uid('p'))
    n = 100
    for i in range(n):
        p.publish('%s/%d/x' % (root, i), str(i), qos=1, retain=True)
    p.publish(root + '/other', b'o', qos=1, retain=True)
    s = C(4)
    s.connect(uid('s'))
    s.subscribe((root + '/+/x', 1))
    got = s.wait_publishes(n)
    eq(sorted(int(g.payload) for g in got), list(range(n)),
       'retained messages')
    check(all(g.retain == 1 for g in got), 'retain flag on subscribe')
    check(not s.publishes(0.3), 'extra messages')
    s.disconnect()
    for i in range(n):
        p.publish('%s/%d/x' % (root, i), b'', qos=1, retain=True)
    p.publish(root + '/other', b'', qos=1, retain=True)
    eq(_sub_get(root + '/#'), [], 'all deleted')
    p.disconnect()


@case
def live_delivery_retain_flag():
    # 3.1.1 [MQTT-3.3.1-9]: retain 0 when sent to an existing
    # subscription; also for the empty retained message deleting it.
    t = uid('rl')
    s = C(4)
    s.connect(uid('s'))
    s.subscribe((t, 1))
    p = C(4)
    p.connect(uid('p'))
    p.publish(t, b'live', qos=1, retain=True)
    p.publish(t, b'', qos=1, retain=True)
    got = s.wait_publishes(2)
    eq([(g.payload, g.retain) for g in got], [(b'live', 0), (b'', 0)],
       'live deliveries')
    s.disconnect()
    p.disconnect()


@case
def retain_as_published_v5():
    t = uid('rap')
    s = C(5)
    s.connect(uid('s'))
    s.subscribe((t + '/rap', m.sub_opts(1, rap=True)),
                (t + '/norap', m.sub_opts(1)))
    p = C(5)
    p.connect(uid('p'))
    p.publish(t + '/rap', b'a', qos=1, retain=True)
    p.publish(t + '/norap', b'b', qos=1, retain=True)
    p.publish(t + '/rap', b'c', qos=1)
    got = s.wait_publishes(3)
    eq([(g.payload, g.retain) for g in got],
       [(b'a', 1), (b'b', 0), (b'c', 0)], 'retain flags')
    for x in ('/rap', '/norap'):
        p.publish(t + x, b'', qos=1, retain=True)
    s.disconnect()
    p.disconnect()


@case
def retain_handling_v5():
    t = uid('rh')
    p = C(5)
    p.connect(uid('p'))
    p.publish(t, b'kept', qos=1, retain=True)
    s = C(5)
    s.connect(uid('s'))
    # 0: sent at every subscribe.
    s.subscribe((t, m.sub_opts(1, rh=0)))
    eq([g.payload for g in s.collect(1)], [b'kept'], 'rh 0 first')
    s.subscribe((t, m.sub_opts(1, rh=0)))
    eq([g.payload for g in s.collect(1)], [b'kept'], 'rh 0 again')
    s.unsubscribe(t)
    # 1: only when the subscription is new.
    s.subscribe((t, m.sub_opts(1, rh=1)))
    eq([g.payload for g in s.collect(1)], [b'kept'], 'rh 1 new')
    s.subscribe((t, m.sub_opts(1, rh=1)))
    eq(s.publishes(0.4), [], 'rh 1 existing subscription')
    s.unsubscribe(t)
    # 2: never.
    s.subscribe((t, m.sub_opts(1, rh=2)))
    eq(s.publishes(0.4), [], 'rh 2')
    # Live messages still flow with rh 2.
    p.publish(t, b'live', qos=1)
    eq([g.payload for g in s.collect(1)], [b'live'], 'rh 2 live')
    p.publish(t, b'', qos=1, retain=True)
    s.disconnect()
    p.disconnect()


@case
def retain_handling_3_is_protocol_error_v5():
    s = C(5)
    s.connect(uid('s'))
    s.send(m.subscribe(1, [(uid('t'), 0x30 | 1)], 5))
    got = s.wait_closed()
    d = [x for x in got if x.type == m.DISCONNECT]
    check(not any(x.type == m.SUBACK and x.codes[0] < 0x80 for x in got),
          'retain handling 3 accepted: %r' % got)
    if d:
        check(d[0].rc in (0x81, 0x82), 'DISCONNECT rc 0x%02x' % d[0].rc)


@case
def retain_available_v5():
    c = C(5)
    ca = c.connect(uid('a'))
    eq(ca.props.get('retain_available', 1), 1, 'Retain Available')
    c.disconnect()


if __name__ == '__main__':
    run()
