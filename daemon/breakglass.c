/*
 * breakglass: emergency access, reviewed.  See breakglass.h.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "breakglass.h"
#include "clock.h"
#include "config.h"
#include "consents.h"
#include "decide.h"
#include "envelope.h"
#include "frame.h"
#include "grant.h"
#include "identity.h"
#include "log.h"
#include "policy.h"
#include "seal.h"
#include "server.h"
#include "session.h"
#include "store.h"
#include "trail.h"
#include "uuid.h"

#define BREAKGLASS_AUDITOR	"auditor"	/* the role that reviews */
#define BREAKGLASS_REASON_MAX	1000		/* bytes of a reason */
#define BREAKGLASS_NOTE_MAX	2000		/* bytes of a review note */
#define BREAKGLASS_MAX_LIVE	16		/* live grants of one principal */

struct breakglass {
	struct server		*srv;		/* borrowed */
	struct grant_table	*table;		/* owned */
	sysmsg_send_fn		*send;
	void			*send_arg;
};

/*
 * A request waiting for the store: a claim or an end (its rows commit
 * with the alert), a history (its rows, then the answer), or a review
 * query.  Strings owned.
 */
struct job {
	struct server		*srv;		/* borrowed */
	uint64_t		 session_id;
	uint64_t		 request_id;
	char			*actor;		/* the asking principal */
	char			*role;
	char			*sname;		/* its session's name, peer */
	char			*peer;
	int			 op;		/* Nwd__V1__BreakGlass__Op or
						   Review op + 100 */
	struct grant		 g;		/* claim, end: the grant */
	char			 gid[GRANT_ID_LEN];
	char			*subject, *rule, *reason, *note, *outcome;
	char			*grantee, *grantee_role; /* revoking another's */
	int			 revoke;	/* end: by an auditor */
	int			 all;		/* review list: closed too */
	Nwd__V1__BreakGlassResult *result;	/* history: the answer */
	uint8_t			*info;		/* review show: the grant, a
						   packed GrantInfo */
	size_t			 infolen;
	char			 version[POLICY_VERSION_LEN];
};

static void
job_free(struct job *j)
{
	size_t i;

	if (j == NULL)
		return;
	free(j->actor);
	free(j->role);
	free(j->sname);
	free(j->peer);
	free(j->subject);
	free(j->rule);
	free(j->reason);
	free(j->note);
	free(j->outcome);
	free(j->grantee);
	free(j->grantee_role);
	free(j->info);
	if (j->result != NULL) {
		for (i = 0; i < j->result->n_history; i++) {
			Nwd__V1__Deliver *d = j->result->history[i];

			nwd__v1__envelope__free_unpacked(d->envelope, NULL);
			if (d->fields_withheld != NULL)
				free(d->fields_withheld[0]);
			free(d->fields_withheld);
			free(d->rule);
			free(d);
		}
		free(j->result->history);
		free(j->result);
	}
	free(j);
}

static struct job *
job_new(struct server *srv, struct session *s, uint64_t request_id, int op)
{
	struct job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->srv = srv;
	j->session_id = s->id;
	j->request_id = request_id;
	j->op = op;
	if ((j->actor = strdup(s->principal->id)) == NULL ||
	    (j->role = strdup(s->principal->role)) == NULL ||
	    (j->sname = strdup(session_name(s))) == NULL ||
	    (j->peer = strdup(s->peer)) == NULL) {
		job_free(j);
		return NULL;
	}
	snprintf(j->version, sizeof(j->version), "%s",
	    policy_version(srv->policy));
	return j;
}

static struct trail_origin
job_origin(const struct job *j)
{
	struct trail_origin o = { j->sname, j->peer[0] != '\0' ? j->peer :
	    NULL };

	return o;
}

struct breakglass *
breakglass_new(struct server *srv)
{
	struct breakglass *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->srv = srv;
	if ((b->table = grant_table_new()) == NULL) {
		free(b);
		return NULL;
	}
	return b;
}

void
breakglass_free(struct breakglass *b)
{
	if (b == NULL)
		return;
	grant_table_free(b->table);
	free(b);
}

void
breakglass_set_sender(struct breakglass *b, sysmsg_send_fn *send, void *arg)
{
	b->send = send;
	b->send_arg = arg;
}

const struct grant_table *
breakglass_grants(const struct breakglass *b)
{
	return b != NULL ? b->table : NULL;
}

static int64_t
num(const struct store_result *r, size_t row, int col)
{
	const char *v = store_result_value(r, row, col);

	return v != NULL && *v != '\0' ? strtoll(v, NULL, 10) : 0;
}

/* A kinds mask from "1,3,12". */
static uint32_t
kinds_of(const char *csv)
{
	uint32_t	 m = 0;
	long		 k;
	char		*end;

	while (csv != NULL && *csv != '\0') {
		k = strtol(csv, &end, 10);
		if (end == csv)
			break;
		if (k > 0 && k < 32)
			m |= 1u << k;
		csv = *end == ',' ? end + 1 : end;
	}
	return m;
}

/* "2027-01-04 13:00 UTC" */
static void
when(int64_t ms, char *out, size_t outlen)
{
	time_t		t = (time_t)(ms / 1000);
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(out, outlen, "%Y-%m-%d %H:%M UTC", &tm);
}

/* "4h", "90m", "1h30m" */
static void
span(int64_t ms, char *out, size_t outlen)
{
	int64_t m = ms / 60000;

	if (m % 60 == 0)
		snprintf(out, outlen, "%" PRId64 "h", m / 60);
	else if (m < 60)
		snprintf(out, outlen, "%" PRId64 "m", m);
	else
		snprintf(out, outlen, "%" PRId64 "h%" PRId64 "m", m / 60,
		    m % 60);
}

static void
loaded(int ok, const struct store_result *r, void *arg)
{
	struct breakglass	*b = arg;
	struct grant		 g;
	size_t			 i, n;

	if (!ok) {
		log_warnx("event=grants_not_loaded reason=\"the query failed\"; "
		    "read again when the store is ready again");
		return;
	}
	grant_table_clear(b->table);
	n = store_result_nrows(r);
	for (i = 0; i < n; i++) {
		memset(&g, 0, sizeof(g));
		g.id = store_result_value(r, i, 0);
		g.principal = store_result_value(r, i, 1);
		g.role = store_result_value(r, i, 2);
		g.subject = store_result_value(r, i, 3);
		g.rule = store_result_value(r, i, 4);
		g.kinds = kinds_of(store_result_value(r, i, 6));
		g.from_ms = num(r, i, 7);
		g.until_ms = num(r, i, 8);
		g.ended_ms = num(r, i, 9);
		if (grant_table_put(b->table, &g) == -1) {
			log_warnx("event=grants_not_loaded reason=\"out of "
			    "memory\"");
			break;
		}
	}
	log_info("event=grants_loaded live=%zu", grant_table_count(b->table));
}

