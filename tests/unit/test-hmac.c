/* test-hmac.c - unit tests of lib/hmac.c (SHA-256, HMAC-SHA256) and
 * lib/b64url.c: the published vectors, then libcrypto's answers for every
 * length across the block boundaries, fed whole and in pieces. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"
#include "hmac.h"
#include "unit.h"

static void
hex(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static void
sha_hex(const void *p, size_t n, char out[2 * LC_SHA256_LEN + 1])
{
	struct lc_sha256 c;
	unsigned char md[LC_SHA256_LEN];

	sha256_init(&c);
	sha256_update(&c, p, n);
	sha256_final(&c, md);
	hex(md, sizeof(md), out);
}

static void
hmac_hex(const void *k, size_t kn, const void *m, size_t n,
    char out[2 * LC_SHA256_LEN + 1])
{
	unsigned char md[LC_SHA256_LEN];

	hmac_sha256(k, kn, m, n, md);
	hex(md, sizeof(md), out);
}

/* FIPS 180-4's examples (the NIST "SHA256.pdf" vectors). */
static void
test_sha_vectors(void)
{
	char got[65], *million;

	sha_hex("abc", 3, got);
	CHECK_STR(got, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	    "SHA-256 \"abc\"");
	sha_hex("", 0, got);
	CHECK_STR(got, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "SHA-256 of nothing");
	sha_hex(NULL, 0, got);
	CHECK_STR(got, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "SHA-256 of NULL, 0 bytes");
	sha_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, got);
	CHECK_STR(got, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
	    "SHA-256 of 448 bits (the padding takes a second block)");
	million = malloc(1000000);
	if (million != NULL) {
		memset(million, 'a', 1000000);
		sha_hex(million, 1000000, got);
		CHECK_STR(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
		    "SHA-256 of a million 'a'");
		free(million);
	}
}

/* RFC 4231's test cases 1-4, 6 and 7 (case 5 truncates the MAC). */
static void
test_hmac_vectors(void)
{
	unsigned char k[131], d[50];
	char got[65];

	memset(k, 0x0b, 20);
	hmac_hex(k, 20, "Hi There", 8, got);
	CHECK_STR(got, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
	    "RFC 4231 case 1");
	hmac_hex("Jefe", 4, "what do ya want for nothing?", 28, got);
	CHECK_STR(got, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
	    "RFC 4231 case 2 (a key shorter than the MAC)");
	memset(k, 0xaa, 20);
	memset(d, 0xdd, 50);
	hmac_hex(k, 20, d, 50, got);
	CHECK_STR(got, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
	    "RFC 4231 case 3");
	for (int i = 0; i < 25; i++)
		k[i] = (unsigned char)(i + 1);
	memset(d, 0xcd, 50);
	hmac_hex(k, 25, d, 50, got);
	CHECK_STR(got, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
	    "RFC 4231 case 4");
	memset(k, 0xaa, 131);
	hmac_hex(k, 131, "Test Using Larger Than Block-Size Key - Hash Key First",
	    54, got);
	CHECK_STR(got, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
	    "RFC 4231 case 6 (a key longer than a block is hashed first)");
	const char *m7 = "This is a test using a larger than block-size key and a "
	    "larger than block-size data. The key needs to be hashed before "
	    "being used by the HMAC algorithm.";
	hmac_hex(k, 131, m7, strlen(m7), got);
	CHECK_STR(got, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
	    "RFC 4231 case 7");
}

/* Every length 0..300 (and some keys of 0..140 bytes) against libcrypto,
 * the digest fed whole and in pieces of 1..67 bytes. */
