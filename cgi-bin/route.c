/* route.c - finds a request's route in a table and makes the route's checks
 * (method, Origin, CORS preflight, credentials, database) in one order,
 * answering every refusal here so that handlers only see checked requests. */
#include "route.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

static const char *const method_names[ROUTE_METHOD__MAX] = {
	[ROUTE_GET] = "GET",
	[ROUTE_POST] = "POST",
	[ROUTE_PATCH] = "PATCH",
	[ROUTE_DELETE] = "DELETE",
};

/* Returns 1 if path is the route's exact path (or that path + "/" under
 * ROUTE_SLASH). */
static int
exact_match(const struct route *rt, const char *path)
{
	size_t len = strlen(rt->path);

	if (strncmp(path, rt->path, len) != 0)
		return 0;
	return path[len] == '\0' ||
	    ((rt->flags & ROUTE_SLASH) && strcmp(path + len, "/") == 0);
}

void
route_find(const struct route *table, size_t n, const char *path,
    struct route_match *m)
{
	m->route = -1;
	m->owner = -1;
	m->not_found = "No such page";
	m->id[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!(table[i].flags & ROUTE_ID) &&
		    exact_match(&table[i], path)) {
			m->route = m->owner = (int)i;
			return;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct route *rt = &table[i];
		size_t len = strlen(rt->path);
		const char *rest = path + len;

		if (!(rt->flags & ROUTE_ID) ||
		    strncmp(path, rt->path, len) != 0)
			continue;
		if (m->owner < 0)
			m->owner = (int)i;
		if (strlen(rest) < ID_LEN) {
			m->not_found = rt->no_such ? rt->no_such :
			    "No such conversation";
			continue;
		}
		memcpy(m->id, rest, ID_LEN);
		m->id[ID_LEN] = '\0';
		if (!id_valid(m->id)) {
			m->not_found = rt->no_such ? rt->no_such :
			    "No such conversation";
			continue;
		}
		if (strcmp(rest + ID_LEN, rt->suffix) == 0) {
			m->route = m->owner = (int)i;
			return;
		}
	}
	m->id[0] = '\0';
}

route_handler
route_handler_for(const struct route *rt, const char *method)
{
	if ((rt->flags & ROUTE_HEAD) && strcmp(method, "HEAD") == 0)
		return rt->handler[ROUTE_GET];
	for (int i = 0; i < ROUTE_METHOD__MAX; i++)
		if (rt->handler[i] != NULL &&
		    strcmp(method, method_names[i]) == 0)
			return rt->handler[i];
	return NULL;
}

void
route_allow(const struct route *rt, char allow[ROUTE_ALLOW_MAX],
    char use[ROUTE_ALLOW_MAX])
{
	const char *names[ROUTE_METHOD__MAX + 1];
	size_t k = 0, a = 0, u;

	for (int i = 0; i < ROUTE_METHOD__MAX; i++) {
		if (rt->handler[i] != NULL)
			names[k++] = method_names[i];
		if (i == ROUTE_GET && rt->handler[i] != NULL &&
		    (rt->flags & ROUTE_HEAD))
			names[k++] = "HEAD";
	}
	allow[0] = '\0';
	u = (size_t)snprintf(use, ROUTE_ALLOW_MAX, "Use");
	/* At most five names of at most six bytes: both always fit. */
	for (size_t i = 0; i < k; i++) {
		a += (size_t)snprintf(allow + a, ROUTE_ALLOW_MAX - a, "%s%s",
		    i > 0 ? ", " : "", names[i]);
		u += (size_t)snprintf(use + u, ROUTE_ALLOW_MAX - u, "%s%s",
		    i == 0 ? " " : i + 1 == k ? " or " : ", ", names[i]);
	}
	if (rt->flags & ROUTE_CORS)
		snprintf(allow + a, ROUTE_ALLOW_MAX - a, "%sOPTIONS",
		    a > 0 ? ", " : "");
}

static int
refuse_method(struct http_req *r, const struct route *rt, route_refuse refuse)
{
	char allow[ROUTE_ALLOW_MAX], use[ROUTE_ALLOW_MAX];

	route_allow(rt, allow, use);
	http_add_header(r, "Allow: %s", allow);
	return refuse(r, 405, "method_not_allowed", use);
}

