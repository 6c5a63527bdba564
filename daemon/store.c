/*
 * store: batches of audit rows (and message and allocation rows) written to
 * PostgreSQL in pipeline mode on the libevent loop, and the allocations read
 * back at each connect.  See store.h for the contract.
 *
 * Connection life:
 *
 *	DOWN --timer--> CONNECT --PQconnectPoll ok--> SETUP --sync--> LOAD
 *	                                                               |
 *	                                  sync, allocations callback 0 v
 *	                                                             IDLE
 *	                                                             |  ^
 *	                                             queue not empty v  |
 *	                                                             TXN --+
 *	                                                              |    |
 *	                               transaction left open (failed) v    |
 *	                                                        ROLLBACK --+
 *
 * Without an allocations callback SETUP leads straight to IDLE.
 *
 * Any connection error, a failed SETUP (including synchronous_commit off),
 * a failed LOAD (including the allocations callback returning -1) or a
 * deadline leads back to DOWN, with every queued and in-flight batch
 * answered STORE_UNAVAILABLE and a reconnect timer armed with exponential
 * backoff; the backoff starts again from its minimum only once the store
 * is READY.  The public state is DISCONNECTED in DOWN, CONNECTING in
 * CONNECT, SETUP and LOAD, READY otherwise.
 *
 * Within a transaction each batch sends its message row, then its
 * allocation rows (they reference the message), then its audit events.
 *
 * Callbacks never run from inside a public function other than store_free():
 * finished batches go on the done list and a deferred event delivers them;
 * the allocations callback runs from the loop while LOAD completes.  Store
 * callbacks (done, on_state and the allocations callback) must not call
 * store_free().
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "alloc.h"
#include "audit.h"
#include "log.h"
#include "store.h"

#define STORE_TXN_BATCHES	256	/* batches per transaction, at most */
#define STORE_TXN_STMTS		4096	/* statements (one batch may exceed) */
#define STORE_BACKOFF_MIN_MS	100
#define STORE_CONNECT_TIMEOUT_S	10	/* connect and setup deadline */
#define STORE_LOAD_TIMEOUT_S	30	/* reading nwd.allocations */

#define STORE_STMT_MSG		"nwd_insert_message"
#define STORE_STMT_EVENT	"nwd_insert_event"
#define STORE_STMT_ALLOC	"nwd_insert_allocation"

/* Unix milliseconds to timestamptz, exactly. */
#define STORE_SQL_MS(n)	"timestamptz 'epoch' + $" #n "::bigint * " \
			"interval '1 millisecond'"

static const char store_sql_msg[] =
    "INSERT INTO nwd.messages (id, kind, subject, sender, agency, marking, "
    "priority, legal_basis, created_at, policy_version, instance) "
    "VALUES ($1::uuid, $2::smallint, $3, $4, $5, $6::smallint, "
    "$7::smallint, $8::smallint, " STORE_SQL_MS(9) ", $10, $11)";
#define STORE_MSG_NPARAMS	11

static const char store_sql_event[] =
    "INSERT INTO nwd.audit_events (instance, at, actor, action, message_id, "
    "subject, kind, recipient, fields_shared, fields_withheld, rule, "
    "policy_version, reason, peer, session) "
    "VALUES ($1, " STORE_SQL_MS(2) ", $3, $4, $5::uuid, $6, $7::smallint, "
    "$8, string_to_array($9, ','), string_to_array($10, ','), $11, $12, "
    "$13, $14, $15)";
#define STORE_EVENT_NPARAMS	15

/* from_at and until_at: a NULL parameter (0 ms) stores NULL. */
static const char store_sql_alloc[] =
    "INSERT INTO nwd.allocations (message_id, subject, team, worker, "
    "from_at, until_at, instance) "
    "VALUES ($1::uuid, $2, $3, $4, " STORE_SQL_MS(5) ", " STORE_SQL_MS(6)
    ", $7)";
#define STORE_ALLOC_NPARAMS	7

/*
 * Every allocation, oldest first, times as Unix milliseconds (truncated to
 * the millisecond, so the cast is exact whether extract() returns numeric
 * or double precision); NULL stays NULL.
 */
#define STORE_SQL_TO_MS(col) "(extract(epoch FROM date_trunc(" \
			"'milliseconds', " col ")) * 1000)::bigint"
static const char store_sql_load[] =
    "SELECT subject, team, worker, " STORE_SQL_TO_MS("from_at") ", "
    STORE_SQL_TO_MS("until_at") " FROM nwd.allocations ORDER BY id";

/* One allocation row of a batch. */
struct store_alloc {
	char		 msg_id[37];
	char		*subject;	/* owned */
	char		*team;		/* owned; "" if none */
	char		*worker;	/* owned; "" if none */
	int64_t		 from_ms;	/* 0: NULL */
	int64_t		 until_ms;	/* 0: NULL */
};

