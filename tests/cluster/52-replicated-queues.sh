#!/bin/bash
# SPDX-License-Identifier: MIT
# Replicated queues (issue 8's reported scenario), three nodes a, b, c with
# cluster.replication_factor = 2.  A persistent QoS 1 subscriber (3.1.1
# clean session 0, then 5.0 session expiry 3600) on c receives "A"
# (published through a) and goes offline; "B" and "C" are published through
# a and acknowledged.  Then:
#   1. c is killed (SIGKILL, the whole node); the subscriber reconnects
#      through b; "D" "E" are published through a: it must receive exactly
#      B C D E, in order.  c starts again on its data and rejoins; "F"
#      through a: the subscriber (still on b) gets F and nothing stale.
#   2. the same with c cut off by a network partition (namespaces, as in
#      48) instead of killed, then healed.  Skipped where `ip netns` is not
#      available (the others still run).
#   3. a, the publisher's node, is killed; the subscriber reconnects
#      through b; "D" "E" through b: exactly B C D E.
# D and E are published as soon as the subscriber is connected again, with
# no wait for routes to settle: a PUBACK means the message reaches the
# session (G1).  One RESULT line per round tells what arrived.
# TERN_RQ_VARIANTS="1 3" runs only some variants.  Tern only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_cluster.sh"
. "$(dirname "$0")/lib_store.sh"
. "$(dirname "$0")/lib_netns.sh"

is_mosquitto && skip "clustering is Tern's"

RF="cluster.replication_factor = 2"
QO=$PYDIR/queue_order.py
RESULTS=""	# one line per round
FAILED=""	# rounds that failed

"$TERNCTL" keys create "$TEST_DIR/keys" >/dev/null || fail "keys create"

