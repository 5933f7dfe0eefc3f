/* pdftext.c - pdftotext run as a bounded child: a temporary file in, a
 * pipe out, poll with a deadline, SIGKILL past a limit, always reaped. */
#include "pdftext.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static long long
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Writes all of p[0..n) to fd. Returns 0 or -1. */
static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The child: stdout the pipe, stdin and stderr /dev/null, every other
 * descriptor closed (the FastCGI socket, the database), then exec. */
static void
child(const char *prog, const char *path, int outfd)
{
	int null = open("/dev/null", O_RDWR);

	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 2) < 0 ||
	    dup2(outfd, 1) < 0)
		_exit(126);
	if (close_range(3, ~0U, 0) != 0)
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	execl(prog, "pdftotext", "-q", "-enc", "UTF-8", "-nopgbrk", path, "-",
	    (char *)NULL);
	_exit(127);
}

int
pdftext(const char *prog, const void *pdf, size_t len, int timeout_s,
    struct lc_buf *out)
{
	const char *dir = getenv("TMPDIR");
	char path[512];
	int fd = -1, pipefd[2] = { -1, -1 }, rc = PDFTEXT_FAILED, status = 0;
	pid_t pid = -1;
	long long deadline = now_ms() + (long long)timeout_s * 1000;

	path[0] = '\0';
	if (prog == NULL || prog[0] == '\0' || access(prog, X_OK) != 0)
		return PDFTEXT_MISSING;
	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	if ((size_t)snprintf(path, sizeof(path), "%s/lightchat-pdf-XXXXXX",
	    dir) >= sizeof(path)) {
		path[0] = '\0';
		goto out;
	}
	if ((fd = mkstemp(path)) < 0) {
		log_err("pdftext: %s: %s", path, strerror(errno));
		path[0] = '\0';
		goto out;
	}
	if (write_all(fd, pdf, len) != 0) {
		log_err("pdftext: write %s: %s", path, strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		goto out;
	if ((pid = fork()) < 0) {
		log_err("pdftext: fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		child(prog, path, pipefd[1]);
	close(pipefd[1]);
	pipefd[1] = -1;
	for (;;) {
		char chunk[8192];
		struct pollfd p = { pipefd[0], POLLIN, 0 };
		long long left = deadline - now_ms();
		ssize_t got;
		int n;

		if (left <= 0) {
			rc = PDFTEXT_TIMEOUT;
			goto out;
		}
		n = poll(&p, 1, (int)(left > 1000 ? 1000 : left));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			continue;
		got = read(pipefd[0], chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			goto out;
		if (got == 0)
			break;
		if (buf_append(out, chunk, (size_t)got) != LC_BUF_OK) {
			rc = PDFTEXT_TOO_BIG;
			goto out;
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	rc = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? PDFTEXT_OK :
	    PDFTEXT_FAILED;
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (fd >= 0)
		close(fd);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (path[0] != '\0')
		unlink(path);
	return rc;
}
