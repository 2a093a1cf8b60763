#!/bin/bash
# SPDX-License-Identifier: MIT
# Discovery, static seeds (issue 5): five nodes with the same seed list and
# empty data dirs, started at the same moment, form exactly one cluster of
# five, every round: `ternctl cluster show --json` on each node agrees on
# one cluster id and five running members, and exactly one node logged that
# it bootstrapped (the lowest seed address).  Then a restart of the whole
# cluster rejoins from the stored membership (no discovery, same id).
# TERN_DISCOVERY_ROUNDS (default 20, as the issue asks) sets the rounds:
# each takes about 3 s on two cores (20 rounds: about 70 s, also with
# --enable-sanitizers).  Tern only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_cluster.sh"

is_mosquitto && skip "clustering is Tern's"

ROUNDS=${TERN_DISCOVERY_ROUNDS:-20}
"$TERNCTL" keys create "$TEST_DIR/keys" >/dev/null || fail "keys create"

# lowest_node NODES...: the node whose cluster address is the lowest.
lowest_node() {
	local n best="" bp=99999 p
	for n in "$@"; do
		eval "p=\$CP_$n"
		if [ "$p" -lt "$bp" ]; then
			bp=$p
			best=$n
		fi
	done
	echo "$best"
}

for r in $(seq 1 "$ROUNDS"); do
	nodes=""
	seeds=""
	for x in a b c d e; do
		n=r${r}$x
		nodes="$nodes $n"
		eval "CP_$n=$(low_port)"
		eval "seeds=\"\$seeds\${seeds:+, }127.0.0.1:\$CP_$n\""
	done
	for n in $nodes; do
		eval "cp=\$CP_$n"
		node_conf "$n" 127.0.0.1 "$cp" "discovery = static" \
		    "discovery.static.seeds = $seeds"
	done
	t0=$(ms_now)
	for n in $nodes; do
		node_spawn "$n"
	done
	# shellcheck disable=SC2086
	wait_for 60 cluster_agree 5 $nodes
	t1=$(ms_now)
	boots=0
	for n in $nodes; do
		c=$(log_count "$TEST_DIR/$n.log" \
		    'discovery: no seed is in a cluster.*bootstrapping')
		boots=$((boots + c))
		[ "$c" -gt 0 ] && booter=$n
	done
	[ "$boots" -eq 1 ] || fail "round $r: $boots nodes bootstrapped"
	# shellcheck disable=SC2086
	want=$(lowest_node $nodes)
	[ "$booter" = "$want" ] ||
	    fail "round $r: $booter bootstrapped, the lowest seed is $want"
	id=$(cluster_id "r${r}a")
	log "round $r: one cluster of five ($id) in $((t1 - t0)) ms," \
	    "bootstrapped by $booter"
	[ "$r" -eq "$ROUNDS" ] && break
	# shellcheck disable=SC2086
	node_stop $nodes
done

# The last round's cluster restarts: every node rejoins from data_dir
# (no discovery), same cluster id, even with the seeds changed to garbage
# that no longer names any node.
# shellcheck disable=SC2086
node_stop $nodes
for n in $nodes; do
	echo "discovery.static.seeds = 127.0.0.1:1" >>"$TEST_DIR/$n/tern.conf"
	node_spawn "$n"
done
# shellcheck disable=SC2086
wait_for 60 cluster_agree 5 $nodes
[ "$(cluster_id "r${ROUNDS}a")" = "$id" ] || fail "cluster id changed"
for n in $nodes; do
	grep -q "holds this node's membership" "$TEST_DIR/$n.log" ||
	    fail "$n did not rejoin from its stored membership"
	[ "$(cat "$TEST_DIR/$n/data/cluster_id")" = "$id" ] ||
	    fail "$n stores another cluster id"
done
log "restart: the five rejoined cluster $id from their data dirs"
pass
