#!/usr/bin/env bash
# test-isolation.sh - no credential reaches a port another local user can
# take, and a failing backend never takes the site down.
#  - A process of another user (nobody) binds 127.0.0.1:ws_port on the host
#    and listens while websocketd is killed and restarting, and while cookie
#    and seed (?token=) clients connect: it never receives a request (run.sh
#    runs lighttpd and websocketd in a private network namespace).
#  - Control: with LIGHTCHAT_NETNS=off the same listener takes the port in
#    the restart and receives the cookie and the token, so the check above
#    would see a leak; the stack says why in one log line.
#  - / and /login answer 200 while the worker and websocketd are killed
#    again and again; the stack stays up through many quick failures of the
#    worker (its token key gone), with a growing back-off, and recovers.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
	echo "skip - isolation: acting as another user (setpriv --reuid nobody) needs root"
	finish
fi

# The other user's listener: binds 127.0.0.1:PORT as soon as it can (it
# retries every 2 ms for SECONDS), says "bound", then prints each request
# it receives on one line, until killed.
LISTENER='
import socket, sys, time
port, secs = int(sys.argv[1]), float(sys.argv[2])
end = time.monotonic() + secs
s = socket.socket()
while True:
    try:
        s.bind(("127.0.0.1", port))
        break
    except OSError:
        if time.monotonic() > end:
            print("never bound", flush=True)
            sys.exit(0)
        time.sleep(0.002)
s.listen(64)
print("bound", flush=True)
while True:
    c, _ = s.accept()
    c.settimeout(1)
    data = b""
    try:
        while b"\r\n\r\n" not in data and len(data) < 65536:
            d = c.recv(4096)
            if not d:
                break
            data += d
    except OSError:
        pass
    c.close()
    print("request", data.decode("latin-1").replace("\r\n", " | "), flush=True)
