#!/usr/bin/env bash
# test-usage.sh - usage accounting and budgets end to end (issue 16): each
# reply's row in the usage ledger (read beside the stack with q) for
# a complete reply (the fake's usage exactly, its cost at the [model]
# rule's prices), a stopped one (estimated), a failed one before streaming
# (nothing) and mid-stream (estimated), one from an upstream that reports
# no usage (estimated, one token per 4 bytes), reasoning tokens, a model
# without a price, the seed shape; then budgets: a daily token budget lets
# the prompt that starts under it complete whole (the overshoot) and
# refuses the next with budget_exceeded and its "budget" member in both
# request shapes, nothing stored; the faked day change serves again while
# the month's limit still counts the day before; a per-user override; a
# cost budget; a worker drained mid-reply and one killed mid-reply leave
# their rows (interrupted, estimated); limits survive a worker restart; the
# site's monthly cap blocks everyone.
. "$(dirname "$0")/lib.sh"

# A fixed offset that puts the local time near noon: the test never spans
# a local midnight, and resets_at's offset is not always +00:00.
off=$(( (12 - 10#$(date -u +%H) + 36) % 24 - 12 ))
export TZ="LCT$(( -off ))"
CONF=$(mktemp /tmp/lightchat-usage-conf.XXXXXX)
cat >"$CONF" <<'CONFEOF'
[model gpt-4o-mini]
price_input = 2.50
price_output = 10.00
CONFEOF

cprompt() {  # MSGID TEXT [MODEL]: a conversation-shaped prompt, a new conversation
	jq -cn --arg id "$1" --arg t "$2" --arg m "${3:-}" \
		'{action:"sendprompt",payload:({msgid:$id,prompt:$t,stream:true} +
		(if $m == "" then {} else {params:{model_name:$m}} end))}'
}
sprompt() {  # MSGID TEXT: the seed's shape, not streamed
	jq -cn --arg id "$1" --arg t "$2" '{action:"sendprompt",payload:{msgid:$id,messages:[{role:"user",content:$t}]}}'
}
conv_of() { printf '%s\n' "$1" | jq -r 'select(.type=="start") | .conversation_id' | head -1; }
# sqlw SQL: a write beside the stack (the faked day change, limits).
sqlw() { q "$1" >/dev/null; }
COLS='"user",model,upstream,outcome,prompt_tokens,completion_tokens,reasoning_tokens,estimated,cost_micros'
last_row() { q "SELECT $COLS FROM usage ORDER BY id DESC LIMIT 1"; }
nrows() { q "SELECT count(*) FROM usage"; }
# est BYTES: the estimate of that many bytes (ceil(bytes / 4)).
est() { echo $(( ($1 + 3) / 4 )); }
# words TEXT: the fake's token count of a text.
words() { wc -w <<<"$1" | tr -d ' '; }
# sent_bytes: the bytes of text of the messages the fake received last.
sent_bytes() {
	curl -s "$UP/_requests" | "$PY" -c 'import json,sys
m = json.load(sys.stdin)[-1]["messages"]
print(sum(len(x["content"].encode()) for x in m if isinstance(x.get("content"), str)))'
}
# cost P C: micro-units at 2.50 and 10.00 per million tokens, rounded.
cost() { echo $(( ($1 * 2500000 + $2 * 10000000 + 500000) / 1000000 )); }
# local_day [DAYS]: the local date, DAYS after today.
local_day() { "$PY" -c 'import datetime,sys; print(datetime.date.today() + datetime.timedelta(days=int(sys.argv[1])))' "${1:-0}"; }
# month_first [MONTHS]: the local date of this month's first day (or of
# the month MONTHS after).
month_first() {
	"$PY" -c 'import datetime as d,sys
m = d.date.today().replace(day=1)
for _ in range(int(sys.argv[1])):
    m = (m.replace(day=28) + d.timedelta(days=4)).replace(day=1)
print(m)' "${1:-0}"
}
# next_midnight: the next local midnight in ISO 8601 with its offset.
next_midnight() {
	"$PY" -c 'import datetime as d
n = d.datetime.now().astimezone()
print((n + d.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0).isoformat())'
}
# limit NAME ARGS...: the user's own limits, as the admin sets them.
limit() {
	LIGHTCHAT_CONFIG="$CONF" LIGHTCHAT_STATE="$T/state" "$ADMIN" user limit "$@" >/dev/null
}
# restart_worker SIGNAL: the worker gets SIGNAL; waits until run.sh's new
# one is ready.
restart_worker() {
	local before wpid
	before=$(grep -c 'worker: ready' "$T/stack.log")
	wpid=$(cat "$T/state/worker.pid")
	kill "-$1" "$wpid"
	for _ in $(seq 100); do
		[ "$(grep -c 'worker: ready' "$T/stack.log")" -gt "$before" ] && return 0
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------- accounting --
stack_start LIGHTCHAT_CONFIG="$CONF" LIGHTCHAT_MODELS=gpt-4o-mini,gpt-4o \
	LIGHTCHAT_MAX_MESSAGES_PER_MINUTE=1000 || { rm -f "$CONF"; finish; }
J=$T/jar
login alice "$PW_alice" "$J" >/dev/null
export WSOPTS="--timeout 20"
today=$(local_day)

# A complete reply: the fake's usage exactly (one token a word), its cost.
out=$(ws "$J" "$(cprompt c1 'how are you today')")
C1=$(conv_of "$out")
p=$(words 'how are you today'); c=$(words 'You said: how are you today')
assert_eq "complete: the reply" "$(final "$out" | jq -r .text.content)" "You said: how are you today"
assert_eq "complete: the ledger row (the upstream's usage, the cost at the prices)" "$(last_row)" \
	"alice|gpt-4o-mini|default|complete|$p|$c|0|0|$(cost "$p" "$c")"
assert_eq "complete: the frame's usage is the upstream's" "$(final "$out" | jq -c '[.usage.prompt_tokens,.usage.completion_tokens]')" "[$p,$c]"
assert_eq "complete: the row names the conversation, the reply's message and the local day" \
	"$(now=$(date +%s); q "SELECT u.conversation_id, m.role, m.state, u.day, CASE WHEN u.at BETWEEN $now - 60 AND $now THEN 1 ELSE 0 END FROM usage u JOIN messages m ON m.id = u.message_id ORDER BY u.id DESC LIMIT 1")" \
	"$C1|assistant|complete|$today|1"
check "complete: logged with its tokens" grep -qE "reply complete user=alice msgid=c1 .* tokens=$p\\+$c est=0 " "$T/stack.log"

# A stopped reply: no usage came, estimated from the bytes received.
out=$(WSOPTS="--timeout 20 --send-after-frames 4 {\"action\":\"stop\",\"payload\":{\"msgid\":\"st\"}}" \
	ws "$J" "$(cprompt st '#words:200 #slow:8')")
sent=$(sent_bytes)
IFS='|' read -r outcome pt ct rt e got <<<"$(q "SELECT u.outcome, u.prompt_tokens, u.completion_tokens, u.reasoning_tokens, u.estimated, $(sql_bytes m.content) FROM usage u JOIN messages m ON m.id = u.message_id ORDER BY u.id DESC LIMIT 1")"
full=$(est "$(printf 'w%s ' $(seq 200) | sed 's/ $//' | wc -c)")
assert_eq "stopped: outcome stopped, estimated" "$outcome $e $rt" "stopped 1 0"
assert_eq "stopped: the prompt estimated from the messages' bytes" "$pt" "$(est "$sent")"
assert_eq "stopped: the completion estimated from the text received" "$ct" "$(est "$got")"
check "stopped: some of the reply, not all of it ($ct of $full)" test "$ct" -gt 0 -a "$ct" -lt "$full"

# Refused before streaming: nothing consumed, still a row.
out=$(ws "$J" "$(cprompt e1 '#status:500 fail')")
assert_eq "HTTP 500: an error frame" "$(final "$out" | jq -r .error.code)" "upstream_error"
assert_eq "HTTP 500: a row of 0 tokens, not estimated, cost 0" "$(last_row)" "alice|gpt-4o-mini|default|error|0|0|0|0|0"
# Failed mid-stream: what came is counted, estimated.
out=$(ws "$J" "$(cprompt e2 '#midstream-error fail later')")
partial=$(final "$out" | jq -r .error.partial)
assert_eq "mid-stream error: an error frame with the text so far" "$(final "$out" | jq -r .error.code) ${partial:+partial}" "upstream_error partial"
pt=$(est "$(sent_bytes)"); ct=$(est "$(printf '%s' "$partial" | wc -c)")
assert_eq "mid-stream error: counted, estimated" "$(last_row)" \
	"alice|gpt-4o-mini|default|error|$pt|$ct|0|1|$(cost "$pt" "$ct")"

# An upstream that reports no usage: estimated, one token per 4 bytes.
out=$(ws "$J" "$(cprompt n1 '#nousage what now')")
text=$(final "$out" | jq -r .text.content)
assert_eq "no usage: the reply, without usage in its frame" "$text $(final "$out" | jq -c .usage)" "You said: #nousage what now null"
pt=$(est "$(sent_bytes)"); ct=$(est "$(printf '%s' "$text" | wc -c)")
assert_eq "no usage: estimated ceil(bytes / 4) of the prompt and the reply" "$(last_row)" \
	"alice|gpt-4o-mini|default|complete|$pt|$ct|0|1|$(cost "$pt" "$ct")"
check "no usage: logged as estimated" grep -qE "reply complete user=alice msgid=n1 .* tokens=$pt\\+$ct est=1 " "$T/stack.log"

# Reasoning tokens (completion_tokens_details), part of the completion.
out=$(ws "$J" "$(cprompt r1 '#reason:rc think first')")
p=$(words '#reason:rc think first'); r=$(words 'Step one. Step two. Step three.')
c=$(( $(words "$(final "$out" | jq -r .text.content)") + r ))
assert_eq "reasoning: the reply's reasoning" "$(final "$out" | jq -r .reasoning)" "Step one. Step two. Step three."
assert_eq "reasoning: its tokens recorded, within the completion's" "$(last_row)" \
	"alice|gpt-4o-mini|default|complete|$p|$c|$r|0|$(cost "$p" "$c")"

# A model without a price: no cost (NULL), its tokens counted.
out=$(ws "$J" "$(cprompt u1 'no price here' gpt-4o)")
p=$(words 'no price here'); c=$(words 'You said: no price here')
assert_eq "no price: the model's row without a cost" "$(last_row)" "alice|gpt-4o|default|complete|$p|$c|0|0|null"

# The seed shape counts too.
out=$(ws "$J" "$(sprompt s1 'seed shape')")
p=$(words 'seed shape'); c=$(words 'You said: seed shape')
assert_eq "seed shape: the reply" "$(final "$out" | jq -r .text.content)" "You said: seed shape"
assert_eq "seed shape: its row" "$(last_row)" "alice|gpt-4o-mini|default|complete|$p|$c|0|0|$(cost "$p" "$c")"
assert_eq "one row per reply (8 replies)" "$(nrows)" "8"
assert_eq "the totals table follows the ledger" \
	"$(q "SELECT replies, prompt_tokens, completion_tokens, reasoning_tokens FROM usage_totals WHERE \"user\" = 'alice' AND model = 'gpt-4o-mini'")" \
	"$(q "SELECT count(*), sum(prompt_tokens), sum(completion_tokens), sum(reasoning_tokens) FROM usage WHERE \"user\" = 'alice' AND model = 'gpt-4o-mini'")"
# Deleting the conversation keeps its rows: the bill stands.
curl -s -o /dev/null -b "$J" -X DELETE "$BASE/api/conversations/$C1"
assert_eq "a deleted conversation's rows are kept" "$(nrows) $(q "SELECT count(*) FROM conversations WHERE id = '$C1'")" "8 0"
stack_stop

# ------------------------------------------------------------------- budgets --
# Every user's default: 30 tokens a day. The site: 600 tokens a month.
stack_start LIGHTCHAT_CONFIG="$CONF" LIGHTCHAT_BUDGET_DAY_TOKENS=30 LIGHTCHAT_SITE_MONTH_TOKENS=600 \
	LIGHTCHAT_MAX_MESSAGES_PER_MINUTE=1000 || { rm -f "$CONF"; finish; }
J=$T/jar
JB=$T/jar-bob
JC=$T/jar-carol
login alice "$PW_alice" "$J" >/dev/null
login bob "$PW_bob" "$JB" >/dev/null
echo "carol-Secret-3" | LIGHTCHAT_CONFIG=/dev/null LIGHTCHAT_STATE="$T/state" "$ADMIN" user add carol 2>/dev/null
login carol "carol-Secret-3" "$JC" >/dev/null

# Under the limit (0 of 30) a prompt starts and completes whole past it.
out=$(ws "$J" "$(cprompt b1 '#words:40 go on')")
assert_eq "the overshoot: the prompt under the limit completes whole" \
	"$(final "$out" | jq -r '[.type, (.text.content | split(" ") | length)] | join(" ")')" "reply 40"
used=$(q "SELECT sum(prompt_tokens + completion_tokens) FROM usage WHERE \"user\" = 'alice'")
check "alice passed her daily limit ($used of 30)" test "$used" -gt 30
convs=$(q "SELECT count(*) FROM conversations WHERE \"user\" = 'alice'")
rows=$(nrows)
out=$(ws "$J" "$(cprompt b2 'one more')")
f=$(final "$out")
assert_eq "the next prompt: budget_exceeded, with its msgid" "$(jq -r '.error.code + " " + .msgid' <<<"$f")" "budget_exceeded b2"
assert_eq "the budget member: the user's day, tokens, the limit, the use, the next local midnight" \
	"$(jq -c .error.budget <<<"$f")" \
	"{\"scope\":\"user\",\"period\":\"day\",\"unit\":\"tokens\",\"limit\":30,\"used\":$used,\"resets_at\":\"$(next_midnight)\",\"currency\":\"USD\"}"
assert_match "the message says the limit and when it resets" "$(jq -r .error.message <<<"$f")" \
	"^your daily budget is used up: $used of 30 tokens; it resets at $(local_day 1) 00:00"
out=$(ws "$J" "$(sprompt b3 'seed too')")
f=$(final "$out")
assert_eq "the seed shape: the same refusal" "$(jq -c '[.error.code, .error.budget.period, .error.budget.used, .msgid]' <<<"$f")" \
	"[\"budget_exceeded\",\"day\",$used,\"b3\"]"
assert_match "the seed shape: its text.content" "$(jq -r .text.content <<<"$f")" '^Error: your daily budget is used up'
assert_eq "nothing stored or counted for the refused prompts" \
	"$(q "SELECT count(*) FROM conversations WHERE \"user\" = 'alice'") $(nrows)" "$convs $rows"
