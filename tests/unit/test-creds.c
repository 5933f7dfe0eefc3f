/* test-creds.c - unit tests of lib/creds.c: cookies, query, bearer, Origin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "device.h"
#include "unit.h"

#define C LC_COOKIE_NAME

/* Runs creds_cookie for C with a 64-byte buffer; out gets "" when not 1. */
static int
cookie(const char *header, char *out)
{
	int rc = creds_cookie(header, C, out, 64);

	if (rc != 1)
		out[0] = '\0';
	return rc;
}

static void
test_cookie(void)
{
	char out[64], big[300];

	CHECK(cookie("lightchat_session=abc", out) == 1 &&
	    strcmp(out, "abc") == 0, "cookie: alone");
	CHECK(cookie("xlightchat_session=a; lightchat_session=b", out) == 1 &&
	    strcmp(out, "b") == 0, "cookie: longer name skipped");
	CHECK(cookie("lightchat_sessionx=a", out) == 0,
	    "cookie: name with a suffix is absent");
	CHECK(cookie("lightchat_sessionx=a;lightchat_session=ok", out) == 1 &&
	    strcmp(out, "ok") == 0, "cookie: suffix then the real one");
	CHECK(cookie("lightchat_session", out) == 0, "cookie: name without =");
	CHECK(cookie("a=1; lightchat_session=\"quoted\"; b=2", out) == 1 &&
	    strcmp(out, "quoted") == 0, "cookie: quoted value");
	CHECK(cookie("lightchat_session=\"", out) == 1 && strcmp(out, "\"") == 0,
	    "cookie: a lone quote is kept");
	CHECK(cookie("  a=1 ;   lightchat_session=v1  ; b=2", out) == 1 &&
	    strcmp(out, "v1") == 0, "cookie: spaces around");
	CHECK(cookie("a=1;\tlightchat_session=tab\t", out) == 1 &&
	    strcmp(out, "tab") == 0, "cookie: tabs");
	CHECK(cookie("a=1;lightchat_session=first;lightchat_session=second",
	    out) == 1 && strcmp(out, "first") == 0, "cookie: first one wins");
	CHECK(cookie("a=lightchat_session=x", out) == 0,
	    "cookie: name inside a value is absent");
	CHECK(cookie("", out) == 0, "cookie: empty header");
	CHECK(cookie(";;; ", out) == 0, "cookie: only separators");
	CHECK(creds_cookie(NULL, C, out, sizeof(out)) == 0, "cookie: NULL");
	CHECK(cookie("lightchat_session=", out) == 1 && out[0] == '\0',
	    "cookie: empty value found");

	memcpy(big, "lightchat_session=", 18);
	memset(big + 18, 'v', 63);
	big[18 + 63] = '\0';
	CHECK(creds_cookie(big, C, out, 64) == 1 && strlen(out) == 63,
	    "cookie: 63 bytes fit in 64");
	big[18 + 63] = 'v';
	big[18 + 64] = '\0';
	CHECK(creds_cookie(big, C, out, 64) == -1, "cookie: 64 bytes -> -1");
	CHECK(creds_cookie("lightchat_session=x", C, out, 1) == -1,
	    "cookie: no room for NUL -> -1");
}

