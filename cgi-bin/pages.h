/* pages.h - the pages of the FastCGI program and the one table that routes
 * requests to them (routes.c). A handler is called by route_serve only after
 * its route's checks have passed (route.h): it does no method, Origin,
 * credential or database check of its own, and answers the request
 * completely, returning 0, or -1 if the client went away. */
#ifndef LC_PAGES_H
#define LC_PAGES_H

#include "http.h"
#include "route.h"

enum page {
	PAGE_LOGIN,       /* /login */
	PAGE_LOGOUT,      /* /logout */
	PAGE_ME,          /* /api/me */
	PAGE_MODELS,      /* /api/models */
	PAGE_USAGE,       /* /api/usage */
	PAGE_CONV_LIST,   /* /api/conversations[/] */
	PAGE_CONV,        /* /api/conversations/ID */
	PAGE_CONV_EXPORT, /* /api/conversations/ID/export */
	PAGE_ATTACH_UPLOAD, /* /api/attachments */
	PAGE_ATTACH,      /* /api/attachments/ID */
	PAGE_SESSIONS,    /* /api/sessions */
	PAGE_SESSIONS_OTHERS, /* /api/sessions/others */
	PAGE_SESSION,     /* /api/sessions/ID */
	PAGE_HEALTH,      /* /health */
	PAGE_METRICS,     /* /metrics */
	PAGE__MAX
};

/* Every path the responder serves, its methods and its checks. */
extern const struct route routes[PAGE__MAX];

/* POST /login (the seed's JSON shapes). */
int page_login(struct http_req *r, const struct route_ctx *ctx);

/* Answers a refusal of /login in the seed's shape ({"isAuthorized":false,
 * "msg":message,...}); code is not part of that shape. */
int login_refuse(struct http_req *r, int status, const char *code,
    const char *message);

/* POST /logout: ctx->user is "" without valid credentials. */
int page_logout(struct http_req *r, const struct route_ctx *ctx);

/* GET /api/me. */
int page_me(struct http_req *r, const struct route_ctx *ctx);

/* GET /api/models. */
int page_models(struct http_req *r, const struct route_ctx *ctx);

/* GET /api/usage: ctx->user's usage of this day and month against their
 * budget limits (usage.c). */
int page_usage(struct http_req *r, const struct route_ctx *ctx);

/* GET /api/conversations?q=&limit=&cursor=: ctx->user's, newest first. */
int page_conv_list(struct http_req *r, const struct route_ctx *ctx);

/* GET /api/conversations/ID: one, with its messages. */
int page_conv_get(struct http_req *r, const struct route_ctx *ctx);

/* PATCH /api/conversations/ID {"title"}: rename. */
int page_conv_rename(struct http_req *r, const struct route_ctx *ctx);

/* DELETE /api/conversations/ID. */
int page_conv_delete(struct http_req *r, const struct route_ctx *ctx);

/* GET /api/conversations/ID/export?format=md|json. */
int page_conv_export(struct http_req *r, const struct route_ctx *ctx);

/* POST /api/attachments?name=NAME, the file's bytes the body: stored as
 * ctx->user's when its content is an image or text (lib/sniff.h) within
 * the limits and the quota; 201 with its metadata (store_attach_json). */
int page_attach_upload(struct http_req *r, const struct route_ctx *ctx);

/* GET /api/attachments/ID: its bytes with their mime type. */
int page_attach_get(struct http_req *r, const struct route_ctx *ctx);

/* DELETE /api/attachments/ID: an unused one (204; 409 once a prompt used
 * it; 404 for anyone else's). */
int page_attach_delete(struct http_req *r, const struct route_ctx *ctx);

/* GET /api/sessions: ctx->user's active sessions {"sessions":[{id,started,
 * last_seen,addr,client,remember,current}]}, id a public id. */
int page_sessions_list(struct http_req *r, const struct route_ctx *ctx);

/* DELETE /api/sessions/ID: ends one of ctx->user's sessions (204; 404 for
 * anyone else's). */
int page_session_delete(struct http_req *r, const struct route_ctx *ctx);

/* POST /api/sessions/others: ends every other session of ctx->user
 * {"ended":n}. */
int page_sessions_others(struct http_req *r, const struct route_ctx *ctx);

/* GET /health: 200 {"status":"ok","worker":"ok","database":"ok"}, or 503
 * with "status":"fail" and what is wrong in "worker" or "database". */
int page_health(struct http_req *r, const struct route_ctx *ctx);

/* GET /metrics: the Prometheus text format, to loopback or the bearer
 * token of metrics_token_file; 403 otherwise. */
int page_metrics(struct http_req *r, const struct route_ctx *ctx);

/* The /ws authorizer (FCGI_ROLE=AUTHORIZER, any path): 200 lets lighttpd
 * proxy the upgrade to websocketd. It checks the Origin and the credentials
 * itself: they differ from the routes' (a ?token= query is accepted, the
 * messages and log lines are its own). */
int page_authorize(struct http_req *r);

#endif
