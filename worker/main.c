/* main.c - lightchat-worker: wires configuration, the token key, libcurl
 * and the worker's event loop; stops on SIGTERM or SIGINT. */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "perms.h"
#include "token.h"
#include "worker.h"

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	/* The first signal drains the replies in flight; a second one ends
	 * the drain. */
	stop_requested = stop_requested + 1;
}

int
main(void)
{
	struct lc_config cfg;
	struct lc_token_key key;
	struct worker *w = NULL;
	struct sigaction sa;
	char err[LC_CONFIG_ERR_MAX];
	int rc = 1, curl_ok = 0;

	log_init("worker", getenv("LIGHTCHAT_LOG_LEVEL"));
	if (config_load(&cfg, err) != 0) {
		log_err("configuration: %s", err);
		goto out;
	}
	log_init("worker", cfg.log_level);
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
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_err("libcurl initialisation failed");
		goto out;
	}
	curl_ok = 1;
	w = worker_new(&cfg, &key);
	if (w == NULL)
		goto out;
	log_info("ready on %s, %zu upstreams%s", cfg.worker_endpoint,
	    models_upstream_count(cfg.mt), cfg.demo ? " (demo)" : "");
	for (size_t i = 0; i < models_upstream_count(cfg.mt); i++) {
		const struct lc_upstream *up = models_upstream(cfg.mt, i);
		log_info("upstream %s: %s, models %s%s%s", up->name,
		    up->base_url, up->models[0] ? up->models : "-",
		    up->discover ? ", discovered" : "",
		    up->api_key[0] ? "" : ", no API key");
	}
	/* The flat keys' upstream without a key is most often a forgotten
	 * OPENAI_API_KEY; a section without one, a local server. */
	if (models_upstream_find(cfg.mt, "default") >= 0 &&
	    cfg.upstream_api_key[0] == '\0' && !cfg.demo)
		log_warn("no upstream API key configured (OPENAI_API_KEY)");
	rc = worker_run(w, &stop_requested) == 0 ? 0 : 1;
	log_info("stopped");
out:
	worker_free(w);
	if (curl_ok)
		curl_global_cleanup();
	explicit_bzero(&key, sizeof(key));
	config_free(&cfg);
	return rc;
}
