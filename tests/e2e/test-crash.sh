#!/usr/bin/env bash
# test-crash.sh - a worker killed mid-reply (SIGKILL): every client with a
# reply in flight (a page-shaped and a seed-shaped one) gets its final
# worker_unavailable frame at once, its connection then works again for a
# new prompt, and the history shows the reply interrupted, not complete; the
# restart counts each such reply in the usage ledger, estimated.
. "$(dirname "$0")/lib.sh"
stack_start || finish
J=$T/jar
login alice "$PW_alice" "$J" >/dev/null
TOKEN=$(token_of "$J")


mkfifo "$T/page.in" "$T/seed.in"
# Each client's input stays open (fd 7, 8) until the end, so the connection
# outlives the crash. A third client, seed-shaped without stream (the seed's
# usual request), gets no frame at all before its final one.
WSOPTS="--timeout 60 --stdin --until-final 2" ws "$J" <"$T/page.in" >"$T/page.out" 2>"$T/page.err" &
PAGE=$!
"$PY" "$WSCLIENT" --timeout 60 --stdin --until-final 2 "$WS?token=Bearer%20$TOKEN" \
	<"$T/seed.in" >"$T/seed.out" 2>"$T/seed.err" &
SEED=$!
exec 7>"$T/page.in" 8>"$T/seed.in"

long='#words:200 #slow:10 a long answer'
jq -cn --arg p "$long" '{action:"sendprompt",payload:{msgid:"p1",prompt:$p,stream:true}}' >&7
jq -cn --arg p "$long" '{action:"sendprompt",payload:{msgid:"s1",stream:true,
	messages:[{role:"user",content:$p}]}}' >&8
nostream=$(jq -cn --arg p "$long" '{action:"sendprompt",payload:{msgid:"n1",messages:[{role:"user",content:$p}]}}')
"$PY" "$WSCLIENT" --timeout 30 "$WS?token=Bearer%20$TOKEN" "$nostream" >"$T/nostream.out" 2>/dev/null &
NOSTREAM=$!
check "page client: its reply streams" wait_for "$T/page.out" '"msgid":"p1".*"type":"delta"' 10
check "seed client: its reply streams" wait_for "$T/seed.out" '"msgid":"s1".*"type":"delta"' 10
check "seed client without stream: its reply started" wait_for "$T/stack.log" 'reply start user=alice msgid=n1 ' 10
sleep 1.2   # the 1 s save has stored some of the text

wpid=$(cat "$T/state/worker.pid")
ready_before=$(grep -c 'worker: ready' "$T/stack.log")
kill -KILL "$wpid"
t0=$(date +%s%N)
check "page client: a final frame within 5 s of the kill" wait_for "$T/page.out" '"msgid":"p1".*"type":"(error|reply)"' 5
check "seed client: a final frame within 5 s of the kill" wait_for "$T/seed.out" '"msgid":"s1".*"type":"(error|reply)"' 5
check "seed client without stream: a final frame within 5 s of the kill" wait_for "$T/nostream.out" '"msgid":"n1"' 5
ms=$((($(date +%s%N) - t0) / 1000000))
echo "# the three final frames $ms ms after the kill"

pfinal=$(jq -c 'select(.msgid=="p1" and (.type=="error" or .type=="reply"))' "$T/page.out")
sfinal=$(jq -c 'select(.msgid=="s1" and (.type=="error" or .type=="reply"))' "$T/seed.out")
assert_eq "page client: the final frame is worker_unavailable" "$(jq -r .error.code <<<"$pfinal")" "worker_unavailable"
assert_eq "seed client: the final frame is worker_unavailable" "$(jq -r .error.code <<<"$sfinal")" "worker_unavailable"
assert_eq "seed client: in the seed's error shape (text without role)" \
	"$(jq -c '[.type, (.text.content|startswith("Error: ")), (.text|has("role"))]' <<<"$sfinal")" '["error",true,false]'
wait "$NOSTREAM"; nrc=$?
assert_eq "seed client without stream: one frame, worker_unavailable, and it ends the client" \
	"$(jq -c '[.msgid, .type, .error.code]' "$T/nostream.out") $nrc" '["n1","error","worker_unavailable"] 0'
