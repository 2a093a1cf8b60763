# SPDX-License-Identifier: MIT
# Helpers for the multi-node tests (sourced after lib.sh): cluster views
# from `ternctl cluster show --json` and the checks made on them.

# cluster_json NODE: the cluster as NODE's clusterd sees it (one JSON line).
cluster_json() {
	local conf
	eval "conf=\$CONF_$1"
	"$TERNCTL" -c "$conf" cluster show --json
}

# cluster_check NODE COUNT: NODE sees COUNT nodes, all running and up, one
# leader among them, and a cluster id.
cluster_check() {
	cluster_json "$1" | "$PY" -c '
import json, sys
want = int(sys.argv[1])
d = json.load(sys.stdin)
nodes = d["nodes"]
assert len(nodes) == want, nodes
assert all(n["running"] and n["state"] == "up" for n in nodes), nodes
assert sum(1 for n in nodes if n["leader"]) == 1, nodes
assert d["cluster_id"], d
' "$2"
}

# cluster_leader NODE: name of the leader NODE sees (fails if none).
cluster_leader() {
	cluster_json "$1" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
l = [n["name"] for n in d["nodes"] if n["leader"]]
assert len(l) == 1, d
print(l[0])
'
}

# cluster_id NODE: the cluster id NODE stores.
cluster_id() {
	cluster_json "$1" | "$PY" -c '
import json, sys
print(json.load(sys.stdin)["cluster_id"])
'
}

# cluster_has_new_leader NODE OLD: NODE sees a leader other than OLD.
cluster_has_new_leader() {
	local l
	l=$(cluster_leader "$1" 2>/dev/null) || return 1
	[ -n "$l" ] && [ "$l" != "$2" ]
}

# ms_now: milliseconds of a monotonic-enough clock.
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }
