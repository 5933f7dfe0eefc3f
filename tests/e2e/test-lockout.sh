#!/usr/bin/env bash
# test-lockout.sh - login that strangers cannot abuse: a stranger guessing
# alice's password from other addresses cannot lock her out (her device
# cookie and the address she logged in from keep working) and meets growing
# delays; failed logins are throttled from memory when the database cannot
# count them (a full disk, an unreadable database); the Origin is checked
# against the configured origins, not the Host header.
. "$(dirname "$0")/lib.sh"

# code ADDR ARGS...: a request from the loopback address ADDR (lighttpd
# trusts no forwarding header: REMOTE_ADDR is the client's own); prints the
# status, headers in $T/h.
code() { local a=$1; shift; curl -s --interface "$a" -D "$T/h" -o "$T/b" -w '%{http_code}' "$@"; }
# try ADDR USER PASSWORD [CURL ARGS...]: a login attempt.
try() {
	local a=$1 u=$2 p=$3; shift 3
	code "$a" -H 'Content-Type: application/json' "$@" \
		-d "{\"username\":\"$u\",\"password\":\"$p\"}" "$BASE/login"
}
retry_after() { tr -d '\r' <"$T/h" | sed -n 's/^Retry-After: //p'; }

stack_start LIGHTCHAT_LOGIN_MAX_FAILURES_USER=3 LIGHTCHAT_LOGIN_MAX_FAILURES_ADDR=100 \
	LIGHTCHAT_LOGIN_WINDOW=120 LIGHTCHAT_LOGIN_MAX_DELAY=8 || finish
A=$T/alice.jar

# Alice logs in: she gets a device cookie for /login only.
assert_eq "alice logs in" "$(try 127.0.0.1 alice "$PW_alice" -b "$A" -c "$A")" "200"
dev=$(grep -i '^set-cookie: lightchat_device=' "$T/h" | tr -d '\r')
assert_match "device cookie: HttpOnly, SameSite=Strict, /login only, persistent" "$dev" \
	'^[Ss]et-[Cc]ookie: lightchat_device=[A-Za-z0-9_-]+; Path=/login; Expires=[^;]+ GMT; HttpOnly; SameSite=Strict$'
check "device cookie does not name the user in clear" bash -c "! grep -q alice <<<'${dev#*=}'"

# A stranger guesses from 127.0.0.2: after 3 failures, growing delays.
for i in 1 2 3; do try 127.0.0.2 alice "guess$i" >/dev/null; done
assert_eq "stranger: the 4th attempt at once gets 429" "$(try 127.0.0.2 alice guess4)" "429"
assert_eq "429 keeps the seed's failure shape" "$(jq -c '[.isAuthorized,.body.token]' "$T/b")" '[false,""]'
r1=$(retry_after)
assert_eq "the first delay is 1 s" "$r1" "1"
sleep 1.1
assert_eq "after the delay the stranger may try again" "$(try 127.0.0.2 alice guess5)" "401"
try 127.0.0.2 alice guess6 >/dev/null
r2=$(retry_after)
sleep "$r2.1"
try 127.0.0.2 alice guess7 >/dev/null
try 127.0.0.2 alice guess8 >/dev/null
r3=$(retry_after)
assert_eq "Retry-After grows (1, 2, 4)" "$r1 $r2 $r3" "1 2 4"

# Meanwhile alice is not locked out.
assert_eq "alice with her device cookie, from a new address: 200" \
	"$(try 127.0.0.3 alice "$PW_alice" -b "$A" -c "$A")" "200"
assert_eq "alice from the address she logged in from: 200" \
	"$(try 127.0.0.1 alice "$PW_alice")" "200"
assert_eq "a new client for alice elsewhere is throttled" "$(try 127.0.0.4 alice "$PW_alice")" "429"
grep -v lightchat_device "$A" >"$T/forged.jar"
printf '127.0.0.1\tFALSE\t/login\tFALSE\t0\tlightchat_device\t%s\n' \
	"$(awk '$6 == "lightchat_device" {print $7}' "$A" | tr 'A-Za-z' 'B-ZAb-za')" >>"$T/forged.jar"
assert_eq "a tampered device cookie is no device cookie" "$(try 127.0.0.5 alice "$PW_alice" -b "$T/forged.jar")" "429"
assert_eq "alice's device cookie is no device cookie for bob" \
	"$(try 127.0.0.5 bob wrong -b "$A")$(try 127.0.0.5 bob wrong -b "$A")$(try 127.0.0.5 bob wrong -b "$A")$(try 127.0.0.5 bob "$PW_bob" -b "$A")" "401401401429"
