#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls.h"

struct tls_ctx {
	SSL_CTX	*ctx;	/* owned */
};

/* What the verify callback saw first, kept per SSL for the refusal audit. */
struct verify_note {
	int	 error;		/* X509_V_ERR_*, 0 if verification passed */
	int	 depth;
	char	 subject[256];
};

static int note_index = -1;

static void
note_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	free(ptr);
}

static int
verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL			*ssl;
	struct verify_note	*n;
	X509			*cert;

	if (ok)
		return 1;
	ssl = X509_STORE_CTX_get_ex_data(xs,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	if (ssl == NULL || (n = SSL_get_ex_data(ssl, note_index)) == NULL ||
	    n->error != 0)
		return 0;
	n->error = X509_STORE_CTX_get_error(xs);
	n->depth = X509_STORE_CTX_get_error_depth(xs);
	/* Name the client's own certificate, not an issuer up the chain. */
	cert = X509_STORE_CTX_get0_cert(xs);
	if (cert == NULL)
		cert = X509_STORE_CTX_get_current_cert(xs);
	if (cert != NULL) {
		BIO *b = BIO_new(BIO_s_mem());
		int len;

		if (b != NULL) {
			X509_NAME_print_ex(b, X509_get_subject_name(cert), 0,
			    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
			len = BIO_read(b, n->subject, sizeof(n->subject) - 1);
			n->subject[len > 0 ? len : 0] = '\0';
			BIO_free(b);
		}
	}
	return 0;
}

static int
load_crl(X509_STORE *store, const char *path, char *err, size_t errlen)
{
	BIO		*b;
	X509_CRL	*crl;
	int		 n = 0;

	if ((b = BIO_new_file(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot open CRL", path);
		return -1;
	}
	while ((crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL)) != NULL) {
		if (!X509_STORE_add_crl(store, crl)) {
			X509_CRL_free(crl);
			BIO_free(b);
			snprintf(err, errlen, "%s: cannot add CRL", path);
			return -1;
		}
		X509_CRL_free(crl);
		n++;
	}
	ERR_clear_error();
	BIO_free(b);
	if (n == 0) {
		snprintf(err, errlen, "%s: no PEM CRL in the file", path);
		return -1;
	}
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	return 0;
}

static void
openssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, len, "unknown OpenSSL error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
}

struct tls_ctx *
tls_ctx_new(const struct config *cfg, char *err, size_t errlen)
{
	struct tls_ctx		*t;
	SSL_CTX			*ctx;
	STACK_OF(X509_NAME)	*names;
	char			 why[256];

	if (note_index == -1)
		note_index = SSL_get_ex_new_index(0, NULL, NULL, NULL,
		    note_free);
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((ctx = t->ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		openssl_reason(why, sizeof(why));
		snprintf(err, errlen, "cannot create TLS context: %s", why);
		goto bad;
	}
	SSL_CTX_set_min_proto_version(ctx, cfg->tls_min_version == 12 ?
	    TLS1_2_VERSION : TLS1_3_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_TICKET);
	if (cfg->tls_min_version == 12 && !SSL_CTX_set_cipher_list(ctx,
	    "ECDHE+AESGCM:ECDHE+CHACHA20")) {
		openssl_reason(why, sizeof(why));
		snprintf(err, errlen, "cannot set TLS 1.2 ciphers: %s", why);
		goto bad;
	}
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* An idle session keeps no read or write buffer. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1) {
		openssl_reason(why, sizeof(why));
		snprintf(err, errlen, "%s: cannot load server certificate: %s",
		    cfg->tls_cert, why);
		goto bad;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key,
	    SSL_FILETYPE_PEM) != 1) {
		openssl_reason(why, sizeof(why));
		snprintf(err, errlen, "%s: cannot load server key: %s",
		    cfg->tls_key, why);
		goto bad;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		openssl_reason(why, sizeof(why));
		snprintf(err, errlen, "%s does not match %s: %s", cfg->tls_key,
		    cfg->tls_cert, why);
		goto bad;
	}
	if (SSL_CTX_load_verify_locations(ctx, cfg->tls_ca, NULL) != 1) {
		openssl_reason(why, sizeof(why));
		snprintf(err, errlen, "%s: cannot load client CA: %s",
		    cfg->tls_ca, why);
		goto bad;
	}
	if ((names = SSL_load_client_CA_file(cfg->tls_ca)) != NULL)
		SSL_CTX_set_client_CA_list(ctx, names);
	if (cfg->tls_crl != NULL && load_crl(SSL_CTX_get_cert_store(ctx),
	    cfg->tls_crl, err, errlen) == -1)
		goto bad;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
	SSL_CTX_set_verify_depth(ctx, 8);
	return t;
bad:
	tls_ctx_free(t);
	return NULL;
}

