/*
 * Unit tests for daemon/redact.c: removing named body fields, and the
 * header's free text, while packing.
 * The packed bytes are checked independently of the module: decoded with
 * protobuf-c's generic unpacker and scanned raw for the withheld strings.
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
#include "redact.h"

/* Distinctive strings, one per field, to look for in the raw bytes. */
#define S_SUMMARY	"SUMMARY-visible-7f3a"
#define S_CONDITIONS	"CONDITIONS-secret-91bd"
#define S_SRC_REF	"SRCREF-secret-22c1"
#define S_SRC_REL	"SRCREL-secret-5e0d"
#define S_SRC_NAME	"SRCNAME-secret-a4f2"
#define S_TP_NAME	"TPNAME-secret-0b77"
#define S_TP_PHONE	"TPPHONE-secret-6d18"
#define S_POSTCODE	"POSTCODE-secret-c3e9"
#define S_SUBJECT	"YP-001"
#define S_JUSTIFY	"JUSTIFY-visible-44aa"
#define S_FORMULATION	"FORMULATION-secret-8e21"
#define S_RISK		"RISK-visible-1c5b"
#define S_CLINICIAN	"CLINICIAN-visible-93f0"
#define S_NHS		"NHS-secret-9434765919"
#define S_SHARE		"SHARE-secret-sw:north"

struct intel {
	Nwd__V1__Envelope		 e;
	Nwd__V1__Header			 h;
	Nwd__V1__SubjectRef		 subj;
	Nwd__V1__IntelligenceReport	 r;
	Nwd__V1__Grading		 g;
	Nwd__V1__SourceDetails		 sd;
	Nwd__V1__ThirdParty		 src;
	Nwd__V1__ThirdParty		 tp;
	Nwd__V1__ThirdParty		*tps[1];
	Nwd__V1__Address		 loc;
};

static void
header_init(Nwd__V1__Header *h, Nwd__V1__SubjectRef *subj, Nwd__V1__Kind k)
{
	static const Nwd__V1__Header hi = NWD__V1__HEADER__INIT;
	static const Nwd__V1__SubjectRef si = NWD__V1__SUBJECT_REF__INIT;

	*h = hi;
	*subj = si;
	subj->local_id = S_SUBJECT;
	h->kind = k;
	h->subject = subj;
	h->marking = NWD__V1__MARKING__OFFICIAL_SENSITIVE;
	h->legal_basis = NWD__V1__LEGAL_BASIS__SAFEGUARDING;
	h->justification = S_JUSTIFY;
}

static void
intel_init(struct intel *v)
{
	static const Nwd__V1__Envelope ei = NWD__V1__ENVELOPE__INIT;
	static const Nwd__V1__IntelligenceReport ri =
	    NWD__V1__INTELLIGENCE_REPORT__INIT;
	static const Nwd__V1__Grading gi = NWD__V1__GRADING__INIT;
	static const Nwd__V1__SourceDetails sdi = NWD__V1__SOURCE_DETAILS__INIT;
	static const Nwd__V1__ThirdParty tpi = NWD__V1__THIRD_PARTY__INIT;
	static const Nwd__V1__Address ai = NWD__V1__ADDRESS__INIT;

	v->e = ei;
	v->r = ri;
	v->g = gi;
	v->sd = sdi;
	v->src = tpi;
	v->tp = tpi;
	v->loc = ai;
	header_init(&v->h, &v->subj, NWD__V1__KIND__INTELLIGENCE_REPORT);

	v->g.source_evaluation = 2;
	v->g.assessment = NWD__V1__GRADING__ASSESSMENT__B;
	v->g.handling_code = NWD__V1__GRADING__HANDLING_CODE__HANDLING_C;
	v->g.handling_conditions = S_CONDITIONS;
	v->src.name = S_SRC_NAME;
	v->sd.reference = S_SRC_REF;
	v->sd.relationship = S_SRC_REL;
	v->sd.source = &v->src;
	v->tp.name = S_TP_NAME;
	v->tp.phone = S_TP_PHONE;
	v->tps[0] = &v->tp;
	v->loc.postcode = S_POSTCODE;

	v->r.grading = &v->g;
	v->r.sanitised = 1;
	v->r.summary = S_SUMMARY;
	v->r.source_details = &v->sd;
	v->r.third_parties = v->tps;
	v->r.n_third_parties = 1;
	v->r.location = &v->loc;
	v->r.occurred_unix_ms = 1700000000000;

	v->e.header = &v->h;
	v->e.body_case = NWD__V1__ENVELOPE__BODY_INTELLIGENCE_REPORT;
	v->e.intelligence_report = &v->r;
}

