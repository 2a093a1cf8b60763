#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmarks of replicated queues (issue 8; results in docs/benchmarks.md,
# "Replicated queues").  Three Tern nodes on this machine, started fresh
# for every run with the test harness (tests/cluster/lib.sh).
#
#   scripts/bench-replicated.sh throughput
#     QoS 1 to persistent subscribers across the cluster: mqtt-bench p2p,
#     publishers on node a, persistent subscribers (clean session 0) on
#     node b, with cluster.replication_factor 1 and 2, and single-node
#     Mosquitto (persistence false) with the same clients; the three
#     alternate, RUNS rounds.  One line per run, then the medians.
#   scripts/bench-replicated.sh failover
#     A persistent QoS 1 subscriber on node c, offline with COUNT messages
#     queued (published through a); the whole node c is killed (SIGKILL of
#     its `ternctl run` process group) and the subscriber reconnects
#     through b, at once (retrying) and, in a second series, DELAY s later;
#     time from the kill to the first queued message.  RUNS trials each.
#
# Before each run it waits (at most QUIET_WAIT s, 300) for a 1-minute load
# average below QUIET (2) and prints the load it started at.
#
# The shared bench kit's mqtt-bench lacks --sub-port and --persistent;
# scripts/bench/mqtt-bench-persistent.patch adds them:
#   cp -r ../shared/bench /tmp/bench8 &&
#   patch -d /tmp/bench8 -p1 < scripts/bench/mqtt-bench-persistent.patch &&
#   make -C /tmp/bench8
#
# Environment: TERN_BUILDDIR (build dir with ternctl/ternctl), MQTT_BENCH
# (an mqtt-bench with --sub-port and --persistent), MOSQ_RUN
# (run-mosquitto.sh of the bench kit; default: beside MQTT_BENCH), RUNS
# (3 throughput, 5 failover), DUR (10 s), PAIRS (10), COUNT (100 queued
# messages), DELAY (5 s), SERIES ("now late": the failover series to run),
# KILL_LEADER=1 (node c starts first, so it is the Raft leader when
# killed), TERN_LOG_LEVEL (warn), QUIET, QUIET_WAIT.

