#!/usr/bin/env bash
# test-health.sh - GET /health and GET /metrics (docs/ARCHITECTURE.md,
# "Health and metrics"): 200 on a running stack, 503 naming the worker while
# it is stopped (SIGSTOP: its heartbeat goes stale) and 200 again once it
# goes on; /metrics from loopback passes promtool and counts a login and a
# reply; with loopback closed, only the configured bearer token opens it.
. "$(dirname "$0")/lib.sh"

# metric NAME_AND_LABELS: its value in the last /metrics answer ($T/metrics).
metric() { awk -v m="$1" '$1 == m {print $2}' "$T/metrics"; }
fetch_metrics() { curl -s -o "$T/metrics" -w '%{http_code}' "$@" "$BASE/metrics"; }
# wait_metric NAME WANT: /metrics until NAME reaches WANT (the worker's
# figures are rewritten each second), at most 5 s.
wait_metric() {
	for _ in $(seq 50); do
		fetch_metrics >/dev/null
		[ "$(metric "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

stack_start || finish
J=$T/jar

out=$(curl -s -w ' %{http_code}' "$BASE/health")
assert_eq "/health on a running stack: 200 ok" "$out" '{"status":"ok","worker":"ok","database":"ok"} 200'
assert_eq "HEAD /health: 200" "$(curl -s -I -o /dev/null -w '%{http_code}' "$BASE/health")" "200"
check "HEAD /health: no body" test -z "$(curl -s -I "$BASE/health" | sed -n '/^\r$/,$p' | tail -n +2)"
assert_eq "POST /health: 405" "$(curl -s -o /dev/null -w '%{http_code}' -d x "$BASE/health")" "405"
check "the worker's heartbeat file is private" test "$(stat -c %a "$T/state/worker.metrics")" = 600

wpid=$(cat "$T/state/worker.pid")
kill -STOP "$wpid"
sleep 4
out=$(curl -s -m 5 -w ' %{http_code}' "$BASE/health")
kill -CONT "$wpid"
assert_match "worker stopped: 503 naming the worker" "$out" \
	'^\{"status":"fail","worker":"not answering \(last heartbeat [3-9] s ago\)","database":"ok"\} 503$'
# logged LINE: the stack's log has LINE (its pipes may take a moment).
logged() {
	for _ in $(seq 30); do grep -q "$1" "$T/stack.log" && return 0; sleep 0.1; done
	return 1
}
check "worker stopped: logged" logged 'health: worker not answering'

ok=0
for _ in $(seq 30); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/health")" = 200 ] && { ok=1; break; }
	sleep 0.1
done
assert_eq "worker going on again: 200" "$ok" "1"

assert_eq "/metrics from loopback: 200" "$(fetch_metrics)" "200"
check "/metrics: text format 0.0.4" sh -c "curl -s -D - -o /dev/null '$BASE/metrics' | grep -qi '^content-type: text/plain; version=0.0.4'"
if command -v promtool >/dev/null; then
	lint=$(promtool check metrics <"$T/metrics" 2>&1)
	check "promtool check metrics passes ($lint)" test $? -eq 0 -a -z "$lint"
else
	not_ok "promtool check metrics" "promtool is missing (Debian's prometheus package; scripts/deps.sh all)"
fi
for m in lightchat_build_info lightchat_worker_up lightchat_sessions_open \
	lightchat_replies_in_flight lightchat_replies_total lightchat_upstream_errors_total \
	lightchat_reply_first_token_seconds lightchat_reply_duration_seconds \
	lightchat_tokens_total lightchat_logins_total lightchat_rate_limited_total \
	lightchat_database_errors_total lightchat_process_resident_memory_bytes; do
	check "/metrics has $m" grep -q "^# TYPE $m " "$T/metrics"
done
assert_eq "/metrics: the worker is up" "$(metric lightchat_worker_up)" "1"
check "/metrics: the worker's memory" test "$(metric 'lightchat_process_resident_memory_bytes{process="worker"}')" -gt 1000000
check "/metrics: the FastCGI processes' memory" test "$(metric 'lightchat_process_resident_memory_bytes{process="fcgi"}')" -gt 100000

ok_before=$(metric 'lightchat_logins_total{result="ok"}')
bad_before=$(metric 'lightchat_logins_total{result="bad_password"}')
assert_eq "login" "$(login alice "$PW_alice" "$J")" "200"
assert_eq "a wrong password" "$(login alice wrong-password "$T/jar2")" "401"
fetch_metrics >/dev/null
assert_eq "a login counts as ok" "$(metric 'lightchat_logins_total{result="ok"}')" "$((ok_before + 1))"
assert_eq "a wrong password counts as bad_password" "$(metric 'lightchat_logins_total{result="bad_password"}')" "$((bad_before + 1))"

done_before=$(metric 'lightchat_replies_total{outcome="complete"}')
ttft_before=$(metric lightchat_reply_first_token_seconds_count)
out=$(WSOPTS="--timeout 10" ws "$J" "$(prompt m1 'count me')")
assert_eq "a reply" "$(final "$out" | jq -r .text.content)" "You said: count me"
check "a reply counts as complete" wait_metric 'lightchat_replies_total{outcome="complete"}' "$((done_before + 1))"
assert_eq "its first token is timed" "$(metric lightchat_reply_first_token_seconds_count)" "$((ttft_before + 1))"
check "its tokens are counted" test "$(metric 'lightchat_tokens_total{direction="out"}')" -gt 0
lint=$(promtool check metrics <"$T/metrics" 2>&1)
check "promtool passes with a reply counted ($lint)" test $? -eq 0 -a -z "$lint"
show_log "$T/stack.log"
stack_stop

# Loopback closed: only the bearer token of metrics_token_file opens it.
TOKDIR=$(mktemp -d /tmp/lightchat-e2e-tok.XXXXXX)
(umask 077; echo "metrics-token-0123456789abcdef" >"$TOKDIR/token")
stack_start LIGHTCHAT_METRICS_OPEN_LOOPBACK=false LIGHTCHAT_METRICS_TOKEN_FILE="$TOKDIR/token" \
	LIGHTCHAT_LOGIN_MAX_FAILURES_USER=1 || finish
assert_eq "loopback closed: 403 without a token" "$(fetch_metrics)" "403"
assert_eq "loopback closed: 403 with a wrong token" "$(fetch_metrics -H 'Authorization: Bearer metrics-token-0123456789abcdeX')" "403"
assert_eq "loopback closed: 403 with a prefix of the token" "$(fetch_metrics -H 'Authorization: Bearer metrics-token')" "403"
assert_eq "loopback closed: 200 with the token" "$(fetch_metrics -H 'Authorization: Bearer metrics-token-0123456789abcdef')" "200"
check "with the token: the metrics" grep -q '^lightchat_worker_up 1$' "$T/metrics"
check "the token is never logged" sh -c "! grep -q 'metrics-token' '$T/stack.log'"
# Throttled logins count as throttled and as rate limited (login).
n429=0
for _ in 1 2 3 4; do
	[ "$(login bob wrong-password "$T/jar3")" = 429 ] && n429=$((n429 + 1))
done
check "logins past the failure limit are throttled ($n429 of 4)" test "$n429" -ge 1
fetch_metrics -H 'Authorization: Bearer metrics-token-0123456789abcdef' >/dev/null
assert_eq "throttled logins counted" "$(metric 'lightchat_logins_total{result="throttled"}')" "$n429"
assert_eq "... and as rate limited" "$(metric 'lightchat_rate_limited_total{what="login"}')" "$n429"
assert_eq "the others as bad_password" "$(metric 'lightchat_logins_total{result="bad_password"}')" "$((4 - n429))"
chmod 644 "$TOKDIR/token"
assert_eq "a token file others may read opens nothing" "$(fetch_metrics -H 'Authorization: Bearer metrics-token-0123456789abcdef')" "403"
check "... and says why" logged 'metrics_token_file: '
assert_eq "/health needs no token" "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/health")" "200"
show_log "$T/stack.log"
stack_stop
rm -rf "$TOKDIR"
finish
