/*
 * tls: the server TLS context (certificate, key, client CA, CRL, protocol
 * floor) and what the rest of nwdd needs to know about a peer certificate.
 * With session.c, the only daemon module that sees OpenSSL.
 */
#ifndef NWD_TLS_H
#define NWD_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "config.h"

struct tls_ctx;

/*
 * Builds a server context from the configuration: TLS 1.3 (1.2 only if
 * configured), no renegotiation, no compression, a client certificate that
 * chains to tls_ca required, CRL checked when tls_crl is set.  Returns NULL
 * with the file and OpenSSL's reason in err.
 */
struct tls_ctx	*tls_ctx_new(const struct config *cfg, char *err, size_t errlen);
void		 tls_ctx_free(struct tls_ctx *t);

/* A new server-side SSL for one connection, owned by the caller (then by
 * its bufferevent). */
SSL		*tls_ssl_new(struct tls_ctx *t);

/*
 * Extracts the configured identity field from the verified peer
 * certificate: the subject CN, or "sha256:<hex>" of the certificate.
 * Returns 0, or -1 with the reason in err (no certificate, no CN, more than
 * one CN, a CN with control characters).
 */
int		 tls_peer_identity(SSL *ssl, enum identity_field field,
		    char *out, size_t outlen, char *err, size_t errlen);

/* The peer certificate's subject as one line ("CN=x,O=y"), or "-". */
void		 tls_peer_subject(SSL *ssl, char *out, size_t outlen);

/*
 * Why a handshake failed, for the operator log and the audit row: the
 * certificate verification error with the offending subject if there was
 * one, else OpenSSL's error queue (which it clears).
 */
void		 tls_failure_reason(SSL *ssl, unsigned long errcode,
		    char *out, size_t outlen, char *subject, size_t subjlen);

#endif
