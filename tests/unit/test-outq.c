/* test-outq.c - unit tests of worker/outq.c: a session's queue bounded in
 * bytes, deltas coalesced while it is behind and within the coalescing
 * window (a fake clock), frames held in order, the final frame kept, slow
 * sessions closed; without ZeroMQ (a fake pipe). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "outq.h"
#include "unit.h"

/* A fake libzmq pipe: what was sent, and the charges still held. */
#define SENT_MAX 64
static struct {
	char kind[8];
	char body[256];
} sent[SENT_MAX];
static int nsent, full, gone, slow_calls;
/* The charges libzmq would still hold. */
static struct {
	struct outq_acct *acct;
	size_t n;
	struct peer p;
} charge[SENT_MAX];
static int ncharge;

/* The reply's text so far (one reply, serial 7), "" when over; its
 * reasoning (serial 8) for the window's tests. */
static char text[256], rtext[256];
static int reply_over;

static enum outq_sent
fake_send(void *arg, const struct peer *p, const char *kind,
    const char *body, struct outq_acct *acct)
{
	(void)arg;
	if (gone)
		return OUTQ_GONE;
	if (full)
		return OUTQ_FULL;
	if (nsent < SENT_MAX) {
		snprintf(sent[nsent].kind, sizeof(sent[nsent].kind), "%s", kind);
		snprintf(sent[nsent].body, sizeof(sent[nsent].body), "%s", body);
		nsent++;
	}
	/* libzmq holds it: charged until written (drain). */
	outq_acct_charge(acct, strlen(body));
	if (ncharge < SENT_MAX) {
		charge[ncharge].acct = acct;
		charge[ncharge].p = *p;
		charge[ncharge++].n = strlen(body);
	}
	return OUTQ_SENT;
}

/* libzmq wrote everything it held. */
static void
drain(void)
{
	for (int i = 0; i < ncharge; i++)
		outq_acct_release(charge[i].acct, charge[i].n);
	ncharge = 0;
}

static char *
fake_missed(void *arg, unsigned long reply, size_t offset)
{
	char *f;

	(void)arg;
	if (reply == 8 && !reply_over && offset < strlen(rtext)) {
		f = malloc(300);
		if (f != NULL)
			snprintf(f, 300, "R:%s", rtext + offset);
		return f;
	}
	if (reply != 7 || reply_over || offset >= strlen(text))
		return NULL;
	f = malloc(300);
	if (f != NULL)
		snprintf(f, 300, "D:%s", text + offset);
	return f;
}

static const char *slow_why;
static int cuts, cut_async;

static void
fake_slow(void *arg, const struct peer *p, long behind_ms, const char *why)
{
	(void)arg;
	(void)p;
	(void)behind_ms;
	slow_why = why;
	slow_calls++;
}

/* Shutting a connection: libzmq drops (releases) what it held for p. */
static int
fake_cut(void *arg, const struct peer *p)
{
	int kept = 0;

	(void)arg;
	cuts++;
	if (cut_async)
		return 0;
	for (int i = 0; i < ncharge; i++) {
		if (peer_equal(&charge[i].p, p))
			outq_acct_release(charge[i].acct, charge[i].n);
		else
			charge[kept++] = charge[i];
	}
	ncharge = kept;
	return 0;
}

/* Appends s to the reply and sends it as a delta, as reply.c does. */
static int
delta(struct outq *q, const struct peer *p, const char *s)
{
	struct peer_delta d = { 7, strlen(text), strlen(s) };
	char line[300];

	strcat(text, s);
	snprintf(line, sizeof(line), "d:%s", s);
	return outq_send(q, p, "line", line, &d);
}

