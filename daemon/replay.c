#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "clock.h"
#include "config.h"
#include "decide.h"
#include "deliver.h"
#include "durable.h"
#include "envelope.h"
#include "frame.h"
#include "identity.h"
#include "log.h"
#include "policy.h"
#include "replay.h"
#include "seal.h"
#include "server.h"
#include "session.h"
#include "store.h"
#include "trail.h"

/* One message to send, decided and audited. */
struct item {
	char		 mid[37];
	struct decide_entry d;		/* owned; the decision, its bytes */
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
	for (i = 0; i < r->nitems; i++)
		decide_entry_clear(&r->items[i].d);
	free(r->items);
	free(r);
}

/* The replayed decisions have committed: send what was allowed, in order. */
static void
replay_committed(enum store_outcome outcome, void *arg)
{
	struct replay		*r = arg;
	struct session		*s = session_find(r->srv, r->session_id);
	struct deliver_msg	 m;
	size_t			 i;

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
	memset(&m, 0, sizeof(m));
	m.policy_version = r->version;
	for (i = 0; s != NULL && i < r->nitems; i++) {
		m.message_id = r->items[i].mid;
		m.bytes = r->items[i].d.bytes;
		m.len = r->items[i].d.len;
		m.withheld = r->items[i].d.withheld;
		m.rule = r->items[i].d.rules;
		if (deliver_send(s, r->sub_id, &m, r->name) == -1)
			break;	/* the rest stays pending */
		/* A send can close a slow consumer: look again. */
		s = session_find(r->srv, r->session_id);
	}
	session_log(info, s, "event=replay durable=%s sent=%zu refused=%zu",
	    r->name, i, r->refused);
	replay_free(r);
}

/*
 * Opens and decodes a stored message.  Returns it (the caller frees it
 * with frame_free_envelope()), or NULL with the reason the delivery is
 * refused at replay in why.
 */
static Nwd__V1__Envelope *
open_stored(struct server *srv, const struct store_result *res, size_t row,
    char *why, size_t whylen)
{
	const char		*mid = store_result_value(res, row, 0);
	const char		*body = store_result_value(res, row, 9);
	const char		*key_id = store_result_value(res, row, 10);
	Nwd__V1__Envelope	*env = NULL;
	uint8_t			*plain;
	size_t			 plen = 0;
	char			 err[160];

	if (body == NULL || key_id == NULL) {
		snprintf(why, whylen, "at replay: the body was purged under "
		    "retention");
		return NULL;
	}
	if ((plain = open_body(srv->sealer, key_id, mid, (const uint8_t *)body,
	    store_result_length(res, row, 9), &plen, err,
	    sizeof(err))) == NULL) {
		snprintf(why, whylen, "at replay: the sealed body cannot be "
		    "opened: %s", err);
		return NULL;
	}
	if ((env = frame_decode_envelope(plain, plen, SIZE_MAX, err,
	    sizeof(err))) == NULL || envelope_validate(env, err,
	    sizeof(err)) == -1) {
		snprintf(why, whylen, "at replay: the stored message does not "
		    "decode: %s", err);
		frame_free_envelope(env);
		env = NULL;
	}
	explicit_bzero(plain, plen);
	free(plain);
	return env;
}

/* Decides one pending message again; adds its rows to the batch. */
static int
replay_one(struct replay *r, struct session *s, const struct principal *p,
    const struct decide_world *w, const struct store_result *res, size_t row,
    struct store_batch *batch)
{
	struct trail_origin	 o = session_origin(s);
	const char		*mid = store_result_value(res, row, 0);
	Nwd__V1__Envelope	*env;
	struct audit_event	*ev;
	struct decide_entry	 d;
	char			 why[256];
	int			 rc = -1;

	memset(&d, 0, sizeof(d));
	if ((env = open_stored(r->srv, res, row, why, sizeof(why))) == NULL) {
		d.verdict = POLICY_DENY;
		snprintf(d.reason, sizeof(d.reason), "%s", why);
	} else if (decide_recipient(w, p, s->principal->id, env, DECIDE_PACK,
	    &d) == -1)
		goto done;
	else if (p == NULL) {
		snprintf(why, sizeof(why), "at replay: %.240s", d.reason);
		snprintf(d.reason, sizeof(d.reason), "%s", why);
	}
	if (d.verdict == POLICY_ALLOW) {
		snprintf(d.reason, sizeof(d.reason), "replay of durable "
		    "subscription %s", r->name);
		ev = trail_decision(&o, env->header->sender, AUDIT_DELIVER, mid,
		    env, s->principal->id, d.rules, d.reason, d.shared,
		    d.withheld, r->version);
		snprintf(r->items[r->nitems].mid, sizeof(r->items[0].mid), "%s",
		    mid);
		r->items[r->nitems++].d = d;
		memset(&d, 0, sizeof(d));
	} else {
		if (d.verdict == POLICY_DENY_NO_RULE)
			snprintf(d.reason + strlen(d.reason),
			    sizeof(d.reason) - strlen(d.reason), " (at "
			    "replay)");
		r->refused++;
		if (env != NULL)
			ev = trail_decision(&o, env->header->sender,
			    AUDIT_DELIVER_REFUSED, mid, env, s->principal->id,
			    d.rules, d.reason, NULL, NULL, r->version);
		else if ((ev = audit_event_new(AUDIT_DELIVER_REFUSED,
		    r->srv->cfg->instance)) != NULL) {
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
	decide_entry_clear(&d);
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
	struct decide_world	 w;
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
	memset(&w, 0, sizeof(w));
	w.policy = srv->policy;
	w.ids = srv->ids;
	w.allocs = srv->allocs;
	w.now_ms = clock_wall_ms();
	snprintf(r->version, sizeof(r->version), "%s",
	    policy_version(srv->policy));
	if ((r->items = calloc(n, sizeof(*r->items))) == NULL ||
	    (batch = store_batch_new()) == NULL)
		goto oom;
	for (i = 0; i < n; i++)
		if (replay_one(r, s, p, &w, res, i, batch) == -1)
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
	session_log(warnx, s, "event=replay_failed durable=%s reason=\"out of "
	    "memory\"", r->name);
	replay_free(r);
}

void
replay_start(struct server *srv, struct session *s, uint64_t sub_id,
    const char *name)
{
	struct replay *r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		session_log(warnx, s, "event=replay_failed durable=%s "
		    "reason=\"out of memory\"", name);
		return;
	}
	r->srv = srv;
	r->session_id = s->id;
	r->sub_id = sub_id;
	snprintf(r->name, sizeof(r->name), "%s", name);
	if (store_query_pending(srv->store, s->principal->id, name, REPLAY_MAX,
	    replay_rows, r) == -1) {
		session_send_error(s, 0, NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE,
		    "replay of durable subscription %s failed: the audit store "
		    "is unavailable; reconnect to try again", name);
		replay_free(r);
	}
}