mode=${1:-}
case $mode in
throughput|failover) ;;
*) echo "usage: $0 throughput|failover" >&2; exit 2 ;;
esac
TERN_SRCDIR=${TERN_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
export TERN_SRCDIR
export TERN_LOG_LEVEL=${TERN_LOG_LEVEL:-warn}
. "$TERN_SRCDIR/tests/cluster/lib.sh"
. "$TERN_SRCDIR/tests/cluster/lib_cluster.sh"

MQTT_BENCH=${MQTT_BENCH:-/tmp/bench8/mqtt-bench}
MOSQ_RUN=${MOSQ_RUN:-$(dirname "$MQTT_BENCH")/run-mosquitto.sh}
DUR=${DUR:-10}
PAIRS=${PAIRS:-10}
COUNT=${COUNT:-100}
DELAY=${DELAY:-5}
LIMITS="max_inflight_messages = 0
max_online_messages = 100000
max_offline_messages = 100000"

"$MQTT_BENCH" --help 2>&1 | grep -q -- --persistent ||
    fail "$MQTT_BENCH: no mqtt-bench with --sub-port and --persistent"
[ "$mode" = failover ] || [ -x "$MOSQ_RUN" ] || fail "no $MOSQ_RUN"
"$TERNCTL" keys create "$TEST_DIR/keys" >/dev/null || fail "keys create"

# cluster3 SUFFIX RF [FIRST]: fresh nodes aSUFFIX bSUFFIX cSUFFIX with
# replication factor RF; FIRST (a by default) starts first and the others
# join it; waits until all three see three nodes up.
cluster3() {
	local s=$1 rf=$2 first=${3:-a} n cport line
	local -a extra=("cluster.key_dir = $TEST_DIR/keys")
	while IFS= read -r line; do extra+=("$line"); done <<<"$LIMITS"
	for n in $first a b c; do
		[ -n "$(eval echo \${PORT_$n$s:-})" ] && continue
		TERN_TEST_RF=$rf start_node "$n$s" "${extra[@]}"
		eval "CPORT_$n$s=$NODE_CPORT"
	done
	eval "cport=\$CPORT_$first$s"
	for n in a b c; do
		[ "$n" = "$first" ] && continue
		"$TERNCTL" -c "$(eval echo \$CONF_$n$s)" cluster join \
		    "discovery-node=127.0.0.1:$cport" >/dev/null ||
		    fail "$n$s could not join"
	done
	for n in a b c; do
		wait_for 30 cluster_check "$n$s" 3
	done
}

# stop3 SUFFIX: stop the three nodes, drop their data.
stop3() {
	node_stop "a$1" "b$1" "c$1"
	rm -rf "$TEST_DIR/a$1" "$TEST_DIR/b$1" "$TEST_DIR/c$1"
}

# cpu_ticks SID...: CPU time (clock ticks) of every process in the sessions.
cpu_ticks() {
	"$PY" - "$@" <<'EOF'
import os, sys
sids = set(int(x) for x in sys.argv[1:])
t = 0
for p in os.listdir('/proc'):
    if not p.isdigit():
        continue
    try:
        s = open('/proc/%s/stat' % p).read()
    except OSError:
        continue
    f = s[s.rindex(')') + 2:].split()
    if int(f[3]) in sids:
        t += int(f[11]) + int(f[12])
print(t)
EOF
}

# field LINE KEY: KEY=value from an mqtt-bench RESULT line.
field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# quiet: wait (at most QUIET_WAIT s, 300) until the 1-minute load average
# is below QUIET (2); sets LOAD_BEFORE to the load then.
quiet() {
	local end=$(( $(date +%s) + ${QUIET_WAIT:-300} ))
	LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
	while ! awk -v l="$LOAD_BEFORE" -v q="${QUIET:-2}" \
	    'BEGIN { exit !(l < q) }'; do
		if [ "$(date +%s)" -ge "$end" ]; then
			LOAD_BEFORE="$LOAD_BEFORE(busy)"
			return
		fi
		sleep 5
		LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
	done
}

# bench_run LABEL PUBPORT SUBPORT SID...: one mqtt-bench run; prints a
# line with the rate and the brokers' CPU per message.
bench_run() {
	local label=$1 pp=$2 sp=$3 c0 c1 out rate rc=0 hz
	shift 3
	hz=$(getconf CLK_TCK)
	c0=$(cpu_ticks "$@")
	out=$("$MQTT_BENCH" -p "$pp" --sub-port "$sp" --persistent -m p2p \
	    -q 1 -P "$PAIRS" -d "$DUR" 2>&1) || rc=$?
	c1=$(cpu_ticks "$@")
	out=$(printf '%s\n' "$out" | grep '^RESULT')
	rate=$(field "$out" rate)
	{
	printf '%-10s rc=%d rate=%s lost=%s dup=%s ooo=%s p50_us=%s p99_us=%s ' \
	    "$label" "$rc" "$rate" "$(field "$out" lost)" \
	    "$(field "$out" dup)" "$(field "$out" ooo)" \
	    "$(field "$out" p50_us)" "$(field "$out" p99_us)"
	printf 'recv=%s session_present=%s broker_cpu_us_per_msg=%s ' \
	    "$(field "$out" recv)" "$(field "$out" session_present)" \
	    "$("$PY" -c "import sys
c0, c1, r = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3] or 0)
print('%.1f' % ((c1 - c0) * 1e6 / $hz / r) if r else '-')" \
	    "$c0" "$c1" "$(field "$out" recv)")"
	printf 'load_before=%s load_after=%s\n' \
	    "$LOAD_BEFORE" "$(cut -d' ' -f1 /proc/loadavg)"
	} | tee -a "$TEST_DIR/runs.txt"
}

