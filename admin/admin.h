/* admin.h - the lightchat-admin commands that live outside main.c: each
 * takes the loaded configuration and its own arguments (argv[0] is the
 * command's name), prints one line per result or error, and returns the
 * process's exit status (0 done, 1 failed, 2 bad usage). */
#ifndef LC_ADMIN_H
#define LC_ADMIN_H

#include <stddef.h>

#include "config.h"
#include "store.h"

/* Opens the database, or says why not on stderr. Returns the store (the
 * caller closes it) or NULL (main.c). */
struct store *admin_open_store(const struct lc_config *cfg);

/* usage [--since DATE] [--until DATE] [--by user|model|day] [--csv]: the
 * usage ledger's report, from the first day of this month by default
 * (usage.c). */
int admin_usage(const struct lc_config *cfg, int argc, char **argv);

/* user limit NAME [--day LIMIT] [--month LIMIT] | default: sets (or with
 * no option shows) NAME's own budget limits, a user of the users file;
 * argv[0] is "limit" (usage.c). */
int admin_limit(const struct lc_config *cfg, int argc, char **argv);

/* user limits: the users with limits of their own, a table (usage.c). */
int admin_limits(const struct lc_config *cfg);

/* backup [--force] FILE: an online copy of the database (backup.c). */
int admin_backup(const struct lc_config *cfg, int argc, char **argv);

/* restore [--yes] FILE: the database replaced by a backup (backup.c). */
int admin_restore(const struct lc_config *cfg, int argc, char **argv);

/* migrate-store SQLITE_FILE POSTGRES_URL: the SQLite database moved into
 * an empty PostgreSQL one and verified, table by table (migrate.c). */
int admin_migrate_store(const struct lc_config *cfg, int argc, char **argv);

/* Copies url into out (cap bytes, cut to fit) with its password, as
 * user:PASSWORD@ or a password=PASSWORD parameter, replaced by ***
 * (migrate.c). */
void admin_mask_url(const char *url, char *out, size_t cap);

/* check [--url URL] [--user NAME] [--timeout SECONDS]: a smoke test of a
 * running site (check.c). */
int admin_check(const struct lc_config *cfg, int argc, char **argv);

/* config --file: the effective settings as one file, the model table's
 * sections included, without secrets (effective.c). */
int admin_config_file(const struct lc_config *cfg);

#endif
