#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "audit.h"
#include "auditq.h"
#include "broker.h"
#include "clock.h"
#include "config.h"
#include "decide.h"
#include "deliver.h"
#include "durable.h"
#include "envelope.h"
#include "explain.h"
#include "frame.h"
#include "identity.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "replay.h"
#include "seal.h"
#include "server.h"
#include "session.h"
#include "store.h"
#include "trail.h"
#include "uuid.h"

#define BROKER_MAX_SUBJECTS	64	/* subjects of one subscription */

struct broker {
	struct server	*srv;		/* borrowed */
};

/* A publish waiting for its audit batch to commit. */
struct publish_job {
	struct broker		*broker;	/* borrowed */
	uint64_t		 session_id;	/* publisher; may be gone */
	uint64_t		 request_id;
	char			 message_id[UUID_STR_LEN];
	int			 kind;
	char			*subject;	/* owned */
	char			 policy_version[POLICY_VERSION_LEN];
	struct decide_plan	 plan;		/* owned; who gets what */
	int64_t			 read_at_ms;	/* monotonic: frame read */
};

struct broker *
broker_new(struct server *srv)
{
	struct broker *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->srv = srv;
	return b;
}

void
broker_free(struct broker *b)
{
	free(b);
}

static void
job_free(struct publish_job *j)
{
	if (j == NULL)
		return;
	decide_plan_free(&j->plan);
	free(j->subject);
	free(j);
}

/* A new row about session s. */
static struct audit_event *
session_event(struct session *s, enum audit_action a)
{
	struct trail_origin o = session_origin(s);

	return trail_event(&o, a, s->principal->id);
}

/* Audits a refused publish and answers the publisher. */
static void
refuse_publish(struct broker *b, struct session *s, uint64_t request_id,
    const Nwd__V1__Envelope *env, Nwd__V1__ErrorCode code,
    const char *rule, const char *reason)
{
	struct trail_origin o = session_origin(s);

	if (rule != NULL && rule[0] == '\0')
		rule = NULL;
	metrics_publish_refused(code, rule);
	session_send_error(s, request_id, code, "publish refused: %s", reason);
	trail_publish_refused(b->srv->store, &o, s->principal->id, env, rule,
	    policy_version(b->srv->policy), reason);
}

/* The committed publish reaches every live session that wants it. */
static void
send_deliveries(struct broker *b, const struct publish_job *j)
{
	const struct decide_entry	*e;
	struct deliver_msg		 m;
	size_t				 i;

	m.message_id = j->message_id;
	m.kind = j->kind;
	m.subject = j->subject;
	m.policy_version = j->policy_version;
	for (i = 0; i < j->plan.nentries; i++) {
		e = &j->plan.entries[i];
		if (e->verdict != POLICY_ALLOW)
			continue;
		m.bytes = e->bytes;
		m.len = e->len;
		m.withheld = e->withheld;
		m.rule = e->rules;
		deliver_fanout(b->srv->index, e->id, &m);
	}
}

static void
publish_done(enum store_outcome outcome, void *arg)
{
	struct publish_job	*j = arg;
	struct broker		*b = j->broker;
	struct session		*s;
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT;
	Nwd__V1__PublishAck	 ack = NWD__V1__PUBLISH_ACK__INIT;

	s = session_find(b->srv, j->session_id);
	if (s != NULL && s->publishes_in_flight > 0)
		s->publishes_in_flight--;
	if (outcome != STORE_COMMITTED) {
		metrics_publish(outcome == STORE_FAILED ? "failed" :
		    "unavailable");
		session_log(warnx, s, "message=%s event=publish_failed "
		    "reason=\"audit batch not committed (%s)\"",
		    j->message_id, outcome == STORE_FAILED ?
		    "database refused the rows" : "database unavailable");
		if (s != NULL)
			session_send_error(s, j->request_id,
			    outcome == STORE_FAILED ?
			    NWD__V1__ERROR_CODE__ERROR_INTERNAL :
			    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE,
			    "publish not completed: the audit store did not "
			    "commit it, so nothing was shared");
		job_free(j);
		return;
	}
	/* The audit rows are durable: now, and only now, act on them. */
	metrics_publish("acked");
	if (j->plan.has_alloc &&
	    alloc_table_put(b->srv->allocs, &j->plan.alloc) == -1)
		log_warnx("message=%s event=allocation_not_applied reason=\"out "
		    "of memory\"", j->message_id);
	send_deliveries(b, j);
	if (s != NULL) {
		ack.message_id = j->message_id;
		ack.recipients = j->plan.recipients;
		ack.duty_desk = j->plan.duty_desk;
		ack.policy_version = j->policy_version;
		f.request_id = j->request_id;
		f.msg_case = NWD__V1__FRAME__MSG_PUBLISH_ACK;
		f.publish_ack = &ack;
		session_send(s, &f);
	}
	metrics_publish_seconds((double)(clock_mono_ms() - j->read_at_ms) /
	    1e3);
	session_log(info, s, "event=publish message=%s kind=%s subject=%s "
	    "recipients=%zu duty_desk=%d", j->message_id,
	    envelope_kind_name(j->kind), j->subject, j->plan.recipients,
	    j->plan.duty_desk);
	job_free(j);
}

