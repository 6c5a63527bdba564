/*
 * Unit tests for client/pbjson.c: JSON <-> protobuf-c over descriptors.
 * Linked with pbjson.c, the proto library, json-c and cmocka only.
 * Field names are read as the .proto spells them or in proto3's
 * lowerCamelCase, enum names in any case; a key twice is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json.h>

#include "envelope.h"
#include "frame.h"
#include "pbjson.h"

/* ------------------------------------------------------------------------
 * A hand-written recursive message with the scalar types nwd.proto lacks,
 * so that nesting limits and bytes, double, float, sint32, uint64 and
 * proto2-style optional fields are exercised too.
 */
typedef struct Node Node;
struct Node {
	ProtobufCMessage	 base;
	Node			*child;
	ProtobufCBinaryData	 data;
	double			 ratio;
	uint64_t		 big;
	int32_t			 neg;
	protobuf_c_boolean	 has_opt;
	int32_t			 opt;
	float			 f;
};

static const ProtobufCMessageDescriptor node_descriptor;

static const ProtobufCFieldDescriptor node_fields[] = {
	{ "child", 1, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_MESSAGE, 0,
	    offsetof(Node, child), &node_descriptor, NULL, 0, 0, NULL, NULL },
	{ "data", 2, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_BYTES, 0,
	    offsetof(Node, data), NULL, NULL, 0, 0, NULL, NULL },
	{ "ratio", 3, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_DOUBLE, 0,
	    offsetof(Node, ratio), NULL, NULL, 0, 0, NULL, NULL },
	{ "big", 4, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_UINT64, 0,
	    offsetof(Node, big), NULL, NULL, 0, 0, NULL, NULL },
	{ "neg", 5, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_SINT32, 0,
	    offsetof(Node, neg), NULL, NULL, 0, 0, NULL, NULL },
	{ "opt", 6, PROTOBUF_C_LABEL_OPTIONAL, PROTOBUF_C_TYPE_INT32,
	    offsetof(Node, has_opt), offsetof(Node, opt), NULL, NULL, 0, 0,
	    NULL, NULL },
	{ "f", 7, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_FLOAT, 0,
	    offsetof(Node, f), NULL, NULL, 0, 0, NULL, NULL },
};
/* big, child, data, f, neg, opt, ratio */
static const unsigned node_by_name[] = { 3, 0, 1, 6, 4, 5, 2 };
static const ProtobufCIntRange node_ranges[] = { { 1, 0 }, { 0, 7 } };

static void
node_init(ProtobufCMessage *m)
{
	static const Node init = { PROTOBUF_C_MESSAGE_INIT(&node_descriptor),
	    NULL, { 0, NULL }, 0, 0, 0, 0, 0, 0 };

	*(Node *)m = init;
}

static const ProtobufCMessageDescriptor node_descriptor = {
	PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC, "test.Node", "Node", "Test__Node",
	"test", sizeof(Node), 7, node_fields, node_by_name, 1, node_ranges,
	node_init, NULL, NULL, NULL
};

/* ------------------------------------------------------------------------
 * Helpers
 */
static char errbuf[512];

static ProtobufCMessage *
parse(const ProtobufCMessageDescriptor *d, const char *json)
{
	errbuf[0] = '\0';
	return pbjson_parse(d, json, strlen(json), errbuf, sizeof(errbuf));
}

/* Asserts that json does not parse as d and fails with exactly want. */
static void
expect_error(const ProtobufCMessageDescriptor *d, const char *json,
    const char *want)
{
	ProtobufCMessage *m;

	m = parse(d, json);
	if (m != NULL)
		protobuf_c_message_free_unpacked(m, NULL);
	assert_null(m);
	assert_string_equal(errbuf, want);
}

/* Asserts that two JSON texts hold equal values. */
static void
assert_json_equal(const char *got, const char *want)
{
	json_object	*a, *b;
	int		 eq;

	a = json_tokener_parse(got);
	b = json_tokener_parse(want);
	assert_non_null(a);
	assert_non_null(b);
	eq = json_object_equal(a, b);
	if (!eq)
		print_error("got  %s\nwant %s\n", got, want);
	json_object_put(a);
	json_object_put(b);
	assert_true(eq);
}

/*
 * Parses json as d, prints it, packs it, unpacks the bytes and prints
 * again: both prints must equal the input (which sets no default values).
 */
static void
round_trip(const ProtobufCMessageDescriptor *d, const char *json)
{
	ProtobufCMessage	*m, *u;
	uint8_t			*buf;
	size_t			 n;
	char			*out;

	m = parse(d, json);
	if (m == NULL)
		print_error("parse: %s\n", errbuf);
	assert_non_null(m);
	assert_non_null(out = pbjson_print(m, 0));
	assert_json_equal(out, json);
	free(out);

	n = protobuf_c_message_get_packed_size(m);
	assert_non_null(buf = malloc(n + 1));
	assert_int_equal(protobuf_c_message_pack(m, buf), n);
	u = protobuf_c_message_unpack(d, NULL, n, buf);
	assert_non_null(u);
	assert_non_null(out = pbjson_print(u, 0));
	assert_json_equal(out, json);
	free(out);
	free(buf);
	protobuf_c_message_free_unpacked(u, NULL);
	protobuf_c_message_free_unpacked(m, NULL);
}

/* ------------------------------------------------------------------------
 * One body of every kind, with every field set.
 */
