/* cluster.c - the worker's link to the other hosts' workers (cluster.h): a
 * libpq connection of its own that LISTENs and NOTIFYs on channel
 * "lightchat" from the worker's epoll loop, the bounded queue of messages
 * to send, what arrives handed to the watch list and the replies, and the
 * worker's lease in the store. */
#include "cluster.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <time.h>


#include "cluster_msg.h"
#include "frames.h"
#include "interest.h"
#include "log.h"
#include "monotime.h"
#include "pq.h"

_Static_assert(CMSG_WORKER_MAX == STORE_WORKER_MAX, "one worker id rule");
_Static_assert(CMSG_WORKER_MAX == LC_WORKER_ID_MAX, "one worker id rule");

#define TIMER_MS 250          /* the cluster's own clock in the loop */
#define BACKOFF_MIN_MS 500    /* connection retries: 0.5 s doubling */
#define BACKOFF_MAX_MS 10000  /* to 10 s */
#define SWEEP_MS 2000         /* the orphans' sweep */
#define IDLE_WAIT_MS 500      /* a new watcher's idle, if no snapshot came */
#define BATCH_MAX 16          /* pg_notify calls in one query */
#define INTEREST_MAX 4096     /* (user, conversation) entries */
#define PENDING_MAX 256       /* watchers waiting for an answer */
#define SENDERS_MAX 64        /* other workers whose numbers are followed */
#define REFUSED_LOG_EVERY 1000  /* refused messages: one line per so many */

/* One message to send, encoded. keep: it waits out a lost connection (a
 * frame does not: a newer snapshot replaces it). */
struct qmsg {
	struct qmsg *next;
	size_t len;
	int keep;
	char data[];
};

/* A session that started watching, owed its snapshot or idle. */
struct pending {
	struct peer peer;
	char user[LC_USER_MAX + 1];
	char conv[ID_LEN + 1];
	long long due_ms;
};

/* Another worker run, by id and instance: its last message number. */
struct sender {
	char w[CMSG_WORKER_MAX + 1];
	char i[CMSG_INSTANCE_LEN + 1];
	unsigned long long n;
	long long seen_ms;
};

enum cl_state { CL_DOWN, CL_CONNECTING, CL_LISTENING, CL_UP };

struct cluster {
	long long started_ms;         /* wall clock at cluster_new */
	int self_swept;               /* what it wrote before its start ended */
	const struct lc_config *cfg;
	const struct pq_api *pq;      /* libpq, loaded (lib/pq.h) */
	struct store *store;
	struct loop *loop;
	struct watch *watch;
	struct replies *replies;
	char id[CMSG_WORKER_MAX + 1];
	char inst[CMSG_INSTANCE_LEN + 1];
	unsigned long long seq;       /* the last message number given */
	long long lease_ms;
	PGconn *conn;
	enum cl_state state;
	int fd;                       /* watched in the loop, -1 none */
	unsigned events;
	int busy;                     /* a query's results are awaited */
	long backoff_ms;
	long long retry_ms;           /* the next connection attempt */
	int down_logged;              /* the loss is logged, once */
	int ever_up;
	struct qmsg *qhead, **qtail;
	size_t qbytes;
	int full_logged;
	struct interest *interest;
	struct pending pend[PENDING_MAX];
	size_t npend;
	struct sender senders[SENDERS_MAX];
	long long renew_ms, sweep_ms, refresh_ms;  /* when each is due */
	int renew_failed, twin_logged;
	unsigned long long refused;   /* messages refused as invalid */
	char batch_sql[BATCH_MAX][512];
};

static long long
wall_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The first line of libpq's message (never the URL: libpq does not
 * repeat the conninfo, and its password is never in a message). */
static void
pq_reason(const struct cluster *cl, char *out, size_t cap)
{
	const char *e = cl->conn != NULL ? cl->pq->errorMessage(cl->conn) :
	    "out of memory";
	size_t n = strcspn(e, "\n");

	if (n >= cap)
		n = cap - 1;
	memcpy(out, e, n);
	out[n] = '\0';
	if (n == 0)
		snprintf(out, cap, "closed");
}

/* --------------------------------------------------------------- queue -- */

