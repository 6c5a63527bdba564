/*
 * Integration tests of corrections and retractions (issue 18, SCENARIOS.md
 * S20-S22) against a real nwdd and PostgreSQL with real certificates.
 *
 * - S20: plo-ana's RiskAlert on YP-002 reaches hubsys-dereham and
 *   hubsys-norwich; hub:norwich's allocation ends; her correction reaches
 *   hubsys-dereham with its content and hubsys-norwich as a
 *   WithdrawalNotice from nwd (the original's id, "corrected", nothing of
 *   either message); nobody else; both audited; nwd status of the original
 *   says "corrected by".
 * - S21: keyworker-kim (hub) correcting plo-ana's (police) alert is refused:
 *   another agency's message; audited.
 * - S22: sw-ben correcting his own message but naming YP-003 is refused:
 *   another young person; audited.
 * - A colleague of the same agency corrects under the policy's correct
 *   rule; a nonexistent id and a correction of another kind are refused,
 *   each audited (a purged message: tests/unit/test_decide.c).
 * - A Retraction reaches the same people the same way (RETRACTED), and a
 *   retracted message can be neither corrected nor retracted again; a
 *   Retraction without supersedes or without a reason is refused.
 * - A durable subscriber away during both gets the original, then the
 *   correction, in order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "harness.h"
#include "nwd.h"

#define WAIT_MS		20000
#define NOBODY_ID	"01890a5d-ac96-774b-bcce-b302099a8057"

static struct harness_daemon *daemon_main;

/* One message of the tests: a RiskAlert unless changed. */
struct msg {
	Nwd__V1__Envelope	 env;
	Nwd__V1__Header		 hdr;
	Nwd__V1__SubjectRef	 subj;
	Nwd__V1__RiskAlert	 alert;
	Nwd__V1__Retraction	 retraction;
	Nwd__V1__MissingEpisode	 episode;
};

static void
alert_init(struct msg *m, const char *subject, const char *summary,
    const char *supersedes)
{
	memset(m, 0, sizeof(*m));
	nwd__v1__envelope__init(&m->env);
	nwd__v1__header__init(&m->hdr);
	nwd__v1__subject_ref__init(&m->subj);
	nwd__v1__risk_alert__init(&m->alert);
	m->subj.local_id = (char *)subject;
	m->hdr.kind = NWD__V1__KIND__RISK_ALERT;
	m->hdr.subject = &m->subj;
	m->hdr.marking = NWD__V1__MARKING__OFFICIAL;
	m->hdr.priority = NWD__V1__PRIORITY__ROUTINE;
	m->hdr.legal_basis = NWD__V1__LEGAL_BASIS__SAFEGUARDING;
	if (supersedes != NULL)
		m->hdr.supersedes = (char *)supersedes;
	m->alert.category = NWD__V1__RISK_ALERT__CATEGORY__CRIMINAL_EXPLOITATION;
	m->alert.level = NWD__V1__RISK_ALERT__LEVEL__HIGH;
	m->alert.summary = (char *)summary;
	m->env.header = &m->hdr;
	m->env.body_case = NWD__V1__ENVELOPE__BODY_RISK_ALERT;
	m->env.risk_alert = &m->alert;
}

static void
retraction_init(struct msg *m, const char *subject, const char *supersedes,
    Nwd__V1__Retraction__Reason reason)
{
	alert_init(m, subject, "", supersedes);
	nwd__v1__retraction__init(&m->retraction);
	m->retraction.reason = reason;
	m->hdr.kind = NWD__V1__KIND__RETRACTION;
	m->env.body_case = NWD__V1__ENVELOPE__BODY_RETRACTION;
	m->env.retraction = &m->retraction;
}

/* Publishes as c; the new id into mid, the ack into *ackp if not NULL. */
static void
publish_ok(struct nwd_client *c, struct msg *m, char *mid,
    Nwd__V1__PublishAck **ackp)
{
	Nwd__V1__PublishAck	*ack = NULL;
	char			 err[512];

	if (nwd_publish(c, &m->env, &ack, err, sizeof(err)) != NWD_OK)
		fail_msg("publish as %s: %s", nwd_principal(c)->id, err);
	snprintf(mid, 40, "%s", ack->message_id);
	if (ackp != NULL)
		*ackp = ack;
	else
		nwd_publish_ack_free(ack);
}

