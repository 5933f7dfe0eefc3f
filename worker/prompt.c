/* prompt.c - turns a validated prompt into a reply: admission, the usage
 * budgets (the user's day and month limits, the site's monthly cap), the
 * storage limits (the disk's reserve, the user's quota, the conversation's
 * size), the prompt stored (seed transcript or conversation, with titles),
 * the context built, and the prepared reply handed to reply.c. */
#include "prompt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "budget.h"
#include "context.h"
#include "frames.h"
#include "log.h"
#include "utf8.h"

#define TITLE_MAX 60   /* bytes of a title made from the first prompt */

struct prompts {
	const struct lc_config *cfg;
	struct store *store;
	struct replies *replies;
	int draining;                 /* stopping: no new replies */
};

struct prompts *
prompts_new(const struct lc_config *cfg, struct store *store,
    struct replies *replies)
{
	struct prompts *ps = calloc(1, sizeof(*ps));

	if (ps == NULL)
		return NULL;
	ps->cfg = cfg;
	ps->store = store;
	ps->replies = replies;
	return ps;
}

void
prompts_free(struct prompts *ps)
{
	free(ps);
}

void
prompt_drain(struct prompts *ps)
{
	ps->draining = 1;
}

/* Sets err to tell the session why; returns -1. */
static int
refuse(struct request_error *err, const char *code, const char *message,
    const char *field)
{
	err->code = code;
	snprintf(err->message, sizeof(err->message), "%s", message);
	snprintf(err->field, sizeof(err->field), "%s", field != NULL ? field : "");
	return -1;
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
		out[i] = (unsigned char)prompt[i] < 0x20 ||
		    prompt[i] == 0x7f ? ' ' : prompt[i];
	out[n] = '\0';
}

/* Admits a prompt, or returns -1 with err set: the worker stops, the msgid
 * or the conversation already has a reply, or too many are in flight. */
static int
admit(struct prompts *ps, const char *user, const struct chat_request *req,
    struct request_error *err)
{
	long n = reply_count(ps->replies);

	if (ps->draining)
		return refuse(err, "server_busy",
		    "the server is restarting; try again in a moment", NULL);
	if (reply_find(ps->replies, user, req->msgid, NULL) != NULL)
		return refuse(err, "duplicate_msgid",
		    "a reply with this msgid is already in progress", "msgid");
	if (req->conversation_id[0] != '\0' &&
	    reply_find(ps->replies, user, NULL, req->conversation_id) != NULL)
		return refuse(err, "conversation_busy",
		    "a reply is already being written in this conversation; "
		    "stop it or wait", NULL);
	if (reply_count_user(ps->replies, user) >=
	    ps->cfg->max_inflight_per_user)
		return refuse(err, "too_many_requests",
		    "too many replies in progress; wait for one to finish", NULL);
	if (n >= ps->cfg->max_inflight) {
		log_warn("busy: %ld replies in flight", n);
		return refuse(err, "server_busy",
		    "the server is busy; try again in a moment", NULL);
	}
	return 0;
}

/* Logs a refusal for v, one line: "budget day tokens 10234/10000",
 * money as "budget month cost 5.02/5.00", the site's "budget site …". */
static void
log_budget(const char *user, const struct budget_verdict *v)
{
	char used[32], limit[32];

	if (v->unit == BUDGET_COST) {
		budget_format_money(v->used, used, sizeof(used));
		budget_format_money(v->limit, limit, sizeof(limit));
	} else {
		snprintf(used, sizeof(used), "%lld", v->used);
		snprintf(limit, sizeof(limit), "%lld", v->limit);
	}
	log_info("prompt refused user=%s budget %s%s %s %s/%s", user,
	    v->site ? "site " : "", v->period == BUDGET_DAY ? "day" : "month",
	    v->unit == BUDGET_COST ? "cost" : "tokens", used, limit);
}

