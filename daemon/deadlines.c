/*
 * deadlines: the statutory clocks nwd keeps.  See deadlines.h.
 *
 * In memory, the unmet deadlines (read back from nwd.deadlines whenever
 * the store becomes ready, and kept up to date as batches commit); one
 * timer, at the soonest next action.  Acting on a deadline: read who the
 * message reached and who acknowledged it, build an Escalation, and have
 * main's sender publish it with the rows that advance the deadline, in
 * one transaction the database refuses if another has advanced it first.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "audit.h"
#include "calendar.h"
#include "clock.h"
#include "config.h"
#include "deadlines.h"
#include "envelope.h"
#include "identity.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "server.h"
#include "store.h"
#include "trail.h"
#include "uuid.h"

#define DEADLINES_MAX_SET	16		/* rules one message may set */
#define DEADLINES_RETRY_MS	(60 * 1000)	/* after a failed escalation */
#define DEADLINES_MAX_WAIT_MS	(60 * 60 * 1000) /* the timer's longest */
#define DEADLINES_NEVER		INT64_MAX
#define DEADLINES_MAX_NAMES	64		/* reached, acknowledged */

struct item {
	char		 mid[UUID_STR_LEN];
	char		*subject;	/* owned */
	char		*rule;		/* owned */
	char		*sender;	/* owned; the message's */
	int		 kind;
	int		 priority;
	int64_t		 start_ms;
	int64_t		 due_ms;
	int64_t		 every_ms;
	int64_t		 next_ms;	/* DEADLINES_NEVER: nothing more */
	int		 by_ack;
	uint32_t	 closing_kinds;
	int		 escalations;
	int		 busy;		/* an escalation is in flight */
};

struct met {
	char		 mid[UUID_STR_LEN];
	char		*rule;		/* owned */
};

struct deadlines_change {
	struct item	*add;		/* owned, with their strings */
	size_t		 nadd;
	struct met	*met;		/* owned */
	size_t		 nmet;
};

struct deadlines {
	struct server		*srv;		/* borrowed */
	struct item		*v;		/* owned */
	size_t			 n, cap;
	struct event		*timer;		/* owned */
	int			 loaded;	/* since the store's ready */
	uint64_t		 generation;	/* of the last load */
	sysmsg_send_fn	*send;
	void			*send_arg;
};

/* One escalation being made. */
struct escalation {
	struct deadlines	*d;
	uint64_t		 generation;
	char			 mid[UUID_STR_LEN];
	char			*rule;		/* owned */
	int			 count;		/* the new count */
	int64_t			 next_ms;
	int			 first;
	int64_t			 due_ms;
	char			*subject;	/* owned */
};

static void	arm(struct deadlines *);

static void
item_clear(struct item *it)
{
	free(it->subject);
	free(it->rule);
	free(it->sender);
	memset(it, 0, sizeof(*it));
}

static void
change_free(struct deadlines_change *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nadd; i++)
		item_clear(&c->add[i]);
	free(c->add);
	for (i = 0; i < c->nmet; i++)
		free(c->met[i].rule);
	free(c->met);
	free(c);
}

static void
items_clear(struct deadlines *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		item_clear(&d->v[i]);
	d->n = 0;
}

/* Appends a copy of it (its strings taken); returns 0 or -1. */
static int
items_add(struct deadlines *d, struct item *it)
{
	struct item	*nv;
	size_t		 i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->v[i].mid, it->mid) == 0 &&
		    strcmp(d->v[i].rule, it->rule) == 0) {
			item_clear(it);
			return 0;
		}
	if (d->n == d->cap) {
		if ((nv = reallocarray(d->v, d->cap ? d->cap * 2 : 16,
		    sizeof(*nv))) == NULL)
			return -1;
		d->v = nv;
		d->cap = d->cap ? d->cap * 2 : 16;
	}
	d->v[d->n++] = *it;
	memset(it, 0, sizeof(*it));
	return 0;
}

static struct item *
find(struct deadlines *d, const char *mid, const char *rule)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->v[i].mid, mid) == 0 &&
		    strcmp(d->v[i].rule, rule) == 0)
			return &d->v[i];
	return NULL;
}

