/* admin.h - the lightchat-admin commands that live outside main.c: each
 * takes the loaded configuration and its own arguments (argv[0] is the
 * command's name), prints one line per result or error, and returns the
 * process's exit status (0 done, 1 failed, 2 bad usage). */
#ifndef LC_ADMIN_H
#define LC_ADMIN_H

#include "config.h"

/* backup [--force] FILE: an online copy of the database (backup.c). */
int admin_backup(const struct lc_config *cfg, int argc, char **argv);

/* restore [--yes] FILE: the database replaced by a backup (backup.c). */
int admin_restore(const struct lc_config *cfg, int argc, char **argv);

/* check [--url URL] [--user NAME] [--timeout SECONDS]: a smoke test of a
 * running site (check.c). */
int admin_check(const struct lc_config *cfg, int argc, char **argv);

/* config --file: the effective settings as one file, the model table's
 * sections included, without secrets (effective.c). */
int admin_config_file(const struct lc_config *cfg);

#endif
