#!/usr/bin/env bash
# test-slow.sh - a reply that takes longer than 30 s (the limit that broke the
# seed) arrives whole, through lighttpd's idle limits and the worker's
# timeouts, with the client sending heartbeats like the page does.
. "$(dirname "$0")/lib.sh"
stack_start || finish
J=$T/jar
login alice "$PW_alice" "$J" >/dev/null

start=$(date +%s)
out=$(WSOPTS="--timeout 90 --ping-interval 10" ws "$J" "$(prompt slow '#words:40 #slow:33' '{"stream":true}')")
elapsed=$(( $(date +%s) - start ))
fin=$(printf '%s\n' "$out" | grep -v '"type":"pong"' | tail -1)
check "slow reply: took longer than 30 s ($elapsed s)" test "$elapsed" -ge 31
assert_eq "slow reply: final frame is a reply" "$(jq -r .type <<<"$fin")" "reply"
assert_eq "slow reply: all 40 words arrived" "$(jq -r '.text.content | split(" ") | length' <<<"$fin")" "40"
deltas=$(printf '%s\n' "$out" | jq -rj 'select(.type=="delta") | .delta')
assert_eq "slow reply: deltas add up" "$deltas" "$(jq -r .text.content <<<"$fin")"

stack_stop
finish
