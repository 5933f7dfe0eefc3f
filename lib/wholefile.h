/* wholefile.h - a file written whole: a reader sees the old contents or the
 * new, never a part (the worker's metrics file, what discovery saw). */
#ifndef LC_WHOLEFILE_H
#define LC_WHOLEFILE_H

#include <stddef.h>
#include <sys/types.h>

/* Writes len bytes of data (NULL allowed when len is 0) to path.tmp with
 * mode (set with fchmod, whatever the umask), closes it, then renames it
 * over path. Returns 0, or -1 with errno set and the temporary file
 * removed. */
int wholefile_write(const char *path, const void *data, size_t len,
    mode_t mode);

#endif
