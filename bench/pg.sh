#!/usr/bin/env bash
# bench/pg.sh - make bench-pg: the store on PostgreSQL against SQLite on this
# machine (issue 17; docs/SCALING.md quotes the figures). It starts a private
# PostgreSQL server (tests/e2e/pg.sh, with durable settings here: fsync and
# synchronous_commit on), then measures, with bench/pgbench.py:
#   1. the store's calls (bench/store_lat.c) on a SQLite file, on
#      PostgreSQL, and on PostgreSQL with synchronous_commit off;
#   2. a stack on PostgreSQL (tests/e2e/lib.sh's stack_start on a database
#      of its own): a burst of prompts (prompts/s), the idle stack's own load
#      for 20 s (leases, sweeps), then 1000 streaming replies (100 connections
#      × 10 prompts of ~200 tokens over ~4 s) with the database's counters
#      (pg_stat_database, pg_stat_wal, pg_stat_bgwriter, the WAL position)
#      before and after;
#   3. the same stack on SQLite: the same burst and the same 1000 replies,
#      their transactions and WAL frames counted in the -wal file;
#   4. when the workers link across hosts (worker/cluster.c): two hosts of
#      tests/e2e/multihost.sh, a reply written on one and watched from the
#      other (deltas/s carried by NOTIFY, their delay, PostgreSQL's CPU).
# Prints the section and writes it into bench/RESULTS.md ($BENCH_OUT: another
# file), replacing the section of an earlier run. Every process it starts is
# stopped by PID, also when it fails or is interrupted. Figures are printed,
# never asserted. About 3-4 minutes.
#   BENCH_PG_QUICK=1 bench/pg.sh   a short run (fewer replies), for checking
#                                  the script; its section goes to a temp file
set -u

# 100 connections through websocketd: descriptors
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../tests/e2e/multihost.sh
source "$HERE/../tests/e2e/multihost.sh"   # lib.sh and pg.sh too

[ -x "$ADMIN" ] && [ -x "$BIN/bench-store-lat" ] ||
	{ echo "bench-pg: not built (make bench-pg builds it)" >&2; exit 1; }
export PYTHONPATH="$ROOT/tools${PYTHONPATH:+:$PYTHONPATH}"
PGB=("$PY" "$HERE/pgbench.py")

CONNS=100 ROUNDS=10 BURST=200 BURSTS=5 IDLE_S=20 RUNS=1000
STREAM_PROMPT='#words:200 #slow:4'
OUT=${BENCH_OUT:-$HERE/RESULTS.md}
if [ -n "${BENCH_PG_QUICK:-}" ]; then
	CONNS=20 ROUNDS=2 BURST=50 BURSTS=1 IDLE_S=5 RUNS=200
	STREAM_PROMPT='#words:200 #slow:2'
	OUT=${BENCH_OUT:-$(mktemp /tmp/lightchat-bench-pg.XXXXXX.md)}
fi

# The bench's server: as pg.sh's, but durable (fsync, synchronous commits,
# full-page writes: a production server's defaults), so that commits cost
# what they cost, with pg_stat_statements (Debian's postgresql-15 has it)
# counting the statements.
export PG_SERVER_OPTS="-c fsync=on -c synchronous_commit=on -c full_page_writes=on -c shared_buffers=128MB -c shared_preload_libraries=pg_stat_statements"

RES=$(mktemp /tmp/lightchat-bench-pg.XXXXXX)
LATDIR=""
STACK_UP="" MH_UP=""
cleanup() {
	[ -n "$STACK_UP" ] && stack_stop >/dev/null 2>&1
	[ -n "$MH_UP" ] && mh_stop >/dev/null 2>&1
	STACK_UP="" MH_UP=""
	pg_stop
	[ -n "$LATDIR" ] && rm -rf "$LATDIR"
	rm -f "$RES"
}
trap cleanup EXIT
trap 'echo "bench-pg: interrupted" >&2; exit 130' INT TERM

