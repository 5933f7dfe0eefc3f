/* router.c - the worker's ZeroMQ ROUTER over its own sockets (ZMTP 3.0,
 * NULL): see router.h for what it does and why.
 *
 * Each connection keeps its unparsed input (parsed lazily by router_recv),
 * its output queue (whole messages and commands, encoded), and a ring of
 * the queued messages' ends, by which the bytes written tell each message's
 * router_done. Three lists: all connections (the handshake timeout), those
 * with input to parse (fair reading), those with output queued this turn
 * (router_flush). A connection whose peer has gone keeps its input until it
 * is parsed (a "bye" sent just before the close is still read), then goes. */
#include "router.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "monotime.h"

#define HANDSHAKE_MS 30000   /* as libzmq's ZMQ_HANDSHAKE_IVL */
#define READ_CHUNK 16384
#define EVENTS 64            /* epoll events taken per service */
#define ACCEPTS 64           /* connections accepted per service */
/* An output queue's allocation above this is given back once written: an
 * idle connection keeps at most this much (the memory per connection). */
#define OUT_KEEP 4096
#define ID_MAX 255

struct link {
	struct link *prev, *next;
};

struct done_entry {
	size_t end;                /* queued bytes when its last was queued */
	struct router_done d;
};

enum cstate { C_HANDSHAKE = 0, C_READY };

struct conn {
	struct link all, ready, dirty;   /* list links (self-linked: none) */
	struct conn *hnext;              /* identity hash chain (C_READY) */
	int fd;
	enum cstate state;
	int greeted;                     /* the peer's greeting was read */
	int eof;                         /* the peer is gone: parse, then drop */
	unsigned events;                 /* epoll events asked for */
	struct timespec since;           /* accepted at */
	unsigned char id[ID_MAX];
	size_t idlen;
	struct lc_buf in;
	size_t in_off;                   /* bytes of in parsed */
	struct lc_buf out;
	size_t out_off;                  /* bytes of out written */
	size_t queued, written;          /* bytes ever queued, written */
	struct done_entry *dq;           /* ring of the messages unwritten */
	size_t dq_cap, dq_head, dq_len;
};

struct router {
	struct router_limits lim;
	int epfd, lfd;
	/* The ipc file to remove at the end, or "". */
	char ipc_path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	struct link all, ready, dirty;
	struct conn **bucket;
	size_t nbuckets, npeers, refused;
	uint32_t next_id;
};

/* ---- lists ---- */

#define CONN_OF(l, field) \
	((struct conn *)(void *)((char *)(l) - offsetof(struct conn, field)))

static void
link_init(struct link *l)
{
	l->prev = l->next = l;
}

static int
linked(const struct link *l)
{
	return l->next != l;
}

static void
link_del(struct link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	link_init(l);
}

static void
link_tail(struct link *head, struct link *l)
{
	if (linked(l))
		link_del(l);
	l->prev = head->prev;
	l->next = head;
	head->prev->next = l;
	head->prev = l;
}

/* ---- identities ---- */

static size_t
id_hash(const struct router *r, const void *id, size_t n)
{
	const unsigned char *p = id;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h & (r->nbuckets - 1);
}

static struct conn *
id_find(const struct router *r, const void *id, size_t n)
{
	if (n == 0 || n > ID_MAX)
		return NULL;
	for (struct conn *c = r->bucket[id_hash(r, id, n)]; c != NULL;
	    c = c->hnext)
		if (c->idlen == n && memcmp(c->id, id, n) == 0)
			return c;
	return NULL;
}

static void
id_remove(struct router *r, struct conn *c)
{
	if (c->state != C_READY)
		return;
	for (struct conn **pp = &r->bucket[id_hash(r, c->id, c->idlen)];
	    *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == c) {
			*pp = c->hnext;
			return;
		}
	}
}

/* ---- connections ---- */

