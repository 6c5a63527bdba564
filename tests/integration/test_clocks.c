/*
 * Integration tests of the statutory clocks (issue 17, SCENARIOS.md
 * S14-S17) against a real nwdd and PostgreSQL, on a wall clock the test
 * sets (test_clock): 72 hours pass in a moment, and nothing sleeps.
 *
 * - S14: a MissingEpisode FOUND at Friday 16:00 sets a deadline due Monday
 *   16:00 (deadline_set); not escalated at 15:59; at 16:01 the duty desk
 *   and the allocated hub get an Escalation naming the rule
 *   (deadline_breached, escalated); a day later, again (count 2).
 * - S15: a ReturnInterview that references the episode on the Sunday meets
 *   it (deadline_met): no escalation, while a deadline due after it does
 *   escalate.
 * - A daemon that was down past a due time escalates when it starts, once:
 *   another start escalates nothing, and the database refuses the same
 *   escalation twice.
 * - S16: an Operation Encompass notification on the Friday at 22:00 before
 *   a bank-holiday Monday in term is due Tuesday 09:00; the school DSL's
 *   acknowledgement at 08:30 meets it.
 * - S17: an URGENT RiskAlert reaches the hub and the social worker live;
 *   nobody acknowledges; 15 minutes later the duty desk gets an Escalation
 *   listing both as reached and nobody as acknowledging.  Another alert's
 *   acknowledgement meets its deadline.
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

static struct harness_daemon	*daemon_main;
static char			 clock_path[1024];
static char			 extra[1200];

/* Unix ms of a UTC time. */
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
}

/* Sets the daemon's wall clock and waits until it has acted on it. */
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

static void
start_daemon(void)
{
	if ((daemon_main = harness_daemon_start(extra)) == NULL)
		fail_msg("nwdd did not start");
}

static int
group_setup(void **state)
{
	(void)state;
	snprintf(clock_path, sizeof(clock_path), "%s/clock",
	    getenv("NWD_TEST_TMP"));
	write_clock(utc(2027, 1, 4, 9, 0));
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

/* A MissingEpisode FOUND at found_ms, published by the hub. */
static void
found(const char *subject, int64_t found_ms, char *mid, size_t len)
{
	Nwd__V1__Envelope	 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header		 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef	 s = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__MissingEpisode	 m = NWD__V1__MISSING_EPISODE__INIT;

	s.local_id = (char *)subject;
	h.kind = NWD__V1__KIND__MISSING_EPISODE;
	h.subject = &s;
	h.marking = NWD__V1__MARKING__OFFICIAL;
	h.priority = NWD__V1__PRIORITY__HIGH;
	m.status = NWD__V1__MISSING_EPISODE__STATUS__FOUND;
	m.reported_unix_ms = found_ms - 24 * 3600 * 1000;
	m.found_unix_ms = found_ms;
	m.circumstances = (char *)"found at a friend's house";
	env.header = &h;
	env.body_case = NWD__V1__ENVELOPE__BODY_MISSING_EPISODE;
	env.missing_episode = &m;
	fixture_publish_as("hubsys-norwich", &env, mid, len);
}

/* c's next delivery is an Escalation about mid; returned (caller frees). */
static Nwd__V1__Deliver *
escalation(struct nwd_client *c, const char *mid, const char *rule,
    uint32_t count)
{
	Nwd__V1__Deliver	*d = NULL;
	Nwd__V1__Escalation	*e;
	char			 err[512];

	if (nwd_next_delivery(c, WAIT_MS, &d, err, sizeof(err)) != NWD_OK)
		fail_msg("%s gets no escalation of %s: %s",
		    nwd_principal(c)->id, mid, err);
	assert_int_equal(d->envelope->header->kind, NWD__V1__KIND__ESCALATION);
	assert_string_equal(d->envelope->header->sender, "nwd");
	e = d->envelope->escalation;
	assert_non_null(e);
	assert_string_equal(e->about_message_id, mid);
	assert_string_equal(e->rule, rule);
	assert_int_equal(e->count, count);
	return d;
}

static int
rows(const char *mid, const char *action)
{
	return harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = '%s'", mid,
	    action);
}

