# SPDX-License-Identifier: MIT
"""Cases of 63-limits.sh: every limit bites, with its counter moving and
the connection treated as the limit says.  The node runs with
max_connections 10, max_message_size 2000, max_inflight_messages 5,
max_online_messages 20, max_offline_messages 10, max_publish_rate 50 and
max_write_buffer 16384.

Environment: NODE_PORT, NODE_CONF, NODE_LOG, TERNCTL, MQTTD_PID."""

import os
import signal
import socket
import subprocess
import time

import mqttraw as m
from tcase import case, check, eq, run, uid, until

PORT = int(os.environ['NODE_PORT'])
TERNCTL = os.environ['TERNCTL']
CONF = os.environ['NODE_CONF']
LOG = os.environ['NODE_LOG']


def metric(name):
    out = subprocess.run([TERNCTL, '-c', CONF, 'metrics', 'show'],
                         capture_output=True, text=True, timeout=10)
    for line in out.stdout.splitlines():
        k, _, v = line.partition(' ')
        if k == name:
            return int(v)
    raise AssertionError('no metric %s' % name)


def log_text():
    with open(LOG, errors='replace') as f:
        return f.read()


def hup():
    n = log_text().count('reload: done')
    os.kill(int(os.environ['MQTTD_PID']), signal.SIGHUP)
    until(lambda: log_text().count('reload: done') > n, 10, 'reload')


def client(version=4, cid=None, **kw):
    c = m.Client(PORT, version, **kw)
    c.connect(cid or uid('l'))
    return c


@case
def max_connections():
    n0 = metric('connections')
    held = [client() for _ in range(10 - n0)]
    lim = metric('limit_connections')
    c = m.Client(PORT, 5)
    eq(c.connect(uid('over'), expect_rc=None).rc, 0x88, '5.0 refusal')
    c.wait_closed()
    c = m.Client(PORT, 4)
    eq(c.connect(uid('over'), expect_rc=None).rc, 3, '3.1.1 refusal')
    c.wait_closed()
    eq(metric('limit_connections') - lim, 2, 'limit_connections moved')
    check('max_connections reached' in log_text(), 'log line')
    held.pop().disconnect()
    until(lambda: metric('connections') < 10, 5, 'a free slot')
    held.append(client())
    # SIGHUP raises the limit: one more fits, live.
    with open(CONF, 'a') as f:
        f.write('max_connections = 11\n')
    hup()
    held.append(client())
    c = m.Client(PORT, 4)
    eq(c.connect(uid('over'), expect_rc=None).rc, 3, 'the 12th')
    check('reload: max_connections: 10 -> 11' in log_text(),
          'reload logs the change')
    with open(CONF, 'a') as f:
        f.write('max_connections = 10\n')
    hup()
    for h in held:
        h.disconnect()
    until(lambda: metric('connections') <= n0, 5, 'clients gone')


@case
def max_message_size():
    n = metric('packets_too_large')
    c = client(5)
    c.send(m.publish('size/x', b'x' * 3000, qos=1, pid=1, version=5))
    got = c.wait_closed()
    check(any(p.type == m.DISCONNECT and p.rc == 0x95 for p in got),
          'DISCONNECT 0x95: %r' % got)
    c = client(4)
    c.publish('size/x', b'x' * 1800, qos=1)       # fits
    c.send(m.publish('size/x', b'x' * 3000, qos=1, pid=2))
    c.wait_closed()
    eq(metric('packets_too_large') - n, 2, 'packets_too_large moved')


@case
def inflight_inbound():
    c = m.Client(PORT, 5, auto_ack=False)
    ca = c.connect(uid('in'))
    eq(ca.props.get('receive_maximum'), 5, 'Receive Maximum')
    n = metric('inbound_quota_exceeded')
    for pid in range(1, 7):
        c.send(m.publish('infl/x', b'x', qos=2, pid=pid, version=5))
    got = c.wait_closed()
    check(any(p.type == m.DISCONNECT and p.rc == 0x93 for p in got),
          'DISCONNECT 0x93: %r' % got)
    eq(metric('inbound_quota_exceeded') - n, 1, 'counter moved')


