#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# Runs every test layer and ends with one line "N passed, N failed, N skipped".
# Each test program prints TAP lines ("ok N - ..." / "not ok N - ...");
# a program that exits non-zero without reporting a failure counts as one
# failed test, so a crash is never silent. A check this machine cannot run
# (a kernel feature or a tool missing) is TAP's "ok N - ... # SKIP reason",
# and a whole program that cannot run prints the plan "1..0 # SKIP reason":
# both are counted as skipped, never as passed.
#
#   tests/run.sh                 all layers
#   tests/run.sh unit|selftests|integration|fuzz   one layer
#   tests/run.sh integration tables   integration scripts matching "tables"
set -u
cd "$(dirname "$0")/.."
OUT=.output
LOGDIR=$OUT/test-logs
mkdir -p "$LOGDIR"
passed=0
failed=0
skipped=0
failed_names=()

# TAP's SKIP directive: "# SKIP" (any case) after the description.
SKIP_RE='^ok .*# *[Ss][Kk][Ii][Pp]'

run_one() { # name, command...
	local name=$1 log rc p f s
	shift
	log="$LOGDIR/$(echo "$name" | tr '/ ' '__').log"
	echo "== $name"
	"$@" >"$log" 2>&1
	rc=$?
	s=$(grep -cE "$SKIP_RE" "$log")
	p=$(($(grep -c '^ok ' "$log") - s))
	f=$(grep -c '^not ok ' "$log")
	grep -qE '^1\.\.0 *# *[Ss][Kk][Ii][Pp]' "$log" && s=$((s + 1))
	grep -E "^(not ok|#|1\.\.0)|$SKIP_RE" "$log" | head -40
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name exited with status $rc"
		tail -20 "$log" | sed 's/^/#   /'
		f=1
	fi
	echo "   $p passed, $f failed, $s skipped ($log)"
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	[ "$f" -gt 0 ] && failed_names+=("$name")
}

layer=${1:-all}
filter=${2:-}

if [ "$layer" = all ] || [ "$layer" = unit ]; then
	for t in $OUT/tests/test_*; do
		[ -x "$t" ] && run_one "unit/$(basename "$t")" "$t"
	done
fi
if [ "$layer" = all ] || [ "$layer" = selftests ]; then
	[ -x $OUT/selftests/test_progs ] && run_one selftests/test_progs $OUT/selftests/test_progs
fi
if [ "$layer" = all ] || [ "$layer" = integration ]; then
	for t in tests/integration/test_*.sh; do
		[ -f "$t" ] || continue
		case "$t" in *"$filter"*) ;; *) continue ;; esac
		run_one "integration/$(basename "$t" .sh)" timeout 600 bash "$t"
	done
fi
if [ "$layer" = all ] || [ "$layer" = fuzz ]; then
	[ -x tests/fuzz/run.sh ] && run_one fuzz/smoke tests/fuzz/run.sh short
fi

if [ ${#failed_names[@]} -gt 0 ]; then
	echo "failed: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
