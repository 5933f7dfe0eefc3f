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
if pg_mode; then
	# A shared store that does not answer: nothing is decided without it.
	# A login fails closed (its session could not be ended elsewhere),
	# /health says so, and the programs keep running, trying again at
	# each use (test-multihost restarts a real server and sees them
	# recover).
	st=$(curl -s -o "$T/out" -D "$T/hdr" -w '%{http_code}' -H 'Content-Type: application/json' \
		-d "{\"username\":\"alice\",\"password\":\"$PW_alice\"}" "$BASE/login")
	assert_eq "login: 503 (no session can be recorded)" "$st" "503"
	check "... with a Retry-After" grep -qi '^Retry-After: ' "$T/hdr"
	out=$(curl -s -w ' %{http_code}' "$BASE/health")
	assert_match "/health: 503 naming the database" "$out" '"database":"[a-z ]+"\} 503$'
	check "the reason is logged (the database is not available)" \
		grep -q 'the database is not available' "$T/stack.log"
	check "/metrics still answers" test "$(curl -s -o "$T/metrics" -w '%{http_code}' "$BASE/metrics")" = 200
	check "the worker did not restart" test "$(grep -c 'worker exited' "$T/stack.log")" -eq 0
	check "the password is never logged" bash -c "! grep -qF -- '$PW_alice' '$T/stack.log'"
	stack_stop
	rmdir "$NOPG"
	finish
fi
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