/* S14: breached, escalated, escalated again. */
static void
test_s14_breach_escalates(void **state)
{
	struct nwd_client	*hub, *duty;
	Nwd__V1__Deliver	*d;
	char			 mid[40], reason[256], out[4096];

	(void)state;
	set_clock(utc(2027, 1, 8, 16, 30));		/* a Friday */
	fixture_allocate("YP-814", "hub:norwich", 0);
	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__ESCALATION,
	    "YP-814", NULL);
	duty = fixture_subscribe_as("duty-mash", NWD__V1__KIND__ESCALATION,
	    "YP-814", NULL);
	found("YP-814", utc(2027, 1, 8, 16, 0), mid, sizeof(mid));
	assert_int_equal(rows(mid, "deadline_set"), 1);
	harness_sql_text("nwd_auditor", reason, sizeof(reason), "SELECT "
	    "rule || ': ' || reason FROM nwd.audit_events WHERE message_id = "
	    "'%s' AND action = 'deadline_set'", mid);
	assert_string_equal(reason, "return-interview: due 2027-01-11 16:00 "
	    "GMT");
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.deadlines WHERE message_id = '%s' AND state = 'open' AND "
	    "due_at = timestamptz '2027-01-11 16:00:00+00'", mid), 1);

	/* A minute before: nothing. */
	set_clock(utc(2027, 1, 11, 15, 59));
	assert_int_equal(rows(mid, "escalated"), 0);
	set_clock(utc(2027, 1, 11, 16, 1));
	d = escalation(hub, mid, "return-interview", 1);
	assert_int_equal(d->envelope->escalation->reason,
	    NWD__V1__ESCALATION__REASON__DEADLINE_BREACHED);
	assert_int_equal(d->envelope->escalation->due_unix_ms,
	    utc(2027, 1, 11, 16, 0));
	assert_string_equal(d->envelope->header->references, mid);
	nwd_deliver_free(d);
	nwd_deliver_free(escalation(duty, mid, "return-interview", 1));
	harness_wait_sql_int("nwd_auditor", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = "
	    "'deadline_breached' AND at >= timestamptz "
	    "'2027-01-11 16:00:00+00'", mid);
	assert_int_equal(rows(mid, "escalated"), 1);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.deadlines WHERE message_id = '%s' AND state = 'breached' AND "
	    "escalations = 1", mid), 1);

	/* Every 24 hours until someone acts. */
	set_clock(utc(2027, 1, 12, 16, 2));
	nwd_deliver_free(escalation(duty, mid, "return-interview", 2));
	nwd_deliver_free(escalation(hub, mid, "return-interview", 2));
	harness_wait_sql_int("nwd_auditor", WAIT_MS, 2, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = "
	    "'escalated'", mid);
	assert_int_equal(rows(mid, "deadline_breached"), 1);
	nwd_close(hub);
	nwd_close(duty);

	/* nwd status: the publisher sees the clock its message set. */
	assert_int_equal(harness_run_nwd(out, sizeof(out), "hubsys-norwich",
	    "status %s", mid), 0);
	if (strstr(out, "Deadline    return-interview: due 2027-01-11 16:00 "
	    "GMT; breached, not met; escalated 2 times\n") == NULL)
		fail_msg("nwd status: %s", out);

	/* nwd overdue: the duty desk and the allocated hub see it... */
	assert_int_equal(harness_run_nwd(out, sizeof(out), "duty-mash",
	    "overdue --subject YP-814 --json"), 0);
	assert_non_null(strstr(out, "\"rule\":\"return-interview\""));
	assert_non_null(strstr(out, "\"state\":\"breached\""));
	assert_non_null(strstr(out, "\"escalations\":2"));
	assert_non_null(strstr(out, "\"due\":\"2027-01-11T16:00:00.000Z\""));
	assert_non_null(strstr(out, mid));
	assert_int_equal(harness_run_nwd(out, sizeof(out), "hubsys-norwich",
	    "overdue --subject YP-814"), 0);
	assert_non_null(strstr(out, "breached"));
	assert_non_null(strstr(out, "return-interview"));
	/* ... CAMHS, not allocated, does not; and every look is audited. */
	assert_int_equal(harness_run_nwd(out, sizeof(out), "camhs-cara",
	    "overdue --subject YP-814"), 0);
	assert_string_equal(out, "DUE  STATE  SUBJECT  RULE  KIND  ESCALATED  "
	    "MESSAGE\n(none)\n");
	harness_wait_sql_int("nwd_auditor", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'audit_query' AND actor = "
	    "'camhs-cara' AND reason LIKE 'deadlines: subject=YP-814 %%; 0 "
	    "shown'");
}

