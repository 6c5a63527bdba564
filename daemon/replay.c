/*
 * replay: see replay.h.  The replay of a session's durable subscriptions,
 * one at a time, in pages:
 *
 *   QUERY    a page of pending deliveries after the last one taken, at
 *            most REPLAY_PAGE_ROWS rows and about a page's share of the
 *            byte budget of their sealed bodies
 *   COMMIT   each message decided again (decide_recipient) and its row
 *            written; nothing is sent before those rows have committed
 *   SEND     the allowed ones sent in order, while the session's output
 *            has room (session_has_room); otherwise the replay waits for
 *            the output to drain (the session's paced writer), so a
 *            subscriber is never cut off by its own replay
 *
 * then the next page.  A short page ends the subscription's replay unless
 * a message was held back from it meanwhile (subs_take_held: a publish
 * that committed after the page's query); then the replay queries again.
 * From then on the subscription receives live.
 *
 * Memory: every replay takes its pages' bytes from one budget shared by
 * all sessions (REPLAY_BUDGET); a replay that finds none waits its turn.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "breakglass.h"
#include "clock.h"
#include "config.h"
#include "consents.h"
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
#include "subs.h"
#include "trail.h"

/* One message to send, decided and audited. */
struct item {
	char			 mid[37];
	struct decide_entry	 d;		/* owned; the decision, bytes */
};

/* A durable subscription of the session waiting for its replay. */
struct name {
	TAILQ_ENTRY(name)	 entry;
	uint64_t		 sub_id;
	char			 name[DURABLE_MAX_NAME + 1];
};

enum replay_phase {
	REPLAY_IDLE,		/* nothing to do */
	REPLAY_BUDGET_WAIT,	/* waiting for bytes of the budget */
	REPLAY_QUERY,		/* a page's query is out */
	REPLAY_COMMIT,		/* the page's rows are being written */
	REPLAY_SEND,		/* sending what the page allowed */
};

/* The replay of one session's durable subscriptions. */
struct replay {
	TAILQ_ENTRY(replay)	 wait;		/* in the budget's queue */
	struct server		*srv;		/* borrowed */
	uint64_t		 session_id;
	int			 gone;		/* the session went away */
	enum replay_phase	 phase;
	TAILQ_HEAD(, name)	 names;		/* owned; the head replays */
	char			 version[POLICY_VERSION_LEN];
	int64_t			 after_id;	/* last delivery taken */
	size_t			 budget;	/* bytes taken from the budget */
	struct item		*items;		/* owned; a page's messages */
	size_t			 nitems;
	size_t			 next;		/* the next item to send */
	int			 more;		/* more rows may follow */
	int			 busy;		/* inside replay_send() */
	int			 committed;	/* the page's rows committed:
						   what is not sent was said
						   to be replayed */
	char			 principal[256]; /* whose queue */
	size_t			 sent;		/* for the log */
	size_t			 refused;
	int64_t			 started_ms;
};

/* The bytes of sealed bodies all replays may hold at once. */
static size_t			 budget_free = 16 * 1024 * 1024;
static TAILQ_HEAD(, replay)	 budget_queue =
    TAILQ_HEAD_INITIALIZER(budget_queue);

static void	replay_next(struct replay *);
static void	unsent_rows(struct replay *);
static void	replay_send(struct replay *);
static void	writable(struct session *, void *, int);

static void
items_clear(struct replay *r)
{
	size_t i;

	unsent_rows(r);
	for (i = 0; i < r->nitems; i++)
		decide_entry_clear(&r->items[i].d);
	free(r->items);
	r->items = NULL;
	r->nitems = r->next = 0;
	r->committed = 0;
}

static void
budget_release(struct replay *r)
{
	struct replay *w;

	if (r->budget == 0)
		return;
	budget_free += r->budget;
	r->budget = 0;
	/* The first waiting replay that now fits goes on. */
	while ((w = TAILQ_FIRST(&budget_queue)) != NULL &&
	    budget_free >= REPLAY_PAGE_MIN) {
		TAILQ_REMOVE(&budget_queue, w, wait);
		w->phase = REPLAY_IDLE;
		replay_next(w);
	}
}

/*
 * The page's rows said its messages were replayed, but these were not
 * sent (the session went, or the subscription was closed): a row each,
 * and they stay pending in the queue.
 */
