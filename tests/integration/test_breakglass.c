/*
 * Integration tests of break-glass, emergency access with review (issue
 * 18, SCENARIOS.md S24 and S25), against a real nwdd and PostgreSQL on a
 * wall clock the test sets (test_clock): four hours pass in a moment, and
 * nothing sleeps.
 *
 * - S24: duty-mash claims break-glass on YP-003 for 4 hours with a reason
 *   (nwd breakglass --json); auditor-dan gets a BreakGlassAlert at once;
 *   the history holds YP-003's messages of the rule's kinds only
 *   (risk_alert, not camhs_update, nothing about YP-001), redacted as the
 *   rule says (no justification), each deliver row naming the grant; a
 *   new RiskAlert reaches duty-mash live under the grant; the grant is in
 *   nwd review list (and nwd review show lists the rows under it); after
 *   4 hours a new publish no longer reaches duty-mash through the grant,
 *   and the history is refused.
 * - S25: keyworker-kim (role not allowed) is refused, duty-mash without a
 *   reason is refused, each with its audit row; auditor-dan closes the S24
 *   review as justified, audited, and it leaves the open queue.
 * - Bad input, each refused with a precise error and an audit row: longer
 *   than the rule allows, an unknown kind, a kind the rule does not
 *   cover; review close by a non-auditor, of an unknown grant, twice, with
 *   a bad outcome, without a note.
 * - A grantee ends its grant (nwd breakglass --end): the history is
 *   refused at once, and the end is audited; another principal may not
 *   end it; an auditor revokes one, and the review shows it revoked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixtures.h"
#include "harness.h"
#include "nwd.h"

#define WAIT_MS		20000
#define HOUR_MS		INT64_C(3600000)
#define TAG		"breakglass:duty-emergency grant="

static struct harness_daemon	*daemon_main;
static char			 clock_path[1024];
static char			 extra[1200];
static int64_t			 now_ms;
static char			 s24_grant[40];	/* for S25's review */

static int64_t
utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	return (int64_t)timegm(&tm) * 1000;
}

static void
write_clock(int64_t ms)
{
	char	 tmp[1100];
	FILE	*fp;

	snprintf(tmp, sizeof(tmp), "%s.new", clock_path);
	assert_non_null(fp = fopen(tmp, "w"));
	fprintf(fp, "%" PRId64 "\n", ms);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(rename(tmp, clock_path), 0);
	now_ms = ms;
}

/* Sets the daemon's wall clock and waits until it has seen it. */
static void
set_clock(int64_t ms)
{
	size_t mark = harness_log_mark(daemon_main);

	write_clock(ms);
	if (!harness_wait_log_after(daemon_main, mark, "event=clock_moved",
	    WAIT_MS))
		fail_msg("nwdd did not see the clock move; see %s",
		    harness_daemon_log(daemon_main));
}

static int
group_setup(void **state)
{
	(void)state;
	snprintf(clock_path, sizeof(clock_path), "%s/clock",
	    getenv("NWD_TEST_TMP"));
	write_clock(utc(2027, 3, 1, 9, 0));
	snprintf(extra, sizeof(extra), "test_clock = %s\n", clock_path);
	daemon_main = harness_daemon_start(extra);
	return daemon_main != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	return harness_daemon_stop(daemon_main) == 0 ? 0 : -1;
}

/* plo-ana's RiskAlert about subject, shared with the hub. */
struct alert_msg {
	Nwd__V1__Envelope	 env;
	Nwd__V1__Header		 h;
	Nwd__V1__SubjectRef	 s;
	Nwd__V1__RiskAlert	 r;
	char			*share[1];
};

