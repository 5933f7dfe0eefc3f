/* test-pdftext.c - lib/pdftext.c with stand-ins for pdftotext (scripts it
 * runs as it would the real one): its output taken, a missing program, a
 * failing one, one past the output bound and one past the time limit
 * (killed, reaped), the temporary file always removed; and Debian's own
 * pdftotext on a small PDF when it is installed. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pdftext.h"
#include "unit.h"

static char dir[] = "/tmp/lc-test-pdftext.XXXXXX";

/* Writes an executable script named name in dir; returns its path. */
static const char *
script(const char *name, const char *body)
{
	static char path[4][400];
	static int next;
	char *p = path[next++ % 4];
	FILE *f;

	snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
	if ((f = fopen(p, "w")) == NULL)
		return "";
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(p, 0700);
	return p;
}

/* Counts the files in dir/tmp (the temporary PDFs). */
static int
leftovers(void)
{
	char p[400];
	DIR *d;
	struct dirent *e;
	int n = 0;

	snprintf(p, sizeof(p), "%s/tmp", dir);
	if ((d = opendir(p)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static const char pdf[] =
    "%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    "2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
    "3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100]"
    " /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>\nendobj\n"
    "4 0 obj\n<< /Length 44 >>\nstream\n"
    "BT /F1 12 Tf 20 50 Td (Hello, unit test) Tj ET\nendstream\nendobj\n"
    "5 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\n"
    "endobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";

int
main(void)
{
	struct lc_buf out;
	char tmp[400];
	int st;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(tmp, sizeof(tmp), "%s/tmp", dir);
	mkdir(tmp, 0700);
	setenv("TMPDIR", tmp, 1);

	buf_init(&out, 1024);
	/* The stand-in prints its arguments' last two and the file's bytes. */
	const char *cat = script("cat", "for a; do :; done; "
	    "eval \"f=\\${$(($# - 1))}\"; printf '%s|' \"$a\"; cat \"$f\"");
	CHECK(pdftext(cat, "%PDF-x", 6, 5, &out) == PDFTEXT_OK &&
	    strcmp(buf_str(&out), "-|%PDF-x") == 0,
	    "its output, the PDF in a file, the text to stdout");
	CHECK(leftovers() == 0, "the temporary file removed");
	buf_reset(&out);
	CHECK(pdftext("", "x", 1, 5, &out) == PDFTEXT_MISSING &&
	    pdftext("/nonexistent/pdftotext", "x", 1, 5, &out) ==
	    PDFTEXT_MISSING, "no program: missing");
	CHECK(pdftext(script("fail", "echo partial; exit 1"), "x", 1, 5,
	    &out) == PDFTEXT_FAILED, "a failing program: failed");
	buf_reset(&out);
	CHECK(pdftext(script("big", "head -c 5000 /dev/zero; sleep 30"), "x",
	    1, 20, &out) == PDFTEXT_TOO_BIG && out.len <= 1024,
	    "past the output bound: killed, too big");
	buf_reset(&out);
	CHECK(pdftext(script("slow", "exec sleep 30"), "x", 1, 1, &out) ==
	    PDFTEXT_TIMEOUT, "past the time limit: killed");
	CHECK(waitpid(-1, &st, WNOHANG) < 0, "every child reaped");
	/* A descriptor of ours (the database's, say) is not the child's. */
	int fd = open("/dev/null", O_RDONLY);
	char body[128];
	snprintf(body, sizeof(body), "if [ -e /proc/$$/fd/%d ]; then echo "
	    "inherited; else echo closed; fi", fd);
	buf_reset(&out);
	CHECK(fd > 2 && pdftext(script("fds", body), "x", 1, 5, &out) ==
	    PDFTEXT_OK && strcmp(buf_str(&out), "closed\n") == 0,
	    "the child gets no descriptor but its three");
	close(fd);
	CHECK(leftovers() == 0, "no temporary file left after failures");

	if (access("/usr/bin/pdftotext", X_OK) == 0) {
		buf_reset(&out);
		CHECK(pdftext("/usr/bin/pdftotext", pdf, sizeof(pdf) - 1, 10,
		    &out) == PDFTEXT_OK && strstr(buf_str(&out),
		    "Hello, unit test") != NULL, "pdftotext reads a PDF");
		buf_reset(&out);
		CHECK(pdftext("/usr/bin/pdftotext", "%PDF-junk", 9, 10, &out) ==
		    PDFTEXT_FAILED, "and fails on a broken one");
	} else {
		printf("ok - # SKIP pdftotext is not installed\n");
	}
	buf_free(&out);
	char cmd[500];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0, "cleaned up");
	UNIT_EXIT();
}
