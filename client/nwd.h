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
 * broker's text>".  Once the session has ended, every later call fails at
 * once with the status and text that ended it, which say the true reason:
 *
 *   - the broker said Goodbye (it is stopping): NWD_ERR_CLOSED, "the broker
 *     is shutting down: <its reason>";
 *   - the broker sent an Error that answers no request and closed the
 *     session: "the broker ended the session: <CODE>: <its text>", with
 *     NWD_ERR_REFUSED for ERROR_FORBIDDEN and ERROR_LIMIT (our certificate
 *     is no longer accepted, say: reconnecting will not help),
 *     NWD_ERR_UNAVAILABLE for ERROR_UNAVAILABLE and ERROR_SHUTTING_DOWN,
 *     NWD_ERR_CLOSED for ERROR_TIMEOUT (the broker's idle_timeout: it is
 *     the broker that gave up, not a call of ours that timed out), and
 *     NWD_ERR_PROTOCOL otherwise; nwd_last_server_error() gives the code;
 *   - the connection dropped without either, or the broker stopped
 *     answering keepalive Pings: NWD_ERR_CLOSED, "the connection to the
 *     broker dropped: <why>".
 *
 * NWD_ERR_TIMEOUT is only ever a deadline of the call itself: its
 * timeout_ms, or the options' timeout_ms for an answer to a request.
 *
 * Keepalive: while a call waits for the broker (nwd_next_delivery() with a
 * long or infinite timeout, nwd_run(), or a request waiting for its
 * answer), the library sends a Ping whenever it has sent nothing for
 * keepalive_ms (struct nwd_opts), and reads the Pong, so that the broker,
 * which closes a session that sends nothing for its idle_timeout (300 s by
 * default), never closes one that waits.  A Pong that does not come within
 * timeout_ms of the Ping, with nothing else heard meanwhile, ends the
 * session as a dropped connection.  Between calls nothing is sent: a
 * caller that keeps a session open without calling into the library for
 * longer than the broker's idle_timeout sends nwd_ping() itself.
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
#define NWD_DEFAULT_KEEPALIVE_MS 60000	/* well inside nwdd's idle_timeout */

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
	int		 keepalive_ms;	/* while a call waits, a Ping after
					   this long without sending; 0 means
					   NWD_DEFAULT_KEEPALIVE_MS, < 0 never
					   (the broker may then close an idle
					   session) */
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
 * Publishing without waiting, for a publisher of many messages: the
 * broker decides and audits the messages of one session that are in
 * flight together, where nwd_publish() waits for each.
 * nwd_publish_send() sends env (which stays the caller's) and returns as
 * soon as it is sent, with its request id in *id.  nwd_publish_result()
 * waits up to the options' timeout_ms for the answer to one of the
 * Publishes sent so, in the order the broker answers: its request id in
 * *id, and on NWD_OK a new PublishAck in *ack (if ack is not NULL) for the
 * caller to free with nwd_publish_ack_free().  A refusal of that message
 * is its status with the broker's reason in err, *id set, the session
 * still up; any status with *id 0 is the session's (ended, or no answer
 * in time).  Deliveries that arrive meanwhile are queued.  While Publishes
 * sent so are unanswered, call no other function that waits for an
 * answer (their answers would be taken for stray ones and dropped); the
 * broker refuses more than its max_publishes_in_flight_per_principal.
 */
enum nwd_status		 nwd_publish_send(struct nwd_client *c,
			    const Nwd__V1__Envelope *env, uint64_t *id,
			    char *err, size_t errlen);
enum nwd_status		 nwd_publish_result(struct nwd_client *c,
			    uint64_t *id, Nwd__V1__PublishAck **ack,
			    char *err, size_t errlen);

/*
 * Subscribes to the given kinds and subjects (none = every kind, every
 * subject) and waits for the SubscribeAck.  durable_name may be NULL or ""
 * for a live-only subscription.  The arrays stay the caller's.  On NWD_OK
 * *sub_id (if not NULL) holds the subscription id.  A durable subscription
 * that exists with other kinds or subjects, or is already open on this
 * session, is refused (NWD_ERR_REFUSED, ERROR_CONFLICT);
 * nwd_subscribe_durable() can replace its filters.
 */
