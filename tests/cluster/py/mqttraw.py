# SPDX-License-Identifier: MIT
"""A raw MQTT 3.1 / 3.1.1 / 5.0 client for black-box tests: hand-built
packets, a strict decoder of what the broker sends, and small helpers for
the usual flows.  Used where paho cannot express a case (no PUBACK, bad
packets, exact reason codes and properties)."""

import socket
import struct
import time

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = range(1, 8)
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK = range(8, 12)
PINGREQ, PINGRESP, DISCONNECT, AUTH = range(12, 16)

NAMES = {1: 'CONNECT', 2: 'CONNACK', 3: 'PUBLISH', 4: 'PUBACK',
         5: 'PUBREC', 6: 'PUBREL', 7: 'PUBCOMP', 8: 'SUBSCRIBE',
         9: 'SUBACK', 10: 'UNSUBSCRIBE', 11: 'UNSUBACK', 12: 'PINGREQ',
         13: 'PINGRESP', 14: 'DISCONNECT', 15: 'AUTH'}

# MQTT 5.0 properties: id -> (name, type)
PROPS = {
    0x01: ('payload_format', 'byte'),
    0x02: ('message_expiry', 'u32'),
    0x03: ('content_type', 'str'),
    0x08: ('response_topic', 'str'),
    0x09: ('correlation_data', 'bin'),
    0x0B: ('subscription_id', 'varint'),
    0x11: ('session_expiry', 'u32'),
    0x12: ('assigned_client_id', 'str'),
    0x13: ('server_keep_alive', 'u16'),
    0x15: ('auth_method', 'str'),
    0x16: ('auth_data', 'bin'),
    0x17: ('request_problem_info', 'byte'),
    0x18: ('will_delay', 'u32'),
    0x19: ('request_response_info', 'byte'),
    0x1A: ('response_info', 'str'),
    0x1C: ('server_reference', 'str'),
    0x1F: ('reason_string', 'str'),
    0x21: ('receive_maximum', 'u16'),
    0x22: ('topic_alias_maximum', 'u16'),
    0x23: ('topic_alias', 'u16'),
    0x24: ('maximum_qos', 'byte'),
    0x25: ('retain_available', 'byte'),
    0x26: ('user_property', 'pair'),
    0x27: ('maximum_packet_size', 'u32'),
    0x28: ('wildcard_sub_available', 'byte'),
    0x29: ('sub_id_available', 'byte'),
    0x2A: ('shared_sub_available', 'byte'),
}
PROP_IDS = {v[0]: k for k, v in PROPS.items()}
# Properties that may appear more than once: decoded into lists.
MULTI = ('user_property', 'subscription_id')


class Closed(Exception):
    """The broker closed the connection."""


class Violation(Exception):
    """The broker sent something the protocol does not allow."""


# ---- encoding -------------------------------------------------------------

def varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        if n:
            b |= 0x80
        out.append(b)
        if not n:
            return bytes(out)


def u16(n):
    return struct.pack('!H', n)


def u32(n):
    return struct.pack('!I', n)


def bstr(b):
    return u16(len(b)) + b


def ustr(s):
    if isinstance(s, str):
        s = s.encode('utf-8')
    return bstr(s)


def _prop_value(typ, v):
    if typ == 'byte':
        return bytes([v])
    if typ == 'u16':
        return u16(v)
    if typ == 'u32':
        return u32(v)
    if typ == 'varint':
        return varint(v)
    if typ == 'str':
        return ustr(v)
    if typ == 'bin':
        return bstr(v if isinstance(v, bytes) else v.encode())
    if typ == 'pair':
        return ustr(v[0]) + ustr(v[1])
    raise ValueError(typ)


def props(p):
    """Encode properties: a dict (lists for user_property/subscription_id)
    or a list of (name, value) pairs, to keep order or repeat a property."""
    if p is None:
        p = {}
    items = []
    if isinstance(p, dict):
        for name, v in p.items():
            if name in MULTI and isinstance(v, list):
                items.extend((name, x) for x in v)
            else:
                items.append((name, v))
    else:
        items = list(p)
    body = b''
    for name, v in items:
        pid = PROP_IDS[name]
        body += varint(pid) + _prop_value(PROPS[pid][1], v)
    return varint(len(body)) + body


def packet(ptype, flags, body):
    return bytes([(ptype << 4) | flags]) + varint(len(body)) + body


