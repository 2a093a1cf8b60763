#!/bin/bash
# SPDX-License-Identifier: MIT
# Replicated queues, randomized (issue 8): three nodes a b c
# (cluster.replication_factor = 2), 20 publishers and 20 persistent QoS 1
# subscribers spread over them (py/failover_traffic.py: who subscribes to
# what, who stays offline until the end), 10,000 numbered QoS 1 messages.
# While they flow, a random node is killed with SIGKILL (the whole node)
# and restarted on its data, at once (one round in three) or once the
# others have acknowledged a random number of further messages without it;
# all three must see three nodes up again before the next round; 3 rounds
# (TERN_R53_ROUNDS), none started after TERN_R53_BUDGET seconds.  Clients
# of the dead node reconnect elsewhere by themselves (publishers resend
# what was not PUBACKed, in order).  At the
# end every subscriber drains its queue: 0 lost (every PUBACKed message
# reaches every subscriber subscribed to it), 0 reordered per publisher per
# subscriber; duplicates are counted and printed.  A loss is printed with
# when it was published relative to the kill and whether the documented
# window (in flight to the subscriber's node as it died) covers it; it
# fails the test either way.  TERN_R53_SEED repeats a run's choices.
# Tern only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_cluster.sh"
. "$(dirname "$0")/lib_store.sh"
EXPECT_RESTARTS=1

is_mosquitto && skip "clustering is Tern's"
# Opt-in: it finds the window issue 8 still has open (messages forwarded
# to a node after it died and before its sessions moved are given up:
# about 100-750 lost per run, none reordered); see docs/clustering.md,
# "Replicated queues", known gaps.  It runs in CI once that is closed.
[ -n "${TERN_TEST_SOAK:-}" ] ||
    skip "soak test (TERN_TEST_SOAK=1): finds issue 8's open window"

seed=${TERN_R53_SEED:-$(( $$ * 7919 % 32768 ))}
RANDOM=$seed
rounds=${TERN_R53_ROUNDS:-3}
budget=${TERN_R53_BUDGET:-150}	# no round starts later (s since start)
count=${TERN_R53_COUNT:-10000}
rate=${TERN_R53_RATE:-150}	# messages per second, all publishers
t_start=$(date +%s)
log "seed $seed: $rounds rounds, $count messages at $rate/s"

"$TERNCTL" keys create "$TEST_DIR/keys" >/dev/null || fail "keys create"
for n in a b c; do
	start_node $n "cluster.key_dir = $TEST_DIR/keys" \
	    "max_offline_messages = 0" "max_online_messages = 0" \
	    "log_level = info"
	eval "CPORT_$n=$NODE_CPORT"
done
for n in b c; do
	"$TERNCTL" -c "$(eval echo \$CONF_$n)" cluster join \
	    "discovery-node=127.0.0.1:$CPORT_a" || fail "$n could not join"
done

# all_up: each node sees three nodes up, one leader.
all_up() {
	local n
	for n in a b c; do
		cluster_check "$n" 3 || return 1
	done
}
wait_for 30 all_up
log "cluster of a b c formed"

# routes_ok: every node knows the remote routes listed in "subscribed".
routes_ok() {
	local n want have conf
	while read -r n want; do
		eval "conf=\$CONF_$n"
		have=$("$TERNCTL" -c "$conf" metrics show 2>/dev/null |
		    awk '$1 == "clusterd_routes_remote" { print $2; exit }')
		[ "${have:-0}" -ge "$want" ] || return 1
	done <"$W/subscribed"
}

# acked: messages acknowledged so far; acked_ge N; published: all done.
acked() { cut -d' ' -f1 "$W/progress" 2>/dev/null || echo 0; }
acked_ge() { [ "$(acked)" -ge "$1" ]; }
published() { [ -f "$W/published" ]; }
acked_or_done() { acked_ge "$1" || published; }
event() { echo "$1 $(date +%s.%N)" >>"$W/events"; }

