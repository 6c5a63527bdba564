#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "envelope.h"
#include "utf8.h"

#define BODY_CASE_OFFSET 9

const char *
envelope_kind_name(Nwd__V1__Kind kind)
{
	const ProtobufCFieldDescriptor *fd;

	if (kind <= NWD__V1__KIND__KIND_UNSPECIFIED)
		return NULL;
	fd = protobuf_c_message_descriptor_get_field(
	    &nwd__v1__envelope__descriptor, kind + BODY_CASE_OFFSET);
	if (fd == NULL || fd->type != PROTOBUF_C_TYPE_MESSAGE)
		return NULL;
	return fd->name;
}

int
envelope_kind_broker_only(Nwd__V1__Kind kind)
{
	return kind == NWD__V1__KIND__ESCALATION ||
	    kind == NWD__V1__KIND__WITHDRAWAL_NOTICE ||
	    kind == NWD__V1__KIND__BREAK_GLASS_ALERT;
}

int
envelope_kind_from_name(const char *name, Nwd__V1__Kind *out)
{
	const ProtobufCFieldDescriptor *fd;
	const ProtobufCEnumValue *v;

	fd = protobuf_c_message_descriptor_get_field_by_name(
	    &nwd__v1__envelope__descriptor, name);
	if (fd == NULL || fd->id <= BODY_CASE_OFFSET ||
	    fd->type != PROTOBUF_C_TYPE_MESSAGE)
		return -1;
	v = protobuf_c_enum_descriptor_get_value(&nwd__v1__kind__descriptor,
	    (int)fd->id - BODY_CASE_OFFSET);
	if (v == NULL)
		return -1;
	*out = (Nwd__V1__Kind)v->value;
	return 0;
}

Nwd__V1__Envelope__BodyCase
envelope_kind_body_case(Nwd__V1__Kind kind)
{
	return (Nwd__V1__Envelope__BodyCase)(kind + BODY_CASE_OFFSET);
}

const ProtobufCMessageDescriptor *
envelope_kind_body_descriptor(Nwd__V1__Kind kind)
{
	const ProtobufCFieldDescriptor *fd;

	if (envelope_kind_name(kind) == NULL)
		return NULL;
	fd = protobuf_c_message_descriptor_get_field(
	    &nwd__v1__envelope__descriptor, kind + BODY_CASE_OFFSET);
	return fd->descriptor;
}

const ProtobufCMessage *
envelope_body(const Nwd__V1__Envelope *e)
{
	const ProtobufCFieldDescriptor *fd;

	if (e->body_case == NWD__V1__ENVELOPE__BODY__NOT_SET)
		return NULL;
	fd = protobuf_c_message_descriptor_get_field(
	    &nwd__v1__envelope__descriptor, e->body_case);
	if (fd == NULL)
		return NULL;
	return *(ProtobufCMessage *const *)((const char *)e + fd->offset);
}

const char *
envelope_marking_name(Nwd__V1__Marking m)
{
	const ProtobufCEnumValue *v;

	v = protobuf_c_enum_descriptor_get_value(&nwd__v1__marking__descriptor,
	    m);
	return v != NULL ? v->name : "MARKING_UNSPECIFIED";
}

int
envelope_marking_from_name(const char *name, Nwd__V1__Marking *out)
{
	char	 buf[32];
	size_t	 i;
	const ProtobufCEnumValue *v;

	for (i = 0; name[i] != '\0' && i < sizeof(buf) - 1; i++)
		buf[i] = name[i] == '-' ? '_' : toupper((unsigned char)name[i]);
	if (name[i] != '\0')
		return -1;
	buf[i] = '\0';
	v = protobuf_c_enum_descriptor_get_value_by_name(
	    &nwd__v1__marking__descriptor, buf);
	if (v == NULL || v->value == NWD__V1__MARKING__MARKING_UNSPECIFIED)
		return -1;
	*out = (Nwd__V1__Marking)v->value;
	return 0;
}

const char *
envelope_legal_basis_name(Nwd__V1__LegalBasis b)
{
	switch (b) {
	case NWD__V1__LEGAL_BASIS__CONSENT:
		return "consent";
	case NWD__V1__LEGAL_BASIS__SAFEGUARDING:
		return "safeguarding";
	case NWD__V1__LEGAL_BASIS__LEGAL_OBLIGATION:
		return "legal_obligation";
	case NWD__V1__LEGAL_BASIS__PUBLIC_TASK:
		return "public_task";
	case NWD__V1__LEGAL_BASIS__VITAL_INTERESTS:
		return "vital_interests";
	default:
		return "none";
	}
}

