#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# Builds and runs the libFuzzer harnesses, one TAP line each.
#
#   tests/fuzz/run.sh [short|long] [NAME...]
#
# short: 8 s per harness, so that the smoke run of tests/run.sh fuzz (make
# check) stays under a minute. long (make fuzz): FUZZ_RUNS inputs per harness
# (default 10,000,000), however long that takes, unless FUZZ_MAX_TIME (in
# seconds) stops it first; fewer inputs than FUZZ_RUNS fails. Either way the
# executions, exec/s and seconds of each harness are printed. Seeds come from
# tests/fuzz/corpus/NAME/ (committed); what the fuzzer finds goes to
# .output/fuzz/NAME/corpus, crashes to .output/fuzz/NAME/crash-*, so the
# source tree stays clean. Reproduce a crash with:
# .output/fuzz/fuzz_NAME .output/fuzz/NAME/crash-...
set -u
cd "$(dirname "$0")/../.."

# One line per harness: NAME MAX_LEN: what is linked with tests/fuzz/fuzz_NAME.c.
# MAX_LEN is libFuzzer's -max_len: room for the longest input that reaches
# every limit (smtp: past SMTP_LINE_MAX, 8192; privsep: past PRIVSEP_LINE_MAX,
# 73984; blacklist: past its 1024-byte carried line, in gzip too; watch: past
# WATCH_LINE_MAX, 4096; listformat: past LISTFORMAT_LINE_MAX, 8192, and
# across its reads of 8200 bytes; sync: past SYNC_MAX_DATAGRAM, 1408;
# crowdsec: a stream answer of a few dozen decisions; policy: past
# POLICY_REQUEST_MAX, 16384, with requests before it; http: past
# HTTP_REQUEST_MAX, 4096; reportjson: strings are cut at 4096;
# location: a database of a few networks and ASes, about 20 KB as libloc's
# writer makes it, and room to grow).
# tests/fuzz/NAME.dict, when present, is passed as the dictionary.
HARNESSES=(
	"config 4096: user/config/*.c user/lib/addr.c user/lib/array.c user/lib/fetch.c user/spamd/blacklist.c user/watch/pattern.c -lz -lpcre2-8"
	"smtp 16384: user/spamd/smtp.c user/lib/addr.c"
	"privsep 81920: user/spamd/privsep.c user/lib/addr.c user/lib/array.c user/lib/sandbox.c"
	"blacklist 8192: user/lib/addr.c user/lib/array.c user/lib/fetch.c -lz"
	"watch 8192: user/watch/pattern.c user/lib/addr.c -lpcre2-8"
	"listformat 24576: user/lib/addr.c user/lib/addrrange.c user/lib/escape.c"
	"sync 1500: user/sync/wire.c user/sync/key.c user/lib/addr.c -lcrypto"
	"crowdsec 16384: user/crowdsec/lapi.c user/crowdsec/proto.c user/lib/addr.c user/lib/array.c -ljson-c"
	"policy 36864: user/policy/request.c"
	"http 4200: user/metrics/http.c"
	"reportjson 4096: user/report/json.c -ljson-c"
	"location 32768: user/lib/location.c user/lib/addr.c -lloc"
)

CLANG=${CLANG:-clang}
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
-std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -Iuser"
OUT=.output/fuzz

mode=${1:-short}
case "$mode" in
short) limit=(-max_total_time=8) ;;
long) limit=(-runs="${FUZZ_RUNS:-10000000}" -max_total_time="${FUZZ_MAX_TIME:-0}") ;;
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
	head=${entry%%:*}
	name=${head% *}
	max_len=${head#* }
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

	args=("${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len"
		-print_final_stats=1 -artifact_prefix="$work/")
	[ -f "tests/fuzz/$name.dict" ] && args+=(-dict="tests/fuzz/$name.dict")
	start=$(date +%s)
	"$bin" "${args[@]}" "$work/corpus" "tests/fuzz/corpus/$name" >>"$log" 2>&1
	rc=$?
	took=$(($(date +%s) - start))
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	artifact=$(ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null | head -1)
	if [ "$rc" -eq 0 ] && [ -z "$artifact" ] &&
		{ [ "$mode" = short ] || [ "${runs:-0}" -ge "${FUZZ_RUNS:-10000000}" ]; }; then
		echo "ok $n - fuzz_$name: no crash in ${runs:-?} inputs"
		echo "# fuzz_$name: ${runs:-?} execs, ${rate:-?} exec/s, $took s, -max_len=$max_len"
	elif [ "$rc" -eq 0 ] && [ -z "$artifact" ]; then
		echo "not ok $n - fuzz_$name: no crash, but only ${runs:-0} of ${FUZZ_RUNS:-10000000} inputs in $took s"
		echo "# fuzz_$name: ${runs:-?} execs, ${rate:-?} exec/s, $took s, -max_len=$max_len"
		failed=$((failed + 1))
	else
		echo "not ok $n - fuzz_$name: exit $rc after ${runs:-?} inputs${artifact:+, input $artifact} (log $log)"
		grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -5 | sed 's/^/#   /'
		failed=$((failed + 1))
	fi
done
echo "1..$n"
[ "$failed" -eq 0 ]