static void
items_remove(struct deadlines *d, const char *mid, const char *rule)
{
	struct item *it = find(d, mid, rule);

	if (it == NULL)
		return;
	item_clear(it);
	*it = d->v[--d->n];
	memset(&d->v[d->n], 0, sizeof(d->v[d->n]));
}

/* "2027-01-11 16:00 GMT" */
static void
when(int64_t ms, char *out, size_t outlen)
{
	char	buf[48];
	size_t	n;

	calendar_format(ms, buf, sizeof(buf));
	/* Seconds are noise in a deadline: "16:00:00" -> "16:00". */
	n = strlen(buf);
	if (n > 7 && buf[n - 7] == ':' && buf[n - 4] == ' ')
		memmove(buf + n - 7, buf + n - 4, 5);
	snprintf(out, outlen, "%s", buf);
}

/* ------------------------------------------------------------------------
 * Life
 */

static void
on_timer(evutil_socket_t fd, short what, void *arg);

struct deadlines *
deadlines_new(struct server *srv)
{
	struct deadlines *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->srv = srv;
	if ((d->timer = evtimer_new(srv->base, on_timer, d)) == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

void
deadlines_free(struct deadlines *d)
{
	if (d == NULL)
		return;
	items_clear(d);
	free(d->v);
	if (d->timer != NULL)
		event_free(d->timer);
	free(d);
}

void
deadlines_set_sender(struct deadlines *d, sysmsg_send_fn *send, void *arg)
{
	d->send = send;
	d->send_arg = arg;
}

void
deadlines_counts(const struct deadlines *d, uint64_t *open,
    uint64_t *breached)
{
	size_t i;

	*open = *breached = 0;
	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++) {
		(*open)++;
		if (d->v[i].escalations > 0)
			(*breached)++;
	}
}

/* ------------------------------------------------------------------------
 * Loading
 */

static int
parse_i64(const char *s, int64_t *out)
{
	char		*end;
	long long	 v;

	if (s == NULL || *s == '\0')
		return -1;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		return -1;
	*out = v;
	return 0;
}

static void
loaded(int ok, const struct store_result *r, void *arg)
{
	struct deadlines	*d = arg;
	struct item		 it;
	size_t			 i, n;
	int64_t			 v[8];
	const char		*s;
	int			 k;

	if (!ok) {
		log_warnx("event=deadlines_not_loaded reason=\"the query of "
		    "unmet deadlines failed\"; retried when the store is "
		    "ready again");
		return;
	}
	items_clear(d);
	d->generation++;
	n = store_result_nrows(r);
	for (i = 0; i < n; i++) {
		memset(&it, 0, sizeof(it));
		for (k = 0; k < 8; k++) {
			static const int col[8] = { 2, 4, 5, 6, 8, 10, 11, 13 };

			s = store_result_value(r, i, col[k]);
			if (parse_i64(s, &v[k]) == -1)
				v[k] = 0;
		}
		snprintf(it.mid, sizeof(it.mid), "%s",
		    store_result_value(r, i, 0));
		it.kind = (int)v[0];
		it.start_ms = v[1];
		it.due_ms = v[2];
		it.every_ms = v[3];
		it.closing_kinds = (uint32_t)v[4];
		it.escalations = (int)v[5];
		it.next_ms = v[6];
		it.priority = (int)v[7];
		it.by_ack = strcmp(store_result_value(r, i, 7), "true") == 0;
		/* Escalated once and nothing more to come: kept as unmet. */
		if (it.escalations > 0 && it.every_ms == 0)
			it.next_ms = DEADLINES_NEVER;
		if ((it.subject = strdup(store_result_value(r, i, 1))) ==
		    NULL || (it.rule = strdup(store_result_value(r, i, 3))) ==
		    NULL || (it.sender = strdup(store_result_value(r, i,
		    12))) == NULL || items_add(d, &it) == -1) {
			item_clear(&it);
			log_warnx("event=deadlines_not_loaded reason=\"out of "
			    "memory\"");
			break;
		}
	}
	d->loaded = 1;
	log_info("event=deadlines_loaded unmet=%zu", d->n);
	arm(d);
}

void
deadlines_load(struct deadlines *d)
{
	if (d == NULL)
		return;
	d->loaded = 0;
	evtimer_del(d->timer);
	if (store_query_deadlines_unmet(d->srv->store, loaded, d) == -1)
		log_warnx("event=deadlines_not_loaded reason=\"the audit store "
		    "is not ready\"");
}

/* ------------------------------------------------------------------------
 * Setting and meeting
 */

static struct deadlines_change *
change_get(struct deadlines_change **out)
{
	if (*out == NULL)
		*out = calloc(1, sizeof(**out));
	return *out;
}

static int
change_met(struct deadlines_change *c, const char *mid, const char *rule)
{
	struct met *nm;

	if ((nm = reallocarray(c->met, c->nmet + 1, sizeof(*nm))) == NULL)
		return -1;
	c->met = nm;
	snprintf(c->met[c->nmet].mid, sizeof(c->met[c->nmet].mid), "%s", mid);
	if ((c->met[c->nmet].rule = strdup(rule)) == NULL)
		return -1;
	c->nmet++;
	return 0;
}

/* The deadline_met row and the change that meets it. */
static int
meet(struct deadlines *d, const struct item *it, const char *actor,
    const char *how, const char *by_message, const struct trail_origin *o,
    struct store_batch *batch, struct deadlines_change **out)
{
	struct deadlines_change	*c;
	struct audit_event	*ev;
	char			 due[48], reason[512];
	int64_t			 now = clock_wall_ms();

	if ((c = change_get(out)) == NULL)
		return -1;
	when(it->due_ms, due, sizeof(due));
	snprintf(reason, sizeof(reason), "%s; due %s%s", how, due,
	    now > it->due_ms ? ", met late" : "");
	if ((ev = trail_event(o, AUDIT_DEADLINE_MET, actor)) == NULL)
		return -1;
	ev->kind = it->kind;
	if (audit_event_set(ev, AUDIT_F_MESSAGE_ID, it->mid) == -1 ||
	    audit_event_set(ev, AUDIT_F_SUBJECT, it->subject) == -1 ||
	    audit_event_set(ev, AUDIT_F_RULE, it->rule) == -1 ||
	    audit_event_set(ev, AUDIT_F_REASON, reason) == -1 ||
	    store_batch_add_event(batch, ev) == -1) {
		audit_event_free(ev);
		return -1;
	}
	if (store_batch_deadline_met(batch, it->mid, it->rule, actor,
	    by_message, now) == -1)
		return -1;
	return change_met(c, it->mid, it->rule);
}

int
deadlines_publish(struct deadlines *d, const Nwd__V1__Envelope *env,
    const char *message_id, const char *sender, const struct trail_origin *o,
    struct store_batch *batch, struct deadlines_change **out)
{
	struct policy_deadline	 set[DEADLINES_MAX_SET];
	struct store_deadline	 row;
	struct deadlines_change	*c;
	struct audit_event	*ev;
	struct item		*it, *nv;
	const char		*ref = env->header->references;
	char			 due[48], reason[640], how[160];
	size_t			 n, i;

	*out = NULL;
	if (d == NULL)
		return 0;
	if (policy_deadlines(d->srv->policy, d->srv->calendar, env,
	    env->header->created_unix_ms, set, DEADLINES_MAX_SET, &n) == -1)
		log_warnx("message=%s event=deadlines_cut reason=\"more than "
		    "%d deadline rules apply; the first are set\"", message_id,
		    DEADLINES_MAX_SET);
	for (i = 0; i < n; i++) {
		if ((c = change_get(out)) == NULL)
			return -1;
		memset(&row, 0, sizeof(row));
		row.message_id = message_id;
		row.subject = env->header->subject->local_id;
		row.kind = env->header->kind;
		row.rule = set[i].rule;
		row.policy_version = policy_version(d->srv->policy);
		row.start_ms = set[i].start_ms;
		row.due_ms = set[i].due_ms;
		row.every_ms = set[i].every_ms;
		row.by_ack = set[i].by_ack;
		row.closing_kinds = set[i].closing_kinds;
		row.note = set[i].note;
		row.instance = d->srv->cfg->instance;
		/* The other instances run its timer too (cluster.h). */
		if (store_batch_add_deadline(batch, &row) == -1 ||
		    (d->srv->peers > 0 && store_batch_add_change(batch,
		    "deadline", row.message_id) == -1))
			return -1;
		when(set[i].due_ms, due, sizeof(due));
		snprintf(reason, sizeof(reason), "due %s%s%s", due,
		    set[i].note[0] != '\0' ? "; " : "", set[i].note);
		if ((ev = trail_event(o, AUDIT_DEADLINE_SET, sender)) == NULL)
			return -1;
		ev->kind = row.kind;
		if (audit_event_set(ev, AUDIT_F_MESSAGE_ID, message_id) ==
		    -1 || audit_event_set(ev, AUDIT_F_SUBJECT, row.subject) ==
		    -1 || audit_event_set(ev, AUDIT_F_RULE, row.rule) == -1 ||
		    audit_event_set(ev, AUDIT_F_POLICY_VERSION,
		    row.policy_version) == -1 || audit_event_set(ev,
		    AUDIT_F_REASON, reason) == -1 ||
		    store_batch_add_event(batch, ev) == -1) {
			audit_event_free(ev);
			return -1;
		}
		if ((nv = reallocarray(c->add, c->nadd + 1,
		    sizeof(*nv))) == NULL)
			return -1;
		c->add = nv;
		it = &c->add[c->nadd];
		memset(it, 0, sizeof(*it));
		snprintf(it->mid, sizeof(it->mid), "%s", message_id);
		it->kind = row.kind;
		it->priority = env->header->priority;
		it->start_ms = row.start_ms;
		it->due_ms = it->next_ms = row.due_ms;
		it->every_ms = row.every_ms;
		it->by_ack = row.by_ack;
		it->closing_kinds = row.closing_kinds;
		c->nadd++;
		if ((it->subject = strdup(row.subject)) == NULL ||
		    (it->rule = strdup(row.rule)) == NULL ||
		    (it->sender = strdup(sender)) == NULL)
			return -1;
	}
	/* The deadlines of the message it references that it meets. */
	if (ref == NULL || ref[0] == '\0')
		return 0;
	for (i = 0; i < d->n; i++) {
		it = &d->v[i];
		if (strcmp(it->mid, ref) != 0 ||
		    strcmp(it->subject, env->header->subject->local_id) != 0 ||
		    !policy_deadline_closed_by_message(d->srv->policy,
		    it->rule, env->header->kind))
			continue;
		snprintf(how, sizeof(how), "met by %s %s from %s",
		    envelope_kind_name(env->header->kind), message_id, sender);
		if (meet(d, it, sender, how, message_id, o, batch, out) == -1)
			return -1;
	}
	return 0;
}

int
deadlines_ack(struct deadlines *d, const char *message_id,
    const struct principal *who, const struct trail_origin *o,
    struct store_batch *batch, struct deadlines_change **out)
{
	struct item	*it;
	char		 how[160];
	size_t		 i;

	*out = NULL;
	if (d == NULL)
		return 0;
	for (i = 0; i < d->n; i++) {
		it = &d->v[i];
		if (strcmp(it->mid, message_id) != 0 || !it->by_ack ||
		    !policy_deadline_closed_by_ack(d->srv->policy, it->rule,
		    who->role))
			continue;
		snprintf(how, sizeof(how), "met by the acknowledgement of %s "
		    "(%s)", who->id, who->role);
		if (meet(d, it, who->id, how, NULL, o, batch, out) == -1)
			return -1;
	}
	return 0;
}

void
deadlines_commit(struct deadlines *d, struct deadlines_change *c,
    int committed)
{
	size_t i;

	if (c == NULL)
		return;
	if (committed && d != NULL) {
		for (i = 0; i < c->nadd; i++)
			if (items_add(d, &c->add[i]) == -1)
				log_warnx("message=%s event=deadline_not_kept "
				    "rule=%s reason=\"out of memory; it is "
				    "acted on after the next reload\"",
				    c->add[i].mid, c->add[i].rule);
		for (i = 0; i < c->nmet; i++) {
			log_info("message=%s event=deadline_met rule=%s",
			    c->met[i].mid, c->met[i].rule);
			items_remove(d, c->met[i].mid, c->met[i].rule);
		}
		arm(d);
	}
	change_free(c);
}

/* ------------------------------------------------------------------------
 * Escalation
 */

static void
escalation_free(struct escalation *e)
{
	if (e == NULL)
		return;
	free(e->rule);
	free(e->subject);
	free(e);
}

/* The rows that go with the Escalation: the deadline advanced, audited. */
static int
escalation_rows(struct store_batch *batch, const char *esc_mid, void *arg)
{
	struct escalation	*e = arg;
	struct trail_origin	 o = { NULL, NULL };
	struct audit_event	*ev;
	char			 due[48], reason[320];

	if (store_batch_deadline_escalated(batch, e->mid, e->rule, e->count,
	    e->next_ms) == -1)
		return -1;
	when(e->due_ms, due, sizeof(due));
	if (e->first) {
		snprintf(reason, sizeof(reason), "due %s and not met", due);
		if ((ev = trail_event(&o, AUDIT_DEADLINE_BREACHED, "nwd")) ==
		    NULL)
			return -1;
		if (audit_event_set(ev, AUDIT_F_MESSAGE_ID, e->mid) == -1 ||
		    audit_event_set(ev, AUDIT_F_SUBJECT, e->subject) == -1 ||
		    audit_event_set(ev, AUDIT_F_RULE, e->rule) == -1 ||
		    audit_event_set(ev, AUDIT_F_REASON, reason) == -1 ||
		    store_batch_add_event(batch, ev) == -1) {
			audit_event_free(ev);
			return -1;
		}
	}
	snprintf(reason, sizeof(reason), "escalation %d, message %s; due %s",
	    e->count, esc_mid, due);
	if ((ev = trail_event(&o, AUDIT_ESCALATED, "nwd")) == NULL)
		return -1;
	if (audit_event_set(ev, AUDIT_F_MESSAGE_ID, e->mid) == -1 ||
	    audit_event_set(ev, AUDIT_F_SUBJECT, e->subject) == -1 ||
	    audit_event_set(ev, AUDIT_F_RULE, e->rule) == -1 ||
	    audit_event_set(ev, AUDIT_F_REASON, reason) == -1 ||
	    store_batch_add_event(batch, ev) == -1) {
		audit_event_free(ev);
		return -1;
	}
	return 0;
}

static void
escalation_done(int committed, void *arg)
{
	struct escalation	*e = arg;
	struct deadlines	*d = e->d;
	struct item		*it;

	it = e->generation == d->generation ? find(d, e->mid, e->rule) : NULL;
	if (committed) {
		log_info("message=%s event=escalated rule=%s count=%d",
		    e->mid, e->rule, e->count);
		if (e->first)
			metrics_deadline_breached(e->rule);
		if (it != NULL) {
			it->busy = 0;
			it->escalations = e->count;
			it->next_ms = e->next_ms;
		}
	} else {
		log_warnx("message=%s event=escalation_not_sent rule=%s "
		    "count=%d reason=\"its transaction did not commit (the "
		    "deadline was met or escalated meanwhile, or the store "
		    "is away); looked at again\"", e->mid, e->rule, e->count);
		if (it != NULL) {
			it->busy = 0;
			it->next_ms = clock_wall_ms() + DEADLINES_RETRY_MS;
		}
		/* The rows are the truth: read them again. */
		if (store_get_state(d->srv->store) == STORE_READY)
			deadlines_load(d);
	}
	escalation_free(e);
	arm(d);
}

/* Adds names (at most DEADLINES_MAX_NAMES) to a repeated string field. */
static int
names_add(char ***v, size_t *n, const char *name)
{
	char	**nv;
	size_t	  i;

	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i], name) == 0)
			return 0;
	if (*n == DEADLINES_MAX_NAMES)
		return 0;
	if ((nv = reallocarray(*v, *n + 1, sizeof(*nv))) == NULL)
		return -1;
	*v = nv;
	if ((nv[*n] = strdup(name)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

/* The deadlines due in one round, whose reach is read in one query. */
#define DEADLINES_ROUND		256

struct reach_ctx {
	struct deadlines	*d;
	uint64_t		 generation;
	size_t			 n;
	char			 mid[DEADLINES_ROUND][UUID_STR_LEN];
	char			*rule[DEADLINES_ROUND];		/* owned */
	char			**reached[DEADLINES_ROUND];	/* owned */
	size_t			 nreached[DEADLINES_ROUND];
	char			**acked[DEADLINES_ROUND];	/* owned */
	size_t			 nacked[DEADLINES_ROUND];
};

static void
names_free(char **v, size_t n)
{
	while (n > 0)
		free(v[--n]);
	free(v);
}

static void
reach_ctx_free(struct reach_ctx *rc)
{
	size_t i;

	if (rc == NULL)
		return;
	for (i = 0; i < rc->n; i++) {
		free(rc->rule[i]);
		names_free(rc->reached[i], rc->nreached[i]);
		names_free(rc->acked[i], rc->nacked[i]);
	}
	free(rc);
}

/* Builds and sends the Escalation of it, which reached and acked name. */
static void
send_escalation(struct deadlines *d, struct item *it, char **reached,
    size_t nreached, char **acked, size_t nacked)
{
	struct escalation	*e = NULL;
	Nwd__V1__Envelope	 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header		 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef	 subj = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__Escalation	 esc = NWD__V1__ESCALATION__INIT;
	char			 due[48], summary[640];
	int64_t			 now = clock_wall_ms();

	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->rule = strdup(it->rule)) == NULL ||
	    (e->subject = strdup(it->subject)) == NULL) {
		log_warnx("message=%s event=escalation_not_sent reason=\"out "
		    "of memory\"", it->mid);
		it->busy = 0;
		it->next_ms = now + DEADLINES_RETRY_MS;
		escalation_free(e);
		return;
	}
	e->d = d;
	e->generation = d->generation;
	memcpy(e->mid, it->mid, sizeof(e->mid));
	e->count = it->escalations + 1;
	e->first = it->escalations == 0;
	e->due_ms = it->due_ms;
	e->next_ms = it->every_ms > 0 ? now + it->every_ms : DEADLINES_NEVER;

	when(it->due_ms, due, sizeof(due));
	snprintf(summary, sizeof(summary), "%s %s about %s: %s due %s is not "
	    "met%s; reached %zu, acknowledged by %zu%s", it->rule,
	    e->first ? "breached" : "still breached",
	    it->subject, it->by_ack ? "an acknowledgement" :
	    "what closes it", due, e->first ? "" : " (again)", nreached,
	    nacked, nacked == 0 ? " (nobody)" : "");
	subj.local_id = it->subject;
	h.kind = NWD__V1__KIND__ESCALATION;
	h.subject = &subj;
	h.marking = NWD__V1__MARKING__OFFICIAL;
	h.priority = it->priority == NWD__V1__PRIORITY__URGENT ?
	    NWD__V1__PRIORITY__URGENT : NWD__V1__PRIORITY__HIGH;
	h.legal_basis = NWD__V1__LEGAL_BASIS__SAFEGUARDING;
	h.references = it->mid;
	esc.about_message_id = it->mid;
	esc.about_kind = it->kind;
	esc.rule = it->rule;
	esc.reason = it->by_ack ?
	    NWD__V1__ESCALATION__REASON__NOT_ACKNOWLEDGED :
	    NWD__V1__ESCALATION__REASON__DEADLINE_BREACHED;
	esc.due_unix_ms = it->due_ms;
	esc.since_unix_ms = it->start_ms;
	esc.reached = reached;
	esc.n_reached = nreached;
	esc.acknowledged = acked;
	esc.n_acknowledged = nacked;
	esc.count = (uint32_t)e->count;
	esc.summary = summary;
	env.header = &h;
	env.body_case = NWD__V1__ENVELOPE__BODY_ESCALATION;
	env.escalation = &esc;
	if (d->send == NULL || d->send(&env, escalation_rows, escalation_done,
	    e, d->send_arg) == -1) {
		log_warnx("message=%s event=escalation_not_sent rule=%s "
		    "reason=\"it could not be published now\"", it->mid,
		    it->rule);
		it->busy = 0;
		it->next_ms = now + DEADLINES_RETRY_MS;
		escalation_free(e);
	}
}

