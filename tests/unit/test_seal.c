/*
 * Unit tests for daemon/seal.c, message bodies sealed at rest with
 * AES-256-GCM.
 *
 * - Round trips of several sizes, the empty body included, and the
 *   sealed layout (nonce || ciphertext || tag; the AAD of format 2: the
 *   message id, subject and kind) checked by decrypting with EVP directly.
 * - Every bit of a sealed body matters; a body moved to another message,
 *   opened with another subject or kind, or truncated fails
 *   authentication; an unknown key id is refused.
 * - Format 1 (bodies sealed before 010, the message id alone as AAD,
 *   recorded under the bare key id) still opens; a body of either format
 *   does not open as the other.
 * - Key rotation: the first key seals, all open.
 * - Key files written at test time in NWD_TEST_TMP or a temporary
 *   directory: raw and hex forms agree, wrong sizes and contents are
 *   refused naming the file and what was found, and so is a file that
 *   group or others can access.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "seal.h"

#define MSG_A	"0f8fad5b-d9cb-469f-a165-70867728950e"
#define MSG_B	"7c9e6679-7425-40de-944b-e07fc1f90ae7"
#define SUBJ_A	"YP-0042"

/* What bodies are bound to: message A and B, about YP-0042, kind 3. */
static const struct seal_aad	aad_a = { MSG_A, SUBJ_A, 3 };
static const struct seal_aad	aad_b = { MSG_B, SUBJ_A, 3 };

/* ------------------------------------------------------------------------
 * Helpers
 */

static char	tmpdir[PATH_MAX];

static void
path_in_tmp(char *out, size_t len, const char *name)
{
	int	n;

	n = snprintf(out, len, "%s/%s", tmpdir, name);
	assert_true(n > 0 && (size_t)n < len);
}

