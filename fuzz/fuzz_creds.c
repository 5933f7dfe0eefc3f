/* fuzz_creds.c - lib/creds.h: finding a token in a Cookie header, a query
 * string or an Authorization header, percent-decoding, and the Origin check.
 *
 * The input is split at newlines into: cookie header, query string,
 * authorization, origin, host, allowed origins. Each extraction runs with
 * an output buffer of exactly outcap bytes on the heap (1, a size taken from
 * the input, and a roomy one), so a write past it is a finding. Invariants:
 * results are NUL-terminated within outcap; a found cookie has no ';'; a
 * bearer token has no leading or trailing space; the same call with more
 * room finds the same thing; creds_find_token is the cookie when there is
 * one and else the query; creds_url_decode returns the length of what it wrote,
 * never a NUL byte; an Origin in the allowed list, or none, is allowed;
 * an address in a trusted-proxy list stays in it when the list grows, and
 * only such an address is believed about https. */
#include "fuzz.h"

#include <ctype.h>
#include <stdbool.h>

#include "config.h"
#include "creds.h"

#define BIG 4096

enum { P_COOKIE, P_QUERY, P_AUTH, P_ORIGIN, P_HOST, P_ALLOWED, P_COUNT };

typedef int (*extract_fn)(const char *a, const char *b, char *out,
    size_t outcap);

static int
do_cookie(const char *header, const char *name, char *out, size_t outcap)
{
	return creds_cookie(header, name, out, outcap);
}

static int
do_query(const char *query, const char *unused, char *out, size_t outcap)
{
	(void)unused;
	return creds_query_token(query, out, outcap);
}

static int
do_bearer(const char *auth, const char *unused, char *out, size_t outcap)
{
	(void)unused;
	return creds_bearer(auth, out, outcap);
}

static int
do_find(const char *cookie, const char *query, char *out, size_t outcap)
{
	return creds_find_token(cookie, query, out, outcap);
}

/* Runs fn with an exact-size heap buffer; returns its result and, when it
 * found something, a copy of it in *found (caller frees). */
static int
run(extract_fn fn, const char *a, const char *b, size_t outcap, char **found)
{
	char *out = malloc(outcap);
	FUZZ_CHECK(out != NULL);
	memset(out, 'X', outcap);
	int rc = fn(a, b, out, outcap);
	FUZZ_CHECK(rc >= -1 && rc <= 1);
	*found = NULL;
	if (rc == 1) {
		FUZZ_CHECK(memchr(out, '\0', outcap) != NULL);
		*found = strdup(out);
		FUZZ_CHECK(*found != NULL);
	}
	free(out);
	return rc;
}

/* The same call with room for anything finds the same thing, and with
 * less room either the same thing or "does not fit". */
static char *
check_extract(extract_fn fn, const char *a, const char *b, size_t small)
{
	char *big = NULL, *other = NULL;
	int rc = run(fn, a, b, BIG, &big);
	size_t caps[2] = { 1, small };

	for (int i = 0; i < 2; i++) {
		int rc2 = run(fn, a, b, caps[i], &other);
		if (rc2 == 1) {
			FUZZ_CHECK(rc == 1);
			FUZZ_CHECK(strcmp(other, big) == 0);
		} else if (rc == 1) {
			/* A query's token is measured before "Bearer " is
			 * stripped from it. */
			FUZZ_CHECK(rc2 == -1);
			FUZZ_CHECK(strlen(big) + 1 > caps[i] || fn == do_query ||
			    fn == do_find);
		} else {
			FUZZ_CHECK(rc2 == rc);
		}
		free(other);
	}
	return big;
}

static void
check_url_decode(const char *s, size_t n, size_t small)
{
	/* src without a terminating NUL: a read past n is a finding. */
	char *src = malloc(n > 0 ? n : 1);
	FUZZ_CHECK(src != NULL);
	memcpy(src, s, n);
	char *out = malloc(BIG);
	FUZZ_CHECK(out != NULL);
	int len = creds_url_decode(src, n, out, BIG);
	if (len >= 0) {
		FUZZ_CHECK((size_t)len < BIG && (size_t)len <= n);
		FUZZ_CHECK(out[len] == '\0' && strlen(out) == (size_t)len);
	}
	char *out2 = malloc(small);
	FUZZ_CHECK(out2 != NULL);
	int len2 = creds_url_decode(src, n, out2, small);
	if (len2 >= 0) {
		FUZZ_CHECK(len2 == len);
		FUZZ_CHECK(memcmp(out, out2, (size_t)len + 1) == 0);
	} else if (len >= 0) {
		FUZZ_CHECK((size_t)len + 1 > small);
	}
	FUZZ_CHECK(creds_url_decode(src, n, out2, 0) == -1);
	free(out2);
	free(out);
	free(src);
}