static const char *const bodies[] = {
	[NWD__V1__KIND__INTELLIGENCE_REPORT] =
	    "{\"grading\": {\"source_evaluation\": 1, \"assessment\": \"B\","
	    " \"handling_code\": \"HANDLING_C\", \"handling_conditions\":"
	    " \"named recipients only\"},"
	    " \"legacy\": {\"source_evaluation\": \"A\","
	    " \"intelligence_evaluation\": 2, \"handling_code\": 4},"
	    " \"sanitised\": true,"
	    " \"summary\": \"Seen with older males near the station\","
	    " \"source_details\": {\"reference\": \"SRC-9\","
	    " \"relationship\": \"lives nearby\", \"source\": {\"name\":"
	    " \"J Smith\", \"relationship\": \"neighbour\", \"address\":"
	    " {\"line1\": \"1 High St\", \"town\": \"Norwich\","
	    " \"postcode\": \"NR1 1AA\"}, \"phone\": \"01603 000000\"}},"
	    " \"third_parties\": [{\"name\": \"A\"}, {\"name\": \"B\","
	    " \"address\": {\"town\": \"Norwich\"}}],"
	    " \"location\": {\"line1\": \"Station Rd\", \"line2\": \"Flat 2\","
	    " \"town\": \"Norwich\", \"postcode\": \"NR1 2BB\"},"
	    " \"occurred_unix_ms\": 1699999999000}",
	[NWD__V1__KIND__MISSING_EPISODE] =
	    "{\"status\": \"RETURNED\", \"reported_unix_ms\": 1700000000000,"
	    " \"found_unix_ms\": 1700000360000, \"last_seen\": {\"town\":"
	    " \"Thetford\"}, \"circumstances\": \"left placement after a row\","
	    " \"return_interview_due_unix_ms\": 1700259560000,"
	    " \"return_interview_done_unix_ms\": 1700100000000,"
	    " \"return_interview_summary\": \"stayed with a friend\","
	    " \"associates\": [{\"name\": \"C\", \"relationship\":"
	    " \"associate\", \"phone\": \"07700 900000\"}]}",
	[NWD__V1__KIND__RISK_ALERT] =
	    "{\"category\": \"CRIMINAL_EXPLOITATION\", \"level\": \"HIGH\","
	    " \"summary\": \"county lines contact\", \"details\": \"phone"
	    " seized\", \"associates\": [{\"name\": \"D\"}, {\"name\": \"E\","
	    " \"phone\": \"07700 900001\"}], \"location\": {\"postcode\":"
	    " \"NR2 3CC\"}}",
	[NWD__V1__KIND__DOMESTIC_ABUSE_NOTIFICATION] =
	    "{\"incident_unix_ms\": 1700000000000, \"summary\": \"police"
	    " called at 02:10\", \"child_present\": true, \"victim\":"
	    " {\"name\": \"F\", \"relationship\": \"mother\"},"
	    " \"perpetrator\": {\"name\": \"G\", \"relationship\":"
	    " \"stepfather\"}, \"address\": {\"line1\": \"2 Low Rd\"},"
	    " \"notify_school_by_unix_ms\": 1700031600000,"
	    " \"police_reference\": \"NC-20231115-0042\", \"school\":"
	    " \"North High School\", \"child_present_state\": \"PRESENT\","
	    " \"do_not_contact_parents\": true, \"guidance\": \"speak to the"
	    " child alone\"}",
	[NWD__V1__KIND__CAMHS_UPDATE] =
	    "{\"risk_summary\": \"self-harm risk increased\","
	    " \"clinical_formulation\": \"...\", \"risk_level\": \"MEDIUM\","
	    " \"next_appointment_unix_ms\": 1700500000000, \"clinician\":"
	    " \"Dr H\"}",
	[NWD__V1__KIND__PLACEMENT_CHANGE] =
	    "{\"from_placement\": \"hub:norwich\", \"to_placement\": \"foster"
	    " placement\", \"address\": {\"line1\": \"3 Elm Close\", \"town\":"
	    " \"Dereham\"}, \"effective_unix_ms\": 1700600000000, \"reason\":"
	    " \"planned move\"}",
	[NWD__V1__KIND__STRATEGY_DISCUSSION_REQUEST] =
	    "{\"reason\": \"s47 threshold met\", \"needed_by_unix_ms\":"
	    " 1700086400000, \"invitees\": [\"police:mash\", \"camhs:duty\"],"
	    " \"concerns\": \"exploitation\"}",
	[NWD__V1__KIND__ALLOCATION] =
	    "{\"team\": \"hub:norwich\", \"worker\": \"sw-42\","
	    " \"from_unix_ms\": 1700000000000, \"until_unix_ms\":"
	    " 1731536000000}",
	[NWD__V1__KIND__CONSENT_RECORD] =
	    "{\"given_by\": \"young person\", \"status\": \"GIVEN\","
	    " \"purposes\": [\"camhs referral\", \"school liaison\"],"
	    " \"kinds\": [\"CAMHS_UPDATE\", \"RISK_ALERT\"], \"agencies\":"
	    " [\"camhs\", \"hub\"], \"competence\": \"ASSESSED_COMPETENT\","
	    " \"recorded_unix_ms\": 1700000000000, \"expires_unix_ms\":"
	    " 1731536000000}",
	[NWD__V1__KIND__RETURN_INTERVIEW] =
	    "{\"status\": \"DONE\", \"offered_unix_ms\": 1700100000000,"
	    " \"done_unix_ms\": 1700200000000, \"conducted_by\": \"Sam,"
	    " return worker\", \"independent\": true, \"summary\": \"stayed"
	    " with a friend\"}",
	[NWD__V1__KIND__ESCALATION] =
	    "{\"about_message_id\": \"5f1a2b3c-0000-4000-8000-000000000002\","
	    " \"about_kind\": \"MISSING_EPISODE\", \"rule\":"
	    " \"return-interview-72h\", \"reason\": \"DEADLINE_BREACHED\","
	    " \"due_unix_ms\": 1700259200000, \"since_unix_ms\":"
	    " 1700000000000, \"reached\": [\"hubsys-norwich\", \"a"
	    " hub_keyworker\"], \"acknowledged\": [\"hubsys-norwich\"],"
	    " \"count\": 2, \"summary\": \"no return interview in 72"
	    " hours\"}",
};