static void
test_query(void)
{
	char out[64];

	CHECK(creds_query_token("token=Bearer%20abc", out, sizeof(out)) == 1 &&
	    strcmp(out, "abc") == 0, "query: Bearer%20");
	CHECK(creds_query_token("token=Bearer abc", out, sizeof(out)) == 1 &&
	    strcmp(out, "abc") == 0, "query: raw space");
	CHECK(creds_query_token("token=Bearer+abc", out, sizeof(out)) == 1 &&
	    strcmp(out, "abc") == 0, "query: + as space");
	CHECK(creds_query_token("token=bearer%20%20abc", out, sizeof(out)) ==
	    1 && strcmp(out, "abc") == 0, "query: lower case, two spaces");
	CHECK(creds_query_token("token=abc", out, sizeof(out)) == 1 &&
	    strcmp(out, "abc") == 0, "query: bare token");
	CHECK(creds_query_token("a=1&token=abc&b=2", out, sizeof(out)) == 1 &&
	    strcmp(out, "abc") == 0, "query: in the middle");
	CHECK(creds_query_token("xtoken=no&token=yes", out, sizeof(out)) == 1 &&
	    strcmp(out, "yes") == 0, "query: xtoken is not token");
	CHECK(creds_query_token("tokens=no", out, sizeof(out)) == 0,
	    "query: tokens is not token");
	CHECK(creds_query_token("token", out, sizeof(out)) == 0,
	    "query: token without =");
	CHECK(creds_query_token("a=1&b=2", out, sizeof(out)) == 0,
	    "query: absent");
	CHECK(creds_query_token("", out, sizeof(out)) == 0, "query: empty");
	CHECK(creds_query_token(NULL, out, sizeof(out)) == 0, "query: NULL");
	CHECK(creds_query_token("token=a.b%2Ec", out, sizeof(out)) == 1 &&
	    strcmp(out, "a.b.c") == 0, "query: escape decoded");
	CHECK(creds_query_token("token=BearerX", out, sizeof(out)) == 1 &&
	    strcmp(out, "BearerX") == 0, "query: Bearer without space kept");
	CHECK(creds_query_token("token=%zz", out, sizeof(out)) == -1,
	    "query: bad escape");
	CHECK(creds_query_token("token=abc%2", out, sizeof(out)) == -1,
	    "query: truncated escape");
	CHECK(creds_query_token("token=abc%", out, sizeof(out)) == -1,
	    "query: lone percent");
	CHECK(creds_query_token("token=ab%00c", out, sizeof(out)) == -1,
	    "query: %00");
	CHECK(creds_query_token("token=abc%2&x=1", out, sizeof(out)) == -1,
	    "query: escape cut by &");
	CHECK(creds_query_token("token=abcdef", out, 4) == -1,
	    "query: too long");
}

static void
test_bearer_and_find(void)
{
	char out[64];

	CHECK(creds_bearer("Bearer abc.def.ghi", out, sizeof(out)) == 1 &&
	    strcmp(out, "abc.def.ghi") == 0, "bearer: plain");
	CHECK(creds_bearer("bearer   abc  ", out, sizeof(out)) == 1 &&
	    strcmp(out, "abc") == 0, "bearer: case and spaces");
	CHECK(creds_bearer("Basic YWxhZGRpbjpvcGVu", out, sizeof(out)) == 0,
	    "bearer: other scheme");
	CHECK(creds_bearer("Bearer", out, sizeof(out)) == 0,
	    "bearer: scheme alone");
	CHECK(creds_bearer("Bearerabc", out, sizeof(out)) == 0,
	    "bearer: no space");
	CHECK(creds_bearer(NULL, out, sizeof(out)) == 0, "bearer: NULL");
	CHECK(creds_bearer("", out, sizeof(out)) == 0, "bearer: empty");
	CHECK(creds_bearer("Bearer abcd", out, 5) == 1 &&
	    strcmp(out, "abcd") == 0, "bearer: just fits");
	CHECK(creds_bearer("Bearer abcde", out, 5) == -1, "bearer: too long");

	CHECK(creds_find_token("lightchat_session=fromcookie", "token=fromquery",
	    out, sizeof(out)) == 1 && strcmp(out, "fromcookie") == 0,
	    "find: cookie preferred");
	CHECK(creds_find_token("other=1", "token=Bearer%20q", out,
	    sizeof(out)) == 1 && strcmp(out, "q") == 0,
	    "find: query when no cookie");
	CHECK(creds_find_token(NULL, "token=q2", out, sizeof(out)) == 1 &&
	    strcmp(out, "q2") == 0, "find: NULL cookie header");
	CHECK(creds_find_token("lightchat_session=c2", NULL, out,
	    sizeof(out)) == 1 && strcmp(out, "c2") == 0, "find: NULL query");
	CHECK(creds_find_token(NULL, NULL, out, sizeof(out)) == 0,
	    "find: nothing");
	CHECK(creds_find_token("a=b", "x=y", out, sizeof(out)) == 0,
	    "find: neither carries one");
	CHECK(creds_find_token(NULL, "token=%G0", out, sizeof(out)) == -1,
	    "find: malformed query");
}

