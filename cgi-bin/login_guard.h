/* login_guard.h - who may try a password now: the login throttling rules.
 *
 * A client with a valid device cookie for the user is judged by that
 * device's failures only. Any other client is judged by its address's
 * failures, and by the user's failures unless the user logged in from that
 * address within the login window. Past a limit each attempt waits a
 * growing delay (lib/throttle.h), never a hard wall. The counts live in the
 * database; when it cannot count (no database, disk full, locked,
 * unreadable) a bounded table in this process's memory throttles instead. */
#ifndef LC_LOGIN_GUARD_H
#define LC_LOGIN_GUARD_H

#include "device.h"
#include "http.h"
#include "username.h"

struct login_guard {
	char user[LC_USER_MAX + 1];     /* as typed, cut */
	char ukey[LC_USER_MAX + 8];     /* "user:NAME" */
	char akey[128];                 /* "addr:ADDRESS" */
	char dkey[LC_DEVICE_ID_MAX + 8];/* "dev:ID" when device */
	char tkey[LC_USER_MAX + 112];   /* "ok:NAME|ADDRESS" */
	int device;                     /* a valid device cookie for the user */
	int trusted;                    /* the user logged in from here lately */
};

/* Fills g for an attempt to log in as user (the name as typed, valid or
 * not, so unknown users are limited like known ones) and decides. Returns 0
 * when the attempt may go on, or the seconds it must still wait (> 0). */
long guard_check(struct http_req *r, const char *user, struct login_guard *g);

/* Counts a failed attempt against g's keys. */
void guard_failed(struct http_req *r, const struct login_guard *g);

/* After a successful login: forgets the failures it proves were the
 * user's, trusts this address for the window, and adds the device cookie's
 * Set-Cookie header. */
void guard_succeeded(struct http_req *r, const struct login_guard *g);

/* The client's address: lighttpd's REMOTE_ADDR, or behind trusted_proxies the
 * one X-Forwarded-For names (creds_client_addr; "-" when absent). */
const char *guard_addr(const struct http_req *r);

#endif
