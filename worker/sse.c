/* sse.c - incremental server-sent events parser. */
#include "sse.h"

#include <string.h>

#define SSE_LINE_SLACK 64

void
sse_init(struct sse_parser *p, size_t max_event)
{
	/* A line also holds its field name ("data: "), and the data buffer a
	 * newline after each line: allow for those, so that max_event bounds
	 * the event's data itself. */
	buf_init(&p->line, max_event + SSE_LINE_SLACK);
	buf_init(&p->data, max_event + 1);
	p->has_data = 0;
	p->after_cr = 0;
}

void
sse_free(struct sse_parser *p)
{
	buf_free(&p->line);
	buf_free(&p->data);
}

static int
buf_err(int rc)
{
	return rc == LC_BUF_TOO_BIG ? SSE_TOO_BIG : SSE_NOMEM;
}

/* Handles one complete line (without its terminator). */
static int
sse_line(struct sse_parser *p, sse_event_fn fn, void *arg)
{
	const char *s = buf_str(&p->line);
	size_t n = p->line.len;
	int rc = SSE_OK;

	if (n == 0) {
		if (p->has_data) {
			/* Drop the LF that followed the last data line. */
			size_t len = p->data.len > 0 ? p->data.len - 1 : 0;
			p->data.data[len] = '\0';
			rc = fn(arg, p->data.data, len);
		}
		buf_reset(&p->data);
		p->has_data = 0;
		return rc;
	}
	if (s[0] == ':')
		return SSE_OK;  /* comment */
	const char *colon = memchr(s, ':', n);
	size_t flen = colon != NULL ? (size_t)(colon - s) : n;
	if (flen != 4 || memcmp(s, "data", 4) != 0)
		return SSE_OK;  /* event, id, retry and unknown fields */
	const char *v = colon != NULL ? colon + 1 : s + n;
	if (v < s + n && *v == ' ')
		v++;
	if ((rc = buf_append(&p->data, v, (size_t)(s + n - v))) != LC_BUF_OK ||
	    (rc = buf_append(&p->data, "\n", 1)) != LC_BUF_OK)
		return buf_err(rc);
	p->has_data = 1;
	return SSE_OK;
}

int
sse_feed(struct sse_parser *p, const char *bytes, size_t n, sse_event_fn fn,
    void *arg)
{
	size_t i = 0;
	int rc;

	while (i < n) {
		if (p->after_cr) {
			p->after_cr = 0;
			if (bytes[i] == '\n') {
				i++;
				continue;
			}
		}
		/* Copy up to the next CR or LF in one go. */
		size_t j = i;
		while (j < n && bytes[j] != '\n' && bytes[j] != '\r')
			j++;
		if (j > i && (rc = buf_append(&p->line, bytes + i, j - i)) !=
		    LC_BUF_OK)
			return buf_err(rc);
		if (j == n)
			break;
		p->after_cr = bytes[j] == '\r';
		i = j + 1;
		rc = sse_line(p, fn, arg);
		buf_reset(&p->line);
		if (rc != SSE_OK)
			return rc;
	}
	return SSE_OK;
}

int
sse_finish(struct sse_parser *p, sse_event_fn fn, void *arg)
{
	int rc = SSE_OK;

	if (p->line.len > 0) {
		rc = sse_line(p, fn, arg);
		buf_reset(&p->line);
	}
	if (rc == SSE_OK && p->has_data) {
		buf_reset(&p->line);
		rc = sse_line(p, fn, arg);  /* an empty line dispatches */
	}
	return rc;
}
