/* reply.c - the life of a reply: stored before it starts, streamed to the
 * session that asked and to every session watching its conversation, saved
 * as it grows, and finished (complete, stopped, error or interrupted) in the
 * store. A reply outlives the session that asked for it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "log.h"
#include "loop.h"
#include "monotime.h"
#include "utf8.h"
#include "worker_int.h"

#define TITLE_MAX 60   /* bytes of a title made from the first prompt */

/* Sends frame (freed here) to the origin (if it wants it and is there)
 * and to every other session watching the conversation. */
static void
broadcast(struct reply *r, char *frame, int to_origin)
{
	struct worker *w = r->w;

	if (frame == NULL) {
		log_err("out of memory building a frame");
		return;
	}
	if (to_origin && !r->origin_gone) {
		char *copy = strdup(frame);
		if (worker_send_line(w, &r->origin, copy) != 0)
			r->origin_gone = 1;
	}
	if (r->conversation_id[0] != '\0') {
		for (struct watcher *x = w->watchers; x != NULL; x = x->next) {
			if (strcmp(x->conversation_id, r->conversation_id) != 0 ||
			    strcmp(x->user, r->user) != 0 ||
			    peer_equal(&x->peer, &r->origin))
				continue;
			worker_send_line(w, &x->peer, strdup(frame));
		}
	}
	free(frame);
}

static void
on_delta(void *owner, const char *text)
{
	struct reply *r = owner;

	/* Watchers always get deltas; the origin only when it asked. */
	char *f = frame_delta(r->msgid, r->conversation_id, text);
	broadcast(r, f, r->origin_stream);
}

static void
reply_unlink(struct reply *r)
{
	struct worker *w = r->w;

	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		w->replies = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	w->nreplies--;
	if (r->call.easy != NULL)
		curl_multi_remove_handle(w->multi, r->call.easy);
	upstream_free(&r->call);
	free(r);
}

/* Saves r's text in the store with state (and usage, error when known).
 * A final state also touches the conversation, in the same transaction. */
static void
save(struct reply *r, const char *state, const char *error_code)
{
	struct store_usage u;
	int final = strcmp(state, STORE_STREAMING) != 0, tx = 0;

	if (r->msg_row == 0)
		return;
	if (final)
		tx = store_begin(r->w->store) == STORE_OK;
	u.present = r->call.usage.present;
	u.prompt_tokens = r->call.usage.prompt_tokens;
	u.completion_tokens = r->call.usage.completion_tokens;
	u.total_tokens = r->call.usage.total_tokens;
	if (store_msg_update(r->w->store, r->msg_row, buf_str(&r->call.content),
	    r->call.content.len, state, &u, error_code) != STORE_OK)
		log_err("reply %s: could not save msgid=%.40s", state, r->msgid);
	else
		r->flushed = r->call.content.len;
	if (final &&
	    store_conv_touch(r->w->store, r->conversation_id, r->model, NULL) !=
	    STORE_OK)
		log_err("could not update conversation %s", r->conversation_id);
	if (tx && store_commit(r->w->store) != STORE_OK)
		log_err("reply %s: could not save msgid=%.40s", state, r->msgid);
}

/* Sends the final frame, saves, logs and frees r. */
static void
finish(struct reply *r, const struct upstream_outcome *o, const char *state,
    const char *finish_reason)
{
	struct worker *w = r->w;
	char *frame;

	if (o == NULL || o->code == NULL) {
		frame = frame_reply(r->msgid, r->conversation_id,
		    buf_str(&r->call.content), r->model, finish_reason,
		    &r->call.usage);
	} else {
		struct frame_error e = { r->msgid, r->conversation_id, o->code,
		    o->message, NULL, o->status, o->retry_after,
		    r->call.content.len > 0 ? buf_str(&r->call.content) : NULL };
		frame = frame_error(&e);
	}
	save(r, state, o != NULL ? o->code : NULL);
	log_info("reply %s user=%s msgid=%.40s conversation=%s model=%s "
	    "status=%ld bytes=%zu ms=%ld%s%s%s", state, r->user, r->msgid,
	    r->conversation_id[0] ? r->conversation_id : "-", r->model,
	    o != NULL ? o->status : 0, r->call.content.len,
	    monotime_ms_since(&r->started),
	    r->origin_gone ? " client=gone" : "",
	    o != NULL && o->code ? " error=" : "",
	    o != NULL && o->code ? o->code : "");
	broadcast(r, frame, 1);
	reply_unlink(r);
	if (w->draining && w->nreplies == 0)
		w->drained = 1;
}

