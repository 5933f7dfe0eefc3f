/* attachments.c - the REST API over a user's uploaded files:
 *   POST   /api/attachments?name=NAME   the raw bytes as the body: kept
 *                                       when their content (not the name,
 *                                       not the Content-Type) is an image,
 *                                       UTF-8 text, or a PDF with text
 *   GET    /api/attachments/ID          the bytes with their mime type
 *   DELETE /api/attachments/ID          an unused one
 * Another user's attachment is a 404, as is one that does not exist.
 * route.c has checked the user, the id's shape and the database first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "log.h"
#include "pages.h"
#include "pdftext.h"
#include "sniff.h"
#include "store.h"
#include "utf8.h"

static int
store_error(struct http_req *r, int rc)
{
	if (rc == STORE_NOT_FOUND)
		return http_send_error(r, 404, "not_found", "No such attachment");
	return http_send_error(r, 500, "storage_error",
	    "The database failed; try again");
}

/* Takes the file name from the query: its last path component, valid
 * UTF-8 without control characters, 1..STORE_ATTACH_NAME_MAX bytes.
 * Returns 0 or -1. */
static int
file_name(struct http_req *r, char out[STORE_ATTACH_NAME_MAX + 1])
{
	char raw[1024];
	const char *base;
	size_t n;

	if (http_query(r, "name", raw, sizeof(raw)) != 1)
		return -1;
	base = raw;
	for (const char *p = raw; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	n = strlen(base);
	if (n == 0 || n > STORE_ATTACH_NAME_MAX ||
	    utf8_valid_prefix(base, n) != n || utf8_ctl_find(base, n, "") != n)
		return -1;
	memcpy(out, base, n + 1);
	return 0;
}

/* Refuses an upload that would leave less than storage_reserve free on the
 * database's filesystem (the worker's rule for prompts, prompt.c): 507
 * storage_full. Returns 0 when len bytes fit, else the send result with
 * *sent set. */
static int
disk_full(struct http_req *r, const char *user, long long len, int *sent)
{
	struct statvfs vfs;
	long long avail;

	*sent = 0;
	if (r->cfg->storage_reserve <= 0 ||
	    statvfs(r->cfg->database, &vfs) != 0)
		return 0;
	avail = (long long)vfs.f_bavail * (long long)vfs.f_frsize;
	if (avail >= r->cfg->storage_reserve + len)
		return 0;
	log_warn("storage nearly full: %lld bytes free, reserve %ld; "
	    "attachment refused user=%s", avail, r->cfg->storage_reserve, user);
	*sent = 1;
	return http_send_error(r, 507, "storage_full", "the server's storage "
	    "is nearly full; try again later");
}

/* Refuses past the user's storage quota. Returns 0 when len bytes more fit,
 * else the send result of the refusal, or 1 when sent. */
static int
over_quota(struct http_req *r, const char *user, long long len, int *sent)
{
	struct store_usage u;
	long long quota = -1;
	char m[256];
	int rc = store_quota_get(r->store, user, &quota);

	*sent = 0;
	if (rc == STORE_NOT_FOUND)
		quota = r->cfg->user_storage_quota;
	if (rc != STORE_ERR)
		rc = store_quota_usage(r->store, user, &u);
	if (rc == STORE_ERR) {
		*sent = 1;
		return store_error(r, STORE_ERR);
	}
	if (quota > 0 && u.bytes + len > quota) {
		snprintf(m, sizeof(m), "your storage quota is used up: %lld of "
		    "%lld bytes stored (user_storage_quota), this file needs "
		    "%lld; delete conversations to make room", u.bytes, quota,
		    len);
		log_info("attachment refused user=%s: quota %lld bytes, %lld "
		    "stored", user, quota, u.bytes);
		*sent = 1;
		return http_send_error(r, 413, "quota_exceeded", m);
	}
	return 0;
}

/* A PDF's text into text (bounded by attachment_text_max). Returns 0, or
 * the send result of the refusal with *sent set. */
static int
pdf_text(struct http_req *r, const struct lc_buf *body, struct lc_buf *text,
    int *sent)
{
	struct lc_buf raw;
	char m[200];
	int rc;

	*sent = 1;
	buf_init(&raw, (size_t)r->cfg->attachment_text_max);
	rc = pdftext(r->cfg->pdftotext, body->data, body->len,
	    (int)r->cfg->pdftotext_timeout, &raw);
	switch (rc) {
	case PDFTEXT_OK:
		break;
	case PDFTEXT_MISSING:
		rc = http_send_error(r, 415, "unsupported_media_type",
		    "PDF files need pdftotext (Debian's poppler-utils), which "
		    "this server does not have");
		goto out;
	case PDFTEXT_TOO_BIG:
		snprintf(m, sizeof(m), "the PDF's text is over %ld bytes "
		    "(attachment_text_max)", r->cfg->attachment_text_max);
		rc = http_send_error(r, 413, "too_large", m);
		goto out;
	case PDFTEXT_TIMEOUT:
		snprintf(m, sizeof(m), "the PDF's text could not be read in "
		    "%ld s (pdftotext_timeout)", r->cfg->pdftotext_timeout);
		rc = http_send_error(r, 415, "unsupported_media_type", m);
		goto out;
	default:
		rc = http_send_error(r, 415, "unsupported_media_type",
		    "the PDF's text could not be read");
		goto out;
	}
	/* pdftotext writes UTF-8; whatever it let through is made valid. */
	if (utf8_append_sanitized(text, raw.data ? raw.data : "", raw.len) !=
	    LC_BUF_OK) {
		snprintf(m, sizeof(m), "the PDF's text is over %ld bytes "
		    "(attachment_text_max)", r->cfg->attachment_text_max);
		rc = http_send_error(r, 413, "too_large", m);
		goto out;
	}
	if (text->len == 0 || strspn(text->data, " \t\r\n\f") == text->len) {
		rc = http_send_error(r, 415, "unsupported_media_type",
		    "the PDF has no text (a scanned one?)");
		goto out;
	}
	*sent = 0;
	rc = 0;
out:
	buf_free(&raw);
	return rc;
}

int
page_attach_upload(struct http_req *r, const struct route_ctx *ctx)
{
	struct store_attach a;
	struct lc_buf body, text;
	struct sniff sn;
	const struct lc_buf *keep = &body;
	char m[256];
	long clen = -1;
	int rc, status, sent;
	cJSON *json = NULL;

	memset(&a, 0, sizeof(a));
	buf_init(&body, (size_t)r->cfg->attachment_max_bytes);
	buf_init(&text, (size_t)r->cfg->attachment_text_max);
	if (file_name(r, a.name) != 0) {
		rc = http_send_error(r, 400, "invalid_request", "?name= must "
		    "give the file's name (1 to 255 bytes of UTF-8 text)");
		goto out;
	}
	status = http_read_raw(r, &body, &clen);
	if (status == 413) {
		snprintf(m, sizeof(m), "the file is %ld bytes; an attachment "
		    "may have at most %ld (attachment_max_bytes)", clen,
		    r->cfg->attachment_max_bytes);
		rc = http_send_error(r, 413, "too_large", m);
		goto out;
	}
	if (status != 0) {
		rc = http_send_error(r, status, "invalid_request",
		    http_reason(status));
		goto out;
	}
	switch (sniff(body.data, body.len, &sn)) {
	case SNIFF_IMAGE:
		snprintf(a.kind, sizeof(a.kind), "image");
		a.width = sn.width;
		a.height = sn.height;
		break;
	case SNIFF_TEXT:
		if (body.len > (size_t)r->cfg->attachment_text_max) {
			snprintf(m, sizeof(m), "the text is %zu bytes; a text "
			    "attachment may have at most %ld "
			    "(attachment_text_max)", body.len,
			    r->cfg->attachment_text_max);
			rc = http_send_error(r, 413, "too_large", m);
			goto out;
		}
		snprintf(a.kind, sizeof(a.kind), "text");
		break;
	case SNIFF_PDF:
		rc = pdf_text(r, &body, &text, &sent);
		if (sent)
			goto out;
		snprintf(a.kind, sizeof(a.kind), "text");
		keep = &text;
		break;
	default:
		log_info("attachment refused user=%s name=%s: %s", ctx->user,
		    a.name, sn.why);
		snprintf(m, sizeof(m), "%.120s: %s", a.name, sn.why);
		rc = http_send_error(r, 415, "unsupported_media_type", m);
		goto out;
	}
	snprintf(a.mime, sizeof(a.mime), "%s",
	    sn.kind == SNIFF_IMAGE ? sn.mime : "text/plain");
	/* The day-old unused ones of anyone go first: an upload is when
	 * storage is wanted. */
	if (store_attach_purge(r->store, STORE_ATTACH_KEEP_MS) > 0)
		log_info("unused attachments purged");
	rc = over_quota(r, ctx->user, (long long)keep->len, &sent);
	if (sent)
		goto out;
	rc = disk_full(r, ctx->user, (long long)keep->len, &sent);
	if (sent)
		goto out;
	rc = store_attach_add(r->store, ctx->user, &a, keep->data, keep->len);
	if (rc != STORE_OK) {
		rc = store_error(r, rc);
		goto out;
	}
	log_info("attachment stored user=%s id=%s kind=%s bytes=%lld",
	    ctx->user, a.id, a.kind, a.bytes);
	if ((json = store_attach_json(&a, 0)) == NULL) {
		rc = http_send_error(r, 500, "internal_error", "Out of memory");
		goto out;
	}
	rc = http_send_json(r, 201, json);
out:
	cJSON_Delete(json);
	buf_free(&body);
	buf_free(&text);
	return rc;
}

int
page_attach_get(struct http_req *r, const struct route_ctx *ctx)
{
	struct store_attach a;
	int rc = store_attach_get(r->store, ctx->id, ctx->user, 1, &a);

	if (rc != STORE_OK)
		return store_error(r, rc);
	http_add_header(r, "Cache-Control: private");
	rc = http_send(r, 200, strcmp(a.kind, "text") == 0 ?
	    "text/plain; charset=utf-8" : a.mime, a.data, (size_t)a.bytes);
	free(a.data);
	return rc;
}

int
page_attach_delete(struct http_req *r, const struct route_ctx *ctx)
{
	int rc = store_attach_delete(r->store, ctx->id, ctx->user);

	if (rc == STORE_INVALID)
		return http_send_error(r, 409, "in_use", "A message uses this "
		    "attachment: it goes with its conversation");
	if (rc != STORE_OK)
		return store_error(r, rc);
	log_info("attachment deleted user=%s id=%s", ctx->user, ctx->id);
	return http_send(r, 204, NULL, NULL, 0);
}
