# SPDX-License-Identifier: MIT
"""Cases of 16-mqtt5-props.sh: MQTT 5.0 properties and options.  The node
runs with max_keepalive = 30 and max_topic_alias = 10."""

import time

import mqttraw as m
from tcase import case, check, eq, spec, uid, run, PORT

SERVER_KA = 30


def C(**kw):
    return m.Client(PORT, 5, **kw)


def pair(props=None, **kw):
    """A subscriber and a publisher on a fresh topic."""
    t = uid('t')
    s = C(**kw)
    s.connect(uid('s'), prop=props)
    s.subscribe((t, 2))
    p = C()
    p.connect(uid('p'))
    return s, p, t


@case
def connack_properties():
    c = C()
    ca = c.connect(uid('c'))
    pr = ca.props
    check(pr.get('receive_maximum', 65535) >= 1, 'receive maximum')
    check(pr.get('maximum_qos', 2) in (0, 1, 2), 'maximum qos')
    check(pr.get('maximum_packet_size', 1) >= 1, 'maximum packet size')
    eq(pr.get('topic_alias_maximum', 0), 10, 'Topic Alias Maximum '
       '(max_topic_alias = 10)')
    c.disconnect()


@case
def message_expiry():
    cid, t = uid('me'), uid('t')
    s = C()
    s.connect(cid, prop={'session_expiry': 60})
    s.subscribe((t, 1))
    s.disconnect()
    p = C()
    p.connect(uid('p'))
    p.publish(t, b'short', qos=1, prop={'message_expiry': 1})
    p.publish(t, b'long', qos=1, prop={'message_expiry': 60})
    p.publish(t, b'none', qos=1)
    p.publish(t + '/r', b'ret', qos=1, retain=True,
              prop={'message_expiry': 1})
    time.sleep(2.2)     # the 1 s expiry passes while queued
    s = C()
    s.connect(cid, clean=False, prop={'session_expiry': 60})
    got = s.wait_publishes(2)
    eq([g.payload for g in got], [b'long', b'none'], 'expired dropped')
    left = got[0].props.get('message_expiry')
    check(left is not None and left <= 59,
          'expiry not lowered by the time queued: %r' % left)
    check('message_expiry' not in got[1].props, 'expiry added')
    check(not s.publishes(0.3), 'expired message delivered')
    # The expired retained message is gone too.
    s.subscribe((t + '/r', 1))
    check(not s.publishes(0.5), 'expired retained message delivered')
    s.disconnect()
    p.disconnect()


@case
def forwarded_properties():
    s, p, t = pair()
    pr = {'payload_format': 1, 'content_type': 'application/json',
          'response_topic': 'reply/' + t, 'correlation_data': b'\x00\xffid',
          'user_property': [('a', '1'), ('b', '2'), ('a', '3')]}
    for q in (0, 1, 2):
        p.publish(t, b'{"q": %d}' % q, qos=q, prop=pr)
        g = s.wait(m.PUBLISH)
        for k, v in pr.items():
            eq(g.props.get(k), v, 'QoS %d property %s' % (q, k))
    s.disconnect()
    p.disconnect()


@case
def topic_alias_client_to_server():
    s, p, t = pair()
    p.publish(t, b'1', qos=1, prop={'topic_alias': 1})
    p.publish('', b'2', qos=1, prop={'topic_alias': 1})
    p.publish(t + '/x', b'3', qos=1, prop={'topic_alias': 1})   # remap
    p.publish('', b'4', qos=1, prop={'topic_alias': 1})
    got = s.wait_publishes(2)
    eq([(g.topic, g.payload) for g in got], [(t, b'1'), (t, b'2')],
       'aliased publishes')
    s.subscribe((t + '/x', 1))
    p.publish('', b'5', qos=1, prop={'topic_alias': 1})
    eq(s.wait(m.PUBLISH).payload, b'5', 'remapped alias')
    s.disconnect()
    p.disconnect()


def _alias_error(prop, topic):
    c = C()
    c.connect(uid('c'))
    c.send(m.publish(topic, b'x', 1, pid=1, version=5, prop=prop))
    got = c.wait_closed()
    d = [x for x in got if x.type == m.DISCONNECT]
    check(not any(x.type == m.PUBACK and x.rc < 0x80 for x in got),
          'accepted: %r' % got)
    return d


@case
def topic_alias_errors():
    # Above the maximum: 0x94; 0 [MQTT-3.3.2-8]: 0x94 or 0x82; unknown
    # alias with an empty topic: 0x82 protocol error.
    for a, want in ((0, (0x94, 0x82)), (11, (0x94,))):
        d = _alias_error({'topic_alias': a}, uid('t'))
        spec(d and d[0].rc in want, 'alias %d: %r' % (a, d))
    d = _alias_error({'topic_alias': 5}, '')
    spec(d and d[0].rc == 0x82, 'unknown alias: %r' % d)


