#!/usr/bin/env bash
# test-valgrind.sh - the worker and the FastCGI program under valgrind's
# memcheck through the end-to-end paths: logins (good and bad), /api/me, the
# /ws authorizer (refusals, token in the query), the conversations REST API
# (list, get, rename, export, delete), prompts of both shapes, streaming,
# regenerate, stop, an upstream error, a truncated stream, a client that
# leaves mid-reply, and a worker stopped with a reply in flight. Then every
# valgrind log must be complete with "ERROR SUMMARY: 0 errors" and no bytes
# "definitely lost". About 10 s here (valgrind is not slow on an idle stack).
#
# The worker exits normally on SIGTERM. lighttpd ends the FastCGI processes
# with SIGTERM too, and libfcgi's handler for it makes FCGX_Accept_r return,
# so they also leave main() and free what they hold: for every process the
# leak check runs at a normal exit, and one that died of a signal instead
# (or whose log has no summary) fails. Memory errors and definite leaks
# both fail; "still reachable" (libfcgi keeps 768 bytes) does not.
. "$(dirname "$0")/lib.sh"

# detail FILE GREP-ARGS...: lines of a valgrind log for a "not ok" line, each
# after the first marked as a TAP comment.
detail() {
	local f=$1; shift
	grep "$@" "$f" | sed -e 's/^==[0-9]*== //' -e '2,$s/^/#   /' | head -20
}

if ! command -v valgrind >/dev/null; then
	echo "skip - valgrind not installed (apt-get install valgrind)"
	exit 0
fi
if ldd "$BIN/lightchat-worker" 2>/dev/null | grep -q 'libasan\|libubsan'; then
	echo "skip - $BIN is a sanitizer build: valgrind runs on the plain build"
	exit 0
fi

# The logs live outside the stack's T, which stack_stop removes.
VG=$(mktemp -d /tmp/lightchat-vg.XXXXXX)
trap 'rm -rf "$VG"' EXIT
# lightchat-ws is a static PIE, whose malloc valgrind cannot follow: the
# stack runs the build's dynamically linked copy of it (Makefile WS_DYN_BIN)
# beside the build's other programs.
if [ ! -x "$BIN/tests/lightchat-ws" ]; then
	not_ok "the dynamically linked lightchat-ws is built" "$BIN/tests/lightchat-ws: run make all"
	rm -rf "$VG"
	finish
fi
mkdir "$VG/bin"
for p in lightchat.fcgi lightchat-worker lightchat-admin; do
	ln -s "$BIN/$p" "$VG/bin/$p"
done
ln -s "$BIN/tests/lightchat-ws" "$VG/bin/lightchat-ws"
BIN=$VG/bin
WRAP="valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"
WRAP+=" --show-leak-kinds=definite --num-callers=30 --log-file=$VG/vg.%p.log"
stack_start LIGHTCHAT_WRAP="$WRAP" LIGHTCHAT_MAX_INFLIGHT_PER_USER=20 \
	LIGHTCHAT_DRAIN_TIMEOUT=2 || { rm -rf "$VG"; finish; }
J=$T/jar
api() { curl -s -b "$J" --max-time 20 "$@"; }
code() { curl -s -o "$T/out" -w '%{http_code}' --max-time 20 "$@"; }
cprompt() {  # MSGID TEXT [CONV] [EXTRA]: a conversation-shaped prompt
	jq -cn --arg id "$1" --arg t "$2" --arg c "${3:-}" --argjson extra "${4:-{\}}" \
		'{action:"sendprompt",payload:({msgid:$id,prompt:$t,stream:true} +
		(if $c == "" then {} else {conversation_id:$c} end) + $extra)}'
}
conv_of() { printf '%s\n' "$1" | jq -r 'select(.type=="start") | .conversation_id' | head -1; }
WSOPTS="--timeout 40"
export WSOPTS

check "valgrind runs the worker" grep -qs 'Command: .*lightchat-worker' "$VG"/vg.*.log

# Logins: wrong password, unknown user, malformed body, then a good one.
assert_eq "wrong password: 401" "$(code -H 'Content-Type: application/json' \
	-d '{"username":"alice","password":"nope"}' "$BASE/login")" "401"
assert_eq "unknown user: 401" "$(code -H 'Content-Type: application/json' \
	-d '{"username":"mallory","password":"nope"}' "$BASE/login")" "401"
assert_eq "malformed login body: 400" "$(code -H 'Content-Type: application/json' \
	-d '{"username":' "$BASE/login")" "400"
assert_eq "good login: 200" "$(login alice "$PW_alice" "$J")" "200"
check "valgrind runs the FastCGI program" grep -qs 'Command: .*lightchat.fcgi' "$VG"/vg.*.log
assert_eq "/api/me" "$(api "$BASE/api/me" | jq -r .username)" "alice"
assert_eq "/api/me without a cookie: 401" "$(code "$BASE/api/me")" "401"
assert_eq "/api/models: 200" "$(code -b "$J" "$BASE/api/models")" "200"

