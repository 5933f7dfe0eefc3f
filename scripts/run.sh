#!/usr/bin/env bash
# run.sh - start the whole lightchat stack in the foreground: the worker,
# websocketd with one lightchat-ws per connection, and lighttpd with the
# FastCGI program. With no API key configured it also starts the built-in
# demo upstream (tools/demo-upstream). Ctrl-C (or SIGTERM, or the terminal
# closing) stops everything and exits with status 0.
#
# lighttpd, its FastCGI program, websocketd and the sessions run in a
# private network namespace; a component that exits is restarted with a
# back-off, and only lighttpd exiting stops the stack (both explained where
# they start, below).
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
# LIGHTCHAT_CONFIG (./lightchat.conf), OPENAI_API_KEY, OPENAI_BASE_URL,
# LIGHTCHAT_NETNS=off (no private network namespace, see below), and any
# LIGHTCHAT_<SETTING> of docs/CONFIG in README.md.
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
# lighttpd's connection limits (lighttpd.conf): its descriptors are this
# script's limit (raised above; lighttpd takes at most 65535)
LIGHTCHAT_MAX_FDS=$(ulimit -n)
{ [ "$LIGHTCHAT_MAX_FDS" = unlimited ] || [ "$LIGHTCHAT_MAX_FDS" -gt 65535 ]; } && LIGHTCHAT_MAX_FDS=65535
export LIGHTCHAT_MAX_FDS LIGHTCHAT_FRONT_MAX_CONNECTIONS="$(conf front_max_connections)" \
	LIGHTCHAT_FRONT_READ_TIMEOUT="$(conf front_read_timeout)"
# POST /api/attachments alone may send more than 64 KB: attachment_max_bytes
# in KB, and one more, so that the FastCGI program's 413 names the limit
# (lighttpd's own 413 says nothing).
LIGHTCHAT_ATTACH_MAX_KB=$(( $(conf attachment_max_bytes) / 1024 + 1 ))
export LIGHTCHAT_ATTACH_MAX_KB

# A port that is taken (by the system's lighttpd, say) is left to its
# owner: say who holds it and stop, rather than stopping someone's site.
# (Listeners on the same port of another address do not count.)
taken=$(ss -Hltnp "sport = :$PORT" 2>/dev/null | awk -v bind="$BIND" '{
	a = $4; sub(/:[0-9]+$/, "", a); gsub(/[][]/, "", a)
	if (a == "*" || a == "0.0.0.0" || a == "::" || a == bind || bind == "0.0.0.0" || bind == "::") { print; exit }
}') || taken=""
if [ -n "$taken" ]; then
	holder=$(grep -o 'users:(("[^"]*",pid=[0-9]*' <<<"$taken" | head -1 |
		sed 's/users:(("\([^"]*\)",pid=\([0-9]*\)/\1 (pid \2)/') || holder=""
	case $holder in
	"") holder="another process" ;;
	lighttpd*) holder="$holder, the system's lighttpd? (systemctl status lighttpd)" ;;
	esac
	say "port $PORT is taken by $holder: make run leaves it alone; choose another port, e.g. LIGHTCHAT_PORT=$((PORT + 10)) make run"
	exit 1
fi

# No API key and no [upstream] section: run against the demo upstream, and
# say so. (A configuration with sections says where its models are, a local
# server's without a key: the demo would add an upstream of its own.)
if [ -z "$(conf upstream_api_key)" ] && [ -z "${LIGHTCHAT_NO_DEMO:-}" ] &&
	! "$ADMIN" config --file | grep -q '^\[upstream '; then
	DEMO_PORT=${LIGHTCHAT_DEMO_PORT:-$((PORT + 2))}
	rm -f "$STATE/demo.port"
	start_demo() {
		setsid python3 "$ROOT/tools/demo-upstream" --port "$DEMO_PORT" \
			--port-file "$STATE/demo.port" &
		DEMO_PID=$!
	}
	start_demo
	for _ in $(seq 50); do [ -s "$STATE/demo.port" ] && break; sleep 0.1; done
	[ -s "$STATE/demo.port" ] || { say "the demo upstream did not start"; exit 1; }
	DEMO_PORT=$(cat "$STATE/demo.port")   # a restart takes the same port
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