void
tls_ctx_free(struct tls_ctx *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

SSL *
tls_ssl_new(struct tls_ctx *t)
{
	SSL			*ssl;
	struct verify_note	*n;

	if ((ssl = SSL_new(t->ctx)) == NULL)
		return NULL;
	if ((n = calloc(1, sizeof(*n))) == NULL ||
	    !SSL_set_ex_data(ssl, note_index, n)) {
		free(n);
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

int
tls_peer_identity(SSL *ssl, enum identity_field field, char *out,
    size_t outlen, char *err, size_t errlen)
{
	X509		*cert;
	X509_NAME	*name;
	unsigned char	*utf8 = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen, i;
	int		 idx, next, len, rc = -1;

	if ((cert = SSL_get1_peer_certificate(ssl)) == NULL) {
		snprintf(err, errlen, "no client certificate");
		return -1;
	}
	if (field == IDENTITY_FIELD_FINGERPRINT) {
		if (!X509_digest(cert, EVP_sha256(), md, &mdlen) ||
		    outlen < 8 + 2 * (size_t)mdlen) {
			snprintf(err, errlen, "cannot hash the certificate");
			goto done;
		}
		strcpy(out, "sha256:");
		for (i = 0; i < mdlen; i++)
			snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
		rc = 0;
		goto done;
	}
	name = X509_get_subject_name(cert);
	idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	if (idx < 0) {
		snprintf(err, errlen, "certificate subject has no CN");
		goto done;
	}
	next = X509_NAME_get_index_by_NID(name, NID_commonName, idx);
	if (next >= 0) {
		snprintf(err, errlen, "certificate subject has more than one "
		    "CN; the identity is ambiguous");
		goto done;
	}
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(
	    X509_NAME_get_entry(name, idx)));
	if (len <= 0 || (size_t)len >= outlen) {
		snprintf(err, errlen, "certificate CN is empty or too long");
		goto done;
	}
	for (i = 0; i < (unsigned int)len; i++) {
		if (utf8[i] < 0x21 || utf8[i] == 0x7f) {
			snprintf(err, errlen, "certificate CN contains a "
			    "space or control character");
			goto done;
		}
	}
	memcpy(out, utf8, len);
	out[len] = '\0';
	rc = 0;
done:
	OPENSSL_free(utf8);
	X509_free(cert);
	return rc;
}

void
tls_peer_subject(SSL *ssl, char *out, size_t outlen)
{
	X509	*cert;
	BIO	*b;
	int	 len;

	snprintf(out, outlen, "-");
	if ((cert = SSL_get1_peer_certificate(ssl)) == NULL)
		return;
	if ((b = BIO_new(BIO_s_mem())) != NULL) {
		X509_NAME_print_ex(b, X509_get_subject_name(cert), 0,
		    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
		len = BIO_read(b, out, outlen - 1);
		out[len > 0 ? len : 0] = '\0';
		BIO_free(b);
	}
	X509_free(cert);
}

void
tls_failure_reason(SSL *ssl, unsigned long errcode, char *out, size_t outlen,
    char *subject, size_t subjlen)
{
	struct verify_note	*n;
	char			 why[256];

	snprintf(subject, subjlen, "-");
	n = ssl != NULL ? SSL_get_ex_data(ssl, note_index) : NULL;
	if (n != NULL && n->error != 0) {
		snprintf(out, outlen, "certificate verify failed: %s",
		    X509_verify_cert_error_string(n->error));
		if (n->subject[0] != '\0')
			snprintf(subject, subjlen, "%s", n->subject);
		ERR_clear_error();
		return;
	}
	if (errcode != 0) {
		ERR_error_string_n(errcode, why, sizeof(why));
		snprintf(out, outlen, "TLS handshake failed: %s", why);
	} else
		snprintf(out, outlen, "TLS handshake failed: connection "
		    "closed");
	ERR_clear_error();
}