static const char header_fmt[] =
    "{\"header\": {\"message_id\": \"0b0e5d3c-8f0e-4a57-9c1a-2f4d1e6b7a90\","
    " \"kind\": \"%s\", \"subject\": {\"local_id\": \"YP-001\","
    " \"nhs_number\": \"9434765919\"}, \"marking\": \"OFFICIAL_SENSITIVE\","
    " \"priority\": \"HIGH\", \"legal_basis\": \"SAFEGUARDING\","
    " \"justification\": \"s47 enquiry\", \"share_with\": [\"hub:norwich\","
    " \"camhs-duty\"], \"supersedes\":"
    " \"5f1a2b3c-0000-4000-8000-000000000001\", \"references\":"
    " \"5f1a2b3c-0000-4000-8000-000000000002\", \"created_unix_ms\":"
    " 1700000000123, \"sender\": \"pc-123\", \"originating_agency\":"
    " \"police\"}, \"%s\": %s}";

static void
test_bodies_round_trip(void **state)
{
	const ProtobufCMessageDescriptor *d;
	int k;

	for (k = NWD__V1__KIND__INTELLIGENCE_REPORT;
	    k <= NWD__V1__KIND__ESCALATION; k++) {
		assert_non_null(d = envelope_kind_body_descriptor(k));
		assert_non_null(bodies[k]);
		round_trip(d, bodies[k]);
	}
}

static void
test_envelopes_round_trip(void **state)
{
	const ProtobufCEnumValue *ev;
	Nwd__V1__Envelope *e;
	char json[4096];
	int k;

	for (k = NWD__V1__KIND__INTELLIGENCE_REPORT;
	    k <= NWD__V1__KIND__ESCALATION; k++) {
		ev = protobuf_c_enum_descriptor_get_value(
		    &nwd__v1__kind__descriptor, k);
		assert_non_null(ev);
		snprintf(json, sizeof(json), header_fmt, ev->name,
		    envelope_kind_name(k), bodies[k]);
		round_trip(&nwd__v1__envelope__descriptor, json);

		/* The oneof case is set and the envelope is a valid one. */
		e = (Nwd__V1__Envelope *)parse(&nwd__v1__envelope__descriptor,
		    json);
		assert_non_null(e);
		assert_int_equal(e->body_case, envelope_kind_body_case(k));
		assert_non_null(envelope_body(e));
		if (envelope_validate(e, errbuf, sizeof(errbuf)) != 0)
			print_error("%s: %s\n", envelope_kind_name(k), errbuf);
		assert_int_equal(envelope_validate(e, errbuf, sizeof(errbuf)),
		    0);
		protobuf_c_message_free_unpacked(&e->base, NULL);
	}
}

static void
test_frame_round_trip(void **state)
{
	round_trip(&nwd__v1__frame__descriptor,
	    "{\"request_id\": 7, \"deliver\": {\"subscription_id\": 1,"
	    " \"delivery_id\": 9007199254740993, \"envelope\": {\"header\":"
	    " {\"kind\": \"ALLOCATION\", \"subject\": {\"local_id\": \"YP-2\"}},"
	    " \"allocation\": {\"team\": \"hub:norwich\"}},"
	    " \"fields_withheld\": [\"source_details\", \"grading\"],"
	    " \"rule\": \"hub-allocated\", \"policy_version\": \"sha256:ab\"}}");
	round_trip(&nwd__v1__frame__descriptor,
	    "{\"request_id\": 3, \"error\": {\"code\": \"ERROR_FORBIDDEN\","
	    " \"text\": \"no rule\", \"request_id\": 3}}");
	round_trip(&nwd__v1__frame__descriptor,
	    "{\"request_id\": 4, \"subscribe\": {\"kinds\": [\"RISK_ALERT\","
	    " \"MISSING_EPISODE\"], \"subjects\": [\"YP-001\"],"
	    " \"durable_name\": \"hub\"}}");
}

