/* utf8.c - strict UTF-8 validation (RFC 3629), and finding control
 * characters. */
#include "utf8.h"

#include <string.h>

/* Returns the length of the valid sequence at s (n bytes left), or 0. */
static size_t
seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
			return 0;  /* overlong, or a UTF-16 surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
			return 0;  /* overlong, or past U+10FFFF */
		return 4;
	}
	return 0;
}

size_t
utf8_valid_prefix(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		size_t k = seq_len(p + i, n - i);
		if (k == 0)
			break;
		i += k;
	}
	return i;
}

int
utf8_append_sanitized(struct lc_buf *out, const char *s, size_t n)
{
	size_t i = 0;
	int rc;

	while (i < n) {
		size_t ok = utf8_valid_prefix(s + i, n - i);
		if (ok > 0 && (rc = buf_append(out, s + i, ok)) != LC_BUF_OK)
			return rc;
		i += ok;
		if (i < n) {
			if ((rc = buf_append(out, "\xef\xbf\xbd", 3)) != LC_BUF_OK)
				return rc;
			i++;
		}
	}
	return LC_BUF_OK;
}

int
utf8_append_text(struct lc_buf *out, const char *s, size_t n)
{
	size_t i = 0;
	int rc;

	while (i < n) {
		/* A control character is one byte of its own in UTF-8. */
		size_t run = utf8_ctl_find(s + i, n - i, "\t\n\r");
		if (run > 0 && (rc = utf8_append_sanitized(out, s + i, run)) !=
		    LC_BUF_OK)
			return rc;
		i += run;
		if (i < n) {
			if ((rc = buf_append(out, "\xef\xbf\xbd", 3)) != LC_BUF_OK)
				return rc;
			i++;
		}
	}
	return LC_BUF_OK;
}

size_t
utf8_ctl_find(const char *s, size_t n, const char *allowed)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 || c == 0x7f) &&
		    (c == 0 || strchr(allowed, c) == NULL))
			return i;
	}
	return n;
}
