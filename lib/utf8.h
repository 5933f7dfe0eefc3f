/* utf8.h - UTF-8 validation, and the control characters a text may hold.
 * A browser closes a WebSocket that receives invalid UTF-8 in a text frame,
 * so nothing invalid may reach one. */
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

/* As utf8_append_sanitized, and every control character but tab, newline
 * and carriage return (U+0000 to U+001F, U+007F) becomes U+FFFD too: the text of a
 * reply, which cJSON then escapes to at most two bytes per byte (a quote,
 * a backslash, \t \n \r), never six. Returns a buf_append result. */
int utf8_append_text(struct lc_buf *out, const char *s, size_t n);

/* Control characters: U+0000 to U+001F and U+007F (DEL). cJSON writes
 * most of them as six bytes ("\u0001"), so a text full of them grows six
 * times in every JSON answer; prompts and titles refuse them. Returns the
 * offset of the first one in s[0..n) that is not in allowed (a string,
 * e.g. "\t\n\r", or "" for none), or n when there is none. */
size_t utf8_ctl_find(const char *s, size_t n, const char *allowed);

#endif