static void
write_file(const char *name, const void *buf, size_t len, mode_t mode,
    char *path, size_t pathlen)
{
	int	fd;

	path_in_tmp(path, pathlen, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void
hexify(const uint8_t *buf, size_t len, char *out, int upper)
{
	const char	*hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	size_t		 i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[buf[i] >> 4];
		out[2 * i + 1] = hex[buf[i] & 0xf];
	}
	out[2 * len] = '\0';
}

/* A fresh random key in a raw key file; its ids computed here. */
struct key {
	uint8_t	bytes[SEAL_KEY_LEN];
	char	path[PATH_MAX];
	char	id[SEAL_KEY_ID_LEN];		/* format 1, the key's id */
	char	row[SEAL_ROW_KEY_ID_LEN];	/* format 2: id "/2" */
};

static void
key_id_of(const uint8_t key[SEAL_KEY_LEN], char id[SEAL_KEY_ID_LEN])
{
	uint8_t		md[32];
	unsigned int	mdlen = 0;

	assert_int_equal(EVP_Digest(key, SEAL_KEY_LEN, md, &mdlen,
	    EVP_sha256(), NULL), 1);
	hexify(md, 8, id, 0);
}

static void
make_key(const char *name, struct key *k)
{
	assert_int_equal(RAND_bytes(k->bytes, SEAL_KEY_LEN), 1);
	write_file(name, k->bytes, SEAL_KEY_LEN, 0600, k->path,
	    sizeof(k->path));
	key_id_of(k->bytes, k->id);
	snprintf(k->row, sizeof(k->row), "%s/2", k->id);
}

static struct sealer *
load_ok(const char *const *paths, size_t n)
{
	struct sealer	*s;
	char		 err[512] = "";

	s = sealer_load(paths, n, err, sizeof(err));
	if (s == NULL)
		fail_msg("sealer refused %s: %s", paths[0], err);
	return s;
}

static struct sealer *
load1(const char *path)
{
	return load_ok(&path, 1);
}

/* Loading paths must fail, naming bad and containing each of whys. */
static void
load_refused(const char *const *paths, size_t n, const char *bad,
    const char *why1, const char *why2)
{
	struct sealer	*s;
	char		 err[512] = "";

	s = sealer_load(paths, n, err, sizeof(err));
	if (s != NULL) {
		sealer_free(s);
		fail_msg("%s loaded; expected refusal (%s)", bad, why1);
	}
	if (strstr(err, bad) == NULL || strstr(err, why1) == NULL ||
	    (why2 != NULL && strstr(err, why2) == NULL))
		fail_msg("error for %s is \"%s\"; expected the file, \"%s\""
		    "%s%s%s", bad, err, why1, why2 ? " and \"" : "",
		    why2 ? why2 : "", why2 ? "\"" : "");
}

static void
refused1(const char *path, const char *why1, const char *why2)
{
	load_refused(&path, 1, path, why1, why2);
}

static uint8_t *
seal_ok(const struct sealer *s, const struct seal_aad *aad, const void *body,
    size_t len, size_t *outlen)
{
	uint8_t	*out;

	out = seal_body(s, aad, body, len, outlen);
	assert_non_null(out);
	assert_int_equal(*outlen, len + SEAL_OVERHEAD);
	return out;
}

static void
open_ok(const struct sealer *s, const char *key_id,
    const struct seal_aad *aad, const uint8_t *sealed, size_t len,
    const void *want, size_t wantlen)
{
	uint8_t	*out;
	size_t	 outlen = 12345;
	char	 err[512] = "";

	out = open_body(s, key_id, aad, sealed, len, &outlen, err,
	    sizeof(err));
	if (out == NULL)
		fail_msg("open_body failed: %s", err);
	assert_int_equal(outlen, wantlen);
	if (wantlen > 0)
		assert_memory_equal(out, want, wantlen);
	free(out);
}

/* Opening must fail with an error containing why. */
static void
open_fails(const struct sealer *s, const char *key_id,
    const struct seal_aad *aad, const uint8_t *sealed, size_t len,
    const char *why, const char *ctx)
{
	uint8_t	*out;
	size_t	 outlen = 0;
	char	 err[512] = "";

	out = open_body(s, key_id, aad, sealed, len, &outlen, err,
	    sizeof(err));
	if (out != NULL) {
		free(out);
		fail_msg("%s: opened; expected \"%s\"", ctx, why);
	}
	if (strstr(err, why) == NULL)
		fail_msg("%s: error \"%s\"; expected \"%s\"", ctx, err, why);
}

static int
group_setup(void **state)
{
	const char	*base;

	if ((base = getenv("NWD_TEST_TMP")) == NULL || *base == '\0')
		base = getenv("TMPDIR");
	if (base == NULL || *base == '\0')
		base = "/tmp";
	if ((size_t)snprintf(tmpdir, sizeof(tmpdir), "%s/test_seal.XXXXXX",
	    base) >= sizeof(tmpdir) || mkdtemp(tmpdir) == NULL) {
		fprintf(stderr, "cannot make a directory in %s: %s\n", base,
		    strerror(errno));
		tmpdir[0] = '\0';
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	char	cmd[PATH_MAX + 16];

	if (tmpdir[0] == '\0')
		return 0;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------------
 * Sealing and opening
 */

static void
test_round_trip(void **state)
{
	static const size_t	 sizes[] = { 1, 15, 16, 17, 255, 4096, 65537 };
	struct key		 k;
	struct sealer		*s;
	uint8_t			*body, *sealed;
	size_t			 i, len;

	make_key("rt.key", &k);
	s = load1(k.path);
	assert_string_equal(sealer_key_id(s), k.id);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_non_null(body = malloc(sizes[i]));
		assert_int_equal(RAND_bytes(body, (int)sizes[i]), 1);
		sealed = seal_ok(s, &aad_a, body, sizes[i], &len);
		/* Not the plaintext in the clear. */
		if (sizes[i] >= 16)
			assert_memory_not_equal(sealed + SEAL_NONCE_LEN, body,
			    sizes[i]);
		open_ok(s, k.row, &aad_a, sealed, len, body, sizes[i]);
		free(sealed);
		free(body);
	}
	sealer_free(s);
	sealer_free(NULL);
}

/* seal.h's additional data of format 2 for aad, written out here. */
static size_t
aad_v2(const struct seal_aad *aad, uint8_t *out, size_t cap)
{
	const char	*parts[3];
	char		 kind[16];
	size_t		 n = 0, i, len;

	snprintf(kind, sizeof(kind), "%d", aad->kind);
	parts[0] = aad->message_id;
	parts[1] = aad->subject;
	parts[2] = kind;
	memcpy(out, "nwd-seal-v2\n", 12);
	n = 12;
	for (i = 0; i < 3; i++) {
		len = strlen(parts[i]);
		assert_true(n + 4 + len <= cap);
		out[n++] = (uint8_t)(len >> 24);
		out[n++] = (uint8_t)(len >> 16);
		out[n++] = (uint8_t)(len >> 8);
		out[n++] = (uint8_t)len;
		memcpy(out + n, parts[i], len);
		n += len;
	}
	return n;
}

/*
 * Seals body with EVP alone, as seal.h lays it out, with additional data
 * ad (format 1: the message id; format 2: aad_v2()).  Caller frees.
 */
static uint8_t *
evp_seal(const uint8_t key[SEAL_KEY_LEN], const uint8_t *ad, size_t adlen,
    const char *body, size_t len, size_t *outlen)
{
	EVP_CIPHER_CTX	*ctx;
	uint8_t		*out;
	int		 n;

	assert_non_null(out = malloc(len + SEAL_OVERHEAD));
	assert_int_equal(RAND_bytes(out, SEAL_NONCE_LEN), 1);
	assert_non_null(ctx = EVP_CIPHER_CTX_new());
	assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL,
	    NULL, NULL), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
	    SEAL_NONCE_LEN, NULL), 1);
	assert_int_equal(EVP_EncryptInit_ex(ctx, NULL, NULL, key, out), 1);
	assert_int_equal(EVP_EncryptUpdate(ctx, NULL, &n, ad, (int)adlen), 1);
	assert_int_equal(EVP_EncryptUpdate(ctx, out + SEAL_NONCE_LEN, &n,
	    (const uint8_t *)body, (int)len), 1);
	assert_int_equal(EVP_EncryptFinal_ex(ctx, out + SEAL_NONCE_LEN + len,
	    &n), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
	    SEAL_TAG_LEN, out + SEAL_NONCE_LEN + len), 1);
	EVP_CIPHER_CTX_free(ctx);
	*outlen = len + SEAL_OVERHEAD;
	return out;
}

