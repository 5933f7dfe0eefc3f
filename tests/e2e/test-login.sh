#!/usr/bin/env bash
# test-login.sh - POST /login, /logout, /api/me, /api/models and CORS through
# the real lighttpd and FastCGI program.
. "$(dirname "$0")/lib.sh"
stack_start || finish
J=$T/jar

# Good login: the seed's success shape plus the cookie.
status=$(curl -s -w '%{http_code}' -D "$T/h" -o "$T/b" -c "$J" -H 'Content-Type: application/json' \
	-d "{\"username\":\"alice\",\"password\":\"$PW_alice\"}" "$BASE/login")
assert_eq "login ok: 200" "$status" "200"
assert_eq "login ok: isAuthorized" "$(jq -r .isAuthorized "$T/b")" "true"
assert_eq "login ok: body.message" "$(jq -r .body.message "$T/b")" "success"
assert_match "login ok: body.token is a JWT" "$(jq -r .body.token "$T/b")" '^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$'
cookie=$(grep -i '^set-cookie:' "$T/h" | tr -d '\r')
assert_match "login ok: cookie is HttpOnly and SameSite=Strict" "$cookie" 'lightchat_session=eyJ[^;]+; Path=/; HttpOnly; SameSite=Strict'
check "login ok: session cookie without remember has no Max-Age" bash -c "! grep -qi 'max-age' <<<'$cookie'"
assert_eq "login ok: cookie token equals body token" "$(token_of "$J")" "$(jq -r .body.token "$T/b")"

status=$(curl -s -D "$T/h" -o /dev/null -H 'Content-Type: application/json' \
	-d "{\"username\":\"alice\",\"password\":\"$PW_alice\",\"remember\":true}" "$BASE/login")
assert_match "login with remember: persistent cookie" "$(grep -i '^set-cookie:' "$T/h" | tr -d '\r')" 'Max-Age=2592000'  # session_remember_lifetime's default

# Bad logins: one answer for an unknown user and a wrong password.
status=$(curl -s -o "$T/wrong" -H 'Content-Type: application/json' -w '%{http_code}' \
	-d '{"username":"alice","password":"nope"}' "$BASE/login")
assert_eq "wrong password: 401" "$status" "401"
assert_eq "wrong password: seed failure shape" "$(jq -c '[.isAuthorized,.body.token,(.body.message|length>0),(.msg|length>0)]' "$T/wrong")" '[false,"",true,true]'
status=$(curl -s -o "$T/unknown" -H 'Content-Type: application/json' -w '%{http_code}' \
	-d '{"username":"mallory","password":"nope"}' "$BASE/login")
assert_eq "unknown user: 401" "$status" "401"
assert_eq "unknown user: same body as a wrong password" "$(cat "$T/unknown")" "$(cat "$T/wrong")"

code() { curl -s -o "$T/out" -w '%{http_code}' "$@"; }
assert_eq "malformed JSON: 400" "$(code -H 'Content-Type: application/json' -d '{"username":' "$BASE/login")" "400"
assert_eq "malformed JSON: seed failure shape" "$(jq -r .isAuthorized "$T/out")" "false"
assert_eq "missing password: 400" "$(code -H 'Content-Type: application/json' -d '{"username":"alice"}' "$BASE/login")" "400"
assert_eq "password not a string: 400" "$(code -H 'Content-Type: application/json' -d '{"username":"alice","password":1}' "$BASE/login")" "400"
assert_eq "JSON array body: 400" "$(code -H 'Content-Type: application/json' -d '[1]' "$BASE/login")" "400"
assert_eq "form-encoded body: 415" "$(code -d 'username=alice&password=x' "$BASE/login")" "415"
assert_eq "GET /login: 405" "$(code -D "$T/h405" "$BASE/login")" "405"
assert_match "GET /login: Allow header" "$(tr -d '\r' <"$T/h405")" 'Allow: POST, OPTIONS'
head -c 20000 /dev/zero | tr '\0' 'a' >"$T/big"
assert_eq "oversized body: 413" "$(code -H 'Content-Type: application/json' --data-binary @"$T/big" "$BASE/login")" "413"
assert_eq "unknown API page: 404" "$(code -b "$J" "$BASE/api/nothing")" "404"

# /api/me and /api/models
assert_eq "/api/me with the cookie: 200" "$(code -b "$J" "$BASE/api/me")" "200"
assert_eq "/api/me names the user" "$(jq -r .username "$T/out")" "alice"
assert_eq "/api/me says not demo" "$(jq -r .demo "$T/out")" "false"
assert_eq "/api/me with a Bearer token: 200" "$(code -H "Authorization: Bearer $(token_of "$J")" "$BASE/api/me")" "200"
assert_eq "/api/me without credentials: 401" "$(code "$BASE/api/me")" "401"
assert_eq "/api/me with a forged token: 401" "$(code -H "Authorization: Bearer $(token_of "$J")x" "$BASE/api/me")" "401"
assert_eq "/api/me POST: 405" "$(code -b "$J" -d '' "$BASE/api/me")" "405"
assert_eq "/api/models: 200" "$(code -b "$J" "$BASE/api/models")" "200"
assert_eq "/api/models lists the allow-list" "$(jq -c '{models, default}' "$T/out")" '{"models":["gpt-4o-mini","gpt-4o","gpt-4.1-mini"],"default":"gpt-4o-mini"}'
assert_eq "/api/models: one detail per model, the flat upstream" "$(jq -c '[.details[] | [.id, .upstream, .available]], [.upstreams[] | [.name, .status]]' "$T/out" | tr '\n' ' ')" \
	'[["gpt-4o-mini","default",true],["gpt-4o","default",true],["gpt-4.1-mini","default",true]] [["default","ok"]] '

