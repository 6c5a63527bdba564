/*
 * chain: the audit chain's hashes and the Ed25519 checkpoint keys.  See
 * chain.h for the canonical encoding, which is a compatibility contract
 * with every chain already written.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "chain.h"

#define CHAIN_MAGIC		"nwd-audit-v1\n"
#define CHAIN_NULL_LEN		0xffffffffU
#define CHAIN_KEY_ID_LEN	17	/* 16 hex digits and a NUL */
#define CHAIN_PEM_MAX		(16 * 1024)
#define CHAIN_PEM_BUF		(CHAIN_PEM_MAX + 2)

struct chain_signer {
	EVP_PKEY	*pkey;		/* owned */
	char		 key_id[CHAIN_KEY_ID_LEN];
};

struct chain_verifier {
	EVP_PKEY	*pkey;		/* owned */
	char		 key_id[CHAIN_KEY_ID_LEN];
};

static void
chain_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* The reason OpenSSL gave for its last failure; clears its error queue. */
static const char *
chain_ssl_reason(char *buf, size_t len)
{
	unsigned long	e;

	if ((e = ERR_peek_last_error()) == 0)
		snprintf(buf, len, "no reason given");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

static int
chain_put_field(EVP_MD_CTX *md, const char *s)
{
	uint8_t		be[4];
	size_t		len;
	uint32_t	n;

	if (s == NULL)
		n = CHAIN_NULL_LEN;
	else {
		/* 0xffffffff is NULL, so it is not a length. */
		if ((len = strlen(s)) >= CHAIN_NULL_LEN)
			return -1;
		n = (uint32_t)len;
	}
	be[0] = n >> 24;
	be[1] = n >> 16;
	be[2] = n >> 8;
	be[3] = n;
	if (EVP_DigestUpdate(md, be, sizeof(be)) != 1)
		return -1;
	if (s != NULL && n > 0 && EVP_DigestUpdate(md, s, n) != 1)
		return -1;
	return 0;
}

int
chain_hash(const uint8_t prev[CHAIN_HASH_LEN], const struct chain_row *row,
    uint8_t out[CHAIN_HASH_LEN])
{
	EVP_MD_CTX	*md;
	unsigned int	 mdlen = 0;
	int		 i, rc = -1;

	if (prev == NULL || row == NULL || out == NULL)
		return -1;
	if ((md = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, prev, CHAIN_HASH_LEN) != 1 ||
	    EVP_DigestUpdate(md, CHAIN_MAGIC, strlen(CHAIN_MAGIC)) != 1)
		goto out;
	for (i = 0; i < CHAIN_NFIELDS; i++) {
		/* The route is written only when there is one. */
		if (i == CHAIN_F_ROUTE && row->field[i] == NULL)
			break;
		if (chain_put_field(md, row->field[i]) == -1)
			goto out;
	}
	if (EVP_DigestFinal_ex(md, out, &mdlen) != 1 ||
	    mdlen != CHAIN_HASH_LEN)
		goto out;
	rc = 0;
 out:
	EVP_MD_CTX_free(md);
	if (rc == -1)
		ERR_clear_error();
	return rc;
}

static void
chain_hex_n(const uint8_t *buf, size_t len, char *out)
{
	static const char	hex[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[buf[i] >> 4];
		out[2 * i + 1] = hex[buf[i] & 0xf];
	}
	out[2 * len] = '\0';
}

void
chain_hex(const uint8_t hash[CHAIN_HASH_LEN], char *out)
{
	chain_hex_n(hash, CHAIN_HASH_LEN, out);
}

int
chain_checkpoint_text(const char *instance, int64_t seq,
    const uint8_t hash[CHAIN_HASH_LEN], int64_t at_ms, char *out,
    size_t outlen)
{
	char	hex[2 * CHAIN_HASH_LEN + 1];
	int	n;

	if (instance == NULL || hash == NULL || out == NULL || outlen == 0)
		return -1;
	chain_hex(hash, hex);
	n = snprintf(out, outlen, "nwd-checkpoint-v1 %s %" PRId64 " %s %"
	    PRId64, instance, seq, hex, at_ms);
	if (n < 0 || (size_t)n >= outlen) {
		out[0] = '\0';
		return -1;
	}
	return n;
}

/*
 * Reads the PEM file at path into a new buffer (NUL-terminated; *lenp its
 * length).  With secret set, refuses a file that group or others can
 * access.  The caller wipes and frees the buffer.  Returns NULL with the
 * file and reason in err.
 */
static char *
chain_read_pem(const char *path, int secret, size_t *lenp, char *err,
    size_t errlen)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 off = 0;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		chain_err(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		chain_err(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		chain_err(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if (secret && (st.st_mode & 077) != 0) {
		chain_err(err, errlen, "%s: private key file is accessible by "
		    "group or others (mode %04o); refusing it (chmod 600 it)",
		    path, (unsigned int)(st.st_mode & 07777));
		goto fail;
	}
	if (st.st_size > CHAIN_PEM_MAX) {
		chain_err(err, errlen, "%s: %lld bytes is too large for a PEM "
		    "key (at most %d)", path, (long long)st.st_size,
		    CHAIN_PEM_MAX);
		goto fail;
	}
	/* One byte more than the limit, to notice a file that grew. */
	if ((buf = malloc(CHAIN_PEM_BUF)) == NULL) {
		chain_err(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	for (;;) {
		if (off > CHAIN_PEM_MAX) {
			chain_err(err, errlen, "%s: too large for a PEM key "
			    "(at most %d bytes)", path, CHAIN_PEM_MAX);
			goto fail;
		}
		n = read(fd, buf + off, CHAIN_PEM_BUF - 1 - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			chain_err(err, errlen, "%s: %s", path,
			    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	*lenp = off;
	return buf;
 fail:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, CHAIN_PEM_BUF);
		free(buf);
	}
	close(fd);
	return NULL;
}

/* Refuses to prompt for a passphrase: an encrypted key fails to load. */
static int
chain_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/* The key id of an Ed25519 key: 16 hex digits of SHA-256(raw public). */
static int
chain_key_id(EVP_PKEY *pkey, char out[CHAIN_KEY_ID_LEN])
{
	uint8_t		raw[64], md[EVP_MAX_MD_SIZE];
	size_t		rawlen = sizeof(raw);
	unsigned int	mdlen = 0;

	if (EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen) != 1 ||
	    EVP_Digest(raw, rawlen, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen < (CHAIN_KEY_ID_LEN - 1) / 2)
		return -1;
	chain_hex_n(md, (CHAIN_KEY_ID_LEN - 1) / 2, out);
	return 0;
}

/*
 * Loads an Ed25519 key from the PEM file at path, private or public.
 * Returns the key (caller frees) or NULL with the file and reason in err.
 */
static EVP_PKEY *
chain_load_key(const char *path, int private, char *err, size_t errlen)
{
	EVP_PKEY	*pkey = NULL;
	BIO		*bio = NULL;
	char		*pem, why[256];
	size_t		 len = 0;

	if (path == NULL) {
		chain_err(err, errlen, "no key file given");
		return NULL;
	}
	if ((pem = chain_read_pem(path, private, &len, err, errlen)) == NULL)
		return NULL;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		chain_err(err, errlen, "%s: %s", path,
		    chain_ssl_reason(why, sizeof(why)));
		goto out;
	}
	if (private)
		pkey = PEM_read_bio_PrivateKey(bio, NULL, chain_no_passphrase,
		    NULL);
	else
		pkey = PEM_read_bio_PUBKEY(bio, NULL, chain_no_passphrase,
		    NULL);
	if (pkey == NULL) {
		chain_err(err, errlen, "%s: not a%s PEM %s key: %s", path,
		    private ? "n unencrypted" : "", private ? "private" :
		    "public", chain_ssl_reason(why, sizeof(why)));
		goto out;
	}
	if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
		chain_err(err, errlen, "%s: a %s key, not Ed25519", path,
		    EVP_PKEY_get0_type_name(pkey) != NULL ?
		    EVP_PKEY_get0_type_name(pkey) : "different");
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
 out:
	BIO_free(bio);
	OPENSSL_cleanse(pem, CHAIN_PEM_BUF);
	free(pem);
	ERR_clear_error();
	return pkey;
}

struct chain_signer *
chain_signer_load(const char *path, char *err, size_t errlen)
{
	struct chain_signer	*s;
	EVP_PKEY		*pkey;

	if ((pkey = chain_load_key(path, 1, err, errlen)) == NULL)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		chain_err(err, errlen, "%s: out of memory", path);
		EVP_PKEY_free(pkey);
		return NULL;
	}
	s->pkey = pkey;
	if (chain_key_id(pkey, s->key_id) == -1) {
		chain_err(err, errlen, "%s: cannot derive the public key",
		    path);
		ERR_clear_error();
		chain_signer_free(s);
		return NULL;
	}
	return s;
}

const char *
chain_signer_key_id(const struct chain_signer *s)
{
	return s->key_id;
}

int
chain_sign(const struct chain_signer *s, const char *text, size_t len,
    uint8_t sig[CHAIN_SIG_LEN])
{
	EVP_MD_CTX	*md;
	size_t		 siglen = CHAIN_SIG_LEN;
	int		 rc = -1;

	if (s == NULL || (text == NULL && len > 0) || sig == NULL)
		return -1;
	if (text == NULL)
		text = "";
	if ((md = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestSignInit(md, NULL, NULL, NULL, s->pkey) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)text,
	    len) != 1 || siglen != CHAIN_SIG_LEN)
		goto out;
	rc = 0;
 out:
	EVP_MD_CTX_free(md);
	if (rc == -1)
		ERR_clear_error();
	return rc;
}

void
chain_signer_free(struct chain_signer *s)
{
	if (s == NULL)
		return;
	EVP_PKEY_free(s->pkey);		/* wipes the private key */
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

struct chain_verifier *
chain_verifier_load(const char *path, char *err, size_t errlen)
{
	struct chain_verifier	*v;
	EVP_PKEY		*pkey;

	if ((pkey = chain_load_key(path, 0, err, errlen)) == NULL)
		return NULL;
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		chain_err(err, errlen, "%s: out of memory", path);
		EVP_PKEY_free(pkey);
		return NULL;
	}
	v->pkey = pkey;
	if (chain_key_id(pkey, v->key_id) == -1) {
		chain_err(err, errlen, "%s: cannot read the public key", path);
		ERR_clear_error();
		chain_verifier_free(v);
		return NULL;
	}
	return v;
}

const char *
chain_verifier_key_id(const struct chain_verifier *v)
{
	return v->key_id;
}

int
chain_verify(const struct chain_verifier *v, const char *text, size_t len,
    const uint8_t sig[CHAIN_SIG_LEN])
{
	EVP_MD_CTX	*md;
	int		 ok = 0;

	if (v == NULL || (text == NULL && len > 0) || sig == NULL)
		return 0;
	if (text == NULL)
		text = "";
	if ((md = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestVerifyInit(md, NULL, NULL, NULL, v->pkey) != 1)
		goto out;
	ok = EVP_DigestVerify(md, sig, CHAIN_SIG_LEN,
	    (const unsigned char *)text, len) == 1;
 out:
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok;
}

void
chain_verifier_free(struct chain_verifier *v)
{
	if (v == NULL)
		return;
	EVP_PKEY_free(v->pkey);
	free(v);
}
