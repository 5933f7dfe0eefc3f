/* test-perms.c - lib/perms.c: a state directory or users file that the
 * group or others may use is refused, with the chmod that fixes it; absent
 * files pass; the umask makes new files private. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "perms.h"
#include "unit.h"

int
main(void)
{
	char dir[] = "/tmp/lightchat-perms.XXXXXX", path[256], err[256];
	struct stat st;
	int fd;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/users", dir);

	CHECK(perms_check_private(dir, 1, err, sizeof(err)) == 0,
	    "a 0700 directory passes");
	CHECK(perms_check_private(path, 0, err, sizeof(err)) == 0,
	    "an absent file passes (it is made private)");
	chmod(dir, 0750);
	CHECK(perms_check_private(dir, 1, err, sizeof(err)) == -1 &&
	    strstr(err, "mode 750") != NULL && strstr(err, "chmod 700") != NULL,
	    "a directory the group may enter is refused, with the fix");
	chmod(dir, 0701);
	CHECK(perms_check_private(dir, 1, err, sizeof(err)) == -1,
	    "a directory others may enter is refused");
	chmod(dir, 0700);

	perms_private_umask();
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0666);
	CHECK(fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "with the private umask a new file is 0600");
	if (fd >= 0)
		close(fd);
	CHECK(perms_check_private(path, 0, err, sizeof(err)) == 0,
	    "a 0600 file passes");
	chmod(path, 0644);
	CHECK(perms_check_private(path, 0, err, sizeof(err)) == -1 &&
	    strstr(err, "chmod 600") != NULL,
	    "a file others may read is refused, with the fix");
	chmod(path, 0620);
	CHECK(perms_check_private(path, 0, err, sizeof(err)) == -1,
	    "a file the group may write is refused");
	CHECK(perms_check_private(path, 1, err, sizeof(err)) == -1 &&
	    strstr(err, "not a directory") != NULL,
	    "a file where a directory belongs is refused");
	CHECK(perms_check_private(dir, 0, err, sizeof(err)) == -1 &&
	    strstr(err, "not a regular file") != NULL,
	    "a directory where a file belongs is refused");

	/* Root on another user's state directory becomes that user (in a
	 * child: the switch is for good). */
	if (geteuid() == 0 && chown(dir, 65534, 65534) == 0) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(perms_become_owner(dir, err, sizeof(err)) == 0 &&
			    geteuid() == 65534 && getegid() == 65534 &&
			    getgroups(0, NULL) == 0 ? 0 : 1);
		int status = -1;
		CHECK(pid > 0 && waitpid(pid, &status, 0) == pid &&
		    WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "root on another user's directory becomes that user");
		if (chown(dir, 0, 0) != 0)
			perror("chown");
	} else {
		printf("skip - perms_become_owner needs root\n");
	}
	CHECK(perms_become_owner(dir, err, sizeof(err)) == 0 &&
	    geteuid() == getuid(), "a directory root owns changes nothing");

	unlink(path);
	rmdir(dir);
	UNIT_EXIT();
}
