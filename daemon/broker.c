#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "audit.h"
#include "auditq.h"
#include "durable.h"
#include "seal.h"
#include "broker.h"
#include "config.h"
#include "envelope.h"
#include "explain.h"
#include "frame.h"
#include "identity.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "redact.h"
#include "server.h"
#include "sessidx.h"
#include "session.h"
#include "store.h"
#include "uuid.h"

/* Room left in a frame for what the broker adds around an envelope. */
#define BROKER_FRAME_HEADROOM	4096
#define BROKER_MAX_SUBJECTS	64

struct broker {
	struct server	*srv;		/* borrowed */
};

/* One principal a published message is shared with. */
struct recipient {
	char		*id;		/* owned principal id */
	uint8_t		*bytes;		/* owned; the redacted envelope */
	size_t		 len;
	char		*withheld;	/* owned; comma-separated paths */
	char		*rule;		/* owned */
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
	struct recipient	*rcpts;		/* owned array */
	size_t			 nrcpts;
	int			 duty_desk;	/* rcpts are the duty desk */
	struct alloc_entry	 alloc;		/* an Allocation's record */
	char			*alloc_strings;	/* owned; alloc's strings */
	struct timespec		 read_at;	/* CLOCK_MONOTONIC, frame read */
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

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
job_free(struct publish_job *j)
{
	size_t i;

	if (j == NULL)
		return;
	for (i = 0; i < j->nrcpts; i++) {
		free(j->rcpts[i].id);
		free(j->rcpts[i].bytes);
		free(j->rcpts[i].withheld);
		free(j->rcpts[i].rule);
	}
	free(j->rcpts);
	free(j->subject);
	free(j->alloc_strings);
	free(j);
}

static struct audit_event *
session_event(struct session *s, enum audit_action a, const char *actor)
{
	struct audit_event *ev;

	if ((ev = audit_event_new(a, actor)) == NULL)
		return NULL;
	if (audit_event_set(ev, AUDIT_F_SESSION, s->name) == -1 ||
	    audit_event_set(ev, AUDIT_F_PEER, s->peer) == -1) {
		audit_event_free(ev);
		return NULL;
	}
	return ev;
}

static void
submit_detached(struct broker *b, struct audit_event *ev)
{
	struct store_batch *batch;

	if (ev == NULL) {
		log_warnx("event=audit_dropped reason=\"out of memory\"");
		return;
	}
	if ((batch = store_batch_new()) == NULL) {
		audit_event_free(ev);
		log_warnx("event=audit_dropped reason=\"out of memory\"");
		return;
	}
	store_batch_add_event(batch, ev);
	store_submit_detached(b->srv->store, batch);
}

void
broker_audit_session(struct broker *b, struct session *s, int action,
    const char *actor, const char *reason)
{
	struct audit_event *ev;

	if ((ev = session_event(s, action, actor)) != NULL &&
	    audit_event_set(ev, AUDIT_F_REASON, reason) == -1) {
		audit_event_free(ev);
		ev = NULL;
	}
	submit_detached(b, ev);
}

/* Audits a refused publish and answers the publisher. */
static void
refuse_publish(struct broker *b, struct session *s, uint64_t request_id,
    const Nwd__V1__Envelope *env, Nwd__V1__ErrorCode code,
    const char *rule, const char *reason)
{
	struct audit_event *ev;
	const Nwd__V1__Header *h = env != NULL ? env->header : NULL;

	metrics_publish_refused(code, rule);
	session_send_error(s, request_id, code, "publish refused: %s", reason);
	if ((ev = session_event(s, AUDIT_PUBLISH_REFUSED,
	    s->principal->id)) == NULL) {
		submit_detached(b, NULL);
		return;
	}
	if (h != NULL) {
		ev->kind =
		    envelope_kind_name(h->kind) != NULL ? (int)h->kind : 0;
		if (h->subject != NULL && h->subject->local_id[0] != '\0' &&
		    strlen(h->subject->local_id) <= ENVELOPE_MAX_SUBJECT)
			audit_event_set(ev, AUDIT_F_SUBJECT,
			    h->subject->local_id);
	}
	audit_event_set(ev, AUDIT_F_RULE, rule);
	audit_event_set(ev, AUDIT_F_POLICY_VERSION,
	    policy_version(b->srv->policy));
	audit_event_set(ev, AUDIT_F_REASON, reason);
	submit_detached(b, ev);
}

/* Replaces a string field of an unpacked message with a copy of v. */
static int
set_string(char **slot, const char *v)
{
	char *copy;

	if ((copy = strdup(v)) == NULL)
		return -1;
	if (*slot != NULL && *slot != protobuf_c_empty_string)
		free(*slot);
	*slot = copy;
	return 0;
}

/* Lists the top-level body fields present and not wholly withheld. */
static void
fields_shared(const Nwd__V1__Envelope *env, const char *withheld, char *out,
    size_t outlen)
{
	const ProtobufCMessage		*body = envelope_body(env);
	const ProtobufCFieldDescriptor	*fd;
	const char			*p, *w;
	size_t				 i, n = 0, l;
	int				 hidden;

	out[0] = '\0';
	if (body == NULL)
		return;
	for (i = 0; i < body->descriptor->n_fields; i++) {
		fd = &body->descriptor->fields[i];
		p = (const char *)body + fd->offset;
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			if (*(const size_t *)((const char *)body +
			    fd->quantifier_offset) == 0)
				continue;
		} else if (fd->type == PROTOBUF_C_TYPE_STRING) {
			if (*(char *const *)p == NULL ||
			    **(char *const *)p == '\0')
				continue;
		} else if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
			if (*(void *const *)p == NULL)
				continue;
		}
		/* Scalars are always counted: their zero is a value too. */
		hidden = 0;
		l = strlen(fd->name);
		for (w = withheld; w != NULL && *w != '\0';) {
			if (strncmp(w, fd->name, l) == 0 &&
			    (w[l] == ',' || w[l] == '\0'))
				hidden = 1;
			w = strchr(w, ',');
			if (w != NULL)
				w++;
		}
		if (hidden || n + l + 2 >= outlen)
			continue;
		n += snprintf(out + n, outlen - n, "%s%s", n > 0 ? "," : "",
		    fd->name);
	}
}