static void
test_coalesce(void)
{
	struct outq_limits lim = { .queue = 13, .held_max = 100,
	    .timeout_ms = 60000, .budget = 1 << 20, .slow_line = "SLOW" };
	struct outq_ops ops = { fake_send, fake_missed, fake_slow, fake_cut,
	    NULL, NULL };
	struct outq *q = outq_new(&lim, ops);
	struct peer p = { "a", 1 };

	CHECK(q != NULL, "outq_new");
	if (q == NULL)
		return;
	text[0] = '\0';
	CHECK(outq_send(q, &p, "line", "start", NULL) == 0 && nsent == 1,
	    "open: a frame goes out");
	CHECK(delta(q, &p, "ab") == 0 && nsent == 2 &&
	    strcmp(sent[1].body, "d:ab") == 0, "open: a delta goes out");
	CHECK(outq_total(q) == 9, "the bytes libzmq holds are counted");
	CHECK(delta(q, &p, "cd") == 0 && nsent == 3, "under the bound: sent");
	/* 13 bytes held, 4 more would pass 13: behind. */
	CHECK(delta(q, &p, "ef") == 0 && nsent == 3 && outq_behind(q, &p),
	    "at the bound: behind, the delta is not queued");
	CHECK(delta(q, &p, "gh") == 0 && nsent == 3,
	    "behind: no more deltas queued");
	CHECK(outq_send(q, &p, "line", "pong", NULL) == 0 && nsent == 3,
	    "behind: other frames are held");
	outq_tick(q);
	CHECK(nsent == 3, "the tick: still over half the bound, nothing sent");
	drain();    /* libzmq wrote what it held */
	CHECK(outq_total(q) == 0, "written: nothing counted");
	outq_tick(q);
	CHECK(nsent == 5 && !outq_behind(q, &p), "the tick: caught up");
	CHECK_STR(sent[3].body, "D:efgh", "one delta with the text missed");
	CHECK_STR(sent[4].body, "pong", "then the held frame");
	drain();
	outq_free(q);
}

/* A full pipe (EAGAIN), and a delta that arrives when it has room. */
static void
test_catch_up(void)
{
	struct outq_limits lim = { .queue = 100, .held_max = 100, .timeout_ms = 60000,
	    .budget = 1 << 20, .slow_line = "SLOW" };
	struct outq_ops ops = { fake_send, fake_missed, fake_slow, fake_cut,
	    NULL, NULL };
	struct outq *q = outq_new(&lim, ops);
	struct peer p = { "b", 1 };

	if (q == NULL)
		return;
	nsent = 0;
	text[0] = '\0';
	reply_over = 0;
	full = 1;   /* the pipe is full (EAGAIN) */
	CHECK(delta(q, &p, "one ") == 0 && nsent == 0 && outq_behind(q, &p),
	    "EAGAIN: behind");
	CHECK(delta(q, &p, "two ") == 0 && nsent == 0, "behind: dropped");
	CHECK(outq_send(q, &p, "line", "pong", NULL) == 0 && nsent == 0,
	    "behind: pong held");
	CHECK(delta(q, &p, "three ") == 0 && nsent == 0,
	    "behind: dropped after a held frame");
	full = 0;   /* it reads again */
	CHECK(delta(q, &p, "four") == 0 && nsent == 2,
	    "caught up: the coalesced delta and the held frame");
	CHECK_STR(sent[0].body, "D:one two three four",
	    "the coalesced delta has all the text missed, this one too");
	CHECK_STR(sent[1].body, "pong", "then the held frame, in order");
	CHECK(!outq_behind(q, &p), "caught up: open again");
	CHECK(delta(q, &p, "!") == 0 && nsent == 3 &&
	    strcmp(sent[2].body, "d:!") == 0, "the stream goes on");
	drain();
	outq_free(q);
}

static void
test_final_kept(void)
{
	struct outq_limits lim = { .queue = 1000, .held_max = 1000, .timeout_ms = 60000,
	    .budget = 1 << 20, .slow_line = "SLOW" };
	struct outq_ops ops = { fake_send, fake_missed, fake_slow, fake_cut,
	    NULL, NULL };
	struct outq *q = outq_new(&lim, ops);
	struct peer p = { "c", 1 };

	if (q == NULL)
		return;
	nsent = 0;
	text[0] = '\0';
	reply_over = 0;
	full = 1;
	delta(q, &p, "partial ");
	delta(q, &p, "text");
	reply_over = 1;   /* the reply ended while behind */
	outq_send(q, &p, "line", "FINAL partial text", NULL);
	CHECK(nsent == 0, "behind: nothing sent");
	full = 0;
	outq_tick(q);
	CHECK(nsent == 1, "the tick flushes a session that caught up");
	CHECK_STR(sent[0].body, "FINAL partial text",
	    "the final frame is never lost (the mark of an ended reply is)");
	CHECK(!outq_behind(q, &p) && slow_calls == 0, "open, not slow");
	drain();
	outq_free(q);
}