/* Refuses a prompt of user over a budget (lib/budget.h): the user's own
 * limits over the configured defaults, and the site's monthly cap, against
 * the ledger's sums of this local day and month. The overshoot rule: a
 * prompt starts while every limit is above what the ledger holds; the
 * replies in flight then are not cut, so a user may pass a limit by what
 * they use (at most max_inflight_per_user replies, each bounded by
 * max_tokens), and the next prompt is refused. With no limit at all (the
 * default) the ledger is not read. Runs inside the prompt's transaction,
 * before its first write. A store that cannot be read refuses with
 * storage_error, or with lenient (the seed shape) lets the prompt through.
 * Returns 0, or -1 with err set (budget_exceeded: err->budget the
 * verdict). */
static int
check_budget(struct prompts *ps, const char *user, int lenient,
    struct request_error *err)
{
	const struct lc_config *cfg = ps->cfg;
	struct budget_limits defaults, site, own, lim;
	struct budget_used used, site_used;
	struct budget_periods p;
	struct budget_verdict v;
	int has_site;
	char m[sizeof(err->message)];

	if (ps->store == NULL)
		return 0;  /* no ledger: nothing to count (the seed shape) */
	config_budget_limits(cfg, &defaults, &site);
	has_site = budget_any(&site);
	if (store_limits_get(ps->store, user, &own) != STORE_OK)
		goto fail;
	budget_effective(&defaults, &own, &lim);
	if (!budget_any(&lim) && !has_site)
		return 0;
	if (budget_periods(time(NULL), &p) != 0) {
		log_err("prompt user=%s: the local time is unknown; budgets not "
		    "checked", user);
		return 0;
	}
	if (store_usage_used(ps->store, user, &p, &used) != STORE_OK ||
	    (has_site && store_usage_used(ps->store, NULL, &p, &site_used) !=
	    STORE_OK))
		goto fail;
	budget_check(&lim, &used, has_site ? &site : NULL,
	    has_site ? &site_used : NULL, &p, &v);
	if (!v.exceeded)
		return 0;
	budget_message(&v, cfg->currency != NULL ? cfg->currency : "", m,
	    sizeof(m));
	log_budget(user, &v);
	refuse(err, "budget_exceeded", m, NULL);
	err->budget = v;
	return -1;
fail:
	return lenient ? 0 : refuse(err, "storage_error",
	    "the conversation could not be saved; try again", NULL);
}

/* Refuses a prompt that would store adding bytes in new_msgs messages
 * (net) into conversation conv ("": a new one) beyond a limit: the
 * filesystem's reserve (storage_reserve, with room for the reply),
 * user's quota (their own or
 * user_storage_quota) or the conversation's size (conversation_max_bytes,
 * conversation_max_messages); 0 is no limit. Only prompts are checked: a
 * reply is stored whole even past a limit (it was paid for), and the next
 * prompt is refused. Runs inside the prompt's transaction, before its
 * first write, so a refused prompt stores nothing. A counter that cannot
 * be read refuses with storage_error, or with lenient (the seed shape,
 * stored best effort) lets the prompt through. Returns 0, or -1 with err
 * set. */
static int
check_storage(struct prompts *ps, const char *user, const char *conv,
    long long adding, long long new_msgs, int lenient,
    struct request_error *err)
{
	const struct lc_config *cfg = ps->cfg;
	struct store_usage u = { 0, 0, 0 };
	struct statvfs vfs;
	long long quota = -1, msgs = 0, bytes = 0;
	char m[256];
	int rc;

