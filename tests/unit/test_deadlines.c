/*
 * Unit tests for daemon/policy_deadline.c: the policy's deadline rules
 * (issue 17), parsed and evaluated against the real calendar module.
 *
 * - The example rules of SCENARIOS.md S14-S17 parse; each bad rule is
 *   refused with its FILE:LINE:COL message.
 * - S14: a MissingEpisode FOUND at Friday 16:00 sets a 72-hour deadline
 *   due Monday 16:00, and across the October clock change Monday 15:00
 *   (72 real hours); REPORTED_MISSING sets none; found_unix_ms 0 counts
 *   from receipt.
 * - S16: a DomesticAbuseNotification on a Friday at 22:00 before a
 *   bank-holiday Monday in term is due Tuesday 09:00 with the calendar;
 *   without one, Monday 09:00 (weekdays only: never later) with a note.
 * - S17: URGENT and HIGH RiskAlerts must be acknowledged in 15 and 60
 *   minutes; ROUTINE ones set nothing; what closes each rule.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "calendar.h"
#include "envelope.h"
#include "policy.h"

#define RULES \
	"role hub_system: agency hub\n" \
	"role school_dsl: agency education\n" \
	"role police_liaison: agency police\n" \
	"deadline return-interview: kinds missing_episode\n" \
	"    when status is FOUND\n" \
	"    from found_unix_ms\n" \
	"    within 72 hours\n" \
	"    closed by missing_episode referencing\n" \
	"    escalate every 24 hours\n" \
	"deadline encompass: kinds domestic_abuse_notification\n" \
	"    from receipt\n" \
	"    before next school day 09:00\n" \
	"    closed by ack roles school_dsl\n" \
	"deadline urgent-ack: kinds risk_alert priority urgent\n" \
	"    within 15 minutes closed by ack escalate every 15 minutes\n" \
	"deadline high-ack: kinds risk_alert priority high\n" \
	"    within 60 minutes closed by ack\n" \
	"deadline referral: kinds strategy_discussion_request\n" \
	"    within 1 working day closed by ack\n"

#define CALENDAR \
	"covers 2026-01-01 2027-12-31\n" \
	"holiday 2027-05-03 Early May bank holiday\n" \
	"term 2027-04-12 2027-07-21 summer\n"

static struct policy	*pol;
static struct calendar	*cal;

static int
setup(void **state)
{
	char err[512];

	(void)state;
	if ((pol = policy_parse(RULES, strlen(RULES), "t.nwd", err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	if ((cal = calendar_parse(CALENDAR, strlen(CALENDAR), "t.cal", err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	policy_free(pol);
	calendar_free(cal);
	return 0;
}

/* Local time in Europe/London, as Unix ms. */
static int64_t
at(int y, int m, int d, int hh, int mm)
{
	int64_t ms;

	assert_int_equal(calendar_utc(y, m, d, hh, mm, &ms), 0);
	return ms;
}

struct msg {
	Nwd__V1__Envelope	env;
	Nwd__V1__Header		h;
	Nwd__V1__SubjectRef	subj;
	Nwd__V1__MissingEpisode	me;
	Nwd__V1__DomesticAbuseNotification dan;
	Nwd__V1__RiskAlert	ra;
	Nwd__V1__StrategyDiscussionRequest sdr;
};

static void
msg_init(struct msg *m, Nwd__V1__Kind kind)
{
	memset(m, 0, sizeof(*m));
	nwd__v1__envelope__init(&m->env);
	nwd__v1__header__init(&m->h);
	nwd__v1__subject_ref__init(&m->subj);
	m->subj.local_id = (char *)"YP-001";
	m->h.subject = &m->subj;
	m->h.kind = kind;
	m->h.priority = NWD__V1__PRIORITY__ROUTINE;
	m->env.header = &m->h;
	switch (kind) {
	case NWD__V1__KIND__MISSING_EPISODE:
		nwd__v1__missing_episode__init(&m->me);
		m->env.body_case = NWD__V1__ENVELOPE__BODY_MISSING_EPISODE;
		m->env.missing_episode = &m->me;
		break;
	case NWD__V1__KIND__DOMESTIC_ABUSE_NOTIFICATION:
		nwd__v1__domestic_abuse_notification__init(&m->dan);
		m->env.body_case =
		    NWD__V1__ENVELOPE__BODY_DOMESTIC_ABUSE_NOTIFICATION;
		m->env.domestic_abuse_notification = &m->dan;
		break;
	case NWD__V1__KIND__RISK_ALERT:
		nwd__v1__risk_alert__init(&m->ra);
		m->env.body_case = NWD__V1__ENVELOPE__BODY_RISK_ALERT;
		m->env.risk_alert = &m->ra;
		break;
	case NWD__V1__KIND__STRATEGY_DISCUSSION_REQUEST:
		nwd__v1__strategy_discussion_request__init(&m->sdr);
		m->env.body_case =
		    NWD__V1__ENVELOPE__BODY_STRATEGY_DISCUSSION_REQUEST;
		m->env.strategy_discussion_request = &m->sdr;
		break;
	default:
		fail_msg("kind %d not in this test", kind);
	}
}