static void
test_origin(void)
{
	const char *pub = "http://chat.example:8080, https://Chat.Example/";
	const char *allowed = "https://app.example.com, http://localhost:3000";

	CHECK(creds_origin_allowed(NULL, pub, allowed), "origin: NULL ok");
	CHECK(creds_origin_allowed("", pub, allowed), "origin: empty ok");
	CHECK(creds_origin_allowed("http://chat.example:8080", pub, NULL),
	    "origin: public host:port");
	CHECK(creds_origin_allowed("https://chat.example", pub, ""),
	    "origin: public, trailing slash in the list");
	CHECK(creds_origin_allowed("HTTPS://CHAT.example", pub, NULL),
	    "origin: scheme and host case-insensitive");
	CHECK(creds_origin_allowed("https://chat.example:443", pub, NULL),
	    "origin: explicit default port https");
	CHECK(creds_origin_allowed("http://h", "http://h:80", NULL),
	    "origin: http://h equals http://h:80");
	CHECK(creds_origin_allowed("http://h:80", "http://h", NULL),
	    "origin: http://h:80 equals http://h");
	CHECK(!creds_origin_allowed("https://h", "http://h:443", NULL),
	    "origin: https://h is not http://h:443");
	CHECK(!creds_origin_allowed("http://chat.example:8081", pub, allowed),
	    "origin: other port refused");
	CHECK(!creds_origin_allowed("http://chat.example", pub, allowed),
	    "origin: missing port refused");
	CHECK(!creds_origin_allowed("http://chat.example:08080x", pub, NULL),
	    "origin: junk port refused");
	CHECK(!creds_origin_allowed("http://chat.example:0", "http://chat.example:0",
	    NULL), "origin: port 0 refused");
	CHECK(!creds_origin_allowed("https://chat.example/", pub, NULL),
	    "origin: a trailing slash in the Origin refused");
	CHECK(!creds_origin_allowed("https://chat.example/x", pub, NULL),
	    "origin: a path refused");
	CHECK(!creds_origin_allowed("https://u@chat.example", pub, NULL),
	    "origin: user info refused");
	CHECK(!creds_origin_allowed("http://evil.example", pub, allowed),
	    "origin: other host refused");
	CHECK(!creds_origin_allowed("http://evil.example", NULL, NULL),
	    "origin: no lists refuses");
	CHECK(!creds_origin_allowed("http://chat.example.evil:8080", pub, NULL),
	    "origin: host prefix refused");
	CHECK(!creds_origin_allowed("null", pub, allowed), "origin: null refused");
	CHECK(!creds_origin_allowed("chat.example:8080", pub, NULL),
	    "origin: no scheme refused");
	CHECK(!creds_origin_allowed("ftp://chat.example:8080", "ftp://chat.example:8080",
	    NULL), "origin: other schemes refused");
	CHECK(creds_origin_allowed("https://app.example.com", pub, allowed),
	    "origin: listed");
	CHECK(creds_origin_allowed("http://localhost:3000", pub, allowed),
	    "origin: listed after a space");
	CHECK(!creds_origin_allowed("https://app.example.co", pub, allowed),
	    "origin: prefix of a listed origin refused");
	CHECK(!creds_origin_allowed("https://app.example.com.evil", pub, allowed),
	    "origin: listed origin as prefix refused");
	CHECK(!creds_origin_allowed("http://localhost:300", pub, allowed),
	    "origin: shorter port refused");
	CHECK(!creds_origin_allowed("http://app.example.com", pub, allowed),
	    "origin: other scheme than listed refused");
	CHECK(creds_origin_allowed("http://[::1]:8080", "http://[::1]:8080", NULL),
	    "origin: IPv6 literal");
	CHECK(!creds_origin_allowed("http://[::1]:8081", "http://[::1]:8080", NULL),
	    "origin: IPv6 literal, other port");
	CHECK(creds_origin_match("http://chat.example:8080", pub) &&
	    !creds_origin_match("https://app.example.com", pub),
	    "origin: match names only the given list");
}