	/* Room for the prompt and its reply (at most max_reply) above the
	 * reserve: a reply, stored whole, never eats into it unless replies
	 * admitted together outgrow the room each was admitted with. */
	if (cfg->storage_reserve > 0 && statvfs(cfg->database, &vfs) == 0) {
		long long avail = (long long)vfs.f_bavail * (long long)vfs.f_frsize;
		if (avail < cfg->storage_reserve + adding + cfg->max_reply) {
			log_warn("storage nearly full: %lld bytes free, reserve "
			    "%ld; prompt refused user=%s", avail,
			    cfg->storage_reserve, user);
			return refuse(err, "storage_full", "the server's storage "
			    "is nearly full; try again later", NULL);
		}
	}
	rc = store_quota_get(ps->store, user, &quota);
	if (rc == STORE_NOT_FOUND)
		quota = cfg->user_storage_quota;
	if (rc != STORE_ERR)
		rc = store_quota_usage(ps->store, user, &u);
	if (rc != STORE_ERR && conv[0] != '\0')
		rc = store_quota_conv(ps->store, conv, &msgs, &bytes);
	if (rc == STORE_ERR)
		return lenient ? 0 : refuse(err, "storage_error",
		    "the conversation could not be saved; try again", NULL);
	if (quota > 0 && u.bytes + adding > quota) {
		snprintf(m, sizeof(m), "your storage quota is used up: %lld of "
		    "%lld bytes stored (user_storage_quota), this prompt needs "
		    "%lld; delete conversations to make room", u.bytes, quota,
		    adding);
		log_info("prompt refused user=%s: quota %lld bytes, %lld stored",
		    user, quota, u.bytes);
		return refuse(err, "quota_exceeded", m, NULL);
	}
	if (cfg->conversation_max_bytes > 0 &&
	    bytes + adding > cfg->conversation_max_bytes) {
		snprintf(m, sizeof(m), "this conversation is too large: %lld of "
		    "%ld bytes (conversation_max_bytes), this prompt needs %lld; "
		    "start a new conversation", bytes,
		    cfg->conversation_max_bytes, adding);
		log_info("prompt refused user=%s conversation=%s: %lld bytes",
		    user, conv, bytes);
		return refuse(err, "conversation_too_large", m, NULL);
	}
	if (cfg->conversation_max_messages > 0 &&
	    msgs + new_msgs > cfg->conversation_max_messages) {
		snprintf(m, sizeof(m), "this conversation is too long: %lld of "
		    "%ld messages (conversation_max_messages); start a new "
		    "conversation", msgs, cfg->conversation_max_messages);
		log_info("prompt refused user=%s conversation=%s: %lld messages",
		    user, conv, msgs);
		return refuse(err, "conversation_too_large", m, NULL);
	}
	return 0;
}

/* Stores a seed-shaped request: it continues the conversation whose
 * messages the client re-sent, or starts one. Best effort: a failure is
 * logged and the reply is served unstored (conv set to ""), returning 0;
 * a prompt beyond a storage limit (check_storage) returns -1 with err set
 * and stores nothing. */
static int
store_seed(struct prompts *ps, const char *user,
    const struct chat_request *req, char conv[ID_LEN + 1], char *title,
    size_t titlecap, struct request_error *err)
{
	struct store *s = ps->store;
	int n = cJSON_GetArraySize(req->messages);
	const cJSON *last = cJSON_GetArrayItem(req->messages, n - 1);
	const cJSON *lrole = cJSON_GetObjectItemCaseSensitive(last, "role");
	const cJSON *lcontent = cJSON_GetObjectItemCaseSensitive(last,
	    "content");
	cJSON *history = NULL;
	const cJSON *m;
	long long adding, new_msgs = 2;   /* the prompt, the reply's row */
	int rc, refused = 0;

	conv[0] = '\0';
	if (!cJSON_IsString(lrole) || strcmp(lrole->valuestring, "user") != 0)
		return 0;  /* nothing new to store */
	history = cJSON_Duplicate(req->messages, 1);
	if (history == NULL)
		return 0;
	cJSON_DeleteItemFromArray(history, n - 1);
	make_title(lcontent->valuestring, title, titlecap);
	rc = context_find_transcript(s, user, history, conv);
	adding = (long long)strlen(lcontent->valuestring);
	if (rc == STORE_NOT_FOUND) {
		/* A new conversation stores the re-sent transcript too. */
		cJSON_ArrayForEach(m, history) {
			const char *r = cJSON_GetObjectItemCaseSensitive(m,
			    "role")->valuestring;
			if (strcmp(r, "system") != 0) {
				adding += (long long)strlen(
				    cJSON_GetObjectItemCaseSensitive(m,
				    "content")->valuestring);
				new_msgs++;
			}
		}
	}
	if ((rc == STORE_OK || rc == STORE_NOT_FOUND) && check_storage(ps,
	    user, rc == STORE_OK ? conv : "", adding, new_msgs, 1, err) != 0) {
		refused = 1;
		goto out;
	}
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
out:
	if (refused)
		conv[0] = '\0';
	cJSON_Delete(history);
	return refused ? -1 : 0;
}

