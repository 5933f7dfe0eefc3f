#!/usr/bin/env bash
# deps.sh - install the Debian packages (and, for the tests, the npm package)
# that lightchat needs, when missing. Safe to run again: it only installs what
# is not there, and does nothing (in well under a second) when all is.
#   scripts/deps.sh run   what building and running need (make run)
#   scripts/deps.sh all   that, and what the tests, fuzzers and benchmark
#                         need (make test, make deps)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WHAT=${1:-all}
case "$WHAT" in run | all) ;; *) echo "usage: $0 [run|all]" >&2; exit 2 ;; esac

# Build: compiler, libraries, musl-tools (lightchat-ws is linked with musl:
# Makefile WS_LIBC). Run: lighttpd, websocketd, the JavaScript
# libraries the page loads, python3 for the demo model and the shell client,
# iproute2 (ip) to bring up loopback in the private network namespace, libpq
# (the PostgreSQL backend of the store: database = postgresql://...).
RUN_PACKAGES=(
	build-essential pkg-config musl-tools
	libfcgi-dev libcjson-dev libjwt-dev libzmq3-dev libcurl4-openssl-dev
	libsqlite3-dev libpq-dev libcrypt-dev libssl-dev
	lighttpd websocketd
	libjs-marked libjs-highlight.js node-dompurify libjs-katex
	python3 iproute2
)
# Tests and tools: curl, jq, htpasswd, mkpasswd, chromium and node for the
# browser tests, tmux for the console test, nftables for the per-address
# connection cap (test-slowloris), poppler-utils (pdftotext: PDF
# attachments, test-attachments), clang with libFuzzer (make fuzz),
# valgrind, wrk for the benchmark, prometheus for promtool (test-health
# checks /metrics with promtool check metrics); debhelper, dpkg-dev,
# devscripts, fakeroot and lintian for make deb, debootstrap for the
# package test (tests/pkg/test-deb.sh, which caches its root with zstd);
# postgresql-15 for the tests' own PostgreSQL servers (tests/e2e/pg.sh runs
# initdb and pg_ctl from /usr/lib/postgresql/15/bin on a private data
# directory; the Debian cluster the package makes is not used) and haproxy,
# the load balancer of the multi-host suite (tests/e2e/multihost.sh, with
# conf/haproxy.cfg).
TEST_PACKAGES=(
	curl jq apache2-utils whois procps tmux nftables
	poppler-utils
	chromium
	clang libclang-rt-14-dev valgrind wrk
	prometheus debhelper dpkg-dev devscripts fakeroot lintian debootstrap zstd
	postgresql-15 haproxy
)

want=("${RUN_PACKAGES[@]}")
[ "$WHAT" = all ] && want+=("${TEST_PACKAGES[@]}")

# One dpkg-query for all of them: the packages installed, by name.
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${want[@]}" 2>/dev/null |
	awk '$NF == "installed" {print $1}' || true)
missing=()
for p in "${want[@]}"; do
	grep -qxF "$p" <<<"$installed" || missing+=("$p")
done

# Node.js and npm may come from elsewhere than Debian (a newer build that
# bundles npm): only ask Debian for them when the commands are missing.
if [ "$WHAT" = all ]; then
	command -v node >/dev/null || missing+=(nodejs)
	command -v npm >/dev/null || missing+=(npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}" >&2
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
	# Debian's lighttpd package starts the system lighttpd (port 80): it may
	# serve someone's sites, and stays as it is. make run starts a lighttpd
	# of its own, with its own configuration and port (8080), and says so
	# when that port is taken (scripts/run.sh).
fi

# playwright-core drives Debian's chromium in the browser tests (no browser
# download: it uses /usr/bin/chromium).
if [ "$WHAT" = all ] && [ ! -d "$ROOT/tests/browser/node_modules/playwright-core" ]; then
	echo "deps: installing playwright-core for the browser tests" >&2
	(cd "$ROOT/tests/browser" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
