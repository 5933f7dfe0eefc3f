#!/usr/bin/env bash
# test-run.sh - Ctrl-C of `make run` in a real terminal (tmux) ends every
# process of the stack quietly: no traceback, no make "Error"/"Interrupt",
# nothing left running. Twice: `make run` with a demo reply in flight (make
# then ends by the SIGINT, status 130, as every Ctrl-C'd program does, with
# nothing printed), and scripts/run.sh itself, which exits with status 0.
. "$(dirname "$0")/lib.sh"
if ! command -v tmux >/dev/null; then
	not_ok "run: tmux is installed (run make deps)"
	finish
fi
SOCK="lightchat-test-run-$$"   # a tmux server of our own
tm() { TERM=xterm tmux -L "$SOCK" -f /dev/null "$@"; }
NOISE='Traceback|Error|Interrupt|make(\[[0-9]+\])?: \*\*\*|Terminated|Killed'

# pane: everything the terminal showed so far.
pane() { tm capture-pane -p -J -S - -t run 2>/dev/null; }

# run_case NAME COMMAND [inflight]: types COMMAND into an interactive shell
# in tmux, waits for the stack, optionally starts a demo reply, presses
# Ctrl-C; sets STATUS (the command's exit status) and OUT (the pane).
run_case() {
	local name=$1 cmd=$2 inflight=${3:-}
	T=$(mktemp -d /tmp/lightchat-run.XXXXXX)
	PORT=$(free_port)
	BASE="http://127.0.0.1:$PORT"
	WS="ws://127.0.0.1:$PORT/ws"
	STATUS="" OUT=""
	tm new-session -d -s run -x 250 -y 50 "env PS1='$ ' bash --norc --noprofile -i"
	tm send-keys -t run "cd '$ROOT' && env -u OPENAI_API_KEY -u OPENAI_BASE_URL \
LIGHTCHAT_CONFIG=/dev/null LIGHTCHAT_STATE='$T/state' LIGHTCHAT_PORT=$PORT \
LIGHTCHAT_WS_PORT=$(free_port) LIGHTCHAT_DEMO_PORT=$(free_port) LIGHTCHAT_BIN='$BIN' \
ASAN_OPTIONS='log_path=$T/sanitizer:detect_leaks=1' $cmd" Enter
	local up=0
	for _ in $(seq 600); do  # make run may first check the packages and the build
		if curl -s -o /dev/null "$BASE/" && pane | grep -q 'worker: ready'; then
			up=1; break
		fi
		sleep 0.1
	done
	if [ $up -ne 1 ]; then
		not_ok "$name: the stack starts" "$(pane | tail -5)"
	else
		local comms c missing=""
		comms=$(for p in $(stack_procs); do cat "/proc/$p/comm"; done 2>/dev/null)
		for c in lighttpd lightchat.fcgi websocketd lightchat-worke python3; do
			grep -qxF "$c" <<<"$comms" || missing="$missing $c"
		done
		assert_eq "$name: lighttpd, FastCGI, websocketd, worker and demo run" "$missing" ""
	fi
	local cpid=""
	if [ $up -eq 1 ] && [ -n "$inflight" ]; then
		local pw
		pw=$(pane | sed -n 's/.*admin \/ \([A-Za-z0-9]*\).*/\1/p')
		login admin "$pw" "$T/jar" >/dev/null
		WSOPTS="--timeout 30" ws "$T/jar" "$(prompt r1 'a reply in flight' '{"stream":true}')" >"$T/ws.out" 2>&1 &
		cpid=$!
		for _ in $(seq 50); do grep -qs '"type":"delta"' "$T/ws.out" && break; sleep 0.1; done
		check "$name: a session and a reply are in flight" grep -q '"type":"delta"' "$T/ws.out"
	fi
	tm send-keys -t run C-c
	# The shell's prompt is back once the command has ended: ask it for $?.
	local shell_pid
	shell_pid=$(tm display-message -p -t run '#{pane_pid}')
	for _ in $(seq 200); do
		[ -z "$(pgrep -P "$shell_pid")" ] && break
		sleep 0.1
	done
	tm send-keys -t run 'echo "status=$?"' Enter
	for _ in $(seq 50); do pane | grep -q '^status=' && break; sleep 0.1; done
	OUT=$(pane)
	STATUS=$(sed -n 's/^status=//p' <<<"$OUT")
	[ -n "$cpid" ] && wait "$cpid" 2>/dev/null
	check "$name: the console says it stops" grep -q 'lightchat: stopping' <<<"$OUT"
	if grep -qE "$NOISE" <<<"$OUT"; then
		not_ok "$name: no traceback, error or interrupt on the console" \
			"$(grep -E "$NOISE" <<<"$OUT" | head -3)"
	else
		ok "$name: no traceback, error or interrupt on the console"
	fi
	nothing_left "$name: nothing of the stack left running"
	if ls "$T"/sanitizer.* >/dev/null 2>&1; then
		not_ok "$name: no sanitizer report" "$(head -c 600 "$T"/sanitizer.*)"
	fi
	[ -n "${KEEP_LOGS:-}" ] && printf '%s\n' "$OUT" >"/tmp/$(basename "$0").$name.pane"
	tm kill-server 2>/dev/null
	rm -rf "$T"
}

run_case "make run" "make run" inflight
assert_eq "make run: make ends by the SIGINT, silently (status 130)" "$STATUS" "130"
check "make run: the reply in flight was finished and stored" \
	grep -q 'reply complete user=admin msgid=r1' <<<"$OUT"

run_case "run.sh" "scripts/run.sh"
assert_eq "run.sh: Ctrl-C exits with status 0" "$STATUS" "0"

# A port someone else listens on (the system's lighttpd, say) is left to
# it: run.sh names the holder and stops, and the holder keeps serving.
T=$(mktemp -d /tmp/lightchat-run.XXXXXX)
"$PY" -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(); open(sys.argv[1], "w").write(str(s.getsockname()[1]))
time.sleep(60)' "$T/port" &
holder=$!
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
PORT=$(cat "$T/port")
out=$(env -u OPENAI_API_KEY LIGHTCHAT_CONFIG=/dev/null LIGHTCHAT_STATE="$T/state" LIGHTCHAT_PORT="$PORT" \
	LIGHTCHAT_WS_PORT="$(free_port)" LIGHTCHAT_BIN="$BIN" timeout 30 "$ROOT/scripts/run.sh" 2>&1)
rc=$?
assert_eq "a taken port: run.sh stops with status 1" "$rc" "1"
check "a taken port: run.sh names its holder" grep -q "port $PORT is taken by python3 (pid $holder)" <<<"$out"
check "a taken port: its holder is left alone" kill -0 "$holder"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
nothing_left "a taken port: nothing of the stack left running"
rm -rf "$T"
finish