static void
test_url_decode(void)
{
	char out[8];

	CHECK(creds_url_decode("a%41+b", 6, out, sizeof(out)) == 4 &&
	    strcmp(out, "aA b") == 0, "decode: escape and +");
	CHECK(creds_url_decode("%e2%82%ac", 9, out, sizeof(out)) == 3 &&
	    strcmp(out, "\xe2\x82\xac") == 0, "decode: lower-case hex bytes");
	CHECK(creds_url_decode("", 0, out, sizeof(out)) == 0 && out[0] == '\0',
	    "decode: empty");
	CHECK(creds_url_decode("x", 0, out, 0) == -1, "decode: no room at all");
	CHECK(creds_url_decode("abcdefg", 7, out, 8) == 7, "decode: 7 in 8");
	CHECK(creds_url_decode("abcdefgh", 8, out, 8) == -1, "decode: 8 in 8 -> -1");
	CHECK(creds_url_decode("%41%42%43%44%45%46%47", 21, out, 8) == 7 &&
	    strcmp(out, "ABCDEFG") == 0, "decode: escapes count once");
	CHECK(creds_url_decode("%41", 2, out, sizeof(out)) == -1,
	    "decode: srclen cuts the escape");
	CHECK(creds_url_decode("ab%41", 2, out, sizeof(out)) == 2 &&
	    strcmp(out, "ab") == 0, "decode: srclen respected");
	CHECK(creds_url_decode("%4g", 3, out, sizeof(out)) == -1, "decode: bad hex");
	CHECK(creds_url_decode("%-1", 3, out, sizeof(out)) == -1, "decode: sign");
	CHECK(creds_url_decode("a%00", 4, out, sizeof(out)) == -1, "decode: NUL");
}

