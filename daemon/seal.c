/*
 * seal: AES-256-GCM for message bodies at rest, with rotating keys named
 * by id.  See seal.h for the sealed layout.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "seal.h"

/* The largest key file: 64 hex digits and a newline. */
#define SEAL_FILE_MAX	(2 * SEAL_KEY_LEN + 1)

#define SEAL_AAD_MAGIC	"nwd-seal-v2\n"
#define SEAL_AAD_STACK	256	/* additional data up to this on the stack */

struct seal_key {
	uint8_t		 key[SEAL_KEY_LEN];
	char		 id[SEAL_KEY_ID_LEN];
	char		 row_id[SEAL_ROW_KEY_ID_LEN]; /* id, format 2 */
	EVP_CIPHER_CTX	*dec;		/* owned; keyed to open */
};

/*
 * The cipher is fetched and each key's context keyed once, at load; a
 * body only sets its nonce (EVP_*Init_ex with no cipher and no key keeps
 * both), instead of fetching the cipher and expanding the key again for
 * every message.  A sealer is used by one thread at a time.
 */
struct sealer {
	EVP_CIPHER	*gcm;		/* owned; AES-256-GCM */
	EVP_CIPHER_CTX	*enc;		/* owned; keyed with keys[0] */
	size_t		 nkeys;
	struct seal_key	 keys[];	/* keys[0] seals; all open */
};

static void
seal_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int
seal_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Reads the key file at path into k and names it.  Returns 0, or -1 with
 * the file and reason in err.  Nothing read from the file survives in
 * memory but k->key.
 */
