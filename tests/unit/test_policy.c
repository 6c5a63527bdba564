/*
 * Unit tests for the sharing policy engine (daemon/policy_*.c).  The
 * scenarios of shared/SCENARIOS.md, tests/data/scenarios.txt, are run
 * through the decision engine that the broker decides with, by
 * test_decide.c; the decisions they hinge on are checked here too.
 *
 * - A decision table, tests/data/policy-cases.txt: the agreement rule by
 *   rule, in the manner of pgbouncer's HBA tests.
 * - Conditions, protected types, keep, the header's free text, allocation
 *   rights, the duty pass, role and team declarations,
 *   policy_check_principals.
 * - Bad policies, the files in tests/data/bad-policies/ (one test each),
 *   each naming on its first line the "NAME:LINE:COL: message" it must be
 *   refused with.
 * - Property tests over generated policies, checked against a model of the
 *   documented semantics: anything not allowed is refused, a deny whose
 *   conditions hold always wins, the withheld set is the intersection of
 *   the matching allows' (parents covering children), protected types are
 *   withheld unless granted (a repeated field holding one is withheld
 *   whole), built-in limits no rule can lift, in the ordinary pass and
 *   the duty pass.
 * - Contracts the engine once broke, test_contract_*: deny rules hold in
 *   the duty pass, "when" lists alternatives, protected types inside
 *   repeated fields, and a deny that does not hold is no rule.
 *
 * NWD_TEST_SEED in the environment replays one run of the property tests.
 * The fixtures this file shares with test_decide.c (envelopes with every
 * field set, the G10 check of delivered bytes, the shipped policy and
 * principals, the lines of policy-cases.txt) are in policyfix.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "alloc.h"
#include "envelope.h"
#include "identity.h"
#include "policy.h"
#include "policyfix.h"
#include "redact.h"

#define BAD_DIR		NWD_TEST_DATA "/bad-policies"

#define NKIND		15	/* body kinds of nwd.proto */
#define MAX_DEPTH	6

/* ------------------------------------------------------------------------
 * Single decisions
 */

/*
 * Decides for pr on a message of kind and marking about YP-001 with every
 * body field set (an intelligence report graded 2/A, handling P, legacy
 * B22), fix_case_message()'s.  FIX_CTX_ALLOCATED allocates
 * YP-001 to pr by name, FIX_CTX_NAMED puts pr in share_with, FIX_CTX_DUTY
 * asks in the duty pass.
 */
static enum policy_verdict
decide_in(const struct policy *p, const struct principal *pr, int publish,
    Nwd__V1__Kind kind, Nwd__V1__Marking marking, int context,
    struct policy_decision *d)
{
	struct fix_arena	 a;
	struct alloc_table	*t;
	struct policy_context	 ctx;
	Nwd__V1__Envelope	*e;
	enum policy_verdict	 r;

	memset(&a, 0, sizeof(a));
	assert_non_null(t = alloc_table_new());
	e = fix_case_message(&a, pr, kind, marking, context, t);
	memset(&ctx, 0, sizeof(ctx));
	ctx.allocs = t;
	ctx.now_ms = 1000;
	ctx.duty_pass = (context & FIX_CTX_DUTY) != 0;
	memset(d, 0x5a, sizeof(*d));	/* the engine must set everything */
	r = publish ? policy_check_publish(p, pr, e, &ctx, d) :
	    policy_check_deliver(p, pr, e, &ctx, d);
	alloc_table_free(t);
	fix_arena_free(&a);
	assert_int_equal(r, d->verdict);
	return r;
}

/*
 * pr allocates, in an Allocation of fix_case_message(), its first team and
 * itself as the worker to YP-001; context as decide_in()'s.  The mapping
 * is deploy/principals.conf.
 */
static enum policy_verdict
allocate_in(const struct policy *p, const struct principal *pr, int context,
    struct policy_decision *d)
{
	struct fix_arena	 a;
	struct alloc_table	*t;
	struct policy_context	 ctx;
	Nwd__V1__Envelope	*e;
	enum policy_verdict	 r;

	memset(&a, 0, sizeof(a));
	assert_non_null(t = alloc_table_new());
	e = fix_case_message(&a, pr, NWD__V1__KIND__ALLOCATION,
	    NWD__V1__MARKING__OFFICIAL, context, t);
	memset(&ctx, 0, sizeof(ctx));
	ctx.allocs = t;
	ctx.now_ms = 1000;
	ctx.ids = fix_principals;
	memset(d, 0x5a, sizeof(*d));
	r = policy_check_allocate(p, pr, e, &ctx, d);
	alloc_table_free(t);
	fix_arena_free(&a);
	assert_int_equal(r, d->verdict);
	return r;
}

static enum policy_verdict
decide(const struct policy *p, const struct principal *pr, int publish,
    Nwd__V1__Kind kind, Nwd__V1__Marking marking, struct policy_decision *d)
{
	return decide_in(p, pr, publish, kind, marking, FIX_CTX_NONE, d);
}

/* A principal with a role and clearance, for written policies. */
static struct principal
who(const char *role, int clearance)
{
	static char	*teams[] = { (char *)"t1" };
	struct principal p;

	memset(&p, 0, sizeof(p));
	p.identity = (char *)"test-identity";
	p.id = (char *)"test-principal";
	p.role = (char *)role;
	p.agency = (char *)"test";
	p.teams = teams;
	p.nteams = 1;
	p.clearance = clearance;
	return p;
}

/* ------------------------------------------------------------------------
 * The decision table: tests/data/policy-cases.txt
 */

/* Returns 1 if the decision's strip list holds exactly the paths in csv. */
static int
strip_equals(const struct policy_decision *d, const char *csv)
{
	char sc[1024];

	fix_strip_csv(d, sc, sizeof(sc));
	return fix_same_set(sc, csv);
}

/* Checks one line of the table; returns NULL or what went wrong. */
static const char *
check_case(const struct fix_case *c, char *why, size_t whylen, void *arg)
{
	enum policy_verdict	 got;
	struct policy_decision	 d;
	char			 gotstrip[512];

	if (c->allocate)
		got = allocate_in(fix_policy, c->pr, c->context, &d);
	else
		got = decide_in(fix_policy, c->pr, c->publish, c->kind,
		    c->marking, c->context, &d);
	if (got != c->want) {
		snprintf(why, whylen, "verdict %s, expected %s (rules \"%s\", "
		    "reason \"%s\")", policy_verdict_name(got),
		    policy_verdict_name(c->want), d.rules, d.reason);
		return why;
	}
	if (strcmp(d.rules, c->rules) != 0) {
		snprintf(why, whylen, "rules \"%s\", expected \"%s\" (reason "
		    "\"%s\")", d.rules, c->rules, d.reason);
		return why;
	}
	if (d.reason[0] == '\0' && got != POLICY_ALLOW)
		return "a refusal without a reason";
	if (got != POLICY_ALLOW && d.nstrip != 0)
		return "a refusal with a strip list";
	if (!strip_equals(&d, c->strip != NULL ? c->strip : "")) {
		fix_strip_csv(&d, gotstrip, sizeof(gotstrip));
		snprintf(why, whylen, "strip \"%s\", expected \"%s\"",
		    gotstrip, c->strip != NULL ? c->strip : "");
		return why;
	}
	return NULL;
}

static void
test_decision_table(void **state)
{
	int ncases, nbad;

	ncases = fix_cases_each(check_case, NULL, &nbad);
	/* The table must not silently shrink to nothing. */
	assert_true(ncases >= 100);
	if (nbad > 0)
		fail_msg("%d of %d policy cases failed", nbad, ncases);
}

/* The decisions the scenarios hinge on, with their reasons, exactly. */
static void
test_scenario_reasons(void **state)
{
	struct policy_decision d;

	/* S7 */
	assert_int_equal(decide(fix_policy, fix_cast("sw-ben"), 1,
	    NWD__V1__KIND__INTELLIGENCE_REPORT,
	    NWD__V1__MARKING__OFFICIAL_SENSITIVE, &d), POLICY_DENY_NO_RULE);
	assert_string_equal(d.rules, "");
	assert_string_equal(d.reason, "no publish rule lets role social_worker "
	    "publish intelligence_report");
	assert_string_equal(policy_verdict_name(d.verdict), "deny (no rule)");

	/* S3 */
	assert_int_equal(decide_in(fix_policy, fix_cast("plo-ana"), 0,
	    NWD__V1__KIND__CAMHS_UPDATE, NWD__V1__MARKING__OFFICIAL,
	    FIX_CTX_ALLOCATED | FIX_CTX_NAMED, &d), POLICY_DENY);
	assert_string_equal(d.rules, "no-camhs-to-police");
	assert_string_equal(d.reason, "rule no-camhs-to-police forbids role "
	    "police_liaison to receive camhs_update");
	assert_string_equal(policy_verdict_name(d.verdict), "deny");

	/* S12 */
	assert_int_equal(decide_in(fix_policy, fix_cast("keyworker-kim"), 0,
	    NWD__V1__KIND__RISK_ALERT, NWD__V1__MARKING__OFFICIAL_SENSITIVE,
	    FIX_CTX_ALLOCATED, &d), POLICY_DENY);
	assert_string_equal(d.rules, "clearance");
	assert_string_equal(d.reason, "marking OFFICIAL_SENSITIVE is above the "
	    "recipient's clearance OFFICIAL");
	assert_int_equal(d.nstrip, 0);

	/* S6: a condition that does not hold names its rule and says why. */
	assert_int_equal(decide(fix_policy, fix_cast("hubsys-norwich"), 0,
	    NWD__V1__KIND__RISK_ALERT, NWD__V1__MARKING__OFFICIAL, &d),
	    POLICY_DENY);
	assert_string_equal(d.rules, "hub-alerts");
	assert_string_equal(d.reason, "hubsys-norwich is neither allocated to "
	    "YP-001 nor named in share_with");

	/* need to know */
	assert_int_equal(decide(fix_policy, fix_cast("plo-ana"), 0,
	    NWD__V1__KIND__MISSING_EPISODE,
	    NWD__V1__MARKING__OFFICIAL_SENSITIVE, &d), POLICY_DENY);
	assert_string_equal(d.rules, "need-to-know");
	assert_string_equal(d.reason, "OFFICIAL-SENSITIVE: plo-ana is neither "
	    "allocated to YP-001 nor named");

	/* The duty desk outside the duty pass: no rule. */
	assert_int_equal(decide(fix_policy, fix_cast("duty-mash"), 0,
	    NWD__V1__KIND__RISK_ALERT, NWD__V1__MARKING__OFFICIAL, &d),
	    POLICY_DENY_NO_RULE);
	assert_string_equal(d.rules, "");
	assert_string_equal(d.reason, "no deliver rule lets role duty "
	    "receive risk_alert");

	/* A publish above the rule's max. */
	assert_int_equal(decide(fix_policy, fix_cast("plo-ana"), 1,
	    NWD__V1__KIND__RISK_ALERT, NWD__V1__MARKING__SECRET, &d),
	    POLICY_DENY);
	assert_string_equal(d.reason, "rule police-intelligence lets role "
	    "police_liaison publish risk_alert only up to OFFICIAL_SENSITIVE");

	/* S4, the other way: with a basis (safeguarding) it may be sent. */
	assert_int_equal(decide(fix_policy, fix_cast("camhs-cara"), 1,
	    NWD__V1__KIND__CAMHS_UPDATE, NWD__V1__MARKING__OFFICIAL, &d),
	    POLICY_ALLOW);
	assert_string_equal(d.rules, "camhs-updates");
	assert_string_equal(policy_verdict_name(POLICY_ALLOW), "allow");
}

/* Whatever the marking, the context and whatever else matches: no
 * CamhsUpdate reaches the police. */
static void
test_no_camhs_to_police(void **state)
{
	struct policy_decision	 d;
	const struct principal	*p;
	size_t			 i;
	int			 m, c, npolice = 0;

	for (i = 0; i < identity_count(fix_principals); i++) {
		p = identity_at(fix_principals, i);
		if (strcmp(p->agency, "police") != 0)
			continue;
		npolice++;
		for (m = NWD__V1__MARKING__OFFICIAL;
		    m <= NWD__V1__MARKING__TOP_SECRET; m++)
			for (c = 0; c <= (FIX_CTX_ALLOCATED | FIX_CTX_NAMED);
			    c++)
				assert_int_not_equal(decide_in(fix_policy,
				    p, 0, NWD__V1__KIND__CAMHS_UPDATE, m, c,
				    &d), POLICY_ALLOW);
		/* A police principal is never a duty desk here. */
		assert_int_not_equal(decide_in(fix_policy, p, 0,
		    NWD__V1__KIND__CAMHS_UPDATE, NWD__V1__MARKING__OFFICIAL,
		    FIX_CTX_DUTY | FIX_CTX_NAMED | FIX_CTX_ALLOCATED, &d),
		    POLICY_ALLOW);
	}
	assert_true(npolice >= 1);
}

/*
 * No delivery ever exceeds the recipient's clearance, and none of
 * OFFICIAL-SENSITIVE goes to anyone neither allocated nor named outside the
 * duty pass, for the whole fix_cast, every kind, every context.
 */
static void
test_clearance_caps_everyone(void **state)
{
	static const int	 contexts[] = { FIX_CTX_NONE,
				    FIX_CTX_ALLOCATED, FIX_CTX_NAMED,
				    FIX_CTX_ALLOCATED | FIX_CTX_NAMED,
				    FIX_CTX_DUTY, FIX_CTX_DUTY | FIX_CTX_NAMED };
	struct policy_decision	 d;
	const struct principal	*p;
	size_t			 i, c;
	int			 k, m, nallow = 0, nclear = 0;

	for (i = 0; i < identity_count(fix_principals); i++) {
		p = identity_at(fix_principals, i);
		for (k = 1; envelope_kind_name(k) != NULL; k++)
			for (m = NWD__V1__MARKING__OFFICIAL;
			     m <= NWD__V1__MARKING__TOP_SECRET; m++)
				for (c = 0;
				     c < sizeof(contexts) / sizeof(contexts[0]);
				     c++) {
					if (decide_in(fix_policy, p, 0, k, m,
					        contexts[c],
					        &d) != POLICY_ALLOW) {
						if (strcmp(d.rules,
						        "clearance") == 0)
							nclear++;
						continue;
					}
					nallow++;
					if (m > p->clearance)
						fail_msg(
						    "%s (clearance %s) receives %s "
						    "marked %s",
						    p->id,
						    envelope_marking_name(
						        p->clearance),
						    envelope_kind_name(k),
						    envelope_marking_name(m));
					if (m ==
					        NWD__V1__MARKING__OFFICIAL_SENSITIVE &&
					    contexts[c] == FIX_CTX_NONE)
						fail_msg(
						    "%s receives OFFICIAL-SENSITIVE %s "
						    "without need to know",
						    p->id,
						    envelope_kind_name(k));
				}
	}
	assert_true(nallow > 100);
	assert_true(nclear > 50);
}

static void
test_deploy_settings(void **state)
{
	const char	*v = policy_version(fix_policy);
	char		 err[512] = "";

	assert_int_equal(policy_nduty(fix_policy), 1);
	assert_string_equal(policy_duty(fix_policy), "duty-mash");
	assert_string_equal(policy_duty_at(fix_policy, 0), "duty-mash");
	assert_null(policy_duty_at(fix_policy, 1));
	assert_string_equal(policy_title(fix_policy), "Example county No "
	    "Wrong Door hub information-sharing agreement");
	assert_true(policy_nrules(fix_policy) >= 14);
	assert_int_equal(strlen(v), POLICY_VERSION_LEN - 1);
	/* The shipped mapping fits the shipped policy. */
	if (policy_check_principals(fix_policy, fix_principals, err,
	    sizeof(err)) != 0)
		fail_msg("deploy/principals.conf against deploy/policy.nwd: "
		    "%s", err);
}

/* ------------------------------------------------------------------------
 * Policy versions
 */

static void
test_version(void **state)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0, i;
	char		 want[POLICY_VERSION_LEN], *text2;
	const char	*v;
	struct policy	*p, *q;
	char		 err[256];

	/* "sha256:" and the first 16 hex digits of the text's SHA-256. */
	v = policy_version(fix_policy);
	assert_int_equal(strncmp(v, "sha256:", 7), 0);
	assert_int_equal(strlen(v), 7 + 16);
	for (i = 7; i < 23; i++)
		assert_true(isxdigit((unsigned char)v[i]) &&
		    !isupper((unsigned char)v[i]));
	assert_int_equal(EVP_Digest(fix_policy_text, fix_policy_len, md,
	    &mdlen, EVP_sha256(), NULL), 1);
	memcpy(want, "sha256:", 7);
	for (i = 0; i < 8; i++)
		snprintf(want + 7 + 2 * i, 3, "%02x", md[i]);
	assert_string_equal(v, want);

	/* The same text gives the same version. */
	p = policy_parse(fix_policy_text, fix_policy_len, "again", err,
	    sizeof(err));
	assert_non_null(p);
	assert_string_equal(policy_version(p), v);

	/* Any change, even a comment, gives another. */
	text2 = malloc(fix_policy_len + 32);
	assert_non_null(text2);
	memcpy(text2, fix_policy_text, fix_policy_len);
	memcpy(text2 + fix_policy_len, "# edited\n", 10);
	q = policy_parse(text2, fix_policy_len + 9, "edited", err, sizeof(err));
	assert_non_null(q);
	assert_string_not_equal(policy_version(q), v);
	assert_int_equal(strncmp(policy_version(q), "sha256:", 7), 0);
	policy_free(q);
	free(text2);
	policy_free(p);

	p = fix_parse_ok("duty a\n", "x");
	q = fix_parse_ok("duty b\n", "x");
	assert_string_not_equal(policy_version(p), policy_version(q));
	policy_free(p);
	policy_free(q);
}

/* ------------------------------------------------------------------------
 * Accepted edge cases
 */

static void
test_minimal_policies(void **state)
{
	struct policy		*p;
	struct policy_decision	 d;
	struct principal	 anyone = who("social_worker",
				    NWD__V1__MARKING__OFFICIAL_SENSITIVE);

	/* Empty: no rules, no duty, everything refused as no rule. */
	p = fix_parse_ok("", "empty");
	assert_int_equal(policy_nrules(p), 0);
	assert_null(policy_duty(p));
	assert_int_equal(policy_nduty(p), 0);
	assert_null(policy_title(p));
	assert_int_equal(decide(p, &anyone, 0, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL, &d), POLICY_DENY_NO_RULE);
	assert_string_equal(d.reason, "no deliver rule lets role "
	    "social_worker receive risk_alert");
	assert_int_equal(decide(p, &anyone, 1, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL, &d), POLICY_DENY_NO_RULE);
	assert_int_equal(decide_in(p, &anyone, 0, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL, FIX_CTX_DUTY, &d), POLICY_DENY_NO_RULE);
	policy_free(p);

	p = fix_parse_ok("# only comments\n\n   # indented\n", "comments");
	assert_int_equal(policy_nrules(p), 0);
	policy_free(p);

	/* One line, no final newline, "*" roles. */
	p = fix_parse_ok("allow deliver all: roles * kinds *", "star");
	assert_int_equal(policy_nrules(p), 1);
	assert_int_equal(decide(p, &anyone, 0, NWD__V1__KIND__CONSENT_RECORD,
	    NWD__V1__MARKING__OFFICIAL, &d), POLICY_ALLOW);
	assert_string_equal(d.rules, "all");
	/* A deliver rule says nothing about publishing. */
	assert_int_equal(decide(p, &anyone, 1, NWD__V1__KIND__CONSENT_RECORD,
	    NWD__V1__MARKING__OFFICIAL, &d), POLICY_DENY_NO_RULE);
	/* A rule without "when duty" is not one the duty pass looks at. */
	assert_int_equal(decide_in(p, &anyone, 0, NWD__V1__KIND__CONSENT_RECORD,
	    NWD__V1__MARKING__OFFICIAL, FIX_CTX_DUTY, &d), POLICY_DENY_NO_RULE);
	policy_free(p);

	/* A word as the policy title; comments after statements. */
	p = fix_parse_ok("policy short # title\nduty duty-mash # desk\n", "w");
	assert_string_equal(policy_duty(p), "duty-mash");
	assert_string_equal(policy_title(p), "short");
	policy_free(p);

	/* Several duty principals, in order. */
	p = fix_parse_ok("duty desk-a, desk-b\n", "duties");
	assert_int_equal(policy_nduty(p), 2);
	assert_string_equal(policy_duty(p), "desk-a");
	assert_string_equal(policy_duty_at(p, 1), "desk-b");
	assert_null(policy_duty_at(p, 2));
	policy_free(p);
}