@case
def topic_alias_server_to_client():
    # The server may use aliases up to the client's maximum, never above;
    # with no maximum it sends none.  Tern uses them.
    s, p, t = pair(props={'topic_alias_maximum': 2})
    s.subscribe((t + '/#', 1))
    for i in range(6):
        p.publish('%s/%d' % (t, i % 3), str(i), qos=1)
    got = s.wait_publishes(6)
    eq([(g.topic, g.payload) for g in got],
       [('%s/%d' % (t, i % 3), str(i).encode()) for i in range(6)],
       'topics (aliases resolved)')
    used = [g.props['topic_alias'] for g in got if 'topic_alias' in g.props]
    check(all(1 <= a <= 2 for a in used), 'aliases %r above maximum 2'
          % used)
    spec(any(getattr(g, 'via_alias', False) for g in got),
         'server sent no PUBLISH with an alias and empty topic',
         'mosquitto 2.0.11 does not send topic aliases')
    s.disconnect()
    s2, p2, t2 = pair()
    for i in range(3):
        p2.publish(t2, b'x', qos=1)
    for g in s2.wait_publishes(3):
        check('topic_alias' not in g.props, 'alias to a client without '
              'Topic Alias Maximum')
    for c in (s2, p, p2):
        c.disconnect()


@case
def subscription_identifiers():
    t = uid('si')
    s = C()
    s.connect(uid('s'))
    s.subscribe((t + '/#', 1), prop={'subscription_id': 7})
    s.subscribe((t + '/+', 1), prop={'subscription_id': 268435455})
    s.subscribe((t + '/a/b', 1))
    p = C()
    p.connect(uid('p'))
    p.publish(t + '/a', b'1', qos=1)
    got = s.collect(1, 0.5)
    ids = sorted(i for g in got for i in g.props.get('subscription_id', []))
    eq(ids, [7, 268435455], 'subscription ids of t/a')
    p.publish(t + '/a/b', b'2', qos=1)
    got = s.collect(1, 0.5)
    ids = sorted(i for g in got for i in g.props.get('subscription_id', []))
    eq(ids, [7], 'ids of t/a/b (the third has none)')
    # Re-subscribing without an id removes it.
    s.subscribe((t + '/#', 1))
    p.publish(t + '/a/b', b'3', qos=1)
    got = s.collect(1, 0.5)
    check(got and not any(g.props.get('subscription_id') for g in got),
          'id kept after re-subscribe: %r' % got)
    # Retained messages carry the id too.
    p.publish(t + '/ret', b'r', qos=1, retain=True)
    s2 = C()
    s2.connect(uid('s2'))
    s2.subscribe((t + '/ret', 1), prop={'subscription_id': 42})
    g = s2.wait(m.PUBLISH)
    eq(g.props.get('subscription_id'), [42], 'id on retained delivery')
    p.publish(t + '/ret', b'', qos=1, retain=True)
    for c in (s, s2, p):
        c.disconnect()


@case
def subscription_identifier_zero_is_error():
    c = C()
    c.connect(uid('c'))
    c.send(m.subscribe(1, [(uid('t'), 0)], 5, {'subscription_id': 0}))
    got = c.wait_closed()
    check(not any(x.type == m.SUBACK for x in got), 'SUBACK: %r' % got)


@case
def receive_maximum_from_client():
    s, p, t = pair(props={'receive_maximum': 3}, auto_ack=False)
    for i in range(8):
        p.publish(t, str(i), qos=1)
    got = s.collect(3, 0.5)
    eq(len(got), 3, 'in flight with receive maximum 3')
    s.send(m.ack(m.PUBACK, got[0].pid, version=5))
    more = s.collect(1, 0.5)
    spec(len(more) == 1, '%d released by one PUBACK, receive maximum 3'
         % len(more), 'mosquitto 2.0.11 refills more than one')
    seen = got + more
    for g in got[1:] + more:
        s.send(m.ack(m.PUBACK, g.pid, version=5))
    while len(seen) < 8:
        g = s.wait(m.PUBLISH)
        seen.append(g)
        s.send(m.ack(m.PUBACK, g.pid, version=5))
    eq([g.payload for g in seen], [str(i).encode() for i in range(8)],
       'order')
    s.disconnect()
    p.disconnect()