static void
test_slow_closed(void)
{
	struct outq_limits lim = { .queue = 1000, .held_max = 40, .timeout_ms = 0,
	    .budget = 1 << 20, .slow_line = "SLOW" };
	struct outq_ops ops = { fake_send, fake_missed, fake_slow, fake_cut,
	    NULL, NULL };
	struct outq *q = outq_new(&lim, ops);
	struct peer p = { "d", 1 }, p2 = { "e", 1 };
	struct timespec ms = { 0, 5000000 };

	if (q == NULL)
		return;
	nsent = 0;
	slow_calls = 0;
	full = 1;
	outq_send(q, &p, "line", "x", NULL);
	nanosleep(&ms, NULL);
	outq_tick(q);   /* behind longer than the timeout (0 ms) */
	CHECK(slow_calls == 1 && outq_closing(q, &p),
	    "behind too long: closed as slow");
	CHECK(outq_send(q, &p, "line", "more", NULL) == 0 && nsent == 0,
	    "closing: nothing more is queued");
	full = 0;
	outq_tick(q);
	CHECK(nsent == 2 && strcmp(sent[0].body, "SLOW") == 0 &&
	    strcmp(sent[1].kind, "close") == 0 &&
	    strcmp(sent[1].body, "slow") == 0,
	    "the error frame, then the close with its reason");
	CHECK(slow_calls == 1, "announced once");
	drain();
	/* Held bytes over held_max: closed too. */
	nsent = 0;
	full = 1;
	outq_send(q, &p2, "line", "0123456789012345678901234567890", NULL);
	CHECK(!outq_closing(q, &p2), "held under held_max");
	outq_send(q, &p2, "line", "0123456789012345678901234567890", NULL);
	CHECK(outq_closing(q, &p2), "held over held_max: closed as slow");
	full = 0;
	gone = 1;
	outq_tick(q);
	CHECK(!outq_closing(q, &p2), "a session gone is forgotten");
	gone = 0;
	outq_free(q);
}

/* A frame is counted before libzmq takes it: one that would pass the bound
 * waits, unless the queue is empty. */
static void
test_frame_counted(void)
{
	struct outq_limits lim = { .queue = 20, .held_max = 1000,
	    .timeout_ms = 60000, .budget = 1 << 20, .slow_line = "SLOW" };
	struct outq_ops ops = { fake_send, fake_missed, fake_slow, fake_cut,
	    NULL, NULL };
	struct outq *q = outq_new(&lim, ops);
	struct peer p = { "f", 1 };
	const char *big = "0123456789012345678901234567890123456789";

	if (q == NULL)
		return;
	nsent = ncharge = 0;
	full = gone = 0;
	CHECK(outq_send(q, &p, "line", "start", NULL) == 0 && nsent == 1,
	    "a small frame goes");
	CHECK(outq_send(q, &p, "line", big, NULL) == 0 && nsent == 1 &&
	    outq_behind(q, &p),
	    "a frame that would take the queue past its bound waits");
	CHECK(outq_live(q) >= outq_total(q) + 40 && outq_total(q) == 5,
	    "the frame held counts against the budget");
	drain();
	outq_tick(q);
	CHECK(nsent == 2 && strcmp(sent[1].body, big) == 0 &&
	    !outq_behind(q, &p),
	    "an empty queue takes a frame larger than the bound, alone");
	CHECK(outq_total(q) == 40 && outq_live(q) == 40,
	    "that frame is counted whole, nothing held");
	drain();
	outq_free(q);
}

