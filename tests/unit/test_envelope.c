/*
 * Unit tests for proto/envelope.c: the names of kinds, markings and legal
 * bases, and envelope_validate(), the check every published envelope
 * passes.  Linked with the proto library and cmocka only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "envelope.h"
#include "frame.h"

static const struct {
	Nwd__V1__Kind				 kind;
	const char				*name;
	Nwd__V1__Envelope__BodyCase		 body_case;
	const ProtobufCMessageDescriptor	*desc;
} kinds[] = {
	{ NWD__V1__KIND__INTELLIGENCE_REPORT, "intelligence_report",
	  NWD__V1__ENVELOPE__BODY_INTELLIGENCE_REPORT,
	  &nwd__v1__intelligence_report__descriptor },
	{ NWD__V1__KIND__MISSING_EPISODE, "missing_episode",
	  NWD__V1__ENVELOPE__BODY_MISSING_EPISODE,
	  &nwd__v1__missing_episode__descriptor },
	{ NWD__V1__KIND__RISK_ALERT, "risk_alert",
	  NWD__V1__ENVELOPE__BODY_RISK_ALERT,
	  &nwd__v1__risk_alert__descriptor },
	{ NWD__V1__KIND__DOMESTIC_ABUSE_NOTIFICATION,
	  "domestic_abuse_notification",
	  NWD__V1__ENVELOPE__BODY_DOMESTIC_ABUSE_NOTIFICATION,
	  &nwd__v1__domestic_abuse_notification__descriptor },
	{ NWD__V1__KIND__CAMHS_UPDATE, "camhs_update",
	  NWD__V1__ENVELOPE__BODY_CAMHS_UPDATE,
	  &nwd__v1__camhs_update__descriptor },
	{ NWD__V1__KIND__PLACEMENT_CHANGE, "placement_change",
	  NWD__V1__ENVELOPE__BODY_PLACEMENT_CHANGE,
	  &nwd__v1__placement_change__descriptor },
	{ NWD__V1__KIND__STRATEGY_DISCUSSION_REQUEST,
	  "strategy_discussion_request",
	  NWD__V1__ENVELOPE__BODY_STRATEGY_DISCUSSION_REQUEST,
	  &nwd__v1__strategy_discussion_request__descriptor },
	{ NWD__V1__KIND__ALLOCATION, "allocation",
	  NWD__V1__ENVELOPE__BODY_ALLOCATION,
	  &nwd__v1__allocation__descriptor },
	{ NWD__V1__KIND__CONSENT_RECORD, "consent_record",
	  NWD__V1__ENVELOPE__BODY_CONSENT_RECORD,
	  &nwd__v1__consent_record__descriptor },
	{ NWD__V1__KIND__RETURN_INTERVIEW, "return_interview",
	  NWD__V1__ENVELOPE__BODY_RETURN_INTERVIEW,
	  &nwd__v1__return_interview__descriptor },
	{ NWD__V1__KIND__ESCALATION, "escalation",
	  NWD__V1__ENVELOPE__BODY_ESCALATION,
	  &nwd__v1__escalation__descriptor },
	{ NWD__V1__KIND__SHARING_DECISION, "sharing_decision",
	  NWD__V1__ENVELOPE__BODY_SHARING_DECISION,
	  &nwd__v1__sharing_decision__descriptor },
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* ------------------------------------------------------------------------
 * A valid envelope of any kind, built in storage the test owns.
 */

struct env {
	Nwd__V1__Envelope		 e;
	Nwd__V1__Header			 h;
	Nwd__V1__SubjectRef		 subj;
	Nwd__V1__IntelligenceReport	 intel;
	Nwd__V1__Grading		 grading;
	Nwd__V1__Legacy5x5x5		 legacy;
	Nwd__V1__MissingEpisode		 missing;
	Nwd__V1__RiskAlert		 risk;
	Nwd__V1__DomesticAbuseNotification dan;
	Nwd__V1__CamhsUpdate		 camhs;
	Nwd__V1__PlacementChange	 placement;
	Nwd__V1__StrategyDiscussionRequest sdr;
	Nwd__V1__Allocation		 alloc;
	Nwd__V1__ConsentRecord		 consent;
	Nwd__V1__ReturnInterview	 ri;
	Nwd__V1__Escalation		 esc;
	Nwd__V1__SharingDecision	 sd;
	char				*nsw[ENVELOPE_MAX_SHARE_WITH + 2];
	Nwd__V1__SharingDecision__Reason sdr_reasons[4];
	char				*share[ENVELOPE_MAX_SHARE_WITH + 2];
	char				*invitees[ENVELOPE_MAX_SHARE_WITH + 2];
	char				*purposes[4], *agencies[4];
	Nwd__V1__Kind			 ckinds[4];
	char				*reached[4], *acked[4];
	char				 err[512];
};

static void
env_init(struct env *v, Nwd__V1__Kind kind)
{
	static const Nwd__V1__Envelope e = NWD__V1__ENVELOPE__INIT;
	static const Nwd__V1__Header h = NWD__V1__HEADER__INIT;
	static const Nwd__V1__SubjectRef subj = NWD__V1__SUBJECT_REF__INIT;
	static const Nwd__V1__IntelligenceReport intel =
	    NWD__V1__INTELLIGENCE_REPORT__INIT;
	static const Nwd__V1__Grading grading = NWD__V1__GRADING__INIT;
	static const Nwd__V1__Legacy5x5x5 legacy = NWD__V1__LEGACY5X5X5__INIT;
	static const Nwd__V1__MissingEpisode missing =
	    NWD__V1__MISSING_EPISODE__INIT;
	static const Nwd__V1__RiskAlert risk = NWD__V1__RISK_ALERT__INIT;
	static const Nwd__V1__DomesticAbuseNotification dan =
	    NWD__V1__DOMESTIC_ABUSE_NOTIFICATION__INIT;
	static const Nwd__V1__CamhsUpdate camhs = NWD__V1__CAMHS_UPDATE__INIT;
	static const Nwd__V1__PlacementChange placement =
	    NWD__V1__PLACEMENT_CHANGE__INIT;
	static const Nwd__V1__StrategyDiscussionRequest sdr =
	    NWD__V1__STRATEGY_DISCUSSION_REQUEST__INIT;
	static const Nwd__V1__Allocation alloc = NWD__V1__ALLOCATION__INIT;
	static const Nwd__V1__ConsentRecord consent =
	    NWD__V1__CONSENT_RECORD__INIT;
	static const Nwd__V1__ReturnInterview ri =
	    NWD__V1__RETURN_INTERVIEW__INIT;
	static const Nwd__V1__Escalation esc = NWD__V1__ESCALATION__INIT;
	static const Nwd__V1__SharingDecision sd =
	    NWD__V1__SHARING_DECISION__INIT;

	memset(v, 0, sizeof(*v));
	v->e = e;
	v->h = h;
	v->subj = subj;
	v->intel = intel;
	v->grading = grading;
	v->legacy = legacy;
	v->missing = missing;
	v->risk = risk;
	v->dan = dan;
	v->camhs = camhs;
	v->placement = placement;
	v->sdr = sdr;
	v->alloc = alloc;
	v->consent = consent;
	v->ri = ri;
	v->esc = esc;
	v->sd = sd;

	v->subj.local_id = "YP-001";
	v->h.kind = kind;
	v->h.subject = &v->subj;
	v->h.marking = NWD__V1__MARKING__OFFICIAL_SENSITIVE;
	v->h.priority = NWD__V1__PRIORITY__ROUTINE;
	v->h.legal_basis = NWD__V1__LEGAL_BASIS__SAFEGUARDING;
	v->e.header = &v->h;

	v->grading.source_evaluation = 2;
	v->grading.assessment = NWD__V1__GRADING__ASSESSMENT__B;
	v->grading.handling_code = NWD__V1__GRADING__HANDLING_CODE__HANDLING_P;
	v->intel.grading = &v->grading;
	v->intel.sanitised = 1;
	v->intel.summary = "seen with older males";
	v->legacy.source_evaluation = "B";
	v->legacy.intelligence_evaluation = 2;
	v->legacy.handling_code = 1;
	v->missing.status = NWD__V1__MISSING_EPISODE__STATUS__REPORTED_MISSING;
	v->risk.category = NWD__V1__RISK_ALERT__CATEGORY__CRIMINAL_EXPLOITATION;
	v->risk.level = NWD__V1__RISK_ALERT__LEVEL__HIGH;
	v->risk.summary = "county lines";
	v->dan.summary = "incident at home";
	v->dan.incident_unix_ms = 1700000000000;
	v->dan.police_reference = "NC-20231114-0042";
	v->dan.school = "school:north-high";
	v->dan.child_present_state =
	    NWD__V1__DOMESTIC_ABUSE_NOTIFICATION__CHILD_PRESENCE__PRESENT;
	v->camhs.risk_summary = "moderate";
	v->placement.to_placement = "foster";
	v->sdr.reason = "s.47";
	v->invitees[0] = "sw-ben";
	v->invitees[1] = "police:plt";
	v->sdr.invitees = v->invitees;
	v->sdr.n_invitees = 2;
	v->alloc.team = "hub:norwich";
	v->consent.given_by = "young person";
	v->consent.status = NWD__V1__CONSENT_RECORD__STATUS__GIVEN;
	v->purposes[0] = "camhs-sharing";
	v->consent.purposes = v->purposes;
	v->consent.n_purposes = 1;
	v->ri.status = NWD__V1__RETURN_INTERVIEW__STATUS__DONE;
	v->ri.done_unix_ms = 1700000200000;
	v->ri.conducted_by = "Sam, independent return worker";
	v->ri.independent = 1;
	v->ri.summary = "stayed with a friend; no exploitation disclosed";
	v->esc.about_message_id = "6f1c9d3e-1111-4a2b-8c3d-0123456789ab";
	v->esc.about_kind = NWD__V1__KIND__MISSING_EPISODE;
	v->esc.rule = "return-interview-72h";
	v->esc.reason = NWD__V1__ESCALATION__REASON__DEADLINE_BREACHED;
	v->esc.since_unix_ms = 1700000000000;
	v->esc.due_unix_ms = 1700259200000;
	v->reached[0] = "hubsys-norwich";
	v->reached[1] = "a hub_keyworker";
	v->esc.reached = v->reached;
	v->esc.n_reached = 2;
	v->esc.count = 1;
	v->esc.summary = "No return interview for YP-001 72 hours after "
	    "they were found";
	v->sd.information = "CAMHS formulation of 3 March";
	v->nsw[0] = "police";
	v->sd.not_shared_with = v->nsw;
	v->sd.n_not_shared_with = 1;
	v->sdr_reasons[0] = NWD__V1__SHARING_DECISION__REASON__MORE_DETRIMENTAL;
	v->sd.reasons = v->sdr_reasons;
	v->sd.n_reasons = 1;
	v->sd.explanation = "disclosure would end the therapeutic relationship";
	v->sd.more_detrimental_to_child = 1;
	v->sd.decided_unix_ms = 1700000000000;
	v->sd.review_by_unix_ms = 1702592000000;

	v->e.body_case = envelope_kind_body_case(kind);
	switch (kind) {
	case NWD__V1__KIND__INTELLIGENCE_REPORT:
		v->e.intelligence_report = &v->intel;
		break;
	case NWD__V1__KIND__MISSING_EPISODE:
		v->e.missing_episode = &v->missing;
		break;
	case NWD__V1__KIND__RISK_ALERT:
		v->e.risk_alert = &v->risk;
		break;
	case NWD__V1__KIND__DOMESTIC_ABUSE_NOTIFICATION:
		v->e.domestic_abuse_notification = &v->dan;
		break;
	case NWD__V1__KIND__CAMHS_UPDATE:
		v->e.camhs_update = &v->camhs;
		break;
	case NWD__V1__KIND__PLACEMENT_CHANGE:
		v->e.placement_change = &v->placement;
		break;
	case NWD__V1__KIND__STRATEGY_DISCUSSION_REQUEST:
		v->e.strategy_discussion_request = &v->sdr;
		break;
	case NWD__V1__KIND__ALLOCATION:
		v->e.allocation = &v->alloc;
		break;
	case NWD__V1__KIND__CONSENT_RECORD:
		v->e.consent_record = &v->consent;
		break;
	case NWD__V1__KIND__RETURN_INTERVIEW:
		v->e.return_interview = &v->ri;
		/* It answers a MissingEpisode. */
		v->h.references = "01890a5d-ac96-774b-bcce-b302099a8057";
		break;
	case NWD__V1__KIND__ESCALATION:
		v->e.escalation = &v->esc;
		break;
	case NWD__V1__KIND__SHARING_DECISION:
		v->e.sharing_decision = &v->sd;
		break;
	default:
		fail_msg("env_init: no body for kind %d", (int)kind);
	}
}

