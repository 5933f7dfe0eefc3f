/* health.c - GET and HEAD /health, for monitoring and load balancers: 200
 * {"status":"ok","worker":"ok","database":"ok"} when the worker's heartbeat
 * is fresh (monitor.c) and the database takes a write, else 503 naming what
 * is wrong. No login; it never waits long (the write waits at most
 * HEALTH_BUSY_MS for a lock). */
#include <stdio.h>

#include "log.h"
#include "metrics.h"
#include "monitor.h"
#include "pages.h"

#define HEALTH_BUSY_MS 1000

int
page_health(struct http_req *r, const struct route_ctx *ctx)
{
	struct lc_buf file;
	long long age_ms = -1;
	char worker[128] = "ok";
	const char *database = "ok";
	cJSON *root = NULL;
	int ok = 1, rc;

	(void)ctx;
	buf_init(&file, METRICS_FILE_MAX);
	int w = monitor_worker(r->cfg, &file, &age_ms);
	buf_free(&file);
	if (w < 0) {
		snprintf(worker, sizeof(worker), "not answering (no heartbeat)");
		ok = 0;
	} else if (w == 0) {
		snprintf(worker, sizeof(worker), "not answering (last heartbeat "
		    "%lld s ago)", age_ms / 1000);
		ok = 0;
	}
	if (r->store == NULL) {
		database = "not available";
		ok = 0;
	} else if (store_health_write(r->store, HEALTH_BUSY_MS) != STORE_OK) {
		database = "not writable";
		ok = 0;
	}
	if (!ok)
		log_warn("health: worker %s, database %s", worker, database);
	root = cJSON_CreateObject();
	if (cJSON_AddStringToObject(root, "status", ok ? "ok" : "fail") ==
	    NULL || cJSON_AddStringToObject(root, "worker", worker) == NULL ||
	    cJSON_AddStringToObject(root, "database", database) == NULL) {
		cJSON_Delete(root);
		return http_send_json(r, 500, NULL);
	}
	rc = http_send_json(r, ok ? 200 : 503, root);
	cJSON_Delete(root);
	return rc;
}