/* S15: the ReturnInterview on the Sunday meets it. */
static void
test_s15_return_interview_meets(void **state)
{
	struct nwd_client		*duty;
	Nwd__V1__Envelope		 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header			 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef		 s = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__ReturnInterview	 ri = NWD__V1__RETURN_INTERVIEW__INIT;
	char				 mid[40], sentinel[40], ri_mid[40];
	char				 reason[256], out[4096];

	(void)state;
	set_clock(utc(2027, 1, 15, 16, 30));
	fixture_allocate("YP-815", "hub:norwich", 0);
	fixture_allocate("YP-816", "hub:norwich", 0);
	duty = fixture_subscribe_as("duty-mash", NWD__V1__KIND__ESCALATION,
	    "YP-816", NULL);
	found("YP-815", utc(2027, 1, 15, 16, 0), mid, sizeof(mid));
	/* Due an hour after the other: it shows the clock was acted on. */
	found("YP-816", utc(2027, 1, 15, 17, 0), sentinel, sizeof(sentinel));

	set_clock(utc(2027, 1, 17, 11, 0));		/* the Sunday */
	s.local_id = (char *)"YP-815";
	h.kind = NWD__V1__KIND__RETURN_INTERVIEW;
	h.subject = &s;
	h.marking = NWD__V1__MARKING__OFFICIAL;
	h.references = mid;
	ri.status = NWD__V1__RETURN_INTERVIEW__STATUS__DONE;
	ri.done_unix_ms = utc(2027, 1, 17, 10, 0);
	ri.conducted_by = (char *)"independent return worker";
	ri.independent = 1;
	env.header = &h;
	env.body_case = NWD__V1__ENVELOPE__BODY_RETURN_INTERVIEW;
	env.return_interview = &ri;
	fixture_publish_as("keyworker-kim", &env, ri_mid, sizeof(ri_mid));
	assert_int_equal(rows(mid, "deadline_met"), 1);
	harness_sql_text("nwd_auditor", reason, sizeof(reason), "SELECT "
	    "actor || ': ' || reason FROM nwd.audit_events WHERE message_id = "
	    "'%s' AND action = 'deadline_met'", mid);
	assert_non_null(strstr(reason, "keyworker-kim: met by "
	    "return_interview "));
	assert_non_null(strstr(reason, ri_mid));
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.deadlines WHERE message_id = '%s' AND state = 'met' AND "
	    "met_by = 'keyworker-kim' AND met_message = '%s'", mid, ri_mid),
	    1);

	/* Past both due times: only the unmet one escalates. */
	set_clock(utc(2027, 1, 18, 17, 1));
	nwd_deliver_free(escalation(duty, sentinel, "return-interview", 1));
	assert_int_equal(rows(mid, "escalated"), 0);
	assert_int_equal(rows(mid, "deadline_breached"), 0);
	nwd_close(duty);
	/* Met deadlines are shown with --all only. */
	assert_int_equal(harness_run_nwd(out, sizeof(out), "auditor-dan",
	    "overdue --subject YP-815 --json"), 0);
	assert_string_equal(out, "");
	assert_int_equal(harness_run_nwd(out, sizeof(out), "auditor-dan",
	    "overdue --subject YP-815 --all --json"), 0);
	assert_non_null(strstr(out, "\"state\":\"met\""));
	assert_non_null(strstr(out, "\"met_by\":\"keyworker-kim\""));
}

