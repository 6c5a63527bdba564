/*
 * Unit tests for proto/frame.c: the length prefix, encoding and decoding of
 * nwd.v1.Frame, and the capped allocator that keeps a hostile payload from
 * exhausting memory.  Linked with the proto library and cmocka only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"

/* ------------------------------------------------------------------------
 * Fixtures
 */

/* The pieces of a full publish envelope, on the stack of the caller. */
struct pub {
	Nwd__V1__Frame			 frame;
	Nwd__V1__Publish		 publish;
	Nwd__V1__Envelope		 env;
	Nwd__V1__Header			 hdr;
	Nwd__V1__SubjectRef		 subj;
	Nwd__V1__IntelligenceReport	 intel;
	Nwd__V1__Grading		 grading;
	Nwd__V1__SourceDetails		 src;
	Nwd__V1__ThirdParty		 tp;
	Nwd__V1__ThirdParty		*tps[1];
	char				*share[2];
};

static void
pub_init(struct pub *p)
{
	static const Nwd__V1__Frame		frame = NWD__V1__FRAME__INIT;
	static const Nwd__V1__Publish		publish = NWD__V1__PUBLISH__INIT;
	static const Nwd__V1__Envelope		env = NWD__V1__ENVELOPE__INIT;
	static const Nwd__V1__Header		hdr = NWD__V1__HEADER__INIT;
	static const Nwd__V1__SubjectRef	subj = NWD__V1__SUBJECT_REF__INIT;
	static const Nwd__V1__IntelligenceReport intel =
	    NWD__V1__INTELLIGENCE_REPORT__INIT;
	static const Nwd__V1__Grading		grading = NWD__V1__GRADING__INIT;
	static const Nwd__V1__SourceDetails	src =
	    NWD__V1__SOURCE_DETAILS__INIT;
	static const Nwd__V1__ThirdParty	tp = NWD__V1__THIRD_PARTY__INIT;

	p->frame = frame;
	p->publish = publish;
	p->env = env;
	p->hdr = hdr;
	p->subj = subj;
	p->intel = intel;
	p->grading = grading;
	p->src = src;
	p->tp = tp;

	p->subj.local_id = "YP-001";
	p->subj.nhs_number = "9434765919";
	p->hdr.message_id = "6f1c9d3e-1111-4a2b-8c3d-0123456789ab";
	p->hdr.kind = NWD__V1__KIND__INTELLIGENCE_REPORT;
	p->hdr.subject = &p->subj;
	p->hdr.marking = NWD__V1__MARKING__OFFICIAL_SENSITIVE;
	p->hdr.priority = NWD__V1__PRIORITY__HIGH;
	p->hdr.legal_basis = NWD__V1__LEGAL_BASIS__SAFEGUARDING;
	p->hdr.justification = "s.47 enquiry";
	p->share[0] = "sw:north";
	p->share[1] = "hub:norwich";
	p->hdr.share_with = p->share;
	p->hdr.n_share_with = 2;
	p->hdr.supersedes = "0f1c9d3e-2222-4a2b-8c3d-0123456789ab";
	p->hdr.created_unix_ms = 1700000000123;
	p->hdr.sender = "plo-ana";
	p->hdr.originating_agency = "police";

	p->grading.source_evaluation = 2;
	p->grading.assessment = NWD__V1__GRADING__ASSESSMENT__B;
	p->grading.handling_code = NWD__V1__GRADING__HANDLING_CODE__HANDLING_P;
	p->src.reference = "SRC-4471";
	p->src.relationship = "neighbour";
	p->tp.name = "Third Party";
	p->tp.phone = "07700 900123";
	p->tps[0] = &p->tp;
	p->intel.grading = &p->grading;
	p->intel.sanitised = 1;
	p->intel.summary = "seen with older males near the station";
	p->intel.source_details = &p->src;
	p->intel.third_parties = p->tps;
	p->intel.n_third_parties = 1;
	p->intel.occurred_unix_ms = 1699999999000;

	p->env.header = &p->hdr;
	p->env.body_case = NWD__V1__ENVELOPE__BODY_INTELLIGENCE_REPORT;
	p->env.intelligence_report = &p->intel;
	p->publish.envelope = &p->env;
	p->frame.request_id = 42;
	p->frame.msg_case = NWD__V1__FRAME__MSG_PUBLISH;
	p->frame.publish = &p->publish;
}

/* Encodes f, checks the header against the payload, and decodes it again. */
static Nwd__V1__Frame *
round_trip(const Nwd__V1__Frame *f)
{
	uint8_t		*buf;
	size_t		 len = 0;
	char		 err[256];
	Nwd__V1__Frame	*g;

	buf = frame_encode(f, FRAME_DEFAULT_MAX, &len);
	assert_non_null(buf);
	assert_true(len > FRAME_HEADER_LEN);
	assert_int_equal(frame_peek_length(buf), len - FRAME_HEADER_LEN);
	assert_int_equal(len - FRAME_HEADER_LEN,
	    nwd__v1__frame__get_packed_size(f));
	err[0] = '\0';
	g = frame_decode(buf + FRAME_HEADER_LEN, len - FRAME_HEADER_LEN,
	    1024 * 1024, err, sizeof(err));
	free(buf);
	assert_non_null(g);
	return g;
}