/* Deny wins wherever it stands, and names only itself. */
static void
test_deny_order(void **state)
{
	static const char *texts[] = {
		"deny deliver d: roles hub_system kinds risk_alert\n"
		"allow deliver a: roles hub_system kinds risk_alert\n",
		"allow deliver a: roles hub_system kinds risk_alert\n"
		"deny deliver d: roles hub_system kinds risk_alert\n",
	};
	struct principal	 hub = who("hub_system",
				    NWD__V1__MARKING__OFFICIAL_SENSITIVE);
	struct policy_decision	 d;
	struct policy		*p;
	size_t			 i;

	for (i = 0; i < 2; i++) {
		p = fix_parse_ok(texts[i], "order");
		assert_int_equal(decide(p, &hub, 0, NWD__V1__KIND__RISK_ALERT,
		    NWD__V1__MARKING__OFFICIAL, &d), POLICY_DENY);
		assert_string_equal(d.rules, "d");
		assert_string_equal(d.reason, "rule d forbids role hub_system "
		    "to receive risk_alert");
		assert_int_equal(d.nstrip, 0);
		/* Other kinds are untouched by the deny. */
		assert_int_equal(decide(p, &hub, 0,
		    NWD__V1__KIND__ALLOCATION, NWD__V1__MARKING__OFFICIAL, &d),
		    POLICY_DENY_NO_RULE);
		policy_free(p);
	}
}

/* max OFFICIAL lets OFFICIAL through and refuses OFFICIAL-SENSITIVE. */
static void
test_publish_max(void **state)
{
	struct principal	 kim = who("hub_keyworker",
				    NWD__V1__MARKING__OFFICIAL);
	struct policy_decision	 d;
	struct policy		*p;

	p = fix_parse_ok("allow publish low: roles hub_keyworker kinds "
	    "risk_alert max OFFICIAL\n", "max");
	assert_int_equal(decide(p, &kim, 1, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL, &d), POLICY_ALLOW);
	assert_string_equal(d.rules, "low");
	assert_int_equal(decide(p, &kim, 1, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL_SENSITIVE, &d), POLICY_DENY);
	assert_string_equal(d.rules, "low");
	assert_non_null(strstr(d.reason, "only up to OFFICIAL"));
	policy_free(p);

	/* A second allow with a higher max lets it through. */
	p = fix_parse_ok("allow publish low: roles hub_keyworker kinds "
	    "risk_alert max OFFICIAL\nallow publish high: roles * kinds "
	    "risk_alert\n", "max2");
	assert_int_equal(decide(p, &kim, 1, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL_SENSITIVE, &d), POLICY_ALLOW);
	assert_string_equal(d.rules, "high");
	assert_int_equal(decide(p, &kim, 1, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL, &d), POLICY_ALLOW);
	assert_string_equal(d.rules, "low,high");
	policy_free(p);
}

/* ------------------------------------------------------------------------
 * Conditions: allocated, named, basis, from
 */

/*
 * Decides a delivery of a full envelope of kind about subject to pr, with
 * the allocation table t (may be NULL), share_with (comma-separated, may
 * be NULL), at now.  The envelope comes from the caller's arena when envp
 * is not NULL, for fix_check_delivered().
 */
static enum policy_verdict
deliver_to(struct fix_arena *a, const struct policy *p,
    const struct principal *pr, Nwd__V1__Kind kind,
    Nwd__V1__Marking marking, const char *subject,
    const struct alloc_table *t, const char *share_with, int64_t now,
    int duty_pass, Nwd__V1__Envelope **envp, struct policy_decision *d)
{
	Nwd__V1__Envelope	*e;
	struct policy_context	 ctx;
	char			 list[512], *tok, *save = NULL;
	enum policy_verdict	 r;

	e = fix_full_envelope(a, kind, subject, marking);
	e->header->legal_basis = NWD__V1__LEGAL_BASIS__SAFEGUARDING;
	e->header->originating_agency = (char *)"police";
	e->header->justification = fix_arena_printf(a,
	    "[header.justification#0]");
	e->header->subject->nhs_number = fix_arena_printf(a,
	    "[header.subject.nhs_number#0]");
	if (share_with != NULL) {
		snprintf(list, sizeof(list), "%s", share_with);
		for (tok = strtok_r(list, ",", &save); tok != NULL;
		    tok = strtok_r(NULL, ",", &save))
			fix_add_share_with(a, e->header, tok);
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.allocs = t;
	ctx.now_ms = now;
	ctx.duty_pass = duty_pass;
	memset(d, 0x5a, sizeof(*d));
	r = policy_check_deliver(p, pr, e, &ctx, d);
	assert_int_equal(r, d->verdict);
	if (envp != NULL)
		*envp = e;
	return d->verdict;
}

static void
put_alloc(struct alloc_table *t, const char *subject, const char *team,
    const char *worker, int64_t from, int64_t until)
{
	struct alloc_entry e;

	memset(&e, 0, sizeof(e));
	e.subject = subject;
	e.team = team;
	e.worker = worker;
	e.from_ms = from;
	e.until_ms = until;
	assert_int_equal(alloc_table_put(t, &e), 0);
}

static void
test_conditions_allocated_named(void **state)
{
	static const char text[] =
	    "allow deliver alloc: roles ra kinds risk_alert when allocated\n"
	    "allow deliver named: roles rb kinds risk_alert when named\n"
	    "allow deliver either: roles rc kinds risk_alert\n"
	    "    when allocated or named\n"
	    "allow deliver always: roles rd kinds risk_alert\n";
	static const char *const rolev[] = { "ra", "rb", "rc", "rd" };
	static const char *const rulev[] = { "alloc", "named", "either",
	    "always" };
	struct fix_arena	 a;
	struct policy		*p = fix_parse_ok(text, "conditions");
	struct alloc_table	*t;
	struct policy_decision	 d;
	struct principal	 pr;
	int			 r, alloc, named, want;

	memset(&a, 0, sizeof(a));
	assert_non_null(t = alloc_table_new());
	put_alloc(t, "YP-A", "t1", "", 0, 0);
	for (r = 0; r < 4; r++)
	for (alloc = 0; alloc <= 1; alloc++)
	for (named = 0; named <= 1; named++) {
		pr = who(rolev[r], NWD__V1__MARKING__OFFICIAL_SENSITIVE);
		want = r == 0 ? alloc : r == 1 ? named : r == 2 ?
		    (alloc || named) : 1;
		deliver_to(&a, p, &pr, NWD__V1__KIND__RISK_ALERT,
		    NWD__V1__MARKING__OFFICIAL, alloc ? "YP-A" : "YP-B", t,
		    named ? "someone,test-principal" : "someone", 1000, 0,
		    NULL, &d);
		if (d.verdict != (want ? POLICY_ALLOW : POLICY_DENY))
			fail_msg("role %s allocated %d named %d: %s %s (%s)",
			    rolev[r], alloc, named,
			    policy_verdict_name(d.verdict), d.rules, d.reason);
		/* Allowed or refused, the decision names the rule. */
		assert_string_equal(d.rules, rulev[r]);
		/* Refused, it says which condition failed, and only that. */
		if (!want)
			assert_string_equal(d.reason, r == 0 ?
			    "test-principal is not allocated to YP-B" :
			    r == 1 ? "test-principal is not named in share_with" :
			    "test-principal is neither allocated to YP-B nor "
			    "named in share_with");
	}
	pr = who("ra", NWD__V1__MARKING__OFFICIAL);
	deliver_to(&a, p, &pr, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL, "YP-B", t, NULL, 1000, 0, NULL, &d);
	assert_non_null(strstr(d.reason, "test-principal is not allocated to "
	    "YP-B"));
	pr = who("rc", NWD__V1__MARKING__OFFICIAL);
	deliver_to(&a, p, &pr, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL, "YP-B", t, NULL, 1000, 0, NULL, &d);
	assert_string_equal(d.reason, "test-principal is neither allocated to "
	    "YP-B nor named in share_with");
	/* An allocation to someone else names nobody. */
	pr = who("rb", NWD__V1__MARKING__OFFICIAL);
	deliver_to(&a, p, &pr, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL, "YP-A", t, "t2", 1000, 0, NULL, &d);
	assert_int_equal(d.verdict, POLICY_DENY);
	assert_string_equal(d.reason, "test-principal is not named in "
	    "share_with");
	alloc_table_free(t);
	fix_arena_free(&a);
	policy_free(p);
}

/* Who counts as allocated: by team, by name, in the period only. */
static void
test_allocation_forms(void **state)
{
	static const char text[] =
	    "team night: members test-principal\n"
	    "allow deliver alloc: roles ra kinds risk_alert when allocated\n";
	struct fix_arena	 a;
	struct policy		*p = fix_parse_ok(text, "alloc");
	struct alloc_table	*t;
	struct policy_decision	 d;
	struct principal	 pr = who("ra",
				    NWD__V1__MARKING__OFFICIAL_SENSITIVE);
	static const struct {
		const char	*subject;
		int64_t		 now;
		int		 allow;
	} cases[] = {
		{ "YP-TEAM", 1000, 1 },		/* one of its teams */
		{ "YP-WORKER", 1000, 1 },	/* itself, by name */
		{ "YP-OTHER-WORKER", 1000, 0 },
		{ "YP-OTHER-TEAM", 1000, 0 },
		{ "YP-POLICY-TEAM", 1000, 1 },	/* a team line gives it */
		{ "YP-PERIOD", 4999, 0 },	/* not yet */
		{ "YP-PERIOD", 5000, 1 },
		{ "YP-PERIOD", 8999, 1 },
		{ "YP-PERIOD", 9000, 0 },	/* ended */
		{ "YP-ENDED", 1000, 0 },	/* replaced by an ended one */
		{ "YP-NOBODY", 1000, 0 },
	};
	size_t i;

	memset(&a, 0, sizeof(a));
	assert_non_null(t = alloc_table_new());
	put_alloc(t, "YP-TEAM", "t1", "", 0, 0);
	put_alloc(t, "YP-WORKER", "", "test-principal", 0, 0);
	put_alloc(t, "YP-OTHER-WORKER", "", "someone-else", 0, 0);
	put_alloc(t, "YP-OTHER-TEAM", "t2", "", 0, 0);
	put_alloc(t, "YP-POLICY-TEAM", "night", "", 0, 0);
	put_alloc(t, "YP-PERIOD", "t1", "", 5000, 9000);
	put_alloc(t, "YP-ENDED", "t1", "", 0, 0);
	put_alloc(t, "YP-ENDED", "t1", "", 0, 500);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		deliver_to(&a, p, &pr, NWD__V1__KIND__RISK_ALERT,
		    NWD__V1__MARKING__OFFICIAL_SENSITIVE, cases[i].subject, t,
		    NULL, cases[i].now, 0, NULL, &d);
		if (d.verdict != (cases[i].allow ? POLICY_ALLOW : POLICY_DENY))
			fail_msg("%s at %lld: %s %s (%s)", cases[i].subject,
			    (long long)cases[i].now,
			    policy_verdict_name(d.verdict), d.rules, d.reason);
	}
	/* No table at all: nobody is allocated. */
	deliver_to(&a, p, &pr, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL, "YP-TEAM", NULL, NULL, 1000, 0, NULL,
	    &d);
	assert_int_equal(d.verdict, POLICY_DENY);
	alloc_table_free(t);
	fix_arena_free(&a);
	policy_free(p);
}

/* Who counts as named: by id, by team, by a team of the policy. */
static void
test_named_forms(void **state)
{
	static const char text[] =
	    "team night: members test-principal, other\n"
	    "team day: members other\n"
	    "allow deliver named: roles ra kinds risk_alert when named\n";
	static const struct {
		const char	*share_with;
		int		 allow;
	} cases[] = {
		{ "test-principal", 1 },
		{ "t1", 1 },
		{ "night", 1 },
		{ "day", 0 },
		{ "other,t2", 0 },
		{ "test", 0 },			/* no prefix matching */
		{ "test-principal-2", 0 },
		{ "x,y,z,t1", 1 },
	};
	struct fix_arena	 a;
	struct policy		*p = fix_parse_ok(text, "named");
	struct policy_decision	 d;
	struct principal	 pr = who("ra",
				    NWD__V1__MARKING__OFFICIAL_SENSITIVE);
	const char *const	*teams;
	size_t			 i, n;

	memset(&a, 0, sizeof(a));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		deliver_to(&a, p, &pr, NWD__V1__KIND__RISK_ALERT,
		    NWD__V1__MARKING__OFFICIAL_SENSITIVE, "YP-001", NULL,
		    cases[i].share_with, 1000, 0, NULL, &d);
		if (d.verdict != (cases[i].allow ? POLICY_ALLOW : POLICY_DENY))
			fail_msg("share_with %s: %s %s (%s)",
			    cases[i].share_with, policy_verdict_name(d.verdict),
			    d.rules, d.reason);
	}
	/* The teams team lines give a principal. */
	teams = policy_extra_teams(p, "other", &n);
	assert_int_equal(n, 2);
	assert_true((strcmp(teams[0], "night") == 0 &&
	    strcmp(teams[1], "day") == 0) || (strcmp(teams[0], "day") == 0 &&
	    strcmp(teams[1], "night") == 0));
	teams = policy_extra_teams(p, "test-principal", &n);
	assert_int_equal(n, 1);
	assert_string_equal(teams[0], "night");
	n = 99;
	assert_null(policy_extra_teams(p, "nobody", &n));
	assert_int_equal(n, 0);
	fix_arena_free(&a);
	policy_free(p);
}

static void
test_conditions_basis_from(void **state)
{
	static const char text[] =
	    "allow deliver b: roles ra kinds risk_alert basis consent\n"
	    "allow deliver f: roles rb kinds risk_alert from police, camhs\n"
	    "allow deliver a1: roles rc kinds risk_alert when allocated\n"
	    "allow deliver a2: roles rc kinds risk_alert basis consent\n"
	    "allow deliver a3: roles rc kinds risk_alert from hub\n"
	    "allow deliver ok: roles rd kinds risk_alert\n"
	    "deny deliver nd: roles rd kinds risk_alert when named\n"
	    "deny deliver only: roles re kinds risk_alert when named\n";
	struct policy		*p = fix_parse_ok(text, "basis");
	struct policy_decision	 d;
	struct principal	 pr;
	struct fix_arena	 a;
	Nwd__V1__Envelope	*e;
	struct policy_context	 ctx;

	memset(&a, 0, sizeof(a));
	memset(&ctx, 0, sizeof(ctx));
	e = fix_full_envelope(&a, NWD__V1__KIND__RISK_ALERT, "YP-001",
	    NWD__V1__MARKING__OFFICIAL);
	e->header->originating_agency = (char *)"hub";

	pr = who("ra", NWD__V1__MARKING__OFFICIAL);
	e->header->legal_basis = NWD__V1__LEGAL_BASIS__SAFEGUARDING;
	assert_int_equal(policy_check_deliver(p, &pr, e, &ctx, &d),
	    POLICY_DENY);
	assert_string_equal(d.rules, "b");
	assert_string_equal(d.reason, "rule b requires another legal basis "
	    "than safeguarding");
	e->header->legal_basis = NWD__V1__LEGAL_BASIS__CONSENT;
	assert_int_equal(policy_check_deliver(p, &pr, e, &ctx, &d),
	    POLICY_ALLOW);

	pr = who("rb", NWD__V1__MARKING__OFFICIAL);
	assert_int_equal(policy_check_deliver(p, &pr, e, &ctx, &d),
	    POLICY_DENY);
	assert_string_equal(d.rules, "f");
	assert_string_equal(d.reason, "rule f does not cover messages from "
	    "hub");
	e->header->originating_agency = (char *)"camhs";
	assert_int_equal(policy_check_deliver(p, &pr, e, &ctx, &d),
	    POLICY_ALLOW);

	/* Several candidates: the ones that hold decide; if none holds, the
	 * first that failed is named. */
	pr = who("rc", NWD__V1__MARKING__OFFICIAL);
	e->header->legal_basis = NWD__V1__LEGAL_BASIS__SAFEGUARDING;
	assert_int_equal(policy_check_deliver(p, &pr, e, &ctx, &d),
	    POLICY_DENY);
	assert_string_equal(d.rules, "a1");
	e->header->legal_basis = NWD__V1__LEGAL_BASIS__CONSENT;
	assert_int_equal(policy_check_deliver(p, &pr, e, &ctx, &d),
	    POLICY_ALLOW);
	assert_string_equal(d.rules, "a2");
	e->header->originating_agency = (char *)"hub";
	assert_int_equal(policy_check_deliver(p, &pr, e, &ctx, &d),
	    POLICY_ALLOW);
	assert_string_equal(d.rules, "a2,a3");

	/* A deny with a condition: only when it holds. */
	pr = who("rd", NWD__V1__MARKING__OFFICIAL);
	assert_int_equal(policy_check_deliver(p, &pr, e, &ctx, &d),
	    POLICY_ALLOW);
	assert_string_equal(d.rules, "ok");
	fix_add_share_with(&a, e->header, "t1");
	assert_int_equal(policy_check_deliver(p, &pr, e, &ctx, &d),
	    POLICY_DENY);
	assert_string_equal(d.rules, "nd");

	/* Only a deny names the role: a deny that holds refuses by name;
	 * one that does not hold makes no candidate (only an allow does),
	 * so it is no rule, as if the deny were not there. */
	pr = who("re", NWD__V1__MARKING__OFFICIAL);
	assert_int_equal(policy_check_deliver(p, &pr, e, &ctx, &d),
	    POLICY_DENY);
	assert_string_equal(d.rules, "only");
	assert_string_equal(d.reason, "rule only forbids role re to receive "
	    "risk_alert");
	e->header->n_share_with = 0;
	assert_int_equal(policy_check_deliver(p, &pr, e, &ctx, &d),
	    POLICY_DENY_NO_RULE);
	assert_string_equal(d.rules, "");
	assert_string_equal(d.reason, "no deliver rule lets role re receive "
	    "risk_alert");
	fix_arena_free(&a);
	policy_free(p);
}

/* ------------------------------------------------------------------------
 * What is withheld: protected types, strip, keep, grant
 */