static size_t
deadlines(struct msg *m, const struct calendar *c, int64_t received,
    struct policy_deadline *out)
{
	size_t n = 99;

	assert_int_equal(policy_deadlines(pol, c, &m->env, received, out, 4,
	    &n), 0);
	return n;
}

static void
test_parse(void **state)
{
	(void)state;
	assert_int_equal(policy_ndeadlines(pol), 5);
	assert_string_equal(policy_deadline_needs_calendar(pol), "encompass");
	assert_int_equal(policy_deadline_every(pol, "return-interview"),
	    24 * 3600 * 1000);
	assert_int_equal(policy_deadline_every(pol, "high-ack"), 0);
	assert_true(policy_deadline_known(pol, "urgent-ack"));
	assert_false(policy_deadline_known(pol, "nope"));
}

/* S14 and S15: 72 hours from when the child was found. */
static void
test_return_interview(void **state)
{
	struct policy_deadline	d[4];
	struct msg		m;
	int64_t			received = at(2027, 1, 8, 17, 0);

	(void)state;
	msg_init(&m, NWD__V1__KIND__MISSING_EPISODE);
	m.me.status = NWD__V1__MISSING_EPISODE__STATUS__FOUND;
	m.me.found_unix_ms = at(2027, 1, 8, 16, 0);	/* a Friday */
	assert_int_equal(deadlines(&m, cal, received, d), 1);
	assert_string_equal(d[0].rule, "return-interview");
	assert_int_equal(d[0].start_ms, at(2027, 1, 8, 16, 0));
	assert_int_equal(d[0].due_ms, at(2027, 1, 11, 16, 0));
	assert_int_equal(d[0].every_ms, 24 * 3600 * 1000);
	assert_false(d[0].by_ack);
	assert_string_equal(d[0].note, "");
	/* Closed by a message of the kind that references it, no other. */
	assert_true(policy_deadline_closed_by_message(pol, "return-interview",
	    NWD__V1__KIND__MISSING_EPISODE));
	assert_false(policy_deadline_closed_by_message(pol,
	    "return-interview", NWD__V1__KIND__RISK_ALERT));
	assert_false(policy_deadline_closed_by_ack(pol, "return-interview",
	    "hub_system"));

	/* 72 real hours across the October change: an hour earlier. */
	m.me.found_unix_ms = at(2026, 10, 23, 16, 0);
	assert_int_equal(deadlines(&m, cal, received, d), 1);
	assert_int_equal(d[0].due_ms, at(2026, 10, 26, 15, 0));

	/* No found time: from receipt. */
	m.me.found_unix_ms = 0;
	assert_int_equal(deadlines(&m, cal, received, d), 1);
	assert_int_equal(d[0].start_ms, received);
	assert_int_equal(d[0].due_ms, received + 72 * 3600 * INT64_C(1000));

	/* Still missing: no clock. */
	m.me.status = NWD__V1__MISSING_EPISODE__STATUS__REPORTED_MISSING;
	assert_int_equal(deadlines(&m, cal, received, d), 0);
}

/* S16: before the next school day, across a bank-holiday weekend. */
static void
test_encompass(void **state)
{
	struct policy_deadline	d[4];
	struct msg		m;
	int64_t			friday = at(2027, 4, 30, 22, 0);

	(void)state;
	msg_init(&m, NWD__V1__KIND__DOMESTIC_ABUSE_NOTIFICATION);
	assert_int_equal(deadlines(&m, cal, friday, d), 1);
	assert_string_equal(d[0].rule, "encompass");
	assert_int_equal(d[0].due_ms, at(2027, 5, 4, 9, 0));
	assert_true(d[0].by_ack);
	assert_string_equal(d[0].note, "");
	assert_true(policy_deadline_closed_by_ack(pol, "encompass",
	    "school_dsl"));
	assert_false(policy_deadline_closed_by_ack(pol, "encompass",
	    "hub_system"));
	/* Before 09:00 on a school day: that day. */
	assert_int_equal(deadlines(&m, cal, at(2027, 5, 4, 7, 0), d), 1);
	assert_int_equal(d[0].due_ms, at(2027, 5, 4, 9, 0));

	/* No calendar: weekdays only, so Monday: never later, and said. */
	assert_int_equal(deadlines(&m, NULL, friday, d), 1);
	assert_int_equal(d[0].due_ms, at(2027, 5, 3, 9, 0));
	assert_non_null(strstr(d[0].note, "no calendar"));
	/* Outside the calendar's terms: the same, with its reason. */
	assert_int_equal(deadlines(&m, cal, at(2027, 8, 6, 22, 0), d), 1);
	assert_int_equal(d[0].due_ms, at(2027, 8, 9, 9, 0));
	assert_non_null(strstr(d[0].note, "does not cover"));
}

