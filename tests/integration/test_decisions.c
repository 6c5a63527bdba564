/*
 * Decisions not to share (issue 18, SCENARIOS.md S23) against a real nwdd
 * with the shipped agreement (deploy/policy.nwd) and cast, real
 * certificates and a real PostgreSQL.
 *
 * - S23: camhs-cara records, with "nwd push" and a JSON body, that a
 *   formulation about YP-001 is not shared with the police because sharing
 *   would be more detrimental to the child.  duty-mash, auditor-dan and
 *   the allocated social worker receive it whole ("nwd sub" prints it in
 *   words too); plo-ana, whose agency it names, does not, though she is
 *   subscribed and in the allocated hub team: a deliver_refused row names
 *   the built-in limit.  The audit trail has the publish and deliver rows;
 *   "nwd sar" shows the decision in plain words, text and JSON.
 * - Bad decisions through the daemon (libnwd sends what it is given): no
 *   reasons, no explanation, the "more detrimental" flag without its
 *   reason, a name nobody has and a decision dated in the future are each
 *   refused with the precise sentence, and audited as publish_refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixtures.h"
#include "harness.h"
#include "nwd.h"

#define WAIT_MS		10000

static struct harness_daemon	*daemon_main;

static int
group_setup(void **state)
{
	(void)state;
	if ((daemon_main = harness_daemon_start(NULL)) == NULL)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	return harness_daemon_stop(daemon_main) == 0 ? 0 : -1;
}

/* c's next delivery is the decision mid, whole; freed here. */
static void
expect_decision(struct nwd_client *c, const char *mid, const char *rule)
{
	Nwd__V1__Deliver		*d = NULL;
	const Nwd__V1__SharingDecision	*sd;
	char				 err[512];

	if (nwd_next_delivery(c, WAIT_MS, &d, err, sizeof(err)) != NWD_OK)
		fail_msg("%s gets no sharing decision: %s",
		    nwd_principal(c)->id, err);
	assert_int_equal(d->envelope->header->kind,
	    NWD__V1__KIND__SHARING_DECISION);
	assert_string_equal(d->envelope->header->message_id, mid);
	assert_string_equal(d->envelope->header->sender, "camhs-cara");
	assert_string_equal(d->rule, rule);
	assert_int_equal(d->n_fields_withheld, 0);
	assert_non_null(sd = d->envelope->sharing_decision);
	assert_string_equal(sd->information, "CAMHS formulation of 3 March");
	assert_int_equal(sd->n_not_shared_with, 1);
	assert_string_equal(sd->not_shared_with[0], "police");
	assert_int_equal(sd->n_reasons, 1);
	assert_int_equal(sd->reasons[0],
	    NWD__V1__SHARING_DECISION__REASON__MORE_DETRIMENTAL);
	assert_true(sd->more_detrimental_to_child);
	assert_string_equal(sd->explanation, "Disclosure would end the "
	    "therapeutic relationship");
	assert_int_equal(nwd_ack(c, d->delivery_id, mid, err, sizeof(err)),
	    NWD_OK);
	nwd_deliver_free(d);
}

/* Nothing more is on its way to c (the daemon answers a Ping after
 * whatever it queued for c before). */
static void
expect_nothing(struct nwd_client *c)
{
	Nwd__V1__Deliver	*d = NULL;
	char			 err[512];

	assert_int_equal(nwd_ping(c, err, sizeof(err)), NWD_OK);
	if (nwd_next_delivery(c, 0, &d, err, sizeof(err)) == NWD_OK)
		fail_msg("%s received %s, which it should not have",
		    nwd_principal(c)->id, d->envelope->header->message_id);
}

static int
rows(const char *mid, const char *action, const char *recipient)
{
	return harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = '%s' AND "
	    "coalesce(recipient, '') = '%s'", mid, action, recipient);
}

