/*
 * store_int: what the files of the store family share, private to them
 * (daemon/store*.c; the rest of the daemon sees only store.h): struct
 * store, the inside of a batch and of a query, and the functions one file
 * of the family calls in another.
 *
 *	store.c		the write path, the chain and its checkpoints,
 *			transactions in doubt, the connection's setup and
 *			its life, store_free()
 *	store_conn.c	the pipelined connection (store_conn.h), which
 *			knows nothing of the store
 *	store_batch.c	building batches (no I/O)
 *	store_query.c	the read-only queries
 *	store_load.c	LOAD: the allocations and subscriptions at connect
 *	store_restore.c	nwdd --accept-restore, on a connection of its own
 *	store_sql.c	the SQL text (store_sql.h)
 *	store_hold.c	audit rows held while the database is away
 *	store_anchor.c	the head and checkpoints anchored outside it
 *	store_chain.c	the chain's links and hashes of a transaction's rows
 *	store_reader.c	a second connection for the queries that need not
 *			wait for the write path
 */
#ifndef NWD_STORE_INT_H
#define NWD_STORE_INT_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <libpq-fe.h>

#include "chain.h"
#include "store.h"
#include "uuid.h"

#define STORE_NPARAMS_MAX	20	/* parameters of one statement */
#define STORE_DETACHED_ROWS	2048	/* rows one detached batch gathers */

/* One allocation row of a batch. */
struct store_alloc {
	char		 msg_id[37];
	char		*subject;	/* owned */
	char		*team;		/* owned; "" if none */
	char		*worker;	/* owned; "" if none */
	int64_t		 from_ms;	/* 0: NULL */
	int64_t		 until_ms;	/* 0: NULL */
};

/* One subscription row of a batch. */
struct store_sub {
	char		*principal;	/* owned */
	char		*name;		/* owned */
	char		 kinds[16];	/* decimal */
	char		*subjects;	/* owned; a text[] literal */
	int		 keep;		/* keep an existing one's filters */
	char		*withdraw;	/* owned; the uuid[] literal of the
					   deliveries withdrawn, or NULL */
	int		 del;		/* with withdraw: mark it deleted */
};

/* One delivery row (a new one, or a change of state) of a batch. */
struct store_deliv {
	char		 msg_id[37];
	char		*principal;	/* owned */
	char		*subscription;	/* owned */
	const char	*state;		/* static; NULL: queue a new one */
};

/* A statement of a batch beyond rows and messages: a deadline's. */
#define STORE_STMT_MAXP	12
struct store_stmt {
	const char	*sql;		/* static (store_sql.c) */
	int		 n;
	char		*v[STORE_STMT_MAXP];	/* owned; NULL: SQL NULL */
};

/* An audit row's place in the chain, set as its transaction is built. */
struct store_link {
	int64_t		 seq;
	uint8_t		 prev[CHAIN_HASH_LEN];
	uint8_t		 hash[CHAIN_HASH_LEN];
	int		 has_msg_hash;	/* a publish row of the batch's
					   message: msg_hash is its hash */
	uint8_t		 msg_hash[CHAIN_HASH_LEN];
};

/* The canonical fields of an audit row, as chain.h and the INSERT see it. */
struct store_row {
	char			seq[24];
	char			at[24];
	char			kind[16];
	char			msg_hash[CHAIN_HEX_LEN];
	struct chain_row	row;
};

struct store_batch {
	TAILQ_ENTRY(store_batch) entry;
	uint64_t		 num;		/* submission order, from 1 */
	uint64_t		 done_seq;	/* order of answering */
	int			 has_msg;
	char			 msg_id[37];
	int			 msg_kind;
	int			 msg_marking;
	int			 msg_priority;
	int			 msg_legal_basis;
	int64_t			 msg_created_ms;
	char			*msg_subject;	/* owned */
	char			*msg_sender;	/* owned */
	char			*msg_agency;	/* owned; may be NULL */
	char			*msg_policy_version; /* owned; may be NULL */
	uint8_t			*msg_body;	/* owned; may be NULL */
	size_t			 msg_body_len;
	char			*msg_key_id;	/* owned; may be NULL */
	struct audit_event	**ev;		/* owned, with every event */
	struct store_link	*link;		/* owned; one per event */
	size_t			 nev;
	size_t			 evcap;
	struct store_alloc	*alloc;		/* owned, with their strings */
	size_t			 nalloc;
	size_t			 alloccap;
	struct store_sub	*sub;		/* owned, with their strings */
	size_t			 nsub;
	size_t			 subcap;
	struct store_deliv	*deliv;		/* owned, with their strings */
	size_t			 ndeliv;
	size_t			 delivcap;
	char			(*purge)[37];	/* owned; bodies to remove */
	size_t			 npurge;
	size_t			 purgecap;
	struct store_stmt	*stmt;		/* owned, with their values */
	size_t			 nstmt;
	size_t			 stmtcap;
	char			**chg;		/* owned; changes announced to
						   the cluster: what, ref,
						   what, ref, ... */
	size_t			 nchg;		/* strings in chg (2 each) */
	size_t			 chgcap;
	int			 notify_msg;	/* announce msg_id's commit */
	int64_t			 notify_seen;	/* with the cluster's change
						   sequence its decision saw */
	struct timespec		 queued_at;	/* store_submit(), monotonic */
	store_done_fn		*done;		/* NULL: detached */
	void			*arg;		/* the submitter's */
	enum store_outcome	 outcome;	/* valid on the done list */
	int			 solo;		/* commit alone (a retry) */
	size_t			 hold_bytes;	/* counted while held */
};

