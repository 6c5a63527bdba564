/*
 * replay: see replay.h.  The replay of a session's durable subscriptions,
 * one at a time, in pages.  A page goes through
 *
 *   QUERY    a page of pending deliveries after the last one taken, at
 *            most REPLAY_PAGE_ROWS rows and about a page's share of the
 *            byte budget of their sealed bodies
 *   COMMIT   each message decided again (decide_recipient) and its row
 *            written; nothing of the page is sent before those rows have
 *            committed
 *   READY    committed; sent in order once every page before it is sent,
 *            while the session's output has room (session_has_room);
 *            otherwise the replay waits for the output to drain (the
 *            session's paced writer), so a subscriber is never cut off by
 *            its own replay
 *
 * Two pages are in flight at most (REPLAY_PAGES), so that the database
 * and nwdd work at once: as soon as a page's rows arrive, the next page's
 * query goes out (budget allowing), and the database answers it while
 * nwdd decides this one; the next page is decided while this one's rows
 * are written; and a page is sent while the next one's rows are written.
 * Pages are sent strictly in order: a page whose query or transaction
 * failed (FAILED) stops the replay once every page before it is sent, and
 * nothing after it is sent (a page after it that committed gets its
 * "not sent" rows and stays pending).
 *
 * A page that comes back empty ends the subscription's replay, once every
 * page before it is sent, unless a message was held back from it
 * meanwhile (subs_take_held: a publish that committed after the last
 * query went out); then the replay queries again.  From then on the
 * subscription receives live.
 *
 * Memory: every replay takes its pages' bytes from one budget shared by
 * all sessions (REPLAY_BUDGET); a replay with no page in flight that finds
 * none waits its turn; a second page is only queried when its bytes are
 * free and no replay waits.
 */
#include <sys/queue.h>

#include <inttypes.h>
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
#include "subs.h"
#include "trail.h"
#include "world.h"

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

enum page_phase {
	PAGE_FREE,		/* not in use */
	PAGE_QUERY,		/* its query is out (a store callback due) */
	PAGE_COMMIT,		/* its rows are being written (one due) */
	PAGE_READY,		/* committed, or deciding: sent in its turn */
	PAGE_FAILED,		/* the replay stops at it */
};

struct replay;

/* A page of one subscription's pending deliveries. */
struct page {
	struct replay		*r;		/* borrowed; the owner */
	enum page_phase		 phase;
	size_t			 budget;	/* bytes taken from the budget */
	struct item		*items;		/* owned; its messages */
	size_t			 nitems;
	size_t			 next;		/* the next item to send */
	int			 committed;	/* its rows committed: what is
						   not sent was said to be
						   replayed */
	const char		*why;		/* static; FAILED: why */
	char			 version[POLICY_VERSION_LEN];
};

#define REPLAY_PAGES	2	/* pages in flight, at most */