#define S23_DECISION							\
	"Decision not to share: CAMHS formulation of 3 March; not shared "	\
	"with police; because of the harm sharing would do the child; "	\
	"sharing would be more detrimental to the child; to be reviewed by "	\
	"2028-01-01T00:00:00Z.  Explanation: Disclosure would end the "	\
	"therapeutic relationship"

static void
test_s23(void **state)
{
	struct nwd_client	*duty, *dan, *ben, *ana, *hub;
	struct harness_child	*sub;
	char			 path[1024], out[8192], line[8192], mid[40];
	static char		 sar[1 << 20];
	const char		*p;
	FILE			*fp;

	(void)state;
	fixture_allocate("YP-001", "hub:norwich", 0);
	fixture_allocate("YP-001", "sw:north", 0);
	fixture_allocate("YP-001", "camhs:central", 0);
	duty = fixture_subscribe_as("duty-mash",
	    NWD__V1__KIND__SHARING_DECISION, "YP-001", NULL);
	dan = fixture_subscribe_as("auditor-dan",
	    NWD__V1__KIND__SHARING_DECISION, "YP-001", NULL);
	ben = fixture_subscribe_as("sw-ben",
	    NWD__V1__KIND__SHARING_DECISION, "YP-001", NULL);
	ana = fixture_subscribe_as("plo-ana",
	    NWD__V1__KIND__SHARING_DECISION, "YP-001", NULL);
	hub = fixture_subscribe_as("hubsys-norwich",
	    NWD__V1__KIND__SHARING_DECISION, "YP-001", NULL);
	/* The duty desk's nwd sub prints it in words. */
	sub = harness_nwd_spawn("duty-mash", "sub --kind sharing_decision "
	    "--subject YP-001 --no-reconnect");
	assert_non_null(sub);
	if (!harness_child_wait_line(sub, 2, "nwd: subscribed id=", WAIT_MS,
	    NULL, 0))
		fail_msg("nwd sub did not subscribe: %s",
		    harness_child_output(sub, 2));

	/* camhs-cara records the decision with nwd push and a JSON body. */
	snprintf(path, sizeof(path), "%s/s23.json", getenv("NWD_TEST_TMP"));
	assert_non_null(fp = fopen(path, "w"));
	fprintf(fp, "{\"information\": \"CAMHS formulation of 3 March\",\n"
	    " \"not_shared_with\": [\"police\"],\n"
	    " \"reasons\": [\"MORE_DETRIMENTAL\"],\n"
	    " \"more_detrimental_to_child\": true,\n"
	    " \"explanation\": \"Disclosure would end the therapeutic "
	    "relationship\",\n"
	    " \"review_by_unix_ms\": 1830297600000}\n");
	assert_int_equal(fclose(fp), 0);
	if (harness_run_nwd(out, sizeof(out), "camhs-cara", "push "
	    "sharing_decision --subject YP-001 --basis safeguarding %s",
	    path) != 0)
		fail_msg("nwd push sharing_decision: %s", out);
	assert_non_null(p = strstr(out, "\"message_id\":\""));
	snprintf(mid, sizeof(mid), "%.36s", p + strlen("\"message_id\":\""));
	/* duty-mash, auditor-dan and sw-ben: 3 principals. */
	if (strstr(out, "\"recipients\":3") == NULL)
		fail_msg("nwd push: %s", out);

	expect_decision(duty, mid, "duty-sharing-decisions");
	expect_decision(dan, mid, "auditor-sharing-decisions");
	expect_decision(ben, mid, "social-worker-sharing-decisions");
	/* Not the police, though plo-ana is in the allocated hub team;
	 * not the hub either. */
	expect_nothing(ana);
	expect_nothing(hub);

	if (!harness_child_wait_line(sub, 1, mid, WAIT_MS, line,
	    sizeof(line)))
		fail_msg("nwd sub printed no line for %s: %s", mid,
		    harness_child_output(sub, 1));
	if (strstr(line, "\"decision\":\"" S23_DECISION "\"") == NULL)
		fail_msg("nwd sub line: %s", line);
	assert_non_null(strstr(line, "\"reasons\":[\"MORE_DETRIMENTAL\"]"));
	harness_child_free(sub);

	/* Audited: one publish, a deliver row for each recipient, and the
	 * refusal for the police naming the limit. */
	assert_int_equal(rows(mid, "publish", ""), 1);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) "
	    "FROM nwd.audit_events WHERE message_id = '%s' AND action = "
	    "'publish' AND actor = 'camhs-cara' AND rule = "
	    "'sharing-decisions' AND subject = 'YP-001'", mid), 1);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) "
	    "FROM nwd.audit_events WHERE message_id = '%s' AND action = "
	    "'deliver'", mid), 3);
	assert_int_equal(rows(mid, "deliver", "duty-mash"), 1);
	assert_int_equal(rows(mid, "deliver", "auditor-dan"), 1);
	assert_int_equal(rows(mid, "deliver", "sw-ben"), 1);
	assert_int_equal(rows(mid, "deliver", "plo-ana"), 0);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) "
	    "FROM nwd.audit_events WHERE message_id = '%s' AND action = "
	    "'deliver_refused' AND recipient = 'plo-ana' AND rule = "
	    "'not-shared-with' AND reason = 'the sharing decision names "
	    "police (plo-ana''s agency) in not_shared_with; it never reaches "
	    "those it names'", mid), 1);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) "
	    "FROM nwd.audit_events WHERE message_id = '%s' AND action = "
	    "'deliver_refused'", mid), 1);

	/* The SAR of YP-001 shows it in plain words. */
	assert_int_equal(harness_run_nwd(sar, sizeof(sar), "auditor-dan",
	    "sar --subject YP-001"), 0);
	if (strstr(sar, "  Decision       " S23_DECISION "\n") == NULL)
		fail_msg("the SAR does not show the decision:\n%s", sar);
	assert_non_null(strstr(sar, "plo-ana: the sharing decision names "
	    "police (plo-ana's agency) in not_shared_with; it never reaches "
	    "those it names (rule not-shared-with)"));
	assert_int_equal(harness_run_nwd(sar, sizeof(sar), "auditor-dan",
	    "sar --subject YP-001 --format json"), 0);
	if (strstr(sar, "\"decision\":\"" S23_DECISION "\"") == NULL)
		fail_msg("the SAR (JSON) does not show the decision:\n%s", sar);

	nwd_close(duty);
	nwd_close(dan);
	nwd_close(ben);
	nwd_close(ana);
	nwd_close(hub);
}

