# SPDX-License-Identifier: MIT
"""HTTP side of 72-http-metrics.sh: fetch and check clusterd's /metrics
(parsed with prometheus_client's text parser) and /health, and hostile or
odd HTTP requests on raw sockets.  Only ever talks to 127.0.0.1.

    t72_http.py fmt HPORT NODENAME      format and required families
    t72_http.py val HPORT NAME [LABEL=VALUE]   prints a sample ("absent")
    t72_http.py health HPORT CODE [WORD]   exit 0 when /health answers CODE
                                        (and its body contains WORD)
    t72_http.py agree HPORT CONF TERNCTL   /metrics == ternctl metrics show
    t72_http.py raw HPORT               404/405/400/414/431/505, HEAD, ...
    t72_http.py limits HPORT            idle timeout, connection limit
"""

import http.client
import re
import socket
import subprocess
import sys
import time

from prometheus_client.parser import text_string_to_metric_families

HOST = '127.0.0.1'
MAX_CONNS = 64          # HTTP_MAX_CONNS in clusterd/clusterd.h
TIMEOUT_S = 5           # HTTP_TIMEOUT_MS


def fail(msg):
    print('t72_http: ' + msg, file=sys.stderr)
    sys.exit(1)


def get(port, path, method='GET'):
    """(status, headers, body) of one request; http.client never uses a
    proxy."""
    c = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, r.headers, r.read().decode()
    finally:
        c.close()


def scrape(port):
    """{(sample name, frozenset(labels)): value} and the raw text."""
    st, hdr, text = get(port, '/metrics')
    if st != 200:
        fail('/metrics answered %d' % st)
    ctype = hdr.get('Content-Type', '')
    if not ctype.startswith('text/plain; version=0.0.4'):
        fail('/metrics Content-Type %r' % ctype)
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out, text


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def cmd_fmt(port, nodename):
    samples, text = scrape(port)
    typed, helped, seen_type = {}, set(), set()
    for line in text.splitlines():
        m = re.match(r'# TYPE (\S+) (\S+)$', line)
        if m:
            if m.group(1) in seen_type:
                fail('second TYPE line for ' + m.group(1))
            seen_type.add(m.group(1))
            typed[m.group(1)] = m.group(2)
            continue
        m = re.match(r'# HELP (\S+) .+$', line)
        if m:
            helped.add(m.group(1))
            continue
        if line.startswith('#') or not line:
            continue
        name = re.match(r'[a-zA-Z_:][a-zA-Z0-9_:]*', line).group(0)
        if name not in typed or name not in helped:
            fail('sample %s has no TYPE/HELP before it' % name)
        if not name.startswith('tern_'):
            fail('metric outside tern_: ' + name)
        if typed[name] not in ('counter', 'gauge'):
            fail('%s has type %s' % (name, typed[name]))
        if (typed[name] == 'counter') != name.endswith('_total'):
            fail('%s: counters, and only counters, end in _total' % name)
    for fam in text_string_to_metric_families(text):
        if fam.type not in ('counter', 'gauge'):
            fail('family %s parsed as %s' % (fam.name, fam.type))
    for d in ('mqttd', 'storaged', 'clusterd'):
        if value(samples, 'tern_daemon_up', daemon=d) != 1:
            fail('tern_daemon_up{daemon="%s"} is not 1' % d)
    if value(samples, 'tern_cluster_node_up', node=nodename) != 1:
        fail('tern_cluster_node_up{node="%s"} is not 1' % nodename)
    if value(samples, 'tern_cluster_node_leader', node=nodename) != 1:
        fail('a node alone is not its own leader')
    if value(samples, 'tern_cluster_joined') != 1:
        fail('tern_cluster_joined is not 1')
    need = ['tern_mqttd_connections', 'tern_mqttd_queued_messages',
            'tern_mqttd_inflight_messages', 'tern_mqttd_bytes_in_total',
            'tern_mqttd_bytes_out_total', 'tern_mqttd_messages_in_total',
            'tern_mqttd_messages_out_total',
            'tern_mqttd_dropped_queue_full_total',
            'tern_storaged_commits_total', 'tern_storaged_commit_us_total',
            'tern_storaged_queue_entries', 'tern_clusterd_raft_term',
            'tern_clusterd_cluster_nodes']
    for q in range(3):
        need.append('tern_mqttd_messages_in_qos%d_total' % q)
        need.append('tern_mqttd_messages_out_qos%d_total' % q)
    for n in need:
        if value(samples, n) is None:
            fail('no ' + n)
    print('format ok: %d samples, %d families' % (len(samples),
                                                  len(typed)))


