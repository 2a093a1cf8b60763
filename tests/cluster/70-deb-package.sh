#!/bin/bash
# SPDX-License-Identifier: MIT
# The Debian package: build it with dpkg-buildpackage from a copy of the
# source (what a clean clone holds: git's tracked and untracked-but-not-
# ignored files), check its file list, conffiles and maintainer scripts
# (run against stub commands and a fake root: user creation, units
# enabled, started only when tern.conf is configured, stopped on remove),
# run lintian (errors fail), unpack it into a throwaway root, then start
# the daemons FROM THE INSTALLED PATHS, as the units do, with the installed
# tern.conf moved to temp dirs and free ports, and count a publish; once
# more through the installed ternctl run.
# Needs root and dpkg-dev, debhelper, lintian, fakeroot (skips otherwise).
. "$(dirname "$0")/lib.sh"

is_mosquitto && skip "the package and units are Tern's"
[ "$(id -u)" = 0 ] || skip "not root"
for t in dpkg-buildpackage dpkg-checkbuilddeps dh lintian fakeroot \
    dpkg-deb mosquitto_pub mosquitto_sub; do
	command -v "$t" >/dev/null ||
	    skip "no $t (apt-get install dpkg-dev debhelper lintian fakeroot)"
done

# --- build -----------------------------------------------------------------

src=$TEST_DIR/src/tern
mkdir -p "$src"
if git -C "$TERN_SRCDIR" rev-parse --is-inside-work-tree >/dev/null 2>&1
then
	(cd "$TERN_SRCDIR" &&
	    git ls-files -z --cached --others --exclude-standard |
	    while IFS= read -r -d '' f; do
		[ -e "$f" ] && printf '%s\0' "$f"
	    done | tar --null -T - -cf -) | tar -C "$src" -xf - ||
	    fail "cannot copy the source"
else
	tar -C "$TERN_SRCDIR" --exclude=.git --exclude='build*' \
	    --exclude=autom4te.cache --exclude='*.o' --exclude='*.a' \
	    -cf - . | tar -C "$src" -xf - || fail "cannot copy the source"
fi
[ -f "$src/debian/control" ] || fail "no debian/control in the copy"
log "source copied ($(find "$src" -type f | wc -l) files)"

(cd "$src" && dpkg-checkbuilddeps -Pnocheck) >"$TEST_DIR/builddeps.txt" \
    2>&1 || skip "$(cat "$TEST_DIR/builddeps.txt")"

log "dpkg-buildpackage -us -uc -b (parallel=2)"
(cd "$src" && DEB_BUILD_OPTIONS="parallel=2 nocheck" \
    DEB_BUILD_PROFILES=nocheck dpkg-buildpackage -us -uc -b) \
    >"$TEST_DIR/dpkg-buildpackage.txt" 2>&1 || {
	tail -n 30 "$TEST_DIR/dpkg-buildpackage.txt"
	fail "dpkg-buildpackage (a file missing from a clean clone?" \
	    "check .gitignore)"
}
arch=$(dpkg --print-architecture)
deb=$(ls "$TEST_DIR"/src/tern_*_"$arch".deb 2>/dev/null | head -n 1)
[ -f "$deb" ] || fail "no .deb built"
log "built $(basename "$deb")"
# The build must not have touched the working tree (it ran in the copy).
[ ! -e "$TERN_SRCDIR/debian/tern" ] ||
    log "note: $TERN_SRCDIR/debian/tern exists (an in-tree build)"

# --- file list, conffiles, control -----------------------------------------

dpkg -c "$deb" >"$TEST_DIR/contents.txt" || fail "dpkg -c"
# has_file MODE PATH: the package holds PATH (dpkg -c mode string prefix).
has_file() {
	grep -Eq "^$1 +root/root +[0-9]+ [0-9-]+ [0-9:]+ \.$2( |\$)" \
	    "$TEST_DIR/contents.txt" || fail "package lacks $2 ($1)"
}
for d in mqttd clusterd storaged ternctl; do
	has_file -rwxr-xr-x "/usr/sbin/$d"
