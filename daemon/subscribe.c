/*
 * subscribe: see subscribe.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cluster.h"
#include "config.h"
#include "deadlines.h"
#include "durable.h"
#include "envelope.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "replay.h"
#include "server.h"
#include "sessidx.h"
#include "session.h"
#include "store.h"
#include "subs.h"
#include "subscribe.h"
#include "trail.h"
#include "uuid.h"

#define SUBSCRIBE_MAX_SUBJECTS	64	/* subjects of one subscription */
#define SUBSCRIBE_WITHDRAW_PAGE	5000	/* deliveries withdrawn a batch */

/* A request waiting for its rows to commit before it is answered. */
struct job {
	struct server		*srv;		/* borrowed */
	uint64_t		 session_id;
	uint64_t		 request_id;
	char			*principal;	/* owned */
	char			*name;		/* owned; durable name */
	uint32_t		 kinds;
	char			**subjects;	/* owned */
	size_t			 nsubjects;
	int			 duty;		/* the duty desk's own queue */
	uint64_t		 delivery_id;	/* an ack */
	char			 message_id[UUID_STR_LEN];
	int64_t			 after_id;	/* a deletion's next page */
	uint64_t		 withdrawn;
	char			*desc;		/* owned; for the row */
	struct deadlines_change	*deadlines;	/* owned; an ack meets */
};

/* s's subscriptions changed: whoever listens hears it (cluster.h). */
static void
subs_changed(struct server *srv, const struct session *s)
{
	if (srv->on_subs != NULL && s != NULL && s->principal != NULL)
		srv->on_subs(s->principal->id, srv->on_subs_arg);
}

static void
job_free(struct job *j)
{
	size_t i;

	if (j == NULL)
		return;
	deadlines_commit(j->srv->deadlines, j->deadlines, 0);
	for (i = 0; i < j->nsubjects; i++)
		free(j->subjects[i]);
	free(j->subjects);
	free(j->principal);
	free(j->name);
	free(j->desc);
	free(j);
}

static struct job *
job_new(struct server *srv, struct session *s, uint64_t request_id,
    const char *name)
{
	struct job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->srv = srv;
	j->session_id = s->id;
	j->request_id = request_id;
	if ((j->principal = strdup(s->principal->id)) == NULL ||
	    (name != NULL && (j->name = strdup(name)) == NULL)) {
		job_free(j);
		return NULL;
	}
	return j;
}

/* A row about session s, with reason. */
static struct audit_event *
session_row(struct session *s, enum audit_action a, const char *reason)
{
	struct trail_origin	 o = session_origin(s);
	struct audit_event	*ev;

	if ((ev = trail_event(&o, a, s->principal->id)) != NULL &&
	    audit_event_set(ev, AUDIT_F_REASON, reason) == -1) {
		audit_event_free(ev);
		return NULL;
	}
	return ev;
}

static void
send_frame(struct session *s, Nwd__V1__Frame *f, uint64_t request_id)
{
	f->request_id = request_id;
	session_send(s, f);
}

/* ------------------------------------------------------------------------
 * Subscribe
 */

/* "kinds=a,b subjects=x,y" (or "*"), for the log and the audit row. */
static void
describe(uint32_t mask, const Nwd__V1__Kind *kinds, size_t nkinds,
    char *const *subjects, size_t nsubjects, char *out, size_t outlen)
{
	size_t i, n;

	n = snprintf(out, outlen, "kinds=");
	for (i = 0; i < nkinds && n < outlen; i++)
		n += snprintf(out + n, outlen - n, "%s%s", i > 0 ? "," : "",
		    envelope_kind_name(kinds[i]));
	if (nkinds == 0 && n < outlen)
		n += snprintf(out + n, outlen - n, "*");
	if (n < outlen)
		n += snprintf(out + n, outlen - n, " subjects=%s",
		    nsubjects == 0 ? "*" : "");
	for (i = 0; i < nsubjects && n < outlen; i++)
		n += snprintf(out + n, outlen - n, "%s%s", i > 0 ? "," : "",
		    subjects[i]);
	(void)mask;
}