/* libzmq wrote what it held for p only. */
static void
drain_peer(const struct peer *p)
{
	int kept = 0;

	for (int i = 0; i < ncharge; i++) {
		if (peer_equal(&charge[i].p, p))
			outq_acct_release(charge[i].acct, charge[i].n);
		else
			charge[kept++] = charge[i];
	}
	ncharge = kept;
}

/* Over the worker's budget: the session behind with the most bytes is cut,
 * one at a time; sessions with bytes queued wait; one with an empty queue
 * still gets a frame. (Held frames cost their bytes plus a header of at
 * most 50 bytes here.) */
static void
test_budget(void)
{
	struct outq_limits lim = { .queue = 100, .held_max = 1000,
	    .timeout_ms = 60000, .budget = 200, .slow_line = "SLOW" };
	struct outq_ops ops = { fake_send, fake_missed, fake_slow, fake_cut,
	    NULL, NULL };
	struct outq *q = outq_new(&lim, ops);
	struct peer a = { "g", 1 }, b = { "h", 1 }, c = { "i", 1 };
	char f60[61], f30[31];

	if (q == NULL)
		return;
	memset(f60, 'x', 60);
	f60[60] = '\0';
	memset(f30, 'y', 30);
	f30[30] = '\0';
	nsent = ncharge = 0;
	slow_calls = cuts = 0;
	full = gone = 0;
	cut_async = 1;   /* libzmq drops a cut session's bytes later */
	outq_send(q, &a, "line", f60, NULL);
	outq_send(q, &a, "line", f30, NULL);      /* a: 90 in libzmq */
	outq_send(q, &b, "line", f30, NULL);      /* b: 30 */
	CHECK(nsent == 3 && outq_total(q) == 120, "under the budget: sent");
	outq_send(q, &a, "line", f30, NULL);      /* a's own bound: held */
	CHECK(nsent == 3 && outq_behind(q, &a) && cuts == 0,
	    "a is behind, the worker under its budget");
	outq_send(q, &b, "line", f60, NULL);
	CHECK(nsent == 3 && outq_behind(q, &b),
	    "b's own queue has room, the budget has not: b waits");
	CHECK(cuts == 1 && outq_closing(q, &a) && !outq_closing(q, &b),
	    "over the budget: the session with the most bytes (a) is cut");
	outq_send(q, &c, "line", f30, NULL);
	CHECK(nsent == 4 && !outq_behind(q, &c),
	    "over the budget, an empty queue still takes one frame");
	CHECK(cuts == 1 && outq_live(q) > 200,
	    "still over, but no second cut while libzmq holds a's bytes");
	drain_peer(&a);   /* libzmq dropped the cut connection's frames */
	outq_tick(q);
	CHECK(slow_calls == 1 && slow_why != NULL &&
	    strcmp(slow_why, "memory") == 0, "the cut is announced: memory");
	CHECK(!outq_closing(q, &a), "a, dropped, is forgotten");
	CHECK(cuts == 1 && outq_behind(q, &b) && nsent == 4,
	    "under the budget again: b waits for room, not cut");
	drain_peer(&c);
	outq_tick(q);
	CHECK(nsent == 5 && !outq_behind(q, &b) &&
	    strcmp(sent[4].body, f60) == 0,
	    "b catches up once there is room");
	drain();
	cut_async = 0;
	outq_free(q);
}


/* ------------------------------------------------ the coalescing window -- */

static long long fake_now;    /* microseconds */

static long long
fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

/* As delta(), for the reasoning (serial 8). */
static int
rdelta(struct outq *q, const struct peer *p, const char *s)
{
	struct peer_delta d = { 8, strlen(rtext), strlen(s) };
	char line[300];

	strcat(rtext, s);
	snprintf(line, sizeof(line), "r:%s", s);
	return outq_send(q, p, "line", line, &d);
}

