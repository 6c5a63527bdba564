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

#endif
