/* metrics.c - GET and HEAD /metrics: lightchat's metrics in the Prometheus
 * text format 0.0.4, to loopback peers (metrics_open_loopback) or a request
 * with "Authorization: Bearer" matching the token in metrics_token_file
 * (0600; compared in constant time, never logged); 403 otherwise. The
 * catalogue below is every family's one HELP and TYPE; its samples come
 * from the worker's heartbeat file (when fresh), the store's counters
 * (every FastCGI process of both pools), the usage ledger's totals per
 * user and model (table usage_totals) and this process (/proc). */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "budget.h"
#include "creds.h"
#include "log.h"
#include "metrics.h"
#include "monitor.h"
#include "pages.h"
#include "perms.h"
#include "prom.h"

#ifndef LC_VERSION
#define LC_VERSION "unknown"
#endif

#define METRICS_BODY_MAX (256 * 1024)
#define METRICS_TOKEN_MAX 512

static const struct prom_family families[] = {
	{ M_BUILD_INFO, PROM_GAUGE,
	  "The version of lightchat answering (always 1)." },
	{ M_WORKER_UP, PROM_GAUGE,
	  "1 when the worker's heartbeat is at most health_heartbeat_max old." },
	{ M_HEARTBEAT_AGE, PROM_GAUGE,
	  "Seconds since the worker's last heartbeat (absent: none)." },
	{ M_SESSIONS_OPEN, PROM_GAUGE,
	  "WebSocket sessions the worker counts now." },
	{ M_REPLIES_IN_FLIGHT, PROM_GAUGE,
	  "Replies streaming from the upstream now." },
	{ M_REPLIES, PROM_COUNTER,
	  "Replies ended since the worker started, by outcome." },
	{ M_UPSTREAM_ERRORS, PROM_COUNTER,
	  "Failed replies since the worker started, by error code." },
	{ M_FIRST_TOKEN, PROM_HISTOGRAM,
	  "Seconds from a reply's start to its first text." },
	{ M_REPLY_DURATION, PROM_HISTOGRAM,
	  "Seconds from a reply's start to its end." },
	{ M_TOKENS, PROM_COUNTER,
	  "Tokens the upstream reported: in (prompt), out (completion)." },
	{ M_LOGINS, PROM_COUNTER,
	  "Logins by result, over every FastCGI process." },
	{ M_RATE_LIMITED, PROM_COUNTER,
	  "Requests refused by a rate limit: login (throttled), messages, "
	  "connections." },
	{ M_DATABASE_ERRORS, PROM_COUNTER,
	  "Failed SQLite calls, by process (fcgi: every FastCGI process)." },
	{ M_MEMORY, PROM_GAUGE,
	  "Resident memory in bytes, by program (summed over its processes)." },
	{ M_USAGE_TOKENS, PROM_COUNTER,
	  "Tokens of the usage ledger (reported or estimated) since it began, "
	  "by user, model and kind (prompt, completion, reasoning: part of "
	  "completion)." },
	{ M_USAGE_COST, PROM_COUNTER,
	  "Cost of the usage ledger's priced replies since it began, in the "
	  "configured currency (the currency setting), by user and model." },
	{ M_USAGE_REPLIES, PROM_COUNTER,
	  "Replies in the usage ledger since it began, by user and model." },
};
#define NFAMILIES (sizeof(families) / sizeof(families[0]))

/* The store's counters /metrics shows. */
static const char *const login_results[] = {
	"ok", "bad_password", "throttled", "bad_request", "error",
};
#define NRESULTS (sizeof(login_results) / sizeof(login_results[0]))

struct counters {
	long long logins[NRESULTS];
	long long db_errors;
	int read;                     /* the store answered */
};

static int
on_counter(void *arg, const char *name, long long value)
{
	struct counters *c = arg;

	if (strcmp(name, "database_errors") == 0)
		c->db_errors = value;
	for (size_t i = 0; i < NRESULTS; i++)
		if (strncmp(name, "login_", 6) == 0 &&
		    strcmp(name + 6, login_results[i]) == 0)
			c->logins[i] = value;
	return 0;
}

/* Resident bytes of every process of ours named comm (as the kernel cuts
 * it, 15 bytes): the FastCGI processes of both pools, the sessions. */
struct rss_sum {
	long long fcgi, ws;
};