@case
def inflight_outbound_and_online_queue():
    t = 'q/' + uid('t')
    sub = m.Client(PORT, 4, auto_ack=False)
    sub.connect(uid('s'))
    sub.subscribe((t, 1))
    pub = client()
    n = metric('dropped_queue_full')
    for i in range(35):
        pub.publish(t, b'%d' % i, qos=1)
    got = sub.collect(5, extra=0.5)
    eq(len(got), 5, 'in flight at once (max_inflight_messages)')
    # 5 in flight + 20 queued (max_online_messages); 10 dropped.
    until(lambda: metric('dropped_queue_full') - n >= 10, 5,
          'dropped_queue_full')
    eq(metric('dropped_queue_full') - n, 10, 'dropped')
    seen = []
    while True:
        for p in got:
            sub.send(m.ack(m.PUBACK, p.pid))
            seen.append(int(p.payload))
        got = sub.collect(1, extra=0.2, timeout=1)
        if not got:
            break
    eq(seen, list(range(25)), 'the oldest 25, in order')
    check('max_online_messages reached' in log_text(), 'log line')
    pub.disconnect()
    sub.disconnect()


@case
def offline_queue():
    t = 'off/' + uid('t')
    cid = uid('off')
    sub = m.Client(PORT, 4)
    sub.connect(cid, clean=False)
    sub.subscribe((t, 1))
    sub.disconnect()
    pub = client()
    n = metric('dropped_queue_full')
    for i in range(25):
        pub.publish(t, b'%d' % i, qos=1)
    until(lambda: metric('dropped_queue_full') - n >= 15, 5, 'drops')
    sub = m.Client(PORT, 4)
    sub.connect(cid, clean=False)
    got = sub.collect(10, extra=0.5)
    eq([int(p.payload) for p in got], list(range(10)),
       'max_offline_messages kept, oldest first')
    sub.disconnect()
    c = m.Client(PORT, 4)
    c.connect(cid, clean=True)
    c.disconnect()
    pub.disconnect()


@case
def publish_rate():
    t = 'rate/' + uid('t')
    sub = client()
    sub.subscribe((t, 0))
    pid = uid('fast')
    pub = client(cid=pid)
    n = metric('limit_publish_rate')
    t0 = time.monotonic()
    # 150 QoS 0 PUBLISH in one write, then a PINGREQ behind them.
    pub.send(b''.join(m.publish(t, b'%d' % i) for i in range(150)) +
             m.pingreq())
    got = sub.collect(150, extra=0.2, timeout=10)
    dt = time.monotonic() - t0
    eq([int(p.payload) for p in got], list(range(150)),
       'every message, in order (held, not dropped)')
    # Three seconds' worth: at least two second boundaries to wait for.
    check(dt >= 1.0, '150 messages at 50/s took only %.2f s' % dt)
    pub.wait(m.PINGRESP)
    check(metric('limit_publish_rate') - n >= 2, 'limit_publish_rate')
    # One log line for this client per interval, not one per pause.
    lines = [l for l in log_text().splitlines()
             if 'max_publish_rate' in l and pid in l]
    check(1 <= len(lines) <= 2, 'rate-limited log lines: %d' % len(lines))
    check(pub.is_open(0.1), 'publisher disconnected')
    pub.disconnect()
    sub.disconnect()


@case
def write_buffer_slow_reader():
    t = 'slow/' + uid('t')
    # The flood needs no rate limit: lifted by SIGHUP, live.
    with open(CONF, 'a') as f:
        f.write('max_publish_rate = 0\n')
    hup()
    slow = m.Client(PORT, 4)
    slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(uid('slow'))
    slow.subscribe((t, 0))
    ok = client()
    ok.subscribe((t, 0))
    pub = client()
    n_slow = metric('dropped_qos0_slow')
    n_buf = metric('limit_write_buffer')
    body = b'z' * 1900
    sent = 0
    # One message at a time, which the reading subscriber takes each
    # time (below max_write_buffer): only the one that does not read
    # loses.  The kernel's socket buffers take a few MB first.
    while sent < 8000 and (sent % 200 or
                           metric('dropped_qos0_slow') - n_slow < 100):
        pub.send(m.publish(t, body))
        ok.wait(m.PUBLISH, timeout=5)
        sent += 1
    dropped = metric('dropped_qos0_slow') - n_slow
    print('    the subscriber that does not read lost %d of %d (%d MB)'
          % (dropped, sent, sent * 19 // 10000))
    check(dropped >= 100, 'dropped_qos0_slow')
    check(ok.is_open(0.1), 'the reading subscriber is connected')
    check(metric('limit_write_buffer') - n_buf >= 1, 'limit_write_buffer')
    check('output over max_write_buffer' in log_text(), 'log line')
    slow.close()
    ok.disconnect()
    pub.disconnect()


if __name__ == '__main__':
    run()
