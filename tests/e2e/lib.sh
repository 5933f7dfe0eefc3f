# lib.sh - shared by the end-to-end tests: start a whole lightchat stack
# (lighttpd, FastCGI, websocketd, lightchat-ws, worker) against the fake
# upstream on free loopback ports, assertions that print TAP lines, and
# helpers for HTTP and WebSocket calls. Source it from a test-*.sh file.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PY=${PYTHON:-python3}
[ -x /usr/bin/python3 ] && PY=${PYTHON:-/usr/bin/python3}
BIN="$ROOT/${BUILD:-build}"     # BUILD=build-asan: the sanitizer build
ADMIN="$BIN/lightchat-admin"
WSCLIENT="$ROOT/tools/lightchat-client"
API_KEY="test-upstream-key-0123456789"
FAILED=0

# The store the stacks use: LIGHTCHAT_TEST_DB=pg runs them on PostgreSQL
# (tests/e2e/pg.sh), each stack_start on a database of its own on one
# server: the server tests/run.sh started for the run (PG_SOCK and PG_PORT
# in the environment), or else one started here for this test file and
# stopped by finish or at exit. Otherwise (sqlite, the default) the
# stack's own file <state>/lightchat.db, as always.
. "$ROOT/tests/e2e/pg.sh"
TEST_DB=${LIGHTCHAT_TEST_DB:-sqlite}
case $TEST_DB in
sqlite) ;;
pg)
	if [ -z "${PG_SOCK:-}" ] || [ ! -S "$PG_SOCK/.s.PGSQL.$PG_PORT" ]; then
		pg_start || { printf 'not ok - a PostgreSQL server for the tests\n'; exit 1; }
		LIB_PG_OWN=1
		trap 'pg_stop' EXIT
	fi
	;;
*) printf 'not ok - LIGHTCHAT_TEST_DB=%s: sqlite or pg\n' "$TEST_DB"; exit 1 ;;
esac
# pg_mode: true when the stacks run on PostgreSQL.
pg_mode() { [ "$TEST_DB" = pg ]; }
# skip NAME REASON: a TAP skip line (tests/run.sh counts them).
skip() { printf 'skip - %s # skip %s\n' "$1" "$2"; }
# skip_file_in_pg REASON: in PostgreSQL mode, skips the whole test file
# (one skip line with the reason) and exits; tests about SQLite's own file.
skip_file_in_pg() {
	pg_mode || return 0
	skip "$(basename "$0" .sh) in PostgreSQL mode" "$1"
	finish
}

