/* test-reply.c - unit tests of worker/reply.c without ZeroMQ: a reply's
 * life driven through a real libcurl multi against a scripted HTTP upstream
 * in this process, its frames fanned out by the real watch.c into a fake
 * session sink, its rows in a real store. Proves: the upstream body built
 * when the reply starts, deltas reaching the origin (when it wants them)
 * and the watchers of the same user only, once each; the snapshot for a
 * new watcher; the periodic flush writing the text so far; the final frame
 * and the stored state for a complete, a stopped and an interrupted reply;
 * a gone origin getting nothing more; an upstream refusing stream_options
 * (Mistral's 422) asked again without them, once, and then never sent
 * them; each end's row in the usage ledger (the upstream's usage, or
 * estimated from the bytes; an unstored reply's too). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "config.h"
#include "reply.h"
#include "store.h"
#include "unit.h"
#include "watch.h"

static struct lc_config cfg;
static CURLM *multi;
static int listen_fd = -1;

/* The fake session sink: every line sent, by peer name. */
#define SENT_MAX 256
static struct {
	char peer[8];
	char *line;
} sent[SENT_MAX];
static int nsent;
static const char *gone_peer = "";   /* sends to it fail */
static int gone_attempts;

static int
fake_send(void *arg, const struct peer *p, const char *line)
{
	(void)arg;
	if (p->idlen == strlen(gone_peer) &&
	    memcmp(p->id, gone_peer, p->idlen) == 0) {
		gone_attempts++;
		return -1;
	}
	if (nsent == SENT_MAX || p->idlen >= sizeof(sent[0].peer))
		return -1;
	memcpy(sent[nsent].peer, p->id, p->idlen);
	sent[nsent].peer[p->idlen] = '\0';
	sent[nsent].line = strdup(line);
	nsent++;
	return 0;
}

/* Deltas come with their place in the reply (for a session behind). */
static struct peer_delta last_delta;

static int
fake_delta(void *arg, const struct peer *p, const char *line,
    const struct peer_delta *d)
{
	last_delta = *d;
	return fake_send(arg, p, line);
}

static void
sent_clear(void)
{
	for (int i = 0; i < nsent; i++)
		free(sent[i].line);
	nsent = 0;
}

/* The number of lines name got. */
static int
count(const char *name)
{
	int n = 0;

	for (int i = 0; i < nsent; i++)
		n += strcmp(sent[i].peer, name) == 0;
	return n;
}

/* The i-th line name got, parsed (the caller deletes it), or NULL. */
static cJSON *
nth(const char *name, int i)
{
	for (int k = 0; k < nsent; k++)
		if (strcmp(sent[k].peer, name) == 0 && i-- == 0)
			return cJSON_Parse(sent[k].line);
	return NULL;
}

static struct peer
peer_of(const char *name)
{
	struct peer p;

	memset(&p, 0, sizeof(p));
	p.idlen = strlen(name);
	memcpy(p.id, name, p.idlen);
	return p;
}

static const char *
str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : "(none)";
}

/* One turn of the event loop: transfers advance, finished ones end. */
static void
pump(void)
{
	CURLMsg *m;
	int running, left, nfds;

	curl_multi_perform(multi, &running);
	while ((m = curl_multi_info_read(multi, &left)) != NULL) {
		if (m->msg == CURLMSG_DONE) {
			CURL *easy = m->easy_handle;
			CURLcode result = m->data.result;
			reply_done(easy, result);
		}
	}
	curl_multi_wait(multi, NULL, 0, 10, &nfds);
}

/* Pumps until cond holds, for at most 5 s. */
#define PUMP_UNTIL(cond)                                                     \
	do {                                                                 \
		for (int i_ = 0; i_ < 500 && !(cond); i_++)                  \
			pump();                                              \
	} while (0)

/* The scripted upstream: accepts the reply's connection and returns its
 * request body (malloc'd), or NULL; *fd gets the connection. */
static char *
upstream_accept(int *fd, char *head, size_t headcap)
{
	char buf[8192];
	size_t len = 0;
	long clen = -1;
	char *end = NULL, *body = NULL;

	*fd = -1;
	for (int i = 0; i < 500 && *fd < 0; i++) {
		*fd = accept(listen_fd, NULL, NULL);
		if (*fd < 0)
			pump();
	}
	if (*fd < 0 || fcntl(*fd, F_SETFL, O_NONBLOCK) != 0)
		return NULL;
	/* Nothing read yet: a read that would block must not leave the
	 * stack's old bytes (the last call's request) to be searched. */
	buf[0] = '\0';
	for (int i = 0; i < 500; i++) {
		ssize_t n = read(*fd, buf + len, sizeof(buf) - 1 - len);
		if (n > 0) {
			len += (size_t)n;
			buf[len] = '\0';
		} else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
			return NULL;
		}
		end = strstr(buf, "\r\n\r\n");
		if (end != NULL && clen < 0) {
			for (char *h = buf; h < end; h = strstr(h, "\r\n") + 2)
				if (strncasecmp(h, "Content-Length:", 15) == 0)
					clen = strtol(h + 15, NULL, 10);
		}
		if (end != NULL && clen >= 0 &&
		    len - (size_t)(end + 4 - buf) >= (size_t)clen)
			break;
		pump();
	}
	if (end == NULL || clen < 0)
		return NULL;
	snprintf(head, headcap, "%.*s", (int)(end - buf), buf);
	body = strndup(end + 4, (size_t)clen);
	return body;
}

