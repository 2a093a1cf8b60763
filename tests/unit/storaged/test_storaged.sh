#!/bin/sh
# SPDX-License-Identifier: MIT
# Black-box test of the storaged daemon: appends numbered messages over IPC,
# kill -9 of storaged in the middle (several rounds), restart, and LOAD must
# return every acknowledged append, in order; SIGTERM exits 0; a foreign
# store stops start-up; disk full answers NOSPACE and the daemon keeps
# serving (when a tmpfs can be mounted).  Uses a temporary directory and
# kills only the processes it started.
set -u

B=${TERN_BUILDDIR:-$(cd "$(dirname "$0")/../../.." && pwd)}
STORAGED=$B/storaged/storaged
CLIENT=$B/tests/unit/storaged/store_client
T=$(mktemp -d /tmp/test_storaged.XXXXXX)
EP=ipc://$T/run/storaged.sock
SPID=
CPID=
MOUNTED=
FAILS=0

cleanup() {
	[ -n "$CPID" ] && kill -9 "$CPID" 2>/dev/null
	[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null
	[ -n "$MOUNTED" ] && umount "$MOUNTED" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

fail() {
	echo "FAIL: $*"
	FAILS=$((FAILS + 1))
}

# wait_for SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_for() {
	_end=$(($(date +%s) + $1))
	shift
	while ! "$@" 2>/dev/null; do
		[ "$(date +%s)" -ge "$_end" ] && return 1
		sleep 0.05
	done
	return 0
}

conf() {	# conf DATA_DIR SYNC [MIN_FREE]
	cat > "$T/tern.conf" <<EOF
nodename = tern@127.0.0.1
data_dir = $1
run_dir = $T/run
storage.sync = $2
storage.sync_interval = 50
storage.min_free_bytes = ${3:-0}
max_offline_messages = 0
EOF
}

start() {
	rm -f "$T/run/storaged.sock"
	"$STORAGED" -c "$T/tern.conf" 2>>"$T/storaged.log" &
	SPID=$!
	wait_for 10 test -S "$T/run/storaged.sock" ||
	    { fail "storaged did not bind"; cat "$T/storaged.log"; exit 1; }
	wait_for 10 "$CLIENT" -e "$EP" -t 500 status >/dev/null ||
	    { fail "storaged does not answer"; exit 1; }
}

lines() {	# lines FILE MIN: FILE has at least MIN lines
	[ -f "$1" ] && [ "$(grep -c '^acked' "$1")" -ge "$2" ]
}

mkdir -p "$T/run"
conf "$T/data" always
start

# 1. kill -9 in the middle of appends, three rounds.
round=0
while [ $round -lt 3 ]; do
	s=$((round * 10000 + 1))
	"$CLIENT" -e "$EP" -s $s -w 16 -t 2000 append 4000 \
	    > "$T/acked.$round" 2>/dev/null &
	CPID=$!
	at=$((300 + round * 400))
	wait_for 20 lines "$T/acked.$round" $at ||
	    fail "round $round: fewer than $at acks"
	kill -9 "$SPID"
	wait "$SPID" 2>/dev/null
	SPID=
	wait "$CPID" 2>/dev/null
	CPID=
	start
	round=$((round + 1))
done
"$CLIENT" -e "$EP" -t 10000 load > "$T/load.txt" || fail "load failed"
grep '^acked' "$T"/acked.* | awk '{print $2}' | sort > "$T/want"
awk '$1 == "queue" {print $3}' "$T/load.txt" > "$T/got"
nwant=$(wc -l < "$T/want")
ngot=$(wc -l < "$T/got")
missing=$(sort "$T/got" | comm -23 "$T/want" - | wc -l)
[ "$nwant" -ge 1500 ] || fail "only $nwant acked appends"
[ "$missing" -eq 0 ] || fail "$missing acknowledged appends lost"
sort -n -c "$T/got" 2>/dev/null || fail "LOAD is not in queue order"
awk '$1 == "queue" && $7 != "msg-" $3 {bad++} END {exit bad > 0}' \
    "$T/load.txt" || fail "a payload does not match its sequence"
echo "kill -9: $nwant acked, $ngot loaded, $missing lost"

# 1b. storage.sync = interval: a process crash loses nothing either (the
# WAL is written to the OS at every commit, synced on the timer).
kill -TERM "$SPID"; wait "$SPID"; SPID=
conf "$T/data" interval
start
"$CLIENT" -e "$EP" -s 50001 -w 16 -t 2000 append 4000 > "$T/acked.i" \
    2>/dev/null &
CPID=$!
wait_for 20 lines "$T/acked.i" 500 || fail "interval: fewer than 500 acks"
kill -9 "$SPID"; wait "$SPID" 2>/dev/null; SPID=
wait "$CPID" 2>/dev/null; CPID=
start
"$CLIENT" -e "$EP" -t 10000 load > "$T/load.i" || fail "load failed"
grep '^acked' "$T/acked.i" | awk '{print $2}' | sort > "$T/want.i"
awk '$1 == "queue" {print $3}' "$T/load.i" | sort > "$T/got.i"
missing=$(comm -23 "$T/want.i" "$T/got.i" | wc -l)
[ "$missing" -eq 0 ] || fail "interval: $missing acknowledged appends lost"
echo "kill -9 (interval): $(wc -l < "$T/want.i") acked, $missing lost"
ngot=$(grep -c '^queue' "$T/load.i")

# 2. SIGTERM: exit 0, and everything is still there after a restart.
kill -TERM "$SPID"
wait "$SPID"
rc=$?
SPID=
[ $rc -eq 0 ] || fail "SIGTERM exit status $rc"
start
"$CLIENT" -e "$EP" load > "$T/load2.txt"
[ "$(grep -c '^queue' "$T/load2.txt")" -eq "$ngot" ] ||
    fail "restart after SIGTERM changed the queue"
# Acks remove entries, durably.
"$CLIENT" -e "$EP" ack 1 2 3 >/dev/null || fail "ack failed"
kill -9 "$SPID"; wait "$SPID" 2>/dev/null; SPID=
start
"$CLIENT" -e "$EP" load > "$T/load3.txt"
grep -q '^queue sub 1 ' "$T/load3.txt" && fail "acked entry came back"
kill -TERM "$SPID"; wait "$SPID"; SPID=

# 3. A foreign store stops start-up with a clear message.
mkdir -p "$T/foreign/store"
echo junk > "$T/foreign/store/junk"
conf "$T/foreign" always
if "$STORAGED" -c "$T/tern.conf" 2> "$T/foreign.log"; then
	fail "storaged started on a foreign store"
fi
grep -q "no RocksDB database" "$T/foreign.log" ||
    fail "no clear message for a foreign store"

# 4. Disk full (needs root and tmpfs): NOSPACE replies, still serving,
# and writes work again once there is room.
mkdir -p "$T/full"
if mount -t tmpfs -o size=48m tmpfs "$T/full" 2>/dev/null; then
	MOUNTED=$T/full
	conf "$T/full" always 16777216
	start
	"$CLIENT" -e "$EP" -b 200000 -w 4 -t 5000 append 250 \
	    > "$T/full.txt" 2>/dev/null
	grep -q '^error [0-9]* 2$' "$T/full.txt" ||
	    fail "disk full gave no NOSPACE reply"
	"$CLIENT" -e "$EP" status > "$T/status.txt" ||
	    fail "no status while the disk is full"
	grep -q '"nospace_errors": [1-9]' "$T/status.txt" ||
	    fail "nospace not counted"
	mount -o remount,size=128m "$T/full"
	kill -0 "$SPID" || fail "storaged died on a full disk"
	wait_for 5 "$CLIENT" -e "$EP" -s 5000 -w 1 append 3 > /dev/null ||
	    fail "no writes after space came back"
	"$CLIENT" -e "$EP" load > /dev/null || fail "load after disk full"
	kill -TERM "$SPID"; wait "$SPID"; SPID=
	umount "$T/full" && MOUNTED=
else
	echo "disk full: skipped (cannot mount tmpfs)"
fi

if grep -q "Sanitizer\|runtime error" "$T/storaged.log"; then
	fail "sanitizer reports in storaged's log"
	grep -A20 "Sanitizer\|runtime error" "$T/storaged.log" | head -60
fi
[ $FAILS -eq 0 ] && echo "PASS" && exit 0
exit 1
