#!/usr/bin/env bash
# run.sh - start the whole lightchat stack in the foreground: the worker,
# websocketd with one lightchat-ws per connection, and lighttpd with the
# FastCGI program. With no API key configured it also starts the built-in
# demo upstream (tools/demo-upstream). Ctrl-C (or SIGTERM, or the terminal
# closing) stops everything and exits with status 0.
#
# Ctrl-C: the terminal sends SIGINT to its whole foreground process group.
# Each component runs in a session of its own (setsid), out of that group, so
# that only this script (and make above it) gets it; the script then stops the
# components in order (stop_all). Were they in the group, each would stop on
# its own at once: lighttpd's FastCGI children die under it (lighttpd logs
# failed connects), the demo upstream quits in the middle of the replies the
# worker is finishing, and whichever exits first races the trap below (a
# "component exited" exit 1 is make's "Error 1"). GNU make, on SIGINT, waits
# for this script and reports nothing when it exits 0, then ends itself by the
# same signal (the shell shows status 130, silently).
#
# Environment: LIGHTCHAT_PORT (8080), LIGHTCHAT_STATE (./state),
# LIGHTCHAT_CONFIG (./lightchat.conf), OPENAI_API_KEY, OPENAI_BASE_URL, and
# any LIGHTCHAT_<SETTING> of docs/CONFIG in README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="${LIGHTCHAT_BIN:-$ROOT/build}"   # build-asan for the sanitizer run
ADMIN="$BIN/lightchat-admin"
export LIGHTCHAT_ROOT="$ROOT" LIGHTCHAT_BIN="$BIN"
# LIGHTCHAT_WRAP (e.g. "valgrind --error-exitcode=99 ...") runs the worker,
# the FastCGI program and each session under a tool; the tests use it for
# memcheck.
WRAP=${LIGHTCHAT_WRAP:-}
if [ -n "$WRAP" ]; then  # lighttpd's bin-path wants an absolute program
	tool=${WRAP%% *}
	WRAP="$(command -v "$tool")${WRAP#"$tool"}"
fi
export LIGHTCHAT_FCGI_CMD="${WRAP:+$WRAP }$BIN/lightchat.fcgi"
export LIGHTCHAT_CONFIG="${LIGHTCHAT_CONFIG:-$ROOT/lightchat.conf}"
export LIGHTCHAT_STATE="${LIGHTCHAT_STATE:-$ROOT/state}"

# Everything the stack creates (state, database, sockets, logs' FIFO) is
# lightchat's own: the programs check the state directory and the users file
# too, and refuse others' access.
umask 077

say() { printf 'lightchat: %s\n' "$*" >&2; }
# redact: copies log lines to stderr without tokens. websocketd prints the
# request URL on its log lines and lighttpd prints it when the WebSocket
# backend is down, and the seed client puts its token in the query
# (?token=Bearer%20<jwt>); a JWT anywhere else in a line goes too. Run in a
# session of its own, like the programs it serves, so that it outlives a
# Ctrl-C until they have said their last words.
# websocketd's own bug (joewalnes/websocketd#342: writing a line to a
# WebSocket whose last write failed dereferences a nil writer) panics when a
# client with blocked output goes away while its session still has lines to
# send, which it cannot know; net/http recovers, and redact folds the ~20-line
# Go stack trace into its first line.
redact() {
	setsid sed -u -E -e '/while reading STD[A-Z]* from process: .*already closed/d' \
		-e 's/http: panic serving ([^ ]*): (.*)$/http: panic serving \1 (websocketd bug #342 on a client that went away while blocked; stack trace dropped): \2/' \
		-e '/^goroutine [0-9]+ \[[a-z ,0-9]+\]:$/d' \
		-e '/^created by [^ ]+( in goroutine [0-9]+)?$/d' \
		-e '/^	[^ ]+\.go:[0-9]+( \+0x[0-9a-f]+)?$/d' \
		-e '/^[A-Za-z0-9_.\/*()-]+\(.*\)$/d' \
		-e 's/token=[^&'"'"' ]*/token=[redacted]/g' \
		-e 's/eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/[redacted-token]/g' >&2
}
conf() { "$ADMIN" config "$1"; }