# CORS for the seed client served from another (configured) origin.
assert_eq "preflight from an allowed origin: 204" "$(code -D "$T/hc" -X OPTIONS -H 'Origin: http://seed.example' \
	-H 'Access-Control-Request-Method: POST' \
	-H 'Access-Control-Request-Headers: access-control-allow-origin,content-type' "$BASE/login")" "204"
hc=$(tr -d '\r' <"$T/hc")
assert_match "preflight: Allow-Origin echoes the origin" "$hc" 'Access-Control-Allow-Origin: http://seed.example'
assert_match "preflight: allows the seed's odd request header" "$hc" 'Access-Control-Allow-Headers: [^
]*access-control-allow-origin'
assert_eq "preflight from another origin: 403" "$(code -X OPTIONS -H 'Origin: http://evil.example' "$BASE/login")" "403"
status=$(curl -s -w '%{http_code}' -D "$T/hp" -o "$T/b" -H 'Origin: http://seed.example' -H 'Content-Type: application/json' \
	-H 'Access-Control-Allow-Origin: *' \
	-d "{\"username\":\"bob\",\"password\":\"$PW_bob\"}" "$BASE/login")
assert_eq "cross-origin login from an allowed origin: 200" "$status" "200"
assert_match "cross-origin login: Allow-Origin header" "$(tr -d '\r' <"$T/hp")" 'Access-Control-Allow-Origin: http://seed.example'
assert_eq "login from a foreign origin: 403" "$(code -H 'Origin: http://evil.example' -H 'Content-Type: application/json' \
	-d "{\"username\":\"bob\",\"password\":\"$PW_bob\"}" "$BASE/login")" "403"

# Logout clears the cookie.
assert_eq "logout: 200" "$(code -D "$T/hl" -b "$J" -d '' "$BASE/logout")" "200"
assert_match "logout: cookie cleared" "$(tr -d '\r' <"$T/hl")" 'lightchat_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0'

# The page itself and the vendored libraries are served.
assert_eq "GET / serves the page" "$(code "$BASE/")" "200"
assert_eq "vendored marked is served" "$(code "$BASE/vendor/marked/marked.min.js")" "200"
assert_eq "vendored DOMPurify is served" "$(code "$BASE/vendor/dompurify/purify.min.js")" "200"
assert_eq "vendored highlight.js is served" "$(code "$BASE/vendor/highlight.js/highlight.min.js")" "200"

# A user name cannot forge a log line: control characters are escaped.
curl -s -o /dev/null -H 'Content-Type: application/json' \
	-d '{"username":"eve\ninfo fcgi: login ok user=root","password":"x"}' "$BASE/login"
sleep 0.2
check "a newline in a user name is escaped in the log" grep -q 'user=eve\\x0ainfo fcgi: login ok user=root' "$T/stack.log"
check "no forged log line" bash -c "! grep -q '^info fcgi: login ok user=root' '$T/stack.log'"

# A successful login with a weaker hash (htpasswd -B's bcrypt) rehashes it
# to yescrypt at the configured cost; the file keeps its other lines.
U=$T/state/users
printf '# managed by hand: keep this comment\n' >>"$U"
htpasswd -bB "$U" carol 'carol-Secret-3' 2>/dev/null
printf '# trailing comment\n' >>"$U"
before=$(grep -v '^carol:' "$U")
check "carol starts with a bcrypt hash" grep -q '^carol:\$2y\$' "$U"
assert_eq "bcrypt user logs in: 200" "$(login carol 'carol-Secret-3' "$T/jarc")" "200"
check "the login rehashed carol to yescrypt" grep -q '^carol:\$y\$j9T\$' "$U"
assert_eq "rehash: every other line kept" "$(grep -v '^carol:' "$U")" "$before"
assert_eq "rehash: the password still works" "$(login carol 'carol-Secret-3' "$T/jarc")" "200"
assert_eq "rehash: a wrong one still fails" "$(login carol 'carol-secret-3' "$T/jarc")" "401"
check "the rehash is logged" grep -q 'rehashed user=carol to yescrypt cost 5' "$T/stack.log"
check "rehashed once" test "$(grep -c 'rehashed user=carol' "$T/stack.log")" -eq 1

# A password never reaches the log.
check "no password in the log" bash -c "! grep -q '$PW_alice' '$T/stack.log'"

stack_stop
finish