static struct outq *
window_q(long ms, size_t bytes)
{
	struct outq_limits lim = { .queue = 4096, .held_max = 4096,
	    .timeout_ms = 60000, .budget = 1 << 20, .slow_line = "SLOW",
	    .coalesce_ms = ms, .coalesce_bytes = bytes };
	struct outq_ops ops = { fake_send, fake_missed, fake_slow, fake_cut,
	    NULL, fake_clock };

	nsent = 0;
	text[0] = rtext[0] = '\0';
	reply_over = full = gone = 0;
	fake_now = 1500000;
	return outq_new(&lim, ops);
}

#define MS 1000LL

static void
test_window(void)
{
	struct outq *q = window_q(15, 64);
	struct peer p = { "w", 1 };

	CHECK(q != NULL, "outq_new with a window");
	if (q == NULL)
		return;
	CHECK(outq_due(q) == -1, "nothing waits: no deadline");
	CHECK(delta(q, &p, "a") == 0 && delta(q, &p, "A") == 0 && nsent == 0,
	    "the first deltas wait for the end of the loop's turn");
	CHECK(outq_due(q) == -1 && nsent == 1 &&
	    strcmp(sent[0].body, "D:aA") == 0,
	    "then they go as one frame, with no clock to wait for");
	fake_now += 1 * MS;
	CHECK(delta(q, &p, "b") == 0 && nsent == 1,
	    "a delta 1 ms after the last waits");
	CHECK(outq_due(q) == 14,
	    "due when the window since the last delta ends: in 14 ms");
	fake_now += 4 * MS;
	delta(q, &p, "c");
	fake_now += 4 * MS;
	delta(q, &p, "d");
	CHECK(nsent == 1, "the next deltas within the window wait too");
	CHECK(outq_due(q) == 6 && nsent == 1, "not yet due: 6 ms left");
	fake_now += 5 * MS + 999;
	CHECK(outq_due(q) == 1 && nsent == 1, "1 µs left: rounded up to 1 ms");
	fake_now += 1;
	CHECK(outq_due(q) == -1 && nsent == 2,
	    "due: one frame, nothing waits after it");
	CHECK_STR(sent[1].body, "D:bcd", "the frame has the three deltas' text");
	fake_now += 1 * MS;
	delta(q, &p, "e");
	CHECK(nsent == 2, "a delta within a window of the coalesced frame waits");
	CHECK(outq_send(q, &p, "line", "FINAL aAbcde", NULL) == 0 && nsent == 4,
	    "another frame: what waits goes first");
	CHECK_STR(sent[2].body, "D:e", "the waiting delta first");
	CHECK_STR(sent[3].body, "FINAL aAbcde", "then the frame, in order");
	CHECK(outq_due(q) == -1, "nothing waits after a final frame");
	fake_now += 16 * MS;
	CHECK(delta(q, &p, "f") == 0 && nsent == 4 && outq_due(q) == -1 &&
	    nsent == 5 && strcmp(sent[4].body, "D:f") == 0,
	    "after a pause longer than the window a delta goes at the turn's end");
	drain();
	outq_free(q);
}

/* Each session's marks go when its own window ends (its last delta + the
 * window), not at a tick shared by every session: their frames stay
 * spread over time as their tokens came. One tick for all sent every
 * held frame in one turn, and the sessions, websocketd and lighttpd then
 * woke together; at 100 streams 20 ms a token, where nothing merges, the
 * first token's p99 waited ~14 ms longer behind those bursts
 * (bench/RESULTS.md, "each session on its own phase"). Due order, not the
 * order the marks were made in. */
static void
test_window_phase(void)
{
	struct outq *q = window_q(15, 4096);
	struct peer a = { "a", 1 }, b = { "b", 1 };

	if (q == NULL)
		return;
	delta(q, &a, "a1");
	CHECK(outq_due(q) == -1 && nsent == 1, "a's first delta at the turn's end");
	fake_now += 5 * MS;
	rdelta(q, &b, "b1");
	CHECK(outq_due(q) == -1 && nsent == 2, "b's first, 5 ms later");
	fake_now += 8 * MS;
	rdelta(q, &b, "b2");
	delta(q, &a, "a2");
	CHECK(nsent == 2, "13 ms after a's first: both next deltas wait");
	CHECK(outq_due(q) == 2, "a's window ends first (in 2 ms), its mark made last");
	fake_now += 2 * MS;
	CHECK(outq_due(q) == 5 && nsent == 3 && strcmp(sent[2].body, "D:a2") == 0,
	    "a's mark at the end of its window; b's waits 5 ms for its own");
	fake_now += 5 * MS;
	CHECK(outq_due(q) == -1 && nsent == 4 && strcmp(sent[3].body, "R:b2") == 0,
	    "b's at the end of its window");
	drain();
	outq_free(q);
}