/*
 * Publishes as who and expects a refusal with code, whose text holds
 * needle, and a publish_refused row of who naming rule whose reason holds
 * needle.
 */
static void
publish_refused(const char *who, struct msg *m, Nwd__V1__ErrorCode code,
    const char *rule, const char *needle)
{
	struct nwd_client	*c = harness_connect_as(who);
	Nwd__V1__PublishAck	*ack = NULL;
	char			 err[512];
	int			 before;

	before = harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'publish_refused' AND actor = "
	    "'%s' AND rule IS NOT DISTINCT FROM %s%s%s AND strpos(reason, "
	    "'%s') > 0", who, rule != NULL ? "'" : "", rule != NULL ? rule :
	    "NULL", rule != NULL ? "'" : "", needle);
	if (nwd_publish(c, &m->env, &ack, err, sizeof(err)) == NWD_OK)
		fail_msg("%s's publish was not refused", who);
	if (nwd_last_server_error(c) != code)
		fail_msg("%s's publish was refused with code %d, not %d: %s",
		    who, (int)nwd_last_server_error(c), (int)code, err);
	if (strstr(err, needle) == NULL)
		fail_msg("refusal \"%s\" does not say \"%s\"", err, needle);
	harness_wait_sql_int("nwd_auditor", WAIT_MS, before + 1, "SELECT "
	    "count(*) FROM nwd.audit_events WHERE action = 'publish_refused' "
	    "AND actor = '%s' AND rule IS NOT DISTINCT FROM %s%s%s AND "
	    "strpos(reason, '%s') > 0", who, rule != NULL ? "'" : "",
	    rule != NULL ? rule : "NULL", rule != NULL ? "'" : "", needle);
	nwd_close(c);
}

static int
allocate(const char *subject, const char *team, int64_t until_ms)
{
	struct nwd_client	*c = harness_connect_as("case-system");
	Nwd__V1__Envelope	 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header		 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef	 s = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__Allocation	 a = NWD__V1__ALLOCATION__INIT;
	Nwd__V1__PublishAck	*ack = NULL;
	char			 err[512];
	int			 rc;

	s.local_id = (char *)subject;
	h.kind = NWD__V1__KIND__ALLOCATION;
	h.subject = &s;
	h.marking = NWD__V1__MARKING__OFFICIAL;
	h.priority = NWD__V1__PRIORITY__ROUTINE;
	h.legal_basis = NWD__V1__LEGAL_BASIS__PUBLIC_TASK;
	a.team = (char *)team;
	a.until_unix_ms = until_ms;
	env.header = &h;
	env.body_case = NWD__V1__ENVELOPE__BODY_ALLOCATION;
	env.allocation = &a;
	rc = nwd_publish(c, &env, &ack, err, sizeof(err)) == NWD_OK ? 0 : -1;
	if (rc == -1)
		fprintf(stderr, "allocate %s to %s: %s\n", subject, team, err);
	nwd_publish_ack_free(ack);
	nwd_close(c);
	return rc;
}

/* who, subscribed to every kind about subject. */
static struct nwd_client *
listener(const char *who, const char *subject)
{
	struct nwd_client	*c = harness_connect_as(who);
	const char		*subjects[1] = { subject };
	const Nwd__V1__Kind	 kinds[3] = { NWD__V1__KIND__RISK_ALERT,
				    NWD__V1__KIND__RETRACTION,
				    NWD__V1__KIND__WITHDRAWAL_NOTICE };
	char			 err[512];

	if (nwd_subscribe(c, kinds, 3, subjects, 1, NULL, NULL, err,
	    sizeof(err)) != NWD_OK)
		fail_msg("subscribe as %s: %s", who, err);
	return c;
}

static Nwd__V1__Deliver *
next(struct nwd_client *c)
{
	Nwd__V1__Deliver	*d = NULL;
	char			 err[512];

	if (nwd_next_delivery(c, WAIT_MS, &d, err, sizeof(err)) != NWD_OK)
		fail_msg("%s received nothing: %s", nwd_principal(c)->id, err);
	return d;
}

