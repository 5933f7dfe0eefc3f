/* reply.c - the life of a reply: streamed to the session that asked and to
 * every session watching its conversation, saved as it grows, and finished
 * (complete, stopped, error or interrupted) in the store with its row in
 * the usage ledger (account.h). A reply outlives the session that asked
 * for it. */
#include "reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account.h"
#include "budget.h"
#include "frames.h"
#include "log.h"
#include "models.h"
#include "monotime.h"
#include "request.h"
#include "token.h"
#include "upstream.h"

struct reply {
	struct reply *prev, *next;
	struct replies *rs;
	unsigned long serial;         /* names its content in a peer_delta
	                               * (even); serial + 1 its reasoning */
	struct peer origin;           /* the session that asked */
	int origin_gone;              /* it went away: keep generating */
	int origin_stream;            /* it wants delta frames */
	int follow;                   /* it watches the conversation */
	int origin_seed;              /* it speaks the seed's shape: no
	                               * reasoning frames or fields for it */
	char msgid[REQUEST_MSGID_MAX + 1];
	char model[REQUEST_MODEL_MAX + 1];
	char user[LC_USER_MAX + 1];
	char conversation_id[ID_LEN + 1];  /* "" when not stored */
	long long msg_row;            /* the assistant message's row, 0 none */
	size_t flushed;               /* content bytes already in the store */
	size_t rflushed;              /* reasoning bytes already in it */
	enum think_mode think;        /* how <think> in its content is read */
	struct timespec reason_start; /* its first reasoning delta */
	int reason_seen;
	long long reasoning_ms;       /* reasoning to first answer; -1 */
	struct timespec started;
	int first_seen;               /* its first delta came (first_token) */
	int ending;                   /* in finish: deltas go as they come */
	struct timespec first_at;     /* when */
	char *body;                   /* the upstream request until started */
	int upstream;                 /* the index of the upstream serving it */
	int so_sent;                  /* its body has stream_options */
	int retried;                  /* made again without them */
	size_t prompt_bytes;          /* the text of its messages (account.h) */
	long long price_in, price_out;  /* its model's prices, -1 none */
	struct upstream_call call;
};

struct replies {
	const struct lc_config *cfg;
	struct store *store;
	CURLM *multi;
	struct fanout out;
	struct reply *head;
	long n;
	unsigned long serials;        /* the last serial given */
	struct reply_stats stats;
	/* Upstreams (stream_options = auto) that refused stream_options:
	 * later bodies go without them, until the worker restarts. */
	bool so_refused[MODELS_UPSTREAMS_MAX];
};

/* Buckets in seconds: a first token within 0.1 s (a local model) to 30 s
 * (a loaded one); replies of a second to the 30 min total timeout. */
static const double first_token_bounds[] = {
	0.1, 0.25, 0.5, 1, 2, 5, 10, 30,
};
static const double duration_bounds[] = {
	0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800,
};

struct replies *
replies_new(const struct lc_config *cfg, struct store *store, CURLM *multi,
    struct fanout out)
{
	struct replies *rs = calloc(1, sizeof(*rs));

	if (rs == NULL)
		return NULL;
	rs->cfg = cfg;
	rs->store = store;
	rs->multi = multi;
	rs->out = out;
	rs->stats.first_token.bounds = first_token_bounds;
	rs->stats.first_token.n = sizeof(first_token_bounds) /
	    sizeof(first_token_bounds[0]);
	rs->stats.duration.bounds = duration_bounds;
	rs->stats.duration.n = sizeof(duration_bounds) /
	    sizeof(duration_bounds[0]);
	return rs;
}

const struct reply_stats *
reply_stats(const struct replies *rs)
{
	return &rs->stats;
}

const char *
reply_outcome_name(enum reply_outcome o)
{
	switch (o) {
	case REPLY_COMPLETE: return "complete";
	case REPLY_STOPPED: return "stopped";
	case REPLY_FAILED: return "failed";
	case REPLY_INTERRUPTED: return "interrupted";
	case REPLY_OUTCOME__MAX: break;
	}
	return "?";
}

/* Counts a reply that ended in state (a STORE_ state) with error code
 * (NULL for none), after ms. */
