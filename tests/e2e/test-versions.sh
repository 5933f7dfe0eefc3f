#!/usr/bin/env bash
# test-versions.sh - versions instead of replacement (schema v9): regenerate
# twice keeps three versions, switch goes back to the first and the
# conversation continues from it (the upstream's context holds its text),
# an edit of the first prompt starts a new branch, sendprompt's parent_id
# branches from any message, REST returns the current path with siblings
# and the whole tree, exports write the current path, another user can
# switch nothing, and a seed-shape client still continues its conversation
# through the current path.
. "$(dirname "$0")/lib.sh"
stack_start || finish
J=$T/jar
JB=$T/jar-bob
login alice "$PW_alice" "$J" >/dev/null
login bob "$PW_bob" "$JB" >/dev/null
api() { curl -s -b "$J" "$@"; }
cprompt() {  # MSGID TEXT [CONV] [EXTRA]: a conversation-shaped prompt
	jq -cn --arg id "$1" --arg t "$2" --arg c "${3:-}" --argjson extra "${4:-{\}}" \
		'{action:"sendprompt",payload:({msgid:$id,prompt:$t,stream:true} +
		(if $c == "" then {} else {conversation_id:$c} end) + $extra)}'
}
regen() { jq -cn --arg id "$1" --arg c "$2" '{action:"regenerate",payload:{msgid:$id,conversation_id:$c,stream:true}}'; }
switch() { jq -cn --arg c "$1" --argjson m "$2" '{action:"switch",payload:{conversation_id:$c,message_id:$m}}'; }
# A switch is answered by one frame (switched, or an error): read just that.
wsw() { WSOPTS="--close-after 1 --timeout 10" ws "$@"; }
# A regenerate is no sendprompt: say how many final frames to wait for.
wrg() { WSOPTS="--until-final 1" ws "$@"; }
start_of() { printf '%s\n' "$1" | jq -c 'select(.type=="start")' | head -1; }
last_upstream() { curl -s "$UP/_requests" | jq -c '[.[-1].messages[] | .content]'; }
Q='#version Tell me a story'

# A conversation, its reply regenerated twice: three versions.
out=$(ws "$J" "$(cprompt v1 "$Q")")
C=$(start_of "$out" | jq -r .conversation_id)
assert_eq "first reply" "$(final "$out" | jq -r .text.content)" "Version 1: You said: $Q"
U1=$(api "$BASE/api/conversations/$C" | jq '.messages[0].id')
out=$(wrg "$J" "$(regen r1 "$C")")
assert_eq "regenerate: the start frame hangs it under the prompt, one message out of view" \
	"$(start_of "$out" | jq -c '[.parent_id == '"$U1"', .replaced, .prompt]')" '[true,1,null]'
assert_eq "regenerate: version 2" "$(final "$out" | jq -r .text.content)" "Version 2: You said: $Q"
out=$(wrg "$J" "$(regen r2 "$C")")
assert_eq "regenerate again: version 3" "$(final "$out" | jq -r .text.content)" "Version 3: You said: $Q"
get=$(api "$BASE/api/conversations/$C")
assert_eq "REST: the current path, two messages, the newest version shown" \
	"$(jq -c '[.messages[] | .content]' <<<"$get")" "[\"$Q\",\"Version 3: You said: $Q\"]"
assert_eq "REST: the reply is 3 of 3, the prompt 1 of 1" \
	"$(jq -c '[.messages[] | [.siblings.index, .siblings.count]]' <<<"$get")" '[[0,1],[2,3]]'
assert_eq "REST: parent ids" "$(jq -c '[.messages[0].parent_id, .messages[1].parent_id == .messages[0].id]' <<<"$get")" '[null,true]'
assert_eq "REST: the tree holds all four messages" "$(jq '.tree | length' <<<"$get")" "4"
V1=$(jq '.messages[1].siblings.ids[0]' <<<"$get")
V2=$(jq '.messages[1].siblings.ids[1]' <<<"$get")