static void
alert_init(struct alert_msg *a, const char *subject)
{
	nwd__v1__envelope__init(&a->env);
	nwd__v1__header__init(&a->h);
	nwd__v1__subject_ref__init(&a->s);
	nwd__v1__risk_alert__init(&a->r);
	a->share[0] = (char *)"hubsys-norwich";
	a->s.local_id = (char *)subject;
	a->h.kind = NWD__V1__KIND__RISK_ALERT;
	a->h.subject = &a->s;
	a->h.marking = NWD__V1__MARKING__OFFICIAL;
	a->h.justification = (char *)"the source saw it at the station";
	a->h.share_with = a->share;
	a->h.n_share_with = 1;
	a->r.category = NWD__V1__RISK_ALERT__CATEGORY__CRIMINAL_EXPLOITATION;
	a->r.level = NWD__V1__RISK_ALERT__LEVEL__MEDIUM;
	a->r.summary = (char *)"seen with older males near the station";
	a->env.header = &a->h;
	a->env.body_case = NWD__V1__ENVELOPE__BODY_RISK_ALERT;
	a->env.risk_alert = &a->r;
}

/* A ROUTINE RiskAlert from the police naming the Norwich hub. */
static void
alert(const char *subject, char *mid, size_t len)
{
	struct alert_msg	a;

	alert_init(&a, subject);
	fixture_publish_as("plo-ana", &a.env, mid, len);
}

/* What explain (online, asked by auditor-dan) says of who's receipt of
 * plo-ana's alert about subject: its verdict, its rules into rules. */
static int
explained(const char *subject, const char *who, char *rules, size_t len)
{
	struct nwd_client	*c = harness_connect_as("auditor-dan");
	Nwd__V1__ExplainResult	*r = NULL;
	struct alert_msg	 a;
	const char		*to[1] = { who };
	char			 err[512];
	size_t			 i;
	int			 verdict = -1;

	alert_init(&a, subject);
	if (nwd_explain(c, "plo-ana", &a.env, to, 1, 0, &r, err,
	    sizeof(err)) != NWD_OK)
		fail_msg("explain: %s", err);
	nwd_close(c);
	for (i = 0; i < r->n_decisions; i++)
		if (strcmp(r->decisions[i]->principal, who) == 0 &&
		    !r->decisions[i]->duty_pass) {
			verdict = r->decisions[i]->verdict;
			snprintf(rules, len, "%s", r->decisions[i]->rules);
		}
	nwd_explain_result_free(r);
	return verdict;
}

/* A CamhsUpdate: a kind the breakglass rule does not open. */
static void
camhs(const char *subject, char *mid, size_t len)
{
	Nwd__V1__Envelope	 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header		 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef	 s = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__CamhsUpdate	 u = NWD__V1__CAMHS_UPDATE__INIT;

	s.local_id = (char *)subject;
	h.kind = NWD__V1__KIND__CAMHS_UPDATE;
	h.subject = &s;
	h.marking = NWD__V1__MARKING__OFFICIAL;
	h.legal_basis = NWD__V1__LEGAL_BASIS__SAFEGUARDING;
	u.risk_summary = (char *)"low mood, engaging";
	u.clinical_formulation = (char *)"formulation text";
	env.header = &h;
	env.body_case = NWD__V1__ENVELOPE__BODY_CAMHS_UPDATE;
	env.camhs_update = &u;
	fixture_publish_as("camhs-cara", &env, mid, len);
}

/* The Norwich hub, live for the alerts and CAMHS updates about YP-003
 * and YP-001: what these tests publish reaches someone, and so never
 * the duty desk (no dead letters). */
static struct nwd_client *
hub_session(void)
{
	struct nwd_client	*c = harness_connect_as("hubsys-norwich");
	Nwd__V1__Kind		 kinds[2] = { NWD__V1__KIND__RISK_ALERT,
				    NWD__V1__KIND__CAMHS_UPDATE };
	const char		*subjects[2] = { "YP-003", "YP-001" };
	char			 err[512];

	if (nwd_subscribe(c, kinds, 2, subjects, 2, NULL, NULL, err,
	    sizeof(err)) != NWD_OK)
		fail_msg("subscribe as hubsys-norwich: %s", err);
	return c;
}

/* A BreakGlass request as who; the status, with the answer or error. */
static enum nwd_status
breakglass(const char *who, Nwd__V1__BreakGlass *q,
    Nwd__V1__BreakGlassResult **r, char *err, size_t errlen)
{
	struct nwd_client	*c = harness_connect_as(who);
	enum nwd_status		 st;

	st = nwd_breakglass(c, q, r, err, errlen);
	nwd_close(c);
	return st;
}