/*
 * The rows of the plan's decisions: a deliver row and the durable queue
 * entries for each recipient, a deliver_refused row for each refusal.
 */
static int
plan_rows(struct broker *b, struct session *s, const Nwd__V1__Envelope *env,
    const struct publish_job *j, struct store_batch *batch)
{
	const struct decide_entry	*e;
	struct trail_origin		 o = session_origin(s);
	struct audit_event		*ev;
	const char			*names[64];
	size_t				 i, k, nd;

	for (i = 0; i < j->plan.nentries; i++) {
		e = &j->plan.entries[i];
		if (e->verdict == POLICY_DENY_NO_RULE)
			continue;
		ev = trail_decision(&o, s->principal->id, e->verdict ==
		    POLICY_ALLOW ? AUDIT_DELIVER : AUDIT_DELIVER_REFUSED,
		    j->message_id, env, e->id, e->rules, e->reason,
		    e->shared, e->withheld, j->policy_version);
		if (ev == NULL || store_batch_add_event(batch, ev) == -1)
			return -1;
		if (e->verdict != POLICY_ALLOW)
			continue;
		/* Queue it for each durable subscription that wants it. */
		nd = durable_registry_match(b->srv->durables, e->id,
		    j->kind, j->subject, names, sizeof(names) /
		    sizeof(names[0]));
		for (k = 0; k < nd; k++)
			if (store_batch_add_delivery(batch, j->message_id,
			    e->id, names[k]) == -1)
				return -1;
	}
	return 0;
}

/* The whole envelope, sealed: what replay and a subject-access request
 * read back. */
static int
batch_message(struct broker *b, struct session *s,
    const Nwd__V1__Envelope *env, const char *mid, const char *version,
    struct store_batch *batch)
{
	const Nwd__V1__Header	*h = env->header;
	struct store_message	 m;
	uint8_t			*plain, *sealed;
	size_t			 plen;
	int			 rc;

	memset(&m, 0, sizeof(m));
	memcpy(m.id, mid, sizeof(m.id));
	m.kind = h->kind;
	m.subject = h->subject->local_id;
	m.sender = s->principal->id;
	m.agency = s->principal->agency;
	m.marking = h->marking;
	m.priority = h->priority;
	m.legal_basis = h->legal_basis;
	m.created_ms = h->created_unix_ms;
	m.policy_version = version;
	plen = nwd__v1__envelope__get_packed_size(env);
	if ((plain = malloc(plen > 0 ? plen : 1)) == NULL)
		return -1;
	nwd__v1__envelope__pack(env, plain);
	sealed = seal_body(b->srv->sealer, mid, plain, plen, &m.body_len);
	explicit_bzero(plain, plen);
	free(plain);
	if (sealed == NULL)
		return -1;
	m.body = sealed;
	m.key_id = sealer_key_id(b->srv->sealer);
	rc = store_batch_set_message(batch, &m);
	free(sealed);
	return rc;
}