void
breakglass_load(struct breakglass *b)
{
	if (b != NULL && store_query_grants(b->srv->store, NULL, 0,
	    clock_wall_ms(), loaded, b) == -1)
		log_warnx("event=grants_not_loaded reason=\"the audit store is "
		    "not ready\"");
}

/* ------------------------------------------------------------------------
 * Rows and answers
 */

/* A row of action by actor about the grant gid (may be ""), subject (may
 * be NULL or unsound: then not recorded), with rule and reason. */
static struct audit_event *
row(const struct trail_origin *o, enum audit_action a, const char *actor,
    const char *subject, const char *rule, const char *reason)
{
	struct audit_event *ev;

	if ((ev = trail_event(o, a, actor)) == NULL)
		return NULL;
	if ((subject != NULL && envelope_subject_ok(subject) &&
	    audit_event_set(ev, AUDIT_F_SUBJECT, subject) == -1) ||
	    (rule != NULL && rule[0] != '\0' &&
	    audit_event_set(ev, AUDIT_F_RULE, rule) == -1) ||
	    (reason != NULL && audit_event_set(ev, AUDIT_F_REASON,
	    reason) == -1)) {
		audit_event_free(ev);
		return NULL;
	}
	return ev;
}

/* Refuses a request of s: the error, and its audit row. */
static void
refuse(struct server *srv, struct session *s, uint64_t request_id,
    enum audit_action a, Nwd__V1__ErrorCode code, const char *subject,
    const char *rule, const char *what, const char *why)
{
	struct trail_origin o = session_origin(s);

	session_send_error(s, request_id, code, "%s refused: %s", what, why);
	session_log(info, s, "event=%s reason=\"%s\"", audit_action_name(a),
	    why);
	trail_detached(srv->store, row(&o, a, s->principal->id, subject, rule,
	    why));
}

/* The same, for a request whose session may have gone meanwhile. */
static void
refuse_job(struct job *j, enum audit_action a, Nwd__V1__ErrorCode code,
    const char *rule, const char *what, const char *why)
{
	struct session		*s = session_find(j->srv, j->session_id);
	struct trail_origin	 o = job_origin(j);

	if (s != NULL)
		session_send_error(s, j->request_id, code, "%s refused: %s",
		    what, why);
	trail_detached(j->srv->store, row(&o, a, j->actor, j->subject, rule,
	    why));
}

/* "breakglass:RULE grant=ID", what every row about a grant names. */
static void
grant_tag(char *out, size_t outlen, const char *rule, const char *id)
{
	snprintf(out, outlen, "breakglass:%s " DECIDE_GRANT_TAG "%s", rule, id);
}

/* The kinds of a mask, as a repeated Kind field (caller frees *v). */
static int
kinds_field(uint32_t mask, Nwd__V1__Kind **v, size_t *n)
{
	int k;

	*n = 0;
	if ((*v = calloc(32, sizeof(**v))) == NULL)
		return -1;
	for (k = 1; k < 32; k++)
		if (mask & (1u << k))
			(*v)[(*n)++] = (Nwd__V1__Kind)k;
	return 0;
}

/* "risk_alert, missing_episode" */
static void
kinds_text(uint32_t mask, char *out, size_t outlen)
{
	const char	*name;
	size_t		 n = 0;
	int		 k;

	out[0] = '\0';
	for (k = 1; k < 32 && n < outlen; k++)
		if ((mask & (1u << k)) &&
		    (name = envelope_kind_name(k)) != NULL)
			n += snprintf(out + n, outlen - n, "%s%s",
			    n > 0 ? ", " : "", name);
}

static const char *
grant_state(const struct grant *g, int64_t now)
{
	if (g->ended_ms != 0 && g->ended_ms < g->until_ms)
		return "ended";
	return now < g->until_ms ? "live" : "expired";
}

/* A GrantInfo borrowing g's strings; kinds allocated (free info->kinds). */
static int
info_of_grant(Nwd__V1__GrantInfo *info, const struct grant *g,
    const char *reason)
{
	nwd__v1__grant_info__init(info);
	info->grant_id = (char *)g->id;
	info->principal = (char *)g->principal;
	info->role = (char *)g->role;
	info->subject = (char *)g->subject;
	info->rule = (char *)g->rule;
	info->reason = (char *)(reason != NULL ? reason : "");
	info->from_unix_ms = g->from_ms;
	info->until_unix_ms = g->until_ms;
	info->ended_unix_ms = g->ended_ms;
	info->state = (char *)grant_state(g, clock_wall_ms());
	info->review = (char *)"open";
	return kinds_field(g->kinds, &info->kinds, &info->n_kinds);
}

/* A GrantInfo borrowing row i of a store_query_grants() result. */
static int
info_of_row(Nwd__V1__GrantInfo *info, const struct store_result *r, size_t i)
{
	struct grant g;

	memset(&g, 0, sizeof(g));
	g.id = store_result_value(r, i, 0);
	g.principal = store_result_value(r, i, 1);
	g.role = store_result_value(r, i, 2);
	g.subject = store_result_value(r, i, 3);
	g.rule = store_result_value(r, i, 4);
	g.kinds = kinds_of(store_result_value(r, i, 6));
	g.from_ms = num(r, i, 7);
	g.until_ms = num(r, i, 8);
	g.ended_ms = num(r, i, 9);
	if (info_of_grant(info, &g, store_result_value(r, i, 5)) == -1)
		return -1;
	info->ended_by = (char *)store_result_value(r, i, 10);
	if (info->ended_unix_ms != 0 && strcmp(info->state, "ended") == 0 &&
	    strcmp(info->ended_by, info->principal) != 0)
		info->state = (char *)"revoked";
	info->review = (char *)store_result_value(r, i, 11);
	info->outcome = (char *)store_result_value(r, i, 12);
	info->note = (char *)store_result_value(r, i, 13);
	info->reviewed_by = (char *)store_result_value(r, i, 14);
	info->reviewed_unix_ms = num(r, i, 15);
	info->deliveries = (uint32_t)num(r, i, 16);
	return 0;
}

/* ------------------------------------------------------------------------
 * Claim and end: the grant's rows commit with the alert
 */

