# pg.sh - a private PostgreSQL server for the tests (sourced, by lib.sh in
# PostgreSQL mode and by multihost.sh): its own data directory in a temp
# dir, its own unix socket directory and a free loopback port, stopped by
# PID. Debian's postgresql-15 binaries, never the Debian cluster ("main",
# pg_ctlcluster, the service): nothing here touches the system's servers.
#
#   pg_start          starts a server; sets PG_DIR, PG_DATA, PG_SOCK, PG_PORT,
#                     PG_LOG and PG_PID, and exports the first four so
#                     that test scripts started below find it
#   pg_newdb NAME     creates database NAME and prints its URL
#   pg_dropdb NAME    drops it (its connections too)
#   pg_restart        stops the server and starts it again on the same
#                     directory and port; its halves pg_ctl_stop and
#                     pg_ctl_start for an outage with checks in between
#   pg_stop           stops it (pg_ctl stop -m fast, then SIGKILL by PID) and
#                     removes its directory
#   pq URL SQL        the rows of SQL through psql: columns joined by '|',
#                     NULL as "null" (like lib.sh's q on SQLite), stops at the
#                     first error
#
# As root (CI), the server runs as user postgres (postgres refuses to run as
# root) in a directory postgres owns; the programs under test still connect
# as any local user: the cluster is made with -A trust and every URL names
# user=postgres. The URL reaches the server through its unix socket, not
# TCP: run.sh puts the FastCGI program in a private network namespace,
# where the host's 127.0.0.1 is another address but a socket file is the
# same file.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

# pg_as CMD...: runs a server program as the server's owner.
pg_as() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# pg_free_port: a loopback port free now (python, as lib.sh's free_port).
pg_free_port() {
	"${PY:-python3}" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# pg_ctl_start: starts the server on PG_DATA (made by pg_start) and waits
# until it takes connections; sets PG_PID. fsync off and no synchronous
# commit: a test server, whose data nobody keeps, several times faster on a
# loaded CI disk. PG_SERVER_OPTS replaces those settings (bench/pg.sh: a
# durable server, as in production).
pg_ctl_start() {
	local i
	PG_LOG=${PG_LOG:-$PG_DIR/server.log}
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 30 -s \
		-o "-c port=$PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG_SOCK -c max_connections=400 -c log_min_messages=warning -c log_connections=off ${PG_SERVER_OPTS:--c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=32MB}" \
		start >/dev/null || { tail -5 "$PG_LOG" >&2; return 1; }
	PG_PID=$(head -1 "$PG_DATA/postmaster.pid" 2>/dev/null)
	for i in $(seq 100); do
		"$PG_BIN/pg_isready" -q -h "$PG_SOCK" -p "$PG_PORT" && return 0
		sleep 0.05
	done
	echo "pg.sh: the server on $PG_SOCK:$PG_PORT does not answer" >&2
	return 1
}

pg_start() {
	[ -x "$PG_BIN/initdb" ] || { echo "pg.sh: $PG_BIN/initdb missing (scripts/deps.sh all installs postgresql-15)" >&2; return 1; }
	PG_DIR=$(mktemp -d /tmp/lightchat-pg.XXXXXX) || return 1
	PG_DATA=$PG_DIR/data
	PG_SOCK=$PG_DIR/sock
	PG_LOG=$PG_DIR/server.log
	mkdir -m 700 "$PG_DATA" "$PG_SOCK"
	# The socket directory is the server's (it writes the socket and its
	# lock file there); others reach it through 711 on the way down: root
	# runs the programs under test and connects anyway.
	chmod 711 "$PG_DIR"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$PG_DATA" "$PG_SOCK" || return 1
		: >"$PG_LOG" && chown postgres: "$PG_LOG"
	fi
	pg_as "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U postgres -E UTF8 \
		--locale=C.UTF-8 --no-sync >"$PG_DIR/initdb.log" 2>&1 ||
		{ tail -5 "$PG_DIR/initdb.log" >&2; rm -rf "$PG_DIR"; return 1; }
	PG_PORT=$(pg_free_port)
	pg_ctl_start || { pg_stop; return 1; }
	export PG_DIR PG_DATA PG_SOCK PG_PORT
}

# pg_url DB: the URL of database DB on this server.
pg_url() { printf 'postgresql:///%s?host=%s&port=%s&user=postgres\n' "$1" "$PG_SOCK" "$PG_PORT"; }

pg_newdb() {
	pq "$(pg_url postgres)" "CREATE DATABASE \"$1\"" >/dev/null || return 1
	pg_url "$1"
}

pg_dropdb() {
	pq "$(pg_url postgres)" "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" >/dev/null
}

# pg_kill: SIGKILL of the server's postmaster and of what is left of its
# children (they are told apart by their data directory in the command
# line of the postmaster only, so: by the PIDs that have it as parent).
pg_kill() {
	local p kids
	[ -n "${PG_PID:-}" ] || return 0
	kids=$(pgrep -P "$PG_PID" 2>/dev/null)
	kill -KILL "$PG_PID" $kids 2>/dev/null
	for _ in $(seq 50); do kill -0 "$PG_PID" 2>/dev/null || break; sleep 0.1; done
}

# pg_ctl_stop: a fast shutdown (open connections are ended), by pg_ctl;
# a server that does not go in 10 s is killed.
pg_ctl_stop() {
	[ -n "${PG_DATA:-}" ] && [ -f "$PG_DATA/postmaster.pid" ] || return 0
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 10 -s stop >/dev/null 2>&1 || pg_kill
	if [ -n "${PG_PID:-}" ] && kill -0 "$PG_PID" 2>/dev/null; then pg_kill; fi
	return 0
}

pg_restart() {
	pg_ctl_stop
	pg_ctl_start
}

pg_stop() {
	pg_ctl_stop
	[ -n "${PG_DIR:-}" ] && rm -rf "$PG_DIR"
	unset PG_DIR PG_DATA PG_SOCK PG_PORT PG_PID
	return 0
}

pq() {
	psql -XAtq -v ON_ERROR_STOP=1 -P null=null -d "$1" -c "$2"
}
