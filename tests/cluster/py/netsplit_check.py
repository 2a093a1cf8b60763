# SPDX-License-Identifier: MIT
"""Checks one node of a netsplit test (run inside the node's namespace):
   netsplit_check.py HOST PORT refuses   the minority refuses as documented
   netsplit_check.py HOST PORT serves    everything is accepted
Each check opens fresh connections (5.0 and 3.1.1) and, for the refusals
of an open connection, uses one opened before (--held FILE: a connection
kept open by `hold`, see below) when given.
   netsplit_check.py HOST PORT hold FILE  connects (5.0 and 3.1.1), writes
       FILE, keeps both open and, once FILE is removed, checks them as
       `refuses` does and exits with its result."""

import os
import sys
import time

import mqttraw as mr

EXPECT_CONNACK_V5 = 0x88        # server unavailable
EXPECT_CONNACK_V3 = 3           # server unavailable
EXPECT_REFUSE_V5 = 0x83         # implementation specific error


def check_open_refuses(c5, c3):
    """Open connections in a minority: SUBSCRIBE, PUBLISH and UNSUBSCRIBE
    are refused with the documented codes."""
    sa = c5.subscribe(('ns/t', 1))
    assert sa.codes == [EXPECT_REFUSE_V5], 'SUBACK %r' % sa.codes
    pa = c5.publish('ns/t', b'x', qos=1)
    assert pa.rc == EXPECT_REFUSE_V5, 'PUBACK rc 0x%02x' % pa.rc
    ua = c5.unsubscribe('ns/t')
    assert ua.codes == [EXPECT_REFUSE_V5], 'UNSUBACK %r' % ua.codes
    assert c5.is_open(), '5.0 connection closed'
    sa = c3.subscribe(('ns/t', 1))
    assert sa.codes == [0x80], '3.1.1 SUBACK %r' % sa.codes
    # QoS 0: dropped, the connection stays; QoS 1: closed.
    c3.publish('ns/t', b'zero', qos=0)
    assert c3.is_open(), '3.1.1 closed on a QoS 0 publish'
    c3.publish('ns/t', b'one', qos=1, wait_ack=False)
    c3.wait_closed()


def refuses(host, port):
    c = mr.Client(port, version=5, host=host)
    c.connect('ns-v5-%d' % os.getpid(), expect_rc=EXPECT_CONNACK_V5)
    c.close()
    c = mr.Client(port, version=4, host=host)
    c.connect('ns-v3-%d' % os.getpid(), expect_rc=EXPECT_CONNACK_V3)
    c.close()


def serves(host, port):
    c = mr.Client(port, version=5, host=host)
    c.connect('ns-ok-%d' % os.getpid())
    sa = c.subscribe(('ns/ok', 1))
    assert sa.codes == [1], 'SUBACK %r' % sa.codes
    pa = c.publish('ns/ok', b'x', qos=1)
    assert pa.rc in (0, 0x10), 'PUBACK rc 0x%02x' % pa.rc
    got = c.wait_publishes(1)
    assert got[0].payload == b'x', got
    ua = c.unsubscribe('ns/ok')
    assert ua.codes == [0], 'UNSUBACK %r' % ua.codes
    c.disconnect()


def hold(host, port, path):
    c5 = mr.Client(port, version=5, host=host, timeout=10)
    c5.connect('ns-h5-%d' % os.getpid())
    c3 = mr.Client(port, version=4, host=host, timeout=10)
    c3.connect('ns-h3-%d' % os.getpid(), keepalive=0)
    with open(path, 'w') as f:
        f.write('ready\n')
    deadline = time.monotonic() + 60
    while os.path.exists(path):
        if time.monotonic() > deadline:
            raise AssertionError('nobody told us to check')
        c5.ping()
        time.sleep(0.2)
    check_open_refuses(c5, c3)
    c5.disconnect()


def main():
    host, port, what = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    try:
        if what == 'refuses':
            refuses(host, port)
        elif what == 'serves':
            serves(host, port)
        elif what == 'hold':
            hold(host, port, sys.argv[4])
        else:
            raise SystemExit('unknown check %s' % what)
    except (AssertionError, OSError, mr.Violation) as e:
        print('%s %s: FAILED: %s' % (host, what, e))
        sys.exit(1)
    print('%s %s: ok' % (host, what))


if __name__ == '__main__':
    main()
