#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "audit.h"
#include "auditq.h"
#include "breakglass.h"
#include "sarcase.h"
#include "broker.h"
#include "clock.h"
#include "cluster.h"
#include "config.h"
#include "consents.h"
#include "corrections.h"
#include "deadlines.h"
#include "decide.h"
#include "deliver.h"
#include "durable.h"
#include "envelope.h"
#include "explain.h"
#include "frame.h"
#include "identity.h"
#include "log.h"
#include "metrics.h"
#include "overdue.h"
#include "policy.h"
#include "seal.h"
#include "server.h"
#include "sessidx.h"
#include "session.h"
#include "store.h"
#include "subscribe.h"
#include "trail.h"
#include "world.h"
#include "uuid.h"

struct broker {
	struct server	*srv;		/* borrowed */
	size_t		 bytes_in_flight; /* of every publish job */
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
	size_t			 bytes;		/* held until it commits */
	struct deadlines_change	*deadlines;	/* owned; set or met */
	struct consents_change	*consent;	/* owned; a ConsentRecord */
	char			 supersedes[UUID_STR_LEN]; /* withdraws */
	sysmsg_done_fn	*on_done;	/* the broker's own message */
	void			*on_done_arg;
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
	deadlines_commit(j->broker != NULL ? j->broker->srv->deadlines :
	    NULL, j->deadlines, 0);
	consents_commit(j->broker != NULL ? j->broker->srv->consents : NULL,
	    j->consent, 0);
	free(j->subject);
	free(j);
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
	trail_detached(b->srv->store, trail_publish_refused(&o,
	    s->principal->id, env, NULL, rule, policy_version(b->srv->policy),
	    reason));
}

