/* test-route.c - unit tests of cgi-bin/route.c against the real route table
 * (cgi-bin/routes.c): where each path leads, the near misses under the
 * conversation id, the Allow values and the declared checks per route. */
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "pages.h"
#include "route.h"
#include "unit.h"

#define ID "0123456789abcdef0123456789abcdef"
#define CONV "/api/conversations/"

/* Finds path in the real table; returns the route index (-1 for none). */
static int
find(const char *path, struct route_match *m)
{
	route_find(routes, PAGE__MAX, path, m);
	return m->route;
}

static void
test_exact(void)
{
	struct route_match m;

	CHECK(find("/login", &m) == PAGE_LOGIN, "find: /login");
	CHECK(find("/logout", &m) == PAGE_LOGOUT, "find: /logout");
	CHECK(find("/health", &m) == PAGE_HEALTH, "find: /health");
	CHECK(find("/metrics", &m) == PAGE_METRICS, "find: /metrics");
	CHECK(find("/health/", &m) == -1, "find: /health/ is no page");
	CHECK(find("/api/me", &m) == PAGE_ME && m.id[0] == '\0',
	    "find: /api/me");
	CHECK(find("/api/models", &m) == PAGE_MODELS, "find: /api/models");
	CHECK(find("/api/conversations", &m) == PAGE_CONV_LIST,
	    "find: the list");
	CHECK(find("/api/conversations/", &m) == PAGE_CONV_LIST,
	    "find: the list with a slash");
	CHECK(find("/login/", &m) == -1 && m.owner == -1 &&
	    strcmp(m.not_found, "No such page") == 0,
	    "find: /login/ is no page (only ROUTE_SLASH takes a slash)");
	CHECK(find("/api/me/", &m) == -1 && m.owner == -1, "find: /api/me/");
	CHECK(find("/LOGIN", &m) == -1 && m.owner == -1, "find: case matters");
	CHECK(find("", &m) == -1 && m.owner == -1, "find: empty path");
	CHECK(find("/", &m) == -1 && m.owner == -1, "find: /");
	CHECK(find("/api/conversationsX", &m) == -1 && m.owner == -1,
	    "find: a longer word is not under the conversations");
	CHECK(find("/ws", &m) == -1 && m.owner == -1,
	    "find: /ws is the authorizer's, not a route");
}

static void
test_id(void)
{
	struct route_match m;

	CHECK(find(CONV ID, &m) == PAGE_CONV && strcmp(m.id, ID) == 0,
	    "find: one conversation, id handed over");
	CHECK(find(CONV ID "/export", &m) == PAGE_CONV_EXPORT &&
	    strcmp(m.id, ID) == 0, "find: export");
	CHECK(find(CONV "latest", &m) == -1 && m.owner == PAGE_CONV &&
	    strcmp(m.not_found, "No such conversation") == 0,
	    "find: a word is no conversation, checked as one");
	CHECK(find(CONV "0123456789abcdef0123456789abcde", &m) == -1 &&
	    m.owner == PAGE_CONV &&
	    strcmp(m.not_found, "No such conversation") == 0,
	    "find: 31 hex digits");
	CHECK(find(CONV "0123456789ABCDEF0123456789ABCDEF/export", &m) == -1 &&
	    strcmp(m.not_found, "No such conversation") == 0,
	    "find: capitals are no id, even before /export");
	CHECK(find(CONV "/", &m) == -1 && m.owner == PAGE_CONV &&
	    strcmp(m.not_found, "No such conversation") == 0, "find: //");
	CHECK(find(CONV ID "0", &m) == -1 && m.owner == PAGE_CONV &&
	    strcmp(m.not_found, "No such page") == 0 && m.id[0] == '\0',
	    "find: 33 hex digits is a good id and a bad rest");
	CHECK(find(CONV ID "/", &m) == -1 &&
	    strcmp(m.not_found, "No such page") == 0, "find: id and a slash");
	CHECK(find("/api/attachments", &m) == PAGE_ATTACH_UPLOAD,
	    "find: the upload");
	CHECK(find("/api/attachments/" ID, &m) == PAGE_ATTACH &&
	    strcmp(m.id, ID) == 0, "find: one attachment, id handed over");
	CHECK(find("/api/attachments/x", &m) == -1 &&
	    m.owner == PAGE_ATTACH &&
	    strcmp(m.not_found, "No such attachment") == 0,
	    "find: a bad attachment id says so, not \"conversation\"");
	CHECK(find(CONV ID "/export/", &m) == -1 &&
	    strcmp(m.not_found, "No such page") == 0, "find: export/");
	CHECK(find(CONV ID "/exports", &m) == -1 && m.owner == PAGE_CONV,
	    "find: exports");
}

