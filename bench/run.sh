#!/usr/bin/env bash
# bench/run.sh - lightchat's benchmark: starts a stack on free loopback ports
# against the fake upstream (as the end-to-end tests do), runs bench/bench.py
# (memory, per-connection cost, relay overhead, throughput, logins, growth),
# prints the table and writes it to bench/RESULTS.md.
#   bench/run.sh           the full run (a few minutes), writes bench/RESULTS.md
#   bench/run.sh --smoke   a tiny run (well under a minute) printing TAP lines
#                          (bench/test_clients.py's first); its table goes to
#                          $BENCH_OUT (default: a temp file)
#   BENCH_PHASES=msg_cost bench/run.sh   only the phases named (comma-separated,
#                          see bench.py --phases); the table goes to $BENCH_OUT
#                          (default: a temp file), bench/RESULTS.md is kept
#   BENCH_PHASES=relay_cost bench/run.sh  issue 18's CPU per token and memory
#                          per stream, a stack per BENCH_COALESCE setting
#                          ("0 15"); BENCH_LABEL names the build, and
#                          BENCH_RELAY_DIR=DIR keeps its JSON dumps
#                          (BENCH_RELAY_MEM_ONLY=1: the memory per stream alone;
#                          BENCH_RELAY_LATENCY_ONLY=1: the 100-stream rows alone;
#                          BENCH_RELAY_ONE=1: one stream of 4000 tokens, 5 ms apart)
# The stack and the programs are this checkout's (tests/e2e/lib.sh: ROOT, and
# BUILD for the build directory): to measure another commit, check it out in
# a worktree, build it there and run its copy of bench/.
set -u
SMOKE=
[ "${1:-}" = "--smoke" ] && SMOKE=--smoke

# 1000 WebSocket connections: websocketd holds ~3 descriptors per connection,
# lighttpd 2, the load generator 1; the stack inherits this limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ -z "$SMOKE" ] && [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 8192 ]; then
	echo "bench: ulimit -n is $(ulimit -n) (hard limit); 1000 connections need ~8192" >&2
fi

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../tests/e2e/lib.sh
source "$HERE/../tests/e2e/lib.sh"

[ -x "$ADMIN" ] || { echo "not ok - bench: not built (run make)"; exit 1; }
# bench.py's modules import tools/wsframe.py (the WebSocket codec); only
# they get this path, not the stack
PYPATH="$ROOT/tools${PYTHONPATH:+:$PYTHONPATH}"
# the smoke run first checks the benchmark's WebSocket client against a
# scripted server (no stack needed)
if [ -n "$SMOKE" ]; then
	PYTHONPATH="$PYPATH" "$PY" "$HERE/test_clients.py" || FAILED=$((FAILED + 1))
fi

# lib.sh's stack, with the fake upstream unpaced (the benchmark paces replies
# with #slow, or not at all for throughput), and one user allowed 1000
# replies in flight and any number of connections and messages (the load uses
# a single login from one address).
# The login limits are lifted: the login timing phase fails on purpose. So
# is the message budget: the per-message phase sends thousands of pings.
# bench_stack [VAR=value ...]: that stack, logged in as alice (TOKEN).
bench_stack() {
	UPSTREAM_DELAY_MS=0 stack_start LIGHTCHAT_MAX_INFLIGHT_PER_USER=1000 \
		LIGHTCHAT_UPSTREAM_IDLE_TIMEOUT=120 LIGHTCHAT_LOGIN_MAX_FAILURES_USER=100000 \
		LIGHTCHAT_LOGIN_MAX_FAILURES_ADDR=100000 LIGHTCHAT_MAX_MESSAGES_PER_MINUTE=100000 \
		LIGHTCHAT_MAX_CONNECTIONS_PER_USER=100000 \
		LIGHTCHAT_MAX_CONNECTIONS_PER_ADDRESS=100000 \
		LIGHTCHAT_MAX_MESSAGES_PER_USER_MINUTE=1000000 "$@" ||
		{ [ -n "${T:-}" ] && stack_stop >/dev/null; return 1; }
	local status
	status=$(login alice "$PW_alice" "$T/jar")
	TOKEN=$(token_of "$T/jar")
	if [ "$status" != 200 ] || [ -z "$TOKEN" ]; then
		not_ok "bench: login" "status $status"
		stack_stop >/dev/null
		return 1
	fi
}
# bench_py ARGS...: bench.py on the stack started last, bounded in time.
bench_py() {
	PYTHONPATH="$PYPATH" timeout --kill-after=10 "$limit" "$PY" "$HERE/bench.py" $SMOKE \
		--base "$BASE" --up "$UP" --api-key "$API_KEY" --state "$T/state" --up-pid "$UP_PID" \
		--token "$TOKEN" --user alice --password "$PW_alice" "$@"
}
# the whole run is bounded: every phase has its own deadline, and this
# stops a stuck run (per bench.py run)
limit=900
[ -n "$SMOKE" ] && limit=120
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")