/* 1 if name is one of names[0..n). */
static int
durable_name_in(const char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

/*
 * The rules that refused a message that reached no one, for the publisher
 * and the publish_refused row: each rule (or "unreachable") once, with how
 * many principals it refused, never who they are.
 */
static void
refusing_rules(const struct decide_plan *plan, char *out, size_t outlen)
{
	const struct decide_entry	*e, *f;
	const char			*why;
	size_t				 i, k, n, len = 0;

	out[0] = '\0';
	for (i = 0; i < plan->nentries; i++) {
		e = &plan->entries[i];
		why = e->verdict == POLICY_ALLOW ? "unreachable" : e->rules;
		if (why[0] == '\0')
			why = "no rule";
		/* Counted at its first entry only. */
		for (k = 0, n = 0; k < plan->nentries; k++) {
			f = &plan->entries[k];
			if (strcmp(f->verdict == POLICY_ALLOW ? "unreachable" :
			    f->rules[0] != '\0' ? f->rules : "no rule",
			    why) != 0)
				continue;
			if (k < i)
				break;
			n++;
		}
		if (n == 0 || len >= outlen)
			continue;
		len += snprintf(out + len, outlen - len, "%s%s (%zu)",
		    len > 0 ? "; " : "", why, n);
	}
}

/*
 * A publish that reached no one, not even the duty desk: every decision
 * is a row of its own (refusals naming their rules; principals the policy
 * allows that nothing could reach as refused for that), with the
 * publish_refused row, under the id the message would have had; the
 * publisher is told the rules, not the principals.
 */
static void
refuse_no_one(struct broker *b, struct session *s, uint64_t request_id,
    const Nwd__V1__Envelope *env, const struct publish_job *j)
{
	const struct decide_entry	*e;
	struct trail_origin		 o = session_origin(s);
	struct store_batch		*batch;
	struct audit_event		*ev;
	const char			*version = j->policy_version;
	char				 rules[600], reason[900], why[320];
	size_t				 i;

	refusing_rules(&j->plan, rules, sizeof(rules));
	snprintf(reason, sizeof(reason), "%s%s%s%s", j->plan.reason,
	    rules[0] != '\0' ? " (refused by: " : "", rules,
	    rules[0] != '\0' ? ")" : "");
	metrics_publish_refused(NWD__V1__ERROR_CODE__ERROR_FORBIDDEN,
	    j->plan.rules);
	session_send_error(s, request_id, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN,
	    "publish refused: %s; message id %s", reason, j->message_id);
	if ((batch = store_batch_new()) == NULL) {
		log_warnx("event=audit_dropped reason=\"out of memory\"");
		return;
	}
	ev = trail_publish_refused(&o, s->principal->id, env, j->message_id,
	    j->plan.rules, version, reason);
	if (ev == NULL || store_batch_add_event(batch, ev) == -1)
		goto oom;
	for (i = 0; i < j->plan.nentries; i++) {
		e = &j->plan.entries[i];
		if (e->verdict == POLICY_DENY_NO_RULE)
			continue;
		if (e->verdict == POLICY_ALLOW)
			snprintf(why, sizeof(why), "rule %.200s allows it, but "
			    "no session or durable subscription could take "
			    "it", e->rules);
		ev = trail_decision(&o, s->principal->id,
		    AUDIT_DELIVER_REFUSED, j->message_id, env, e->id, e->rules,
		    e->verdict == POLICY_ALLOW ? why : e->reason, NULL, NULL,
		    NULL, version);
		if (ev == NULL || store_batch_add_event(batch, ev) == -1)
			goto oom;
	}
	store_submit_detached(b->srv->store, batch);
	return;
oom:
	store_batch_free(batch);
	log_warnx("event=audit_dropped reason=\"out of memory\"");
}

/* How a principal the policy allows would be reached now. */
static int
reach(const char *principal, int kind, const char *subject, int duty_pass,
    void *arg)
{
	struct broker	*b = arg;
	int		 route;

	route = deliver_route(b->srv->index, b->srv->durables, principal, kind,
	    subject, duty_pass);
	/* A live session on another instance: that one delivers it. */
	if (!duty_pass && !(route & DECIDE_ROUTE_LIVE) &&
	    cluster_reach(b->srv->cluster, principal, kind, subject))
		route |= DECIDE_ROUTE_LIVE;
	return route;
}

/*
 * The committed publish reaches every live session that wants it.  A
 * recipient whose decision said live and which no session took (it ended
 * meanwhile) gets a deliver_lost row: then, unless a durable queue holds
 * the message, it was not reached.
 */
static size_t
send_deliveries(struct broker *b, const struct publish_job *j)
{
	const struct decide_entry	*e;
	struct deliver_msg		 m;
	struct store_batch		*lost = NULL;
	struct audit_event		*ev;
	size_t				 i, nlost = 0;

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
		if (deliver_fanout(b->srv->index, e->id, &m) > 0 ||
		    !(e->route & DECIDE_ROUTE_LIVE) ||
		    cluster_reach(b->srv->cluster, e->id, j->kind, j->subject))
			continue;
		log_info("message=%s principal=%s event=deliver_lost "
		    "reason=\"the session ended before the send\"",
		    j->message_id, e->id);
		if (!(e->route & DECIDE_ROUTE_QUEUED))
			nlost++;
		if (lost == NULL && (lost = store_batch_new()) == NULL)
			continue;
		ev = trail_delivery(b->srv->cfg->instance, AUDIT_DELIVER_LOST,
		    j->message_id, j->subject, j->kind, e->id,
		    e->route & DECIDE_ROUTE_QUEUED ? "no live session took it "
		    "after the commit (the session ended); its durable queue "
		    "holds it" : "no live session took it after the commit "
		    "(the session ended): not delivered");
		if (ev != NULL)
			store_batch_add_event(lost, ev);
	}
	if (lost != NULL)
		store_submit_detached(b->srv->store, lost);
	return nlost;
}