ok() { printf 'ok - %s\n' "$1"; }
not_ok() {
	FAILED=$((FAILED + 1))
	printf 'not ok - %s\n' "$1"
	[ $# -gt 1 ] && printf '#   %s\n' "${@:2}" | cut -c1-400
	return 0
}
# check NAME COMMAND...: passes when the command succeeds.
check() { local n=$1; shift; if "$@"; then ok "$n"; else not_ok "$n" "failed: $*"; fi; }
# assert_eq NAME GOT WANT
assert_eq() {
	if [ "$2" == "$3" ]; then ok "$1"; else not_ok "$1" "got:  $2" "want: $3"; fi
}
# assert_match NAME GOT REGEX
assert_match() {
	if [[ "$2" =~ $3 ]]; then ok "$1"; else not_ok "$1" "got:  $2" "want: /$3/"; fi
}

free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# stack_start [VAR=value ...]: starts the fake upstream and the stack with
# the given extra environment. Sets T (temp dir), PORT, BASE, WS, UP (fake
# upstream base URL), and users alice and bob (passwords in PW_alice/PW_bob).
stack_start() {
	T=$(mktemp -d /tmp/lightchat-e2e.XXXXXX)
	mkdir -m 700 "$T/state"   # private, as the programs require
	# STATE_TMPFS=SIZE: the state directory on a tmpfs of its own (a small
	# disk; root only); stack_stop unmounts it.
	if [ -n "${STATE_TMPFS:-}" ] && ! mount -t tmpfs -o "size=$STATE_TMPFS,mode=700" tmpfs "$T/state"; then
		not_ok "a tmpfs of $STATE_TMPFS for the state directory"
		return 1
	fi
	"$PY" "$ROOT/tests/fake_upstream.py" --port 0 --port-file "$T/up.port" \
		--api-key "$API_KEY" --delay-ms "${UPSTREAM_DELAY_MS:-2}" >"$T/upstream.log" 2>&1 &
	UP_PID=$!
	for _ in $(seq 100); do [ -s "$T/up.port" ] && break; sleep 0.05; done
	UP="http://127.0.0.1:$(cat "$T/up.port")"
	# STACK_DB: where this stack's data is (q reads it). In PostgreSQL
	# mode a new database, exported as LIGHTCHAT_DATABASE so that the
	# test's own lightchat-admin commands use it too.
	if pg_mode; then
		STACK_DBNAME=$(basename "$T" | tr 'A-Z.-' 'a-z__')
		if ! STACK_DB=$(pg_newdb "$STACK_DBNAME"); then
			not_ok "a PostgreSQL database for the stack"
			kill -TERM "$UP_PID" 2>/dev/null
			return 1
		fi
		export LIGHTCHAT_DATABASE="$STACK_DB"
	else
		STACK_DB=$T/state/lightchat.db
	fi
	PORT=$(free_port)
	WS_PORT=$(free_port)
	while [ "$WS_PORT" = "$PORT" ]; do WS_PORT=$(free_port); done
	BASE="http://127.0.0.1:$PORT"
	WS="ws://127.0.0.1:$PORT/ws"
	env LIGHTCHAT_CONFIG=/dev/null LIGHTCHAT_STATE="$T/state" \
		LIGHTCHAT_PORT="$PORT" LIGHTCHAT_WS_PORT="$WS_PORT" \
		OPENAI_BASE_URL="$UP/v1" OPENAI_API_KEY="$API_KEY" \
		LIGHTCHAT_UPSTREAM_IDLE_TIMEOUT=4 LIGHTCHAT_DRAIN_TIMEOUT=2 \
		LIGHTCHAT_ALLOWED_ORIGINS="http://seed.example" LIGHTCHAT_BIN="$BIN" \
		ASAN_OPTIONS="log_path=$T/sanitizer:detect_leaks=1" \
		UBSAN_OPTIONS="log_path=$T/sanitizer:print_stacktrace=1" \
		"$@" setsid "$ROOT/scripts/run.sh" >"$T/stack.log" 2>&1 &
	STACK_PID=$!
	local up=0
	for _ in $(seq 100); do
		if curl -s -o /dev/null "$BASE/" && grep -q 'worker: ready' "$T/stack.log"; then
			up=1; break
		fi
		sleep 0.1
	done
	if [ $up -ne 1 ]; then
		not_ok "stack starts" "$(tail -5 "$T/stack.log")"
		# What did start is stopped: a failed test leaves nothing running.
		kill -TERM "$STACK_PID" "$UP_PID" 2>/dev/null
		if pg_mode && [ -n "${STACK_DBNAME:-}" ]; then
			for _ in $(seq 50); do kill -0 "$STACK_PID" 2>/dev/null || break; sleep 0.1; done
			pg_dropdb "$STACK_DBNAME"
			STACK_DBNAME=""
		fi
		return 1
	fi
	PW_alice="alice-Secret-1"
	PW_bob="bob-Secret-2"
	echo "$PW_alice" | LIGHTCHAT_CONFIG=/dev/null LIGHTCHAT_STATE="$T/state" \
		"$ADMIN" user add alice 2>/dev/null
	echo "$PW_bob" | LIGHTCHAT_CONFIG=/dev/null LIGHTCHAT_STATE="$T/state" \
		"$ADMIN" user add bob 2>/dev/null
}

# ws_direct_start: sets WS_DIRECT_PORT, a port on the host's loopback that
# leads straight to websocketd, for tests of what the worker refuses without
# lighttpd in front. run.sh runs websocketd in a private network namespace,
# where the host cannot reach it: a forwarder then listens here (the socket
# bound on the host, passed down as descriptor 3) and connects in there
# (nsenter into lighttpd's namespace; FWD_PID, stopped by stack_stop).
# Without the namespace it is WS_PORT itself.
ws_direct_start() {
	local lp enter=(--net)
	lp=$(cat "$T/state/lighttpd.pid")
	WS_DIRECT_PORT=$WS_PORT
	[ "$(readlink "/proc/$lp/ns/net")" = "$(readlink /proc/$$/ns/net)" ] && return 0
	[ "$(id -u)" -eq 0 ] || enter=(--user --net --preserve-credentials)
	rm -f "$T/fwd.port"
	"$PY" -c '
import os, socket, sys
s = socket.create_server(("127.0.0.1", 0))
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.execvp(sys.argv[2], sys.argv[2:])' "$T/fwd.port" nsenter --target "$lp" "${enter[@]}" -- \
		"$PY" -c '
import socket, sys, threading
def pump(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    for x in (a, b):
        try:
            x.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
ls = socket.socket(fileno=3)
while True:
    c, _ = ls.accept()
    try:
        u = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    except OSError:
        c.close()
        continue
    threading.Thread(target=pump, args=(c, u), daemon=True).start()
    threading.Thread(target=pump, args=(u, c), daemon=True).start()' "$WS_PORT" \
		>"$T/fwd.log" 2>&1 &
	FWD_PID=$!
	for _ in $(seq 50); do [ -s "$T/fwd.port" ] && break; sleep 0.1; done
	WS_DIRECT_PORT=$(cat "$T/fwd.port" 2>/dev/null)
	[ -n "$WS_DIRECT_PORT" ]
}

# worker_pid: the PID of this stack's worker.
worker_pid() { pgrep -P "$STACK_PID" -f lightchat-worker | head -1; }

# stack_procs: this stack's processes, told apart by the state directory in
# their environment, so that test runs going on at the same time (two
# checkouts, two engineers) neither see nor kill each other's processes.
stack_procs() {
	local p
	for p in $(pgrep -f 'lightchat|websocketd|lighttpd|fake_upstream|demo-upstream'); do
		grep -qsxzF "LIGHTCHAT_STATE=$T/state" "/proc/$p/environ" && echo "$p"
	done
}

# sessions_left: waits up to 3 s for this stack's lightchat-ws processes to
# end with their connections, then prints how many are left.
sessions_left() {
	local n=0
	for _ in $(seq 30); do
		n=$(for p in $(stack_procs); do
			[ "$(cat "/proc/$p/comm" 2>/dev/null)" = lightchat-ws ] && echo "$p"
		done | wc -l)
		[ "$n" -eq 0 ] && break
		sleep 0.1
	done
	echo "$n"
}

# nothing_left NAME: waits up to 3 s for this stack's processes to end, then
# passes NAME when none is left (any left is shown and killed).
nothing_left() {
	local left=""
	for _ in $(seq 30); do
		left=$(stack_procs)
		[ -z "$left" ] && break
		sleep 0.1
	done
	if [ -n "$left" ]; then
		not_ok "$1" "$(ps -o pid,args -p "${left//$'\n'/,}")"
		kill -KILL $left 2>/dev/null
	else
		ok "$1"
	fi
}

# stack_stop: stops everything by PID and checks nothing is left behind.
stack_stop() {
	if [ -n "${FWD_PID:-}" ]; then
		kill -TERM "$FWD_PID" 2>/dev/null
		wait "$FWD_PID" 2>/dev/null
		FWD_PID=""
	fi
	kill -TERM "$STACK_PID" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$STACK_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$STACK_PID" 2>/dev/null
	kill -TERM "$UP_PID" 2>/dev/null
	wait "$UP_PID" 2>/dev/null
	nothing_left "stack stops without leaving processes"
	if grep -q "$API_KEY" "$T/stack.log" "$T/upstream.log"; then
		not_ok "no API key in any log line"
	fi
	if grep -qE 'eyJ[A-Za-z0-9_-]{10,}\.' "$T/stack.log"; then
		not_ok "no token in any log line" "$(grep -oE '.{60}eyJ[A-Za-z0-9_-]{10,}' "$T/stack.log" | head -2)"
	fi
	if ls "$T"/sanitizer.* >/dev/null 2>&1; then
		not_ok "no sanitizer report" "$(head -c 600 "$T"/sanitizer.*)"
	fi
	[ -n "${KEEP_LOGS:-}" ] && cp "$T/stack.log" "/tmp/$(basename "$0").stack.log"
	show_log "$T/stack.log"
	if mountpoint -q "$T/state"; then umount "$T/state" || umount -l "$T/state"; fi
	rm -rf "$T"
	if pg_mode && [ -n "${STACK_DBNAME:-}" ]; then
		pg_dropdb "$STACK_DBNAME"
		STACK_DBNAME=""
		unset LIGHTCHAT_DATABASE
	fi
}

# show_log FILE: after a failure, the programs' last log lines (not the
# access log), so that a failure in CI says what the stack saw.
show_log() {
	[ "$FAILED" -gt 0 ] && [ -f "$1" ] || return 0
	grep -E '^(debug|info|warn|error|err) |^lightchat:' "$1" | tail -25 | sed 's/^/#   log: /'
}

# login USER PASSWORD JAR: logs in, storing the cookie in JAR; prints the
# HTTP status.
login() {
	curl -s -o "$3.body" -w '%{http_code}' -c "$3" -H 'Content-Type: application/json' \
		-d "{\"username\":\"$1\",\"password\":\"$2\"}" "$BASE/login"
}

# q SQL: the rows of a statement on the stack's database (STACK_DB), run
# beside it, columns joined by '|' (NULL as "null"); a write is committed.
# SQLite through python's sqlite3, PostgreSQL through psql (pq). SQL meant
# for both writes the column user as "user" (a function in PostgreSQL).
q() {
	if pg_mode; then
		pq "$STACK_DB" "$1"
		return
	fi
	"$PY" - "$STACK_DB" "$1" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
for row in db.execute(sys.argv[2]):
    print("|".join("null" if v is None else str(v) for v in row))
db.commit()
PYEOF
}

# q_script FILE: runs the SQL statements of FILE on the stack's database, in
# one transaction (test data written beside the stack).
q_script() {
	if pg_mode; then
		psql -XAtq -v ON_ERROR_STOP=1 -1 -d "$STACK_DB" -f "$1" >/dev/null
		return
	fi
	"$PY" -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
db.executescript("BEGIN;" + open(sys.argv[2], encoding="utf-8").read() + ";COMMIT;")' "$STACK_DB" "$1"
}

# sql_bytes EXPR: SQL for the length in bytes of text EXPR, in the
# stack's dialect (SQLite 3.40 has no octet_length).
sql_bytes() {
	if pg_mode; then echo "octet_length($1)"; else echo "length(CAST($1 AS BLOB))"; fi
}

# wait_for FILE REGEX SECONDS: waits until a line of FILE matches.
wait_for() {
	for _ in $(seq $(($3 * 20))); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# token_of JAR: the session token stored in a cookie jar.
token_of() { awk '$6 == "lightchat_session" {print $7}' "$1"; }

# prompt MSGID TEXT [EXTRA_PAYLOAD_JSON]: a sendprompt message.
prompt() {
	jq -cn --arg id "$1" --arg t "$2" --argjson extra "${3:-{\}}" \
		'{action:"sendprompt",payload:({msgid:$id,messages:[{role:"user",content:$t}]} + $extra)}'
}

# ws JAR MESSAGE...: the WebSocket client with the session cookie of JAR;
# extra client options in WSOPTS (e.g. WSOPTS="--timeout 5").
ws() {
	local jar=$1; shift
	# shellcheck disable=SC2086
	"$PY" "$WSCLIENT" --cookie-jar "$jar" ${WSOPTS:-} "$WS" "$@"
}

# final OUTPUT: the last frame of the client's output.
final() { printf '%s\n' "$1" | tail -1; }

finish() {
	[ -n "${LIB_PG_OWN:-}" ] && pg_stop
	exit $((FAILED > 0 ? 1 : 0))
}

# make_token ALG EXP_OFFSET [SUB]: a JWT signed with this stack's key, for
# tests of what the server must refuse (expired, other algorithms).
make_token() {
	"$PY" - "$T/state/token.key" "$1" "$2" "${3:-alice}" <<'PYEOF'
import base64, hashlib, hmac, json, sys, time
key = open(sys.argv[1], "rb").read()
alg, off, sub = sys.argv[2], int(sys.argv[3]), sys.argv[4]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
now = int(time.time())
head = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
body = b64(json.dumps({"sub": sub, "purpose": "lightchat-session", "iat": now - 100,
                       "nbf": now - 100, "exp": now + off}).encode())
digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}.get(alg)
sig = b64(hmac.new(key, f"{head}.{body}".encode(), digest).digest()) if digest else ""
print(f"{head}.{body}.{sig}")
PYEOF
}
