#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#include "audit.h"
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
};

static void	purge_next(struct retention *);

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Audits each purged body, then goes on with the next kind. */
static void
purged_cb(int ok, const struct store_result *res, void *arg)
{
	struct retention	*r = arg;
	struct store_batch	*b = NULL;
	struct audit_event	*ev;
	char			 reason[128];
	size_t			 i, n;

	if (!ok) {
		log_warnx("event=purge_failed kind=%s reason=\"database "
		    "unavailable\"", kind_name(r->kind));
		r->running = 0;
		return;
	}
	n = store_result_nrows(res);
	snprintf(reason, sizeof(reason), "retention: %s bodies are kept %u "
	    "days", kind_name(r->kind), r->srv->cfg->retention_days[r->kind]);
	for (i = 0; i < n; i++) {
		if (b == NULL && (b = store_batch_new()) == NULL)
			break;
		if ((ev = audit_event_new(AUDIT_PURGE,
		    r->srv->cfg->instance)) == NULL)
			break;
		ev->kind = r->kind;
		audit_event_set(ev, AUDIT_F_MESSAGE_ID,
		    store_result_value(res, i, 0));
		audit_event_set(ev, AUDIT_F_SUBJECT,
		    store_result_value(res, i, 1));
		audit_event_set(ev, AUDIT_F_REASON, reason);
		store_batch_add_event(b, ev);
	}
	if (b != NULL)
		store_submit_detached(r->srv->store, b);
	r->purged += n;
	r->kind++;
	purge_next(r);
}

static void
purge_next(struct retention *r)
{
	const struct config	*cfg = r->srv->cfg;
	int64_t			 before;

	for (; kind_name(r->kind) != NULL; r->kind++) {
		before = now_ms() -
		    (int64_t)cfg->retention_days[r->kind] * 86400000LL;
		if (store_purge_bodies(r->srv->store, r->kind, before,
		    purged_cb, r) == 0)
			return;
		log_warnx("event=purge_skipped reason=\"database "
		    "unavailable\"");
		break;
	}
	if (r->purged > 0)
		log_info("event=purge bodies=%zu", r->purged);
	r->running = 0;
}

void
retention_purge_now(struct retention *r)
{
	if (r->running)
		return;
	r->running = 1;
	r->kind = 1;
	r->purged = 0;
	purge_next(r);
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
