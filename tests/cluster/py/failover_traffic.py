# SPDX-License-Identifier: MIT
"""Numbered QoS 1 traffic of many publishers to many persistent
subscribers across a cluster whose nodes are killed and restarted under
it (tests/cluster/53-replicated-random.sh), counted message by message.

  failover_traffic.py --nodes a=PORT,b=PORT,c=PORT --dir DIR
      [--publishers 20] [--subscribers 20] [--count 10000] [--rate R]
      [--offline-every 4] [--seed S] [--timeout 200] [--drain-timeout 60]

--timeout bounds the whole run; publishers give up --drain-timeout
before it, so that the subscribers still drain and the report is printed.

One thread per client, raw clients (mqttraw): a client that loses its node
reconnects to another one on its own; nothing here knows which node died.

- Publisher i (client id r53-pNN, clean session; 3.1.1 when i is even,
  5.0 when odd) starts on node i mod N and publishes "pNN:SEQ" on topic
  r53/pNN, SEQ 1.. (count / publishers each), at QoS 1, paced at
  rate / publishers per second, up to 10 in flight.  When its connection
  ends it reconnects to another node and sends again, in order, every
  message not yet PUBACKed, then goes on: never a newer one before an
  older unacknowledged one.  A PUBACK with a reason code >= 0x80 (5.0)
  counts as refused: the client reconnects and resends in order.
- Subscriber j (client id r53-sNN; 3.1.1 clean session 0 when j is even,
  5.0 clean start 0 with session expiry 3600 when odd) starts on node
  (j + 1) mod N and subscribes at QoS 1 to r53/+ when j is 0 or 10, and
  to the topics of publishers j .. j+3 (mod publishers) otherwise.  Every
  publisher so has subscribers on other nodes than its own (checked).
  Subscribers with j mod OFFLINE_EVERY = 3 disconnect after subscribing
  and come back (through a random node) only at the end: their queues
  live through the kills offline.  The others stay online, PUBACK what
  arrives, and reconnect (same id, persistent session) to another node
  when theirs goes away; a CONNACK with session present 0 there is an
  error (the session was lost) and they subscribe again.

Handshake with the shell, through files in DIR:
  subscribed   written once every subscription is acknowledged: "NODE
               ROUTES" lines, the remote routes each node must know before
               publishing starts (one per filter per other node)
  go           created by the shell when the routes are there
  progress     "ACKED TOTAL", rewritten every 0.1 s
  published    written when every publisher is done
  events       written by the shell: "kill NODE T", "restart NODE T",
               "up T" (T: time.time() of the event)
  rounds-done  created by the shell when it kills nothing more; then the
               offline subscribers connect and everything is drained

Checks at the end, per subscriber and publisher: every PUBACKed message
arrived (lost), first arrivals in publish order (reordered); duplicates are
counted.  Each loss is printed with when it was published and acknowledged
relative to the nearest kill, the node that owned the subscriber then, and
whether it falls in the documented window (in flight at the moment the
node owning the subscriber died).  Exit 0 only if nothing was lost,
nothing reordered, and no session was lost or protocol broken."""

import argparse
import os
import random
import sys
import threading
import time

import mqttraw as mr

EXPIRY = 3600
INFLIGHT = 10
T0 = time.time()


def say(*a):
    print('%s %s' % (time.strftime('%H:%M:%S'), ' '.join(str(x) for x in a)),
          flush=True)


def rel(t):
    return '%.2f' % (t - T0)


def write_file(path, text):
    with open(path + '.tmp', 'w') as f:
        f.write(text)
    os.rename(path + '.tmp', path)


