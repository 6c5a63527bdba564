/*
 * store_batch: building a batch, the store's unit of atomic work (store.h):
 * the copies of the rows a caller adds, checked as they are added so that
 * a bad row is refused here rather than by the database in a transaction
 * shared with other batches.  No I/O; store.c sends what a batch holds.
 * The batch's structure is in store_int.h.
 */
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "audit.h"
#include "envelope.h"
#include "store.h"
#include "store_int.h"
#include "store_sql.h"

/*
 * Lower-cases a UUID in the form 8-4-4-4-12 in place; returns -1 (and
 * leaves it) if it is not one.  The chain hashes message ids as the
 * database prints them.
 */
static int
store_uuid_canon(char *id)
{
	size_t	i;

	if (strlen(id) != 36)
		return -1;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (id[i] != '-')
				return -1;
		} else if (!isxdigit((unsigned char)id[i]))
			return -1;
	}
	for (i = 0; i < 36; i++)
		id[i] = (char)tolower((unsigned char)id[i]);
	return 0;
}


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

/* Grows an array of n members to hold one more; returns 0 or -1. */
static int
store_grow(void **arr, size_t n, size_t *cap, size_t size, size_t first)
{
	void	*tmp;
	size_t	 c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : first;
	if ((tmp = reallocarray(*arr, c, size)) == NULL)
		return -1;
	*arr = tmp;
	*cap = c;
	return 0;
}

/* The enum columns are smallint: a value out of range is refused here,
 * not by the database in a transaction shared with other batches. */
static int
store_fits_smallint(int v)
{
	return v >= INT16_MIN && v <= INT16_MAX;
}

/*
 * Also returns -1, leaving b as it was, if m->id is not NUL-terminated,
 * subject or sender is NULL (the table requires them), a body comes
 * without its key id or is larger than libpq can send (INT_MAX), or an
 * enum (kind, marking, priority, legal basis) is outside smallint.
 */
int
store_batch_set_message(struct store_batch *b, const struct store_message *m)
{
	char	*subject = NULL, *sender = NULL, *agency = NULL, *pv = NULL;
	char	*key_id = NULL;
	uint8_t	*body = NULL;

	if (b == NULL || m == NULL || m->subject == NULL ||
	    m->sender == NULL || memchr(m->id, '\0', sizeof(m->id)) == NULL ||
	    (m->body != NULL && (m->key_id == NULL || m->body_len > INT_MAX)) ||
	    !store_fits_smallint(m->kind) || !store_fits_smallint(m->marking) ||
	    !store_fits_smallint(m->priority) ||
	    !store_fits_smallint(m->legal_basis))
		return -1;
	if (m->body != NULL &&
	    (body = malloc(m->body_len > 0 ? m->body_len : 1)) == NULL)
		return -1;
	if (store_strdup(&subject, m->subject) == -1 ||
	    store_strdup(&sender, m->sender) == -1 ||
	    store_strdup(&agency, m->agency) == -1 ||
	    store_strdup(&pv, m->policy_version) == -1 ||
	    store_strdup(&key_id, m->body != NULL ? m->key_id : NULL) == -1) {
		free(subject);
		free(sender);
		free(agency);
		free(pv);
		free(key_id);
		free(body);
		return -1;
	}
	if (body != NULL && m->body_len > 0)
		memcpy(body, m->body, m->body_len);
	free(b->msg_subject);
	free(b->msg_sender);
	free(b->msg_agency);
	free(b->msg_policy_version);
	free(b->msg_body);
	free(b->msg_key_id);
	b->msg_subject = subject;
	b->msg_sender = sender;
	b->msg_agency = agency;
	b->msg_policy_version = pv;
	b->msg_body = body;
	b->msg_body_len = body != NULL ? m->body_len : 0;
	b->msg_key_id = key_id;
	memcpy(b->msg_id, m->id, sizeof(b->msg_id));
	b->msg_kind = m->kind;
	b->msg_marking = m->marking;
	b->msg_priority = m->priority;
	b->msg_legal_basis = m->legal_basis;
	b->msg_created_ms = m->created_ms;
	b->has_msg = 1;
	return 0;
}