static void
upstream_write(int fd, const char *s)
{
	size_t n = strlen(s), off = 0;

	while (off < n) {
		ssize_t w = send(fd, s + off, n - off, MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			pump();
			continue;
		}
		if (w <= 0)
			return;
		off += (size_t)w;
	}
}

static void
upstream_delta(int fd, const char *text)
{
	char ev[512];

	snprintf(ev, sizeof(ev), "data: {\"choices\":[{\"index\":0,\"delta\":"
	    "{\"content\":\"%s\"},\"finish_reason\":null}]}\n\n", text);
	upstream_write(fd, ev);
}

#define STREAM_HEAD "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n" \
	"Connection: close\r\n\r\n"

/* The stored message row of conversation id (index i), or NULL. */
static cJSON *
stored(struct store *s, const char *id, int i)
{
	cJSON *c = NULL, *m;

	if (store_conv_get(s, id, "alice", &c) != STORE_OK)
		return NULL;
	m = cJSON_DetachItemFromArray(cJSON_GetObjectItem(c, "messages"), i);
	cJSON_Delete(c);
	return m;
}

/* alice's rows in the usage ledger: how many, their tokens, how many
 * estimated; each -1 when the report fails. */
static void
ledger(struct store *s, long long *replies, long long *tokens,
    long long *estimated)
{
	cJSON *rep = NULL, *row;

	*replies = *tokens = *estimated = -1;
	if (store_usage_report(s, "user", NULL, NULL, &rep) != STORE_OK)
		return;
	cJSON_ArrayForEach(row, rep) {
		if (strcmp(str(row, "key"), "alice") != 0)
			continue;
		*replies = (long long)cJSON_GetObjectItem(row,
		    "replies")->valuedouble;
		*tokens = (long long)cJSON_GetObjectItem(row,
		    "total_tokens")->valuedouble;
		*estimated = (long long)cJSON_GetObjectItem(row,
		    "estimated")->valuedouble;
	}
	cJSON_Delete(rep);
}

/* Checks alice's ledger holds replies rows of tokens, estimated of them
 * estimated. */
static void
check_ledger(struct store *s, long long replies, long long tokens,
    long long estimated, const char *name)
{
	long long n, t, e;

	ledger(s, &n, &t, &e);
	CHECK(n == replies && t == tokens && e == estimated, name);
	if (n != replies || t != tokens || e != estimated)
		printf("#   %lld rows, %lld tokens, %lld estimated\n", n, t, e);
}

static struct reply *
new_reply(struct replies *rs, const struct peer *origin, const char *msgid,
    int stream, int follow)
{
	cJSON *msgs = cJSON_Parse("[{\"role\":\"user\",\"content\":\"Hi\"}]");
	cJSON *params = cJSON_Parse("{\"temperature\":0.5}");
	struct reply_spec spec = { origin, "alice", msgid, "m1", stream, follow,
	    msgs, params, NULL, THINK_AUTO };
	struct reply *r = reply_new(rs, &spec);

	cJSON_Delete(msgs);
	cJSON_Delete(params);
	return r;
}

/* A complete reply: body, deltas to origin and watchers, snapshot, flush,
 * the final frame and the stored row. */
