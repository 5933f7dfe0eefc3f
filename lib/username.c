/* username.c - the user name rule (username.h). */
#include "username.h"

#include <stddef.h>

int
username_valid(const char *name)
{
	size_t n = 0;

	if (name == NULL || name[0] == '\0' || name[0] == '-')
		return 0;
	for (const char *p = name; *p; p++, n++) {
		char c = *p;
		if (n >= LC_USER_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '@' ||
		    c == '-'))
			return 0;
	}
	return 1;
}
