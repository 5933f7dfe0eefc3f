#!/usr/bin/env bash
# test-fairness.sh - one user cannot take what the others need: WebSocket
# connections per user and per address (counted by the worker, refused with
# too_many_connections naming the limit, counted again after closes and
# after a killed session and after a worker restart), messages per user
# across connections, and replies in flight per user across connections.
. "$(dirname "$0")/lib.sh"
stack_start LIGHTCHAT_MAX_CONNECTIONS_PER_USER=4 \
	LIGHTCHAT_MAX_CONNECTIONS_PER_ADDRESS=6 \
	LIGHTCHAT_MAX_MESSAGES_PER_USER_MINUTE=40 \
	LIGHTCHAT_MAX_MESSAGES_PER_MINUTE=600 LIGHTCHAT_MAX_INFLIGHT_PER_USER=2 ||
	finish
for u in carol dave; do
	echo "$u-Secret-3" | LIGHTCHAT_CONFIG=/dev/null LIGHTCHAT_STATE="$T/state" \
		"$ADMIN" user add "$u" 2>/dev/null
done
login alice "$PW_alice" "$T/ja" >/dev/null
login bob "$PW_bob" "$T/jb" >/dev/null
login carol carol-Secret-3 "$T/jc" >/dev/null
login dave dave-Secret-3 "$T/jd" >/dev/null
HELD=""

# hold NAME JAR [CLIENT OPTION...]: a connection that pings once and stays
# open; its frames go to $T/NAME, its client's PID to pid_NAME.
hold() {
	local name=$1 jar=$2; shift 2
	"$PY" "$WSCLIENT" --cookie-jar "$jar" --timeout 60 --until-final 0 "$@" \
		"$WS" '{"action":"ping"}' >"$T/$name" 2>/dev/null &
	eval "pid_$name=$!"
	HELD="$HELD $!"
}
# first NAME: NAME's first frame (waits up to 5 s for it).
first() {
	for _ in $(seq 50); do [ -s "$T/$1" ] && break; sleep 0.1; done
	head -1 "$T/$1"
}
# release NAME...: ends those connections as a closed tab does (no close
# frame: the client is killed).
release() {
	local n p
	for n in "$@"; do
		p=$(eval "echo \$pid_$n")
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
}
# ws_count: this stack's lightchat-ws processes now.
ws_count() {
	for p in $(stack_procs); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = lightchat-ws ] && echo "$p"
	done | wc -l
}
# wait_ws N: waits up to 3 s until N lightchat-ws processes are left.
wait_ws() {
	for _ in $(seq 30); do [ "$(ws_count)" -le "$1" ] && break; sleep 0.1; done
}
# pongs NAME...: how many of those connections got their pong.
pongs() {
	local n=0 x
	for x in "$@"; do [ "$(first "$x" | jq -r .type)" = pong ] && n=$((n + 1)); done
	echo "$n"
}

# Connections per user: alice up to the limit, then one more.
for i in 1 2 3 4; do hold a$i "$T/ja"; done
assert_eq "alice's connections up to the limit (4) are served" "$(pongs a1 a2 a3 a4)" 4
start=$(date +%s)
out=$(WSOPTS="--timeout 8 --until-final 0" ws "$T/ja" '{"action":"ping"}' 2>/dev/null)
took=$(($(date +%s) - start))
assert_eq "alice's 5th connection: too_many_connections" \
	"$(head -1 <<<"$out" | jq -r .error.code)" "too_many_connections"
assert_match "the refusal names the limit" "$(head -1 <<<"$out" | jq -r .error.message)" \
	'at most 4 \(max_connections_per_user\)'
check "the refused connection is closed by the server (${took} s)" test "$took" -lt 5
check "the refused connection got no pong" test "$(grep -c '"pong"' <<<"$out")" -eq 0
check "the refusal is logged with the user and the reason" \
	grep -q 'session refused user=alice peer=.*too many connections (user)' "$T/stack.log"
out=$(ws "$T/jb" "$(prompt b1 'hello from bob')")
assert_eq "bob connects meanwhile and gets his reply" "$(final "$out" | jq -r .text.content)" \
	"You said: hello from bob"
alive=0
for i in 1 2 3 4; do kill -0 "$(eval "echo \$pid_a$i")" 2>/dev/null && alive=$((alive + 1)); done
assert_eq "alice's other connections stay open" "$alive" 4

# Connections per address: every client here is 127.0.0.1; lighttpd's
# mod_proxy passes it in X-Forwarded-For (websocketd's REMOTE_ADDR is
# lighttpd's own, also 127.0.0.1); the worker counts the last item.
wait_ws 4
hold b1 "$T/jb"
hold b2 "$T/jb"
assert_eq "bob's 2 connections fill the address (6 with alice's 4)" "$(pongs b1 b2)" 2
out=$(WSOPTS="--timeout 8 --until-final 0" ws "$T/jb" '{"action":"ping"}' 2>/dev/null)
assert_eq "a 7th connection from the address: too_many_connections" \
	"$(head -1 <<<"$out" | jq -r .error.code)" "too_many_connections"
assert_match "the refusal names the address limit" "$(head -1 <<<"$out" | jq -r .error.message)" \
	'at most 6 \(max_connections_per_address\)'
check "the worker saw 127.0.0.1 as the address" \
	grep -q 'session refused user=bob peer=127.0.0.1: too many connections (address)' "$T/stack.log"
out=$("$PY" "$WSCLIENT" --cookie-jar "$T/jb" --timeout 8 --until-final 0 \
	--header 'X-Forwarded-For: 203.0.113.9' "$WS" '{"action":"ping"}' 2>/dev/null)
