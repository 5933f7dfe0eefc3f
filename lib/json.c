/* json.c - strict JSON parsing for client input. */
#include "json.h"

#include <string.h>

#include "utf8.h"

/* Returns 1 if the JSON text holds a "\u0000" escape inside a string. */
static int
has_nul_escape(const char *s, size_t len)
{
	int in_string = 0;

	for (size_t i = 0; i < len; i++) {
		if (!in_string) {
			in_string = s[i] == '"';
			continue;
		}
		if (s[i] == '"') {
			in_string = 0;
		} else if (s[i] == '\\' && i + 1 < len) {
			if (s[i + 1] == 'u' && i + 5 < len &&
			    memcmp(s + i + 2, "0000", 4) == 0)
				return 1;
			i++;  /* skip the escaped character */
		}
	}
	return 0;
}

cJSON *
json_parse_strict(const char *s, size_t len, const char **why)
{
	const char *end = NULL;
	cJSON *json;

	if (memchr(s, '\0', len) != NULL) {
		*why = "the JSON text holds a NUL byte";
		return NULL;
	}
	if (utf8_valid_prefix(s, len) != len) {
		*why = "the JSON text is not valid UTF-8";
		return NULL;
	}
	if (has_nul_escape(s, len)) {
		*why = "strings must not hold \\u0000";
		return NULL;
	}
	json = cJSON_ParseWithLengthOpts(s, len, &end, 0);
	if (json == NULL) {
		*why = "the text is not valid JSON";
		return NULL;
	}
	for (; end != NULL && end < s + len; end++) {
		if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
			cJSON_Delete(json);
			*why = "there is text after the JSON value";
			return NULL;
		}
	}
	return json;
}

const char *
json_str(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}
