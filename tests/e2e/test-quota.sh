#!/usr/bin/env bash
# test-quota.sh - storage limits: a user's quota (a reply past it is
# stored, the next prompt is refused with quota_exceeded, in both request
# shapes; other users are not affected), the admin's per-user quota and the
# usage table, a conversation's size and message count
# (conversation_too_large), nothing half-stored; and a small disk (a tmpfs
# state directory): prompts are refused before the reserve, login failures
# are still recorded, the database stays whole.
. "$(dirname "$0")/lib.sh"
adm() { LIGHTCHAT_CONFIG=/dev/null LIGHTCHAT_STATE="$T/state" LIGHTCHAT_USER_STORAGE_QUOTA=3000 "$ADMIN" "$@" 2>/dev/null; }
cprompt() {  # MSGID TEXT [CONV]: a conversation-shaped prompt
	jq -cn --arg id "$1" --arg t "$2" --arg c "${3:-}" \
		'{action:"sendprompt",payload:({msgid:$id,prompt:$t,stream:true} +
		(if $c == "" then {} else {conversation_id:$c} end))}'
}
conv_of() { printf '%s\n' "$1" | jq -r 'select(.type=="start") | .conversation_id' | head -1; }
nmsgs() { curl -s -b "$J" "$BASE/api/conversations/$1" | jq '.messages | length'; }
# rows SQL: one value from the database, read beside the stack.
rows() { q "$1" | head -1; }
bytes_of() { rows "SELECT coalesce(sum($(sql_bytes m.content)),0) FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE c.\"user\" = '$1'"; }

stack_start LIGHTCHAT_USER_STORAGE_QUOTA=3000 LIGHTCHAT_CONVERSATION_MAX_BYTES=2000 \
	LIGHTCHAT_CONVERSATION_MAX_MESSAGES=6 LIGHTCHAT_MAX_MESSAGES_PER_MINUTE=1000 || finish
J=$T/jar
JB=$T/jar-bob
login alice "$PW_alice" "$J" >/dev/null
login bob "$PW_bob" "$JB" >/dev/null
p500=$(head -c 500 /dev/zero | tr '\0' 'p')

# A conversation's size: 500 + 510 bytes, twice, then no more.
out=$(ws "$J" "$(cprompt s1 "$p500")")
C1=$(conv_of "$out")
out=$(ws "$J" "$(cprompt s2 "$p500" "$C1")")
assert_eq "a conversation under its size limit grows" "$(final "$out" | jq -r .type) $(nmsgs "$C1")" "reply 4"
out=$(ws "$J" "$(cprompt s3 "one more" "$C1")")
assert_eq "past conversation_max_bytes: conversation_too_large" "$(final "$out" | jq -r .error.code)" "conversation_too_large"
assert_match "the error names the limit and the size" "$(final "$out" | jq -r .error.message)" \
	'2020 of 2000 bytes \(conversation_max_bytes\)'
assert_eq "the error frame carries the msgid" "$(final "$out" | jq -r .msgid)" "s3"
assert_eq "nothing of the refused prompt is stored" "$(nmsgs "$C1")" "4"

# A conversation's message count: 6 messages, three turns.
out=$(ws "$J" "$(cprompt n1 a)")
C2=$(conv_of "$out")
ws "$J" "$(cprompt n2 b "$C2")" >/dev/null
ws "$J" "$(cprompt n3 c "$C2")" >/dev/null
out=$(ws "$J" "$(cprompt n4 d "$C2")")
assert_eq "past conversation_max_messages: conversation_too_large" "$(final "$out" | jq -r .error.code)" "conversation_too_large"
assert_match "the error names the limit" "$(final "$out" | jq -r .error.message)" '6 of 6 messages \(conversation_max_messages\)'
assert_eq "still 6 messages" "$(nmsgs "$C2")" "6"
rg=$(jq -cn --arg c "$C2" '{action:"regenerate",payload:{msgid:"rg",conversation_id:$c,stream:true}}')
assert_eq "regenerate adds a version (the old one is kept): refused at the count limit" "$(final "$(WSOPTS="--until-final 1" ws "$J" "$rg")" | jq -r .error.code) $(nmsgs "$C2")" "conversation_too_large 6"

# The user's quota (3000 bytes): alice has 2056; a 900-byte prompt fits,
# its 910-byte reply is stored past the quota; the next prompt is refused.
used=$(bytes_of alice)
assert_eq "alice's stored bytes" "$used" "2056"
p900=$(head -c 900 /dev/zero | tr '\0' 'q')
out=$(ws "$J" "$(cprompt q1 "$p900")")
C3=$(conv_of "$out")
assert_eq "a prompt within the quota is answered" "$(final "$out" | jq -r .type)" "reply"
assert_eq "the reply that passes the quota is stored whole" \
	"$(curl -s -b "$J" "$BASE/api/conversations/$C3" | jq -r '.messages[1] | .state + " " + (.content | length | tostring)')" "complete 910"
out=$(ws "$J" "$(cprompt q2 hello)")
assert_eq "past the quota the next prompt: quota_exceeded" "$(final "$out" | jq -r .error.code)" "quota_exceeded"
assert_match "the error names the quota and the usage" "$(final "$out" | jq -r .error.message)" \
	'3866 of 3000 bytes stored \(user_storage_quota\)'
