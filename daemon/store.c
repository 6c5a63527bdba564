/*
 * store: batches of audit rows (and message, allocation, subscription and
 * delivery rows) written to PostgreSQL in pipeline mode on the libevent
 * loop; the hash chain over this instance's audit rows and its signed
 * checkpoints; read-only queries; and the allocations and subscriptions
 * read back at each connect.  See store.h for the contract.
 *
 * This file holds the store's life and its write path: the connection's
 * setup and the phases below, the transaction (its chain, its statements,
 * its outcome), transactions in doubt, checkpoints and store_free().  The
 * connection itself is store_conn.c; building batches, the rows' links and
 * hashes, the queries, LOAD and the SQL text have files of their own
 * (store_int.h lists them).
 *
 * Connection life:
 *
 *	DOWN --timer--> CONNECT --PQconnectPoll ok--> SETUP --sync--> LOAD
 *	                                                               |
 *	                                  sync, the callbacks return 0 v
 *	            +----------------------------------------------> IDLE
 *	            |                                               |  |  |
 *	            |               a checkpoint due, a query ready v  |  v
 *	            +---------------------------sync---- CKPT, QUERY   |  TXN
 *	            |                                                  |   |
 *	            +------------------------------sync----------------+---+
 *
 * SETUP checks synchronous_commit, takes the instance lock, reads the chain
 * head, the last checkpoint and whatever resolves a transaction in doubt,
 * and prepares the statements, all in one pipeline.  LOAD reads the
 * allocations and subscriptions (skipped when no callback wants them).
 *
 * Any connection error, a failed SETUP (synchronous_commit off, the
 * instance lock held elsewhere) or LOAD (a callback returning -1), or a
 * deadline leads back to DOWN: queued batches are answered
 * STORE_UNAVAILABLE (they were never sent), queued queries fail, and a
 * reconnect timer is armed with exponential backoff; the backoff starts
 * again from its minimum only once the store is READY.  The public state
 * is DISCONNECTED in DOWN, CONNECTING in CONNECT, SETUP and LOAD, READY
 * otherwise.
 *
 * The chain.  Each audit row gets its seq, prev_hash and hash (chain.h)
 * when its transaction is built, in send order.  tent is the head including
 * the open transaction, head the committed head.  A transaction that fails
 * rewinds tent to head before its batches are retried one per transaction
 * (the retries are numbered again).  At every connect both are set from
 * the database, after the session advisory lock on
 * hashtext('nwd-instance:' || instance) is ours: a second daemon with the
 * same instance is refused (and retries with backoff) for as long as the
 * first holds its connection.  The database refuses a row that does not
 * link to the row before it (003_audit_chain.sql); such a refusal means
 * the store's head is out of step, so the store reconnects to read it.
 *
 * Transactions in doubt.  When the connection is lost while a transaction
 * is in flight, its COMMIT may or may not have taken effect.  Its batches
 * are neither answered nor retried: they wait on the doubt list (counted
 * by store_pending(), so memory stays bounded by queue_max) until the
 * next connect resolves them, never by guessing:
 *
 *  - The instance lock comes first.  The lost connection's backend held
 *    it and releases it only when it exits, after its transaction has
 *    committed or aborted for good, so once the lock is ours the outcome
 *    can no longer change.
 *  - A transaction with audit rows is found by its last row: if row
 *    (instance, last seq) is there with the hash the store computed for
 *    it, every batch of the transaction gets STORE_COMMITTED (its rows
 *    commit together); if it is absent (or holds another hash),
 *    STORE_UNAVAILABLE.
 *  - A transaction without audit rows also writes a fresh random mark
 *    into nwd.instances, and is found by that mark the same way.
 *
 * store_free() is the one exception, because it must answer every batch
 * before it returns: it waits (bounded) for the transaction in flight,
 * asks the server to cancel it if it is still running, waits again, and
 * answers what is still in doubt STORE_UNAVAILABLE with a warning that the
 * rows may be durable.
 *
 * A purge in flight is in doubt in the same way: it is not answered but
 * run again after reconnect, with the same purge time, which the store
 * chooses; the purge statement also returns the rows an earlier run with
 * that time purged, so the caller hears of every purged body once.
 *
 * A transaction is the statements between two syncs, with no BEGIN or
 * COMMIT: PostgreSQL runs a pipeline's statements up to its sync as one
 * implicit transaction, committed at the sync if none failed, rolled back
 * there otherwise.  So the sync's arrival with no error before it is the
 * COMMIT's answer, and a failed transaction leaves nothing open.
 *
 * Within a transaction each batch sends its message row, then allocation,
 * subscription and delivery rows (they reference the message), then its
 * audit events.  Queries run alone, when every batch submitted before them
 * has been answered.
 *
 * Callbacks never run from inside a public function other than store_free():
 * finished batches and queries go on the done lists and a deferred event
 * delivers them in the order they finished; the allocations and
 * subscriptions callbacks run from the loop while LOAD completes.  Store
 * callbacks must not call store_free().
 */
#include <sys/queue.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "anchor.h"
#include "audit.h"
#include "chain.h"
#include "log.h"
#include "metrics.h"
#include "pgarray.h"
#include "store.h"
#include "store_conn.h"
#include "store_int.h"
#include "store_sql.h"
#include "uuid.h"

#define STORE_TXN_BATCHES	256	/* batches per transaction, at most */
#define STORE_TXN_ROWS		8192	/* rows (one batch may exceed) */
#define STORE_TXN_BYTES		(32u << 20) /* of bodies (one may exceed) */
#define STORE_BACKOFF_MIN_MS	100
#define STORE_CONNECT_TIMEOUT_S	10	/* connect and setup deadline */
#define STORE_FREE_WAIT_MS	3000	/* each wait of store_free() */

/* SETUP, in this order. */
#define STORE_SETUP_SYNC	0
#define STORE_SETUP_LOCK	1
#define STORE_SETUP_HEAD	2
#define STORE_SETUP_CKPT	3
#define STORE_SETUP_DOUBT	4
#define STORE_SETUP_NSTMTS	15	/* with the ten PREPAREs */

static void	store_ckpt_consider(struct store *);

static const char *
store_state_name(enum store_state st)
{
	switch (st) {
	case STORE_DISCONNECTED:	return "disconnected";
	case STORE_CONNECTING:		return "connecting";
	case STORE_READY:		return "ready";
	}
	return "unknown";
}

static const char *
store_outcome_name(enum store_outcome o)
{
	switch (o) {
	case STORE_COMMITTED:	return "committed";
	case STORE_FAILED:	return "failed";
	case STORE_UNAVAILABLE:	return "unavailable";
	case STORE_IN_DOUBT:	return "in_doubt";
	}
	return "unknown";
}

/* Parses 64 hex digits into a hash; returns 0 or -1. */
static int
store_unhex(const char *hex, uint8_t out[CHAIN_HASH_LEN])
{
	return chain_unhex(hex, out, CHAIN_HASH_LEN);
}

/* Parses a non-negative decimal bigint; returns 0 or -1. */
int
store_parse_i64(const char *v, int64_t *out)
{
	char		*end;
	long long	 n;

	if (v == NULL || *v == '\0')
		return -1;
	n = strtoll(v, &end, 10);
	if (*end != '\0' || n < 0 || n == LLONG_MAX)
		return -1;
	*out = n;
	return 0;
}

static int64_t
store_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
store_set_state(struct store *s, enum store_state st)
{
	if (s->state == st)
		return;
	s->state = st;
	if (st == STORE_READY)
		log_info("store: state=ready instance=%s chain_head=%" PRId64
		    " event=store_state",
		    s->instance, s->head_seq);
	else
		log_debug("store: state=%s event=store_state",
		    store_state_name(st));
	if (s->on_state != NULL && !s->closing)
		s->on_state(st, s->state_arg);
}

/* ------------------------------------------------------------------------
 * Outcomes and callbacks
 */

/* Moves b (already unlinked) to the done list; the loop calls back. */
static void
store_finish(struct store *s, struct store_batch *b, enum store_outcome o)
{
	/* Rows nobody waits for wait for the database (store_hold.c). */
	if (b->done == NULL && o == STORE_UNAVAILABLE && !s->closing) {
		store_hold(s, b, 0);
		return;
	}
	b->outcome = o;
	b->done_seq = ++s->ndone_seq;
	TAILQ_INSERT_TAIL(&s->done, b, entry);
	s->ndone++;
	if (!s->closing)
		event_active(s->ev_defer, EV_TIMEOUT, 0);
}

static void
store_finish_all(struct store *s, struct store_batchq *q, size_t *n,
    enum store_outcome o)
{
	struct store_batch	*b;

	while ((b = TAILQ_FIRST(q)) != NULL) {
		TAILQ_REMOVE(q, b, entry);
		(*n)--;
		store_finish(s, b, o);
	}
}

