/*
 * make_seeds: writes the seed corpora of the binary fuzz targets (frame,
 * envelope) and of the JSON target, built from JSON text through pbjson so
 * that they follow the schema.  Run by "deploy/fuzz.sh seeds" after a schema
 * change:
 *
 *   make_seeds DIR      writes DIR/frame/, DIR/envelope/ and DIR/json/
 *
 * Every envelope written is one that envelope_validate() accepts; the
 * program exits non-zero if one is not.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "envelope.h"
#include "frame.h"
#include "pbjson.h"

/* One body of every kind, indexed by kind. */
static const char *const bodies[] = {
	[NWD__V1__KIND__INTELLIGENCE_REPORT] =
	    "{\"grading\": {\"source_evaluation\": 1, \"assessment\": \"B\","
	    " \"handling_code\": \"HANDLING_C\", \"handling_conditions\":"
	    " \"named recipients only\"}, \"legacy\": {\"source_evaluation\":"
	    " \"A\", \"intelligence_evaluation\": 2, \"handling_code\": 4},"
	    " \"sanitised\": true, \"summary\": \"seen near the station\","
	    " \"source_details\": {\"reference\": \"SRC-9\", \"relationship\":"
	    " \"lives nearby\", \"source\": {\"name\": \"J\", \"address\":"
	    " {\"line1\": \"1 High St\", \"postcode\": \"NR1 1AA\"}}},"
	    " \"third_parties\": [{\"name\": \"A\"}, {\"name\": \"B\","
	    " \"address\": {\"town\": \"Norwich\"}}], \"location\":"
	    " {\"town\": \"Norwich\"}, \"occurred_unix_ms\": 1699999999000}",
	[NWD__V1__KIND__MISSING_EPISODE] =
	    "{\"status\": \"RETURNED\", \"reported_unix_ms\": 1700000000000,"
	    " \"last_seen\": {\"town\": \"Thetford\"}, \"circumstances\":"
	    " \"left placement\", \"associates\": [{\"name\": \"C\","
	    " \"phone\": \"07700 900000\"}]}",
	[NWD__V1__KIND__RISK_ALERT] =
	    "{\"category\": \"CRIMINAL_EXPLOITATION\", \"level\": \"HIGH\","
	    " \"summary\": \"county lines contact\", \"associates\":"
	    " [{\"name\": \"D\"}], \"location\": {\"postcode\": \"NR2 3CC\"}}",
	[NWD__V1__KIND__DOMESTIC_ABUSE_NOTIFICATION] =
	    "{\"incident_unix_ms\": 1700000000000, \"summary\": \"police"
	    " called\", \"child_present_state\": \"NOT_KNOWN\", \"victim\":"
	    " {\"name\": \"F\"}, \"perpetrator\": {\"name\": \"G\"},"
	    " \"address\": {\"line1\": \"2 Low Rd\"}, \"police_reference\":"
	    " \"NC-42\", \"school\": \"school:north-high\","
	    " \"do_not_contact_parents\": true, \"guidance\": \"child"
	    " alone\"}",
	[NWD__V1__KIND__CAMHS_UPDATE] =
	    "{\"risk_summary\": \"risk increased\", \"clinical_formulation\":"
	    " \"...\", \"risk_level\": \"MEDIUM\", \"clinician\": \"Dr H\"}",
	[NWD__V1__KIND__PLACEMENT_CHANGE] =
	    "{\"from_placement\": \"hub:norwich\", \"to_placement\": \"foster\","
	    " \"address\": {\"town\": \"Dereham\"}, \"effective_unix_ms\":"
	    " 1700600000000, \"reason\": \"planned move\"}",
	[NWD__V1__KIND__STRATEGY_DISCUSSION_REQUEST] =
	    "{\"reason\": \"s47 threshold met\", \"needed_by_unix_ms\":"
	    " 1700086400000, \"invitees\": [\"police:mash\", \"camhs:duty\"],"
	    " \"concerns\": \"exploitation\"}",
	[NWD__V1__KIND__ALLOCATION] =
	    "{\"team\": \"hub:norwich\", \"worker\": \"sw-42\","
	    " \"from_unix_ms\": 1700000000000, \"until_unix_ms\":"
	    " 1731536000000}",
	[NWD__V1__KIND__CONSENT_RECORD] =
	    "{\"given_by\": \"young person\", \"status\": \"WITHDRAWN\","
	    " \"purposes\": [\"camhs referral\"], \"kinds\":"
	    " [\"CAMHS_UPDATE\"], \"agencies\": [\"camhs\"], \"competence\":"
	    " \"NOT_ASSESSED\", \"recorded_unix_ms\": 1700000000000,"
	    " \"expires_unix_ms\": 1731536000000, \"withdraws\":"
	    " \"5f1a2b3c-0000-4000-8000-000000000003\"}",
	[NWD__V1__KIND__RETURN_INTERVIEW] =
	    "{\"status\": \"DECLINED\", \"offered_unix_ms\": 1700100000000,"
	    " \"conducted_by\": \"S\", \"independent\": true, \"summary\":"
	    " \"...\", \"declined_reason\": \"did not want to\"}",
	[NWD__V1__KIND__ESCALATION] =
	    "{\"about_message_id\": \"5f1a2b3c-0000-4000-8000-000000000002\","
	    " \"about_kind\": \"RISK_ALERT\", \"rule\": \"urgent-ack\","
	    " \"reason\": \"NOT_ACKNOWLEDGED\", \"due_unix_ms\":"
	    " 1700000900000, \"since_unix_ms\": 1700000000000, \"reached\":"
	    " [\"sw-ben\", \"a hub_system\"], \"count\": 1, \"summary\":"
	    " \"nobody acknowledged\"}",
	[NWD__V1__KIND__SHARING_DECISION] =
	    "{\"information\": \"CAMHS formulation of 3 March\","
	    " \"not_shared_with\": [\"police\", \"police:plt\"],"
	    " \"reasons\": [\"MORE_DETRIMENTAL\", \"RISK_TO_OTHERS\"],"
	    " \"explanation\": \"would end the therapeutic relationship\","
	    " \"more_detrimental_to_child\": true, \"decided_unix_ms\":"
	    " 1700000000000, \"review_by_unix_ms\": 1731536000000}",
};
#define NBODIES (sizeof(bodies) / sizeof(bodies[0]))

