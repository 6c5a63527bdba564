/*
 * cluster: the other instances on the same database (cluster.h).
 *
 * Notifications on nwd_cluster, each "TYPE INSTANCE ...":
 *
 *	c INSTANCE LAST COUNT	COUNT changes, numbered up to LAST, committed
 *	s INSTANCE SEQ [PRINCIPAL]
 *				INSTANCE's live subscriptions (of PRINCIPAL;
 *				all of them) changed, change number SEQ
 *	p INSTANCE		INSTANCE's policy version changed
 *	m INSTANCE MESSAGE_ID	a message committed by INSTANCE
 *	d INSTANCE MESSAGE_ID	a deadline set by INSTANCE (not numbered:
 *				decisions do not read deadlines)
 *
 * An instance ignores its own, but for the numbers of its changes.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "audit.h"
#include "breakglass.h"
#include "clock.h"
#include "cluster.h"
#include "config.h"
#include "consents.h"
#include "deadlines.h"
#include "decide.h"
#include "deliver.h"
#include "frame.h"
#include "identity.h"
#include "log.h"
#include "policy.h"
#include "replay.h"
#include "server.h"
#include "sessidx.h"
#include "session.h"
#include "store.h"
#include "store_listen.h"
#include "subs.h"
#include "trail.h"
#include "world.h"

#define MIRROR_BUCKETS		1024
#define CLUSTER_RETRY_MS	100	/* a reload the store could not take */
#define CLUSTER_NAME_MAX	128
#define CLUSTER_MSG_BATCH	256	/* messages read in one query */
#define CLUSTER_OWN_KEEP_MS	60000	/* an announcement superseded is
					   kept this long, for the messages
					   decided before the peers read
					   the next */

/* A publish waiting to be decided. */
struct waiter {
	TAILQ_ENTRY(waiter)	 entry;
	uint64_t		 gen;		/* order of arrival */
	int64_t			 need;		/* the change it must see;
						   -1: not yet known */
	cluster_ready_fn	*fn;
	void			*arg;		/* the publisher's */
};

TAILQ_HEAD(waiterq, waiter);

/* What a peer announced of one principal's live subscriptions; in
 * c->own, what this instance announced, as change seq, at at_ms. */
struct mirror {
	struct mirror		*next;		/* owned chain */
	char			*instance;	/* owned */
	char			*principal;	/* owned */
	struct subs		 subs;		/* owned */
	int64_t			 seq;		/* own: its change */
	int64_t			 at_ms;		/* own: monotonic, applied */
};

struct peer {
	char	instance[CLUSTER_NAME_MAX];
	char	version[POLICY_VERSION_LEN];
	int	live;
};

struct cluster {
	struct server		*srv;		/* borrowed */
	struct store_listen	*l;		/* owned */
	struct event		*ev_beat;	/* owned; the heartbeat */
	struct event		*ev_flush;	/* owned; announcements, a
						   reload to retry */
	struct event		*ev_msgs;	/* owned; reads mq */
	struct msg_job		*mq;		/* owned; the others' messages
						   noted, to read */
	struct event		*ev_deadlines;	/* owned; the others' new
						   deadlines, read at most once
						   a second */
	int			 up;		/* listening */
	int			 closing;	/* inside cluster_free() */
	int			 beat_inflight;
	int			 beat_answered;	/* the peers are known */

	/* The change sequence. */
	int64_t			 known;		/* the last number heard of */
	int64_t			 applied;	/* every change up to it */
	int64_t			 pend_store;	/* the last of the others'
						   changes the store reloads,
						   not yet read; 0: none */
	int64_t			 pend_live;	/* the same, of their live
						   subscriptions */
	int64_t			 done_store;	/* every change the store
						   reloads, up to it, read */
	int64_t			 done_live;	/* every live one, up to it */
	int64_t			 reload_target;	/* known when the reload in
						   flight was asked for */
	int			 reload_inflight;
	int64_t			 live_target;	/* the same, of the full read
						   of the peers' live ones */
	int			 live_inflight;
	int			 live_full;	/* a full read is needed
						   (notes were missed) */

	/* Publishes waiting for the sequence. */
	struct waiterq		 waiters;	/* owned, in order */
	uint64_t		 gen;		/* the last given */
	int			 since_inflight;
	uint64_t		 since_gen;	/* waiters it answers */
	int			 since_again;	/* waiters came after it */

	/* Peers and their policies. */
	struct peer		*peers;		/* owned */
	size_t			 npeers;
	size_t			 nlive;
	int64_t			 mismatch_since; /* monotonic ms; 0: agree */
	int			 refusing;	/* said that it refuses */
	char			 mismatch[320];	/* which, for the refusal */

	/* The peers' live subscriptions, and this one's to announce. */
	struct mirror		*bucket[MIRROR_BUCKETS]; /* owned */
	struct mirror		*own[MIRROR_BUCKETS];	/* owned; what this
						   one announced, newest
						   first per principal */
	int64_t			 own_at_ms;	/* the newest of them */
	char			**dirty;	/* owned; principals */
	size_t			 ndirty;
	size_t			 dirtycap;
	int			 announce_all;	/* every principal here */
};

static void	cluster_pump(struct cluster *);
static void	since_send(struct cluster *);
static void	settle(struct cluster *);

static const char *
me(const struct cluster *c)
{
	return c->srv->cfg->instance;
}

/* ------------------------------------------------------------------------
 * The peers' live subscriptions
 */

static unsigned int
mirror_hash(const char *s)
{
	unsigned int	h = 5381;

	while (*s != '\0')
		h = h * 33 + (unsigned char)*s++;
	return h % MIRROR_BUCKETS;
}

static void
mirror_free(struct mirror *m)
{
	subs_clear(&m->subs);
	free(m->instance);
	free(m->principal);
	free(m);
}

/* Forgets what instance (NULL: every one) announced of principal (NULL:
 * of every one). */
