/* fuzz_utf8.c - lib/utf8.h: UTF-8 validation and sanitizing.
 *
 * Differential: utf8_valid_prefix and utf8_append_sanitized are compared
 * with a plain reference decoder written from RFC 3629 (no overlongs, no
 * surrogates, nothing past U+10FFFF; one U+FFFD per byte that does not
 * start a valid sequence). Also: the sanitized text is valid and equals the
 * input when the input was valid; with a small maximum the append fails
 * with LC_BUF_TOO_BIG and leaves a valid prefix of the full result. */
#include "fuzz.h"

#include "buf.h"
#include "utf8.h"

/* The length of the valid sequence at s (n bytes left), or 0. */
static size_t
ref_seq(const uint8_t *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact copy: a read past the end is a finding. */
	char *s = malloc(size > 0 ? size : 1);
	FUZZ_CHECK(s != NULL);
	if (size > 0)
		memcpy(s, data, size);

	/* The reference: the valid prefix and the sanitized text. */
	size_t ref_prefix = size, i = 0;
	struct lc_buf ref;
	buf_init(&ref, 3 * size + 1);
	while (i < size) {
		size_t k = ref_seq(data + i, size - i);
		if (k == 0) {
			if (ref_prefix == size)
				ref_prefix = i;
			FUZZ_CHECK(buf_append(&ref, "\xef\xbf\xbd", 3) == LC_BUF_OK);
			i++;
		} else {
			FUZZ_CHECK(buf_append(&ref, data + i, k) == LC_BUF_OK);
			i += k;
		}
	}

	size_t prefix = utf8_valid_prefix(s, size);
	FUZZ_CHECK(prefix == ref_prefix);
	FUZZ_CHECK(utf8_valid_prefix(s, prefix) == prefix);

	struct lc_buf out;
	buf_init(&out, 3 * size + 1);
	FUZZ_CHECK(utf8_append_sanitized(&out, s, size) == LC_BUF_OK);
	FUZZ_CHECK(out.len == ref.len);
	FUZZ_CHECK(out.len == 0 || memcmp(out.data, ref.data, out.len) == 0);
	FUZZ_CHECK(utf8_valid_prefix(buf_str(&out), out.len) == out.len);
	if (prefix == size)
		FUZZ_CHECK(out.len == size &&
		    (size == 0 || memcmp(out.data, s, size) == 0));

	/* Appending after existing text, with too little room. */
	if (out.len > 0) {
		struct lc_buf small;
		size_t max = out.len - 1 - (size_t)data[0] % out.len % 16;
		if (max > out.len - 1)
			max = 0;
		buf_init(&small, max);
		int rc = utf8_append_sanitized(&small, s, size);
		FUZZ_CHECK(rc == LC_BUF_TOO_BIG);
		FUZZ_CHECK(small.len <= max);
		FUZZ_CHECK(small.len == 0 ||
		    memcmp(small.data, out.data, small.len) == 0);
		FUZZ_CHECK(utf8_valid_prefix(buf_str(&small), small.len) ==
		    small.len);
		buf_free(&small);
	}
	buf_free(&out);
	buf_free(&ref);
	free(s);
	return 0;
}