/* S17: URGENT and HIGH alerts must be acknowledged. */
static void
test_acknowledgement(void **state)
{
	struct policy_deadline	d[4];
	struct msg		m;
	int64_t			now = at(2027, 2, 2, 10, 0);

	(void)state;
	msg_init(&m, NWD__V1__KIND__RISK_ALERT);
	assert_int_equal(deadlines(&m, cal, now, d), 0);
	m.h.priority = NWD__V1__PRIORITY__URGENT;
	assert_int_equal(deadlines(&m, cal, now, d), 1);
	assert_string_equal(d[0].rule, "urgent-ack");
	assert_int_equal(d[0].due_ms, now + 15 * 60 * 1000);
	assert_int_equal(d[0].every_ms, 15 * 60 * 1000);
	assert_true(policy_deadline_closed_by_ack(pol, "urgent-ack",
	    "hub_system"));
	m.h.priority = NWD__V1__PRIORITY__HIGH;
	assert_int_equal(deadlines(&m, cal, now, d), 1);
	assert_string_equal(d[0].rule, "high-ack");
	assert_int_equal(d[0].due_ms, now + 60 * 60 * 1000);
}

/* One working day: the same time on the next working day. */
static void
test_working_day(void **state)
{
	struct policy_deadline	d[4];
	struct msg		m;

	(void)state;
	msg_init(&m, NWD__V1__KIND__STRATEGY_DISCUSSION_REQUEST);
	assert_int_equal(deadlines(&m, cal, at(2027, 4, 30, 15, 0), d), 1);
	assert_int_equal(d[0].due_ms, at(2027, 5, 4, 15, 0));
}

static void
expect_refused(const char *text, const char *want)
{
	struct policy	*p;
	char		 err[512];

	p = policy_parse(text, strlen(text), "b.nwd", err, sizeof(err));
	if (p != NULL) {
		policy_free(p);
		fail_msg("accepted: %s", text);
	}
	if (strcmp(err, want) != 0)
		fail_msg("expected \"%s\", got \"%s\"", want, err);
}

static void
test_refusals(void **state)
{
	(void)state;
	expect_refused("deadline d: kinds missing_epsiode within 1 hours "
	    "closed by ack\n", "b.nwd:1:19: unknown kind \"missing_epsiode\" "
	    "(kinds are the Envelope body names, e.g. missing_episode)");
	expect_refused("deadline d: kinds risk_alert within -5 hours "
	    "closed by ack\n", "b.nwd:1:37: expected a number, got \"-5\"");
	expect_refused("deadline d: kinds risk_alert within 0 hours "
	    "closed by ack\n", "b.nwd:1:37: expected a whole number from 1 "
	    "to 527040, got \"0\"");
	expect_refused("deadline d: kinds risk_alert within 3 days "
	    "closed by ack\n", "b.nwd:1:39: expected minutes or hours or "
	    "working days after the number, got \"days\"");
	expect_refused("deadline d: kinds risk_alert closed by ack\n",
	    "b.nwd:2:1: deadline \"d\" (line 1) needs a length (within ... "
	    "or before next school day HH:MM)");
	expect_refused("deadline d: kinds risk_alert within 1 hours\n",
	    "b.nwd:2:1: deadline \"d\" (line 1) needs closed by ...");
	expect_refused("deadline d: kinds missing_episode when state is FOUND "
	    "within 1 hours closed by ack\n", "b.nwd:1:40: missing_episode "
	    "has no field \"state\"");
	expect_refused("deadline d: kinds missing_episode when status is LOST "
	    "within 1 hours closed by ack\n", "b.nwd:1:40: \"LOST\" is not a "
	    "value of missing_episode's field \"status\"");
	expect_refused("deadline d: kinds missing_episode from circumstances "
	    "within 1 hours closed by ack\n", "b.nwd:1:40: missing_episode's "
	    "field \"circumstances\" is not a time (int64 Unix "
	    "milliseconds)");
	expect_refused("deadline d: kinds risk_alert before next school day "
	    "9:00 closed by ack\n", "b.nwd:1:53: expected a time HH:MM "
	    "(00:00 to 23:59), got \"9:00\"");
	expect_refused("deadline d: kinds risk_alert within 1 hours within 2 "
	    "hours closed by ack\n", "b.nwd:1:45: within given twice (a "
	    "deadline has one length)");
	expect_refused("deadline d: kinds risk_alert within 1 hours closed by "
	    "risk_alert\n", "b.nwd:2:1: expected referencing after the "
	    "closing kinds (a message of that kind about the same subject "
	    "whose header references this one), got end of file");
	expect_refused("role a: agency x\ndeadline d: kinds risk_alert within "
	    "1 hours closed by ack roles b\n", "b.nwd:2:65: role \"b\" is not "
	    "declared");
	expect_refused("deadline d: kinds risk_alert within 1 hours closed by "
	    "ack\ndeadline d: kinds risk_alert within 1 hours closed by ack\n",
	    "b.nwd:2:10: deadline \"d\" is already defined on line 1");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_return_interview),
		cmocka_unit_test(test_encompass),
		cmocka_unit_test(test_acknowledgement),
		cmocka_unit_test(test_working_day),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests_name("deadlines", tests, setup,
	    teardown);
}
