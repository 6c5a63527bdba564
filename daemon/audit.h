/*
 * audit: the audit event record, as the broker and sessions build it and the
 * store writes it.  Plain data, no I/O.
 */
#ifndef NWD_AUDIT_H
#define NWD_AUDIT_H

#include <stdint.h>

enum audit_action {
	AUDIT_CONNECT,
	AUDIT_AUTH_REFUSED,
	AUDIT_PUBLISH,
	AUDIT_PUBLISH_REFUSED,
	AUDIT_DELIVER,
	AUDIT_DELIVER_REFUSED,
	AUDIT_ACK,
	AUDIT_SUBSCRIBE,
	AUDIT_AUDIT_QUERY,
	AUDIT_POLICY_LOADED,
	AUDIT_PURGE,
	AUDIT_PROTOCOL_ERROR,
	AUDIT_DISCONNECT,
	AUDIT_TLS_LOADED,		/* certificate, CA, CRL taken on reload */
	AUDIT_TLS_RELOAD_REFUSED,	/* broken TLS files; old ones kept */
	AUDIT_DELIVER_LOST,		/* a live send that did not happen */
	AUDIT_DELIVER_WITHDRAWN,	/* pending when its durable
					   subscription was deleted */
	AUDIT_DURABLE_DELETED,		/* a durable subscription deleted */
	AUDIT_PRINCIPALS_LOADED,	/* the principal mapping (re)loaded */
	AUDIT_PRINCIPAL_CHANGED,	/* a live session's principal changed
					   at a reload */
	AUDIT_RELOAD_REFUSED,		/* a policy or mapping refused */
	AUDIT_RESTORE_ACCEPTED,		/* an operator accepted a database
					   whose chain head is not the one
					   committed (nwdd --accept-restore) */
	AUDIT_DEADLINE_SET,		/* a publish set a statutory clock */
	AUDIT_DEADLINE_MET,		/* an ack or a reference met it */
	AUDIT_DEADLINE_BREACHED,	/* its due time passed unmet */
	AUDIT_ESCALATED,		/* an Escalation was sent for it */
	AUDIT_BREAKGLASS_GRANTED,	/* emergency access granted */
	AUDIT_BREAKGLASS_REFUSED,	/* a claim (or its use) refused */
	AUDIT_BREAKGLASS_ENDED,		/* a grant ended or revoked early */
	AUDIT_REVIEW_CLOSED,		/* an auditor closed a grant's review */
	AUDIT_REVIEW_REFUSED,		/* a review request refused */
	AUDIT_REVIEW_QUERY,		/* the review queue or a grant read */
	AUDIT_CONSOLE_VIEW,		/* a console page or export served,
					   or refused (reason "refused: ") */
	AUDIT_SAR_CASE_OPENED,		/* a subject-access case opened */
	AUDIT_SAR_IDENTITY_CHECKED,	/* its requester's identity checked */
	AUDIT_SAR_EXTENDED,		/* its due date extended */
	AUDIT_SAR_APPROVED,		/* its release approved */
	AUDIT_SAR_RELEASED,		/* its report released and stored */
	AUDIT_SAR_CASE_REFUSED,		/* a step or look refused */
	AUDIT_SAR_CASE_QUERY,		/* a case shown or the cases listed */
};

/*
 * One audit row.  Every string member is owned by the event, may be NULL
 * (stored as NULL), and is set through audit_event_set(); field lists are
 * comma-separated paths ("source_details,grading").
 */
struct audit_event {
	enum audit_action action;
	int64_t		 at_ms;		/* unix ms, set by audit_event_new */
	char		*actor;		/* principal id, or "cert:<subject>" */
	char		*message_id;
	char		*subject;
	int		 kind;		/* Nwd__V1__Kind, 0 if none */
	char		*recipient;
	char		*fields_shared;
	char		*fields_withheld;
	char		*rule;
	char		*policy_version;
	char		*reason;
	char		*peer;		/* remote address "ip:port" */
	char		*session;	/* session id, e.g. "s42" */
	char		*route;		/* a deliver row's route: "live",
					   "queued", "live,queued",
					   "unreachable", "replay" */
};

enum audit_field {
	AUDIT_F_ACTOR, AUDIT_F_MESSAGE_ID, AUDIT_F_SUBJECT, AUDIT_F_RECIPIENT,
	AUDIT_F_FIELDS_SHARED, AUDIT_F_FIELDS_WITHHELD, AUDIT_F_RULE,
	AUDIT_F_POLICY_VERSION, AUDIT_F_REASON, AUDIT_F_PEER, AUDIT_F_SESSION,
	AUDIT_F_ROUTE,
};

/* The name stored in the action column ("publish_refused"). */
const char		*audit_action_name(enum audit_action a);
int			 audit_action_from_name(const char *name,
			    enum audit_action *out);

/* Returns a new event stamped with the current time, or NULL. */
struct audit_event	*audit_event_new(enum audit_action a, const char *actor);

/* Replaces one string member with a copy of value (NULL clears it). */
int			 audit_event_set(struct audit_event *ev,
			    enum audit_field f, const char *value);

void			 audit_event_free(struct audit_event *ev);

#endif
