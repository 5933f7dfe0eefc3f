/* http.c - FastCGI request and response helpers. */
#include "http.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "creds.h"
#include "log.h"
#include "session_check.h"

const char *
http_param(const struct http_req *r, const char *name)
{
	return FCGX_GetParam(name, r->fcgi->envp);
}

const char *
http_unprefix(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	if (n <= 1 || prefix[n - 1] != '/')
		return path;
	if (strncmp(path, prefix, n - 1) != 0)
		return path;
	if (path[n - 1] == '\0')
		return "/";
	return path[n - 1] == '/' ? path + n - 1 : path;
}

int
http_secure(const struct http_req *r)
{
	return r->cfg->cookie_secure ||
	    creds_request_https(http_param(r, "HTTPS"),
	    http_param(r, "REMOTE_ADDR"), http_param(r, "HTTP_X_FORWARDED_PROTO"),
	    r->cfg->trusted_proxies);
}

int
http_req_init(struct http_req *r, FCGX_Request *fcgi,
    const struct lc_config *cfg, const struct lc_token_key *key)
{
	const char *uri, *q;
	size_t n;

	memset(r, 0, sizeof(*r));
	r->fcgi = fcgi;
	r->cfg = cfg;
	r->key = key;
	r->method = http_param(r, "REQUEST_METHOD");
	if (r->method == NULL)
		r->method = "";
	uri = http_param(r, "REQUEST_URI");
	if (uri == NULL)
		uri = "";
	q = strchr(uri, '?');
	n = q != NULL ? (size_t)(q - uri) : strlen(uri);
	if (n >= sizeof(r->path))
		return 414;
	memcpy(r->path, uri, n);
	r->path[n] = '\0';
	/* Mounted under url_prefix: the routes are the same below it. */
	const char *rest = http_unprefix(r->path, cfg->url_prefix);
	if (rest != r->path)
		memmove(r->path, rest, strlen(rest) + 1);
	r->origin = http_param(r, "HTTP_ORIGIN");
	/* Against the configured origins, never the Host header. */
	r->origin_allowed = creds_origin_allowed(r->origin, cfg->public_origin,
	    cfg->allowed_origins);
	r->cross_origin = r->origin != NULL && r->origin[0] != '\0' &&
	    r->origin_allowed &&
	    !creds_origin_match(r->origin, cfg->public_origin);
	creds_client_addr(http_param(r, "REMOTE_ADDR"),
	    http_param(r, "HTTP_X_FORWARDED_FOR"), cfg->trusted_proxies,
	    r->client, sizeof(r->client));
	return 0;
}

int
http_add_header(struct http_req *r, const char *fmt, ...)
{
	size_t room = sizeof(r->headers) - r->headers_len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(r->headers + r->headers_len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n + 2 >= room) {
		r->headers[r->headers_len] = '\0';
		log_err("response header dropped: no room");
		return -1;
	}
	r->headers_len += (size_t)n;
	memcpy(r->headers + r->headers_len, "\r\n", 3);
	r->headers_len += 2;
	return 0;
}

/* Reads len bytes of the body into body. Returns 0, 400 or 413. */
static int
read_exactly(struct http_req *r, struct lc_buf *body, long len)
{
	char chunk[4096];

	while (body->len < (size_t)len) {
		size_t want = (size_t)len - body->len;
		if (want > sizeof(chunk))
			want = sizeof(chunk);
		int got = FCGX_GetStr(chunk, (int)want, r->fcgi->in);
		if (got <= 0)
			return 400;
		if (buf_append(body, chunk, (size_t)got) != LC_BUF_OK)
			return 413;
	}
	return 0;
}

int
http_read_raw(struct http_req *r, struct lc_buf *body, long *clen_out)
{
	const char *clen = http_param(r, "CONTENT_LENGTH");
	char *end = NULL;
	long len;

	if (clen_out != NULL)
		*clen_out = -1;
	if (clen == NULL || clen[0] == '\0')
		return 411;
	len = strtol(clen, &end, 10);
	if (end == clen || *end != '\0' || len < 0)
		return 400;
	if (clen_out != NULL)
		*clen_out = len;
	if ((size_t)len > body->max)
		return 413;
	return read_exactly(r, body, len);
}

int
http_read_body(struct http_req *r, struct lc_buf *body)
{
	const char *clen = http_param(r, "CONTENT_LENGTH");
	const char *ctype = http_param(r, "CONTENT_TYPE");
	char *end = NULL;
	long len;

	if (clen == NULL || clen[0] == '\0')
		return 411;
	len = strtol(clen, &end, 10);
	if (end == clen || *end != '\0' || len < 0)
		return 400;
	if (len > r->cfg->max_body)
		return 413;
	if (ctype == NULL || strncasecmp(ctype, "application/json", 16) != 0 ||
	    (ctype[16] != '\0' && ctype[16] != ';'))
		return 415;
	return read_exactly(r, body, len);
}