static void
count_end(struct reply *r, const char *state, const char *code, long ms)
{
	struct reply_stats *st = &r->rs->stats;
	enum reply_outcome o = strcmp(state, STORE_COMPLETE) == 0 ?
	    REPLY_COMPLETE : strcmp(state, STORE_STOPPED) == 0 ?
	    REPLY_STOPPED : strcmp(state, STORE_INTERRUPTED) == 0 ?
	    REPLY_INTERRUPTED : REPLY_FAILED;

	st->outcomes[o]++;
	prom_hist_observe(&st->duration, (double)ms / 1000.0);
	if (r->call.usage.present) {
		st->tokens_in += r->call.usage.prompt_tokens;
		st->tokens_out += r->call.usage.completion_tokens;
	}
	if (o != REPLY_FAILED || code == NULL)
		return;
	for (size_t i = 0; i < REPLY_ERROR_CODES; i++) {
		if (i == REPLY_ERROR_CODES - 1 && st->errors[i].code[0] == '\0')
			snprintf(st->errors[i].code, REPLY_ERROR_CODE_MAX,
			    "other");
		if (st->errors[i].code[0] == '\0')
			snprintf(st->errors[i].code, REPLY_ERROR_CODE_MAX, "%s",
			    code);
		if (strcmp(st->errors[i].code, code) == 0 ||
		    i == REPLY_ERROR_CODES - 1) {
			st->errors[i].n++;
			return;
		}
	}
}

void
replies_free(struct replies *rs)
{
	if (rs == NULL)
		return;
	reply_interrupt_all(rs);
	free(rs);
}

long
reply_count(const struct replies *rs)
{
	return rs->n;
}

long
reply_count_user(const struct replies *rs, const char *user)
{
	long n = 0;

	for (const struct reply *r = rs->head; r != NULL; r = r->next)
		n += strcmp(r->user, user) == 0;
	return n;
}

void
reply_send(struct reply *r, char *frame, int to_origin)
{
	if (frame == NULL) {
		log_err("out of memory building a frame");
		return;
	}
	if (r->rs->out.send(r->rs->out.arg, &r->origin,
	    to_origin && !r->origin_gone, r->user, r->conversation_id,
	    frame) != 0)
		r->origin_gone = 1;
	free(frame);
}

/* The first text of any kind: the first_token figure. */
static void
first_text(struct reply *r)
{
	if (!r->first_seen) {
		r->first_seen = 1;
		monotime_now(&r->first_at);
		prom_hist_observe(&r->rs->stats.first_token,
		    (double)monotime_ms_since(&r->started) / 1000.0);
	}
}

/* The reasoning is over (the first answer text, or the end): how long it
 * took. */
static void
reasoning_over(struct reply *r)
{
	/* A stray closing tag: the reasoning was what came first, as answer
	 * deltas, from the first text on. */
	if (r->call.stray && !r->reason_seen && r->first_seen) {
		r->reason_seen = 1;
		r->reason_start = r->first_at;
	}
	if (r->reason_seen && r->reasoning_ms < 0)
		r->reasoning_ms = monotime_ms_since(&r->reason_start);
}

/* Sends a delta frame (content or reasoning) at d; to_origin as the
 * fanout's. */
static void
send_delta(struct reply *r, char *frame, int to_origin,
    const struct peer_delta *d)
{
	struct fanout *out = &r->rs->out;

	/* The text's end (what the splitter held) goes at once, not
	 * coalesced: the buffers may be rearranged right after it. */
	if (frame == NULL || out->delta == NULL || r->ending) {
		reply_send(r, frame, to_origin);
		return;
	}
	if (out->delta(out->arg, &r->origin, to_origin, r->user,
	    r->conversation_id, frame, d) != 0)
		r->origin_gone = 1;
	free(frame);
}

static void
on_reasoning(void *owner, const char *text)
{
	struct reply *r = owner;
	/* As on_delta's, on the reasoning's own serial. */
	size_t n = strlen(text);
	struct peer_delta d = { r->serial + 1, r->call.reasoning.len - n, n };
	/* A seed-shape origin never gets reasoning: its client would show
	 * it as a bubble of its own. */
	int to_origin = r->origin_stream && !r->origin_seed && !r->origin_gone;

	first_text(r);
	if (!r->reason_seen) {
		r->reason_seen = 1;
		monotime_now(&r->reason_start);
	}
	send_delta(r, frame_reasoning(r->msgid, r->conversation_id, text),
	    to_origin, &d);
}

