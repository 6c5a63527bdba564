/*
 * seal: AES-256-GCM for message bodies at rest, with rotating keys named
 * by id.  See seal.h for the sealed layout.
 */
#include <sys/stat.h>

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

struct seal_key {
	uint8_t		key[SEAL_KEY_LEN];
	char		id[SEAL_KEY_ID_LEN];
};

struct sealer {
	size_t		nkeys;
	struct seal_key	keys[];		/* keys[0] seals; all open */
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
	rc = 0;
 out:
	OPENSSL_cleanse(buf, sizeof(buf));
	if (rc == -1)
		OPENSSL_cleanse(k->key, sizeof(k->key));
	close(fd);
	return rc;
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
	return s;
}

void
sealer_free(struct sealer *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s->keys, s->nkeys * sizeof(s->keys[0]));
	free(s);
}

const char *
sealer_key_id(const struct sealer *s)
{
	return s->keys[0].id;
}

uint8_t *
seal_body(const struct sealer *s, const char *message_id,
    const uint8_t *body, size_t len, size_t *outlen)
{
	EVP_CIPHER_CTX	*ctx = NULL;
	uint8_t		*out, *ct, *tag;
	size_t		 aadlen;
	int		 n, ok = 0;

	if (s == NULL || message_id == NULL || (body == NULL && len > 0) ||
	    outlen == NULL)
		return NULL;
	/* EVP counts in int; bodies are far smaller (frame limits). */
	aadlen = strlen(message_id);
	if (len > INT_MAX - SEAL_OVERHEAD || aadlen > INT_MAX)
		return NULL;
	if ((out = malloc(len + SEAL_OVERHEAD)) == NULL)
		return NULL;
	ct = out + SEAL_NONCE_LEN;
	tag = ct + len;
	if (RAND_bytes(out, SEAL_NONCE_LEN) != 1)
		goto out;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN,
	    NULL) != 1 ||
	    EVP_EncryptInit_ex(ctx, NULL, NULL, s->keys[0].key, out) != 1)
		goto out;
	if (aadlen > 0 && EVP_EncryptUpdate(ctx, NULL, &n,
	    (const uint8_t *)message_id, (int)aadlen) != 1)
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
	EVP_CIPHER_CTX_free(ctx);
	if (!ok) {
		ERR_clear_error();
		OPENSSL_cleanse(out, len + SEAL_OVERHEAD);
		free(out);
		return NULL;
	}
	return out;
}

uint8_t *
open_body(const struct sealer *s, const char *key_id,
    const char *message_id, const uint8_t *sealed, size_t len,
    size_t *outlen, char *err, size_t errlen)
{
	const struct seal_key	*k = NULL;
	EVP_CIPHER_CTX		*ctx = NULL;
	const uint8_t		*ct, *tag;
	uint8_t			*out, tagbuf[SEAL_TAG_LEN];
	size_t			 i, ptlen, aadlen;
	int			 n, ok = 0;

	if (s == NULL || message_id == NULL || sealed == NULL ||
	    outlen == NULL) {
		seal_err(err, errlen, "open_body: missing argument");
		return NULL;
	}
	for (i = 0; key_id != NULL && i < s->nkeys; i++)
		if (strcmp(s->keys[i].id, key_id) == 0) {
			k = &s->keys[i];
			break;
		}
	if (k == NULL) {
		seal_err(err, errlen, "body of message %s is sealed with "
		    "unknown key %s (this daemon has %zu key%s, sealing with "
		    "%s)", message_id, key_id != NULL ? key_id : "(none)",
		    s->nkeys, s->nkeys == 1 ? "" : "s", s->keys[0].id);
		return NULL;
	}
	if (len < SEAL_OVERHEAD) {
		seal_err(err, errlen, "body of message %s fails "
		    "authentication: %zu bytes is shorter than a sealed body "
		    "(%d)", message_id, len, SEAL_OVERHEAD);
		return NULL;
	}
	aadlen = strlen(message_id);
	if (len > INT_MAX || aadlen > INT_MAX) {
		seal_err(err, errlen, "body of message %s is too large (%zu "
		    "bytes)", message_id, len);
		return NULL;
	}
	ptlen = len - SEAL_OVERHEAD;
	ct = sealed + SEAL_NONCE_LEN;
	tag = ct + ptlen;
	/* One byte at least, so that an empty body is not NULL. */
	if ((out = malloc(ptlen > 0 ? ptlen : 1)) == NULL) {
		seal_err(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(tagbuf, tag, SEAL_TAG_LEN);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN,
	    NULL) != 1 ||
	    EVP_DecryptInit_ex(ctx, NULL, NULL, k->key, sealed) != 1) {
		seal_err(err, errlen, "cannot set up AES-256-GCM");
		goto out;
	}
	if ((aadlen > 0 && EVP_DecryptUpdate(ctx, NULL, &n,
	    (const uint8_t *)message_id, (int)aadlen) != 1) ||
	    (ptlen > 0 && (EVP_DecryptUpdate(ctx, out, &n, ct,
	    (int)ptlen) != 1 || (size_t)n != ptlen)) ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN,
	    tagbuf) != 1) {
		seal_err(err, errlen, "cannot decrypt the body of message %s",
		    message_id);
		goto out;
	}
	if (EVP_DecryptFinal_ex(ctx, out + ptlen, &n) != 1) {
		seal_err(err, errlen, "body of message %s fails authentication "
		    "with key %s (tampered, or sealed for another message)",
		    message_id, k->id);
		goto out;
	}
	*outlen = ptlen;
	ok = 1;
 out:
	EVP_CIPHER_CTX_free(ctx);
	if (!ok) {
		ERR_clear_error();
		/* Unauthenticated plaintext never leaves this function. */
		OPENSSL_cleanse(out, ptlen > 0 ? ptlen : 1);
		free(out);
		return NULL;
	}
	return out;
}
