#!/bin/bash
# SPDX-License-Identifier: MIT
# Cross-node publish/subscribe (issue 4): three nodes joined into one
# cluster; a subscriber on one node gets, counted message by message and in
# order, what a publisher on another sends at QoS 0, 1 and 2; fan-out to
# subscribers on two other nodes; a retained message published on one node
# is sent on subscribe on another; a shared group with a member on every
# node gets each message once, spread over the members; a subscription
# that goes away stops the forwarding.  Tern only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_cluster.sh"

is_mosquitto && skip "clustering is Tern's"

N=${TERN_XNODE_COUNT:-500}

"$TERNCTL" keys create "$TEST_DIR/keys" >/dev/null || fail "keys create"
for n in a b c; do
	start_node $n "cluster.key_dir = $TEST_DIR/keys"
	eval "CPORT_$n=$NODE_CPORT"
done
for n in a b c; do
	wait_for 15 cluster_check $n 1
done
"$TERNCTL" -c "$CONF_b" cluster join "discovery-node=127.0.0.1:$CPORT_a" ||
    fail "b could not join"
"$TERNCTL" -c "$CONF_c" cluster join "discovery-node=127.0.0.1:$CPORT_a" ||
    fail "c could not join"
for n in a b c; do
	wait_for 15 cluster_check $n 3
done
log "three nodes in one cluster"

# metric NODE NAME: a counter of NODE's daemons (ternctl metrics show).
metric() {
	local conf
	eval "conf=\$CONF_$1"
	"$TERNCTL" -c "$conf" metrics show 2>/dev/null |
	    awk -v k="$2" '$1 == k { print $2; exit }'
}

# has_routes NODE COUNT: NODE's clusterd knows COUNT routes of others.
has_routes() {
	[ "$(metric "$1" clusterd_routes_remote)" = "$2" ]
}

# sub_bg NAME NODE ARGS...: sub_count.py on NODE in the background.
sub_bg() {
	local name=$1 node=$2 port
	shift 2
	eval "port=\$PORT_$node"
	setsid "$PY" "$PYDIR/sub_count.py" --port "$port" \
	    --ready-file "$TEST_DIR/$name.ready" "$@" \
	    >"$TEST_DIR/$name.out" 2>&1 </dev/null &
	eval "SUBPID_$name=$!"
	_PIDS="$_PIDS $!"
	wait_for 10 test -f "$TEST_DIR/$name.ready"
}

# sub_wait NAME: the background subscriber NAME exits 0.
sub_wait() {
	local pid
	eval "pid=\$SUBPID_$1"
	wait "$pid" || { cat "$TEST_DIR/$1.out"; fail "subscriber $1"; }
	forget_pid "$pid"
}

# QoS 0, 1, 2: publisher on a, subscriber on b.
for q in 0 1 2; do
	sub_bg q$q b --topic "x/q$q" --qos "$q" --expect "$N" --timeout 60
	wait_for 10 has_routes a 1
	"$PY" "$PYDIR/pub_numbered.py" --port "$PORT_a" --topic "x/q$q" \
	    --qos "$q" --count "$N" --id "p$q" >/dev/null ||
	    fail "publisher at QoS $q"
	sub_wait q$q
	log "QoS $q: $N messages from a to b, in order"
	wait_for 10 has_routes a 0
done

# Fan-out: one publisher on b, subscribers on a and c (wildcards).
sub_bg fa a --topic "f/+" --qos 1 --expect "$N" --timeout 60
sub_bg fc c --topic "f/#" --qos 1 --expect "$N" --timeout 60
wait_for 10 has_routes b 2
"$PY" "$PYDIR/pub_numbered.py" --port "$PORT_b" --topic f/1 --qos 1 \
    --count "$N" --id fan >/dev/null || fail "fan-out publisher"
sub_wait fa
sub_wait fc
log "fan-out: $N messages from b to a and c"

# Retained: set on a, sent on subscribe on c (once it has arrived there).
mosquitto_pub -h 127.0.0.1 -p "$PORT_a" -t r/1 -m kept -q 1 -r ||
    fail "retained publish"
got_retained() {
	[ "$(mosquitto_sub -h 127.0.0.1 -p "$PORT_c" -t r/1 -C 1 -W 2 \
	    2>/dev/null)" = kept ]
}
wait_for 10 got_retained
mosquitto_pub -h 127.0.0.1 -p "$PORT_b" -t r/1 -n -q 1 -r ||
    fail "retained delete"
gone_retained() { ! got_retained; }
wait_for 10 gone_retained
log "retained: set on a, seen on c; deleted on b, gone on c"

# Shared group with a member on each node; 300 messages published on a.
for n in a b c; do
	eval "port=\$PORT_$n"
	setsid stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$port" -V mqttv5 \
	    -t '$share/grp/s/t' -q 1 -d >"$TEST_DIR/share_$n.txt" \
	    2>>"$TEST_DIR/mosquitto_sub.log" </dev/null &
	_PIDS="$_PIDS $!"
	eval "SHPID_$n=$!"
	wait_for 10 grep -q "received SUBACK" "$TEST_DIR/share_$n.txt"
done
wait_for 10 has_routes a 2
"$PY" "$PYDIR/pub_numbered.py" --port "$PORT_a" --topic s/t --qos 1 \
    --count 300 --id sh >/dev/null || fail "shared publisher"
shared_all() { cat "$TEST_DIR"/share_[abc].txt | grep -c '^sh:'; }
wait_for 15 sh -c "[ \$(cat '$TEST_DIR'/share_[abc].txt | grep -c '^sh:') \
    -ge 300 ]"
sleep 0.5	# late duplicates, if any, would show now
[ "$(shared_all)" -eq 300 ] || fail "$(shared_all) shared deliveries of 300"
[ "$(cat "$TEST_DIR"/share_[abc].txt | grep '^sh:' | sort -u | wc -l)" \
    -eq 300 ] || fail "shared: duplicates"
for n in a b c; do
	k=$(grep -c '^sh:' "$TEST_DIR/share_$n.txt")
	[ "$k" -ge 30 ] || fail "shared member on $n got only $k of 300"
	log "shared member on $n: $k messages"
done
pass
