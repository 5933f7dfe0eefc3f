#!/usr/bin/env bash
# test-reasoning.sh - reasoning models end to end over /ws against the fake
# upstream: each form (delta.reasoning_content, delta.reasoning, <think>
# tags split across events and HTTP chunks, a missing opening tag) in the
# conversation shape (reasoning frames, then deltas; the final frame's
# reasoning; REST returns it; the next prompt's upstream body holds no
# reasoning and no <think>); the seed shape gets the answer only; a slow
# reader still gets all the reasoning; the stream shapes of real servers
# (errors inside a 200 stream, no finish_reason, no [DONE], Azure's filter
# chunk, content null, llama.cpp's timings).
. "$(dirname "$0")/lib.sh"
# A frame per token (stream_coalesce_ms 0): the slow reader must fall
# behind, and coalesced its 120000 words of reasoning are ~1 MB of frames,
# which the front buffers whole (~12 MB a frame per token). Every form with
# coalescing on is test-coalesce.sh's.
stack_start LIGHTCHAT_STREAM_COALESCE_MS=0 || finish
J=$T/jar
login alice "$PW_alice" "$J" >/dev/null
api() { curl -s -b "$J" "$@"; }
cprompt() {  # MSGID TEXT [CONV]: a conversation-shaped prompt that streams
	jq -cn --arg id "$1" --arg t "$2" --arg c "${3:-}" \
		'{action:"sendprompt",payload:({msgid:$id,prompt:$t,stream:true} +
		(if $c == "" then {} else {conversation_id:$c} end))}'
}
conv_of() { printf '%s\n' "$1" | jq -r 'select(.type=="start") | .conversation_id' | head -1; }
joined() { printf '%s\n' "$1" | jq -rj "select(.type==\"$2\") | .delta"; }
R="Step one. Step two. Step three."

for form in rc r tag open; do
	P="ponder it #reason:$form"
	out=$(ws "$J" "$(cprompt "m-$form" "$P")")
	C=$(conv_of "$out")
	fin=$(final "$out")
	assert_eq "$form: final frame is a reply with the answer" "$(jq -r '[.type,.text.content] | join("|")' <<<"$fin")" "reply|You said: $P"
	assert_eq "$form: final frame's reasoning" "$(jq -r .reasoning <<<"$fin")" "$R"
	assert_eq "$form: final frame's reasoning_ms is a number" "$(jq -r '.reasoning_ms | type' <<<"$fin")" "number"
	if [ "$form" != open ]; then
		assert_eq "$form: reasoning frames add up to the reasoning" "$(joined "$out" reasoning)" "$R"
		assert_eq "$form: deltas add up to the answer" "$(joined "$out" delta)" "You said: $P"
		order=$(printf '%s\n' "$out" | jq -r 'select(.type=="reasoning" or .type=="delta") | .type' | uniq | tr '\n' ' ')
		assert_eq "$form: all reasoning frames before the first delta" "$order" "reasoning delta "
	else
		# gpt-4o-mini reads <think> in auto mode (a [model] section's
		# think = open is test-think's and test-upstream-stream's): a
		# closing tag with no opening one makes what came before it the
		# reasoning, in the final frame and the store; its deltas were
		# answer deltas.
		check "open: no tag in the final answer" bash -c "! jq -r '.text.content' <<<'$(jq -c . <<<"$fin")' | grep -q 'think>'"
	fi
	get=$(api "$BASE/api/conversations/$C")
	assert_eq "$form: REST: the assistant's content, reasoning, reasoning_ms" "$(jq -c '.messages[1] | [.content,.reasoning,(.reasoning_ms|type)]' <<<"$get")" "[\"You said: $P\",\"$R\",\"number\"]"
	assert_eq "$form: REST: the user's message has no reasoning" "$(jq -c '.messages[0] | has("reasoning")' <<<"$get")" "false"
	# The next prompt's context: content only.
	out=$(ws "$J" "$(cprompt "n-$form" "and then?" "$C")")
	body=$(curl -s "$UP/_requests" | jq -c '.[-1].messages')
	assert_eq "$form: next prompt: the history went upstream" "$(jq -c '[.[] | .role]' <<<"$body")" '["user","assistant","user"]'
	assert_eq "$form: next prompt: the assistant turn is the answer only" "$(jq -r '.[1].content' <<<"$body")" "You said: $P"
	check "$form: next prompt: no reasoning, no <think>, no 'Step one' upstream" bash -c "! grep -qE 'reasoning|think>|Step one' <<<'$body'"
done

