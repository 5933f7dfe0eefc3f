/* perms.c - refusing a state directory or users file others can use, the
 * private umask, and root becoming the state directory's owner (perms.h). */
#include "perms.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void
perms_private_umask(void)
{
	umask(077);
}

int
perms_check_private(const char *path, int want_dir, char *err, size_t cap)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;  /* made private when it is created */
		snprintf(err, cap, "%.200s: %s", path, strerror(errno));
		return -1;
	}
	if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
		snprintf(err, cap, "%.200s: not a %s", path,
		    want_dir ? "directory" : "regular file");
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, cap, "%.200s: mode %03o lets other users %s it; "
		    "run: chmod %s %.200s", path, (unsigned)(st.st_mode & 0777),
		    want_dir ? "into" : "read or write", want_dir ? "700" : "600",
		    path);
		return -1;
	}
	return 0;
}

int
perms_check_state(const struct lc_config *cfg, char *err, size_t cap)
{
	if (perms_check_private(cfg->state, 1, err, cap) != 0 ||
	    perms_check_private(cfg->users_file, 0, err, cap) != 0)
		return -1;
	return 0;
}

int
perms_become_owner(const char *path, char *err, size_t cap)
{
	struct stat st;

	if (geteuid() != 0 || stat(path, &st) != 0 || st.st_uid == 0)
		return 0;
	if (setgroups(0, NULL) != 0 || setgid(st.st_gid) != 0 ||
	    setuid(st.st_uid) != 0) {
		snprintf(err, cap, "%.200s: cannot become its owner (uid %u): %s",
		    path, (unsigned)st.st_uid, strerror(errno));
		return -1;
	}
	return 0;
}
