/* test-utf8.c - unit tests of lib/utf8.c: strict validation, sanitizing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "unit.h"

#define FFFD "\xef\xbf\xbd"

struct vcase {
	const char *s;
	size_t n;       /* bytes of s */
	size_t want;    /* valid prefix */
	const char *name;
};

#define V(lit, want, name) { lit, sizeof(lit) - 1, want, name }

static const struct vcase vcases[] = {
	V("", 0, "empty"),
	V("hello", 5, "ASCII"),
	V("a\x00" "b", 3, "NUL is valid ASCII"),
	V("\x7f", 1, "DEL"),
	V("\xc2\x80", 2, "2-byte lowest U+0080"),
	V("\xdf\xbf", 2, "2-byte highest U+07FF"),
	V("caf\xc3\xa9", 5, "2-byte in text"),
	V("\xe0\xa0\x80", 3, "3-byte lowest U+0800"),
	V("\xe2\x82\xac", 3, "3-byte euro"),
	V("\xed\x9f\xbf", 3, "U+D7FF before the surrogates"),
	V("\xee\x80\x80", 3, "U+E000 after the surrogates"),
	V("\xef\xbf\xbf", 3, "U+FFFF"),
	V("\xf0\x90\x80\x80", 4, "4-byte lowest U+10000"),
	V("\xf0\x9f\x98\x80", 4, "emoji"),
	V("\xf4\x8f\xbf\xbf", 4, "U+10FFFF"),
	V("ok\xc0\x80", 2, "overlong C0 80"),
	V("ok\xc1\xbf", 2, "overlong C1 BF"),
	V("ok\xe0\x80\x80", 2, "overlong E0 80 80"),
	V("ok\xe0\x9f\xbf", 2, "overlong E0 9F BF"),
	V("ok\xf0\x80\x80\x80", 2, "overlong F0 80 80 80"),
	V("ok\xf0\x8f\xbf\xbf", 2, "overlong F0 8F BF BF"),
	V("ok\xed\xa0\x80", 2, "surrogate ED A0 80"),
	V("ok\xed\xbf\xbf", 2, "surrogate ED BF BF"),
	V("ok\xf4\x90\x80\x80", 2, "past U+10FFFF F4 90 80 80"),
	V("ok\xf5\x80\x80\x80", 2, "F5 lead"),
	V("ok\xf8\x88\x80\x80\x80", 2, "5-byte form"),
	V("ok\xff", 2, "FF"),
	V("ok\xfe", 2, "FE"),
	V("ok\x80", 2, "lone continuation"),
	V("ok\xbf", 2, "lone continuation BF"),
	V("ok\xc3", 2, "truncated 2-byte"),
	V("ok\xe2\x82", 2, "truncated 3-byte"),
	V("ok\xe2", 2, "truncated 3-byte, lead only"),
	V("ok\xf0\x9f\x98", 2, "truncated 4-byte"),
	V("ok\xc3" "a", 2, "2-byte lead then ASCII"),
	V("ok\xe2\x82" "a", 2, "3-byte cut by ASCII"),
	V("ok\xf0\x9f\x98" "a", 2, "4-byte cut by ASCII"),
	V("ok\xc3\xc3\xa9", 2, "lead then lead"),
	V("\xe2\x82\xac\xe2\x82", 3, "valid then truncated"),
};