/* A durable subscription's replay, waiting for the other instances'
 * changes to be applied. */
struct replay_wait {
	struct server	*srv;		/* borrowed */
	uint64_t	 session_id;	/* may be gone */
	uint64_t	 id;
	char		 name[DURABLE_MAX_NAME + 1];
};

static void
replay_synced(int ok, void *arg)
{
	struct replay_wait	*rw = arg;
	struct session		*s = session_find(rw->srv, rw->session_id);

	/* Unless it was unsubscribed or its session ended meanwhile. */
	if (s != NULL && subs_durable_id(&s->subs, rw->name) == rw->id) {
		if (!ok)
			session_log(warnx, s, "event=replay_unsynced durable=%s "
			    "reason=\"the other instances' latest changes "
			    "could not be checked; replayed with what this one "
			    "knows\"", rw->name);
		replay_start(rw->srv, s, rw->id, rw->name);
	}
	free(rw);
}

static void
subscribe_done(enum store_outcome outcome, void *arg)
{
	struct job			*j = arg;
	struct server			*srv = j->srv;
	struct session			*s = session_find(srv, j->session_id);
	struct store_subscription	 rec;
	Nwd__V1__Frame			 f = NWD__V1__FRAME__INIT;
	Nwd__V1__SubscribeAck		 ack = NWD__V1__SUBSCRIBE_ACK__INIT;
	struct replay_wait		*rw;
	uint64_t			 id;
	int				 rc;

	if (outcome != STORE_COMMITTED) {
		if (s != NULL)
			session_send_error(s, j->request_id,
			    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the "
			    "durable subscription could not be recorded; try "
			    "again later");
		job_free(j);
		return;
	}
	/*
	 * The duty desk's queue is filled by the duty pass only; opening it
	 * chooses what the session receives live, not what is queued.
	 */
	memset(&rec, 0, sizeof(rec));
	rec.principal = j->principal;
	rec.name = j->name;
	rec.kinds = j->kinds;
	rec.subjects = (const char *const *)j->subjects;
	rec.nsubjects = j->nsubjects;
	if (!j->duty && durable_registry_put(srv->durables, &rec) == -1)
		session_log(warnx, s, "event=durable_not_registered name=%s "
		    "reason=\"out of memory\"", j->name);
	if (s == NULL) {
		job_free(j);
		return;
	}
	/* The session takes the subjects. */
	id = subs_add(&s->subs, j->kinds, j->subjects, j->nsubjects, j->name);
	j->subjects = NULL;
	j->nsubjects = 0;
	subs_changed(srv, s);
	if (id == 0) {
		session_send_error(s, j->request_id,
		    NWD__V1__ERROR_CODE__ERROR_INTERNAL, "subscribe failed: "
		    "out of memory");
		job_free(j);
		return;
	}
	ack.subscription_id = id;
	f.msg_case = NWD__V1__FRAME__MSG_SUBSCRIBE_ACK;
	f.subscribe_ack = &ack;
	send_frame(s, &f, j->request_id);
	session_log(info, s, "event=subscribe id=%llu durable=%s",
	    (unsigned long long)id, j->name);
	/*
	 * Then everything it missed, decided again now: with the other
	 * instances' changes (cluster.h), held back from live deliveries
	 * meanwhile so that the backlog still comes first.
	 */
	subs_set_replaying(&s->subs, id, 1);
	if ((rw = calloc(1, sizeof(*rw))) != NULL) {
		rw->srv = srv;
		rw->session_id = s->id;
		rw->id = id;
		snprintf(rw->name, sizeof(rw->name), "%s", j->name);
		if ((rc = cluster_sync(srv->cluster, replay_synced, rw)) == 0) {
			job_free(j);
			return;
		}
		free(rw);
		if (rc == -1)
			session_log(warnx, s, "event=replay_unsynced durable=%s "
			    "reason=\"the other instances' latest changes "
			    "could not be checked; replayed with what this one "
			    "knows\"", j->name);
	}
	replay_start(srv, s, id, j->name);
	job_free(j);
}