# websocketd's port must be one that no other local user can take: were it
# on the host's loopback, any user could bind 127.0.0.1:ws_port while
# websocketd restarts (or before it starts) and lighttpd would hand that
# process the next upgrade, session cookie and ?token= included. So lighttpd
# (with its FastCGI program), websocketd and the sessions run in a network
# namespace of their own, where 127.0.0.1:ws_port exists for them alone;
# lighttpd gets its public socket, bound here on the host, by socket
# activation (LISTEN_FDS). The worker (it calls the upstream API) and the
# demo upstream stay on the host: the worker's endpoint is ipc:// in the
# state directory, which works across network namespaces. systemd's
# equivalent: PrivateNetwork= with a .socket unit for lighttpd, and
# JoinsNamespaceOf= for websocketd (docs/ARCHITECTURE.md).
# LIGHTCHAT_NETNS=off keeps everything on the host (the old behaviour).
HOST_NS=$(readlink /proc/$$/ns/net)
NETNS=() NSENTER=() why=""
if [ "${LIGHTCHAT_NETNS:-on}" = off ]; then
	why="LIGHTCHAT_NETNS=off"
elif ! command -v ip >/dev/null; then
	why="ip (iproute2) is not installed"
elif [ "$(id -u)" -eq 0 ] && unshare --net ip link set lo up 2>/dev/null; then
	NETNS=(unshare --net) NSENTER=(--net)
elif why=$(unshare --user --map-root-user --net ip link set lo up 2>&1); then
	NETNS=(unshare --user --map-root-user --net) NSENTER=(--user --net --preserve-credentials)