# The /ws authorizer: refusals, and the seed's token in the query.
TOKEN=$(token_of "$J")
assert_eq "ws without credentials: 401" "$("$PY" "$WSCLIENT" "$WS" 2>/dev/null)" "HTTP 401"
assert_eq "ws with a forged token: 401" "$("$PY" "$WSCLIENT" "$WS?token=Bearer%20${TOKEN}x" 2>/dev/null)" "HTTP 401"
assert_eq "ws from a foreign origin: 403" "$("$PY" "$WSCLIENT" --cookie-jar "$J" --origin http://evil.example "$WS" 2>/dev/null)" "HTTP 403"
out=$("$PY" "$WSCLIENT" --timeout 40 "$WS?token=Bearer%20$TOKEN" "$(prompt q1 'token in the query')")
assert_eq "ws with the token in the query: reply" "$(jq -r .text.content <<<"$out")" "You said: token in the query"
check "valgrind runs the session" grep -qs 'Command: .*lightchat-ws' "$VG"/vg.*.log

# Both prompt shapes, streamed; a follow-up and a regenerate.
out=$(ws "$J" "$(prompt seed1 'hello from the seed' '{"stream":true}')")
assert_eq "seed shape: reply" "$(final "$out" | jq -r .text.content)" "You said: hello from the seed"
check "seed shape: deltas streamed" test "$(printf '%s\n' "$out" | grep -c '"type":"delta"')" -gt 0
out=$(ws "$J" "$(cprompt c1 'First question ünïcödé ✓ 🚀')")
C1=$(conv_of "$out")
check "conversation shape: a new conversation" test ${#C1} -eq 32
assert_eq "conversation shape: reply" "$(final "$out" | jq -r .text.content)" "You said: First question ünïcödé ✓ 🚀"
out=$(ws "$J" "$(cprompt c2 'Second' "$C1" '{"system":"Be terse."}')")
assert_eq "follow-up: reply" "$(final "$out" | jq -r .text.content)" "You said: Second"
out=$(WSOPTS="--timeout 40 --until-final 1" ws "$J" "$(jq -cn --arg c "$C1" '{action:"regenerate",payload:{msgid:"rg",conversation_id:$c,stream:true}}')")
assert_eq "regenerate: reply" "$(final "$out" | jq -r .text.content)" "You said: Second"

# Failures: an upstream error, a truncated stream, an invalid request.
out=$(ws "$J" "$(prompt e500 '#status:500')")
assert_eq "upstream 500: error frame" "$(final "$out" | jq -r .error.code)" "upstream_error"
out=$(ws "$J" "$(cprompt tr '#truncate')")
assert_eq "truncated stream: error frame" "$(final "$out" | jq -r .error.code)" "upstream_truncated"
out=$(ws "$J" '{"action":"sendprompt","payload":{"msgid":"bad","messages":[{"role":"robot","content":1}]}}')
assert_eq "invalid request: error frame" "$(final "$out" | jq -r .error.code)" "invalid_request"

# Stop mid-reply: the final frame keeps the text so far.
out=$(WSOPTS="--timeout 40 --send-after-frames 3 {\"action\":\"stop\",\"payload\":{\"msgid\":\"st\"}}" \
	ws "$J" "$(cprompt st '#words:200 #slow:6')")
assert_eq "stop: the reply ends stopped" "$(final "$out" | jq -r .finish_reason)" "stopped"
CS=$(conv_of "$out")

# A client that leaves mid-reply: the reply goes on and is stored whole.
out=$(WSOPTS="--timeout 40 --close-after 3" ws "$J" "$(cprompt gone '#words:30 #slow:2')")
CG=$(conv_of "$out")
state=""
for _ in $(seq 100); do
	state=$(api "$BASE/api/conversations/$CG" | jq -r '.messages[-1].state // empty')
	[ "$state" = complete ] && break
	sleep 0.2
done
assert_eq "client gone mid-reply: the reply is stored complete" "$state" "complete"

# The REST API: list, get, rename, export, delete.
list=$(api "$BASE/api/conversations")
check "list: the conversations are there" test "$(jq '.conversations | length' <<<"$list")" -ge 4
assert_eq "list: search" "$(api "$BASE/api/conversations?q=First&limit=5" | jq -r '.conversations[0].id')" "$C1"
assert_eq "get: messages" "$(api "$BASE/api/conversations/$C1" | jq -c '[.messages[].role]')" '["user","assistant","user","assistant"]'
assert_eq "rename: 200" "$(code -b "$J" -X PATCH -H 'Content-Type: application/json' \
	-d '{"title":"Renamed ✓ \"quoted\""}' "$BASE/api/conversations/$C1")" "200"
assert_eq "rename: stored" "$(api "$BASE/api/conversations/$C1" | jq -r .title)" 'Renamed ✓ "quoted"'
assert_eq "rename: empty title 400" "$(code -b "$J" -X PATCH -H 'Content-Type: application/json' \
	-d '{"title":""}' "$BASE/api/conversations/$C1")" "400"
