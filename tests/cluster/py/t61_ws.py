# SPDX-License-Identifier: MIT
"""Cases of 61-websocket.sh: paho's websocket transport (ws and wss)
publishing and subscribing, and a raw RFC 6455 client for what paho
cannot do: MQTT packets split across frames and several in one frame,
ping/pong, the close handshake, and refused upgrades and frames.

    t61_ws.py PORT [WSSPORT CAFILE]    (NODE_PORT: the TCP listener)
"""

import base64
import hashlib
import os
import socket
import ssl
import struct
import sys
import threading
import time

import paho.mqtt.client as paho

import mqttraw as m
from tcase import case, check, eq, run, uid, until

PORT = int(sys.argv[1])
PORT_TCP = int(os.environ['NODE_PORT'])
WSS = int(sys.argv[2]) if len(sys.argv) > 2 else 0
CAFILE = sys.argv[3] if len(sys.argv) > 3 else None
sys.argv[1:] = []
GUID = b'258EAFA5-E914-47DA-95CA-C5AB0DC85B11'


# ---- paho ------------------------------------------------------------

class Paho:
    """A paho client over WebSocket that records what it receives."""

    def __init__(self, port, tls=False, version=paho.MQTTv311):
        self.got = []
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.published = set()
        self.c = paho.Client(uid('ws'), transport='websockets',
                             protocol=version)
        self.c.ws_set_options(path='/mqtt')
        if tls:
            self.c.tls_set(ca_certs=CAFILE)
        self.c.on_connect = lambda *a: self.connected.set()
        self.c.on_subscribe = lambda *a: self.subscribed.set()
        self.c.on_message = lambda cl, u, msg: self.got.append(
            (msg.topic, msg.payload))
        self.c.on_publish = lambda cl, u, mid: self.published.add(mid)
        self.c.connect('localhost' if tls else '127.0.0.1', port, 30)
        self.c.loop_start()
        check(self.connected.wait(10), 'paho did not connect')

    def subscribe(self, topic, qos=1):
        self.subscribed.clear()
        self.c.subscribe(topic, qos)
        check(self.subscribed.wait(10), 'no SUBACK')

    def stop(self):
        self.c.disconnect()
        self.c.loop_stop()


def paho_roundtrip(port, tls):
    t = 'ws/' + uid('t')
    sub = Paho(port, tls, paho.MQTTv5)
    sub.subscribe(t)
    pub = Paho(port, tls)
    mids = [pub.c.publish(t, b'm%d' % i, qos=1).mid for i in range(100)]
    big = os.urandom(200000)
    mids.append(pub.c.publish(t, big, qos=1).mid)
    until(lambda: len(sub.got) >= 101, 15, '101 messages over WebSocket')
    eq([p for _, p in sub.got[:100]], [b'm%d' % i for i in range(100)],
       'payloads in order')
    check(sub.got[100][1] == big, '200 kB payload')
    until(lambda: set(mids) <= pub.published, 10, 'PUBACKs')
    pub.stop()
    sub.stop()


@case
def paho_ws():
    paho_roundtrip(PORT, False)


@case
def paho_wss():
    if not WSS:
        print('    (no wss listener)')
        return
    paho_roundtrip(WSS, True)


# ---- a raw WebSocket client --------------------------------------------

