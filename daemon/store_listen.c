/*
 * store_listen: the cluster's connection (store_listen.h).  A plain
 * non-blocking libpq connection, not pipelined: LISTEN once connected,
 * then one query at a time from a queue, the notifications read whenever
 * the socket has input.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "log.h"
#include "pgarray.h"
#include "store.h"
#include "store_conn.h"
#include "store_int.h"
#include "store_listen.h"
#include "store_sql.h"

#define LISTEN_BACKOFF_MIN_MS	100
#define LISTEN_NPARAMS		4

struct lquery {
	TAILQ_ENTRY(lquery)	 entry;
	const char		*sql;		/* static (store_sql.c) */
	char			*param[LISTEN_NPARAMS];	/* owned; NULL: NULL */
	int			 nparams;
	store_result_fn		*fn;
	void			*arg;		/* the caller's */
};

TAILQ_HEAD(lqueryq, lquery);

enum listen_phase {
	LISTEN_DOWN,		/* no connection; the timer reconnects */
	LISTEN_CONNECT,		/* PQconnectPoll under way */
	LISTEN_LISTEN,		/* LISTEN in flight */
	LISTEN_IDLE,		/* up, no query in flight */
	LISTEN_QUERY,		/* cur in flight */
};

struct store_listen {
	struct event_base	*base;		/* borrowed */
	char			*conninfo;	/* owned */
	char			*name;		/* owned; application_name */
	uint32_t		 backoff_ms;
	uint32_t		 backoff_max_ms;
	store_listen_note_fn	*note;
	store_listen_state_fn	*state;
	void			*arg;		/* the user's */
	PGconn			*pg;		/* owned; NULL while DOWN */
	struct event		*ev_read;	/* owned; NULL while DOWN */
	struct event		*ev_write;	/* owned; NULL while DOWN */
	struct event		*ev_timer;	/* owned */
	enum listen_phase	 phase;
	int			 poll_write;	/* connecting: wants to write */
	struct lqueryq		 queue;		/* owned; waiting */
	struct lquery		*cur;		/* owned; in flight */
	PGresult		*res;		/* owned; cur's rows */
};

static void	listen_kick(struct store_listen *);
static void	listen_drop(struct store_listen *, const char *);

static void
lquery_free(struct lquery *q)
{
	int	i;

	if (q == NULL)
		return;
	for (i = 0; i < q->nparams; i++)
		free(q->param[i]);
	free(q);
}

/* Answers q (ok with res) and frees it. */
static void
lquery_answer(struct lquery *q, int ok, PGresult *res)
{
	struct store_result	r = { res };

	q->fn(ok, ok ? &r : NULL, q->arg);
	lquery_free(q);
}

static void
listen_events_free(struct store_listen *l)
{
	if (l->ev_read != NULL)
		event_free(l->ev_read);
	if (l->ev_write != NULL)
		event_free(l->ev_write);
	l->ev_read = l->ev_write = NULL;
}

/* Fails every query (ok 0), the one in flight first. */
static void
listen_fail_all(struct store_listen *l)
{
	struct lquery	*q;

	PQclear(l->res);
	l->res = NULL;
	if ((q = l->cur) != NULL) {
		l->cur = NULL;
		lquery_answer(q, 0, NULL);
	}
	while ((q = TAILQ_FIRST(&l->queue)) != NULL) {
		TAILQ_REMOVE(&l->queue, q, entry);
		lquery_answer(q, 0, NULL);
	}
}

static void
listen_close(struct store_listen *l)
{
	listen_events_free(l);
	if (l->pg != NULL)
		PQfinish(l->pg);
	l->pg = NULL;
}

/* Flushes what libpq holds; watches for room if some is left. */
static int
listen_flush(struct store_listen *l)
{
	int	rc;

	if ((rc = PQflush(l->pg)) == -1)
		return -1;
	if (rc == 1)
		event_add(l->ev_write, NULL);
	else
		event_del(l->ev_write);
	return 0;
}

