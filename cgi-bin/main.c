/* main.c - the FastCGI program: wires configuration, the token key, the
 * database and the route table to libfcgi's accept loop. One binary serves
 * two roles: the responder for the routes in routes.c, and the authorizer
 * for /ws. A new key file (lightchat-admin rotate-key) is loaded at once:
 * the file is looked at before a request, at most once a second; so is a
 * database that could not be opened. */
#include <fcgiapp.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "monitor.h"
#include "perms.h"
#include "pages.h"
#include "route.h"
#include "store.h"

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
	route_serve(&r, routes, PAGE__MAX);
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
	/* Its files (the database and its -wal/-shm, sockets) are private,
	 * and so must the state directory and the users file be. */
	perms_private_umask();
	if (perms_check_state(&cfg, err, sizeof(err)) != 0) {
		log_err("%s", err);
		goto out;
	}
	if (token_key_load(cfg.token_key_file, &key, err, sizeof(err)) != 0) {
		log_err("%s", err);
		goto out;
	}
	/* Without the database, login still works and the REST API says 503. */
	if (store_open_retrying(&store, cfg.database, err, sizeof(err)) !=
	    STORE_OK || err[0] != '\0')
		log_err("%s", err);
	signal(SIGPIPE, SIG_IGN);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fcgi, 0, 0) != 0) {
		log_err("FastCGI initialisation failed");
		goto out;
	}
	struct lc_token_key_stamp stamp;
	memset(&stamp, 0, sizeof(stamp));
	token_key_refresh(cfg.token_key_file, &key, &stamp, time(NULL), err,
	    sizeof(err));
	time_t store_tried = 0;
	while (FCGX_Accept_r(&fcgi) >= 0) {
		/* A database that could not be opened is tried again, at most
		 * once a second: at start several programs open (and may be
		 * creating) it at once, and SQLite can refuse one of them
		 * "database is locked" without waiting. */
		if (store == NULL && time(NULL) != store_tried) {
			store_tried = time(NULL);
			if (store_open(&store, cfg.database, err,
			    sizeof(err)) == STORE_OK)
				log_info("database opened");
		}
		/* lightchat-admin rotate-key: every old token fails from now. */
		int k = token_key_refresh(cfg.token_key_file, &key, &stamp,
		    time(NULL), err, sizeof(err));
		if (k == 1)
			log_info("token key changed: every earlier login ended");
		else if (k < 0)
			log_err("%s (the previous key stays)", err);
		serve(&fcgi, &cfg, &key, store);
		FCGX_Finish_r(&fcgi);
		/* After the answer: /metrics sums every process's errors. */
		monitor_flush_errors(store);
	}
	rc = 0;
out:
	store_close(store);
	explicit_bzero(&key, sizeof(key));
	config_free(&cfg);
	return rc;
}
