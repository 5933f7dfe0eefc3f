/* db_pg.c - the PostgreSQL side of db.h, through libpq: SQLite's SQL
 * translated ($N parameters, the column user quoted), values bound in
 * binary format with their types (int8, text, bytea; a NULL's type left to
 * the server), each statement run with PQexecParams and its whole result
 * read at the first step, text-format results read back as SQLite's
 * columns would be. A connection found lost is made again, and the
 * statement run again once when no transaction was open: a restarted
 * server costs the calls made while it was down, never the process.
 *
 * Not prepared on the server: a statement's parameter types depend on its
 * bindings (a NULL or a value), and parsing these small statements costs
 * the server ~30 us against a round trip's ~60 us on loopback (bench:
 * make bench-pg, docs/SCALING.md). */
#include "db_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* libpq's calls (pq.h: loaded at the first PostgreSQL connection). */
static const struct pq_api *pq;

/* libpq's notices (a table that exists, a trigger dropped) are not
 * lightchat's events. */
static void
no_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Copies libpq's message (one line: its newlines made spaces) into d->err. */
static void
set_err(struct db *d, const char *msg)
{
	size_t n;

	if (msg == NULL || msg[0] == '\0')
		msg = "PostgreSQL failed";
	/* Its lines joined by one space each. */
	for (n = 0; *msg != '\0' && n + 1 < sizeof(d->err); msg++) {
		int space = *msg == '\n' || *msg == '\r' || *msg == '\t' ||
		    *msg == ' ';
		if (space && (n == 0 || d->err[n - 1] == ' '))
			continue;
		d->err[n++] = space ? ' ' : *msg;
	}
	while (n > 0 && d->err[n - 1] == ' ')
		n--;
	d->err[n] = '\0';
}

static PGconn *
connect_url(const char *url)
{
	/* The URL's own settings win over these defaults (expand_dbname):
	 * a server that does not answer fails in 5 s, not TCP's minutes. */
	const char *const keys[] = { "connect_timeout", "application_name",
	    "dbname", NULL };
	const char *const vals[] = { "5", "lightchat", url, NULL };

	return pq->connectdbParams(keys, vals, 1);
}

int
pg_open(struct db *d, const char *url, char *err, size_t errcap)
{
	if (pq == NULL && (pq = pq_load(err, errcap)) == NULL)
		return DB_ERR;
	d->url = strdup(url);
	if (d->url == NULL) {
		snprintf(err, errcap, "out of memory");
		return DB_ERR;
	}
	d->pg = connect_url(url);
	if (d->pg == NULL || pq->status(d->pg) != CONNECTION_OK) {
		set_err(d, d->pg != NULL ? pq->errorMessage(d->pg) : "out of memory");
		snprintf(err, errcap, "PostgreSQL: %s", d->err);
		d->lost = 1;   /* said by the caller; its return is logged */
		return DB_ERR;
	}
	pq->setNoticeProcessor(d->pg, no_notice, NULL);
	return DB_OK;
}

int
pg_connected(struct db *d)
{
	return d->pg != NULL && pq->status(d->pg) == CONNECTION_OK;
}

void
pg_close(struct db *d)
{
	if (d->pg != NULL && pq != NULL)
		pq->finish(d->pg);
	d->pg = NULL;
	free(d->url);
	d->url = NULL;
}

/* Makes the connection again when it is lost. Returns 0 when it works. */
static int
reconnect(struct db *d)
{
	if (pq->status(d->pg) == CONNECTION_OK)
		return 0;
	if (!d->lost) {
		log_warn("store: the PostgreSQL connection is lost; "
		    "connecting again");
		d->lost = 1;
	}
	pq->reset(d->pg);
	if (pq->status(d->pg) != CONNECTION_OK) {
		set_err(d, pq->errorMessage(d->pg));
		return -1;
	}
	pq->setNoticeProcessor(d->pg, no_notice, NULL);
	log_info("store: the PostgreSQL connection is back");
	d->lost = 0;
	return 0;
}

int
pg_in_transaction(struct db *d)
{
	return d->tx;
}

/* Runs sql (with p's parameters when p is not NULL). A connection found
 * lost is made again; the statement is run again once when no transaction
 * was open, and when one was, the statements fail up to its end (what it
 * did is gone with its connection; a COMMIT must not succeed on a new
 * one). d->tx follows the server's transaction status. Returns the result
 * (PQclear it) or NULL (d->err set). */
