/*
 * store_load: LOAD, the last step of every connect (store.c): reading
 * every row of nwd.allocations and nwd.subscriptions, under a deadline of
 * its own, and handing them to the callbacks the daemon set
 * (store_set_allocations_cb(), store_set_subscriptions_cb()).  The rows
 * live only during the callbacks; a callback that refuses them fails the
 * connect, which is retried.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "alloc.h"
#include "chain.h"
#include "log.h"
#include "store.h"
#include "store_conn.h"
#include "store_int.h"
#include "store_sql.h"

#define STORE_LOAD_TIMEOUT_S	30	/* reading allocations, subscriptions */

static int
store_send_simple(struct store *s, const char *sql)
{
	return PQsendQueryParams(store_conn_pg(s->conn), sql, 0, NULL, NULL,
	    NULL, NULL, 0) ? 0 : -1;
}

/* Reads allocations and subscriptions, under a deadline of their own. */
void
store_load(struct store *s)
{
	struct timeval	tv = { STORE_LOAD_TIMEOUT_S, 0 };
	int		n = 0;

	s->load_allocs_idx = s->load_subs_idx = -1;
	if (s->on_allocs != NULL) {
		if (store_send_simple(s, store_sql_load_allocs) == -1)
			goto lost;
		s->load_allocs_idx = n++;
	}
	if (s->on_subs != NULL) {
		if (store_send_simple(s, store_sql_load_subs) == -1)
			goto lost;
		s->load_subs_idx = n++;
	}
	if (!PQpipelineSync(store_conn_pg(s->conn)))
		goto lost;
	store_expect(s, STORE_PH_LOAD, n);
	evtimer_del(s->ev_timer);
	evtimer_add(s->ev_timer, &tv);
	store_conn_flush(s->conn);
	return;

 lost:
	store_drop(s, PQerrorMessage(store_conn_pg(s->conn)));
}

