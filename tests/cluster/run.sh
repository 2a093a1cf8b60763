#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs the black-box tests tests/cluster/[0-9][0-9]-*.sh (sorted) whose name
# matches PATTERN (a grep -E regex, default all), each under `timeout`, and
# prints PASS/FAIL/SKIP per test and "N passed, N failed[, N skipped]".
# Exit 1 if any failed, 77 if all were skipped.
#
#   tests/cluster/run.sh [PATTERN]
#   TERN_TEST_BROKER=mosquitto tests/cluster/run.sh   # prove the tests
#   TERN_TEST_TIMEOUT=300 (seconds per test)   TERN_TEST_VERBOSE=1 (show
#   every test's output, not only a failed one's)

set -u
dir=$(cd "$(dirname "$0")" && pwd)
pattern=${1:-.}
limit=${TERN_TEST_TIMEOUT:-300}
export TERN_SRCDIR=${TERN_SRCDIR:-$(cd "$dir/../.." && pwd)}
export TERN_TEST_BROKER=${TERN_TEST_BROKER:-tern}
if [ -z "${TERN_BUILDDIR:-}" ] && [ -x "$PWD/ternctl/ternctl" ]; then
	TERN_BUILDDIR=$PWD
fi
[ -n "${TERN_BUILDDIR:-}" ] && export TERN_BUILDDIR

npass=0 nfail=0 nskip=0 failed=""
out=$(mktemp "${TMPDIR:-/tmp}/tern-run.XXXXXX")
trap 'rm -f "$out"' EXIT

echo "black-box tests against $TERN_TEST_BROKER" \
    "(TERN_BUILDDIR=${TERN_BUILDDIR:-unset})"
for t in "$dir"/[0-9][0-9]-*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	echo "$name" | grep -Eq -- "$pattern" || continue
	start=$(date +%s)
	timeout -k 15 "$limit" bash "$t" >"$out" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	if [ -n "${TERN_TEST_VERBOSE:-}" ]; then
		sed 's/^/    /' "$out"
	fi
	case $rc in
	0)
		npass=$((npass + 1))
		echo "PASS: $name (${secs}s)"
		;;
	77)
		nskip=$((nskip + 1))
		why=$(sed -n 's/^SKIP: [^:]*: //p' "$out" | tail -n 1)
		echo "SKIP: $name (${why:-skipped})"
		;;
	*)
		nfail=$((nfail + 1))
		failed="$failed $name"
		[ "$rc" -eq 124 ] && why="timeout after ${limit}s" ||
		    why="exit $rc"
		[ -n "${TERN_TEST_VERBOSE:-}" ] || sed 's/^/    /' "$out"
		echo "FAIL: $name ($why, ${secs}s)"
		;;
	esac
done

summary="$npass passed, $nfail failed"
[ "$nskip" -gt 0 ] && summary="$summary, $nskip skipped"
[ -n "$failed" ] && echo "failed:$failed"
echo "$summary"
[ "$nfail" -gt 0 ] && exit 1
[ "$npass" -eq 0 ] && [ "$nskip" -gt 0 ] && exit 77
exit 0
