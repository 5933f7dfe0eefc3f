/* store_migrate.c - an installation's SQLite database moved into an empty
 * PostgreSQL one (lightchat-admin migrate-store; issue 17), and the proof
 * that it arrived: per table, the same rows and the same SHA-256 of their
 * values read back from both engines. Only the admin tool links it.
 *
 * The SQL is the module's own, built from the fixed table below (table,
 * columns, order: never from input), every value a bound parameter of the
 * type the source holds. The copy is one PostgreSQL transaction; the
 * source is held under its write lock (BEGIN IMMEDIATE) from before the
 * copy to after the verification, so that both read one state of it. */
#include "store_int.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for the longest statement built here (the messages' INSERT is
 * ~300 bytes). */
#define MIG_SQL_MAX 1024
/* pg_advisory_xact_lock's key for a migration (the schema's is 7171): two
 * at once into one database, the second waits and then finds it full. */
#define MIG_LOCK_KEY 7172

/* One table: the columns copied (NULL: none, the target's triggers make
 * its rows), the columns compared (every one), the order both engines
 * read it in (its primary key; login_failures has none: its whole row,
 * so that equal rows are only ever identical ones), the rows a FETCH
 * reads at once on PostgreSQL (its memory: a batch of rows, never the
 * table), and whether its id is an identity column whose sequence is set
 * past the copied ids. In foreign-key order: conversations before the
 * messages that reference them, both before attachments. */
struct mig_table {
	const char *name;
	const char *copy;
	const char *cols;
	const char *order;
	int batch;
	int identity;
};

#define CONV_COPY "id, user, title, model, system_prompt, created_at," \
	" updated_at, current_leaf"
#define MSG_COLS "id, conversation_id, role, content, state, model," \
	" prompt_tokens, completion_tokens, total_tokens, error_code," \
	" created_at, updated_at, reasoning, reasoning_ms, parent_id, worker"
#define ATT_COLS "id, user, conversation_id, message_id, position, kind," \
	" mime, name, width, height, data, created_at"
#define SESS_COLS "sid, user, created_at, last_seen, expires_at, addr," \
	" client, remember, revoked_at, pub"
#define USAGE_COLS "id, at, day, user, model, upstream, outcome," \
	" conversation_id, message_id, prompt_tokens, completion_tokens," \
	" reasoning_tokens, estimated, cost_micros"

static const struct mig_table tables[STORE_MIGRATE_TABLES] = {
	/* Inserted with 0 messages and bytes: messages_added counts them
	 * as the messages arrive, and the comparison checks the result. */
	{ "conversations", CONV_COPY, "id, user, title, model, system_prompt,"
	  " created_at, updated_at, messages, bytes, current_leaf", "id",
	  256, 0 },
	{ "messages", MSG_COLS, MSG_COLS, "id", 32, 1 },
	{ "attachments", ATT_COLS, ATT_COLS, "id", 4, 0 },
	{ "sessions", SESS_COLS, SESS_COLS, "sid", 256, 0 },
	{ "login_failures", "key, at", "key, at", "key, at", 256, 0 },
	{ "login_trust", "key, at", "key, at", "key", 256, 0 },
	{ "user_quotas", "user, bytes", "user, bytes", "user", 256, 0 },
	{ "user_limits", "user, day_tokens, day_cost, month_tokens, month_cost",
	  "user, day_tokens, day_cost, month_tokens, month_cost", "user",
	  256, 0 },
	{ "counters", "name, value", "name, value", "name", 256, 0 },
	{ "health", "id, at", "id, at", "id", 256, 0 },
	{ "usage", USAGE_COLS, USAGE_COLS, "id", 256, 1 },
	/* Rebuilt by the target's triggers (conversations_added and _grown,
	 * attachments_added; usage_totals_add), then compared. */
	{ "user_usage", NULL, "user, conversations, messages, bytes", "user",
	  256, 0 },
	{ "usage_totals", NULL, "user, model, replies, prompt_tokens,"
	  " completion_tokens, reasoning_tokens, cost_micros", "user, model",
	  256, 0 },
};

