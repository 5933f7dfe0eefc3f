/* fuzz_sniff.c - lib/sniff.h: what an upload is, from bytes anyone sends.
 *
 * The input is copied exactly (a read past its end is a finding). Checked:
 * an image has a static mime of the four and a size within SNIFF_SIDE_MAX,
 * text is what utf8_valid_prefix calls valid and holds no NUL, a refusal
 * says why; and the answer depends on the bytes alone (twice the same). */
#include "fuzz.h"

#include "sniff.h"
#include "utf8.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size > 0 ? size : 1);
	struct sniff a, b;

	FUZZ_CHECK(s != NULL);
	if (size > 0)
		memcpy(s, data, size);
	enum sniff_kind k = sniff(s, size, &a);
	FUZZ_CHECK(k == a.kind);
	switch (k) {
	case SNIFF_IMAGE:
		FUZZ_CHECK(a.mime != NULL && (strcmp(a.mime, "image/png") == 0 ||
		    strcmp(a.mime, "image/jpeg") == 0 ||
		    strcmp(a.mime, "image/webp") == 0 ||
		    strcmp(a.mime, "image/gif") == 0));
		FUZZ_CHECK(a.width > 0 && a.width <= SNIFF_SIDE_MAX &&
		    a.height > 0 && a.height <= SNIFF_SIDE_MAX);
		break;
	case SNIFF_TEXT:
		FUZZ_CHECK(size > 0 && memchr(s, '\0', size) == NULL &&
		    utf8_valid_prefix(s, size) == size);
		break;
	case SNIFF_PDF:
		FUZZ_CHECK(size >= 5 && memcmp(s, "%PDF-", 5) == 0);
		break;
	default:
		FUZZ_CHECK(k == SNIFF_REFUSED && a.why != NULL &&
		    a.why[0] != '\0');
	}
	FUZZ_CHECK(sniff(s, size, &b) == k && b.width == a.width &&
	    b.height == a.height && b.mime == a.mime && b.why == a.why);
	free(s);
	return 0;
}