enum nwd_status		 nwd_subscribe(struct nwd_client *c,
			    const Nwd__V1__Kind *kinds, size_t nkinds,
			    const char *const *subjects, size_t nsubjects,
			    const char *durable_name, uint64_t *sub_id,
			    char *err, size_t errlen);

/*
 * nwd_subscribe() for the durable subscription name (required).  With
 * replace, a subscription of that name that exists with other kinds or
 * subjects takes these instead (the broker audits the change; what is
 * already queued stays queued); without it, it is refused as
 * nwd_subscribe() refuses it.  A principal holds at most the broker's
 * max_durable_per_principal durable subscriptions: a new one past that is
 * NWD_ERR_REFUSED (ERROR_LIMIT).
 */
enum nwd_status		 nwd_subscribe_durable(struct nwd_client *c,
			    const Nwd__V1__Kind *kinds, size_t nkinds,
			    const char *const *subjects, size_t nsubjects,
			    const char *name, int replace, uint64_t *sub_id,
			    char *err, size_t errlen);

/*
 * Ends the subscription sub_id of this session and waits for the broker's
 * Unsubscribed: nothing more is delivered on it after that.  Deliveries of
 * it that arrived before are still returned by nwd_next_delivery().  A
 * durable subscription stays recorded (its queue keeps filling) until
 * nwd_durable_delete().  An id this session does not hold is
 * NWD_ERR_REFUSED (ERROR_NOT_FOUND).
 */
enum nwd_status		 nwd_unsubscribe(struct nwd_client *c,
			    uint64_t sub_id, char *err, size_t errlen);

/*
 * Our principal's durable subscriptions (see DurableInfo in nwd.proto:
 * name, kinds, subjects, pending count, when the oldest pending message
 * was queued, when its filters were set, whether a session has it open).
 * On NWD_OK *out is a new DurableListResult for the caller to free with
 * nwd_durable_list_free().
 */
/*
 * The statutory clocks (deadlines) we may see, as DeadlineQuery in
 * nwd.proto asks: an auditor and the duty desk every one, others those
 * about young people we, or a team of ours, are allocated to.  On NWD_OK
 * *out is the list, by due time (free it with nwd_deadline_list_free()).
 */
enum nwd_status		 nwd_deadlines(struct nwd_client *c,
			    const Nwd__V1__DeadlineQuery *q,
			    Nwd__V1__DeadlineList **out, char *err,
			    size_t errlen);

/*
 * Break-glass, as BreakGlass in nwd.proto asks: claim emergency access to
 * a young person (CLAIM: subject, reason, duration_ms, kinds), end it
 * (END: grant_id), or read the history it opens (HISTORY: subject).  On
 * NWD_OK *out is the answer (free it with nwd_breakglass_result_free());
 * a refusal is NWD_ERR_REFUSED or NWD_ERR_INVALID (nwd_last_server_error()
 * gives the code) with the broker's reason in err.
 */
enum nwd_status		 nwd_breakglass(struct nwd_client *c,
			    const Nwd__V1__BreakGlass *q,
			    Nwd__V1__BreakGlassResult **out, char *err,
			    size_t errlen);
/*
 * Subject-access cases (auditors), as SarCaseRequest in nwd.proto asks:
 * open one, check the requester's identity, extend its due date, approve
 * its release (another auditor than the one who opened it), release it
 * with the report given (q->report, stored sealed by the broker), show
 * one (with the report once released) or list the open ones.  On NWD_OK
 * *out is the answer (free it with nwd_sar_case_result_free()); a
 * refusal is mapped as above, with the broker's reason in err and its
 * code from nwd_last_server_error().
 */
enum nwd_status		 nwd_sar_case(struct nwd_client *c,
			    const Nwd__V1__SarCaseRequest *q,
			    Nwd__V1__SarCaseResult **out, char *err,
			    size_t errlen);
/* The review queue (auditors): LIST, SHOW grant_id, CLOSE grant_id with
 * outcome and note.  *out is freed with nwd_review_result_free(). */
enum nwd_status		 nwd_review(struct nwd_client *c,
			    const Nwd__V1__Review *q,
			    Nwd__V1__ReviewResult **out, char *err,
			    size_t errlen);