/* Validates and returns the verdict; the reason is left in v->err. */
static int
validate(struct env *v)
{
	memset(v->err, 0, sizeof(v->err));
	return envelope_validate(&v->e, v->err, sizeof(v->err));
}

static void
expect_ok(struct env *v, const char *what)
{
	if (validate(v) != 0)
		fail_msg("%s: expected valid, got \"%s\"", what, v->err);
}

static void
expect_bad(struct env *v, const char *what, const char *substring)
{
	if (validate(v) != -1)
		fail_msg("%s: expected refusal mentioning \"%s\", got valid",
		    what, substring);
	if (strstr(v->err, substring) == NULL)
		fail_msg("%s: expected \"%s\" in \"%s\"", what, substring,
		    v->err);
}

/* Refused with exactly this sentence. */
static void
expect_msg(struct env *v, const char *what, const char *exact)
{
	if (validate(v) != -1)
		fail_msg("%s: expected refusal \"%s\", got valid", what,
		    exact);
	if (strcmp(v->err, exact) != 0)
		fail_msg("%s: expected \"%s\", got \"%s\"", what, exact,
		    v->err);
}

/* ------------------------------------------------------------------------
 * Kinds
 */

static void
test_kind_names(void **state)
{
	Nwd__V1__Kind	k;
	size_t		i;

	for (i = 0; i < NKINDS; i++) {
		assert_non_null(envelope_kind_name(kinds[i].kind));
		assert_string_equal(
		    envelope_kind_name(kinds[i].kind), kinds[i].name);
		k = NWD__V1__KIND__KIND_UNSPECIFIED;
		assert_int_equal(envelope_kind_from_name(kinds[i].name, &k), 0);
		assert_int_equal(k, kinds[i].kind);
		/* Round trip through the name. */
		assert_string_equal(envelope_kind_name(k), kinds[i].name);
	}
}

static void
test_kind_unknown(void **state)
{
	Nwd__V1__Kind k = (Nwd__V1__Kind)1234;

	assert_null(envelope_kind_name(NWD__V1__KIND__KIND_UNSPECIFIED));
	assert_null(envelope_kind_name((Nwd__V1__Kind)99));
	assert_null(envelope_kind_name((Nwd__V1__Kind)16));
	assert_null(envelope_kind_name((Nwd__V1__Kind)-1));

	assert_int_equal(envelope_kind_from_name("bogus", &k), -1);
	assert_int_equal(envelope_kind_from_name("", &k), -1);
	/* Envelope fields that are not bodies are not kinds. */
	assert_int_equal(envelope_kind_from_name("header", &k), -1);
	/* Names are the lower-case field names, not the enum names. */
	assert_int_equal(envelope_kind_from_name("RISK_ALERT", &k), -1);
	assert_int_equal(envelope_kind_from_name("risk-alert", &k), -1);
	assert_int_equal(envelope_kind_from_name("kind_unspecified", &k), -1);
	/* A failed lookup leaves *out alone. */
	assert_int_equal(k, 1234);
}

static void
test_kind_body(void **state)
{
	size_t i;

	for (i = 0; i < NKINDS; i++) {
		assert_int_equal(
		    envelope_kind_body_case(kinds[i].kind), kinds[i].body_case);
		assert_ptr_equal(envelope_kind_body_descriptor(kinds[i].kind),
		    kinds[i].desc);
	}
	assert_null(
	    envelope_kind_body_descriptor(NWD__V1__KIND__KIND_UNSPECIFIED));
	assert_null(envelope_kind_body_descriptor((Nwd__V1__Kind)99));
	assert_null(envelope_kind_body_descriptor((Nwd__V1__Kind)16));
}

static void
test_envelope_body(void **state)
{
	struct env	v;
	size_t		i;

	for (i = 0; i < NKINDS; i++) {
		env_init(&v, kinds[i].kind);
		assert_non_null(envelope_body(&v.e));
		assert_ptr_equal(envelope_body(&v.e)->descriptor,
		    kinds[i].desc);
	}
	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	assert_ptr_equal(envelope_body(&v.e), &v.risk.base);
	v.e.body_case = NWD__V1__ENVELOPE__BODY__NOT_SET;
	assert_null(envelope_body(&v.e));
}

/* ------------------------------------------------------------------------
 * Markings and legal bases
 */

static void
test_marking_names(void **state)
{
	Nwd__V1__Marking m;
	char long_name[64];

	m = 0;
	assert_int_equal(
	    envelope_marking_from_name("OFFICIAL-SENSITIVE", &m), 0);
	assert_int_equal(m, NWD__V1__MARKING__OFFICIAL_SENSITIVE);
	m = 0;
	assert_int_equal(
	    envelope_marking_from_name("official_sensitive", &m), 0);
	assert_int_equal(m, NWD__V1__MARKING__OFFICIAL_SENSITIVE);
	m = 0;
	assert_int_equal(
	    envelope_marking_from_name("Official-Sensitive", &m), 0);
	assert_int_equal(m, NWD__V1__MARKING__OFFICIAL_SENSITIVE);
	m = 0;
	assert_int_equal(envelope_marking_from_name("OFFICIAL", &m), 0);
	assert_int_equal(m, NWD__V1__MARKING__OFFICIAL);
	m = 0;
	assert_int_equal(envelope_marking_from_name("official", &m), 0);
	assert_int_equal(m, NWD__V1__MARKING__OFFICIAL);
	/* SECRET parses (so that it can be named and refused). */
	m = 0;
	assert_int_equal(envelope_marking_from_name("SECRET", &m), 0);
	assert_int_equal(m, NWD__V1__MARKING__SECRET);
	m = 0;
	assert_int_equal(envelope_marking_from_name("top-secret", &m), 0);
	assert_int_equal(m, NWD__V1__MARKING__TOP_SECRET);

	m = (Nwd__V1__Marking)77;
	assert_int_equal(
	    envelope_marking_from_name("MARKING_UNSPECIFIED", &m), -1);
	assert_int_equal(envelope_marking_from_name("", &m), -1);
	assert_int_equal(
	    envelope_marking_from_name("OFFICIAL SENSITIVE", &m), -1);
	assert_int_equal(
	    envelope_marking_from_name("OFFICIAL-SENSITIVE ", &m), -1);
	assert_int_equal(envelope_marking_from_name("RESTRICTED", &m), -1);
	assert_int_equal(envelope_marking_from_name("2", &m), -1);
	/* Longer than the internal buffer: refused, not truncated. */
	memset(long_name, 'A', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	memcpy(long_name, "OFFICIAL", 8);
	assert_int_equal(envelope_marking_from_name(long_name, &m), -1);
	assert_int_equal(m, 77);

	assert_string_equal(
	    envelope_marking_name(NWD__V1__MARKING__OFFICIAL), "OFFICIAL");
	assert_string_equal(
	    envelope_marking_name(NWD__V1__MARKING__OFFICIAL_SENSITIVE),
	    "OFFICIAL_SENSITIVE");
	assert_string_equal(
	    envelope_marking_name(NWD__V1__MARKING__SECRET), "SECRET");
	assert_string_equal(
	    envelope_marking_name((Nwd__V1__Marking)99), "MARKING_UNSPECIFIED");
}

static void
test_marking_secret_refused(void **state)
{
	struct env		v;
	Nwd__V1__Marking	m;

	assert_int_equal(envelope_marking_from_name("SECRET", &m), 0);
	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.h.marking = m;
	expect_bad(&v, "SECRET", "marking SECRET is above OFFICIAL-SENSITIVE");
	assert_int_equal(envelope_marking_from_name("TOP_SECRET", &m), 0);
	v.h.marking = m;
	expect_bad(&v, "TOP_SECRET",
	    "marking TOP_SECRET is above OFFICIAL-SENSITIVE");
}

static void
test_legal_basis_names(void **state)
{
	static const struct {
		Nwd__V1__LegalBasis	 b;
		const char		*name;
	} t[] = {
		{ NWD__V1__LEGAL_BASIS__CONSENT, "consent" },
		{ NWD__V1__LEGAL_BASIS__SAFEGUARDING, "safeguarding" },
		{ NWD__V1__LEGAL_BASIS__LEGAL_OBLIGATION, "legal_obligation" },
		{ NWD__V1__LEGAL_BASIS__PUBLIC_TASK, "public_task" },
		{ NWD__V1__LEGAL_BASIS__VITAL_INTERESTS, "vital_interests" },
	};
	Nwd__V1__LegalBasis	b;
	size_t			i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_string_equal(
		    envelope_legal_basis_name(t[i].b), t[i].name);
		b = NWD__V1__LEGAL_BASIS__LEGAL_BASIS_UNSPECIFIED;
		assert_int_equal(
		    envelope_legal_basis_from_name(t[i].name, &b), 0);
		assert_int_equal(b, t[i].b);
	}
	b = NWD__V1__LEGAL_BASIS__LEGAL_BASIS_UNSPECIFIED;
	assert_int_equal(envelope_legal_basis_from_name("SAFEGUARDING", &b), 0);
	assert_int_equal(b, NWD__V1__LEGAL_BASIS__SAFEGUARDING);

	assert_string_equal(envelope_legal_basis_name(
	                        NWD__V1__LEGAL_BASIS__LEGAL_BASIS_UNSPECIFIED),
	    "none");
	assert_string_equal(
	    envelope_legal_basis_name((Nwd__V1__LegalBasis)99), "none");
	b = (Nwd__V1__LegalBasis)55;
	assert_int_equal(envelope_legal_basis_from_name("none", &b), -1);
	assert_int_equal(envelope_legal_basis_from_name("", &b), -1);
	assert_int_equal(
	    envelope_legal_basis_from_name("legal obligation", &b), -1);
	assert_int_equal(envelope_legal_basis_from_name("public-task", &b), -1);
	assert_int_equal(b, 55);
}