static void
on_delta(void *owner, const char *text)
{
	struct reply *r = owner;
	/* The text is in content already: a session that misses this delta
	 * is later sent the content from here (reply_missed). */
	size_t n = strlen(text);
	struct peer_delta d = { r->serial, r->call.content.len - n, n };
	/* Watchers always get deltas; the origin only when it asked. */
	int to_origin = r->origin_stream && !r->origin_gone;

	first_text(r);
	reasoning_over(r);
	send_delta(r, frame_delta(r->msgid, r->conversation_id, text),
	    to_origin, &d);
}

static void
reply_unlink(struct reply *r)
{
	struct replies *rs = r->rs;

	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		rs->head = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	rs->n--;
	if (r->call.easy != NULL)
		curl_multi_remove_handle(rs->multi, r->call.easy);
	upstream_free(&r->call);
	free(r);
}

/* Saves r's text in the store with state (and usage, error when known).
 * A final state also touches the conversation and adds ledger (r's row in
 * the usage ledger, NULL: none), in the same transaction: one commit per
 * reply end. Without a store nothing is saved; a reply without a stored
 * row still adds its ledger row. */
static void
save(struct reply *r, const char *state, const char *error_code,
    const struct store_usage_row *ledger)
{
	struct store *s = r->rs->store;
	int final = strcmp(state, STORE_STREAMING) != 0, tx = 0;

	if (s == NULL || (r->msg_row == 0 && ledger == NULL))
		return;
	if (final)
		tx = store_begin(s) == STORE_OK;
	struct store_reasoning rsn = { buf_str(&r->call.reasoning),
	    r->call.reasoning.len, r->reasoning_ms };
	if (r->msg_row != 0 && store_msg_update(s, r->msg_row,
	    buf_str(&r->call.content), r->call.content.len, &rsn, state,
	    &r->call.usage, error_code) != STORE_OK) {
		log_err("reply %s: could not save msgid=%.40s", state, r->msgid);
	} else if (r->msg_row != 0) {
		r->flushed = r->call.content.len;
		r->rflushed = r->call.reasoning.len;
	}
	if (final && r->msg_row != 0 && store_conv_touch(s, r->conversation_id,
	    r->model, NULL) != STORE_OK)
		log_err("could not update conversation %s", r->conversation_id);
	if (ledger != NULL && store_usage_add(s, ledger) != STORE_OK)
		log_err("reply %s: could not add msgid=%.40s to the usage ledger",
		    state, r->msgid);
	if (tx && store_commit(s) != STORE_OK)
		log_err("reply %s: could not save msgid=%.40s", state, r->msgid);
}

/* Whether the upstream accepted r's call (account.h): its event stream
 * began (HTTP 200), or a whole completion came. */
static int
accepted(const struct reply *r)
{
	return r->call.kind == 1 || (r->call.kind == 2 && r->call.done);
}

/* r's row in the usage ledger, ended in state now (day: its buffer). */
static void
ledger_row(struct reply *r, const char *state, char *day,
    struct store_usage_row *row)
{
	struct account_facts f = { accepted(r), &r->call.usage,
	    r->prompt_bytes, r->call.content.len, r->call.reasoning.len,
	    r->price_in, r->price_out };

	memset(row, 0, sizeof(*row));
	row->user = r->user;
	row->model = r->model;
	row->upstream = reply_upstream_name(r);
	row->outcome = state;
	row->conversation_id = r->conversation_id;
	row->message_id = r->msg_row;
	row->at = (long long)time(NULL);
	if (budget_date((time_t)row->at, day) != 0)
		day[0] = '\0';  /* store_usage_add refuses it: logged */
	row->day = day;
	account_tokens(&f, row);
}

/* r's text is about to end (upstream_text_end, which may move text
 * between the buffers): the deltas waiting to go together go now, at the
 * offsets they were made at, and the last ones go as they come. */
static void
text_ending(struct reply *r)
{
	if (r->ending)
		return;
	r->ending = 1;
	if (r->rs->out.flush != NULL) {
		r->rs->out.flush(r->rs->out.arg, r->serial);
		r->rs->out.flush(r->rs->out.arg, r->serial + 1);
	}
}