/* Checks req's attachments before anything is written: each user's and
 * not sent in another conversation than req's, images only to a model
 * that takes them, together within prompt_attachments_bytes. *meta gets
 * their metadata (an array the caller deletes; empty without any).
 * Returns 0, or -1 with err set (storage_error when the store failed, or
 * invalid_request with field "attachments"). */
static int
check_attachments(struct prompts *ps, const char *user,
    const struct chat_request *req, cJSON **meta, struct request_error *err)
{
	long long total = 0;
	char m[256];

	if ((*meta = cJSON_CreateArray()) == NULL)
		return refuse(err, "server_error", "out of memory", NULL);
	for (int i = 0; i < req->n_attachments; i++) {
		struct store_attach a;
		cJSON *o;
		int rc = store_attach_get(ps->store, req->attachments[i], user, 0,
		    &a);
		if (rc == STORE_NOT_FOUND) {
			snprintf(m, sizeof(m), "no such attachment: %s",
			    req->attachments[i]);
			return refuse(err, "invalid_request", m, "attachments");
		}
		if (rc != STORE_OK)
			return refuse(err, "storage_error", "the attachments "
			    "could not be read; try again", NULL);
		if (a.conv[0] != '\0' && strcmp(a.conv, req->conversation_id)) {
			snprintf(m, sizeof(m), "%.100s was sent in another "
			    "conversation: attach it again", a.name);
			return refuse(err, "invalid_request", m, "attachments");
		}
		if (strcmp(a.kind, "image") == 0 && !req->info.images) {
			snprintf(m, sizeof(m), "the model %.100s does not take "
			    "images: choose one that does, or remove %.80s",
			    req->model, a.name);
			return refuse(err, "invalid_request", m, "attachments");
		}
		total += a.bytes;
		if ((o = store_attach_json(&a, 0)) == NULL ||
		    !cJSON_AddItemToArray(*meta, o)) {
			cJSON_Delete(o);
			return refuse(err, "server_error", "out of memory", NULL);
		}
	}
	if (total > ps->cfg->prompt_attachments_bytes) {
		snprintf(m, sizeof(m), "these attachments are %lld bytes; a "
		    "prompt may carry at most %ld (prompt_attachments_bytes)",
		    total, ps->cfg->prompt_attachments_bytes);
		return refuse(err, "invalid_request", m, "attachments");
	}
	return 0;
}

/* Where the new version hangs in conversation conv (its owner checked):
 * *branch gets the message the new one's parent is to be (0: none, a new
 * first prompt), *replaced how many messages of the current path that
 * takes out of view. Regenerate: a sibling of the current leaf's reply,
 * under its prompt. Edit (edit_last: of the prompt before the current
 * leaf's reply; edit: of that user message): a sibling of the prompt,
 * under its parent. parent_id: under that message. Otherwise under the
 * current leaf. Returns 0, or -1 with err set. */
static int
branch_point(struct store *s, const char *conv, struct chat_request *req,
    int regenerate, long long *branch, int *replaced,
    struct request_error *err)
{
	long long leaf = 0, parent = 0, at = 0;
	char role[16] = "", prole[16] = "";
	int rc;

