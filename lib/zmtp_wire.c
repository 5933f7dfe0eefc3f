/* zmtp_wire.c - ZMTP 3.0 with the NULL mechanism, encoded and parsed (no
 * I/O): see zmtp_wire.h. */
#include "zmtp_wire.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

static void
put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
get_be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int
zmtp_wire_endpoint(const char *ep, struct sockaddr_storage *addr,
    socklen_t *addrlen, char *err, size_t errlen)
{
	memset(addr, 0, sizeof(*addr));
	if (strncmp(ep, "ipc://", 6) == 0) {
		struct sockaddr_un *un = (struct sockaddr_un *)addr;
		const char *path = ep + 6;
		size_t n = strlen(path);
		if (n == 0 || n >= sizeof(un->sun_path)) {
			snprintf(err, errlen, "ipc path empty or over %zu "
			    "bytes", sizeof(un->sun_path) - 1);
			return -1;
		}
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, path, n);
		if (path[0] == '@')  /* Linux abstract name, as libzmq */
			un->sun_path[0] = '\0';
		*addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		    n + (path[0] == '@' ? 0 : 1));
		return 0;
	}
	if (strncmp(ep, "tcp://", 6) != 0) {
		snprintf(err, errlen, "endpoint must be ipc:// or tcp://");
		return -1;
	}
	char host[256], port[8];
	const char *hp = ep + 6, *colon = strrchr(hp, ':');
	size_t hl = colon != NULL ? (size_t)(colon - hp) : 0;
	if (colon == NULL || hl == 0 || hl >= sizeof(host) ||
	    strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof(port) ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1)) {
		snprintf(err, errlen, "tcp endpoint must be tcp://host:port");
		return -1;
	}
	if (hp[0] == '[' && hl >= 2 && hp[hl - 1] == ']') {
		hp++;
		hl -= 2;
	}
	memcpy(host, hp, hl);
	host[hl] = '\0';
	snprintf(port, sizeof(port), "%s", colon + 1);
	/* Numeric addresses and "localhost" only: lightchat-ws is linked
	 * statically (docs/ARCHITECTURE.md, "Memory per connection"), and a
	 * static glibc has no name service to resolve other names with. */
	long pn = strtol(port, NULL, 10);
	if (pn < 1 || pn > 65535) {
		snprintf(err, errlen, "tcp endpoint port must be 1 to 65535");
		return -1;
	}
	struct sockaddr_in *in4 = (struct sockaddr_in *)addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)pn);
		*addrlen = sizeof(*in4);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)pn);
		*addrlen = sizeof(*in6);
	} else {
		snprintf(err, errlen, "tcp endpoint host must be a numeric "
		    "address or localhost, not '%.64s'", host);
		return -1;
	}
	return 0;
}

size_t
zmtp_wire_header_len(size_t len)
{
	return len <= 255 ? 2 : 9;
}

