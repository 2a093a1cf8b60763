#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs every file of the checked-in corpus once through the MQTT decoder's
# fuzz target: the regression test for every crash the fuzzer has found.
# Exit 77 (skipped) when the target was not built (no clang).
srcdir=${TERN_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${TERN_BUILDDIR:-$srcdir}
bin=$builddir/tests/fuzz/fuzz_mqtt_decode
corpus=$srcdir/tests/fuzz/corpus/mqtt_decode

if [ ! -x "$bin" ]; then
	echo "fuzz-smoke: $bin not built (needs clang); skipped"
	exit 77
fi
n=$(ls "$corpus" | wc -l)
if [ "$n" -eq 0 ]; then
	echo "fuzz-smoke: empty corpus $corpus"
	exit 1
fi
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS UBSAN_OPTIONS
out=$(mktemp "${TMPDIR:-/tmp}/fuzz-smoke.XXXXXX") || exit 1
# Given files (not a directory), libFuzzer runs each once and stops.
if ! "$bin" -timeout=10 -rss_limit_mb=2048 "$corpus"/* >"$out" 2>&1; then
	grep -v -e '^Running: ' -e '^Executed ' "$out" | tail -40
	echo "fuzz-smoke: FAILED on the corpus (full log: $out)"
	exit 1
fi
rm -f "$out"
echo "fuzz-smoke: $n corpus files ran clean"
