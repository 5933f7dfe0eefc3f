/* pq.h - libpq, loaded when a PostgreSQL database is first used (dlopen of
 * libpq.so.5), so that the embedded default (SQLite) does not carry it:
 * linked, libpq and its dependency chain (libssl, GSSAPI, LDAP) cost each
 * process ~2 MB PSS at start (measured: a program that only links
 * sqlite3, 0.2 MB; with libpq, 2.2 MB), and the stack runs several
 * processes. The calls keep libpq's names and types (libpq-fe.h); only
 * the headers are needed to build. */
#ifndef LC_PQ_H
#define LC_PQ_H

#include <stddef.h>
#include <libpq-fe.h>

struct pq_api {
	__typeof__(PQconnectdbParams) *connectdbParams;
	__typeof__(PQconnectStartParams) *connectStartParams;
	__typeof__(PQconnectPoll) *connectPoll;
	__typeof__(PQstatus) *status;
	__typeof__(PQerrorMessage) *errorMessage;
	__typeof__(PQsetNoticeProcessor) *setNoticeProcessor;
	__typeof__(PQfinish) *finish;
	__typeof__(PQreset) *reset;
	__typeof__(PQtransactionStatus) *transactionStatus;
	__typeof__(PQexecParams) *execParams;
	__typeof__(PQexec) *exec;
	__typeof__(PQsendQuery) *sendQuery;
	__typeof__(PQsendQueryParams) *sendQueryParams;
	__typeof__(PQgetResult) *getResult;
	__typeof__(PQconsumeInput) *consumeInput;
	__typeof__(PQisBusy) *isBusy;
	__typeof__(PQflush) *flush;
	__typeof__(PQsetnonblocking) *setnonblocking;
	__typeof__(PQsocket) *socket;
	__typeof__(PQnotifies) *notifies;
	__typeof__(PQresultStatus) *resultStatus;
	__typeof__(PQresultErrorMessage) *resultErrorMessage;
	__typeof__(PQclear) *clear;
	__typeof__(PQcmdTuples) *cmdTuples;
	__typeof__(PQntuples) *ntuples;
	__typeof__(PQnfields) *nfields;
	__typeof__(PQgetisnull) *getisnull;
	__typeof__(PQgetvalue) *getvalue;
	__typeof__(PQgetlength) *getlength;
	__typeof__(PQftype) *ftype;
	__typeof__(PQunescapeBytea) *unescapeBytea;
	__typeof__(PQfreemem) *freemem;
};

/* Loads libpq once (later calls return the same table). Returns the table,
 * or NULL with why in err ("libpq5 is not installed ..."). */
const struct pq_api *pq_load(char *err, size_t errcap);

#endif