# stop PID...: SIGTERM, then waits until they have all exited (a trapped
# signal cuts a wait short: wait again).
stop() {
	local p
	[ $# -gt 0 ] || return 0
	kill -TERM "$@" 2>/dev/null || true
	for p in "$@"; do
		while kill -0 "$p" 2>/dev/null; do wait "$p" 2>/dev/null; done
	done
}
# stop_all: lighttpd and websocketd first (no new requests; sessions end with
# their connections), then the worker, which finishes the replies in flight
# (for at most drain_timeout), and the demo upstream last, since it is
# answering those replies. Another Ctrl-C meanwhile kills what is left.
stop_all() {
	trap - EXIT
	STOPPING=$(jobs -p)
	trap 'kill -KILL $STOPPING 2>/dev/null' INT TERM HUP
	local pids="" p
	for p in $STOPPING; do
		[ "$p" = "${WORKER_PID:-}" ] || [ "$p" = "${DEMO_PID:-}" ] || pids="$pids $p"
	done
	stop $pids
	stop ${WORKER_PID:-}
	stop ${DEMO_PID:-}
	stop $(jobs -p)
}
trap 'say "stopping"; stop_all; exit 0' INT TERM HUP
trap 'stop_all' EXIT

for prog in lighttpd websocketd; do
	command -v "$prog" >/dev/null || { say "$prog is not installed: run 'make deps'"; exit 1; }
done
[ -x "$ADMIN" ] || { say "not built: run 'make'"; exit 1; }

# websocketd holds a few descriptors per connection: allow max_connections.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

"$ADMIN" config port >/dev/null  # fails with a clear message on a bad config
"$ADMIN" init
STATE=$(conf state)
PORT=$(conf port)
WS_PORT=$(conf ws_port)
BIND=$(conf bind)
export LIGHTCHAT_STATE="$STATE" LIGHTCHAT_PORT="$PORT" LIGHTCHAT_WS_PORT="$WS_PORT" LIGHTCHAT_BIND="$BIND"

# No API key: run against the demo upstream, and say so.
if [ -z "$(conf upstream_api_key)" ] && [ -z "${LIGHTCHAT_NO_DEMO:-}" ]; then
	DEMO_PORT=${LIGHTCHAT_DEMO_PORT:-$((PORT + 2))}
	rm -f "$STATE/demo.port"
	setsid python3 "$ROOT/tools/demo-upstream" --port "$DEMO_PORT" \
		--port-file "$STATE/demo.port" &
	DEMO_PID=$!
	for _ in $(seq 50); do [ -s "$STATE/demo.port" ] && break; sleep 0.1; done
	[ -s "$STATE/demo.port" ] || { say "the demo upstream did not start"; exit 1; }
	export OPENAI_BASE_URL="http://127.0.0.1:$(cat "$STATE/demo.port")/v1"
	export LIGHTCHAT_DEMO=true
	say "************************************************************"
	say "DEMO MODE: no OPENAI_API_KEY is set, so replies come from the"
	say "built-in demo model at $OPENAI_BASE_URL."
	say "For real replies: OPENAI_API_KEY=sk-... make run"
	say "(and OPENAI_BASE_URL=... for Ollama, llama.cpp or another API)"
	say "************************************************************"
fi

# websocketd and lighttpd pass their programs only the variables they are
# told to: give those programs the effective settings as one file (the API
# key, a secret they do not need, is left out of it).
(umask 077 && "$ADMIN" config --file >"$STATE/effective.conf")
passenv=LIGHTCHAT_CONFIG,LIGHTCHAT_STATE
for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
	[ -n "${!v:-}" ] && passenv="$passenv,$v"
done

# The worker and websocketd are restarted when they exit (a crash, or a
# sysadmin's kill to reload them); their PIDs are in <state>/*.pid.
# GNUTLS_NO_IMPLICIT_INIT: Debian's libcurl pulls in GnuTLS through librtmp;
# the worker speaks only http(s) through OpenSSL, so GnuTLS's constructor
# (0.6 MB of touched pages) is skipped.
start_worker() {
	GNUTLS_NO_IMPLICIT_INIT=1 setsid $WRAP "$BIN/lightchat-worker" &
	WORKER_PID=$!
	echo "$WORKER_PID" >"$STATE/worker.pid"
}
# websocketd's log lines go through redact (it prints the request URL, with
# the seed's token); websocketd 0.4 also logs a spurious "file already
# closed" error at every disconnect, which redact drops.
start_websocketd() {
	LIGHTCHAT_CONFIG="$STATE/effective.conf" setsid websocketd --address=127.0.0.1 --port="$WS_PORT" \
		--maxforks="$(conf max_connections)" --loglevel=error \
		--passenv="$passenv" $WRAP "$BIN/lightchat-ws" \
		> >(redact) 2>&1 &
	WSD_PID=$!
	echo "$WSD_PID" >"$STATE/websocketd.pid"
}
start_worker
start_websocketd
# lighttpd's access log: a FIFO copied to our stderr (lighttpd gives piped
# loggers /dev/null as stderr, and reopening /dev/stderr clobbers files).
rm -f "$STATE/access.fifo"
mkfifo -m 600 "$STATE/access.fifo"
# Opened read-write here first, so that lighttpd's non-blocking open for
# writing finds a reader however fast it starts.
exec {access_fd}<>"$STATE/access.fifo"
cat <&"$access_fd" >&2 &
export LIGHTCHAT_ACCESS_LOG="$STATE/access.fifo"
# lighttpd's error log is its stderr (-D): through redact, since it prints
# the URL of a request whose backend is down.
LIGHTCHAT_CONFIG="$STATE/effective.conf" setsid lighttpd -D -f "$ROOT/lighttpd.conf" \
	2> >(redact) &
echo "$$" > "$STATE/run.pid"

say "listening on http://$BIND:$PORT/ (websocketd on 127.0.0.1:$WS_PORT)"
set +e
quick_exits=0
while :; do
	started=$SECONDS
	wait -n -p done_pid
	status=$?
	# Give up on a component that keeps failing at once (bad config...).
	if [ $((SECONDS - started)) -lt 3 ]; then quick_exits=$((quick_exits + 1)); else quick_exits=0; fi
	if [ "$quick_exits" -ge 5 ]; then
		say "components keep exiting at once; stopping"
		exit 1
	fi
	case "${done_pid:-}" in
	"$WORKER_PID")
		say "the worker exited (status $status); restarting it"
		sleep 0.5
		start_worker ;;
	"$WSD_PID")
		say "websocketd exited (status $status); restarting it"
		sleep 0.5
		start_websocketd ;;
	*)
		say "a component exited (status $status); stopping"
		exit 1 ;;
	esac
done
