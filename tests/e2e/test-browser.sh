#!/usr/bin/env bash
# test-browser.sh - the web page in Debian's chromium (playwright-core)
# against the real stack; screenshots in tests/artifacts/. The scripts share
# one stack; sidebar.mjs runs as bob, so that his conversation list is its
# own; quota.mjs sets alice's quota with lightchat-admin (and back);
# paging.mjs writes a long conversation into the database; resume.mjs and
# session.mjs kill the worker (and websocketd), so they run last.
. "$(dirname "$0")/lib.sh"
if [ ! -x /usr/bin/chromium ] || [ ! -d "$ROOT/tests/browser/node_modules/playwright-core" ]; then
	not_ok "browser test prerequisites (run make deps)"
	finish
fi
stack_start || finish
mkdir -p "$ROOT/tests/artifacts"
for t in chat controls sidebar quota paging resume session; do
	echo "# $t.mjs"
	u=alice pw=$PW_alice
	[ "$t" = sidebar ] && u=bob pw=$PW_bob
	node "$ROOT/tests/browser/$t.mjs" "$BASE" "$u" "$pw" "$ROOT/tests/artifacts" \
		"$UP" "$T/state" || FAILED=$((FAILED + 1))
done
stack_stop
finish