done
has_file lrwxrwxrwx /usr/bin/ternctl
grep -q '\./usr/bin/ternctl -> \.\./sbin/ternctl$' "$TEST_DIR/contents.txt" ||
    fail "/usr/bin/ternctl is not a link to ../sbin/ternctl"
for u in tern-storaged.service tern-clusterd.service tern-mqttd.service \
    tern.target; do
	has_file -rw-r--r-- "/lib/systemd/system/$u"
done
has_file -rw-r--r-- /usr/lib/tmpfiles.d/tern.conf
has_file -rw-r--r-- /etc/tern/tern.conf
for m in man5/tern.conf.5 man8/mqttd.8 man8/clusterd.8 man8/storaged.8 \
    man8/ternctl.8; do
	has_file -rw-r--r-- "/usr/share/man/$m.gz"
done
has_file -rw-r--r-- /usr/share/doc/tern/copyright
has_file -rw-r--r-- /usr/share/doc/tern/README.Debian
# dh_compress gzips documents over 4 KiB.
grep -Eq '\./usr/share/doc/tern/operations\.md(\.gz)?$' \
    "$TEST_DIR/contents.txt" ||
    fail "package lacks /usr/share/doc/tern/operations.md"
! grep -q '\./usr/local' "$TEST_DIR/contents.txt" || fail "files in /usr/local"
! grep -q '\./run/' "$TEST_DIR/contents.txt" || fail "/run in the package"

[ "$(dpkg-deb -I "$deb" conffiles)" = /etc/tern/tern.conf ] ||
    fail "conffiles: $(dpkg-deb -I "$deb" conffiles)"
dpkg-deb -f "$deb" Depends | grep -q '\badduser\b' ||
    fail "Depends lacks adduser"
log "file list, conffiles and Depends as expected"

# --- maintainer scripts ----------------------------------------------------

ctl=$TEST_DIR/control
dpkg-deb -e "$deb" "$ctl" || fail "dpkg-deb -e"
for s in postinst prerm postrm; do
	[ -x "$ctl/$s" ] || fail "no executable $s"
	sh -n "$ctl/$s" || fail "$s: syntax"
done
! grep -q 'RuntimeDirectory' "$ctl/postinst" ||
    fail "postinst: RuntimeDirectory"

# Run a maintainer script against stubs of the commands it calls (each
# logs its arguments to $calls) with its absolute paths moved under
# $fake: nothing on this host is changed.
fake=$TEST_DIR/fake
stubs=$TEST_DIR/stubs
calls=$TEST_DIR/calls.txt
mkdir -p "$stubs"
for c in adduser addgroup chown deb-systemd-helper deb-systemd-invoke \
    systemctl systemd-tmpfiles; do
	printf '#!/bin/sh\necho "%s $*" >>"%s"\nexit 0\n' "$c" "$calls" \
	    >"$stubs/$c"
	chmod +x "$stubs/$c"
done
# No tern user yet.
printf '#!/bin/sh\necho "getent $*" >>"%s"\nexit 2\n' "$calls" \
    >"$stubs/getent"
chmod +x "$stubs/getent"

# maint SCRIPT CONF ARGS...: run SCRIPT with ARGS, /etc/tern/tern.conf
# being CONF ("" for none), in a fresh fake root.
maint() {
	local s=$1 conf=$2
	shift 2
	rm -rf "$fake"
	mkdir -p "$fake/etc/tern" "$fake/run/systemd/system"
	[ -z "$conf" ] || cp "$conf" "$fake/etc/tern/tern.conf"
	: >"$calls"
	sed -e "s#/var/lib/tern#$fake/var/lib/tern#g" \
	    -e "s#/etc/tern#$fake/etc/tern#g" \
	    -e "s#/run/systemd/system#$fake/run/systemd/system#g" \
	    "$ctl/$s" >"$TEST_DIR/$s.sh"
	PATH=$stubs:$PATH sh -e "$TEST_DIR/$s.sh" "$@" \
	    >>"$TEST_DIR/maint.txt" 2>&1 || fail "$s $*: exit $?"
}
called() { grep -Fq -- "$1" "$calls"; }

shipped=$TEST_DIR/shipped.conf
dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./etc/tern/tern.conf \
    >"$shipped" || fail "cannot read tern.conf from the package"