static enum nwd_status
review(const char *who, Nwd__V1__Review *q, Nwd__V1__ReviewResult **r,
    char *err, size_t errlen)
{
	struct nwd_client	*c = harness_connect_as(who);
	enum nwd_status		 st;

	st = nwd_review(c, q, r, err, errlen);
	nwd_close(c);
	return st;
}

/* A claim that must be refused with text in the error, and audited. */
static void
claim_refused(const char *who, const char *subject, const char *reason,
    int64_t ms, const char *kind, const char *want)
{
	Nwd__V1__BreakGlass		 q = NWD__V1__BREAK_GLASS__INIT;
	Nwd__V1__BreakGlassResult	*r = NULL;
	char				*kinds[1] = { (char *)kind };
	char				 err[1024];
	enum nwd_status			 st;
	int				 before;

	before = harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'breakglass_refused' AND actor = "
	    "'%s' AND strpos(reason, '%s') > 0", who, want);
	q.op = NWD__V1__BREAK_GLASS__OP__CLAIM;
	q.subject = (char *)subject;
	q.reason = (char *)reason;
	q.duration_ms = ms;
	if (kind != NULL) {
		q.kinds = kinds;
		q.n_kinds = 1;
	}
	st = breakglass(who, &q, &r, err, sizeof(err));
	if (st == NWD_OK)
		fail_msg("break-glass of %s was granted; expected \"%s\"", who,
		    want);
	if (strstr(err, want) == NULL)
		fail_msg("break-glass of %s refused with \"%s\"; expected "
		    "\"%s\"", who, err, want);
	assert_true(strncmp(err, "break-glass refused: ", 21) == 0 ||
	    strstr(err, "break-glass refused: ") != NULL);
	harness_wait_sql_int("nwd_auditor", WAIT_MS, before + 1, "SELECT "
	    "count(*) FROM nwd.audit_events WHERE action = 'breakglass_refused' "
	    "AND actor = '%s' AND strpos(reason, '%s') > 0", who, want);
}

/* A review request that must be refused with want, and audited. */
static void
review_refused(const char *who, Nwd__V1__Review__Op op, const char *grant,
    const char *outcome, const char *note, const char *want)
{
	Nwd__V1__Review		 q = NWD__V1__REVIEW__INIT;
	Nwd__V1__ReviewResult	*r = NULL;
	char			 err[1024];
	int			 before;

	before = harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'review_refused' AND actor = '%s' "
	    "AND strpos(reason, '%s') > 0", who, want);
	q.op = op;
	q.grant_id = (char *)grant;
	q.outcome = (char *)outcome;
	q.note = (char *)note;
	if (review(who, &q, &r, err, sizeof(err)) == NWD_OK)
		fail_msg("review by %s was answered; expected \"%s\"", who,
		    want);
	if (strstr(err, want) == NULL)
		fail_msg("review by %s refused with \"%s\"; expected \"%s\"",
		    who, err, want);
	harness_wait_sql_int("nwd_auditor", WAIT_MS, before + 1, "SELECT "
	    "count(*) FROM nwd.audit_events WHERE action = 'review_refused' AND "
	    "actor = '%s' AND strpos(reason, '%s') > 0", who, want);
}

/* Copies the value of "key":"..." in a JSON line into out. */
static void
json_value(const char *line, const char *key, char *out, size_t outlen)
{
	char		 pat[80];
	const char	*p, *e;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((p = strstr(line, pat)) == NULL)
		fail_msg("no %s in %s", key, line);
	p += strlen(pat);
	while (*p == ' ')
		p++;
	if (*p == '"')
		p++;
	for (e = p; *e != '\0' && *e != '"' && *e != ',' && *e != '}'; e++)
		;
	snprintf(out, outlen, "%.*s", (int)(e - p), p);
}

