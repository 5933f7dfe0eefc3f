#!/usr/bin/env bash
# test-prefix.sh - lightchat as a system install runs it (issue 13): the
# programs started the way systemd/ starts them (the worker; each FastCGI
# pool on a listening unix socket passed as descriptor 0, as
# lightchat-fcgi@.socket does; websocketd through systemd/lightchat-websocketd),
# and a lighttpd configured like Debian's with conf/50-lightchat.conf
# included, mounting lightchat at /chat/ next to another site. Checks that
# the page, the vendored libraries, login, the REST API and /ws with a
# prompt work under /chat/, cookies carry Path=/chat/ (and Secure only for
# X-Forwarded-Proto: https from a trusted proxy), and nothing outside /chat/
# changed. As root, the privilege map too: the lightchat programs run as
# their own user (nobody stands in for lightchat), lighttpd as www-data,
# which can connect to the FastCGI sockets but read none of the token key,
# users file, database or API key. Free ports only.
. "$(dirname "$0")/lib.sh"

T=$(mktemp -d /tmp/lightchat-e2e.XXXXXX)
chmod 755 "$T"
PIDS=()
RUNAS=() WWW_USER=""
WHY_NOT="not root"
if [ "$(id -u)" -eq 0 ]; then
	# (a checkout in a private home directory: the users cannot reach it)
	if setpriv --reuid=nobody --regid=nogroup --clear-groups -- test -x "$BIN/lightchat-worker" &&
		setpriv --reuid=www-data --regid=www-data --clear-groups -- test -r "$ROOT/www/index.html"; then
		RUNAS=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
		WWW_USER=www-data
	else
		WHY_NOT="nobody and www-data cannot reach $ROOT"
	fi
fi
# SVC: how the services' programs start. What their units ask that a
# process can do to itself: NoNewPrivileges (setpriv --no-new-privs), the
# service user (as root), and MemoryDenyWriteExecute as the kernel's
# PR_SET_MDWE where it has it (Linux 6.3; inherited across fork and exec:
# the same refusal of memory both writable and executable that systemd's
# seccomp filter makes, so websocketd's Go runtime is checked too).
MDWE='import ctypes, os, sys
if ctypes.CDLL(None, use_errno=True).prctl(65, 1, 0, 0, 0) != 0:
    sys.exit("PR_SET_MDWE: " + os.strerror(ctypes.get_errno()))
