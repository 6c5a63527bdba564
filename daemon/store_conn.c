/*
 * store_conn: one PostgreSQL connection in pipeline mode on the libevent
 * loop (see store_conn.h for the contract).  It owns the PGconn, the event
 * on its socket, connecting, flushing and reading, and the count and
 * first error of the section in flight; what a section is for, it leaves
 * to its user, whom it calls through the callbacks it was given.
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "log.h"
#include "store.h"
#include "store_conn.h"

struct store_conn {
	struct event_base	*base;		/* borrowed */
	const struct store_conn_cb *cb;		/* borrowed */
	void			*arg;		/* the user's */

	PGconn			*pg;		/* owned; NULL while closed */
	struct event		*ev_io;		/* owned; on PQsocket(pg) */
	evutil_socket_t		 io_fd;
	short			 io_what;
	int			 connecting;	/* PQconnectPoll under way */
	int			 flushing;	/* PQflush wants EV_WRITE */

	/* The pipeline in flight. */
	int			 insection;	/* a section awaits its sync */
	int			 what;		/* the user's name for it */
	struct timespec		 since;		/* CLOCK_MONOTONIC, at send */
	int			 nexpect;	/* results due before sync */
	int			 nresults;
	struct store_conn_err	 err;		/* the first error */
};

static int	store_conn_watch(struct store_conn *, short);
static void	store_conn_on_io(evutil_socket_t, short, void *);

/*
 * Tells the user the connection failed, for the reason why, then closes
 * it if the user has not.  Every caller returns at once, or (reading
 * results) finds c closed and stops.
 */
static void
store_conn_lost(struct store_conn *c, const char *why)
{
	c->cb->lost(c, why, c->arg);
	store_conn_close(c);
}

struct store_conn *
store_conn_new(struct event_base *base, const struct store_conn_cb *cb,
    void *arg)
{
	struct store_conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->base = base;
	c->cb = cb;
	c->arg = arg;
	c->io_fd = -1;
	return c;
}

void
store_conn_free(struct store_conn *c)
{
	if (c == NULL)
		return;
	store_conn_close(c);
	free(c);
}

void
store_conn_close(struct store_conn *c)
{
	if (c == NULL)
		return;
	if (c->ev_io != NULL) {
		event_free(c->ev_io);
		c->ev_io = NULL;
	}
	PQfinish(c->pg);
	c->pg = NULL;
	c->flushing = 0;
	c->connecting = 0;
	c->insection = 0;
}

PGconn *
store_conn_pg(const struct store_conn *c)
{
	return c != NULL ? c->pg : NULL;
}

/* Copies a libpq message into buf on one line, without its final newline. */
const char *
store_conn_oneline(const char *in, char *buf, size_t len)
{
	size_t	i = 0;
	int	space = 0;

	if (in == NULL)
		in = "";
	for (; *in != '\0' && i + 1 < len; in++) {
		if (*in == '\n' || *in == '\t' || *in == '\r' || *in == ' ') {
			space = 1;
			continue;
		}
		if (space && i > 0 && i + 2 < len)
			buf[i++] = ' ';
		space = 0;
		buf[i++] = *in == '"' ? '\'' : *in;
	}
	buf[i] = '\0';
	return buf;
}

void
store_conn_notice(void *arg, const PGresult *res)
{
	const char	*sev, *msg;
	char		 buf[256];

	sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (sev == NULL || msg == NULL)
		return;
	store_conn_oneline(msg, buf, sizeof(buf));
	if (strcmp(sev, "NOTICE") == 0 || strcmp(sev, "INFO") == 0 ||
	    strcmp(sev, "DEBUG") == 0 || strcmp(sev, "LOG") == 0)
		log_debug("store: server severity=%s message=\"%s\""
		    " event=store_server_message", sev, buf);
	else
		log_warnx("store: server severity=%s message=\"%s\""
		    " event=store_server_message", sev, buf);
}

