/* notify.c - what LISTEN/NOTIFY costs between two workers (make
 * bench-notify URL=postgresql://...): one sender, one listener (a child
 * process with its own connection), on this machine. The sender sends
 * COUNT payloads of SIZE bytes, each carrying its send time (the monotonic
 * clock, shared by both processes), the way worker/cluster.c does: up to
 * BATCH pg_notify calls in one query (SELECT pg_notify($1,$2),...), the
 * next query when the last one's result came. The listener takes each
 * payload with PQconsumeInput/PQnotifies and records its latency (at full
 * speed, and paced at one a millisecond: the latency unloaded). Prints
 * notifies/s and the latency's p50 and p99, for each size and batch
 * (docs/ARCHITECTURE.md, "Several hosts", quotes them). */
#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define COUNT 20000
#define BATCH_MAX 16

static long long
now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

static PGconn *
connect_to(const char *url)
{
	PGconn *c = PQconnectdb(url);

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "notify: %s", PQerrorMessage(c));
		exit(1);
	}
	return c;
}

/* The child: LISTENs, tells the parent it is ready (a byte on ready),
 * takes count payloads, writes their latencies (µs) to out. */
static void
listener(const char *url, int ready, int out, int count)
{
	PGconn *c = connect_to(url);
	PGresult *r = PQexec(c, "LISTEN bench");
	long long *lat = calloc((size_t)count, sizeof(*lat));
	int got = 0;

	if (PQresultStatus(r) != PGRES_COMMAND_OK || lat == NULL)
		exit(1);
	PQclear(r);
	if (write(ready, "r", 1) != 1)
		exit(1);
	while (got < count) {
		struct pollfd p = { PQsocket(c), POLLIN, 0 };
		PGnotify *n;
		if (poll(&p, 1, 10000) <= 0)
			break;
		if (!PQconsumeInput(c))
			break;
		while ((n = PQnotifies(c)) != NULL) {
			long long t = atoll(n->extra);
			if (got < count)
				lat[got++] = now_us() - t;
			PQfreemem(n);
		}
	}
	if (write(out, lat, (size_t)got * sizeof(*lat)) < 0)
		exit(1);
	PQfinish(c);
	_exit(0);
}

static void
run(const char *url, size_t size, int batch, int pace_us)
{
	int ready[2], res[2];
	pid_t pid;
	char sql[1024], flag;
	char (*payload)[8000] = calloc(BATCH_MAX, sizeof(*payload));
	const char *values[BATCH_MAX + 1];
	long long *lat = calloc(COUNT, sizeof(*lat)), t0, t1;
	size_t len = 0, n = 0;
	ssize_t k;

	if (payload == NULL || lat == NULL || pipe(ready) != 0 ||
	    pipe(res) != 0)
		exit(1);
	fflush(stdout);  /* the child must not print the parent's lines */
	pid = fork();
	if (pid == 0)
		listener(url, ready[1], res[1], COUNT);
	if (read(ready[0], &flag, 1) != 1)
		exit(1);
	PGconn *c = connect_to(url);
	len = (size_t)snprintf(sql, sizeof(sql), "SELECT pg_notify($1,$2)");
	for (int j = 1; j < batch; j++)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len,
		    ",pg_notify($1,$%d)", j + 2);
	values[0] = "bench";
	t0 = now_us();
	for (int sent = 0; sent < COUNT; sent += batch) {
		for (int j = 0; j < batch; j++) {
			/* The time, then padding to size (distinct payloads:
			 * a transaction's equal ones would be folded). */
			int m = snprintf(payload[j], sizeof(payload[j]), "%lld %d ",
			    now_us(), sent + j);
			memset(payload[j] + m, 'x', size > (size_t)m ?
			    size - (size_t)m : 0);
			payload[j][size > (size_t)m ? size : (size_t)m] = '\0';
			values[j + 1] = payload[j];
		}
		PGresult *r = PQexecParams(c, sql, batch + 1, NULL, values, NULL,
		    NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			fprintf(stderr, "notify: %s", PQerrorMessage(c));
			exit(1);
		}
		PQclear(r);
		if (pace_us > 0)
			usleep((useconds_t)pace_us);
	}
	t1 = now_us();
	while ((k = read(res[0], (char *)lat + n, COUNT * sizeof(*lat) - n)) > 0)
		n += (size_t)k;
	waitpid(pid, NULL, 0);
	n /= sizeof(*lat);
	qsort(lat, n, sizeof(*lat), cmp_ll);
	printf("payload %4zu B, batch %2d%s: %6.0f notifies/s sent, %zu of %d "
	    "received, latency p50 %.2f ms p99 %.2f ms\n", size, batch,
	    pace_us > 0 ? ", paced 1 ms" : "",
	    (double)COUNT * 1e6 / (double)(t1 - t0), n, COUNT,
	    n ? (double)lat[n / 2] / 1000.0 : -1.0,
	    n ? (double)lat[n * 99 / 100] / 1000.0 : -1.0);
	PQfinish(c);
	close(ready[0]);
	close(ready[1]);
	close(res[0]);
	close(res[1]);
	free(payload);
	free(lat);
}

int
main(int argc, char **argv)
{
	static const size_t sizes[] = { 200, 2000, 7900 };
	static const int batches[] = { 1, 16 };

	if (argc != 2) {
		fprintf(stderr, "usage: %s postgresql://...\n", argv[0]);
		return 2;
	}
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (size_t b = 0; b < sizeof(batches) / sizeof(batches[0]); b++)
			run(argv[1], sizes[s], batches[b], 0);
	/* Unloaded: one at a time, a millisecond apart. */
	run(argv[1], 200, 1, 1000);
	return 0;
}
