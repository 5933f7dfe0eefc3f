/* test-limits.c - unit tests of worker/limits.c: sessions per user and per
 * address, the per-user message budget, a full table, and sessions whose
 * connection went away. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "limits.h"
#include "unit.h"

/* open_n: opens session "<tag><i>" for i in [from, to). */
static int
open_n(struct limits *l, const char *tag, int from, int to, const char *user,
    const char *peer, long long now)
{
	char key[32];
	int bad = 0;

	for (int i = from; i < to; i++) {
		int n = snprintf(key, sizeof(key), "%s%d", tag, i);
		if (limits_open(l, key, (size_t)n, user, peer, -1, now) !=
		    LIMITS_OK)
			bad++;
	}
	return bad;
}

static void
test_address(void)
{
	char a[LIMITS_ADDR_MAX], big[200];

	limits_address("127.0.0.1", a);
	CHECK_STR(a, "127.0.0.1", "address: one item");
	limits_address("10.0.0.9, 127.0.0.1", a);
	CHECK_STR(a, "127.0.0.1", "address: the last item (lighttpd's)");
	limits_address(" 2001:db8::1 ", a);
	CHECK_STR(a, "2001:db8::1", "address: trimmed");
	limits_address("", a);
	CHECK_STR(a, "", "address: empty");
	limits_address(NULL, a);
	CHECK_STR(a, "", "address: NULL");
	limits_address("1.2.3.4,", a);
	CHECK_STR(a, "", "address: a trailing comma names none");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	limits_address(big, a);
	CHECK(strlen(a) == LIMITS_ADDR_MAX - 1, "address: cut to fit");
}

static void
test_connections(void)
{
	struct limits *l = limits_new(3, 5, 60, 64);
	long long t = 1000;

	if (l == NULL)
		exit(2);
	CHECK(open_n(l, "a", 0, 3, "alice", "127.0.0.1", t) == 0,
	    "user: up to the limit");
	CHECK(limits_open(l, "a3", 2, "alice", "127.0.0.1", -1, t) ==
	    LIMITS_USER, "user: one more is refused");
	CHECK(limits_open(l, "a0", 2, "alice", "127.0.0.1", -1, t) ==
	    LIMITS_OK, "user: a counted session again changes nothing");
	CHECK(limits_user_count(l, "alice") == 3, "user: counted 3");
	CHECK(limits_open(l, "b0", 2, "bob", "127.0.0.1", -1, t) == LIMITS_OK,
	    "user: another user from the address is counted");
	CHECK(limits_open(l, "b1", 2, "bob", "10.0.0.1, 127.0.0.1", -1, t) ==
	    LIMITS_OK, "address: a forwarded list counts its last item");
	CHECK(limits_address_count(l, "127.0.0.1") == 5,
	    "address: counted 5");
	CHECK(limits_open(l, "b2", 2, "bob", "127.0.0.1", -1, t) ==
	    LIMITS_ADDRESS, "address: one more is refused");
	CHECK(limits_open(l, "c0", 2, "carol", "192.0.2.7", -1, t) ==
	    LIMITS_OK, "address: another address is not");
	CHECK(limits_open(l, "c1", 2, "carol", "", -1, t) == LIMITS_OK &&
	    limits_open(l, "c2", 2, "carol", NULL, -1, t) == LIMITS_OK,
	    "address: no address is not limited per address");
	limits_close(l, "a1", 2);
	CHECK(limits_user_count(l, "alice") == 2 &&
	    limits_address_count(l, "127.0.0.1") == 4, "close: uncounted");
	CHECK(limits_open(l, "a4", 2, "alice", "127.0.0.1", -1, t) ==
	    LIMITS_OK, "close: a new session is allowed again");
	limits_close(l, "a1", 2);
	limits_close(l, "zz", 2);
	limits_close(NULL, "zz", 2);
	CHECK(limits_user_count(l, "alice") == 3,
	    "close: twice, or unknown, changes nothing");
	CHECK(limits_open(l, "x", 1, "", "127.0.0.1", -1, t) == LIMITS_FULL &&
	    limits_open(l, "x", 0, "dave", "127.0.0.1", -1, t) ==
	    LIMITS_FULL, "open: no user or no key is refused");
	limits_clear(l);
	CHECK(limits_user_count(l, "alice") == 0 &&
	    limits_address_count(l, "127.0.0.1") == 0, "clear: nothing left");
	CHECK(open_n(l, "a", 0, 3, "alice", "127.0.0.1", t) == 0,
	    "clear: the user opens again");
	CHECK(strcmp(limits_strerror(LIMITS_USER), "user") == 0 &&
	    strcmp(limits_strerror(LIMITS_FULL), "full") == 0, "strerror");
	limits_free(l);
	limits_free(NULL);
}

