#!/usr/bin/env bash
# test-browser.sh - the web page in Debian's chromium (playwright-core)
# against the real stack; screenshots in tests/artifacts/.
. "$(dirname "$0")/lib.sh"
if [ ! -x /usr/bin/chromium ] || [ ! -d "$ROOT/tests/browser/node_modules/playwright-core" ]; then
	not_ok "browser test prerequisites (run make deps)"
	finish
fi
stack_start || finish
mkdir -p "$ROOT/tests/artifacts"
node "$ROOT/tests/browser/chat.mjs" "$BASE" alice "$PW_alice" "$ROOT/tests/artifacts" || FAILED=$((FAILED + 1))
stack_stop
finish
