/* store.c - the store's core: the connection, the schema and its
 * migration, the cache of prepared statements (their SQL in one table),
 * transactions and the error helpers the other store files share.
 * Conversations and messages are in store_conv.c, login limits in
 * store_login.c, login sessions in store_session.c, storage quotas in
 * store_quota.c, attachments in store_attach.c, the usage ledger and
 * budget limits in store_usage.c. */
#include "store_int.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* Database calls that failed in this process (store_errors). */
static unsigned long long db_errors;

/* The statements, prepared once on first use and kept: parsing and
 * planning SQL costs more than running these small statements. */
/* The current path of conversation ?1 as a table path(id), for the
 * statements that read it (schema v9). */
#define PATH_CTE \
	"WITH RECURSIVE path(id) AS (SELECT current_leaf FROM conversations" \
	" WHERE id = ?1 UNION ALL SELECT m.parent_id FROM messages m" \
	" JOIN path ON m.id = path.id WHERE m.parent_id IS NOT NULL)"

/* The messages of the current path (in_path: how each dialect says "the
 * id is one of path's"), oldest first; a page of them, newest first; the
 * turns a reply is built on. */
#define MESSAGE_COLS \
	" SELECT id, role, content, state, model, created_at," \
	" updated_at, prompt_tokens, completion_tokens, total_tokens," \
	" error_code, reasoning, reasoning_ms, parent_id FROM messages"
#define CONV_MESSAGES(in_path) \
	PATH_CTE MESSAGE_COLS \
	" WHERE conversation_id = ?1 AND +id " in_path " ORDER BY id"
#define CONV_PAGE(in_path) \
	PATH_CTE MESSAGE_COLS \
	" WHERE conversation_id = ?1 AND +id " in_path \
	" AND (?2 <= 0 OR id < ?2) ORDER BY id DESC LIMIT ?3"
#define CONV_TURNS(in_path) \
	PATH_CTE \
	" SELECT role, content, id FROM messages WHERE conversation_id = ?1" \
	" AND +id " in_path \
	" AND role IN ('user','assistant') AND (state IN" \
	" ('complete','stopped') OR role = 'user') ORDER BY id DESC" \
	" LIMIT ?2"
#define PG_IN_PATH "IN (SELECT id FROM path)"

/* The ledger grouped by column key, between days ?1 and ?2 (either NULL:
 * unbounded); the columns store_usage_report reads. A report is rare (the
 * admin's): a scan of the ledger is fine. */
#define USAGE_REPORT_AS(key, text) \
	"SELECT " key ", count(*), sum(prompt_tokens)," \
	" sum(completion_tokens), sum(reasoning_tokens)," \
	" sum(prompt_tokens + completion_tokens)," \
	" coalesce(sum(cost_micros), 0), count(cost_micros), sum(estimated)" \
	" FROM usage WHERE (?1" text " IS NULL OR day >= ?1)" \
	" AND (?2" text " IS NULL OR day <= ?2) GROUP BY " key " ORDER BY " key
/* text: PostgreSQL must be told a NULL parameter's type. */
#define USAGE_REPORT(key) USAGE_REPORT_AS(key, "")
#define USAGE_REPORT_PG(key) USAGE_REPORT_AS(key, "::text")

/* The ledger's rows for interrupted replies (store_mark_interrupted,
 * store_interrupt_orphans), the messages m chosen by a WHERE after it: the
 * byte length of text is len_a x len_b (SQLite: length(CAST(x AS BLOB)),
 * PostgreSQL: octet_length(x)). */
#define USAGE_INTERRUPTED(len_a, len_b) \
	"INSERT INTO usage (at, day, user, model, upstream, outcome," \
	" conversation_id, message_id, prompt_tokens, completion_tokens," \
	" reasoning_tokens, estimated, cost_micros)" \
	" SELECT ?1, ?2, c.user," \
	" CASE WHEN m.model <> '' THEN m.model ELSE c.model END," \
	" '', 'interrupted', m.conversation_id, m.id, 0," \
	" (" len_a "m.content" len_b \
	"  + " len_a "coalesce(m.reasoning, '')" len_b " + 3) / 4," \
	" (" len_a "coalesce(m.reasoning, '')" len_b " + 3) / 4," \
	" 1, NULL FROM messages m JOIN conversations c" \
	" ON c.id = m.conversation_id"

/* The replies store_interrupt_orphans ends: streaming, and written by
 * worker ?1 before ?2 (a worker that restarted), or by nobody, or by a worker whose
 * lease ended before ?2. The partial index messages_streaming makes this
 * a look at the few streaming rows, whatever the table's size. */
#define ORPHANS(text) \
	"SELECT m.id, m.conversation_id, c.user FROM messages m" \
	" JOIN conversations c ON c.id = m.conversation_id" \
	" WHERE m.state = 'streaming' AND (m.worker IS NULL" \
	" OR (m.worker = ?1" text " AND m.created_at < ?2)" \
	" OR NOT EXISTS (SELECT 1 FROM workers w WHERE w.id = m.worker" \
	" AND w.lease_until >= ?2)) ORDER BY m.id LIMIT ?3"

/* A deleted user's rows in table: GLOB's '*' in SQLite; in PostgreSQL the
 * name after the last '~' compared whole. */
#define USER_PURGE(table) \
	"DELETE FROM " table " WHERE user GLOB '~deleted~*'" \
	" AND (?1 IS NULL OR user GLOB '~deleted~*~' || ?1)"
#define USER_PURGE_PG(table) \
	"DELETE FROM " table " WHERE user LIKE '~deleted~%'" \
	" AND (?1::text IS NULL OR right(user, length(?1) + 1) = '~' || ?1)"

