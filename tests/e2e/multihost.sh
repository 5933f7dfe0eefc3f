# multihost.sh - several lightchat "hosts" on one machine, on one PostgreSQL
# database, behind HAProxy, for the multi-host tests (issue 17). Source it
# (after lib.sh, which it sources itself) from a test-*.sh file.
#
#   mh_start N [VAR=value ...]  starts PostgreSQL (tests/e2e/pg.sh: a server
#       of its own, never one the caller shares, since a test may stop and
#       start it), N hosts and HAProxy in front. Each
#       host is a whole stack (scripts/run.sh: lighttpd with the FastCGI
#       program, websocketd and the sessions in a network namespace of its
#       own, and its own worker) with its own temp dir, state directory,
#       ports and fake upstream, LIGHTCHAT_WORKER_ID=hostI, and the same
#       database URL, token key file and users file: host1's, which the
#       others name with token_key_file and users_file. VAR=value goes to
#       every host's environment. Users alice and bob (PW_alice, PW_bob).
#   mh_stop                     stops everything by PID, checks that no
#       process is left and no secret reached a log, drops the database.
#
# Sets: MH (the temp dir), MH_N, MH_DB (the database URL), HOST_T[i] (host
# i's temp dir; its state is HOST_T[i]/state, its log HOST_T[i]/stack.log),
# HOST_BASE[i], HOST_WS[i], HOST_PID[i] (its run.sh), HOST_WORKER_PIDFILE[i],
# HOST_UP[i] (its upstream's base URL), LB_BASE, LB_WS, LB_PID, LB_LOG,
# LB_SOCK (HAProxy's runtime API). Host numbers start at 1.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

declare -a HOST_T HOST_BASE HOST_WS HOST_PID HOST_PORT HOST_WORKER_PIDFILE HOST_UP HOST_UP_PID
MH="" MH_N=0 MH_DB="" MH_DBNAME="" MH_PG_OWN="" LB_PID=""

# mh_host_start I VAR=value...: starts host I's upstream and stack; waits
# until it serves and its worker is ready.
mh_host_start() {
	local i=$1 t up=0 port wsport
	shift
	t=$MH/host$i
	HOST_T[i]=$t
	mkdir -p "$t" && mkdir -m 700 "$t/state"
	"$PY" "$ROOT/tests/fake_upstream.py" --port 0 --port-file "$t/up.port" \
		--api-key "$API_KEY" --delay-ms "${UPSTREAM_DELAY_MS:-2}" >"$t/upstream.log" 2>&1 &
	HOST_UP_PID[i]=$!
	for _ in $(seq 100); do [ -s "$t/up.port" ] && break; sleep 0.05; done
	HOST_UP[i]="http://127.0.0.1:$(cat "$t/up.port")"
	port=$(free_port)
	wsport=$(free_port)
	while [ "$wsport" = "$port" ]; do wsport=$(free_port); done
	HOST_PORT[i]=$port
	HOST_BASE[i]="http://127.0.0.1:$port"
	HOST_WS[i]="ws://127.0.0.1:$port/ws"
	HOST_WORKER_PIDFILE[i]=$t/state/worker.pid
	local shared=()
	# Host 1 makes the key and the users file (run.sh's lightchat-admin
	# init); the others use those, as hosts given the same files would.
	[ "$i" -gt 1 ] && shared=(LIGHTCHAT_TOKEN_KEY_FILE="$MH/host1/state/token.key"
		LIGHTCHAT_USERS_FILE="$MH/host1/state/users")
	env LIGHTCHAT_CONFIG=/dev/null LIGHTCHAT_STATE="$t/state" \
		LIGHTCHAT_PORT="$port" LIGHTCHAT_WS_PORT="$wsport" \
		OPENAI_BASE_URL="${HOST_UP[i]}/v1" OPENAI_API_KEY="$API_KEY" \
		LIGHTCHAT_UPSTREAM_IDLE_TIMEOUT=4 LIGHTCHAT_DRAIN_TIMEOUT=2 \
		LIGHTCHAT_ALLOWED_ORIGINS="http://seed.example" LIGHTCHAT_BIN="$BIN" \
		LIGHTCHAT_DATABASE="$MH_DB" LIGHTCHAT_WORKER_ID="host$i" \
		LIGHTCHAT_TRUSTED_PROXIES=127.0.0.1 \
		ASAN_OPTIONS="log_path=$t/sanitizer:detect_leaks=1" \
		UBSAN_OPTIONS="log_path=$t/sanitizer:print_stacktrace=1" \
		"${shared[@]}" "$@" setsid "$ROOT/scripts/run.sh" >"$t/stack.log" 2>&1 &
	HOST_PID[i]=$!
	for _ in $(seq 150); do
		if curl -s -o /dev/null "${HOST_BASE[i]}/" && grep -q 'worker: ready' "$t/stack.log"; then
			up=1; break
		fi
		kill -0 "${HOST_PID[i]}" 2>/dev/null || break
		sleep 0.1
	done
	if [ $up -ne 1 ]; then
		not_ok "host$i starts" "$(tail -5 "$t/stack.log")"
		return 1
	fi
}