else
	why=${why//$'\n'/ }
fi
if [ ${#NETNS[@]} -eq 0 ]; then
	say "no private network namespace (${why:-unshare failed}): websocketd listens on the host's 127.0.0.1:$WS_PORT, where another local user could take the port while it restarts (docs/SECURITY.md)"
fi

# Restarts: a component that exits is started again after a back-off that
# starts at 0.5 s and doubles up to 30 s while it keeps failing; one that
# ran for STABLE_S seconds starts again at 0.5 s. Only lighttpd exiting
# stops the stack: while the worker or websocketd is down or restarting,
# lighttpd goes on serving the page and /login. PIDs: <state>/*.pid.
BACKOFF_MIN_MS=500 BACKOFF_MAX_MS=30000 STABLE_S=10
declare -A BACKOFF STARTED DUE
# now_ms: sets NOW to the time in milliseconds (no subshell: the loop runs
# it four times a second).
now_ms() { NOW=${EPOCHREALTIME/[.,]/}; NOW=$((NOW / 1000)); }

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
# closed" error at every disconnect, which redact drops. With a namespace it
# starts in lighttpd's (nsenter execs websocketd: the PID stays), and never
# on the host: a lighttpd not yet in its namespace is waited for.
start_websocketd() {
	local enter=()
	if [ ${#NETNS[@]} -gt 0 ]; then
		local ns="" _
		for _ in $(seq 100); do
			ns=$(readlink "/proc/$LIGHTTPD_PID/ns/net" 2>/dev/null) || ns=""
			[ -n "$ns" ] && [ "$ns" != "$HOST_NS" ] && break
			kill -0 "$LIGHTTPD_PID" 2>/dev/null || break
			sleep 0.05
		done
		if [ -z "$ns" ] || [ "$ns" = "$HOST_NS" ]; then
			say "lighttpd has no network namespace of its own: websocketd not started"
			return 1
		fi
		enter=(nsenter --target "$LIGHTTPD_PID" "${NSENTER[@]}" --)
	fi
	# GOGC: as systemd/lightchat-websocketd (~0.02 MB less per stream)
	GOGC="${GOGC:-25}" LIGHTCHAT_CONFIG="$STATE/effective.conf" setsid "${enter[@]}" websocketd \
		--address=127.0.0.1 --port="$WS_PORT" \
		--maxforks="$(conf max_connections)" --loglevel=error \
		--passenv="$passenv" $WRAP "$BIN/lightchat-ws" \
		> >(redact) 2>&1 &
	WSD_PID=$!
	echo "$WSD_PID" >"$STATE/websocketd.pid"
}
# start NAME: starts a supervised component and notes when.
start() {
	now_ms
	STARTED[$1]=$NOW
	case $1 in
	worker) start_worker ;;
	websocketd) start_websocketd || WSD_PID="" ;;
	demo) start_demo ;;
	esac
}
# exited NAME LABEL STATUS: schedules the next start of a component that
# exited, after its back-off, and says so.
exited() {
	local now d
	now_ms
	now=$NOW
	d=${BACKOFF[$1]:-$BACKOFF_MIN_MS}
	[ $((now - ${STARTED[$1]:-0})) -ge $((STABLE_S * 1000)) ] && d=$BACKOFF_MIN_MS
	DUE[$1]=$((now + d))
	BACKOFF[$1]=$((d * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : d * 2))
	say "$2 exited (status $3); restarting it in $((d / 1000)).$((d % 1000 / 100)) s"
}
# start_due: starts the components whose time has come.
start_due() {
	local n now
	now_ms
	now=$NOW
	for n in "${!DUE[@]}"; do
		[ "${DUE[$n]}" -le "$now" ] || continue
		unset "DUE[$n]"
		start "$n"
		# websocketd found no namespace to start in: try again later
		[ "$n" = websocketd ] && [ -z "$WSD_PID" ] && exited websocketd websocketd 1
	done
}
# gone PID: the process has exited (bash reaps its children as they exit;
# `wait PID` still gives the status).
gone() { [ -n "$1" ] && ! kill -0 "$1" 2>/dev/null; }

start worker
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
if [ ${#NETNS[@]} -gt 0 ]; then
	# Binds bind:port here, on the host, as descriptor 3, and execs the rest:
	# unshare (a new network namespace), sh (loopback up inside it; then it
	# waits, up to 5 s, until websocketd listens there, so that the site
	# never answers before /ws works: early clients wait in the socket's
	# backlog), then lighttpd, which takes descriptor 3 (LISTEN_PID is its
	# own PID, all the way down one process). A host name is passed on as
	# its address, so that lighttpd finds the socket it was given.
	LIGHTCHAT_SOCKET_ACTIVATION=enable LIGHTCHAT_CONFIG="$STATE/effective.conf" \
		setsid python3 -c '
import os, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
try:
    ai = socket.getaddrinfo(host or "0.0.0.0", port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    s = socket.socket(ai[0], socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(ai[4])
    s.listen(1024)
except OSError as e:
    sys.exit(f"lightchat: cannot listen on {host}:{port}: {e.strerror or e}")
if ai[0] == socket.AF_INET:
    os.environ["LIGHTCHAT_BIND"] = ai[4][0]
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.execvp(sys.argv[3], sys.argv[3:])' "$BIND" "$PORT" "${NETNS[@]}" \
		sh -c 'ip link set lo up || exit 1
			port=$(printf "%04X" "$1"); shift; i=0
			while [ $i -lt 500 ] && ! grep -q "^ *[0-9]*: 0100007F:$port 00000000:0000 0A" /proc/net/tcp; do
				sleep 0.01; i=$((i + 1))
			done
			export LISTEN_FDS=1 LISTEN_PID=$$; exec "$@"' sh "$WS_PORT" \
		lighttpd -D -f "$ROOT/lighttpd.conf" 2> >(redact) &
	LIGHTTPD_PID=$!
	start websocketd
else
	start websocketd
	LIGHTCHAT_SOCKET_ACTIVATION=disable LIGHTCHAT_CONFIG="$STATE/effective.conf" \
		setsid lighttpd -D -f "$ROOT/lighttpd.conf" 2> >(redact) &
	LIGHTTPD_PID=$!
fi
[ -n "$WSD_PID" ] || exited websocketd websocketd 1
now_ms
[ -n "${DEMO_PID:-}" ] && STARTED[demo]=$NOW
echo "$$" > "$STATE/run.pid"

if [ ${#NETNS[@]} -gt 0 ]; then
	say "listening on http://$BIND:$PORT/ (websocketd on 127.0.0.1:$WS_PORT in a private network namespace)"
else
	say "listening on http://$BIND:$PORT/ (websocketd on 127.0.0.1:$WS_PORT)"
fi
# The loop looks at its components four times a second. (`wait -n` misses
# a job that ends while the script runs something else: bash reports it
# and forgets it.) The read waits on a FIFO nobody writes. From here a
# signal only sets STOP, and the loop stops the stack: a trap that ran
# stop_all inside `read -t` was cut short by the read's timeout (bash jumps
# back into the read), and the loop went on.
mkfifo -m 600 "$STATE/run.tick.$$"
exec {tick_fd}<>"$STATE/run.tick.$$"
rm -f "$STATE/run.tick.$$"
STOP=""
trap 'STOP=1' INT TERM HUP
set +e
while :; do
	start_due
	read -r -t 0.25 -u "$tick_fd" _
	if [ -n "$STOP" ]; then
		say "stopping"
		stop_all
		exit 0
	fi
	if gone "$LIGHTTPD_PID"; then
		wait "$LIGHTTPD_PID"
		say "lighttpd exited (status $?); stopping"
		exit 1
	fi
	if gone "$WORKER_PID"; then
		wait "$WORKER_PID"
		exited worker "the worker" $?
		WORKER_PID=""
	fi
	if gone "$WSD_PID"; then
		wait "$WSD_PID"
		exited websocketd websocketd $?
		WSD_PID=""
	fi
	if gone "${DEMO_PID:-}"; then
		wait "$DEMO_PID"
		exited demo "the demo upstream" $?
		DEMO_PID=""
	fi
done
