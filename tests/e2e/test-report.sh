#!/usr/bin/env bash
# test-report.sh - the admin's view of the usage ledger (issue 16): replies
# of three users on three models (one priced, two not) through the real
# stack, then lightchat-admin usage by user, model and day equals the sums
# of the ledger's rows read beside it (and the fake upstream's own counts),
# its TOTAL line the sum of its rows, --csv parses with the same numbers,
# bad options are refused, /metrics counts tokens, cost and replies per
# user and model (promtool passes), deleting a conversation changes no
# figure; and user limit / user limits round trip.
. "$(dirname "$0")/lib.sh"
CONF=$(mktemp /tmp/lightchat-report-conf.XXXXXX)
cat >"$CONF" <<'CONFEOF'
[model gpt-4o-mini]
price_input = 0.15
price_output = 0.60
CONFEOF
stack_start LIGHTCHAT_CONFIG="$CONF" LIGHTCHAT_MODELS=gpt-4o-mini,gpt-4o,o4-mini \
	LIGHTCHAT_MAX_MESSAGES_PER_MINUTE=1000 || { rm -f "$CONF"; finish; }
adm() { LIGHTCHAT_CONFIG="$CONF" LIGHTCHAT_STATE="$T/state" "$ADMIN" "$@"; }
JA=$T/jar-a
JB=$T/jar-b
JC=$T/jar-c
login alice "$PW_alice" "$JA" >/dev/null
login bob "$PW_bob" "$JB" >/dev/null
echo "carol-Secret-3" | adm user add carol 2>/dev/null
login carol "carol-Secret-3" "$JC" >/dev/null
cprompt() {  # MSGID TEXT MODEL
	jq -cn --arg id "$1" --arg t "$2" --arg m "$3" \
		'{action:"sendprompt",payload:{msgid:$id,prompt:$t,stream:true,params:{model_name:$m}}}'
}

# The fixture: each user's replies on the models, of different lengths.
n=0
for spec in alice:"$JA":gpt-4o-mini:5 alice:"$JA":gpt-4o:12 alice:"$JA":gpt-4o-mini:30 \
	bob:"$JB":gpt-4o:7 bob:"$JB":o4-mini:9 carol:"$JC":gpt-4o-mini:3 carol:"$JC":o4-mini:20; do
	IFS=: read -r who jar model words <<<"$spec"
	n=$((n + 1))
	f=$(final "$(ws "$jar" "$(cprompt "r$n" "#words:$words report $n" "$model")")")
	[ "$(jq -r .type <<<"$f")" = reply ] || not_ok "fixture reply $n ($who, $model)" "$f"
done
assert_eq "the ledger has the fixture's replies" "$(q "SELECT count(*) FROM usage")" 7
# The fake reports completion_tokens = the reply's words: the ledger took them.
assert_eq "the ledger's completion tokens are the fake's words" \
	"$(q "SELECT sum(completion_tokens) FROM usage")" $((5 + 12 + 30 + 7 + 9 + 3 + 20))