/* ------------------------------------------------------------------------
 * Length prefix
 */

static void
test_peek_length(void **state)
{
	static const uint8_t zero[4] = { 0, 0, 0, 0 };
	static const uint8_t one[4] = { 0, 0, 0, 1 };
	static const uint8_t mib[4] = { 0x00, 0x10, 0x00, 0x00 };
	static const uint8_t order[4] = { 0x12, 0x34, 0x56, 0x78 };
	static const uint8_t all[4] = { 0xff, 0xff, 0xff, 0xff };
	static const uint8_t high[4] = { 0x80, 0x00, 0x00, 0x00 };

	assert_int_equal(frame_peek_length(zero), 0);
	assert_int_equal(frame_peek_length(one), 1);
	assert_int_equal(frame_peek_length(mib), 1048576);
	assert_int_equal(frame_peek_length(order), 0x12345678u);
	assert_int_equal(frame_peek_length(all), 0xffffffffu);
	assert_int_equal(frame_peek_length(high), 0x80000000u);
}

static void
test_length_ok(void **state)
{
	const uint32_t max = FRAME_DEFAULT_MAX;

	assert_int_equal(frame_length_ok(0, max), 0);
	assert_int_equal(frame_length_ok(1, max), 1);
	assert_int_equal(frame_length_ok(max - 1, max), 1);
	assert_int_equal(frame_length_ok(max, max), 1);
	assert_int_equal(frame_length_ok(max + 1, max), 0);
	assert_int_equal(frame_length_ok(0xffffffffu, max), 0);
	assert_int_equal(frame_length_ok(0x80000000u, max), 0);
	/* The largest max still refuses 0 and accepts everything else. */
	assert_int_equal(frame_length_ok(0xffffffffu, 0xffffffffu), 1);
	assert_int_equal(frame_length_ok(0, 0xffffffffu), 0);
	/* A zero max accepts nothing. */
	assert_int_equal(frame_length_ok(1, 0), 0);
}

/* ------------------------------------------------------------------------
 * Round trips
 */

static void
test_round_trip_publish(void **state)
{
	struct pub			 p;
	Nwd__V1__Frame			*g;
	const Nwd__V1__Envelope		*e;
	const Nwd__V1__IntelligenceReport *r;

	pub_init(&p);
	g = round_trip(&p.frame);
	assert_int_equal(g->request_id, 42);
	assert_int_equal(g->msg_case, NWD__V1__FRAME__MSG_PUBLISH);
	assert_string_equal(frame_msg_name(g), "publish");
	assert_non_null(g->publish);
	e = g->publish->envelope;
	assert_non_null(e);
	assert_non_null(e->header);
	assert_string_equal(e->header->message_id, p.hdr.message_id);
	assert_int_equal(e->header->kind, NWD__V1__KIND__INTELLIGENCE_REPORT);
	assert_string_equal(e->header->subject->local_id, "YP-001");
	assert_string_equal(e->header->subject->nhs_number, "9434765919");
	assert_int_equal(e->header->marking,
	    NWD__V1__MARKING__OFFICIAL_SENSITIVE);
	assert_int_equal(e->header->priority, NWD__V1__PRIORITY__HIGH);
	assert_int_equal(e->header->legal_basis,
	    NWD__V1__LEGAL_BASIS__SAFEGUARDING);
	assert_string_equal(e->header->justification, "s.47 enquiry");
	assert_int_equal(e->header->n_share_with, 2);
	assert_string_equal(e->header->share_with[0], "sw:north");
	assert_string_equal(e->header->share_with[1], "hub:norwich");
	assert_string_equal(e->header->supersedes, p.hdr.supersedes);
	assert_true(e->header->created_unix_ms == 1700000000123LL);
	assert_string_equal(e->header->sender, "plo-ana");
	assert_string_equal(e->header->originating_agency, "police");

	assert_int_equal(e->body_case,
	    NWD__V1__ENVELOPE__BODY_INTELLIGENCE_REPORT);
	r = e->intelligence_report;
	assert_non_null(r);
	assert_true(r->sanitised);
	assert_string_equal(r->summary, p.intel.summary);
	assert_non_null(r->grading);
	assert_int_equal(r->grading->source_evaluation, 2);
	assert_int_equal(r->grading->assessment,
	    NWD__V1__GRADING__ASSESSMENT__B);
	assert_int_equal(r->grading->handling_code,
	    NWD__V1__GRADING__HANDLING_CODE__HANDLING_P);
	assert_non_null(r->source_details);
	assert_string_equal(r->source_details->reference, "SRC-4471");
	assert_int_equal(r->n_third_parties, 1);
	assert_string_equal(r->third_parties[0]->phone, "07700 900123");
	assert_null(r->legacy);
	assert_null(r->location);
	assert_true(r->occurred_unix_ms == 1699999999000LL);
	frame_free(g);
}