static const char *const stmt_sql[ST__MAX] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_CONV_CREATE] =
	    "INSERT INTO conversations (id, user, title, model,"
	    " system_prompt, created_at, updated_at) VALUES (?,?,?,?,?,?,?)",
	[ST_CONV_OWNED] =
	    "SELECT 1 FROM conversations WHERE id = ? AND user = ?",
	[ST_CONV_RENAME] =
	    "UPDATE conversations SET title = ?, updated_at = ?"
	    " WHERE id = ? AND user = ?",
	[ST_CONV_DELETE] =
	    "DELETE FROM conversations WHERE id = ? AND user = ?",
	[ST_CONV_TOUCH] =
	    "UPDATE conversations SET model = ?,"
	    " system_prompt = COALESCE(?, system_prompt), updated_at = ?"
	    " WHERE id = ?",
	[ST_CONV_LIST] =
	    "SELECT id, title, model, created_at, updated_at"
	    " FROM conversations c WHERE user = ?1"
	    " AND (?2 < 0 OR updated_at < ?2 OR (updated_at = ?2 AND id < ?3))"
	    " AND (?4 IS NULL OR title LIKE ?4 ESCAPE '\\' OR EXISTS"
	    "  (SELECT 1 FROM messages m WHERE m.conversation_id = c.id"
	    "   AND m.content LIKE ?4 ESCAPE '\\'))"
	    " ORDER BY updated_at DESC, id DESC LIMIT ?5",
	/* The current path (schema v9): from the conversation's current
	 * leaf up its parents to the first message. A child's id is always
	 * above its parent's, so ordering by id orders the path. "+id": the
	 * rows come in the conversation index's order, filtered by the path;
	 * driven by the path instead, SQLite sorted them in a temporary
	 * b-tree, holding every message's content at once (a 34 MiB export:
	 * the FastCGI program's peak RSS 61 MB, against 48 streamed). */
	[ST_CONV_MESSAGES] = CONV_MESSAGES("IN path"),
	/* A page of messages, newest first, below a cursor (?2 <= 0: from
	 * the newest); the same columns as ST_CONV_MESSAGES. */
	[ST_CONV_PAGE] = CONV_PAGE("IN path"),
	[ST_CONV_GET] =
	    "SELECT id, title, model, system_prompt, created_at,"
	    " updated_at FROM conversations WHERE id = ? AND user = ?",
	[ST_CONV_SYSTEM] =
	    "SELECT system_prompt FROM conversations WHERE id = ?",
	/* What a reply is built on: every prompt, and the replies that
	 * reached their client (failed ones never did). */
	[ST_CONV_TURNS] = CONV_TURNS("IN path"),
	[ST_CONV_RECENT] =
	    "SELECT id FROM conversations WHERE user = ?"
	    " ORDER BY updated_at DESC LIMIT ?",
	/* A new message is a child of the conversation's current leaf (the
	 * caller moves the leaf first to branch: store_conv_set_leaf), and
	 * becomes the leaf (ST_CONV_SET_LEAF after it). */
	[ST_MSG_ADD] =
	    "INSERT INTO messages (conversation_id, role, content,"
	    " state, model, created_at, updated_at, parent_id, worker)"
	    " VALUES (?1,?2,?3,?4,?5,?6,?7,"
	    " (SELECT current_leaf FROM conversations WHERE id = ?1), ?8)",
	[ST_CONV_LEAF] =
	    "SELECT current_leaf FROM conversations WHERE id = ?",
	[ST_CONV_SET_LEAF] =
	    "UPDATE conversations SET current_leaf = ?2 WHERE id = ?1",
	[ST_MSG_GET] =
	    "SELECT role, parent_id FROM messages WHERE id = ?2"
	    " AND conversation_id = ?1",
	[ST_MSG_NEWEST_CHILD] =
	    "SELECT max(id) FROM messages WHERE conversation_id = ?1"
	    " AND parent_id = ?2",
	/* A message's versions: the children of its parent (IS: NULL for
	 * the first messages), oldest first. */
	[ST_MSG_SIBLINGS] =
	    "SELECT id FROM messages WHERE conversation_id = ?1"
	    " AND parent_id IS ?2 ORDER BY id",
	[ST_CONV_TREE] =
	    "SELECT id, parent_id, role FROM messages"
	    " WHERE conversation_id = ? ORDER BY id",
	[ST_PATH_BELOW] =
	    PATH_CTE
	    " SELECT count(*) FROM path WHERE id > ?2",
	[ST_MSG_UPDATE] =
	    "UPDATE messages SET content = ?, state = ?,"
	    " updated_at = ?, prompt_tokens = ?, completion_tokens = ?,"
	    " total_tokens = ?, error_code = ?, reasoning = ?,"
	    " reasoning_ms = ? WHERE id = ?",
	[ST_MARK_INTERRUPTED] =
	    "UPDATE messages SET state = 'interrupted', updated_at = ?,"
	    " error_code = 'worker_unavailable'"
	    " WHERE state = 'streaming'",
	/* A deleted user's data: deleted (messages by the cascade), moved
	 * under an owner no login can have, or purged from there. */
	[ST_USER_DELETE] =
	    "DELETE FROM conversations WHERE user = ?",
	[ST_USER_MOVE] =
	    "UPDATE conversations SET user = ?1 WHERE user = ?2",
	[ST_USER_PURGE] = USER_PURGE("conversations"),
	[ST_LOGIN_CHECK] =
	    "SELECT count(*), max(at) FROM login_failures"
	    " WHERE key = ? AND at > ?",
	[ST_LOGIN_FAIL] =
	    "INSERT INTO login_failures (key, at) VALUES (?, ?)",
	[ST_LOGIN_PRUNE] =
	    "DELETE FROM login_failures WHERE at < ?",
	[ST_LOGIN_CLEAR] =
	    "DELETE FROM login_failures WHERE key = ?",
	[ST_LOGIN_TRUST] =
	    "INSERT INTO login_trust (key, at) VALUES (?, ?)"
	    " ON CONFLICT (key) DO UPDATE SET at = excluded.at",
	[ST_LOGIN_TRUST_PRUNE] =
	    "DELETE FROM login_trust WHERE at < ?",
	[ST_LOGIN_TRUSTED] =
	    "SELECT 1 FROM login_trust WHERE key = ? AND at > ?",
	[ST_SESS_CREATE] =
	    "INSERT INTO sessions (sid, user, created_at, last_seen,"
	    " expires_at, addr, client, remember, pub)"
	    " VALUES (?,?,?,?,?,?,?,?,?)",
	[ST_SESS_GET] =
	    "SELECT user, last_seen, expires_at, remember, revoked_at"
	    " FROM sessions WHERE sid = ?",
	[ST_SESS_TOUCH] =
	    "UPDATE sessions SET last_seen = ?1 WHERE sid = ?2"
	    " AND last_seen < ?1",
	[ST_SESS_REVOKE] =
	    "UPDATE sessions SET revoked_at = ?1 WHERE sid = ?2"
	    " AND (?3 IS NULL OR user = ?3) AND revoked_at IS NULL",
	[ST_SESS_REVOKE_PUB] =
	    "UPDATE sessions SET revoked_at = ?1 WHERE pub = ?2"
	    " AND user = ?3 AND revoked_at IS NULL",
	[ST_SESS_REVOKE_USER] =
	    "UPDATE sessions SET revoked_at = ?1 WHERE (?2 IS NULL OR user = ?2)"
	    " AND revoked_at IS NULL AND (?3 IS NULL OR sid <> ?3)",
	/* Active ones: not revoked, not expired, not idle too long. */
	[ST_SESS_LIST] =
	    "SELECT sid, user, created_at, last_seen, expires_at, addr,"
	    " client, remember, pub FROM sessions"
	    " WHERE (?1 IS NULL OR user = ?1)"
	    " AND revoked_at IS NULL AND expires_at > ?2"
	    " AND (remember <> 0 OR last_seen + ?3 > ?2)"
	    " ORDER BY user, last_seen DESC",
	/* Rows nobody can use any more, kept a day for the admin's eyes. */
	[ST_SESS_PURGE] =
	    "DELETE FROM sessions WHERE expires_at < ?1"
	    " OR revoked_at < ?1 OR (remember = 0 AND last_seen + ?2 < ?1)",
	/* Storage quotas: the counters schema v5's triggers keep. */
	[ST_QUOTA_USAGE] =
	    "SELECT conversations, messages, bytes FROM user_usage"
	    " WHERE user = ?",
	[ST_QUOTA_CONV] =
	    "SELECT messages, bytes FROM conversations WHERE id = ?",
	[ST_QUOTA_GET] =
	    "SELECT bytes FROM user_quotas WHERE user = ?",
	[ST_QUOTA_SET] =
	    "INSERT INTO user_quotas (user, bytes) VALUES (?1, ?2)"
	    " ON CONFLICT (user) DO UPDATE SET bytes = excluded.bytes",
	[ST_QUOTA_CLEAR] =
	    "DELETE FROM user_quotas WHERE user = ?",
	/* Every user with data or a quota of their own, by name. */
	[ST_QUOTA_LIST] =
	    "SELECT u.user, coalesce(g.conversations, 0),"
	    " coalesce(g.messages, 0), coalesce(g.bytes, 0), q.bytes"
	    " FROM (SELECT user FROM user_usage UNION"
	    "  SELECT user FROM user_quotas) u"
	    " LEFT JOIN user_usage g ON g.user = u.user"
	    " LEFT JOIN user_quotas q ON q.user = u.user"
	    " WHERE coalesce(g.conversations, 0) > 0 OR coalesce(g.bytes, 0) > 0"
	    " OR q.bytes IS NOT NULL"
	    " ORDER BY u.user",
	/* Whole databases (store_backup.c): a copy's check, its schema, that
	 * it is lightchat's, what it holds; a copy made one file; replies
	 * being written (the worker saves them by row id). */
	[ST_INTEGRITY] = "PRAGMA integrity_check",
	[ST_SCHEMA_VERSION] = "PRAGMA user_version",
	[ST_TABLES] =
	    "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
	    " AND name IN ('conversations', 'messages')",
	[ST_COUNTS] =
	    "SELECT (SELECT count(*) FROM conversations),"
	    " (SELECT count(*) FROM messages)",
	[ST_JOURNAL_DELETE] = "PRAGMA journal_mode = DELETE",
	[ST_STREAMING] =
	    "SELECT count(*) FROM messages WHERE state = 'streaming'",
	/* /health's write and the FastCGI programs' counters (schema v6). */
	[ST_HEALTH_WRITE] =
	    "INSERT INTO health (id, at) VALUES (1, ?)"
	    " ON CONFLICT (id) DO UPDATE SET at = excluded.at",
	[ST_COUNTER_ADD] =
	    "INSERT INTO counters (name, value) VALUES (?1, ?2)"
	    " ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
	[ST_COUNTER_LIST] =
	    "SELECT name, value FROM counters ORDER BY name",
	/* Attachments (schema v8): the metadata columns every answer
	 * shows are id, kind, mime, name, length(data), width, height. */
	[ST_ATT_ADD] =
	    "INSERT INTO attachments (id, user, kind, mime, name, width,"
	    " height, data, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
	[ST_ATT_GET] =
	    "SELECT id, kind, mime, name, length(data), width, height, data,"
	    " conversation_id, message_id FROM attachments"
	    " WHERE id = ? AND user = ?",
	[ST_ATT_DELETE] =
	    "DELETE FROM attachments WHERE id = ? AND user = ?"
	    " AND message_id IS NULL",
	/* Bound to a message of conversation ?3; one already bound to
	 * another conversation is not taken (?5 the position). */
	[ST_ATT_BIND] =
	    "UPDATE attachments SET conversation_id = ?3, message_id = ?4,"
	    " position = ?5 WHERE id = ?1 AND user = ?2"
	    " AND (conversation_id IS NULL OR conversation_id = ?3)",
	/* An attachment sent again with a new version of its prompt (an
	 * edit): the old version keeps a copy under a new id (?2). */
	[ST_ATT_COPY] =
	    "INSERT INTO attachments (id, user, conversation_id, message_id,"
	    " position, kind, mime, name, width, height, data, created_at)"
	    " SELECT ?2, user, conversation_id, message_id, position, kind,"
	    " mime, name, width, height, data, created_at FROM attachments"
	    " WHERE id = ?1 AND user = ?3 AND conversation_id = ?4"
	    " AND message_id IS NOT NULL AND message_id <> ?5",
	[ST_ATT_OF_MESSAGE] =
	    "SELECT id, kind, mime, name, length(data), width, height, data"
	    " FROM attachments WHERE message_id = ? ORDER BY position, id",
	[ST_ATT_PURGE] =
	    "DELETE FROM attachments WHERE message_id IS NULL"
	    " AND created_at < ?",
	[ST_ATT_USER_DELETE] =
	    "DELETE FROM attachments WHERE user = ?",
	[ST_ATT_USER_MOVE] =
	    "UPDATE attachments SET user = ?1 WHERE user = ?2",
	[ST_ATT_USER_PURGE] = USER_PURGE("attachments"),
	/* The usage ledger (schema v10). */
	[ST_USAGE_ADD] =
	    "INSERT INTO usage (at, day, user, model, upstream, outcome,"
	    " conversation_id, message_id, prompt_tokens, completion_tokens,"
	    " reasoning_tokens, estimated, cost_micros)"
	    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
	/* A budget's sums read only the covering indexes: EXPLAIN QUERY
	 * PLAN says "SEARCH usage USING COVERING INDEX usage_by_user_day
	 * (user=? AND day>?)" and "... usage_by_day (day>?)"; no table row
	 * is read (docs/ARCHITECTURE.md, "Usage and budgets", has the
	 * figures). */
	[ST_USAGE_SUM_USER] =
	    "SELECT coalesce(sum(prompt_tokens + completion_tokens), 0),"
	    " coalesce(sum(cost_micros), 0) FROM usage"
	    " WHERE user = ?1 AND day >= ?2",
	[ST_USAGE_SUM_ALL] =
	    "SELECT coalesce(sum(prompt_tokens + completion_tokens), 0),"
	    " coalesce(sum(cost_micros), 0) FROM usage WHERE day >= ?1",
	[ST_USAGE_REPORT_USER] = USAGE_REPORT("user"),
	[ST_USAGE_REPORT_MODEL] = USAGE_REPORT("model"),
	[ST_USAGE_REPORT_DAY] = USAGE_REPORT("day"),
	[ST_USAGE_TOTALS] =
	    "SELECT user, model, replies, prompt_tokens, completion_tokens,"
	    " reasoning_tokens, cost_micros FROM usage_totals"
	    " ORDER BY user, model",
	/* The replies store_mark_interrupted marks (before it marks them):
	 * their text and reasoning estimated as the completion (a token per
	 * 4 bytes, rounded up: budget_estimate_tokens), the prompt unknown. */
	[ST_USAGE_INTERRUPTED] =
	    USAGE_INTERRUPTED("length(CAST(", " AS BLOB))")
	    " WHERE m.state = 'streaming'",
	/* A user's own limits (NULL: the default, 0: none). */
	[ST_LIMITS_GET] =
	    "SELECT day_tokens, day_cost, month_tokens, month_cost"
	    " FROM user_limits WHERE user = ?",
	[ST_LIMITS_SET] =
	    "INSERT INTO user_limits (user, day_tokens, day_cost,"
	    " month_tokens, month_cost) VALUES (?1,?2,?3,?4,?5)"
	    " ON CONFLICT (user) DO UPDATE SET day_tokens = excluded.day_tokens,"
	    " day_cost = excluded.day_cost,"
	    " month_tokens = excluded.month_tokens,"
	    " month_cost = excluded.month_cost",
	[ST_LIMITS_CLEAR] =
	    "DELETE FROM user_limits WHERE user = ?",
	[ST_LIMITS_LIST] =
	    "SELECT user, day_tokens, day_cost, month_tokens, month_cost"
	    " FROM user_limits ORDER BY user",
	/* The workers' leases (schema v11). */
	[ST_LEASE_RENEW] =
	    "INSERT INTO workers (id, lease_until, started_at) VALUES (?1,?2,?3)"
	    " ON CONFLICT (id) DO UPDATE SET lease_until = excluded.lease_until",
	[ST_LEASE_DROP] =
	    "DELETE FROM workers WHERE id = ?",
	[ST_ORPHANS] = ORPHANS(""),
	/* Only if still streaming: of two workers sweeping at once, one
	 * marks it (the row's lock orders them) and only it adds the ledger
	 * row. */
	[ST_ORPHAN_MARK] =
	    "UPDATE messages SET state = 'interrupted', updated_at = ?1,"
	    " error_code = 'worker_unavailable'"
	    " WHERE id = ?2 AND state = 'streaming'",
	[ST_USAGE_ORPHAN] =
	    USAGE_INTERRUPTED("length(CAST(", " AS BLOB))")
	    " WHERE m.id = ?3",
	[ST_LEASES_PRUNE] =
	    "DELETE FROM workers WHERE lease_until < ?1 AND NOT EXISTS"
	    " (SELECT 1 FROM messages m WHERE m.state = 'streaming'"
	    " AND m.worker = workers.id)",
};

