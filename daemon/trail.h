/*
 * trail: the audit rows nwdd writes, built from what happened.  Sessions,
 * the broker, replay, explain, the auditor's queries and the daemon's own
 * reloads say what happened; this module turns it into audit_event rows
 * and, for rows nobody waits for, hands them to the store.  It sits below
 * the session: it knows a session only by its name and peer.
 */
#ifndef NWD_TRAIL_H
#define NWD_TRAIL_H

#include "audit.h"
#include "nwd.pb-c.h"

struct store;

/* Where a row comes from: a session's name ("s42") and peer address. */
struct trail_origin {
	const char	*session;	/* borrowed; NULL: the daemon itself */
	const char	*peer;		/* borrowed; NULL if none */
};

/* A new row with its action, actor (may be NULL), session and peer;
 * NULL if memory ran out. */
struct audit_event *trail_event(const struct trail_origin *o,
		    enum audit_action a, const char *actor);

/*
 * Hands ev to the store in a batch of its own whose outcome nobody waits
 * for.  Takes ev; NULL (memory ran out while building it) is logged as a
 * dropped row.
 */
void		 trail_detached(struct store *st, struct audit_event *ev);

/* A row about a session that nobody waits for: connect, refusals,
 * protocol errors, disconnect.  reason may be NULL. */
void		 trail_session(struct store *st, const struct trail_origin *o,
		    enum audit_action a, const char *actor,
		    const char *reason);

/*
 * The row of one delivery decision (AUDIT_DELIVER or AUDIT_DELIVER_REFUSED)
 * about env for recipient, with actor as the acting principal.  rules and
 * reason may be empty (stored as NULL); shared and withheld are the
 * comma-separated fields of a delivery, route how it is reached (both
 * ignored for a refusal; route may be NULL).  NULL if memory ran out.
 */
struct audit_event *trail_decision(const struct trail_origin *o,
		    const char *actor, enum audit_action a,
		    const char *message_id, const Nwd__V1__Envelope *env,
		    const char *recipient, const char *rules,
		    const char *reason, const char *shared,
		    const char *withheld, const char *route,
		    const char *policy_version);

/*
 * A row about a delivery that did not happen as decided (AUDIT_DELIVER_LOST,
 * AUDIT_DELIVER_WITHDRAWN), with the instance as actor: message_id (about
 * subject and kind, if known) for recipient, and why.  NULL if memory ran
 * out.
 */
struct audit_event *trail_delivery(const char *instance,
		    enum audit_action a, const char *message_id,
		    const char *subject, int kind, const char *recipient,
		    const char *reason);

/*
 * The row of a refused publish: actor refused env (may be NULL or
 * invalid: its kind and subject are recorded only when they are sound,
 * the subject as envelope_subject_ok() judges it, so that bytes that are
 * not UTF-8 never reach the row and PostgreSQL always takes it)
 * under rule (may be NULL) and policy_version, for reason; message_id
 * (may be NULL) is the id the message would have had.  NULL if memory ran
 * out.
 */
struct audit_event *trail_publish_refused(const struct trail_origin *o,
		    const char *actor, const Nwd__V1__Envelope *env,
		    const char *message_id, const char *rule,
		    const char *policy_version, const char *reason);

/* A row of the daemon's own (policy or TLS files loaded or refused), with
 * the instance as actor; policy_version may be NULL. */
void		 trail_daemon(struct store *st, const char *instance,
		    enum audit_action a, const char *policy_version,
		    const char *reason);

#endif
