/* test-sniff.c - lib/sniff.c: each image kind by its magic bytes with its
 * size from the header (PNG, JPEG past other segments, WEBP lossy,
 * lossless and extended), a GIF of one frame taken and an animated one
 * refused (GIF and WEBP), broken headers refused, UTF-8 text without NUL,
 * invalid UTF-8 and binaries refused, PDF, whatever the name. */
#include <stdint.h>
#include <string.h>

#include "sniff.h"
#include "unit.h"

static struct sniff sn;

static enum sniff_kind
look(const void *p, size_t n)
{
	return sniff(p, n, &sn);
}

/* A GIF of frames frames, 5x7. */
static size_t
gif(unsigned char *out, int frames)
{
	static const unsigned char head[] = { 'G', 'I', 'F', '8', '9', 'a', 5,
	    0, 7, 0, 0x80, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff };
	static const unsigned char frame[] = { 0x21, 0xf9, 4, 0, 10, 0, 0, 0,
	    0x2c, 0, 0, 0, 0, 5, 0, 7, 0, 0, 2, 2, 0x44, 0x01, 0 };
	size_t n = sizeof(head);

	memcpy(out, head, n);
	for (int i = 0; i < frames; i++) {
		memcpy(out + n, frame, sizeof(frame));
		n += sizeof(frame);
	}
	out[n++] = 0x3b;
	return n;
}

int
main(void)
{
	unsigned char b[256];
	size_t n;

	static const unsigned char png[] = { 0x89, 'P', 'N', 'G', '\r', '\n',
	    0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 2, 0, 0, 0, 1,
	    0x2c, 8, 2, 0, 0, 0 };
	CHECK(look(png, sizeof(png)) == SNIFF_IMAGE &&
	    strcmp(sn.mime, "image/png") == 0 && sn.width == 512 &&
	    sn.height == 300, "PNG: 512x300 from IHDR");
	CHECK(look(png, 20) == SNIFF_REFUSED && sn.why != NULL,
	    "PNG cut before its size: refused");
	memcpy(b, png, sizeof(png));
	memset(b + 16, 0, 4);
	CHECK(look(b, sizeof(png)) == SNIFF_REFUSED, "PNG of width 0: refused");

	/* JPEG: SOI, an APP0 segment, a DQT, then SOF2 (progressive). */
	static const unsigned char jpg[] = { 0xff, 0xd8, 0xff, 0xe0, 0, 4, 'J',
	    'F', 0xff, 0xdb, 0, 3, 0, 0xff, 0xc2, 0, 11, 8, 0x01, 0xe0, 0x02,
	    0x80, 1, 1, 0x11, 0 };
	CHECK(look(jpg, sizeof(jpg)) == SNIFF_IMAGE &&
	    strcmp(sn.mime, "image/jpeg") == 0 && sn.width == 640 &&
	    sn.height == 480, "JPEG: 640x480 from SOF2 after other segments");
	static const unsigned char jpg_dht[] = { 0xff, 0xd8, 0xff, 0xc4, 0, 2,
	    0xff, 0xd9 };
	CHECK(look(jpg_dht, sizeof(jpg_dht)) == SNIFF_REFUSED,
	    "JPEG with no frame header (DHT is not one): refused");
	CHECK(look(jpg, 12) == SNIFF_REFUSED, "JPEG cut short: refused");

	/* WEBP: lossy (VP8), lossless (VP8L), extended (VP8X) and animated. */
	memset(b, 0, sizeof(b));
	memcpy(b, "RIFF\0\0\0\0WEBPVP8 ", 16);
	b[23] = 0x9d; b[24] = 0x01; b[25] = 0x2a;
	b[26] = 100; b[27] = 0; b[28] = 50; b[29] = 0x40;  /* scale bits */
	CHECK(look(b, 40) == SNIFF_IMAGE && strcmp(sn.mime, "image/webp") ==
	    0 && sn.width == 100 && sn.height == 50, "WEBP lossy: 100x50");
	memcpy(b + 12, "VP8L", 4);
	b[20] = 0x2f;
	/* width-1 = 199, height-1 = 99: bits 0..13 and 14..27 */
	uint32_t v = 199u | 99u << 14;
	b[21] = v & 0xff; b[22] = v >> 8 & 0xff; b[23] = v >> 16 & 0xff;
	b[24] = v >> 24 & 0xff;
	CHECK(look(b, 40) == SNIFF_IMAGE && sn.width == 200 &&
	    sn.height == 100, "WEBP lossless: 200x100");
	memset(b + 16, 0, 24);
	memcpy(b + 12, "VP8X", 4);
	b[24] = 0xff; b[25] = 0x03;       /* 1023 + 1 */
	b[27] = 0x1f;                     /* 31 + 1 */
	CHECK(look(b, 40) == SNIFF_IMAGE && sn.width == 1024 &&
	    sn.height == 32, "WEBP extended: 1024x32");
	b[20] = 0x02;
	CHECK(look(b, 40) == SNIFF_REFUSED && strstr(sn.why, "animated"),
	    "WEBP animated: refused");
	memcpy(b + 12, "XXXX", 4);
	CHECK(look(b, 40) == SNIFF_REFUSED, "WEBP of an unknown chunk: refused");

	n = gif(b, 1);
	CHECK(look(b, n) == SNIFF_IMAGE && strcmp(sn.mime, "image/gif") == 0 &&
	    sn.width == 5 && sn.height == 7, "GIF of one frame: 5x7");
	n = gif(b, 2);
	CHECK(look(b, n) == SNIFF_REFUSED && strstr(sn.why, "animated"),
	    "animated GIF: refused");
	n = gif(b, 0);
	CHECK(look(b, n) == SNIFF_REFUSED, "GIF without an image: refused");
	n = gif(b, 1);
	CHECK(look(b, n - 5) == SNIFF_REFUSED || sn.kind == SNIFF_IMAGE,
	    "GIF cut short: no read past the end");

	CHECK(look("%PDF-1.7\n...", 12) == SNIFF_PDF &&
	    strcmp(sn.mime, "application/pdf") == 0, "PDF");
	const char *text = "def f():\n\treturn 'héllo' # ✓\n";
	CHECK(look(text, strlen(text)) == SNIFF_TEXT &&
	    strcmp(sn.mime, "text/plain") == 0, "UTF-8 text");
	CHECK(look("a,b\r\n1,2\r\n", 10) == SNIFF_TEXT, "CSV with CRLF");
	CHECK(look("ab\0cd", 5) == SNIFF_REFUSED, "a NUL byte: not text");
	CHECK(look("caf\xe9", 4) == SNIFF_REFUSED, "Latin-1: not UTF-8");
	CHECK(look("\xed\xa0\x80", 3) == SNIFF_REFUSED, "a surrogate: refused");
	static const unsigned char exe[] = { 'M', 'Z', 0x90, 0, 3, 0, 0, 0 };
	CHECK(look(exe, sizeof(exe)) == SNIFF_REFUSED &&
	    strstr(sn.why, "images") != NULL, "a Windows program: refused, "
	    "saying what is taken");
	CHECK(look("", 0) == SNIFF_REFUSED && strstr(sn.why, "empty"),
	    "an empty file: refused");
	UNIT_EXIT();
}