/* The alert's rows: the grant (claim) or its end, and the audit row. */
static int
alert_rows(struct store_batch *batch, const char *alert_mid, void *arg)
{
	struct job		*j = arg;
	struct trail_origin	 o = job_origin(j);
	struct store_grant	 sg;
	struct audit_event	*ev;
	char			 tag[320], why[1500], from[40], until[40];
	char			 kinds[400], len[24];
	const struct grant	*g = &j->g;

	grant_tag(tag, sizeof(tag), g->rule, g->id);
	if (j->op == NWD__V1__BREAK_GLASS__OP__CLAIM) {
		memset(&sg, 0, sizeof(sg));
		sg.id = g->id;
		sg.principal = g->principal;
		sg.role = g->role;
		sg.subject = g->subject;
		sg.rule = g->rule;
		sg.reason = j->reason;
		sg.kinds = g->kinds;
		sg.from_ms = g->from_ms;
		sg.until_ms = g->until_ms;
		sg.policy_version = j->version;
		sg.instance = j->srv->cfg->instance;
		if (store_batch_add_grant(batch, &sg) == -1 ||
		    store_batch_add_change(batch, "grant", g->id) == -1)
			return -1;
		when(g->from_ms, from, sizeof(from));
		when(g->until_ms, until, sizeof(until));
		span(g->until_ms - g->from_ms, len, sizeof(len));
		kinds_text(g->kinds, kinds, sizeof(kinds));
		snprintf(why, sizeof(why), "emergency access for %s, %s to %s, "
		    "to %s; auditors alerted (message %s); reason given: %s",
		    len, from, until, kinds, alert_mid, j->reason);
		ev = row(&o, AUDIT_BREAKGLASS_GRANTED, j->actor, g->subject,
		    tag, why);
	} else {
		if (store_batch_grant_end(batch, g->id, j->actor,
		    g->ended_ms) == -1 ||
		    store_batch_add_change(batch, "grant", g->id) == -1)
			return -1;
		snprintf(why, sizeof(why), "%s by %s before its expiry; "
		    "auditors alerted (message %s)", j->revoke ? "revoked" :
		    "ended", j->actor, alert_mid);
		ev = row(&o, AUDIT_BREAKGLASS_ENDED, j->actor, g->subject, tag,
		    why);
	}
	if (ev == NULL)
		return -1;
	return store_batch_add_event(batch, ev);
}

static void
answer_grant(struct job *j, struct session *s)
{
	Nwd__V1__Frame			f = NWD__V1__FRAME__INIT;
	Nwd__V1__BreakGlassResult	res = NWD__V1__BREAK_GLASS_RESULT__INIT;
	Nwd__V1__GrantInfo		info;

	if (info_of_grant(&info, &j->g, j->reason) == -1) {
		session_send_error(s, j->request_id,
		    NWD__V1__ERROR_CODE__ERROR_INTERNAL, "out of memory");
		return;
	}
	if (j->op == NWD__V1__BREAK_GLASS__OP__END) {
		info.state = (char *)(j->revoke ? "revoked" : "ended");
		info.ended_by = j->actor;
	}
	res.grant = &info;
	f.request_id = j->request_id;
	f.msg_case = NWD__V1__FRAME__MSG_BREAKGLASS_RESULT;
	f.breakglass_result = &res;
	session_send(s, &f);
	free(info.kinds);
}

static void
alert_done(int committed, void *arg)
{
	struct job		*j = arg;
	struct breakglass	*b = j->srv->breakglass;
	struct session		*s = session_find(j->srv, j->session_id);
	int			 claim = j->op == NWD__V1__BREAK_GLASS__OP__CLAIM;

	if (!committed) {
		log_warnx("grant=%s principal=%s event=breakglass_not_%s "
		    "reason=\"its transaction did not commit\"", j->g.id,
		    j->actor, claim ? "granted" : "ended");
		if (s != NULL)
			session_send_error(s, j->request_id,
			    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "break-glass "
			    "%s not recorded: the audit store did not commit "
			    "it, so nothing changed", claim ? "grant" : "end");
		job_free(j);
		return;
	}
	/* Only now does the grant open, or close, anything. */
	if (claim) {
		/* What no longer opens anything is forgotten. */
		grant_table_prune(b->table, clock_wall_ms());
		if (grant_table_put(b->table, &j->g) == -1)
			log_warnx("grant=%s event=grant_not_kept reason=\"out "
			    "of memory; read again at the next connect\"",
			    j->g.id);
		log_info("grant=%s principal=%s event=breakglass_granted "
		    "subject=%s rule=%s until=%" PRId64, j->g.id, j->actor,
		    log_subject(j->g.subject), j->g.rule, j->g.until_ms);
	} else {
		grant_table_end(b->table, j->g.id, j->g.ended_ms);
		log_info("grant=%s principal=%s event=breakglass_ended "
		    "revoked=%d", j->g.id, j->actor, j->revoke);
	}
	if (s != NULL)
		answer_grant(j, s);
	job_free(j);
}

/* An end whose alert could not be published: its rows alone. */
static void
end_done(enum store_outcome outcome, void *arg)
{
	alert_done(outcome == STORE_COMMITTED, arg);
}

static void
free_set(char *s)
{
	if (s != NULL && s != protobuf_c_empty_string)
		free(s);
}

/* The BreakGlassAlert of j's grant, sent with its rows.  0, or -1. */
static int
send_alert(struct job *j, Nwd__V1__BreakGlassAlert__Event event)
{
	struct breakglass		*b = j->srv->breakglass;
	Nwd__V1__Envelope		 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header			 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef		 subj = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__BreakGlassAlert	 a = NWD__V1__BREAK_GLASS_ALERT__INIT;
	int				 rc;

	if (b->send == NULL)
		return -1;
	subj.local_id = (char *)j->g.subject;
	h.kind = NWD__V1__KIND__BREAK_GLASS_ALERT;
	h.subject = &subj;
	h.marking = NWD__V1__MARKING__OFFICIAL;
	h.priority = NWD__V1__PRIORITY__HIGH;
	h.legal_basis = NWD__V1__LEGAL_BASIS__SAFEGUARDING;
	a.grant_id = (char *)j->g.id;
	a.event = event;
	a.principal = (char *)j->g.principal;
	a.role = (char *)j->g.role;
	a.reason = j->reason != NULL ? j->reason : (char *)"";
	a.from_unix_ms = j->g.from_ms;
	a.until_unix_ms = j->g.until_ms;
	a.rule = (char *)j->g.rule;
	if (kinds_field(j->g.kinds, &a.kinds, &a.n_kinds) == -1)
		return -1;
	env.header = &h;
	env.body_case = NWD__V1__ENVELOPE__BODY_BREAK_GLASS_ALERT;
	env.break_glass_alert = &a;
	rc = b->send(&env, alert_rows, alert_done, j, b->send_arg);
	free(a.kinds);
	/* The broker set these over the header (decide.h): ours to free. */
	free_set(h.message_id);
	free_set(h.sender);
	free_set(h.originating_agency);
	return rc;
}

