#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# Builds and runs the libFuzzer harnesses, one TAP line each.
#
#   tests/fuzz/run.sh [short|long] [NAME...]
#
# short: 20 s per harness (tests/run.sh fuzz, make check); long: 10 min
# (make fuzz). Seeds come from tests/fuzz/corpus/NAME/ (committed); what the
# fuzzer finds goes to .output/fuzz/NAME/corpus, crashes to
# .output/fuzz/NAME/crash-*, so the source tree stays clean. Reproduce a
# crash with: .output/fuzz/fuzz_NAME .output/fuzz/NAME/crash-...
set -u
cd "$(dirname "$0")/../.."

# One line per harness: NAME: the sources linked with tests/fuzz/fuzz_NAME.c.
# tests/fuzz/NAME.dict, when present, is passed as the dictionary.
HARNESSES=(
	"config: user/config.c user/lexer.c user/addr.c user/blacklist.c -lz"
	"smtp: user/smtp.c user/addr.c"
)

CLANG=${CLANG:-clang}
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
-std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -Iuser"
OUT=.output/fuzz

mode=${1:-short}
case "$mode" in
short) seconds=20 ;;
long) seconds=600 ;;
*)
	echo "usage: $0 [short|long] [NAME...]" >&2
	exit 2
	;;
esac
shift $(($# > 0 ? 1 : 0))
only=("$@")

mkdir -p "$OUT"
n=0
failed=0
for entry in "${HARNESSES[@]}"; do
	name=${entry%%:*}
	srcs=${entry#*:}
	if [ ${#only[@]} -gt 0 ] && [[ " ${only[*]} " != *" $name "* ]]; then
		continue
	fi
	n=$((n + 1))
	bin=$OUT/fuzz_$name
	work=$OUT/$name
	log=$OUT/$name.log
	mkdir -p "$work/corpus"
	rm -f "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*

	# shellcheck disable=SC2086 # the source list is meant to split
	if ! $CLANG $CFLAGS "tests/fuzz/fuzz_$name.c" $srcs -o "$bin" >"$log" 2>&1; then
		echo "not ok $n - fuzz_$name: build failed"
		sed 's/^/#   /' "$log" | head -20
		failed=$((failed + 1))
		continue
	fi

	args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096
		-print_final_stats=1 -artifact_prefix="$work/")
	[ -f "tests/fuzz/$name.dict" ] && args+=(-dict="tests/fuzz/$name.dict")
	"$bin" "${args[@]}" "$work/corpus" "tests/fuzz/corpus/$name" >>"$log" 2>&1
	rc=$?
	artifact=$(ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null | head -1)
	if [ "$rc" -eq 0 ] && [ -z "$artifact" ]; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
		echo "ok $n - fuzz_$name: no crash in $seconds s"
		echo "# fuzz_$name: ${runs:-?} inputs run"
	else
		echo "not ok $n - fuzz_$name: exit $rc${artifact:+, input $artifact} (log $log)"
		grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -5 | sed 's/^/#   /'
		failed=$((failed + 1))
	fi
done
echo "1..$n"
[ "$failed" -eq 0 ]
