/* utf8.h - UTF-8 validation. A browser closes a WebSocket that receives
 * invalid UTF-8 in a text frame, so nothing invalid may reach one. */
#ifndef LC_UTF8_H
#define LC_UTF8_H

#include <stddef.h>

#include "buf.h"

/* Returns the length of the longest prefix of s[0..n) that is valid UTF-8
 * (n when all of it is): no overlongs, surrogates or code points past
 * U+10FFFF. */
size_t utf8_valid_prefix(const char *s, size_t n);

/* Appends s[0..n) to out with every invalid sequence replaced by U+FFFD.
 * Returns a buf_append result. */
int utf8_append_sanitized(struct lc_buf *out, const char *s, size_t n);

#endif