# relay_cost (issue 18): the worker reads stream_coalesce_ms at start, so
# each setting (BENCH_COALESCE, default "0 15": off, and on at 15 ms) gets a
# stack of its own, started, measured (its figures dumped as JSON) and
# stopped in turn; the last run loads them into the report. BENCH_LABEL
# names the build in the tables; BENCH_RELAY_DIR keeps the dumps (to
# report a before and an after together: bench.py --report-only --load).
PHASES=${BENCH_PHASES:-}
RELAY=
case ",$PHASES," in
,,|*,relay_cost,*) RELAY=1 ;;
esac
LOADS=
RELAY_DIR=${BENCH_RELAY_DIR:-$(mktemp -d /tmp/lightchat-relay.XXXXXX)}
mkdir -p "$RELAY_DIR"
if [ -n "$RELAY" ]; then
	for ms in ${BENCH_COALESCE:-0 15}; do
		dump="$RELAY_DIR/relay-$COMMIT-$ms.json"
		bench_stack LIGHTCHAT_STREAM_COALESCE_MS="$ms" || exit 1
		bench_py --coalesce-ms "$ms" --dump "$dump" --label "${BENCH_LABEL:-$COMMIT}" \
			--commit "$COMMIT"
		rc=$?
		stack_stop >/dev/null
		if [ $rc -ne 0 ] || [ ! -s "$dump" ]; then
			not_ok "bench: relay_cost at stream_coalesce_ms $ms" "exit status $rc"
			continue
		fi
		LOADS=${LOADS:+$LOADS,}$dump
	done
	# the other phases, if any, on a stack of their own (the default setting)
	PHASES=$(echo ",$PHASES," | sed 's/,relay_cost,/,/g; s/^,//; s/,$//')
	[ -n "${BENCH_PHASES:-}" ] && [ -z "$PHASES" ] && PHASES=none
fi
if [ "$PHASES" = none ]; then
	OUT=${BENCH_OUT:-$(mktemp /tmp/lightchat-bench.XXXXXX)}
	PYTHONPATH="$PYPATH" "$PY" "$HERE/bench.py" $SMOKE --report-only --load "$LOADS" \
		--out "$OUT"
	rc=$?
	echo "bench: table written to $OUT" >&2
	[ -z "${BENCH_RELAY_DIR:-}" ] && rm -rf "$RELAY_DIR"
	[ $rc -eq 0 ] && [ "$FAILED" -eq 0 ]
	exit
fi
bench_stack || exit 1

if [ -n "$SMOKE" ] || [ -n "${BENCH_PHASES:-}" ]; then
	OUT=${BENCH_OUT:-$T/RESULTS.md}
else
	OUT=${BENCH_OUT:-$HERE/RESULTS.md}
fi
bench_py --out "$OUT.tmp" ${PHASES:+--phases "$PHASES"} ${LOADS:+--load "$LOADS"}
rc=$?
[ -z "${BENCH_RELAY_DIR:-}" ] && rm -rf "$RELAY_DIR"
[ $rc -eq 0 ] && [ -s "$OUT.tmp" ] && mv "$OUT.tmp" "$OUT"
rm -f "$OUT.tmp"
if [ $rc -ne 0 ]; then
	not_ok "bench: bench.py ran" "exit status $rc" "$(tail -5 "$T/stack.log")"
elif [ -z "$SMOKE" ]; then
	echo "bench: table written to $OUT" >&2
fi
if [ -n "$SMOKE" ]; then
	stack_stop
else
	stack_stop >/dev/null
fi
[ $rc -eq 0 ] && [ "$FAILED" -eq 0 ]