def connect(version=4, client_id='', clean=True, keepalive=60, will=None,
            username=None, password=None, prop=None, reserved=False):
    """CONNECT.  version 3 (3.1), 4 (3.1.1) or 5.  will is a dict:
    topic, payload, qos, retain, props (5.0)."""
    name = b'MQIsdp' if version == 3 else b'MQTT'
    flags = 0
    if clean:
        flags |= 0x02
    if will is not None:
        flags |= 0x04 | (will.get('qos', 0) << 3)
        if will.get('retain'):
            flags |= 0x20
    if password is not None:
        flags |= 0x40
    if username is not None:
        flags |= 0x80
    if reserved:
        flags |= 0x01
    body = bstr(name) + bytes([version, flags]) + u16(keepalive)
    if version == 5:
        body += props(prop)
    body += ustr(client_id)
    if will is not None:
        if version == 5:
            body += props(will.get('props'))
        body += ustr(will['topic'])
        pl = will.get('payload', b'')
        body += bstr(pl if isinstance(pl, bytes) else pl.encode())
    if username is not None:
        body += ustr(username)
    if password is not None:
        body += bstr(password if isinstance(password, bytes)
                     else password.encode())
    return packet(CONNECT, 0, body)


def publish(topic, payload=b'', qos=0, retain=False, dup=False, pid=None,
            version=4, prop=None):
    if isinstance(payload, str):
        payload = payload.encode()
    flags = (qos << 1) | (1 if retain else 0) | (8 if dup else 0)
    body = ustr(topic)
    if qos > 0:
        body += u16(pid)
    if version == 5:
        body += props(prop)
    return packet(PUBLISH, flags, body + payload)


def ack(ptype, pid, rc=None, version=4, prop=None):
    """PUBACK, PUBREC, PUBREL or PUBCOMP."""
    body = u16(pid)
    if version == 5 and (rc not in (None, 0) or prop):
        body += bytes([rc or 0])
        if prop:
            body += props(prop)
    return packet(ptype, 2 if ptype == PUBREL else 0, body)


def subscribe(pid, subs, version=4, prop=None):
    """subs: list of (filter, options byte) or (filter, qos)."""
    body = u16(pid)
    if version == 5:
        body += props(prop)
    for f, opts in subs:
        body += ustr(f) + bytes([opts])
    return packet(SUBSCRIBE, 2, body)


def sub_opts(qos=0, nl=False, rap=False, rh=0):
    return qos | (4 if nl else 0) | (8 if rap else 0) | (rh << 4)


def unsubscribe(pid, filters, version=4, prop=None):
    body = u16(pid)
    if version == 5:
        body += props(prop)
    for f in filters:
        body += ustr(f)
    return packet(UNSUBSCRIBE, 2, body)


def pingreq():
    return packet(PINGREQ, 0, b'')


def disconnect(rc=0, version=4, prop=None):
    if version == 5 and (rc or prop):
        return packet(DISCONNECT, 0, bytes([rc]) + props(prop))
    return packet(DISCONNECT, 0, b'')


# ---- decoding -------------------------------------------------------------

class Packet:
    def __init__(self, ptype, flags, raw):
        self.type = ptype
        self.name = NAMES.get(ptype, '?')
        self.flags = flags
        self.raw = raw
        self.props = {}
        self.rc = 0

    def __repr__(self):
        d = {k: v for k, v in self.__dict__.items()
             if k not in ('raw', 'type', 'flags') and v not in ({}, None)}
        return '<%s %r>' % (self.name, d)


