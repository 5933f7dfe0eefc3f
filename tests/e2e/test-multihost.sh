#!/usr/bin/env bash
# test-multihost.sh - three lightchat hosts on one PostgreSQL database behind
# HAProxy (tests/e2e/multihost.sh, conf/haproxy.cfg), issue 17: a login
# through the balancer, any host serving any user; a user's two tabs on
# two hosts seeing the same live reply, and either stopping it; SIGKILL of
# the writing host's worker (its supervisor paused, so no restart hides
# it): the reply marked interrupted by a survivor within the lease and the
# watching tab told; login throttling, revocation and budgets the same on
# every host; HAProxy's health checks taking a host whose /health fails
# out and back; PostgreSQL stopped and started again mid-run: clear errors
# meanwhile, then the same processes serve again.
. "$(dirname "$0")/multihost.sh"
trap '[ -n "$MH" ] && mh_stop' EXIT
# Every host: a small daily budget by default (alice and bob get their own,
# large ones below; erin keeps it), 3 failed logins per user, /health's
# heartbeat limit at its default (3 s).
DAY=40
mh_start 3 LIGHTCHAT_BUDGET_DAY_TOKENS=$DAY LIGHTCHAT_LOGIN_MAX_FAILURES_USER=3 \
	LIGHTCHAT_LOGIN_MAX_FAILURES_ADDR=1000 LIGHTCHAT_MAX_INFLIGHT_PER_USER=16 || finish
T=$MH
J=$MH/jar
JB=$MH/jar-bob

# on I CMD...: CMD with lib.sh's BASE and WS of host I; lb CMD...: of the
# balancer.
on() { local i=$1; shift; BASE=${HOST_BASE[i]} WS=${HOST_WS[i]} "$@"; }
lb() { BASE=$LB_BASE WS=$LB_WS "$@"; }
code() { curl -s -o "$MH/out" -w '%{http_code}' "$@"; }
cprompt() {  # MSGID TEXT [CONV]: a conversation-shaped streaming prompt
	jq -cn --arg id "$1" --arg t "$2" --arg c "${3:-}" \
		'{action:"sendprompt",payload:({msgid:$id,prompt:$t,stream:true} +
		(if $c == "" then {} else {conversation_id:$c} end))}'
}
watch_msg() { jq -cn --arg c "$1" '{action:"watch",payload:{conversation_id:$c}}'; }
conv_of() { jq -r 'select(.type=="start") | .conversation_id' "$1" 2>/dev/null | head -1; }
# started FILE: waits (10 s) for a start frame and then a delta in FILE.
started() { wait_for "$1" '"type":"start"' 10 && wait_for "$1" '"type":"delta"' 10; }
limit() { mh_admin 1 user limit "$@" >/dev/null; }

echo "erin-Secret-5" | mh_admin 1 user add erin 2>/dev/null
echo "carol-Secret-3" | mh_admin 1 user add carol 2>/dev/null
limit alice --day 10M-tokens
limit bob --day 10M-tokens

# ---- HAProxy sees every host
for i in 1 2 3; do
	check "HAProxy: host$i UP" lb_wait "host$i" '^UP' 15
done

# ---- A login through the balancer; any host serves any user.
assert_eq "login through the balancer: 200" "$(lb login alice "$PW_alice" "$J")" "200"
out=$(lb ws "$J" "$(cprompt lb1 'Through the balancer')")
assert_eq "a prompt over the balancer's WebSocket is answered" "$(final "$out" | jq -r .text.content)" \
	"You said: Through the balancer"
C0=$(printf '%s\n' "$out" | jq -r 'select(.type=="start") | .conversation_id' | head -1)
login_on() { on "$1" login "$2" "$3" "$4"; }
assert_eq "alice logs in on host1" "$(login_on 1 alice "$PW_alice" "$MH/j1")" "200"
list1=$(curl -s -b "$MH/j1" "${HOST_BASE[1]}/api/conversations" | jq -c '[.conversations[].id]')
assert_eq "host1: the balancer's conversation is listed" "$(jq -r '.[0]' <<<"$list1")" "$C0"
for i in 2 3; do
	assert_eq "host$i: the same conversations list with host1's cookie" \
		"$(curl -s -b "$MH/j1" "${HOST_BASE[i]}/api/conversations" | jq -c '[.conversations[].id]')" "$list1"
done
n0=$(grep -c '"GET /api/me ' "$LB_LOG")
for _ in $(seq 9); do
	st=$(curl -s -o /dev/null -w '%{http_code}' -b "$J" "$LB_BASE/api/me")
	[ "$st" = 200 ] || break