struct camhs {
	Nwd__V1__Envelope	 e;
	Nwd__V1__Header		 h;
	Nwd__V1__SubjectRef	 subj;
	Nwd__V1__CamhsUpdate	 c;
};

static void
camhs_init(struct camhs *v)
{
	static const Nwd__V1__Envelope ei = NWD__V1__ENVELOPE__INIT;
	static const Nwd__V1__CamhsUpdate ci = NWD__V1__CAMHS_UPDATE__INIT;

	v->e = ei;
	v->c = ci;
	header_init(&v->h, &v->subj, NWD__V1__KIND__CAMHS_UPDATE);
	v->h.legal_basis = NWD__V1__LEGAL_BASIS__CONSENT;
	v->c.risk_summary = S_RISK;
	v->c.clinical_formulation = S_FORMULATION;
	v->c.risk_level = NWD__V1__RISK_ALERT__LEVEL__MEDIUM;
	v->c.clinician = S_CLINICIAN;
	v->e.header = &v->h;
	v->e.body_case = NWD__V1__ENVELOPE__BODY_CAMHS_UPDATE;
	v->e.camhs_update = &v->c;
}

/* ------------------------------------------------------------------------
 * Helpers
 */

struct packed {
	uint8_t	*buf;
	size_t	 len;
};

/* Packs e the plain way, for before/after comparisons. */
static struct packed
plain_pack(const Nwd__V1__Envelope *e)
{
	struct packed p;

	p.len = nwd__v1__envelope__get_packed_size(e);
	p.buf = malloc(p.len + 1);
	assert_non_null(p.buf);
	assert_int_equal(nwd__v1__envelope__pack(e, p.buf), p.len);
	return p;
}

static int
has_bytes(const struct packed *p, const char *s)
{
	return memmem(p->buf, p->len, s, strlen(s)) != NULL;
}

static void
expect_absent(const struct packed *p, const char *s)
{
	if (has_bytes(p, s))
		fail_msg("\"%s\" is still in the packed bytes", s);
}

static void
expect_present(const struct packed *p, const char *s)
{
	if (!has_bytes(p, s))
		fail_msg("\"%s\" is missing from the packed bytes", s);
}

/*
 * Runs redact_pack on e with paths, checking that the caller's envelope
 * packs to the same bytes afterwards and that the result decodes.  The
 * result's bytes are returned in *out and its generic decoding in *dec.
 */
static void
redact(Nwd__V1__Envelope *e, const char *const *paths, size_t n,
    char *withheld, size_t wlen, struct packed *out, Nwd__V1__Envelope **dec)
{
	struct packed	before, after;

	before = plain_pack(e);
	out->len = 0xdeadbeef;
	out->buf = redact_pack(e, paths, n, &out->len, withheld, wlen);
	assert_non_null(out->buf);
	assert_true(out->len != 0xdeadbeef);
	after = plain_pack(e);
	assert_int_equal(after.len, before.len);
	assert_memory_equal(after.buf, before.buf, before.len);
	free(before.buf);
	free(after.buf);

	*dec = (Nwd__V1__Envelope *)protobuf_c_message_unpack(
	    &nwd__v1__envelope__descriptor, NULL, out->len, out->buf);
	assert_non_null(*dec);
}

static void
done(struct packed *p, Nwd__V1__Envelope *dec)
{
	free(p->buf);
	protobuf_c_message_free_unpacked(&dec->base, NULL);
}

/* ------------------------------------------------------------------------
 * IntelligenceReport
 */