class WS:
    def __init__(self, port=PORT, protocols='mqtt', extra=b'', tls=False):
        self.s = socket.create_connection(('127.0.0.1', port), timeout=5)
        if tls:
            c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            c.load_verify_locations(CAFILE)
            self.s = c.wrap_socket(self.s, server_hostname='localhost')
        key = base64.b64encode(os.urandom(16))
        req = (b'GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\n'
               b'Upgrade: websocket\r\nConnection: Upgrade\r\n'
               b'Sec-WebSocket-Key: ' + key + b'\r\n'
               b'Sec-WebSocket-Version: 13\r\n')
        if protocols:
            req += b'Sec-WebSocket-Protocol: ' + protocols.encode() + \
                b'\r\n'
        self.s.sendall(req + b'\r\n' + extra)
        self.buf = b''
        while b'\r\n\r\n' not in self.buf:
            d = self.s.recv(4096)
            if not d:
                raise m.Closed()
            self.buf += d
        head, self.buf = self.buf.split(b'\r\n\r\n', 1)
        self.head = head.decode()
        self.status = int(self.head.split()[1])
        if self.status == 101:
            want = base64.b64encode(hashlib.sha1(key + GUID).digest())
            check(('Sec-WebSocket-Accept: ' + want.decode()) in self.head,
                  'Sec-WebSocket-Accept')

    def frame(self, payload, opcode=2, fin=True, mask=True, rsv=0):
        b0 = (0x80 if fin else 0) | rsv | opcode
        n = len(payload)
        if n < 126:
            h = bytes([b0, (0x80 if mask else 0) | n])
        elif n < 65536:
            h = bytes([b0, (0x80 if mask else 0) | 126]) + \
                struct.pack('!H', n)
        else:
            h = bytes([b0, (0x80 if mask else 0) | 127]) + \
                struct.pack('!Q', n)
        if not mask:
            return h + payload
        k = os.urandom(4)
        return h + k + bytes(b ^ k[i % 4] for i, b in enumerate(payload))

    def send(self, payload, **kw):
        self.s.sendall(self.frame(payload, **kw))

    def read_frame(self, timeout=5):
        """(opcode, payload) of the next server frame; None on close."""
        self.s.settimeout(timeout)
        while True:
            if len(self.buf) >= 2:
                b0, b1 = self.buf[0], self.buf[1]
                check(not b1 & 0x80, 'server frames are not masked')
                n, off = b1 & 0x7f, 2
                if n == 126:
                    n, off = struct.unpack('!H', self.buf[2:4])[0], 4
                elif n == 127:
                    n, off = struct.unpack('!Q', self.buf[2:10])[0], 10
                if len(self.buf) >= off + n:
                    p = self.buf[off:off + n]
                    self.buf = self.buf[off + n:]
                    return b0 & 0x0f, p
            try:
                d = self.s.recv(65536)
            except ConnectionResetError:
                d = b''
            if not d:
                return None
            self.buf += d

    def mqtt(self, timeout=5):
        """The bytes of the next binary frames until a whole packet."""
        data = b''
        while True:
            f = self.read_frame(timeout)
            if f is None:
                raise m.Closed()
            op, p = f
            if op == 2:
                data += p
                if len(data) >= 2:
                    return data

    def close(self):
        self.s.close()


@case
def upgrade_with_subprotocols():
    for protos, want in (('mqtt', 'mqtt'), ('mqttv3.1', 'mqttv3.1'),
                         ('foo, mqtt', 'mqtt')):
        w = WS(protocols=protos)
        eq(w.status, 101, 'status for %r' % protos)
        check('Sec-WebSocket-Protocol: ' + want in w.head,
              'chosen subprotocol for %r: %r' % (protos, w.head))
        w.close()


@case
def upgrade_refused():
    w = WS(protocols='chat')
    eq(w.status, 400, 'no mqtt subprotocol')
    s = socket.create_connection(('127.0.0.1', PORT), timeout=5)
    s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    check(s.recv(100).startswith(b'HTTP/1.1 400'), 'plain GET refused')
    s.close()
    # An endless header: refused at the size limit, not buffered.
    s = socket.create_connection(('127.0.0.1', PORT), timeout=5)
    s.sendall(b'GET / HTTP/1.1\r\nX-Long: ')
    try:
        for _ in range(64):
            s.sendall(b'a' * 1024)
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        r = s.recv(100)
    except ConnectionResetError:
        r = b''
    check(r.startswith(b'HTTP/1.1 431') or r == b'', 'long header: %r' % r)
    s.close()
    # MQTT without the upgrade.
    c = m.Client(PORT, 4)
    c.send(m.connect(4, uid('raw')))
    c.wait_closed()


