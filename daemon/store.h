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

#include "alloc.h"

struct event_base;
struct audit_event;
struct anchor;
struct chain_signer;
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
	const uint8_t	*body;		/* the sealed body (seal.h), borrowed */
	size_t		 body_len;
	const char	*key_id;	/* id of the key that sealed it */
};

/* A durable subscription, as nwd.subscriptions records it. */
struct store_subscription {
	const char	*principal;
	const char	*name;
	uint32_t	 kinds;		/* bit per Nwd__V1__Kind; ~1u = all */
	const char *const *subjects;	/* none = every subject */
	size_t		 nsubjects;
	int		 keep;		/* store_batch_add_subscription():
					   1 keeps the filters of one that
					   exists (and is not deleted) */
	int64_t		 updated_ms;	/* read back: when its filters
					   were last set */
};

enum store_delivery_state {
	STORE_DELIVERY_PENDING,		/* waiting for the subscriber */
	STORE_DELIVERY_ACKED,		/* the subscriber acknowledged it */
	STORE_DELIVERY_REFUSED,		/* refused at replay by the policy */
};

enum store_outcome {
	STORE_COMMITTED,	/* every row of the batch is durable */
	STORE_FAILED,		/* the database refused the rows */
	STORE_UNAVAILABLE,	/* the database went away; rows not written */
	STORE_IN_DOUBT,		/* the daemon stopped before it could tell
				   whether the rows were written */
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
/* Takes ownership of ev, even on failure; fails (-1) if the event's
 * message id is not a UUID.  Ids are stored lower-case. */
int		 store_batch_add_event(struct store_batch *b,
		    struct audit_event *ev);
size_t		 store_batch_nevents(const struct store_batch *b);
/*
 * Adds an allocation row (nwd.allocations), recorded by message_id, in the
 * same transaction as the rest of the batch.  Copies e and its strings.
 */
int		 store_batch_add_allocation(struct store_batch *b,
		    const struct alloc_entry *e, const char *message_id);
/*
 * Records a durable subscription, replacing the filters of one of the same
 * name (or, with sub->keep, leaving an existing one as it is); a deleted
 * one is opened anew.  Copies sub.
 */
int		 store_batch_add_subscription(struct store_batch *b,
		    const struct store_subscription *sub);
/*
 * Withdraws the listed pending deliveries of durable subscription
 * (principal, name) (state withdrawn) and, with del, deletes the
 * subscription (it is no longer loaded; subscribing under its name opens
 * it anew).  Copies its arguments.
 */
int		 store_batch_withdraw(struct store_batch *b,
		    const char *principal, const char *name,
		    const char *const *message_ids, size_t n, int del);
/* Queues message_id for a durable subscription (state pending); queuing
 * the same delivery twice is a no-op. */
int		 store_batch_add_delivery(struct store_batch *b,
		    const char *message_id, const char *principal,
		    const char *subscription);
/* Moves a queued delivery to acked or refused (a delivery that does not
 * exist is left alone). */
int		 store_batch_set_delivery_state(struct store_batch *b,
		    const char *message_id, const char *principal,
		    const char *subscription, enum store_delivery_state st);
/* Removes the body of message_id (retention) when b commits; the message
 * row stays, with purged_at set.  A body already gone is left alone. */
int		 store_batch_add_purge(struct store_batch *b,
		    const char *message_id);
/*
 * The cluster (019_cluster.sql).  store_batch_add_change() records that
 * the batch changes what decisions read (what: "allocation",
 * "subscription", "consent", "grant"; ref: the id of the changed row or
 * its message, never a body): in the batch's transaction the change
 * takes the next number of the change sequence, gets a cluster_changes
 * row and is announced with NOTIFY nwd_cluster, "c INSTANCE LAST COUNT".
 * A "deadline" (which decisions do not read) is only announced, "d
 * INSTANCE REF".
 * store_batch_notify_message() announces the batch's message in its
 * transaction, "m INSTANCE MESSAGE_ID SEEN", for the instances that hold
 * its recipients' sessions (the batch must have its message); seen is
 * the change sequence the decision was made with (what this instance had
 * applied of the others' live subscriptions among the rest).  Strings are
 * copied; each returns 0, or -1.
 */
int		 store_batch_add_change(struct store_batch *b,
		    const char *what, const char *ref);
int		 store_batch_notify_message(struct store_batch *b,
		    int64_t seen);
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
 * Detached rows (store_submit_detached()) that cannot be written while
 * the database is away are held, in order, and written first when it
 * returns.  max_bytes bounds what is held (0: the default, 16 MiB); rows
 * past it are lost with a warning.  store_hold_nearly_full() says three
 * quarters are used: the daemon then refuses new sessions rather than
 * serve them without their rows.
 */
void		 store_set_hold(struct store *s, size_t max_bytes);
int		 store_hold_nearly_full(const struct store *s);
size_t		 store_held_rows(const struct store *s);

/*
 * What vouches for an allocation row (see store_set_allocations_cb()).
 * A message's publish row carries the hash of the message as stored,
 * with its allocation rows (chain.h); the rows it covers are vouched for.
 */
enum store_alloc_proof {
	STORE_ALLOC_UNVOUCHED,	/* nothing vouches for it (why says which) */
	STORE_ALLOC_VOUCHED,	/* the hash of its message's publish row
				   covers it */
	STORE_ALLOC_LEGACY,	/* the first allocation of a message whose
				   publish row is from before message hashes
				   (010): the callback checks it against the
				   sealed body (body) */
};

/* One row of nwd.allocations and what vouches for it. */
struct store_alloc_row {
	struct alloc_entry	 e;		/* the row */
	const char		*id;		/* its id (decimal) */
	const char		*message_id;
	enum store_alloc_proof	 proof;
	const char		*why;		/* UNVOUCHED: the reason */
	int			 msg_kind;	/* its message's (0: none) */
	const char		*msg_subject;	/* its message's, or NULL */
	const uint8_t		*body;		/* LEGACY: the sealed body, or
						   NULL (purged) */
	size_t			 body_len;
	const char		*key_id;	/* LEGACY: the body's key id */
};

/*
 * At every connect, after synchronous_commit is checked and before the
 * store reports STORE_READY, the store reads every row of nwd.allocations
 * (in the order recorded), says what vouches for each, and passes them to
 * fn, which decides which to apply.  The rows and their strings live only
 * during the call.  If fn returns -1 the connect fails and is retried.
 * Set before store_start(); fn may be NULL.
 */
typedef int	store_allocations_fn(const struct store_alloc_row *rows,
		    size_t n, void *arg);
void		 store_set_allocations_cb(struct store *s,
		    store_allocations_fn *fn, void *arg);

/* The same, at every connect, for every row of nwd.subscriptions. */
typedef int	store_subscriptions_fn(const struct store_subscription *rows,
		    size_t n, void *arg);
void		 store_set_subscriptions_cb(struct store *s,
		    store_subscriptions_fn *fn, void *arg);

/*
 * Reads the allocations and subscriptions again while serving, through
 * the same callbacks and checks as at connect, after the transaction in
 * flight and before any query (another instance changed them: see
 * cluster.h).  Requests made while one is waiting are one.  Callbacks
 * that refuse the rows drop the connection, which is made again.  Returns
 * 0, or -1 if the store is not ready.
 */
int		 store_reload(struct store *s);

/*
 * The audit chain (chain.h).  The store numbers, links and hashes every
 * audit row of its instance as it sends it.  At connect it takes a
 * session advisory lock on its instance name (another daemon with the same
 * instance makes it refuse to serve, logged) and reads the chain head.  A
 * transaction whose COMMIT result was lost with the connection is resolved
 * at reconnect by the chain head, never guessed: if the transaction's last
 * row is there its batches get STORE_COMMITTED, otherwise
 * STORE_UNAVAILABLE.
 *
 * With a signer, the store writes a signed checkpoint of the committed
 * head (nwd.checkpoints) every every_rows rows or every_ms milliseconds,
 * whichever comes first, and one when it is freed.  signer is borrowed and
 * must outlive the store.
 */
void		 store_set_checkpoints(struct store *s,
		    const struct chain_signer *signer, uint32_t every_rows,
		    uint32_t every_ms);
/* The seq of the last committed audit row of this instance (0 = none). */
int64_t		 store_chain_head(const struct store *s);
/* That row's hash (32 zero bytes for none), into out. */
void		 store_chain_head_hash(const struct store *s,
		    uint8_t out[32]);


/*
 * The chain's anchor outside the database (anchor.h); a is borrowed and
 * must outlive the store.  With it the store
 *
 *  - at every connect, compares the database's chain head with the head
 *    the state file says it committed (or the head of the transaction in
 *    flight when it last stopped): if they differ (rows rolled back,
 *    truncated, rewritten, or added by another writer), it refuses to
 *    serve, logs why (event=chain_refused), keeps the reason for
 *    store_refusal() and tries again after its backoff, until an operator
 *    accepts the database's head (nwdd --accept-restore) or puts the
 *    database back.  A state file that is new is no head: the database's
 *    chain of the instance must then be empty;
 *  - writes the head of a transaction to the state file, on disk, before
 *    sending it (a transaction whose state cannot be written is answered
 *    STORE_UNAVAILABLE), and the committed head after it commits;
 *  - appends every checkpoint it writes to the anchors file and logs it
 *    (event=checkpoint, the same line).
 *
 * Without an anchor, the comparison is made only at a reconnect, with the
 * head in memory.  Set before store_start().
 */
void		 store_set_anchor(struct store *s, struct anchor *a);

/*
 * Why the store refuses to serve this database (its chain head is not the
 * one committed), or NULL if it does not.  Borrowed from s, valid until
 * the store's next connect attempt.
 */
const char	*store_refusal(const struct store *s);

/*
 * The instance name is held exclusively (017_instance_holders.sql): the
 * store's connection takes the session advisory lock on the name at every
 * connect, records this daemon (host, pid, start) as its holder in the
 * same statement, and holds it for the connection's life; nothing is
 * written under the name on a connection without it.  If at the store's
 * first connect the lock is held by another session, fn (when set) is told
 * who the recorded holder is (host NULL if none is recorded; since in UTC,
 * ISO 8601), the store stays down and does not retry: the daemon is
 * expected to stop.  Without fn, or after the store has once been ready
 * (a reconnect: after a failover, say), or when the recorded holder is a
 * process of this host that no longer exists (its database session not
 * yet ended), the store logs the holder and retries with its backoff.
 * Set before store_start(); fn runs from the loop.
 */
typedef void	store_in_use_fn(const char *instance, const char *host,
		    long pid, const char *since, void *arg);
void		 store_set_in_use_cb(struct store *s, store_in_use_fn *fn,
		    void *arg);

/*
 * nwdd --accept-restore: accepts the chain head the database holds for
 * instance as the one to continue from, on a blocking connection of its
 * own (conninfo, the daemon's role), taking the instance's lock (so no
 * nwdd of the instance may be running).  If the head is the one a's state
 * file says was committed, does nothing and says so.  Otherwise appends a
 * signed restore_accepted line to the anchors file, writes an audit row
 * restore_accepted (actor, reason naming both heads) and a signed
 * checkpoint of it, appends that checkpoint to the anchors file and
 * records the new head in the state file.  Returns 1 if a restore was
 * accepted, 0 if there was nothing to accept, -1 on failure; what was
 * done, or why not, is in msg.
 */
/*
 * nwdd --check-config: connects once with conninfo (connect_timeout 10 s
 * unless conninfo says otherwise), blocking, and checks that the schema is
 * there (nwd.schema_migrations).  Returns 0 with "connected to PostgreSQL
 * VERSION as ROLE, schema at migration N" in msg, or -1 with the cause in
 * msg: libpq's error on one line, or what is missing.
 */
int		 store_check_database(const char *conninfo, char *msg,
		    size_t msglen);

int		 store_accept_restore(const char *conninfo, const char *instance,
		    const struct chain_signer *signer, struct anchor *a,
		    const char *actor, char *msg, size_t msglen);

/*
 * Read-only queries, run on the same connection after the writes queued
 * before them (all but store_query_pending(), below).  The result holds rows of text values (bytea columns are
 * decoded to their bytes); it lives only during the callback.  ok is 0 if
 * the query failed or the database went away (no rows then).  Each returns
 * -1 at once if the store is not ready.
 */
struct store_result;
size_t		 store_result_nrows(const struct store_result *r);
/* NULL for SQL NULL. */
const char	*store_result_value(const struct store_result *r, size_t row,
		    size_t col);
size_t		 store_result_length(const struct store_result *r, size_t row,
		    size_t col);
typedef void	store_result_fn(int ok, const struct store_result *r,
		    void *arg);

/*
 * A query that answers (no rows) once everything queued before it (a
 * reload, queries, the batches submitted before it) is done.
 */
int		 store_query_marker(struct store *s, store_result_fn *fn,
		    void *arg);

/*
 * One page of the pending deliveries of a durable subscription, oldest
 * first: those queued after delivery after_id (0: from the start), at most
 * limit rows, and no more rows than keep the sealed bodies under
 * max_bytes (the first row always comes, whatever its size).  Columns:
 * 0 message_id, 1 kind, 2 subject, 3 sender, 4 agency, 5 marking,
 * 6 priority, 7 legal_basis, 8 created_ms, 9 body (sealed bytes, NULL if
 * purged), 10 key_id, 11 policy_version, 12 the delivery's id (decimal).
 * Unordered: it sees what had committed when it runs, not necessarily the
 * writes queued before it; it runs on a second connection of the store
 * once that is up (store_reader.c), beside the write path.
 */
int		 store_query_pending(struct store *s, const char *principal,
		    const char *subscription, int64_t after_id,
		    uint32_t limit, uint64_t max_bytes, store_result_fn *fn,
		    void *arg);

/*
 * The message ids of a page of a durable subscription's pending
 * deliveries, after delivery after_id, at most limit.  Columns:
 * 0 message_id, 1 the delivery's id.
 */
int		 store_query_pending_ids(struct store *s,
		    const char *principal, const char *subscription,
		    int64_t after_id, uint32_t limit, store_result_fn *fn,
		    void *arg);

/*
 * Every consent record, in the order published.  Columns: 0 message_id,
 * 1 subject, 2 status (given, refused, withdrawn), 3 kinds (decimal,
 * comma-separated; "" every one), 4 agencies (comma-separated; "" every
 * one), 5 recorded_ms, 6 expires_ms ("0": none), 7 withdraws ("": none).
 */
int		 store_query_consents(struct store *s, store_result_fn *fn,
		    void *arg);
/* Who received consent-based shares about subject.  Column 0 the
 * principal. */
int		 store_query_consent_recipients(struct store *s,
		    const char *subject, store_result_fn *fn, void *arg);

/*
 * Who each of message_ids (UUIDs, n > 0) reached and who acknowledged it,
 * in one query.  Columns: 0 message_id, 1 action ("deliver" or "ack"), 2
 * the recipient, or the acknowledging principal; by message, then in
 * order.
 */
int		 store_query_reach_many(struct store *s,
		    const char *const *message_ids, size_t n,
		    store_result_fn *fn, void *arg);
/*
 * Every unmet deadline, the soonest next action first.  Columns: 0
 * message_id, 1 subject, 2 kind, 3 rule, 4 start_ms, 5 due_ms, 6
 * every_ms, 7 by_ack ("true"/"false"), 8 closing_kinds (mask), 9 state
 * (open, breached), 10 escalations, 11 next_ms, 12 the message's sender,
 * 13 its priority.
 */
int		 store_query_deadlines_unmet(struct store *s,
		    store_result_fn *fn, void *arg);
/*
 * Deadlines for a listing, by due time: of subject and rule (each NULL:
 * any), met ones too if all.  Columns: 0 message_id, 1 subject, 2 kind,
 * 3 rule, 4 start_ms, 5 due_ms, 6 state, 7 escalations, 8 met_ms ("" if
 * not met), 9 met_by, 10 note, 11 the message's sender.
 */
int		 store_query_deadlines(struct store *s, const char *subject,
		    const char *rule, int all, uint32_t limit,
		    store_result_fn *fn, void *arg);

/*
 * principal's durable subscriptions (not deleted), by name.  Columns:
 * 0 name, 1 kinds (decimal bit mask), 2 subjects (comma-separated, "" for
 * every subject), 3 updated_ms, 4 pending (count), 5 the oldest pending
 * delivery's created_ms (NULL if none).
 */
int		 store_query_durables(struct store *s, const char *principal,
		    store_result_fn *fn, void *arg);

/* A filter on the audit trail; NULL / 0 members do not filter. */
struct store_audit_filter {
	const char	*subject;
	const char	*principal;	/* as actor or as recipient */
	const char	*action;
	const char	*actions;	/* comma-separated: any of them */
	const char	*message_id;
	const char	*sender;	/* rows about messages it published */
	int		 delivery_only;	/* publish, deliver, deliver_refused
					   and ack rows only */
	int64_t		 from_ms;	/* inclusive */
	int64_t		 until_ms;	/* exclusive */
	int64_t		 after_id;	/* paging: rows with id above this */
	uint32_t	 limit;
	int		 not_held;	/* with subject: only rows about no
					   message held about the subject
					   (subject access sends those with
					   their messages) */
	const char	*held_from;	/* with not_held: but the rows of this
					   message and those after it (in
					   created_at, id order) too */
};

/*
 * Audit rows matching f, in id order.  Columns: 0 id, 1 instance, 2 seq,
 * 3 at_ms, 4 actor, 5 action, 6 message_id, 7 subject, 8 kind,
 * 9 recipient, 10 fields_shared, 11 fields_withheld, 12 rule,
 * 13 policy_version, 14 reason, 15 route.
 */
int		 store_query_audit(struct store *s,
		    const struct store_audit_filter *f, store_result_fn *fn,
		    void *arg);

/*
 * Each instance's chain as the database holds it, for the console's chain
 * page: read-only facts, no verification.  Columns: 0 instance, 1 the
 * seq of its last row, 2 that row's hash (hex), 3 the seq of its last
 * checkpoint ("" if none), 4 the checkpoint's time (ms), 5 the hash it
 * signed (hex), 6 its key id, 7 "true" if the row at the checkpoint's seq
 * has the hash it signed ("false" if not, "" if no checkpoint).
 */
int		 store_query_chain(struct store *s, store_result_fn *fn,
		    void *arg);

/*
 * A page of the messages about a subject, oldest first (created_at, then
 * id), for a subject-access request: at most limit (never above 10,000)
 * from the message after_id (included, as the first row; NULL: from the
 * first message).  Limit 0 asks for every message and fails rather than
 * return more than 10,000.  If after_id names no message about subject,
 * the answer is empty.  Columns as store_query_pending() (without the
 * delivery), then 12: the corrections and retraction of the message,
 * "HOW ID AT_MS" joined with commas, oldest first (NULL if none).
 */
int		 store_query_messages(struct store *s, const char *subject,
		    const char *after_id, uint32_t limit, store_result_fn *fn,
		    void *arg);

/*
 * Retention: the messages of kind created before before_ms whose bodies
 * are still held, oldest first, at most limit (0: 100; never above
 * 10,000).  Columns: 0 message_id, 1 subject.  Nothing is removed: the
 * caller removes bodies with store_batch_add_purge() in the batch that
 * audits their purge.
 */
int		 store_query_expired(struct store *s, int kind,
		    int64_t before_ms, uint32_t limit, store_result_fn *fn,
		    void *arg);

/*
 * Queues b.  On 0 the store owns b and will call done(outcome, arg) exactly
 * once, from the event loop and never from inside store_submit().  On -1
 * (database unavailable or queue full) the caller keeps b and no callback
 * comes.
 */
int		 store_submit(struct store *s, struct store_batch *b,
		    store_done_fn *done, void *arg);

/*
 * Deadlines (011_deadlines.sql), written in a batch's transaction: one a
 * publish sets; one met (by an acknowledgement or a referencing
 * message; a deadline met already stays as it was); one escalated once
 * more (count is the new number of escalations: the transaction fails,
 * NW004, unless the row had count - 1 and was unmet, so an escalation is
 * sent once only).  Strings are copied.
 */
struct store_deadline {
	const char	*message_id;
	const char	*subject;
	int		 kind;
	const char	*rule;
	const char	*policy_version;
	int64_t		 start_ms;
	int64_t		 due_ms;
	int64_t		 every_ms;
	int		 by_ack;
	uint32_t	 closing_kinds;
	const char	*note;		/* may be NULL */
	const char	*instance;
};
int		 store_batch_add_deadline(struct store_batch *b,
		    const struct store_deadline *d);
int		 store_batch_deadline_met(struct store_batch *b,
		    const char *message_id, const char *rule, const char *by,
		    const char *met_message, int64_t at_ms);
int		 store_batch_deadline_escalated(struct store_batch *b,
		    const char *message_id, const char *rule, int count,
		    int64_t next_ms);

/* A consent record (012_consents.sql), in the batch of its message. */
struct store_consent {
	const char		*message_id;
	const char		*subject;
	const char		*status;	/* given, refused, withdrawn */
	const int		*kinds;
	size_t			 nkinds;
	const char *const	*agencies;
	size_t			 nagencies;
	const char *const	*purposes;
	size_t			 npurposes;
	int64_t			 recorded_ms;
	int64_t			 expires_ms;	/* 0: none */
	const char		*withdraws;	/* NULL: none */
	const char		*instance;
};
int		 store_batch_add_consent(struct store_batch *b,
		    const struct store_consent *c);

/* A correction or retraction (013_corrections.sql), in its message's
 * batch: how is "corrected" or "retracted"; notice_to the principals to
 * be told by a WithdrawalNotice. */
struct store_correction {
	const char		*message_id;
	const char		*supersedes;
	const char		*root;
	const char		*how;
	const char		*subject;
	const char		*sender;
	const char *const	*notice_to;
	size_t			 nnotice_to;
	int64_t			 at_ms;
	const char		*instance;
};
int		 store_batch_add_correction(struct store_batch *b,
		    const struct store_correction *c);
/* The WithdrawalNotice notice_id told the principals of correction
 * message_id (in the notice's batch). */
int		 store_batch_correction_told(struct store_batch *b,
		    const char *message_id, const char *notice_id);

/*
 * What a correction of message_id needs: one row, or none if no such
 * message.  Columns: 0 sender, 1 agency, 2 subject, 3 kind, 4 purged
 * ("true"/"false"), 5 root (the first message of its chain), 6 the
 * retraction of the chain ("" none), 7 everyone the root and its
 * corrections reached (comma-separated, sorted).
 */
int		 store_query_superseded(struct store *s,
		    const char *message_id, store_result_fn *fn, void *arg);
/* Corrections whose notice is not yet sent, the oldest first.  Columns:
 * 0 message_id, 1 supersedes, 2 how, 3 subject, 4 notice_to (comma-
 * separated). */
int		 store_query_corrections_untold(struct store *s,
		    store_result_fn *fn, void *arg);

/*
 * Grants of break-glass (014_breakglass.sql), written in a batch's
 * transaction: one claimed; one ended (or revoked) by at at_ms (a grant
 * ended already stays as it was); one's review closed with outcome
 * (justified or unjustified) and note by by (the transaction fails, NW005,
 * if the review is closed already).  Strings are copied.
 */
struct store_grant {
	const char	*id;
	const char	*principal;
	const char	*role;
	const char	*subject;
	const char	*rule;
	const char	*reason;
	uint32_t	 kinds;		/* bit per Nwd__V1__Kind */
	int64_t		 from_ms;
	int64_t		 until_ms;
	const char	*policy_version;
	const char	*instance;
};
int		 store_batch_add_grant(struct store_batch *b,
		    const struct store_grant *g);
int		 store_batch_grant_end(struct store_batch *b, const char *id,
		    const char *by, int64_t at_ms);
int		 store_batch_grant_review(struct store_batch *b,
		    const char *id, const char *outcome, const char *note,
		    const char *by, int64_t at_ms);
/*
 * Grants, oldest first (at most 10,000): the one of id (NULL: every one),
 * of open reviews only if open_only, live at live_at_ms only if it is not
 * 0.  Columns: 0 id, 1 principal, 2 role, 3 subject, 4 rule, 5 reason,
 * 6 kinds (decimal, comma-separated), 7 from_ms, 8 until_ms, 9 ended_ms
 * ("" not ended), 10 ended_by, 11 review (open, closed), 12 outcome,
 * 13 note, 14 reviewed_by, 15 reviewed_ms (""), 16 deliver rows under it.
 */
int		 store_query_grants(struct store *s, const char *id,
		    int open_only, int64_t live_at_ms, store_result_fn *fn,
		    void *arg);
/* The audit rows whose rule names grant id, in id order (at most
 * 10,000); columns as store_query_audit(). */
int		 store_query_grant_rows(struct store *s, const char *id,
		    store_result_fn *fn, void *arg);

/*
 * Subject-access cases (016_sar_cases.sql), written in a batch's
 * transaction: one opened (the reference must be new: a duplicate fails
 * the transaction), or one moved a step on by store_batch_sar_case_step()
 * (the transaction fails, NW006, unless the case is still in state from).
 * Strings and bytes are copied.
 */
struct store_sar_case {
	const char	*reference;
	const char	*subject;
	const char	*requested_by;
	int64_t		 received_ms;
	int64_t		 opened_ms;
	const char	*opened_by;
	int64_t		 due_ms;
	const char	*instance;
};
int		 store_batch_add_sar_case(struct store_batch *b,
		    const struct store_sar_case *c);
/*
 * A step: to is "identity_checked" (text: how), "extended" (until_ms, text:
 * why; from is the state it stays in), "approved", or "released" (report:
 * the sealed report, report_len bytes, sealed with key_id; sha256: 32
 * bytes, of the report as given).  Unused members are NULL or 0.
 */
struct store_sar_step {
	const char	*reference;
	const char	*from;
	const char	*to;
	const char	*by;
	int64_t		 at_ms;
	const char	*text;
	int64_t		 until_ms;
	const uint8_t	*report;
	size_t		 report_len;
	const char	*key_id;
	const uint8_t	*sha256;
};
int		 store_batch_sar_case_step(struct store_batch *b,
		    const struct store_sar_step *st);
/*
 * The case of reference (no row: none), or the cases not yet released,
 * the soonest due first (at most 10,000).  Columns: 0 reference,
 * 1 subject, 2 requested_by, 3 received_ms, 4 opened_by, 5 opened_ms,
 * 6 due_ms, 7 identity_checked_ms ("": not yet), 8 identity_checked_by,
 * 9 identity_checked_how, 10 extended_to_ms (""), 11 extension_reason,
 * 12 extended_by, 13 approved_ms (""), 14 approved_by, 15 released_ms
 * (""), 16 released_by, 17 report_sha256 (hex, ""), 18 report_bytes (""),
 * 19 state, 20 the sealed report (bytea; NULL unless released, and always
 * NULL in the list), 21 its key id ("").
 */
int		 store_query_sar_case(struct store *s, const char *reference,
		    store_result_fn *fn, void *arg);
int		 store_query_sar_cases_open(struct store *s,
		    store_result_fn *fn, void *arg);

/*
 * Submits a batch whose outcome nobody waits for (connection and refusal
 * events).  Takes ownership of b in every case; if the store is unavailable
 * the rows are held until it returns (store_set_hold()); only rows past
 * the hold's bound, or made while closing, are dropped, with a warning.
 */
void		 store_submit_detached(struct store *s, struct store_batch *b);

/* Number of batches queued or in flight. */
size_t		 store_pending(const struct store *s);

/*
 * How long, in milliseconds, the database has been working on what is in
 * flight on the connection (a transaction, a query, the connection's
 * setup); 0 when nothing is.  Read-only: the watchdog uses it to notice a
 * stalled writer.
 */
int64_t		 store_busy_ms(const struct store *s);

/*
 * Closes the connection, after a bounded wait for what is in flight (a
 * batch that commits meanwhile gets STORE_COMMITTED) and a last
 * checkpoint.  Every batch still queued, or whose outcome is still unknown,
 * gets STORE_UNAVAILABLE (logged: its rows may be durable) before
 * store_free() returns.  Callbacks must not call store_free().
 */
void		 store_free(struct store *s);

#endif
