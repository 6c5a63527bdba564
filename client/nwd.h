/*
 * libnwd: a blocking client for the nwd information-sharing broker.
 *
 * One struct nwd_client is one mutual-TLS session with one broker.  Every
 * call blocks (with poll(), never longer than its timeout) until the broker
 * answers, and none of them is safe to call on the same client from two
 * threads at once; separate clients are independent.
 *
 * Errors: every call that can fail returns an enum nwd_status (NWD_OK is 0)
 * and, if err is not NULL, writes one sentence into err[errlen] saying what
 * failed and why.  An answer from the broker reads "ERROR_FORBIDDEN: <the
 * broker's text>".  Once the session has ended (the broker said Goodbye,
 * sent an Error that answers no request, or the connection dropped), every
 * later call fails at once with the status and text that ended it.
 *
 * The library never prints, logs or keeps message bodies beyond the frames
 * it queues for the caller.  Library-owned results (the principal, the
 * welcome) stay valid until nwd_close(); results handed to the caller
 * (acks, deliveries) are the caller's and are freed with the matching
 * nwd_*_free() function.
 *
 * The message types are the protobuf-c ones generated from nwd.proto
 * (package nwd.v1).
 */
#ifndef NWD_H
#define NWD_H

#include <stddef.h>
#include <stdint.h>

#include "nwd.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

enum nwd_status {
	NWD_OK = 0,
	NWD_ERR_INVALID,	/* bad argument or options, unreadable
				   certificate or key, a frame too large,
				   or the broker's ERROR_INVALID_ENVELOPE */
	NWD_ERR_REFUSED,	/* the broker refused: ERROR_FORBIDDEN,
				   ERROR_LIMIT, ERROR_NOT_FOUND */
	NWD_ERR_UNREACHABLE,	/* name resolution or TCP connect failed */
	NWD_ERR_TLS,		/* the TLS handshake failed, or the broker
				   rejected our certificate */
	NWD_ERR_UNAVAILABLE,	/* ERROR_UNAVAILABLE (audit store down) or
				   ERROR_SHUTTING_DOWN: try again later */
	NWD_ERR_PROTOCOL,	/* the broker broke the protocol or reported
				   a protocol or internal error */
	NWD_ERR_TIMEOUT,	/* no answer in time (or ERROR_TIMEOUT) */
	NWD_ERR_CLOSED,		/* the broker ended the session (Goodbye)
				   or closed the connection */
	NWD_ERR_INTERNAL,	/* out of memory, or a local failure */
};

/* Returns a short lower-case name for a status ("unreachable"). */
const char	*nwd_status_name(enum nwd_status s);

#define NWD_DEFAULT_TIMEOUT_MS	10000

/*
 * Connection options.  The strings are only read during nwd_connect() and
 * stay the caller's.
 */
struct nwd_opts {
	const char	*server;	/* "host:port" or "[v6addr]:port" */
	const char	*cert;		/* our PEM certificate (and chain) */
	const char	*key;		/* its PEM private key */
	const char	*ca;		/* PEM CA file that signs the broker */
	const char	*client_name;	/* sent in Hello; NULL = "libnwd" */
	int		 timeout_ms;	/* connect + handshake + Welcome, and
					   each request after; <= 0 means
					   NWD_DEFAULT_TIMEOUT_MS */
	const char	*crl;		/* PEM CRL(s) of o->ca: the broker's
					   certificate is checked against
					   them (revoked, or a CRL past its
					   next update, refuses it); NULL or
					   "" = no revocation check */
};

struct nwd_client;

/*
 * Connects to o->server over TCP, runs a TLS 1.2+ handshake (1.3 preferred)
 * that presents our certificate and verifies the broker's against o->ca
 * (and o->crl, if given) and against the host part of o->server (DNS name
 * or IP address), sends Hello
 * and waits for Welcome.  Returns a new client that the caller releases
 * with nwd_close(), or NULL with *status (if status is not NULL) and err
 * filled in.
 */
struct nwd_client	*nwd_connect(const struct nwd_opts *o,
			    enum nwd_status *status, char *err, size_t errlen);

/*
 * Ends the session with a TLS close_notify (one try, no waiting) and frees
 * the client with everything it owns, queued deliveries included.  NULL is
 * a no-op.
 */
void			 nwd_close(struct nwd_client *c);

/*
 * The Welcome the broker sent, and its principal: who the broker thinks we
 * are.  Owned by the client; valid until nwd_close().  nwd_principal() may
 * return NULL if the broker sent no principal.
 */
const Nwd__V1__Welcome	 *nwd_welcome(const struct nwd_client *c);
const Nwd__V1__Principal *nwd_principal(const struct nwd_client *c);

/*
 * The code of the broker's Error behind the last failed call, or
 * NWD__V1__ERROR_CODE__ERROR_UNSPECIFIED if the failure was local (a
 * timeout, a bad argument, a broken connection).  Lets a caller tell an
 * NWD_ERR_INVALID found here from one the broker reported.
 */
Nwd__V1__ErrorCode	 nwd_last_server_error(const struct nwd_client *c);