static void
test_round_trip_deliver(void **state)
{
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT;
	Nwd__V1__Deliver	 d = NWD__V1__DELIVER__INIT;
	Nwd__V1__Envelope	 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header		 hdr = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef	 subj = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__CamhsUpdate	 cu = NWD__V1__CAMHS_UPDATE__INIT;
	char			*withheld[] = { "clinical_formulation" };
	Nwd__V1__Frame		*g;

	subj.local_id = "YP-001";
	hdr.kind = NWD__V1__KIND__CAMHS_UPDATE;
	hdr.subject = &subj;
	hdr.marking = NWD__V1__MARKING__OFFICIAL_SENSITIVE;
	hdr.legal_basis = NWD__V1__LEGAL_BASIS__CONSENT;
	cu.risk_summary = "moderate risk, engaging";
	cu.risk_level = NWD__V1__RISK_ALERT__LEVEL__MEDIUM;
	env.header = &hdr;
	env.body_case = NWD__V1__ENVELOPE__BODY_CAMHS_UPDATE;
	env.camhs_update = &cu;
	d.subscription_id = 7;
	d.delivery_id = 0x1122334455667788ULL;
	d.envelope = &env;
	d.fields_withheld = withheld;
	d.n_fields_withheld = 1;
	d.rule = "hub-camhs-summary";
	d.policy_version = "sha256:0123456789abcdef";
	f.request_id = 0;
	f.msg_case = NWD__V1__FRAME__MSG_DELIVER;
	f.deliver = &d;

	g = round_trip(&f);
	assert_int_equal(g->msg_case, NWD__V1__FRAME__MSG_DELIVER);
	assert_string_equal(frame_msg_name(g), "deliver");
	assert_int_equal(g->deliver->subscription_id, 7);
	assert_true(g->deliver->delivery_id == 0x1122334455667788ULL);
	assert_int_equal(g->deliver->n_fields_withheld, 1);
	assert_string_equal(g->deliver->fields_withheld[0],
	    "clinical_formulation");
	assert_string_equal(g->deliver->rule, "hub-camhs-summary");
	assert_string_equal(g->deliver->policy_version,
	    "sha256:0123456789abcdef");
	assert_int_equal(g->deliver->envelope->body_case,
	    NWD__V1__ENVELOPE__BODY_CAMHS_UPDATE);
	assert_string_equal(g->deliver->envelope->camhs_update->risk_summary,
	    "moderate risk, engaging");
	/* An unset string comes back as the empty string, not NULL. */
	assert_string_equal(
	    g->deliver->envelope->camhs_update->clinical_formulation, "");
	frame_free(g);
}

static void
test_round_trip_error(void **state)
{
	Nwd__V1__Frame	 f = NWD__V1__FRAME__INIT;
	Nwd__V1__Error	 e = NWD__V1__ERROR__INIT;
	Nwd__V1__Frame	*g;

	e.code = NWD__V1__ERROR_CODE__ERROR_FORBIDDEN;
	e.text = "no publish rule lets role social_worker publish "
	    "intelligence_report";
	e.request_id = 99;
	f.request_id = 99;
	f.msg_case = NWD__V1__FRAME__MSG_ERROR;
	f.error = &e;

	g = round_trip(&f);
	assert_int_equal(g->msg_case, NWD__V1__FRAME__MSG_ERROR);
	assert_string_equal(frame_msg_name(g), "error");
	assert_int_equal(g->error->code, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN);
	assert_string_equal(frame_error_code_name(g->error->code),
	    "ERROR_FORBIDDEN");
	assert_string_equal(g->error->text, e.text);
	assert_int_equal(g->error->request_id, 99);
	frame_free(g);
}

static void
test_round_trip_subscribe(void **state)
{
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT;
	Nwd__V1__Subscribe	 s = NWD__V1__SUBSCRIBE__INIT;
	Nwd__V1__Kind		 kinds[] = { NWD__V1__KIND__RISK_ALERT,
				    NWD__V1__KIND__MISSING_EPISODE };
	char			*subjects[] = { "YP-001", "YP-003" };
	Nwd__V1__Frame		*g;

	s.kinds = kinds;
	s.n_kinds = 2;
	s.subjects = subjects;
	s.n_subjects = 2;
	s.durable_name = "hub-main";
	f.request_id = 3;
	f.msg_case = NWD__V1__FRAME__MSG_SUBSCRIBE;
	f.subscribe = &s;

	g = round_trip(&f);
	assert_string_equal(frame_msg_name(g), "subscribe");
	assert_int_equal(g->subscribe->n_kinds, 2);
	assert_int_equal(g->subscribe->kinds[0], NWD__V1__KIND__RISK_ALERT);
	assert_int_equal(g->subscribe->kinds[1],
	    NWD__V1__KIND__MISSING_EPISODE);
	assert_int_equal(g->subscribe->n_subjects, 2);
	assert_string_equal(g->subscribe->subjects[1], "YP-003");
	assert_string_equal(g->subscribe->durable_name, "hub-main");
	frame_free(g);
}

/* ------------------------------------------------------------------------
 * Strings that are not UTF-8
 */

/* Encodes f and decodes it: NULL with the reason in err, or the frame. */
static Nwd__V1__Frame *
decode_of(const Nwd__V1__Frame *f, char *err, size_t errlen)
{
	Nwd__V1__Frame	*g;
	uint8_t		*buf;
	size_t		 len = 0;

	assert_non_null(buf = frame_encode(f, FRAME_DEFAULT_MAX, &len));
	err[0] = '\0';
	g = frame_decode(buf + FRAME_HEADER_LEN, len - FRAME_HEADER_LEN,
	    1024 * 1024, err, errlen);
	free(buf);
	return g;
}