static void
test_s24_claim_history_expiry(void **state)
{
	struct nwd_client		*hub, *dan, *duty;
	Nwd__V1__BreakGlass		 q = NWD__V1__BREAK_GLASS__INIT;
	Nwd__V1__BreakGlassResult	*r = NULL;
	Nwd__V1__Review			 rq = NWD__V1__REVIEW__INIT;
	Nwd__V1__ReviewResult		*rr = NULL;
	Nwd__V1__Deliver		*d = NULL;
	Nwd__V1__BreakGlassAlert	*a;
	char				 out[8192], err[1024], m1[40], m2[40];
	char				 m3[40], m4[40], m5[40], v[80];
	size_t				 i, k;
	int64_t				 until;
	int				 seen_m1 = 0, seen_alloc = 0;

	(void)state;
	fixture_allocate("YP-003", "hub:norwich", 0);
	/* The hub takes all of it, so none goes to the duty desk. */
	hub = hub_session();
	alert("YP-003", m1, sizeof(m1));
	camhs("YP-003", m2, sizeof(m2));
	alert("YP-001", m3, sizeof(m3));
	/* Before the grant, duty-mash has none of them. */
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'deliver' AND recipient = "
	    "'duty-mash' AND message_id IN ('%s', '%s', '%s')", m1, m2, m3),
	    0);

	dan = fixture_subscribe_as("auditor-dan",
	    NWD__V1__KIND__BREAK_GLASS_ALERT,
	    "YP-003", NULL);
	duty = fixture_subscribe_as("duty-mash", NWD__V1__KIND__RISK_ALERT,
	    "YP-003", NULL);

	/* The claim, with the tool. */
	assert_int_equal(harness_run_nwd(out, sizeof(out), "duty-mash",
	    "breakglass --subject YP-003 --reason 'missing overnight, hub "
	    "unreachable' --for 4h --json"), 0);
	json_value(out, "grant_id", s24_grant, sizeof(s24_grant));
	assert_int_equal(strlen(s24_grant), 36);
	json_value(out, "rule", v, sizeof(v));
	assert_string_equal(v, "duty-emergency");
	json_value(out, "until_unix_ms", v, sizeof(v));
	until = strtoll(v, NULL, 10);
	json_value(out, "from_unix_ms", v, sizeof(v));
	/* The test clock runs on from what the file says. */
	assert_true(strtoll(v, NULL, 10) >= now_ms);
	assert_int_equal(until - strtoll(v, NULL, 10), 4 * HOUR_MS);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'breakglass_granted' AND actor = "
	    "'duty-mash' AND subject = 'YP-003' AND rule = '" TAG "%s' AND "
	    "strpos(reason, 'missing overnight') > 0", s24_grant), 1);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.grants WHERE id = '%s' AND principal = 'duty-mash' AND "
	    "review = 'open'", s24_grant), 1);

	/* auditor-dan is alerted at once. */
	if (nwd_next_delivery(dan, WAIT_MS, &d, err, sizeof(err)) != NWD_OK)
		fail_msg("auditor-dan gets no alert: %s", err);
	assert_int_equal(d->envelope->header->kind,
	    NWD__V1__KIND__BREAK_GLASS_ALERT);
	assert_string_equal(d->envelope->header->sender, "nwd");
	assert_non_null(a = d->envelope->break_glass_alert);
	assert_string_equal(a->grant_id, s24_grant);
	assert_int_equal(a->event, NWD__V1__BREAK_GLASS_ALERT__EVENT__GRANTED);
	assert_string_equal(a->principal, "duty-mash");
	assert_string_equal(a->reason, "missing overnight, hub unreachable");
	assert_string_equal(a->rule, "duty-emergency");
	nwd_deliver_free(d);
	d = NULL;

	/* The history: the rule's kinds of YP-003 only, each flagged. */
	q.op = NWD__V1__BREAK_GLASS__OP__HISTORY;
	q.subject = (char *)"YP-003";
	if (breakglass("duty-mash", &q, &r, err, sizeof(err)) != NWD_OK)
		fail_msg("history: %s", err);
	assert_non_null(r->grant);
	assert_string_equal(r->grant->grant_id, s24_grant);
	assert_true(r->n_history >= 2);
	for (i = 0; i < r->n_history; i++) {
		const Nwd__V1__Envelope *e = r->history[i]->envelope;

		assert_string_equal(e->header->subject->local_id, "YP-003");
		assert_int_not_equal(e->header->kind,
		    NWD__V1__KIND__CAMHS_UPDATE);
		snprintf(v, sizeof(v), TAG "%s", s24_grant);
		assert_string_equal(r->history[i]->rule, v);
		if (strcmp(e->header->message_id, m1) == 0) {
			seen_m1 = 1;
			/* Redacted as the rule says. */
			assert_string_equal(e->header->justification, "");
			for (k = 0; k < r->history[i]->n_fields_withheld; k++)
				if (strcmp(r->history[i]->fields_withheld[k],
				    "header.justification") == 0)
					break;
			assert_true(k < r->history[i]->n_fields_withheld);
			assert_string_equal(e->risk_alert->summary,
			    "seen with older males near the station");
		}
		if (e->header->kind == NWD__V1__KIND__ALLOCATION)
			seen_alloc = 1;
	}
	assert_true(seen_m1);
	assert_true(seen_alloc);
	/* Every row of the history names the grant. */
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'deliver' AND recipient = "
	    "'duty-mash' AND rule = '" TAG "%s'", s24_grant),
	    (int)r->n_history);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE recipient = 'duty-mash' AND message_id IN "
	    "('%s', '%s')", m2, m3), 0);
	nwd_breakglass_result_free(r);
	r = NULL;

	/* Explain judges as the broker does: under the grant. */
	assert_int_equal(explained("YP-003", "duty-mash", v, sizeof(v)),
	    NWD__V1__EXPLAIN_VERDICT__EXPLAIN_ALLOWED);
	assert_non_null(strstr(v, s24_grant));

	/* A new alert reaches duty-mash live, under the grant. */
	alert("YP-003", m4, sizeof(m4));
	if (nwd_next_delivery(duty, WAIT_MS, &d, err, sizeof(err)) != NWD_OK)
		fail_msg("duty-mash gets no alert under the grant: %s", err);
	assert_string_equal(d->envelope->header->message_id, m4);
	snprintf(v, sizeof(v), TAG "%s", s24_grant);
	assert_string_equal(d->rule, v);
	assert_string_equal(d->envelope->header->justification, "");
	nwd_deliver_free(d);
	d = NULL;
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'deliver' AND recipient = "
	    "'duty-mash' AND message_id = '%s' AND rule = '" TAG "%s'", m4,
	    s24_grant), 1);
	/* The hub, as the policy says, all along. */
	for (k = 0; k < 4; k++) {
		if (nwd_next_delivery(hub, WAIT_MS, &d, err, sizeof(err)) !=
		    NWD_OK)
			fail_msg("the hub gets no alert: %s", err);
		i = strcmp(d->envelope->header->message_id, m4) == 0;
		nwd_deliver_free(d);
		d = NULL;
		if (i)
			break;
	}
	assert_true(k < 4);

	/* The grant is in the review queue, with the tool and the API. */
	assert_int_equal(harness_run_nwd(out, sizeof(out), "auditor-dan",
	    "review list --json"), 0);
	assert_non_null(strstr(out, s24_grant));
	rq.op = NWD__V1__REVIEW__OP__SHOW;
	rq.grant_id = s24_grant;
	if (review("auditor-dan", &rq, &rr, err, sizeof(err)) != NWD_OK)
		fail_msg("review show: %s", err);
	assert_int_equal(rr->n_grants, 1);
	assert_string_equal(rr->grants[0]->state, "live");
	assert_string_equal(rr->grants[0]->review, "open");
	assert_int_equal(rr->grants[0]->deliveries,
	    harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'deliver' AND rule = '" TAG "%s'",
	    s24_grant));
	for (i = k = 0; i < rr->n_events; i++)
		if (strcmp(rr->events[i]->action, "deliver") == 0 &&
		    strcmp(rr->events[i]->message_id, m4) == 0)
			k++;
	assert_int_equal(k, 1);
	nwd_review_result_free(rr);
	rr = NULL;
	harness_wait_sql_int("nwd_auditor", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'review_query' AND actor = "
	    "'auditor-dan' AND rule = 'grant=%s'", s24_grant);

	/* Four hours later the grant has lapsed. */
	set_clock(until + 60000);
	alert("YP-003", m5, sizeof(m5));
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE recipient = 'duty-mash' AND message_id = "
	    "'%s' AND strpos(coalesce(rule, ''), 'grant=') > 0", m5), 0);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'deliver' AND recipient = "
	    "'duty-mash' AND message_id = '%s'", m5), 0);
	q.op = NWD__V1__BREAK_GLASS__OP__HISTORY;
	q.subject = (char *)"YP-003";
	assert_int_not_equal(breakglass("duty-mash", &q, &r, err, sizeof(err)),
	    NWD_OK);
	assert_non_null(strstr(err, "no live grant of yours covers YP-003"));
	nwd_close(duty);
	nwd_close(dan);
	nwd_close(hub);
}