/*
 * Publishes env, which stays the caller's and is sent as given: the library
 * does not validate it (envelope_validate() does) and the broker overwrites
 * the fields it owns.  Waits for the PublishAck; on NWD_OK, *ack (if ack is
 * not NULL) is a new PublishAck for the caller to free with
 * nwd_publish_ack_free().  Deliveries that arrive meanwhile are queued for
 * nwd_next_delivery().
 */
enum nwd_status		 nwd_publish(struct nwd_client *c,
			    const Nwd__V1__Envelope *env,
			    Nwd__V1__PublishAck **ack, char *err, size_t errlen);

/*
 * Subscribes to the given kinds and subjects (none = every kind, every
 * subject) and waits for the SubscribeAck.  durable_name may be NULL or ""
 * for a live-only subscription.  The arrays stay the caller's.  On NWD_OK
 * *sub_id (if not NULL) holds the subscription id.
 */
enum nwd_status		 nwd_subscribe(struct nwd_client *c,
			    const Nwd__V1__Kind *kinds, size_t nkinds,
			    const char *const *subjects, size_t nsubjects,
			    const char *durable_name, uint64_t *sub_id,
			    char *err, size_t errlen);

/*
 * Waits up to timeout_ms (-1 = forever, 0 = only what has arrived) for the
 * next delivery, queued ones first.  On NWD_OK *out is a new Deliver for
 * the caller to free with nwd_deliver_free(); NWD_ERR_TIMEOUT leaves the
 * session usable.  Other frames that arrive unasked (answers to requests
 * nobody waits for any more, such as an Error about an Ack) are discarded.
 */
enum nwd_status		 nwd_next_delivery(struct nwd_client *c,
			    int timeout_ms, Nwd__V1__Deliver **out,
			    char *err, size_t errlen);

/*
 * Acknowledges a delivery.  The broker does not answer an Ack, so NWD_OK
 * means that it was sent.
 */
enum nwd_status		 nwd_ack(struct nwd_client *c, uint64_t delivery_id,
			    const char *message_id, char *err, size_t errlen);

/* Sends a Ping and waits for its Pong. */
enum nwd_status		 nwd_ping(struct nwd_client *c, char *err,
			    size_t errlen);

/*
 * Asks the broker how it would decide env if the principal with id
 * principal published it: the publish decision, and for each principal
 * whether it would receive the message, under which rules and without
 * which fields (see ExplainResult in nwd.proto).  Nothing is published.
 * Only auditors may ask (others get NWD_ERR_REFUSED), and the broker
 * audits the question before it answers.  to (nto principal ids; may be
 * NULL if nto is 0) limits the decisions reported; at_unix_ms judges
 * allocations at that time (0 = now).  env and to stay the caller's.  On
 * NWD_OK *out is a new ExplainResult for the caller to free with
 * nwd_explain_result_free().
 */
enum nwd_status		 nwd_explain(struct nwd_client *c,
			    const char *principal, const Nwd__V1__Envelope *env,
			    const char *const *to, size_t nto,
			    int64_t at_unix_ms, Nwd__V1__ExplainResult **out,
			    char *err, size_t errlen);

/*
 * Asks the broker one page of its audit trail (see AuditQuery and AuditPage
 * in nwd.proto): the rows matching q's filters, at most q->limit (0 = 100,
 * at most 1000), and for a subject-access query (q->subject_access, with
 * q->subject) first the messages about the subject, opened for the
 * auditor.  To read on, ask again with q->page_token set to the page's
 * next_page_token until it is empty.  Only auditors may ask (others get
 * NWD_ERR_REFUSED), and the broker audits every page before it answers;
 * the exception is a delivery status (q->delivery_status, with
 * q->message_id alone), which any principal may ask about a message it
 * published (any other id is NWD_ERR_REFUSED, ERROR_NOT_FOUND).
 * q stays the caller's.  On NWD_OK *out is a new AuditPage for the caller
 * to free with nwd_audit_page_free().
 */
enum nwd_status		 nwd_audit_query(struct nwd_client *c,
			    const Nwd__V1__AuditQuery *q,
			    Nwd__V1__AuditPage **out, char *err, size_t errlen);

/*
 * Called by nwd_run() for each delivery.  d stays the library's and is
 * freed when the callback returns; the callback may call nwd_ack() on c.
 * Return 0 to go on, anything else to stop.
 */
typedef int		(*nwd_deliver_cb)(struct nwd_client *c,
			    const Nwd__V1__Deliver *d, void *arg);

/*
 * Passes every delivery to cb, after nwd_subscribe(), until cb returns
 * nonzero (then NWD_OK) or the session ends (its status).
 */
enum nwd_status		 nwd_run(struct nwd_client *c, nwd_deliver_cb cb,
			    void *arg, char *err, size_t errlen);

/* Free results handed to the caller; NULL is a no-op. */
void			 nwd_publish_ack_free(Nwd__V1__PublishAck *ack);
void			 nwd_deliver_free(Nwd__V1__Deliver *d);
void			 nwd_explain_result_free(Nwd__V1__ExplainResult *r);
void			 nwd_audit_page_free(Nwd__V1__AuditPage *p);

#ifdef __cplusplus
}
#endif

#endif
