#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Set up, build and run or test Tern on Debian 12, as root, from a clone.
#
#   bash scripts/dev.sh run     install build deps, build, run one node on
#                               127.0.0.1:1883 (foreground; Ctrl-C stops it)
#   bash scripts/dev.sh test    install deps, build, run every test: unit and
#                               black-box, then again under ASan+UBSan, then
#                               the codec fuzzer for a bounded time
#   bash scripts/dev.sh build   install build deps and build only
#
# Builds go to build/ and build-san/ (out of tree).  Set TERN_NO_APT=1 to
# skip apt-get, FUZZ_SECONDS to change the fuzzing time (0 = skip).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)

BUILD_DEPS="autoconf automake libtool pkg-config make gcc clang
  libevent-dev libssl-dev libzmq3-dev librocksdb-dev libraft-dev libuv1-dev
  libcunit1-dev libsystemd-dev libjansson-dev"
TEST_DEPS="mosquitto mosquitto-clients python3 python3-paho-mqtt
  python3-yaml python3-prometheus-client iproute2 dnsmasq-base procps psmisc
  openssl libmosquitto-dev debhelper lintian dpkg-dev fakeroot systemd"

install_deps() {
	[ "${TERN_NO_APT:-0}" = 1 ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "dev.sh: run as root to install packages (or TERN_NO_APT=1)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $BUILD_DEPS "$@"
}

build() {	# build DIR [configure args...]
	local dir=$1
	shift
	[ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi
	mkdir -p "$dir"
	(cd "$dir" && { [ -f Makefile ] || "$top/configure" -q "$@"; } &&
	    make -j"$jobs" >/dev/null)
}

summary=()
suite() {	# suite NAME DIR: make check, record its counts
	local name=$1 dir=$2 rc=0 log
	echo "== $name: make check in $dir"
	make -C "$dir" -j"$jobs" check || rc=$?
	for log in "$dir"/test-suite.log; do
		[ -f "$log" ] && sed -n '1,12p' "$log"
	done
	summary+=("$name:$rc")
	return 0
}

case "${1:-}" in
run)
	install_deps
	build build
	exec build/ternctl/ternctl run
	;;
build)
	install_deps
	build build
	;;
test)
	# shellcheck disable=SC2086
	install_deps $TEST_DEPS
	build build
	suite plain build
	build build-san --enable-sanitizers
	suite sanitizers build-san
	fuzz_rc=0
	if [ "${FUZZ_SECONDS:-60}" != 0 ] && [ -x tests/fuzz/run-fuzz.sh ]; then
		echo "== fuzz: ${FUZZ_SECONDS:-60} s"
		TERN_BUILDDIR=$top/build bash tests/fuzz/run-fuzz.sh \
		    "${FUZZ_SECONDS:-60}" || fuzz_rc=$?
	fi
	summary+=("fuzz:$fuzz_rc")
	passed=0 failed=0
	for s in "${summary[@]}"; do
		if [ "${s##*:}" = 0 ]; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
			echo "FAILED: ${s%%:*}"
		fi
	done
	# Totals of the individual tests of the plain and sanitizer runs.
	tp=0 tf=0
	for d in build build-san; do
		for f in $(find "$d" -name '*.trs' 2>/dev/null); do
			if grep -q '^:test-result: PASS' "$f"; then
				tp=$((tp + 1))
			elif grep -q '^:test-result: SKIP' "$f"; then
				:
			else
				tf=$((tf + 1))
			fi
		done
	done
	echo "suites: $passed passed, $failed failed (plain, sanitizers, fuzz)"
	echo "$tp passed, $tf failed"
	[ "$failed" = 0 ] && [ "$tf" = 0 ]
	;;
*)
	sed -n '3,14p' "$0" >&2
	exit 2
	;;
esac
