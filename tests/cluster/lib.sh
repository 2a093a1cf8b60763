# SPDX-License-Identifier: MIT
# Harness of the black-box tests, sourced by every tests/cluster/NN-*.sh:
# a temp dir per test, free loopback ports, daemons started under setsid and
# killed by process group (only the ones this test started), wait_for with
# deadlines, start_node for Tern (ternctl run) or Mosquitto
# (TERN_TEST_BROKER=mosquitto), and fail/pass/skip.
#
# Environment:
#   TERN_BUILDDIR     build dir holding ternctl/ternctl (make check sets it)
#   TERN_SRCDIR       source dir (default: two levels above this file)
#   TERN_TEST_BROKER  tern (default) or mosquitto
#   TERN_KEEP=1       keep the temp dir after the test
#   TERN_CASE=WORD    run only the Python cases whose name contains WORD

set -u

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYDIR=$TESTS_DIR/py
TEST_NAME=$(basename "$0" .sh)
TERN_SRCDIR=${TERN_SRCDIR:-$(cd "$TESTS_DIR/../.." && pwd)}
TERN_TEST_BROKER=${TERN_TEST_BROKER:-tern}
export TERN_TEST_BROKER TERN_SRCDIR

if [ -z "${TERN_BUILDDIR:-}" ]; then
	for d in "$PWD" "$TERN_SRCDIR"; do
		if [ -x "$d/ternctl/ternctl" ]; then
			TERN_BUILDDIR=$d
			break
		fi
	done
fi
TERN_BUILDDIR=${TERN_BUILDDIR:-$TERN_SRCDIR}
export TERN_BUILDDIR
TERNCTL=$TERN_BUILDDIR/ternctl/ternctl

# paho-mqtt comes from Debian: prefer the system interpreter over any other
# python3 first on PATH.
if [ -z "${PY:-}" ]; then
	for p in /usr/bin/python3 python3; do
		if "$p" -c 'import paho.mqtt.client' 2>/dev/null; then
			PY=$p
			break
		fi
	done
fi
PY=${PY:-python3}
export PYTHONPATH=$PYDIR${PYTHONPATH:+:$PYTHONPATH}
export PYTHONDONTWRITEBYTECODE=1

TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tern-$TEST_NAME.XXXXXX")
_PIDS=""		# process group ids this test started
_PORTS=" "		# ports handed out by free_port
_RESULT=""

log() { printf '%s %s\n' "$(date +%H:%M:%S.%3N)" "$*"; }

is_mosquitto() { [ "$TERN_TEST_BROKER" = mosquitto ]; }

