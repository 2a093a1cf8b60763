# SPDX-License-Identifier: MIT
"""Cases of 10-mqtt-connect.sh: CONNECT/CONNACK codes, client id rules,
keep alive, takeover, clean session / clean start and session expiry."""

import os
import time

import mqttraw as m
from tcase import PORT, MOSQ, case, tern_only, check, eq, spec, uid, run


# Mosquitto 2.0.11 closes a taken-over 5.0 connection without DISCONNECT.
MOSQ_NO_8E = 'mosquitto 2.0.11 sends no DISCONNECT 0x8E on takeover'


def C(version=4, **kw):
    return m.Client(PORT, version, **kw)


@case
def connack_ok_each_version():
    for v in (3, 4, 5):
        c = C(v)
        ca = c.connect(uid('ok%d' % v))
        eq(ca.rc, 0, 'v%d CONNACK rc' % v)
        eq(ca.session_present, 0, 'v%d session present (clean)' % v)
        c.ping()
        c.disconnect()


@case
def unsupported_protocol_level():
    # 3.1.1 [MQTT-3.1.2-2]: CONNACK 0x01 then close; 5.0: 0x84 (MAY).
    c = C(5)
    c.send(m.connect(4, uid()).replace(b'MQTT\x04', b'MQTT\x07', 1))
    got = c.wait_closed()
    acks = [p for p in got if p.type == m.CONNACK]
    check(len(acks) <= 1, 'one CONNACK at most: %r' % got)
    if acks:
        check(acks[0].rc in (0x01, 0x84), 'rc %r' % acks[0].rc)
    spec(acks, 'no CONNACK 0x01/0x84 for protocol level 7')


@case
def bad_protocol_name():
    c = C(4)
    c.send(m.connect(4, uid()).replace(b'MQTT', b'MQTX', 1))
    got = c.wait_closed()
    check(all(p.type != m.CONNACK or p.rc != 0 for p in got),
          'accepted a CONNECT with protocol name MQTX: %r' % got)


@case
def reserved_connect_flag():
    # [MQTT-3.1.2-3]: reserved flag must be 0, else disconnect.
    for v in (4, 5):
        c = C(v)
        c.send(m.connect(v, uid(), reserved=True))
        got = c.wait_closed()
        check(all(p.type != m.CONNACK or p.rc != 0 for p in got),
              'v%d accepted reserved flag: %r' % (v, got))


@case
def will_flags_without_will():
    # [MQTT-3.1.2-11/13/15]: will QoS/retain must be 0 without a will.
    c = C(4)
    pkt = bytearray(m.connect(4, uid()))
    pkt[9] |= 0x08          # will QoS 1, no will flag
    c.send(bytes(pkt))
    got = c.wait_closed()
    check(all(p.type != m.CONNACK or p.rc != 0 for p in got),
          'accepted will QoS without will flag: %r' % got)


@case
def empty_client_id_v311():
    c = C(4)
    ca = c.connect('', clean=True)
    eq(ca.rc, 0, 'empty id, clean session 1')
    c.ping()
    c.disconnect()
    # [MQTT-3.1.3-8]: empty id with clean session 0 -> 0x02 and close.
    c = C(4)
    ca = c.connect('', clean=False, expect_rc=None)
    eq(ca.rc, 0x02, 'empty id, clean session 0')
    c.wait_closed()


@case
def client_id_v31():
    # 3.1: client id of 1 to 23 characters; longer -> 0x02.
    c = C(3)
    ca = c.connect('a' * 23)
    eq(ca.rc, 0, '23 chars')
    c.disconnect()
    c = C(3)
    ca = c.connect('b' * 24 + uid(), expect_rc=None)
    spec(ca.rc == 0x02, '3.1 client id of 35 chars accepted (rc %d)'
         % ca.rc, 'mosquitto allows long 3.1 client ids')
    c.close()


@tern_only
def client_id_too_long():
    # max_client_id_size (default 256): refused with 0x02 / 0x85.
    c = C(4)
    eq(c.connect('x' * 300, expect_rc=None).rc, 0x02, 'v4 long id')
    c.wait_closed()
    c = C(5)
    eq(c.connect('x' * 300, expect_rc=None).rc, 0x85, 'v5 long id')
    c.wait_closed()