void
reply_done(struct reply *r, CURLcode result)
{
	struct upstream_outcome o;

	upstream_outcome(&r->call, result, &o);
	finish(r, &o, o.code == NULL ? STORE_COMPLETE : STORE_ERROR,
	    r->call.finish_reason[0] ? r->call.finish_reason : "stop");
}

void
reply_stop(struct reply *r)
{
	finish(r, NULL, STORE_STOPPED, "stopped");
}

void
reply_interrupt(struct reply *r)
{
	struct upstream_outcome o;

	memset(&o, 0, sizeof(o));
	o.retry_after = -1;
	o.code = "worker_unavailable";
	snprintf(o.message, sizeof(o.message),
	    "the server restarted during this reply; regenerate it");
	finish(r, &o, STORE_INTERRUPTED, NULL);
}

void
reply_flush_all(struct worker *w)
{
	struct reply *r;
	int tx = 0;

	/* Every growing reply in one transaction: one commit per tick. */
	for (r = w->replies; r != NULL; r = r->next) {
		if (r->msg_row == 0 || r->call.content.len == r->flushed)
			continue;
		if (!tx)
			tx = store_begin(w->store) == STORE_OK ? 1 : -1;
		save(r, STORE_STREAMING, NULL);
	}
	if (tx == 1 && store_commit(w->store) != STORE_OK) {
		log_err("could not save the replies in progress");
		/* Rolled back: save them all again at the next tick. */
		for (r = w->replies; r != NULL; r = r->next)
			if (r->msg_row != 0)
				r->flushed = (size_t)-1;
	}
}

struct reply *
reply_find(struct worker *w, const char *user, const char *msgid,
    const char *conversation_id)
{
	for (struct reply *r = w->replies; r != NULL; r = r->next) {
		if (strcmp(r->user, user) != 0)
			continue;
		if (msgid != NULL && strcmp(r->msgid, msgid) == 0)
			return r;
		if (conversation_id != NULL && conversation_id[0] != '\0' &&
		    strcmp(r->conversation_id, conversation_id) == 0)
			return r;
	}
	return NULL;
}

void
reply_peer_gone(struct worker *w, const struct peer *p)
{
	for (struct reply *r = w->replies; r != NULL; r = r->next)
		if (peer_equal(&r->origin, p))
			r->origin_gone = 1;
}

void
reply_snapshot(struct worker *w, const struct peer *p, const char *user,
    const char *conversation_id)
{
	struct reply *r = reply_find(w, user, NULL, conversation_id);

	if (r == NULL)
		worker_send_line(w, p, frame_idle(conversation_id));
	else
		worker_send_line(w, p, frame_snapshot(r->msgid,
		    r->conversation_id, r->model, buf_str(&r->call.content)));
}

/* Makes a title from the first line of a prompt, cut on a UTF-8 boundary. */
static void
make_title(const char *prompt, char *out, size_t cap)
{
	size_t n = 0;

	while (*prompt == ' ' || *prompt == '\n' || *prompt == '\t' ||
	    *prompt == '\r')
		prompt++;
	while (prompt[n] != '\0' && prompt[n] != '\n' && prompt[n] != '\r')
		n++;
	if (n > TITLE_MAX)
		n = utf8_valid_prefix(prompt, TITLE_MAX);
	while (n > 0 && (prompt[n - 1] == ' ' || prompt[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= cap) {
		snprintf(out, cap, "New chat");
		return;
	}
	for (size_t i = 0; i < n; i++)  /* no control characters in titles */
		out[i] = (unsigned char)prompt[i] < 0x20 ? ' ' : prompt[i];
	out[n] = '\0';
}

/* Stores a seed-shaped request: it continues the conversation whose
 * messages the client re-sent, or starts one. Best effort: a failure is
 * logged and the reply is served unstored. Sets conv to "" then. */
static void
store_seed(struct worker *w, const char *user, const struct chat_request *req,
    char conv[STORE_ID_LEN + 1], char *title, size_t titlecap)
{
	struct store *s = w->store;
	int n = cJSON_GetArraySize(req->messages);
	const cJSON *last = cJSON_GetArrayItem(req->messages, n - 1);
	const cJSON *lrole = cJSON_GetObjectItemCaseSensitive(last, "role");
	const cJSON *lcontent = cJSON_GetObjectItemCaseSensitive(last,
	    "content");
	cJSON *history = NULL;
	const cJSON *m;
	int rc;

	conv[0] = '\0';
	if (!cJSON_IsString(lrole) || strcmp(lrole->valuestring, "user") != 0)
		return;  /* nothing new to store */
	history = cJSON_Duplicate(req->messages, 1);
	if (history == NULL)
		return;
	cJSON_DeleteItemFromArray(history, n - 1);
	make_title(lcontent->valuestring, title, titlecap);
	rc = context_find_transcript(s, user, history, conv);
	if (rc == STORE_NOT_FOUND) {
		const char *sys = "";
		cJSON_ArrayForEach(m, history) {
			const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "role");
			if (strcmp(r->valuestring, "system") == 0) {
				sys = cJSON_GetObjectItemCaseSensitive(m,
				    "content")->valuestring;
				break;
			}
		}
		const cJSON *first_user = NULL;
		cJSON_ArrayForEach(m, req->messages) {
			const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "role");
			if (strcmp(r->valuestring, "user") == 0) {
				first_user = m;
				break;
			}
		}
		make_title(cJSON_GetObjectItemCaseSensitive(first_user,
		    "content")->valuestring, title, titlecap);
		rc = store_conv_create(s, user, title, req->model, sys, conv);
		cJSON_ArrayForEach(m, history) {
			const char *r = cJSON_GetObjectItemCaseSensitive(m,
			    "role")->valuestring;
			const char *c = cJSON_GetObjectItemCaseSensitive(m,
			    "content")->valuestring;
			if (rc == STORE_OK && strcmp(r, "system") != 0)
				rc = store_msg_add(s, conv, r, c, strlen(c),
				    STORE_COMPLETE, "", NULL);
		}
	}
	if (rc == STORE_OK)
		rc = store_msg_add(s, conv, "user", lcontent->valuestring,
		    strlen(lcontent->valuestring), STORE_COMPLETE, "", NULL);
	if (rc != STORE_OK) {
		log_err("could not store a seed-style prompt user=%s", user);
		conv[0] = '\0';
	}
	cJSON_Delete(history);
}