/* The layout of seal.h (format 2), opened by EVP alone. */
static void
test_layout(void **state)
{
	static const char	 body[] = "Referral: YP-0042, allergy: none";
	struct key		 k;
	struct sealer		*s;
	EVP_CIPHER_CTX		*ctx;
	uint8_t			*sealed, pt[sizeof(body)], tag[SEAL_TAG_LEN];
	uint8_t			 ad[256];
	size_t			 len, adlen, ctlen = sizeof(body) - 1;
	int			 n;

	make_key("layout.key", &k);
	s = load1(k.path);
	assert_string_equal(sealer_row_key_id(s), k.row);
	sealed = seal_ok(s, &aad_a, body, ctlen, &len);
	adlen = aad_v2(&aad_a, ad, sizeof(ad));
	assert_int_equal(adlen, 12 + 4 + 36 + 4 + 7 + 4 + 1);

	assert_non_null(ctx = EVP_CIPHER_CTX_new());
	assert_int_equal(EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL,
	    NULL, NULL), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
	    SEAL_NONCE_LEN, NULL), 1);
	assert_int_equal(EVP_DecryptInit_ex(ctx, NULL, NULL, k.bytes, sealed),
	    1);
	assert_int_equal(EVP_DecryptUpdate(ctx, NULL, &n, ad, (int)adlen), 1);
	assert_int_equal(EVP_DecryptUpdate(ctx, pt, &n,
	    sealed + SEAL_NONCE_LEN, (int)ctlen), 1);
	assert_int_equal(n, ctlen);
	memcpy(tag, sealed + SEAL_NONCE_LEN + ctlen, SEAL_TAG_LEN);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
	    SEAL_TAG_LEN, tag), 1);
	assert_int_equal(EVP_DecryptFinal_ex(ctx, pt + n, &n), 1);
	assert_memory_equal(pt, body, ctlen);
	EVP_CIPHER_CTX_free(ctx);
	free(sealed);

	/* And a body sealed by EVP alone the same way opens. */
	sealed = evp_seal(k.bytes, ad, adlen, body, ctlen, &len);
	open_ok(s, k.row, &aad_a, sealed, len, body, ctlen);
	free(sealed);
	sealer_free(s);
}

