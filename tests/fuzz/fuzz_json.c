/*
 * fuzz_json: the input is a selector byte and JSON text, as the nwd tool
 * reads a message body from its user.  The selector picks the message type:
 * one of the body kinds, or the Envelope or the Frame (whose oneofs and
 * header enums the bodies do not have).  What parses is printed again, in
 * the style the selector's high bits choose, and the printed text must parse
 * back to the same message (compared packed).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "envelope.h"
#include "pbjson.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NAME	"fuzz_json"

/* A broken promise: say which, and crash so that libFuzzer keeps the input. */
static void
broken(const char *what)
{
	fprintf(stderr, "%s: %s\n", NAME, what);
	abort();
}

static const ProtobufCMessageDescriptor *
pick(uint8_t sel)
{
	size_t	nkinds = 0;

	while (envelope_kind_body_descriptor(nkinds + 1) != NULL)
		nkinds++;
	sel %= nkinds + 2;
	if (sel == nkinds)
		return &nwd__v1__envelope__descriptor;
	if (sel == nkinds + 1)
		return &nwd__v1__frame__descriptor;
	return envelope_kind_body_descriptor(sel + 1);
}

/* Packs m into a new buffer; NULL only if memory runs out. */
static uint8_t *
pack(const ProtobufCMessage *m, size_t *lenp)
{
	uint8_t	*buf;

	*lenp = protobuf_c_message_get_packed_size(m);
	if ((buf = malloc(*lenp > 0 ? *lenp : 1)) != NULL)
		protobuf_c_message_pack(m, buf);
	return buf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const ProtobufCMessageDescriptor	*d;
	ProtobufCMessage			*m, *again;
	uint8_t					*b1, *b2;
	size_t					 l1, l2;
	char					*text, err[512];
	int					 flags;

	if (size < 1)
		return 0;
	d = pick(data[0] & 0x3f);
	flags = (data[0] & 0x40 ? PBJSON_PRETTY : 0) |
	    (data[0] & 0x80 ? PBJSON_EMIT_DEFAULTS : 0);
	m = pbjson_parse(d, (const char *)data + 1, size - 1, err,
	    sizeof(err));
	if (m == NULL)
		return 0;
	if ((text = pbjson_print(m, flags)) == NULL)
		goto done;	/* out of memory */
	if (strlen(text) <= PBJSON_MAX_INPUT) {
		again = pbjson_parse(d, text, strlen(text), err, sizeof(err));
		if (again == NULL) {
			fprintf(stderr, "%s: printed %s\n", NAME, text);
			fprintf(stderr, "%s: parsing it again: %s\n", NAME, err);
			broken("pbjson_print() wrote JSON that pbjson_parse() "
			    "refuses");
		}
		b1 = pack(m, &l1);
		b2 = pack(again, &l2);
		if (b1 != NULL && b2 != NULL &&
		    (l1 != l2 || memcmp(b1, b2, l1) != 0))
			broken("parse, print, parse changed the message");
		free(b1);
		free(b2);
		protobuf_c_message_free_unpacked(again, NULL);
	}
	free(text);
done:
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}
