#!/usr/bin/env bash
# test-cluster.sh - the workers' link across hosts (worker/cluster.c): two
# hosts on one private PostgreSQL (tests/e2e/multihost.sh), each tab on its
# own host. A tab watching an idle conversation before the prompt gets idle,
# then the other host's reply from its start; a reply too long for one
# NOTIFY payload (its snapshot cut, escaped text) arrives whole; a stop sent
# on host2 stops host1's reply; SIGKILL of host1's worker: the reply is
# ended by host2 within the lease and host2's tab gets worker_unavailable;
# PostgreSQL restarted: the loss is logged once, the link comes back and
# carries replies again, with no process restarted.
. "$(dirname "$0")/multihost.sh"
trap '[ -n "$MH" ] && mh_stop' EXIT
mh_start 2 LIGHTCHAT_MAX_INFLIGHT_PER_USER=16 || finish

on() { local i=$1; shift; BASE=${HOST_BASE[i]} WS=${HOST_WS[i]} "$@"; }
cprompt() {  # MSGID TEXT [CONV]
	jq -cn --arg id "$1" --arg t "$2" --arg c "${3:-}" \
		'{action:"sendprompt",payload:({msgid:$id,prompt:$t,stream:true} +
		(if $c == "" then {} else {conversation_id:$c} end))}'
}
watch_msg() { jq -cn --arg c "$1" '{action:"watch",payload:{conversation_id:$c}}'; }
conv_of() { jq -r 'select(.type=="start") | .conversation_id' "$1" 2>/dev/null | head -1; }
content_of() { q "SELECT content FROM messages WHERE conversation_id = '$1' AND role = 'assistant' ORDER BY id DESC LIMIT 1"; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
# streaming FILE CONV: waits (10 s) for a delta of CONV in FILE.
streaming() { wait_for "$1" "\"conversation_id\":\"$2\",\"type\":\"delta\"" 10; }

assert_eq "alice logs in on host1" "$(on 1 login alice "$PW_alice" "$MH/j1")" "200"
assert_eq "alice logs in on host2" "$(on 2 login alice "$PW_alice" "$MH/j2")" "200"
for i in 1 2; do
	check "host$i: the cluster link is up" wait_for "${HOST_T[i]}/stack.log" \
		"cluster: connected, worker host$i listening" 10
done

# ---- Watching before the prompt: idle at once, then the reply from its start.
out=$(on 1 ws "$MH/j1" "$(cprompt c0 'a first prompt')")
C0=$(printf '%s\n' "$out" | jq -r 'select(.type=="start") | .conversation_id' | head -1)
check "host1: a conversation to watch ($C0)" test -n "$C0"
WSOPTS="--timeout 30 --until-final 1" on 2 ws "$MH/j2" "$(watch_msg "$C0")" >"$MH/w0.out" 2>"$MH/w0.err" &
wpid=$!
check "host2's tab: idle (no reply anywhere)" wait_for "$MH/w0.out" '"type":"idle"' 5
out=$(WSOPTS="--timeout 30" on 1 ws "$MH/j1" "$(cprompt c1 '#words:60 #slow:2 second' "$C0")")
wait "$wpid"
assert_eq "host2's tab: idle, then host1's reply from its start" \
	"$(jq -r .type "$MH/w0.out" | uniq | tr '\n' ' ')" "idle start delta reply "
assert_eq "host2's tab: the same final text" "$(tail -1 "$MH/w0.out" | jq -r .text.content)" \
	"$(final "$out" | jq -r .text.content)"
assert_eq "host2's tab: its deltas make the reply" "$(jq -rj 'select(.type=="delta") | .delta' "$MH/w0.out")" \
	"$(content_of "$C0")"

# ---- A reply longer than a NOTIFY payload, of text that escapes 4x in one:
# the snapshot is cut to fit, the rest follows as deltas, the final frame
# goes without its text; the tab builds the whole reply.
WSOPTS="--timeout 40 --until-final 1" on 1 ws "$MH/j1" "$(cprompt big '#quotes:24 #slow:4 big')" >"$MH/a1.out" 2>"$MH/a1.err" &
apid=$!
check "host1: the long reply streams" wait_for "$MH/a1.out" '"type":"delta"' 10
C1=$(conv_of "$MH/a1.out")
sleep 1.5
WSOPTS="--timeout 40 --until-final 1" on 2 ws "$MH/j2" "$(watch_msg "$C1")" >"$MH/b1.out" 2>"$MH/b1.err"
wait "$apid"
snap=$(jq -rj 'select(.type=="snapshot") | .content' "$MH/b1.out")
deltas=$(jq -rj 'select(.type=="delta") | .delta' "$MH/b1.out")
whole=$(content_of "$C1")
check "host2's tab: a snapshot first" test "$(jq -r .type "$MH/b1.out" | head -1)" = snapshot
check "... of more than fits one payload (${#snap} bytes shown, cut)" test "${#snap}" -gt 1000
assert_eq "host2's tab: snapshot + deltas = the stored reply (${#whole} bytes)" "$snap$deltas" "$whole"
assert_eq "host2's tab: the final frame (finish_reason stop)" "$(tail -1 "$MH/b1.out" | jq -r '.type + " " + .finish_reason')" "reply stop"

# ---- A stop on host2 stops host1's reply.
WSOPTS="--timeout 40 --until-final 1" on 1 ws "$MH/j1" "$(cprompt st '#words:400 #slow:20 stop me')" >"$MH/a2.out" 2>"$MH/a2.err" &
apid=$!
check "host1: the reply to stop streams" wait_for "$MH/a2.out" '"type":"delta"' 10
C2=$(conv_of "$MH/a2.out")
t0=$(date +%s.%N)
WSOPTS="--timeout 15 --until-final 1" on 2 ws "$MH/j2" "$(watch_msg "$C2")" \
	"$(jq -cn --arg c "$C2" '{action:"stop",payload:{conversation_id:$c}}')" >"$MH/b2.out" 2>"$MH/b2.err"
wait "$apid"
secs=$(since "$t0")
assert_eq "host1's tab: stopped" "$(tail -1 "$MH/a2.out" | jq -r .finish_reason)" "stopped"
check "... at once ($secs s, not the reply's 20)" awk -v s="$secs" 'BEGIN { exit !(s < 5) }'
assert_eq "host2's tab: the stopped frame" "$(tail -1 "$MH/b2.out" | jq -r .finish_reason)" "stopped"
assert_eq "stored: stopped" "$(stored "$C2")" "stopped"
check "host1 logged the stop from host2" grep -q 'cluster: stop from worker host2 user=alice' "${HOST_T[1]}/stack.log"

# ---- SIGKILL of host1's worker (its supervisor paused: no restart).
WSOPTS="--timeout 60 --until-final 1" on 1 ws "$MH/j1" "$(cprompt kill '#words:400 #slow:30 kill me')" >"$MH/a3.out" 2>"$MH/a3.err" &
apid=$!
check "host1: the reply to kill streams" wait_for "$MH/a3.out" '"type":"delta"' 10
C3=$(conv_of "$MH/a3.out")
WSOPTS="--timeout 40 --until-final 1" on 2 ws "$MH/j2" "$(watch_msg "$C3")" >"$MH/b3.out" 2>"$MH/b3.err" &
bpid=$!
check "host2's tab follows it" streaming "$MH/b3.out" "$C3"
wpid=$(cat "${HOST_WORKER_PIDFILE[1]}")
kill -STOP "${HOST_PID[1]}"
kill -KILL "$wpid"
t0=$(date +%s.%N)
state=$(wait_stored "$C3" interrupted 15)
secs=$(since "$t0")
echo "# the killed worker's reply was ended after $secs s"
assert_eq "the killed worker's reply: interrupted" "$state" "interrupted"
check "... within lease + sweep, 8 s ($secs s)" awk -v s="$secs" 'BEGIN { exit !(s <= 8.5) }'
wait "$bpid"
assert_eq "host2's tab: worker_unavailable for that reply" \
	"$(tail -1 "$MH/b3.out" | jq -r '.type + " " + .error.code + " " + .msgid')" "error worker_unavailable kill"
check "host2 logged the end" grep -q "cluster: reply ended as interrupted (its worker stopped) user=alice conversation=$C3" "${HOST_T[2]}/stack.log"
kill -CONT "${HOST_PID[1]}"
kill "$apid" 2>/dev/null
wait "$apid" 2>/dev/null
for _ in $(seq 100); do
	[ "$(grep -c 'cluster: connected, worker host1' "${HOST_T[1]}/stack.log")" -ge 2 ] && break
	sleep 0.1
done
check "host1's restarted worker links again" test "$(grep -c 'cluster: connected, worker host1' "${HOST_T[1]}/stack.log")" -ge 2

# ---- PostgreSQL restarted: logged once, then the link carries replies again.
workers_before="$(cat "${HOST_WORKER_PIDFILE[1]}") $(cat "${HOST_WORKER_PIDFILE[2]}")"
pg_restart
check "host2: the loss is logged" wait_for "${HOST_T[2]}/stack.log" 'cluster: lost its connection to the database' 10
for i in 1 2; do
	for _ in $(seq 200); do
		[ "$(grep -c "cluster: connected, worker host$i" "${HOST_T[i]}/stack.log")" -ge $((i == 1 ? 3 : 2)) ] && break
		sleep 0.1
	done
done
check "host2: linked again" test "$(grep -c 'cluster: connected, worker host2' "${HOST_T[2]}/stack.log")" -ge 2
assert_eq "host2: the loss logged once" "$(grep -c 'cluster: lost its connection' "${HOST_T[2]}/stack.log")" "1"
check "no URL or password in the cluster's lines" bash -c "! grep 'cluster:' '${HOST_T[1]}/stack.log' '${HOST_T[2]}/stack.log' | grep -q 'postgresql://'"
WSOPTS="--timeout 40 --until-final 1" on 1 ws "$MH/j1" "$(cprompt again '#words:200 #slow:4 again')" >"$MH/a4.out" 2>"$MH/a4.err" &
apid=$!
check "host1: a reply after the restart" wait_for "$MH/a4.out" '"type":"delta"' 15
C4=$(conv_of "$MH/a4.out")
WSOPTS="--timeout 40 --until-final 1" on 2 ws "$MH/j2" "$(watch_msg "$C4")" >"$MH/b4.out" 2>"$MH/b4.err"
wait "$apid"
assert_eq "host2's tab: snapshot + deltas = the stored reply, after the restart" \
	"$(jq -rj 'select(.type=="snapshot") | .content' "$MH/b4.out")$(jq -rj 'select(.type=="delta") | .delta' "$MH/b4.out")" \
	"$(content_of "$C4")"
assert_eq "the same workers (none restarted by the outage)" \
	"$(cat "${HOST_WORKER_PIDFILE[1]}") $(cat "${HOST_WORKER_PIDFILE[2]}")" "$workers_before"
finish