# emit KEY COMMAND...: the command's JSON line into the results, as "KEY {...}"
emit() {
	local k=$1 line
	shift
	line=$("$@") || { echo "bench-pg: $k failed" >&2; return 1; }
	printf '%s %s\n' "$k" "$line" >>"$RES"
}
note() { echo "bench-pg: $*" >&2; }
# phase NAME: the load average as that phase starts, into the results
phase() { printf 'load_%s {"load": "%s"}\n' "$1" "$(cut -d' ' -f1 /proc/loadavg)" >>"$RES"; }
snap() { emit "$1" "${PGB[@]}" pgsnap "$STACK_DB" "$PG_PID"; }
checkpoint() { pq "$STACK_DB" "CHECKPOINT" >/dev/null; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
note "load average $LOAD_BEFORE on $(nproc) cores (the figures share the machine with whatever else runs)"
pg_start || { note "PostgreSQL does not start"; exit 1; }

# ------------------------------------------------------------ 1. the store --
phase store
note "1/4 the store's calls ($RUNS each) on SQLite, PostgreSQL, PostgreSQL without synchronous commits"
LATDIR=$(mktemp -d /tmp/lightchat-bench-lat.XXXXXX)
emit store_lat_sqlite "${PGB[@]}" lat "$BIN/bench-store-lat" "$LATDIR/db" --runs "$RUNS" || exit 1
emit store_lat_postgresql "${PGB[@]}" lat "$BIN/bench-store-lat" "$(pg_newdb bench_lat)" --runs "$RUNS" || exit 1
emit store_lat_postgresql_async env PGOPTIONS='-c synchronous_commit=off' "${PGB[@]}" lat \
	"$BIN/bench-store-lat" "$(pg_newdb bench_lat_async)" --runs "$RUNS" || exit 1
pg_dropdb bench_lat
pg_dropdb bench_lat_async

# ---------------------------------------------------------------- stacks --
# bench/run.sh's limits lifted: one user streams 100 replies at once
LIMITS=(LIGHTCHAT_MAX_INFLIGHT_PER_USER=1000 LIGHTCHAT_UPSTREAM_IDLE_TIMEOUT=120
	LIGHTCHAT_MAX_MESSAGES_PER_MINUTE=100000 LIGHTCHAT_MAX_CONNECTIONS_PER_USER=100000
	LIGHTCHAT_MAX_CONNECTIONS_PER_ADDRESS=100000 LIGHTCHAT_MAX_MESSAGES_PER_USER_MINUTE=1000000)

# stack ENGINE: a stack on a new PostgreSQL database (pg) or its SQLite file,
# alice logged in (TOKEN).
stack() {
	TEST_DB=$1
	UPSTREAM_DELAY_MS=0 stack_start "${LIMITS[@]}" || return 1
	STACK_UP=1
	local status
	status=$(login alice "$PW_alice" "$T/jar")
	TOKEN=$(token_of "$T/jar")
	[ "$status" = 200 ] && [ -n "$TOKEN" ] || { note "login: status $status"; return 1; }
}

# stack_down: stops the stack by PID; first (PostgreSQL) its processes only,
# so that their connections report their last statistics before the reading.
stack_down() {
	stack_stop >/dev/null 2>&1
	STACK_UP=""
}
stack_procs_gone() {
	kill -TERM "$STACK_PID" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$STACK_PID" 2>/dev/null || break; sleep 0.1; done
	for _ in $(seq 50); do [ -z "$(stack_procs | grep -v "^$UP_PID\$")" ] && break; sleep 0.1; done
	sleep 1
}

phase postgresql
note "2/4 a stack on PostgreSQL: a burst of $BURST prompts ×$BURSTS, ${IDLE_S} s idle, $((CONNS * ROUNDS)) streaming replies"
stack pg || exit 1
emit burst_pg "${PGB[@]}" burst "$WS" "$TOKEN" --n "$BURST" --bursts "$BURSTS" --prompt '#words:20' || exit 1
# the burst's statistics reach the counters within 10 s of its connections
# going idle (PostgreSQL 15's idle flush)
sleep 11
checkpoint
snap idle_a
sleep "$IDLE_S"
snap idle_b
emit rows_pg_before "${PGB[@]}" rows pg "$STACK_DB"
checkpoint
# every statement the load runs, by its text (pg_stat_statements)
pq "$STACK_DB" "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
pq "$STACK_DB" "SELECT pg_stat_statements_reset()" >/dev/null
snap pg_before
emit stream_pg "${PGB[@]}" stream "$WS" "$TOKEN" --conns "$CONNS" --rounds "$ROUNDS" \
	--prompt "$STREAM_PROMPT" || exit 1
stack_procs_gone
checkpoint
snap pg_after
emit stmts_pg "${PGB[@]}" stmts "$STACK_DB"
emit rows_pg_after "${PGB[@]}" rows pg "$STACK_DB"
stack_down

phase sqlite
note "3/4 the same on SQLite"
stack sqlite || exit 1
emit burst_sqlite "${PGB[@]}" burst "$WS" "$TOKEN" --n "$BURST" --bursts "$BURSTS" --prompt '#words:20' || exit 1
emit rows_sqlite_before "${PGB[@]}" rows sqlite "$STACK_DB"
emit stream_sqlite "${PGB[@]}" stream "$WS" "$TOKEN" --conns "$CONNS" --rounds "$ROUNDS" \
	--prompt "$STREAM_PROMPT" --sqlite "$STACK_DB" || exit 1
emit rows_sqlite_after "${PGB[@]}" rows sqlite "$STACK_DB"
stack_down

# ------------------------------------------------------- 4. across hosts --
if [ -f "$ROOT/worker/cluster.c" ]; then
	phase hosts
	note "4/4 two hosts on one PostgreSQL: a reply watched from the other host"
	TEST_DB=pg
	UPSTREAM_DELAY_MS=0 mh_start 2 "${LIMITS[@]}" >&2 || { note "the hosts do not start"; exit 1; }
	MH_UP=1
	BASE=${HOST_BASE[1]}
	status=$(login alice "$PW_alice" "$MH/jar")
	TOKEN=$(token_of "$MH/jar")
	[ "$status" = 200 ] && [ -n "$TOKEN" ] || { note "login: status $status"; exit 1; }
	STACK_DB=$MH_DB
	pq "$STACK_DB" "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
	pq "$STACK_DB" "SELECT pg_stat_statements_reset()" >/dev/null
	snap watch_a
	emit watch "${PGB[@]}" watch "${HOST_WS[1]}" "${HOST_WS[2]}" "$TOKEN" --prompt '#words:20000' || exit 1
	snap watch_b
	emit watch_notifies "${PGB[@]}" notifies "$STACK_DB"
	printf 'cluster {"on_main": true}\n' >>"$RES"
	mh_stop >/dev/null 2>&1
	MH_UP=""
else
	note "4/4 skipped: no worker/cluster.c in this checkout (the workers do not link across hosts yet)"
	printf 'cluster {"on_main": false}\n' >>"$RES"
fi

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
"${PGB[@]}" report "$RES" --out "$OUT" --date "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" \
	--machine "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2 / 1048576}' /proc/meminfo), Linux $(uname -r), $(df -T "$PG_DIR" | awk 'NR == 2 {print $2}') on $(df "$PG_DIR" | awk 'NR == 2 {print $1}')" \
	--load-before "$LOAD_BEFORE" --load-after "$LOAD_AFTER" || exit 1
note "section written to $OUT"