static void
mirror_drop(struct cluster *c, const char *instance, const char *principal)
{
	struct mirror	**pp, *m;
	size_t		  b;

	for (b = 0; b < MIRROR_BUCKETS; b++) {
		if (principal != NULL && b != mirror_hash(principal))
			continue;
		for (pp = &c->bucket[b]; (m = *pp) != NULL;) {
			if ((instance == NULL || strcmp(m->instance,
			    instance) == 0) && (principal == NULL ||
			    strcmp(m->principal, principal) == 0)) {
				*pp = m->next;
				mirror_free(m);
			} else
				pp = &m->next;
		}
	}
}

static struct mirror *
mirror_get(struct cluster *c, const char *instance, const char *principal)
{
	struct mirror	*m;
	unsigned int	 b = mirror_hash(principal);

	for (m = c->bucket[b]; m != NULL; m = m->next)
		if (strcmp(m->instance, instance) == 0 &&
		    strcmp(m->principal, principal) == 0)
			return m;
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->instance = strdup(instance)) == NULL ||
	    (m->principal = strdup(principal)) == NULL) {
		if (m != NULL)
			free(m->instance);
		free(m);
		return NULL;
	}
	m->next = c->bucket[b];
	c->bucket[b] = m;
	return m;
}

/* Adds one subscription row: kinds and newline-separated subjects. */
static int
mirror_add(struct mirror *m, const char *kinds, const char *subjects)
{
	char		**v = NULL;
	const char	 *p, *nl;
	size_t		  n = 0, i;

	if (subjects != NULL && subjects[0] != '\0') {
		for (p = subjects, n = 1; *p != '\0'; p++)
			if (*p == '\n')
				n++;
		if ((v = calloc(n, sizeof(*v))) == NULL)
			return -1;
		for (p = subjects, i = 0; i < n; i++) {
			nl = strchr(p, '\n');
			if ((v[i] = strndup(p, nl != NULL ? (size_t)(nl - p) :
			    strlen(p))) == NULL) {
				while (i > 0)
					free(v[--i]);
				free(v);
				return -1;
			}
			p = nl != NULL ? nl + 1 : p + strlen(p);
		}
	}
	return subs_add(&m->subs, (uint32_t)strtoul(kinds, NULL, 10), v, n,
	    NULL) == 0 ? -1 : 0;
}

struct live_job {
	struct cluster	*c;
	char		*instance;	/* owned; NULL: every peer */
	char		*principal;	/* owned; NULL: every principal */
	int64_t		 seq;		/* the change it reads (0: none) */
};

static void
live_rows(int ok, const struct store_result *res, void *arg)
{
	struct live_job	*j = arg;
	struct cluster	*c = j->c;
	struct mirror	*m;
	size_t		 i, n = store_result_nrows(res);

	if (ok) {
		if (j->instance == NULL)
			mirror_drop(c, NULL, NULL);
		else
			mirror_drop(c, j->instance, j->principal);
		for (i = 0; i < n; i++) {
			m = mirror_get(c, store_result_value(res, i, 0),
			    store_result_value(res, i, 1));
			if (m == NULL || mirror_add(m,
			    store_result_value(res, i, 2),
			    store_result_value(res, i, 3)) == -1) {
				log_warnx("event=cluster_live_not_applied "
				    "reason=\"out of memory\"");
				break;
			}
		}
		log_info("event=cluster_live instance=%s principal=%s "
		    "subscriptions=%zu seq=%" PRId64, j->instance != NULL ?
		    j->instance : "*", j->principal != NULL ? j->principal :
		    "*", n, j->seq);
		/* Read in the order noted: every earlier one is read too. */
		if (j->seq > c->done_live)
			c->done_live = j->seq;
	}
	if (j->instance == NULL) {
		c->live_inflight = 0;
		if (ok && c->live_target > c->done_live)
			c->done_live = c->live_target;
		if (!ok)
			c->live_full = 1;
		cluster_pump(c);
	}
	if (c->pend_live != 0 && c->pend_live <= c->done_live)
		c->pend_live = 0;
	settle(c);
	free(j->instance);
	free(j->principal);
	free(j);
}

/* Reads what instance (NULL: every peer) announced of principal, the
 * change numbered seq. */
static int
live_read(struct cluster *c, const char *instance, const char *principal,
    int64_t seq)
{
	struct live_job	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (instance != NULL && (j->instance = strdup(instance)) == NULL) ||
	    (principal != NULL && (j->principal = strdup(principal)) ==
	    NULL) ||
	    store_listen_live_get(c->l, instance, principal, instance == NULL ?
	    me(c) : NULL, live_rows, j) == -1) {
		if (j != NULL) {
			free(j->instance);
			free(j->principal);
		}
		free(j);
		log_warnx("event=cluster_live_not_read reason=\"out of "
		    "memory\"");
		return -1;
	}
	j->c = c;
	j->seq = seq;
	return 0;
}

static const struct peer *
peer_find(const struct cluster *c, const char *instance)
{
	size_t	i;

	for (i = 0; i < c->npeers; i++)
		if (strcmp(c->peers[i].instance, instance) == 0)
			return &c->peers[i];
	return NULL;
}

