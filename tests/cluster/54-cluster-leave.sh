#!/bin/bash
# SPDX-License-Identifier: MIT
# `ternctl cluster leave` with queues (issue 8, G6): three nodes a b c
# (cluster.replication_factor = 2), c leaves while it owns persistent
# sessions, counted message by message (py/leave_queues.py).
#   1. c, live, owns 1,000 offline sessions (3.1.1 clean session 0), each
#      with 3 numbered QoS 1 messages published through a, and 2 connected
#      ones (3.1.1 and 5.0).  `cluster leave node=c -t 3 -i 1` on a: during
#      the -t window a new CONNECT to c is refused (3.1.1 rc 3, 5.0 0x9C)
#      while the connected clients stay connected and still get what is
#      published to them; the leader logs "N sessions left to move" every
#      second; the command succeeds; c's `ternctl run` exits 0 by itself;
#      every session reconnects through a or b with its session and gets
#      exactly its 3 messages, in order.
#   2. c again (empty data dir, joined again) with 1,000 offline sessions
#      and 20 connected ones (half 3.1.1, half 5.0): `leave -k -t 5 -i 1`.
#      The connected clients are disconnected at once (5.0: DISCONNECT
#      0x9C; 3.1.1: closed); three messages more are published to each
#      while they are offline; they reconnect through a and b and get
#      their messages in order; the offline ones as in 1.
#   3. c again with 100 offline sessions x 3 messages is killed (SIGKILL of
#      the whole node) and `cluster leave node=c` (default -t) is run on a:
#      it succeeds and every message reaches the sessions reconnecting
#      through a and b, in order.
# Lost, reordered and duplicated messages, and sessions lost (session
# present 0 on reconnect), are counted and printed per round; any of them
# fails the round.  The counters of a, b and c (sessions, queues,
# hand-overs) are printed before and after each leave, and the leader's
# log lines on it.  One RESULT line per round, with the time the leave
# took; after a failed round the next one still runs (on a fresh c).
# TERN_R54_SESSIONS (1000), TERN_R54_STOPPED (100, round 3),
# TERN_R54_ROUNDS ("1 2 3"), TERN_R54_LOG (info).  Tern only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_cluster.sh"
. "$(dirname "$0")/lib_store.sh"

is_mosquitto && skip "clustering is Tern's"

N=${TERN_R54_SESSIONS:-1000}
LQ=$PYDIR/leave_queues.py
RESULTS=""	# one line per round
FAILED=""	# rounds that failed
T_START=$(date +%s)

"$TERNCTL" keys create "$TEST_DIR/keys" >/dev/null || fail "keys create"

# lq SECS ARGS...: leave_queues.py, bounded.
lq() {
	local t=$1
	shift
	timeout -k 5 "$t" "$PY" "$LQ" "$@"
}

# routes NODE: the remote routes NODE's mqttd knows.
routes() {
	local conf
	eval "conf=\$CONF_$1"
	"$TERNCTL" -c "$conf" metrics show 2>/dev/null |
	    awk '$1 == "clusterd_routes_remote" { print $2; exit }'
}
routes_ge() { [ "$(routes "$1")" -ge "$2" ]; }

# all_up COUNT NODE...: every NODE sees COUNT nodes up.
all_up() {
	local want=$1 n
	shift
	for n in "$@"; do
		cluster_check "$n" "$want" || return 1
	done
}

# connack_rc PORT VERSION: the CONNACK return/reason code a new
# connection gets (a fresh client id, clean session); "closed" if none.
connack_rc() {
	"$PY" - "$1" "$2" <<'EOF'
import os, sys, mqttraw
try:
    c = mqttraw.Client(int(sys.argv[1]), version=int(sys.argv[2]), timeout=3)
    ca = c.connect('r54-probe-%d' % os.getpid(), expect_rc=None)
    print(ca.rc)
    c.close()
except Exception:
    print('closed')
EOF
}
refuses() { [ "$(connack_rc "$1" "$2")" = "$3" ]; }

# gone PID: process PID (a child of this shell) has ended.
gone() {
	local s
	s=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
	case $s in Z*) return 0 ;; esac
	return 1
}

# group_empty PG: no live process is left in process group PG.
group_empty() {
	! ps -e -o pgid=,stat= |
	    awk -v g="$1" '$1 == g && $2 !~ /^Z/ { f = 1 } END { exit !f }'
}

