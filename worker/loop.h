/* loop.h - the worker's one event loop: the ROUTER socket, every libcurl
 * transfer and a few other descriptors (the cluster's database connection)
 * in one epoll set, with libcurl's socket and timer callbacks (the
 * multi_socket API). Many replies stream at once on one thread. */
#ifndef LC_LOOP_H
#define LC_LOOP_H

#include <curl/curl.h>
#include <signal.h>

struct loop;

struct router;

/* Called when the ROUTER socket has messages to read. */
typedef void (*loop_socket_fn)(void *arg);
/* Called when a transfer ended; the easy handle is still in the multi. */
typedef void (*loop_done_fn)(CURL *easy, CURLcode result, void *arg);

/* Creates a loop over router (worker/router.h: serviced when its descriptor
 * is readable, flushed before every wait) and multi, configuring the
 * multi's callbacks. Returns NULL when out of memory; free with loop_free
 * (which frees neither). */
struct loop *loop_new(struct router *router, CURLM *multi,
    loop_socket_fn on_socket, loop_done_fn on_done, void *arg);

/* Calls fn(arg) about every interval_ms milliseconds from the loop. */
void loop_set_tick(struct loop *l, void (*fn)(void *arg), long interval_ms);

/* fn(arg) runs at every turn of the loop and returns the milliseconds
 * until it has work again (-1: none): the loop sleeps no longer. */
void loop_set_due(struct loop *l, long (*fn)(void *arg), void *arg);

/* Another periodic callback: fn(arg) about every interval_ms (at most
 * LOOP_TIMERS of them). Returns 0, or -1 when there is no room. */
#define LOOP_TIMERS 4
int loop_add_timer(struct loop *l, void (*fn)(void *arg), void *arg,
    long interval_ms);

/* A descriptor of another library's (libpq's connection, worker/cluster.c)
 * in the same epoll set: fn(arg, events) is called with its epoll events
 * (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP) when it is ready. */
typedef void (*loop_fd_fn)(void *arg, unsigned events);
#define LOOP_FDS 4

/* Watches fd for events (EPOLLIN and/or EPOLLOUT); called again for the
 * same fd, changes what it waits for. Unwatch it before closing it.
 * Returns 0, or -1 (logged) when epoll refuses or there is no room. */
int loop_fd_watch(struct loop *l, int fd, unsigned events, loop_fd_fn fn,
    void *arg);

/* Stops watching fd (a descriptor not watched is ignored). */
void loop_fd_unwatch(struct loop *l, int fd);

/* Runs until *stop becomes non-zero. Returns 0, or -1 if epoll fails. */
int loop_run(struct loop *l, volatile sig_atomic_t *stop);

/* Reports finished transfers now (after handles were added or removed
 * outside the loop's own processing). */
void loop_check_done(struct loop *l);

/* Frees the loop (not the router or the multi handle). */
void loop_free(struct loop *l);

#endif