done
assert_eq "nine requests through the balancer: all 200" "$st" "200"
served=$(grep '"GET /api/me ' "$LB_LOG" | tail -n +$((n0 + 1)) | grep -o 'lightchat_hosts/host[0-9]' | sort -u | wc -l)
check "no stickiness: they went to several hosts ($served)" test "$served" -ge 2
# /metrics: a host's own (it serves loopback), never the balancer's.
assert_eq "host1 serves /metrics to loopback (the balancer's address here)" \
	"$(curl -s -o /dev/null -w '%{http_code}' "${HOST_BASE[1]}/metrics")" "200"
for path in /metrics /%6detrics /x/../metrics //metrics /chat/metrics; do
	assert_eq "the balancer refuses $path: 403" \
		"$(curl -s --path-as-is -o /dev/null -w '%{http_code}' "$LB_BASE$path")" "403"
done

# ---- One user's two tabs on two hosts see the same live reply.
rm -f "$MH/a.out"  # (the waits below must not find the last case's)
WSOPTS="--timeout 40 --until-final 1" on 1 ws "$MH/j1" "$(cprompt live '#words:300 #slow:6 live')" >"$MH/a.out" 2>"$MH/a.err" &
apid=$!
check "host1: the reply streams" started "$MH/a.out"
C1=$(conv_of "$MH/a.out")
WSOPTS="--timeout 40 --until-final 1" on 2 ws "$J" "$(watch_msg "$C1")" >"$MH/b.out" 2>"$MH/b.err"
wait "$apid"
snap=$(jq -rj 'select(.type=="snapshot") | .content' "$MH/b.out")
deltas=$(jq -rj 'select(.type=="delta") | .delta' "$MH/b.out")
content=$(q "SELECT content FROM messages WHERE conversation_id = '$C1' AND role = 'assistant'")
check "host2's tab: a snapshot first" test "$(jq -r .type "$MH/b.out" | head -1)" = snapshot
check "host2's tab: then live deltas ($(grep -c '"type":"delta"' "$MH/b.out"))" grep -q '"type":"delta"' "$MH/b.out"
assert_eq "host2's tab: snapshot + deltas = the stored reply" "$snap$deltas" "$content"
assert_eq "host2's tab: the final frame is host1's" "$(tail -1 "$MH/b.out" | jq -r .text.content)" \
	"$(final "$(cat "$MH/a.out")" | jq -r .text.content)"
assert_eq "the stored reply: complete, 300 words" "$(stored "$C1") $(wc -w <<<"${content#You said: }")" "complete 300"

# ---- Either tab can stop it: a stop sent on host2 stops host1's reply.
rm -f "$MH/a.out"
WSOPTS="--timeout 40 --until-final 1" on 1 ws "$MH/j1" "$(cprompt st '#words:400 #slow:20 stop me')" >"$MH/a.out" 2>"$MH/a.err" &
apid=$!
check "host1: the reply to stop streams" started "$MH/a.out"
C2=$(conv_of "$MH/a.out")
t0=$(date +%s.%N)
WSOPTS="--timeout 15 --until-final 1" on 2 ws "$J" "$(watch_msg "$C2")" \
	"$(jq -cn --arg c "$C2" '{action:"stop",payload:{conversation_id:$c}}')" >"$MH/b.out" 2>"$MH/b.err"
wait "$apid"
t1=$(date +%s.%N)
assert_eq "host1's tab: the reply ends stopped" "$(tail -1 "$MH/a.out" | jq -r .finish_reason)" "stopped"
check "... at once, not after its 20 s ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f s", b - a }'))" \
	awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 8) }'
assert_eq "host2's tab: the stopped reply too" "$(tail -1 "$MH/b.out" | jq -r .finish_reason)" "stopped"
assert_eq "the database: stopped" "$(stored "$C2")" "stopped"
assert_eq "the stored text is what host1's tab got" \
	"$(q "SELECT content FROM messages WHERE conversation_id = '$C2' AND role = 'assistant'")" \
	"$(tail -1 "$MH/a.out" | jq -r .text.content)"