assert_match "export md" "$(api "$BASE/api/conversations/$C1/export?format=md")" '^# Renamed'
assert_eq "export json" "$(api "$BASE/api/conversations/$C1/export?format=json" | jq -r .id)" "$C1"
assert_eq "stopped reply stored as stopped" "$(api "$BASE/api/conversations/$CS" | jq -r '.messages[-1].state')" "stopped"
assert_eq "delete: 204" "$(code -b "$J" -X DELETE "$BASE/api/conversations/$CG")" "204"
assert_eq "deleted: 404" "$(code -b "$J" "$BASE/api/conversations/$CG")" "404"
assert_eq "bad id: 404" "$(code -b "$J" "$BASE/api/conversations/nothex")" "404"
assert_eq "logout: 200" "$(code -b "$J" -d '' "$BASE/logout")" "200"

# Stop with a reply in flight: the worker drains it (drain_timeout 2 s),
# stores it as interrupted, and frees it on the way out. SIGTERM goes to
# run.sh, which stops the worker and lighttpd (which stops the FastCGI
# processes); valgrind writes each summary as they exit. (Logout above
# ended that session: a new login for this one.)
login alice "$PW_alice" "$J" >/dev/null
ws "$J" "$(cprompt drain '#words:400 #slow:20')" >"$T/drain.out" 2>&1 &
drain_pid=$!
for _ in $(seq 100); do grep -qs '"type":"delta"' "$T/drain.out" && break; sleep 0.1; done
check "a reply is streaming when the stack stops" grep -qs '"type":"delta"' "$T/drain.out"
kill -TERM "$STACK_PID" 2>/dev/null
for _ in $(seq 300); do kill -0 "$STACK_PID" 2>/dev/null || break; sleep 0.1; done
complete=0
for _ in $(seq 300); do
	complete=1
	for f in "$VG"/vg.*.log; do
		grep -q 'ERROR SUMMARY:' "$f" || complete=0
	done
	[ $complete -eq 1 ] && break
	sleep 0.1
done
kill "$drain_pid" 2>/dev/null
wait "$drain_pid" 2>/dev/null
check "the worker interrupted the reply in flight" grep -q 'reply interrupted .*msgid=drain' "$T/stack.log"
stack_stop

# The verdict, per log.
nlogs=0 nworker=0 nfcgi=0 nsession=0
for f in "$VG"/vg.*.log; do
	[ -f "$f" ] || continue
	nlogs=$((nlogs + 1))
	cmd=$(sed -n 's/^==[0-9]*== Command: //p' "$f" | head -1)
	prog=$(basename "${cmd%% *}")
	pid=$(basename "$f" .log)
	pid=${pid#vg.}
	case "$prog" in
	lightchat-worker) nworker=$((nworker + 1)) ;;
	lightchat.fcgi) nfcgi=$((nfcgi + 1)) ;;
	lightchat-ws) nsession=$((nsession + 1)) ;;
	esac
	name="valgrind $prog (pid $pid)"
	summary=$(grep -h 'ERROR SUMMARY:' "$f" | tail -1 | sed 's/^==[0-9]*== //')
	if [ -z "$summary" ]; then
		not_ok "$name: log complete" "$(tail -3 "$f" | sed '2,$s/^/#   /')"
		continue
	fi
	if [[ "$summary" == "ERROR SUMMARY: 0 errors"* ]]; then
		ok "$name: no memory errors"
	else
		not_ok "$name: no memory errors" "$summary" \
			"$(detail "$f" -m1 -A12 -E '== (Invalid|Conditional|Use of|Syscall|Mismatched|Source and|Argument|[0-9,]+ bytes in)')"
	fi
	lost=$(sed -n 's/^==[0-9]*== *definitely lost: \([0-9,]*\) bytes.*/\1/p' "$f" | tail -1 | tr -d ,)
	if grep -q 'All heap blocks were freed' "$f" || [ "${lost:-x}" = 0 ]; then
		ok "$name: nothing definitely lost"
	elif [ -z "$lost" ]; then
		not_ok "$name: nothing definitely lost" "no leak summary in the log" "$(tail -5 "$f" | sed '2,$s/^/#   /')"
	else
		not_ok "$name: nothing definitely lost" "definitely lost: $lost bytes" \
			"$(detail "$f" -m1 -A8 'definitely lost in loss record')"
	fi
	if grep -q 'Process terminating with default action' "$f"; then
		not_ok "$name: exited normally (leak check at exit)" \
			"$(detail "$f" -m1 -A3 'Process terminating')"
	else
		ok "$name: exited normally (leak check at exit)"
	fi
done
check "valgrind logs: the worker's" test "$nworker" -ge 1
check "valgrind logs: the FastCGI program's" test "$nfcgi" -ge 1
check "valgrind logs: the sessions' ($nsession)" test "$nsession" -ge 5
if [ -n "${KEEP_LOGS:-}" ]; then
	rm -rf "/tmp/$(basename "$0" .sh).vg"
	cp -r "$VG" "/tmp/$(basename "$0" .sh).vg"
fi
finish