/*
 * Records a durable subscription and, once that has committed, opens it
 * and replays what it missed.  Takes ownership of subjects.  One that
 * exists with other filters is refused unless the client asks to replace
 * them; past max_durable_per_principal a new one is refused.
 */
static void
subscribe_durable(struct server *srv, struct session *s, uint64_t request_id,
    const Nwd__V1__Subscribe *sub, uint32_t mask, char **subjects, size_t n,
    const char *desc)
{
	struct job			*j = NULL;
	struct store_batch		*batch = NULL;
	struct store_subscription	 rec, old;
	struct audit_event		*ev = NULL;
	const char			*name = sub->durable_name;
	char				 reason[1200], ref[200];
	int				 exists;

	exists = durable_registry_get(srv->durables, s->principal->id, name,
	    &old) != NULL;
	if (!exists && strcmp(name, DURABLE_DUTY) != 0 &&
	    durable_registry_count(srv->durables, s->principal->id) >=
	    srv->cfg->max_durable_per_principal) {
		metrics_refusal("max_durable");
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_LIMIT, "%s already holds %zu "
		    "durable subscriptions (max_durable_per_principal); "
		    "delete one first (nwd durable delete NAME)",
		    s->principal->id, durable_registry_count(srv->durables,
		    s->principal->id));
		goto refused;
	}
	/* The duty desk's own queue keeps no filters (the duty pass fills
	 * it): its row, read back at a connect or a reload, has none. */
	if (exists && !sub->replace && !(strcmp(name, DURABLE_DUTY) == 0 &&
	    policy_is_duty(srv->policy, s->principal->id)) &&
	    !durable_same_filters(&old, mask, (const char *const *)subjects,
	    n)) {
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_CONFLICT, "durable subscription "
		    "%s exists with other kinds or subjects; subscribe with "
		    "the same filters, or ask to replace them (what is queued "
		    "stays queued)", name);
		goto refused;
	}
	if ((j = job_new(srv, s, request_id, name)) == NULL ||
	    (batch = store_batch_new()) == NULL)
		goto oom;
	j->kinds = mask;
	j->subjects = subjects;
	j->nsubjects = n;
	subjects = NULL;
	j->duty = strcmp(name, DURABLE_DUTY) == 0 &&
	    policy_is_duty(srv->policy, s->principal->id);
	memset(&rec, 0, sizeof(rec));
	rec.principal = j->principal;
	rec.name = j->name;
	rec.kinds = j->duty ? 0 : mask;
	rec.subjects = (const char *const *)j->subjects;
	rec.nsubjects = j->duty ? 0 : j->nsubjects;
	rec.keep = j->duty;
	snprintf(reason, sizeof(reason), "durable=%s %s%s", name, desc,
	    exists && sub->replace && !durable_same_filters(&old, mask,
	    (const char *const *)j->subjects, j->nsubjects) ? " (replaced "
	    "its filters; what was queued stays queued)" : j->duty ?
	    " (the duty desk's queue)" : "");
	snprintf(ref, sizeof(ref), "%s/%s", j->principal, j->name);
	if (store_batch_add_subscription(batch, &rec) == -1 ||
	    store_batch_add_change(batch, "subscription", ref) == -1 ||
	    (ev = session_row(s, AUDIT_SUBSCRIBE, reason)) == NULL ||
	    store_batch_add_event(batch, ev) == -1)
		goto oom;
	if (store_submit(srv->store, batch, subscribe_done, j) == -1) {
		store_batch_free(batch);
		job_free(j);
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the audit store "
		    "is unavailable; a durable subscription cannot be opened "
		    "now");
	}
	return;
oom:
	store_batch_free(batch);
	job_free(j);
	session_send_error(s, request_id, NWD__V1__ERROR_CODE__ERROR_INTERNAL,
	    "subscribe failed: out of memory");
refused:
	while (subjects != NULL && n > 0)
		free(subjects[--n]);
	free(subjects);
}

