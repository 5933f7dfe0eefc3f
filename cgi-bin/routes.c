/* routes.c - the route table: every path the responder serves, the methods
 * each answers and the checks its requests pass before the handler (the
 * order of the checks is in route.h). A new page is one entry here. */
#include "pages.h"

const struct route routes[PAGE__MAX] = {
	[PAGE_LOGIN] = {
		.path = "/login", .flags = ROUTE_CORS,
		.auth = ROUTE_AUTH_NONE, .refuse = login_refuse,
		.handler = { [ROUTE_POST] = page_login },
	},
	[PAGE_LOGOUT] = {
		.path = "/logout", .flags = ROUTE_METHOD_FIRST,
		.auth = ROUTE_AUTH_OPTIONAL,
		.handler = { [ROUTE_POST] = page_logout },
	},
	[PAGE_ME] = {
		.path = "/api/me", .flags = ROUTE_METHOD_FIRST,
		.auth = ROUTE_AUTH_REQUIRED,
		.handler = { [ROUTE_GET] = page_me },
	},
	[PAGE_MODELS] = {
		.path = "/api/models", .flags = ROUTE_METHOD_FIRST,
		.auth = ROUTE_AUTH_REQUIRED,
		.handler = { [ROUTE_GET] = page_models },
	},
	[PAGE_USAGE] = {
		.path = "/api/usage", .flags = ROUTE_METHOD_FIRST | ROUTE_STORE,
		.auth = ROUTE_AUTH_REQUIRED,
		.handler = { [ROUTE_GET] = page_usage },
	},
	[PAGE_CONV_LIST] = {
		.path = "/api/conversations",
		.flags = ROUTE_STORE | ROUTE_SLASH,
		.auth = ROUTE_AUTH_REQUIRED,
		.handler = { [ROUTE_GET] = page_conv_list },
	},
	[PAGE_CONV] = {
		.path = "/api/conversations/", .suffix = "",
		.flags = ROUTE_STORE | ROUTE_ID, .auth = ROUTE_AUTH_REQUIRED,
		.handler = { [ROUTE_GET] = page_conv_get,
		    [ROUTE_PATCH] = page_conv_rename,
		    [ROUTE_DELETE] = page_conv_delete },
	},
	[PAGE_CONV_EXPORT] = {
		.path = "/api/conversations/", .suffix = "/export",
		.flags = ROUTE_STORE | ROUTE_ID, .auth = ROUTE_AUTH_REQUIRED,
		.handler = { [ROUTE_GET] = page_conv_export },
	},
	/* The upload's body is bounded by attachment_max_bytes, not max_body
	 * (cgi-bin/attachments.c); lighttpd lets this path alone send more. */
	[PAGE_ATTACH_UPLOAD] = {
		.path = "/api/attachments",
		.flags = ROUTE_STORE | ROUTE_METHOD_FIRST,
		.auth = ROUTE_AUTH_REQUIRED,
		.handler = { [ROUTE_POST] = page_attach_upload },
	},
	[PAGE_ATTACH] = {
		.path = "/api/attachments/", .suffix = "",
		.flags = ROUTE_STORE | ROUTE_ID, .auth = ROUTE_AUTH_REQUIRED,
		.no_such = "No such attachment",
		.handler = { [ROUTE_GET] = page_attach_get,
		    [ROUTE_DELETE] = page_attach_delete },
	},
	[PAGE_SESSIONS] = {
		.path = "/api/sessions",
		.flags = ROUTE_STORE | ROUTE_METHOD_FIRST,
		.auth = ROUTE_AUTH_REQUIRED,
		.handler = { [ROUTE_GET] = page_sessions_list },
	},
	[PAGE_SESSIONS_OTHERS] = {
		.path = "/api/sessions/others",
		.flags = ROUTE_STORE | ROUTE_METHOD_FIRST,
		.auth = ROUTE_AUTH_REQUIRED,
		.handler = { [ROUTE_POST] = page_sessions_others },
	},
	[PAGE_SESSION] = {
		.path = "/api/sessions/", .suffix = "",
		.flags = ROUTE_STORE | ROUTE_ID, .auth = ROUTE_AUTH_REQUIRED,
		.handler = { [ROUTE_DELETE] = page_session_delete },
	},
	/* For monitoring: no login, and HEAD as well (lighttpd drops the
	 * body). The handlers judge the database themselves: no ROUTE_STORE,
	 * whose 503 would not say what is wrong. */
	[PAGE_HEALTH] = {
		.path = "/health", .flags = ROUTE_METHOD_FIRST | ROUTE_HEAD,
		.auth = ROUTE_AUTH_NONE,
		.handler = { [ROUTE_GET] = page_health },
	},
	[PAGE_METRICS] = {
		.path = "/metrics", .flags = ROUTE_METHOD_FIRST | ROUTE_HEAD,
		.auth = ROUTE_AUTH_NONE,
		.handler = { [ROUTE_GET] = page_metrics },
	},
};