size_t
zmtp_wire_header(unsigned char *h, unsigned flags, size_t len)
{
	if (zmtp_wire_header_len(len) == 2) {
		h[0] = (unsigned char)flags;
		h[1] = (unsigned char)len;
		return 2;
	}
	h[0] = (unsigned char)(flags | ZMTP_F_LONG);
	for (int i = 0; i < 8; i++)
		h[1 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	return 9;
}

size_t
zmtp_wire_message_len(const struct zmtp_part *parts, int n)
{
	size_t need = 0;

	for (int i = 0; i < n; i++)
		need += zmtp_wire_header_len(parts[i].len) + parts[i].len;
	return need;
}

int
zmtp_wire_append(struct lc_buf *b, const struct zmtp_part *parts, int n)
{
	size_t old = b->len;

	for (int i = 0; i < n; i++) {
		unsigned char h[ZMTP_WIRE_HEADER_MAX];
		size_t hl = zmtp_wire_header(h, i + 1 < n ? ZMTP_F_MORE : 0,
		    parts[i].len);
		if (buf_append(b, h, hl) != LC_BUF_OK ||
		    buf_append(b, parts[i].data, parts[i].len) != LC_BUF_OK) {
			buf_truncate(b, old);
			return -1;
		}
	}
	return 0;
}

/* Appends one READY property to body at *n. */
static void
put_property(unsigned char *body, size_t *n, const char *name,
    const void *val, size_t vl)
{
	size_t nl = strlen(name);

	body[(*n)++] = (unsigned char)nl;
	memcpy(body + *n, name, nl);
	*n += nl;
	put_be32(body + *n, (uint32_t)vl);
	*n += 4;
	if (vl > 0)
		memcpy(body + *n, val, vl);
	*n += vl;
}

size_t
zmtp_wire_handshake(unsigned char *p, const char *socket_type,
    const void *identity, size_t idlen)
{
	unsigned char body[ZMTP_WIRE_READY_MAX];
	size_t n = 0;

	memset(p, 0, ZMTP_GREETING_LEN);
	p[0] = 0xff;
	p[8] = 0x01;          /* padding: 1 + identity length, as libzmq */
	p[9] = 0x7f;
	p[10] = 3;            /* version 3.0 */
	p[11] = 0;
	memcpy(p + 12, "NULL", 4);
	body[n++] = 5;
	memcpy(body + n, "READY", 5);
	n += 5;
	put_property(body, &n, "Socket-Type", socket_type,
	    strlen(socket_type));
	put_property(body, &n, "Identity", identity, idlen);
	size_t h = zmtp_wire_header(p + ZMTP_GREETING_LEN, ZMTP_F_COMMAND, n);
	memcpy(p + ZMTP_GREETING_LEN + h, body, n);
	return ZMTP_GREETING_LEN + h + n;
}

size_t
zmtp_wire_command(unsigned char *p, const char *name, const void *body,
    size_t n)
{
	size_t nl = strlen(name);
	size_t h = zmtp_wire_header(p, ZMTP_F_COMMAND, 1 + nl + n);

	p[h] = (unsigned char)nl;
	memcpy(p + h + 1, name, nl);
	if (n > 0)
		memcpy(p + h + 1 + nl, body, n);
	return h + 1 + nl + n;
}

int
zmtp_wire_parse_header(const unsigned char *p, size_t n, unsigned *flags,
    uint64_t *len)
{
	if (n < 1)
		return 0;
	*flags = p[0];
	if (*flags & ~(unsigned)(ZMTP_F_MORE | ZMTP_F_LONG | ZMTP_F_COMMAND))
		return -1;
	if ((*flags & ZMTP_F_COMMAND) && (*flags & ZMTP_F_MORE))
		return -1;
	if (*flags & ZMTP_F_LONG) {
		if (n < 9)
			return 0;
		*len = get_be64(p + 1);
		return 9;
	}
	if (n < 2)
		return 0;
	*len = p[1];
	return 2;
}

/* The NULL mechanism's name, padded to the greeting's 20 bytes. */
static const char null_mechanism[20] = "NULL";

int
zmtp_wire_next(const unsigned char *p, size_t avail, int greeted,
    size_t max_msg, struct zmtp_part parts[ZMTP_MAX_PARTS], int *nparts,
    size_t *used, const char **why)
{
	size_t off = 0, total = 0;
	int frames = 0;

	*used = 0;
	if (!greeted) {
		if (avail < ZMTP_GREETING_LEN)
			return ZMTP_UNIT_NONE;
		if (p[0] != 0xff || p[9] != 0x7f || p[10] < 3 ||
		    memcmp(p + 12, null_mechanism, sizeof(null_mechanism)) != 0) {
			*why = "does not speak ZMTP 3 with the NULL mechanism";
			return -1;
		}
		*used = ZMTP_GREETING_LEN;
		return ZMTP_UNIT_GREETING;
	}
	for (;;) {
		unsigned flags = 0;
		uint64_t len = 0;
		int h = zmtp_wire_parse_header(p + off, avail - off, &flags, &len);
		if (h < 0) {
			*why = "sent a malformed frame";
			return -1;
		}
		if (h > 0 && len > max_msg - total) {
			*why = "sent a message over the size allowed";
			return -1;
		}
		if (h == 0 || len > avail - off - (size_t)h)
			return ZMTP_UNIT_NONE;
		const unsigned char *body = p + off + (size_t)h;
		if (flags & ZMTP_F_COMMAND) {
			if (off != 0) {
				*why = "sent a command inside a message";
				return -1;
			}
			size_t nl = len > 0 ? body[0] : 0;
			if (len == 0 || nl > len - 1) {
				*why = "sent a malformed command";
				return -1;
			}
			parts[0].data = body + 1;
			parts[0].len = nl;
			parts[1].data = body + 1 + nl;
			parts[1].len = (size_t)len - 1 - nl;
			*used = (size_t)h + (size_t)len;
			return ZMTP_UNIT_COMMAND;
		}
		if (++frames > ZMTP_WIRE_MAX_FRAMES) {
			*why = "sent a message of too many frames";
			return -1;
		}
		if (frames <= ZMTP_MAX_PARTS) {
			parts[frames - 1].data = body;
			parts[frames - 1].len = (size_t)len;
		}
		total += (size_t)len;
		off += (size_t)h + (size_t)len;
		if (!(flags & ZMTP_F_MORE)) {
			*used = off;
			*nparts = frames;
			return ZMTP_UNIT_MESSAGE;
		}
	}
}

int
zmtp_wire_property(const unsigned char *p, size_t n, const char *name,
    struct zmtp_part *val)
{
	size_t want = strlen(name);
	int found = 0;

	while (n > 0) {
		size_t nl = p[0];
		if (nl == 0 || n < 1 + nl + 4)
			return -1;
		uint32_t vl = get_be32(p + 1 + nl);
		if (vl > n - 1 - nl - 4)
			return -1;
		if (!found && nl == want && strncasecmp((const char *)p + 1,
		    name, nl) == 0) {
			val->data = p + 1 + nl + 4;
			val->len = vl;
			found = 1;
		}
		p += 1 + nl + 4 + vl;
		n -= 1 + nl + 4 + vl;
	}
	return found;
}
