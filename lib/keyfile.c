/* keyfile.c - a secret's 0600 file: its mode checked, its first line read
 * (keyfile.h). */
#include "keyfile.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int
keyfile_read(const char *path, const char *what, char *out, size_t cap,
    char *err, size_t errcap)
{
	char line[KEYFILE_MAX + 2];
	struct stat st;
	FILE *fp = fopen(path, "r");
	int rc = -1;

	if (cap == 0)
		return -1;
	out[0] = '\0';
	if (fp == NULL) {
		snprintf(err, errcap, "%s %.100s: %s", what, path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fileno(fp), &st) != 0 || (st.st_mode & 077) != 0) {
		snprintf(err, errcap,
		    "%s %.100s: must be mode 0600 (chmod 600 it)", what, path);
		goto out;
	}
	if (fgets(line, sizeof(line), fp) == NULL)
		line[0] = '\0';
	char *s = line;
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n >= cap || n > KEYFILE_MAX) {
		snprintf(err, errcap, "%s %.100s: the key is longer than %d "
		    "bytes", what, path, KEYFILE_MAX);
		goto out;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	rc = 0;
out:
	explicit_bzero(line, sizeof(line));
	fclose(fp);
	return rc;
}
