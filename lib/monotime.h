/* monotime.h - elapsed time on the monotonic clock (not affected by the
 * wall clock being set). */
#ifndef LC_MONOTIME_H
#define LC_MONOTIME_H

#include <time.h>

/* Stores the current monotonic time in t. */
void monotime_now(struct timespec *t);

/* Returns the monotonic clock in milliseconds (from an arbitrary start). */
long long monotime_ms(void);

/* Returns the milliseconds elapsed since t. */
long monotime_ms_since(const struct timespec *t);

#endif
