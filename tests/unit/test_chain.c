/*
 * Unit tests for daemon/chain.c, the audit chain's arithmetic and its
 * checkpoint keys.
 *
 * - Golden vectors: the canonical bytes of chain.h written out by hand,
 *   and hashes computed independently of this code by
 *   tests/data/chain/golden.py, so a change to the encoding cannot go
 *   unnoticed.
 * - Every field matters: changing any one field, or NULL against "", or
 *   moving a byte across a field boundary changes the hash; the optional
 *   fields (route, message_hash) cannot stand in for each other.
 * - The message hash (chain_message_hash()): golden vectors from
 *   golden.py, every field and every allocation field counts.
 * - Anchor lines: the golden text of a checkpoint's line, round trips
 *   (quoted instance names too), lines read out of a log, malformed ones.
 * - Checkpoint keys generated at test time (EVP, and the openssl tool when
 *   it is installed) in NWD_TEST_TMP or a temporary directory: round
 *   trip, tampered text and signatures, a foreign key, key ids, and key
 *   files refused for their mode, type or contents.  RFC 8032's first
 *   test vector pins the signature scheme to plain Ed25519.
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
#include <openssl/pem.h>

#include "chain.h"

#define HEXLEN		(2 * CHAIN_HASH_LEN + 1)

/* ------------------------------------------------------------------------
 * Golden vectors
 */

/*
 * Row A: every field set, one of them empty, one with a two-byte UTF-8
 * character (the length counts bytes).
 */
static const struct chain_row row_a = { {
	[CHAIN_F_INSTANCE] = "nwdd-1",
	[CHAIN_F_SEQ] = "1",
	[CHAIN_F_AT] = "1700000000123",
	[CHAIN_F_ACTOR] = "alice@north",
	[CHAIN_F_ACTION] = "deliver",
	[CHAIN_F_MESSAGE_ID] = "0f8fad5b-d9cb-469f-a165-70867728950e",
	[CHAIN_F_SUBJECT] = "YP-0042",
	[CHAIN_F_KIND] = "3",
	[CHAIN_F_RECIPIENT] = "bob@south",
	[CHAIN_F_FIELDS_SHARED] = "name,dob",
	[CHAIN_F_FIELDS_WITHHELD] = "",
	[CHAIN_F_RULE] = "share-health",
	[CHAIN_F_POLICY_VERSION] = "a1b2c3",
	[CHAIN_F_REASON] = "Zo\xc3\xab's plan",
	[CHAIN_F_PEER] = "10.0.0.7:4433",
	[CHAIN_F_SESSION] = "s-17",
} };

/* canonical(row_a), by hand from chain.h. */
static const char canon_a[] =
	"nwd-audit-v1\n"
	"\x00\x00\x00\x06" "nwdd-1"
	"\x00\x00\x00\x01" "1"
	"\x00\x00\x00\x0d" "1700000000123"
	"\x00\x00\x00\x0b" "alice@north"
	"\x00\x00\x00\x07" "deliver"
	"\x00\x00\x00\x24" "0f8fad5b-d9cb-469f-a165-70867728950e"
	"\x00\x00\x00\x07" "YP-0042"
	"\x00\x00\x00\x01" "3"
	"\x00\x00\x00\x09" "bob@south"
	"\x00\x00\x00\x08" "name,dob"
	"\x00\x00\x00\x00"
	"\x00\x00\x00\x0c" "share-health"
	"\x00\x00\x00\x06" "a1b2c3"
	"\x00\x00\x00\x0b" "Zo" "\xc3\xab" "'s plan"
	"\x00\x00\x00\x0d" "10.0.0.7:4433"
	"\x00\x00\x00\x04" "s-17";

/* SHA-256(32 zero bytes || canon_a), from tests/data/chain/golden.py. */
static const char hash_a[] =
	"6f39ce77f711faa8598e84938a0861ecf7f36ba0deb1643412d3a91d93ab1f43";

/*
 * Row A as a delivery decision with its route (migration 008): the route
 * is a seventeenth field, written only when it is not NULL.
 */
static const char canon_ar_route[] =
	"\x00\x00\x00\x0b" "live,queued";
static const char hash_ar[] =
	"04551f4068054144d699f157c959b99bee65f83d370cf05cf8027e364ca12c95";

/*
 * The message hash of message M (golden.py) with its allocation, without
 * it, and of M0; row A as a publish row carrying it (no route: the route
 * is written NULL before it), and with a route as well.
 */
static const char body_sha256_m[] =
	"5faa4eec3611556812c2d74b437c8c49add3f910f10063d801441f7d75cd5e3b";
static const char msg_hash_m[] =
	"0b8d00c13c8af9b8f80b7ffec1af9a7f56674747b8d97f38bb5179a6ae9c7248";
static const char msg_hash_m_no_alloc[] =
	"43d2e61297c73e656c16f5d3805193ec1e313d20fe2170edb8637b1b2f96bdcf";
static const char msg_hash_m0[] =
	"d131ad2e22cd9d334ad5ad6570b6807561488bf5a0f6a7878766691881daac82";
static const char canon_am_tail[] =
	"\xff\xff\xff\xff"
	"\x00\x00\x00\x40"
	"0b8d00c13c8af9b8f80b7ffec1af9a7f56674747b8d97f38bb5179a6ae9c7248";
static const char hash_am[] =
	"0b4517ecacd1a0ca23bebc45af39b14d859a1ddd6cf3cb6c48487fe3e34e19ca";
static const char hash_arm[] =
	"7b02856f81772f8791e37cad4a7151a955c49bc84dec4d16d79d53535e1e2cd2";

/* Row B: a refusal, with NULL fields and empty lists. */
static const struct chain_row row_b = { {
	[CHAIN_F_INSTANCE] = "nwdd-1",
	[CHAIN_F_SEQ] = "2",
	[CHAIN_F_AT] = "1700000000456",
	[CHAIN_F_ACTOR] = "carol@east",
	[CHAIN_F_ACTION] = "refuse",
	[CHAIN_F_MESSAGE_ID] = NULL,
	[CHAIN_F_SUBJECT] = NULL,
	[CHAIN_F_KIND] = NULL,
	[CHAIN_F_RECIPIENT] = NULL,
	[CHAIN_F_FIELDS_SHARED] = "",
	[CHAIN_F_FIELDS_WITHHELD] = "",
	[CHAIN_F_RULE] = NULL,
	[CHAIN_F_POLICY_VERSION] = "a1b2c3",
	[CHAIN_F_REASON] = "no rule matched",
	[CHAIN_F_PEER] = NULL,
	[CHAIN_F_SESSION] = NULL,
} };

static const char canon_b[] =
	"nwd-audit-v1\n"
	"\x00\x00\x00\x06" "nwdd-1"
	"\x00\x00\x00\x01" "2"
	"\x00\x00\x00\x0d" "1700000000456"
	"\x00\x00\x00\x0a" "carol@east"
	"\x00\x00\x00\x06" "refuse"
	"\xff\xff\xff\xff"
	"\xff\xff\xff\xff"
	"\xff\xff\xff\xff"
	"\xff\xff\xff\xff"
	"\x00\x00\x00\x00"
	"\x00\x00\x00\x00"
	"\xff\xff\xff\xff"
	"\x00\x00\x00\x06" "a1b2c3"
	"\x00\x00\x00\x0f" "no rule matched"
	"\xff\xff\xff\xff"
	"\xff\xff\xff\xff";