static void
set_events(struct router *r, struct conn *c, unsigned events)
{
	struct epoll_event ev;

	if (c->events == events || c->eof)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = c;
	if (epoll_ctl(r->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0)
		log_err("router epoll_ctl: %s", strerror(errno));
	else
		c->events = events;
}

/* Tells the router_done of every message written (all: of every one). */
static void
tell_done(struct conn *c, int all)
{
	while (c->dq_len > 0) {
		struct done_entry *e = &c->dq[c->dq_head];
		if (!all && e->end > c->written)
			break;
		struct router_done d = e->d;
		c->dq_head = (c->dq_head + 1) % c->dq_cap;
		c->dq_len--;
		if (d.fn != NULL)
			d.fn(d.arg, d.n);
	}
	if (c->dq_len == 0 && c->dq_cap > 16) {
		free(c->dq);
		c->dq = NULL;
		c->dq_cap = c->dq_head = 0;
	}
}

static void
drop(struct router *r, struct conn *c)
{
	if (!c->eof)
		(void)epoll_ctl(r->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	id_remove(r, c);
	link_del(&c->all);
	link_del(&c->ready);
	link_del(&c->dirty);
	tell_done(c, 1);
	free(c->dq);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
	r->npeers--;
}

/* The peer is gone: what is queued for it is dropped and router_send
 * refuses it; its input is kept until router_recv has parsed it (a "bye"
 * written just before the close), then the connection goes. */
static void
gone(struct router *r, struct conn *c)
{
	if (c->eof)
		return;
	(void)epoll_ctl(r->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	c->eof = 1;
	buf_free(&c->out);
	c->out_off = 0;
	tell_done(c, 1);
	link_del(&c->dirty);
	link_tail(&r->ready, &c->ready);  /* parsed, then dropped */
}

/* Writes c's queue as far as the socket takes it. */
static void
write_conn(struct router *r, struct conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t w = send(c->fd, c->out.data + c->out_off,
		    c->out.len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			log_debug("session connection lost: %s",
			    strerror(errno));
			gone(r, c);
			return;
		}
		c->out_off += (size_t)w;
		c->written += (size_t)w;
	}
	if (c->out_off == c->out.len) {
		if (c->out.cap > OUT_KEEP)
			buf_free(&c->out);
		else
			buf_reset(&c->out);
		c->out_off = 0;
	}
	tell_done(c, 0);
	set_events(r, c, EPOLLIN | (c->out_off < c->out.len ? EPOLLOUT : 0));
}

/* Appends bytes that are not a message (our handshake, a PONG). */
static int
queue_raw(struct router *r, struct conn *c, const void *p, size_t n)
{
	if (buf_append(&c->out, p, n) != LC_BUF_OK)
		return -1;
	c->queued += n;
	link_tail(&r->dirty, &c->dirty);
	return 0;
}

static void
accept_all(struct router *r)
{
	for (int i = 0; i < ACCEPTS; i++) {
		int fd = accept4(r->lfd, NULL, NULL, SOCK_NONBLOCK |
		    SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("accept a session: %s",
				    strerror(errno));
			return;
		}
		if (r->npeers >= r->lim.max_peers) {
			r->refused++;
			close(fd);
			continue;
		}
		struct conn *c = calloc(1, sizeof(*c));
		struct epoll_event ev;
		unsigned char hs[ZMTP_WIRE_HANDSHAKE_MAX];
		if (c == NULL) {
			log_err("out of memory for a session connection");
			close(fd);
			return;
		}
		int one = 1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));   /* (fails harmlessly on ipc) */
		c->fd = fd;
		link_init(&c->all);
		link_init(&c->ready);
		link_init(&c->dirty);
		monotime_now(&c->since);
		buf_init(&c->in, r->lim.max_msg + (size_t)ZMTP_WIRE_MAX_FRAMES *
		    ZMTP_WIRE_HEADER_MAX + READ_CHUNK);
		buf_init(&c->out, r->lim.queue_bytes + ZMTP_WIRE_HANDSHAKE_MAX);
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			log_err("router epoll_ctl: %s", strerror(errno));
			close(fd);
			free(c);
			return;
		}
		c->events = EPOLLIN;
		link_tail(&r->all, &c->all);
		r->npeers++;
		size_t n = zmtp_wire_handshake(hs, "ROUTER", NULL, 0);
		if (queue_raw(r, c, hs, n) != 0) {
			drop(r, c);
			continue;
		}
		write_conn(r, c);
	}
}

