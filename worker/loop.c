/* loop.c - epoll over the ROUTER socket's descriptor (worker/router.h)
 * plus libcurl's sockets. */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "log.h"
#include "monotime.h"
#include "router.h"

/* How long one wait may sleep: bounds how late a stop request is seen. */
#define LOOP_MAX_WAIT_MS 500
#define LOOP_EVENTS 256          /* events taken per epoll_wait */

/* Not zmq_poll: that is poll(2) over every stream's socket on each turn of
 * the loop, which with 200 streams took 40% of the worker's CPU (perf, in
 * the kernel). epoll costs per ready socket instead. */
struct loop {
	struct router *router;
	int zfd;                 /* router_fd: readable when it has news */
	int epfd;
	CURLM *multi;
	loop_socket_fn on_socket;
	loop_done_fn on_done;
	void *arg;
	long timer_ms;           /* libcurl's timeout, -1 none */
	struct timespec timer_set;
	long (*due)(void *arg);  /* work at a time of its own, or NULL */
	void *due_arg;
	long due_ms;             /* its answer at the last turn, -1 none */
	struct timespec due_set;
	void (*tick)(void *arg); /* periodic work, or NULL */
	long tick_ms;
	struct timespec tick_last;
	struct {
		void (*fn)(void *arg);   /* NULL: a free slot */
		void *arg;
		long ms;
		struct timespec last;
	} timers[LOOP_TIMERS];
	struct {
		int fd;                  /* -1: a free slot */
		loop_fd_fn fn;
		void *arg;
	} fds[LOOP_FDS];
};

/* libcurl tells which sockets to watch for what. */
static int
on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct loop *l = userp;
	struct epoll_event ev;

	(void)easy;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		/* libcurl may have closed it already, which removed it. */
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	ev.data.fd = s;
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		ev.events |= EPOLLIN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, s, &ev) != 0 &&
	    (errno != ENOENT || epoll_ctl(l->epfd, EPOLL_CTL_ADD, s, &ev) != 0)) {
		log_err("epoll_ctl: %s", strerror(errno));
		return -1;
	}
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
loop_new(struct router *router, CURLM *multi, loop_socket_fn on_socket,
    loop_done_fn on_done, void *arg)
{
	struct loop *l = calloc(1, sizeof(*l));
	struct epoll_event ev;

	if (l == NULL)
		return NULL;
	l->router = router;
	l->zfd = router_fd(router);
	l->multi = multi;
	l->on_socket = on_socket;
	l->on_done = on_done;
	l->arg = arg;
	l->timer_ms = -1;
	for (size_t i = 0; i < LOOP_FDS; i++)
		l->fds[i].fd = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		log_err("event loop: %s", strerror(errno));
		goto fail;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = l->zfd;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->zfd, &ev) != 0) {
		log_err("event loop: %s", strerror(errno));
		goto fail;
	}
	if (curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket) !=
	    CURLM_OK ||
	    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, l) != CURLM_OK ||
	    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) !=
	    CURLM_OK ||
	    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, l) != CURLM_OK)
		goto fail;
	return l;
fail:
	loop_free(l);
	return NULL;
}

void
loop_set_due(struct loop *l, long (*fn)(void *arg), void *arg)
{
	l->due = fn;
	l->due_arg = arg;
	l->due_ms = -1;
}

void
loop_set_tick(struct loop *l, void (*fn)(void *arg), long interval_ms)
{
	l->tick = fn;
	l->tick_ms = interval_ms;
	monotime_now(&l->tick_last);
}

int
loop_add_timer(struct loop *l, void (*fn)(void *arg), void *arg,
    long interval_ms)
{
	for (size_t i = 0; i < LOOP_TIMERS; i++) {
		if (l->timers[i].fn != NULL)
			continue;
		l->timers[i].fn = fn;
		l->timers[i].arg = arg;
		l->timers[i].ms = interval_ms;
		monotime_now(&l->timers[i].last);
		return 0;
	}
	return -1;
}

