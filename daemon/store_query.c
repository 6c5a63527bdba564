/*
 * store_query: the read-only queries (store.h) and their life in the
 * store: queued behind the batches submitted before them, sent alone when
 * the connection is idle, their rows checked (text and bytea columns only,
 * a bound on their number) and handed to the caller from the loop, with
 * the batches' outcomes, in the order they finished.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "log.h"
#include "store.h"
#include "store_conn.h"
#include "store_int.h"
#include "store_sql.h"
#include "uuid.h"

#define STORE_QUERY_DEFAULT	100	/* rows, when the caller says 0 */
#define STORE_QUERY_MAX		10000	/* rows of any one query */

void
store_query_free(struct store_query *q)
{
	int	i;

	if (q == NULL)
		return;
	for (i = 0; i < q->nparams; i++)
		free(q->param[i]);
	free(q->sql);
	PQclear(q->res);
	free(q);
}

/*
 * Queues a query of sql (copied) with params (copied; NULL members are SQL
 * NULL); ordered: it runs once every batch submitted before it is
 * answered; otherwise on the reader's connection when it is up (see
 * store_reader.c), whatever the write path is doing.  Returns 0, or -1 if
 * the store is not ready or too busy.
 */
static int
store_query_queue(struct store *s, const char *what, const char *sql,
    const char *const *params, int nparams, size_t max_rows, int ordered,
    store_result_fn *fn, void *arg)
{
	struct store_query	*q;
	int			 i;

	if (s == NULL || s->closing || s->state != STORE_READY ||
	    nparams > STORE_NPARAMS_MAX || s->nqueries >= s->queue_max)
		return -1;
	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    (q->sql = strdup(sql)) == NULL)
		goto nomem;
	for (i = 0; i < nparams; i++) {
		if (params[i] != NULL &&
		    (q->param[i] = strdup(params[i])) == NULL)
			goto nomem;
		q->nparams = i + 1;
	}
	q->nparams = nparams;
	q->what = what;
	q->after = s->nsubmitted;
	q->max_rows = max_rows;
	q->fn = fn;
	q->arg = arg;
	s->nqueries++;
	if (!ordered && store_reader_take(s, q) == 0)
		return 0;
	TAILQ_INSERT_TAIL(&s->queries, q, entry);
	event_active(s->ev_defer, EV_TIMEOUT, 0);
	return 0;

 nomem:
	log_warnx("store: query %s: out of memory event=query_failed", what);
	store_query_free(q);
	return -1;
}

static int
store_query(struct store *s, const char *what, const char *sql,
    const char *const *params, int nparams, size_t max_rows,
    store_result_fn *fn, void *arg)
{
	return store_query_queue(s, what, sql, params, nparams, max_rows, 1,
	    fn, arg);
}

static uint32_t
store_limit(uint32_t limit)
{
	if (limit == 0)
		return STORE_QUERY_DEFAULT;
	return limit > STORE_QUERY_MAX ? STORE_QUERY_MAX : limit;
}

size_t
store_result_nrows(const struct store_result *r)
{
	return r != NULL && r->res != NULL ? (size_t)PQntuples(r->res) : 0;
}

static int
store_result_cell(const struct store_result *r, size_t row, size_t col)
{
	return r != NULL && r->res != NULL &&
	    row < (size_t)PQntuples(r->res) &&
	    col < (size_t)PQnfields(r->res) &&
	    !PQgetisnull(r->res, (int)row, (int)col);
}

/* Always NUL-terminated (libpq ends binary values with a NUL too). */
const char *
store_result_value(const struct store_result *r, size_t row, size_t col)
{
	if (!store_result_cell(r, row, col))
		return NULL;
	return PQgetvalue(r->res, (int)row, (int)col);
}

size_t
store_result_length(const struct store_result *r, size_t row, size_t col)
{
	if (!store_result_cell(r, row, col))
		return 0;
	return (size_t)PQgetlength(r->res, (int)row, (int)col);
}

int
store_query_marker(struct store *s, store_result_fn *fn, void *arg)
{
	return store_query(s, "marker", store_sql_marker, NULL, 0, 0, fn,
	    arg);
}

int
store_query_pending(struct store *s, const char *principal,
    const char *subscription, int64_t after_id, uint32_t limit,
    uint64_t max_bytes, store_result_fn *fn, void *arg)
{
	char		 after[24], lim[16], bytes[24];
	const char	*p[5] = { principal, subscription, after, lim, bytes };

	if (principal == NULL || subscription == NULL)
		return -1;
	snprintf(after, sizeof(after), "%" PRId64, after_id);
	snprintf(lim, sizeof(lim), "%" PRIu32, store_limit(limit));
	snprintf(bytes, sizeof(bytes), "%" PRIu64, max_bytes);
	/* A page needs no batch before it: a publish that commits after
	 * it runs is held back and brings another page (replay.c). */
	return store_query_queue(s, "pending", store_sql_pending, p, 5, 0, 0,
	    fn, arg);
}