W=$TEST_DIR/traffic
mkdir -p "$W"
"$PY" "$PYDIR/failover_traffic.py" --dir "$W" --seed "$seed" \
    --nodes "a=$PORT_a,b=$PORT_b,c=$PORT_c" --count "$count" \
    --rate "$rate" --timeout "${TERN_R53_TIMEOUT:-150}" \
    --drain-timeout 40 \
    >"$TEST_DIR/traffic.out" 2>&1 &
traffic=$!
try_for 40 sh -c "[ -f '$W/subscribed' ] || ! kill -0 $traffic" ||
    fail "subscribers not set up in 40 s"
[ -f "$W/subscribed" ] ||
    fail "subscribers: $(tail -n 5 "$TEST_DIR/traffic.out")"
wait_for 20 routes_ok
log "routes known everywhere: $(tr '\n' ' ' <"$W/subscribed")"
touch "$W/go"

# Rounds: round r kills when about r/(rounds+1) of the messages are
# acknowledged (a random 0..5% later), if publishing still runs and the
# time budget allows.
RESULTS=""
STALLED=""
done_rounds=0
for r in $(seq 1 "$rounds"); do
	at=$(( count * r / (rounds + 1) + count * (RANDOM % 50) / 1000 ))
	if ! try_for 60 acked_or_done "$at"; then
		STALLED="publishing stalled: no progress to $at acked in 60 s \
(at $(acked))"
		log "round $r: $STALLED: no more kills"
		break
	fi
	if published; then
		log "round $r: publishing is over, no more kills"
		break
	fi
	if [ $(( $(date +%s) - t_start )) -gt "$budget" ]; then
		log "round $r: time budget used, no more kills"
		break
	fi
	# (RANDOM in this shell, not in a $(...) subshell: the seed repeats)
	i=$(( RANDOM % 3 + 1 ))
	victim=$(echo a b c | cut -d' ' -f$i)
	leader=$(cluster_leader a 2>/dev/null)
	before=$(acked)
	t0=$(ms_now)
	event "kill $victim"
	kill_node "$victim"
	# One round in three it starts again at once (back before its
	# sessions move); otherwise the others run without it until they
	# acknowledged 100..599 more.
	if [ $(( RANDOM % 3 )) -eq 0 ]; then
		down_ms="$(( $(ms_now) - t0 )) (at once)"
	elif try_for 30 acked_or_done $(( before + 100 + RANDOM % 500 )); then
		down_ms=$(( $(ms_now) - t0 ))
	else
		down_ms="30000+ (no progress: $(acked) acked)"
		log "round $r: no progress without $victim for 30 s"
	fi
	after=$(acked)
	event "restart $victim"
	restart_node "$victim"
	if ! try_for 40 all_up; then
		STALLED="not all three up 40 s after $victim's restart"
		log "round $r: $STALLED"
		break
	fi
	event up
	up_ms=$(( $(ms_now) - t0 ))
	done_rounds=$r
	line="round $r: killed $victim (leader was ${leader:-?}) at $before \
acked; restarted after $down_ms ms and $((after - before)) more acked; \
all three up after $up_ms ms"
	log "$line"
	RESULTS="$RESULTS$line
"
done
touch "$W/rounds-done"
log "$done_rounds rounds; waiting for the clients to drain"

rc=0
wait "$traffic" || rc=$?
cat "$TEST_DIR/traffic.out"
echo "---- seed $seed, $done_rounds rounds"
printf '%s' "$RESULTS"
grep 'TOTAL:' "$TEST_DIR/traffic.out" | sed 's/^[^ ]* //'
echo "---- took $(( $(date +%s) - t_start )) s"
[ -z "$STALLED" ] || fail "$STALLED"
[ "$done_rounds" -ge 1 ] || fail "no node was killed while publishing"
[ "$rc" -eq 0 ] || fail "lost, reordered or broken (see above)"
pass