/* Nothing more is on its way to c (the Pong comes after it). */
static void
nothing_more(struct nwd_client *c)
{
	Nwd__V1__Deliver	*d = NULL;
	char			 err[512];

	assert_int_equal(nwd_ping(c, err, sizeof(err)), NWD_OK);
	if (nwd_next_delivery(c, 0, &d, err, sizeof(err)) == NWD_OK)
		fail_msg("%s received %s message %s that it should not have",
		    nwd_principal(c)->id, d->envelope != NULL ?
		    d->envelope->header->message_id : "?", d->rule);
}

/* Bytes of a Deliver hold needle? */
static int
deliver_contains(const Nwd__V1__Deliver *d, const char *needle)
{
	uint8_t	buf[65536];
	size_t	n = nwd__v1__deliver__get_packed_size(d), l = strlen(needle);
	size_t	i;

	assert_true(n <= sizeof(buf));
	nwd__v1__deliver__pack(d, buf);
	for (i = 0; i + l <= n; i++)
		if (memcmp(buf + i, needle, l) == 0)
			return 1;
	return 0;
}

/* d is nwd's notice that withdrawn was withdrawn (how) by by. */
static void
expect_notice(const Nwd__V1__Deliver *d, const char *withdrawn,
    const char *by, Nwd__V1__WithdrawalNotice__How how, const char *secret)
{
	const Nwd__V1__Header *h = d->envelope->header;

	assert_int_equal(h->kind, NWD__V1__KIND__WITHDRAWAL_NOTICE);
	assert_string_equal(h->sender, "nwd");
	assert_string_equal(h->supersedes, withdrawn);
	assert_int_equal(d->envelope->body_case,
	    NWD__V1__ENVELOPE__BODY_WITHDRAWAL_NOTICE);
	assert_string_equal(d->envelope->withdrawal_notice->withdrawn_message_id,
	    withdrawn);
	assert_string_equal(d->envelope->withdrawal_notice->by_message_id, by);
	assert_int_equal(d->envelope->withdrawal_notice->how, how);
	assert_string_equal(d->rule, "withdrawal-notice");
	/* Nothing of what the message or its correction said. */
	assert_false(deliver_contains(d, secret));
}

static int
group_setup(void **state)
{
	(void)state;
	if ((daemon_main = harness_daemon_start(NULL)) == NULL)
		return -1;
	if (allocate("YP-001", "hub:norwich", 0) == -1 ||
	    allocate("YP-001", "sw:north", 0) == -1 ||
	    allocate("YP-002", "hub:dereham", 0) == -1)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	return harness_daemon_stop(daemon_main) == 0 ? 0 : -1;
}

