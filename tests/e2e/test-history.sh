#!/usr/bin/env bash
# test-history.sh - stored conversations: the REST API, replies that outlive
# their connection, watching from two sessions, stop, a killed worker, the
# context budget, seed-style requests, other users, and hostile text.
. "$(dirname "$0")/lib.sh"
stack_start LIGHTCHAT_CONTEXT_BUDGET=2000 LIGHTCHAT_MAX_INFLIGHT_PER_USER=30 || finish
J=$T/jar
JB=$T/jar-bob
login alice "$PW_alice" "$J" >/dev/null
login bob "$PW_bob" "$JB" >/dev/null
api() { curl -s -b "$J" "$@"; }
code() { curl -s -o "$T/out" -w '%{http_code}' "$@"; }
cprompt() {  # MSGID TEXT [CONV] [EXTRA]: a conversation-shaped prompt
	jq -cn --arg id "$1" --arg t "$2" --arg c "${3:-}" --argjson extra "${4:-{\}}" \
		'{action:"sendprompt",payload:({msgid:$id,prompt:$t,stream:true} +
		(if $c == "" then {} else {conversation_id:$c} end) + $extra)}'
}
conv_of() { printf '%s\n' "$1" | jq -r 'select(.type=="start") | .conversation_id' | head -1; }

