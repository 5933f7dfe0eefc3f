/* json.h - strict parsing of JSON text from clients.
 *
 * cJSON accepts text after the first value, and a "\u0000" escape silently
 * ends a string early (its strings are NUL-terminated), so what a program
 * checks could differ from what the client sent. This parser refuses both,
 * plus raw NUL bytes and invalid UTF-8. */
#ifndef LC_JSON_H
#define LC_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Parses exactly one JSON value from s[0..len), with only whitespace after
 * it. Returns the value (the caller deletes it), or NULL with *why set to
 * a short reason for people. */
cJSON *json_parse_strict(const char *s, size_t len, const char **why);

/* Returns the string member name of obj (owned by obj), or NULL when obj
 * is NULL, the member is missing or is not a string. */
const char *json_str(const cJSON *obj, const char *name);

#endif