# report_check BY SQLKEY: the report's rows by BY equal the ledger's sums.
report_check() {
	local want got
	want=$(q "SELECT $2, count(*), sum(prompt_tokens), sum(completion_tokens), sum(reasoning_tokens),
		sum(prompt_tokens + completion_tokens), coalesce(CAST(sum(cost_micros) AS TEXT), 'none'), sum(estimated)
		FROM usage GROUP BY $2 ORDER BY $2" | tr '|' ' ')
	got=$(adm usage --by "$1" --csv | "$PY" -c '
import csv, sys
rows = list(csv.reader(sys.stdin))
for r in rows[1:]:
    k, rep, p, c, rs, t, cost, cur, est = r
    micros = "none" if cost == "" else str(round(float(cost) * 1e6))
    print(k, rep, p, c, rs, t, micros, est)')
	assert_eq "usage --by $1 --csv equals the ledger's sums" "$got" "$want"
}
report_check user '"user"'
report_check model model
report_check day day
hdr=$(adm usage --by model --csv | head -1)
assert_eq "the CSV header" "$hdr" "model,replies,prompt_tokens,completion_tokens,reasoning_tokens,total_tokens,cost,currency,estimated_replies"
assert_eq "the CSV names the currency" "$(adm usage --csv | sed -n 2p | awk -F, '{print $8}')" USD

# The table: a row per user, and its TOTAL line is the sum of the rows.
table=$(adm usage)
echo "$table" | sed 's/^/# /'
assert_match "the table's header line says the period" "$(head -1 <<<"$table")" "^usage [0-9-]{10} \.\. today, by user$"
sum_rows=$(awk '$1 ~ /^(alice|bob|carol)$/ { r += $2; t += $6 } END { print r, t }' <<<"$table")
total=$(awk '$1 == "TOTAL" { print $2, $6 }' <<<"$table")
assert_eq "TOTAL is the sum of the rows" "$total" "$sum_rows"
assert_eq "... and of the ledger" "$total" "$(q "SELECT count(*), sum(prompt_tokens + completion_tokens) FROM usage" | tr '|' ' ')"
alice_cost=$(q "SELECT sum(cost_micros) FROM usage WHERE \"user\" = 'alice'")
check "alice's cost is her priced replies' (gpt-4o-mini)" test "$alice_cost" -gt 0
assert_eq "alice's row marks the partly priced cost" \
	"$(awk '$1 == "alice" { print $7 }' <<<"$table" | tr -d '0-9.')" "*"
assert_eq "bob's row has no price at all" "$(awk '$1 == "bob" { print $7 }' <<<"$table")" "-"
assert_match "the footnote says why" "$table" "have no price"

# The period.
today=$(q "SELECT max(day) FROM usage")
assert_eq "the ledger's day is today's, local" "$today" "$(date +%F)"
assert_eq "--since a future day: nothing" "$(adm usage --since 2999-01-01 | tail -1)" "no usage in this period"
assert_eq "--until before the ledger: nothing" "$(adm usage --since 2000-01-01 --until 2000-12-31 | tail -1)" "no usage in this period"
check "--since and --until around today: the rows" bash -c 'grep -q "^$1 \+7 " <<<"$2"' _ "$today" "$(adm usage --since "$today" --until "$today" --by day)"
err=$(adm usage --since 2026-02-30 2>&1); rc=$?
assert_eq "a day that does not exist: exit 2" "$rc" 2
assert_match "... saying so" "$err" "YYYY-MM-DD"
adm usage --by nonsense >/dev/null 2>&1; assert_eq "--by nonsense: exit 2" "$?" 2
adm usage --csv --bogus >/dev/null 2>&1; assert_eq "an unknown option: exit 2" "$?" 2

# /metrics, from loopback: the ledger's totals per user and model.
curl -s "$BASE/metrics" >"$T/metrics"
want=$(q "SELECT sum(prompt_tokens) FROM usage WHERE \"user\" = 'alice' AND model = 'gpt-4o-mini'")
check "metrics: alice's prompt tokens on gpt-4o-mini" \
	grep -qx "lightchat_usage_tokens_total{user=\"alice\",model=\"gpt-4o-mini\",kind=\"prompt\"} $want" "$T/metrics"
want=$(q "SELECT sum(completion_tokens) FROM usage WHERE \"user\" = 'bob' AND model = 'o4-mini'")
check "metrics: bob's completion tokens on o4-mini" \
	grep -qx "lightchat_usage_tokens_total{user=\"bob\",model=\"o4-mini\",kind=\"completion\"} $want" "$T/metrics"
assert_eq "metrics: replies per user and model" \
	"$(grep -c '^lightchat_usage_replies_total{' "$T/metrics")" "$(q "SELECT count(DISTINCT \"user\" || '/' || model) FROM usage")"
got=$(awk -F'} ' '/^lightchat_usage_cost_total\{user="alice",model="gpt-4o-mini"\}/ { printf "%d", $2 * 1e6 + 0.5 }' "$T/metrics")
assert_eq "metrics: alice's cost, in USD" "$got" "$alice_cost"
check "metrics: no cost for an unpriced model" bash -c "! grep -q '^lightchat_usage_cost_total{user=\"bob\"' '$T/metrics'"
check "metrics: HELP names the currency setting" grep -q '^# HELP lightchat_usage_cost_total .*currency' "$T/metrics"
if command -v promtool >/dev/null; then
	lint=$(promtool check metrics <"$T/metrics" 2>&1)
	check "promtool check metrics passes ($lint)" test $? -eq 0 -a -z "$lint"
else
	not_ok "promtool check metrics" "promtool is missing (Debian's prometheus package; scripts/deps.sh all)"
fi

# Deleting alice's conversations changes none of her figures.
before=$(adm usage --csv)
for c in $(curl -s -b "$JA" "$BASE/api/conversations" | jq -r '.conversations[].id'); do
	curl -s -o /dev/null -b "$JA" -H "Origin: $BASE" -X DELETE "$BASE/api/conversations/$c"
done
assert_eq "alice's conversations are gone" "$(q "SELECT count(*) FROM conversations WHERE \"user\" = 'alice'")" 0
assert_eq "... her usage is not" "$(adm usage --csv)" "$before"
fails() { ! "$@" >/dev/null 2>&1; }
check "the ledger refuses a deletion" fails q "DELETE FROM usage"

# user limit: set, show, list, back to the defaults.
out=$(adm user limit bob --day 2M-tokens --month 5.00 --month 300k-tokens)
assert_match "user limit sets and shows" "$out" "bob day tokens: 2M tokens \(own\)"
assert_match "... the month's money" "$out" "bob month cost: 5.00 USD \(own\)"
assert_match "... the month's tokens" "$out" "bob month tokens: 300k tokens \(own\)"
assert_eq "... in the database" "$(q "SELECT day_tokens, day_cost, month_tokens, month_cost FROM user_limits WHERE \"user\" = 'bob'")" \
	"2000000|null|300000|5000000"