/*
 * Format 1, the bodies sealed before 010 (the message id alone as AAD,
 * recorded under the bare key id), still opens, and stays bound to its
 * message id; neither format opens as the other.
 */
static void
test_format1(void **state)
{
	static const char	 body[] = "sealed before 010";
	struct seal_aad		 other = aad_a;
	struct key		 k;
	struct sealer		*s;
	uint8_t			*old, *cur;
	size_t			 lold, lcur, ctlen = sizeof(body) - 1;

	make_key("format1.key", &k);
	s = load1(k.path);
	old = evp_seal(k.bytes, (const uint8_t *)MSG_A, strlen(MSG_A), body,
	    ctlen, &lold);
	open_ok(s, k.id, &aad_a, old, lold, body, ctlen);
	/* Format 1 binds the id only: another subject or kind opens. */
	other.subject = "YP-0999";
	other.kind = 7;
	open_ok(s, k.id, &other, old, lold, body, ctlen);
	open_fails(s, k.id, &aad_b, old, lold, "authentication",
	    "format 1, moved");
	open_fails(s, k.row, &aad_a, old, lold, "authentication",
	    "format 1 body under a format 2 key id");

	cur = seal_ok(s, &aad_a, body, ctlen, &lcur);
	open_fails(s, k.id, &aad_a, cur, lcur, "authentication",
	    "format 2 body under a format 1 key id");
	open_ok(s, k.row, &aad_a, cur, lcur, body, ctlen);
	free(old);
	free(cur);
	sealer_free(s);
}

static const char *
region(size_t i, size_t len)
{
	if (i < SEAL_NONCE_LEN)
		return "nonce";
	if (i >= len - SEAL_TAG_LEN)
		return "tag";
	return "ciphertext";
}

static void
test_flipped_bits(void **state)
{
	static const char	 body[] = "Child protection plan, section 3";
	struct key		 k;
	struct sealer		*s;
	uint8_t			*sealed, *bad;
	size_t			 len, i;
	char			 ctx[64];
	int			 bit;

	make_key("flip.key", &k);
	s = load1(k.path);
	sealed = seal_ok(s, &aad_a, body, sizeof(body) - 1, &len);
	assert_non_null(bad = malloc(len));
	for (i = 0; i < len; i++)
		for (bit = 0; bit < 8; bit++) {
			memcpy(bad, sealed, len);
			bad[i] ^= (uint8_t)(1 << bit);
			snprintf(ctx, sizeof(ctx), "bit %d of byte %zu (%s)",
			    bit, i, region(i, len));
			open_fails(s, k.row, &aad_a, bad, len, "authentication",
			    ctx);
		}
	/* The untouched body still opens. */
	open_ok(s, k.row, &aad_a, sealed, len, body, sizeof(body) - 1);
	free(bad);
	free(sealed);
	sealer_free(s);
}

