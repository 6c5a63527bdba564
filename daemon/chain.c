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
#define CHAIN_MSG_MAGIC		"nwd-message-v1\n"
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
chain_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
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

/*
 * SHA-256 fetched once and a context reused for every row, and each row
 * encoded into one buffer (stack up to CHAIN_ROW_STACK bytes) for one
 * digest update: the chain's hashes are those of chain_put_field() field
 * by field, without OpenSSL's setup and per-call costs for each row.
 */
#define CHAIN_ROW_STACK		2048

struct chain_hasher {
	EVP_MD		*sha256;	/* owned */
	EVP_MD_CTX	*md;		/* owned */
};

struct chain_hasher *
chain_hasher_new(void)
{
	struct chain_hasher	*h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	if ((h->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    (h->md = EVP_MD_CTX_new()) == NULL) {
		ERR_clear_error();
		chain_hasher_free(h);
		return NULL;
	}
	return h;
}

void
chain_hasher_free(struct chain_hasher *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->md);
	EVP_MD_free(h->sha256);
	free(h);
}

static uint8_t *
chain_put_be32(uint8_t *p, uint32_t n)
{
	p[0] = n >> 24;
	p[1] = n >> 16;
	p[2] = n >> 8;
	p[3] = n;
	return p + 4;
}

int
chain_hash_with(struct chain_hasher *h, const uint8_t prev[CHAIN_HASH_LEN],
    const struct chain_row *row, uint8_t out[CHAIN_HASH_LEN])
{
	uint8_t		 stack[CHAIN_ROW_STACK], *buf = stack, *p;
	size_t		 len[CHAIN_NFIELDS], total;
	unsigned int	 mdlen = 0;
	int		 i, n, rc = -1;

	if (h == NULL || prev == NULL || row == NULL || out == NULL)
		return -1;
	/* The optional fields up to the last that is not NULL. */
	for (n = CHAIN_NFIELDS; n > CHAIN_F_ROUTE && row->field[n - 1] == NULL;
	    n--)
		;
	total = CHAIN_HASH_LEN + sizeof(CHAIN_MAGIC) - 1;
	for (i = 0; i < n; i++) {
		len[i] = 0;
		/* 0xffffffff is NULL, so it is not a length. */
		if (row->field[i] != NULL &&
		    (len[i] = strlen(row->field[i])) >= CHAIN_NULL_LEN)
			return -1;
		total += 4 + len[i];
	}
	if (total > sizeof(stack) && (buf = malloc(total)) == NULL)
		return -1;
	memcpy(buf, prev, CHAIN_HASH_LEN);
	memcpy(buf + CHAIN_HASH_LEN, CHAIN_MAGIC, sizeof(CHAIN_MAGIC) - 1);
	p = buf + CHAIN_HASH_LEN + sizeof(CHAIN_MAGIC) - 1;
	for (i = 0; i < n; i++) {
		if (row->field[i] == NULL) {
			p = chain_put_be32(p, CHAIN_NULL_LEN);
			continue;
		}
		p = chain_put_be32(p, (uint32_t)len[i]);
		memcpy(p, row->field[i], len[i]);
		p += len[i];
	}
	if (EVP_DigestInit_ex(h->md, h->sha256, NULL) != 1 ||
	    EVP_DigestUpdate(h->md, buf, total) != 1 ||
	    EVP_DigestFinal_ex(h->md, out, &mdlen) != 1 ||
	    mdlen != CHAIN_HASH_LEN) {
		ERR_clear_error();
		goto out;
	}
	rc = 0;
 out:
	if (buf != stack)
		free(buf);
	return rc;
}