# Switch to version 1 and continue from it; another session watching the
# conversation is told.
WSOPTS="--close-after 2 --timeout 10" ws "$J" "$(jq -cn --arg c "$C" '{action:"watch",payload:{conversation_id:$c}}')" >"$T/watcher.out" 2>&1 &
wpid=$!
sleep 0.7
out=$(wsw "$J" "$(switch "$C" "$V1")")
wait $wpid
assert_eq "switch: the frame names the new leaf" "$(final "$out" | jq -c '[.type, .message_id == '"$V1"']')" '["switched",true]'
assert_eq "switch: a watching session gets it too" "$(jq -c 'select(.type=="switched") | .message_id == '"$V1" "$T/watcher.out")" "true"
get=$(api "$BASE/api/conversations/$C")
assert_eq "switch: version 1 shown, 1 of 3" "$(jq -c '[.messages[1].content, .messages[1].siblings.index]' <<<"$get")" "[\"Version 1: You said: $Q\",0]"
out=$(ws "$J" "$(cprompt n1 'And then?' "$C")")
assert_eq "continue: the reply" "$(final "$out" | jq -r .text.content)" "You said: And then?"
assert_eq "continue: the upstream's context has version 1's text" "$(last_upstream)" \
	"[\"$Q\",\"Version 1: You said: $Q\",\"And then?\"]"
get=$(api "$BASE/api/conversations/$C")
assert_eq "continue: four messages on the path" "$(jq '.messages | length' <<<"$get")" "4"
A4=$(jq '.messages[3].id' <<<"$get")
md=$(api "$BASE/api/conversations/$C/export?format=md")
check "export md: the current path (version 1 and its continuation)" grep -q "Version 1: You said" <<<"$md"
check "export md: not the other versions" bash -c "! grep -q 'Version [23]:' <<<'$(printf '%s' "$md" | tr -d "'")'"
assert_eq "export json: the current path" "$(api "$BASE/api/conversations/$C/export?format=json" | jq -c '[.messages[] | .content] | length')" "4"