static void
test_complete(struct replies *rs, struct watch *wl, struct store *s,
    const char *conv)
{
	struct peer a = peer_of("A"), b = peer_of("B"), c = peer_of("C");
	struct peer d = peer_of("D");
	char head[4096];
	long long row = 0;
	int fd = -1;
	cJSON *f, *m;

	watch_set(wl, &b, "alice", conv);       /* alice's other tab */
	watch_set(wl, &c, "bob", conv);         /* another user: nothing */
	watch_set(wl, &d, "alice", "0123456789abcdef0123456789abcdef");
	CHECK(store_msg_add(s, conv, "assistant", "", 0, STORE_STREAMING, "m1",
	    &row) == STORE_OK, "complete: the reply's row");

	struct reply *r = new_reply(rs, &a, "m-1", 1, 1);
	CHECK(r != NULL && reply_count(rs) == 0,
	    "reply_new: prepared, not in flight");
	CHECK(reply_start(r, conv, row) == 0 && reply_count(rs) == 1 &&
	    reply_count_user(rs, "alice") == 1 &&
	    reply_count_user(rs, "bob") == 0, "reply_start: one in flight");
	CHECK(reply_find(rs, "alice", "m-1", NULL) == r &&
	    reply_find(rs, "alice", NULL, conv) == r &&
	    reply_find(rs, "bob", "m-1", conv) == NULL &&
	    reply_find(rs, "alice", "m-9", "") == NULL, "reply_find");
	CHECK(watch_get(wl, &a) != NULL && strcmp(watch_get(wl, &a), conv) == 0,
	    "a following reply makes its origin watch the conversation");

	char *req = upstream_accept(&fd, head, sizeof(head));
	cJSON *body = req != NULL ? cJSON_Parse(req) : NULL;
	CHECK(strncmp(head, "POST /v1/chat/completions ", 26) == 0,
	    "upstream: POST {base}/chat/completions");
	CHECK(strcmp(str(body, "model"), "m1") == 0 &&
	    cJSON_GetArraySize(cJSON_GetObjectItem(body, "messages")) == 1 &&
	    strcmp(str(cJSON_GetArrayItem(cJSON_GetObjectItem(body, "messages"),
	    0), "content"), "Hi") == 0 &&
	    cJSON_GetObjectItem(body, "temperature") != NULL &&
	    cJSON_GetObjectItem(body, "temperature")->valuedouble == 0.5 &&
	    cJSON_IsTrue(cJSON_GetObjectItem(body, "stream")),
	    "upstream: the body built at start (model, messages, params, stream)");
	cJSON_Delete(body);
	free(req);

	upstream_write(fd, STREAM_HEAD);
	upstream_delta(fd, "Hel");
	PUMP_UNTIL(count("A") >= 1 && count("B") >= 1);
	f = nth("A", 0);
	CHECK(strcmp(str(f, "type"), "delta") == 0 &&
	    strcmp(str(f, "delta"), "Hel") == 0 &&
	    strcmp(str(f, "msgid"), "m-1") == 0 &&
	    strcmp(str(f, "conversation_id"), conv) == 0,
	    "delta reaches the origin");
	cJSON_Delete(f);
	f = nth("B", 0);
	CHECK(strcmp(str(f, "type"), "delta") == 0 &&
	    strcmp(str(f, "delta"), "Hel") == 0, "delta reaches a watcher");
	cJSON_Delete(f);
	CHECK(count("A") == 1, "the origin, watching too, gets it once");
	CHECK(count("C") == 0, "another user's watcher gets nothing");
	CHECK(count("D") == 0, "a watcher of another conversation gets nothing");

	char *snap = reply_snapshot(rs, "alice", conv);
	f = snap != NULL ? cJSON_Parse(snap) : NULL;
	CHECK(strcmp(str(f, "type"), "snapshot") == 0 &&
	    strcmp(str(f, "content"), "Hel") == 0 &&
	    strcmp(str(f, "msgid"), "m-1") == 0, "snapshot: the text so far");
	cJSON_Delete(f);
	free(snap);
	snap = reply_snapshot(rs, "bob", conv);
	f = snap != NULL ? cJSON_Parse(snap) : NULL;
	CHECK(strcmp(str(f, "type"), "idle") == 0 &&
	    strcmp(str(f, "conversation_id"), conv) == 0,
	    "snapshot: idle for another user");
	cJSON_Delete(f);
	free(snap);

	/* A session that missed the deltas from offset 0 (worker/outq.c). */
	unsigned long serial = last_delta.reply;
	char *miss = reply_missed(rs, serial, last_delta.offset);
	f = miss != NULL ? cJSON_Parse(miss) : NULL;
	CHECK(last_delta.offset == 0 && strcmp(str(f, "type"), "delta") == 0 &&
	    strcmp(str(f, "delta"), "Hel") == 0 &&
	    strcmp(str(f, "msgid"), "m-1") == 0,
	    "missed: one delta with the text from the first one missed");
	cJSON_Delete(f);
	free(miss);
	CHECK(reply_missed(rs, serial, 3) == NULL, "missed: nothing after the end");
	CHECK(reply_missed(rs, serial + 1000, 0) == NULL,
	    "missed: no such reply");

	reply_flush_all(rs);
	m = stored(s, conv, 1);
	CHECK(strcmp(str(m, "content"), "Hel") == 0 &&
	    strcmp(str(m, "state"), STORE_STREAMING) == 0,
	    "flush: the text so far stored, still streaming");
	cJSON_Delete(m);

	upstream_delta(fd, "lo");
	upstream_write(fd, "data: {\"choices\":[{\"index\":0,\"delta\":{},"
	    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,"
	    "\"completion_tokens\":2,\"total_tokens\":5}}\n\ndata: [DONE]\n\n");
	close(fd);
	PUMP_UNTIL(reply_count(rs) == 0);
	CHECK(reply_count(rs) == 0 && reply_find(rs, "alice", "m-1", NULL) ==
	    NULL, "complete: the reply is gone");
	CHECK(count("A") == 3 && count("B") == 3,
	    "complete: origin and watcher got delta, delta, final");
	f = nth("A", 1);
	CHECK(strcmp(str(f, "delta"), "lo") == 0, "second delta to the origin");
	CHECK(last_delta.reply == serial && last_delta.offset == 3,
	    "a delta says where its text lies in the reply");
	CHECK(reply_missed(rs, serial, 0) == NULL,
	    "missed: none once the reply ended (its final has the text)");
	cJSON_Delete(f);
	for (int i = 0; i < 2; i++) {
		f = nth(i == 0 ? "A" : "B", 2);
		const cJSON *text = cJSON_GetObjectItem(f, "text");
		const cJSON *usage = cJSON_GetObjectItem(f, "usage");
		CHECK(strcmp(str(f, "type"), "reply") == 0 &&
		    strcmp(str(text, "content"), "Hello") == 0 &&
		    strcmp(str(f, "finish_reason"), "stop") == 0 &&
		    strcmp(str(f, "model"), "m1") == 0 &&
		    cJSON_GetObjectItem(usage, "total_tokens") != NULL &&
		    cJSON_GetObjectItem(usage, "total_tokens")->valuedouble == 5,
		    i == 0 ? "complete: the final frame to the origin" :
		    "complete: the final frame to the watcher");
		cJSON_Delete(f);
	}
	CHECK(count("C") == 0 && count("D") == 0,
	    "complete: others got nothing at all");
	m = stored(s, conv, 1);
	CHECK(strcmp(str(m, "content"), "Hello") == 0 &&
	    strcmp(str(m, "state"), STORE_COMPLETE) == 0 &&
	    cJSON_GetObjectItem(cJSON_GetObjectItem(m, "usage"),
	    "total_tokens") != NULL, "complete: stored with its usage");
	cJSON_Delete(m);
	watch_set(wl, &c, "", "");
	watch_set(wl, &d, "", "");
	sent_clear();
}

