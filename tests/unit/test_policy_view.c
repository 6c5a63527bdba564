/*
 * Unit tests for the read-only view of the compiled policy
 * (daemon/policy_view.c) that the console's agreement page draws: rules as
 * written, declared roles, the kinds x roles matrix (no rule, allow,
 * conditional, deny; a deny beats an allow), and deadline and breakglass
 * rules in words.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "envelope.h"
#include "policy.h"

static const char text[] =
	"policy \"view test\"\n"
	"duty duty-mash\n"
	"role police_liaison: agency police clearance OFFICIAL_SENSITIVE\n"
	"role social_worker: agency social_care\n"
	"role duty: agency social_care\n"
	"protect Address, ThirdParty, SourceDetails\n"
	"allow publish police-intel:\n"
	"    roles police_liaison\n"
	"    kinds risk_alert, missing_episode\n"
	"    max OFFICIAL_SENSITIVE\n"
	"allow deliver sw-case:\n"
	"    roles social_worker\n"
	"    kinds risk_alert, camhs_update\n"
	"    when allocated or named\n"
	"    basis safeguarding\n"
	"    strip header.justification\n"
	"allow deliver police-missing:\n"
	"    roles police_liaison\n"
	"    kinds missing_episode, camhs_update\n"
	"    grant last_seen\n"
	"deny deliver no-camhs-to-police:\n"
	"    roles police_liaison\n"
	"    kinds camhs_update\n"
	"allow deliver duty-desk:\n"
	"    roles duty\n"
	"    kinds *\n"
	"    when duty\n"
	"breakglass duty-emergency:\n"
	"    roles duty, social_worker\n"
	"    kinds risk_alert\n"
	"    max 24 hours\n"
	"    strip header.justification\n"
	"deadline return-interview:\n"
	"    kinds missing_episode\n"
	"    when status is FOUND\n"
	"    from found_unix_ms\n"
	"    within 72 hours\n"
	"    closed by return_interview referencing\n"
	"    escalate every 24 hours\n"
	"deadline urgent-alert-ack:\n"
	"    kinds risk_alert\n"
	"    priority urgent\n"
	"    within 15 minutes\n"
	"    closed by ack\n";

static struct policy *
load(void)
{
	struct policy	*p;
	char		 err[512];

	p = policy_parse(text, sizeof(text) - 1, "view.nwd", err, sizeof(err));
	if (p == NULL)
		fail_msg("%s", err);
	return p;
}

static size_t
find_rule(const struct policy *p, const char *name)
{
	struct policy_rule_view	v;
	size_t			i;

	for (i = 0; policy_rule_at(p, i, &v) == 0; i++)
		if (strcmp(v.name, name) == 0)
			return i;
	fail_msg("no rule %s", name);
	return 0;
}

static void
test_rules(void **state)
{
	struct policy		*p = load();
	struct policy_rule_view	 v;
	size_t			 i;

	(void)state;
	assert_int_equal(policy_rule_at(p, policy_nrules(p), &v), -1);
	i = find_rule(p, "sw-case");
	assert_int_equal(policy_rule_at(p, i, &v), 0);
	assert_true(v.allow);
	assert_int_equal(v.action, POLICY_VIEW_DELIVER);
	assert_int_equal(v.nroles, 1);
	assert_string_equal(v.roles[0], "social_worker");
	assert_true(v.kinds & (1u << NWD__V1__KIND__RISK_ALERT));
	assert_true(v.kinds & (1u << NWD__V1__KIND__CAMHS_UPDATE));
	assert_false(v.kinds & (1u << NWD__V1__KIND__MISSING_EPISODE));
	assert_int_equal(v.when, POLICY_WHEN_ALLOCATED | POLICY_WHEN_NAMED);
	assert_int_equal(v.bases, 1u << NWD__V1__LEGAL_BASIS__SAFEGUARDING);
	assert_int_equal(v.nstrip, 1);
	assert_string_equal(v.strip[0], "header.justification");
	assert_int_equal(v.ngrant, 0);
	assert_int_equal(v.line, 11);

	assert_int_equal(policy_rule_at(p, find_rule(p, "police-intel"), &v),
	    0);
	assert_int_equal(v.action, POLICY_VIEW_PUBLISH);
	assert_int_equal(v.max_marking,
	    NWD__V1__MARKING__OFFICIAL_SENSITIVE);

	assert_int_equal(policy_rule_at(p, find_rule(p,
	    "no-camhs-to-police"), &v), 0);
	assert_false(v.allow);
	policy_free(p);
}

static void
test_roles(void **state)
{
	struct policy	*p = load();
	const char	*agency;
	int		 clearance;

	(void)state;
	assert_int_equal(policy_nroles(p), 3);
	assert_string_equal(policy_role_at(p, 0, &agency, &clearance),
	    "police_liaison");
	assert_string_equal(agency, "police");
	assert_int_equal(clearance, NWD__V1__MARKING__OFFICIAL_SENSITIVE);
	assert_string_equal(policy_role_at(p, 1, &agency, &clearance),
	    "social_worker");
	assert_int_equal(clearance, 0);
	assert_null(policy_role_at(p, 3, NULL, NULL));
	policy_free(p);
}

static void
test_matrix(void **state)
{
	struct policy		*p = load();
	struct policy_cell	 c;
	struct policy_rule_view	 v;

	(void)state;
	/* An unconditional allow. */
	policy_cell(p, POLICY_VIEW_DELIVER, NWD__V1__KIND__MISSING_EPISODE,
	    "police_liaison", &c);
	assert_int_equal(c.state, POLICY_CELL_ALLOW);
	assert_int_equal(c.nrules, 1);
	assert_int_equal(c.rule[0], find_rule(p, "police-missing"));
	/* An allow with conditions. */
	policy_cell(p, POLICY_VIEW_DELIVER, NWD__V1__KIND__RISK_ALERT,
	    "social_worker", &c);
	assert_int_equal(c.state, POLICY_CELL_CONDITIONAL);
	assert_int_equal(c.nrules, 1);
	/* A deny wins over an allow. */
	policy_cell(p, POLICY_VIEW_DELIVER, NWD__V1__KIND__CAMHS_UPDATE,
	    "police_liaison", &c);
	assert_int_equal(c.state, POLICY_CELL_DENY);
	assert_int_equal(c.nrules, 2);
	/* No rule. */
	policy_cell(p, POLICY_VIEW_DELIVER, NWD__V1__KIND__MISSING_EPISODE,
	    "social_worker", &c);
	assert_int_equal(c.state, POLICY_CELL_NO_RULE);
	assert_int_equal(c.nrules, 0);
	/* A role no rule names, and kinds out of range. */
	policy_cell(p, POLICY_VIEW_DELIVER, NWD__V1__KIND__RISK_ALERT,
	    "nobody", &c);
	assert_int_equal(c.state, POLICY_CELL_NO_RULE);
	policy_cell(p, POLICY_VIEW_DELIVER, 0, "duty", &c);
	assert_int_equal(c.state, POLICY_CELL_NO_RULE);
	policy_cell(p, POLICY_VIEW_DELIVER, 99, "duty", &c);
	assert_int_equal(c.state, POLICY_CELL_NO_RULE);
	/* "kinds *" with "when duty": conditional on every kind. */
	policy_cell(p, POLICY_VIEW_DELIVER, NWD__V1__KIND__CAMHS_UPDATE,
	    "duty", &c);
	assert_int_equal(c.state, POLICY_CELL_CONDITIONAL);
	assert_int_equal(policy_rule_at(p, c.rule[0], &v), 0);
	assert_string_equal(v.name, "duty-desk");
	assert_int_equal(v.when, POLICY_WHEN_DUTY);
	/* Publish. */
	policy_cell(p, POLICY_VIEW_PUBLISH, NWD__V1__KIND__RISK_ALERT,
	    "police_liaison", &c);
	assert_int_equal(c.state, POLICY_CELL_ALLOW);
	policy_cell(p, POLICY_VIEW_PUBLISH, NWD__V1__KIND__RISK_ALERT,
	    "social_worker", &c);
	assert_int_equal(c.state, POLICY_CELL_NO_RULE);
	policy_free(p);
}