configured=$TEST_DIR/configured.conf
sed 's/^nodename = .*/nodename = tern@10.0.0.5   # set/' "$shipped" \
    >"$configured"
grep -q '^nodename = tern@10.0.0.5' "$configured" ||
    fail "shipped tern.conf has no nodename line"

# First install with the shipped (placeholder) configuration.
maint postinst "$shipped" configure ""
called "adduser --system --group" || fail "postinst: no adduser --system"
grep -q '^adduser .* tern$' "$calls" || fail "postinst: adduser not for tern"
called "--home /var/lib/tern" || called "--home $fake/var/lib/tern" ||
    fail "postinst: tern's home is not /var/lib/tern"
for u in tern.target tern-storaged.service tern-clusterd.service \
    tern-mqttd.service; do
	called "deb-systemd-helper enable $u" || fail "postinst: $u not enabled"
done
called "systemd-tmpfiles --create tern.conf" ||
    fail "postinst: tmpfiles not applied"
! called "deb-systemd-invoke start" ||
    fail "postinst started the units with the placeholder config"
[ "$(stat -c %a "$fake/var/lib/tern")" = 750 ] || fail "/var/lib/tern mode"
[ "$(stat -c %a "$fake/etc/tern/keys")" = 700 ] || fail "/etc/tern/keys mode"
called "chown tern:tern $fake/var/lib/tern" ||
    fail "postinst: /var/lib/tern not given to tern"
log "postinst, first install, placeholder config: user, enabled, not started"

maint postinst "$configured" configure ""
called "deb-systemd-invoke start tern.target" ||
    fail "postinst: configured first install did not start tern.target"
log "postinst, first install, configured: starts tern.target"

maint postinst "$configured" configure 0.0.9
! called "deb-systemd-invoke" || fail "postinst: upgrade (re)started units"
called "systemctl --system daemon-reload" || fail "postinst: no daemon-reload"
log "postinst, upgrade: daemon-reload, nothing (re)started"

maint postinst "$configured" configure ""
rm -rf "$fake/run/systemd" && : >"$calls"
PATH=$stubs:$PATH sh -e "$TEST_DIR/postinst.sh" configure "" \
    >>"$TEST_DIR/maint.txt" 2>&1 || fail "postinst without systemd"
! called "deb-systemd-invoke" || fail "postinst: started without systemd"

maint prerm "$configured" remove
for u in tern-mqttd.service tern-clusterd.service tern-storaged.service; do
	grep -q "^deb-systemd-invoke stop .*$u" "$calls" ||
	    fail "prerm remove: $u not stopped"
done
maint prerm "$configured" upgrade 0.2.0
! called "deb-systemd-invoke" || fail "prerm upgrade: stopped units"
log "prerm: stops the units on remove, not on upgrade"

maint postrm "" purge
mkdir -p "$fake/var/lib/tern/store"
PATH=$stubs:$PATH sh -e "$TEST_DIR/postrm.sh" purge \
    >>"$TEST_DIR/maint.txt" 2>&1 || fail "postrm purge"
[ ! -e "$fake/var/lib/tern" ] || fail "postrm purge left /var/lib/tern"
called "deb-systemd-helper purge" || fail "postrm purge: units not purged"
log "postrm purge: data and unit state removed"

# --- lintian ---------------------------------------------------------------

lintian --fail-on error "$deb" >"$TEST_DIR/lintian.txt" 2>&1
lrc=$?
grep -E '^[EW]: ' "$TEST_DIR/lintian.txt" | sed 's/^/    lintian: /'
[ "$lrc" = 0 ] && ! grep -q '^E: ' "$TEST_DIR/lintian.txt" ||
    fail "lintian reports errors (exit $lrc)"
log "lintian: no errors ($(grep -c '^W: ' "$TEST_DIR/lintian.txt") warnings)"

# --- install into a throwaway root and run it ------------------------------

root=$TEST_DIR/root
mkdir -p "$root"
dpkg-deb -x "$deb" "$root" || fail "dpkg-deb -x"