/* The number of columns of a list ("a, b, c": 3). */
static int
count_cols(const char *cols)
{
	int n = 1;

	for (const char *c = cols; *c != '\0'; c++)
		n += *c == ',';
	return n;
}

/* A table's rows one by one, in its order: on SQLite one statement
 * stepped; on PostgreSQL (whose results arrive whole) a cursor read a
 * batch at a time, inside the caller's transaction. */
struct reader {
	struct db *db;
	struct db_stmt *st;   /* SQLite: the SELECT; PostgreSQL: the FETCH */
	int pg;
	int batch, got;       /* PostgreSQL: rows per FETCH, of this one */
	int cursor;           /* PostgreSQL: the cursor is open */
};

#define MIG_CURSOR "lc_migrate"

/* Opens r on table t's columns cols. Returns DB_OK or DB_ERR (db_errmsg
 * says why; r closed). */
static int
reader_open(struct reader *r, struct store *s, const struct mig_table *t,
    const char *cols)
{
	char sql[MIG_SQL_MAX];
	struct db_stmt *decl = NULL;
	int n, rc = DB_ERR;

	memset(r, 0, sizeof(*r));
	r->db = s->db;
	r->pg = db_is_pg(s->db);
	r->batch = t->batch;
	n = snprintf(sql, sizeof(sql), "%sSELECT %s FROM %s ORDER BY %s",
	    r->pg ? "DECLARE " MIG_CURSOR " NO SCROLL CURSOR FOR " : "", cols,
	    t->name, t->order);
	if (n < 0 || (size_t)n >= sizeof(sql))
		return DB_ERR;
	if (!r->pg)
		return db_prepare(r->db, sql, NULL, 0, &r->st);
	/* db_prepare translates the SQL (the column user quoted). */
	if (db_prepare(r->db, sql, NULL, 0, &decl) != DB_OK ||
	    db_step(decl) != DB_DONE)
		goto out;
	r->cursor = 1;
	n = snprintf(sql, sizeof(sql), "FETCH %d FROM " MIG_CURSOR, r->batch);
	if (n < 0 || (size_t)n >= sizeof(sql))
		goto out;
	rc = db_prepare(r->db, sql, NULL, 0, &r->st);
out:
	db_finalize(decl);
	return rc;
}

/* The next row (r->st's current row): DB_ROW, DB_DONE or DB_ERR. */
static int
reader_next(struct reader *r)
{
	int step = db_step(r->st);

	if (!r->pg)
		return step;
	if (step == DB_DONE && r->got == r->batch) {
		/* A full batch: there may be more. */
		db_reset(r->st);
		r->got = 0;
		step = db_step(r->st);
	}
	if (step == DB_ROW)
		r->got++;
	return step;
}

/* Closes r (NULL statement allowed). Returns DB_OK, or DB_ERR when the
 * cursor could not be closed. */
static int
reader_close(struct reader *r)
{
	int rc = DB_OK;

	db_finalize(r->st);
	r->st = NULL;
	if (r->cursor && db_exec(r->db, "CLOSE " MIG_CURSOR) != DB_OK)
		rc = DB_ERR;
	r->cursor = 0;
	return rc;
}

/* Binds column i of row (the source's) as parameter i + 1 of ins, with
 * its type. Returns DB_OK or DB_ERR (a type no column of the schema has:
 * a float). */
static int
bind_value(struct db_stmt *ins, struct db_stmt *row, int i)
{
	const void *p;

	switch (db_column_type(row, i)) {
	case DB_INTEGER:
		return db_bind_int64(ins, i + 1, db_column_int64(row, i));
	case DB_TEXT:
		/* Its bytes, exactly (sqlite3's text, then its length). */
		p = db_column_text(row, i);
		return p == NULL ? DB_ERR : db_bind_text(ins, i + 1, p,
		    db_column_bytes(row, i));
	case DB_BLOB:
		p = db_column_blob(row, i);
		return db_bind_blob(ins, i + 1, p,
		    (size_t)db_column_bytes(row, i));
	case DB_NULL:
		return db_bind_null(ins, i + 1);
	}
	return DB_ERR;
}