/* The statements whose rows may be many and big: a whole conversation
 * (its export: 34 MiB read by a FastCGI process whose peak must stay under
 * 48 MB, test-paging). PostgreSQL reads them through a cursor,
 * DB_STREAM_ROWS (8) rows at a time, not the whole result at once (db.h,
 * DB_STREAM): measured, that export's peak RSS 62 MB read whole, 62 MB at
 * 64 rows a fetch (its 34 rows of 1 MiB in one), 35 MB at 8 (SQLite's, row
 * by row: 18 MB). */
static const int stmt_flags[ST__MAX] = {
	[ST_CONV_MESSAGES] = DB_STREAM,
};

/* The statements whose PostgreSQL form is not SQLite's: another dialect's
 * words (both forms are translated: ?N to $N, user quoted). */
static const char *const stmt_pg[ST__MAX] = {
	/* READ COMMITTED; the writes that must not race take row locks. */
	[ST_BEGIN] = "BEGIN",
	/* SQLite's LIKE ignores ASCII case, PostgreSQL's ILIKE does. */
	[ST_CONV_LIST] =
	    "SELECT id, title, model, created_at, updated_at"
	    " FROM conversations c WHERE \"user\" = $1"
	    " AND ($2 < 0 OR updated_at < $2 OR (updated_at = $2 AND id < $3))"
	    " AND ($4::text IS NULL OR title ILIKE $4 ESCAPE '\\' OR EXISTS"
	    "  (SELECT 1 FROM messages m WHERE m.conversation_id = c.id"
	    "   AND m.content ILIKE $4 ESCAPE '\\'))"
	    " ORDER BY updated_at DESC, id DESC LIMIT $5",
	[ST_MSG_ADD] =
	    "INSERT INTO messages (conversation_id, role, content,"
	    " state, model, created_at, updated_at, parent_id, worker)"
	    " VALUES ($1,$2,$3,$4,$5,$6,$7,"
	    " (SELECT current_leaf FROM conversations WHERE id = $1), $8)"
	    " RETURNING id",
	[ST_CONV_MESSAGES] = CONV_MESSAGES(PG_IN_PATH),
	[ST_CONV_PAGE] = CONV_PAGE(PG_IN_PATH),
	[ST_CONV_TURNS] = CONV_TURNS(PG_IN_PATH),
	[ST_USAGE_REPORT_USER] = USAGE_REPORT_PG("user"),
	[ST_USAGE_REPORT_MODEL] = USAGE_REPORT_PG("model"),
	[ST_USAGE_REPORT_DAY] = USAGE_REPORT_PG("day"),
	[ST_MSG_SIBLINGS] =
	    "SELECT id FROM messages WHERE conversation_id = $1"
	    " AND parent_id IS NOT DISTINCT FROM $2::bigint ORDER BY id",
	[ST_USER_PURGE] = USER_PURGE_PG("conversations"),
	[ST_ATT_USER_PURGE] = USER_PURGE_PG("attachments"),
	/* A NULL parameter's type, which "IS NULL" does not tell. */
	[ST_SESS_REVOKE] =
	    "UPDATE sessions SET revoked_at = $1 WHERE sid = $2"
	    " AND ($3::text IS NULL OR user = $3) AND revoked_at IS NULL",
	[ST_SESS_REVOKE_USER] =
	    "UPDATE sessions SET revoked_at = $1 WHERE ($2::text IS NULL"
	    " OR user = $2) AND revoked_at IS NULL"
	    " AND ($3::text IS NULL OR sid <> $3)",
	[ST_SESS_LIST] =
	    "SELECT sid, user, created_at, last_seen, expires_at, addr,"
	    " client, remember, pub FROM sessions"
	    " WHERE ($1::text IS NULL OR user = $1)"
	    " AND revoked_at IS NULL AND expires_at > $2"
	    " AND (remember <> 0 OR last_seen + $3 > $2)"
	    " ORDER BY user, last_seen DESC",
	[ST_COUNTER_ADD] =
	    "INSERT INTO counters (name, value) VALUES ($1, $2)"
	    " ON CONFLICT (name) DO UPDATE"
	    " SET value = counters.value + excluded.value",
	/* A PostgreSQL store is checked and copied by PostgreSQL's own
	 * tools (pg_dump, pg_amcheck): these answer for a live one. */
	[ST_INTEGRITY] = "SELECT 'ok'",
	[ST_SCHEMA_VERSION] = "SELECT version FROM lightchat_schema",
	[ST_TABLES] =
	    "SELECT count(*) FROM information_schema.tables"
	    " WHERE table_schema = current_schema()"
	    " AND table_name IN ('conversations', 'messages')",
	[ST_JOURNAL_DELETE] = "SELECT 1",
	[ST_USAGE_INTERRUPTED] =
	    USAGE_INTERRUPTED("octet_length(", ")")
	    " WHERE m.state = 'streaming'",
	[ST_USAGE_ORPHAN] =
	    USAGE_INTERRUPTED("octet_length(", ")") " WHERE m.id = ?3",
	[ST_ORPHANS] = ORPHANS("::text"),
};