/* S20. */
static void
test_s20_correction_reaches_everyone_told(void **state)
{
	struct nwd_client	*plo, *der, *nor, *ben;
	Nwd__V1__PublishAck	*ack = NULL;
	Nwd__V1__Deliver	*d;
	struct msg		 m;
	char			 orig[40], corr[40], out[8192];

	(void)state;
	assert_int_equal(allocate("YP-002", "hub:norwich", 0), 0);
	plo = harness_connect_as("plo-ana");
	der = listener("hubsys-dereham", "YP-002");
	nor = listener("hubsys-norwich", "YP-002");
	ben = listener("sw-ben", "YP-002");

	alert_init(&m, "YP-002", "seen with an older male at the station",
	    NULL);
	publish_ok(plo, &m, orig, &ack);
	assert_int_equal(ack->recipients, 2);
	assert_int_equal(ack->notices, 0);
	nwd_publish_ack_free(ack);
	d = next(der);
	assert_string_equal(d->envelope->header->message_id, orig);
	nwd_deliver_free(d);
	d = next(nor);
	assert_string_equal(d->envelope->header->message_id, orig);
	nwd_deliver_free(d);

	/* hub:norwich's allocation of YP-002 ends. */
	assert_int_equal(allocate("YP-002", "hub:norwich",
	    harness_wall_ms()), 0);

	alert_init(&m, "YP-002", "CORRECTED: seen alone at the station",
	    orig);
	publish_ok(plo, &m, corr, &ack);
	assert_int_equal(ack->recipients, 1);
	assert_int_equal(ack->notices, 1);
	assert_false(ack->duty_desk);
	nwd_publish_ack_free(ack);

	/* Dereham: the correction, whole as the policy allows. */
	d = next(der);
	assert_string_equal(d->envelope->header->message_id, corr);
	assert_string_equal(d->envelope->header->supersedes, orig);
	assert_string_equal(d->envelope->risk_alert->summary,
	    "CORRECTED: seen alone at the station");
	nwd_deliver_free(d);
	/* Norwich: the notice, and nothing of either message. */
	d = next(nor);
	expect_notice(d, orig, corr, NWD__V1__WITHDRAWAL_NOTICE__HOW__CORRECTED,
	    "station");
	assert_int_equal(d->envelope->header->kind,
	    NWD__V1__KIND__WITHDRAWAL_NOTICE);
	nwd_deliver_free(d);
	/* sw-ben never had the original: neither correction nor notice. */
	nothing_more(ben);
	nothing_more(der);
	nothing_more(nor);

	/* Audited: the correction's decisions, the notice's delivery, the
	 * correction marked told. */
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = 'deliver' "
	    "AND recipient = 'hubsys-dereham'", corr), 1);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = "
	    "'deliver_refused' AND recipient = 'hubsys-norwich' AND rule = "
	    "'hub-alerts'", corr), 1);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND recipient = "
	    "'sw-ben'", corr), 0);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = 'publish' "
	    "AND actor = 'plo-ana' AND strpos(rule, 'own-message') > 0", corr),
	    1);
	harness_wait_sql_int("nwd_auditor", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.corrections c JOIN nwd.audit_events e ON e.message_id = "
	    "c.notice_id WHERE c.message_id = '%s' AND c.how = 'corrected' "
	    "AND c.notice_to = '{hubsys-norwich}' AND e.action = 'deliver' AND "
	    "e.recipient = 'hubsys-norwich' AND e.rule = 'withdrawal-notice' "
	    "AND e.route = 'live'", corr);

	/* nwd status of the original says by which message it was
	 * corrected. */
	assert_int_equal(harness_run_nwd(out, sizeof(out), "plo-ana",
	    "status %s", orig), 0);
	if (strstr(out, "Corrected by") == NULL || strstr(out, corr) == NULL)
		fail_msg("nwd status of the original: %s", out);

	/* A correction of the correction reaches everyone the chain
	 * reached: Dereham with content, Norwich (reached by the original
	 * only) told again. */
	{
		char corr2[40];

		alert_init(&m, "YP-002", "CORRECTED AGAIN: at the bus station",
		    corr);
		publish_ok(plo, &m, corr2, &ack);
		assert_int_equal(ack->recipients, 1);
		assert_int_equal(ack->notices, 1);
		nwd_publish_ack_free(ack);
		d = next(der);
		assert_string_equal(d->envelope->header->message_id, corr2);
		nwd_deliver_free(d);
		d = next(nor);
		expect_notice(d, corr, corr2,
		    NWD__V1__WITHDRAWAL_NOTICE__HOW__CORRECTED, "station");
		nwd_deliver_free(d);
		nothing_more(ben);
		assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) "
		    "FROM nwd.corrections WHERE message_id = '%s' AND "
		    "supersedes = '%s' AND root = '%s'", corr2, corr, orig), 1);
	}

	/* The audit trail and the subject access report say so too. */
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = 'publish' "
	    "AND reason = 'corrects message %s'", corr, orig), 1);
	{
		static char	sar[262144];
		char		want[200];

		assert_int_equal(harness_run_nwd(sar, sizeof(sar),
		    "auditor-dan", "sar --subject YP-002"), 0);
		snprintf(want, sizeof(want), "  Corrected by   %s (", corr);
		if (strstr(sar, want) == NULL)
			fail_msg("the SAR does not show the correction:\n%s",
			    sar);
		snprintf(want, sizeof(want), "  Corrects       %s\n", orig);
		assert_non_null(strstr(sar, want));
		assert_int_equal(harness_run_nwd(sar, sizeof(sar),
		    "auditor-dan", "sar --subject YP-002 --format json"), 0);
		snprintf(want, sizeof(want), "\"corrected_by\":[\"%s\"]",
		    corr);
		if (strstr(sar, want) == NULL)
			fail_msg("the SAR (JSON) lacks %s", want);
	}

	nwd_close(plo);
	nwd_close(der);
	nwd_close(nor);
	nwd_close(ben);
}

