/*
 * broker: what happens to a decoded request from an active session.
 * Publish: validate the envelope, set the broker-owned header fields from
 * the certificate's principal, authorise the publish, decide per principal,
 * write message, decisions and deliveries to the store in one batch, and only
 * when that batch has committed deliver to live subscribers and acknowledge
 * the publisher.  Also subscriptions, acks and connection audit events.
 */
#ifndef NWD_BROKER_H
#define NWD_BROKER_H

#include "nwd.pb-c.h"

struct server;
struct session;
struct broker;

struct broker	*broker_new(struct server *srv);
void		 broker_free(struct broker *b);

/* Handles one frame from an ACTIVE session.  The frame stays the caller's;
 * the broker takes what it needs (it may steal the envelope, leaving NULL). */
void		 broker_handle(struct broker *b, struct session *s,
		    Nwd__V1__Frame *f);

/* Records an audit event about a session whose outcome nobody waits for
 * (connect, refusals, protocol errors, disconnect). */
void		 broker_audit_session(struct broker *b, struct session *s,
		    int action, const char *actor, const char *reason);

struct audit_event;
struct policy_decision;

/*
 * The audit row of one delivery decision (AUDIT_DELIVER or
 * AUDIT_DELIVER_REFUSED) about env for recipient, made on session s with
 * actor as the acting principal.  withheld is the comma-separated paths
 * removed (deliveries only).  NULL if memory ran out.
 */
struct audit_event *broker_decision_event(struct session *s,
		    const char *actor, int action, const char *message_id,
		    const Nwd__V1__Envelope *env, const char *recipient,
		    const struct policy_decision *d, const char *withheld,
		    const char *policy_version);

/*
 * Sends one Deliver on subscription sub_id of s: the packed (already
 * redacted) envelope, the paths withheld from it (comma-separated), the
 * rule and policy version; durable names the durable subscription or is
 * NULL.  Returns 0, or -1 if it could not be sent.
 */
int		 broker_send_deliver(struct session *s, uint64_t sub_id,
		    const char *message_id, const uint8_t *bytes, size_t len,
		    const char *withheld, const char *rule,
		    const char *policy_version, const char *durable);

#endif
