#!/usr/bin/env bash
# test-deb.sh - the Debian package, tested as installed: builds it (make
# deb), runs lintian (an error fails), and installs it with apt into a fresh
# Debian 12 root (debootstrap, minbase) to check the files at their FHS
# paths, the lightchat user, the key, an upgrade to a second build that keeps
# users, key and a conversation, a remove that keeps the data, and a purge
# that leaves no file of lightchat's and no user. Prints TAP lines.
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
if in_root /usr/lib/lightchat/lightchat-admin config --template | cmp -s - "$R/etc/lightchat/lightchat.conf"; then
	ok "the conffile is the settings table's template"
else
	not_ok "the conffile is the settings table's template"
fi
keys=$(in_root env LIGHTCHAT_CONFIG=/etc/lightchat/lightchat.conf /usr/lib/lightchat/lightchat-admin config | cut -d' ' -f1 | sort)
listed=$(sed -n 's/^#\([a-z_]*\) =.*/\1/p' "$R/etc/lightchat/lightchat.conf" | sort)
assert_eq "the conffile lists every key, commented out" "$listed" "$keys"
check "the conffile sets nothing (every line a comment)" \
	sh -c "! grep -qv -e '^#' -e '^\$' '$R/etc/lightchat/lightchat.conf'"

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
check "lightchat-admin usage makes the database" in_root lightchat-admin usage
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
usage=$(in_root lightchat-admin usage | awk '$1 == "alice" { print $2, $3 }')
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
usage=$(in_root lightchat-admin usage | awk '$1 == "alice" { print $2, $3 }')
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
