#!/usr/bin/env bash
# test-demo.sh - `make run` without an API key: the built-in demo upstream is
# started, the console and /api/me say so, and a prompt gets the demo reply.
. "$(dirname "$0")/lib.sh"
T=$(mktemp -d /tmp/lightchat-demo.XXXXXX)
# run_stack CONFIG STATE LOG: `make run`'s script without an API key, on
# free ports (PORT, BASE, WS, STACK_PID set); waits for the worker.
run_stack() {
	PORT=$(free_port)
	BASE="http://127.0.0.1:$PORT"
	WS="ws://127.0.0.1:$PORT/ws"
	env -u OPENAI_API_KEY -u OPENAI_BASE_URL LIGHTCHAT_CONFIG="$1" \
		LIGHTCHAT_STATE="$2" LIGHTCHAT_PORT="$PORT" LIGHTCHAT_WS_PORT="$(free_port)" \
		LIGHTCHAT_DEMO_PORT="$(free_port)" LIGHTCHAT_BIN="$BIN" \
		setsid "$ROOT/scripts/run.sh" >"$3" 2>&1 &
	STACK_PID=$!
	for _ in $(seq 100); do
		curl -s -o /dev/null "$BASE/" && grep -q 'worker: ready' "$3" && break
		sleep 0.1
	done
}
run_stack /dev/null "$T/state" "$T/stack.log"
check "demo: the console says DEMO MODE" grep -q 'DEMO MODE' "$T/stack.log"
pw=$(sed -n 's/.*admin \/ \([A-Za-z0-9]*\).*/\1/p' "$T/stack.log")
assert_match "demo: the first user's password is printed" "$pw" '^[A-Za-z0-9]{20}$'
assert_eq "demo: the first user logs in" "$(login admin "$pw" "$T/jar")" "200"
assert_eq "demo: /api/me says demo" "$(curl -s -b "$T/jar" "$BASE/api/me" | jq -r .demo)" "true"
out=$(WSOPTS="--timeout 30" ws "$T/jar" "$(prompt d1 'hello demo')")
assert_match "demo: a prompt gets the demo model's reply" "$(jq -r .text.content <<<"$out")" 'demo model.*hello demo'
kill -TERM "$STACK_PID"
for _ in $(seq 50); do kill -0 "$STACK_PID" 2>/dev/null || break; sleep 0.1; done
check "demo: Ctrl-C (SIGTERM) stops the stack" bash -c "! kill -0 $STACK_PID 2>/dev/null"
nothing_left "demo: nothing left running"
show_log "$T/stack.log"

# A configuration with an [upstream] section (a local server, no key) says
# where its models are: no demo upstream is added beside it.
UP_PORT=$(free_port)
python3 "$ROOT/tests/fake_upstream.py" --port "$UP_PORT" >"$T/up.log" 2>&1 &
UP_PID=$!
cat >"$T/sections.conf" <<CONF
[upstream local]
base_url = http://127.0.0.1:$UP_PORT/v1
models = llama3.2:1b
CONF
run_stack "$T/sections.conf" "$T/state2" "$T/stack2.log"
check "sections: the console does not say DEMO MODE" bash -c "! grep -q 'DEMO MODE' '$T/stack2.log'"
pw=$(sed -n 's/.*admin \/ \([A-Za-z0-9]*\).*/\1/p' "$T/stack2.log")
assert_eq "sections: the first user logs in" "$(login admin "$pw" "$T/jar2")" "200"
assert_eq "sections: /api/me says no demo" "$(curl -s -b "$T/jar2" "$BASE/api/me" | jq -r .demo)" "false"
assert_eq "sections: /api/models offers the section's model only" \
	"$(curl -s -b "$T/jar2" "$BASE/api/models" | jq -c .models)" '["llama3.2:1b"]'
out=$(WSOPTS="--timeout 30" ws "$T/jar2" "$(prompt s1 'hello local')")
assert_eq "sections: a prompt is answered by the section's upstream" \
	"$(jq -r .text.content <<<"$out")" "You said: hello local"
kill -TERM "$STACK_PID"
for _ in $(seq 50); do kill -0 "$STACK_PID" 2>/dev/null || break; sleep 0.1; done
kill "$UP_PID" 2>/dev/null; wait "$UP_PID" 2>/dev/null
nothing_left "sections: nothing left running"
show_log "$T/stack2.log"
rm -rf "$T"
finish