/* Sends the final frame, saves, logs and frees r. */
static void
finish(struct reply *r, const struct upstream_outcome *o, const char *state,
    const char *finish_reason)
{
	char *frame, *full = NULL, day[BUDGET_DATE_LEN + 1];
	struct store_usage_row row;
	long ms;

	/* The text is over: what the <think> splitter held, open mode's
	 * rule (upstream.h). A stopped reply's too. */
	text_ending(r);
	upstream_text_end(&r->call);
	ms = monotime_ms_since(&r->started);
	if (r->call.reasoning.len == 0) {
		r->reason_seen = 0;  /* moved into the answer: none */
		r->reasoning_ms = -1;
	}
	reasoning_over(r);
	if (o == NULL || o->code == NULL) {
		struct frame_reasoning rsn = { buf_str(&r->call.reasoning),
		    r->reasoning_ms };
		frame = frame_reply(r->msgid, r->conversation_id,
		    buf_str(&r->call.content), r->model, finish_reason,
		    &r->call.usage, r->origin_seed ? NULL : &rsn);
		/* A seed-shape origin gets the answer only; its watchers
		 * (conversation shape) the reasoning too. */
		if (r->origin_seed && r->call.reasoning.len > 0)
			full = frame_reply(r->msgid, r->conversation_id,
			    buf_str(&r->call.content), r->model, finish_reason,
			    &r->call.usage, &rsn);
	} else {
		struct frame_error e = { r->msgid, r->conversation_id, o->code,
		    o->message, NULL, o->status, o->retry_after,
		    r->call.content.len > 0 ? buf_str(&r->call.content) : NULL,
		    NULL, NULL };
		frame = frame_error(&e);
	}
	ledger_row(r, state, day, &row);
	save(r, state, o != NULL ? o->code : NULL, &row);
	count_end(r, state, o != NULL ? o->code : NULL, ms);
	log_info("reply %s user=%s msgid=%.40s conversation=%s model=%s "
	    "upstream=%s status=%ld bytes=%zu reasoning=%zu tokens=%lld+%lld "
	    "est=%d ms=%ld%s%s%s",
	    state, r->user, r->msgid,
	    r->conversation_id[0] ? r->conversation_id : "-", r->model,
	    reply_upstream_name(r), o != NULL ? o->status : 0,
	    r->call.content.len, r->call.reasoning.len, row.prompt_tokens,
	    row.completion_tokens, row.estimated, ms,
	    r->origin_gone ? " client=gone" : "",
	    o != NULL && o->code ? " error=" : "",
	    o != NULL && o->code ? o->code : "");
	if (full == NULL) {
		reply_send(r, frame, 1);
	} else {
		/* The origin alone ("" : nobody else), then the others. */
		if (frame == NULL)
			log_err("out of memory building a frame");
		else if (r->rs->out.send(r->rs->out.arg, &r->origin,
		    !r->origin_gone, r->user, "", frame) != 0)
			r->origin_gone = 1;
		free(frame);
		reply_send(r, full, 0);
	}
	reply_unlink(r);
}

struct reply *
reply_new(struct replies *rs, const struct reply_spec *spec)
{
	struct reply *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->upstream = spec->info != NULL ? spec->info->upstream : 0;
	const struct lc_upstream *up = models_upstream(rs->cfg->mt,
	    (size_t)r->upstream);
	if (up == NULL) {
		free(r);
		return NULL;
	}
	/* auto: sent until this upstream refused them (reply_done). */
	r->so_sent = up->stream_options == MODELS_SO_ON ||
	    (up->stream_options == MODELS_SO_AUTO &&
	    !rs->so_refused[r->upstream]);
	r->body = upstream_body(spec->model, spec->messages, spec->params,
	    spec->info, r->so_sent);
	r->prompt_bytes = account_prompt_bytes(spec->messages);
	r->price_in = spec->info != NULL ? spec->info->price_in : -1;
	r->price_out = spec->info != NULL ? spec->info->price_out : -1;
	if (r->body == NULL) {
		free(r);
		return NULL;
	}
	r->rs = rs;
	/* Two serials: content (even) and reasoning (odd). */
	rs->serials += 2;
	r->serial = rs->serials;
	r->origin = *spec->origin;
	r->origin_stream = spec->stream;
	r->follow = spec->follow;
	/* prompt.c: the conversation shape follows, the seed's does not. */
	r->origin_seed = !spec->follow;
	r->think = spec->think;
	r->reasoning_ms = -1;
	snprintf(r->msgid, sizeof(r->msgid), "%s", spec->msgid);
	snprintf(r->model, sizeof(r->model), "%s", spec->model);
	snprintf(r->user, sizeof(r->user), "%s", spec->user);
	return r;
}