static void
publish_done(enum store_outcome outcome, void *arg)
{
	struct publish_job	*j = arg;
	struct broker		*b = j->broker;
	struct session		*s;
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT;
	Nwd__V1__PublishAck	 ack = NWD__V1__PUBLISH_ACK__INIT;
	size_t			 lost;

	s = session_find(b->srv, j->session_id);
	if (s != NULL && s->publishes_in_flight > 0) {
		s->publishes_in_flight--;
		s->bytes_in_flight -= j->bytes;
	}
	b->bytes_in_flight -= j->bytes;
	if (j->on_done != NULL) {
		j->on_done(outcome == STORE_COMMITTED, j->on_done_arg);
		j->on_done = NULL;
	}
	if (outcome != STORE_COMMITTED) {
		metrics_publish(outcome == STORE_FAILED ? "failed" :
		    "unavailable");
		session_log(warnx, s, "message=%s event=publish_failed "
		    "reason=\"audit batch not committed (%s)\"",
		    j->message_id, outcome == STORE_FAILED ?
		    "database refused the rows" : outcome == STORE_IN_DOUBT ?
		    "in doubt at shutdown" : "database unavailable");
		if (s != NULL && outcome == STORE_IN_DOUBT)
			session_send_error(s, j->request_id,
			    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE,
			    "publish %s not confirmed: the broker stopped "
			    "before the audit store answered, so nothing was "
			    "delivered, but it may be on record; ask for its "
			    "status before sending it again", j->message_id);
		else if (s != NULL)
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
	deadlines_commit(b->srv->deadlines, j->deadlines, 1);
	j->deadlines = NULL;
	consents_commit(b->srv->consents, j->consent, 1);
	j->consent = NULL;
	if (j->plan.has_alloc &&
	    alloc_table_put(b->srv->allocs, &j->plan.alloc) == -1)
		log_warnx("message=%s event=allocation_not_applied reason=\"out "
		    "of memory\"", j->message_id);
	/* A recipient only a live session reached, and which no session
	 * took after all, was not reached. */
	lost = send_deliveries(b, j);
	if (j->plan.withdraws)
		corrections_tell(b->srv->corrections, j->message_id,
		    j->supersedes, j->plan.withdraws == 2, j->subject,
		    j->plan.notices, j->plan.nnotices);
	if (s != NULL) {
		ack.message_id = j->message_id;
		ack.recipients = j->plan.recipients - lost;
		ack.not_reachable = j->plan.not_reachable + lost;
		ack.duty_desk = j->plan.duty_desk;
		ack.notices = j->plan.nnotices;
		ack.policy_version = j->policy_version;
		f.request_id = j->request_id;
		f.msg_case = NWD__V1__FRAME__MSG_PUBLISH_ACK;
		f.publish_ack = &ack;
		session_send(s, &f);
	}
	metrics_publish_seconds((double)(clock_mono_ms() - j->read_at_ms) /
	    1e3);
	session_log(info, s, "event=publish message=%s kind=%s subject=%s "
	    "recipients=%zu not_reachable=%zu duty_desk=%d notices=%zu",
	    j->message_id, envelope_kind_name(j->kind),
	    log_subject(j->subject), j->plan.recipients - lost, j->plan.not_reachable + lost,
	    j->plan.duty_desk, j->plan.nnotices);
	job_free(j);
}

/*
 * The rows of the plan's decisions: a deliver row with its route and the
 * durable queue entries for each recipient (the duty pass in the duty
 * desk's own queue, made sure of in the same transaction), a
 * deliver_refused row for each refusal.
 */
static int
plan_rows(struct broker *b, const struct trail_origin *o, const char *actor,
    const Nwd__V1__Envelope *env, const struct decide_plan *plan,
    const char *mid, const char *policy_version, struct store_batch *batch)
{
	const struct decide_entry	*e;
	struct audit_event		*ev;
	struct store_subscription	 duty;
	const char			*names[64];
	const char			*subject = env->header->subject->local_id;
	int				 kind = env->header->kind;
	size_t				 i, k, nd;

	for (i = 0; i < plan->nentries; i++) {
		e = &plan->entries[i];
		if (e->verdict == POLICY_DENY_NO_RULE)
			continue;
		ev = trail_decision(o, actor, e->verdict ==
		    POLICY_ALLOW ? AUDIT_DELIVER : AUDIT_DELIVER_REFUSED,
		    mid, env, e->id, e->rules, e->reason, e->shared,
		    e->withheld, decide_route_name(e->route), policy_version);
		if (ev == NULL || store_batch_add_event(batch, ev) == -1)
			return -1;
		if (e->verdict != POLICY_ALLOW || mid == NULL)
			continue;
		/* Queue it for each durable subscription that wants it. */
		nd = durable_registry_match(b->srv->durables, e->id, kind,
		    subject, names, sizeof(names) / sizeof(names[0]));
		for (k = 0; k < nd; k++)
			if (strcmp(names[k], DURABLE_DUTY) != 0 &&
			    store_batch_add_delivery(batch, mid, e->id,
			    names[k]) == -1)
				return -1;
		if (!e->duty_pass && !(nd > 0 && durable_name_in(names, nd,
		    DURABLE_DUTY)))
			continue;
		memset(&duty, 0, sizeof(duty));
		duty.principal = e->id;
		duty.name = DURABLE_DUTY;
		duty.keep = 1;
		if (store_batch_add_subscription(batch, &duty) == -1 ||
		    store_batch_add_delivery(batch, mid, e->id,
		    DURABLE_DUTY) == -1)
			return -1;
	}
	return 0;
}

/* The whole envelope, sealed: what replay and a subject-access request
 * read back. */
static int
batch_message(struct broker *b, const struct principal *sender,
    const Nwd__V1__Envelope *env, const char *mid, const char *version,
    struct store_batch *batch)
{
	const Nwd__V1__Header	*h = env->header;
	struct store_message	 m;
	struct seal_aad		 aad;
	uint8_t			*plain, *sealed;
	size_t			 plen;
	int			 rc;

	memset(&m, 0, sizeof(m));
	memcpy(m.id, mid, sizeof(m.id));
	m.kind = h->kind;
	m.subject = h->subject->local_id;
	m.sender = sender->id;
	m.agency = sender->agency;
	m.marking = h->marking;
	m.priority = h->priority;
	m.legal_basis = h->legal_basis;
	m.created_ms = h->created_unix_ms;
	m.policy_version = version;
	plen = nwd__v1__envelope__get_packed_size(env);
	if ((plain = malloc(plen > 0 ? plen : 1)) == NULL)
		return -1;
	nwd__v1__envelope__pack(env, plain);
	aad.message_id = mid;
	aad.subject = m.subject;
	aad.kind = m.kind;
	sealed = seal_body(b->srv->sealer, &aad, plain, plen, &m.body_len);
	explicit_bzero(plain, plen);
	free(plain);
	if (sealed == NULL)
		return -1;
	m.body = sealed;
	m.key_id = sealer_row_key_id(b->srv->sealer);
	rc = store_batch_set_message(batch, &m);
	free(sealed);
	return rc;
}

/*
 * Whether a publish of bytes (its sealed body and the recipients' copies,
 * held until it commits) may wait for the store now.  Bounded by bytes
 * and by count: per session, per principal (a quarter of the bytes at
 * most: one principal cannot fill the queue that others need), and in
 * all, where ROUTINE publishes leave the last quarter to HIGH and URGENT
 * ones.  Returns 0, or -1 with the code and reason for the publisher.
 */
static int
admit(struct broker *b, struct session *s, int priority, size_t bytes,
    Nwd__V1__ErrorCode *code, char *why, size_t whylen)
{
	const struct config	*cfg = b->srv->cfg;
	void			*stack[256], **ss;
	const struct session	*o;
	size_t			 k, n, pcount = 0, pbytes = 0, max, batches;
	int			 urgent = priority >= NWD__V1__PRIORITY__HIGH;

	*code = NWD__V1__ERROR_CODE__ERROR_LIMIT;
	if (s->publishes_in_flight >= cfg->max_publishes_in_flight) {
		metrics_refusal("in_flight");
		snprintf(why, whylen, "this session has %u publishes waiting "
		    "for the audit store (max_publishes_in_flight); wait for "
		    "their acknowledgements", s->publishes_in_flight);
		return -1;
	}
	if ((ss = sessidx_all(b->srv->index, s->principal->id, stack, 256,
	    &n)) == NULL) {
		*code = NWD__V1__ERROR_CODE__ERROR_INTERNAL;
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	for (k = 0; k < n; k++) {
		o = ss[k];
		pcount += o->publishes_in_flight;
		pbytes += o->bytes_in_flight;
	}
	sessidx_done(ss, stack);
	if (pcount >= cfg->max_publishes_in_flight_per_principal) {
		metrics_refusal("in_flight");
		snprintf(why, whylen, "%s has %zu publishes waiting for the "
		    "audit store (max_publishes_in_flight_per_principal); wait "
		    "for their acknowledgements", s->principal->id, pcount);
		return -1;
	}
	*code = NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE;
	max = cfg->store_queue_max_bytes;
	if (pbytes > 0 && pbytes + bytes > max / 4) {
		metrics_refusal("queue_bytes");
		snprintf(why, whylen, "%s's publishes waiting for the audit "
		    "store hold %zu bytes, its share of store_queue_max_bytes; "
		    "try again when they are acknowledged", s->principal->id,
		    pbytes);
		return -1;
	}
	if (!urgent)
		max -= max / 4;
	batches = cfg->store_queue_max - (urgent ? 0 : cfg->store_queue_max /
	    4);
	if ((b->bytes_in_flight > 0 && b->bytes_in_flight + bytes > max) ||
	    store_pending(b->srv->store) >= batches) {
		metrics_refusal("queue_bytes");
		snprintf(why, whylen, "the audit store's queue is full%s, so "
		    "nothing can be shared now; try again later", urgent ? "" :
		    " for ROUTINE publishes (the rest is kept for HIGH and "
		    "URGENT ones)");
		return -1;
	}
	return 0;
}

/*
 * Decides and submits a publish; sup and root: what the store holds
 * about the message it supersedes (NULL: it supersedes none).
 */
static void
publish_decided(struct broker *b, struct session *s, uint64_t request_id,
    Nwd__V1__Envelope *env, const struct decide_superseded *sup,
    const char *root)
{
	struct decide_world	 w;
	struct publish_job	*j;
	struct store_batch	*batch = NULL;
	struct audit_event	*ev;
	struct trail_origin	 o = session_origin(s);
	const char		*version = policy_version(b->srv->policy);
	Nwd__V1__ErrorCode	 code;
	char			 why[400];
	size_t			 i;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		goto internal;
	j->read_at_ms = clock_mono_ms();
	world_now(b->srv, &w);
	w.reach = reach;
	w.reach_arg = b;
	w.superseded = sup;
	/* The broker owns the id and the time: never the client. */
	if (uuid_generate_v7(w.now_ms, j->message_id) == -1 ||
	    decide_publish(&w, s->principal, env, j->message_id, DECIDE_PACK,
	    &j->plan) == -1)
		goto internal;
	snprintf(j->policy_version, sizeof(j->policy_version), "%s", version);
	if (j->plan.publish != POLICY_ALLOW && j->plan.nentries > 0) {
		refuse_no_one(b, s, request_id, env, j);
		job_free(j);
		return;
	}
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
	for (i = 0; i < j->plan.nentries; i++)
		j->bytes += j->plan.entries[i].len;
	j->bytes += nwd__v1__envelope__get_packed_size(env);
	if (admit(b, s, env->header->priority, j->bytes, &code, why,
	    sizeof(why)) == -1) {
		job_free(j);
		refuse_publish(b, s, request_id, env, code, NULL, why);
		return;
	}
	if ((j->subject = strdup(env->header->subject->local_id)) == NULL ||
	    (batch = store_batch_new()) == NULL ||
	    batch_message(b, s->principal, env, j->message_id, version,
	    batch) == -1)
		goto internal;
	if ((ev = trail_event(&o, AUDIT_PUBLISH, s->principal->id)) == NULL)
		goto internal;
	ev->kind = j->kind;
	audit_event_set(ev, AUDIT_F_MESSAGE_ID, j->message_id);
	audit_event_set(ev, AUDIT_F_SUBJECT, j->subject);
	audit_event_set(ev, AUDIT_F_RULE, j->plan.rules);
	audit_event_set(ev, AUDIT_F_POLICY_VERSION, version);
	if (j->plan.withdraws) {
		snprintf(why, sizeof(why), "%s message %s%s%s",
		    j->plan.withdraws == 2 ? "retracts" : "corrects",
		    env->header->supersedes, j->plan.note[0] != '\0' ? "; " :
		    "", j->plan.note);
		audit_event_set(ev, AUDIT_F_REASON, why);
	} else
		audit_event_set(ev, AUDIT_F_REASON, j->plan.note[0] != '\0' ?
		    j->plan.note : NULL);
	if (store_batch_add_event(batch, ev) == -1 ||
	    (j->plan.has_alloc && store_batch_add_allocation(batch,
	    &j->plan.alloc, j->message_id) == -1) ||
	    plan_rows(b, &o, s->principal->id, env, &j->plan, j->message_id,
	    version, batch) == -1 ||
	    deadlines_publish(b->srv->deadlines, env, j->message_id,
	    s->principal->id, &o, batch, &j->deadlines) == -1 ||
	    consents_publish(b->srv->consents, env, j->message_id, batch,
	    &j->consent) == -1 ||
	    corrections_publish(b->srv->corrections, env, j->message_id, root,
	    &j->plan, batch) == -1)
		goto internal;
	if (j->plan.withdraws)
		snprintf(j->supersedes, sizeof(j->supersedes), "%s",
		    env->header->supersedes);
	/* The other instances: the change, and the message for their
	 * sessions, announced in its transaction. */
	if ((j->plan.has_alloc && store_batch_add_change(batch, "allocation",
	    j->message_id) == -1) || (cluster_peers(b->srv->cluster) > 0 &&
	    store_batch_notify_message(batch,
	    cluster_applied(b->srv->cluster)) == -1))
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
	s->bytes_in_flight += j->bytes;
	b->bytes_in_flight += j->bytes;
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

/*
 * A publish waiting for an answer from below: a correction or retraction
 * for what the store holds about the message it supersedes, or any
 * publish for this instance to apply the other instances' changes.
 */
struct publish_wait {
	struct broker		*broker;	/* borrowed */
	uint64_t		 session_id;	/* publisher; may be gone */
	uint64_t		 request_id;
	Nwd__V1__Envelope	*env;		/* owned, once it waits */
};

/* A wait for s's request; NULL (s told) out of memory. */
static struct publish_wait *
publish_wait_new(struct broker *b, struct session *s, uint64_t request_id)
{
	struct publish_wait	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_INTERNAL, "publish failed: out "
		    "of memory");
		return NULL;
	}
	w->broker = b;
	w->session_id = s->id;
	w->request_id = request_id;
	return w;
}

static void
correction_found(const struct decide_superseded *sup, const char *root,
    void *arg)
{
	struct publish_wait	*cw = arg;
	struct broker		*b = cw->broker;
	struct session		*s;

	if ((s = session_find(b->srv, cw->session_id)) == NULL)
		log_info("event=publish_dropped reason=\"the publisher's "
		    "session ended while the message its correction "
		    "supersedes was read\"");
	else if (sup == NULL)
		refuse_publish(b, s, cw->request_id, cw->env,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, NULL, "the audit "
		    "store could not say what the message it supersedes is, "
		    "so nothing was shared; try again later");
	else
		publish_decided(b, s, cw->request_id, cw->env, sup, root);
	frame_free_envelope(cw->env);
	free(cw);
}

/*
 * Decides *envp now, or once the store says what it corrects (a
 * correction: it then takes the envelope, leaving *envp NULL).
 */
static void
publish_start(struct broker *b, struct session *s, uint64_t request_id,
    Nwd__V1__Envelope **envp)
{
	Nwd__V1__Envelope	*env = *envp;
	struct publish_wait	*cw;

	if (env == NULL || env->header == NULL ||
	    env->header->supersedes[0] == '\0' ||
	    !envelope_is_uuid(env->header->supersedes)) {
		publish_decided(b, s, request_id, env, NULL, NULL);
		return;
	}
	/* A correction: decided once the store says what it corrects. */
	if ((cw = publish_wait_new(b, s, request_id)) == NULL)
		return;
	if (store_get_state(b->srv->store) != STORE_READY ||
	    corrections_lookup(b->srv->corrections, env->header->supersedes,
	    correction_found, cw) == -1) {
		free(cw);
		refuse_publish(b, s, request_id, env,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, NULL, "the audit "
		    "store is unavailable, so nothing can be shared; try "
		    "again later");
		return;
	}
	cw->env = env;
	*envp = NULL;
}

static void
publish_synced(int ok, void *arg)
{
	struct publish_wait	*sw = arg;
	struct broker		*b = sw->broker;
	struct session		*s;

	if ((s = session_find(b->srv, sw->session_id)) != NULL &&
	    s->publishes_in_flight > 0)
		s->publishes_in_flight--;	/* admit() counts it again */
	if (s == NULL)
		log_info("event=publish_dropped reason=\"the publisher's "
		    "session ended while the other instances' changes were "
		    "read\"");
	else if (!ok)
		refuse_publish(b, s, sw->request_id, sw->env,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, NULL, "this "
		    "instance could not make sure it decides with the other "
		    "instances' latest changes, so nothing was shared; try "
		    "again later");
	else
		publish_start(b, s, sw->request_id, &sw->env);
	frame_free_envelope(sw->env);
	free(sw);
}

/*
 * A publish is decided with every change another instance committed
 * before it arrived (cluster.h): at once when no other instance is
 * live, else once the change sequence says this one has them.
 */
static void
handle_publish(struct broker *b, struct session *s, uint64_t request_id,
    Nwd__V1__Publish *pub)
{
	struct publish_wait	*sw;
	char			 why[600];
	int			 rc;

	if (!cluster_policy_ok(b->srv->cluster, why, sizeof(why))) {
		refuse_publish(b, s, request_id, pub->envelope,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, NULL, why);
		return;
	}
	if (!cluster_must_wait(b->srv->cluster)) {
		publish_start(b, s, request_id, &pub->envelope);
		return;
	}
	/* Waiting counts as in flight: a session cannot pile them up. */
	if (s->publishes_in_flight >= b->srv->cfg->max_publishes_in_flight) {
		metrics_refusal("in_flight");
		refuse_publish(b, s, request_id, pub->envelope,
		    NWD__V1__ERROR_CODE__ERROR_LIMIT, NULL, "this session has "
		    "too many publishes waiting (max_publishes_in_flight); "
		    "wait for their acknowledgements");
		return;
	}
	if ((sw = publish_wait_new(b, s, request_id)) == NULL)
		return;
	if ((rc = cluster_sync(b->srv->cluster, publish_synced, sw)) == 1) {
		free(sw);
		publish_start(b, s, request_id, &pub->envelope);
		return;
	}
	if (rc == -1) {
		free(sw);
		refuse_publish(b, s, request_id, pub->envelope,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, NULL, "this "
		    "instance has lost its connection to the other instances' "
		    "changes, so it cannot be sure it decides as they do; try "
		    "again later");
		return;
	}
	sw->env = pub->envelope;
	pub->envelope = NULL;
	s->publishes_in_flight++;
}

/* A header string the decision set over the caller's envelope: freed,
 * and the slot given back its default. */
static void
unset(char **slot)
{
	if (*slot != NULL && *slot != protobuf_c_empty_string)
		free(*slot);
	*slot = (char *)protobuf_c_empty_string;
}

/*
 * The broker's own message (an Escalation): decided by the deliver rules
 * like any other, sent by the principal "nwd", with the rows add() gives.
 * The header fields the decision sets (id, sender, agency) are freed
 * before it returns: the caller's envelope is often on its stack.
 */
int
broker_publish_system(Nwd__V1__Envelope *env, sysmsg_add_fn *add,
    sysmsg_done_fn *done, void *arg, void *broker_arg)
{
	static const struct principal nwd = {
		.id = (char *)"nwd", .role = (char *)"nwd",
		.agency = (char *)"nwd",
		.clearance = NWD__V1__MARKING__OFFICIAL_SENSITIVE,
	};
	struct broker		*b = broker_arg;
	struct decide_world	 w;
	struct publish_job	*j;
	struct store_batch	*batch = NULL;
	struct audit_event	*ev;
	struct trail_origin	 o = { NULL, NULL };
	const char		*version = policy_version(b->srv->policy);
	size_t			 i;

	if (store_get_state(b->srv->store) != STORE_READY ||
	    (j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	j->read_at_ms = clock_mono_ms();
	world_now(b->srv, &w);
	w.reach = reach;
	w.reach_arg = b;
	env->header->created_unix_ms = w.now_ms;
	if (uuid_generate_v7(w.now_ms, j->message_id) == -1 ||
	    decide_publish(&w, &nwd, env, j->message_id, DECIDE_PACK |
	    DECIDE_SYSTEM, &j->plan) == -1 || j->plan.publish != POLICY_ALLOW)
		goto fail;
	snprintf(j->policy_version, sizeof(j->policy_version), "%s", version);
	j->broker = b;
	j->kind = env->header->kind;
	for (i = 0; i < j->plan.nentries; i++)
		j->bytes += j->plan.entries[i].len;
	if ((j->subject = strdup(env->header->subject->local_id)) == NULL ||
	    (batch = store_batch_new()) == NULL ||
	    batch_message(b, &nwd, env, j->message_id, version, batch) == -1 ||
	    (ev = trail_event(&o, AUDIT_PUBLISH, nwd.id)) == NULL)
		goto fail;
	ev->kind = j->kind;
	audit_event_set(ev, AUDIT_F_MESSAGE_ID, j->message_id);
	audit_event_set(ev, AUDIT_F_SUBJECT, j->subject);
	audit_event_set(ev, AUDIT_F_RULE, j->plan.rules);
	audit_event_set(ev, AUDIT_F_POLICY_VERSION, version);
	if (store_batch_add_event(batch, ev) == -1 ||
	    plan_rows(b, &o, nwd.id, env, &j->plan, j->message_id, version,
	    batch) == -1 || add(batch, j->message_id, arg) == -1 ||
	    (cluster_peers(b->srv->cluster) > 0 &&
	    store_batch_notify_message(batch,
	    cluster_applied(b->srv->cluster)) == -1))
		goto fail;
	j->on_done = done;
	j->on_done_arg = arg;
	if (store_submit(b->srv->store, batch, publish_done, j) == -1) {
		j->on_done = NULL;
		goto fail;
	}
	b->bytes_in_flight += j->bytes;
	log_info("event=publish_queued message=%s kind=%s subject=%s "
	    "recipients=%zu sender=nwd", j->message_id,
	    envelope_kind_name(j->kind), log_subject(j->subject),
	    j->plan.recipients);
	unset(&env->header->message_id);
	unset(&env->header->sender);
	unset(&env->header->originating_agency);
	return 0;
 fail:
	store_batch_free(batch);
	job_free(j);
	unset(&env->header->message_id);
	unset(&env->header->sender);
	unset(&env->header->originating_agency);
	return -1;
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
		subscribe_handle(b->srv, s, f->request_id, f->subscribe);
		break;
	case NWD__V1__FRAME__MSG_UNSUBSCRIBE:
		subscribe_unsubscribe(b->srv, s, f->request_id,
		    f->unsubscribe);
		break;
	case NWD__V1__FRAME__MSG_ACK:
		subscribe_ack(b->srv, s, f->request_id, f->ack);
		break;
	case NWD__V1__FRAME__MSG_DURABLE_LIST:
		subscribe_durable_list(b->srv, s, f->request_id);
		break;
	case NWD__V1__FRAME__MSG_DURABLE_DELETE:
		subscribe_durable_delete(b->srv, s, f->request_id,
		    f->durable_delete);
		break;
	case NWD__V1__FRAME__MSG_EXPLAIN:
		explain_handle(b->srv, s, f->request_id, f->explain);
		break;
	case NWD__V1__FRAME__MSG_AUDIT_QUERY:
		auditq_handle(b->srv, s, f->request_id, f->audit_query);
		break;
	case NWD__V1__FRAME__MSG_DEADLINE_QUERY:
		overdue_handle(b->srv, s, f->request_id, f->deadline_query);
		break;
	case NWD__V1__FRAME__MSG_BREAKGLASS:
		breakglass_handle(b->srv, s, f->request_id, f->breakglass);
		break;
	case NWD__V1__FRAME__MSG_REVIEW:
		breakglass_review(b->srv, s, f->request_id, f->review);
		break;
	case NWD__V1__FRAME__MSG_SAR_CASE_REQUEST:
		sarcase_handle(b->srv, s, f->request_id, f->sar_case_request);
		break;
	default:
		session_send_error(s, f->request_id,
		    NWD__V1__ERROR_CODE__ERROR_PROTOCOL, "%s is not a request "
		    "a client may send", frame_msg_name(f));
		break;
	}
}