class Shared:
    """What the threads share: the cluster's ports, the deadline, files."""

    def __init__(self, a):
        self.a = a
        self.nodes = []
        for kv in a.nodes.split(','):
            name, port = kv.split('=')
            self.nodes.append((name, int(port)))
        self.rng = random.Random(a.seed)
        self.lock = threading.Lock()
        self.deadline = time.monotonic() + a.timeout
        # Publishers stop in time for the subscribers to drain.
        self.pub_deadline = self.deadline - a.drain_timeout
        self.stop = threading.Event()
        self.errors = []

    def error(self, msg):
        with self.lock:
            self.errors.append(msg)
        say('ERROR:', msg)

    def choice(self, seq):
        with self.lock:
            return self.rng.choice(seq)

    def shuffled(self, seq):
        seq = list(seq)
        with self.lock:
            self.rng.shuffle(seq)
        return seq

    def path(self, name):
        return os.path.join(self.a.dir, name)


class Conn:
    """A client's connection to one node, with reconnection elsewhere."""

    def __init__(self, sh, client_id, version, clean, node):
        self.sh = sh
        self.client_id = client_id
        self.version = version
        self.clean = clean
        self.node = node        # index into sh.nodes of the current node
        self.c = None
        self.history = []       # [node name, connected at, closed at]
        self.tries = 0

    def _once(self, i):
        name, port = self.sh.nodes[i]
        c = None
        try:
            c = mr.Client(port, version=self.version, timeout=6)
            prop = None
            if self.version == 5 and not self.clean:
                prop = {'session_expiry': EXPIRY}
            ca = c.connect(self.client_id, clean=self.clean, keepalive=0,
                           prop=prop, expect_rc=None)
            if ca.rc == 0:
                return c, ca
            why = 'CONNACK 0x%02x' % ca.rc
        except (OSError, mr.Closed, AssertionError, mr.Violation) as e:
            why = '%s: %s' % (type(e).__name__, e)
        if c is not None:
            c.close()
        return None, why

    def connect(self, first=None, avoid=None):
        """Connect to node `first`, else to the nodes other than `avoid`
        (random order), then `avoid`; retry until the deadline.  Returns
        the CONNACK or None."""
        n = len(self.sh.nodes)
        last = None
        while time.monotonic() < self.sh.deadline and \
                not self.sh.stop.is_set():
            if first is not None:
                order = [first]
            else:
                order = self.sh.shuffled([i for i in range(n)
                                          if i != avoid])
                if avoid is not None:
                    order.append(avoid)
            for i in order:
                self.tries += 1
                c, ca = self._once(i)
                if c is not None:
                    if self.history:
                        say('%s: reconnected to %s (session present %d)'
                            % (self.client_id, self.sh.nodes[i][0],
                               ca.session_present))
                    self.c = c
                    self.node = i
                    self.history.append([self.sh.nodes[i][0], time.time(),
                                         None])
                    return ca
                last = '%s: %s' % (self.sh.nodes[i][0], ca)
            time.sleep(0.2)
        self.sh.error('%s: no connection until the deadline (last: %s)'
                      % (self.client_id, last))
        return None

    def closed(self, why=None):
        if why is not None and self.history:
            say('%s: connection to %s ended (%s)'
                % (self.client_id, self.history[-1][0], why))
        if self.c is not None:
            self.c.close()
            self.c = None
        if self.history and self.history[-1][2] is None:
            self.history[-1][2] = time.time()

    def owner_at(self, t, default):
        """The node this client was connected to at time t (the last one
        before t while it was offline)."""
        best = default
        for node, t1, _t2 in self.history:
            if t1 <= t:
                best = node
        return best