/* Reads what arrived: notifications, and the answer in flight. */
static void
listen_input(struct store_listen *l)
{
	PGnotify	*n;
	PGresult	*res;
	struct lquery	*q;
	int		 ok;

	if (!PQconsumeInput(l->pg)) {
		listen_drop(l, PQerrorMessage(l->pg));
		return;
	}
	while (l->phase == LISTEN_LISTEN || l->phase == LISTEN_QUERY) {
		if (PQisBusy(l->pg))
			break;
		if ((res = PQgetResult(l->pg)) != NULL) {
			if (l->phase == LISTEN_QUERY && l->res == NULL)
				l->res = res;
			else if (l->phase == LISTEN_LISTEN &&
			    PQresultStatus(res) != PGRES_COMMAND_OK) {
				PQclear(res);
				listen_drop(l, "LISTEN refused");
				return;
			} else
				PQclear(res);
			continue;
		}
		/* The answer is complete. */
		if (l->phase == LISTEN_LISTEN) {
			l->phase = LISTEN_IDLE;
			l->backoff_ms = LISTEN_BACKOFF_MIN_MS;
			log_info("event=cluster_listening channel=%s",
			    STORE_LISTEN_CHANNEL);
			l->state(1, l->arg);
		} else {
			q = l->cur;
			l->cur = NULL;
			res = l->res;
			l->res = NULL;
			l->phase = LISTEN_IDLE;
			ok = res != NULL &&
			    PQresultStatus(res) == PGRES_TUPLES_OK;
			if (!ok)
				log_warnx("event=cluster_query_failed "
				    "error=\"%s\"", res != NULL ?
				    PQresultErrorMessage(res) : "no result");
			lquery_answer(q, ok, res);
			PQclear(res);
		}
		if (l->pg == NULL)
			return;
	}
	while (l->pg != NULL && (n = PQnotifies(l->pg)) != NULL) {
		if (strcmp(n->relname, STORE_LISTEN_CHANNEL) == 0)
			l->note(n->extra, l->arg);
		PQfreemem(n);
	}
	if (l->pg != NULL)
		listen_kick(l);
}

static void
listen_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct store_listen	*l = arg;

	(void)fd;
	(void)what;
	if (l->phase == LISTEN_CONNECT)
		return;
	if (listen_flush(l) == -1)
		listen_drop(l, PQerrorMessage(l->pg));
}

static void	listen_poll(struct store_listen *);

static void
listen_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct store_listen	*l = arg;

	(void)fd;
	(void)what;
	if (l->phase == LISTEN_CONNECT)
		listen_poll(l);
	else
		listen_input(l);
}

static void
listen_on_connect_io(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	listen_poll(arg);
}

/* Drives PQconnectPoll; once connected, LISTENs. */
static void
listen_poll(struct store_listen *l)
{
	PostgresPollingStatusType	st;
	int				fd;

	st = PQconnectPoll(l->pg);
	if (st == PGRES_POLLING_FAILED) {
		listen_drop(l, PQerrorMessage(l->pg));
		return;
	}
	fd = PQsocket(l->pg);
	listen_events_free(l);
	if (st == PGRES_POLLING_READING || st == PGRES_POLLING_WRITING) {
		l->ev_read = event_new(l->base, fd,
		    st == PGRES_POLLING_READING ? EV_READ : EV_WRITE,
		    listen_on_connect_io, l);
		if (l->ev_read == NULL || event_add(l->ev_read, NULL) == -1)
			listen_drop(l, "out of memory");
		return;
	}
	/* PGRES_POLLING_OK */
	l->ev_read = event_new(l->base, fd, EV_READ | EV_PERSIST,
	    listen_on_read, l);
	l->ev_write = event_new(l->base, fd, EV_WRITE, listen_on_write, l);
	if (l->ev_read == NULL || l->ev_write == NULL ||
	    event_add(l->ev_read, NULL) == -1 ||
	    PQsetnonblocking(l->pg, 1) == -1) {
		listen_drop(l, "out of memory");
		return;
	}
	l->phase = LISTEN_LISTEN;
	if (!PQsendQuery(l->pg, "LISTEN " STORE_LISTEN_CHANNEL) ||
	    listen_flush(l) == -1)
		listen_drop(l, PQerrorMessage(l->pg));
}

