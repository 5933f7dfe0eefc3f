/* test-store_attach.c - lib/store_attach.c over a real database: an
 * attachment stored, got (with and without its data) only by its owner,
 * counted in the owner's usage, bound to a message (not to another
 * conversation's), listed as JSON with base64, delete refused once used,
 * unbound when its message is dropped, deleted with the conversation,
 * the purge of unused ones, a deleted user's, and base64 itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "unit.h"

static struct store *s;

/* Stores data as name of kind for user; id gets its id. */
static int
add(const char *user, const char *kind, const char *name, const char *data,
    char id[ID_LEN + 1])
{
	struct store_attach a;
	int rc;

	memset(&a, 0, sizeof(a));
	snprintf(a.kind, sizeof(a.kind), "%s", kind);
	snprintf(a.mime, sizeof(a.mime), "%s", kind[0] == 'i' ? "image/gif" :
	    "text/plain");
	snprintf(a.name, sizeof(a.name), "%s", name);
	a.width = kind[0] == 'i' ? 4 : 0;
	a.height = kind[0] == 'i' ? 3 : 0;
	rc = store_attach_add(s, user, &a, data, strlen(data));
	memcpy(id, a.id, ID_LEN + 1);
	return rc;
}

static long long
used(const char *user)
{
	struct store_usage u;

	return store_quota_usage(s, user, &u) == STORE_OK ? u.bytes : -1;
}

