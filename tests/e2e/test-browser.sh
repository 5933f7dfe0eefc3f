#!/usr/bin/env bash
# test-browser.sh - the web page in Debian's chromium (playwright-core)
# against the real stack; screenshots in tests/artifacts/. The scripts share
# one stack; sidebar.mjs runs as bob, so that his conversation list is its
# own; quota.mjs sets alice's quota with lightchat-admin (and back);
# paging.mjs writes a long conversation into the database; resume.mjs and
# session.mjs kill the worker (and websocketd), so they run last.
# thinking.mjs, attachments.mjs, usage.mjs and app.mjs (it stops lighttpd) run on stacks of
# their own (below). BROWSER_TESTS="chat thinking" runs only those.
. "$(dirname "$0")/lib.sh"
if [ ! -x /usr/bin/chromium ] || [ ! -d "$ROOT/tests/browser/node_modules/playwright-core" ]; then
	not_ok "browser test prerequisites (run make deps)"
	finish
fi
ONLY=" ${BROWSER_TESTS:-chat math controls sidebar quota paging versions resume session thinking attachments usage app} "
mkdir -p "$ROOT/tests/artifacts"
# run NAME...: each script against the running stack.
run() {
	for t in "$@"; do
		[[ "$ONLY" == *" $t "* ]] || continue
		echo "# $t.mjs"
		u=alice pw=$PW_alice
		[ "$t" = sidebar ] && u=bob pw=$PW_bob
		node "$ROOT/tests/browser/$t.mjs" "$BASE" "$u" "$pw" "$ROOT/tests/artifacts" \
			"$UP" "$T/state" || FAILED=$((FAILED + 1))
	done
}
if [[ "$ONLY" =~ \ (chat|math|controls|sidebar|quota|paging|versions|resume|session)\  ]]; then
	stack_start || finish
	run chat math controls sidebar quota paging versions resume session
	stack_stop
fi
# thinking.mjs: a reasoning model (o4-mini) on offer, and a second upstream
# whose model listing fails (nothing listens at its address).
if [[ "$ONLY" == *" thinking "* ]]; then
	C=$(mktemp -d /tmp/lightchat-browser.XXXXXX)
	printf '[upstream ollama]\nlabel = Ollama\nbase_url = http://127.0.0.1:%s/v1\nmodels = llama3.2:1b\ndiscover = true\n' \
		"$(free_port)" >"$C/lightchat.conf"
	if stack_start LIGHTCHAT_CONFIG="$C/lightchat.conf" LIGHTCHAT_MODELS=gpt-4o-mini,o4-mini; then
		run thinking
		stack_stop
	fi
	rm -rf "$C"
fi
# attachments.mjs: a vision model (gpt-4o-mini) and a text-only one (o3-mini:
# images false in the built-in model table).
if [[ "$ONLY" == *" attachments "* ]]; then
	if stack_start LIGHTCHAT_MODELS=gpt-4o-mini,o3-mini; then
		run attachments
		stack_stop
	fi
fi
# usage.mjs: a monthly budget of 250 tokens for everyone, gpt-4o-mini priced.
if [[ "$ONLY" == *" usage "* ]]; then
	C=$(mktemp -d /tmp/lightchat-browser.XXXXXX)
	printf '[model gpt-4o-mini]\nprice_input = 2.50\nprice_output = 10.00\n' >"$C/lightchat.conf"
	if stack_start LIGHTCHAT_CONFIG="$C/lightchat.conf" LIGHTCHAT_MODELS=gpt-4o-mini \
		LIGHTCHAT_BUDGET_MONTH_TOKENS=250; then
		run usage
		stack_stop
	fi
	rm -rf "$C"
fi
# app.mjs: stops its stack's lighttpd at the end (the offline screen), so it has a
# stack of its own, last.
if [[ "$ONLY" == *" app "* ]]; then
	if stack_start; then
		run app
		stack_stop
	fi
fi
finish