check "the refusal is logged" grep -q "prompt refused user=alice budget day tokens $used/30" "$T/stack.log"
assert_eq "another user is not affected" "$(final "$(ws "$JB" "$(cprompt o1 'hi there')")" | jq -r .text.content)" "You said: hi there"

# A per-user override: bob passes the default too, then gets 1M a day.
ws "$JB" "$(cprompt o2 '#words:40 more')" >/dev/null
assert_eq "bob past the default: refused" "$(final "$(ws "$JB" "$(cprompt o3 again)")" | jq -r .error.code)" "budget_exceeded"
limit bob --day 1M-tokens
assert_eq "bob with 1M tokens a day of his own: served" "$(final "$(ws "$JB" "$(cprompt o4 again)")" | jq -r .type)" "reply"
assert_eq "alice still blocked" "$(final "$(ws "$J" "$(cprompt b4 again)")" | jq -r .error.code)" "budget_exceeded"

# A cost budget: bob's own 0.0001 USD a day (100 micro-units).
limit bob --day 0.0001
spent=$(q "SELECT sum(cost_micros) FROM usage WHERE \"user\" = 'bob'")
f=$(final "$(ws "$JB" "$(cprompt o5 'cost me')")")
check "bob spent more than that ($spent micro-units)" test "$spent" -gt 100
assert_eq "bob past his cost budget: refused, in money (units of USD)" \
	"$(jq -c '[.error.code, .error.budget.unit, (.error.budget.limit * 1e6 | round), (.error.budget.used * 1e6 | round), .error.budget.currency]' <<<"$f")" \
	"[\"budget_exceeded\",\"cost\",100,$spent,\"USD\"]"