static const char header_fmt[] =
    "{\"header\": {\"kind\": \"%s\", \"subject\": {\"local_id\": \"YP-001\","
    " \"nhs_number\": \"9434765919\"}, \"marking\": \"OFFICIAL_SENSITIVE\","
    " \"priority\": \"HIGH\", \"legal_basis\": \"SAFEGUARDING\","
    " \"justification\": \"s47 enquiry\", \"share_with\": [\"hub:norwich\","
    " \"camhs-cara\"], \"supersedes\":"
    " \"5f1a2b3c-0000-4000-8000-000000000001\", \"references\":"
    " \"5f1a2b3c-0000-4000-8000-000000000002\"}, \"%s\": %s}";

/* Frames other than Publish, as JSON. */
static const struct {
	const char	*name;
	const char	*json;
} frames[] = {
	{ "hello", "{\"request_id\": 1, \"hello\": {\"protocol_version\": 1,"
	  " \"client_name\": \"fuzz\"}}" },
	{ "subscribe", "{\"request_id\": 2, \"subscribe\": {\"kinds\":"
	  " [\"RISK_ALERT\", \"MISSING_EPISODE\"], \"subjects\": [\"YP-001\"],"
	  " \"durable_name\": \"hub\"}}" },
	{ "ack", "{\"request_id\": 3, \"ack\": {\"delivery_id\": 9,"
	  " \"message_id\": \"0b0e5d3c-8f0e-4a57-9c1a-2f4d1e6b7a90\"}}" },
	{ "unsubscribe", "{\"request_id\": 4, \"unsubscribe\":"
	  " {\"subscription_id\": 1}}" },
	{ "audit-query", "{\"request_id\": 5, \"audit_query\": {\"subject\":"
	  " \"YP-001\", \"action\": \"deliver\", \"from_unix_ms\": 1,"
	  " \"limit\": 50, \"page_token\": \"abc\"}}" },
	{ "ping", "{\"request_id\": 6, \"ping\": {\"nonce\": 42}}" },
	{ "goodbye", "{\"request_id\": 7, \"goodbye\": {\"reason\": \"done\"}}" },
};
#define NFRAMES (sizeof(frames) / sizeof(frames[0]))

static const char *outdir;

static void
fail(const char *what, const char *why)
{
	fprintf(stderr, "make_seeds: %s: %s\n", what, why);
	exit(1);
}

static void
mkdirs(const char *sub)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", outdir, sub);
	if (mkdir(outdir, 0777) == -1 && errno != EEXIST)
		fail(outdir, strerror(errno));
	if (mkdir(path, 0777) == -1 && errno != EEXIST)
		fail(path, strerror(errno));
}

static void
write_file(const char *sub, const char *name, const void *a, size_t alen,
    const void *b, size_t blen)
{
	char	 path[4096];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s/%s", outdir, sub, name);
	if ((fp = fopen(path, "wb")) == NULL)
		fail(path, strerror(errno));
	if (fwrite(a, 1, alen, fp) != alen ||
	    (blen > 0 && fwrite(b, 1, blen, fp) != blen) || fclose(fp) != 0)
		fail(path, "write failed");
}

static ProtobufCMessage *
parse(const ProtobufCMessageDescriptor *d, const char *json)
{
	ProtobufCMessage	*m;
	char			 err[512];

	if ((m = pbjson_parse(d, json, strlen(json), err, sizeof(err))) == NULL)
		fail(json, err);
	return m;
}