static const char schema_v1[] =
    "CREATE TABLE conversations ("
    " id TEXT PRIMARY KEY,"
    " user TEXT NOT NULL,"
    " title TEXT NOT NULL,"
    " model TEXT NOT NULL DEFAULT '',"
    " system_prompt TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE INDEX conversations_by_user ON conversations"
    " (user, updated_at DESC, id DESC);"
    "CREATE TABLE messages ("
    " id INTEGER PRIMARY KEY,"
    " conversation_id TEXT NOT NULL"
    "  REFERENCES conversations(id) ON DELETE CASCADE,"
    " role TEXT NOT NULL CHECK (role IN ('user','assistant','system')),"
    " content TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN"
    "  ('complete','streaming','stopped','error','interrupted')),"
    " model TEXT NOT NULL DEFAULT '',"
    " prompt_tokens INTEGER, completion_tokens INTEGER, total_tokens INTEGER,"
    " error_code TEXT,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE INDEX messages_by_conversation ON messages (conversation_id, id);";

/* v2: failed logins, for rate limiting shared by every FastCGI process. */
static const char schema_v2[] =
    "CREATE TABLE login_failures ("
    " key TEXT NOT NULL,"
    " at INTEGER NOT NULL);"
    "CREATE INDEX login_failures_by_key ON login_failures (key, at);";

/* v3: successful logins per user and address, trusted within the login
 * window (a stranger's failures do not throttle them). */
static const char schema_v3[] =
    "CREATE TABLE login_trust ("
    " key TEXT PRIMARY KEY,"
    " at INTEGER NOT NULL);";
/* v4: login sessions, so that logout, revocation and idle time end them
 * on the server. */
static const char schema_v4[] =
    "CREATE TABLE sessions ("
    " sid TEXT PRIMARY KEY,"
    " user TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " addr TEXT NOT NULL DEFAULT '',"
    " client TEXT NOT NULL DEFAULT '',"
    " remember INTEGER NOT NULL DEFAULT 0,"
    " revoked_at INTEGER,"
    " pub TEXT NOT NULL DEFAULT '');"   /* its public id: users see it */
    "CREATE INDEX sessions_by_user ON sessions (user);";

/* v5: storage quotas. Each conversation counts its messages and their
 * bytes, each user their conversations, messages and bytes, kept by
 * triggers in the transaction of every write (the worker's, the FastCGI
 * program's deletes, the admin tool's), so that a prompt's check reads one
 * row instead of summing the user's messages (measured at 100 MB in 10 000
 * messages: 4 us against 32 ms; a message update costs 3 us more). The
 * counters of existing data are computed once, here. user_quotas holds the
 * admin's per-user limits (lightchat-admin user quota). */
static const char schema_v5[] =
    "ALTER TABLE conversations ADD COLUMN messages INTEGER NOT NULL"
    " DEFAULT 0;"
    "ALTER TABLE conversations ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;"
    "UPDATE conversations SET"
    " messages = (SELECT count(*) FROM messages m"
    "  WHERE m.conversation_id = conversations.id),"
    " bytes = (SELECT coalesce(sum(length(CAST(content AS BLOB))), 0)"
    "  FROM messages m WHERE m.conversation_id = conversations.id);"
    "CREATE TABLE user_usage ("
    " user TEXT PRIMARY KEY,"
    " conversations INTEGER NOT NULL DEFAULT 0,"
    " messages INTEGER NOT NULL DEFAULT 0,"
    " bytes INTEGER NOT NULL DEFAULT 0);"
    "INSERT INTO user_usage (user, conversations, messages, bytes)"
    " SELECT user, count(*), sum(messages), sum(bytes) FROM conversations"
    " GROUP BY user;"
    "CREATE TABLE user_quotas ("
    " user TEXT PRIMARY KEY,"
    " bytes INTEGER NOT NULL);"
    "CREATE TRIGGER messages_added AFTER INSERT ON messages BEGIN"
    " UPDATE conversations SET messages = messages + 1,"
    "  bytes = bytes + length(CAST(NEW.content AS BLOB))"
    "  WHERE id = NEW.conversation_id; END;"
    "CREATE TRIGGER messages_changed AFTER UPDATE OF content ON messages"
    " BEGIN UPDATE conversations SET"
    "  bytes = bytes + length(CAST(NEW.content AS BLOB))"
    "  - length(CAST(OLD.content AS BLOB))"
    "  WHERE id = NEW.conversation_id; END;"
    "CREATE TRIGGER messages_deleted AFTER DELETE ON messages BEGIN"
    " UPDATE conversations SET messages = messages - 1,"
    "  bytes = bytes - length(CAST(OLD.content AS BLOB))"
    "  WHERE id = OLD.conversation_id; END;"
    "CREATE TRIGGER conversations_added AFTER INSERT ON conversations BEGIN"
    " INSERT INTO user_usage (user, conversations, messages, bytes)"
    "  VALUES (NEW.user, 1, NEW.messages, NEW.bytes)"
    "  ON CONFLICT (user) DO UPDATE SET"
    "  conversations = conversations + 1,"
    "  messages = messages + excluded.messages,"
    "  bytes = bytes + excluded.bytes; END;"
    /* The cascade deletes a conversation's messages first (through
     * conversations_grown), so OLD's counters are what is left: nothing,
     * normally (tests/unit/test-quota.c checks every path). */
    "CREATE TRIGGER conversations_deleted AFTER DELETE ON conversations"
    " BEGIN UPDATE user_usage SET conversations = conversations - 1,"
    "  messages = messages - OLD.messages, bytes = bytes - OLD.bytes"
    "  WHERE user = OLD.user;"
    " DELETE FROM user_usage WHERE user = OLD.user"
    "  AND conversations <= 0; END;"
    "CREATE TRIGGER conversations_grown AFTER UPDATE OF messages, bytes"
    " ON conversations WHEN OLD.user = NEW.user BEGIN"
    " UPDATE user_usage SET messages = messages + NEW.messages"
    "  - OLD.messages, bytes = bytes + NEW.bytes - OLD.bytes"
    "  WHERE user = NEW.user; END;"
    "CREATE TRIGGER conversations_moved AFTER UPDATE OF user"
    " ON conversations WHEN OLD.user <> NEW.user BEGIN"
    " UPDATE user_usage SET conversations = conversations - 1,"
    "  messages = messages - OLD.messages, bytes = bytes - OLD.bytes"
    "  WHERE user = OLD.user;"
    " DELETE FROM user_usage WHERE user = OLD.user"
    "  AND conversations <= 0;"
    " INSERT INTO user_usage (user, conversations, messages, bytes)"
    "  VALUES (NEW.user, 1, NEW.messages, NEW.bytes)"
    "  ON CONFLICT (user) DO UPDATE SET"
    "  conversations = conversations + 1,"
    "  messages = messages + excluded.messages,"
    "  bytes = bytes + excluded.bytes; END;";

/* v6: GET /health writes a row of its own (is the database writable?), and
 * the FastCGI programs' counters for /metrics (logins by result, database
 * errors), one row each, summed over every process of both pools. */
static const char schema_v6[] =
    "CREATE TABLE health ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " at INTEGER NOT NULL);"
    "CREATE TABLE counters ("
    " name TEXT PRIMARY KEY,"
    " value INTEGER NOT NULL);";

/* v7: a message's reasoning (reasoning models: worker/think.h) and how
 * long it took, apart from its content; never sent upstream as context.
 * Its bytes count in the storage counters like the content's: the v5
 * triggers are made again to sum both (existing rows have no reasoning,
 * so the counters stay right without a recount). */
static const char schema_v7[] =
    "ALTER TABLE messages ADD COLUMN reasoning TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE messages ADD COLUMN reasoning_ms INTEGER;"
    "DROP TRIGGER messages_added;"
    "DROP TRIGGER messages_changed;"
    "DROP TRIGGER messages_deleted;"
    "CREATE TRIGGER messages_added AFTER INSERT ON messages BEGIN"
    " UPDATE conversations SET messages = messages + 1,"
    "  bytes = bytes + length(CAST(NEW.content AS BLOB))"
    "  + length(CAST(NEW.reasoning AS BLOB))"
    "  WHERE id = NEW.conversation_id; END;"
    "CREATE TRIGGER messages_changed AFTER UPDATE OF content, reasoning"
    " ON messages BEGIN UPDATE conversations SET"
    "  bytes = bytes + length(CAST(NEW.content AS BLOB))"
    "  + length(CAST(NEW.reasoning AS BLOB))"
    "  - length(CAST(OLD.content AS BLOB))"
    "  - length(CAST(OLD.reasoning AS BLOB))"
    "  WHERE id = NEW.conversation_id; END;"
    "CREATE TRIGGER messages_deleted AFTER DELETE ON messages BEGIN"
    " UPDATE conversations SET messages = messages - 1,"
    "  bytes = bytes - length(CAST(OLD.content AS BLOB))"
    "  - length(CAST(OLD.reasoning AS BLOB))"
    "  WHERE id = OLD.conversation_id; END;";