static void
test_enum_by_name_and_number(void **state)
{
	Nwd__V1__RiskAlert	*r;
	Nwd__V1__Subscribe	*s;
	char			*out;

	r = (Nwd__V1__RiskAlert *)parse(&nwd__v1__risk_alert__descriptor,
	    "{\"category\": 1, \"level\": \"HIGH\"}");
	assert_non_null(r);
	assert_int_equal(r->category,
	    NWD__V1__RISK_ALERT__CATEGORY__CRIMINAL_EXPLOITATION);
	assert_int_equal(r->level, NWD__V1__RISK_ALERT__LEVEL__HIGH);
	out = pbjson_print(&r->base, 0);
	assert_string_equal(out,
	    "{\"category\":\"CRIMINAL_EXPLOITATION\",\"level\":\"HIGH\"}");
	free(out);
	protobuf_c_message_free_unpacked(&r->base, NULL);

	/* Repeated enums mix names and numbers; 0 is a value like any. */
	s = (Nwd__V1__Subscribe *)parse(&nwd__v1__subscribe__descriptor,
	    "{\"kinds\": [\"RISK_ALERT\", 2, 0, 9]}");
	assert_non_null(s);
	assert_int_equal(s->n_kinds, 4);
	assert_int_equal(s->kinds[0], NWD__V1__KIND__RISK_ALERT);
	assert_int_equal(s->kinds[1], NWD__V1__KIND__MISSING_EPISODE);
	assert_int_equal(s->kinds[2], NWD__V1__KIND__KIND_UNSPECIFIED);
	assert_int_equal(s->kinds[3], NWD__V1__KIND__CONSENT_RECORD);
	protobuf_c_message_free_unpacked(&s->base, NULL);
}


/*
 * An IntelligenceReport's occurred_unix_ms read from in must be want, print
 * exactly as printed, and parse back to want.
 */
