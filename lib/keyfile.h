/* keyfile.h - reading a secret from a file only its owner may read (the
 * flat upstream_api_key_file and each [upstream] section's api_key_file):
 * one reader, so that both refuse the same files with the same words. */
#ifndef LC_KEYFILE_H
#define LC_KEYFILE_H

#include <stddef.h>

#define KEYFILE_MAX 1024          /* a key's bytes, its first line */

/* Reads the first line of path, blanks trimmed, into out (cap bytes, at
 * most KEYFILE_MAX): the file must be open to neither group nor others
 * (mode 0600 or stricter). what names the setting in errors ("upstream_
 * api_key_file", "lightchat.conf:12: api_key_file"). Returns 0, or -1 with
 * a message in err (errcap bytes); the key never reaches err. The caller
 * wipes out (explicit_bzero) when done. */
int keyfile_read(const char *path, const char *what, char *out, size_t cap,
    char *err, size_t errcap);

#endif