out=$(ws "$J" "$(prompt q3 hello)")
assert_eq "the seed shape too: quota_exceeded" "$(final "$out" | jq -r .error.code)" "quota_exceeded"
assert_match "with the seed's text.content" "$(final "$out" | jq -r .text.content)" '^Error: your storage quota is used up'
assert_eq "nothing stored for the refused prompts" "$(bytes_of alice) $(rows "SELECT count(*) FROM conversations WHERE \"user\" = 'alice'")" "3866 3"
assert_eq "another user is not affected" "$(final "$(ws "$JB" "$(cprompt b1 hi)")" | jq -r .text.content)" "You said: hi"

# The admin's quota for one user, and back to the default.
check "user quota alice 1M" adm user quota alice 1M
assert_eq "with a quota of her own alice may write again" "$(final "$(ws "$J" "$(cprompt q4 again)")" | jq -r .type)" "reply"
table=$(adm storage)
assert_match "usage: alice's row (conversations, messages, bytes, her quota)" \
	"$(grep '^alice ' <<<"$table")" "^alice +4 +14 +$(bytes_of alice) +1048576\\* +"
assert_match "usage: bob's row (the default quota)" "$(grep '^bob ' <<<"$table")" '^bob +1 +2 +14 +3000 +0%$'
assert_match "usage: a header" "$(head -1 <<<"$table")" '^USER +CONVERSATIONS +MESSAGES +BYTES +QUOTA +USED$'
check "user quota alice default" adm user quota alice default
assert_eq "back to the default: refused again" "$(final "$(ws "$J" "$(cprompt q5 again)")" | jq -r .error.code)" "quota_exceeded"
check "a bad quota is refused" bash -c "! LIGHTCHAT_CONFIG=/dev/null LIGHTCHAT_STATE='$T/state' '$ADMIN' user quota alice lots 2>/dev/null"
# Deleting makes room.
assert_eq "deleting a conversation" "$(curl -s -o /dev/null -w '%{http_code}' -b "$J" -X DELETE "$BASE/api/conversations/$C3")" "204"
assert_eq "makes room for the next prompt" "$(final "$(ws "$J" "$(cprompt q6 room)")" | jq -r .type)" "reply"
assert_eq "the counters match the rows" "$(rows "SELECT bytes FROM user_usage WHERE \"user\" = 'alice'")" "$(bytes_of alice)"
check "refusals are logged" grep -q 'prompt refused user=alice: quota 3000 bytes, 3866 stored' "$T/stack.log"
stack_stop

# A small disk: the state directory on a 16 MB tmpfs, 6 MB kept in reserve.
if [ "$(id -u)" != 0 ]; then
	ok "# SKIP the tmpfs case needs root"
	finish
fi
if pg_mode; then
	skip "a small disk (the state directory on a tmpfs)" "SQLite's file on the state directory's disk; PostgreSQL's data is elsewhere (storage_reserve watches the state directory only)"
	finish
fi
STATE_TMPFS=16m stack_start LIGHTCHAT_STORAGE_RESERVE=6291456 LIGHTCHAT_MAX_MESSAGES_PER_MINUTE=1000 \
	LIGHTCHAT_LOGIN_MAX_FAILURES_USER=3 LIGHTCHAT_LOGIN_WINDOW=120 LIGHTCHAT_LOGIN_MAX_DELAY=60 || finish
J=$T/jar
login alice "$PW_alice" "$J" >/dev/null
head -c 1000000 /dev/zero | tr '\0' 'M' >"$T/mega"
codes=""
for i in $(seq 12); do
	jq -cn --rawfile t "$T/mega" --arg id "big$i" '{action:"sendprompt",payload:{msgid:$id,prompt:$t}}' >"$T/mega.json"
	out=$(WSOPTS="--timeout 60 --stdin" ws "$J" <"$T/mega.json" 2>/dev/null)
	codes="$codes $(final "$out" | jq -r '.error.code // .type')"
done
codes=${codes# }
assert_match "12 prompts of 1 MB: some stored, then storage_full ($codes)" "$codes" '^reply( reply)+( storage_full)+$'
free=$(df -B1 --output=avail "$T/state" | tail -1)
check "the reserve is left free ($free bytes)" test "$free" -ge 4000000
assert_eq "the refusal says why" "$(final "$out" | jq -r .error.message)" "the server's storage is nearly full; try again later"
check "and is logged" grep -q 'storage nearly full' "$T/stack.log"
for i in 1 2 3; do login bob wrong "$T/j2" >/dev/null; done
assert_eq "login failures are still recorded" "$(rows "SELECT count(*) FROM login_failures WHERE key = 'user:bob'")" "3"
assert_eq "the lockout still works" "$(login bob "$PW_bob" "$T/j2")" "429"
assert_eq "the database is whole" "$(rows 'PRAGMA integrity_check')" "ok"
assert_eq "and readable" "$(curl -s -b "$J" "$BASE/api/conversations" | jq '.conversations | length')" \
	"$(grep -o reply <<<"$codes" | wc -l)"
stack_stop
check "the tmpfs is unmounted" bash -c "! grep -q ' $T/state ' /proc/mounts"
finish