/* S21: another agency's message. */
static void
test_s21_other_agency_refused(void **state)
{
	struct nwd_client	*plo = harness_connect_as("plo-ana");
	struct msg		 m;
	char			 orig[40];

	(void)state;
	alert_init(&m, "YP-001", "police alert", NULL);
	publish_ok(plo, &m, orig, NULL);
	nwd_close(plo);
	alert_init(&m, "YP-001", "kim's version", orig);
	publish_refused("keyworker-kim", &m, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN,
	    "supersedes", "published by another agency (police)");
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.corrections WHERE supersedes = '%s'", orig), 0);
}

/* S22: another young person. */
static void
test_s22_other_subject_refused(void **state)
{
	struct nwd_client	*ben = harness_connect_as("sw-ben");
	struct msg		 m;
	char			 orig[40];

	(void)state;
	alert_init(&m, "YP-001", "ben's alert", NULL);
	publish_ok(ben, &m, orig, NULL);
	nwd_close(ben);
	alert_init(&m, "YP-003", "ben's alert, about YP-003", orig);
	publish_refused("sw-ben", &m, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN,
	    "supersedes", "is about another young person, not YP-003");
}

/* A colleague of the same agency may; a correction of another kind, an
 * id nwd does not hold and a purged message are refused. */
static void
test_colleague_and_bad_targets(void **state)
{
	struct nwd_client	*hub = harness_connect_as("hubsys-norwich");
	struct nwd_client	*kim = harness_connect_as("keyworker-kim");
	Nwd__V1__PublishAck	*ack = NULL;
	struct msg		 m;
	char			 orig[40], corr[40];

	(void)state;
	alert_init(&m, "YP-001", "hub alert", NULL);
	publish_ok(hub, &m, orig, NULL);
	alert_init(&m, "YP-001", "hub alert, corrected by a colleague", orig);
	publish_ok(kim, &m, corr, &ack);
	assert_true(ack->recipients >= 1);
	nwd_publish_ack_free(ack);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = 'publish' "
	    "AND strpos(rule, 'same-agency') > 0", corr), 1);

	/* Another kind. */
	memset(&m, 0, sizeof(m));
	alert_init(&m, "YP-001", "", orig);
	nwd__v1__missing_episode__init(&m.episode);
	m.episode.status = NWD__V1__MISSING_EPISODE__STATUS__REPORTED_MISSING;
	m.episode.reported_unix_ms = harness_wall_ms();
	m.hdr.kind = NWD__V1__KIND__MISSING_EPISODE;
	m.env.body_case = NWD__V1__ENVELOPE__BODY_MISSING_EPISODE;
	m.env.missing_episode = &m.episode;
	publish_refused("hubsys-norwich", &m,
	    NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE, "supersedes",
	    "a correction is of the kind it corrects");

	/* An id nwd does not hold. */
	alert_init(&m, "YP-001", "correcting nothing", NOBODY_ID);
	publish_refused("hubsys-norwich", &m,
	    NWD__V1__ERROR_CODE__ERROR_NOT_FOUND, "supersedes",
	    "which nwd does not hold");

	/* (A purged message: test_decide's test_withdraw_refusals; a purge
	 * here would need retention's audited purge.) */
	nwd_close(hub);
	nwd_close(kim);
}

