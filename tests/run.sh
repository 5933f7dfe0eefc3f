#!/usr/bin/env bash
# run.sh - lightchat's whole test suite: C and Python unit tests, end-to-end
# tests through the real stack, and browser tests. Prints TAP-style lines, a
# summary per file, and finally one line "N passed, N failed".
# "all" also runs the unit and end-to-end tests again against the sanitizer
# build (build-asan/: ASan + UBSan + LeakSanitizer), where any report fails,
# and the end-to-end tests again with PostgreSQL as the store (e2e-pg: one
# server for the run, tests/e2e/pg.sh, and a database of its own for each
# stack; the same as LIGHTCHAT_TEST_DB=pg tests/run.sh e2e).
#   tests/run.sh [unit|e2e|e2e-pg|pkg|fuzz|bench|asan|all] [FILTER]
# (the browser tests run inside e2e: tests/e2e/test-browser.sh; pkg is the
# Debian package installed into a Debian 12 root: tests/pkg/test-deb.sh)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
WHAT=${1:-all}
FILTER=${2:-}
BUILD=${BUILD:-build}
ART="$ROOT/tests/artifacts"
mkdir -p "$ART"

passed=0
failed=0
skipped=0

# run_one NAME COMMAND...: runs a test program, echoes its output to a log,
# counts its "ok"/"not ok" lines; a crash or non-zero exit without a "not ok"
# line counts as one failure.
run_one() {
	local name=$1; shift
	local log="$ART/$name.log"
	[ -n "$FILTER" ] && [[ "$name" != *"$FILTER"* ]] && return
	printf '# %s\n' "$name"
	"$@" >"$log" 2>"$log.stderr"
	local rc=$?
	local p f s
	p=$(grep -c '^ok - ' "$log")
	f=$(grep -c '^not ok - ' "$log")
	s=$(grep -c '^skip - ' "$log")
	grep -E '^(not ok|#   |skip)' "$log"
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		printf 'not ok - %s exited with status %d\n' "$name" "$rc"
		tail -5 "$log.stderr" | sed 's/^/#   /'
		f=1
	fi
	printf '#   %s: %d passed, %d failed\n' "$name" "$p" "$f"
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
}

if [ "$WHAT" = all ] || [ "$WHAT" = unit ]; then
	for t in "$BUILD"/tests/test-*; do
		[ -x "$t" ] && run_one "unit-$(basename "$t")" "$t"
	done
	# The Python tools (tools/), with tests/unit/tap.py as their harness.
	for t in tests/unit/test_*.py; do
		run_one "unit-$(basename "$t" .py)" \
			env PYTHONPATH="$ROOT/tools:$ROOT/tests/unit" python3 "$t"
	done
fi
# LIGHTCHAT_TEST_DB=pg tests/run.sh e2e is e2e-pg.
if [ "$WHAT" = e2e ] && [ "${LIGHTCHAT_TEST_DB:-}" = pg ]; then
	WHAT=e2e-pg
fi
unset LIGHTCHAT_TEST_DB
if [ "$WHAT" = all ] || [ "$WHAT" = e2e ]; then
	for t in tests/e2e/test-*.sh; do
		run_one "e2e-$(basename "$t" .sh)" bash "$t"
	done
fi
# PostgreSQL mode: one server for all the files, started and stopped here
# (tests/e2e/pg.sh); each stack_start gets a new database on it. Left out:
# the multi-host suites (test-multihost, test-cluster: on PostgreSQL
# already, a server of their own, in e2e), the browser test
# (the page in chromium, whose store calls are the REST API's, tested
# here by the others), valgrind (memcheck of the SQLite build's paths, 3
# min) and the 30-second reply (test-slow: its writes are test-history's).
# The tests about SQLite's own file say so themselves (skip lines).
if [ "$WHAT" = all ] || [ "$WHAT" = e2e-pg ]; then
	. tests/e2e/pg.sh
	if pg_start; then
		trap 'pg_stop' EXIT
		# The store's own checks on PostgreSQL (test-engines runs on
		# SQLite in unit), and the move of a SQLite store into it
		# (test-migrate: its refusals only in unit): a database of its
		# own each.
		for b in build/tests/test-engines build-asan/tests/test-engines \
			build/tests/test-migrate build-asan/tests/test-migrate; do
			[ -x "$b" ] || continue
			tree=$(basename "$(dirname "$(dirname "$b")")")
			db=$(pg_newdb "unit_$(printf '%s_%s' "$tree" "$(basename "$b")" | tr -c 'a-z0-9\n' _)")
			LC_TEST_DATABASE=$db run_one "pg-unit-$tree-$(basename "$b")" "$b"
		done
		for t in tests/e2e/test-*.sh; do
			case "$t" in *multihost* | *cluster* | *browser* | *valgrind* | *slow.sh) continue ;; esac
			LIGHTCHAT_TEST_DB=pg run_one "pg-e2e-$(basename "$t" .sh)" bash "$t"
		done
		pg_stop
		trap - EXIT
	else
		printf 'not ok - a PostgreSQL server for the e2e-pg run\n'
		failed=$((failed + 1))
	fi
fi
if [ "$WHAT" = all ] || [ "$WHAT" = pkg ]; then
	for t in tests/pkg/test-*.sh; do
		run_one "pkg-$(basename "$t" .sh)" bash "$t"
	done
fi

if [ "$WHAT" = all ] || [ "$WHAT" = fuzz ]; then
	# The libFuzzer harnesses over their seed corpora (make fuzz fuzzes).
	run_one "fuzz-smoke" make -s fuzz-smoke
fi
if [ "$WHAT" = all ] || [ "$WHAT" = bench ]; then
	# A short benchmark run: it still works (figures come from make bench).
	run_one "bench-smoke" make -s bench-smoke
fi
if [ "$WHAT" = all ] || [ "$WHAT" = asan ]; then
	if [ -x build-asan/lightchat-worker ]; then
		export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
		for t in build-asan/tests/test-*; do
			[ -x "$t" ] && run_one "asan-unit-$(basename "$t")" "$t"
		done
		# The browser test and the 30-second reply add nothing here.
		for t in tests/e2e/test-*.sh; do
			case "$t" in *browser*|*slow*|*valgrind*|*multihost*) continue ;; esac
			BUILD=build-asan run_one "asan-e2e-$(basename "$t" .sh)" bash "$t"
		done
		unset ASAN_OPTIONS
	else
		printf 'skip - sanitizer build missing (make asan)\n'
		skipped=$((skipped + 1))
	fi
fi

if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