int
chain_hash(const uint8_t prev[CHAIN_HASH_LEN], const struct chain_row *row,
    uint8_t out[CHAIN_HASH_LEN])
{
	struct chain_hasher	*h;
	int			 rc;

	if (prev == NULL || row == NULL || out == NULL ||
	    (h = chain_hasher_new()) == NULL)
		return -1;
	rc = chain_hash_with(h, prev, row, out);
	chain_hasher_free(h);
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
chain_unhex(const char *hex, uint8_t *out, size_t n)
{
	size_t	i;
	int	hi, lo;

	if (hex == NULL || strlen(hex) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		if ((hi = chain_hexval(hex[2 * i])) < 0 ||
		    (lo = chain_hexval(hex[2 * i + 1])) < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int
chain_sha256_hex(const void *buf, size_t len, char *out)
{
	uint8_t		md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0;

	if ((buf == NULL && len > 0) || out == NULL ||
	    EVP_Digest(buf != NULL ? buf : "", len, md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen != CHAIN_HASH_LEN) {
		ERR_clear_error();
		return -1;
	}
	chain_hex(md, out);
	return 0;
}

int
chain_message_hash(const struct chain_message *m, uint8_t out[CHAIN_HASH_LEN])
{
	EVP_MD_CTX	*md;
	unsigned int	 mdlen = 0;
	size_t		 i, j;
	int		 rc = -1;

	if (m == NULL || out == NULL || (m->nalloc > 0 && m->alloc == NULL))
		return -1;
	if ((md = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, CHAIN_MSG_MAGIC,
	    strlen(CHAIN_MSG_MAGIC)) != 1)
		goto out;
	for (i = 0; i < CHAIN_MSG_NFIELDS; i++)
		if (chain_put_field(md, m->field[i]) == -1)
			goto out;
	for (j = 0; j < m->nalloc; j++)
		for (i = 0; i < CHAIN_ALLOC_NFIELDS; i++)
			if (chain_put_field(md, m->alloc[j][i]) == -1)
				goto out;
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

int
chain_restore_text(const char *instance, int64_t old_seq,
    const uint8_t old_hash[CHAIN_HASH_LEN], int64_t new_seq,
    const uint8_t new_hash[CHAIN_HASH_LEN], int64_t at_ms, char *out,
    size_t outlen)
{
	char	oh[CHAIN_HEX_LEN], nh[CHAIN_HEX_LEN];
	int	n;

	if (instance == NULL || old_hash == NULL || new_hash == NULL ||
	    out == NULL || outlen == 0)
		return -1;
	chain_hex(old_hash, oh);
	chain_hex(new_hash, nh);
	n = snprintf(out, outlen, "nwd-restore-v1 %s %" PRId64 " %s %" PRId64
	    " %s %" PRId64, instance, old_seq, oh, new_seq, nh, at_ms);
	if (n < 0 || (size_t)n >= outlen) {
		out[0] = '\0';
		return -1;
	}
	return n;
}

int
chain_anchor_text(const struct chain_anchor *a, char *out, size_t outlen)
{
	if (a == NULL)
		return -1;
	if (a->type == CHAIN_ANCHOR_CHECKPOINT)
		return chain_checkpoint_text(a->instance, a->seq, a->hash,
		    a->at_ms, out, outlen);
	return chain_restore_text(a->instance, a->old_seq, a->old_hash,
	    a->seq, a->hash, a->at_ms, out, outlen);
}

/* 1 if v must be quoted in an anchor line. */
static int
chain_needs_quotes(const char *v)
{
	const unsigned char	*p;

	if (*v == '\0')
		return 1;
	for (p = (const unsigned char *)v; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '"' || *p == '\\' ||
		    *p == '=')
			return 1;
	return 0;
}

int
chain_put_value(char *out, size_t outlen, const char *v)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p;
	size_t			 start, n;

	if (out == NULL || v == NULL || (start = strlen(out)) >= outlen)
		return -1;
	n = start;
	if (!chain_needs_quotes(v)) {
		if (n + strlen(v) >= outlen)
			return -1;
		memcpy(out + n, v, strlen(v) + 1);
		return 0;
	}
#define PUT(c) do {						\
	if (n + 1 >= outlen) {					\
		out[start] = '\0';				\
		return -1;					\
	}							\
	out[n++] = (c);						\
} while (0)
	PUT('"');
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			PUT('\\');
			PUT(*p);
		} else if (*p < ' ' || *p == 0x7f) {
			PUT('\\');
			PUT('x');
			PUT(hex[*p >> 4]);
			PUT(hex[*p & 0xf]);
		} else
			PUT(*p);
	}
	PUT('"');
#undef PUT
	out[n] = '\0';
	return 0;
}

int
chain_next_pair(const char **pp, const char *end, char *key, size_t keylen,
    char *val, size_t vallen)
{
	const char	*p = *pp;
	size_t		 k = 0, v = 0;
	int		 hi, lo;

	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' ||
	    *p == '\n'))
		p++;
	if (p == end)
		return 0;
	while (p < end && *p != '=' && *p != ' ' && *p != '\t') {
		if (k + 1 >= keylen)
			return -1;
		key[k++] = *p++;
	}
	key[k] = '\0';
	if (k == 0 || p == end || *p != '=')
		return -1;
	p++;
	if (p < end && *p == '"') {
		for (p++; p < end && *p != '"'; p++) {
			char	c = *p;

			if (c == '\\') {
				if (++p == end)
					return -1;
				c = *p;
				if (c == 'x') {
					if (end - p < 3 ||
					    (hi = chain_hexval(p[1])) < 0 ||
					    (lo = chain_hexval(p[2])) < 0)
						return -1;
					c = (char)(hi << 4 | lo);
					p += 2;
				} else if (c != '"' && c != '\\')
					return -1;
			}
			if (c == '\0' || v + 1 >= vallen)
				return -1;
			val[v++] = c;
		}
		if (p == end)
			return -1;
		p++;
		if (p < end && *p != ' ' && *p != '\t' && *p != '\r' &&
		    *p != '\n')
			return -1;
	} else {
		while (p < end && *p != ' ' && *p != '\t' && *p != '\r' &&
		    *p != '\n') {
			if (*p == '\0' || v + 1 >= vallen)
				return -1;
			val[v++] = *p++;
		}
	}
	val[v] = '\0';
	*pp = p;
	return 1;
}

