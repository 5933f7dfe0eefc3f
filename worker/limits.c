/* limits.c - per-user and per-address counts of open sessions, and each
 * user's message budget, in two bounded tables (see limits.h). */
#include "limits.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

struct lim_conn {                 /* one counted session */
	unsigned char key[LIMITS_KEY_MAX];
	size_t keylen;                /* 0: a free slot */
	size_t user;                  /* its entry in users */
	char addr[LIMITS_ADDR_MAX];
	int fd;                       /* -1: no stamp to look at */
	dev_t dev;                    /* what fd was at limits_open */
	ino_t ino;
};

struct lim_user {                 /* a user with sessions, or a budget */
	char name[LC_USER_MAX + 1];   /* "": a free slot */
	long conns;                   /* sessions counted */
	double tokens;                /* the message budget */
	long long last_ms;            /* when tokens was last refilled */
};

struct limits {
	long per_user, per_address, per_minute;
	size_t slots;
	size_t conn_hi, user_hi;      /* slots below these were ever used */
	size_t gone_next;             /* where limits_gone looks next */
	struct lim_conn *conn;        /* slots of each */
	struct lim_user *user;
};

struct limits *
limits_new(long per_user, long per_address, long user_per_minute,
    size_t slots)
{
	struct limits *l = NULL;

	if (slots == 0)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->per_user = per_user;
	l->per_address = per_address;
	l->per_minute = user_per_minute;
	l->slots = slots;
	/* calloc: pages never used are never touched (scans stop at *_hi). */
	l->conn = calloc(slots, sizeof(*l->conn));
	l->user = calloc(slots, sizeof(*l->user));
	if (l->conn == NULL || l->user == NULL) {
		limits_free(l);
		return NULL;
	}
	return l;
}

void
limits_free(struct limits *l)
{
	if (l == NULL)
		return;
	free(l->conn);
	free(l->user);
	free(l);
}

void
limits_address(const char *peer, char out[LIMITS_ADDR_MAX])
{
	const char *p = peer != NULL ? strrchr(peer, ',') : NULL;
	size_t n;

	p = p != NULL ? p + 1 : (peer != NULL ? peer : "");
	while (isspace((unsigned char)*p))
		p++;
	n = strlen(p);
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	if (n > LIMITS_ADDR_MAX - 1)
		n = LIMITS_ADDR_MAX - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

static double
burst(const struct limits *l)
{
	return (double)l->per_minute / 4.0 + 1.0;
}

/* Refills u's budget up to now_ms. */
static void
refill(const struct limits *l, struct lim_user *u, long long now_ms)
{
	if (now_ms > u->last_ms) {
		u->tokens += (double)l->per_minute / 60000.0 *
		    (double)(now_ms - u->last_ms);
		if (u->tokens > burst(l))
			u->tokens = burst(l);
	}
	u->last_ms = now_ms;
}

static struct lim_conn *
conn_find(const struct limits *l, const void *key, size_t keylen)
{
	for (size_t i = 0; i < l->conn_hi; i++)
		if (l->conn[i].keylen == keylen &&
		    memcmp(l->conn[i].key, key, keylen) == 0)
			return &l->conn[i];
	return NULL;
}

static struct lim_user *
user_find(const struct limits *l, const char *user)
{
	for (size_t i = 0; i < l->user_hi; i++)
		if (l->user[i].name[0] != '\0' &&
		    strcmp(l->user[i].name, user) == 0)
			return &l->user[i];
	return NULL;
}

/* A slot for a user not in the table: a free one, one whose user has no
 * session and a full budget again (nothing is lost), a new one, or else
 * one whose user has no session (its budget starts full again). NULL when
 * every user slot has sessions. */
static struct lim_user *
user_slot(struct limits *l, long long now_ms)
{
	struct lim_user *spare = NULL;

	for (size_t i = 0; i < l->user_hi; i++) {
		struct lim_user *u = &l->user[i];
		if (u->name[0] == '\0')
			return u;
		if (u->conns == 0) {
			refill(l, u, now_ms);
			if (u->tokens >= burst(l))
				return u;
			if (spare == NULL)
				spare = u;
		}
	}
	if (l->user_hi < l->slots)
		return &l->user[l->user_hi++];
	return spare;
}

static struct lim_conn *
conn_slot(struct limits *l)
{
	for (size_t i = 0; i < l->conn_hi; i++)
		if (l->conn[i].keylen == 0)
			return &l->conn[i];
	if (l->conn_hi < l->slots)
		return &l->conn[l->conn_hi++];
	return NULL;
}

enum limits_verdict
limits_open(struct limits *l, const void *key, size_t keylen,
    const char *user, const char *peer, int fd, long long now_ms)
{
	char addr[LIMITS_ADDR_MAX];
	struct lim_user *u;
	struct lim_conn *c;
	struct stat st;

	if (l == NULL || keylen == 0 || keylen > LIMITS_KEY_MAX ||
	    user == NULL || user[0] == '\0' || strlen(user) > LC_USER_MAX)
		return LIMITS_FULL;
	if (conn_find(l, key, keylen) != NULL)
		return LIMITS_OK;
	u = user_find(l, user);
	if (u != NULL && u->conns >= l->per_user)
		return LIMITS_USER;
	limits_address(peer, addr);
	if (addr[0] != '\0' && limits_address_count(l, addr) >= l->per_address)
		return LIMITS_ADDRESS;
	c = conn_slot(l);
	if (c == NULL)
		return LIMITS_FULL;
	if (u == NULL) {
		u = user_slot(l, now_ms);
		if (u == NULL)
			return LIMITS_FULL;  /* c stays free: keylen is 0 */
		memcpy(u->name, user, strlen(user) + 1);
		u->conns = 0;
		u->tokens = burst(l);
		u->last_ms = now_ms;
	}
	memcpy(c->key, key, keylen);
	c->keylen = keylen;
	c->user = (size_t)(u - l->user);
	memcpy(c->addr, addr, sizeof(addr));
	c->fd = -1;
	if (fd >= 0 && fstat(fd, &st) == 0) {
		c->fd = fd;
		c->dev = st.st_dev;
		c->ino = st.st_ino;
	}
	u->conns++;
	return LIMITS_OK;
}

/* Frees c's slot and uncounts it from its user. */
static void
conn_free(struct limits *l, struct lim_conn *c)
{
	struct lim_user *u = &l->user[c->user];

	if (u->conns > 0)
		u->conns--;
	c->keylen = 0;
	while (l->conn_hi > 0 && l->conn[l->conn_hi - 1].keylen == 0)
		l->conn_hi--;
}

void
limits_close(struct limits *l, const void *key, size_t keylen)
{
	struct lim_conn *c;

	if (l == NULL || keylen == 0 || keylen > LIMITS_KEY_MAX)
		return;
	c = conn_find(l, key, keylen);
	if (c != NULL)
		conn_free(l, c);
}

void
limits_clear(struct limits *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->conn_hi; i++)
		l->conn[i].keylen = 0;
	l->conn_hi = 0;
	l->gone_next = 0;
	for (size_t i = 0; i < l->user_hi; i++)
		l->user[i].conns = 0;   /* their budgets stay */
}