static void
test_words(void **state)
{
	struct policy	*p = load();
	const char	*name;
	char		 out[512], tiny[8];

	(void)state;
	assert_int_equal(policy_ndeadlines(p), 2);
	assert_int_equal(policy_deadline_describe(p, 0, &name, out,
	    sizeof(out)), 0);
	assert_string_equal(name, "return-interview");
	assert_string_equal(out, "missing_episode whose status is FOUND: "
	    "within 72 hours of found_unix_ms; met by a return_interview "
	    "referencing it; escalated again every 24 hours");
	assert_int_equal(policy_deadline_describe(p, 1, &name, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "risk_alert of priority urgent: within 15 "
	    "minutes of receipt; met by an acknowledgement; escalated once");
	assert_int_equal(policy_deadline_describe(p, 2, &name, out,
	    sizeof(out)), -1);
	/* Truncated, never overrun. */
	assert_int_equal(policy_deadline_describe(p, 0, &name, tiny,
	    sizeof(tiny)), 0);
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);

	assert_int_equal(policy_breakglass_describe(p, 0, &name, out,
	    sizeof(out)), 0);
	assert_string_equal(name, "duty-emergency");
	assert_string_equal(out, "duty, social_worker may claim emergency "
	    "access to risk_alert for at most 24 hours; withheld: "
	    "header.justification; every grant is reviewed");
	assert_int_equal(policy_breakglass_describe(p, 1, &name, out,
	    sizeof(out)), -1);
	policy_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_matrix),
		cmocka_unit_test(test_words),
	};

	return cmocka_run_group_tests_name("policy_view", tests, NULL, NULL);
}