assert_match "the message in money" "$(jq -r .error.message <<<"$f")" "^your daily budget is used up: .* of 0\\.0001 USD; it resets at"
limit bob --day default --day 1M-tokens

# The faked day change: alice's rows a day older; her day is free again,
# her month is not.
# The ledger refuses any change (a trigger): the test lifts that guard for
# the move, in one transaction, and puts it back as it was.
# (In PostgreSQL: the table's triggers off for the transaction, the same
# guard as SQLite's usage_kept_changed.)
if pg_mode; then
	check "alice's rows moved a day back" q "BEGIN; ALTER TABLE usage DISABLE TRIGGER USER;
		UPDATE usage SET day = to_char(day::date - 1, 'YYYY-MM-DD'), at = at - 86400 WHERE \"user\" = 'alice';
		ALTER TABLE usage ENABLE TRIGGER USER; COMMIT"
else
	check "alice's rows moved a day back" "$PY" -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)
db.execute("BEGIN IMMEDIATE")
guard = db.execute("SELECT sql FROM sqlite_master WHERE name = ?", ("usage_kept_changed",)).fetchone()[0]
db.execute("DROP TRIGGER usage_kept_changed")
db.execute(sys.argv[2])
db.execute(guard)
db.execute("COMMIT")' "$STACK_DB" \
		"UPDATE usage SET day = date(day, '-1 day'), at = at - 86400 WHERE \"user\" = 'alice'"