static void
test_is_uuid(void **state)
{
	assert_true(envelope_is_uuid("6f1c9d3e-1111-4a2b-8c3d-0123456789ab"));
	assert_true(envelope_is_uuid("6F1C9D3E-1111-4A2B-8C3D-0123456789AB"));
	assert_false(envelope_is_uuid(""));
	assert_false(envelope_is_uuid("6f1c9d3e11114a2b8c3d0123456789ab"));
	assert_false(envelope_is_uuid("6f1c9d3e-1111-4a2b-8c3d-0123456789a"));
	assert_false(envelope_is_uuid("6f1c9d3e-1111-4a2b-8c3d-0123456789abc"));
	assert_false(envelope_is_uuid("6f1c9d3e-1111-4a2b-8c3d-0123456789ag"));
	assert_false(envelope_is_uuid("6f1c9d3e_1111-4a2b-8c3d-0123456789ab"));
	assert_false(envelope_is_uuid("6f1c9d3e-1111-4a2b-8c3d+0123456789ab"));
}

/* ------------------------------------------------------------------------
 * envelope_validate: the valid cases
 */

static void
test_valid_each_kind(void **state)
{
	struct env	v;
	size_t		i;

	for (i = 0; i < NKINDS; i++) {
		env_init(&v, kinds[i].kind);
		expect_ok(&v, kinds[i].name);
		/* OFFICIAL, every priority and legal basis pass too. */
		v.h.marking = NWD__V1__MARKING__OFFICIAL;
		v.h.priority = NWD__V1__PRIORITY__URGENT;
		v.h.legal_basis = NWD__V1__LEGAL_BASIS__VITAL_INTERESTS;
		expect_ok(&v, kinds[i].name);
		v.h.priority = NWD__V1__PRIORITY__PRIORITY_UNSPECIFIED;
		v.h.legal_basis = NWD__V1__LEGAL_BASIS__LEGAL_BASIS_UNSPECIFIED;
		expect_ok(&v, kinds[i].name);
	}
}

static void
test_valid_edges(void **state)
{
	struct env	v;
	char		subject[ENVELOPE_MAX_SUBJECT + 1];
	char		name[ENVELOPE_MAX_NAME + 1];
	size_t		i;

	/* A subject of exactly the maximum length. */
	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	memset(subject, 'Y', ENVELOPE_MAX_SUBJECT);
	subject[ENVELOPE_MAX_SUBJECT] = '\0';
	v.subj.local_id = subject;
	expect_ok(&v, "64-byte subject");

	/* share_with at its limits. */
	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	memset(name, 'n', ENVELOPE_MAX_NAME);
	name[ENVELOPE_MAX_NAME] = '\0';
	for (i = 0; i < ENVELOPE_MAX_SHARE_WITH; i++)
		v.share[i] = i == 0 ? name : "sw:north";
	v.h.share_with = v.share;
	v.h.n_share_with = ENVELOPE_MAX_SHARE_WITH;
	expect_ok(&v, "64 share_with entries, one of 128 bytes");

	/* supersedes: a UUID in either case. */
	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.h.supersedes = "6f1c9d3e-1111-4a2b-8c3d-0123456789ab";
	expect_ok(&v, "supersedes lower");
	v.h.supersedes = "6F1C9D3E-1111-4A2B-8C3D-0123456789AB";
	expect_ok(&v, "supersedes upper");

	/* Broker-owned fields are not checked here. */
	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.h.message_id = "not a uuid at all";
	v.h.sender = "plo ana";
	expect_ok(&v, "broker-owned fields");

	/* Handling C with its conditions. */
	env_init(&v, NWD__V1__KIND__INTELLIGENCE_REPORT);
	v.grading.handling_code = NWD__V1__GRADING__HANDLING_CODE__HANDLING_C;
	v.grading.handling_conditions = "not to be disclosed to family";
	expect_ok(&v, "handling C with conditions");

	/* Every legal 3x5x2 combination. */
	for (i = 0; i < 3 * 5; i++) {
		env_init(&v, NWD__V1__KIND__INTELLIGENCE_REPORT);
		v.grading.source_evaluation = 1 + i % 3;
		v.grading.assessment = (Nwd__V1__Grading__Assessment)(1 + i / 3);
		expect_ok(&v, "3x5x2 grading");
	}

	/* Legacy codes alone, and with grading. */
	env_init(&v, NWD__V1__KIND__INTELLIGENCE_REPORT);
	v.intel.grading = NULL;
	v.intel.legacy = &v.legacy;
	expect_ok(&v, "legacy only");
	v.legacy.source_evaluation = "E";
	v.legacy.intelligence_evaluation = 5;
	v.legacy.handling_code = 5;
	expect_ok(&v, "legacy E/5/5");
	v.intel.grading = &v.grading;
	expect_ok(&v, "legacy and grading");

	/* Allocation: worker only; open-ended; zero-length. */
	env_init(&v, NWD__V1__KIND__ALLOCATION);
	v.alloc.team = "";
	v.alloc.worker = "sw-ben";
	expect_ok(&v, "worker only");
	v.alloc.from_unix_ms = 1700000000000;
	v.alloc.until_unix_ms = 0;
	expect_ok(&v, "open-ended");
	v.alloc.until_unix_ms = 1700000000000;
	expect_ok(&v, "ends as it starts");
}

/* ------------------------------------------------------------------------
 * envelope_validate: every refusal with its precise reason
 */

static void
test_no_header(void **state)
{
	struct env v;

	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.e.header = NULL;
	expect_bad(&v, "no header", "envelope has no header");
}

static void
test_unknown_kind(void **state)
{
	struct env v;

	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.h.kind = NWD__V1__KIND__KIND_UNSPECIFIED;
	expect_bad(&v, "kind 0", "header.kind 0 is not a known kind");
	v.h.kind = (Nwd__V1__Kind)99;
	expect_bad(&v, "kind 99", "header.kind 99 is not a known kind");
	v.h.kind = (Nwd__V1__Kind)-3;
	expect_bad(&v, "kind -3", "header.kind -3 is not a known kind");
}

static void
test_subject(void **state)
{
	struct env	v;
	char		subject[ENVELOPE_MAX_SUBJECT + 2];

	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.h.subject = NULL;
	expect_bad(&v, "no subject", "header.subject.local_id is missing");
	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.subj.local_id = "";
	expect_bad(&v, "empty subject", "header.subject.local_id is missing");

	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.subj.local_id = "YP 001";
	expect_bad(&v, "subject with a space",
	    "header.subject.local_id must be 1 to 64 printable characters "
	    "without spaces or commas");
	v.subj.local_id = "YP-001,YP-002";
	expect_bad(&v, "subject with a comma", "without spaces or commas");
	v.subj.local_id = "YP\t001";
	expect_bad(&v, "subject with a tab", "without spaces or commas");
	v.subj.local_id = "YP-001\n";
	expect_bad(&v, "subject with a newline", "without spaces or commas");
	memset(subject, 'Y', ENVELOPE_MAX_SUBJECT + 1);
	subject[ENVELOPE_MAX_SUBJECT + 1] = '\0';
	v.subj.local_id = subject;
	expect_bad(&v, "65-byte subject", "1 to 64 printable characters");
}

static void
test_body(void **state)
{
	struct env v;

	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.e.body_case = NWD__V1__ENVELOPE__BODY__NOT_SET;
	v.e.risk_alert = NULL;
	expect_bad(&v, "no body",
	    "envelope has no body; kind risk_alert needs a risk_alert body");

	/* A well-formed intelligence body under kind risk_alert. */
	env_init(&v, NWD__V1__KIND__INTELLIGENCE_REPORT);
	v.h.kind = NWD__V1__KIND__RISK_ALERT;
	expect_bad(&v, "mismatched body",
	    "body intelligence_report does not match kind risk_alert");

	env_init(&v, NWD__V1__KIND__ALLOCATION);
	v.h.kind = NWD__V1__KIND__CONSENT_RECORD;
	expect_bad(&v, "mismatched body",
	    "body allocation does not match kind consent_record");
}