/* Calls back every answered batch and query in order, then frees it. */
static void
store_deliver(struct store *s)
{
	struct store_batch	*b;
	struct store_query	*q;
	struct store_result	 r;

	for (;;) {
		b = TAILQ_FIRST(&s->done);
		q = TAILQ_FIRST(&s->qdone);
		if (b == NULL && q == NULL)
			break;
		if (q == NULL || (b != NULL && b->done_seq < q->done_seq)) {
			TAILQ_REMOVE(&s->done, b, entry);
			s->ndone--;
			if (b->done != NULL)
				b->done(b->outcome, b->arg);
			else if (b->outcome != STORE_COMMITTED)
				log_warnx("store: detached audit rows lost "
				    "outcome=%s message_id=%s "
				    "allocations=%zu events=%zu"
				    " event=audit_rows_lost",
				    store_outcome_name(b->outcome),
				    store_batch_id(b), b->nalloc, b->nev);
			store_batch_free(b);
			continue;
		}
		TAILQ_REMOVE(&s->qdone, q, entry);
		s->nqueries--;
		r.res = q->res;
		if (q->fn != NULL)
			q->fn(q->ok, q->ok ? &r : NULL, q->arg);
		store_query_free(q);
	}
}

static void
store_on_defer(evutil_socket_t fd, short what, void *arg)
{
	struct store	*s = arg;

	store_deliver(s);
	store_kick(s);
}

/* ------------------------------------------------------------------------
 * Connection life
 */

/* Starts a pipeline section that expects n results before its sync. */
void
store_expect(struct store *s, enum store_phase ph, int n)
{
	s->phase = ph;
	store_conn_expect(s->conn, ph, n);
}

/*
 * Ends the connection (if any) for the reason why.  Queued batches are
 * answered STORE_UNAVAILABLE, a transaction in flight goes in doubt (see
 * the top of the file), queued queries fail.
 */
void
store_drop(struct store *s, const char *why)
{
	struct store_batch	*b;
	struct timeval		 tv;
	char			 buf[512];
	size_t			 nlost;

	/* why may point into the connection: copy it before closing. */
	store_conn_oneline(why, buf, sizeof(buf));
	/*
	 * A statement of the transaction failed already: it cannot commit
	 * (its sync rolls it back), so it is not in doubt.
	 */
	if (s->phase == STORE_PH_TXN && s->ninflight > 0 &&
	    !store_conn_err(s->conn)->failed) {
		if (s->doubt_kind != STORE_DOUBT_NONE) {
			/* Cannot happen: a reconnect resolves the first. */
			log_warnx("store: a second transaction in doubt: "
			    "batches=%zu answered in doubt (last_seq=%" PRId64
			    ") event=txn_in_doubt", s->ninflight,
			    s->txn_last_seq);
			store_finish_all(s, &s->inflight, &s->ninflight,
			    STORE_IN_DOUBT);
		} else {
			/* Resolved at the next connect. */
			s->doubt_kind = s->txn_last_seq > 0 ?
			    STORE_DOUBT_ROW : STORE_DOUBT_MARK;
			s->doubt_seq = s->txn_last_seq;
			memcpy(s->doubt_hash, s->txn_last_hash,
			    sizeof(s->doubt_hash));
			memcpy(s->doubt_mark, s->txn_mark,
			    sizeof(s->doubt_mark));
			while ((b = TAILQ_FIRST(&s->inflight)) != NULL) {
				TAILQ_REMOVE(&s->inflight, b, entry);
				s->ninflight--;
				TAILQ_INSERT_TAIL(&s->doubt, b, entry);
				s->ndoubt++;
			}
			log_warnx("store: connection lost with a transaction "
			    "in flight; its outcome is resolved at reconnect "
			    "batches=%zu last_seq=%" PRId64
			    " event=txn_in_doubt", s->ndoubt,
			    s->doubt_seq);
		}
	}
	nlost = s->ninflight + s->nqueue;
	store_finish_all(s, &s->inflight, &s->ninflight, STORE_UNAVAILABLE);
	store_finish_all(s, &s->queue, &s->nqueue, STORE_UNAVAILABLE);

	/* Queries only read: they fail, and the caller asks again. */
	store_reader_close(s);
	if (s->qcur != NULL) {
		store_query_finish(s, s->qcur, 0);
		s->qcur = NULL;
	}
	store_queries_fail(s);

	/* The tentative head goes back; SETUP reads the real one. */
	s->tent_seq = s->head_seq;
	memcpy(s->tent_hash, s->head_hash, sizeof(s->tent_hash));
	s->ckpt_due = 0;
	if (s->ev_ckpt != NULL)
		evtimer_del(s->ev_ckpt);

	PQclear(s->allocs_res);
	s->allocs_res = NULL;
	PQclear(s->subs_res);
	s->subs_res = NULL;
	store_conn_close(s->conn);
	s->reloading = s->reload_due = 0;	/* the connect reads them */
	s->phase = STORE_PH_DOWN;
	if (s->ev_timer != NULL)
		evtimer_del(s->ev_timer);

	if (s->closing) {
		s->state = STORE_DISCONNECTED;
		return;
	}
	log_warnx("store: database unavailable retry_ms=%" PRIu32
	    " batches_unavailable=%zu batches_in_doubt=%zu error=\"%s\""
	    " event=store_unavailable",
	    s->backoff_ms, nlost, s->ndoubt, buf);
	tv.tv_sec = s->backoff_ms / 1000;
	tv.tv_usec = (s->backoff_ms % 1000) * 1000;
	evtimer_add(s->ev_timer, &tv);
	if (s->backoff_ms < s->backoff_max_ms / 2)
		s->backoff_ms *= 2;
	else
		s->backoff_ms = s->backoff_max_ms;
	store_set_state(s, STORE_DISCONNECTED);
}

static void
store_connect(struct store *s)
{
	struct timeval	tv = { STORE_CONNECT_TIMEOUT_S, 0 };

	store_set_state(s, STORE_CONNECTING);
	/* On -1 the connection is lost already: store_drop() has run. */
	if (store_conn_open(s->conn, s->conninfo) == -1)
		return;
	s->phase = STORE_PH_CONNECT;
	evtimer_add(s->ev_timer, &tv);
}

/*
 * Connected: checks synchronous_commit, takes the instance lock, reads the
 * chain head, the last checkpoint and what resolves a transaction in doubt,
 * and prepares the statements, all in one pipeline.  (Preparing fails, and
 * the connect with it, if the schema is not migrated.)
 */
static void
store_setup(struct store *s)
{
	PGconn		*c = store_conn_pg(s->conn);
	const char	*p1[1] = { s->instance };
	const char	*p2[2];
	const char	*pl[STORE_LOCK_HOLD_NPARAMS] = { s->instance, s->host,
			    s->pid, s->started_ms };
	char		 seq[24];
	int		 ok;

	ok = PQsendQueryParams(c, "SHOW synchronous_commit", 0, NULL, NULL,
	    NULL, NULL, 0) &&
	    PQsendQueryParams(c, store_sql_lock_hold, STORE_LOCK_HOLD_NPARAMS,
	    NULL, pl, NULL, NULL, 0) &&
	    PQsendQueryParams(c, store_sql_head, 1, NULL, p1, NULL, NULL, 0) &&
	    PQsendQueryParams(c, store_sql_last_ckpt, 1, NULL, p1, NULL, NULL,
	    0);
	if (ok) {
		switch (s->doubt_kind) {
		case STORE_DOUBT_ROW:
			snprintf(seq, sizeof(seq), "%" PRId64, s->doubt_seq);
			p2[0] = s->instance;
			p2[1] = seq;
			ok = PQsendQueryParams(c, store_sql_doubt_row, 2, NULL,
			    p2, NULL, NULL, 0);
			break;
		case STORE_DOUBT_MARK:
			ok = PQsendQueryParams(c, store_sql_doubt_mark, 1,
			    NULL, p1, NULL, NULL, 0);
			break;
		default:
			ok = PQsendQueryParams(c, store_sql_doubt_none, 1,
			    NULL, p1, NULL, NULL, 0);
			break;
		}
	}
	if (!ok ||
	    !PQsendPrepare(c, STORE_STMT_MSG, store_sql_msg,
	    STORE_MSG_NPARAMS, NULL) ||
	    !PQsendPrepare(c, STORE_STMT_EVENT, store_sql_event,
	    STORE_EVENT_NPARAMS, NULL) ||
	    !PQsendPrepare(c, STORE_STMT_ALLOC, store_sql_alloc,
	    STORE_ALLOC_NPARAMS, NULL) ||
	    !PQsendPrepare(c, STORE_STMT_SUB, store_sql_sub,
	    STORE_SUB_NPARAMS, NULL) ||
	    !PQsendPrepare(c, STORE_STMT_SUBDEL, store_sql_sub_delete,
	    STORE_SUBDEL_NPARAMS, NULL) ||
	    !PQsendPrepare(c, STORE_STMT_DELIV, store_sql_deliv,
	    STORE_DELIV_NPARAMS, NULL) ||
	    !PQsendPrepare(c, STORE_STMT_DSTATE, store_sql_dstate,
	    STORE_DSTATE_NPARAMS, NULL) ||
	    !PQsendPrepare(c, STORE_STMT_MARK, store_sql_mark,
	    STORE_MARK_NPARAMS, NULL) ||
	    !PQsendPrepare(c, STORE_STMT_PURGE, store_sql_purge,
	    STORE_PURGE_NPARAMS, NULL) ||
	    !PQsendPrepare(c, STORE_STMT_CKPT, store_sql_ckpt,
	    STORE_CKPT_NPARAMS, NULL) ||
	    !PQpipelineSync(c)) {
		store_drop(s, PQerrorMessage(c));
		return;
	}
	store_expect(s, STORE_PH_SETUP, STORE_SETUP_NSTMTS);
	s->sync_off = 0;
	s->locked = 0;
	s->holder_host[0] = '\0';
	s->holder_pid = 0;
	s->holder_since[0] = '\0';
	s->db_head_seq = 0;
	memset(s->db_head_hash, 0, sizeof(s->db_head_hash));
	s->db_ckpt_seq = 0;
	s->doubt_found = 0;
	s->doubt_other = 0;
	s->setup_bad = 0;
	store_conn_flush(s->conn);
}