static PGresult *
run(struct db *d, const char *sql, const struct pg_stmt *p)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		PGresult *r;
		ExecStatusType rs;
		PGTransactionStatusType t;

		if (pq->status(d->pg) != CONNECTION_OK) {
			if (reconnect(d) != 0)
				return NULL;
			if (d->tx) {
				d->tx = 0;
				set_err(d, "the connection was lost during a "
				    "transaction");
				return NULL;
			}
		}
		r = p != NULL ? pq->execParams(d->pg, sql, p->nparams, p->type,
		    p->val, p->len, p->fmt, 0) : pq->exec(d->pg, sql);
		rs = r != NULL ? pq->resultStatus(r) : PGRES_FATAL_ERROR;
		if (pq->status(d->pg) == CONNECTION_OK) {
			t = pq->transactionStatus(d->pg);
			d->tx = t == PQTRANS_INTRANS || t == PQTRANS_INERROR;
		}
		if (rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK)
			return r;
		set_err(d, r != NULL ? pq->resultErrorMessage(r) :
		    pq->errorMessage(d->pg));
		pq->clear(r);
		if (pq->status(d->pg) == CONNECTION_OK || d->tx)
			return NULL;
	}
	return NULL;
}

int
db_pg_translate(const char *sql, char *out, size_t cap)
{
	size_t o = 0;
	int top = 0;
	const char *s = sql;

#define PUT(c) do { if (o + 1 >= cap) return -1; out[o++] = (c); } while (0)
	while (*s != '\0') {
		if (*s == '\'') {
			/* A literal, to its closing quote ('' inside it). */
			PUT(*s++);
			while (*s != '\0') {
				if (*s == '\'' && s[1] == '\'') {
					PUT(*s++);
					PUT(*s++);
					continue;
				}
				if (*s == '\'')
					break;
				PUT(*s++);
			}
			if (*s == '\'')
				PUT(*s++);
			continue;
		}
		if (*s == '?') {
			int n = 0;
			char num[8];
			s++;
			if (*s >= '0' && *s <= '9') {
				while (*s >= '0' && *s <= '9' && n <= DB_PARAMS_MAX)
					n = n * 10 + (*s++ - '0');
			} else
				n = top + 1;
			if (n < 1 || n > DB_PARAMS_MAX)
				return -1;
			if (n > top)
				top = n;
			snprintf(num, sizeof(num), "$%d", n);
			for (const char *c = num; *c != '\0'; c++)
				PUT(*c);
			continue;
		}
		/* The identifier user (a reserved word in PostgreSQL). */
		if (strncmp(s, "user", 4) == 0 &&
		    (s == sql || !(s[-1] == '_' || s[-1] == '"' ||
		    (s[-1] >= 'a' && s[-1] <= 'z') ||
		    (s[-1] >= 'A' && s[-1] <= 'Z') ||
		    (s[-1] >= '0' && s[-1] <= '9'))) &&
		    !(s[4] == '_' || s[4] == '"' || (s[4] >= 'a' && s[4] <= 'z') ||
		    (s[4] >= 'A' && s[4] <= 'Z') || (s[4] >= '0' && s[4] <= '9'))) {
			for (const char *c = "\"user\""; *c != '\0'; c++)
				PUT(*c);
			s += 4;
			continue;
		}
		PUT(*s++);
	}
#undef PUT
	out[o] = '\0';
	return top;
}

/* The highest $N of PostgreSQL's sql, or -1 past DB_PARAMS_MAX. */
static int
count_params(const char *sql)
{
	int top = 0;

	for (const char *s = sql; *s != '\0'; s++) {
		int n = 0;
		if (*s != '$' || s[1] < '0' || s[1] > '9')
			continue;
		while (s[1] >= '0' && s[1] <= '9' && n <= DB_PARAMS_MAX)
			n = n * 10 + (*++s - '0');
		if (n > DB_PARAMS_MAX)
			return -1;
		if (n > top)
			top = n;
	}
	return top;
}