# live_status DIR FIELD: a count from leave_queues.py live's status.
live_status() {
	awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i+1) }' \
	    "$1/status" 2>/dev/null
}
live_ge() { [ "$(live_status "$1" "$2")" -ge "$3" ] 2>/dev/null; }
# events_ge DIR REGEX N: at least N events match.
events_ge() { [ "$(log_count "$1/events" "$2")" -ge "$3" ]; }

# join_c: c (started on an empty data dir) joins a; all see three up.
join_c() {
	"$TERNCTL" -c "$CONF_c" cluster join \
	    "discovery-node=127.0.0.1:$CPORT_a" || fail "c could not join"
	wait_for 40 all_up 3 a b c
}

# fresh_c: c starts again on an empty data dir and joins the cluster.
fresh_c() {
	rm -rf "$TEST_DIR/c/data"
	mkdir -p "$TEST_DIR/c/data"
	restart_node c
	join_c
	log "c is back (empty data dir) and joined: three nodes up"
}

# leader_log: the log file of the current leader (a or b).
leader_log() {
	local l
	l=$(cluster_leader a) || return 1
	echo "$TEST_DIR/${l%%@*}.log"
}

# leave_start ARGS...: `cluster leave node=c@127.0.0.1 ARGS` on a in the
# background; sets LEAVE_PID, LEAVE_T0 (ms), LEAVE_OUT.
leave_start() {
	LEAVE_OUT=$TEST_DIR/leave.$ROUND.out
	LEAVE_T0=$(ms_now)
	log "ternctl cluster leave node=c@127.0.0.1 $*"
	timeout -k 5 150 "$TERNCTL" -c "$CONF_a" cluster leave \
	    node=c@127.0.0.1 "$@" >"$LEAVE_OUT" 2>&1 &
	LEAVE_PID=$!
}

# leave_wait SECS: waits for the leave command; sets LEAVE_RC, LEAVE_MS.
leave_wait() {
	if ! try_for "$1" gone "$LEAVE_PID"; then
		err "cluster leave still running after $1 s"
		kill "$LEAVE_PID" 2>/dev/null
	fi
	LEAVE_RC=0
	wait "$LEAVE_PID" || LEAVE_RC=$?
	LEAVE_MS=$(( $(ms_now) - LEAVE_T0 ))
	log "leave: exit $LEAVE_RC after $LEAVE_MS ms: $(cat "$LEAVE_OUT")"
	[ "$LEAVE_RC" -eq 0 ] || err "cluster leave: exit $LEAVE_RC: \
$(tail -n 1 "$LEAVE_OUT")"
	grep -q "c@127.0.0.1 left the cluster" "$LEAVE_OUT" ||
	    err "cluster leave said: $(tail -n 1 "$LEAVE_OUT")"
}

# c_exits SECS: c's `ternctl run` ends by itself with status 0 and leaves
# no process behind; sets C_EXIT_MS (since the leave started).
c_exits() {
	local rc=0
	if ! try_for "$1" gone "$PID_c"; then
		err "c's ternctl run still running $1 s after the leave"
		return 1
	fi
	wait "$PID_c" || rc=$?
	C_EXIT_MS=$(( $(ms_now) - LEAVE_T0 ))
	forget_pid "$PID_c"
	log "c's ternctl run exited with status $rc, $C_EXIT_MS ms after" \
	    "the leave started"
	[ "$rc" -eq 0 ] || err "c's ternctl run exited with status $rc"
	try_for 10 group_empty "$PID_c" || err "c's daemons outlived it"
	grep -q "run: this node left its cluster: stopping" \
	    "$TEST_DIR/c.log" || err "c's log does not say it left"
}

# err TEXT: a failed check of the current round (the round goes on, so
# that what else happened is seen too).
err() {
	log "ROUND $ROUND: FAIL: $*"
	R_ERR="$R_ERR $*;"
}

# metrics NODE...: the session, queue and hand-over counters of each NODE
# (what moved where, for the report).
metrics() {
	local n conf re
	re='^(sessions_offline|queued_messages|cluster_(takeovers|xfer_msgs)_'
	re=$re'(in|out)|replica_(handovers|handover_messages|copies_stored))$'
	for n in "$@"; do
		eval "conf=\$CONF_$n"
		echo "    $n: $("$TERNCTL" -c "$conf" metrics show 2>/dev/null |
		    awk -v re="$re" '$1 ~ re { printf "%s %s  ", $1, $2 }')"
	done
}