/* Sets the job's grant strings (owned by the job). */
static int
job_grant(struct job *j, const char *id, const char *principal,
    const char *role, const char *subject, const char *rule)
{
	snprintf(j->gid, sizeof(j->gid), "%s", id);
	j->g.id = j->gid;
	j->g.principal = j->actor;
	j->g.role = j->role;
	if (strcmp(principal, j->actor) != 0 || strcmp(role, j->role) != 0) {
		/* An auditor revoking another's grant. */
		if ((j->grantee = strdup(principal)) == NULL ||
		    (j->grantee_role = strdup(role)) == NULL)
			return -1;
		j->g.principal = j->grantee;
		j->g.role = j->grantee_role;
	}
	if ((j->subject = strdup(subject)) == NULL ||
	    (j->rule = strdup(rule)) == NULL)
		return -1;
	j->g.subject = j->subject;
	j->g.rule = j->rule;
	return 0;
}

/* 1 if s holds something other than white space. */
static int
has_text(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if (!isspace((unsigned char)*s))
			return 1;
	return 0;
}

static void
claim(struct server *srv, struct session *s, uint64_t request_id,
    const Nwd__V1__BreakGlass *q)
{
	const struct principal	*p = s->principal;
	struct policy_breakglass rule;
	struct job		*j;
	Nwd__V1__Kind		 k;
	uint32_t		 kinds = 0;
	char			 why[600], want[24], most[24], id[UUID_STR_LEN];
	int64_t			 now = clock_wall_ms();
	size_t			 i;

#define REFUSE(code, r, ...) do {					\
	snprintf(why, sizeof(why), __VA_ARGS__);			\
	refuse(srv, s, request_id, AUDIT_BREAKGLASS_REFUSED, (code),	\
	    q->subject, (r), "break-glass", why);			\
	return;								\
} while (0)

	if (!envelope_subject_ok(q->subject))
		REFUSE(NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE, NULL,
		    "%s", q->subject[0] == '\0' ? "a subject is required "
		    "(--subject ID): emergency access is to one young person" :
		    "the subject is not a young person's identifier");
	if (!policy_breakglass_for(srv->policy, p->role, &rule))
		REFUSE(NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, NULL, "no "
		    "breakglass rule of the policy lets role %s claim emergency "
		    "access", p->role);
	if (!has_text(q->reason))
		REFUSE(NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE, rule.rule,
		    "a reason is required (--reason TEXT): say why emergency "
		    "access to %s is needed", q->subject);
	if (strlen(q->reason) > BREAKGLASS_REASON_MAX)
		REFUSE(NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE, rule.rule,
		    "the reason is longer than %d bytes",
		    BREAKGLASS_REASON_MAX);
	span(rule.max_ms, most, sizeof(most));
	if (q->duration_ms <= 0)
		REFUSE(NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE, rule.rule,
		    "a duration is required (--for, e.g. 4h; breakglass rule %s "
		    "allows at most %s)", rule.rule, most);
	if (q->duration_ms > rule.max_ms) {
		span(q->duration_ms, want, sizeof(want));
		REFUSE(NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, rule.rule, "%s is "
		    "longer than breakglass rule %s allows (at most %s)", want,
		    rule.rule, most);
	}
	for (i = 0; i < q->n_kinds; i++) {
		if (envelope_kind_from_name(q->kinds[i], &k) == -1)
			REFUSE(NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE,
			    rule.rule, "unknown kind \"%.80s\" (kinds are the "
			    "Envelope body names, e.g. risk_alert)",
			    q->kinds[i]);
		if (!(rule.kinds & (1u << k)))
			REFUSE(NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, rule.rule,
			    "breakglass rule %s does not cover kind %s",
			    rule.rule, q->kinds[i]);
		kinds |= 1u << k;
	}
	if (kinds == 0)
		kinds = rule.kinds;
	if (grant_count_live(srv->breakglass->table, p->id, now) >=
	    BREAKGLASS_MAX_LIVE)
		REFUSE(NWD__V1__ERROR_CODE__ERROR_LIMIT, rule.rule, "%s holds "
		    "%d live grants already, the most one principal may; end "
		    "one first (nwd breakglass --end GRANT)", p->id,
		    BREAKGLASS_MAX_LIVE);
	if (store_get_state(srv->store) != STORE_READY)
		REFUSE(NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, rule.rule, "the "
		    "audit store is unavailable, so no emergency access can be "
		    "granted; try again later");
#undef REFUSE
	if ((j = job_new(srv, s, request_id, NWD__V1__BREAK_GLASS__OP__CLAIM))
	    == NULL || uuid_generate_v4(id) == -1 ||
	    job_grant(j, id, p->id, p->role, q->subject, rule.rule) == -1 ||
	    (j->reason = strdup(q->reason)) == NULL) {
		job_free(j);
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_INTERNAL, "out of memory");
		return;
	}
	j->g.kinds = kinds;
	j->g.from_ms = now;
	j->g.until_ms = now + q->duration_ms;
	/* No grant unless the auditors are told, in the same transaction. */
	if (send_alert(j, NWD__V1__BREAK_GLASS_ALERT__EVENT__GRANTED) == -1) {
		job_free(j);
		snprintf(why, sizeof(why), "the auditors could not be alerted "
		    "(the alert could not be published now), so no emergency "
		    "access was granted");
		refuse(srv, s, request_id, AUDIT_BREAKGLASS_REFUSED,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, q->subject,
		    rule.rule, "break-glass", why);
	}
}

static void
end_grant(struct server *srv, struct session *s, uint64_t request_id,
    const Nwd__V1__BreakGlass *q)
{
	struct breakglass	*b = srv->breakglass;
	const struct grant	*g;
	struct job		*j;
	char			 why[320], tag[320];
	int64_t			 now = clock_wall_ms();
	int			 auditor;

	auditor = strcmp(s->principal->role, BREAKGLASS_AUDITOR) == 0;
	if (!envelope_is_uuid(q->grant_id)) {
		refuse(srv, s, request_id, AUDIT_BREAKGLASS_REFUSED,
		    NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE, NULL, NULL,
		    "break-glass end", "a grant id (a UUID) is required");
		return;
	}
	g = grant_table_find(b->table, q->grant_id);
	grant_tag(tag, sizeof(tag), g != NULL ? g->rule : "?", q->grant_id);
	if (g == NULL || !grant_live(g, now) ||
	    (!auditor && strcmp(g->principal, s->principal->id) != 0)) {
		snprintf(why, sizeof(why), "no live grant %s of yours%s",
		    q->grant_id, auditor ? " or anyone's" : "");
		refuse(srv, s, request_id, AUDIT_BREAKGLASS_REFUSED,
		    NWD__V1__ERROR_CODE__ERROR_NOT_FOUND, g != NULL ?
		    g->subject : NULL, tag, "break-glass end", why);
		return;
	}
	if ((j = job_new(srv, s, request_id, NWD__V1__BREAK_GLASS__OP__END)) ==
	    NULL || job_grant(j, g->id, g->principal, g->role, g->subject,
	    g->rule) == -1) {
		job_free(j);
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_INTERNAL, "out of memory");
		return;
	}
	j->g.kinds = g->kinds;
	j->g.from_ms = g->from_ms;
	j->g.until_ms = g->until_ms;
	j->g.ended_ms = now;
	j->revoke = strcmp(g->principal, s->principal->id) != 0;
	/* Access closes now, for every session, whatever the store does
	 * next (failing closed); the rows record it when they commit. */
	grant_table_end(b->table, j->g.id, now);
	g = NULL;
	if (send_alert(j, j->revoke ? NWD__V1__BREAK_GLASS_ALERT__EVENT__REVOKED :
	    NWD__V1__BREAK_GLASS_ALERT__EVENT__ENDED) == 0)
		return;
	/* Ending access never waits for an alert: its rows alone. */
	{
		struct store_batch *batch = store_batch_new();

		if (batch == NULL || alert_rows(batch, "none: it could not "
		    "be published", j) == -1 || store_submit(srv->store,
		    batch, end_done, j) == -1) {
			store_batch_free(batch);
			job_free(j);
			session_send_error(s, request_id,
			    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "break-glass "
			    "end not recorded: the audit store is unavailable");
		}
	}
}

