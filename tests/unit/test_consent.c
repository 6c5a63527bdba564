/*
 * Unit tests for daemon/consent.c (the consent records and what they
 * cover) and the policy's "when consent" condition and consent limit.
 *
 * - No record: nothing is covered, and why says so.
 * - GIVEN covers its kinds and agencies (none listed: every one) until it
 *   expires; a later REFUSED or WITHDRAWN of the same scope ends it; a
 *   WITHDRAWN naming the GIVEN record it withdraws has that record's scope
 *   only; one naming none withdraws every consent of the young person.
 * - Records of other young people change nothing.
 * - "when consent" holds while a consent covers the recipient's agency;
 *   a message on the basis of consent reaches only agencies it covers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "consent.h"
#include "policy.h"

#define CAMHS	(1u << NWD__V1__KIND__CAMHS_UPDATE)
#define ALERT	(1u << NWD__V1__KIND__RISK_ALERT)

static void
put(struct consent_table *t, const char *mid, const char *subject,
    enum consent_status st, uint32_t kinds, const char *agency,
    int64_t recorded, int64_t expires, const char *withdraws)
{
	struct consent_record	r;
	const char		*ag[1] = { agency };

	memset(&r, 0, sizeof(r));
	r.message_id = mid;
	r.subject = subject;
	r.status = st;
	r.kinds = kinds;
	r.agencies = agency != NULL ? ag : NULL;
	r.nagencies = agency != NULL ? 1 : 0;
	r.recorded_ms = recorded;
	r.expires_ms = expires;
	r.withdraws = withdraws;
	assert_int_equal(consent_table_put(t, &r), 0);
}

static void
test_records(void **state)
{
	struct consent_table	*t = consent_table_new();
	char			 why[256];
	const int		 camhs = NWD__V1__KIND__CAMHS_UPDATE;
	const int		 alert = NWD__V1__KIND__RISK_ALERT;

	(void)state;
	assert_non_null(t);
	assert_int_equal(consent_covers(t, "YP-1", camhs, "hub", 10, why,
	    sizeof(why)), 0);
	assert_string_equal(why, "no consent of YP-1 covering this share is "
	    "recorded");
	/* Given for CAMHS updates to the hub, until 1000. */
	put(t, "g1", "YP-1", CONSENT_GIVEN, CAMHS, "hub", 1, 1000, NULL);
	assert_int_equal(consent_covers(t, "YP-1", camhs, "hub", 10, NULL, 0),
	    1);
	assert_int_equal(consent_covers(t, "YP-1", camhs, NULL, 10, NULL, 0),
	    1);
	assert_int_equal(consent_covers(t, "YP-1", camhs, "police", 10, NULL,
	    0), 0);
	assert_int_equal(consent_covers(t, "YP-1", alert, "hub", 10, NULL, 0),
	    0);
	assert_int_equal(consent_covers(t, "YP-2", camhs, "hub", 10, NULL, 0),
	    0);
	assert_int_equal(consent_covers(t, "YP-1", camhs, "hub", 1000, why,
	    sizeof(why)), 0);
	assert_string_equal(why, "consent of YP-1 expired on 1970-01-01 "
	    "(record g1)");
	/* Given for everything; a withdrawal of g1 leaves the other. */
	put(t, "g2", "YP-1", CONSENT_GIVEN, 0, NULL, 2, 0, NULL);
	put(t, "w1", "YP-1", CONSENT_WITHDRAWN, 0, NULL, 3, 0, "g1");
	assert_int_equal(consent_covers(t, "YP-1", alert, "police", 10, NULL,
	    0), 1);
	assert_int_equal(consent_covers(t, "YP-1", camhs, "hub", 10, why,
	    sizeof(why)), 0);
	assert_string_equal(why, "consent of YP-1 was withdrawn (record w1, "
	    "1970-01-01)");
	/* Refused for risk alerts; then every consent withdrawn. */
	put(t, "r1", "YP-1", CONSENT_REFUSED, ALERT, NULL, 4, 0, NULL);
	assert_int_equal(consent_covers(t, "YP-1", alert, "hub", 10, why,
	    sizeof(why)), 0);
	assert_string_equal(why, "consent of YP-1 was refused (record r1, "
	    "1970-01-01)");
	assert_int_equal(consent_covers(t, "YP-1", camhs, "police", 10, NULL,
	    0), 1);
	put(t, "w2", "YP-1", CONSENT_WITHDRAWN, 0, NULL, 5, 0, NULL);
	assert_int_equal(consent_covers(t, "YP-1", camhs, "police", 10, NULL,
	    0), 0);
	/* Given again: covered again. */
	put(t, "g3", "YP-1", CONSENT_GIVEN, CAMHS, NULL, 6, 0, NULL);
	assert_int_equal(consent_covers(t, "YP-1", camhs, "police", 10, NULL,
	    0), 1);
	assert_int_equal(consent_table_count(t), 6);
	consent_table_clear(t);
	assert_int_equal(consent_table_count(t), 0);
	consent_table_free(t);
	consent_table_free(NULL);
}

