/* cluster_msg.c - the workers' messages to each other: built and read with
 * cJSON (lib/json.c's strict parser for what arrives), and frames too long
 * for one NOTIFY payload cut into pieces that fit (cmsg_split). */
#include "cluster_msg.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "frames.h"
#include "json.h"
#include "log.h"

/* The largest n and row written: cJSON's numbers are doubles, exact and
 * printed as integers up to here. */
#define CMSG_NUM_MAX 999999999999999LL
/* What a snapshot's optional members ("reasoning", "thinking",
 * "reasoning_ms") may add beyond their text, escaped twice, with room. */
#define SNAP_SLACK 128

static const char *const type_names[CMSG__MAX] = {
	"watch", "snap", "frame", "stop", "interrupted",
};

const char *
cmsg_type_name(enum cmsg_type t)
{
	return (unsigned)t < CMSG__MAX ? type_names[t] : NULL;
}

int
cmsg_worker_valid(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > CMSG_WORKER_MAX)
		return 0;
	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)s[k];
		if (c > 0x7f || (!isalnum(c) && c != '.' && c != '_' &&
		    c != '-'))
			return 0;
	}
	return 1;
}

static int
instance_valid(const char *s)
{
	if (strlen(s) != CMSG_INSTANCE_LEN)
		return 0;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
			return 0;
	return 1;
}

int
cmsg_encode(const struct cmsg *m, char *out, size_t cap)
{
	cJSON *o = cJSON_CreateObject();
	char *s = NULL;
	int rc = -2;
	size_t n;

	if (o == NULL || cmsg_type_name(m->type) == NULL)
		goto out;
	if (cJSON_AddStringToObject(o, "t", type_names[m->type]) == NULL ||
	    cJSON_AddStringToObject(o, "w", m->w) == NULL ||
	    cJSON_AddStringToObject(o, "i", m->i) == NULL ||
	    cJSON_AddNumberToObject(o, "n", (double)m->n) == NULL ||
	    cJSON_AddStringToObject(o, "u", m->u) == NULL)
		goto out;
	if (m->c[0] != '\0' && cJSON_AddStringToObject(o, "c", m->c) == NULL)
		goto out;
	switch (m->type) {
	case CMSG_WATCH:
		if (m->again && cJSON_AddTrueToObject(o, "again") == NULL)
			goto out;
		break;
	case CMSG_SNAP:
		if (cJSON_AddStringToObject(o, "to", m->to) == NULL)
			goto out;
		/* FALLTHROUGH */
	case CMSG_FRAME:
		if (cJSON_AddStringToObject(o, "line", m->line) == NULL)
			goto out;
		break;
	case CMSG_STOP:
		if (m->m[0] != '\0' &&
		    cJSON_AddStringToObject(o, "m", m->m) == NULL)
			goto out;
		break;
	case CMSG_INTERRUPTED:
		if (cJSON_AddNumberToObject(o, "m", (double)m->row) == NULL)
			goto out;
		break;
	case CMSG__MAX:
		goto out;
	}
	s = cJSON_PrintUnformatted(o);
	if (s == NULL)
		goto out;
	n = strlen(s);
	rc = -1;
	if (n >= CMSG_PAYLOAD_MAX || n >= cap)
		goto out;
	memcpy(out, s, n + 1);
	rc = (int)n;
out:
	cJSON_free(s);
	cJSON_Delete(o);
	return rc;
}

/* Copies o's string member name into out (cap bytes) if it is a string
 * of 1 to cap - 1 bytes. Returns 0, or -1 (absent, not a string, empty or
 * too long: *why says which member). */
static int
get_str(const cJSON *o, const char *name, char *out, size_t cap,
    const char **why, const char *what)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	size_t n;

	if (!cJSON_IsString(v) || (n = strlen(v->valuestring)) == 0 ||
	    n >= cap) {
		*why = what;
		return -1;
	}
	memcpy(out, v->valuestring, n + 1);
	return 0;
}

/* A whole number 1..CMSG_NUM_MAX in o's member name. */
static int
get_num(const cJSON *o, const char *name, long long *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsNumber(v) || v->valuedouble < 1 ||
	    v->valuedouble > (double)CMSG_NUM_MAX ||
	    v->valuedouble != (double)(long long)v->valuedouble)
		return -1;
	*out = (long long)v->valuedouble;
	return 0;
}

