/* test-health.c - what /health and /metrics ask of the store
 * (lib/store_health.c): the health write, refused within its short wait
 * while another connection holds the write lock; counters shared by every
 * connection (the FastCGI processes of both pools); a NULL store. */
#include <sqlite3.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "monotime.h"
#include "store.h"
#include "unit.h"

struct seen {
	long long ok, bad;
	int n;
};

static int
collect(void *arg, const char *name, long long value)
{
	struct seen *s = arg;

	s->n++;
	if (strcmp(name, "login_ok") == 0)
		s->ok = value;
	if (strcmp(name, "login_bad_password") == 0)
		s->bad = value;
	return 0;
}

int
main(void)
{
	char dir[] = "/tmp/lightchat-health.XXXXXX", path[256], err[256];
	struct store *a = NULL, *b = NULL;
	sqlite3 *raw = NULL;
	struct seen seen;
	struct timespec t0;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/db", dir);
	CHECK(store_open(&a, path, err, sizeof(err)) == STORE_OK &&
	    store_open(&b, path, err, sizeof(err)) == STORE_OK,
	    "two connections (two FastCGI processes)");
	CHECK(store_health_write(a, 1000) == STORE_OK, "health: a write");
	CHECK(store_health_write(a, 1000) == STORE_OK, "health: and again");

	CHECK(store_counter_add(a, "login_ok", 1) == STORE_OK &&
	    store_counter_add(b, "login_ok", 1) == STORE_OK &&
	    store_counter_add(b, "login_bad_password", 3) == STORE_OK,
	    "counters: added by both");
	memset(&seen, 0, sizeof(seen));
	CHECK(store_counters_each(a, collect, &seen) == STORE_OK &&
	    seen.ok == 2 && seen.bad == 3 && seen.n == 2,
	    "counters: one row each, summed over the connections");

	/* Another connection holds the write lock: the health write gives up
	 * after its short wait, not the usual 10 s. */
	CHECK(sqlite3_open(path, &raw) == SQLITE_OK &&
	    sqlite3_exec(raw, "BEGIN IMMEDIATE", NULL, NULL, NULL) ==
	    SQLITE_OK, "another connection takes the write lock");
	unsigned long long errors = store_errors();
	monotime_now(&t0);
	CHECK(store_health_write(a, 200) == STORE_ERR, "health: locked out");
	long ms = monotime_ms_since(&t0);
	printf("# locked out after %ld ms\n", ms);
	CHECK(ms >= 150 && ms < 3000, "health: within its own wait");
	CHECK(store_errors() > errors, "the failure is a database error");
	sqlite3_exec(raw, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(raw);
	CHECK(store_health_write(a, 200) == STORE_OK,
	    "health: writable again once the lock is gone");
	char id[ID_LEN + 1];
	CHECK(store_counter_add(a, "login_ok", 1) == STORE_OK &&
	    store_conv_create(a, "alice", "t", "m", "", id) == STORE_OK,
	    "the connection is usable after");

	CHECK(store_health_write(NULL, 100) == STORE_ERR &&
	    store_counter_add(NULL, "x", 1) == STORE_ERR &&
	    store_counters_each(NULL, collect, &seen) == STORE_ERR,
	    "NULL store: every call fails cleanly");
	store_close(a);
	store_close(b);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		printf("# could not remove %s\n", dir);
	UNIT_EXIT();
}
