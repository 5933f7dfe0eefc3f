#!/usr/bin/env bash
# test-deb.sh - the Debian package, tested as installed: builds it (make
# deb), runs lintian (an error fails), and installs it with apt into a fresh
# Debian 12 root (debootstrap, minbase) to check the files at their FHS
# paths, the lightchat user, the key, and what installing enables (only
# lightchat.target; nothing in the system lighttpd). Then it runs it for
# real: the services started as their installed units say (user,
# environment, directories, the fcgi@ sockets: tests/pkg/unitrun.py, there
# being no systemd in the root) and the root's own lighttpd with the snippet
# enabled by lighty-enable-mod, on a test port, in front of
# tests/fake_upstream.py: a login, the page, a prompt over /chat/ws,
# lightchat-admin check, /chat/health (503 while the worker is stopped),
# /chat/metrics, the privilege map (each process's user; what www-data may
# read and connect to), Debian's default page still at /, and an upgrade to
# a second build with a reply in flight (the worker drains) that keeps
# users, key and conversations; then a remove that keeps the data, and a
# purge that leaves no file of lightchat's and no user. Prints TAP lines.
#
# The root is cached in /var/cache/lightchat-tests/ (LIGHTCHAT_PKG_CACHE), a
# tarball keyed by the packages it holds (the package's Depends): a cold run
# downloads them from the mirror this host's apt uses
# (/etc/apt/sources.list*), a warm one unpacks the tarball. Every command in
# the root runs in a mount namespace of its own (its /proc and /dev vanish
# with it), and a policy-rc.d there refuses every service start. Needs root.
#   bash tests/pkg/test-deb.sh        (tests/run.sh pkg)
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
SUITE=bookworm
CACHE=${LIGHTCHAT_PKG_CACHE:-/var/cache/lightchat-tests}
BUILD=${BUILD:-build}
[ "$BUILD" = build-asan ] && BUILD=build   # the package is never a sanitizer build
PY=/usr/bin/python3   # the system's: run as the lightchat user below
API_KEY="test-upstream-key-0123456789"
FAILED=0
T0=$SECONDS

