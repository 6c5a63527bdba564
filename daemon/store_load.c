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

/* Hands the allocations over; returns 0, or -1 with the reason in why. */
static int
store_load_allocs(struct store *s, char *why, size_t whylen)
{
	PGresult		*res = s->allocs_res;
	struct alloc_entry	*rows;
	size_t			 n, i;
	int			 rv;

	if (res == NULL || PQnfields(res) != 5) {
		snprintf(why, whylen, "reading nwd.allocations: unexpected "
		    "result");
		return -1;
	}
	n = (size_t)PQntuples(res);
	/* Never NULL, even for no rows. */
	if ((rows = calloc(n > 0 ? n : 1, sizeof(*rows))) == NULL) {
		snprintf(why, whylen, "reading nwd.allocations: out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		rows[i].subject = PQgetvalue(res, (int)i, 0);
		rows[i].team = PQgetvalue(res, (int)i, 1);
		rows[i].worker = PQgetvalue(res, (int)i, 2);
		if (store_load_ms(res, (int)i, 3, &rows[i].from_ms) == -1 ||
		    store_load_ms(res, (int)i, 4, &rows[i].until_ms) == -1) {
			free(rows);
			snprintf(why, whylen, "reading nwd.allocations: bad "
			    "time");
			return -1;
		}
	}
	rv = s->on_allocs(rows, n, s->allocs_arg);
	free(rows);
	if (rv == -1) {
		snprintf(why, whylen, "the daemon did not accept the "
		    "allocations read (rows %zu)", n);
		return -1;
	}
	log_debug("store: allocations loaded rows=%zu", n);
	return 0;
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
	log_debug("store: subscriptions loaded rows=%zu", nsubs);
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
		store_drop(s, why);
		return;
	}
	store_ready(s);
}
