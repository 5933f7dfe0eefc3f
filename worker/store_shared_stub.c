/* store_shared_stub.c - TEMPORARY, until main's PostgreSQL store is merged:
 * weak stand-ins for lib/store.h's shared-store contract (store_is_shared
 * says 0: SQLite, nothing changes), so that the worker links before it.
 * Removed at the merge with main. */
#include <stddef.h>

#include "store.h"

__attribute__((weak)) int
store_is_shared(const struct store *s)
{
	(void)s;
	return 0;
}

__attribute__((weak)) int
store_path_is_pg(const char *path)
{
	(void)path;
	return 0;
}

__attribute__((weak)) int
store_set_worker(struct store *s, const char *id)
{
	(void)s;
	(void)id;
	return STORE_OK;
}

__attribute__((weak)) int
store_lease_renew(struct store *s, const char *id, long long now_ms,
    long long until_ms)
{
	(void)s;
	(void)id;
	(void)now_ms;
	(void)until_ms;
	return STORE_OK;
}

__attribute__((weak)) int
store_lease_drop(struct store *s, const char *id)
{
	(void)s;
	(void)id;
	return STORE_OK;
}

__attribute__((weak)) int
store_interrupt_orphans(struct store *s, const char *self, long long now_ms,
    store_orphan_fn fn, void *arg)
{
	(void)s;
	(void)self;
	(void)now_ms;
	(void)fn;
	(void)arg;
	return 0;
}