static void
test_window_size(void)
{
	struct outq *q = window_q(15, 8);
	struct peer p = { "s", 1 };

	if (q == NULL)
		return;
	delta(q, &p, "0");
	CHECK(outq_due(q) == -1 && nsent == 1, "the first at the turn's end");
	delta(q, &p, "123");
	delta(q, &p, "4567");
	CHECK(nsent == 1, "7 bytes wait (the size is 8)");
	delta(q, &p, "8");
	CHECK(nsent == 2, "at 8 bytes the frame goes, its window not over");
	CHECK_STR(sent[1].body, "D:12345678", "with every byte since the last");
	CHECK(outq_due(q) == -1, "nothing waits then");
	delta(q, &p, "too long");
	CHECK(nsent == 3 && strcmp(sent[2].body, "d:too long") == 0,
	    "a delta as large as the size goes as it is");
	drain();
	outq_free(q);
}

/* Reasoning and answer text interleaved: each keeps its order. */
static void
test_window_two_texts(void)
{
	struct outq *q = window_q(15, 4096);
	struct peer p = { "t", 1 };

	if (q == NULL)
		return;
	rdelta(q, &p, "think1 ");
	CHECK(outq_due(q) == -1 && nsent == 1, "the reasoning's first delta");
	fake_now += 1 * MS;
	rdelta(q, &p, "think2");
	CHECK(nsent == 1, "the reasoning's second delta waits");
	fake_now += 1 * MS;
	delta(q, &p, "ans1 ");
	CHECK(nsent == 2, "an answer delta: the waiting reasoning goes first");
	CHECK_STR(sent[1].body, "R:think2", "the reasoning, whole");
	CHECK(outq_due(q) == -1 && nsent == 3,
	    "the answer's first delta, 1 ms after the reasoning's: at the "
	    "turn's end, not the window's");
	CHECK_STR(sent[2].body, "D:ans1 ", "the answer's first delta");
	fake_now += 1 * MS;
	delta(q, &p, "ans2");
	CHECK(nsent == 3, "the answer text waits");
	outq_flush_reply(q, 8);
	CHECK(nsent == 3, "a flush of another reply sends nothing of this one");
	outq_flush_reply(q, 7);
	CHECK(nsent == 4, "a flush of the reply: its text goes now");
	CHECK_STR(sent[3].body, "D:ans2", "the answer's text since the last");
	CHECK(outq_due(q) == -1, "nothing waits");
	drain();
	outq_free(q);
}

/* A session whose pipe is full when its window ends: it is behind, and
 * gets every byte once when it catches up, none twice. */
static void
test_window_behind(void)
{
	struct outq *q = window_q(15, 4096);
	struct peer p = { "u", 1 };

	if (q == NULL)
		return;
	delta(q, &p, "x");
	outq_due(q);
	fake_now += 1 * MS;
	delta(q, &p, "y");
	full = 1;
	fake_now += 15 * MS;
	CHECK(outq_due(q) == -1 && nsent == 1 && outq_behind(q, &p),
	    "full when due: behind, nothing waits for a window");
	delta(q, &p, "z");
	full = 0;
	delta(q, &p, "!");
	CHECK(nsent == 2 && !outq_behind(q, &p), "caught up: open again");
	CHECK_STR(sent[1].body, "D:yz!", "every byte missed, once");
	drain();
	outq_free(q);
}

