/* throttle.h - growing delays between failed logins, and a bounded table of
 * failures in memory: what login throttling falls back on when the database
 * cannot count them (disk full, database unreadable or locked).
 *
 * The rule: after max failures of a key within the window, each further
 * attempt waits min(2^(failures - max), max_delay) seconds after the last
 * failure; nothing is a hard wall. */
#ifndef LC_THROTTLE_H
#define LC_THROTTLE_H

#define THROTTLE_KEY_MAX 160
#define THROTTLE_SLOTS 512

/* Returns the seconds (rounded up, at least 1) an attempt must still wait
 * after count failures, the last at last_ms, at now_ms; 0 if it may go on. */
long throttle_wait(int count, int max, long max_delay, long long last_ms,
    long long now_ms);

struct throttle_slot {
	char key[THROTTLE_KEY_MAX];   /* "" : free */
	int count;
	long long first_ms, last_ms;
};

/* A fixed table, zeroed to start (static or calloc): no allocation. */
struct throttle {
	struct throttle_slot slot[THROTTLE_SLOTS];
};

/* Counts a failure of key at now_ms. A key's failures are forgotten once
 * window_s passes without a new one; a full table gives up the slot least recently failed. Keys
 * longer than THROTTLE_KEY_MAX - 1 bytes are cut (still one key each). */
void throttle_fail(struct throttle *t, const char *key, long window_s,
    long long now_ms);

/* Returns key's failures within window_s (0 unknown) and sets *last_ms to
 * the last one's time. */
int throttle_count(const struct throttle *t, const char *key, long window_s,
    long long now_ms, long long *last_ms);

/* Forgets key. */
void throttle_clear(struct throttle *t, const char *key);

#endif
