/* context.c - choosing from the store what the next reply is built on: the
 * context within its byte budget, and the conversation a re-sent
 * transcript continues. */
#include "context.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"

/* Appends {role,content} to arr. Returns 0, or -1 out of memory. */
static int
add_message(cJSON *arr, const char *role, const char *content)
{
	cJSON *m = cJSON_CreateObject();

	if (m == NULL || !cJSON_AddItemToArray(arr, m)) {
		cJSON_Delete(m);
		return -1;
	}
	return cJSON_AddStringToObject(m, "role", role) != NULL &&
	    cJSON_AddStringToObject(m, "content", content) != NULL ? 0 : -1;
}

/* The turns context_build collects, newest first. */
struct budget {
	struct store *s;
	cJSON *rev;
	size_t used, budget;
	int n;
	struct lc_buf text;    /* a turn's content and its text files */
	int images;            /* the turn being taken has images */
};

/* store_attach_fn: appends a text attachment to b->text as a fenced
 * block, notes an image. */
static int
add_text_file(void *arg, const struct store_attach *a)
{
	struct budget *b = arg;

	if (strcmp(a->kind, "text") != 0) {
		b->images++;
		return 0;
	}
	if (a->data == NULL || memchr(a->data, '\0', (size_t)a->bytes) != NULL)
		return -1;
	return buf_append_str(&b->text, "\n\n```") != LC_BUF_OK ||
	    buf_append_str(&b->text, a->name) != LC_BUF_OK ||
	    buf_append_str(&b->text, "\n") != LC_BUF_OK ||
	    buf_append(&b->text, a->data, (size_t)a->bytes) != LC_BUF_OK ||
	    buf_append_str(&b->text, "\n```") != LC_BUF_OK ? -1 : 0;
}

/* store_turn_fn: keeps a turn while it fits, the first one whatever its
 * size; a user message's text files are appended to its content and count
 * with it. A turn with images gets "msg_id" for context_build's second
 * pass. */
static int
take_turn(void *arg, long long id, const char *role, const char *content,
    size_t len)
{
	struct budget *b = arg;

	if (strlen(content) != len) {
		log_err("context: a message holds a NUL byte");
		return -1;  /* cannot be a JSON string */
	}
	buf_reset(&b->text);
	b->images = 0;
	if (buf_append(&b->text, content, len) != LC_BUF_OK ||
	    (strcmp(role, "user") == 0 && store_attach_each(b->s, id,
	    STORE_ATTACH_TEXT, add_text_file, b) != STORE_OK)) {
		log_err("context: a message's attachments could not be read");
		return -1;
	}
	if (b->used + b->text.len > b->budget && b->n > 0)
		return 1;
	if (add_message(b->rev, role, buf_str(&b->text)) != 0 ||
	    (b->images > 0 && cJSON_AddNumberToObject(cJSON_GetArrayItem(b->rev,
	    cJSON_GetArraySize(b->rev) - 1), "msg_id", (double)id) == NULL)) {
		log_err("context: out of memory");
		return -1;
	}
	b->used += b->text.len;
	b->n++;
	return 0;
}

/* The images context_build adds to one message, within its budget. */
struct images {
	cJSON *arr;
	size_t *used, budget;
	int always;        /* the newest message: whatever their size */
	int full;          /* one did not fit: no older one is sent */
};

/* store_attach_fn: adds an image {mime,data} (base64) while it fits. */
static int
add_image(void *arg, const struct store_attach *a)
{
	struct images *im = arg;
	size_t n = 4 * (((size_t)a->bytes + 2) / 3);
	char *b64;
	cJSON *o;

	if (strcmp(a->kind, "image") != 0 || a->data == NULL)
		return 0;
	if (!im->always && *im->used + n > im->budget) {
		im->full = 1;
		return 1;
	}
	if ((b64 = malloc(n + 1)) == NULL)
		return -1;
	store_base64(a->data, (size_t)a->bytes, b64);
	o = cJSON_CreateObject();
	if (o == NULL || cJSON_AddStringToObject(o, "mime", a->mime) == NULL ||
	    cJSON_AddStringToObject(o, "data", b64) == NULL ||
	    !cJSON_AddItemToArray(im->arr, o)) {
		cJSON_Delete(o);
		free(b64);
		return -1;
	}
	free(b64);
	if (!im->always)
		*im->used += n;
	return 0;
}

/* The second pass over the turns taken (rev, newest first): the newest
 * message's images always, an earlier one's while their base64 fits in
 * what the text left of the budget, none older than one that did not.
 * Each message with images gets "images":[{mime,data}]; "msg_id" goes. */
static int
add_images(struct store *s, cJSON *rev, size_t *used, size_t budget,
    int images)
{
	struct images im = { NULL, used, budget, 1, 0 };
	cJSON *m;

	cJSON_ArrayForEach(m, rev) {
		cJSON *id = cJSON_DetachItemFromObjectCaseSensitive(m, "msg_id");
		if (id == NULL) {
			im.always = 0;
			continue;
		}
		long long msg = (long long)id->valuedouble;
		cJSON_Delete(id);
		if (images && !im.full) {
			if ((im.arr = cJSON_AddArrayToObject(m, "images")) == NULL ||
			    store_attach_each(s, msg, STORE_ATTACH_DATA, add_image,
			    &im) != STORE_OK)
				return -1;
			if (cJSON_GetArraySize(im.arr) == 0)
				cJSON_DeleteItemFromObjectCaseSensitive(m, "images");
		}
		im.always = 0;
	}
	return 0;
}

