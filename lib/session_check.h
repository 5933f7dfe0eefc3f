/* session_check.h - is this token's session still valid: the one check the
 * REST API, the /ws authorizer and the worker all make. A token is valid
 * while its signature and times verify (lib/token.h), its session's row is
 * active (lib/store.h: not logged out or revoked, not expired, not idle too
 * long) and the fingerprint it carries is that of its user's current line
 * in the users file (lib/users.h: a deleted user has none, a changed
 * password gives another). Without a database (store NULL) the row cannot
 * be looked at: key and fingerprint are then all that is checked. */
#ifndef LC_SESSION_CHECK_H
#define LC_SESSION_CHECK_H

#include <time.h>

#include "config.h"
#include "store.h"
#include "token.h"

enum session_verdict {
	SESSION_VALID = 0,
	SESSION_ENDED = -1,    /* revoked, unknown, expired, idle or password
	                        * changed */
	SESSION_ERROR = -2,    /* the database or the users file failed (logged):
	                        * a new session is refused for now
	                        * (LC_TOKEN_UNAVAILABLE: 503), one checked before
	                        * is not ended (the next check decides) */
	SESSION_NO_USER = -3,  /* the user is not in the users file (deleted) */
};

/* Checks the session sid of user whose token carries fingerprint pwv, at
 * time now, against store and cfg->users_file (idle limit
 * cfg->session_idle_timeout). With touch, records the use (at most once a
 * minute, or every half idle limit when that is shorter). *why (may be
 * NULL) gets a short reason for logs. Returns an enum session_verdict. */
int session_check(struct store *store, const struct lc_config *cfg,
    const char *user, const char *sid, const char *pwv, time_t now,
    int touch, const char **why);

/* Verifies token with key and then checks its session as session_check
 * does. Returns LC_TOKEN_OK with user, *exp and sid (LC_SID_LEN + 1 bytes)
 * set (exp and sid may be NULL), a token error (lib/token.h), or
 * LC_TOKEN_REVOKED when the token verifies but its session is over, or
 * LC_TOKEN_UNAVAILABLE when it verifies but its session cannot be checked
 * (the database or the users file failed). */
int session_verify(const struct lc_token_key *key, struct store *store,
    const struct lc_config *cfg, const char *token, time_t now, int touch,
    char user[LC_USER_MAX + 1], long *exp, char *sid);

#endif
