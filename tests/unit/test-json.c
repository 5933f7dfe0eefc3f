/* test-json.c - json_parse_strict: one JSON value and nothing that would
 * make what is checked differ from what was sent. */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "unit.h"

static int
accepts(const char *s, size_t len)
{
	const char *why = NULL;
	cJSON *j = json_parse_strict(s, len, &why);
	int ok = j != NULL;

	cJSON_Delete(j);
	return ok;
}

static int
refuses_with(const char *s, size_t len, const char *reason)
{
	const char *why = NULL;
	cJSON *j = json_parse_strict(s, len, &why);
	int ok = j == NULL && why != NULL && strstr(why, reason) != NULL;

	cJSON_Delete(j);
	return ok;
}

#define S(x) x, sizeof(x) - 1

int
main(void)
{
	CHECK(accepts(S("{\"a\":1}")), "an object");
	const char *why = NULL;
	cJSON *o = json_parse_strict(S("{\"s\":\"x\",\"n\":1,\"a\":[\"y\"]}"), &why);
	CHECK(o != NULL && json_str(o, "s") != NULL && strcmp(json_str(o, "s"), "x") == 0,
	    "json_str: a string member");
	CHECK(o != NULL && json_str(o, "n") == NULL && json_str(o, "a") == NULL &&
	    json_str(o, "S") == NULL && json_str(o, "z") == NULL && json_str(NULL, "s") == NULL,
	    "json_str: NULL for a number, an array, another case, a missing member, no object");
	cJSON_Delete(o);
	CHECK(accepts(S("  {\"a\":\"x\"} \r\n\t")), "whitespace around");
	CHECK(accepts(S("{\"a\":\"\\\\u0000\"}")), "an escaped backslash then u0000 is text");
	CHECK(accepts(S("{\"a\":\"\\u0001 \\n \\\" \"}")), "other escapes");
	CHECK(accepts(S("{\"a\":\"h\xc3\xa9 \xf0\x9f\x9a\x80\"}")), "UTF-8");
	CHECK(refuses_with(S("{\"a\":1}x"), "after"), "trailing text");
	CHECK(refuses_with(S("{\"a\":1}{\"b\":2}"), "after"), "two objects");
	CHECK(refuses_with(S("{\"a\":1}\0"), "NUL"), "raw NUL after");
	CHECK(refuses_with(S("{\"a\":\"x\0y\"}"), "NUL"), "raw NUL inside");
	CHECK(refuses_with(S("{\"a\":\"x\\u0000y\"}"), "u0000"), "\\u0000 in a value");
	CHECK(refuses_with(S("{\"a\\u0000b\":1}"), "u0000"), "\\u0000 in a key");
	CHECK(refuses_with(S("{\"a\":\"\xff\"}"), "UTF-8"), "invalid UTF-8");
	CHECK(refuses_with(S("{\"a\":"), "not valid JSON"), "truncated JSON");
	CHECK(refuses_with(S(""), "not valid JSON"), "empty");
	/* Length is honoured: text after len is not read. */
	CHECK(accepts("{\"a\":1}garbage", 7), "only len bytes are parsed");
	UNIT_EXIT();
}
