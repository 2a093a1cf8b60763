# SPDX-License-Identifier: MIT
"""A small case runner for the Python parts of the black-box tests: named
cases, checks with messages, unique ids, and notes where Mosquitto (used to
prove the tests) deviates from the MQTT specification."""

import os
import random
import string
import sys
import time
import traceback

PORT = int(os.environ.get('NODE_PORT', '0') or 0)
BROKER = os.environ.get('TERN_TEST_BROKER', 'tern')
MOSQ = BROKER == 'mosquitto'
TERN = not MOSQ

_cases = []
_run_id = ''.join(random.choice(string.ascii_lowercase) for _ in range(6))


def uid(prefix='c'):
    """A client id / topic part unique to this run."""
    return '%s-%s-%s' % (prefix, _run_id,
                         ''.join(random.choice(string.ascii_lowercase +
                                               string.digits)
                                 for _ in range(6)))


def case(fn):
    _cases.append(fn)
    return fn


def tern_only(fn):
    """A case that asserts something Mosquitto 2.0.11 does differently."""
    fn.tern_only = True
    return _case_add(fn)


def _case_add(fn):
    _cases.append(fn)
    return fn


def check(cond, msg='check failed'):
    if not cond:
        raise AssertionError(msg)


def eq(got, want, what='value'):
    if got != want:
        raise AssertionError('%s: got %r, want %r' % (what, got, want))


def spec(cond, msg, note=None):
    """Assert a spec rule for Tern; against Mosquitto only report it."""
    if cond:
        return
    if MOSQ:
        print('    note: mosquitto deviates: %s%s'
              % (msg, (' (%s)' % note) if note else ''))
        return
    raise AssertionError(msg)


def until(fn, timeout=5.0, what='condition', step=0.05):
    """Poll fn until it returns true; returns its value or fails."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError('timeout (%.1fs) waiting for %s'
                                 % (timeout, what))
        time.sleep(step)


def run():
    """Run every case (or those whose name contains $TERN_CASE); exit 1 if
    any failed."""
    want = os.environ.get('TERN_CASE', '')
    failed = []
    for fn in _cases:
        name = fn.__name__
        if want and want not in name:
            continue
        if getattr(fn, 'tern_only', False) and MOSQ:
            print('  skip %s (Tern only)' % name)
            continue
        t0 = time.monotonic()
        try:
            fn()
        except Exception as e:
            failed.append(name)
            print('  FAIL %s (%.1fs): %s: %s'
                  % (name, time.monotonic() - t0, type(e).__name__, e))
            traceback.print_exc(file=sys.stdout)
            continue
        print('  ok   %s (%.1fs)' % (name, time.monotonic() - t0))
        sys.stdout.flush()
    if failed:
        print('  failed cases: %s' % ' '.join(failed))
        sys.exit(1)
