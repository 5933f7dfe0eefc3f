/* test-cluster.c - unit tests of what is pure in the workers' link across
 * hosts: the messages (worker/cluster_msg.c: encode, strict decode, frames
 * cut to fit a NOTIFY payload) and the interest table's freshness
 * (worker/interest.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cluster_msg.h"
#include "frames.h"
#include "interest.h"
#include "unit.h"

#define CONV "0123456789abcdef0123456789abcdef"
#define INST "00112233aabbccdd"

static void
base(struct cmsg *m, enum cmsg_type t)
{
	memset(m, 0, sizeof(*m));
	m->type = t;
	snprintf(m->w, sizeof(m->w), "host-a.example_1");
	snprintf(m->i, sizeof(m->i), INST);
	m->n = 42;
	snprintf(m->u, sizeof(m->u), "alice");
	snprintf(m->c, sizeof(m->c), CONV);
}

static void
test_roundtrip(void)
{
	struct cmsg m, d;
	char buf[CMSG_PAYLOAD_MAX];
	const char *why = NULL;
	int n;

	base(&m, CMSG_WATCH);
	m.again = 1;
	n = cmsg_encode(&m, buf, sizeof(buf));
	CHECK(n > 0, "watch encodes");
	CHECK(cmsg_decode(buf, (size_t)n, &d, &why) == 0, "watch decodes");
	CHECK(d.type == CMSG_WATCH && d.again == 1 && d.n == 42,
	    "watch: type, again, n");
	CHECK_STR(d.w, "host-a.example_1", "watch: w");
	CHECK_STR(d.i, INST, "watch: i");
	CHECK_STR(d.u, "alice", "watch: u");
	CHECK_STR(d.c, CONV, "watch: c");

	base(&m, CMSG_SNAP);
	snprintf(m.to, sizeof(m.to), "host-b");
	m.line = "{\"type\":\"idle\",\"conversation_id\":\"" CONV "\"}";
	n = cmsg_encode(&m, buf, sizeof(buf));
	CHECK(n > 0 && cmsg_decode(buf, (size_t)n, &d, &why) == 0,
	    "snap round trip");
	CHECK_STR(d.to, "host-b", "snap: to");
	CHECK_STR(d.line, m.line, "snap: line");

	base(&m, CMSG_FRAME);
	m.line = "{\"msgid\":\"m-1\",\"type\":\"delta\",\"delta\":\"a \\\"q\\\"\\n\"}";
	n = cmsg_encode(&m, buf, sizeof(buf));
	CHECK(n > 0 && cmsg_decode(buf, (size_t)n, &d, &why) == 0,
	    "frame round trip");
	CHECK_STR(d.line, m.line, "frame: line kept byte for byte");

	base(&m, CMSG_STOP);
	m.c[0] = '\0';
	snprintf(m.m, sizeof(m.m), "m-7");
	n = cmsg_encode(&m, buf, sizeof(buf));
	CHECK(n > 0 && cmsg_decode(buf, (size_t)n, &d, &why) == 0,
	    "stop by msgid round trip");
	CHECK(strcmp(d.m, "m-7") == 0 && d.c[0] == '\0', "stop: m, no c");

	base(&m, CMSG_INTERRUPTED);
	m.row = 123456789012LL;
	n = cmsg_encode(&m, buf, sizeof(buf));
	CHECK(n > 0 && cmsg_decode(buf, (size_t)n, &d, &why) == 0,
	    "interrupted round trip");
	CHECK(d.row == 123456789012LL, "interrupted: the message's id");
}

/* decode(text) is refused (-1). */
static void
refused(const char *text, const char *name)
{
	struct cmsg d;
	const char *why = NULL;

	CHECK(cmsg_decode(text, strlen(text), &d, &why) == -1 && why != NULL,
	    name);
}

#define HEAD "\"w\":\"a\",\"i\":\"" INST "\",\"n\":1,\"u\":\"bob\""

