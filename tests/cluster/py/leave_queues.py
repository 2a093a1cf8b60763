# SPDX-License-Identifier: MIT
"""Many persistent sessions and their queues across a `ternctl cluster
leave` (tests/cluster/54-cluster-leave.sh), counted message by message.
Raw clients (mqttraw), many at once: sessions are opened in batches, their
packets pipelined, so 1,000 sessions take seconds, not minutes.

Session i of PREFIX has client id PREFIX-i and subscribes at QoS 1 to its
own topic PREFIX/i; message k (1..) to it has payload "PREFIX-i:k".

  leave_queues.py --port P make --prefix ID --count N [--version 4|5]
    Opens N persistent sessions (3.1.1 clean session 0; 5.0 clean start 0,
    session expiry 3600), each subscribed to its topic, and disconnects
    them (the sessions stay, offline).  Exit 0 if every CONNACK and
    SUBACK was a success.
  leave_queues.py --port P pub --prefix ID --count N --first K --last L
    Publishes messages K..L to each of the N topics, through one 5.0
    connection at QoS 1 (message K to every topic, then K+1 ...),
    pipelined up to the broker's receive maximum.  Exit 0 if each got a
    PUBACK with reason code 0 (0x10, no matching subscribers, means a
    session or route is missing).
  leave_queues.py --ports P1,P2 drain --prefix ID --count N --messages M
      [--version 4|5] [--timeout S] [--stray S] [--connect-timeout S]
    Reconnects every session (clean session 0; alternately through P1,
    P2, ...; a refused or closed connect is retried), expects session
    present 1, waits until each has received M messages, then --stray
    seconds more, and disconnects (the session stays).  Prints per-kind
    totals: lost (a message 1..M that never came), reordered (a message
    that came after a higher one), duplicates (a message that came more
    than once), foreign (another session's or an unknown payload), and
    sessions lost (session present 0).  Exit 0 only if all are 0.
  leave_queues.py --port P live --prefix ID --count N --dir DIR
      --total M [--version 4|5|mixed] [--reconnect P1,P2] [--go]
      [--timeout S] [--stray S]
    N persistent sessions connected and subscribed through P (clients
    0, 2, 4 ... 3.1.1 and 1, 3, 5 ... 5.0 with mixed), PINGREQ every
    0.5 s, PUBACK as messages come.  DIR/ready once all are subscribed;
    DIR/status is rewritten as things change ("on N closed N back N
    pingfail N"); DIR/events gets one line per event ("T CID got K on",
    "T CID closed DISCONNECT 0x9c", "T CID back via PORT present 1").
    When the broker closes a connection the client reconnects through the
    --reconnect ports (after DIR/go exists, with --go) and goes on until
    it has messages 1..M (or --timeout, or DIR/stop exists); then --stray
    seconds.  Exit 0 only if every
    session got exactly 1..M in order, no ping went unanswered while
    connected, and no session was lost; prints the totals as drain does,
    and the DISCONNECT reason codes seen."""

import argparse
import os
import selectors
import sys
import time

import mqttraw as mr

EXPIRY = 3600


def say(*a):
    print('%s %s' % (time.strftime('%H:%M:%S'), ' '.join(str(x) for x in a)),
          flush=True)


def cid_of(a, i):
    return '%s-%d' % (a.prefix, i)


def topic_of(a, i):
    return '%s/%d' % (a.prefix, i)


def version_of(a, i):
    if a.version == 'mixed':
        return 4 if i % 2 == 0 else 5
    return int(a.version)


def open_client(port, version, cid, host='127.0.0.1'):
    """A socket with CONNECT (persistent session) sent; no wait."""
    c = mr.Client(port, version=version, host=host, timeout=10)
    prop = {'session_expiry': EXPIRY} if version == 5 else None
    c.send(mr.connect(version, cid, False, 0, None, None, None, prop))
    return c


def pump(c, now):
    """Read what the socket has (it is readable) and parse it into the
    inbox, acknowledging QoS 1 PUBLISHes; a close sets c.closed."""
    try:
        c._fill(now + 1)
        c.poll(0)
    except (mr.Closed, OSError):
        c.closed = True


