#!/bin/sh
# SPDX-License-Identifier: MIT
# Container entry point of a tern StatefulSet pod: writes this pod's
# tern.conf from the template (its DNS name, the seed's), installs the
# cluster keys from the Secret with mode 0600, and runs the node with
# "ternctl run" (the three daemons in the foreground; SIGTERM stops them).
#
# Environment (the StatefulSet sets these):
#   POD_NAME, POD_NAMESPACE   from the downward API (required)
#   TERN_HEADLESS_SERVICE     the StatefulSet's serviceName (tern-headless)
#   TERN_CLUSTER_DOMAIN       default: from `hostname -f`, else cluster.local
#   TERN_ORDINAL_START        the StatefulSet's .spec.ordinals.start (0)
# Tests only: TERNCTL (the ternctl to exec) and TERN_ROOT (a directory that
# stands for / : the test's copy of the container's file tree).
set -eu

root=${TERN_ROOT:-}
template=/etc/tern-k8s/tern.conf.in	# the ConfigMap tern-config
conf=/etc/tern/tern.conf		# an emptyDir: ternctl's default path
secrets=/etc/tern-secrets		# the Secrets tern-keys and tern-users
svc=${TERN_HEADLESS_SERVICE:-tern-headless}
ostart=${TERN_ORDINAL_START:-0}

die() {
	echo "entrypoint: $*" >&2
	exit 1
}

# A DNS label or name: nothing that could break the sed below.
is_dnsname() {
	case $1 in
	'' | *[!a-z0-9.-]* | .* | *.) return 1 ;;
	esac
	return 0
}

[ -n "${POD_NAME:-}" ] ||
    die "POD_NAME is not set (downward API: metadata.name)"
[ -n "${POD_NAMESPACE:-}" ] ||
    die "POD_NAMESPACE is not set (downward API: metadata.namespace)"
is_dnsname "$POD_NAME" || die "bad POD_NAME \"$POD_NAME\""
is_dnsname "$POD_NAMESPACE" || die "bad POD_NAMESPACE \"$POD_NAMESPACE\""
is_dnsname "$svc" || die "bad TERN_HEADLESS_SERVICE \"$svc\""

# StatefulSet pods are called NAME-ORDINAL.
ord=${POD_NAME##*-}
sts=${POD_NAME%-*}
case $ord in
'' | *[!0-9]*)
	die "POD_NAME \"$POD_NAME\" is not NAME-ORDINAL (a StatefulSet pod?)" ;;
esac
case $ostart in
'' | *[!0-9]*) die "bad TERN_ORDINAL_START \"$ostart\"" ;;
esac
[ "$sts" != "$POD_NAME" ] || die "POD_NAME \"$POD_NAME\" has no ordinal"

# The cluster domain: Kubernetes writes the pod's full name under the
# headless service into /etc/hosts, so `hostname -f` tells it.
domain=${TERN_CLUSTER_DOMAIN:-}
if [ -z "$domain" ]; then
	fqdn=$(hostname -f 2>/dev/null || true)
	case $fqdn in
	"$POD_NAME.$svc.$POD_NAMESPACE.svc."?*)
		domain=${fqdn#"$POD_NAME.$svc.$POD_NAMESPACE.svc."} ;;
	*)
		domain=cluster.local ;;
	esac
fi
is_dnsname "$domain" || die "bad cluster domain \"$domain\""

pod_host=$POD_NAME.$svc.$POD_NAMESPACE.svc.$domain
seed_host=$sts-$ostart.$svc.$POD_NAMESPACE.svc.$domain

[ -r "$root$template" ] ||
    die "no template $template (ConfigMap tern-config)"
umask 022
mkdir -p "$root$(dirname "$conf")"
sed -e "s|\${POD_HOST}|$pod_host|g" \
    -e "s|\${SEED_HOST}|$seed_host|g" \
    -e "s|\${ORDINAL_START}|$ostart|g" \
    "$root$template" >"$root$conf.tmp"
# shellcheck disable=SC2016 # a literal ${
if grep -n '\${' "$root$conf.tmp" >&2; then
	rm -f "$root$conf.tmp"
	die "$template: unknown \${...} above (known: POD_HOST," \
	    "SEED_HOST, ORDINAL_START)"
fi
mv -f "$root$conf.tmp" "$root$conf"

# clusterd wants its secret key readable by its user only; a Secret volume
# with fsGroup is group-readable, so the keys are copied.
key_dir=$(sed -n -e 's/#.*//' \
    -e 's/^[[:space:]]*cluster\.key_dir[[:space:]]*=[[:space:]]*//p' \
    "$root$conf" | sed 's/[[:space:]]*$//' | tail -n 1)
[ -n "$key_dir" ] || key_dir=/etc/tern/keys
for f in cluster.key cluster.pub; do
	[ -s "$root$secrets/keys/$f" ] ||
	    die "no $secrets/keys/$f: create the Secret tern-keys" \
	    "(docs/kubernetes.md)"
done
mkdir -p "$root$key_dir"
chmod 0700 "$root$key_dir"
rm -f "$root$key_dir/cluster.key" "$root$key_dir/cluster.pub"
(umask 077 &&
    cat "$root$secrets/keys/cluster.key" >"$root$key_dir/cluster.key")
cat "$root$secrets/keys/cluster.pub" >"$root$key_dir/cluster.pub"

echo "entrypoint: node tern@$pod_host, seed tern@$seed_host, config $conf" >&2
exec "${TERNCTL:-ternctl}" run -c "$root$conf"