int
store_conn_open(struct store_conn *c, const char *conninfo)
{
	static const char *const keys[] = {
		"dbname", "fallback_application_name", "client_encoding", NULL
	};
	const char	*vals[] = { conninfo, "nwdd", "UTF8", NULL };

	/* Note: resolving a host name here blocks (a libpq limitation). */
	c->pg = PQconnectStartParams(keys, vals, 1);
	if (c->pg == NULL) {
		store_conn_lost(c, "out of memory");
		return -1;
	}
	if (PQstatus(c->pg) == CONNECTION_BAD) {
		store_conn_lost(c, PQerrorMessage(c->pg));
		return -1;
	}
	PQsetNoticeReceiver(c->pg, store_conn_notice, c);
	c->connecting = 1;
	return store_conn_watch(c, EV_WRITE);
}

/* Connected: into pipeline mode, then the user's first section. */
static void
store_conn_up(struct store_conn *c)
{
	c->connecting = 0;
	if (PQsetnonblocking(c->pg, 1) != 0 ||
	    PQenterPipelineMode(c->pg) != 1) {
		store_conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	/* Terse: a message's DETAIL can quote row contents. */
	PQsetErrorVerbosity(c->pg, PQERRORS_TERSE);
	c->cb->up(c, c->arg);
}

static void
store_conn_poll(struct store_conn *c)
{
	switch (PQconnectPoll(c->pg)) {
	case PGRES_POLLING_READING:
		store_conn_watch(c, EV_READ);
		break;
	case PGRES_POLLING_WRITING:
		store_conn_watch(c, EV_WRITE);
		break;
	case PGRES_POLLING_OK:
		store_conn_up(c);
		break;
	default:
		store_conn_lost(c, PQerrorMessage(c->pg));
		break;
	}
}

/* Watches the connection's socket for what (EV_READ and/or EV_WRITE). */
static int
store_conn_watch(struct store_conn *c, short what)
{
	evutil_socket_t	fd;

	if ((fd = PQsocket(c->pg)) < 0) {
		store_conn_lost(c, "no socket");
		return -1;
	}
	/*
	 * While connecting libpq may close the socket and open another with
	 * the same number, so the event is always made anew then.
	 */
	if (c->ev_io != NULL && !c->connecting &&
	    c->io_fd == fd && c->io_what == what)
		return 0;
	if (c->ev_io != NULL)
		event_free(c->ev_io);
	c->ev_io = event_new(c->base, fd, what | EV_PERSIST, store_conn_on_io,
	    c);
	if (c->ev_io == NULL || event_add(c->ev_io, NULL) == -1) {
		store_conn_lost(c, "cannot watch the database socket");
		return -1;
	}
	c->io_fd = fd;
	c->io_what = what;
	return 0;
}

/* Sends what libpq has buffered; watches for EV_WRITE until it is out. */
int
store_conn_flush(struct store_conn *c)
{
	switch (PQflush(c->pg)) {
	case 0:
		c->flushing = 0;
		break;
	case 1:
		c->flushing = 1;
		break;
	default:
		store_conn_lost(c, PQerrorMessage(c->pg));
		return -1;
	}
	return store_conn_watch(c, EV_READ | (c->flushing ? EV_WRITE : 0));
}

/* Starts a pipeline section that expects n results before its sync. */
void
store_conn_expect(struct store_conn *c, int what, int n)
{
	c->insection = 1;
	c->what = what;
	clock_gettime(CLOCK_MONOTONIC, &c->since);
	c->nexpect = n;
	c->nresults = 0;
	c->err.failed = 0;
	c->err.errstate[0] = '\0';
	c->err.errmsg[0] = '\0';
	c->err.errconstraint[0] = '\0';
}

const struct timespec *
store_conn_since(const struct store_conn *c)
{
	return &c->since;
}

const struct store_conn_err *
store_conn_err(const struct store_conn *c)
{
	return &c->err;
}

/* The sync of the section in flight arrived. */
static void
store_conn_on_sync(struct store_conn *c)
{
	char	buf[64];

	if (c->nresults != c->nexpect) {
		snprintf(buf, sizeof(buf), "pipeline out of step: %d results "
		    "for %d statements", c->nresults, c->nexpect);
		store_conn_lost(c, buf);
		return;
	}
	c->insection = 0;
	c->cb->sync(c, c->what, c->arg);
}

/*
 * One statement's result.  Returns 1 if the user kept res (the result
 * callback said so), else 0 and the caller clears it.  May lose the
 * connection.
 */
static int
store_conn_on_result(struct store_conn *c, PGresult *res)
{
	const char	*sev, *state, *msg, *cons;
	int		 idx = c->nresults++;

	switch (PQresultStatus(res)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
		return c->cb->result(c, c->what, idx, res, c->arg);
	case PGRES_PIPELINE_ABORTED:
		return 0;
	default:
		break;
	}
	sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	cons = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
	if (msg == NULL)
		msg = PQresultErrorMessage(res);
	if (PQstatus(c->pg) == CONNECTION_BAD ||
	    PQresultStatus(res) == PGRES_BAD_RESPONSE || (sev != NULL &&
	    (strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0))) {
		store_conn_lost(c, msg);
		return 0;
	}
	if (c->err.failed)
		return 0;
	c->err.failed = 1;
	snprintf(c->err.errstate, sizeof(c->err.errstate), "%s",
	    state != NULL ? state : "-");
	snprintf(c->err.errconstraint, sizeof(c->err.errconstraint), "%s",
	    cons != NULL ? cons : "");
	store_conn_oneline(msg, c->err.errmsg, sizeof(c->err.errmsg));
	return 0;
}

/* Takes every result that has arrived. */
static void
store_conn_read(struct store_conn *c)
{
	PGresult	*res;
	int		 nulls = 0;

	while (c->pg != NULL && c->insection) {
		if (PQisBusy(c->pg))
			break;
		/* NULL ends each statement's results; twice means none due. */
		if ((res = PQgetResult(c->pg)) == NULL) {
			if (++nulls > 1)
				break;
			continue;
		}
		nulls = 0;
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			store_conn_on_sync(c);
			continue;
		}
		if (!store_conn_on_result(c, res))
			PQclear(res);
	}
}