if command -v systemd-analyze >/dev/null; then
	ud=$TEST_DIR/units
	mkdir -p "$ud"
	cp "$root"/lib/systemd/system/tern* "$ud/"
	sed -i "s#/usr/sbin/#$root/usr/sbin/#" "$ud"/*.service
	MANPATH=$root/usr/share/man systemd-analyze verify "$ud"/tern* \
	    >"$TEST_DIR/verify.txt" 2>&1 && [ ! -s "$TEST_DIR/verify.txt" ] ||
	    { cat "$TEST_DIR/verify.txt"; fail "installed units: verify"; }
	log "installed units pass systemd-analyze verify"
fi

port=$(free_port)
cport=$(free_port)
hport=$(free_port)
NODE_PORT=$port
node=$TEST_DIR/node
conf=$node/tern.conf
mkdir -p "$node/run"
# conf_set KEY VALUE: the active "KEY = ..." line of $conf gets VALUE.
conf_set() {
	grep -q "^$1 = " "$conf" || fail "installed tern.conf: no $1 line"
	sed -i "s#^$1 = .*#$1 = $2#" "$conf"
}
cp "$root/etc/tern/tern.conf" "$conf"
conf_set data_dir "$node/data"
conf_set run_dir "$node/run"
conf_set listener.tcp.default "127.0.0.1:$port"
conf_set listener.http.default "127.0.0.1:$hport"
conf_set cluster.listen "127.0.0.1:$cport"
conf_set cluster.advertise "127.0.0.1:$cport"
conf_set cluster.key_dir "$node/keys"
left=$(sed 's/#.*//' "$conf" |
    grep -E '/var/lib/tern|/run/tern|:1883|:8888|:44053')
[ -z "$left" ] || fail "installed tern.conf keeps a system path or port: $left"
ternctl=$root/usr/bin/ternctl
"$ternctl" keys create "$node/keys" >/dev/null || fail "installed ternctl keys"

# As the units start them: storaged, clusterd, mqttd.
for d in storaged clusterd mqttd; do
	spawn "$d" "$root/usr/sbin/$d" -c "$conf"
	eval "PID_$d=$SPAWN_PID"
done
try_for 20 mqtt_ready "$port" || fail "installed mqttd does not serve"
wait_for 20 "$ternctl" -c "$conf" status
log "installed daemons up; $ternctl status: all three answer"

# pubsub N TAG: N counted QoS 1 messages from mosquitto_pub to _sub.
pubsub() {
	local n=$1 tag=$2 out=$TEST_DIR/sub-$2.txt sub have want i
	mqtt_sub_bg "$out" -d -i "pkg-sub-$tag" -t "pkg/$tag" -q 1 -C "$n"
	sub=$SUB_PID
	wait_for 10 grep -q "received SUBACK" "$out"
	for i in $(seq 1 "$n"); do
		mosquitto_pub -h 127.0.0.1 -p "$port" -i "pkg-pub-$tag" \
		    -t "pkg/$tag" -q 1 -m "$tag:$i" || fail "mosquitto_pub $i"
	done
	wait_for 10 sh -c "! kill -0 $sub"
	forget_pid "$sub"
	have=$(grep "^$tag:" "$out" | tr '\n' ' ')
	want=$(seq 1 "$n" | sed "s/^/$tag:/" | tr '\n' ' ')
	[ "$have" = "$want" ] || fail "$tag: got: $have"
	log "$tag: $n QoS 1 messages delivered in order"
}
pubsub 20 units

for d in mqttd clusterd storaged; do
	eval "pg=\$PID_$d"
	kill_group "$pg"
	forget_pid "$pg"
done

# The installed ternctl runs the installed daemons beside it.
NODE_PORT=$port
spawn ternctl-run "$ternctl" run -c "$conf"
try_for 20 mqtt_ready "$port" || fail "installed ternctl run: no MQTT"
wait_for 20 "$ternctl" -c "$conf" status
for d in mqttd clusterd storaged; do
	p=$(group_pids "$SPAWN_PID" "$d")
	[ -n "$p" ] || fail "ternctl run: no $d in its group"
	[ "$(readlink "/proc/$p/exe")" = "$root/usr/sbin/$d" ] ||
	    fail "ternctl run started $(readlink "/proc/$p/exe")"
done
pubsub 10 run
pass