/* A decision by camhs-cara about YP-023, sound until a case breaks it. */
struct decision {
	Nwd__V1__Envelope			 env;
	Nwd__V1__Header				 h;
	Nwd__V1__SubjectRef			 s;
	Nwd__V1__SharingDecision		 sd;
	char					*names[2];
	Nwd__V1__SharingDecision__Reason	 reasons[2];
};

static void
decision_init(struct decision *d)
{
	nwd__v1__envelope__init(&d->env);
	nwd__v1__header__init(&d->h);
	nwd__v1__subject_ref__init(&d->s);
	nwd__v1__sharing_decision__init(&d->sd);
	d->s.local_id = "YP-023";
	d->h.kind = NWD__V1__KIND__SHARING_DECISION;
	d->h.subject = &d->s;
	d->h.marking = NWD__V1__MARKING__OFFICIAL;
	d->names[0] = "police";
	d->reasons[0] = NWD__V1__SHARING_DECISION__REASON__MORE_DETRIMENTAL;
	d->sd.information = "CAMHS formulation";
	d->sd.not_shared_with = d->names;
	d->sd.n_not_shared_with = 1;
	d->sd.reasons = d->reasons;
	d->sd.n_reasons = 1;
	d->sd.more_detrimental_to_child = 1;
	d->sd.explanation = "would end the therapeutic relationship";
	d->env.header = &d->h;
	d->env.body_case = NWD__V1__ENVELOPE__BODY_SHARING_DECISION;
	d->env.sharing_decision = &d->sd;
}