static int
seal_read_key(const char *path, struct seal_key *k, char *err, size_t errlen)
{
	static const char	hex[] = "0123456789abcdef";
	struct stat		st;
	uint8_t			buf[SEAL_FILE_MAX + 1], md[EVP_MAX_MD_SIZE];
	unsigned int		mdlen = 0;
	size_t			off = 0, i, ndig;
	ssize_t			n;
	int			fd, hi, lo, rc = -1;

	if (path == NULL) {
		seal_err(err, errlen, "no key file given");
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		seal_err(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		seal_err(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		seal_err(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		seal_err(err, errlen, "%s: key file is accessible by group or "
		    "others (mode %04o); refusing it (chmod 600 it)", path,
		    (unsigned int)(st.st_mode & 07777));
		goto out;
	}
	for (;;) {
		n = read(fd, buf + off, sizeof(buf) - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			seal_err(err, errlen, "%s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		off += (size_t)n;
		if (off == sizeof(buf)) {
			seal_err(err, errlen, "%s: expected 32 raw bytes or 64 "
			    "hex digits, found %lld bytes", path,
			    (long long)(st.st_size > (off_t)off ?
			    st.st_size : (off_t)off));
			goto out;
		}
	}

	if (off == SEAL_KEY_LEN)
		memcpy(k->key, buf, SEAL_KEY_LEN);
	else if (off == 2 * SEAL_KEY_LEN ||
	    (off == 2 * SEAL_KEY_LEN + 1 && buf[off - 1] == '\n')) {
		for (ndig = 0; ndig < 2 * SEAL_KEY_LEN; ndig++)
			if (seal_hexval(buf[ndig]) == -1)
				break;
		if (ndig != 2 * SEAL_KEY_LEN) {
			seal_err(err, errlen, "%s: expected 32 raw bytes or "
			    "64 hex digits, found %zu bytes of which byte %zu "
			    "is not a hex digit", path, off, ndig + 1);
			goto out;
		}
		for (i = 0; i < SEAL_KEY_LEN; i++) {
			hi = seal_hexval(buf[2 * i]);
			lo = seal_hexval(buf[2 * i + 1]);
			k->key[i] = (uint8_t)(hi << 4 | lo);
		}
	} else if (off == 2 * SEAL_KEY_LEN + 1) {
		seal_err(err, errlen, "%s: expected 32 raw bytes or 64 hex "
		    "digits, found 65 bytes not ending in a newline", path);
		goto out;
	} else {
		seal_err(err, errlen, "%s: expected 32 raw bytes or 64 hex "
		    "digits, found %zu bytes", path, off);
		goto out;
	}

	for (i = 0; i < SEAL_KEY_LEN && k->key[i] == 0; i++)
		;
	if (i == SEAL_KEY_LEN) {
		seal_err(err, errlen, "%s: the key is all zeros, not a random "
		    "key", path);
		goto out;
	}
	if (EVP_Digest(k->key, SEAL_KEY_LEN, md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen < (SEAL_KEY_ID_LEN - 1) / 2) {
		seal_err(err, errlen, "%s: cannot compute the key id", path);
		ERR_clear_error();
		goto out;
	}
	for (i = 0; i < (SEAL_KEY_ID_LEN - 1) / 2; i++) {
		k->id[2 * i] = hex[md[i] >> 4];
		k->id[2 * i + 1] = hex[md[i] & 0xf];
	}
	k->id[SEAL_KEY_ID_LEN - 1] = '\0';
	snprintf(k->row_id, sizeof(k->row_id), "%s%s", k->id, SEAL_V2_SUFFIX);
	rc = 0;
 out:
	OPENSSL_cleanse(buf, sizeof(buf));
	if (rc == -1)
		OPENSSL_cleanse(k->key, sizeof(k->key));
	close(fd);
	return rc;
}

/*
 * A context of cipher keyed with key, to encrypt (enc 1) or decrypt, with
 * nonces of SEAL_NONCE_LEN bytes; each use sets its nonce.  Returns NULL
 * if OpenSSL fails.
 */
static EVP_CIPHER_CTX *
seal_ctx(const EVP_CIPHER *cipher, const uint8_t *key, int enc)
{
	EVP_CIPHER_CTX	*ctx;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return NULL;
	if (EVP_CipherInit_ex(ctx, cipher, NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN,
	    NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, NULL, enc) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

struct sealer *
sealer_load(const char *const *paths, size_t npaths, char *err,
    size_t errlen)
{
	struct sealer	*s;
	size_t		 i;

	if (paths == NULL || npaths == 0) {
		seal_err(err, errlen, "no key files given");
		return NULL;
	}
	if (npaths > (SIZE_MAX - sizeof(*s)) / sizeof(s->keys[0])) {
		seal_err(err, errlen, "too many key files");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s) + npaths * sizeof(s->keys[0]))) ==
	    NULL) {
		seal_err(err, errlen, "out of memory");
		return NULL;
	}
	s->nkeys = npaths;
	for (i = 0; i < npaths; i++)
		if (seal_read_key(paths[i], &s->keys[i], err, errlen) == -1) {
			sealer_free(s);
			return NULL;
		}
	if ((s->gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL)) == NULL ||
	    (s->enc = seal_ctx(s->gcm, s->keys[0].key, 1)) == NULL)
		goto nocipher;
	for (i = 0; i < npaths; i++)
		if ((s->keys[i].dec = seal_ctx(s->gcm, s->keys[i].key,
		    0)) == NULL)
			goto nocipher;
	return s;
 nocipher:
	seal_err(err, errlen, "cannot set up AES-256-GCM");
	ERR_clear_error();
	sealer_free(s);
	return NULL;
}

void
sealer_free(struct sealer *s)
{
	size_t	i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nkeys; i++)
		EVP_CIPHER_CTX_free(s->keys[i].dec);
	EVP_CIPHER_CTX_free(s->enc);
	EVP_CIPHER_free(s->gcm);
	OPENSSL_cleanse(s->keys, s->nkeys * sizeof(s->keys[0]));
	free(s);
}

const char *
sealer_key_id(const struct sealer *s)
{
	return s->keys[0].id;
}

const char *
sealer_row_key_id(const struct sealer *s)
{
	return s->keys[0].row_id;
}

static void
seal_put_be32(uint8_t *p, uint32_t n)
{
	p[0] = n >> 24;
	p[1] = n >> 16;
	p[2] = n >> 8;
	p[3] = n;
}

/*
 * The additional data of format v (1 or 2) for aad, into buf if it fits
 * in buflen bytes, else into a new buffer (the caller frees what is not
 * buf; *lenp its length).  Returns NULL if an argument is missing or
 * memory failed.
 */
static uint8_t *
seal_aad_bytes(const struct seal_aad *aad, int v, uint8_t *buf0,
    size_t buflen, size_t *lenp)
{
	uint8_t		*buf, *p;
	char		 kind[16];
	size_t		 ilen, slen, klen, len, i;

	if (aad == NULL || aad->message_id == NULL ||
	    (v == 2 && aad->subject == NULL))
		return NULL;
	ilen = strlen(aad->message_id);
	if (v == 1) {
		if (ilen > INT_MAX)
			return NULL;
		if ((buf = ilen <= buflen ? buf0 : malloc(ilen)) == NULL)
			return NULL;
		memcpy(buf, aad->message_id, ilen);
		*lenp = ilen;
		return buf;
	}
	snprintf(kind, sizeof(kind), "%d", aad->kind);
	slen = strlen(aad->subject);
	klen = strlen(kind);
	if (ilen > UINT32_MAX || slen > INT_MAX - 64 - ilen)
		return NULL;
	len = strlen(SEAL_AAD_MAGIC) + 12 + ilen + slen + klen;
	if ((buf = len <= buflen ? buf0 : malloc(len)) == NULL)
		return NULL;
	p = buf;
	memcpy(p, SEAL_AAD_MAGIC, strlen(SEAL_AAD_MAGIC));
	p += strlen(SEAL_AAD_MAGIC);
	seal_put_be32(p, (uint32_t)ilen);
	p += 4;
	/* The id as the database prints it: lower-case. */
	for (i = 0; i < ilen; i++)
		*p++ = (uint8_t)tolower((unsigned char)aad->message_id[i]);
	seal_put_be32(p, (uint32_t)slen);
	p += 4;
	memcpy(p, aad->subject, slen);
	p += slen;
	seal_put_be32(p, (uint32_t)klen);
	p += 4;
	memcpy(p, kind, klen);
	*lenp = len;
	return buf;
}

uint8_t *
seal_body(const struct sealer *s, const struct seal_aad *aad,
    const uint8_t *body, size_t len, size_t *outlen)
{
	EVP_CIPHER_CTX	*ctx;
	uint8_t		*out = NULL, *ct, *tag, *ad;
	uint8_t		 adbuf[SEAL_AAD_STACK];
	size_t		 aadlen = 0;
	int		 n, ok = 0;

	if (s == NULL || (body == NULL && len > 0) || outlen == NULL)
		return NULL;
	if ((ad = seal_aad_bytes(aad, 2, adbuf, sizeof(adbuf), &aadlen)) ==
	    NULL)
		return NULL;
	ctx = s->enc;
	/* EVP counts in int; bodies are far smaller (frame limits). */
	if (len > INT_MAX - SEAL_OVERHEAD || aadlen > INT_MAX)
		goto out;
	if ((out = malloc(len + SEAL_OVERHEAD)) == NULL)
		goto out;
	ct = out + SEAL_NONCE_LEN;
	tag = ct + len;
	if (RAND_bytes(out, SEAL_NONCE_LEN) != 1)
		goto out;
	/* The key and nonce length stay; only the nonce is new. */
	if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, out) != 1)
		goto out;
	if (aadlen > 0 && EVP_EncryptUpdate(ctx, NULL, &n, ad,
	    (int)aadlen) != 1)
		goto out;
	if (len > 0 && (EVP_EncryptUpdate(ctx, ct, &n, body, (int)len) != 1 ||
	    (size_t)n != len))
		goto out;
	if (EVP_EncryptFinal_ex(ctx, ct + len, &n) != 1 || n != 0 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN,
	    tag) != 1)
		goto out;
	*outlen = len + SEAL_OVERHEAD;
	ok = 1;
 out:
	if (ad != adbuf)
		free(ad);
	if (!ok) {
		ERR_clear_error();
		if (out != NULL) {
			OPENSSL_cleanse(out, len + SEAL_OVERHEAD);
			free(out);
		}
		return NULL;
	}
	return out;
}

