#!/bin/sh
# SPDX-License-Identifier: MIT
# preStop hook of a tern pod.  On a scale-down (this pod's ordinal is at or
# beyond the replica count in the ConfigMap tern-scale) the node leaves the
# cluster with "ternctl cluster leave" before Kubernetes stops it: its
# listeners close, its clients are disconnected (-k) and reconnect to other
# pods, and its queues move to the remaining nodes.  Any other stop (rolling
# upgrade, node drain, eviction, kubectl delete pod) only stops the node:
# the pod comes back with the same volume and name and rejoins from its
# stored membership.  A pod cannot tell the two apart by itself without API
# rights, hence the replica count in a ConfigMap (docs/kubernetes.md).
#
# Environment: POD_NAME (required), TERN_ORDINAL_START (0),
# TERN_LEAVE_TIMEOUT (60: ternctl leave -t, seconds before the remaining
# queues are forced round robin), TERN_LEAVE_BUDGET (150: seconds for all
# attempts; keep below terminationGracePeriodSeconds).  Tests only:
# TERNCTL, TERN_LOG and TERN_ROOT (as in entrypoint.sh).
set -u

root=${TERN_ROOT:-}
conf=/etc/tern/tern.conf		# written by entrypoint.sh
replicas_file=/etc/tern-k8s/replicas	# the ConfigMap tern-scale
ostart=${TERN_ORDINAL_START:-0}
leave_timeout=${TERN_LEAVE_TIMEOUT:-60}
budget=${TERN_LEAVE_BUDGET:-150}
ternctl=${TERNCTL:-ternctl}
# A hook's output is not in "kubectl logs": write to the node's (PID 1).
logto=${TERN_LOG:-/proc/1/fd/1}

log() {
	{ echo "prestop: $*" >>"$logto"; } 2>/dev/null || echo "prestop: $*" >&2
}

ord=${POD_NAME:-}
ord=${ord##*-}
case $ord in
'' | *[!0-9]*)
	log "POD_NAME \"${POD_NAME:-}\" is not NAME-ORDINAL: not leaving"
	exit 0 ;;
esac
want=$(tr -d ' \t\r\n' <"$root$replicas_file" 2>/dev/null)
case $want in
'' | *[!0-9]*)
	log "no replica count in $replicas_file: stopping without leaving"
	exit 0 ;;
esac
if [ $((ord - ostart)) -lt "$want" ]; then
	log "$POD_NAME stays a member (replicas = $want): stopping without leaving"
	exit 0
fi

node=$(sed -n -e 's/#.*//' \
    -e 's/^[[:space:]]*nodename[[:space:]]*=[[:space:]]*//p' "$root$conf" |
    sed 's/[[:space:]]*$//' | tail -n 1)
if [ -z "$node" ]; then
	log "no nodename in $conf: cannot leave"
	exit 1
fi

start=$(date +%s)
attempt=1
while :; do
	log "scale-down: $node leaves the cluster (attempt $attempt)"
	if out=$("$ternctl" -c "$root$conf" cluster leave node="$node" -k \
	    -t "$leave_timeout" -i 5 2>&1); then
		log "$node left the cluster: $out"
		exit 0
	fi
	log "leave failed: $out"
	now=$(date +%s)
	if [ "$attempt" -ge 3 ] || [ $((now - start + 5)) -ge "$budget" ]; then
		log "giving up: the node stops without leaving; remove it with" \
		    "\"ternctl cluster leave node=$node\" on another pod"
		exit 1
	fi
	attempt=$((attempt + 1))
	sleep 2
done