class Publisher(threading.Thread):
    def __init__(self, sh, idx, count, rate):
        super().__init__(daemon=True)
        self.sh = sh
        self.idx = idx
        self.name_ = 'p%02d' % idx
        self.topic = 'r53/%s' % self.name_
        self.count = count
        self.rate = rate
        version = 4 if idx % 2 == 0 else 5
        self.conn = Conn(sh, 'r53-%s' % self.name_, version, True,
                         idx % len(sh.nodes))
        self.sent_at = {}       # seq -> time.time() of the first send
        self.acked_at = {}      # seq -> (time.time(), node name)
        self.sends = 0
        self.refused = 0
        self.reconnects = 0
        self.done = False

    def _send(self, seq, inflight, pids):
        c = self.conn.c
        pid = c.pid()
        while pid in pids:
            pid = c.pid()
        c.send(mr.publish(self.topic, '%s:%d' % (self.name_, seq), 1,
                          pid=pid, version=c.version))
        inflight[seq] = pid
        pids[pid] = seq
        self.sends += 1
        if seq not in self.sent_at:
            self.sent_at[seq] = time.time()

    def run(self):
        sh = self.sh
        if self.conn.connect(first=self.conn.node) is None:
            return
        nxt = 1
        inflight = {}           # seq -> pid, in send order
        pids = {}
        t_start = time.monotonic()
        resend = False
        while len(self.acked_at) < self.count:
            if time.monotonic() > sh.pub_deadline or sh.stop.is_set():
                first = min(inflight) if inflight else nxt
                sh.error('%s: %d/%d acknowledged at the deadline; seq %d '
                         'unacknowledged since %s s, through %s'
                         % (self.name_, len(self.acked_at), self.count,
                            first, rel(self.sent_at.get(first, T0)),
                            self.conn.history[-1][0]
                            if self.conn.history else '-'))
                break
            try:
                if resend:
                    resend = False
                    pids.clear()
                    for seq in sorted(inflight):
                        self._send(seq, inflight, pids)
                now = time.monotonic()
                due = t_start + (nxt - 1) / self.rate
                while nxt <= self.count and len(inflight) < INFLIGHT and \
                        now >= due:
                    self._send(nxt, inflight, pids)
                    nxt += 1
                    due = t_start + (nxt - 1) / self.rate
                wait = 0.05
                if nxt <= self.count and len(inflight) < INFLIGHT:
                    wait = max(0.001, min(wait, due - now))
                p = self.conn.c._read(time.monotonic() + wait)
                while p is not None:
                    if p.type == mr.PUBACK and p.pid in pids:
                        seq = pids.pop(p.pid)
                        del inflight[seq]
                        if p.rc >= 0x80:
                            self.refused += 1
                            sh.error('%s: seq %d refused, PUBACK 0x%02x'
                                     % (self.name_, seq, p.rc))
                            inflight[seq] = None
                            raise mr.Closed()
                        if seq not in self.acked_at:
                            self.acked_at[seq] = (time.time(),
                                                  self.conn.history[-1][0])
                    elif p.type == mr.DISCONNECT:
                        raise mr.Closed()
                    p = self.conn.c._parse_one()
            except (OSError, mr.Closed, mr.Violation) as e:
                if isinstance(e, mr.Violation):
                    sh.error('%s: %s' % (self.name_, e))
                old = self.conn.node
                self.conn.closed('%s: %s' % (type(e).__name__, e))
                self.reconnects += 1
                if self.conn.connect(avoid=old) is None:
                    return
                resend = True
        self.done = True
        if self.conn.c is not None:
            self.conn.c.disconnect()
            self.conn.closed()