int
envelope_legal_basis_from_name(const char *name, Nwd__V1__LegalBasis *out)
{
	int b;

	for (b = NWD__V1__LEGAL_BASIS__CONSENT;
	    b <= NWD__V1__LEGAL_BASIS__VITAL_INTERESTS; b++) {
		if (strcasecmp(name, envelope_legal_basis_name(b)) == 0) {
			*out = (Nwd__V1__LegalBasis)b;
			return 0;
		}
	}
	return -1;
}

int
envelope_is_uuid(const char *s)
{
	size_t i;

	if (strlen(s) != ENVELOPE_UUID_LEN)
		return 0;
	for (i = 0; i < ENVELOPE_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

#define NHS_DIGITS	10

int
envelope_nhs_number_check(const char *s, char *err, size_t errlen)
{
	int	i, sum = 0, check;

	for (i = 0; i < NHS_DIGITS; i++)
		if (s[i] < '0' || s[i] > '9')
			break;
	if (i != NHS_DIGITS || s[i] != '\0') {
		snprintf(err, errlen, "nhs_number must be ten digits, without "
		    "spaces, as 9434765919");
		return -1;
	}
	for (i = 0; i < NHS_DIGITS - 1; i++)
		sum += (s[i] - '0') * (NHS_DIGITS - i);
	check = 11 - sum % 11;
	if (check == 11)
		check = 0;
	if (check == 10) {
		snprintf(err, errlen, "nhs_number %s: its first nine digits "
		    "give check digit 10, which no NHS number has", s);
		return -1;
	}
	if (s[NHS_DIGITS - 1] - '0' != check) {
		snprintf(err, errlen, "nhs_number %s: check digit should be %d",
		    s, check);
		return -1;
	}
	return 0;
}

int
envelope_nhs_number_digits(const char *s, char out[11])
{
	size_t	i, n = 0, len = strlen(s);

	if (len != NHS_DIGITS && len != NHS_DIGITS + 2)
		return -1;
	for (i = 0; i < len; i++) {
		if (len == NHS_DIGITS + 2 && (i == 3 || i == 7)) {
			if (s[i] != ' ')
				return -1;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return -1;
		out[n++] = s[i];
	}
	out[n] = '\0';
	return 0;
}

/* An identifier: 1 to max bytes of UTF-8 without control characters,
 * spaces or commas. */
static int
name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || !utf8_valid(s, n, NULL) ||
	    utf8_has_control(s))
		return 0;
	return strpbrk(s, " ,") == NULL;
}

int
envelope_subject_ok(const char *local_id)
{
	return local_id != NULL && name_ok(local_id, ENVELOPE_MAX_SUBJECT);
}

/*
 * Every string of the header and of the body must be UTF-8: they reach
 * the audit trail, the logs and recipients, whose decoders may be strict.
 * Returns 0, or -1 with the first bad field named in err.
 */
static int
validate_utf8(const Nwd__V1__Envelope *e, char *err, size_t errlen)
{
	const ProtobufCMessage	*body;
	char			 path[192];
	size_t			 bad;

	snprintf(path, sizeof(path), "header");
	if (utf8_find_invalid(&e->header->base, NULL, path, sizeof(path),
	    &bad)) {
		snprintf(err, errlen, "%s is not valid UTF-8 (at byte %zu)",
		    path, bad);
		return -1;
	}
	path[0] = '\0';
	if ((body = envelope_body(e)) != NULL && utf8_find_invalid(body,
	    NULL, path, sizeof(path), &bad)) {
		snprintf(err, errlen, "body field %s is not valid UTF-8 (at "
		    "byte %zu)", path, bad);
		return -1;
	}
	return 0;
}

static int
validate_intelligence(const Nwd__V1__IntelligenceReport *r, char *err,
    size_t errlen)
{
	const Nwd__V1__Grading *g = r->grading;
	const Nwd__V1__Legacy5x5x5 *l = r->legacy;

	if (!r->sanitised) {
		snprintf(err, errlen, "intelligence_report is not marked "
		    "sanitised; only sanitised intelligence may enter nwd");
		return -1;
	}
	if (g == NULL && l == NULL) {
		snprintf(err, errlen, "intelligence_report has no grading "
		    "(3x5x2) and no legacy 5x5x5 codes");
		return -1;
	}
	if (g != NULL) {
		if (g->source_evaluation < 1 || g->source_evaluation > 3) {
			snprintf(err, errlen, "grading.source_evaluation must "
			    "be 1, 2 or 3, not %u", g->source_evaluation);
			return -1;
		}
		if (g->assessment == NWD__V1__GRADING__ASSESSMENT__ASSESSMENT_UNSPECIFIED ||
		    protobuf_c_enum_descriptor_get_value(
		    &nwd__v1__grading__assessment__descriptor,
		    g->assessment) == NULL) {
			snprintf(err, errlen, "grading.assessment must be one "
			    "of A to E");
			return -1;
		}
		if (g->handling_code != NWD__V1__GRADING__HANDLING_CODE__HANDLING_P &&
		    g->handling_code != NWD__V1__GRADING__HANDLING_CODE__HANDLING_C) {
			snprintf(err, errlen, "grading.handling_code must be "
			    "HANDLING_P or HANDLING_C");
			return -1;
		}
		if (g->handling_code == NWD__V1__GRADING__HANDLING_CODE__HANDLING_C &&
		    (g->handling_conditions == NULL ||
		    g->handling_conditions[0] == '\0')) {
			snprintf(err, errlen, "handling code C needs "
			    "grading.handling_conditions");
			return -1;
		}
	}
	if (l != NULL) {
		if (l->intelligence_evaluation < 1 ||
		    l->intelligence_evaluation > 5 ||
		    l->handling_code < 1 || l->handling_code > 5) {
			snprintf(err, errlen, "legacy 5x5x5 intelligence "
			    "evaluation and handling code must be 1 to 5");
			return -1;
		}
		if (strlen(l->source_evaluation) != 1 ||
		    strchr("ABCDE", l->source_evaluation[0]) == NULL) {
			snprintf(err, errlen, "legacy 5x5x5 source evaluation "
			    "must be one of A to E");
			return -1;
		}
	}
	return 0;
}

/* Returns 1 if v is a value of enum ed. */
static int
enum_known(const ProtobufCEnumDescriptor *ed, int v)
{
	return protobuf_c_enum_descriptor_get_value(ed, v) != NULL;
}

/* The name of v in enum ed, for messages; v must be known. */
static const char *
enum_name(const ProtobufCEnumDescriptor *ed, int v)
{
	return protobuf_c_enum_descriptor_get_value(ed, v)->name;
}

/* A recipient as an Escalation names it: a principal id, or "a ROLE". */
static int
reached_ok(const char *s)
{
	if (strncmp(s, "a ", 2) == 0)
		s += 2;
	return name_ok(s, ENVELOPE_MAX_NAME);
}

static int
validate_return_interview(const Nwd__V1__Header *h,
    const Nwd__V1__ReturnInterview *r, char *err, size_t errlen)
{
	const ProtobufCEnumDescriptor *ed =
	    &nwd__v1__return_interview__status__descriptor;

	if (r->status == NWD__V1__RETURN_INTERVIEW__STATUS__STATUS_UNSPECIFIED) {
		snprintf(err, errlen, "return_interview.status is missing: "
		    "OFFERED, DONE or DECLINED");
		return -1;
	}
	if (!enum_known(ed, r->status)) {
		snprintf(err, errlen, "return_interview.status %d is not known",
		    (int)r->status);
		return -1;
	}
	if (h->references[0] == '\0') {
		snprintf(err, errlen, "return_interview needs "
		    "header.references: the id of the missing_episode it "
		    "answers");
		return -1;
	}
	if ((r->status == NWD__V1__RETURN_INTERVIEW__STATUS__OFFERED &&
	    r->offered_unix_ms <= 0) ||
	    (r->status == NWD__V1__RETURN_INTERVIEW__STATUS__DONE &&
	    r->done_unix_ms <= 0)) {
		snprintf(err, errlen, "return_interview with status %s needs "
		    "%s_unix_ms", enum_name(ed, r->status),
		    r->status == NWD__V1__RETURN_INTERVIEW__STATUS__DONE ?
		    "done" : "offered");
		return -1;
	}
	if (r->status == NWD__V1__RETURN_INTERVIEW__STATUS__DECLINED &&
	    r->declined_reason[0] == '\0') {
		snprintf(err, errlen, "return_interview with status DECLINED "
		    "needs declined_reason");
		return -1;
	}
	return 0;
}

static int
validate_escalation(const Nwd__V1__Escalation *x, char *err, size_t errlen)
{
	size_t i;

	if (!envelope_is_uuid(x->about_message_id)) {
		snprintf(err, errlen, "escalation.about_message_id must be a "
		    "message id (UUID)");
		return -1;
	}
	if (envelope_kind_name(x->about_kind) == NULL) {
		snprintf(err, errlen, "escalation.about_kind %d is not a known "
		    "kind", (int)x->about_kind);
		return -1;
	}
	if (!name_ok(x->rule, ENVELOPE_MAX_NAME)) {
		snprintf(err, errlen, "escalation.rule must name the deadline "
		    "or acknowledgement rule");
		return -1;
	}
	if (x->reason == NWD__V1__ESCALATION__REASON__REASON_UNSPECIFIED) {
		snprintf(err, errlen, "escalation.reason is missing: "
		    "DEADLINE_BREACHED or NOT_ACKNOWLEDGED");
		return -1;
	}
	if (!enum_known(&nwd__v1__escalation__reason__descriptor,
	    x->reason)) {
		snprintf(err, errlen, "escalation.reason %d is not known",
		    (int)x->reason);
		return -1;
	}
	if (x->due_unix_ms <= 0 || x->since_unix_ms <= 0) {
		snprintf(err, errlen, "escalation.%s_unix_ms is missing",
		    x->due_unix_ms <= 0 ? "due" : "since");
		return -1;
	}
	if (x->due_unix_ms < x->since_unix_ms) {
		snprintf(err, errlen, "escalation.due_unix_ms is before "
		    "since_unix_ms");
		return -1;
	}
	for (i = 0; i < x->n_reached; i++)
		if (!reached_ok(x->reached[i])) {
			snprintf(err, errlen, "escalation.reached[%zu] is not "
			    "a principal id or \"a ROLE\"", i);
			return -1;
		}
	for (i = 0; i < x->n_acknowledged; i++)
		if (!reached_ok(x->acknowledged[i])) {
			snprintf(err, errlen, "escalation.acknowledged[%zu] is "
			    "not a principal id or \"a ROLE\"", i);
			return -1;
		}
	if (x->count < 1) {
		snprintf(err, errlen, "escalation.count must be 1 or more (1 "
		    "the first time)");
		return -1;
	}
	if (x->summary[0] == '\0') {
		snprintf(err, errlen, "escalation.summary is missing");
		return -1;
	}
	return 0;
}

/*
 * Operation Encompass.  The old child_present flag cannot say "not known"
 * and its false is also "not set": a publish says child_present_state,
 * and the flag, if set too, must agree.
 */
static int
validate_domestic_abuse(const Nwd__V1__DomesticAbuseNotification *d,
    char *err, size_t errlen)
{
	const ProtobufCEnumDescriptor *ed =
	    &nwd__v1__domestic_abuse_notification__child_presence__descriptor;

	if (d->incident_unix_ms <= 0) {
		snprintf(err, errlen, "domestic_abuse_notification needs "
		    "incident_unix_ms: when the incident happened");
		return -1;
	}
	if (d->police_reference[0] == '\0') {
		snprintf(err, errlen, "domestic_abuse_notification needs "
		    "police_reference: the police incident reference");
		return -1;
	}
	if (d->school[0] == '\0') {
		snprintf(err, errlen, "domestic_abuse_notification needs "
		    "school: the school's name or team");
		return -1;
	}
	if (d->child_present_state ==
	    NWD__V1__DOMESTIC_ABUSE_NOTIFICATION__CHILD_PRESENCE__CHILD_PRESENT_UNSPECIFIED) {
		snprintf(err, errlen, d->child_present ?
		    "domestic_abuse_notification.child_present is replaced by "
		    "child_present_state: set PRESENT, NOT_PRESENT or NOT_KNOWN" :
		    "domestic_abuse_notification.child_present_state is "
		    "missing: PRESENT, NOT_PRESENT or NOT_KNOWN");
		return -1;
	}
	if (!enum_known(ed, d->child_present_state)) {
		snprintf(err, errlen, "domestic_abuse_notification."
		    "child_present_state %d is not known",
		    (int)d->child_present_state);
		return -1;
	}
	if (d->child_present && d->child_present_state !=
	    NWD__V1__DOMESTIC_ABUSE_NOTIFICATION__CHILD_PRESENCE__PRESENT) {
		snprintf(err, errlen, "domestic_abuse_notification."
		    "child_present is true but child_present_state is %s; set "
		    "child_present_state alone",
		    enum_name(ed, d->child_present_state));
		return -1;
	}
	if (d->do_not_contact_parents && d->guidance[0] == '\0') {
		snprintf(err, errlen, "domestic_abuse_notification."
		    "do_not_contact_parents needs guidance: what the school "
		    "should do instead");
		return -1;
	}
	return 0;
}

static int
validate_consent(const Nwd__V1__ConsentRecord *c, char *err, size_t errlen)
{
	size_t i;

	if (c->status == NWD__V1__CONSENT_RECORD__STATUS__STATUS_UNSPECIFIED) {
		snprintf(err, errlen, "consent_record.status is missing: "
		    "GIVEN, REFUSED or WITHDRAWN (no status is read as "
		    "consent)");
		return -1;
	}
	if (!enum_known(&nwd__v1__consent_record__status__descriptor,
	    c->status)) {
		snprintf(err, errlen, "consent_record.status %d is not known",
		    (int)c->status);
		return -1;
	}
	if (c->status == NWD__V1__CONSENT_RECORD__STATUS__GIVEN &&
	    c->n_purposes == 0 && c->n_kinds == 0) {
		snprintf(err, errlen, "consent_record with status GIVEN needs "
		    "a scope: at least one of purposes and kinds");
		return -1;
	}
	for (i = 0; i < c->n_purposes; i++)
		if (c->purposes[i][0] == '\0') {
			snprintf(err, errlen, "consent_record.purposes[%zu] is "
			    "empty", i);
			return -1;
		}
	for (i = 0; i < c->n_kinds; i++)
		if (envelope_kind_name(c->kinds[i]) == NULL) {
			snprintf(err, errlen, "consent_record.kinds[%zu] %d is "
			    "not a known kind", i, (int)c->kinds[i]);
			return -1;
		}
	for (i = 0; i < c->n_agencies; i++)
		if (!name_ok(c->agencies[i], ENVELOPE_MAX_NAME)) {
			snprintf(err, errlen, "consent_record.agencies[%zu] is "
			    "not an agency name", i);
			return -1;
		}
	if (!enum_known(&nwd__v1__consent_record__competence__descriptor,
	    c->competence)) {
		snprintf(err, errlen, "consent_record.competence %d is not "
		    "known", (int)c->competence);
		return -1;
	}
	if (c->expires_unix_ms != 0 && c->recorded_unix_ms != 0 &&
	    c->expires_unix_ms <= c->recorded_unix_ms) {
		snprintf(err, errlen, "consent_record.expires_unix_ms must be "
		    "after recorded_unix_ms");
		return -1;
	}
	if (c->withdraws[0] != '\0') {
		if (!envelope_is_uuid(c->withdraws)) {
			snprintf(err, errlen, "consent_record.withdraws must "
			    "be a message id (UUID)");
			return -1;
		}
		if (c->status != NWD__V1__CONSENT_RECORD__STATUS__WITHDRAWN) {
			snprintf(err, errlen, "consent_record.withdraws goes "
			    "with status WITHDRAWN");
			return -1;
		}
	}
	return 0;
}

static int
validate_strategy(const Nwd__V1__StrategyDiscussionRequest *r, char *err,
    size_t errlen)
{
	size_t i;

	if (r->n_invitees == 0) {
		snprintf(err, errlen, "strategy_discussion_request needs at "
		    "least one invitee (a principal or team name)");
		return -1;
	}
	if (r->n_invitees > ENVELOPE_MAX_SHARE_WITH) {
		snprintf(err, errlen, "strategy_discussion_request.invitees "
		    "has %zu entries; at most %d", r->n_invitees,
		    ENVELOPE_MAX_SHARE_WITH);
		return -1;
	}
	for (i = 0; i < r->n_invitees; i++)
		if (!name_ok(r->invitees[i], ENVELOPE_MAX_NAME)) {
			snprintf(err, errlen, "strategy_discussion_request."
			    "invitees[%zu] is not a principal or team name", i);
			return -1;
		}
	return 0;
}

static int
validate_allocation(const Nwd__V1__Allocation *a, char *err, size_t errlen)
{
	if (a->team[0] == '\0' && a->worker[0] == '\0') {
		snprintf(err, errlen, "allocation names neither a "
		    "team nor a worker");
		return -1;
	}
	/* They are named in share_with when it is delivered. */
	if ((a->team[0] != '\0' && !name_ok(a->team,
	    ENVELOPE_MAX_NAME)) || (a->worker[0] != '\0' &&
	    !name_ok(a->worker, ENVELOPE_MAX_NAME))) {
		snprintf(err, errlen, "allocation team and worker are "
		    "names of at most %d bytes without spaces, commas "
		    "or control characters", ENVELOPE_MAX_NAME);
		return -1;
	}
	if (a->until_unix_ms != 0 && a->until_unix_ms < a->from_unix_ms) {
		snprintf(err, errlen, "allocation ends before it "
		    "starts");
		return -1;
	}
	return 0;
}

/*
 * A decision not to share (SharingDecision): what was not shared, with
 * whom (roles, agencies, teams or principal ids, named as share_with
 * names them), why (known reasons, at least one), in the decider's words,
 * and the "more detrimental to the child" flag only with that reason and
 * that reason only with the flag.  Whether decided_unix_ms and
 * review_by_unix_ms are in the future needs a clock: the decision engine
 * judges that (decide.c).
 */
static int
validate_sharing_decision(const Nwd__V1__SharingDecision *d, char *err,
    size_t errlen)
{
	const ProtobufCEnumDescriptor *ed =
	    &nwd__v1__sharing_decision__reason__descriptor;
	size_t	i;
	int	detrimental = 0;

	if (d->information[0] == '\0') {
		snprintf(err, errlen, "sharing_decision.information is "
		    "missing: what was not shared");
		return -1;
	}
	if (d->n_not_shared_with == 0) {
		snprintf(err, errlen, "sharing_decision needs not_shared_with: "
		    "at least one role, agency, team or principal it was not "
		    "shared with");
		return -1;
	}
	if (d->n_not_shared_with > ENVELOPE_MAX_SHARE_WITH) {
		snprintf(err, errlen, "sharing_decision.not_shared_with has "
		    "%zu entries; at most %d", d->n_not_shared_with,
		    ENVELOPE_MAX_SHARE_WITH);
		return -1;
	}
	for (i = 0; i < d->n_not_shared_with; i++)
		if (!name_ok(d->not_shared_with[i], ENVELOPE_MAX_NAME)) {
			snprintf(err, errlen, "sharing_decision."
			    "not_shared_with[%zu] is not a role, agency, team "
			    "or principal name", i);
			return -1;
		}
	if (d->n_reasons == 0) {
		snprintf(err, errlen, "sharing_decision needs at least one "
		    "reason (MORE_DETRIMENTAL, NOT_NECESSARY, "
		    "NOT_PROPORTIONATE, NO_LAWFUL_BASIS, CONSENT_REFUSED, "
		    "RISK_TO_OTHERS, INFORMATION_INACCURATE or OTHER)");
		return -1;
	}
	for (i = 0; i < d->n_reasons; i++) {
		if (d->reasons[i] ==
		    NWD__V1__SHARING_DECISION__REASON__REASON_UNSPECIFIED) {
			snprintf(err, errlen, "sharing_decision.reasons[%zu] "
			    "is REASON_UNSPECIFIED; give the reason", i);
			return -1;
		}
		if (!enum_known(ed, d->reasons[i])) {
			snprintf(err, errlen, "sharing_decision.reasons[%zu] "
			    "%d is not a known reason", i, (int)d->reasons[i]);
			return -1;
		}
		if (d->reasons[i] ==
		    NWD__V1__SHARING_DECISION__REASON__MORE_DETRIMENTAL)
			detrimental = 1;
	}
	if (d->explanation[0] == '\0') {
		snprintf(err, errlen, "sharing_decision.explanation is "
		    "missing: the reasons in the decider's own words");
		return -1;
	}
	if (d->more_detrimental_to_child && !detrimental) {
		snprintf(err, errlen, "sharing_decision.more_detrimental_to_"
		    "child is set but reasons do not include MORE_DETRIMENTAL; "
		    "set both or neither");
		return -1;
	}
	if (detrimental && !d->more_detrimental_to_child) {
		snprintf(err, errlen, "sharing_decision.reasons include "
		    "MORE_DETRIMENTAL but more_detrimental_to_child is not "
		    "set; set both or neither");
		return -1;
	}
	if (d->decided_unix_ms < 0 || d->review_by_unix_ms < 0) {
		snprintf(err, errlen, "sharing_decision.%s_unix_ms is "
		    "negative", d->decided_unix_ms < 0 ? "decided" :
		    "review_by");
		return -1;
	}
	if (d->review_by_unix_ms != 0 && d->decided_unix_ms != 0 &&
	    d->review_by_unix_ms <= d->decided_unix_ms) {
		snprintf(err, errlen, "sharing_decision.review_by_unix_ms must "
		    "be after decided_unix_ms");
		return -1;
	}
	return 0;
}

/*
 * Finds a field that is not in the schema anywhere in m.  protobuf-c keeps
 * such fields as "unknown" and packs them again; they would reach
 * recipients unseen by the policy, so nwd refuses them.
 */
static int
unknown_field(const ProtobufCMessage *m, char *path, size_t pathlen,
    int depth)
{
	const ProtobufCFieldDescriptor	*fd;
	const ProtobufCMessage		*sub;
	size_t				 i, j, n, len = strlen(path);

	if (m->n_unknown_fields > 0) {
		snprintf(path + len, pathlen - len, "%sfield %u",
		    len > 0 ? "." : "", m->unknown_fields[0].tag);
		return 1;
	}
	if (depth > 16)
		return 0;
	for (i = 0; i < m->descriptor->n_fields; i++) {
		fd = &m->descriptor->fields[i];
		if (fd->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)((const char *)m +
			    fd->quantifier_offset);
			for (j = 0; j < n; j++) {
				sub = (*(ProtobufCMessage *const *const *)
				    ((const char *)m + fd->offset))[j];
				snprintf(path + len, pathlen - len, "%s%s[%zu]",
				    len > 0 ? "." : "", fd->name, j);
				if (unknown_field(sub, path, pathlen,
				    depth + 1))
					return 1;
			}
			continue;
		}
		if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)((const char *)m +
		    fd->quantifier_offset) != fd->id)
			continue;
		sub = *(ProtobufCMessage *const *)((const char *)m +
		    fd->offset);
		if (sub == NULL)
			continue;
		snprintf(path + len, pathlen - len, "%s%s",
		    len > 0 ? "." : "", fd->name);
		if (unknown_field(sub, path, pathlen, depth + 1))
			return 1;
	}
	path[len] = '\0';
	return 0;
}