/* Copies table t's rows from src to dst (in dst's open transaction);
 * *rows gets how many. Returns STORE_OK or STORE_ERR with err set. */
static int
copy_table(struct store *src, struct store *dst, const struct mig_table *t,
    long long *rows, char *err, size_t errcap)
{
	char sql[MIG_SQL_MAX];
	struct db_stmt *ins = NULL;
	struct reader r;
	int ncols = count_cols(t->copy), n, o, step, rc = STORE_ERR;

	*rows = 0;
	memset(&r, 0, sizeof(r));
	o = snprintf(sql, sizeof(sql), "INSERT INTO %s (%s) VALUES (", t->name,
	    t->copy);
	for (int i = 0; i < ncols && o > 0 && (size_t)o < sizeof(sql); i++)
		o += snprintf(sql + o, sizeof(sql) - (size_t)o, "%s?",
		    i > 0 ? "," : "");
	n = o > 0 && (size_t)o < sizeof(sql) ? snprintf(sql + o,
	    sizeof(sql) - (size_t)o, ")") : -1;
	if (n < 0 || (size_t)(o + n) >= sizeof(sql) || ncols > DB_PARAMS_MAX) {
		snprintf(err, errcap, "table %s: its statement is too long",
		    t->name);
		return STORE_ERR;
	}
	if (db_prepare(dst->db, sql, NULL, 0, &ins) != DB_OK) {
		snprintf(err, errcap, "table %s: PostgreSQL: %s", t->name,
		    db_errmsg(dst->db));
		goto out;
	}
	if (reader_open(&r, src, t, t->copy) != DB_OK) {
		snprintf(err, errcap, "table %s: cannot read it: %s", t->name,
		    db_errmsg(src->db));
		goto out;
	}
	while ((step = reader_next(&r)) == DB_ROW) {
		if (db_column_count(r.st) != ncols) {
			snprintf(err, errcap, "table %s: %d columns read, %d "
			    "expected", t->name, db_column_count(r.st), ncols);
			goto out;
		}
		for (int i = 0; i < ncols; i++)
			if (bind_value(ins, r.st, i) != DB_OK) {
				snprintf(err, errcap, "table %s, row %lld: "
				    "column %d holds a value of a type the "
				    "schema has not", t->name, *rows + 1, i + 1);
				goto out;
			}
		if (db_step(ins) != DB_DONE) {
			snprintf(err, errcap, "table %s, row %lld: PostgreSQL: "
			    "%s", t->name, *rows + 1, db_errmsg(dst->db));
			goto out;
		}
		db_reset(ins);
		(*rows)++;
	}
	if (step != DB_DONE) {
		snprintf(err, errcap, "table %s: cannot read it: %s", t->name,
		    db_errmsg(src->db));
		goto out;
	}
	rc = STORE_OK;
out:
	if (reader_close(&r) != DB_OK && rc == STORE_OK) {
		snprintf(err, errcap, "table %s: %s", t->name,
		    db_errmsg(src->db));
		rc = STORE_ERR;
	}
	db_finalize(ins);
	return rc;
}

/* An 8-byte big-endian number. */
static void
put_u64(unsigned char *out, unsigned long long v)
{
	for (int b = 7; b >= 0; b--, v >>= 8)
		out[b] = (unsigned char)(v & 0xff);
}

/* Hashes column i of st's row canonically, the same on both engines: a
 * type tag ('i', 't', 'b', 'n'), then an integer as 8 bytes, or a text's
 * or blob's length as 8 bytes and its bytes (a NULL: its tag and a
 * length 0). Returns 0, or -1 (a float; no memory). */
