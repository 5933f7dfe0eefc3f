/* pages.h - the handlers of the FastCGI program, one per page. Each answers
 * the request completely and returns 0, or -1 if the client went away. */
#ifndef LC_PAGES_H
#define LC_PAGES_H

#include "http.h"

/* POST /login, OPTIONS /login (CORS preflight). */
int page_login(struct http_req *r);

/* POST /logout. */
int page_logout(struct http_req *r);

/* GET /api/me. */
int page_me(struct http_req *r);

/* GET /api/models. */
int page_models(struct http_req *r);

/* /api/conversations and below. */
int page_conversations(struct http_req *r);

/* The /ws authorizer: 200 lets lighttpd proxy the upgrade to websocketd. */
int page_authorize(struct http_req *r);

#endif