fi
fails() { ! "$@" >/dev/null 2>&1; }
check "the guard is back" fails q "UPDATE usage SET day = day"
assert_eq "the next day: alice is served again" "$(final "$(ws "$J" "$(cprompt b5 'new day')")" | jq -r .type)" "reply"
if [ "$(date +%d)" = 01 ]; then
	echo "skip - the month's limit across the faked day change (today is the 1st: yesterday is another month)"
else
	month=$(q "SELECT sum(prompt_tokens + completion_tokens) FROM usage WHERE \"user\" = 'alice'")
	limit alice --month "$((month + 5))-tokens"
	assert_eq "a month limit above her month's use: served" "$(final "$(ws "$J" "$(cprompt b6 '#words:10 x')")" | jq -r .type)" "reply"
	f=$(final "$(ws "$J" "$(cprompt b7 'and more')")")
	assert_eq "past it (the day before counted): refused for the month" \
		"$(jq -c '[.error.code, .error.budget.period, .error.budget.limit]' <<<"$f")" "[\"budget_exceeded\",\"month\",$((month + 5))]"
	assert_match "the month's message: it resets on the next month's first day" "$(jq -r .error.message <<<"$f")" \
		"^your monthly budget is used up: [0-9]+ of $((month + 5)) tokens; it resets at $(month_first 1) 00:00"
