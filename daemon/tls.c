#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "tls.h"
#include "utf8.h"

#define TLS_VERIFY_DEPTH	8

struct tls_ctx {
	SSL_CTX	*ctx;		/* owned */
	int	 crl_check;	/* tls_crl was loaded */
	char	 summary[512];	/* tls_ctx_summary() */
};

static time_t	asn1_unix(const ASN1_TIME *);
static time_t	earlier(time_t, time_t);
static void	name_line(const X509_NAME *, char *, size_t);

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
	if (cert != NULL)
		name_line(X509_get_subject_name(cert), n->subject,
		    sizeof(n->subject));
	return 0;
}

/*
 * The reason for OpenSSL's last failure, and its error queue emptied.  A
 * failure to open or read a file is named by the system's own reason
 * ("Permission denied"), which OpenSSL queues first and then reports only
 * as "system lib".
 */
static void
openssl_reason(char *buf, size_t len)
{
	unsigned long e, last = 0, sys = 0;

	while ((e = ERR_get_error()) != 0) {
		if (sys == 0 && ERR_GET_LIB(e) == ERR_LIB_SYS &&
		    ERR_GET_REASON(e) != 0)
			sys = e;
		last = e;
	}
	if (sys != 0)
		snprintf(buf, len, "%s", strerror(ERR_GET_REASON(sys)));
	else if (last == 0)
		snprintf(buf, len, "unknown OpenSSL error");
	else
		ERR_error_string_n(last, buf, len);
}

/*
 * A name as one RFC 2253 line ("CN=x,O=y"), or "-", for the log and the
 * audit trail: valid UTF-8 whatever the certificate holds (what does not
 * convert becomes U+FFFD), control characters replaced by '?', and cut to
 * outlen - 1 bytes on a character boundary.
 */
static void
name_line(const X509_NAME *name, char *out, size_t outlen)
{
	BIO	*b;
	char	*data;
	long	 len;

	snprintf(out, outlen, "-");
	if (name == NULL || (b = BIO_new(BIO_s_mem())) == NULL)
		return;
	X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	if ((len = BIO_get_mem_data(b, &data)) > 0)
		utf8_clean(out, outlen, data, (size_t)len, UTF8_NO_CONTROLS);
	BIO_free(b);
}

/* "2029-02-25T07:42:00Z", or "unknown" for 0. */
static void
time_line(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outlen, "unknown");
}

/*
 * Is now within [from, until]?  Returns 0, or -1 with err naming what
 * (and until_name, the field that ran out) if not or if a time cannot be
 * read.  A NULL until means no end.
 */
static int
check_validity(const char *what, const ASN1_TIME *from,
    const ASN1_TIME *until, const char *until_name, char *err, size_t errlen)
{
	char when[32];

	if (from == NULL || X509_cmp_time(from, NULL) == 0 ||
	    (until != NULL && X509_cmp_time(until, NULL) == 0)) {
		snprintf(err, errlen, "%s has an unreadable validity time",
		    what);
		return -1;
	}
	if (X509_cmp_time(from, NULL) > 0) {
		time_line(asn1_unix(from), when, sizeof(when));
		snprintf(err, errlen, "%s is not valid before %s", what, when);
		return -1;
	}
	if (until != NULL && X509_cmp_time(until, NULL) < 0) {
		time_line(asn1_unix(until), when, sizeof(when));
		snprintf(err, errlen, "%s expired at %s (%s)", what, when,
		    until_name);
		return -1;
	}
	return 0;
}

/* Opens path for PEM reading, with errno's reason in err on failure. */
static BIO *
open_pem(const char *path, const char *what, char *err, size_t errlen)
{
	FILE	*fp;
	BIO	*b;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot open %s: %s", path, what,
		    strerror(errno));
		return NULL;
	}
	if ((b = BIO_new_fp(fp, BIO_CLOSE)) == NULL) {
		fclose(fp);
		snprintf(err, errlen, "%s: out of memory", path);
	}
	return b;
}

/*
 * Reads the client CA file: at least one certificate, every one a CA and
 * valid now.  Returns the certificates (the caller frees them with
 * sk_X509_pop_free), or NULL with the reason in err.
 */