static void
test_truncated(void **state)
{
	static const char	 body[] = "a body";
	struct key		 k;
	struct sealer		*s;
	uint8_t			*sealed, *longer;
	size_t			 len, i;
	char			 ctx[64];

	make_key("trunc.key", &k);
	s = load1(k.path);
	sealed = seal_ok(s, &aad_a, body, sizeof(body) - 1, &len);
	for (i = 0; i < len; i++) {
		snprintf(ctx, sizeof(ctx), "first %zu of %zu bytes", i, len);
		open_fails(s, k.row, &aad_a, sealed, i, "authentication", ctx);
	}
	/* A byte appended. */
	assert_non_null(longer = malloc(len + 1));
	memcpy(longer, sealed, len);
	longer[len] = 0;
	open_fails(s, k.row, &aad_a, longer, len + 1, "authentication",
	    "a byte appended");
	free(longer);
	free(sealed);
	sealer_free(s);
}

static void
test_moved_to_other_message(void **state)
{
	static const char	 body[] = "for message A only";
	struct seal_aad		 x;
	struct key		 k;
	struct sealer		*s;
	uint8_t			*sealed;
	size_t			 len;

	make_key("moved.key", &k);
	s = load1(k.path);
	sealed = seal_ok(s, &aad_a, body, sizeof(body) - 1, &len);
	open_ok(s, k.row, &aad_a, sealed, len, body, sizeof(body) - 1);
	open_fails(s, k.row, &aad_b, sealed, len, "authentication",
	    "opened as B");
	x = aad_a;
	x.message_id = "";
	open_fails(s, k.row, &x, sealed, len, "authentication",
	    "opened with an empty message id");
	x.message_id = MSG_A "0";
	open_fails(s, k.row, &x, sealed, len, "authentication",
	    "opened with a longer message id");
	/* The id as the database prints it: its case does not matter. */
	x.message_id = "0F8FAD5B-D9CB-469F-A165-70867728950E";
	open_ok(s, k.row, &x, sealed, len, body, sizeof(body) - 1);
	free(sealed);
	sealer_free(s);
}

/* The row's subject or kind changed: the body no longer opens. */
static void
test_bound_to_subject_and_kind(void **state)
{
	static const char	 body[] = "about YP-0042 only";
	struct seal_aad		 x;
	struct key		 k;
	struct sealer		*s;
	uint8_t			*sealed;
	size_t			 len;

	make_key("bound.key", &k);
	s = load1(k.path);
	sealed = seal_ok(s, &aad_a, body, sizeof(body) - 1, &len);
	x = aad_a;
	x.subject = "YP-999";
	open_fails(s, k.row, &x, sealed, len, "subject or kind",
	    "another subject");
	x.subject = "YP-00420";
	open_fails(s, k.row, &x, sealed, len, "authentication",
	    "a longer subject");
	x.subject = "";
	open_fails(s, k.row, &x, sealed, len, "authentication",
	    "an empty subject");
	x.subject = NULL;
	open_fails(s, k.row, &x, sealed, len, "no subject", "no subject");
	x = aad_a;
	x.kind = 4;
	open_fails(s, k.row, &x, sealed, len, "authentication",
	    "another kind");
	x.kind = 0;
	open_fails(s, k.row, &x, sealed, len, "authentication", "kind 0");
	/* The id, subject and kind are length-prefixed: no sliding. */
	x.message_id = MSG_A "Y";
	x.subject = "P-0042";
	x.kind = 3;
	open_fails(s, k.row, &x, sealed, len, "authentication",
	    "a byte moved from subject to id");
	open_ok(s, k.row, &aad_a, sealed, len, body, sizeof(body) - 1);
	free(sealed);
	sealer_free(s);
}

static void
test_unknown_key(void **state)
{
	struct key	 k;
	struct sealer	*s;
	uint8_t		*sealed;
	size_t		 len;

	make_key("unknown.key", &k);
	s = load1(k.path);
	sealed = seal_ok(s, &aad_a, "x", 1, &len);
	open_fails(s, "0123456789abcdef", &aad_a, sealed, len, "unknown key",
	    "another key id");
	open_fails(s, "0123456789abcdef", &aad_a, sealed, len,
	    "0123456789abcdef", "another key id named");
	open_fails(s, "", &aad_a, sealed, len, "unknown key", "empty key id");
	open_fails(s, NULL, &aad_a, sealed, len, "unknown key", "no key id");
	free(sealed);
	sealer_free(s);
}