static void
queue_drop(struct cluster *cl, int all)
{
	struct qmsg **pp = &cl->qhead, *q;

	while ((q = *pp) != NULL) {
		if (all || !q->keep) {
			*pp = q->next;
			cl->qbytes -= q->len;
			free(q);
		} else {
			pp = &q->next;
		}
	}
	cl->qtail = pp;
}

/* Queues payload. Returns 0, or -1 when the queue is full or out of
 * memory. */
static int
enqueue(struct cluster *cl, const char *payload, size_t len, int keep)
{
	struct qmsg *q;

	if (cl->qbytes + len > (size_t)cl->cfg->worker_cluster_queue)
		return -1;
	q = malloc(sizeof(*q) + len + 1);
	if (q == NULL)
		return -1;
	q->next = NULL;
	q->len = len;
	q->keep = keep;
	memcpy(q->data, payload, len + 1);
	*cl->qtail = q;
	cl->qtail = &q->next;
	cl->qbytes += len;
	return 0;
}

static void watch_fd(struct cluster *cl, unsigned events);
static void conn_lost(struct cluster *cl);

/* Sends what libpq holds for the server, and watches the socket for
 * writing too while some is left. Returns 0, or -1 when the connection
 * was lost (conn_lost done). */
static int
flush_out(struct cluster *cl)
{
	int f = cl->pq->flush(cl->conn);

	if (f < 0) {
		conn_lost(cl);
		return -1;
	}
	watch_fd(cl, f == 1 ? EPOLLIN | EPOLLOUT : EPOLLIN);
	return 0;
}

/* Sends the next batch when the connection is up and idle. */
static void
pump(struct cluster *cl)
{
	const char *values[BATCH_MAX + 1];
	struct qmsg *sent[BATCH_MAX];
	int k = 0;

	if (cl->state != CL_UP || cl->busy || cl->qhead == NULL)
		return;
	values[0] = CMSG_CHANNEL;
	for (struct qmsg *q = cl->qhead; q != NULL && k < BATCH_MAX;
	    q = q->next) {
		sent[k] = q;
		values[++k] = q->data;
	}
	if (!cl->pq->sendQueryParams(cl->conn, cl->batch_sql[k - 1], k + 1, NULL,
	    values, NULL, NULL, 0)) {
		conn_lost(cl);
		return;
	}
	/* libpq holds its own copy now. */
	for (int j = 0; j < k; j++) {
		cl->qhead = sent[j]->next;
		cl->qbytes -= sent[j]->len;
		free(sent[j]);
	}
	if (cl->qhead == NULL)
		cl->qtail = &cl->qhead;
	cl->busy = 1;
	flush_out(cl);
}

/* Gives m the next number and queues it. Frames and snapshots are not
 * queued while the connection is down (their numbers are spent, so the
 * others see the gap and ask again). Returns 0 or -1. */
static int
send_msg(struct cluster *cl, struct cmsg *m)
{
	char buf[CMSG_PAYLOAD_MAX];
	int keep = m->type != CMSG_FRAME && m->type != CMSG_SNAP, n;

	memcpy(m->w, cl->id, sizeof(m->w));
	memcpy(m->i, cl->inst, sizeof(m->i));
	m->n = ++cl->seq;
	if (!keep && cl->state != CL_UP)
		return -1;
	n = cmsg_encode(m, buf, sizeof(buf));
	if (n < 0) {
		log_err("cluster: a %s message does not fit",
		    cmsg_type_name(m->type));
		return -1;
	}
	if (enqueue(cl, buf, (size_t)n, keep) != 0) {
		if (!cl->full_logged)
			log_warn("cluster: the queue to the other hosts is full "
			    "(worker_cluster_queue %ld bytes): messages dropped",
			    cl->cfg->worker_cluster_queue);
		cl->full_logged = 1;
		return -1;
	}
	cl->full_logged = 0;
	pump(cl);
	return 0;
}

static int
emit_piece(void *arg, struct cmsg *piece)
{
	return send_msg(arg, piece);
}

/* Sends a snap (to: its worker) or frame message with line in pieces
 * that fit. Returns 0 or -1. */