static void
test_marking(void **state)
{
	struct env v;

	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.h.marking = NWD__V1__MARKING__MARKING_UNSPECIFIED;
	expect_bad(&v, "no marking", "header.marking is missing; use "
	    "OFFICIAL or OFFICIAL_SENSITIVE");
	v.h.marking = NWD__V1__MARKING__SECRET;
	expect_bad(&v, "SECRET", "marking SECRET is above OFFICIAL-SENSITIVE; "
	    "nwd carries OFFICIAL information only");
	v.h.marking = NWD__V1__MARKING__TOP_SECRET;
	expect_bad(&v, "TOP_SECRET", "marking TOP_SECRET is above");
	v.h.marking = (Nwd__V1__Marking)17;
	expect_bad(&v, "marking 17", "header.marking 17 is not a known marking");
}

static void
test_priority_and_basis(void **state)
{
	struct env v;

	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.h.priority = (Nwd__V1__Priority)9;
	expect_bad(&v, "priority 9", "header.priority 9 is not known");
	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.h.legal_basis = (Nwd__V1__LegalBasis)6;
	expect_bad(&v, "legal basis 6", "header.legal_basis 6 is not known");
}

static void
test_share_with(void **state)
{
	struct env	v;
	char		name[ENVELOPE_MAX_NAME + 2];
	size_t		i;

	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	for (i = 0; i < ENVELOPE_MAX_SHARE_WITH + 1; i++)
		v.share[i] = "sw:north";
	v.h.share_with = v.share;
	v.h.n_share_with = ENVELOPE_MAX_SHARE_WITH + 1;
	expect_bad(&v, "65 entries",
	    "header.share_with has 65 entries; at most 64");

	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.share[0] = "sw:north";
	v.share[1] = "sw north";
	v.h.share_with = v.share;
	v.h.n_share_with = 2;
	expect_bad(&v, "entry with a space",
	    "header.share_with[1] is not a principal or team name");
	v.share[1] = "";
	expect_bad(&v, "empty entry", "header.share_with[1] is not a");
	v.share[1] = "a,b";
	expect_bad(&v, "entry with a comma", "header.share_with[1] is not a");
	v.share[1] = "sw:\x7fnorth";
	expect_bad(&v, "entry with DEL", "header.share_with[1] is not a");
	memset(name, 'n', ENVELOPE_MAX_NAME + 1);
	name[ENVELOPE_MAX_NAME + 1] = '\0';
	v.share[0] = name;
	v.share[1] = "sw:north";
	expect_bad(&v, "129-byte entry", "header.share_with[0] is not a");
}

static void
test_supersedes(void **state)
{
	struct env v;

	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.h.supersedes = "msg-1";
	expect_bad(&v, "bad supersedes",
	    "header.supersedes must be a message id (UUID)");
	v.h.supersedes = "6f1c9d3e-1111-4a2b-8c3d-0123456789abX";
	expect_bad(&v, "long supersedes", "header.supersedes must be");
}

static void
test_intelligence(void **state)
{
	struct env v;

	env_init(&v, NWD__V1__KIND__INTELLIGENCE_REPORT);
	v.intel.sanitised = 0;
	expect_bad(&v, "not sanitised", "intelligence_report is not marked "
	    "sanitised; only sanitised intelligence may enter nwd");

	env_init(&v, NWD__V1__KIND__INTELLIGENCE_REPORT);
	v.intel.grading = NULL;
	expect_bad(&v, "no grading", "intelligence_report has no grading "
	    "(3x5x2) and no legacy 5x5x5 codes");

	env_init(&v, NWD__V1__KIND__INTELLIGENCE_REPORT);
	v.grading.source_evaluation = 0;
	expect_bad(&v, "source evaluation 0",
	    "grading.source_evaluation must be 1, 2 or 3, not 0");
	v.grading.source_evaluation = 4;
	expect_bad(&v, "source evaluation 4",
	    "grading.source_evaluation must be 1, 2 or 3, not 4");

	env_init(&v, NWD__V1__KIND__INTELLIGENCE_REPORT);
	v.grading.assessment =
	    NWD__V1__GRADING__ASSESSMENT__ASSESSMENT_UNSPECIFIED;
	expect_bad(&v, "assessment unset",
	    "grading.assessment must be one of A to E");
	v.grading.assessment = (Nwd__V1__Grading__Assessment)6;
	expect_bad(&v, "assessment 6",
	    "grading.assessment must be one of A to E");

	env_init(&v, NWD__V1__KIND__INTELLIGENCE_REPORT);
	v.grading.handling_code =
	    NWD__V1__GRADING__HANDLING_CODE__HANDLING_UNSPECIFIED;
	expect_bad(&v, "handling unset",
	    "grading.handling_code must be HANDLING_P or HANDLING_C");
	v.grading.handling_code = (Nwd__V1__Grading__HandlingCode)3;
	expect_bad(&v, "handling 3", "grading.handling_code must be");

	env_init(&v, NWD__V1__KIND__INTELLIGENCE_REPORT);
	v.grading.handling_code = NWD__V1__GRADING__HANDLING_CODE__HANDLING_C;
	expect_bad(&v, "handling C, conditions NULL",
	    "handling code C needs grading.handling_conditions");
	v.grading.handling_conditions = "";
	expect_bad(&v, "handling C, conditions empty",
	    "handling code C needs grading.handling_conditions");
}

static void
test_legacy(void **state)
{
	static const struct {
		const char	*se;
		uint32_t	 ie, hc;
		const char	*why;
	} t[] = {
		{ "B", 0, 1, "intelligence evaluation and handling code must "
		  "be 1 to 5" },
		{ "B", 6, 1, "intelligence evaluation and handling code must "
		  "be 1 to 5" },
		{ "B", 2, 0, "intelligence evaluation and handling code must "
		  "be 1 to 5" },
		{ "B", 2, 6, "intelligence evaluation and handling code must "
		  "be 1 to 5" },
		{ "F", 2, 1, "legacy 5x5x5 source evaluation must be one of "
		  "A to E" },
		{ "", 2, 1, "legacy 5x5x5 source evaluation must be one of "
		  "A to E" },
		{ "AB", 2, 1, "legacy 5x5x5 source evaluation must be one of "
		  "A to E" },
		{ "a", 2, 1, "legacy 5x5x5 source evaluation must be one of "
		  "A to E" },
	};
	struct env	v;
	size_t		i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		env_init(&v, NWD__V1__KIND__INTELLIGENCE_REPORT);
		v.intel.grading = NULL;
		v.intel.legacy = &v.legacy;
		v.legacy.source_evaluation = (char *)t[i].se;
		v.legacy.intelligence_evaluation = t[i].ie;
		v.legacy.handling_code = t[i].hc;
		expect_bad(&v, t[i].se, t[i].why);
	}
	/* Bad legacy codes are refused even beside a good grading. */
	env_init(&v, NWD__V1__KIND__INTELLIGENCE_REPORT);
	v.intel.legacy = &v.legacy;
	v.legacy.handling_code = 9;
	expect_bad(&v, "grading and bad legacy", "legacy 5x5x5");
}

static void
test_allocation(void **state)
{
	struct env v;

	env_init(&v, NWD__V1__KIND__ALLOCATION);
	v.alloc.team = "";
	v.alloc.worker = "";
	expect_bad(&v, "no team or worker",
	    "allocation names neither a team nor a worker");

	env_init(&v, NWD__V1__KIND__ALLOCATION);
	v.alloc.from_unix_ms = 1700000000001;
	v.alloc.until_unix_ms = 1700000000000;
	expect_bad(&v, "ends before it starts",
	    "allocation ends before it starts");

	/* The team and worker go into share_with: names, bounded. */
	{
		static char long_team[ENVELOPE_MAX_NAME + 2];

		memset(long_team, 't', ENVELOPE_MAX_NAME + 1);
		env_init(&v, NWD__V1__KIND__ALLOCATION);
		v.alloc.team = long_team;
		expect_bad(&v, "team too long", "allocation team and worker "
		    "are names");
		long_team[ENVELOPE_MAX_NAME] = '\0';
		env_init(&v, NWD__V1__KIND__ALLOCATION);
		v.alloc.team = long_team;
		expect_ok(&v, "team of the longest name");
		env_init(&v, NWD__V1__KIND__ALLOCATION);
		v.alloc.worker = "sw ben";
		expect_bad(&v, "worker with a space", "allocation team and "
		    "worker are names");
		env_init(&v, NWD__V1__KIND__ALLOCATION);
		v.alloc.team = "hub:norwich,sw:north";
		expect_bad(&v, "two teams", "allocation team and worker are "
		    "names");
	}
}

/*
 * NHS numbers: ten digits, the last the modulus-11 check digit of the
 * first nine (weights 10 to 2; 11 - sum mod 11; 11 is 0; 10 is no NHS
 * number).  The wire carries the digits alone; "nwd push" accepts the
 * printed 3-3-4 form and strips its spaces (envelope_nhs_number_digits).
 */