static void
test_full(void)
{
	struct limits *l = limits_new(100, 100, 60, 4);
	long long t = 1000;

	if (l == NULL)
		exit(2);
	CHECK(limits_new(1, 1, 1, 0) == NULL, "full: no slots is refused");
	CHECK(open_n(l, "s", 0, 4, "alice", "127.0.0.1", t) == 0,
	    "full: every slot used");
	CHECK(limits_open(l, "s4", 2, "bob", "192.0.2.1", -1, t) ==
	    LIMITS_FULL, "full: a new session is refused (fail closed)");
	CHECK(limits_user_count(l, "bob") == 0, "full: and not counted");
	limits_close(l, "s2", 2);
	CHECK(limits_open(l, "s4", 2, "bob", "192.0.2.1", -1, t) == LIMITS_OK,
	    "full: a slot freed is used again");
	limits_close(l, "s0", 2);
	limits_close(l, "s1", 2);
	limits_close(l, "s3", 2);
	/* Users with no session keep their budget while they have a slot;
	 * four users of four slots, each with one session. */
	CHECK(open_n(l, "u", 0, 1, "u0", "", t) == 0 &&
	    open_n(l, "v", 0, 1, "u1", "", t) == 0 &&
	    open_n(l, "w", 0, 1, "u2", "", t) == 0,
	    "full: users fill the user slots");
	CHECK(limits_user_count(l, "u2") == 1 &&
	    limits_user_count(l, "alice") == 0, "full: alice's slot went "
	    "to a new user (she had no session)");
	limits_free(l);
}

static void
test_messages(void)
{
	/* 60 a minute: a burst of 16, then one a second. */
	struct limits *l = limits_new(10, 10, 60, 16);
	long long t = 5000;
	int ok = 0;

	if (l == NULL)
		exit(2);
	CHECK(limits_take(l, "alice", t) == 0,
	    "messages: a user without a session is not limited here");
	open_n(l, "a", 0, 2, "alice", "127.0.0.1", t);
	open_n(l, "b", 0, 1, "bob", "127.0.0.1", t);
	for (int i = 0; i < 40; i++)
		ok += limits_take(l, "alice", t) == 0;
	CHECK(ok == 16, "messages: the burst is allowed, the rest refused");
	CHECK(limits_take(l, "bob", t) == 0, "messages: another user has his "
	    "own budget");
	CHECK(limits_take(l, "alice", t + 999) == -1 &&
	    limits_take(l, "alice", t + 2000) == 0,
	    "messages: one more a second");
	/* The budget is the user's, not a session's: closing every session
	 * and opening again does not refill it. */
	limits_close(l, "a0", 2);
	limits_close(l, "a1", 2);
	open_n(l, "a", 5, 6, "alice", "127.0.0.1", t + 2000);
	ok = 0;
	for (int i = 0; i < 5; i++)
		ok += limits_take(l, "alice", t + 2000) == 0;
	CHECK(ok == 1, "messages: a new session does not refill the user's "
	    "budget (one message was left)");
	CHECK(limits_take(l, "alice", t + 2000 + 60000) == 0,
	    "messages: refilled after a minute");
	ok = 0;
	for (int i = 0; i < 40; i++)
		ok += limits_take(l, "alice", t + 62000) == 0;
	CHECK(ok == 15, "messages: never more than the burst");
	limits_free(l);
}

static void
test_gone(void)
{
	struct limits *l = limits_new(10, 10, 60, 16);
	unsigned char key[LIMITS_KEY_MAX];
	size_t len = 0;
	int sv[2], other[2];

	if (l == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		exit(2);
	CHECK(limits_open(l, "k1", 2, "alice", "127.0.0.1", sv[0], 1) ==
	    LIMITS_OK && limits_open(l, "k2", 2, "alice", "127.0.0.1", -1, 1) ==
	    LIMITS_OK, "gone: two sessions, one with a descriptor");
	CHECK(limits_gone(l, key, &len) == 0, "gone: none while open");
	CHECK(limits_fd(l, "k1", 2) == sv[0] && limits_fd(l, "k2", 2) == -1 &&
	    limits_fd(l, "k9", 2) == -1 && limits_fd(NULL, "k1", 2) == -1,
	    "fd: the connection of a session counted with one");
	close(sv[0]);
	CHECK(limits_fd(l, "k1", 2) == -1, "fd: none once it is closed");
	CHECK(limits_gone(l, key, &len) == 1 && len == 2 &&
	    memcmp(key, "k1", 2) == 0, "gone: its descriptor closed");
	CHECK(limits_user_count(l, "alice") == 1 &&
	    limits_gone(l, key, &len) == 0, "gone: forgotten once");
	/* The descriptor's number given to another file. */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, other) != 0)
		exit(2);
	CHECK(limits_open(l, "k3", 2, "alice", "127.0.0.1", other[0], 1) ==
	    LIMITS_OK, "gone: a third session");
	int fd = other[0];
	close(other[0]);
	if (dup2(sv[1], fd) != fd)
		exit(2);
	CHECK(limits_fd(l, "k3", 2) == -1,
	    "fd: none when its number is another file now");
	CHECK(limits_gone(l, key, &len) == 1 && memcmp(key, "k3", 2) == 0,
	    "gone: its descriptor's number reused by another file");
	close(fd);
	close(sv[1]);
	close(other[1]);
	CHECK(limits_user_count(l, "alice") == 1, "gone: the other stays");
	CHECK(limits_gone(NULL, key, &len) == 0, "gone: NULL");
	limits_free(l);
}

int
main(void)
{
	test_address();
	test_connections();
	test_full();
	test_messages();
	test_gone();
	UNIT_EXIT();
}
