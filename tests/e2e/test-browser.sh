#!/usr/bin/env bash
# test-browser.sh - the web page in Debian's chromium (playwright-core)
# against the real stack; screenshots in tests/artifacts/. The scripts share
# one stack; session.mjs kills websocketd and the worker, so it runs last.
. "$(dirname "$0")/lib.sh"
if [ ! -x /usr/bin/chromium ] || [ ! -d "$ROOT/tests/browser/node_modules/playwright-core" ]; then
	not_ok "browser test prerequisites (run make deps)"
	finish
fi
stack_start || finish
mkdir -p "$ROOT/tests/artifacts"
for t in chat controls session; do
	echo "# $t.mjs"
	node "$ROOT/tests/browser/$t.mjs" "$BASE" alice "$PW_alice" "$ROOT/tests/artifacts" \
		"$UP" "$T/state" || FAILED=$((FAILED + 1))
done
stack_stop
finish