# mh_admin I ARGS...: lightchat-admin with host I's settings.
mh_admin() {
	local i=$1 shared=()
	shift
	[ "$i" -gt 1 ] && shared=(LIGHTCHAT_TOKEN_KEY_FILE="$MH/host1/state/token.key"
		LIGHTCHAT_USERS_FILE="$MH/host1/state/users")
	env LIGHTCHAT_CONFIG=/dev/null LIGHTCHAT_STATE="${HOST_T[i]}/state" \
		LIGHTCHAT_DATABASE="$MH_DB" LIGHTCHAT_WORKER_ID="host$i" "${shared[@]}" "$ADMIN" "$@"
}

# mh_haproxy_cfg: conf/haproxy.cfg made this run's: the frontends' bind
# addresses, the servers, the log (stdout: HAProxy runs in the foreground
# here) and the runtime API's socket; chroot and user only as root (they
# need it); maxconn lowered to what this shell's descriptor limit allows
# (two descriptors a connection; HAProxy refuses to start otherwise, where
# systemd's unit would give it more). Each change must find its line: a shipped file that no longer
# has it fails here, rather than being tested half.
mh_haproxy_cfg() {
	local src="$ROOT/conf/haproxy.cfg" out=$MH/haproxy.cfg i servers=""
	for i in $(seq "$MH_N"); do
		servers+="	server host$i 127.0.0.1:${HOST_PORT[i]}"$'\n'
	done
	LB_PORT=$(free_port)
	LB_STATS_PORT=$(free_port)
	LB_SOCK=$MH/haproxy.sock
	local fds maxconn
	fds=$(ulimit -Hn)
	[ "$fds" = unlimited ] && fds=1048576
	maxconn=$(((fds - 200) / 2))
	awk -v maxconn="$maxconn" -v lb="127.0.0.1:$LB_PORT" -v stats="127.0.0.1:$LB_STATS_PORT" \
		-v sock="$LB_SOCK" -v servers="$servers" -v root="$( [ "$(id -u)" -eq 0 ] && echo 1)" '
	/^\tlog \/dev\/log / { print "\tlog stdout format raw local0"; n["log"]++; next }
	/^\tstats socket / { sub(/stats socket [^ ]+/, "stats socket " sock); print; n["sock"]++; next }
	/^\t(chroot|user|group) / { n["priv"]++; if (root) print; next }
	/^\tmaxconn [0-9]+$/ { n["maxconn"]++; if ($2 + 0 > maxconn + 0) $0 = "\tmaxconn " maxconn; print; next }
	/^\tbind :80$/ { print "\tbind " lb; n["bind"]++; next }
	/^\tbind 127\.0\.0\.1:8404$/ { print "\tbind " stats; n["stats"]++; next }
	/^\tserver host[0-9]+ / { if (!n["server"]++) printf "%s", servers; next }
	{ print }
	END {
		if (n["log"] != 1 || n["sock"] != 1 || n["priv"] != 3 || n["bind"] != 1 || n["stats"] != 1 || n["server"] < 1 || n["maxconn"] != 1) {
			printf "conf/haproxy.cfg: expected lines not found (log %d, stats socket %d, chroot/user/group %d, bind :80 %d, stats bind %d, servers %d, maxconn %d)\n", n["log"], n["sock"], n["priv"], n["bind"], n["stats"], n["server"], n["maxconn"] > "/dev/stderr"
			exit 1
		}
	}' "$src" >"$out"
}

