/* unit.h - a tiny TAP-style harness for the C unit tests.
 *
 * Each CHECK prints "ok - <name>" or "not ok - <name>" with the file and
 * line; tests/run.sh counts those lines. A test binary exits non-zero when
 * any check failed. */
#ifndef LC_UNIT_H
#define LC_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_failed;

#define CHECK(cond, name)                                                    \
	do {                                                                 \
		if (cond) {                                                  \
			printf("ok - %s\n", (name));                         \
		} else {                                                     \
			unit_failed++;                                       \
			printf("not ok - %s (%s:%d: %s)\n", (name), __FILE__,  \
			    __LINE__, #cond);                                \
		}                                                            \
		fflush(stdout);                                              \
	} while (0)

#define CHECK_STR(got, want, name)                                           \
	do {                                                                 \
		const char *g_ = (got), *w_ = (want);                        \
		int eq_ = g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0;   \
		CHECK(eq_, name);                                            \
		if (!eq_)                                                    \
			printf("#   got  \"%s\"\n#   want \"%s\"\n",           \
			    g_ ? g_ : "(null)", w_ ? w_ : "(null)");         \
	} while (0)

/* SQL that takes a database of this build's schema back to version 10
 * (the tests of older versions' migrations start from it): v11's worker
 * column, its index and the leases. */
#define UNDO_V11 \
	"DROP INDEX messages_streaming; ALTER TABLE messages DROP COLUMN worker;" \
	" DROP TABLE workers;"

#define UNIT_EXIT() return unit_failed ? 1 : 0

#endif
