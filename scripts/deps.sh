#!/usr/bin/env bash
# deps.sh - install the Debian packages (and the npm package for the browser
# tests) that lightchat needs, when missing. Safe to run again: it only
# installs what is not there.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)

# Build: compiler, libraries. Run: lighttpd, websocketd, the vendored
# JavaScript libraries. Tests and tools: curl, jq, python3, htpasswd,
# mkpasswd, tmux (Ctrl-C of `make run`), chromium and node for the browser
# tests, clang with libFuzzer
# (make fuzz) and valgrind.
PACKAGES=(
	build-essential pkg-config
	libfcgi-dev libcjson-dev libjwt-dev libzmq3-dev libcurl4-openssl-dev
	libsqlite3-dev libcrypt-dev
	lighttpd websocketd
	libjs-marked libjs-highlight.js node-dompurify
	curl jq python3 apache2-utils whois procps tmux
	chromium
	clang libclang-rt-14-dev valgrind wrk
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done

# Node.js and npm may come from elsewhere than Debian (a newer build that
# bundles npm): only ask Debian for them when the commands are missing.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}" >&2
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
	# Debian's lighttpd package starts a system lighttpd on port 80; lightchat
	# runs its own instances and does not need it.
	if command -v systemctl >/dev/null && systemctl is-active -q lighttpd 2>/dev/null; then
		$SUDO systemctl disable --now lighttpd >/dev/null 2>&1 || true
	fi
fi

# playwright-core drives Debian's chromium in the browser tests (no browser
# download: it uses /usr/bin/chromium).
if [ ! -d "$ROOT/tests/browser/node_modules/playwright-core" ]; then
	echo "deps: installing playwright-core for the browser tests" >&2
	(cd "$ROOT/tests/browser" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