/* S1: the hub gets the sanitised summary without source or grading. */
static void
test_intel_hub_summary(void **state)
{
	static const char *const paths[] = { "source_details", "grading",
	    "legacy", "third_parties", "location" };
	struct intel		 v;
	struct packed		 p;
	Nwd__V1__Envelope	*d;
	const Nwd__V1__IntelligenceReport *r;
	char			 withheld[256];

	intel_init(&v);
	redact(&v.e, paths, 5, withheld, sizeof(withheld), &p, &d);

	expect_absent(&p, S_SRC_REF);
	expect_absent(&p, S_SRC_REL);
	expect_absent(&p, S_SRC_NAME);
	expect_absent(&p, S_CONDITIONS);
	expect_absent(&p, S_TP_NAME);
	expect_absent(&p, S_TP_PHONE);
	expect_absent(&p, S_POSTCODE);
	expect_present(&p, S_SUMMARY);
	expect_present(&p, S_SUBJECT);
	expect_present(&p, S_JUSTIFY);

	assert_int_equal(d->body_case,
	    NWD__V1__ENVELOPE__BODY_INTELLIGENCE_REPORT);
	r = d->intelligence_report;
	assert_non_null(r);
	assert_null(r->source_details);
	assert_null(r->grading);
	assert_null(r->legacy);
	assert_null(r->location);
	assert_int_equal(r->n_third_parties, 0);
	assert_string_equal(r->summary, S_SUMMARY);
	assert_true(r->sanitised);
	assert_true(r->occurred_unix_ms == 1700000000000LL);
	assert_string_equal(d->header->subject->local_id, S_SUBJECT);
	assert_int_equal(d->header->kind, NWD__V1__KIND__INTELLIGENCE_REPORT);

	/* legacy was never there, so it is not listed as withheld. */
	assert_string_equal(withheld,
	    "source_details,grading,third_parties,location");
	done(&p, d);

	/* The caller's envelope still has every field, by pointer too. */
	assert_ptr_equal(v.r.source_details, &v.sd);
	assert_ptr_equal(v.r.grading, &v.g);
	assert_ptr_equal(v.r.location, &v.loc);
	assert_int_equal(v.r.n_third_parties, 1);
	assert_ptr_equal(v.r.third_parties, v.tps);
}

static void
test_intel_no_paths(void **state)
{
	struct intel		 v;
	struct packed		 p, plain;
	Nwd__V1__Envelope	*d;
	char			 withheld[64];

	intel_init(&v);
	memset(withheld, 'X', sizeof(withheld));
	redact(&v.e, NULL, 0, withheld, sizeof(withheld), &p, &d);
	assert_string_equal(withheld, "");
	plain = plain_pack(&v.e);
	assert_int_equal(p.len, plain.len);
	assert_memory_equal(p.buf, plain.buf, plain.len);
	expect_present(&p, S_SRC_REF);
	expect_present(&p, S_CONDITIONS);
	expect_present(&p, S_TP_PHONE);
	free(plain.buf);
	done(&p, d);
}

static void
test_nested_path(void **state)
{
	static const char *const paths[] = { "grading.handling_conditions" };
	struct intel		 v;
	struct packed		 p;
	Nwd__V1__Envelope	*d;
	const Nwd__V1__Grading	*g;
	char			 withheld[64];

	intel_init(&v);
	redact(&v.e, paths, 1, withheld, sizeof(withheld), &p, &d);
	expect_absent(&p, S_CONDITIONS);
	expect_present(&p, S_SRC_REF);
	expect_present(&p, S_SUMMARY);
	g = d->intelligence_report->grading;
	assert_non_null(g);
	assert_string_equal(g->handling_conditions, "");
	/* The rest of the grading survives. */
	assert_int_equal(g->source_evaluation, 2);
	assert_int_equal(g->assessment, NWD__V1__GRADING__ASSESSMENT__B);
	assert_int_equal(g->handling_code,
	    NWD__V1__GRADING__HANDLING_CODE__HANDLING_C);
	assert_string_equal(withheld, "grading.handling_conditions");
	done(&p, d);
	assert_string_equal(v.g.handling_conditions, S_CONDITIONS);

	/* Deeper: the source's name only. */
	{
		static const char *const deep[] = { "source_details.source.name" };

		redact(&v.e, deep, 1, withheld, sizeof(withheld), &p, &d);
		expect_absent(&p, S_SRC_NAME);
		expect_present(&p, S_SRC_REF);
		assert_non_null(d->intelligence_report->source_details->source);
		assert_string_equal(
		    d->intelligence_report->source_details->source->name, "");
		assert_string_equal(withheld, "source_details.source.name");
		done(&p, d);
		assert_string_equal(v.src.name, S_SRC_NAME);
	}
}