/* Drops the connection for the failed statement of what (SETUP or LOAD). */
void
store_connect_failed(struct store *s, const char *what)
{
	const struct store_conn_err *e = store_conn_err(s->conn);
	char	buf[400];
	int	noschema;

	noschema = strcmp(e->errstate, "42P01") == 0 ||
	    strcmp(e->errstate, "42703") == 0 ||
	    strcmp(e->errstate, "3F000") == 0;
	snprintf(buf, sizeof(buf), "%s: %s (sqlstate %s)%s", what, e->errmsg,
	    e->errstate, noschema ? "; is the schema migrated?" : "");
	store_drop(s, buf);
}

/* Connected and set up: the store serves. */
void
store_ready(struct store *s)
{
	evtimer_del(s->ev_timer);
	s->backoff_ms = STORE_BACKOFF_MIN_MS;
	s->phase = STORE_PH_IDLE;
	s->served = 1;
	/* The queue is empty: nothing is submitted while not ready. */
	store_hold_release(s);
	store_set_state(s, STORE_READY);
	if (s->phase == STORE_PH_IDLE) {
		store_ckpt_consider(s);
		store_kick(s);
	}
}

/*
 * Answers the transaction in doubt from what SETUP found; a committed one
 * moves the head the store expects to find.
 */
static void
store_resolve(struct store *s)
{
	struct store_batch	*b, *prev;
	enum store_outcome	 o;
	const char		*by;

	if (s->doubt_kind == STORE_DOUBT_NONE)
		return;
	by = s->doubt_kind == STORE_DOUBT_ROW ? "last audit row" : "mark";
	if (s->doubt_other)
		log_warnx("store: the row that would resolve the transaction "
		    "in doubt holds another hash: seq %" PRId64 " of "
		    "instance %s was written by someone else"
		    " event=txn_doubt_unresolvable", s->doubt_seq,
		    s->instance);
	o = s->doubt_found && !s->doubt_other ? STORE_COMMITTED :
	    STORE_UNAVAILABLE;
	if (o == STORE_UNAVAILABLE) {
		/* Made before anything held: they go first, in order. */
		for (b = TAILQ_LAST(&s->doubt, store_batchq); b != NULL;
		    b = prev) {
			prev = TAILQ_PREV(b, store_batchq, entry);
			if (b->done != NULL)
				continue;
			TAILQ_REMOVE(&s->doubt, b, entry);
			s->ndoubt--;
			store_hold(s, b, 1);
		}
	}
	log_info("store: transaction in doubt resolved outcome=%s by=\"%s\" "
	    "batches=%zu last_seq=%" PRId64
	    " event=txn_doubt_resolved", store_outcome_name(o), by,
	    s->ndoubt, s->doubt_seq);
	store_finish_all(s, &s->doubt, &s->ndoubt, o);
	if (o == STORE_COMMITTED && s->doubt_kind == STORE_DOUBT_ROW) {
		s->head_seq = s->doubt_seq;
		memcpy(s->head_hash, s->doubt_hash, sizeof(s->head_hash));
	}
	s->doubt_kind = STORE_DOUBT_NONE;
}

/*
 * At store_free(): a transaction still in doubt is resolved on a
 * connection of its own, as a reconnect would (the instance's lock first,
 * so that the backend of the lost connection has finished, then its last
 * row or mark), each step bounded; when the database cannot answer, its
 * batches are answered STORE_IN_DOUBT and logged as such, never guessed.
 */
static void
store_resolve_at_close(struct store *s)
{
	static const char *const kw[] = { "dbname", "connect_timeout",
	    "fallback_application_name", "client_encoding", NULL };
	const char	*val[5], *p[2];
	PGconn		*c;
	PGresult	*res = NULL;
	char		 seq[24], why[256] = "";
	uint8_t		 h[CHAIN_HASH_LEN];

	if (s->ndoubt == 0)
		return;
	val[0] = s->conninfo;
	val[1] = "3";
	val[2] = "nwdd";
	val[3] = "UTF8";
	val[4] = NULL;
	c = PQconnectdbParams(kw, val, 1);
	if (c != NULL)
		PQsetNoticeReceiver(c, store_conn_notice, NULL);
	p[0] = s->instance;
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		store_conn_oneline(c != NULL ? PQerrorMessage(c) :
		    "out of memory", why, sizeof(why));
		goto in_doubt;
	}
	PQclear(PQexec(c, "SET lock_timeout = '3s'"));
	res = PQexecParams(c, "SELECT pg_advisory_lock(hashtext("
	    "'nwd-instance:' || $1))", 1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_conn_oneline(PQerrorMessage(c), why, sizeof(why));
		goto in_doubt;
	}
	PQclear(res);
	if (s->doubt_kind == STORE_DOUBT_ROW) {
		snprintf(seq, sizeof(seq), "%" PRId64, s->doubt_seq);
		p[1] = seq;
		res = PQexecParams(c, store_sql_doubt_row, 2, NULL, p, NULL,
		    NULL, 0);
	} else
		res = PQexecParams(c, store_sql_doubt_mark, 1, NULL, p, NULL,
		    NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_conn_oneline(PQerrorMessage(c), why, sizeof(why));
		goto in_doubt;
	}
	s->doubt_found = PQntuples(res) == 1;
	if (s->doubt_found)
		s->doubt_other = s->doubt_kind == STORE_DOUBT_ROW ?
		    store_unhex(PQgetvalue(res, 0, 0), h) == -1 ||
		    memcmp(h, s->doubt_hash, sizeof(h)) != 0 :
		    strcmp(PQgetvalue(res, 0, 0), s->doubt_mark) != 0;
	PQclear(res);
	PQfinish(c);
	store_resolve(s);
	return;
 in_doubt:
	PQclear(res);
	PQfinish(c);
	log_warnx("store: closing with a transaction in doubt that could not "
	    "be resolved: batches=%zu answered in doubt, their rows may or "
	    "may not be durable (last_seq=%" PRId64 "; the next start "
	    "reads the chain head) error=\"%s\""
	    " event=txn_doubt_unresolved", s->ndoubt, s->doubt_seq,
	    why);
	store_finish_all(s, &s->doubt, &s->ndoubt, STORE_IN_DOUBT);
	s->doubt_kind = STORE_DOUBT_NONE;
}

/*
 * 1 if the recorded holder of the instance is a process of this host that
 * no longer exists: its database session has not ended yet (a daemon
 * killed and started again at once), and will.
 */
static int
store_holder_gone(const struct store *s)
{
	if (s->holder_host[0] == '\0' || strcmp(s->holder_host, s->host) != 0)
		return 0;
	if (s->holder_pid == (long)getpid())
		return 1;
	return s->holder_pid > 0 && kill((pid_t)s->holder_pid, 0) == -1 &&
	    errno == ESRCH;
}

/*
 * SETUP found the instance lock held by another session: at the first
 * connect, the daemon is told (and the store stays down); otherwise the
 * store retries (see store_set_in_use_cb()).
 */