static void
read_conn(struct router *r, struct conn *c)
{
	char chunk[READ_CHUNK];

	if (c->in_off > 0) {   /* what was parsed is no longer needed */
		buf_consume(&c->in, c->in_off);
		c->in_off = 0;
	}
	size_t room = c->in.max - c->in.len;
	if (room == 0)
		return;   /* router_recv parses first */
	ssize_t n = read(c->fd, chunk, room < sizeof(chunk) ? room :
	    sizeof(chunk));
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n <= 0) {
		if (n < 0)
			log_debug("session connection lost: %s",
			    strerror(errno));
		gone(r, c);
		return;
	}
	if (buf_append(&c->in, chunk, (size_t)n) != LC_BUF_OK) {
		log_err("out of memory reading a session connection");
		gone(r, c);
		return;
	}
	link_tail(&r->ready, &c->ready);
}

/* A READY: the peer must be a DEALER; its identity, its own if it names a
 * free one, else a new one. Returns 0, or -1 to close the connection. */
static int
peer_ready(struct router *r, struct conn *c, const struct zmtp_part *body)
{
	struct zmtp_part type, id;
	int has_id = zmtp_wire_property(body->data, body->len, "Identity", &id);

	if (zmtp_wire_property(body->data, body->len, "Socket-Type",
	    &type) != 1 || has_id < 0) {
		log_warn("session connection closed: a malformed READY");
		return -1;
	}
	if (type.len != 6 || memcmp(type.data, "DEALER", 6) != 0) {
		log_warn("session connection closed: a %.*s socket, not a "
		    "DEALER", (int)(type.len < 16 ? type.len : 16),
		    (const char *)type.data);
		return -1;
	}
	if (has_id == 1 && id.len > 0) {
		if (id.len > ID_MAX || ((const unsigned char *)id.data)[0] == 0 ||
		    id_find(r, id.data, id.len) != NULL) {
			log_warn("session connection closed: its identity is "
			    "invalid or in use");
			return -1;
		}
		memcpy(c->id, id.data, id.len);
		c->idlen = id.len;
	} else {
		do {   /* a zero byte and a counter, as libzmq */
			uint32_t v = r->next_id++;
			c->id[0] = 0;
			c->id[1] = (unsigned char)(v >> 24);
			c->id[2] = (unsigned char)(v >> 16);
			c->id[3] = (unsigned char)(v >> 8);
			c->id[4] = (unsigned char)v;
			c->idlen = 5;
		} while (id_find(r, c->id, c->idlen) != NULL);
	}
	size_t b = id_hash(r, c->id, c->idlen);
	c->hnext = r->bucket[b];
	r->bucket[b] = c;
	c->state = C_READY;
	return 0;
}

/* A command from the peer. Returns 0, or -1 to close the connection. */
static int
command(struct router *r, struct conn *c, const struct zmtp_part parts[2])
{
	const struct zmtp_part *name = &parts[0], *body = &parts[1];

	if (name->len == 5 && memcmp(name->data, "READY", 5) == 0) {
		if (c->state == C_READY) {
			log_warn("session connection closed: a second READY");
			return -1;
		}
		return peer_ready(r, c, body);
	}
	if (name->len == 4 && memcmp(name->data, "PING", 4) == 0 &&
	    !c->eof) {
		/* TTL (2 bytes), then a context of at most 16 to echo. */
		unsigned char pong[ZMTP_WIRE_HEADER_MAX + 1 + 4 + 16];
		size_t ctx = body->len > 2 ? body->len - 2 : 0;
		if (ctx > 16)
			ctx = 16;
		size_t n = zmtp_wire_command(pong, "PONG", ctx > 0 ?
		    (const unsigned char *)body->data + 2 : NULL, ctx);
		return queue_raw(r, c, pong, n);
	}
	if (name->len == 5 && memcmp(name->data, "ERROR", 5) == 0)
		return -1;
	return 0;   /* others (PONG, SUBSCRIBE, ...) mean nothing here */
}