static void
occurred_round_trip(const char *in, int64_t want, const char *printed)
{
	const ProtobufCMessageDescriptor *d =
	    &nwd__v1__intelligence_report__descriptor;
	Nwd__V1__IntelligenceReport	*r;
	char				*out;

	r = (Nwd__V1__IntelligenceReport *)parse(d, in);
	assert_non_null(r);
	assert_true(r->occurred_unix_ms == want);
	out = pbjson_print(&r->base, 0);
	assert_non_null(out);
	assert_string_equal(out, printed);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	r = (Nwd__V1__IntelligenceReport *)parse(d, out);
	free(out);
	assert_non_null(r);
	assert_true(r->occurred_unix_ms == want);
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void
test_integers(void **state)
{
	Nwd__V1__IntelligenceReport	*r;
	Nwd__V1__Deliver		*d;
	char				*out;

	r = (Nwd__V1__IntelligenceReport *)parse(
	    &nwd__v1__intelligence_report__descriptor,
	    "{\"occurred_unix_ms\": \"-1700000000000\", \"grading\":"
	    " {\"source_evaluation\": \"3\"}}");
	assert_non_null(r);
	assert_int_equal(r->occurred_unix_ms, -1700000000000LL);
	assert_int_equal(r->grading->source_evaluation, 3);
	protobuf_c_message_free_unpacked(&r->base, NULL);

	r = (Nwd__V1__IntelligenceReport *)parse(
	    &nwd__v1__intelligence_report__descriptor,
	    "{\"occurred_unix_ms\": 1e12}");
	assert_non_null(r);
	assert_int_equal(r->occurred_unix_ms, 1000000000000LL);
	protobuf_c_message_free_unpacked(&r->base, NULL);

	/*
	 * Extremes are exact as strings.  The two that json-c cannot tell
	 * from an overflow (UINT64_MAX, INT64_MIN) print as strings too, so
	 * that they parse back; the rest print as numbers.
	 */
	d = (Nwd__V1__Deliver *)parse(&nwd__v1__deliver__descriptor,
	    "{\"delivery_id\": \"18446744073709551615\","
	    " \"subscription_id\": 18446744073709551614}");
	assert_non_null(d);
	assert_true(d->delivery_id == UINT64_MAX);
	assert_true(d->subscription_id == UINT64_MAX - 1);
	out = pbjson_print(&d->base, 0);
	assert_string_equal(out, "{\"subscription_id\":18446744073709551614,"
	    "\"delivery_id\":\"18446744073709551615\"}");
	protobuf_c_message_free_unpacked(&d->base, NULL);
	d = (Nwd__V1__Deliver *)parse(&nwd__v1__deliver__descriptor, out);
	assert_non_null(d);
	assert_true(d->delivery_id == UINT64_MAX);
	free(out);
	protobuf_c_message_free_unpacked(&d->base, NULL);

	occurred_round_trip("{\"occurred_unix_ms\": \"-9223372036854775808\"}",
	    INT64_MIN, "{\"occurred_unix_ms\":\"-9223372036854775808\"}");
	/* The value next to it stays a number. */
	occurred_round_trip("{\"occurred_unix_ms\": -9223372036854775807}",
	    INT64_MIN + 1, "{\"occurred_unix_ms\":-9223372036854775807}");
}

static void
test_nested_repeated_oneof(void **state)
{
	Nwd__V1__Envelope		*e;
	Nwd__V1__IntelligenceReport	*r;

	e = (Nwd__V1__Envelope *)parse(&nwd__v1__envelope__descriptor,
	    "{\"intelligence_report\": {\"third_parties\": [{\"name\": \"A\"},"
	    " {\"name\": \"B\", \"address\": {\"town\": \"Norwich\"}}],"
	    " \"sanitised\": true}}");
	assert_non_null(e);
	assert_null(e->header);
	assert_int_equal(e->body_case,
	    NWD__V1__ENVELOPE__BODY_INTELLIGENCE_REPORT);
	r = e->intelligence_report;
	assert_true(r->sanitised);
	assert_int_equal(r->n_third_parties, 2);
	assert_string_equal(r->third_parties[0]->name, "A");
	assert_null(r->third_parties[0]->address);
	assert_string_equal(r->third_parties[0]->phone, "");
	assert_string_equal(r->third_parties[1]->address->town, "Norwich");
	assert_string_equal(r->summary, "");
	protobuf_c_message_free_unpacked(&e->base, NULL);

	/* null is "not set", for a submessage and in a oneof. */
	e = (Nwd__V1__Envelope *)parse(&nwd__v1__envelope__descriptor,
	    "{\"header\": null, \"risk_alert\": null, \"allocation\":"
	    " {\"team\": \"t\"}}");
	assert_non_null(e);
	assert_null(e->header);
	assert_int_equal(e->body_case, NWD__V1__ENVELOPE__BODY_ALLOCATION);
	protobuf_c_message_free_unpacked(&e->base, NULL);

	/* An empty object is a present, empty message. */
	e = (Nwd__V1__Envelope *)parse(&nwd__v1__envelope__descriptor,
	    "{\"header\": {}, \"risk_alert\": {}}");
	assert_non_null(e);
	assert_non_null(e->header);
	assert_int_equal(e->body_case, NWD__V1__ENVELOPE__BODY_RISK_ALERT);
	assert_non_null(e->risk_alert);
	protobuf_c_message_free_unpacked(&e->base, NULL);
}

static void
test_print(void **state)
{
	Nwd__V1__Envelope	 e = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header		 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef	 s = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__Allocation	 a = NWD__V1__ALLOCATION__INIT;
	char			*out;

	s.local_id = "YP-001";
	h.kind = NWD__V1__KIND__ALLOCATION;
	h.subject = &s;
	h.created_unix_ms = 1700000000123LL;
	a.team = "hub/norwich";
	e.header = &h;
	e.body_case = NWD__V1__ENVELOPE__BODY_ALLOCATION;
	e.allocation = &a;

	/* Defaults and unset submessages are omitted; "/" is not escaped. */
	out = pbjson_print(&e.base, 0);
	assert_string_equal(out, "{\"header\":{\"kind\":\"ALLOCATION\","
	    "\"subject\":{\"local_id\":\"YP-001\"},"
	    "\"created_unix_ms\":1700000000123},"
	    "\"allocation\":{\"team\":\"hub/norwich\"}}");
	free(out);

	out = pbjson_print(&a.base, PBJSON_EMIT_DEFAULTS);
	assert_string_equal(out, "{\"team\":\"hub/norwich\",\"worker\":\"\","
	    "\"from_unix_ms\":0,\"until_unix_ms\":0}");
	free(out);

	out = pbjson_print(&s.base, PBJSON_PRETTY);
	assert_string_equal(out, "{\n  \"local_id\": \"YP-001\"\n}");
	free(out);

	/* An enum value the schema does not know prints as its number. */
	h.kind = 42;
	out = pbjson_print(&h.base, 0);
	assert_string_equal(out, "{\"kind\":42,\"subject\":{\"local_id\":"
	    "\"YP-001\"},\"created_unix_ms\":1700000000123}");
	free(out);
}

static void
test_generic_types(void **state)
{
	Node	*n;
	char	*out;

	n = (Node *)parse(&node_descriptor,
	    "{\"data\": \"aGVsbG8=\", \"ratio\": 0.5, \"big\": \"42\","
	    " \"neg\": -7, \"opt\": 0, \"f\": 1.5, \"child\": {\"data\":"
	    " \"\", \"ratio\": \"-Infinity\", \"child\": {\"data\": \"YQ==\"}}}");
	if (n == NULL)
		print_error("%s\n", errbuf);
	assert_non_null(n);
	assert_int_equal(n->data.len, 5);
	assert_memory_equal(n->data.data, "hello", 5);
	assert_true(n->ratio == 0.5);
	assert_true(n->big == 42);
	assert_int_equal(n->neg, -7);
	assert_true(n->has_opt);
	assert_int_equal(n->opt, 0);
	assert_true(n->f == 1.5f);
	assert_non_null(n->child);
	assert_non_null(n->child->child);
	assert_int_equal(n->child->child->data.len, 1);

	/* opt is present though zero: it has a has_ flag. */
	out = pbjson_print(&n->base, 0);
	assert_string_equal(out, "{\"child\":{\"child\":{\"data\":\"YQ==\"},"
	    "\"ratio\":\"-Infinity\"},\"data\":\"aGVsbG8=\",\"ratio\":0.5,"
	    "\"big\":42,\"neg\":-7,\"opt\":0,\"f\":1.5}");
	free(out);
	protobuf_c_message_free_unpacked(&n->base, NULL);

	expect_error(&node_descriptor, "{\"data\": \"aGVsbG8\"}",
	    "field 'data': expected base64 text (bytes)");
	expect_error(&node_descriptor, "{\"data\": \"aGV*bG8=\"}",
	    "field 'data': expected base64 text (bytes)");
	expect_error(&node_descriptor, "{\"neg\": 2147483648}",
	    "field 'neg': 2147483648 is out of range for sint32");
	expect_error(&node_descriptor, "{\"neg\": -2147483649}",
	    "field 'neg': -2147483649 is out of range for sint32");
	expect_error(&node_descriptor, "{\"big\": -1}",
	    "field 'big': -1 is out of range for uint64");
	expect_error(&node_descriptor, "{\"big\": 18446744073709551615}",
	    "field 'big': 18446744073709551615 is out of range for uint64 "
	    "(write the extreme 64-bit values as strings)");
	expect_error(&node_descriptor, "{\"big\": \"18446744073709551616\"}",
	    "field 'big': \"18446744073709551616\" is out of range for uint64");
	expect_error(&node_descriptor, "{\"f\": 1e39}",
	    "field 'f': 1e+39 is out of range for float");
	expect_error(&node_descriptor, "{\"ratio\": \"half\"}",
	    "field 'ratio': \"half\" is not a number (double)");
	expect_error(&node_descriptor, "{\"ratio\": true}",
	    "field 'ratio': expected double, got boolean");
}

static void
test_error_unknown_field(void **state)
{
	expect_error(&nwd__v1__intelligence_report__descriptor,
	    "{\"sanitised\": true, \"grading\": {\"source_evaluation\": 1,"
	    " \"foo\": 2}}",
	    "unknown field 'grading.foo'");
	expect_error(&nwd__v1__intelligence_report__descriptor,
	    "{\"third_parties\": [{}, {\"address\": {\"town\": \"N\","
	    " \"county\": \"Norfolk\"}}]}",
	    "unknown field 'third_parties[1].address.county'");
	expect_error(&nwd__v1__risk_alert__descriptor, "{\"Level\": 1}",
	    "unknown field 'Level'");
	/* A lowerCamelCase name is a field's only if it is that field's. */
	expect_error(&nwd__v1__risk_alert__descriptor, "{\"summary\": \"x\","
	    " \"location\": {\"line1\": \"a\"}, \"localId\": \"y\"}",
	    "unknown field 'localId'");
}

/*
 * Issue 21: proto3's lowerCamelCase names beside the field names, a field
 * given under both refused, a key twice in an object refused (json-c would
 * keep the last), enum names in any case.
 */
static void
test_names_and_case(void **state)
{
	Nwd__V1__MissingEpisode	*m;
	Nwd__V1__Subscribe	*s;

	m = (Nwd__V1__MissingEpisode *)parse(
	    &nwd__v1__missing_episode__descriptor, "{\"status\": "
	    "\"reported_missing\", \"reportedUnixMs\": 5, \"lastSeen\": "
	    "{\"town\": \"Norwich\"}, \"associates\": [{\"name\": \"A\"}, "
	    "{\"name\": \"B\"}], \"return_interview_due_unix_ms\": 7}");
	assert_non_null(m);
	assert_int_equal(m->status,
	    NWD__V1__MISSING_EPISODE__STATUS__REPORTED_MISSING);
	assert_int_equal(m->reported_unix_ms, 5);
	assert_int_equal(m->return_interview_due_unix_ms, 7);
	assert_string_equal(m->last_seen->town, "Norwich");
	assert_int_equal(m->n_associates, 2);
	protobuf_c_message_free_unpacked(&m->base, NULL);

	s = (Nwd__V1__Subscribe *)parse(&nwd__v1__subscribe__descriptor,
	    "{\"kinds\": [\"risk_alert\", \"Missing_Episode\"]}");
	assert_non_null(s);
	assert_int_equal(s->kinds[0], NWD__V1__KIND__RISK_ALERT);
	assert_int_equal(s->kinds[1], NWD__V1__KIND__MISSING_EPISODE);
	protobuf_c_message_free_unpacked(&s->base, NULL);

	expect_error(&nwd__v1__missing_episode__descriptor,
	    "{\"reported_unix_ms\": 1, \"reportedUnixMs\": 2}",
	    "field 'reportedUnixMs' given twice (as 'reported_unix_ms' and "
	    "'reportedUnixMs')");
	expect_error(&nwd__v1__missing_episode__descriptor,
	    "{\"last_seen\": {\"town\": \"a\"},\n \"lastSeen\": {}}",
	    "field 'lastSeen' given twice (as 'last_seen' and 'lastSeen')");
	expect_error(&nwd__v1__risk_alert__descriptor,
	    "{\"summary\": \"a\",\n  \"summary\": \"b\"}",
	    "duplicate key 'summary' at line 2, column 3 (each key may "
	    "appear once in an object)");
	expect_error(&nwd__v1__risk_alert__descriptor,
	    "{\"location\": {\"town\": \"a\", \"t\\u006fwn\": \"b\"}}",
	    "duplicate key 'town' at line 1, column 28 (each key may "
	    "appear once in an object)");
	/* The same key in two objects is no duplicate, nor a string value
	 * that looks like a key. */
	m = (Nwd__V1__MissingEpisode *)parse(
	    &nwd__v1__missing_episode__descriptor, "{\"circumstances\": "
	    "\"status\", \"associates\": [{\"name\": \"{\\\"x\"}, "
	    "{\"name\": \"B\"}], \"last_seen\": {\"town\": \"N\"}}");
	assert_non_null(m);
	protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void
test_error_wrong_type(void **state)
{
	const ProtobufCMessageDescriptor *ir =
	    &nwd__v1__intelligence_report__descriptor;

	expect_error(ir, "{\"sanitised\": \"yes\"}",
	    "field 'sanitised': expected bool, got string");
	expect_error(ir, "{\"sanitised\": 1}",
	    "field 'sanitised': expected bool, got number");
	expect_error(ir, "{\"summary\": 12}",
	    "field 'summary': expected string, got number");
	expect_error(ir, "{\"grading\": {\"source_evaluation\": \"two\"}}",
	    "field 'grading.source_evaluation': \"two\" is not a number "
	    "(uint32)");
	expect_error(ir, "{\"grading\": {\"source_evaluation\": -1}}",
	    "field 'grading.source_evaluation': -1 is out of range for uint32");
	expect_error(ir, "{\"grading\": {\"source_evaluation\": 4294967296}}",
	    "field 'grading.source_evaluation': 4294967296 is out of range "
	    "for uint32");
	expect_error(ir, "{\"grading\": {\"source_evaluation\": [1]}}",
	    "field 'grading.source_evaluation': expected uint32, got array");
	expect_error(ir, "{\"occurred_unix_ms\": 1.5}",
	    "field 'occurred_unix_ms': 1.5 is not an integer (int64)");
	expect_error(ir, "{\"occurred_unix_ms\": \"12 \"}",
	    "field 'occurred_unix_ms': \"12 \" is not a number (int64)");
	expect_error(ir, "{\"occurred_unix_ms\": 9223372036854775808}",
	    "field 'occurred_unix_ms': 9223372036854775808 is out of range "
	    "for int64");
	expect_error(ir, "{\"grading\": []}",
	    "field 'grading': expected object nwd.v1.Grading, got array");
	expect_error(ir, "{\"third_parties\": {\"name\": \"A\"}}",
	    "field 'third_parties': expected array of nwd.v1.ThirdParty, "
	    "got object");
	expect_error(ir, "{\"third_parties\": [{\"name\": \"A\"}, null]}",
	    "field 'third_parties[1]': expected object nwd.v1.ThirdParty, "
	    "got null");
	expect_error(ir, "{\"third_parties\": [{\"name\": \"A\"}, \"B\"]}",
	    "field 'third_parties[1]': expected object nwd.v1.ThirdParty, "
	    "got string");
	expect_error(&nwd__v1__consent_record__descriptor,
	    "{\"purposes\": [\"a\", 2]}",
	    "field 'purposes[1]': expected string, got number");
	expect_error(ir, "{\"summary\": \"a\\u0000b\"}",
	    "field 'summary': string contains a NUL character");
	expect_error(&nwd__v1__risk_alert__descriptor, "{\"level\": true}",
	    "field 'level': expected enum nwd.v1.RiskAlert.Level, got boolean");
	expect_error(&nwd__v1__risk_alert__descriptor, "[]",
	    "expected a JSON object for nwd.v1.RiskAlert, got array");
	expect_error(&nwd__v1__risk_alert__descriptor, "\"x\"",
	    "expected a JSON object for nwd.v1.RiskAlert, got string");
}

static void
test_error_bad_enum(void **state)
{
	expect_error(&nwd__v1__risk_alert__descriptor, "{\"level\": \"HUGE\"}",
	    "field 'level': \"HUGE\" is not a value of enum "
	    "nwd.v1.RiskAlert.Level (one of LEVEL_UNSPECIFIED, LOW, MEDIUM, "
	    "HIGH)");
	expect_error(&nwd__v1__risk_alert__descriptor, "{\"level\": 9}",
	    "field 'level': 9 is not a value of enum nwd.v1.RiskAlert.Level");
	expect_error(&nwd__v1__intelligence_report__descriptor,
	    "{\"grading\": {\"handling_code\": \"C\"}}",
	    "field 'grading.handling_code': \"C\" is not a value of enum "
	    "nwd.v1.Grading.HandlingCode (one of HANDLING_UNSPECIFIED, "
	    "HANDLING_P, HANDLING_C)");
	expect_error(&nwd__v1__subscribe__descriptor,
	    "{\"kinds\": [\"RISK_ALERT\", \"risk-alert\"]}",
	    "field 'kinds[1]': \"risk-alert\" is not a value of enum "
	    "nwd.v1.Kind (one of KIND_UNSPECIFIED, INTELLIGENCE_REPORT, "
	    "MISSING_EPISODE, RISK_ALERT, DOMESTIC_ABUSE_NOTIFICATION, "
	    "CAMHS_UPDATE, PLACEMENT_CHANGE, STRATEGY_DISCUSSION_REQUEST, "
	    "ALLOCATION, CONSENT_RECORD, RETURN_INTERVIEW, ESCALATION, "
	    "RETRACTION, SHARING_DECISION, WITHDRAWAL_NOTICE, BREAK_GLASS_ALERT)");
}

static void
test_error_oneof(void **state)
{
	expect_error(&nwd__v1__envelope__descriptor,
	    "{\"risk_alert\": {\"level\": \"LOW\"}, \"allocation\": {}}",
	    "field 'allocation': 'risk_alert' is already set and only one "
	    "field of a oneof may be");
	expect_error(&nwd__v1__frame__descriptor,
	    "{\"ping\": {\"nonce\": 1}, \"pong\": {\"nonce\": 1}}",
	    "field 'pong': 'ping' is already set and only one field of a "
	    "oneof may be");
	/* A failure inside the selected member frees what was built. */
	expect_error(&nwd__v1__envelope__descriptor,
	    "{\"risk_alert\": {\"summary\": \"s\", \"associates\": [{\"name\":"
	    " \"a\"}, {\"name\": 1}]}}",
	    "field 'risk_alert.associates[1].name': expected string, got "
	    "number");
}

static void
test_error_deep_nesting(void **state)
{
	char	 json[4096], want[512];
	size_t	 n = 0, w;
	int	 i;

	/* JSON deeper than the tokener allows. */
	n += snprintf(json + n, sizeof(json) - n, "{\"summary\": ");
	for (i = 0; i < 100; i++)
		json[n++] = '[';
	for (i = 0; i < 100; i++)
		json[n++] = ']';
	json[n++] = '}';
	json[n] = '\0';
	expect_error(&nwd__v1__risk_alert__descriptor, json,
	    "invalid JSON at line 1, column 77: nesting too deep");

	/* Messages nested deeper than PBJSON_MAX_DEPTH. */
	n = w = 0;
	w += snprintf(want + w, sizeof(want) - w, "field '");
	for (i = 0; i <= PBJSON_MAX_DEPTH; i++) {
		n += snprintf(json + n, sizeof(json) - n, "{\"child\": ");
		w += snprintf(want + w, sizeof(want) - w, "%schild",
		    i > 0 ? "." : "");
	}
	n += snprintf(json + n, sizeof(json) - n, "{}");
	for (i = 0; i <= PBJSON_MAX_DEPTH; i++)
		json[n++] = '}';
	json[n] = '\0';
	snprintf(want + w, sizeof(want) - w, "': messages are nested more "
	    "than %d levels deep", PBJSON_MAX_DEPTH);
	expect_error(&node_descriptor, json, want);

	/* One level less is fine. */
	memmove(json, json + strlen("{\"child\": "),
	    strlen(json) - strlen("{\"child\": ") + 1);
	json[strlen(json) - 1] = '\0';
	{
		ProtobufCMessage *m = parse(&node_descriptor, json);

		if (m == NULL)
			print_error("%s\n", errbuf);
		assert_non_null(m);
		protobuf_c_message_free_unpacked(m, NULL);
	}
}

static void
test_error_invalid_json(void **state)
{
	const ProtobufCMessageDescriptor *ra = &nwd__v1__risk_alert__descriptor;
	char	*big;
	size_t	 n, i;

	expect_error(ra, "{\"summary\": }",
	    "invalid JSON at line 1, column 13: unexpected character");
	expect_error(ra, "{\n  \"summary\": \"x\",\n  \"level\": HIGH\n}",
	    "invalid JSON at line 3, column 12: unexpected character");
	expect_error(ra, "{\"summary\": \"x\"",
	    "invalid JSON at line 1, column 16: unexpected end of data");
	expect_error(ra, "", "invalid JSON at line 1, column 1: unexpected "
	    "end of data");
	expect_error(ra, "{\"summary\": \"x\"} {}",
	    "invalid JSON at line 1, column 18: unexpected character");
	expect_error(ra, "{\"summary\": \"x\",}",
	    "invalid JSON at line 1, column 17: unexpected character");
	expect_error(ra, "{\"summary\": \"\xc3\x28\"}",
	    "invalid JSON at line 1, column 15: invalid utf-8 string");

	/* Input past PBJSON_MAX_INPUT is refused before parsing. */
	n = PBJSON_MAX_INPUT + 1;
	assert_non_null(big = malloc(n));
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	assert_null(pbjson_parse(ra, big, n, errbuf, sizeof(errbuf)));
	assert_string_equal(errbuf, "JSON text is 1048577 bytes; at most "
	    "1048576");

	/* A repeated field longer than PBJSON_MAX_REPEATED. */
	n = 0;
	n += (size_t)sprintf(big, "{\"purposes\": [");
	for (i = 0; i <= PBJSON_MAX_REPEATED; i++)
		n += (size_t)sprintf(big + n, "%s\"\"", i > 0 ? "," : "");
	n += (size_t)sprintf(big + n, "]}");
	assert_null(pbjson_parse(&nwd__v1__consent_record__descriptor, big, n,
	    errbuf, sizeof(errbuf)));
	assert_string_equal(errbuf, "field 'purposes': 65537 elements; at "
	    "most 65536");
	free(big);
}

static void
test_not_nul_terminated(void **state)
{
	const char	 text[] = "{\"summary\": \"abc\"}GARBAGE";
	char		*copy;
	Nwd__V1__RiskAlert *r;

	/* Only len bytes are read, from a buffer without a terminator. */
	assert_non_null(copy = malloc(18));
	memcpy(copy, text, 18);
	r = (Nwd__V1__RiskAlert *)pbjson_parse(
	    &nwd__v1__risk_alert__descriptor, copy, 18, errbuf,
	    sizeof(errbuf));
	assert_non_null(r);
	assert_string_equal(r->summary, "abc");
	protobuf_c_message_free_unpacked(&r->base, NULL);
	free(copy);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bodies_round_trip),
		cmocka_unit_test(test_envelopes_round_trip),
		cmocka_unit_test(test_frame_round_trip),
		cmocka_unit_test(test_enum_by_name_and_number),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_nested_repeated_oneof),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_generic_types),
		cmocka_unit_test(test_error_unknown_field),
		cmocka_unit_test(test_names_and_case),
		cmocka_unit_test(test_error_wrong_type),
		cmocka_unit_test(test_error_bad_enum),
		cmocka_unit_test(test_error_oneof),
		cmocka_unit_test(test_error_deep_nesting),
		cmocka_unit_test(test_error_invalid_json),
		cmocka_unit_test(test_not_nul_terminated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
