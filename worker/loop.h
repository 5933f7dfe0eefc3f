/* loop.h - the worker's one event loop: a ZeroMQ socket and every libcurl
 * transfer in one epoll set, with libcurl's socket and timer callbacks (the
 * multi_socket API). Many replies stream at once on one thread. */
#ifndef LC_LOOP_H
#define LC_LOOP_H

#include <curl/curl.h>
#include <signal.h>

struct loop;

/* Called when the ZeroMQ socket has messages to read. */
typedef void (*loop_socket_fn)(void *arg);
/* Called when a transfer ended; the easy handle is still in the multi. */
typedef void (*loop_done_fn)(CURL *easy, CURLcode result, void *arg);

/* Creates a loop over zsock (a ZeroMQ socket) and multi, configuring the
 * multi's callbacks. Returns NULL when out of memory; free with loop_free. */
struct loop *loop_new(void *zsock, CURLM *multi, loop_socket_fn on_socket,
    loop_done_fn on_done, void *arg);

/* Calls fn(arg) about every interval_ms milliseconds from the loop. */
void loop_set_tick(struct loop *l, void (*fn)(void *arg), long interval_ms);

/* Runs until *stop becomes non-zero. Returns 0, or -1 if epoll fails. */
int loop_run(struct loop *l, volatile sig_atomic_t *stop);

/* Reports finished transfers now (after handles were added or removed
 * outside the loop's own processing). */
void loop_check_done(struct loop *l);

/* Frees the loop (not the socket or the multi handle). */
void loop_free(struct loop *l);

#endif