int
main(void)
{
	char dir[] = "/tmp/lc-test-attach.XXXXXX", path[300], side[320];
	char err[256], a1[ID_LEN + 1], a2[ID_LEN + 1], a3[ID_LEN + 1];
	char conv[ID_LEN + 1], other[ID_LEN + 1], b64[64];
	struct store_attach a;
	long long msg = 0, msg2 = 0;
	cJSON *list = NULL;

	CHECK(store_base64("", 0, b64) == 0 && strcmp(b64, "") == 0 &&
	    store_base64("f", 1, b64) == 4 && strcmp(b64, "Zg==") == 0 &&
	    store_base64("fo", 2, b64) == 4 && strcmp(b64, "Zm8=") == 0 &&
	    store_base64("foobar", 6, b64) == 8 &&
	    strcmp(b64, "Zm9vYmFy") == 0 && store_base64("\xff\xfe\x00", 3,
	    b64) == 4 && strcmp(b64, "//4A") == 0, "base64 (RFC 4648 vectors)");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	CHECK(store_open(&s, path, err, sizeof(err)) == STORE_OK, "opened");

	CHECK(add("alice", "image", "a.gif", "GIF89a-bytes", a1) == STORE_OK &&
	    id_valid(a1), "an image stored, a new id");
	CHECK(used("alice") == 12, "counted in alice's usage (12 bytes)");
	CHECK(add("alice", "text", "n.txt", "hello", a2) == STORE_OK &&
	    used("alice") == 17, "a text one too");
	CHECK(add("alice", "text", "", "x", a3) == STORE_INVALID,
	    "no name: refused");
	CHECK(store_attach_get(s, a1, "alice", 1, &a) == STORE_OK &&
	    a.bytes == 12 && memcmp(a.data, "GIF89a-bytes", 12) == 0 &&
	    a.data[12] == '\0' && strcmp(a.kind, "image") == 0 &&
	    strcmp(a.mime, "image/gif") == 0 && a.width == 4 && a.height == 3 &&
	    a.conv[0] == '\0' && a.msg_id == 0, "got with its data");
	free(a.data);
	CHECK(store_attach_get(s, a1, "alice", 0, &a) == STORE_OK &&
	    a.data == NULL && a.bytes == 12, "got without its data");
	CHECK(store_attach_get(s, a1, "bob", 1, &a) == STORE_NOT_FOUND &&
	    a.data == NULL, "another user's: not found");
	CHECK(store_attach_delete(s, a1, "bob") == STORE_NOT_FOUND,
	    "another user's: not deleted");

	CHECK(store_conv_create(s, "alice", "t", "m", "", conv) == STORE_OK &&
	    store_msg_add(s, conv, "user", "look", 4, STORE_COMPLETE, "",
	    &msg) == STORE_OK && store_conv_create(s, "alice", "u", "m", "",
	    other) == STORE_OK, "two conversations");
	CHECK(store_attach_bind(s, a1, "alice", conv, msg, 0) == STORE_OK &&
	    store_attach_bind(s, a2, "alice", conv, msg, 1) == STORE_OK,
	    "bound to a message");
	CHECK(store_attach_bind(s, a1, "bob", conv, msg, 0) == STORE_NOT_FOUND,
	    "not by another user");
	CHECK(store_attach_bind(s, a1, "alice", other, msg, 0) ==
	    STORE_NOT_FOUND, "not to another conversation once used");
	CHECK(used("alice") == 21, "usage: the attachments and the message");
	CHECK(store_attach_list(s, msg, 1, &list) == STORE_OK &&
	    cJSON_GetArraySize(list) == 2, "listed");
	char *json = cJSON_PrintUnformatted(list);
	CHECK(json != NULL && strstr(json, "{\"id\":") == json + 1 &&
	    strstr(json, "\"kind\":\"image\",\"mime\":\"image/gif\",\"name\":"
	    "\"a.gif\",\"bytes\":12,\"width\":4,\"height\":3,\"data\":"
	    "\"R0lGODlhLWJ5dGVz\"") != NULL &&
	    strstr(json, "\"name\":\"n.txt\",\"bytes\":5,\"data\":\"aGVsbG8=\"}")
	    != NULL, "as JSON, in order, base64, no size for text");
	free(json);
	cJSON_Delete(list);
	CHECK(store_attach_list(s, msg, 0, &list) == STORE_OK &&
	    cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "data") == NULL,
	    "metadata only");
	cJSON_Delete(list);
	CHECK(store_attach_delete(s, a1, "alice") == STORE_INVALID &&
	    store_attach_get(s, a1, "alice", 0, &a) == STORE_OK,
	    "a used one is not deleted alone");

	/* An edit (a new version of the prompt, the old one kept) sends it
	 * again: it moves to the new prompt, in the same conversation. */
	CHECK(store_msg_add(s, conv, "assistant", "ok", 2, STORE_COMPLETE, "",
	    NULL) == STORE_OK, "a reply");
	CHECK(store_msg_add(s, conv, "user", "again", 5, STORE_COMPLETE, "",
	    &msg2) == STORE_OK && store_attach_bind(s, a1, "alice", conv, msg2,
	    0) == STORE_OK && store_attach_get(s, a1, "alice", 0, &a) ==
	    STORE_OK && a.msg_id == msg2 && strcmp(a.conv, conv) == 0,
	    "bound again in the same conversation: to the new prompt");
	CHECK(store_attach_list(s, msg, 0, &list) == STORE_OK &&
	    cJSON_GetArraySize(list) == 2 &&
	    cJSON_IsString(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0),
	    "id")) && strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0),
	    "id")->valuestring, a1) != 0 &&
	    strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0),
	    "name")->valuestring, "a.gif") == 0,
	    "the old version keeps a copy of it (a new id)");
	cJSON_Delete(list);
	CHECK(store_attach_purge(s, 0) == 0 &&
	    store_attach_get(s, a1, "alice", 0, &a) == STORE_OK &&
	    store_attach_get(s, a2, "alice", 0, &a) == STORE_OK,
	    "purge: nothing unused (the old version keeps its own)");
	CHECK(used("alice") == 12 + 12 + 5 + 4 + 2 + 5,
	    "usage: the attachments and the messages (every version kept)");

	CHECK(store_conv_delete(s, conv, "alice") == STORE_OK &&
	    store_attach_get(s, a1, "alice", 0, &a) == STORE_NOT_FOUND,
	    "deleted with the conversation");
	CHECK(used("alice") == 0, "usage back to nothing");

	CHECK(add("alice", "text", "x.txt", "abc", a3) == STORE_OK &&
	    store_attach_purge(s, 60000) == 0, "purge keeps a new unused one");
	CHECK(store_conv_delete(s, other, "alice") == STORE_OK &&
	    used("alice") == 3, "deleting the last conversation keeps the "
	    "usage of an unused attachment");
	CHECK(store_attach_delete(s, a3, "alice") == STORE_OK &&
	    used("alice") == 0 && store_attach_get(s, a3, "alice", 0, &a) ==
	    STORE_NOT_FOUND, "an unused one deleted, counted out");

	int n = 0;
	CHECK(add("carol", "text", "c.txt", "carol's", a3) == STORE_OK &&
	    store_user_keep_apart(s, "carol", 5, &n) == STORE_OK &&
	    store_attach_get(s, a3, "carol", 0, &a) == STORE_NOT_FOUND &&
	    used("carol") == 0, "a deleted user's kept apart with the rest");
	CHECK(store_user_purge(s, "carol", &n) == STORE_OK &&
	    used("~deleted~5~carol") == 0, "and purged with it");
	CHECK(add("dave", "text", "d.txt", "dave's", a3) == STORE_OK &&
	    store_user_delete(s, "dave", &n) == STORE_OK &&
	    store_attach_get(s, a3, "dave", 0, &a) == STORE_NOT_FOUND &&
	    used("dave") == 0, "or deleted with the user");
	CHECK(store_attach_get(NULL, a1, "alice", 0, &a) == STORE_ERR &&
	    store_attach_purge(NULL, 0) == STORE_ERR, "NULL store: errors");

	store_close(s);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
	unlink(path);
	rmdir(dir);
	UNIT_EXIT();
}
