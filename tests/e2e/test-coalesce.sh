#!/usr/bin/env bash
# test-coalesce.sh - coalesced delta frames (stream_coalesce_ms) end to end:
# the same prompts on a stack with coalescing off (0) and on (the default,
# 15 ms) give the same received and stored text; on, fast tokens share
# frames, paced ones still go one by one; a second tab watching the reply
# gets the same text; the reasoning keeps its own deltas.
. "$(dirname "$0")/lib.sh"
R=$(mktemp -d)
trap '[ -n "${KEEP_LOGS:-}" ] && cp -r "$R" /tmp/test-coalesce.out; rm -rf "$R"' EXIT

cprompt() {  # MSGID TEXT: a conversation-shaped streamed prompt
	jq -cn --arg id "$1" --arg t "$2" \
		'{action:"sendprompt",payload:{msgid:$id,prompt:$t,stream:true}}'
}
conv_of() { printf '%s\n' "$1" | jq -r 'select(.type=="start") | .conversation_id' | head -1; }
deltas() { printf '%s\n' "$1" | jq -rj 'select(.type=="delta") | .delta'; }
rdeltas() { printf '%s\n' "$1" | jq -rj 'select(.type=="reasoning") | .delta'; }
ndeltas() { printf '%s\n' "$1" | grep -c '"type":"delta"'; }