struct audit_event *
broker_decision_event(struct session *s, const char *actor, int a,
    const char *mid, const Nwd__V1__Envelope *env, const char *recipient,
    const struct policy_decision *d, const char *withheld,
    const char *version)
{
	struct audit_event	*ev;
	char			 shared[4096];

	if ((ev = session_event(s, a, actor)) == NULL)
		return NULL;
	ev->kind = env->header->kind;
	if (audit_event_set(ev, AUDIT_F_MESSAGE_ID, mid) == -1 ||
	    audit_event_set(ev, AUDIT_F_SUBJECT,
	    env->header->subject->local_id) == -1 ||
	    audit_event_set(ev, AUDIT_F_RECIPIENT, recipient) == -1 ||
	    audit_event_set(ev, AUDIT_F_RULE, d->rules[0] != '\0' ?
	    d->rules : NULL) == -1 ||
	    audit_event_set(ev, AUDIT_F_POLICY_VERSION, version) == -1 ||
	    audit_event_set(ev, AUDIT_F_REASON, d->reason[0] != '\0' ?
	    d->reason : NULL) == -1)
		goto bad;
	if (a == AUDIT_DELIVER) {
		fields_shared(env, withheld, shared, sizeof(shared));
		if (audit_event_set(ev, AUDIT_F_FIELDS_SHARED, shared) == -1 ||
		    audit_event_set(ev, AUDIT_F_FIELDS_WITHHELD,
		    withheld) == -1)
			goto bad;
	}
	return ev;
bad:
	audit_event_free(ev);
	return NULL;
}