class Tally:
    """What arrived for each session, checked against 1..M."""

    def __init__(self, a):
        self.a = a
        self.got = {}           # i -> [k, ...] in arrival order
        self.dups = {}          # i -> DUP-flagged arrivals
        self.foreign = []
        self.lost_sessions = []

    def add(self, i, p):
        want = '%s:' % cid_of(self.a, i)
        s = p.payload.decode(errors='replace')
        if p.topic != topic_of(self.a, i) or not s.startswith(want) or \
                not s[len(want):].isdigit():
            self.foreign.append((i, p.topic, s))
            return
        self.got.setdefault(i, []).append(int(s[len(want):]))
        if p.dup:
            self.dups[i] = self.dups.get(i, 0) + 1

    def have_all(self, i, m):
        g = self.got.get(i, [])
        return all(k in g for k in range(1, m + 1))

    def report(self, n, m):
        lost = reord = dup = 0
        bad = []
        for i in range(n):
            g = self.got.get(i, [])
            li = [k for k in range(1, m + 1) if k not in g]
            seen, hi, ri, di = set(), 0, 0, 0
            for k in g:
                if k in seen:
                    di += 1
                    continue
                seen.add(k)
                if k < hi:
                    ri += 1
                hi = max(hi, k)
            di += len([k for k in g if k > m or k < 1])
            lost += len(li)
            reord += ri
            dup += di
            if li or ri or di:
                bad.append('%s got %s' % (cid_of(self.a, i),
                                         ' '.join(map(str, g)) or '-'))
        total = sum(len(g) for g in self.got.values())
        say('totals: %d sessions x %d messages = %d expected; %d arrived; '
            'lost %d, reordered %d, duplicates %d (DUP flag on %d), '
            'foreign %d, sessions lost %d'
            % (n, m, n * m, total, lost, reord, dup,
               sum(self.dups.values()), len(self.foreign),
               len(self.lost_sessions)))
        for b in bad[:10]:
            say('  %s' % b)
        if len(bad) > 10:
            say('  ... and %d more sessions' % (len(bad) - 10))
        for f in self.foreign[:5]:
            say('  foreign to session %d: %s %r' % f)
        if self.lost_sessions:
            say('  sessions lost (present 0): %s'
                % ' '.join(self.lost_sessions[:10]))
        return not (lost or reord or dup or self.foreign or
                    self.lost_sessions)


# ---- make ---------------------------------------------------------------

def make(a):
    t0 = time.monotonic()
    for lo in range(0, a.count, a.batch):
        idx = range(lo, min(lo + a.batch, a.count))
        cs = {i: open_client(a.port, version_of(a, i), cid_of(a, i))
              for i in idx}
        for i, c in cs.items():
            ca = c.wait(mr.CONNACK, 30)
            if ca.rc != 0:
                raise AssertionError('%s: CONNACK rc 0x%02x'
                                     % (cid_of(a, i), ca.rc))
        for i, c in cs.items():
            c.send(mr.subscribe(1, [(topic_of(a, i), 1)], c.version))
        for i, c in cs.items():
            sa = c.wait(mr.SUBACK, 30)
            if sa.codes != [1]:
                raise AssertionError('%s: SUBACK %r' % (cid_of(a, i),
                                                        sa.codes))
        for c in cs.values():
            c.disconnect()
    say('make: %d sessions of %s subscribed and offline in %.1f s'
        % (a.count, a.prefix, time.monotonic() - t0))
    return True


# ---- pub ----------------------------------------------------------------

