/*
 * tlstest: helpers of the TLS integration tests.  See tlstest.h.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "frame.h"
#include "harness.h"
#include "tlstest.h"

#define IO_MS		10000	/* the most one connection step may take */
#define READ_MAX	(1u << 20)

struct tlstest_conn {
	SSL_CTX	*ctx;	/* owned */
	SSL	*ssl;	/* owned */
	int	 fd;	/* owned */
};

static char *
pki_path(const char *file)
{
	char *p = strdup(harness_pki(file));

	assert_non_null(p);
	return p;
}

void
tlstest_install(const char *pki_file, const char *path)
{
	char	*src = pki_path(pki_file), buf[8192];
	FILE	*in, *out;
	size_t	 n;

	if ((in = fopen(src, "r")) == NULL)
		fail_msg("%s: %s", src, strerror(errno));
	if ((out = fopen(path, "w")) == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	assert_false(ferror(in));
	fclose(in);
	assert_int_equal(fclose(out), 0);
	free(src);
}

void
tlstest_write(const char *path, const char *text)
{
	FILE *fp;

	if ((fp = fopen(path, "w")) == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
}

static X509 *
read_cert(const char *path)
{
	FILE	*fp;
	X509	*x;

	if ((fp = fopen(path, "r")) == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (x == NULL)
		fail_msg("%s: no PEM certificate", path);
	return x;
}

static void
fingerprint(X509 *x, char out[TLSTEST_FP_LEN])
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen, i;

	assert_int_equal(X509_digest(x, EVP_sha256(), md, &mdlen), 1);
	strcpy(out, "sha256:");
	for (i = 0; i < mdlen; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

void
tlstest_file_fingerprint(const char *path, char out[TLSTEST_FP_LEN])
{
	X509 *x = read_cert(path);

	fingerprint(x, out);
	X509_free(x);
}

void
tlstest_make_crl(const char *path, const char *const *revoked,
    time_t last_update, time_t next_update)
{
	char		*cap = pki_path("ca.crt"), *kp = pki_path("ca.key");
	char		 name[512];
	X509		*ca = read_cert(cap), *c;
	X509_CRL	*crl;
	X509_REVOKED	*r;
	EVP_PKEY	*key;
	ASN1_TIME	*last, *next;
	FILE		*fp;

	if ((fp = fopen(kp, "r")) == NULL)
		fail_msg("%s: %s", kp, strerror(errno));
	key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(key);
	assert_non_null(crl = X509_CRL_new());
	assert_non_null(last = ASN1_TIME_set(NULL, last_update));
	assert_non_null(next = ASN1_TIME_set(NULL, next_update));
	assert_int_equal(X509_CRL_set_version(crl, X509_CRL_VERSION_2), 1);
	assert_int_equal(X509_CRL_set_issuer_name(crl,
	    X509_get_subject_name(ca)), 1);
	assert_int_equal(X509_CRL_set1_lastUpdate(crl, last), 1);
	assert_int_equal(X509_CRL_set1_nextUpdate(crl, next), 1);
	for (; revoked != NULL && *revoked != NULL; revoked++) {
		snprintf(name, sizeof(name), "clients/%s.crt", *revoked);
		free(cap);
		cap = pki_path(name);
		c = read_cert(cap);
		assert_non_null(r = X509_REVOKED_new());
		assert_int_equal(X509_REVOKED_set_serialNumber(r,
		    X509_get_serialNumber(c)), 1);
		assert_int_equal(X509_REVOKED_set_revocationDate(r, last), 1);
		assert_int_equal(X509_CRL_add0_revoked(crl, r), 1);
		X509_free(c);
	}
	assert_int_equal(X509_CRL_sort(crl), 1);
	assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
	if ((fp = fopen(path, "w")) == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	assert_int_equal(PEM_write_X509_CRL(fp, crl), 1);
	assert_int_equal(fclose(fp), 0);
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	X509_CRL_free(crl);
	EVP_PKEY_free(key);
	X509_free(ca);
	free(cap);
	free(kp);
}

static void
add_ext(X509 *x, X509 *ca, int nid, const char *value)
{
	X509V3_CTX	 v3;
	X509_EXTENSION	*e;

	X509V3_set_ctx(&v3, ca, x, NULL, NULL, 0);
	assert_non_null(e = X509V3_EXT_conf_nid(NULL, &v3, nid, value));
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

void
tlstest_make_client_cert(const char *crt_path, const char *key_path,
    const char *cn, time_t not_before, time_t not_after)
{
	char		*cap = pki_path("ca.crt"), *kp = pki_path("ca.key");
	X509		*ca = read_cert(cap), *x;
	X509_NAME	*name;
	EVP_PKEY	*cakey, *key;
	FILE		*fp;
	int		 fd;

	if ((fp = fopen(kp, "r")) == NULL)
		fail_msg("%s: %s", kp, strerror(errno));
	cakey = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(cakey);
	assert_non_null(key = EVP_EC_gen("P-256"));
	assert_non_null(x = X509_new());
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set_int64(X509_get_serialNumber(x),
	    (int64_t)time(NULL) * 1000 + getpid() % 1000), 1);
	assert_non_null(name = X509_NAME_new());
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"nwd demo", -1, -1, 0), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_subject_name(x, name), 1);
	X509_NAME_free(name);
	assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(ca)),
	    1);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), not_before));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), not_after));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE");
	add_ext(x, ca, NID_key_usage, "critical,digitalSignature");
	add_ext(x, ca, NID_ext_key_usage, "clientAuth");
	add_ext(x, ca, NID_subject_key_identifier, "hash");
	add_ext(x, ca, NID_authority_key_identifier, "keyid");
	assert_true(X509_sign(x, cakey, EVP_sha256()) > 0);
	if ((fp = fopen(crt_path, "w")) == NULL)
		fail_msg("%s: %s", crt_path, strerror(errno));
	assert_int_equal(PEM_write_X509(fp, x), 1);
	assert_int_equal(fclose(fp), 0);
	if ((fd = open(key_path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    (fp = fdopen(fd, "w")) == NULL)
		fail_msg("%s: %s", key_path, strerror(errno));
	assert_int_equal(PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL,
	    NULL), 1);
	assert_int_equal(fclose(fp), 0);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
	free(cap);
	free(kp);
}