/* v8: attachments (lib/store_attach.c): a file a user uploaded, by its
 * owner, bound to the conversation and the user message that sent it
 * (NULL until then; deleted with the conversation by the cascade; a
 * dropped message unbinds it). Their bytes count in the owner's
 * user_usage.bytes directly, not in a conversation's (an unused one
 * belongs to none), kept by triggers like v5's; so a user_usage row now
 * goes only when both its conversations and its bytes are gone, and the
 * v5 triggers that removed it are made again with that condition. */
static const char schema_v8[] =
    "CREATE TABLE attachments ("
    " id TEXT PRIMARY KEY,"
    " user TEXT NOT NULL,"
    " conversation_id TEXT"
    "  REFERENCES conversations(id) ON DELETE CASCADE,"
    " message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,"
    " position INTEGER NOT NULL DEFAULT 0,"
    " kind TEXT NOT NULL,"
    " mime TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " width INTEGER, height INTEGER,"
    " data BLOB NOT NULL,"
    " created_at INTEGER NOT NULL);"
    "CREATE INDEX attachments_by_user ON attachments (user, created_at);"
    "CREATE INDEX attachments_by_message ON attachments"
    " (message_id, position);"
    "CREATE INDEX attachments_by_conversation ON attachments"
    " (conversation_id);"
    "CREATE TRIGGER attachments_added AFTER INSERT ON attachments BEGIN"
    " INSERT INTO user_usage (user, conversations, messages, bytes)"
    "  VALUES (NEW.user, 0, 0, length(NEW.data))"
    "  ON CONFLICT (user) DO UPDATE SET bytes = bytes + excluded.bytes;"
    " END;"
    "CREATE TRIGGER attachments_deleted AFTER DELETE ON attachments BEGIN"
    " UPDATE user_usage SET bytes = bytes - length(OLD.data)"
    "  WHERE user = OLD.user;"
    " DELETE FROM user_usage WHERE user = OLD.user"
    "  AND conversations <= 0 AND bytes <= 0; END;"
    "CREATE TRIGGER attachments_moved AFTER UPDATE OF user ON attachments"
    " WHEN OLD.user <> NEW.user BEGIN"
    " UPDATE user_usage SET bytes = bytes - length(OLD.data)"
    "  WHERE user = OLD.user;"
    " DELETE FROM user_usage WHERE user = OLD.user"
    "  AND conversations <= 0 AND bytes <= 0;"
    " INSERT INTO user_usage (user, conversations, messages, bytes)"
    "  VALUES (NEW.user, 0, 0, length(NEW.data))"
    "  ON CONFLICT (user) DO UPDATE SET bytes = bytes + excluded.bytes;"
    " END;"
    "DROP TRIGGER conversations_deleted;"
    "DROP TRIGGER conversations_moved;"
    "CREATE TRIGGER conversations_deleted AFTER DELETE ON conversations"
    " BEGIN UPDATE user_usage SET conversations = conversations - 1,"
    "  messages = messages - OLD.messages, bytes = bytes - OLD.bytes"
    "  WHERE user = OLD.user;"
    " DELETE FROM user_usage WHERE user = OLD.user"
    "  AND conversations <= 0 AND bytes <= 0; END;"
    "CREATE TRIGGER conversations_moved AFTER UPDATE OF user"
    " ON conversations WHEN OLD.user <> NEW.user BEGIN"
    " UPDATE user_usage SET conversations = conversations - 1,"
    "  messages = messages - OLD.messages, bytes = bytes - OLD.bytes"
    "  WHERE user = OLD.user;"
    " DELETE FROM user_usage WHERE user = OLD.user"
    "  AND conversations <= 0 AND bytes <= 0;"
    " INSERT INTO user_usage (user, conversations, messages, bytes)"
    "  VALUES (NEW.user, 1, NEW.messages, NEW.bytes)"
    "  ON CONFLICT (user) DO UPDATE SET"
    "  conversations = conversations + 1,"
    "  messages = messages + excluded.messages,"
    "  bytes = bytes + excluded.bytes; END;";

/* v9: versions. A message has a parent (NULL for a conversation's first),
 * so that a regenerated reply or an edited prompt is a sibling of what it
 * replaced instead of its replacement; the conversation keeps the message
 * its shown path ends at (current_leaf). Today's linear histories become
 * one branch: each message's parent is the one before it. No foreign key
 * on parent_id: a conversation's messages are deleted together (cascade),
 * never one alone. (v8 is the attachments' number.) */
static const char schema_v9[] =
    "ALTER TABLE messages ADD COLUMN parent_id INTEGER;"
    "ALTER TABLE conversations ADD COLUMN current_leaf INTEGER;"
    "UPDATE messages SET parent_id = (SELECT max(p.id) FROM messages p"
    " WHERE p.conversation_id = messages.conversation_id"
    " AND p.id < messages.id);"
    "UPDATE conversations SET current_leaf = (SELECT max(id) FROM messages m"
    " WHERE m.conversation_id = conversations.id);"
    "CREATE INDEX messages_by_parent ON messages"
    " (conversation_id, parent_id, id);";

/* v10: usage accounting (store_usage.c; issue 16). The ledger: a row per
 * reply that reached the upstream, never changed nor deleted (its
 * triggers refuse both): deleting a conversation or a user must not
 * reset a budget, and the bill stands. Its day is the server's local
 * date of the reply's end, so that a budget's sum is an index range
 * (user, day >= first day of the period); the covering indexes hold the
 * summed columns. usage_totals (per user and model, for /metrics) is kept
 * by a trigger in the insert's transaction. user_limits: a user's own
 * budget limits (NULL: the default, 0: none). The replies stored before
 * v10 are not counted: the messages' usage columns are not copied. */
static const char schema_v10[] =
    "CREATE TABLE usage ("
    " id INTEGER PRIMARY KEY,"
    " at INTEGER NOT NULL, day TEXT NOT NULL, user TEXT NOT NULL,"
    " model TEXT NOT NULL, upstream TEXT NOT NULL DEFAULT '',"
    " outcome TEXT NOT NULL CHECK (outcome IN"
    "  ('complete','stopped','error','interrupted')),"
    " conversation_id TEXT, message_id INTEGER,"
    " prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,"
    " reasoning_tokens INTEGER NOT NULL, estimated INTEGER NOT NULL,"
    " cost_micros INTEGER);"
    "CREATE INDEX usage_by_user_day ON usage"
    " (user, day, prompt_tokens, completion_tokens, cost_micros);"
    "CREATE INDEX usage_by_day ON usage"
    " (day, prompt_tokens, completion_tokens, cost_micros);"
    "CREATE TABLE usage_totals ("
    " user TEXT NOT NULL, model TEXT NOT NULL,"
    " replies INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL,"
    " completion_tokens INTEGER NOT NULL,"
    " reasoning_tokens INTEGER NOT NULL, cost_micros INTEGER NOT NULL,"
    " PRIMARY KEY (user, model));"
    "CREATE TRIGGER usage_totals_add AFTER INSERT ON usage BEGIN"
    " INSERT INTO usage_totals (user, model, replies, prompt_tokens,"
    "  completion_tokens, reasoning_tokens, cost_micros)"
    "  VALUES (NEW.user, NEW.model, 1, NEW.prompt_tokens,"
    "  NEW.completion_tokens, NEW.reasoning_tokens,"
    "  coalesce(NEW.cost_micros, 0))"
    "  ON CONFLICT (user, model) DO UPDATE SET replies = replies + 1,"
    "  prompt_tokens = prompt_tokens + excluded.prompt_tokens,"
    "  completion_tokens = completion_tokens + excluded.completion_tokens,"
    "  reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,"
    "  cost_micros = cost_micros + excluded.cost_micros; END;"
    "CREATE TRIGGER usage_kept_changed BEFORE UPDATE ON usage BEGIN"
    " SELECT RAISE(ABORT, 'the usage ledger is never changed'); END;"
    "CREATE TRIGGER usage_kept_deleted BEFORE DELETE ON usage BEGIN"
    " SELECT RAISE(ABORT, 'the usage ledger is never deleted from'); END;"
    "CREATE TABLE user_limits ("
    " user TEXT PRIMARY KEY,"
    " day_tokens INTEGER, day_cost INTEGER,"
    " month_tokens INTEGER, month_cost INTEGER);";

/* v11: several workers on one database (issue 17; store_lease.c). A
 * streaming reply names the worker that writes it; each worker holds a
 * lease it renews; a reply whose worker's lease ran out is ended by a
 * survivor. The partial index holds only the streaming rows: the sweep
 * every 2 s looks at those few, not at the table. */
static const char schema_v11[] =
    "ALTER TABLE messages ADD COLUMN worker TEXT;"
    "CREATE INDEX messages_streaming ON messages (state)"
    " WHERE state = 'streaming';"
    "CREATE TABLE workers ("
    " id TEXT PRIMARY KEY,"
    " lease_until INTEGER NOT NULL,"
    " started_at INTEGER NOT NULL);";

/* The SQLite steps, schema_v[i] making version i + 1 of version i. */
static const char *const schema_v[] = {
	schema_v1, schema_v2, schema_v3, schema_v4, schema_v5, schema_v6,
	schema_v7, schema_v8, schema_v9, schema_v10, schema_v11,
};