/* Down past a due time: escalated at the start, once. */
static void
test_restart_escalates_once(void **state)
{
	char	mid[40], sql[256], out[512];
	size_t	mark;

	(void)state;
	set_clock(utc(2027, 1, 22, 16, 30));
	fixture_allocate("YP-817", "hub:norwich", 0);
	found("YP-817", utc(2027, 1, 22, 16, 0), mid, sizeof(mid));
	assert_int_equal(harness_daemon_stop(daemon_main), 0);
	daemon_main = NULL;
	write_clock(utc(2027, 1, 25, 16, 5));
	start_daemon();
	harness_wait_sql_int("nwd_auditor", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = "
	    "'escalated'", mid);
	/* Another start, the same minute: nothing more is due. */
	assert_int_equal(harness_daemon_stop(daemon_main), 0);
	daemon_main = NULL;
	start_daemon();
	mark = 0;
	assert_true(harness_wait_log_after(daemon_main, mark,
	    "event=deadlines_loaded", WAIT_MS));
	set_clock(utc(2027, 1, 25, 16, 6));
	assert_int_equal(rows(mid, "escalated"), 1);
	assert_int_equal(rows(mid, "deadline_breached"), 1);
	/* The database refuses the same escalation twice. */
	snprintf(sql, sizeof(sql), "SELECT nwd.deadline_escalated('%s', "
	    "'return-interview', 1, 0)", mid);
	assert_int_not_equal(harness_sql("nwd_daemon", sql, out, sizeof(out)),
	    0);
	assert_non_null(strstr(out, "escalated already"));
}

/* S16: before the next school day, across a bank-holiday weekend. */
static void
test_s16_encompass_met_by_school(void **state)
{
	struct nwd_client			*dana;
	Nwd__V1__Envelope			 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header				 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef			 s = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__DomesticAbuseNotification	 n =
	    NWD__V1__DOMESTIC_ABUSE_NOTIFICATION__INIT;
	Nwd__V1__Deliver			*d = NULL;
	char					 mid[40], err[512];
	char					 reason[256], out[8192];

	(void)state;
	/* Friday 30 April 2027, 22:00 BST; Monday 3 May is a bank holiday. */
	set_clock(utc(2027, 4, 30, 21, 0));
	fixture_allocate("YP-820", "school:north-high", 0);
	dana = fixture_subscribe_as("dsl-dana",
	    NWD__V1__KIND__DOMESTIC_ABUSE_NOTIFICATION, "YP-820", NULL);
	s.local_id = (char *)"YP-820";
	h.kind = NWD__V1__KIND__DOMESTIC_ABUSE_NOTIFICATION;
	h.subject = &s;
	h.marking = NWD__V1__MARKING__OFFICIAL_SENSITIVE;
	h.priority = NWD__V1__PRIORITY__HIGH;
	h.legal_basis = NWD__V1__LEGAL_BASIS__SAFEGUARDING;
	n.incident_unix_ms = utc(2027, 4, 30, 20, 30);
	n.summary = (char *)"police attended a domestic incident at home";
	n.police_reference = (char *)"NFK-2027-04-30-118";
	n.school = (char *)"North High School";
	n.child_present_state =
	    NWD__V1__DOMESTIC_ABUSE_NOTIFICATION__CHILD_PRESENCE__PRESENT;
	env.header = &h;
	env.body_case = NWD__V1__ENVELOPE__BODY_DOMESTIC_ABUSE_NOTIFICATION;
	env.domestic_abuse_notification = &n;
	fixture_publish_as("plo-ana", &env, mid, sizeof(mid));
	harness_sql_text("nwd_auditor", reason, sizeof(reason), "SELECT "
	    "rule || ': ' || reason FROM nwd.audit_events WHERE message_id = "
	    "'%s' AND action = 'deadline_set'", mid);
	assert_string_equal(reason, "encompass-school: due 2027-05-04 09:00 "
	    "BST");
	if (nwd_next_delivery(dana, WAIT_MS, &d, err, sizeof(err)) != NWD_OK)
		fail_msg("dsl-dana does not receive it: %s", err);
	/* Tuesday 08:30 BST: the DSL acknowledges. */
	set_clock(utc(2027, 5, 4, 7, 30));
	assert_int_equal(nwd_ack(dana, d->delivery_id,
	    d->envelope->header->message_id, err, sizeof(err)),
	    NWD_OK);
	nwd_deliver_free(d);
	assert_int_equal(rows(mid, "deadline_met"), 1);
	harness_sql_text("nwd_auditor", reason, sizeof(reason), "SELECT "
	    "reason FROM nwd.audit_events WHERE message_id = '%s' AND action = "
	    "'deadline_met'", mid);
	assert_string_equal(reason, "met by the acknowledgement of dsl-dana "
	    "(school_dsl); due 2027-05-04 09:00 BST");
	/* The police publisher sees it met, by a role: not the name. */
	assert_int_equal(harness_run_nwd(out, sizeof(out), "plo-ana",
	    "status %s", mid), 0);
	if (strstr(out, "Deadline    encompass-school: due 2027-05-04 09:00 "
	    "BST; met by a school_dsl (") == NULL || strstr(out, "dsl-dana") !=
	    NULL)
		fail_msg("nwd status: %s", out);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.deadlines WHERE message_id = '%s' AND state = 'met' AND "
	    "met_at = timestamptz '2027-05-04 07:30:00+00' + (met_at - "
	    "date_trunc('minute', met_at))", mid), 1);
	nwd_close(dana);
}

