#!/usr/bin/env bash
# test-ws.sh - the WebSocket path end to end: lighttpd's authorizer, websocketd,
# lightchat-ws, ZeroMQ, the worker and the fake upstream.
. "$(dirname "$0")/lib.sh"
stack_start LIGHTCHAT_MAX_MESSAGE=4096 LIGHTCHAT_MAX_INFLIGHT_PER_USER=25 || finish
J=$T/jar
login alice "$PW_alice" "$J" >/dev/null
TOKEN=$(token_of "$J")
export WSOPTS="--timeout 20"

# Refusals happen before the upgrade.
exec 3>&2 2>/dev/null  # the refusals' bodies go to stderr
out=$("$PY" "$WSCLIENT" "$WS")
assert_eq "ws without credentials: 401" "$out" "HTTP 401"
out=$("$PY" "$WSCLIENT" "$WS?token=Bearer%20${TOKEN}x")
assert_eq "ws with a forged token: 401" "$out" "HTTP 401"
out=$("$PY" "$WSCLIENT" "$WS?token=Bearer%20$(make_token HS256 -10)")
assert_eq "ws with an expired token: 401" "$out" "HTTP 401"
out=$("$PY" "$WSCLIENT" "$WS?token=Bearer%20$(make_token HS512 3600)")
assert_eq "ws with an HS512 token made with the same key: 401" "$out" "HTTP 401"
out=$("$PY" "$WSCLIENT" "$WS?token=Bearer%20$(make_token none 3600)")
assert_eq "ws with an alg=none token: 401" "$out" "HTTP 401"
out=$("$PY" "$WSCLIENT" --cookie-jar "$J" --origin http://evil.example "$WS")
assert_eq "ws from a foreign origin: 403" "$out" "HTTP 403"
out=$("$PY" "$WSCLIENT" --cookie "xlightchat_session=$TOKEN" "$WS")
assert_eq "ws with a cookie whose name only ends in the right name: 401" "$out" "HTTP 401"
exec 2>&3 3>&-

# The seed's request: token in the query, no stream flag; exactly one frame
# back, in the seed's shape.
seed=$(jq -cn '{action:"sendprompt",payload:{msgid:"seed-1",messages:[{role:"user",content:"Hello seed"}],
	params:{model_name:"gpt-3.5-turbo",max_tokens:4096,temperature:0.7,top_p:1,frequency_penalty:0,presence_penalty:0}}}')
