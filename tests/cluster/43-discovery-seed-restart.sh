#!/bin/bash
# SPDX-License-Identifier: MIT
# Discovery (issue 5): the seed that bootstrapped a cluster comes back with
# an empty data_dir while the others run.  It is still the lowest seed, so
# it would bootstrap, but it first asks the other seeds, finds their
# cluster, and joins it: one cluster id, the same three members (the old
# entry of the seed is replaced, not left behind as a dead member), and a
# retained message stored before is still there.  Then a node whose
# data_dir/cluster_id names another cluster refuses to join this one and
# never bootstraps its own.  Tern only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_cluster.sh"

is_mosquitto && skip "clustering is Tern's"

"$TERNCTL" keys create "$TEST_DIR/keys" >/dev/null || fail "keys create"
seeds=""
low=""
lowp=99999
for n in a b c; do
	p=$(low_port)
	eval "CP_$n=$p"
	seeds="$seeds${seeds:+, }127.0.0.1:$p"
	if [ "$p" -lt "$lowp" ]; then
		lowp=$p
		low=$n
	fi
done
for n in a b c; do
	eval "cp=\$CP_$n"
	node_conf $n 127.0.0.1 "$cp" "discovery = static" \
	    "discovery.static.seeds = $seeds"
	node_spawn $n
done
wait_for 60 cluster_agree 3 a b c
id=$(cluster_id a)
grep -q 'bootstrapping a new cluster' "$TEST_DIR/$low.log" ||
    fail "the lowest seed $low did not bootstrap"
log "cluster $id of three, bootstrapped by $low"

# Data that must survive: a retained message on a node that stays up.
other=b
[ "$low" = b ] && other=c
eval "oport=\$PORT_$other"
wait_for 20 mqtt_ready "$oport"
mosquitto_pub -h 127.0.0.1 -p "$oport" -q 1 -r -t disc/keep -m kept ||
    fail "retained publish on $other"

# The seed loses its volume and comes back empty.
eval "oldid=\$(cat \"\$DIR_$low/data/node_id\")"
node_stop $low
rm -rf "$TEST_DIR/$low/data"
mkdir -p "$TEST_DIR/$low/data"
mv "$TEST_DIR/$low.log" "$TEST_DIR/$low.log.before"
node_spawn $low
wait_for 60 cluster_agree 3 a b c
[ "$(cluster_id a)" = "$id" ] || fail "cluster id changed"
[ "$(cluster_id "$low")" = "$id" ] || fail "$low is in another cluster"
grep -q "answers with cluster $id: joining it" "$TEST_DIR/$low.log" ||
    fail "$low did not join the running cluster"
grep -q 'bootstrapping a new cluster' "$TEST_DIR/$low.log" &&
    fail "$low bootstrapped a second cluster"
eval "newid=\$(cat \"\$DIR_$low/data/node_id\")"
[ "$newid" != "$oldid" ] || fail "$low kept its node id"
cluster_json "$other" | grep -q "$oldid" && fail "the old $low is still listed"
[ "$(cat "$TEST_DIR/$low/data/cluster_id")" = "$id" ] ||
    fail "$low did not store the cluster id"
out=$(mosquitto_sub -h 127.0.0.1 -p "$oport" -t disc/keep -C 1 -W 10) ||
    fail "retained message lost on $other"
[ "$out" = kept ] || fail "retained message is \"$out\""
log "$low came back empty and joined cluster $id (node $oldid -> $newid)"

# A node that stored another cluster's id refuses to join this one, and
# does not bootstrap one either.
dp=$(low_port)
node_conf d 127.0.0.1 "$dp" "discovery = static" \
    "discovery.static.seeds = $seeds, 127.0.0.1:$dp"
echo 0123456789abcdef0123456789abcdef >"$TEST_DIR/d/data/cluster_id"
node_spawn d
wait_for 20 grep -q 'joins no other' "$TEST_DIR/d.log"
# Give it more than discovery's bootstrap window (3 s), measured.
t0=$(ms_now)
while [ $(( $(ms_now) - t0 )) -lt 4000 ]; do
	not_joined d || fail "d joined a cluster it does not belong to"
	sleep 0.2
done
grep -q 'bootstrapping a new cluster' "$TEST_DIR/d.log" &&
    fail "d bootstrapped a cluster"
wait_for 10 cluster_agree 3 a b c
[ "$(cat "$TEST_DIR/d/data/cluster_id")" = \
    0123456789abcdef0123456789abcdef ] || fail "d lost its stored id"
log "d (stored cluster 0123...) stays out: $(grep -m1 'joins no other' \
    "$TEST_DIR/d.log" | sed 's/.*waiting: //')"
pass
