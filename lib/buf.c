/* buf.c - bounded growing buffer. */
#include "buf.h"

#include <stdlib.h>
#include <string.h>

void
buf_init(struct lc_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

int
buf_append(struct lc_buf *b, const void *p, size_t n)
{
	if (n > b->max || b->len > b->max - n)
		return LC_BUF_TOO_BIG;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		if (cap > b->max + 1)
			cap = b->max + 1;
		char *d = realloc(b->data, cap);
		if (d == NULL)
			return LC_BUF_NOMEM;
		b->data = d;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return LC_BUF_OK;
}

int
buf_append_str(struct lc_buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

void
buf_reset(struct lc_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
buf_truncate(struct lc_buf *b, size_t n)
{
	if (n >= b->len)
		return;
	b->len = n;
	b->data[n] = '\0';
}

void
buf_consume(struct lc_buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void
buf_free(struct lc_buf *b)
{
	free(b->data);
	buf_init(b, b->max);
}

const char *
buf_str(const struct lc_buf *b)
{
	return b->data != NULL ? b->data : "";
}