static void
expect_not_utf8(const Nwd__V1__Frame *f, const char *want)
{
	char err[256];

	if (decode_of(f, err, sizeof(err)) != NULL)
		fail_msg("decoded; want \"%s\"", want);
	if (strcmp(err, want) != 0)
		fail_msg("\"%s\", want \"%s\"", err, want);
}

/* A request with a string that is not UTF-8 is not a valid frame. */
static void
test_request_strings_not_utf8(void **state)
{
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT, *g;
	Nwd__V1__Hello		 h = NWD__V1__HELLO__INIT;
	Nwd__V1__Subscribe	 s = NWD__V1__SUBSCRIBE__INIT;
	Nwd__V1__AuditQuery	 q = NWD__V1__AUDIT_QUERY__INIT;
	Nwd__V1__Explain	 x = NWD__V1__EXPLAIN__INIT;
	Nwd__V1__Ack		 a = NWD__V1__ACK__INIT;
	Nwd__V1__DurableDelete	 d = NWD__V1__DURABLE_DELETE__INIT;
	char			*subjects[] = { "YP-001", "YP-\xc3" };
	char			*to[] = { "plo-ana", "sw-ben", "\xed\xa0\x80" };
	char			 err[256];

	h.protocol_version = 1;
	h.client_name = "nwd-\xff";
	f.msg_case = NWD__V1__FRAME__MSG_HELLO;
	f.hello = &h;
	expect_not_utf8(&f, "hello.client_name is not valid UTF-8 (at byte 4)");
	h.client_name = "nwd/caf\xc3\xa9";
	assert_non_null(g = decode_of(&f, err, sizeof(err)));
	assert_string_equal(g->hello->client_name, "nwd/caf\xc3\xa9");
	frame_free(g);

	s.subjects = subjects;
	s.n_subjects = 2;
	f.msg_case = NWD__V1__FRAME__MSG_SUBSCRIBE;
	f.subscribe = &s;
	expect_not_utf8(&f,
	    "subscribe.subjects[1] is not valid UTF-8 (at byte 3)");
	subjects[1] = "YP-002";
	s.durable_name = "hub\xc0\xae";
	expect_not_utf8(&f,
	    "subscribe.durable_name is not valid UTF-8 (at byte 3)");

	q.principal = "plo-\xf4\x90\x80\x80";
	f.msg_case = NWD__V1__FRAME__MSG_AUDIT_QUERY;
	f.audit_query = &q;
	expect_not_utf8(&f,
	    "audit_query.principal is not valid UTF-8 (at byte 4)");

	x.principal = "plo-ana";
	x.to = to;
	x.n_to = 3;
	f.msg_case = NWD__V1__FRAME__MSG_EXPLAIN;
	f.explain = &x;
	expect_not_utf8(&f, "explain.to[2] is not valid UTF-8 (at byte 0)");

	a.delivery_id = 7;
	a.message_id = "\x80";
	f.msg_case = NWD__V1__FRAME__MSG_ACK;
	f.ack = &a;
	expect_not_utf8(&f, "ack.message_id is not valid UTF-8 (at byte 0)");

	d.name = "hub-\xfe";
	f.msg_case = NWD__V1__FRAME__MSG_DURABLE_DELETE;
	f.durable_delete = &d;
	expect_not_utf8(&f,
	    "durable_delete.name is not valid UTF-8 (at byte 4)");
}

/*
 * The envelope of a Publish or an Explain is left to envelope_validate(),
 * whose refusal the broker answers and audits as a refused publish; the
 * rest of an Explain is judged here.
 */
static void
test_envelope_left_to_validation(void **state)
{
	struct pub		 p;
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT, *g;
	Nwd__V1__Explain	 x = NWD__V1__EXPLAIN__INIT;
	char			 err[256];

	pub_init(&p);
	p.subj.local_id = "YP-\xff";
	p.tp.name = "\xc3\x28";
	assert_non_null(g = decode_of(&p.frame, err, sizeof(err)));
	assert_string_equal(g->publish->envelope->header->subject->local_id,
	    "YP-\xff");
	frame_free(g);

	x.principal = "plo-ana";
	x.envelope = &p.env;
	f.msg_case = NWD__V1__FRAME__MSG_EXPLAIN;
	f.explain = &x;
	assert_non_null(g = decode_of(&f, err, sizeof(err)));
	frame_free(g);
	x.principal = "plo-\xff";
	expect_not_utf8(&f, "explain.principal is not valid UTF-8 (at byte 4)");
}

/* What the broker sends is not judged here: a client reads it all. */
static void
test_broker_frames_not_judged(void **state)
{
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT, *g;
	Nwd__V1__Error		 e = NWD__V1__ERROR__INIT;
	Nwd__V1__Goodbye	 b = NWD__V1__GOODBYE__INIT;
	char			 err[256];

	e.code = NWD__V1__ERROR_CODE__ERROR_FORBIDDEN;
	e.text = "cut inside a character \xc3";
	f.msg_case = NWD__V1__FRAME__MSG_ERROR;
	f.error = &e;
	assert_non_null(g = decode_of(&f, err, sizeof(err)));
	assert_string_equal(g->error->text, e.text);
	frame_free(g);
	b.reason = "\xff";
	f.msg_case = NWD__V1__FRAME__MSG_GOODBYE;
	f.goodbye = &b;
	assert_non_null(g = decode_of(&f, err, sizeof(err)));
	frame_free(g);
}

