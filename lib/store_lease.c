/* store_lease.c - several workers on one database (issue 17): each
 * worker's lease (a row it renews), and the end of the replies nobody
 * writes any more (their worker restarted, or its lease ran out), marked
 * interrupted and counted in the usage ledger as store_mark_interrupted
 * does. */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "budget.h"
#include "id.h"
#include "log.h"
#include "username.h"

/* Replies ended in one sweep at most; the next sweep takes the rest. */
#define ORPHANS_MAX 256

int
store_lease_renew(struct store *s, const char *id, long long now_ms,
    long long until_ms)
{
	struct db_stmt *st = NULL;

	if (store_prep(s, ST_LEASE_RENEW, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, id) ||
	    db_bind_int64(st, 2, until_ms) != DB_OK ||
	    db_bind_int64(st, 3, now_ms) != DB_OK)
		return store_bind_fail(s, st);
	return store_run_done(s, st, "lease");
}

int
store_lease_drop(struct store *s, const char *id)
{
	struct db_stmt *st = NULL;

	if (store_prep(s, ST_LEASE_DROP, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, id))
		return store_bind_fail(s, st);
	return store_run_done(s, st, "lease drop");
}

/* One reply to end: what the callback is told after the commit. */
struct orphan {
	long long id;
	char conv[ID_LEN + 1];
	char user[LC_USER_MAX + 1];
};

/* Reads the replies to end into list (at most ORPHANS_MAX); *n their
 * number. */
static int
list_orphans(struct store *s, const char *self, long long now_ms,
    struct orphan *list, int *n)
{
	struct db_stmt *st = NULL;
	int step;

	*n = 0;
	if (store_prep(s, ST_ORPHANS, &st) != STORE_OK)
		return STORE_ERR;
	if ((self != NULL && self[0] != '\0' ? store_bind_text(st, 1, self) :
	    db_bind_null(st, 1) != DB_OK) ||
	    db_bind_int64(st, 2, now_ms) != DB_OK ||
	    db_bind_int(st, 3, ORPHANS_MAX) != DB_OK)
		return store_bind_fail(s, st);
	while ((step = db_step(st)) == DB_ROW && *n < ORPHANS_MAX) {
		const char *c = db_column_text(st, 1);
		const char *u = db_column_text(st, 2);
		struct orphan *o = &list[*n];
		if (c == NULL || u == NULL || strlen(c) > ID_LEN ||
		    strlen(u) > LC_USER_MAX)
			continue;
		o->id = db_column_int64(st, 0);
		snprintf(o->conv, sizeof(o->conv), "%s", c);
		snprintf(o->user, sizeof(o->user), "%s", u);
		(*n)++;
	}
	store_release(st);
	if (step != DB_ROW && step != DB_DONE)
		return store_db_fail(s, "orphans");
	return STORE_OK;
}

/* Ends reply o if it still streams: *ended 1 when this call ended it (and
 * added its ledger row), 0 when another worker did first. */
static int
end_orphan(struct store *s, const struct orphan *o, long long now_ms,
    const char *day, int *ended)
{
	struct db_stmt *st = NULL;

	*ended = 0;
	if (store_prep(s, ST_ORPHAN_MARK, &st) != STORE_OK)
		return STORE_ERR;
	if (db_bind_int64(st, 1, now_ms) != DB_OK ||
	    db_bind_int64(st, 2, o->id) != DB_OK)
		return store_bind_fail(s, st);
	if (store_run_done(s, st, "end orphan") != STORE_OK)
		return STORE_ERR;
	if (db_changes(s->db) != 1)
		return STORE_OK;
	*ended = 1;
	if (store_prep(s, ST_USAGE_ORPHAN, &st) != STORE_OK)
		return STORE_ERR;
	if (db_bind_int64(st, 1, now_ms / 1000) != DB_OK ||
	    store_bind_text(st, 2, day) || db_bind_int64(st, 3, o->id) != DB_OK)
		return store_bind_fail(s, st);
	return store_run_done(s, st, "ledger orphan");
}

int
store_interrupt_orphans(struct store *s, const char *self, long long now_ms,
    store_orphan_fn fn, void *arg)
{
	struct orphan *list = NULL;
	struct db_stmt *st = NULL;
	char day[BUDGET_DATE_LEN + 1];
	int n = 0, done = 0, rc = STORE_ERR;
	unsigned char *ended = NULL;

	if (s == NULL)
		return STORE_ERR;
	if (budget_date((time_t)(now_ms / 1000), day) != 0) {
		log_err("store: no local date for the usage ledger");
		return STORE_ERR;
	}
	list = calloc(ORPHANS_MAX, sizeof(*list));
	ended = calloc(ORPHANS_MAX, 1);
	if (list == NULL || ended == NULL)
		goto out;
	if (store_begin(s) != STORE_OK)
		goto out;
	if (list_orphans(s, self, now_ms, list, &n) != STORE_OK)
		goto fail;
	for (int i = 0; i < n; i++) {
		int e;
		if (end_orphan(s, &list[i], now_ms, day, &e) != STORE_OK)
			goto fail;
		ended[i] = (unsigned char)e;
		done += e;
	}
	if (store_prep(s, ST_LEASES_PRUNE, &st) != STORE_OK)
		goto fail;
	if (db_bind_int64(st, 1, now_ms) != DB_OK) {
		store_bind_fail(s, st);
		goto fail;
	}
	if (store_run_done(s, st, "leases prune") != STORE_OK)
		goto fail;
	if (store_commit(s) != STORE_OK)
		goto out;
	for (int i = 0; i < n && fn != NULL; i++)
		if (ended[i])
			fn(arg, list[i].user, list[i].conv, list[i].id);
	rc = done;
	goto out;
fail:
	store_rollback(s);
out:
	free(list);
	free(ended);
	return rc;
}