static void
test_nhs_number(void **state)
{
	static const char *const good[] = { "9434765919", "4010232137",
	    "0000000000", "1000000001", "9999999999" };
	static const struct {
		const char	*nhs, *why;
	} bad[] = {
		{ "9434765918", "header.subject.nhs_number 9434765918: check "
		  "digit should be 9" },
		{ "4010232130", "header.subject.nhs_number 4010232130: check "
		  "digit should be 7" },
		{ "1234567890", "header.subject.nhs_number 1234567890: its "
		  "first nine digits give check digit 10, which no NHS number "
		  "has" },
		{ "943 476 5919", "header.subject.nhs_number must be ten "
		  "digits, without spaces" },
		{ "943476591", "header.subject.nhs_number must be ten digits" },
		{ "94347659190", "header.subject.nhs_number must be ten "
		  "digits" },
		{ "943476591X", "header.subject.nhs_number must be ten "
		  "digits" },
		{ "-943476591", "header.subject.nhs_number must be ten "
		  "digits" },
		{ "\xd9\xa9" "434765919", "header.subject.nhs_number must be ten "
		  "digits" },
	};
	struct env	v;
	char		digits[11], err[128];
	size_t		i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		env_init(&v, NWD__V1__KIND__RISK_ALERT);
		v.subj.nhs_number = (char *)good[i];
		expect_ok(&v, good[i]);
		assert_int_equal(envelope_nhs_number_check(good[i], err,
		    sizeof(err)), 0);
	}
	/* Not given at all is fine. */
	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.subj.nhs_number = "";
	expect_ok(&v, "no NHS number");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		env_init(&v, NWD__V1__KIND__RISK_ALERT);
		v.subj.nhs_number = (char *)bad[i].nhs;
		expect_bad(&v, bad[i].nhs, bad[i].why);
	}
	/* The exact sentence, and never the input when it is not digits. */
	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.subj.nhs_number = "9434765918";
	assert_int_equal(validate(&v), -1);
	assert_string_equal(v.err, "header.subject.nhs_number 9434765918: "
	    "check digit should be 9");
	v.subj.nhs_number = "94347\x1b[2J5919";
	assert_int_equal(validate(&v), -1);
	assert_null(strchr(v.err, '\x1b'));
	assert_int_equal(envelope_nhs_number_check("9434765918", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "nhs_number 9434765918: check digit should "
	    "be 9");

	/* The printed form, 3-3-4 with single spaces, or digits alone. */
	assert_int_equal(envelope_nhs_number_digits("943 476 5919", digits),
	    0);
	assert_string_equal(digits, "9434765919");
	assert_int_equal(envelope_nhs_number_digits("9434765919", digits), 0);
	assert_string_equal(digits, "9434765919");
	assert_int_equal(envelope_nhs_number_digits("9434 765 919", digits),
	    -1);
	assert_int_equal(envelope_nhs_number_digits("943  476 5919", digits),
	    -1);
	assert_int_equal(envelope_nhs_number_digits(" 943 476 5919", digits),
	    -1);
	assert_int_equal(envelope_nhs_number_digits("943-476-5919", digits),
	    -1);
	assert_int_equal(envelope_nhs_number_digits("943 476 591", digits),
	    -1);
	assert_int_equal(envelope_nhs_number_digits("", digits), -1);
	/* The digits of a bad number come out; the check is separate. */
	assert_int_equal(envelope_nhs_number_digits("943 476 5918", digits),
	    0);
	assert_string_equal(digits, "9434765918");
}

/* ------------------------------------------------------------------------
 * The kinds and fields of the statutory clocks and of consent
 */

/* header.references: any kind may answer a message, by its id. */
static void
test_references(void **state)
{
	struct env v;

	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.h.references = "6f1c9d3e-1111-4a2b-8c3d-0123456789ab";
	expect_ok(&v, "risk alert referencing a message");
	v.h.references = "6F1C9D3E-1111-4A2B-8C3D-0123456789AB";
	expect_ok(&v, "upper-case reference");
	v.h.references = "";
	expect_ok(&v, "no reference");
	v.h.references = "missing-episode-1";
	expect_msg(&v, "not a uuid", "header.references must be a message id "
	    "(UUID)");
	v.h.references = "6f1c9d3e-1111-4a2b-8c3d-0123456789ab ";
	expect_msg(&v, "trailing space", "header.references must be a message "
	    "id (UUID)");
}

static void
test_return_interview(void **state)
{
	struct env v;

	env_init(&v, NWD__V1__KIND__RETURN_INTERVIEW);
	expect_ok(&v, "done");
	v.ri.status = NWD__V1__RETURN_INTERVIEW__STATUS__OFFERED;
	v.ri.done_unix_ms = 0;
	v.ri.offered_unix_ms = 1700000100000;
	expect_ok(&v, "offered");
	v.ri.status = NWD__V1__RETURN_INTERVIEW__STATUS__DECLINED;
	v.ri.declined_reason = "does not want to talk to anyone from the hub";
	expect_ok(&v, "declined");
	/* The free text is free: who held it need not be a principal. */
	env_init(&v, NWD__V1__KIND__RETURN_INTERVIEW);
	v.ri.conducted_by = "";
	v.ri.independent = 0;
	v.ri.summary = "";
	expect_ok(&v, "done, nothing else said");

	env_init(&v, NWD__V1__KIND__RETURN_INTERVIEW);
	v.ri.status = NWD__V1__RETURN_INTERVIEW__STATUS__STATUS_UNSPECIFIED;
	expect_msg(&v, "status unset", "return_interview.status is missing: "
	    "OFFERED, DONE or DECLINED");
	v.ri.status = (Nwd__V1__ReturnInterview__Status)4;
	expect_msg(&v, "status 4", "return_interview.status 4 is not known");
	env_init(&v, NWD__V1__KIND__RETURN_INTERVIEW);
	v.h.references = "";
	expect_msg(&v, "no reference", "return_interview needs "
	    "header.references: the id of the missing_episode it answers");
	v.h.references = "episode-1";
	expect_msg(&v, "bad reference", "header.references must be a message "
	    "id (UUID)");
	env_init(&v, NWD__V1__KIND__RETURN_INTERVIEW);
	v.ri.done_unix_ms = 0;
	expect_msg(&v, "done without a time", "return_interview with status "
	    "DONE needs done_unix_ms");
	v.ri.done_unix_ms = -1;
	expect_msg(&v, "done before 1970", "return_interview with status "
	    "DONE needs done_unix_ms");
	env_init(&v, NWD__V1__KIND__RETURN_INTERVIEW);
	v.ri.status = NWD__V1__RETURN_INTERVIEW__STATUS__OFFERED;
	expect_msg(&v, "offered without a time", "return_interview with "
	    "status OFFERED needs offered_unix_ms");
	env_init(&v, NWD__V1__KIND__RETURN_INTERVIEW);
	v.ri.status = NWD__V1__RETURN_INTERVIEW__STATUS__DECLINED;
	expect_msg(&v, "declined without a reason", "return_interview with "
	    "status DECLINED needs declined_reason");
}

static void
test_escalation(void **state)
{
	struct env v;

	env_init(&v, NWD__V1__KIND__ESCALATION);
	expect_ok(&v, "deadline breached");
	v.esc.reason = NWD__V1__ESCALATION__REASON__NOT_ACKNOWLEDGED;
	v.esc.about_kind = NWD__V1__KIND__RISK_ALERT;
	v.esc.count = 3;
	v.acked[0] = "a hub_keyworker";
	v.esc.acknowledged = v.acked;
	v.esc.n_acknowledged = 1;
	expect_ok(&v, "not acknowledged, second repeat");
	v.esc.n_reached = 0;
	v.esc.n_acknowledged = 0;
	v.esc.due_unix_ms = v.esc.since_unix_ms;
	expect_ok(&v, "nobody reached, due as it started");

	env_init(&v, NWD__V1__KIND__ESCALATION);
	v.esc.about_message_id = "";
	expect_msg(&v, "no message", "escalation.about_message_id must be a "
	    "message id (UUID)");
	env_init(&v, NWD__V1__KIND__ESCALATION);
	v.esc.about_kind = NWD__V1__KIND__KIND_UNSPECIFIED;
	expect_msg(&v, "no kind", "escalation.about_kind 0 is not a known "
	    "kind");
	v.esc.about_kind = (Nwd__V1__Kind)99;
	expect_msg(&v, "kind 99", "escalation.about_kind 99 is not a known "
	    "kind");
	env_init(&v, NWD__V1__KIND__ESCALATION);
	v.esc.rule = "";
	expect_msg(&v, "no rule", "escalation.rule must name the deadline or "
	    "acknowledgement rule");
	v.esc.rule = "return interview";
	expect_msg(&v, "rule with a space", "escalation.rule must name the "
	    "deadline or acknowledgement rule");
	env_init(&v, NWD__V1__KIND__ESCALATION);
	v.esc.reason = NWD__V1__ESCALATION__REASON__REASON_UNSPECIFIED;
	expect_msg(&v, "no reason", "escalation.reason is missing: "
	    "DEADLINE_BREACHED or NOT_ACKNOWLEDGED");
	v.esc.reason = (Nwd__V1__Escalation__Reason)3;
	expect_msg(&v, "reason 3", "escalation.reason 3 is not known");
	env_init(&v, NWD__V1__KIND__ESCALATION);
	v.esc.due_unix_ms = 0;
	expect_msg(&v, "no due time", "escalation.due_unix_ms is missing");
	env_init(&v, NWD__V1__KIND__ESCALATION);
	v.esc.since_unix_ms = 0;
	expect_msg(&v, "no start", "escalation.since_unix_ms is missing");
	env_init(&v, NWD__V1__KIND__ESCALATION);
	v.esc.due_unix_ms = v.esc.since_unix_ms - 1;
	expect_msg(&v, "due before it started", "escalation.due_unix_ms is "
	    "before since_unix_ms");
	env_init(&v, NWD__V1__KIND__ESCALATION);
	v.esc.count = 0;
	expect_msg(&v, "count 0", "escalation.count must be 1 or more (1 the "
	    "first time)");
	env_init(&v, NWD__V1__KIND__ESCALATION);
	v.esc.summary = "";
	expect_msg(&v, "no summary", "escalation.summary is missing");
	env_init(&v, NWD__V1__KIND__ESCALATION);
	v.reached[1] = "hub keyworker";
	expect_msg(&v, "reached with a space", "escalation.reached[1] is not "
	    "a principal id or \"a ROLE\"");
	v.reached[1] = "a ";
	expect_msg(&v, "a nothing", "escalation.reached[1] is not a "
	    "principal id or \"a ROLE\"");
	v.reached[1] = "an auditor";
	expect_msg(&v, "an", "escalation.reached[1] is not a principal id or "
	    "\"a ROLE\"");
	v.reached[1] = "";
	expect_msg(&v, "empty", "escalation.reached[1] is not a principal id "
	    "or \"a ROLE\"");
	env_init(&v, NWD__V1__KIND__ESCALATION);
	v.acked[0] = "sw-ben,camhs-cara";
	v.esc.acknowledged = v.acked;
	v.esc.n_acknowledged = 1;
	expect_msg(&v, "acknowledged with a comma", "escalation."
	    "acknowledged[0] is not a principal id or \"a ROLE\"");
}