# lb_cmd COMMAND: HAProxy's runtime API (the stats socket): its answer.
lb_cmd() {
	"$PY" - "$LB_SOCK" "$1" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
out = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    out += d
sys.stdout.write(out.decode())
PYEOF
}

# lb_status NAME: host NAME's status in HAProxy's backend (UP, DOWN, or a
# transition like "UP 1/2"), from `show stat`.
lb_status() {
	lb_cmd "show stat" | awk -F, -v n="$1" '$1 == "lightchat_hosts" && $2 == n { print $18 }'
}

# lb_wait NAME REGEX SECONDS: waits until host NAME's status matches.
lb_wait() {
	for _ in $(seq $(($3 * 10))); do
		[[ "$(lb_status "$1")" =~ $2 ]] && return 0
		sleep 0.1
	done
	return 1
}

mh_start() {
	local n=$1 i
	shift
	MH_N=$n
	MH=$(mktemp -d /tmp/lightchat-mh.XXXXXX)
	# lib.sh's own server (LIGHTCHAT_TEST_DB=pg) is this one; one
	# inherited from tests/run.sh is left alone.
	if [ -z "${LIB_PG_OWN:-}" ]; then
		unset PG_DIR PG_DATA PG_SOCK PG_PORT PG_LOG PG_PID
		pg_start || { not_ok "PostgreSQL starts"; return 1; }
		MH_PG_OWN=1
	fi
	MH_DBNAME=$(basename "$MH" | tr 'A-Z.-' 'a-z__')
	MH_DB=$(pg_newdb "$MH_DBNAME") || { not_ok "a PostgreSQL database"; return 1; }
	# The database of q (lib.sh) is the hosts' one.
	STACK_DB=$MH_DB TEST_DB=pg
	mh_host_start 1 "$@" || return 1
	PW_alice="alice-Secret-1"
	PW_bob="bob-Secret-2"
	echo "$PW_alice" | mh_admin 1 user add alice 2>/dev/null
	echo "$PW_bob" | mh_admin 1 user add bob 2>/dev/null
	for i in $(seq 2 "$n"); do
		mh_host_start "$i" "$@" || return 1
	done
	mh_haproxy_cfg || { not_ok "HAProxy's configuration from conf/haproxy.cfg"; return 1; }
	haproxy -c -q -f "$MH/haproxy.cfg" >"$MH/haproxy.check" 2>&1 ||
		{ not_ok "haproxy -c accepts the configuration" "$(head -3 "$MH/haproxy.check")"; return 1; }
	LB_LOG=$MH/haproxy.log
	haproxy -db -f "$MH/haproxy.cfg" >"$LB_LOG" 2>&1 &
	LB_PID=$!
	LB_BASE="http://127.0.0.1:$LB_PORT"
	LB_WS="ws://127.0.0.1:$LB_PORT/ws"
	for _ in $(seq 100); do [ -S "$LB_SOCK" ] && curl -s -o /dev/null "$LB_BASE/" && break; sleep 0.1; done
	[ -S "$LB_SOCK" ] || { not_ok "HAProxy starts" "$(tail -3 "$LB_LOG")"; return 1; }
}