/* A nested path under an absent message is not present, so not listed. */
static void
test_nested_absent(void **state)
{
	static const char *const paths[] = { "grading.handling_conditions",
	    "legacy.handling_code", "location.postcode" };
	struct intel		 v;
	struct packed		 p;
	Nwd__V1__Envelope	*d;
	char			 withheld[128];

	intel_init(&v);
	v.r.grading = NULL;
	v.r.location = NULL;
	redact(&v.e, paths, 3, withheld, sizeof(withheld), &p, &d);
	assert_string_equal(withheld, "");
	assert_null(d->intelligence_report->grading);
	done(&p, d);

	/* An empty string is not present either. */
	intel_init(&v);
	v.g.handling_conditions = "";
	redact(&v.e, paths, 1, withheld, sizeof(withheld), &p, &d);
	assert_string_equal(withheld, "");
	done(&p, d);
}

/* A parent and one of its children, in both orders. */
static void
test_parent_and_child(void **state)
{
	static const char *const a[] = { "grading",
	    "grading.handling_conditions" };
	static const char *const b[] = { "grading.handling_conditions",
	    "grading" };
	struct intel		 v;
	struct packed		 p;
	Nwd__V1__Envelope	*d;
	char			 withheld[128];

	intel_init(&v);
	redact(&v.e, a, 2, withheld, sizeof(withheld), &p, &d);
	assert_null(d->intelligence_report->grading);
	expect_absent(&p, S_CONDITIONS);
	/* Once grading is gone its child is no longer present. */
	assert_string_equal(withheld, "grading");
	done(&p, d);

	redact(&v.e, b, 2, withheld, sizeof(withheld), &p, &d);
	assert_null(d->intelligence_report->grading);
	expect_absent(&p, S_CONDITIONS);
	assert_string_equal(withheld, "grading.handling_conditions,grading");
	done(&p, d);
	assert_ptr_equal(v.r.grading, &v.g);
	assert_string_equal(v.g.handling_conditions, S_CONDITIONS);
}

static void
test_unknown_paths_ignored(void **state)
{
	static const char *const paths[] = { "nonexistent", "",
	    "summary.length", "third_parties.name", "grading.nope",
	    "clinical_formulation", ".grading", "grading.", "header",
	    "source_details..reference" };
	struct intel		 v;
	struct packed		 p, plain;
	Nwd__V1__Envelope	*d;
	char			 withheld[128];

	intel_init(&v);
	memset(withheld, 'X', sizeof(withheld));
	redact(&v.e, paths, sizeof(paths) / sizeof(paths[0]), withheld,
	    sizeof(withheld), &p, &d);
	assert_string_equal(withheld, "");
	plain = plain_pack(&v.e);
	assert_int_equal(p.len, plain.len);
	assert_memory_equal(p.buf, plain.buf, plain.len);
	free(plain.buf);
	done(&p, d);
}

/* Scalars, booleans, enums and repeated scalars are cleared too. */
static void
test_scalar_fields(void **state)
{
	static const char *const paths[] = { "occurred_unix_ms", "sanitised",
	    "summary" };
	struct intel		 v;
	struct packed		 p;
	Nwd__V1__Envelope	*d;
	char			 withheld[128];

	intel_init(&v);
	redact(&v.e, paths, 3, withheld, sizeof(withheld), &p, &d);
	assert_true(d->intelligence_report->occurred_unix_ms == 0);
	assert_false(d->intelligence_report->sanitised);
	assert_string_equal(d->intelligence_report->summary, "");
	expect_absent(&p, S_SUMMARY);
	assert_string_equal(withheld, "occurred_unix_ms,sanitised,summary");
	done(&p, d);
	assert_true(v.r.occurred_unix_ms == 1700000000000LL);
	assert_true(v.r.sanitised);
	assert_string_equal(v.r.summary, S_SUMMARY);
}