/* A live subscription: acknowledged, logged and audited. */
static void
live_subscribed(struct server *srv, struct session *s, uint64_t request_id,
    uint64_t id, const char *desc)
{
	Nwd__V1__Frame		f = NWD__V1__FRAME__INIT;
	Nwd__V1__SubscribeAck	ack = NWD__V1__SUBSCRIBE_ACK__INIT;

	ack.subscription_id = id;
	f.msg_case = NWD__V1__FRAME__MSG_SUBSCRIBE_ACK;
	f.subscribe_ack = &ack;
	send_frame(s, &f, request_id);
	session_log(info, s, "event=subscribe id=%llu %s",
	    (unsigned long long)id, desc);
	trail_detached(srv->store, session_row(s, AUDIT_SUBSCRIBE, desc));
}

/* A live subscription whose ack waits for the other instances. */
struct live_wait {
	struct server	*srv;		/* borrowed */
	uint64_t	 session_id;	/* may be gone */
	uint64_t	 request_id;
	uint64_t	 id;
	char		*desc;		/* owned */
};

static void
live_announced(int ok, void *arg)
{
	struct live_wait	*lw = arg;
	struct session		*s = session_find(lw->srv, lw->session_id);

	if (s != NULL && !ok)
		session_log(warnx, s, "event=subscribe_not_announced id=%llu "
		    "reason=\"the other instances were not told; publishes "
		    "through them may not route to it until it is\"",
		    (unsigned long long)lw->id);
	if (s != NULL)
		live_subscribed(lw->srv, s, lw->request_id, lw->id, lw->desc);
	free(lw->desc);
	free(lw);
}

void
subscribe_handle(struct server *srv, struct session *s, uint64_t request_id,
    const Nwd__V1__Subscribe *sub)
{
	struct live_wait	*lw;
	uint32_t		 mask = 0;
	char			**subjects = NULL, desc[640];
	size_t			 i, n = 0;
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
			    NWD__V1__ERROR_CODE__ERROR_CONFLICT, "durable "
			    "subscription %s is already open on this session",
			    sub->durable_name);
			return;
		}
		if (store_get_state(srv->store) != STORE_READY) {
			session_send_error(s, request_id,
			    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the audit "
			    "store is unavailable; a durable subscription "
			    "cannot be opened now");
			return;
		}
	}
	if (s->subs.n >= srv->cfg->max_subscriptions) {
		metrics_refusal("max_subscriptions");
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_LIMIT, "this session already "
		    "has %u subscriptions (max_subscriptions)", s->subs.n);
		return;
	}
	if (sub->n_subjects > SUBSCRIBE_MAX_SUBJECTS) {
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_LIMIT, "a subscription may "
		    "name at most %d subjects", SUBSCRIBE_MAX_SUBJECTS);
		return;
	}
	for (i = 0; i < sub->n_kinds; i++) {
		if (envelope_kind_name(sub->kinds[i]) == NULL) {
			session_send_error(s, request_id,
			    NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE,
			    "unknown kind %d in subscribe", (int)sub->kinds[i]);
			return;
		}
		mask |= 1u << sub->kinds[i];
	}
	if (sub->n_kinds == 0)
		mask = ~1u;
	if (sub->n_subjects > 0 &&
	    (subjects = calloc(sub->n_subjects, sizeof(char *))) == NULL)
		goto oom;
	for (i = 0; i < sub->n_subjects; i++) {
		const char *subj = sub->subjects[i];

		/* As a publish's subject: they go into the audit rows. */
		if (!envelope_subject_ok(subj)) {
			session_send_error(s, request_id,
			    NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE,
			    "subscribe subject %zu is not a subject id", i);
			goto fail;
		}
		if ((subjects[n++] = strdup(subj)) == NULL)
			goto oom;
	}
	describe(mask, sub->kinds, sub->n_kinds, subjects, n, desc,
	    sizeof(desc));
	if (sub->durable_name[0] != '\0') {
		subscribe_durable(srv, s, request_id, sub, mask, subjects, n,
		    desc);
		return;
	}
	if ((id = subs_add(&s->subs, mask, subjects, n, NULL)) == 0) {
		subjects = NULL;
		n = 0;
		goto oom;
	}
	/*
	 * With other instances live, the SubscribeAck waits for them to be
	 * told: a publish on one of them after it reaches this session.
	 */
	if ((lw = calloc(1, sizeof(*lw))) != NULL) {
		lw->srv = srv;
		lw->session_id = s->id;
		lw->request_id = request_id;
		lw->id = id;
		if ((lw->desc = strdup(desc)) != NULL &&
		    cluster_announce(srv->cluster, s->principal->id,
		    live_announced, lw) == 0)
			return;
		free(lw->desc);
		free(lw);
	}
	subs_changed(srv, s);
	live_subscribed(srv, s, request_id, id, desc);
	return;