/* What the header's free text adds to a keep's withheld list. */
#define HDR	",header.justification,header.share_with," \
		"header.subject.nhs_number"

/*
 * An OFFICIAL message of kind with every field set (the header's free
 * text too), to a principal of role ra named in share_with: the decision
 * must be allowed by want_rules and withhold exactly want
 * (comma-separated, "" for nothing), and the bytes delivered must lack
 * exactly what of want the message holds.
 */
static void
expect_withheld(const struct policy *p, Nwd__V1__Kind kind,
    const char *want_rules, const char *want)
{
	struct fix_arena	 a;
	struct policy_decision	 d;
	struct principal	 pr = who("ra", NWD__V1__MARKING__OFFICIAL);
	Nwd__V1__Envelope	*e;
	char			 sc[1024], got[2048], why[4096];
	char			 list[1024], held[1024] = "";
	char			*t, *save = NULL;

	memset(&a, 0, sizeof(a));
	deliver_to(&a, p, &pr, kind, NWD__V1__MARKING__OFFICIAL, "YP-001",
	    NULL, "test-principal", 1000, 0, &e, &d);
	if (d.verdict != POLICY_ALLOW) {
		fix_arena_free(&a);
		fail_msg("%s: %s %s (%s)", envelope_kind_name(kind),
		    policy_verdict_name(d.verdict), d.rules, d.reason);
	}
	assert_string_equal(d.rules, want_rules);
	fix_strip_csv(&d, sc, sizeof(sc));
	if (fix_check_delivered(e, d.strip, d.nstrip, got, sizeof(got), why,
	    sizeof(why)) == -1) {
		fix_arena_free(&a);
		fail_msg("%s: %s", envelope_kind_name(kind), why);
	}
	snprintf(list, sizeof(list), "%s", want);
	for (t = strtok_r(list, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save))
		if (fix_path_present(e, t))
			fix_appendf(held, sizeof(held), "%s%s",
			    held[0] != '\0' ? "," : "", t);
	fix_arena_free(&a);
	if (!fix_same_set(sc, want))
		fail_msg("%s: the decision withholds \"%s\", expected \"%s\"",
		    envelope_kind_name(kind), sc, want);
	if (!fix_same_set(got, held))
		fail_msg("%s: the delivery withholds \"%s\", expected \"%s\"",
		    envelope_kind_name(kind), got, held);
}

static void
test_protected_types(void **state)
{
	struct policy *p;

	/* Nothing protected: nothing withheld unless a rule says so. */
	p = fix_parse_ok("allow deliver plain: roles ra kinds *\n", "none");
	expect_withheld(p, NWD__V1__KIND__INTELLIGENCE_REPORT, "plain", "");
	expect_withheld(p, NWD__V1__KIND__DOMESTIC_ABUSE_NOTIFICATION,
	    "plain", "");
	policy_free(p);

	/* The shipped list: withheld wherever it appears. */
	p = fix_parse_ok("protect Address, ThirdParty, SourceDetails\n"
	    "allow deliver plain: roles ra kinds *\n", "protect");
	expect_withheld(p, NWD__V1__KIND__INTELLIGENCE_REPORT, "plain",
	    "source_details,third_parties,location");
	expect_withheld(p, NWD__V1__KIND__MISSING_EPISODE, "plain",
	    "last_seen,associates");
	expect_withheld(p, NWD__V1__KIND__RISK_ALERT, "plain",
	    "associates,location");
	expect_withheld(p, NWD__V1__KIND__DOMESTIC_ABUSE_NOTIFICATION,
	    "plain", "victim,perpetrator,address");
	expect_withheld(p, NWD__V1__KIND__PLACEMENT_CHANGE, "plain",
	    "address");
	expect_withheld(p, NWD__V1__KIND__CAMHS_UPDATE, "plain", "");
	expect_withheld(p, NWD__V1__KIND__ALLOCATION, "plain", "");
	expect_withheld(p, NWD__V1__KIND__CONSENT_RECORD, "plain", "");
	expect_withheld(p, NWD__V1__KIND__STRATEGY_DISCUSSION_REQUEST,
	    "plain", "");
	policy_free(p);

	/* Nested: an Address inside a source, a ThirdParty inside it. */
	p = fix_parse_ok("protect Address\n"
	    "allow deliver plain: roles ra kinds domestic_abuse_notification,"
	    " missing_episode\n", "nested");
	expect_withheld(p, NWD__V1__KIND__DOMESTIC_ABUSE_NOTIFICATION,
	    "plain", "victim.address,perpetrator.address,address");
	/* A repeated field whose entries hold a protected type is withheld
	 * whole: its entries cannot be redacted one by one. */
	expect_withheld(p, NWD__V1__KIND__MISSING_EPISODE, "plain",
	    "last_seen,associates");
	policy_free(p);
	p = fix_parse_ok("protect Address\n"
	    "allow deliver plain: roles ra kinds intelligence_report, "
	    "risk_alert, strategy_discussion_request, consent_record\n",
	    "repeated");
	expect_withheld(p, NWD__V1__KIND__INTELLIGENCE_REPORT, "plain",
	    "source_details.source.address,third_parties,location");
	expect_withheld(p, NWD__V1__KIND__RISK_ALERT, "plain",
	    "associates,location");
	/* Repeated fields of plain values hold nothing protected. */
	expect_withheld(p, NWD__V1__KIND__STRATEGY_DISCUSSION_REQUEST,
	    "plain", "");
	expect_withheld(p, NWD__V1__KIND__CONSENT_RECORD, "plain", "");
	policy_free(p);
	/* Granted by name, the repeated field is delivered; kept, it is
	 * not: only a grant lifts a protection. */
	p = fix_parse_ok("protect Address\n"
	    "allow deliver g: roles ra kinds intelligence_report, risk_alert "
	    "grant third_parties, location\n", "repeated-grant");
	expect_withheld(p, NWD__V1__KIND__INTELLIGENCE_REPORT, "g",
	    "source_details.source.address");
	expect_withheld(p, NWD__V1__KIND__RISK_ALERT, "g", "associates");
	policy_free(p);
	p = fix_parse_ok("protect Address\n"
	    "allow deliver k: roles ra kinds risk_alert keep summary, "
	    "associates\n", "repeated-keep");
	expect_withheld(p, NWD__V1__KIND__RISK_ALERT, "k",
	    "category,level,details,associates,location" HDR);
	policy_free(p);
	/* Protecting a type no repeated field holds withholds no list. */
	p = fix_parse_ok("protect SourceDetails\n"
	    "allow deliver plain: roles ra kinds intelligence_report, "
	    "missing_episode\n", "not-repeated");
	expect_withheld(p, NWD__V1__KIND__INTELLIGENCE_REPORT, "plain",
	    "source_details");
	expect_withheld(p, NWD__V1__KIND__MISSING_EPISODE, "plain", "");
	policy_free(p);
	p = fix_parse_ok("protect ThirdParty\n"
	    "allow deliver plain: roles ra kinds intelligence_report, "
	    "domestic_abuse_notification\n", "nested2");
	expect_withheld(p, NWD__V1__KIND__INTELLIGENCE_REPORT, "plain",
	    "source_details.source,third_parties");
	expect_withheld(p, NWD__V1__KIND__DOMESTIC_ABUSE_NOTIFICATION,
	    "plain", "victim,perpetrator");
	policy_free(p);

	/* Any message type may be protected. */
	p = fix_parse_ok("protect Grading, Legacy5x5x5\n"
	    "allow deliver plain: roles ra kinds intelligence_report\n", "g");
	expect_withheld(p, NWD__V1__KIND__INTELLIGENCE_REPORT, "plain",
	    "grading,legacy");
	policy_free(p);

	/* A grant names what it releases; a parent's grant fix_covers what is
	 * inside it; a child's grant does not release its protected parent. */
	p = fix_parse_ok("protect Address, ThirdParty, SourceDetails\n"
	    "allow deliver g: roles ra kinds intelligence_report, "
	    "domestic_abuse_notification\n"
	    "    grant location, source_details, victim.address\n", "grant");
	expect_withheld(p, NWD__V1__KIND__INTELLIGENCE_REPORT, "g",
	    "third_parties");
	expect_withheld(p, NWD__V1__KIND__DOMESTIC_ABUSE_NOTIFICATION, "g",
	    "victim,perpetrator,address");
	policy_free(p);

	/* Allows are additive: one grant among the matching allows is
	 * enough. */
	p = fix_parse_ok("protect Address, ThirdParty, SourceDetails\n"
	    "allow deliver one: roles ra kinds intelligence_report "
	    "grant location\n"
	    "allow deliver two: roles ra kinds intelligence_report "
	    "grant third_parties\n"
	    "allow deliver three: roles ra kinds intelligence_report\n",
	    "additive");
	expect_withheld(p, NWD__V1__KIND__INTELLIGENCE_REPORT, "one,two,three",
	    "source_details");
	policy_free(p);

	/* strip and the protected list together; a grant does not undo a
	 * strip of the same rule. */
	p = fix_parse_ok("protect Address, ThirdParty\n"
	    "allow deliver s: roles ra kinds risk_alert strip details, location"
	    " grant location\n", "strip");
	expect_withheld(p, NWD__V1__KIND__RISK_ALERT, "s",
	    "details,location,associates");
	policy_free(p);
}

static void
test_keep(void **state)
{
	struct policy *p;

	/* keep: every other field is withheld. */
	p = fix_parse_ok("allow deliver k: roles ra kinds intelligence_report\n"
	    "    keep summary, sanitised, occurred_unix_ms\n", "keep");
	expect_withheld(p, NWD__V1__KIND__INTELLIGENCE_REPORT, "k",
	    "grading,legacy,source_details,third_parties,location" HDR);
	policy_free(p);

	/* A nested keep keeps the way to it and withholds its siblings. */
	p = fix_parse_ok("allow deliver k: roles ra kinds intelligence_report\n"
	    "    keep grading.assessment, summary\n", "nested");
	expect_withheld(p, NWD__V1__KIND__INTELLIGENCE_REPORT, "k",
	    "grading.source_evaluation,grading.handling_code,"
	    "grading.handling_conditions,legacy,sanitised,source_details,"
	    "third_parties,location,occurred_unix_ms" HDR);
	policy_free(p);

	/* Kinds without the kept fields keep nothing. */
	p = fix_parse_ok("allow deliver k: roles ra kinds intelligence_report, "
	    "camhs_update keep summary\n", "kinds");
	expect_withheld(p, NWD__V1__KIND__CAMHS_UPDATE, "k",
	    "risk_summary,clinical_formulation,risk_level,"
	    "next_appointment_unix_ms,clinician" HDR);
	policy_free(p);

	/* A grant lifts protection, not keep: a kept protected field is
	 * still withheld, and a granted one that is not kept is withheld
	 * by the keep. */
	p = fix_parse_ok("protect Address, ThirdParty, SourceDetails\n"
	    "allow deliver k: roles ra kinds risk_alert keep summary, "
	    "associates grant location\n", "keep-grant");
	expect_withheld(p, NWD__V1__KIND__RISK_ALERT, "k",
	    "category,level,details,associates,location" HDR);
	policy_free(p);
	/* Kept and granted: delivered. */
	p = fix_parse_ok("protect Address, ThirdParty, SourceDetails\n"
	    "allow deliver k: roles ra kinds risk_alert keep summary, "
	    "associates grant associates\n", "keep-and-grant");
	expect_withheld(p, NWD__V1__KIND__RISK_ALERT, "k",
	    "category,level,details,location" HDR);
	policy_free(p);

	/* keep in one allow, strip in another: the intersection. */
	p = fix_parse_ok("allow deliver k: roles ra kinds camhs_update "
	    "keep risk_summary\n"
	    "allow deliver s: roles ra kinds camhs_update "
	    "strip clinical_formulation, clinician, risk_summary\n", "both");
	expect_withheld(p, NWD__V1__KIND__CAMHS_UPDATE, "k,s",
	    "clinical_formulation,clinician");
	policy_free(p);
}

/*
 * The header's free text (header.justification, header.share_with,
 * header.subject.nhs_number) is under the policy like body fields:
 * stripped, kept, protected and granted by name, in the decision and in
 * the bytes delivered.
 */
static void
test_header_fields(void **state)
{
	struct policy *p;

	/* strip names them beside body paths, for any kind. */
	p = fix_parse_ok("allow deliver s: roles ra kinds risk_alert, "
	    "camhs_update strip header.justification, details\n", "strip");
	expect_withheld(p, NWD__V1__KIND__RISK_ALERT, "s",
	    "header.justification,details");
	expect_withheld(p, NWD__V1__KIND__CAMHS_UPDATE, "s",
	    "header.justification");
	policy_free(p);

	/* keep withholds the header's free text it does not list. */
	p = fix_parse_ok("allow deliver k: roles ra kinds camhs_update "
	    "keep risk_summary, header.share_with\n", "keep");
	expect_withheld(p, NWD__V1__KIND__CAMHS_UPDATE, "k",
	    "clinical_formulation,risk_level,next_appointment_unix_ms,"
	    "clinician,header.justification,header.subject.nhs_number");
	policy_free(p);

	/* protect: withheld from every delivery unless granted. */
	p = fix_parse_ok("protect Address, header.justification\n"
	    "allow deliver plain: roles ra kinds camhs_update, "
	    "placement_change\n", "protect");
	expect_withheld(p, NWD__V1__KIND__CAMHS_UPDATE, "plain",
	    "header.justification");
	expect_withheld(p, NWD__V1__KIND__PLACEMENT_CHANGE, "plain",
	    "header.justification,address");
	policy_free(p);
	p = fix_parse_ok("protect Address, header.justification\n"
	    "allow deliver g: roles ra kinds camhs_update "
	    "grant header.justification\n", "grant");
	expect_withheld(p, NWD__V1__KIND__CAMHS_UPDATE, "g", "");
	policy_free(p);

	/* Allows are additive here too. */
	p = fix_parse_ok("allow deliver one: roles ra kinds risk_alert "
	    "strip header.justification, header.subject.nhs_number\n"
	    "allow deliver two: roles ra kinds risk_alert "
	    "strip header.subject.nhs_number, header.share_with\n", "union");
	expect_withheld(p, NWD__V1__KIND__RISK_ALERT, "one,two",
	    "header.subject.nhs_number");
	policy_free(p);
}

/* ------------------------------------------------------------------------
 * Allocation rights: allow allocate rules
 */

/* A mapping of its own: a1 in t1 and t2, a2 in t2, a3 in t3, b1 and c1
 * in none. */
static const char alloc_mapping[] =
    "a1 a1 ra x t1,t2 OFFICIAL_SENSITIVE\n"
    "a2 a2 ra x t2 OFFICIAL\n"
    "a3 a3 ra x t3 OFFICIAL\n"
    "b1 b1 rb x - OFFICIAL\n"
    "c1 c1 rc x - OFFICIAL\n";

/*
 * sender allocates team and worker ("" for none) to subject, until
 * until_ms, at 1000 ms with the allocations of t: the verdict, rules and a
 * part of the reason (NULL: no refusal) must be as wanted.
 */
static void
expect_allocate(const struct policy *p, const struct identity_map *ids,
    const struct alloc_table *t, const char *sender, const char *subject,
    const char *team, const char *worker, int64_t until_ms,
    enum policy_verdict want, const char *rules, const char *because)
{
	struct fix_arena	 a;
	struct policy_context	 ctx;
	struct policy_decision	 d;
	Nwd__V1__Envelope	*e;
	const struct principal	*pr = identity_find_id(ids, sender);

	assert_non_null(pr);
	memset(&a, 0, sizeof(a));
	e = fix_full_envelope(&a, NWD__V1__KIND__ALLOCATION, subject,
	    NWD__V1__MARKING__OFFICIAL);
	e->allocation->team = (char *)team;
	e->allocation->worker = (char *)worker;
	e->allocation->from_unix_ms = 0;
	e->allocation->until_unix_ms = until_ms;
	memset(&ctx, 0, sizeof(ctx));
	ctx.allocs = t;
	ctx.now_ms = 1000;
	ctx.ids = ids;
	memset(&d, 0x5a, sizeof(d));
	if (policy_check_allocate(p, pr, e, &ctx, &d) != d.verdict)
		fail_msg("the verdict returned is not the decision's");
	fix_arena_free(&a);
	if (d.verdict != want || strcmp(d.rules, rules) != 0 ||
	    (because != NULL && strstr(d.reason, because) == NULL) ||
	    (want != POLICY_ALLOW && d.reason[0] == '\0') || d.nstrip != 0)
		fail_msg("%s allocating %s/%s to %s: %s \"%s\" (%s); expected "
		    "%s \"%s\" saying \"%s\"", sender, team, worker, subject,
		    policy_verdict_name(d.verdict), d.rules, d.reason,
		    policy_verdict_name(want), rules,
		    because != NULL ? because : "");
}

static void
put_alloc_by(struct alloc_table *t, const char *subject, const char *team,
    const char *worker, int64_t until, const char *by)
{
	struct alloc_entry e;

	memset(&e, 0, sizeof(e));
	e.subject = subject;
	e.team = team;
	e.worker = worker;
	e.until_ms = until;
	e.by = by;
	assert_int_equal(alloc_table_put(t, &e), 0);
}