/* ------------------------------------------------------------------------
 * History
 */

/* Splits "a,b" into a new repeated string field (one allocation). */
static int
split_field(const char *csv, char ***v, size_t *n)
{
	char	*copy, *p;
	size_t	 k = 1;

	*v = NULL;
	*n = 0;
	if (csv == NULL || *csv == '\0')
		return 0;
	for (p = (char *)csv; *p != '\0'; p++)
		k += *p == ',';
	if ((copy = strdup(csv)) == NULL ||
	    (*v = calloc(k, sizeof(char *))) == NULL) {
		free(copy);
		return -1;
	}
	for (p = copy; p != NULL; ) {
		(*v)[(*n)++] = p;
		if ((p = strchr(p, ',')) != NULL)
			*p++ = '\0';
	}
	return 0;
}

static void
history_done(enum store_outcome outcome, void *arg)
{
	struct job		*j = arg;
	struct session		*s = session_find(j->srv, j->session_id);
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT;
	Nwd__V1__GrantInfo	 info;

	if (s == NULL) {
		job_free(j);
		return;
	}
	if (outcome != STORE_COMMITTED) {
		session_send_error(s, j->request_id,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the history was "
		    "not sent: the audit store did not commit its rows");
		job_free(j);
		return;
	}
	if (info_of_grant(&info, &j->g, NULL) == -1) {
		session_send_error(s, j->request_id,
		    NWD__V1__ERROR_CODE__ERROR_INTERNAL, "out of memory");
		job_free(j);
		return;
	}
	j->result->grant = &info;
	f.request_id = j->request_id;
	f.msg_case = NWD__V1__FRAME__MSG_BREAKGLASS_RESULT;
	f.breakglass_result = j->result;
	session_send(s, &f);
	j->result->grant = NULL;
	free(info.kinds);
	session_log(info, s, "event=breakglass_history grant=%s subject=%s "
	    "sent=%zu omitted=%u", j->g.id, log_subject(j->g.subject),
	    j->result->n_history, j->result->omitted);
	job_free(j);
}

/* Decides one stored message under the grant; its row into batch, and
 * the delivery into the answer if it is allowed and fits. */
