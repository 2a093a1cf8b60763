# SPDX-License-Identifier: MIT
"""Cases of 64-hostile.sh: clients that misbehave on purpose.  Each case
checks that only the misbehaving connection suffers; the shell keeps a
steady publisher and subscriber running throughout and measures memory.

    t64_hostile.py input PORT WSPORT TLSPORT CAFILE
        garbage, half packets, huge remaining lengths, over TCP, TLS and
        WebSocket
    t64_hostile.py idle PORT WSPORT TLSPORT N
        N connections (spread over the listeners) that never send
        CONNECT: all open at once, all closed by the CONNECT timeout,
        while new clients are served
    t64_hostile.py nonreader PORT WSPORT TLSPORT CAFILE MB PIDFILE
        subscribers (TCP, WebSocket, TLS) that never read, and MB
        megabytes published past them; writes RSS samples to stdout

Environment: NODE_CONF, TERNCTL."""

import base64
import os
import random
import resource
import socket
import ssl
import struct
import subprocess
import sys
import time

import mqttraw as m
from tcase import case, check, eq, run, uid, until

MODE = sys.argv[1]
PORT, WSPORT, TLSPORT = (int(x) for x in sys.argv[2:5])
ARGS = sys.argv[5:]
sys.argv[1:] = []
TERNCTL = os.environ['TERNCTL']
CONF = os.environ['NODE_CONF']
rnd = random.Random(6464)


def metric(name):
    out = subprocess.run([TERNCTL, '-c', CONF, 'metrics', 'show'],
                         capture_output=True, text=True, timeout=10)
    for line in out.stdout.splitlines():
        k, _, v = line.partition(' ')
        if k == name:
            return int(v)
    raise AssertionError('no metric %s' % name)


def tls_ctx():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.load_verify_locations(ARGS[0])
    return c


def open_raw(kind, timeout=5):
    """A socket ready for MQTT bytes: tcp, tls or ws (upgraded; returns a
    function that frames what is sent)."""
    s = socket.create_connection(('127.0.0.1', {'tcp': PORT, 'tls': TLSPORT,
                                               'ws': WSPORT}[kind]),
                                 timeout=timeout)
    if kind == 'tls':
        s = tls_ctx().wrap_socket(s, server_hostname='localhost')
    if kind != 'ws':
        return s, lambda b: b
    key = base64.b64encode(os.urandom(16))
    s.sendall(b'GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n'
              b'Connection: Upgrade\r\nSec-WebSocket-Key: ' + key +
              b'\r\nSec-WebSocket-Version: 13\r\n'
              b'Sec-WebSocket-Protocol: mqtt\r\n\r\n')
    head = b''
    while b'\r\n\r\n' not in head:
        d = s.recv(1)
        check(d, 'upgrade refused')
        head += d
    check(head.startswith(b'HTTP/1.1 101'), 'upgrade: %r' % head)

    def frame(b):
        k = os.urandom(4)
        n = len(b)
        h = bytes([0x82]) + (bytes([0x80 | n]) if n < 126 else
                             bytes([0x80 | 126]) + struct.pack('!H', n)
                             if n < 65536 else bytes([0x80 | 127]) +
                             struct.pack('!Q', n))
        return h + k + bytes(x ^ k[i % 4] for i, x in enumerate(b))
    return s, frame


def closed_within(s, secs):
    """True if the server closes s within secs (what it sends is read
    and dropped)."""
    s.settimeout(0.5)
    end = time.monotonic() + secs
    while time.monotonic() < end:
        try:
            if s.recv(65536) == b'':
                return True
        except socket.timeout:
            continue
        except (ConnectionResetError, ssl.SSLError, OSError):
            return True
    return False


def still_served():
    c = m.Client(PORT, 4)
    c.connect(uid('probe'))
    c.ping()
    c.disconnect()


