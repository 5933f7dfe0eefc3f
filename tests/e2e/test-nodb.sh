#!/usr/bin/env bash
# test-nodb.sh - a database that cannot be opened (read-only place, full or
# broken disk) gives clear errors, never a crash: login still works, the
# REST API answers 503, seed-shaped prompts are answered unsaved and
# conversation-shaped ones get storage_error. In PostgreSQL mode: a server
# that is not there (a socket directory where none listens).
. "$(dirname "$0")/lib.sh"
NODB=/proc/lightchat-cannot-be-here.db
if pg_mode; then
	NOPG=$(mktemp -d /tmp/lightchat-nopg.XXXXXX)
	NODB="postgresql:///lightchat?host=$NOPG&port=1&user=postgres&connect_timeout=2"
fi
stack_start LIGHTCHAT_DATABASE="$NODB" || finish
J=$T/jar
assert_eq "login works without the database" "$(login alice "$PW_alice" "$J")" "200"
st=$(curl -s -o "$T/out" -w '%{http_code}' -b "$J" "$BASE/api/conversations")
assert_eq "REST API: 503" "$st" "503"
assert_eq "REST API: storage_error" "$(jq -r .error.code "$T/out")" "storage_error"
out=$(ws "$J" "$(prompt s1 'seed style')")
assert_eq "seed-shaped prompt answered unsaved" "$(jq -r .text.content <<<"$out")" "You said: seed style"
out=$(ws "$J" '{"action":"sendprompt","payload":{"msgid":"c1","prompt":"hello"}}')
assert_eq "conversation-shaped prompt: storage_error" "$(jq -r .error.code <<<"$out")" "storage_error"
check "the reason is logged" grep -q 'conversations will not be saved' "$T/stack.log"
out=$(curl -s -w ' %{http_code}' "$BASE/health")
assert_eq "/health: 503 naming the database" "$out" '{"status":"fail","worker":"ok","database":"not available"} 503'
assert_eq "/metrics still answers" "$(curl -s -o "$T/metrics" -w '%{http_code}' "$BASE/metrics")" "200"
check "/metrics: the worker's figures without the database" grep -q '^lightchat_worker_up 1$' "$T/metrics"
check "the worker did not restart" test "$(grep -c 'worker exited' "$T/stack.log")" -eq 0
stack_stop
[ -n "${NOPG:-}" ] && rmdir "$NOPG"
finish