def pub(a):
    t0 = time.monotonic()
    c = mr.Client(a.port, version=5, timeout=30)
    ca = c.connect('%s-pub-%d' % (a.prefix, os.getpid()), clean=True,
                   keepalive=0, expect_rc=None)
    if ca.rc != 0:
        raise AssertionError('publisher: CONNACK rc 0x%02x' % ca.rc)
    window = min(ca.props.get('receive_maximum', 65535), a.window)
    todo = [(i, k) for k in range(a.first, a.last + 1)
            for i in range(a.count)]
    out = {}                    # pid -> (i, k)
    bad = []
    pos = 0
    while pos < len(todo) or out:
        data = b''
        while pos < len(todo) and len(out) < window:
            i, k = todo[pos]
            pos += 1
            pid = c.pid()
            out[pid] = (i, k)
            data += mr.publish(topic_of(a, i), '%s:%d' % (cid_of(a, i), k),
                               1, pid=pid, version=5)
        if data:
            c.send(data)
        ack = c.wait(mr.PUBACK, 30)
        if ack.pid not in out:
            raise AssertionError('PUBACK for unknown packet id %d' % ack.pid)
        i, k = out.pop(ack.pid)
        if ack.rc != 0:
            bad.append('%s:%d rc 0x%02x' % (cid_of(a, i), k, ack.rc))
    c.disconnect()
    say('pub: %d messages (%d..%d to %d topics of %s) acknowledged in '
        '%.1f s; %d not with rc 0%s'
        % (len(todo), a.first, a.last, a.count, a.prefix,
           time.monotonic() - t0, len(bad),
           (': ' + ', '.join(bad[:5])) if bad else ''))
    return not bad


# ---- drain --------------------------------------------------------------

def connect_batch(a, idx, ports, tally, stats):
    """Connected clients of the sessions idx (retrying refusals until
    --connect-timeout); session present 0 is recorded as a lost session
    (its client stays, to count what arrives anyway)."""
    deadline = time.monotonic() + a.connect_timeout
    todo = list(idx)
    cs = {}
    while todo:
        pending = {}
        for i in todo:
            port = ports[(i + stats['tries']) % len(ports)]
            try:
                pending[i] = open_client(port, version_of(a, i),
                                         cid_of(a, i))
            except OSError:
                pass
            stats['tries'] += 1
        retry = [i for i in todo if i not in pending]
        for i, c in pending.items():
            try:
                ca = c.wait(mr.CONNACK, 15)
            except (mr.Closed, OSError, AssertionError) as e:
                stats['last'] = '%s: %s' % (type(e).__name__, e)
                c.close()
                retry.append(i)
                continue
            if ca.rc != 0:
                stats['refused'][ca.rc] = stats['refused'].get(ca.rc, 0) + 1
                c.close()
                retry.append(i)
                continue
            if not ca.session_present:
                tally.lost_sessions.append(cid_of(a, i))
            cs[i] = c
        todo = retry
        if todo:
            if time.monotonic() >= deadline:
                raise AssertionError('%d sessions could not reconnect '
                                     '(e.g. %s; last: %s; refusals %r)'
                                     % (len(todo), cid_of(a, todo[0]),
                                        stats.get('last'),
                                        stats['refused']))
            time.sleep(0.2)
    return cs


def collect(cs, tally, m, timeout, stray):
    """Reads from the clients cs (i -> Client) until each has 1..m (or
    timeout), then stray seconds more."""
    sel = selectors.DefaultSelector()
    for i, c in cs.items():
        sel.register(c.sock, selectors.EVENT_READ, i)
    deadline = time.monotonic() + timeout
    stray_end = None

    def take(i):
        c = cs[i]
        for p in [x for x in c.inbox if x.type == mr.PUBLISH]:
            tally.add(i, p)
        c.inbox = [x for x in c.inbox if x.type != mr.PUBLISH]

    for i, c in cs.items():
        c.poll(0)       # what came with the CONNACK, already read
        take(i)
    while True:
        now = time.monotonic()
        if stray_end is None and (now >= deadline or
                                  all(tally.have_all(i, m) for i in cs)):
            stray_end = now + stray
        if stray_end is not None and now >= stray_end:
            break
        for key, _ in sel.select(max(0.0, min(0.1, (stray_end or deadline)
                                              - now))):
            i = key.data
            pump(cs[i], time.monotonic())
            take(i)
            if cs[i].closed:
                sel.unregister(key.fileobj)
    sel.close()