assert_match "user limit NAME shows the defaults too" "$(adm user limit bob)" "bob day cost: none \(default\)"
assert_match "user limits lists bob" "$(adm user limits)" "bob +2M tokens +default +300k tokens +5.00"
adm user limit bob --day none >/dev/null
assert_eq "--day none: no daily limit of either kind" "$(q "SELECT day_tokens, day_cost FROM user_limits WHERE \"user\" = 'bob'")" "0|0"
adm user limit bob default >/dev/null
assert_eq "default: bob's row is gone" "$(q "SELECT count(*) FROM user_limits")" 0
adm user limit bob --day 5k >/dev/null 2>&1; assert_eq "a bad LIMIT: exit 2" "$?" 2
adm user limit bob --week 1M-tokens >/dev/null 2>&1; assert_eq "a bad period: exit 2" "$?" 2
err=$(adm user limit nobody --day 1M-tokens 2>&1); rc=$?
assert_eq "an unknown user: exit 1" "$rc" 1
assert_match "... saying so" "$err" "no such user: nobody"
assert_eq "... and nothing is set" "$(q "SELECT count(*) FROM user_limits")" 0

# A deleted user's limits go with them; their replies stay in the ledger.
rows=$(q "SELECT count(*) FROM usage WHERE \"user\" = 'carol'")
adm user limit carol --month 1M-tokens >/dev/null
adm user del carol 2>/dev/null
assert_eq "user del: carol's own limits are gone" "$(q "SELECT count(*) FROM user_limits WHERE \"user\" = 'carol'")" 0
assert_eq "... her replies are still counted" "$(q "SELECT count(*) FROM usage WHERE \"user\" = 'carol'")" "$rows"
echo "carol-Secret-4" | adm user add carol 2>/dev/null
assert_match "a new carol starts with the defaults" "$(adm user limit carol)" "carol month tokens: none \(default\)"

stack_stop
rm -f "$CONF"
finish