class Subscriber(threading.Thread):
    def __init__(self, sh, idx, topics, offline):
        super().__init__(daemon=True)
        self.sh = sh
        self.idx = idx
        self.name_ = 's%02d' % idx
        self.topics = topics    # filters
        self.offline = offline
        version = 4 if idx % 2 == 0 else 5
        self.home = (idx + 1) % len(sh.nodes)
        self.conn = Conn(sh, 'r53-%s' % self.name_, version, False,
                         self.home)
        self.got = []           # (publisher name, seq, dup, time, node)
        self.subscribed = threading.Event()
        self.come_back = threading.Event()
        self.finish = threading.Event()
        self.lost_sessions = 0
        self.session_lost_at = []   # time.time() of each
        self.reconnects = 0

    def _subscribe(self):
        c = self.conn.c
        sa = c.subscribe(*[(t, 1) for t in self.topics])
        if sa.codes != [1] * len(self.topics):
            raise AssertionError('SUBACK %r' % sa.codes)

    def _connect(self, first=None, avoid=None):
        ca = self.conn.connect(first=first, avoid=avoid)
        if ca is None:
            return False
        if not ca.session_present:
            if self.got or self.subscribed.is_set():
                self.lost_sessions += 1
                self.session_lost_at.append(time.time())
                self.sh.error('%s: session not present on %s (reconnect '
                              '%d): subscribing again'
                              % (self.name_, self.conn.history[-1][0],
                                 self.reconnects))
            self._subscribe()
        return True

    def _receive(self, until):
        """Read and PUBACK (mqttraw's auto_ack) until the event is set;
        returns when it is, or raises Closed."""
        c = self.conn.c
        # What arrived while a SUBACK was awaited (already acknowledged).
        pending = [p for p in c.inbox if p.type == mr.PUBLISH]
        c.inbox = []
        while not until.is_set():
            if pending:
                p = pending.pop(0)
            else:
                p = c._read(time.monotonic() + 0.1)
            if p is None:
                continue
            if p.type == mr.PUBLISH:
                try:
                    pub, seq = p.payload.decode().split(':')
                    seq = int(seq)
                except ValueError:
                    raise mr.Violation('bad payload %r' % p.payload)
                self.got.append((pub, seq, p.dup, time.time(),
                                 self.conn.history[-1][0]))
            elif p.type == mr.DISCONNECT:
                say('%s: DISCONNECT 0x%02x from %s'
                    % (self.name_, p.rc, self.conn.history[-1][0]))
                raise mr.Closed()

    def run(self):
        sh = self.sh
        try:
            if not self._connect(first=self.home):
                return
        except (OSError, mr.Closed, AssertionError, mr.Violation) as e:
            sh.error('%s: subscribe: %s' % (self.name_, e))
            return
        self.subscribed.set()
        if self.offline:
            self.conn.c.disconnect()
            self.conn.closed()
            self.come_back.wait()
            if not self._reconnect(first=sh.choice(range(len(sh.nodes)))):
                return
        while True:
            try:
                self._receive(self.finish)
                break
            except (OSError, mr.Closed, mr.Violation) as e:
                if isinstance(e, mr.Violation):
                    sh.error('%s: %s' % (self.name_, e))
                old = self.conn.node
                self.conn.closed('%s: %s' % (type(e).__name__, e))
                self.reconnects += 1
                if not self._reconnect(avoid=old):
                    return
        if self.conn.c is not None:
            self.conn.c.disconnect()
            self.conn.closed()

    def _reconnect(self, first=None, avoid=None):
        while True:
            try:
                return self._connect(first=first, avoid=avoid)
            except (OSError, mr.Closed, AssertionError, mr.Violation) as e:
                self.sh.error('%s: resubscribe: %s' % (self.name_, e))
                self.conn.closed()
                if time.monotonic() > self.sh.deadline:
                    return False


def plan(sh, a):
    """Publishers and subscribers, with each subscriber's filters."""
    npub = a.publishers
    per = a.count // npub
    pubs = [Publisher(sh, i, per + (1 if i < a.count % npub else 0),
                      a.rate / npub) for i in range(npub)]
    subs = []
    for j in range(a.subscribers):
        if j % 10 == 0:
            topics = ['r53/+']
        else:
            topics = sorted(set('r53/p%02d' % ((j + k) % npub)
                                for k in range(4)))
        subs.append(Subscriber(sh, j, topics,
                               a.offline_every > 0 and
                               j % a.offline_every == 3))
    return pubs, subs


def topic_match(f, topic):
    return f == topic or (f.endswith('/+') and
                          topic.startswith(f[:-1]) and
                          '/' not in topic[len(f) - 1:])


def check_plan(sh, pubs, subs):
    """Every publisher has a subscriber on another node; returns the
    remote routes each node must know (one per filter per other node)."""
    for p in pubs:
        homes = set(s.home for s in subs
                    if any(topic_match(f, p.topic) for f in s.topics))
        if not homes - {p.conn.node}:
            raise SystemExit('plan: %s has no subscriber on another node'
                             % p.name_)
    filters = {}
    for s in subs:
        filters.setdefault(s.home, set()).update(s.topics)
    out = []
    for i, (name, _port) in enumerate(sh.nodes):
        out.append('%s %d' % (name, sum(len(f) for n, f in filters.items()
                                        if n != i)))
    return '\n'.join(out) + '\n'