/* Publishes d as camhs-cara: refused with exactly why, and audited. */
static void
expect_refused(struct decision *d, Nwd__V1__ErrorCode code, const char *why)
{
	struct nwd_client	*c = harness_connect_as("camhs-cara");
	enum nwd_status		 st;
	char			 err[512], lit[512];
	size_t			 i, n = 0;
	int			 before;

	/* why as an SQL literal's text. */
	for (i = 0; why[i] != '\0' && n + 2 < sizeof(lit); i++) {
		if (why[i] == '\'')
			lit[n++] = '\'';
		lit[n++] = why[i];
	}
	lit[n] = '\0';

	before = harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'publish_refused' AND actor = "
	    "'camhs-cara' AND subject = 'YP-023'");
	st = nwd_publish(c, &d->env, NULL, err, sizeof(err));
	if (st == NWD_OK)
		fail_msg("published, expected \"%s\"", why);
	assert_int_equal(nwd_last_server_error(c), code);
	if (strstr(err, why) == NULL)
		fail_msg("refused with \"%s\", expected \"%s\"", err, why);
	nwd_close(c);
	harness_wait_sql_int("nwd_auditor", WAIT_MS, before + 1, "SELECT "
	    "count(*) FROM nwd.audit_events WHERE action = 'publish_refused' "
	    "AND actor = 'camhs-cara' AND subject = 'YP-023'");
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) "
	    "FROM nwd.audit_events WHERE action = 'publish_refused' AND "
	    "actor = 'camhs-cara' AND subject = 'YP-023' AND kind = %d AND "
	    "strpos(reason, '%s') > 0", NWD__V1__KIND__SHARING_DECISION, lit),
	    1);
}

static void
test_bad_decisions(void **state)
{
	struct decision	d;

	(void)state;
	decision_init(&d);
	d.sd.n_reasons = 0;
	d.sd.more_detrimental_to_child = 0;
	expect_refused(&d, NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE,
	    "sharing_decision needs at least one reason (MORE_DETRIMENTAL, "
	    "NOT_NECESSARY, NOT_PROPORTIONATE, NO_LAWFUL_BASIS, "
	    "CONSENT_REFUSED, RISK_TO_OTHERS, INFORMATION_INACCURATE or "
	    "OTHER)");

	decision_init(&d);
	d.sd.explanation = "";
	expect_refused(&d, NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE,
	    "sharing_decision.explanation is missing: the reasons in the "
	    "decider's own words");

	decision_init(&d);
	d.reasons[0] = NWD__V1__SHARING_DECISION__REASON__NOT_NECESSARY;
	expect_refused(&d, NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE,
	    "sharing_decision.more_detrimental_to_child is set but reasons "
	    "do not include MORE_DETRIMENTAL; set both or neither");

	decision_init(&d);
	d.names[1] = "polce";
	d.sd.n_not_shared_with = 2;
	expect_refused(&d, NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE,
	    "sharing_decision.not_shared_with names polce, which is no "
	    "principal, team, role or agency the principal mapping knows; "
	    "nothing was recorded");

	/* A year ahead of the broker's clock. */
	decision_init(&d);
	d.sd.decided_unix_ms = 4102444800000LL;	/* 2100-01-01 */
	expect_refused(&d, NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE,
	    "sharing_decision.decided_unix_ms is ");

	/* OFFICIAL-SENSITIVE: above the rule's max. */
	decision_init(&d);
	d.h.marking = NWD__V1__MARKING__OFFICIAL_SENSITIVE;
	expect_refused(&d, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN,
	    "sharing-decisions");

	/* Nothing of it was stored for delivery. */
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) "
	    "FROM nwd.audit_events WHERE action = 'publish' AND subject = "
	    "'YP-023'"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_s23),
		cmocka_unit_test(test_bad_decisions),
	};

	return cmocka_run_group_tests_name("decisions", tests, group_setup,
	    group_teardown);
}