static void
test_allocate_rules(void **state)
{
	struct identity_map	*ids;
	struct alloc_table	*t;
	struct policy		*p;
	char			 err[512];

	ids = identity_parse(alloc_mapping, strlen(alloc_mapping), "ids", err,
	    sizeof(err));
	if (ids == NULL)
		fail_msg("%s", err);
	assert_non_null(t = alloc_table_new());
	p = fix_parse_ok(
	    "allow allocate own: roles ra when allocated teams own "
	    "workers own\n"
	    "allow allocate listed: roles rb teams t1, t3\n"
	    "    workers self, a2 end any\n", "alloc");

	/* when allocated: only young people the sender is allocated to. */
	expect_allocate(p, ids, t, "a1", "YP-1", "t1", "", 0, POLICY_DENY,
	    "own", "rule own lets role ra allocate only young people it is "
	    "allocated to; a1 is not allocated to YP-1");
	put_alloc_by(t, "YP-1", "t1", "", 0, "x");
	/* teams own: its own teams, not another. */
	expect_allocate(p, ids, t, "a1", "YP-1", "t2", "", 0, POLICY_ALLOW,
	    "own", NULL);
	expect_allocate(p, ids, t, "a1", "YP-1", "t3", "", 0, POLICY_DENY,
	    "own", "rule own does not let role ra allocate team t3 (it allows "
	    "its own teams)");
	/* workers own: itself and those who share a team with it. */
	expect_allocate(p, ids, t, "a1", "YP-1", "", "a1", 0, POLICY_ALLOW,
	    "own", NULL);
	expect_allocate(p, ids, t, "a1", "YP-1", "t2", "a2", 0, POLICY_ALLOW,
	    "own", NULL);
	expect_allocate(p, ids, t, "a1", "YP-1", "", "a3", 0, POLICY_DENY,
	    "own", "rule own does not let role ra allocate worker a3 (it "
	    "allows itself and the workers who share a team with it)");
	/* end own: what another made is not its to end or change. */
	expect_allocate(p, ids, t, "a1", "YP-1", "t1", "", 1000, POLICY_DENY,
	    "own", "the allocation of t1 to YP-1 was made by x; rule own lets "
	    "role ra end or change only the allocations it made");
	expect_allocate(p, ids, t, "a1", "YP-1", "t1", "", 0, POLICY_DENY,
	    "own", "was made by x");
	put_alloc_by(t, "YP-1", "", "a2", 0, NULL);
	expect_allocate(p, ids, t, "a1", "YP-1", "", "a2", 1000, POLICY_DENY,
	    "own", "the allocation of a2 to YP-1 was made by a principal not "
	    "recorded");
	/* What it made, it may end; one already ended is not ended again. */
	put_alloc_by(t, "YP-1", "t2", "", 0, "a1");
	expect_allocate(p, ids, t, "a1", "YP-1", "t2", "", 1000, POLICY_ALLOW,
	    "own", NULL);
	put_alloc_by(t, "YP-1", "t2", "", 1000, "x");
	expect_allocate(p, ids, t, "a1", "YP-1", "t2", "", 0, POLICY_ALLOW,
	    "own", NULL);
	/* One yet to come is not over: it counts. */
	put_alloc_by(t, "YP-1", "t2", "", 5000, "x");
	expect_allocate(p, ids, t, "a1", "YP-1", "t2", "", 0, POLICY_DENY,
	    "own", "was made by x");

	/* Named teams and workers, self, end any, no when. */
	expect_allocate(p, ids, t, "b1", "YP-2", "t1", "", 0, POLICY_ALLOW,
	    "listed", NULL);
	expect_allocate(p, ids, t, "b1", "YP-2", "t2", "", 0, POLICY_DENY,
	    "listed", "rule listed does not let role rb allocate team t2 (it "
	    "allows t1, t3)");
	expect_allocate(p, ids, t, "b1", "YP-2", "", "b1", 0, POLICY_ALLOW,
	    "listed", NULL);
	expect_allocate(p, ids, t, "b1", "YP-2", "t3", "a2", 0, POLICY_ALLOW,
	    "listed", NULL);
	expect_allocate(p, ids, t, "b1", "YP-2", "", "a1", 0, POLICY_DENY,
	    "listed", "(it allows itself, a2)");
	expect_allocate(p, ids, t, "b1", "YP-1", "t1", "", 1000,
	    POLICY_ALLOW, "listed", NULL);
	/* No allocate rule for the role. */
	expect_allocate(p, ids, t, "c1", "YP-1", "t1", "", 0,
	    POLICY_DENY_NO_RULE, "", "no allocate rule lets role rc "
	    "allocate");
	policy_free(p);

	/* Rules are alternatives: one must allow all of it; every rule that
	 * does is named.  A rule without teams allocates no team. */
	p = fix_parse_ok(
	    "allow allocate teams-only: roles ra teams any\n"
	    "allow allocate workers-only: roles ra workers any\n"
	    "allow allocate both: roles ra teams t1 workers self\n", "union");
	expect_allocate(p, ids, t, "a3", "YP-3", "t2", "a2", 0, POLICY_DENY,
	    "teams-only", "rule teams-only does not let role ra allocate "
	    "workers");
	expect_allocate(p, ids, t, "a3", "YP-3", "", "a2", 0, POLICY_ALLOW,
	    "workers-only", NULL);
	expect_allocate(p, ids, t, "a3", "YP-3", "t1", "a3", 0, POLICY_ALLOW,
	    "both", NULL);
	expect_allocate(p, ids, t, "a3", "YP-3", "t1", "", 0, POLICY_ALLOW,
	    "teams-only,both", NULL);
	expect_allocate(p, ids, t, "a3", "YP-3", "", "a3", 0, POLICY_ALLOW,
	    "workers-only,both", NULL);
	expect_allocate(p, ids, t, "a3", "YP-3", "t1", "", 0, POLICY_ALLOW,
	    "teams-only,both", NULL);
	policy_free(p);

	/* Team lines count as the mapping's teams do. */
	p = fix_parse_ok("team t9: members a1, a3\n"
	    "allow allocate own: roles ra teams own workers own\n", "lines");
	expect_allocate(p, ids, t, "a1", "YP-4", "", "a3", 0, POLICY_ALLOW,
	    "own", NULL);
	expect_allocate(p, ids, t, "a3", "YP-4", "t9", "", 0, POLICY_ALLOW,
	    "own", NULL);
	expect_allocate(p, ids, t, "a2", "YP-4", "t9", "", 0, POLICY_DENY,
	    "own", "allocate team t9");
	policy_free(p);

	/* Without allocate rules, no one allocates. */
	p = fix_parse_ok("allow publish p: roles * kinds allocation\n",
	    "none");
	expect_allocate(p, ids, t, "a1", "YP-1", "t1", "", 0,
	    POLICY_DENY_NO_RULE, "", "no allocate rule lets role ra");
	policy_free(p);

	alloc_table_free(t);
	identity_free(ids);
}

/* The shipped agreement's allocate rules, with their reasons. */
static void
test_allocate_deploy(void **state)
{
	struct alloc_table *t;

	assert_non_null(t = alloc_table_new());
	put_alloc_by(t, "YP-001", "sw:north", "", 0, "case-system");
	put_alloc_by(t, "YP-001", "hub:norwich", "", 0, "case-system");
	expect_allocate(fix_policy, fix_principals, t, "case-system", "YP-003",
	    "hub:dereham", "", 0, POLICY_ALLOW, "case-system-allocates", NULL);
	expect_allocate(fix_policy, fix_principals, t, "case-system", "YP-001",
	    "sw:north", "", 1000, POLICY_ALLOW, "case-system-allocates",
	    NULL);
	expect_allocate(fix_policy, fix_principals, t, "sw-ben", "YP-002",
	    "sw:north", "", 0, POLICY_DENY, "social-worker-own-cases",
	    "sw-ben is not allocated to YP-002");
	expect_allocate(fix_policy, fix_principals, t, "sw-ben", "YP-001",
	    "hub:norwich", "", 1000, POLICY_DENY, "social-worker-own-cases",
	    "allocate team hub:norwich (it allows its own teams)");
	expect_allocate(fix_policy, fix_principals, t, "sw-ben", "YP-001",
	    "sw:north", "", 1000, POLICY_DENY, "social-worker-own-cases",
	    "was made by case-system");
	expect_allocate(fix_policy, fix_principals, t, "sw-ben", "YP-001",
	    "", "sw-ben", 0, POLICY_ALLOW, "social-worker-own-cases", NULL);
	expect_allocate(fix_policy, fix_principals, t, "plo-ana", "YP-001",
	    "", "plo-ana", 0, POLICY_DENY_NO_RULE, "", "no allocate rule lets "
	    "role police_liaison allocate");
	alloc_table_free(t);
}

/* ------------------------------------------------------------------------
 * The duty pass, role and team declarations
 */

static void
test_duty_pass(void **state)
{
	static const char text[] =
	    "duty desk\n"
	    "allow deliver d: roles duty kinds * when duty\n"
	    "allow deliver a: roles duty kinds risk_alert when allocated\n"
	    "allow deliver both: roles ra kinds risk_alert\n"
	    "    when allocated or duty\n";
	struct fix_arena	 a;
	struct policy		*p = fix_parse_ok(text, "duty");
	struct policy_decision	 d;
	struct principal	 desk = who("duty", NWD__V1__MARKING__OFFICIAL);
	struct principal	 osdesk = who("duty",
				    NWD__V1__MARKING__OFFICIAL_SENSITIVE);
	struct principal	 ra = who("ra",
				    NWD__V1__MARKING__OFFICIAL_SENSITIVE);
	struct alloc_table	*t;
	Nwd__V1__Envelope	*e;
	struct policy_context	 ctx;

	memset(&a, 0, sizeof(a));
	assert_non_null(t = alloc_table_new());
	put_alloc(t, "YP-A", "t1", "", 0, 0);

	/* Outside the duty pass only the other rules count. */
	deliver_to(&a, p, &desk, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL, "YP-B", t, NULL, 1000, 0, NULL, &d);
	assert_int_equal(d.verdict, POLICY_DENY);
	assert_string_equal(d.rules, "a");
	deliver_to(&a, p, &desk, NWD__V1__KIND__CAMHS_UPDATE,
	    NWD__V1__MARKING__OFFICIAL, "YP-B", t, NULL, 1000, 0, NULL, &d);
	assert_int_equal(d.verdict, POLICY_DENY_NO_RULE);
	/* In it, only the allows marked duty count. */
	deliver_to(&a, p, &desk, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL, "YP-B", t, NULL, 1000, 1, NULL, &d);
	assert_int_equal(d.verdict, POLICY_ALLOW);
	assert_string_equal(d.rules, "d");
	deliver_to(&a, p, &desk, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL, "YP-A", t, NULL, 1000, 1, NULL, &d);
	assert_string_equal(d.rules, "d");
	deliver_to(&a, p, &desk, NWD__V1__KIND__CAMHS_UPDATE,
	    NWD__V1__MARKING__OFFICIAL, "YP-B", t, NULL, 1000, 1, NULL, &d);
	assert_int_equal(d.verdict, POLICY_ALLOW);

	/* The duty desk needs no allocation for OFFICIAL-SENSITIVE... */
	deliver_to(&a, p, &osdesk, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL_SENSITIVE, "YP-B", t, NULL, 1000, 1,
	    NULL, &d);
	assert_int_equal(d.verdict, POLICY_ALLOW);
	/* ... but clearance holds there too. */
	deliver_to(&a, p, &desk, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL_SENSITIVE, "YP-B", t, NULL, 1000, 1,
	    NULL, &d);
	assert_int_equal(d.verdict, POLICY_DENY);
	assert_string_equal(d.rules, "clearance");
	/* ... and handling code C. */
	e = fix_full_envelope(&a, NWD__V1__KIND__INTELLIGENCE_REPORT, "YP-B",
	    NWD__V1__MARKING__OFFICIAL);
	e->intelligence_report->grading->handling_code =
	    NWD__V1__GRADING__HANDLING_CODE__HANDLING_C;
	memset(&ctx, 0, sizeof(ctx));
	ctx.duty_pass = 1;
	assert_int_equal(policy_check_deliver(p, &desk, e, &ctx, &d),
	    POLICY_DENY);
	assert_string_equal(d.rules, "handling-C");
	fix_add_share_with(&a, e->header, "test-principal");
	assert_int_equal(policy_check_deliver(p, &desk, e, &ctx, &d),
	    POLICY_ALLOW);

	/* "when allocated or duty" outside the duty pass: allocated. */
	deliver_to(&a, p, &ra, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL, "YP-A", t, NULL, 1000, 0, NULL, &d);
	assert_int_equal(d.verdict, POLICY_ALLOW);
	deliver_to(&a, p, &ra, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL, "YP-B", t, NULL, 1000, 0, NULL, &d);
	assert_int_equal(d.verdict, POLICY_DENY);
	assert_string_equal(d.rules, "both");
	assert_string_equal(d.reason, "test-principal is not allocated to "
	    "YP-B");
	/* In the duty pass it holds by "duty", allocated or not. */
	deliver_to(&a, p, &ra, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL, "YP-B", t, NULL, 1000, 1, NULL, &d);
	assert_int_equal(d.verdict, POLICY_ALLOW);
	assert_string_equal(d.rules, "both");
	policy_free(p);

	/* Deny rules count in every pass; "when duty" is one condition
	 * among the alternatives of a "when". */
	p = fix_parse_ok("duty desk\n"
	    "allow deliver desk: roles duty kinds * when duty\n"
	    "allow deliver desk-or: roles duty kinds allocation\n"
	    "    when named or duty\n"
	    "deny deliver at-desk: roles duty kinds consent_record when duty\n"
	    "deny deliver if-named: roles duty kinds placement_change\n"
	    "    when named\n", "duty-deny");
	/* A deny "when duty" does not hold outside the duty pass, and no
	 * allow is in that pass: no rule. */
	deliver_to(&a, p, &desk, NWD__V1__KIND__CONSENT_RECORD,
	    NWD__V1__MARKING__OFFICIAL, "YP-B", t, NULL, 1000, 0, NULL, &d);
	assert_int_equal(d.verdict, POLICY_DENY_NO_RULE);
	assert_string_equal(d.rules, "");
	/* In the duty pass it holds, and wins over the desk's allow. */
	deliver_to(&a, p, &desk, NWD__V1__KIND__CONSENT_RECORD,
	    NWD__V1__MARKING__OFFICIAL, "YP-B", t, NULL, 1000, 1, NULL, &d);
	assert_int_equal(d.verdict, POLICY_DENY);
	assert_string_equal(d.rules, "at-desk");
	assert_string_equal(d.reason, "rule at-desk forbids role duty to "
	    "receive consent_record");
	/* A deny with another condition: in the duty pass, when it holds. */
	deliver_to(&a, p, &desk, NWD__V1__KIND__PLACEMENT_CHANGE,
	    NWD__V1__MARKING__OFFICIAL, "YP-B", t, NULL, 1000, 1, NULL, &d);
	assert_int_equal(d.verdict, POLICY_ALLOW);
	assert_string_equal(d.rules, "desk");
	deliver_to(&a, p, &desk, NWD__V1__KIND__PLACEMENT_CHANGE,
	    NWD__V1__MARKING__OFFICIAL, "YP-B", t, "test-principal", 1000, 1,
	    NULL, &d);
	assert_int_equal(d.verdict, POLICY_DENY);
	assert_string_equal(d.rules, "if-named");
	/* "when named or duty" outside the duty pass: named. */
	deliver_to(&a, p, &desk, NWD__V1__KIND__ALLOCATION,
	    NWD__V1__MARKING__OFFICIAL, "YP-B", t, NULL, 1000, 0, NULL, &d);
	assert_int_equal(d.verdict, POLICY_DENY);
	assert_string_equal(d.rules, "desk-or");
	assert_string_equal(d.reason, "test-principal is not named in "
	    "share_with");
	deliver_to(&a, p, &desk, NWD__V1__KIND__ALLOCATION,
	    NWD__V1__MARKING__OFFICIAL, "YP-B", t, "t1", 1000, 0, NULL, &d);
	assert_int_equal(d.verdict, POLICY_ALLOW);
	assert_string_equal(d.rules, "desk-or");
	/* In it, by "duty", beside the desk's own rule. */
	deliver_to(&a, p, &desk, NWD__V1__KIND__ALLOCATION,
	    NWD__V1__MARKING__OFFICIAL, "YP-B", t, NULL, 1000, 1, NULL, &d);
	assert_int_equal(d.verdict, POLICY_ALLOW);
	assert_string_equal(d.rules, "desk,desk-or");
	alloc_table_free(t);
	fix_arena_free(&a);
	policy_free(p);
}

static void
test_role_declarations(void **state)
{
	static const char text[] =
	    "role ra: agency test clearance OFFICIAL\n"
	    "role rb: agency test clearance OFFICIAL_SENSITIVE\n"
	    "role rc: agency test\n"
	    "allow deliver a: roles ra, rb, rc kinds risk_alert\n"
	    "allow deliver any: roles * kinds camhs_update\n";
	struct fix_arena	 a;
	struct policy		*p = fix_parse_ok(text, "roles");
	struct policy_decision	 d;
	struct principal	 pr;

	memset(&a, 0, sizeof(a));
	/* A role's clearance caps its principals'... */
	pr = who("ra", NWD__V1__MARKING__OFFICIAL_SENSITIVE);
	deliver_to(&a, p, &pr, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL_SENSITIVE, "YP-001", NULL,
	    "test-principal", 1000, 0, NULL, &d);
	assert_int_equal(d.verdict, POLICY_DENY);
	assert_string_equal(d.rules, "clearance");
	assert_string_equal(d.reason, "marking OFFICIAL_SENSITIVE is above the "
	    "recipient's clearance OFFICIAL");
	deliver_to(&a, p, &pr, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL, "YP-001", NULL, NULL, 1000, 0, NULL,
	    &d);
	assert_int_equal(d.verdict, POLICY_ALLOW);
	/* ... and never raises it. */
	pr = who("rb", NWD__V1__MARKING__OFFICIAL);
	deliver_to(&a, p, &pr, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL_SENSITIVE, "YP-001", NULL,
	    "test-principal", 1000, 0, NULL, &d);
	assert_string_equal(d.rules, "clearance");
	pr = who("rc", NWD__V1__MARKING__OFFICIAL_SENSITIVE);
	deliver_to(&a, p, &pr, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL_SENSITIVE, "YP-001", NULL,
	    "test-principal", 1000, 0, NULL, &d);
	assert_int_equal(d.verdict, POLICY_ALLOW);
	/* "*" needs no declaration. */
	pr = who("undeclared", NWD__V1__MARKING__OFFICIAL);
	deliver_to(&a, p, &pr, NWD__V1__KIND__CAMHS_UPDATE,
	    NWD__V1__MARKING__OFFICIAL, "YP-001", NULL, NULL, 1000, 0, NULL,
	    &d);
	assert_int_equal(d.verdict, POLICY_ALLOW);
	deliver_to(&a, p, &pr, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL, "YP-001", NULL, NULL, 1000, 0, NULL,
	    &d);
	assert_int_equal(d.verdict, POLICY_DENY_NO_RULE);
	fix_arena_free(&a);
	policy_free(p);

	/* Without role lines, rules may name any role. */
	p = fix_parse_ok("allow deliver a: roles whatever kinds risk_alert\n",
	    "x");
	policy_free(p);
}

/* ------------------------------------------------------------------------
 * policy_check_principals
 */

static struct identity_map *
mapping(const char *extra, const char *drop)
{
	char			*text, *out, *line, *next, err[512] = "";
	size_t			 len;
	struct identity_map	*m;

	text = fix_slurp(FIX_PRINCIPALS_FILE, &len);
	assert_non_null(text);
	out = calloc(1, len + strlen(extra) + 2);
	assert_non_null(out);
	for (line = text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (drop != NULL && strncmp(line, drop, strlen(drop)) == 0 &&
		    line[strlen(drop)] == ' ')
			continue;
		strcat(out, line);
		strcat(out, "\n");
	}
	strcat(out, extra);
	m = identity_parse(out, strlen(out), "mapping", err, sizeof(err));
	if (m == NULL)
		fail_msg("%s", err);
	free(out);
	free(text);
	return m;
}

static void
expect_principals(const struct policy *p, const char *extra,
    const char *drop, const char *want)
{
	struct identity_map	*m = mapping(extra, drop);
	char			 err[512] = "";
	int			 rc;

	rc = policy_check_principals(p, m, err, sizeof(err));
	identity_free(m);
	if (want == NULL) {
		if (rc != 0)
			fail_msg("refused: %s", err);
		return;
	}
	if (rc != -1)
		fail_msg("accepted; expected \"%s\"", want);
	assert_string_equal(err, want);
}

static void
test_check_principals(void **state)
{
	struct policy *p;

	/* The shipped pair. */
	expect_principals(fix_policy, "", NULL, NULL);
	/* A principal whose role the policy does not declare. */
	expect_principals(fix_policy,
	    "cleaner  carl  cleaner  hub  -  OFFICIAL\n", NULL,
	    "principal carl has role cleaner, which the policy does not "
	    "declare");
	/* A principal in another agency than its role's. */
	expect_principals(fix_policy,
	    "imposter  ivy  police_liaison  hub  hub:norwich  OFFICIAL\n", NULL,
	    "principal ivy is in agency hub, but the policy declares role "
	    "police_liaison in agency police");
	/* The duty principal missing. */
	expect_principals(fix_policy, "", "duty-mash",
	    "duty principal duty-mash is not in the principal mapping");
	/* A team member missing. */
	p = fix_parse_ok("team night: members keyworker-kim, ghost\n", "team");
	expect_principals(p, "", NULL, "team night lists ghost, who is not in "
	    "the principal mapping");
	expect_principals(p, "ghost-cert ghost hub_keyworker hub - OFFICIAL\n",
	    NULL, NULL);
	policy_free(p);
	/* Without role lines, roles and agencies are not checked. */
	p = fix_parse_ok("duty duty-mash\n", "noroles");
	expect_principals(p, "cleaner  carl  cleaner  hub  -  OFFICIAL\n", NULL,
	    NULL);
	expect_principals(p, "", "duty-mash",
	    "duty principal duty-mash is not in the principal mapping");
	policy_free(p);
}