int
cluster_reach(const struct cluster *c, const char *principal, int kind,
    const char *subject)
{
	const struct mirror	*m;
	const struct peer	*p;

	if (c == NULL || c->nlive == 0)
		return 0;
	for (m = c->bucket[mirror_hash(principal)]; m != NULL; m = m->next) {
		if (strcmp(m->principal, principal) != 0 ||
		    (p = peer_find(c, m->instance)) == NULL || !p->live)
			continue;
		if (subs_would_match(&m->subs, kind, subject))
			return 1;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * This instance's live subscriptions, announced
 */

struct gather {
	uint32_t	*kinds;		/* owned */
	char		**subjects;	/* owned, each */
	size_t		 n;
	size_t		 cap;
	int		 oom;
};

static void
gather_one(uint32_t kinds, char *const *subjects, size_t nsubjects,
    const char *durable, void *arg)
{
	struct gather	*g = arg;
	size_t		 i, len = 1;
	void		*tmp;
	char		*s;

	(void)durable;
	if (g->oom)
		return;
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 8;
		if ((tmp = reallocarray(g->kinds, g->cap,
		    sizeof(*g->kinds))) == NULL) {
			g->oom = 1;
			return;
		}
		g->kinds = tmp;
		if ((tmp = reallocarray(g->subjects, g->cap,
		    sizeof(*g->subjects))) == NULL) {
			g->oom = 1;
			return;
		}
		g->subjects = tmp;
	}
	for (i = 0; i < nsubjects; i++)
		len += strlen(subjects[i]) + 1;
	if ((s = malloc(len)) == NULL) {
		g->oom = 1;
		return;
	}
	for (i = 0, len = 0; i < nsubjects; i++) {
		if (i > 0)
			s[len++] = '\n';
		memcpy(s + len, subjects[i], strlen(subjects[i]));
		len += strlen(subjects[i]);
	}
	s[len] = '\0';
	g->kinds[g->n] = kinds;
	g->subjects[g->n++] = s;
}

/* Keeps m, this instance's announcement (its seq set), in c->own, and
 * forgets what of its principal was superseded over
 * CLUSTER_OWN_KEEP_MS ago. */
static void
own_keep(struct cluster *c, struct mirror *m)
{
	struct mirror	**pp, *o;
	unsigned int	  b = mirror_hash(m->principal);
	int64_t		  newer_at = m->at_ms;

	m->next = c->own[b];
	c->own[b] = m;
	c->own_at_ms = m->at_ms;
	for (pp = &m->next; (o = *pp) != NULL;) {
		if (strcmp(o->principal, m->principal) != 0) {
			pp = &o->next;
			continue;
		}
		if (m->at_ms - newer_at > CLUSTER_OWN_KEEP_MS) {
			*pp = o->next;
			mirror_free(o);
			continue;
		}
		newer_at = o->at_ms;
		pp = &o->next;
	}
}

/*
 * Did a peer that had applied the changes up to seen count on a session
 * here of principal for a message of kind about subject?  What it knew of
 * this instance is the newest announcement numbered seen or less.
 */
static int
own_counted(const struct cluster *c, const char *principal, int kind,
    const char *subject, int64_t seen)
{
	const struct mirror	*m;

	if (seen < 0)
		return 0;
	for (m = c->own[mirror_hash(principal)]; m != NULL; m = m->next)
		if (strcmp(m->principal, principal) == 0 && m->seq <= seen)
			return subs_would_match(&m->subs, kind, subject);
	return 0;
}

struct own_job {
	struct cluster		*c;
	struct mirror		*m;		/* owned until kept */
	store_result_fn		*fn;
	void			*arg;
};

static void
own_done(int ok, const struct store_result *res, void *arg)
{
	struct own_job	*j = arg;
	const char	*v;

	if (ok && store_result_nrows(res) == 1 &&
	    (v = store_result_value(res, 0, 1)) != NULL) {
		j->m->seq = strtoll(v, NULL, 10);
		j->m->at_ms = clock_mono_ms();
		log_debug("event=cluster_announced principal=%s seq=%" PRId64
		    " subscriptions=%u", j->m->principal, j->m->seq,
		    j->m->subs.n);
		own_keep(j->c, j->m);
	} else
		mirror_free(j->m);
	j->fn(ok, res, j->arg);
	free(j);
}

static void
announced(int ok, const struct store_result *res, void *arg)
{
	(void)res;
	(void)arg;
	if (!ok)
		log_warnx("event=cluster_announce_failed reason=\"the other "
		    "instances may not know this one's sessions until it "
		    "reconnects\"");
}

/*
 * Announces principal's live subscriptions on this instance, whole;
 * fn(ok, rows, arg) hears when it has committed.  Returns 0, or -1 if
 * out of memory (no callback).
 */
static int
announce_with(struct cluster *c, const char *principal, store_result_fn *fn,
    void *arg)
{
	struct gather	 g;
	struct own_job	*j;
	void		*stack[64], **ss;
	char		 kinds[16];
	size_t		 k, n;
	int		 rc = -1;

	memset(&g, 0, sizeof(g));
	if ((ss = sessidx_all(c->srv->index, principal, stack, 64, &n)) ==
	    NULL)
		return -1;
	for (k = 0; k < n; k++)
		subs_each(&((struct session *)ss[k])->subs, gather_one, &g);
	sessidx_done(ss, stack);
	/* What is announced is kept, numbered, when it has committed. */
	if ((j = calloc(1, sizeof(*j))) != NULL &&
	    (j->m = calloc(1, sizeof(*j->m))) != NULL &&
	    (j->m->principal = strdup(principal)) != NULL &&
	    (j->m->instance = strdup(me(c))) != NULL)
		for (k = 0; k < g.n && !g.oom; k++) {
			snprintf(kinds, sizeof(kinds), "%u", g.kinds[k]);
			if (mirror_add(j->m, kinds, g.subjects[k]) == -1)
				g.oom = 1;
		}
	else
		g.oom = 1;
	if (!g.oom) {
		j->c = c;
		j->fn = fn;
		j->arg = arg;
		if (store_listen_live_set(c->l, me(c), principal, g.kinds,
		    (const char *const *)g.subjects, g.n, own_done, j) == 0)
			rc = 0;
	}
	if (rc == -1 && j != NULL) {
		if (j->m != NULL)
			mirror_free(j->m);
		free(j);
	}
	for (k = 0; k < g.n; k++)
		free(g.subjects[k]);
	free(g.subjects);
	free(g.kinds);
	return rc;
}

static void
announce(struct cluster *c, const char *principal)
{
	if (announce_with(c, principal, announced, c) == -1)
		log_warnx("event=cluster_announce_failed principal=%s "
		    "reason=\"out of memory\"", principal);
}

struct announce_job {
	cluster_ready_fn	*fn;
	void			*arg;		/* the caller's */
};

static void
announce_done(int ok, const struct store_result *res, void *arg)
{
	struct announce_job	*j = arg;

	announced(ok, res, NULL);
	j->fn(ok, j->arg);
	free(j);
}

int
cluster_announce(struct cluster *c, const char *principal,
    cluster_ready_fn *fn, void *arg)
{
	struct announce_job	*j;

	if (c == NULL || c->nlive == 0 || !c->up)
		return 1;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	j->fn = fn;
	j->arg = arg;
	if (announce_with(c, principal, announce_done, j) == -1) {
		free(j);
		return -1;
	}
	return 0;
}

static void
dirty_clear(struct cluster *c)
{
	while (c->ndirty > 0)
		free(c->dirty[--c->ndirty]);
}

void
cluster_subs_changed(const char *principal, void *arg)
{
	struct cluster	*c = arg;
	size_t		 i;
	void		*tmp;

	if (c == NULL || !c->up)
		return;		/* all of them are announced when it is */
	for (i = 0; i < c->ndirty; i++)
		if (strcmp(c->dirty[i], principal) == 0)
			return;
	if (c->ndirty == c->dirtycap) {
		c->dirtycap = c->dirtycap ? c->dirtycap * 2 : 16;
		if ((tmp = reallocarray(c->dirty, c->dirtycap,
		    sizeof(*c->dirty))) == NULL)
			return;
		c->dirty = tmp;
	}
	if ((c->dirty[c->ndirty] = strdup(principal)) == NULL)
		return;
	c->ndirty++;
	event_active(c->ev_flush, EV_TIMEOUT, 0);
}

/* ------------------------------------------------------------------------
 * The change sequence and the publishes that wait for it
 */

/* Answers the waiters that may go, in order; with fail, every one up to
 * gen is refused. */
static void
waiters_release(struct cluster *c, int fail, uint64_t gen)
{
	struct waiter	*w;

	while ((w = TAILQ_FIRST(&c->waiters)) != NULL) {
		if (fail && w->gen <= gen) {
			TAILQ_REMOVE(&c->waiters, w, entry);
			w->fn(0, w->arg);
			free(w);
			continue;
		}
		if (w->need < 0 || w->need > c->applied)
			break;
		TAILQ_REMOVE(&c->waiters, w, entry);
		w->fn(1, w->arg);
		free(w);
	}
}

/* Once nothing of the others' is left to read, all that is known is
 * applied. */
static void
settle(struct cluster *c)
{
	int64_t	bs, bl, a;

	/* Each kind: all of it known is read, or up to what was read. */
	bs = c->pend_store != 0 ? c->done_store : c->known;
	bl = c->pend_live != 0 ? c->done_live : c->known;
	a = bs < bl ? bs : bl;
	if (a > c->applied) {
		c->applied = a;
		log_debug("event=cluster_applied seq=%" PRId64, c->applied);
	}
	waiters_release(c, 0, 0);
}

static void
heard(struct cluster *c, int64_t seq)
{
	if (seq > c->known)
		c->known = seq;
}

/* The reads a reload asked for are done (the marker after them). */
static void
reload_done(int ok, const struct store_result *res, void *arg)
{
	struct cluster	*c = arg;

	(void)res;
	c->reload_inflight = 0;
	if (ok && c->reload_target > c->done_store)
		c->done_store = c->reload_target;
	if (c->pend_store != 0 && c->pend_store <= c->done_store)
		c->pend_store = 0;
	settle(c);
	event_active(c->ev_flush, EV_TIMEOUT, 0);
}

/* The reads the others' changes need, if none is in flight. */
static void
cluster_pump(struct cluster *c)
{
	struct timeval	tv = { 0, CLUSTER_RETRY_MS * 1000 };

	if (c->closing || c->srv->store == NULL)
		return;
	/*
	 * Allocations and durable subscriptions (with the connect's
	 * checks), consent records, grants and deadlines, read again in
	 * that order on the store's connection; the marker after them
	 * says they are done.
	 */
	if (c->pend_store != 0 && !c->reload_inflight) {
		if (store_reload(c->srv->store) == -1)
			/* Not ready: it reads them when it is; again. */
			event_add(c->ev_flush, &tv);
		else {
			consents_load(c->srv->consents);
			breakglass_load(c->srv->breakglass);
			deadlines_load(c->srv->deadlines);
			if (store_query_marker(c->srv->store, reload_done,
			    c) == -1)
				event_add(c->ev_flush, &tv);
			else {
				c->reload_inflight = 1;
				c->reload_target = c->known;
			}
		}
	}
	/* The peers' live subscriptions are read as noted, one principal
	 * at a time; all of them only when notes were missed. */
	if (c->live_full && !c->live_inflight && c->up &&
	    live_read(c, NULL, NULL, 0) == 0) {
		c->live_inflight = 1;
		c->live_full = 0;
		c->live_target = c->known;
	}
}

static void
since_rows(int ok, const struct store_result *res, void *arg)
{
	struct cluster	*c = arg;
	struct waiter	*w;
	const char	*v, *gap;
	int64_t		 last, st, lv;

	c->since_inflight = 0;
	if (!ok || store_result_nrows(res) != 1 ||
	    (v = store_result_value(res, 0, 0)) == NULL) {
		waiters_release(c, 1, c->since_gen);
	} else {
		last = strtoll(v, NULL, 10);
		v = store_result_value(res, 0, 1);
		st = v != NULL ? strtoll(v, NULL, 10) : last;
		v = store_result_value(res, 0, 2);
		lv = v != NULL ? strtoll(v, NULL, 10) : last;
		gap = store_result_value(res, 0, 3);
		if (gap != NULL && strcmp(gap, "true") == 0) {
			st = lv = last;
			c->live_full = 1;
		}
		heard(c, last);
		TAILQ_FOREACH(w, &c->waiters, entry)
			if (w->gen <= c->since_gen && w->need < 0)
				w->need = last;
		/* Another's live change is read when its note comes (it
		 * has committed: the note is on its way). */
		if (st > c->done_store && st > c->pend_store)
			c->pend_store = st;
		if (lv > c->done_live && lv > c->pend_live)
			c->pend_live = lv;
		cluster_pump(c);
		settle(c);
	}
	if (c->since_again) {
		c->since_again = 0;
		since_send(c);
	}
}

static void
since_send(struct cluster *c)
{
	if (TAILQ_EMPTY(&c->waiters))
		return;
	if (c->since_inflight) {
		c->since_again = 1;
		return;
	}
	c->since_gen = c->gen;
	if (store_listen_changes(c->l, c->applied, me(c), since_rows, c) ==
	    -1) {
		waiters_release(c, 1, c->since_gen);
		return;
	}
	c->since_inflight = 1;
}

int
cluster_must_wait(const struct cluster *c)
{
	/* Alone (as far as a heartbeat says: until one answers, the
	 * others are not known, so the sequence is asked). */
	return c != NULL && !((c->nlive == 0 && (c->beat_answered ||
	    !c->up)) && TAILQ_EMPTY(&c->waiters));
}

int
cluster_sync(struct cluster *c, cluster_ready_fn *fn, void *arg)
{
	struct waiter	*w;

	if (!cluster_must_wait(c))
		return 1;
	if (!c->up)
		return -1;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	w->gen = ++c->gen;
	w->need = -1;
	w->fn = fn;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&c->waiters, w, entry);
	since_send(c);
	return 0;
}