/* A client context trusting the test CA, presenting client's certificate. */
static SSL_CTX *
client_ctx(const char *client)
{
	SSL_CTX	*ctx;
	char	 file[512], *ca = pki_path("ca.crt"), *crt, *key;

	assert_non_null(ctx = SSL_CTX_new(TLS_client_method()));
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	assert_int_equal(SSL_CTX_load_verify_locations(ctx, ca, NULL), 1);
	snprintf(file, sizeof(file), "clients/%s.crt", client);
	crt = pki_path(file);
	snprintf(file, sizeof(file), "clients/%s.key", client);
	key = pki_path(file);
	assert_int_equal(SSL_CTX_use_certificate_chain_file(ctx, crt), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, key,
	    SSL_FILETYPE_PEM), 1);
	free(ca);
	free(crt);
	free(key);
	return ctx;
}

/* A non-blocking TCP connection to 127.0.0.1:port. */
static int
tcp_connect(int port)
{
	struct sockaddr_in	sin;
	int			fd;

	assert_true((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		fail_msg("connect to 127.0.0.1:%d: %s", port, strerror(errno));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* Waits for what SSL wants after r; 0, or -1 on an error or timeout. */
static int
ssl_wait(SSL *ssl, int fd, int r, char *err, size_t errlen)
{
	struct pollfd	pfd;
	int		e = SSL_get_error(ssl, r);
	unsigned long	code;

	if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
		if ((code = ERR_get_error()) != 0)
			ERR_error_string_n(code, err, errlen);
		else
			snprintf(err, errlen, "connection closed (SSL error "
			    "%d)", e);
		ERR_clear_error();
		return -1;
	}
	pfd.fd = fd;
	pfd.events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
	if (poll(&pfd, 1, IO_MS) != 1) {
		snprintf(err, errlen, "timed out after %d ms", IO_MS);
		return -1;
	}
	return 0;
}

int
tlstest_server_fingerprint(int port, const char *client,
    char out[TLSTEST_FP_LEN], char *err, size_t errlen)
{
	SSL_CTX	*ctx = client_ctx(client);
	SSL	*ssl;
	int	 fd = tcp_connect(port), r, rc = -1;

	assert_non_null(ssl = SSL_new(ctx));
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, "localhost");
	SSL_set1_host(ssl, "localhost");
	while ((r = SSL_connect(ssl)) != 1)
		if (ssl_wait(ssl, fd, r, err, errlen) == -1)
			goto done;
	fingerprint(SSL_get0_peer_certificate(ssl), out);
	rc = 0;
done:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return rc;
}

struct tlstest_conn *
tlstest_begin(int port, const char *client)
{
	struct tlstest_conn	*c;
	struct pollfd		 pfd;
	int			 r;
	char			 err[256];

	BIO			*held, *out;

	assert_non_null(c = calloc(1, sizeof(*c)));
	c->ctx = client_ctx(client);
	c->fd = tcp_connect(port);
	assert_non_null(c->ssl = SSL_new(c->ctx));
	/*
	 * The ClientHello goes to the socket; the server's answer is left
	 * there, because the SSL reads from an empty memory BIO until
	 * tlstest_finish_hello() gives it the socket.
	 */
	assert_non_null(held = BIO_new(BIO_s_mem()));
	BIO_set_mem_eof_return(held, -1);
	assert_non_null(out = BIO_new_socket(c->fd, BIO_NOCLOSE));
	SSL_set_bio(c->ssl, held, out);
	SSL_set_tlsext_host_name(c->ssl, "localhost");
	SSL_set1_host(c->ssl, "localhost");
	r = SSL_connect(c->ssl);
	if (r == 1 || SSL_get_error(c->ssl, r) != SSL_ERROR_WANT_READ) {
		ssl_wait(c->ssl, c->fd, r, err, sizeof(err));
		fail_msg("first handshake step: %s", err);
	}
	pfd.fd = c->fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, IO_MS) != 1)
		fail_msg("no ServerHello within %d ms", IO_MS);
	return c;
}