	*branch = 0;
	*replaced = 0;
	if (store_conv_leaf(s, conv, &leaf) != STORE_OK)
		goto fail;
	if (regenerate || req->edit_last) {
		/* The path must end with a prompt and its reply. */
		rc = leaf > 0 ? store_msg_get(s, conv, leaf, role, &parent) :
		    STORE_NOT_FOUND;
		if (rc == STORE_OK && parent > 0)
			rc = store_msg_get(s, conv, parent, prole, &at);
		if (rc == STORE_ERR)
			goto fail;
		if (rc != STORE_OK || parent == 0 ||
		    strcmp(role, "assistant") != 0 ||
		    strcmp(prole, "user") != 0)
			return refuse(err, "nothing_to_replace", "the conversation "
			    "does not end with a reply", NULL);
		if (regenerate)
			*branch = parent;
		else {
			req->edit_id = parent;
			*branch = at;
		}
	} else if (req->edit_id > 0) {
		rc = store_msg_get(s, conv, req->edit_id, role, &at);
		if (rc == STORE_ERR)
			goto fail;
		if (rc != STORE_OK || strcmp(role, "user") != 0)
			return refuse(err, "invalid_request", "edit.message_id "
			    "must be a prompt of this conversation", "edit");
		*branch = at;
	} else if (req->parent_id > 0) {
		rc = store_msg_get(s, conv, req->parent_id, role, &at);
		if (rc == STORE_ERR)
			goto fail;
		if (rc != STORE_OK)
			return refuse(err, "invalid_request", "parent_id must be "
			    "a message of this conversation", "parent_id");
		*branch = req->parent_id;
	} else {
		*branch = leaf;
		return 0;
	}
	if (store_path_below(s, conv, *branch, replaced) != STORE_OK ||
	    store_conv_set_leaf(s, conv, *branch) != STORE_OK)
		goto fail;
	return 0;
fail:
	return refuse(err, "storage_error",
	    "the conversation could not be saved; try again", NULL);
}

/* Prepares the stored conversation for req: creates it or checks it is
 * user's, finds where the new version hangs (branch_point), adds the
 * prompt with its attachments (check_attachments; *meta gets theirs, the
 * caller deletes it), and builds the context from the path it ends.
 * Nothing is deleted: a regenerated reply or an edited prompt is a sibling
 * of what it replaces. *branch gets the new message's parent (0: none),
 * *prompt_id the stored prompt's id (0 when regenerating). Returns 0 with
 * *messages set (the caller deletes it), or -1 with err set. */
static int
store_conversation(struct prompts *ps, const char *user,
    struct chat_request *req, int regenerate, char *title, size_t titlecap,
    int *replaced, long long *branch, long long *prompt_id,
    cJSON **messages, cJSON **meta, struct request_error *err)
{
	struct store *s = ps->store;
	char *conv = req->conversation_id;
	int rc;

	*replaced = 0;
	*branch = 0;
	*prompt_id = 0;
	*messages = NULL;
	/* Whose conversation first: another user's is not_found, whatever
	 * the attachments. */
	if (req->n_attachments > 0 && conv[0] != '\0' &&
	    store_conv_owned(s, conv, user) == STORE_NOT_FOUND)
		return refuse(err, "not_found", "no such conversation",
		    "conversation_id");
	if (check_attachments(ps, user, req, meta, err) != 0)
		return -1;
	if (conv[0] == '\0') {
		if (check_storage(ps, user, "", (long long)strlen(req->prompt), 2,
		    0, err) != 0)
			return -1;
		make_title(req->prompt, title, titlecap);
		rc = store_conv_create(s, user, title, req->model,
		    req->system != NULL ? req->system : "", conv);
	} else {
		rc = store_conv_owned(s, conv, user);
		if (rc == STORE_NOT_FOUND)
			return refuse(err, "not_found", "no such conversation",
			    "conversation_id");
		/* Every version is kept: a prompt adds itself and the reply's
		 * row, a regenerated reply its own row. */
		if (rc == STORE_OK && check_storage(ps, user, conv, regenerate ?
		    0 : (long long)strlen(req->prompt), regenerate ? 1 : 2, 0,
		    err) != 0)
			return -1;
		if (rc == STORE_OK && branch_point(s, conv, req, regenerate,
		    branch, replaced, err) != 0)
			return -1;
		if (rc == STORE_OK)
			rc = store_conv_touch(s, conv, req->model, req->system);
		title[0] = '\0';
	}
	if (rc == STORE_OK && !regenerate)
		rc = store_msg_add(s, conv, "user", req->prompt,
		    strlen(req->prompt), STORE_COMPLETE, "", prompt_id);
	for (int i = 0; rc == STORE_OK && i < req->n_attachments; i++)
		rc = store_attach_bind(s, req->attachments[i], user, conv,
		    *prompt_id, i);
	if (rc == STORE_OK)
		rc = context_build(s, conv, (size_t)ps->cfg->context_budget,
		    (int)ps->cfg->max_messages, req->info.images, messages);
	if (rc != STORE_OK)
		return refuse(err, "storage_error",
		    "the conversation could not be saved; try again", NULL);
	return 0;
}