TAILQ_HEAD(store_batchq, store_batch);

struct store_result {
	PGresult	*res;		/* borrowed from the query */
};

struct store_query {
	TAILQ_ENTRY(store_query) entry;
	uint64_t	 after;		/* runs after batches up to this one */
	uint64_t	 done_seq;
	const char	*what;		/* for the log */
	char		*sql;		/* owned */
	char		*param[STORE_NPARAMS_MAX]; /* owned; NULL is SQL NULL */
	int		 nparams;
	size_t		 max_rows;	/* more is a failure; 0: any */
	int		 ok;		/* valid on the done list */
	PGresult	*res;		/* owned; the rows, once ok */
	store_result_fn	*fn;
	void		*arg;		/* the caller's */
};

TAILQ_HEAD(store_queryq, store_query);

/* The reader's connection (store_reader.c). */
enum store_reader_state {
	STORE_READER_DOWN,	/* closed */
	STORE_READER_CONNECT,	/* connecting */
	STORE_READER_IDLE,	/* up, nothing in flight */
	STORE_READER_BUSY,	/* one query in flight */
};

enum store_phase {
	STORE_PH_DOWN,		/* no connection */
	STORE_PH_CONNECT,	/* PQconnectPoll under way */
	STORE_PH_SETUP,		/* checks, lock, head, PREPAREs in flight */
	STORE_PH_LOAD,		/* reading allocations and subscriptions */
	STORE_PH_IDLE,		/* ready, nothing in flight */
	STORE_PH_TXN,		/* one transaction in flight */
	STORE_PH_CKPT,		/* a checkpoint row in flight */
	STORE_PH_QUERY,		/* one query in flight */
};

/* How a transaction in doubt will be looked for. */
enum store_doubt {
	STORE_DOUBT_NONE,	/* nothing in doubt */
	STORE_DOUBT_ROW,	/* its last audit row */
	STORE_DOUBT_MARK,	/* its mark in nwd.instances */
};

struct store_conn;
struct store_conn_err;
struct anchor;

struct store {
	struct event_base	*base;		/* borrowed */
	char			*conninfo;	/* owned */
	char			*instance;	/* owned */
	uint32_t		 queue_max;
	uint32_t		 backoff_ms;	/* next reconnect delay */
	uint32_t		 backoff_max_ms;
	store_state_fn		*on_state;
	void			*state_arg;	/* the starter's */
	store_allocations_fn	*on_allocs;	/* NULL: not loaded */
	void			*allocs_arg;	/* the setter's */
	store_subscriptions_fn	*on_subs;	/* NULL: not loaded */
	void			*subs_arg;	/* the setter's */
	enum store_state	 state;
	enum store_phase	 phase;
	int			 started;
	int			 closing;	/* inside store_free() */

	/*
	 * The connection, its socket and the count and first error of the
	 * section in flight (store_conn.h).  Owned, for the store's life;
	 * closed (store_conn_pg() NULL) while DOWN.
	 */
	struct store_conn	*conn;
	struct event		*ev_timer;	/* owned; reconnect, deadline */
	struct event		*ev_defer;	/* owned; callbacks and kick */
	struct event		*ev_ckpt;	/* owned; checkpoint interval */

	/* Every batch is on exactly one of these; each owns its batches. */
	struct store_batchq	 queue;		/* waiting for a transaction */
	struct store_batchq	 inflight;	/* in the open transaction */
	struct store_batchq	 doubt;		/* in a transaction in doubt */
	struct store_batchq	 done;		/* outcome known, not told */
	struct store_batchq	 held;		/* detached rows kept while
						   the database is away */
	size_t			 nqueue;
	size_t			 ninflight;
	size_t			 ndoubt;
	size_t			 ndone;
	size_t			 nheld;		/* batches held */
	size_t			 held_bytes;	/* what they hold */
	size_t			 held_rows;
	size_t			 hold_max_bytes;
	uint64_t		 held_lost;	/* rows past the bound */
	uint64_t		 nsubmitted;	/* batch numbers given */
	uint64_t		 ndone_seq;	/* answers given */