/* ------------------------------------------------------------------------
 * Refusals: tests/data/bad-policies/ (one test per file) and a few that
 * cannot be files.
 */

static const char *const required_bad[] = {
	"unknown-kind.nwd", "unknown-clause.nwd", "missing-colon.nwd",
	"missing-roles.nwd", "missing-kinds.nwd", "duplicate-rule.nwd",
	"strip-on-deny.nwd", "max-on-deliver.nwd", "bad-marking.nwd",
	"strip-unknown-path.nwd", "unterminated-string.nwd",
	"unexpected-char.nwd", "not-at-line-start.nwd",
	"duplicate-policy.nwd", "duplicate-duty.nwd",
	"undeclared-role.nwd", "undeclared-role-in-list.nwd",
	"undeclared-role-before-roles.nwd", "role-without-agency.nwd",
	"duplicate-role.nwd", "duplicate-team.nwd", "unknown-protect-type.nwd",
	"when-bad-word.nwd", "when-twice.nwd", "strip-and-keep.nwd",
	"keep-on-deny.nwd", "grant-on-deny.nwd", "from-on-publish.nwd",
	"when-on-publish.nwd", "bad-basis.nwd", "team-without-members.nwd",
	"strip-header-field.nwd", "protect-header-field.nwd",
	"deny-allocate.nwd", "allocate-kinds.nwd", "allocate-when-named.nwd",
	"teams-on-deliver.nwd", "end-bad-word.nwd", "teams-self.nwd",
	"teams-twice.nwd", "allocate-nothing.nwd",
	"breakglass-no-max.nwd", "breakglass-max-too-long.nwd",
	"breakglass-unknown-kind.nwd", "breakglass-undeclared-role.nwd",
	"breakglass-duplicate.nwd", "breakglass-strip-and-keep.nwd",
	"breakglass-no-roles.nwd",
};

static char	**bad_files;	/* owned; names of the .nwd files */
static size_t	  nbad_files;

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
list_bad_files(void)
{
	DIR		*d;
	struct dirent	*de;
	size_t		 n;

	if ((d = opendir(BAD_DIR)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 4, ".nwd") != 0)
			continue;
		bad_files = realloc(bad_files, (nbad_files + 1) *
		    sizeof(char *));
		if (bad_files == NULL ||
		    (bad_files[nbad_files] = strdup(de->d_name)) == NULL)
			abort();
		nbad_files++;
	}
	closedir(d);
	if (nbad_files > 0)
		qsort(bad_files, nbad_files, sizeof(char *), cmp_name);
}