int
chain_anchor_format(const struct chain_anchor *a, char *out, size_t outlen)
{
	char	h[CHAIN_HEX_LEN], oh[CHAIN_HEX_LEN];
	char	sig[2 * CHAIN_SIG_LEN + 1], num[3][24];
	size_t	n;

	if (a == NULL || out == NULL || outlen == 0 ||
	    memchr(a->instance, '\0', sizeof(a->instance)) == NULL ||
	    a->instance[0] == '\0' ||
	    memchr(a->key_id, '\0', sizeof(a->key_id)) == NULL)
		return -1;
	chain_hex(a->hash, h);
	chain_hex(a->old_hash, oh);
	chain_hex_n(a->sig, CHAIN_SIG_LEN, sig);
	snprintf(num[0], sizeof(num[0]), "%" PRId64, a->seq);
	snprintf(num[1], sizeof(num[1]), "%" PRId64, a->old_seq);
	snprintf(num[2], sizeof(num[2]), "%" PRId64, a->at_ms);
	n = (size_t)snprintf(out, outlen, "event=%s instance=",
	    a->type == CHAIN_ANCHOR_CHECKPOINT ? "checkpoint" :
	    "restore_accepted");
	if (n >= outlen || chain_put_value(out, outlen, a->instance) == -1)
		goto toolong;
	n = strlen(out);
	if (a->type == CHAIN_ANCHOR_CHECKPOINT)
		n += snprintf(out + n, outlen - n, " seq=%s hash=%s", num[0],
		    h);
	else
		n += snprintf(out + n, outlen - n, " old_seq=%s old_hash=%s "
		    "new_seq=%s new_hash=%s", num[1], oh, num[0], h);
	if (n >= outlen)
		goto toolong;
	n += snprintf(out + n, outlen - n, " at=%s key_id=", num[2]);
	if (n >= outlen || chain_put_value(out, outlen, a->key_id) == -1)
		goto toolong;
	n = strlen(out);
	n += snprintf(out + n, outlen - n, " signature=%s", sig);
	if (n >= outlen)
		goto toolong;
	return (int)n;
 toolong:
	out[0] = '\0';
	return -1;
}