static void
test_s25_refusals_and_review(void **state)
{
	Nwd__V1__Review		 q = NWD__V1__REVIEW__INIT;
	Nwd__V1__ReviewResult	*r = NULL;
	char			 err[1024], out[8192];

	(void)state;
	assert_int_equal(strlen(s24_grant), 36);
	claim_refused("keyworker-kim", "YP-003", "I am worried", 4 * HOUR_MS,
	    NULL, "no breakglass rule of the policy lets role hub_keyworker "
	    "claim emergency access");
	claim_refused("duty-mash", "YP-003", "", 4 * HOUR_MS, NULL,
	    "a reason is required");
	claim_refused("duty-mash", "YP-003", "   ", 4 * HOUR_MS, NULL,
	    "a reason is required");

	/* The S24 review closes as justified, once, audited. */
	q.op = NWD__V1__REVIEW__OP__CLOSE;
	q.grant_id = s24_grant;
	q.outcome = (char *)"justified";
	q.note = (char *)"child missing overnight; the hub was unreachable";
	if (review("auditor-dan", &q, &r, err, sizeof(err)) != NWD_OK)
		fail_msg("review close: %s", err);
	assert_int_equal(r->n_grants, 1);
	assert_string_equal(r->grants[0]->review, "closed");
	assert_string_equal(r->grants[0]->outcome, "justified");
	assert_string_equal(r->grants[0]->reviewed_by, "auditor-dan");
	assert_string_equal(r->grants[0]->state, "expired");
	nwd_review_result_free(r);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'review_closed' AND actor = "
	    "'auditor-dan' AND rule = 'grant=%s' AND strpos(reason, "
	    "'justified') > 0", s24_grant), 1);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.grants WHERE id = '%s' AND outcome = 'justified' AND "
	    "reviewed_by = 'auditor-dan'", s24_grant), 1);
	/* It leaves the open queue, and stays in the whole one. */
	assert_int_equal(harness_run_nwd(out, sizeof(out), "auditor-dan",
	    "review list --json"), 0);
	assert_null(strstr(out, s24_grant));
	assert_int_equal(harness_run_nwd(out, sizeof(out), "auditor-dan",
	    "review list --all --json"), 0);
	assert_non_null(strstr(out, s24_grant));

	/* A review closes once. */
	review_refused("auditor-dan", NWD__V1__REVIEW__OP__CLOSE, s24_grant,
	    "unjustified", "second thoughts", "was closed already");
}