enum nwd_status		 nwd_durable_list(struct nwd_client *c,
			    Nwd__V1__DurableListResult **out, char *err,
			    size_t errlen);

/*
 * Deletes our principal's durable subscription name: it is closed on every
 * session of the principal, and what was pending in it is withdrawn (each
 * message audited as deliver_withdrawn), not delivered.  On NWD_OK
 * *withdrawn (if not NULL) is how many pending messages were withdrawn.
 * A name we do not hold is NWD_ERR_REFUSED (ERROR_NOT_FOUND).
 */
enum nwd_status		 nwd_durable_delete(struct nwd_client *c,
			    const char *name, uint64_t *withdrawn, char *err,
			    size_t errlen);

/*
 * Waits up to timeout_ms (-1 = forever, 0 = only what has arrived) for the
 * next delivery, queued ones first, sending keepalive Pings meanwhile.  On
 * NWD_OK *out is a new Deliver for the caller to free with
 * nwd_deliver_free(); NWD_ERR_TIMEOUT, only when timeout_ms has passed,
 * leaves the session usable, and so does an error of nwd_ack_nowait()
 * reported here.  Any other status is the end of the session, with its
 * true reason (see the top of this file).  Other frames that arrive
 * unasked (answers to requests nobody waits for any more) are discarded.
 */
enum nwd_status		 nwd_next_delivery(struct nwd_client *c,
			    int timeout_ms, Nwd__V1__Deliver **out,
			    char *err, size_t errlen);

/*
 * Acknowledges a delivery and waits for the broker's Acked: NWD_OK means
 * that the broker has recorded the acknowledgement (the ack row is in the
 * audit trail, and a durable subscription's queue has let the message go).
 * A delivery this session does not wait an ack for is NWD_ERR_REFUSED
 * (ERROR_NOT_FOUND); an acknowledgement the broker could not record is
 * NWD_ERR_UNAVAILABLE: ack again.  Deliveries that arrive meanwhile are
 * queued for nwd_next_delivery().
 */
enum nwd_status		 nwd_ack(struct nwd_client *c, uint64_t delivery_id,
			    const char *message_id, char *err, size_t errlen);

/*
 * Acknowledges a delivery without waiting, for subscribers that receive
 * many: NWD_OK means only that the Ack was sent.  The broker's Acked is
 * read later, by whichever call reads next, and dropped.  An Error
 * answering it does not end the session: it is kept, and reported by the
 * next call on c instead of doing what that call was asked (its status
 * and "an acknowledgement sent without waiting failed: CODE: text", which
 * names the delivery), or by nwd_next_delivery() (and so nwd_run()) as
 * soon as it arrives while they wait.  One such error is kept; later ones
 * before it is reported are dropped.  The message comes again (a durable
 * subscription keeps it) until an acknowledgement is recorded.
 */
enum nwd_status		 nwd_ack_nowait(struct nwd_client *c,
			    uint64_t delivery_id, const char *message_id,
			    char *err, size_t errlen);

/* Sends a Ping and waits for its Pong (which also keeps the session from
 * the broker's idle_timeout). */
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
 * nonzero (then NWD_OK), the session ends (its status), or an error of
 * nwd_ack_nowait() is reported (its status; the session is then still
 * up).  It waits for ever, keeping the session alive with Pings.
 */
enum nwd_status		 nwd_run(struct nwd_client *c, nwd_deliver_cb cb,
			    void *arg, char *err, size_t errlen);

/* Free results handed to the caller; NULL is a no-op. */
void			 nwd_publish_ack_free(Nwd__V1__PublishAck *ack);
void			 nwd_deliver_free(Nwd__V1__Deliver *d);
void			 nwd_explain_result_free(Nwd__V1__ExplainResult *r);
void			 nwd_audit_page_free(Nwd__V1__AuditPage *p);
void			 nwd_durable_list_free(Nwd__V1__DurableListResult *r);
void			 nwd_deadline_list_free(Nwd__V1__DeadlineList *l);
void			 nwd_breakglass_result_free(
			    Nwd__V1__BreakGlassResult *r);
void			 nwd_review_result_free(Nwd__V1__ReviewResult *r);
void			 nwd_sar_case_result_free(Nwd__V1__SarCaseResult *r);

#ifdef __cplusplus
}
#endif

#endif