/* Reads exactly len bytes.  0, 1 on EOF before the first, -1 otherwise. */
static int
read_exact(struct tlstest_conn *c, uint8_t *buf, size_t len, char *err,
    size_t errlen)
{
	size_t	got = 0, n;
	int	r, e;

	while (got < len) {
		if ((r = SSL_read_ex(c->ssl, buf + got, len - got, &n)) == 1) {
			got += n;
			continue;
		}
		e = SSL_get_error(c->ssl, r);
		if (got == 0 && (e == SSL_ERROR_ZERO_RETURN ||
		    (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0))) {
			ERR_clear_error();
			return 1;
		}
		if (ssl_wait(c->ssl, c->fd, r, err, errlen) == -1)
			return -1;
	}
	return 0;
}

int
tlstest_finish_hello(struct tlstest_conn *c, Nwd__V1__Frame **out, char *err,
    size_t errlen)
{
	Nwd__V1__Frame	 f = NWD__V1__FRAME__INIT;
	Nwd__V1__Hello	 h = NWD__V1__HELLO__INIT;
	uint8_t		*buf, hdr[FRAME_HEADER_LEN];
	size_t		 len, n;
	uint32_t	 plen;
	int		 r;

	*out = NULL;
	SSL_set0_rbio(c->ssl, BIO_new_socket(c->fd, BIO_NOCLOSE));
	while ((r = SSL_connect(c->ssl)) != 1)
		if (ssl_wait(c->ssl, c->fd, r, err, errlen) == -1)
			return -1;
	h.protocol_version = FRAME_PROTOCOL_VERSION;
	h.client_name = "tlstest";
	f.request_id = 1;
	f.msg_case = NWD__V1__FRAME__MSG_HELLO;
	f.hello = &h;
	assert_non_null(buf = frame_encode(&f, READ_MAX, &len));
	while ((r = SSL_write_ex(c->ssl, buf, len, &n)) != 1) {
		if (ssl_wait(c->ssl, c->fd, r, err, errlen) == -1) {
			free(buf);
			return -1;
		}
	}
	free(buf);
	if ((r = read_exact(c, hdr, sizeof(hdr), err, errlen)) != 0)
		return r;
	plen = frame_peek_length(hdr);
	if (!frame_length_ok(plen, READ_MAX)) {
		snprintf(err, errlen, "frame length %u", plen);
		return -1;
	}
	assert_non_null(buf = malloc(plen));
	if (read_exact(c, buf, plen, err, errlen) != 0) {
		free(buf);
		return -1;
	}
	*out = frame_decode(buf, plen, READ_MAX * 4, err, errlen);
	free(buf);
	return *out != NULL ? 0 : -1;
}

void
tlstest_close(struct tlstest_conn *c)
{
	if (c == NULL)
		return;
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	close(c->fd);
	ERR_clear_error();
	free(c);
}

int
tlstest_count(const char *sql)
{
	char out[256];

	if (harness_sql("postgres", sql, out, sizeof(out)) != 0)
		fail_msg("sql failed: %s: %s", sql, out);
	return atoi(out);
}

void
tlstest_wait_count(const char *sql, int want, int wait_ms)
{
	int waited, got = -1;

	/* Detached audit rows commit shortly after their event; nothing
	 * tells a client when, so the database is polled to a deadline. */
	for (waited = 0; waited < wait_ms; waited += 25) {
		if ((got = tlstest_count(sql)) == want)
			return;
		poll(NULL, 0, 25);
	}
	fail_msg("waited %d ms for \"%s\" = %d; it is %d", wait_ms, sql, want,
	    got);
}
