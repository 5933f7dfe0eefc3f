#!/usr/bin/env bash
# run.sh - runs the libFuzzer harnesses built by fuzz/fuzz.mk.
#   fuzz/run.sh fuzz  BUILD_DIR SECONDS NAME...   fuzz each for SECONDS
#   fuzz/run.sh smoke BUILD_DIR NAME...           each seed input once
# "fuzz" works on a copy of fuzz/corpus/NAME in BUILD_DIR/run/NAME (new
# inputs stay there, out of the repository); a crash, leak, timeout or
# failed invariant is saved in BUILD_DIR/artifacts/NAME/ and fails the run.
# Prints one line per harness, then "N passed, N failed".
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=$1 BUILD=$2
shift 2
SECONDS_EACH=0
if [ "$MODE" = fuzz ]; then SECONDS_EACH=$1; shift; fi
passed=0 failed=0
# The harnesses' temporary files (a crash skips their own clean-up).
base=/tmp
[ -w /dev/shm ] && base=/dev/shm
LIGHTCHAT_FUZZ_TMP=$(mktemp -d "$base/lightchat-fuzz-run.XXXXXX") || exit 1
export LIGHTCHAT_FUZZ_TMP
trap 'rm -rf "$LIGHTCHAT_FUZZ_TMP"' EXIT

for name in "$@"; do
	bin="$BUILD/fuzz_$name"
	seeds="$ROOT/fuzz/corpus/$name"
	log="$BUILD/run/$name.log"
	art="$BUILD/artifacts/$name/"
	rm -rf "$art"
	mkdir -p "$BUILD/run" "$art"
	opts=(-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$art")
	[ -f "$ROOT/fuzz/$name.dict" ] && opts+=(-dict="$ROOT/fuzz/$name.dict")
	if [ "$MODE" = smoke ]; then
		shopt -s nullglob
		files=("$seeds"/*)
		shopt -u nullglob
		"$bin" "${opts[@]}" "${files[@]}" </dev/null >"$log" 2>&1
		rc=$?
		detail="${#files[@]} seed inputs"
	else
		work="$BUILD/run/$name/corpus"
		rm -rf "$work"
		mkdir -p "$work"
		cp "$seeds"/* "$work"/ 2>/dev/null
		"$bin" "${opts[@]}" -max_total_time="$SECONDS_EACH" \
			-print_final_stats=1 -use_value_profile=1 "$work" \
			</dev/null >"$log" 2>&1
		rc=$?
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
		added=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
		cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
		detail="${runs:-?} runs in ${SECONDS_EACH} s, ${added:-?} new inputs, $cov"
	fi
	if [ $rc -eq 0 ]; then
		printf 'ok - fuzz_%s: %s\n' "$name" "$detail"
		passed=$((passed + 1))
	else
		printf 'not ok - fuzz_%s: exit status %d (%s)\n' "$name" "$rc" "$detail"
		grep -m1 -E 'ERROR: |runtime error|invariant failed' "$log" | sed 's/^/#   /'
		for f in "$art"*; do
			[ -f "$f" ] && printf '#   input: %s (%s bytes)\n#   hex: %s\n' "$f" "$(wc -c <"$f")" \
				"$(od -An -tx1 -v "$f" | tr -d ' \n' | cut -c1-400)"
		done
		printf '#   log: %s\n' "$log"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