os.execvp(sys.argv[1], sys.argv[1:])'
SVC=(setpriv --no-new-privs "${RUNAS[@]:1}")
[ ${#RUNAS[@]} -eq 0 ] && SVC=(setpriv --no-new-privs --)
if "$PY" -c "$MDWE" true 2>/dev/null; then
	SVC=("$PY" -c "$MDWE" "${SVC[@]}")
	HAVE_MDWE=1
else
	HAVE_MDWE=""
fi
# as_svc COMMAND...: runs it as the service user (in the foreground only:
# a background job is started with "${RUNAS[@]}" itself, so that its PID is
# the program's, setpriv exec'ing it)
as_svc() { "${RUNAS[@]}" "$@"; }
# nope COMMAND...: succeeds when the command fails (for check)
nope() { ! "$@"; }

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
}

"$PY" "$ROOT/tests/fake_upstream.py" --port 0 --port-file "$T/up.port" \
	--api-key "$API_KEY" --delay-ms 2 >"$T/upstream.log" 2>&1 &
UP_PID=$!
PIDS+=("$UP_PID")
for _ in $(seq 100); do [ -s "$T/up.port" ] && break; sleep 0.05; done
UP="http://127.0.0.1:$(cat "$T/up.port")"
PORT=$(free_port)
WS_PORT=$(free_port)
while [ "$WS_PORT" = "$PORT" ]; do WS_PORT=$(free_port); done
BASE="http://127.0.0.1:$PORT"
CHAT="$BASE/chat"
WS="ws://127.0.0.1:$PORT/chat/ws"

# The state directory and the configuration, as the package has them.
mkdir -m 700 "$T/state" "$T/run"
chmod 755 "$T/run"
[ ${#RUNAS[@]} -gt 0 ] && chown nobody:nogroup "$T/state"
printf '%s\n' "$API_KEY" >"$T/state/api.key"
chmod 600 "$T/state/api.key"
[ ${#RUNAS[@]} -gt 0 ] && chown nobody:nogroup "$T/state/api.key"
cat >"$T/lightchat.conf" <<EOF
port = $PORT
ws_port = $WS_PORT
state = $T/state
url_prefix = /chat/
trusted_proxies = 127.0.0.1
allowed_origins = http://seed.example
upstream_base_url = $UP/v1
upstream_api_key_file = $T/state/api.key
upstream_idle_timeout = 4
drain_timeout = 2
EOF
chmod 644 "$T/lightchat.conf"
export LIGHTCHAT_CONFIG="$T/lightchat.conf" LIGHTCHAT_STATE="$T/state"
# BUILD=build-asan: reports go to files the test looks for at the end
mkdir -m 1777 "$T/san"
export ASAN_OPTIONS="log_path=$T/san/asan:detect_leaks=1" \
	UBSAN_OPTIONS="log_path=$T/san/ubsan:print_stacktrace=1"
as_svc "$ADMIN" init >/dev/null 2>&1
PW_alice="alice-Secret-1"
echo "$PW_alice" | as_svc "$ADMIN" user add alice 2>/dev/null

# lightchat-worker.service
GNUTLS_NO_IMPLICIT_INIT=1 "${SVC[@]}" "$BIN/lightchat-worker" >"$T/worker.log" 2>&1 &
WORKER_PID=$!
PIDS+=("$!")
# lightchat-fcgi@auth / @api: systemd binds the socket (group www-data,
# 0660) and hands it over as descriptor 0 (StandardInput=socket).
for pool in auth api; do
	"$PY" -c '
import grp, os, socket, sys
path, group = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(1024)
if group:
    os.chown(path, 0, grp.getgrnam(group).gr_gid)
os.chmod(path, 0o660)
os.dup2(s.fileno(), 0)
os.execvp(sys.argv[3], sys.argv[3:])' "$T/run/fcgi-$pool.sock" "$WWW_USER" \
		"${SVC[@]}" "$BIN/lightchat.fcgi" >"$T/fcgi-$pool.log" 2>&1 &
	PIDS+=("$!")
done
# lightchat-ws.service (its port is above 1024 here: a test port)
LIGHTCHAT_LIBEXEC="$BIN" LIGHTCHAT_WS_ANY_PORT=yes "${SVC[@]}" "$ROOT/systemd/lightchat-websocketd" \
	>"$T/websocketd.log" 2>&1 &
PIDS+=("$!")

# Debian's way of enabling it, on a copy of /etc/lighttpd bound over the
# real one in a private mount namespace (root only; the host's is not
# touched): lighty-enable-mod follows the snippet's "depends" line, and
# Debian's whole configuration with it enabled parses.
if [ "$(id -u)" -eq 0 ] && command -v lighty-enable-mod >/dev/null && [ -d /etc/lighttpd/conf-available ]; then
	cp -a /etc/lighttpd "$T/etc-lighttpd"
	cp "$ROOT/conf/50-lightchat.conf" "$T/etc-lighttpd/conf-available/"
	if unshare -m sh -c 'mount --bind "$1" /etc/lighttpd && lighty-enable-mod lightchat >/dev/null &&
		lighttpd -tt -f /etc/lighttpd/lighttpd.conf' sh "$T/etc-lighttpd" >"$T/enable.out" 2>&1; then
		assert_eq "lighty-enable-mod lightchat: it and the modules it needs" \
			"$(cd "$T/etc-lighttpd/conf-enabled" && ls 05-setenv.conf 10-fastcgi.conf 10-proxy.conf 50-lightchat.conf 2>&1 | tr '\n' ' ')" \
			"05-setenv.conf 10-fastcgi.conf 10-proxy.conf 50-lightchat.conf "
		ok "Debian's lighttpd.conf with lightchat enabled parses"
	else
		not_ok "lighty-enable-mod lightchat, and Debian's lighttpd.conf parses" "$(tail -n 3 "$T/enable.out")"
	fi
else
	echo "skip - lighty-enable-mod on a copy of /etc/lighttpd (root and lighttpd needed)"
fi

# The host's lighttpd: Debian's modules and defaults, another site at /,
# and the snippet with this test's paths.
mkdir -p "$T/html"
echo "another site" >"$T/html/index.html"
chmod -R a+rX "$T/html"
sed -e "s#^var.lightchat_www .*#var.lightchat_www = \"$ROOT/www\"#" \
	-e "s#^var.lightchat_run .*#var.lightchat_run = \"$T/run\"#" \
	-e "s#^var.lightchat_ws_port .*#var.lightchat_ws_port = $WS_PORT#" \
	"$ROOT/conf/50-lightchat.conf" >"$T/50-lightchat.conf"
DROP=""
[ -n "$WWW_USER" ] && DROP="server.username = \"$WWW_USER\"
server.groupname = \"$WWW_USER\""
cat >"$T/lighttpd.conf" <<EOF
server.modules = ( "mod_indexfile", "mod_access", "mod_alias", "mod_redirect" )
server.document-root = "$T/html"
server.bind = "127.0.0.1"
server.port = $PORT
$DROP
index-file.names = ( "index.php", "index.html" )
url.access-deny = ( "~", ".inc" )
mimetype.assign = ( ".html" => "text/html", ".js" => "text/javascript", ".css" => "text/css" )
# conf-enabled/: 05-setenv, 10-fastcgi, 10-proxy (the snippet's depends), then it
server.modules += ( "mod_setenv" )
server.modules += ( "mod_fastcgi" )
server.modules += ( "mod_proxy" )
include "$T/50-lightchat.conf"
server.modules += ( "mod_staticfile" )
EOF
lighttpd -D -f "$T/lighttpd.conf" >"$T/lighttpd.log" 2>&1 &
PIDS+=("$!")

up=0
for _ in $(seq 100); do
	if curl -s -o /dev/null "$BASE/" && grep -q 'worker: ready' "$T/worker.log" &&
		grep -q "0100007F:$(printf '%04X' "$WS_PORT") 00000000:0000 0A" /proc/net/tcp; then
		up=1; break
	fi
	sleep 0.1
done
if [ $up -ne 1 ]; then
	not_ok "the stack starts" "$(tail -n 3 "$T"/*.log | tr "\n" " ")"
	cleanup; rm -rf "$T"; finish
fi
ok "the stack starts as its units say"
assert_eq "the worker runs with NoNewPrivs" "$(awk '$1 == "NoNewPrivs:" {print $2}' "/proc/$WORKER_PID/status")" "1"
if [ -n "$HAVE_MDWE" ]; then
	check "under SVC, memory both writable and executable is refused" nope "${SVC[@]}" "$PY" -c \
		'import mmap; mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)' 2>/dev/null
else
	echo "skip - MemoryDenyWriteExecute: the kernel has no PR_SET_MDWE"
fi

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# The page and its files under /chat/; /chat goes to /chat/.
assert_eq "/chat redirects" "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$CHAT")" "301 $CHAT/"
page=$(curl -s -D "$T/hpage" "$CHAT/")
assert_match "/chat/ serves the page" "$page" 'src="js/main.js"'
assert_match "the page's own headers under /chat/" "$(tr -d '\r' <"$T/hpage")" "Content-Security-Policy: default-src 'self'"
assert_eq "/chat/js/main.js" "$(code "$CHAT/js/main.js")" "200"
assert_eq "/chat/css/app.css" "$(code "$CHAT/css/app.css")" "200"
assert_eq "/chat/vendor/marked/marked.min.js" "$(code "$CHAT/vendor/marked/marked.min.js")" "200"
assert_eq "/chat/vendor/dompurify/purify.min.js" "$(code "$CHAT/vendor/dompurify/purify.min.js")" "200"
assert_eq "/chat/vendor/highlight.js/highlight.min.js" "$(code "$CHAT/vendor/highlight.js/highlight.min.js")" "200"
assert_eq "/chat/vendor/katex/katex.min.js" "$(code "$CHAT/vendor/katex/katex.min.js")" "200"
assert_eq "/chat/vendor/katex/fonts/ (KaTeX's fonts, a symlink to fonts-katex)" \
	"$(code "$CHAT/vendor/katex/fonts/KaTeX_Main-Regular.woff2")" "200"
assert_eq "/chat/manifest.webmanifest" "$(code "$CHAT/manifest.webmanifest")" "200"
swh=$(curl -s -D - -o /dev/null "$CHAT/sw.js" | tr -d '\r')
assert_match "/chat/sw.js: its scope may be the prefix" "$swh" "Service-Worker-Allowed: /chat/"
assert_match "/chat/sw.js: not cached by HTTP" "$swh" "Cache-Control: no-cache"
assert_match "/chat/sw.js: the page's headers too" "$swh" "Content-Security-Policy: default-src 'self'"

# The host's other site is as it was.
assert_eq "/ is the other site" "$(curl -s "$BASE/")" "another site"
curl -s -o /dev/null -D "$T/hroot" "$BASE/"
check "/ has none of lightchat's headers" nope grep -qi 'Content-Security-Policy' "$T/hroot"
assert_eq "/login outside the prefix is not lightchat's" "$(code -d '{}' "$BASE/login")" "404"
assert_eq "/api/me outside the prefix is not lightchat's" "$(code "$BASE/api/me")" "404"

# Login under /chat/: the cookie's path is the prefix; Secure only behind
# HTTPS (a trusted proxy's X-Forwarded-Proto).
J=$T/jar
status=$(curl -s -o "$T/lb" -w '%{http_code}' -D "$T/hlogin" -c "$J" -H 'Content-Type: application/json' \
	-d "{\"username\":\"alice\",\"password\":\"$PW_alice\"}" "$CHAT/login")
assert_eq "POST /chat/login: 200" "$status" "200"
hl=$(tr -d '\r' <"$T/hlogin")
assert_match "session cookie: Path=/chat/" "$hl" 'lightchat_session=[^;]+; Path=/chat/; HttpOnly; SameSite=Strict'
assert_match "device cookie: Path=/chat/login" "$hl" 'lightchat_device=[^;]+; Path=/chat/login;'
check "no Secure over plain HTTP" nope grep -q '; Secure' <<<"$hl"
assert_eq "the jar's cookie path" "$(awk '$6 == "lightchat_session" {print $3}' "$J")" "/chat/"
curl -s -o /dev/null -D "$T/hsec" -H 'X-Forwarded-Proto: https' -H 'Content-Type: application/json' \
	-d "{\"username\":\"alice\",\"password\":\"$PW_alice\"}" "$CHAT/login"
assert_match "X-Forwarded-Proto: https from a trusted proxy: Secure" "$(tr -d '\r' <"$T/hsec")" \
	'lightchat_session=[^;]+; Path=/chat/; HttpOnly; SameSite=Strict; Secure'

# The seed React client, served elsewhere: its preflight and login.
assert_eq "CORS preflight of /chat/login from an allowed origin: 204" "$(code -X OPTIONS \
	-H 'Origin: http://seed.example' -H 'Access-Control-Request-Method: POST' "$CHAT/login")" "204"
assert_eq "login from a foreign origin under /chat/: 403" "$(code -H 'Origin: http://evil.example' \
	-H 'Content-Type: application/json' -d "{\"username\":\"alice\",\"password\":\"$PW_alice\"}" \
	"$CHAT/login")" "403"
exec 3>&2 2>/dev/null
assert_eq "/chat/ws from a foreign origin: 403" \
	"$("$PY" "$WSCLIENT" --cookie-jar "$J" --origin http://evil.example "$WS")" "HTTP 403"
exec 2>&3 3>&-

# The REST API under /chat/.
assert_eq "GET /chat/api/me" "$(curl -s -b "$J" "$CHAT/api/me" | jq -r .username)" "alice"
assert_eq "GET /chat/api/models" "$(curl -s -b "$J" "$CHAT/api/models" | jq -r .default)" "gpt-4o-mini"
assert_eq "GET /chat/api/me without a login: 401" "$(code "$CHAT/api/me")" "401"

# /ws under /chat/: refused without credentials, a prompt with them.
exec 3>&2 2>/dev/null
assert_eq "/chat/ws without credentials: 401" "$("$PY" "$WSCLIENT" "$WS")" "HTTP 401"
exec 2>&3 3>&-
out=$("$PY" "$WSCLIENT" --timeout 20 --cookie-jar "$J" "$WS" "$(prompt p-1 'Hello prefix')")
assert_eq "/chat/ws: a prompt's reply" "$(final "$out" | jq -r '.text.content // .content // empty' 2>/dev/null | head -1)" "You said: Hello prefix"
TOKEN=$(token_of "$J")
out=$("$PY" "$WSCLIENT" --timeout 20 "$WS?token=Bearer%20$TOKEN" "$(prompt seed-1 'Hello seed')")
assert_eq "/chat/ws: the seed client's ?token= form" "$(final "$out" | jq -r '.text.content' 2>/dev/null)" "You said: Hello seed"
assert_eq "GET /chat/api/conversations: the replies are stored" \
	"$(curl -s -b "$J" "$CHAT/api/conversations" | jq '.conversations | length')" "2"

# The page in a browser under /chat/ (tests/browser/chat.mjs: login, the
# model list, a streamed reply, Markdown), when chromium and playwright are
# there (make deps).
if [ -x /usr/bin/chromium ] && [ -d "$ROOT/tests/browser/node_modules/playwright-core" ]; then
	mkdir -p "$ROOT/tests/artifacts/prefix"
	if node "$ROOT/tests/browser/chat.mjs" "$CHAT" alice "$PW_alice" "$ROOT/tests/artifacts/prefix" \
		"$UP" "$T/state" >"$T/browser.out" 2>&1; then
		ok "the page works in a browser under /chat/ ($(grep -c '^ok' "$T/browser.out") checks)"
	else
		not_ok "the page works in a browser under /chat/" "$(grep -A1 '^not ok' "$T/browser.out" | head -6)"
	fi
else
	echo "skip - the browser under /chat/ (run make deps)"
fi

# Logout clears the cookie at its path.
assert_eq "POST /chat/logout: 200" "$(code -D "$T/hout" -b "$J" -d '' "$CHAT/logout")" "200"
assert_match "logout: cookie cleared at /chat/" "$(tr -d '\r' <"$T/hout")" 'lightchat_session=; Path=/chat/; HttpOnly; SameSite=Strict; Max-Age=0'

# The privilege map (as root): each program as its unit's user, lighttpd as
# www-data, and www-data reads none of the secrets.
if [ -n "$WWW_USER" ]; then
	users=$(for p in $(pgrep -f "lightchat-worker|lightchat.fcgi|websocketd|lightchat-ws"); do
		grep -qsxzF "LIGHTCHAT_CONFIG=$T/lightchat.conf" "/proc/$p/environ" &&
			printf '%s %s\n' "$(cat "/proc/$p/comm")" "$(stat -c %U "/proc/$p")"
	done | sort -u)
	assert_eq "the lightchat programs run as the service user" "$(awk '{print $2}' <<<"$users" | sort -u)" "nobody"
	lp=$(pgrep -f "lighttpd -D -f $T/lighttpd.conf" | head -1)
	assert_eq "lighttpd runs as www-data" "$(stat -c %U "/proc/$lp" 2>/dev/null)" "www-data"
	for f in token.key users lightchat.db api.key; do
		check "www-data cannot read $f" nope setpriv --reuid=www-data --regid=www-data --clear-groups -- \
			cat "$T/state/$f" >/dev/null 2>&1
	done
	check "www-data can connect to the FastCGI sockets" setpriv --reuid=www-data --regid=www-data \
		--clear-groups -- "$PY" -c 'import socket, sys
for p in sys.argv[1:]:
    socket.socket(socket.AF_UNIX).connect(p)' "$T/run/fcgi-auth.sock" "$T/run/fcgi-api.sock"
	check "others cannot connect to them" nope setpriv --reuid=daemon --regid=daemon --clear-groups -- \
		"$PY" -c 'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' \
		"$T/run/fcgi-auth.sock" 2>/dev/null
else
	echo "skip - the privilege map: $WHY_NOT"
fi

cleanup
logs=$(cat "$T"/*.log)
check "no API key in any log line" nope grep -q "$API_KEY" <<<"$logs"
if grep -qE 'eyJ[A-Za-z0-9_-]{10,}\.' <<<"$logs"; then
	not_ok "no token in any log line" "$(grep -oE '.{60}eyJ[A-Za-z0-9_-]{10,}' <<<"$logs" | head -2)"
else
	ok "no token in any log line"
fi
if ls "$T"/san/* >/dev/null 2>&1; then
	not_ok "no sanitizer report" "$(head -c 600 "$T"/san/*)"
fi
if [ "$FAILED" -gt 0 ]; then
	tail -n 5 "$T"/*.log | sed 's/^/#   log: /'
fi
left=$(for p in $(pgrep -f 'lightchat|websocketd|lighttpd|fake_upstream'); do
	grep -qsF "$T" "/proc/$p/environ" "/proc/$p/cmdline" && echo "$p"
done)
assert_eq "nothing left running" "$left" ""
rm -rf "$T"
finish