def cmd_val(port, name, *labels):
    samples, _ = scrape(port)
    kv = dict(x.split('=', 1) for x in labels)
    v = value(samples, name, **kv)
    print('absent' if v is None else '%d' % v)


def cmd_health(port, code, word=None):
    st, _, body = get(port, '/health')
    print('%d %s' % (st, body.strip()))
    ok = st == int(code) and (word is None or word in body)
    sys.exit(0 if ok else 1)


def cmd_agree(port, conf, ternctl):
    """Every number of `ternctl metrics show` equals its /metrics sample,
    but for those that move by themselves (the polls and this query are
    IPC traffic too).  Retried: /metrics is a cache of up to a second."""
    moving = re.compile(r'^(clusterd_(ipc_|status_requests|link_)|'
                        r'storaged_storaged_(requests|disk_))')
    deadline = time.monotonic() + 10
    while True:
        out = subprocess.run([ternctl, '-c', conf, 'metrics', 'show'],
                             capture_output=True, text=True, timeout=10)
        samples, _ = scrape(port)
        if out.returncode != 0:
            fail('ternctl metrics show: ' + out.stderr)
        diffs, n = [], 0
        for line in out.stdout.splitlines():
            k, v = line.split()
            if moving.match(k):
                continue
            if k.startswith('storaged_'):
                base = 'tern_' + k[len('storaged_'):]
            elif k.startswith('clusterd_'):
                base = 'tern_' + k
            else:
                base = 'tern_mqttd_' + k
            got = value(samples, base)
            if got is None:
                got = value(samples, base + '_total')
            n += 1
            if got is None or got != float(v):
                diffs.append('%s: ternctl %s, /metrics %s' % (k, v, got))
        if not diffs and n > 50:
            print('ternctl and /metrics agree on %d numbers' % n)
            return
        if time.monotonic() > deadline:
            fail('ternctl and /metrics differ (%d compared): %s'
                 % (n, '; '.join(diffs[:10])))
        time.sleep(0.2)


def raw(port, data, half_close=False, timeout=10):
    """Sends data on a fresh connection; returns all the server sent
    until it closed."""
    s = socket.create_connection((HOST, port), timeout=timeout)
    try:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        got = b''
        while True:
            b = s.recv(65536)
            if not b:
                return got
            got += b
    finally:
        s.close()


def status_of(resp):
    m = re.match(rb'HTTP/1\.1 (\d{3}) ', resp)
    return int(m.group(1)) if m else None


