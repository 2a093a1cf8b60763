#!/bin/bash
# SPDX-License-Identifier: MIT
# Limits (issue 6), each biting with its counter moving and a log line:
# max_connections (and raised by SIGHUP, live), max_message_size,
# max_inflight_messages both ways, max_online_messages,
# max_offline_messages, max_publish_rate (back-pressure: every message
# arrives, later) and max_write_buffer (a subscriber that does not read
# loses QoS 0 while another one gets everything); then the systemd
# watchdog pings of a bare mqttd (its loop runs while it waits for storaged).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_listeners.sh"

is_mosquitto && skip "Tern's counters"

start_node a "max_connections = 10" "max_message_size = 2000" \
    "max_inflight_messages = 5" "max_online_messages = 20" \
    "max_offline_messages = 10" "max_publish_rate = 50" \
    "max_write_buffer = 16384"
MQTTD_PID=$(daemon_pid mqttd)
export NODE_PORT NODE_CONF NODE_LOG TERNCTL MQTTD_PID
run_py t63_limits.py || fail "python cases"
[ "$(daemon_pid mqttd)" = "$MQTTD_PID" ] || fail "mqttd restarted"

# The watchdog: mqttd under a fake systemd (NOTIFY_SOCKET) pings at least
# every second when WATCHDOG_USEC asks for it.
"$PY" - "$TERN_BUILDDIR/mqttd/mqttd" "$TEST_DIR" "$(free_port)" <<'PYEOF' ||
import os, socket, subprocess, sys, time
mqttd, d, port = sys.argv[1], sys.argv[2], sys.argv[3]
path = os.path.join(d, 'notify.sock')
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.1)
conf = os.path.join(d, 'wd.conf')
with open(conf, 'w') as f:
    f.write('nodename = wd@127.0.0.1\ndata_dir = %s\nrun_dir = %s\n'
            'listener.tcp.x = 127.0.0.1:%s\nlog_level = info\n'
            % (d, d, port))
env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC='4000000')
p = subprocess.Popen([mqttd, '-c', conf], env=env,
                     stderr=open(os.path.join(d, 'wd.log'), 'w'))
pings, t0 = [], time.monotonic()
try:
    while time.monotonic() - t0 < 3.6:
        try:
            msg = s.recv(100)
        except socket.timeout:
            continue
        if msg == b'WATCHDOG=1':
            pings.append(time.monotonic() - t0)
finally:
    p.terminate()
    p.wait(10)
print('watchdog pings at', ['%.2f' % t for t in pings])
gaps = [b - a for a, b in zip(pings, pings[1:])]
# READY=1 may wait for storaged (none here): the loop pings meanwhile.
sys.exit(0 if len(pings) >= 4 and max(gaps) < 1.5 else 1)
PYEOF
    fail "watchdog pings"
pass