@case
def anonymous_refused():
    # A node with allow_anonymous = off and no password file: 3.1.1
    # CONNACK 0x05 (not authorized), 5.0 0x87; 3.1 as 3.1.1.
    port = int(os.environ['NOANON_PORT'])
    for v, want in ((3, 0x05), (4, 0x05), (5, 0x87)):
        c = m.Client(port, v)
        ca = c.connect(uid('anon'), expect_rc=None)
        check(ca.rc in (want, 0x04 if v < 5 else 0x86),
              'v%d anonymous CONNACK 0x%02x' % (v, ca.rc))
        spec(ca.rc == want, 'v%d anonymous CONNACK 0x%02x, want 0x%02x'
             % (v, ca.rc, want))
        c.wait_closed()


@case
def assigned_client_id_v5():
    c = C(5)
    ca = c.connect('', clean=True)
    aid = ca.props.get('assigned_client_id')
    check(aid, 'no Assigned Client Identifier: %r' % ca)
    c2 = C(5)
    ca2 = c2.connect('', clean=True)
    check(ca2.props.get('assigned_client_id') not in (None, aid),
          'assigned ids not unique')
    # The assigned id is a real id: taking it over closes the first one.
    c3 = C(5)
    c3.connect(aid)
    got = c.wait_closed()
    spec(any(p.type == m.DISCONNECT and p.rc == 0x8E for p in got),
         'no 0x8E to holder of assigned id: %r' % got, MOSQ_NO_8E)
    c2.disconnect()
    c3.disconnect()


def _keepalive(version):
    c = C(version)
    c.connect(uid('ka'), keepalive=1)
    t0 = time.monotonic()
    check(c.is_open(1.1), 'closed before 1.1 s with keep alive 1')
    # Mosquitto 2.0.11 checks keep alive only every 5 s or so.
    got = c.wait_closed(8.0 if MOSQ else 2.6)
    dt = time.monotonic() - t0
    check(dt >= 1.4, 'closed after %.2f s, before 1.5x keep alive' % dt)
    spec(dt < 2.6, 'keep alive 1 s: closed only after %.1f s' % dt)
    return got


@case
def keepalive_timeout_v311():
    _keepalive(4)


@case
def keepalive_timeout_v5():
    got = _keepalive(5)
    d = [p for p in got if p.type == m.DISCONNECT]
    if d:
        eq(d[0].rc, 0x8D, 'DISCONNECT reason on keep alive timeout')
    spec(d, 'no DISCONNECT 0x8D on keep alive timeout')


@case
def keepalive_kept_by_pingreq():
    c = C(4)
    c.connect(uid('ka'), keepalive=1)
    end = time.monotonic() + 3.0
    while time.monotonic() < end:
        c.ping()
        time.sleep(0.4)
    check(c.is_open(0.1), 'closed although PINGREQ every 0.4 s')
    c.disconnect()


def _takeover(version):
    cid = uid('to')
    topic = uid('t')
    a = C(version)
    a.connect(cid, clean=False,
              prop={'session_expiry': 60} if version == 5 else None)
    a.subscribe((topic, 1))
    b = C(version)
    ca = b.connect(cid, clean=False,
                   prop={'session_expiry': 60} if version == 5 else None)
    eq(ca.session_present, 1, 'session present after takeover')
    got = a.wait_closed()
    # The subscription moved with the session.
    p = C(version)
    p.connect(uid())
    p.publish(topic, b'after-takeover', qos=1)
    msg = b.wait(m.PUBLISH)
    eq(msg.payload, b'after-takeover', 'payload to new connection')
    b.disconnect()
    p.disconnect()
    return got


@case
def takeover_v311():
    got = _takeover(4)
    check(not any(p.type == m.PUBLISH for p in got), 'old got the message')


@case
def takeover_v5_reason_8e():
    got = _takeover(5)
    d = [p for p in got if p.type == m.DISCONNECT]
    spec(d, 'old connection got no DISCONNECT: %r' % got, MOSQ_NO_8E)
    if d:
        eq(d[0].rc, 0x8E, 'DISCONNECT reason to the old connection')