/* ---- the interface ---- */

struct router *
router_new(const char *endpoint, const struct router_limits *lim, char *err,
    size_t errlen)
{
	struct router *r = calloc(1, sizeof(*r));
	struct sockaddr_storage addr;
	socklen_t alen = 0;
	struct epoll_event ev;
	int one = 1;

	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->lim = *lim;
	r->epfd = r->lfd = -1;
	link_init(&r->all);
	link_init(&r->ready);
	link_init(&r->dirty);
	r->nbuckets = 64;
	while (r->nbuckets < lim->max_peers && r->nbuckets < (1u << 20))
		r->nbuckets *= 2;
	/* Identities begin where the clock says, as libzmq's at random: a
	 * restarted worker does not give an old session's identity again. */
	r->next_id = (uint32_t)monotime_ms() ^ (uint32_t)time(NULL) << 10;
	r->bucket = calloc(r->nbuckets, sizeof(*r->bucket));
	if (r->bucket == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (zmtp_wire_endpoint(endpoint, &addr, &alen, err, errlen) != 0)
		goto fail;
	if (addr.ss_family == AF_UNIX) {
		struct sockaddr_un *un = (struct sockaddr_un *)&addr;
		if (un->sun_path[0] != '\0') {
			/* As libzmq: a file left by a worker that died is
			 * replaced. */
			size_t pl = strnlen(un->sun_path, sizeof(un->sun_path));
			memcpy(r->ipc_path, un->sun_path, pl);
			r->ipc_path[pl] = '\0';
			(void)unlink(r->ipc_path);
		}
	}
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	r->lfd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (r->epfd < 0 || r->lfd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	if (addr.ss_family != AF_UNIX)
		(void)setsockopt(r->lfd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one));
	if (bind(r->lfd, (struct sockaddr *)&addr, alen) != 0 ||
	    listen(r->lfd, 1024) != 0) {
		snprintf(err, errlen, "bind %s: %s", endpoint, strerror(errno));
		r->ipc_path[0] = '\0';   /* not ours to unlink */
		goto fail;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;   /* the listening socket */
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->lfd, &ev) != 0) {
		snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
		goto fail;
	}
	return r;
fail:
	router_free(r);
	return NULL;
}

int
router_fd(const struct router *r)
{
	return r->epfd;
}

void
router_service(struct router *r)
{
	struct epoll_event evs[EVENTS];
	int n = epoll_wait(r->epfd, evs, EVENTS, 0);

	if (n < 0 && errno != EINTR)
		log_err("router epoll_wait: %s", strerror(errno));
	for (int i = 0; i < n; i++) {
		struct conn *c = evs[i].data.ptr;
		if (c == NULL) {
			accept_all(r);
			continue;
		}
		if (evs[i].events & EPOLLOUT)
			write_conn(r, c);
		if (!c->eof && (evs[i].events & (EPOLLIN | EPOLLHUP |
		    EPOLLERR)))
			read_conn(r, c);
	}
}

int
router_pending(const struct router *r)
{
	return linked(&r->ready);
}

int
router_recv(struct router *r, struct router_msg *m)
{
	while (linked(&r->ready)) {
		struct conn *c = CONN_OF(r->ready.next, ready);
		size_t avail = c->in.len - c->in_off, used = 0;
		const char *why = "";
		int u = ZMTP_UNIT_NONE;
		if (avail > 0)
			u = zmtp_wire_next((const unsigned char *)c->in.data +
			    c->in_off, avail, c->greeted, r->lim.max_msg,
			    m->parts, &m->n, &used, &why);
		if (u < 0) {
			log_warn("session connection closed: it %s", why);
			drop(r, c);
			continue;
		}
		if (u == ZMTP_UNIT_NONE) {
			link_del(&c->ready);
			if (c->eof) {
				drop(r, c);
			} else if (avail == 0) {
				buf_free(&c->in);   /* idle: hold nothing */
				c->in_off = 0;
			}
			continue;
		}
		c->in_off += used;
		if (u == ZMTP_UNIT_GREETING) {
			c->greeted = 1;
			continue;
		}
		if (u == ZMTP_UNIT_COMMAND) {
			if (command(r, c, m->parts) != 0)
				drop(r, c);
			continue;
		}
		if (c->state != C_READY) {
			log_warn("session connection closed: a message before "
			    "its READY");
			drop(r, c);
			continue;
		}
		m->id = c->id;
		m->idlen = c->idlen;
		m->fd = c->fd;
		link_tail(&r->ready, &c->ready);   /* the next one's turn */
		return 1;
	}
	return 0;
}