static void
test_valid_prefix(void)
{
	char name[128];

	for (size_t i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
		size_t got = utf8_valid_prefix(vcases[i].s, vcases[i].n);
		snprintf(name, sizeof(name), "prefix: %s", vcases[i].name);
		CHECK(got == vcases[i].want, name);
		if (got != vcases[i].want)
			printf("#   got %zu want %zu\n", got, vcases[i].want);
	}
	/* n limits the look: a sequence cut by n is not valid. */
	CHECK(utf8_valid_prefix("\xe2\x82\xac", 2) == 0,
	    "prefix: n cuts a sequence");
	CHECK(utf8_valid_prefix("ab\xe2\x82\xac", 4) == 2,
	    "prefix: n cuts a later sequence");
	CHECK(utf8_valid_prefix("abc", 0) == 0, "prefix: n 0");

	/* Every code point encodes and validates; a long valid string too. */
	static char all[4 * 0x110000];
	size_t n = 0;
	for (unsigned cp = 0; cp < 0x110000; cp++) {
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		if (cp < 0x80) {
			all[n++] = (char)cp;
		} else if (cp < 0x800) {
			all[n++] = (char)(0xc0 | (cp >> 6));
			all[n++] = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			all[n++] = (char)(0xe0 | (cp >> 12));
			all[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			all[n++] = (char)(0x80 | (cp & 0x3f));
		} else {
			all[n++] = (char)(0xf0 | (cp >> 18));
			all[n++] = (char)(0x80 | ((cp >> 12) & 0x3f));
			all[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			all[n++] = (char)(0x80 | (cp & 0x3f));
		}
	}
	CHECK(utf8_valid_prefix(all, n) == n, "prefix: every scalar value");

	/* Every surrogate is refused. */
	int bad = 0;
	for (unsigned cp = 0xd800; cp <= 0xdfff; cp++) {
		char s[3] = { (char)(0xe0 | (cp >> 12)),
			(char)(0x80 | ((cp >> 6) & 0x3f)),
			(char)(0x80 | (cp & 0x3f)) };
		if (utf8_valid_prefix(s, 3) != 0)
			bad++;
	}
	CHECK(bad == 0, "prefix: all 2048 surrogates refused");
}

/* Sanitizes s[0..n) into a buffer of max bytes; compares with want. */
static int
sanitized_is(const char *s, size_t n, const char *want, size_t wantlen)
{
	struct lc_buf b;
	int ok;

	buf_init(&b, 4096);
	ok = utf8_append_sanitized(&b, s, n) == LC_BUF_OK && b.len == wantlen &&
	    memcmp(buf_str(&b), want, wantlen) == 0;
	if (!ok)
		printf("#   got %zu bytes: \"%s\"\n", b.len, buf_str(&b));
	buf_free(&b);
	return ok;
}

#define SAN(in, out, name)                                                   \
	CHECK(sanitized_is(in, sizeof(in) - 1, out, sizeof(out) - 1), name)

static void
test_sanitize(void)
{
	struct lc_buf b;

	SAN("plain text", "plain text", "sanitize: ASCII unchanged");
	SAN("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	    "sanitize: valid multi-byte byte-identical");
	SAN("", "", "sanitize: empty");
	SAN("a\xff" "b", "a" FFFD "b", "sanitize: one bad byte");
	SAN("\xff\xfe", FFFD FFFD, "sanitize: two bad bytes, two U+FFFD");
	SAN("a\xc0\x80" "b", "a" FFFD FFFD "b", "sanitize: overlong C0 80");
	SAN("\xed\xa0\x80", FFFD FFFD FFFD, "sanitize: surrogate, 3 bytes");
	SAN("x\xf4\x90\x80\x80", "x" FFFD FFFD FFFD FFFD,
	    "sanitize: past U+10FFFF");
	SAN("ab\xe2\x82", "ab" FFFD FFFD, "sanitize: truncated at the end");
	SAN("\xe2\x82\xe2\x82\xac", FFFD FFFD "\xe2\x82\xac",
	    "sanitize: truncated then valid");
	SAN("\x80\xc3\xa9", FFFD "\xc3\xa9", "sanitize: stray continuation");
	SAN(FFFD, FFFD, "sanitize: U+FFFD itself kept");

	/* The result of sanitizing anything is valid UTF-8. */
	unsigned char junk[1024];
	unsigned seed = 12345;
	for (size_t i = 0; i < sizeof(junk); i++) {
		seed = seed * 1103515245u + 12345u;
		junk[i] = (unsigned char)(seed >> 16);
	}
	buf_init(&b, 8192);
	CHECK(utf8_append_sanitized(&b, (const char *)junk, sizeof(junk)) ==
	    LC_BUF_OK && utf8_valid_prefix(b.data, b.len) == b.len,
	    "sanitize: random bytes become valid UTF-8");
	buf_free(&b);

	/* Appends after what is there. */
	buf_init(&b, 64);
	buf_append_str(&b, "pre:");
	CHECK(utf8_append_sanitized(&b, "\xc3\xa9", 2) == LC_BUF_OK &&
	    strcmp(buf_str(&b), "pre:\xc3\xa9") == 0, "sanitize: appends");
	buf_free(&b);

	/* The buffer maximum is respected. */
	buf_init(&b, 8);
	CHECK(utf8_append_sanitized(&b, "12345678", 8) == LC_BUF_OK &&
	    b.len == 8, "max: exactly max ok");
	CHECK(utf8_append_sanitized(&b, "9", 1) == LC_BUF_TOO_BIG && b.len == 8,
	    "max: one more refused, len unchanged");
	buf_free(&b);
	buf_init(&b, 4);
	CHECK(utf8_append_sanitized(&b, "ab\xff", 3) == LC_BUF_TOO_BIG &&
	    b.len <= 4, "max: replacement past max refused, len <= max");
	buf_free(&b);
	buf_init(&b, 5);
	CHECK(utf8_append_sanitized(&b, "ab\xff", 3) == LC_BUF_OK && b.len == 5,
	    "max: replacement exactly to max ok");
	buf_free(&b);
	buf_init(&b, 3);
	CHECK(utf8_append_sanitized(&b, "\xf0\x9f\x98\x80", 4) ==
	    LC_BUF_TOO_BIG && b.len == 0, "max: 4-byte char never cut");
	buf_free(&b);
}

static void
test_ctl_find(void)
{
	CHECK(utf8_ctl_find("plain ☃ text", 14, "") == 14, "ctl: none");
	CHECK(utf8_ctl_find("a\tb", 3, "") == 1, "ctl: tab, not allowed");
	CHECK(utf8_ctl_find("a\tb\nc\r", 6, "\t\n\r") == 6,
	    "ctl: tab, newline, CR allowed");
	CHECK(utf8_ctl_find("ab\x01", 3, "\t\n\r") == 2, "ctl: U+0001");
	CHECK(utf8_ctl_find("\x1b[31m", 5, "\t\n\r") == 0, "ctl: escape");
	CHECK(utf8_ctl_find("x\x7f", 2, "\t\n\r") == 1, "ctl: DEL");
	CHECK(utf8_ctl_find("x\0y", 3, "\t\n\r") == 1,
	    "ctl: NUL, never allowed");
	CHECK(utf8_ctl_find("\xc2\x85", 2, "") == 2,
	    "ctl: U+0085 (C1, two bytes in UTF-8) is not one");
	CHECK(utf8_ctl_find("\x01", 0, "") == 0, "ctl: n 0");
}

static void
test_append_text(void)
{
	struct lc_buf b;

	buf_init(&b, 64);
	CHECK(utf8_append_text(&b, "a\tb\nc\r\n☃", 10) == LC_BUF_OK &&
	    b.len == 10 && memcmp(b.data, "a\tb\nc\r\n☃", 10) == 0,
	    "text: tab, newlines and UTF-8 kept");
	buf_reset(&b);
	CHECK(utf8_append_text(&b, "x\x01y\x1b\x7f", 5) == LC_BUF_OK &&
	    b.len == 11 && memcmp(b.data,
	    "x\xef\xbf\xbdy\xef\xbf\xbd\xef\xbf\xbd", 11) == 0,
	    "text: control characters and DEL become U+FFFD");
	buf_reset(&b);
	CHECK(utf8_append_text(&b, "a\0b\xff", 4) == LC_BUF_OK && b.len == 8 &&
	    memcmp(b.data, "a\xef\xbf\xbd" "b\xef\xbf\xbd", 8) == 0,
	    "text: NUL and invalid UTF-8 become U+FFFD");
	buf_reset(&b);
	CHECK(utf8_append_text(&b, "\x01\x01\x01\x01\x01\x01\x01\x01"
	    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01", 22) ==
	    LC_BUF_TOO_BIG && b.len <= 64,
	    "text: the buffer's maximum holds (each becomes 3 bytes)");
	buf_reset(&b);
	CHECK(utf8_append_text(&b, "", 0) == LC_BUF_OK && b.len == 0,
	    "text: nothing");
	buf_free(&b);
}

int
main(void)
{
	test_valid_prefix();
	test_sanitize();
	test_ctl_find();
	test_append_text();
	UNIT_EXIT();
}