int
loop_fd_watch(struct loop *l, int fd, unsigned events, loop_fd_fn fn,
    void *arg)
{
	struct epoll_event ev;
	size_t i, free_slot = LOOP_FDS;

	for (i = 0; i < LOOP_FDS; i++) {
		if (l->fds[i].fd == fd)
			break;
		if (l->fds[i].fd < 0 && free_slot == LOOP_FDS)
			free_slot = i;
	}
	if (i == LOOP_FDS && free_slot == LOOP_FDS) {
		log_err("event loop: no room for another descriptor");
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.fd = fd;
	if (epoll_ctl(l->epfd, i < LOOP_FDS ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd,
	    &ev) != 0) {
		log_err("event loop: %s", strerror(errno));
		return -1;
	}
	if (i == LOOP_FDS)
		i = free_slot;
	l->fds[i].fd = fd;
	l->fds[i].fn = fn;
	l->fds[i].arg = arg;
	return 0;
}

void
loop_fd_unwatch(struct loop *l, int fd)
{
	for (size_t i = 0; i < LOOP_FDS; i++) {
		if (l->fds[i].fd != fd || fd < 0)
			continue;
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
		l->fds[i].fd = -1;
	}
}

/* The watched descriptor fd's slot, or -1. */
static int
fd_slot(const struct loop *l, int fd)
{
	for (int i = 0; i < LOOP_FDS; i++)
		if (l->fds[i].fd == fd)
			return i;
	return -1;
}

/* Shortens wait to the next timer due. */
static long
timers_wait(struct loop *l, long wait)
{
	for (size_t i = 0; i < LOOP_TIMERS; i++) {
		if (l->timers[i].fn == NULL)
			continue;
		long left = l->timers[i].ms -
		    monotime_ms_since(&l->timers[i].last);
		if (left < wait)
			wait = left < 0 ? 0 : left;
	}
	return wait;
}

static void
timers_run(struct loop *l)
{
	for (size_t i = 0; i < LOOP_TIMERS; i++) {
		if (l->timers[i].fn == NULL ||
		    monotime_ms_since(&l->timers[i].last) < l->timers[i].ms)
			continue;
		monotime_now(&l->timers[i].last);
		l->timers[i].fn(l->timers[i].arg);
	}
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
	struct epoll_event evs[LOOP_EVENTS];
	int running;

	while (!*stop) {
		long wait = LOOP_MAX_WAIT_MS;
		/* What the last turn sent goes now, each session's in one
		 * write; messages received but not yet handled mean no wait. */
		router_flush(l->router);
		int zready = router_pending(l->router);
		if (zready)
			wait = 0;
		else if (l->timer_ms >= 0) {
			long left = l->timer_ms - monotime_ms_since(&l->timer_set);
			wait = left < 0 ? 0 : (left < wait ? left : wait);
		}
		wait = timers_wait(l, wait);
		if (l->due_ms >= 0) {
			long left = l->due_ms - monotime_ms_since(&l->due_set);
			wait = left < 0 ? 0 : (left < wait ? left : wait);
		}
		int n = epoll_wait(l->epfd, evs, LOOP_EVENTS, (int)wait);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("epoll_wait: %s", strerror(errno));
			return -1;
		}
		/* Socket actions may add or remove sockets; evs is a copy. */
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == l->zfd) {
				router_service(l->router);
				zready = router_pending(l->router);
				continue;
			}
			int k = fd_slot(l, evs[i].data.fd);
			if (k >= 0) {
				l->fds[k].fn(l->fds[k].arg, evs[i].events);
				continue;
			}
			int flags = 0;
			if (evs[i].events & EPOLLIN)
				flags |= CURL_CSELECT_IN;
			if (evs[i].events & EPOLLOUT)
				flags |= CURL_CSELECT_OUT;
			if (evs[i].events & (EPOLLERR | EPOLLHUP))
				flags |= CURL_CSELECT_ERR;
			curl_multi_socket_action(l->multi, evs[i].data.fd, flags,
			    &running);
		}
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
		timers_run(l);
		if (l->due != NULL) {
			l->due_ms = l->due(l->due_arg);
			monotime_now(&l->due_set);
		}
	}
	return 0;
}

void
loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	if (l->epfd >= 0)
		close(l->epfd);
	free(l);
}