static void
test_bad_policy(void **state)
{
	const char	*name = *state;
	char		 path[1024], err[512] = "", want[512];
	char		*text, *nl = NULL;
	size_t		 len;
	struct policy	*p;

	snprintf(path, sizeof(path), "%s/%s", BAD_DIR, name);
	if ((text = fix_slurp(path, &len)) == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	if (strncmp(text, "# expect: ", 10) != 0 ||
	    (nl = strchr(text, '\n')) == NULL ||
	    (size_t)(nl - text - 10) >= sizeof(want)) {
		free(text);
		fail_msg("%s: the first line must be \"# expect: "
		    "NAME:LINE:COL: message\"", name);
	}
	memcpy(want, text + 10, nl - text - 10);
	want[nl - text - 10] = '\0';
	p = policy_parse(text, len, name, err, sizeof(err));
	free(text);
	if (p != NULL) {
		policy_free(p);
		fail_msg("%s: accepted; expected \"%s\"", name, want);
	}
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("%s:\n    expected \"%s...\"\n    got      \"%s\"",
		    name, want, err);
}

/* Every case the language must refuse has its file. */
static void
test_bad_policies_present(void **state)
{
	size_t i, j;

	for (i = 0; i < sizeof(required_bad) / sizeof(required_bad[0]); i++) {
		for (j = 0; j < nbad_files; j++)
			if (strcmp(bad_files[j], required_bad[i]) == 0)
				break;
		if (j == nbad_files)
			fail_msg("%s/%s is missing", BAD_DIR, required_bad[i]);
	}
}

/* A strategy discussion request names its invitees: "when named" holds. */
static void
test_invitees_are_named(void **state)
{
	static const char text[] = "role x: agency a\n"
	    "allow deliver r: roles x kinds strategy_discussion_request "
	    "when named\n";
	struct policy				*p;
	struct principal			 who;
	struct policy_context			 ctx;
	struct policy_decision			 d;
	Nwd__V1__Envelope			 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header				 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef			 s = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__StrategyDiscussionRequest	 sdr =
	    NWD__V1__STRATEGY_DISCUSSION_REQUEST__INIT;
	char					 err[256];
	char					*teams[1] = { (char *)"t1" };
	char					*inv[2] = { (char *)"someone",
	    (char *)"t1" };

	(void)state;
	assert_non_null(p = policy_parse(text, sizeof(text) - 1, "inv", err,
	    sizeof(err)));
	memset(&who, 0, sizeof(who));
	who.id = (char *)"p1";
	who.role = (char *)"x";
	who.agency = (char *)"a";
	who.teams = teams;
	who.nteams = 1;
	who.clearance = NWD__V1__MARKING__OFFICIAL_SENSITIVE;
	s.local_id = (char *)"YP-001";
	h.kind = NWD__V1__KIND__STRATEGY_DISCUSSION_REQUEST;
	h.subject = &s;
	h.marking = NWD__V1__MARKING__OFFICIAL;
	sdr.reason = (char *)"exploitation concerns";
	sdr.invitees = inv;
	sdr.n_invitees = 2;
	env.header = &h;
	env.body_case = NWD__V1__ENVELOPE__BODY_STRATEGY_DISCUSSION_REQUEST;
	env.strategy_discussion_request = &sdr;
	memset(&ctx, 0, sizeof(ctx));
	assert_int_equal(policy_check_deliver(p, &who, &env, &ctx, &d),
	    POLICY_ALLOW);
	/* Not invited, not named: refused. */
	sdr.n_invitees = 1;
	assert_int_equal(policy_check_deliver(p, &who, &env, &ctx, &d),
	    POLICY_DENY);
	policy_free(p);
}

static void
test_bad_inline(void **state)
{
	static const char nul[] = "duty a\0\n";
	/* The rule comes before the role lines, so its undeclared role is
	 * found only after the whole policy is read. */
	static const char late[] = "allow deliver r: roles b kinds *\n"
	    "role a: agency x\n";
	char		 err[512], longword[300];
	struct policy	*p;

	p = policy_parse(nul, sizeof(nul) - 1, "nul", err, sizeof(err));
	assert_null(p);
	assert_string_equal(err, "nul: contains a NUL byte");
	/* Bytes that are not UTF-8, pointed at (G20). */
	p = policy_parse("duty a\nduty b\xc3(\n", 16, "bad", err,
	    sizeof(err));
	assert_null(p);
	assert_string_equal(err, "bad:2:7: not valid UTF-8");

	memset(longword, 'a', sizeof(longword) - 1);
	longword[sizeof(longword) - 1] = '\0';
	memcpy(longword, "duty ", 5);
	p = policy_parse(longword, strlen(longword), "long", err, sizeof(err));
	assert_null(p);
	assert_string_equal(err, "long:1:6: word longer than 128 bytes");

	p = policy_parse("policy \"a\tb\"\n", 13, "ctl", err, sizeof(err));
	assert_null(p);
	assert_string_equal(err, "ctl:1:8: control character in string");

	/* A short error buffer is never overrun. */
	memset(err, 'X', sizeof(err));
	p = policy_parse("bogus\n", 6, "short", err, 10);
	assert_null(p);
	assert_int_equal(err[9], '\0');
	assert_int_equal(err[10], 'X');
	/* Nor by a refusal found after parsing. */
	memset(err, 'X', sizeof(err));
	p = policy_parse(late, strlen(late), "short", err, 12);
	assert_null(p);
	assert_int_equal(err[11], '\0');
	assert_int_equal(err[12], 'X');
	/* It is that refusal, at the start of the rule's roles. */
	p = policy_parse(late, strlen(late), "late", err, sizeof(err));
	assert_null(p);
	assert_string_equal(err, "late:1:24: rule \"r\" names role \"b\", "
	    "which no role line declares");
}

/*
 * The same policy with CRLF line ends must mean the same: a blank line
 * inside a rule is allowed with LF ("\n\n" continues the rule), so it must
 * be with CRLF too.
 */
static void
test_crlf(void **state)
{
	static const char lf[] = "allow deliver a:\n\n    roles hub_system\n"
	    "    kinds risk_alert\n";
	static const char crlf[] = "allow deliver a:\r\n\r\n"
	    "    roles hub_system\r\n    kinds risk_alert\r\n";
	char		 err[512] = "";
	struct policy	*p;

	p = fix_parse_ok(lf, "lf");
	assert_int_equal(policy_nrules(p), 1);
	policy_free(p);
	p = policy_parse(crlf, sizeof(crlf) - 1, "crlf", err, sizeof(err));
	if (p == NULL)
		fail_msg("the CRLF form of a valid policy is refused: %s", err);
	assert_int_equal(policy_nrules(p), 1);
	policy_free(p);
}

/*
 * "*" means every role.  In a list ("roles *, hub_system") it must either
 * still mean every role or be refused; it must not quietly mean a role
 * literally named "*".
 */
static void
test_star_in_role_list(void **state)
{
	char			 err[512] = "";
	struct policy		*p;
	struct policy_decision	 d;
	struct principal	 sw = who("social_worker",
				    NWD__V1__MARKING__OFFICIAL_SENSITIVE);
	const char		*text = "allow deliver a: roles *, hub_system "
				    "kinds risk_alert\n";
	enum policy_verdict	 v;

	p = policy_parse(text, strlen(text), "star", err, sizeof(err));
	if (p == NULL)
		return;		/* refusing it is fine */
	v = decide(p, &sw, 0, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL, &d);
	policy_free(p);
	if (v != POLICY_ALLOW)
		fail_msg("\"roles *, hub_system\" was accepted but does not "
		    "match role social_worker");
}

/*
 * policy.h: "a field is withheld only if every matching allow withholds
 * it".  One allow strips grading, another grading.handling_conditions:
 * both withhold the handling conditions, so the delivery must not carry
 * them.  Checked end to end through redact_pack().
 */
static void
test_strip_intersection_nested(void **state)
{
	static const char text[] =
	    "allow deliver no-grading: roles hub_system "
	    "kinds intelligence_report strip grading\n"
	    "allow deliver no-conditions: roles hub_system "
	    "kinds intelligence_report strip grading.handling_conditions\n";
	struct policy		*p;
	struct policy_decision	 d;
	struct principal	 hub = who("hub_system",
				    NWD__V1__MARKING__OFFICIAL_SENSITIVE);
	struct fix_arena	 a;
	Nwd__V1__Envelope	*e;
	char			 got[1024], why[4096];
	int			 rc;

	p = fix_parse_ok(text, "nested");
	memset(&a, 0, sizeof(a));
	/* Named, for need to know. */
	deliver_to(&a, p, &hub, NWD__V1__KIND__INTELLIGENCE_REPORT,
	    NWD__V1__MARKING__OFFICIAL_SENSITIVE, "YP-001", NULL,
	    "test-principal", 1000, 0, &e, &d);
	assert_int_equal(d.verdict, POLICY_ALLOW);
	assert_string_equal(d.rules, "no-grading,no-conditions");
	assert_true(strip_equals(&d, "grading.handling_conditions"));
	rc = fix_check_delivered(e, d.strip, d.nstrip, got, sizeof(got), why,
	    sizeof(why));
	fix_arena_free(&a);
	policy_free(p);
	if (rc == -1)
		fail_msg("%s", why);
	assert_string_equal(got, "grading.handling_conditions");
}

/* ------------------------------------------------------------------------
 * Property tests over generated policies
 *
 * The model below is policy.h's semantics written out plainly, over sets
 * of leaves (the fields of a body at every depth, a repeated field being
 * one leaf), in the ordinary pass and the duty pass:
 *  - the rules of a pass: every deny; the allows marked "when duty" in the
 *    duty pass, every other allow (and "when duty or ...") outside it;
 *  - the conditions of a "when" are alternatives (allocated, named, duty
 *    holding in the duty pass); basis and from must hold too;
 *  - a deny whose conditions hold wins, wherever it stands;
 *  - only an allow in the pass makes a candidate: without one it is no
 *    rule, whatever denies that do not hold say;
 *  - a candidate with no allow holding is refused by the first allow that
 *    failed, saying which condition failed;
 *  - allows are additive, so what is withheld is the intersection of what
 *    the matching allows withhold; an allow withholds its strip paths,
 *    everything outside its keep paths, and every protected type not
 *    granted by name (a keep does not lift a protection), a repeated
 *    field holding a protected type anywhere inside being withheld
 *    whole;
 *  - then the limits no rule can lift (need to know not in the duty pass).
 * Rule names and reasons, including the built-in limits' names, are those
 * policy.h and policy_check_*() give.
 */

#define NROLES		4
#define MAX_RULES	12
#define MAX_NODES	48
#define MAX_PATHS	3
#define NPTYPES		4

static const char *const mroles[NROLES] = { "ra", "rb", "rc", "rd" };
static const char *const basis_names[2] = { "consent", "safeguarding" };
static const char *const agency_names[2] = { "police", "hub" };

/* Every field of a body at every depth, and the leaves at or below it. */
struct mnode {
	char				 path[96];
	const ProtobufCFieldDescriptor	*fd;
	uint64_t			 leaves;
};

static struct mkind {
	struct mnode	 node[MAX_NODES];
	size_t		 nnode;
	int		 nleaf;
	uint64_t	 all;
} mk[NKIND + 1];

static const ProtobufCMessageDescriptor *const ptypes[NPTYPES] = {
	&nwd__v1__address__descriptor, &nwd__v1__third_party__descriptor,
	&nwd__v1__source_details__descriptor, &nwd__v1__grading__descriptor,
};
static const char *const pnames[NPTYPES] = {
	"Address", "ThirdParty", "SourceDetails", "Grading",
};

static uint64_t
collect_nodes(struct mkind *k, const ProtobufCMessageDescriptor *d,
    const char *prefix, int depth)
{
	const ProtobufCFieldDescriptor	*fd;
	struct mnode			*n;
	uint64_t			 mask = 0;
	size_t				 i, at;

	for (i = 0; i < d->n_fields; i++) {
		fd = &d->fields[i];
		assert_true(k->nnode < MAX_NODES);
		at = k->nnode++;
		n = &k->node[at];
		snprintf(n->path, sizeof(n->path), "%s%s%s", prefix,
		    prefix[0] != '\0' ? "." : "", fd->name);
		n->fd = fd;
		if (fd->type == PROTOBUF_C_TYPE_MESSAGE &&
		    fd->label != PROTOBUF_C_LABEL_REPEATED &&
		    depth + 1 < MAX_DEPTH)
			k->node[at].leaves = collect_nodes(k, fd->descriptor,
			    k->node[at].path, depth + 1);
		else {
			assert_true(k->nleaf < 64);
			n->leaves = 1ULL << k->nleaf++;
		}
		mask |= k->node[at].leaves;
	}
	return mask;
}

/* The header's free text, which a rule may name as it names body
 * fields: a leaf of every kind. */
static void
collect_header(struct mkind *k)
{
	static const struct {
		const char				*path;
		const ProtobufCMessageDescriptor	*d;
		const char				*field;
	} hf[] = {
		{ "header.justification", &nwd__v1__header__descriptor,
		  "justification" },
		{ "header.share_with", &nwd__v1__header__descriptor,
		  "share_with" },
		{ "header.subject.nhs_number",
		  &nwd__v1__subject_ref__descriptor, "nhs_number" },
	};
	struct mnode	*n;
	size_t		 i;

	for (i = 0; i < sizeof(hf) / sizeof(hf[0]); i++) {
		assert_true(k->nnode < MAX_NODES && k->nleaf < 64);
		n = &k->node[k->nnode++];
		snprintf(n->path, sizeof(n->path), "%s", hf[i].path);
		n->fd = protobuf_c_message_descriptor_get_field_by_name(
		    hf[i].d, hf[i].field);
		assert_non_null(n->fd);
		n->leaves = 1ULL << k->nleaf++;
		k->all |= n->leaves;
	}
}

static void
collect_fields(void)
{
	int k;

	if (mk[1].nnode > 0)
		return;
	for (k = 1; k <= NKIND; k++) {
		assert_non_null(envelope_kind_body_descriptor(k));
		mk[k].all = collect_nodes(
		    &mk[k], envelope_kind_body_descriptor(k), "", 0);
		collect_header(&mk[k]);
	}
	assert_null(envelope_kind_body_descriptor(NKIND + 1));
}

static int
find_node(int kind, const char *path)
{
	size_t i;

	for (i = 0; i < mk[kind].nnode; i++)
		if (strcmp(mk[kind].node[i].path, path) == 0)
			return (int)i;
	return -1;
}

static int
contains_type(const ProtobufCMessageDescriptor *d, unsigned protect,
    int depth)
{
	size_t i;
	int t;

	for (t = 0; t < NPTYPES; t++)
		if ((protect & (1u << t)) && ptypes[t] == d)
			return 1;
	if (depth == MAX_DEPTH)
		return 0;
	for (i = 0; i < d->n_fields; i++)
		if (d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE &&
		    contains_type(d->fields[i].descriptor, protect, depth + 1))
			return 1;
	return 0;
}

/* Is this node protected: a protected type, or a repeated field whose
 * entries hold one (a repeated field is withheld whole or not at all). */
static int
node_protected(const struct mnode *n, unsigned protect)
{
	int t;

	if (n->fd->type != PROTOBUF_C_TYPE_MESSAGE)
		return 0;
	for (t = 0; t < NPTYPES; t++)
		if ((protect & (1u << t)) && ptypes[t] == n->fd->descriptor)
			return 1;
	return n->fd->label == PROTOBUF_C_LABEL_REPEATED &&
	    contains_type(n->fd->descriptor, protect, 0);
}

#define MW_ALLOCATED	1
#define MW_NAMED	2
#define MW_DUTY		4

struct mrule {
	char		 name[24];
	int		 deny, publish;
	unsigned	 roles;		/* bit per role; all bits = "*" */
	unsigned	 kinds;		/* bit per kind */
	int		 max;		/* publish allow */
	unsigned	 when;		/* MW_*, alternatives */
	unsigned	 bases;		/* bit 0 consent, bit 1 safeguarding */
	unsigned	 from;		/* bit 0 police, bit 1 hub */
	const char	*strip[MAX_PATHS], *keep[MAX_PATHS], *grant[MAX_PATHS];
	size_t		 nstrip, nkeep, ngrant;
};

struct model {
	struct mrule	 r[MAX_RULES + 1];
	size_t		 n;
	unsigned	 protect;	/* bit per ptypes[] */
	int		 declare;	/* role lines */
	int		 cap[NROLES];	/* their clearance, 0 = none */
};

/* What one allow withholds from a body of kind. */
static uint64_t
model_withheld(const struct model *m, const struct mrule *r, int kind)
{
	const struct mkind	*k = &mk[kind];
	uint64_t		 w = 0, kept = 0;
	size_t			 i;
	int			 n;

	for (i = 0; i < r->nstrip; i++)
		if ((n = find_node(kind, r->strip[i])) >= 0)
			w |= k->node[n].leaves;
	if (r->nkeep > 0) {
		for (i = 0; i < r->nkeep; i++)
			if ((n = find_node(kind, r->keep[i])) >= 0)
				kept |= k->node[n].leaves;
		w |= k->all & ~kept;
	}
	for (i = 0; i < k->nnode; i++)
		if (node_protected(&k->node[i], m->protect) &&
		    !fix_covered_by_any(k->node[i].path, r->grant, r->ngrant))
			w |= k->node[i].leaves;
	return w;
}

/* The protected leaves one allow releases by name. */
static uint64_t
model_released(const struct model *m, const struct mrule *r, int kind)
{
	const struct mkind	*k = &mk[kind];
	uint64_t		 rel = 0;
	size_t			 i;

	for (i = 0; i < k->nnode; i++)
		if (node_protected(&k->node[i], m->protect) &&
		    fix_covered_by_any(k->node[i].path, r->grant, r->ngrant))
			rel |= k->node[i].leaves;
	return rel;
}

static uint64_t
protected_leaves(const struct model *m, int kind)
{
	uint64_t	p = 0;
	size_t		i;

	for (i = 0; i < mk[kind].nnode; i++)
		if (node_protected(&mk[kind].node[i], m->protect))
			p |= mk[kind].node[i].leaves;
	return p;
}

/* One question: who asks about what, in which circumstances. */
struct mcase {
	int	publish, role, kind, marking, clearance;
	int	alloc, named, basis, from;
	int	duty;		/* asked in the duty pass */
	int	variant;	/* intelligence: 0 handling P, 1 C, 2 legacy 4 */
};

struct expect {
	enum policy_verdict	verdict;
	char			rules[256];
	char			reason[256];	/* "" for built-in limits */
	uint64_t		withheld;
	uint64_t		released;
	int			nallow;
	int			by_deny;	/* a deny rule decided */
	int			by_condition;	/* an unmet condition */
	int			builtin;	/* a built-in limit */
	int			ndeny_failed;	/* denies that did not hold */
};

static int
mrule_matches(const struct mrule *r, int publish, int role, int kind)
{
	return r->publish == publish && (r->roles & (1u << role)) &&
	    (r->kinds & (1u << kind));
}

static int
mrule_holds(const struct mrule *r, const struct mcase *c)
{
	if (r->bases != 0 && !(r->bases & (1u << c->basis)))
		return 0;
	if (r->from != 0 && !(r->from & (1u << c->from)))
		return 0;
	if (r->when == 0)
		return 1;
	return ((r->when & MW_ALLOCATED) && c->alloc) ||
	    ((r->when & MW_NAMED) && c->named) ||
	    ((r->when & MW_DUTY) && c->duty);
}

/* Does the pass of c look at r?  Denies always; allows by "when duty". */
static int
mrule_in_pass(const struct mrule *r, const struct mcase *c)
{
	if (r->deny)
		return 1;
	return c->duty ? (r->when & MW_DUTY) != 0 : r->when != MW_DUTY;
}

/* Why r does not hold for c, as the engine says it. */
static void
mrule_why(const struct mrule *r, const struct mcase *c, char *why,
    size_t len)
{
	const char *subject = c->alloc ? "YP-001" : "YP-009";

	if (r->bases != 0 && !(r->bases & (1u << c->basis)))
		snprintf(why, len, "rule %s requires another legal basis than "
		    "%s", r->name, basis_names[c->basis]);
	else if (r->from != 0 && !(r->from & (1u << c->from)))
		snprintf(why, len, "rule %s does not cover messages from %s",
		    r->name, agency_names[c->from]);
	else if ((r->when & (MW_ALLOCATED | MW_NAMED)) ==
	    (MW_ALLOCATED | MW_NAMED))
		snprintf(why, len, "test-principal is neither allocated to %s "
		    "nor named in share_with", subject);
	else if (r->when & MW_ALLOCATED)
		snprintf(why, len, "test-principal is not allocated to %s",
		    subject);
	else if (r->when & MW_NAMED)
		snprintf(why, len, "test-principal is not named in "
		    "share_with");
	else
		snprintf(why, len, "rule %s applies only at the duty desk",
		    r->name);
}

static void
set_rules(struct expect *x, const char *name)
{
	snprintf(x->rules, sizeof(x->rules), "%s", name);
}

static void
model_publish(const struct model *m, const struct mcase *c, struct expect *x)
{
	const struct mrule	*no_basis = NULL, *too_low = NULL;
	size_t			 i;

	for (i = 0; i < m->n; i++) {
		const struct mrule *r = &m->r[i];

		if (!mrule_matches(r, 1, c->role, c->kind))
			continue;
		if (r->bases != 0 && !(r->bases & (1u << c->basis))) {
			if (!r->deny && no_basis == NULL)
				no_basis = r;
			if (r->deny)
				x->ndeny_failed++;
			continue;
		}
		if (r->deny) {
			x->verdict = POLICY_DENY;
			x->by_deny = 1;
			x->nallow = 0;
			set_rules(x, r->name);
			snprintf(x->reason, sizeof(x->reason),
			    "rule %s forbids "
			    "role %s to publish %s",
			    r->name, mroles[c->role],
			    envelope_kind_name(c->kind));
			return;
		}
		if (c->marking > r->max) {
			if (too_low == NULL)
				too_low = r;
			continue;
		}
		x->nallow++;
		fix_appendf(x->rules, sizeof(x->rules), "%s%s",
		    x->rules[0] != '\0' ? "," : "", r->name);
	}
	if (x->nallow > 0)
		x->verdict = POLICY_ALLOW;
	else if (no_basis != NULL) {
		x->verdict = POLICY_DENY;
		x->by_condition = 1;
		set_rules(x, no_basis->name);
		snprintf(x->reason, sizeof(x->reason),
		    "%s needs a legal basis "
		    "of %s under rule %s, not %s",
		    envelope_kind_name(c->kind),
		    no_basis->bases == 3 ? "consent or safeguarding"
		                         : basis_names[no_basis->bases == 2],
		    no_basis->name, basis_names[c->basis]);
	} else if (too_low != NULL) {
		x->verdict = POLICY_DENY;
		x->by_condition = 1;
		set_rules(x, too_low->name);
		snprintf(x->reason, sizeof(x->reason),
		    "rule %s lets role %s "
		    "publish %s only up to %s",
		    too_low->name, mroles[c->role], envelope_kind_name(c->kind),
		    envelope_marking_name(too_low->max));
	} else {
		x->verdict = POLICY_DENY_NO_RULE;
		snprintf(x->reason, sizeof(x->reason),
		    "no publish rule lets "
		    "role %s publish %s",
		    mroles[c->role], envelope_kind_name(c->kind));
	}
}

static void
model_decide(const struct model *m, const struct mcase *c, struct expect *x)
{
	const struct mrule	*first_failed = NULL;
	size_t			 i;
	int			 ncand = 0, clearance;

	memset(x, 0, sizeof(*x));
	if (c->publish) {
		model_publish(m, c, x);
		return;
	}
	/* Denies first, wherever they stand; only allows make candidates. */
	for (i = 0; i < m->n; i++) {
		const struct mrule *r = &m->r[i];

		if (!mrule_matches(r, 0, c->role, c->kind) ||
		    !mrule_in_pass(r, c))
			continue;
		if (!r->deny) {
			ncand++;
			continue;
		}
		if (mrule_holds(r, c)) {
			x->verdict = POLICY_DENY;
			x->by_deny = 1;
			set_rules(x, r->name);
			snprintf(x->reason, sizeof(x->reason),
			    "rule %s forbids "
			    "role %s to receive %s",
			    r->name, mroles[c->role],
			    envelope_kind_name(c->kind));
			return;
		}
		x->ndeny_failed++;
	}
	if (ncand == 0) {
		x->verdict = POLICY_DENY_NO_RULE;
		snprintf(x->reason, sizeof(x->reason),
		    "no deliver rule lets "
		    "role %s receive %s",
		    mroles[c->role], envelope_kind_name(c->kind));
		return;
	}
	x->withheld = ~0ULL;
	for (i = 0; i < m->n; i++) {
		const struct mrule *r = &m->r[i];

		if (!mrule_matches(r, 0, c->role, c->kind) || r->deny ||
		    !mrule_in_pass(r, c))
			continue;
		if (!mrule_holds(r, c)) {
			if (first_failed == NULL)
				first_failed = r;
			continue;
		}
		x->nallow++;
		x->withheld &= model_withheld(m, r, c->kind);
		x->released |= model_released(m, r, c->kind);
		fix_appendf(x->rules, sizeof(x->rules), "%s%s",
		    x->rules[0] != '\0' ? "," : "", r->name);
	}
	x->verdict = POLICY_DENY;
	if (x->nallow == 0) {
		/* ncand > 0, so an allow failed. */
		x->withheld = 0;
		x->by_condition = 1;
		set_rules(x, first_failed->name);
		mrule_why(first_failed, c, x->reason, sizeof(x->reason));
		return;
	}
	x->builtin = 1;
	clearance = c->clearance;
	if (m->declare && m->cap[c->role] != 0 && m->cap[c->role] < clearance)
		clearance = m->cap[c->role];
	if (c->kind == NWD__V1__KIND__INTELLIGENCE_REPORT && c->variant == 1 &&
	    !c->named)
		set_rules(x, "handling-C");
	else if (c->kind == NWD__V1__KIND__INTELLIGENCE_REPORT &&
	    c->variant == 2 && c->role != 3)
		set_rules(x, "legacy-5x5x5");
	else if (c->marking > clearance)
		set_rules(x, "clearance");
	else if (c->marking == NWD__V1__MARKING__OFFICIAL_SENSITIVE &&
	    !c->duty && !c->alloc && !c->named)
		set_rules(x, "need-to-know");
	else {
		x->builtin = 0;
		x->verdict = POLICY_ALLOW;
		return;
	}
	x->withheld = 0;
}

static uint64_t rng_state;

static uint64_t
rng(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static unsigned
rng_below(unsigned n)
{
	return (unsigned)(rng() % n);
}

static uint64_t
seed(void)
{
	const char *s = getenv("NWD_TEST_SEED");

	return s != NULL ? strtoull(s, NULL, 0) : 0x6e77642d706f6cULL;
}

/* Up to MAX_PATHS distinct fields of the rule's kinds, at any depth. */
static size_t
gen_paths(const struct mrule *r, const char **out)
{
	size_t	n = 0, i, want = 1 + rng_below(MAX_PATHS);
	int	kinds[NKIND], nk = 0, k, node;

	for (k = 1; k <= NKIND; k++)
		if (r->kinds & (1u << k))
			kinds[nk++] = k;
	while (n < want) {
		k = kinds[rng_below((unsigned)nk)];
		node = (int)rng_below((unsigned)mk[k].nnode);
		for (i = 0; i < n; i++)
			if (strcmp(out[i], mk[k].node[node].path) == 0)
				break;
		if (i == n)
			out[n++] = mk[k].node[node].path;
		else
			want--;
	}
	return n;
}

static void
gen_rule(struct mrule *r, size_t i)
{
	static const unsigned whens[] = { 0, MW_ALLOCATED, MW_NAMED,
	    MW_ALLOCATED | MW_NAMED, 0, MW_ALLOCATED, MW_NAMED,
	    MW_ALLOCATED | MW_NAMED, MW_DUTY, MW_DUTY, MW_DUTY | MW_ALLOCATED,
	    MW_DUTY | MW_NAMED, MW_DUTY | MW_ALLOCATED | MW_NAMED };
	int k;

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "r%zu", i);
	r->publish = rng_below(3) == 0;
	r->deny = rng_below(5) == 0;
	r->roles = rng_below(6) == 0 ? (1u << NROLES) - 1 :
	    1u + rng_below((1u << NROLES) - 1);
	if (rng_below(8) == 0)
		r->kinds = ((1u << NKIND) - 1) << 1;
	else
		while (r->kinds == 0)
			for (k = 1; k <= NKIND; k++)
				if (rng_below(3) == 0)
					r->kinds |= 1u << k;
	r->max = NWD__V1__MARKING__OFFICIAL_SENSITIVE;
	if (r->publish) {
		if (!r->deny && rng_below(3) == 0)
			r->max = NWD__V1__MARKING__OFFICIAL;
		if (rng_below(4) == 0)
			r->bases = 1 + rng_below(3);
		return;
	}
	r->when = whens[rng_below(sizeof(whens) / sizeof(whens[0]))];
	if (rng_below(5) == 0)
		r->bases = 1 + rng_below(3);
	if (rng_below(6) == 0)
		r->from = 1 + rng_below(3);
	if (r->deny)
		return;
	switch (rng_below(6)) {
	case 0:
	case 1:
		r->nstrip = gen_paths(r, r->strip);
		break;
	case 2:
		r->nkeep = gen_paths(r, r->keep);
		break;
	default:
		break;
	}
	if (rng_below(3) == 0)
		r->ngrant = gen_paths(r, r->grant);
}

static void
gen_model(struct model *m)
{
	size_t	i;
	int	t;

	memset(m, 0, sizeof(*m));
	m->n = 1 + rng_below(MAX_RULES);
	for (i = 0; i < m->n; i++)
		gen_rule(&m->r[i], i);
	if (rng_below(4) != 0) {
		for (t = 0; t < NPTYPES; t++)
			if (rng_below(2))
				m->protect |= 1u << t;
	}
	if ((m->declare = rng_below(3) == 0))
		for (i = 0; i < NROLES; i++)
			m->cap[i] = (int)rng_below(3);
}

/* Writes the model as policy text, varying the layout as the language
 * allows (continuation lines, comments, spacing). */
static void
write_policy(const struct model *m, char *buf, size_t len)
{
	size_t	n = 0, i, j;
	int	k;
	const char *sep;

#define OUT(...) do {							\
	n += snprintf(buf + n, len - n, __VA_ARGS__);			\
	assert_true(n < len);						\
} while (0)
#define BREAK() OUT("%s", rng_below(3) == 0 ? "\n    " : " ")
#define LIST(what, v, cnt) do {						\
	BREAK();							\
	OUT("%s ", what);						\
	for (j = 0, sep = ""; j < (cnt); j++) {				\
		OUT("%s%s", sep, (v)[j]);				\
		sep = rng_below(2) ? "," : " ,\n\t";			\
	}								\
} while (0)

	OUT("# generated\npolicy \"generated\"\n");
	if (m->protect != 0) {
		OUT("protect ");
		for (k = 0, sep = ""; k < NPTYPES; k++)
			if (m->protect & (1u << k)) {
				OUT("%s%s", sep, pnames[k]);
				sep = ", ";
			}
		OUT("\n");
	}
	for (i = 0; m->declare && i < NROLES; i++) {
		OUT("role %s: agency %s", mroles[i], i == 3 ? "police" : "hub");
		if (m->cap[i] != 0)
			OUT(" clearance %s", envelope_marking_name(m->cap[i]));
		OUT("\n");
	}
	for (i = 0; i < m->n; i++) {
		const struct mrule *r = &m->r[i];

		if (rng_below(4) == 0)
			OUT("\n# rule %zu\n", i);
		OUT("%s %s %s:", r->deny ? "deny" : "allow",
		    r->publish ? "publish" : "deliver", r->name);
		BREAK();
		OUT("roles ");
		if (r->roles == (1u << NROLES) - 1 && rng_below(2) == 0)
			OUT("*");
		else
			for (j = 0, sep = ""; j < NROLES; j++)
				if (r->roles & (1u << j)) {
					OUT("%s%s", sep, mroles[j]);
					sep = ", ";
				}
		BREAK();
		OUT("kinds ");
		if (r->kinds == ((1u << NKIND) - 1) << 1)
			OUT("*");
		else
			for (k = 1, sep = ""; k <= NKIND; k++)
				if (r->kinds & (1u << k)) {
					OUT("%s%s", sep, envelope_kind_name(k));
					sep = rng_below(2) ? "," : " ,\n\t";
				}
		if (r->publish && !r->deny &&
		    (r->max != NWD__V1__MARKING__OFFICIAL_SENSITIVE ||
		    rng_below(2))) {
			BREAK();
			OUT("max %s", envelope_marking_name(r->max));
		}
		if (r->when != 0) {
			static const char *const cond[] = { "allocated",
			    "named", "duty" };
			unsigned first = rng_below(3);

			/* The alternatives in any order. */
			BREAK();
			OUT("when");
			for (k = 0, sep = " "; k < 3; k++)
				if (r->when & (1u << (first + k) % 3)) {
					OUT("%s%s", sep, cond[(first + k) % 3]);
					sep = rng_below(2) ? " or " : " or\n    ";
				}
		}
		if (r->bases != 0) {
			BREAK();
			OUT("basis ");
			for (k = 0, sep = ""; k < 2; k++)
				if (r->bases & (1u << k)) {
					OUT("%s%s", sep, basis_names[k]);
					sep = ", ";
				}
		}
		if (r->from != 0) {
			BREAK();
			OUT("from ");
			for (k = 0, sep = ""; k < 2; k++)
				if (r->from & (1u << k)) {
					OUT("%s%s", sep, agency_names[k]);
					sep = ", ";
				}
		}
		if (r->nstrip > 0)
			LIST("strip", r->strip, r->nstrip);
		if (r->nkeep > 0)
			LIST("keep", r->keep, r->nkeep);
		if (r->ngrant > 0)
			LIST("grant", r->grant, r->ngrant);
		OUT("%s\n", rng_below(4) == 0 ? "   # trailing" : "");
	}
#undef LIST
#undef BREAK
#undef OUT
}

/* The leaves a strip list withholds; fails on paths that are no field. */
static uint64_t
strip_mask(const struct policy_decision *d, int kind)
{
	uint64_t	mask = 0;
	size_t		i, j;
	int		n;

	for (i = 0; i < d->nstrip; i++) {
		n = find_node(kind, d->strip[i]);
		if (n < 0)
			fail_msg("strip path \"%s\" is not a field of %s",
			    d->strip[i], envelope_kind_name(kind));
		for (j = 0; j < d->nstrip; j++)
			if (j != i && fix_covers(d->strip[j], d->strip[i]))
				fail_msg("strip paths \"%s\" and \"%s\" overlap",
				    d->strip[j], d->strip[i]);
		mask |= mk[kind].node[n].leaves;
	}
	return mask;
}

/* The leaves present in a decoded envelope, its header's free text
 * included. */