int
http_query(const struct http_req *r, const char *name, char *out,
    size_t outcap)
{
	const char *q = http_param(r, "QUERY_STRING");
	size_t nlen = strlen(name);

	if (q == NULL)
		return 0;
	while (*q) {
		size_t len = strcspn(q, "&");
		if (len > nlen && strncmp(q, name, nlen) == 0 && q[nlen] == '=')
			return creds_url_decode(q + nlen + 1, len - nlen - 1, out,
			    outcap) < 0 ? -1 : 1;
		q += len + (q[len] == '&');
	}
	return 0;
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 409: return "Conflict";
	case 503: return "Service Unavailable";
	case 507: return "Insufficient Storage";
	}
	return "Unknown";
}

int
http_send(struct http_req *r, int status, const char *ctype, const char *body,
    size_t len)
{
	/* snprintf, not FCGX_FPrintF: libfcgi's own formatter lacks %zu. */
	char head[HTTP_EXTRA_HEADERS_MAX + 512];
	int n = snprintf(head, sizeof(head),
	    "Status: %d %s\r\n"
	    "Cache-Control: no-store\r\n"
	    "%s", status, http_reason(status), r->headers);

	if (n > 0 && (size_t)n < sizeof(head) && body != NULL)
		n += snprintf(head + n, sizeof(head) - (size_t)n,
		    "Content-Type: %s\r\n"
		    "Content-Length: %zu\r\n\r\n", ctype, len);
	else if (n > 0 && (size_t)n < sizeof(head))
		n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
	if (n < 0 || (size_t)n >= sizeof(head) || len > INT_MAX ||
	    FCGX_PutStr(head, n, r->fcgi->out) < 0 ||
	    (body != NULL && FCGX_PutStr(body, (int)len, r->fcgi->out) < 0))
		return -1;
	return 0;
}

int
http_send_head(struct http_req *r, int status, const char *ctype)
{
	char head[HTTP_EXTRA_HEADERS_MAX + 512];
	int n = snprintf(head, sizeof(head),
	    "Status: %d %s\r\n"
	    "Cache-Control: no-store\r\n"
	    "%s"
	    "Content-Type: %s\r\n\r\n", status, http_reason(status),
	    r->headers, ctype);

	if (n < 0 || (size_t)n >= sizeof(head) ||
	    FCGX_PutStr(head, n, r->fcgi->out) < 0)
		return -1;
	return 0;
}

int
http_write(struct http_req *r, const char *data, size_t len)
{
	while (len > 0) {
		int n = len > INT_MAX ? INT_MAX : (int)len;
		if (FCGX_PutStr(data, n, r->fcgi->out) < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int
http_send_json(struct http_req *r, int status, const cJSON *json)
{
	char *body = NULL;
	int rc;

	if (json != NULL) {
		body = cJSON_PrintUnformatted(json);
		if (body == NULL) {
			log_err("out of memory printing a response");
			return http_send(r, 500, NULL, NULL, 0);
		}
	}
	rc = http_send(r, status, "application/json", body,
	    body != NULL ? strlen(body) : 0);
	free(body);
	return rc;
}

int
http_send_error(struct http_req *r, int status, const char *code,
    const char *message)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *err = cJSON_AddObjectToObject(root, "error");
	int rc;

	if (err == NULL || cJSON_AddStringToObject(err, "code", code) == NULL ||
	    cJSON_AddStringToObject(err, "message", message) == NULL) {
		cJSON_Delete(root);
		return http_send_json(r, 500, NULL);
	}
	rc = http_send_json(r, status, root);
	cJSON_Delete(root);
	return rc;
}

int
http_authenticate(const struct http_req *r, char user[LC_USER_MAX + 1],
    long *exp, char *sid)
{
	char token[LC_TOKEN_MAX + 1];
	int found = creds_cookie(http_param(r, "HTTP_COOKIE"), LC_COOKIE_NAME,
	    token, sizeof(token));

	user[0] = '\0';
	if (found == 0)
		found = creds_bearer(http_param(r, "HTTP_AUTHORIZATION"), token,
		    sizeof(token));
	if (found != 1)
		return LC_TOKEN_MALFORMED;
	int t = session_verify(r->key, r->store, r->cfg, token, time(NULL), 1,
	    user, exp, sid);
	explicit_bzero(token, sizeof(token));
	return t;
}