static void
unsent_rows(struct replay *r)
{
	struct store_batch	*batch = NULL;
	struct audit_event	*ev;
	size_t			 i;

	if (!r->committed || r->next >= r->nitems)
		return;
	for (i = r->next; i < r->nitems; i++) {
		if (batch == NULL && (batch = store_batch_new()) == NULL)
			return;
		ev = trail_delivery(r->srv->cfg->instance, AUDIT_DELIVER_LOST,
		    r->items[i].mid, NULL, 0, r->principal, "not sent at "
		    "replay: the session ended or the subscription was closed "
		    "first; its durable queue still holds it");
		if (ev != NULL)
			store_batch_add_event(batch, ev);
	}
	if (batch != NULL)
		store_submit_detached(r->srv->store, batch);
	r->next = r->nitems;
}

static void
replay_free(struct replay *r)
{
	struct name *n;

	if (r == NULL)
		return;
	unsent_rows(r);
	if (r->phase == REPLAY_BUDGET_WAIT)
		TAILQ_REMOVE(&budget_queue, r, wait);
	items_clear(r);
	while ((n = TAILQ_FIRST(&r->names)) != NULL) {
		TAILQ_REMOVE(&r->names, n, entry);
		free(n);
	}
	r->phase = REPLAY_IDLE;
	budget_release(r);
	free(r);
}

/*
 * The session of r, or NULL if it went away (then r is freed: no store
 * callback is outstanding when this is called).
 */
static struct session *
replay_session(struct replay *r)
{
	struct session *s;

	if (!r->gone && (s = session_find(r->srv, r->session_id)) != NULL)
		return s;
	replay_free(r);
	return NULL;
}

/* Says why the replay stopped, and forgets the session. */
static void
replay_stop(struct replay *r, struct session *s, const char *why)
{
	struct name	*n = TAILQ_FIRST(&r->names);
	char		 reason[256];

	snprintf(reason, sizeof(reason), "replay of durable subscription %s "
	    "%s; reconnect to try again", n != NULL ? n->name : "-", why);
	/* An Error that answers no request ends the session (nwd.h). */
	session_send_error(s, 0, NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "%s",
	    reason);
	session_set_writer(s, NULL, NULL);
	replay_free(r);
	session_close(s, reason);
}