fi

# A worker drained mid-reply (SIGTERM, drain_timeout 2 s): interrupted,
# estimated by the worker itself (its prompt known, its upstream named).
WSOPTS="--timeout 30 --until-final 1" ws "$JB" "$(cprompt d1 '#words:200 #slow:12 a long one')" >"$T/drain.out" 2>/dev/null &
WSP=$!
check "drain: the reply streams" wait_for "$T/drain.out" '"msgid":"d1".*"type":"delta"' 10
sleep 1.2
rows=$(nrows)
check "drain: the worker is restarted" restart_worker TERM
wait "$WSP"
assert_eq "drain: the client's final frame" "$(final "$(cat "$T/drain.out")" | jq -r .error.code)" "worker_unavailable"
IFS='|' read -r outcome up pt ct e mid <<<"$(q "SELECT outcome, upstream, prompt_tokens, completion_tokens, estimated, message_id FROM usage WHERE \"user\" = 'bob' ORDER BY id DESC LIMIT 1")"
assert_eq "drain: one more row, interrupted, estimated, its upstream named" "$(nrows) $outcome $e $up" "$((rows + 1)) interrupted 1 default"
got=$(q "SELECT $(sql_bytes content) FROM messages WHERE id = $mid")
assert_eq "drain: the text received estimated" "$ct" "$(est "$got")"
check "drain: the prompt estimated too ($pt)" test "$pt" -gt 0

