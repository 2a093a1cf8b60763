# SPDX-License-Identifier: MIT
"""Runs a paho-based test script (pub_numbered.py, sub_count.py) against
HOST instead of 127.0.0.1, e.g. a node in a network namespace:
    at_host.py HOST SCRIPT ARGS..."""

import runpy
import sys

import paho.mqtt.client as mqtt

_HOST = sys.argv[1]
_connect = mqtt.Client.connect


def _connect_host(self, host, *args, **kw):
    return _connect(self, _HOST if host == '127.0.0.1' else host, *args,
                    **kw)


mqtt.Client.connect = _connect_host
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name='__main__')