/* ------------------------------------------------------------------------
 * Heartbeat and policy versions
 */

static void
beat_rows(int ok, const struct store_result *res, void *arg)
{
	struct cluster	*c = arg;
	struct peer	*p, *diff = NULL;
	const char	*mine = policy_version(c->srv->policy);
	const char	*v;
	size_t		 i, n = store_result_nrows(res), nlive = 0;

	c->beat_inflight = 0;
	if (!ok)
		return;
	c->beat_answered = 1;
	if (n > 0 && (p = calloc(n, sizeof(*p))) == NULL)
		return;
	if (n == 0)
		p = NULL;
	for (i = 0; i < n; i++) {
		snprintf(p[i].instance, sizeof(p[i].instance), "%s",
		    (v = store_result_value(res, i, 0)) != NULL ? v : "");
		snprintf(p[i].version, sizeof(p[i].version), "%s",
		    (v = store_result_value(res, i, 1)) != NULL ? v : "");
		v = store_result_value(res, i, 2);
		p[i].live = v != NULL && strcmp(v, "true") == 0;
		if (!p[i].live)
			continue;
		nlive++;
		if (diff == NULL && strcmp(p[i].version, mine) != 0)
			diff = &p[i];
		if (peer_find(c, p[i].instance) == NULL ||
		    !peer_find(c, p[i].instance)->live)
			log_info("event=cluster_peer instance=%s policy=%s "
			    "state=live", p[i].instance, p[i].version);
	}
	for (i = 0; i < c->npeers; i++)
		if (c->peers[i].live) {
			const struct peer *q = NULL;
			size_t k;

			for (k = 0; k < n; k++)
				if (strcmp(p[k].instance,
				    c->peers[i].instance) == 0)
					q = &p[k];
			if (q == NULL || !q->live)
				log_info("event=cluster_peer instance=%s "
				    "state=gone", c->peers[i].instance);
		}
	free(c->peers);
	c->peers = p;
	c->npeers = n;
	c->nlive = nlive;
	c->srv->peers = nlive;
	if (diff != NULL) {
		snprintf(c->mismatch, sizeof(c->mismatch), "instance %s "
		    "decides with policy %s and this one (%s) with %s",
		    diff->instance, diff->version, me(c), mine);
		if (c->mismatch_since == 0) {
			c->mismatch_since = clock_mono_ms();
			log_warnx("event=cluster_policy_mismatch instance=%s "
			    "peer_policy=%s policy=%s grace_ms=%d",
			    diff->instance, diff->version, mine,
			    CLUSTER_POLICY_GRACE_MS);
		} else if (!c->refusing && clock_mono_ms() -
		    c->mismatch_since > CLUSTER_POLICY_GRACE_MS) {
			c->refusing = 1;
			log_warnx("event=cluster_policy_refusing instance=%s "
			    "peer_policy=%s policy=%s reason=\"the policies "
			    "differ for longer than a reload takes: publishes "
			    "are refused until they agree\"", diff->instance,
			    diff->version, mine);
		}
	} else if (c->mismatch_since != 0) {
		c->mismatch_since = 0;
		c->refusing = 0;
		c->mismatch[0] = '\0';
		log_info("event=cluster_policy_agreed policy=%s", mine);
	}
}