/* The replayed decisions have committed: send what was allowed, in order. */
static void
page_committed(enum store_outcome outcome, void *arg)
{
	struct replay	*r = arg;
	struct session	*s;

	r->committed = outcome == STORE_COMMITTED;
	if ((s = replay_session(r)) == NULL)
		return;
	if (outcome != STORE_COMMITTED) {
		/* Nothing is sent; the deliveries stay pending. */
		replay_stop(r, s, "stopped: the audit store did not commit");
		return;
	}
	r->committed = 1;
	r->phase = REPLAY_SEND;
	replay_send(r);
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
	const char		*kind = store_result_value(res, row, 1);
	struct seal_aad		 aad;
	Nwd__V1__Envelope	*env = NULL;
	uint8_t			*plain;
	size_t			 plen = 0;
	char			 err[160];

	if (body == NULL || key_id == NULL) {
		snprintf(why, whylen, "at replay: the body was purged under "
		    "retention");
		return NULL;
	}
	/* The body is bound to the row's id, subject and kind. */
	aad.message_id = mid;
	aad.subject = store_result_value(res, row, 2);
	aad.kind = kind != NULL ? (int)strtol(kind, NULL, 10) : 0;
	if ((plain = open_body(srv->sealer, key_id, &aad, (const uint8_t *)body,
	    store_result_length(res, row, 9), &plen, err,
	    sizeof(err))) == NULL) {
		snprintf(why, whylen, "at replay: the sealed body cannot be "
		    "opened: %s", err);
		return NULL;
	}
	if ((env = frame_decode_envelope(plain, plen, SIZE_MAX, err,
	    sizeof(err))) == NULL || envelope_validate_stored(env, err,
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
	const char		*name = TAILQ_FIRST(&r->names)->name;
	Nwd__V1__Envelope	*env;
	struct audit_event	*ev;
	struct decide_entry	 d;
	char			 why[256];
	int			 rc = -1;

	memset(&d, 0, sizeof(d));
	if ((env = open_stored(r->srv, res, row, why, sizeof(why))) == NULL) {
		d.verdict = POLICY_DENY;
		snprintf(d.reason, sizeof(d.reason), "%s", why);
	} else if (decide_recipient(w, p, s->principal->id, env,
	    strcmp(name, DURABLE_DUTY) == 0, DECIDE_PACK, &d) == -1)
		goto done;
	else if (p == NULL) {
		snprintf(why, sizeof(why), "at replay: %.240s", d.reason);
		snprintf(d.reason, sizeof(d.reason), "%s", why);
	}
	if (d.verdict == POLICY_ALLOW) {
		snprintf(d.reason, sizeof(d.reason), "replay of durable "
		    "subscription %s", name);
		ev = trail_decision(&o, env->header->sender, AUDIT_DELIVER, mid,
		    env, s->principal->id, d.rules, d.reason, d.shared,
		    d.withheld, "replay", r->version);
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
			    d.rules, d.reason, NULL, NULL, NULL, r->version);
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
		    s->principal->id, name, STORE_DELIVERY_REFUSED) == -1) {
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

/* A page of pending deliveries: decide each again, write the rows. */
static void
page_rows(int ok, const struct store_result *res, void *arg)
{
	struct replay		*r = arg;
	struct server		*srv = r->srv;
	struct session		*s;
	const struct principal	*p;
	struct decide_world	 w;
	struct store_batch	*batch = NULL;
	const char		*did;
	size_t			 i, n;

	if ((s = replay_session(r)) == NULL)
		return;
	if (!ok) {
		replay_stop(r, s, "failed: the audit store is unavailable");
		return;
	}
	n = store_result_nrows(res);
	/* Until a page comes back empty, more may follow; a subscription
	 * closed meanwhile takes nothing more. */
	if (TAILQ_FIRST(&r->names)->sub_id == 0)
		n = 0;
	r->more = n > 0;
	if (n > 0 && (did = store_result_value(res, n - 1, 12)) != NULL)
		r->after_id = strtoll(did, NULL, 10);
	if (n == 0) {
		r->phase = REPLAY_SEND;
		replay_send(r);
		return;
	}
	/* Decisions use the mapping and policy in force now. */
	p = identity_find_id(srv->ids, s->principal->id);
	memset(&w, 0, sizeof(w));
	w.policy = srv->policy;
	w.ids = srv->ids;
	w.allocs = srv->allocs;
	w.consents = consents_table(srv->consents);
	w.grants = breakglass_grants(srv->breakglass);
	w.now_ms = clock_wall_ms();
	snprintf(r->version, sizeof(r->version), "%s",
	    policy_version(srv->policy));
	if ((r->items = calloc(n, sizeof(*r->items))) == NULL ||
	    (batch = store_batch_new()) == NULL)
		goto oom;
	for (i = 0; i < n; i++)
		if (replay_one(r, s, p, &w, res, i, batch) == -1)
			goto oom;
	r->phase = REPLAY_COMMIT;
	if (store_submit(srv->store, batch, page_committed, r) == -1) {
		store_batch_free(batch);
		replay_stop(r, s, "failed: the audit store is unavailable");
	}
	return;
oom:
	store_batch_free(batch);
	session_log(warnx, s, "event=replay_failed durable=%s reason=\"out of "
	    "memory\"", TAILQ_FIRST(&r->names)->name);
	session_set_writer(s, NULL, NULL);
	replay_free(r);
}

/* Asks for the next page of the current subscription, budget allowing. */
static void
replay_query(struct replay *r, struct session *s)
{
	struct name *n = TAILQ_FIRST(&r->names);

	if (budget_free < REPLAY_PAGE_MIN) {
		r->phase = REPLAY_BUDGET_WAIT;
		TAILQ_INSERT_TAIL(&budget_queue, r, wait);
		return;
	}
	r->budget = budget_free < REPLAY_PAGE_BYTES ? budget_free :
	    REPLAY_PAGE_BYTES;
	budget_free -= r->budget;
	/* What committed before this query, the query sees. */
	(void)subs_take_held(&s->subs, n->sub_id);
	r->phase = REPLAY_QUERY;
	session_log(debug, s, "event=replay_page durable=%s after=%lld "
	    "bytes=%zu", n->name, (long long)r->after_id, r->budget);
	if (store_query_pending(r->srv->store, s->principal->id, n->name,
	    r->after_id, REPLAY_PAGE_ROWS, r->budget, page_rows, r) == -1)
		replay_stop(r, s, "failed: the audit store is unavailable");
}

/* The current subscription is replayed: it goes live; then the next. */
static void
replay_done_one(struct replay *r, struct session *s)
{
	struct name *n = TAILQ_FIRST(&r->names);

	subs_set_replaying(&s->subs, n->sub_id, 0);
	session_log(info, s, "event=replay durable=%s sent=%zu refused=%zu "
	    "ms=%lld", n->name, r->sent, r->refused,
	    (long long)(clock_mono_ms() - r->started_ms));
	TAILQ_REMOVE(&r->names, n, entry);
	free(n);
	r->after_id = 0;
	r->sent = r->refused = 0;
	r->started_ms = clock_mono_ms();
	r->more = 1;
}

/*
 * Goes on with whatever is next: another page of the current
 * subscription, the next subscription, or nothing (r is freed).
 */
static void
replay_next(struct replay *r)
{
	struct session	*s;
	struct name	*n;

	if ((s = replay_session(r)) == NULL)
		return;
	r->phase = REPLAY_IDLE;
	while ((n = TAILQ_FIRST(&r->names)) != NULL) {
		if (n->sub_id == 0) {
			/* Closed while it replayed. */
			TAILQ_REMOVE(&r->names, n, entry);
			free(n);
			r->after_id = 0;
			r->more = 1;
			continue;
		}
		/* A short page ends it, unless a publish was held back
		 * from it meanwhile. */
		if (r->more || subs_take_held(&s->subs, n->sub_id)) {
			replay_query(r, s);
			return;
		}
		replay_done_one(r, s);
	}
	session_set_writer(s, NULL, NULL);
	replay_free(r);
}

/* Sends the committed items while the session has room. */
static void
replay_send(struct replay *r)
{
	struct session		*s;
	struct deliver_msg	 m;
	struct item		*it;
	struct name		*n;

	if ((s = replay_session(r)) == NULL)
		return;
	n = TAILQ_FIRST(&r->names);
	memset(&m, 0, sizeof(m));
	m.policy_version = r->version;
	r->busy = 1;
	while (r->next < r->nitems && !r->gone && n->sub_id != 0) {
		it = &r->items[r->next];
		if (!session_has_room(s, it->d.len + DECIDE_FRAME_HEADROOM)) {
			r->busy = 0;
			return;	/* writable() calls again */
		}
		m.message_id = it->mid;
		m.bytes = it->d.bytes;
		m.len = it->d.len;
		m.withheld = it->d.withheld;
		m.rule = it->d.rules;
		/* -1: over max_frame since it was stored; it stays pending. */
		if (deliver_send(s, n->sub_id, &m, n->name) == 0)
			r->sent++;
		decide_entry_clear(&it->d);
		r->next++;
	}
	r->busy = 0;
	items_clear(r);
	budget_release(r);
	replay_next(r);
}

/* The session's output drained (gone 0), or the session went (gone 1). */
static void
writable(struct session *s, void *arg, int gone)
{
	struct replay *r = arg;

	if (gone) {
		r->gone = 1;
		/*
		 * A store callback outstanding, or replay_send() on the
		 * stack, frees it when it sees r->gone.
		 */
		if (!r->busy && r->phase != REPLAY_QUERY &&
		    r->phase != REPLAY_COMMIT)
			replay_free(r);
		return;
	}
	if (r->phase == REPLAY_SEND && !r->busy)
		replay_send(r);
}

void
replay_set_budget(size_t bytes)
{
	budget_free = bytes;
}

void
replay_forget(struct session *s, uint64_t sub_id)
{
	struct replay	*r = s->writer == writable ? s->writer_arg : NULL;
	struct name	*n, *first;

	if (r == NULL)
		return;
	first = TAILQ_FIRST(&r->names);
	TAILQ_FOREACH(n, &r->names, entry)
		if (n->sub_id == sub_id)
			break;
	if (n == NULL)
		return;
	if (n != first) {
		TAILQ_REMOVE(&r->names, n, entry);
		free(n);
		return;
	}
	/*
	 * The one replaying: what it holds is not sent; it ends at its
	 * next step (a page's callback, or now if it waits to send).
	 */
	n->sub_id = 0;
	if (r->phase == REPLAY_SEND && !r->busy) {
		items_clear(r);
		budget_release(r);
		r->more = 0;
		replay_next(r);
	}
}

void
replay_start(struct server *srv, struct session *s, uint64_t sub_id,
    const char *name)
{
	struct replay	*r = s->writer == writable ? s->writer_arg : NULL;
	struct name	*n;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		goto oom;
	n->sub_id = sub_id;
	snprintf(n->name, sizeof(n->name), "%s", name);
	/* Until its replay is over, the subscription receives nothing
	 * live: what is published meanwhile comes with the replay, in
	 * order. */
	subs_set_replaying(&s->subs, sub_id, 1);
	if (r != NULL) {
		TAILQ_INSERT_TAIL(&r->names, n, entry);
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		free(n);
		subs_set_replaying(&s->subs, sub_id, 0);
		goto oom;
	}
	r->srv = srv;
	r->session_id = s->id;
	snprintf(r->principal, sizeof(r->principal), "%s", s->principal->id);
	r->started_ms = clock_mono_ms();
	TAILQ_INIT(&r->names);
	TAILQ_INSERT_TAIL(&r->names, n, entry);
	session_set_writer(s, writable, r);
	r->more = 1;		/* the first page */
	replay_next(r);
	return;
oom:
	session_log(warnx, s, "event=replay_failed durable=%s reason=\"out of "
	    "memory\"", name);
}