/* ------------------------------------------------------------------------
 * Encoding limits
 */

static void
test_encode_limit(void **state)
{
	struct pub	 p;
	size_t		 n, len;
	uint8_t		*buf;

	pub_init(&p);
	n = nwd__v1__frame__get_packed_size(&p.frame);
	assert_true(n > 100);

	/* Exactly max is allowed. */
	len = 0;
	buf = frame_encode(&p.frame, (uint32_t)n, &len);
	assert_non_null(buf);
	assert_int_equal(len, n + FRAME_HEADER_LEN);
	assert_int_equal(frame_peek_length(buf), n);
	free(buf);

	/* One byte over is refused and *lenp is untouched. */
	len = 12345;
	buf = frame_encode(&p.frame, (uint32_t)n - 1, &len);
	assert_null(buf);
	assert_int_equal(len, 12345);

	len = 12345;
	assert_null(frame_encode(&p.frame, 16, &len));
	assert_int_equal(len, 12345);
}

static void
test_encode_empty_frame(void **state)
{
	Nwd__V1__Frame	 f = NWD__V1__FRAME__INIT;
	size_t		 len = 777;

	/* A frame that packs to nothing would violate 0 < N. */
	assert_null(frame_encode(&f, FRAME_DEFAULT_MAX, &len));
	assert_int_equal(len, 777);
}

/* ------------------------------------------------------------------------
 * Decoding bad input
 */

static void
test_decode_garbage(void **state)
{
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	/* Field 12 (publish) with wire type 7, which does not exist. */
	static const uint8_t badwire[] = { 0x67, 0x00 };
	/* Field 0 is never legal. */
	static const uint8_t field0[] = { 0x00, 0x01 };
	char	err[256];

	memset(err, 0, sizeof(err));
	assert_null(frame_decode(garbage, sizeof(garbage), 1024 * 1024, err,
	    sizeof(err)));
	assert_string_equal(err, "11 bytes are not a valid Frame");

	memset(err, 0, sizeof(err));
	assert_null(frame_decode(badwire, sizeof(badwire), 1024 * 1024, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "not a valid Frame"));

	memset(err, 0, sizeof(err));
	assert_null(frame_decode(field0, sizeof(field0), 1024 * 1024, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "not a valid Frame"));
}

static void
test_decode_wrong_submessage_type(void **state)
{
	/* publish (field 12) given as a varint instead of a message. */
	static const uint8_t varint_publish[] = { 0x60, 0x05 };
	char	 err[256] = "";
	Nwd__V1__Frame *g;

	g = frame_decode(varint_publish, sizeof(varint_publish), 1024 * 1024,
	    err, sizeof(err));
	assert_null(g);
	assert_non_null(strstr(err, "not a valid Frame"));
}

static void
test_decode_truncated(void **state)
{
	struct pub	 p;
	uint8_t		*buf, *copy;
	size_t		 len, n, cut;
	char		 err[256];
	Nwd__V1__Frame	*g;

	pub_init(&p);
	p.frame.request_id = 0;		/* the payload begins with publish */
	buf = frame_encode(&p.frame, FRAME_DEFAULT_MAX, &len);
	assert_non_null(buf);
	n = len - FRAME_HEADER_LEN;

	/*
	 * Every proper, non-empty prefix cuts the publish field short.  Each
	 * prefix is copied to a buffer of its own size so that the sanitizers
	 * catch any read past the declared length.
	 */
	for (cut = 1; cut < n; cut++) {
		copy = malloc(cut);
		assert_non_null(copy);
		memcpy(copy, buf + FRAME_HEADER_LEN, cut);
		err[0] = '\0';
		g = frame_decode(copy, cut, 1024 * 1024, err, sizeof(err));
		if (g != NULL)
			fail_msg("prefix of %zu of %zu bytes decoded", cut, n);
		assert_non_null(strstr(err, "not a valid Frame"));
		free(copy);
	}
	/* The whole payload still decodes. */
	g = frame_decode(buf + FRAME_HEADER_LEN, n, 1024 * 1024, err,
	    sizeof(err));
	assert_non_null(g);
	frame_free(g);
	free(buf);
}

static void
test_decode_empty_payload(void **state)
{
	char		 err[64] = "";
	Nwd__V1__Frame	*g;

	/* Zero bytes are a valid (empty) Frame to protobuf. */
	g = frame_decode((const uint8_t *)"", 0, 1024, err, sizeof(err));
	assert_non_null(g);
	assert_int_equal(g->msg_case, NWD__V1__FRAME__MSG__NOT_SET);
	assert_string_equal(frame_msg_name(g), "empty");
	frame_free(g);
}

/* ------------------------------------------------------------------------
 * The capped allocator
 */

#define MANY_SUBJECTS	200000

