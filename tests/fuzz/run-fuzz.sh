#!/bin/sh
# SPDX-License-Identifier: MIT
# Fuzzes the MQTT decoder for a bounded time: run-fuzz.sh [SECONDS]
# (default 60).  Builds the target if needed (with make in TERN_BUILDDIR
# when that is a configured build, else straight with clang), runs it on a
# copy of the checked-in corpus, and exits non-zero on a crash, leaving the
# reproducer to be added to tests/fuzz/corpus/mqtt_decode/ as crash-NAME.
set -u
secs=${1:-60}
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
corpus=$srcdir/tests/fuzz/corpus/mqtt_decode
work=$(mktemp -d "${TMPDIR:-/tmp}/tern-fuzz.XXXXXX")
keep=0
cleanup() {
	[ "$keep" -eq 1 ] || rm -rf "$work"
}
trap cleanup EXIT

case $secs in
''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

bin=
if [ -n "${TERN_BUILDDIR:-}" ] && [ -f "$TERN_BUILDDIR/Makefile" ]; then
	make -s -C "$TERN_BUILDDIR" tests/fuzz/fuzz_mqtt_decode || exit 1
	bin=$TERN_BUILDDIR/tests/fuzz/fuzz_mqtt_decode
else
	cc=$(command -v clang || command -v clang-14 || true)
	if [ -z "$cc" ]; then
		echo "run-fuzz: clang not found" >&2
		exit 1
	fi
	bin=$work/fuzz_mqtt_decode
	"$cc" -g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
	    -I"$srcdir" -D_GNU_SOURCE \
	    "$srcdir/tests/fuzz/fuzz_mqtt_decode.c" \
	    "$srcdir/mqttd/mqtt_codec.c" "$srcdir/mqttd/mqtt_props.c" \
	    "$srcdir/common/buf.c" "$srcdir/common/xmalloc.c" \
	    "$srcdir/common/log.c" -o "$bin" || exit 1
fi

mkdir -p "$work/corpus" "$work/artifacts"
cp "$corpus"/* "$work/corpus/"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS UBSAN_OPTIONS
echo "run-fuzz: $secs s on a copy of $corpus"
# The outer timeout is a backstop in case the target hangs in a way
# -max_total_time does not see.
timeout -k 10 $((secs + 120)) "$bin" -max_total_time="$secs" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" \
    >"$work/fuzz.log" 2>&1
rc=$?
tail -20 "$work/fuzz.log"
if [ "$rc" -ne 0 ] || [ -n "$(ls "$work/artifacts")" ]; then
	keep=1
	echo "run-fuzz: FAILED (exit $rc); reproducers and log in $work:"
	ls -l "$work/artifacts"
	echo "add each as $corpus/crash-NAME once fixed"
	exit 1
fi
echo "run-fuzz: no crash in $secs s"