static STACK_OF(X509) *
read_cas(const char *path, char *err, size_t errlen)
{
	STACK_OF(X509)	*cas;
	X509		*x;
	BIO		*b;
	char		 subject[256], what[320];
	int		 i;

	if ((b = open_pem(path, "the client CA file", err, errlen)) == NULL)
		return NULL;
	if ((cas = sk_X509_new_null()) == NULL) {
		BIO_free(b);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(cas, x)) {
			X509_free(x);
			snprintf(err, errlen, "out of memory");
			goto bad;
		}
	}
	ERR_clear_error();
	if (sk_X509_num(cas) == 0) {
		snprintf(err, errlen, "%s: no PEM certificate in the client CA "
		    "file", path);
		goto bad;
	}
	for (i = 0; i < sk_X509_num(cas); i++) {
		x = sk_X509_value(cas, i);
		name_line(X509_get_subject_name(x), subject, sizeof(subject));
		if (X509_check_ca(x) == 0) {
			snprintf(err, errlen, "%s: %s is not a CA certificate",
			    path, subject);
			goto bad;
		}
		snprintf(what, sizeof(what), "CA certificate %s", subject);
		if (check_validity(what, X509_get0_notBefore(x),
		    X509_get0_notAfter(x), "notAfter", err, errlen) == -1) {
			snprintf(what, sizeof(what), "%s", err);
			snprintf(err, errlen, "%s: %s", path, what);
			goto bad;
		}
	}
	BIO_free(b);
	return cas;
bad:
	BIO_free(b);
	sk_X509_pop_free(cas, X509_free);
	return NULL;
}

/*
 * Loads the CRLs of path into store after judging each: signed by one of
 * cas, current, with a nextUpdate.  Every CA of cas must have one.  Sets
 * *nrevoked to their revoked entries and *next to their first nextUpdate.
 * Returns 0, or -1 with the reason in err.
 */
static int
load_crls(X509_STORE *store, STACK_OF(X509) *cas, const char *path,
    int *nrevoked, time_t *next, char *err, size_t errlen)
{
	BIO		*b;
	X509_CRL	*crl;
	X509		*ca;
	char		*covered = NULL;
	char		 issuer[256], what[320];
	int		 i, n = 0, rc = -1;

	*nrevoked = 0;
	*next = 0;
	if ((b = open_pem(path, "the CRL file", err, errlen)) == NULL)
		return -1;
	if ((covered = calloc(sk_X509_num(cas), 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	while ((crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL)) != NULL) {
		n++;
		name_line(X509_CRL_get_issuer(crl), issuer, sizeof(issuer));
		for (i = 0; i < sk_X509_num(cas); i++) {
			ca = sk_X509_value(cas, i);
			if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
			    X509_get_subject_name(ca)) == 0 &&
			    X509_CRL_verify(crl, X509_get0_pubkey(ca)) == 1)
				break;
		}
		ERR_clear_error();
		if (i == sk_X509_num(cas)) {
			snprintf(err, errlen, "%s: the CRL issued by %s is not "
			    "signed by a CA of tls_ca", path, issuer);
			X509_CRL_free(crl);
			goto done;
		}
		covered[i] = 1;
		snprintf(what, sizeof(what), "the CRL of %s", issuer);
		if (X509_CRL_get0_nextUpdate(crl) == NULL) {
			snprintf(err, errlen, "%s: %s has no nextUpdate, so "
			    "nwdd cannot tell when it goes stale", path, what);
			X509_CRL_free(crl);
			goto done;
		}
		if (check_validity(what, X509_CRL_get0_lastUpdate(crl),
		    X509_CRL_get0_nextUpdate(crl), "nextUpdate; publish a "
		    "fresh CRL", err, errlen) == -1) {
			snprintf(what, sizeof(what), "%s", err);
			snprintf(err, errlen, "%s: %s", path, what);
			X509_CRL_free(crl);
			goto done;
		}
		*nrevoked += sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl));
		*next = earlier(*next, asn1_unix(X509_CRL_get0_nextUpdate(
		    crl)));
		if (!X509_STORE_add_crl(store, crl)) {
			openssl_reason(what, sizeof(what));
			snprintf(err, errlen, "%s: cannot add the CRL of %s: %s",
			    path, issuer, what);
			X509_CRL_free(crl);
			goto done;
		}
		X509_CRL_free(crl);
	}
	ERR_clear_error();
	if (n == 0) {
		snprintf(err, errlen, "%s: no PEM CRL in the file", path);
		goto done;
	}
	for (i = 0; i < sk_X509_num(cas); i++) {
		if (!covered[i]) {
			name_line(X509_get_subject_name(sk_X509_value(cas, i)),
			    issuer, sizeof(issuer));
			snprintf(err, errlen, "%s: no CRL for the CA %s; every "
			    "CA of tls_ca needs one", path, issuer);
			goto done;
		}
	}
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	rc = 0;
done:
	free(covered);
	BIO_free(b);
	return rc;
}