@case
def takeover_mixed_versions():
    cid = uid('mix')
    a = C(4)
    a.connect(cid)
    b = C(5)
    b.connect(cid)
    a.wait_closed()
    c = C(4)
    c.connect(cid)
    got = b.wait_closed()
    spec(any(p.type == m.DISCONNECT and p.rc == 0x8E for p in got),
         'v5 connection taken over by v3.1.1 got no 0x8E: %r' % got,
         MOSQ_NO_8E)
    c.disconnect()


@case
def clean_session_v311():
    cid, topic = uid('cs'), uid('t')
    c = C(4)
    eq(c.connect(cid, clean=False).session_present, 0, 'first connect')
    c.subscribe((topic, 1))
    c.disconnect()
    c = C(4)
    eq(c.connect(cid, clean=False).session_present, 1, 'resumed session')
    p = C(4)
    p.connect(uid())
    p.publish(topic, b'one', qos=1)
    eq(c.wait(m.PUBLISH).payload, b'one', 'subscription kept')
    c.disconnect()
    # Clean session 1 discards it (and is not itself kept).
    c = C(4)
    eq(c.connect(cid, clean=True).session_present, 0, 'clean session')
    p.publish(topic, b'two', qos=1)
    check(not c.publishes(0.5), 'subscription survived clean session')
    c.disconnect()
    c = C(4)
    eq(c.connect(cid, clean=False).session_present, 0,
       'session after a clean-session connection')
    c.disconnect()
    p.disconnect()


@case
def clean_start_and_session_expiry_v5():
    cid, topic = uid('se'), uid('t')
    # Session expiry 0 (absent): the session ends with the connection.
    c = C(5)
    c.connect(cid, clean=True)
    c.subscribe((topic, 1))
    c.disconnect()
    c = C(5)
    eq(c.connect(cid, clean=False).session_present, 0, 'expiry 0')
    c.disconnect()
    # Session expiry 2 s: kept while offline, gone after.
    c = C(5)
    c.connect(cid, clean=True, prop={'session_expiry': 2})
    c.subscribe((topic, 1))
    c.disconnect()
    p = C(5)
    p.connect(uid())
    p.publish(topic, b'queued', qos=1)
    c = C(5)
    ca = c.connect(cid, clean=False, prop={'session_expiry': 2})
    eq(ca.session_present, 1, 'resumed within expiry')
    eq(c.wait(m.PUBLISH).payload, b'queued', 'queued while offline')
    # Clean start 1 discards an existing session.
    c.disconnect()
    c = C(5)
    eq(c.connect(cid, clean=True, prop={'session_expiry': 2})
       .session_present, 0, 'clean start 1')
    c.subscribe((topic, 1))
    c.disconnect()
    time.sleep(3.2)     # let the 2 s expiry pass (the thing under test)
    c = C(5)
    eq(c.connect(cid, clean=False).session_present, 0,
       'resumed after expiry')
    p.publish(topic, b'late', qos=1)
    check(not c.publishes(0.5), 'expired subscription still delivers')
    c.disconnect()
    p.disconnect()


@case
def session_expiry_set_in_disconnect_v5():
    cid = uid('sd')
    c = C(5)
    c.connect(cid, clean=True, prop={'session_expiry': 60})
    c.disconnect(0, prop={'session_expiry': 0})
    c = C(5)
    eq(c.connect(cid, clean=False).session_present, 0,
       'DISCONNECT session expiry 0 ends the session')
    c.disconnect()
    # [MQTT-3.14.2-2]: 0 at CONNECT then non-zero at DISCONNECT is a
    # protocol error: the server sends DISCONNECT 0x82.
    c = C(5)
    c.connect(cid, clean=True)
    c.send(m.disconnect(0, 5, {'session_expiry': 30}))
    got = c.wait_closed()
    d = [p for p in got if p.type == m.DISCONNECT]
    spec(d and d[0].rc == 0x82, 'no DISCONNECT 0x82 for session expiry '
         'raised at DISCONNECT: %r' % got)


if __name__ == '__main__':
    run()