/* SHA-256(bytes 0x01..0x20 || canon_b), from golden.py. */
static const char hash_b[] =
	"48b7b132c064b2f56c55ae0d81d0c2916ed029f046a8c963c4420133fe867e62";

/* A chain of three rows: row_a, then these two. */
static const struct chain_row row_2 = { {
	"nwdd-1", "2", "1700000000200", "alice@north", "receive",
	"0f8fad5b-d9cb-469f-a165-70867728950e", "YP-0042", "3", "bob@south",
	"name,dob", "address", "share-health", "a1b2c3", "", "10.0.0.8:4433",
	"s-18",
} };
static const struct chain_row row_3 = { {
	"nwdd-1", "3", "1700000000300", "dave@west", "refuse", NULL,
	"YP-0042", NULL, NULL, "", "", NULL, "a1b2c3", "no rule matched",
	"10.0.0.9:4433", "s-19",
} };
static const char *const chain3_hex[3] = {
	"6f39ce77f711faa8598e84938a0861ecf7f36ba0deb1643412d3a91d93ab1f43",
	"b903f47e1024dccb051cf2b0d3654cd62c5385302cd5b793f6cb9fc1a0d96850",
	"bf74701f7987856f76557be1b74f8dd03ca37706ca44fea51fea26a9a4c20579",
};

/* RFC 8032, section 7.1, TEST 1: the empty message. */
static const uint8_t rfc8032_sk[32] = {
	0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a,
	0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32,
	0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
};
static const uint8_t rfc8032_pk[32] = {
	0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe,
	0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6,
	0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a,
};
static const uint8_t rfc8032_sig[64] = {
	0xe5, 0x56, 0x43, 0x00, 0xc3, 0x60, 0xac, 0x72, 0x90, 0x86, 0xe2,
	0xcc, 0x80, 0x6e, 0x82, 0x8a, 0x84, 0x87, 0x7f, 0x1e, 0xb8, 0xe5,
	0xd9, 0x74, 0xd8, 0x73, 0xe0, 0x65, 0x22, 0x49, 0x01, 0x55, 0x5f,
	0xb8, 0x82, 0x15, 0x90, 0xa3, 0x3b, 0xac, 0xc6, 0x1e, 0x39, 0x70,
	0x1c, 0xf9, 0xb4, 0x6b, 0xd2, 0x5b, 0xf5, 0xf0, 0x59, 0x5b, 0xbe,
	0x24, 0x65, 0x51, 0x41, 0x43, 0x8e, 0x7a, 0x10, 0x0b,
};

/* ------------------------------------------------------------------------
 * Helpers
 */

static char	tmpdir[PATH_MAX];

static void
hexify(const uint8_t *buf, size_t len, char *out)
{
	static const char	hex[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[buf[i] >> 4];
		out[2 * i + 1] = hex[buf[i] & 0xf];
	}
	out[2 * len] = '\0';
}

/* SHA-256(prev || bytes), computed here without chain.c. */
static void
sha256_2(const uint8_t prev[CHAIN_HASH_LEN], const void *bytes, size_t len,
    uint8_t out[CHAIN_HASH_LEN])
{
	uint8_t		*buf;
	unsigned int	 mdlen = 0;

	buf = malloc(CHAIN_HASH_LEN + len);
	assert_non_null(buf);
	memcpy(buf, prev, CHAIN_HASH_LEN);
	memcpy(buf + CHAIN_HASH_LEN, bytes, len);
	assert_int_equal(EVP_Digest(buf, CHAIN_HASH_LEN + len, out, &mdlen,
	    EVP_sha256(), NULL), 1);
	assert_int_equal(mdlen, CHAIN_HASH_LEN);
	free(buf);
}

/* One hasher for every row of every test, as the store keeps one. */
static struct chain_hasher *hasher;

/* chain_hash(), and chain_hash_with() must give the same. */
static void
hash_ok(const uint8_t prev[CHAIN_HASH_LEN], const struct chain_row *row,
    uint8_t out[CHAIN_HASH_LEN])
{
	uint8_t	again[CHAIN_HASH_LEN];

	assert_int_equal(chain_hash(prev, row, out), 0);
	if (hasher == NULL)
		assert_non_null(hasher = chain_hasher_new());
	assert_int_equal(chain_hash_with(hasher, prev, row, again), 0);
	assert_memory_equal(out, again, CHAIN_HASH_LEN);
}

static void
path_in_tmp(char *out, size_t len, const char *name)
{
	int	n;

	n = snprintf(out, len, "%s/%s", tmpdir, name);
	assert_true(n > 0 && (size_t)n < len);
}

