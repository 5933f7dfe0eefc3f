/* upstream_http.c - one upstream's URLs, auth header and common libcurl
 * options (see upstream_http.h). */
#include "upstream_http.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"

#define MODEL_TOKEN "{model}"

int
uphttp_url(const struct lc_upstream *up, const char *model, const char *tail,
    char *url, size_t cap)
{
	const char *base = up->base_url != NULL ? up->base_url : "";
	const char *ver = up->api_version != NULL ? up->api_version : "";
	size_t blen = strlen(base);
	struct lc_buf b;
	char *esc = NULL;
	int rc = -1;

	buf_init(&b, cap - 1);
	if (model == NULL) {
		const char *tok = strstr(base, MODEL_TOKEN);
		if (tok != NULL) {
			const char *dep = strstr(base, "/deployments/");
			if (dep != NULL && dep < tok)
				blen = (size_t)(dep - base);
			else {
				blen = (size_t)(tok - base);
				while (blen > 0 && base[blen - 1] != '/')
					blen--;
			}
		}
	}
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	if (model != NULL &&
	    (esc = curl_easy_escape(NULL, model, 0)) == NULL)
		goto out;
	for (size_t i = 0; i < blen;) {
		if (esc != NULL && strncmp(base + i, MODEL_TOKEN,
		    strlen(MODEL_TOKEN)) == 0 && i + strlen(MODEL_TOKEN) <= blen) {
			if (buf_append_str(&b, esc) != LC_BUF_OK)
				goto out;
			i += strlen(MODEL_TOKEN);
			continue;
		}
		if (buf_append(&b, base + i, 1) != LC_BUF_OK)
			goto out;
		i++;
	}
	if (buf_append_str(&b, "/") != LC_BUF_OK ||
	    buf_append_str(&b, tail) != LC_BUF_OK)
		goto out;
	if (ver[0] != '\0') {
		char *v = curl_easy_escape(NULL, ver, 0);
		int r = v == NULL ? -1 :
		    buf_append_str(&b, strchr(buf_str(&b), '?') != NULL ?
		    "&api-version=" : "?api-version=") != LC_BUF_OK ? -1 :
		    buf_append_str(&b, v) != LC_BUF_OK ? -1 : 0;
		curl_free(v);
		if (r != 0)
			goto out;
	}
	if (b.len == 0 || b.len >= cap)
		goto out;
	memcpy(url, b.data, b.len + 1);
	rc = 0;
out:
	curl_free(esc);
	buf_free(&b);
	return rc;
}

int
uphttp_auth(const struct lc_upstream *up, struct curl_slist **headers)
{
	char line[1200];
	struct curl_slist *h;
	int n;

	if (up->api_key == NULL || up->api_key[0] == '\0')
		return 0;
	if (up->auth == MODELS_AUTH_API_KEY)
		n = snprintf(line, sizeof(line), "api-key: %s", up->api_key);
	else
		n = snprintf(line, sizeof(line), "Authorization: Bearer %s",
		    up->api_key);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		explicit_bzero(line, sizeof(line));
		return -1;
	}
	h = curl_slist_append(*headers, line);
	explicit_bzero(line, sizeof(line));
	if (h == NULL)
		return -1;
	*headers = h;
	return 0;
}

int
uphttp_setup(CURL *easy, const struct lc_upstream *up, const char *url,
    struct curl_slist *headers, char *errbuf, long total)
{
	if (total <= 0)
		total = up->total_timeout;
	if (curl_easy_setopt(easy, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    /* Redirects are not followed: a request with a key must not
	     * wander. */
	    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT,
	    up->connect_timeout) != CURLE_OK ||
	    /* A stream silent for idle_timeout seconds is hung. */
	    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, up->idle_timeout) !=
	    CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_TIMEOUT, total) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_USERAGENT, "lightchat/0.1") !=
	    CURLE_OK ||
	    /* libcurl's receive buffer, one per transfer: an event stream's
	     * reads are a few hundred bytes, and 4 kB instead of the default
	     * 16 kB is UPHTTP_RECV_BUFFER's saving per stream (docs/
	     * ARCHITECTURE.md "Memory per connection"). */
	    curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, UPHTTP_RECV_BUFFER) !=
	    CURLE_OK)
		return -1;
	return 0;
}
