# SPDX-License-Identifier: MIT
"""Cases of 18-mqtt-malformed.sh: hand-built bad packets.  Each closes
only its own connection (5.0: after a DISCONNECT with the right reason
code), while a bystander subscriber keeps getting messages.  The node runs
with max_message_size = 1000."""

import os
import socket

import mqttraw as m
from tcase import case, check, eq, spec, uid, run, MOSQ, PORT

MALFORMED, PROTOCOL, TOPIC_INVALID, TOO_LARGE = 0x81, 0x82, 0x90, 0x95

_by = {}


def C(version=4, **kw):
    return m.Client(PORT, version, **kw)


def bystander():
    """A subscriber and a publisher that must not notice anything."""
    if not _by:
        t = uid('by')
        s = C(5)
        s.connect(uid('bys'))
        s.subscribe((t, 1))
        p = C(4)
        p.connect(uid('byp'))
        _by.update(s=s, p=p, t=t, n=0)
    b = _by
    b['n'] += 1
    b['p'].publish(b['t'], str(b['n']), qos=1)
    g = b['s'].wait(m.PUBLISH)
    eq(g.payload, str(b['n']).encode(), 'bystander message')


def bad(version, data, codes, connect=True, what=''):
    """Send data (after a CONNECT unless connect is False) and check the
    connection is closed; in 5.0 after a DISCONNECT with one of codes
    (Mosquitto often just closes)."""
    c = C(version)
    if connect:
        c.connect(uid('bad'))
    try:
        c.send(data)
    except OSError:
        pass
    got = c.poll(2.0 if MOSQ else 5.0)
    c.inbox = []
    if not c.closed:
        spec(False, '%s: connection still open after %r' % (what, got))
        c.close()
        bystander()
        return
    acks = [x for x in got if x.type == m.CONNACK]
    check(not acks or acks[0].rc != 0 or connect,
          '%s: CONNACK 0 to a bad first packet' % what)
    d = [x for x in got if x.type == m.DISCONNECT]
    if version < 5:
        check(not d, '%s: DISCONNECT sent to a 3.1.1 client' % what)
    elif codes:
        if d:
            spec(d[0].rc in codes, '%s: DISCONNECT 0x%02x, want %s'
                 % (what, d[0].rc, ' or '.join('0x%02x' % x
                                               for x in codes)))
        else:
            spec(False, '%s: closed without DISCONNECT' % what)
    bystander()


def both(data_fn, codes, connect=True, what=''):
    for v in (4, 5):
        bad(v, data_fn(v), codes, connect, 'v%d %s' % (v, what))


@case
def start_bystander():
    bystander()


@case
def bad_remaining_length():
    both(lambda v: b'\x30\xff\xff\xff\xff\x7f', [MALFORMED],
         what='5-byte remaining length')


@case
def reserved_fixed_header_bits():
    pid = m.u16(1)
    cases = {
        'SUBSCRIBE flags 0': lambda v: m.packet(
            m.SUBSCRIBE, 0, pid + (m.props({}) if v == 5 else b'') +
            m.ustr('a') + b'\x00'),
        'UNSUBSCRIBE flags 0': lambda v: m.packet(
            m.UNSUBSCRIBE, 0, pid + (m.props({}) if v == 5 else b'') +
            m.ustr('a')),
        'PUBREL flags 0': lambda v: m.packet(m.PUBREL, 0, pid),
        'PINGREQ flags 1': lambda v: m.packet(m.PINGREQ, 1, b''),
        'DISCONNECT flags 2': lambda v: m.packet(m.DISCONNECT, 2, b''),
        'PUBLISH QoS 3': lambda v: m.packet(
            m.PUBLISH, 6, m.ustr('a') + pid +
            (m.props({}) if v == 5 else b'')),
    }
    for what, fn in cases.items():
        both(fn, [MALFORMED, PROTOCOL], what=what)


@case
def invalid_utf8():
    for raw in (b'\xff\xfe', b'a\xc0\xafb', b'\xed\xa0\x80', b'a\x00b'):
        both(lambda v: m.packet(m.PUBLISH, 0, m.bstr(raw) +
                                (m.props({}) if v == 5 else b'') + b'x'),
             [MALFORMED], what='topic %r' % raw)
    both(lambda v: m.packet(m.SUBSCRIBE, 2, m.u16(1) +
                            (m.props({}) if v == 5 else b'') +
                            m.bstr(b'a/\xff') + b'\x00'),
         [MALFORMED], what='filter 0xff')
    # Client id in CONNECT: CONNACK refusal or close, never accepted.
    for v in (4, 5):
        pkt = m.connect(v, 'abc').replace(m.ustr('abc'),
                                          m.bstr(b'a\xffc'))
        bad(v, pkt, [], connect=False, what='client id 0xff')


@case
def wildcard_in_publish_topic():
    for topic in ('a/+', 'a/#', '+', '#', 'a+b'):
        both(lambda v: m.publish(topic, b'x', 0, version=v),
             [TOPIC_INVALID, MALFORMED, PROTOCOL], what='topic ' + topic)
    # Empty topic without an alias.
    both(lambda v: m.publish('', b'x', 0, version=v),
         [PROTOCOL, TOPIC_INVALID], what='empty topic')


