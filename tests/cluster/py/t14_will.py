# SPDX-License-Identifier: MIT
"""Cases of 14-mqtt-will.sh: the will on an abnormal close (socket closed,
keep alive, protocol error, takeover), none after DISCONNECT, 5.0 DISCONNECT
0x04, will delay, will properties, retained will."""

import time

import mqttraw as m
from tcase import case, check, eq, spec, uid, run, until, MOSQ, PORT


def C(version=4, **kw):
    return m.Client(PORT, version, **kw)


def watcher(topic, version=4):
    w = C(version)
    w.connect(uid('w'))
    w.subscribe((topic, 2))
    return w


def with_will(topic, version=4, payload=b'gone', qos=1, retain=False,
              props=None, keepalive=60, cid=None, session_expiry=None):
    c = C(version)
    c.connect(cid or uid('wc'), keepalive=keepalive,
              will={'topic': topic, 'payload': payload, 'qos': qos,
                    'retain': retain, 'props': props},
              prop={'session_expiry': session_expiry}
              if session_expiry is not None else None)
    return c


@case
def will_on_socket_close():
    for v in (3, 4, 5):
        for q in (0, 1, 2):
            t = uid('w')
            w = watcher(t, v if v != 3 else 4)
            c = with_will(t, v, b'gone-%d' % q, qos=q)
            c.close()
            g = w.wait(m.PUBLISH)
            eq((g.topic, g.payload, g.qos, g.retain),
               (t, b'gone-%d' % q, q, 0), 'v%d will QoS %d' % (v, q))
            check(not w.publishes(0.2), 'will twice')
            w.disconnect()


@case
def no_will_after_disconnect():
    for v in (4, 5):
        t = uid('w')
        w = watcher(t, v)
        c = with_will(t, v)
        c.disconnect()
        check(not w.publishes(0.7), 'v%d will after DISCONNECT' % v)
        w.disconnect()


@case
def will_after_disconnect_0x04_v5():
    t = uid('w')
    w = watcher(t, 5)
    c = with_will(t, 5, b'x04')
    c.disconnect(0x04)
    eq(w.wait(m.PUBLISH).payload, b'x04', 'will after DISCONNECT 0x04')
    w.disconnect()


@case
def will_on_keepalive_timeout():
    t = uid('w')
    w = watcher(t)
    c = with_will(t, 4, b'ka', keepalive=1)
    t0 = time.monotonic()
    # 1.5 x keep alive (Mosquitto checks only every few seconds).
    g = w.wait(m.PUBLISH, timeout=8 if MOSQ else 3.5)
    eq(g.payload, b'ka', 'will after keep alive timeout')
    check(time.monotonic() - t0 > 1.2, 'will before the keep alive ended')
    c.close()
    w.disconnect()


@case
def will_on_protocol_error():
    for v in (4, 5):
        t = uid('w')
        w = watcher(t, v)
        c = with_will(t, v, b'bad')
        c.send(m.packet(m.PUBLISH, 6, b''))     # QoS 3: malformed
        c.wait_closed()
        eq(w.wait(m.PUBLISH).payload, b'bad', 'v%d will on error' % v)
        w.disconnect()


@case
def will_on_takeover_v311():
    t = uid('w')
    cid = uid('tk')
    w = watcher(t)
    old = with_will(t, 4, b'taken', cid=cid)
    c2 = C(4)
    c2.connect(cid)
    old.wait_closed()
    got = [g.payload for g in w.collect(1, 0.5)]
    spec(got == [b'taken'], 'will of a taken-over 3.1.1 connection: %r'
         % got)
    c2.disconnect()
    w.disconnect()


@case
def retained_will():
    t = uid('w')
    c = with_will(t, 4, b'last', qos=1, retain=True)
    c.close()
    s = C(4)
    s.connect(uid('s'))
    s.subscribe((t, 1))
    g = until(lambda: s.publishes(0.2), 3, 'retained will')[0]
    eq((g.payload, g.retain), (b'last', 1), 'retained will')
    p = C(4)
    p.connect(uid('p'))
    p.publish(t, b'', qos=1, retain=True)
    s.disconnect()
    p.disconnect()


@case
def will_properties_v5():
    t = uid('w')
    w = watcher(t, 5)
    props = {'content_type': 'text/x-test', 'payload_format': 1,
             'response_topic': 'resp/' + t, 'correlation_data': b'\x01\x02',
             'message_expiry': 300,
             'user_property': [('k1', 'v1'), ('k2', 'v2')]}
    c = with_will(t, 5, 'ünïcode', props=props)
    c.close()
    g = w.wait(m.PUBLISH)
    eq(g.payload, 'ünïcode'.encode(), 'payload')
    for k in ('content_type', 'payload_format', 'response_topic',
              'correlation_data', 'user_property'):
        eq(g.props.get(k), props[k], 'will property ' + k)
    check(0 < g.props.get('message_expiry', 0) <= 300,
          'message expiry %r' % g.props.get('message_expiry'))
    w.disconnect()


@case
def will_delay_v5():
    t = uid('w')
    w = watcher(t, 5)
    c = with_will(t, 5, b'delayed', props={'will_delay': 2},
                  session_expiry=30)
    t0 = time.monotonic()
    c.close()
    g = w.wait(m.PUBLISH, timeout=4)
    dt = time.monotonic() - t0
    eq(g.payload, b'delayed', 'delayed will')
    check(dt >= 1.8, 'will after %.2f s, delay is 2 s' % dt)
    spec(dt < 3.2, 'will delay 2 s: published after %.2f s' % dt)
    w.disconnect()


@case
def will_delay_cancelled_by_reconnect_v5():
    # [MQTT-3.1.3-9]: reconnecting before the delay ends cancels it.
    t = uid('w')
    cid = uid('wd')
    w = watcher(t, 5)
    c = with_will(t, 5, b'no', props={'will_delay': 2}, cid=cid,
                  session_expiry=30)
    c.close()
    c = C(5)
    c.connect(cid, clean=False, prop={'session_expiry': 30})
    check(not w.publishes(3.0), 'will published although reconnected')
    c.disconnect()
    w.disconnect()


@case
def will_delay_longer_than_session_v5():
    # The will goes when the session ends, if that comes first.
    t = uid('w')
    w = watcher(t, 5)
    c = with_will(t, 5, b'session-end', props={'will_delay': 30},
                  session_expiry=1)
    t0 = time.monotonic()
    c.close()
    g = w.wait(m.PUBLISH, timeout=4)
    eq(g.payload, b'session-end', 'will at session end')
    check(time.monotonic() - t0 >= 0.8, 'will before session expiry')
    w.disconnect()


if __name__ == '__main__':
    run()