# two_nodes: a and b see only each other.
two_nodes() { all_up 2 a b; }

# membership_lines LOG: what the leader logged about the leave.
membership_lines() {
	grep -E "membership:|owner:" "$1" | grep -E "c@127\.0\.0\.1|moving|owns" |
	    tail -n 25 | sed 's/^/    /'
}

# totals FILE: what leave_queues.py counted, in short.
totals() {
	local re
	re='.* \([0-9]*\) arrived; \(lost [0-9]*, reordered [0-9]*, '
	re=$re'duplicates [0-9]*\).*\(sessions lost [0-9]*\)$'
	sed -n "s/$re/\1 arrived, \2, \3/p" "$1" | tail -n 1
}

# result TEXT: the RESULT line of the round.
result() {
	local line="round $ROUND: $*"
	if [ -n "$R_ERR" ]; then
		line="$line -- FAIL:$R_ERR"
		FAILED="$FAILED $ROUND"
	else
		line="$line -- ok"
	fi
	echo "RESULT: $line"
	RESULTS="$RESULTS$line
"
}

rounds=" ${TERN_R54_ROUNDS:-1 2 3} "
want() { case $rounds in *" $1 "*) return 0 ;; esac; return 1; }

for n in a b c; do
	start_node $n "cluster.key_dir = $TEST_DIR/keys" \
	    "log_level = ${TERN_R54_LOG:-info}"
	eval "CPORT_$n=$NODE_CPORT"
done
for n in b c; do
	"$TERNCTL" -c "$(eval echo \$CONF_$n)" cluster join \
	    "discovery-node=127.0.0.1:$CPORT_a" || fail "$n could not join"
done
wait_for 30 all_up 3 a b c
log "cluster of a b c formed"
C_FRESH=1	# c is a member, not asked to leave yet: no restart needed

# ---- round 1: live c, 1,000 offline queues, no -k, -t 3 -i 1
round1() {
	local live=$TEST_DIR/live1 base ll lines rc
	ROUND=1 R_ERR=
	log "---- round 1: leave of live c (no -k, -t 3): $N offline" \
	    "sessions x 3 messages, 2 connected"
	base=$(routes a)
	lq 120 --port "$PORT_c" make --prefix r1 --count "$N" ||
	    { err "sessions not made"; return; }
	mkdir -p "$live"
	lq 150 --port "$PORT_c" live --prefix r1live --count 2 \
	    --version mixed --dir "$live" --total 3 \
	    --reconnect "$PORT_b,$PORT_a" --timeout 120 >"$live/out" 2>&1 &
	LIVE_PID=$!
	try_for 20 test -f "$live/ready" ||
	    { err "live clients: $(tail -n 1 "$live/out")"; return; }
	try_for 30 routes_ge a $((base + N + 2)) ||
	    { err "a knows $(routes a) routes, want $((base + N + 2))"; return; }
	lq 120 --port "$PORT_a" pub --prefix r1 --count "$N" --last 3 ||
	    { err "publish of 3 x $N not acknowledged"; return; }
	lq 30 --port "$PORT_a" pub --prefix r1live --count 2 --last 1 ||
	    { err "publish to the live clients"; return; }
	try_for 10 events_ge "$live" "got 1 on" 2 ||
	    { err "live clients did not get message 1"; return; }
	ll=$(leader_log) || { err "no leader"; return; }
	log "leader: $(basename "$ll" .log); before the leave:"
	metrics a b c

	leave_start -t 3 -i 1
	C_FRESH=
	# In the -t window: new CONNECTs refused, old ones served.
	if try_for 3 refuses "$PORT_c" 4 3; then
		log "new 3.1.1 CONNECT to c refused with rc 3 after" \
		    "$(( $(ms_now) - LEAVE_T0 )) ms"
	else
		err "a new 3.1.1 CONNECT to c got $(connack_rc "$PORT_c" 4), \
want rc 3"
	fi
	rc=$(connack_rc "$PORT_c" 5)
	[ "$rc" = 156 ] || err "a new 5.0 CONNECT to c got $rc, want 0x9C"
	lq 30 --port "$PORT_a" pub --prefix r1live --count 2 --first 2 \
	    --last 2 || err "publish to the live clients in the window"
	if try_for 3 events_ge "$live" "got 2 on" 2; then
		log "connected clients still on c and served" \
		    "$(( $(ms_now) - LEAVE_T0 )) ms into the leave"
	else
		err "connected clients not served on c in the -t window: \
$(tr '\n' ';' <"$live/events")"
	fi

	leave_wait 100
	c_exits 20
	lines=$(log_count "$ll" "c@127\.0\.0\.1 leaves: [0-9]+ sessions left")
	log "leader's progress lines (-i 1): $lines"
	[ "$lines" -ge 2 ] || err "$lines -i progress lines in the leader's log"
	log "leader's log on the leave:"
	membership_lines "$ll"
	wait_for 20 two_nodes
	log "after the leave:"
	metrics a b

	# The connected clients: moved to a or b; message 3 reaches them.
	try_for 30 live_ge "$live" back 2 ||
	    err "connected clients not back: $(cat "$live/status")"
	lq 30 --port "$PORT_a" pub --prefix r1live --count 2 --first 3 \
	    --last 3 || err "publish of message 3 to the live clients"
	try_for 10 gone "$LIVE_PID" || touch "$live/stop"
	rc=0
	wait "$LIVE_PID" || rc=$?
	sed 's/^/    /' "$live/out" "$live/events"
	[ "$rc" -eq 0 ] || err "connected clients: $(tail -n 1 "$live/out")"

	lq 120 --ports "$PORT_a,$PORT_b" drain --prefix r1 --count "$N" \
	    --messages 3 --timeout 10 >"$TEST_DIR/drain1" 2>&1 ||
	    err "offline sessions"
	sed 's/^/    /' "$TEST_DIR/drain1"
	result "leave took $LEAVE_MS ms, c exited after ${C_EXIT_MS:-?} ms;" \
	    "$N offline: $(totals "$TEST_DIR/drain1");" \
	    "2 connected: $(totals "$live/out")"
}

