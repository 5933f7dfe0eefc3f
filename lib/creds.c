/* creds.c - token extraction from cookies, queries and headers; Origin;
 * trusted proxies and X-Forwarded-Proto. */
#include "creds.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* Splits an origin "scheme://host[:port]" (a trailing "/" too when
 * lenient) into its lower-case scheme (http or https) and host and its port
 * (the scheme's default when absent). Returns 0, or -1 for anything else:
 * "null", a path, user info, a bad port, an over-long host. */
static int
origin_parse(const char *o, size_t len, int lenient, char scheme[6],
    char host[256], long *port)
{
	size_t i, hlen;
	const char *h, *end = o + len;

	if (lenient && len > 0 && o[len - 1] == '/')
		end--;
	if ((size_t)(end - o) > 7 && strncasecmp(o, "http://", 7) == 0) {
		memcpy(scheme, "http", 5);
		*port = 80;
		h = o + 7;
	} else if ((size_t)(end - o) > 8 && strncasecmp(o, "https://", 8) == 0) {
		memcpy(scheme, "https", 6);
		*port = 443;
		h = o + 8;
	} else {
		return -1;
	}
	const char *colon = NULL;
	if (*h == '[') {                  /* an IPv6 literal */
		const char *rb = memchr(h, ']', (size_t)(end - h));
		if (rb == NULL)
			return -1;
		colon = rb + 1 < end ? rb + 1 : NULL;
		if (colon != NULL && *colon != ':')
			return -1;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
	}
	hlen = (size_t)((colon != NULL ? colon : end) - h);
	if (hlen == 0 || hlen >= 256)
		return -1;
	for (i = 0; i < hlen; i++) {
		unsigned char c = (unsigned char)h[i];
		if (c <= ' ' || c >= 0x7f || c == '/' || c == '@' || c == '?' ||
		    c == '#' || c == '\\')
			return -1;
		host[i] = (char)tolower(c);
	}
	host[hlen] = '\0';
	if (colon != NULL) {
		long p = 0;
		const char *d = colon + 1;
		if (d == end || end - d > 5)
			return -1;
		for (; d < end; d++) {
			if (*d < '0' || *d > '9')
				return -1;
			p = p * 10 + (*d - '0');
		}
		if (p < 1 || p > 65535)
			return -1;
		*port = p;
	}
	return 0;
}

bool
creds_origin_match(const char *origin, const char *list)
{
	char s1[6], h1[256], s2[6], h2[256];
	long p1, p2;

	if (origin == NULL || list == NULL ||
	    origin_parse(origin, strlen(origin), 0, s1, h1, &p1) != 0)
		return false;
	while (*list) {
		while (*list == ',' || *list == ' ' || *list == '\t')
			list++;
		const char *end = list;
		while (*end && *end != ',')
			end++;
		const char *last = end;
		while (last > list && (last[-1] == ' ' || last[-1] == '\t'))
			last--;
		if (last > list && origin_parse(list, (size_t)(last - list), 1,
		    s2, h2, &p2) == 0 && strcmp(s1, s2) == 0 &&
		    strcmp(h1, h2) == 0 && p1 == p2)
			return true;
		list = end;
	}
	return false;
}

bool
creds_origin_allowed(const char *origin, const char *public_origins,
    const char *allowed)
{
	if (origin == NULL || origin[0] == '\0')
		return true;
	return creds_origin_match(origin, public_origins) ||
	    creds_origin_match(origin, allowed);
}

/* Parses a numeric address into 16 bytes (IPv4 as IPv4-mapped IPv6, so
 * that its prefix length is 96 more). Returns 0, or -1 when it is none. */
static int
addr_parse(const char *s, size_t len, unsigned char out[16], int *v4)
{
	char tmp[INET6_ADDRSTRLEN];
	struct in_addr a4;

	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (inet_pton(AF_INET, tmp, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		*v4 = 1;
		return 0;
	}
	*v4 = 0;
	return inet_pton(AF_INET6, tmp, out) == 1 ? 0 : -1;
}

bool
creds_addr_in_list(const char *addr, const char *list)
{
	unsigned char a[16], e[16];
	int v4;

	if (addr == NULL || list == NULL ||
	    addr_parse(addr, strlen(addr), a, &v4) != 0)
		return false;
	while (*list) {
		while (*list == ',' || isspace((unsigned char)*list))
			list++;
		const char *end = list;
		while (*end && *end != ',')
			end++;
		const char *last = end;
		while (last > list && isspace((unsigned char)last[-1]))
			last--;
		const char *slash = memchr(list, '/', (size_t)(last - list));
		const char *stop = slash != NULL ? slash : last;
		int bits = 128, ev4;
		if (addr_parse(list, (size_t)(stop - list), e, &ev4) == 0) {
			if (slash != NULL) {
				char *num_end = NULL;
				long b = strtol(slash + 1, &num_end, 10);
				int max = ev4 ? 32 : 128;
				if (num_end != last || slash + 1 == last || b < 0 ||
				    b > max)
					bits = -1;
				else
					bits = (int)b + (ev4 ? 96 : 0);
			}
			if (bits >= 0) {
				int full = bits / 8, rest = bits % 8;
				if (memcmp(a, e, (size_t)full) == 0 && (rest == 0 ||
				    ((a[full] ^ e[full]) &
				    (0xff << (8 - rest)) & 0xff) == 0))
					return true;
			}
		}
		list = end;
	}
	return false;
}

/* 1 when s[0..n) is an address's characters and fits. */
static int
addr_chars(const char *s, size_t n)
{
	if (n == 0 || n > CREDS_ADDR_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F') ||
		    s[i] == ':' || s[i] == '.'))
			return 0;
	return 1;
}

const char *
creds_client_addr(const char *remote_addr, const char *forwarded_for,
    const char *trusted_proxies, char *out, size_t cap)
{
	char hop[CREDS_ADDR_MAX + 1];
	const char *end;

	snprintf(out, cap, "%s", remote_addr != NULL && remote_addr[0] != '\0' ?
	    remote_addr : "-");
	if (forwarded_for == NULL || trusted_proxies == NULL ||
	    !creds_addr_in_list(out, trusted_proxies))
		return out;
	end = forwarded_for + strlen(forwarded_for);
	while (end > forwarded_for) {
		const char *start = end;
		while (start > forwarded_for && start[-1] != ',')
			start--;
		const char *a = start, *b = end;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (!addr_chars(a, (size_t)(b - a)))
			break;
		memcpy(hop, a, (size_t)(b - a));
		hop[b - a] = '\0';
		snprintf(out, cap, "%s", hop);
		if (!creds_addr_in_list(hop, trusted_proxies))
			break;   /* the first that is not a proxy: the client */
		end = start > forwarded_for ? start - 1 : start;
	}
	return out;
}

bool
creds_request_https(const char *https, const char *remote_addr,
    const char *forwarded_proto, const char *trusted_proxies)
{
	if (https != NULL && strcasecmp(https, "on") == 0)
		return true;
	if (forwarded_proto == NULL ||
	    !creds_addr_in_list(remote_addr, trusted_proxies))
		return false;
	while (isspace((unsigned char)*forwarded_proto))
		forwarded_proto++;
	size_t n = strlen(forwarded_proto);
	while (n > 0 && isspace((unsigned char)forwarded_proto[n - 1]))
		n--;
	return n == 5 && strncasecmp(forwarded_proto, "https", 5) == 0;
}