# qo NODE ARGS...: queue_order.py against NODE (from its namespace when it
# runs in one).
qo() {
	local n=$1 port ns
	shift
	eval "port=\$PORT_$n ns=\${NS_$n:-}"
	if [ -n "$ns" ]; then
		in_ns "$ns" "$PY" "$QO" --host "$(ns_ip "$ns")" --port "$port" \
		    "$@"
	else
		"$PY" "$QO" --port "$port" "$@"
	fi
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

# ready_or_gone FILE PID: FILE exists, or process PID has ended.
ready_or_gone() { [ -f "$1" ] || ! kill -0 "$2" 2>/dev/null; }

# join3 A B C HOST: B and C join A (its cluster port on HOST); all three
# see three nodes up.
join3() {
	local a=$1 b=$2 c=$3 host=$4 cport
	eval "cport=\$CPORT_$a"
	for n in "$b" "$c"; do
		"$TERNCTL" -c "$(eval echo \$CONF_$n)" cluster join \
		    "discovery-node=$host:$cport" || fail "$n could not join"
	done
	wait_for 30 all_up 3 "$a" "$b" "$c"
	log "cluster of $a $b $c formed"
}

# down NODE VARIANT / back NODE VARIANT: take NODE out (SIGKILL of the
# whole node, or its namespace cut off for split) and bring it back (the
# same config and data dir, or the link up); back waits until all three
# nodes see three nodes up.
down() {
	if [ "$2" = split ]; then
		ns_cut "$(eval echo \$NS_$1)"
	else
		kill_node "$1"
	fi
}
back() {
	if [ "$2" = split ]; then
		ns_heal "$(eval echo \$NS_$1)"
	else
		restart_node "$1"
	fi
	wait_for 40 all_up 3 $R_NODES
	log "$1 is back: three nodes up"
}

# round_steps VARIANT VERSION SUB VIA PUB1: the steps of one round (see
# round), stopping at the first that fails; sets R_ERR (what failed),
# R_GOT1 and R_GOT2 (what arrived before and after the return), R_DOWN
# (the node taken out and not back yet), R_SUB (the subscriber's pid).
round_steps() {
	local v=$1 ver=$2 s=$3 via=$4 p1=$5 id topic base out victim pub2
	id=rq-$v-$ver
	topic=rq/$v/$ver
	out=$TEST_DIR/$id
	victim=$s pub2=$p1
	[ "$v" = pubkill ] && victim=$p1 pub2=$via

	# The subscriber on SUB gets A and goes offline; B C queue for it.
	base=$(routes "$p1")
	qo "$s" sub --client-id "$id" --version "$ver" --topic "$topic" \
	    --phase A --timeout 15 --stray 0.3 --ready "$out.r1" \
	    >"$out.sub1" 2>&1 &
	R_SUB=$!
	try_for 20 ready_or_gone "$out.r1" "$R_SUB"
	[ -f "$out.r1" ] ||
	    { R_ERR="first subscriber: $(tail -n 1 "$out.sub1")"; return 1; }
	try_for 10 routes_ge "$p1" $((base + 1)) ||
	    { R_ERR="$p1 never learnt the route to $s"; return 1; }
	qo "$p1" pub --topic "$topic" A >>"$out.pub" 2>&1 ||
	    { R_ERR="A through $p1 not acknowledged"; return 1; }
	wait "$R_SUB" ||
	    { R_ERR="first subscriber: $(tail -n 1 "$out.sub1")"; return 1; }
	qo "$p1" pub --topic "$topic" B C >>"$out.pub" 2>&1 ||
	    { R_ERR="B C through $p1 not acknowledged"; return 1; }
	log "$id: A delivered on $s, B C acknowledged through $p1"

	down "$victim" "$v"
	R_DOWN=$victim

	# It reconnects through VIA; D E are published.
	if [ "$v" = pubkill ]; then
		set -- --phase "B C D E" --timeout 10 --stray 2
	else
		set -- --phase "B C D E" --phase F --timeout 10 --timeout 90 \
		    --stray 3
	fi
	qo "$via" sub --client-id "$id" --version "$ver" --topic "$topic" \
	    --connect-timeout 25 --ready "$out.r2" --report "$out.got" "$@" \
	    >"$out.sub2" 2>&1 &
	R_SUB=$!
	try_for 30 ready_or_gone "$out.r2" "$R_SUB"
	[ -f "$out.r2" ] ||
	    { R_ERR="no reconnect through $via"; return 1; }
	log "$id: reconnected through $via"
	qo "$pub2" pub --topic "$topic" D E >>"$out.pub" 2>&1 ||
	    { R_ERR="D E through $pub2 not acknowledged"; return 1; }
	try_for 20 ready_or_gone "$out.got.1" "$R_SUB" ||
	    { R_ERR="no report of the first phase"; return 1; }
	R_GOT1=$(cat "$out.got.1" 2>/dev/null)
	[ "$v" = pubkill ] && return 0

	# SUB comes back: F arrives, and nothing stale.
	back "$victim" "$v"
	R_DOWN=
	qo "$p1" pub --topic "$topic" F >>"$out.pub" 2>&1 ||
	    { R_ERR="F through $p1 not acknowledged"; return 1; }
	return 0
}

# round VARIANT VERSION SUB VIA PUB1: one round of the scenario; prints a
# RESULT line.  SUB is the subscriber's first node (c), VIA the node it
# reconnects through (b), PUB1 the publisher's node (a).  VARIANT: kill
# (SUB is killed, then restarted), split (SUB is cut off, then healed),
# pubkill (PUB1 is killed, D and E are published through VIA, PUB1 is
# restarted for the next round).
round() {
	local v=$1 ver=$2 s=$3 via=$4 p1=$5 id out what vname line rc err
	id=rq-$v-$ver
	out=$TEST_DIR/$id
	vname=$([ "$ver" = 5 ] && echo "MQTT 5.0" || echo "MQTT 3.1.1")
	case $v in
	kill) what="1 ($s killed)" ;;
	split) what="2 ($s cut off)" ;;
	pubkill) what="3 ($p1, the publisher's node, killed)" ;;
	esac
	log "---- variant $what, $vname"
	R_ERR= R_GOT1= R_GOT2= R_DOWN= R_SUB= R_NODES="$s $via $p1"
	round_steps "$@"
	err=${R_ERR:+ $R_ERR;}
	if [ -n "$R_SUB" ]; then
		# Its own timeouts bound it; after a failed step nothing more
		# is coming.
		[ -z "$R_ERR" ] || kill "$R_SUB" 2>/dev/null
		rc=0
		wait "$R_SUB" 2>/dev/null || rc=$?
		[ -n "$R_ERR" ] || [ "$rc" -eq 0 ] ||
		    err="$err subscriber: exit $rc;"
	fi
	R_GOT1=$(cat "$out.got.1" 2>/dev/null)
	R_GOT2=$(cat "$out.got.2" 2>/dev/null)
	[ "$R_GOT1" = "B C D E" ] || err="$err want B C D E;"
	if [ "$v" != pubkill ]; then
		[ "$R_GOT2" = F ] || err="$err want only F after $s's return;"
	fi
	case " $R_GOT1 $R_GOT2 " in
	*" A "*|*" A(dup) "*) err="$err A again (a duplicate);" ;;
	esac
	for f in "$out.sub1" "$out.sub2" "$out.pub"; do
		[ -f "$f" ] && sed 's/^/    /' "$f"
	done

	line="variant $what, $vname: got ${R_GOT1:-(nothing)}"
	[ "$v" = pubkill ] ||
	    line="$line; after $s's return: ${R_GOT2:-(nothing)}"
	if [ -n "$err" ]; then
		line="$line -- FAIL:$err"
		FAILED="$FAILED $id"
	else
		line="$line -- ok"
	fi
	echo "RESULT: $line"
	RESULTS="$RESULTS$line