int
broker_send_deliver(struct session *s, uint64_t sub_id, const char *mid,
    const uint8_t *bytes, size_t len, const char *withheld, const char *rule,
    const char *version, const char *durable)
{
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT;
	Nwd__V1__Deliver	 d = NWD__V1__DELIVER__INIT;
	Nwd__V1__Envelope	*env;
	char			 err[128], *paths[REDACT_MAX_PATHS];
	char			*wcopy = NULL, *tok, *save;
	size_t			 nw = 0;
	int			 rc;

	if ((env = frame_decode_envelope(bytes, len, SIZE_MAX, err,
	    sizeof(err))) == NULL) {
		log_warnx("session=%s principal=%s message=%s "
		    "event=deliver_failed reason=\"%s\"", s->name,
		    s->principal->id, mid, err);
		return -1;
	}
	if (withheld != NULL && (wcopy = strdup(withheld)) != NULL)
		for (tok = strtok_r(wcopy, ",", &save);
		    tok != NULL && nw < REDACT_MAX_PATHS;
		    tok = strtok_r(NULL, ",", &save))
			paths[nw++] = tok;
	d.subscription_id = sub_id;
	d.delivery_id = session_delivery_add(s, mid, durable);
	d.envelope = env;
	d.fields_withheld = paths;
	d.n_fields_withheld = nw;
	d.rule = (char *)rule;
	d.policy_version = (char *)version;
	f.msg_case = NWD__V1__FRAME__MSG_DELIVER;
	f.deliver = &d;
	if ((rc = session_send(s, &f)) == 0) {
		metrics_delivery();
		log_debug("session=%s principal=%s event=deliver message=%s "
		    "delivery=%llu%s%s", s->name, s->principal->id, mid,
		    (unsigned long long)d.delivery_id,
		    durable != NULL ? " durable=" : "",
		    durable != NULL ? durable : "");
	}
	frame_free_envelope(env);
	free(wcopy);
	return rc;
}

/* Sessions of one principal handled without allocating. */
#define BROKER_FANOUT_STACK	16

