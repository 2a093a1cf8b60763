#!/bin/bash
# SPDX-License-Identifier: MIT
# Netsplits (G3, issue 4): three nodes, each in a network namespace of its
# own joined by a bridge; node c is cut off (its port on the bridge down).
# The majority (a, b) keeps accepting connects, subscribes and publishes
# and delivers between its nodes; the minority (c) refuses new connects
# (CONNACK 0x88 / 3.1.1 rc 3) and, on connections already open,
# subscribes, publishes and unsubscribes with the documented codes.  The
# split heals: c serves again and the route tables converge (a publisher
# on a reaches a subscriber that c took during the split, with the knobs
# on).  Then c runs with every allow_*_during_netsplit on and, cut off
# again, accepts everything.  Needs root (ip netns).  Tern only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_cluster.sh"
. "$(dirname "$0")/lib_netns.sh"

is_mosquitto && skip "clustering is Tern's"
EXPECT_RESTARTS=1	# c is restarted with other settings

ns_setup 3
"$TERNCTL" keys create "$TEST_DIR/keys" >/dev/null || fail "keys create"
ns_start_node 1 a "cluster.key_dir = $TEST_DIR/keys"
ns_start_node 2 b "cluster.key_dir = $TEST_DIR/keys"
ns_start_node 3 c "cluster.key_dir = $TEST_DIR/keys"
"$TERNCTL" -c "$CONF_b" cluster join "discovery-node=$(ns_ip 1):$CPORT_a" ||
    fail "b could not join"
"$TERNCTL" -c "$CONF_c" cluster join "discovery-node=$(ns_ip 1):$CPORT_a" ||
    fail "c could not join"
for n in a b c; do
	wait_for 20 cluster_check $n 3
done

# clusterd's view: majority 1 or 0 (ternctl metrics show).
majority() {
	local conf
	eval "conf=\$CONF_$1"
	[ "$("$TERNCTL" -c "$conf" metrics show 2>/dev/null |
	    awk '$1 == "clusterd_majority" { print $2; exit }')" = "$2" ]
}

# check NODE WHAT: netsplit_check.py WHAT against NODE, from its namespace.
check() {
	local port i
	eval "port=\$PORT_$1 i=\$NS_$1"
	in_ns "$i" "$PY" "$PYDIR/netsplit_check.py" "$(ns_ip "$i")" "$port" \
	    "$2"
}

# The minority: open connections first, then cut c off.
eval "port_c=\$PORT_c"
in_ns 3 "$PY" "$PYDIR/netsplit_check.py" "$(ns_ip 3)" "$port_c" hold \
    "$TEST_DIR/held" >"$TEST_DIR/held.out" 2>&1 &
held=$!
wait_for 10 test -f "$TEST_DIR/held"
for n in a b c; do
	check $n serves || fail "$n before the split"
done

t0=$(ms_now)
ns_cut 3
wait_for 10 majority c 0
log "c is in a minority after $(( $(ms_now) - t0 )) ms"
wait_for 5 majority a 1
majority b 1 || fail "b lost its majority"
rm -f "$TEST_DIR/held"
wait "$held" || { cat "$TEST_DIR/held.out"; fail "open connections on c"; }
check c refuses || fail "c does not refuse"
check a serves || fail "a does not serve during the split"
check b serves || fail "b does not serve during the split"

# The majority still delivers between its nodes.
in_ns 2 "$PY" "$PYDIR/at_host.py" "$(ns_ip 2)" "$PYDIR/sub_count.py" \
    --port "$PORT_b" --topic maj/t \
    --expect 100 --timeout 30 --ready-file "$TEST_DIR/maj.ready" \
    >"$TEST_DIR/maj.out" 2>&1 &
maj=$!
wait_for 10 test -f "$TEST_DIR/maj.ready"
routes_a() {
	[ "$("$TERNCTL" -c "$CONF_a" metrics show 2>/dev/null |
	    awk '$1 == "clusterd_routes_remote" { print $2; exit }')" -ge 1 ]
}
wait_for 10 routes_a
publish_ns() {	# NS PORT TOPIC COUNT ID
	in_ns "$1" "$PY" "$PYDIR/at_host.py" "$(ns_ip "$1")" \
	    "$PYDIR/pub_numbered.py" --port "$2" --topic "$3" --qos 1 \
	    --count "$4" --id "$5" >/dev/null
}
publish_ns 1 "$PORT_a" maj/t 100 m || fail "publish on a during the split"
wait "$maj" || { cat "$TEST_DIR/maj.out"; fail "a -> b during the split"; }
log "majority: a -> b delivered during the split"

# Heal: c serves again.
ns_heal 3
wait_for 15 majority c 1
for n in a b c; do
	wait_for 15 cluster_check $n 3
done
check c serves || fail "c after the heal"
log "healed"

# c again, with every knob on.
stop_node c
ns_start_node 3 c "cluster.key_dir = $TEST_DIR/keys" \
    "allow_register_during_netsplit = on" \
    "allow_publish_during_netsplit = on" \
    "allow_subscribe_during_netsplit = on" \
    "allow_unsubscribe_during_netsplit = on"
for n in a b c; do
	wait_for 20 cluster_check $n 3
done
ns_cut 3
wait_for 10 majority c 0
check c serves || fail "c with the knobs on does not serve"
# A subscriber c takes during the split ...
in_ns 3 "$PY" "$PYDIR/at_host.py" "$(ns_ip 3)" "$PYDIR/sub_count.py" \
    --port "$PORT_c" --topic heal/t --expect 50 --timeout 40 --client-id heal-sub \
    --ready-file "$TEST_DIR/heal.ready" >"$TEST_DIR/heal.out" 2>&1 &
hs=$!
wait_for 10 test -f "$TEST_DIR/heal.ready"
# ... gets what a publishes once the split heals (routes converge).
ns_heal 3
wait_for 15 majority c 1
routes_heal() {
	[ "$("$TERNCTL" -c "$CONF_a" metrics show 2>/dev/null |
	    awk '$1 == "clusterd_routes_remote" { print $2; exit }')" -ge 1 ]
}
wait_for 15 routes_heal
publish_ns 1 "$PORT_a" heal/t 50 h || fail "publish on a after the heal"
wait "$hs" || { cat "$TEST_DIR/heal.out"; fail "a -> c after the heal"; }
log "routes converged: a -> c after the heal"
pass
