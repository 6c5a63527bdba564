/*
 * tlstest: what the TLS integration tests (test_tlsreload, test_handshakes)
 * share on top of harness.h: files of the test PKI copied where a test may
 * replace them, CRLs signed by the test CA at test time, the certificate a
 * new handshake sees, a client that stops half-way through its handshake,
 * and waits on audit rows.
 *
 * Every function fails the running cmocka test (fail_msg) on an error it
 * does not report otherwise.
 */
#ifndef NWD_TLSTEST_H
#define NWD_TLSTEST_H

#include <stddef.h>
#include <time.h>

#include "nwd.pb-c.h"

#define TLSTEST_FP_LEN	80	/* "sha256:" + 64 hex digits + NUL, rounded */

/* Copies the test PKI's file (e.g. "ca-next.crl") to path, replacing it. */
void	 tlstest_install(const char *pki_file, const char *path);

/* Replaces path with text. */
void	 tlstest_write(const char *path, const char *text);

/* "sha256:<hex>" of the first certificate in the PEM file at path. */
void	 tlstest_file_fingerprint(const char *path, char out[TLSTEST_FP_LEN]);

/*
 * Writes to path a CRL signed by the test CA (ca.crt, ca.key), valid from
 * last_update to next_update, revoking the certificates of the clients
 * named in the NULL-terminated list revoked (names under clients/).
 */
void	 tlstest_make_crl(const char *path, const char *const *revoked,
	    time_t last_update, time_t next_update);

/*
 * Writes a client certificate for CN=cn (O=nwd demo), signed by the test
 * CA and valid from not_before to not_after, to crt_path, and its new
 * P-256 key to key_path (mode 0600).
 */
void	 tlstest_make_client_cert(const char *crt_path, const char *key_path,
	    const char *cn, time_t not_before, time_t not_after);

/*
 * Completes a TLS 1.3 handshake with 127.0.0.1:port as client (a name under
 * the PKI's clients/), verifying the server against the PKI's CA, and puts
 * the fingerprint of the certificate the server presented in out.  Returns
 * 0, or -1 with the cause in err.
 */
int	 tlstest_server_fingerprint(int port, const char *client,
	    char out[TLSTEST_FP_LEN], char *err, size_t errlen);

/* A client connection driven step by step. */
struct tlstest_conn;

/*
 * Connects as client, sends the ClientHello and waits until the server's
 * answer has arrived, so the daemon has accepted the connection and made
 * its SSL.  The client's certificate is not sent yet.
 */
struct tlstest_conn *tlstest_begin(int port, const char *client);

/*
 * Finishes the handshake begun by tlstest_begin(), sends a Hello and reads
 * the first frame the daemon sends back.  Returns 0 with *out set (free it
 * with frame_free()), 1 if the daemon closed the connection without a
 * frame, -1 on another failure (cause in err).
 */
int	 tlstest_finish_hello(struct tlstest_conn *c, Nwd__V1__Frame **out,
	    char *err, size_t errlen);

void	 tlstest_close(struct tlstest_conn *c);

/* The count(*) that sql returns, run as postgres. */
int	 tlstest_count(const char *sql);

/* Waits up to wait_ms for sql's count(*) to be want; fails if it is not. */
void	 tlstest_wait_count(const char *sql, int want, int wait_ms);

#endif