# Logs of every daemon this test ran: the tail of each.
show_logs() {
	local f
	for f in "$TEST_DIR"/*.log; do
		[ -f "$f" ] || continue
		echo "----- tail of $(basename "$f") -----"
		tail -n "${TERN_LOG_LINES:-40}" "$f"
	done
}

# Kill one process group this test started: TERM, then KILL after 5 s.
kill_group() {
	local pg=$1 sig=${2:-TERM} i
	kill -"$sig" -- -"$pg" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		kill -0 -- -"$pg" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -KILL -- -"$pg" 2>/dev/null
	return 0
}

_cleanup() {
	local rc=$? pg
	trap - EXIT INT TERM
	for pg in $_PIDS; do
		kill_group "$pg"
	done
	# Background clients started with & (python helpers) are this
	# shell's jobs: stop them too.
	for pg in $(jobs -p); do
		kill "$pg" 2>/dev/null
	done
	wait 2>/dev/null
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		show_logs
		echo "$TEST_NAME: FAILED (temp dir ${TERN_KEEP:+kept: }$TEST_DIR)"
	fi
	if [ -z "${TERN_KEEP:-}" ]; then
		rm -rf "$TEST_DIR"
	fi
	exit "$rc"
}
trap _cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

fail() {
	echo "FAIL: $TEST_NAME: $*" >&2
	exit 1
}

# A daemon that crashed and was restarted by ternctl, or a sanitizer
# report, fails the test even if the clients saw nothing.  Tests that kill
# daemons on purpose set EXPECT_RESTARTS=1.
check_logs() {
	local f bad=""
	for f in "$TEST_DIR"/*.log; do
		[ -f "$f" ] || continue
		if grep -Eq 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' \
		    "$f"; then
			bad="$bad sanitizer report in $(basename "$f");"
		fi
		if [ -z "${EXPECT_RESTARTS:-}" ] &&
		    grep -q 'restarting in [0-9]* ms' "$f"; then
			bad="$bad daemon died: $(grep -m1 'restarting in' "$f");"
		fi
	done
	[ -z "$bad" ] || fail "$bad"
}

pass() {
	check_logs
	echo "PASS: $TEST_NAME"
	exit 0
}

skip() {
	echo "SKIP: $TEST_NAME: $*"
	exit 77
}

# A loopback TCP port nobody listens on now (the kernel picks it), not
# handed out before in this test.
free_port() {
	local p i
	for i in $(seq 1 50); do
		p=$("$PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
		case $_PORTS in
		*" $p "*) continue ;;
		esac
		_PORTS="$_PORTS$p "
		echo "$p"
		return 0
	done
	fail "free_port: no port"
}

# wait_for TIMEOUT CMD...: run CMD every 50 ms until it succeeds; fail
# after TIMEOUT seconds.
wait_for() {
	local t=$1 end
	shift
	end=$(( $(date +%s%N) + t * 1000000000 ))
	while ! "$@" >/dev/null 2>&1; do
		if [ "$(date +%s%N)" -ge "$end" ]; then
			fail "timeout (${t}s) waiting for: $*"
		fi
		sleep 0.05
	done
}

# try_for TIMEOUT CMD...: like wait_for but returns 1 instead of failing.
try_for() {
	local t=$1 end
	shift
	end=$(( $(date +%s%N) + t * 1000000000 ))
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s%N)" -ge "$end" ] && return 1
		sleep 0.05
	done
	return 0
}

# spawn NAME CMD...: run CMD in its own session (process group) with its
# output in $TEST_DIR/NAME.log; sets SPAWN_PID (= its process group id).
spawn() {
	local name=$1
	shift
	setsid "$@" >>"$TEST_DIR/$name.log" 2>&1 </dev/null &
	SPAWN_PID=$!
	_PIDS="$_PIDS $SPAWN_PID"
}

# Forget a group this test killed itself.
forget_pid() {
	local pg new=""
	for pg in $_PIDS; do
		[ "$pg" = "$1" ] || new="$new $pg"
	done
	_PIDS=$new
}

# True when a CONNECT on PORT gets a CONNACK (refused or not: a node
# without anonymous access is ready too).
mqtt_ready() {
	"$PY" - "$1" <<'EOF'
import sys, mqttraw
try:
    c = mqttraw.Client(int(sys.argv[1]), timeout=1)
    c.connect('tern-ready-probe', expect_rc=None)
    c.disconnect()
except Exception:
    sys.exit(1)
EOF
}

# Translate Tern config lines into Mosquitto's where a key has an
# equivalent; others are dropped with a comment.
_mosq_line() {
	local k v
	k=$(printf '%s' "$1" | sed 's/[[:space:]]*=.*//; s/^[[:space:]]*//')
	v=$(printf '%s' "$1" | sed 's/^[^=]*=[[:space:]]*//; s/[[:space:]]*$//')
	case $v in
	on) v=true ;;
	off) v=false ;;
	esac
	case $k in
	''|\#*) ;;
	max_offline_messages) echo "max_queued_messages $v" ;;
	max_inflight_messages|max_keepalive|max_topic_alias|max_connections)
		echo "$k $v" ;;
	max_message_size) echo "max_packet_size $v" ;;
	allow_anonymous) echo "allow_anonymous $v" ;;
	*) echo "# not in mosquitto: $1" ;;
	esac
}