struct store_batch {
	TAILQ_ENTRY(store_batch) entry;
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
	struct audit_event	**ev;		/* owned, with every event */
	size_t			 nev;
	size_t			 evcap;
	struct store_alloc	*alloc;		/* owned, with their strings */
	size_t			 nalloc;
	size_t			 alloccap;
	store_done_fn		*done;		/* NULL: detached */
	void			*arg;		/* the submitter's */
	enum store_outcome	 outcome;	/* valid on the done list */
	int			 solo;		/* commit alone (a retry) */
};

TAILQ_HEAD(store_batchq, store_batch);

enum store_phase {
	STORE_PH_DOWN,		/* no connection */
	STORE_PH_CONNECT,	/* PQconnectPoll under way */
	STORE_PH_SETUP,		/* SHOW and PREPAREs in flight */
	STORE_PH_LOAD,		/* reading nwd.allocations */
	STORE_PH_IDLE,		/* ready, nothing in flight */
	STORE_PH_TXN,		/* one transaction in flight */
	STORE_PH_ROLLBACK,	/* closing a failed transaction */
};

struct store {
	struct event_base	*base;		/* borrowed */
	char			*conninfo;	/* owned */
	char			*instance;	/* owned */
	uint32_t		 queue_max;
	uint32_t		 backoff_ms;	/* next reconnect delay */
	uint32_t		 backoff_max_ms;
	store_state_fn		*on_state;
	void			*state_arg;	/* the starter's */
	store_allocations_fn	*on_allocs;	/* NULL: no LOAD */
	void			*allocs_arg;	/* the setter's */
	enum store_state	 state;
	enum store_phase	 phase;
	int			 started;
	int			 closing;	/* inside store_free() */

	PGconn			*conn;		/* owned; NULL while DOWN */
	struct event		*ev_io;		/* owned; on PQsocket(conn) */
	evutil_socket_t		 io_fd;
	short			 io_what;
	int			 flushing;	/* PQflush wants EV_WRITE */
	struct event		*ev_timer;	/* owned; reconnect, deadline */
	struct event		*ev_defer;	/* owned; callbacks and kick */

	/* Every batch is on exactly one of these; each owns its batches. */
	struct store_batchq	 queue;		/* waiting for a transaction */
	struct store_batchq	 inflight;	/* in the open transaction */
	struct store_batchq	 done;		/* outcome known, not told */
	size_t			 nqueue;
	size_t			 ninflight;
	size_t			 ndone;

	/* The pipeline in flight (SETUP, TXN or ROLLBACK). */
	int			 nexpect;	/* results due before sync */
	int			 nresults;
	int			 failed;	/* a statement failed */
	int			 committed;	/* COMMIT said "COMMIT" */
	int			 sync_off;	/* synchronous_commit is off */
	char			 errstate[6];	/* first error's SQLSTATE */
	char			 errmsg[256];	/* its primary message */
	PGresult		*load_res;	/* owned; LOAD's rows until sync */
};

static void	store_drop(struct store *, const char *);
static void	store_kick(struct store *);
static void	store_on_io(evutil_socket_t, short, void *);
static int	store_send_simple(struct store *, const char *);

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
	}
	return "unknown";
}

/* Copies a libpq message into buf on one line, without its final newline. */
static const char *
store_oneline(const char *in, char *buf, size_t len)
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

static void
store_set_state(struct store *s, enum store_state st)
{
	if (s->state == st)
		return;
	s->state = st;
	if (st == STORE_READY)
		log_info("store: state=ready instance=%s", s->instance);
	else
		log_debug("store: state=%s", store_state_name(st));
	if (s->on_state != NULL && !s->closing)
		s->on_state(st, s->state_arg);
}

/* Server notices; while idle a FATAL before disconnection arrives here. */
static void
store_notice(void *arg, const PGresult *res)
{
	const char	*sev, *msg;
	char		 buf[256];

	sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (sev == NULL || msg == NULL)
		return;
	store_oneline(msg, buf, sizeof(buf));
	if (strcmp(sev, "NOTICE") == 0 || strcmp(sev, "INFO") == 0 ||
	    strcmp(sev, "DEBUG") == 0 || strcmp(sev, "LOG") == 0)
		log_debug("store: server severity=%s message=\"%s\"", sev, buf);
	else
		log_warnx("store: server severity=%s message=\"%s\"", sev, buf);
}

/* ------------------------------------------------------------------------
 * Batches
 */

struct store_batch *
store_batch_new(void)
{
	return calloc(1, sizeof(struct store_batch));
}

static int
store_strdup(char **dst, const char *src)
{
	*dst = NULL;
	if (src != NULL && (*dst = strdup(src)) == NULL)
		return -1;
	return 0;
}