void
reply_discard(struct reply *r)
{
	if (r == NULL)
		return;
	free(r->body);
	free(r);
}

int
reply_start(struct reply *r, const char *conversation_id, long long msg_row)
{
	struct replies *rs = r->rs;
	char *body = r->body;

	snprintf(r->conversation_id, sizeof(r->conversation_id), "%s",
	    conversation_id);
	r->msg_row = msg_row;
	monotime_now(&r->started);
	r->next = rs->head;
	if (rs->head != NULL)
		rs->head->prev = r;
	rs->head = r;
	rs->n++;
	r->body = NULL;  /* upstream_init owns it now, even on failure */
	int init = upstream_init(&r->call, rs->cfg, models_upstream(rs->cfg->mt,
	    (size_t)r->upstream), r->model, body, on_delta, r);
	upstream_reasoning(&r->call, on_reasoning, r->think);
	if (init != 0 ||
	    curl_multi_add_handle(rs->multi, r->call.easy) != CURLM_OK) {
		struct upstream_outcome o = { "server_error",
		    "could not start the request", 0, -1, false };
		curl_easy_cleanup(r->call.easy);
		r->call.easy = NULL;
		finish(r, &o, STORE_ERROR, NULL);
		return -1;
	}
	if (r->follow && r->conversation_id[0] != '\0')
		rs->out.watch(rs->out.arg, &r->origin, r->user,
		    r->conversation_id);
	return 0;
}

/* The upstream r refused stream_options (HTTP status): remembered for
 * that upstream, and the same call made once more without them, on a new
 * easy handle; the client sees only the reply. Returns 0 when the new call
 * is under way, -1 when it could not start (r is then unchanged but its
 * transfer is out of the multi). */
static int
retry_without_stream_options(struct reply *r, long status)
{
	struct replies *rs = r->rs;
	const struct lc_upstream *up = models_upstream(rs->cfg->mt,
	    (size_t)r->upstream);
	char *body = upstream_body_without_stream_options(r->call.body);

	if (body == NULL)
		return -1;
	if (!rs->so_refused[r->upstream])
		log_info("upstream %s refused stream_options (HTTP %ld): "
		    "msgid=%.40s asked again without them, and later calls go "
		    "without", up->name, status, r->msgid);
	rs->so_refused[r->upstream] = true;
	curl_multi_remove_handle(rs->multi, r->call.easy);
	upstream_free(&r->call);
	r->so_sent = 0;
	r->retried = 1;
	int init = upstream_init(&r->call, rs->cfg, up, r->model, body,
	    on_delta, r);
	upstream_reasoning(&r->call, on_reasoning, r->think);
	if (init != 0 || curl_multi_add_handle(rs->multi, r->call.easy) !=
	    CURLM_OK) {
		curl_easy_cleanup(r->call.easy);
		r->call.easy = NULL;
		return -1;
	}
	return 0;
}

const char *
reply_upstream_name(const struct reply *r)
{
	const struct lc_upstream *up = models_upstream(r->rs->cfg->mt,
	    (size_t)r->upstream);

	return up != NULL ? up->name : "?";
}

void
reply_done(CURL *easy, CURLcode result)
{
	struct upstream_outcome o;
	struct reply *r = NULL;

	if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r) != CURLE_OK ||
	    r == NULL)
		return;
	text_ending(r);   /* the outcome ends the text */
	upstream_outcome(&r->call, result, &o);
	/* Decided here, not in upstream.c: the memory is per upstream, and
	 * the reply stays the same (its row, its watchers, its serial). */
	if (o.stream_options_refused && r->so_sent && !r->retried &&
	    models_upstream(r->rs->cfg->mt, (size_t)r->upstream)->
	    stream_options == MODELS_SO_AUTO) {
		if (retry_without_stream_options(r, o.status) == 0) {
			r->ending = 0;   /* made again: it streams anew */
			return;
		}
		if (r->call.easy == NULL) {  /* the first call is gone too */
			memset(&o, 0, sizeof(o));
			o.code = "server_error";
			snprintf(o.message, sizeof(o.message),
			    "could not start the request");
			o.retry_after = -1;
		}
	}
	finish(r, &o, o.code == NULL ? STORE_COMPLETE : STORE_ERROR,
	    r->call.finish_reason[0] ? r->call.finish_reason : "stop");
}