static void
test_device(void)
{
	struct lc_token_key key = { .len = 40 }, other = { .len = 40 };
	char v[LC_DEVICE_MAX], v2[LC_DEVICE_MAX], id[LC_DEVICE_ID_MAX],
	    id2[LC_DEVICE_ID_MAX];
	time_t now = 1700000000;

	memset(key.bytes, 'k', key.len);
	memset(other.bytes, 'o', other.len);
	CHECK(device_issue(&key, "alice", 3600, now, v) == 0 && v[0] != '\0',
	    "device: issued");
	CHECK(strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") == strlen(v), "device: base64url, cookie-safe");
	CHECK(strstr(v, "alice") == NULL, "device: the name is not in clear");
	CHECK(device_verify(&key, v, "alice", now + 10, id) == 1 &&
	    strlen(id) == 16, "device: verifies for its user, with an id");
	CHECK(device_verify(&key, v, "bob", now + 10, NULL) == 0,
	    "device: not for another user");
	CHECK(device_verify(&key, v, "alic", now + 10, NULL) == 0,
	    "device: not for a prefix of the user");
	CHECK(device_verify(&key, v, "alice", now + 3600, NULL) == 0,
	    "device: expired at its end");
	CHECK(device_verify(&key, v, "alice", now + 3599, NULL) == 1,
	    "device: valid just before");
	CHECK(device_verify(&other, v, "alice", now, NULL) == 0,
	    "device: another key refuses it");
	for (size_t i = 0; i < strlen(v); i += 7) {
		char t[LC_DEVICE_MAX];
		memcpy(t, v, sizeof(t));
		t[i] = t[i] == 'A' ? 'B' : 'A';
		if (device_verify(&key, t, "alice", now, NULL) != 0) {
			CHECK(0, "device: a changed character is refused");
			break;
		}
	}
	CHECK(1, "device: tampering anywhere is refused");
	{
		char t[LC_DEVICE_MAX];
		memcpy(t, v, sizeof(t));
		size_t last = strlen(t) - 1;
		t[last] = t[last] == 'A' ? 'B' : 'A';
		CHECK(device_verify(&key, t, "alice", now, NULL) == 0,
		    "device: a changed last character is refused");
	}
	v[strlen(v) - 1] = '\0';
	CHECK(device_verify(&key, v, "alice", now, NULL) == 0,
	    "device: truncated refused");
	CHECK(device_verify(&key, NULL, "alice", now, NULL) == 0 &&
	    device_verify(&key, "", "alice", now, NULL) == 0 &&
	    device_verify(&key, "!!!!", "alice", now, NULL) == 0,
	    "device: NULL, empty, junk refused");
	CHECK(device_issue(&key, "alice", 3600, now, v) == 0 &&
	    device_issue(&key, "alice", 3600, now, v2) == 0 &&
	    strcmp(v, v2) != 0 && device_verify(&key, v, "alice", now, id) &&
	    device_verify(&key, v2, "alice", now, id2) && strcmp(id, id2) != 0,
	    "device: two devices, two ids");
	CHECK(device_issue(&key, "bad name", 3600, now, v) == -1,
	    "device: invalid user name refused");
}

/* trusted_proxies and X-Forwarded-Proto (issue 13). */
static void
test_proxies(void)
{
	const char *list = "127.0.0.1, 10.1.0.0/16,fd00::/8 , ::1,junk,1.2.3.4/33";

	CHECK(creds_addr_in_list("127.0.0.1", list), "proxies: exact IPv4");
	CHECK(!creds_addr_in_list("127.0.0.2", list), "proxies: another IPv4");
	CHECK(creds_addr_in_list("10.1.255.7", list), "proxies: in a /16");
	CHECK(!creds_addr_in_list("10.2.0.1", list), "proxies: outside the /16");
	CHECK(creds_addr_in_list("fd12:3456::1", list), "proxies: in fd00::/8");
	CHECK(!creds_addr_in_list("fe80::1", list), "proxies: outside fd00::/8");
	CHECK(creds_addr_in_list("::1", list), "proxies: exact IPv6");
	CHECK(creds_addr_in_list("::ffff:127.0.0.1", list),
	    "proxies: IPv4-mapped is its IPv4");
	CHECK(!creds_addr_in_list("1.2.3.4", list),
	    "proxies: a bad prefix length matches nothing");
	CHECK(!creds_addr_in_list("junk", list), "proxies: not an address");
	CHECK(!creds_addr_in_list(NULL, list) && !creds_addr_in_list("::1", NULL) &&
	    !creds_addr_in_list("::1", ""), "proxies: NULL and empty");
	CHECK(creds_addr_in_list("192.0.2.9", "0.0.0.0/0"), "proxies: /0");
	CHECK(creds_addr_in_list("10.1.2.3", "10.1.2.0/25") &&
	    !creds_addr_in_list("10.1.2.128", "10.1.2.0/25"),
	    "proxies: a prefix inside a byte");

	{
		char a[CREDS_ADDR_MAX + 1];
		const char *px = "127.0.0.1, 10.0.0.0/8";
		CHECK_STR(creds_client_addr("192.0.2.7", "198.51.100.1", px, a,
		    sizeof(a)), "192.0.2.7", "client: an untrusted peer's "
		    "X-Forwarded-For is not believed");
		CHECK_STR(creds_client_addr("127.0.0.1", "198.51.100.1", px, a,
		    sizeof(a)), "198.51.100.1", "client: behind a trusted proxy");
		CHECK_STR(creds_client_addr("127.0.0.1", "6.6.6.6, 198.51.100.1, "
		    "10.1.2.3", px, a, sizeof(a)), "198.51.100.1",
		    "client: the rightmost hop that is no proxy, never the "
		    "client's own claim before it");
		CHECK_STR(creds_client_addr("127.0.0.1", NULL, px, a, sizeof(a)),
		    "127.0.0.1", "client: no header, the peer");
		CHECK_STR(creds_client_addr("127.0.0.1", "x<script>, 10.0.0.2",
		    px, a, sizeof(a)), "10.0.0.2", "client: junk ends the walk at "
		    "the last hop believed");
		CHECK_STR(creds_client_addr("127.0.0.1", " 2001:db8::1 ", px, a,
		    sizeof(a)), "2001:db8::1", "client: IPv6, spaces trimmed");
		CHECK_STR(creds_client_addr(NULL, "1.2.3.4", px, a, sizeof(a)),
		    "-", "client: no peer");
	}
	CHECK(creds_request_https("on", NULL, NULL, NULL), "https: HTTPS=on");
	CHECK(!creds_request_https("off", NULL, NULL, NULL), "https: HTTPS=off");
	CHECK(!creds_request_https(NULL, "192.0.2.1", "https", list),
	    "https: X-Forwarded-Proto from a stranger is not believed");
	CHECK(creds_request_https(NULL, "127.0.0.1", "https", list),
	    "https: from a trusted proxy");
	CHECK(creds_request_https(NULL, "127.0.0.1", " HTTPS ", list),
	    "https: case and spaces");
	CHECK(!creds_request_https(NULL, "127.0.0.1", "http", list),
	    "https: a proxy saying http");
	CHECK(!creds_request_https(NULL, "127.0.0.1", "https, http", list),
	    "https: a list is not https");
	CHECK(!creds_request_https(NULL, "127.0.0.1", NULL, list),
	    "https: no header");
}

int
main(void)
{
	test_cookie();
	test_query();
	test_bearer_and_find();
	test_origin();
	test_url_decode();
	test_device();
	test_proxies();
	UNIT_EXIT();
}
