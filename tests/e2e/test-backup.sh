#!/usr/bin/env bash
# test-backup.sh - lightchat-admin backup, restore and check against the
# running stack: a backup taken while a reply streams passes integrity_check
# and holds the conversations; restoring it after a deletion brings the
# conversation back, served by the running stack without a restart, ends
# the logins made since, and ends the reply that was streaming in the copy;
# restore refuses a file that is no database, a newer schema, and runs
# while a reply is written; check passes on a healthy stack, revokes the
# session it minted and leaves no conversation, and fails with one line and
# a non-zero exit for a wrong URL and a stopped worker.
. "$(dirname "$0")/lib.sh"
stack_start || finish
J=$T/jar
JB=$T/jar-bob
DB=$T/state/lightchat.db
adm() { env LIGHTCHAT_CONFIG=/dev/null LIGHTCHAT_STATE="$T/state" LIGHTCHAT_PORT="$PORT" "$ADMIN" "$@"; }
code() { curl -s -o "$T/out" -w '%{http_code}' "$@"; }
cprompt() {  # MSGID TEXT [CONV]: a conversation-shaped prompt
	jq -cn --arg id "$1" --arg t "$2" --arg c "${3:-}" \
		'{action:"sendprompt",payload:({msgid:$id,prompt:$t,stream:true} +
		(if $c == "" then {} else {conversation_id:$c} end))}'
}
conv_of() { printf '%s\n' "$1" | jq -r 'select(.type=="start") | .conversation_id' | head -1; }
# until SECONDS COMMAND...: retries COMMAND every 0.1 s for SECONDS.
until_ok() {
	local n=$(($1 * 10)); shift
	for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
	return 1
}
streaming() { [ "$(sqlite3 "$DB" "SELECT count(*) FROM messages WHERE state = 'streaming'")" -gt 0 ]; }
convs_of() { curl -s -b "$1" "$BASE/api/conversations" | jq '.conversations | length'; }