static uint64_t
present_mask(const Nwd__V1__Envelope *env, int kind)
{
	const struct mkind	*k = &mk[kind];
	uint64_t		 mask = 0;
	size_t			 i;

	for (i = 0; i < k->nnode; i++) {
		const ProtobufCMessage		*m = envelope_body(env);
		const ProtobufCFieldDescriptor	*fd = NULL;
		char				 path[96], *t, *save = NULL;
		int				 leaf;

		leaf = (k->node[i].leaves & (k->node[i].leaves - 1)) == 0 &&
		    (k->node[i].fd->type != PROTOBUF_C_TYPE_MESSAGE ||
		    k->node[i].fd->label == PROTOBUF_C_LABEL_REPEATED ||
		    ((const ProtobufCMessageDescriptor *)
		    k->node[i].fd->descriptor)->n_fields == 0);
		if (!leaf)
			continue;
		snprintf(path, sizeof(path), "%s", k->node[i].path);
		if (strncmp(path, "header.", 7) == 0) {
			m = &env->header->base;
			memmove(path, path + 7, strlen(path + 7) + 1);
		}
		for (t = strtok_r(path, ".", &save); t != NULL && m != NULL;
		    t = strtok_r(NULL, ".", &save)) {
			if (fd != NULL)
				m = *(ProtobufCMessage *const *)
				    fix_field_slot(m, fd);
			if (m == NULL)
				break;
			fd = protobuf_c_message_descriptor_get_field_by_name(
			    m->descriptor, t);
			assert_non_null(fd);
		}
		if (m != NULL && fd != NULL && fix_value_present(m, fd))
			mask |= k->node[i].leaves;
	}
	return mask;
}

struct stats {
	int	cases, allow, deny_rule, condition, norule, norule_deny;
	int	duty_allow, duty_deny, duty_or;
	int	builtin, clearance, handling_c, legacy, need_to_know;
	int	multi_allow, protected_withheld, released, kept, g10;
};

/* The envelopes the generated cases are put in, one per kind and variant. */
static struct fix_arena		 model_arena;
static Nwd__V1__Envelope	*model_env[NKIND + 1][3];
static struct alloc_table	*model_allocs;

static int
model_setup(void **state)
{
	int k, v;

	collect_fields();
	for (k = 1; k <= NKIND; k++)
		for (v = 0; v < (k == NWD__V1__KIND__INTELLIGENCE_REPORT ? 3 :
		    1); v++) {
			Nwd__V1__Envelope *e = fix_full_envelope(&model_arena,
			    k, "YP-001", NWD__V1__MARKING__OFFICIAL);

			if (k == NWD__V1__KIND__INTELLIGENCE_REPORT) {
				Nwd__V1__IntelligenceReport *ir =
				    e->intelligence_report;

				ir->grading->handling_code = v == 1 ?
				    NWD__V1__GRADING__HANDLING_CODE__HANDLING_C :
				    NWD__V1__GRADING__HANDLING_CODE__HANDLING_P;
				ir->legacy->handling_code = v == 2 ? 4 : 1;
			}
			/* The header's free text, every field of it (engine_
			 * decide sets share_with). */
			e->header->justification = fix_arena_printf(
			    &model_arena, "[header.justification#0]");
			e->header->subject->nhs_number = fix_arena_printf(
			    &model_arena, "[header.subject.nhs_number#0]");
			model_env[k][v] = e;
		}
	if ((model_allocs = alloc_table_new()) == NULL)
		return -1;
	put_alloc(model_allocs, "YP-001", "t1", "", 0, 0);
	return 0;
}

static int
model_teardown(void **state)
{
	alloc_table_free(model_allocs);
	model_allocs = NULL;
	fix_arena_free(&model_arena);
	return 0;
}

/* Puts one case to the engine. */
static enum policy_verdict
engine_decide(const struct policy *p, const struct mcase *c,
    Nwd__V1__Envelope **envp, struct policy_decision *d)
{
	static char		*share_id[] = { (char *)"test-principal" };
	static char		*share_team[] = { (char *)"t1" };
	static char		*share_none[] = { (char *)"nobody" };
	Nwd__V1__Envelope	*e = model_env[c->kind][c->variant];
	Nwd__V1__Header		*h = e->header;
	struct principal	 pr = who(mroles[c->role], c->clearance);
	struct policy_context	 ctx;

	pr.agency = (char *)(c->role == 3 ? "police" : "hub");
	h->subject->local_id = (char *)(c->alloc ? "YP-001" : "YP-009");
	h->marking = c->marking;
	h->legal_basis = c->basis == 0 ? NWD__V1__LEGAL_BASIS__CONSENT :
	    NWD__V1__LEGAL_BASIS__SAFEGUARDING;
	h->originating_agency = (char *)agency_names[c->from];
	h->n_share_with = 1;
	h->share_with = !c->named ? share_none : (c->role & 1) ? share_team :
	    share_id;
	memset(&ctx, 0, sizeof(ctx));
	ctx.allocs = model_allocs;
	ctx.now_ms = 1000;
	ctx.duty_pass = c->duty;
	memset(d, 0x5a, sizeof(*d));
	if (c->publish)
		policy_check_publish(p, &pr, e, &ctx, d);
	else
		policy_check_deliver(p, &pr, e, &ctx, d);
	*envp = e;
	return d->verdict;
}

static void
model_fail(const struct model *m, const char *text, const struct mcase *c,
    const struct policy_decision *d, const struct expect *x,
    const char *what)
{
	char sc[1024];

	fix_strip_csv(d, sc, sizeof(sc));
	fail_msg(
	    "seed %#llx: %s %s %s %s (clearance %s, %sallocated, %snamed, "
	    "basis %s, from %s, variant %d%s): %s\n  engine: %s \"%s\" (%s) "
	    "withholding \"%s\"\n  model:  %s \"%s\" (%s) withholding "
	    "%#llx\n%s",
	    (unsigned long long)seed(), mroles[c->role],
	    c->publish ? "publish" : "deliver", envelope_kind_name(c->kind),
	    envelope_marking_name(c->marking),
	    envelope_marking_name(c->clearance), c->alloc ? "" : "not ",
	    c->named ? "" : "not ", basis_names[c->basis],
	    agency_names[c->from], c->variant, c->duty ? ", duty pass" : "",
	    what, policy_verdict_name(d->verdict), d->rules, d->reason, sc,
	    policy_verdict_name(x->verdict), x->rules, x->reason,
	    (unsigned long long)x->withheld, text);
}

/* Checks one case against the model; G10 on allowed deliveries. */
static void
check_case_model(const struct policy *p, const struct model *m,
    const char *text, const struct mcase *c, struct stats *st)
{
	struct policy_decision	 d;
	struct expect		 x;
	Nwd__V1__Envelope	*e;
	enum policy_verdict	 got;
	uint64_t		 mask, present;
	uint8_t			*buf;
	size_t			 len = 0;
	ProtobufCMessage	*dec;

	model_decide(m, c, &x);
	got = engine_decide(p, c, &e, &d);
	st->cases++;
	if (got != x.verdict)
		model_fail(m, text, c, &d, &x, "verdicts differ");
	/* Anything not allowed is refused. */
	if (x.nallow == 0 && got == POLICY_ALLOW)
		model_fail(m, text, c, &d, &x, "allowed without an allow");
	if (strcmp(d.rules, x.rules) != 0)
		model_fail(m, text, c, &d, &x, "rule names differ");
	if (got != POLICY_ALLOW) {
		if (d.nstrip != 0 || d.reason[0] == '\0')
			model_fail(m, text, c, &d, &x, "a refusal must carry a "
			    "reason and no strip list");
		/* The rules' refusals say why, as the model does. */
		if (!x.builtin && strcmp(d.reason, x.reason) != 0)
			model_fail(m, text, c, &d, &x, "reasons differ");
		if (c->duty && x.by_deny)
			st->duty_deny++;
		if (got == POLICY_DENY_NO_RULE) {
			st->norule++;
			/* Denies that did not hold made no candidate. */
			st->norule_deny += x.ndeny_failed > 0;
		} else if (x.by_deny)
			st->deny_rule++;
		else if (x.by_condition)
			st->condition++;
		else if (x.builtin) {
			st->builtin++;
			st->clearance += strcmp(d.rules, "clearance") == 0;
			st->handling_c += strcmp(d.rules, "handling-C") == 0;
			st->legacy += strcmp(d.rules, "legacy-5x5x5") == 0;
			st->need_to_know += strcmp(d.rules,
			    "need-to-know") == 0;
		} else
			model_fail(m, text, c, &d, &x, "a refusal the model "
			    "cannot explain");
		return;
	}
	st->allow++;
	if (c->duty) {
		size_t i;

		st->duty_allow++;
		/* An allow "when duty or ..." holding by duty alone. */
		for (i = 0; i < m->n; i++)
			if (mrule_matches(&m->r[i], 0, c->role, c->kind) &&
			    !m->r[i].deny && m->r[i].when != MW_DUTY &&
			    (m->r[i].when & MW_DUTY) && !c->alloc && !c->named &&
			    mrule_holds(&m->r[i], c))
				st->duty_or++;
	}
	if (c->publish) {
		if (d.nstrip != 0)
			model_fail(m, text, c, &d, &x, "a publish withholds");
		return;
	}
	if (x.nallow >= 2)
		st->multi_allow++;
	/* The withheld set is the intersection of the allows'. */
	mask = strip_mask(&d, c->kind);
	if (mask != x.withheld)
		model_fail(m, text, c, &d, &x, "withheld sets differ");
	/* A protected field reaches a recipient only if a matching allow
	 * names it. */
	if (mk[c->kind].all & ~mask & protected_leaves(m, c->kind) &
	    ~x.released)
		model_fail(m, text, c, &d, &x, "a protected field is "
		    "delivered that no matching allow grants");
	if (mask & protected_leaves(m, c->kind))
		st->protected_withheld++;
	if (~mask & protected_leaves(m, c->kind))
		st->released++;
	if (mask != 0 && mask != mk[c->kind].all)
		st->kept++;
	/* G10: the bytes delivered. */
	buf = redact_pack(e, d.strip, d.nstrip, &len, NULL, 0);
	assert_non_null(buf);
	dec = protobuf_c_message_unpack(&nwd__v1__envelope__descriptor, NULL,
	    len, buf);
	assert_non_null(dec);
	present = present_mask((Nwd__V1__Envelope *)dec, c->kind);
	protobuf_c_message_free_unpacked(dec, NULL);
	free(buf);
	st->g10++;
	if (present != (mk[c->kind].all & ~x.withheld))
		model_fail(m, text, c, &d, &x, "the delivered bytes hold "
		    "other fields than the model says");
}

/* Every case of one generated policy. */
static void
check_model(const struct model *m, const char *text, struct stats *st)
{
	char		 err[512] = "";
	struct policy	*p;
	struct mcase	 c;

	p = policy_parse(text, strlen(text), "generated", err, sizeof(err));
	if (p == NULL)
		fail_msg("seed %#llx: generated policy refused: %s\n%s",
		    (unsigned long long)seed(), err, text);
	assert_int_equal(policy_nrules(p), m->n);
	memset(&c, 0, sizeof(c));
	for (c.publish = 0; c.publish <= 1; c.publish++)
	for (c.role = 0; c.role < NROLES; c.role++)
	for (c.kind = 1; c.kind <= NKIND; c.kind++)
	for (c.variant = 0; c.variant < (c.kind ==
	    NWD__V1__KIND__INTELLIGENCE_REPORT && !c.publish ? 3 : 1);
	    c.variant++)
	for (c.marking = NWD__V1__MARKING__OFFICIAL;
	    c.marking <= NWD__V1__MARKING__OFFICIAL_SENSITIVE; c.marking++)
	for (c.basis = 0; c.basis <= 1; c.basis++) {
		if (c.publish) {
			c.clearance = NWD__V1__MARKING__OFFICIAL_SENSITIVE;
			c.alloc = c.named = c.from = c.duty = 0;
			check_case_model(p, m, text, &c, st);
			continue;
		}
		for (c.clearance = NWD__V1__MARKING__OFFICIAL;
		    c.clearance <= NWD__V1__MARKING__OFFICIAL_SENSITIVE;
		    c.clearance++)
		for (c.duty = 0; c.duty <= 1; c.duty++)
		for (c.alloc = 0; c.alloc <= 1; c.alloc++)
		for (c.named = 0; c.named <= 1; c.named++)
		for (c.from = 0; c.from <= 1; c.from++)
			check_case_model(p, m, text, &c, st);
	}
	policy_free(p);
}

static void
test_property_model(void **state)
{
	struct model	 m;
	struct stats	 st;
	char		 text[16384];
	int		 iter;

	rng_state = seed() | 1;
	memset(&st, 0, sizeof(st));
	for (iter = 0; iter < 200; iter++) {
		gen_model(&m);
		write_policy(&m, text, sizeof(text));
		check_model(&m, text, &st);
	}
	/* The generator must have exercised every outcome. */
	assert_true(st.allow > 5000);
	assert_true(st.deny_rule > 1000);
	assert_true(st.condition > 5000);
	assert_true(st.norule > 5000);
	assert_true(st.norule_deny > 1000);
	assert_true(st.duty_allow > 1000);
	assert_true(st.duty_deny > 500);
	assert_true(st.duty_or > 500);
	assert_true(st.clearance > 500);
	assert_true(st.handling_c > 100);
	assert_true(st.legacy > 100);
	assert_true(st.need_to_know > 500);
	assert_true(st.multi_allow > 500);
	assert_true(st.protected_withheld > 1000);
	assert_true(st.released > 500);
	assert_true(st.kept > 1000);
	assert_true(st.g10 > 5000);
}

/*
 * A deny whose conditions hold refuses, whatever allows exist, wherever it
 * stands, in either pass; a deny whose conditions fail changes no decision
 * at all (it makes no candidate: a role no allow names stays no rule).
 */
static void
test_property_deny_flips(void **state)
{
	struct model		 m;
	struct mrule		*r;
	char			 text[16384], err[512], sc[1024], sc0[1024];
	struct policy		*p;
	struct policy_decision	 d, d0;
	struct expect		 before;
	struct mcase		 c;
	Nwd__V1__Envelope	*e;
	size_t			 i, at;
	unsigned		 yes, no, w;
	int			 iter, holds, nallowed = 0, nkept = 0;
	int			 nduty = 0, nnorule = 0;

	rng_state = (seed() ^ 0x9e3779b97f4a7c15ULL) | 1;
	for (iter = 0; iter < 2000; iter++) {
		gen_model(&m);
		memset(&c, 0, sizeof(c));
		c.publish = rng_below(4) == 0;
		c.role = (int)rng_below(NROLES);
		c.kind = 1 + (int)rng_below(NKIND);
		c.marking = NWD__V1__MARKING__OFFICIAL;
		c.clearance = NWD__V1__MARKING__OFFICIAL_SENSITIVE;
		c.basis = rng_below(2);
		if (!c.publish) {
			c.alloc = rng_below(2);
			c.named = rng_below(2);
			c.from = rng_below(2);
			c.duty = rng_below(2);
		}
		model_decide(&m, &c, &before);
		if (before.verdict == POLICY_ALLOW)
			nallowed++;
		/* Insert a deny for that case anywhere, its conditions
		 * holding or not. */
		holds = rng_below(2);
		at = rng_below((unsigned)m.n + 1);
		memmove(&m.r[at + 1], &m.r[at], (m.n - at) * sizeof(m.r[0]));
		m.n++;
		r = &m.r[at];
		memset(r, 0, sizeof(*r));
		snprintf(r->name, sizeof(r->name), "zdeny");
		r->deny = 1;
		r->publish = c.publish;
		r->roles = 1u << c.role;
		r->kinds = 1u << c.kind;
		/* The "when" alternatives that hold for c, and the others. */
		yes = (c.alloc ? MW_ALLOCATED : 0) | (c.named ? MW_NAMED : 0) |
		    (c.duty ? MW_DUTY : 0);
		no = ~yes & (MW_ALLOCATED | MW_NAMED | MW_DUTY);
		switch (c.publish ? 1 : rng_below(4)) {
		case 0:
			/* Any alternatives, with at least one holding, or
			 * only ones that do not. */
			w = rng_below(8);
			r->when = holds ? (yes != 0 ? (w & no) |
			    (yes & (w | (yes & -yes))) : 0) : w & no;
			break;
		case 1:
			if (holds ? rng_below(2) : 1)
				r->bases = holds ? (1u << c.basis) |
				    (rng_below(2) << !c.basis) :
				    1u << !c.basis;
			break;
		case 2:
			r->from = 1u << (holds ? c.from : !c.from);
			break;
		default:
			break;
		}
		if (!holds && r->when == 0 && r->bases == 0 && r->from == 0)
			r->bases = 1u << !c.basis;
		assert_int_equal(mrule_holds(r, &c), holds);
		write_policy(&m, text, sizeof(text));
		p = policy_parse(text, strlen(text), "flip", err, sizeof(err));
		if (p == NULL)
			fail_msg("%s\n%s", err, text);
		engine_decide(p, &c, &e, &d);
		fix_strip_csv(&d, sc, sizeof(sc));	/* the paths are p's */
		policy_free(p);
		if (holds) {
			if (d.verdict != POLICY_DENY || d.nstrip != 0)
				fail_msg("seed %#llx: a deny that holds did "
				    "not refuse%s: %s %s\n%s",
				    (unsigned long long)seed(),
				    c.duty ? " in the duty pass" : "",
				    policy_verdict_name(d.verdict), d.rules,
				    text);
			nduty += c.duty;
			/* The reported rule is a deny that holds: ours or
			 * another. */
			for (i = 0; i < m.n; i++)
				if (strcmp(m.r[i].name, d.rules) == 0)
					break;
			assert_true(i < m.n);
			assert_true(m.r[i].deny);
			assert_true(mrule_matches(&m.r[i], c.publish, c.role,
			    c.kind));
			assert_true(mrule_holds(&m.r[i], &c));
			continue;
		}
		/* Not holding: exactly the decision without it. */
		memmove(&m.r[at], &m.r[at + 1], (m.n - at - 1) *
		    sizeof(m.r[0]));
		m.n--;
		write_policy(&m, text, sizeof(text));
		p = policy_parse(text, strlen(text), "flip", err, sizeof(err));
		assert_non_null(p);
		engine_decide(p, &c, &e, &d0);
		fix_strip_csv(&d0, sc0, sizeof(sc0));
		policy_free(p);
		if (d.verdict != d0.verdict || strcmp(d.rules, d0.rules) != 0 ||
		    strcmp(d.reason, d0.reason) != 0 || !fix_same_set(sc, sc0))
			fail_msg("seed %#llx: a deny that does not hold "
			    "changed %s %s (%s) withholding \"%s\" into %s %s "
			    "(%s) withholding \"%s\"\n%s",
			    (unsigned long long)seed(),
			    policy_verdict_name(d0.verdict), d0.rules,
			    d0.reason, sc0, policy_verdict_name(d.verdict),
			    d.rules, d.reason, sc, text);
		nkept++;
		nnorule += d0.verdict == POLICY_DENY_NO_RULE;
	}
	assert_true(nallowed > 100);
	assert_true(nkept > 200);
	assert_true(nduty > 100);
	assert_true(nnorule > 100);
}

/* Two matching allows for one recipient: exactly the intersection, with
 * nested paths, keep, grant and protected types. */