	/* Every query is on one of these or is qcur; each owns its own. */
	struct store_queryq	 queries;	/* waiting */
	struct store_query	*qcur;		/* owned; in flight */
	struct store_queryq	 qdone;		/* answered, not told */
	size_t			 nqueries;	/* all of them */

	/* The reader (store_reader.c): its queries are counted above. */
	struct store_conn	*rconn;		/* owned */
	struct event		*ev_rtimer;	/* owned; reopening */
	enum store_reader_state	 rstate;
	struct store_queryq	 rqueries;	/* waiting for the reader */
	struct store_query	*rcur;		/* owned; in flight there */

	/* The chain: committed head, and tentative with the open txn. */
	struct chain_hasher	*hasher;	/* owned; hashes the rows */
	int64_t			 head_seq;
	uint8_t			 head_hash[CHAIN_HASH_LEN];
	int64_t			 tent_seq;
	uint8_t			 tent_hash[CHAIN_HASH_LEN];
	int			 head_known;	/* read at least once */

	/* The open transaction, and the one in doubt. */
	int64_t			 txn_last_seq;	/* 0: no audit rows */
	uint8_t			 txn_last_hash[CHAIN_HASH_LEN];
	char			 txn_mark[UUID_STR_LEN];
	enum store_doubt	 doubt_kind;
	int64_t			 doubt_seq;
	uint8_t			 doubt_hash[CHAIN_HASH_LEN];
	char			 doubt_mark[UUID_STR_LEN];

	/* The chain outside the database (anchor.h). */
	struct anchor		*anchor;	/* borrowed; NULL: none */
	char			*refusal;	/* owned; why the head was
						   refused, or NULL */

	/* Checkpoints. */
	const struct chain_signer *signer;	/* borrowed; NULL: none */
	uint32_t		 ckpt_rows;	/* 0: not by rows */
	uint32_t		 ckpt_ms;	/* 0: not by time */
	int64_t			 ckpt_seq;	/* last checkpointed seq */
	int64_t			 ckpt_sent;	/* the one in flight */
	int64_t			 ckpt_refused;	/* refused: wait for rows */
	int			 ckpt_due;
	int64_t			 ckpt_at_ms;	/* the one in flight: */
	uint8_t			 ckpt_hash[CHAIN_HASH_LEN];
	uint8_t			 ckpt_sig[CHAIN_SIG_LEN];

	/* What SETUP read. */
	int			 sync_off;	/* synchronous_commit is off */
	int			 locked;	/* the instance lock is ours */
	char			 holder_host[256]; /* if not: who holds it */
	long			 holder_pid;	/* ("" and 0: not recorded) */
	char			 holder_since[32];

	/* The instance's holder: this daemon, as the lock records it. */
	char			 host[256];
	char			 pid[16];
	char			 started_ms[24];
	int			 served;	/* READY at least once */
	store_in_use_fn		*on_in_use;	/* NULL: retry */
	void			*in_use_arg;	/* the setter's */
	int64_t			 db_head_seq;
	uint8_t			 db_head_hash[CHAIN_HASH_LEN];
	int64_t			 db_ckpt_seq;
	int			 doubt_found;	/* the row or mark is there */
	int			 doubt_other;	/* ... but not ours */
	int			 setup_bad;	/* a row did not parse */

	/* What LOAD read, until the sync. */
	int			 reload_due;	/* store_reload() asked */
	int			 reloading;	/* LOAD while serving */
	int			 load_allocs_idx; /* -1: not read */
	int			 load_subs_idx;	/* -1: not read */
	PGresult		*allocs_res;	/* owned */
	PGresult		*subs_res;	/* owned */
};

/* store.c */
/*
 * Ends the connection (if any) for the reason why (see store.c); why may
 * point into the connection.  Never fails.
 */
void		 store_drop(struct store *s, const char *why);
/* Starts what is next if the connection is idle (see store.c). */
void		 store_kick(struct store *s);
/*
 * Starts a pipeline section of phase ph that expects n results before its
 * sync (store_conn_expect()).
 */
void		 store_expect(struct store *s, enum store_phase ph, int n);
/* Drops the connection for the failed statement of what (SETUP or LOAD). */
void		 store_connect_failed(struct store *s, const char *what);
/* Connected and set up: the store serves. */
void		 store_ready(struct store *s);
/* Parses a non-negative decimal bigint; returns 0 or -1. */
int		 store_parse_i64(const char *v, int64_t *out);