static void
test_strict(void)
{
	struct cmsg d;
	const char *why = NULL;
	const char *unknown = "{\"t\":\"gossip\"," HEAD "}";
	char big[CMSG_PAYLOAD_MAX + 200];

	CHECK(cmsg_decode(unknown, strlen(unknown), &d, &why) == 1,
	    "an unknown type is ignored, not an error");
	refused("", "empty payload");
	refused("[]", "not an object");
	refused("{\"t\":\"watch\"," HEAD ",\"c\":\"" CONV "\"} x",
	    "text after the object");
	refused("{\"t\":\"watch\"," HEAD ",\"c\":\"" CONV "\"}{}",
	    "two objects");
	refused("{\"t\":\"watch\",\"w\":\"a b\",\"i\":\"" INST "\",\"n\":1,"
	    "\"u\":\"bob\",\"c\":\"" CONV "\"}", "a worker id with a space");
	refused("{\"t\":\"watch\",\"w\":\"a\",\"i\":\"xyz\",\"n\":1,"
	    "\"u\":\"bob\",\"c\":\"" CONV "\"}", "a bad instance");
	refused("{\"t\":\"watch\",\"w\":\"a\",\"i\":\"" INST "\",\"n\":0,"
	    "\"u\":\"bob\",\"c\":\"" CONV "\"}", "n 0");
	refused("{\"t\":\"watch\",\"w\":\"a\",\"i\":\"" INST "\",\"n\":1.5,"
	    "\"u\":\"bob\",\"c\":\"" CONV "\"}", "n not whole");
	refused("{\"t\":\"watch\",\"w\":\"a\",\"i\":\"" INST "\",\"n\":1,"
	    "\"u\":\"-bob\",\"c\":\"" CONV "\"}", "a user name the rule refuses");
	refused("{\"t\":\"watch\"," HEAD ",\"c\":\"../etc\"}",
	    "a conversation id of the wrong shape");
	refused("{\"t\":\"watch\"," HEAD "}", "watch without c");
	refused("{\"t\":\"watch\"," HEAD ",\"c\":\"" CONV "\",\"again\":1}",
	    "again not a boolean");
	refused("{\"t\":\"frame\"," HEAD ",\"c\":\"" CONV "\",\"line\":\"x\"}",
	    "a line that is not JSON");
	refused("{\"t\":\"frame\"," HEAD ",\"c\":\"" CONV "\",\"line\":\"[1]\"}",
	    "a line that is not an object");
	refused("{\"t\":\"frame\"," HEAD ",\"c\":\"" CONV "\","
	    "\"line\":\"{\\\"a\\\":1} {}\"}", "a line with text after it");
	refused("{\"t\":\"snap\"," HEAD ",\"c\":\"" CONV "\",\"line\":\"{}\"}",
	    "snap without to");
	refused("{\"t\":\"stop\"," HEAD "}", "stop naming nothing");
	refused("{\"t\":\"interrupted\"," HEAD ",\"c\":\"" CONV "\","
	    "\"m\":\"7\"}", "interrupted with a string m");
	refused("{\"t\":\"watch\"," HEAD ",\"c\":\"" CONV "\\u0000\"}",
	    "a NUL escape");
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[0] = '{';
	refused(big, "a payload far over the limit");
	CHECK(cmsg_worker_valid("a.b_c-9") && !cmsg_worker_valid("") &&
	    !cmsg_worker_valid("a/b") && !cmsg_worker_valid("é"),
	    "worker id rule");
}

/* What the split pieces carry, put back together as a receiving page
 * would: the snapshot's content and reasoning, then the deltas. */
struct got {
	int pieces, bad, snapshots, other;
	enum cmsg_type type;
	size_t longest;
	char *content, *reasoning;
	char *last;    /* the last piece's line */
};

static void
append(char **to, const char *s)
{
	size_t a = *to != NULL ? strlen(*to) : 0, b = strlen(s);
	char *p = realloc(*to, a + b + 1);

	if (p == NULL)
		exit(2);
	memcpy(p + a, s, b + 1);
	*to = p;
}

static int
collect(void *arg, struct cmsg *piece)
{
	struct got *g = arg;
	char buf[CMSG_PAYLOAD_MAX];
	struct cmsg d;
	const char *why;
	cJSON *f;
	int n;

	piece->n = 999999999999999ULL;
	n = cmsg_encode(piece, buf, sizeof(buf));
	g->pieces++;
	if (n < 0 || cmsg_decode(buf, (size_t)n, &d, &why) != 0) {
		g->bad++;
		return 0;
	}
	if ((size_t)n > g->longest)
		g->longest = (size_t)n;
	if (d.type != g->type)
		g->bad++;
	free(g->last);
	g->last = strdup(d.line);
	f = cJSON_Parse(d.line);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(f, "type");
	const char *type = cJSON_IsString(t) ? t->valuestring : "";
	if (strcmp(type, "snapshot") == 0) {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(f, "content");
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(f, "reasoning");
		g->snapshots++;
		append(&g->content, cJSON_IsString(c) ? c->valuestring : "");
		append(&g->reasoning, cJSON_IsString(r) ? r->valuestring : "");
	} else if (strcmp(type, "delta") == 0 ||
	    strcmp(type, "reasoning") == 0) {
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(f, "delta");
		append(type[0] == 'd' ? &g->content : &g->reasoning,
		    cJSON_IsString(x) ? x->valuestring : "");
	} else {
		g->other++;
	}
	cJSON_Delete(f);
	return 0;
}