def drain(a):
    t0 = time.monotonic()
    ports = [int(p) for p in a.ports.split(',')]
    tally = Tally(a)
    stats = {'tries': 0, 'refused': {}}
    closed = 0
    timeout = a.timeout
    for lo in range(0, a.count, a.batch):
        idx = range(lo, min(lo + a.batch, a.count))
        cs = connect_batch(a, idx, ports, tally, stats)
        t = time.monotonic()
        collect(cs, tally, a.messages, timeout, a.stray)
        if time.monotonic() - t >= timeout:
            # Messages are missing: later batches wait less for them.
            timeout = min(timeout, 3.0)
        for c in cs.values():
            if c.closed:
                closed += 1
            c.disconnect()
    say('drain: %d sessions of %s reconnected through %s in %.1f s '
        '(%d connects, refusals %s, %d closed by the broker while '
        'draining)' % (a.count, a.prefix, a.ports, time.monotonic() - t0,
                       stats['tries'],
                       ' '.join('0x%02x x%d' % kv for kv in
                                sorted(stats['refused'].items())) or 'none',
                       closed))
    return tally.report(a.count, a.messages) and closed == 0


# ---- live ---------------------------------------------------------------

class Live:
    def __init__(self, a):
        self.a = a
        self.ev = open(os.path.join(a.dir, 'events'), 'a')
        self.state = {}         # i -> on | closed | back | done
        self.cs = {}
        self.pingfail = []
        self.disc = {}          # reason -> count
        self.last = None

    def event(self, i, what):
        self.ev.write('%.3f %s %s\n' % (time.time(), cid_of(self.a, i),
                                        what))
        self.ev.flush()

    def status(self):
        n = {'on': 0, 'closed': 0, 'back': 0}
        for s in self.state.values():
            n[s] = n.get(s, 0) + 1
        line = 'on %d closed %d back %d pingfail %d\n' % (
            n['on'], n['closed'], n['back'], len(self.pingfail))
        if line != self.last:
            self.last = line
            tmp = os.path.join(self.a.dir, 'status.tmp')
            with open(tmp, 'w') as f:
                f.write(line)
            os.rename(tmp, os.path.join(self.a.dir, 'status'))