class Reader:
    def __init__(self, data):
        self.d = data
        self.i = 0

    def left(self):
        return len(self.d) - self.i

    def take(self, n):
        if self.i + n > len(self.d):
            raise Violation('packet too short')
        b = self.d[self.i:self.i + n]
        self.i += n
        return b

    def byte(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack('!H', self.take(2))[0]

    def u32(self):
        return struct.unpack('!I', self.take(4))[0]

    def varint(self):
        n, mul = 0, 1
        for _ in range(4):
            b = self.byte()
            n += (b & 0x7F) * mul
            if not b & 0x80:
                return n
            mul *= 128
        raise Violation('bad variable byte integer')

    def bin(self):
        return self.take(self.u16())

    def str(self):
        b = self.bin()
        try:
            s = b.decode('utf-8')
        except UnicodeDecodeError:
            raise Violation('invalid UTF-8 from broker: %r' % b)
        if '\x00' in s:
            raise Violation('U+0000 in string from broker')
        return s

    def props(self):
        n = self.varint()
        end = self.i + n
        if end > len(self.d):
            raise Violation('properties overrun')
        out = {}
        while self.i < end:
            pid = self.varint()
            if pid not in PROPS:
                raise Violation('unknown property 0x%02x' % pid)
            name, typ = PROPS[pid]
            if typ == 'pair':
                v = (self.str(), self.str())
            else:
                v = getattr(self, typ)()
            if name in MULTI:
                out.setdefault(name, []).append(v)
            elif name in out:
                raise Violation('property %s twice' % name)
            else:
                out[name] = v
        if self.i != end:
            raise Violation('properties length mismatch')
        return out


def decode(ptype, flags, body, version):
    p = Packet(ptype, flags, body)
    r = Reader(body)
    v5 = version == 5
    if ptype == CONNACK:
        p.session_present = r.byte() & 1
        p.rc = r.byte()
        if v5 and r.left():
            p.props = r.props()
    elif ptype == PUBLISH:
        p.qos = (flags >> 1) & 3
        p.retain = flags & 1
        p.dup = (flags >> 3) & 1
        if p.qos == 3:
            raise Violation('PUBLISH with QoS 3')
        p.topic = r.str()
        p.pid = r.u16() if p.qos else None
        if v5:
            p.props = r.props()
        p.payload = r.take(r.left())
        return p
    elif ptype in (PUBACK, PUBREC, PUBREL, PUBCOMP):
        p.pid = r.u16()
        if v5 and r.left():
            p.rc = r.byte()
            if r.left():
                p.props = r.props()
    elif ptype in (SUBACK, UNSUBACK):
        p.pid = r.u16()
        if v5:
            p.props = r.props()
        p.codes = list(r.take(r.left()))
    elif ptype in (PINGRESP,):
        pass
    elif ptype == DISCONNECT:
        if r.left():
            p.rc = r.byte()
            if r.left():
                p.props = r.props()
    elif ptype == AUTH:
        if r.left():
            p.rc = r.byte()
            if r.left():
                p.props = r.props()
    else:
        raise Violation('server sent %s' % p.name)
    if r.left():
        raise Violation('%s: %d trailing bytes' % (p.name, r.left()))
    return p


# ---- client ---------------------------------------------------------------

class Client:
    """One raw connection.  Incoming packets that a wait does not ask for
    are kept in self.inbox in arrival order.  With auto_ack, QoS 1/2
    PUBLISH and PUBREL are acknowledged as they arrive."""

    def __init__(self, port, version=4, host='127.0.0.1', auto_ack=True,
                 timeout=5.0):
        self.version = version
        self.auto_ack = auto_ack
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b''
        self.inbox = []
        self.closed = False
        self.next_pid = 1
        self.aliases = {}       # server -> client topic aliases

    # -- raw I/O
    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            d = self.sock.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            d = b''
        if not d:
            self.closed = True
            raise Closed()
        self.buf += d
        return True

    def _parse_one(self):
        b = self.buf
        if len(b) < 2:
            return None
        n, mul, i = 0, 1, 1
        while True:
            if i >= len(b):
                return None
            c = b[i]
            n += (c & 0x7F) * mul
            mul *= 128
            i += 1
            if not c & 0x80:
                break
            if i > 4:
                raise Violation('bad remaining length from broker')
        if len(b) < i + n:
            return None
        ptype, flags = b[0] >> 4, b[0] & 0xF
        body = b[i:i + n]
        self.buf = b[i + n:]
        want = 2 if ptype in (PUBREL, SUBSCRIBE, UNSUBSCRIBE) else None
        if ptype != PUBLISH and want is None and flags:
            raise Violation('%s with flags %x' % (NAMES[ptype], flags))
        p = decode(ptype, flags, body, self.version)
        if ptype == PUBLISH and self.version == 5:
            self._alias_in(p)
        return p

    def _alias_in(self, p):
        a = p.props.get('topic_alias')
        if a is None:
            return
        if p.topic:
            self.aliases[a] = p.topic
        elif a in self.aliases:
            p.topic = self.aliases[a]
            p.via_alias = True
        else:
            raise Violation('unknown topic alias %d from broker' % a)

    def _handle(self, p):
        if not self.auto_ack:
            return
        v = self.version
        if p.type == PUBLISH and p.qos == 1:
            self.send(ack(PUBACK, p.pid, version=v))
        elif p.type == PUBLISH and p.qos == 2:
            self.send(ack(PUBREC, p.pid, version=v))
        elif p.type == PUBREL:
            self.send(ack(PUBCOMP, p.pid, version=v))

    def _read(self, deadline):
        """Next packet from the socket or None at the deadline."""
        while True:
            p = self._parse_one()
            if p is not None:
                self._handle(p)
                return p
            if not self._fill(deadline):
                return None

    def wait(self, pred, timeout=None, what='packet'):
        """Return the first packet (inbox first) for which pred is true;
        others stay in the inbox.  Raises AssertionError on timeout and
        Closed if the connection closes first."""
        if isinstance(pred, int):
            t = pred
            pred = lambda p: p.type == t
            what = NAMES[t]
        for i, p in enumerate(self.inbox):
            if pred(p):
                return self.inbox.pop(i)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            p = self._read(deadline)
            if p is None:
                raise AssertionError('timeout waiting for %s (inbox: %r)'
                                     % (what, self.inbox[-5:]))
            if pred(p):
                return p
            self.inbox.append(p)

    def poll(self, timeout=0.3):
        """Read whatever arrives within timeout into the inbox; returns
        the inbox.  A close is recorded in self.closed."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                p = self._read(deadline)
                if p is None:
                    break
                self.inbox.append(p)
        except Closed:
            pass
        return self.inbox

    def publishes(self, timeout=0.3):
        """Drain and return PUBLISH packets that arrived within timeout."""
        self.poll(timeout)
        out = [p for p in self.inbox if p.type == PUBLISH]
        self.inbox = [p for p in self.inbox if p.type != PUBLISH]
        return out

    def collect(self, n, extra=0.3, timeout=None):
        """PUBLISH packets: wait (up to timeout) until n arrived, then
        keep reading for extra seconds to catch any beyond n.  Does not
        fail: the caller checks what came."""
        deadline = time.monotonic() + (timeout or self.timeout)
        out = []
        while len(out) < n and time.monotonic() < deadline:
            out += self.publishes(min(0.05, deadline - time.monotonic()))
            if self.closed:
                break
        return out + self.publishes(extra)

    def wait_publishes(self, n, timeout=None):
        """Exactly wait for n PUBLISH packets (in order)."""
        out = []
        for _ in range(n):
            out.append(self.wait(PUBLISH, timeout))
        return out

    def wait_closed(self, timeout=None):
        """Wait until the broker closes the connection; returns the list of
        packets that arrived before the close (e.g. a DISCONNECT).  Raises
        AssertionError if it stays open."""
        deadline = time.monotonic() + (timeout or self.timeout)
        try:
            while True:
                p = self._read(deadline)
                if p is None:
                    raise AssertionError('connection still open; got %r'
                                         % self.inbox[-5:])
                self.inbox.append(p)
        except Closed:
            pass
        got, self.inbox = self.inbox, []
        return got

    def is_open(self, timeout=0.3):
        try:
            self.poll(timeout)
        except Closed:
            pass
        return not self.closed

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True

    def pid(self):
        p = self.next_pid
        self.next_pid = p % 65535 + 1
        return p

    # -- flows
    def connect(self, client_id='', clean=True, keepalive=60, will=None,
                username=None, password=None, prop=None, expect_rc=0):
        self.send(connect(self.version, client_id, clean, keepalive, will,
                          username, password, prop))
        ca = self.wait(CONNACK)
        if expect_rc is not None and ca.rc != expect_rc:
            raise AssertionError('CONNACK rc 0x%02x, want 0x%02x %r'
                                 % (ca.rc, expect_rc, ca))
        return ca

    def subscribe(self, *subs, prop=None):
        """subs: filters (QoS 0), or (filter, options) pairs."""
        subs = [s if isinstance(s, tuple) else (s, 0) for s in subs]
        pid = self.pid()
        self.send(subscribe(pid, subs, self.version, prop))
        sa = self.wait(lambda p: p.type == SUBACK and p.pid == pid,
                       what='SUBACK')
        return sa

    def unsubscribe(self, *filters, prop=None):
        pid = self.pid()
        self.send(unsubscribe(pid, filters, self.version, prop))
        return self.wait(lambda p: p.type == UNSUBACK and p.pid == pid,
                         what='UNSUBACK')

    def publish(self, topic, payload=b'', qos=0, retain=False, prop=None,
                wait_ack=True):
        """Publish and complete the QoS flow; returns the final ack
        (PUBACK, PUBCOMP or PUBREC with an error) or None for QoS 0."""
        pid = self.pid() if qos else None
        self.send(publish(topic, payload, qos, retain, False, pid,
                          self.version, prop))
        if qos == 0 or not wait_ack:
            return pid
        if qos == 1:
            return self.wait(lambda p: p.type == PUBACK and p.pid == pid,
                             what='PUBACK')
        rec = self.wait(lambda p: p.type == PUBREC and p.pid == pid,
                        what='PUBREC')
        if rec.rc >= 0x80:
            return rec
        self.send(ack(PUBREL, pid, version=self.version))
        return self.wait(lambda p: p.type == PUBCOMP and p.pid == pid,
                         what='PUBCOMP')

    def ping(self):
        self.send(pingreq())
        return self.wait(PINGRESP)

    def disconnect(self, rc=0, prop=None):
        try:
            self.send(disconnect(rc, self.version, prop))
        except OSError:
            pass
        self.close()