static void
handle_publish(struct broker *b, struct session *s, uint64_t request_id,
    Nwd__V1__Publish *pub)
{
	Nwd__V1__Envelope	*env = pub->envelope;
	struct decide_world	 w;
	struct publish_job	*j;
	struct store_batch	*batch = NULL;
	struct audit_event	*ev;
	struct trail_origin	 o = session_origin(s);
	const char		*version = policy_version(b->srv->policy);

	if ((j = calloc(1, sizeof(*j))) == NULL)
		goto internal;
	j->read_at_ms = clock_mono_ms();
	memset(&w, 0, sizeof(w));
	w.policy = b->srv->policy;
	w.ids = b->srv->ids;
	w.allocs = b->srv->allocs;
	w.now_ms = clock_wall_ms();
	w.max_frame = b->srv->cfg->max_frame;
	/* The broker owns the id and the time: never the client. */
	if (uuid_generate_v7(w.now_ms, j->message_id) == -1 ||
	    decide_publish(&w, s->principal, env, j->message_id, DECIDE_PACK,
	    &j->plan) == -1)
		goto internal;
	if (j->plan.publish != POLICY_ALLOW) {
		refuse_publish(b, s, request_id, env, j->plan.code,
		    j->plan.rules, j->plan.reason);
		job_free(j);
		return;
	}
	if (store_get_state(b->srv->store) != STORE_READY) {
		job_free(j);
		refuse_publish(b, s, request_id, env,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, NULL,
		    "the audit store is unavailable, so nothing can be "
		    "shared; try again later");
		return;
	}
	j->broker = b;
	j->session_id = s->id;
	j->request_id = request_id;
	j->kind = env->header->kind;
	snprintf(j->policy_version, sizeof(j->policy_version), "%s", version);
	if ((j->subject = strdup(env->header->subject->local_id)) == NULL ||
	    (batch = store_batch_new()) == NULL ||
	    batch_message(b, s, env, j->message_id, version, batch) == -1)
		goto internal;
	if ((ev = trail_event(&o, AUDIT_PUBLISH, s->principal->id)) == NULL)
		goto internal;
	ev->kind = j->kind;
	audit_event_set(ev, AUDIT_F_MESSAGE_ID, j->message_id);
	audit_event_set(ev, AUDIT_F_SUBJECT, j->subject);
	audit_event_set(ev, AUDIT_F_RULE, j->plan.rules);
	audit_event_set(ev, AUDIT_F_POLICY_VERSION, version);
	audit_event_set(ev, AUDIT_F_REASON, j->plan.note[0] != '\0' ?
	    j->plan.note : NULL);
	if (store_batch_add_event(batch, ev) == -1 ||
	    (j->plan.has_alloc && store_batch_add_allocation(batch,
	    &j->plan.alloc, j->message_id) == -1) ||
	    plan_rows(b, s, env, j, batch) == -1)
		goto internal;
	if (store_submit(b->srv->store, batch, publish_done, j) == -1) {
		store_batch_free(batch);
		job_free(j);
		refuse_publish(b, s, request_id, env,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, NULL,
		    "the audit store is unavailable or full, so nothing can "
		    "be shared; try again later");
		return;
	}
	s->publishes_in_flight++;
	session_log(debug, s, "event=publish_queued message=%s recipients=%zu",
	    j->message_id, j->plan.recipients);
	return;
internal:
	metrics_publish("failed");
	store_batch_free(batch);
	job_free(j);
	session_send_error(s, request_id, NWD__V1__ERROR_CODE__ERROR_INTERNAL,
	    "publish failed: out of memory");
}

/* A durable subscription waiting for its record to commit. */
struct subscribe_job {
	struct broker	*broker;	/* borrowed */
	uint64_t	 session_id;
	uint64_t	 request_id;
	char		*principal;	/* owned */
	char		*name;		/* owned */
	uint32_t	 kinds;
	char		**subjects;	/* owned */
	size_t		 nsubjects;
};

static void
subscribe_job_free(struct subscribe_job *j)
{
	size_t i;

	if (j == NULL)
		return;
	for (i = 0; i < j->nsubjects; i++)
		free(j->subjects[i]);
	free(j->subjects);
	free(j->principal);
	free(j->name);
	free(j);
}