/* The first key seals; bodies sealed with older keys still open. */
static void
test_rotation(void **state)
{
	static const char	 body_old[] = "sealed last year";
	static const char	 body_new[] = "sealed today";
	struct key		 kold, knew;
	struct sealer		*sold, *srot;
	const char		*paths[2];
	uint8_t			*sealed_old, *sealed_new;
	size_t			 lold, lnew;

	make_key("old.key", &kold);
	make_key("new.key", &knew);
	assert_string_not_equal(kold.id, knew.id);

	sold = load1(kold.path);
	sealed_old = seal_ok(sold, &aad_a, body_old, sizeof(body_old) - 1,
	    &lold);

	paths[0] = knew.path;
	paths[1] = kold.path;
	srot = load_ok(paths, 2);
	assert_string_equal(sealer_key_id(srot), knew.id);
	open_ok(srot, kold.row, &aad_a, sealed_old, lold, body_old,
	    sizeof(body_old) - 1);

	sealed_new = seal_ok(srot, &aad_b, body_new, sizeof(body_new) - 1,
	    &lnew);
	open_ok(srot, knew.row, &aad_b, sealed_new, lnew, body_new,
	    sizeof(body_new) - 1);
	/* Sealed with the new key indeed: the old one cannot open it. */
	open_fails(srot, kold.row, &aad_b, sealed_new, lnew, "authentication",
	    "new body under the old key id");
	open_fails(sold, knew.row, &aad_b, sealed_new, lnew, "unknown key",
	    "new body, old sealer");

	free(sealed_old);
	free(sealed_new);
	sealer_free(sold);
	sealer_free(srot);
}

static void
test_nonce_random(void **state)
{
	enum { N = 64 };
	static const char	 body[] = "the same body every time";
	struct key		 k;
	struct sealer		*s;
	uint8_t			*sealed[N];
	size_t			 len, i, j;

	make_key("nonce.key", &k);
	s = load1(k.path);
	for (i = 0; i < N; i++)
		sealed[i] = seal_ok(s, &aad_a, body, sizeof(body) - 1, &len);
	for (i = 0; i < N; i++)
		for (j = i + 1; j < N; j++) {
			assert_memory_not_equal(sealed[i], sealed[j],
			    SEAL_NONCE_LEN);
			assert_memory_not_equal(sealed[i] + SEAL_NONCE_LEN,
			    sealed[j] + SEAL_NONCE_LEN, len - SEAL_NONCE_LEN);
		}
	for (i = 0; i < N; i++) {
		open_ok(s, k.row, &aad_a, sealed[i], len, body,
		    sizeof(body) - 1);
		free(sealed[i]);
	}
	sealer_free(s);
}

static void
test_empty_body(void **state)
{
	struct key	 k;
	struct sealer	*s;
	uint8_t		*a, *b;
	size_t		 la, lb;

	make_key("empty.key", &k);
	s = load1(k.path);
	a = seal_ok(s, &aad_a, NULL, 0, &la);
	b = seal_ok(s, &aad_a, "", 0, &lb);
	assert_int_equal(la, SEAL_OVERHEAD);
	open_ok(s, k.row, &aad_a, a, la, "", 0);
	open_ok(s, k.row, &aad_a, b, lb, "", 0);
	/* Even an empty body is bound to its message and its tag. */
	open_fails(s, k.row, &aad_b, a, la, "authentication", "empty, moved");
	a[la - 1] ^= 0x80;
	open_fails(s, k.row, &aad_a, a, la, "authentication", "empty, tag");
	free(a);
	free(b);
	sealer_free(s);
}

