/*
 * tls: the server TLS context (certificate, key, client CA, CRL, protocol
 * floor) and what the rest of nwdd needs to know about a peer certificate.
 * With session.c, the only daemon module that sees OpenSSL.
 */
#ifndef NWD_TLS_H
#define NWD_TLS_H

#include <stddef.h>
#include <time.h>

#include <openssl/ssl.h>

#include "config.h"

struct tls_ctx;
struct bufferevent;
struct event_base;

/*
 * Builds a server context from the configuration: TLS 1.3 (1.2 only if
 * configured), no renegotiation, no compression, a client certificate that
 * chains to tls_ca required, CRL checked when tls_crl is set.  The files
 * are judged before anything is built: the server certificate and every CA
 * certificate must be valid now, the key must match the certificate, every
 * CRL must be signed by a CA of tls_ca and be current (lastUpdate past,
 * nextUpdate present and future), and every CA of tls_ca must have a CRL
 * when tls_crl is set.  Returns NULL with the file and the reason in err.
 */
struct tls_ctx	*tls_ctx_new(const struct config *cfg, char *err, size_t errlen);
void		 tls_ctx_free(struct tls_ctx *t);

/*
 * What the context serves, in one line for the log and the audit trail:
 * the server certificate's SHA-256 fingerprint, subject and expiry, the
 * CA certificates' count and first expiry, the CRLs' revoked count and
 * first nextUpdate.  Owned by t.
 */
const char	*tls_ctx_summary(const struct tls_ctx *t);

/* A new server-side SSL for one connection, owned by the caller (then by
 * its bufferevent). */
SSL		*tls_ssl_new(struct tls_ctx *t);

/*
 * Extracts the configured identity field from the verified peer
 * certificate: the subject CN, or "sha256:<hex>" of the certificate.
 * Returns 0, or -1 with the reason in err (no certificate, no CN, more than
 * one CN, a CN that is not valid UTF-8, empty or too long for out, or holds
 * a space or a control character, C1 ones included).
 */
int		 tls_peer_identity(SSL *ssl, enum identity_field field,
		    char *out, size_t outlen, char *err, size_t errlen);

/*
 * Judges the verified peer of ssl again, against t's CA certificates and
 * CRLs, at the current time, as a new handshake would be judged.  Returns
 * 0 if t accepts it, or -1 with X509's reason in err ("certificate
 * revoked", "unable to get local issuer certificate", ...).
 */
int		 tls_peer_check(const struct tls_ctx *t, SSL *ssl, char *err,
		    size_t errlen);

/*
 * When the peer's verified chain stops being valid: the earliest notAfter
 * of its certificates (the client's and its CA's), Unix seconds; 0 if
 * there is no verified chain.
 */
time_t		 tls_peer_not_after(SSL *ssl);

/* 1 if ssl was made from t (its handshake was judged by t), else 0. */
int		 tls_ssl_from(const struct tls_ctx *t, SSL *ssl);

/*
 * The peer certificate's subject as one line ("CN=x,O=y"), or "-": valid
 * UTF-8 (what does not convert is U+FFFD, control characters are '?'),
 * cut to outlen - 1 bytes on a character boundary.
 */
void		 tls_peer_subject(SSL *ssl, char *out, size_t outlen);

/*
 * Why a handshake failed, for the operator log and the audit row: the
 * certificate verification error with the offending subject if there was
 * one (as tls_peer_subject() makes it, cut to subjlen - 1 bytes on a
 * character boundary), else OpenSSL's error queue (which it clears).
 */
void		 tls_failure_reason(SSL *ssl, unsigned long errcode,
		    char *out, size_t outlen, char *subject, size_t subjlen);

/*
 * When the context's credentials run out, as Unix times: the server
 * certificate's notAfter, the earliest notAfter of the client CA
 * certificates, the earliest nextUpdate of the CRLs.  0 where there is
 * none (no CRL configured) or the time cannot be read.
 */
void		 tls_expiry(const struct tls_ctx *t, time_t *cert, time_t *ca,
		    time_t *crl_next);

/*
 * The console's connections (console.h): a new server-side TLS
 * bufferevent made from t, with no descriptor yet (evhttp gives it the one
 * it accepts), judged by t's handshake (client certificate required, CRL
 * checked).  The bufferevent owns its SSL and, once set, the descriptor.
 */
struct bufferevent *tls_bev_new(struct tls_ctx *t, struct event_base *base);
/*
 * The identity (as tls_peer_identity()) and subject (as tls_peer_subject())
 * of the verified peer of a bufferevent made by tls_bev_new().  Returns 0,
 * or -1 with the reason in err ("-" in subject when there is no peer).
 */
int		 tls_bev_identity(struct bufferevent *bev,
		    enum identity_field field, char *out, size_t outlen,
		    char *subject, size_t subjlen, char *err, size_t errlen);

#endif