static void
test_window_off(void)
{
	struct outq *q = window_q(0, 4096);
	struct peer p = { "o", 1 };

	if (q == NULL)
		return;
	for (int i = 0; i < 5; i++)
		delta(q, &p, "t");
	CHECK(nsent == 5 && outq_due(q) == -1,
	    "window 0: each delta goes as it comes");
	drain();
	outq_free(q);
}

/* Two sessions whose last deltas went in the same turn share a phase: their
 * marks, made 9 ms apart, go together in one turn (test_window_phase: the
 * ones of sessions on different phases do not). */
static void
test_window_same_phase(void)
{
	struct outq *q = window_q(15, 4096);
	struct peer a = { "a", 1 }, b = { "b", 1 };

	if (q == NULL)
		return;
	delta(q, &a, "1");
	delta(q, &b, "2");
	CHECK(nsent == 0 && outq_due(q) == -1 && nsent == 2,
	    "two sessions' first deltas: both at the turn's end");
	fake_now += 2 * MS;
	delta(q, &a, "3");
	fake_now += 9 * MS;
	delta(q, &b, "4");
	CHECK(nsent == 2 && outq_due(q) == 4, "both wait, the first due in 4 ms");
	fake_now += 4 * MS;
	CHECK(outq_due(q) == -1 && nsent == 4,
	    "both go in the same turn: one wake-up for the two");
	drain();
	outq_free(q);
}

/* Random deltas at random times, the loop calling outq_due every 1 ms:
 * the frames add up to the text exactly, in order, and no byte waits
 * longer than the window plus the loop's 1 ms. */
static void
test_window_random(void)
{
	unsigned seed = 18;
	int exact = 1, late = 0, rounds = 0, frames = 0, deltas = 0;

	for (int round = 0; round < 40; round++) {
		long window = 1 + (long)(rand_r(&seed) % 20);
		struct outq *q = window_q(window, 16 + rand_r(&seed) % 64);
		struct peer p = { "r", 1 };
		char got[256] = "";
		long long at[256];      /* when each byte was made */
		size_t len = 0;

		if (q == NULL)
			return;
		rounds++;
		for (int step = 0; step < 400 && len < 200; step++) {
			fake_now += MS;
			if (rand_r(&seed) % 3 == 0) {
				char s[6];
				size_t n = 1 + rand_r(&seed) % 5;
				for (size_t i = 0; i < n; i++)
					s[i] = (char)('a' + rand_r(&seed) % 26);
				s[n] = '\0';
				for (size_t i = 0; i < n; i++)
					at[len + i] = fake_now;
				len += n;
				delta(q, &p, s);
				deltas++;
			}
			outq_due(q);
			for (int i = 0; i < nsent; i++) {
				const char *b = sent[i].body + 2;
				size_t from = strlen(got);
				if (from + strlen(b) >= sizeof(got)) {
					exact = 0;
					break;
				}
				strcat(got, b);
				for (size_t k = from; k < strlen(got); k++)
					if (fake_now - at[k] > (window + 1) * MS)
						late++;
				frames++;
			}
			nsent = 0;
			drain();
		}
		outq_send(q, &p, "line", "FINAL", NULL);
		for (int i = 0; i < nsent - 1; i++)
			strcat(got, sent[i].body + 2);
		if (nsent < 1 || strcmp(sent[nsent - 1].body, "FINAL") != 0 ||
		    strcmp(got, text) != 0)
			exact = 0;
		nsent = 0;
		drain();
		outq_free(q);
	}
	CHECK(rounds == 40 && exact,
	    "40 random streams: the frames add up to each text exactly");
	CHECK(late == 0, "no byte waited longer than the window + 1 ms");
	printf("# %d deltas went as %d frames\n", deltas, frames);
	CHECK(frames < deltas, "fewer frames than deltas");
}

int
main(void)
{
	test_coalesce();
	test_catch_up();
	test_final_kept();
	test_slow_closed();
	test_frame_counted();
	test_budget();
	test_window();
	test_window_phase();
	test_window_size();
	test_window_two_texts();
	test_window_behind();
	test_window_off();
	test_window_same_phase();
	test_window_random();
	UNIT_EXIT();
}
