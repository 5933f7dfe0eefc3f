/* think.h - a streaming splitter of a reply's content into reasoning and
 * answer, for models that write their reasoning inside the content between
 * <think> and </think> (llama.cpp --reasoning-format none, Qwen, many local
 * models) or Kimi's ◁think▷ and ◁/think▷; DeepSeek-R1 may leave out the
 * opening tag (mode open).
 *
 * Content arrives in any pieces: a tag split across pieces, even one byte
 * at a time, is found. The state is bounded by construction: besides a few
 * flags, at most THINK_PEND_MAX bytes of leading whitespace and tag prefix
 * are held back; nothing is allocated.
 *
 * Modes (struct lc_model_info.think in lib/models.h; auto by default):
 * - THINK_AUTO: a reply whose content begins, after whitespace, with an
 *   opening tag is reasoning up to the closing tag, then answer. Without
 *   an opening tag it is answer; but a closing tag with no opening one
 *   (a chat template that put <think> in the prompt) reports THINK_STRAY:
 *   the caller makes the text before it the reasoning (deltas already sent
 *   as answer cannot be taken back: the final frame is authoritative).
 *   Only the first closing tag counts; later ones are answer text.
 * - THINK_OPEN: the reply begins inside the reasoning; a stray opening tag
 *   at the start is skipped. think_unclosed() tells the caller that the
 *   stream ended with no closing tag (the text was the answer after all).
 * - THINK_OFF: everything is answer, tags included.
 * Whitespace right after a tag is dropped ("<think>\n", "</think>\n\n"). */
#ifndef LC_THINK_H
#define LC_THINK_H

#include <stddef.h>

/* The same values as lib/models.h's enum models_think, so that a model's
 * info converts by a cast. */
enum think_mode { THINK_AUTO = 0, THINK_OPEN = 1, THINK_OFF = 2 };

/* What a piece of output is. */
enum think_kind {
	THINK_ANSWER = 0,      /* text of the answer */
	THINK_REASONING = 1,   /* text of the reasoning */
	THINK_STRAY = 2        /* auto mode: a closing tag with no opening one;
	                        * no text (NULL, 0) */
};

/* Receives output in order; text is not NUL-terminated and is valid only
 * during the call. */
typedef void (*think_emit_fn)(void *arg, enum think_kind kind,
    const char *text, size_t n);

#define THINK_WS_MAX 16        /* leading whitespace held before a tag */
#define THINK_PEND_MAX 32      /* whitespace + the longest tag (13 bytes) */

struct think {
	enum think_mode mode;
	int state;             /* 0 start, 1 reasoning, 2 answer */
	int form;              /* -1 unknown, 0 <think>, 1 ◁think▷ */
	int opened;            /* an opening tag was found */
	int closed;            /* a closing tag was found */
	int skip_ws;           /* drop whitespace (just after a tag) */
	unsigned char np;      /* bytes in pend */
	unsigned char nws;     /* of which leading whitespace (start) */
	char pend[THINK_PEND_MAX];
};

/* Initialises t for a new reply in mode. */
void think_init(struct think *t, enum think_mode mode);

/* Splits n more bytes of content, calling emit for each piece. */
void think_feed(struct think *t, const char *text, size_t n,
    think_emit_fn emit, void *arg);

/* At the end of the content: emits the bytes still held back. */
void think_finish(struct think *t, think_emit_fn emit, void *arg);

/* 1 when t (mode open) ended inside the reasoning: no closing tag came. */
int think_unclosed(const struct think *t);

/* The server sends the reasoning in a field of its own (Ollama's /v1 and
 * vLLM for DeepSeek-R1): its content is the answer. Open mode, when no
 * content has come yet, becomes auto (an opening tag is still read). */
void think_separated(struct think *t);

#endif