/* PostgreSQL: the schema of version 11 whole (a PostgreSQL store begins
 * there: lightchat-admin migrate-store brings older data), the same
 * tables, columns, indexes and rules as SQLite's steps make, in its
 * words: BIGINT for INTEGER (ids, milliseconds), BYTEA for BLOB, identity
 * ids, COLLATE "C" so that names sort by their bytes as in SQLite, and the
 * triggers as PL/pgSQL functions. The cascade: a conversation's
 * RI_ConstraintTrigger (named before conversations_deleted, and triggers
 * fire in name order) deletes its messages first, whose messages_deleted
 * then finds no conversation row to update, so conversations_deleted
 * takes the whole OLD counters off the user's: the same totals as SQLite
 * (tests/unit/test-quota.c runs on both). */
static const char pg_schema_v11[] =
    "CREATE TABLE conversations ("
    " id TEXT COLLATE \"C\" PRIMARY KEY,"
    " \"user\" TEXT COLLATE \"C\" NOT NULL,"
    " title TEXT NOT NULL,"
    " model TEXT COLLATE \"C\" NOT NULL DEFAULT '',"
    " system_prompt TEXT NOT NULL DEFAULT '',"
    " created_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL,"
    " messages BIGINT NOT NULL DEFAULT 0,"
    " bytes BIGINT NOT NULL DEFAULT 0,"
    " current_leaf BIGINT);"
    "CREATE INDEX conversations_by_user ON conversations"
    " (\"user\", updated_at DESC, id DESC);"
    "CREATE TABLE messages ("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " conversation_id TEXT COLLATE \"C\" NOT NULL"
    "  REFERENCES conversations(id) ON DELETE CASCADE,"
    " role TEXT NOT NULL CHECK (role IN ('user','assistant','system')),"
    " content TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN"
    "  ('complete','streaming','stopped','error','interrupted')),"
    " model TEXT COLLATE \"C\" NOT NULL DEFAULT '',"
    " prompt_tokens BIGINT, completion_tokens BIGINT, total_tokens BIGINT,"
    " error_code TEXT,"
    " created_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL,"
    " reasoning TEXT NOT NULL DEFAULT '',"
    " reasoning_ms BIGINT,"
    " parent_id BIGINT,"
    " worker TEXT COLLATE \"C\");"
    "CREATE INDEX messages_by_conversation ON messages (conversation_id, id);"
    "CREATE INDEX messages_by_parent ON messages"
    " (conversation_id, parent_id, id);"
    "CREATE INDEX messages_streaming ON messages (state)"
    " WHERE state = 'streaming';"
    "CREATE TABLE login_failures ("
    " key TEXT COLLATE \"C\" NOT NULL,"
    " at BIGINT NOT NULL);"
    "CREATE INDEX login_failures_by_key ON login_failures (key, at);"
    "CREATE TABLE login_trust ("
    " key TEXT COLLATE \"C\" PRIMARY KEY,"
    " at BIGINT NOT NULL);"
    "CREATE TABLE sessions ("
    " sid TEXT COLLATE \"C\" PRIMARY KEY,"
    " \"user\" TEXT COLLATE \"C\" NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " last_seen BIGINT NOT NULL,"
    " expires_at BIGINT NOT NULL,"
    " addr TEXT NOT NULL DEFAULT '',"
    " client TEXT NOT NULL DEFAULT '',"
    " remember BIGINT NOT NULL DEFAULT 0,"
    " revoked_at BIGINT,"
    " pub TEXT COLLATE \"C\" NOT NULL DEFAULT '');"
    "CREATE INDEX sessions_by_user ON sessions (\"user\");"
    "CREATE TABLE user_usage ("
    " \"user\" TEXT COLLATE \"C\" PRIMARY KEY,"
    " conversations BIGINT NOT NULL DEFAULT 0,"
    " messages BIGINT NOT NULL DEFAULT 0,"
    " bytes BIGINT NOT NULL DEFAULT 0);"
    "CREATE TABLE user_quotas ("
    " \"user\" TEXT COLLATE \"C\" PRIMARY KEY,"
    " bytes BIGINT NOT NULL);"
    "CREATE TABLE health ("
    " id BIGINT PRIMARY KEY CHECK (id = 1),"
    " at BIGINT NOT NULL);"
    "CREATE TABLE counters ("
    " name TEXT COLLATE \"C\" PRIMARY KEY,"
    " value BIGINT NOT NULL);"
    "CREATE TABLE attachments ("
    " id TEXT COLLATE \"C\" PRIMARY KEY,"
    " \"user\" TEXT COLLATE \"C\" NOT NULL,"
    " conversation_id TEXT COLLATE \"C\""
    "  REFERENCES conversations(id) ON DELETE CASCADE,"
    " message_id BIGINT REFERENCES messages(id) ON DELETE SET NULL,"
    " position BIGINT NOT NULL DEFAULT 0,"
    " kind TEXT NOT NULL,"
    " mime TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " width BIGINT, height BIGINT,"
    " data BYTEA NOT NULL,"
    " created_at BIGINT NOT NULL);"
    "CREATE INDEX attachments_by_user ON attachments (\"user\", created_at);"
    "CREATE INDEX attachments_by_message ON attachments"
    " (message_id, position);"
    "CREATE INDEX attachments_by_conversation ON attachments"
    " (conversation_id);"
    "CREATE TABLE usage ("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " at BIGINT NOT NULL, day TEXT COLLATE \"C\" NOT NULL,"
    " \"user\" TEXT COLLATE \"C\" NOT NULL,"
    " model TEXT COLLATE \"C\" NOT NULL,"
    " upstream TEXT NOT NULL DEFAULT '',"
    " outcome TEXT NOT NULL CHECK (outcome IN"
    "  ('complete','stopped','error','interrupted')),"
    " conversation_id TEXT, message_id BIGINT,"
    " prompt_tokens BIGINT NOT NULL, completion_tokens BIGINT NOT NULL,"
    " reasoning_tokens BIGINT NOT NULL, estimated BIGINT NOT NULL,"
    " cost_micros BIGINT);"
    "CREATE INDEX usage_by_user_day ON usage"
    " (\"user\", day) INCLUDE (prompt_tokens, completion_tokens, cost_micros);"
    "CREATE INDEX usage_by_day ON usage"
    " (day) INCLUDE (prompt_tokens, completion_tokens, cost_micros);"
    "CREATE TABLE usage_totals ("
    " \"user\" TEXT COLLATE \"C\" NOT NULL, model TEXT COLLATE \"C\" NOT NULL,"
    " replies BIGINT NOT NULL, prompt_tokens BIGINT NOT NULL,"
    " completion_tokens BIGINT NOT NULL,"
    " reasoning_tokens BIGINT NOT NULL, cost_micros BIGINT NOT NULL,"
    " PRIMARY KEY (\"user\", model));"
    "CREATE TABLE user_limits ("
    " \"user\" TEXT COLLATE \"C\" PRIMARY KEY,"
    " day_tokens BIGINT, day_cost BIGINT,"
    " month_tokens BIGINT, month_cost BIGINT);"
    "CREATE TABLE workers ("
    " id TEXT COLLATE \"C\" PRIMARY KEY,"
    " lease_until BIGINT NOT NULL,"
    " started_at BIGINT NOT NULL);"
    /* The storage counters (SQLite's v5, v7 and v8 triggers). */
    "CREATE FUNCTION lc_add_usage(u TEXT, c BIGINT, m BIGINT, b BIGINT)"
    " RETURNS void LANGUAGE sql AS $$"
    " INSERT INTO user_usage (\"user\", conversations, messages, bytes)"
    "  VALUES (u, c, m, b) ON CONFLICT (\"user\") DO UPDATE SET"
    "  conversations = user_usage.conversations + excluded.conversations,"
    "  messages = user_usage.messages + excluded.messages,"
    "  bytes = user_usage.bytes + excluded.bytes $$;"
    "CREATE FUNCTION lc_take_usage(u TEXT, c BIGINT, m BIGINT, b BIGINT)"
    " RETURNS void LANGUAGE sql AS $$"
    " UPDATE user_usage SET conversations = conversations - c,"
    "  messages = messages - m, bytes = bytes - b WHERE \"user\" = u;"
    " DELETE FROM user_usage WHERE \"user\" = u"
    "  AND conversations <= 0 AND bytes <= 0 $$;"
    "CREATE FUNCTION lc_messages_added() RETURNS trigger LANGUAGE plpgsql"
    " AS $$ BEGIN UPDATE conversations SET messages = messages + 1,"
    "  bytes = bytes + octet_length(NEW.content)"
    "  + octet_length(NEW.reasoning) WHERE id = NEW.conversation_id;"
    " RETURN NULL; END $$;"
    "CREATE TRIGGER messages_added AFTER INSERT ON messages"
    " FOR EACH ROW EXECUTE FUNCTION lc_messages_added();"
    "CREATE FUNCTION lc_messages_changed() RETURNS trigger LANGUAGE plpgsql"
    " AS $$ BEGIN UPDATE conversations SET"
    "  bytes = bytes + octet_length(NEW.content)"
    "  + octet_length(NEW.reasoning) - octet_length(OLD.content)"
    "  - octet_length(OLD.reasoning) WHERE id = NEW.conversation_id;"
    " RETURN NULL; END $$;"
    "CREATE TRIGGER messages_changed AFTER UPDATE OF content, reasoning"
    " ON messages FOR EACH ROW EXECUTE FUNCTION lc_messages_changed();"
    "CREATE FUNCTION lc_messages_deleted() RETURNS trigger LANGUAGE plpgsql"
    " AS $$ BEGIN UPDATE conversations SET messages = messages - 1,"
    "  bytes = bytes - octet_length(OLD.content)"
    "  - octet_length(OLD.reasoning) WHERE id = OLD.conversation_id;"
    " RETURN NULL; END $$;"
    "CREATE TRIGGER messages_deleted AFTER DELETE ON messages"
    " FOR EACH ROW EXECUTE FUNCTION lc_messages_deleted();"
    "CREATE FUNCTION lc_conversations_added() RETURNS trigger"
    " LANGUAGE plpgsql AS $$ BEGIN"
    " PERFORM lc_add_usage(NEW.\"user\", 1, NEW.messages, NEW.bytes);"
    " RETURN NULL; END $$;"
    "CREATE TRIGGER conversations_added AFTER INSERT ON conversations"
    " FOR EACH ROW EXECUTE FUNCTION lc_conversations_added();"
    "CREATE FUNCTION lc_conversations_deleted() RETURNS trigger"
    " LANGUAGE plpgsql AS $$ BEGIN"
    " PERFORM lc_take_usage(OLD.\"user\", 1, OLD.messages, OLD.bytes);"
    " RETURN NULL; END $$;"
    "CREATE TRIGGER conversations_deleted AFTER DELETE ON conversations"
    " FOR EACH ROW EXECUTE FUNCTION lc_conversations_deleted();"
    "CREATE FUNCTION lc_conversations_grown() RETURNS trigger"
    " LANGUAGE plpgsql AS $$ BEGIN"
    " UPDATE user_usage SET messages = messages + NEW.messages"
    "  - OLD.messages, bytes = bytes + NEW.bytes - OLD.bytes"
    "  WHERE \"user\" = NEW.\"user\"; RETURN NULL; END $$;"
    "CREATE TRIGGER conversations_grown AFTER UPDATE OF messages, bytes"
    " ON conversations FOR EACH ROW WHEN (OLD.\"user\" = NEW.\"user\")"
    " EXECUTE FUNCTION lc_conversations_grown();"
    "CREATE FUNCTION lc_conversations_moved() RETURNS trigger"
    " LANGUAGE plpgsql AS $$ BEGIN"
    " PERFORM lc_take_usage(OLD.\"user\", 1, OLD.messages, OLD.bytes);"
    " PERFORM lc_add_usage(NEW.\"user\", 1, NEW.messages, NEW.bytes);"
    " RETURN NULL; END $$;"
    "CREATE TRIGGER conversations_moved AFTER UPDATE OF \"user\""
    " ON conversations FOR EACH ROW WHEN (OLD.\"user\" <> NEW.\"user\")"
    " EXECUTE FUNCTION lc_conversations_moved();"
    "CREATE FUNCTION lc_attachments_added() RETURNS trigger"
    " LANGUAGE plpgsql AS $$ BEGIN"
    " PERFORM lc_add_usage(NEW.\"user\", 0, 0, length(NEW.data));"
    " RETURN NULL; END $$;"
    "CREATE TRIGGER attachments_added AFTER INSERT ON attachments"
    " FOR EACH ROW EXECUTE FUNCTION lc_attachments_added();"
    "CREATE FUNCTION lc_attachments_deleted() RETURNS trigger"
    " LANGUAGE plpgsql AS $$ BEGIN"
    " PERFORM lc_take_usage(OLD.\"user\", 0, 0, length(OLD.data));"
    " RETURN NULL; END $$;"
    "CREATE TRIGGER attachments_deleted AFTER DELETE ON attachments"
    " FOR EACH ROW EXECUTE FUNCTION lc_attachments_deleted();"
    "CREATE FUNCTION lc_attachments_moved() RETURNS trigger"
    " LANGUAGE plpgsql AS $$ BEGIN"
    " PERFORM lc_take_usage(OLD.\"user\", 0, 0, length(OLD.data));"
    " PERFORM lc_add_usage(NEW.\"user\", 0, 0, length(NEW.data));"
    " RETURN NULL; END $$;"
    "CREATE TRIGGER attachments_moved AFTER UPDATE OF \"user\" ON attachments"
    " FOR EACH ROW WHEN (OLD.\"user\" <> NEW.\"user\")"
    " EXECUTE FUNCTION lc_attachments_moved();"
    /* The ledger (SQLite's v10 triggers). */
    "CREATE FUNCTION lc_usage_totals_add() RETURNS trigger LANGUAGE plpgsql"
    " AS $$ BEGIN"
    " INSERT INTO usage_totals (\"user\", model, replies, prompt_tokens,"
    "  completion_tokens, reasoning_tokens, cost_micros)"
    "  VALUES (NEW.\"user\", NEW.model, 1, NEW.prompt_tokens,"
    "  NEW.completion_tokens, NEW.reasoning_tokens,"
    "  coalesce(NEW.cost_micros, 0))"
    "  ON CONFLICT (\"user\", model) DO UPDATE SET"
    "  replies = usage_totals.replies + 1,"
    "  prompt_tokens = usage_totals.prompt_tokens + excluded.prompt_tokens,"
    "  completion_tokens = usage_totals.completion_tokens"
    "  + excluded.completion_tokens,"
    "  reasoning_tokens = usage_totals.reasoning_tokens"
    "  + excluded.reasoning_tokens,"
    "  cost_micros = usage_totals.cost_micros + excluded.cost_micros;"
    " RETURN NULL; END $$;"
    "CREATE TRIGGER usage_totals_add AFTER INSERT ON usage"
    " FOR EACH ROW EXECUTE FUNCTION lc_usage_totals_add();"
    "CREATE FUNCTION lc_usage_kept() RETURNS trigger LANGUAGE plpgsql"
    " AS $$ BEGIN RAISE EXCEPTION 'the usage ledger is never %',"
    " CASE WHEN TG_OP = 'UPDATE' THEN 'changed' ELSE 'deleted from' END;"
    " END $$;"
    "CREATE TRIGGER usage_kept BEFORE UPDATE OR DELETE ON usage"
    " FOR EACH ROW EXECUTE FUNCTION lc_usage_kept();"
    "CREATE TABLE lightchat_schema (version INTEGER NOT NULL);"
    "INSERT INTO lightchat_schema VALUES (11);";

