/* test-inflight.c - unit tests of ws/inflight.c, the bounded set of replies
 * a session's client waits for: keys, final frames, the bound, failing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inflight.h"
#include "unit.h"

/* The worker's frames, as frames.c prints them. */
#define FALLBACK(id, conv) "{\"msgid\":\"" id "\"," conv "\"type\":\"error\"," \
	"\"error\":{\"code\":\"worker_unavailable\",\"message\":\"m\"}," \
	"\"text\":{\"content\":\"Error: m\"}}"
#define CONV "\"conversation_id\":\"0123456789abcdef0123456789abcdef\","

static int
add(struct inflight *f, const char *line)
{
	return inflight_add(f, line, strlen(line));
}

static int
done(struct inflight *f, const char *line)
{
	return inflight_done(f, line, strlen(line));
}

static char emitted[8][INFLIGHT_LINE_MAX + 1];
static int nemitted, emit_fail_after = -1;

static int
emit(void *arg, const char *line, size_t len)
{
	(void)arg;
	if (emit_fail_after >= 0 && nemitted >= emit_fail_after)
		return -1;
	if (nemitted < 8) {
		memcpy(emitted[nemitted], line, len);
		emitted[nemitted][len] = '\0';
	}
	nemitted++;
	return 0;
}

static void
test_final_frames(void)
{
	struct inflight f;

	inflight_init(&f);
	CHECK(add(&f, FALLBACK("m-1", CONV)) == INFLIGHT_OK, "add a reply");
	CHECK(add(&f, FALLBACK("m-2", "")) == INFLIGHT_OK,
	    "add an unstored reply (no conversation_id)");
	CHECK(inflight_count(&f) == 2, "two tracked");
	CHECK(done(&f, "{\"msgid\":\"m-1\"," CONV "\"type\":\"delta\","
	    "\"delta\":\"x\"}") == 0, "a delta does not end it");
	CHECK(done(&f, "{\"type\":\"start\",\"msgid\":\"m-1\"," CONV
	    "\"title\":\"t\"}") == 0, "a start frame does not end it");
	CHECK(done(&f, "{\"msgid\":\"m-1\",\"type\":\"reply\","
	    "\"text\":{}}") == 0, "another conversation's frame does not");
	CHECK(done(&f, "{\"msgid\":\"m-10\"," CONV "\"type\":\"reply\"}") == 0,
	    "a msgid that only starts the same does not");
	CHECK(done(&f, "{\"msgid\":\"m-1\"," CONV "\"type\":\"reply\","
	    "\"text\":{\"role\":\"assistant\",\"content\":\"hi\"}}") == 1,
	    "the reply frame ends it");
	CHECK(inflight_count(&f) == 1, "one left");
	CHECK(done(&f, "{\"msgid\":\"m-1\"," CONV "\"type\":\"reply\"}") == 0,
	    "a second final frame finds nothing");
	CHECK(done(&f, "{\"msgid\":\"m-2\",\"type\":\"error\",\"error\":{}}") ==
	    1, "an error frame ends it");
	CHECK(inflight_count(&f) == 0, "none left");
	CHECK(done(&f, "x") == 0, "a line with nothing tracked");
	inflight_free(&f);
}

static void
test_keys(void)
{
	struct inflight f;
	char big[INFLIGHT_LINE_MAX + 2];

	inflight_init(&f);
	CHECK(add(&f, "{\"msgid\":\"m\",\"text\":{}}") == INFLIGHT_BAD,
	    "a frame without a type is refused");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "{\"msgid\":\"m\",\"type\":\"", 21);
	CHECK(add(&f, big) == INFLIGHT_BAD, "an over-long frame is refused");
	/* An escaped quote inside the msgid is no key end. */
	CHECK(add(&f, FALLBACK("a\\\",\\\"type\\\":\\\"", CONV)) == INFLIGHT_OK,
	    "a msgid that looks like a key end");
	CHECK(done(&f, "{\"msgid\":\"a\\\",\\\"type\\\":\\\"\"," CONV
	    "\"type\":\"reply\"}") == 1, "its reply frame ends it");
	CHECK(add(&f, FALLBACK("m-1", CONV)) == INFLIGHT_OK, "add");
	CHECK(add(&f, FALLBACK("m-1", CONV)) == INFLIGHT_OK, "add it again");
	CHECK(inflight_count(&f) == 1, "the same key is tracked once");
	inflight_free(&f);
	CHECK(inflight_count(&f) == 0, "free empties the set");
	inflight_free(NULL);
	CHECK(1, "inflight_free accepts NULL");
}

static void
test_bound(void)
{
	struct inflight f;
	char line[256];

	inflight_init(&f);
	for (int i = 0; i < INFLIGHT_MAX; i++) {
		snprintf(line, sizeof(line), FALLBACK("m-%d", ""), i);
		if (add(&f, line) != INFLIGHT_OK)
			break;
	}
	CHECK(inflight_count(&f) == INFLIGHT_MAX, "fills up to INFLIGHT_MAX");
	CHECK(add(&f, FALLBACK("one-more", "")) == INFLIGHT_FULL,
	    "full: the next reply is not tracked");
	CHECK(inflight_count(&f) == INFLIGHT_MAX, "full: nothing changed");
	CHECK(add(&f, FALLBACK("m-3", "")) == INFLIGHT_OK,
	    "full: a tracked key can still be replaced");
	CHECK(done(&f, "{\"msgid\":\"m-0\",\"type\":\"reply\"}") == 1,
	    "full: a final frame frees a place");
	CHECK(add(&f, FALLBACK("one-more", "")) == INFLIGHT_OK,
	    "then a new reply is tracked");
	inflight_free(&f);
}

static void
test_fail(void)
{
	struct inflight f;

	inflight_init(&f);
	add(&f, FALLBACK("m-1", CONV));
	add(&f, FALLBACK("m-2", ""));
	add(&f, FALLBACK("m-3", ""));
	done(&f, "{\"msgid\":\"m-2\",\"type\":\"reply\"}");
	nemitted = 0;
	CHECK(inflight_fail(&f, emit, NULL) == 2, "fail emits each left");
	CHECK_STR(emitted[0], FALLBACK("m-1", CONV), "oldest first, whole");
	CHECK_STR(emitted[1], FALLBACK("m-3", ""), "then the next");
	CHECK(inflight_count(&f) == 0, "and forgets them");
	CHECK(inflight_fail(&f, emit, NULL) == 0, "a second fail emits nothing");
	add(&f, FALLBACK("m-4", ""));
	add(&f, FALLBACK("m-5", ""));
	nemitted = 0;
	emit_fail_after = 0;
	CHECK(inflight_fail(&f, emit, NULL) == 0, "the client gone: none sent");
	CHECK(inflight_count(&f) == 0, "and all forgotten");
	emit_fail_after = -1;
	inflight_free(&f);
}

int
main(void)
{
	test_final_frames();
	test_keys();
	test_bound();
	test_fail();
	UNIT_EXIT();
}