int
store_query_pending_ids(struct store *s, const char *principal,
    const char *subscription, int64_t after_id, uint32_t limit,
    store_result_fn *fn, void *arg)
{
	char		 after[24], lim[16];
	const char	*p[4] = { principal, subscription, after, lim };

	if (principal == NULL || subscription == NULL)
		return -1;
	snprintf(after, sizeof(after), "%" PRId64, after_id);
	snprintf(lim, sizeof(lim), "%" PRIu32, store_limit(limit));
	return store_query(s, "pending_ids", store_sql_pending_ids, p, 4, 0,
	    fn, arg);
}

int
store_query_durables(struct store *s, const char *principal,
    store_result_fn *fn, void *arg)
{
	const char *p[1] = { principal };

	if (principal == NULL)
		return -1;
	return store_query(s, "durables", store_sql_durables, p, 1, 0, fn,
	    arg);
}

int
store_query_consents(struct store *s, store_result_fn *fn, void *arg)
{
	return store_query(s, "consents", store_sql_consents, NULL, 0, 0, fn,
	    arg);
}

int
store_query_consent_recipients(struct store *s, const char *subject,
    store_result_fn *fn, void *arg)
{
	const char *p[1] = { subject };

	return store_query(s, "consent_recipients",
	    store_sql_consent_recipients, p, 1, 0, fn, arg);
}

int
store_query_grants(struct store *s, const char *id, int open_only,
    int64_t live_at_ms, store_result_fn *fn, void *arg)
{
	char		 at[24];
	const char	*p[3];

	snprintf(at, sizeof(at), "%" PRId64, live_at_ms);
	p[0] = id;
	p[1] = open_only ? "true" : "false";
	p[2] = live_at_ms != 0 ? at : NULL;
	return store_query(s, "grants", store_sql_grants, p, 3, 10000, fn,
	    arg);
}

int
store_query_grant_rows(struct store *s, const char *id, store_result_fn *fn,
    void *arg)
{
	const char *p[1] = { id };

	return store_query(s, "grant_rows", store_sql_grant_rows, p, 1, 10000,
	    fn, arg);
}

int
store_query_deadlines_unmet(struct store *s, store_result_fn *fn, void *arg)
{
	return store_query(s, "deadlines", store_sql_deadlines_unmet, NULL, 0,
	    0, fn, arg);
}

int
store_query_deadlines(struct store *s, const char *subject,
    const char *rule, int all, uint32_t limit, store_result_fn *fn,
    void *arg)
{
	char		 lim[16];
	const char	*p[4];

	snprintf(lim, sizeof(lim), "%" PRIu32, store_limit(limit));
	p[0] = subject;
	p[1] = rule;
	p[2] = all ? "true" : "false";
	p[3] = lim;
	return store_query(s, "deadlines_list", store_sql_deadlines_list, p,
	    4, 0, fn, arg);
}

/* Appends before, parameter $n and after to the SQL text in sql. */
static void
store_sql_param(char *sql, size_t size, const char *before, int n,
    const char *after)
{
	size_t	len = strlen(sql);

	snprintf(sql + len, size - len, "%s$%d%s", before, n, after);
}

