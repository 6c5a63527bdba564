#include "audit.h"
#include "envelope.h"
#include "log.h"
#include "store.h"
#include "trail.h"

struct audit_event *
trail_event(const struct trail_origin *o, enum audit_action a,
    const char *actor)
{
	struct audit_event *ev;

	if ((ev = audit_event_new(a, actor)) == NULL)
		return NULL;
	if (o != NULL && (audit_event_set(ev, AUDIT_F_SESSION,
	    o->session) == -1 ||
	    audit_event_set(ev, AUDIT_F_PEER, o->peer) == -1)) {
		audit_event_free(ev);
		return NULL;
	}
	return ev;
}

void
trail_detached(struct store *st, struct audit_event *ev)
{
	struct store_batch *batch;

	if (ev == NULL) {
		log_warnx("event=audit_dropped reason=\"out of memory\"");
		return;
	}
	if ((batch = store_batch_new()) == NULL) {
		log_warnx("event=audit_dropped action=%s reason=\"out of "
		    "memory\"", audit_action_name(ev->action));
		audit_event_free(ev);
		return;
	}
	store_batch_add_event(batch, ev);
	store_submit_detached(st, batch);
}

void
trail_session(struct store *st, const struct trail_origin *o,
    enum audit_action a, const char *actor, const char *reason)
{
	struct audit_event *ev;

	if ((ev = trail_event(o, a, actor)) != NULL &&
	    audit_event_set(ev, AUDIT_F_REASON, reason) == -1) {
		audit_event_free(ev);
		ev = NULL;
	}
	trail_detached(st, ev);
}

static const char *
or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

struct audit_event *
trail_decision(const struct trail_origin *o, const char *actor,
    enum audit_action a, const char *mid, const Nwd__V1__Envelope *env,
    const char *recipient, const char *rules, const char *reason,
    const char *shared, const char *withheld, const char *route,
    const char *version)
{
	struct audit_event *ev;

	if ((ev = trail_event(o, a, actor)) == NULL)
		return NULL;
	ev->kind = env->header->kind;
	if (audit_event_set(ev, AUDIT_F_MESSAGE_ID, mid) == -1 ||
	    audit_event_set(ev, AUDIT_F_SUBJECT,
	    env->header->subject->local_id) == -1 ||
	    audit_event_set(ev, AUDIT_F_RECIPIENT, recipient) == -1 ||
	    audit_event_set(ev, AUDIT_F_RULE, or_null(rules)) == -1 ||
	    audit_event_set(ev, AUDIT_F_POLICY_VERSION, version) == -1 ||
	    audit_event_set(ev, AUDIT_F_REASON, or_null(reason)) == -1)
		goto bad;
	if (a == AUDIT_DELIVER &&
	    (audit_event_set(ev, AUDIT_F_FIELDS_SHARED, shared) == -1 ||
	    audit_event_set(ev, AUDIT_F_FIELDS_WITHHELD, withheld) == -1 ||
	    audit_event_set(ev, AUDIT_F_ROUTE, route) == -1))
		goto bad;
	return ev;
bad:
	audit_event_free(ev);
	return NULL;
}

struct audit_event *
trail_delivery(const char *instance, enum audit_action a, const char *mid,
    const char *subject, int kind, const char *recipient, const char *reason)
{
	struct audit_event *ev;

	if ((ev = audit_event_new(a, instance)) == NULL)
		return NULL;
	ev->kind = kind;
	if (audit_event_set(ev, AUDIT_F_MESSAGE_ID, mid) == -1 ||
	    audit_event_set(ev, AUDIT_F_SUBJECT, subject) == -1 ||
	    audit_event_set(ev, AUDIT_F_RECIPIENT, recipient) == -1 ||
	    audit_event_set(ev, AUDIT_F_REASON, reason) == -1) {
		audit_event_free(ev);
		return NULL;
	}
	return ev;
}

struct audit_event *
trail_publish_refused(const struct trail_origin *o, const char *actor,
    const Nwd__V1__Envelope *env, const char *mid, const char *rule,
    const char *version, const char *reason)
{
	struct audit_event	*ev;
	const Nwd__V1__Header	*h = env != NULL ? env->header : NULL;

	if ((ev = trail_event(o, AUDIT_PUBLISH_REFUSED, actor)) == NULL)
		return NULL;
	if (h != NULL) {
		ev->kind = envelope_kind_name(h->kind) != NULL ?
		    (int)h->kind : 0;
		if (h->subject != NULL &&
		    envelope_subject_ok(h->subject->local_id) &&
		    audit_event_set(ev, AUDIT_F_SUBJECT,
		    h->subject->local_id) == -1)
			goto bad;
	}
	if (audit_event_set(ev, AUDIT_F_MESSAGE_ID, mid) == -1 ||
	    audit_event_set(ev, AUDIT_F_RULE, or_null(rule)) == -1 ||
	    audit_event_set(ev, AUDIT_F_POLICY_VERSION, version) == -1 ||
	    audit_event_set(ev, AUDIT_F_REASON, reason) == -1)
		goto bad;
	return ev;
bad:
	audit_event_free(ev);
	return NULL;
}

void
trail_daemon(struct store *st, const char *instance, enum audit_action a,
    const char *version, const char *reason)
{
	struct audit_event *ev;

	if ((ev = audit_event_new(a, instance)) != NULL &&
	    (audit_event_set(ev, AUDIT_F_POLICY_VERSION, version) == -1 ||
	    audit_event_set(ev, AUDIT_F_REASON, reason) == -1)) {
		audit_event_free(ev);
		ev = NULL;
	}
	trail_detached(st, ev);
}
