#!/usr/bin/env bash
# test-sessions.sh - sessions end when they should: after logout (cookie or
# ?token=), a password change (lightchat-admin, htpasswd -B), a deleted line
# (htpasswd -D), lightchat-admin user del / user revoke and rotate-key, the
# old token is refused by the REST API, the /ws authorizer and a new
# WebSocket, and an already open WebSocket gets a final unauthorized frame
# and is closed within 2 s; a reply in flight for a deleted user is stopped
# upstream; other users' sessions go on; a new user of the same name
# inherits nothing; remember me and the idle limit.
. "$(dirname "$0")/lib.sh"
stack_start || finish
adm() { LIGHTCHAT_CONFIG=/dev/null LIGHTCHAT_STATE="$T/state" "$ADMIN" "$@"; }
USERS=$T/state/users
JB=$T/jar-bob
login bob "$PW_bob" "$JB" >/dev/null
keep_bob() { curl -s -o /dev/null -b "$JB" "$BASE/api/me"; }

rest_code() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "$BASE/api/me"; }
upgrade_code() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Cookie: lightchat_session=$1" \
		-H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
		-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$BASE/ws"
}

# open_ws NAME TOKEN: an open WebSocket of TOKEN (in the URL, as the seed
# client does) that listens; its frames go to $T/NAME.out.
open_ws() {
	"$PY" "$WSCLIENT" --until-final 0 --timeout 20 --ping-interval 0.5 \
		"$WS?token=Bearer%20$2" >"$T/$1.out" 2>"$T/$1.err" &
	eval "WSPID_$1=$!"
	sleep 0.7
}

# ended NAME TOKEN T0: the checks of every path, the change made at T0
# (date +%s.%N): the open WebSocket NAME got the unauthorized frame and was
# closed within 2 s; the token is refused on REST, by the authorizer and on
# a new WebSocket.
ended() {
	local name=$1 tok=$2 t0=$3 pid t1 closed=0
	eval "pid=\$WSPID_$name"
	for _ in $(seq 60); do
		if ! kill -0 "$pid" 2>/dev/null; then closed=1; break; fi
		sleep 0.05
	done
	t1=$(date +%s.%N)
	wait "$pid" 2>/dev/null
	check "$name: the open WebSocket was closed" test $closed -eq 1
	check "$name: ... within 2 s" awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a <= 2.0) }'
	assert_eq "$name: ... after a final unauthorized frame" \
		"$(grep '"type":"error"' "$T/$name.out" | tail -1 | jq -r .error.code)" "unauthorized"
	[ $closed -eq 1 ] || kill "$pid" 2>/dev/null
	assert_eq "$name: REST refuses the token" "$(rest_code "$tok")" "401"
	assert_eq "$name: the authorizer refuses the token" "$(upgrade_code "$tok")" "401"
	check "$name: a new WebSocket is refused" "$PY" "$WSCLIENT" --timeout 5 --expect-status 401 \
		"$WS?token=Bearer%20$tok"
}

# fresh USER PASSWORD JAR: logs in, checks the token works everywhere, and
# sets TOK.
fresh() {
	login "$1" "$2" "$3" >/dev/null
	TOK=$(token_of "$3")
	assert_eq "login $1: REST accepts the token" "$(rest_code "$TOK")" "200"
}

# ---- logout with the cookie
J=$T/jar-a1
fresh alice "$PW_alice" "$J"
open_ws logout "$TOK"
t0=$(date +%s.%N)
curl -s -o /dev/null -b "$J" -d "" "$BASE/logout"
ended logout "$TOK" "$t0"
check "logout: the cookie jar's token is refused on /api/me" \
	test "$(curl -s -o /dev/null -w '%{http_code}' -b "lightchat_session=$TOK" "$BASE/api/me")" = 401
keep_bob

# ---- logout with the seed client's Bearer token (its ?token= form then fails)
J=$T/jar-a2
fresh alice "$PW_alice" "$J"
open_ws bearer "$TOK"
t0=$(date +%s.%N)
curl -s -o /dev/null -H "Authorization: Bearer $TOK" -d "" "$BASE/logout"
ended bearer "$TOK" "$t0"
keep_bob

# ---- another session of the same user survives a logout
J=$T/jar-a3; J2=$T/jar-a4
fresh alice "$PW_alice" "$J"; T3=$TOK
fresh alice "$PW_alice" "$J2"; T4=$TOK
curl -s -o /dev/null -b "$J" -d "" "$BASE/logout"
assert_eq "logout ends only its own session" "$(rest_code "$T4")" "200"
assert_eq "... and the logged-out one is refused" "$(rest_code "$T3")" "401"
keep_bob

