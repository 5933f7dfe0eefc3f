/* loop.c - zmq_poll over a ZeroMQ socket plus libcurl's sockets. */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "log.h"
#include "monotime.h"

/* How long one poll may sleep: bounds how late a stop request is seen. */
#define LOOP_MAX_WAIT_MS 500

struct loop {
	void *zsock;
	CURLM *multi;
	loop_socket_fn on_socket;
	loop_done_fn on_done;
	void *arg;
	zmq_pollitem_t *items;   /* items[0] is zsock, then libcurl's sockets */
	size_t nitems, cap;
	long timer_ms;           /* libcurl's timeout, -1 none */
	struct timespec timer_set;
	void (*tick)(void *arg); /* periodic work, or NULL */
	long tick_ms;
	struct timespec tick_last;
};

static short
curl_to_zmq(int what)
{
	short ev = 0;

	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		ev |= ZMQ_POLLIN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		ev |= ZMQ_POLLOUT;
	return ev;
}

/* libcurl tells which sockets to watch for what. */
static int
on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct loop *l = userp;
	size_t i;

	(void)easy;
	(void)socketp;
	for (i = 1; i < l->nitems; i++)
		if (l->items[i].fd == s)
			break;
	if (what == CURL_POLL_REMOVE) {
		if (i < l->nitems)
			l->items[i] = l->items[--l->nitems];
		return 0;
	}
	if (i == l->nitems) {
		if (l->nitems == l->cap) {
			size_t cap = l->cap * 2;
			zmq_pollitem_t *it = realloc(l->items, cap * sizeof(*it));
			if (it == NULL) {
				log_err("out of memory watching a socket");
				return -1;
			}
			l->items = it;
			l->cap = cap;
		}
		memset(&l->items[i], 0, sizeof(l->items[i]));
		l->items[i].fd = s;
		l->nitems++;
	}
	l->items[i].events = curl_to_zmq(what);
	return 0;
}

static int
on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct loop *l = userp;

	(void)multi;
	l->timer_ms = timeout_ms;
	monotime_now(&l->timer_set);
	return 0;
}

struct loop *
loop_new(void *zsock, CURLM *multi, loop_socket_fn on_socket,
    loop_done_fn on_done, void *arg)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->cap = 64;
	l->items = calloc(l->cap, sizeof(*l->items));
	if (l->items == NULL) {
		free(l);
		return NULL;
	}
	l->zsock = zsock;
	l->multi = multi;
	l->on_socket = on_socket;
	l->on_done = on_done;
	l->arg = arg;
	l->items[0].socket = zsock;
	l->items[0].events = ZMQ_POLLIN;
	l->nitems = 1;
	l->timer_ms = -1;
	if (curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket) !=
	    CURLM_OK ||
	    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, l) != CURLM_OK ||
	    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) !=
	    CURLM_OK ||
	    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, l) != CURLM_OK) {
		loop_free(l);
		return NULL;
	}
	return l;
}

void
loop_set_tick(struct loop *l, void (*fn)(void *arg), long interval_ms)
{
	l->tick = fn;
	l->tick_ms = interval_ms;
	monotime_now(&l->tick_last);
}

void
loop_check_done(struct loop *l)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(l->multi, &left)) != NULL)
		if (m->msg == CURLMSG_DONE)
			l->on_done(m->easy_handle, m->data.result, l->arg);
}

int
loop_run(struct loop *l, volatile sig_atomic_t *stop)
{
	struct ready { curl_socket_t fd; int flags; } *ready = NULL;
	size_t ready_cap = 0;
	int running, rc = -1;

	while (!*stop) {
		long wait = LOOP_MAX_WAIT_MS;
		if (l->timer_ms >= 0) {
			long left = l->timer_ms - monotime_ms_since(&l->timer_set);
			wait = left < 0 ? 0 : (left < wait ? left : wait);
		}
		int n = zmq_poll(l->items, (int)l->nitems, wait);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("zmq_poll: %s", zmq_strerror(errno));
			goto out;
		}
		/* Socket actions may change items: act on a snapshot. */
		if (ready_cap < l->nitems) {
			struct ready *r = realloc(ready, l->nitems * sizeof(*r));
			if (r == NULL)
				goto out;
			ready = r;
			ready_cap = l->nitems;
		}
		size_t nready = 0;
		for (size_t i = 1; i < l->nitems; i++) {
			short re = l->items[i].revents;
			if (re == 0)
				continue;
			int flags = 0;
			if (re & ZMQ_POLLIN)
				flags |= CURL_CSELECT_IN;
			if (re & ZMQ_POLLOUT)
				flags |= CURL_CSELECT_OUT;
			if (re & ZMQ_POLLERR)
				flags |= CURL_CSELECT_ERR;
			ready[nready].fd = l->items[i].fd;
			ready[nready++].flags = flags;
		}
		int zready = l->items[0].revents & ZMQ_POLLIN;
		for (size_t i = 0; i < nready; i++)
			curl_multi_socket_action(l->multi, ready[i].fd,
			    ready[i].flags, &running);
		if (l->timer_ms >= 0 &&
		    monotime_ms_since(&l->timer_set) >= l->timer_ms) {
			l->timer_ms = -1;
			curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0,
			    &running);
		}
		loop_check_done(l);
		if (zready)
			l->on_socket(l->arg);
		if (l->tick != NULL &&
		    monotime_ms_since(&l->tick_last) >= l->tick_ms) {
			monotime_now(&l->tick_last);
			l->tick(l->arg);
		}
	}
	rc = 0;
out:
	free(ready);
	return rc;
}

void
loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	free(l->items);
	free(l);
}