static void
store_not_locked(struct store *s)
{
	char	who[400];

	if (s->holder_host[0] == '\0')
		snprintf(who, sizeof(who), "not recorded");
	else if (strcmp(s->holder_host, s->host) == 0 &&
	    s->holder_pid == (long)getpid())
		snprintf(who, sizeof(who), "not recorded (the record names "
		    "this daemon: its previous connection, or a session that "
		    "took the lock without recording itself)");
	else
		snprintf(who, sizeof(who), "host %s pid %ld since %s",
		    s->holder_host, s->holder_pid, s->holder_since);
	if (!s->served && s->on_in_use != NULL && !store_holder_gone(s)) {
		store_drop(s, "the instance lock is held elsewhere");
		evtimer_del(s->ev_timer);
		s->on_in_use(s->instance, s->holder_host[0] != '\0' ?
		    s->holder_host : NULL, s->holder_pid, s->holder_since,
		    s->in_use_arg);
		return;
	}
	log_warnx("store: instance %s is locked by another database "
	    "session, holder %s (another nwdd with the same instance, or "
	    "this daemon's previous connection not yet ended); nwdd refuses "
	    "to write a second chain and retries"
	    " event=instance_locked", s->instance, who);
	store_drop(s, "the instance lock is held elsewhere");
}

static void
store_setup_done(struct store *s)
{
	if (store_conn_err(s->conn)->failed) {
		store_connect_failed(s, "setting up the connection");
		return;
	}
	if (s->sync_off) {
		log_warnx("store: synchronous_commit is off for this role; "
		    "nwdd refuses to serve without durable commits"
		    " event=synchronous_commit_off");
		store_drop(s, "synchronous_commit is off");
		return;
	}
	if (!s->locked) {
		store_not_locked(s);
		return;
	}
	if (s->setup_bad) {
		store_drop(s, "reading the chain head: unexpected result");
		return;
	}
	store_resolve(s);
	if (store_head_check(s) == -1)
		return;
	s->head_seq = s->tent_seq = s->db_head_seq;
	memcpy(s->head_hash, s->db_head_hash, sizeof(s->head_hash));
	memcpy(s->tent_hash, s->db_head_hash, sizeof(s->tent_hash));
	s->head_known = 1;
	s->ckpt_seq = s->db_ckpt_seq;
	if (s->on_allocs != NULL || s->on_subs != NULL)
		store_load(s);
	else
		store_ready(s);
}