static int
send_line(struct cluster *cl, enum cmsg_type type, const char *to,
    const char *user, const char *conv, const char *line)
{
	struct cmsg *m = malloc(sizeof(*m));
	int rc;

	if (m == NULL)
		return -1;
	memset(m, 0, offsetof(struct cmsg, line_buf));
	m->type = type;
	if (to != NULL)
		snprintf(m->to, sizeof(m->to), "%s", to);
	snprintf(m->u, sizeof(m->u), "%s", user);
	snprintf(m->c, sizeof(m->c), "%s", conv);
	m->line = line;
	rc = cmsg_split(m, emit_piece, cl) < 0 ? -1 : 0;
	free(m);
	return rc;
}

/* ----------------------------------------------------- what arrives -- */

/* Sends line to the sessions here of user watching conv. */
static void
fan_local(struct cluster *cl, const char *user, const char *conv,
    const char *line)
{
	static const struct peer nobody;

	watch_fanout(cl->watch, &nobody, 0, user, conv, line);
}

static void
pending_drop(struct cluster *cl, const char *user, const char *conv)
{
	for (size_t k = 0; k < cl->npend; ) {
		if (strcmp(cl->pend[k].conv, conv) == 0 &&
		    strcmp(cl->pend[k].user, user) == 0)
			cl->pend[k] = cl->pend[--cl->npend];
		else
			k++;
	}
}

/* The reply in (user, conv) was ended as interrupted elsewhere: the
 * sessions here watching it get the final frame a restarted worker's
 * sessions get (its msgid, when a frame of it came here), else idle (the
 * page then reads the stored state). */
static void
tell_interrupted(struct cluster *cl, const char *user, const char *conv)
{
	struct interest_entry *e = interest_find(cl->interest, user, conv);
	char *frame;

	pending_drop(cl, user, conv);
	if (watch_count(cl->watch, user, conv) == 0)
		return;
	if (e != NULL && e->msgid[0] != '\0') {
		struct frame_error fe = { e->msgid, conv, "worker_unavailable",
		    "the server stopped during this reply; regenerate it",
		    NULL, 0, -1, NULL, NULL, NULL };
		frame = frame_error(&fe);
		e->msgid[0] = '\0';
	} else {
		frame = frame_idle(conv);
	}
	if (frame == NULL) {
		log_err("out of memory building a frame");
		return;
	}
	fan_local(cl, user, conv, frame);
	free(frame);
}

/* A frame line of another host's reply in (user, conv), for the
 * sessions here. */
static void
on_line(struct cluster *cl, const struct cmsg *m)
{
	struct interest_entry *e;
	char type[16], msgid[REQUEST_MSGID_MAX + 1];

	/* Two replies in one conversation cannot be shown as one. */
	if (reply_find(cl->replies, m->u, NULL, m->c) != NULL)
		return;
	pending_drop(cl, m->u, m->c);
	fan_local(cl, m->u, m->c, m->line);
	e = interest_find(cl->interest, m->u, m->c);
	if (e == NULL || cmsg_line_info(m->line, type, msgid) != 0)
		return;
	if (strcmp(type, "reply") == 0 || strcmp(type, "error") == 0)
		e->msgid[0] = '\0';  /* it ended */
	else if (msgid[0] != '\0')
		memcpy(e->msgid, msgid, sizeof(e->msgid));
}

/* Another host's session watches (user, conv): forward this host's reply
 * in it, beginning with its snapshot when that host asks for one (or
 * this host did not know it followed, or had stopped forwarding). */
static void
on_watch(struct cluster *cl, const struct cmsg *m)
{
	long long now = monotime_ms();
	int fresh = 0, dropped;
	struct interest_entry *e = interest_find(cl->interest, m->u, m->c);
	char *line;

	dropped = e != NULL && e->dropped;
	e = interest_remote(cl->interest, m->u, m->c, now,
	    2 * cl->lease_ms, &fresh);
	if (e == NULL) {
		log_warn("cluster: the interest table is full (%d): user=%s "
		    "conversation=%s not forwarded", INTEREST_MAX, m->u, m->c);
		return;
	}
	if (m->again && fresh && !dropped)
		return;
	e->dropped = 0;
	if (reply_find(cl->replies, m->u, NULL, m->c) != NULL)
		line = reply_snapshot(cl->replies, m->u, m->c);
	else if (dropped)
		line = frame_idle(m->c);  /* its end was not forwarded */
	else
		return;
	if (line == NULL) {
		log_err("out of memory building a frame");
		return;
	}
	if (send_line(cl, CMSG_SNAP, m->w, m->u, m->c, line) != 0)
		e->dropped = 1;
	free(line);
}

