/* test-throttle.c - unit tests of lib/throttle.c: the growing delays and
 * the bounded in-memory table of failures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "throttle.h"
#include "unit.h"

static void
test_wait(void)
{
	long long t = 1000000;

	CHECK(throttle_wait(0, 3, 300, 0, t) == 0, "wait: no failures");
	CHECK(throttle_wait(2, 3, 300, t, t) == 0, "wait: under the limit");
	CHECK(throttle_wait(3, 3, 300, t, t) == 1, "wait: at the limit 1 s");
	CHECK(throttle_wait(4, 3, 300, t, t) == 2, "wait: one more 2 s");
	CHECK(throttle_wait(5, 3, 300, t, t) == 4, "wait: two more 4 s");
	CHECK(throttle_wait(13, 3, 300, t, t) == 300, "wait: capped");
	CHECK(throttle_wait(100000, 3, 300, t, t) == 300, "wait: huge count");
	CHECK(throttle_wait(5, 3, 300, t, t + 1500) == 3, "wait: rounded up");
	CHECK(throttle_wait(5, 3, 300, t, t + 4000) == 0, "wait: over");
	CHECK(throttle_wait(5, 3, 300, t, t + 3999) == 1, "wait: 1 ms is 1 s");
}

static void
test_table(void)
{
	struct throttle *t = calloc(1, sizeof(*t));
	long long last = 0, now = 5000000;
	char key[32];

	if (t == NULL)
		exit(2);
	CHECK(throttle_count(t, "user:a", 600, now, &last) == 0 && last == 0,
	    "table: unknown key");
	throttle_fail(t, "user:a", 600, now);
	throttle_fail(t, "user:a", 600, now + 10);
	CHECK(throttle_count(t, "user:a", 600, now + 20, &last) == 2 &&
	    last == now + 10, "table: counts and last");
	CHECK(throttle_count(t, "user:b", 600, now + 20, &last) == 0,
	    "table: keys apart");
	CHECK(throttle_count(t, "user:a", 600, now + 600011, &last) == 0,
	    "table: forgotten after the window");
	throttle_fail(t, "user:a", 600, now + 700000);
	CHECK(throttle_count(t, "user:a", 600, now + 700000, &last) == 1,
	    "table: a new streak after the window");
	throttle_clear(t, "user:a");
	CHECK(throttle_count(t, "user:a", 600, now + 700000, &last) == 0,
	    "table: cleared");
	/* A flood of other keys keeps the hot one (least recently failed
	 * goes first). */
	throttle_fail(t, "addr:x", 600, now);
	for (int i = 0; i < THROTTLE_SLOTS * 2; i++) {
		snprintf(key, sizeof(key), "user:%d", i);
		throttle_fail(t, key, 600, now + i);
		if (i % 64 == 0)
			throttle_fail(t, "addr:x", 600, now + i);
	}
	CHECK(throttle_count(t, "addr:x", 600, now + THROTTLE_SLOTS * 2,
	    &last) == 1 + (THROTTLE_SLOTS * 2) / 64,
	    "table: the hot key survives a flood");
	CHECK(throttle_count(t, "user:0", 600, now + THROTTLE_SLOTS * 2,
	    &last) == 0, "table: the coldest key went");
	char longkey[400];
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	throttle_fail(t, longkey, 600, now);
	CHECK(throttle_count(t, longkey, 600, now, &last) == 1,
	    "table: an over-long key is cut, still counted");
	free(t);
}

int
main(void)
{
	test_wait();
	test_table();
	UNIT_EXIT();
}
