#!/usr/bin/env bash
# test-api-models.sh - GET /api/models with two upstreams, one whose model
# listing fails (nothing listens at its address): every model with its
# upstream's name and label, whether it is available, the sampling
# parameters and reasoning efforts it takes (the built-in rules for o4-mini,
# the sysadmin's [model] section for qwen*, its price), each upstream's
# state. First as
# the worker's discovery saw it, then with discovery records the test writes
# to worker_models_file (the worker lists again only after a day here): read
# at each request, and a missing or bad one hides no configured model.
. "$(dirname "$0")/lib.sh"

D=$(mktemp -d /tmp/lightchat-models.XXXXXX)
DEAD=$(free_port)   # nothing listens there
cat >"$D/lightchat.conf" <<CONF
worker_models_file = $D/models.json

[upstream ollama]
label = Ollama
base_url = http://127.0.0.1:$DEAD/v1
models = llama3.2:1b
discover = true
discover_interval = 86400

[model qwen*]
omit = frequency_penalty,presence_penalty
reasoning_effort = low,high
images = false
price_input = 0.15
price_output = 0.60
CONF
# write_live OK ERROR: a discovery record in which Ollama listed qwen3:8b.
write_live() {
	cat >"$D/models.json.tmp" <<JSON
{"upstreams":[{"name":"ollama","ok":$1,"error":"$2","checked":1764650000,"models":["qwen3:8b"]}]}
JSON
	mv "$D/models.json.tmp" "$D/models.json"
}

# run.sh's effective.conf (lightchat-admin config --file) carries the
# sections to the FastCGI program, without any API key; without flat
# upstream keys in the file or the environment it writes none, so that no
# upstream "default" appears there either.
eff() { env -u OPENAI_API_KEY -u OPENAI_BASE_URL LIGHTCHAT_STATE="$D" "$@" "$ADMIN" config --file; }
out=$(eff LIGHTCHAT_CONFIG="$D/lightchat.conf" LIGHTCHAT_UPSTREAM_OLLAMA_API_KEY=ollama-secret-key-0123)
assert_eq "config --file: the sections" "$(grep -E '^\[' <<<"$out" | tr '\n' ' ')" '[upstream ollama] [model qwen*] '
assert_match "config --file: the upstream as loaded" "$(grep -A3 '^\[upstream ollama\]' <<<"$out" | tr '\n' ' ')" \
	"label = Ollama base_url = http://127.0.0.1:$DEAD/v1 models = llama3.2:1b"
assert_eq "config --file: no flat upstream keys without the flat upstream" \
	"$(awk '/^\[/ {exit} {print}' <<<"$out" | grep -cE '^(upstream_base_url|upstream_api_key_file|models) =')" "0"
check "config --file: no API key" test -z "$(grep -e ollama-secret -e api_key <<<"$out" | grep -v '^upstream_api_key')"
printf '%s\n' "$out" >"$D/effective.conf"
assert_eq "config --file: its own output reads back the same" \
	"$(eff LIGHTCHAT_CONFIG="$D/effective.conf" | sha256sum)" "$(sha256sum <"$D/effective.conf")"

stack_start LIGHTCHAT_CONFIG="$D/lightchat.conf" LIGHTCHAT_MODELS=gpt-4o-mini,o4-mini \
	LIGHTCHAT_UPSTREAM_OLLAMA_API_KEY=ollama-secret-key-0123 || { rm -rf "$D"; finish; }
check "effective.conf holds no API key" test -z "$(grep -e ollama-secret -e "$API_KEY" "$T/state/effective.conf")"
J="$T/jar"
assert_eq "login: 200" "$(login alice "$PW_alice" "$J")" "200"
get() { curl -s -o "$T/out" -w '%{http_code}' -b "$J" "$BASE/api/models"; }
detail() { jq -c --arg m "$1" '.details[] | select(.id == $m) | del(.id)' "$T/out"; }

