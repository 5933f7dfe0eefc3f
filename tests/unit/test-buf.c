/* test-buf.c - the bounded buffer: appends within the maximum (a refused
 * one leaves it as it was), consume, truncate, reset, always NUL-terminated. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "unit.h"

int
main(void)
{
	struct lc_buf b;

	buf_init(&b, 10);
	CHECK(b.data == NULL && strcmp(buf_str(&b), "") == 0,
	    "a new buffer: nothing allocated, reads as \"\"");
	CHECK(buf_append(&b, "hello", 5) == LC_BUF_OK && b.len == 5 &&
	    b.cap >= 6 && strcmp(buf_str(&b), "hello") == 0,
	    "append within the maximum");
	CHECK(buf_append(&b, "123456", 6) == LC_BUF_TOO_BIG && b.len == 5 &&
	    strcmp(buf_str(&b), "hello") == 0,
	    "append past the maximum: refused, the buffer as it was");
	CHECK(buf_append(&b, "world", 5) == LC_BUF_OK && b.len == 10 &&
	    b.cap == 11 && strcmp(buf_str(&b), "helloworld") == 0,
	    "append up to the maximum exactly: the allocation is max + 1");
	CHECK(buf_append(&b, "", 0) == LC_BUF_OK && b.len == 10,
	    "an empty append when full");
	CHECK(buf_append(&b, "!", 1) == LC_BUF_TOO_BIG && b.len == 10,
	    "one byte past the maximum");
	CHECK(buf_append(&b, "x", (size_t)-1) == LC_BUF_TOO_BIG && b.len == 10,
	    "a length that would wrap: refused");
	buf_consume(&b, 3);
	CHECK(b.len == 7 && strcmp(buf_str(&b), "loworld") == 0,
	    "consume: the rest moves to the front");
	buf_truncate(&b, 2);
	CHECK(b.len == 2 && strcmp(buf_str(&b), "lo") == 0, "truncate");
	buf_truncate(&b, 5);
	CHECK(b.len == 2, "truncate past the end changes nothing");
	buf_consume(&b, 9);
	CHECK(b.len == 0 && strcmp(buf_str(&b), "") == 0,
	    "consume past the end empties it");
	size_t cap = b.cap;
	CHECK(buf_append_str(&b, "abc") == LC_BUF_OK && b.cap == cap,
	    "append after emptying reuses the allocation");
	buf_reset(&b);
	CHECK(b.len == 0 && b.cap == cap && b.data[0] == '\0',
	    "reset keeps the allocation");
	buf_free(&b);
	CHECK(b.data == NULL && b.len == 0 && b.max == 10,
	    "free: reusable, the maximum kept");
	buf_free(&b);  /* twice: as free(NULL) */

	/* growth: every byte kept through the reallocations */
	buf_init(&b, 1 << 20);
	char chunk[1000];
	int ok = 1;
	for (int i = 0; ok && i < 1048; i++) {
		memset(chunk, 'a' + i % 26, sizeof(chunk));
		ok = buf_append(&b, chunk, sizeof(chunk)) == LC_BUF_OK;
	}
	CHECK(ok && b.len == 1048000, "a megabyte in 1000-byte appends");
	int same = 1;
	for (size_t i = 0; i < b.len; i++)
		if (b.data[i] != (char)('a' + (int)(i / 1000) % 26))
			same = 0;
	CHECK(same && b.data[b.len] == '\0', "every byte in its place, NUL after");
	CHECK(buf_append(&b, chunk, sizeof(chunk)) == LC_BUF_TOO_BIG &&
	    b.len == 1048000, "then past the maximum: refused");
	buf_free(&b);
	return unit_failed ? 1 : 0;
}