static void
test_repeated_scalar_and_enum(void **state)
{
	static const char *const paths[] = { "invitees" };
	static const char *const lvl[] = { "level", "category" };
	Nwd__V1__Envelope	 e = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header		 h;
	Nwd__V1__SubjectRef	 subj;
	Nwd__V1__StrategyDiscussionRequest sdr =
	    NWD__V1__STRATEGY_DISCUSSION_REQUEST__INIT;
	Nwd__V1__RiskAlert	 ra = NWD__V1__RISK_ALERT__INIT;
	char			*inv[] = { "INVITEE-secret-1", "INVITEE-secret-2" };
	struct packed		 p;
	Nwd__V1__Envelope	*d;
	char			 withheld[128];

	header_init(&h, &subj, NWD__V1__KIND__STRATEGY_DISCUSSION_REQUEST);
	sdr.reason = "REASON-visible";
	sdr.invitees = inv;
	sdr.n_invitees = 2;
	e.header = &h;
	e.body_case = NWD__V1__ENVELOPE__BODY_STRATEGY_DISCUSSION_REQUEST;
	e.strategy_discussion_request = &sdr;
	redact(&e, paths, 1, withheld, sizeof(withheld), &p, &d);
	expect_absent(&p, "INVITEE-secret");
	expect_present(&p, "REASON-visible");
	assert_int_equal(d->strategy_discussion_request->n_invitees, 0);
	assert_string_equal(withheld, "invitees");
	done(&p, d);
	assert_int_equal(sdr.n_invitees, 2);
	assert_ptr_equal(sdr.invitees, inv);

	header_init(&h, &subj, NWD__V1__KIND__RISK_ALERT);
	ra.level = NWD__V1__RISK_ALERT__LEVEL__HIGH;
	ra.category = NWD__V1__RISK_ALERT__CATEGORY__SELF_HARM;
	ra.summary = "visible";
	e.body_case = NWD__V1__ENVELOPE__BODY_RISK_ALERT;
	e.risk_alert = &ra;
	redact(&e, lvl, 2, withheld, sizeof(withheld), &p, &d);
	assert_int_equal(d->risk_alert->level,
	    NWD__V1__RISK_ALERT__LEVEL__LEVEL_UNSPECIFIED);
	assert_int_equal(d->risk_alert->category,
	    NWD__V1__RISK_ALERT__CATEGORY__CATEGORY_UNSPECIFIED);
	assert_string_equal(d->risk_alert->summary, "visible");
	assert_string_equal(withheld, "level,category");
	done(&p, d);
	assert_int_equal(ra.level, NWD__V1__RISK_ALERT__LEVEL__HIGH);
	assert_int_equal(ra.category, NWD__V1__RISK_ALERT__CATEGORY__SELF_HARM);
}

/* ------------------------------------------------------------------------
 * CamhsUpdate
 */

/* S3: the hub gets the risk summary without the clinical formulation. */
static void
test_camhs_formulation(void **state)
{
	static const char *const paths[] = { "clinical_formulation",
	    "source_details" };
	struct camhs		 v;
	struct packed		 p;
	Nwd__V1__Envelope	*d;
	char			 withheld[128];

	camhs_init(&v);
	redact(&v.e, paths, 2, withheld, sizeof(withheld), &p, &d);
	expect_absent(&p, S_FORMULATION);
	expect_present(&p, S_RISK);
	expect_present(&p, S_CLINICIAN);
	assert_int_equal(d->body_case, NWD__V1__ENVELOPE__BODY_CAMHS_UPDATE);
	assert_string_equal(d->camhs_update->clinical_formulation, "");
	assert_string_equal(d->camhs_update->risk_summary, S_RISK);
	assert_int_equal(d->camhs_update->risk_level,
	    NWD__V1__RISK_ALERT__LEVEL__MEDIUM);
	/* source_details is an intelligence field: ignored here. */
	assert_string_equal(withheld, "clinical_formulation");
	done(&p, d);
	assert_string_equal(v.c.clinical_formulation, S_FORMULATION);
}

