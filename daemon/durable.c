#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "broker.h"
#include "config.h"
#include "durable.h"
#include "envelope.h"
#include "frame.h"
#include "identity.h"
#include "log.h"
#include "policy.h"
#include "seal.h"
#include "server.h"
#include "session.h"
#include "store.h"

struct entry {
	struct entry	*next;		/* owned */
	char		*principal;	/* owned */
	char		*name;		/* owned */
	uint32_t	 kinds;
	char		**subjects;	/* owned */
	size_t		 nsubjects;
};

#define NBUCKETS	1024

struct durable_registry {
	struct entry	*buckets[NBUCKETS];	/* owned chains */
};

static unsigned
bucket(const char *principal)
{
	unsigned h = 2166136261u;

	for (; *principal != '\0'; principal++)
		h = (h ^ (unsigned char)*principal) * 16777619u;
	return h % NBUCKETS;
}

static void
entry_free(struct entry *e)
{
	size_t i;

	for (i = 0; i < e->nsubjects; i++)
		free(e->subjects[i]);
	free(e->subjects);
	free(e->principal);
	free(e->name);
	free(e);
}

struct durable_registry *
durable_registry_new(void)
{
	return calloc(1, sizeof(struct durable_registry));
}

void
durable_registry_free(struct durable_registry *r)
{
	struct entry	*e;
	size_t		 i;

	if (r == NULL)
		return;
	for (i = 0; i < NBUCKETS; i++) {
		while ((e = r->buckets[i]) != NULL) {
			r->buckets[i] = e->next;
			entry_free(e);
		}
	}
	free(r);
}

int
durable_registry_put(struct durable_registry *r,
    const struct store_subscription *sub)
{
	struct entry	*e, **pp;
	size_t		 i;

	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->principal = strdup(sub->principal)) == NULL ||
	    (e->name = strdup(sub->name)) == NULL ||
	    (sub->nsubjects > 0 && (e->subjects = calloc(sub->nsubjects,
	    sizeof(char *))) == NULL))
		goto bad;
	e->kinds = sub->kinds;
	for (i = 0; i < sub->nsubjects; i++) {
		if ((e->subjects[i] = strdup(sub->subjects[i])) == NULL)
			goto bad;
		e->nsubjects++;
	}
	for (pp = &r->buckets[bucket(e->principal)]; *pp != NULL;
	    pp = &(*pp)->next) {
		if (strcmp((*pp)->principal, e->principal) == 0 &&
		    strcmp((*pp)->name, e->name) == 0) {
			e->next = (*pp)->next;
			entry_free(*pp);
			*pp = e;
			return 0;
		}
	}
	*pp = e;
	return 0;
bad:
	if (e != NULL)
		entry_free(e);
	return -1;
}

size_t
durable_registry_match(const struct durable_registry *r,
    const char *principal, int kind, const char *subject, const char **names,
    size_t max)
{
	const struct entry	*e;
	size_t			 i, n = 0;
	int			 want;

	if (r == NULL)
		return 0;
	for (e = r->buckets[bucket(principal)]; e != NULL && n < max;
	    e = e->next) {
		if (strcmp(e->principal, principal) != 0 ||
		    !(e->kinds & (1u << kind)))
			continue;
		want = e->nsubjects == 0;
		for (i = 0; i < e->nsubjects && !want; i++)
			want = strcmp(e->subjects[i], subject) == 0;
		if (want)
			names[n++] = e->name;
	}
	return n;
}

int
durable_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > DURABLE_MAX_NAME)
		return 0;
	for (; *name != '\0'; name++)
		if (!isalnum((unsigned char)*name) && *name != '-' &&
		    *name != '_' && *name != '.')
			return 0;
	return 1;
}

/* ------------------------------------------------------------------------
 * Replay
 */

struct item {
	char		 mid[37];
	uint8_t		*bytes;		/* owned; redacted envelope */
	size_t		 len;
	char		*withheld;	/* owned */
	char		*rule;		/* owned */
};

struct replay {
	struct server	*srv;		/* borrowed */
	uint64_t	 session_id;
	uint64_t	 sub_id;
	char		 name[DURABLE_MAX_NAME + 1];
	char		 version[POLICY_VERSION_LEN];
	struct item	*items;		/* owned; the messages to send */
	size_t		 nitems;
	size_t		 refused;
};