/*
 * Also returns -1, leaving b as it was, if m->id is not NUL-terminated or
 * subject or sender is NULL (the table requires them).
 */
int
store_batch_set_message(struct store_batch *b, const struct store_message *m)
{
	char	*subject = NULL, *sender = NULL, *agency = NULL, *pv = NULL;

	if (b == NULL || m == NULL || m->subject == NULL ||
	    m->sender == NULL || memchr(m->id, '\0', sizeof(m->id)) == NULL)
		return -1;
	if (store_strdup(&subject, m->subject) == -1 ||
	    store_strdup(&sender, m->sender) == -1 ||
	    store_strdup(&agency, m->agency) == -1 ||
	    store_strdup(&pv, m->policy_version) == -1) {
		free(subject);
		free(sender);
		free(agency);
		free(pv);
		return -1;
	}
	free(b->msg_subject);
	free(b->msg_sender);
	free(b->msg_agency);
	free(b->msg_policy_version);
	b->msg_subject = subject;
	b->msg_sender = sender;
	b->msg_agency = agency;
	b->msg_policy_version = pv;
	memcpy(b->msg_id, m->id, sizeof(b->msg_id));
	b->msg_kind = m->kind;
	b->msg_marking = m->marking;
	b->msg_priority = m->priority;
	b->msg_legal_basis = m->legal_basis;
	b->msg_created_ms = m->created_ms;
	b->has_msg = 1;
	return 0;
}

int
store_batch_add_event(struct store_batch *b, struct audit_event *ev)
{
	struct audit_event	**tmp;
	size_t			  cap;

	if (b == NULL || ev == NULL) {
		audit_event_free(ev);
		return -1;
	}
	if (b->nev == b->evcap) {
		cap = b->evcap ? b->evcap * 2 : 4;
		if ((tmp = reallocarray(b->ev, cap, sizeof(*tmp))) == NULL) {
			audit_event_free(ev);
			return -1;
		}
		b->ev = tmp;
		b->evcap = cap;
	}
	b->ev[b->nev++] = ev;
	return 0;
}

size_t
store_batch_nevents(const struct store_batch *b)
{
	return b != NULL ? b->nev : 0;
}

static void
store_alloc_clear(struct store_alloc *a)
{
	free(a->subject);
	free(a->team);
	free(a->worker);
}

/*
 * Also returns -1, leaving b as it was, if message_id or e->subject is
 * NULL, message_id is longer than a UUID, or e names neither a team nor a
 * worker (the table refuses such rows).  A NULL team or worker is "".
 */
int
store_batch_add_allocation(struct store_batch *b, const struct alloc_entry *e,
    const char *message_id)
{
	struct store_alloc	*tmp, a;
	const char		*team, *worker;
	size_t			 cap;

	if (b == NULL || e == NULL || e->subject == NULL ||
	    message_id == NULL || strlen(message_id) >= sizeof(a.msg_id))
		return -1;
	team = e->team != NULL ? e->team : "";
	worker = e->worker != NULL ? e->worker : "";
	if (*team == '\0' && *worker == '\0')
		return -1;
	if (b->nalloc == b->alloccap) {
		cap = b->alloccap ? b->alloccap * 2 : 2;
		if ((tmp = reallocarray(b->alloc, cap, sizeof(*tmp))) == NULL)
			return -1;
		b->alloc = tmp;
		b->alloccap = cap;
	}
	memset(&a, 0, sizeof(a));
	snprintf(a.msg_id, sizeof(a.msg_id), "%s", message_id);
	a.from_ms = e->from_ms;
	a.until_ms = e->until_ms;
	if (store_strdup(&a.subject, e->subject) == -1 ||
	    store_strdup(&a.team, team) == -1 ||
	    store_strdup(&a.worker, worker) == -1) {
		store_alloc_clear(&a);
		return -1;
	}
	b->alloc[b->nalloc++] = a;
	return 0;
}

void
store_batch_free(struct store_batch *b)
{
	size_t	i;

	if (b == NULL)
		return;
	for (i = 0; i < b->nev; i++)
		audit_event_free(b->ev[i]);
	free(b->ev);
	for (i = 0; i < b->nalloc; i++)
		store_alloc_clear(&b->alloc[i]);
	free(b->alloc);
	free(b->msg_subject);
	free(b->msg_sender);
	free(b->msg_agency);
	free(b->msg_policy_version);
	free(b);
}

/*
 * Ids for operator logs: the message id, else the first allocation's, else
 * the first event's.
 */
static const char *
store_batch_id(const struct store_batch *b)
{
	if (b->has_msg)
		return b->msg_id;
	if (b->nalloc > 0)
		return b->alloc[0].msg_id;
	if (b->nev > 0 && b->ev[0]->message_id != NULL)
		return b->ev[0]->message_id;
	return "-";
}

