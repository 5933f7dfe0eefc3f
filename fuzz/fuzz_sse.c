/* fuzz_sse.c - worker/sse.h, the incremental SSE parser.
 *
 * The input is an upstream's response body. It is parsed whole, one byte at
 * a time, and in pieces whose sizes come from a generator seeded with the
 * input itself, each with a large and a small event maximum. Invariants:
 * every way of cutting the input gives the same events and the same result;
 * an event's data is NUL-terminated at len, holds no CR, and is at most the
 * maximum; a stream no longer than the maximum is never SSE_TOO_BIG; a
 * callback's non-zero return stops the parser and is returned. */
#include "fuzz.h"

#include "buf.h"
#include "sse.h"
#include "utf8.h"

#define STOP_RC 7  /* what the callback returns on an event "STOP" */

struct collect {
	struct lc_buf log;   /* each event as <len>:<bytes>, in order */
	size_t max_event;
	size_t events;
};

static int
on_event(void *arg, const char *data, size_t len)
{
	struct collect *c = arg;
	char head[32];

	FUZZ_CHECK(data != NULL);
	FUZZ_CHECK(data[len] == '\0');
	FUZZ_CHECK(len <= c->max_event);
	FUZZ_CHECK(memchr(data, '\r', len) == NULL);
	c->events++;
	int n = snprintf(head, sizeof(head), "%zu:", len);
	FUZZ_CHECK(buf_append(&c->log, head, (size_t)n) == LC_BUF_OK);
	FUZZ_CHECK(buf_append(&c->log, data, len) == LC_BUF_OK);

	/* What the worker does with a delta: the sanitized text is valid. */
	struct lc_buf clean;
	buf_init(&clean, 3 * len + 1);
	FUZZ_CHECK(utf8_append_sanitized(&clean, data, len) == LC_BUF_OK);
	FUZZ_CHECK(utf8_valid_prefix(buf_str(&clean), clean.len) == clean.len);
	buf_free(&clean);

	return len == 4 && memcmp(data, "STOP", 4) == 0 ? STOP_RC : 0;
}

enum mode { WHOLE, BYTES, PIECES };

/* Parses the input in the given mode; returns the result of the last call
 * (sse_feed's first non-zero, else sse_finish's) and fills c->log. */
static int
parse(const uint8_t *data, size_t size, enum mode mode, uint64_t seed,
    struct collect *c)
{
	struct sse_parser p;
	size_t i = 0;
	int rc = SSE_OK;

	sse_init(&p, c->max_event);
	while (i < size && rc == SSE_OK) {
		size_t n = size - i;
		if (mode == BYTES)
			n = 1;
		else if (mode == PIECES)
			n = fuzz_piece_len(&seed, size - i);
		/* A copy of exactly the piece: a read past it is a finding. */
		char *piece = malloc(n > 0 ? n : 1);
		FUZZ_CHECK(piece != NULL);
		memcpy(piece, data + i, n);
		rc = sse_feed(&p, piece, n, on_event, c);
		free(piece);
		i += n;
	}
	if (rc == SSE_OK)
		rc = sse_finish(&p, on_event, c);
	sse_free(&p);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t seed = fuzz_seed(data, size);

	const size_t maxes[2] = { 1 << 20, 1 + (size > 0 ? data[0] % 96 : 0) };
	for (int m = 0; m < 2; m++) {
		struct collect ref = { .max_event = maxes[m] };
		buf_init(&ref.log, 1 << 24);
		int ref_rc = parse(data, size, WHOLE, seed, &ref);
		FUZZ_CHECK(ref_rc == SSE_OK || ref_rc == SSE_TOO_BIG ||
		    ref_rc == STOP_RC);
		if (size <= maxes[m])
			FUZZ_CHECK(ref_rc != SSE_TOO_BIG);
		if (ref_rc == STOP_RC)
			FUZZ_CHECK(ref.log.len >= 6 && memcmp(ref.log.data +
			    ref.log.len - 6, "4:STOP", 6) == 0);

		for (enum mode mode = BYTES; mode <= PIECES; mode++) {
			struct collect c = { .max_event = maxes[m] };
			buf_init(&c.log, 1 << 24);
			int rc = parse(data, size, mode, seed, &c);
			FUZZ_CHECK(rc == ref_rc);
			FUZZ_CHECK(c.events == ref.events);
			FUZZ_CHECK_SAME(c.log.data, c.log.len, ref.log.data,
			    ref.log.len);
			buf_free(&c.log);
		}
		buf_free(&ref.log);
	}
	return 0;
}