/* "sha256:<hex>" of x. */
static void
fingerprint(X509 *x, char *out, size_t outlen)
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen, i;

	if (outlen < 8 || !X509_digest(x, EVP_sha256(), md, &mdlen) ||
	    outlen < 8 + 2 * (size_t)mdlen) {
		snprintf(out, outlen, "-");
		return;
	}
	strcpy(out, "sha256:");
	for (i = 0; i < mdlen; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

struct tls_ctx *
tls_ctx_new(const struct config *cfg, char *err, size_t errlen)
{
	struct tls_ctx		*t;
	SSL_CTX			*ctx;
	STACK_OF(X509)		*cas = NULL;
	X509			*cert;
	time_t			 ca_first = 0, crl_next = 0;
	int			 i, nrevoked = 0;
	char			 why[256], fp[80], subject[256], until[32];
	char			 ca_until[32], crl_part[128];

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
	cert = SSL_CTX_get0_certificate(ctx);
	name_line(X509_get_subject_name(cert), subject, sizeof(subject));
	if (check_validity("the server certificate", X509_get0_notBefore(cert),
	    X509_get0_notAfter(cert), "notAfter", why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", cfg->tls_cert, why);
		goto bad;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key,
	    SSL_FILETYPE_PEM) != 1) {
		int mismatch = ERR_GET_REASON(ERR_peek_last_error()) ==
		    X509_R_KEY_VALUES_MISMATCH;

		openssl_reason(why, sizeof(why));
		if (mismatch)
			snprintf(err, errlen, "%s does not match %s: it is "
			    "the key of another certificate", cfg->tls_key,
			    cfg->tls_cert);
		else
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
	if ((cas = read_cas(cfg->tls_ca, err, errlen)) == NULL)
		goto bad;
	for (i = 0; i < sk_X509_num(cas); i++) {
		X509 *ca = sk_X509_value(cas, i);

		if (!X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca) ||
		    !SSL_CTX_add_client_CA(ctx, ca)) {
			openssl_reason(why, sizeof(why));
			snprintf(err, errlen, "%s: cannot load client CA: %s",
			    cfg->tls_ca, why);
			goto bad;
		}
		ca_first = earlier(ca_first, asn1_unix(X509_get0_notAfter(ca)));
	}
	if (cfg->tls_crl != NULL) {
		if (load_crls(SSL_CTX_get_cert_store(ctx), cas, cfg->tls_crl,
		    &nrevoked, &crl_next, err, errlen) == -1)
			goto bad;
		t->crl_check = 1;
	} else
		log_warnx("tls: tls_crl = none: revoked client certificates "
		    "are accepted (no revocation check) event=tls_crl_none");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
	SSL_CTX_set_verify_depth(ctx, TLS_VERIFY_DEPTH);

	fingerprint(cert, fp, sizeof(fp));
	time_line(ca_first, ca_until, sizeof(ca_until));
	if (t->crl_check) {
		time_line(crl_next, until, sizeof(until));
		snprintf(crl_part, sizeof(crl_part), "CRL %d revoked, next "
		    "update %s", nrevoked, until);
	} else
		snprintf(crl_part, sizeof(crl_part), "no CRL");
	time_line(asn1_unix(X509_get0_notAfter(cert)), until, sizeof(until));
	snprintf(t->summary, sizeof(t->summary), "server certificate %s (%s) "
	    "expires %s; %d CA certificate%s, first expiry %s; %s", fp,
	    subject, until, sk_X509_num(cas), sk_X509_num(cas) == 1 ? "" : "s",
	    ca_until, crl_part);
	sk_X509_pop_free(cas, X509_free);
	return t;
bad:
	sk_X509_pop_free(cas, X509_free);
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

const char *
tls_ctx_summary(const struct tls_ctx *t)
{
	return t->summary;
}

int
tls_ssl_from(const struct tls_ctx *t, SSL *ssl)
{
	return SSL_get_SSL_CTX(ssl) == t->ctx;
}

int
tls_peer_check(const struct tls_ctx *t, SSL *ssl, char *err, size_t errlen)
{
	X509_STORE_CTX	*xs;
	X509		*cert;
	int		 rc = -1;

	if ((cert = SSL_get0_peer_certificate(ssl)) == NULL) {
		snprintf(err, errlen, "no client certificate");
		return -1;
	}
	if ((xs = X509_STORE_CTX_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* As the handshake does: the peer's chain as untrusted helpers. */
	if (!X509_STORE_CTX_init(xs, SSL_CTX_get_cert_store(t->ctx), cert,
	    SSL_get_peer_cert_chain(ssl)) ||
	    !X509_STORE_CTX_set_default(xs, "ssl_client")) {
		snprintf(err, errlen, "cannot set up the verification");
		goto done;
	}
	X509_STORE_CTX_set_depth(xs, TLS_VERIFY_DEPTH);
	if (t->crl_check)
		X509_STORE_CTX_set_flags(xs, X509_V_FLAG_CRL_CHECK);
	if (X509_verify_cert(xs) == 1)
		rc = 0;
	else
		snprintf(err, errlen, "%s", X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(xs)));
done:
	X509_STORE_CTX_free(xs);
	ERR_clear_error();
	return rc;
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
	if (len < 0 || !utf8_valid((const char *)utf8, (size_t)len, NULL)) {
		ERR_clear_error();
		snprintf(err, errlen, "certificate CN is not valid UTF-8");
		goto done;
	}
	if (len == 0 || (size_t)len >= outlen) {
		snprintf(err, errlen, "certificate CN is empty or longer than "
		    "%zu bytes", outlen - 1);
		goto done;
	}
	for (i = 0; i < (unsigned int)len; i++) {
		if (utf8[i] < 0x21 || utf8[i] == 0x7f)
			break;
	}
	if (i < (unsigned int)len || utf8_has_control((const char *)utf8)) {
		snprintf(err, errlen, "certificate CN contains a space or "
		    "control character");
		goto done;
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

	snprintf(out, outlen, "-");
	if ((cert = SSL_get0_peer_certificate(ssl)) != NULL)
		name_line(X509_get_subject_name(cert), out, outlen);
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
		if (n->subject[0] != '\0' && subjlen > 0)
			utf8_clean(subject, subjlen, n->subject,
			    strlen(n->subject), UTF8_NO_CONTROLS);
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

/* An ASN1_TIME as Unix time; 0 if there is none or it cannot be read. */
static time_t
asn1_unix(const ASN1_TIME *at)
{
	struct tm tm;

	if (at == NULL || ASN1_TIME_to_tm(at, &tm) != 1)
		return 0;
	return timegm(&tm);
}

/* The earlier of two times, 0 meaning "none". */
static time_t
earlier(time_t a, time_t b)
{
	return a == 0 || (b != 0 && b < a) ? b : a;
}

time_t
tls_peer_not_after(SSL *ssl)
{
	STACK_OF(X509)	*chain;
	time_t		 first = 0;
	int		 i;

	if (ssl == NULL || (chain = SSL_get0_verified_chain(ssl)) == NULL)
		return 0;
	for (i = 0; i < sk_X509_num(chain); i++)
		first = earlier(first,
		    asn1_unix(X509_get0_notAfter(sk_X509_value(chain, i))));
	return first;
}

void
tls_expiry(const struct tls_ctx *t, time_t *cert, time_t *ca,
    time_t *crl_next)
{
	STACK_OF(X509_OBJECT)	*objs;
	X509_OBJECT		*o;
	X509			*x;
	int			 i;

	*cert = *ca = *crl_next = 0;
	if (t == NULL)
		return;
	if ((x = SSL_CTX_get0_certificate(t->ctx)) != NULL)
		*cert = asn1_unix(X509_get0_notAfter(x));
	objs = X509_STORE_get0_objects(SSL_CTX_get_cert_store(t->ctx));
	for (i = 0; i < sk_X509_OBJECT_num(objs); i++) {
		o = sk_X509_OBJECT_value(objs, i);
		if (X509_OBJECT_get_type(o) == X509_LU_X509)
			*ca = earlier(*ca, asn1_unix(X509_get0_notAfter(
			    X509_OBJECT_get0_X509(o))));
		else if (X509_OBJECT_get_type(o) == X509_LU_CRL)
			*crl_next = earlier(*crl_next, asn1_unix(
			    X509_CRL_get0_nextUpdate(
			    X509_OBJECT_get0_X509_CRL(o))));
	}
}

struct bufferevent *
tls_bev_new(struct tls_ctx *t, struct event_base *base)
{
	struct bufferevent	*bev;
	SSL			*ssl;

	if ((ssl = tls_ssl_new(t)) == NULL)
		return NULL;
	/* No descriptor yet: evhttp sets it once it has accepted one. */
	if ((bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	return bev;
}

int
tls_bev_identity(struct bufferevent *bev, enum identity_field field,
    char *out, size_t outlen, char *subject, size_t subjlen, char *err,
    size_t errlen)
{
	SSL	*ssl;

	snprintf(subject, subjlen, "-");
	if (bev == NULL || (ssl = bufferevent_openssl_get_ssl(bev)) == NULL) {
		snprintf(err, errlen, "not a TLS connection");
		return -1;
	}
	tls_peer_subject(ssl, subject, subjlen);
	if (SSL_get_verify_result(ssl) != X509_V_OK) {
		snprintf(err, errlen, "the client certificate was not "
		    "verified");
		return -1;
	}
	return tls_peer_identity(ssl, field, out, outlen, err, errlen);
}
