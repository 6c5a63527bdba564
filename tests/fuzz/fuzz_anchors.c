/*
 * fuzz_anchors: the anchors "nwd audit verify --anchors" reads (G13), an
 * anchors file or a log, line by line: chain_anchor_parse() and
 * verify_anchors_line() (client/verify_core.c) on any bytes.
 *
 * Each line of the input is read as the verifier reads it.  What must
 * hold:
 *
 *  - an anchor that parses formats again (chain_anchor_format()) to a
 *    line that parses to the same anchor;
 *  - the same anchor signed with the fixed key (its key id set to the
 *    key's) is accepted by verify_anchors_line() with that key, and a
 *    copy with one bit of its signature flipped is not;
 *  - after the last line the anchors of each instance are in seq order.
 *
 * A broken promise prints what broke and aborts, so that libFuzzer keeps
 * the input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "chain.h"
#include "verify_core.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NAME		"fuzz_anchors"
#define MAX_LINES	64

/* A fixed key: it signs nothing but fuzz input. */
static const uint8_t key_seed[32] = {
	0x6e, 0x77, 0x64, 0x2d, 0x61, 0x6e, 0x63, 0x68, 0x6f, 0x72, 0x73,
	0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x6f, 0x6e, 0x6c, 0x79, 0x2d,
	0x6e, 0x6f, 0x74, 0x2d, 0x61, 0x2d, 0x6b, 0x65, 0x79, 0x21,
};

static EVP_PKEY			*sign_key;
static struct chain_verifier	*verifier;
static char			 key_id[CHAIN_KEY_ID_MAX];

static void
broken(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
broken(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "%s: ", NAME);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

static void
init(void)
{
	uint8_t		raw[32], md[32];
	size_t		rawlen = sizeof(raw);
	unsigned int	mdlen = 0;
	FILE		*fp;
	char		path[] = "/tmp/fuzz_anchors.XXXXXX", err[512];
	int		fd, i;

	if ((sign_key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
	    key_seed, sizeof(key_seed))) == NULL ||
	    EVP_PKEY_get_raw_public_key(sign_key, raw, &rawlen) != 1 ||
	    EVP_Digest(raw, rawlen, md, &mdlen, EVP_sha256(), NULL) != 1)
		broken("cannot make the key");
	for (i = 0; i < 8; i++)
		snprintf(key_id + 2 * i, 3, "%02x", md[i]);
	if ((fd = mkstemp(path)) == -1 || (fp = fdopen(fd, "w")) == NULL ||
	    PEM_write_PUBKEY(fp, sign_key) != 1 || fclose(fp) != 0)
		broken("cannot write the public key");
	verifier = chain_verifier_load(path, err, sizeof(err));
	remove(path);
	if (verifier == NULL)
		broken("cannot load the public key: %s", err);
}

/* Signs a (its key id set to the fixed key's). */
static void
sign(struct chain_anchor *a)
{
	EVP_MD_CTX	*md;
	char		 text[1024];
	size_t		 siglen = CHAIN_SIG_LEN;
	int		 n;

	snprintf(a->key_id, sizeof(a->key_id), "%s", key_id);
	if ((n = chain_anchor_text(a, text, sizeof(text))) < 0)
		broken("no text to sign for instance of %zu bytes",
		    strlen(a->instance));
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, NULL, NULL, sign_key) != 1 ||
	    EVP_DigestSign(md, a->sig, &siglen, (const unsigned char *)text,
	    (size_t)n) != 1)
		broken("cannot sign");
	EVP_MD_CTX_free(md);
}

/* What must hold of one line that parsed to a. */
static void
check_anchor(const struct chain_anchor *a)
{
	struct chain_verifier	*one[1] = { verifier };
	struct verify_keyring	 kr = { one, 1 };
	struct verify_anchors	 an;
	struct chain_anchor	 b, s;
	char			 line[CHAIN_ANCHOR_LINE_MAX], err[256];
	int			 n;

	if ((n = chain_anchor_format(a, line, sizeof(line))) < 0)
		broken("a parsed anchor does not format");
	if (chain_anchor_parse(line, (size_t)n, &b, err, sizeof(err)) != 1)
		broken("a formatted anchor does not parse: %s: %s", err, line);
	if (memcmp(a, &b, sizeof(b)) != 0)
		broken("an anchor changed through format and parse: %s", line);

	s = *a;
	sign(&s);
	if ((n = chain_anchor_format(&s, line, sizeof(line))) < 0)
		broken("a signed anchor does not format");
	memset(&an, 0, sizeof(an));
	if (verify_anchors_line(&an, &kr, line, (size_t)n, 1) == -1)
		broken("out of memory");
	if (an.problem != NULL)
		broken("a well-signed anchor was refused: %s: %s", an.problem,
		    line);
	verify_anchors_clear(&an);
	s.sig[s.at_ms & 63] ^= 0x10;
	if ((n = chain_anchor_format(&s, line, sizeof(line))) < 0)
		broken("a signed anchor does not format");
	if (verify_anchors_line(&an, &kr, line, (size_t)n, 1) == -1)
		broken("out of memory");
	if (an.problem == NULL)
		broken("an anchor with a flipped signature bit was accepted");
	verify_anchors_clear(&an);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chain_verifier		*one[1];
	struct verify_keyring		 kr;
	struct verify_anchors		 an;
	const struct verify_anchor_inst	*ai;
	struct chain_anchor		 a;
	const char			*p = (const char *)data, *end, *nl;
	char				 err[256];
	size_t				 i, k, lineno = 0;

	if (sign_key == NULL)
		init();
	one[0] = verifier;
	kr.v = one;
	kr.n = 1;
	memset(&an, 0, sizeof(an));
	end = p + size;
	for (; p < end && lineno < MAX_LINES; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		lineno++;
		if (chain_anchor_parse(p, (size_t)(nl - p), &a, err,
		    sizeof(err)) == 1)
			check_anchor(&a);
		if (verify_anchors_line(&an, &kr, p, (size_t)(nl - p),
		    lineno) == -1)
			broken("out of memory");
		if (nl == end)
			break;
	}
	verify_anchors_finish(&an);
	for (i = 0; i < an.n; i++) {
		ai = verify_anchors_find(&an, an.inst[i].name);
		if (ai != &an.inst[i])
			broken("an instance is not found by its name");
		for (k = 1; k < ai->n; k++)
			if (ai->v[k - 1].seq > ai->v[k].seq)
				broken("anchors out of seq order");
	}
	verify_anchors_clear(&an);
	return 0;
}
