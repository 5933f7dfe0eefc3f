#!/usr/bin/env bash
# test-limits.sh - abuse limits: failed logins per user and per address
# (shared by every FastCGI process through the database, growing delays),
# messages per connection, replies per user; and a stopping worker that finishes its
# replies before it exits.
. "$(dirname "$0")/lib.sh"
stack_start LIGHTCHAT_LOGIN_MAX_FAILURES_USER=3 LIGHTCHAT_LOGIN_MAX_FAILURES_ADDR=8 \
	LIGHTCHAT_LOGIN_WINDOW=120 LIGHTCHAT_MAX_MESSAGES_PER_MINUTE=60 \
	LIGHTCHAT_MAX_INFLIGHT_PER_USER=2 LIGHTCHAT_DRAIN_TIMEOUT=8 || finish
J=$T/jar

for i in 1 2 3; do login alice wrong "$J" >/dev/null; done
status=$(curl -s -D "$T/h" -o "$T/b" -w '%{http_code}' -H 'Content-Type: application/json' \
	-d "{\"username\":\"alice\",\"password\":\"$PW_alice\"}" "$BASE/login")
assert_eq "3 failures for a user: the next login gets 429" "$status" "429"
retry=$(tr -d '\r' <"$T/h" | sed -n 's/^Retry-After: //p')
check "429 carries Retry-After within the window ($retry s)" test "${retry:-0}" -ge 1 -a "${retry:-0}" -le 121
assert_eq "429 keeps the seed's failure shape" "$(jq -c '[.isAuthorized,.body.token]' "$T/b")" '[false,""]'
assert_eq "another user is not limited" "$(login bob "$PW_bob" "$T/jarb")" "200"
# fail_rows KEY N: N more failures of KEY, now, straight into the database
# (so that a check below does not hang on seconds: the delay they make is
# long, 2^(failures - limit) s).
fail_rows() {
	local now i
	now=$(($(date +%s%N) / 1000000))
	for i in $(seq "$2"); do
		q "INSERT INTO login_failures (key, at) VALUES ('$1', $now)" >/dev/null
	done
}
# why: what the stack said about counting, for a failed check.
why() { grep -E 'cannot count|rate limited|login (failed|ok)' "$T/stack.log" | tail -6; }
# The counts live in the database: new FastCGI processes know them.
fail_rows user:alice 5
for p in $(stack_procs); do
	[ "$(cat /proc/$p/comm 2>/dev/null)" = lightchat.fcgi ] && kill -TERM "$p"
done
sleep 1
status=$(curl -s -D "$T/h" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
	-d "{\"username\":\"alice\",\"password\":\"$PW_alice\"}" "$BASE/login")
if [ "$status" = 429 ]; then ok "the limit survives new FastCGI processes"
else not_ok "the limit survives new FastCGI processes" "got $status" "$(why)"; fi
# Growing delays, not a wall: 8 failures against a limit of 3 wait 2^5 s.
retry2=$(tr -d '\r' <"$T/h" | sed -n 's/^Retry-After: //p')
check "the delay grew with the failures ($retry s, then $retry2 s)" \
	test "${retry2:-0}" -gt "${retry:-0}" -a "${retry2:-0}" -ge 16 -a "${retry2:-0}" -le 32
for i in 1 2 3; do login nobody x "$J" >/dev/null; done
assert_eq "unknown users are limited like known ones" "$(login nobody x "$J")" "429"
login carol x "$J" >/dev/null
fail_rows addr:127.0.0.1 4
status=$(login bob "$PW_bob" "$J")
if [ "$status" = 429 ]; then ok "8 failures from one address: everyone there gets 429"
else not_ok "8 failures from one address: everyone there gets 429" "got $status" "$(why)"; fi
check "rate limiting is logged" grep -q 'login rate limited' "$T/stack.log"

# The limits live in the database: clearing it lets people in again.
q "DELETE FROM login_failures" >/dev/null
assert_eq "after the window (failures cleared) alice logs in" "$(login alice "$PW_alice" "$J")" "200"

# A flood of messages on one connection: some are refused, none is lost
# silently, the connection and the worker survive.
wpid=$(cat "$T/state/worker.pid")
# The flood arrives while a reply streams to the same connection.
prompt after '#words:200 #slow:1' '{"stream":true}' >"$T/flood"
for i in $(seq 40); do echo '{"action":"ping"}'; done >>"$T/flood"
out=$(WSOPTS="--timeout 4 --stdin --until-final 0" ws "$J" <"$T/flood" 2>/dev/null)
pongs=$(printf '%s\n' "$out" | grep -c '"type":"pong"')
limited=$(printf '%s\n' "$out" | grep -c '"code":"rate_limited"')
assert_eq "flood while a reply streams: every message answered" "$((pongs + limited))" "40"
assert_eq "flood while a reply streams: the reply arrives whole" "$(printf '%s\n' "$out" | grep '"type":"reply"' | jq -r '.text.content | split(" ") | length')" "200"
check "flood: the burst is allowed ($pongs pongs)" test "$pongs" -ge 15
check "flood: the rest is refused ($limited)" test "$limited" -ge 1
assert_eq "flood: same worker" "$(cat "$T/state/worker.pid")" "$wpid"

# Replies per user.
WSOPTS="--timeout 20" ws "$J" "$(prompt l1 '#words:10 #slow:3')" >"$T/l1" &
a=$!
WSOPTS="--timeout 20" ws "$J" "$(prompt l2 '#words:10 #slow:3')" >"$T/l2" &
b=$!
sleep 0.8
out=$(ws "$J" "$(prompt l3 'one too many')")
assert_eq "a third reply at once for one user: too_many_requests" "$(jq -r .error.code <<<"$out")" "too_many_requests"
wait $a $b
assert_eq "the two allowed replies complete" "$(jq -r .type "$T/l1")$(jq -r .type "$T/l2")" "replyreply"

# SIGTERM: the worker finishes the reply in flight, then exits (run.sh
# restarts it); a prompt during the drain is refused politely.
WSOPTS="--timeout 30" ws "$J" "$(prompt drain '#words:20 #slow:3')" >"$T/drain" &
a=$!
sleep 1
kill -TERM "$wpid"
sleep 0.3
out=$(ws "$J" "$(prompt during 'hello')")
assert_eq "during the drain a new prompt gets server_busy" "$(jq -r .error.code <<<"$out")" "server_busy"
wait $a
assert_eq "the reply in flight finished whole" "$(jq -r '.type + " " + (.text.content | split(" ") | length | tostring)' "$T/drain")" "reply 20"
check "the drain is logged" grep -q 'stopping: finishing 1 replies' "$T/stack.log"
for _ in $(seq 50); do [ "$(cat "$T/state/worker.pid")" != "$wpid" ] && break; sleep 0.1; done
sleep 0.5
out=$(ws "$J" "$(prompt back 'back')")
assert_eq "after the restart prompts work again" "$(jq -r .text.content <<<"$out")" "You said: back"

stack_stop
finish
