/* test-think.c - unit tests of worker/think.c: every form of reasoning in
 * the content (<think>, Kimi's ◁think▷, a missing opening tag), each fed
 * whole, split in two at every byte, and one byte at a time; the modes;
 * a stray closing tag; the bound on what is held back. */
#include <stdio.h>
#include <string.h>

#include "think.h"
#include "unit.h"

#define OUT_MAX 512

struct got {
	char r[OUT_MAX], a[OUT_MAX];
	size_t nr, na;
	int stray;          /* THINK_STRAY seen */
	size_t stray_at;    /* answer bytes before it */
	int order_bad;      /* reasoning after answer (without a stray) */
	int over;           /* more than OUT_MAX */
};

static void
emit(void *arg, enum think_kind kind, const char *text, size_t n)
{
	struct got *g = arg;

	if (kind == THINK_STRAY) {
		g->stray++;
		g->stray_at = g->na;
		return;
	}
	char *dst = kind == THINK_REASONING ? g->r : g->a;
	size_t *len = kind == THINK_REASONING ? &g->nr : &g->na;
	if (kind == THINK_REASONING && g->na > 0)
		g->order_bad = 1;
	if (*len + n >= OUT_MAX) {
		g->over = 1;
		return;
	}
	memcpy(dst + *len, text, n);
	*len += n;
	dst[*len] = '\0';
}

struct tcase {
	const char *name;
	enum think_mode mode;
	const char *in;
	const char *reasoning;
	const char *answer;
	int stray;          /* a stray closing tag, after this much answer */
	int unclosed;
};

#define KO "\xe2\x97\x81think\xe2\x96\xb7"
#define KC "\xe2\x97\x81/think\xe2\x96\xb7"

static const struct tcase cases[] = {
	{ "auto <think>", THINK_AUTO,
	  "<think>Step one. Step two.</think>\n\nYou said: hi",
	  "Step one. Step two.", "You said: hi", -1, 0 },
	{ "auto whitespace before the tag", THINK_AUTO,
	  " \n\t<think>\nR\n</think>A", "R\n", "A", -1, 0 },
	{ "auto Kimi", THINK_AUTO, KO "why" KC "because", "why", "because",
	  -1, 0 },
	{ "auto no tag", THINK_AUTO, "  Hello <b>world</b>", "",
	  "  Hello <b>world</b>", -1, 0 },
	{ "auto tag mid-answer is text", THINK_AUTO,
	  "Hello <think>x</think> y", "", "Hello <think>x</think> y", -1, 0 },
	{ "auto almost a tag", THINK_AUTO, "<thinking>x</thinking>", "",
	  "<thinking>x</thinking>", -1, 0 },
	{ "auto cut-off tag at the end", THINK_AUTO, "<thin", "", "<thin",
	  -1, 0 },
	{ "auto reasoning only", THINK_AUTO, "<think>all thought", 
	  "all thought", "", -1, 0 },
	{ "auto stray closing tag", THINK_AUTO, "thought</think>\nanswer", "",
	  "thoughtanswer", 7, 0 },
	{ "auto second closing tag is text", THINK_AUTO,
	  "<think>R</think>A</think>B", "R", "A</think>B", -1, 0 },
	{ "auto nested opening is reasoning", THINK_AUTO,
	  "<think><think>x</think>y", "<think>x", "y", -1, 0 },
	{ "auto the other form does not close", THINK_AUTO,
	  "<think>a" KC "b</think>c", "a" KC "b", "c", -1, 0 },
	{ "auto false starts inside the reasoning", THINK_AUTO,
	  "<think></thin</think<</think>ok", "</thin</think<", "ok", -1, 0 },
	{ "auto double '<' at the start", THINK_AUTO, "<<think>x", "",
	  "<<think>x", -1, 0 },
	{ "auto UTF-8 like Kimi's tag", THINK_AUTO,
	  KO "a\xe2\x97\x80\xe2\x97\x81x" KC "b",
	  "a\xe2\x97\x80\xe2\x97\x81x", "b", -1, 0 },
	{ "auto whitespace past the bound", THINK_AUTO,
	  "                    <think>x</think>", "",
	  "                    <think>x</think>", -1, 0 },
	{ "open DeepSeek-R1", THINK_OPEN, "Step one.\n</think>\n\nAnswer.",
	  "Step one.\n", "Answer.", -1, 0 },
	{ "open stray opening tag skipped", THINK_OPEN,
	  "\n<think>\nR</think>A", "R", "A", -1, 0 },
	{ "open Kimi", THINK_OPEN, "R" KC "A", "R", "A", -1, 0 },
	{ "open no closing tag", THINK_OPEN, "just an answer", 
	  "just an answer", "", -1, 1 },
	{ "open whitespace only", THINK_OPEN, "  ", "  ", "", -1, 1 },
	{ "off", THINK_OFF, "<think>x</think>y", "", "<think>x</think>y", -1,
	  0 },
	{ "empty", THINK_AUTO, "", "", "", -1, 0 },
};

