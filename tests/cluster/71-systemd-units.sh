#!/bin/bash
# SPDX-License-Identifier: MIT
# The systemd units (systemd/) and what they ask of the daemons:
#  1. static checks: Type=notify, WatchdogSec, Restart=on-failure, the
#     ordering (Wants=/After=, never Requires=/BindsTo= between the three),
#     the hardening lines, no RuntimeDirectory=, the tmpfiles.d line, and
#     tern.conf.5 documenting every key of common/conf_keys.c;
#  2. systemd-analyze verify (and security, offline) on the units with the
#     build dir's binaries substituted for /usr/sbin;
#  3. the daemons started one by one as the units start them, each with
#     its own NOTIFY_SOCKET and WATCHDOG_USEC: READY=1 from each, then
#     WATCHDOG=1 pings at least every WATCHDOG_USEC/2;
#  4. ExecReload (SIGHUP) leaves every daemon running and serving;
#  5. "systemctl restart" of one unit (SIGTERM, start again) leaves the
#     other two running and mqttd's client connections open.
# systemd is not PID 1 in the test containers: when it is, the units are
# still not installed on the host by this test (it would change the host).
. "$(dirname "$0")/lib.sh"

is_mosquitto && skip "the package and units are Tern's"
UNITS="tern-storaged tern-clusterd tern-mqttd"
SD=$TERN_SRCDIR/systemd

# --- 1. static checks ------------------------------------------------------

# has_line FILE REGEX: FILE has a line matching the extended REGEX.
has_line() { grep -Eq -- "$2" "$1" || fail "$(basename "$1"): no line /$2/"; }

for u in $UNITS; do
	f=$SD/$u.service
	[ -f "$f" ] || fail "missing $f"
	d=${u#tern-}
	has_line "$f" '^Type=notify$'
	has_line "$f" '^WatchdogSec=[0-9]+s?$'
	has_line "$f" '^Restart=on-failure$'
	has_line "$f" "^ExecStart=/usr/sbin/$d -c /etc/tern/tern.conf\$"
	has_line "$f" '^ExecReload=/bin/kill -HUP \$MAINPID$'
	has_line "$f" '^User=tern$'
	has_line "$f" '^Group=tern$'
	has_line "$f" '^NoNewPrivileges=yes$'
	has_line "$f" '^ProtectSystem=strict$'
	has_line "$f" '^ProtectHome=yes$'
	has_line "$f" '^PrivateTmp=yes$'
	has_line "$f" '^ReadWritePaths=.*/var/lib/tern'
	has_line "$f" '^ReadWritePaths=.*/run/tern'
	has_line "$f" '^PartOf=tern.target$'
	has_line "$f" '^WantedBy=tern.target$'
	n=$(sed -n 's/^LimitNOFILE=//p' "$f")
	[ -n "$n" ] && [ "$n" -ge 65536 ] || fail "$u: LimitNOFILE=$n"
	# Stopping one unit must not delete /run/tern (the others' sockets).
	! grep -Eq '^(RuntimeDirectory|RuntimeDirectoryPreserve)=' "$f" ||
	    fail "$u: has RuntimeDirectory="
	# A restart of one must not stop or restart another.
	! grep -Eq '^(Requires|BindsTo|Requisite|PartOf)=.*tern-' "$f" ||
	    fail "$u: Requires/BindsTo/PartOf on another tern unit"
	case $d in
	mqttd)
		has_line "$f" '^LimitNOFILE=(1048576|[0-9]{7,})$'
		has_line "$f" '^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$'
		has_line "$f" '^AmbientCapabilities=CAP_NET_BIND_SERVICE$'
		has_line "$f" '^Wants=.*tern-storaged.service'
		has_line "$f" '^Wants=.*tern-clusterd.service'
		has_line "$f" '^After=.*tern-storaged.service'
		has_line "$f" '^After=.*tern-clusterd.service'
		;;
	clusterd)
		has_line "$f" '^CapabilityBoundingSet=$'
		has_line "$f" '^Wants=.*tern-storaged.service'
		has_line "$f" '^After=.*tern-storaged.service'
		;;
	storaged)
		has_line "$f" '^CapabilityBoundingSet=$'
		! grep -Eq '^(After|Wants)=.*tern-(clusterd|mqttd)' "$f" ||
		    fail "storaged must come first"
		;;
	esac
