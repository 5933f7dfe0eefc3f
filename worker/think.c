/* think.c - splits a reply's content into reasoning and answer at
 * <think>/</think> (and Kimi's ◁think▷/◁/think▷) as it streams: a small
 * matcher over the bytes, holding back only a possible tag prefix. */
#include "think.h"

#include <string.h>

enum { S_START, S_REASON, S_ANSWER };

static const char *const opens[2] = {
	"<think>", "\xe2\x97\x81think\xe2\x96\xb7"
};
static const char *const closes[2] = {
	"</think>", "\xe2\x97\x81/think\xe2\x96\xb7"
};

void
think_init(struct think *t, enum think_mode mode)
{
	memset(t, 0, sizeof(*t));
	t->mode = mode;
	t->form = -1;
	t->state = mode == THINK_OFF ? S_ANSWER : S_START;
}

void
think_separated(struct think *t)
{
	if (t->mode == THINK_OPEN && t->state == S_START && t->np == 0 &&
	    !t->opened)
		t->mode = THINK_AUTO;
}

int
think_unclosed(const struct think *t)
{
	return t->mode == THINK_OPEN && !t->closed;
}

static int
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Auto mode, in an answer with no tag so far: a closing tag is stray; an
 * opening one is answer text and ends the search. */
static const char *const any[4] = {
	"</think>", "\xe2\x97\x81/think\xe2\x96\xb7",
	"<think>", "\xe2\x97\x81think\xe2\x96\xb7"
};

/* The tags that could begin here: *set gets them; returns how many. */
static int
candidates(const struct think *t, const char *const **set)
{
	if (t->mode == THINK_OFF)
		return 0;
	switch (t->state) {
	case S_START:
		*set = opens;
		return 2;
	case S_REASON:
		*set = closes;
		return 2;
	default:
		*set = any;
		return t->mode == THINK_AUTO && !t->opened && !t->closed ? 4 : 0;
	}
}

enum { M_NONE, M_PREFIX, M_FULL };

/* Does p (n bytes) begin a candidate tag (M_PREFIX) or equal one (M_FULL,
 * *which its form)? */
static int
match(const struct think *t, const char *p, size_t n, int *which)
{
	const char *const *set;
	int r = M_NONE, k = candidates(t, &set);

	for (int i = 0; i < k; i++) {
		size_t len = strlen(set[i]);
		/* In the reasoning only the opening tag's own form closes. */
		if ((t->state == S_REASON && t->form >= 0 && t->form != i) ||
		    n > len ||
		    memcmp(set[i], p, n) != 0)
			continue;
		if (n == len) {
			*which = i;
			return M_FULL;
		}
		r = M_PREFIX;
	}
	return r;
}

static enum think_kind
kind_of(const struct think *t)
{
	if (t->state == S_START)
		return t->mode == THINK_OPEN ? THINK_REASONING : THINK_ANSWER;
	return t->state == S_REASON ? THINK_REASONING : THINK_ANSWER;
}

static void
out(struct think *t, const char *p, size_t n, think_emit_fn emit, void *arg)
{
	if (n > 0)
		emit(arg, kind_of(t), p, n);
}

/* A whole tag was found: the state it leads to. */
static void
on_tag(struct think *t, int which, think_emit_fn emit, void *arg)
{
	if (t->state == S_START) {
		t->opened = 1;
		t->form = which;
		t->state = S_REASON;
	} else if (t->state == S_REASON) {
		t->closed = 1;
		t->form = which;
		t->state = S_ANSWER;
	} else if (which >= 2) {
		/* An opening tag inside the answer: text, and no stray
		 * closing tag is looked for any more. */
		t->closed = 1;
		emit(arg, THINK_ANSWER, t->pend + t->nws, t->np - t->nws);
		t->np = t->nws = 0;
		return;
	} else {
		t->closed = 1;
		emit(arg, THINK_STRAY, NULL, 0);
	}
	t->skip_ws = 1;
	t->np = t->nws = 0;
}

/* The start is over without an opening tag: the whitespace held goes out
 * as the start's kind and the state becomes the body's. */
static void
leave_start(struct think *t, think_emit_fn emit, void *arg)
{
	out(t, t->pend, t->nws, emit, arg);
	t->state = t->mode == THINK_OPEN ? S_REASON : S_ANSWER;
}

static void step(struct think *t, char c, think_emit_fn emit, void *arg);

/* Feeds bytes again (those held back after the first of a failed match),
 * in the current state. At most THINK_PEND_MAX bytes, and each level of
 * recursion has fewer. */
static void
refeed(struct think *t, const char *p, size_t n, think_emit_fn emit,
    void *arg)
{
	char again[THINK_PEND_MAX];

	memcpy(again, p, n);
	for (size_t i = 0; i < n; i++)
		step(t, again[i], emit, arg);
}

static void
step(struct think *t, char c, think_emit_fn emit, void *arg)
{
	int which = -1;
	size_t tag;

	if (t->skip_ws) {
		if (is_ws(c))
			return;
		t->skip_ws = 0;
	}
	if (t->state == S_START && t->np == t->nws && is_ws(c)) {
		if (t->nws < THINK_WS_MAX) {
			t->pend[t->np++] = c;
			t->nws++;
			return;
		}
		leave_start(t, emit, arg);
		t->np = t->nws = 0;
	}
	t->pend[t->np++] = c;
	tag = t->nws;
	switch (match(t, t->pend + tag, t->np - tag, &which)) {
	case M_FULL:
		on_tag(t, which, emit, arg);
		return;
	case M_PREFIX:
		return;
	default:
		break;
	}
	char held[THINK_PEND_MAX];
	size_t n = t->np - tag;
	memcpy(held, t->pend + tag, n);
	if (t->state == S_START) {
		leave_start(t, emit, arg);
		t->np = t->nws = 0;
		refeed(t, held, n, emit, arg);
		return;
	}
	t->np = t->nws = 0;
	out(t, held, 1, emit, arg);
	refeed(t, held + 1, n - 1, emit, arg);
}

void
think_feed(struct think *t, const char *text, size_t n, think_emit_fn emit,
    void *arg)
{
	const char *const *set;
	size_t run = 0;  /* start of the bytes that pass through as they are */

	for (size_t i = 0; i < n; i++) {
		char c = text[i];
		int plain = t->np == 0 && !t->skip_ws && t->state != S_START;
		int k = plain ? candidates(t, &set) : 0;
		for (int j = 0; j < k && plain; j++)
			plain = c != set[j][0];
		if (plain)
			continue;
		out(t, text + run, i - run, emit, arg);
		step(t, c, emit, arg);
		run = i + 1;
	}
	out(t, text + run, n - run, emit, arg);
}

void
think_finish(struct think *t, think_emit_fn emit, void *arg)
{
	out(t, t->pend, t->np, emit, arg);
	if (t->state == S_START)
		t->state = t->mode == THINK_OPEN ? S_REASON : S_ANSWER;
	t->np = t->nws = 0;
}
