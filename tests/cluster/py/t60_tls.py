# SPDX-License-Identifier: MIT
"""Cases of 60-tls.sh over Python's ssl module and the raw client: TLS 1.2
and 1.3, refused versions, certificate checks, client certificates, the
certificate's CN as username, and a certificate reload on SIGHUP with a
live TLS connection.

    t60_tls.py open PORT CADIR          listener without client certificates
    t60_tls.py strict PORT CADIR        require_certificate and identity
    t60_tls.py reload PORT CADIR        after the shell swapped server.crt
Environment: MQTTD_PID, NODE_LOG (for reload)."""

import os
import signal
import socket
import ssl
import sys
import warnings

import mqttraw as m
from tcase import case, check, eq, run, uid, until

MODE, PORT, CADIR = sys.argv[1], int(sys.argv[2]), sys.argv[3]
warnings.simplefilter('ignore', DeprecationWarning)
sys.argv[1:] = []


def ctx(version=None, cert=None):
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.load_verify_locations(os.path.join(CADIR, 'ca.crt'))
    if version is not None:
        c.minimum_version = version
        c.maximum_version = version
    if cert is not None:
        c.load_cert_chain(os.path.join(CADIR, cert + '.crt'),
                          os.path.join(CADIR, cert + '.key'))
    return c