/*
 * Also returns -1 (and frees ev) if ev's message id is not a UUID in the
 * 8-4-4-4-12 form; a valid one is lower-cased, as the chain hashes it.
 */
int
store_batch_add_event(struct store_batch *b, struct audit_event *ev)
{
	if (b == NULL || ev == NULL || (ev->message_id != NULL &&
	    store_uuid_canon(ev->message_id) == -1) ||
	    store_grow((void **)&b->ev, b->nev, &b->evcap, sizeof(*b->ev),
	    4) == -1) {
		audit_event_free(ev);
		return -1;
	}
	b->ev[b->nev++] = ev;
	return 0;
}

int
store_rows_only(const struct store_batch *b)
{
	return b->done == NULL && !b->has_msg && b->nalloc == 0 &&
	    b->nsub == 0 && b->ndeliv == 0 && b->npurge == 0 &&
	    b->nstmt == 0 && b->nchg == 0 && !b->notify_msg;
}

int
store_batch_join(struct store_batch *tail, struct store_batch *b)
{
	size_t	i;

	void	*tmp;

	if (!store_rows_only(tail) || !store_rows_only(b) ||
	    tail->nev + b->nev > STORE_DETACHED_ROWS)
		return -1;
	if (tail->evcap < tail->nev + b->nev) {
		if ((tmp = reallocarray(tail->ev, tail->nev + b->nev,
		    sizeof(*tail->ev))) == NULL)
			return -1;
		tail->ev = tmp;
		tail->evcap = tail->nev + b->nev;
	}
	/* Links are made again when it is sent (it may have been). */
	free(tail->link);
	tail->link = NULL;
	/* Their ids were made canonical when they joined b. */
	for (i = 0; i < b->nev; i++) {
		tail->ev[tail->nev++] = b->ev[i];
		b->ev[i] = NULL;
	}
	b->nev = 0;
	store_batch_free(b);
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
	struct store_alloc	 a;
	const char		*team, *worker;

	if (b == NULL || e == NULL || e->subject == NULL ||
	    message_id == NULL || strlen(message_id) >= sizeof(a.msg_id))
		return -1;
	team = e->team != NULL ? e->team : "";
	worker = e->worker != NULL ? e->worker : "";
	if (*team == '\0' && *worker == '\0')
		return -1;
	if (store_grow((void **)&b->alloc, b->nalloc, &b->alloccap,
	    sizeof(*b->alloc), 2) == -1)
		return -1;
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

static void
store_sub_clear(struct store_sub *u)
{
	free(u->principal);
	free(u->name);
	free(u->subjects);
	free(u->withdraw);
}

/* The text[] literal of subjects: {"a","b\"c"}; caller frees. */
static char *
store_array_literal(const char *const *v, size_t n)
{
	char		*buf, *p;
	const char	*c;
	size_t		 len = 3, i;

	for (i = 0; i < n; i++) {
		if (v[i] == NULL)
			return NULL;
		len += 3;
		for (c = v[i]; *c != '\0'; c++)
			len += (*c == '"' || *c == '\\') ? 2 : 1;
	}
	if ((buf = malloc(len)) == NULL)
		return NULL;
	p = buf;
	*p++ = '{';
	for (i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ',';
		*p++ = '"';
		for (c = v[i]; *c != '\0'; c++) {
			if (*c == '"' || *c == '\\')
				*p++ = '\\';
			*p++ = *c;
		}
		*p++ = '"';
	}
	*p++ = '}';
	*p = '\0';
	return buf;
}

/*
 * Also returns -1, leaving b as it was, if sub, its principal or name, or
 * one of its subjects is NULL.
 */
int
store_batch_add_subscription(struct store_batch *b,
    const struct store_subscription *sub)
{
	struct store_sub	u;

	if (b == NULL || sub == NULL || sub->principal == NULL ||
	    sub->name == NULL || (sub->nsubjects > 0 && sub->subjects == NULL))
		return -1;
	if (store_grow((void **)&b->sub, b->nsub, &b->subcap, sizeof(*b->sub),
	    1) == -1)
		return -1;
	memset(&u, 0, sizeof(u));
	snprintf(u.kinds, sizeof(u.kinds), "%" PRIu32, sub->kinds);
	if (store_strdup(&u.principal, sub->principal) == -1 ||
	    store_strdup(&u.name, sub->name) == -1 ||
	    (u.subjects = store_array_literal(sub->subjects,
	    sub->nsubjects)) == NULL) {
		store_sub_clear(&u);
		return -1;
	}
	u.keep = sub->keep;
	b->sub[b->nsub++] = u;
	return 0;
}

int
store_batch_withdraw(struct store_batch *b, const char *principal,
    const char *name, const char *const *message_ids, size_t n, int del)
{
	struct store_sub	u;
	size_t			i;

	if (b == NULL || principal == NULL || name == NULL ||
	    (n > 0 && message_ids == NULL))
		return -1;
	for (i = 0; i < n; i++)
		if (message_ids[i] == NULL ||
		    !envelope_is_uuid(message_ids[i]))
			return -1;
	if (store_grow((void **)&b->sub, b->nsub, &b->subcap, sizeof(*b->sub),
	    1) == -1)
		return -1;
	memset(&u, 0, sizeof(u));
	if (store_strdup(&u.principal, principal) == -1 ||
	    store_strdup(&u.name, name) == -1 ||
	    (u.withdraw = store_array_literal(message_ids, n)) == NULL) {
		store_sub_clear(&u);
		return -1;
	}
	u.del = del;
	b->sub[b->nsub++] = u;
	return 0;
}

static void
store_deliv_clear(struct store_deliv *d)
{
	free(d->principal);
	free(d->subscription);
}

static int
store_add_deliv(struct store_batch *b, const char *message_id,
    const char *principal, const char *subscription, const char *state)
{
	struct store_deliv	d;

	if (b == NULL || message_id == NULL || principal == NULL ||
	    subscription == NULL || strlen(message_id) >= sizeof(d.msg_id))
		return -1;
	if (store_grow((void **)&b->deliv, b->ndeliv, &b->delivcap,
	    sizeof(*b->deliv), 2) == -1)
		return -1;
	memset(&d, 0, sizeof(d));
	snprintf(d.msg_id, sizeof(d.msg_id), "%s", message_id);
	d.state = state;
	if (store_strdup(&d.principal, principal) == -1 ||
	    store_strdup(&d.subscription, subscription) == -1) {
		store_deliv_clear(&d);
		return -1;
	}
	b->deliv[b->ndeliv++] = d;
	return 0;
}

/*
 * Also returns -1, leaving b as it was, if an argument is NULL or
 * message_id is longer than a UUID.  Queuing a message that is already
 * queued for the subscription changes nothing (its state included).
 */
int
store_batch_add_delivery(struct store_batch *b, const char *message_id,
    const char *principal, const char *subscription)
{
	return store_add_deliv(b, message_id, principal, subscription, NULL);
}

/*
 * Also returns -1 for a state that is not one of enum
 * store_delivery_state.  Changing the state of a delivery that is not
 * queued changes nothing and is no error.
 */
int
store_batch_set_delivery_state(struct store_batch *b, const char *message_id,
    const char *principal, const char *subscription,
    enum store_delivery_state st)
{
	const char	*name;

	switch (st) {
	case STORE_DELIVERY_PENDING:
		name = "pending";
		break;
	case STORE_DELIVERY_ACKED:
		name = "acked";
		break;
	case STORE_DELIVERY_REFUSED:
		name = "refused";
		break;
	default:
		return -1;
	}
	return store_add_deliv(b, message_id, principal, subscription, name);
}

/*
 * Also returns -1, leaving b as it was, if message_id is not a UUID in the
 * 8-4-4-4-12 form.
 */
int
store_batch_add_purge(struct store_batch *b, const char *message_id)
{
	char	id[37];

	if (b == NULL || message_id == NULL ||
	    strlen(message_id) >= sizeof(id))
		return -1;
	memcpy(id, message_id, strlen(message_id) + 1);
	if (store_uuid_canon(id) == -1 ||
	    store_grow((void **)&b->purge, b->npurge, &b->purgecap,
	    sizeof(*b->purge), 16) == -1)
		return -1;
	memcpy(b->purge[b->npurge++], id, sizeof(id));
	return 0;
}

static void
store_stmt_clear(struct store_stmt *st)
{
	int i;

	for (i = 0; i < st->n; i++)
		free(st->v[i]);
	memset(st, 0, sizeof(*st));
}

/* Adds a statement of sql with n values (copied; NULL is SQL NULL). */
static int
store_batch_add_stmt(struct store_batch *b, const char *sql, int n,
    const char *const *v)
{
	struct store_stmt	*st;
	int			 i;

	if (b == NULL || n > STORE_STMT_MAXP || store_grow((void **)&b->stmt,
	    b->nstmt, &b->stmtcap, sizeof(*b->stmt), 2) == -1)
		return -1;
	st = &b->stmt[b->nstmt];
	memset(st, 0, sizeof(*st));
	st->sql = sql;
	for (i = 0; i < n; i++) {
		if (v[i] != NULL && (st->v[i] = strdup(v[i])) == NULL) {
			st->n = i;
			store_stmt_clear(st);
			return -1;
		}
	}
	st->n = n;
	b->nstmt++;
	return 0;
}

int
store_batch_add_deadline(struct store_batch *b, const struct store_deadline *d)
{
	char		 kind[16], start[24], due[24], every[24], kinds[16];
	const char	*v[14];

	snprintf(kind, sizeof(kind), "%d", d->kind);
	snprintf(start, sizeof(start), "%" PRId64, d->start_ms);
	snprintf(due, sizeof(due), "%" PRId64, d->due_ms);
	snprintf(every, sizeof(every), "%" PRId64, d->every_ms);
	snprintf(kinds, sizeof(kinds), "%" PRIu32, d->closing_kinds);
	v[0] = d->message_id;
	v[1] = d->subject;
	v[2] = kind;
	v[3] = d->rule;
	v[4] = d->policy_version;
	v[5] = start;
	v[6] = due;
	v[7] = every;
	v[8] = d->by_ack ? "true" : "false";
	v[9] = kinds;
	v[10] = d->note != NULL && d->note[0] != '\0' ? d->note : NULL;
	v[11] = d->instance;
	return store_batch_add_stmt(b, store_sql_deadline_insert, 12, v);
}

int
store_batch_deadline_met(struct store_batch *b, const char *message_id,
    const char *rule, const char *by, const char *met_message, int64_t at_ms)
{
	char		 at[24];
	const char	*v[5];

	snprintf(at, sizeof(at), "%" PRId64, at_ms);
	v[0] = message_id;
	v[1] = rule;
	v[2] = at;
	v[3] = by;
	v[4] = met_message;
	return store_batch_add_stmt(b, store_sql_deadline_met, 5, v);
}

int
store_batch_deadline_escalated(struct store_batch *b, const char *message_id,
    const char *rule, int count, int64_t next_ms)
{
	char		 c[16], next[24];
	const char	*v[4];

	snprintf(c, sizeof(c), "%d", count);
	snprintf(next, sizeof(next), "%" PRId64, next_ms);
	v[0] = message_id;
	v[1] = rule;
	v[2] = c;
	v[3] = next;
	return store_batch_add_stmt(b, store_sql_deadline_escalated, 4, v);
}

int
store_batch_add_consent(struct store_batch *b, const struct store_consent *c)
{
	char		 rec[24], exp[24], kinds[512];
	char		*agencies = NULL, *purposes = NULL;
	const char	*v[10];
	size_t		 i, off = 0;
	int		 rc;

	kinds[0] = '{';
	kinds[1] = '\0';
	off = 1;
	for (i = 0; i < c->nkinds && off + 16 < sizeof(kinds); i++)
		off += (size_t)snprintf(kinds + off, sizeof(kinds) - off,
		    "%s%d", i > 0 ? "," : "", c->kinds[i]);
	snprintf(kinds + off, sizeof(kinds) - off, "}");
	snprintf(rec, sizeof(rec), "%" PRId64, c->recorded_ms);
	snprintf(exp, sizeof(exp), "%" PRId64, c->expires_ms);
	if ((agencies = store_array_literal(c->agencies, c->nagencies)) ==
	    NULL || (purposes = store_array_literal(c->purposes,
	    c->npurposes)) == NULL) {
		free(agencies);
		return -1;
	}
	v[0] = c->message_id;
	v[1] = c->subject;
	v[2] = c->status;
	v[3] = kinds;
	v[4] = agencies;
	v[5] = purposes;
	v[6] = rec;
	v[7] = exp;
	v[8] = c->withdraws != NULL ? c->withdraws : "";
	v[9] = c->instance;
	rc = store_batch_add_stmt(b, store_sql_consent_insert, 10, v);
	free(agencies);
	free(purposes);
	return rc;
}

int
store_batch_add_correction(struct store_batch *b,
    const struct store_correction *c)
{
	char		 at[24], *to;
	const char	*v[9];
	int		 rc;

	if ((to = store_array_literal(c->notice_to, c->nnotice_to)) == NULL)
		return -1;
	snprintf(at, sizeof(at), "%" PRId64, c->at_ms);
	v[0] = c->message_id;
	v[1] = c->supersedes;
	v[2] = c->root;
	v[3] = c->how;
	v[4] = c->subject;
	v[5] = c->sender;
	v[6] = to;
	v[7] = at;
	v[8] = c->instance;
	rc = store_batch_add_stmt(b, store_sql_correction_insert, 9, v);
	free(to);
	return rc;
}

int
store_batch_correction_told(struct store_batch *b, const char *message_id,
    const char *notice_id)
{
	const char *v[2] = { message_id, notice_id };

	return store_batch_add_stmt(b, store_sql_correction_told, 2, v);
}

int
store_batch_add_grant(struct store_batch *b, const struct store_grant *g)
{
	char		 kinds[200], from[24], until[24];
	const char	*v[11];
	size_t		 off;
	int		 k;

	off = (size_t)snprintf(kinds, sizeof(kinds), "{");
	for (k = 1; k < 32; k++)
		if (g->kinds & (1u << k))
			off += (size_t)snprintf(kinds + off, sizeof(kinds) - off,
			    "%s%d", off > 1 ? "," : "", k);
	snprintf(kinds + off, sizeof(kinds) - off, "}");
	snprintf(from, sizeof(from), "%" PRId64, g->from_ms);
	snprintf(until, sizeof(until), "%" PRId64, g->until_ms);
	v[0] = g->id;
	v[1] = g->principal;
	v[2] = g->role;
	v[3] = g->subject;
	v[4] = g->rule;
	v[5] = g->reason;
	v[6] = kinds;
	v[7] = from;
	v[8] = until;
	v[9] = g->policy_version;
	v[10] = g->instance;
	return store_batch_add_stmt(b, store_sql_grant_insert, 11, v);
}

int
store_batch_grant_end(struct store_batch *b, const char *id, const char *by,
    int64_t at_ms)
{
	char		 at[24];
	const char	*v[3];

	snprintf(at, sizeof(at), "%" PRId64, at_ms);
	v[0] = id;
	v[1] = by;
	v[2] = at;
	return store_batch_add_stmt(b, store_sql_grant_end, 3, v);
}

int
store_batch_grant_review(struct store_batch *b, const char *id,
    const char *outcome, const char *note, const char *by, int64_t at_ms)
{
	char		 at[24];
	const char	*v[5];

	snprintf(at, sizeof(at), "%" PRId64, at_ms);
	v[0] = id;
	v[1] = outcome;
	v[2] = note;
	v[3] = by;
	v[4] = at;
	return store_batch_add_stmt(b, store_sql_grant_review, 5, v);
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
	free(b->link);
	for (i = 0; i < b->nalloc; i++)
		store_alloc_clear(&b->alloc[i]);
	free(b->alloc);
	for (i = 0; i < b->nsub; i++)
		store_sub_clear(&b->sub[i]);
	free(b->sub);
	for (i = 0; i < b->ndeliv; i++)
		store_deliv_clear(&b->deliv[i]);
	free(b->deliv);
	free(b->purge);
	for (i = 0; i < b->nstmt; i++)
		store_stmt_clear(&b->stmt[i]);
	free(b->stmt);
	for (i = 0; i < b->nchg; i++)
		free(b->chg[i]);
	free(b->chg);
	free(b->msg_subject);
	free(b->msg_sender);
	free(b->msg_agency);
	free(b->msg_policy_version);
	free(b->msg_body);
	free(b->msg_key_id);
	free(b);
}

/*
 * Ids for operator logs: the message id, else the first allocation's or
 * delivery's, else the first event's.
 */
const char *
store_batch_id(const struct store_batch *b)
{
	if (b->has_msg)
		return b->msg_id;
	if (b->nalloc > 0)
		return b->alloc[0].msg_id;
	if (b->ndeliv > 0)
		return b->deliv[0].msg_id;
	if (b->nev > 0 && b->ev[0]->message_id != NULL)
		return b->ev[0]->message_id;
	return "-";
}

/* Rows a batch writes: what counts against STORE_TXN_ROWS. */
size_t
store_batch_rows(const struct store_batch *b)
{
	return (b->has_msg ? 1 : 0) + b->nalloc + b->nsub + b->ndeliv +
	    b->npurge + b->nstmt + b->nev + b->nchg / 2;
}

int
store_batch_add_change(struct store_batch *b, const char *what,
    const char *ref)
{
	char	*w, *r;

	if (b == NULL || store_grow((void **)&b->chg, b->nchg + 1,
	    &b->chgcap, sizeof(*b->chg), 4) == -1)
		return -1;
	if ((w = strdup(what)) == NULL || (r = strdup(ref)) == NULL) {
		free(w);
		return -1;
	}
	b->chg[b->nchg++] = w;
	b->chg[b->nchg++] = r;
	return 0;
}

int
store_batch_notify_message(struct store_batch *b, int64_t seen)
{
	if (b == NULL || !b->has_msg)
		return -1;
	b->notify_msg = 1;
	b->notify_seen = seen;
	return 0;
}

int
store_batch_add_sar_case(struct store_batch *b,
    const struct store_sar_case *c)
{
	char		 received[24], opened[24], due[24];
	const char	*v[8];

	snprintf(received, sizeof(received), "%" PRId64, c->received_ms);
	snprintf(opened, sizeof(opened), "%" PRId64, c->opened_ms);
	snprintf(due, sizeof(due), "%" PRId64, c->due_ms);
	v[0] = c->reference;
	v[1] = c->subject;
	v[2] = c->requested_by;
	v[3] = received;
	v[4] = opened;
	v[5] = c->opened_by;
	v[6] = due;
	v[7] = c->instance;
	return store_batch_add_stmt(b, store_sql_sar_case_insert, 8, v);
}

/* "\x" and the hex of len bytes, a bytea's text form; NULL if no memory. */
static char *
store_bytea_text(const uint8_t *p, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	char			*t;
	size_t			 i;

	if (len > (SIZE_MAX - 3) / 2 || (t = malloc(2 * len + 3)) == NULL)
		return NULL;
	t[0] = '\\';
	t[1] = 'x';
	for (i = 0; i < len; i++) {
		t[2 + 2 * i] = hex[p[i] >> 4];
		t[3 + 2 * i] = hex[p[i] & 0xf];
	}
	t[2 + 2 * len] = '\0';
	return t;
}

int
store_batch_sar_case_step(struct store_batch *b,
    const struct store_sar_step *st)
{
	char		 at[24], until[24], *report = NULL, *sha = NULL;
	const char	*v[10];
	int		 rc = -1;

	snprintf(at, sizeof(at), "%" PRId64, st->at_ms);
	snprintf(until, sizeof(until), "%" PRId64, st->until_ms);
	if ((st->report != NULL && (report = store_bytea_text(st->report,
	    st->report_len)) == NULL) || (st->sha256 != NULL &&
	    (sha = store_bytea_text(st->sha256, 32)) == NULL))
		goto done;
	v[0] = st->reference;
	v[1] = st->from;
	v[2] = st->to;
	v[3] = st->by;
	v[4] = at;
	v[5] = st->text;
	v[6] = report;
	v[7] = st->key_id;
	v[8] = sha;
	v[9] = until;
	rc = store_batch_add_stmt(b, store_sql_sar_case_step, 10, v);
done:
	free(report);
	free(sha);
	return rc;
}