static void
test_policy_consent(void **state)
{
	static const char text[] = "role hub_system: agency hub\n"
	    "role police_liaison: agency police\n"
	    "allow deliver r: roles hub_system, police_liaison "
	    "kinds camhs_update, risk_alert when consent\n";
	static const char plain[] = "role hub_system: agency hub\n"
	    "role police_liaison: agency police\n"
	    "allow deliver r: roles hub_system, police_liaison "
	    "kinds camhs_update\n";
	struct consent_table	*t = consent_table_new();
	struct policy		*p;
	struct principal	 hub, plo;
	struct policy_context	 ctx;
	struct policy_decision	 d;
	Nwd__V1__Envelope	 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header		 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef	 s = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__CamhsUpdate	 u = NWD__V1__CAMHS_UPDATE__INIT;
	char			 err[256];

	(void)state;
	assert_non_null(p = policy_parse(text, sizeof(text) - 1, "c", err,
	    sizeof(err)));
	memset(&hub, 0, sizeof(hub));
	hub.id = (char *)"hubsys";
	hub.role = (char *)"hub_system";
	hub.agency = (char *)"hub";
	hub.clearance = NWD__V1__MARKING__OFFICIAL_SENSITIVE;
	plo = hub;
	plo.id = (char *)"plo";
	plo.role = (char *)"police_liaison";
	plo.agency = (char *)"police";
	s.local_id = (char *)"YP-1";
	h.kind = NWD__V1__KIND__CAMHS_UPDATE;
	h.subject = &s;
	h.marking = NWD__V1__MARKING__OFFICIAL;
	h.legal_basis = NWD__V1__LEGAL_BASIS__SAFEGUARDING;
	u.risk_summary = (char *)"x";
	env.header = &h;
	env.body_case = NWD__V1__ENVELOPE__BODY_CAMHS_UPDATE;
	env.camhs_update = &u;
	memset(&ctx, 0, sizeof(ctx));
	ctx.consents = t;
	ctx.now_ms = 10;
	/* No consent: the condition does not hold, and says why. */
	assert_int_equal(policy_check_deliver(p, &hub, &env, &ctx, &d),
	    POLICY_DENY);
	assert_string_equal(d.reason, "no consent of YP-1 covering this share "
	    "is recorded");
	put(t, "g1", "YP-1", CONSENT_GIVEN, CAMHS, "hub", 1, 0, NULL);
	assert_int_equal(policy_check_deliver(p, &hub, &env, &ctx, &d),
	    POLICY_ALLOW);
	assert_int_equal(policy_check_deliver(p, &plo, &env, &ctx, &d),
	    POLICY_DENY);
	/* On the basis of consent, with a rule that does not ask for it:
	 * still only as far as the consent goes. */
	policy_free(p);
	assert_non_null(p = policy_parse(plain, sizeof(plain) - 1, "c", err,
	    sizeof(err)));
	h.legal_basis = NWD__V1__LEGAL_BASIS__CONSENT;
	assert_int_equal(policy_check_deliver(p, &hub, &env, &ctx, &d),
	    POLICY_ALLOW);
	assert_int_equal(policy_check_deliver(p, &plo, &env, &ctx, &d),
	    POLICY_DENY);
	assert_string_equal(d.rules, "consent");
	/* Not known (offline): not judged. */
	ctx.consents = NULL;
	assert_int_equal(policy_check_deliver(p, &plo, &env, &ctx, &d),
	    POLICY_ALLOW);
	policy_free(p);
	consent_table_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_policy_consent),
	};

	return cmocka_run_group_tests_name("consent", tests, NULL, NULL);
}