/* Prepares the stored conversation for req: creates it or checks it is
 * user's, applies edit/regenerate, adds the prompt, and builds the context.
 * Returns 0 with *messages set, or -1 after sending an error. */
static int
store_conversation(struct worker *w, const struct peer *p, const char *user,
    struct chat_request *req, int regenerate, char *title, size_t titlecap,
    int *replaced, cJSON **messages)
{
	struct store *s = w->store;
	char *conv = req->conversation_id;
	int rc;

	*replaced = 0;
	*messages = NULL;
	if (conv[0] == '\0') {
		make_title(req->prompt, title, titlecap);
		rc = store_conv_create(s, user, title, req->model,
		    req->system != NULL ? req->system : "", conv);
	} else {
		rc = store_conv_owned(s, conv, user);
		if (rc == STORE_NOT_FOUND) {
			worker_send_error(w, p, req->msgid, "not_found",
			    "no such conversation", "conversation_id");
			return -1;
		}
		if (rc == STORE_OK && (regenerate || req->edit_last)) {
			rc = store_drop_last_turn(s, conv, !regenerate);
			if (rc == STORE_NOT_FOUND) {
				worker_send_error(w, p, req->msgid,
				    "nothing_to_replace", "the conversation "
				    "does not end with a reply", NULL);
				return -1;
			}
			*replaced = regenerate ? 1 : 2;
		}
		if (rc == STORE_OK)
			rc = store_conv_touch(s, conv, req->model, req->system);
		title[0] = '\0';
	}
	if (rc == STORE_OK && !regenerate)
		rc = store_msg_add(s, conv, "user", req->prompt,
		    strlen(req->prompt), STORE_COMPLETE, "", NULL);
	if (rc == STORE_OK)
		rc = context_build(s, conv, (size_t)w->cfg->context_budget,
		    (int)w->cfg->max_messages, messages);
	if (rc != STORE_OK) {
		worker_send_error(w, p, req->msgid, "storage_error",
		    "the conversation could not be saved; try again", NULL);
		return -1;
	}
	return 0;
}

static long
count_user_replies(struct worker *w, const char *user)
{
	long n = 0;

	for (struct reply *r = w->replies; r != NULL; r = r->next)
		n += strcmp(r->user, user) == 0;
	return n;
}

void
reply_start(struct worker *w, const struct peer *p, const char *user,
    struct chat_request *req, int regenerate)
{
	char title[STORE_TITLE_MAX + 1] = "";
	struct reply *r = NULL;
	cJSON *messages = NULL;
	char *body = NULL;
	long long msg_row = 0;
	int replaced = 0, tx;