static void
send_deliveries(struct broker *b, const struct publish_job *j)
{
	struct session	*s;
	void		*stack[BROKER_FANOUT_STACK], **ss;
	const char	*durable;
	size_t		 i, k, n;
	uint64_t	 sub;

	for (i = 0; i < j->nrcpts; i++) {
		const struct recipient *r = &j->rcpts[i];

		/* A snapshot: a delivery may close a slow session. */
		ss = stack;
		n = sessidx_of(b->srv->index, r->id, ss, BROKER_FANOUT_STACK);
		if (n > BROKER_FANOUT_STACK) {
			if ((ss = calloc(n, sizeof(*ss))) == NULL) {
				log_warnx("event=deliver_skipped message=%s "
				    "principal=%s reason=\"out of memory\"",
				    j->message_id, r->id);
				continue;
			}
			n = sessidx_of(b->srv->index, r->id, ss, n);
		}
		for (k = 0; k < n; k++) {
			/*
			 * An earlier delivery may have closed it: a closed
			 * session stays allocated until the reaper runs, on a
			 * later turn of the loop.
			 */
			s = ss[k];
			if (s->state != SESSION_ACTIVE)
				continue;
			sub = session_sub_matches(s, j->kind, j->subject,
			    &durable);
			if (sub == 0)
				continue;
			broker_send_deliver(s, sub, j->message_id, r->bytes,
			    r->len, r->withheld, r->rule, j->policy_version,
			    durable);
		}
		if (ss != stack)
			free(ss);
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
	struct timespec		 now;

	s = session_find(b->srv, j->session_id);
	if (s != NULL && s->publishes_in_flight > 0)
		s->publishes_in_flight--;
	if (outcome != STORE_COMMITTED) {
		metrics_publish(outcome == STORE_FAILED ? "failed" :
		    "unavailable");
		log_warnx("session=%s principal=%s message=%s "
		    "event=publish_failed reason=\"audit batch not committed "
		    "(%s)\"", s != NULL ? s->name : "-", session_who(s),
		    j->message_id,
		    outcome == STORE_FAILED ? "database refused the rows" :
		    "database unavailable");
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
	if (j->alloc_strings != NULL &&
	    alloc_table_put(b->srv->allocs, &j->alloc) == -1)
		log_warnx("message=%s event=allocation_not_applied reason=\"out "
		    "of memory\"", j->message_id);
	send_deliveries(b, j);
	if (s != NULL) {
		ack.message_id = j->message_id;
		ack.recipients = j->nrcpts;
		ack.duty_desk = j->duty_desk;
		ack.policy_version = j->policy_version;
		f.request_id = j->request_id;
		f.msg_case = NWD__V1__FRAME__MSG_PUBLISH_ACK;
		f.publish_ack = &ack;
		session_send(s, &f);
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	metrics_publish_seconds((double)(now.tv_sec - j->read_at.tv_sec) +
	    (double)(now.tv_nsec - j->read_at.tv_nsec) / 1e9);
	log_info("session=%s principal=%s event=publish message=%s kind=%s "
	         "subject=%s recipients=%zu duty_desk=%d",
	    s != NULL ? s->name : "-", session_who(s), j->message_id,
	    envelope_kind_name(j->kind), j->subject, j->nrcpts, j->duty_desk);
	job_free(j);
}

/* Records one decision: a recipient to deliver to, or a refusal row. */
static int
record_decision(struct broker *b, struct session *s, Nwd__V1__Envelope *env,
    struct publish_job *j, struct store_batch *batch,
    const struct principal *p, const struct policy_decision *d)
{
	struct audit_event	*ev;
	struct recipient	*r;
	char			 withheld[REDACT_MAX_PATHS * 130];
	const char		*names[64];
	size_t			 i, nd;

	switch (d->verdict) {
	case POLICY_ALLOW:
		r = &j->rcpts[j->nrcpts++];
		if ((r->id = strdup(p->id)) == NULL ||
		    (r->rule = strdup(d->rules)) == NULL)
			return -1;
		r->bytes = redact_pack(env, d->strip, d->nstrip, &r->len,
		    withheld, sizeof(withheld));
		if (r->bytes == NULL ||
		    (r->withheld = strdup(withheld)) == NULL)
			return -1;
		ev = broker_decision_event(s, s->principal->id, AUDIT_DELIVER,
		    j->message_id, env, p->id, d, withheld, j->policy_version);
		/* Queue it for each durable subscription that wants it. */
		nd = durable_registry_match(b->srv->durables, p->id,
		    env->header->kind, env->header->subject->local_id, names,
		    sizeof(names) / sizeof(names[0]));
		for (i = 0; i < nd; i++)
			if (store_batch_add_delivery(batch, j->message_id,
			    p->id, names[i]) == -1) {
				audit_event_free(ev);
				return -1;
			}
		break;
	case POLICY_DENY:
		ev = broker_decision_event(s, s->principal->id,
		    AUDIT_DELIVER_REFUSED, j->message_id, env, p->id, d, NULL,
		    j->policy_version);
		break;
	default:
		/* No rule names this role for this kind: not a candidate. */
		return 0;
	}
	if (ev == NULL || store_batch_add_event(batch, ev) == -1)
		return -1;
	return 0;
}

/*
 * Decides for every principal but the sender; if no one may receive the
 * message, decides again for the duty principals in the duty pass.  Fills
 * the job and the batch.  Returns 0, or -1 if memory ran out.
 */
static int
decide_recipients(struct broker *b, struct session *s,
    Nwd__V1__Envelope *env, struct publish_job *j, struct store_batch *batch)
{
	const struct identity_map	*ids = b->srv->ids;
	const struct policy		*pol = b->srv->policy;
	const struct principal		*p;
	struct policy_context		 ctx;
	struct policy_decision		 d;
	size_t				 i, n = identity_count(ids);

	if ((j->rcpts = calloc(n > 0 ? n : 1, sizeof(*j->rcpts))) == NULL)
		return -1;
	memset(&ctx, 0, sizeof(ctx));
	ctx.allocs = b->srv->allocs;
	ctx.now_ms = now_ms();
	for (i = 0; i < n; i++) {
		p = identity_at(ids, i);
		if (strcmp(p->id, s->principal->id) == 0)
			continue;
		policy_check_deliver(pol, p, env, &ctx, &d);
		if (record_decision(b, s, env, j, batch, p, &d) == -1)
			return -1;
	}
	if (j->nrcpts > 0)
		return 0;
	/* No dead letters: what reaches no one goes to the duty desk. */
	ctx.duty_pass = 1;
	for (i = 0; i < policy_nduty(pol); i++) {
		p = identity_find_id(ids, policy_duty_at(pol, i));
		if (p == NULL || strcmp(p->id, s->principal->id) == 0)
			continue;
		policy_check_deliver(pol, p, env, &ctx, &d);
		if (record_decision(b, s, env, j, batch, p, &d) == -1)
			return -1;
	}
	j->duty_desk = j->nrcpts > 0;
	return 0;
}

/*
 * An Allocation names the team or worker it allocates: they are told, as
 * if named in share_with.  Keeps a copy of the record for the table.
 */
static int
prepare_allocation(Nwd__V1__Envelope *env, struct publish_job *j)
{
	Nwd__V1__Header		*h = env->header;
	const Nwd__V1__Allocation *a = env->allocation;
	const char		*who[2] = { a->team, a->worker };
	char			**sw;
	size_t			 i, k, tl, wl, sl;

	for (k = 0; k < 2; k++) {
		if (who[k][0] == '\0')
			continue;
		for (i = 0; i < h->n_share_with; i++)
			if (strcmp(h->share_with[i], who[k]) == 0)
				break;
		if (i < h->n_share_with)
			continue;
		if ((sw = realloc(h->share_with, (h->n_share_with + 1) *
		    sizeof(char *))) == NULL)
			return -1;
		h->share_with = sw;
		if ((sw[h->n_share_with] = strdup(who[k])) == NULL)
			return -1;
		h->n_share_with++;
	}
	tl = strlen(a->team);
	wl = strlen(a->worker);
	sl = strlen(h->subject->local_id);
	if ((j->alloc_strings = malloc(tl + wl + sl + 3)) == NULL)
		return -1;
	memcpy(j->alloc_strings, a->team, tl + 1);
	memcpy(j->alloc_strings + tl + 1, a->worker, wl + 1);
	memcpy(j->alloc_strings + tl + wl + 2, h->subject->local_id, sl + 1);
	j->alloc.team = j->alloc_strings;
	j->alloc.worker = j->alloc_strings + tl + 1;
	j->alloc.subject = j->alloc_strings + tl + wl + 2;
	j->alloc.from_ms = a->from_unix_ms;
	j->alloc.until_ms = a->until_unix_ms;
	return 0;
}

static void
handle_publish(struct broker *b, struct session *s, uint64_t request_id,
    Nwd__V1__Publish *pub)
{
	Nwd__V1__Envelope	*env = pub->envelope;
	Nwd__V1__Header		*h;
	struct policy_decision	 d;
	struct policy_context	 ctx;
	struct publish_job	*j = NULL;
	struct store_batch	*batch = NULL;
	struct store_message	 m;
	struct audit_event	*ev;
	char			 err[320], note[256] = "";
	const char		*version = policy_version(b->srv->policy);
	uint8_t			*plain = NULL, *sealed = NULL;
	size_t			 plen;

	if (env == NULL) {
		refuse_publish(b, s, request_id, NULL,
		    NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE, NULL,
		    "publish carries no envelope");
		return;
	}
	if (envelope_validate(env, err, sizeof(err)) == -1) {
		refuse_publish(b, s, request_id, env,
		    NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE, NULL, err);
		return;
	}
	h = env->header;
	if (nwd__v1__envelope__get_packed_size(env) + BROKER_FRAME_HEADROOM >
	    b->srv->cfg->max_frame) {
		snprintf(err, sizeof(err), "envelope is too large to deliver "
		    "within max_frame (%u bytes, less %d for the broker's "
		    "header)", b->srv->cfg->max_frame, BROKER_FRAME_HEADROOM);
		refuse_publish(b, s, request_id, env,
		    NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE, NULL, err);
		return;
	}
	if ((int)h->marking > s->principal->clearance) {
		snprintf(err, sizeof(err),
		    "marking %s is above the sender's "
		    "clearance %s",
		    envelope_marking_name(h->marking),
		    envelope_marking_name(s->principal->clearance));
		refuse_publish(b, s, request_id, env,
		    NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, "clearance", err);
		return;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.allocs = b->srv->allocs;
	ctx.now_ms = now_ms();
	if (policy_check_publish(b->srv->policy, s->principal, env, &ctx,
	    &d) != POLICY_ALLOW) {
		refuse_publish(b, s, request_id, env,
		    NWD__V1__ERROR_CODE__ERROR_FORBIDDEN,
		    d.rules[0] != '\0' ? d.rules : NULL, d.reason);
		return;
	}
	if (store_get_state(b->srv->store) != STORE_READY) {
		refuse_publish(b, s, request_id, env,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, NULL,
		    "the audit store is unavailable, so nothing can be "
		    "shared; try again later");
		return;
	}

	/* The broker owns the sender, the time and the id: never the client. */
	if ((h->sender[0] != '\0' && strcmp(h->sender, s->principal->id) != 0) ||
	    (h->originating_agency[0] != '\0' &&
	    strcmp(h->originating_agency, s->principal->agency) != 0))
		snprintf(note, sizeof(note), "ignored client-supplied sender "
		    "'%.40s' and agency '%.40s'", h->sender,
		    h->originating_agency);
	h->created_unix_ms = now_ms();
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    uuid_generate_v7(h->created_unix_ms, j->message_id) == -1 ||
	    set_string(&h->message_id, j->message_id) == -1 ||
	    set_string(&h->sender, s->principal->id) == -1 ||
	    set_string(&h->originating_agency, s->principal->agency) == -1 ||
	    (j->subject = strdup(h->subject->local_id)) == NULL)
		goto internal;
	clock_gettime(CLOCK_MONOTONIC, &j->read_at);
	j->broker = b;
	j->session_id = s->id;
	j->request_id = request_id;
	j->kind = h->kind;
	snprintf(j->policy_version, sizeof(j->policy_version), "%s", version);

	if ((batch = store_batch_new()) == NULL)
		goto internal;
	memset(&m, 0, sizeof(m));
	memcpy(m.id, j->message_id, sizeof(m.id));
	m.kind = h->kind;
	m.subject = h->subject->local_id;
	m.sender = s->principal->id;
	m.agency = s->principal->agency;
	m.marking = h->marking;
	m.priority = h->priority;
	m.legal_basis = h->legal_basis;
	m.created_ms = h->created_unix_ms;
	m.policy_version = version;
	/* The whole body, sealed: what durable replay and a subject-access
	 * request read back. */
	plen = nwd__v1__envelope__get_packed_size(env);
	if ((plain = malloc(plen > 0 ? plen : 1)) == NULL)
		goto internal;
	nwd__v1__envelope__pack(env, plain);
	sealed = seal_body(b->srv->sealer, j->message_id, plain, plen,
	    &m.body_len);
	explicit_bzero(plain, plen);
	free(plain);
	plain = NULL;
	if (sealed == NULL)
		goto internal;
	m.body = sealed;
	m.key_id = sealer_key_id(b->srv->sealer);
	if (store_batch_set_message(batch, &m) == -1)
		goto internal;
	free(sealed);
	sealed = NULL;
	if ((ev = session_event(s, AUDIT_PUBLISH, s->principal->id)) == NULL)
		goto internal;
	ev->kind = h->kind;
	audit_event_set(ev, AUDIT_F_MESSAGE_ID, j->message_id);
	audit_event_set(ev, AUDIT_F_SUBJECT, h->subject->local_id);
	audit_event_set(ev, AUDIT_F_RULE, d.rules);
	audit_event_set(ev, AUDIT_F_POLICY_VERSION, version);
	audit_event_set(ev, AUDIT_F_REASON, note[0] != '\0' ? note : NULL);
	if (store_batch_add_event(batch, ev) == -1)
		goto internal;
	if (h->kind == NWD__V1__KIND__ALLOCATION &&
	    (prepare_allocation(env, j) == -1 ||
	    store_batch_add_allocation(batch, &j->alloc, j->message_id) == -1))
		goto internal;
	if (decide_recipients(b, s, env, j, batch) == -1)
		goto internal;
	if (j->nrcpts == 0) {
		store_batch_free(batch);
		job_free(j);
		refuse_publish(b, s, request_id, env,
		    NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, "no-dead-letters",
		    "no principal may receive this message, not even the "
		    "duty desk; nothing was shared");
		return;
	}
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
	log_debug("session=%s principal=%s event=publish_queued message=%s "
	    "recipients=%zu", s->name, s->principal->id, j->message_id,
	    j->nrcpts);
	return;
internal:
	metrics_publish("failed");
	free(sealed);
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
	id = session_sub_add(s, j->kinds, j->subjects, j->nsubjects, j->name);
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
	durable_replay(srv, s, id, j->name);
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
	    (ev = session_event(s, AUDIT_SUBSCRIBE, s->principal->id)) ==
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
		if (session_has_durable(s, sub->durable_name)) {
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
	if (s->nsubs >= b->srv->cfg->max_subscriptions) {
		metrics_refusal("max_subscriptions");
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_LIMIT, "this session already "
		    "has %u subscriptions (max_subscriptions)", s->nsubs);
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
	if ((id = session_sub_add(s, mask, subjects, n, NULL)) == 0) {
		subjects = NULL;
		n = 0;
		goto oom;
	}
	ack.subscription_id = id;
	f.request_id = request_id;
	f.msg_case = NWD__V1__FRAME__MSG_SUBSCRIBE_ACK;
	f.subscribe_ack = &ack;
	session_send(s, &f);
	log_info("session=%s principal=%s event=subscribe id=%llu %s",
	    s->name, s->principal->id, (unsigned long long)id, desc);
	if ((ev = session_event(s, AUDIT_SUBSCRIBE, s->principal->id)) !=
	    NULL && audit_event_set(ev, AUDIT_F_REASON, desc) == -1) {
		audit_event_free(ev);
		ev = NULL;
	}
	submit_detached(b, ev);
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
	log_debug("session=%s principal=%s event=ack message=%s", s->name,
	    s->principal->id, mid);
	if ((ev = session_event(s, AUDIT_ACK, s->principal->id)) != NULL &&
	    (audit_event_set(ev, AUDIT_F_MESSAGE_ID, mid) == -1 ||
	    audit_event_set(ev, AUDIT_F_RECIPIENT, s->principal->id) == -1 ||
	    audit_event_set(ev, AUDIT_F_REASON, durable[0] != '\0' ?
	    durable : NULL) == -1)) {
		audit_event_free(ev);
		ev = NULL;
	}
	if (durable[0] == '\0' || ev == NULL) {
		submit_detached(b, ev);
		return;
	}
	/* Proof of receipt, and the durable queue lets the message go. */
	if ((batch = store_batch_new()) == NULL ||
	    store_batch_set_delivery_state(batch, mid, s->principal->id,
	    durable, STORE_DELIVERY_ACKED) == -1) {
		store_batch_free(batch);
		audit_event_free(ev);
		log_warnx("session=%s principal=%s event=ack_lost message=%s "
		    "reason=\"out of memory\"", s->name, s->principal->id,
		    mid);
		return;
	}
	store_batch_add_event(batch, ev);
	store_submit_detached(b->srv->store, batch);
}

void
broker_handle(struct broker *b, struct session *s, Nwd__V1__Frame *f)
{
	switch (f->msg_case) {
	case NWD__V1__FRAME__MSG_PUBLISH:
		handle_publish(b, s, f->request_id, f->publish);
		break;
	case NWD__V1__FRAME__MSG_SUBSCRIBE:
		handle_subscribe(b, s, f->request_id, f->subscribe);
		break;
	case NWD__V1__FRAME__MSG_UNSUBSCRIBE:
		if (session_sub_remove(s, f->unsubscribe->subscription_id) ==
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
