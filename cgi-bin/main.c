/* main.c - the FastCGI program: wires configuration, the token key and the
 * page table to libfcgi's accept loop. One binary serves two roles: the
 * responder for /login, /logout and the /api pages, and the authorizer for /ws. */
#include <fcgiapp.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "pages.h"
#include "store.h"

enum page { PAGE_LOGIN, PAGE_LOGOUT, PAGE_ME, PAGE_MODELS, PAGE__MAX };

static const char *const page_paths[PAGE__MAX] = {
	"/login", "/logout", "/api/me", "/api/models",
};

static int (*const page_handlers[PAGE__MAX])(struct http_req *) = {
	page_login, page_logout, page_me, page_models,
};

static void
serve(FCGX_Request *fcgi, const struct lc_config *cfg,
    const struct lc_token_key *key, struct store *store)
{
	struct http_req r;
	const char *role = FCGX_GetParam("FCGI_ROLE", fcgi->envp);
	int status = http_req_init(&r, fcgi, cfg, key);

	r.store = store;
	if (status != 0) {
		http_send_error(&r, status, "bad_request", http_reason(status));
		return;
	}
	if (role != NULL && strcmp(role, "AUTHORIZER") == 0) {
		page_authorize(&r);
		return;
	}
	for (int p = 0; p < PAGE__MAX; p++) {
		if (strcmp(r.path, page_paths[p]) == 0) {
			page_handlers[p](&r);
			return;
		}
	}
	if (strncmp(r.path, "/api/conversations", 18) == 0 &&
	    (r.path[18] == '\0' || r.path[18] == '/')) {
		page_conversations(&r);
		return;
	}
	http_send_error(&r, 404, "not_found", "No such page");
}

int
main(void)
{
	struct lc_config cfg;
	struct lc_token_key key;
	char err[LC_CONFIG_ERR_MAX];
	FCGX_Request fcgi;
	struct store *store = NULL;
	int rc = 1;

	log_init("fcgi", getenv("LIGHTCHAT_LOG_LEVEL"));
	/* Before the first accept: libfcgi replaces environ then. */
	if (config_load(&cfg, err) != 0) {
		log_err("configuration: %s", err);
		goto out;
	}
	log_init("fcgi", cfg.log_level);
	if (token_key_load(cfg.token_key_file, &key, err, sizeof(err)) != 0) {
		log_err("%s", err);
		goto out;
	}
	/* Without the database, login still works and the REST API says 503. */
	if (store_open(&store, cfg.database, err, sizeof(err)) != STORE_OK)
		log_err("%s", err);
	signal(SIGPIPE, SIG_IGN);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fcgi, 0, 0) != 0) {
		log_err("FastCGI initialisation failed");
		goto out;
	}
	while (FCGX_Accept_r(&fcgi) >= 0) {
		serve(&fcgi, &cfg, &key, store);
		FCGX_Finish_r(&fcgi);
	}
	rc = 0;
out:
	store_close(store);
	explicit_bzero(&key, sizeof(key));
	config_free(&cfg);
	return rc;
}