int
pg_prepare(struct db *d, const char *sql, const char *pg_sql, int flags,
    struct db_stmt *st)
{
	static unsigned cursors;
	struct pg_stmt *p = calloc(1, sizeof(*p));
	const char *from = pg_sql != NULL ? pg_sql : sql;
	/* Each ? grows to at most $32, each user to "user". */
	size_t cap = strlen(from) * 2 + 64;
	size_t n;

	if (p == NULL || (p->sql = malloc(cap)) == NULL) {
		free(p);
		set_err(d, "out of memory");
		return DB_ERR;
	}
	p->nparams = db_pg_translate(from, p->sql, cap);
	/* A $N written in PostgreSQL's own form counts too. */
	if (p->nparams >= 0 && count_params(p->sql) > p->nparams)
		p->nparams = count_params(p->sql);
	if (p->nparams < 0) {
		set_err(d, "a statement with too many parameters");
		free(p->sql);
		free(p);
		return DB_ERR;
	}
	n = strlen(p->sql);
	p->returns_id = n >= 12 && strcmp(p->sql + n - 12, "RETURNING id") == 0;
	p->row = -1;
	p->stream = (flags & DB_STREAM) != 0 && !p->returns_id;
	snprintf(p->cursor, sizeof(p->cursor), "lc_cursor_%u", ++cursors);
	st->pg = p;
	return DB_OK;
}

static void
drop_blobs(struct pg_stmt *p)
{
	for (int i = 0; i < DB_PARAMS_MAX; i++) {
		pq->freemem(p->blob[i]);
		p->blob[i] = NULL;
	}
}

/* Closes a DB_STREAM statement's cursor, and ends the transaction it
 * began for it (rolled back when a statement failed in it). */
static void
stream_end(struct db_stmt *st)
{
	struct pg_stmt *p = st->pg;
	struct db *d = st->db;
	char sql[48];
	PGresult *r;

	if (p->cursor_open && d->tx) {
		snprintf(sql, sizeof(sql), "CLOSE %s", p->cursor);
		pq->clear(run(d, sql, NULL));
	}
	p->cursor_open = 0;
	if (p->own_tx && d->tx) {
		int failed = pq->transactionStatus(d->pg) == PQTRANS_INERROR;
		r = run(d, failed ? "ROLLBACK" : "COMMIT", NULL);
		pq->clear(r);
	}
	p->own_tx = 0;
}

/* The next batch of a DB_STREAM statement's rows into p->res. Returns 0,
 * or -1 (d->err set). */
static int
stream_fetch(struct db_stmt *st)
{
	struct pg_stmt *p = st->pg;
	char sql[64];

	pq->clear(p->res);
	snprintf(sql, sizeof(sql), "FETCH %d FROM %s", DB_STREAM_ROWS,
	    p->cursor);
	p->res = run(st->db, sql, NULL);
	p->row = 0;
	return p->res != NULL ? 0 : -1;
}

/* db_step of a DB_STREAM statement: its cursor declared at the first step
 * (in a transaction of its own when none is open), its rows fetched
 * DB_STREAM_ROWS at a time: a result never holds more. */
static int
stream_step(struct db_stmt *st)
{
	struct pg_stmt *p = st->pg;
	struct db *d = st->db;

	if (!p->cursor_open) {
		size_t cap = strlen(p->sql) + 64;
		char *decl = malloc(cap);
		PGresult *r;

		if (decl == NULL) {
			set_err(d, "out of memory");
			return DB_ERR;
		}
		if (!d->tx) {
			r = run(d, "BEGIN", NULL);
			if (r == NULL) {
				free(decl);
				return DB_ERR;
			}
			pq->clear(r);
			p->own_tx = 1;
		}
		snprintf(decl, cap, "DECLARE %s NO SCROLL CURSOR FOR %s",
		    p->cursor, p->sql);
		r = run(d, decl, p);
		free(decl);
		if (r == NULL) {
			stream_end(st);
			return DB_ERR;
		}
		pq->clear(r);
		p->cursor_open = 1;
		if (stream_fetch(st) != 0) {
			stream_end(st);
			return DB_ERR;
		}
		p->row = -1;
	}
	if (++p->row < pq->ntuples(p->res))
		return DB_ROW;
	if (pq->ntuples(p->res) == DB_STREAM_ROWS) {
		if (stream_fetch(st) != 0) {
			stream_end(st);
			return DB_ERR;
		}
		if (pq->ntuples(p->res) > 0)
			return DB_ROW;
	}
	p->done = 1;
	stream_end(st);
	return DB_DONE;
}