static void
test_bad_args(void **state)
{
	struct seal_aad	 x;
	struct key	 k;
	struct sealer	*s;
	uint8_t		*sealed;
	size_t		 len;
	char		 err[512];

	make_key("args.key", &k);
	s = load1(k.path);
	assert_null(seal_body(NULL, &aad_a, (const uint8_t *)"x", 1, &len));
	assert_null(seal_body(s, NULL, (const uint8_t *)"x", 1, &len));
	x = aad_a;
	x.message_id = NULL;
	assert_null(seal_body(s, &x, (const uint8_t *)"x", 1, &len));
	x = aad_a;
	x.subject = NULL;
	assert_null(seal_body(s, &x, (const uint8_t *)"x", 1, &len));
	assert_null(seal_body(s, &aad_a, NULL, 1, &len));
	sealed = seal_ok(s, &aad_a, "x", 1, &len);
	assert_null(open_body(s, k.row, &aad_a, NULL, len, &len, err,
	    sizeof(err)));
	assert_null(open_body(s, k.row, NULL, sealed, len, &len, err,
	    sizeof(err)));
	x = aad_a;
	x.message_id = NULL;
	assert_null(open_body(s, k.row, &x, sealed, len, &len, err,
	    sizeof(err)));
	/* No error buffer at all is tolerated. */
	assert_null(open_body(s, "nope", &aad_a, sealed, len, &len, NULL, 0));
	assert_null(open_body(s, "/2", &aad_a, sealed, len, &len, NULL, 0));
	free(sealed);
	sealer_free(s);
}

/* ------------------------------------------------------------------------
 * Key files
 */

static void
test_hex_and_raw_files(void **state)
{
	struct key	 k;
	struct sealer	*raw, *s;
	uint8_t		*sealed;
	size_t		 len;
	char		 hex[2 * SEAL_KEY_LEN + 2], path[PATH_MAX];
	struct {
		const char	*name;
		int		 upper;
		int		 newline;
	} forms[] = {
		{ "lower.hex", 0, 0 },
		{ "lower-nl.hex", 0, 1 },
		{ "upper.hex", 1, 0 },
		{ "upper-nl.hex", 1, 1 },
	};
	size_t		 i;

	make_key("hexraw.key", &k);
	raw = load1(k.path);
	assert_string_equal(sealer_key_id(raw), k.id);
	sealed = seal_ok(raw, &aad_a, "hello", 5, &len);
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		hexify(k.bytes, SEAL_KEY_LEN, hex, forms[i].upper);
		if (forms[i].newline)
			strcat(hex, "\n");
		write_file(forms[i].name, hex, strlen(hex), 0600, path,
		    sizeof(path));
		s = load1(path);
		assert_string_equal(sealer_key_id(s), k.id);
		open_ok(s, k.row, &aad_a, sealed, len, "hello", 5);
		sealer_free(s);
	}
	free(sealed);
	sealer_free(raw);
}

static void
test_bad_sizes(void **state)
{
	static const size_t	 sizes[] = { 0, 1, 16, 31, 33, 48, 63, 66, 67,
	    128, 4096 };
	uint8_t			 buf[4096];
	char			 path[PATH_MAX], found[64];
	size_t			 i;

	memset(buf, '7', sizeof(buf));
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		write_file("size.key", buf, sizes[i], 0600, path,
		    sizeof(path));
		snprintf(found, sizeof(found), "found %zu bytes", sizes[i]);
		refused1(path, "expected 32 raw bytes or 64 hex digits", found);
	}
}