oom:
	session_send_error(s, request_id, NWD__V1__ERROR_CODE__ERROR_INTERNAL,
	    "subscribe failed: out of memory");
fail:
	while (n > 0)
		free(subjects[--n]);
	free(subjects);
}

void
subscribe_unsubscribe(struct server *srv, struct session *s,
    uint64_t request_id, const Nwd__V1__Unsubscribe *u)
{
	Nwd__V1__Frame		f = NWD__V1__FRAME__INIT;
	Nwd__V1__Unsubscribed	done = NWD__V1__UNSUBSCRIBED__INIT;

	replay_forget(s, u->subscription_id);
	if (subs_remove(&s->subs, u->subscription_id) == -1) {
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_NOT_FOUND, "no subscription "
		    "%llu on this session",
		    (unsigned long long)u->subscription_id);
		return;
	}
	subs_changed(srv, s);
	done.subscription_id = u->subscription_id;
	f.msg_case = NWD__V1__FRAME__MSG_UNSUBSCRIBED;
	f.unsubscribed = &done;
	send_frame(s, &f, request_id);
	session_log(debug, s, "event=unsubscribe id=%llu",
	    (unsigned long long)u->subscription_id);
}

/* ------------------------------------------------------------------------
 * Ack
 */

static void
ack_done(enum store_outcome outcome, void *arg)
{
	struct job	*j = arg;
	struct session	*s = session_find(j->srv, j->session_id);
	Nwd__V1__Frame	 f = NWD__V1__FRAME__INIT;
	Nwd__V1__Acked	 acked = NWD__V1__ACKED__INIT;

	if (outcome == STORE_COMMITTED) {
		deadlines_commit(j->srv->deadlines, j->deadlines, 1);
		j->deadlines = NULL;
	}
	if (s == NULL) {
		job_free(j);
		return;
	}
	if (outcome != STORE_COMMITTED) {
		session_send_error(s, j->request_id, outcome == STORE_FAILED ?
		    NWD__V1__ERROR_CODE__ERROR_INTERNAL :
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the ack of "
		    "delivery %llu was not recorded: the audit store did not "
		    "commit it; ack it again", (unsigned long long)
		    j->delivery_id);
		job_free(j);
		return;
	}
	acked.delivery_id = j->delivery_id;
	acked.message_id = j->message_id;
	f.msg_case = NWD__V1__FRAME__MSG_ACKED;
	f.acked = &acked;
	send_frame(s, &f, j->request_id);
	job_free(j);
}

void
subscribe_ack(struct server *srv, struct session *s, uint64_t request_id,
    const Nwd__V1__Ack *ack)
{
	struct audit_event	*ev = NULL;
	struct store_batch	*batch = NULL;
	struct job		*j = NULL;
	char			 mid[UUID_STR_LEN], durable[65];

	if (session_delivery_ack(s, ack->delivery_id, mid, durable) == -1) {
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_NOT_FOUND, "delivery %llu is "
		    "not waiting for an ack on this session",
		    (unsigned long long)ack->delivery_id);
		return;
	}
	session_log(debug, s, "event=ack message=%s", mid);
	if ((j = job_new(srv, s, request_id, NULL)) == NULL ||
	    (batch = store_batch_new()) == NULL ||
	    (ev = session_row(s, AUDIT_ACK, durable[0] != '\0' ? durable :
	    NULL)) == NULL ||
	    audit_event_set(ev, AUDIT_F_MESSAGE_ID, mid) == -1 ||
	    audit_event_set(ev, AUDIT_F_RECIPIENT, s->principal->id) == -1)
		goto oom;
	j->delivery_id = ack->delivery_id;
	memcpy(j->message_id, mid, sizeof(j->message_id));
	/* Proof of receipt, and the durable queue lets the message go. */
	if (durable[0] != '\0' && store_batch_set_delivery_state(batch, mid,
	    s->principal->id, durable, STORE_DELIVERY_ACKED) == -1)
		goto oom;
	if (store_batch_add_event(batch, ev) == -1) {
		ev = NULL;
		goto oom;
	}
	ev = NULL;
	/* A statutory clock this acknowledgement stops, in the same rows. */
	{
		struct trail_origin o = session_origin(s);

		if (deadlines_ack(srv->deadlines, mid, s->principal, &o, batch,
		    &j->deadlines) == -1)
			goto oom;
	}
	if (store_submit(srv->store, batch, ack_done, j) == -1) {
		store_batch_free(batch);
		job_free(j);
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the ack of "
		    "delivery %llu was not recorded: the audit store is "
		    "unavailable; ack it again later",
		    (unsigned long long)ack->delivery_id);
	}
	return;