def live(a):
    lv = Live(a)
    tally = Tally(a)
    sel = selectors.DefaultSelector()
    for i in range(a.count):
        c = open_client(a.port, version_of(a, i), cid_of(a, i))
        ca = c.wait(mr.CONNACK, 15)
        if ca.rc != 0:
            raise AssertionError('%s: CONNACK rc 0x%02x' % (cid_of(a, i),
                                                            ca.rc))
        c.send(mr.subscribe(1, [(topic_of(a, i), 1)], c.version))
        sa = c.wait(mr.SUBACK, 15)
        if sa.codes != [1]:
            raise AssertionError('%s: SUBACK %r' % (cid_of(a, i), sa.codes))
        lv.cs[i] = c
        lv.state[i] = 'on'
        c.ping_out = None
        sel.register(c.sock, selectors.EVENT_READ, i)
    lv.status()
    open(os.path.join(a.dir, 'ready'), 'w').close()
    say('live: %d sessions of %s connected through %d' % (a.count, a.prefix,
                                                         a.port))
    reconnect = [int(p) for p in a.reconnect.split(',')] if a.reconnect \
        else []
    go = os.path.join(a.dir, 'go')
    stop = os.path.join(a.dir, 'stop')
    deadline = time.monotonic() + a.timeout
    stray_end = None
    next_ping = time.monotonic() + 0.5
    tries = 0

    def handle(i):
        c = lv.cs[i]
        for p in c.inbox:
            if p.type == mr.PUBLISH:
                tally.add(i, p)
                lv.event(i, 'got %s %s' % (p.payload.decode(
                    errors='replace').split(':')[-1], lv.state[i]))
            elif p.type == mr.PINGRESP:
                c.ping_out = None
            elif p.type == mr.DISCONNECT:
                c.disc_rc = p.rc
        c.inbox = []
        if c.closed and lv.state[i] in ('on', 'back'):
            rc = getattr(c, 'disc_rc', None)
            what = 'DISCONNECT 0x%02x' % rc if rc is not None else \
                'no DISCONNECT'
            lv.disc[what] = lv.disc.get(what, 0) + 1
            lv.event(i, 'closed %s (%s)' % (what, lv.state[i]))
            lv.state[i] = 'closed'
            try:
                sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            c.close()

    while True:
        now = time.monotonic()
        if stray_end is None and (now >= deadline or all(
                tally.have_all(i, a.total) for i in range(a.count)) or
                os.path.exists(stop)):
            stray_end = now + a.stray
        if stray_end is not None and now >= stray_end:
            break
        for key, _ in sel.select(0.05):
            i = key.data
            pump(lv.cs[i], time.monotonic())
            handle(i)
        now = time.monotonic()
        if now >= next_ping:
            next_ping = now + 0.5
            for i, c in lv.cs.items():
                if lv.state[i] not in ('on', 'back'):
                    continue
                if c.ping_out is not None and now - c.ping_out > 2:
                    lv.pingfail.append(cid_of(a, i))
                    lv.event(i, 'no PINGRESP in 2 s')
                    c.ping_out = None
                if c.ping_out is None:
                    try:
                        c.send(mr.pingreq())
                        c.ping_out = now
                    except OSError:
                        c.closed = True
                        handle(i)
        if reconnect and (not a.go or os.path.exists(go)):
            for i in [i for i, s in lv.state.items() if s == 'closed']:
                port = reconnect[(i + tries) % len(reconnect)]
                tries += 1
                try:
                    c = open_client(port, version_of(a, i), cid_of(a, i))
                    ca = c.wait(mr.CONNACK, 15)
                except (mr.Closed, OSError, AssertionError) as e:
                    lv.event(i, 'reconnect via %d: %s' % (port, e))
                    continue
                if ca.rc != 0:
                    lv.event(i, 'reconnect via %d: CONNACK 0x%02x'
                             % (port, ca.rc))
                    c.close()
                    continue
                if not ca.session_present:
                    tally.lost_sessions.append(cid_of(a, i))
                lv.event(i, 'back via %d present %d'
                         % (port, ca.session_present))
                c.ping_out = None
                lv.cs[i] = c
                lv.state[i] = 'back'
                sel.register(c.sock, selectors.EVENT_READ, i)
                c.poll(0)   # what came with the CONNACK, already read
                handle(i)
        lv.status()
    for c in lv.cs.values():
        if not c.closed:
            c.disconnect()
    lv.status()
    states = {}
    for s in lv.state.values():
        states[s] = states.get(s, 0) + 1
    say('live: end states %s; closed by the broker: %s; %d reconnects; '
        'pings unanswered: %d' % (
            ' '.join('%s %d' % kv for kv in sorted(states.items())),
            ' '.join('%s x%d' % kv for kv in sorted(lv.disc.items()))
            or 'none', tries, len(lv.pingfail)))
    ok = tally.report(a.count, a.total)
    return ok and not lv.pingfail


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--port', type=int)
    ap.add_argument('--ports')
    sp = ap.add_subparsers(dest='cmd', required=True)
    m = sp.add_parser('make')
    p = sp.add_parser('pub')
    d = sp.add_parser('drain')
    lv = sp.add_parser('live')
    for s in (m, p, d, lv):
        s.add_argument('--prefix', required=True)
        s.add_argument('--count', type=int, required=True)
        s.add_argument('--version', default='4',
                       choices=('4', '5', 'mixed'))
        s.add_argument('--batch', type=int, default=200)
    p.add_argument('--first', type=int, default=1)
    p.add_argument('--last', type=int, required=True)
    p.add_argument('--window', type=int, default=500)
    d.add_argument('--messages', type=int, required=True)
    d.add_argument('--timeout', type=float, default=20)
    d.add_argument('--stray', type=float, default=0.5)
    d.add_argument('--connect-timeout', type=float, default=30)
    lv.add_argument('--dir', required=True)
    lv.add_argument('--total', type=int, required=True)
    lv.add_argument('--reconnect')
    lv.add_argument('--go', action='store_true')
    lv.add_argument('--timeout', type=float, default=60)
    lv.add_argument('--stray', type=float, default=1.0)
    a = ap.parse_args()
    if a.cmd == 'drain' and not a.ports:
        ap.error('drain needs --ports')
    if a.cmd != 'drain' and not a.port:
        ap.error('%s needs --port' % a.cmd)
    try:
        ok = {'make': make, 'pub': pub, 'drain': drain, 'live': live}[
            a.cmd](a)
    except (AssertionError, OSError, mr.Closed, mr.Violation) as e:
        say('%s: FAILED: %s: %s' % (a.cmd, type(e).__name__, e))
        ok = False
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