static void
got_free(struct got *g)
{
	free(g->content);
	free(g->reasoning);
	free(g->last);
	memset(g, 0, sizeof(*g));
}

/* A text of n bytes that costs the most to escape, with every kind of
 * character: quotes, backslashes, newlines, control bytes, 2-, 3- and
 * 4-byte UTF-8. */
static char *
hard_text(size_t n)
{
	static const char *const parts[] = { "\"", "\\", "\n", "\x01", "é",
	    "€", "𝄞", "word ", "\t" };
	char *s = malloc(n + 8);
	size_t k = 0, i = 0;

	if (s == NULL)
		exit(2);
	while (k < n) {
		const char *p = parts[i++ % (sizeof(parts) / sizeof(parts[0]))];
		memcpy(s + k, p, strlen(p));
		k += strlen(p);
	}
	s[k] = '\0';
	return s;
}

static void
test_split(void)
{
	struct cmsg m;
	struct got g;
	char *text = hard_text(50000), *reason = hard_text(20000), *line;
	int n;

	memset(&g, 0, sizeof(g));
	base(&m, CMSG_FRAME);
	m.line = "{\"msgid\":\"m-1\",\"type\":\"delta\",\"delta\":\"hi\"}";
	g.type = CMSG_FRAME;
	CHECK(cmsg_split(&m, collect, &g) == 1 && g.pieces == 1 && g.bad == 0,
	    "a small frame goes as one piece");
	CHECK_STR(g.last, m.line, "a small frame goes as it is");
	got_free(&g);

	line = frame_delta("m-1", CONV, text);
	m.line = line;
	g.type = CMSG_FRAME;
	n = cmsg_split(&m, collect, &g);
	CHECK(n > 1 && n == g.pieces && g.bad == 0,
	    "a long delta: several valid pieces");
	CHECK(g.longest < CMSG_PAYLOAD_MAX, "each piece under the limit");
	CHECK(g.longest > CMSG_PAYLOAD_MAX - 16,
	    "pieces are filled (the cost of escaping counted exactly)");
	CHECK(g.content != NULL && strcmp(g.content, text) == 0,
	    "the pieces' deltas are the text, cut between characters");
	CHECK(m.line == line, "the message's line is given back");
	got_free(&g);
	free(line);

	line = frame_reasoning("m-1", CONV, reason);
	m.line = line;
	g.type = CMSG_FRAME;
	n = cmsg_split(&m, collect, &g);
	CHECK(n > 1 && g.bad == 0 && g.reasoning != NULL &&
	    strcmp(g.reasoning, reason) == 0, "a long reasoning frame too");
	got_free(&g);
	free(line);

	struct frame_reasoning r = { reason, 1234 };
	line = frame_snapshot("m-1", CONV, "gpt-x", text, &r);
	base(&m, CMSG_SNAP);
	snprintf(m.to, sizeof(m.to), "host-b");
	m.line = line;
	g.type = CMSG_SNAP;
	n = cmsg_split(&m, collect, &g);
	CHECK(n > 1 && g.bad == 0 && g.snapshots == 1,
	    "a long snapshot: one snapshot, then its rest, all snap pieces");
	CHECK(g.content != NULL && strcmp(g.content, text) == 0,
	    "snapshot: the content comes whole");
	CHECK(g.reasoning != NULL && strcmp(g.reasoning, reason) == 0,
	    "snapshot: the reasoning comes whole");
	got_free(&g);
	free(line);

	struct lc_usage u = { 0 };
	line = frame_reply("m-1", CONV, text, "gpt-x", "stop", &u, &r);
	base(&m, CMSG_FRAME);
	m.line = line;
	g.type = CMSG_FRAME;
	CHECK(cmsg_split(&m, collect, &g) == 1 && g.bad == 0,
	    "a long final frame: one piece");
	CHECK(g.last != NULL && strstr(g.last, "\"type\":\"reply\"") != NULL &&
	    strstr(g.last, "\"content\"") == NULL &&
	    strstr(g.last, "\"reasoning\":") == NULL &&
	    strstr(g.last, "\"finish_reason\":\"stop\"") != NULL,
	    "a long final frame loses its text, keeps the rest");
	got_free(&g);
	free(line);

	struct frame_error e = { "m-1", CONV, "upstream_error", "it broke",
	    NULL, 502, -1, text, NULL, NULL };
	line = frame_error(&e);
	m.line = line;
	g.type = CMSG_FRAME;
	CHECK(cmsg_split(&m, collect, &g) == 1 && g.last != NULL &&
	    strstr(g.last, "\"partial\"") == NULL &&
	    strstr(g.last, "upstream_error") != NULL,
	    "a long error frame loses its partial");
	got_free(&g);
	free(line);

	line = frame_start("m-1", CONV, "title", "gpt-x", text, 0, NULL, 0, 7);
	m.line = line;
	g.type = CMSG_FRAME;
	CHECK(cmsg_split(&m, collect, &g) == 1 && g.last != NULL &&
	    strstr(g.last, "\"prompt\":") == NULL &&
	    strstr(g.last, "\"type\":\"start\"") != NULL,
	    "a long start frame loses its prompt");
	got_free(&g);
	free(line);

	char *odd = malloc(20000);
	if (odd == NULL)
		exit(2);
	snprintf(odd, 20000, "{\"type\":\"unknown\",\"x\":\"%.15000s\"}", text);
	m.line = odd;
	g.type = CMSG_FRAME;
	CHECK(cmsg_split(&m, collect, &g) == -1 && g.pieces == 0,
	    "a long frame of another type is not sent");
	got_free(&g);
	free(odd);
	free(text);
	free(reason);
}