oom:
	audit_event_free(ev);
	store_batch_free(batch);
	job_free(j);
	session_log(warnx, s, "event=ack_lost message=%s reason=\"out of "
	    "memory\"", mid);
	session_send_error(s, request_id, NWD__V1__ERROR_CODE__ERROR_INTERNAL,
	    "ack failed: out of memory");
}

/* ------------------------------------------------------------------------
 * A principal's durable subscriptions
 */

static int64_t
to_i64(const char *v)
{
	return v != NULL ? strtoll(v, NULL, 10) : 0;
}

/* 1 if a session of principal has durable subscription name open. */
static int
is_open(struct server *srv, const char *principal, const char *name)
{
	void		*stack[64], **ss;
	struct session	*o;
	size_t		 k, n;
	int		 open = 0;

	if ((ss = sessidx_all(srv->index, principal, stack, 64, &n)) == NULL)
		return 1;	/* without memory, say open: the safe side */
	for (k = 0; k < n && !open; k++) {
		o = ss[k];
		open = o->state == SESSION_ACTIVE &&
		    subs_has_durable(&o->subs, name);
	}
	sessidx_done(ss, stack);
	return open;
}

static void
list_rows(int ok, const struct store_result *res, void *arg)
{
	struct job			*j = arg;
	struct session			*s = session_find(j->srv, j->session_id);
	Nwd__V1__Frame			 f = NWD__V1__FRAME__INIT;
	Nwd__V1__DurableListResult	 out = NWD__V1__DURABLE_LIST_RESULT__INIT;
	Nwd__V1__DurableInfo		*infos = NULL, **ptrs = NULL;
	char				**bufs = NULL, *t, *save;
	size_t				 i, k, nr = 0;
	uint32_t			 kinds;

	if (s == NULL)
		goto done;
	if (!ok) {
		session_send_error(s, j->request_id,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "durable list: the "
		    "audit store is unavailable; try again later");
		goto done;
	}
	nr = store_result_nrows(res);
	if (nr > 0 && ((infos = calloc(nr, sizeof(*infos))) == NULL ||
	    (ptrs = calloc(nr, sizeof(*ptrs))) == NULL ||
	    (bufs = calloc(nr, sizeof(*bufs))) == NULL))
		goto oom;
	for (i = 0; i < nr; i++) {
		Nwd__V1__DurableInfo *d = &infos[i];

		nwd__v1__durable_info__init(d);
		ptrs[i] = d;
		d->name = (char *)store_result_value(res, i, 0);
		kinds = (uint32_t)to_i64(store_result_value(res, i, 1));
		if (kinds != ~1u) {
			if ((d->kinds = calloc(32, sizeof(*d->kinds))) == NULL)
				goto oom;
			for (k = 1; k < 32; k++)
				if (kinds & (1u << k))
					d->kinds[d->n_kinds++] = k;
		}
		if (store_result_value(res, i, 2) != NULL &&
		    store_result_value(res, i, 2)[0] != '\0') {
			if ((bufs[i] = strdup(store_result_value(res, i,
			    2))) == NULL || (d->subjects = calloc(
			    SUBSCRIBE_MAX_SUBJECTS, sizeof(char *))) == NULL)
				goto oom;
			save = NULL;
			for (t = strtok_r(bufs[i], ",", &save); t != NULL &&
			    d->n_subjects < SUBSCRIBE_MAX_SUBJECTS;
			    t = strtok_r(NULL, ",", &save))
				d->subjects[d->n_subjects++] = t;
		}
		d->updated_unix_ms = to_i64(store_result_value(res, i, 3));
		d->pending = (uint64_t)to_i64(store_result_value(res, i, 4));
		d->oldest_pending_unix_ms = to_i64(store_result_value(res, i,
		    5));
		d->open = is_open(j->srv, j->principal, d->name);
	}
	out.durables = ptrs;
	out.n_durables = nr;
	f.msg_case = NWD__V1__FRAME__MSG_DURABLE_LIST_RESULT;
	f.durable_list_result = &out;
	send_frame(s, &f, j->request_id);
	goto freeall;
oom:
	session_send_error(s, j->request_id, NWD__V1__ERROR_CODE__ERROR_INTERNAL,
	    "durable list failed: out of memory");
freeall:
	for (i = 0; infos != NULL && i < nr; i++) {
		free(infos[i].kinds);
		free(infos[i].subjects);
		if (bufs != NULL)
			free(bufs[i]);
	}
	free(infos);
	free(ptrs);
	free(bufs);
done:
	job_free(j);
}

