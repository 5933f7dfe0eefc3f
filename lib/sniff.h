/* sniff.h - what an uploaded file is, by its content alone (never its name
 * or the Content-Type it came with): an image of a kind upstream APIs take
 * (PNG, JPEG, WEBP, a GIF of one frame) with its size from its header, a
 * PDF, or UTF-8 text without NUL; anything else is refused with a reason.
 * No I/O, no allocation. */
#ifndef LC_SNIFF_H
#define LC_SNIFF_H

#include <stddef.h>

enum sniff_kind {
	SNIFF_REFUSED = 0,  /* why says what it is not */
	SNIFF_IMAGE,        /* mime, width, height set */
	SNIFF_TEXT,         /* valid UTF-8, no NUL: mime text/plain */
	SNIFF_PDF,          /* "%PDF-": its text is pdftotext's (lib/pdftext.h) */
};

struct sniff {
	enum sniff_kind kind;
	const char *mime;   /* static: "image/png", "text/plain", ... */
	int width, height;  /* SNIFF_IMAGE: from the header, both > 0 */
	const char *why;    /* SNIFF_REFUSED: a static sentence for the user */
};

/* Images whose header says more than this many pixels a side are refused
 * (no API takes them; a header is cheap to forge). */
#define SNIFF_SIDE_MAX 65535

/* Looks at data[0..len) and fills *out. Returns out->kind. */
enum sniff_kind sniff(const void *data, size_t len, struct sniff *out);

#endif