/*
 * The checks of envelope_validate(); stored leaves out those that came
 * after a message could be stored (see envelope.h).
 */
static int
validate_retraction(const Nwd__V1__Retraction *r, char *err, size_t errlen)
{
	if (r == NULL || r->reason == NWD__V1__RETRACTION__REASON__REASON_UNSPECIFIED) {
		snprintf(err, errlen, "retraction.reason is missing: say why "
		    "the message is withdrawn (INACCURATE, WRONG_SUBJECT, "
		    "SHARED_IN_ERROR or OTHER)");
		return -1;
	}
	if (protobuf_c_enum_descriptor_get_value(
	    &nwd__v1__retraction__reason__descriptor, r->reason) == NULL) {
		snprintf(err, errlen, "retraction.reason %d is not known",
		    (int)r->reason);
		return -1;
	}
	if (r->reason == NWD__V1__RETRACTION__REASON__OTHER &&
	    r->explanation[0] == '\0') {
		snprintf(err, errlen, "retraction.explanation is required "
		    "with reason OTHER");
		return -1;
	}
	return 0;
}

static int
validate(const Nwd__V1__Envelope *e, int stored, char *err, size_t errlen)
{
	const Nwd__V1__Header	*h = e->header;
	const char		*kname;
	size_t			 i;

	if (h == NULL) {
		snprintf(err, errlen, "envelope has no header");
		return -1;
	}
	{
		char path[256] = "";

		if (unknown_field(&e->base, path, sizeof(path), 0)) {
			snprintf(err, errlen, "envelope carries a field that "
			    "is not in the nwd.v1 schema (%s)", path);
			return -1;
		}
	}
	if (validate_utf8(e, err, errlen) == -1)
		return -1;
	if ((kname = envelope_kind_name(h->kind)) == NULL) {
		snprintf(err, errlen, "header.kind %d is not a known kind",
		    (int)h->kind);
		return -1;
	}
	if (h->subject == NULL || h->subject->local_id[0] == '\0') {
		snprintf(err, errlen, "header.subject.local_id is missing: "
		    "every message is about one young person");
		return -1;
	}
	if (!name_ok(h->subject->local_id, ENVELOPE_MAX_SUBJECT)) {
		snprintf(err, errlen, "header.subject.local_id must be 1 to "
		    "%d printable characters without spaces or commas",
		    ENVELOPE_MAX_SUBJECT);
		return -1;
	}
	if (!stored && h->subject->nhs_number[0] != '\0') {
		char why[160];

		if (envelope_nhs_number_check(h->subject->nhs_number, why,
		    sizeof(why)) == -1) {
			snprintf(err, errlen, "header.subject.%s", why);
			return -1;
		}
	}
	if (e->body_case == NWD__V1__ENVELOPE__BODY__NOT_SET) {
		snprintf(err, errlen, "envelope has no body; kind %s needs "
		    "a %s body", kname, kname);
		return -1;
	}
	if (e->body_case != envelope_kind_body_case(h->kind)) {
		const ProtobufCFieldDescriptor *fd =
		    protobuf_c_message_descriptor_get_field(
		    &nwd__v1__envelope__descriptor, e->body_case);
		snprintf(err, errlen, "body %s does not match kind %s",
		    fd != NULL ? fd->name : "(unknown)", kname);
		return -1;
	}
	switch (h->marking) {
	case NWD__V1__MARKING__OFFICIAL:
	case NWD__V1__MARKING__OFFICIAL_SENSITIVE:
		break;
	case NWD__V1__MARKING__MARKING_UNSPECIFIED:
		snprintf(err, errlen, "header.marking is missing; use "
		    "OFFICIAL or OFFICIAL_SENSITIVE");
		return -1;
	case NWD__V1__MARKING__SECRET:
	case NWD__V1__MARKING__TOP_SECRET:
		snprintf(err, errlen,
		    "marking %s is above OFFICIAL-SENSITIVE; "
		    "nwd carries OFFICIAL information only",
		    envelope_marking_name(h->marking));
		return -1;
	default:
		snprintf(err, errlen, "header.marking %d is not a known "
		    "marking", (int)h->marking);
		return -1;
	}
	if (protobuf_c_enum_descriptor_get_value(&nwd__v1__priority__descriptor,
	    h->priority) == NULL) {
		snprintf(err, errlen, "header.priority %d is not known",
		    (int)h->priority);
		return -1;
	}
	if (protobuf_c_enum_descriptor_get_value(
	    &nwd__v1__legal_basis__descriptor, h->legal_basis) == NULL) {
		snprintf(err, errlen, "header.legal_basis %d is not known",
		    (int)h->legal_basis);
		return -1;
	}
	if (h->n_share_with > ENVELOPE_MAX_SHARE_WITH) {
		snprintf(err, errlen, "header.share_with has %zu entries; "
		    "at most %d", h->n_share_with, ENVELOPE_MAX_SHARE_WITH);
		return -1;
	}
	for (i = 0; i < h->n_share_with; i++) {
		if (!name_ok(h->share_with[i], ENVELOPE_MAX_NAME)) {
			snprintf(err, errlen, "header.share_with[%zu] is not "
			    "a principal or team name", i);
			return -1;
		}
	}
	if (h->supersedes[0] != '\0' && !envelope_is_uuid(h->supersedes)) {
		snprintf(err, errlen, "header.supersedes must be a message id "
		    "(UUID)");
		return -1;
	}
	if (h->references[0] != '\0' && !envelope_is_uuid(h->references)) {
		snprintf(err, errlen, "header.references must be a message id "
		    "(UUID)");
		return -1;
	}
	if ((h->kind == NWD__V1__KIND__RETRACTION ||
	    h->kind == NWD__V1__KIND__WITHDRAWAL_NOTICE) &&
	    h->supersedes[0] == '\0') {
		snprintf(err, errlen, "a %s needs header.supersedes: the id "
		    "of the message it withdraws", kname);
		return -1;
	}
	switch (h->kind) {
	case NWD__V1__KIND__RETRACTION:
		return validate_retraction(e->retraction, err, errlen);
	case NWD__V1__KIND__INTELLIGENCE_REPORT:
		return validate_intelligence(e->intelligence_report, err,
		    errlen);
	case NWD__V1__KIND__ALLOCATION:
		return validate_allocation(e->allocation, err, errlen);
	case NWD__V1__KIND__RETURN_INTERVIEW:
		return validate_return_interview(h, e->return_interview, err,
		    errlen);
	case NWD__V1__KIND__ESCALATION:
		return validate_escalation(e->escalation, err, errlen);
	case NWD__V1__KIND__DOMESTIC_ABUSE_NOTIFICATION:
		return stored ? 0 : validate_domestic_abuse(
		    e->domestic_abuse_notification, err, errlen);
	case NWD__V1__KIND__CONSENT_RECORD:
		return stored ? 0 : validate_consent(e->consent_record, err,
		    errlen);
	case NWD__V1__KIND__STRATEGY_DISCUSSION_REQUEST:
		return stored ? 0 : validate_strategy(
		    e->strategy_discussion_request, err, errlen);
	case NWD__V1__KIND__SHARING_DECISION:
		return validate_sharing_decision(e->sharing_decision, err,
		    errlen);
	default:
		return 0;
	}
}

int
envelope_validate(const Nwd__V1__Envelope *e, char *err, size_t errlen)
{
	return validate(e, 0, err, errlen);
}

int
envelope_validate_stored(const Nwd__V1__Envelope *e, char *err, size_t errlen)
{
	return validate(e, 1, err, errlen);
}