throughput() {
	# Not in a pipe: the nodes' groups must reach lib.sh's cleanup.
	throughput_runs
	"$PY" - "$TEST_DIR/runs.txt" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    if not f or f[0] not in ('rf1', 'rf2', 'mosquitto'):
        continue
    kv = dict(x.split('=', 1) for x in f[1:] if '=' in x)
    rows.setdefault(f[0], []).append(kv)
def med(cfg, k):
    v = [float(r[k]) for r in rows.get(cfg, [])
         if r.get(k) not in (None, '', '-')]
    return statistics.median(v) if v else float('nan')
print('median msg/s: rf1 %.0f  rf2 %.0f  mosquitto %.0f' %
      (med('rf1', 'rate'), med('rf2', 'rate'), med('mosquitto', 'rate')))
print('median broker CPU us/msg: rf1 %.1f  rf2 %.1f  mosquitto %.1f' %
      (med('rf1', 'broker_cpu_us_per_msg'),
       med('rf2', 'broker_cpu_us_per_msg'),
       med('mosquitto', 'broker_cpu_us_per_msg')))
print('ratios: rf2/mosquitto %.2f  rf1/mosquitto %.2f  rf2/rf1 %.2f' %
      (med('rf2', 'rate') / med('mosquitto', 'rate'),
       med('rf1', 'rate') / med('mosquitto', 'rate'),
       med('rf2', 'rate') / med('rf1', 'rate')))
bad = sum(1 for c in rows.values() for r in c
          if r.get('rc') != '0' or r.get('lost') != '0')
print('runs with losses or errors: %d' % bad)
EOF
}

throughput_runs() {
	local r cfg s port pg
	for r in $(seq 1 "${RUNS:-3}"); do
		for cfg in rf1 rf2 mosquitto; do
			s=$r$cfg
			quiet
			case $cfg in
			rf1|rf2)
				cluster3 "$s" "${cfg#rf}"
				bench_run "$cfg" "$(eval echo \$PORT_a$s)" \
				    "$(eval echo \$PORT_b$s)" \
				    "$(eval echo \$PID_a$s)" \
				    "$(eval echo \$PID_b$s)" \
				    "$(eval echo \$PID_c$s)"
				stop3 "$s"
				;;
			mosquitto)
				port=$(free_port)
				MOSQ_EXTRA='max_inflight_messages 0\nmax_queued_messages 100000' \
				    spawn "mosq$s" "$MOSQ_RUN" "$port"
				pg=$SPAWN_PID
				wait_for 10 mqtt_ready "$port"
				bench_run "$cfg" "$port" "$port" "$pg"
				kill_group "$pg"
				forget_pid "$pg"
				;;
			esac
		done
	done
}

FPY=$TEST_DIR/failover.py
cat >"$FPY" <<'PYEOF'
# SPDX-License-Identifier: MIT
"""Failover time of a persistent session's queue (issue 8 benchmark).

  failover.py prep --port C --client-id ID --topic T
      Connects to C as a persistent session (3.1.1, clean session 0),
      subscribes to T at QoS 1 and disconnects: the session stays, offline.
  failover.py run --pub-port A --port B --client-id ID --topic T
      --kill-pgid PG [--count N] [--delay S] [--timeout S]
      Publishes N numbered QoS 1 messages through A (each acknowledged),
      then SIGKILLs process group PG (the subscriber's node) and reconnects
      the session through B -- at once, or --delay seconds later --
      retrying a refused or dropped attempt every 20 ms.  It does not
      subscribe again (the session must come back with its queue).  Prints
      one RESULT line: times from the kill to the CONNACK, to the first
      and the last queued message, and what arrived (lost, duplicates,
      out of order).  Exit 0 if all N arrived in order."""

import argparse
import os
import signal
import sys
import time