class TLSClient(m.Client):
    """The raw MQTT client over a TLS socket."""

    def __init__(self, port, version=4, context=None, timeout=5.0):
        self.version = version
        self.auto_ack = True
        self.timeout = timeout
        raw = socket.create_connection(('127.0.0.1', port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = (context or ctx()).wrap_socket(
            raw, server_hostname='localhost')
        self.buf = b''
        self.inbox = []
        self.closed = False
        self.next_pid = 1
        self.aliases = {}


def handshake_fails(context):
    try:
        c = TLSClient(PORT, 4, context)
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError) as e:
        return str(e) or type(e).__name__
    # TLS 1.3: the server's refusal of a client certificate arrives
    # after the client's handshake is done, with the first read.
    try:
        c.send(m.connect(4, uid('x')))
        c.wait(m.CONNACK, timeout=2)
    except (ssl.SSLError, m.Closed, ConnectionResetError,
            BrokenPipeError) as e:
        return str(e) or type(e).__name__
    return None


if MODE == 'open':
    @case
    def tls12_and_tls13():
        for v in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            t = uid('t')
            sub = TLSClient(PORT, 5, ctx(v))
            eq(sub.sock.version(), v.name.replace('v1_', 'v1.'),
               'negotiated')
            sub.connect(uid('s'))
            sub.subscribe(('tls/' + t, 1))
            pub = TLSClient(PORT, 4, ctx(v))
            pub.connect(uid('p'))
            for i in range(50):
                pub.publish('tls/' + t, b'%d' % i, qos=1)
            got = sub.wait_publishes(50)
            eq([p.payload for p in got], [b'%d' % i for i in range(50)],
               'payloads over ' + v.name)
            pub.disconnect()
            sub.disconnect()

    @case
    def large_messages_both_ways():
        t = uid('big')
        sub = TLSClient(PORT, 4)
        sub.connect(uid('s'))
        sub.subscribe(('big/' + t, 1))
        pub = TLSClient(PORT, 4)
        pub.connect(uid('p'))
        body = bytes(range(256)) * 1024      # 256 KiB: many records
        for _ in range(4):
            pub.publish('big/' + t, body, qos=1)
        got = sub.wait_publishes(4, timeout=10)
        check(all(p.payload == body for p in got), 'large payloads')
        pub.disconnect()
        sub.disconnect()

    @case
    def old_versions_refused():
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        c.load_verify_locations(os.path.join(CADIR, 'ca.crt'))
        try:
            c.minimum_version = ssl.TLSVersion.TLSv1_1
            c.maximum_version = ssl.TLSVersion.TLSv1_1
            c.set_ciphers('ALL:@SECLEVEL=0')
        except (ValueError, ssl.SSLError):
            print('    (this OpenSSL cannot even offer TLS 1.1: skipped)')
            return
        check(handshake_fails(c) is not None, 'TLS 1.1 accepted')

    @case
    def server_certificate_verifies():
        # The chain from the test CA, for localhost.
        c = TLSClient(PORT, 4)
        cert = c.sock.getpeercert()
        subj = dict(x[0] for x in cert['subject'])
        eq(subj.get('commonName'), 'localhost', 'server CN')
        c.connect(uid('v'))
        c.disconnect()

    @case
    def plain_mqtt_on_tls_port():
        c = m.Client(PORT, 4)
        c.send(m.connect(4, uid('plain')))
        c.wait_closed(timeout=5)

    @case
    def half_handshake_then_silence():
        # A ClientHello cut short: the CONNECT timeout closes it.
        s = socket.create_connection(('127.0.0.1', PORT))
        s.sendall(b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03')
        s.settimeout(15)
        check(s.recv(100) == b'', 'closed')
        s.close()

elif MODE == 'strict':
    @case
    def no_client_certificate_refused():
        why = handshake_fails(ctx())
        check(why is not None, 'connected without a client certificate')
        print('    without a certificate: %s' % why)

    @case
    def certificate_of_another_ca_refused():
        why = handshake_fails(ctx(cert='rogue'))
        check(why is not None, 'connected with a rogue certificate')

    @case
    def client_certificate_cn_is_the_username():
        for v in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            t = uid('c')
            c = TLSClient(PORT, 5, ctx(v, 'client1'))
            # No password: the certificate is the login; the ACL
            # names user client1.
            c.connect(uid('id'))
            eq(c.subscribe(('c1/' + t, 1), ('other/' + t, 1)).codes,
               [1, 0x87], 'SUBACK by the CN user')
            eq(c.publish('c1/' + t, b'x', qos=1).rc, 0, 'own topic')
            eq(c.wait(m.PUBLISH).payload, b'x', 'own message')
            eq(c.publish('other/' + t, b'x', qos=1).rc, 0x87, 'denied')
            c.disconnect()

    @case
    def a_username_does_not_beat_the_certificate():
        c = TLSClient(PORT, 5, ctx(cert='client1'))
        c.connect(uid('id'), username='admin', password='whatever')
        eq(c.subscribe(('admin/#', 1)).codes, [0x87], 'as admin')
        c.disconnect()

elif MODE == 'reload':
    @case
    def new_certificate_for_new_connections():
        old = TLSClient(PORT, 4)
        old.connect(uid('old'))
        old_serial = old.sock.getpeercert()['serialNumber']
        # The shell has put a new certificate in place; SIGHUP.
        with open(os.environ['NODE_LOG'], errors='replace') as f:
            n = f.read().count('tls: reloaded certificate')
        os.kill(int(os.environ['MQTTD_PID']), signal.SIGHUP)

        def reloaded():
            with open(os.environ['NODE_LOG'], errors='replace') as f:
                return f.read().count('tls: reloaded certificate') > n
        until(reloaded, 10, 'certificate reload')
        new = TLSClient(PORT, 4)
        new.connect(uid('new'))
        new_serial = new.sock.getpeercert()['serialNumber']
        check(new_serial != old_serial, 'same certificate after reload')
        subj = dict(x[0] for x in new.sock.getpeercert()['subject'])
        eq(subj.get('organizationName'), 'Tern reloaded', 'new subject')
        # The old connection is still served, with its old session.
        old.ping()
        t = uid('r')
        old.subscribe(('reload/' + t, 1))
        new.publish('reload/' + t, b'across', qos=1)
        eq(old.wait(m.PUBLISH).payload, b'across', 'old connection')
        old.disconnect()
        new.disconnect()

run()