static bool
plain_item(const char *s)
{
	for (; *s; s++)
		if (*s == ',' || isspace((unsigned char)*s))
			return false;
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *parts[P_COUNT] = { NULL };
	char *copy;
	size_t n = fuzz_split(data, size, '\n', parts, P_COUNT, &copy);
	size_t small = 1 + size % 64;
	char *got;

	/* The Cookie header, with the real name and with one from the input. */
	got = check_extract(do_cookie, parts[P_COOKIE], LC_COOKIE_NAME, small);
	if (got != NULL) {
		FUZZ_CHECK(strchr(got, ';') == NULL);
		free(got);
	}
	if (n > P_QUERY && parts[P_QUERY][0] != '\0') {
		got = check_extract(do_cookie, parts[P_COOKIE], parts[P_QUERY],
		    small);
		free(got);
	}

	got = check_extract(do_query, n > P_QUERY ? parts[P_QUERY] : NULL, NULL,
	    small);
	free(got);

	got = check_extract(do_bearer, n > P_AUTH ? parts[P_AUTH] : NULL, NULL,
	    small);
	if (got != NULL) {
		size_t l = strlen(got);
		FUZZ_CHECK(l == 0 || (got[0] != ' ' && got[l - 1] != ' '));
		free(got);
	}

	/* The cookie first, then the query. */
	char *cookie = NULL, *query = NULL, *found = NULL;
	const char *q = n > P_QUERY ? parts[P_QUERY] : NULL;
	int crc = run(do_cookie, parts[P_COOKIE], LC_COOKIE_NAME, BIG, &cookie);
	int qrc = run(do_query, q, NULL, BIG, &query);
	int frc = run(do_find, parts[P_COOKIE], q, BIG, &found);
	if (crc != 0) {
		FUZZ_CHECK(frc == crc);
		FUZZ_CHECK(crc != 1 || strcmp(found, cookie) == 0);
	} else {
		FUZZ_CHECK(frc == qrc);
		FUZZ_CHECK(qrc != 1 || strcmp(found, query) == 0);
	}
	FUZZ_CHECK(run(do_find, NULL, NULL, BIG, &got) == 0);
	free(cookie);
	free(found);
	free(query);

	/* Percent-decoding of every part, and of the whole input. */
	for (size_t i = 0; i < n; i++)
		check_url_decode(parts[i], strlen(parts[i]), small);
	check_url_decode((const char *)data, size, small);

	/* The Origin check: host stands for the public origins here. */
	const char *origin = n > P_ORIGIN ? parts[P_ORIGIN] : NULL;
	const char *host = n > P_HOST ? parts[P_HOST] : NULL;
	const char *allowed = n > P_ALLOWED ? parts[P_ALLOWED] : NULL;
	bool ok = creds_origin_allowed(origin, host, allowed);
	if (origin == NULL || origin[0] == '\0')
		FUZZ_CHECK(ok);
	FUZZ_CHECK(creds_origin_allowed(NULL, host, allowed));
	FUZZ_CHECK(creds_origin_allowed("", host, allowed));
	if (origin != NULL && origin[0] != '\0') {
		FUZZ_CHECK(ok == (creds_origin_match(origin, host) ||
		    creds_origin_match(origin, allowed)));
		/* An origin that matches anything matches itself, and is
		 * scheme://host[:port] with nothing after. */
		if (ok) {
			FUZZ_CHECK(creds_origin_match(origin, origin));
			FUZZ_CHECK(strncasecmp(origin, "http://", 7) == 0 ||
			    strncasecmp(origin, "https://", 8) == 0);
			const char *rest = strstr(origin, "://") + 3;
			FUZZ_CHECK(strpbrk(rest, "/@?# ") == NULL);
		}
		if (strstr(origin, "://") == NULL)
			FUZZ_CHECK(!ok);
	}
	if (allowed != NULL && origin != NULL && origin[0] != '\0' &&
	    plain_item(origin) && creds_origin_match(origin, origin))
		FUZZ_CHECK(creds_origin_allowed(origin, NULL, origin));
	creds_origin_allowed(origin, host, NULL);
	creds_origin_allowed(host, origin, allowed);

	/* trusted proxies (issue 13): the origin part as an address, the
	 * allowed part as the list. An address in a list is in it with
	 * anything appended; X-Forwarded-Proto is believed only from one. */
	if (origin != NULL && allowed != NULL) {
		bool in = creds_addr_in_list(origin, allowed);
		size_t alen = strlen(allowed);
		char *more = malloc(alen + 16);
		FUZZ_CHECK(more != NULL);
		memcpy(more, allowed, alen);
		memcpy(more + alen, ",192.0.2.1", 11);
		FUZZ_CHECK(!in || creds_addr_in_list(origin, more));
		free(more);
		FUZZ_CHECK(creds_request_https(NULL, origin, "https", allowed) == in);
		FUZZ_CHECK(!creds_request_https(NULL, origin, "http", allowed));
	}

	free(copy);
	return 0;
}
