#!/usr/bin/env bash
# test-restart.sh - the worker and websocketd are restarted when they exit,
# and an open connection carries on through a worker restart (credentials
# ride on every message, so the new worker needs no handshake).
. "$(dirname "$0")/lib.sh"
stack_start || finish
J=$T/jar
login alice "$PW_alice" "$J" >/dev/null

wpid=$(cat "$T/state/worker.pid")
out=$( { prompt r1 'before restart'; sleep 1; kill -TERM "$wpid"; sleep 1.5; prompt r2 'after restart'; } |
	WSOPTS="--timeout 20 --stdin --until-final 2" ws "$J")
assert_eq "open connection: reply before the worker restart" "$(printf '%s\n' "$out" | jq -r 'select(.msgid=="r1") | .text.content')" "You said: before restart"
assert_eq "open connection: reply after the worker restart" "$(printf '%s\n' "$out" | jq -r 'select(.msgid=="r2") | .text.content')" "You said: after restart"
check "the worker was restarted with a new PID" test "$(cat "$T/state/worker.pid")" != "$wpid"
check "the restart is logged" grep -q 'the worker exited (status 0); restarting it' "$T/stack.log"

# A paused worker (SIGSTOP) while a client floods 12 MB of big messages: the
# session's queue is bounded (it stops reading the client instead of
# growing), and once the worker goes on every message is answered.
pad=$(head -c 200000 /dev/zero | tr '\0' x)
for _ in $(seq 60); do printf '{"action":"ping","pad":"%s"}\n' "$pad"; done >"$T/bigflood"
wpid=$(cat "$T/state/worker.pid")
kill -STOP "$wpid"
WSOPTS="--timeout 20 --stdin --until-final 0" ws "$J" <"$T/bigflood" >"$T/bigout" 2>/dev/null &
cpid=$!
sleep 4
rss=0
for p in $(stack_procs); do
	if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = lightchat-ws ]; then
		r=$(awk '/^VmRSS/ {print $2}' "/proc/$p/status")
		[ "${r:-0}" -gt "$rss" ] && rss=$r
	fi
done
kill -CONT "$wpid"
wait "$cpid"
pongs=$(grep -c '"type":"pong"' "$T/bigout")
limited=$(grep -c '"code":"rate_limited"' "$T/bigout")
if ldd "$BIN/lightchat-ws" 2>/dev/null | grep -q libasan; then
	# ASan's shadow memory and quarantine make RSS meaningless here
	echo "skip - paused worker, 12 MB flood: the session stays small (sanitizer build: ${rss} kB RSS)"
else
	check "paused worker, 12 MB flood: the session stays small (${rss} kB RSS)" test "$rss" -gt 0 -a "$rss" -lt 8000
fi
assert_eq "paused worker, 12 MB flood: every message answered ($pongs pongs, $limited limited)" "$((pongs + limited))" "60"
assert_eq "paused worker: same worker afterwards" "$(cat "$T/state/worker.pid")" "$wpid"

kill -TERM "$(cat "$T/state/websocketd.pid")"
ok=0
for _ in $(seq 50); do
	out=$(WSOPTS="--timeout 10" ws "$J" "$(prompt r3 'websocketd is back')" 2>/dev/null)
	[ "$(jq -r .text.content <<<"$out" 2>/dev/null)" = "You said: websocketd is back" ] && { ok=1; break; }
	sleep 0.2
done
assert_eq "after websocketd is killed, new connections work again" "$ok" "1"

stack_stop
finish
