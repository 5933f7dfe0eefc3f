/* fuzz_zmtp.c - ws/zmtp.h, the session's ZMTP parser (lib/zmtp_wire.c, the
 * worker's ROUTER's too), on bytes from the worker's side of the connection.
 *
 * The first input byte picks the starting point: after the handshake (odd:
 * message frames and commands) or before it (even: the peer's greeting and
 * READY; writes then fail on the absent socket, which drops the connection,
 * as a real failed write would). The rest is fed whole and in pieces whose
 * sizes come from a generator seeded with the input, each with a large and a
 * small message maximum. Invariants: every way of cutting the input gives the
 * same messages and the same result; every message has at least one frame,
 * its frames lie inside the received bytes and total at most the maximum. */
#include "fuzz.h"

#include "buf.h"
#include "log.h"
#include "zmtp.h"

struct collect {
	struct lc_buf log;   /* each message as <frames>{<len>:<bytes>}, in order */
	size_t messages;
};

/* Takes every whole message; returns 0 or ZMTP_ERR. */
static int
drain(struct zmtp *z, size_t max_msg, struct collect *c)
{
	struct zmtp_part parts[ZMTP_MAX_PARTS];
	int n = 0, r;

	while ((r = zmtp_recv(z, parts, &n)) == 1) {
		size_t total = 0;
		char head[32];
		FUZZ_CHECK(n >= 1);
		int k = snprintf(head, sizeof(head), "%d{", n);
		FUZZ_CHECK(buf_append(&c->log, head, (size_t)k) == LC_BUF_OK);
		for (int i = 0; i < n && i < ZMTP_MAX_PARTS; i++) {
			const char *d = parts[i].data;
			FUZZ_CHECK(d >= z->in.data && d + parts[i].len <=
			    z->in.data + z->in.len);
			total += parts[i].len;
			k = snprintf(head, sizeof(head), "%zu:", parts[i].len);
			FUZZ_CHECK(buf_append(&c->log, head, (size_t)k) ==
			    LC_BUF_OK);
			FUZZ_CHECK(buf_append(&c->log, d, parts[i].len) ==
			    LC_BUF_OK);
		}
		FUZZ_CHECK(total <= max_msg);
		c->messages++;
	}
	FUZZ_CHECK(r == 0 || r == ZMTP_ERR);
	return r;
}

static int
parse(const uint8_t *data, size_t size, int pieces, uint64_t seed,
    size_t max_msg, struct collect *c)
{
	struct zmtp z;
	char err[128];
	size_t i = 1;
	int rc = 0;

	FUZZ_CHECK(zmtp_init(&z, "ipc:///nonexistent/lightchat-fuzz", max_msg,
	    4096, err, sizeof(err)) == ZMTP_OK);
	/* Pretend connected: no socket, our handshake already written. */
	z.state = (data[0] & 1) ? ZMTP_READY : ZMTP_HANDSHAKE;
	z.peer_greeted = data[0] & 1;
	z.hs_off = z.hs_len;
	while (i < size && rc == 0) {
		size_t n = size - i;
		if (pieces)
			n = fuzz_piece_len(&seed, size - i);
		rc = zmtp_feed(&z, data + i, n);
		if (rc == 0)
			rc = drain(&z, max_msg, c);
		i += n;
	}
	zmtp_close(&z);
	return rc;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz", "error");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 32768)  /* longer: over the input bound */
		return 0;
	uint64_t seed = fuzz_seed(data, size);
	const size_t maxes[2] = { 1 << 20, 1 + data[0] % 300 };
	for (int m = 0; m < 2; m++) {
		struct collect ref = { 0 }, c = { 0 };
		buf_init(&ref.log, 1 << 24);
		buf_init(&c.log, 1 << 24);
		int ref_rc = parse(data, size, 0, seed, maxes[m], &ref);
		int rc = parse(data, size, 1, seed, maxes[m], &c);
		FUZZ_CHECK(rc == ref_rc);
		FUZZ_CHECK(c.messages == ref.messages);
		FUZZ_CHECK_SAME(c.log.data, c.log.len, ref.log.data, ref.log.len);
		buf_free(&ref.log);
		buf_free(&c.log);
	}
	return 0;
}
