#!/usr/bin/env bash
# test-models.sh - the model table end to end (issue 14): the seed's fixed
# parameters sent to a current model family reach the fake upstream mapped as
# that family takes them (max_completion_tokens, sampling left out, system as
# developer, reasoning_effort mapped), never as a body OpenAI refuses; the
# fake refuses an unmapped one with OpenAI's 400 (tests/fake_upstream.py).
# A [model] rule from the file overrides one field.
. "$(dirname "$0")/lib.sh"
CONF=$(mktemp /tmp/lightchat-models-conf.XXXXXX)
cat >"$CONF" <<'CONFEOF'
[model gpt-5-mini]
reasoning_effort = low,high
CONFEOF
stack_start LIGHTCHAT_CONFIG="$CONF" LIGHTCHAT_MODELS=gpt-4o-mini,o4-mini,gpt-5-mini \
	LIGHTCHAT_DEFAULT_MODEL=gpt-4o-mini || { rm -f "$CONF"; finish; }
rm -f "$CONF"
J=$T/jar
login alice "$PW_alice" "$J" >/dev/null
export WSOPTS="--timeout 20"

# seed MSGID MODEL [EXTRA_PARAMS_JSON]: the seed client's message, with its
# fixed parameters and a system message.
seed() {
	jq -cn --arg id "$1" --arg m "$2" --argjson extra "${3:-{\}}" \
		'{action:"sendprompt",payload:{msgid:$id,messages:[{role:"system",content:"Be brief."},
		{role:"user",content:("Hello " + $id)}],
		params:({model_name:$m,max_tokens:4096,temperature:0.7,top_p:1,frequency_penalty:0,
		presence_penalty:0} + $extra)}}'
}
# last_body: what the fake upstream received last, without its own fields.
last_body() { curl -s "$UP/_requests" | jq -c '.[-1] | del(._auth, ._auth_kind, ._path, ._query, .messages)'; }
last_roles() { curl -s "$UP/_requests" | jq -c '[.[-1].messages[].role]'; }

out=$(ws "$J" "$(seed m1 gpt-4o-mini)")
assert_eq "gpt-4o-mini: the reply" "$(final "$out" | jq -r .text.content)" "You said: Hello m1"
assert_eq "gpt-4o-mini: the parameters as sent" "$(last_body)" \
	'{"model":"gpt-4o-mini","max_tokens":4096,"temperature":0.7,"top_p":1,"frequency_penalty":0,"presence_penalty":0,"stream":true,"stream_options":{"include_usage":true}}'
assert_eq "gpt-4o-mini: the system role kept" "$(last_roles)" '["system","user"]'

out=$(ws "$J" "$(seed m2 o4-mini '{"reasoning_effort":"none"}')")
assert_eq "o4-mini: the reply (no 400)" "$(final "$out" | jq -r .text.content)" "You said: Hello m2"
assert_eq "o4-mini: max_completion_tokens, sampling left out, effort none -> low" "$(last_body)" \
	'{"model":"o4-mini","max_completion_tokens":4096,"reasoning_effort":"low","stream":true,"stream_options":{"include_usage":true}}'
assert_eq "o4-mini: system sent as developer" "$(last_roles)" '["developer","user"]'

out=$(ws "$J" "$(seed m3 gpt-5-mini '{"reasoning_effort":"minimal"}')")
assert_eq "gpt-5-mini: the reply (no 400)" "$(final "$out" | jq -r .text.content)" "You said: Hello m3"
assert_eq "gpt-5-mini: the file's rule (low,high) maps minimal to low" "$(last_body)" \
	'{"model":"gpt-5-mini","max_completion_tokens":4096,"reasoning_effort":"low","stream":true,"stream_options":{"include_usage":true}}'

out=$(ws "$J" "$(seed m4 gpt-5-mini)")
assert_eq "gpt-5-mini without an effort: none sent" "$(last_body)" \
	'{"model":"gpt-5-mini","max_completion_tokens":4096,"stream":true,"stream_options":{"include_usage":true}}'

# The conversation shape with the page's parameters, on a reasoning model.
out=$(ws "$J" "$(jq -cn '{action:"sendprompt",payload:{msgid:"c1",prompt:"Hi o4",system:"Terse.",stream:true,
	params:{model_name:"o4-mini",max_tokens:100,temperature:1.3,reasoning_effort:"xhigh"}}}')")
assert_eq "conversation shape on o4-mini: the reply" "$(final "$out" | jq -r .text.content)" "You said: Hi o4"
assert_eq "conversation shape on o4-mini: mapped (xhigh -> high)" "$(last_body)" \
	'{"model":"o4-mini","max_completion_tokens":100,"reasoning_effort":"high","stream":true,"stream_options":{"include_usage":true}}'

# The fake does refuse an unmapped body (the test can fail): straight to it.
code=$(curl -s -o "$T/refused" -w '%{http_code}' -H "Authorization: Bearer $API_KEY" \
	-H 'Content-Type: application/json' \
	-d '{"model":"o4-mini","messages":[{"role":"user","content":"x"}],"max_tokens":5}' \
	"$UP/v1/chat/completions")
assert_eq "the fake upstream refuses max_tokens on o4-mini, as OpenAI does" \
	"$code $(jq -r .error.param "$T/refused")" "400 max_tokens"

out=$(ws "$J" "$(seed m5 gpt-4o-mini '{"reasoning_effort":"loud"}')")
assert_eq "an unknown effort: invalid_request" "$(final "$out" | jq -c '[.error.code,.error.field]')" \
	'["invalid_request","params.reasoning_effort"]'

stack_stop
finish
