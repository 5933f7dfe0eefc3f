/* creds.h - finding a session token in a request, the Origin check, and
 * whether a request came over HTTPS (trusted proxies).
 *
 * Used by the authorizer (cgi-bin) and again by the worker, so both make the
 * same decision from the same inputs. */
#ifndef LC_CREDS_H
#define LC_CREDS_H

#include <stdbool.h>
#include <stddef.h>

#define LC_COOKIE_NAME "lightchat_session"

/* Copies the value of the cookie named exactly name from a Cookie header into
 * out. Returns 1 found, 0 absent, -1 if the value does not fit in outcap. */
int creds_cookie(const char *header, const char *name, char *out,
    size_t outcap);

/* Finds the "token" parameter of a query string, percent-decodes it and
 * strips a "Bearer " prefix. Returns 1 found, 0 absent, -1 malformed or too
 * long. */
int creds_query_token(const char *query, char *out, size_t outcap);

/* Extracts the token from an "Authorization: Bearer <jwt>" value. Returns 1
 * found, 0 absent or another scheme, -1 too long. */
int creds_bearer(const char *authorization, char *out, size_t outcap);

/* Finds the token a WebSocket request carries: the cookie first, then the
 * query. Returns 1 found, 0 none, -1 malformed. Any argument may be NULL. */
int creds_find_token(const char *cookie_header, const char *query, char *out,
    size_t outcap);

/* Returns true if origin ("scheme://host[:port]", as a browser sends it)
 * names exactly one of the origins of the comma-separated list: the same
 * scheme (http or https), host (compared in lower case) and port (80 and
 * 443 when absent, so "http://h" is "http://h:80"). A list entry may end
 * in "/"; the origin may not, nor carry a path, user info or "null". NULL
 * origin or list: false. */
bool creds_origin_match(const char *origin, const char *list);

/* Decides whether a request's Origin may use the service: no Origin (not a
 * browser), or one that matches (creds_origin_match) the configured public
 * origins or the allowed ones. The request's own Host header is never
 * consulted: an attacker chooses it (DNS rebinding). Lists may be NULL. */
bool creds_origin_allowed(const char *origin, const char *public_origins,
    const char *allowed);

/* Returns true if addr (a numeric IPv4 or IPv6 address, as REMOTE_ADDR
 * gives it) is one of the comma-separated list's entries: an address, or
 * address/bits for a network ("10.0.0.0/8", "fd00::/8"); an IPv4-mapped
 * IPv6 address counts as its IPv4 one. Entries that are neither are
 * ignored. NULL or empty addr or list: false. */
bool creds_addr_in_list(const char *addr, const char *list);

/* Decides whether a request came over HTTPS: https is "on" (lighttpd
 * terminated TLS itself), or the peer remote_addr is a trusted proxy
 * (creds_addr_in_list) and its X-Forwarded-Proto (forwarded_proto) is
 * "https". The header from anyone else is never believed: a client can
 * send it. Any argument may be NULL. */
bool creds_request_https(const char *https, const char *remote_addr,
    const char *forwarded_proto, const char *trusted_proxies);

/* The client's address behind the trusted proxies (a load balancer such
 * as HAProxy, docs/SCALING.md): remote_addr itself, unless it is a trusted
 * proxy (creds_addr_in_list) and forwarded_for (X-Forwarded-For) names
 * others: then its rightmost entry that is not a trusted proxy (each proxy
 * appends the address it got the request from; what is left of those is
 * the client's say, never believed). An entry that is not an address's
 * characters ([0-9A-Fa-f:.], at most 45) ends the walk at what was last
 * believed. Writes it into out (cap bytes, at least 46; "-" when there is
 * none) and returns out. Any argument but out may be NULL. */
#define CREDS_ADDR_MAX 45
const char *creds_client_addr(const char *remote_addr,
    const char *forwarded_for, const char *trusted_proxies, char *out,
    size_t cap);

/* Percent-decodes src (also '+' as space) into out. Returns the length, or -1
 * on a bad escape, a NUL byte, or when it does not fit. */
int creds_url_decode(const char *src, size_t srclen, char *out, size_t outcap);

#endif