uint8_t *
open_body(const struct sealer *s, const char *key_id,
    const struct seal_aad *aad, const uint8_t *sealed, size_t len,
    size_t *outlen, char *err, size_t errlen)
{
	const struct seal_key	*k = NULL;
	EVP_CIPHER_CTX		*ctx;
	const uint8_t		*ct, *tag;
	uint8_t			*out, *ad, tagbuf[SEAL_TAG_LEN];
	uint8_t			 adbuf[SEAL_AAD_STACK];
	const char		*mid;
	size_t			 i, ptlen, aadlen = 0, idlen = 0;
	int			 n, ok = 0, v = 1;

	if (s == NULL || aad == NULL || aad->message_id == NULL ||
	    sealed == NULL || outlen == NULL) {
		seal_err(err, errlen, "open_body: missing argument");
		return NULL;
	}
	mid = aad->message_id;
	/* "<id>/2" is format 2; "<id>" format 1. */
	if (key_id != NULL) {
		idlen = strlen(key_id);
		if (idlen > strlen(SEAL_V2_SUFFIX) && strcmp(key_id + idlen -
		    strlen(SEAL_V2_SUFFIX), SEAL_V2_SUFFIX) == 0) {
			v = 2;
			idlen -= strlen(SEAL_V2_SUFFIX);
		}
	}
	for (i = 0; key_id != NULL && i < s->nkeys; i++)
		if (strlen(s->keys[i].id) == idlen &&
		    strncmp(s->keys[i].id, key_id, idlen) == 0) {
			k = &s->keys[i];
			break;
		}
	if (k == NULL) {
		seal_err(err, errlen, "body of message %s is sealed with "
		    "unknown key %s (this daemon has %zu key%s, sealing with "
		    "%s)", mid, key_id != NULL ? key_id : "(none)",
		    s->nkeys, s->nkeys == 1 ? "" : "s", s->keys[0].id);
		return NULL;
	}
	if (len < SEAL_OVERHEAD) {
		seal_err(err, errlen, "body of message %s fails "
		    "authentication: %zu bytes is shorter than a sealed body "
		    "(%d)", mid, len, SEAL_OVERHEAD);
		return NULL;
	}
	if (len > INT_MAX) {
		seal_err(err, errlen, "body of message %s is too large (%zu "
		    "bytes)", mid, len);
		return NULL;
	}
	if ((ad = seal_aad_bytes(aad, v, adbuf, sizeof(adbuf), &aadlen)) ==
	    NULL) {
		seal_err(err, errlen, "body of message %s: %s", mid, v == 2 &&
		    aad->subject == NULL ? "no subject to check it against" :
		    "out of memory");
		return NULL;
	}
	ptlen = len - SEAL_OVERHEAD;
	ct = sealed + SEAL_NONCE_LEN;
	tag = ct + ptlen;
	/* One byte at least, so that an empty body is not NULL. */
	if ((out = malloc(ptlen > 0 ? ptlen : 1)) == NULL) {
		if (ad != adbuf)
			free(ad);
		seal_err(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(tagbuf, tag, SEAL_TAG_LEN);
	/* The key and nonce length stay; only the nonce is new. */
	ctx = k->dec;
	if (EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, sealed) != 1) {
		seal_err(err, errlen, "cannot set up AES-256-GCM");
		goto out;
	}
	if ((aadlen > 0 && EVP_DecryptUpdate(ctx, NULL, &n, ad,
	    (int)aadlen) != 1) ||
	    (ptlen > 0 && (EVP_DecryptUpdate(ctx, out, &n, ct,
	    (int)ptlen) != 1 || (size_t)n != ptlen)) ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN,
	    tagbuf) != 1) {
		seal_err(err, errlen, "cannot decrypt the body of message %s",
		    mid);
		goto out;
	}
	if (EVP_DecryptFinal_ex(ctx, out + ptlen, &n) != 1) {
		seal_err(err, errlen, "body of message %s fails authentication "
		    "with key %s (tampered, sealed for another message, or the "
		    "message's %s changed)", mid, k->id, v == 2 ?
		    "subject or kind" : "id");
		goto out;
	}
	*outlen = ptlen;
	ok = 1;
 out:
	if (ad != adbuf)
		free(ad);
	if (!ok) {
		ERR_clear_error();
		/* Unauthenticated plaintext never leaves this function. */
		OPENSSL_cleanse(out, ptlen > 0 ? ptlen : 1);
		free(out);
		return NULL;
	}
	return out;
}