static void
on_stop(struct cluster *cl, const struct cmsg *m)
{
	struct reply *r = reply_find(cl->replies, m->u,
	    m->m[0] != '\0' ? m->m : NULL, m->c[0] != '\0' ? m->c : NULL);

	if (r == NULL)
		return;
	log_info("cluster: stop from worker %s user=%s", m->w, m->u);
	reply_stop(r);
}

static void resnap_all(struct cluster *cl);

/* Follows the numbers of m's sender: a gap (lost messages) asks every
 * host again for the snapshots this host's sessions watch. */
static void
follow_sender(struct cluster *cl, const struct cmsg *m, long long now)
{
	struct sender *s = NULL, *oldest = &cl->senders[0];

	for (size_t k = 0; k < SENDERS_MAX; k++) {
		struct sender *x = &cl->senders[k];
		if (strcmp(x->w, m->w) == 0 && strcmp(x->i, m->i) == 0) {
			s = x;
			break;
		}
		if (x->seen_ms < oldest->seen_ms)
			oldest = x;
	}
	if (s == NULL) {
		s = oldest;
		memcpy(s->w, m->w, sizeof(s->w));
		memcpy(s->i, m->i, sizeof(s->i));
	} else if (m->n != s->n + 1) {
		log_info("cluster: %llu messages from worker %s missed; "
		    "asking for the snapshots again", m->n > s->n ?
		    m->n - s->n - 1 : 0, m->w);
		resnap_all(cl);
	}
	s->n = m->n;
	s->seen_ms = now;
}

static void
on_payload(struct cluster *cl, const char *payload)
{
	struct cmsg *m = malloc(sizeof(*m));
	const char *why = "?";
	int rc;

	if (m == NULL) {
		log_err("out of memory reading a cluster message");
		return;
	}
	rc = cmsg_decode(payload, strlen(payload), m, &why);
	if (rc == 1) {
		log_debug("cluster: ignored a message (%s)", why);
		goto out;
	}
	if (rc != 0) {
		if (cl->refused++ % REFUSED_LOG_EVERY == 0)
			log_warn("cluster: refused a message (%s); %llu so far",
			    why, cl->refused);
		goto out;
	}
	if (strcmp(m->w, cl->id) == 0) {
		if (strcmp(m->i, cl->inst) != 0 && !cl->twin_logged) {
			log_err("cluster: another worker runs with worker_id %s: "
			    "give each host its own", cl->id);
			cl->twin_logged = 1;
		}
		goto out;  /* our own */
	}
	follow_sender(cl, m, monotime_ms());
	switch (m->type) {
	case CMSG_WATCH:
		on_watch(cl, m);
		break;
	case CMSG_SNAP:
		if (strcmp(m->to, cl->id) == 0)
			on_line(cl, m);
		break;
	case CMSG_FRAME:
		on_line(cl, m);
		break;
	case CMSG_STOP:
		on_stop(cl, m);
		break;
	case CMSG_INTERRUPTED:
		tell_interrupted(cl, m->u, m->c);
		break;
	case CMSG__MAX:
		break;
	}
out:
	free(m);
}

/* ---------------------------------------------------------- connection -- */

static void on_fd(void *arg, unsigned events);

static void
watch_fd(struct cluster *cl, unsigned events)
{
	int fd = cl->conn != NULL ? cl->pq->socket(cl->conn) : -1;

	if (fd != cl->fd && cl->fd >= 0) {
		loop_fd_unwatch(cl->loop, cl->fd);
		cl->fd = -1;
	}
	if (fd < 0 || (fd == cl->fd && events == cl->events))
		return;
	if (loop_fd_watch(cl->loop, fd, events, on_fd, cl) == 0) {
		cl->fd = fd;
		cl->events = events;
	}
}

