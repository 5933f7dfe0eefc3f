/* test-sse.c - unit tests of worker/sse.c: the incremental SSE parser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"
#include "unit.h"

#define EV_MAX 32

struct events {
	int n;
	char *ev[EV_MAX];
	size_t len[EV_MAX];
	int unterminated;  /* data[len] was not NUL */
	int stop_at;       /* return stop_rc from the stop_at-th event */
	int stop_rc;
};

static int
on_event(void *arg, const char *data, size_t len)
{
	struct events *e = arg;

	if (data[len] != '\0')
		e->unterminated++;
	if (e->n < EV_MAX) {
		e->ev[e->n] = malloc(len + 1);
		memcpy(e->ev[e->n], data, len + 1);
		e->len[e->n] = len;
	}
	e->n++;
	return e->n == e->stop_at ? e->stop_rc : 0;
}

static void
events_free(struct events *e)
{
	for (int i = 0; i < e->n && i < EV_MAX; i++)
		free(e->ev[i]);
	memset(e, 0, sizeof(*e));
}

/* 1 if e holds exactly the want events (n of them), byte for byte. */
static int
events_eq(const struct events *e, const char *const *want, int n)
{
	if (e->n != n || e->unterminated != 0)
		return 0;
	for (int i = 0; i < n; i++)
		if (e->len[i] != strlen(want[i]) ||
		    memcmp(e->ev[i], want[i], e->len[i]) != 0)
			return 0;
	return 1;
}

static void
dump(const struct events *e)
{
	for (int i = 0; i < e->n && i < EV_MAX; i++)
		printf("#   event %d: \"%s\" (%zu)\n", i, e->ev[i], e->len[i]);
}

/* Parses s whole (split == (size_t)-1), in two pieces at split, or byte by
 * byte (split == (size_t)-2); then sse_finish. Returns the first error. */
static int
parse(const char *s, size_t n, size_t split, size_t max, struct events *e)
{
	struct sse_parser p;
	int rc = SSE_OK;

	sse_init(&p, max);
	if (split == (size_t)-2) {
		for (size_t i = 0; i < n && rc == SSE_OK; i++)
			rc = sse_feed(&p, s + i, 1, on_event, e);
	} else if (split == (size_t)-1) {
		rc = sse_feed(&p, s, n, on_event, e);
	} else {
		rc = sse_feed(&p, s, split, on_event, e);
		if (rc == SSE_OK)
			rc = sse_feed(&p, s + split, n - split, on_event, e);
	}
	if (rc == SSE_OK)
		rc = sse_finish(&p, on_event, e);
	sse_free(&p);
	return rc;
}

static int
parse_str(const char *s, size_t split, size_t max, struct events *e)
{
	return parse(s, strlen(s), split, max, e);
}

static const char stream[] =
    ": keep-alive\r\n"
    "\r\n"
    "data: hello\r\n\r\n"
    "data:x\n\n"
    "event: message\nid: 7\nretry: 100\ndata: a\ndata:  b\n\n"
    "data: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\r\r"
    "data: {\"k\":1}\n"
    ": comment between\n"
    "dataX: ignored\n"
    "data : ignored too\n"
    "\n"
    "event: only-event\n\n"
    "data\n\n"
    "data: cr\rdata: lf\ndata: crlf\r\n\r"
    "data: [DONE]\n\n";

static const char *const stream_want[] = {
	"hello", "x", "a\n b", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	"{\"k\":1}", "", "cr\nlf\ncrlf", "[DONE]",
};
#define STREAM_WANT 8

static void
test_splits(void)
{
	size_t n = sizeof(stream) - 1;
	struct events e = { 0 };
	int bad = 0;

	CHECK(parse(stream, n, (size_t)-1, 4096, &e) == SSE_OK,
	    "whole stream parses");
	CHECK(events_eq(&e, stream_want, STREAM_WANT), "whole stream events");
	if (!events_eq(&e, stream_want, STREAM_WANT))
		dump(&e);
	events_free(&e);

	for (size_t i = 0; i <= n; i++) {
		int rc = parse(stream, n, i, 4096, &e);
		if (rc != SSE_OK || !events_eq(&e, stream_want, STREAM_WANT)) {
			if (bad++ == 0) {
				printf("# split at %zu differs (rc %d)\n", i, rc);
				dump(&e);
			}
		}
		events_free(&e);
	}
	CHECK(bad == 0, "every split point gives identical events");

	CHECK(parse(stream, n, (size_t)-2, 4096, &e) == SSE_OK &&
	    events_eq(&e, stream_want, STREAM_WANT),
	    "byte-by-byte gives identical events");
	events_free(&e);
}