# start_node NAME [CONFIG LINE...]: write a one-node config under
# $TEST_DIR/NAME and start it; waits until MQTT answers.  Sets NODE_PORT,
# NODE_PID (process group), NODE_CONF, NODE_DIR, NODE_LOG, NODE_CPORT,
# NODE_HPORT and the same as PORT_NAME, PID_NAME, CONF_NAME.
start_node() {
	local name=$1 line dir port cport hport conf
	shift
	dir=$TEST_DIR/$name
	mkdir -p "$dir/data" "$dir/run"
	port=$(free_port)
	cport=$(free_port)
	hport=$(free_port)
	if is_mosquitto; then
		conf=$dir/mosquitto.conf
		{
			echo "# generated by tests/cluster/lib.sh"
			echo "listener $port 127.0.0.1"
			echo "allow_anonymous true"
			echo "persistence false"
			echo "log_dest stderr"
			echo "log_type all"
			echo "set_tcp_nodelay true"
			echo "max_queued_messages 100000"
			for line in "$@"; do
				_mosq_line "$line"
			done
		} >"$conf"
		spawn "$name" mosquitto -c "$conf"
	else
		[ -x "$TERNCTL" ] || fail "no $TERNCTL (set TERN_BUILDDIR)"
		conf=$dir/tern.conf
		{
			echo "# generated by tests/cluster/lib.sh"
			echo "nodename = $name@127.0.0.1"
			echo "data_dir = $dir/data"
			echo "run_dir = $dir/run"
			echo "log_level = ${TERN_LOG_LEVEL:-debug}"
			echo "listener.tcp.default = 127.0.0.1:$port"
			echo "listener.http.default = 127.0.0.1:$hport"
			echo "allow_anonymous = on"
			echo "cluster.listen = 127.0.0.1:$cport"
			echo "cluster.advertise = 127.0.0.1:$cport"
			echo "cluster.key_dir = $dir/keys"
			echo "cluster.replication_factor = ${TERN_TEST_RF:-2}"
			echo "discovery = none"
			echo "storage.sync = ${TERN_TEST_SYNC:-always}"
			for line in "$@"; do
				echo "$line"
			done
		} >"$conf"
		if [ ! -d "$dir/keys" ]; then
			"$TERNCTL" keys create "$dir/keys" \
			    >>"$TEST_DIR/$name.log" 2>&1 || true
		fi
		spawn "$name" "$TERNCTL" run -c "$conf"
	fi
	NODE_PORT=$port NODE_CPORT=$cport NODE_HPORT=$hport
	NODE_PID=$SPAWN_PID NODE_CONF=$conf NODE_DIR=$dir
	NODE_LOG=$TEST_DIR/$name.log
	eval "PORT_$name=$port PID_$name=$SPAWN_PID CONF_$name=\$conf"
	export NODE_PORT
	if ! try_for "${TERN_START_TIMEOUT:-20}" mqtt_ready "$port"; then
		kill -0 "$NODE_PID" 2>/dev/null ||
		    fail "node $name exited at start"
		fail "node $name: MQTT port $port not ready"
	fi
	log "node $name up: mqtt 127.0.0.1:$port (group $NODE_PID)"
}

# stop_node NAME: SIGTERM its process group and wait for it to end.
stop_node() {
	local pg
	eval "pg=\$PID_$1"
	kill_group "$pg"
	forget_pid "$pg"
}

# Pids of the processes in group PG whose command name is NAME.
group_pids() {
	ps -e -o pid=,pgid=,comm= | awk -v g="$1" -v n="$2" \
	    '$2 == g && $3 == n { print $1 }'
}

# daemon_pid NAME [NODE]: pid of daemon NAME (mqttd, clusterd, storaged)
# under the ternctl of NODE (default: the last started node).
daemon_pid() {
	local pg=$NODE_PID
	[ $# -gt 1 ] && eval "pg=\$PID_$2"
	group_pids "$pg" "$1" | head -n 1
}

# daemon_restarted NAME OLDPID [NODE]: NAME runs again with another pid.
daemon_restarted() {
	local p
	p=$(daemon_pid "$1" ${3:+"$3"})
	[ -n "$p" ] && [ "$p" != "$2" ]
}

# ternctl_status [CONF]: `ternctl status` of a node succeeds (all up).
ternctl_status() {
	"$TERNCTL" -c "${1:-$NODE_CONF}" status
}

# run_py SCRIPT [ARGS...]: a Python part of the test (cases in py/).
run_py() {
	local s=$1
	shift
	log "python $s $*"
	"$PY" "$PYDIR/$s" "$@"
}

# mqtt_sub_count OUTFILE ARGS...: mosquitto_sub in the background writing
# one line per message to OUTFILE; sets SUB_PID.
mqtt_sub_bg() {
	local out=$1
	shift
	setsid stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$NODE_PORT" "$@" >"$out" \
	    2>>"$TEST_DIR/mosquitto_sub.log" </dev/null &
	SUB_PID=$!
	_PIDS="$_PIDS $SUB_PID"
}

# line_count FILE: number of lines in FILE (0 if missing).
line_count() {
	if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi
}

# has_lines FILE N: FILE holds at least N lines.
has_lines() { [ "$(line_count "$1")" -ge "$2" ]; }

log "test $TEST_NAME against $TERN_TEST_BROKER (dir $TEST_DIR)"