# The seed shape gets the answer only, streamed or not.
out=$(ws "$J" "$(prompt s1 'seed #reason:rc' '{"stream":true}')")
assert_eq "seed, streaming: no reasoning frame" "$(printf '%s\n' "$out" | jq -r 'select(.type=="reasoning")' | wc -l)" "0"
assert_eq "seed, streaming: the answer, no reasoning field" "$(final "$out" | jq -c '[.text.content,has("reasoning"),has("reasoning_ms")]')" '["You said: seed #reason:rc",false,false]'
out=$(ws "$J" "$(prompt s2 'seed #reason:tag')")
assert_eq "seed, not streaming: one frame" "$(printf '%s\n' "$out" | wc -l)" "1"
assert_eq "seed, not streaming: the answer without its <think>" "$(jq -c '[.text.content,has("reasoning")]' <<<"$out")" '["You said: seed #reason:tag",false]'

# Reasoning only: an empty answer, the reasoning kept.
out=$(ws "$J" "$(cprompt ro 'hmm #reasononly')")
assert_eq "reasoning only: empty answer, the reasoning" "$(final "$out" | jq -c '[.type,.text.content,.reasoning]')" "[\"reply\",\"\",\"$R\"]"

# A slow reader: it reads nothing until the worker has written the whole
# reply, so it is behind while a long reasoning streams (120006 pieces: 6
# words of R, then r1 … r120000, about 12 MB of frames, more than the front
# (lighttpd, websocketd, lightchat-ws) buffers for a reader that does not
# read, as in test-backpressure.sh). What it then gets is in order and
# without a gap (a prefix of the reasoning: the frames it missed are not
# sent once the reply is over), and the final frame carries all of it.
PYTHONPATH="$ROOT/tools:$ROOT/tests/e2e" "$PY" - 127.0.0.1 "$PORT" "$(token_of "$J")" "$T/stack.log" >"$T/slow.json" 2>"$T/slow.err" <<'PYEOF'
import json, socket, sys, time
import wsclient
host, port, token, log = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
c = wsclient.Client(host, port, token, "slow", "#reason:rc:120000 slow reader")
end = time.monotonic() + 120
while time.monotonic() < end:
    with open(log, errors="replace") as f:
        if any("reply complete" in l and "msgid=slow " in l for l in f):
            break
    time.sleep(0.2)
# Then it reads with a full window (a 4 KiB one takes minutes for 12 MB).
c.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
fin = c.read_until(wsclient.final, 120)
want = "Step one. Step two. Step three." + "".join(f" r{i}" for i in range(1, 120001))
got = "".join(f["delta"] for f in c.frames if f.get("type") == "reasoning")
print(json.dumps({"final": fin.get("type") if fin else None,
                  "frames_prefix": want.startswith(got),
                  "frames_short": len(got) < len(want),
                  "final_whole": bool(fin) and fin.get("reasoning") == want,
                  "reasoning_frames": sum(f.get("type") == "reasoning" for f in c.frames)}))
PYEOF
slow=$(cat "$T/slow.json")
assert_eq "slow reader: the reply ends" "$(jq -r .final <<<"$slow")" "reply"
assert_eq "slow reader: its reasoning frames are the reasoning's start, in order, no gap" "$(jq -r .frames_prefix <<<"$slow")" "true"
assert_eq "slow reader: it was behind (it missed the reasoning's end)" "$(jq -r .frames_short <<<"$slow")" "true"
assert_eq "slow reader: the final frame's reasoning is whole" "$(jq -r .final_whole <<<"$slow")" "true"
echo "# slow reader: $slow"

# Errors inside a 200 stream: upstream_error with the API's message, the
# text so far kept (in the frame and the store).
for kind in openai openrouter vllm; do
	out=$(ws "$J" "$(cprompt "e-$kind" "#err200:$kind")")
	C=$(conv_of "$out")
	assert_eq "err200 $kind: upstream_error with the API's message and the partial" "$(final "$out" | jq -c '[.type,.error.code,.error.message,.error.partial]')" "[\"error\",\"upstream_error\",\"Upstream failed ($kind).\",\"You said: \"]"
	assert_eq "err200 $kind: stored as error with the text so far" "$(api "$BASE/api/conversations/$C" | jq -c '.messages[1] | [.state,.content,.error]')" '["error","You said: ","upstream_error"]'
done

# Stream shapes that end well.
for sc in nofinish nodone azurefilter nullcontent timings; do
	P="shape #$sc"
	out=$(ws "$J" "$(cprompt "s-$sc" "$P")")
	assert_eq "#$sc: complete with the whole answer" "$(final "$out" | jq -c '[.type,.text.content,.finish_reason]')" "[\"reply\",\"You said: $P\",\"stop\"]"
	assert_eq "#$sc: deltas add up" "$(joined "$out" delta)" "You said: $P"
done

show_log "$T/stack.log"
stack_stop
finish
