#!/usr/bin/env bash
# test-private.sh - private by default: what the stack creates is lightchat's
# own (state directory 0700, key, users file, database with -wal/-shm and
# sockets with no group or other bits, whatever the caller's umask), a state
# directory or users file others can use is refused by lightchat-admin and by
# the programs with the chmod that fixes it, and no token reaches a log line
# even while the WebSocket backend is down (lighttpd then logs the URL).
. "$(dirname "$0")/lib.sh"

# init under a permissive umask still makes private files.
T0=$(mktemp -d /tmp/lightchat-private.XXXXXX)
adm() { env LIGHTCHAT_CONFIG=/dev/null LIGHTCHAT_STATE="$T0/state" "$ADMIN" "$@"; }
(umask 022 && adm init >/dev/null 2>&1)
assert_eq "init under umask 022: the state directory is 0700" "$(stat -c %a "$T0/state")" "700"
assert_eq "init under umask 022: the users file is 0600" "$(stat -c %a "$T0/state/users")" "600"
assert_eq "init under umask 022: the key is 0600" "$(stat -c %a "$T0/state/token.key")" "600"

# Refusals, each with the fix.
chmod 755 "$T0/state"
out=$(adm user list 2>&1); rc=$?
check "a state directory others may enter: lightchat-admin refuses" test "$rc" -ne 0
assert_match "...and says how to fix it" "$out" "mode 755 .*chmod 700 $T0/state"
out=$(env LIGHTCHAT_CONFIG=/dev/null LIGHTCHAT_STATE="$T0/state" timeout 5 "$BIN/lightchat-worker" 2>&1); rc=$?
check "a state directory others may enter: the worker refuses to start" test "$rc" -eq 1
assert_match "...and logs why" "$out" "chmod 700"
chmod 700 "$T0/state"
chmod 644 "$T0/state/users"
out=$(adm user list 2>&1); rc=$?
check "a users file others may read: lightchat-admin refuses" test "$rc" -ne 0
assert_match "...and says how to fix it" "$out" "mode 644 .*chmod 600 $T0/state/users"
out=$(env LIGHTCHAT_CONFIG=/dev/null LIGHTCHAT_STATE="$T0/state" timeout 5 "$BIN/lightchat.fcgi" 2>&1 </dev/null); rc=$?
check "a users file others may read: the FastCGI program refuses to start" test "$rc" -eq 1
assert_match "...and logs why" "$out" "chmod 600"
chmod 600 "$T0/state/users"
check "fixed: lightchat-admin works again" adm user list
check "lightchat-admin config still prints settings (no state needed)" adm config port
rm -rf "$T0"

# The running stack, started under a permissive umask.
umask 022
stack_start || finish
J="$T/jar"
login alice "$PW_alice" "$J" >/dev/null
out=$(WSOPTS="--timeout 10" ws "$J" "$(prompt p1 'hello' '{"stream":true}')")
assert_match "a prompt is answered (the database and its journal exist)" "$(final "$out")" '"type":"reply"'
# (PostgreSQL mode: no database file in the state directory.)
files="users token.key"
pg_mode || files="lightchat.db lightchat.db-wal lightchat.db-shm $files"
for f in $files; do
	assert_eq "$f is 0600" "$(stat -c %a "$T/state/$f" 2>/dev/null)" "600"
done
open=$(find "$T/state" -perm /077 -printf '%m %p\n')
assert_eq "nothing in the state directory is open to the group or others" "$open" ""

# A backend outage: lighttpd logs the URL of each /ws request it cannot
# pass on, and the seed client's URL carries its token.
tok=$(token_of "$J")
wsd=$(cat "$T/state/websocketd.pid")
kill -STOP "$wsd"
kill -KILL "$wsd"
curls=()
for _ in $(seq 20); do
	curl -s -o /dev/null -m 2 -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
		-H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
		"$BASE/ws?token=Bearer%20$tok" &
	curls+=($!)
done
wait "${curls[@]}" 2>/dev/null
for _ in $(seq 50); do
	grep -q 'websocketd exited' "$T/stack.log" && break
	sleep 0.1
done
sleep 1
check "the outage was logged, with the token redacted" grep -q 'token=\[redacted\]' "$T/stack.log"
check "no token in any log line during the outage" bash -c "! grep -qF '$tok' '$T/stack.log'"
# lighttpd retries a backend it saw down after a while: poll.
for _ in $(seq 30); do
	out=$(WSOPTS="--timeout 10" ws "$J" "$(prompt p2 'after the outage')")
	[[ "$out" == HTTP* ]] || break
	sleep 0.5
done
assert_match "websocketd is back: a prompt is answered" "$(final "$out")" '"type":"reply"'
stack_stop
finish