def wait_file(sh, name, timeout):
    end = min(sh.deadline, time.monotonic() + timeout)
    while not os.path.exists(sh.path(name)):
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def read_events(sh):
    kills = []
    try:
        with open(sh.path('events')) as f:
            for line in f:
                w = line.split()
                if len(w) == 3 and w[0] == 'kill':
                    kills.append((float(w[2]), w[1], None))
                elif len(w) == 3 and w[0] == 'restart' and kills and \
                        kills[-1][1] == w[1]:
                    kills[-1] = (kills[-1][0], w[1], float(w[2]))
    except OSError:
        pass
    return kills


def runs_of(seqs):
    runs = []
    for q in sorted(seqs):
        if runs and runs[-1][-1] == q - 1:
            runs[-1].append(q)
        else:
            runs.append([q])
    return runs


def ranges(seqs):
    out = []
    for s in sorted(seqs):
        if out and out[-1][1] == s - 1:
            out[-1][1] = s
        else:
            out.append([s, s])
    return ','.join('%d' % a if a == b else '%d-%d' % (a, b)
                    for a, b in out)


def classify(sh, sub, pub, run, kills):
    """What a run of consecutive lost seqs of pub at sub looks like: a
    dict with the nearest kill, the times relative to it and a category:
    'window'  in flight at the moment the subscriber's node died (sent
              before the kill, acknowledged after it): the documented
              window;
    'after'   sent after the kill, within 3 s, to a subscriber on the
              victim, acknowledged 4 s or more after the kill and before
              the victim was restarted (a forward to the dead node that
              gave up);
    'restart' the same, but acknowledged after the victim was restarted
              (forwards sent again to the restarted node, which took them
              for sessions that had moved while it was away);
    'session' published before the subscriber found its session gone;
    'other'   none of these."""
    ts = [pub.sent_at.get(q, 0) for q in run]
    ta = [pub.acked_at.get(q, (0, '?'))[0] for q in run]
    via = sorted(set(pub.acked_at.get(q, (0, '?'))[1] for q in run))
    owner = sub.conn.owner_at(ts[0], sh.nodes[sub.home][0])
    if sub.offline:
        owner += ' (offline: its last node; the session may have moved)'
    k = None
    if kills:
        k = min(range(len(kills)), key=lambda i: abs(kills[i][0] - ts[0]))
    r = {'sub': sub.name_, 'pub': pub.name_, 'run': run, 'owner': owner,
         'via': '/'.join(via), 'kill': k, 'cat': 'other'}
    if any(t >= max(ts) for t in sub.session_lost_at):
        r['cat'] = 'session'
    if k is None:
        return r
    tk, victim, tr = kills[k]
    r.update(ds=(min(ts) - tk, max(ts) - tk), da=(min(ta) - tk, max(ta) - tk))
    on_victim = sub.offline or owner.startswith(victim)
    if on_victim and max(ts) <= tk + 0.05 and min(ta) >= tk:
        r['cat'] = 'window'
    elif on_victim and min(ts) > tk and max(ts) <= tk + 3 and \
            tr is not None and min(ta) >= tr:
        r['cat'] = 'restart'
    elif on_victim and min(ts) > tk and max(ts) <= tk + 3 and \
            min(ta) >= tk + 4:
        r['cat'] = 'after'
    return r


CATS = {'window': 'in flight when the node died (documented window)',
        'after': 'sent AFTER the kill to the dead node, acked by the 5 s '
                 'give-up (outside the documented window)',
        'restart': 'sent AFTER the kill to the dead node, acked only after '
                   'it restarted (forwards sent again to it, for sessions '
                   'that had moved?) (outside the documented window)',
        'session': 'queued when the session was lost (session not present '
                   'on reconnect)',
        'other': 'not on the killed node or not near the kill, e.g. '
                 'written while its replica node was down, then lost with '
                 'its owner (outside the window)'}