/*
 * Who each message of the round reached and who acknowledged it (one
 * query for the round): now build and send their Escalations.
 */
static void
reach_read(int ok, const struct store_result *r, void *arg)
{
	struct reach_ctx	*rc = arg;
	struct deadlines	*d = rc->d;
	struct item		*it;
	const char		*mid, *action, *who;
	size_t			 i, k, n;
	int			 ack;

	n = ok ? store_result_nrows(r) : 0;
	for (i = 0; i < n; i++) {
		mid = store_result_value(r, i, 0);
		action = store_result_value(r, i, 1);
		who = store_result_value(r, i, 2);
		if (who == NULL || who[0] == '\0')
			continue;
		ack = strcmp(action, "ack") == 0;
		/* Every deadline of the round about this message. */
		for (k = 0; k < rc->n; k++) {
			if (strcmp(rc->mid[k], mid) != 0)
				continue;
			if (names_add(ack ? &rc->acked[k] : &rc->reached[k],
			    ack ? &rc->nacked[k] : &rc->nreached[k],
			    who) == -1)
				ok = 0;
		}
	}
	for (k = 0; k < rc->n; k++) {
		it = rc->generation == d->generation ? find(d, rc->mid[k],
		    rc->rule[k]) : NULL;
		if (it == NULL)
			continue;	/* met, or read again, meanwhile */
		if (!ok) {
			it->busy = 0;
			it->next_ms = clock_wall_ms() + DEADLINES_RETRY_MS;
			continue;
		}
		send_escalation(d, it, rc->reached[k], rc->nreached[k],
		    rc->acked[k], rc->nacked[k]);
	}
	reach_ctx_free(rc);
	arm(d);
}

