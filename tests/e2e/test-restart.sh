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