static void
subscribe_done(enum store_outcome outcome, void *arg)
{
	struct subscribe_job		*j = arg;
	struct server			*srv = j->broker->srv;
	struct session			*s = session_find(srv, j->session_id);
	struct store_subscription	 rec;
	Nwd__V1__Frame			 f = NWD__V1__FRAME__INIT;
	Nwd__V1__SubscribeAck		 ack = NWD__V1__SUBSCRIBE_ACK__INIT;
	uint64_t			 id;

	if (outcome != STORE_COMMITTED) {
		if (s != NULL)
			session_send_error(s, j->request_id,
			    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the "
			    "durable subscription could not be recorded; try "
			    "again later");
		subscribe_job_free(j);
		return;
	}
	rec.principal = j->principal;
	rec.name = j->name;
	rec.kinds = j->kinds;
	rec.subjects = (const char *const *)j->subjects;
	rec.nsubjects = j->nsubjects;
	if (durable_registry_put(srv->durables, &rec) == -1)
		log_warnx("session=%s principal=%s event=durable_not_registered "
		    "name=%s reason=\"out of memory\"", s != NULL ? s->name :
		    "-", j->principal, j->name);
	if (s == NULL) {
		subscribe_job_free(j);
		return;
	}
	/* The session takes the subjects. */
	id = subs_add(&s->subs, j->kinds, j->subjects, j->nsubjects, j->name);
	j->subjects = NULL;
	j->nsubjects = 0;
	if (id == 0) {
		session_send_error(s, j->request_id,
		    NWD__V1__ERROR_CODE__ERROR_INTERNAL, "subscribe failed: "
		    "out of memory");
		subscribe_job_free(j);
		return;
	}
	ack.subscription_id = id;
	f.request_id = j->request_id;
	f.msg_case = NWD__V1__FRAME__MSG_SUBSCRIBE_ACK;
	f.subscribe_ack = &ack;
	session_send(s, &f);
	log_info("session=%s principal=%s event=subscribe id=%llu durable=%s",
	    s->name, j->principal, (unsigned long long)id, j->name);
	/* Then everything it missed, re-checked now. */
	replay_start(srv, s, id, j->name);
	subscribe_job_free(j);
}

/*
 * Records a durable subscription and, once that has committed, opens it
 * and replays what it missed.  Takes ownership of subjects.
 */
static void
subscribe_durable(struct broker *b, struct session *s, uint64_t request_id,
    const char *name, uint32_t mask, char **subjects, size_t n,
    const char *desc)
{
	struct subscribe_job		*j;
	struct store_batch		*batch = NULL;
	struct store_subscription	 rec;
	struct audit_event		*ev = NULL;
	char				 reason[600];

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		while (n > 0)
			free(subjects[--n]);
		free(subjects);
		goto oom;
	}
	j->broker = b;
	j->session_id = s->id;
	j->request_id = request_id;
	j->kinds = mask;
	j->subjects = subjects;
	j->nsubjects = n;
	if ((j->principal = strdup(s->principal->id)) == NULL ||
	    (j->name = strdup(name)) == NULL ||
	    (batch = store_batch_new()) == NULL)
		goto oom;
	rec.principal = j->principal;
	rec.name = j->name;
	rec.kinds = mask;
	rec.subjects = (const char *const *)subjects;
	rec.nsubjects = n;
	snprintf(reason, sizeof(reason), "durable=%s %s", name, desc);
	if (store_batch_add_subscription(batch, &rec) == -1 ||
	    (ev = session_event(s, AUDIT_SUBSCRIBE)) ==
	    NULL || audit_event_set(ev, AUDIT_F_REASON, reason) == -1)
		goto oom;
	if (store_batch_add_event(batch, ev) == -1) {
		ev = NULL;
		goto oom;
	}
	ev = NULL;
	if (store_submit(b->srv->store, batch, subscribe_done, j) == -1) {
		store_batch_free(batch);
		subscribe_job_free(j);
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the audit store "
		    "is unavailable; a durable subscription cannot be opened "
		    "now");
	}
	return;