static void
test_allow(void)
{
	static const struct { int page; const char *allow, *use; } want[] = {
		{ PAGE_LOGIN, "POST, OPTIONS", "Use POST" },
		{ PAGE_LOGOUT, "POST", "Use POST" },
		{ PAGE_ME, "GET", "Use GET" },
		{ PAGE_MODELS, "GET", "Use GET" },
		{ PAGE_CONV_LIST, "GET", "Use GET" },
		{ PAGE_CONV, "GET, PATCH, DELETE", "Use GET, PATCH or DELETE" },
		{ PAGE_CONV_EXPORT, "GET", "Use GET" },
		{ PAGE_HEALTH, "GET, HEAD", "Use GET or HEAD" },
		{ PAGE_METRICS, "GET, HEAD", "Use GET or HEAD" },
	};
	char allow[ROUTE_ALLOW_MAX], use[ROUTE_ALLOW_MAX], name[64];

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct route *rt = &routes[want[i].page];

		route_allow(rt, allow, use);
		snprintf(name, sizeof(name), "allow: %s%s", rt->path,
		    rt->suffix != NULL ? rt->suffix : "");
		CHECK_STR(allow, want[i].allow, name);
		CHECK_STR(use, want[i].use, name);
	}
	struct route two = { .path = "/t", .handler = { [ROUTE_GET] = page_me,
	    [ROUTE_DELETE] = page_me } };
	route_allow(&two, allow, use);
	CHECK_STR(allow, "GET, DELETE", "allow: two methods");
	CHECK_STR(use, "Use GET or DELETE", "allow: two methods, use");
}

static void
test_methods(void)
{
	const struct route *conv = &routes[PAGE_CONV];

	CHECK(route_handler_for(conv, "GET") == page_conv_get, "method: GET");
	CHECK(route_handler_for(conv, "PATCH") == page_conv_rename,
	    "method: PATCH");
	CHECK(route_handler_for(conv, "DELETE") == page_conv_delete,
	    "method: DELETE");
	CHECK(route_handler_for(conv, "get") == NULL, "method: case matters");
	CHECK(route_handler_for(conv, "HEAD") == NULL,
	    "method: HEAD is not GET");
	CHECK(route_handler_for(conv, "POST") == NULL, "method: POST");
	CHECK(route_handler_for(&routes[PAGE_HEALTH], "HEAD") == page_health &&
	    route_handler_for(&routes[PAGE_METRICS], "HEAD") == page_metrics,
	    "method: HEAD is GET under ROUTE_HEAD (/health, /metrics)");
	CHECK(route_handler_for(&routes[PAGE_HEALTH], "POST") == NULL,
	    "method: /health answers no POST");
	CHECK(route_handler_for(conv, "") == NULL, "method: empty");
	CHECK(route_handler_for(&routes[PAGE_LOGIN], "OPTIONS") == NULL,
	    "method: OPTIONS is the preflight's, never a handler's");
}

/* The checks each route declares: what the e2e and bad-input tests assert
 * of the precedence, said once here. */
static void
test_checks(void)
{
	for (int p = 0; p < PAGE__MAX; p++) {
		const struct route *rt = &routes[p];
		int api = strncmp(rt->path, "/api/", 5) == 0;
		char name[80];

		snprintf(name, sizeof(name), "checks: %s%s requires a user",
		    rt->path, rt->suffix ? rt->suffix : "");
		if (api)
			CHECK(rt->auth == ROUTE_AUTH_REQUIRED, name);
	}
	CHECK(routes[PAGE_LOGIN].auth == ROUTE_AUTH_NONE &&
	    routes[PAGE_LOGIN].flags == ROUTE_CORS &&
	    routes[PAGE_LOGIN].refuse == login_refuse,
	    "checks: /login is public, CORS, refusals in the seed's shape");
	CHECK(routes[PAGE_LOGOUT].auth == ROUTE_AUTH_OPTIONAL &&
	    routes[PAGE_LOGOUT].flags == ROUTE_METHOD_FIRST,
	    "checks: /logout: 405 first, the user if any");
	CHECK((routes[PAGE_ME].flags & ROUTE_METHOD_FIRST) &&
	    (routes[PAGE_MODELS].flags & ROUTE_METHOD_FIRST),
	    "checks: /api/me and /api/models answer 405 first");
	for (int p = PAGE_CONV_LIST; p <= PAGE_CONV_EXPORT; p++)
		CHECK((routes[p].flags & ROUTE_STORE) &&
		    !(routes[p].flags & ROUTE_METHOD_FIRST),
		    "checks: conversations need the database, 405 last");
}

/* url_prefix (issue 13): the routes are the same under a prefix. */
static void
test_prefix(void)
{
	CHECK(strcmp(http_unprefix("/chat/api/me", "/chat/"), "/api/me") == 0,
	    "prefix: /chat/api/me is /api/me");
	CHECK(strcmp(http_unprefix("/chat/login", "/chat/"), "/login") == 0,
	    "prefix: /chat/login");
	CHECK(strcmp(http_unprefix("/chat/", "/chat/"), "/") == 0 &&
	    strcmp(http_unprefix("/chat", "/chat/"), "/") == 0,
	    "prefix: the prefix itself is /");
	CHECK(strcmp(http_unprefix("/chatty/login", "/chat/"),
	    "/chatty/login") == 0, "prefix: a longer word is outside");
	CHECK(strcmp(http_unprefix("/login", "/chat/"), "/login") == 0,
	    "prefix: a path outside stays");
	CHECK(strcmp(http_unprefix("/a/b/api/models", "/a/b/"),
	    "/api/models") == 0, "prefix: two segments");
	CHECK(strcmp(http_unprefix("/api/me", "/"), "/api/me") == 0,
	    "prefix: / changes nothing");
	struct route_match m;
	CHECK(find(http_unprefix("/chat/api/conversations/" ID "/export",
	    "/chat/"), &m) == PAGE_CONV_EXPORT, "prefix: the export's route");
}

int
main(void)
{
	test_exact();
	test_prefix();
	test_id();
	test_allow();
	test_methods();
	test_checks();
	UNIT_EXIT();
}