# ---- password changed by lightchat-admin
open_ws passwd "$T4"
t0=$(date +%s.%N)
PW_alice="alice-Changed-3"
echo "$PW_alice" | adm user passwd alice 2>/dev/null
ended passwd "$T4" "$t0"
assert_eq "bob's session is untouched by alice's changes" "$(curl -s -o /dev/null -w '%{http_code}' -b "$JB" "$BASE/api/me")" "200"

# ---- password changed by htpasswd -B
J=$T/jar-a5
fresh alice "$PW_alice" "$J"
open_ws htpasswd_b "$TOK"
t0=$(date +%s.%N)
PW_alice="alice-Bcrypt-4"
htpasswd -B -b "$USERS" alice "$PW_alice" 2>/dev/null
ended htpasswd_b "$TOK" "$t0"
fresh alice "$PW_alice" "$J"
keep_bob

# ---- the line deleted by htpasswd -D
open_ws htpasswd_d "$TOK"
t0=$(date +%s.%N)
htpasswd -D "$USERS" alice 2>/dev/null
ended htpasswd_d "$TOK" "$t0"
echo "$PW_alice" | adm user add alice 2>/dev/null
keep_bob

# ---- lightchat-admin user revoke
J=$T/jar-a6; J7=$T/jar-a7
fresh alice "$PW_alice" "$J"; T6=$TOK
fresh alice "$PW_alice" "$J7"; T7=$TOK
out=$(adm sessions)
check "sessions: lists alice's and bob's sessions" bash -c "grep -q '^alice ' <<<'$out' && grep -q '^bob ' <<<'$out'"
check "sessions: the client and address columns" bash -c "grep -q 'curl/' <<<'$out' && grep -q '127.0.0.1' <<<'$out'"
out=$(adm sessions alice)
check "sessions NAME: only that user's" bash -c "grep -q '^alice ' <<<'$out' && ! grep -q '^bob ' <<<'$out'"
open_ws revoke "$T6"
t0=$(date +%s.%N)
adm user revoke alice 2>/dev/null
ended revoke "$T6" "$t0"
assert_eq "revoke: every session of alice ended" "$(rest_code "$T7")" "401"
assert_eq "revoke: bob's session is untouched" "$(curl -s -o /dev/null -w '%{http_code}' -b "$JB" "$BASE/api/me")" "200"
out=$(adm sessions)
check "sessions: none of alice's left" bash -c "! grep -q '^alice ' <<<'$out'"

# ---- lightchat-admin user del --keep-data, with a reply in flight
J=$T/jar-a8
fresh alice "$PW_alice" "$J"
before=$(curl -s "$UP/_stats" | jq .client_closed)
"$PY" "$WSCLIENT" --timeout 20 --until-final 1 "$WS?token=Bearer%20$TOK" \
	'{"action":"sendprompt","payload":{"msgid":"slow1","prompt":"#words:200 #slow:10 secret plans","stream":true}}' \
	>"$T/del.out" 2>"$T/del.err" &
WSPID_del=$!
sleep 1.5
CONV=$(jq -r 'select(.type=="start") | .conversation_id' "$T/del.out" | head -1)
check "user del: a reply was in flight" test ${#CONV} -eq 32
t0=$(date +%s.%N)
adm user del --keep-data alice 2>/dev/null
ended del "$TOK" "$t0"
check "user del: the upstream request was closed early" \
	test "$(curl -s "$UP/_stats" | jq .client_closed)" -gt "$before"
sleep 0.3
assert_eq "user del: the reply was stopped" \
	"$(q "SELECT state FROM messages WHERE conversation_id = '$CONV' AND role = 'assistant'")" "stopped"
assert_match "del --keep-data: kept apart under an owner no login has" \
	"$(q "SELECT \"user\" FROM conversations WHERE id = '$CONV'")" '^~deleted~[0-9]+~alice$'
echo "$PW_alice" | adm user add alice 2>/dev/null
J=$T/jar-a9
fresh alice "$PW_alice" "$J"
assert_eq "del --keep-data: the new alice sees no old conversation" \
	"$(curl -s -b "$J" "$BASE/api/conversations" | jq '.conversations | length')" "0"