static void
replay_free(struct replay *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nitems; i++) {
		free(r->items[i].bytes);
		free(r->items[i].withheld);
		free(r->items[i].rule);
	}
	free(r->items);
	free(r);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The replayed decisions have committed: send what was allowed, in order. */
static void
replay_committed(enum store_outcome outcome, void *arg)
{
	struct replay	*r = arg;
	struct session	*s = session_find(r->srv, r->session_id);
	size_t		 i;

	if (outcome != STORE_COMMITTED) {
		/* Nothing is sent; the deliveries stay pending. */
		if (s != NULL)
			session_send_error(s, 0,
			    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "replay of "
			    "durable subscription %s stopped: the audit store "
			    "did not commit; reconnect to try again", r->name);
		replay_free(r);
		return;
	}
	for (i = 0; s != NULL && i < r->nitems; i++) {
		if (broker_send_deliver(s, r->sub_id, r->items[i].mid,
		    r->items[i].bytes, r->items[i].len, r->items[i].withheld,
		    r->items[i].rule, r->version, r->name) == -1)
			break;	/* the rest stays pending */
		/* A send can close a slow consumer: look again. */
		s = session_find(r->srv, r->session_id);
	}
	log_info("session=%s principal=%s event=replay durable=%s sent=%zu "
	    "refused=%zu", s != NULL ? s->name : "-", session_who(s),
	    r->name, i, r->refused);
	replay_free(r);
}

/* Decides one pending message again; adds its rows to the batch. */
static int
replay_one(struct replay *r, struct session *s, const struct principal *p,
    const struct store_result *res, size_t row, struct store_batch *batch)
{
	struct server		*srv = r->srv;
	const char		*mid = store_result_value(res, row, 0);
	const char		*body = store_result_value(res, row, 9);
	const char		*key_id = store_result_value(res, row, 10);
	Nwd__V1__Envelope	*env = NULL;
	struct policy_decision	 d;
	struct policy_context	 ctx;
	struct audit_event	*ev;
	struct item		*it;
	uint8_t			*plain = NULL;
	size_t			 plen = 0;
	char			 err[160], withheld[REDACT_MAX_PATHS * 130];
	int			 rc = -1;

	memset(&d, 0, sizeof(d));
	d.verdict = POLICY_DENY;
	if (body == NULL || key_id == NULL)
		snprintf(d.reason, sizeof(d.reason), "at replay: the body was "
		    "purged under retention");
	else if ((plain = open_body(srv->sealer, key_id, mid,
	    (const uint8_t *)body, store_result_length(res, row, 9), &plen,
	    err, sizeof(err))) == NULL)
		snprintf(d.reason, sizeof(d.reason), "at replay: the sealed "
		    "body cannot be opened: %s", err);
	else if ((env = frame_decode_envelope(plain, plen, SIZE_MAX, err,
	    sizeof(err))) == NULL || envelope_validate(env, err,
	    sizeof(err)) == -1)
		snprintf(d.reason, sizeof(d.reason), "at replay: the stored "
		    "message does not decode: %s", err);
	else if (p == NULL)
		snprintf(d.reason, sizeof(d.reason), "at replay: %s is no "
		    "longer in the principal mapping", s->principal->id);
	else {
		memset(&ctx, 0, sizeof(ctx));
		ctx.allocs = srv->allocs;
		ctx.now_ms = now_ms();
		policy_check_deliver(srv->policy, p, env, &ctx, &d);
	}
	if (plain != NULL) {
		explicit_bzero(plain, plen);
		free(plain);
	}
	if (d.verdict == POLICY_ALLOW) {
		it = &r->items[r->nitems];
		snprintf(it->mid, sizeof(it->mid), "%s", mid);
		if ((it->bytes = redact_pack(env, d.strip, d.nstrip, &it->len,
		    withheld, sizeof(withheld))) == NULL ||
		    (it->withheld = strdup(withheld)) == NULL ||
		    (it->rule = strdup(d.rules)) == NULL) {
			free(it->bytes);
			free(it->withheld);
			goto done;
		}
		r->nitems++;
		snprintf(d.reason, sizeof(d.reason), "replay of durable "
		    "subscription %s", r->name);
		ev = broker_decision_event(s, env->header->sender,
		    AUDIT_DELIVER, mid, env, s->principal->id, &d, withheld,
		    r->version);
	} else {
		if (d.verdict == POLICY_DENY_NO_RULE)
			snprintf(d.reason + strlen(d.reason),
			    sizeof(d.reason) - strlen(d.reason), " (at "
			    "replay)");
		r->refused++;
		ev = env != NULL ? broker_decision_event(s,
		    env->header->sender, AUDIT_DELIVER_REFUSED, mid, env,
		    s->principal->id, &d, NULL, r->version) : NULL;
		if (ev == NULL && env == NULL &&
		    (ev = audit_event_new(AUDIT_DELIVER_REFUSED,
		    srv->cfg->instance)) != NULL) {
			audit_event_set(ev, AUDIT_F_MESSAGE_ID, mid);
			audit_event_set(ev, AUDIT_F_SUBJECT,
			    store_result_value(res, row, 2));
			audit_event_set(ev, AUDIT_F_RECIPIENT,
			    s->principal->id);
			audit_event_set(ev, AUDIT_F_POLICY_VERSION, r->version);
			audit_event_set(ev, AUDIT_F_REASON, d.reason);
		}
		if (store_batch_set_delivery_state(batch, mid,
		    s->principal->id, r->name, STORE_DELIVERY_REFUSED) == -1) {
			audit_event_free(ev);
			goto done;
		}
	}
	if (ev == NULL || store_batch_add_event(batch, ev) == -1)
		goto done;
	rc = 0;
done:
	frame_free_envelope(env);
	return rc;
}