login alice "$PW_alice" "$J" >/dev/null
out=$(ws "$J" "$(cprompt b1 'kept in the backup')")
C1=$(conv_of "$out")
check "a first conversation" test ${#C1} -eq 32

# Backup and restore copy SQLite's file; a PostgreSQL store is backed up
# with PostgreSQL's tools (pg_dump, or pg_basebackup and its WAL).
if pg_mode; then
	skip "backup and restore" "they copy SQLite's database file (and restore one); PostgreSQL's data is backed up with pg_dump or pg_basebackup"
else
	# A backup while a reply streams.
	WSOPTS="--timeout 30" ws "$J" "$(cprompt b2 '#words:200 #slow:6 a long one')" >"$T/long.out" 2>&1 &
	LONG=$!
	check "a reply is streaming" until_ok 10 streaming
	out=$(adm backup "$T/b.db" 2>&1); rc=$?
	check "backup while a reply streams: exit 0" test $rc -eq 0
	assert_match "backup: one line with size and counts" "$out" "^backup: $T/b.db: [0-9.]+ (KB|MB|bytes), 2 conversations, [34] messages$"
	assert_eq "backup: integrity_check of the copy" "$(sqlite3 "$T/b.db" 'PRAGMA integrity_check')" "ok"
	assert_eq "backup: the copy has the conversations" "$(sqlite3 "$T/b.db" 'SELECT count(*) FROM conversations')" "2"
	assert_eq "backup: the copy holds the streaming reply as it was" "$(sqlite3 "$T/b.db" "SELECT count(*) FROM messages WHERE state = 'streaming'")" "1"
	assert_eq "backup: mode 0600" "$(stat -c %a "$T/b.db")" "600"
	assert_eq "backup: one file (journal mode delete)" "$(sqlite3 "$T/b.db" 'PRAGMA journal_mode'; ls "$T" | grep -c 'b.db-')" $'delete\n0'
	check "backup: no .tmp left" test ! -e "$T/b.db.tmp"
	out=$(adm backup "$T/b.db" 2>&1); rc=$?
	check "backup over an existing file: refused" test $rc -ne 0
	assert_match "backup over an existing file: says --force" "$out" "^backup: .* exists \(--force replaces it\)$"
	out=$(adm restore --yes "$T/b.db" 2>&1); rc=$?
	check "restore while a reply is written: refused" test $rc -ne 0
	assert_match "restore while a reply is written: says why" "$out" "being written"
	wait "$LONG"
	assert_eq "the long reply ended" "$(final "$(cat "$T/long.out")" | jq -r .type)" "reply"
	C2=$(conv_of "$(cat "$T/long.out")")
	check "backup --force: replaces it" adm backup --force "$T/b2.db"

	# Restore: the deleted conversation is back, served by the running stack.
	assert_eq "delete the first conversation" "$(code -b "$J" -X DELETE "$BASE/api/conversations/$C1")" "204"
	assert_eq "deleted: 404" "$(code -b "$J" "$BASE/api/conversations/$C1")" "404"
	login bob "$PW_bob" "$JB" >/dev/null
	assert_eq "a login made after the backup works" "$(code -b "$JB" "$BASE/api/me")" "200"
	STACK_WORKER=$(worker_pid)
	out=$(echo no | adm restore "$T/b.db" 2>&1); rc=$?
	check "restore not confirmed: exit non-zero" test $rc -ne 0
	assert_eq "restore not confirmed: nothing changed" "$(code -b "$J" "$BASE/api/conversations/$C1")" "404"
	out=$(adm restore --yes "$T/b.db" 2>&1); rc=$?
	check "restore: exit 0" test $rc -eq 0
	assert_match "restore: says what it restored" "$out" "restored 2 conversations, [34] messages from $T/b.db"
	assert_match "restore: says what became of the sessions" "$out" "sessions are those of $T/b.db: logins made since it was taken have ended"
	check "restore: the old database kept in .before-restore" test -s "$DB.before-restore"
	assert_eq "restore: .before-restore is 0600" "$(stat -c %a "$DB.before-restore")" "600"
	assert_eq ".before-restore: without the deleted conversation" "$(sqlite3 "$DB.before-restore" "SELECT count(*) FROM conversations WHERE id = '$C1'")" "0"
	check "restore: no scratch file left" test ! -e "$DB.restore-tmp"
	assert_eq "restored: the running stack serves the conversation" "$(code -b "$J" "$BASE/api/conversations/$C1")" "200"
	assert_eq "restored: its messages" "$(jq -c '[.messages[] | .content]' "$T/out")" '["kept in the backup","You said: kept in the backup"]'
	assert_eq "restored: the reply streaming in the copy is interrupted" "$(curl -s -b "$J" "$BASE/api/conversations/$C2" | jq -r '.messages[-1].state')" "interrupted"
	assert_eq "restored: the login from before the backup still works" "$(code -b "$J" "$BASE/api/me")" "200"
	assert_eq "restored: the login made after the backup has ended" "$(code -b "$JB" "$BASE/api/me")" "401"
	out=$(ws "$J" "$(cprompt b3 'after the restore' "$C1")")
	assert_eq "restored: the worker continues the conversation" "$(final "$out" | jq -r .text.content)" "You said: after the restore"
	assert_eq "restored: the worker stored it there" "$(curl -s -b "$J" "$BASE/api/conversations/$C1" | jq '.messages | length')" "4"
	assert_eq "restored: without a restart" "$(worker_pid)" "$STACK_WORKER"
	out=$(adm restore --yes "$DB.before-restore" 2>&1); rc=$?
	check "undo: restore of .before-restore itself, exit 0" test $rc -eq 0
	assert_eq "undo: the state before the restore is back" "$(code -b "$J" "$BASE/api/conversations/$C1")" "404"
	adm restore --yes "$DB.before-restore" >/dev/null 2>&1
	assert_eq "undo of the undo: .before-restore held what the undo replaced" "$(curl -s -b "$J" "$BASE/api/conversations/$C1" | jq '.messages | length')" "4"

	# What restore refuses.
	printf 'not a database\n' >"$T/junk"
	out=$(adm restore --yes "$T/junk" 2>&1); rc=$?
	check "restore of a file that is no database: refused" test $rc -ne 0
	assert_eq "restore of a file that is no database: one line" "$out" "restore: $T/junk: not a SQLite database"
	cp "$T/b.db" "$T/newer.db"
	sqlite3 "$T/newer.db" 'PRAGMA user_version = 99'
	out=$(adm restore --yes "$T/newer.db" 2>&1); rc=$?
	check "restore of a newer schema: refused" test $rc -ne 0
	assert_match "restore of a newer schema: says so" "$out" "^restore: .*newer.db: its schema \(99\) is newer than this build's"
	adm restore --yes "$T/missing.db" >/dev/null 2>&1; rc=$?
	check "restore of a missing file: refused" test $rc -ne 0
	assert_eq "refused restores changed nothing" "$(curl -s -b "$J" "$BASE/api/conversations/$C1" | jq '.messages | length')" "4"
fi

# check: passes, prints its timings, leaves nothing behind.
before=$(convs_of "$J")
out=$(adm check --user alice 2>"$T/check.err"); rc=$?
check "check: exit 0 on a healthy stack" test $rc -eq 0
assert_match "check: health line" "$out" $'(^|\n)health: [^\n]*[0-9]+ ms'
assert_match "check: connect, first token, total" "$out" $'\nconnect: [0-9]+ ms\nfirst token: [0-9]+ ms\nreply: [0-9]+ ms \\([0-9]+ bytes\\)\ntotal: [0-9]+ ms$'
check "check: never prints the token" bash -c "! grep -qE 'eyJ[A-Za-z0-9_-]{10,}' <<<'$out' '$T/check.err'"
assert_eq "check: its session is revoked after" "$(q "SELECT count(*), sum(CASE WHEN revoked_at IS NOT NULL THEN 1 ELSE 0 END) FROM sessions WHERE client = 'lightchat-admin check'")" "1|1"
check "check: its session is not listed as active" bash -c "! env LIGHTCHAT_CONFIG=/dev/null LIGHTCHAT_STATE='$T/state' '$ADMIN' sessions | grep -q 'lightchat-admin check'"
assert_eq "check: its conversation is deleted" "$(convs_of "$J")" "$before"
out=$(adm check 2>&1); rc=$?
check "check: the first user of the users file by default" test $rc -eq 0
out=$(adm check --url "$BASE/" --user bob 2>&1); rc=$?
check "check: an explicit URL (trailing slash), another user" test $rc -eq 0

# check fails with one line and a non-zero exit.
out=$(adm check --url "http://127.0.0.1:$(free_port)" 2>&1); rc=$?
check "check, nothing listening: exit non-zero" test $rc -ne 0
assert_match "check, nothing listening: one line" "$out" '^check: /health: cannot connect to 127.0.0.1:[0-9]+: Connection refused$'
out=$(adm check --url "$BASE/nowhere/" 2>&1); rc=$?
check "check, wrong prefix: exit non-zero" test $rc -ne 0
assert_match "check, wrong prefix: /ws refused" "$out" '(check: /ws refused: 404|check: /health: 404)'
out=$(adm check --url "https://127.0.0.1:$PORT" 2>&1); rc=$?
check "check, https: exit non-zero" test $rc -ne 0
assert_match "check, https: says there is no TLS here" "$out" '^check: https://.* is not supported \(no TLS in this client\)'
out=$(adm check --user nobody 2>&1); rc=$?
check "check, unknown user: exit non-zero" test $rc -ne 0
assert_match "check, unknown user: says so" "$out" 'check: no user nobody in '
W=$(worker_pid)
kill -STOP "$W"
out=$(adm check --user alice --timeout 3 2>&1); rc=$?
kill -CONT "$W"
check "check, worker stopped: exit non-zero" test $rc -ne 0
assert_match "check, worker stopped: a clear reason" "$(tail -1 <<<"$out")" '^check: (no reply within 3 s \(is the worker running\?\)|/health: 503.*)$'
assert_eq "check, worker stopped: its session is revoked too" "$(q "SELECT CASE WHEN count(*) = sum(CASE WHEN revoked_at IS NOT NULL THEN 1 ELSE 0 END) THEN 1 ELSE 0 END FROM sessions WHERE client = 'lightchat-admin check'")" "1"
stack_stop
finish
