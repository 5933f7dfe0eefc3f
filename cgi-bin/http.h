/* http.h - one FastCGI request: its parameters, its bounded body, and the
 * response helpers. Status values are the HTTP codes themselves. */
#ifndef LC_HTTP_H
#define LC_HTTP_H

#include <cjson/cJSON.h>
#include <fcgiapp.h>
#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "creds.h"
#include "store.h"
#include "token.h"

#define HTTP_EXTRA_HEADERS_MAX 2048

struct http_req {
	FCGX_Request *fcgi;
	const struct lc_config *cfg;
	const struct lc_token_key *key;
	struct store *store;    /* NULL when the database could not be opened */
	char path[512];         /* REQUEST_URI without the query, and without
	                         * url_prefix's last "/" and what precedes it
	                         * ("/chat/api/me" under "/chat/": "/api/me") */
	const char *method;
	const char *origin;     /* NULL when absent */
	int origin_allowed;     /* same origin, no Origin, or in the list */
	int cross_origin;       /* an allowed Origin other than our own */
	char client[CREDS_ADDR_MAX + 1]; /* the client's address: REMOTE_ADDR,
	                         * or behind trusted_proxies X-Forwarded-For's
	                         * (creds_client_addr) */
	char headers[HTTP_EXTRA_HEADERS_MAX]; /* extra response header lines */
	size_t headers_len;
};

/* Returns the request parameter name, or NULL. */
const char *http_param(const struct http_req *r, const char *name);

/* Fills the derived fields of r from its parameters. Returns 0, or the HTTP
 * status to answer with (414 for an over-long URI). */
int http_req_init(struct http_req *r, FCGX_Request *fcgi,
    const struct lc_config *cfg, const struct lc_token_key *key);

/* Returns where path continues after prefix (url_prefix: "/" or "/a/b/"):
 * the rest from prefix's last "/" ("/chat/login" under "/chat/" is
 * "/login", "/chat/" is "/"); "/chat" alone is "/"; a path outside the
 * prefix, or any path under "/", is path itself. */
const char *http_unprefix(const char *path, const char *prefix);

/* Returns 1 if the request came over HTTPS, so that cookies get Secure:
 * cookie_secure, or lighttpd's HTTPS=on, or X-Forwarded-Proto: https from
 * one of trusted_proxies (lib/creds.h, creds_request_https). */
int http_secure(const struct http_req *r);

/* Adds one response header line ("Name: value"). Returns 0, or -1 when the
 * header space is exhausted (the header is then dropped). */
int http_add_header(struct http_req *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Reads the JSON request body into body (bounded by cfg->max_body). Returns 0
 * or the HTTP status to answer with: 411, 413, 415 or 400. */
int http_read_body(struct http_req *r, struct lc_buf *body);

/* Reads a body of any type into body, bounded by body's max (the route's
 * own limit, not max_body). *clen (may be NULL) gets the Content-Length
 * (-1 when absent or malformed). Returns 0 or the HTTP status to answer
 * with: 411, 413 (nothing read then) or 400. */
int http_read_raw(struct http_req *r, struct lc_buf *body, long *clen);

/* Sends status, the extra headers and body (len bytes of type ctype; NULL
 * for none). Returns 0, or -1 if the client is gone. */
int http_send(struct http_req *r, int status, const char *ctype,
    const char *body, size_t len);

/* Starts a response whose body follows in pieces written with
 * http_write, without a Content-Length (lighttpd frames it): status, the
 * extra headers and ctype. Returns 0, or -1 if the client is gone. */
int http_send_head(struct http_req *r, int status, const char *ctype);

/* Writes len bytes of a body started with http_send_head (libfcgi sends
 * them as its buffer fills). Returns 0, or -1 if the client is gone. */
int http_write(struct http_req *r, const char *data, size_t len);

/* Sends status, the extra headers and the JSON value (not freed). Returns 0,
 * or -1 if the client is gone. */
int http_send_json(struct http_req *r, int status, const cJSON *json);

/* Sends {"error":{"code":code,"message":message}} with status. */
int http_send_error(struct http_req *r, int status, const char *code,
    const char *message);

/* Finds and verifies the request's token: the session cookie or an
 * "Authorization: Bearer" header, and its session (lib/session_check.h;
 * the use is recorded). Returns LC_TOKEN_OK with user, exp and sid
 * (LC_SID_LEN + 1 bytes; may be NULL) set, or a token error
 * (LC_TOKEN_MALFORMED when there is none, LC_TOKEN_REVOKED when its
 * session is over). */
int http_authenticate(const struct http_req *r, char user[LC_USER_MAX + 1],
    long *exp, char *sid);

/* Finds parameter name in the query string and percent-decodes it into out.
 * Returns 1 found, 0 absent, -1 malformed or too long. */
int http_query(const struct http_req *r, const char *name, char *out,
    size_t outcap);

/* Returns the reason phrase of an HTTP status code. */
const char *http_reason(int status);

#endif