static void
beat(struct cluster *c)
{
	if (!c->up || c->beat_inflight)
		return;
	if (store_listen_heartbeat(c->l, me(c), policy_version(c->srv->policy),
	    CLUSTER_LIVE_MS, beat_rows, c) == 0)
		c->beat_inflight = 1;
}

static void
on_beat(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	beat(arg);
}

int
cluster_policy_ok(const struct cluster *c, char *why, size_t whylen)
{
	if (c == NULL || c->mismatch_since == 0 ||
	    clock_mono_ms() - c->mismatch_since <= CLUSTER_POLICY_GRACE_MS)
		return 1;
	snprintf(why, whylen, "the instances disagree on the policy (%s) for "
	    "longer than a reload takes, so none decides until they agree: "
	    "reload the same policy on every instance", c->mismatch);
	return 0;
}

static void
noted(int ok, const struct store_result *res, void *arg)
{
	(void)res;
	(void)arg;
	if (!ok)
		log_warnx("event=cluster_notify_failed");
}

void
cluster_policy_changed(struct cluster *c)
{
	char	payload[CLUSTER_NAME_MAX + 8];

	if (c == NULL || !c->up)
		return;
	c->beat_inflight = 0;	/* a beat with the new version, now */
	beat(c);
	snprintf(payload, sizeof(payload), "p %s", me(c));
	if (store_listen_notify(c->l, payload, noted, c) == -1)
		log_warnx("event=cluster_notify_failed reason=\"out of "
		    "memory\"");
}

int
cluster_policy_differs(const struct cluster *c)
{
	return c != NULL && c->mismatch_since != 0;
}

size_t
cluster_peers(const struct cluster *c)
{
	return c != NULL ? c->nlive : 0;
}

int64_t
cluster_applied(const struct cluster *c)
{
	return c != NULL ? c->applied : -1;
}