static void
test_bad_contents(void **state)
{
	char	hex[80], path[PATH_MAX];
	uint8_t	zero[SEAL_KEY_LEN] = { 0 };

	/* 64 bytes, one not a hex digit. */
	memset(hex, 'a', 64);
	hex[10] = 'g';
	write_file("nothex.key", hex, 64, 0600, path, sizeof(path));
	refused1(path, "found 64 bytes", "byte 11 is not a hex digit");

	/* 63 hex digits and a newline. */
	memset(hex, 'a', 63);
	hex[63] = '\n';
	write_file("short.key", hex, 64, 0600, path, sizeof(path));
	refused1(path, "found 64 bytes", "byte 64 is not a hex digit");

	/* 64 hex digits and something other than a newline. */
	memset(hex, 'a', 64);
	hex[64] = ' ';
	write_file("trail.key", hex, 65, 0600, path, sizeof(path));
	refused1(path, "found 65 bytes", "not ending in a newline");
	hex[64] = '\r';
	write_file("cr.key", hex, 65, 0600, path, sizeof(path));
	refused1(path, "found 65 bytes", "not ending in a newline");

	/* 64 hex digits and CRLF. */
	hex[64] = '\r';
	hex[65] = '\n';
	write_file("crlf.key", hex, 66, 0600, path, sizeof(path));
	refused1(path, "found 66 bytes", NULL);

	/* Whitespace in front. */
	hex[0] = ' ';
	write_file("space.key", hex, 65, 0600, path, sizeof(path));
	refused1(path, "found 65 bytes", NULL);

	/* A key that is not random at all. */
	write_file("zero.key", zero, sizeof(zero), 0600, path, sizeof(path));
	refused1(path, "all zeros", NULL);
	memset(hex, '0', 64);
	write_file("zero.hex", hex, 64, 0600, path, sizeof(path));
	refused1(path, "all zeros", NULL);
}

static void
test_key_file_mode(void **state)
{
	static const mode_t	 refused[] = { 0644, 0640, 0604, 0660, 0610,
	    0601, 0620, 0602, 0666 };
	static const mode_t	 allowed[] = { 0600, 0400 };
	struct key		 k;
	size_t			 i;

	make_key("mode.key", &k);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_equal(chmod(k.path, refused[i]), 0);
		refused1(k.path, "group or others", NULL);
	}
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		assert_int_equal(chmod(k.path, allowed[i]), 0);
		sealer_free(load1(k.path));
	}
}

static void
test_key_file_list(void **state)
{
	struct key	 good, open_to_all;
	const char	*paths[3];
	char		 missing[PATH_MAX], err[16];
	struct sealer	*s;

	make_key("good.key", &good);
	make_key("others.key", &open_to_all);
	assert_int_equal(chmod(open_to_all.path, 0644), 0);
	path_in_tmp(missing, sizeof(missing), "missing.key");

	/* A bad file anywhere in the list refuses the list, naming it. */
	paths[0] = good.path;
	paths[1] = open_to_all.path;
	load_refused(paths, 2, open_to_all.path, "group or others", NULL);
	paths[1] = missing;
	load_refused(paths, 2, missing, "No such file", NULL);
	paths[0] = missing;
	paths[1] = good.path;
	load_refused(paths, 2, missing, "No such file", NULL);
	load_refused(paths, 0, "", "no key files", NULL);

	/* A directory is not a key file. */
	paths[0] = tmpdir;
	load_refused(paths, 1, tmpdir, "not a regular file", NULL);

	/* A short error buffer is not overrun. */
	memset(err, 'Z', sizeof(err));
	paths[0] = missing;
	s = sealer_load(paths, 1, err, 8);
	assert_null(s);
	assert_int_equal(err[7], '\0');
	assert_int_equal(err[8], 'Z');
	assert_null(sealer_load(paths, 1, NULL, 0));
	assert_null(sealer_load(NULL, 1, err, sizeof(err)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_format1),
		cmocka_unit_test(test_bound_to_subject_and_kind),
		cmocka_unit_test(test_flipped_bits),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_moved_to_other_message),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_nonce_random),
		cmocka_unit_test(test_empty_body),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_hex_and_raw_files),
		cmocka_unit_test(test_bad_sizes),
		cmocka_unit_test(test_bad_contents),
		cmocka_unit_test(test_key_file_mode),
		cmocka_unit_test(test_key_file_list),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