/* The new user message of req, for the start frame. */
static const char *
new_prompt(const struct chat_request *req)
{
	const cJSON *last;

	if (!req->seed)
		return req->prompt;
	last = cJSON_GetArrayItem(req->messages,
	    cJSON_GetArraySize(req->messages) - 1);
	return cJSON_GetObjectItemCaseSensitive(last, "content")->valuestring;
}

int
prompt_start(struct prompts *ps, const struct peer *p, const char *user,
    struct chat_request *req, int regenerate, struct request_error *err)
{
	char title[STORE_TITLE_MAX + 1] = "";
	struct reply *r = NULL;
	cJSON *context = NULL, *meta = NULL;
	long long msg_row = 0, branch = 0, prompt_id = 0;
	int replaced = 0, tx = 0, rc = -1;

	memset(err, 0, sizeof(*err));
	if (admit(ps, user, req, err) != 0)
		goto out;
	/* The prompt's writes (conversation, prompt, the reply's row) are one
	 * transaction: one commit instead of up to four. Without it (no
	 * database, or BEGIN failed) each write commits alone, as before. */
	tx = ps->store != NULL && store_begin(ps->store) == STORE_OK;
	if (check_budget(ps, user, req->seed, err) != 0)
		goto out;
	if (req->seed) {
		if (store_seed(ps, user, req, req->conversation_id, title,
		    sizeof(title), err) != 0)
			goto out;
	} else if (store_conversation(ps, user, req, regenerate, title,
	    sizeof(title), &replaced, &branch, &prompt_id, &context, &meta,
	    err) != 0)
		goto out;
	struct reply_spec spec = { p, user, req->msgid, req->model,
	    req->stream, !req->seed, req->seed ? req->messages : context,
	    req->params, &req->info,
	    req->info.think == MODELS_THINK_OPEN ? THINK_OPEN :
	    req->info.think == MODELS_THINK_OFF ? THINK_OFF : THINK_AUTO };
	r = reply_new(ps->replies, &spec);
	if (r == NULL) {
		refuse(err, "server_error", "out of memory", NULL);
		goto out;
	}
	if (req->conversation_id[0] != '\0' &&
	    store_msg_add(ps->store, req->conversation_id, "assistant", "", 0,
	    STORE_STREAMING, req->model, &msg_row) != STORE_OK)
		log_err("could not store the reply msgid=%.40s", req->msgid);
	if (tx) {
		tx = 0;
		if (store_commit(ps->store) != STORE_OK) {
			/* Rolled back: nothing of this prompt is stored. */
			if (!req->seed) {
				refuse(err, "storage_error", "the conversation "
				    "could not be saved; try again", NULL);
				goto out;
			}
			log_err("could not store a seed-style prompt user=%s",
			    user);
			req->conversation_id[0] = '\0';  /* served unstored */
			msg_row = 0;
		}
	}
	rc = 0;
	if (reply_start(r, req->conversation_id, msg_row) != 0) {
		r = NULL;  /* ended with an error frame */
		goto out;
	}
	if (req->conversation_id[0] != '\0')
		/* The new user message, for other sessions showing the
		 * conversation; the seed client gets no frame of a shape it does
		 * not know. */
		reply_send(r, frame_start(req->msgid, req->conversation_id,
		    title, req->model, regenerate ? NULL : new_prompt(req),
		    replaced, regenerate ? NULL : meta, branch, prompt_id),
		    !req->seed);
	log_info("reply start user=%s msgid=%.40s conversation=%s model=%s "
	    "upstream=%s stream=%d%s", user, req->msgid,
	    req->conversation_id[0] ? req->conversation_id : "-", req->model,
	    reply_upstream_name(r), req->stream, regenerate ? " regenerate" :
	    req->edit_id > 0 ? " edit" : branch > 0 && replaced > 0 ?
	    " branch" : "");
	r = NULL;  /* in flight: reply.c has it */
out:
	if (tx)
		store_rollback(ps->store);
	reply_discard(r);
	cJSON_Delete(context);
	cJSON_Delete(meta);
	return rc;
}
