#!/usr/bin/env bash
# test-api-usage.sh - GET /api/usage (issue 16): only with a session; the
# user's own day and month figures equal the ledger's sums (read beside the
# stack), limits null when none and the user's own over the defaults,
# money in units of the currency, percent and warn from the highest share,
# the site's cap shown only as a share, another user's usage never shown.
. "$(dirname "$0")/lib.sh"
CONF=$(mktemp /tmp/lightchat-apiusage-conf.XXXXXX)
cat >"$CONF" <<'CONFEOF'
[model gpt-4o-mini]
price_input = 2.50
price_output = 10.00
CONFEOF
stack_start LIGHTCHAT_CONFIG="$CONF" LIGHTCHAT_MODELS=gpt-4o-mini,gpt-4o \
	LIGHTCHAT_BUDGET_MONTH_TOKENS=100 LIGHTCHAT_MAX_MESSAGES_PER_MINUTE=1000 || { rm -f "$CONF"; finish; }
JA=$T/jar-a
JB=$T/jar-b
login alice "$PW_alice" "$JA" >/dev/null
login bob "$PW_bob" "$JB" >/dev/null
cprompt() {
	jq -cn --arg id "$1" --arg t "$2" --arg m "$3" \
		'{action:"sendprompt",payload:{msgid:$id,prompt:$t,stream:true,params:{model_name:$m}}}'
}

assert_eq "no session: 401" "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/usage")" 401
u=$(curl -s -b "$JA" "$BASE/api/usage")
assert_eq "nothing used yet" "$(jq -c '[.day.tokens, .month.tokens, .month.cost, .percent, .warn]' <<<"$u")" "[0,0,0,0,false]"
assert_eq "the default month limit; no day limit, no money limit" \
	"$(jq -c '[.month.limit_tokens, .day.limit_tokens, .day.limit_cost, .month.limit_cost]' <<<"$u")" "[100,null,null,null]"
assert_eq "currency and warn_percent" "$(jq -c '[.currency, .warn_percent]' <<<"$u")" '["USD",80]'
assert_eq "no site block without a site cap" "$(jq -c .site <<<"$u")" null
assert_eq "the periods: today and the month's first" "$(jq -r '.day.since + " " + .month.since' <<<"$u")" "$(date +%F) $(date +%Y-%m-01)"
assert_match "resets_at is local ISO 8601" "$(jq -r .month.resets_at <<<"$u")" "^[0-9]{4}-[0-9]{2}-01T00:00:00[+-][0-9]{2}:[0-9]{2}$"
check "Cache-Control: no-store" bash -c "curl -s -D - -o /dev/null -b '$JA' '$BASE/api/usage' | grep -qi '^cache-control: no-store'"

ws "$JA" "$(cprompt a1 '#words:20 one' gpt-4o-mini)" >/dev/null
ws "$JA" "$(cprompt a2 '#words:30 two' gpt-4o)" >/dev/null
ws "$JB" "$(cprompt b1 '#words:120 bob' gpt-4o-mini)" >/dev/null
u=$(curl -s -b "$JA" "$BASE/api/usage")
tok=$(q "SELECT sum(prompt_tokens + completion_tokens) FROM usage WHERE \"user\" = 'alice'")
cost=$(q "SELECT sum(cost_micros) FROM usage WHERE \"user\" = 'alice'")
assert_eq "alice's month tokens are her ledger's" "$(jq .month.tokens <<<"$u")" "$tok"
assert_eq "... and her day's" "$(jq .day.tokens <<<"$u")" "$tok"
assert_eq "her cost, in USD (the priced reply only)" "$(jq '.month.cost * 1e6 | round' <<<"$u")" "$cost"
assert_eq "percent of her month's 100 tokens" "$(jq .percent <<<"$u")" "$((tok * 100 / 100))"
assert_eq "warn from 80 %" "$(jq .warn <<<"$u")" "$([ "$tok" -ge 80 ] && echo true || echo false)"
ub=$(curl -s -b "$JB" "$BASE/api/usage")
assert_eq "bob sees his own only" "$(jq .month.tokens <<<"$ub")" "$(q "SELECT sum(prompt_tokens + completion_tokens) FROM usage WHERE \"user\" = 'bob'")"
check "bob's is not alice's" test "$(jq .month.tokens <<<"$ub")" != "$tok"
assert_eq "bob past his limit: exceeded" "$(jq -c '[.exceeded, .percent >= 100]' <<<"$ub")" "[true,true]"

# alice's own limits over the defaults.
LIGHTCHAT_CONFIG="$CONF" LIGHTCHAT_STATE="$T/state" "$ADMIN" user limit alice --day 1000-tokens --month 2.00 >/dev/null
u=$(curl -s -b "$JA" "$BASE/api/usage")
assert_eq "her own day limit and money limit" "$(jq -c '[.day.limit_tokens, .month.limit_cost, .month.limit_tokens]' <<<"$u")" "[1000,2,100]"
stack_stop

# A site cap: shown as a share, never as the site's total.
stack_start LIGHTCHAT_CONFIG="$CONF" LIGHTCHAT_SITE_MONTH_TOKENS=1000 || { rm -f "$CONF"; finish; }
JA=$T/jar-a
login alice "$PW_alice" "$JA" >/dev/null
ws "$JA" "$(cprompt a3 '#words:40 three' gpt-4o)" >/dev/null
site=$(q "SELECT sum(prompt_tokens + completion_tokens) FROM usage")
u=$(curl -s -b "$JA" "$BASE/api/usage")
assert_eq "the site block: its share and reset only" "$(jq -c '.site | keys' <<<"$u")" '["percent","resets_at"]'
assert_eq "the site's share of its cap" "$(jq .site.percent <<<"$u")" "$((site * 100 / 1000))"
stack_stop
rm -f "$CONF"
finish