int
cmsg_decode(const char *payload, size_t len, struct cmsg *m,
    const char **why)
{
	cJSON *o = NULL;
	const cJSON *t;
	long long n;
	int rc = -1;

	memset(m, 0, offsetof(struct cmsg, line_buf));
	m->line_buf[0] = '\0';
	*why = "too long";
	if (len >= CMSG_PAYLOAD_MAX + 100)  /* a little over: still read */
		goto out;
	o = json_parse_strict(payload, len, why);
	if (!cJSON_IsObject(o)) {
		if (o != NULL)
			*why = "not an object";
		goto out;
	}
	t = cJSON_GetObjectItemCaseSensitive(o, "t");
	if (!cJSON_IsString(t)) {
		*why = "no type";
		goto out;
	}
	m->type = CMSG__MAX;
	for (int k = 0; k < CMSG__MAX; k++)
		if (strcmp(t->valuestring, type_names[k]) == 0)
			m->type = (enum cmsg_type)k;
	if (m->type == CMSG__MAX) {
		*why = "unknown type";
		rc = 1;
		goto out;
	}
	if (get_str(o, "w", m->w, sizeof(m->w), why, "bad w") != 0 ||
	    !cmsg_worker_valid(m->w)) {
		*why = "bad w";
		goto out;
	}
	if (get_str(o, "i", m->i, sizeof(m->i), why, "bad i") != 0 ||
	    !instance_valid(m->i)) {
		*why = "bad i";
		goto out;
	}
	if (get_num(o, "n", &n) != 0) {
		*why = "bad n";
		goto out;
	}
	m->n = (unsigned long long)n;
	if (get_str(o, "u", m->u, sizeof(m->u), why, "bad u") != 0 ||
	    !username_valid(m->u)) {
		*why = "bad u";
		goto out;
	}
	/* Every type names a conversation but stop, where it is optional. */
	if (m->type != CMSG_STOP ||
	    cJSON_GetObjectItemCaseSensitive(o, "c") != NULL) {
		if (get_str(o, "c", m->c, sizeof(m->c), why, "bad c") != 0 ||
		    !id_valid(m->c)) {
			*why = "bad c";
			goto out;
		}
	}
	switch (m->type) {
	case CMSG_WATCH: {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "again");
		if (a != NULL && !cJSON_IsBool(a)) {
			*why = "bad again";
			goto out;
		}
		m->again = cJSON_IsTrue(a);
		break;
	}
	case CMSG_SNAP:
		if (get_str(o, "to", m->to, sizeof(m->to), why, "bad to") != 0 ||
		    !cmsg_worker_valid(m->to)) {
			*why = "bad to";
			goto out;
		}
		/* FALLTHROUGH */
	case CMSG_FRAME: {
		cJSON *line;
		if (get_str(o, "line", m->line_buf, sizeof(m->line_buf), why,
		    "bad line") != 0)
			goto out;
		/* Only a JSON object reaches a session. */
		line = json_parse_strict(m->line_buf, strlen(m->line_buf), why);
		int obj = cJSON_IsObject(line);
		cJSON_Delete(line);
		if (!obj) {
			*why = "line is not a JSON object";
			goto out;
		}
		m->line = m->line_buf;
		break;
	}
	case CMSG_STOP: {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "m");
		if (v != NULL && get_str(o, "m", m->m, sizeof(m->m), why,
		    "bad m") != 0)
			goto out;
		if (m->m[0] == '\0' && m->c[0] == '\0') {
			*why = "stop names no msgid and no conversation";
			goto out;
		}
		break;
	}
	case CMSG_INTERRUPTED:
		if (get_num(o, "m", &m->row) != 0) {
			*why = "bad m";
			goto out;
		}
		break;
	case CMSG__MAX:
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}

int
cmsg_line_info(const char *line, char type[16],
    char msgid[REQUEST_MSGID_MAX + 1])
{
	cJSON *o = cJSON_Parse(line);
	const cJSON *t, *id;

	type[0] = '\0';
	msgid[0] = '\0';
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return -1;
	}
	t = cJSON_GetObjectItemCaseSensitive(o, "type");
	id = cJSON_GetObjectItemCaseSensitive(o, "msgid");
	if (cJSON_IsString(t))
		snprintf(type, 16, "%s", t->valuestring);
	if (cJSON_IsString(id))
		snprintf(msgid, REQUEST_MSGID_MAX + 1, "%s", id->valuestring);
	cJSON_Delete(o);
	return 0;
}

