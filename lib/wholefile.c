/* wholefile.c - writing a file whole: a temporary file, then rename. */
#include "wholefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* Writes len bytes of data to fd. Returns 0 or -1 (errno set). */
static int
write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			errno = EIO;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int
wholefile_write(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[4096];
	int fd = -1, rc = -1, saved;

	if (path == NULL || (data == NULL && len > 0)) {
		errno = EINVAL;
		return -1;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0)
		goto out;
	rc = close(fd);
	fd = -1;
	if (rc != 0 || (rc = rename(tmp, path)) != 0)
		goto out;
out:
	saved = errno;
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	errno = saved;
	return rc;
}