/* ------------------------------------------------------------------------
 * The others' messages, delivered to the sessions here
 */

struct msg_job {
	struct cluster	*c;
	int64_t		 need;	/* the changes heard before its notes */
	size_t		 n;
	char		(*mid)[40];			/* owned */
	char		(*from)[CLUSTER_NAME_MAX];	/* owned */
	int64_t		*seen;		/* owned; what each publisher had
					   applied when it decided (-1: not
					   said) */
};

/* A live send that did not happen, in this instance's chain. */
static void
lost_row(struct cluster *c, const char *mid, const char *subject, int kind,
    const char *who, const char *why)
{
	struct store_batch	*b;
	struct audit_event	*ev;

	log_info("message=%s principal=%s event=deliver_lost reason=\"%s\"",
	    mid, who, why);
	if (c->srv->store == NULL || (b = store_batch_new()) == NULL)
		return;
	if ((ev = trail_delivery(me(c), AUDIT_DELIVER_LOST, mid, subject, kind,
	    who, why)) == NULL || store_batch_add_event(b, ev) == -1) {
		store_batch_free(b);
		return;
	}
	store_submit_detached(c->srv->store, b);
}

/* A recipient the decision here refuses, whom a session here would
 * have taken: its send did not happen. */
static void
lost_refused(struct cluster *c, const char *mid, const char *subject,
    int kind, const char *who, const char *from, const struct decide_entry *d)
{
	char	why[700];

	snprintf(why, sizeof(why), "decided on instance %.100s; this "
	    "instance's decision refused it (%.200s%s%.200s), so its session "
	    "here was not sent it", from,
	    d->rules[0] != '\0' ? d->rules : "no rule",
	    d->reason[0] != '\0' ? ": " : "", d->reason);
	lost_row(c, mid, subject, kind, who, why);
}

/*
 * A recipient routed live whom no session here took, although the
 * publisher, when it decided, knew of one here that wanted it (what this
 * instance had announced by then): the session ended, or changed its
 * subscriptions, before this instance heard of the message.
 */
static void
lost_gone(struct cluster *c, const char *mid, const char *subject, int kind,
    const char *who, const char *from, const char *route)
{
	char	why[400];

	snprintf(why, sizeof(why), "decided on instance %.100s with a live "
	    "session here; no session here took it when this instance heard "
	    "of it (the session ended before)%s", from,
	    strstr(route, "queued") != NULL ? "; its durable queue holds it" :
	    ": not delivered");
	lost_row(c, mid, subject, kind, who, why);
}

/* One message of another instance, row of res: to the sessions here;
 * seen is what its publisher had applied when it decided. */
static void
msg_one(struct cluster *c, const struct store_result *res, size_t row,
    const char *from, int64_t seen)
{
	struct server		*srv = c->srv;
	struct decide_world	 w;
	struct decide_entry	 d;
	struct deliver_msg	 m;
	Nwd__V1__Envelope	*env = NULL;
	const struct principal	*pr;
	const char		*mid = store_result_value(res, row, 0);
	const char		*list, *p, *nl, *subject, *route;
	char			 who[CLUSTER_NAME_MAX * 2], why[256];
	size_t			 len, sent = 0, n;
	int			 kind, live;

	if ((list = store_result_value(res, row, 12)) == NULL)
		goto done;
	if ((env = replay_open_stored(srv, res, row, why, sizeof(why))) ==
	    NULL) {
		log_warnx("message=%s event=cluster_deliver_failed "
		    "reason=\"%s\"", mid, why);
		goto done;
	}
	kind = env->header->kind;
	subject = env->header->subject->local_id;
	world_now(srv, &w);
	for (p = list; *p != '\0'; p = nl != NULL ? nl + 1 : p + len) {
		nl = strchr(p, '\n');
		len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		/* "PRINCIPAL ROUTE": the principal is up to the last space. */
		snprintf(who, sizeof(who), "%.*s", (int)len, p);
		route = "";
		if (strrchr(who, ' ') != NULL) {
			route = strrchr(who, ' ') + 1;
			*strrchr(who, ' ') = '\0';
		}
		live = strncmp(route, "live", 4) == 0;
		if (sessidx_count(srv->index, who) == 0) {
			log_debug("message=%s principal=%s event=cluster_no_"
			    "session route=%s seen=%" PRId64, mid, who, route,
			    seen);
			if (live && own_counted(c, who, kind, subject, seen))
				lost_gone(c, mid, subject, kind, who, from,
				    route);
			continue;
		}
		pr = identity_find_id(srv->ids, who);
		memset(&d, 0, sizeof(d));
		if (decide_recipient(&w, pr, who, env, 0, DECIDE_PACK,
		    &d) == -1)
			break;
		if (d.verdict != POLICY_ALLOW) {
			/* What the duty pass allowed the publisher's. */
			decide_entry_clear(&d);
			memset(&d, 0, sizeof(d));
			if (decide_recipient(&w, pr, who, env, 1, DECIDE_PACK,
			    &d) == -1)
				break;
		}
		if (d.verdict != POLICY_ALLOW) {
			log_debug("message=%s principal=%s event=cluster_"
			    "refused route=%s rule=%s reason=\"%s\"", mid, who,
			    route, d.rules, d.reason);
			if (deliver_would_reach(srv->index, who, kind, subject))
				lost_refused(c, mid, subject, kind, who, from,
				    &d);
			else if (live && own_counted(c, who, kind, subject,
			    seen))
				lost_gone(c, mid, subject, kind, who, from,
				    route);
			decide_entry_clear(&d);
			continue;
		}
		m.message_id = mid;
		m.kind = kind;
		m.subject = subject;
		m.bytes = d.bytes;
		m.len = d.len;
		m.withheld = d.withheld != NULL ? d.withheld : "";
		m.rule = d.rules;
		m.policy_version = policy_version(srv->policy);
		n = deliver_fanout_once(srv->index, who, &m);
		if (n == 0 && live && own_counted(c, who, kind, subject, seen))
			lost_gone(c, mid, subject, kind, who, from, route);
		sent += n;
		decide_entry_clear(&d);
	}
done:
	log_debug("message=%s event=cluster_deliver from=%s sessions=%zu "
	    "seen=%" PRId64, mid, from, sent, seen);
	frame_free_envelope(env);
}