/* ------------------------------------------------------------ splitting -- */

/* What byte c of a text costs in a payload: escaped by cJSON once in the
 * frame line ('"' and '\' as \" \\, \b \f \n \r \t as two bytes, other
 * control bytes as \u00XX) and once more in the payload's "line". */
static size_t
cost(unsigned char c)
{
	if (c == '"' || c == '\\')
		return 4;
	if (c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
		return 3;
	if (c < 0x20)
		return 7;
	return 1;
}

/* The bytes of the UTF-8 sequence that starts at s (1 for a stray or
 * broken byte: the text is valid, but never read past its end). */
static size_t
seq_len(const char *s)
{
	unsigned char c = (unsigned char)s[0];
	size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 :
	    (c >> 3) == 30 ? 4 : 1;

	for (size_t k = 1; k < n; k++)
		if (((unsigned char)s[k] & 0xc0) != 0x80)
			return 1;
	return n;
}

/* The length of text's longest start that costs at most budget, cut
 * between characters; *spent gets its cost. */
static size_t
fit(const char *text, size_t budget, size_t *spent)
{
	size_t k = 0, c = 0;

	while (text[k] != '\0') {
		size_t n = seq_len(text + k), x = 0;
		for (size_t j = 0; j < n; j++)
			x += cost((unsigned char)text[k + j]);
		if (c + x > budget)
			break;
		c += x;
		k += n;
	}
	if (spent != NULL)
		*spent = c;
	return k;
}

/* Encodes piece with the largest n, to learn its size. Returns the length
 * or -1. */
static int
measure(struct cmsg *piece)
{
	char buf[CMSG_PAYLOAD_MAX];
	unsigned long long n = piece->n;
	int len;

	piece->n = (unsigned long long)CMSG_NUM_MAX;
	len = cmsg_encode(piece, buf, sizeof(buf));
	piece->n = n;
	return len;
}

/* Emits line as piece's line, after checking it fits. */
static int
emit_line(struct cmsg *piece, const char *line, cmsg_emit_fn emit, void *arg)
{
	piece->line = line;
	if (measure(piece) < 0) {
		log_err("cluster: a frame piece does not fit a message");
		return -1;
	}
	return emit(arg, piece);
}

typedef char *(*text_frame_fn)(const char *msgid, const char *conv,
    const char *text);

/* Emits text as frames made by make (delta or reasoning frames of msgid
 * in conv), in as few pieces of m's type as fit. Returns the number
 * emitted or -1. */
static int
split_text(const struct cmsg *m, text_frame_fn make, const char *msgid,
    const char *conv, const char *text, cmsg_emit_fn emit, void *arg)
{
	struct cmsg *piece = malloc(sizeof(*piece));
	char *line = NULL, *chunk = NULL;
	size_t len = strlen(text), budget, k;
	int over, count = 0, rc = -1;

	if (piece == NULL)
		goto out;
	memcpy(piece, m, offsetof(struct cmsg, line_buf));
	line = make(msgid, conv, "");
	chunk = malloc(len + 1);
	if (line == NULL || chunk == NULL)
		goto out;
	piece->line = line;
	over = measure(piece);
	if (over < 0 || over + 1 >= CMSG_PAYLOAD_MAX)
		goto out;
	budget = (size_t)(CMSG_PAYLOAD_MAX - 1 - over);
	for (k = 0; k < len; ) {
		size_t n = fit(text + k, budget, NULL);
		if (n == 0)
			n = seq_len(text + k);  /* cannot be: a char is <= 7 */
		memcpy(chunk, text + k, n);
		chunk[n] = '\0';
		k += n;
		free(line);
		line = make(msgid, conv, chunk);
		if (line == NULL || emit_line(piece, line, emit, arg) != 0)
			goto out;
		count++;
	}
	rc = count;
out:
	free(chunk);
	free(line);
	free(piece);
	return rc;
}

/* A snapshot too long: the start of its reasoning and content, then the
 * rest as reasoning and delta frames. */
static int
split_snapshot(struct cmsg *m, const cJSON *f, cmsg_emit_fn emit, void *arg)
{
	const char *msgid = json_str(f, "msgid"), *conv = json_str(f,
	    "conversation_id"), *model = json_str(f, "model");
	const char *content = json_str(f, "content"), *rsn = json_str(f,
	    "reasoning");
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(f, "reasoning_ms");
	struct frame_reasoning r = { "", -1 };
	char *line = NULL, *cpart = NULL, *rpart = NULL;
	size_t budget, rbudget, rlen = 0, clen, spent;
	int over, n, count = 0;

	if (msgid == NULL || content == NULL)
		return -1;
	if (conv == NULL)
		conv = "";
	if (model == NULL)
		model = "";
	if (rsn == NULL)
		rsn = "";
	if (cJSON_IsNumber(ms))
		r.ms = (long long)ms->valuedouble;
	line = frame_snapshot(msgid, conv, model, "", &r);
	if (line == NULL)
		return -1;
	m->line = line;
	over = measure(m);
	free(line);
	line = NULL;
	if (over < 0 || over + 1 + SNAP_SLACK >= CMSG_PAYLOAD_MAX)
		return -1;
	budget = (size_t)(CMSG_PAYLOAD_MAX - 1 - SNAP_SLACK - over);
	/* Half for the reasoning when there is an answer too. */
	rbudget = content[0] != '\0' ? budget / 2 : budget;
	rlen = fit(rsn, rbudget, &spent);
	clen = fit(content, budget - spent, NULL);
	rpart = strndup(rsn, rlen);
	cpart = strndup(content, clen);
	if (rpart == NULL || cpart == NULL)
		goto fail;
	r.text = rpart;
	line = frame_snapshot(msgid, conv, model, cpart, &r);
	if (line == NULL || emit_line(m, line, emit, arg) != 0)
		goto fail;
	count = 1;
	if (rsn[rlen] != '\0') {
		n = split_text(m, frame_reasoning, msgid, conv, rsn + rlen,
		    emit, arg);
		if (n < 0)
			goto fail;
		count += n;
	}
	if (content[clen] != '\0') {
		n = split_text(m, frame_delta, msgid, conv, content + clen, emit,
		    arg);
		if (n < 0)
			goto fail;
		count += n;
	}
	free(line);
	free(rpart);
	free(cpart);
	return count;
fail:
	free(line);
	free(rpart);
	free(cpart);
	return -1;
}

int
cmsg_split(struct cmsg *m, cmsg_emit_fn emit, void *arg)
{
	cJSON *f = NULL;
	const char *type, *msgid, *conv;
	const char *orig = m->line;
	char *line = NULL;
	int len = measure(m), rc = -1;

	if (len == -2)
		return -1;
	if (len >= 0)
		return emit(arg, m) == 0 ? 1 : -1;
	f = cJSON_Parse(m->line);
	type = cJSON_IsObject(f) ? json_str(f, "type") : NULL;
	if (type == NULL)
		goto out;
	msgid = json_str(f, "msgid");
	conv = json_str(f, "conversation_id");
	if (strcmp(type, "delta") == 0 || strcmp(type, "reasoning") == 0) {
		const char *text = json_str(f, "delta");
		if (text != NULL && msgid != NULL)
			rc = split_text(m, type[0] == 'd' ? frame_delta :
			    frame_reasoning, msgid, conv, text, emit, arg);
		goto out;
	}
	if (strcmp(type, "snapshot") == 0) {
		rc = split_snapshot(m, f, emit, arg);
		goto out;
	}
	if (strcmp(type, "reply") == 0) {
		cJSON *text = cJSON_GetObjectItemCaseSensitive(f, "text");
		if (cJSON_IsObject(text))
			cJSON_DeleteItemFromObjectCaseSensitive(text, "content");
		cJSON_DeleteItemFromObjectCaseSensitive(f, "reasoning");
	} else if (strcmp(type, "error") == 0) {
		cJSON *e = cJSON_GetObjectItemCaseSensitive(f, "error");
		if (cJSON_IsObject(e))
			cJSON_DeleteItemFromObjectCaseSensitive(e, "partial");
	} else if (strcmp(type, "start") == 0) {
		cJSON_DeleteItemFromObjectCaseSensitive(f, "prompt");
		cJSON_DeleteItemFromObjectCaseSensitive(f, "attachments");
	} else {
		goto out;
	}
	line = cJSON_PrintUnformatted(f);
	if (line != NULL && emit_line(m, line, emit, arg) == 0)
		rc = 1;
out:
	m->line = orig;
	cJSON_free(line);
	cJSON_Delete(f);
	return rc;
}
