/* pq.c - libpq loaded on first use (pq.h says why): dlopen, then every
 * function the programs call looked up once into one table. */
#include "pq.h"

#include <dlfcn.h>
#include <stdio.h>

static struct pq_api api;
static int loaded;

/* Each entry: the table's slot and libpq's name for it. */
#define PQ_FN(f, name) { (void **)&api.f, name }
static const struct {
	void **slot;
	const char *name;
} fns[] = {
	PQ_FN(connectdbParams, "PQconnectdbParams"),
	PQ_FN(connectStartParams, "PQconnectStartParams"),
	PQ_FN(connectPoll, "PQconnectPoll"),
	PQ_FN(status, "PQstatus"),
	PQ_FN(errorMessage, "PQerrorMessage"),
	PQ_FN(setNoticeProcessor, "PQsetNoticeProcessor"),
	PQ_FN(finish, "PQfinish"),
	PQ_FN(reset, "PQreset"),
	PQ_FN(transactionStatus, "PQtransactionStatus"),
	PQ_FN(execParams, "PQexecParams"),
	PQ_FN(exec, "PQexec"),
	PQ_FN(sendQuery, "PQsendQuery"),
	PQ_FN(sendQueryParams, "PQsendQueryParams"),
	PQ_FN(getResult, "PQgetResult"),
	PQ_FN(consumeInput, "PQconsumeInput"),
	PQ_FN(isBusy, "PQisBusy"),
	PQ_FN(flush, "PQflush"),
	PQ_FN(setnonblocking, "PQsetnonblocking"),
	PQ_FN(socket, "PQsocket"),
	PQ_FN(notifies, "PQnotifies"),
	PQ_FN(resultStatus, "PQresultStatus"),
	PQ_FN(resultErrorMessage, "PQresultErrorMessage"),
	PQ_FN(clear, "PQclear"),
	PQ_FN(cmdTuples, "PQcmdTuples"),
	PQ_FN(ntuples, "PQntuples"),
	PQ_FN(nfields, "PQnfields"),
	PQ_FN(getisnull, "PQgetisnull"),
	PQ_FN(getvalue, "PQgetvalue"),
	PQ_FN(getlength, "PQgetlength"),
	PQ_FN(ftype, "PQftype"),
	PQ_FN(unescapeBytea, "PQunescapeBytea"),
	PQ_FN(freemem, "PQfreemem"),
};

const struct pq_api *
pq_load(char *err, size_t errcap)
{
	void *h;

	if (loaded)
		return &api;
	h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		snprintf(err, errcap, "PostgreSQL needs libpq (Debian's libpq5): "
		    "%s", dlerror());
		return NULL;
	}
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		*fns[i].slot = dlsym(h, fns[i].name);
		if (*fns[i].slot == NULL) {
			snprintf(err, errcap, "libpq.so.5 has no %s",
			    fns[i].name);
			dlclose(h);
			return NULL;
		}
	}
	/* Kept loaded: its functions are called as long as the process
	 * lives. */
	loaded = 1;
	return &api;
}
