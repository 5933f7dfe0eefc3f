/* pdftext.h - a PDF's text through Debian's pdftotext (poppler-utils), run
 * bounded: fork/exec of the program with fixed arguments (never a shell),
 * the PDF in a private temporary file, its output read up to a maximum and
 * a time limit, past which the program is killed. */
#ifndef LC_PDFTEXT_H
#define LC_PDFTEXT_H

#include <stddef.h>

#include "buf.h"

enum pdftext_err {
	PDFTEXT_OK = 0,
	PDFTEXT_MISSING = -1,   /* prog is "" or not an executable file */
	PDFTEXT_FAILED = -2,    /* it failed (exit status, no text, a system
	                         * call), or the PDF is not one it reads */
	PDFTEXT_TIMEOUT = -3,   /* still running after timeout_s: killed */
	PDFTEXT_TOO_BIG = -4,   /* more text than out's maximum: killed */
};

/* Runs prog (a path, e.g. /usr/bin/pdftotext) on pdf[0..len) and appends
 * its UTF-8 text to out (bounded by out's max). The temporary file goes in
 * $TMPDIR (else /tmp), mode 0600, and is removed before returning.
 * Returns PDFTEXT_OK or an error above (out's contents are then
 * undefined). */
int pdftext(const char *prog, const void *pdf, size_t len, int timeout_s,
    struct lc_buf *out);

#endif
