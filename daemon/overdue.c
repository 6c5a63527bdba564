/*
 * overdue: what the statutory clocks show.  See overdue.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "audit.h"
#include "clock.h"
#include "envelope.h"
#include "identity.h"
#include "log.h"
#include "overdue.h"
#include "policy.h"
#include "server.h"
#include "session.h"
#include "store.h"
#include "trail.h"

#define OVERDUE_LIMIT		1000
#define OVERDUE_MAX		10000
#define OVERDUE_AUDITOR		"auditor"

struct job {
	struct server	*srv;		/* borrowed */
	uint64_t	 session_id;
	uint64_t	 request_id;
	char		*team;		/* owned; NULL: any */
	int		 sees_all;	/* auditor or duty desk */
	char		 desc[512];	/* the query, for the row */
};

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	free(j->team);
	free(j);
}

static int64_t
num(const struct store_result *r, size_t row, int col)
{
	const char	*v = store_result_value(r, row, col);
	char		*end;
	long long	 n;

	if (v == NULL || *v == '\0')
		return 0;
	n = strtoll(v, &end, 10);
	return *end == '\0' ? n : 0;
}

/* May the asker see deadlines about subject? */
static int
visible(const struct job *j, const struct session *s, const char *subject,
    int64_t now)
{
	const char *const	*extra;
	struct principal	 team;
	char			*teams[1];
	size_t			 n;

	if (j->team != NULL) {
		memset(&team, 0, sizeof(team));
		team.id = (char *)"";
		teams[0] = j->team;
		team.teams = teams;
		team.nteams = 1;
		if (!alloc_table_is_allocated(j->srv->allocs, subject, &team,
		    NULL, 0, now))
			return 0;
	}
	if (j->sees_all)
		return 1;
	extra = policy_extra_teams(j->srv->policy, s->principal->id, &n);
	return alloc_table_is_allocated(j->srv->allocs, subject, s->principal,
	    extra, n, now);
}

static void
answered(int ok, const struct store_result *r, void *arg)
{
	struct job		*j = arg;
	struct session		*s = session_find(j->srv, j->session_id);
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT;
	Nwd__V1__DeadlineList	 list = NWD__V1__DEADLINE_LIST__INIT;
	Nwd__V1__DeadlineInfo	*v = NULL, **pv = NULL;
	struct trail_origin	 o;
	char			 reason[640];
	const char		*state;
	size_t			 i, n, k = 0;
	int64_t			 now = clock_wall_ms();

	if (s == NULL) {
		job_free(j);
		return;
	}
	if (!ok) {
		session_send_error(s, j->request_id,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the deadlines "
		    "could not be read: the audit store is unavailable");
		job_free(j);
		return;
	}
	n = store_result_nrows(r);
	if (n > 0 && ((v = calloc(n, sizeof(*v))) == NULL ||
	    (pv = calloc(n, sizeof(*pv))) == NULL)) {
		free(v);
		session_send_error(s, j->request_id,
		    NWD__V1__ERROR_CODE__ERROR_INTERNAL, "out of memory");
		job_free(j);
		return;
	}
	for (i = 0; i < n; i++) {
		if (!visible(j, s, store_result_value(r, i, 1), now))
			continue;
		nwd__v1__deadline_info__init(&v[k]);
		v[k].message_id = (char *)store_result_value(r, i, 0);
		v[k].subject = (char *)store_result_value(r, i, 1);
		v[k].kind = (Nwd__V1__Kind)num(r, i, 2);
		v[k].rule = (char *)store_result_value(r, i, 3);
		v[k].start_unix_ms = num(r, i, 4);
		v[k].due_unix_ms = num(r, i, 5);
		state = store_result_value(r, i, 6);
		/* Due and not yet escalated: overdue, whatever the row says. */
		if (strcmp(state, "open") == 0 && v[k].due_unix_ms <= now)
			state = "overdue";
		v[k].state = (char *)state;
		v[k].escalations = (uint32_t)num(r, i, 7);
		v[k].met_unix_ms = num(r, i, 8);
		v[k].met_by = (char *)store_result_value(r, i, 9);
		v[k].note = (char *)store_result_value(r, i, 10);
		v[k].sender = (char *)store_result_value(r, i, 11);
		pv[k] = &v[k];
		k++;
	}
	list.deadlines = pv;
	list.n_deadlines = k;
	f.request_id = j->request_id;
	f.msg_case = NWD__V1__FRAME__MSG_DEADLINE_LIST;
	f.deadline_list = &list;
	/* Who looked at which clocks is on the record. */
	o = session_origin(s);
	snprintf(reason, sizeof(reason), "deadlines: %s; %zu shown", j->desc,
	    k);
	trail_session(j->srv->store, &o, AUDIT_AUDIT_QUERY, s->principal->id,
	    reason);
	session_send(s, &f);
	free(pv);
	free(v);
	job_free(j);
}

void
overdue_handle(struct server *srv, struct session *s, uint64_t request_id,
    const Nwd__V1__DeadlineQuery *q)
{
	struct job	*j;
	uint32_t	 limit = q->limit == 0 ? OVERDUE_LIMIT : q->limit;

	if (limit > OVERDUE_MAX) {
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_LIMIT, "a deadline query shows "
		    "at most %d deadlines", OVERDUE_MAX);
		return;
	}
	if ((q->subject[0] != '\0' && !envelope_subject_ok(q->subject)) ||
	    (q->team[0] != '\0' && !policy_team_known(srv->policy, srv->ids,
	    q->team))) {
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE, "%s",
		    q->subject[0] != '\0' && !envelope_subject_ok(q->subject) ?
		    "the subject is not a young person's identifier" :
		    "no principal of the mapping has that team");
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (q->team[0] != '\0' && (j->team = strdup(q->team)) == NULL)) {
		job_free(j);
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_INTERNAL, "out of memory");
		return;
	}
	j->srv = srv;
	j->session_id = s->id;
	j->request_id = request_id;
	j->sees_all = strcmp(s->principal->role, OVERDUE_AUDITOR) == 0 ||
	    policy_is_duty(srv->policy, s->principal->id);
	snprintf(j->desc, sizeof(j->desc), "subject=%s rule=%s team=%s%s "
	    "limit=%" PRIu32 "%s", q->subject[0] != '\0' ? q->subject : "*",
	    q->rule[0] != '\0' ? q->rule : "*", q->team[0] != '\0' ? q->team :
	    "*", q->all ? " all" : "", limit, j->sees_all ? "" : " (those "
	    "allocated to the asker)");
	if (store_query_deadlines(srv->store, q->subject[0] != '\0' ?
	    q->subject : NULL, q->rule[0] != '\0' ? q->rule : NULL, q->all,
	    limit, answered, j) == -1) {
		job_free(j);
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the deadlines "
		    "could not be read: the audit store is unavailable");
	}
}
