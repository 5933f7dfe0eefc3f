#!/usr/bin/env bash
# export-login.sh - issue 12's "a large response never holds up logins":
# times logins and /ws authorizations while big exports stream, and the
# FastCGI processes' peak RSS. A figure for docs/ARCHITECTURE.md, not a test
# (timings depend on the machine). Run from a built checkout:
#   bash bench/export-login.sh [MESSAGES [KIND]]   (default 30 ctl)
# KIND: plain (1 MiB of "M" a message) or ctl (1 MiB of U+0001, which cJSON
# writes six times over: stored before issue 12 refused control characters).
. "$(dirname "$0")/../tests/e2e/lib.sh"
N=${1:-30}
KIND=${2:-ctl}
stack_start || exit 1
login alice "$PW_alice" "$T/jar" >/dev/null
CID=$("$PY" - "$T/state/lightchat.db" "$N" "$KIND" <<'PYEOF'
import os, sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], timeout=10)
n, kind = int(sys.argv[2]), sys.argv[3]
cid = os.urandom(16).hex()
now = int(time.time() * 1000)
c.execute("INSERT INTO conversations (id, user, title, model, system_prompt, created_at,"
          " updated_at) VALUES (?,?,?,?,?,?,?)", (cid, "alice", "big", "m", "", now, now))
body = ("\x01" if kind == "ctl" else "M") * 1048576
parent = None
for i in range(n):
    # One branch (schema v9): each message follows the one before it.
    parent = c.execute("INSERT INTO messages (conversation_id, role, content, state, model, created_at,"
              " updated_at, parent_id) VALUES (?,?,?,?,?,?,?,?)", (cid, "user", body, "complete", "m", now,
              now, parent)).lastrowid
c.execute("UPDATE conversations SET current_leaf = ? WHERE id = ?", (parent, cid))
c.commit()
print(cid)
PYEOF
)
fcgi() { for p in $(stack_procs); do [ "$(cat /proc/$p/comm)" = lightchat.fcgi ] && echo "$p"; done; }
# timed NAME CMD...: runs CMD 10 times 0.2 s apart; prints the median and max
# of its seconds.
timed() {
	local name=$1; shift
	for _ in $(seq 10); do "$@"; sleep 0.2; done | sort -n |
		awk -v n="$name" '{a[NR]=$1} END {printf "%-28s median %.3f s  max %.3f s\n", n, a[int((NR+1)/2)], a[NR]}'
}
t_login() {
	curl -s -o /dev/null -w '%{time_total}\n' -H 'Content-Type: application/json' \
		-d "{\"username\":\"bob\",\"password\":\"$PW_bob\"}" "$BASE/login"
}
t_auth() {  # the authorizer's answer: the time to the 101 (none in 5 s: 5)
	curl -s -o /dev/null -w '%{http_code} %{time_starttransfer}\n' --max-time 5 \
		-b "$T/jar" -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
		-H 'Sec-WebSocket-Version: 13' \
		-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$BASE/ws" |
		awk '{print $1 == "101" ? $2 : 5}'
}
echo "# $N messages of 1 MiB ($KIND); FastCGI processes: $(fcgi | wc -l)"
timed "login, idle" t_login
timed "authorization, idle" t_auth
for p in $(fcgi); do echo 5 >"/proc/$p/clear_refs"; done
s=$(date +%s.%N)
curl -s -b "$T/jar" -o "$T/one.json" "$BASE/api/conversations/$CID/export?format=json"
echo "one export: $(stat -c %s "$T/one.json") bytes in $(echo "$(date +%s.%N) - $s" | bc) s"
# Two exports back to back without pause, over and over, while timing.
( while :; do curl -s -b "$T/jar" -o /dev/null "$BASE/api/conversations/$CID/export?format=json"; done ) &
L1=$!
( while :; do curl -s -b "$T/jar" -o /dev/null "$BASE/api/conversations/$CID/export?format=json"; done ) &
L2=$!
sleep 0.5
timed "login, during exports" t_login
timed "authorization, during exports" t_auth
kill "$L1" "$L2"; wait "$L1" "$L2" 2>/dev/null
peak=0
for p in $(fcgi); do
	kb=$(awk '/^VmHWM/ {print $2}' "/proc/$p/status")
	[ "${kb:-0}" -gt "$peak" ] && peak=$kb
done
echo "FastCGI peak RSS: $peak kB; processes now: $(fcgi | wc -l)"
stack_stop >/dev/null