/* A Subscribe frame with MANY_SUBJECTS one-byte subjects: ~600 KB. */
static uint8_t *
many_subjects(size_t *lenp)
{
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT;
	Nwd__V1__Subscribe	 s = NWD__V1__SUBSCRIBE__INIT;
	char			**subjects;
	uint8_t			*buf;
	size_t			 i, n;

	subjects = calloc(MANY_SUBJECTS, sizeof(char *));
	assert_non_null(subjects);
	for (i = 0; i < MANY_SUBJECTS; i++)
		subjects[i] = "x";
	s.subjects = subjects;
	s.n_subjects = MANY_SUBJECTS;
	f.msg_case = NWD__V1__FRAME__MSG_SUBSCRIBE;
	f.subscribe = &s;
	n = nwd__v1__frame__get_packed_size(&f);
	buf = malloc(n);
	assert_non_null(buf);
	assert_int_equal(nwd__v1__frame__pack(&f, buf), n);
	free(subjects);
	*lenp = n;
	return buf;
}

static void
test_cap_large_ok(void **state)
{
	uint8_t		*buf;
	size_t		 n;
	char		 err[256] = "";
	Nwd__V1__Frame	*g;

	buf = many_subjects(&n);
	/* 200k pointers and 200k two-byte strings fit easily in 64 MiB. */
	g = frame_decode(buf, n, 64 * 1024 * 1024, err, sizeof(err));
	assert_non_null(g);
	assert_int_equal(g->subscribe->n_subjects, MANY_SUBJECTS);
	assert_string_equal(g->subscribe->subjects[MANY_SUBJECTS - 1], "x");
	frame_free(g);
	free(buf);
}

/*
 * The payload is under 1 MiB but its subject array alone needs 1.6 MB; with
 * a 64 KiB cap the decode must fail and say that memory was the reason.
 */
static void
test_cap_small_refuses(void **state)
{
	uint8_t		*buf;
	size_t		 n;
	char		 err[256] = "";
	Nwd__V1__Frame	*g;

	buf = many_subjects(&n);
	assert_true(n < FRAME_DEFAULT_MAX);
	g = frame_decode(buf, n, 64 * 1024, err, sizeof(err));
	assert_null(g);
	if (strstr(err, "memory") == NULL)
		fail_msg("decode refused but the reason does not mention "
		    "memory: \"%s\"", err);
	free(buf);
}

/*
 * A cap just above what the subject pointer array alone needs: the decode
 * still needs more (its scan bookkeeping and the 200k string copies).
 */
static void
test_cap_medium_refuses(void **state)
{
	uint8_t		*buf;
	size_t		 n;
	char		 err[256] = "";
	Nwd__V1__Frame	*g;

	buf = many_subjects(&n);
	g = frame_decode(buf, n, MANY_SUBJECTS * sizeof(char *) + 100000,
	    err, sizeof(err));
	assert_null(g);
	if (strstr(err, "memory") == NULL)
		fail_msg("decode refused but the reason does not mention "
		    "memory: \"%s\"", err);
	free(buf);
}

/*
 * A packed repeated enum is counted first and then allocated in one piece:
 * 200k one-byte kinds (a 200 KB payload) need an 800 KB array.  With a
 * 64 KiB cap the one large allocation is refused while almost nothing has
 * been handed out yet; the reason must still be memory, not "not a valid
 * Frame" (the bytes are a perfectly valid Frame).
 */
static void
test_cap_single_large_allocation(void **state)
{
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT;
	Nwd__V1__Subscribe	 s = NWD__V1__SUBSCRIBE__INIT;
	Nwd__V1__Kind		*kinds;
	uint8_t			*buf;
	size_t			 i, n;
	char			 err[256] = "";
	Nwd__V1__Frame		*g;

	kinds = calloc(MANY_SUBJECTS, sizeof(*kinds));
	assert_non_null(kinds);
	for (i = 0; i < MANY_SUBJECTS; i++)
		kinds[i] = NWD__V1__KIND__RISK_ALERT;
	s.kinds = kinds;
	s.n_kinds = MANY_SUBJECTS;
	f.msg_case = NWD__V1__FRAME__MSG_SUBSCRIBE;
	f.subscribe = &s;
	n = nwd__v1__frame__get_packed_size(&f);
	assert_true(n < 2 * MANY_SUBJECTS);
	buf = malloc(n);
	assert_non_null(buf);
	nwd__v1__frame__pack(&f, buf);
	free(kinds);

	/* It is valid: a large cap decodes it. */
	g = frame_decode(buf, n, 64 * 1024 * 1024, err, sizeof(err));
	assert_non_null(g);
	assert_int_equal(g->subscribe->n_kinds, MANY_SUBJECTS);
	frame_free(g);

	g = frame_decode(buf, n, 64 * 1024, err, sizeof(err));
	assert_null(g);
	free(buf);
	if (strstr(err, "memory") == NULL)
		fail_msg("a valid frame refused for its memory needs is "
		    "reported as \"%s\"", err);
}