static int
hash_value(EVP_MD_CTX *h, struct db_stmt *st, int i)
{
	unsigned char head[9];
	const void *p = NULL;
	unsigned long long n = 0;

	switch (db_column_type(st, i)) {
	case DB_INTEGER:
		head[0] = 'i';
		put_u64(head + 1, (unsigned long long)db_column_int64(st, i));
		return EVP_DigestUpdate(h, head, sizeof(head)) == 1 ? 0 : -1;
	case DB_TEXT:
		head[0] = 't';
		p = db_column_text(st, i);
		break;
	case DB_BLOB:
		head[0] = 'b';
		p = db_column_blob(st, i);
		break;
	case DB_NULL:
		head[0] = 'n';
		break;
	default:
		return -1;
	}
	if (head[0] != 'n')
		n = (unsigned long long)db_column_bytes(st, i);
	if (n > 0 && p == NULL)
		return -1;
	put_u64(head + 1, n);
	if (EVP_DigestUpdate(h, head, sizeof(head)) != 1 ||
	    (n > 0 && EVP_DigestUpdate(h, p, (size_t)n) != 1))
		return -1;
	return 0;
}

/* Reads table t of s whole, in its order: *rows gets its rows, md its
 * SHA-256. Returns STORE_OK or STORE_ERR with err set. */
static int
table_digest(struct store *s, const struct mig_table *t, long long *rows,
    unsigned char md[STORE_MIGRATE_SHA256], char *err, size_t errcap)
{
	const char *engine = db_is_pg(s->db) ? "PostgreSQL" : "SQLite";
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	int ncols = count_cols(t->cols), step = DB_ERR, rc = STORE_ERR;
	unsigned int len = 0;
	struct reader r;

	*rows = 0;
	memset(&r, 0, sizeof(r));
	if (h == NULL || EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1) {
		snprintf(err, errcap, "SHA-256 is not available");
		goto out;
	}
	if (reader_open(&r, s, t, t->cols) != DB_OK) {
		snprintf(err, errcap, "table %s: cannot read it on %s: %s",
		    t->name, engine, db_errmsg(s->db));
		goto out;
	}
	while ((step = reader_next(&r)) == DB_ROW) {
		if (db_column_count(r.st) != ncols)
			break;
		for (int i = 0; i < ncols; i++)
			if (hash_value(h, r.st, i) != 0) {
				snprintf(err, errcap, "table %s on %s: a value "
				    "that cannot be read", t->name, engine);
				goto out;
			}
		(*rows)++;
	}
	if (step != DB_DONE) {
		snprintf(err, errcap, "table %s: cannot read it on %s: %s",
		    t->name, engine, db_errmsg(s->db));
		goto out;
	}
	if (EVP_DigestFinal_ex(h, md, &len) != 1 ||
	    len != STORE_MIGRATE_SHA256) {
		snprintf(err, errcap, "SHA-256 failed");
		goto out;
	}
	rc = STORE_OK;
out:
	if (reader_close(&r) != DB_OK && rc == STORE_OK) {
		snprintf(err, errcap, "table %s on %s: %s", t->name, engine,
		    db_errmsg(s->db));
		rc = STORE_ERR;
	}
	EVP_MD_CTX_free(h);
	return rc;
}

/* Runs sql (no parameters, its own dialect translated) on s, reading one
 * row when it has one: *v gets its first column (may be NULL). Returns
 * DB_OK or DB_ERR. */
static int
run_one(struct store *s, const char *sql, long long *v)
{
	struct db_stmt *st = NULL;
	int step = DB_ERR;

	if (db_prepare(s->db, sql, NULL, 0, &st) == DB_OK)
		step = db_step(st);
	if (step == DB_ROW && v != NULL)
		*v = db_column_int64(st, 0);
	db_finalize(st);
	return step == DB_ROW || step == DB_DONE ? DB_OK : DB_ERR;
}

/* STORE_OK when none of dst's tables holds a row; STORE_INVALID (which
 * does, in err) or STORE_ERR. */