int
limits_take(struct limits *l, const char *user, long long now_ms)
{
	struct lim_user *u;

	if (l == NULL || user == NULL || (u = user_find(l, user)) == NULL ||
	    u->conns == 0)
		return 0;
	refill(l, u, now_ms);
	if (u->tokens < 1.0)
		return -1;
	u->tokens -= 1.0;
	return 0;
}

int
limits_gone(struct limits *l, void *key_out, size_t *keylen)
{
	struct stat st;

	if (l == NULL)
		return 0;
	for (size_t i = l->gone_next; i < l->conn_hi; i++) {
		struct lim_conn *c = &l->conn[i];
		if (c->keylen == 0 || c->fd < 0)
			continue;
		if (fstat(c->fd, &st) == 0 && st.st_dev == c->dev &&
		    st.st_ino == c->ino)
			continue;
		memcpy(key_out, c->key, c->keylen);
		*keylen = c->keylen;
		l->gone_next = i + 1;
		conn_free(l, c);
		return 1;
	}
	l->gone_next = 0;
	return 0;
}

int
limits_fd(const struct limits *l, const void *key, size_t keylen)
{
	const struct lim_conn *c;
	struct stat st;

	if (l == NULL || keylen == 0 || keylen > LIMITS_KEY_MAX ||
	    (c = conn_find(l, key, keylen)) == NULL ||
	    c->fd < 0)
		return -1;
	if (fstat(c->fd, &st) != 0 || st.st_dev != c->dev ||
	    st.st_ino != c->ino)
		return -1;
	return c->fd;
}

long
limits_user_count(const struct limits *l, const char *user)
{
	const struct lim_user *u = l != NULL && user != NULL ?
	    user_find(l, user) : NULL;

	return u != NULL ? u->conns : 0;
}

long
limits_address_count(const struct limits *l, const char *peer)
{
	char addr[LIMITS_ADDR_MAX];
	long n = 0;

	if (l == NULL)
		return 0;
	limits_address(peer, addr);
	for (size_t i = 0; i < l->conn_hi; i++)
		if (l->conn[i].keylen != 0 && strcmp(l->conn[i].addr, addr) == 0)
			n++;
	return n;
}

long
limits_total(const struct limits *l)
{
	long n = 0;

	if (l == NULL)
		return 0;
	for (size_t i = 0; i < l->conn_hi; i++)
		n += l->conn[i].keylen != 0;
	return n;
}

const char *
limits_strerror(enum limits_verdict v)
{
	switch (v) {
	case LIMITS_OK:
		return "ok";
	case LIMITS_USER:
		return "user";
	case LIMITS_ADDRESS:
		return "address";
	case LIMITS_FULL:
		return "full";
	}
	return "?";
}
