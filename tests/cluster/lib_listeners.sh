# SPDX-License-Identifier: MIT
# Helpers of the listener, access and limit tests (60-64), sourced after
# lib.sh: mqttd's counters and pid, SIGHUP with a wait for its end, a test
# CA with server and client certificates, and password files.

# mqttd_metric NAME [CONF]: the value of mqttd counter NAME now.
mqttd_metric() {
	"$TERNCTL" -c "${2:-$NODE_CONF}" metrics show 2>/dev/null |
	    awk -v n="$1" '$1 == n { print $2; exit }'
}

# metric_above NAME VALUE: counter NAME is above VALUE.
metric_above() {
	local v
	v=$(mqttd_metric "$1")
	[ -n "$v" ] && [ "$v" -gt "$2" ]
}

# mqttd_hup [NODE]: SIGHUP to mqttd of NODE (default: the last started)
# and wait until the reload is logged as done.
mqttd_hup() {
	local pid n log=$NODE_LOG
	[ $# -gt 0 ] && log=$TEST_DIR/$1.log
	pid=$(daemon_pid mqttd ${1:+"$1"})
	[ -n "$pid" ] || fail "no mqttd to send SIGHUP to"
	n=$(grep -c 'reload: done' "$log")
	kill -HUP "$pid"
	wait_for 10 _reload_count_above "$log" "$n"
}

_reload_count_above() {
	[ "$(grep -c 'reload: done' "$1")" -gt "$2" ]
}

# make_passwd FILE USER PASSWORD...: write a password file (fast KDF).
make_passwd() {
	local f=$1
	shift
	: >"$f"
	while [ $# -ge 2 ]; do
		printf '%s\n' "$2" | TERN_PASSWD_ITERATIONS=1000 \
		    "$TERNCTL" passwd "$f" "$1" >/dev/null ||
		    fail "ternctl passwd $f $1"
		shift 2
	done
}

# make_ca DIR: a CA (ca.crt), a server certificate for localhost and
# 127.0.0.1 (server.crt/key), client certificates with CN client1
# (client1.crt/key) and from another CA (rogue.crt/key), with openssl.
make_ca() {
	local d=$1
	mkdir -p "$d"
	(
		cd "$d" || exit 1
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -keyout ca.key -out ca.crt -days 2 \
		    -subj "/CN=Tern Test CA" 2>/dev/null || exit 1
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >san.ext
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -keyout server.key -out server.csr \
		    -subj "/CN=localhost" 2>/dev/null || exit 1
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key \
		    -CAcreateserial -out server.crt -days 2 \
		    -extfile san.ext 2>/dev/null || exit 1
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -keyout client1.key -out client1.csr \
		    -subj "/CN=client1" 2>/dev/null || exit 1
		openssl x509 -req -in client1.csr -CA ca.crt -CAkey ca.key \
		    -CAcreateserial -out client1.crt -days 2 2>/dev/null ||
		    exit 1
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -keyout rogue.key -out rogue.crt -days 2 \
		    -subj "/CN=client1" 2>/dev/null || exit 1
	) || fail "make_ca: openssl failed"
}

# vm_rss_kb PID: resident memory of PID in kB.
vm_rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}