static size_t
store_batch_stmts(const struct store_batch *b)
{
	return (b->has_msg ? 1 : 0) + b->nalloc + b->nev;
}

/* ------------------------------------------------------------------------
 * Outcomes and callbacks
 */

/* Moves b (already unlinked) to the done list; the loop calls back. */
static void
store_finish(struct store *s, struct store_batch *b, enum store_outcome o)
{
	b->outcome = o;
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

/* Calls back every batch on the done list, then frees it. */
static void
store_deliver(struct store *s)
{
	struct store_batch	*b;

	while ((b = TAILQ_FIRST(&s->done)) != NULL) {
		TAILQ_REMOVE(&s->done, b, entry);
		s->ndone--;
		if (b->done != NULL)
			b->done(b->outcome, b->arg);
		else if (b->outcome != STORE_COMMITTED)
			log_warnx("store: detached audit rows lost "
			    "outcome=%s message_id=%s allocations=%zu "
			    "events=%zu", store_outcome_name(b->outcome),
			    store_batch_id(b), b->nalloc, b->nev);
		store_batch_free(b);
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
 * Connection
 */

/* Watches the connection's socket for what (EV_READ and/or EV_WRITE). */
static int
store_watch(struct store *s, short what)
{
	evutil_socket_t	fd;

	if ((fd = PQsocket(s->conn)) < 0) {
		store_drop(s, "no socket");
		return -1;
	}
	/*
	 * While connecting libpq may close the socket and open another with
	 * the same number, so the event is always made anew then.
	 */
	if (s->ev_io != NULL && s->phase != STORE_PH_CONNECT &&
	    s->io_fd == fd && s->io_what == what)
		return 0;
	if (s->ev_io != NULL)
		event_free(s->ev_io);
	s->ev_io = event_new(s->base, fd, what | EV_PERSIST, store_on_io, s);
	if (s->ev_io == NULL || event_add(s->ev_io, NULL) == -1) {
		store_drop(s, "cannot watch the database socket");
		return -1;
	}
	s->io_fd = fd;
	s->io_what = what;
	return 0;
}

/* Sends what libpq has buffered; watches for EV_WRITE until it is out. */
static int
store_flush(struct store *s)
{
	switch (PQflush(s->conn)) {
	case 0:
		s->flushing = 0;
		break;
	case 1:
		s->flushing = 1;
		break;
	default:
		store_drop(s, PQerrorMessage(s->conn));
		return -1;
	}
	return store_watch(s, EV_READ | (s->flushing ? EV_WRITE : 0));
}

/*
 * Ends the connection (if any) for the reason why.  Every batch waiting or
 * in flight is answered STORE_UNAVAILABLE.
 *
 * XXX The outcome of an in-flight transaction is unknown when the
 * connection is lost after its COMMIT was sent: the rows may be durable.
 * Until outcomes are resolved on reconnect by idempotency key (a later
 * issue; see DESIGN.md, "never by guessing"), such batches are answered
 * STORE_UNAVAILABLE, so the caller never delivers on an unconfirmed audit
 * row, but may see an audit row for a publish it reported as failed.
 */
static void
store_drop(struct store *s, const char *why)
{
	struct timeval	tv;
	char		buf[512];
	size_t		nlost;

	/* why may point into the connection: copy it before PQfinish. */
	store_oneline(why, buf, sizeof(buf));
	nlost = s->ninflight + s->nqueue;
	store_finish_all(s, &s->inflight, &s->ninflight, STORE_UNAVAILABLE);
	store_finish_all(s, &s->queue, &s->nqueue, STORE_UNAVAILABLE);
	if (s->ev_io != NULL) {
		event_free(s->ev_io);
		s->ev_io = NULL;
	}
	PQclear(s->load_res);
	s->load_res = NULL;
	PQfinish(s->conn);
	s->conn = NULL;
	s->flushing = 0;
	s->phase = STORE_PH_DOWN;
	if (s->ev_timer != NULL)
		evtimer_del(s->ev_timer);

	if (s->closing) {
		s->state = STORE_DISCONNECTED;
		return;
	}
	log_warnx("store: database unavailable retry_ms=%" PRIu32
	    " batches_unavailable=%zu error=\"%s\"", s->backoff_ms, nlost,
	    buf);
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
	static const char *const keys[] = {
		"dbname", "fallback_application_name", "client_encoding", NULL
	};
	const char	*vals[] = { s->conninfo, "nwdd", "UTF8", NULL };
	struct timeval	 tv = { STORE_CONNECT_TIMEOUT_S, 0 };

	store_set_state(s, STORE_CONNECTING);
	/* Note: resolving a host name here blocks (a libpq limitation). */
	s->conn = PQconnectStartParams(keys, vals, 1);
	if (s->conn == NULL) {
		store_drop(s, "out of memory");
		return;
	}
	if (PQstatus(s->conn) == CONNECTION_BAD) {
		store_drop(s, PQerrorMessage(s->conn));
		return;
	}
	PQsetNoticeReceiver(s->conn, store_notice, s);
	s->phase = STORE_PH_CONNECT;
	evtimer_add(s->ev_timer, &tv);
	store_watch(s, EV_WRITE);
}

/*
 * Connected: checks synchronous_commit and prepares the inserts, all in
 * one pipeline.  (Preparing the allocation insert fails, and the connect
 * with it, if the schema lacks nwd.allocations.)
 */
static void
store_setup(struct store *s)
{
	PGconn	*c = s->conn;

	if (PQsetnonblocking(c, 1) != 0 || PQenterPipelineMode(c) != 1) {
		store_drop(s, PQerrorMessage(c));
		return;
	}
	/* Terse: a message's DETAIL can quote row contents. */
	PQsetErrorVerbosity(c, PQERRORS_TERSE);
	if (!PQsendQueryParams(c, "SHOW synchronous_commit", 0, NULL, NULL,
	    NULL, NULL, 0) ||
	    !PQsendPrepare(c, STORE_STMT_MSG, store_sql_msg,
	    STORE_MSG_NPARAMS, NULL) ||
	    !PQsendPrepare(c, STORE_STMT_EVENT, store_sql_event,
	    STORE_EVENT_NPARAMS, NULL) ||
	    !PQsendPrepare(c, STORE_STMT_ALLOC, store_sql_alloc,
	    STORE_ALLOC_NPARAMS, NULL) ||
	    !PQpipelineSync(c)) {
		store_drop(s, PQerrorMessage(c));
		return;
	}
	s->phase = STORE_PH_SETUP;
	s->nexpect = 4;
	s->nresults = 0;
	s->failed = 0;
	s->sync_off = 0;
	store_flush(s);
}

/* Drops the connection for the failed statement of what (SETUP or LOAD). */
static void
store_connect_failed(struct store *s, const char *what)
{
	char	buf[400];
	int	noschema;

	noschema = strcmp(s->errstate, "42P01") == 0 ||
	    strcmp(s->errstate, "3F000") == 0;
	snprintf(buf, sizeof(buf), "%s: %s (sqlstate %s)%s", what, s->errmsg,
	    s->errstate, noschema ? "; is the schema migrated?" : "");
	store_drop(s, buf);
}

/* Connected and set up: the store serves. */
static void
store_ready(struct store *s)
{
	evtimer_del(s->ev_timer);
	s->backoff_ms = STORE_BACKOFF_MIN_MS;
	s->phase = STORE_PH_IDLE;
	store_set_state(s, STORE_READY);
	if (s->phase == STORE_PH_IDLE)
		store_kick(s);
}

/* Reads every allocation, under a deadline of its own. */
static void
store_load(struct store *s)
{
	struct timeval	tv = { STORE_LOAD_TIMEOUT_S, 0 };

	if (store_send_simple(s, store_sql_load) == -1 ||
	    !PQpipelineSync(s->conn)) {
		store_drop(s, PQerrorMessage(s->conn));
		return;
	}
	s->phase = STORE_PH_LOAD;
	s->nexpect = 1;
	s->nresults = 0;
	s->failed = 0;
	evtimer_del(s->ev_timer);
	evtimer_add(s->ev_timer, &tv);
	store_flush(s);
}

static void
store_setup_done(struct store *s)
{
	if (s->failed) {
		store_connect_failed(s, "setting up the connection");
		return;
	}
	if (s->sync_off) {
		log_warnx("store: synchronous_commit is off for this role; "
		    "nwdd refuses to serve without durable commits");
		store_drop(s, "synchronous_commit is off");
		return;
	}
	if (s->on_allocs != NULL)
		store_load(s);
	else
		store_ready(s);
}

/* Parses a bigint column of the load; NULL is 0. */
static int
store_load_ms(const PGresult *res, int row, int col, int64_t *out)
{
	const char	*v;
	char		*end;
	long long	 n;

	*out = 0;
	if (PQgetisnull(res, row, col))
		return 0;
	v = PQgetvalue(res, row, col);
	n = strtoll(v, &end, 10);
	if (*v == '\0' || *end != '\0')
		return -1;
	*out = n;
	return 0;
}

/* The allocations have arrived: hands them over, then serves. */
static void
store_load_done(struct store *s)
{
	PGresult		*res;
	struct alloc_entry	*rows;
	size_t			 n, i;
	int			 rv = 0;
	char			 buf[80];

	if (s->failed) {
		store_connect_failed(s, "reading nwd.allocations");
		return;
	}
	res = s->load_res;
	if (res == NULL || PQnfields(res) != 5) {
		store_drop(s, "reading nwd.allocations: unexpected result");
		return;
	}
	n = (size_t)PQntuples(res);
	/* Never NULL, even for no rows. */
	if ((rows = calloc(n > 0 ? n : 1, sizeof(*rows))) == NULL) {
		store_drop(s, "reading nwd.allocations: out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		rows[i].subject = PQgetvalue(res, (int)i, 0);
		rows[i].team = PQgetvalue(res, (int)i, 1);
		rows[i].worker = PQgetvalue(res, (int)i, 2);
		if (store_load_ms(res, (int)i, 3, &rows[i].from_ms) == -1 ||
		    store_load_ms(res, (int)i, 4, &rows[i].until_ms) == -1) {
			free(rows);
			store_drop(s, "reading nwd.allocations: bad time");
			return;
		}
	}
	if (s->on_allocs != NULL)
		rv = s->on_allocs(rows, n, s->allocs_arg);
	free(rows);
	PQclear(s->load_res);
	s->load_res = NULL;
	if (rv == -1) {
		snprintf(buf, sizeof(buf), "the daemon did not accept the "
		    "allocations read (rows %zu)", n);
		store_drop(s, buf);
		return;
	}
	log_debug("store: allocations loaded rows=%zu", n);
	store_ready(s);
}

static void
store_connect_poll(struct store *s)
{
	switch (PQconnectPoll(s->conn)) {
	case PGRES_POLLING_READING:
		store_watch(s, EV_READ);
		break;
	case PGRES_POLLING_WRITING:
		store_watch(s, EV_WRITE);
		break;
	case PGRES_POLLING_OK:
		store_setup(s);
		break;
	default:
		store_drop(s, PQerrorMessage(s->conn));
		break;
	}
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
		store_drop(s, "timed out reading nwd.allocations");
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------------------
 * Write path
 */

static int
store_send_msg(struct store *s, const struct store_batch *b)
{
	char		 kind[16], marking[16], prio[16], lb[16], created[24];
	const char	*v[STORE_MSG_NPARAMS];

	snprintf(kind, sizeof(kind), "%d", b->msg_kind);
	snprintf(marking, sizeof(marking), "%d", b->msg_marking);
	snprintf(prio, sizeof(prio), "%d", b->msg_priority);
	snprintf(lb, sizeof(lb), "%d", b->msg_legal_basis);
	snprintf(created, sizeof(created), "%" PRId64, b->msg_created_ms);
	v[0] = b->msg_id;
	v[1] = kind;
	v[2] = b->msg_subject;
	v[3] = b->msg_sender;
	v[4] = b->msg_agency;
	v[5] = marking;
	v[6] = prio;
	v[7] = lb;
	v[8] = created;
	v[9] = b->msg_policy_version;
	v[10] = s->instance;
	return PQsendQueryPrepared(s->conn, STORE_STMT_MSG, STORE_MSG_NPARAMS,
	    v, NULL, NULL, 0) ? 0 : -1;
}

static int
store_send_event(struct store *s, const struct audit_event *ev)
{
	char		 at[24], kind[16];
	const char	*v[STORE_EVENT_NPARAMS];

	snprintf(at, sizeof(at), "%" PRId64, ev->at_ms);
	snprintf(kind, sizeof(kind), "%d", ev->kind);
	v[0] = s->instance;
	v[1] = at;
	v[2] = ev->actor;
	v[3] = audit_action_name(ev->action);
	v[4] = ev->message_id;
	v[5] = ev->subject;
	v[6] = ev->kind != 0 ? kind : NULL;
	v[7] = ev->recipient;
	v[8] = ev->fields_shared;
	v[9] = ev->fields_withheld;
	v[10] = ev->rule;
	v[11] = ev->policy_version;
	v[12] = ev->reason;
	v[13] = ev->peer;
	v[14] = ev->session;
	return PQsendQueryPrepared(s->conn, STORE_STMT_EVENT,
	    STORE_EVENT_NPARAMS, v, NULL, NULL, 0) ? 0 : -1;
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
	return PQsendQueryPrepared(s->conn, STORE_STMT_ALLOC,
	    STORE_ALLOC_NPARAMS, v, NULL, NULL, 0) ? 0 : -1;
}

static int
store_send_simple(struct store *s, const char *sql)
{
	return PQsendQueryParams(s->conn, sql, 0, NULL, NULL, NULL, NULL,
	    0) ? 0 : -1;
}

/*
 * Sends one transaction holding the batches at the head of the queue: all
 * of them up to the caps, or a single one marked solo.
 */
static void
store_send_txn(struct store *s)
{
	struct store_batch	*b;
	size_t			 nb = 0, nstmt = 0, cost, i;

	while ((b = TAILQ_FIRST(&s->queue)) != NULL) {
		cost = store_batch_stmts(b);
		if (nb > 0 && (b->solo || nb >= STORE_TXN_BATCHES ||
		    nstmt + cost > STORE_TXN_STMTS))
			break;
		TAILQ_REMOVE(&s->queue, b, entry);
		s->nqueue--;
		TAILQ_INSERT_TAIL(&s->inflight, b, entry);
		s->ninflight++;
		nb++;
		nstmt += cost;
		if (b->solo)
			break;
	}
	if (store_send_simple(s, "BEGIN") == -1)
		goto lost;
	TAILQ_FOREACH(b, &s->inflight, entry) {
		if (b->has_msg && store_send_msg(s, b) == -1)
			goto lost;
		for (i = 0; i < b->nalloc; i++)
			if (store_send_alloc(s, &b->alloc[i]) == -1)
				goto lost;
		for (i = 0; i < b->nev; i++)
			if (store_send_event(s, b->ev[i]) == -1)
				goto lost;
	}
	if (store_send_simple(s, "COMMIT") == -1 || !PQpipelineSync(s->conn))
		goto lost;
	s->phase = STORE_PH_TXN;
	s->nexpect = (int)nstmt + 2;
	s->nresults = 0;
	s->failed = 0;
	s->committed = 0;
	store_flush(s);
	return;

 lost:
	store_drop(s, PQerrorMessage(s->conn));
}

/* Starts a transaction if the connection is idle and batches wait. */
static void
store_kick(struct store *s)
{
	if (s->phase == STORE_PH_IDLE && !TAILQ_EMPTY(&s->queue))
		store_send_txn(s);
}

/* The sync of a transaction arrived: decides every in-flight batch. */
static void
store_txn_done(struct store *s)
{
	struct store_batch	*b;

	if (!s->failed && s->committed) {
		store_finish_all(s, &s->inflight, &s->ninflight,
		    STORE_COMMITTED);
	} else {
		if (!s->failed) {
			snprintf(s->errstate, sizeof(s->errstate), "-");
			snprintf(s->errmsg, sizeof(s->errmsg),
			    "transaction did not commit");
		}
		if (s->ninflight == 1) {
			b = TAILQ_FIRST(&s->inflight);
			log_warnx("store: batch refused message_id=%s "
			    "allocations=%zu events=%zu sqlstate=%s "
			    "error=\"%s\"", store_batch_id(b), b->nalloc,
			    b->nev, s->errstate, s->errmsg);
			store_finish_all(s, &s->inflight, &s->ninflight,
			    STORE_FAILED);
		} else {
			/* Retry each alone, at the head, in order. */
			log_info("store: transaction refused, retrying one "
			    "batch per transaction batches=%zu sqlstate=%s "
			    "error=\"%s\"", s->ninflight, s->errstate,
			    s->errmsg);
			TAILQ_FOREACH(b, &s->inflight, entry)
				b->solo = 1;
			TAILQ_CONCAT(&s->inflight, &s->queue, entry);
			TAILQ_CONCAT(&s->queue, &s->inflight, entry);
			s->nqueue += s->ninflight;
			s->ninflight = 0;
		}
	}
	if (PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
		/* The failed BEGIN block is still open. */
		if (store_send_simple(s, "ROLLBACK") == -1 ||
		    !PQpipelineSync(s->conn)) {
			store_drop(s, PQerrorMessage(s->conn));
			return;
		}
		s->phase = STORE_PH_ROLLBACK;
		s->nexpect = 1;
		s->nresults = 0;
		s->failed = 0;
		store_flush(s);
		return;
	}
	s->phase = STORE_PH_IDLE;
	store_kick(s);
}

static void
store_on_sync(struct store *s)
{
	char	buf[64];

	if (s->nresults != s->nexpect) {
		snprintf(buf, sizeof(buf), "pipeline out of step: %d results "
		    "for %d statements", s->nresults, s->nexpect);
		store_drop(s, buf);
		return;
	}
	switch (s->phase) {
	case STORE_PH_SETUP:
		store_setup_done(s);
		break;
	case STORE_PH_LOAD:
		store_load_done(s);
		break;
	case STORE_PH_TXN:
		store_txn_done(s);
		break;
	case STORE_PH_ROLLBACK:
		if (s->failed) {
			store_drop(s, s->errmsg);
			break;
		}
		s->phase = STORE_PH_IDLE;
		store_kick(s);
		break;
	default:
		store_drop(s, "unexpected pipeline sync");
		break;
	}
}

/*
 * One statement's result.  Returns 1 if the store kept res (the rows of
 * LOAD, until the sync), else 0 and the caller clears it.  May drop the
 * connection.
 */
static int
store_on_result(struct store *s, PGresult *res)
{
	const char	*sev, *state, *msg;
	int		 idx = s->nresults++;

	switch (PQresultStatus(res)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
		if (s->phase == STORE_PH_SETUP && idx == 0)
			s->sync_off = PQntuples(res) == 1 &&
			    strcmp(PQgetvalue(res, 0, 0), "off") == 0;
		else if (s->phase == STORE_PH_TXN && idx == s->nexpect - 1)
			s->committed = strcmp(PQcmdStatus(res), "COMMIT") == 0;
		else if (s->phase == STORE_PH_LOAD && idx == 0 &&
		    s->load_res == NULL) {
			s->load_res = res;
			return 1;
		}
		return 0;
	case PGRES_PIPELINE_ABORTED:
		return 0;
	default:
		break;
	}
	sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (msg == NULL)
		msg = PQresultErrorMessage(res);
	if (PQstatus(s->conn) == CONNECTION_BAD ||
	    PQresultStatus(res) == PGRES_BAD_RESPONSE || (sev != NULL &&
	    (strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0))) {
		store_drop(s, msg);
		return 0;
	}
	if (s->failed)
		return 0;
	s->failed = 1;
	snprintf(s->errstate, sizeof(s->errstate), "%s",
	    state != NULL ? state : "-");
	store_oneline(msg, s->errmsg, sizeof(s->errmsg));
	return 0;
}

/* Takes every result that has arrived. */
static void
store_read_results(struct store *s)
{
	PGresult	*res;
	int		 nulls = 0;

	while (s->phase == STORE_PH_SETUP || s->phase == STORE_PH_LOAD ||
	    s->phase == STORE_PH_TXN || s->phase == STORE_PH_ROLLBACK) {
		if (PQisBusy(s->conn))
			break;
		/* NULL ends each statement's results; twice means none due. */
		if ((res = PQgetResult(s->conn)) == NULL) {
			if (++nulls > 1)
				break;
			continue;
		}
		nulls = 0;
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			store_on_sync(s);
			continue;
		}
		if (!store_on_result(s, res))
			PQclear(res);
	}
}

static void
store_on_io(evutil_socket_t fd, short what, void *arg)
{
	struct store	*s = arg;

	if (s->phase == STORE_PH_CONNECT) {
		store_connect_poll(s);
		return;
	}
	if (what & EV_READ) {
		if (!PQconsumeInput(s->conn)) {
			store_drop(s, PQerrorMessage(s->conn));
			return;
		}
		/* Parses what came while idle (a FATAL goes to the log). */
		if (s->phase == STORE_PH_IDLE)
			(void)PQisBusy(s->conn);
	}
	if (PQstatus(s->conn) == CONNECTION_BAD) {
		store_drop(s, PQerrorMessage(s->conn));
		return;
	}
	if (s->flushing && store_flush(s) == -1)
		return;
	store_read_results(s);
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
		    "least 1)");
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
	s->io_fd = -1;
	TAILQ_INIT(&s->queue);
	TAILQ_INIT(&s->inflight);
	TAILQ_INIT(&s->done);
	if ((s->conninfo = strdup(conninfo)) == NULL ||
	    (s->instance = strdup(instance)) == NULL ||
	    (s->ev_timer = evtimer_new(base, store_on_timer, s)) == NULL ||
	    (s->ev_defer = event_new(base, -1, 0, store_on_defer, s)) == NULL)
		goto nomem;
	return s;

 nomem:
	log_warnx("store: out of memory");
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

enum store_state
store_get_state(const struct store *s)
{
	return s != NULL ? s->state : STORE_DISCONNECTED;
}

int
store_submit(struct store *s, struct store_batch *b, store_done_fn *done,
    void *arg)
{
	if (s == NULL || b == NULL || s->closing || s->state != STORE_READY)
		return -1;
	if (store_pending(s) >= s->queue_max)
		return -1;
	b->done = done;
	b->arg = arg;
	b->solo = 0;
	TAILQ_INSERT_TAIL(&s->queue, b, entry);
	s->nqueue++;
	/* Batches submitted in the same loop pass share a transaction. */
	event_active(s->ev_defer, EV_TIMEOUT, 0);
	return 0;
}

void
store_submit_detached(struct store *s, struct store_batch *b)
{
	if (b == NULL)
		return;
	if (store_submit(s, b, NULL, NULL) == -1) {
		log_warnx("store: database unavailable, audit rows dropped "
		    "message_id=%s events=%zu", store_batch_id(b), b->nev);
		store_batch_free(b);
	}
}

size_t
store_pending(const struct store *s)
{
	if (s == NULL)
		return 0;
	return s->nqueue + s->ninflight + s->ndone;
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
	nlost = s->ninflight + s->nqueue;
	if (nlost > 0)
		log_warnx("store: closing with batches unavailable=%zu",
		    nlost);
	store_drop(s, "closing");
	store_deliver(s);
	if (s->ev_timer != NULL)
		event_free(s->ev_timer);
	if (s->ev_defer != NULL)
		event_free(s->ev_defer);
	free(s->conninfo);
	free(s->instance);
	free(s);
}