static void
test_against_libcrypto(void)
{
	unsigned char buf[300], key[140], mine[LC_SHA256_LEN], theirs[64];
	unsigned int tlen;
	int sha_bad = 0, split_bad = 0, hmac_bad = 0;

	srand(18);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)rand();
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)rand();
	for (size_t n = 0; n <= sizeof(buf); n++) {
		struct lc_sha256 c;
		if (EVP_Digest(buf, n, theirs, &tlen, EVP_sha256(), NULL) != 1)
			sha_bad++;
		sha256_init(&c);
		sha256_update(&c, buf, n);
		sha256_final(&c, mine);
		if (memcmp(mine, theirs, sizeof(mine)) != 0)
			sha_bad++;
		size_t step = 1 + n % 67;
		sha256_init(&c);
		for (size_t o = 0; o < n; o += step)
			sha256_update(&c, buf + o, n - o < step ? n - o : step);
		sha256_final(&c, mine);
		if (memcmp(mine, theirs, sizeof(mine)) != 0)
			split_bad++;
		size_t kn = n % sizeof(key);
		hmac_sha256(key, kn, buf, n, mine);
		if (HMAC(EVP_sha256(), key, (int)kn, buf, n, theirs, &tlen) == NULL ||
		    tlen != LC_SHA256_LEN || memcmp(mine, theirs, tlen) != 0)
			hmac_bad++;
	}
	printf("# against libcrypto: %d / %d / %d differ\n", sha_bad, split_bad,
	    hmac_bad);
	CHECK(sha_bad == 0, "SHA-256 of 0..300 bytes: libcrypto's digest");
	CHECK(split_bad == 0, "SHA-256 fed in pieces: the same digest");
	CHECK(hmac_bad == 0, "HMAC-SHA256 with keys of 0..139 bytes: libcrypto's");
}

static void
test_equal(void)
{
	CHECK(hmac_equal("abcd", "abcd", 4), "equal: same bytes");
	CHECK(!hmac_equal("abcd", "abce", 4), "equal: last byte differs");
	CHECK(!hmac_equal("xbcd", "abcd", 4), "equal: first byte differs");
	CHECK(hmac_equal("a", "b", 0), "equal: nothing to compare");
}

static void
test_b64url(void)
{
	/* RFC 4648's vectors, in the URL alphabet without padding. */
	static const struct { const char *in, *out; } v[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" },
		{ "foobar", "Zm9vYmFy" }, { "\xfb\xff\xbf", "-_-_" },
	};
	char out[32], name[64];
	unsigned char back[32];
	long n;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t len = strlen(v[i].in);
		snprintf(name, sizeof(name), "b64url encode #%zu", i);
		n = b64url_encode(v[i].in, len, out, sizeof(out));
		CHECK(n == (long)B64URL_LEN(len) && strcmp(out, v[i].out) == 0, name);
		snprintf(name, sizeof(name), "b64url decode #%zu", i);
		n = b64url_decode(v[i].out, strlen(v[i].out), back, sizeof(back));
		CHECK(n == (long)len && memcmp(back, v[i].in, len) == 0, name);
	}
	CHECK(b64url_encode("foobar", 6, out, 8) == -1 && out[0] == '\0',
	    "encode: no room for the NUL -> -1");
	CHECK(b64url_encode("foobar", 6, out, 9) == 8, "encode: exactly room");
	CHECK(b64url_decode("Zm9v", 4, back, 2) == -1, "decode: over cap -> -1");
	CHECK(b64url_decode("Zm9vY", 5, back, sizeof(back)) == -1,
	    "decode: length 1 mod 4 -> -1");
	CHECK(b64url_decode("Zh", 2, back, sizeof(back)) == -1,
	    "decode: leftover bits not zero (a second spelling) -> -1");
	CHECK(b64url_decode("Zg==", 4, back, sizeof(back)) == -1,
	    "decode: padding -> -1");
	CHECK(b64url_decode("Zm+v", 4, back, sizeof(back)) == -1 &&
	    b64url_decode("Zm/v", 4, back, sizeof(back)) == -1,
	    "decode: the standard alphabet's + and / -> -1");
	CHECK(b64url_decode("Zm\0v", 4, back, sizeof(back)) == -1,
	    "decode: a NUL inside -> -1");
	CHECK(b64url_value('A') == 0 && b64url_value('-') == 62 &&
	    b64url_value('_') == 63 && b64url_value('.') == -1 &&
	    b64url_value('=') == -1, "b64url_value");
}

int
main(void)
{
	test_sha_vectors();
	test_hmac_vectors();
	test_against_libcrypto();
	test_equal();
	test_b64url();
	UNIT_EXIT();
}
