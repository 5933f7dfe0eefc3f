/* cluster_msg.h - the messages between the hosts' workers (worker/cluster.h),
 * as NOTIFY payloads on channel "lightchat": one JSON object each, shorter
 * than PostgreSQL's 8000 bytes, built and read with cJSON.
 *
 *   {"t":"watch","w","i","n","u","c","again"?}   a session here watches
 *                  (u, c) and this host has no reply in it; again: a
 *                  refresh (no snapshot wanted)
 *   {"t":"snap","w","i","n","to","u","c","line"} a frame line for worker
 *                  "to" only: the snapshot it asked for, or its rest
 *   {"t":"frame","w","i","n","u","c","line"}     a frame line of the reply
 *                  in (u, c), for every host that follows it
 *   {"t":"stop","w","i","n","u","m"?,"c"?}       stop u's reply msgid m,
 *                  else the one in c
 *   {"t":"interrupted","w","i","n","u","c","m"}  the reply stored as
 *                  message m in (u, c) was ended as interrupted
 *
 * w is the sender's worker_id, i its run's random instance (two workers
 * with one worker_id tell each other apart by it), n its message number
 * (1, 2, ... in the order sent: a receiver that sees one missing asks for
 * snapshots again). No I/O, no clock: tests/unit/test-cluster.c. */
#ifndef LC_CLUSTER_MSG_H
#define LC_CLUSTER_MSG_H

#include <stddef.h>

#include "id.h"
#include "request.h"
#include "username.h"

/* PostgreSQL refuses payloads of 8000 bytes or more; a little is left. */
#define CMSG_PAYLOAD_MAX 7900
#define CMSG_WORKER_MAX 64       /* = LC_WORKER_ID_MAX, STORE_WORKER_MAX */
#define CMSG_INSTANCE_LEN 16     /* hex digits */
#define CMSG_CHANNEL "lightchat"

enum cmsg_type {
	CMSG_WATCH, CMSG_SNAP, CMSG_FRAME, CMSG_STOP, CMSG_INTERRUPTED,
	CMSG__MAX
};

struct cmsg {
	enum cmsg_type type;
	char w[CMSG_WORKER_MAX + 1];
	char i[CMSG_INSTANCE_LEN + 1];
	unsigned long long n;
	char to[CMSG_WORKER_MAX + 1];    /* snap */
	char u[LC_USER_MAX + 1];
	char c[ID_LEN + 1];              /* "": none (stop) */
	char m[REQUEST_MSGID_MAX + 1];   /* stop: msgid ("": none) */
	long long row;                   /* interrupted: the message's id */
	int again;                       /* watch */
	const char *line;                /* snap, frame: a frame line; decoded,
	                                  * it points into line_buf */
	char line_buf[CMSG_PAYLOAD_MAX];
};

/* The type's name in "t" ("watch", ...), or NULL. */
const char *cmsg_type_name(enum cmsg_type t);

/* Whether s is a worker id: 1 to CMSG_WORKER_MAX of [A-Za-z0-9._-]. */
int cmsg_worker_valid(const char *s);

/* Writes m as a payload into out (cap bytes, NUL-terminated). Returns its
 * length, -1 when it would be CMSG_PAYLOAD_MAX bytes or more (or does not
 * fit cap), -2 when out of memory. */
int cmsg_encode(const struct cmsg *m, char *out, size_t cap);

/* Reads payload (len bytes) into m, strictly: one JSON object, every
 * member of its type present with its shape (names by their rules, a line
 * that is itself one JSON object). Returns 0; 1 for a type this worker
 * does not know (ignored; *why says so); -1 when invalid (*why says why). */
int cmsg_decode(const char *payload, size_t len, struct cmsg *m,
    const char **why);

/* What a frame line says of its reply: its "type" and "msgid" (each ""
 * when absent; cut to their buffers). Returns 0, or -1 when line is not a
 * JSON object. */
int cmsg_line_info(const char *line, char type[16],
    char msgid[REQUEST_MSGID_MAX + 1]);

/* Called by cmsg_split with each payload to send, in order, made from
 * piece (its n set by the callee: fill it, then cmsg_encode). Returns 0,
 * or -1 to stop. */
typedef int (*cmsg_emit_fn)(void *arg, struct cmsg *piece);

/* Sends the snap or frame message m (its line too long for one payload,
 * or not) as pieces that each fit: the message as it is when it fits;
 * else a delta or reasoning frame is cut into several (at UTF-8
 * boundaries); a snapshot keeps the start of its content and reasoning,
 * and the rest follows as delta and reasoning frames in messages of m's
 * type; a final reply frame loses its text.content and reasoning (the
 * receiving page keeps what the deltas built), an error frame its partial,
 * a start frame its prompt and attachments. Returns the number of pieces
 * emitted, or -1 when the line cannot be sent (not JSON, or still too
 * long: nothing emitted, or emit stopped). */
int cmsg_split(struct cmsg *m, cmsg_emit_fn emit, void *arg);

#endif