/* A stopped reply: an origin that wants no deltas, the text so far saved
 * as stopped, the final frame to both. */
static void
test_stop(struct replies *rs, struct store *s, const char *conv)
{
	struct peer a = peer_of("A");
	char head[4096];
	long long row = 0;
	int fd = -1;
	cJSON *f, *m;

	store_msg_add(s, conv, "user", "again", 5, STORE_COMPLETE, "", NULL);
	store_msg_add(s, conv, "assistant", "", 0, STORE_STREAMING, "m1", &row);
	struct reply *r = new_reply(rs, &a, "m-2", 0, 1);
	CHECK(r != NULL && reply_start(r, conv, row) == 0, "stop: started");
	free(upstream_accept(&fd, head, sizeof(head)));
	upstream_write(fd, STREAM_HEAD);
	upstream_delta(fd, "Partial");
	PUMP_UNTIL(count("B") >= 1);
	CHECK(count("B") == 1 && count("A") == 0,
	    "stop: the watcher gets deltas, an origin without stream none");
	reply_stop(r);
	close(fd);
	CHECK(reply_count(rs) == 0, "stop: the reply is gone at once");
	f = nth("A", 0);
	CHECK(count("A") == 1 && strcmp(str(f, "type"), "reply") == 0 &&
	    strcmp(str(f, "finish_reason"), "stopped") == 0 &&
	    strcmp(str(cJSON_GetObjectItem(f, "text"), "content"), "Partial") ==
	    0, "stop: the final frame to the origin");
	cJSON_Delete(f);
	f = nth("B", 1);
	CHECK(strcmp(str(f, "finish_reason"), "stopped") == 0,
	    "stop: the final frame to the watcher");
	cJSON_Delete(f);
	m = stored(s, conv, 3);
	CHECK(strcmp(str(m, "content"), "Partial") == 0 &&
	    strcmp(str(m, "state"), STORE_STOPPED) == 0,
	    "stop: stored as stopped with the text so far");
	cJSON_Delete(m);
	sent_clear();
}

/* Mistral's answer to stream_options (HTTP 422, pydantic's extra_forbidden). */
#define MISTRAL_422_BODY "{\"object\":\"error\",\"message\":{\"detail\":" \
	"[{\"type\":\"extra_forbidden\",\"loc\":[\"body\",\"stream_options\"]," \
	"\"msg\":\"Extra inputs are not permitted\"}]},\"type\":" \
	"\"invalid_request_error\"}"

/* The stream_options retry: the same reply, a second call without them,
 * the client seeing only the reply; the next reply goes without them. */