/*
 * Operation Encompass: the police reference, the school, whether the
 * child was present in three states, and "do not contact the parents"
 * with what to do instead.  The old child_present flag cannot say "not
 * known": a publish sets child_present_state, and the flag, if set too,
 * must agree with it.
 */
static void
test_domestic_abuse(void **state)
{
	struct env	v;
	int		st;

	for (st = 1; st <= 3; st++) {
		env_init(&v, NWD__V1__KIND__DOMESTIC_ABUSE_NOTIFICATION);
		v.dan.child_present_state =
		    (Nwd__V1__DomesticAbuseNotification__ChildPresence)st;
		expect_ok(&v, "each presence");
	}
	env_init(&v, NWD__V1__KIND__DOMESTIC_ABUSE_NOTIFICATION);
	v.dan.child_present = 1;
	expect_ok(&v, "old flag agreeing");
	v.dan.do_not_contact_parents = 1;
	v.dan.guidance = "speak to the child alone; the perpetrator is at home";
	expect_ok(&v, "do not contact parents, with guidance");
	v.dan.guidance = "";
	v.dan.do_not_contact_parents = 0;
	expect_ok(&v, "parents may be contacted, no guidance");

	env_init(&v, NWD__V1__KIND__DOMESTIC_ABUSE_NOTIFICATION);
	v.dan.incident_unix_ms = 0;
	expect_msg(&v, "no incident time", "domestic_abuse_notification needs "
	    "incident_unix_ms: when the incident happened");
	env_init(&v, NWD__V1__KIND__DOMESTIC_ABUSE_NOTIFICATION);
	v.dan.police_reference = "";
	expect_msg(&v, "no reference", "domestic_abuse_notification needs "
	    "police_reference: the police incident reference");
	env_init(&v, NWD__V1__KIND__DOMESTIC_ABUSE_NOTIFICATION);
	v.dan.school = "";
	expect_msg(&v, "no school", "domestic_abuse_notification needs "
	    "school: the school's name or team");
	env_init(&v, NWD__V1__KIND__DOMESTIC_ABUSE_NOTIFICATION);
	v.dan.child_present_state = 0;
	expect_msg(&v, "presence unset", "domestic_abuse_notification."
	    "child_present_state is missing: PRESENT, NOT_PRESENT or "
	    "NOT_KNOWN");
	/* An old client's message: the flag alone. */
	v.dan.child_present = 1;
	expect_msg(&v, "the old flag alone", "domestic_abuse_notification."
	    "child_present is replaced by child_present_state: set PRESENT, "
	    "NOT_PRESENT or NOT_KNOWN");
	v.dan.child_present_state =
	    NWD__V1__DOMESTIC_ABUSE_NOTIFICATION__CHILD_PRESENCE__NOT_KNOWN;
	expect_msg(&v, "contradiction", "domestic_abuse_notification."
	    "child_present is true but child_present_state is NOT_KNOWN; set "
	    "child_present_state alone");
	v.dan.child_present_state =
	    NWD__V1__DOMESTIC_ABUSE_NOTIFICATION__CHILD_PRESENCE__NOT_PRESENT;
	expect_msg(&v, "contradiction", "domestic_abuse_notification."
	    "child_present is true but child_present_state is NOT_PRESENT; "
	    "set child_present_state alone");
	v.dan.child_present = 0;
	v.dan.child_present_state =
	    (Nwd__V1__DomesticAbuseNotification__ChildPresence)4;
	expect_msg(&v, "presence 4", "domestic_abuse_notification."
	    "child_present_state 4 is not known");
	env_init(&v, NWD__V1__KIND__DOMESTIC_ABUSE_NOTIFICATION);
	v.dan.do_not_contact_parents = 1;
	expect_msg(&v, "no guidance", "domestic_abuse_notification."
	    "do_not_contact_parents needs guidance: what the school should do "
	    "instead");
}

/*
 * Consent means what it says: an explicit status (no default that reads
 * as consent), a scope, and times in order.
 */
static void
test_consent(void **state)
{
	struct env v;

	env_init(&v, NWD__V1__KIND__CONSENT_RECORD);
	expect_ok(&v, "given, one purpose");
	v.consent.n_purposes = 0;
	v.ckinds[0] = NWD__V1__KIND__CAMHS_UPDATE;
	v.consent.kinds = v.ckinds;
	v.consent.n_kinds = 1;
	expect_ok(&v, "given, one kind");
	v.agencies[0] = "camhs";
	v.agencies[1] = "hub";
	v.consent.agencies = v.agencies;
	v.consent.n_agencies = 2;
	v.consent.competence =
	    NWD__V1__CONSENT_RECORD__COMPETENCE__ASSESSED_COMPETENT;
	v.consent.recorded_unix_ms = 1700000000000;
	v.consent.expires_unix_ms = 1700000000001;
	expect_ok(&v, "given, scoped, assessed, expiring");
	v.consent.recorded_unix_ms = 0;
	expect_ok(&v, "expiry without a recorded time");
	env_init(&v, NWD__V1__KIND__CONSENT_RECORD);
	v.consent.status = NWD__V1__CONSENT_RECORD__STATUS__REFUSED;
	v.consent.n_purposes = 0;
	expect_ok(&v, "refused, no scope: refuses everything");
	v.consent.status = NWD__V1__CONSENT_RECORD__STATUS__WITHDRAWN;
	expect_ok(&v, "withdrawn");
	v.consent.withdraws = "6f1c9d3e-1111-4a2b-8c3d-0123456789ab";
	expect_ok(&v, "withdrawn, naming the record");

	env_init(&v, NWD__V1__KIND__CONSENT_RECORD);
	v.consent.status = NWD__V1__CONSENT_RECORD__STATUS__STATUS_UNSPECIFIED;
	expect_msg(&v, "status unset", "consent_record.status is missing: "
	    "GIVEN, REFUSED or WITHDRAWN (no status is read as consent)");
	v.consent.status = (Nwd__V1__ConsentRecord__Status)4;
	expect_msg(&v, "status 4", "consent_record.status 4 is not known");
	env_init(&v, NWD__V1__KIND__CONSENT_RECORD);
	v.consent.n_purposes = 0;
	expect_msg(&v, "given without scope", "consent_record with status "
	    "GIVEN needs a scope: at least one of purposes and kinds");
	env_init(&v, NWD__V1__KIND__CONSENT_RECORD);
	v.purposes[1] = "";
	v.consent.n_purposes = 2;
	expect_msg(&v, "empty purpose", "consent_record.purposes[1] is empty");
	env_init(&v, NWD__V1__KIND__CONSENT_RECORD);
	v.ckinds[0] = NWD__V1__KIND__CAMHS_UPDATE;
	v.ckinds[1] = NWD__V1__KIND__KIND_UNSPECIFIED;
	v.consent.kinds = v.ckinds;
	v.consent.n_kinds = 2;
	expect_msg(&v, "kind 0", "consent_record.kinds[1] 0 is not a known "
	    "kind");
	v.ckinds[1] = (Nwd__V1__Kind)42;
	expect_msg(&v, "kind 42", "consent_record.kinds[1] 42 is not a known "
	    "kind");
	env_init(&v, NWD__V1__KIND__CONSENT_RECORD);
	v.agencies[0] = "social care";
	v.consent.agencies = v.agencies;
	v.consent.n_agencies = 1;
	expect_msg(&v, "agency with a space", "consent_record.agencies[0] is "
	    "not an agency name");
	env_init(&v, NWD__V1__KIND__CONSENT_RECORD);
	v.consent.competence = (Nwd__V1__ConsentRecord__Competence)4;
	expect_msg(&v, "competence 4", "consent_record.competence 4 is not "
	    "known");
	env_init(&v, NWD__V1__KIND__CONSENT_RECORD);
	v.consent.recorded_unix_ms = 1700000000000;
	v.consent.expires_unix_ms = 1700000000000;
	expect_msg(&v, "expires as recorded", "consent_record.expires_unix_ms "
	    "must be after recorded_unix_ms");
	v.consent.expires_unix_ms = 1600000000000;
	expect_msg(&v, "expires before recorded", "consent_record."
	    "expires_unix_ms must be after recorded_unix_ms");
	env_init(&v, NWD__V1__KIND__CONSENT_RECORD);
	v.consent.status = NWD__V1__CONSENT_RECORD__STATUS__WITHDRAWN;
	v.consent.withdraws = "the one from March";
	expect_msg(&v, "withdraws not an id", "consent_record.withdraws must "
	    "be a message id (UUID)");
	v.consent.status = NWD__V1__CONSENT_RECORD__STATUS__GIVEN;
	v.consent.withdraws = "6f1c9d3e-1111-4a2b-8c3d-0123456789ab";
	expect_msg(&v, "withdraws with GIVEN", "consent_record.withdraws goes "
	    "with status WITHDRAWN");
}

/* Strategy discussions reach their invitees: names, at least one. */
static void
test_strategy_invitees(void **state)
{
	struct env	v;
	size_t		i;

	env_init(&v, NWD__V1__KIND__STRATEGY_DISCUSSION_REQUEST);
	for (i = 0; i < ENVELOPE_MAX_SHARE_WITH; i++)
		v.invitees[i] = "sw:north";
	v.sdr.n_invitees = ENVELOPE_MAX_SHARE_WITH;
	expect_ok(&v, "64 invitees");
	v.sdr.n_invitees = ENVELOPE_MAX_SHARE_WITH + 1;
	v.invitees[ENVELOPE_MAX_SHARE_WITH] = "sw:north";
	expect_msg(&v, "65 invitees", "strategy_discussion_request.invitees "
	    "has 65 entries; at most 64");

	env_init(&v, NWD__V1__KIND__STRATEGY_DISCUSSION_REQUEST);
	v.sdr.n_invitees = 0;
	expect_msg(&v, "nobody invited", "strategy_discussion_request needs "
	    "at least one invitee (a principal or team name)");
	env_init(&v, NWD__V1__KIND__STRATEGY_DISCUSSION_REQUEST);
	v.invitees[1] = "DS Smith";
	expect_msg(&v, "a person's name", "strategy_discussion_request."
	    "invitees[1] is not a principal or team name");
	v.invitees[1] = "";
	expect_msg(&v, "empty", "strategy_discussion_request.invitees[1] is "
	    "not a principal or team name");
	v.invitees[1] = "sw:north,police:plt";
	expect_msg(&v, "two in one", "strategy_discussion_request."
	    "invitees[1] is not a principal or team name");
}