# parent_id: a prompt under version 2, without switching first.
out=$(ws "$J" "$(cprompt p2 'Under two' "$C" "{\"parent_id\":$V2}")")
assert_eq "parent_id: the start frame, two messages out of view" "$(start_of "$out" | jq -c '[.parent_id == '"$V2"', .replaced]')" '[true,2]'
assert_eq "parent_id: the context has version 2's text" "$(last_upstream)" "[\"$Q\",\"Version 2: You said: $Q\",\"Under two\"]"

# Edit the first prompt: a new branch from before it.
out=$(ws "$J" "$(cprompt e1 '#version Another story' "$C" "{\"edit\":{\"message_id\":$U1}}")")
assert_eq "edit: the start frame, a first prompt again" "$(start_of "$out" | jq -c '[.parent_id, .replaced, .prompt]')" '[null,4,"#version Another story"]'
assert_eq "edit: the context is the new prompt only" "$(last_upstream)" '["#version Another story"]'
get=$(api "$BASE/api/conversations/$C")
assert_eq "edit: the new branch shown, its prompt 2 of 2" \
	"$(jq -c '[(.messages | length), .messages[0].content, .messages[0].siblings.index, .messages[0].siblings.count]' <<<"$get")" \
	'[2,"#version Another story",1,2]'
assert_eq "edit: the tree intact (4 + 2 + 2 + 2 messages)" "$(jq '.tree | length' <<<"$get")" "10"
out=$(wsw "$J" "$(switch "$C" "$V1")")
get=$(api "$BASE/api/conversations/$C")
assert_eq "switch back to version 1: down to its continuation" \
	"$(jq -c '[(.messages | length), (.messages[-1].id == '"$A4"')]' <<<"$get")" '[4,true]'

# watch/resume follow the branch being written: a slow reply under version
# 2, its connection dropped; while it streams a switch is refused and the
# current path ends with it; a watcher resumes it whole.
P='#slow:8 w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 on a branch'
WSOPTS="--timeout 20 --close-after 3" ws "$J" "$(cprompt b1 "$P" "$C" "{\"parent_id\":$V2}")" >/dev/null 2>&1
out=$(wsw "$J" "$(switch "$C" "$V1")")
assert_eq "while a reply is written: switch refused" "$(final "$out" | jq -r .error.code)" "conversation_busy"
assert_eq "while a reply is written: the current path ends with it, under version 2" \
	"$(api "$BASE/api/conversations/$C" | jq -c '[.messages[-1].state, .messages[-3].id == '"$V2"', .messages[-2].content]')" "[\"streaming\",true,\"$P\"]"
out=$(WSOPTS="--timeout 20 --until-final 1" ws "$J" "$(jq -cn --arg c "$C" '{action:"watch",payload:{conversation_id:$c}}')")
snap=$(printf '%s\n' "$out" | jq -rj 'select(.type=="snapshot") | .content')
deltas=$(printf '%s\n' "$out" | jq -rj 'select(.type=="delta") | .delta')
assert_eq "resume on the branch: snapshot + deltas = the reply" "$snap$deltas" "You said: $P"
assert_eq "resume on the branch: stored on the current path" "$(api "$BASE/api/conversations/$C" | jq -r '.messages[-1] | .state + "|" + .content')" "complete|You said: $P"

# What is refused.
out=$(wsw "$JB" "$(switch "$C" "$V1")")
assert_eq "another user's conversation: not_found" "$(final "$out" | jq -r .error.code)" "not_found"
out=$(wsw "$J" "$(switch "$C" 99999999)")
assert_eq "no such message: not_found" "$(final "$out" | jq -c '[.error.code,.error.field]')" '["not_found","message_id"]'
out=$(wsw "$J" "$(jq -cn --arg c "$C" '{action:"switch",payload:{conversation_id:$c,message_id:"x"}}')")
assert_eq "a message id that is no number: invalid_request" "$(final "$out" | jq -c '[.error.code,.error.field]')" '["invalid_request","message_id"]'
out=$(ws "$J" "$(cprompt e2 'x' "$C" "{\"edit\":{\"message_id\":$V1}}")")
assert_eq "edit of a reply: invalid_request" "$(final "$out" | jq -c '[.error.code,.error.field]')" '["invalid_request","edit"]'
out=$(ws "$J" "$(cprompt e3 'x' "" "{\"parent_id\":$V1}")")
assert_eq "parent_id without a conversation: invalid_request" "$(final "$out" | jq -r .error.code)" "invalid_request"
C2=$(start_of "$(ws "$J" "$(cprompt o1 'other conversation')")" | jq -r .conversation_id)
out=$(ws "$J" "$(cprompt o2 'x' "$C2" "{\"parent_id\":$V1}")")
assert_eq "parent_id of another conversation's message: invalid_request" "$(final "$out" | jq -c '[.error.code,.error.field]')" '["invalid_request","parent_id"]'
out=$(ws "$J" "$(cprompt e4 'edited' "$C" '{"edit_last":true}')")
assert_eq "edit_last still accepted: a sibling of the last prompt (\"Under two\", the branch's and this one)" \
	"$(api "$BASE/api/conversations/$C" | jq -c '[.messages[-2].content, .messages[-2].siblings.count]')" '["edited",3]'

# A seed-shape client continues its conversation through the current path.
SQ='#version Seed question'
out=$(ws "$J" "$(prompt s1 "$SQ")")
first=$(final "$out" | jq -r .text.content)
S=$(api "$BASE/api/conversations?limit=1" | jq -r '.conversations[0].id')
wrg "$J" "$(regen s2 "$S")" >/dev/null
wrg "$J" "$(regen s3 "$S")" >/dev/null
SV1=$(api "$BASE/api/conversations/$S" | jq '.messages[1].siblings.ids[0]')
wsw "$J" "$(switch "$S" "$SV1")" >/dev/null
msgs=$(jq -cn --arg q "$SQ" --arg a "$first" '[{role:"user",content:$q},{role:"assistant",content:$a},{role:"user",content:"more"}]')
out=$(ws "$J" "$(jq -cn --argjson m "$msgs" '{action:"sendprompt",payload:{msgid:"s4",messages:$m}}')")
assert_eq "seed shape: the reply" "$(final "$out" | jq -r .text.content)" "You said: more"
assert_eq "seed shape: its conversation found through the current path (version 1)" \
	"$(api "$BASE/api/conversations/$S" | jq -c '[(.messages | length), .messages[1].content == "'"$first"'", .messages[3].content]')" \
	'[4,true,"You said: more"]'
assert_eq "seed shape: no new conversation" "$(api "$BASE/api/conversations?limit=1" | jq -r '.conversations[0].id')" "$S"

stack_stop
finish