enum router_sent
router_send(struct router *r, const void *id, size_t idlen,
    const struct zmtp_part *parts, int n, const struct router_done *done)
{
	struct conn *c = id_find(r, id, idlen);
	size_t need;

	if (c == NULL || c->eof || n < 1 || n > ZMTP_MAX_PARTS)
		return ROUTER_GONE;
	need = zmtp_wire_message_len(parts, n);
	/* (Our handshake and PONGs are queued unbounded by queue_bytes: the
	 * bytes unsent may be over it.) */
	size_t unsent = c->out.len - c->out_off;
	if (c->dq_len >= r->lim.queue_msgs || unsent >= r->lim.queue_bytes ||
	    need > r->lim.queue_bytes - unsent)
		return ROUTER_FULL;
	if (c->dq_len == c->dq_cap) {
		size_t cap = c->dq_cap == 0 ? 4 : c->dq_cap * 2;
		struct done_entry *dq = malloc(cap * sizeof(*dq));
		if (dq == NULL) {
			log_err("out of memory queueing for a session");
			return ROUTER_GONE;
		}
		for (size_t i = 0; i < c->dq_len; i++)
			dq[i] = c->dq[(c->dq_head + i) % c->dq_cap];
		free(c->dq);
		c->dq = dq;
		c->dq_cap = cap;
		c->dq_head = 0;
	}
	if (c->out.len + need > c->out.max) {   /* reclaim what was written */
		buf_consume(&c->out, c->out_off);
		c->out_off = 0;
	}
	if (zmtp_wire_append(&c->out, parts, n) != 0) {
		log_err("out of memory queueing for a session");
		return ROUTER_GONE;
	}
	c->queued += need;
	struct done_entry *e = &c->dq[(c->dq_head + c->dq_len) % c->dq_cap];
	e->end = c->queued;
	if (done != NULL) {
		e->d = *done;
	} else {
		memset(&e->d, 0, sizeof(e->d));
	}
	c->dq_len++;
	link_tail(&r->dirty, &c->dirty);
	return ROUTER_SENT;
}

void
router_flush(struct router *r)
{
	while (linked(&r->dirty)) {
		struct conn *c = CONN_OF(r->dirty.next, dirty);
		link_del(&c->dirty);
		write_conn(r, c);
	}
}

void
router_tick(struct router *r)
{
	for (struct link *l = r->all.next, *next; l != &r->all; l = next) {
		struct conn *c = CONN_OF(l, all);
		next = l->next;
		if (c->state != C_READY && !c->eof &&
		    monotime_ms_since(&c->since) > HANDSHAKE_MS) {
			log_warn("session connection closed: no handshake in "
			    "%d s", HANDSHAKE_MS / 1000);
			drop(r, c);
		}
	}
	if (r->refused > 0) {
		log_warn("refused %zu session connections: %zu are open, the "
		    "most allowed", r->refused, r->npeers);
		r->refused = 0;
	}
}

size_t
router_peers(const struct router *r)
{
	return r->npeers;
}

void
router_free(struct router *r)
{
	if (r == NULL)
		return;
	router_flush(r);   /* what the sockets take now; no waiting */
	while (linked(&r->all))
		drop(r, CONN_OF(r->all.next, all));
	if (r->lfd >= 0)
		close(r->lfd);
	if (r->ipc_path[0] != '\0')
		(void)unlink(r->ipc_path);
	if (r->epfd >= 0)
		close(r->epfd);
	free(r->bucket);
	free(r);
}