static int
history_one(struct job *j, const struct principal *p,
    const struct decide_world *w, const struct store_result *r, size_t i,
    size_t *bytes, size_t budget, struct store_batch *batch)
{
	Nwd__V1__BreakGlassResult	*res = j->result;
	Nwd__V1__Envelope		*env = NULL;
	Nwd__V1__Deliver		*d = NULL;
	struct decide_entry		 e;
	struct seal_aad			 aad;
	struct trail_origin		 o = job_origin(j);
	struct audit_event		*ev;
	const char			*mid = store_result_value(r, i, 0);
	const char			*body = store_result_value(r, i, 9);
	const char			*key_id = store_result_value(r, i, 10);
	uint8_t				*plain;
	size_t				 plen;
	char				 err[160];
	int				 kind = (int)num(r, i, 1), rc = -1;

	memset(&e, 0, sizeof(e));
	if (kind <= 0 || kind > 31 || !(j->g.kinds & (1u << kind)) ||
	    body == NULL || key_id == NULL)
		return 0;	/* not opened by the grant, or purged */
	aad.message_id = mid;
	aad.subject = store_result_value(r, i, 2);
	aad.kind = kind;
	if ((plain = open_body(j->srv->sealer, key_id, &aad,
	    (const uint8_t *)body, store_result_length(r, i, 9), &plen, err,
	    sizeof(err))) == NULL) {
		log_warnx("message=%s grant=%s event=history_skipped "
		    "reason=\"%s\"", mid, j->g.id, err);
		return 0;
	}
	env = frame_decode_envelope(plain, plen, plen * 64 + 65536, err,
	    sizeof(err));
	explicit_bzero(plain, plen);
	free(plain);
	if (env == NULL || env->header == NULL ||
	    env->header->subject == NULL) {
		log_warnx("message=%s grant=%s event=history_skipped "
		    "reason=\"the stored body does not decode\"", mid, j->g.id);
		frame_free_envelope(env);
		return 0;
	}
	if (decide_grant(w, p, &j->g, env, DECIDE_PACK, &e) == -1)
		goto done;
	if (e.verdict == POLICY_ALLOW && (res->n_history > 0 &&
	    *bytes + e.len + 512 > budget)) {
		res->omitted++;
		rc = 0;
		goto done;
	}
	ev = trail_decision(&o, env->header->sender, e.verdict == POLICY_ALLOW ?
	    AUDIT_DELIVER : AUDIT_DELIVER_REFUSED, mid, env, p->id, e.rules,
	    e.reason, e.shared, e.withheld, e.verdict == POLICY_ALLOW ?
	    "live" : NULL, j->version);
	if (ev == NULL || store_batch_add_event(batch, ev) == -1)
		goto done;
	if (e.verdict != POLICY_ALLOW) {
		rc = 0;
		goto done;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		goto done;
	nwd__v1__deliver__init(d);
	res->history[res->n_history++] = d;
	if ((d->envelope = nwd__v1__envelope__unpack(NULL, e.len,
	    e.bytes)) == NULL || (d->rule = strdup(e.rules)) == NULL ||
	    split_field(e.withheld, &d->fields_withheld,
	    &d->n_fields_withheld) == -1)
		goto done;
	d->policy_version = j->version;
	*bytes += e.len + 512;
	rc = 0;
done:
	decide_entry_clear(&e);
	frame_free_envelope(env);
	return rc;
}

static void
history_read(int ok, const struct store_result *r, void *arg)
{
	struct job		*j = arg;
	struct server		*srv = j->srv;
	const struct principal	*p;
	struct decide_world	 w;
	struct store_batch	*batch = NULL;
	size_t			 i, n, bytes = 0, budget;

	if (!ok) {
		refuse_job(j, AUDIT_BREAKGLASS_REFUSED,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, NULL,
		    "break-glass history", "the messages could not be read: "
		    "the audit store is unavailable");
		job_free(j);
		return;
	}
	if (session_find(srv, j->session_id) == NULL ||
	    (p = identity_find_id(srv->ids, j->actor)) == NULL) {
		job_free(j);
		return;
	}
	n = store_result_nrows(r);
	memset(&w, 0, sizeof(w));
	w.policy = srv->policy;
	w.ids = srv->ids;
	w.allocs = srv->allocs;
	w.consents = consents_table(srv->consents);
	w.grants = srv->breakglass->table;
	w.now_ms = clock_wall_ms();
	budget = srv->cfg->max_frame > 2 * DECIDE_FRAME_HEADROOM ?
	    srv->cfg->max_frame - 2 * DECIDE_FRAME_HEADROOM : 65536;
	if ((j->result = calloc(1, sizeof(*j->result))) == NULL)
		goto oom;
	nwd__v1__break_glass_result__init(j->result);
	if (n > 0 && (j->result->history = calloc(n,
	    sizeof(*j->result->history))) == NULL)
		goto oom;
	if ((batch = store_batch_new()) == NULL)
		goto oom;
	for (i = 0; i < n; i++)
		if (history_one(j, p, &w, r, i, &bytes, budget, batch) == -1)
			goto oom;
	if (store_batch_nevents(batch) == 0) {
		store_batch_free(batch);
		history_done(STORE_COMMITTED, j);
		return;
	}
	if (store_submit(srv->store, batch, history_done, j) == -1) {
		store_batch_free(batch);
		refuse_job(j, AUDIT_BREAKGLASS_REFUSED,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, NULL,
		    "break-glass history", "the audit store is unavailable");
		job_free(j);
	}
	return;
oom:
	store_batch_free(batch);
	refuse_job(j, AUDIT_BREAKGLASS_REFUSED,
	    NWD__V1__ERROR_CODE__ERROR_INTERNAL, NULL, "break-glass history",
	    "out of memory");
	job_free(j);
}

static void
history(struct server *srv, struct session *s, uint64_t request_id,
    const Nwd__V1__BreakGlass *q)
{
	const struct grant	*g;
	struct job		*j;
	char			 why[320];

	if (!envelope_subject_ok(q->subject)) {
		refuse(srv, s, request_id, AUDIT_BREAKGLASS_REFUSED,
		    NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE, NULL, NULL,
		    "break-glass history", "a subject (a young person's "
		    "identifier) is required");
		return;
	}
	if ((g = grant_covering(srv->breakglass->table, s->principal->id,
	    q->subject, 0, clock_wall_ms())) == NULL) {
		snprintf(why, sizeof(why), "no live grant of yours covers %s; "
		    "claim break-glass first", q->subject);
		refuse(srv, s, request_id, AUDIT_BREAKGLASS_REFUSED,
		    NWD__V1__ERROR_CODE__ERROR_NOT_FOUND, q->subject, NULL,
		    "break-glass history", why);
		return;
	}
	if ((j = job_new(srv, s, request_id, NWD__V1__BREAK_GLASS__OP__HISTORY))
	    == NULL || job_grant(j, g->id, g->principal, g->role, g->subject,
	    g->rule) == -1) {
		job_free(j);
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_INTERNAL, "out of memory");
		return;
	}
	j->g.kinds = g->kinds;
	j->g.from_ms = g->from_ms;
	j->g.until_ms = g->until_ms;
	j->g.ended_ms = g->ended_ms;
	if (store_query_messages(srv->store, q->subject, NULL, 0,
	    history_read, j) == -1) {
		job_free(j);
		refuse(srv, s, request_id, AUDIT_BREAKGLASS_REFUSED,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, q->subject, NULL,
		    "break-glass history", "the audit store is unavailable");
	}
}

void
breakglass_handle(struct server *srv, struct session *s, uint64_t request_id,
    const Nwd__V1__BreakGlass *q)
{
	switch (q->op) {
	case NWD__V1__BREAK_GLASS__OP__CLAIM:
		claim(srv, s, request_id, q);
		break;
	case NWD__V1__BREAK_GLASS__OP__END:
		end_grant(srv, s, request_id, q);
		break;
	case NWD__V1__BREAK_GLASS__OP__HISTORY:
		history(srv, s, request_id, q);
		break;
	default:
		refuse(srv, s, request_id, AUDIT_BREAKGLASS_REFUSED,
		    NWD__V1__ERROR_CODE__ERROR_PROTOCOL, NULL, NULL,
		    "break-glass", "the request names no operation (claim, end "
		    "or history)");
		break;
	}
}

/* ------------------------------------------------------------------------
 * The review queue
 */

#define REVIEW_OP(op)	(100 + (op))

/* The bytes one answer may hold: a frame, less room around it. */
static size_t
budget(const struct job *j)
{
	uint32_t max = j->srv->cfg->max_frame;

	return max > 2 * DECIDE_FRAME_HEADROOM ? max - 2 *
	    DECIDE_FRAME_HEADROOM : 65536;
}

/* Answers a review query with the grants of r (and events, if any). */
static void
review_answer(struct job *j, struct session *s, const struct store_result *r,
    Nwd__V1__AuditEvent **events, size_t nevents)
{
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT;
	Nwd__V1__ReviewResult	 res = NWD__V1__REVIEW_RESULT__INIT;
	Nwd__V1__GrantInfo	*v = NULL, **pv = NULL;
	size_t			 i, n = store_result_nrows(r), size = 0;

	if (n > 0 && ((v = calloc(n, sizeof(*v))) == NULL ||
	    (pv = calloc(n, sizeof(*pv))) == NULL))
		goto oom;
	for (i = 0; i < n; i++) {
		if (info_of_row(&v[i], r, i) == -1)
			goto oom;
		pv[i] = &v[i];
		res.n_grants = i + 1;
		/* One frame: what does not fit is counted, not sent. */
		size += nwd__v1__grant_info__get_packed_size(&v[i]) + 8;
		if (size > budget(j)) {
			free(v[i].kinds);
			res.n_grants = i;
			res.omitted = (uint32_t)(n - i);
			break;
		}
	}
	res.grants = pv;
	res.events = events;
	res.n_events = nevents;
	f.request_id = j->request_id;
	f.msg_case = NWD__V1__FRAME__MSG_REVIEW_RESULT;
	f.review_result = &res;
	session_send(s, &f);
	goto done;
oom:
	session_send_error(s, j->request_id,
	    NWD__V1__ERROR_CODE__ERROR_INTERNAL, "out of memory");
done:
	for (i = 0; i < res.n_grants; i++)
		free(v[i].kinds);
	free(pv);
	free(v);
}