assert_eq "a client's own X-Forwarded-For does not make another address" \
	"$(head -1 <<<"$out" | jq -r .error.code)" "too_many_connections"
check "lighttpd appends the address it saw (the last item is counted)" \
	grep -q 'session refused user=bob peer=203.0.113.9, 127.0.0.1: too many connections (address)' \
	"$T/stack.log"

# Counts recover after closes.
release a1 a2 a3 a4
wait_ws 2
for i in 5 6 7 8; do hold a$i "$T/ja"; done
assert_eq "after alice's connections close, 4 new ones are served" "$(pongs a5 a6 a7 a8)" 4
release b1 b2
wait_ws 4

# A session killed without its bye: the worker's sweep finds its connection
# gone and stops counting it.
victim=""
tok=$(token_of "$T/ja")
for p in $(stack_procs); do
	[ "$(cat "/proc/$p/comm" 2>/dev/null)" = lightchat-ws ] &&
		grep -qzF "$tok" "/proc/$p/environ" && victim=$p && break
done
check "one of alice's sessions found" test -n "$victim"
kill -KILL "$victim" 2>/dev/null
got=""
for _ in $(seq 10); do
	sleep 0.5
	got=$(WSOPTS="--timeout 5 --until-final 0" ws "$T/ja" '{"action":"ping"}' \
		2>/dev/null | head -1 | jq -r '.type')
	[ "$got" = pong ] && break
done
assert_eq "after one of alice's sessions is killed, a new connection is served" "$got" pong
check "the killed session's end is logged" grep -q 'session gone without a bye' "$T/stack.log"
release a5 a6 a7 a8
wait_ws 0

# Messages per user, across connections: 40 a minute (bursts of 11), while
# each connection alone may send 600 a minute.
pings=$(for _ in $(seq 12); do printf '%s\n' '{"action":"ping"}'; done)
WSOPTS="--timeout 3 --until-final 0 --stdin" ws "$T/jc" <<<"$pings" >"$T/c1" 2>/dev/null &
c1=$!
WSOPTS="--timeout 3 --until-final 0 --stdin" ws "$T/jc" <<<"$pings" >"$T/c2" 2>/dev/null &
c2=$!
wait $c1 $c2
p=$(cat "$T/c1" "$T/c2" | grep -c '"type":"pong"')
l=$(cat "$T/c1" "$T/c2" | grep -c '"code":"rate_limited"')
assert_eq "carol's 24 messages on two connections: each answered" "$((p + l))" 24
check "the user's burst is allowed across both ($p pongs)" test "$p" -ge 11 -a "$p" -le 13
check "the rest is refused ($l)" test "$l" -ge 11
assert_match "the refusal names the per-user limit" \
	"$(grep -h rate_limited "$T/c1" "$T/c2" | head -1 | jq -r .error.message)" \
	'at most 40 a minute \(max_messages_per_user_minute\)'
assert_eq "the refusal keeps the rate-limit shape" \
	"$(grep -h rate_limited "$T/c1" "$T/c2" | head -1 | jq -c '[.type, .error.code, .msgid]')" \
	'["error","rate_limited",null]'
out=$(WSOPTS="--timeout 5 --until-final 0" ws "$T/jd" '{"action":"ping"}' 2>/dev/null)
assert_eq "meanwhile another user's messages are answered" "$(head -1 <<<"$out" | jq -r .type)" pong

# Replies in flight per user hold across connections.
wait_ws 0
WSOPTS="--timeout 20" ws "$T/jd" "$(prompt d1 '#words:10 #slow:3')" >"$T/d1" 2>/dev/null &
d1=$!
WSOPTS="--timeout 20" ws "$T/jd" "$(prompt d2 '#words:10 #slow:3')" >"$T/d2" 2>/dev/null &
d2=$!
sleep 1
out=$(ws "$T/jd" "$(prompt d3 'one too many')")
assert_eq "a third reply at once on a third connection: too_many_requests" \
	"$(final "$out" | jq -r .error.code)" "too_many_requests"
out=$(ws "$T/jb" "$(prompt b2 'bob is not limited')")
assert_eq "another user's reply meanwhile" "$(final "$out" | jq -r .text.content)" \
	"You said: bob is not limited"
wait $d1 $d2
assert_eq "the two allowed replies complete" "$(final "$(cat "$T/d1")" | jq -r .type)$(final "$(cat "$T/d2")" | jq -r .type)" \
	"replyreply"

# After a worker restart the open sessions are counted at once: each says
# hello again when its connection to the new worker is up.
wait_ws 0
for i in 9 10 11 12; do hold a$i "$T/ja"; done
assert_eq "alice's 4 connections before the restart" "$(pongs a9 a10 a11 a12)" 4
opened() { grep -c 'session open user=alice' "$T/stack.log"; }
before=$(opened)
wpid=$(cat "$T/state/worker.pid")
kill -KILL "$wpid"
for _ in $(seq 100); do
	[ "$(cat "$T/state/worker.pid" 2>/dev/null)" != "$wpid" ] && [ "$(opened)" -ge $((before + 4)) ] && break
	sleep 0.1
done
assert_eq "the restarted worker hears each open session's hello" "$(($(opened) - before))" 4
out=$(WSOPTS="--timeout 8 --until-final 0" ws "$T/ja" '{"action":"ping"}' 2>/dev/null)
assert_eq "so alice's 5th connection is refused at once after the restart" \
	"$(head -1 <<<"$out" | jq -r .error.code)" "too_many_connections"
release a9 a10 a11 a12

for p in $HELD; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
stack_stop
finish
