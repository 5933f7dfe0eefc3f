#!/usr/bin/env bash
# test-migrate.sh - lightchat-admin migrate-store on a real stack: a stack
# on SQLite where alice chats (a few replies, an attachment) and a login
# fails; the stack stopped; migrate-store into a new PostgreSQL database
# (its URL with a password, which is never printed); the stack started
# again with LIGHTCHAT_DATABASE=url: the same conversations and messages
# over REST, the same usage figures, the attachment's bytes, and alice
# continues chatting (new ids past the moved ones). A second move into the
# now full database, a missing file and a bad URL exit 1 with a sentence;
# wrong arguments exit 2. The first stack is on SQLite in either run; the
# PostgreSQL server is e2e-pg's when there is one, else this file's own.
. "$(dirname "$0")/lib.sh"
TEST_DB=sqlite
OWN_PG=""
if [ -z "${PG_SOCK:-}" ] || [ ! -S "$PG_SOCK/.s.PGSQL.$PG_PORT" ]; then
	pg_start || { not_ok "a PostgreSQL server for the test"; finish; }
	OWN_PG=1
	trap 'pg_stop' EXIT
fi
DBNAME=migrate_$$
W=$(mktemp -d /tmp/lightchat-migrate.XXXXXX)
adm() { env LIGHTCHAT_CONFIG=/dev/null LIGHTCHAT_STATE="$T/state" LIGHTCHAT_PORT="$PORT" "$ADMIN" "$@"; }
cprompt() {  # MSGID TEXT [CONV [ATTACHMENTS_JSON]]
	jq -cn --arg id "$1" --arg t "$2" --arg c "${3:-}" --argjson a "${4:-[]}" \
		'{action:"sendprompt",payload:({msgid:$id,prompt:$t,stream:true,attachments:$a} +
		(if $c == "" then {} else {conversation_id:$c} end))}'
}
conv_of() { printf '%s\n' "$1" | jq -r 'select(.type=="start") | .conversation_id' | head -1; }
# snapshot JAR: what alice sees over REST, one line per thing.
snapshot() {
	curl -s -b "$1" "$BASE/api/conversations" | jq -c '[.conversations[] | {id, title, model, created_at, updated_at}]'
	for c in $(curl -s -b "$1" "$BASE/api/conversations" | jq -r '.conversations[].id'); do
		curl -s -b "$1" "$BASE/api/conversations/$c" |
			jq -c '{id, title, messages: [.messages[] | {id, role, content, state, model, created_at, parent_id, attachments}]}'
	done
	curl -s -b "$1" "$BASE/api/usage" | jq -c '{day: .day.tokens, month: .month.tokens, cost: .month.cost}'
}