/* No body: nothing to strip, the header still packs. */
static void
test_no_body(void **state)
{
	static const char *const paths[] = { "summary" };
	struct camhs		 v;
	struct packed		 p;
	Nwd__V1__Envelope	*d;
	char			 withheld[64];

	camhs_init(&v);
	v.e.body_case = NWD__V1__ENVELOPE__BODY__NOT_SET;
	redact(&v.e, paths, 1, withheld, sizeof(withheld), &p, &d);
	assert_string_equal(withheld, "");
	assert_int_equal(d->body_case, NWD__V1__ENVELOPE__BODY__NOT_SET);
	expect_present(&p, S_SUBJECT);
	done(&p, d);
}

/* withheld may be NULL; a short buffer is never overrun. */
static void
test_withheld_buffer(void **state)
{
	static const char *const paths[] = { "source_details", "grading",
	    "third_parties" };
	struct intel		 v;
	struct packed		 p;
	Nwd__V1__Envelope	*d;
	char			 small[12];

	intel_init(&v);
	redact(&v.e, paths, 3, NULL, 0, &p, &d);
	assert_null(d->intelligence_report->source_details);
	assert_null(d->intelligence_report->grading);
	done(&p, d);

	/*
	 * A list too small to name every withheld path would make the audit
	 * under-report: the call refuses, and writes no further than its
	 * length.
	 */
	memset(small, 'X', sizeof(small));
	{
		uint8_t	*buf;
		size_t	 len = 0;

		buf = redact_pack(&v.e, paths, 3, &len, small, 10);
		assert_null(buf);
		assert_int_equal(small[10], 'X');
		assert_int_equal(small[11], 'X');
	}
	/* And the caller's envelope is whole again afterwards. */
	assert_non_null(v.e.intelligence_report->source_details);
	assert_non_null(v.e.intelligence_report->grading);
}

/*
 * redact.h promises that every field named in paths is cleared; a list
 * longer than REDACT_MAX_PATHS must not let the fields past the limit
 * through.  Either they are stripped or the call fails (NULL).
 */
static void
test_more_than_max_paths(void **state)
{
	const char		*paths[REDACT_MAX_PATHS + 1];
	struct intel		 v;
	uint8_t			*buf;
	size_t			 i, len = 0;
	int			 leaked;

	for (i = 0; i < REDACT_MAX_PATHS; i++)
		paths[i] = "nonexistent";
	paths[REDACT_MAX_PATHS] = "source_details";
	intel_init(&v);
	buf = redact_pack(&v.e, paths, REDACT_MAX_PATHS + 1, &len, NULL, 0);
	if (buf == NULL)
		return;
	leaked = memmem(buf, len, S_SRC_REF, strlen(S_SRC_REF)) != NULL;
	free(buf);
	if (leaked)
		fail_msg("path %d of %d (source_details) was not stripped",
		    REDACT_MAX_PATHS + 1, REDACT_MAX_PATHS + 1);
}

/* ------------------------------------------------------------------------
 * The header's free text: header.justification, header.share_with,
 * header.subject.nhs_number
 */