static long long
statm_bytes(const char *dir)
{
	char path[300];
	long long size = 0, resident = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/statm", dir);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fscanf(f, "%lld %lld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

/* Sums the resident memory of this user's lightchat.fcgi and lightchat-ws
 * processes (one pass over /proc, at scrape time only). */
static void
rss_scan(struct rss_sum *out)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	uid_t uid = getuid();

	out->fcgi = out->ws = 0;
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char path[300], comm[32];
		struct stat st;
		FILE *f;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s", e->d_name);
		if (stat(path, &st) != 0 || st.st_uid != uid)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(comm, sizeof(comm), f) == NULL)
			comm[0] = '\0';
		fclose(f);
		comm[strcspn(comm, "\n")] = '\0';
		long long *slot = strcmp(comm, "lightchat.fcgi") == 0 ?
		    &out->fcgi : strcmp(comm, "lightchat-ws") == 0 ? &out->ws :
		    NULL;
		long long b = slot != NULL ? statm_bytes(e->d_name) : -1;
		if (b > 0)
			*slot += b;
	}
	closedir(d);
}

/* The usage families' samples, written by store_usage_totals' rows. */
struct usage_out {
	struct lc_buf *b;
	const char *family;
};

static int
on_usage_total(void *arg, const char *user, const char *model,
    long long replies, long long prompt_tokens, long long completion_tokens,
    long long reasoning_tokens, long long cost_micros)
{
	static const char *const kinds[] = { "prompt", "completion",
	    "reasoning" };
	struct usage_out *o = arg;
	const long long tokens[] = { prompt_tokens, completion_tokens,
	    reasoning_tokens };
	const char *l[] = { "user", user, "model", model, "kind", NULL };
	int rc = LC_BUF_OK;

	if (strcmp(o->family, M_USAGE_REPLIES) == 0)
		return prom_sample_labels(o->b, o->family, l, 2,
		    (double)replies);
	/* Only where a cost was counted: an unpriced model has none (its
	 * total is 0, not a price of 0 that nobody set). */
	if (strcmp(o->family, M_USAGE_COST) == 0)
		return cost_micros <= 0 ? LC_BUF_OK : prom_sample_labels(o->b,
		    o->family, l, 2, (double)cost_micros /
		    (double)BUDGET_MICROS);
	for (size_t i = 0; rc == LC_BUF_OK && i < 3; i++) {
		l[5] = kinds[i];
		rc = prom_sample_labels(o->b, o->family, l, 3,
		    (double)tokens[i]);
	}
	return rc;
}

/* Appends the samples of family f that this process knows. */
static int
own_samples(struct lc_buf *b, const struct prom_family *f, int fresh,
    long long age_ms, const struct counters *c, const struct rss_sum *rss,
    struct store *store)
{
	const char *n = f->name;
	int rc = LC_BUF_OK;

	if (strcmp(n, M_USAGE_TOKENS) == 0 || strcmp(n, M_USAGE_COST) == 0 ||
	    strcmp(n, M_USAGE_REPLIES) == 0) {
		struct usage_out o = { b, n };
		/* A store that cannot be read shows no samples. */
		rc = store != NULL ? store_usage_totals(store, on_usage_total,
		    &o) : STORE_OK;
		return rc == STORE_ERR ? LC_BUF_OK : rc;
	}
	if (strcmp(n, M_BUILD_INFO) == 0)
		return prom_sample(b, n, "version", LC_VERSION, 1);
	if (strcmp(n, M_WORKER_UP) == 0)
		return prom_sample(b, n, NULL, NULL, fresh == 1);
	if (strcmp(n, M_HEARTBEAT_AGE) == 0)
		return age_ms < 0 ? LC_BUF_OK : prom_sample(b, n, NULL, NULL,
		    (double)age_ms / 1000.0);
	if (strcmp(n, M_LOGINS) == 0 && c->read) {
		for (size_t i = 0; rc == LC_BUF_OK && i < NRESULTS; i++)
			rc = prom_sample(b, n, "result", login_results[i],
			    (double)c->logins[i]);
		return rc;
	}
	if (strcmp(n, M_RATE_LIMITED) == 0 && c->read)
		return prom_sample(b, n, "what", "login", (double)c->logins[2]);
	if (strcmp(n, M_DATABASE_ERRORS) == 0 && c->read)
		return prom_sample(b, n, "process", "fcgi", (double)c->db_errors);
	if (strcmp(n, M_MEMORY) == 0) {
		if (rss->fcgi > 0)
			rc = prom_sample(b, n, "process", "fcgi",
			    (double)rss->fcgi);
		if (rc == LC_BUF_OK && rss->ws > 0)
			rc = prom_sample(b, n, "process", "ws", (double)rss->ws);
		return rc;
	}
	return LC_BUF_OK;
}