/*
 * A decision not to share is recorded as carefully as a share: what, with
 * whom, why, in the decider's words, and the "more detrimental to the
 * child" flag only with its reason.
 */
static void
test_sharing_decision(void **state)
{
	struct env	v;
	size_t		i;

	env_init(&v, NWD__V1__KIND__SHARING_DECISION);
	expect_ok(&v, "S23");
	/* Another reason alone, no flag; no dates at all. */
	v.sdr_reasons[0] = NWD__V1__SHARING_DECISION__REASON__NOT_NECESSARY;
	v.sd.more_detrimental_to_child = 0;
	v.sd.decided_unix_ms = 0;
	v.sd.review_by_unix_ms = 0;
	expect_ok(&v, "not necessary");
	/* A review date with no decision time: the publish time, later. */
	v.sd.review_by_unix_ms = 1702592000000;
	expect_ok(&v, "review date, decided when published");
	/* Several reasons, several names: roles, agencies, teams, ids. */
	env_init(&v, NWD__V1__KIND__SHARING_DECISION);
	v.sdr_reasons[1] = NWD__V1__SHARING_DECISION__REASON__RISK_TO_OTHERS;
	v.sdr_reasons[2] = NWD__V1__SHARING_DECISION__REASON__OTHER;
	v.sd.n_reasons = 3;
	v.nsw[1] = "police_liaison";
	v.nsw[2] = "police:plt";
	v.nsw[3] = "plo-ana";
	v.sd.n_not_shared_with = 4;
	expect_ok(&v, "three reasons, four names");

	env_init(&v, NWD__V1__KIND__SHARING_DECISION);
	v.sd.information = "";
	expect_msg(&v, "no information", "sharing_decision.information is "
	    "missing: what was not shared");

	env_init(&v, NWD__V1__KIND__SHARING_DECISION);
	v.sd.n_not_shared_with = 0;
	expect_msg(&v, "with nobody", "sharing_decision needs "
	    "not_shared_with: at least one role, agency, team or principal "
	    "it was not shared with");
	for (i = 0; i < ENVELOPE_MAX_SHARE_WITH + 1; i++)
		v.nsw[i] = "police";
	v.sd.n_not_shared_with = ENVELOPE_MAX_SHARE_WITH;
	expect_ok(&v, "64 names");
	v.sd.n_not_shared_with = ENVELOPE_MAX_SHARE_WITH + 1;
	expect_msg(&v, "65 names", "sharing_decision.not_shared_with has 65 "
	    "entries; at most 64");
	env_init(&v, NWD__V1__KIND__SHARING_DECISION);
	v.nsw[1] = "the police";
	v.sd.n_not_shared_with = 2;
	expect_msg(&v, "a space", "sharing_decision.not_shared_with[1] is not "
	    "a role, agency, team or principal name");
	v.nsw[1] = "";
	expect_msg(&v, "empty", "sharing_decision.not_shared_with[1] is not a "
	    "role, agency, team or principal name");
	v.nsw[1] = "police,camhs";
	expect_msg(&v, "two in one", "sharing_decision.not_shared_with[1] is "
	    "not a role, agency, team or principal name");
	v.nsw[1] = "police\n";
	expect_msg(&v, "a control", "sharing_decision.not_shared_with[1] is "
	    "not a role, agency, team or principal name");

	env_init(&v, NWD__V1__KIND__SHARING_DECISION);
	v.sd.n_reasons = 0;
	v.sd.more_detrimental_to_child = 0;
	expect_msg(&v, "no reason", "sharing_decision needs at least one "
	    "reason (MORE_DETRIMENTAL, NOT_NECESSARY, NOT_PROPORTIONATE, "
	    "NO_LAWFUL_BASIS, CONSENT_REFUSED, RISK_TO_OTHERS, "
	    "INFORMATION_INACCURATE or OTHER)");
	env_init(&v, NWD__V1__KIND__SHARING_DECISION);
	v.sdr_reasons[1] =
	    NWD__V1__SHARING_DECISION__REASON__REASON_UNSPECIFIED;
	v.sd.n_reasons = 2;
	expect_msg(&v, "unspecified", "sharing_decision.reasons[1] is "
	    "REASON_UNSPECIFIED; give the reason");
	v.sdr_reasons[1] = (Nwd__V1__SharingDecision__Reason)99;
	expect_msg(&v, "unknown", "sharing_decision.reasons[1] 99 is not a "
	    "known reason");

	env_init(&v, NWD__V1__KIND__SHARING_DECISION);
	v.sd.explanation = "";
	expect_msg(&v, "no explanation", "sharing_decision.explanation is "
	    "missing: the reasons in the decider's own words");

	env_init(&v, NWD__V1__KIND__SHARING_DECISION);
	v.sdr_reasons[0] = NWD__V1__SHARING_DECISION__REASON__NOT_NECESSARY;
	expect_msg(&v, "flag without the reason", "sharing_decision."
	    "more_detrimental_to_child is set but reasons do not include "
	    "MORE_DETRIMENTAL; set both or neither");
	env_init(&v, NWD__V1__KIND__SHARING_DECISION);
	v.sd.more_detrimental_to_child = 0;
	expect_msg(&v, "reason without the flag", "sharing_decision.reasons "
	    "include MORE_DETRIMENTAL but more_detrimental_to_child is not "
	    "set; set both or neither");

	env_init(&v, NWD__V1__KIND__SHARING_DECISION);
	v.sd.review_by_unix_ms = v.sd.decided_unix_ms;
	expect_msg(&v, "review when decided", "sharing_decision."
	    "review_by_unix_ms must be after decided_unix_ms");
	v.sd.review_by_unix_ms = v.sd.decided_unix_ms - 1;
	expect_msg(&v, "review before", "sharing_decision.review_by_unix_ms "
	    "must be after decided_unix_ms");
	v.sd.review_by_unix_ms = 0;
	v.sd.decided_unix_ms = -1;
	expect_msg(&v, "negative decided", "sharing_decision.decided_unix_ms "
	    "is negative");
	v.sd.decided_unix_ms = 0;
	v.sd.review_by_unix_ms = -5;
	expect_msg(&v, "negative review", "sharing_decision."
	    "review_by_unix_ms is negative");

	/* The same rules hold for one read back from the store. */
	env_init(&v, NWD__V1__KIND__SHARING_DECISION);
	v.sd.explanation = "";
	assert_int_equal(envelope_validate_stored(&v.e, v.err,
	    sizeof(v.err)), -1);
	assert_string_equal(v.err, "sharing_decision.explanation is missing: "
	    "the reasons in the decider's own words");
}

/*
 * A message read back from the store was valid under the rules of its
 * day: the rules added since (NHS check digits, the Operation Encompass
 * fields, a consent status, invitees) do not refuse it at replay, but
 * the retired ConsentRecord.given (field 2), which read as consent by
 * default, is refused on both paths.
 */
static void
test_validate_stored(void **state)
{
	struct env			 v;
	ProtobufCMessageUnknownField	 given;
	uint8_t				 one = 1;

	env_init(&v, NWD__V1__KIND__DOMESTIC_ABUSE_NOTIFICATION);
	v.dan.police_reference = "";
	v.dan.school = "";
	v.dan.incident_unix_ms = 0;
	v.dan.child_present_state = 0;
	v.dan.child_present = 1;
	v.subj.nhs_number = "9434765918";
	assert_int_equal(validate(&v), -1);
	assert_int_equal(envelope_validate_stored(&v.e, v.err,
	    sizeof(v.err)), 0);

	env_init(&v, NWD__V1__KIND__CONSENT_RECORD);
	v.consent.status = 0;
	v.consent.n_purposes = 0;
	assert_int_equal(validate(&v), -1);
	assert_int_equal(envelope_validate_stored(&v.e, v.err,
	    sizeof(v.err)), 0);
	memset(&given, 0, sizeof(given));
	given.tag = 2;
	given.wire_type = PROTOBUF_C_WIRE_TYPE_VARINT;
	given.len = 1;
	given.data = &one;
	v.consent.base.n_unknown_fields = 1;
	v.consent.base.unknown_fields = &given;
	expect_msg(&v, "given = true", "envelope carries a field that is not "
	    "in the nwd.v1 schema (consent_record.field 2)");
	assert_int_equal(envelope_validate_stored(&v.e, v.err,
	    sizeof(v.err)), -1);
	assert_string_equal(v.err, "envelope carries a field that is not in "
	    "the nwd.v1 schema (consent_record.field 2)");

	env_init(&v, NWD__V1__KIND__STRATEGY_DISCUSSION_REQUEST);
	v.sdr.n_invitees = 0;
	assert_int_equal(envelope_validate_stored(&v.e, v.err,
	    sizeof(v.err)), 0);

	/* What no message ever was is refused all the same. */
	env_init(&v, NWD__V1__KIND__RETURN_INTERVIEW);
	v.h.references = "";
	assert_int_equal(envelope_validate_stored(&v.e, v.err,
	    sizeof(v.err)), -1);
	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.h.marking = NWD__V1__MARKING__SECRET;
	assert_int_equal(envelope_validate_stored(&v.e, v.err,
	    sizeof(v.err)), -1);
}

/* ------------------------------------------------------------------------
 * UTF-8: every string of the header and the body, and identifiers
 */