int
store_query_audit(struct store *s, const struct store_audit_filter *f,
    store_result_fn *fn, void *arg)
{
	char		 sql[STORE_SQL_AUDIT_COLUMNS_MAX + 1024];
	char		 from[24], until[24], after[24], lim[16];
	const char	*p[10];
	int		 n = 0, mi;

	if (f == NULL)
		return -1;
	snprintf(sql, sizeof(sql), "%s", store_sql_audit_columns);
	if (f->subject != NULL) {
		p[n++] = f->subject;
		store_sql_param(sql, sizeof(sql), " AND subject = ", n, "");
		if (f->not_held) {
			store_sql_param(sql, sizeof(sql), " AND NOT EXISTS "
			    "(SELECT 1 FROM nwd.messages hm WHERE hm.id = "
			    "nwd.audit_events.message_id AND hm.subject = ", n,
			    "");
			if (f->held_from != NULL) {
				p[n++] = f->held_from;
				store_sql_param(sql, sizeof(sql), " AND "
				    "(hm.created_at, hm.id) < (SELECT "
				    "hf.created_at, hf.id FROM nwd.messages hf "
				    "WHERE hf.id = ", n, "::uuid)");
			}
			snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql),
			    ")");
		}
	}
	if (f->principal != NULL) {
		p[n++] = f->principal;
		store_sql_param(sql, sizeof(sql), " AND (actor = ", n, "");
		store_sql_param(sql, sizeof(sql), " OR recipient = ", n, ")");
	}
	if (f->action != NULL) {
		p[n++] = f->action;
		store_sql_param(sql, sizeof(sql), " AND action = ", n, "");
	}
	if (f->actions != NULL) {
		p[n++] = f->actions;
		store_sql_param(sql, sizeof(sql), " AND action = ANY("
		    "string_to_array(", n, ", ','))");
	}
	if (f->message_id != NULL && f->delivery_only) {
		/* A message's status: its rows, and the publish rows of
		 * its corrections and retraction (which a colleague may
		 * have published). */
		p[n++] = f->message_id;
		mi = n;
		store_sql_param(sql, sizeof(sql), " AND (message_id = ", n,
		    "::uuid");
		store_sql_param(sql, sizeof(sql), " OR (action = 'publish' AND "
		    "message_id IN (SELECT message_id FROM nwd.corrections "
		    "WHERE supersedes = ", n, "::uuid)))");
		if (f->sender != NULL) {
			p[n++] = f->sender;
			store_sql_param(sql, sizeof(sql), " AND ", mi, "::uuid "
			    "IN (SELECT id FROM nwd.messages WHERE sender = ");
			store_sql_param(sql, sizeof(sql), "", n, ")");
		}
	} else {
		if (f->message_id != NULL) {
			p[n++] = f->message_id;
			store_sql_param(sql, sizeof(sql), " AND message_id = ",
			    n, "::uuid");
		}
		if (f->sender != NULL) {
			p[n++] = f->sender;
			store_sql_param(sql, sizeof(sql), " AND message_id IN "
			    "(SELECT id FROM nwd.messages WHERE sender = ", n,
			    ")");
		}
	}
	if (f->delivery_only)
		snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), " AND "
		    "action IN ('publish', 'deliver', 'deliver_refused', "
		    "'ack', 'deliver_lost', 'deliver_withdrawn', "
		    "'deadline_set', 'deadline_met', 'deadline_breached', "
		    "'escalated')");
	if (f->from_ms != 0) {
		snprintf(from, sizeof(from), "%" PRId64, f->from_ms);
		p[n++] = from;
		store_sql_param(sql, sizeof(sql), " AND at >= timestamptz "
		    "'epoch' + ", n, "::bigint * interval '1 millisecond'");
	}
	if (f->until_ms != 0) {
		snprintf(until, sizeof(until), "%" PRId64, f->until_ms);
		p[n++] = until;
		store_sql_param(sql, sizeof(sql), " AND at < timestamptz "
		    "'epoch' + ", n, "::bigint * interval '1 millisecond'");
	}
	if (f->after_id != 0) {
		snprintf(after, sizeof(after), "%" PRId64, f->after_id);
		p[n++] = after;
		store_sql_param(sql, sizeof(sql), " AND id > ", n, "::bigint");
	}
	snprintf(lim, sizeof(lim), "%" PRIu32, store_limit(f->limit));
	p[n++] = lim;
	/* Qualified: a bare id would sort by the text column of the list. */
	store_sql_param(sql, sizeof(sql), " ORDER BY nwd.audit_events.id "
	    "LIMIT ", n, "::bigint");
	return store_query(s, "audit", sql, p, n, 0, fn, arg);
}

int
store_query_chain(struct store *s, store_result_fn *fn, void *arg)
{
	return store_query(s, "chain", store_sql_chain, NULL, 0, 1000, fn,
	    arg);
}

int
store_query_messages(struct store *s, const char *subject,
    const char *after_id, uint32_t limit, store_result_fn *fn, void *arg)
{
	char		 lim[16];
	const char	*p[3] = { subject, after_id, lim };

	if (subject == NULL)
		return -1;
	/* Limit 0: one row too many says the answer would be incomplete. */
	snprintf(lim, sizeof(lim), "%" PRIu32, limit == 0 ?
	    STORE_QUERY_MAX + 1 : store_limit(limit));
	return store_query(s, "messages", store_sql_messages, p, 3,
	    STORE_QUERY_MAX, fn, arg);
}

int
store_query_expired(struct store *s, int kind, int64_t before_ms,
    uint32_t limit, store_result_fn *fn, void *arg)
{
	char		 k[16], before[24], lim[16];
	const char	*p[3] = { k, before, lim };

	snprintf(k, sizeof(k), "%d", kind);
	snprintf(before, sizeof(before), "%" PRId64, before_ms);
	snprintf(lim, sizeof(lim), "%" PRIu32, store_limit(limit));
	return store_query(s, "expired", store_sql_expired, p, 3, 0, fn, arg);
}

/* ------------------------------------------------------------------------
 * The query in flight, and its answer
 */