static void
test_line_endings(void)
{
	struct sse_parser p;
	struct events e = { 0 };
	static const char *const ab[] = { "a\nb" };
	static const char *const one[] = { "a" };
	static const char *const two[] = { "a", "b" };

	/* A CRLF split between feeds is one line end, not two. */
	sse_init(&p, 1024);
	CHECK(sse_feed(&p, "data: a\r", 8, on_event, &e) == SSE_OK &&
	    sse_feed(&p, "\ndata: b\r\n", 10, on_event, &e) == SSE_OK &&
	    e.n == 0 && sse_feed(&p, "\r", 1, on_event, &e) == SSE_OK &&
	    sse_feed(&p, "\n", 1, on_event, &e) == SSE_OK,
	    "CRLF split between feeds");
	CHECK(events_eq(&e, ab, 1), "CRLF split: one event a\\nb");
	CHECK(sse_finish(&p, on_event, &e) == SSE_OK && e.n == 1,
	    "CRLF split: nothing pending after the blank line");
	sse_free(&p);
	events_free(&e);

	CHECK(parse_str("data: a\r\rdata: b\r\r", (size_t)-1, 64, &e) ==
	    SSE_OK && events_eq(&e, two, 2), "lone CR line endings");
	events_free(&e);
	CHECK(parse_str("data: a\n\ndata: b\n\n", (size_t)-1, 64, &e) ==
	    SSE_OK && events_eq(&e, two, 2), "LF line endings");
	events_free(&e);
	CHECK(parse_str("data: a\r\n\r\n", (size_t)-1, 64, &e) == SSE_OK &&
	    events_eq(&e, one, 1), "CRLF line endings");
	events_free(&e);
	/* CR then LF-LF: CRLF ends the line, the next LF dispatches. */
	CHECK(parse_str("data: a\r\n\n", 8, 64, &e) == SSE_OK &&
	    events_eq(&e, one, 1), "CR|LF LF");
	events_free(&e);
	CHECK(parse_str(": only a comment\n\n: another\n\n", (size_t)-1, 64,
	    &e) == SSE_OK && e.n == 0, "comments alone dispatch nothing");
	events_free(&e);
	CHECK(parse_str("id: 1\nevent: x\nretry: 5\n\n", (size_t)-1, 64,
	    &e) == SSE_OK && e.n == 0, "an event without data dispatches nothing");
	events_free(&e);
}

static void
test_finish_and_stop(void)
{
	struct sse_parser p;
	struct events e = { 0 };
	static const char *const done[] = { "[DONE]" };
	static const char *const first[] = { "1", "2" };

	sse_init(&p, 1024);
	CHECK(sse_feed(&p, "data: [DONE]", 12, on_event, &e) == SSE_OK &&
	    e.n == 0, "unterminated last line: nothing yet");
	CHECK(sse_finish(&p, on_event, &e) == SSE_OK && events_eq(&e, done, 1),
	    "sse_finish dispatches an unterminated data: [DONE]");
	sse_free(&p);
	events_free(&e);

	CHECK(parse_str("data: [DONE]\n", (size_t)-1, 64, &e) == SSE_OK &&
	    events_eq(&e, done, 1), "sse_finish dispatches a pending event");
	events_free(&e);
	CHECK(parse_str("data: [DONE]\r", (size_t)-1, 64, &e) == SSE_OK &&
	    events_eq(&e, done, 1), "sse_finish after a final CR");
	events_free(&e);
	CHECK(parse_str("", (size_t)-1, 64, &e) == SSE_OK && e.n == 0,
	    "empty stream: no event");
	events_free(&e);
	CHECK(parse_str(": tail", (size_t)-1, 64, &e) == SSE_OK && e.n == 0,
	    "unterminated comment: no event");
	events_free(&e);

	/* The callback's non-zero return stops the feed and is returned. */
	e.stop_at = 2;
	e.stop_rc = 7;
	sse_init(&p, 1024);
	CHECK(sse_feed(&p, "data: 1\n\ndata: 2\n\ndata: 3\n\n", 27, on_event,
	    &e) == 7, "callback's 7 returned by sse_feed");
	CHECK(events_eq(&e, first, 2), "no event after the callback stopped");
	sse_free(&p);
	events_free(&e);
	e.stop_at = 1;
	e.stop_rc = -42;
	sse_init(&p, 1024);
	CHECK(sse_feed(&p, "data: 1", 7, on_event, &e) == SSE_OK &&
	    sse_finish(&p, on_event, &e) == -42 && e.n == 1,
	    "callback's -42 returned by sse_finish");
	sse_free(&p);
	events_free(&e);
}

