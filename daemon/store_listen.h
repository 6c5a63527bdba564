/*
 * store_listen: the store's second PostgreSQL connection, the cluster's
 * (cluster.h).  It LISTENs on the channel nwd_cluster, hands every
 * notification's payload to its user, and runs the cluster's small
 * queries one at a time, apart from the audit writes, so that neither
 * waits for the other.  Non-blocking libpq on the libevent loop
 * (PQsocket, PQconsumeInput, PQnotifies).  When the connection is lost it
 * says so, answers every query it held with ok 0, and connects again with
 * backoff; notifications sent meanwhile are lost, so the user reloads what
 * it mirrors when it hears "up" again.
 *
 * Payloads carry ids and numbers only, never a body.
 */
#ifndef NWD_STORE_LISTEN_H
#define NWD_STORE_LISTEN_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct event_base;
struct store_listen;

#define STORE_LISTEN_CHANNEL	"nwd_cluster"

/* A notification on the channel; payload lives only during the call. */
typedef void	store_listen_note_fn(const char *payload, void *arg);
/* The connection is up and listening (1), or was lost (0). */
typedef void	store_listen_state_fn(int up, void *arg);

/*
 * A closed connection to conninfo (the daemon's role), named name in
 * pg_stat_activity (application_name); reconnect_max is the backoff
 * ceiling in seconds.  The callbacks hear everything; arg is theirs.
 * NULL if out of memory.  Nothing connects before store_listen_start().
 */
struct store_listen *store_listen_new(struct event_base *base,
		    const char *conninfo, const char *name,
		    uint32_t reconnect_max,
		    store_listen_note_fn *note, store_listen_state_fn *state,
		    void *arg);
int		 store_listen_start(struct store_listen *l);
/* Closes the connection (no callback but the queries' own, ok 0) and
 * frees l; NULL is a no-op. */
void		 store_listen_free(struct store_listen *l);

/*
 * The cluster's queries.  Each is queued and run in order once the
 * connection is up; fn(ok, rows, arg) is called exactly once, from the
 * loop (ok 0 if it failed, the connection was lost, or l was freed).
 * Every column is text (bytea as its bytes).  Each returns 0, or -1 if
 * out of memory (no callback then).
 */

/*
 * Records this instance's heartbeat and policy version, and reads the
 * others: columns 0 instance, 1 policy version, 2 "true" if it is live:
 * its heartbeat is younger than live_ms (the database's clock) and its
 * cluster connection (named "nwdd cluster INSTANCE") is open, so that an
 * instance killed is not live from the next heartbeat on.
 */
int		 store_listen_heartbeat(struct store_listen *l,
		    const char *instance, const char *policy_version,
		    uint32_t live_ms, store_result_fn *fn, void *arg);
/* Sends a notification with payload on the channel. */
int		 store_listen_notify(struct store_listen *l,
		    const char *payload, store_result_fn *fn, void *arg);
/* The change sequence's head: column 0 the last number. */
int		 store_listen_head(struct store_listen *l, store_result_fn *fn,
		    void *arg);
/*
 * The changes after number after: one row, columns 0 the last number,
 * 1 the last of the others' (not instance's) changes that the store
 * reloads ("0": none), 2 the last of the others' changes of live
 * subscriptions ("0": none), 3 "true" if rows after after were removed
 * (everything must be read again).
 */
int		 store_listen_changes(struct store_listen *l, int64_t after,
		    const char *instance, store_result_fn *fn, void *arg);
/*
 * Replaces what instance announces of principal's live subscriptions
 * with n of them (kinds masks; subjects newline-separated, "" every
 * subject), numbered as a change of the sequence, and notifies
 * "s INSTANCE SEQ PRINCIPAL"; column 0 of the answer is SEQ.  principal
 * NULL: removes every one of instance's (at its start) and notifies
 * "s INSTANCE SEQ".
 */
int		 store_listen_live_set(struct store_listen *l,
		    const char *instance, const char *principal,
		    const uint32_t *kinds, const char *const *subjects,
		    size_t n, store_result_fn *fn, void *arg);
/*
 * The live subscriptions instance announced, of principal (NULL: of
 * every principal; instance NULL: every instance's but not_instance's).
 * Columns: 0 instance, 1 principal, 2 kinds (decimal), 3 subjects.
 */
int		 store_listen_live_get(struct store_listen *l,
		    const char *instance, const char *principal,
		    const char *not_instance, store_result_fn *fn, void *arg);
/*
 * Committed messages (ids: n UUIDs) and their decided recipients, for
 * their delivery by another instance, in the order given.  Columns 0-11
 * as store_query_pending(), then 12 the recipients of its deliver rows
 * with their routes, "PRINCIPAL ROUTE" joined by newlines (NULL: none).
 * A message that does not exist has no row.
 */
int		 store_listen_messages(struct store_listen *l,
		    const char *const *ids, size_t n, store_result_fn *fn,
		    void *arg);

#endif
