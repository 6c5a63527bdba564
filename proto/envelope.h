/*
 * envelope: names for the header vocabulary (kinds, markings, legal bases)
 * and the validation every published envelope passes before the broker
 * looks at it.  Pure functions: no I/O, no allocation except where stated.
 */
#ifndef NWD_ENVELOPE_H
#define NWD_ENVELOPE_H

#include <stddef.h>

#include "nwd.pb-c.h"

#define ENVELOPE_MAX_SUBJECT	64	/* bytes in a subject local id */
#define ENVELOPE_MAX_SHARE_WITH	64	/* entries in share_with */
#define ENVELOPE_MAX_NAME	128	/* bytes in a share_with entry */
#define ENVELOPE_UUID_LEN	36

/*
 * Kind names are the lower-case names of the matching Envelope body field
 * ("risk_alert"), which are also what the policy file and the CLI use.
 * envelope_kind_name() returns NULL for a kind the schema does not know.
 */
const char *envelope_kind_name(Nwd__V1__Kind kind);
/* 1 for the kinds only the broker makes (Escalation, WithdrawalNotice,
 * BreakGlassAlert): no principal may publish them. */
int envelope_kind_broker_only(Nwd__V1__Kind kind);
int envelope_kind_from_name(const char *name, Nwd__V1__Kind *out);

/* The Envelope body case that carries a kind's body (kind + 9). */
Nwd__V1__Envelope__BodyCase envelope_kind_body_case(Nwd__V1__Kind kind);

/* The descriptor of a kind's body message, or NULL. */
const ProtobufCMessageDescriptor *envelope_kind_body_descriptor(
    Nwd__V1__Kind kind);

/* The body message of an envelope, or NULL if none is set. */
const ProtobufCMessage *envelope_body(const Nwd__V1__Envelope *e);

/*
 * Marking names are the enum names ("OFFICIAL_SENSITIVE"); the parser also
 * accepts the printed form "OFFICIAL-SENSITIVE" and any case.
 */
const char *envelope_marking_name(Nwd__V1__Marking m);
int envelope_marking_from_name(const char *name, Nwd__V1__Marking *out);

/* Legal basis names are the lower-case enum names ("safeguarding"). */
const char *envelope_legal_basis_name(Nwd__V1__LegalBasis b);
int envelope_legal_basis_from_name(const char *name, Nwd__V1__LegalBasis *out);

/*
 * Checks an envelope as a publisher sent it: no field outside the schema;
 * every string of the header and of the body (nested and repeated ones
 * included) valid UTF-8 (utf8.h), the error naming the first that is not
 * ("body field associates[1].name is not valid UTF-8 (at byte 3)"); a
 * header with a known kind, a subject, an NHS number (if any) with its
 * check digit, a body that matches the kind, a marking no higher than
 * OFFICIAL-SENSITIVE, sane share_with, supersedes and references, and
 * the rules of the body's kind: police intelligence must be sanitised and
 * graded, handling code C must carry its conditions; a ReturnInterview
 * has a status, the time or reason its status needs, and references the
 * MissingEpisode it answers; an Escalation names the message, kind, rule,
 * reason, times, count and summary, and its recipients as principal ids
 * or "a ROLE"; a DomesticAbuseNotification has its incident time, police
 * reference, school and child_present_state (the old child_present flag,
 * if set, agreeing), and guidance with do_not_contact_parents; a
 * ConsentRecord has a status, a scope if GIVEN, known kinds, agency names,
 * an expiry after its recording and withdraws (a UUID) only if WITHDRAWN;
 * a StrategyDiscussionRequest invites 1 to ENVELOPE_MAX_SHARE_WITH names;
 * a SharingDecision says what was not shared, with 1 to
 * ENVELOPE_MAX_SHARE_WITH names (roles, agencies, teams or principals),
 * at least one known reason, an explanation, more_detrimental_to_child
 * exactly when MORE_DETRIMENTAL is a reason, and a review date after the
 * decision (whether either is in the future is the decision engine's
 * to judge: it has the clock).
 * Identifiers (the subject, share_with entries, an allocation's team and
 * worker, invitees, agencies, not_shared_with entries) hold no control
 * character, space or comma.
 * Broker-owned header fields are checked as UTF-8 only: the broker
 * overwrites them.  The daemon checks an Escalation it makes with this
 * too.  Returns 0, or -1 with one precise sentence in err.
 */
int		 envelope_validate(const Nwd__V1__Envelope *e, char *err,
		    size_t errlen);

/*
 * Checks an envelope read back from the store, which was valid when it
 * was published but perhaps under older rules: as envelope_validate(),
 * without the rules added since messages were first stored (the NHS
 * number's check digit; the required fields of a DomesticAbuseNotification,
 * a ConsentRecord and a StrategyDiscussionRequest).  A field the schema no
 * longer has (a ConsentRecord's retired "given") is still refused.
 * Returns 0, or -1 with one precise sentence in err.
 */
int		 envelope_validate_stored(const Nwd__V1__Envelope *e,
		    char *err, size_t errlen);

/*
 * Returns 1 if local_id is a subject id that envelope_validate() accepts:
 * 1 to ENVELOPE_MAX_SUBJECT bytes of UTF-8 without control characters,
 * spaces or commas; 0 otherwise (NULL included).  For rows about an
 * envelope that may be invalid: their subject is recorded only if sound.
 */
int		 envelope_subject_ok(const char *local_id);

/*
 * NHS numbers.  On the wire header.subject.nhs_number is empty or ten
 * ASCII digits, nothing else, so that what is stored and compared is the
 * digits; the last is the modulus-11 check digit of the first nine
 * (weights 10 down to 2; 11 - sum mod 11; 11 gives 0, and a number whose
 * nine digits give 10 is not an NHS number).
 *
 * envelope_nhs_number_check() returns 0 if s is such a number, or -1 with
 * one sentence in err ("nhs_number 9434765918: check digit should be 9");
 * the sentence quotes s only when s is ten digits.
 *
 * envelope_nhs_number_digits() reads the forms a person writes, ten digits
 * or the printed 3-3-4 grouping with single spaces ("943 476 5919"), into
 * out as ten digits and a NUL, and returns 0; -1 for anything else, out
 * then undefined.  It does not check the check digit.
 */
int		 envelope_nhs_number_check(const char *s, char *err,
		    size_t errlen);
int		 envelope_nhs_number_digits(const char *s, char out[11]);

/* Returns 1 if s looks like a canonical lower-case or upper-case UUID. */
int		 envelope_is_uuid(const char *s);

#endif