static void
listen_connect(struct store_listen *l)
{
	static const char *const keys[] = { "dbname", "application_name",
	    NULL };
	const char *vals[] = { l->conninfo, l->name, NULL };

	/* The conninfo is expanded; the name marks it in pg_stat_activity. */
	if ((l->pg = PQconnectStartParams(keys, vals, 1)) == NULL) {
		listen_drop(l, "out of memory");
		return;
	}
	if (PQstatus(l->pg) == CONNECTION_BAD) {
		listen_drop(l, PQerrorMessage(l->pg));
		return;
	}
	PQsetNoticeReceiver(l->pg, store_conn_notice, NULL);
	l->phase = LISTEN_CONNECT;
	/* Before the first poll, as if it had asked to write. */
	l->ev_read = event_new(l->base, PQsocket(l->pg), EV_WRITE,
	    listen_on_connect_io, l);
	if (l->ev_read == NULL || event_add(l->ev_read, NULL) == -1)
		listen_drop(l, "out of memory");
}

static void
listen_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct store_listen	*l = arg;

	(void)fd;
	(void)what;
	if (l->phase == LISTEN_DOWN)
		listen_connect(l);
}

/* The connection is lost: say so, fail the queries, retry later. */
static void
listen_drop(struct store_listen *l, const char *why)
{
	struct timeval		 tv;
	int			 was_up = l->phase >= LISTEN_IDLE;
	char			 msg[256], *p;
	size_t			 len;

	snprintf(msg, sizeof(msg), "%s", why != NULL ? why : "unknown");
	len = strlen(msg);
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		msg[--len] = '\0';
	for (p = msg; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r' || *p == '"')
			*p = ' ';
	listen_close(l);
	l->phase = LISTEN_DOWN;
	log_warnx("event=cluster_connection_lost reason=\"%s\" retry_ms=%u",
	    msg, l->backoff_ms);
	/* Told first, so that the failed queries' callbacks queue none. */
	if (was_up)
		l->state(0, l->arg);
	tv.tv_sec = l->backoff_ms / 1000;
	tv.tv_usec = (l->backoff_ms % 1000) * 1000;
	evtimer_add(l->ev_timer, &tv);
	l->backoff_ms = l->backoff_ms * 2 > l->backoff_max_ms ?
	    l->backoff_max_ms : l->backoff_ms * 2;
	listen_fail_all(l);
}

/* Sends the next query if nothing is in flight. */
static void
listen_kick(struct store_listen *l)
{
	struct lquery	*q;

	if (l->phase != LISTEN_IDLE || (q = TAILQ_FIRST(&l->queue)) == NULL)
		return;
	TAILQ_REMOVE(&l->queue, q, entry);
	l->cur = q;
	l->phase = LISTEN_QUERY;
	if (!PQsendQueryParams(l->pg, q->sql, q->nparams, NULL,
	    (const char *const *)q->param, NULL, NULL, 1) ||
	    listen_flush(l) == -1)
		listen_drop(l, PQerrorMessage(l->pg));
}

struct store_listen *
store_listen_new(struct event_base *base, const char *conninfo,
    const char *name, uint32_t reconnect_max, store_listen_note_fn *note,
    store_listen_state_fn *state, void *arg)
{
	struct store_listen	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->base = base;
	l->note = note;
	l->state = state;
	l->arg = arg;
	l->backoff_ms = LISTEN_BACKOFF_MIN_MS;
	l->backoff_max_ms = reconnect_max > 0 ? reconnect_max * 1000 : 30000;
	TAILQ_INIT(&l->queue);
	if ((l->conninfo = strdup(conninfo)) == NULL ||
	    (l->name = strdup(name)) == NULL ||
	    (l->ev_timer = evtimer_new(base, listen_on_timer, l)) == NULL) {
		free(l->conninfo);
		free(l->name);
		free(l);
		return NULL;
	}
	return l;
}

int
store_listen_start(struct store_listen *l)
{
	struct timeval	tv = { 0, 0 };

	return evtimer_add(l->ev_timer, &tv);
}

void
store_listen_free(struct store_listen *l)
{
	if (l == NULL)
		return;
	listen_close(l);
	l->phase = LISTEN_DOWN;
	listen_fail_all(l);
	event_free(l->ev_timer);
	free(l->conninfo);
	free(l->name);
	free(l);
}

/* Queues sql with n parameters (copied; NULL is SQL NULL). */
static int
listen_query(struct store_listen *l, const char *sql, int n,
    const char *const *v, store_result_fn *fn, void *arg)
{
	struct lquery	*q;
	int		 i;

	if (n > LISTEN_NPARAMS || (q = calloc(1, sizeof(*q))) == NULL)
		return -1;
	q->sql = sql;
	q->fn = fn;
	q->arg = arg;
	for (i = 0; i < n; i++, q->nparams++)
		if (v[i] != NULL && (q->param[i] = strdup(v[i])) == NULL) {
			lquery_free(q);
			return -1;
		}
	TAILQ_INSERT_TAIL(&l->queue, q, entry);
	listen_kick(l);
	return 0;
}

int
store_listen_heartbeat(struct store_listen *l, const char *instance,
    const char *policy_version, uint32_t live_ms, store_result_fn *fn,
    void *arg)
{
	char		 ms[16];
	const char	*v[3] = { instance, policy_version, ms };

	snprintf(ms, sizeof(ms), "%" PRIu32, live_ms);
	return listen_query(l, store_sql_cluster_heartbeat, 3, v, fn, arg);
}

int
store_listen_notify(struct store_listen *l, const char *payload,
    store_result_fn *fn, void *arg)
{
	return listen_query(l, store_sql_cluster_notify, 1, &payload, fn,
	    arg);
}

int
store_listen_head(struct store_listen *l, store_result_fn *fn, void *arg)
{
	return listen_query(l, store_sql_cluster_head, 0, NULL, fn, arg);
}

int
store_listen_changes(struct store_listen *l, int64_t after,
    const char *instance, store_result_fn *fn, void *arg)
{
	char		 a[24];
	const char	*v[2] = { a, instance };

	snprintf(a, sizeof(a), "%" PRId64, after);
	return listen_query(l, store_sql_cluster_since, 2, v, fn, arg);
}

int
store_listen_live_set(struct store_listen *l, const char *instance,
    const char *principal, const uint32_t *kinds,
    const char *const *subjects, size_t n, store_result_fn *fn, void *arg)
{
	struct pgarray	 a[2];
	const char	*v[4];
	size_t		 i;
	int		 len, rc = -1;

	if (principal == NULL)
		return listen_query(l, store_sql_cluster_live_clear, 1,
		    &instance, fn, arg);
	pgarray_start(&a[0], PGARRAY_LITERAL);
	pgarray_start(&a[1], PGARRAY_LITERAL);
	for (i = 0; i < n; i++) {
		pgarray_add_i64(&a[0], kinds[i]);
		pgarray_add(&a[1], subjects[i]);
	}
	v[0] = instance;
	v[1] = principal;
	if (pgarray_finish(&a[0], &v[2], &len) == 0 &&
	    pgarray_finish(&a[1], &v[3], &len) == 0)
		rc = listen_query(l, store_sql_cluster_live_set, 4, v, fn,
		    arg);
	pgarray_free(&a[0]);
	pgarray_free(&a[1]);
	return rc;
}

int
store_listen_live_get(struct store_listen *l, const char *instance,
    const char *principal, const char *not_instance, store_result_fn *fn,
    void *arg)
{
	const char	*v[3] = { instance, principal, not_instance };

	return listen_query(l, store_sql_cluster_live_get, 3, v, fn, arg);
}

int
store_listen_messages(struct store_listen *l, const char *const *ids,
    size_t n, store_result_fn *fn, void *arg)
{
	struct pgarray	 a;
	const char	*v[1];
	size_t		 i;
	int		 len, rc = -1;

	pgarray_start(&a, PGARRAY_LITERAL);
	for (i = 0; i < n; i++)
		pgarray_add(&a, ids[i]);
	if (pgarray_finish(&a, &v[0], &len) == 0)
		rc = listen_query(l, store_sql_cluster_message, 1, v, fn, arg);
	pgarray_free(&a);
	return rc;
}