void
pg_reset(struct db_stmt *st)
{
	struct pg_stmt *p = st->pg;

	if (p == NULL)
		return;
	if (p->cursor_open || p->own_tx)
		stream_end(st);
	drop_blobs(p);
	pq->clear(p->res);
	p->res = NULL;
	p->row = -1;
	p->done = 0;
	for (int i = 0; i < DB_PARAMS_MAX; i++) {
		p->val[i] = NULL;
		p->len[i] = 0;
		p->fmt[i] = 0;
		p->type[i] = 0;
	}
}

void
pg_finalize(struct db_stmt *st)
{
	if (st->pg == NULL)
		return;
	pg_reset(st);
	free(st->pg->sql);
	free(st->pg);
	st->pg = NULL;
}

int
pg_step(struct db_stmt *st)
{
	struct pg_stmt *p = st->pg;
	struct db *d = st->db;

	drop_blobs(p);
	if (p->done)
		return DB_DONE;
	if (p->stream)
		return stream_step(st);
	if (p->res == NULL) {
		p->res = run(d, p->sql, p);
		if (p->res == NULL)
			return DB_ERR;
		if (pq->resultStatus(p->res) == PGRES_COMMAND_OK) {
			d->changes = strtoll(pq->cmdTuples(p->res), NULL, 10);
			p->done = 1;
			return DB_DONE;
		}
		if (p->returns_id) {
			/* A write: its row id is its answer. */
			d->changes = pq->ntuples(p->res);
			if (d->changes > 0)
				d->last_id = strtoll(pq->getvalue(p->res, 0, 0),
				    NULL, 10);
			p->done = 1;
			return DB_DONE;
		}
	}
	if (++p->row < pq->ntuples(p->res))
		return DB_ROW;
	p->done = 1;
	return DB_DONE;
}

const char *
pg_value(struct db_stmt *st, int i)
{
	struct pg_stmt *p = st->pg;

	if (p->res == NULL || p->row < 0 || p->row >= pq->ntuples(p->res) ||
	    i < 0 || i >= pq->nfields(p->res) ||
	    pq->getisnull(p->res, p->row, i))
		return NULL;
	return pq->getvalue(p->res, p->row, i);
}

int
pg_column_length(struct db_stmt *st, int i)
{
	return pg_value(st, i) != NULL ?
	    pq->getlength(st->pg->res, st->pg->row, i) : 0;
}

int
pg_column_count(struct db_stmt *st)
{
	return st->pg->res != NULL ? pq->nfields(st->pg->res) : 0;
}

int
pg_column_type(struct db_stmt *st, int i)
{
	struct pg_stmt *p = st->pg;

	if (p->res == NULL || p->row < 0 || p->row >= pq->ntuples(p->res) ||
	    i < 0 || i >= pq->nfields(p->res) || pq->getisnull(p->res, p->row, i))
		return DB_NULL;
	switch (pq->ftype(p->res, i)) {
	case 16: case 20: case 21: case 23: case 1700:   /* bool, ints, numeric */
		return DB_INTEGER;
	case 700: case 701:
		return DB_FLOAT;
	case 17:
		return DB_BLOB;
	}
	return DB_TEXT;
}

const void *
pg_column_blob(struct db_stmt *st, int i, int *len)
{
	struct pg_stmt *p = st->pg;

	*len = 0;
	if (pg_column_type(st, i) != DB_BLOB || i >= DB_PARAMS_MAX)
		return NULL;
	if (p->blob[i] == NULL) {
		p->blob[i] = pq->unescapeBytea((const unsigned char *)
		    pq->getvalue(p->res, p->row, i), &p->blob_len[i]);
		if (p->blob[i] == NULL)
			return NULL;
	}
	*len = (int)p->blob_len[i];
	return p->blob[i];
}

int
pg_exec(struct db *d, const char *sql)
{
	PGresult *r = run(d, sql, NULL);

	if (r == NULL)
		return DB_ERR;
	pq->clear(r);
	return DB_OK;
}

int
pg_busy_timeout(struct db *d, int ms)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "SET lock_timeout = %d", ms);
	return pg_exec(d, sql);
}