oom:
	audit_event_free(ev);
	store_batch_free(batch);
	subscribe_job_free(j);
	session_send_error(s, request_id, NWD__V1__ERROR_CODE__ERROR_INTERNAL,
	    "subscribe failed: out of memory");
}

static void
handle_subscribe(struct broker *b, struct session *s, uint64_t request_id,
    const Nwd__V1__Subscribe *sub)
{
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT;
	Nwd__V1__SubscribeAck	 ack = NWD__V1__SUBSCRIBE_ACK__INIT;
	struct audit_event	*ev;
	uint32_t		 mask = 0;
	char			**subjects = NULL, desc[512];
	size_t			 i, n = 0, dl;
	uint64_t		 id;

	if (sub->durable_name[0] != '\0') {
		if (!durable_name_ok(sub->durable_name)) {
			session_send_error(s, request_id,
			    NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE,
			    "a durable subscription name is 1 to %d letters, "
			    "digits, '-', '_' or '.'", DURABLE_MAX_NAME);
			return;
		}
		if (subs_has_durable(&s->subs, sub->durable_name)) {
			session_send_error(s, request_id,
			    NWD__V1__ERROR_CODE__ERROR_PROTOCOL, "durable "
			    "subscription %s is already open on this session",
			    sub->durable_name);
			return;
		}
		if (store_get_state(b->srv->store) != STORE_READY) {
			session_send_error(s, request_id,
			    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the audit "
			    "store is unavailable; a durable subscription "
			    "cannot be opened now");
			return;
		}
	}
	if (s->subs.n >= b->srv->cfg->max_subscriptions) {
		metrics_refusal("max_subscriptions");
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_LIMIT, "this session already "
		    "has %u subscriptions (max_subscriptions)", s->subs.n);
		return;
	}
	if (sub->n_subjects > BROKER_MAX_SUBJECTS) {
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_LIMIT, "a subscription may "
		    "name at most %d subjects", BROKER_MAX_SUBJECTS);
		return;
	}
	dl = snprintf(desc, sizeof(desc), "kinds=");
	for (i = 0; i < sub->n_kinds; i++) {
		if (envelope_kind_name(sub->kinds[i]) == NULL) {
			session_send_error(s, request_id,
			    NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE,
			    "unknown kind %d in subscribe", (int)sub->kinds[i]);
			return;
		}
		mask |= 1u << sub->kinds[i];
		if (dl < sizeof(desc))
			dl += snprintf(desc + dl, sizeof(desc) - dl, "%s%s",
			    i > 0 ? "," : "",
			    envelope_kind_name(sub->kinds[i]));
	}
	if (sub->n_kinds == 0) {
		mask = ~1u;
		if (dl < sizeof(desc))
			dl += snprintf(desc + dl, sizeof(desc) - dl, "*");
	}
	if (dl < sizeof(desc))
		dl += snprintf(desc + dl, sizeof(desc) - dl, " subjects=%s",
		    sub->n_subjects == 0 ? "*" : "");
	if (sub->n_subjects > 0 &&
	    (subjects = calloc(sub->n_subjects, sizeof(char *))) == NULL)
		goto oom;
	for (i = 0; i < sub->n_subjects; i++) {
		const char *subj = sub->subjects[i];

		if (subj[0] == '\0' || strlen(subj) > ENVELOPE_MAX_SUBJECT ||
		    strpbrk(subj, " ,\t\r\n") != NULL) {
			session_send_error(s, request_id,
			    NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE,
			    "subscribe subject %zu is not a subject id", i);
			goto fail;
		}
		if ((subjects[n++] = strdup(subj)) == NULL)
			goto oom;
		if (dl < sizeof(desc))
			dl += snprintf(desc + dl, sizeof(desc) - dl, "%s%s",
			    i > 0 ? "," : "", subj);
	}
	if (sub->durable_name[0] != '\0') {
		subscribe_durable(b, s, request_id, sub->durable_name, mask,
		    subjects, n, desc);
		return;
	}
	if ((id = subs_add(&s->subs, mask, subjects, n, NULL)) == 0) {
		subjects = NULL;
		n = 0;
		goto oom;
	}
	ack.subscription_id = id;
	f.request_id = request_id;
	f.msg_case = NWD__V1__FRAME__MSG_SUBSCRIBE_ACK;
	f.subscribe_ack = &ack;
	session_send(s, &f);
	session_log(info, s, "event=subscribe id=%llu %s", (unsigned long long)id, desc);
	if ((ev = session_event(s, AUDIT_SUBSCRIBE)) !=
	    NULL && audit_event_set(ev, AUDIT_F_REASON, desc) == -1) {
		audit_event_free(ev);
		ev = NULL;
	}
	trail_detached(b->srv->store, ev);
	return;
