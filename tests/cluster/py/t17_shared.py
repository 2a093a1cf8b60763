# SPDX-License-Identifier: MIT
"""Cases of 17-mqtt-shared.sh: $share/GROUP/FILTER for 3.1.1 and 5.0
clients: each message to one member of each group, balanced, in order per
member; groups independent of each other and of normal subscriptions."""

import time

import mqttraw as m
from tcase import case, check, eq, spec, uid, run, PORT


def C(version=4, **kw):
    return m.Client(PORT, version, **kw)


def _members(group, filt, versions, qos=1):
    out = []
    for v in versions:
        c = C(v)
        c.connect(uid('m'))
        eq(c.subscribe(('$share/%s/%s' % (group, filt), qos)).codes, [qos],
           'v%d shared SUBACK' % v)
        out.append(c)
    return out


def _collect(members, n, timeout=5.0):
    """Read until n messages arrived over all members (then a little
    longer for extras); returns per-member payload number lists."""
    got = [[] for _ in members]
    total = 0
    deadline = time.monotonic() + timeout
    while total < n and time.monotonic() < deadline:
        for i, c in enumerate(members):
            for g in c.publishes(0.02):
                got[i].append(int(g.payload))
                total += 1
    for i, c in enumerate(members):
        got[i] += [int(g.payload) for g in c.publishes(0.2)]
    return got


def _check_split(got, n, what):
    allv = sorted(x for g in got for x in g)
    eq(allv, list(range(n)), '%s: every message exactly once' % what)
    for i, g in enumerate(got):
        eq(g, sorted(g), '%s: member %d order' % (what, i))
        # Balanced: no member starves (round robin or random both pass).
        check(len(g) >= n // (len(got) * 4),
              '%s: member %d got %d of %d' % (what, i, len(g), n))


@case
def shared_balanced_v311_and_v5():
    n = 300
    for versions in ((4, 4), (5, 5, 5), (4, 5)):
        t = uid('sh')
        members = _members('g', t, versions)
        p = C(5)
        p.connect(uid('p'))
        for i in range(n):
            p.publish(t, str(i), qos=1)
        got = _collect(members, n)
        _check_split(got, n, 'versions %r' % (versions,))
        for c in members + [p]:
            c.disconnect()


@case
def groups_independent_and_normal_subscriber():
    n = 100
    t = uid('sg')
    g1 = _members('one', t + '/#', (4, 5))
    g2 = _members('two', t + '/+', (5, 4, 5))
    plain = C(4)
    plain.connect(uid('n'))
    plain.subscribe((t + '/x', 1))
    p = C(4)
    p.connect(uid('p'))
    for i in range(n):
        p.publish(t + '/x', str(i), qos=1)
    _check_split(_collect(g1, n), n, 'group one')
    _check_split(_collect(g2, n), n, 'group two')
    eq([int(g.payload) for g in plain.wait_publishes(n)], list(range(n)),
       'normal subscriber')
    for c in g1 + g2 + [plain, p]:
        c.disconnect()


@case
def member_leaves():
    n = 40
    t = uid('ml')
    a, b = _members('g', t, (5, 4))
    p = C(4)
    p.connect(uid('p'))
    b.unsubscribe('$share/g/' + t)
    for i in range(n):
        p.publish(t, str(i), qos=1)
    got = _collect([a, b], n)
    eq(got, [list(range(n)), []], 'after unsubscribe')
    a.disconnect()
    for i in range(n, 2 * n):
        p.publish(t, str(i), qos=1)
    check(not b.publishes(0.4), 'unsubscribed member got messages')
    b.disconnect()
    p.disconnect()


@case
def shared_qos_downgrade():
    t = uid('sq')
    (a,) = _members('g', t, (5,), qos=0)
    p = C(5)
    p.connect(uid('p'))
    p.publish(t, b'1', qos=2)
    g = a.wait(m.PUBLISH)
    eq(g.qos, 0, 'QoS of shared delivery')
    a.disconnect()
    p.disconnect()


@case
def no_retained_on_shared_subscribe_v5():
    # [MQTT-3.8.4-? / 4.8.2]: retained messages are not sent to a shared
    # subscription when it is made.
    t = uid('sr')
    p = C(5)
    p.connect(uid('p'))
    p.publish(t, b'ret', qos=1, retain=True)
    (a,) = _members('g', t, (5,))
    got = a.publishes(0.5)
    spec(got == [], 'retained sent to a new shared subscription: %r' % got)
    p.publish(t, b'', qos=1, retain=True)
    a.disconnect()
    p.disconnect()


@case
def invalid_shared_filters():
    for bad in ('$share/g', '$share//x', '$share/g+/x', '$share/g#/x'):
        for v in (4, 5):
            c = C(v)
            c.connect(uid('c'))
            c.send(m.subscribe(1, [(bad, 1)], v))
            try:
                sa = c.wait(m.SUBACK)
                # 3.1.1 does not define $share: there it may be a plain
                # filter.  Tern treats $share the same in both versions.
                spec(sa.codes[0] >= 0x80, 'v%d %s accepted' % (v, bad))
            except m.Closed:
                pass
            c.close()


@case
def no_local_on_shared_is_error_v5():
    c = C(5)
    c.connect(uid('c'))
    c.send(m.subscribe(1, [('$share/g/' + uid('t'),
                            m.sub_opts(1, nl=True))], 5))
    got = c.poll(1.0)
    ok = c.closed or any(x.type == m.SUBACK and x.codes[0] >= 0x80
                         for x in got)
    spec(ok, 'no local on a shared subscription accepted: %r' % got)
    c.close()


if __name__ == '__main__':
    run()