@case
def mqtt_split_and_joined_frames():
    t = 'ws/' + uid('f')
    sub = WS()
    conn = m.connect(4, uid('s'))
    # CONNECT cut in three frames, fragmented (binary + continuations).
    sub.send(conn[:3], fin=False)
    sub.send(conn[3:7], opcode=0, fin=False)
    sub.send(conn[7:], opcode=0)
    eq(sub.mqtt()[:4], b'\x20\x02\x00\x00', 'CONNACK')
    # SUBSCRIBE and PINGREQ in one frame.
    sub.send(m.subscribe(1, [(t, 0)]) + m.pingreq())
    got = sub.mqtt()
    while len(got) < 7:
        got += sub.mqtt()
    eq(got[:5], b'\x90\x03\x00\x01\x00', 'SUBACK')
    eq(got[5:7], b'\xd0\x00', 'PINGRESP')
    pub = WS()
    pub.send(m.connect(4, uid('p')) + m.publish(t, b'hello'))
    eq(pub.mqtt()[:4], b'\x20\x02\x00\x00', 'CONNACK')
    p = sub.mqtt()
    check(p.endswith(b'hello') and t.encode() in p, 'PUBLISH %r' % p)
    sub.close()
    pub.close()


@case
def ping_pong_and_close_handshake():
    w = WS()
    w.send(m.connect(4, uid('pp')))
    w.mqtt()
    w.send(b'are you there', opcode=9)
    eq(w.read_frame(), (10, b'are you there'), 'pong echoes the ping')
    w.send(b'\x03\xe8bye', opcode=8)
    f = w.read_frame()
    check(f is not None and f[0] == 8, 'close answered: %r' % (f,))
    eq(f[1][:2], b'\x03\xe8', 'close status echoed')
    eq(w.read_frame(), None, 'connection closed after the close')


@case
def bad_frames_close_the_connection():
    for kw, code in (({'opcode': 1}, 1003),      # text
                     ({'mask': False}, 1002),   # unmasked
                     ({'rsv': 0x40}, 1002),     # RSV1
                     ({'opcode': 3}, 1002)):    # reserved opcode
        w = WS()
        w.send(m.connect(4, uid('bad')))
        w.mqtt()
        w.send(m.pingreq(), **kw)
        f = w.read_frame()
        check(f is not None and f[0] == 8, '%r: no close frame' % kw)
        eq(struct.unpack('!H', f[1][:2])[0], code, 'close code for %r' % kw)
        eq(w.read_frame(), None, 'closed after %r' % kw)


@case
def frame_over_max_message_size():
    w = WS()
    w.send(m.connect(4, uid('big')))
    w.mqtt()
    # max_message_size is 300000 on this node: announce a larger frame.
    w.s.sendall(bytes([0x82, 0x80 | 127]) + struct.pack('!Q', 10 ** 9) +
                b'abcd')
    f = w.read_frame()
    check(f is not None and f[0] == 8, 'no close frame')
    eq(struct.unpack('!H', f[1][:2])[0], 1009, 'close code')


@case
def rate_limit_holds_websocket_input():
    # max_publish_rate is 200 on this node: 500 PUBLISH in one frame are
    # held and handled over three seconds, all of them, in order; over
    # TLS what is held may wait inside OpenSSL.
    for tls in (False, True) if WSS else (False,):
        rate_limit_case(WSS if tls else PORT, tls)


def rate_limit_case(port, tls):
    t = 'ws/' + uid('rate')
    sub = m.Client(PORT_TCP, 4)
    sub.connect(uid('rs'))
    sub.subscribe((t, 0))
    w = WS(port, tls=tls)
    w.send(m.connect(4, uid('rp')))
    w.mqtt()
    t0 = time.monotonic()
    w.send(b''.join(m.publish(t, b'%d' % i) for i in range(500)) +
           m.pingreq())
    got = sub.collect(500, extra=0.1, timeout=15)
    dt = time.monotonic() - t0
    eq([int(p.payload) for p in got], list(range(500)), 'all, in order')
    check(dt >= 1.0, '500 at 200/s in %.2f s' % dt)
    eq(w.mqtt(), b'\xd0\x00', 'PINGRESP after them')
    w.close()
    sub.disconnect()


@case
def mqtt_garbage_inside_frames():
    w = WS()
    w.send(b'\x10\xff\xff\xff\xff\x7f')   # remaining length of 5 bytes
    eq(w.read_frame(), None, 'closed on a bad remaining length')


if __name__ == '__main__':
    run()