static void
alert(const char *subject, char *mid, size_t len)
{
	struct fixture_alert a;

	fixture_alert_init(&a, subject,
	    NWD__V1__RISK_ALERT__CATEGORY__CRIMINAL_EXPLOITATION,
	    "seen getting into a car with older males");
	a.h.priority = NWD__V1__PRIORITY__URGENT;
	fixture_publish_as("plo-ana", &a.env, mid, len);
}

/* S17: nobody acknowledges an URGENT alert in 15 minutes. */
static void
test_s17_unacknowledged_alert(void **state)
{
	struct nwd_client	*hub, *ben, *duty;
	Nwd__V1__Deliver	*d = NULL;
	Nwd__V1__Escalation	*e;
	char			 mid[40], acked[40], err[512];
	size_t			 i;
	int			 saw_hub = 0, saw_ben = 0;

	(void)state;
	set_clock(utc(2027, 2, 2, 10, 0));
	fixture_allocate("YP-818", "hub:norwich", 0);
	fixture_allocate("YP-818", "sw:north", 0);
	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    "YP-818", NULL);
	ben = fixture_subscribe_as("sw-ben", NWD__V1__KIND__RISK_ALERT,
	    "YP-818", NULL);
	duty = fixture_subscribe_as("duty-mash", NWD__V1__KIND__ESCALATION,
	    "YP-818", NULL);
	alert("YP-818", mid, sizeof(mid));
	/* Both receive it; the hub acknowledges the second one only. */
	assert_int_equal(nwd_next_delivery(hub, WAIT_MS, &d, err,
	    sizeof(err)), NWD_OK);
	nwd_deliver_free(d);
	assert_int_equal(nwd_next_delivery(ben, WAIT_MS, &d, err,
	    sizeof(err)), NWD_OK);
	nwd_deliver_free(d);
	alert("YP-818", acked, sizeof(acked));
	assert_int_equal(nwd_next_delivery(hub, WAIT_MS, &d, err,
	    sizeof(err)), NWD_OK);
	assert_int_equal(nwd_ack(hub, d->delivery_id,
	    d->envelope->header->message_id, err, sizeof(err)),
	    NWD_OK);
	nwd_deliver_free(d);
	assert_int_equal(rows(acked, "deadline_met"), 1);

	set_clock(utc(2027, 2, 2, 10, 16));
	d = escalation(duty, mid, "urgent-alert-ack", 1);
	e = d->envelope->escalation;
	assert_int_equal(e->reason,
	    NWD__V1__ESCALATION__REASON__NOT_ACKNOWLEDGED);
	for (i = 0; i < e->n_reached; i++) {
		saw_hub |= strcmp(e->reached[i], "hubsys-norwich") == 0;
		saw_ben |= strcmp(e->reached[i], "sw-ben") == 0;
	}
	assert_true(saw_hub);
	assert_true(saw_ben);
	assert_int_equal(e->n_acknowledged, 0);
	assert_int_equal(d->envelope->header->priority,
	    NWD__V1__PRIORITY__URGENT);
	nwd_deliver_free(d);
	assert_int_equal(rows(mid, "escalated"), 1);
	/* The acknowledged one escalated nothing. */
	assert_int_equal(rows(acked, "escalated"), 0);
	nwd_close(hub);
	nwd_close(ben);
	nwd_close(duty);
}