out=$("$PY" "$WSCLIENT" --timeout 20 "$WS?token=Bearer%20$TOKEN" "$seed")
assert_eq "seed prompt: exactly one frame" "$(printf '%s\n' "$out" | wc -l)" "1"
assert_eq "seed prompt: seed-shaped reply" "$(jq -c '{msgid,text}' <<<"$out")" '{"msgid":"seed-1","text":{"role":"assistant","content":"You said: Hello seed"}}'
assert_eq "seed prompt: usage reported" "$(jq -c '[.usage.prompt_tokens,.usage.completion_tokens,.usage.total_tokens]' <<<"$out")" "[2,4,6]"
req=$(curl -s "$UP/_requests" | jq -c '.[-1]')
assert_eq "upstream got the aliased model" "$(jq -r .model <<<"$req")" "gpt-4o-mini"
assert_eq "upstream got the parameters" "$(jq -c '[.max_tokens,.temperature,.top_p,.stream]' <<<"$req")" "[4096,0.7,1,true]"
assert_eq "upstream got the API key" "$(jq -r ._auth <<<"$req")" "true"
out=$("$PY" "$WSCLIENT" --timeout 20 --origin http://seed.example "$WS?token=Bearer%20$TOKEN" "$seed")
assert_eq "seed prompt from the configured other origin works" "$(jq -r .text.content <<<"$out")" "You said: Hello seed"

# Streaming: deltas first, and they add up to the final reply.
out=$(ws "$J" "$(prompt s1 '#unicode' '{"stream":true}')")
deltas=$(printf '%s\n' "$out" | jq -rj 'select(.type=="delta") | .delta')
assert_eq "stream: final reply" "$(final "$out" | jq -r .text.content)" "héllo wörld — ✓ 日本語 🚀 done"
assert_eq "stream: deltas add up to the final reply" "$deltas" "héllo wörld — ✓ 日本語 🚀 done"
# The fake upstream's tokens come 2 ms apart: the first goes at once, the
# rest within stream_coalesce_ms of it together (test-coalesce.sh).
check "stream: more than one delta" test "$(printf '%s\n' "$out" | grep -c '"type":"delta"')" -ge 2
out=$(ws "$J" "$(prompt s2 '#words:300' '{"stream":true}')")
deltas=$(printf '%s\n' "$out" | jq -rj 'select(.type=="delta") | .delta')
assert_eq "stream: 300 words add up" "$deltas" "$(final "$out" | jq -r .text.content)"
assert_eq "stream: 300 words arrive" "$(final "$out" | jq -r '.text.content | split(" ") | length')" "300"
out=$(ws "$J" "$(prompt s3 'multi-line
prompt with "quotes" and \ backslash ✓')")
assert_eq "prompt with newlines, quotes and UTF-8 round-trips" "$(final "$out" | jq -r .text.content)" 'You said: multi-line
prompt with "quotes" and \ backslash ✓'

out=$(ws "$J" "$(prompt ns '#nostream #unicode' '{"stream":true}')")
assert_eq "a server that ignores stream: whole reply still arrives" "$(final "$out" | jq -c '[.type,.text.content]')" '["reply","héllo wörld — ✓ 日本語 🚀 done"]'

# Bad input gets an error frame, and the connection goes on.
out=$(WSOPTS="--timeout 20 --until-final 1" ws "$J" 'not json')
assert_eq "bad JSON: error code" "$(jq -r .error.code <<<"$out")" "bad_json"
assert_eq "bad JSON: text.content is a string without role" "$(jq -c '[(.text.content|type),(.text.role)]' <<<"$out")" '["string",null]'
out=$(WSOPTS="--timeout 20 --until-final 1" ws "$J" '{"action":"dance"}')
assert_eq "unknown action: error code" "$(jq -r .error.code <<<"$out")" "unknown_action"
out=$(ws "$J" "$(prompt m1 'hi' '{"params":{"model_name":"gpt-99"}}')")
assert_eq "model not allowed: error code" "$(jq -r .error.code <<<"$out")" "model_not_allowed"
assert_eq "model not allowed: msgid echoed" "$(jq -r .msgid <<<"$out")" "m1"
out=$(ws "$J" "$(prompt m2 'hi' '{"params":{"temperature":7}}')")
assert_eq "temperature out of range: field named" "$(jq -c '[.error.code,.error.field]' <<<"$out")" '["invalid_request","params.temperature"]'
out=$(ws "$J" '{"action":"sendprompt","payload":{"msgid":"m3","messages":[]}}')
assert_eq "empty messages: invalid_request" "$(jq -r .error.code <<<"$out")" "invalid_request"
big=$(jq -cn --arg t "$(head -c 6000 /dev/zero | tr '\0' 'x')" '{action:"sendprompt",payload:{msgid:"big",messages:[{role:"user",content:$t}]}}')
out=$(WSOPTS="--timeout 20 --until-final 1" ws "$J" "$big")
assert_eq "message over max_message: error code" "$(jq -r .error.code <<<"$out")" "message_too_large"
out=$(WSOPTS="--timeout 20 --until-final 2" ws "$J" 'oops' "$(prompt after 'still here')")
assert_eq "after an error the connection goes on" "$(final "$out" | jq -r .text.content)" "You said: still here"
out=$(WSOPTS="--timeout 3 --until-final 0" ws "$J" $'{"action":"ping"}\n{"action":"ping"}' 2>/dev/null)
assert_eq "a raw newline splits a message; each part is answered" "$(printf '%s\n' "$out" | grep -c pong)" "2"
out=$(WSOPTS="--timeout 5 --until-final 0" ws "$J" '{"action":"ping"}' 2>/dev/null)
assert_eq "ping: pong" "$(printf '%s\n' "$out" | head -1)" '{"type":"pong"}'
out=$(WSOPTS="--timeout 20 --until-final 2" ws "$J" "$(prompt dup '#slow:1')" "$(prompt dup 'again')")
assert_eq "duplicate msgid in flight: error" "$(printf '%s\n' "$out" | jq -r 'select(.type=="error") | .error.code')" "duplicate_msgid"

# Upstream failures end in a clear error frame, never a hang.
err_case() {  # NAME DIRECTIVE CODE
	local out
	out=$(ws "$J" "$(prompt "e-$2" "$2")")
	assert_eq "upstream $1: error code" "$(final "$out" | jq -r .error.code)" "$3"
	assert_eq "upstream $1: text.content says Error" "$(final "$out" | jq -r '.text.content | startswith("Error: ")')" "true"
}
err_case 429 '#status:429' upstream_rate_limited
out=$(ws "$J" "$(prompt r429 '#status:429')")
assert_eq "upstream 429: Retry-After passed on" "$(jq -r .error.retry_after <<<"$out")" "7"
err_case 500 '#status:500' upstream_error
out=$(ws "$J" "$(prompt r500 '#status:500')")
assert_eq "upstream 500: status passed on" "$(jq -r .error.status <<<"$out")" "500"
err_case 401 '#status:401' upstream_auth
err_case truncated '#truncate' upstream_truncated
out=$(ws "$J" "$(prompt trunc2 '#truncate')")
check "upstream truncated: partial text kept" test -n "$(jq -r .error.partial <<<"$out")"
err_case hung '#hang' upstream_timeout
err_case "HTML page with 200" '#html200' upstream_bad_response
err_case "invalid JSON event" '#badjson' upstream_bad_response
err_case "error event mid-stream" '#midstream-error' upstream_error

# A client that vanishes mid-reply: the reply goes on and is stored (issue
# #4), and the worker stays healthy.
wpid=$(worker_pid)
out=$(WSOPTS="--timeout 20 --close-after 2" ws "$J" "$(prompt gone '#words:30 #slow:2' '{"stream":true}')")
for _ in $(seq 50); do
	grep -q 'reply complete user=alice msgid=gone.*client=gone' "$T/stack.log" && break
	sleep 0.1
done
check "client gone mid-reply: the reply still completes" grep -q 'reply complete user=alice msgid=gone.*client=gone' "$T/stack.log"
out=$(ws "$J" "$(prompt back 'back again')")
assert_eq "client gone mid-reply: worker still answers" "$(jq -r .text.content <<<"$out")" "You said: back again"
assert_eq "client gone mid-reply: same worker process" "$(worker_pid)" "$wpid"

# Stop: the final frame keeps the text so far; the upstream request closes.
before=$(curl -s "$UP/_stats" | jq .client_closed)
out=$(WSOPTS="--timeout 20 --send-after-frames 3 {\"action\":\"stop\",\"payload\":{\"msgid\":\"st\"}}" \
	ws "$J" "$(prompt st '#words:200 #slow:8' '{"stream":true}')")
fin=$(final "$out")
assert_eq "stop: final frame is a reply marked stopped" "$(jq -c '[.type,.finish_reason]' <<<"$fin")" '["reply","stopped"]'
deltas=$(printf '%s\n' "$out" | jq -rj 'select(.type=="delta") | .delta')
assert_eq "stop: final text equals the deltas sent" "$(jq -r .text.content <<<"$fin")" "$deltas"
check "stop: partial, not the whole reply" test "$(jq -r '.text.content | split(" ") | length' <<<"$fin")" -lt 200
sleep 0.5
check "stop: upstream request closed" test "$(curl -s "$UP/_stats" | jq .client_closed)" -gt "$before"

# 20 simultaneous connections each get their own reply.
for i in $(seq 20); do
	WSOPTS="--timeout 30" ws "$J" "$(prompt "c$i" "client $i #words:30" '{"stream":true}')" >"$T/c$i.out" 2>&1 &
	pids[$i]=$!
done
good=0
for i in $(seq 20); do
	wait "${pids[$i]}"
	fin=$(tail -1 "$T/c$i.out")
	deltas=$(grep '"type":"delta"' "$T/c$i.out" | jq -rj .delta)
	if [ "$(jq -r .msgid <<<"$fin")" = "c$i" ] && [ "$(jq -r '.text.content | split(" ") | length' <<<"$fin")" = 30 ] &&
		[ "$deltas" = "$(jq -r .text.content <<<"$fin")" ] && ! grep -q "\"msgid\":\"c[0-9]*\"" <(grep -v "\"msgid\":\"c$i\"" "$T/c$i.out"); then
		good=$((good + 1))
	fi
done
assert_eq "20 simultaneous connections: each gets its own whole reply" "$good" "20"

# A model's control characters reach no client (each would be six bytes
# in JSON): replaced with U+FFFD in the deltas, the final and the store.
out=$(ws "$J" "$(prompt ctl '#ctrl:1' '{"stream":true}')")
fin=$(final "$out")
assert_eq "control characters in a reply: it completes" "$(jq -r .type <<<"$fin")" reply
assert_eq "... each one is U+FFFD in the final frame" \
	"$(jq -r '.text.content | [scan("\ufffd")] | length' <<<"$fin")" 1023
check "... none is sent escaped" bash -c "! grep -qi 'u000\|u001' <<<\"\$1\"" _ "$out"
deltas=$(grep '"type":"delta"' <<<"$out" | jq -rj .delta)
assert_eq "... the deltas add up to the final" "$deltas" "$(jq -r .text.content <<<"$fin")"
conv=$(jq -r .conversation_id <<<"$fin")
assert_eq "... and the stored reply is the same text" \
	"$(curl -s -b "$J" "$BASE/api/conversations/$conv" | jq -r '.messages[-1].content')" \
	"$(jq -r .text.content <<<"$fin")"

# Sessions end with their connections.
n=$(sessions_left)
assert_eq "no session process outlives its connection" "$n" "0"
assert_eq "the worker survived everything" "$(worker_pid)" "$wpid"

stack_stop
finish