/* Parses a decimal int64 of a whole string; returns 0 or -1. */
static int
chain_parse_i64(const char *v, int64_t *out)
{
	char		*end;
	long long	 n;

	if (*v == '\0' || (*v != '-' && (*v < '0' || *v > '9')))
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = n;
	return 0;
}

int
chain_anchor_parse(const char *line, size_t len, struct chain_anchor *a,
    char *err, size_t errlen)
{
	static const char	*ev = "event=";
	const char		*p, *end = line + len, *q;
	char			 key[32];
	char			 val[CHAIN_ANCHOR_INSTANCE_MAX + 1];
	unsigned int		 seen = 0, want;
	int			 r;

	if (line == NULL || a == NULL)
		return -1;
	memset(a, 0, sizeof(*a));
	/* The first "event=" at the start of the line or after a blank. */
	for (p = line; p < end; p++) {
		if ((size_t)(end - p) < strlen(ev))
			return 0;
		if (memcmp(p, ev, strlen(ev)) == 0 && (p == line ||
		    p[-1] == ' ' || p[-1] == '\t' || p[-1] == '>'))
			break;
	}
	if (p >= end)
		return 0;
	q = p;
	if ((r = chain_next_pair(&q, end, key, sizeof(key), val,
	    sizeof(val))) != 1)
		return 0;
	if (strcmp(val, "checkpoint") == 0) {
		a->type = CHAIN_ANCHOR_CHECKPOINT;
		want = 0x1 | 0x2 | 0x4 | 0x20 | 0x40 | 0x80;
	} else if (strcmp(val, "restore_accepted") == 0) {
		a->type = CHAIN_ANCHOR_RESTORE;
		want = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x80;
	} else
		return 0;
	while ((r = chain_next_pair(&q, end, key, sizeof(key), val,
	    sizeof(val))) == 1) {
		unsigned int	bit;
		int		bad = 0;

		if (strcmp(key, "instance") == 0) {
			bit = 0x1;
			bad = val[0] == '\0';
			snprintf(a->instance, sizeof(a->instance), "%s", val);
		} else if (strcmp(key, a->type == CHAIN_ANCHOR_CHECKPOINT ?
		    "seq" : "new_seq") == 0) {
			bit = 0x2;
			bad = chain_parse_i64(val, &a->seq) == -1;
		} else if (strcmp(key, a->type == CHAIN_ANCHOR_CHECKPOINT ?
		    "hash" : "new_hash") == 0) {
			bit = 0x4;
			bad = chain_unhex(val, a->hash, CHAIN_HASH_LEN) == -1;
		} else if (a->type == CHAIN_ANCHOR_RESTORE &&
		    strcmp(key, "old_seq") == 0) {
			bit = 0x8;
			bad = chain_parse_i64(val, &a->old_seq) == -1;
		} else if (a->type == CHAIN_ANCHOR_RESTORE &&
		    strcmp(key, "old_hash") == 0) {
			bit = 0x10;
			bad = chain_unhex(val, a->old_hash,
			    CHAIN_HASH_LEN) == -1;
		} else if (strcmp(key, "at") == 0) {
			bit = 0x20;
			bad = chain_parse_i64(val, &a->at_ms) == -1;
		} else if (strcmp(key, "key_id") == 0) {
			bit = 0x40;
			bad = strlen(val) >= sizeof(a->key_id);
			if (!bad)
				snprintf(a->key_id, sizeof(a->key_id), "%s",
				    val);
		} else if (strcmp(key, "signature") == 0) {
			bit = 0x80;
			bad = chain_unhex(val, a->sig, CHAIN_SIG_LEN) == -1;
		} else
			continue;	/* a field of a later version */
		if (bad || (seen & bit) != 0) {
			chain_err(err, errlen, "%s the value of %s",
			    bad ? "cannot read" : "a second", key);
			return -1;
		}
		seen |= bit;
	}
	if (r == -1) {
		chain_err(err, errlen, "a value is malformed or too long");
		return -1;
	}
	if ((seen & want) != want) {
		chain_err(err, errlen, "a field is missing");
		return -1;
	}
	return 1;
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
