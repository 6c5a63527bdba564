/*
 * store: the PostgreSQL connection of nwdd, driven by libpq's asynchronous
 * API on the libevent loop.  The only module that includes libpq-fe.h
 * (with migrate.c, which runs before the loop).
 *
 * Write path.  Callers build a store_batch (at most one message row plus any
 * number of audit events), hand it to store_submit() and get exactly one
 * callback from the event loop: STORE_COMMITTED once the transaction holding
 * every row of the batch has committed, STORE_FAILED or STORE_UNAVAILABLE
 * otherwise.  Nothing is delivered or acknowledged by the caller before
 * STORE_COMMITTED: that is how the audit comes first.  The store may put
 * several queued batches into one transaction.
 *
 * Availability.  While the database is unreachable store_submit() refuses at
 * once (returns -1) so the caller can answer "unavailable"; the store
 * reconnects by itself with backoff, checks synchronous_commit on every
 * connect and refuses to serve if it is off.
 */
#ifndef NWD_STORE_H
#define NWD_STORE_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct audit_event;
struct alloc_entry;
struct store;
struct store_batch;

/* The broker's record of a published message (no body: see DESIGN.md). */
struct store_message {
	char		 id[37];	/* UUID */
	int		 kind;		/* Nwd__V1__Kind */
	const char	*subject;	/* borrowed during store_batch_set_message */
	const char	*sender;
	const char	*agency;
	int		 marking;	/* Nwd__V1__Marking */
	int		 priority;	/* Nwd__V1__Priority */
	int		 legal_basis;	/* Nwd__V1__LegalBasis */
	int64_t		 created_ms;
	const char	*policy_version;
};

enum store_outcome {
	STORE_COMMITTED,	/* every row of the batch is durable */
	STORE_FAILED,		/* the database refused the rows */
	STORE_UNAVAILABLE,	/* the database went away; rows not written */
};

enum store_state {
	STORE_DISCONNECTED,
	STORE_CONNECTING,
	STORE_READY,
};

typedef void	store_done_fn(enum store_outcome outcome, void *arg);
typedef void	store_state_fn(enum store_state state, void *arg);

/* A unit of atomic work.  Owned by the caller until store_submit(). */
struct store_batch *store_batch_new(void);
/* Copies m (and the strings it points to) into the batch. */
int		 store_batch_set_message(struct store_batch *b,
		    const struct store_message *m);
/* Takes ownership of ev, even on failure. */
int		 store_batch_add_event(struct store_batch *b,
		    struct audit_event *ev);
size_t		 store_batch_nevents(const struct store_batch *b);
/*
 * Adds an allocation row (nwd.allocations), recorded by message_id, in the
 * same transaction as the rest of the batch.  Copies e and its strings.
 */
int		 store_batch_add_allocation(struct store_batch *b,
		    const struct alloc_entry *e, const char *message_id);
void		 store_batch_free(struct store_batch *b);

/*
 * Creates the store; conninfo is a libpq connection string for the daemon's
 * role, instance names this daemon in every row.  queue_max bounds the
 * batches waiting for the database (memory stays bounded while it is slow);
 * reconnect_max is the backoff ceiling in seconds.  Nothing connects until
 * store_start().
 */
struct store	*store_new(struct event_base *base, const char *conninfo,
		    const char *instance, uint32_t queue_max,
		    uint32_t reconnect_max);

/* Begins connecting; returns at once.  on_state (may be NULL) hears every
 * change of state. */
int		 store_start(struct store *s, store_state_fn *on_state,
		    void *arg);

enum store_state store_get_state(const struct store *s);

/*
 * At every connect, after synchronous_commit is checked and before the
 * store reports STORE_READY, the store reads every row of nwd.allocations
 * (in the order recorded) and passes them to fn.  The rows and their
 * strings live only during the call.  If fn returns -1 the connect fails
 * and is retried.  Set before store_start(); fn may be NULL.
 */
typedef int	store_allocations_fn(const struct alloc_entry *rows, size_t n,
		    void *arg);
void		 store_set_allocations_cb(struct store *s,
		    store_allocations_fn *fn, void *arg);

/*
 * Queues b.  On 0 the store owns b and will call done(outcome, arg) exactly
 * once, from the event loop and never from inside store_submit().  On -1
 * (database unavailable or queue full) the caller keeps b and no callback
 * comes.
 */
int		 store_submit(struct store *s, struct store_batch *b,
		    store_done_fn *done, void *arg);

/*
 * Submits a batch whose outcome nobody waits for (connection and refusal
 * events).  Takes ownership of b in every case; if the store is unavailable
 * the rows are dropped and a warning is logged.
 */
void		 store_submit_detached(struct store *s, struct store_batch *b);

/* Number of batches queued or in flight. */
size_t		 store_pending(const struct store *s);

/*
 * Closes the connection.  Every batch still queued or in flight gets its
 * callback with STORE_UNAVAILABLE before store_free() returns.
 */
void		 store_free(struct store *s);

#endif