static void
test_header_paths(void **state)
{
	static const char *const paths[] = { "header.justification",
	    "header.subject.nhs_number", "header.share_with", "summary" };
	static char		*share[] = { (char *)S_SHARE };
	struct intel		 v;
	struct packed		 p;
	Nwd__V1__Envelope	*d;
	char			 withheld[256];

	intel_init(&v);
	v.subj.nhs_number = S_NHS;
	v.h.share_with = share;
	v.h.n_share_with = 1;
	redact(&v.e, paths, 4, withheld, sizeof(withheld), &p, &d);
	assert_string_equal(withheld, "header.justification,"
	    "header.subject.nhs_number,header.share_with,summary");
	expect_absent(&p, S_JUSTIFY);
	expect_absent(&p, S_NHS);
	expect_absent(&p, S_SHARE);
	expect_absent(&p, S_SUMMARY);
	/* What routes and identifies the message stays. */
	expect_present(&p, S_SUBJECT);
	assert_string_equal(d->header->subject->local_id, S_SUBJECT);
	assert_string_equal(d->header->subject->nhs_number, "");
	assert_string_equal(d->header->justification, "");
	assert_int_equal(d->header->n_share_with, 0);
	assert_int_equal(d->header->kind, NWD__V1__KIND__INTELLIGENCE_REPORT);
	assert_int_equal(d->header->legal_basis,
	    NWD__V1__LEGAL_BASIS__SAFEGUARDING);
	expect_present(&p, S_SRC_REF);
	done(&p, d);
	/* The caller's header is whole again. */
	assert_string_equal(v.h.justification, S_JUSTIFY);
	assert_string_equal(v.subj.nhs_number, S_NHS);
	assert_int_equal(v.h.n_share_with, 1);

	assert_int_equal(redact_path_present(&v.e, "header.justification"),
	    1);
	assert_int_equal(redact_path_present(&v.e, "header.share_with"), 1);
	assert_int_equal(redact_path_present(&v.e, "header.kind"), 0);
	assert_int_equal(redact_path_present(&v.e, "summary"), 1);
	assert_int_equal(redact_path_present(&v.e, "legacy"), 0);

	/* Absent header fields are not listed as withheld. */
	intel_init(&v);
	redact(&v.e, paths, 3, withheld, sizeof(withheld), &p, &d);
	assert_string_equal(withheld, "header.justification");
	done(&p, d);
	assert_int_equal(redact_withheld(&v.e, paths, 4, withheld,
	    sizeof(withheld)), 0);
	assert_string_equal(withheld, "header.justification,summary");
}

/* Only the header's free text may be withheld: a path to any other
 * header field is invalid, and ignored if it is given all the same. */
static void
test_header_paths_limited(void **state)
{
	static const char *const others[] = { "header.subject.local_id",
	    "header.subject", "header.kind", "header.message_id",
	    "header.sender", "header.originating_agency", "header.marking",
	    "header.priority", "header.legal_basis", "header.supersedes",
	    "header.created_unix_ms", "header", "header.", "header.nope",
	    "header.justification.x" };
	const ProtobufCMessageDescriptor *intel =
	    &nwd__v1__intelligence_report__descriptor;
	struct intel		 v;
	struct packed		 p, plain;
	Nwd__V1__Envelope	*d;
	char			 err[256], withheld[64];
	size_t			 i;

	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		err[0] = '\0';
		if (redact_path_valid(intel, others[i], err, sizeof(err)) != -1)
			fail_msg("\"%s\" accepted", others[i]);
		if (strcmp(others[i], "header") != 0 &&
		    strstr(err, "header.justification, header.share_with and "
		    "header.subject.nhs_number") == NULL)
			fail_msg("\"%s\": %s", others[i], err);
		assert_int_equal(redact_path_valid(NULL, others[i], err,
		    sizeof(err)), -1);
	}
	assert_int_equal(redact_path_valid(intel, "header.justification", err,
	    sizeof(err)), 0);
	assert_int_equal(redact_path_valid(NULL, "header.subject.nhs_number",
	    err, sizeof(err)), 0);
	assert_int_equal(redact_path_valid(&nwd__v1__camhs_update__descriptor,
	    "header.share_with", err, sizeof(err)), 0);
	assert_string_equal(redact_header_path(0), "header.justification");
	assert_string_equal(redact_header_path(1), "header.share_with");
	assert_string_equal(redact_header_path(2),
	    "header.subject.nhs_number");
	assert_null(redact_header_path(3));

	intel_init(&v);
	redact(&v.e, others, sizeof(others) / sizeof(others[0]), withheld,
	    sizeof(withheld), &p, &d);
	assert_string_equal(withheld, "");
	plain = plain_pack(&v.e);
	assert_int_equal(p.len, plain.len);
	assert_memory_equal(p.buf, plain.buf, plain.len);
	free(plain.buf);
	done(&p, d);
}