/* Writes pkey's private (or public) half as PEM to name; returns its path. */
static void
write_key(const char *name, EVP_PKEY *pkey, int private, mode_t mode,
    char *path, size_t pathlen)
{
	FILE	*fp;
	int	 fd;

	path_in_tmp(path, pathlen, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_non_null(fp = fdopen(fd, "w"));
	if (private)
		assert_int_equal(PEM_write_PrivateKey(fp, pkey, NULL, NULL, 0,
		    NULL, NULL), 1);
	else
		assert_int_equal(PEM_write_PUBKEY(fp, pkey), 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void
write_text(const char *name, const char *text, mode_t mode, char *path,
    size_t pathlen)
{
	FILE	*fp;

	path_in_tmp(path, pathlen, name);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static EVP_PKEY *
gen_ed25519(void)
{
	EVP_PKEY	*pkey;

	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(pkey);
	return pkey;
}

/* A key pair on disk, its private key mode 0600. */
struct pair {
	char	priv[PATH_MAX];
	char	pub[PATH_MAX];
	char	id[17];		/* computed here from the raw public key */
};

static void
make_pair(const char *name, struct pair *p)
{
	EVP_PKEY	*pkey;
	char		 file[64];
	uint8_t		 raw[32], md[32];
	size_t		 rawlen = sizeof(raw);
	unsigned int	 mdlen = 0;

	pkey = gen_ed25519();
	snprintf(file, sizeof(file), "%s.key", name);
	write_key(file, pkey, 1, 0600, p->priv, sizeof(p->priv));
	snprintf(file, sizeof(file), "%s.pub", name);
	write_key(file, pkey, 0, 0644, p->pub, sizeof(p->pub));
	assert_int_equal(EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen), 1);
	assert_int_equal(rawlen, 32);
	assert_int_equal(EVP_Digest(raw, rawlen, md, &mdlen, EVP_sha256(),
	    NULL), 1);
	hexify(md, 8, p->id);
	EVP_PKEY_free(pkey);
}

static struct chain_signer *
signer_ok(const char *path)
{
	struct chain_signer	*s;
	char			 err[512] = "";

	s = chain_signer_load(path, err, sizeof(err));
	if (s == NULL)
		fail_msg("signer %s refused: %s", path, err);
	return s;
}

static struct chain_verifier *
verifier_ok(const char *path)
{
	struct chain_verifier	*v;
	char			 err[512] = "";

	v = chain_verifier_load(path, err, sizeof(err));
	if (v == NULL)
		fail_msg("verifier %s refused: %s", path, err);
	return v;
}

static void
signer_refused(const char *path, const char *why)
{
	struct chain_signer	*s;
	char			 err[512] = "";

	s = chain_signer_load(path, err, sizeof(err));
	if (s != NULL) {
		chain_signer_free(s);
		fail_msg("signer %s loaded; expected refusal (%s)", path, why);
	}
	if (strstr(err, path) == NULL || strstr(err, why) == NULL)
		fail_msg("error for %s is \"%s\"; expected the file and \"%s\"",
		    path, err, why);
}

static void
verifier_refused(const char *path, const char *why)
{
	struct chain_verifier	*v;
	char			 err[512] = "";

	v = chain_verifier_load(path, err, sizeof(err));
	if (v != NULL) {
		chain_verifier_free(v);
		fail_msg("verifier %s loaded; expected refusal (%s)", path,
		    why);
	}
	if (strstr(err, path) == NULL || strstr(err, why) == NULL)
		fail_msg("error for %s is \"%s\"; expected the file and \"%s\"",
		    path, err, why);
}

static int
rm_rf_tmp(void)
{
	char	cmd[PATH_MAX + 16];

	if (tmpdir[0] == '\0')
		return 0;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static int
group_setup(void **state)
{
	const char	*base;

	if ((base = getenv("NWD_TEST_TMP")) == NULL || *base == '\0')
		base = getenv("TMPDIR");
	if (base == NULL || *base == '\0')
		base = "/tmp";
	if ((size_t)snprintf(tmpdir, sizeof(tmpdir), "%s/test_chain.XXXXXX",
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
	chain_hasher_free(hasher);
	hasher = NULL;
	return rm_rf_tmp();
}

/* ------------------------------------------------------------------------
 * Hashes
 */

static void
test_golden_a(void **state)
{
	uint8_t	zero[CHAIN_HASH_LEN] = { 0 }, want[CHAIN_HASH_LEN];
	uint8_t	got[CHAIN_HASH_LEN];
	char	hex[HEXLEN];

	/* The hand-built bytes are the ones Python hashed. */
	sha256_2(zero, canon_a, sizeof(canon_a) - 1, want);
	hexify(want, CHAIN_HASH_LEN, hex);
	assert_string_equal(hex, hash_a);

	hash_ok(zero, &row_a, got);
	assert_memory_equal(got, want, CHAIN_HASH_LEN);
	chain_hex(got, hex);
	assert_string_equal(hex, hash_a);
}

/* A row with a route hashes its canonical bytes and the route after
 * them; without one (NULL) it hashes as before the route existed. */
static void
test_golden_route(void **state)
{
	uint8_t			zero[CHAIN_HASH_LEN] = { 0 };
	uint8_t			want[CHAIN_HASH_LEN], got[CHAIN_HASH_LEN];
	char			canon[sizeof(canon_a) + sizeof(canon_ar_route)];
	char			hex[HEXLEN];
	struct chain_row	r = row_a;

	memcpy(canon, canon_a, sizeof(canon_a) - 1);
	memcpy(canon + sizeof(canon_a) - 1, canon_ar_route,
	    sizeof(canon_ar_route) - 1);
	sha256_2(zero, canon, sizeof(canon_a) + sizeof(canon_ar_route) - 2,
	    want);
	hexify(want, CHAIN_HASH_LEN, hex);
	assert_string_equal(hex, hash_ar);
	r.field[CHAIN_F_ROUTE] = "live,queued";
	hash_ok(zero, &r, got);
	assert_memory_equal(got, want, CHAIN_HASH_LEN);

	r.field[CHAIN_F_ROUTE] = NULL;
	hash_ok(zero, &r, got);
	chain_hex(got, hex);
	assert_string_equal(hex, hash_a);
	/* "" is a route of its own, not the absence of one. */
	r.field[CHAIN_F_ROUTE] = "";
	hash_ok(zero, &r, got);
	chain_hex(got, hex);
	assert_string_not_equal(hex, hash_a);
}

static void
test_golden_b_nulls(void **state)
{
	uint8_t	prev[CHAIN_HASH_LEN], want[CHAIN_HASH_LEN];
	uint8_t	got[CHAIN_HASH_LEN];
	char	hex[HEXLEN];
	int	i;

	for (i = 0; i < CHAIN_HASH_LEN; i++)
		prev[i] = (uint8_t)(i + 1);
	sha256_2(prev, canon_b, sizeof(canon_b) - 1, want);
	hexify(want, CHAIN_HASH_LEN, hex);
	assert_string_equal(hex, hash_b);

	hash_ok(prev, &row_b, got);
	assert_memory_equal(got, want, CHAIN_HASH_LEN);
}

/* Seq 1 links to 32 zero bytes; any other prev gives another hash. */
static void
test_genesis_prev(void **state)
{
	uint8_t	zero[CHAIN_HASH_LEN] = { 0 }, prev[CHAIN_HASH_LEN];
	uint8_t	h0[CHAIN_HASH_LEN], h1[CHAIN_HASH_LEN];
	char	hex[HEXLEN];
	int	i;

	hash_ok(zero, &row_a, h0);
	chain_hex(h0, hex);
	assert_string_equal(hex, hash_a);
	for (i = 0; i < CHAIN_HASH_LEN * 8; i++) {
		memset(prev, 0, sizeof(prev));
		prev[i / 8] ^= (uint8_t)(1 << (i % 8));
		hash_ok(prev, &row_a, h1);
		if (memcmp(h0, h1, CHAIN_HASH_LEN) == 0)
			fail_msg("flipping bit %d of prev left the hash", i);
	}
}

#define NVARIANTS	(1 + 4 * CHAIN_NFIELDS)

/*
 * Every single-field change gives a new hash: another value, NULL, ""
 * (where the field is not already empty), and a byte moved across the
 * boundary with the next field.  All the variants are pairwise distinct.
 */
static void
test_every_field_counts(void **state)
{
	static struct chain_row	ra;	/* the golden row A, with a route */
	static uint8_t		h[NVARIANTS][CHAIN_HASH_LEN];
	static const char	*what[NVARIANTS];
	static size_t		 field[NVARIANTS];
	static char		 other[CHAIN_NFIELDS][64];
	uint8_t			 zero[CHAIN_HASH_LEN] = { 0 };
	struct chain_row	 r;
	size_t			 n = 0, i, j, len;
	char			 cur[64], nxt[64];

	ra = row_a;
	ra.field[CHAIN_F_ROUTE] = "live";
	ra.field[CHAIN_F_MESSAGE_HASH] = msg_hash_m;
	hash_ok(zero, &ra, h[n]);
	field[n] = 0;
	what[n++] = "base";
	for (i = 0; i < CHAIN_NFIELDS; i++) {
		r = ra;
		snprintf(other[i], sizeof(other[i]), "%sx", ra.field[i]);
		r.field[i] = other[i];
		hash_ok(zero, &r, h[n]);
		field[n] = i;
		what[n++] = "value";

		r = ra;
		r.field[i] = NULL;
		hash_ok(zero, &r, h[n]);
		field[n] = i;
		what[n++] = "NULL";

		if (ra.field[i][0] != '\0') {
			r = ra;
			r.field[i] = "";
			hash_ok(zero, &r, h[n]);
			field[n] = i;
			what[n++] = "\"\"";
		}

		/* The last byte of field i moves to the front of field i+1. */
		if (i + 1 == CHAIN_NFIELDS)
			continue;
		r = ra;
		j = i + 1;
		len = strlen(ra.field[i]);
		if (len > 0) {
			snprintf(cur, sizeof(cur), "%.*s", (int)(len - 1),
			    ra.field[i]);
			snprintf(nxt, sizeof(nxt), "%c%s",
			    ra.field[i][len - 1], ra.field[j]);
		} else {
			/* Field i is empty: it takes the next one's first. */
			snprintf(cur, sizeof(cur), "%c", ra.field[j][0]);
			snprintf(nxt, sizeof(nxt), "%s", ra.field[j] + 1);
		}
		r.field[i] = cur;
		r.field[j] = nxt;
		hash_ok(zero, &r, h[n]);
		field[n] = i;
		what[n++] = "boundary";
	}
	/* One empty field and no boundary after the last. */
	assert_int_equal(n, NVARIANTS - 2);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (memcmp(h[i], h[j], CHAIN_HASH_LEN) == 0)
				fail_msg("variants %s of field %zu and %s of "
				    "field %zu hash alike", what[i], field[i],
				    what[j], field[j]);
}

/* NULL and "" differ even where all other fields are NULL. */
static void
test_null_vs_empty_all(void **state)
{
	struct chain_row	nul, emp;
	uint8_t			zero[CHAIN_HASH_LEN] = { 0 };
	uint8_t			a[CHAIN_HASH_LEN], b[CHAIN_HASH_LEN];
	int			i;

	memset(&nul, 0, sizeof(nul));
	for (i = 0; i < CHAIN_NFIELDS; i++)
		emp.field[i] = "";
	hash_ok(zero, &nul, a);
	hash_ok(zero, &emp, b);
	assert_memory_not_equal(a, b, CHAIN_HASH_LEN);
}

static void
test_chain_links(void **state)
{
	const struct chain_row	*rows[3] = { &row_a, &row_2, &row_3 };
	uint8_t			 prev[CHAIN_HASH_LEN] = { 0 };
	uint8_t			 h[3][CHAIN_HASH_LEN], x[CHAIN_HASH_LEN];
	uint8_t			 y[CHAIN_HASH_LEN];
	char			 hex[HEXLEN];
	int			 i;

	for (i = 0; i < 3; i++) {
		hash_ok(prev, rows[i], h[i]);
		chain_hex(h[i], hex);
		assert_string_equal(hex, chain3_hex[i]);
		memcpy(prev, h[i], CHAIN_HASH_LEN);
	}
	/* Row 3 linked straight to row 1 (row 2 deleted) does not match. */
	hash_ok(h[0], &row_3, x);
	assert_memory_not_equal(x, h[2], CHAIN_HASH_LEN);
	/* Rows 2 and 3 swapped do not reach the same head. */
	hash_ok(h[0], &row_3, x);
	hash_ok(x, &row_2, y);
	assert_memory_not_equal(y, h[2], CHAIN_HASH_LEN);
}

/*
 * A publish row with a message hash: the hash is the last field, the
 * route written NULL before it when there is none; golden.py agrees.
 * Neither optional field can stand in for the other.
 */
static void
test_golden_message_hash_field(void **state)
{
	uint8_t			zero[CHAIN_HASH_LEN] = { 0 };
	uint8_t			want[CHAIN_HASH_LEN], got[CHAIN_HASH_LEN];
	uint8_t			x[CHAIN_HASH_LEN];
	char			canon[sizeof(canon_a) + sizeof(canon_am_tail)];
	char			hex[HEXLEN];
	struct chain_row	r = row_a;

	memcpy(canon, canon_a, sizeof(canon_a) - 1);
	memcpy(canon + sizeof(canon_a) - 1, canon_am_tail,
	    sizeof(canon_am_tail) - 1);
	sha256_2(zero, canon, sizeof(canon_a) + sizeof(canon_am_tail) - 2,
	    want);
	hexify(want, CHAIN_HASH_LEN, hex);
	assert_string_equal(hex, hash_am);
	r.field[CHAIN_F_MESSAGE_HASH] = msg_hash_m;
	hash_ok(zero, &r, got);
	assert_memory_equal(got, want, CHAIN_HASH_LEN);

	r.field[CHAIN_F_ROUTE] = "live,queued";
	hash_ok(zero, &r, got);
	chain_hex(got, hex);
	assert_string_equal(hex, hash_arm);

	/* Without it, a row hashes as before 010. */
	r.field[CHAIN_F_MESSAGE_HASH] = NULL;
	hash_ok(zero, &r, got);
	chain_hex(got, hex);
	assert_string_equal(hex, hash_ar);

	/* A route "X" is not a message hash "X", nor the other way. */
	r = row_a;
	r.field[CHAIN_F_ROUTE] = msg_hash_m;
	hash_ok(zero, &r, x);
	r.field[CHAIN_F_ROUTE] = NULL;
	r.field[CHAIN_F_MESSAGE_HASH] = msg_hash_m;
	hash_ok(zero, &r, got);
	assert_memory_not_equal(x, got, CHAIN_HASH_LEN);
	/* "" is a message hash of its own, not the absence of one. */
	r.field[CHAIN_F_MESSAGE_HASH] = "";
	hash_ok(zero, &r, x);
	chain_hex(x, hex);
	assert_string_not_equal(hex, hash_a);
}

/* Message M of golden.py: its fields and its allocation. */
static const char *const alloc_m[1][CHAIN_ALLOC_NFIELDS] = {
	{ "YP-0042", "hub:norwich", "", "1700000000000", NULL },
};

static void
message_m(struct chain_message *m, char body_hex[HEXLEN])
{
	uint8_t	body[40];
	int	i;

	for (i = 0; i < 40; i++)
		body[i] = (uint8_t)i;
	assert_int_equal(chain_sha256_hex(body, sizeof(body), body_hex), 0);
	memset(m, 0, sizeof(*m));
	m->field[CHAIN_M_ID] = "0f8fad5b-d9cb-469f-a165-70867728950e";
	m->field[CHAIN_M_KIND] = "14";
	m->field[CHAIN_M_SUBJECT] = "YP-0042";
	m->field[CHAIN_M_SENDER] = "sw-ben";
	m->field[CHAIN_M_AGENCY] = "norfolk-cs";
	m->field[CHAIN_M_MARKING] = "1";
	m->field[CHAIN_M_PRIORITY] = "2";
	m->field[CHAIN_M_LEGAL_BASIS] = "3";
	m->field[CHAIN_M_CREATED] = "1700000000123";
	m->field[CHAIN_M_POLICY_VERSION] = "a1b2c3";
	m->field[CHAIN_M_INSTANCE] = "nwdd-1";
	m->field[CHAIN_M_KEY_ID] = "0123456789abcdef/2";
	m->field[CHAIN_M_BODY_SHA256] = body_hex;
	m->alloc = (const char *(*)[CHAIN_ALLOC_NFIELDS])alloc_m;
	m->nalloc = 1;
}

static void
test_golden_message_hash(void **state)
{
	struct chain_message	m, m0;
	uint8_t			h[CHAIN_HASH_LEN];
	char			body[HEXLEN], hex[HEXLEN];

	message_m(&m, body);
	assert_string_equal(body, body_sha256_m);
	assert_int_equal(chain_message_hash(&m, h), 0);
	chain_hex(h, hex);
	assert_string_equal(hex, msg_hash_m);
	m.nalloc = 0;
	assert_int_equal(chain_message_hash(&m, h), 0);
	chain_hex(h, hex);
	assert_string_equal(hex, msg_hash_m_no_alloc);

	memset(&m0, 0, sizeof(m0));
	m0.field[CHAIN_M_ID] = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
	m0.field[CHAIN_M_KIND] = "3";
	m0.field[CHAIN_M_SUBJECT] = "YP-0001";
	m0.field[CHAIN_M_SENDER] = "plo-ana";
	m0.field[CHAIN_M_MARKING] = "1";
	m0.field[CHAIN_M_PRIORITY] = "0";
	m0.field[CHAIN_M_LEGAL_BASIS] = "0";
	m0.field[CHAIN_M_CREATED] = "-5";
	m0.field[CHAIN_M_INSTANCE] = "nwdd-1";
	assert_int_equal(chain_message_hash(&m0, h), 0);
	chain_hex(h, hex);
	assert_string_equal(hex, msg_hash_m0);

	assert_int_equal(chain_message_hash(NULL, h), -1);
	assert_int_equal(chain_message_hash(&m0, NULL), -1);
	m0.nalloc = 1;		/* and no allocations given */
	assert_int_equal(chain_message_hash(&m0, h), -1);
}

/*
 * Every field of the message and of its allocation counts: another value
 * or NULL gives another hash; a second allocation row, or none, too.
 */
static void
test_message_every_field(void **state)
{
	struct chain_message	 base, m;
	const char		*al[2][CHAIN_ALLOC_NFIELDS];
	uint8_t			 h0[CHAIN_HASH_LEN], h[CHAIN_HASH_LEN];
	char			 body[HEXLEN], other[80];
	int			 i, j;

	message_m(&base, body);
	assert_int_equal(chain_message_hash(&base, h0), 0);
	for (i = 0; i < CHAIN_MSG_NFIELDS; i++) {
		m = base;
		snprintf(other, sizeof(other), "%sx", base.field[i]);
		m.field[i] = other;
		assert_int_equal(chain_message_hash(&m, h), 0);
		if (memcmp(h, h0, CHAIN_HASH_LEN) == 0)
			fail_msg("field %d changed, same hash", i);
		m.field[i] = NULL;
		assert_int_equal(chain_message_hash(&m, h), 0);
		if (memcmp(h, h0, CHAIN_HASH_LEN) == 0)
			fail_msg("field %d NULL, same hash", i);
	}
	for (j = 0; j < CHAIN_ALLOC_NFIELDS; j++) {
		m = base;
		for (i = 0; i < CHAIN_ALLOC_NFIELDS; i++)
			al[0][i] = alloc_m[0][i];
		snprintf(other, sizeof(other), "%sx", al[0][j] != NULL ?
		    al[0][j] : "");
		al[0][j] = other;
		m.alloc = al;
		assert_int_equal(chain_message_hash(&m, h), 0);
		if (memcmp(h, h0, CHAIN_HASH_LEN) == 0)
			fail_msg("allocation field %d changed, same hash", j);
	}
	/* The allocation duplicated. */
	m = base;
	for (i = 0; i < CHAIN_ALLOC_NFIELDS; i++)
		al[0][i] = al[1][i] = alloc_m[0][i];
	m.alloc = al;
	m.nalloc = 2;
	assert_int_equal(chain_message_hash(&m, h), 0);
	assert_memory_not_equal(h, h0, CHAIN_HASH_LEN);
}

/* ------------------------------------------------------------------------
 * Anchor lines
 */

static void
anchor_cp(struct chain_anchor *a, const char *instance)
{
	int	i;

	memset(a, 0, sizeof(*a));
	a->type = CHAIN_ANCHOR_CHECKPOINT;
	snprintf(a->instance, sizeof(a->instance), "%s", instance);
	a->seq = 1040;
	for (i = 0; i < CHAIN_HASH_LEN; i++)
		a->hash[i] = (uint8_t)i;
	a->at_ms = 1700000000123LL;
	snprintf(a->key_id, sizeof(a->key_id), "0123456789abcdef");
	for (i = 0; i < CHAIN_SIG_LEN; i++)
		a->sig[i] = (uint8_t)(0xff - i);
}

static void
parse_ok(const char *line, struct chain_anchor *out)
{
	char	err[256] = "";

	if (chain_anchor_parse(line, strlen(line), out, err, sizeof(err)) != 1)
		fail_msg("not read as an anchor: %s (%s)", line, err);
}

static void
test_anchor_lines(void **state)
{
	static const char	 want[] = "event=checkpoint instance=nwdd-1 "
	    "seq=1040 hash=000102030405060708090a0b0c0d0e0f10111213141516"
	    "1718191a1b1c1d1e1f at=1700000000123 key_id=0123456789abcdef "
	    "signature=fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4"
	    "e3e2e1e0dfdedddcdbdad9d8d7d6d5d4d3d2d1d0cfcecdcccbcac9c8c7c6c5c4"
	    "c3c2c1c0";
	struct chain_anchor	 a, b;
	char			 line[CHAIN_ANCHOR_LINE_MAX];
	char			 logl[CHAIN_ANCHOR_LINE_MAX + 64];
	char			 text[512];
	int			 n;

	anchor_cp(&a, "nwdd-1");
	n = chain_anchor_format(&a, line, sizeof(line));
	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(line, want);
	parse_ok(line, &b);
	assert_memory_equal(&a, &b, sizeof(a));
	/* Its signed text is the checkpoint's. */
	n = chain_anchor_text(&a, text, sizeof(text));
	assert_true(n > 0);
	assert_string_equal(text, "nwd-checkpoint-v1 nwdd-1 1040 "
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f "
	    "1700000000123");

	/* As the log writes it: a time and a level in front, or "<6>". */
	snprintf(logl, sizeof(logl), "2026-01-01T00:00:00.000Z level=info "
	    "%s\n", line);
	parse_ok(logl, &b);
	assert_memory_equal(&a, &b, sizeof(a));
	snprintf(logl, sizeof(logl), "<6>%s", line);
	parse_ok(logl, &b);
	assert_memory_equal(&a, &b, sizeof(a));

	/* An instance with blanks, quotes, '=' and a control byte. */
	anchor_cp(&a, "hub \"a\"=b\\c\n");
	assert_true(chain_anchor_format(&a, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "instance=\"hub \\\"a\\\"=b\\\\c\\x0a\" "));
	parse_ok(line, &b);
	assert_memory_equal(&a, &b, sizeof(a));

	/* An accepted restore. */
	anchor_cp(&a, "nwdd-1");
	a.type = CHAIN_ANCHOR_RESTORE;
	a.seq = 580;
	a.old_seq = 1040;
	memset(a.old_hash, 0xab, sizeof(a.old_hash));
	assert_true(chain_anchor_format(&a, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "event=restore_accepted instance=nwdd-1 "
	    "old_seq=1040 old_hash=abab"));
	assert_non_null(strstr(line, " new_seq=580 new_hash=0001"));
	parse_ok(line, &b);
	assert_memory_equal(&a, &b, sizeof(a));
	n = chain_anchor_text(&a, text, sizeof(text));
	assert_true(n > 0);
	assert_int_equal(strncmp(text, "nwd-restore-v1 nwdd-1 1040 abab", 31),
	    0);
	assert_non_null(strstr(text, " 580 0001"));
	assert_non_null(strstr(text, " 1700000000123"));
}

/* Lines that are no anchor (0) and anchors that are malformed (-1). */
static void
test_anchor_bad_lines(void **state)
{
	static const char *const	 none[] = {
		"", "event=ready instance=nwdd-1",
		"level=info event=checkpoints seq=1",
		"xevent=checkpoint instance=a seq=1",
		"reason=\"event=checkpoint\"",
	};
	struct chain_anchor	 a;
	char			 line[CHAIN_ANCHOR_LINE_MAX];
	char			 bad[CHAIN_ANCHOR_LINE_MAX + 64];
	char			 err[256];
	const char		*cut[] = { " seq=", " hash=", " at=", " key_id=",
	    " signature=", " instance=" };
	size_t			 i;
	char			*p;

	for (i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		assert_int_equal(chain_anchor_parse(none[i], strlen(none[i]),
		    &a, err, sizeof(err)), 0);
	anchor_cp(&a, "nwdd-1");
	assert_true(chain_anchor_format(&a, line, sizeof(line)) > 0);
	/* Each field left out. */
	for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		snprintf(bad, sizeof(bad), "%s", line);
		assert_non_null(p = strstr(bad, cut[i]));
		memcpy(p + 1, "zz", 2);
		if (chain_anchor_parse(bad, strlen(bad), &a, err,
		    sizeof(err)) != -1)
			fail_msg("read without%s: %s", cut[i], bad);
	}
	/* A hash too short, a signature not hex, a seq not a number. */
	snprintf(bad, sizeof(bad), "%s", line);
	p = strstr(bad, " at=");
	memmove(p - 2, p, strlen(p) + 1);
	assert_int_equal(chain_anchor_parse(bad, strlen(bad), &a, err,
	    sizeof(err)), -1);
	snprintf(bad, sizeof(bad), "%s", line);
	p = strstr(bad, "signature=") + 10;
	*p = 'g';
	assert_int_equal(chain_anchor_parse(bad, strlen(bad), &a, err,
	    sizeof(err)), -1);
	snprintf(bad, sizeof(bad), "%s", line);
	p = strstr(bad, "seq=") + 4;
	*p = 'x';
	assert_int_equal(chain_anchor_parse(bad, strlen(bad), &a, err,
	    sizeof(err)), -1);
	/* A field twice; an unterminated quote. */
	snprintf(bad, sizeof(bad), "%s seq=1", line);
	assert_int_equal(chain_anchor_parse(bad, strlen(bad), &a, err,
	    sizeof(err)), -1);
	snprintf(bad, sizeof(bad), "event=checkpoint instance=\"nwdd-1 seq=1");
	assert_int_equal(chain_anchor_parse(bad, strlen(bad), &a, err,
	    sizeof(err)), -1);
	/* Too long an instance is refused by the writer. */
	memset(&a, 0, sizeof(a));
	memset(a.instance, 'x', sizeof(a.instance));
	assert_int_equal(chain_anchor_format(&a, line, sizeof(line)), -1);
}

static void
test_hash_bad_args(void **state)
{
	uint8_t	zero[CHAIN_HASH_LEN] = { 0 }, out[CHAIN_HASH_LEN];

	assert_int_equal(chain_hash(NULL, &row_a, out), -1);
	assert_int_equal(chain_hash(zero, NULL, out), -1);
	assert_int_equal(chain_hash(zero, &row_a, NULL), -1);
}

/*
 * A row longer than chain_hash_with()'s buffer on the stack: the same
 * encoding, computed here byte by byte (every field NULL but the reason,
 * the optional ones left out).
 */
static void
test_hash_long_row(void **state)
{
	static const char	 magic[] = "nwd-audit-v1\n";
	struct chain_row	 row;
	uint8_t			 prev[CHAIN_HASH_LEN], want[CHAIN_HASH_LEN];
	uint8_t			 got[CHAIN_HASH_LEN], *enc, *p;
	char			*reason;
	size_t			 rlen = 5000, i;

	memset(&row, 0, sizeof(row));
	memset(prev, 0x5a, sizeof(prev));
	assert_non_null(reason = malloc(rlen + 1));
	memset(reason, 'x', rlen);
	reason[rlen] = '\0';
	row.field[CHAIN_F_REASON] = reason;
	assert_non_null(enc = malloc(sizeof(magic) + 4 * CHAIN_NFIELDS +
	    rlen));
	p = enc;
	memcpy(p, magic, sizeof(magic) - 1);
	p += sizeof(magic) - 1;
	for (i = 0; i < CHAIN_F_ROUTE; i++) {
		if (i != CHAIN_F_REASON) {
			memset(p, 0xff, 4);
			p += 4;
			continue;
		}
		*p++ = (uint8_t)(rlen >> 24);
		*p++ = (uint8_t)(rlen >> 16);
		*p++ = (uint8_t)(rlen >> 8);
		*p++ = (uint8_t)rlen;
		memcpy(p, reason, rlen);
		p += rlen;
	}
	sha256_2(prev, enc, (size_t)(p - enc), want);
	hash_ok(prev, &row, got);
	assert_memory_equal(got, want, CHAIN_HASH_LEN);
	assert_int_equal(chain_hash_with(NULL, prev, &row, got), -1);
	free(enc);
	free(reason);
}

static void
test_hex(void **state)
{
	uint8_t	h[CHAIN_HASH_LEN];
	char	out[HEXLEN + 1];
	int	i;

	for (i = 0; i < CHAIN_HASH_LEN; i++)
		h[i] = (uint8_t)(i * 8 + 7);
	memset(out, 'Z', sizeof(out));
	chain_hex(h, out);
	assert_string_equal(out,
	    "070f171f272f373f474f575f676f777f878f979fa7afb7bfc7cfd7dfe7eff7ff");
	assert_int_equal(out[HEXLEN], 'Z');	/* nothing past the NUL */
}

/* ------------------------------------------------------------------------
 * Checkpoint text
 */

static void
test_checkpoint_text(void **state)
{
	static const char	want[] = "nwd-checkpoint-v1 nwdd-1 42 "
	    "000102030405060708090a0b0c0d0e0f"
	    "101112131415161718191a1b1c1d1e1f 1700000000123";
	uint8_t			h[CHAIN_HASH_LEN];
	char			out[256];
	int			i, n;

	for (i = 0; i < CHAIN_HASH_LEN; i++)
		h[i] = (uint8_t)i;
	n = chain_checkpoint_text("nwdd-1", 42, h, 1700000000123LL, out,
	    sizeof(out));
	assert_int_equal(n, strlen(want));
	assert_string_equal(out, want);

	/* Exactly enough room, then one byte short. */
	n = chain_checkpoint_text("nwdd-1", 42, h, 1700000000123LL, out,
	    sizeof(want));
	assert_int_equal(n, strlen(want));
	assert_string_equal(out, want);
	n = chain_checkpoint_text("nwdd-1", 42, h, 1700000000123LL, out,
	    sizeof(want) - 1);
	assert_int_equal(n, -1);

	/* The whole range of int64. */
	n = chain_checkpoint_text("a", INT64_MAX, h, 0, out, sizeof(out));
	assert_true(n > 0);
	assert_non_null(strstr(out, " 9223372036854775807 "));
	assert_int_equal(strncmp(out, "nwd-checkpoint-v1 a 9223372036854775807 "
	    "000102", 46), 0);
	assert_int_equal(out[n - 2], ' ');
	assert_int_equal(out[n - 1], '0');

	assert_int_equal(chain_checkpoint_text(NULL, 1, h, 0, out,
	    sizeof(out)), -1);
	assert_int_equal(chain_checkpoint_text("x", 1, h, 0, out, 0), -1);
}

/* ------------------------------------------------------------------------
 * Signing
 */

static void
test_sign_round_trip(void **state)
{
	struct pair		 p;
	struct chain_signer	*s;
	struct chain_verifier	*v;
	uint8_t			 h[CHAIN_HASH_LEN], sig[CHAIN_SIG_LEN];
	uint8_t			 sig2[CHAIN_SIG_LEN];
	char			 text[256];
	int			 n;

	make_pair("rt", &p);
	s = signer_ok(p.priv);
	v = verifier_ok(p.pub);

	hash_ok((uint8_t[CHAIN_HASH_LEN]){ 0 }, &row_a, h);
	n = chain_checkpoint_text("nwdd-1", 1, h, 1700000000999LL, text,
	    sizeof(text));
	assert_true(n > 0);
	assert_int_equal(chain_sign(s, text, n, sig), 0);
	assert_int_equal(chain_verify(v, text, n, sig), 1);
	/* Ed25519 is deterministic. */
	assert_int_equal(chain_sign(s, text, n, sig2), 0);
	assert_memory_equal(sig, sig2, CHAIN_SIG_LEN);
	/* The empty text is a text like any other. */
	assert_int_equal(chain_sign(s, "", 0, sig2), 0);
	assert_int_equal(chain_verify(v, "", 0, sig2), 1);
	assert_int_equal(chain_verify(v, text, n, sig2), 0);

	chain_signer_free(s);
	chain_verifier_free(v);
	chain_signer_free(NULL);
	chain_verifier_free(NULL);
}

static void
test_tampered_text_and_sig(void **state)
{
	struct pair		 p;
	struct chain_signer	*s;
	struct chain_verifier	*v;
	uint8_t			 h[CHAIN_HASH_LEN], sig[CHAIN_SIG_LEN];
	uint8_t			 bad[CHAIN_SIG_LEN];
	char			 text[256], t2[257];
	int			 n, i, bit;

	make_pair("tamper", &p);
	s = signer_ok(p.priv);
	v = verifier_ok(p.pub);
	memset(h, 0xab, sizeof(h));
	n = chain_checkpoint_text("nwdd-1", 7, h, 1700000000000LL, text,
	    sizeof(text));
	assert_true(n > 0);
	assert_int_equal(chain_sign(s, text, n, sig), 0);
	assert_int_equal(chain_verify(v, text, n, sig), 1);

	/* Every byte of the text matters. */
	for (i = 0; i < n; i++) {
		memcpy(t2, text, n);
		t2[i] ^= 0x01;
		if (chain_verify(v, t2, n, sig) != 0)
			fail_msg("text with byte %d changed verifies", i);
	}
	/* Shorter or longer text. */
	assert_int_equal(chain_verify(v, text, n - 1, sig), 0);
	memcpy(t2, text, n);
	t2[n] = '0';
	assert_int_equal(chain_verify(v, t2, n + 1, sig), 0);
	/* Every bit of the signature matters. */
	for (i = 0; i < CHAIN_SIG_LEN; i++)
		for (bit = 0; bit < 8; bit++) {
			memcpy(bad, sig, sizeof(bad));
			bad[i] ^= (uint8_t)(1 << bit);
			if (chain_verify(v, text, n, bad) != 0)
				fail_msg("signature with bit %d of byte %d "
				    "flipped verifies", bit, i);
		}
	memset(bad, 0, sizeof(bad));
	assert_int_equal(chain_verify(v, text, n, bad), 0);
	assert_int_equal(chain_verify(v, text, n, NULL), 0);
	assert_int_equal(chain_verify(NULL, text, n, sig), 0);

	chain_signer_free(s);
	chain_verifier_free(v);
}

static void
test_foreign_key(void **state)
{
	struct pair		 p1, p2;
	struct chain_signer	*s1, *s2;
	struct chain_verifier	*v1, *v2;
	uint8_t			 sig[CHAIN_SIG_LEN];
	const char		*text = "nwd-checkpoint-v1 nwdd-1 1 "
	    "6f39ce77f711faa8598e84938a0861ecf7f36ba0deb1643412d3a91d93ab1f43 "
	    "1700000000123";

	make_pair("one", &p1);
	make_pair("two", &p2);
	s1 = signer_ok(p1.priv);
	s2 = signer_ok(p2.priv);
	v1 = verifier_ok(p1.pub);
	v2 = verifier_ok(p2.pub);

	assert_int_equal(chain_sign(s1, text, strlen(text), sig), 0);
	assert_int_equal(chain_verify(v1, text, strlen(text), sig), 1);
	assert_int_equal(chain_verify(v2, text, strlen(text), sig), 0);
	assert_int_equal(chain_sign(s2, text, strlen(text), sig), 0);
	assert_int_equal(chain_verify(v2, text, strlen(text), sig), 1);
	assert_int_equal(chain_verify(v1, text, strlen(text), sig), 0);

	assert_string_not_equal(chain_signer_key_id(s1),
	    chain_signer_key_id(s2));
	assert_string_not_equal(chain_verifier_key_id(v1),
	    chain_verifier_key_id(v2));

	chain_signer_free(s1);
	chain_signer_free(s2);
	chain_verifier_free(v1);
	chain_verifier_free(v2);
}

static void
test_key_ids(void **state)
{
	struct pair		 p;
	struct chain_signer	*s;
	struct chain_verifier	*v;
	const char		*id;
	size_t			 i;

	make_pair("ids", &p);
	s = signer_ok(p.priv);
	v = verifier_ok(p.pub);
	id = chain_signer_key_id(s);
	assert_int_equal(strlen(id), 16);
	for (i = 0; i < 16; i++)
		assert_non_null(strchr("0123456789abcdef", id[i]));
	assert_string_equal(id, chain_verifier_key_id(v));
	assert_string_equal(id, p.id);
	chain_signer_free(s);
	chain_verifier_free(v);
}

/* RFC 8032 TEST 1: plain Ed25519 (no prehash, no context). */
static void
test_rfc8032(void **state)
{
	struct chain_signer	*s;
	struct chain_verifier	*v;
	EVP_PKEY		*pkey;
	uint8_t			 sig[CHAIN_SIG_LEN], md[32];
	unsigned int		 mdlen = 0;
	char			 priv[PATH_MAX], pub[PATH_MAX], id[17];

	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
	    rfc8032_sk, sizeof(rfc8032_sk));
	assert_non_null(pkey);
	write_key("rfc.key", pkey, 1, 0400, priv, sizeof(priv));
	write_key("rfc.pub", pkey, 0, 0644, pub, sizeof(pub));
	EVP_PKEY_free(pkey);

	s = signer_ok(priv);
	v = verifier_ok(pub);
	assert_int_equal(chain_sign(s, "", 0, sig), 0);
	assert_memory_equal(sig, rfc8032_sig, CHAIN_SIG_LEN);
	assert_int_equal(chain_verify(v, "", 0, rfc8032_sig), 1);

	assert_int_equal(EVP_Digest(rfc8032_pk, sizeof(rfc8032_pk), md,
	    &mdlen, EVP_sha256(), NULL), 1);
	hexify(md, 8, id);
	assert_string_equal(chain_signer_key_id(s), id);
	assert_string_equal(chain_verifier_key_id(v), id);
	chain_signer_free(s);
	chain_verifier_free(v);
}

/* Keys made the way an operator makes them, with the openssl tool. */
static void
test_openssl_tool_keys(void **state)
{
	struct chain_signer	*s;
	struct chain_verifier	*v;
	uint8_t			 sig[CHAIN_SIG_LEN];
	char			 priv[PATH_MAX], pub[PATH_MAX];
	char			 cmd[4 * PATH_MAX + 256];
	int			 n;

	if (system("openssl version >/dev/null 2>&1") != 0)
		skip();
	path_in_tmp(priv, sizeof(priv), "tool.key");
	path_in_tmp(pub, sizeof(pub), "tool.pub");
	n = snprintf(cmd, sizeof(cmd), "openssl genpkey -algorithm ed25519 "
	    "-out '%s' 2>/dev/null && chmod 600 '%s' && openssl pkey -in '%s' "
	    "-pubout -out '%s' 2>/dev/null", priv, priv, priv, pub);
	assert_true(n > 0 && (size_t)n < sizeof(cmd));
	assert_int_equal(system(cmd), 0);

	s = signer_ok(priv);
	v = verifier_ok(pub);
	assert_string_equal(chain_signer_key_id(s), chain_verifier_key_id(v));
	assert_int_equal(chain_sign(s, "x", 1, sig), 0);
	assert_int_equal(chain_verify(v, "x", 1, sig), 1);
	chain_signer_free(s);
	chain_verifier_free(v);
}

static void
test_key_file_mode(void **state)
{
	static const mode_t	 refused[] = { 0644, 0640, 0604, 0660, 0610,
	    0601, 0620, 0602, 0666 };
	static const mode_t	 allowed[] = { 0600, 0400 };
	struct chain_signer	*s;
	EVP_PKEY		*pkey;
	char			 path[PATH_MAX];
	size_t			 i;

	pkey = gen_ed25519();
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		write_key("mode.key", pkey, 1, refused[i], path, sizeof(path));
		signer_refused(path, "group or others");
	}
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		write_key("mode.key", pkey, 1, allowed[i], path, sizeof(path));
		s = signer_ok(path);
		chain_signer_free(s);
	}
	/* A public key may be readable by anyone. */
	write_key("mode.pub", pkey, 0, 0644, path, sizeof(path));
	chain_verifier_free(verifier_ok(path));
	EVP_PKEY_free(pkey);
}

static void
test_bad_key_files(void **state)
{
	struct chain_signer	*s;
	EVP_PKEY		*ed, *ec;
	char			 path[PATH_MAX], err[16];
	FILE			*fp;

	path_in_tmp(path, sizeof(path), "missing.key");
	signer_refused(path, "No such file");
	verifier_refused(path, "No such file");

	write_text("garbage.key", "not a key\n", 0600, path, sizeof(path));
	signer_refused(path, "private key");
	verifier_refused(path, "public key");

	write_text("empty.key", "", 0600, path, sizeof(path));
	signer_refused(path, "private key");

	/* A directory is not a key file. */
	signer_refused(tmpdir, "not a regular file");

	/* Each half where the other is expected. */
	ed = gen_ed25519();
	write_key("half.pub", ed, 0, 0600, path, sizeof(path));
	signer_refused(path, "private key");
	write_key("half.key", ed, 1, 0600, path, sizeof(path));
	verifier_refused(path, "public key");

	/* An encrypted key is refused, not prompted for. */
	path_in_tmp(path, sizeof(path), "enc.key");
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(PEM_write_PrivateKey(fp, ed, EVP_aes_256_cbc(),
	    (const unsigned char *)"secret", 6, NULL, NULL), 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, 0600), 0);
	signer_refused(path, "unencrypted");
	EVP_PKEY_free(ed);

	/* Another algorithm. */
	ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(ec);
	write_key("ec.key", ec, 1, 0600, path, sizeof(path));
	signer_refused(path, "not Ed25519");
	write_key("ec.pub", ec, 0, 0644, path, sizeof(path));
	verifier_refused(path, "not Ed25519");
	EVP_PKEY_free(ec);

	/* A short or absent error buffer is not overrun. */
	memset(err, 'Z', sizeof(err));
	s = chain_signer_load(path, err, 8);
	assert_null(s);
	assert_int_equal(err[7], '\0');
	assert_int_equal(err[8], 'Z');
	assert_null(chain_signer_load(path, NULL, 0));
	assert_null(chain_signer_load(NULL, err, sizeof(err)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_a),
		cmocka_unit_test(test_golden_route),
		cmocka_unit_test(test_golden_message_hash_field),
		cmocka_unit_test(test_golden_message_hash),
		cmocka_unit_test(test_message_every_field),
		cmocka_unit_test(test_anchor_lines),
		cmocka_unit_test(test_anchor_bad_lines),
		cmocka_unit_test(test_golden_b_nulls),
		cmocka_unit_test(test_genesis_prev),
		cmocka_unit_test(test_every_field_counts),
		cmocka_unit_test(test_null_vs_empty_all),
		cmocka_unit_test(test_chain_links),
		cmocka_unit_test(test_hash_bad_args),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_checkpoint_text),
		cmocka_unit_test(test_sign_round_trip),
		cmocka_unit_test(test_tampered_text_and_sig),
		cmocka_unit_test(test_foreign_key),
		cmocka_unit_test(test_key_ids),
		cmocka_unit_test(test_rfc8032),
		cmocka_unit_test(test_openssl_tool_keys),
		cmocka_unit_test(test_key_file_mode),
		cmocka_unit_test(test_bad_key_files),
		cmocka_unit_test(test_hash_long_row),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
