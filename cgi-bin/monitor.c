/* monitor.c - the FastCGI program's side of /health and /metrics: reads and
 * judges the worker's heartbeat file (lib/metrics.h), and keeps the
 * counters every FastCGI process adds to in the store. A login costs one
 * more small write (an UPSERT of one row, ~0.1 ms in WAL mode); database
 * errors are written after the request that had them. */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"

/* This process's database errors already added to the store. */
static unsigned long long errors_flushed;

int
monitor_worker(const struct lc_config *cfg, struct lc_buf *file,
    long long *age_ms)
{
	char chunk[4096];
	struct timespec now;
	long long beat = -1;
	int fd = open(cfg->worker_metrics_file, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	*age_ms = -1;
	if (fd < 0)
		return -1;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0 || (n < 0 &&
	    errno == EINTR)) {
		if (n > 0 && buf_append(file, chunk, (size_t)n) != LC_BUF_OK)
			break;
	}
	close(fd);
	const char *p = buf_str(file);
	size_t hlen = strlen(METRICS_HEARTBEAT);
	if (strncmp(p, METRICS_HEARTBEAT, hlen) == 0) {
		char *end = NULL;
		errno = 0;
		beat = strtoll(p + hlen, &end, 10);
		if (end == p + hlen || errno != 0)
			beat = -1;
	}
	if (beat < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	*age_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 - beat;
	if (*age_ms < 0)
		*age_ms = 0;
	return *age_ms <= cfg->health_heartbeat_max * 1000 ? 1 : 0;
}

void
monitor_login(struct store *store, const char *result)
{
	char name[64];

	snprintf(name, sizeof(name), "login_%s", result);
	if (store != NULL && store_counter_add(store, name, 1) != STORE_OK)
		log_warn("metrics: could not count a login (%s)", result);
}

void
monitor_flush_errors(struct store *store)
{
	unsigned long long now = store_errors();

	if (store == NULL || now == errors_flushed)
		return;
	/* A failing write adds to store_errors: it is counted next time. */
	if (store_counter_add(store, "database_errors",
	    (long long)(now - errors_flushed)) == STORE_OK)
		errors_flushed = now;
}