def explain_losses(sh, losses, kills):
    """Losses grouped by kill, subscriber and category, one line each."""
    groups = {}
    for r in losses:
        groups.setdefault((r['kill'] if r['kill'] is not None else -1,
                           r['sub'], r['cat']), []).append(r)
    lines = []
    counts = {}
    for (k, sub, cat), rs in sorted(groups.items()):
        n = sum(len(r['run']) for r in rs)
        counts[cat] = counts.get(cat, 0) + n
        seqs = ' '.join('%s:%s' % (r['pub'], ranges(r['run'])) for r in rs)
        if k >= 0:
            tk, victim, _tr = kills[k]
            when = ('kill %d of %s at %s s: sent %+.2f..%+.2f s, acked '
                    '%+.2f..%+.2f s from it'
                    % (k + 1, victim, rel(tk),
                       min(r['ds'][0] for r in rs),
                       max(r['ds'][1] for r in rs),
                       min(r['da'][0] for r in rs),
                       max(r['da'][1] for r in rs)))
        else:
            when = 'no kill'
        lines.append('  LOST %d at %s (on %s then), %s: %s; %s'
                     % (n, sub, rs[0]['owner'], when, CATS[cat], seqs))
    return lines, counts


def report(sh, pubs, subs):
    kills = read_events(sh)
    total = {'delivered': 0, 'dups': 0, 'lost': 0, 'reordered': 0,
             'inwin': 0}
    details = []
    losses = []
    for s in subs:
        per = {}
        for pub, seq, dup, t, node in s.got:
            per.setdefault(pub, []).append((seq, dup, t, node))
        lost = dups = reord = 0
        for p in pubs:
            if not any(topic_match(f, p.topic) for f in s.topics):
                if p.name_ in per:
                    sh.error('%s got %d messages of %s, not subscribed'
                             % (s.name_, len(per[p.name_]), p.name_))
                continue
            want = set(p.acked_at)
            seen = set()
            top = 0
            for seq, dup, t, node in per.get(p.name_, []):
                if seq in seen:
                    dups += 1
                    continue
                seen.add(seq)
                if seq < top:
                    reord += 1
                    if reord <= 5:
                        details.append('  reordered %s -> %s: %d after %d '
                                       '(at %s via %s)'
                                       % (p.name_, s.name_, seq, top,
                                          rel(t), node))
                top = max(top, seq)
            missing = want - seen
            if missing:
                lost += len(missing)
                for run in runs_of(missing):
                    losses.append(classify(sh, s, p, run, kills))
            extra = seen - set(range(1, p.count + 1))
            if extra:
                sh.error('%s: unknown seqs of %s: %s'
                         % (s.name_, p.name_, ranges(extra)))
        nodes = '>'.join(h[0] for h in s.conn.history)
        say('%s (%s%s, %s): %d delivered, %d duplicates, %d lost, %d '
            'reordered; nodes %s'
            % (s.name_, 'v5' if s.conn.version == 5 else 'v3.1.1',
               ', offline' if s.offline else '', ' '.join(s.topics),
               len(s.got), dups, lost, reord, nodes))
        total['delivered'] += len(s.got)
        total['dups'] += dups
        total['lost'] += lost
        total['reordered'] += reord
    for p in pubs:
        slow = sum(1 for s, (t, _n) in p.acked_at.items()
                   if t - p.sent_at.get(s, t) > 4)
        say('%s: %d/%d acknowledged, %d sends, %d refused, %d reconnects, '
            '%d acked after more than 4 s; nodes %s'
            % (p.name_, len(p.acked_at), p.count, p.sends, p.refused,
               p.reconnects, slow, '>'.join(h[0] for h in p.conn.history)))
    for line in details:
        print(line)
    lines, counts = explain_losses(sh, losses, kills)
    for line in lines:
        print(line)
    total['inwin'] = counts.get('window', 0)
    if counts:
        say('lost by kind: %s' % '; '.join(
            '%d %s' % (n, CATS[c]) for c, n in sorted(counts.items())))
    acked = sum(len(p.acked_at) for p in pubs)
    say('TOTAL: %d published and acknowledged, %d delivered, %d '
        'duplicates, %d lost (%d of them in the documented window), %d '
        'reordered; %d sessions lost, %d errors'
        % (acked, total['delivered'], total['dups'], total['lost'],
           total['inwin'], total['reordered'],
           sum(s.lost_sessions for s in subs), len(sh.errors)))
    return total['lost'] == 0 and total['reordered'] == 0 and not sh.errors