/* ------------------------------------------------------------------------
 * redact_path_valid
 */

static void
test_path_valid(void **state)
{
	const ProtobufCMessageDescriptor *intel =
	    &nwd__v1__intelligence_report__descriptor;
	const ProtobufCMessageDescriptor *camhs =
	    &nwd__v1__camhs_update__descriptor;
	char	err[256];
	char	longseg[200];
	static const char *const good[] = { "source_details", "grading",
	    "grading.handling_conditions", "legacy.handling_code",
	    "third_parties", "location", "location.postcode", "summary",
	    "source_details.source.address.postcode", "sanitised" };
	static const char *const bad[] = { "", "nope", "grading.nope",
	    "third_parties.name", "summary.x", "grading.", ".grading",
	    "grading..handling_conditions", "clinical_formulation",
	    "Grading", "source_details.source.address.postcode.x" };
	size_t	i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (redact_path_valid(intel, good[i], err, sizeof(err)) != 0)
			fail_msg("\"%s\" refused: %s", good[i], err);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (redact_path_valid(intel, bad[i], err, sizeof(err)) != -1)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_non_null(strstr(err, "IntelligenceReport has no field"));
	}
	assert_int_equal(redact_path_valid(intel, "grading.nope", err,
	    sizeof(err)), -1);
	assert_string_equal(err,
	    "IntelligenceReport has no field \"grading.nope\"");

	assert_int_equal(redact_path_valid(camhs, "clinical_formulation", err,
	    sizeof(err)), 0);
	assert_int_equal(redact_path_valid(camhs, "source_details", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "CamhsUpdate has no field \"source_details\"");

	/* A path segment too long for any field name. */
	memset(longseg, 'a', sizeof(longseg) - 1);
	longseg[sizeof(longseg) - 1] = '\0';
	assert_int_equal(redact_path_valid(intel, longseg, err, sizeof(err)),
	    -1);
	/* More than eight levels deep. */
	assert_int_equal(redact_path_valid(intel,
	    "source_details.source.address.a.b.c.d.e.f", err, sizeof(err)),
	    -1);
}

static void
test_path_valid_any_kind(void **state)
{
	char err[256];

	/* NULL body: valid if any kind has the field. */
	assert_int_equal(redact_path_valid(NULL, "clinical_formulation", err,
	    sizeof(err)), 0);
	assert_int_equal(redact_path_valid(NULL, "associates", err,
	    sizeof(err)), 0);
	assert_int_equal(redact_path_valid(NULL, "last_seen.postcode", err,
	    sizeof(err)), 0);
	assert_int_equal(redact_path_valid(NULL, "purposes", err,
	    sizeof(err)), 0);
	assert_int_equal(redact_path_valid(NULL, "victim.address", err,
	    sizeof(err)), 0);
	err[0] = '\0';
	assert_int_equal(redact_path_valid(NULL, "nope", err, sizeof(err)),
	    -1);
	assert_string_equal(err, "no message kind has a field \"nope\"");
	assert_int_equal(redact_path_valid(NULL, "header", err, sizeof(err)),
	    -1);
	assert_int_equal(redact_path_valid(NULL, "clinical_formulation.x",
	    err, sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intel_hub_summary),
		cmocka_unit_test(test_intel_no_paths),
		cmocka_unit_test(test_nested_path),
		cmocka_unit_test(test_nested_absent),
		cmocka_unit_test(test_parent_and_child),
		cmocka_unit_test(test_unknown_paths_ignored),
		cmocka_unit_test(test_scalar_fields),
		cmocka_unit_test(test_repeated_scalar_and_enum),
		cmocka_unit_test(test_camhs_formulation),
		cmocka_unit_test(test_no_body),
		cmocka_unit_test(test_withheld_buffer),
		cmocka_unit_test(test_more_than_max_paths),
		cmocka_unit_test(test_header_paths),
		cmocka_unit_test(test_header_paths_limited),
		cmocka_unit_test(test_path_valid),
		cmocka_unit_test(test_path_valid_any_kind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
