/* context.c - choosing from the store what the next reply is built on: the
 * context within its byte budget, and the conversation a re-sent
 * transcript continues. */
#include "context.h"

#include <stdlib.h>
#include <string.h>

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
	cJSON *rev;
	size_t used, budget;
	int n;
};

/* store_turn_fn: keeps a turn while it fits, the first one whatever its
 * size. */
static int
take_turn(void *arg, const char *role, const char *content, size_t len)
{
	struct budget *b = arg;

	if (b->used + len > b->budget && b->n > 0)
		return 1;
	if (strlen(content) != len) {
		log_err("context: a message holds a NUL byte");
		return -1;  /* cannot be a JSON string */
	}
	if (add_message(b->rev, role, content) != 0) {
		log_err("context: out of memory");
		return -1;
	}
	b->used += len;
	b->n++;
	return 0;
}

int
context_build(struct store *s, const char *conv_id, size_t budget,
    int max_messages, cJSON **out)
{
	struct budget b = { NULL, 0, budget, 0 };
	cJSON *arr = NULL;
	char *sys = NULL;
	int rc;

	*out = NULL;
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
match_turn(void *arg, const char *role, const char *content, size_t len)
{
	struct walk *w = arg;
	const cJSON *m = NULL, *r, *c;

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