if MODE == 'input':
    @case
    def garbage():
        # All at once: those whose junk starts a plausible packet wait
        # for the CONNECT timeout or the keep alive, together.
        socks = []
        for kind in ('tcp', 'tls', 'ws'):
            for i in range(30):
                s, frame = open_raw(kind)
                junk = bytes(rnd.randrange(256)
                             for _ in range(rnd.randrange(1, 3000)))
                if i % 2:
                    # A CONNECT first, then junk: a packet it starts may
                    # wait for more, within the keep alive of 2 s.
                    s.sendall(frame(m.connect(4, uid('g'), keepalive=2)))
                try:
                    s.sendall(frame(junk))
                except (BrokenPipeError, ConnectionResetError):
                    pass
                socks.append((kind, i, s))
        deadline = time.monotonic() + 15
        for kind, i, s in socks:
            check(closed_within(s, max(0.5, deadline - time.monotonic())),
                  '%s garbage %d: still open' % (kind, i))
            s.close()
        still_served()

    @case
    def huge_remaining_lengths():
        for kind in ('tcp', 'tls', 'ws'):
            # Before CONNECT: a CONNECT of 256 MB announced.
            s, frame = open_raw(kind)
            s.sendall(frame(b'\x10\xff\xff\xff\x7f'))
            check(closed_within(s, 3), kind + ': huge CONNECT')
            # After CONNECT: a PUBLISH of 256 MB announced.
            s, frame = open_raw(kind)
            s.sendall(frame(m.connect(5, uid('h'))))
            s.sendall(frame(b'\x30\xff\xff\xff\x7f' + b'\x00' * 100))
            check(closed_within(s, 3), kind + ': huge PUBLISH')
            # A remaining length of 5 bytes.
            s, frame = open_raw(kind)
            s.sendall(frame(m.connect(4, uid('h'))))
            s.sendall(frame(b'\x30\xff\xff\xff\xff\x01'))
            check(closed_within(s, 3), kind + ': 5-byte length')
        still_served()

    @case
    def half_packets():
        n = metric('connect_timeouts')
        socks = []
        for kind in ('tcp', 'tls', 'ws'):
            # Half a CONNECT, then nothing: the CONNECT timeout.
            s, frame = open_raw(kind)
            s.sendall(frame(m.connect(4, uid('half'))[:9]))
            socks.append(s)
        # Half a PUBLISH after a CONNECT with keep alive 1: closed by
        # keep alive (1.5 s).
        c = m.Client(PORT, 4)
        c.connect(uid('half'), keepalive=1)
        c.send(m.publish('half/x', b'y' * 100)[:50])
        c.wait_closed(timeout=5)
        for s in socks:
            check(closed_within(s, 15), 'half CONNECT still open')
        check(metric('connect_timeouts') - n >= 3, 'connect_timeouts')
        still_served()

    @case
    def byte_by_byte_is_fine():
        # Slow but valid is not hostile: a CONNECT and a PUBLISH one
        # byte at a time are served.
        t = uid('slow')
        sub = m.Client(PORT, 4)
        sub.connect(uid('s'))
        sub.subscribe(('bb/' + t, 0))
        c = m.Client(PORT, 4)
        for b in m.connect(4, uid('bb')) + m.publish('bb/' + t, b'one'):
            c.send(bytes([b]))
            time.sleep(0.002)
        c.wait(m.CONNACK)
        eq(sub.wait(m.PUBLISH).payload, b'one', 'byte by byte')
        c.disconnect()
        sub.disconnect()

elif MODE == 'idle':
    @case
    def many_connections_without_connect():
        n = int(ARGS[0])
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < n + 100:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        t0 = time.monotonic()
        timeouts = metric('connect_timeouts')
        socks = []
        for i in range(n):
            # Mostly TCP; some on the TLS and WebSocket ports (no
            # handshake, no upgrade: just as idle).
            port = (TLSPORT if i % 10 == 1 else WSPORT if i % 10 == 2 else
                    PORT)
            s = socket.socket()
            s.setblocking(True)
            s.connect(('127.0.0.1', port))
            socks.append(s)
        print('    %d idle connections opened in %.1f s'
              % (n, time.monotonic() - t0))
        until(lambda: metric('sockets') >= n, 10, 'broker sees them')
        # Meanwhile others are served.
        for _ in range(5):
            still_served()
        # All closed by the CONNECT timeout (10 s after they opened).
        until(lambda: metric('connect_timeouts') - timeouts >= n, 25,
              'CONNECT timeouts')
        for s in socks[:50]:
            check(closed_within(s, 2), 'idle socket still open')
        for s in socks:
            s.close()
        until(lambda: metric('sockets') < 10, 10, 'sockets freed')
        still_served()

elif MODE == 'nonreader':
    @case
    def subscribers_that_never_read():
        mb, pidfile = int(ARGS[1]), ARGS[2]
        with open(pidfile) as f:
            pid = int(f.read())

        def rss():
            with open('/proc/%d/status' % pid) as f:
                for line in f:
                    if line.startswith('VmRSS:'):
                        return int(line.split()[1])
        t = 'nr/' + uid('t')
        stuck = []
        for kind in ('tcp', 'tls', 'ws'):
            for qos in (0, 1):
                s, frame = open_raw(kind)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.sendall(frame(m.connect(4, uid('nr'))))
                s.sendall(frame(m.subscribe(1, [(t, qos)])))
                stuck.append(s)
        time.sleep(0.3)
        pub = m.Client(PORT, 4)
        pub.connect(uid('flood'))
        body = os.urandom(10000)
        before = rss()
        samples = []
        sent = 0
        while sent < mb * 100:
            # QoS 1: the QoS 1 subscribers queue it, the QoS 0 ones get
            # it at QoS 0.
            pub.send(b''.join(m.publish(t, body, qos=1, pid=pid % 65535 + 1)
                              for pid in range(sent, sent + 100)))
            sent += 100
            pub.ping()
            pub.inbox = []
            if sent % 2000 == 0:
                samples.append(rss())
        after = rss()
        print('    VmRSS before %d kB, after %d MB published %d kB, max '
              '%d kB' % (before, mb, after, max(samples + [after])))
        # max_write_buffer 1 MB and max_online_messages 100 of 10 kB:
        # about 2 MB per stuck subscriber, 6 of them (more under ASan).
        bound = int(os.environ.get('MEM_BOUND_MB', '40'))
        check(max(samples + [after]) - before < bound * 1024,
              'memory grew by %d kB' % (max(samples + [after]) - before))
        check(metric('dropped_qos0_slow') > 0, 'dropped_qos0_slow')
        check(metric('dropped_queue_full') > 0, 'dropped_queue_full')
        for s in stuck:
            s.close()
        pub.disconnect()
        until(lambda: metric('connections') <= 2, 10, 'stuck ones gone')

run()