# run MODE WINDOW: the prompts on a stack with stream_coalesce_ms=WINDOW;
# what came back and what was stored go to $R/MODE.*
run() {
	local mode=$1 window=$2 out c
	# tokens 1 ms apart: well within a 15 ms window
	UPSTREAM_DELAY_MS=1 stack_start LIGHTCHAT_STREAM_COALESCE_MS="$window" \
		LIGHTCHAT_MAX_INFLIGHT_PER_USER=8 || finish
	login alice "$PW_alice" "$T/jar" >/dev/null
	export WSOPTS="--timeout 30"

	out=$(ws "$T/jar" "$(cprompt w1 '#words:300')")
	c=$(conv_of "$out")
	deltas "$out" >"$R/$mode.words.deltas"
	final "$out" | jq -j .text.content >"$R/$mode.words.final"
	ndeltas "$out" >"$R/$mode.words.n"
	curl -s -b "$T/jar" "$BASE/api/conversations/$c" |
		jq -j '.messages[-1] | .state + "|" + .content' >"$R/$mode.words.stored"

	out=$(ws "$T/jar" "$(cprompt r1 '#reason:rc:40 #words:80')")
	c=$(conv_of "$out")
	deltas "$out" >"$R/$mode.reason.deltas"
	rdeltas "$out" >"$R/$mode.reason.rdeltas"
	final "$out" | jq -j '.text.content + "|" + (.reasoning // "")' >"$R/$mode.reason.final"
	curl -s -b "$T/jar" "$BASE/api/conversations/$c" |
		jq -j '.messages[-1] | .content + "|" + (.reasoning // "")' >"$R/$mode.reason.stored"

	for form in tag r open; do
		out=$(ws "$T/jar" "$(cprompt t1 "#reason:$form:30 #words:60")")
		deltas "$out" >"$R/$mode.$form.deltas"
		rdeltas "$out" >"$R/$mode.$form.rdeltas"
		final "$out" | jq -j '.text.content + "|" + (.reasoning // "")' >"$R/$mode.$form.final"
	done

	# A second tab watches a reply (10 ms a token) from its start.
	out=$(ws "$T/jar" "$(cprompt v0 'first')")
	c=$(conv_of "$out")
	WSOPTS="--timeout 30" ws "$T/jar" "$(jq -cn --arg c "$c" --arg t '#words:150 #slow:1.5' \
		'{action:"sendprompt",payload:{msgid:"v1",prompt:$t,stream:true,conversation_id:$c}}')" \
		>"$R/$mode.origin.out" 2>&1 &
	local pid=$!
	sleep 0.3
	WSOPTS="--timeout 30 --until-final 1" ws "$T/jar" \
		"$(jq -cn --arg c "$c" '{action:"watch",payload:{conversation_id:$c}}')" >"$R/$mode.watch.out" 2>&1
	wait "$pid"
	out=$(cat "$R/$mode.origin.out")
	deltas "$out" >"$R/$mode.origin.deltas"
	final "$out" | jq -j .text.content >"$R/$mode.origin.final"
	out=$(cat "$R/$mode.watch.out")
	# the watcher: the snapshot's text, then the deltas after it
	{ printf '%s\n' "$out" | jq -rj 'select(.type=="snapshot") | .content'
	  deltas "$out"; } >"$R/$mode.watch.text"
	final "$out" | jq -j .text.content >"$R/$mode.watch.final"

	if [ "$mode" = on ]; then
		# Tokens 100 ms apart: each goes alone, at once.
		out=$(ws "$T/jar" "$(cprompt p1 '#words:8 #slow:0.8')")
		ndeltas "$out" >"$R/on.paced.n"
	fi
	stack_stop
}

run off 0
run on 15

words=$(for i in $(seq 300); do printf 'w%d ' "$i"; done | sed 's/ $//')
for m in off on; do
	assert_eq "$m: the deltas add up to the final reply" "$(cat "$R/$m.words.deltas")" "$(cat "$R/$m.words.final")"
	assert_eq "$m: the final reply is the whole text" "$(cat "$R/$m.words.final")" "$words"
	assert_eq "$m: stored whole" "$(cat "$R/$m.words.stored")" "complete|$words"
	assert_eq "$m: reasoning deltas add up to the final reasoning" \
		"$(cat "$R/$m.reason.deltas")|$(cat "$R/$m.reason.rdeltas")" "$(cat "$R/$m.reason.final")"
	assert_eq "$m: the reasoning stored as it was sent" "$(cat "$R/$m.reason.stored")" "$(cat "$R/$m.reason.final")"
	assert_eq "$m: <think> tags: deltas add up to the final reply and reasoning" \
		"$(cat "$R/$m.tag.deltas")|$(cat "$R/$m.tag.rdeltas")" "$(cat "$R/$m.tag.final")"
	assert_eq "$m: delta.reasoning: deltas add up to the final reply and reasoning" \
		"$(cat "$R/$m.r.deltas")|$(cat "$R/$m.r.rdeltas")" "$(cat "$R/$m.r.final")"
	assert_eq "$m: the asking tab's deltas add up" "$(cat "$R/$m.origin.deltas")" "$(cat "$R/$m.origin.final")"
	assert_eq "$m: the watching tab's snapshot and deltas add up" "$(cat "$R/$m.watch.text")" "$(cat "$R/$m.watch.final")"
	check "$m: the watching tab saw the reply stream (deltas, not only the final)" \
		grep -q '"type":"delta"' "$R/$m.watch.out"
done
# No opening tag (DeepSeek-R1's open form): the reasoning streams as answer
# deltas until </think>; the final frame splits them (the deltas cannot be
# taken back), so the deltas add up to the final's reasoning and answer.
for m in off on; do
	assert_eq "$m: open form: the deltas hold the final reasoning and answer" \
		"$(cat "$R/$m.open.deltas")" "$(jq -rn --rawfile f "$R/$m.open.final" '$f | split("|") | .[1] + .[0]')"
done
for f in words.final words.stored reason.final reason.stored tag.final r.final open.final origin.final watch.final; do
	assert_eq "on and off: the same $f" "$(cat "$R/on.$f")" "$(cat "$R/off.$f")"
done
assert_eq "off: one frame per token" "$(cat "$R/off.words.n")" 300
n_on=$(cat "$R/on.words.n")
check "on: tokens 1 ms apart share frames ($n_on frames for 300 tokens)" test "$n_on" -lt 100
check "on: the first token still goes alone (more than one frame)" test "$n_on" -ge 2
assert_eq "on: tokens 100 ms apart go one by one" "$(cat "$R/on.paced.n")" 8
finish