# As the worker's discovery saw it: Ollama's listing failed at start.
for _ in $(seq 50); do [ -s "$D/models.json" ] && break; sleep 0.1; done
check "the worker wrote its discovery record" test -s "$D/models.json"
assert_eq "GET /api/models: 200" "$(get)" "200"
assert_eq "discovery failed: the configured models all the same" "$(jq -c .models "$T/out")" \
	'["gpt-4o-mini","o4-mini","llama3.2:1b"]'
assert_match "Ollama: error, why and when" \
	"$(jq -r '.upstreams[1] | [.name, .label, .discover, .status, .error, (.checked > 1700000000)] | @tsv' "$T/out")" \
	$'^ollama\tOllama\ttrue\terror\tGET /models: [^\t]+\ttrue$'
assert_eq "llama3.2:1b: Ollama's, unavailable while its listing fails" "$(detail llama3.2:1b)" \
	'{"upstream":"ollama","label":"Ollama","available":false,"params":["max_tokens","temperature","top_p","frequency_penalty","presence_penalty"],"reasoning_effort":[],"images":false}'
assert_eq "the other upstream's models stay available" \
	"$(jq -c '[.details[] | select(.upstream == "default") | .available]' "$T/out")" '[true,true]'

write_live false "GET /models: connection refused"
assert_eq "GET /api/models again: 200" "$(get)" "200"
assert_eq "models: each upstream's, the discovered one too; the default" \
	"$(jq -c '{models, default}' "$T/out")" \
	'{"models":["gpt-4o-mini","o4-mini","llama3.2:1b","qwen3:8b"],"default":"gpt-4o-mini"}'
assert_eq "details: one per model, in the same order" "$(jq -c '[.details[].id] == .models' "$T/out")" "true"
assert_eq "gpt-4o-mini: every parameter, no effort, images" "$(detail gpt-4o-mini)" \
	'{"upstream":"default","label":"default","available":true,"params":["max_tokens","temperature","top_p","frequency_penalty","presence_penalty"],"reasoning_effort":[],"images":true}'
assert_eq "o4-mini: max_tokens only, low/medium/high" "$(detail o4-mini)" \
	'{"upstream":"default","label":"default","available":true,"params":["max_tokens"],"reasoning_effort":["low","medium","high"],"images":true}'
assert_eq "qwen3:8b: the [model qwen*] section's omit, efforts, images and price" "$(detail qwen3:8b)" \
	'{"upstream":"ollama","label":"Ollama","available":false,"params":["max_tokens","temperature","top_p"],"reasoning_effort":["low","high"],"images":false,"price":{"input":0.15,"output":0.6,"currency":"USD"}}'
assert_eq "upstreams: the flat one ok, Ollama failing with why and when" "$(jq -c .upstreams "$T/out")" \
	'[{"name":"default","label":"default","discover":false,"status":"ok"},{"name":"ollama","label":"Ollama","discover":true,"status":"error","error":"GET /models: connection refused","checked":1764650000}]'

write_live true ""
get >/dev/null
assert_eq "read at each request: Ollama back, its models available" \
	"$(jq -c '[.upstreams[1].status, ([.details[] | select(.upstream == "ollama") | .available] | all)]' "$T/out")" '["ok",true]'
assert_eq "an upstream that is fine has no error" "$(jq -c '.upstreams[1] | has("error")' "$T/out")" "false"

rm -f "$D/models.json"
get >/dev/null
assert_eq "no record: the configured models, Ollama's static one, all available" \
	"$(jq -c '[.models, ([.details[].available] | all), .upstreams[1].status]' "$T/out")" \
	'[["gpt-4o-mini","o4-mini","llama3.2:1b"],true,"ok"]'

printf '{"upstreams":[{"name":"ollama","ok":fal' >"$D/models.json"
assert_eq "a bad record: 200 all the same" "$(get)" "200"
assert_eq "a bad record is ignored: the configured models" "$(jq -c .models "$T/out")" '["gpt-4o-mini","o4-mini","llama3.2:1b"]'
assert_match "a bad record is logged" "$(grep 'models file' "$T/stack.log" | tail -1)" 'unreadable, ignored'
assert_eq "without credentials: 401" "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/models")" "401"

stack_stop
rm -rf "$D"
finish
