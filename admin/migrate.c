/* migrate.c - lightchat-admin migrate-store: the command line and the
 * report around lib/store_migrate.c, which moves an installation's SQLite
 * database into an empty PostgreSQL one and verifies it.
 *
 *   lightchat-admin migrate-store SQLITE_FILE POSTGRES_URL
 *
 * Prints a line per table ("messages: 812 rows, sha256 ...") and a last
 * one "moved ... to PostgreSQL; verified". The URL is shown with its
 * password as ***. Exit 0 done, 1 refused or failed (one sentence on
 * stderr), 2 usage. */
#include "admin.h"

#include <stdio.h>
#include <string.h>

#include "store.h"

#define MIGRATE_USAGE \
	"usage: lightchat-admin migrate-store SQLITE_FILE POSTGRES_URL\n"

void
admin_mask_url(const char *url, char *out, size_t cap)
{
	const char *rest = strstr(url, "://"), *end, *at = NULL, *colon = NULL;
	size_t o = 0;

#define PUT(c) do { if (o + 1 < cap) out[o++] = (c); } while (0)
	if (cap == 0)
		return;
	rest = rest != NULL ? rest + 3 : url;
	/* libpq's user:password@ ends at the first '/' (or the end). */
	for (end = rest; *end != '\0' && *end != '/' && *end != '?'; end++)
		if (*end == '@')
			at = end;
	if (at != NULL)
		colon = memchr(rest, ':', (size_t)(at - rest));
	for (const char *c = url; *c != '\0'; c++) {
		if (colon != NULL && c == colon + 1) {
			for (const char *m = "***"; *m != '\0'; m++)
				PUT(*m);
			c = at - 1;
			continue;
		}
		/* A password=... parameter (after ? or &). */
		if (c > url && (c[-1] == '?' || c[-1] == '&') &&
		    strncmp(c, "password=", 9) == 0) {
			for (const char *m = "password=***"; *m != '\0'; m++)
				PUT(*m);
			c += 9;
			while (*c != '\0' && *c != '&')
				c++;
			if (*c == '\0')
				break;
		}
		PUT(*c);
	}
#undef PUT
	out[o] = '\0';
}

int
admin_migrate_store(const struct lc_config *cfg, int argc, char **argv)
{
	struct store_migrate_report rep;
	char err[1024], shown[1024];
	int rc;

	(void)cfg;
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		printf(MIGRATE_USAGE "Copies lightchat's SQLite database into "
		    "an empty PostgreSQL database and verifies every table\n"
		    "(rows and SHA-256 on both sides). Stop lightchat first.\n");
		return 0;
	}
	if (argc != 3 || argv[1][0] == '-' || argv[1][0] == '\0' ||
	    argv[2][0] == '-') {
		fprintf(stderr, MIGRATE_USAGE);
		return 2;
	}
	if (store_path_is_pg(argv[1]) || !store_path_is_pg(argv[2])) {
		fprintf(stderr, "migrate-store: the first argument is the SQLite "
		    "file, the second a postgresql:// URL\n" MIGRATE_USAGE);
		return 2;
	}
	admin_mask_url(argv[2], shown, sizeof(shown));
	if (strcmp(shown, argv[2]) != 0)
		fprintf(stderr, "migrate-store: note: a password on the command "
		    "line is seen by other users (ps); a 0600 passfile or "
		    "PGPASSWORD keeps it off\n");
	fprintf(stderr, "migrate-store: %s to %s\n", argv[1], shown);
	rc = store_migrate(argv[1], argv[2], &rep, err, sizeof(err));
	if (rc != STORE_OK) {
		fprintf(stderr, "migrate-store: %s%s\n", err, rep.committed ||
		    rc == STORE_INVALID ? "" : "; no data was copied");
		return 1;
	}
	for (int i = 0; i < STORE_MIGRATE_TABLES; i++)
		printf("%s: %lld row%s, sha256 %s%s\n", rep.table[i].name,
		    rep.table[i].rows, rep.table[i].rows == 1 ? "" : "s",
		    rep.table[i].sha256, rep.table[i].copied ? "" :
		    " (made by PostgreSQL's triggers)");
	printf("moved %lld conversations, %lld messages, %lld attachments, "
	    "%lld sessions, %lld usage rows to PostgreSQL; verified\n",
	    store_migrate_rows(&rep, "conversations"),
	    store_migrate_rows(&rep, "messages"),
	    store_migrate_rows(&rep, "attachments"),
	    store_migrate_rows(&rep, "sessions"),
	    store_migrate_rows(&rep, "usage"));
	return 0;
}