def all_there(pubs, s):
    have = {}
    for pub, seq, _d, _t, _n in s.got:
        have.setdefault(pub, set()).add(seq)
    for p in pubs:
        if any(topic_match(f, p.topic) for f in s.topics) and \
                not set(p.acked_at) <= have.get(p.name_, set()):
            return False
    return True


def progress(sh, pubs, stop):
    while not stop.is_set():
        n = sum(len(p.acked_at) for p in pubs)
        write_file(sh.path('progress'), '%d %d\n' % (n, sh.a.count))
        stop.wait(0.1)
    n = sum(len(p.acked_at) for p in pubs)
    write_file(sh.path('progress'), '%d %d\n' % (n, sh.a.count))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--nodes', required=True)
    ap.add_argument('--dir', required=True)
    ap.add_argument('--publishers', type=int, default=20)
    ap.add_argument('--subscribers', type=int, default=20)
    ap.add_argument('--count', type=int, default=10000)
    ap.add_argument('--rate', type=float, default=150)
    ap.add_argument('--offline-every', type=int, default=4)
    ap.add_argument('--seed', type=int, default=None)
    ap.add_argument('--timeout', type=float, default=200)
    ap.add_argument('--drain-timeout', type=float, default=60)
    a = ap.parse_args()
    sh = Shared(a)
    pubs, subs = plan(sh, a)
    routes = check_plan(sh, pubs, subs)
    say('%d publishers, %d subscribers (%d offline until the end), %d '
        'messages at %.0f/s, seed %s'
        % (len(pubs), len(subs), sum(1 for s in subs if s.offline),
           a.count, a.rate, a.seed))

    for s in subs:
        s.start()
    for s in subs:
        while not s.subscribed.wait(0.1):
            if not s.is_alive() or time.monotonic() > sh.deadline:
                sh.error('%s: not subscribed' % s.name_)
                return 1
    write_file(sh.path('subscribed'), routes)
    say('all subscribed; waiting for the routes')
    if not wait_file(sh, 'go', 60):
        sh.error('no go from the shell')
        return 1

    stop = threading.Event()
    mon = threading.Thread(target=progress, args=(sh, pubs, stop),
                           daemon=True)
    mon.start()
    say('publishing')
    for p in pubs:
        p.start()
    for p in pubs:
        p.join(max(0, sh.pub_deadline + 5 - time.monotonic()))
    stop.set()
    mon.join()
    write_file(sh.path('published'), '')
    acked = sum(len(p.acked_at) for p in pubs)
    say('published: %d acknowledged' % acked)

    if not wait_file(sh, 'rounds-done', 120):
        sh.error('no rounds-done from the shell')
    say('draining: the offline subscribers come back')
    for s in subs:
        s.come_back.set()
    t_drain = time.monotonic()
    end = min(sh.deadline, t_drain + a.drain_timeout)
    quiet = None
    while time.monotonic() < end:
        if all(all_there(pubs, s) for s in subs):
            # Everything is there: a little longer for duplicates and
            # anything unexpected.
            if quiet is None:
                quiet = time.monotonic() + 1.5
            elif time.monotonic() > quiet:
                break
        time.sleep(0.1)
    for s in subs:
        s.finish.set()
    sh.stop.set()
    for s in subs:
        s.join(10)
    say('drained after %.1f s' % (time.monotonic() - t_drain))
    return 0 if report(sh, pubs, subs) else 1


if __name__ == '__main__':
    sys.exit(main())