static void
camhs_on_consent(Nwd__V1__Envelope *env, Nwd__V1__Header *h,
    Nwd__V1__SubjectRef *s, Nwd__V1__CamhsUpdate *u, const char *subject)
{
	nwd__v1__envelope__init(env);
	nwd__v1__header__init(h);
	nwd__v1__subject_ref__init(s);
	nwd__v1__camhs_update__init(u);
	s->local_id = (char *)subject;
	h->kind = NWD__V1__KIND__CAMHS_UPDATE;
	h->subject = s;
	h->marking = NWD__V1__MARKING__OFFICIAL;
	h->legal_basis = NWD__V1__LEGAL_BASIS__CONSENT;
	u->risk_summary = (char *)"engaging with the anxiety group";
	env->header = h;
	env->body_case = NWD__V1__ENVELOPE__BODY_CAMHS_UPDATE;
	env->camhs_update = u;
}

static void
consent_record(const char *subject, Nwd__V1__ConsentRecord__Status st,
    const char *withdraws, char *mid, size_t len)
{
	Nwd__V1__Envelope	 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header		 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef	 s = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__ConsentRecord	 c = NWD__V1__CONSENT_RECORD__INIT;
	char			*purposes[1] = { (char *)"camhs-sharing" };
	Nwd__V1__Kind		 kinds[1] = { NWD__V1__KIND__CAMHS_UPDATE };

	s.local_id = (char *)subject;
	h.kind = NWD__V1__KIND__CONSENT_RECORD;
	h.subject = &s;
	h.marking = NWD__V1__MARKING__OFFICIAL;
	h.legal_basis = NWD__V1__LEGAL_BASIS__CONSENT;
	c.given_by = (char *)"young person";
	c.status = st;
	if (st == NWD__V1__CONSENT_RECORD__STATUS__GIVEN) {
		c.purposes = purposes;
		c.n_purposes = 1;
		c.kinds = kinds;
		c.n_kinds = 1;
	}
	c.withdraws = (char *)(withdraws != NULL ? withdraws : "");
	c.competence = NWD__V1__CONSENT_RECORD__COMPETENCE__ASSESSED_COMPETENT;
	env.header = &h;
	env.body_case = NWD__V1__ENVELOPE__BODY_CONSENT_RECORD;
	env.consent_record = &c;
	fixture_publish_as("sw-ben", &env, mid, len);
}

/* The share on consent is refused; the error names why. */
static void
camhs_refused(const char *subject, const char *want)
{
	struct nwd_client	*cara = harness_connect_as("camhs-cara");
	Nwd__V1__Envelope	 env;
	Nwd__V1__Header		 h;
	Nwd__V1__SubjectRef	 s;
	Nwd__V1__CamhsUpdate	 u;
	Nwd__V1__PublishAck	*ack = NULL;
	char			 err[512];

	camhs_on_consent(&env, &h, &s, &u, subject);
	assert_int_equal(nwd_publish(cara, &env, &ack, err, sizeof(err)),
	    NWD_ERR_REFUSED);
	assert_null(ack);
	if (strstr(err, want) == NULL)
		fail_msg("refused as \"%s\", not \"%s\"", err, want);
	nwd_close(cara);
}

/*
 * S18 and S19: consent recorded, shared on, withdrawn; the next share on
 * consent is refused naming the withdrawal, and those who received the
 * earlier one are told.
 */
