#!/usr/bin/env bash
# test-admin.sh - lightchat-admin (init, users, config), htpasswd
# compatibility through a real login, and the refusal to start with a
# missing or weak token key or a bad configuration.
. "$(dirname "$0")/lib.sh"
T0=$(mktemp -d /tmp/lightchat-admin.XXXXXX)
adm() { env LIGHTCHAT_CONFIG=/dev/null LIGHTCHAT_STATE="$T0/state" "$ADMIN" "$@"; }

# init: state dir, 0600 key, a first user with a random password shown once.
out=$(adm init 2>&1)
assert_match "init: prints the first user and its password" "$out" 'admin / [A-Za-z0-9]{20}'
assert_eq "init: token key is 0600" "$(stat -c %a "$T0/state/token.key")" "600"
assert_eq "init: token key has 64 bytes" "$(stat -c %s "$T0/state/token.key")" "64"
assert_eq "init: users file is 0600" "$(stat -c %a "$T0/state/users")" "600"
out=$(adm init 2>&1)
check "init again: no second password printed" bash -c "! grep -q 'admin /' <<<'$out'"
key1=$(md5sum <"$T0/state/token.key")
adm init >/dev/null 2>&1
assert_eq "init again: the key is kept" "$(md5sum <"$T0/state/token.key")" "$key1"

# users
echo 'pw-of-carol' | adm user add carol 2>/dev/null
assert_eq "user add: listed" "$(adm user list | sort | tr '\n' ' ')" "admin carol "
check "user add: yescrypt hash" grep -q '^carol:\$y\$' "$T0/state/users"
# New hashes are made at password_cost (7 is "jBT"), so a login need not rehash them.
echo 'pw-of-dave' | LIGHTCHAT_PASSWORD_COST=7 adm user add dave 2>/dev/null
check "user add: the hash is at password_cost" grep -q '^dave:\$y\$jBT\$' "$T0/state/users"
adm user del dave >/dev/null 2>&1
echo 'x' | adm user add carol 2>"$T0/err"; rc=$?
check "user add of an existing user fails" test $rc -ne 0
assert_match "user add of an existing user says why" "$(cat "$T0/err")" 'already exists'
echo 'x' | adm user add 'bad:name' 2>/dev/null; rc=$?
check "user add with an invalid name fails" test $rc -ne 0
echo 'new-pw' | adm user passwd nobody 2>/dev/null; rc=$?
check "passwd of an unknown user fails" test $rc -ne 0
pw=$(adm user add dave --random 2>/dev/null)
assert_match "user add --random prints the password" "$pw" '^[A-Za-z0-9]{20}$'
adm user del dave 2>/dev/null
assert_eq "user del: gone" "$(adm user list | sort | tr '\n' ' ')" "admin carol "
adm user del dave 2>/dev/null; rc=$?
check "user del of an unknown user fails" test $rc -ne 0

# config
assert_eq "config prints one key" "$(adm config port)" "8080"
assert_eq "config: environment overrides" "$(LIGHTCHAT_PORT=9999 adm config port)" "9999"
assert_eq "config: the API key is masked" "$(OPENAI_API_KEY=sk-secret-value adm config upstream_api_key)" "(set)"
check "config: listing masks the API key" bash -c "! (OPENAI_API_KEY=sk-secret-value env LIGHTCHAT_CONFIG=/dev/null LIGHTCHAT_STATE='$T0/state' '$ADMIN' config | grep -q sk-secret-value)"
adm config nosuchkey 2>/dev/null; rc=$?
check "config of an unknown key fails" test $rc -ne 0

# The programs refuse to start without a proper key or with a bad config.
refuse() {  # NAME EXPECTED_MESSAGE_REGEX ENV...
	local name=$1 want=$2; shift 2
	local out rc
	out=$(timeout 5 env LIGHTCHAT_CONFIG=/dev/null LIGHTCHAT_STATE="$T0/state" "$@" "$BIN/lightchat-worker" 2>&1 </dev/null)
	rc=$?
	check "worker refuses to start: $name (exit 1)" test $rc -eq 1
	assert_match "worker refuses to start: $name (says why)" "$out" "$want"
}
mv "$T0/state/token.key" "$T0/key.bak"
refuse "missing key" 'token key .*No such file'
head -c 16 /dev/urandom >"$T0/state/token.key"; chmod 600 "$T0/state/token.key"
refuse "16-byte key" 'at least 32'
mv "$T0/key.bak" "$T0/state/token.key"; chmod 644 "$T0/state/token.key"
refuse "key readable by others" 'must be 0600'
chmod 600 "$T0/state/token.key"
refuse "bad port" 'port must be an integer' LIGHTCHAT_PORT=http
printf 'colour = blue\n' >"$T0/bad.conf"
out=$(env LIGHTCHAT_CONFIG="$T0/bad.conf" LIGHTCHAT_STATE="$T0/state" "$BIN/lightchat-worker" 2>&1 </dev/null); rc=$?
check "unknown config key: refused" test $rc -eq 1
assert_match "unknown config key: named with its line" "$out" "bad.conf:1: unknown key 'colour'"
rm -rf "$T0"

# htpasswd -B users log in through the real stack; edits apply at once.
stack_start || finish
htpasswd -bB "$T/state/users" erin 'erin-Bcrypt-9' 2>/dev/null
assert_eq "htpasswd -B user logs in" "$(login erin 'erin-Bcrypt-9' "$T/jar")" "200"
printf 'frank:%s\n' "$(mkpasswd -m sha-512 'frank-Sha-7')" >>"$T/state/users"
assert_eq "sha512-crypt user logs in" "$(login frank 'frank-Sha-7' "$T/jar")" "200"
printf 'gina:%s\n' "$(openssl passwd -1 'gina-Md5-5' 2>/dev/null || echo '$1$abc$abcdefghijklmnopqrstuv')" >>"$T/state/users"
assert_eq "md5-crypt user refused" "$(login gina 'gina-Md5-5' "$T/jar")" "401"
printf 'hank:hank-plain\n' >>"$T/state/users"
assert_eq "plain-text password line refused" "$(login hank 'hank-plain' "$T/jar")" "401"
check "refused hash kind is logged" grep -q 'refused hash kind' "$T/stack.log"
echo 'alice-New-2' | LIGHTCHAT_CONFIG=/dev/null LIGHTCHAT_STATE="$T/state" "$ADMIN" user passwd alice 2>/dev/null
assert_eq "changed password: old one refused" "$(login alice "$PW_alice" "$T/jar")" "401"
assert_eq "changed password: new one works" "$(login alice 'alice-New-2' "$T/jar")" "200"
LIGHTCHAT_CONFIG=/dev/null LIGHTCHAT_STATE="$T/state" "$ADMIN" user del bob 2>/dev/null
assert_eq "deleted user cannot log in" "$(login bob "$PW_bob" "$T/jar")" "401"
stack_stop
finish
