/* route.h - what a route of the FastCGI program declares (its path, the
 * methods it answers, the checks its requests pass first), and the one place
 * that finds a request's route and answers every refusal before a handler
 * runs. The table itself is in routes.c; the handlers are in pages.h.
 *
 * The checks, in the order route_serve makes them:
 *   0. no route claims the path                  404 not_found "No such page"
 *   1. ROUTE_METHOD_FIRST: method not answered   405 method_not_allowed
 *   2. Origin not allowed (every route)          403 origin_not_allowed
 *   3. ROUTE_CORS: OPTIONS is a CORS preflight (204, or 403 for an origin
 *      that is ours or absent); otherwise the CORS headers for an allowed
 *      foreign origin are added to whatever follows
 *   4. ROUTE_AUTH_REQUIRED: no valid credentials 401 unauthorized
 *   5. ROUTE_STORE: no database                  503 storage_error
 *   6. a near miss under a ROUTE_ID prefix       404 not_found
 *   7. method not answered                       405 method_not_allowed
 * A 405 carries "Allow:" with the route's methods (GET, HEAD under
 * ROUTE_HEAD, POST, PATCH, DELETE, then OPTIONS under ROUTE_CORS) and the message "Use A, B or C" (without
 * OPTIONS). Refusals from step 1 on are answered by the route's refuse
 * function; a preflight's 403 is always the plain error shape. */
#ifndef LC_ROUTE_H
#define LC_ROUTE_H

#include <stddef.h>

#include "http.h"
#include "store.h"
#include "token.h"

/* The methods a route can answer; OPTIONS is ROUTE_CORS's preflight. */
enum route_method {
	ROUTE_GET,
	ROUTE_POST,
	ROUTE_PATCH,
	ROUTE_DELETE,
	ROUTE_METHOD__MAX
};

/* Whose request a route answers. The default (0) is the strict one, so a
 * route that says nothing requires a user. */
enum route_auth {
	ROUTE_AUTH_REQUIRED = 0, /* valid cookie or Bearer token, or 401 */
	ROUTE_AUTH_OPTIONAL,     /* the user when the credentials are valid */
	ROUTE_AUTH_NONE          /* credentials are not looked at */
};

/* Route flags. */
#define ROUTE_STORE        0x01u /* 503 when the database is not available */
#define ROUTE_CORS         0x02u /* OPTIONS preflight; CORS response headers */
#define ROUTE_METHOD_FIRST 0x04u /* 405 before the Origin and credentials */
#define ROUTE_SLASH        0x08u /* path + "/" is the same route */
#define ROUTE_ID           0x10u /* path, then a conversation id, then suffix */
#define ROUTE_HEAD         0x20u /* HEAD is answered by the GET handler */

/* What a handler is handed: every check of its route has passed. */
struct route_ctx {
	char user[LC_USER_MAX + 1]; /* "" only under AUTH_OPTIONAL or NONE */
	long exp;                   /* the token's expiry; 0 when user is "" */
	char sid[LC_SID_LEN + 1];   /* the token's session; "" when user is "" */
	char id[ID_LEN + 1];  /* ROUTE_ID: a valid id (a conversation's, an
	                       * attachment's: the same shape) */
};

/* Answers the request completely. Returns 0, or -1 if the client is gone. */
typedef int (*route_handler)(struct http_req *r, const struct route_ctx *ctx);

/* Answers a refusal (status, error code, message) in a route's own shape.
 * Returns 0, or -1 if the client is gone. */
typedef int (*route_refuse)(struct http_req *r, int status, const char *code,
    const char *message);

struct route {
	/* The exact path; under ROUTE_ID the part before the id, ending in "/".
	 * A path with a ROUTE_ID prefix that no route matches is a near miss
	 * of the first such route: "No such conversation" when the id is not
	 * a valid one, "No such page" when only the rest differs. */
	const char *path;
	const char *suffix;        /* ROUTE_ID: the exact rest ("" for none) */
	unsigned flags;            /* ROUTE_* flags above */
	enum route_auth auth;
	route_handler handler[ROUTE_METHOD__MAX]; /* NULL: not answered */
	route_refuse refuse;       /* NULL: http_send_error */
	const char *no_such;       /* ROUTE_ID: the 404 message of an id not
	                            * of that shape (NULL: "No such
	                            * conversation") */
};

/* Where a path leads in a table. */
struct route_match {
	int route;             /* the route's index, or -1 */
	int owner;             /* whose checks run: route, or for a near miss
	                        * the ROUTE_ID route; -1 when none claims it */
	const char *not_found; /* the 404 message when route is -1 (static) */
	char id[ID_LEN + 1]; /* the id when route has ROUTE_ID, else "" */
};

#define ROUTE_ALLOW_MAX 64

/* Finds path in table (n routes) and fills m. Exact paths are tried before
 * ROUTE_ID prefixes. */
void route_find(const struct route *table, size_t n, const char *path,
    struct route_match *m);

/* Returns the route's handler for method (the request's, as sent), or NULL
 * when the route does not answer it (OPTIONS never has a handler; HEAD is
 * the GET handler under ROUTE_HEAD). */
route_handler route_handler_for(const struct route *rt, const char *method);

/* Writes the route's "Allow:" value ("GET, PATCH, DELETE") into allow and
 * its 405 message ("Use GET, PATCH or DELETE") into use, each
 * ROUTE_ALLOW_MAX bytes. */
void route_allow(const struct route *rt, char allow[ROUTE_ALLOW_MAX],
    char use[ROUTE_ALLOW_MAX]);

/* Answers r from table (n routes): makes the checks above in their order and
 * answers a failed one itself, else calls the handler with the checked
 * context. Returns the send result: 0, or -1 if the client is gone. */
int route_serve(struct http_req *r, const struct route *table, size_t n);

#endif
