/* login_guard.c - login throttling: device cookies, trusted addresses,
 * growing delays, and the in-memory fallback (login_guard.h). */
#include "login_guard.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "creds.h"
#include "log.h"
#include "store.h"
#include "throttle.h"

/* Per process, on purpose: what throttles when the database cannot. */
static struct throttle mem;
/* 1 while the database cannot count failures: the table above decides too
 * (logged once when it starts and once when it ends). */
static int degraded;

static long long
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void
set_degraded(int on, const char *why)
{
	if (on && !degraded)
		log_err("login: the database cannot count failed logins (%s); "
		    "throttling from this process's memory", why);
	else if (!on && degraded)
		log_info("login: the database counts failed logins again");
	degraded = on;
}

const char *
guard_addr(const struct http_req *r)
{
	/* Behind a load balancer, the client's, not the balancer's. */
	return r->client;
}

/* The seconds key must still wait with max failures allowed. */
static long
key_wait(struct http_req *r, const char *key, long max, long long now)
{
	const struct lc_config *c = r->cfg;
	long long last = 0;
	long wait = 0;
	int count = 0;

	if (r->store == NULL)
		set_degraded(1, "no database");
	else if (store_login_count(r->store, key, c->login_window, &count,
	    &last) != STORE_OK)
		set_degraded(1, "read failed");
	else
		wait = throttle_wait(count, (int)max, c->login_max_delay, last,
		    now);
	if (degraded) {
		count = throttle_count(&mem, key, c->login_window, now, &last);
		long w = throttle_wait(count, (int)max, c->login_max_delay,
		    last, now);
		if (w > wait)
			wait = w;
	}
	return wait;
}

long
guard_check(struct http_req *r, const char *user, struct login_guard *g)
{
	const struct lc_config *c = r->cfg;
	char cookie[LC_DEVICE_MAX], id[LC_DEVICE_ID_MAX];
	long long now = now_ms();
	long wait = 0, w;

	memset(g, 0, sizeof(*g));
	snprintf(g->user, sizeof(g->user), "%.*s", LC_USER_MAX, user);
	snprintf(g->ukey, sizeof(g->ukey), "user:%.*s", LC_USER_MAX, user);
	snprintf(g->akey, sizeof(g->akey), "addr:%.100s", guard_addr(r));
	snprintf(g->tkey, sizeof(g->tkey), "ok:%.*s|%.100s", LC_USER_MAX, user,
	    guard_addr(r));
	if (creds_cookie(http_param(r, "HTTP_COOKIE"), LC_DEVICE_COOKIE, cookie,
	    sizeof(cookie)) == 1 && device_verify(r->key, cookie, g->user,
	    time(NULL), id) == 1) {
		g->device = 1;
		snprintf(g->dkey, sizeof(g->dkey), "dev:%s", id);
		return key_wait(r, g->dkey, c->login_max_failures_user, now);
	}
	g->trusted = r->store != NULL &&
	    store_login_trusted(r->store, g->tkey, c->login_window) == STORE_OK;
	wait = key_wait(r, g->akey, c->login_max_failures_addr, now);
	if (!g->trusted) {
		w = key_wait(r, g->ukey, c->login_max_failures_user, now);
		if (w > wait)
			wait = w;
	}
	return wait;
}

/* Counts a failure of key in the database and in memory. */
static void
fail_key(struct http_req *r, const char *key)
{
	long long now = now_ms();

	throttle_fail(&mem, key, r->cfg->login_window, now);
	if (r->store == NULL)
		set_degraded(1, "no database");
	else if (store_login_fail(r->store, key, r->cfg->login_window) !=
	    STORE_OK)
		set_degraded(1, "write failed");
	else
		set_degraded(0, NULL);
}

void
guard_failed(struct http_req *r, const struct login_guard *g)
{
	if (g->device) {
		fail_key(r, g->dkey);
		return;
	}
	fail_key(r, g->akey);
	if (!g->trusted)
		fail_key(r, g->ukey);
}

/* Forgets key in the database and in memory. */
static void
clear_key(struct http_req *r, const char *key)
{
	throttle_clear(&mem, key);
	if (r->store != NULL && store_login_clear(r->store, key) != STORE_OK)
		log_err("login: could not clear failures");
}

void
guard_succeeded(struct http_req *r, const struct login_guard *g)
{
	const struct lc_config *c = r->cfg;
	char value[LC_DEVICE_MAX], expires[64];
	time_t now = time(NULL), until = now + (time_t)c->login_device_lifetime;
	struct tm tm;

	/* A trusted client's success says nothing about the strangers who
	 * failed as this user elsewhere: their count stays. */
	if (g->device)
		clear_key(r, g->dkey);
	else if (!g->trusted)
		clear_key(r, g->ukey);
	if (r->store != NULL &&
	    store_login_trust(r->store, g->tkey, c->login_window) != STORE_OK)
		log_err("login: could not record the trusted address");
	if (device_issue(r->key, g->user, c->login_device_lifetime, now,
	    value) != 0 || gmtime_r(&until, &tm) == NULL ||
	    strftime(expires, sizeof(expires), "%a, %d %b %Y %H:%M:%S GMT",
	    &tm) == 0) {
		log_err("login: could not make a device cookie");
		return;
	}
	int secure = http_secure(r);
	/* Expires, not Max-Age: the session cookie's Max-Age means
	 * "remember me", this one is about the browser. Only /login sees it. */
	http_add_header(r, "Set-Cookie: %s=%s; Path=%slogin; Expires=%s; "
	    "HttpOnly; SameSite=Strict%s", LC_DEVICE_COOKIE, value,
	    c->url_prefix, expires, secure ? "; Secure" : "");
}