/* Text that is not ASCII is welcome wherever a string is. */
static void
test_utf8_text_accepted(void **state)
{
	struct env		 v;
	Nwd__V1__ThirdParty	 tp = NWD__V1__THIRD_PARTY__INIT;
	Nwd__V1__ThirdParty	*tps[1] = { &tp };

	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.subj.local_id = "YP-Zo\xc3\xab-\xf0\x9f\x91\xb6";
	v.h.justification = "s.47: \xe2\x80\x9c" "at risk\xe2\x80\x9d";
	v.risk.summary = "caf\xc3\xa9 at \xe2\x82\xac" "5, U+10FFFF "
	    "\xf4\x8f\xbf\xbf";
	tp.name = "Ren\xc3\xa9" "e";
	v.risk.associates = tps;
	v.risk.n_associates = 1;
	v.share[0] = "\xc3\xa9quipe:nord";
	v.h.share_with = v.share;
	v.h.n_share_with = 1;
	expect_ok(&v, "UTF-8 everywhere");
	assert_int_equal(envelope_subject_ok("YP-Zo\xc3\xab"), 1);
}

/* A header string, wherever it is, broker-owned ones included. */
static void
test_utf8_header_strings(void **state)
{
	struct env v;

	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.subj.local_id = "YP-\xff";
	expect_bad(&v, "subject",
	    "header.subject.local_id is not valid UTF-8 (at byte 3)");
	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.subj.nhs_number = "943\xc0\xaf";
	expect_bad(&v, "nhs number (overlong)",
	    "header.subject.nhs_number is not valid UTF-8 (at byte 3)");
	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.h.justification = "\xed\xa0\x80";
	expect_bad(&v, "justification (surrogate)",
	    "header.justification is not valid UTF-8 (at byte 0)");
	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.h.sender = "plo-\xe2\x82";
	expect_bad(&v, "sender (cut)", "header.sender is not valid UTF-8");
	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.h.originating_agency = "\xf4\x90\x80\x80";
	expect_bad(&v, "agency (above U+10FFFF)",
	    "header.originating_agency is not valid UTF-8");
	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.h.message_id = "\x80";
	expect_bad(&v, "message id", "header.message_id is not valid UTF-8");
	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.share[0] = "sw:north";
	v.share[1] = "hub:\xfe";
	v.h.share_with = v.share;
	v.h.n_share_with = 2;
	expect_bad(&v, "share_with (repeated)",
	    "header.share_with[1] is not valid UTF-8 (at byte 4)");
	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.h.supersedes = "6f1c9d3e-1111-4a2b-8c3d-0123456789a\xc3";
	expect_bad(&v, "supersedes", "header.supersedes is not valid UTF-8");
	assert_int_equal(envelope_subject_ok("YP-\xff"), 0);
}

/* A body string: at the top, nested, in a repeated message, repeated. */
static void
test_utf8_body_strings(void **state)
{
	struct env			 v;
	Nwd__V1__ThirdParty		 tp[2] = { NWD__V1__THIRD_PARTY__INIT,
					    NWD__V1__THIRD_PARTY__INIT };
	Nwd__V1__ThirdParty		*tps[2] = { &tp[0], &tp[1] };
	Nwd__V1__SourceDetails		 sd = NWD__V1__SOURCE_DETAILS__INIT;
	Nwd__V1__Address		 addr = NWD__V1__ADDRESS__INIT;
	char				*purposes[2] = { "school", "gp\xc1\xbf" };

	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.risk.summary = "county \xc3\x28 lines";
	expect_bad(&v, "top", "body field summary is not valid UTF-8 (at byte "
	    "7)");

	env_init(&v, NWD__V1__KIND__INTELLIGENCE_REPORT);
	tp[0].name = "Zo\xc3\xab";
	tp[1].name = "Ren\xed\xbf\xbf";
	v.intel.third_parties = tps;
	v.intel.n_third_parties = 2;
	expect_bad(&v, "repeated message",
	    "body field third_parties[1].name is not valid UTF-8 (at byte 3)");

	env_init(&v, NWD__V1__KIND__INTELLIGENCE_REPORT);
	addr.postcode = "NR1 \xff";
	tp[0].name = "source";
	tp[0].address = &addr;
	sd.reference = "S-1";
	sd.source = &tp[0];
	v.intel.source_details = &sd;
	expect_bad(&v, "three deep",
	    "body field source_details.source.address.postcode is not valid "
	    "UTF-8 (at byte 4)");

	env_init(&v, NWD__V1__KIND__INTELLIGENCE_REPORT);
	v.grading.handling_code = NWD__V1__GRADING__HANDLING_CODE__HANDLING_C;
	v.grading.handling_conditions = "\xe0\x80\x80";
	expect_bad(&v, "grading", "body field grading.handling_conditions is "
	    "not valid UTF-8");

	env_init(&v, NWD__V1__KIND__CONSENT_RECORD);
	v.consent.purposes = purposes;
	v.consent.n_purposes = 2;
	expect_bad(&v, "repeated string",
	    "body field purposes[1] is not valid UTF-8 (at byte 2)");

	env_init(&v, NWD__V1__KIND__ALLOCATION);
	v.alloc.worker = "sw-\xff";
	expect_bad(&v, "allocation", "body field worker is not valid UTF-8");

	/* The refusal comes before the other checks: no second guess. */
	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.h.marking = NWD__V1__MARKING__SECRET;
	v.risk.details = "\xff";
	expect_bad(&v, "before the marking", "body field details is not valid "
	    "UTF-8");
}

/* Identifiers hold no control character, C1 ones included. */
static void
test_identifier_controls(void **state)
{
	struct env v;

	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.subj.local_id = "YP-\xc2\x85";	/* NEL */
	expect_bad(&v, "subject with NEL", "header.subject.local_id must be 1 "
	    "to 64 printable characters");
	v.subj.local_id = "YP-\x1b[0m";
	expect_bad(&v, "subject with ESC", "header.subject.local_id must be");
	assert_int_equal(envelope_subject_ok("YP-\xc2\x85"), 0);
	assert_int_equal(envelope_subject_ok("YP 1"), 0);
	assert_int_equal(envelope_subject_ok(""), 0);
	assert_int_equal(envelope_subject_ok(NULL), 0);

	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.share[0] = "sw:\xc2\x9bnorth";	/* CSI */
	v.h.share_with = v.share;
	v.h.n_share_with = 1;
	expect_bad(&v, "share_with with CSI",
	    "header.share_with[0] is not a principal or team name");

	env_init(&v, NWD__V1__KIND__ALLOCATION);
	v.alloc.team = "hub:\xc2\x80norwich";
	expect_bad(&v, "team with U+0080", "allocation team and worker are "
	    "names");

	/* Free text may hold them (a newline in a summary). */
	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.risk.summary = "line one\nline two\xc2\x85";
	expect_ok(&v, "controls in free text");
}

/* A refusal writes one sentence and never overruns a small buffer. */
static void
test_small_error_buffer(void **state)
{
	struct env	v;
	char		err[16];

	env_init(&v, NWD__V1__KIND__RISK_ALERT);
	v.e.header = NULL;
	memset(err, 'X', sizeof(err));
	assert_int_equal(envelope_validate(&v.e, err, 8), -1);
	assert_string_equal(err, "envelop");
	assert_int_equal(err[8], 'X');
}

/*
 * A field outside the schema would reach recipients unseen by the policy,
 * and protobuf-c packs some of them into bytes it then cannot decode: the
 * broker refuses them.  The file is the fuzzer's reproducer: a valid
 * RiskAlert envelope followed by field 0 with a two-byte tag.
 */
static void
test_unknown_fields_refused(void **state)
{
	static const char *files[] = {
	    NWD_TEST_DATA "/../fuzz/corpus/envelope/"
	    "regress-field0-valid-risk-alert.pb" };

	uint8_t			 buf[4096];
	char			 err[256];
	Nwd__V1__Envelope	*e;
	size_t			 n;
	FILE			*fp;

	fp = fopen(files[0], "rb");
	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	e = frame_decode_envelope(buf, n, 1 << 20, err, sizeof(err));
	assert_non_null(e);
	assert_int_equal(envelope_validate(e, err, sizeof(err)), -1);
	if (strstr(err, "not in the nwd.v1 schema (field 0)") == NULL)
		fail_msg("unexpected: %s", err);
	/* Without the stray field the same envelope is valid. */
	e->base.n_unknown_fields = 0;
	assert_int_equal(envelope_validate(e, err, sizeof(err)), 0);

	/* One deep in the body is found and named by its path. */
	assert_non_null(e->risk_alert);
	e->risk_alert->base.n_unknown_fields = 1;
	e->risk_alert->base.unknown_fields = e->base.unknown_fields;
	assert_int_equal(envelope_validate(e, err, sizeof(err)), -1);
	if (strstr(err, "(risk_alert.field 0)") == NULL)
		fail_msg("unexpected: %s", err);
	e->risk_alert->base.n_unknown_fields = 0;
	e->risk_alert->base.unknown_fields = NULL;
	e->base.n_unknown_fields = 1;
	frame_free_envelope(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_kind_unknown),
		cmocka_unit_test(test_kind_body),
		cmocka_unit_test(test_envelope_body),
		cmocka_unit_test(test_marking_names),
		cmocka_unit_test(test_marking_secret_refused),
		cmocka_unit_test(test_legal_basis_names),
		cmocka_unit_test(test_is_uuid),
		cmocka_unit_test(test_valid_each_kind),
		cmocka_unit_test(test_valid_edges),
		cmocka_unit_test(test_no_header),
		cmocka_unit_test(test_unknown_kind),
		cmocka_unit_test(test_subject),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_marking),
		cmocka_unit_test(test_priority_and_basis),
		cmocka_unit_test(test_share_with),
		cmocka_unit_test(test_supersedes),
		cmocka_unit_test(test_intelligence),
		cmocka_unit_test(test_legacy),
		cmocka_unit_test(test_allocation),
		cmocka_unit_test(test_nhs_number),
		cmocka_unit_test(test_references),
		cmocka_unit_test(test_return_interview),
		cmocka_unit_test(test_escalation),
		cmocka_unit_test(test_domestic_abuse),
		cmocka_unit_test(test_consent),
		cmocka_unit_test(test_strategy_invitees),
		cmocka_unit_test(test_sharing_decision),
		cmocka_unit_test(test_validate_stored),
		cmocka_unit_test(test_utf8_text_accepted),
		cmocka_unit_test(test_utf8_header_strings),
		cmocka_unit_test(test_utf8_body_strings),
		cmocka_unit_test(test_identifier_controls),
		cmocka_unit_test(test_small_error_buffer),
		cmocka_unit_test(test_unknown_fields_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