static void
test_interest(void)
{
	struct interest *t = interest_new(4);
	struct interest_entry *e;
	const long long ttl = 12000;
	int fresh = -1;
	char conv[ID_LEN + 1];

	if (t == NULL)
		exit(2);
	CHECK(interest_fresh(t, "alice", CONV, 1000, ttl) == NULL,
	    "empty: nobody follows");
	e = interest_remote(t, "alice", CONV, 1000, ttl, &fresh);
	CHECK(e != NULL && fresh == 0, "a first watch: not fresh before");
	CHECK(interest_remote_count(t) == 1, "one remote interest");
	e = interest_remote(t, "alice", CONV, 4000, ttl, &fresh);
	CHECK(e != NULL && fresh == 1, "a refresh: fresh before");
	CHECK(interest_fresh(t, "alice", CONV, 15999, ttl) != NULL,
	    "fresh until 2 leases after the last watch");
	CHECK(interest_fresh(t, "alice", CONV, 16000, ttl) == NULL,
	    "stale from then on");
	CHECK(interest_fresh(t, "bob", CONV, 5000, ttl) == NULL,
	    "another user's same conversation: not followed");
	e->dropped = 1;
	CHECK(interest_fresh(t, "alice", CONV, 5000, ttl) == NULL,
	    "dropped: not forwarded");
	e->dropped = 0;

	/* Local interest keeps an entry through sweeps. */
	e = interest_make(t, "bob", CONV);
	CHECK(e != NULL, "make");
	e->local = 1;
	snprintf(e->msgid, sizeof(e->msgid), "m-9");
	interest_sweep(t, 20000, ttl);
	CHECK(interest_count(t) == 1 && interest_remote_count(t) == 0,
	    "sweep: the stale remote entry is gone, the local one stays");
	e = interest_find(t, "bob", CONV);
	CHECK(e != NULL && strcmp(e->msgid, "m-9") == 0,
	    "sweep: the kept entry is found again, whole");
	CHECK(interest_find(t, "alice", CONV) == NULL, "swept entry not found");

	/* Full. */
	for (int k = 0; k < 3; k++) {
		snprintf(conv, sizeof(conv), "%032d", k);
		CHECK(interest_make(t, "carol", conv) != NULL, "fills");
	}
	CHECK(interest_make(t, "carol", CONV) == NULL,
	    "a full table refuses a new entry");
	CHECK(interest_remote(t, "carol", CONV, 1, ttl, &fresh) == NULL,
	    "a full table refuses a remote watch");
	CHECK(interest_make(t, "bob", CONV) != NULL,
	    "a full table still finds an existing entry");
	interest_sweep(t, 30000, ttl);
	CHECK(interest_count(t) == 1, "entries without interest are swept");
	interest_free(t);

	/* Many entries: every one found after sweeps move them. */
	t = interest_new(1000);
	if (t == NULL)
		exit(2);
	int ok = 1;
	for (int k = 0; k < 1000; k++) {
		snprintf(conv, sizeof(conv), "%032x", k * 7919);
		e = interest_remote(t, "u", conv, k % 2 ? 100 : 50000, ttl,
		    &fresh);
		ok &= e != NULL;
	}
	interest_sweep(t, 55000, ttl);
	for (int k = 0; k < 1000; k++) {
		snprintf(conv, sizeof(conv), "%032x", k * 7919);
		e = interest_find(t, "u", conv);
		ok &= (k % 2) ? e == NULL : e != NULL;
	}
	CHECK(ok && interest_count(t) == 500,
	    "1000 entries: the stale half swept, the rest found");
	interest_free(t);
}

int
main(void)
{
	test_roundtrip();
	test_strict();
	test_split();
	test_interest();
	UNIT_EXIT();
}