static void
conn_close(struct cluster *cl)
{
	if (cl->fd >= 0)
		loop_fd_unwatch(cl->loop, cl->fd);
	cl->fd = -1;
	cl->events = 0;
	if (cl->conn != NULL)
		cl->pq->finish(cl->conn);
	cl->conn = NULL;
	cl->busy = 0;
}

/* The connection failed or was lost: logged once, tried again later. */
static void
conn_lost(struct cluster *cl)
{
	char why[200];

	pq_reason(cl, why, sizeof(why));
	if (!cl->down_logged)
		log_warn("cluster: %s the database: %s; trying again, this "
		    "host serves its own sessions meanwhile", cl->ever_up ?
		    "lost its connection to" : "cannot connect to", why);
	cl->down_logged = 1;
	conn_close(cl);
	cl->state = CL_DOWN;
	queue_drop(cl, 0);
	cl->retry_ms = monotime_ms() + cl->backoff_ms;
	cl->backoff_ms = cl->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
	    cl->backoff_ms * 2;
}

static void
conn_start(struct cluster *cl)
{
	static const char *const keys[] = { "dbname", NULL };
	const char *values[] = { cl->cfg->database, NULL };

	/* The URL is the dbname, expanded (expand_dbname 1). */
	cl->conn = cl->pq->connectStartParams(keys, values, 1);
	if (cl->conn == NULL || cl->pq->status(cl->conn) == CONNECTION_BAD) {
		conn_lost(cl);
		return;
	}
	cl->state = CL_CONNECTING;
	/* As if PQconnectPoll had said PGRES_POLLING_WRITING. */
	watch_fd(cl, EPOLLOUT);
}

/* The connection is made: LISTEN. */
static void
conn_made(struct cluster *cl)
{
	if (cl->pq->setnonblocking(cl->conn, 1) != 0 ||
	    !cl->pq->sendQuery(cl->conn, "LISTEN " CMSG_CHANNEL)) {
		conn_lost(cl);
		return;
	}
	cl->state = CL_LISTENING;
	cl->busy = 1;
	flush_out(cl);
}

static void
connect_step(struct cluster *cl)
{
	switch (cl->pq->connectPoll(cl->conn)) {
	case PGRES_POLLING_READING:
		watch_fd(cl, EPOLLIN);
		break;
	case PGRES_POLLING_WRITING:
		watch_fd(cl, EPOLLOUT);
		break;
	case PGRES_POLLING_OK:
		conn_made(cl);
		break;
	default:
		conn_lost(cl);
		break;
	}
}

/* Reads what the server sent: query results, then notifications. */
static void
conn_read(struct cluster *cl)
{
	PGnotify *n;
	PGresult *r;

	if (!cl->pq->consumeInput(cl->conn)) {
		conn_lost(cl);
		return;
	}
	while (cl->busy && !cl->pq->isBusy(cl->conn)) {
		r = cl->pq->getResult(cl->conn);
		if (r == NULL) {
			cl->busy = 0;
			break;
		}
		ExecStatusType st = cl->pq->resultStatus(r);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
			log_warn("cluster: %s failed: %.200s", cl->state ==
			    CL_LISTENING ? "LISTEN" : "pg_notify",
			    cl->pq->resultErrorMessage(r));
		cl->pq->clear(r);
	}
	if (!cl->busy && cl->state == CL_LISTENING) {
		cl->state = CL_UP;
		cl->backoff_ms = BACKOFF_MIN_MS;
		if (cl->down_logged || !cl->ever_up)
			log_info("cluster: connected, worker %s listening on "
			    "channel %s", cl->id, CMSG_CHANNEL);
		cl->down_logged = 0;
		cl->ever_up = 1;
		/* What went by meanwhile is lost: snapshots again. */
		resnap_all(cl);
	}
	while (cl->conn != NULL && (n = cl->pq->notifies(cl->conn)) != NULL) {
		if (strcmp(n->relname, CMSG_CHANNEL) == 0)
			on_payload(cl, n->extra);
		cl->pq->freemem(n);
	}
	if (cl->conn != NULL && cl->pq->status(cl->conn) == CONNECTION_BAD)
		conn_lost(cl);
}