static void
test_retry(struct replies *rs)
{
	struct peer a = peer_of("A");
	char head[4096], resp[1024];
	char *body;
	int fd = -1;
	cJSON *f;

	sent_clear();
	struct reply *r = new_reply(rs, &a, "m-so", 1, 0);
	CHECK(r != NULL && reply_start(r, "", 0) == 0, "retry: started");
	body = upstream_accept(&fd, head, sizeof(head));
	CHECK(body != NULL && strstr(body, "\"stream_options\"") != NULL,
	    "retry: the first call has stream_options (auto)");
	free(body);
	snprintf(resp, sizeof(resp), "HTTP/1.1 422 Unprocessable Entity\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n%s", strlen(MISTRAL_422_BODY),
	    MISTRAL_422_BODY);
	upstream_write(fd, resp);
	close(fd);
	body = upstream_accept(&fd, head, sizeof(head));
	CHECK(body != NULL && strstr(body, "stream_options") == NULL &&
	    strstr(body, "\"stream\":true") != NULL,
	    "retry: the call is made again, without stream_options");
	free(body);
	CHECK(reply_count(rs) == 1 && count("A") == 0,
	    "retry: the same reply, nothing sent to the client yet");
	upstream_write(fd, STREAM_HEAD);
	upstream_delta(fd, "Fine");
	upstream_write(fd, "data: [DONE]\n\n");
	close(fd);
	PUMP_UNTIL(reply_count(rs) == 0);
	f = nth("A", count("A") - 1);
	CHECK(count("A") == 2 && strcmp(str(f, "type"), "reply") == 0 &&
	    strcmp(str(cJSON_GetObjectItem(f, "text"), "content"), "Fine") == 0,
	    "retry: the client gets one delta and the reply, no error");
	cJSON_Delete(f);
	sent_clear();

	r = new_reply(rs, &a, "m-so2", 0, 0);
	CHECK(r != NULL && reply_start(r, "", 0) == 0, "retry: a later reply");
	body = upstream_accept(&fd, head, sizeof(head));
	CHECK(body != NULL && strstr(body, "stream_options") == NULL,
	    "retry: a later reply to that upstream goes without them at once");
	free(body);
	upstream_write(fd, STREAM_HEAD);
	upstream_delta(fd, "Again");
	upstream_write(fd, "data: [DONE]\n\n");
	close(fd);
	PUMP_UNTIL(reply_count(rs) == 0);
	f = nth("A", 0);
	CHECK(count("A") == 1 && strcmp(str(cJSON_GetObjectItem(f, "text"),
	    "content"), "Again") == 0, "retry: and is answered");
	cJSON_Delete(f);
	sent_clear();
}

/* Origins that go away, then the worker stopping: interrupted. */
static void
test_gone_and_interrupt(struct replies *rs, struct store *s,
    const char *conv)
{
	struct peer a = peer_of("A"), e = peer_of("E");
	char head[4096];
	long long row = 0;
	int fd = -1, fd2 = -1;
	cJSON *f, *m;

	store_msg_add(s, conv, "user", "more", 4, STORE_COMPLETE, "", NULL);
	store_msg_add(s, conv, "assistant", "", 0, STORE_STREAMING, "m1", &row);
	struct reply *r = new_reply(rs, &a, "m-3", 1, 0);
	CHECK(r != NULL && reply_start(r, conv, row) == 0, "gone: started");
	free(upstream_accept(&fd, head, sizeof(head)));
	upstream_write(fd, STREAM_HEAD);
	upstream_delta(fd, "one ");
	PUMP_UNTIL(count("A") >= 1 && count("B") >= 1);
	CHECK(count("A") == 1, "gone: the origin gets the first delta");
	reply_peer_gone(rs, &a);
	upstream_delta(fd, "two");
	PUMP_UNTIL(count("B") >= 2);
	CHECK(count("B") == 2 && count("A") == 1,
	    "peer gone: the watcher goes on, the origin gets nothing more");

	/* An unstored reply whose origin's send fails: tried once only. */
	gone_peer = "E";
	r = new_reply(rs, &e, "m-4", 1, 0);
	CHECK(r != NULL && reply_start(r, "", 0) == 0 && reply_count(rs) == 2,
	    "unstored: started beside the other");
	free(upstream_accept(&fd2, head, sizeof(head)));
	upstream_write(fd2, STREAM_HEAD);
	upstream_delta(fd2, "x");
	PUMP_UNTIL(gone_attempts >= 1);
	upstream_delta(fd2, "y");
	for (int i = 0; i < 20; i++)
		pump();
	CHECK(gone_attempts == 1, "a failed send marks the origin gone");
	CHECK(count("B") == 2, "unstored: no watcher gets its frames");

	reply_interrupt_all(rs);
	close(fd);
	close(fd2);
	CHECK(reply_count(rs) == 0, "interrupt: every reply ended");
	f = nth("B", 2);
	const cJSON *err = cJSON_GetObjectItem(f, "error");
	CHECK(strcmp(str(f, "type"), "error") == 0 &&
	    strcmp(str(err, "code"), "worker_unavailable") == 0 &&
	    strcmp(str(err, "partial"), "one two") == 0,
	    "interrupt: the watcher gets worker_unavailable with the partial");
	cJSON_Delete(f);
	CHECK(count("A") == 1 && gone_attempts == 1,
	    "interrupt: gone origins get no final frame");
	m = stored(s, conv, 5);
	CHECK(strcmp(str(m, "content"), "one two") == 0 &&
	    strcmp(str(m, "state"), STORE_INTERRUPTED) == 0,
	    "interrupt: stored as interrupted");
	cJSON_Delete(m);
	gone_peer = "";
	sent_clear();
}