/* A closed review: the grant as it is now is the answer. */
static void
closed_read(int ok, const struct store_result *r, void *arg)
{
	struct job	*j = arg;
	struct session	*s = session_find(j->srv, j->session_id);

	if (s != NULL && ok)
		review_answer(j, s, r, NULL, 0);
	else if (s != NULL)
		session_send_error(s, j->request_id,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the review was "
		    "closed, but the grant could not be read back");
	job_free(j);
}

static void
close_done(enum store_outcome outcome, void *arg)
{
	struct job	*j = arg;
	struct session	*s = session_find(j->srv, j->session_id);

	if (outcome != STORE_COMMITTED) {
		/* Another auditor closed it first (NW005), or the store
		 * went away: nothing was closed. */
		if (s != NULL)
			session_send_error(s, j->request_id,
			    outcome == STORE_FAILED ?
			    NWD__V1__ERROR_CODE__ERROR_CONFLICT :
			    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "review "
			    "close refused: %s", outcome == STORE_FAILED ?
			    "the review was closed meanwhile" : "the audit "
			    "store did not commit it");
		job_free(j);
		return;
	}
	log_info("grant=%s principal=%s event=review_closed outcome=%s",
	    j->gid, j->actor, j->outcome);
	if (s == NULL || store_query_grants(j->srv->store, j->gid, 0, 0,
	    closed_read, j) == -1) {
		if (s != NULL)
			session_send_error(s, j->request_id,
			    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the review "
			    "was closed, but the grant could not be read back");
		job_free(j);
	}
}

/* The rows under a grant: with the grant read before, the answer. */
static void
show_rows(int ok, const struct store_result *r, void *arg)
{
	struct job		*j = arg;
	struct session		*s = session_find(j->srv, j->session_id);
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT;
	Nwd__V1__ReviewResult	 res = NWD__V1__REVIEW_RESULT__INIT;
	Nwd__V1__GrantInfo	*info = NULL;
	Nwd__V1__AuditEvent	*ev = NULL, **pev = NULL;
	size_t			 i, n, size = 0;

	if (s == NULL || !ok) {
		if (s != NULL)
			session_send_error(s, j->request_id,
			    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the "
			    "grant's rows could not be read: the audit store "
			    "is unavailable");
		job_free(j);
		return;
	}
	n = store_result_nrows(r);
	if ((info = nwd__v1__grant_info__unpack(NULL, j->infolen,
	    j->info)) == NULL || (n > 0 && ((ev = calloc(n,
	    sizeof(*ev))) == NULL || (pev = calloc(n,
	    sizeof(*pev))) == NULL))) {
		session_send_error(s, j->request_id,
		    NWD__V1__ERROR_CODE__ERROR_INTERNAL, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		nwd__v1__audit_event__init(&ev[i]);
		ev[i].id = num(r, i, 0);
		ev[i].instance = (char *)store_result_value(r, i, 1);
		ev[i].seq = num(r, i, 2);
		ev[i].at_unix_ms = num(r, i, 3);
#define COL(field, c) do {						\
	const char *v_ = store_result_value(r, i, (c));			\
	ev[i].field = (char *)(v_ != NULL ? v_ : "");			\
} while (0)
		COL(actor, 4);
		COL(action, 5);
		COL(message_id, 6);
		COL(subject, 7);
		ev[i].kind = (Nwd__V1__Kind)num(r, i, 8);
		COL(recipient, 9);
		COL(rule, 12);
		COL(policy_version, 13);
		COL(reason, 14);
		COL(route, 15);
#undef COL
		split_field(store_result_value(r, i, 10), &ev[i].fields_shared,
		    &ev[i].n_fields_shared);
		split_field(store_result_value(r, i, 11),
		    &ev[i].fields_withheld, &ev[i].n_fields_withheld);
		pev[i] = &ev[i];
		size += nwd__v1__audit_event__get_packed_size(&ev[i]) + 8;
		if (size > budget(j)) {
			res.omitted = (uint32_t)(n - i);
			i++;
			break;
		}
	}
	res.grants = &info;
	res.n_grants = 1;
	res.events = pev;
	res.n_events = i - (res.omitted > 0);
	f.request_id = j->request_id;
	f.msg_case = NWD__V1__FRAME__MSG_REVIEW_RESULT;
	f.review_result = &res;
	session_send(s, &f);
done:
	for (i = 0; ev != NULL && i < n; i++) {
		if (ev[i].fields_shared != NULL)
			free(ev[i].fields_shared[0]);
		free(ev[i].fields_shared);
		if (ev[i].fields_withheld != NULL)
			free(ev[i].fields_withheld[0]);
		free(ev[i].fields_withheld);
	}
	free(pev);
	free(ev);
	nwd__v1__grant_info__free_unpacked(info, NULL);
	job_free(j);
}

/* Keeps the grant of row 0 of r, packed, for show_rows(). */
static int
keep_info(struct job *j, const struct store_result *r)
{
	Nwd__V1__GrantInfo info;

	if (info_of_row(&info, r, 0) == -1)
		return -1;
	j->infolen = nwd__v1__grant_info__get_packed_size(&info);
	if ((j->info = malloc(j->infolen > 0 ? j->infolen : 1)) == NULL) {
		free(info.kinds);
		return -1;
	}
	nwd__v1__grant_info__pack(&info, j->info);
	free(info.kinds);
	return 0;
}