void
store_query_send(struct store *s, struct store_query *q)
{
	TAILQ_REMOVE(&s->queries, q, entry);
	s->qcur = q;
	store_expect(s, STORE_PH_QUERY, 1);
	if (!PQsendQueryParams(store_conn_pg(s->conn), q->sql, q->nparams,
	    NULL, (const char *const *)q->param, NULL, NULL, 1) ||
	    !PQpipelineSync(store_conn_pg(s->conn))) {
		store_drop(s, PQerrorMessage(store_conn_pg(s->conn)));
		return;
	}
	store_conn_flush(s->conn);
}

/* One result of the query in flight; returns 1 if q kept res (its rows). */
int
store_query_result(struct store *s, int idx, PGresult *res)
{
	if (idx == 0 && s->qcur != NULL && s->qcur->res == NULL) {
		s->qcur->res = res;
		return 1;
	}
	return 0;
}

/* Checks a query's rows; returns 0, or -1 with the reason logged. */
static int
store_query_check(const struct store_query *q)
{
	int	i, n;

	if (q->res == NULL)
		return -1;
	n = PQnfields(q->res);
	for (i = 0; i < n; i++) {
		if (PQftype(q->res, i) != STORE_OID_TEXT &&
		    PQftype(q->res, i) != STORE_OID_BYTEA) {
			log_warnx("store: query %s: column %d is neither text "
			    "nor bytea event=query_failed", q->what, i);
			return -1;
		}
	}
	if (q->max_rows > 0 && (size_t)PQntuples(q->res) > q->max_rows) {
		log_warnx("store: query %s: more than %zu rows; refusing an "
		    "incomplete answer"
		    " event=query_failed", q->what, q->max_rows);
		return -1;
	}
	return 0;
}

void
store_query_answered(struct store *s, struct store_query *q,
    const struct store_conn_err *e)
{
	if (e->failed)
		log_warnx("store: query %s failed sqlstate=%s error=\"%s\""
		    " event=query_failed",
		    q->what, e->errstate, e->errmsg);
	store_query_finish(s, q, !e->failed && store_query_check(q) == 0);
}

void
store_query_done(struct store *s)
{
	struct store_query	*q = s->qcur;

	s->qcur = NULL;
	store_query_answered(s, q, store_conn_err(s->conn));
	s->phase = STORE_PH_IDLE;
	store_kick(s);
}

/* Moves q (already unlinked, or qcur) to the done list. */
void
store_query_finish(struct store *s, struct store_query *q, int ok)
{
	q->ok = ok;
	if (!ok) {
		PQclear(q->res);
		q->res = NULL;
	}
	q->done_seq = ++s->ndone_seq;
	TAILQ_INSERT_TAIL(&s->qdone, q, entry);
	if (!s->closing)
		event_active(s->ev_defer, EV_TIMEOUT, 0);
}

/* Answers every waiting query "failed". */
void
store_queries_fail(struct store *s)
{
	struct store_query	*q;

	while ((q = TAILQ_FIRST(&s->queries)) != NULL) {
		TAILQ_REMOVE(&s->queries, q, entry);
		store_query_finish(s, q, 0);
	}
}

int
store_query_superseded(struct store *s, const char *message_id,
    store_result_fn *fn, void *arg)
{
	const char *p[1] = { message_id };

	return store_query(s, "superseded", store_sql_superseded, p, 1, 0, fn,
	    arg);
}

int
store_query_corrections_untold(struct store *s, store_result_fn *fn,
    void *arg)
{
	return store_query(s, "corrections_untold",
	    store_sql_corrections_untold, NULL, 0, 0, fn, arg);
}

int
store_query_reach_many(struct store *s, const char *const *message_ids,
    size_t n, store_result_fn *fn, void *arg)
{
	const char	*p[1];
	char		*list;
	size_t		 i, off = 0;
	int		 rc;

	if (n == 0 || (list = malloc(n * (UUID_STR_LEN + 1) + 3)) == NULL)
		return -1;
	list[off++] = '{';
	for (i = 0; i < n; i++) {
		if (strlen(message_ids[i]) != UUID_STR_LEN - 1) {
			free(list);
			return -1;
		}
		if (i > 0)
			list[off++] = ',';
		memcpy(list + off, message_ids[i], UUID_STR_LEN - 1);
		off += UUID_STR_LEN - 1;
	}
	list[off++] = '}';
	list[off] = '\0';
	p[0] = list;
	rc = store_query(s, "reach_many", store_sql_reach_many, p, 1, 0, fn,
	    arg);
	free(list);
	return rc;
}

int
store_query_sar_case(struct store *s, const char *reference,
    store_result_fn *fn, void *arg)
{
	const char *p[1] = { reference };

	return store_query(s, "sar_case", store_sql_sar_case, p, 1, 1, fn,
	    arg);
}

int
store_query_sar_cases_open(struct store *s, store_result_fn *fn, void *arg)
{
	return store_query(s, "sar_cases", store_sql_sar_cases_open, NULL, 0,
	    10000, fn, arg);
}
