/* authorize.c - the /ws authorizer: lighttpd asks before it proxies the
 * upgrade to websocketd, so a refused client gets a real 401/403 and no
 * process is started for it. The worker checks the same credentials again. */
#include <string.h>
#include <time.h>

#include "creds.h"
#include "log.h"
#include "pages.h"
#include "session_check.h"

int
page_authorize(struct http_req *r)
{
	char token[LC_TOKEN_MAX + 1];
	char user[LC_USER_MAX + 1];
	const char *addr = r->client;

	if (addr == NULL)
		addr = "-";
	if (!r->origin_allowed) {
		log_info("ws refused: origin %.200s not allowed addr=%s",
		    r->origin, addr);
		return http_send_error(r, 403, "origin_not_allowed",
		    "This origin may not open a WebSocket here");
	}
	int found = creds_find_token(http_param(r, "HTTP_COOKIE"),
	    http_param(r, "QUERY_STRING"), token, sizeof(token));
	if (found != 1) {
		log_info("ws refused: no credentials addr=%s", addr);
		return http_send_error(r, 401, "unauthorized", "Log in first");
	}
	int t = session_verify(r->key, r->store, r->cfg, token, time(NULL), 1,
	    user, NULL, NULL);
	explicit_bzero(token, sizeof(token));
	if (t == LC_TOKEN_UNAVAILABLE) {
		log_warn("ws refused: %s addr=%s", token_strerror(t), addr);
		return http_send_error(r, 503, "storage_error",
		    "The database is not available; try again");
	}
	if (t != LC_TOKEN_OK) {
		log_info("ws refused: %s addr=%s", token_strerror(t), addr);
		return http_send_error(r, 401, "unauthorized",
		    t == LC_TOKEN_EXPIRED ? "Your session has expired" :
		    "Log in first");
	}
	log_debug("ws authorized user=%s addr=%s", user, addr);
	http_add_header(r, "Variable-LIGHTCHAT_USER: %s", user);
	return http_send_json(r, 200, NULL);
}