# The device's own counter: its failures throttle that device only.
for i in 1 2 3; do try 127.0.0.3 alice "typo$i" -b "$A" >/dev/null; done
assert_eq "device: 3 failures throttle the device" "$(try 127.0.0.3 alice "$PW_alice" -b "$A")" "429"
assert_eq "...not alice's trusted address" "$(try 127.0.0.1 alice "$PW_alice")" "200"

# Origin: the configured origins, not the Host header (DNS rebinding).
assert_eq "login with Host and Origin evil.example: 403" "$(code 127.0.0.1 -H 'Host: evil.example' \
	-H 'Origin: http://evil.example' -H 'Content-Type: application/json' \
	-d "{\"username\":\"bob\",\"password\":\"$PW_bob\"}" "$BASE/login")" "403"
check "...and no cookie" bash -c "! grep -qi '^set-cookie' '$T/h'"
wsh=(-H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13'
	-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -b "$A")
try 127.0.0.1 alice "$PW_alice" -b "$A" -c "$A" >/dev/null
assert_eq "/ws with Host and Origin evil.example: 403" "$(code 127.0.0.1 --max-time 3 "${wsh[@]}" \
	-H 'Host: evil.example' -H 'Origin: http://evil.example' "$BASE/ws")" "403"
assert_eq "/ws from the public origin: 101" "$(code 127.0.0.1 --max-time 1 "${wsh[@]}" \
	-H "Origin: http://127.0.0.1:$PORT" "$BASE/ws")" "101"
assert_eq "login from http://localhost:PORT (a default public origin): 200" \
	"$(try 127.0.0.1 bob "$PW_bob" -H "Origin: http://localhost:$PORT")" "200"
stack_stop

# Fail closed: the database on a small tmpfs, filled up mid-run.
if pg_mode; then
	skip "fail-closed on a full disk and an unreadable database file" "SQLite's own file on a tmpfs; PostgreSQL's outage is test-multihost's (the server stopped mid-run)"
	finish
fi
DBFS=$(mktemp -d /tmp/lightchat-dbfs.XXXXXX)
if mount -t tmpfs -o size=2m tmpfs "$DBFS" 2>/dev/null; then
	trap 'umount "$DBFS" 2>/dev/null; rmdir "$DBFS" 2>/dev/null' EXIT
	stack_start LIGHTCHAT_DATABASE="$DBFS/lightchat.db" LIGHTCHAT_LOGIN_MAX_FAILURES_USER=3 \
		LIGHTCHAT_LOGIN_MAX_FAILURES_ADDR=100 LIGHTCHAT_LOGIN_WINDOW=120 || finish
	assert_eq "full disk: bob logs in before" "$(try 127.0.0.1 bob "$PW_bob")" "200"
	dd if=/dev/zero of="$DBFS/fill" bs=16k 2>/dev/null
	for i in 1 2 3; do try 127.0.0.2 alice "guess$i" >/dev/null; done
	assert_eq "full disk: failures still throttle (429)" "$(try 127.0.0.2 alice "$PW_alice")" "429"
	check "full disk: the database could not count them" grep -q 'cannot count failed logins' "$T/stack.log"
	assert_eq "full disk: the incident is logged once" "$(grep -c 'cannot count failed logins' "$T/stack.log")" "1"
	# A login must record its session (or logout could not end it): on a
	# full disk it is refused, never let in unrevocable.
	assert_eq "full disk: a login whose session cannot be recorded is refused (503)" \
		"$(try 127.0.0.1 bob "$PW_bob")" "503"
	rm -f "$DBFS/fill"
	assert_eq "disk freed: bob logs in again" "$(try 127.0.0.1 bob "$PW_bob")" "200"

	# An unreadable database: junk in its place, new FastCGI processes.
	mv "$DBFS/lightchat.db" "$DBFS/old.db"
	head -c 8192 /dev/urandom >"$DBFS/lightchat.db"
	for p in $(stack_procs); do
		[ "$(cat /proc/$p/comm 2>/dev/null)" = lightchat.fcgi ] && kill -TERM "$p"
	done
	sleep 1
	for i in 1 2 3; do try 127.0.0.2 carol "guess$i" >/dev/null; done
	assert_eq "unreadable database: failures still throttle (429)" "$(try 127.0.0.2 carol guess4)" "429"
	assert_eq "unreadable database: login still works" "$(try 127.0.0.1 bob "$PW_bob")" "200"
	stack_stop
	umount "$DBFS" && rmdir "$DBFS"
	trap - EXIT
else
	rmdir "$DBFS"
	printf 'skip - %s\n' "fail-closed on a full disk: mount -t tmpfs needs root"
fi
finish