static void
upstream_reason(int fd, const char *text)
{
	char ev[512];

	snprintf(ev, sizeof(ev), "data: {\"choices\":[{\"index\":0,\"delta\":"
	    "{\"content\":null,\"reasoning_content\":\"%s\"},"
	    "\"finish_reason\":null}]}\n\n", text);
	upstream_write(fd, ev);
}

#define FINISH_DONE "data: {\"choices\":[{\"index\":0,\"delta\":{}," \
	"\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"

/* The number of frames of type that name got. */
static int
count_type(const char *name, const char *type)
{
	int n = 0;

	for (int i = 0; i < count(name); i++) {
		cJSON *f = nth(name, i);
		n += strcmp(str(f, "type"), type) == 0;
		cJSON_Delete(f);
	}
	return n;
}

/* The last frame name got (the caller deletes it). */
static cJSON *
last(const char *name)
{
	return nth(name, count(name) - 1);
}

/* Reasoning: its own frames to a conversation-shape origin and the
 * watchers, missed ones rebuilt from its own serial, the snapshot while
 * it thinks, the final frame's fields, the stored row; a seed-shape origin
 * gets none of it while its watchers do. */
static void
test_reasoning(struct replies *rs, struct watch *wl, struct store *s,
    const char *conv)
{
	struct peer a = peer_of("A"), b = peer_of("B"), z = peer_of("Z");
	char head[4096];
	long long row = 0;
	int fd = -1;
	cJSON *f, *m;

	watch_set(wl, &b, "alice", conv);
	store_msg_add(s, conv, "user", "think", 5, STORE_COMPLETE, "", NULL);
	store_msg_add(s, conv, "assistant", "", 0, STORE_STREAMING, "m1", &row);
	struct reply *r = new_reply(rs, &a, "m-r", 1, 1);
	CHECK(r != NULL && reply_start(r, conv, row) == 0, "reasoning: started");
	free(upstream_accept(&fd, head, sizeof(head)));
	upstream_write(fd, STREAM_HEAD);
	upstream_reason(fd, "Step one. ");
	upstream_reason(fd, "Step two.");
	PUMP_UNTIL(count("A") >= 2 && count("B") >= 2);
	f = nth("A", 0);
	CHECK(count_type("A", "reasoning") == 2 &&
	    strcmp(str(f, "delta"), "Step one. ") == 0 &&
	    strcmp(str(f, "msgid"), "m-r") == 0 &&
	    strcmp(str(f, "conversation_id"), conv) == 0,
	    "reasoning: frames of their own to the origin");
	cJSON_Delete(f);
	CHECK(count_type("B", "reasoning") == 2,
	    "reasoning: frames to the watcher");
	unsigned long rserial = last_delta.reply;
	CHECK(rserial % 2 == 1 && last_delta.offset == 10,
	    "reasoning: deltas on the reply's odd serial, at their offset");
	char *miss = reply_missed(rs, rserial, 0);
	f = miss != NULL ? cJSON_Parse(miss) : NULL;
	CHECK(strcmp(str(f, "type"), "reasoning") == 0 &&
	    strcmp(str(f, "delta"), "Step one. Step two.") == 0,
	    "missed reasoning: one reasoning frame with all of it");
	cJSON_Delete(f);
	free(miss);
	CHECK(reply_missed(rs, rserial - 1, 0) == NULL,
	    "missed content: none yet (the even serial is the answer's)");
	char *snap = reply_snapshot(rs, "alice", conv);
	f = snap != NULL ? cJSON_Parse(snap) : NULL;
	CHECK(strcmp(str(f, "reasoning"), "Step one. Step two.") == 0 &&
	    cJSON_IsTrue(cJSON_GetObjectItem(f, "thinking")) &&
	    cJSON_GetObjectItem(f, "reasoning_ms") == NULL &&
	    strcmp(str(f, "content"), "") == 0,
	    "snapshot while thinking: reasoning, thinking, no reasoning_ms");
	cJSON_Delete(f);
	free(snap);
	reply_flush_all(rs);
	m = stored(s, conv, 7);
	CHECK(strcmp(str(m, "reasoning"), "Step one. Step two.") == 0 &&
	    strcmp(str(m, "state"), STORE_STREAMING) == 0,
	    "flush: the reasoning so far stored");
	cJSON_Delete(m);
	upstream_delta(fd, "Answer");
	PUMP_UNTIL(count("A") >= 3);
	snap = reply_snapshot(rs, "alice", conv);
	f = snap != NULL ? cJSON_Parse(snap) : NULL;
	CHECK(cJSON_GetObjectItem(f, "thinking") == NULL &&
	    cJSON_IsNumber(cJSON_GetObjectItem(f, "reasoning_ms")) &&
	    strcmp(str(f, "content"), "Answer") == 0,
	    "snapshot after the reasoning: reasoning_ms, not thinking");
	cJSON_Delete(f);
	free(snap);
	upstream_write(fd, FINISH_DONE);
	shutdown(fd, SHUT_WR);
	PUMP_UNTIL(reply_count(rs) == 0);
	close(fd);
	for (int i = 0; i < 2; i++) {
		f = last(i == 0 ? "A" : "B");
		CHECK(strcmp(str(f, "type"), "reply") == 0 &&
		    strcmp(str(cJSON_GetObjectItem(f, "text"), "content"),
		    "Answer") == 0 &&
		    strcmp(str(f, "reasoning"), "Step one. Step two.") == 0 &&
		    cJSON_IsNumber(cJSON_GetObjectItem(f, "reasoning_ms")),
		    i == 0 ? "final frame to the origin: reasoning, reasoning_ms" :
		    "final frame to the watcher: reasoning, reasoning_ms");
		cJSON_Delete(f);
	}
	m = stored(s, conv, 7);
	CHECK(strcmp(str(m, "content"), "Answer") == 0 &&
	    strcmp(str(m, "reasoning"), "Step one. Step two.") == 0 &&
	    cJSON_IsNumber(cJSON_GetObjectItem(m, "reasoning_ms")) &&
	    strcmp(str(m, "state"), STORE_COMPLETE) == 0,
	    "stored: content, reasoning and reasoning_ms apart");
	cJSON_Delete(m);
	sent_clear();

	/* A seed-shape origin (follow 0) with a watcher on its
	 * conversation; <think> tags this time. */
	store_msg_add(s, conv, "user", "seed", 4, STORE_COMPLETE, "", NULL);
	store_msg_add(s, conv, "assistant", "", 0, STORE_STREAMING, "m1", &row);
	r = new_reply(rs, &z, "m-s", 1, 0);
	CHECK(r != NULL && reply_start(r, conv, row) == 0, "seed: started");
	free(upstream_accept(&fd, head, sizeof(head)));
	upstream_write(fd, STREAM_HEAD);
	upstream_delta(fd, "<thi");
	upstream_delta(fd, "nk>Hmm.</thi");
	upstream_delta(fd, "nk>Yes");
	upstream_write(fd, FINISH_DONE);
	shutdown(fd, SHUT_WR);
	PUMP_UNTIL(reply_count(rs) == 0);
	close(fd);
	f = last("Z");
	CHECK(count_type("Z", "reasoning") == 0 && count_type("Z", "delta") == 1 &&
	    strcmp(str(cJSON_GetObjectItem(f, "text"), "content"), "Yes") == 0 &&
	    cJSON_GetObjectItem(f, "reasoning") == NULL &&
	    cJSON_GetObjectItem(f, "reasoning_ms") == NULL,
	    "seed origin: no reasoning frame, no reasoning field, the answer");
	cJSON_Delete(f);
	CHECK(count("Z") == 2, "seed origin: one delta, one final frame");
	f = last("B");
	CHECK(count_type("B", "reasoning") == 1 &&
	    strcmp(str(f, "reasoning"), "Hmm.") == 0 &&
	    strcmp(str(cJSON_GetObjectItem(f, "text"), "content"), "Yes") == 0,
	    "its watcher: the reasoning frame and the final frame's reasoning");
	cJSON_Delete(f);
	m = stored(s, conv, 9);
	CHECK(strcmp(str(m, "content"), "Yes") == 0 &&
	    strcmp(str(m, "reasoning"), "Hmm.") == 0,
	    "seed: stored with its reasoning, no tag in the content");
	cJSON_Delete(m);
	watch_set(wl, &b, "", "");
	sent_clear();
}

