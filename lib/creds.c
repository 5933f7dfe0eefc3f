/* creds.c - token extraction from cookies, queries and headers; Origin. */
#include "creds.h"

#include <string.h>
#include <strings.h>

#include "config.h"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
creds_url_decode(const char *src, size_t srclen, char *out, size_t outcap)
{
	size_t n = 0;

	for (size_t i = 0; i < srclen; i++) {
		char c = src[i];
		if (c == '%') {
			if (i + 2 >= srclen)
				return -1;
			int hi = hexval(src[i + 1]), lo = hexval(src[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (char)(hi * 16 + lo);
			if (c == '\0')
				return -1;
			i += 2;
		} else if (c == '+') {
			c = ' ';
		} else if (c == '\0') {
			return -1;  /* a raw NUL, like %00, would cut the result */
		}
		if (n + 1 >= outcap)
			return -1;
		out[n++] = c;
	}
	if (outcap == 0)
		return -1;
	out[n] = '\0';
	return (int)n;
}

int
creds_cookie(const char *header, const char *name, char *out, size_t outcap)
{
	size_t nlen = strlen(name);
	const char *p = header;

	if (header == NULL)
		return 0;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		if (end == NULL)
			end = p + strlen(p);
		/* The whole name must match: "xlightchat_session" is not it. */
		if ((size_t)(end - p) > nlen && strncmp(p, name, nlen) == 0 &&
		    p[nlen] == '=') {
			const char *v = p + nlen + 1;
			size_t vlen = (size_t)(end - v);
			while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
				v++;
				vlen -= 2;
			}
			if (vlen + 1 > outcap)
				return -1;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return 1;
		}
		p = end;
	}
	return 0;
}

/* Removes a leading "Bearer " (any case, one or more spaces) in place. */
static void
strip_bearer(char *s)
{
	if (strncasecmp(s, "Bearer", 6) == 0 && s[6] == ' ') {
		size_t i = 6;
		while (s[i] == ' ')
			i++;
		memmove(s, s + i, strlen(s + i) + 1);
	}
}

int
creds_query_token(const char *query, char *out, size_t outcap)
{
	const char *p = query;

	if (query == NULL)
		return 0;
	while (*p) {
		const char *end = strchr(p, '&');
		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) >= 6 && strncmp(p, "token=", 6) == 0) {
			if (creds_url_decode(p + 6, (size_t)(end - p - 6), out, outcap) < 0)
				return -1;
			strip_bearer(out);
			return 1;
		}
		p = *end ? end + 1 : end;
	}
	return 0;
}

int
creds_bearer(const char *authorization, char *out, size_t outcap)
{
	if (authorization == NULL ||
	    strncasecmp(authorization, "Bearer ", 7) != 0)
		return 0;
	const char *v = authorization + 7;
	while (*v == ' ')
		v++;
	size_t n = strlen(v);
	while (n > 0 && v[n - 1] == ' ')
		n--;
	if (n + 1 > outcap)
		return -1;
	memcpy(out, v, n);
	out[n] = '\0';
	return 1;
}

int
creds_find_token(const char *cookie_header, const char *query, char *out,
    size_t outcap)
{
	int rc = creds_cookie(cookie_header, LC_COOKIE_NAME, out, outcap);

	if (rc != 0)
		return rc;
	return creds_query_token(query, out, outcap);
}

bool
creds_origin_allowed(const char *origin, const char *host, const char *allowed)
{
	if (origin == NULL || origin[0] == '\0')
		return true;
	if (allowed != NULL && config_list_has(allowed, origin))
		return true;
	/* Same origin: the part after "scheme://" equals the Host header. */
	const char *sep = strstr(origin, "://");
	if (sep == NULL || host == NULL || host[0] == '\0')
		return false;
	return strcasecmp(sep + 3, host) == 0;
}