/* Feeds c's input in pieces: cut1 and cut2 are split points (0: none),
 * bytewise feeds one byte at a time. Returns 1 when the output is right. */
static int
run(const struct tcase *c, size_t cut1, size_t cut2, int bytewise,
    int *held_ok)
{
	struct think t;
	struct got g;
	size_t n = strlen(c->in);

	memset(&g, 0, sizeof(g));
	think_init(&t, c->mode);
	if (bytewise) {
		for (size_t i = 0; i < n; i++) {
			think_feed(&t, c->in + i, 1, emit, &g);
			if (t.np > THINK_PEND_MAX)
				*held_ok = 0;
		}
	} else {
		think_feed(&t, c->in, cut1, emit, &g);
		think_feed(&t, c->in + cut1, cut2 - cut1, emit, &g);
		think_feed(&t, c->in + cut2, n - cut2, emit, &g);
	}
	think_finish(&t, emit, &g);
	if (g.over || strcmp(g.r, c->reasoning) != 0 ||
	    strcmp(g.a, c->answer) != 0 || think_unclosed(&t) != c->unclosed ||
	    (g.order_bad && c->stray < 0))
		return 0;
	if (c->stray >= 0)
		return g.stray == 1 && g.stray_at == (size_t)c->stray;
	return g.stray == 0;
}

int
main(void)
{
	char name[160];

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct tcase *c = &cases[k];
		size_t n = strlen(c->in);
		int ok = 1, held_ok = 1, bad_at = -1, bad2 = -1;

		ok = run(c, 0, 0, 0, &held_ok);
		snprintf(name, sizeof(name), "%s: whole", c->name);
		CHECK(ok, name);
		ok = 1;
		for (size_t i = 0; i <= n && ok; i++)
			if (!run(c, i, i, 0, &held_ok)) {
				ok = 0;
				bad_at = (int)i;
			}
		snprintf(name, sizeof(name), "%s: split at every byte%s", c->name,
		    ok ? "" : " (failed)");
		CHECK(ok, name);
		if (!ok)
			printf("#   first bad split %d\n", bad_at);
		ok = 1;
		for (size_t i = 0; i <= n && ok; i++)
			for (size_t j = i; j <= n && ok; j++)
				if (!run(c, i, j, 0, &held_ok)) {
					ok = 0;
					bad_at = (int)i;
					bad2 = (int)j;
				}
		snprintf(name, sizeof(name), "%s: three pieces, every cut",
		    c->name);
		CHECK(ok, name);
		if (!ok)
			printf("#   first bad cuts %d %d\n", bad_at, bad2);
		snprintf(name, sizeof(name), "%s: one byte at a time", c->name);
		CHECK(run(c, 0, 0, 1, &held_ok), name);
		snprintf(name, sizeof(name), "%s: held back at most %d bytes",
		    c->name, THINK_PEND_MAX);
		CHECK(held_ok, name);
	}

	/* A long reasoning streamed byte by byte holds nothing back but a
	 * tag prefix: the bound is by construction, whatever the length. */
	struct think t;
	struct got g;
	int held = 1;
	memset(&g, 0, sizeof(g));
	think_init(&t, THINK_AUTO);
	think_feed(&t, "<think>", 7, emit, &g);
	for (int i = 0; i < 300; i++) {
		think_feed(&t, i % 7 == 0 ? "<" : "x", 1, emit, &g);
		held = held && t.np <= 1;
	}
	think_feed(&t, "</think>done", 12, emit, &g);
	think_finish(&t, emit, &g);
	CHECK(held && g.nr == 300 && strcmp(g.a, "done") == 0,
	    "long reasoning: at most a '<' held back");

	/* Open mode, the reasoning in a field of its own before any content:
	 * the content is the answer (an opening tag still read). */
	memset(&g, 0, sizeof(g));
	think_init(&t, THINK_OPEN);
	think_separated(&t);
	think_feed(&t, "The answer", 10, emit, &g);
	think_finish(&t, emit, &g);
	CHECK(t.mode == THINK_AUTO && strcmp(g.a, "The answer") == 0 &&
	    g.nr == 0 && !think_unclosed(&t),
	    "open mode, reasoning separated first: the content is answer");
	/* After content came, it changes nothing. */
	memset(&g, 0, sizeof(g));
	think_init(&t, THINK_OPEN);
	think_feed(&t, "thought", 7, emit, &g);
	think_separated(&t);
	think_feed(&t, "</think>answer", 14, emit, &g);
	think_finish(&t, emit, &g);
	CHECK(t.mode == THINK_OPEN && strcmp(g.r, "thought") == 0 &&
	    strcmp(g.a, "answer") == 0,
	    "open mode, reasoning separated after content: still open");
	UNIT_EXIT();
}