# ---- round 2: live c, 1,000 offline queues and 20 connected, -k -t 5
round2() {
	local live=$TEST_DIR/live2 base ll lines rc kill_ms
	ROUND=2 R_ERR=
	log "---- round 2: leave -k of live c (-t 5): $N offline sessions" \
	    "x 3 messages, 20 connected"
	[ -n "$C_FRESH" ] || fresh_c
	base=$(routes a)
	lq 120 --port "$PORT_c" make --prefix r2 --count "$N" ||
	    { err "sessions not made"; return; }
	mkdir -p "$live"
	lq 150 --port "$PORT_c" live --prefix r2live --count 20 \
	    --version mixed --dir "$live" --total 4 --go \
	    --reconnect "$PORT_a,$PORT_b" --timeout 120 >"$live/out" 2>&1 &
	LIVE_PID=$!
	try_for 20 test -f "$live/ready" ||
	    { err "live clients: $(tail -n 1 "$live/out")"; return; }
	try_for 30 routes_ge a $((base + N + 20)) ||
	    { err "a knows $(routes a) routes, want $((base + N + 20))";
	      return; }
	lq 120 --port "$PORT_a" pub --prefix r2 --count "$N" --last 3 ||
	    { err "publish of 3 x $N not acknowledged"; return; }
	lq 30 --port "$PORT_a" pub --prefix r2live --count 20 --last 1 ||
	    { err "publish to the live clients"; return; }
	try_for 10 events_ge "$live" "got 1 on" 20 ||
	    { err "live clients did not get message 1"; return; }
	ll=$(leader_log) || { err "no leader"; return; }
	log "leader: $(basename "$ll" .log); before the leave:"
	metrics a b c

	leave_start -k -t 5 -i 1
	C_FRESH=
	if try_for 4 live_ge "$live" closed 20; then
		kill_ms=$(( $(ms_now) - LEAVE_T0 ))
		log "all 20 connected clients closed $kill_ms ms after the" \
		    "leave started"
	else
		err "with -k, connected clients not closed within 4 s: \
$(cat "$live/status")"
	fi
	rc=$(connack_rc "$PORT_c" 5)
	[ "$rc" = 156 ] || err "a new 5.0 CONNECT to c got $rc, want 0x9C"
	# Queued while they are offline (c still owns their sessions).
	lq 30 --port "$PORT_a" pub --prefix r2live --count 20 --first 2 \
	    --last 4 || err "publish to the disconnected clients"
	touch "$live/go"
	try_for 20 live_ge "$live" back 20 ||
	    err "connected clients not back: $(cat "$live/status")"

	leave_wait 100
	c_exits 20
	lines=$(log_count "$ll" "c@127\.0\.0\.1 leaves: [0-9]+ sessions left")
	log "leader's progress lines (-i 1): $lines"
	[ "$lines" -ge 2 ] || err "$lines -i progress lines in the leader's log"
	log "leader's log on the leave:"
	membership_lines "$ll"
	wait_for 20 two_nodes
	log "after the leave:"
	metrics a b

	try_for 10 gone "$LIVE_PID" || touch "$live/stop"
	rc=0
	wait "$LIVE_PID" || rc=$?
	sed 's/^/    /' "$live/out"
	grep -E "closed|back" "$live/events" | head -n 6 | sed 's/^/    /'
	[ "$rc" -eq 0 ] || err "connected clients: $(tail -n 1 "$live/out")"
	grep -q "DISCONNECT 0x9c x10" "$live/out" ||
	    err "want DISCONNECT 0x9C for the 10 5.0 clients"
	grep -q "no DISCONNECT x10" "$live/out" ||
	    err "want the 10 3.1.1 clients closed"

	lq 120 --ports "$PORT_a,$PORT_b" drain --prefix r2 --count "$N" \
	    --messages 3 --timeout 10 >"$TEST_DIR/drain2" 2>&1 ||
	    err "offline sessions"
	sed 's/^/    /' "$TEST_DIR/drain2"
	result "leave -k took $LEAVE_MS ms (clients closed after" \
	    "${kill_ms:-?} ms), c exited after ${C_EXIT_MS:-?} ms;" \
	    "$N offline: $(totals "$TEST_DIR/drain2");" \
	    "20 connected: $(totals "$live/out")"
}