'
# listener_start SECONDS: the listener on this stack's ws_port, as nobody;
# sets LPID; its lines go to $T/listener.out.
listener_start() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$PY" -c "$LISTENER" "$WS_PORT" "$1" >"$T/listener.out" 2>"$T/listener.err" &
	LPID=$!
}
listener_stop() { kill -KILL "$LPID" 2>/dev/null; wait "$LPID" 2>/dev/null; }
# wait_bound SECONDS: waits until the listener has bound the port.
wait_bound() {
	local _
	for _ in $(seq $(($1 * 20))); do
		grep -qs '^bound' "$T/listener.out" && return 0
		sleep 0.05
	done
	return 1
}
# upgrades N: N WebSocket upgrades at once, half with the cookie of $J, half
# with the seed client's ?token=; waits for them.
upgrades() {
	local i pids=()
	for i in $(seq "$1"); do
		if [ $((i % 2)) -eq 0 ]; then
			curl -s -o /dev/null -m 2 -b "$J" -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
				-H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
				"$BASE/ws" &
		else
			curl -s -o /dev/null -m 2 -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
				-H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
				"$BASE/ws?token=Bearer%20$TOK" &
		fi
		pids+=($!)
	done
	wait "${pids[@]}" 2>/dev/null
}
# pid_changes FILE OLD SECONDS: waits until <state>/FILE holds another PID.
pid_changes() {
	local _
	for _ in $(seq $(($3 * 10))); do
		[ "$(cat "$T/state/$1" 2>/dev/null)" != "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
# prompt_works: a cookie client and a seed client both get their reply
# (retried while websocketd is still coming back).
prompt_works() {
	local _ a b
	for _ in $(seq 40); do
		a=$(WSOPTS="--timeout 10" ws "$J" "$(prompt c1 'cookie client')" 2>/dev/null | tail -1)
		b=$("$PY" "$WSCLIENT" --timeout 10 "$WS?token=Bearer%20$TOK" "$(prompt s1 'seed client')" 2>/dev/null | tail -1)
		[[ "$a" == *'"type":"reply"'* ]] && [[ "$b" == *'"type":"reply"'* ]] && return 0
		sleep 0.5
	done
	return 1
}

# ---- the private namespace ---------------------------------------------------
stack_start || finish
J="$T/jar"
login alice "$PW_alice" "$J" >/dev/null
TOK=$(token_of "$J")
if grep -q 'no private network namespace' "$T/stack.log"; then
	why=$(sed -n 's/.*no private network namespace (\([^)]*\)).*/\1/p' "$T/stack.log" | head -1)
	echo "skip - isolation: no private network namespace here ($why)"
	ISOLATED=0
else
	ISOLATED=1
	lns=$(readlink "/proc/$(cat "$T/state/lighttpd.pid")/ns/net")
	wns=$(readlink "/proc/$(cat "$T/state/websocketd.pid")/ns/net")
	check "lighttpd and websocketd share a network namespace that is not the host's" \
		test -n "$lns" -a "$lns" = "$wns" -a "$lns" != "$(readlink /proc/$$/ns/net)"
	listener_start 60
	check "another user binds 127.0.0.1:ws_port on the host: it is not websocketd's" wait_bound 5
fi

# websocketd and the worker killed again and again, while clients with
# credentials knock and / and /login are asked for.
: >"$T/codes"
(
	for _ in $(seq 60); do
		curl -s -o /dev/null -m 3 -w '/ %{http_code}\n' "$BASE/"
		printf '/login %s\n' "$(login bob "$PW_bob" "$T/jar-bob")"
		sleep 0.1
	done >>"$T/codes"
) &
cpid=$!
for round in 1 2 3 4; do
	wsd=$(cat "$T/state/websocketd.pid")
	wk=$(cat "$T/state/worker.pid")
	kill -KILL "$wsd" "$wk"
	upgrades 10
	pid_changes websocketd.pid "$wsd" 15 || not_ok "websocketd is restarted (round $round)"
	upgrades 6
done
wait "$cpid"
n=$(wc -l <"$T/codes")
bad=$(grep -cv ' 200$' "$T/codes")
assert_eq "/ and /login answer 200 while the worker and websocketd restart ($n requests)" "$bad" "0"
check "websocketd's restarts back off (0.5, 1, 2 s)" \
	bash -c "grep -q 'websocketd exited (status 137); restarting it in 0.5 s' '$T/stack.log' &&
		grep -q 'websocketd exited (status 137); restarting it in 2.0 s' '$T/stack.log'"
check "after the restarts the cookie and the seed client are answered" prompt_works
if [ "$ISOLATED" -eq 1 ]; then
	listener_stop
	assert_eq "the other user's listener received no request" \
		"$(grep -c '^request' "$T/listener.out")" "0"
	check "... and no cookie or token" bash -c "! grep -qE 'lightchat_session|$TOK' '$T/listener.out'"
fi

stack_stop

# ---- many quick failures (a stack of its own: back-offs start at 0.5 s) ------
# The worker's token key is gone, so each start fails at once (the old
# run.sh stopped the whole stack after five quick exits). The stack stays up
# and keeps serving; with the key back, it recovers.
stack_start || finish
J="$T/jar"
login alice "$PW_alice" "$J" >/dev/null
TOK=$(token_of "$J")
mv "$T/state/token.key" "$T/token.key.away"
kill -TERM "$(cat "$T/state/worker.pid")"
for _ in $(seq 150); do
	[ "$(grep -c 'the worker exited (status 1)' "$T/stack.log")" -ge 4 ] && break
	sleep 0.1
done
assert_eq "the worker failed 4 times at once (5 quick exits)" \
	"$(grep -c 'the worker exited (status 1)' "$T/stack.log")" "4"
check "each failure says why (the token key)" grep -q 'token key.*No such file' "$T/stack.log"
check "the back-off grows to 8 s" grep -q 'the worker exited (status 1); restarting it in 8.0 s' "$T/stack.log"
check "the stack is still up" kill -0 "$STACK_PID"
assert_eq "the page is served" "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/")" "200"
assert_eq "/login answers" "$(login bob "$PW_bob" "$T/jar-bob")" "200"
mv "$T/token.key.away" "$T/state/token.key"
check "with the key back the worker starts and prompts are answered" prompt_works
stack_stop

# ---- control: the same listener without the namespace ------------------------
if [ "$ISOLATED" -eq 1 ]; then
	stack_start LIGHTCHAT_NETNS=off || finish
	J="$T/jar"
	login alice "$PW_alice" "$J" >/dev/null
	TOK=$(token_of "$J")
	check "control: the stack says it has no namespace, in one line" \
		grep -q 'no private network namespace (LIGHTCHAT_NETNS=off): websocketd listens on the host' "$T/stack.log"
	listener_start 20
	sleep 0.5
	check "control: websocketd holds the port, the listener waits" bash -c "! grep -q bound '$T/listener.out'"
	kill -KILL "$(cat "$T/state/websocketd.pid")"
	check "control: the listener takes the port in the restart" wait_bound 5
	for _ in $(seq 5); do
		upgrades 4
		grep -q 'lightchat_session' "$T/listener.out" && grep -qF "$TOK" "$T/listener.out" && break
		sleep 0.5
	done
	check "control: the listener receives the cookie (the leak the namespace closes)" \
		grep -q 'Cookie: lightchat_session=' "$T/listener.out"
	check "control: ... and the seed client's token" grep -qF "token=Bearer%20$TOK" "$T/listener.out"
	assert_eq "control: the site still answers while websocketd cannot bind" \
		"$(curl -s -o /dev/null -w '%{http_code}' "$BASE/")" "200"
	listener_stop
	stack_stop
fi
finish
