/* monotime.c - monotonic clock helpers. */
#include "monotime.h"

void
monotime_now(struct timespec *t)
{
	clock_gettime(CLOCK_MONOTONIC, t);
}

long long
monotime_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

long
monotime_ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - t->tv_sec) * 1000 +
	    (now.tv_nsec - t->tv_nsec) / 1000000;
}