/* Adds the CORS headers for an allowed foreign origin. */
static void
cors_headers(struct http_req *r)
{
	if (!r->cross_origin)
		return;
	http_add_header(r, "Access-Control-Allow-Origin: %s", r->origin);
	http_add_header(r, "Vary: Origin");
}

/* Answers an OPTIONS preflight: only an allowed foreign origin needs one. */
static int
preflight(struct http_req *r, const struct route *rt)
{
	char allow[ROUTE_ALLOW_MAX], use[ROUTE_ALLOW_MAX], msg[128];

	if (!r->cross_origin) {
		snprintf(msg, sizeof(msg), "This origin may not call %s",
		    rt->path);
		return http_send_error(r, 403, "origin_not_allowed", msg);
	}
	route_allow(rt, allow, use);
	cors_headers(r);
	http_add_header(r, "Access-Control-Allow-Methods: %s", allow);
	/* The seed client sends a stray Access-Control-Allow-Origin request
	 * header, so the preflight asks for it. */
	http_add_header(r, "Access-Control-Allow-Headers: content-type, "
	    "access-control-allow-origin, authorization");
	http_add_header(r, "Access-Control-Max-Age: 600");
	return http_send_json(r, 204, NULL);
}

int
route_serve(struct http_req *r, const struct route *table, size_t n)
{
	struct route_match m;
	struct route_ctx ctx;
	const struct route *rt;
	route_refuse refuse;
	route_handler h;
	int is_preflight;

	route_find(table, n, r->path, &m);
	if (m.owner < 0)
		return http_send_error(r, 404, "not_found", m.not_found);
	rt = &table[m.owner];
	refuse = rt->refuse != NULL ? rt->refuse : http_send_error;
	h = m.route >= 0 ? route_handler_for(rt, r->method) : NULL;
	is_preflight = (rt->flags & ROUTE_CORS) &&
	    strcmp(r->method, "OPTIONS") == 0;

	if ((rt->flags & ROUTE_METHOD_FIRST) && m.route >= 0 && h == NULL &&
	    !is_preflight)
		return refuse_method(r, rt, refuse);
	if (!r->origin_allowed) {
		/* The sysadmin's hint: a page served from another address
		 * (bind 0.0.0.0, a proxy, TLS) needs its origin configured. */
		log_warn("request refused: Origin %.100s is not in public_origin "
		    "or allowed_origins", r->origin != NULL ? r->origin : "-");
		return refuse(r, 403, "origin_not_allowed",
		    "This origin is not allowed");
	}
	if (is_preflight)
		return preflight(r, rt);
	if (rt->flags & ROUTE_CORS)
		cors_headers(r);
	memset(&ctx, 0, sizeof(ctx));
	if (rt->auth != ROUTE_AUTH_NONE) {
		int t = http_authenticate(r, ctx.user, &ctx.exp, ctx.sid);
		/* A database that fails is not a login that ended. */
		if (t == LC_TOKEN_UNAVAILABLE && rt->auth == ROUTE_AUTH_REQUIRED)
			return refuse(r, 503, "storage_error",
			    "The database is not available; try again");
		if (t != LC_TOKEN_OK && rt->auth == ROUTE_AUTH_REQUIRED)
			return refuse(r, 401, "unauthorized",
			    t == LC_TOKEN_EXPIRED ? "Your session has expired" :
			    "Log in first");
		if (t != LC_TOKEN_OK) {
			ctx.user[0] = '\0';
			ctx.exp = 0;
			ctx.sid[0] = '\0';
		}
	}
	if ((rt->flags & ROUTE_STORE) && r->store == NULL)
		return refuse(r, 503, "storage_error",
		    "The database is not available");
	if (m.route < 0)
		return refuse(r, 404, "not_found", m.not_found);
	if (h == NULL)
		return refuse_method(r, rt, refuse);
	memcpy(ctx.id, m.id, sizeof(ctx.id));
	return h(r, &ctx);
}
