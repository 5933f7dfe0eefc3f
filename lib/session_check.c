/* session_check.c - is this token's session still valid (see the header). */
#include "session_check.h"

#include <string.h>

#include "log.h"
#include "users_fp.h"

/* Seconds between two records of a session's use. */
static long
touch_interval(long idle_s)
{
	long half = idle_s / 2;

	if (half < 1)
		half = 1;
	return half < 60 ? half : 60;
}

int
session_check(struct store *store, const struct lc_config *cfg,
    const char *user, const char *sid, const char *pwv, time_t now,
    int touch, const char **why)
{
	char fp[LC_USERS_FP_LEN + 1];
	enum store_session_state state = STORE_SESSION_UNKNOWN;
	long long seen = 0;
	const char *dummy;
	int f;

	if (why == NULL)
		why = &dummy;
	*why = "ok";
	f = users_fingerprint(cfg->users_file, user, fp);
	if (f < 0) {
		log_err("session check: users file %s cannot be read",
		    cfg->users_file);
		*why = "users file unreadable";
		return SESSION_ERROR;
	}
	if (f == 0) {
		*why = "no such user";
		return SESSION_NO_USER;
	}
	if (strcmp(fp, pwv) != 0) {
		*why = "password changed";
		return SESSION_ENDED;
	}
	if (store == NULL)
		return SESSION_VALID;
	if (store_session_check(store, sid, user, (long long)now,
	    cfg->session_idle_timeout, &state, &seen) != STORE_OK) {
		*why = "database error";
		return SESSION_ERROR;
	}
	switch (state) {
	case STORE_SESSION_ACTIVE:
		break;
	case STORE_SESSION_REVOKED:
		*why = "session ended";
		return SESSION_ENDED;
	case STORE_SESSION_EXPIRED:
		*why = "session expired";
		return SESSION_ENDED;
	case STORE_SESSION_IDLE:
		*why = "session idle too long";
		return SESSION_ENDED;
	default:
		*why = "unknown session";
		return SESSION_ENDED;
	}
	if (touch && (long long)now - seen >=
	    touch_interval(cfg->session_idle_timeout) &&
	    store_session_touch(store, sid, (long long)now) != STORE_OK)
		log_warn("session check: could not record a session's use");
	return SESSION_VALID;
}

int
session_verify(const struct lc_token_key *key, struct store *store,
    const struct lc_config *cfg, const char *token, time_t now, int touch,
    char user[LC_USER_MAX + 1], long *exp, char *sid_out)
{
	char sid[LC_SID_LEN + 1], pwv[LC_PWV_LEN + 1];
	const char *why = NULL;
	int t = token_verify(key, token, now, user, exp, sid, pwv);

	if (t != LC_TOKEN_OK)
		return t;
	int v = session_check(store, cfg, user, sid, pwv, now, touch, &why);
	if (v != SESSION_VALID) {
		log_debug("session refused user=%s: %s", user, why);
		user[0] = '\0';
		return v == SESSION_ERROR ? LC_TOKEN_UNAVAILABLE :
		    LC_TOKEN_REVOKED;
	}
	if (sid_out != NULL)
		memcpy(sid_out, sid, sizeof(sid));
	return LC_TOKEN_OK;
}