oom:
	session_send_error(s, request_id, NWD__V1__ERROR_CODE__ERROR_INTERNAL,
	    "subscribe failed: out of memory");
fail:
	while (n > 0)
		free(subjects[--n]);
	free(subjects);
}

static void
handle_ack(struct broker *b, struct session *s, uint64_t request_id,
    const Nwd__V1__Ack *ack)
{
	struct audit_event	*ev;
	struct store_batch	*batch;
	char			 mid[UUID_STR_LEN], durable[65];

	if (session_delivery_ack(s, ack->delivery_id, mid, durable) == -1) {
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_NOT_FOUND, "delivery %llu is "
		    "not waiting for an ack on this session",
		    (unsigned long long)ack->delivery_id);
		return;
	}
	session_log(debug, s, "event=ack message=%s", mid);
	if ((ev = session_event(s, AUDIT_ACK)) != NULL &&
	    (audit_event_set(ev, AUDIT_F_MESSAGE_ID, mid) == -1 ||
	    audit_event_set(ev, AUDIT_F_RECIPIENT, s->principal->id) == -1 ||
	    audit_event_set(ev, AUDIT_F_REASON, durable[0] != '\0' ?
	    durable : NULL) == -1)) {
		audit_event_free(ev);
		ev = NULL;
	}
	if (durable[0] == '\0' || ev == NULL) {
		trail_detached(b->srv->store, ev);
		return;
	}
	/* Proof of receipt, and the durable queue lets the message go. */
	if ((batch = store_batch_new()) == NULL ||
	    store_batch_set_delivery_state(batch, mid, s->principal->id,
	    durable, STORE_DELIVERY_ACKED) == -1) {
		store_batch_free(batch);
		audit_event_free(ev);
		session_log(warnx, s, "event=ack_lost message=%s "
		    "reason=\"out of memory\"", mid);
		return;
	}
	store_batch_add_event(batch, ev);
	store_submit_detached(b->srv->store, batch);
}

void
broker_handle(struct session *s, Nwd__V1__Frame *f, void *arg)
{
	struct broker *b = arg;

	switch (f->msg_case) {
	case NWD__V1__FRAME__MSG_PUBLISH:
		handle_publish(b, s, f->request_id, f->publish);
		break;
	case NWD__V1__FRAME__MSG_SUBSCRIBE:
		handle_subscribe(b, s, f->request_id, f->subscribe);
		break;
	case NWD__V1__FRAME__MSG_UNSUBSCRIBE:
		if (subs_remove(&s->subs, f->unsubscribe->subscription_id) ==
		    -1)
			session_send_error(s, f->request_id,
			    NWD__V1__ERROR_CODE__ERROR_NOT_FOUND, "no "
			    "subscription %llu on this session",
			    (unsigned long long)
			    f->unsubscribe->subscription_id);
		break;
	case NWD__V1__FRAME__MSG_ACK:
		handle_ack(b, s, f->request_id, f->ack);
		break;
	case NWD__V1__FRAME__MSG_EXPLAIN:
		explain_handle(b->srv, s, f->request_id, f->explain);
		break;
	case NWD__V1__FRAME__MSG_AUDIT_QUERY:
		auditq_handle(b->srv, s, f->request_id, f->audit_query);
		break;
	default:
		session_send_error(s, f->request_id,
		    NWD__V1__ERROR_CODE__ERROR_PROTOCOL, "%s is not a request "
		    "a client may send", frame_msg_name(f));
		break;
	}
}