/* The replay of one session's durable subscriptions. */
struct replay {
	TAILQ_ENTRY(replay)	 wait;		/* in the budget's queue */
	struct server		*srv;		/* borrowed */
	uint64_t		 session_id;
	int			 gone;		/* the session went away */
	int			 waiting;	/* in the budget's queue */
	TAILQ_HEAD(, name)	 names;		/* owned; the head replays */
	int64_t			 after_id;	/* last delivery queried */
	struct page		 pages[REPLAY_PAGES]; /* a ring, oldest
						   first */
	size_t			 first;		/* the oldest page's slot */
	size_t			 npages;	/* in flight */
	int			 more;		/* more rows may follow */
	int			 busy;		/* inside page_send() */
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
static void	replay_pump(struct replay *);
static void	writable(struct session *, void *, int);
static store_result_fn page_rows;

/* Page i of those in flight, the oldest being 0. */
static struct page *
page_at(struct replay *r, size_t i)
{
	return &r->pages[(r->first + i) % REPLAY_PAGES];
}

/* 1 if a store callback is due for p: r must not be freed before it. */
static int
page_due(const struct page *p)
{
	return p->phase == PAGE_QUERY || p->phase == PAGE_COMMIT;
}

static int
replay_due(struct replay *r)
{
	size_t i;

	for (i = 0; i < r->npages; i++)
		if (page_due(page_at(r, i)))
			return 1;
	return 0;
}

static void
budget_release(size_t bytes)
{
	struct replay *w;

	if (bytes == 0)
		return;
	budget_free += bytes;
	/* The first waiting replay that now fits goes on. */
	while ((w = TAILQ_FIRST(&budget_queue)) != NULL &&
	    budget_free >= REPLAY_PAGE_MIN) {
		TAILQ_REMOVE(&budget_queue, w, wait);
		w->waiting = 0;
		replay_next(w);
	}
}

/*
 * The page's rows said its messages were replayed, but these were not
 * sent (the session went, the subscription was closed, or a page before
 * it failed): a row each, and they stay pending in the queue.
 */
static void
unsent_rows(struct replay *r, struct page *p)
{
	struct store_batch	*batch = NULL;
	struct audit_event	*ev;
	size_t			 i;

	if (!p->committed || p->next >= p->nitems)
		return;
	for (i = p->next; i < p->nitems; i++) {
		if (batch == NULL && (batch = store_batch_new()) == NULL)
			return;
		ev = trail_delivery(r->srv->cfg->instance, AUDIT_DELIVER_LOST,
		    p->items[i].mid, NULL, 0, r->principal, "not sent at "
		    "replay: the session ended or the subscription was closed "
		    "first; its durable queue still holds it");
		if (ev != NULL)
			store_batch_add_event(batch, ev);
	}
	if (batch != NULL)
		store_submit_detached(r->srv->store, batch);
	p->next = p->nitems;
}

/* Empties p (no callback due for it): its items, its bytes. */
static void
page_clear(struct replay *r, struct page *p)
{
	size_t i, bytes;

	unsent_rows(r, p);
	for (i = 0; i < p->nitems; i++)
		decide_entry_clear(&p->items[i].d);
	free(p->items);
	bytes = p->budget;
	memset(p, 0, sizeof(*p));
	p->r = r;
	budget_release(bytes);
}

/* Removes the oldest page, or the newest (last 1). */
static void
page_drop(struct replay *r, int last)
{
	struct page *p = page_at(r, last ? r->npages - 1 : 0);

	if (!last)
		r->first = (r->first + 1) % REPLAY_PAGES;
	r->npages--;
	page_clear(r, p);
}

static void
replay_free(struct replay *r)
{
	struct name *n;

	if (r == NULL)
		return;
	if (r->waiting)
		TAILQ_REMOVE(&budget_queue, r, wait);
	r->waiting = 0;
	/* Nothing may wake r while it goes. */
	r->gone = 1;
	while (r->npages > 0)
		page_drop(r, 0);
	while ((n = TAILQ_FIRST(&r->names)) != NULL) {
		TAILQ_REMOVE(&r->names, n, entry);
		free(n);
	}
	free(r);
}

/*
 * The session of r, or NULL if it went away; then r is freed, unless a
 * store callback is still due for one of its pages or it is sending (the
 * last of those frees it).
 */
static struct session *
replay_session(struct replay *r)
{
	struct session *s;

	if (!r->gone && (s = session_find(r->srv, r->session_id)) != NULL)
		return s;
	r->gone = 1;
	if (!r->busy && !replay_due(r))
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
	r->gone = 1;
	if (!r->busy && !replay_due(r))
		replay_free(r);
	session_close(s, reason);
}

/* A page's decisions have been written, or not. */
static void
page_committed(enum store_outcome outcome, void *arg)
{
	struct page	*p = arg;
	struct replay	*r = p->r;

	p->committed = outcome == STORE_COMMITTED;
	if (p->committed)
		p->phase = PAGE_READY;
	else {
		/* Nothing of it is sent; its deliveries stay pending. */
		p->phase = PAGE_FAILED;
		p->why = "stopped: the audit store did not commit";
	}
	replay_pump(r);
}

/*
 * Opens and decodes a stored message.  Returns it (the caller frees it
 * with frame_free_envelope()), or NULL with the reason the delivery is
 * refused at replay in why.
 */
Nwd__V1__Envelope *
replay_open_stored(struct server *srv, const struct store_result *res,
    size_t row, char *why, size_t whylen)
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
replay_one(struct replay *r, struct page *pg, struct session *s,
    const struct principal *p, const struct decide_world *w,
    const struct store_result *res, size_t row, struct store_batch *batch)
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
	if ((env = replay_open_stored(r->srv, res, row, why,
	    sizeof(why))) == NULL) {
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
		    d.withheld, "replay", pg->version);
		snprintf(pg->items[pg->nitems].mid, sizeof(pg->items[0].mid),
		    "%s", mid);
		pg->items[pg->nitems++].d = d;
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
			    d.rules, d.reason, NULL, NULL, NULL, pg->version);
		else if ((ev = audit_event_new(AUDIT_DELIVER_REFUSED,
		    r->srv->cfg->instance)) != NULL) {
			audit_event_set(ev, AUDIT_F_MESSAGE_ID, mid);
			audit_event_set(ev, AUDIT_F_SUBJECT,
			    store_result_value(res, row, 2));
			audit_event_set(ev, AUDIT_F_RECIPIENT,
			    s->principal->id);
			audit_event_set(ev, AUDIT_F_POLICY_VERSION,
			    pg->version);
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

/* Decides every message of page p (rows of res) again; fills batch. */
static int
page_decide(struct replay *r, struct page *p, struct session *s,
    const struct store_result *res, size_t n, struct store_batch *batch)
{
	struct server		*srv = r->srv;
	const struct principal	*pr;
	struct decide_world	 w;
	size_t			 i;

	/* Decisions use the mapping and policy in force now. */
	pr = identity_find_id(srv->ids, s->principal->id);
	world_now(srv, &w);
	snprintf(p->version, sizeof(p->version), "%s",
	    policy_version(srv->policy));
	if ((p->items = calloc(n, sizeof(*p->items))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (replay_one(r, p, s, pr, &w, res, i, batch) == -1)
			return -1;
	return 0;
}

/*
 * Queries a new page after r->after_id, its bytes taken from the budget
 * (the caller saw REPLAY_PAGE_MIN free).  Returns 0, or -1 with the page
 * FAILED.
 */
static int
page_query(struct replay *r, struct session *s)
{
	struct name	*n = TAILQ_FIRST(&r->names);
	struct page	*p;

	p = page_at(r, r->npages++);
	memset(p, 0, sizeof(*p));
	p->r = r;
	p->budget = budget_free < REPLAY_PAGE_BYTES ? budget_free :
	    REPLAY_PAGE_BYTES;
	budget_free -= p->budget;
	/* What committed before this query, the query sees. */
	(void)subs_take_held(&s->subs, n->sub_id);
	p->phase = PAGE_QUERY;
	session_log(debug, s, "event=replay_page durable=%s after=%lld "
	    "bytes=%zu", n->name, (long long)r->after_id, p->budget);
	if (store_query_pending(r->srv->store, s->principal->id, n->name,
	    r->after_id, REPLAY_PAGE_ROWS, p->budget, page_rows, p) == -1) {
		p->phase = PAGE_FAILED;
		p->why = "failed: the audit store is unavailable";
		return -1;
	}
	return 0;
}

/*
 * Queries the page after the newest one in flight, if there is room for
 * one more, its query can say where to start, and its bytes are free with
 * no replay waiting for them.  A failure stops the replay in its turn.
 */
static void
page_prefetch(struct replay *r, struct session *s)
{
	struct page *last;

	if (r->npages == 0 || r->npages >= REPLAY_PAGES || !r->more ||
	    budget_free < REPLAY_PAGE_MIN || !TAILQ_EMPTY(&budget_queue))
		return;
	last = page_at(r, r->npages - 1);
	if (last->phase == PAGE_QUERY || last->phase == PAGE_FAILED)
		return;
	(void)page_query(r, s);
}

/* A page of pending deliveries: decide each again, write the rows. */
static void
page_rows(int ok, const struct store_result *res, void *arg)
{
	struct page		*p = arg;
	struct replay		*r = p->r;
	struct session		*s;
	struct store_batch	*batch = NULL;
	const char		*did;
	size_t			 n;

	/* Deciding: no callback due; nothing to send before it commits. */
	p->phase = PAGE_READY;
	if ((s = replay_session(r)) == NULL)
		return;
	if (!ok) {
		p->phase = PAGE_FAILED;
		p->why = "failed: the audit store is unavailable";
		replay_pump(r);
		return;
	}
	n = store_result_nrows(res);
	/* Until a page comes back empty, more may follow; a subscription
	 * closed meanwhile takes nothing more.  p is the newest page. */
	if (TAILQ_FIRST(&r->names)->sub_id == 0)
		n = 0;
	r->more = n > 0;
	if (n == 0) {
		page_drop(r, 1);
		replay_pump(r);
		return;
	}
	if ((did = store_result_value(res, n - 1, 12)) != NULL)
		r->after_id = strtoll(did, NULL, 10);
	/* The database reads the next page while this one is decided. */
	page_prefetch(r, s);
	if ((batch = store_batch_new()) == NULL ||
	    page_decide(r, p, s, res, n, batch) == -1) {
		store_batch_free(batch);
		session_log(warnx, s, "event=replay_failed durable=%s "
		    "reason=\"out of memory\"", TAILQ_FIRST(&r->names)->name);
		p->phase = PAGE_FAILED;
		p->why = "failed: out of memory";
		replay_pump(r);
		return;
	}
	p->phase = PAGE_COMMIT;
	if (store_submit(r->srv->store, batch, page_committed, p) == -1) {
		store_batch_free(batch);
		p->phase = PAGE_FAILED;
		p->why = "failed: the audit store is unavailable";
		replay_pump(r);
	}
}

/* Asks for the first page in flight, budget allowing. */
static void
replay_query(struct replay *r, struct session *s)
{
	if (budget_free < REPLAY_PAGE_MIN) {
		r->waiting = 1;
		TAILQ_INSERT_TAIL(&budget_queue, r, wait);
		return;
	}
	if (page_query(r, s) == -1)
		replay_stop(r, s, page_at(r, 0)->why);
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
 * With no page in flight, goes on with whatever is next: the first page
 * of the current subscription, the next subscription, or nothing (r is
 * freed).
 */
static void
replay_next(struct replay *r)
{
	struct session	*s;
	struct name	*n;

	if ((s = replay_session(r)) == NULL)
		return;
	while ((n = TAILQ_FIRST(&r->names)) != NULL) {
		if (n->sub_id == 0) {
			/* Closed while it replayed. */
			TAILQ_REMOVE(&r->names, n, entry);
			free(n);
			r->after_id = 0;
			r->more = 1;
			continue;
		}
		/* An empty page ends it, unless a publish was held back
		 * from it meanwhile. */
		if (r->more || subs_take_held(&s->subs, n->sub_id)) {
			r->more = 1;
			replay_query(r, s);
			return;
		}
		replay_done_one(r, s);
	}
	session_set_writer(s, NULL, NULL);
	replay_free(r);
}

/*
 * Sends page p's items in order while the session has room.  Returns 0
 * when it stopped sending (all sent, the session went or the
 * subscription was closed), -1 when it waits for room (writable() calls
 * again).
 */
static int
page_send(struct replay *r, struct session *s, struct page *p)
{
	struct name		*n = TAILQ_FIRST(&r->names);
	struct deliver_msg	 m;
	struct item		*it;

	memset(&m, 0, sizeof(m));
	m.policy_version = p->version;
	r->busy = 1;
	while (p->next < p->nitems && !r->gone && n->sub_id != 0) {
		it = &p->items[p->next];
		if (!session_has_room(s, it->d.len + DECIDE_FRAME_HEADROOM)) {
			r->busy = 0;
			return -1;
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
		p->next++;
	}
	r->busy = 0;
	return 0;
}

/*
 * Goes on from wherever r is: sends the committed pages in order, stops
 * at a failed one, queries the next page if there is room for it, and
 * with no page in flight goes on to what is next (replay_next).
 */
static void
replay_pump(struct replay *r)
{
	struct session	*s;
	struct page	*p;

	for (;;) {
		if ((s = replay_session(r)) == NULL)
			return;
		if (r->npages == 0) {
			replay_next(r);
			return;
		}
		p = page_at(r, 0);
		if (TAILQ_FIRST(&r->names)->sub_id == 0) {
			/* Closed: nothing more is sent; the pages go as
			 * their callbacks come back. */
			if (page_due(p))
				return;
			r->more = 0;
			page_drop(r, 0);
			continue;
		}
		if (p->phase == PAGE_FAILED) {
			replay_stop(r, s, p->why);
			return;
		}
		if (p->phase != PAGE_READY || !p->committed)
			break;
		if (page_send(r, s, p) == -1)
			return;
		if (p->next >= p->nitems)
			page_drop(r, 0);
	}
	page_prefetch(r, s);
}

/* The session's output drained (gone 0), or the session went (gone 1). */
static void
writable(struct session *s, void *arg, int gone)
{
	struct replay *r = arg;

	if (gone) {
		r->gone = 1;
		/*
		 * A store callback due, or page_send() on the stack, frees
		 * it when it sees r->gone.
		 */
		if (!r->busy && !replay_due(r))
			replay_free(r);
		return;
	}
	if (!r->busy && !r->waiting && r->npages > 0 &&
	    page_at(r, 0)->phase == PAGE_READY && page_at(r, 0)->committed)
		replay_pump(r);
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
	 * next step (a page's callback, or now for the pages that wait to
	 * be sent).  A replay waiting for the budget skips it when it is
	 * woken.
	 */
	n->sub_id = 0;
	if (!r->busy && !r->waiting)
		replay_pump(r);
}

void
replay_start(struct server *srv, struct session *s, uint64_t sub_id,
    const char *name)
{
	struct replay	*r = s->writer == writable ? s->writer_arg : NULL;
	struct name	*n;
	size_t		 i;

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
	for (i = 0; i < REPLAY_PAGES; i++)
		r->pages[i].r = r;
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
