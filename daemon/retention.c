#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#include "audit.h"
#include "clock.h"
#include "config.h"
#include "envelope.h"
#include "log.h"
#include "retention.h"
#include "server.h"
#include "store.h"

struct retention {
	struct server	*srv;		/* borrowed */
	struct event	*timer;		/* owned */
	int		 running;	/* a purge is under way */
	int		 kind;		/* the kind being purged */
	size_t		 purged;	/* bodies purged in this round */
	size_t		 chunk;		/* bodies in the batch in flight */
};


/* Expired bodies are taken this many at a time (memory stays bounded). */
#define RETENTION_CHUNK	1000

static void	purge_kind(struct retention *);

/* The chunk's transaction is over: the same kind again, or the next. */
static void
purge_done(enum store_outcome outcome, void *arg)
{
	struct retention	*r = arg;

	if (outcome != STORE_COMMITTED) {
		log_warnx("event=purge_failed kind=%s reason=\"%s\"",
		    envelope_kind_name(r->kind),
		    outcome == STORE_FAILED ? "database refused the purge"
		                            : "database unavailable");
		r->running = 0;
		return;
	}
	r->purged += r->chunk;
	if (r->chunk < RETENTION_CHUNK)
		r->kind++;
	purge_kind(r);
}

/*
 * Removes the expired bodies found and audits each removal, in one batch:
 * the removal and its audit row commit together or not at all.
 */
static void
expired_cb(int ok, const struct store_result *res, void *arg)
{
	struct retention	*r = arg;
	struct store_batch	*b;
	struct audit_event	*ev;
	char			 reason[128];
	size_t			 i, n;

	if (!ok) {
		log_warnx("event=purge_failed kind=%s reason=\"database "
		          "unavailable\"",
		    envelope_kind_name(r->kind));
		r->running = 0;
		return;
	}
	if ((n = store_result_nrows(res)) == 0) {
		r->kind++;
		purge_kind(r);
		return;
	}
	snprintf(reason, sizeof(reason),
	    "retention: %s bodies are kept %u "
	    "days",
	    envelope_kind_name(r->kind), r->srv->cfg->retention_days[r->kind]);
	if ((b = store_batch_new()) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		if ((ev = audit_event_new(AUDIT_PURGE,
		    r->srv->cfg->instance)) == NULL)
			goto nomem;
		ev->kind = r->kind;
		if (audit_event_set(ev, AUDIT_F_MESSAGE_ID,
		    store_result_value(res, i, 0)) == -1 ||
		    audit_event_set(ev, AUDIT_F_SUBJECT,
		    store_result_value(res, i, 1)) == -1 ||
		    audit_event_set(ev, AUDIT_F_REASON, reason) == -1) {
			audit_event_free(ev);
			goto nomem;
		}
		if (store_batch_add_event(b, ev) == -1 ||
		    store_batch_add_purge(b, store_result_value(res, i,
		    0)) == -1)
			goto nomem;
	}
	r->chunk = n;
	if (store_submit(r->srv->store, b, purge_done, r) == -1) {
		store_batch_free(b);
		log_warnx("event=purge_failed kind=%s reason=\"database "
		          "unavailable\"",
		    envelope_kind_name(r->kind));
		r->running = 0;
	}
	return;
 nomem:
	store_batch_free(b);
	log_warnx("event=purge_failed kind=%s reason=\"out of memory\"",
	    envelope_kind_name(r->kind));
	r->running = 0;
}

static void
purge_kind(struct retention *r)
{
	const struct config	*cfg = r->srv->cfg;
	int64_t			 before;

	if (envelope_kind_name(r->kind) == NULL) {
		if (r->purged > 0)
			log_info("event=purge bodies=%zu", r->purged);
		r->running = 0;
		return;
	}
	before = clock_wall_ms() - (int64_t)cfg->retention_days[r->kind] * 86400000LL;
	if (store_query_expired(r->srv->store, r->kind, before,
	    RETENTION_CHUNK, expired_cb, r) == -1) {
		log_warnx("event=purge_skipped reason=\"database "
		    "unavailable\"");
		r->running = 0;
	}
}

void
retention_purge_now(struct retention *r)
{
	if (r->running)
		return;
	r->running = 1;
	r->kind = 1;
	r->purged = 0;
	purge_kind(r);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct retention	*r = arg;
	struct timeval		 tv = { r->srv->cfg->purge_interval, 0 };

	retention_purge_now(r);
	evtimer_add(r->timer, &tv);
}

struct retention *
retention_start(struct server *srv)
{
	struct retention	*r;
	struct timeval		 tv = { srv->cfg->purge_interval, 0 };

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->srv = srv;
	if ((r->timer = evtimer_new(srv->base, timer_cb, r)) == NULL) {
		free(r);
		return NULL;
	}
	evtimer_add(r->timer, &tv);
	return r;
}

void
retention_free(struct retention *r)
{
	if (r == NULL)
		return;
	event_free(r->timer);
	free(r);
}