/* Retraction: the same reach; then the message is closed to changes. */
static void
test_retraction(void **state)
{
	struct nwd_client	*plo, *der, *nor;
	Nwd__V1__PublishAck	*ack = NULL;
	Nwd__V1__Deliver	*d;
	struct msg		 m;
	char			 orig[40], retr[40];

	(void)state;
	assert_int_equal(allocate("YP-002", "hub:norwich", 0), 0);
	plo = harness_connect_as("plo-ana");
	der = listener("hubsys-dereham", "YP-002");
	nor = listener("hubsys-norwich", "YP-002");
	alert_init(&m, "YP-002", "alert to retract", NULL);
	publish_ok(plo, &m, orig, NULL);
	nwd_deliver_free(next(der));
	nwd_deliver_free(next(nor));
	assert_int_equal(allocate("YP-002", "hub:norwich",
	    harness_wall_ms()), 0);

	retraction_init(&m, "YP-002", orig,
	    NWD__V1__RETRACTION__REASON__SHARED_IN_ERROR);
	publish_ok(plo, &m, retr, &ack);
	assert_int_equal(ack->recipients, 1);
	assert_int_equal(ack->notices, 1);
	nwd_publish_ack_free(ack);
	d = next(der);
	assert_int_equal(d->envelope->header->kind, NWD__V1__KIND__RETRACTION);
	assert_string_equal(d->envelope->header->supersedes, orig);
	assert_int_equal(d->envelope->retraction->reason,
	    NWD__V1__RETRACTION__REASON__SHARED_IN_ERROR);
	assert_string_equal(d->rule, "retractions");
	nwd_deliver_free(d);
	d = next(nor);
	expect_notice(d, orig, retr, NWD__V1__WITHDRAWAL_NOTICE__HOW__RETRACTED,
	    "retract");
	nwd_deliver_free(d);
	nothing_more(der);
	nothing_more(nor);

	/* Retracted: neither corrected nor retracted again. */
	alert_init(&m, "YP-002", "too late", orig);
	publish_refused("plo-ana", &m, NWD__V1__ERROR_CODE__ERROR_CONFLICT,
	    "supersedes", "was retracted (by ");
	retraction_init(&m, "YP-002", orig,
	    NWD__V1__RETRACTION__REASON__INACCURATE);
	publish_refused("plo-ana", &m, NWD__V1__ERROR_CODE__ERROR_CONFLICT,
	    "supersedes", "was retracted (by ");

	/* Malformed retractions. */
	retraction_init(&m, "YP-002", NULL,
	    NWD__V1__RETRACTION__REASON__INACCURATE);
	publish_refused("plo-ana", &m,
	    NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE, NULL,
	    "a retraction needs header.supersedes");
	retraction_init(&m, "YP-002", orig,
	    NWD__V1__RETRACTION__REASON__REASON_UNSPECIFIED);
	publish_refused("plo-ana", &m,
	    NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE, NULL,
	    "retraction.reason is missing");
	/* Only nwd makes a WithdrawalNotice. */
	retraction_init(&m, "YP-002", orig,
	    NWD__V1__RETRACTION__REASON__INACCURATE);
	{
		Nwd__V1__WithdrawalNotice wn = NWD__V1__WITHDRAWAL_NOTICE__INIT;

		wn.withdrawn_message_id = orig;
		m.hdr.kind = NWD__V1__KIND__WITHDRAWAL_NOTICE;
		m.env.body_case = NWD__V1__ENVELOPE__BODY_WITHDRAWAL_NOTICE;
		m.env.withdrawal_notice = &wn;
		publish_refused("plo-ana", &m,
		    NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, NULL,
		    "no publish rule lets role police_liaison publish "
		    "withdrawal_notice");
	}
	nwd_close(plo);
	nwd_close(der);
	nwd_close(nor);
}

/* A durable subscriber that was away gets the original, then its
 * correction. */