# A new conversation: the start frame names it, the reply is stored.
out=$(ws "$J" "$(cprompt h1 'First question about "quotes"')")
C1=$(conv_of "$out")
check "new conversation: the start frame carries its id" test ${#C1} -eq 32
assert_eq "new conversation: title from the first prompt" "$(printf '%s\n' "$out" | jq -r 'select(.type=="start") | .title')" 'First question about "quotes"'
assert_eq "new conversation: final reply" "$(final "$out" | jq -r .text.content)" 'You said: First question about "quotes"'
get=$(api "$BASE/api/conversations/$C1")
assert_eq "stored: two messages, complete" "$(jq -c '[.messages[] | [.role,.state]]' <<<"$get")" '[["user","complete"],["assistant","complete"]]'
assert_eq "stored: usage kept" "$(jq -c '.messages[1].usage.completion_tokens' <<<"$get")" "6"

# The next prompt in it carries the stored history upstream.
out=$(ws "$J" "$(cprompt h2 'Second' "$C1")")
assert_eq "follow-up: reply" "$(final "$out" | jq -r .text.content)" "You said: Second"
assert_eq "follow-up: upstream got the stored history" "$(curl -s "$UP/_requests" | jq -c '[.[-1].messages[] | .role]')" '["user","assistant","user"]'
big=$(head -c 1980 /dev/zero | tr '\0' 'b')  # with "Second"'s reply: just 2000 bytes
out=$(ws "$J" "$(cprompt h3 "$big" "$C1")")
assert_eq "context budget: only the newest messages that fit go upstream" "$(curl -s "$UP/_requests" | jq -c '[.[-1].messages[] | .role]')" '["assistant","user"]'
out=$(ws "$J" "$(cprompt h4 'with a system prompt' "$C1" '{"system":"Be terse."}')")
assert_eq "system prompt goes first" "$(curl -s "$UP/_requests" | jq -c '.[-1].messages[0]')" '{"role":"system","content":"Be terse."}'

out=$(ws "$J" "$(cprompt e429 '#status:429')")
assert_eq "an error frame of a stored reply names its conversation" "$(final "$out" | jq -c '[.error.code,.conversation_id]')" "[\"upstream_rate_limited\",\"$(conv_of "$out")\"]"

# Regenerate and edit: new versions, the old ones kept (test-versions.sh
# tests switching between them).
n_before=$(api "$BASE/api/conversations/$C1" | jq '.messages | length')
out=$(ws "$J" "$(jq -cn --arg c "$C1" '{action:"regenerate",payload:{msgid:"rg",conversation_id:$c,stream:true}}')")
assert_eq "regenerate: start frame takes one message out of view" "$(printf '%s\n' "$out" | jq -c 'select(.type=="start") | [.replaced,.prompt]')" '[1,null]'
assert_eq "regenerate: same number of messages on the path" "$(api "$BASE/api/conversations/$C1" | jq '.messages | length')" "$n_before"
assert_eq "regenerate: the new reply is version 2 of 2, the old one kept" "$(api "$BASE/api/conversations/$C1" | jq -c '.messages[-1].siblings | [.index,.count]')" '[1,2]'
out=$(ws "$J" "$(cprompt ed 'edited prompt' "$C1" '{"edit_last":true}')")
get=$(api "$BASE/api/conversations/$C1")
assert_eq "edit: the last prompt's new version shown" "$(jq -r '.messages[-2].content' <<<"$get")" "edited prompt"
assert_eq "edit: same number of messages on the path" "$(jq '.messages | length' <<<"$get")" "$n_before"
check "edit: the old prompt is not on the path" bash -c "! jq -r '.messages[].content' <<<'$(jq -c . <<<"$get")' | grep -qx 'with a system prompt'"
assert_eq "edit: the old prompt kept, a sibling" "$(jq -c '.messages[-2].siblings.count' <<<"$get")" "2"

# Replies outlive the connection: drop it mid-reply, watch from another
# session, and the text ends up equal to the full reply, multi-byte and all.
P='#slow:3 ünïcödé ✓ 日本語 🚀 ünïcödé ✓ 日本語 🚀 ünïcödé ✓ 日本語 🚀 ünïcödé ✓ 日本語 🚀 ünïcödé ✓ 日本語 🚀 ünïcödé ✓ 日本語 🚀 end'
out=$(WSOPTS="--timeout 20 --close-after 4" ws "$J" "$(cprompt gone "$P")")
C2=$(conv_of "$out")
sleep 0.5
out=$(WSOPTS="--timeout 20 --until-final 1" ws "$J" "$(jq -cn --arg c "$C2" '{action:"watch",payload:{conversation_id:$c}}')")
snap=$(printf '%s\n' "$out" | jq -rj 'select(.type=="snapshot") | .content')
deltas=$(printf '%s\n' "$out" | jq -rj 'select(.type=="delta") | .delta')
check "resume: a snapshot of the text so far" test -n "$snap"
assert_eq "resume: snapshot + live rest = the whole reply, byte for byte" "$snap$deltas" "You said: $P"
assert_eq "resume: the final frame agrees" "$(final "$out" | jq -r .text.content)" "You said: $P"
assert_eq "resume: stored whole" "$(api "$BASE/api/conversations/$C2" | jq -r '.messages[1] | .state + "|" + .content')" "complete|You said: $P"
out=$(WSOPTS="--timeout 5 --until-final 0" ws "$J" "$(jq -cn --arg c "$C2" '{action:"watch",payload:{conversation_id:$c}}')" 2>/dev/null)
assert_eq "watch with nothing in flight: idle" "$(printf '%s\n' "$out" | head -1)" "{\"type\":\"idle\",\"conversation_id\":\"$C2\"}"

# Two sessions of one user both receive the stream.
WSOPTS="--timeout 20 --until-final 1" ws "$J" "$(jq -cn --arg c "$C2" '{action:"watch",payload:{conversation_id:$c}}')" >"$T/watcher.out" 2>&1 &
wpid=$!
sleep 0.7
out=$(ws "$J" "$(cprompt two '#words:40 #slow:1' "$C2")")
wait $wpid
assert_eq "two sessions: the watcher saw the new prompt" "$(jq -r 'select(.type=="start") | .prompt' "$T/watcher.out")" "#words:40 #slow:1"
assert_eq "two sessions: the watcher's deltas add up to the reply" "$(jq -rj 'select(.type=="delta") | .delta' "$T/watcher.out")" "$(final "$out" | jq -r .text.content)"
assert_eq "two sessions: both got the final reply" "$(tail -1 "$T/watcher.out" | jq -r .text.content)" "$(final "$out" | jq -r .text.content)"

# Stop keeps the partial reply, marked stopped; the upstream request closes.
before=$(curl -s "$UP/_stats" | jq .client_closed)
out=$(WSOPTS="--timeout 20 --send-after-frames 4 {\"action\":\"stop\",\"payload\":{\"msgid\":\"st\"}}" ws "$J" "$(cprompt st '#words:200 #slow:8')")
C3=$(conv_of "$out")
sleep 0.5
last=$(api "$BASE/api/conversations/$C3" | jq -c '.messages[-1]')
assert_eq "stop: stored as stopped" "$(jq -r .state <<<"$last")" "stopped"
assert_eq "stop: the stored text is what the client got" "$(jq -r .content <<<"$last")" "$(final "$out" | jq -r .text.content)"
check "stop: upstream request closed" test "$(curl -s "$UP/_stats" | jq .client_closed)" -gt "$before"

# A killed worker leaves interrupted messages after its restart.
wpid=$(cat "$T/state/worker.pid")
WSOPTS="--timeout 30 --until-final 1" ws "$J" "$(cprompt kill '#words:100 #slow:10')" >"$T/kill.out" 2>&1 &
cpid=$!
sleep 2.5
kill -KILL "$wpid"
for _ in $(seq 50); do [ "$(cat "$T/state/worker.pid")" != "$wpid" ] && break; sleep 0.1; done
sleep 1
C4=$(conv_of "$(cat "$T/kill.out")")
kill "$cpid" 2>/dev/null; wait "$cpid" 2>/dev/null
last=$(api "$BASE/api/conversations/$C4" | jq -c '.messages[-1]')
assert_eq "killed worker: the reply is interrupted after restart" "$(jq -r .state <<<"$last")" "interrupted"
assert_match "killed worker: the text saved so far is kept" "$(jq -r .content <<<"$last")" '^w1 w2 '
out=$(ws "$J" "$(jq -cn --arg c "$C4" '{action:"regenerate",payload:{msgid:"rg2",conversation_id:$c,stream:true}}')")
assert_eq "killed worker: the interrupted reply can be regenerated" "$(final "$out" | jq -r '.text.content | split(" ") | length')" "100"

# Listing: newest first, paged, searchable.
list=$(api "$BASE/api/conversations")
assert_eq "list: newest first" "$(jq -r '.conversations[0].id' <<<"$list")" "$C4"
check "list: sorted by update time" bash -c "jq -e '[.conversations[].updated_at] | . == (sort | reverse)' <<<'$(jq -c . <<<"$list")' >/dev/null"
page1=$(api "$BASE/api/conversations?limit=2")
page2=$(api "$BASE/api/conversations?limit=2&cursor=$(jq -r .next <<<"$page1")")
assert_eq "paging: two pages of two, no overlap" "$(jq -r '.conversations[].id' <<<"$page1" <<<"$page1"; jq -r '.conversations[].id' <<<"$page2")" "$(jq -r '.conversations[0:4][].id' <<<"$list")"
assert_eq "search by content" "$(api "$BASE/api/conversations?q=edited%20prompt" | jq -r '[.conversations[].id] | join(",")')" "$C1"
assert_eq "search by title" "$(api "$BASE/api/conversations?q=%22quotes%22" | jq -r '[.conversations[].id] | join(",")')" "$C1"
assert_eq "search: % and _ are literal" "$(api "$BASE/api/conversations?q=%25_%25" | jq '.conversations | length')" "0"
assert_eq "bad limit: 400" "$(code -b "$J" "$BASE/api/conversations?limit=0")" "400"
assert_eq "bad cursor: 400" "$(code -b "$J" "$BASE/api/conversations?cursor=x")" "400"

# Rename, export, delete; hostile titles round-trip.
for title in "It's \"quoted\"" "'); DROP TABLE conversations; --" '%s%n%x%p' 'Ünïcödé ✓ 日本語 🚀'; do
	body=$(jq -cn --arg t "$title" '{title:$t}')
	st=$(code -b "$J" -X PATCH -H 'Content-Type: application/json' -d "$body" "$BASE/api/conversations/$C1")
	assert_eq "rename to $title: 200" "$st" "200"
	assert_eq "rename to $title: round-trips" "$(api "$BASE/api/conversations/$C1" | jq -r .title)" "$title"
done
assert_eq "rename to an empty title: 400" "$(code -b "$J" -X PATCH -H 'Content-Type: application/json' -d '{"title":""}' "$BASE/api/conversations/$C1")" "400"
md=$(api "$BASE/api/conversations/$C1/export?format=md")
assert_match "export md: the title as heading" "$md" '^# Ünïcödé ✓ 日本語 🚀'
assert_match "export md: the messages" "$md" '## User.*edited prompt'
assert_eq "export json: same as get (the current path; versions are not exported)" "$(api "$BASE/api/conversations/$C1/export?format=json" | jq -c .messages)" "$(api "$BASE/api/conversations/$C1" | jq -c ".messages | map(del(.siblings))")"
curl -s -D "$T/hx" -o /dev/null -b "$J" "$BASE/api/conversations/$C1/export?format=md"
assert_match "export: an attachment" "$(tr -d '\r' <"$T/hx")" "Content-Disposition: attachment; filename=\"conversation-$C1.md\""
assert_eq "export: bad format 400" "$(code -b "$J" "$BASE/api/conversations/$C1/export?format=exe")" "400"

# Another user: 404 for everything, and no resume.
for m in GET DELETE; do
	assert_eq "bob $m alice's conversation: 404" "$(code -b "$JB" -X $m "$BASE/api/conversations/$C1")" "404"
done
assert_eq "bob renames alice's conversation: 404" "$(code -b "$JB" -X PATCH -H 'Content-Type: application/json' -d '{"title":"mine"}' "$BASE/api/conversations/$C1")" "404"
assert_eq "bob exports alice's conversation: 404" "$(code -b "$JB" "$BASE/api/conversations/$C1/export")" "404"
assert_eq "bob's list is empty" "$(curl -s -b "$JB" "$BASE/api/conversations" | jq '.conversations | length')" "0"
out=$(WSOPTS="--timeout 10 --until-final 0" ws "$JB" "$(jq -cn --arg c "$C1" '{action:"watch",payload:{conversation_id:$c}}')" 2>/dev/null)
assert_eq "bob cannot watch alice's conversation" "$(printf '%s\n' "$out" | head -1 | jq -r .error.code)" "not_found"
out=$(ws "$JB" "$(cprompt steal 'hi' "$C1")")
assert_eq "bob cannot prompt in alice's conversation" "$(final "$out" | jq -r .error.code)" "not_found"
assert_eq "alice's conversation untouched by bob" "$(api "$BASE/api/conversations/$C1" | jq -r .title)" 'Ünïcödé ✓ 日本語 🚀'
assert_eq "no conversation: 404" "$(code -b "$J" "$BASE/api/conversations/0123456789abcdef0123456789abcdef")" "404"
assert_eq "malformed id: 404" "$(code -b "$J" "$BASE/api/conversations/..%2f..%2fetc")" "404"
assert_eq "without login: 401" "$(code "$BASE/api/conversations")" "401"
assert_eq "delete: 204" "$(code -b "$J" -X DELETE "$BASE/api/conversations/$C1")" "204"
assert_eq "deleted: 404" "$(code -b "$J" "$BASE/api/conversations/$C1")" "404"

# Seed-style requests are stored, and a follow-up continues the same one.
s1=$(jq -cn '{action:"sendprompt",payload:{msgid:"s1",messages:[{role:"user",content:"seed one"}]}}')
out=$("$PY" "$WSCLIENT" --timeout 20 "$WS?token=Bearer%20$(token_of "$J")" "$s1")
assert_eq "seed: the reply has the seed's shape" "$(jq -c '{msgid,text}' <<<"$out")" '{"msgid":"s1","text":{"role":"assistant","content":"You said: seed one"}}'
s2=$(jq -cn '{action:"sendprompt",payload:{msgid:"s2",messages:[{role:"user",content:"seed one"},{role:"assistant",content:"You said: seed one"},{role:"user",content:"seed two"}]}}')
"$PY" "$WSCLIENT" --timeout 20 "$WS?token=Bearer%20$(token_of "$J")" "$s2" >/dev/null
sid=$(api "$BASE/api/conversations?q=seed%20two" | jq -r '.conversations[0].id')
assert_eq "seed: one conversation holds both turns" "$(api "$BASE/api/conversations/$sid" | jq -c '[.title, [.messages[].content]]')" '["seed one",["seed one","You said: seed one","seed two","You said: seed two"]]'

# Hostile and large contents round-trip byte-identical. Control characters
# other than tab, newline and carriage return are refused (issue 12: cJSON
# writes each as six bytes); test-paging.sh has the rest of those cases.
weird=$(printf 'ctl \t\r\n end; %%s%%n; '"'"'); DROP TABLE messages; -- ☃ \xf0\x9f\x92\xa9 "q" \\ back')
out=$(ws "$J" "$(cprompt weird "$weird")")
cw=$(conv_of "$out")
assert_eq "binary-looking text round-trips" "$(api "$BASE/api/conversations/$cw" | jq -r '.messages[0].content')" "$weird"
out=$(ws "$J" "$(cprompt weird2 "$(printf 'ctl \001\002\003\t\037 end')")")
assert_eq "control characters in a prompt: refused, naming the first" "$(final "$out" | jq -r '[.error.code, .error.field, .error.message] | join("|")')" "invalid_request|prompt|prompt holds the control character U+0001 at byte 4: only tab, newline and carriage return are allowed"
mega=$(head -c 1000000 /dev/zero | tr '\0' 'M')
printf '%s' "$mega" >"$T/mega"
# Too big for a command-line argument: through files and stdin.
jq -cn --rawfile t "$T/mega" '{action:"sendprompt",payload:{msgid:"mega",prompt:$t,stream:true}}' >"$T/mega.json"
out=$(WSOPTS="--timeout 60 --stdin --until-final 1" ws "$J" <"$T/mega.json")
cm=$(conv_of "$out")
got=$(api "$BASE/api/conversations/$cm" | jq -r '.messages[0].content, .messages[1].content' | md5sum)
assert_eq "1 MB prompt and reply round-trip" "$got" "$( { printf '%s\n' "$mega"; printf 'You said: %s\n' "$mega"; } | md5sum)"

# 20 concurrent writers (worker replies and REST renames) never see BUSY.
writers=()
for i in $(seq 20); do
	WSOPTS="--timeout 40" ws "$J" "$(cprompt "w$i" "writer $i #words:20")" >"$T/w$i.out" 2>&1 &
	writers+=($!)
	curl -s -o /dev/null -w '%{http_code}\n' -b "$J" -X PATCH -H 'Content-Type: application/json' \
		-d "{\"title\":\"t$i\"}" "$BASE/api/conversations/$cm" >>"$T/renames" &
	writers+=($!)
done
wait "${writers[@]}"
good=0
for i in $(seq 20); do
	[ "$(tail -1 "$T/w$i.out" | jq -r .type)" = reply ] && good=$((good + 1))
done
assert_eq "20 concurrent writers: all replies complete" "$good" "20"
assert_eq "20 concurrent renames: all 200" "$(sort -u "$T/renames" | tr -d '\n')" "200"
check "no SQLITE_BUSY or storage error logged" bash -c "! grep -Eiq 'database is locked|busy|storage' '$T/stack.log'"

stack_stop
finish