static void
on_fd(void *arg, unsigned events)
{
	struct cluster *cl = arg;

	if (cl->state == CL_CONNECTING) {
		connect_step(cl);
		return;
	}
	if (cl->conn == NULL)
		return;
	if (events & EPOLLOUT) {
		if (flush_out(cl) != 0)
			return;
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		conn_read(cl);
	pump(cl);
}

/* ------------------------------------------------------------- leases -- */

static void
on_orphan(void *arg, const char *user, const char *conversation_id,
    long long message_id)
{
	struct cluster *cl = arg;
	struct cmsg *m;

	log_info("cluster: reply ended as interrupted (its worker stopped) "
	    "user=%s conversation=%s message=%lld", user,
	    conversation_id[0] ? conversation_id : "-", message_id);
	if (conversation_id[0] == '\0')
		return;
	tell_interrupted(cl, user, conversation_id);
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return;
	m->type = CMSG_INTERRUPTED;
	snprintf(m->u, sizeof(m->u), "%s", user);
	snprintf(m->c, sizeof(m->c), "%s", conversation_id);
	m->row = message_id;
	send_msg(cl, m);
	free(m);
}

static void
lease_renew(struct cluster *cl)
{
	long long now = wall_ms();

	if (store_lease_renew(cl->store, cl->id, now, now + cl->lease_ms) ==
	    STORE_OK) {
		if (cl->renew_failed)
			log_info("cluster: lease renewed again");
		cl->renew_failed = 0;
	} else if (!cl->renew_failed++) {
		log_warn("cluster: could not renew worker %s's lease; past %lld "
		    "s the other hosts end its replies", cl->id,
		    cl->lease_ms / 1000);
	}
}

/* What this worker wrote before it started (it restarted) is over: ended
 * at its start, or at the first sweep the database answers. */
static void
sweep_self(struct cluster *cl)
{
	int n = store_interrupt_orphans(cl->store, cl->id, cl->started_ms,
	    on_orphan, cl);

	if (n < 0)
		return;
	cl->self_swept = 1;
	if (n > 0)
		log_warn("marked %d unfinished replies as interrupted", n);
}

static void
sweep_orphans(struct cluster *cl)
{
	int n;

	if (!cl->self_swept)
		sweep_self(cl);
	/* Not self: this worker's replies are alive. */
	n = store_interrupt_orphans(cl->store, NULL, wall_ms(), on_orphan, cl);
	if (n > 0)
		log_warn("cluster: ended %d replies of workers whose lease ran "
		    "out", n);
}

/* ------------------------------------------------------------ watching -- */

static void
mark_resnap(void *arg, struct interest_entry *e)
{
	(void)arg;
	if (e->local)
		e->resnap = 1;
	e->sent_ms = 0;  /* due now */
}

static void refresh(struct cluster *cl, int all);

/* After lost messages: every watch goes out again, asking for a
 * snapshot. */
static void
resnap_all(struct cluster *cl)
{
	interest_each(cl->interest, mark_resnap, cl);
	refresh(cl, 0);
}

/* Sends watch for (user, conv); again: a refresh. */
static int
send_watch(struct cluster *cl, const char *user, const char *conv, int again)
{
	struct cmsg *m = calloc(1, sizeof(*m));
	int rc;

	if (m == NULL)
		return -1;
	m->type = CMSG_WATCH;
	snprintf(m->u, sizeof(m->u), "%s", user);
	snprintf(m->c, sizeof(m->c), "%s", conv);
	m->again = again;
	rc = send_msg(cl, m);
	free(m);
	return rc;
}

struct refresh_arg {
	struct cluster *cl;
	long long now;
	int all;
};

static void
refresh_one(void *arg, struct interest_entry *e)
{
	struct refresh_arg *a = arg;
	struct cluster *cl = a->cl;

	if (!e->local)
		return;
	if (watch_count(cl->watch, e->user, e->conv) == 0) {
		e->local = 0;  /* nobody here watches it any more */
		e->msgid[0] = '\0';
		return;
	}
	if (!a->all && e->sent_ms != 0)
		return;
	if (reply_find(cl->replies, e->user, NULL, e->conv) != NULL)
		return;  /* written here: nothing to ask */
	if (send_watch(cl, e->user, e->conv, !e->resnap) == 0) {
		e->resnap = 0;
		e->sent_ms = a->now;
	}
}

/* Sends the watches due: all (every lease/2), or only those never sent
 * since they were marked. */
static void
refresh(struct cluster *cl, int all)
{
	struct refresh_arg a = { cl, monotime_ms(), all };

	if (cl->state != CL_UP)
		return;
	interest_each(cl->interest, refresh_one, &a);
}

/* The watchers that got no snapshot in time get idle. */
static void
pending_due(struct cluster *cl, long long now)
{
	for (size_t k = 0; k < cl->npend; ) {
		struct pending *p = &cl->pend[k];
		if (p->due_ms > now) {
			k++;
			continue;
		}
		const char *was = watch_get(cl->watch, &p->peer);
		if (was != NULL && strcmp(was, p->conv) == 0) {
			char *frame = reply_snapshot(cl->replies, p->user,
			    p->conv);  /* idle, or a reply begun here since */
			if (frame != NULL)
				watch_fanout(cl->watch, &p->peer, 1, p->user, "",
				    frame);
			free(frame);
		}
		*p = cl->pend[--cl->npend];
	}
}

static void
on_timer(void *arg)
{
	struct cluster *cl = arg;
	long long now = monotime_ms();

	if (cl->state == CL_DOWN && now >= cl->retry_ms)
		conn_start(cl);
	pending_due(cl, now);
	if (now >= cl->renew_ms) {
		cl->renew_ms = now + cl->lease_ms / 3;
		lease_renew(cl);
	}
	if (now >= cl->sweep_ms) {
		cl->sweep_ms = now + SWEEP_MS;
		sweep_orphans(cl);
	}
	if (now >= cl->refresh_ms) {
		cl->refresh_ms = now + cl->lease_ms / 2;
		refresh(cl, 1);
		interest_sweep(cl->interest, now, 2 * cl->lease_ms);
	}
	pump(cl);
}

/* ------------------------------------------------------- session hooks -- */

static int
remote_watch(void *arg, const struct peer *p, const char *user,
    const char *conv)
{
	struct cluster *cl = arg;
	struct interest_entry *e;
	long long now = monotime_ms();

	if (cl->state != CL_UP || cl->npend == PENDING_MAX)
		return 0;
	e = interest_make(cl->interest, user, conv);
	if (e == NULL)
		return 0;
	e->local = 1;
	if (send_watch(cl, user, conv, 0) != 0)
		return 0;
	e->sent_ms = now;
	e->resnap = 0;
	struct pending *x = &cl->pend[cl->npend++];
	x->peer = *p;
	snprintf(x->user, sizeof(x->user), "%s", user);
	snprintf(x->conv, sizeof(x->conv), "%s", conv);
	x->due_ms = now + IDLE_WAIT_MS;
	return 1;
}

static void
remote_stop(void *arg, const char *user, const char *msgid, const char *conv)
{
	struct cluster *cl = arg;
	struct cmsg *m;

	if ((msgid == NULL || msgid[0] == '\0' ||
	    strlen(msgid) > REQUEST_MSGID_MAX) &&
	    (conv == NULL || !id_valid(conv)))
		return;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return;
	m->type = CMSG_STOP;
	snprintf(m->u, sizeof(m->u), "%s", user);
	if (msgid != NULL && strlen(msgid) <= REQUEST_MSGID_MAX)
		snprintf(m->m, sizeof(m->m), "%s", msgid);
	if (conv != NULL && id_valid(conv))
		snprintf(m->c, sizeof(m->c), "%s", conv);
	send_msg(cl, m);
	free(m);
}

struct remote
cluster_remote(struct cluster *cl)
{
	struct remote r = { remote_watch, remote_stop, cl };

	return r;
}

/* ---------------------------------------------------------------- life -- */

void
cluster_frame(struct cluster *cl, const char *user,
    const char *conversation_id, const char *line)
{
	struct interest_entry *e;

	if (cl == NULL || interest_remote_count(cl->interest) == 0 ||
	    conversation_id[0] == '\0')
		return;
	e = interest_fresh(cl->interest, user, conversation_id, monotime_ms(),
	    2 * cl->lease_ms);
	if (e == NULL)
		return;
	if (send_line(cl, CMSG_FRAME, NULL, user, conversation_id, line) != 0) {
		/* Until a host asks again (its next watch): the local
		 * sessions are not affected. */
		log_warn("cluster: frames of user=%s conversation=%s no longer "
		    "forwarded (queue full or connection down)", user,
		    conversation_id);
		e->dropped = 1;
	}
}

int
cluster_new(struct cluster **out, const struct lc_config *cfg,
    struct store *store, struct loop *loop, struct watch *watch,
    struct replies *replies)
{
	struct cluster *cl;
	unsigned char rnd[CMSG_INSTANCE_LEN / 2];
	long long now;

	*out = NULL;
	if (!store_is_shared(store))
		return 0;
	cl = calloc(1, sizeof(*cl));
	if (cl == NULL)
		goto oom;
	cl->cfg = cfg;
	cl->store = store;
	cl->loop = loop;
	cl->watch = watch;
	cl->replies = replies;
	cl->fd = -1;
	cl->qtail = &cl->qhead;
	cl->lease_ms = cfg->worker_lease * 1000;
	cl->backoff_ms = BACKOFF_MIN_MS;
	snprintf(cl->id, sizeof(cl->id), "%s", cfg->worker_id);
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		log_err("cluster: no random bytes: %s", strerror(errno));
		goto fail;
	}
	for (size_t k = 0; k < sizeof(rnd); k++)
		snprintf(cl->inst + 2 * k, 3, "%02x", rnd[k]);
	for (int k = 0; k < BATCH_MAX; k++) {
		size_t len = (size_t)snprintf(cl->batch_sql[k],
		    sizeof(cl->batch_sql[k]), "SELECT pg_notify($1,$2)");
		for (int j = 1; j <= k; j++)
			len += (size_t)snprintf(cl->batch_sql[k] + len,
			    sizeof(cl->batch_sql[k]) - len, ",pg_notify($1,$%d)",
			    j + 2);
	}
	char err[200];
	cl->pq = pq_load(err, sizeof(err));
	if (cl->pq == NULL) {
		log_err("cluster: %s", err);
		goto fail;
	}
	cl->interest = interest_new(INTEREST_MAX);
	if (cl->interest == NULL)
		goto oom;
	if (loop_add_timer(loop, on_timer, cl, TIMER_MS) != 0) {
		log_err("cluster: no room for its timer in the loop");
		goto fail;
	}
	if (store_set_worker(store, cl->id) != STORE_OK) {
		log_err("cluster: worker_id %s refused by the store", cl->id);
		goto fail;
	}
	/* What this worker wrote when it last ran is over; its lease. */
	cl->started_ms = wall_ms();
	sweep_self(cl);
	lease_renew(cl);
	now = monotime_ms();
	cl->renew_ms = now + cl->lease_ms / 3;
	cl->sweep_ms = now + SWEEP_MS;
	cl->refresh_ms = now + cl->lease_ms / 2;
	log_info("cluster: worker %s, lease %ld s, shared database", cl->id,
	    cfg->worker_lease);
	conn_start(cl);
	*out = cl;
	return 0;
oom:
	log_err("out of memory");
fail:
	cluster_free(cl);
	return -1;
}

void
cluster_stop(struct cluster *cl, long ms)
{
	long long end;

	if (cl == NULL)
		return;
	end = monotime_ms() + ms;
	while ((cl->qhead != NULL || cl->busy) && cl->state == CL_UP &&
	    monotime_ms() < end) {
		struct pollfd p = { cl->pq->socket(cl->conn), POLLIN, 0 };
		if (cl->events & EPOLLOUT)
			p.events |= POLLOUT;
		if (poll(&p, 1, 50) > 0) {
			unsigned ev = 0;
			if (p.revents & POLLIN)
				ev |= EPOLLIN;
			if (p.revents & POLLOUT)
				ev |= EPOLLOUT;
			if (p.revents & (POLLERR | POLLHUP))
				ev |= EPOLLERR;
			on_fd(cl, ev);
		}
	}
	if (store_lease_drop(cl->store, cl->id) != STORE_OK)
		log_warn("cluster: could not give up worker %s's lease", cl->id);
}

void
cluster_free(struct cluster *cl)
{
	if (cl == NULL)
		return;
	conn_close(cl);
	queue_drop(cl, 1);
	interest_free(cl->interest);
	free(cl);
}