assert_eq "del --keep-data: nor the old one by its id" \
	"$(curl -s -o /dev/null -w '%{http_code}' -b "$J" "$BASE/api/conversations/$CONV")" "404"
adm purge alice 2>/dev/null
assert_eq "purge: the kept-apart data is gone" \
	"$(q "SELECT count(*) FROM conversations WHERE id = '$CONV'") $(q "SELECT count(*) FROM messages WHERE conversation_id = '$CONV'")" "0 0"

# ---- a deleted user's reply that outlived its connection is stopped too
before=$(curl -s "$UP/_stats" | jq .client_closed)
out=$("$PY" "$WSCLIENT" --timeout 10 --close-after 3 "$WS?token=Bearer%20$TOK" \
	'{"action":"sendprompt","payload":{"msgid":"slow2","prompt":"#words:200 #slow:10 more plans","stream":true}}')
CONV=$(jq -r 'select(.type=="start") | .conversation_id' <<<"$out" | head -1)
check "no connection: a reply goes on without its connection" test ${#CONV} -eq 32
sleep 0.5
adm user del --keep-data alice 2>/dev/null
sleep 2
check "no connection: the upstream request was closed early" \
	test "$(curl -s "$UP/_stats" | jq .client_closed)" -gt "$before"
assert_eq "no connection: the reply was stopped" \
	"$(q "SELECT state FROM messages WHERE conversation_id = '$CONV' AND role = 'assistant'")" "stopped"
adm purge 2>/dev/null
echo "$PW_alice" | adm user add alice 2>/dev/null
fresh alice "$PW_alice" "$J"

# ---- lightchat-admin user del (the default: the data goes with the user)
out=$("$PY" "$WSCLIENT" --timeout 10 "$WS?token=Bearer%20$TOK" \
	'{"action":"sendprompt","payload":{"msgid":"d1","prompt":"old stuff","stream":true}}')
CONV=$(jq -r 'select(.type=="start") | .conversation_id' <<<"$out" | head -1)
check "user del: alice has a conversation" test ${#CONV} -eq 32
adm user del alice 2>/dev/null
assert_eq "user del: the conversation and its messages are deleted" \
	"$(q "SELECT count(*) FROM conversations WHERE id = '$CONV'") $(q "SELECT count(*) FROM messages WHERE conversation_id = '$CONV'")" "0 0"
echo "$PW_alice" | adm user add alice 2>/dev/null
J=$T/jar-a10
fresh alice "$PW_alice" "$J"
assert_eq "user del: the new alice sees no old conversation" \
	"$(curl -s -b "$J" "$BASE/api/conversations" | jq '.conversations | length')" "0"
check "user del: bob's conversations stay" test "$(q "SELECT count(*) FROM conversations WHERE \"user\" = 'bob'")" -ge 0

# ---- lightchat-admin rotate-key: everyone, at once, without a restart
J=$T/jar-a11
fresh alice "$PW_alice" "$J"
open_ws rotate "$TOK"
TB=$(token_of "$JB")
assert_eq "rotate-key: bob's token works before" "$(rest_code "$TB")" "200"
t0=$(date +%s.%N)
adm rotate-key 2>/dev/null
check "rotate-key: the key file is 0600" test "$(stat -c %a "$T/state/token.key")" = 600
sleep 1.1   # the FastCGI processes look at the key file once a second
ended rotate "$TOK" "$t0"
assert_eq "rotate-key: bob's token is refused too" "$(rest_code "$TB")" "401"
login bob "$PW_bob" "$JB" >/dev/null
assert_eq "rotate-key: a new login works" "$(rest_code "$(token_of "$JB")")" "200"
check "rotate-key: no restart" test "$(grep -c 'worker exited' "$T/stack.log")" -eq 0

# ---- users see their own sessions and end them
JS1=$T/jar-s1; JS2=$T/jar-s2; JS3=$T/jar-s3
fresh alice "$PW_alice" "$JS1"; S1=$TOK
fresh alice "$PW_alice" "$JS2"; S2=$TOK
list=$(curl -s -b "$JS1" "$BASE/api/sessions")
assert_eq "GET /api/sessions: alice's two" "$(jq '.sessions | length' <<<"$list")" "2"
assert_eq "GET /api/sessions: the caller's is current" "$(jq '[.sessions[] | select(.current)] | length' <<<"$list")" "1"
sid2=$(cut -d. -f2 <<<"$S2" | tr '_-' '/+' | base64 -d 2>/dev/null | jq -r .sid)
check "GET /api/sessions: no sid in the answer" bash -c "! grep -q '$sid2' <<<'$list'"
check "GET /api/sessions: fields" test "$(jq -c '.sessions[0] | keys' <<<"$list")" = '["addr","client","current","id","last_seen","remember","started"]'
bid=$(curl -s -b "$JB" "$BASE/api/sessions" | jq -r '.sessions[0].id')
assert_eq "DELETE another user's session: 404" "$(curl -s -o /dev/null -w '%{http_code}' -b "$JS1" -X DELETE "$BASE/api/sessions/$bid")" "404"
assert_eq "... and bob's session goes on" "$(curl -s -o /dev/null -w '%{http_code}' -b "$JB" "$BASE/api/me")" "200"
other=$(jq -r '.sessions[] | select(.current | not) | .id' <<<"$list")
assert_eq "DELETE /api/sessions/ID: 204" "$(curl -s -o /dev/null -w '%{http_code}' -b "$JS1" -X DELETE "$BASE/api/sessions/$other")" "204"
assert_eq "... that session has ended" "$(rest_code "$S2")" "401"
assert_eq "... the caller's goes on" "$(rest_code "$S1")" "200"
fresh alice "$PW_alice" "$JS3"; S3=$TOK
assert_eq "POST /api/sessions/others: 200" "$(curl -s -o "$T/oth" -w '%{http_code}' -b "$JS1" -d '' "$BASE/api/sessions/others")" "200"
assert_eq "... ended one" "$(jq .ended "$T/oth")" "1"
assert_eq "... the other session has ended" "$(rest_code "$S3")" "401"
assert_eq "... the caller's goes on" "$(rest_code "$S1")" "200"
assert_eq "... bob's goes on" "$(curl -s -o /dev/null -w '%{http_code}' -b "$JB" "$BASE/api/me")" "200"

# ---- remember me: the cookie's Max-Age
# (the session cookie's line only: the device cookie has its own expiry)
code_h() { curl -s -o /dev/null -D "$T/h" -H 'Content-Type: application/json' -d "$1" "$BASE/login"; grep -i '^set-cookie: lightchat_session=' "$T/h" | tr -d '\r'; }
c=$(code_h "{\"username\":\"alice\",\"password\":\"$PW_alice\"}")
check "remember off: the cookie has no Max-Age nor Expires" bash -c "! grep -qiE 'max-age|expires' <<<'$c'"
c=$(code_h "{\"username\":\"alice\",\"password\":\"$PW_alice\",\"remember\":true}")
assert_match "remember on: Max-Age is session_remember_lifetime" "$c" 'Max-Age=2592000'
c=$(code_h "{\"username\":\"alice\",\"password\":\"$PW_alice\",\"remember\":false}")
check "remember false: no Max-Age" bash -c "! grep -qi 'max-age' <<<'$c'"

stack_stop

# ---- the idle limit, at its smallest (2 s; touched every second)
stack_start LIGHTCHAT_SESSION_IDLE_TIMEOUT=2 LIGHTCHAT_SESSION_REMEMBER_LIFETIME=600 || finish
J=$T/jar-i1; JR=$T/jar-i2; JK=$T/jar-i3
fresh alice "$PW_alice" "$J"; TI=$TOK
fresh alice "$PW_alice" "$JK"; TK=$TOK
curl -s -o /dev/null -c "$JR" -H 'Content-Type: application/json' \
	-d "{\"username\":\"alice\",\"password\":\"$PW_alice\",\"remember\":true}" "$BASE/login"
TR=$(token_of "$JR")
for _ in 1 2 3 4; do sleep 0.8; rest_code "$TK" >/dev/null; done
assert_eq "idle: a session in use goes on" "$(rest_code "$TK")" "200"
assert_eq "idle: an unused one has ended" "$(rest_code "$TI")" "401"
assert_eq "idle: ... and the authorizer refuses it" "$(upgrade_code "$TI")" "401"
assert_eq "idle: a remember-me session has no idle limit" "$(rest_code "$TR")" "200"
assert_match "remember on: Max-Age from session_remember_lifetime" \
	"$(curl -s -o /dev/null -D - -H 'Content-Type: application/json' -d "{\"username\":\"alice\",\"password\":\"$PW_alice\",\"remember\":true}" "$BASE/login" | tr -d '\r' | grep -i '^set-cookie:')" 'Max-Age=600'
stack_stop
finish