static int
target_empty(struct store *dst, char *err, size_t errcap)
{
	char sql[MIG_SQL_MAX];

	for (int i = 0; i < STORE_MIGRATE_TABLES; i++) {
		long long any = 0;
		snprintf(sql, sizeof(sql), "SELECT EXISTS (SELECT 1 FROM %s)",
		    tables[i].name);
		if (run_one(dst, sql, &any) != DB_OK) {
			snprintf(err, errcap, "cannot read the PostgreSQL "
			    "database: %s", db_errmsg(dst->db));
			return STORE_ERR;
		}
		if (any) {
			snprintf(err, errcap, "the PostgreSQL database already "
			    "holds data (table %s): migrate-store copies into "
			    "an empty one only, and never overwrites",
			    tables[i].name);
			return STORE_INVALID;
		}
	}
	return STORE_OK;
}

/* Copies every table into dst in one transaction (src's read under its
 * lock), and sets the identity sequences past the copied ids. Returns
 * STORE_OK (committed), or STORE_INVALID or STORE_ERR with err set (rolled
 * back: nothing written). */
static int
copy_all(struct store *src, struct store *dst,
    struct store_migrate_report *rep, char *err, size_t errcap)
{
	char sql[MIG_SQL_MAX];
	int rc = STORE_ERR;

	if (store_begin(dst) != STORE_OK) {
		snprintf(err, errcap, "cannot begin on PostgreSQL: %s",
		    db_errmsg(dst->db));
		return STORE_ERR;
	}
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%d)",
	    MIG_LOCK_KEY);
	if (run_one(dst, sql, NULL) != DB_OK) {
		snprintf(err, errcap, "cannot lock the PostgreSQL database: %s",
		    db_errmsg(dst->db));
		goto out;
	}
	if ((rc = target_empty(dst, err, errcap)) != STORE_OK)
		goto out;
	rc = STORE_ERR;
	for (int i = 0; i < STORE_MIGRATE_TABLES; i++) {
		const struct mig_table *t = &tables[i];
		if (t->copy != NULL && copy_table(src, dst, t,
		    &rep->table[i].rows, err, errcap) != STORE_OK)
			goto out;
		if (!t->identity)
			continue;
		/* The next id past the largest copied (1 when none). */
		snprintf(sql, sizeof(sql), "SELECT setval(pg_get_serial_sequence"
		    "('%s', 'id'), coalesce(max(id), 0) + 1, false) FROM %s",
		    t->name, t->name);
		if (run_one(dst, sql, NULL) != DB_OK) {
			snprintf(err, errcap, "table %s: its id sequence: %s",
			    t->name, db_errmsg(dst->db));
			goto out;
		}
	}
	if (store_commit(dst) != STORE_OK) {
		snprintf(err, errcap, "the commit on PostgreSQL failed: %s",
		    db_errmsg(dst->db));
		goto out;
	}
	rc = STORE_OK;
out:
	if (rc != STORE_OK)
		store_rollback(dst);
	return rc;
}