int
context_build(struct store *s, const char *conv_id, size_t budget,
    int max_messages, int images, cJSON **out)
{
	struct budget b = { s, NULL, 0, budget, 0, { NULL, 0, 0, 0 }, 0 };
	cJSON *arr = NULL;
	char *sys = NULL;
	int rc;

	*out = NULL;
	/* A turn's text: the prompt (at most max_message) and its files. */
	buf_init(&b.text, (size_t)64 << 20);
	rc = store_conv_system(s, conv_id, &sys);
	if (rc != STORE_OK)
		goto out;
	rc = STORE_ERR;
	if ((arr = cJSON_CreateArray()) == NULL ||
	    (b.rev = cJSON_CreateArray()) == NULL ||
	    /* The system prompt first, if any: it counts against the budget. */
	    (sys[0] != '\0' && add_message(arr, "system", sys) != 0)) {
		log_err("context: out of memory");
		goto out;
	}
	b.used = strlen(sys);
	/* Then the newest turns that fit, collected newest first. */
	if (store_conv_turns(s, conv_id, max_messages, take_turn, &b) !=
	    STORE_OK)
		goto out;
	if (add_images(s, b.rev, &b.used, budget, images) != 0) {
		log_err("context: the images could not be read");
		goto out;
	}
	for (int i = cJSON_GetArraySize(b.rev) - 1; i >= 0; i--) {
		cJSON *m = cJSON_DetachItemFromArray(b.rev, i);
		if (!cJSON_AddItemToArray(arr, m)) {
			cJSON_Delete(m);
			log_err("context: out of memory");
			goto out;
		}
	}
	*out = arr;
	arr = NULL;
	rc = STORE_OK;
out:
	cJSON_Delete(arr);
	cJSON_Delete(b.rev);
	buf_free(&b.text);
	free(sys);
	return rc;
}

/* Returns 1 if m (an element of a checked history) is a user/assistant
 * message, else 0. */
static int
is_turn(const cJSON *m)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "role");

	return cJSON_IsString(r) && strcmp(r->valuestring, "system") != 0;
}

/* A transcript walked backwards against a conversation's newest turns. */
struct walk {
	const cJSON *history;
	int i;          /* the history element to compare next, walking down */
	int seen;       /* turns compared */
	int match;      /* all of them equal so far */
};

/* store_turn_fn: compares the next stored turn with the next of
 * history's, skipping its system messages; stops at the first
 * difference. */
static int
match_turn(void *arg, long long id, const char *role, const char *content,
    size_t len)
{
	struct walk *w = arg;
	const cJSON *m = NULL, *r, *c;

	(void)id;
	for (; w->i >= 0; w->i--) {
		m = cJSON_GetArrayItem(w->history, w->i);
		if (is_turn(m))
			break;
	}
	if (w->i < 0)
		return 1;
	r = cJSON_GetObjectItemCaseSensitive(m, "role");
	c = cJSON_GetObjectItemCaseSensitive(m, "content");
	w->match = cJSON_IsString(c) && strcmp(role, r->valuestring) == 0 &&
	    strlen(c->valuestring) == len &&
	    memcmp(content, c->valuestring, len) == 0;
	w->seen++;
	w->i--;
	return w->match ? 0 : 1;
}

/* Returns 1 if conversation conv_id's newest n turns equal history's n
 * user/assistant messages, 0 if not, STORE_ERR on failure. */
static int
transcript_matches(struct store *s, const char *conv_id,
    const cJSON *history, int n)
{
	struct walk w = { history, cJSON_GetArraySize(history) - 1, 0, 1 };

	if (store_conv_turns(s, conv_id, n, match_turn, &w) != STORE_OK)
		return STORE_ERR;
	return w.match && w.seen == n;
}

int
context_find_transcript(struct store *s, const char *user,
    const cJSON *history, char id[ID_LEN + 1])
{
	char ids[CONTEXT_CANDIDATES][ID_LEN + 1];
	int count = 0, n = 0;
	const cJSON *m;

	if (store_conv_recent(s, user, CONTEXT_CANDIDATES, ids, &count) !=
	    STORE_OK)
		return STORE_ERR;
	cJSON_ArrayForEach(m, history)
		n += is_turn(m);
	if (n == 0)
		return STORE_NOT_FOUND;
	for (int k = 0; k < count; k++) {
		int r = transcript_matches(s, ids[k], history, n);
		if (r == STORE_ERR)
			return STORE_ERR;
		if (r == 1) {
			memcpy(id, ids[k], ID_LEN + 1);
			return STORE_OK;
		}
	}
	return STORE_NOT_FOUND;
}