@case
def receive_maximum_zero_is_error():
    c = C()
    c.send(m.connect(5, uid('c'), prop={'receive_maximum': 0}))
    got = c.wait_closed()
    check(not any(x.type == m.CONNACK and x.rc == 0 for x in got),
          'accepted receive maximum 0: %r' % got)


@case
def server_receive_maximum_enforced():
    # Sending more QoS 1/2 than the server's Receive Maximum: 0x93.
    c = C()
    ca = c.connect(uid('c'))
    rm = ca.props.get('receive_maximum', 65535)
    if rm > 1000:
        spec(False, 'Receive Maximum %d: not tested' % rm)
        c.disconnect()
        return
    t = uid('t')
    for i in range(1, rm + 2):
        c.send(m.publish(t, b'x', 2, pid=i, version=5))
    got = c.poll(1.0)
    d = [x for x in got if x.type == m.DISCONNECT]
    spec(c.closed and d and d[0].rc == 0x93, 'exceeding Receive Maximum '
         '%d: %r' % (rm, got[-3:]), 'mosquitto answers PUBREC 0x97')
    c.close()


@case
def maximum_packet_size_from_client():
    s, p, t = pair(props={'maximum_packet_size': 200})
    p.publish(t, b'a' * 100, qos=1)
    p.publish(t, b'b' * 400, qos=1)     # too big for s: dropped
    p.publish(t, b'c' * 100, qos=1)
    got = s.collect(2, 0.5)
    eq([g.payload[:1] for g in got], [b'a', b'c'], 'delivered')
    check(s.is_open(0.1), 'subscriber closed')
    s.disconnect()
    p.disconnect()


@case
def no_local():
    t = uid('nl')
    c = C()
    c.connect(uid('c'))
    c.subscribe((t, m.sub_opts(1, nl=True)))
    o = C()
    o.connect(uid('o'))
    o.subscribe((t, 1))
    c.publish(t, b'mine', qos=1)
    check(not c.publishes(0.4), 'own message with no local')
    eq([g.payload for g in o.collect(1)], [b'mine'], 'other gets it')
    o.publish(t, b'theirs', qos=1)
    eq([g.payload for g in c.collect(1)], [b'theirs'], 'from others')
    c.disconnect()
    o.disconnect()


@case
def server_keep_alive():
    c = C()
    ca = c.connect(uid('c'), keepalive=120)
    eq(ca.props.get('server_keep_alive'), SERVER_KA,
       'Server Keep Alive for 120 > max_keepalive')
    c.disconnect()
    c = C()
    ca = c.connect(uid('c'), keepalive=10)
    check(ca.props.get('server_keep_alive', 10) == 10,
          'Server Keep Alive for 10: %r' % ca.props)
    c.disconnect()


@case
def reason_codes():
    c = C()
    c.connect(uid('c'))
    t = uid('t')
    a = c.publish(t, b'x', qos=1)
    check(a.rc in (0x00, 0x10), 'PUBACK rc without subscribers 0x%02x'
          % a.rc)
    a = c.publish(t, b'x', qos=2)
    check(a.rc in (0x00,), 'PUBCOMP rc 0x%02x' % a.rc)
    eq(c.unsubscribe(t).codes, [0x11], 'UNSUBACK for no subscription')
    eq(c.subscribe((t, 1), (t + '/2', 2)).codes, [1, 2], 'SUBACK')
    c.disconnect()


@case
def pubrel_unknown_packet_id():
    # PUBREL for an id never received: PUBCOMP 0x92 (id not found).
    c = C()
    c.connect(uid('c'))
    c.send(m.ack(m.PUBREL, 4242, version=5))
    pc = c.wait(m.PUBCOMP)
    eq(pc.pid, 4242, 'PUBCOMP id')
    spec(pc.rc == 0x92, 'PUBCOMP rc 0x%02x for an unknown id' % pc.rc)
    c.disconnect()


@case
def bad_auth_method():
    c = C()
    ca = c.connect(uid('c'), prop={'auth_method': 'X-TERN-NONE'},
                   expect_rc=None)
    eq(ca.rc, 0x8C, 'CONNACK for an unknown authentication method')
    c.wait_closed()


@case
def reason_string_not_sent_without_problem_info():
    # Request Problem Information 0: no Reason String or User Property
    # except in PUBLISH, CONNACK and DISCONNECT [MQTT-3.1.2-29].
    c = C()
    c.connect(uid('c'), prop={'request_problem_info': 0})
    t = uid('t')
    a = c.publish(t, b'x', qos=1)
    check('reason_string' not in a.props, 'reason string in PUBACK')
    ua = c.unsubscribe(t)
    check('reason_string' not in ua.props, 'reason string in UNSUBACK')
    c.disconnect()


if __name__ == '__main__':
    run()