# Limits survive the restart.
assert_eq "after the restart: alice still blocked" "$(final "$(ws "$J" "$(cprompt b8 again)")" | jq -r .error.code)" "budget_exceeded"
assert_eq "after the restart: bob's own limit still his" "$(final "$(ws "$JB" "$(cprompt o6 again)")" | jq -r .type)" "reply"

# A worker killed mid-reply: the restart marks it interrupted and adds it.
WSOPTS="--timeout 30 --until-final 1" ws "$JB" "$(cprompt k1 '#words:200 #slow:12 killed')" >"$T/kill.out" 2>/dev/null &
WSP=$!
check "kill: the reply streams" wait_for "$T/kill.out" '"msgid":"k1".*"type":"delta"' 10
sleep 1.2   # the 1 s save has stored some of its text
rows=$(nrows)
check "kill: the worker is restarted" restart_worker KILL
wait "$WSP"
IFS='|' read -r outcome pt ct e mid <<<"$(q "SELECT outcome, prompt_tokens, completion_tokens, estimated, message_id FROM usage WHERE \"user\" = 'bob' ORDER BY id DESC LIMIT 1")"
got=$(q "SELECT $(sql_bytes content) FROM messages WHERE id = $mid")
assert_eq "kill: after the restart the ledger has it, interrupted, estimated" "$(nrows) $outcome $e" "$((rows + 1)) interrupted 1"
assert_eq "kill: its stored text estimated" "$ct" "$(est "$got")"
check "kill: some text ($got bytes)" test "$got" -gt 0

# The site's monthly cap (600 tokens): bob's long reply passes it; then
# nobody may start a prompt, not even carol, who used nothing.
MONTH1=$(month_first)
site=$(q "SELECT sum(prompt_tokens + completion_tokens) FROM usage WHERE day >= '$MONTH1'")
check "the site is under its cap so far ($site of 600)" test "$site" -lt 600
assert_eq "bob's long reply" "$(final "$(ws "$JB" "$(cprompt o7 '#words:600 long')")" | jq -r .type)" "reply"
site=$(q "SELECT sum(prompt_tokens + completion_tokens) FROM usage WHERE day >= '$MONTH1'")
for who in bob:"$JB" carol:"$JC"; do
	f=$(final "$(ws "${who#*:}" "$(cprompt "site-${who%%:*}" hello)")")
	assert_eq "the site's cap blocks ${who%%:*}" "$(jq -c '[.error.code, .error.budget.scope, .error.budget.period, .error.budget.limit, .error.budget.used]' <<<"$f")" \
		"[\"budget_exceeded\",\"site\",\"month\",600,$site]"
	assert_match "the message says the site" "$(jq -r .error.message <<<"$f")" "site"
done
check "the site's refusal is logged" grep -q "prompt refused user=carol budget site month tokens $site/600" "$T/stack.log"
stack_stop
rm -f "$CONF"
finish