static void
hex(const unsigned char *md, char out[2 * STORE_MIGRATE_SHA256 + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < STORE_MIGRATE_SHA256; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[2 * STORE_MIGRATE_SHA256] = '\0';
}

/* Reads every table back from both engines (dst in one read-only
 * snapshot) and compares rows and digests, into rep. Returns STORE_OK,
 * or STORE_ERR with err naming the first table that differs. */
static int
verify_all(struct store *src, struct store *dst,
    struct store_migrate_report *rep, char *err, size_t errcap)
{
	int rc = STORE_ERR;

	if (db_exec(dst->db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
	    != DB_OK) {
		snprintf(err, errcap, "cannot read PostgreSQL back: %s",
		    db_errmsg(dst->db));
		return STORE_ERR;
	}
	for (int i = 0; i < STORE_MIGRATE_TABLES; i++) {
		unsigned char a[STORE_MIGRATE_SHA256], b[STORE_MIGRATE_SHA256];
		long long na = 0, nb = 0;
		struct store_migrate_table *r = &rep->table[i];

		if (table_digest(src, &tables[i], &na, a, err, errcap) !=
		    STORE_OK || table_digest(dst, &tables[i], &nb, b, err,
		    errcap) != STORE_OK)
			goto out;
		if (na != nb || memcmp(a, b, sizeof(a)) != 0 ||
		    (tables[i].copy != NULL && na != r->rows)) {
			snprintf(err, errcap, "verification failed: table %s "
			    "differs (SQLite %lld rows, PostgreSQL %lld%s); the "
			    "PostgreSQL database holds the copy: empty it "
			    "before another try", tables[i].name, na, nb,
			    na == nb ? ", other checksums" : "");
			goto out;
		}
		r->rows = na;
		hex(a, r->sha256);
	}
	rc = STORE_OK;
out:
	if (db_exec(dst->db, rc == STORE_OK ? "COMMIT" : "ROLLBACK") != DB_OK &&
	    rc == STORE_OK) {
		snprintf(err, errcap, "PostgreSQL: %s", db_errmsg(dst->db));
		rc = STORE_ERR;
	}
	return rc;
}

int
store_migrate(const char *sqlite_path, const char *pg_url,
    struct store_migrate_report *rep, char *err, size_t errcap)
{
	struct store_file_info info;
	struct store *src = NULL, *dst = NULL;
	long long busy = 0;
	int rc;

	memset(rep, 0, sizeof(*rep));
	for (int i = 0; i < STORE_MIGRATE_TABLES; i++) {
		rep->table[i].name = tables[i].name;
		rep->table[i].copied = tables[i].copy != NULL;
	}
	snprintf(err, errcap, "failed");
	if (sqlite_path == NULL || pg_url == NULL ||
	    store_path_is_pg(sqlite_path) || !store_path_is_pg(pg_url)) {
		snprintf(err, errcap, "the source is a SQLite file, the target "
		    "a postgresql:// URL");
		return STORE_INVALID;
	}
	/* A lightchat database of a schema this build reads (checked before
	 * store_open, which would make one of any file). */
	if ((rc = store_backup_verify(sqlite_path, &info, err, errcap)) !=
	    STORE_OK)
		goto out;
	rep->schema_from = info.schema;
	rc = STORE_ERR;
	if (store_open(&src, sqlite_path, err, errcap) != STORE_OK ||
	    store_open(&dst, pg_url, err, errcap) != STORE_OK)
		goto out;
	/* Held still from here to the end: a program still writing it waits
	 * for the lock, then fails. */
	if (store_begin(src) != STORE_OK) {
		snprintf(err, errcap, "%s: cannot lock it (is lightchat "
		    "running?): %s", sqlite_path, db_errmsg(src->db));
		goto out;
	}
	if (store_streaming(src, &busy) != STORE_OK) {
		snprintf(err, errcap, "%s: cannot read it: %s", sqlite_path,
		    db_errmsg(src->db));
		goto out;
	}
	if (busy > 0) {
		snprintf(err, errcap, "%s holds %lld repl%s still being "
		    "written: stop lightchat first", sqlite_path, busy,
		    busy == 1 ? "y" : "ies");
		rc = STORE_INVALID;
		goto out;
	}
	if ((rc = copy_all(src, dst, rep, err, errcap)) != STORE_OK)
		goto out;
	rep->committed = 1;
	if ((rc = verify_all(src, dst, rep, err, errcap)) != STORE_OK)
		goto out;
	err[0] = '\0';
	rep->verified = 1;
out:
	store_rollback(src);
	store_close(src);
	store_close(dst);
	return rc;
}

long long
store_migrate_rows(const struct store_migrate_report *rep, const char *table)
{
	for (int i = 0; i < STORE_MIGRATE_TABLES; i++)
		if (rep->table[i].name != NULL &&
		    strcmp(rep->table[i].name, table) == 0)
			return rep->table[i].rows;
	return -1;
}