	if (w->draining) {
		worker_send_error(w, p, req->msgid, "server_busy",
		    "the server is restarting; try again in a moment", NULL);
		return;
	}
	if (reply_find(w, user, req->msgid, NULL) != NULL) {
		worker_send_error(w, p, req->msgid, "duplicate_msgid",
		    "a reply with this msgid is already in progress", "msgid");
		return;
	}
	if (req->conversation_id[0] != '\0' &&
	    reply_find(w, user, NULL, req->conversation_id) != NULL) {
		worker_send_error(w, p, req->msgid, "conversation_busy",
		    "a reply is already being written in this conversation; "
		    "stop it or wait", NULL);
		return;
	}
	if (count_user_replies(w, user) >= w->cfg->max_inflight_per_user) {
		worker_send_error(w, p, req->msgid, "too_many_requests",
		    "too many replies in progress; wait for one to finish", NULL);
		return;
	}
	if (w->nreplies >= w->cfg->max_inflight) {
		log_warn("busy: %ld replies in flight", w->nreplies);
		worker_send_error(w, p, req->msgid, "server_busy",
		    "the server is busy; try again in a moment", NULL);
		return;
	}
	/* The prompt's writes (conversation, prompt, the reply's row) are one
	 * transaction: one commit instead of up to four. Without it (no
	 * database, or BEGIN failed) each write commits alone, as before. */
	tx = w->store != NULL && store_begin(w->store) == STORE_OK;
	if (req->seed) {
		store_seed(w, user, req, req->conversation_id, title,
		    sizeof(title));
		body = req->body;
		req->body = NULL;
	} else {
		if (store_conversation(w, p, user, req, regenerate, title,
		    sizeof(title), &replaced, &messages) != 0) {
			if (tx)
				store_rollback(w->store);
			return;
		}
		body = request_body(req, messages);
		cJSON_Delete(messages);
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL || body == NULL) {
		if (tx)
			store_rollback(w->store);
		free(body);
		free(r);
		worker_send_error(w, p, req->msgid, "server_error",
		    "out of memory", NULL);
		return;
	}
	if (req->conversation_id[0] != '\0' &&
	    store_msg_add(w->store, req->conversation_id, "assistant", "", 0,
	    STORE_STREAMING, req->model, &msg_row) != STORE_OK)
		log_err("could not store the reply msgid=%.40s", req->msgid);
	if (tx && store_commit(w->store) != STORE_OK) {
		/* Rolled back: nothing of this prompt is stored. */
		if (!req->seed) {
			free(body);
			free(r);
			worker_send_error(w, p, req->msgid, "storage_error",
			    "the conversation could not be saved; try again",
			    NULL);
			return;
		}
		log_err("could not store a seed-style prompt user=%s", user);
		req->conversation_id[0] = '\0';  /* served unstored */
		msg_row = 0;
	}
	r->w = w;
	r->origin = *p;
	r->origin_stream = req->stream;
	r->seed = req->seed;
	memcpy(r->msgid, req->msgid, sizeof(r->msgid));
	memcpy(r->model, req->model, sizeof(r->model));
	memcpy(r->conversation_id, req->conversation_id,
	    sizeof(r->conversation_id));
	snprintf(r->user, sizeof(r->user), "%s", user);
	monotime_now(&r->started);
	r->next = w->replies;
	if (w->replies != NULL)
		w->replies->prev = r;
	w->replies = r;
	w->nreplies++;
	r->msg_row = msg_row;
	if (upstream_init(&r->call, w->cfg, body, on_delta, r) != 0 ||
	    curl_multi_add_handle(w->multi, r->call.easy) != CURLM_OK) {
		struct upstream_outcome o = { "server_error",
		    "could not start the request", 0, -1 };
		curl_easy_cleanup(r->call.easy);
		r->call.easy = NULL;
		finish(r, &o, STORE_ERROR, NULL);
		return;
	}
	if (!r->seed && r->conversation_id[0] != '\0')
		worker_watch(w, p, user, r->conversation_id);
	if (r->conversation_id[0] != '\0') {
		/* The new user message, for other sessions showing the
		 * conversation; the seed client gets no frame of a shape it does
		 * not know. */
		const char *prompt = req->prompt;
		if (req->seed) {
			const cJSON *last = cJSON_GetArrayItem(req->messages,
			    cJSON_GetArraySize(req->messages) - 1);
			prompt = cJSON_GetObjectItemCaseSensitive(last,
			    "content")->valuestring;
		}
		broadcast(r, frame_start(r->msgid, r->conversation_id, title,
		    r->model, regenerate ? NULL : prompt, replaced), !r->seed);
	}
	log_info("reply start user=%s msgid=%.40s conversation=%s model=%s "
	    "stream=%d%s", user, r->msgid,
	    r->conversation_id[0] ? r->conversation_id : "-", r->model,
	    r->origin_stream, regenerate ? " regenerate" :
	    req->edit_last ? " edit" : "");
}