/* Reads who the round's messages reached, then escalates them. */
static void
escalate_round(struct deadlines *d, struct item **its, size_t n)
{
	struct reach_ctx	*rc;
	const char		*ids[DEADLINES_ROUND] = { NULL };
	size_t			 i;

	if ((rc = calloc(1, sizeof(*rc))) == NULL)
		goto retry;
	rc->d = d;
	rc->generation = d->generation;
	for (i = 0; i < n; i++) {
		memcpy(rc->mid[i], its[i]->mid, sizeof(rc->mid[i]));
		if ((rc->rule[i] = strdup(its[i]->rule)) == NULL)
			goto retry;
		rc->n++;
		ids[i] = rc->mid[i];
	}
	for (i = 0; i < n; i++)
		its[i]->busy = 1;
	if (store_query_reach_many(d->srv->store, ids, n, reach_read,
	    rc) == -1) {
		for (i = 0; i < n; i++)
			its[i]->busy = 0;
		goto retry;
	}
	return;
 retry:
	reach_ctx_free(rc);
	for (i = 0; i < n; i++)
		its[i]->next_ms = clock_wall_ms() + DEADLINES_RETRY_MS;
}

/* Acts on everything due, then waits for the next. */
static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct deadlines	*d = arg;
	struct item		*its[DEADLINES_ROUND];
	int64_t			 now = clock_wall_ms();
	size_t			 i, n = 0;

	(void)fd;
	(void)what;
	if (!d->loaded || store_get_state(d->srv->store) != STORE_READY)
		return;
	/* In rounds: who each due message reached is read in one query
	 * a round, not one a message, so that publishes are not queued
	 * behind a thousand reads when many fall due at once. */
	for (i = 0; i < d->n; i++) {
		if (d->v[i].busy || d->v[i].next_ms > now)
			continue;
		its[n++] = &d->v[i];
		if (n == DEADLINES_ROUND) {
			escalate_round(d, its, n);
			n = 0;
		}
	}
	if (n > 0)
		escalate_round(d, its, n);
	arm(d);
}

static void
arm(struct deadlines *d)
{
	struct timeval	tv;
	int64_t		next = DEADLINES_NEVER, wait;
	size_t		i;

	evtimer_del(d->timer);
	if (!d->loaded)
		return;
	for (i = 0; i < d->n; i++)
		if (!d->v[i].busy && d->v[i].next_ms < next)
			next = d->v[i].next_ms;
	if (next == DEADLINES_NEVER)
		return;
	wait = next - clock_wall_ms();
	if (wait < 0)
		wait = 0;
	/* The wall clock may be set: look again at least hourly. */
	if (wait > DEADLINES_MAX_WAIT_MS)
		wait = DEADLINES_MAX_WAIT_MS;
	tv.tv_sec = (time_t)(wait / 1000);
	tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
	evtimer_add(d->timer, &tv);
}

void
deadlines_clock_moved(struct deadlines *d)
{
	if (d == NULL)
		return;
	log_info("event=clock_moved now=%" PRId64, clock_wall_ms());
	on_timer(-1, 0, d);
}