static void
review_read(int ok, const struct store_result *r, void *arg)
{
	struct job		*j = arg;
	struct session		*s = session_find(j->srv, j->session_id);
	struct trail_origin	 o = job_origin(j);
	struct store_batch	*batch = NULL;
	struct audit_event	*ev;
	char			 why[2800], tag[80], at[40];
	size_t			 n;

	if (s == NULL) {
		job_free(j);
		return;
	}
	if (!ok) {
		session_send_error(s, j->request_id,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the review queue "
		    "could not be read: the audit store is unavailable");
		job_free(j);
		return;
	}
	n = store_result_nrows(r);
	snprintf(tag, sizeof(tag), DECIDE_GRANT_TAG "%s", j->gid);
	if (j->op == REVIEW_OP(NWD__V1__REVIEW__OP__LIST)) {
		snprintf(why, sizeof(why), "review list (%s): %zu grants shown",
		    j->all ? "every grant" : "open reviews", n);
		trail_detached(j->srv->store, row(&o, AUDIT_REVIEW_QUERY,
		    j->actor, NULL, NULL, why));
		review_answer(j, s, r, NULL, 0);
		job_free(j);
		return;
	}
	if (n == 0) {
		snprintf(why, sizeof(why), "no grant %s", j->gid);
		refuse_job(j, AUDIT_REVIEW_REFUSED,
		    NWD__V1__ERROR_CODE__ERROR_NOT_FOUND, tag,
		    j->op == REVIEW_OP(NWD__V1__REVIEW__OP__SHOW) ?
		    "review show" : "review close", why);
		job_free(j);
		return;
	}
	if ((j->subject = strdup(store_result_value(r, 0, 3))) == NULL)
		goto oom;
	if (j->op == REVIEW_OP(NWD__V1__REVIEW__OP__SHOW)) {
		snprintf(why, sizeof(why), "review show of grant %s", j->gid);
		if (keep_info(j, r) == -1)
			goto oom;
		/* Audited before it is answered; the rows follow. */
		trail_detached(j->srv->store, row(&o, AUDIT_REVIEW_QUERY,
		    j->actor, j->subject, tag, why));
		if (store_query_grant_rows(j->srv->store, j->gid, show_rows,
		    j) == -1) {
			session_send_error(s, j->request_id,
			    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the "
			    "grant's rows could not be read: the audit store "
			    "is unavailable");
			job_free(j);
		}
		return;
	}
	/* Close: once. */
	if (strcmp(store_result_value(r, 0, 11), "open") != 0) {
		when(num(r, 0, 15), at, sizeof(at));
		snprintf(why, sizeof(why), "the review of grant %s was closed "
		    "already, %s, by %s (%s)", j->gid, at,
		    store_result_value(r, 0, 14), store_result_value(r, 0, 12));
		refuse_job(j, AUDIT_REVIEW_REFUSED,
		    NWD__V1__ERROR_CODE__ERROR_CONFLICT, tag, "review close",
		    why);
		job_free(j);
		return;
	}
	snprintf(why, sizeof(why), "review of grant %s (%s, %s, rule %s) "
	    "closed: %s; note: %s", j->gid, store_result_value(r, 0, 1),
	    store_result_value(r, 0, 3), store_result_value(r, 0, 4),
	    j->outcome, j->note);
	if ((batch = store_batch_new()) == NULL ||
	    store_batch_grant_review(batch, j->gid, j->outcome, j->note,
	    j->actor, clock_wall_ms()) == -1 ||
	    (ev = row(&o, AUDIT_REVIEW_CLOSED, j->actor, j->subject, tag,
	    why)) == NULL || store_batch_add_event(batch, ev) == -1)
		goto oom;
	if (store_submit(j->srv->store, batch, close_done, j) == -1) {
		store_batch_free(batch);
		session_send_error(s, j->request_id,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the review was "
		    "not closed: the audit store is unavailable");
		job_free(j);
	}
	return;
oom:
	store_batch_free(batch);
	session_send_error(s, j->request_id,
	    NWD__V1__ERROR_CODE__ERROR_INTERNAL, "out of memory");
	job_free(j);
}

void
breakglass_review(struct server *srv, struct session *s, uint64_t request_id,
    const Nwd__V1__Review *q)
{
	struct job	*j;
	const char	*what = q->op == NWD__V1__REVIEW__OP__CLOSE ?
			    "review close" : q->op == NWD__V1__REVIEW__OP__SHOW ?
			    "review show" : "review list";
	char		 why[320], tag[80];
	int		 one = q->op == NWD__V1__REVIEW__OP__SHOW ||
			    q->op == NWD__V1__REVIEW__OP__CLOSE;

	snprintf(tag, sizeof(tag), DECIDE_GRANT_TAG "%.40s", q->grant_id);
	if (q->op != NWD__V1__REVIEW__OP__LIST && !one) {
		refuse(srv, s, request_id, AUDIT_REVIEW_REFUSED,
		    NWD__V1__ERROR_CODE__ERROR_PROTOCOL, NULL, NULL, "review",
		    "the request names no operation (list, show or close)");
		return;
	}
	if (strcmp(s->principal->role, BREAKGLASS_AUDITOR) != 0) {
		snprintf(why, sizeof(why), "only auditors may read or close "
		    "the review queue (role %s is not %s)", s->principal->role,
		    BREAKGLASS_AUDITOR);
		refuse(srv, s, request_id, AUDIT_REVIEW_REFUSED,
		    NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, NULL, one &&
		    envelope_is_uuid(q->grant_id) ? tag : NULL, what, why);
		return;
	}
	if (one && !envelope_is_uuid(q->grant_id)) {
		refuse(srv, s, request_id, AUDIT_REVIEW_REFUSED,
		    NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE, NULL, NULL,
		    what, "a grant id (a UUID, as nwd review list shows) is "
		    "required");
		return;
	}
	if (q->op == NWD__V1__REVIEW__OP__CLOSE) {
		if (strcmp(q->outcome, "justified") != 0 &&
		    strcmp(q->outcome, "unjustified") != 0) {
			snprintf(why, sizeof(why), "the outcome must be "
			    "justified or unjustified, not \"%.60s\"",
			    q->outcome);
			refuse(srv, s, request_id, AUDIT_REVIEW_REFUSED,
			    NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE, NULL,
			    tag, what, why);
			return;
		}
		if (!has_text(q->note) || strlen(q->note) >
		    BREAKGLASS_NOTE_MAX) {
			snprintf(why, sizeof(why), "%s", !has_text(q->note) ?
			    "a note is required (--note TEXT): say why the "
			    "access was or was not justified" : "the note is "
			    "too long");
			refuse(srv, s, request_id, AUDIT_REVIEW_REFUSED,
			    NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE, NULL,
			    tag, what, why);
			return;
		}
	}
	if ((j = job_new(srv, s, request_id, REVIEW_OP(q->op))) == NULL ||
	    (q->op == NWD__V1__REVIEW__OP__CLOSE &&
	    ((j->outcome = strdup(q->outcome)) == NULL ||
	    (j->note = strdup(q->note)) == NULL))) {
		job_free(j);
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_INTERNAL, "out of memory");
		return;
	}
	snprintf(j->gid, sizeof(j->gid), "%s", one ? q->grant_id : "");
	j->all = q->all;
	if (store_query_grants(srv->store, one ? j->gid : NULL,
	    q->op == NWD__V1__REVIEW__OP__LIST && !q->all, 0, review_read,
	    j) == -1) {
		job_free(j);
		refuse(srv, s, request_id, AUDIT_REVIEW_REFUSED,
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, NULL, NULL, what,
		    "the audit store is unavailable");
	}
}
