#!/usr/bin/env bash
# bench/run.sh - lightchat's benchmark: starts a stack on free loopback ports
# against the fake upstream (as the end-to-end tests do), runs bench/bench.py
# (memory, per-connection cost, relay overhead, throughput, logins, growth),
# prints the table and writes it to bench/RESULTS.md.
#   bench/run.sh           the full run (a few minutes), writes bench/RESULTS.md
#   bench/run.sh --smoke   a tiny run (well under a minute) printing TAP lines
#                          (bench/test_clients.py's first); its table goes to
#                          $BENCH_OUT (default: a temp file)
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
# replies in flight (the load uses a single login).
# The login limits are lifted: the login timing phase fails on purpose.
UPSTREAM_DELAY_MS=0 stack_start LIGHTCHAT_MAX_INFLIGHT_PER_USER=1000 \
	LIGHTCHAT_UPSTREAM_IDLE_TIMEOUT=120 LIGHTCHAT_LOGIN_MAX_FAILURES_USER=100000 \
	LIGHTCHAT_LOGIN_MAX_FAILURES_ADDR=100000 ||
	{ [ -n "${T:-}" ] && stack_stop >/dev/null; exit 1; }
status=$(login alice "$PW_alice" "$T/jar")
TOKEN=$(token_of "$T/jar")
if [ "$status" != 200 ] || [ -z "$TOKEN" ]; then
	not_ok "bench: login" "status $status"
	stack_stop >/dev/null
	exit 1
fi

if [ -n "$SMOKE" ] || [ -n "${BENCH_ONLY:-}" ]; then
	OUT=${BENCH_OUT:-$T/RESULTS.md}
else
	OUT=${BENCH_OUT:-$HERE/RESULTS.md}
fi
# the whole run is bounded: every phase has its own deadline, and this one
# stops a stuck run
limit=900
[ -n "$SMOKE" ] && limit=120
# BENCH_ONLY=slow_readers (or throughput) runs that phase alone (its rows only)
PYTHONPATH="$PYPATH" timeout --kill-after=10 "$limit" "$PY" "$HERE/bench.py" $SMOKE \
	${BENCH_ONLY:+--only "$BENCH_ONLY"} \
	--out "$OUT.tmp" \
	--base "$BASE" --up "$UP" --api-key "$API_KEY" --state "$T/state" --up-pid "$UP_PID" \
	--token "$TOKEN" --user alice --password "$PW_alice"
rc=$?
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