import paho.mqtt.client as mqtt


def ms(t):
    return '%.0f' % (t * 1000.0)


def wait(c, cond, timeout):
    end = time.monotonic() + timeout
    while not cond() and time.monotonic() < end:
        c.loop(timeout=0.005)
    return cond()


def prep(a):
    st = {}
    c = mqtt.Client(client_id=a.client_id, clean_session=False,
                    protocol=mqtt.MQTTv311)
    c.on_connect = lambda c_, u, f, rc: st.update(rc=rc)
    c.on_subscribe = lambda c_, u, mid, q: st.update(sub=q)
    c.connect('127.0.0.1', a.port, keepalive=30)
    if not wait(c, lambda: 'rc' in st, 10) or st['rc'] != 0:
        sys.exit('prep: no CONNACK 0: %s' % st)
    c.subscribe(a.topic, qos=1)
    if not wait(c, lambda: 'sub' in st, 10) or st['sub'][0] != 1:
        sys.exit('prep: no SUBACK QoS 1: %s' % st)
    c.disconnect()
    c.loop(timeout=0.1)
    print('prep: %s subscribed to %s on port %d, offline now'
          % (a.client_id, a.topic, a.port), flush=True)


def publish(a):
    st = {'acked': 0}
    c = mqtt.Client(client_id='%s-pub' % a.client_id, clean_session=True,
                    protocol=mqtt.MQTTv311)
    c.max_inflight_messages_set(0)
    c.on_connect = lambda c_, u, f, rc: st.update(rc=rc)
    c.on_publish = lambda c_, u, mid: st.update(acked=st['acked'] + 1)
    c.connect('127.0.0.1', a.pub_port, keepalive=30)
    if not wait(c, lambda: 'rc' in st, 10) or st['rc'] != 0:
        sys.exit('publisher: no CONNACK 0: %s' % st)
    for i in range(a.count):
        c.publish(a.topic, b'%d' % i, qos=1)
    if not wait(c, lambda: st['acked'] >= a.count, 30):
        sys.exit('publisher: %d of %d acknowledged' % (st['acked'], a.count))
    c.disconnect()
    c.loop(timeout=0.1)


def run(a):
    publish(a)
    got = []
    st = {'first': None, 'last': None, 'connack': None, 'sp': None,
          'tries': 0, 'refused': []}

    def on_connect(c_, u, flags, rc):
        if rc == 0:
            st['connack'] = time.monotonic()
            st['sp'] = flags.get('session present')
        else:
            st['refused'].append(rc)
        st['rc'] = rc

    def on_message(c_, u, msg):
        t = time.monotonic()
        if st['first'] is None:
            st['first'] = t
        got.append(int(msg.payload))
        if len(set(got)) >= a.count and st['last'] is None:
            st['last'] = t

    t_kill = time.monotonic()
    os.killpg(a.kill_pgid, signal.SIGKILL)
    if a.delay > 0:
        time.sleep(a.delay)
    deadline = t_kill + a.timeout
    c = None
    while st['connack'] is None and time.monotonic() < deadline:
        st['tries'] += 1
        st.pop('rc', None)
        c = mqtt.Client(client_id=a.client_id, clean_session=False,
                        protocol=mqtt.MQTTv311)
        c.max_inflight_messages_set(0)
        c.on_connect = on_connect
        c.on_message = on_message
        try:
            c.connect('127.0.0.1', a.port, keepalive=30)
        except OSError:
            time.sleep(0.02)
            continue
        # A CONNACK, or the connection closed (rc of loop() != 0).
        while 'rc' not in st and time.monotonic() < deadline:
            if c.loop(timeout=0.005) != mqtt.MQTT_ERR_SUCCESS:
                break
        if st['connack'] is None:
            try:
                c.disconnect()
            except Exception:
                pass
            time.sleep(0.02)
    if st['connack'] is not None:
        wait(c, lambda: st['last'] is not None, deadline - time.monotonic())
        wait(c, lambda: False, 0.5)	# stragglers: duplicates
        c.disconnect()
        c.loop(timeout=0.1)
    uniq = set(got)
    lost = a.count - len(uniq & set(range(a.count)))
    dup = len(got) - len(uniq)
    seen = set()
    ooo = 0
    hi = -1
    for x in got:
        if x in seen:
            continue
        seen.add(x)
        if x < hi:
            ooo += 1
        hi = max(hi, x)

    def rel(t):
        return ms(t - t_kill) if t is not None else 'none'

    print('RESULT delay_s=%g connack_ms=%s first_ms=%s last_ms=%s '
          'session_present=%s tries=%d refused=%s received=%d lost=%d '
          'dup=%d ooo=%d'
          % (a.delay, rel(st['connack']), rel(st['first']),
             rel(st['last']), st['sp'], st['tries'],
             ','.join(str(x) for x in st['refused']) or '-', len(got), lost,
             dup, ooo), flush=True)
    return 0 if lost == 0 and ooo == 0 else 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument('mode', choices=['prep', 'run'])
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--pub-port', type=int)
    p.add_argument('--client-id', required=True)
    p.add_argument('--topic', required=True)
    p.add_argument('--kill-pgid', type=int)
    p.add_argument('--count', type=int, default=100)
    p.add_argument('--delay', type=float, default=0)
    p.add_argument('--timeout', type=float, default=30)
    a = p.parse_args()
    if a.mode == 'prep':
        prep(a)
        return 0
    return run(a)