done
t=$SD/tern.target
[ -f "$t" ] || fail "missing $t"
has_line "$t" '^Wants=.*tern-storaged.service'
has_line "$t" '^Wants=.*tern-clusterd.service'
has_line "$t" '^Wants=.*tern-mqttd.service'
has_line "$t" '^WantedBy=multi-user.target$'
sp='[[:space:]]+'
has_line "$SD/tern.tmpfiles" "^d$sp/run/tern${sp}0750${sp}tern${sp}tern($sp|\$)"
log "static checks of the units passed"

# Every key of the key table has an entry in tern.conf.5.
keys=$(sed -n 's/^[[:space:]]*{ "\([a-z0-9_.]*\)", CONF_T_.*/\1/p' \
    "$TERN_SRCDIR/common/conf_keys.c")
[ "$(echo "$keys" | wc -w)" -ge 30 ] || fail "cannot read conf_keys.c"
missing=""
for k in $keys; do
	# Written as ".B key", ".BR key ..." or ".BR a \", \" key ...".
	kre=$(printf '%s' "$k" | sed 's/\./\\./g')
	grep -Eq "^\.B[IR]? (.*[ \"])?$kre([ \"]|\$)" \
	    "$TERN_SRCDIR/man/tern.conf.5" || missing="$missing $k"
done
[ -z "$missing" ] || fail "tern.conf.5 does not document:$missing"
log "tern.conf.5 documents all $(echo "$keys" | wc -w) keys"

# --- 2. systemd-analyze ----------------------------------------------------

command -v systemd-analyze >/dev/null ||
    skip "no systemd-analyze (apt-get install systemd)"
for d in mqttd clusterd storaged ternctl; do
	[ -x "$TERN_BUILDDIR/$d/$d" ] || fail "no $TERN_BUILDDIR/$d/$d"