# mh_procs: the processes of all hosts (lib.sh's stack_procs, for each
# host's state directory).
mh_procs() {
	local i
	for i in $(seq "$MH_N"); do
		[ -n "${HOST_T[i]:-}" ] && T=${HOST_T[i]} stack_procs
	done
}

mh_stop() {
	local i p left=""
	if [ -n "$LB_PID" ]; then
		kill -TERM "$LB_PID" 2>/dev/null
		wait "$LB_PID" 2>/dev/null
		LB_PID=""
	fi
	# A paused process (the health test's) cannot stop: it goes on first.
	for p in $(mh_procs); do kill -CONT "$p" 2>/dev/null; done
	for i in $(seq "$MH_N"); do
		[ -n "${HOST_PID[i]:-}" ] && kill -TERM "${HOST_PID[i]}" 2>/dev/null
	done
	for i in $(seq "$MH_N"); do
		[ -n "${HOST_PID[i]:-}" ] || continue
		for _ in $(seq 50); do kill -0 "${HOST_PID[i]}" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "${HOST_PID[i]}" 2>/dev/null
		[ -n "${HOST_UP_PID[i]:-}" ] && kill -TERM "${HOST_UP_PID[i]}" 2>/dev/null
		wait "${HOST_UP_PID[i]}" 2>/dev/null
	done
	for _ in $(seq 30); do
		left=$(mh_procs)
		[ -z "$left" ] && break
		sleep 0.1
	done
	if [ -n "$left" ]; then
		not_ok "the hosts stop without leaving processes" "$(ps -o pid,args -p "${left//$'\n'/,}")"
		kill -KILL $left 2>/dev/null
	else
		ok "the hosts stop without leaving processes"
	fi
	for i in $(seq "$MH_N"); do
		local t=${HOST_T[i]:-}
		[ -n "$t" ] && [ -d "$t" ] || continue
		if grep -q "$API_KEY" "$t/stack.log" "$t/upstream.log"; then
			not_ok "host$i: no API key in any log line"
		fi
		if grep -qE 'eyJ[A-Za-z0-9_-]{10,}\.' "$t/stack.log"; then
			not_ok "host$i: no token in any log line"
		fi
		if ls "$t"/sanitizer.* >/dev/null 2>&1; then
			not_ok "host$i: no sanitizer report" "$(head -c 600 "$t"/sanitizer.*)"
		fi
		if [ "$FAILED" -gt 0 ]; then
			echo "#   host$i:"
			show_log "$t/stack.log"
		fi
		[ -n "${KEEP_LOGS:-}" ] && cp "$t/stack.log" "/tmp/$(basename "$0").host$i.log"
	done
	[ -n "${KEEP_LOGS:-}" ] && [ -f "${LB_LOG:-}" ] && cp "$LB_LOG" "/tmp/$(basename "$0").haproxy.log"
	[ -n "$MH_DBNAME" ] && pg_dropdb "$MH_DBNAME"
	MH_DBNAME=""
	if [ -n "$MH_PG_OWN" ]; then pg_stop; MH_PG_OWN=""; fi
	[ -n "$MH" ] && rm -rf "$MH"
	MH=""
}

# stored CONV: the state of CONV's last reply in the shared database.
stored() { q "SELECT state FROM messages WHERE conversation_id = '$1' AND role = 'assistant' ORDER BY id DESC LIMIT 1"; }

# wait_stored CONV STATE SECONDS: waits until CONV's last reply is STATE in
# the database (0), or SECONDS pass (1); prints the state it saw last.
wait_stored() {
	local end=$((SECONDS + $3)) st
	while st=$(stored "$1"); [ "$st" != "$2" ]; do
		[ "$SECONDS" -ge "$end" ] && { echo "$st"; return 1; }
		sleep 0.05
	done
	echo "$st"
}