static void
test_s19_consent_withdrawn(void **state)
{
	struct nwd_client	*hub, *ben;
	Nwd__V1__Envelope	 env;
	Nwd__V1__Header		 h;
	Nwd__V1__SubjectRef	 s;
	Nwd__V1__CamhsUpdate	 u;
	Nwd__V1__Deliver	*d = NULL;
	char			 given[40], withdrawn[40], shared[40];
	char			 want[160], err[512], out[16384];
	const char		*g, *w;

	(void)state;
	set_clock(utc(2027, 6, 1, 9, 0));
	fixture_allocate("YP-830", "hub:norwich", 0);
	fixture_allocate("YP-830", "sw:north", 0);
	fixture_allocate("YP-830", "camhs:central", 0);
	/* No consent yet: a share on consent is refused. */
	camhs_refused("YP-830", "legal basis consent, but no consent of "
	    "YP-830 covering this share is recorded");
	consent_record("YP-830", NWD__V1__CONSENT_RECORD__STATUS__GIVEN, NULL,
	    given, sizeof(given));
	camhs_on_consent(&env, &h, &s, &u, "YP-830");
	fixture_publish_as("camhs-cara", &env, shared, sizeof(shared));
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = 'deliver' "
	    "AND recipient IN ('sw-ben', 'hubsys-norwich')", shared), 2);

	hub = fixture_subscribe_as("hubsys-norwich",
	    NWD__V1__KIND__CONSENT_RECORD,
	    "YP-830", NULL);
	ben = fixture_subscribe_as("sw-ben", NWD__V1__KIND__CONSENT_RECORD,
	    "YP-830", NULL);
	consent_record("YP-830", NWD__V1__CONSENT_RECORD__STATUS__WITHDRAWN,
	    given, withdrawn, sizeof(withdrawn));
	snprintf(want, sizeof(want), "legal basis consent, but consent of "
	    "YP-830 was withdrawn (record %s, 2027-06-01)", withdrawn);
	camhs_refused("YP-830", want);

	/* sw-ben, who received the share on consent, is told. */
	if (nwd_next_delivery(ben, WAIT_MS, &d, err, sizeof(err)) != NWD_OK)
		fail_msg("sw-ben is not told: %s", err);
	assert_string_equal(d->envelope->header->sender, "nwd");
	assert_string_equal(d->envelope->header->references, withdrawn);
	assert_int_equal(d->envelope->consent_record->status,
	    NWD__V1__CONSENT_RECORD__STATUS__WITHDRAWN);
	nwd_deliver_free(d);
	/* The hub gets the withdrawal, then the notice. */
	assert_int_equal(nwd_next_delivery(hub, WAIT_MS, &d, err,
	    sizeof(err)), NWD_OK);
	assert_string_equal(d->envelope->header->message_id, withdrawn);
	nwd_deliver_free(d);
	assert_int_equal(nwd_next_delivery(hub, WAIT_MS, &d, err,
	    sizeof(err)), NWD_OK);
	assert_string_equal(d->envelope->header->sender, "nwd");
	assert_string_equal(d->envelope->header->references, withdrawn);
	nwd_deliver_free(d);
	nwd_close(hub);
	nwd_close(ben);

	/* The SAR shows the consent given, then withdrawn. */
	assert_int_equal(harness_run_nwd(out, sizeof(out), "auditor-dan",
	    "sar --subject YP-830 --format json"), 0);
	g = strstr(out, "\"GIVEN\"");
	w = strstr(out, "\"WITHDRAWN\"");
	assert_non_null(g);
	assert_non_null(w);
	assert_true(g < w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_s14_breach_escalates),
		cmocka_unit_test(test_s15_return_interview_meets),
		cmocka_unit_test(test_restart_escalates_once),
		cmocka_unit_test(test_s17_unacknowledged_alert),
		cmocka_unit_test(test_s16_encompass_met_by_school),
		cmocka_unit_test(test_s19_consent_withdrawn),
	};

	return cmocka_run_group_tests_name("clocks", tests, group_setup,
	    group_teardown);
}