static void
test_durable_order(void **state)
{
	struct nwd_client	*plo, *der;
	const char		*subjects[1] = { "YP-002" };
	Nwd__V1__Deliver	*d;
	struct msg		 m;
	char			 orig[40], corr[40], err[512];

	(void)state;
	der = harness_connect_as("hubsys-dereham");
	assert_int_equal(nwd_subscribe(der, NULL, 0, subjects, 1, "corr",
	    NULL, err, sizeof(err)), NWD_OK);
	nwd_close(der);
	plo = harness_connect_as("plo-ana");
	alert_init(&m, "YP-002", "first version", NULL);
	publish_ok(plo, &m, orig, NULL);
	alert_init(&m, "YP-002", "second version", orig);
	publish_ok(plo, &m, corr, NULL);
	nwd_close(plo);

	der = harness_connect_as("hubsys-dereham");
	assert_int_equal(nwd_subscribe(der, NULL, 0, subjects, 1, "corr",
	    NULL, err, sizeof(err)), NWD_OK);
	d = next(der);
	assert_string_equal(d->envelope->header->message_id, orig);
	assert_int_equal(nwd_ack(der, d->delivery_id,
	    d->envelope->header->message_id, err, sizeof(err)),
	    NWD_OK);
	nwd_deliver_free(d);
	d = next(der);
	assert_string_equal(d->envelope->header->message_id, corr);
	assert_string_equal(d->envelope->header->supersedes, orig);
	assert_int_equal(nwd_ack(der, d->delivery_id,
	    d->envelope->header->message_id, err, sizeof(err)),
	    NWD_OK);
	nwd_deliver_free(d);
	assert_int_equal(nwd_durable_delete(der, "corr", NULL, err,
	    sizeof(err)), NWD_OK);
	nwd_close(der);
}

/*
 * A notice that was not sent (nwdd stopped between the correction's
 * commit and the notice's) is sent when nwdd next connects to the store,
 * and only once.
 */
static void
test_untold_notice_sent_at_start(void **state)
{
	struct nwd_client	*plo = harness_connect_as("plo-ana");
	struct msg		 m;
	char			 a[40], b[40], out[1024];
	int			 rc;

	(void)state;
	alert_init(&m, "YP-002", "first", NULL);
	publish_ok(plo, &m, a, NULL);
	alert_init(&m, "YP-002", "second", NULL);
	publish_ok(plo, &m, b, NULL);
	nwd_close(plo);
	/* b's correction row, as if nwdd had stopped before telling. */
	{
		char sql[1024];

		snprintf(sql, sizeof(sql), "INSERT INTO nwd.corrections "
		    "(message_id, supersedes, root, how, subject, sender, "
		    "notice_to, at, instance) VALUES ('%s', '%s', '%s', "
		    "'corrected', 'YP-002', 'plo-ana', '{hubsys-norwich}', "
		    "now(), 'nwdd-test-1')", b, a, a);
		rc = harness_sql("nwd_daemon", sql, out, sizeof(out));
		if (rc != 0)
			fail_msg("insert: %s", out);
	}
	assert_int_equal(harness_daemon_stop(daemon_main), 0);
	assert_non_null(daemon_main = harness_daemon_start(NULL));
	assert_true(harness_wait_log(daemon_main,
	    "event=withdrawals_checked untold=1", WAIT_MS));
	harness_wait_sql_int("nwd_auditor", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.corrections c JOIN nwd.audit_events e ON e.message_id = "
	    "c.notice_id AND e.action = 'deliver' AND e.recipient = "
	    "'hubsys-norwich' AND e.rule = 'withdrawal-notice' WHERE "
	    "c.message_id = '%s'", b);
	assert_true(harness_log_contains(daemon_main, "event=withdrawal_resent"));
	/* Told: another start tells nobody again. */
	assert_int_equal(harness_daemon_stop(daemon_main), 0);
	assert_non_null(daemon_main = harness_daemon_start(NULL));
	assert_true(harness_wait_log(daemon_main,
	    "event=withdrawals_checked untold=0", WAIT_MS));
	assert_false(harness_log_contains(daemon_main,
	    "event=withdrawal_resent"));
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.messages WHERE kind = %d AND sender = 'nwd' AND id IN (SELECT "
	    "message_id FROM nwd.audit_events WHERE action = 'deliver' AND "
	    "recipient = 'hubsys-norwich' AND strpos(reason, '%s') > 0)",
	    NWD__V1__KIND__WITHDRAWAL_NOTICE, a), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_s20_correction_reaches_everyone_told),
		cmocka_unit_test(test_s21_other_agency_refused),
		cmocka_unit_test(test_s22_other_subject_refused),
		cmocka_unit_test(test_colleague_and_bad_targets),
		cmocka_unit_test(test_retraction),
		cmocka_unit_test(test_durable_order),
		cmocka_unit_test(test_untold_notice_sent_at_start),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