@case
def packet_before_connect():
    for what, fn in (
            ('SUBSCRIBE', lambda v: m.subscribe(1, [('a', 0)], v)),
            ('PUBLISH', lambda v: m.publish('a', b'x', 0, version=v)),
            ('PINGREQ', lambda v: m.pingreq())):
        both(fn, [], connect=False, what=what + ' before CONNECT')


@case
def oversize_packet():
    # max_message_size = 1000.  5.0 CONNACK says so; a bigger PUBLISH
    # gets 0x95 and is not delivered.
    c = C(5)
    ca = c.connect(uid('c'))
    mps = ca.props.get('maximum_packet_size')
    spec(mps is not None and mps <= 1100, 'CONNACK Maximum Packet Size %r'
         % mps)
    c.disconnect()
    both(lambda v: m.publish(_by['t'], b'y' * 5000, 1, pid=1, version=v),
         [TOO_LARGE], what='5000-byte PUBLISH')
    # Only a huge length claimed: refused without waiting for the bytes.
    both(lambda v: b'\x30' + m.varint(200 * 1000 * 1000) + b'\x00\x01a',
         [TOO_LARGE], what='200 MB length')


@case
def second_connect():
    both(lambda v: m.connect(v, uid('again')), [PROTOCOL],
         what='second CONNECT')


@case
def protocol_violations():
    both(lambda v: m.packet(m.PUBLISH, 8, m.ustr('a') +
                            (m.props({}) if v == 5 else b'') + b'x'),
         [MALFORMED, PROTOCOL], what='QoS 0 with DUP')
    both(lambda v: m.publish('a', b'x', 1, pid=0, version=v),
         [MALFORMED, PROTOCOL], what='QoS 1 packet id 0')
    both(lambda v: m.packet(m.SUBSCRIBE, 2, m.u16(1) +
                            (m.props({}) if v == 5 else b'')),
         [MALFORMED, PROTOCOL], what='SUBSCRIBE without filters')
    both(lambda v: m.packet(m.UNSUBSCRIBE, 2, m.u16(1) +
                            (m.props({}) if v == 5 else b'')),
         [MALFORMED, PROTOCOL], what='UNSUBSCRIBE without filters')
    both(lambda v: m.subscribe(1, [('a', 3)], v), [MALFORMED, PROTOCOL],
         what='SUBSCRIBE QoS 3')
    both(lambda v: m.subscribe(1, [('a', 0xC0)], v), [MALFORMED, PROTOCOL],
         what='SUBSCRIBE reserved option bits')
    both(lambda v: m.packet(0, 0, b''), [MALFORMED, PROTOCOL],
         what='packet type 0')
    both(lambda v: m.packet(m.CONNACK, 0, b'\x00\x00'),
         [MALFORMED, PROTOCOL], what='CONNACK from a client')
    bad(4, m.packet(m.AUTH, 0, b''), [], what='AUTH in 3.1.1')
    both(lambda v: m.packet(m.PUBLISH, 0, m.u16(50) + b'short'),
         [MALFORMED], what='string longer than packet')


@case
def bad_properties_v5():
    topic = m.ustr('a')

    def pub(props_bytes):
        return m.packet(m.PUBLISH, 0, topic + props_bytes + b'x')
    bad(5, pub(b'\x02\x7f\x00'), [MALFORMED, PROTOCOL],
        what='unknown property 0x7f')
    bad(5, pub(m.props([('content_type', 'a'), ('content_type', 'b')])),
        [MALFORMED, PROTOCOL], what='content type twice')
    bad(5, pub(m.props({'session_expiry': 5})), [MALFORMED, PROTOCOL],
        what='session expiry in PUBLISH')
    bad(5, pub(b'\x05\x03\x00\x09ab'), [MALFORMED],
        what='property longer than its length')
    bad(5, pub(m.props({'payload_format': 2})), [MALFORMED, PROTOCOL],
        what='payload format 2')
    bad(5, m.packet(m.PUBLISH, 0, topic + m.props({'subscription_id': 3}) +
                    b'x'), [MALFORMED, PROTOCOL],
        what='subscription id from a client')


@case
def garbage_bytes():
    rnd = os.urandom(512)
    for v in (4, 5):
        c = C(v)
        c.connect(uid('g'))
        try:
            c.send(b'\x00' + rnd)   # packet type 0 first: always bad
        except OSError:
            pass
        c.wait_closed()
    # An HTTP request instead of a CONNECT: its first byte ('G', 0x47)
    # already says PUBACK, not CONNECT [MQTT-3.1.0-1], so the server can
    # close at once; it must not wait for the 32 bytes that header claims.
    s = socket.create_connection(('127.0.0.1', PORT), timeout=5)
    s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    try:
        while s.recv(100):
            pass
    except ConnectionResetError:
        pass
    except socket.timeout:
        check(False, 'HTTP request on the MQTT port: still open after 5 s')
    s.close()
    bystander()


@case
def bystander_survived():
    b = _by
    check(b['s'].is_open(0.1) and b['p'].is_open(0.1), 'bystander closed')
    bystander()
    if MOSQ:
        return
    # Many bad connections in a row: the node still accepts new ones.
    for i in range(50):
        c = C(5)
        c.connect(uid('n'))
        c.send(b'\x30\xff\xff\xff\xff\x7f')
        c.wait_closed()
    bystander()


if __name__ == '__main__':
    run()