static void
test_property_two_allows(void **state)
{
	struct model		 m;
	char			 text[8192], err[512];
	struct policy		*p;
	struct policy_decision	 d;
	struct mcase		 c;
	Nwd__V1__Envelope	*e;
	uint64_t		 want, got;
	int			 iter, kind, r;

	rng_state = (seed() ^ 0x5851f42d4c957f2dULL) | 1;
	for (iter = 0; iter < 3000; iter++) {
		kind = 1 + (int)rng_below(NKIND);
		memset(&m, 0, sizeof(m));
		m.n = 2;
		m.protect = rng_below(2) ? 0x7 : rng_below(16);
		for (r = 0; r < 2; r++) {
			struct mrule *mr = &m.r[r];

			snprintf(mr->name, sizeof(mr->name), r ? "two" :
			    "one");
			mr->roles = r ? 0x3 : 0x1;
			mr->kinds = r ? ((1u << NKIND) - 1) << 1 : 1u << kind;
			mr->max = NWD__V1__MARKING__OFFICIAL_SENSITIVE;
			if (rng_below(3) == 0)
				mr->nkeep = gen_paths(mr, mr->keep);
			else if (rng_below(2))
				mr->nstrip = gen_paths(mr, mr->strip);
			if (rng_below(2))
				mr->ngrant = gen_paths(mr, mr->grant);
		}
		write_policy(&m, text, sizeof(text));
		p = policy_parse(text, strlen(text), "two", err, sizeof(err));
		if (p == NULL)
			fail_msg("%s\n%s", err, text);
		memset(&c, 0, sizeof(c));
		c.kind = kind;
		c.marking = c.clearance = NWD__V1__MARKING__OFFICIAL;
		engine_decide(p, &c, &e, &d);
		assert_int_equal(d.verdict, POLICY_ALLOW);
		assert_string_equal(d.rules, "one,two");
		want = model_withheld(&m, &m.r[0], kind) &
		    model_withheld(&m, &m.r[1], kind);
		got = strip_mask(&d, kind);	/* the paths are the policy's */
		policy_free(p);
		if (got != want)
			fail_msg("withheld %#llx, not the intersection %#llx:"
			    "\n%s", (unsigned long long)got,
			    (unsigned long long)want, text);
	}
}

/*
 * The checker of what a recipient receives is not vacuous: bytes packed
 * without withholding fail it, and so do bytes missing a field.
 */
static void
test_delivery_checker(void **state)
{
	static const char *const strip[] = { "location",
	    "grading.handling_conditions", "third_parties" };
	static const char *const summary[] = { "summary" };
	struct fix_arena	 a;
	Nwd__V1__Envelope	*e;
	ProtobufCMessage	*got;
	uint8_t			*buf;
	size_t			 len = 0;
	char			 why[4096] = "", withheld[256];

	memset(&a, 0, sizeof(a));
	e = fix_full_envelope(&a, NWD__V1__KIND__INTELLIGENCE_REPORT, "YP-001",
	    NWD__V1__MARKING__OFFICIAL);
	/* Nothing withheld, though three fields should be. */
	buf = redact_pack(e, NULL, 0, &len, NULL, 0);
	assert_non_null(buf);
	got = protobuf_c_message_unpack(&nwd__v1__envelope__descriptor, NULL,
	    len, buf);
	assert_non_null(got);
	fix_compare_body(envelope_body(e)->descriptor, envelope_body(e),
	    envelope_body((Nwd__V1__Envelope *)got), "", strip, 3, buf, len,
	    why, sizeof(why));
	protobuf_c_message_free_unpacked(got, NULL);
	free(buf);
	assert_non_null(strstr(why, "location is delivered though withheld"));
	assert_non_null(strstr(why, "grading.handling_conditions is "
	    "delivered though withheld"));
	assert_non_null(strstr(why, "third_parties is delivered though "
	    "withheld"));
	assert_non_null(strstr(why, "the bytes carry \"[location.town#0]\""));
	assert_non_null(strstr(why, "[third_parties.address.postcode#0]"));
	/* summary withheld, though it should not be. */
	why[0] = '\0';
	buf = redact_pack(e, summary, 1, &len, NULL, 0);
	assert_non_null(buf);
	got = protobuf_c_message_unpack(&nwd__v1__envelope__descriptor, NULL,
	    len, buf);
	assert_non_null(got);
	fix_compare_body(envelope_body(e)->descriptor, envelope_body(e),
	    envelope_body((Nwd__V1__Envelope *)got), "", NULL, 0, buf, len,
	    why, sizeof(why));
	protobuf_c_message_free_unpacked(got, NULL);
	free(buf);
	assert_string_equal(why, "summary differs (missing); ");
	/* Done right, it passes, and redact_pack names what it removed. */
	assert_int_equal(fix_check_delivered(e, strip, 3, withheld,
	    sizeof(withheld), why, sizeof(why)), 0);
	assert_true(fix_same_set(withheld, "location,"
	    "grading.handling_conditions,third_parties"));
	/* The header too. */
	e->header->priority = NWD__V1__PRIORITY__HIGH;
	assert_int_equal(fix_check_delivered(e, NULL, 0, withheld,
	    sizeof(withheld), why, sizeof(why)), 0);
	fix_arena_free(&a);
}

/* ------------------------------------------------------------------------
 * Contracts the engine once broke.  Each failed against the engine before
 * commit a0ee0c1 ("policy: deny rules hold in the duty pass; 'when' lists
 * alternatives; ...").
 */

/*
 * policy.h: "a matching deny rule always wins over any allow".  Deny rules
 * apply in every pass: a deny without a condition that names the duty
 * desk's role refuses in the duty pass too (it once was skipped there, as
 * in_pass() looked only at rules marked "when duty").
 */
static void
test_contract_duty_pass_deny_wins(void **state)
{
	static const char text[] =
	    "duty desk\n"
	    "allow deliver desk: roles duty kinds * when duty\n"
	    "deny deliver no-clinical: roles duty kinds camhs_update\n";
	struct fix_arena	 a;
	struct policy		*p = fix_parse_ok(text, "duty-deny");
	struct policy_decision	 d;
	struct principal	 desk = who("duty",
				    NWD__V1__MARKING__OFFICIAL_SENSITIVE);
	enum policy_verdict	 first, duty;
	char			 rules[256];

	memset(&a, 0, sizeof(a));
	first = deliver_to(&a, p, &desk, NWD__V1__KIND__CAMHS_UPDATE,
	    NWD__V1__MARKING__OFFICIAL, "YP-001", NULL, NULL, 1000, 0, NULL,
	    &d);
	duty = deliver_to(&a, p, &desk, NWD__V1__KIND__CAMHS_UPDATE,
	    NWD__V1__MARKING__OFFICIAL, "YP-001", NULL, NULL, 1000, 1, NULL,
	    &d);
	snprintf(rules, sizeof(rules), "%s", d.rules);
	fix_arena_free(&a);
	policy_free(p);
	assert_int_equal(first, POLICY_DENY);
	if (duty != POLICY_DENY || strcmp(rules, "no-clinical") != 0)
		fail_msg("policy_check_deliver, duty pass, role duty, "
		    "camhs_update, under \"deny deliver no-clinical: roles duty "
		    "kinds camhs_update\": %s by \"%s\"; a deny that holds must "
		    "win (expected deny by \"no-clinical\")",
		    policy_verdict_name(duty), rules);
}

/*
 * The conditions of "when" are alternatives.  In the duty pass a rule
 * "when duty or named" holds by "duty" (conditions_hold() once dropped
 * WHEN_DUTY and then demanded "named").
 */
static void
test_contract_duty_pass_or(void **state)
{
	static const char text[] =
	    "duty desk\n"
	    "allow deliver desk: roles duty kinds * when duty or named\n";
	struct fix_arena	 a;
	struct policy		*p = fix_parse_ok(text, "duty-or");
	struct policy_decision	 d;
	struct principal	 desk = who("duty", NWD__V1__MARKING__OFFICIAL);
	enum policy_verdict	 v;
	char			 reason[256];

	memset(&a, 0, sizeof(a));
	v = deliver_to(&a, p, &desk, NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__MARKING__OFFICIAL, "YP-001", NULL, NULL, 1000, 1, NULL,
	    &d);
	snprintf(reason, sizeof(reason), "%s", d.reason);
	fix_arena_free(&a);
	policy_free(p);
	if (v != POLICY_ALLOW)
		fail_msg("policy_check_deliver, duty pass, role duty, "
		    "risk_alert, not named, under \"when duty or named\": %s "
		    "(\"%s\"); expected allow, the duty condition holding",
		    policy_verdict_name(v), reason);
}

/*
 * policy.h: protected types "are withheld wherever they appear".  With
 * "protect Address" (and ThirdParty not protected), the addresses inside
 * the repeated third_parties / associates entries must not be delivered.
 * Redact paths cannot reach into the entries of a repeated field, so the
 * whole repeated field is withheld (walk_fields() once did not look inside
 * repeated fields, and the addresses went out).
 */
static void
test_contract_protected_in_repeated(void **state)
{
	static const Nwd__V1__Kind kinds[] = {
		NWD__V1__KIND__INTELLIGENCE_REPORT,
		NWD__V1__KIND__MISSING_EPISODE, NWD__V1__KIND__RISK_ALERT,
	};
	struct fix_arena	 a;
	struct policy		*p;
	struct policy_decision	 d;
	struct principal	 pr = who("ra", NWD__V1__MARKING__OFFICIAL);
	Nwd__V1__Envelope	*e;
	uint8_t			*buf;
	size_t			 len, i;
	char			 leaks[1024] = "", sc[512];

	p = fix_parse_ok("protect Address\n"
	    "allow deliver plain: roles ra kinds intelligence_report, "
	    "missing_episode, risk_alert\n", "repeated");
	memset(&a, 0, sizeof(a));
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		deliver_to(&a, p, &pr, kinds[i], NWD__V1__MARKING__OFFICIAL,
		    "YP-001", NULL, "test-principal", 1000, 0, &e, &d);
		assert_int_equal(d.verdict, POLICY_ALLOW);
		buf = redact_pack(e, d.strip, d.nstrip, &len, NULL, 0);
		assert_non_null(buf);
		if (memmem(buf, len, "address.line1#", 14) != NULL) {
			fix_strip_csv(&d, sc, sizeof(sc));
			fix_appendf(leaks, sizeof(leaks),
			    "%s (withholding \"%s\"); ",
			    envelope_kind_name(kinds[i]), sc);
		}
		free(buf);
	}
	fix_arena_free(&a);
	policy_free(p);
	if (leaks[0] != '\0')
		fail_msg("under \"protect Address\", addresses inside repeated "
		    "entries are delivered: %s", leaks);
}

/*
 * nwd-policy(5): protected types are withheld "unless a rule grants the
 * field that holds them by name".  A keep that lists a protected field
 * once delivered it without a grant, and so did a second allow with such
 * a keep beside a rule that withheld it (the union then withheld
 * nothing).  Only grant lifts a protection, whatever keep lists and
 * however many allows match.
 */
static void
test_contract_keep_does_not_lift_protection(void **state)
{
	struct policy *p;

	/* keep summary, address and no grant: the address is withheld. */
	p = fix_parse_ok("protect Address, ThirdParty, SourceDetails\n"
	    "allow deliver k: roles ra kinds domestic_abuse_notification, "
	    "placement_change\n"
	    "    keep summary, address\n", "keep");
	expect_withheld(p, NWD__V1__KIND__DOMESTIC_ABUSE_NOTIFICATION, "k",
	    "incident_unix_ms,child_present,victim,perpetrator,address,"
	    "notify_school_by_unix_ms,police_reference,school,"
	    "child_present_state,do_not_contact_parents,guidance" HDR);
	expect_withheld(p, NWD__V1__KIND__PLACEMENT_CHANGE, "k",
	    "from_placement,to_placement,address,effective_unix_ms,reason"
	    HDR);
	policy_free(p);

	/* A second allow with keep beside hub-alerts: still withheld. */
	p = fix_parse_ok("protect Address, ThirdParty, SourceDetails\n"
	    "allow deliver hub-alerts: roles ra kinds risk_alert\n"
	    "allow deliver wide: roles ra kinds risk_alert\n"
	    "    keep summary, location, associates\n", "two");
	expect_withheld(p, NWD__V1__KIND__RISK_ALERT, "hub-alerts,wide",
	    "associates,location");
	policy_free(p);

	/* A protected field kept inside a kept parent: withheld too. */
	p = fix_parse_ok("protect Address\n"
	    "allow deliver k: roles ra kinds domestic_abuse_notification\n"
	    "    keep victim\n", "nested");
	expect_withheld(p, NWD__V1__KIND__DOMESTIC_ABUSE_NOTIFICATION, "k",
	    "incident_unix_ms,summary,child_present,victim.address,"
	    "perpetrator,address,notify_school_by_unix_ms,police_reference,"
	    "school,child_present_state,do_not_contact_parents,guidance" HDR);
	policy_free(p);

	/* A grant lifts it, in either rule. */
	p = fix_parse_ok("protect Address, ThirdParty, SourceDetails\n"
	    "allow deliver hub-alerts: roles ra kinds risk_alert\n"
	    "allow deliver wide: roles ra kinds risk_alert\n"
	    "    keep summary, location, associates grant location\n",
	    "granted");
	expect_withheld(p, NWD__V1__KIND__RISK_ALERT, "hub-alerts,wide",
	    "associates");
	policy_free(p);
}

/*
 * A principal is a candidate only through an allow rule; a deny rule that
 * does not hold is as if it were not there.  A publish deny rule for the
 * role and kind whose basis does not match leaves the publish at
 * POLICY_DENY_NO_RULE (rules ""), and the same situation on delivery is
 * POLICY_DENY_NO_RULE too (it once was POLICY_DENY "default-deny").  With
 * an allow beside it, the allow decides.
 */
static void
test_contract_publish_deny_basis_verdict(void **state)
{
	static const char *const texts[] = {
		"deny publish dp: roles ra kinds risk_alert basis consent\n"
		"deny deliver dd: roles ra kinds risk_alert basis consent\n",
		"allow publish ap: roles ra kinds risk_alert\n"
		"deny publish dp: roles ra kinds risk_alert basis consent\n"
		"deny deliver dd: roles ra kinds risk_alert basis consent\n"
		"allow deliver ad: roles ra kinds risk_alert\n",
	};
	struct fix_arena	 a;
	struct policy		*p;
	struct policy_decision	 d;
	struct principal	 pr = who("ra", NWD__V1__MARKING__OFFICIAL);
	Nwd__V1__Envelope	*e;
	struct policy_context	 ctx;
	enum policy_verdict	 v;
	size_t			 i;
	int			 publish;

	memset(&a, 0, sizeof(a));
	memset(&ctx, 0, sizeof(ctx));
	e = fix_full_envelope(&a, NWD__V1__KIND__RISK_ALERT, "YP-001",
	    NWD__V1__MARKING__OFFICIAL);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		p = fix_parse_ok(texts[i], "deny-basis");
		for (publish = 0; publish <= 1; publish++) {
			/* The deny holds: it refuses, by name. */
			e->header->legal_basis = NWD__V1__LEGAL_BASIS__CONSENT;
			v = publish ? policy_check_publish(p, &pr, e, &ctx, &d) :
			    policy_check_deliver(p, &pr, e, &ctx, &d);
			assert_int_equal(v, POLICY_DENY);
			assert_string_equal(d.rules, publish ? "dp" : "dd");
			assert_string_equal(d.reason, publish ?
			    "rule dp forbids role ra to publish risk_alert" :
			    "rule dd forbids role ra to receive risk_alert");
			/* It does not hold. */
			e->header->legal_basis =
			    NWD__V1__LEGAL_BASIS__SAFEGUARDING;
			v = publish ? policy_check_publish(p, &pr, e, &ctx, &d) :
			    policy_check_deliver(p, &pr, e, &ctx, &d);
			if (i == 1) {
				assert_int_equal(v, POLICY_ALLOW);
				assert_string_equal(d.rules, publish ? "ap" :
				    "ad");
				continue;
			}
			if (v != POLICY_DENY_NO_RULE)
				fail_msg("policy_check_%s, role ra, risk_alert, "
				    "basis safeguarding, under \"deny %s d%c: "
				    "roles ra kinds risk_alert basis consent\": "
				    "%s (rules \"%s\"); only an allow makes a "
				    "candidate, so expected deny (no rule)",
				    publish ? "publish" : "deliver",
				    publish ? "publish" : "deliver",
				    publish ? 'p' : 'd',
				    policy_verdict_name(v), d.rules);
			assert_string_equal(d.rules, "");
			assert_string_equal(d.reason, publish ?
			    "no publish rule lets role ra publish risk_alert" :
			    "no deliver rule lets role ra receive risk_alert");
		}
		policy_free(p);
	}
	fix_arena_free(&a);
}

/* ------------------------------------------------------------------------
 */

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_decision_table),
		cmocka_unit_test(test_scenario_reasons),
		cmocka_unit_test(test_no_camhs_to_police),
		cmocka_unit_test(test_clearance_caps_everyone),
		cmocka_unit_test(test_deploy_settings),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_minimal_policies),
		cmocka_unit_test(test_deny_order),
		cmocka_unit_test(test_publish_max),
		cmocka_unit_test(test_conditions_allocated_named),
		cmocka_unit_test(test_allocation_forms),
		cmocka_unit_test(test_named_forms),
		cmocka_unit_test(test_conditions_basis_from),
		cmocka_unit_test(test_protected_types),
		cmocka_unit_test(test_keep),
		cmocka_unit_test(test_header_fields),
		cmocka_unit_test(test_allocate_rules),
		cmocka_unit_test(test_allocate_deploy),
		cmocka_unit_test(test_duty_pass),
		cmocka_unit_test(test_role_declarations),
		cmocka_unit_test(test_check_principals),
		cmocka_unit_test(test_bad_policies_present),
		cmocka_unit_test(test_bad_inline),
		cmocka_unit_test(test_invitees_are_named),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_star_in_role_list),
		cmocka_unit_test(test_strip_intersection_nested),
		cmocka_unit_test(test_delivery_checker),
		cmocka_unit_test_setup_teardown(test_property_model,
		    model_setup, model_teardown),
		cmocka_unit_test_setup_teardown(test_property_deny_flips,
		    model_setup, model_teardown),
		cmocka_unit_test_setup_teardown(test_property_two_allows,
		    model_setup, model_teardown),
		cmocka_unit_test(test_contract_duty_pass_deny_wins),
		cmocka_unit_test(test_contract_duty_pass_or),
		cmocka_unit_test(test_contract_protected_in_repeated),
		cmocka_unit_test(test_contract_keep_does_not_lift_protection),
		cmocka_unit_test(test_contract_publish_deny_basis_verdict),
	};
	struct CMUnitTest	*tests;
	struct fix_arena	 names;		/* the tests' names */
	size_t			 nfixed = sizeof(fixed) / sizeof(fixed[0]);
	size_t			 n = 0, i;
	int			 rc;

	memset(&names, 0, sizeof(names));
	list_bad_files();
	tests = calloc(nbad_files + nfixed, sizeof(*tests));
	if (tests == NULL)
		return 1;
	for (i = 0; i < nbad_files; i++) {
		tests[n].name = fix_arena_printf(&names, "bad-policies/%s",
		    bad_files[i]);
		tests[n].test_func = test_bad_policy;
		tests[n].initial_state = bad_files[i];
		n++;
	}
	for (i = 0; i < nfixed; i++)
		tests[n++] = fixed[i];
	rc = _cmocka_run_group_tests("test_policy", tests, n, fix_load_deploy,
	    fix_free_deploy);
	free(tests);
	for (i = 0; i < nbad_files; i++)
		free(bad_files[i]);
	free(bad_files);
	fix_arena_free(&names);
	return rc;
}