static void
test_bad_input(void **state)
{
	(void)state;
	claim_refused("duty-mash", "YP-003", "urgent", 25 * HOUR_MS, NULL,
	    "25h is longer than breakglass rule duty-emergency allows (at "
	    "most 24h)");
	claim_refused("sw-ben", "YP-003", "urgent", 0, NULL,
	    "a duration is required");
	claim_refused("duty-mash", "YP-003", "urgent", HOUR_MS,
	    "no_such_kind", "unknown kind \"no_such_kind\"");
	claim_refused("duty-mash", "YP-003", "urgent", HOUR_MS,
	    "camhs_update", "breakglass rule duty-emergency does not cover "
	    "kind camhs_update");
	claim_refused("duty-mash", "not a subject!", "urgent", HOUR_MS, NULL,
	    "the subject is not a young person");

	review_refused("duty-mash", NWD__V1__REVIEW__OP__CLOSE, s24_grant,
	    "justified", "fine", "only auditors may read or close the review "
	    "queue (role duty is not auditor)");
	review_refused("duty-mash", NWD__V1__REVIEW__OP__LIST, "", "", "",
	    "only auditors may read or close the review queue");
	review_refused("auditor-dan", NWD__V1__REVIEW__OP__CLOSE,
	    "0191aaaa-0000-7000-8000-000000000000", "justified", "fine",
	    "no grant 0191aaaa-0000-7000-8000-000000000000");
	review_refused("auditor-dan", NWD__V1__REVIEW__OP__CLOSE, s24_grant,
	    "maybe", "fine", "the outcome must be justified or unjustified, "
	    "not \"maybe\"");
	review_refused("auditor-dan", NWD__V1__REVIEW__OP__CLOSE, s24_grant,
	    "justified", "", "a note is required");
	review_refused("auditor-dan", NWD__V1__REVIEW__OP__SHOW, "nonsense",
	    "", "", "a grant id (a UUID");
}

