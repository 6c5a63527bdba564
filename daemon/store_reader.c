/*
 * store_reader: a second connection of the store for the queries that
 * need not wait for the write path (store_query_unordered() in
 * store_query.c: today a durable replay's pages).
 *
 * The store's own connection runs one section at a time: a page of a
 * replay queried there waits for the transaction before it, and the
 * transaction after it waits for the page.  On a connection of its own
 * the database reads the next page in one backend while it writes this
 * page's audit rows in the other (BENCHMARKS.md, session 11).
 *
 * Life: the reader opens when the first such query comes while the store
 * is READY (that query runs on the store's connection; the next ones
 * here), and closes when the store drops its connection (its queries then
 * fail, as the store's own do).  If
 * the reader alone is lost, its queries (the one in flight and those
 * waiting) go back to the store's own queue, in order, where they run as
 * any query does, and the reader opens again after READER_RETRY_MS while
 * the store is READY.  While the reader is not up, store_reader_take()
 * refuses a query and the caller queues it on the store's connection: the
 * reader only ever makes a query earlier, never lost.
 *
 * A query here is read-only SQL of the store's own (store_sql.c); it sees
 * what was committed when it runs, so it must not depend on a batch
 * submitted before it (store_query() is for those).
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "store_conn.h"
#include "store_int.h"

#define READER_RETRY_MS	1000
#define READER_SECTION	1	/* the only section it names */

static void
reader_pump(struct store *s)
{
	struct store_query	*q;
	PGconn			*pg;

	if (s->rstate != STORE_READER_IDLE ||
	    (q = TAILQ_FIRST(&s->rqueries)) == NULL)
		return;
	TAILQ_REMOVE(&s->rqueries, q, entry);
	s->rcur = q;
	s->rstate = STORE_READER_BUSY;
	pg = store_conn_pg(s->rconn);
	store_conn_expect(s->rconn, READER_SECTION, 1);
	if (!PQsendQueryParams(pg, q->sql, q->nparams, NULL,
	    (const char *const *)q->param, NULL, NULL, 1) ||
	    !PQpipelineSync(pg)) {
		store_reader_lost(s, PQerrorMessage(pg));
		return;
	}
	(void)store_conn_flush(s->rconn);
}

static void
reader_on_up(struct store_conn *c, void *arg)
{
	struct store	*s = arg;

	(void)c;
	s->rstate = STORE_READER_IDLE;
	log_info("store: reader connected instance=%s"
	    " event=reader_connected", s->instance);
	reader_pump(s);
}

static int
reader_on_result(struct store_conn *c, int what, int idx, PGresult *res,
    void *arg)
{
	struct store	*s = arg;

	(void)c;
	(void)what;
	if (idx == 0 && s->rcur != NULL && s->rcur->res == NULL) {
		s->rcur->res = res;
		return 1;
	}
	return 0;
}

static void
reader_on_sync(struct store_conn *c, int what, void *arg)
{
	struct store		*s = arg;
	struct store_query	*q = s->rcur;

	(void)what;
	s->rcur = NULL;
	s->rstate = STORE_READER_IDLE;
	if (q != NULL)
		store_query_answered(s, q, store_conn_err(c));
	reader_pump(s);
}

static void
reader_on_lost(struct store_conn *c, const char *why, void *arg)
{
	(void)c;
	store_reader_lost(arg, why);
}

static const struct store_conn_cb reader_callbacks = {
	.up = reader_on_up,
	.result = reader_on_result,
	.sync = reader_on_sync,
	.lost = reader_on_lost,
};

static void
reader_on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	store_reader_open(arg);
}

int
store_reader_new(struct store *s)
{
	TAILQ_INIT(&s->rqueries);
	s->rstate = STORE_READER_DOWN;
	if ((s->rconn = store_conn_new(s->base, &reader_callbacks, s)) ==
	    NULL ||
	    (s->ev_rtimer = evtimer_new(s->base, reader_on_timer, s)) == NULL)
		return -1;
	return 0;
}

void
store_reader_open(struct store *s)
{
	if (s->rconn == NULL || s->closing || s->state != STORE_READY ||
	    s->rstate != STORE_READER_DOWN)
		return;
	s->rstate = STORE_READER_CONNECT;
	/* On -1 the attempt failed at once and lost has run. */
	(void)store_conn_open(s->rconn, s->conninfo);
}

/* Moves the reader's queries to the head of the store's queue, in order. */
static void
reader_give_back(struct store *s)
{
	struct store_query	*q;

	while ((q = TAILQ_LAST(&s->rqueries, store_queryq)) != NULL) {
		TAILQ_REMOVE(&s->rqueries, q, entry);
		q->after = 0;
		TAILQ_INSERT_HEAD(&s->queries, q, entry);
	}
	if ((q = s->rcur) != NULL) {
		s->rcur = NULL;
		PQclear(q->res);
		q->res = NULL;
		q->after = 0;
		TAILQ_INSERT_HEAD(&s->queries, q, entry);
	}
}

void
store_reader_lost(struct store *s, const char *why)
{
	struct timeval	tv = { READER_RETRY_MS / 1000,
			    (READER_RETRY_MS % 1000) * 1000 };
	char		buf[256];

	store_conn_oneline(why, buf, sizeof(buf));
	store_conn_close(s->rconn);
	s->rstate = STORE_READER_DOWN;
	reader_give_back(s);
	if (s->closing || s->state != STORE_READY)
		return;
	log_warnx("store: reader connection lost; its queries run on the "
	    "store's connection retry_ms=%d error=\"%s\""
	    " event=reader_lost", READER_RETRY_MS,
	    buf);
	evtimer_add(s->ev_rtimer, &tv);
	event_active(s->ev_defer, EV_TIMEOUT, 0);
}

void
store_reader_close(struct store *s)
{
	struct store_query	*q;

	if (s->rconn == NULL)
		return;
	if (s->ev_rtimer != NULL)
		evtimer_del(s->ev_rtimer);
	store_conn_close(s->rconn);
	s->rstate = STORE_READER_DOWN;
	if ((q = s->rcur) != NULL) {
		s->rcur = NULL;
		store_query_finish(s, q, 0);
	}
	while ((q = TAILQ_FIRST(&s->rqueries)) != NULL) {
		TAILQ_REMOVE(&s->rqueries, q, entry);
		store_query_finish(s, q, 0);
	}
}

void
store_reader_free(struct store *s)
{
	store_reader_close(s);
	if (s->ev_rtimer != NULL)
		event_free(s->ev_rtimer);
	s->ev_rtimer = NULL;
	store_conn_free(s->rconn);
	s->rconn = NULL;
}

int
store_reader_take(struct store *s, struct store_query *q)
{
	if (s->rstate == STORE_READER_DOWN &&
	    !evtimer_pending(s->ev_rtimer, NULL))
		store_reader_open(s);
	if (s->rstate != STORE_READER_IDLE && s->rstate != STORE_READER_BUSY)
		return -1;
	TAILQ_INSERT_TAIL(&s->rqueries, q, entry);
	reader_pump(s);
	return 0;
}
