/* upstream_http.h - how lightchat reaches one upstream over HTTP: the URL
 * of one of its endpoints (Azure's {model} deployment URLs, ?api-version=),
 * its auth header (Authorization: Bearer, or Azure's api-key:), and the
 * options every easy handle to it gets (no redirects, http(s) only, its
 * timeouts). The chat call (upstream.c) and discovery (discover.c) use it,
 * so they cannot disagree on where an upstream is or how it is asked. */
#ifndef LC_UPSTREAM_HTTP_H
#define LC_UPSTREAM_HTTP_H

#include <curl/curl.h>
#include <stddef.h>

#include "models.h"

#define UPHTTP_URL_MAX 2048
/* libcurl's receive buffer per transfer (CURLOPT_BUFFERSIZE; its default is
 * 16 kB): measured 0.012 MB less per stream at 100 streams. */
#define UPHTTP_RECV_BUFFER 4096L

/* Writes into url (cap bytes) the URL of endpoint tail ("chat/completions"
 * or "models") of up: base_url without trailing slashes, each "{model}"
 * replaced by model URL-escaped, then "/" tail, then "?api-version=V" when
 * up has one. For model NULL (discovery) a base_url holding "{model}" is
 * cut before its "/deployments/" segment (Azure's GET /openai/models), or
 * before the segment holding "{model}". Returns 0, or -1 when it does not
 * fit or out of memory. */
int uphttp_url(const struct lc_upstream *up, const char *model,
    const char *tail, char *url, size_t cap);

/* Appends up's auth header to *headers (nothing when its key is ""):
 * "api-key: KEY" for auth = api-key, else "Authorization: Bearer KEY".
 * The header text is wiped from the stack; libcurl's copy lives in the
 * list. Returns 0, or -1 when out of memory (*headers unchanged). */
int uphttp_auth(const struct lc_upstream *up, struct curl_slist **headers);

/* Sets on easy what every call to up takes: url, headers, errbuf
 * (CURL_ERROR_SIZE), no signals, no redirects (a request with a key must
 * not wander), http and https only, up's connect and idle timeouts, and a
 * total timeout of total seconds (up->total_timeout when total is 0).
 * Returns 0, or -1 when libcurl refused an option. */
int uphttp_setup(CURL *easy, const struct lc_upstream *up, const char *url,
    struct curl_slist *headers, char *errbuf, long total);

#endif