stack_start LIGHTCHAT_MAX_MESSAGES_PER_MINUTE=1000 || finish
J=$T/jar
login alice "$PW_alice" "$J" >/dev/null
login alice wrong-password "$T/jar-bad" >/dev/null
out=$(ws "$J" "$(cprompt m1 'first über ✓')")
C1=$(conv_of "$out")
check "a conversation on SQLite" test ${#C1} -eq 32
ws "$J" "$(cprompt m2 'second 日本語' "$C1")" >/dev/null
printf 'notes: ünïcode\n' >"$W/notes.txt"
A=$(curl -s -b "$J" -H 'Content-Type: application/octet-stream' --data-binary "@$W/notes.txt" \
	"$BASE/api/attachments?name=notes.txt" | jq -r .id)
check "an attachment" test ${#A} -eq 32
out=$(ws "$J" "$(cprompt m3 'with a file' '' "[\"$A\"]")")
C2=$(conv_of "$out")
assert_eq "a reply to the prompt with the file" "$(final "$out" | jq -r .type)" "reply"
snapshot "$J" >"$W/before"
assert_eq "before: two conversations" "$(head -1 "$W/before" | jq length)" "2"
usage_before=$(adm usage --since 2000-01-01 --by user)
storage_before=$(adm storage)
curl -s -b "$J" "$BASE/api/attachments/$A" >"$W/att.before"

# Stopped (the database stays), then moved.
kill -TERM "$STACK_PID" 2>/dev/null
for _ in $(seq 50); do kill -0 "$STACK_PID" 2>/dev/null || break; sleep 0.1; done
DB=$T/state/lightchat.db
pg_newdb "$DBNAME" >/dev/null || not_ok "a PostgreSQL database"
URL=$(pg_url "$DBNAME")
SECRET_URL="postgresql://postgres:hunter2-secret@/$DBNAME?host=$PG_SOCK&port=$PG_PORT"
out=$(adm migrate-store "$DB" "$SECRET_URL" 2>"$W/err"); rc=$?
check "migrate-store: exit 0" test $rc -eq 0
[ $rc -eq 0 ] || printf '#   %s\n' "$(cat "$W/err")"
assert_match "the last line: what moved, verified" "$(tail -1 <<<"$out")" \
	'^moved 2 conversations, 6 messages, 1 attachments, [0-9]+ sessions, [0-9]+ usage rows to PostgreSQL; verified$'
assert_eq "a line per table: rows and sha256" \
	"$(grep -cE '^[a-z_]+: [0-9]+ rows?, sha256 [0-9a-f]{64}( \(made by PostgreSQL.s triggers\))?$' <<<"$out")" "13"
assert_match "the messages' line" "$out" $'(^|\n)messages: 6 rows, sha256 [0-9a-f]{64}\n'
printf '%s\n' "$out" >"$W/out"
check "the password is never printed" bash -c "! grep -q hunter2 '$W/out' '$W/err'"
assert_match "the URL shown with *** for it" "$(cat "$W/err")" 'postgresql://postgres:\*\*\*@/'
assert_eq "PostgreSQL holds the rows" "$(pq "$URL" "SELECT (SELECT count(*) FROM conversations) || ' ' || (SELECT count(*) FROM messages) || ' ' || (SELECT count(*) FROM attachments)")" "2 6 1"
assert_eq "the failed login moved too" "$(pq "$URL" "SELECT count(*) > 0 FROM login_failures")" "t"
cp "$DB" "$W/source.db"
stack_stop

# The stack again, on PostgreSQL.
export LIGHTCHAT_DATABASE=$URL
stack_start LIGHTCHAT_DATABASE="$URL" LIGHTCHAT_MAX_MESSAGES_PER_MINUTE=1000 || finish
J=$T/jar
login alice "$PW_alice" "$J" >/dev/null
check "the stack runs on PostgreSQL (no SQLite file made)" test ! -e "$T/state/lightchat.db"
snapshot "$J" >"$W/after"
assert_eq "the same conversations over REST" "$(head -1 "$W/after")" "$(head -1 "$W/before")"
assert_eq "the same messages (ids, contents, states, versions, attachments)" "$(sed -n 2,3p "$W/after")" "$(sed -n 2,3p "$W/before")"
assert_eq "the same usage figures (/api/usage)" "$(sed -n 4p "$W/after")" "$(sed -n 4p "$W/before")"
assert_eq "the same storage figures (lightchat-admin storage: the counters PostgreSQL's triggers made)" "$(adm storage)" "$storage_before"
assert_eq "the same usage report (lightchat-admin usage)" "$(adm usage --since 2000-01-01 --by user)" "$usage_before"
curl -s -b "$J" "$BASE/api/attachments/$A" >"$W/att.after"
check "the attachment's bytes" cmp -s "$W/att.before" "$W/att.after"
last=$(curl -s -b "$J" "$BASE/api/conversations/$C1" | jq '[.messages[].id] | max')
out=$(ws "$J" "$(cprompt m4 'after the move' "$C1")")
assert_eq "alice continues the conversation" "$(final "$out" | jq -r .text.content)" "You said: after the move"
assert_eq "stored there, with new ids past the moved ones" \
	"$(curl -s -b "$J" "$BASE/api/conversations/$C1" | jq -c --argjson l "$last" '[(.messages | length), ([.messages[].id] | max > $l)]')" "[6,true]"
assert_eq "the usage ledger goes on (a reply more)" "$(pq "$URL" "SELECT count(*) FROM usage WHERE \"user\" = 'alice'")" "4"
out=$(ws "$J" "$(cprompt m5 'a new one')")
check "and starts a new conversation" test "$(conv_of "$out" | wc -c)" -eq 33

# What is refused.
out=$(adm migrate-store "$W/source.db" "$URL" 2>&1 >/dev/null); rc=$?
assert_eq "a second move into the now full database: exit 1" "$rc" "1"
assert_match "saying it holds data and is never overwritten" "$(tail -1 <<<"$out")" '^migrate-store: the PostgreSQL database already holds data \(table conversations\).*never overwrites$'
out=$(adm migrate-store "$W/missing.db" "$URL" 2>&1 >/dev/null); rc=$?
assert_eq "a missing file: exit 1" "$rc" "1"
assert_match "a sentence naming it" "$(tail -1 <<<"$out")" "^migrate-store: $W/missing.db: No such file or directory"
check "the missing file is not created" test ! -e "$W/missing.db"
pg_newdb "${DBNAME}_b" >/dev/null
out=$(adm migrate-store "$W/source.db" "postgresql:///${DBNAME}_b?host=$W/nosocket&port=1" 2>&1 >/dev/null); rc=$?
assert_eq "a bad URL: exit 1" "$rc" "1"
assert_match "a sentence from PostgreSQL" "$(tail -1 <<<"$out")" '^migrate-store: database: PostgreSQL: .*(No such file|connect)'
printf 'not a database\n' >"$W/junk"
out=$(adm migrate-store "$W/junk" "$(pg_url "${DBNAME}_b")" 2>&1 >/dev/null); rc=$?
assert_eq "a file that is no database: exit 1" "$rc:$(tail -1 <<<"$out")" "1:migrate-store: $W/junk: not a SQLite database"
assert_eq "nothing written by the refusals" "$(pq "$(pg_url "${DBNAME}_b")" "SELECT to_regclass('conversations') IS NULL")" "t"
for args in "" "$W/source.db" "$W/source.db $URL extra" "--force $W/source.db" "$URL $W/source.db"; do
	# shellcheck disable=SC2086
	adm migrate-store $args >/dev/null 2>"$W/usage"; rc=$?
	assert_eq "wrong arguments ($(sed "s|$W/||g; s|$URL|URL|" <<<"${args:-none}")): exit 2" "$rc" "2"
done
assert_match "with the usage line" "$(cat "$W/usage")" 'usage: lightchat-admin migrate-store SQLITE_FILE POSTGRES_URL'
out=$(adm migrate-store --help); rc=$?
assert_match "--help: exit 0, the usage line" "$rc $out" '^0 usage: lightchat-admin migrate-store SQLITE_FILE POSTGRES_URL'
stack_stop
unset LIGHTCHAT_DATABASE
pg_dropdb "$DBNAME"
pg_dropdb "${DBNAME}_b"
rm -rf "$W"
[ -n "$OWN_PG" ] && pg_stop
finish