void
subscribe_durable_list(struct server *srv, struct session *s,
    uint64_t request_id)
{
	struct job *j;

	if ((j = job_new(srv, s, request_id, NULL)) == NULL) {
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_INTERNAL, "durable list failed: "
		    "out of memory");
		return;
	}
	if (store_query_durables(srv->store, s->principal->id, list_rows,
	    j) == -1) {
		job_free(j);
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "durable list: the "
		    "audit store is unavailable; try again later");
	}
}

static void	delete_page(int, const struct store_result *, void *);

/* The last step of a deletion committed: answer. */
static void
delete_done(enum store_outcome outcome, void *arg)
{
	struct job		*j = arg;
	struct session		*s = session_find(j->srv, j->session_id);
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT;
	Nwd__V1__DurableDeleted	 out = NWD__V1__DURABLE_DELETED__INIT;

	if (s != NULL && outcome != STORE_COMMITTED)
		session_send_error(s, j->request_id,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "durable "
		    "subscription %s was not deleted: the audit store did not "
		    "commit; delete it again", j->name);
	else if (s != NULL) {
		out.name = j->name;
		out.withdrawn = j->withdrawn;
		f.msg_case = NWD__V1__FRAME__MSG_DURABLE_DELETED;
		f.durable_deleted = &out;
		send_frame(s, &f, j->request_id);
	}
	log_info("principal=%s event=durable_deleted name=%s withdrawn=%"
	    PRIu64 "%s", j->principal, j->name, j->withdrawn,
	    outcome == STORE_COMMITTED ? "" : " committed=no");
	job_free(j);
}

/* A page of withdrawals committed: the next page. */
static void
delete_step(enum store_outcome outcome, void *arg)
{
	struct job *j = arg;

	if (outcome != STORE_COMMITTED) {
		delete_done(outcome, j);
		return;
	}
	if (store_query_pending_ids(j->srv->store, j->principal, j->name,
	    j->after_id, SUBSCRIBE_WITHDRAW_PAGE, delete_page, j) == -1)
		delete_done(STORE_UNAVAILABLE, j);
}

/*
 * A page of what is pending: each withdrawn, a row each; the last (empty)
 * page deletes the subscription with its durable_deleted row.
 */
