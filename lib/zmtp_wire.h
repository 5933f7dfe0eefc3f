/* zmtp_wire.h - ZMTP 3.0 with the NULL mechanism on the wire (rfc.zeromq.org
 * 23/ZMTP, 37/ZMTP): the endpoint syntax, the greeting, commands and frames,
 * encoded and parsed, with no I/O. Both ends of lightchat's relay speak it
 * through this file: the session's DEALER (ws/zmtp.c) and the worker's
 * ROUTER (worker/router.c); neither links libzmq (docs/ARCHITECTURE.md,
 * "Memory per connection").
 *
 * Every parser is bounded: a frame header, a message (max_msg bytes, at most
 * ZMTP_WIRE_MAX_FRAMES frames) and a command's properties are checked before
 * any byte of them is used. */
#ifndef LC_ZMTP_WIRE_H
#define LC_ZMTP_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "buf.h"

#define ZMTP_GREETING_LEN 64
/* Frames of one received message handed to the caller; more are counted
 * and dropped. */
#define ZMTP_MAX_PARTS 8
/* A message of many empty frames is all headers: its frame count is
 * bounded. */
#define ZMTP_WIRE_MAX_FRAMES 1024
/* The longest frame header (flags and a 64-bit length). */
#define ZMTP_WIRE_HEADER_MAX 9
/* A READY with Socket-Type and Identity of at most 32 bytes each (name
 * length, name, value length, value), and our greeting with it. */
#define ZMTP_WIRE_READY_MAX (1 + 5 + (1 + 11 + 4 + 32) + (1 + 8 + 4 + 32))
#define ZMTP_WIRE_HANDSHAKE_MAX (ZMTP_GREETING_LEN + ZMTP_WIRE_HEADER_MAX + \
	ZMTP_WIRE_READY_MAX)

#define ZMTP_F_MORE 0x01
#define ZMTP_F_LONG 0x02
#define ZMTP_F_COMMAND 0x04

struct zmtp_part {
	const void *data;
	size_t len;
};

/* Parses endpoint ("ipc:///path", "ipc://@abstract", "tcp://ADDRESS:port",
 * "tcp://[v6]:port", "tcp://localhost:port": numeric addresses, no name
 * service, as lightchat-ws is linked statically) into addr/len. Returns 0,
 * or -1 with a reason in err (errlen bytes). */
int zmtp_wire_endpoint(const char *endpoint, struct sockaddr_storage *addr,
    socklen_t *len, char *err, size_t errlen);

/* Writes a frame header for len bytes with flags (ZMTP_F_MORE,
 * ZMTP_F_COMMAND) into h (ZMTP_WIRE_HEADER_MAX bytes of room). Returns its
 * length, 2 or 9. */
size_t zmtp_wire_header(unsigned char *h, unsigned flags, size_t len);

/* Returns the length of the header zmtp_wire_header writes for len. */
size_t zmtp_wire_header_len(size_t len);

/* Returns the bytes a message of n frames takes encoded. */
size_t zmtp_wire_message_len(const struct zmtp_part *parts, int n);

/* Appends a message of n frames (n >= 1) to b, encoded. Returns 0, or -1
 * (out of memory or over b's maximum) with b as it was. */
int zmtp_wire_append(struct lc_buf *b, const struct zmtp_part *parts, int n);

/* Writes our greeting (version 3.0, NULL, not as server) and a READY
 * command with Socket-Type socket_type and Identity identity (idlen bytes,
 * 0 for none) into p (ZMTP_WIRE_HANDSHAKE_MAX bytes). Both strings at most
 * 32 bytes. Returns the bytes written. */
size_t zmtp_wire_handshake(unsigned char *p, const char *socket_type,
    const void *identity, size_t idlen);

/* Writes a command frame named name (at most 32 bytes) with body (n bytes,
 * at most 64) into p (ZMTP_WIRE_HEADER_MAX + 1 + 32 + 64 bytes). Returns
 * the bytes written (the PONG a PING asks for). */
size_t zmtp_wire_command(unsigned char *p, const char *name, const void *body,
    size_t n);

/* Reads a frame header from p (n bytes). Returns its length (2 or 9) with
 * *flags and *len set, 0 if incomplete, -1 if malformed. */
int zmtp_wire_parse_header(const unsigned char *p, size_t n, unsigned *flags,
    uint64_t *len);

enum zmtp_unit {
	ZMTP_UNIT_NONE = 0,       /* incomplete: read more */
	ZMTP_UNIT_GREETING = 1,   /* the peer's greeting, checked */
	ZMTP_UNIT_COMMAND = 2,    /* parts[0] its name, parts[1] its body */
	ZMTP_UNIT_MESSAGE = 3,    /* *nparts frames (the first ZMTP_MAX_PARTS
	                           * in parts) */
};

/* Parses the next unit of p (n bytes): the greeting while greeted is 0,
 * else one command or one whole message of at most max_msg bytes. Returns
 * the unit with *used the bytes it took (parts point into p), or -1 with
 * *why set (a static sentence: what the peer got wrong). */
int zmtp_wire_next(const unsigned char *p, size_t n, int greeted,
    size_t max_msg, struct zmtp_part parts[ZMTP_MAX_PARTS], int *nparts,
    size_t *used, const char **why);

/* Finds property name (case-insensitive, as the RFC says) in a READY
 * command's body (p, n bytes) and points *val at its value. Returns 1 found,
 * 0 absent, -1 malformed properties. */
int zmtp_wire_property(const unsigned char *p, size_t n, const char *name,
    struct zmtp_part *val);

#endif