/* The same capped decoding through frame_decode_envelope(). */
static void
test_cap_envelope(void **state)
{
	Nwd__V1__Envelope	 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header		 hdr = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef	 subj = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__StrategyDiscussionRequest sdr =
	    NWD__V1__STRATEGY_DISCUSSION_REQUEST__INIT;
	char			**inv;
	uint8_t			*buf;
	size_t			 i, n;
	char			 err[256] = "";
	Nwd__V1__Envelope	*e;

	inv = calloc(MANY_SUBJECTS, sizeof(char *));
	assert_non_null(inv);
	for (i = 0; i < MANY_SUBJECTS; i++)
		inv[i] = "y";
	subj.local_id = "YP-001";
	hdr.kind = NWD__V1__KIND__STRATEGY_DISCUSSION_REQUEST;
	hdr.subject = &subj;
	sdr.invitees = inv;
	sdr.n_invitees = MANY_SUBJECTS;
	env.header = &hdr;
	env.body_case = NWD__V1__ENVELOPE__BODY_STRATEGY_DISCUSSION_REQUEST;
	env.strategy_discussion_request = &sdr;
	n = nwd__v1__envelope__get_packed_size(&env);
	buf = malloc(n);
	assert_non_null(buf);
	nwd__v1__envelope__pack(&env, buf);
	free(inv);

	e = frame_decode_envelope(buf, n, 64 * 1024 * 1024, err, sizeof(err));
	assert_non_null(e);
	assert_int_equal(e->strategy_discussion_request->n_invitees,
	    MANY_SUBJECTS);
	frame_free_envelope(e);

	e = frame_decode_envelope(buf, n, 64 * 1024, err, sizeof(err));
	assert_null(e);
	if (strstr(err, "memory") == NULL)
		fail_msg("envelope refused without mentioning memory: \"%s\"",
		    err);
	free(buf);

	/* Garbage names the Envelope. */
	e = frame_decode_envelope((const uint8_t *)"\xff\xff\xff", 3,
	    1024 * 1024, err, sizeof(err));
	assert_null(e);
	assert_string_equal(err, "3 bytes are not a valid Envelope");
	frame_free_envelope(NULL);
}

/*
 * A crafted length-delimited field that claims far more bytes than the
 * payload holds must be refused without allocating what it claims.
 */
static void
test_decode_lying_length(void **state)
{
	/* publish, length 0x7fffffff (varint ff ff ff ff 07), then 2 bytes */
	static const uint8_t lie[] = { 0x62, 0xff, 0xff, 0xff, 0xff, 0x07,
	    0x0a, 0x00 };
	char		 err[256] = "";

	assert_null(frame_decode(lie, sizeof(lie), 1024, err, sizeof(err)));
	assert_non_null(strstr(err, "not a valid Frame"));
}

/* ------------------------------------------------------------------------
 * Names
 */

static void
test_msg_name(void **state)
{
	Nwd__V1__Frame	f = NWD__V1__FRAME__INIT;
	static const struct {
		Nwd__V1__Frame__MsgCase	 c;
		const char		*name;
	} t[] = {
		{ NWD__V1__FRAME__MSG_HELLO, "hello" },
		{ NWD__V1__FRAME__MSG_WELCOME, "welcome" },
		{ NWD__V1__FRAME__MSG_PUBLISH, "publish" },
		{ NWD__V1__FRAME__MSG_PUBLISH_ACK, "publish_ack" },
		{ NWD__V1__FRAME__MSG_SUBSCRIBE, "subscribe" },
		{ NWD__V1__FRAME__MSG_SUBSCRIBE_ACK, "subscribe_ack" },
		{ NWD__V1__FRAME__MSG_DELIVER, "deliver" },
		{ NWD__V1__FRAME__MSG_ACK, "ack" },
		{ NWD__V1__FRAME__MSG_UNSUBSCRIBE, "unsubscribe" },
		{ NWD__V1__FRAME__MSG_AUDIT_QUERY, "audit_query" },
		{ NWD__V1__FRAME__MSG_AUDIT_PAGE, "audit_page" },
		{ NWD__V1__FRAME__MSG_PING, "ping" },
		{ NWD__V1__FRAME__MSG_PONG, "pong" },
		{ NWD__V1__FRAME__MSG_ERROR, "error" },
		{ NWD__V1__FRAME__MSG_GOODBYE, "goodbye" },
	};
	size_t i;

	assert_string_equal(frame_msg_name(&f), "empty");
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		f.msg_case = t[i].c;
		assert_string_equal(frame_msg_name(&f), t[i].name);
	}
	/* request_id (1) is a field but not a message case. */
	f.msg_case = (Nwd__V1__Frame__MsgCase)99;
	assert_string_equal(frame_msg_name(&f), "unknown");
}

static void
test_error_code_name(void **state)
{
	assert_string_equal(frame_error_code_name(
	    NWD__V1__ERROR_CODE__ERROR_UNSPECIFIED), "ERROR_UNSPECIFIED");
	assert_string_equal(frame_error_code_name(
	    NWD__V1__ERROR_CODE__ERROR_PROTOCOL), "ERROR_PROTOCOL");
	assert_string_equal(frame_error_code_name(
	    NWD__V1__ERROR_CODE__ERROR_FRAME_TOO_LARGE),
	    "ERROR_FRAME_TOO_LARGE");
	assert_string_equal(frame_error_code_name(
	    NWD__V1__ERROR_CODE__ERROR_MALFORMED), "ERROR_MALFORMED");
	assert_string_equal(frame_error_code_name(
	    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE), "ERROR_UNAVAILABLE");
	assert_string_equal(frame_error_code_name(
	    NWD__V1__ERROR_CODE__ERROR_SHUTTING_DOWN), "ERROR_SHUTTING_DOWN");
	assert_string_equal(frame_error_code_name(
	    (Nwd__V1__ErrorCode)999), "ERROR_UNSPECIFIED");
	assert_string_equal(frame_error_code_name(
	    (Nwd__V1__ErrorCode)-1), "ERROR_UNSPECIFIED");
}

