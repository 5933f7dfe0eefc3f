/* sniff.c - a file's kind from its bytes: the magic numbers of PNG, JPEG,
 * WEBP and GIF (with each header's width and height, and a GIF's frames
 * counted: an animated one is refused), PDF, else UTF-8 text. */
#include "sniff.h"

#include <string.h>

#include "utf8.h"

static unsigned
be16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static unsigned
le16(const unsigned char *p)
{
	return (unsigned)p[1] << 8 | p[0];
}

static unsigned long
be32(const unsigned char *p)
{
	return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 |
	    (unsigned long)p[2] << 8 | p[3];
}

static unsigned long
le24(const unsigned char *p)
{
	return (unsigned long)p[2] << 16 | (unsigned long)p[1] << 8 | p[0];
}

static enum sniff_kind
refuse(struct sniff *out, const char *why)
{
	out->kind = SNIFF_REFUSED;
	out->why = why;
	return SNIFF_REFUSED;
}

static enum sniff_kind
image(struct sniff *out, const char *mime, unsigned long w, unsigned long h)
{
	if (w == 0 || h == 0 || w > SNIFF_SIDE_MAX || h > SNIFF_SIDE_MAX)
		return refuse(out, "the image's header gives no usable size");
	out->kind = SNIFF_IMAGE;
	out->mime = mime;
	out->width = (int)w;
	out->height = (int)h;
	return SNIFF_IMAGE;
}

static enum sniff_kind
png(const unsigned char *p, size_t n, struct sniff *out)
{
	/* signature, then the IHDR chunk: length 13, "IHDR", width, height */
	if (n < 24 || memcmp(p + 12, "IHDR", 4) != 0)
		return refuse(out, "a PNG without its header");
	return image(out, "image/png", be32(p + 16), be32(p + 20));
}

static enum sniff_kind
jpeg(const unsigned char *p, size_t n, struct sniff *out)
{
	size_t i = 2;

	/* Segments up to a start of frame (SOF0..SOF15 but DHT C4, JPG C8,
	 * DAC CC): FF marker, 16-bit length (counting itself), and in a SOF
	 * precision, height, width. */
	while (i + 4 <= n) {
		unsigned m;
		if (p[i] != 0xFF)
			break;
		m = p[i + 1];
		if (m == 0xFF) {       /* fill byte */
			i++;
			continue;
		}
		if (m == 0xD8 || (m >= 0xD0 && m <= 0xD7) || m == 0x01) {
			i += 2;
			continue;
		}
		if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 &&
		    m != 0xCC) {
			if (i + 9 > n)
				break;
			return image(out, "image/jpeg", be16(p + i + 7),
			    be16(p + i + 5));
		}
		if (m == 0xD9 || m == 0xDA)  /* end, or scan data before a frame */
			break;
		i += 2 + be16(p + i + 2);
	}
	return refuse(out, "a JPEG without a frame header");
}

static enum sniff_kind
webp(const unsigned char *p, size_t n, struct sniff *out)
{
	if (n < 30)
		return refuse(out, "a WEBP too short for its header");
	if (memcmp(p + 12, "VP8 ", 4) == 0) {
		/* lossy: frame tag (3), start code 9D 01 2A, 14-bit sizes */
		if (p[23] != 0x9D || p[24] != 0x01 || p[25] != 0x2A)
			return refuse(out, "a WEBP with a broken frame");
		return image(out, "image/webp", le16(p + 26) & 0x3FFF,
		    le16(p + 28) & 0x3FFF);
	}
	if (memcmp(p + 12, "VP8L", 4) == 0) {
		/* lossless: signature 2F, then width-1 and height-1, 14 bits */
		unsigned long b = (unsigned long)p[21] | (unsigned long)p[22] << 8 |
		    (unsigned long)p[23] << 16 | (unsigned long)p[24] << 24;
		if (p[20] != 0x2F)
			return refuse(out, "a WEBP with a broken frame");
		return image(out, "image/webp", (b & 0x3FFF) + 1,
		    (b >> 14 & 0x3FFF) + 1);
	}
	if (memcmp(p + 12, "VP8X", 4) == 0) {
		/* extended: flags (animation 0x02), canvas width-1, height-1 */
		if (p[20] & 0x02)
			return refuse(out, "animated images are not supported");
		return image(out, "image/webp", le24(p + 24) + 1,
		    le24(p + 27) + 1);
	}
	return refuse(out, "a WEBP of an unknown kind");
}

/* Skips GIF data sub-blocks from p[*i]: sizes, then a 0. Returns 0, or -1
 * past the end. */
static int
gif_blocks(const unsigned char *p, size_t n, size_t *i)
{
	while (*i < n) {
		unsigned len = p[*i];
		*i += 1 + len;
		if (len == 0)
			return 0;
	}
	return -1;
}

static enum sniff_kind
gif(const unsigned char *p, size_t n, struct sniff *out)
{
	size_t i = 13;
	int frames = 0;

	if (n < 13)
		return refuse(out, "a GIF too short for its header");
	if (p[10] & 0x80)   /* the global colour table */
		i += 3u * (1u << ((p[10] & 7) + 1));
	while (i < n) {
		if (p[i] == 0x3B)   /* trailer */
			break;
		if (p[i] == 0x21) { /* extension: label, sub-blocks */
			i += 2;
			if (gif_blocks(p, n, &i) < 0)
				break;
		} else if (p[i] == 0x2C) {   /* an image: 9 bytes, table, LZW */
			if (++frames > 1)
				return refuse(out,
				    "animated images are not supported");
			if (i + 10 > n)
				break;
			unsigned flags = p[i + 9];
			i += 10;
			if (flags & 0x80)
				i += 3u * (1u << ((flags & 7) + 1));
			i++;   /* LZW minimum code size */
			if (gif_blocks(p, n, &i) < 0)
				break;
		} else {
			break;
		}
	}
	if (frames == 0)
		return refuse(out, "a GIF without an image");
	return image(out, "image/gif", le16(p + 6), le16(p + 8));
}

enum sniff_kind
sniff(const void *data, size_t len, struct sniff *out)
{
	const unsigned char *p = data;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return refuse(out, "the file is empty");
	if (len >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
		return png(p, len, out);
	if (len >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF)
		return jpeg(p, len, out);
	if (len >= 12 && memcmp(p, "RIFF", 4) == 0 &&
	    memcmp(p + 8, "WEBP", 4) == 0)
		return webp(p, len, out);
	if (len >= 6 && (memcmp(p, "GIF87a", 6) == 0 ||
	    memcmp(p, "GIF89a", 6) == 0))
		return gif(p, len, out);
	if (len >= 5 && memcmp(p, "%PDF-", 5) == 0) {
		out->kind = SNIFF_PDF;
		out->mime = "application/pdf";
		return SNIFF_PDF;
	}
	if (memchr(p, '\0', len) == NULL &&
	    utf8_valid_prefix(data, len) == len) {
		out->kind = SNIFF_TEXT;
		out->mime = "text/plain";
		return SNIFF_TEXT;
	}
	return refuse(out, "only images (PNG, JPEG, WEBP, GIF), PDF and "
	    "UTF-8 text files can be attached");
}