static void
store_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct store	*s = arg;

	switch (s->phase) {
	case STORE_PH_DOWN:
		store_connect(s);
		break;
	case STORE_PH_CONNECT:
	case STORE_PH_SETUP:
		store_drop(s, "timed out connecting");
		break;
	case STORE_PH_LOAD:
		store_drop(s, "timed out reading allocations and "
		    "subscriptions");
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------------------
 * Write path
 */

/*
 * Sends one statement whose parameters are the n arrays of arr (finished
 * here), after the scalar instance as $1 if with_instance.  Returns 0 or
 * -1 (out of memory, or libpq refused).
 */
static int
store_send_arrays(struct store *s, const char *stmt, int with_instance,
    struct pgarray *arr, int n)
{
	const char	*v[STORE_NPARAMS_MAX];
	int		 len[STORE_NPARAMS_MAX], fmt[STORE_NPARAMS_MAX];
	int		 i, k = 0;

	if (n + 1 > STORE_NPARAMS_MAX)
		return -1;
	if (with_instance) {
		v[k] = s->instance;
		len[k] = 0;
		fmt[k++] = 0;
	}
	for (i = 0; i < n; i++, k++) {
		if (pgarray_finish(&arr[i], &v[k], &len[k]) == -1)
			return -1;
		fmt[k] = pgarray_is_binary(&arr[i]);
	}
	return PQsendQueryPrepared(store_conn_pg(s->conn), stmt, k, v, len, fmt,
	    0) ? 0 : -1;
}

static void
store_arrays_free(struct pgarray *arr, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		pgarray_free(&arr[i]);
}

/* The message rows of every in-flight batch, in one INSERT. */
static int
store_send_msgs(struct store *s)
{
	struct pgarray		 a[STORE_MSG_NPARAMS - 1];
	const struct store_batch *b;
	int			 i, rc;

	for (i = 0; i < STORE_MSG_NPARAMS - 1; i++)
		pgarray_start(&a[i], store_sql_msg_types[i]);
	TAILQ_FOREACH(b, &s->inflight, entry) {
		if (!b->has_msg)
			continue;
		pgarray_add(&a[0], b->msg_id);
		pgarray_add_i64(&a[1], b->msg_kind);
		pgarray_add(&a[2], b->msg_subject);
		pgarray_add(&a[3], b->msg_sender);
		pgarray_add(&a[4], b->msg_agency);
		pgarray_add_i64(&a[5], b->msg_marking);
		pgarray_add_i64(&a[6], b->msg_priority);
		pgarray_add_i64(&a[7], b->msg_legal_basis);
		pgarray_add_i64(&a[8], b->msg_created_ms);
		pgarray_add(&a[9], b->msg_policy_version);
		pgarray_add_bytes(&a[10], b->msg_body, b->msg_body_len);
		pgarray_add(&a[11], b->msg_key_id);
	}
	rc = store_send_arrays(s, STORE_STMT_MSG, 1, a, STORE_MSG_NPARAMS - 1);
	store_arrays_free(a, STORE_MSG_NPARAMS - 1);
	return rc;
}

/* The audit rows of every in-flight batch, numbered and linked, in one. */
static int
store_send_events(struct store *s)
{
	struct pgarray		 a[STORE_EVENT_NPARAMS - 1];
	const struct store_batch *b;
	const struct audit_event *ev;
	const struct store_link	*l;
	size_t			 j;
	int			 i, rc;

	for (i = 0; i < STORE_EVENT_NPARAMS - 1; i++)
		pgarray_start(&a[i], store_sql_event_types[i]);
	TAILQ_FOREACH(b, &s->inflight, entry) {
		for (j = 0; j < b->nev; j++) {
			ev = b->ev[j];
			l = &b->link[j];
			pgarray_add_i64(&a[0], ev->at_ms);
			pgarray_add(&a[1], ev->actor);
			pgarray_add(&a[2], audit_action_name(ev->action));
			pgarray_add(&a[3], ev->message_id);
			pgarray_add(&a[4], ev->subject);
			if (ev->kind != 0)
				pgarray_add_i64(&a[5], ev->kind);
			else
				pgarray_add_null(&a[5]);
			pgarray_add(&a[6], ev->recipient);
			pgarray_add(&a[7], ev->fields_shared);
			pgarray_add(&a[8], ev->fields_withheld);
			pgarray_add(&a[9], ev->rule);
			pgarray_add(&a[10], ev->policy_version);
			pgarray_add(&a[11], ev->reason);
			pgarray_add(&a[12], ev->peer);
			pgarray_add(&a[13], ev->session);
			pgarray_add_i64(&a[14], l->seq);
			pgarray_add_bytes(&a[15], l->prev, sizeof(l->prev));
			pgarray_add_bytes(&a[16], l->hash, sizeof(l->hash));
			pgarray_add(&a[17], ev->route);
			if (l->has_msg_hash)
				pgarray_add_bytes(&a[18], l->msg_hash,
				    sizeof(l->msg_hash));
			else
				pgarray_add_null(&a[18]);
		}
	}
	rc = store_send_arrays(s, STORE_STMT_EVENT, 1, a,
	    STORE_EVENT_NPARAMS - 1);
	store_arrays_free(a, STORE_EVENT_NPARAMS - 1);
	return rc;
}

/* The new pending deliveries of every in-flight batch, in one INSERT. */
static int
store_send_delivs(struct store *s)
{
	struct pgarray		 a[STORE_DELIV_NPARAMS];
	const struct store_batch *b;
	size_t			 j;
	int			 i, rc;

	for (i = 0; i < STORE_DELIV_NPARAMS; i++)
		pgarray_start(&a[i], store_sql_deliv_types[i]);
	TAILQ_FOREACH(b, &s->inflight, entry) {
		for (j = 0; j < b->ndeliv; j++) {
			if (b->deliv[j].state != NULL)
				continue;
			pgarray_add(&a[0], b->deliv[j].msg_id);
			pgarray_add(&a[1], b->deliv[j].principal);
			pgarray_add(&a[2], b->deliv[j].subscription);
		}
	}
	rc = store_send_arrays(s, STORE_STMT_DELIV, 0, a,
	    STORE_DELIV_NPARAMS);
	store_arrays_free(a, STORE_DELIV_NPARAMS);
	return rc;
}

static int
store_send_alloc(struct store *s, const struct store_alloc *a)
{
	char		 from[24], until[24];
	const char	*v[STORE_ALLOC_NPARAMS];

	snprintf(from, sizeof(from), "%" PRId64, a->from_ms);
	snprintf(until, sizeof(until), "%" PRId64, a->until_ms);
	v[0] = a->msg_id;
	v[1] = a->subject;
	v[2] = a->team;
	v[3] = a->worker;
	v[4] = a->from_ms != 0 ? from : NULL;
	v[5] = a->until_ms != 0 ? until : NULL;
	v[6] = s->instance;
	return PQsendQueryPrepared(store_conn_pg(s->conn), STORE_STMT_ALLOC,
	    STORE_ALLOC_NPARAMS, v, NULL, NULL, 0) ? 0 : -1;
}

static int
store_send_sub(struct store *s, const struct store_sub *u)
{
	const char	*v[STORE_SUB_NPARAMS];

	v[0] = u->principal;
	v[1] = u->name;
	if (u->withdraw != NULL) {
		v[2] = u->withdraw;
		v[3] = u->del ? "true" : "false";
		return PQsendQueryPrepared(store_conn_pg(s->conn),
		    STORE_STMT_SUBDEL, STORE_SUBDEL_NPARAMS, v, NULL, NULL,
		    0) ? 0 : -1;
	}
	v[2] = u->kinds;
	v[3] = u->subjects;
	v[4] = u->keep ? "true" : "false";
	return PQsendQueryPrepared(store_conn_pg(s->conn), STORE_STMT_SUB,
	    STORE_SUB_NPARAMS, v, NULL, NULL, 0) ? 0 : -1;
}

/* The bodies every in-flight batch purges, in one UPDATE. */
static int
store_send_purges(struct store *s)
{
	struct pgarray		 a;
	const struct store_batch *b;
	size_t			 j;
	int			 rc;

	pgarray_start(&a, PGARRAY_LITERAL);
	TAILQ_FOREACH(b, &s->inflight, entry)
		for (j = 0; j < b->npurge; j++)
			pgarray_add(&a, b->purge[j]);
	rc = store_send_arrays(s, STORE_STMT_PURGE, 0, &a, 1);
	pgarray_free(&a);
	return rc;
}

/* One of a batch's further statements (a deadline's). */
static int
store_send_stmt(struct store *s, const struct store_stmt *st)
{
	return PQsendQueryParams(store_conn_pg(s->conn), st->sql, st->n,
	    NULL, (const char *const *)st->v, NULL, NULL, 0) ? 0 : -1;
}

/* The changes of state of every in-flight batch's deliveries, in one. */
static int
store_send_dstates(struct store *s)
{
	struct pgarray		 a[STORE_DSTATE_NPARAMS];
	const struct store_batch *b;
	size_t			 j;
	int			 i, rc;

	for (i = 0; i < STORE_DSTATE_NPARAMS; i++)
		pgarray_start(&a[i], store_sql_dstate_types[i]);
	TAILQ_FOREACH(b, &s->inflight, entry) {
		for (j = 0; j < b->ndeliv; j++) {
			if (b->deliv[j].state == NULL)
				continue;
			pgarray_add(&a[0], b->deliv[j].msg_id);
			pgarray_add(&a[1], b->deliv[j].principal);
			pgarray_add(&a[2], b->deliv[j].subscription);
			pgarray_add(&a[3], b->deliv[j].state);
		}
	}
	rc = store_send_arrays(s, STORE_STMT_DSTATE, 0, a,
	    STORE_DSTATE_NPARAMS);
	store_arrays_free(a, STORE_DSTATE_NPARAMS);
	return rc;
}

/*
 * A change that decisions do not read (a deadline: its timer) is no
 * number of the sequence: it is announced as a notice, "d INSTANCE ID".
 */
static int
store_change_notice(const char *what)
{
	return strcmp(what, "deadline") == 0;
}

/*
 * What the in-flight batches announce to the other instances: their
 * changes (one statement) and their messages (one statement).
 */
static int
store_send_cluster(struct store *s, int changes, int messages)
{
	struct pgarray		 a[2];
	const struct store_batch *b;
	const char		*v[3];
	char			 note[80];
	size_t			 j;
	int			 rc = 0, len;

	if (changes) {
		pgarray_start(&a[0], PGARRAY_LITERAL);
		pgarray_start(&a[1], PGARRAY_LITERAL);
		TAILQ_FOREACH(b, &s->inflight, entry)
			for (j = 0; j + 1 < b->nchg; j += 2) {
				if (store_change_notice(b->chg[j]))
					continue;
				pgarray_add(&a[0], b->chg[j]);
				pgarray_add(&a[1], b->chg[j + 1]);
			}
		v[0] = s->instance;
		if (pgarray_finish(&a[0], &v[1], &len) == -1 ||
		    pgarray_finish(&a[1], &v[2], &len) == -1 ||
		    !PQsendQueryParams(store_conn_pg(s->conn),
		    store_sql_cluster_changes, 3, NULL, v, NULL, NULL, 0))
			rc = -1;
		store_arrays_free(a, 2);
	}
	if (rc == 0 && messages) {
		pgarray_start(&a[0], PGARRAY_LITERAL);
		TAILQ_FOREACH(b, &s->inflight, entry) {
			if (b->notify_msg) {
				snprintf(note, sizeof(note), "m %s %" PRId64,
				    b->msg_id, b->notify_seen);
				pgarray_add(&a[0], note);
			}
			for (j = 0; j + 1 < b->nchg; j += 2)
				if (store_change_notice(b->chg[j])) {
					snprintf(note, sizeof(note), "d %.64s",
					    b->chg[j + 1]);
					pgarray_add(&a[0], note);
				}
		}
		v[0] = s->instance;
		if (pgarray_finish(&a[0], &v[1], &len) == -1 ||
		    !PQsendQueryParams(store_conn_pg(s->conn),
		    store_sql_cluster_messages, 2, NULL, v, NULL, NULL, 0))
			rc = -1;
		store_arrays_free(a, 1);
	}
	return rc;
}

/*
 * Sends one transaction holding the batches at the head of the queue
 * numbered up to limit: all of them up to the caps, or a single one
 * marked solo.  Every audit row is numbered and hashed before anything is
 * sent.
 */
static void
store_send_txn(struct store *s, uint64_t limit)
{
	struct store_batch	*b;
	const char		*mv[STORE_MARK_NPARAMS];
	size_t			 nb = 0, nrows = 0, nbytes = 0, cost, i;
	size_t			 nmsg = 0, nev = 0, nnew = 0, nsingle = 0;
	size_t			 npurge = 0, nstate = 0, nchg = 0, nnote = 0;
	struct timespec		 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	while ((b = TAILQ_FIRST(&s->queue)) != NULL && b->num <= limit) {
		cost = store_batch_rows(b);
		if (nb > 0 && (b->solo || nb >= STORE_TXN_BATCHES ||
		    nrows + cost > STORE_TXN_ROWS ||
		    nbytes + b->msg_body_len > STORE_TXN_BYTES))
			break;
		TAILQ_REMOVE(&s->queue, b, entry);
		s->nqueue--;
		TAILQ_INSERT_TAIL(&s->inflight, b, entry);
		s->ninflight++;
		/* A retry (solo) counts its wait again, from its first try. */
		metrics_store_wait((double)(now.tv_sec - b->queued_at.tv_sec) +
		    (double)(now.tv_nsec - b->queued_at.tv_nsec) / 1e9);
		nb++;
		nrows += cost;
		nbytes += b->msg_body_len;
		nmsg += b->has_msg ? 1 : 0;
		nev += b->nev;
		npurge += b->npurge;
		nsingle += b->nalloc + b->nsub + b->nstmt;
		for (i = 0; i + 1 < b->nchg; i += 2) {
			if (store_change_notice(b->chg[i]))
				nnote++;
			else
				nchg++;
		}
		nnote += b->notify_msg ? 1 : 0;
		for (i = 0; i < b->ndeliv; i++) {
			if (b->deliv[i].state == NULL)
				nnew++;
			else
				nstate++;
		}
		if (b->solo)
			break;
	}
	if (nb == 0)
		return;
	TAILQ_FOREACH(b, &s->inflight, entry) {
		if (store_chain_assign(s, b) == -1) {
			log_warnx("store: cannot hash audit rows (out of "
			    "memory?); batches=%zu answered unavailable"
			    " event=audit_hash_failed",
			    s->ninflight);
			s->tent_seq = s->head_seq;
			memcpy(s->tent_hash, s->head_hash,
			    sizeof(s->tent_hash));
			store_finish_all(s, &s->inflight, &s->ninflight,
			    STORE_UNAVAILABLE);
			return;
		}
	}
	s->txn_last_seq = s->tent_seq > s->head_seq ? s->tent_seq : 0;
	memcpy(s->txn_last_hash, s->tent_hash, sizeof(s->txn_last_hash));
	s->txn_mark[0] = '\0';
	if (s->txn_last_seq == 0 && uuid_generate_v4(s->txn_mark) == -1) {
		log_warnx("store: no randomness for a transaction mark; "
		    "batches=%zu answered unavailable"
		    " event=randomness_failed", s->ninflight);
		store_finish_all(s, &s->inflight, &s->ninflight,
		    STORE_UNAVAILABLE);
		return;
	}
	if (store_anchor_intent(s) == -1) {
		s->tent_seq = s->head_seq;
		memcpy(s->tent_hash, s->head_hash, sizeof(s->tent_hash));
		store_finish_all(s, &s->inflight, &s->ninflight,
		    STORE_UNAVAILABLE);
		return;
	}

	/*
	 * From here on the transaction may reach the server: in doubt.  No
	 * BEGIN or COMMIT: the sync ends the implicit transaction.
	 */
	store_expect(s, STORE_PH_TXN, (int)nsingle + (nmsg > 0) + (nev > 0) +
	    (nnew > 0) + (nstate > 0) + (npurge > 0) + (nchg > 0) +
	    (nnote > 0) + (s->txn_last_seq == 0 ? 1 : 0));
	if (s->txn_last_seq == 0) {
		mv[0] = s->instance;
		mv[1] = s->txn_mark;
		if (!PQsendQueryPrepared(store_conn_pg(s->conn),
		    STORE_STMT_MARK, STORE_MARK_NPARAMS, mv, NULL, NULL, 0))
			goto lost;
	}
	/*
	 * Messages first (allocations and deliveries refer to them), then
	 * allocations and subscriptions in order (deliveries refer to those),
	 * new deliveries, changes of state, and the audit rows last.
	 */
	if (nmsg > 0 && store_send_msgs(s) == -1)
		goto lost;
	TAILQ_FOREACH(b, &s->inflight, entry) {
		for (i = 0; i < b->nalloc; i++)
			if (store_send_alloc(s, &b->alloc[i]) == -1)
				goto lost;
		for (i = 0; i < b->nsub; i++)
			if (store_send_sub(s, &b->sub[i]) == -1)
				goto lost;
	}
	if (nnew > 0 && store_send_delivs(s) == -1)
		goto lost;
	if (nstate > 0 && store_send_dstates(s) == -1)
		goto lost;
	if (npurge > 0 && store_send_purges(s) == -1)
		goto lost;
	TAILQ_FOREACH(b, &s->inflight, entry)
		for (i = 0; i < b->nstmt; i++)
			if (store_send_stmt(s, &b->stmt[i]) == -1)
				goto lost;
	if (nev > 0 && store_send_events(s) == -1)
		goto lost;
	/* Last: the change sequence's row lock is held to the commit. */
	if ((nchg > 0 || nnote > 0) && store_send_cluster(s, nchg > 0,
	    nnote > 0) == -1)
		goto lost;
	if (!PQpipelineSync(store_conn_pg(s->conn)))
		goto lost;
	store_conn_flush(s->conn);
	return;

 lost:
	store_drop(s, PQerrorMessage(store_conn_pg(s->conn)));
}

/* Sends a signed checkpoint of the committed head; returns 0 or -1. */
static int
store_ckpt_send(struct store *s)
{
	uint8_t		 sig[CHAIN_SIG_LEN];
	char		 seq[24], at[24], *text;
	const char	*v[STORE_CKPT_NPARAMS];
	int		 len[STORE_CKPT_NPARAMS], fmt[STORE_CKPT_NPARAMS];
	int		 tlen;
	size_t		 tcap;
	int64_t		 at_ms;

	s->ckpt_due = 0;
	if (s->signer == NULL || s->head_seq <= s->ckpt_seq ||
	    s->head_seq <= s->ckpt_refused)
		return -1;
	at_ms = store_now_us() / 1000;
	tcap = strlen(s->instance) + 2 * CHAIN_HASH_LEN + 128;
	if ((text = malloc(tcap)) == NULL)
		return -1;
	tlen = chain_checkpoint_text(s->instance, s->head_seq, s->head_hash,
	    at_ms, text, tcap);
	if (tlen < 0 || chain_sign(s->signer, text, (size_t)tlen, sig) == -1) {
		free(text);
		log_warnx("store: cannot sign a checkpoint of seq %" PRId64
		    " event=checkpoint_sign_failed",
		    s->head_seq);
		return -1;
	}
	free(text);
	snprintf(seq, sizeof(seq), "%" PRId64, s->head_seq);
	snprintf(at, sizeof(at), "%" PRId64, at_ms);
	memset(len, 0, sizeof(len));
	memset(fmt, 0, sizeof(fmt));
	v[0] = s->instance;
	v[1] = seq;
	v[2] = (const char *)s->head_hash;
	len[2] = CHAIN_HASH_LEN;
	fmt[2] = 1;
	v[3] = at;
	v[4] = chain_signer_key_id(s->signer);
	v[5] = (const char *)sig;
	len[5] = CHAIN_SIG_LEN;
	fmt[5] = 1;
	if (!PQsendQueryPrepared(store_conn_pg(s->conn), STORE_STMT_CKPT,
	    STORE_CKPT_NPARAMS, v, len, fmt, 0) ||
	    !PQpipelineSync(store_conn_pg(s->conn))) {
		store_drop(s, PQerrorMessage(store_conn_pg(s->conn)));
		return 0;
	}
	s->ckpt_sent = s->head_seq;
	s->ckpt_at_ms = at_ms;
	memcpy(s->ckpt_hash, s->head_hash, sizeof(s->ckpt_hash));
	memcpy(s->ckpt_sig, sig, sizeof(s->ckpt_sig));
	store_expect(s, STORE_PH_CKPT, 1);
	store_conn_flush(s->conn);
	return 0;
}

/* After a commit or a connect: is a checkpoint due, or soon? */
static void
store_ckpt_consider(struct store *s)
{
	struct timeval	tv;

	if (s->signer == NULL || s->head_seq <= s->ckpt_seq ||
	    s->head_seq <= s->ckpt_refused)
		return;
	if (s->ckpt_rows > 0 &&
	    s->head_seq - s->ckpt_seq >= (int64_t)s->ckpt_rows)
		s->ckpt_due = 1;
	else if (s->ckpt_ms > 0 && !evtimer_pending(s->ev_ckpt, NULL)) {
		tv.tv_sec = s->ckpt_ms / 1000;
		tv.tv_usec = (s->ckpt_ms % 1000) * 1000;
		evtimer_add(s->ev_ckpt, &tv);
	}
}

static void
store_on_ckpt_timer(evutil_socket_t fd, short what, void *arg)
{
	struct store	*s = arg;

	if (s->phase == STORE_PH_DOWN || s->head_seq <= s->ckpt_seq)
		return;
	s->ckpt_due = 1;
	store_kick(s);
}

/*
 * Starts what is next if the connection is idle: a checkpoint that is
 * due, a query whose batches are all answered, or a transaction.  While
 * closing, only store_free() starts anything.
 */
void
store_kick(struct store *s)
{
	struct store_batch	*b;
	struct store_query	*q;

	if (s->phase != STORE_PH_IDLE || s->closing)
		return;
	if (s->ckpt_due && store_ckpt_send(s) == 0)
		return;
	if (s->reload_due) {
		s->reload_due = 0;
		s->reloading = 1;
		store_load(s);
		return;
	}
	q = TAILQ_FIRST(&s->queries);
	b = TAILQ_FIRST(&s->queue);
	if (q != NULL && (b == NULL || b->num > q->after))
		store_query_send(s, q);
	else if (b != NULL)
		store_send_txn(s, q != NULL ? q->after : UINT64_MAX);
}

/* A committed transaction's size and time, for the metrics. */
static void
store_txn_metrics(const struct store *s)
{
	const struct store_batch	*b;
	const struct timespec		*since = store_conn_since(s->conn);
	struct timespec			 now;
	size_t				 rows = 0;

	TAILQ_FOREACH(b, &s->inflight, entry)
		rows += b->nev;
	clock_gettime(CLOCK_MONOTONIC, &now);
	metrics_txn(s->ninflight, rows, (double)(now.tv_sec - since->tv_sec) +
	    (double)(now.tv_nsec - since->tv_nsec) / 1e9);
}

/*
 * Splits b, a refused batch of detached rows, into one batch per row, each
 * committed alone, at the head of the queue in order.  Returns -1 (b
 * untouched) without the memory.
 */
static int
store_split_rows(struct store *s, struct store_batch *b)
{
	struct store_batchq	 one;
	struct store_batch	*r;
	size_t			 i;

	TAILQ_INIT(&one);
	for (i = 0; i < b->nev; i++) {
		if ((r = store_batch_new()) == NULL)
			goto fail;
		r->num = b->num;
		r->queued_at = b->queued_at;
		r->solo = 1;
		TAILQ_INSERT_TAIL(&one, r, entry);
	}
	i = 0;
	TAILQ_FOREACH(r, &one, entry) {
		/* It takes the row, even when it fails (memory). */
		if (store_batch_add_event(r, b->ev[i]) == -1)
			log_warnx("store: out of memory, an audit row dropped"
			    " event=audit_rows_lost");
		b->ev[i++] = NULL;
	}
	b->nev = 0;
	store_batch_free(b);
	TAILQ_CONCAT(&one, &s->queue, entry);
	TAILQ_CONCAT(&s->queue, &one, entry);
	s->nqueue += i;
	return 0;
 fail:
	while ((r = TAILQ_FIRST(&one)) != NULL) {
		TAILQ_REMOVE(&one, r, entry);
		store_batch_free(r);
	}
	return -1;
}

/* The sync of a transaction arrived: decides every in-flight batch. */
static void
store_txn_done(struct store *s)
{
	const struct store_conn_err *e = store_conn_err(s->conn);
	struct store_batch	*b;
	int			 out_of_step;

	if (PQtransactionStatus(store_conn_pg(s->conn)) != PQTRANS_IDLE) {
		/* Not what a sync leaves: no telling what was committed. */
		store_drop(s, "a transaction is still open after its sync");
		return;
	}
	if (!e->failed) {
		store_txn_metrics(s);
		s->head_seq = s->tent_seq;
		memcpy(s->head_hash, s->tent_hash, sizeof(s->head_hash));
		store_anchor_committed(s);
		store_finish_all(s, &s->inflight, &s->ninflight,
		    STORE_COMMITTED);
		store_ckpt_consider(s);
	} else {
		/* Nothing of it was written: the chain goes back. */
		s->tent_seq = s->head_seq;
		memcpy(s->tent_hash, s->head_hash, sizeof(s->tent_hash));
		/* NW002: the instance's lock is not this connection's. */
		out_of_step = strcmp(e->errstate, "NW001") == 0 ||
		    strcmp(e->errstate, "NW002") == 0 ||
		    (strcmp(e->errstate, "23505") == 0 &&
		    strcmp(e->errconstraint,
		    "audit_events_instance_seq_key") == 0);
		if (out_of_step) {
			log_warnx("store: the audit chain is out of step with "
			    "the database (sqlstate=%s error=\"%s\"); "
			    "batches=%zu answered unavailable, reconnecting "
			    "to read the head"
			    " event=chain_out_of_step", e->errstate, e->errmsg,
			    s->ninflight);
			store_finish_all(s, &s->inflight, &s->ninflight,
			    STORE_UNAVAILABLE);
			s->phase = STORE_PH_IDLE;
			store_drop(s, "the audit chain is out of step");
			return;
		}
		if (s->ninflight == 1 &&
		    store_rows_only(TAILQ_FIRST(&s->inflight)) &&
		    TAILQ_FIRST(&s->inflight)->nev > 1) {
			/* One refused row must not take the others along. */
			b = TAILQ_FIRST(&s->inflight);
			TAILQ_REMOVE(&s->inflight, b, entry);
			s->ninflight = 0;
			log_info("store: rows refused, retrying one row per "
			    "transaction rows=%zu sqlstate=%s error=\"%s\""
			    " event=rows_refused",
			    b->nev, e->errstate, e->errmsg);
			if (store_split_rows(s, b) == -1)
				store_finish(s, b, STORE_FAILED);
		} else if (s->ninflight == 1) {
			b = TAILQ_FIRST(&s->inflight);
			log_warnx("store: batch refused message_id=%s "
			    "allocations=%zu events=%zu sqlstate=%s "
			    "error=\"%s\" event=batch_refused",
			    store_batch_id(b), b->nalloc, b->nev, e->errstate,
			    e->errmsg);
			store_finish_all(s, &s->inflight, &s->ninflight,
			    STORE_FAILED);
		} else {
			/* Retry each alone, at the head, in order. */
			log_info("store: transaction refused, retrying one "
			    "batch per transaction batches=%zu sqlstate=%s "
			    "error=\"%s\""
			    " event=txn_refused", s->ninflight, e->errstate,
			    e->errmsg);
			TAILQ_FOREACH(b, &s->inflight, entry)
				b->solo = 1;
			TAILQ_CONCAT(&s->inflight, &s->queue, entry);
			TAILQ_CONCAT(&s->queue, &s->inflight, entry);
			s->nqueue += s->ninflight;
			s->ninflight = 0;
		}
	}
	s->phase = STORE_PH_IDLE;
	store_kick(s);
}

static void
store_ckpt_done(struct store *s)
{
	const struct store_conn_err *e = store_conn_err(s->conn);

	if (e->failed) {
		log_warnx("store: checkpoint of seq %" PRId64 " refused "
		    "sqlstate=%s error=\"%s\""
		    " event=checkpoint_refused", s->ckpt_sent, e->errstate,
		    e->errmsg);
		/* No retry before new rows: a refusal must not loop. */
		s->ckpt_refused = s->ckpt_sent;
	} else {
		s->ckpt_seq = s->ckpt_sent;
		evtimer_del(s->ev_ckpt);
		store_anchor_checkpoint(s);
	}
	s->phase = STORE_PH_IDLE;
	store_ckpt_consider(s);
	store_kick(s);
}

/* ------------------------------------------------------------------------
 * What the connection tells the store (struct store_conn_cb)
 */

/*
 * The connection's sync callback: the section named what (the phase that
 * sent it) is over, with every result it expected.
 */
static void
store_on_sync(struct store_conn *c, int what, void *arg)
{
	struct store	*s = arg;

	switch (what) {
	case STORE_PH_SETUP:
		store_setup_done(s);
		break;
	case STORE_PH_LOAD:
		store_load_done(s);
		break;
	case STORE_PH_TXN:
		store_txn_done(s);
		break;
	case STORE_PH_CKPT:
		store_ckpt_done(s);
		break;
	case STORE_PH_QUERY:
		store_query_done(s);
		break;
	default:
		store_drop(s, "unexpected pipeline sync");
		break;
	}
}

/* One row of SETUP's reads. */
static void
store_setup_row(struct store *s, int idx, const PGresult *res)
{
	int	n = PQntuples(res);

	switch (idx) {
	case STORE_SETUP_SYNC:
		s->sync_off = n == 1 &&
		    strcmp(PQgetvalue(res, 0, 0), "off") == 0;
		break;
	case STORE_SETUP_LOCK:
		s->locked = n == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		if (n != 1 || s->locked || PQgetisnull(res, 0, 1))
			break;
		snprintf(s->holder_host, sizeof(s->holder_host), "%s",
		    PQgetvalue(res, 0, 1));
		s->holder_pid = strtol(PQgetvalue(res, 0, 2), NULL, 10);
		snprintf(s->holder_since, sizeof(s->holder_since), "%s",
		    PQgetvalue(res, 0, 3));
		break;
	case STORE_SETUP_HEAD:
		if (n == 1 && (store_parse_i64(PQgetvalue(res, 0, 0),
		    &s->db_head_seq) == -1 ||
		    store_unhex(PQgetvalue(res, 0, 1), s->db_head_hash) == -1))
			s->setup_bad = 1;
		break;
	case STORE_SETUP_CKPT:
		if (n != 1 || store_parse_i64(PQgetvalue(res, 0, 0),
		    &s->db_ckpt_seq) == -1)
			s->setup_bad = 1;
		break;
	case STORE_SETUP_DOUBT:
		if (n != 1 || s->doubt_kind == STORE_DOUBT_NONE)
			break;
		s->doubt_found = 1;
		if (s->doubt_kind == STORE_DOUBT_ROW) {
			uint8_t	h[CHAIN_HASH_LEN];

			s->doubt_other = store_unhex(PQgetvalue(res, 0, 0),
			    h) == -1 || memcmp(h, s->doubt_hash,
			    sizeof(h)) != 0;
		} else
			s->doubt_other = strcmp(PQgetvalue(res, 0, 0),
			    s->doubt_mark) != 0;
		break;
	default:
		break;
	}
}

/*
 * The connection's result callback: one statement of the section named
 * what succeeded.  Returns 1 if the store kept res (rows of LOAD until the
 * sync, a query's rows), else 0 and the connection clears it.  (A failed
 * statement is the connection's to record: store_conn_err().)
 */
static int
store_on_result(struct store_conn *c, int what, int idx, PGresult *res,
    void *arg)
{
	struct store	*s = arg;

	switch (what) {
	case STORE_PH_SETUP:
		store_setup_row(s, idx, res);
		break;
	case STORE_PH_LOAD:
		return store_load_result(s, idx, res);
	case STORE_PH_QUERY:
		return store_query_result(s, idx, res);
	default:
		break;
	}
	return 0;
}

/* The connection's up callback: connected, it is set up. */
static void
store_on_up(struct store_conn *c, void *arg)
{
	store_setup(arg);
}

/* The connection's lost callback: store_drop() closes it. */
static void
store_on_lost(struct store_conn *c, const char *why, void *arg)
{
	store_drop(arg, why);
}

static const struct store_conn_cb store_callbacks = {
	.up = store_on_up,
	.result = store_on_result,
	.sync = store_on_sync,
	.lost = store_on_lost,
};

static int
store_busy(const struct store *s)
{
	switch (s->phase) {
	case STORE_PH_SETUP:
	case STORE_PH_LOAD:
	case STORE_PH_TXN:
	case STORE_PH_CKPT:
	case STORE_PH_QUERY:
		return 1;
	default:
		return 0;
	}
}

/* ------------------------------------------------------------------------
 * Public
 */

struct store *
store_new(struct event_base *base, const char *conninfo, const char *instance,
    uint32_t queue_max, uint32_t reconnect_max)
{
	struct store	*s;

	if (base == NULL || conninfo == NULL || instance == NULL ||
	    queue_max == 0) {
		log_warnx("store: invalid arguments (queue_max must be at "
		    "least 1) event=store_invalid");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto nomem;
	s->base = base;
	s->queue_max = queue_max;
	s->backoff_ms = STORE_BACKOFF_MIN_MS;
	if (reconnect_max > UINT32_MAX / 1000)
		reconnect_max = UINT32_MAX / 1000;
	s->backoff_max_ms = reconnect_max * 1000;
	if (s->backoff_max_ms < STORE_BACKOFF_MIN_MS)
		s->backoff_max_ms = STORE_BACKOFF_MIN_MS;
	s->state = STORE_DISCONNECTED;
	s->phase = STORE_PH_DOWN;
	s->load_allocs_idx = s->load_subs_idx = -1;
	if (gethostname(s->host, sizeof(s->host)) == -1 || s->host[0] == '\0')
		snprintf(s->host, sizeof(s->host), "unknown");
	s->host[sizeof(s->host) - 1] = '\0';
	snprintf(s->pid, sizeof(s->pid), "%ld", (long)getpid());
	snprintf(s->started_ms, sizeof(s->started_ms), "%" PRId64,
	    store_now_us() / 1000);
	TAILQ_INIT(&s->queue);
	TAILQ_INIT(&s->inflight);
	TAILQ_INIT(&s->doubt);
	TAILQ_INIT(&s->done);
	TAILQ_INIT(&s->held);
	TAILQ_INIT(&s->queries);
	TAILQ_INIT(&s->qdone);
	if ((s->conninfo = strdup(conninfo)) == NULL ||
	    (s->instance = strdup(instance)) == NULL ||
	    (s->conn = store_conn_new(base, &store_callbacks, s)) == NULL ||
	    (s->ev_timer = evtimer_new(base, store_on_timer, s)) == NULL ||
	    (s->ev_ckpt = evtimer_new(base, store_on_ckpt_timer, s)) ==
	    NULL ||
	    (s->ev_defer = event_new(base, -1, 0, store_on_defer, s)) == NULL ||
	    (s->hasher = chain_hasher_new()) == NULL ||
	    store_reader_new(s) == -1)
		goto nomem;
	return s;

 nomem:
	log_warnx("store: out of memory event=store_out_of_memory");
	store_free(s);
	return NULL;
}

int
store_start(struct store *s, store_state_fn *on_state, void *arg)
{
	struct timeval	tv = { 0, 0 };

	if (s == NULL || s->started)
		return -1;
	s->on_state = on_state;
	s->state_arg = arg;
	if (evtimer_add(s->ev_timer, &tv) == -1)
		return -1;
	s->started = 1;
	return 0;
}

void
store_set_allocations_cb(struct store *s, store_allocations_fn *fn,
    void *arg)
{
	if (s == NULL)
		return;
	s->on_allocs = fn;
	s->allocs_arg = arg;
}

void
store_set_subscriptions_cb(struct store *s, store_subscriptions_fn *fn,
    void *arg)
{
	if (s == NULL)
		return;
	s->on_subs = fn;
	s->subs_arg = arg;
}

void
store_set_checkpoints(struct store *s, const struct chain_signer *signer,
    uint32_t every_rows, uint32_t every_ms)
{
	if (s == NULL)
		return;
	s->signer = signer;
	s->ckpt_rows = every_rows;
	s->ckpt_ms = every_ms;
	if (s->phase == STORE_PH_IDLE) {
		store_ckpt_consider(s);
		store_kick(s);
	}
}

int64_t
store_chain_head(const struct store *s)
{
	return s != NULL ? s->head_seq : 0;
}

void
store_set_anchor(struct store *s, struct anchor *a)
{
	if (s != NULL)
		s->anchor = a;
}

void
store_set_in_use_cb(struct store *s, store_in_use_fn *fn, void *arg)
{
	if (s == NULL)
		return;
	s->on_in_use = fn;
	s->in_use_arg = arg;
}

const char *
store_refusal(const struct store *s)
{
	return s != NULL ? s->refusal : NULL;
}

enum store_state
store_get_state(const struct store *s)
{
	return s != NULL ? s->state : STORE_DISCONNECTED;
}

static void
store_enqueue(struct store *s, struct store_batch *b, store_done_fn *done,
    void *arg)
{
	b->done = done;
	b->arg = arg;
	b->solo = 0;
	b->num = ++s->nsubmitted;
	clock_gettime(CLOCK_MONOTONIC, &b->queued_at);
	TAILQ_INSERT_TAIL(&s->queue, b, entry);
	s->nqueue++;
	/* Batches submitted in the same loop pass share a transaction. */
	event_active(s->ev_defer, EV_TIMEOUT, 0);
}

int
store_submit(struct store *s, struct store_batch *b, store_done_fn *done,
    void *arg)
{
	if (s == NULL || b == NULL || s->closing || s->state != STORE_READY)
		return -1;
	if (store_pending(s) >= s->queue_max)
		return -1;
	store_enqueue(s, b, done, arg);
	return 0;
}

void
store_submit_detached(struct store *s, struct store_batch *b)
{
	struct store_batch	*tail;

	if (b == NULL)
		return;
	/*
	 * Rows nobody waits for join the last such batch still queued, so
	 * that a flood of refusals (each its row) takes one place in the
	 * queue, not thousands, and publishes keep theirs.
	 */
	b->done = NULL;
	if (s == NULL || s->closing) {
		log_warnx("store: closing, audit rows dropped message_id=%s "
		    "events=%zu"
		    " event=audit_rows_lost", store_batch_id(b), b->nev);
		store_batch_free(b);
		return;
	}
	if (s->state != STORE_READY) {
		store_hold(s, b, 0);
		return;
	}
	if ((tail = TAILQ_LAST(&s->queue, store_batchq)) != NULL &&
	    store_batch_join(tail, b) == 0)
		return;
	/* Not bounded by store_queue_max: rows are never refused. */
	store_enqueue(s, b, NULL, NULL);
}

int64_t
store_busy_ms(const struct store *s)
{
	const struct timespec	*since;
	struct timespec		 now;

	if (s == NULL || store_conn_pg(s->conn) == NULL || !store_busy(s))
		return 0;
	since = store_conn_since(s->conn);
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - since->tv_sec) * 1000 +
	    (now.tv_nsec - since->tv_nsec) / 1000000;
}

size_t
store_pending(const struct store *s)
{
	if (s == NULL)
		return 0;
	return s->nqueue + s->ninflight + s->ndoubt + s->ndone;
}

/*
 * Finishes what is in flight (bounded: a wait, a cancel request, a second
 * wait) and writes a last checkpoint if rows were committed since the
 * last one.
 */
static void
store_close_connection(struct store *s)
{
	/* Not while connecting; a reload of a serving store is waited for. */
	if (store_conn_pg(s->conn) == NULL || (s->phase < STORE_PH_IDLE &&
	    !s->reloading))
		return;
	store_conn_wait(s->conn, STORE_FREE_WAIT_MS);
	if (store_conn_pg(s->conn) != NULL && store_busy(s)) {
		log_warnx("store: closing: still waiting for the database; "
		    "asking it to cancel event=store_cancel");
		store_conn_cancel(s->conn, STORE_FREE_WAIT_MS);
		store_conn_wait(s->conn, STORE_FREE_WAIT_MS);
	}
	if (store_conn_pg(s->conn) != NULL && s->phase == STORE_PH_IDLE &&
	    s->signer != NULL && s->head_seq > s->ckpt_seq &&
	    store_ckpt_send(s) == 0)
		store_conn_wait(s->conn, STORE_FREE_WAIT_MS);
}

void
store_free(struct store *s)
{
	size_t	nlost;

	if (s == NULL)
		return;
	s->closing = 1;
	/* Outcomes already known are reported as they are. */
	store_deliver(s);
	store_close_connection(s);
	nlost = s->ninflight + s->nqueue + s->ndoubt;
	if (nlost > 0)
		log_warnx("store: closing with batches unavailable=%zu"
		    " event=store_closing_unavailable",
		    nlost);
	store_drop(s, "closing");
	store_reader_free(s);
	store_resolve_at_close(s);
	store_hold_drop(s);
	store_deliver(s);
	if (s->ev_timer != NULL)
		event_free(s->ev_timer);
	if (s->ev_ckpt != NULL)
		event_free(s->ev_ckpt);
	if (s->ev_defer != NULL)
		event_free(s->ev_defer);
	store_conn_free(s->conn);
	chain_hasher_free(s->hasher);
	free(s->conninfo);
	free(s->instance);
	free(s->refusal);
	free(s);
}