/* store_batch.c */
/*
 * Ids for operator logs: the message id, else the first allocation's or
 * delivery's, else the first event's.  Never NULL.
 */
const char	*store_batch_id(const struct store_batch *b);
/* A detached batch (nobody waits for it) that holds rows only. */
int		 store_rows_only(const struct store_batch *b);
/*
 * Moves b's rows into tail when both are detached rows only and they fit
 * in one such batch (STORE_DETACHED_ROWS), and frees b; returns 0, or -1
 * with nothing done.
 */
int		 store_batch_join(struct store_batch *tail,
		    struct store_batch *b);
/* Rows a batch writes: what counts against STORE_TXN_ROWS. */
size_t		 store_batch_rows(const struct store_batch *b);

/* store_chain.c */
/*
 * Fills r with the canonical fields of ev as row seq of instance; with
 * msg_hash (NULL: none), the row carries that message hash.  r points
 * into ev and instance.
 */
void		 store_canon_row(const char *instance,
		    const struct audit_event *ev, int64_t seq,
		    const uint8_t *msg_hash, struct store_row *r);
/*
 * Numbers, links and hashes b's audit rows after the tentative head
 * (moving it on).  Returns 0, or -1 (out of memory) with the tentative
 * head moved over the rows hashed so far: the caller rewinds it.
 */
int		 store_chain_assign(struct store *s, struct store_batch *b);

/* store_anchor.c */
/*
 * Compares the database's chain head (what SETUP read) with the one
 * committed (the state file's, or the one in memory at a reconnect).
 * Returns 0 if it may be continued, or -1 after refusing it (the
 * connection is dropped, the reason kept for store_refusal()).
 */
int		 store_head_check(struct store *s);
/* After a commit: the committed head in the state file (not synced). */
void		 store_anchor_committed(struct store *s);
/* Before a transaction with rows is sent: its intent, synced; 0 or -1. */
int		 store_anchor_intent(struct store *s);
/* A checkpoint committed: its line in the anchors file and the log. */
void		 store_anchor_checkpoint(struct store *s);

/* store_hold.c */
/*
 * Keeps b, a detached batch the database could not take, to be written
 * when it is back: at the head of what is held (a batch that was sent
 * before any held one: a transaction in doubt) or at the tail.  Past
 * the bound the rows are lost, with a warning.  Takes b.
 */
void		 store_hold(struct store *s, struct store_batch *b,
		    int at_head);
/* Puts every held batch, in order, at the head of the queue. */
void		 store_hold_release(struct store *s);
/* At store_free(): what is still held is lost, with a warning. */
void		 store_hold_drop(struct store *s);

/* store_load.c */
/* Sends LOAD's reads (the store has a callback for them); may drop. */
void		 store_load(struct store *s);
/* One result of LOAD; returns 1 if the store kept res until the sync. */
int		 store_load_result(struct store *s, int idx, PGresult *res);
/* LOAD's sync arrived: hands the rows over, then READY (or drops). */
void		 store_load_done(struct store *s);

/* store_query.c */
/* Sends q, the first waiting query, alone (STORE_PH_QUERY); may drop. */
void		 store_query_send(struct store *s, struct store_query *q);
/* One result of the query in flight; returns 1 if the store kept res. */
int		 store_query_result(struct store *s, int idx, PGresult *res);
/* The query's sync arrived: answers it and goes idle. */
void		 store_query_done(struct store *s);
/* Moves q (already unlinked, or qcur) to the done list with ok. */
void		 store_query_finish(struct store *s, struct store_query *q,
		    int ok);
/* Answers every waiting query "failed". */
void		 store_queries_fail(struct store *s);
/*
 * Finishes q, answered on a connection whose section's first error is e:
 * failed, or its rows checked (types, row count).
 */
void		 store_query_answered(struct store *s, struct store_query *q,
		    const struct store_conn_err *e);

/* store_reader.c */
/* Makes the reader (closed) of s; -1 if out of memory. */
int		 store_reader_new(struct store *s);
/* Opens the reader if the store is READY and the reader is down. */
void		 store_reader_open(struct store *s);
/*
 * Takes q (counted in nqueries, on no list) if the reader is up; -1 if
 * not (it starts opening, if down): the caller queues q on the store's
 * connection.
 */
int		 store_reader_take(struct store *s, struct store_query *q);
/* The reader was lost: its queries go back to the store's queue. */
void		 store_reader_lost(struct store *s, const char *why);
/* Closes the reader; its queries fail (the store dropped). */
void		 store_reader_close(struct store *s);
void		 store_reader_free(struct store *s);
/* Frees q, its parameters and its rows; NULL is a no-op. */
void		 store_query_free(struct store_query *q);

#endif