"
	# End the session everywhere, so the next round starts clean.
	qo "$via" clear --client-id "$id" --version "$ver" >/dev/null 2>&1 ||
	    log "$id: could not end the session"
	[ -z "$R_DOWN" ] || back "$R_DOWN" "$v"
}

# TERN_RQ_VARIANTS="1 3" runs only those variants (all by default).
variants=" ${TERN_RQ_VARIANTS:-1 2 3} "
want() { case $variants in *" $1 "*) return 0 ;; esac; return 1; }

# ---- variants 1 and 3: nodes on loopback.
if want 1 || want 3; then
	t0=$(date +%s)
	for n in a b c; do
		start_node $n "cluster.key_dir = $TEST_DIR/keys" "$RF"
		eval "CPORT_$n=$NODE_CPORT"
	done
	join3 a b c 127.0.0.1
	for ver in 4 5; do
		want 1 && round kill "$ver" c b a
	done
	for ver in 4 5; do
		want 3 && round pubkill "$ver" c b a
	done
	node_stop a b c
	log "variants 1 and 3 took $(( $(date +%s) - t0 )) s"
fi

# ---- variant 2: nodes in network namespaces.
if ! want 2; then
	:
elif why=$(ns_usable); then
	t0=$(date +%s)
	ns_setup 3
	ns_start_node 1 na "cluster.key_dir = $TEST_DIR/keys" "$RF"
	ns_start_node 2 nb "cluster.key_dir = $TEST_DIR/keys" "$RF"
	ns_start_node 3 nc "cluster.key_dir = $TEST_DIR/keys" "$RF"
	join3 na nb nc "$(ns_ip 1)"
	for ver in 4 5; do
		round split "$ver" nc nb na
	done
	log "variant 2 took $(( $(date +%s) - t0 )) s"
else
	line="variant 2 (c cut off): skipped: $why"
	echo "RESULT: $line"
	RESULTS="$RESULTS$line
"
fi

echo "---- results"
printf '%s' "$RESULTS"
[ -z "$FAILED" ] || fail "rounds failed:$FAILED"
pass