static void
test_too_big(void)
{
	struct sse_parser p;
	struct events e = { 0 };
	char big[1200];
	int rc = SSE_OK;

	memset(big, 'a', sizeof(big));
	sse_init(&p, 64);
	for (size_t i = 0; i < sizeof(big) && rc == SSE_OK; i += 100)
		rc = sse_feed(&p, big + i, 100, on_event, &e);
	CHECK(rc == SSE_TOO_BIG, "endless line -> SSE_TOO_BIG");
	/* max_event bounds the data; a line may add its field name (64). */
	CHECK(p.line.len <= 64 + 64 && p.data.len <= 64 + 1,
	    "growth stays bounded");
	sse_free(&p);

	memcpy(big, "data: ", 6);
	memcpy(big + 106, "\n\n", 2);
	CHECK(parse(big, 108, (size_t)-1, 64, &e) == SSE_TOO_BIG && e.n == 0,
	    "one 100-byte data line over a 64-byte max -> SSE_TOO_BIG");
	events_free(&e);
	const char *many = "data: 12345\ndata: 12345\ndata: 12345\n"
	    "data: 12345\ndata: 12345\n\n";
	CHECK(parse(many, strlen(many), (size_t)-1, 16, &e) == SSE_TOO_BIG &&
	    e.n == 0, "data over max in short lines -> SSE_TOO_BIG");
	events_free(&e);

	static const char *const w15[] = { "1234567\n1234567" };
	static const char *const w16[] = { "12345678\n1234567" };
	const char *s15 = "data: 1234567\ndata: 1234567\n\n";
	const char *s16 = "data: 12345678\ndata: 1234567\n\n";
	CHECK(parse(s15, strlen(s15), (size_t)-1, 16, &e) == SSE_OK &&
	    events_eq(&e, w15, 1), "15-byte event under a 16-byte max ok");
	events_free(&e);
	rc = parse(s16, strlen(s16), (size_t)-1, 16, &e);
	CHECK(rc == SSE_OK && events_eq(&e, w16, 1),
	    "event data of exactly max_event bytes accepted");
	if (rc != SSE_OK)
		printf("#   got rc %d for 16 bytes of data, max_event 16\n", rc);
	events_free(&e);
}

static void
test_utf8_split(void)
{
	const char s[] = "data: \xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x8c\x8d\n\n";
	const char *want = "\xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x8c\x8d";
	struct sse_parser p;
	struct events e = { 0 };
	int bad = 0;

	for (size_t i = 7; i < 17; i++) {
		sse_init(&p, 256);
		if (sse_feed(&p, s, i, on_event, &e) != SSE_OK ||
		    sse_feed(&p, s + i, sizeof(s) - 1 - i, on_event, &e) !=
		    SSE_OK || !events_eq(&e, &want, 1))
			bad++;
		sse_free(&p);
		events_free(&e);
	}
	CHECK(bad == 0, "multi-byte UTF-8 split in every place byte-identical");
}

int
main(void)
{
	test_splits();
	test_line_endings();
	test_finish_and_stop();
	test_too_big();
	test_utf8_split();
	UNIT_EXIT();
}