void
reply_stop(struct reply *r)
{
	finish(r, NULL, STORE_STOPPED, "stopped");
}

/* Stops every reply for which stop(arg, user) is true; returns how many.
 * finish() takes a reply out of the list: look again from the start after
 * each. */
static int
stop_where(struct replies *rs, int (*stop)(void *arg, const char *user),
    void *arg)
{
	int n = 0;

	for (struct reply *r = rs->head; r != NULL; ) {
		if (!stop(arg, r->user)) {
			r = r->next;
			continue;
		}
		reply_stop(r);
		n++;
		r = rs->head;
	}
	return n;
}

static int
is_user(void *arg, const char *user)
{
	return strcmp(user, arg) == 0;
}

int
reply_stop_user(struct replies *rs, const char *user)
{
	return stop_where(rs, is_user, (void *)user);
}

struct gone {
	int (*exists)(void *arg, const char *user);
	void *arg;
};

static int
is_gone(void *arg, const char *user)
{
	struct gone *g = arg;

	return !g->exists(g->arg, user);
}

int
reply_stop_gone(struct replies *rs,
    int (*exists)(void *arg, const char *user), void *arg)
{
	struct gone g = { exists, arg };

	return stop_where(rs, is_gone, &g);
}

void
reply_interrupt_all(struct replies *rs)
{
	while (rs->head != NULL) {
		struct upstream_outcome o;

		memset(&o, 0, sizeof(o));
		o.retry_after = -1;
		o.code = "worker_unavailable";
		snprintf(o.message, sizeof(o.message),
		    "the server restarted during this reply; regenerate it");
		finish(rs->head, &o, STORE_INTERRUPTED, NULL);
	}
}

void
reply_flush_all(struct replies *rs)
{
	struct reply *r;
	int tx = 0;

	/* Every growing reply in one transaction: one commit per tick. */
	for (r = rs->head; r != NULL; r = r->next) {
		if (r->msg_row == 0 || (r->call.content.len == r->flushed &&
		    r->call.reasoning.len == r->rflushed))
			continue;
		if (!tx)
			tx = store_begin(rs->store) == STORE_OK ? 1 : -1;
		save(r, STORE_STREAMING, NULL, NULL);
	}
	if (tx == 1 && store_commit(rs->store) != STORE_OK) {
		log_err("could not save the replies in progress");
		/* Rolled back: save them all again at the next tick. */
		for (r = rs->head; r != NULL; r = r->next)
			if (r->msg_row != 0)
				r->flushed = (size_t)-1;
	}
}

struct reply *
reply_find(struct replies *rs, const char *user, const char *msgid,
    const char *conversation_id)
{
	for (struct reply *r = rs->head; r != NULL; r = r->next) {
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
reply_peer_gone(struct replies *rs, const struct peer *p)
{
	for (struct reply *r = rs->head; r != NULL; r = r->next)
		if (peer_equal(&r->origin, p))
			r->origin_gone = 1;
}

char *
reply_snapshot(struct replies *rs, const char *user,
    const char *conversation_id)
{
	struct reply *r = reply_find(rs, user, NULL, conversation_id);

	if (r == NULL)
		return frame_idle(conversation_id);
	struct frame_reasoning rsn = { buf_str(&r->call.reasoning),
	    r->reasoning_ms };
	return frame_snapshot(r->msgid, r->conversation_id, r->model,
	    buf_str(&r->call.content), &rsn);
}

char *
reply_missed(struct replies *rs, unsigned long serial, size_t offset)
{
	int reasoning = serial % 2 == 1;

	for (struct reply *r = rs->head; r != NULL; r = r->next) {
		if (r->serial != serial - (unsigned long)reasoning)
			continue;
		const struct lc_buf *b = reasoning ? &r->call.reasoning :
		    &r->call.content;
		/* Nothing missed past the end. (The text moves between the
		 * buffers only when it is over: upstream_text_end.) */
		if (offset >= b->len)
			return NULL;
		return reasoning ? frame_reasoning(r->msgid, r->conversation_id,
		    buf_str(b) + offset) : frame_delta(r->msgid,
		    r->conversation_id, buf_str(b) + offset);
	}
	return NULL;
}