def cmd_raw(port):
    cases = [
        (b'GET /nope HTTP/1.1\r\nHost: x\r\n\r\n', 404),
        (b'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 404),
        (b'POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n'
         b'hello', 405),
        (b'DELETE /health HTTP/1.1\r\nHost: x\r\n\r\n', 405),
        (b'get /health HTTP/1.1\r\nHost: x\r\n\r\n', 405),
        (b'GET /health HTTP/1.0\r\n\r\n', 200),
        (b'GET /health?verbose=1 HTTP/1.1\r\nHost: x\r\n\r\n', 200),
        (b'GET http://localhost/metrics HTTP/1.1\r\nHost: x\r\n\r\n', 200),
        (b'\r\nGET /health HTTP/1.1\n\n', 200),
        (b'GET /health HTTP/2.0\r\n\r\n', 505),
        (b'BLAH\r\n\r\n', 400),
        (b'GET  /health HTTP/1.1\r\n\r\n', 400),
        (b'GET /health HTTP/1.1\r\nno colon\r\n\r\n', 400),
        (b'GET /health HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n', 400),
        (b'GET /hea\x00lth HTTP/1.1\r\n\r\n', 400),
        (b'GET /' + b'a' * 300 + b' HTTP/1.1\r\n\r\n', 414),
        (b'GET /health HTTP/1.1\r\nX: ' + b'a' * 9000 + b'\r\n\r\n', 431),
    ]
    for data, want in cases:
        got = raw(port, data)
        if status_of(got) != want:
            fail('%r...: want %d, got %r' % (data[:40], want, got[:80]))
        if b'\r\nConnection: close\r\n' not in got:
            fail('%r...: no Connection: close' % data[:40])
    # HEAD: the head of GET, no body.
    got = raw(port, b'HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n')
    head, _, body = got.partition(b'\r\n\r\n')
    if status_of(got) != 200 or body != b'' or \
            b'Content-Length: ' not in head:
        fail('HEAD /metrics: %r' % got[:200])
    # A client that half-closes after its request still gets the answer.
    got = raw(port, b'GET /health HTTP/1.1\r\nHost: x\r\n\r\n', True)
    if status_of(got) != 200 or not got.endswith(b'ok\n'):
        fail('half-close: %r' % got)
    # Two pipelined requests: one answer, then the server closes.
    got = raw(port, b'GET /health HTTP/1.1\r\nHost: x\r\n\r\n' * 2)
    if got.count(b'HTTP/1.1 ') != 1:
        fail('pipelined: %r' % got)
    # Content-Length matches the body.
    got = raw(port, b'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n')
    head, _, body = got.partition(b'\r\n\r\n')
    m = re.search(rb'Content-Length: (\d+)', head)
    if not m or int(m.group(1)) != len(body):
        fail('Content-Length of /metrics is not the body length')
    print('raw requests ok: %d cases' % (len(cases) + 4))


def closed_within(s, secs):
    """True when the server closes s within secs."""
    s.settimeout(secs)
    try:
        return s.recv(1024) == b''
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def cmd_limits(port):
    # A request that never completes is dropped after the read timeout.
    s = socket.create_connection((HOST, port), timeout=5)
    s.sendall(b'GET /hea')
    t0 = time.monotonic()
    if not closed_within(s, TIMEOUT_S + 4):
        fail('a slow request was not closed within %d s' % (TIMEOUT_S + 4))
    took = time.monotonic() - t0
    s.close()
    if took < TIMEOUT_S - 1:
        fail('slow request closed after %.1f s only' % took)
    print('slow request closed after %.1f s' % took)
    # At most MAX_CONNS at once: one more is closed at once, and the
    # endpoint serves again once they are gone.
    idle = []
    try:
        for _ in range(MAX_CONNS):
            idle.append(socket.create_connection((HOST, port), timeout=5))
        # The server may not have accepted all of them yet: one more
        # connection at a time until one is closed unanswered.
        deadline = time.monotonic() + 5
        while True:
            extra = socket.create_connection((HOST, port), timeout=5)
            idle.append(extra)
            if closed_within(extra, 0.5):
                break
            if time.monotonic() > deadline:
                fail('no connection over %d was refused' % MAX_CONNS)
        if len(idle) > MAX_CONNS + 3:
            fail('%d connections were open at once' % (len(idle) - 1))
    finally:
        for s in idle:
            s.close()
    deadline = time.monotonic() + 5
    while True:
        try:
            if get(port, '/health')[0] == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            fail('/health not served after the idle connections closed')
        time.sleep(0.05)
    print('connection limit ok (%d)' % MAX_CONNS)


def main():
    if len(sys.argv) < 3:
        fail('usage: see the docstring')
    cmd, port, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    {'fmt': cmd_fmt, 'val': cmd_val, 'health': cmd_health,
     'agree': cmd_agree, 'raw': cmd_raw,
     'limits': cmd_limits}[cmd](port, *args)


if __name__ == '__main__':
    main()