long long
store_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

unsigned long long
store_errors(void)
{
	return db_errors;
}

int
store_db_fail(struct store *s, const char *what)
{
	db_errors++;
	log_err("store: %s: %s", what, db_errmsg(s->db));
	return STORE_ERR;
}

static int migrate(struct store *s, char *err, size_t errcap);

/* A store opened before its PostgreSQL server answered (store_open_retrying)
 * becomes ready at a use: its schema is checked (migrate) at most once a
 * second, and said in the log at most every 30 s. Returns STORE_OK once
 * ready, else STORE_ERR. */
static int
ensure_ready(struct store *s)
{
	char err[256];
	long long now;

	if (s->ready)
		return STORE_OK;
	now = store_now_ms();
	if (now - s->tried_ms < 1000)
		return STORE_ERR;
	s->tried_ms = now;
	if (migrate(s, err, sizeof(err)) != STORE_OK) {
		db_errors++;
		if (now - s->said_ms >= 30000) {
			s->said_ms = now;
			log_err("store: the database is not available: %s", err);
		}
		return STORE_ERR;
	}
	s->ready = 1;
	log_info("store: the database answers; its schema is ready");
	return STORE_OK;
}

int
store_prep(struct store *s, enum stmt id, struct db_stmt **st)
{
	*st = NULL;
	if (s == NULL) {
		/* The database could not be opened: every call fails cleanly. */
		log_err("store: no database");
		return STORE_ERR;
	}
	if (!s->ready && ensure_ready(s) != STORE_OK)
		return STORE_ERR;
	/* Persistent: these live as long as the connection. */
	if (s->st[id] == NULL && db_prepare(s->db, stmt_sql[id], stmt_pg[id],
	    DB_PERSISTENT | stmt_flags[id], &s->st[id]) != DB_OK) {
		s->st[id] = NULL;
		return store_db_fail(s, "prepare");
	}
	*st = s->st[id];
	return STORE_OK;
}

void
store_release(struct db_stmt *st)
{
	db_reset(st);
}

int
store_bind_fail(struct store *s, struct db_stmt *st)
{
	store_release(st);
	return store_db_fail(s, "bind");
}

int
store_bind_text(struct db_stmt *st, int i, const char *v)
{
	/* Not a copy: see store_int.h. */
	return db_bind_text(st, i, v, -1) == DB_OK ? 0 : -1;
}

int
store_run_done(struct store *s, struct db_stmt *st, const char *what)
{
	int rc = db_step(st) == DB_DONE ? STORE_OK : store_db_fail(s, what);

	store_release(st);
	return rc;
}

int
store_rows_json(struct store *s, struct db_stmt *st, store_row_json_fn row,
    const char *what, cJSON **out)
{
	cJSON *list = cJSON_CreateArray();
	int step = DB_DONE, rc = STORE_ERR;

	*out = NULL;
	if (list == NULL)
		goto out;
	while ((step = db_step(st)) == DB_ROW)
		if (row(list, st) != 0)
			goto out;
	if (step != DB_DONE) {
		store_db_fail(s, what);
		goto out;
	}
	*out = list;
	list = NULL;
	rc = STORE_OK;
out:
	store_release(st);
	cJSON_Delete(list);
	return rc;
}