done
ud=$TEST_DIR/units
mkdir -p "$ud" "$TEST_DIR/man/man5" "$TEST_DIR/man/man8"
cp "$SD"/tern-*.service "$SD/tern.target" "$ud/"
sed -i "s#/usr/sbin/\([a-z]*\)#$TERN_BUILDDIR/\1/\1#" "$ud"/*.service
cp "$TERN_SRCDIR"/man/*.5 "$TEST_DIR/man/man5/"
cp "$TERN_SRCDIR"/man/*.8 "$TEST_DIR/man/man8/"
# verify also runs "man" for every Documentation=man:... line.
MANPATH=$TEST_DIR/man systemd-analyze verify "$ud"/tern-*.service \
    "$ud/tern.target" >"$TEST_DIR/verify.txt" 2>&1 ||
    { cat "$TEST_DIR/verify.txt"; fail "systemd-analyze verify"; }
[ ! -s "$TEST_DIR/verify.txt" ] ||
    { cat "$TEST_DIR/verify.txt"; fail "systemd-analyze verify warned"; }
log "systemd-analyze verify: clean"
if systemd-analyze security --help 2>/dev/null | grep -q -- --offline; then
	for u in $UNITS; do
		systemd-analyze security --offline=true --threshold=30 \
		    "$ud/$u.service" >"$TEST_DIR/security-$u.txt" 2>&1 ||
		    { tail -n 3 "$TEST_DIR/security-$u.txt";
		    fail "$u: exposure above 3.0"; }
		log "$u: $(tail -n 1 "$TEST_DIR/security-$u.txt")"
	done
fi
state=$(systemctl is-system-running 2>/dev/null)
log "systemd state: ${state:-none} (units are not installed on this host)"

# --- 3. readiness and watchdog, as systemd would see them ------------------

# What a daemon lacks is collected and reported at the end, so that one
# run lists every gap; the test still fails.
PROBLEMS=""
problem() { log "PROBLEM: $*"; PROBLEMS="$PROBLEMS
  $*"; }

port=$(free_port)
NODE_PORT=$port		# for mqtt_sub_bg
cport=$(free_port)
hport=$(free_port)
node=$TEST_DIR/node
mkdir -p "$node"
conf=$node/tern.conf
# conf_set KEY VALUE: the active "KEY = ..." line of $conf gets VALUE.
conf_set() {
	grep -q "^$1 = " "$conf" || fail "systemd/tern.conf: no $1 line"
	sed -i "s#^$1 = .*#$1 = $2#" "$conf"
}
cp "$SD/tern.conf" "$conf"
conf_set data_dir "$node/data"
conf_set run_dir "$node/run"
conf_set log_level debug
conf_set listener.tcp.default "127.0.0.1:$port"
conf_set listener.http.default "127.0.0.1:$hport"
conf_set cluster.listen "127.0.0.1:$cport"
conf_set cluster.advertise "127.0.0.1:$cport"
conf_set cluster.key_dir "$node/keys"
"$TERNCTL" keys create "$node/keys" >/dev/null || fail "ternctl keys create"
# tmpfiles.d makes run_dir before any unit starts.
mkdir -p "$node/run"
chmod 0750 "$node/run"

# The notify socket systemd gives a unit: one datagram per sd_notify().
NOTIFY_PY='
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        for line in s.recv(4096).decode(errors="replace").split("\n"):
            if line:
                out.write("%.3f %s\n" % (time.monotonic(), line))
'
WD_USEC=3000000		# WatchdogSec=3s for this test

# start_unit DAEMON: what systemd does for tern-DAEMON.service; sets
# PID_<daemon> (its pid = its process group).
start_unit() {
	local d=$1 sock=$TEST_DIR/notify-$1.sock
	# A new start: only what this run of the daemon sends counts.
	: >"$TEST_DIR/notify-$d.txt"
	if [ -z "$(eval echo "\${NPID_$d:-}")" ]; then
		spawn "notify-$d" "$PY" -c "$NOTIFY_PY" "$sock" \
		    "$TEST_DIR/notify-$d.txt"
		eval "NPID_$d=$SPAWN_PID"
		wait_for 5 test -S "$sock"
	fi
	spawn "$d" env NOTIFY_SOCKET="$sock" WATCHDOG_USEC=$WD_USEC \
	    "$TERN_BUILDDIR/$d/$d" -c "$conf"
	eval "PID_$d=$SPAWN_PID"
	# Type=notify: the unit is started once READY=1 arrives.
	try_for 20 grep -q ' READY=1$' "$TEST_DIR/notify-$d.txt" || {
		kill -0 "$SPAWN_PID" 2>/dev/null || fail "$d exited at start"
		fail "$d: no READY=1 on NOTIFY_SOCKET within 20 s"
	}
	log "$d: READY=1 (pid $SPAWN_PID)"
}

# stop_unit DAEMON: systemctl stop (SIGTERM to the main pid, then wait).
# A non-zero exit would leave the unit "failed".
stop_unit() {
	local pg rc
	eval "pg=\$PID_$1"
	kill -TERM "$pg" 2>/dev/null
	try_for 30 sh -c "! kill -0 $pg" || fail "$1: not stopped in 30 s"
	wait "$pg"
	rc=$?
	[ "$rc" = 0 ] || problem "$1: exit $rc on SIGTERM (systemctl stop" \
	    "would leave the unit failed; see $1.log)"
	kill_group "$pg"
	forget_pid "$pg"
	grep -q ' STOPPING=1$' "$TEST_DIR/notify-$1.txt" ||
	    log "note: $1 sent no STOPPING=1"
}

alive() { local pg; eval "pg=\$PID_$1"; kill -0 "$pg" 2>/dev/null; }

for d in storaged clusterd mqttd; do
	start_unit "$d"
done
wait_for 10 mqtt_ready "$port"
wait_for 10 "$TERNCTL" -c "$conf" status

# watchdog_ok DAEMON: three WATCHDOG=1 pings so far, none further apart
# than 0.8 WatchdogSec (systemd kills a unit silent for WatchdogSec).
watchdog_ok() {
	local now
	now=$("$PY" -c 'import time; print("%.3f" % time.monotonic())')
	awk -v now="$now" -v wd="$WD_USEC" '
	    $2 == "WATCHDOG=1" { if (n++ && $1 - last > gap) gap = $1 - last
		last = $1 }
	    END { if (n && now - last > gap) gap = now - last
		exit !(n >= 3 && gap <= wd / 1e6 * 0.8) }' \
	    "$TEST_DIR/notify-$1.txt"
}
for d in storaged clusterd mqttd; do
	if try_for 10 watchdog_ok "$d"; then
		log "$d: WATCHDOG=1 pings every <= $((WD_USEC / 1250)) ms"
	else
		problem "$d: no WATCHDOG=1 every $((WD_USEC / 1250)) ms" \
		    "(WatchdogSec=$((WD_USEC / 1000000))s would kill it):" \
		    "$(grep -c WATCHDOG=1 "$TEST_DIR/notify-$d.txt") pings"
	fi
done

# --- 4. ExecReload: SIGHUP must not stop a daemon --------------------------

mqtt_sub_bg "$TEST_DIR/sub.txt" -d -i unit-sub -t 'units/#' -q 1
SUB=$SUB_PID
wait_for 10 grep -q "received SUBACK" "$TEST_DIR/sub.txt"
sent=0
# pub QOS: one numbered message; count what the subscriber got.
pub() {
	sent=$((sent + 1))
	mosquitto_pub -h 127.0.0.1 -p "$port" -i unit-pub -q "$1" \
	    -t units/x -m "msg-$sent" || fail "mosquitto_pub msg-$sent"
}
got() { grep -c '^msg-' "$TEST_DIR/sub.txt"; }
delivered() { [ "$(got)" -ge "$sent" ]; }

for d in storaged clusterd mqttd; do
	eval "pg=\$PID_$d"
	kill -HUP "$pg"
	if try_for 2 sh -c "! kill -0 $pg"; then
		problem "$d: SIGHUP (systemctl reload) stopped it"
		kill_group "$pg"
		forget_pid "$pg"
		start_unit "$d"
		[ "$d" != mqttd ] || {
			# Its clients went with it.
			kill_group "$SUB"
			forget_pid "$SUB"
			wait_for 10 mqtt_ready "$port"
			mqtt_sub_bg "$TEST_DIR/sub.txt" -d -i unit-sub \
			    -t 'units/#' -q 1
			SUB=$SUB_PID
			wait_for 10 grep -q "received SUBACK" \
			    "$TEST_DIR/sub.txt"
		}
		wait_for 10 "$TERNCTL" -c "$conf" status
		continue
	fi
	wait_for 10 "$TERNCTL" -c "$conf" status
	pub 1
	wait_for 10 delivered
	kill -0 "$SUB" 2>/dev/null || fail "subscriber lost after HUP of $d"
	log "$d: SIGHUP (ExecReload) kept it running and serving"
done

# --- 5. restart one unit: the other two keep running and serving ------------

for d in storaged clusterd; do
	stop_unit "$d"
	for o in storaged clusterd mqttd; do
		[ "$o" = "$d" ] || alive "$o" || fail "$o died when $d stopped"
	done
	# Local QoS 0 delivery goes on and no connection is closed (G4).
	pub 0
	wait_for 10 delivered
	kill -0 "$SUB" 2>/dev/null || fail "$d stop closed the subscriber"
	start_unit "$d"
	wait_for 20 "$TERNCTL" -c "$conf" status
	pub 1
	wait_for 20 delivered
	log "$d restarted; mqttd kept its client and serves QoS 1 again"
done
# mqttd restart: clients reconnect; storaged and clusterd stay up and
# their sockets in run_dir stay (no RuntimeDirectory= removal).
stop_unit mqttd
kill_group "$SUB"
forget_pid "$SUB"
alive storaged && alive clusterd || fail "mqttd stop took a daemon with it"
for s in storaged clusterd; do
	[ -S "$node/run/$s.sock" ] || fail "run_dir lost $s.sock"
done
start_unit mqttd
wait_for 20 mqtt_ready "$port"
wait_for 20 "$TERNCTL" -c "$conf" status
log "mqttd restarted; storaged and clusterd kept running"
[ -z "$PROBLEMS" ] || fail "the units need from the daemons:$PROBLEMS"
pass