static void
replay_rows(int ok, const struct store_result *res, void *arg)
{
	struct replay		*r = arg;
	struct server		*srv = r->srv;
	struct session		*s = session_find(srv, r->session_id);
	const struct principal	*p;
	struct store_batch	*batch = NULL;
	size_t			 i, n;

	if (!ok || s == NULL) {
		if (!ok && s != NULL)
			session_send_error(s, 0,
			    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "replay of "
			    "durable subscription %s failed: the audit store "
			    "is unavailable; reconnect to try again", r->name);
		replay_free(r);
		return;
	}
	n = store_result_nrows(res);
	if (n == 0) {
		replay_free(r);
		return;
	}
	/* Decisions use the mapping and policy in force now. */
	p = identity_find_id(srv->ids, s->principal->id);
	snprintf(r->version, sizeof(r->version), "%s",
	    policy_version(srv->policy));
	if ((r->items = calloc(n, sizeof(*r->items))) == NULL ||
	    (batch = store_batch_new()) == NULL)
		goto oom;
	for (i = 0; i < n; i++)
		if (replay_one(r, s, p, res, i, batch) == -1)
			goto oom;
	if (store_submit(srv->store, batch, replay_committed, r) == -1) {
		store_batch_free(batch);
		session_send_error(s, 0, NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE,
		    "replay of durable subscription %s failed: the audit store "
		    "is unavailable; reconnect to try again", r->name);
		replay_free(r);
	}
	return;
oom:
	store_batch_free(batch);
	log_warnx("session=%s principal=%s event=replay_failed durable=%s "
	    "reason=\"out of memory\"", s->name, session_who(s), r->name);
	replay_free(r);
}

void
durable_replay(struct server *srv, struct session *s, uint64_t sub_id,
    const char *name)
{
	struct replay *r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warnx("session=%s principal=%s event=replay_failed "
		    "durable=%s reason=\"out of memory\"", s->name,
		    session_who(s), name);
		return;
	}
	r->srv = srv;
	r->session_id = s->id;
	r->sub_id = sub_id;
	snprintf(r->name, sizeof(r->name), "%s", name);
	if (store_query_pending(srv->store, s->principal->id, name,
	    DURABLE_REPLAY_MAX, replay_rows, r) == -1) {
		session_send_error(s, 0, NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE,
		    "replay of durable subscription %s failed: the audit store "
		    "is unavailable; reconnect to try again", name);
		replay_free(r);
	}
}