assert_eq "page client: exactly one final frame for p1" "$(grep -c '"msgid":"p1".*"type":"\(error\|reply\)"' "$T/page.out")" "1"
CID=$(jq -r 'select(.type=="start" and .msgid=="p1") | .conversation_id' "$T/page.out")
SCID=$(jq -r 'select(.msgid=="s1") | .conversation_id // empty' "$T/seed.out" | head -1)
assert_eq "page client: the frame names the conversation" "$(jq -r .conversation_id <<<"$pfinal")" "$CID"

# The worker comes back (run.sh restarts it); the history says interrupted.
back=0
for _ in $(seq 100); do
	[ "$(grep -c 'worker: ready' "$T/stack.log")" -gt "$ready_before" ] && { back=1; break; }
	sleep 0.1
done
assert_eq "the worker is restarted" "$back" "1"
check "the restart marks the reply interrupted" grep -q 'marked 3 unfinished replies as interrupted' "$T/stack.log"
conv=$(curl -s -b "$J" "$BASE/api/conversations/$CID")
assert_eq "history: the page's reply is interrupted, with the text saved so far" \
	"$(jq -c '.messages[-1] | [.role, .state, (.content|length > 0)]' <<<"$conv")" '["assistant","interrupted",true]'
assert_eq "history: the interrupted reply's error says the worker stopped" \
	"$(jq -r '.messages[-1].error' <<<"$conv")" "worker_unavailable"
sconv=$(curl -s -b "$J" "$BASE/api/conversations/$SCID")
assert_eq "history: the seed client's reply is interrupted" \
	"$(jq -c '.messages[-1] | [.role, .state]' <<<"$sconv")" '["assistant","interrupted"]'
# The usage ledger (issue 16): the restart counted each reply it marked,
# estimated from the text saved (a token per 4 bytes, rounded up), the
# prompt unknown (0), at no cost.
assert_eq "ledger: one interrupted, estimated row per marked reply, prompt 0, no cost" \
	"$(q "SELECT count(*), sum(CASE WHEN outcome = 'interrupted' THEN 1 ELSE 0 END), sum(estimated), sum(prompt_tokens), count(cost_micros) FROM usage WHERE \"user\" = 'alice'")" \
	"3|3|3|0|0"
bytes=$(jq -j '.messages[-1].content' <<<"$conv" | wc -c)
assert_eq "ledger: the page's reply counts the text it had ($bytes bytes)" \
	"$(q "SELECT completion_tokens FROM usage WHERE conversation_id = '$CID'")" "$(((bytes + 3) / 4))"

# The same connections work again: the page regenerates, the seed client
# sends a new prompt.
jq -cn --arg c "$CID" '{action:"regenerate",payload:{msgid:"p2",conversation_id:$c,stream:true}}' >&7
jq -cn '{action:"sendprompt",payload:{msgid:"s2",messages:[{role:"user",content:"again"}]}}' >&8
check "page client: the regenerated reply arrives" wait_for "$T/page.out" '"msgid":"p2".*"type":"reply"' 20
check "seed client: the new prompt is answered" wait_for "$T/seed.out" '"msgid":"s2".*"type":"reply"' 20
assert_eq "seed client: the new reply's text" "$(jq -r 'select(.msgid=="s2") | .text.content' "$T/seed.out")" "You said: again"
exec 7>&- 8>&-
wait "$PAGE"; prc=$?
wait "$SEED"; src=$?
assert_eq "both clients saw their two final frames" "$prc $src" "0 0"
conv=$(curl -s -b "$J" "$BASE/api/conversations/$CID")
assert_eq "history after regenerate: one reply, complete" \
	"$(jq -c '[.messages[] | select(.role=="assistant") | .state]' <<<"$conv")" '["complete"]'

# A graceful stop (SIGTERM) still ends the reply once, from the worker itself.
WSOPTS="--timeout 30" ws "$J" "$(jq -cn '{action:"sendprompt",payload:{msgid:"g1",prompt:"#words:200 #slow:30",stream:true}}')" \
	>"$T/term.out" 2>/dev/null &
TPID=$!
wait_for "$T/term.out" '"type":"delta"' 10
kill -TERM "$(cat "$T/state/worker.pid")"
wait "$TPID"
assert_eq "SIGTERM: exactly one final frame, worker_unavailable" \
	"$(jq -r 'select(.type=="error" or .type=="reply") | .error.code' "$T/term.out")" "worker_unavailable"

stack_stop
finish