/* Appends the lines of the worker's file that belong to f. */
static int
worker_samples(struct lc_buf *b, const struct prom_family *f,
    const struct lc_buf *file)
{
	const char *p = buf_str(file), *end = p + file->len;
	int rc = LC_BUF_OK;

	while (p < end && rc == LC_BUF_OK) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		/* A line cut by the size bound has no newline: left out. */
		if (nl != NULL && prom_line_of(p, len, f) &&
		    (rc = buf_append(b, p, len)) == LC_BUF_OK)
			rc = buf_append_str(b, "\n");
		p += len + (nl != NULL);
	}
	return rc;
}

/* Returns 1 if REMOTE_ADDR is a loopback address. */
static int
from_loopback(const struct http_req *r)
{
	const char *a = http_param(r, "REMOTE_ADDR");

	return a != NULL && (strncmp(a, "127.", 4) == 0 ||
	    strcmp(a, "::1") == 0 || strncmp(a, "::ffff:127.", 11) == 0);
}

/* Returns 1 if a and b (alen, blen bytes) are equal, in a time that
 * depends only on the longer length. */
static int
equal_ct(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen > blen ? alen : blen;
	volatile unsigned char d = alen != blen;

	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)((i < alen ? a[i] : 0) ^
		    (i < blen ? b[i] : 0));
	return d == 0;
}

/* Returns 1 if the request's bearer token matches metrics_token_file. */
static int
token_ok(const struct http_req *r)
{
	char given[METRICS_TOKEN_MAX + 1], want[METRICS_TOKEN_MAX + 2];
	char err[256];
	const char *path = r->cfg->metrics_token_file;
	int fd = -1, ok = 0;
	ssize_t n = 0;

	given[0] = want[0] = '\0';
	if (path[0] == '\0' || creds_bearer(http_param(r,
	    "HTTP_AUTHORIZATION"), given, sizeof(given)) != 1)
		goto out;
	if (perms_check_private(path, 0, err, sizeof(err)) != 0) {
		log_err("metrics_token_file: %s", err);
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (n = read(fd, want, sizeof(want) - 1)) < 0) {
		log_err("metrics_token_file %s: cannot read it", path);
		goto out;
	}
	want[n] = '\0';
	size_t wlen = strcspn(want, "\r\n");
	while (wlen > 0 && want[wlen - 1] == ' ')
		wlen--;
	if (wlen == 0 || (size_t)n > METRICS_TOKEN_MAX) {
		log_err("metrics_token_file %s: empty or longer than %d bytes",
		    path, METRICS_TOKEN_MAX);
		goto out;
	}
	ok = equal_ct(given, strlen(given), want, wlen);
out:
	if (fd >= 0)
		close(fd);
	explicit_bzero(given, sizeof(given));
	explicit_bzero(want, sizeof(want));
	return ok;
}

int
page_metrics(struct http_req *r, const struct route_ctx *ctx)
{
	struct lc_buf file, body;
	struct counters c;
	struct rss_sum rss;
	long long age_ms = -1;
	int rc = -1;

	(void)ctx;
	buf_init(&file, METRICS_FILE_MAX);
	buf_init(&body, METRICS_BODY_MAX);
	if (!(r->cfg->metrics_open_loopback && from_loopback(r)) &&
	    !token_ok(r)) {
		rc = http_send_error(r, 403, "forbidden", "/metrics is open to "
		    "localhost or a configured bearer token only");
		goto out;
	}
	int fresh = monitor_worker(r->cfg, &file, &age_ms);
	if (fresh != 1)
		buf_reset(&file);   /* a stale worker's figures are not shown */
	memset(&c, 0, sizeof(c));
	monitor_flush_errors(r->store);
	c.read = r->store != NULL &&
	    store_counters_each(r->store, on_counter, &c) == STORE_OK;
	rss_scan(&rss);
	for (size_t i = 0; i < NFAMILIES; i++) {
		const struct prom_family *f = &families[i];
		if (prom_head(&body, f) != LC_BUF_OK ||
		    worker_samples(&body, f, &file) != LC_BUF_OK ||
		    own_samples(&body, f, fresh, age_ms, &c, &rss, r->store) !=
		    LC_BUF_OK) {
			log_err("metrics: the answer passed %d bytes",
			    METRICS_BODY_MAX);
			rc = http_send_error(r, 500, "server_error",
			    "The metrics did not fit");
			goto out;
		}
	}
	rc = http_send(r, 200, "text/plain; version=0.0.4; charset=utf-8",
	    buf_str(&body), body.len);
out:
	buf_free(&file);
	buf_free(&body);
	return rc;
}