/* A grantee ends its grant: at once, audited, auditors told. */
static void
test_end(void **state)
{
	Nwd__V1__BreakGlass		 q = NWD__V1__BREAK_GLASS__INIT;
	Nwd__V1__BreakGlassResult	*r = NULL;
	Nwd__V1__Review			 rq = NWD__V1__REVIEW__INIT;
	Nwd__V1__ReviewResult		*rr = NULL;
	char				 out[8192], err[1024], id[40];

	(void)state;
	q.op = NWD__V1__BREAK_GLASS__OP__CLAIM;
	q.subject = (char *)"YP-002";
	q.reason = (char *)"placement broke down at night";
	q.duration_ms = 2 * HOUR_MS;
	if (breakglass("sw-ben", &q, &r, err, sizeof(err)) != NWD_OK)
		fail_msg("claim: %s", err);
	snprintf(id, sizeof(id), "%s", r->grant->grant_id);
	assert_string_equal(r->grant->state, "live");
	nwd_breakglass_result_free(r);
	r = NULL;
	/* Someone else's grant is not theirs to end. */
	assert_int_equal(harness_run_nwd(out, sizeof(out), "duty-mash",
	    "breakglass --end %s", id), 1);
	assert_int_equal(harness_run_nwd(out, sizeof(out), "sw-ben",
	    "breakglass --end %s --json", id), 0);
	assert_non_null(strstr(out, "\"ended\""));
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'breakglass_ended' AND actor = "
	    "'sw-ben' AND rule = '" TAG "%s'", id), 1);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.grants WHERE id = '%s' AND ended_by = 'sw-ben'", id), 1);
	q.op = NWD__V1__BREAK_GLASS__OP__HISTORY;
	assert_int_not_equal(breakglass("sw-ben", &q, &r, err, sizeof(err)),
	    NWD_OK);
	assert_non_null(strstr(err, "no live grant of yours covers YP-002"));

	/* An auditor revokes another grant; the review shows it so. */
	q.op = NWD__V1__BREAK_GLASS__OP__CLAIM;
	if (breakglass("sw-ben", &q, &r, err, sizeof(err)) != NWD_OK)
		fail_msg("claim: %s", err);
	snprintf(id, sizeof(id), "%s", r->grant->grant_id);
	nwd_breakglass_result_free(r);
	r = NULL;
	assert_int_equal(harness_run_nwd(out, sizeof(out), "auditor-dan",
	    "breakglass --end %s --json", id), 0);
	assert_non_null(strstr(out, "\"revoked\""));
	rq.op = NWD__V1__REVIEW__OP__SHOW;
	rq.grant_id = id;
	if (review("auditor-dan", &rq, &rr, err, sizeof(err)) != NWD_OK)
		fail_msg("review show: %s", err);
	assert_string_equal(rr->grants[0]->state, "revoked");
	assert_string_equal(rr->grants[0]->ended_by, "auditor-dan");
	nwd_review_result_free(rr);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'breakglass_ended' AND actor = "
	    "'auditor-dan' AND rule = '" TAG "%s' AND strpos(reason, "
	    "'revoked') > 0", id), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_s24_claim_history_expiry),
		cmocka_unit_test(test_s25_refusals_and_review),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_end),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
