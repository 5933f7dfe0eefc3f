#!/usr/bin/env bash
# test-bad-input.sh - the table-driven bad-input suite: every case of
# tests/bad-input/cases.tsv (login, tokens, WebSocket framing, request fields,
# the REST API, upstream failures) against one real stack, each asserting the
# specific safe answer (HTTP status and/or error code) and that no process of
# the stack died. tests/bad-input/run.py reads the table and prints one TAP
# line per case; afterwards the stack must still be the same and still work.
#   CASES_FILTER=text  runs only the cases whose "Boundary: name" contains text.
. "$(dirname "$0")/lib.sh"
started=$(date +%s)
# Small limits make the size cases cheap; the rate limits are lifted because
# the table sends hundreds of messages and failed logins from one client
# (they have their own tests).
stack_start LIGHTCHAT_MAX_MESSAGE=8192 LIGHTCHAT_MAX_REPLY=1024 \
	LIGHTCHAT_MAX_MESSAGES_PER_MINUTE=100000 \
	LIGHTCHAT_MAX_MESSAGES_PER_USER_MINUTE=1000000 \
	LIGHTCHAT_LOGIN_MAX_FAILURES_USER=100000 \
	LIGHTCHAT_LOGIN_MAX_FAILURES_ADDR=100000 || finish
J=$T/jar
JB=$T/jar-bob
assert_eq "setup: alice logs in" "$(login alice "$PW_alice" "$J")" "200"
assert_eq "setup: bob logs in" "$(login bob "$PW_bob" "$JB")" "200"

# The long-lived processes every case must leave alone.
watch=""
for p in $(stack_procs); do
	comm=$(cat "/proc/$p/comm" 2>/dev/null)
	case "$comm" in
	lighttpd | websocketd | lightchat-worke | lightchat.fcgi) watch="$watch $p:$comm" ;;
	esac
done
wpid=$(worker_pid)
check "setup: worker, websocketd, lighttpd and FastCGI found" \
	test "$(wc -w <<<"$watch")" -ge 4 -a -n "$wpid"

check "setup: a way straight to websocketd" ws_direct_start
BASE_PORT=$PORT WS_PORT=$WS_DIRECT_PORT STATE="$T/state" \
	ALICE="$(token_of "$J")" BOB="$(token_of "$JB")" PW_ALICE="$PW_alice" \
	API_KEY="$API_KEY" WATCH_PIDS="$watch" PYTHONPATH="$ROOT/tools${PYTHONPATH:+:$PYTHONPATH}" \
	"$PY" "$ROOT/tests/bad-input/run.py" "$ROOT/tests/bad-input/cases.tsv" >"$T/cases.out" 2>"$T/cases.err"
rc=$?
cat "$T/cases.out"
if [ $rc -ne 0 ]; then
	not_ok "the case runner finished" "exit status $rc" "$(tail -3 "$T/cases.err")" \
		"$(grep -E 'gw_backend|error|warn' "$T/stack.log" | tail -5)"
fi
FAILED=$((FAILED + $(grep -c '^not ok - ' "$T/cases.out")))

# After everything: the same worker, lighttpd still serves the page, a normal
# prompt gets a normal reply, and no session process is left over.
assert_eq "after all cases: the same worker process" "$(worker_pid)" "$wpid"
assert_eq "after all cases: lighttpd serves /" "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/")" "200"
assert_eq "after all cases: /api/me still answers" \
	"$(curl -s -b "$J" "$BASE/api/me" | jq -r .username)" "alice"
out=$(WSOPTS="--timeout 20" ws "$J" "$(prompt after-all 'still answering')")
assert_eq "after all cases: a normal prompt gets a normal reply" \
	"$(final "$out" | jq -c '[.type,.msgid,.text.content]')" '["reply","after-all","You said: still answering"]'
n=$(sessions_left)
assert_eq "after all cases: no lightchat-ws process left" "$n" "0"
if grep -qiE 'segfault|sanitizer|core dumped|exited \(status|restarting' "$T/stack.log"; then
	not_ok "after all cases: nothing crashed or restarted" \
		"$(grep -iE 'segfault|sanitizer|core dumped|exited \(status|restarting' "$T/stack.log" | head -3)"
else
	ok "after all cases: nothing crashed or restarted"
fi

stack_stop
printf '# bad-input: %s s\n' "$(($(date +%s) - started))"
finish
