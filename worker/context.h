/* context.h - what the store holds, chosen for the next reply: the
 * messages sent upstream (a byte budget, the newest first), and which
 * stored conversation a client's re-sent transcript continues.
 *
 * Policy over the store's primitives (store_conv_system, store_conv_turns,
 * store_conv_recent); both functions return store.h's codes and accept a
 * NULL store (STORE_ERR). */
#ifndef LC_CONTEXT_H
#define LC_CONTEXT_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "store.h"

/* How many of the user's most recent conversations a transcript is matched
 * against. */
#define CONTEXT_CANDIDATES 20

/* Builds the messages for conversation conv_id's next reply: its system
 * prompt (if not empty), then the newest turns of its current path
 * (store_conv_turns: user messages, and replies complete or stopped; the
 * other versions never), oldest first, as many as fit
 * with the system prompt in budget bytes of content, at most max_messages
 * of them. The newest turn is always included, whatever its size.
 * Attachments (the context rule, docs/ARCHITECTURE.md): a user message's
 * text files are appended to its content as fenced blocks
 * ("\n\n```name\ntext\n```") and count as its content; with images (the
 * model takes them), the newest message's images are always sent, and an
 * earlier message's while their base64 fits in what the texts left of
 * budget, newest first, none older than one that did not fit.
 * Returns STORE_OK with *out a cJSON array of {role,content} (and
 * "images":[{mime,data}] on a message with images sent, data in base64)
 * the caller deletes; STORE_NOT_FOUND (no such conversation) or STORE_ERR
 * (SQLite failed, out of memory, or a content holding a NUL byte) with
 * *out NULL. */
int context_build(struct store *s, const char *conv_id, size_t budget,
    int max_messages, int images, cJSON **out);

/* Finds which of user's CONTEXT_CANDIDATES most recently updated
 * conversations a client's transcript continues: the first (newest) whose
 * current path's newest turns (as above: failed replies never reached the
 * client) equal history's user/assistant messages in order, history's
 * system messages ignored. history is a checked cJSON array of
 * {role,content}. Returns
 * STORE_OK with the conversation's id in id, STORE_NOT_FOUND (no match, or
 * history holds no user/assistant message) or STORE_ERR. */
int context_find_transcript(struct store *s, const char *user,
    const cJSON *history, char id[ID_LEN + 1]);

#endif