static int
exec(struct store *s, const char *sql)
{
	if (db_exec(s->db, sql) != DB_OK) {
		log_err("store: %.80s: %s", sql, db_errmsg(s->db));
		return STORE_ERR;
	}
	return STORE_OK;
}

/* Switches the database to WAL. The switch takes an exclusive lock, and
 * SQLite refuses it at once ("database is locked", no busy handler: it
 * would deadlock) while another connection holds a lock, as when the worker
 * and the FastCGI programs open a new database together; a program that
 * gave up then ran without a database (seen: logins whose sessions the
 * worker could not find). So it is tried again for up to STORE_BUSY_MS. */
static int
set_wal(struct store *s)
{
	struct timespec pause = { 0, 10 * 1000000L };
	sqlite3 *lite = db_sqlite(s->db);

	for (int waited = 0; ; waited += 10) {
		int rc = sqlite3_exec(lite, "PRAGMA journal_mode = WAL", NULL,
		    NULL, NULL);
		if (rc == SQLITE_OK)
			return STORE_OK;
		if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
			break;
		if (waited >= STORE_BUSY_MS)
			break;
		nanosleep(&pause, NULL);
	}
	log_err("store: PRAGMA journal_mode = WAL: %s", sqlite3_errmsg(lite));
	return STORE_ERR;
}

/* The schema's version (SQLite's user_version; PostgreSQL's table
 * lightchat_schema, 0 when it has none), or -1 when it cannot be read. */
static int
schema_version(struct store *s)
{
	struct db_stmt *st = NULL;
	int version = -1;

	/* PostgreSQL: a database without the table is new. */
	if (db_is_pg(s->db) && (db_prepare(s->db, "SELECT"
	    " to_regclass('lightchat_schema') IS NULL", NULL, 0, &st) != DB_OK ||
	    db_step(st) != DB_ROW))
		goto out;
	if (st != NULL && db_column_int64(st, 0) == 1) {
		version = 0;
		goto out;
	}
	db_finalize(st);
	st = NULL;
	if (db_prepare(s->db, stmt_sql[ST_SCHEMA_VERSION],
	    stmt_pg[ST_SCHEMA_VERSION], 0, &st) == DB_OK &&
	    db_step(st) == DB_ROW)
		version = db_column_int(st, 0);
out:
	db_finalize(st);
	return version;
}

static int
migrate(struct store *s, char *err, size_t errcap)
{
	int version, pg = db_is_pg(s->db);
	char set[64];

	/* SQLite: IMMEDIATE, PostgreSQL: a lock of lightchat's own held to
	 * the commit, so that two programs opening a new database at once
	 * do not both create the schema. */
	if (exec(s, pg ? "BEGIN; SELECT pg_advisory_xact_lock(7171)" :
	    "BEGIN IMMEDIATE") != STORE_OK)
		goto fail;
	version = schema_version(s);
	if (version < 0)
		goto fail;
	if (version > STORE_SCHEMA_VERSION) {
		snprintf(err, errcap, "database schema %d is newer than this "
		    "program (%d)", version, STORE_SCHEMA_VERSION);
		exec(s, "ROLLBACK");
		return STORE_ERR;
	}
	if (pg) {
		/* A PostgreSQL store begins at version 11; later versions add
		 * their steps here, as SQLite's below. */
		if (version == 0 && exec(s, pg_schema_v11) != STORE_OK)
			goto fail;
	} else {
		for (; version < STORE_SCHEMA_VERSION; version++) {
			snprintf(set, sizeof(set), "PRAGMA user_version = %d",
			    version + 1);
			if (exec(s, schema_v[version]) != STORE_OK ||
			    exec(s, set) != STORE_OK)
				goto fail;
		}
	}
	if (exec(s, "COMMIT") != STORE_OK)
		goto fail;
	return STORE_OK;
fail:
	snprintf(err, errcap, "database migration failed: %s",
	    db_errmsg(s->db));
	exec(s, "ROLLBACK");
	return STORE_ERR;
}

int
store_path_is_pg(const char *path)
{
	return path != NULL && (strncmp(path, "postgresql://", 13) == 0 ||
	    strncmp(path, "postgres://", 11) == 0);
}

int
store_is_shared(const struct store *s)
{
	return s != NULL && db_is_pg(s->db);
}

int
store_set_worker(struct store *s, const char *id)
{
	if (s == NULL)
		return STORE_ERR;
	if (id == NULL)
		id = "";
	if (strlen(id) > STORE_WORKER_MAX)
		return STORE_INVALID;
	snprintf(s->worker, sizeof(s->worker), "%s", id);
	return STORE_OK;
}

/* store_open and store_open_retrying (lazy: a PostgreSQL server that does
 * not answer yet leaves the store not ready instead of failing). */
static int
open_store(struct store **out, const char *path, int lazy, char *err,
    size_t errcap)
{
	struct store *s = calloc(1, sizeof(*s));
	char why[256];

	*out = NULL;
	err[0] = '\0';
	if (s == NULL) {
		snprintf(err, errcap, "out of memory");
		return STORE_ERR;
	}
	if (store_path_is_pg(path)) {
		/* libpq's message names the server, never the password. */
		if (db_open_pg(&s->db, path, lazy, why, sizeof(why)) != DB_OK) {
			snprintf(err, errcap, "database: %s", why);
			goto fail;
		}
		if (!db_connected(s->db)) {
			/* Lazy: the first use connects and migrates. */
			snprintf(err, errcap, "store: the database is not "
			    "available yet: %s; tried again at each use", why);
			s->tried_ms = s->said_ms = store_now_ms();
			*out = s;
			return STORE_OK;
		}
	} else {
		if (db_open_sqlite(&s->db, path, SQLITE_OPEN_READWRITE |
		    SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, STORE_BUSY_MS,
		    why, sizeof(why)) != DB_OK) {
			snprintf(err, errcap, "database %s: %s", path, why);
			goto fail;
		}
		if (set_wal(s) != STORE_OK ||
		    exec(s, "PRAGMA synchronous = NORMAL") != STORE_OK ||
		    exec(s, "PRAGMA foreign_keys = ON") != STORE_OK ||
		    /* SQLite evaluates "x IN (a, b, c)" CHECKs by building a
		     * temporary table on every insert or update: a third of a
		     * prompt's store cost. Only store_msg_add and
		     * store_msg_update write the checked columns, and they
		     * check the values themselves. */
		    exec(s, "PRAGMA ignore_check_constraints = ON") != STORE_OK) {
			snprintf(err, errcap, "database %s: %s", path,
			    db_errmsg(s->db));
			goto fail;
		}
	}
	if (migrate(s, err, errcap) != STORE_OK)
		goto fail;
	s->ready = 1;
	*out = s;
	return STORE_OK;
fail:
	store_close(s);
	return STORE_ERR;
}

int
store_open(struct store **out, const char *path, char *err, size_t errcap)
{
	return open_store(out, path, 0, err, errcap);
}

int
store_open_retrying(struct store **out, const char *path, char *err,
    size_t errcap)
{
	return open_store(out, path, 1, err, errcap);
}

int
store_open_plain(struct store **out, const char *path, int readonly,
    char *err, size_t errcap)
{
	struct store *s = calloc(1, sizeof(*s));
	int flags = readonly ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;

	*out = NULL;
	if (s == NULL) {
		snprintf(err, errcap, "out of memory");
		return STORE_ERR;
	}
	if (db_open_sqlite(&s->db, path, flags | SQLITE_OPEN_FULLMUTEX,
	    STORE_BUSY_MS, err, errcap) != DB_OK) {
		char why[256];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errcap, "%s: %s", path, why);
		store_close(s);
		return STORE_ERR;
	}
	s->ready = 1;   /* as it is: never migrated */
	*out = s;
	return STORE_OK;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < ST__MAX; i++)
		db_finalize(s->st[i]);
	db_close(s->db);
	free(s);
}

/* Runs one of the transaction statements. */
static int
run_tx(struct store *s, enum stmt id, const char *what)
{
	struct db_stmt *st = NULL;

	if (store_prep(s, id, &st) != STORE_OK)
		return STORE_ERR;
	return store_run_done(s, st, what);
}

int
store_begin(struct store *s)
{
	return run_tx(s, ST_BEGIN, "begin");
}

int
store_commit(struct store *s)
{
	if (run_tx(s, ST_COMMIT, "commit") == STORE_OK)
		return STORE_OK;
	store_rollback(s);
	return STORE_ERR;
}

void
store_rollback(struct store *s)
{
	/* SQLite may have rolled back already (after an I/O error). */
	if (s != NULL && db_in_transaction(s->db))
		run_tx(s, ST_ROLLBACK, "rollback");
}

const char *
store_strerror(int err)
{
	switch (err) {
	case STORE_OK: return "ok";
	case STORE_NOT_FOUND: return "not found";
	case STORE_ERR: return "database error";
	case STORE_INVALID: return "invalid argument";
	case STORE_LIMITED: return "too many attempts";
	}
	return "unknown error";
}