/* Returns m packed behind a frame header; the caller frees it. */
static uint8_t *
framed(const Nwd__V1__Frame *f, size_t *lenp)
{
	uint8_t *buf;

	if ((buf = frame_encode(f, FRAME_DEFAULT_MAX, lenp)) == NULL)
		fail("frame_encode", "failed");
	return buf;
}

int
main(int argc, char *argv[])
{
	const ProtobufCEnumValue	*ev;
	Nwd__V1__Envelope		*e;
	Nwd__V1__Frame			*f;
	Nwd__V1__Publish		 pub = NWD__V1__PUBLISH__INIT;
	Nwd__V1__Frame			 pf = NWD__V1__FRAME__INIT;
	uint8_t				*buf, *stream = NULL, *pk;
	size_t				 len, slen = 0, k, i, nkinds;
	char				 json[4096], name[128], err[512];
	uint8_t				 sel;

	if (argc != 2) {
		fprintf(stderr, "usage: make_seeds DIR\n");
		return 2;
	}
	outdir = argv[1];
	/* fuzz_json picks body kinds 1..nkinds, the Envelope, the Frame. */
	for (nkinds = 0; envelope_kind_body_descriptor(nkinds + 1) != NULL;
	     nkinds++)
		continue;
	if (nkinds != NBODIES - 1)
		fail("bodies", "the schema has kinds this table lacks");
	mkdirs("frame");
	mkdirs("envelope");
	mkdirs("json");

	for (k = 1; k < NBODIES; k++) {
		ev = protobuf_c_enum_descriptor_get_value(
		    &nwd__v1__kind__descriptor, (int)k);
		if (ev == NULL || envelope_kind_name(k) == NULL)
			fail("kind", "the schema and this table disagree");
		snprintf(json, sizeof(json), header_fmt, ev->name,
		    envelope_kind_name(k), bodies[k]);
		e = (Nwd__V1__Envelope *)parse(&nwd__v1__envelope__descriptor,
		    json);
		if (envelope_validate(e, err, sizeof(err)) == -1)
			fail(envelope_kind_name(k), err);

		len = nwd__v1__envelope__get_packed_size(e);
		if ((pk = malloc(len)) == NULL)
			fail("malloc", strerror(errno));
		nwd__v1__envelope__pack(e, pk);
		snprintf(name, sizeof(name), "%s.pb", envelope_kind_name(k));
		write_file("envelope", name, pk, len, NULL, 0);
		free(pk);

		pub.envelope = e;
		pf.request_id = 100 + k;
		pf.msg_case = NWD__V1__FRAME__MSG_PUBLISH;
		pf.publish = &pub;
		buf = framed(&pf, &len);
		snprintf(name, sizeof(name), "publish-%s.bin",
		    envelope_kind_name(k));
		write_file("frame", name, buf, len, NULL, 0);
		if (k == NWD__V1__KIND__RISK_ALERT) {
			if ((stream = realloc(stream, slen + len)) == NULL)
				fail("realloc", strerror(errno));
			memcpy(stream + slen, buf, len);
			slen += len;
		}
		free(buf);
		protobuf_c_message_free_unpacked(&e->base, NULL);

		/* The JSON target: selector byte, then the body. */
		sel = (uint8_t)(k - 1);
		snprintf(name, sizeof(name), "%s.json", envelope_kind_name(k));
		write_file("json", name, &sel, 1, bodies[k],
		    strlen(bodies[k]));
		if (k == NWD__V1__KIND__INTELLIGENCE_REPORT) {
			sel = (uint8_t)nkinds;	/* the Envelope */
			write_file("json", "envelope.json", &sel, 1, json,
			    strlen(json));
		}
	}

	for (i = 0; i < NFRAMES; i++) {
		f = (Nwd__V1__Frame *)parse(&nwd__v1__frame__descriptor,
		    frames[i].json);
		buf = framed(f, &len);
		snprintf(name, sizeof(name), "%s.bin", frames[i].name);
		write_file("frame", name, buf, len, NULL, 0);
		if ((stream = realloc(stream, slen + len)) == NULL)
			fail("realloc", strerror(errno));
		memcpy(stream + slen, buf, len);
		slen += len;
		free(buf);
		protobuf_c_message_free_unpacked(&f->base, NULL);
		if (i == 1) {
			/* The Frame, printed pretty. */
			sel = (uint8_t)(nkinds + 1) | 0x40;
			write_file("json", "frame-subscribe.json", &sel, 1,
			    frames[i].json, strlen(frames[i].json));
		}
	}
	/* Several frames in one read, as a session sees them. */
	write_file("frame", "stream.bin", stream, slen, NULL, 0);
	free(stream);
	return 0;
}