if __name__ == '__main__':
    sys.exit(main())
PYEOF

# routes NODE: the remote routes NODE's clusterd knows.
routes() {
	"$TERNCTL" -c "$(eval echo \$CONF_$1)" metrics show 2>/dev/null |
	    awk '$1 == "clusterd_routes_remote" { print $2; exit }'
}
routes_ge() { [ "$(routes "$1")" -ge "$2" ]; }

# trial SUFFIX DELAY: one failover trial on a fresh cluster.
trial() {
	local s=$1 delay=$2 first=a base leader
	[ "${KILL_LEADER:-0}" = 1 ] && first=c
	quiet
	cluster3 "$s" 2 "$first"
	leader=$(cluster_leader "a$s")
	base=$(routes "a$s")
	"$PY" "$FPY" prep --port "$(eval echo \$PORT_c$s)" \
	    --client-id "fo-$s" --topic "fo/$s" >/dev/null ||
	    fail "prep failed"
	wait_for 10 routes_ge "a$s" $((base + 1))
	# Its `Killed` job notice would clutter the output.
	disown "$(eval echo \$PID_c$s)" 2>/dev/null
	printf 'trial %-8s leader=%-4s load_before=%s ' "$s" "${leader%@*}" \
	    "$LOAD_BEFORE"
	"$PY" "$FPY" run --pub-port "$(eval echo \$PORT_a$s)" \
	    --port "$(eval echo \$PORT_b$s)" --client-id "fo-$s" \
	    --topic "fo/$s" --kill-pgid "$(eval echo \$PID_c$s)" \
	    --count "$COUNT" --delay "$delay" | sed 's/^RESULT //'
	forget_pid "$(eval echo \$PID_c$s)"
	eval "PID_c$s="
	stop3 "$s"
}

failover() {
	local r
	case " ${SERIES:-now late} " in
	*" now "*)
		for r in $(seq 1 "${RUNS:-5}"); do
			trial "${r}now" 0
		done ;;
	esac
	case " ${SERIES:-now late} " in
	*" late "*)
		for r in $(seq 1 "${RUNS:-5}"); do
			trial "${r}late" "$DELAY"
		done ;;
	esac
}

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $mode, $(nproc) cpus," \
    "load $(cut -d' ' -f1-3 /proc/loadavg)"
"$mode"
pass