# ---- round 3: c killed, then made to leave (default -t)
round3() {
	local base ll n3=${TERN_R54_STOPPED:-100}
	ROUND=3 R_ERR=
	log "---- round 3: leave of stopped c: $n3 offline sessions x 3"
	[ -n "$C_FRESH" ] || fresh_c
	base=$(routes a)
	lq 60 --port "$PORT_c" make --prefix r3 --count "$n3" ||
	    { err "sessions not made"; return; }
	try_for 30 routes_ge a $((base + n3)) ||
	    { err "a knows $(routes a) routes, want $((base + n3))"; return; }
	lq 60 --port "$PORT_a" pub --prefix r3 --count "$n3" --last 3 ||
	    { err "publish of 3 x $n3 not acknowledged"; return; }
	ll=$(leader_log) || { err "no leader"; return; }
	log "leader: $(basename "$ll" .log); before the kill:"
	metrics a b c

	kill_node c
	C_FRESH=
	leave_start
	leave_wait 100
	log "leader's log on the leave:"
	membership_lines "$ll"
	wait_for 20 two_nodes
	log "after the leave:"
	metrics a b

	lq 120 --ports "$PORT_a,$PORT_b" drain --prefix r3 --count "$n3" \
	    --messages 3 --timeout 10 >"$TEST_DIR/drain3" 2>&1 ||
	    err "offline sessions"
	sed 's/^/    /' "$TEST_DIR/drain3"
	result "leave of stopped c took $LEAVE_MS ms;" \
	    "$n3 offline: $(totals "$TEST_DIR/drain3")"
}

for r in 1 2 3; do
	want $r || continue
	t0=$(date +%s)
	round$r
	if [ -n "$R_ERR" ] && ! grep -q "^round $r:" <<<"$RESULTS"; then
		result "stopped early"
	fi
	[ -z "${LIVE_PID:-}" ] || { kill "$LIVE_PID" 2>/dev/null; \
	    wait "$LIVE_PID" 2>/dev/null; LIVE_PID=; }
	log "round $r took $(( $(date +%s) - t0 )) s"
	[ -n "$R_ERR" ] || continue
	# A failed round: the next one starts from a fresh c if a and b
	# still make a cluster.
	if [ -z "$C_FRESH" ] && ! gone "$PID_c"; then
		log "stopping c (still running)"
		stop_node c
	fi
	if ! try_for 20 two_nodes; then
		log "a and b do not make a cluster of two: no more rounds"
		break
	fi
done

echo "---- results ($(( $(date +%s) - T_START )) s)"
printf '%s' "$RESULTS"
[ -z "$FAILED" ] || fail "rounds failed:$FAILED"
pass