# ---- SIGKILL of host1's worker while it streams: a survivor marks the reply
# interrupted within the lease (+ its sweep), and host2's tab is told. Host
# 1's supervisor (run.sh) is paused meanwhile: a restarted worker would
# mark its own replies at its start and hide whether the others did.
rm -f "$MH/a.out"
WSOPTS="--timeout 60 --until-final 1" on 1 ws "$MH/j1" "$(cprompt kill '#words:400 #slow:30 kill me')" >"$MH/a.out" 2>"$MH/a.err" &
apid=$!
check "host1: the reply to kill streams" started "$MH/a.out"
C3=$(conv_of "$MH/a.out")
rm -f "$MH/b.out"
WSOPTS="--timeout 40 --until-final 1" on 2 ws "$J" "$(watch_msg "$C3")" >"$MH/b.out" 2>"$MH/b.err" &
bpid=$!
check "host2's tab watches it" wait_for "$MH/b.out" '"type":"delta"' 10
wpid=$(cat "${HOST_WORKER_PIDFILE[1]}")
kill -STOP "${HOST_PID[1]}"
kill -KILL "$wpid"
t0=$(date +%s.%N)
state=$(wait_stored "$C3" interrupted 15)
t1=$(date +%s.%N)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
echo "# the killed worker's reply was marked $state after $secs s"
assert_eq "the killed worker's reply: interrupted in the database" "$state" "interrupted"
check "... within 10 s of the kill ($secs s)" awk -v s="$secs" 'BEGIN { exit !(s <= 10) }'
# (The killed worker stays a zombie until its paused parent reaps it.)
gone_or_zombie() { [ ! -e "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
check "... while host1 had no worker (none restarted)" bash -c "$(declare -f gone_or_zombie); gone_or_zombie $wpid && test \"\$(cat '${HOST_WORKER_PIDFILE[1]}')\" = $wpid"
wait "$bpid"
assert_eq "host2's tab: the error frame (worker_unavailable)" \
	"$(tail -1 "$MH/b.out" | jq -r '.type + " " + .error.code')" "error worker_unavailable"
kill -CONT "${HOST_PID[1]}"
kill "$apid" 2>/dev/null
wait "$apid" 2>/dev/null
check "host1's worker is back" wait_for "${HOST_T[1]}/stack.log" "worker exited .*restarting" 5
for _ in $(seq 100); do
	[ "$(cat "${HOST_WORKER_PIDFILE[1]}")" != "$wpid" ] && grep -c 'worker: ready' "${HOST_T[1]}/stack.log" | grep -q '^[2-9]' && break
	sleep 0.1
done
out=$(on 1 ws "$MH/j1" "$(cprompt back 'host1 again')")
assert_eq "host1 answers again after its worker's restart" "$(final "$out" | jq -r .text.content)" "You said: host1 again"

# ---- A login throttled on one host is throttled on all. The delay grows
# with the failures (1, 2, 4 s): host1 fails carol until it says 429 with
# a Retry-After of 4 s, so that host2 and host3 are asked within it.
try_login() {  # I USER PASSWORD: host I's status; headers in $MH/h
	curl -s -o "$MH/b" -D "$MH/h" -w '%{http_code}' -H 'Content-Type: application/json' \
		-d "{\"username\":\"$2\",\"password\":\"$3\"}" "${HOST_BASE[$1]}/login"
}
retry_after() { tr -d '\r' <"$MH/h" | sed -n 's/^Retry-After: //Ip'; }
st="" ra=0
for tries in $(seq 12); do
	st=$(try_login 1 carol "wrong-$tries")
	if [ "$st" = 429 ]; then
		ra=$(retry_after)
		[ "${ra:-0}" -ge 4 ] && break
		sleep "${ra:-1}.1"
	fi
done
assert_eq "host1: carol's failures end in 429 (Retry-After $ra s, after $tries tries)" "$st" "429"
assert_eq "host2: carol with her right password: 429 too" "$(try_login 2 carol carol-Secret-3)" "429"
check "... with a Retry-After ($(retry_after) s)" test "$(retry_after)" -ge 1
assert_eq "host3: 429 too" "$(try_login 3 carol carol-Secret-3)" "429"
assert_eq "bob is not throttled (host2)" "$(on 2 login bob "$PW_bob" "$JB")" "200"

# ---- Through the balancer, the client's address counts, not the
# balancer's: dave logs in from 127.0.0.3, then a stranger at 127.0.0.2
# fails his password 3 times; the stranger's next try is throttled. (Were
# every client the balancer's address, dave's good login would make that
# address trusted for him, and the stranger would skip his limit.)
lb_login() {  # FROM USER PASSWORD [CURL ARGS...]: a login through the balancer from FROM
	local a=$1 u=$2 pw=$3; shift 3
	curl -s --interface "$a" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
		-d "{\"username\":\"$u\",\"password\":\"$pw\"}" "$@" "$LB_BASE/login"
}
echo "dave-Secret-4" | mh_admin 1 user add dave 2>/dev/null
assert_eq "dave logs in through the balancer from 127.0.0.3" "$(lb_login 127.0.0.3 dave dave-Secret-4 -c "$MH/jd")" "200"
for i in 1 2 3; do lb_login 127.0.0.2 dave "guess$i" >/dev/null; done
assert_eq "a stranger at 127.0.0.2 after 3 failures: 429, dave's login elsewhere notwithstanding" \
	"$(lb_login 127.0.0.2 dave dave-Secret-4)" "429"

# ---- A session revoked on one host is refused on all.
upgrade_code() {  # JAR BASE: the /ws handshake's status with JAR's cookie
	curl -s -o /dev/null -w '%{http_code}' --max-time 5 -b "$1" \
		-H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
		-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$2/ws"
}
me() { curl -s -o /dev/null -w '%{http_code}' -b "$1" "$2/api/me"; }
assert_eq "alice logs in on host1 (a session to end)" "$(login_on 1 alice "$PW_alice" "$MH/jr")" "200"
assert_eq "... valid on host2 and host3" "$(me "$MH/jr" "${HOST_BASE[2]}") $(me "$MH/jr" "${HOST_BASE[3]}")" "200 200"
"$PY" "$WSCLIENT" --cookie-jar "$MH/jr" --until-final 0 --timeout 20 --ping-interval 0.5 \
	"${HOST_WS[2]}" >"$MH/open.out" 2>"$MH/open.err" &
opid=$!
sleep 0.7
assert_eq "logout on host1: 200" "$(code -b "$MH/jr" -X POST -d '' "${HOST_BASE[1]}/logout")" "200"
t0=$(date +%s.%N)
for i in 2 3; do
	assert_eq "host$i: REST refuses the ended session" "$(me "$MH/jr" "${HOST_BASE[i]}")" "401"
	assert_eq "host$i: /ws refuses it" "$(upgrade_code "$MH/jr" "${HOST_BASE[i]}")" "401"
done
closed=0
for _ in $(seq 100); do kill -0 "$opid" 2>/dev/null || { closed=1; break; }; sleep 0.05; done
t1=$(date +%s.%N)
check "host2: its open WebSocket closed ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f s", b - a }'))" test $closed -eq 1
[ $closed -eq 1 ] || kill "$opid" 2>/dev/null
wait "$opid" 2>/dev/null
assert_eq "... after a final unauthorized frame" "$(grep '"type":"error"' "$MH/open.out" | tail -1 | jq -r .error.code)" "unauthorized"
assert_eq "bob logs in on host3" "$(login_on 3 bob "$PW_bob" "$MH/jb3")" "200"
mh_admin 1 user revoke bob 2>/dev/null
for i in 2 3; do
	assert_eq "user revoke on host1: host$i refuses bob's session" "$(me "$MH/jb3" "${HOST_BASE[i]}")" "401"
done
ws_refused() { "$PY" "$WSCLIENT" --cookie-jar "$1" --timeout 5 --expect-status 401 "$2" >/dev/null 2>&1; }
check "... and a new WebSocket with it (host2)" ws_refused "$MH/jb3" "${HOST_WS[2]}"
assert_eq "alice's other session goes on (host3)" "$(me "$J" "${HOST_BASE[3]}")" "200"

# ---- A budget spent through one host is spent on all.
assert_eq "erin logs in on host1" "$(login_on 1 erin erin-Secret-5 "$MH/je")" "200"
out=$(on 1 ws "$MH/je" "$(cprompt e1 '#words:60 spend it')")
assert_eq "host1: erin's reply under her limit completes" "$(final "$out" | jq -r .type)" "reply"
used=$(q "SELECT sum(prompt_tokens + completion_tokens) FROM usage WHERE \"user\" = 'erin'")
check "erin is past the day's $DAY tokens ($used)" test "${used:-0}" -gt "$DAY"
f=$(final "$(on 2 ws "$MH/je" "$(cprompt e2 'one more')")")
assert_eq "host2 refuses her next prompt: budget_exceeded" "$(jq -r .error.code <<<"$f")" "budget_exceeded"
assert_eq "... counting host1's tokens" "$(jq -c '[.error.budget.limit, .error.budget.used]' <<<"$f")" "[$DAY,$used]"
assert_eq "host3 too" "$(final "$(on 3 ws "$MH/je" "$(cprompt e3 'and more')")" | jq -r .error.code)" "budget_exceeded"

# ---- HAProxy takes out a host whose /health fails, and brings it back. A
# paused worker: host3's heartbeat goes stale (health_heartbeat_max 3 s).
w3=$(cat "${HOST_WORKER_PIDFILE[3]}")
kill -STOP "$w3"
check "host3's /health fails with its worker paused" bash -c \
	"for _ in \$(seq 100); do [ \"\$(curl -s -o /dev/null -w '%{http_code}' '${HOST_BASE[3]}/health')\" = 503 ] && exit 0; sleep 0.1; done; exit 1"
check "HAProxy: host3 DOWN" lb_wait host3 '^DOWN' 15
check "HAProxy's log says why" grep -q 'lightchat_hosts/host3 is DOWN, reason: Layer7 wrong status, code: 503' "$LB_LOG"
n0=$(grep -c '"GET /api/me ' "$LB_LOG")
good=0
for _ in $(seq 6); do [ "$(me "$J" "$LB_BASE")" = 200 ] && good=$((good + 1)); done
assert_eq "through the balancer meanwhile: all 200" "$good" "6"
assert_eq "... none from host3" "$(grep '"GET /api/me ' "$LB_LOG" | tail -n +$((n0 + 1)) | grep -c 'lightchat_hosts/host3')" "0"
assert_eq "host1 and host2 still UP" "$(lb_status host1) $(lb_status host2)" "UP UP"
kill -CONT "$w3"
check "HAProxy: host3 UP again once its worker goes on" lb_wait host3 '^UP' 20

# ---- PostgreSQL stopped mid-run: clear errors meanwhile; started again, the
# same processes serve (no restart).
pids_before=$(for i in 1 2 3; do echo "${HOST_PID[i]} $(cat "${HOST_WORKER_PIDFILE[i]}")"; done)
pg_ctl_stop
assert_eq "PostgreSQL is down" "$("$PG_BIN/pg_isready" -q -h "$PG_SOCK" -p "$PG_PORT"; echo $?)" "2"
st=$(code -b "$J" "${HOST_BASE[1]}/api/conversations")
check "host1: the REST API answers 5xx ($st)" test "${st:0:1}" = 5
assert_eq "... storage_error" "$(jq -r .error.code "$MH/out" 2>/dev/null)" "storage_error"
out=$(WSOPTS="--timeout 20" on 2 ws "$J" "$(cprompt down 'while the database is down')" 2>/dev/null)
got=$(final "$out" | jq -r .error.code 2>/dev/null) || got=$out
# The /ws authorizer cannot check the session: 503 (storage_error), not
# 401: the login did not end.
assert_eq "host2: a WebSocket meanwhile: refused 503, not 401" "$got" "HTTP 503"
assert_eq "host3: /health 503" "$(curl -s -o "$MH/out" -w '%{http_code}' "${HOST_BASE[3]}/health")" "503"
check "... naming the database" test "$(jq -r .database "$MH/out")" != ok
check "HAProxy: host1 DOWN (its check writes to the database)" lb_wait host1 '^DOWN' 15
pg_ctl_start
check "PostgreSQL is back" "$PG_BIN/pg_isready" -q -h "$PG_SOCK" -p "$PG_PORT"
back() {  # I: host I's REST API answers 200 again (10 s)
	for _ in $(seq 100); do
		[ "$(code -b "$J" "${HOST_BASE[$1]}/api/conversations")" = 200 ] && return 0
		sleep 0.1
	done
	return 1
}
for i in 1 2 3; do check "host$i: the REST API serves again" back "$i"; done
out=$(on 2 ws "$J" "$(cprompt up 'after the restart')")
assert_eq "host2: a prompt is answered again" "$(final "$out" | jq -r .text.content)" "You said: after the restart"
C4=$(printf '%s\n' "$out" | jq -r 'select(.type=="start") | .conversation_id' | head -1)
assert_eq "... and stored" "$(stored "$C4")" "complete"
assert_eq "host3: a login again" "$(login_on 3 bob "$PW_bob" "$MH/jb4")" "200"
for i in 1 2 3; do check "HAProxy: host$i UP again" lb_wait "host$i" '^UP' 20; done
assert_eq "the same processes (no host or worker restarted)" \
	"$(for i in 1 2 3; do echo "${HOST_PID[i]} $(cat "${HOST_WORKER_PIDFILE[i]}")"; done)" "$pids_before"

mh_stop
trap - EXIT
finish
