# SPDX-License-Identifier: MIT
"""Exact, ordered delivery of a few named QoS 1 messages to a persistent
session, for the replicated-queue tests (52): what arrives is recorded
payload by payload, so a loss, a reorder, a duplicate or a stale copy shows
as such.  Raw client (mqttraw), PUBACK sent as each message is read.

  queue_order.py [--host H] --port P sub --client-id ID --version 4|5
      --topic T --phase "B C D E" [--phase F ...] [--timeout S ...]
      [--stray S] [--ready FILE] [--report PREFIX]
    Connects as a persistent session (3.1.1: clean session 0; 5.0: clean
    start 0, session expiry 3600), retrying a refused or closed connect
    for --connect-timeout seconds; subscribes to T at QoS 1 only if the
    broker has no session (CONNACK session present 0), as a careful client
    does; writes FILE.  Each phase waits (its --timeout, counted from the
    end of the one before) until its payloads have all arrived; then
    PREFIX.N holds what arrived in phase N ("B C D E", a DUP-flagged copy
    marked "B(dup)").  After the last phase it waits --stray seconds for
    anything more (counted in the last phase), sends DISCONNECT (the
    session stays) and exits 0 if every phase got exactly its payloads, in
    order.
  queue_order.py [--host H] --port P pub --topic T PAYLOAD...
    Publishes each at QoS 1 (5.0) and waits for its PUBACK; exit 0 if all
    were acknowledged with a reason code below 0x80.
  queue_order.py [--host H] --port P clear --client-id ID --version 4|5
    Connects with a clean session and no expiry, ending the session."""

import argparse
import os
import sys
import time

import mqttraw as mr

EXPIRY = 3600


def say(*a):
    print('%s %s' % (time.strftime('%H:%M:%S'), ' '.join(str(x) for x in a)),
          flush=True)


def connect(a, client_id, clean, version, expiry):
    """A CONNACK 0 within --connect-timeout; a refused or closed attempt
    is retried (a client reconnecting while the cluster decides who owns
    its session would do the same)."""
    deadline = time.monotonic() + a.connect_timeout
    tries = 0
    last = None
    while True:
        tries += 1
        c = None
        try:
            c = mr.Client(a.port, version=version, host=a.host, timeout=10)
            prop = {'session_expiry': expiry} if version == 5 and expiry \
                else None
            ca = c.connect(client_id, clean=clean, keepalive=0, prop=prop,
                           expect_rc=None)
            if ca.rc == 0:
                return c, ca, tries
            last = 'CONNACK rc 0x%02x' % ca.rc
        except (OSError, mr.Closed, AssertionError) as e:
            last = '%s: %s' % (type(e).__name__, e)
        if c is not None:
            c.close()
        if time.monotonic() >= deadline:
            raise AssertionError('no connection after %d tries (last: %s)'
                                 % (tries, last))
        time.sleep(0.2)


def label(p):
    s = p.payload.decode(errors='replace')
    return s + '(dup)' if p.dup else s


def sub(a):
    c, ca, tries = connect(a, a.client_id, False, a.version, EXPIRY)
    subscribed = False
    if not ca.session_present:
        sa = c.subscribe((a.topic, 1))
        if sa.codes != [1]:
            raise AssertionError('SUBACK %r' % sa.codes)
        subscribed = True
    say('sub %s: connected after %d tries, session present %d%s'
        % (a.client_id, tries, ca.session_present,
           ', subscribed' if subscribed else ''))
    if a.ready:
        open(a.ready, 'w').close()
    phases = [p.split() for p in a.phase]
    timeouts = list(a.timeout) + [20.0] * len(phases)
    got = [[] for _ in phases]
    closed = None
    ok = True
    for i, want in enumerate(phases):
        deadline = time.monotonic() + timeouts[i]
        last = i == len(phases) - 1
        stray_end = None
        while True:
            now = time.monotonic()
            if stray_end is None:
                have = [x.payload.decode(errors='replace') for x in got[i]]
                if all(have.count(w) >= want.count(w) for w in want):
                    if not last:
                        break
                    stray_end = now + a.stray
                elif now >= deadline:
                    break
            elif now >= stray_end:
                break
            if closed is not None:
                break
            try:
                got[i] += [p for p in c.publishes(0.05)]
            except (OSError, mr.Violation) as e:
                closed = '%s: %s' % (type(e).__name__, e)
            if c.closed and closed is None:
                closed = 'closed by the broker'
        line = ' '.join(label(p) for p in got[i]) or '(nothing)'
        match = [x.payload.decode(errors='replace') for x in got[i]] == want
        ok = ok and match
        say('sub %s: phase %d: got %s; want %s: %s'
            % (a.client_id, i + 1, line, ' '.join(want),
               'ok' if match else 'MISMATCH'))
        if a.report:
            with open('%s.%d.tmp' % (a.report, i + 1), 'w') as f:
                f.write(line + '\n')
            os.rename('%s.%d.tmp' % (a.report, i + 1),
                      '%s.%d' % (a.report, i + 1))
    if closed is not None:
        say('sub %s: %s' % (a.client_id, closed))
        ok = False
    else:
        c.disconnect()
    return ok


def pub(a):
    c, _, tries = connect(a, 'rq-pub-%d' % os.getpid(), True, 5, 0)
    ok = True
    for m in a.payloads:
        try:
            ack = c.publish(a.topic, m.encode(), qos=1)
        except (AssertionError, OSError, mr.Closed) as e:
            say('pub %s on %s: no PUBACK: %s' % (m, a.topic, e))
            return False
        rc = getattr(ack, 'rc', 0) or 0
        say('pub %s on %s: PUBACK rc 0x%02x%s' % (m, a.topic, rc,
            ' (no matching subscribers)' if rc == 0x10 else ''))
        ok = ok and rc < 0x80
    c.disconnect()
    return ok


def clear(a):
    c, _, _ = connect(a, a.client_id, True, a.version, 0)
    c.disconnect()
    say('clear %s: session ended' % a.client_id)
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument('--connect-timeout', type=float, default=20)
    sp = ap.add_subparsers(dest='cmd', required=True)
    s = sp.add_parser('sub', parents=[common])
    s.add_argument('--client-id', required=True)
    s.add_argument('--version', type=int, default=4, choices=(4, 5))
    s.add_argument('--topic', required=True)
    s.add_argument('--phase', action='append', required=True)
    s.add_argument('--timeout', action='append', type=float, default=[])
    s.add_argument('--stray', type=float, default=1.0)
    s.add_argument('--ready')
    s.add_argument('--report')
    p = sp.add_parser('pub', parents=[common])
    p.add_argument('--topic', required=True)
    p.add_argument('payloads', nargs='+')
    c = sp.add_parser('clear', parents=[common])
    c.add_argument('--client-id', required=True)
    c.add_argument('--version', type=int, default=4, choices=(4, 5))
    a = ap.parse_args()
    try:
        ok = {'sub': sub, 'pub': pub, 'clear': clear}[a.cmd](a)
    except (AssertionError, OSError, mr.Closed, mr.Violation) as e:
        say('%s: FAILED: %s: %s' % (a.cmd, type(e).__name__, e))
        ok = False
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