static void
msg_job_free(struct msg_job *j)
{
	if (j == NULL)
		return;
	free(j->mid);
	free(j->from);
	free(j->seen);
	free(j);
}

/* The others' messages noted together, read in one query, in order. */
static void
msg_rows(int ok, const struct store_result *res, void *arg)
{
	struct msg_job	*j = arg;
	const char	*mid;
	size_t		 i, k, n = store_result_nrows(res);

	for (k = 0; ok && k < n; k++) {
		mid = store_result_value(res, k, 0);
		for (i = 0; i < j->n; i++)
			if (mid != NULL && strcmp(j->mid[i], mid) == 0)
				break;
		if (i < j->n) {
			msg_one(j->c, res, k, j->from[i], j->seen[i]);
			j->mid[i][0] = '\0';	/* done */
		}
	}
	for (i = 0; i < j->n; i++)
		if (j->mid[i][0] != '\0')
			log_warnx("message=%s event=cluster_deliver_failed "
			    "from=%s reason=\"%s\"", j->mid[i], j->from[i],
			    ok ? "no such message" : "it could not be read");
	msg_job_free(j);
}

/* Reads the messages of j and sends them to the sessions here. */
static void
msg_read(struct cluster *c, struct msg_job *j)
{
	const char	*ids[CLUSTER_MSG_BATCH];
	size_t		 i;

	for (i = 0; i < j->n; i++)
		ids[i] = j->mid[i];
	if (c->closing || store_listen_messages(c->l, ids, j->n, msg_rows,
	    j) == -1) {
		for (i = 0; i < j->n; i++)
			log_warnx("message=%s event=cluster_deliver_failed "
			    "from=%s reason=\"%s\"", j->mid[i], j->from[i],
			    c->closing ? "the instance is stopping" :
			    "out of memory");
		msg_job_free(j);
	}
}

/* What the messages' publishers knew is applied here (ok), or can no
 * longer be waited for: decide with what is known. */
static void
msg_ready(int ok, void *arg)
{
	struct msg_job	*j = arg;

	if (!ok && !j->c->closing)
		log_warnx("message=%s event=cluster_deliver_unsynced "
		    "messages=%zu reason=\"the changes before it could not be "
		    "read; deciding with what this instance knows\"",
		    j->mid[0], j->n);
	msg_read(j->c, j);
}

/*
 * The messages noted in a turn.  Each was decided with every change its
 * publisher had committed before it, and those changes were noted on
 * this connection before the message: the decision here waits until they
 * are applied (they are read on the store's connection, which a message's
 * read on this one may overtake).
 */
static void
on_msgs(evutil_socket_t fd, short what, void *arg)
{
	struct cluster	*c = arg;
	struct msg_job	*j = c->mq;
	struct waiter	*w;
	size_t		 i;

	(void)fd;
	(void)what;
	c->mq = NULL;
	if (j == NULL)
		return;
	if (j->need <= c->applied || c->closing) {
		msg_read(c, j);
		return;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		msg_ready(0, j);
		return;
	}
	for (i = 0; i < j->n; i++)
		log_info("message=%s event=cluster_deliver_wait from=%s "
		    "need=%" PRId64 " applied=%" PRId64, j->mid[i], j->from[i],
		    j->need, c->applied);
	w->gen = ++c->gen;
	w->need = j->need;
	w->fn = msg_ready;
	w->arg = j;
	TAILQ_INSERT_TAIL(&c->waiters, w, entry);
}

/* Another's message: read with the others noted in the same turn. */
static void
message(struct cluster *c, const char *from, const char *mid, int64_t seen)
{
	struct msg_job	*j;

	/* No session here, and none announced lately that a publisher may
	 * still have counted on: nothing to do. */
	if (c->srv->nsessions == 0 && (c->own_at_ms == 0 ||
	    clock_mono_ms() - c->own_at_ms > CLUSTER_OWN_KEEP_MS)) {
		log_debug("message=%s event=cluster_deliver from=%s "
		    "sessions=0", mid, from);
		return;
	}
	if (c->mq != NULL && c->mq->n == CLUSTER_MSG_BATCH)
		on_msgs(-1, 0, c);	/* full: read now */
	if ((j = c->mq) == NULL) {
		if ((j = calloc(1, sizeof(*j))) == NULL ||
		    (j->mid = calloc(CLUSTER_MSG_BATCH,
		    sizeof(*j->mid))) == NULL ||
		    (j->from = calloc(CLUSTER_MSG_BATCH,
		    sizeof(*j->from))) == NULL ||
		    (j->seen = calloc(CLUSTER_MSG_BATCH,
		    sizeof(*j->seen))) == NULL) {
			msg_job_free(j);
			log_warnx("message=%s event=cluster_deliver_failed "
			    "reason=\"out of memory\"", mid);
			return;
		}
		j->c = c;
		c->mq = j;
		event_active(c->ev_msgs, EV_TIMEOUT, 0);
	}
	snprintf(j->mid[j->n], sizeof(j->mid[0]), "%s", mid);
	snprintf(j->from[j->n], sizeof(j->from[0]), "%s", from);
	j->seen[j->n] = seen;
	j->n++;
	if (c->known > j->need)
		j->need = c->known;
}

/* ------------------------------------------------------------------------
 * The connection
 */