/*
 * frame_encode_deliver() writes a Deliver around an envelope that is
 * already packed: its bytes must be exactly those frame_encode() makes of
 * the same Deliver, whatever is set or empty, with varints of one to ten
 * bytes and envelopes whose length needs one, two and three bytes.
 */
static void
check_deliver_same(const Nwd__V1__Envelope *env, uint64_t sub, uint64_t did,
    char **paths, size_t npaths, const char *csv, const char *rule,
    const char *version)
{
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT;
	Nwd__V1__Deliver	 d = NWD__V1__DELIVER__INIT;
	struct frame_deliver	 fd;
	uint8_t			*want, *got, *packed;
	size_t			 wlen, glen, plen;

	d.subscription_id = sub;
	d.delivery_id = did;
	d.envelope = (Nwd__V1__Envelope *)env;
	d.fields_withheld = paths;
	d.n_fields_withheld = npaths;
	d.rule = (char *)(rule != NULL ? rule : "");
	d.policy_version = (char *)(version != NULL ? version : "");
	f.msg_case = NWD__V1__FRAME__MSG_DELIVER;
	f.deliver = &d;
	want = frame_encode(&f, 16u << 20, &wlen);
	assert_non_null(want);

	plen = nwd__v1__envelope__get_packed_size(env);
	packed = malloc(plen > 0 ? plen : 1);
	assert_non_null(packed);
	nwd__v1__envelope__pack(env, packed);
	memset(&fd, 0, sizeof(fd));
	fd.subscription_id = sub;
	fd.delivery_id = did;
	fd.envelope = packed;
	fd.envelope_len = plen;
	fd.withheld = csv;
	fd.rule = rule;
	fd.policy_version = version;
	got = frame_encode_deliver(&fd, 16u << 20, &glen);
	assert_non_null(got);
	assert_int_equal(glen, wlen);
	assert_memory_equal(got, want, wlen);
	/* The limit counts the payload, as frame_encode()'s does. */
	free(got);
	assert_null(frame_encode_deliver(&fd, (uint32_t)(wlen - 5), &glen));
	got = frame_encode_deliver(&fd, (uint32_t)(wlen - 4), &glen);
	assert_non_null(got);
	free(got);
	free(packed);
	free(want);
}

static void
test_encode_deliver_same_bytes(void **state)
{
	struct pub	 p;
	char		*two[] = { "source_details", "grading" };
	char		*one[] = { "third_parties" };
	char		*big, *huge;
	uint64_t	 ids[] = { 0, 1, 127, 128, 16383, 16384, 1ull << 35,
			    UINT64_MAX };
	size_t		 i;

	pub_init(&p);
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		check_deliver_same(&p.env, ids[i], ids[sizeof(ids) /
		    sizeof(ids[0]) - 1 - i], two, 2, "source_details,grading",
		    "intelligence-summary", "sha256:0123456789abcdef");
	/* Nothing withheld, no rule, no version: the fields are left out. */
	check_deliver_same(&p.env, 3, 4, NULL, 0, "", NULL, NULL);
	check_deliver_same(&p.env, 3, 4, NULL, 0, NULL, "", "");
	/* Empty entries of the list are skipped, as strtok() did. */
	check_deliver_same(&p.env, 3, 4, one, 1, ",third_parties,", "r", "v");
	/* Envelopes whose length takes two and three bytes. */
	big = malloc(300);
	huge = malloc(70000);
	assert_non_null(big);
	assert_non_null(huge);
	memset(big, 'b', 299);
	big[299] = '\0';
	memset(huge, 'h', 69999);
	huge[69999] = '\0';
	p.intel.summary = big;
	check_deliver_same(&p.env, 1, 2, one, 1, "third_parties", "r", "v");
	p.intel.summary = huge;
	check_deliver_same(&p.env, 1, 2, one, 1, "third_parties", "r", "v");
	free(big);
	free(huge);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peek_length),
		cmocka_unit_test(test_length_ok),
		cmocka_unit_test(test_round_trip_publish),
		cmocka_unit_test(test_round_trip_deliver),
		cmocka_unit_test(test_encode_deliver_same_bytes),
		cmocka_unit_test(test_round_trip_error),
		cmocka_unit_test(test_round_trip_subscribe),
		cmocka_unit_test(test_request_strings_not_utf8),
		cmocka_unit_test(test_envelope_left_to_validation),
		cmocka_unit_test(test_broker_frames_not_judged),
		cmocka_unit_test(test_encode_limit),
		cmocka_unit_test(test_encode_empty_frame),
		cmocka_unit_test(test_decode_garbage),
		cmocka_unit_test(test_decode_wrong_submessage_type),
		cmocka_unit_test(test_decode_truncated),
		cmocka_unit_test(test_decode_empty_payload),
		cmocka_unit_test(test_decode_lying_length),
		cmocka_unit_test(test_cap_large_ok),
		cmocka_unit_test(test_cap_small_refuses),
		cmocka_unit_test(test_cap_medium_refuses),
		cmocka_unit_test(test_cap_single_large_allocation),
		cmocka_unit_test(test_cap_envelope),
		cmocka_unit_test(test_msg_name),
		cmocka_unit_test(test_error_code_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