static void
delete_page(int ok, const struct store_result *res, void *arg)
{
	struct job		*j = arg;
	struct store_batch	*batch = NULL;
	struct audit_event	*ev;
	const char		**ids = NULL;
	char			 reason[160];
	size_t			 i, n;

	if (!ok) {
		delete_done(STORE_UNAVAILABLE, j);
		return;
	}
	n = store_result_nrows(res);
	if ((batch = store_batch_new()) == NULL ||
	    (n > 0 && (ids = calloc(n, sizeof(*ids))) == NULL))
		goto oom;
	for (i = 0; i < n; i++) {
		ids[i] = store_result_value(res, i, 0);
		if ((ev = trail_delivery(j->srv->cfg->instance,
		    AUDIT_DELIVER_WITHDRAWN, ids[i], NULL, 0, j->principal,
		    j->desc)) == NULL || store_batch_add_event(batch, ev) == -1)
			goto oom;
	}
	if (n > 0)
		j->after_id = to_i64(store_result_value(res, n - 1, 1));
	j->withdrawn += n;
	if (store_batch_withdraw(batch, j->principal, j->name, ids, n,
	    n == 0) == -1)
		goto oom;
	if (n == 0) {
		snprintf(reason, sizeof(reason), "%s/%s", j->principal,
		    j->name);
		if (store_batch_add_change(batch, "subscription", reason) == -1)
			goto oom;
	}
	if (n == 0) {
		snprintf(reason, sizeof(reason), "durable=%s deleted; %" PRIu64
		    " pending withdrawn", j->name, j->withdrawn);
		if ((ev = audit_event_new(AUDIT_DURABLE_DELETED,
		    j->principal)) == NULL ||
		    audit_event_set(ev, AUDIT_F_REASON, reason) == -1 ||
		    store_batch_add_event(batch, ev) == -1)
			goto oom;
	}
	free(ids);
	if (store_submit(j->srv->store, batch, n == 0 ? delete_done :
	    delete_step, j) == -1) {
		store_batch_free(batch);
		delete_done(STORE_UNAVAILABLE, j);
	}
	return;
oom:
	free(ids);
	store_batch_free(batch);
	delete_done(STORE_FAILED, j);
}

void
subscribe_durable_delete(struct server *srv, struct session *s,
    uint64_t request_id, const Nwd__V1__DurableDelete *del)
{
	struct store_subscription	 old;
	struct job			*j;
	void				*stack[64], **ss;
	struct session			*o;
	uint64_t			 id;
	size_t				 k, n;
	char				 desc[200];

	if (!durable_name_ok(del->name)) {
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE, "a durable "
		    "subscription name is 1 to %d letters, digits, '-', '_' "
		    "or '.'", DURABLE_MAX_NAME);
		return;
	}
	if (durable_registry_get(srv->durables, s->principal->id, del->name,
	    &old) == NULL && (strcmp(del->name, DURABLE_DUTY) != 0 ||
	    !policy_is_duty(srv->policy, s->principal->id))) {
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_NOT_FOUND, "%s has no durable "
		    "subscription %s", s->principal->id, del->name);
		return;
	}
	if (store_get_state(srv->store) != STORE_READY) {
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the audit store "
		    "is unavailable; a durable subscription cannot be deleted "
		    "now");
		return;
	}
	if ((j = job_new(srv, s, request_id, del->name)) == NULL) {
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_INTERNAL, "durable delete "
		    "failed: out of memory");
		return;
	}
	snprintf(desc, sizeof(desc), "withdrawn: durable subscription %s was "
	    "deleted by its principal", del->name);
	if ((j->desc = strdup(desc)) == NULL) {
		job_free(j);
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_INTERNAL, "durable delete "
		    "failed: out of memory");
		return;
	}
	/* Nothing more is queued for it, and no session receives on it. */
	durable_registry_del(srv->durables, s->principal->id, del->name);
	if ((ss = sessidx_all(srv->index, s->principal->id, stack, 64,
	    &n)) == NULL) {
		job_free(j);
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_INTERNAL, "durable delete "
		    "failed: out of memory");
		return;
	}
	for (k = 0; k < n; k++) {
		o = ss[k];
		while ((id = subs_durable_id(&o->subs, del->name)) != 0) {
			replay_forget(o, id);
			subs_remove(&o->subs, id);
		}
	}
	sessidx_done(ss, stack);
	subs_changed(srv, s);
	/* What the queue holds: withdrawn, page by page, then deleted. */
	delete_step(STORE_COMMITTED, j);
}