static void
unset_key(const char *key, bool secret, void *arg)
{
	char name[96];
	size_t n = (size_t)snprintf(name, sizeof(name), "LIGHTCHAT_");

	(void)secret;
	(void)arg;
	for (const char *k = key; *k && n + 1 < sizeof(name); k++)
		name[n++] = (char)toupper((unsigned char)*k);
	name[n] = '\0';
	unsetenv(name);
}

int
main(void)
{
	char dir[] = "/tmp/lightchat-reply.XXXXXX", path[256], err[256];
	char url[128], conv[ID_LEN + 1];
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	struct store *s = NULL;
	struct watch *wl = NULL;
	struct replies *rs = NULL;
	struct peer_sink sink = { fake_send, NULL, fake_delta };
	int loaded = 0;

	if (mkdtemp(dir) == NULL || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 1;
	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa,
	    sizeof(sa)) != 0 || listen(listen_fd, 8) != 0 ||
	    getsockname(listen_fd, (struct sockaddr *)&sa, &salen) != 0 ||
	    fcntl(listen_fd, F_SETFL, O_NONBLOCK) != 0) {
		printf("not ok - a loopback listening socket\n");
		return 1;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1",
	    ntohs(sa.sin_port));
	config_each_key(unset_key, NULL);
	unsetenv("OPENAI_API_KEY");
	setenv("OPENAI_BASE_URL", url, 1);
	setenv("LIGHTCHAT_CONFIG", "/dev/null", 1);
	setenv("LIGHTCHAT_STATE", dir, 1);
	setenv("LIGHTCHAT_MODELS", "m1", 1);
	setenv("LIGHTCHAT_DEFAULT_MODEL", "m1", 1);
	loaded = config_load(&cfg, err) == 0;
	CHECK(loaded, "config_load");
	snprintf(path, sizeof(path), "%s/db", dir);
	CHECK(store_open(&s, path, err, sizeof(err)) == STORE_OK, "store_open");
	multi = curl_multi_init();
	wl = watch_new(sink);
	rs = wl != NULL && multi != NULL ? replies_new(&cfg, s, multi,
	    watch_as_fanout(wl)) : NULL;
	CHECK(rs != NULL, "replies_new");
	if (!loaded || rs == NULL)
		goto out;
	CHECK(store_conv_create(s, "alice", "t", "m1", "", conv) == STORE_OK &&
	    store_msg_add(s, conv, "user", "Hi", 2, STORE_COMPLETE, "", NULL) ==
	    STORE_OK, "a stored conversation");

	struct peer a = peer_of("A");
	struct reply *r = new_reply(rs, &a, "m-0", 1, 1);
	CHECK(r != NULL, "reply_new");
	reply_discard(r);
	reply_discard(NULL);
	CHECK(reply_count(rs) == 0 && nsent == 0,
	    "reply_discard: nothing in flight, nothing sent");

	/* Each prompt is "Hi": 2 bytes, estimated 1 token. */
	test_complete(rs, wl, s, conv);
	check_ledger(s, 1, 5, 0, "ledger: the complete reply, 3 + 2 tokens "
	    "as reported");
	test_stop(rs, s, conv);
	check_ledger(s, 2, 8, 1, "ledger: the stopped one estimated, 1 + "
	    "ceil(7 / 4)");
	test_gone_and_interrupt(rs, s, conv);
	check_ledger(s, 4, 13, 3, "ledger: two interrupted, one unstored, "
	    "estimated: 1 + 2 and 1 + 1");
	test_retry(rs);
	check_ledger(s, 6, 18, 5, "ledger: a call made again is one row; "
	    "estimated 1 + 1 and 1 + 2");
	test_reasoning(rs, wl, s, conv);

	/* /metrics' figures: every end counted once, by outcome. */
	const struct reply_stats *st = reply_stats(rs);
	unsigned long long ends = 0;
	for (int o = 0; o < REPLY_OUTCOME__MAX; o++)
		ends += st->outcomes[o];
	printf("# outcomes: complete %llu stopped %llu failed %llu "
	    "interrupted %llu; first tokens %llu\n",
	    st->outcomes[REPLY_COMPLETE], st->outcomes[REPLY_STOPPED],
	    st->outcomes[REPLY_FAILED], st->outcomes[REPLY_INTERRUPTED],
	    st->first_token.count);
	CHECK(st->outcomes[REPLY_COMPLETE] >= 1 &&
	    st->outcomes[REPLY_STOPPED] >= 1 &&
	    st->outcomes[REPLY_INTERRUPTED] >= 1,
	    "stats: complete, stopped and interrupted replies counted");
	CHECK(st->duration.count == ends && ends > 0,
	    "stats: each end timed once");
	CHECK(st->first_token.count >= 1 && st->first_token.count <= ends,
	    "stats: first tokens timed, at most one a reply");
	CHECK(st->tokens_in > 0 && st->tokens_out > 0,
	    "stats: the usage reported is counted");
	CHECK_STR(reply_outcome_name(REPLY_FAILED), "failed",
	    "stats: outcome names");
out:
	replies_free(rs);
	watch_free(wl);
	if (multi != NULL)
		curl_multi_cleanup(multi);
	store_close(s);
	sent_clear();
	if (loaded)
		config_free(&cfg);
	close(listen_fd);
	curl_global_cleanup();
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		printf("# could not remove %s\n", dir);
	UNIT_EXIT();
}
