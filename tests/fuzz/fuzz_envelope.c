/*
 * fuzz_envelope: the input is one packed nwd.v1.Envelope, as a Publish
 * carries it.  It is decoded with the daemon's allocation cap, validated,
 * and packed again through redact_pack() with the strip lists of the
 * example policy and some awkward paths (nested, repeated, unknown,
 * malformed), whether or not it validated: redact_pack() promises to handle
 * any decoded envelope.
 *
 * redact_pack() modifies the envelope while packing and promises to restore
 * it; the target checks that promise by packing the envelope before and
 * after.  For an envelope that validated (the only kind the broker
 * redacts and delivers), it also checks that what redact_pack() returns
 * decodes as an Envelope: validation refuses fields outside the schema,
 * which protobuf-c can pack into bytes it will not decode.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "frame.h"
#include "redact.h"

#define FUZZ_ALLOC_CAP	((size_t)FRAME_DEFAULT_MAX * 4)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NAME	"fuzz_envelope"

/* A broken promise: say which, and crash so that libFuzzer keeps the input. */
static void
broken(const char *what)
{
	fprintf(stderr, "%s: %s\n", NAME, what);
	abort();
}

static const char *const intel_summary[] = {
	"source_details", "grading", "legacy", "third_parties", "location",
};
static const char *const camhs_summary[] = { "clinical_formulation" };
static const char *const hub_alerts[] = {
	"associates", "location", "last_seen", "address",
};
static const char *const nested[] = {
	"grading.handling_conditions", "source_details.source.address",
	"source_details.source", "source_details", "victim.address.postcode",
	"perpetrator", "location.town", "purposes", "invitees", "summary",
	"sanitised", "occurred_unix_ms", "given", "risk_level", "status",
	"address.line1",
};
static const char *const odd[] = {
	"", ".", "..", "grading.", ".grading", "grading..assessment",
	"nope", "third_parties.name", "a.b.c.d.e.f.g.h.i.j", "summary",
	"summary", "header", "intelligence_report", "grading.assessment.x",
	"location.town.more",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaa.x",
};

static const struct {
	const char *const	*paths;
	size_t			 n;
} sets[] = {
#define SET(a)	{ a, sizeof(a) / sizeof(a[0]) }
	SET(intel_summary), SET(camhs_summary), SET(hub_alerts),
	SET(nested), SET(odd),
	{ NULL, 0 },
#undef SET
};

/* Packs e into a new buffer; NULL only if memory runs out. */
static uint8_t *
pack(const Nwd__V1__Envelope *e, size_t *lenp)
{
	uint8_t	*buf;

	*lenp = nwd__v1__envelope__get_packed_size(e);
	if ((buf = malloc(*lenp > 0 ? *lenp : 1)) != NULL)
		nwd__v1__envelope__pack(e, buf);
	return buf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Nwd__V1__Envelope	*e, *back;
	uint8_t			*before, *after, *out;
	size_t			 blen, alen, olen, i, wlen;
	char			 err[256], withheld[512];
	int			 valid;

	e = frame_decode_envelope(data, size, FUZZ_ALLOC_CAP, err,
	    sizeof(err));
	if (e == NULL)
		return 0;
	valid = envelope_validate(e, err, sizeof(err)) == 0;
	if ((before = pack(e, &blen)) == NULL)
		goto done;
	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		/* A withheld buffer too small for long lists, now and then. */
		wlen = i % 2 == 0 ? sizeof(withheld) : 16;
		out = redact_pack(e, sets[i].paths, sets[i].n, &olen,
		    withheld, wlen);
		if ((after = pack(e, &alen)) == NULL) {
			free(out);
			break;
		}
		if (alen != blen || memcmp(before, after, blen) != 0)
			broken("redact_pack() left the envelope changed");
		free(after);
		if (out == NULL)
			continue;
		if (!valid) {
			free(out);
			continue;
		}
		back = frame_decode_envelope(out, olen, FUZZ_ALLOC_CAP, err,
		    sizeof(err));
		if (back == NULL)
			broken("the bytes redact_pack() returned do not "
			    "decode as an Envelope");
		frame_free_envelope(back);
		free(out);
	}
	/* Without a withheld buffer at all. */
	free(redact_pack(e, nested, sizeof(nested) / sizeof(nested[0]),
	    &olen, NULL, 0));
	free(before);
done:
	frame_free_envelope(e);
	return 0;
}