static void
store_conn_on_io(evutil_socket_t fd, short what, void *arg)
{
	struct store_conn	*c = arg;

	if (c->connecting) {
		store_conn_poll(c);
		return;
	}
	if (what & EV_READ) {
		if (!PQconsumeInput(c->pg)) {
			store_conn_lost(c, PQerrorMessage(c->pg));
			return;
		}
		/* Parses what came while idle (a FATAL goes to the log). */
		if (!c->insection)
			(void)PQisBusy(c->pg);
	}
	if (PQstatus(c->pg) == CONNECTION_BAD) {
		store_conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	if (c->flushing && store_conn_flush(c) == -1)
		return;
	store_conn_read(c);
}

/*
 * Runs the connection (blocking, for shutdown only: store_free()) until
 * nothing is in flight, the connection is gone or ms have passed.
 */
void
store_conn_wait(struct store_conn *c, int ms)
{
	struct timespec	now, end;
	struct pollfd	pfd;
	long		left;
	short		what;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += ms / 1000;
	end.tv_nsec += (long)(ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	while (c->pg != NULL && c->insection) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = (long)(end.tv_sec - now.tv_sec) * 1000 +
		    (end.tv_nsec - now.tv_nsec) / 1000000;
		if (left <= 0)
			break;
		pfd.fd = PQsocket(c->pg);
		pfd.events = POLLIN | (c->flushing ? POLLOUT : 0);
		pfd.revents = 0;
		if (pfd.fd < 0 || poll(&pfd, 1, (int)left) == -1)
			break;
		what = 0;
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
			what |= EV_READ;
		if (pfd.revents & POLLOUT)
			what |= EV_WRITE;
		if (what != 0)
			store_conn_on_io(pfd.fd, what, c);
	}
}

/*
 * A cancel request, sent from a thread of its own: PQcancel() blocks with
 * no deadline of its own, and store_free() must not hang on a database
 * that does not answer.  Whichever of the two threads finishes last frees
 * the request.
 */
struct store_cancel {
	pthread_mutex_t	 mtx;
	PGcancel	*cancel;	/* owned */
	int		 ok;		/* PQcancel's answer */
	int		 finished;	/* the thread is done with it */
	int		 abandoned;	/* store_conn_cancel() is done
					   waiting */
	char		 err[256];
};

static void
store_cancel_free(struct store_cancel *c)
{
	PQfreeCancel(c->cancel);
	pthread_mutex_destroy(&c->mtx);
	free(c);
}

static void *
store_cancel_run(void *arg)
{
	struct store_cancel	*c = arg;
	int			 ok, last;

	ok = PQcancel(c->cancel, c->err, sizeof(c->err));
	pthread_mutex_lock(&c->mtx);
	c->ok = ok;
	c->finished = 1;
	last = c->abandoned;
	pthread_mutex_unlock(&c->mtx);
	if (last)
		store_cancel_free(c);
	return NULL;
}

/* Asks the server to cancel what runs, waiting at most ms for the ask. */
void
store_conn_cancel(struct store_conn *conn, int ms)
{
	struct store_cancel	*c;
	struct timespec		 ts;
	pthread_t		 th;
	int			 last;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return;
	if (pthread_mutex_init(&c->mtx, NULL) != 0) {
		free(c);
		return;
	}
	if ((c->cancel = PQgetCancel(conn->pg)) == NULL ||
	    pthread_create(&th, NULL, store_cancel_run, c) != 0) {
		store_cancel_free(c);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	if (pthread_timedjoin_np(th, NULL, &ts) == 0) {
		if (!c->ok)
			log_warnx("store: cancel request failed: %s"
			    " event=store_cancel_failed",
			    store_conn_oneline(c->err, c->err, sizeof(c->err)));
		store_cancel_free(c);
		return;
	}
	log_warnx("store: the cancel request got no answer within %d ms"
	    " event=store_cancel_failed", ms);
	pthread_mutex_lock(&c->mtx);
	c->abandoned = 1;
	last = c->finished;
	pthread_mutex_unlock(&c->mtx);
	pthread_detach(th);
	if (last)
		store_cancel_free(c);
}

int
store_check_database(const char *conninfo, char *msg, size_t msglen)
{
	/* Keys after dbname override it: the timeout and the name go first
	 * so that the conninfo's own win. */
	static const char *const keys[] = { "connect_timeout",
	    "application_name", "dbname", NULL };
	const char	*vals[] = { "10", "nwdd --check-config", conninfo, NULL };
	PGconn		*c;
	PGresult	*res;
	char		 buf[512];
	int		 v, rc = -1;

	if ((c = PQconnectdbParams(keys, vals, 1)) == NULL) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(msg, msglen, "cannot connect: %s",
		    store_conn_oneline(PQerrorMessage(c), buf, sizeof(buf)));
		goto done;
	}
	PQsetNoticeReceiver(c, store_conn_notice, NULL);
	res = PQexec(c, "SELECT current_user, "
	    "to_regclass('nwd.schema_migrations') IS NOT NULL");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		snprintf(msg, msglen, "connected, but a first query failed: "
		    "%s", store_conn_oneline(PQerrorMessage(c), buf,
		    sizeof(buf)));
		PQclear(res);
		goto done;
	}
	v = PQserverVersion(c);
	if (strcmp(PQgetvalue(res, 0, 1), "t") != 0) {
		snprintf(msg, msglen, "connected to PostgreSQL %d.%d as %s, "
		    "but the database has no nwd schema (run nwdd --migrate "
		    "-c FILE as the owner role)", v / 10000, v % 10000,
		    PQgetvalue(res, 0, 0));
		PQclear(res);
		goto done;
	}
	snprintf(buf, sizeof(buf), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	res = PQexec(c, "SELECT max(version) FROM nwd.schema_migrations");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		snprintf(msg, msglen, "connected to PostgreSQL %d.%d as %s, "
		    "but cannot read nwd.schema_migrations: %s", v / 10000,
		    v % 10000, buf, PQresultErrorField(res,
		    PG_DIAG_MESSAGE_PRIMARY) != NULL ? PQresultErrorField(res,
		    PG_DIAG_MESSAGE_PRIMARY) : "no answer");
		PQclear(res);
		goto done;
	}
	snprintf(msg, msglen, "connected to PostgreSQL %d.%d as %s, schema at "
	    "migration %s", v / 10000, v % 10000, buf,
	    PQgetisnull(res, 0, 0) ? "none" : PQgetvalue(res, 0, 0));
	PQclear(res);
	rc = 0;
done:
	PQfinish(c);
	return rc;
}