ok() { printf 'ok - %s\n' "$1"; }
not_ok() {
	FAILED=$((FAILED + 1))
	printf 'not ok - %s\n' "$1"
	[ $# -gt 1 ] && printf '#   %s\n' "${@:2}" | cut -c1-400
	return 0
}
# check NAME COMMAND...: passes when the command succeeds (its output goes
# to stderr, the log).
check() { local n=$1; shift; if "$@" >&2; then ok "$n"; else not_ok "$n" "failed: $*"; fi; }
assert_eq() {
	if [ "$2" == "$3" ]; then ok "$1"; else not_ok "$1" "got:  $2" "want: $3"; fi
}
note() { printf '# %s (%ds)\n' "$*" $((SECONDS - T0)); }

if [ "$(id -u)" -ne 0 ]; then
	printf 'skip - the package test needs root (debootstrap, chroot)\n'
	exit 0
fi
for tool in dpkg-buildpackage dh lintian debootstrap unshare zstd; do
	if ! command -v "$tool" >/dev/null; then
		printf 'skip - %s is not installed (make deps)\n' "$tool"
		exit 0
	fi
done

W=$(mktemp -d /var/tmp/lightchat-pkgtest.XXXXXX)
chmod 755 "$W"   # the lightchat user of the root reaches its database below
R="$W/root"
# cleanup: no mount of the root may be left (the commands ran in namespaces
# of their own: there should be none) before it is deleted.
cleanup() {
	local m
	for m in $(findmnt -rn -o TARGET | grep -F "$R" | sort -r); do umount -l "$m" 2>/dev/null; done
	if findmnt -rn -o TARGET | grep -qF "$R"; then
		printf '# %s still has mounts: left in place\n' "$R" >&2
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# in_root CMD...: runs CMD in the root with a clean environment, /proc and
# /dev mounted in a private mount namespace.
in_root() {
	unshare --mount --propagation private -- sh -c '
		r=$1; shift
		mount -t proc proc "$r/proc" && mount --rbind /dev "$r/dev" || exit 125
		exec chroot "$r" "$@"' sh "$R" \
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root \
		DEBIAN_FRONTEND=noninteractive "$@"
}

# --- the package, twice (the second a higher version, for the upgrade) ---
note "building the package"
export DEB_BUILD_OPTIONS=nocheck   # the unit tests run in tests/run.sh unit
if make -s deb BUILD="$BUILD" >"$W/deb1.log" 2>&1; then
	ok "make deb builds the package"
else
	not_ok "make deb builds the package" "$(tail -5 "$W/deb1.log")"
	exit 1
fi
V1=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
ARCH=$(dpkg --print-architecture)
DEB1="$BUILD/lightchat_${V1}_${ARCH}.deb"
check "make deb leaves $DEB1" test -s "$DEB1"
cp "$DEB1" "$W/v1.deb"
if lintian --fail-on error "$BUILD"/deb/lightchat_*.changes >"$W/lintian.log" 2>&1; then
	ok "lintian: no error"
else
	not_ok "lintian: no error" "$(grep '^E:' "$W/lintian.log" | head -5)"
fi
grep -E '^[WE]:' "$W/lintian.log" | sed 's/^/# lintian /'

V2="$V1+pkgtest1"
if make -s deb BUILD="$BUILD" DEB_VERSION="$V2" >"$W/deb2.log" 2>&1 &&
	cp "$BUILD/lightchat_${V2}_${ARCH}.deb" "$W/v2.deb"; then
	ok "make deb DEB_VERSION=$V2 builds a second version"
else
	not_ok "make deb DEB_VERSION=$V2 builds a second version" "$(tail -5 "$W/deb2.log")"
fi
rm -f "$BUILD/lightchat_${V2}_${ARCH}.deb"

# --- the Debian root: cached, keyed by the packages it holds ---
# The package's Depends (first of each alternative, versions dropped): with
# them in the root, apt installs the .deb without a download.
PKGS=$({ dpkg-deb -f "$W/v1.deb" Depends; dpkg-deb -f "$W/v1.deb" Pre-Depends; } | tr ',' '\n' |
	sed -e 's/|.*//' -e 's/(.*)//' -e 's/:any//' -e 's/[[:space:]]//g' | grep . | sort -u | tr '\n' ',')
PKGS=${PKGS%,}
KEY=$(printf '%s minbase %s\n' "$SUITE" "$PKGS" | sha256sum | cut -c1-16)
TARBALL="$CACHE/debian-$SUITE-$KEY.tar.zst"
mirror() {
	local m=""
	if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
		m=$(awk -v suite="$SUITE" 'BEGIN { RS = "" }
			$0 ~ "Types:[^\n]*deb([ \t]|\n|$)" && $0 ~ "Suites:[^\n]*[ \t]" suite "([ \t]|\n|$)" {
				if (match($0, /URIs:[ \t]*[^ \t\n]+/)) {
					u = substr($0, RSTART, RLENGTH); sub(/URIs:[ \t]*/, "", u); print u; exit
				}
			}' /etc/apt/sources.list.d/*.sources)
	fi
	if [ -z "$m" ]; then
		m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			awk -v suite="$SUITE" '$1 == "deb" { for (i = 2; i < NF; i++) if ($i ~ /^[a-z]+:\/\// && $(i + 1) == suite) { print $i; exit } }')
	fi
	printf '%s\n' "$m"
}
mkdir -p "$R"
if [ -s "$TARBALL" ]; then
	note "unpacking the cached root $TARBALL"
	check "the cached Debian $SUITE root unpacks" tar --zstd -xpf "$TARBALL" -C "$R" --numeric-owner
else
	MIRROR=$(mirror)
	note "debootstrap $SUITE from ${MIRROR:-?} (cold: no $TARBALL)"
	if [ -z "$MIRROR" ]; then
		not_ok "a Debian mirror in /etc/apt/sources.list*"
		exit 1
	fi
	# --foreign, then the second stage with policy-rc.d in place: no
	# package's postinst (lighttpd's) starts a service on this host.
	if debootstrap --variant=minbase --foreign --include="$PKGS" "$SUITE" "$R" "$MIRROR" >"$W/debootstrap.log" 2>&1 &&
		printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d" && chmod 755 "$R/usr/sbin/policy-rc.d" &&
		unshare --mount --propagation private -- chroot "$R" /debootstrap/debootstrap --second-stage >>"$W/debootstrap.log" 2>&1; then
		ok "debootstrap makes a Debian $SUITE root"
		in_root apt-get clean
		mkdir -p "$CACHE"
		tar --zstd -cpf "$TARBALL.tmp.$$" -C "$R" --numeric-owner . && mv "$TARBALL.tmp.$$" "$TARBALL" ||
			rm -f "$TARBALL.tmp.$$"
	else
		not_ok "debootstrap makes a Debian $SUITE root" "$(tail -5 "$W/debootstrap.log")"
		exit 1
	fi
fi
# debootstrap removes its own policy-rc.d when it is done: this one stays
# for the whole test (and is in the snapshot below).
printf '#!/bin/sh\n# lightchat package test: no service starts here\nexit 101\n' >"$R/usr/sbin/policy-rc.d" &&
	chmod 755 "$R/usr/sbin/policy-rc.d"
if in_root /usr/sbin/policy-rc.d lighttpd start; [ $? -eq 101 ]; then
	ok "the root refuses service starts (policy-rc.d)"
else
	not_ok "the root refuses service starts (policy-rc.d)"
fi

# snapshot: every path of the root but the package system's own records,
# logs and caches (and adduser's lock, /run/adduser, which any adduser call
# leaves: /run is emptied at boot).
snapshot() {
	(cd "$R" && find . -xdev \( -path ./proc -o -path ./dev -o -path ./sys -o -path ./tmp \
		-o -path ./var/log -o -path ./var/cache -o -path ./var/lib/dpkg -o -path ./var/lib/apt \
		-o -path ./run/adduser \) -prune -o -print) |
		sort
}
snapshot >"$W/before"
ls "$R/etc/lighttpd/conf-enabled" >"$W/conf-enabled.pkg"

# --- install ---
note "installing $V1"
cp "$W/v1.deb" "$W/v2.deb" "$R/tmp/" 2>/dev/null
if in_root apt-get install -y --no-install-recommends /tmp/v1.deb >"$W/install.log" 2>&1; then
	ok "apt-get install ./lightchat_$V1.deb"
else
	not_ok "apt-get install ./lightchat_$V1.deb" "$(tail -5 "$W/install.log")"
	exit 1
fi
assert_eq "dpkg -s: installed" "$(in_root dpkg-query -W -f='${Status} ${Version}' lightchat)" \
	"install ok installed $V1"
if grep -q 'lightchat-admin user add NAME' "$W/install.log"; then
	ok "installing says how to add the first user"
else
	not_ok "installing says how to add the first user" "$(grep -i lightchat "$W/install.log" | tail -3)"
fi

for f in /usr/lib/lightchat/lightchat.fcgi /usr/lib/lightchat/lightchat-ws \
	/usr/lib/lightchat/lightchat-worker /usr/lib/lightchat/lightchat-admin; do
	check "$f is installed, executable" test -x "$R$f"
done
check "/usr/bin/lightchat-admin leads to /usr/lib/lightchat/lightchat-admin" \
	test "$(readlink "$R/usr/bin/lightchat-admin")" = ../lib/lightchat/lightchat-admin
check "the page is in /usr/share/lightchat/www" test -s "$R/usr/share/lightchat/www/index.html"
check "the page's scripts are in /usr/share/lightchat/www/js" test -s "$R/usr/share/lightchat/www/js/main.js"
for lib in /usr/share/javascript/marked/marked.min.js /usr/share/javascript/highlight.js/highlight.min.js \
	/usr/share/nodejs/dompurify/dist/purify.min.js; do
	check "the page's library $lib comes from Debian" test -s "$R$lib"
done
for m in man5/lightchat.conf.5.gz man7/lightchat.7.gz man8/lightchat-admin.8.gz; do
	check "man page /usr/share/man/$m" test -s "$R/usr/share/man/$m"
done
missing=$(in_root sh -c 'ldd /usr/lib/lightchat/* | grep "not found"')
assert_eq "every library the programs need is installed (Depends from shlibs)" "$missing" ""
conffiles=$(in_root dpkg-query -W -f='${Conffiles}\n' lightchat | awk 'NF { print $1 }')
assert_eq "/etc/lightchat/lightchat.conf is a conffile" \
	"$(grep -x /etc/lightchat/lightchat.conf <<<"$conffiles")" /etc/lightchat/lightchat.conf
assert_eq "the conffile is root:lightchat 0640 (it may hold the API key)" \
	"$(in_root stat -c '%U:%G %a' /etc/lightchat/lightchat.conf)" "root:lightchat 640"
if { cat conf/lightchat.conf.head; in_root /usr/lib/lightchat/lightchat-admin config --template; } |
	cmp -s - "$R/etc/lightchat/lightchat.conf"; then
	ok "the conffile is conf/lightchat.conf.head on the settings table's template"
else
	not_ok "the conffile is conf/lightchat.conf.head on the settings table's template"
fi
keys=$(in_root env LIGHTCHAT_CONFIG=/etc/lightchat/lightchat.conf /usr/lib/lightchat/lightchat-admin config | cut -d' ' -f1 | sort)
listed=$(sed -n 's/^#\([a-z_]*\) =.*/\1/p' "$R/etc/lightchat/lightchat.conf" | sort)
assert_eq "the conffile lists every key, commented out" "$listed" "$keys"
assert_eq "the conffile sets only what the units and the snippet need" \
	"$(grep -v -e '^#' -e '^$' "$R/etc/lightchat/lightchat.conf" | tr '\n' ';')" \
	"ws_port = 1011;url_prefix = /chat/;port = 80;worker_metrics_file = /run/lightchat/worker/worker.metrics;worker_models_file = /run/lightchat/worker/models.json;"
conf_of() { in_root env LIGHTCHAT_CONFIG=/etc/lightchat/lightchat.conf /usr/lib/lightchat/lightchat-admin config "$1"; }
assert_eq "the installed configuration agrees with the snippet (ws_port, url_prefix)" \
	"$(conf_of ws_port) $(conf_of url_prefix)" \
	"$(sed -n 's/^var.lightchat_ws_port *= *//p' "$R/etc/lighttpd/conf-available/50-lightchat.conf") $(sed -n 's/^var.lightchat_prefix *= *"\(.*\)"/\1/p' "$R/etc/lighttpd/conf-available/50-lightchat.conf")/"
check "lightchat-websocketd is installed, executable (lightchat-ws.service's ExecStart)" \
	test -x "$R/usr/lib/lightchat/lightchat-websocketd"
check "DEPLOY.md is installed (the units' Documentation=)" test -s "$R/usr/share/doc/lightchat/DEPLOY.md"
check "SCALING.md is installed" test -s "$R/usr/share/doc/lightchat/SCALING.md.gz" -o -s "$R/usr/share/doc/lightchat/SCALING.md"
check "the HAProxy example (conf/haproxy.cfg) is installed" bash -c "test -s \"$R/usr/share/doc/lightchat/haproxy.cfg\" || test -s \"$R/usr/share/doc/lightchat/haproxy.cfg.gz\""
for u in lightchat.target lightchat-worker.service lightchat-ws.service lightchat-fcgi@.service lightchat-fcgi@.socket; do
	check "unit $u is installed" test -s "$R/lib/systemd/system/$u"
done
enabled=$(cd "$R/etc/systemd/system" 2>/dev/null && find . -name '*lightchat*' | sort | tr '\n' ' ')
assert_eq "installing enables lightchat.target only" "$enabled" "./multi-user.target.wants/lightchat.target "
assert_eq "installing enables nothing of lightchat in the system lighttpd" \
	"$(ls "$R/etc/lighttpd/conf-enabled")" "$(cat "$W/conf-enabled.pkg")"
for step in 'lighty-enable-mod lightchat' 'systemctl reload lighttpd'; do
	if grep -qF "$step" "$W/install.log"; then
		ok "installing says: $step"
	else
		not_ok "installing says: $step"
	fi
done

assert_eq "system user lightchat: home /var/lib/lightchat, no login shell" \
	"$(in_root getent passwd lightchat | cut -d: -f6,7)" "/var/lib/lightchat:/usr/sbin/nologin"
uid=$(in_root id -u lightchat) gid=$(in_root id -g lightchat)
check "lightchat is a system user (uid $uid < 1000)" test "${uid:-1000}" -lt 1000
check "group lightchat exists" in_root getent group lightchat
assert_eq "/var/lib/lightchat is lightchat:lightchat 0700" \
	"$(in_root stat -c '%U:%G %a' /var/lib/lightchat)" "lightchat:lightchat 700"
assert_eq "the token key is lightchat's, 0600" \
	"$(in_root stat -c '%U:%G %a' /var/lib/lightchat/token.key)" "lightchat:lightchat 600"
check "no user was made at install (no password in apt's log)" test ! -e "$R/var/lib/lightchat/users"

# The first user, as the message says (root: the tool works as lightchat).
if printf 'secret-pw-1\n' | in_root lightchat-admin user add alice >&2; then
	ok "lightchat-admin user add alice (as root)"
else
	not_ok "lightchat-admin user add alice (as root)"
fi
assert_eq "the users file is lightchat's, 0600" \
	"$(in_root stat -c '%U:%G %a' /var/lib/lightchat/users)" "lightchat:lightchat 600"
check "lightchat-admin storage makes the database" in_root lightchat-admin storage
assert_eq "the database is lightchat's, 0600" \
	"$(in_root stat -c '%U:%G %a' /var/lib/lightchat/lightchat.db)" "lightchat:lightchat 600"
for f in token.key users lightchat.db /etc/lightchat/lightchat.conf; do
	[ "${f#/}" = "$f" ] && f=/var/lib/lightchat/$f
	if in_root runuser -u www-data -- cat "$f" >/dev/null 2>&1; then
		not_ok "www-data cannot read $f"
	else
		ok "www-data cannot read $f"
	fi
done

# A conversation, written as the lightchat user (the worker's tables).
if setpriv --reuid="$uid" --regid="$gid" --clear-groups "$PY" - "$R/var/lib/lightchat/lightchat.db" <<'EOF' >&2
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
now = int(time.time())
db.execute("INSERT INTO conversations (id, user, title, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
           ("c0nv-pkgtest", "alice", "kept across upgrades", now, now))
db.execute("INSERT INTO messages (conversation_id, role, content, state, created_at, updated_at)"
           " VALUES (?, 'user', 'hello', 'complete', ?, ?)", ("c0nv-pkgtest", now, now))
db.commit()
EOF
then ok "a conversation in the database"; else not_ok "a conversation in the database"; fi
sums() { (cd "$R/var/lib/lightchat" && sha256sum token.key users); }
SUMS=$(sums)

# --- the services, started as their installed units say ---
# There is no systemd in the root: tests/pkg/unitrun.py reads each unit
# (and its drop-ins) from the root and starts its command there, chroot'ed,
# as its User=/Group=, with its Environment=, UMask=, NoNewPrivileges=,
# AmbientCapabilities=, State/RuntimeDirectory= and, for the fcgi@
# instances, the .socket's socket as descriptor 0. The root's own lighttpd
# (Debian's package and lighttpd.conf, on a test port) serves it with the
# snippet enabled by lighty-enable-mod. Every process shares the host's
# loopback, and is started and stopped by its PID.
note "starting the services as their units say"
# (tests/e2e/lib.sh's free_port, which this file does not source)
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
declare -A SVC=()
# svc_start UNIT: the unit's process (by unitrun.py, in a mount namespace
# with the root's /proc and /dev) in the background; SVC[UNIT] its PID.
svc_start() {
	unshare --mount --propagation private -- sh -c '
		r=$1; shift
		mount -t proc proc "$r/proc" && mount --rbind /dev "$r/dev" || exit 125
		exec "$@"' sh "$R" "$PY" "$ROOT/tests/pkg/unitrun.py" --root "$R" "$1" >>"$W/svc-$1.log" 2>&1 &
	SVC[$1]=$!
}
# stop_pid PID [SECONDS]: SIGTERM (systemctl stop), SIGKILL after SECONDS
# (TimeoutStopSec=; 60). Returns 0 when it ended by the SIGTERM.
stop_pid() {
	local p=$1 n=$((${2:-60} * 10))
	kill -TERM "$p" 2>/dev/null || return 0
	while [ $n -gt 0 ] && kill -0 "$p" 2>/dev/null; do sleep 0.1; n=$((n - 1)); done
	if kill -0 "$p" 2>/dev/null; then kill -KILL "$p"; wait "$p" 2>/dev/null; return 1; fi
	wait "$p" 2>/dev/null
	return 0
}
svc_stop() { [ -n "${SVC[$1]:-}" ] && stop_pid "${SVC[$1]}" "${2:-60}"; local rc=$?; unset "SVC[$1]"; return $rc; }
UNITS="lightchat-worker.service lightchat-fcgi@auth.service lightchat-fcgi@api.service lightchat-ws.service"
# in_root_pids: every process whose root is the Debian root (none may be
# left at the end)
in_root_pids() {
	local d
	for d in /proc/[0-9]*; do
		[ "$(readlink "$d/root" 2>/dev/null)" = "$R" ] && printf '%s\n' "${d#/proc/}"
	done
}
stop_all() {
	local u p
	for u in "${!SVC[@]}"; do svc_stop "$u" 15; done
	[ -n "${LIGHTTPD:-}" ] && stop_pid "$LIGHTTPD" 10
	LIGHTTPD=""
	[ -n "${UP_PID:-}" ] && stop_pid "$UP_PID" 5
	UP_PID=""
	for p in $(in_root_pids); do kill -KILL "$p" 2>/dev/null; done
}
trap 'stop_all; cleanup' EXIT

"$PY" "$ROOT/tests/fake_upstream.py" --port 0 --port-file "$W/up.port" --api-key "$API_KEY" \
	--delay-ms 2 >"$W/upstream.log" 2>&1 &
UP_PID=$!
for _ in $(seq 100); do [ -s "$W/up.port" ] && break; sleep 0.05; done
PORT=$(free_port)
WS_PORT=$(free_port)
while [ "$WS_PORT" = "$PORT" ]; do WS_PORT=$(free_port); done
CHAT="http://127.0.0.1:$PORT/chat"

# What the admin does: the API key in a file of lightchat's, the upstream
# and the site's port in the conffile. The ports are free test ports: the
# snippet's and the conffile's ws_port move with them, and a drop-in lets
# lightchat-websocketd take one above 1024 (it refuses one otherwise).
printf '%s\n' "$API_KEY" >"$R/var/lib/lightchat/api.key"
chown "$uid:$gid" "$R/var/lib/lightchat/api.key" && chmod 600 "$R/var/lib/lightchat/api.key"
sed -i -e "s/^ws_port = .*/ws_port = $WS_PORT/" -e "s/^port = .*/port = $PORT/" "$R/etc/lightchat/lightchat.conf"
cat >>"$R/etc/lightchat/lightchat.conf" <<EOF
upstream_base_url = http://127.0.0.1:$(cat "$W/up.port")/v1
upstream_api_key_file = /var/lib/lightchat/api.key
EOF
sed -i "s/^var.lightchat_ws_port .*/var.lightchat_ws_port = $WS_PORT/" \
	"$R/etc/lighttpd/conf-available/50-lightchat.conf"
mkdir -p "$R/etc/systemd/system/lightchat-ws.service.d"
printf '[Service]\n# the package test: a free test port, above 1024\nEnvironment=LIGHTCHAT_WS_ANY_PORT=yes\n' \
	>"$R/etc/systemd/system/lightchat-ws.service.d/pkgtest.conf"
sed -i "s/^server.port .*/server.port = $PORT/" "$R/etc/lighttpd/lighttpd.conf"
ls "$R/etc/lighttpd/conf-enabled" >"$W/conf-enabled.before"
if in_root lighty-enable-mod lightchat >"$W/enable.log" 2>&1; then
	ok "lighty-enable-mod lightchat (in the root)"
else
	not_ok "lighty-enable-mod lightchat (in the root)" "$(tail -3 "$W/enable.log")"
fi
check "Debian's lighttpd.conf with lightchat enabled parses" in_root lighttpd -tt -f /etc/lighttpd/lighttpd.conf
# bob is this part's user (alice's conversation is the upgrade's check)
if printf 'secret-pw-2\n' | in_root lightchat-admin user add bob >&2; then
	ok "lightchat-admin user add bob (as root)"
else
	not_ok "lightchat-admin user add bob (as root)"
fi
SUMS=$(sums)

for u in $UNITS; do svc_start "$u"; done
unshare --mount --propagation private -- sh -c '
	mount -t proc proc "$1/proc" && mount --rbind /dev "$1/dev" || exit 125
	exec chroot "$1" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /usr/sbin/lighttpd -D -f /etc/lighttpd/lighttpd.conf' \
	sh "$R" >"$W/lighttpd.log" 2>&1 &
LIGHTTPD=$!
code() { curl -s -o /dev/null -m 10 -w '%{http_code}' "$@"; }
up=0
for _ in $(seq 100); do
	[ "$(code "$CHAT/health")" = 200 ] && grep -q "0100007F:$(printf '%04X' "$WS_PORT") 00000000:0000 0A" /proc/net/tcp &&
		{ up=1; break; }
	sleep 0.1
done
if [ $up -eq 1 ]; then
	ok "the services and the root's lighttpd start (GET /chat/health: 200)"
else
	not_ok "the services and the root's lighttpd start" "$(tail -n 3 "$W"/svc-*.log "$W/lighttpd.log" | tr '\n' ' ')"
fi
for u in $UNITS; do
	check "$u runs (PID ${SVC[$u]})" kill -0 "${SVC[$u]}"
done

# The site under /chat/, through the system lighttpd.
J=$W/jar
assert_eq "POST /chat/login (bob): 200" "$(code -c "$J" -H 'Content-Type: application/json' \
	-d '{"username":"bob","password":"secret-pw-2"}' "$CHAT/login")" "200"
page=$(curl -s "$CHAT/")
if grep -q 'src="js/main.js"' <<<"$page"; then ok "GET /chat/: the page"; else not_ok "GET /chat/: the page" "$(head -c 200 <<<"$page")"; fi
assert_eq "GET /chat/vendor/marked/marked.min.js (Debian's libjs-marked)" "$(code "$CHAT/vendor/marked/marked.min.js")" "200"
assert_eq "GET /chat/vendor/katex/katex.min.js (Debian's libjs-katex)" "$(code "$CHAT/vendor/katex/katex.min.js")" "200"
assert_eq "GET /chat/manifest.webmanifest: application/manifest+json" \
	"$(curl -s -o /dev/null -w '%{content_type}' "$CHAT/manifest.webmanifest")" "application/manifest+json"
assert_eq "GET /chat/sw.js: Service-Worker-Allowed is the prefix" \
	"$(curl -s -D - -o /dev/null "$CHAT/sw.js" | tr -d '\r' | awk -F': ' 'tolower($1) == "service-worker-allowed" {print $2}')" "/chat/"
prompt() {
	jq -cn --arg id "$1" --arg t "$2" '{action:"sendprompt",payload:{msgid:$id,messages:[{role:"user",content:$t}]}}'
}
WSURL="ws://127.0.0.1:$PORT/chat/ws"
CLIENT="$ROOT/tools/lightchat-client"
out=$("$PY" "$CLIENT" --timeout 20 --cookie-jar "$J" "$WSURL" "$(prompt pkg-1 'Hello package')" 2>&1)
assert_eq "a prompt over /chat/ws gets the upstream's reply" \
	"$(tail -1 <<<"$out" | jq -r '.text.content // empty' 2>/dev/null)" "You said: Hello package"
if in_root lightchat-admin check --user bob --url "$CHAT/" >"$W/check.log" 2>&1; then
	ok "lightchat-admin check --url $CHAT/ (in the root): exit 0"
else
	not_ok "lightchat-admin check --url $CHAT/ (in the root): exit 0" "$(tail -2 "$W/check.log")"
fi

# Debian's default page is still the host's /.
dflt=$R/var/www/html/index.lighttpd.html
if [ -s "$dflt" ]; then
	assert_eq "GET / is still Debian's default page, not lightchat's" \
		"$(curl -s "http://127.0.0.1:$PORT/" | sha256sum)" "$(sha256sum <"$dflt")"
else
	not_ok "Debian's default page $dflt is there"
fi
assert_eq "GET /login outside /chat/ is not lightchat's" "$(code -d '{}' "http://127.0.0.1:$PORT/login")" "404"

# /health and /metrics.
metric() { awk -v m="$1" '$1 == m {print $2}' "$W/metrics"; }
fetch_metrics() { curl -s -o "$W/metrics" -w '%{http_code}' "$CHAT/metrics"; }
wait_metric() {
	for _ in $(seq 50); do
		fetch_metrics >/dev/null
		[ "$(metric "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
assert_eq "GET /chat/health: 200" "$(curl -s -w ' %{http_code}' "$CHAT/health")" \
	'{"status":"ok","worker":"ok","database":"ok"} 200'
assert_eq "GET /chat/metrics from loopback: 200" "$(fetch_metrics)" "200"
# (the worker's figures reach /metrics through its heartbeat, each second)
for _ in $(seq 40); do
	replies=$(metric 'lightchat_replies_total{outcome="complete"}')
	[ "${replies:-0}" -ge 2 ] && break
	sleep 0.1
	fetch_metrics >/dev/null
done
logins=$(metric 'lightchat_logins_total{result="ok"}')
check "/chat/metrics counts the login (${logins:-none})" test "${logins:-0}" -ge 1
check "/chat/metrics counts the replies (${replies:-none}: the prompt's and the check's)" test "${replies:-0}" -ge 2
code -H 'Content-Type: application/json' -d '{"username":"bob","password":"secret-pw-2"}' "$CHAT/login" >/dev/null
check "/chat/metrics: one more login" wait_metric 'lightchat_logins_total{result="ok"}' "$((logins + 1))"
if command -v promtool >/dev/null; then
	lint=$(promtool check metrics <"$W/metrics" 2>&1)
	check "promtool check metrics passes ($lint)" test $? -eq 0 -a -z "$lint"
else
	echo "skip - promtool check metrics (promtool is not installed)"
fi
svc_stop lightchat-worker.service
h=""
for _ in $(seq 50); do
	h=$(curl -s -m 5 -w ' %{http_code}' "$CHAT/health")
	[ "${h##* }" = 503 ] && break
	sleep 0.2
done
assert_match() { if [[ $2 =~ $3 ]]; then ok "$1"; else not_ok "$1" "got: $2" "want: /$3/"; fi; }
assert_match "the worker stopped (SIGTERM): /chat/health 503 naming it" "$h" '"worker":"[^o"][^"]*".* 503$'
svc_start lightchat-worker.service
h=""
for _ in $(seq 100); do
	h=$(code "$CHAT/health")
	[ "$h" = 200 ] && break
	sleep 0.1
done
assert_eq "the worker started again: /chat/health 200" "$h" "200"

# The privilege map: every lightchat process as lightchat, lighttpd as
# www-data (uids of the root's users: the host's names differ).
www=$(in_root id -u www-data)
uid_of() { awk '$1 == "Uid:" {print $2}' "/proc/$1/status" 2>/dev/null; }
for u in $UNITS; do
	assert_eq "$u runs as lightchat (uid $uid)" "$(uid_of "${SVC[$u]}")" "$uid"
done
assert_eq "the root's lighttpd runs as www-data (uid $www)" "$(uid_of "$LIGHTTPD")" "$www"
assert_eq "websocketd is lightchat-ws.service's process" "$(cat "/proc/${SVC[lightchat-ws.service]}/comm" 2>/dev/null)" "websocketd"
for f in /var/lib/lightchat/api.key; do
	if in_root runuser -u www-data -- cat "$f" >/dev/null 2>&1; then
		not_ok "www-data cannot read $f"
	else
		ok "www-data cannot read $f"
	fi
done
check "www-data can connect to the FastCGI sockets" setpriv --reuid="$www" --regid="$www" --clear-groups -- \
	"$PY" -c 'import socket, sys
for p in sys.argv[1:]:
    socket.socket(socket.AF_UNIX).connect(p)' "$R/run/lightchat/fcgi-auth.sock" "$R/run/lightchat/fcgi-api.sock"
assert_eq "the FastCGI sockets: root:www-data 0660 (the .socket unit's)" \
	"$(in_root stat -c '%U:%G %a' /run/lightchat/fcgi-auth.sock /run/lightchat/fcgi-api.sock | sort -u)" "root:www-data 660"
assert_eq "the heartbeat is in the worker's RuntimeDirectory (worker_metrics_file), lightchat's" \
	"$(in_root stat -c '%U:%G %a' /run/lightchat/worker /run/lightchat/worker/worker.metrics | tr '\n' ' ')" \
	"lightchat:lightchat 700 lightchat:lightchat 600 "

# A slow reply in flight while the package is upgraded: the upgrade stops
# the services (the worker's SIGTERM drains it), installs, starts them.
"$PY" "$CLIENT" --timeout 60 --cookie-jar "$J" "$WSURL" "$(prompt pkg-slow 'through the upgrade #slow:6')" \
	>"$W/slow.out" 2>"$W/slow.err" &
SLOW=$!
for _ in $(seq 50); do
	fetch_metrics >/dev/null
	[ "$(metric lightchat_replies_in_flight)" = 1 ] && break
	sleep 0.1
done
assert_eq "the slow reply is in flight" "$(metric lightchat_replies_in_flight)" "1"
wsd=${SVC[lightchat-ws.service]}
sess=$(for p in $(in_root_pids); do [ "$(cat "/proc/$p/comm" 2>/dev/null)" = lightchat-ws ] && echo "$p"; done)
check "a lightchat-ws per connection runs ($(echo $sess))" test -n "$sess"
for p in $sess; do
	assert_eq "lightchat-ws $p runs as lightchat" "$(uid_of "$p")" "$uid"
done
bob_usage() { in_root lightchat-admin storage | awk '$1 == "bob" { print $2 }'; }
t0=$SECONDS
if svc_stop lightchat-worker.service 60; then
	ok "the worker ends on SIGTERM (draining: $((SECONDS - t0)) s)"
else
	not_ok "the worker ends on SIGTERM within TimeoutStopSec"
fi
for u in $UNITS; do svc_stop "$u" 15; done
BOB=$(bob_usage)

# --- upgrade ---
note "upgrading to $V2"
if in_root apt-get install -y --no-install-recommends /tmp/v2.deb >"$W/upgrade.log" 2>&1; then
	ok "apt-get install ./lightchat_$V2.deb (upgrade)"
else
	not_ok "apt-get install ./lightchat_$V2.deb (upgrade)" "$(tail -5 "$W/upgrade.log")"
fi
assert_eq "dpkg -s: the new version" "$(in_root dpkg-query -W -f='${Status} ${Version}' lightchat)" \
	"install ok installed $V2"
assert_eq "the upgrade keeps the users file and the key" "$(sums)" "$SUMS"
usage=$(in_root lightchat-admin storage | awk '$1 == "alice" { print $2, $3 }')
assert_eq "the upgrade keeps alice's conversation" "$usage" "1 1"
title=$(setpriv --reuid="$uid" --regid="$gid" --clear-groups "$PY" -c '
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT title FROM conversations WHERE id = ?", ("c0nv-pkgtest",)).fetchone()[0])' \
	"$R/var/lib/lightchat/lightchat.db" 2>&1)
assert_eq "the conversation reads back" "$title" "kept across upgrades"
assert_eq "the conffile is still root:lightchat 0640" \
	"$(in_root stat -c '%U:%G %a' /etc/lightchat/lightchat.conf)" "root:lightchat 640"
assert_eq "the key is still lightchat's, 0600" \
	"$(in_root stat -c '%U:%G %a' /var/lib/lightchat/token.key)" "lightchat:lightchat 600"

# --- after the upgrade: the services again, the reply and the data kept ---
note "the services again, after the upgrade"
for u in $UNITS; do svc_start "$u"; done
h=""
for _ in $(seq 100); do
	h=$(code "$CHAT/health")
	[ "$h" = 200 ] && break
	sleep 0.1
done
assert_eq "after the upgrade: /chat/health 200" "$h" "200"
for _ in $(seq 300); do kill -0 "$SLOW" 2>/dev/null || break; sleep 0.1; done
kill "$SLOW" 2>/dev/null
wait "$SLOW" 2>/dev/null
slow_final=$(tail -1 "$W/slow.out" | jq -r '.text.content // empty' 2>/dev/null)
if [ -n "$slow_final" ]; then
	ok "the reply in flight reached its client before the worker ended (its final frame)"
else
	printf '# the slow reply'"'"'s client: %s\n' "$(tail -c 200 "$W/slow.err" | tr '\n' ' ')"
fi
slow_state=$(setpriv --reuid="$uid" --regid="$gid" --clear-groups "$PY" -c '
import sqlite3, sys
r = sqlite3.connect(sys.argv[1]).execute(
    "SELECT m.state, m.content FROM messages m JOIN conversations c ON c.id = m.conversation_id"
    " WHERE c.user = ? AND m.role = ? ORDER BY m.id DESC LIMIT 1", ("bob", "assistant")).fetchone()
print(r[0] if r else "none")' "$R/var/lib/lightchat/lightchat.db" 2>&1)
assert_eq "the reply in flight at the upgrade is stored complete (the worker drained)" "$slow_state" "complete"
assert_eq "the upgrade keeps bob's conversations" "$(bob_usage)" "$BOB"
assert_eq "the session cookie from before the upgrade still works (the key kept)" \
	"$(curl -s -b "$J" "$CHAT/api/me" | jq -r .username 2>/dev/null)" "bob"
assert_eq "bob logs in after the upgrade (the users file kept)" "$(code -H 'Content-Type: application/json' \
	-d '{"username":"bob","password":"secret-pw-2"}' "$CHAT/login")" "200"
out=$("$PY" "$CLIENT" --timeout 20 --cookie-jar "$J" "$WSURL" "$(prompt pkg-2 'Hello again')" 2>&1)
assert_eq "a prompt after the upgrade" "$(tail -1 <<<"$out" | jq -r '.text.content // empty' 2>/dev/null)" \
	"You said: Hello again"

# systemd-analyze verify on the installed units, in the root.
if [ -x "$R/usr/bin/systemd-analyze" ]; then
	if in_root sh -c 'cd /lib/systemd/system && systemd-analyze verify --man=no lightchat.target \
		lightchat-worker.service lightchat-ws.service lightchat-fcgi@.service lightchat-fcgi@.socket' \
		>"$W/verify.log" 2>&1 && [ ! -s "$W/verify.log" ]; then
		ok "systemd-analyze verify: the installed units (in the root)"
	else
		not_ok "systemd-analyze verify: the installed units (in the root)" "$(head -3 "$W/verify.log")"
	fi
	rm -f "$R/run/systemd/systemd-units-load"   # verify's, not the package's
else
	echo "skip - systemd-analyze verify in the root: no systemd there (tests/unit/test_units.py verifies the tree's)"
fi

stop_all
assert_eq "every process in the root ends by its SIGTERM (nothing left)" "$(in_root_pids)" ""
[ "$FAILED" -gt 0 ] && tail -n 15 "$W"/svc-*.log "$W/lighttpd.log" "$R/var/log/lighttpd/error.log" >&2
check "no API key in the services' logs" sh -c "! grep -q '$API_KEY' '$W'/svc-*.log"
# Undo what the admin did (the drop-in, the modules lighty-enable-mod
# enabled for the snippet, lighttpd's pid file left by a process that had
# dropped root), so that purge is judged on the package's own files.
rm -rf "$R/etc/systemd/system/lightchat-ws.service.d" "$R/run/lighttpd.pid"
added=$(ls "$R/etc/lighttpd/conf-enabled" | grep -vxF -f "$W/conf-enabled.before" | grep -v lightchat |
	sed -e 's/^[0-9]*-//' -e 's/\.conf$//')
[ -n "$added" ] && in_root lighty-disable-mod $added >/dev/null 2>&1

# --- remove: the data stays ---
note "remove"
check "apt-get remove lightchat" in_root apt-get remove -y lightchat
assert_eq "dpkg -s after remove: config files only" \
	"$(in_root dpkg-query -W -f='${Status}' lightchat)" "deinstall ok config-files"
check "remove takes the programs" test ! -e "$R/usr/lib/lightchat"
assert_eq "remove keeps the users file and the key" "$(sums)" "$SUMS"
check "remove keeps the database" test -s "$R/var/lib/lightchat/lightchat.db"
check "remove keeps the lightchat user" in_root getent passwd lightchat

# Installed again after the remove, it finds its data (and then apt knows
# the package to purge: with no package lists, apt cannot name one that is
# only "config-files").
if in_root apt-get install -y --no-install-recommends /tmp/v2.deb >"$W/reinstall.log" 2>&1; then
	ok "installing again after the remove"
else
	not_ok "installing again after the remove" "$(tail -5 "$W/reinstall.log")"
fi
assert_eq "installing again keeps the users file and the key" "$(sums)" "$SUMS"
usage=$(in_root lightchat-admin storage | awk '$1 == "alice" { print $2, $3 }')
assert_eq "installing again keeps alice's conversation" "$usage" "1 1"

# --- purge: nothing of lightchat's is left ---
note "purge"
check "apt-get purge lightchat" in_root apt-get purge -y lightchat
snapshot >"$W/after"
left=$(diff "$W/before" "$W/after" | grep '^[<>]')
assert_eq "purge leaves no file of lightchat's (find / -xdev before and after)" "$left" ""
named=$(cd "$R" && find . -xdev \( -path ./proc -o -path ./dev \) -prune -o -name '*lightchat*' -print |
	grep -v '^\./tmp/v[12]\.deb$')
assert_eq "no path named lightchat is left" "$named" ""
check "purge removes the lightchat user" sh -c "! grep -q '^lightchat:' '$R/etc/passwd' '$R/etc/shadow'"
check "purge removes the lightchat group" sh -c "! grep -q '^lightchat:' '$R/etc/group' '$R/etc/gshadow'"
assert_eq "dpkg knows no lightchat" "$(in_root dpkg-query -W -f='${Status}' lightchat 2>/dev/null)" ""

note "done"
printf '# package test: %d s\n' $((SECONDS - T0))
[ "$FAILED" -eq 0 ]