static void
on_note(const char *payload, void *arg)
{
	struct cluster	*c = arg;
	char		 type, inst[CLUSTER_NAME_MAX], rest[256];
	long long	 last, count;
	int		 n, off = 0;

	rest[0] = '\0';
	n = sscanf(payload, "%c %127s %255[^\n]", &type, inst, rest);
	if (n < 2)
		return;
	switch (type) {
	case 'c':
		if (sscanf(rest, "%lld %lld", &last, &count) != 2)
			break;
		heard(c, last);
		if (strcmp(inst, me(c)) != 0) {
			if (last > c->pend_store)
				c->pend_store = last;
			cluster_pump(c);
		}
		settle(c);
		break;
	case 'p':
		if (strcmp(inst, me(c)) != 0) {
			c->beat_inflight = 0;
			beat(c);
		}
		break;
	case 's':
		/* "s INSTANCE SEQ [PRINCIPAL]" */
		if (n < 3 || sscanf(rest, "%lld %n", &last, &off) < 1)
			break;
		heard(c, last);
		if (strcmp(inst, me(c)) != 0) {
			if (last > c->pend_live)
				c->pend_live = last;
			live_read(c, inst, rest[off] != '\0' ? rest + off :
			    NULL, last);
		}
		settle(c);
		break;
	case 'm':
		/* "m INSTANCE MESSAGE_ID [SEEN]" */
		if (n == 3 && strcmp(inst, me(c)) != 0) {
			char	mid[40];

			last = -1;
			if (sscanf(rest, "%39s %lld", mid, &last) >= 1)
				message(c, inst, mid, last);
		}
		break;
	case 'd':
		/* Another's deadline: its timer runs here too (the database
		 * lets one escalation through); read with others. */
		if (strcmp(inst, me(c)) != 0 &&
		    !evtimer_pending(c->ev_deadlines, NULL)) {
			struct timeval tv = { 1, 0 };

			evtimer_add(c->ev_deadlines, &tv);
		}
		break;
	default:
		break;
	}
}

static void
head_rows(int ok, const struct store_result *res, void *arg)
{
	struct cluster	*c = arg;
	const char	*v;
	int64_t		 head;

	if (!ok || (v = store_result_value(res, 0, 0)) == NULL)
		return;
	head = strtoll(v, NULL, 10);
	heard(c, head);
	/* What was missed while not listening is read again, whole. */
	if (head > 0) {
		if (head > c->pend_store)
			c->pend_store = head;
		if (head > c->pend_live)
			c->pend_live = head;
		c->live_full = 1;
	}
	cluster_pump(c);
	settle(c);
}

static void
on_state(int up, void *arg)
{
	struct cluster	*c = arg;
	struct session	*s;

	c->up = up;
	if (!up) {
		/* Nobody's sessions are known until it is back. */
		mirror_drop(c, NULL, NULL);
		dirty_clear(c);
		c->beat_inflight = 0;
		c->since_inflight = 0;
		c->live_inflight = 0;
		waiters_release(c, 1, UINT64_MAX);
		return;
	}
	beat(c);
	c->live_full = 1;	/* the mirror is read again whole */
	if (store_listen_live_set(c->l, me(c), NULL, NULL, NULL, 0, announced,
	    c) == -1)
		log_warnx("event=cluster_announce_failed reason=\"out of "
		    "memory\"");
	TAILQ_FOREACH(s, &c->srv->sessions, entry)
		if (s->principal != NULL && s->subs.n > 0)
			cluster_subs_changed(s->principal->id, c);
	if (store_listen_head(c->l, head_rows, c) == -1)
		log_warnx("event=cluster_head_not_read reason=\"out of "
		    "memory\"");
}

static void
on_deadlines(evutil_socket_t fd, short what, void *arg)
{
	struct cluster	*c = arg;

	(void)fd;
	(void)what;
	if (!c->closing && c->srv->store != NULL)
		deadlines_load(c->srv->deadlines);
}

static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct cluster	*c = arg;
	size_t		 i;

	(void)fd;
	(void)what;
	if (c->up)
		for (i = 0; i < c->ndirty; i++)
			announce(c, c->dirty[i]);
	dirty_clear(c);
	cluster_pump(c);
}

struct cluster *
cluster_new(struct server *srv)
{
	struct cluster	*c;
	char		 name[64];

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->srv = srv;
	TAILQ_INIT(&c->waiters);
	snprintf(name, sizeof(name), "nwdd cluster %s", srv->cfg->instance);
	c->l = store_listen_new(srv->base, srv->cfg->database, name,
	    srv->cfg->db_reconnect_max, on_note, on_state, c);
	c->ev_beat = event_new(srv->base, -1, EV_PERSIST, on_beat, c);
	c->ev_flush = evtimer_new(srv->base, on_flush, c);
	c->ev_deadlines = evtimer_new(srv->base, on_deadlines, c);
	c->ev_msgs = evtimer_new(srv->base, on_msgs, c);
	if (c->l == NULL || c->ev_beat == NULL || c->ev_flush == NULL ||
	    c->ev_deadlines == NULL || c->ev_msgs == NULL) {
		cluster_free(c);
		return NULL;
	}
	return c;
}

int
cluster_start(struct cluster *c)
{
	struct timeval	tv = { CLUSTER_HEARTBEAT_MS / 1000,
	    (CLUSTER_HEARTBEAT_MS % 1000) * 1000 };

	if (event_add(c->ev_beat, &tv) == -1)
		return -1;
	return store_listen_start(c->l);
}

void
cluster_stop(struct cluster *c)
{
	if (c == NULL || c->closing)
		return;
	c->up = 0;
	c->closing = 1;
	store_listen_free(c->l);	/* fails its queries */
	c->l = NULL;
	waiters_release(c, 1, UINT64_MAX);
}

void
cluster_free(struct cluster *c)
{
	struct mirror	*m;
	size_t		 i;

	if (c == NULL)
		return;
	cluster_stop(c);
	if (c->ev_beat != NULL)
		event_free(c->ev_beat);
	if (c->ev_flush != NULL)
		event_free(c->ev_flush);
	if (c->ev_deadlines != NULL)
		event_free(c->ev_deadlines);
	if (c->ev_msgs != NULL)
		event_free(c->ev_msgs);
	msg_job_free(c->mq);
	mirror_drop(c, NULL, NULL);
	for (i = 0; i < MIRROR_BUCKETS; i++)
		while ((m = c->own[i]) != NULL) {
			c->own[i] = m->next;
			mirror_free(m);
		}
	dirty_clear(c);
	free(c->dirty);
	free(c->peers);
	free(c);
}
