/*
 * store_conn: one PostgreSQL connection in pipeline mode, driven by
 * libpq's asynchronous API on the libevent loop.  Private to the store
 * family; a store owns its connection, and nothing in this file knows
 * what a store is: the connection tells its user what happens through the
 * callbacks it was given (struct store_conn_cb), as pgbouncer's sbuf does.
 * A user may own several.
 *
 * What it owns: the PGconn and the event on its socket; connecting
 * (PQconnectPoll); flushing what libpq has buffered and reading the
 * results as they come; and the section in flight, the statements the
 * user sent up to a sync, with how many results are due before the sync
 * and the first error among them.
 *
 * The user sends a section's statements itself on store_conn_pg()
 * (PQsendQueryParams() and the like, then PQpipelineSync()), names the
 * section with store_conn_expect() and calls store_conn_flush().  One
 * section is in flight at a time: the next is sent once the sync of the
 * last has arrived.
 *
 * Callbacks run from the loop (or from store_conn_wait()), and from
 * store_conn_open() and store_conn_flush() when the connection is lost
 * there.
 */
#ifndef NWD_STORE_CONN_H
#define NWD_STORE_CONN_H

#include <stddef.h>
#include <time.h>

#include <libpq-fe.h>

struct event_base;
struct store_conn;

struct store_conn_cb {
	/*
	 * Connected, non-blocking and in pipeline mode, with terse error
	 * messages: the user sends its first section.
	 */
	void	(*up)(struct store_conn *c, void *arg);
	/*
	 * A statement of the section named what succeeded; idx counts the
	 * section's results from 0.  Returns 1 if the user keeps res (and
	 * clears it), 0 to let the connection clear it.
	 */
	int	(*result)(struct store_conn *c, int what, int idx,
		    PGresult *res, void *arg);
	/*
	 * The sync of the section named what arrived, after as many results
	 * as were expected; store_conn_err() says whether one failed.  The
	 * section is over: the user may send the next.
	 */
	void	(*sync)(struct store_conn *c, int what, void *arg);
	/*
	 * The connection failed; why says how, and may point into the
	 * connection.  The user closes it (store_conn_close()) before lost
	 * returns, or the connection closes itself then; lost must not open
	 * it again.
	 */
	void	(*lost)(struct store_conn *c, const char *why, void *arg);
};

/* The first error of the section (valid from its sync to the next). */
struct store_conn_err {
	int		 failed;	/* a statement failed */
	char		 errstate[6];	/* its SQLSTATE */
	char		 errmsg[256];	/* its primary message, one line */
	char		 errconstraint[64]; /* its constraint, if any */
};

/*
 * A closed connection on base.  cb is borrowed and must outlive it; arg is
 * the user's, passed to every callback.  NULL if out of memory.
 */
struct store_conn *store_conn_new(struct event_base *base,
		    const struct store_conn_cb *cb, void *arg);
/* Closes c (no callback) and frees it; NULL is a no-op. */
void		 store_conn_free(struct store_conn *c);

/*
 * Begins connecting to the database that conninfo (a libpq connection
 * string, as the dbname key) names; returns at once.  up comes once
 * connected, lost otherwise.  Returns -1 if the attempt failed at once
 * (lost has been called).  c must be closed.
 */
int		 store_conn_open(struct store_conn *c, const char *conninfo);
/* Ends the connection, if any, without a callback; what was in flight is
 * forgotten.  NULL is a no-op. */
void		 store_conn_close(struct store_conn *c);

/* The PGconn to send statements on; NULL while closed. */
PGconn		*store_conn_pg(const struct store_conn *c);

/*
 * Names the section just sent (or about to be sent) what, expecting n
 * results before its sync, and clears the error state.
 */
void		 store_conn_expect(struct store_conn *c, int what, int n);
/* When the section in flight was named, CLOCK_MONOTONIC. */
const struct timespec *store_conn_since(const struct store_conn *c);
const struct store_conn_err *store_conn_err(const struct store_conn *c);

/*
 * Sends what libpq has buffered, and watches the socket for writing until
 * it is out.  Returns 0, or -1 if the connection was lost (lost has been
 * called).
 */
int		 store_conn_flush(struct store_conn *c);

/*
 * Blocking, for shutdown only: runs the connection until the section in
 * flight is over, the connection is gone or ms have passed.
 */
void		 store_conn_wait(struct store_conn *c, int ms);
/* Asks the server to cancel what runs, waiting at most ms for the ask. */
void		 store_conn_cancel(struct store_conn *c, int ms);

/*
 * A libpq notice receiver (PQsetNoticeReceiver; arg unused) that logs
 * server notices as event=store_server_message, warnings and above at
 * warn: while idle, a FATAL before disconnection arrives here.  Every
 * connection nwdd keeps sets it, so libpq never prints to stderr itself.
 */
void		 store_conn_notice(void *arg, const PGresult *res);

/* Copies a libpq message into buf on one line, without its final newline;
 * returns buf. */
const char	*store_conn_oneline(const char *in, char *buf, size_t len);

#endif