/* One result of LOAD; returns 1 if the store kept res until the sync. */
int
store_load_result(struct store *s, int idx, PGresult *res)
{
	if (idx == s->load_allocs_idx && s->allocs_res == NULL) {
		s->allocs_res = res;
		return 1;
	}
	if (idx == s->load_subs_idx && s->subs_res == NULL) {
		s->subs_res = res;
		return 1;
	}
	return 0;
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

/* The value of a column, NULL for SQL NULL. */
static const char *
store_load_value(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* Decodes the hex of a sealed body into a new buffer; NULL on failure. */
static uint8_t *
store_load_body(const char *hex, size_t *lenp)
{
	uint8_t	*buf;
	size_t	 n;

	if (hex == NULL || strlen(hex) % 2 != 0)
		return NULL;
	n = strlen(hex) / 2;
	if ((buf = malloc(n > 0 ? n : 1)) == NULL)
		return NULL;
	if (chain_unhex(hex, buf, n) == -1) {
		free(buf);
		return NULL;
	}
	*lenp = n;
	return buf;
}

/* Row order for grouping by message: message id, then the row's order. */
static const PGresult	*store_load_sort_res;

static int
store_load_by_message(const void *a, const void *b)
{
	int	ia = *(const int *)a, ib = *(const int *)b, c;

	c = strcmp(PQgetvalue(store_load_sort_res, ia, STORE_LOAD_A_MESSAGE_ID),
	    PQgetvalue(store_load_sort_res, ib, STORE_LOAD_A_MESSAGE_ID));
	if (c != 0)
		return c;
	return ia < ib ? -1 : ia > ib;
}

/*
 * The message hash of the message of row first of res with the
 * allocation rows idx[0 .. k-1] (chain.h), into out.  Returns 0 or -1.
 */
static int
store_load_msg_hash(const PGresult *res, const int *idx, size_t k,
    uint8_t out[CHAIN_HASH_LEN])
{
	struct chain_message	 m;
	const char		*(*al)[CHAIN_ALLOC_NFIELDS] = NULL;
	size_t			 i;
	int			 rc, r = idx[0], f;

	memset(&m, 0, sizeof(m));
	m.field[CHAIN_M_ID] = PQgetvalue(res, r, STORE_LOAD_A_MESSAGE_ID);
	for (f = CHAIN_M_KIND; f <= CHAIN_M_BODY_SHA256; f++)
		m.field[f] = store_load_value(res, r, STORE_LOAD_A_M0 +
		    (f - CHAIN_M_KIND));
	if (k > 0 && (al = calloc(k, sizeof(*al))) == NULL)
		return -1;
	for (i = 0; i < k; i++) {
		al[i][CHAIN_A_SUBJECT] = store_load_value(res, idx[i],
		    STORE_LOAD_A_SUBJECT);
		al[i][CHAIN_A_TEAM] = store_load_value(res, idx[i],
		    STORE_LOAD_A_TEAM);
		al[i][CHAIN_A_WORKER] = store_load_value(res, idx[i],
		    STORE_LOAD_A_WORKER);
		al[i][CHAIN_A_FROM] = store_load_value(res, idx[i],
		    STORE_LOAD_A_FROM);
		al[i][CHAIN_A_UNTIL] = store_load_value(res, idx[i],
		    STORE_LOAD_A_UNTIL);
	}
	m.alloc = al;
	m.nalloc = k;
	rc = chain_message_hash(&m, out);
	free(al);
	return rc;
}

/*
 * Says what vouches for the allocation rows idx[0 .. n-1] of res, which
 * all name one message (in the order written).  The rows its publish row's
 * message hash covers are the first k for the largest k whose hash
 * matches; the rest are not vouched for.  Returns 0 or -1.
 */
static int
store_load_vouch(const PGresult *res, const int *idx, size_t n,
    struct store_alloc_row *rows)
{
	uint8_t		 want[CHAIN_HASH_LEN], got[CHAIN_HASH_LEN];
	const char	*why = NULL, *mh;
	size_t		 i, k = 0;
	int		 r = idx[0];

	if (strcmp(PQgetvalue(res, r, STORE_LOAD_A_HAS_MESSAGE), "t") != 0)
		why = "its message is not in nwd.messages";
	else if (strcmp(PQgetvalue(res, r, STORE_LOAD_A_PUBLISHED), "t") != 0)
		why = "no publish row of the audit trail records its message";
	else if ((mh = store_load_value(res, r,
	    STORE_LOAD_A_MESSAGE_HASH)) == NULL) {
		/* Before 010: the first row is checked against the body. */
		rows[idx[0]].proof = STORE_ALLOC_LEGACY;
		for (i = 1; i < n; i++) {
			rows[idx[i]].proof = STORE_ALLOC_UNVOUCHED;
			rows[idx[i]].why = "a second allocation row of a "
			    "message that records one";
		}
		return 0;
	} else if (chain_unhex(mh, want, sizeof(want)) == -1)
		why = "the message hash of its publish row is not 32 bytes";
	else {
		for (k = n; k > 0; k--) {
			if (store_load_msg_hash(res, idx, k, got) == -1)
				return -1;
			if (memcmp(got, want, sizeof(got)) == 0)
				break;
		}
		if (k == 0)
			why = "the message hash of its publish row does not "
			    "match the message and allocation rows stored (a "
			    "message or allocation row was changed or added)";
	}
	for (i = 0; i < n; i++) {
		rows[idx[i]].proof = i < k ? STORE_ALLOC_VOUCHED :
		    STORE_ALLOC_UNVOUCHED;
		if (i >= k)
			rows[idx[i]].why = why != NULL ? why : "not among the "
			    "allocation rows its message's publish row vouches "
			    "for (a row was added)";
	}
	return 0;
}

/* Hands the allocations over; returns 0, or -1 with the reason in why. */
static int
store_load_allocs(struct store *s, char *why, size_t whylen)
{
	PGresult		*res = s->allocs_res;
	struct store_alloc_row	*rows;
	int			*idx = NULL;
	size_t			 n, i, j;
	int64_t			 kind;
	int			 rv = -1;

	if (res == NULL || PQnfields(res) != STORE_LOAD_A_NCOLS) {
		snprintf(why, whylen, "reading nwd.allocations: unexpected "
		    "result");
		return -1;
	}
	n = (size_t)PQntuples(res);
	/* Never NULL, even for no rows. */
	if ((rows = calloc(n > 0 ? n : 1, sizeof(*rows))) == NULL ||
	    (idx = calloc(n > 0 ? n : 1, sizeof(*idx))) == NULL) {
		free(rows);
		snprintf(why, whylen, "reading nwd.allocations: out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct store_alloc_row	*r = &rows[i];
		const char		*k;

		r->e.subject = PQgetvalue(res, (int)i, STORE_LOAD_A_SUBJECT);
		r->e.team = PQgetvalue(res, (int)i, STORE_LOAD_A_TEAM);
		r->e.worker = PQgetvalue(res, (int)i, STORE_LOAD_A_WORKER);
		r->id = PQgetvalue(res, (int)i, STORE_LOAD_A_ID);
		r->message_id = PQgetvalue(res, (int)i,
		    STORE_LOAD_A_MESSAGE_ID);
		r->msg_subject = store_load_value(res, (int)i,
		    STORE_LOAD_A_M0 + (CHAIN_M_SUBJECT - CHAIN_M_KIND));
		k = store_load_value(res, (int)i, STORE_LOAD_A_M0);
		if (k != NULL && store_parse_i64(k, &kind) == 0 &&
		    kind <= INT16_MAX)
			r->msg_kind = (int)kind;
		r->key_id = store_load_value(res, (int)i, STORE_LOAD_A_M0 +
		    (CHAIN_M_KEY_ID - CHAIN_M_KIND));
		/* Who made it: its message's sender ("" if none), so that
		 * "end own" holds after a restart as before it. */
		r->e.by = store_load_value(res, (int)i, STORE_LOAD_A_M0 +
		    (CHAIN_M_SENDER - CHAIN_M_KIND));
		if (r->e.by == NULL)
			r->e.by = "";
		if (store_load_ms(res, (int)i, STORE_LOAD_A_FROM,
		    &r->e.from_ms) == -1 || store_load_ms(res, (int)i,
		    STORE_LOAD_A_UNTIL, &r->e.until_ms) == -1) {
			snprintf(why, whylen, "reading nwd.allocations: bad "
			    "time");
			goto out;
		}
		idx[i] = (int)i;
	}
	/* What vouches for each: by message, in the order written. */
	store_load_sort_res = res;
	qsort(idx, n, sizeof(*idx), store_load_by_message);
	store_load_sort_res = NULL;
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && strcmp(rows[idx[j]].message_id,
		    rows[idx[i]].message_id) == 0; j++)
			;
		if (store_load_vouch(res, idx + i, j - i, rows) == -1) {
			snprintf(why, whylen, "reading nwd.allocations: "
			    "cannot hash a message");
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		if (rows[i].proof != STORE_ALLOC_LEGACY)
			continue;
		/* NULL for a purged body (or one that does not decode). */
		rows[i].body = store_load_body(store_load_value(res, (int)i,
		    STORE_LOAD_A_BODY), &rows[i].body_len);
	}
	if (s->on_allocs(rows, n, s->allocs_arg) == -1) {
		snprintf(why, whylen, "the daemon did not accept the "
		    "allocations read (rows %zu)", n);
		goto out;
	}
	log_debug("store: allocations loaded rows=%zu"
	    " event=allocations_loaded", n);
	rv = 0;
 out:
	for (i = 0; i < n; i++)
		free((void *)rows[i].body);
	free(rows);
	free(idx);
	return rv;
}

/* Hands the subscriptions over; returns 0, or -1 with the reason in why. */
static int
store_load_subs(struct store *s, char *why, size_t whylen)
{
	PGresult			*res = s->subs_res;
	struct store_subscription	*subs = NULL;
	const char			**subjects = NULL;
	size_t				 nrows, nsubs = 0, i;
	int64_t				 kinds;
	int				 rv;

	if (res == NULL || PQnfields(res) != 4) {
		snprintf(why, whylen, "reading nwd.subscriptions: unexpected "
		    "result");
		return -1;
	}
	nrows = (size_t)PQntuples(res);
	/* Never NULL, even for no rows. */
	if ((subs = calloc(nrows > 0 ? nrows : 1, sizeof(*subs))) == NULL ||
	    (subjects = calloc(nrows > 0 ? nrows : 1,
	    sizeof(*subjects))) == NULL) {
		free(subs);
		snprintf(why, whylen, "reading nwd.subscriptions: out of "
		    "memory");
		return -1;
	}
	/* Rows of one subscription are adjacent, its subjects in order. */
	for (i = 0; i < nrows; i++) {
		const char *principal = PQgetvalue(res, (int)i, 0);
		const char *name = PQgetvalue(res, (int)i, 1);

		if (nsubs == 0 ||
		    strcmp(subs[nsubs - 1].principal, principal) != 0 ||
		    strcmp(subs[nsubs - 1].name, name) != 0) {
			if (store_parse_i64(PQgetvalue(res, (int)i, 2),
			    &kinds) == -1 || kinds > UINT32_MAX) {
				free(subs);
				free(subjects);
				snprintf(why, whylen, "reading "
				    "nwd.subscriptions: bad kinds");
				return -1;
			}
			subs[nsubs].principal = principal;
			subs[nsubs].name = name;
			subs[nsubs].kinds = (uint32_t)kinds;
			subs[nsubs].subjects = subjects + i;
			subs[nsubs].nsubjects = 0;
			nsubs++;
		}
		/* Its subjects: rows first .. i, so subjects[first .. i]. */
		if (!PQgetisnull(res, (int)i, 3)) {
			subjects[i] = PQgetvalue(res, (int)i, 3);
			subs[nsubs - 1].nsubjects++;
		}
	}
	rv = s->on_subs(subs, nsubs, s->subs_arg);
	free(subs);
	free(subjects);
	if (rv == -1) {
		snprintf(why, whylen, "the daemon did not accept the "
		    "subscriptions read (rows %zu)", nsubs);
		return -1;
	}
	log_debug("store: subscriptions loaded rows=%zu"
	    " event=subscriptions_loaded", nsubs);
	return 0;
}

/* The allocations and subscriptions have arrived: hands them over. */
void
store_load_done(struct store *s)
{
	char	why[128];
	int	rv = 0;

	if (store_conn_err(s->conn)->failed) {
		store_connect_failed(s, "reading allocations and "
		    "subscriptions");
		return;
	}
	if (s->on_allocs != NULL)
		rv = store_load_allocs(s, why, sizeof(why));
	if (rv == 0 && s->on_subs != NULL)
		rv = store_load_subs(s, why, sizeof(why));
	PQclear(s->allocs_res);
	s->allocs_res = NULL;
	PQclear(s->subs_res);
	s->subs_res = NULL;
	if (rv == -1) {
		s->reloading = 0;
		store_drop(s, why);
		return;
	}
	if (s->reloading) {
		/* Read again while serving: back to the write path. */
		s->reloading = 0;
		evtimer_del(s->ev_timer);
		s->phase = STORE_PH_IDLE;
		store_kick(s);
		return;
	}
	store_ready(s);
}

int
store_reload(struct store *s)
{
	if (s->state != STORE_READY)
		return -1;
	s->reload_due = 1;
	store_kick(s);
	return 0;
}
