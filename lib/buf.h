/* buf.h - a growing byte buffer with a mandatory maximum.
 *
 * Past its maximum an append fails with LC_BUF_TOO_BIG and the buffer is left
 * as it was: growth is never unbounded. The data is always NUL-terminated. */
#ifndef LC_BUF_H
#define LC_BUF_H

#include <stddef.h>

enum lc_buf_err { LC_BUF_OK = 0, LC_BUF_NOMEM = -1, LC_BUF_TOO_BIG = -2 };

struct lc_buf {
	char *data;   /* NULL until the first append */
	size_t len;   /* bytes used, not counting the terminating NUL */
	size_t cap;   /* bytes allocated */
	size_t max;   /* largest len allowed */
};

/* Initialises an empty buffer that may hold at most max bytes. */
void buf_init(struct lc_buf *b, size_t max);

/* Appends n bytes. Returns LC_BUF_OK, LC_BUF_NOMEM or LC_BUF_TOO_BIG. */
int buf_append(struct lc_buf *b, const void *p, size_t n);

/* Appends a NUL-terminated string; same returns as buf_append. */
int buf_append_str(struct lc_buf *b, const char *s);

/* Forgets the contents but keeps the allocation. */
void buf_reset(struct lc_buf *b);

/* Keeps only the first n bytes (n <= len): undoes appends. */
void buf_truncate(struct lc_buf *b, size_t n);

/* Removes the first n bytes (n <= len). */
void buf_consume(struct lc_buf *b, size_t n);

/* Frees the allocation; the buffer may be reused after buf_init. */
void buf_free(struct lc_buf *b);

/* Returns the contents (a NUL-terminated string, "" when empty). */
const char *buf_str(const struct lc_buf *b);

#endif
