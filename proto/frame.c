#include <malloc.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "frame.h"
#include "utf8.h"

struct capped_alloc {
	size_t	used;	/* bytes handed out so far */
	size_t	cap;	/* the most that may be handed out */
	int	refused; /* an allocation was refused for the cap */
};

static void *
capped_malloc(void *data, size_t size)
{
	struct capped_alloc *ca = data;

	if (size > ca->cap || ca->used > ca->cap - size) {
		ca->refused = 1;
		return NULL;
	}
	ca->used += size;
	return malloc(size);
}

/*
 * Every piece of a decoded frame is wiped before it is freed: a frame
 * carries intelligence (an envelope's body), and freed memory is read by
 * whatever reuses it.
 */
static void
plain_free(void *data, void *p)
{
	(void)data;
	if (p != NULL)
		explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

/* Frees what capped_malloc() allocated; only the free hook is used. */
static ProtobufCAllocator free_allocator = {
	.alloc = NULL,
	.free = plain_free,
	.allocator_data = NULL,
};

uint32_t
frame_peek_length(const uint8_t hdr[FRAME_HEADER_LEN])
{
	return ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) |
	    ((uint32_t)hdr[2] << 8) | (uint32_t)hdr[3];
}

int
frame_length_ok(uint32_t n, uint32_t max)
{
	return n > 0 && n <= max;
}

uint8_t *
frame_encode(const Nwd__V1__Frame *f, uint32_t max, size_t *lenp)
{
	size_t	 n;
	uint8_t	*buf;

	n = nwd__v1__frame__get_packed_size(f);
	if (n == 0 || n > max)
		return NULL;
	if ((buf = malloc(FRAME_HEADER_LEN + n)) == NULL)
		return NULL;
	buf[0] = (n >> 24) & 0xff;
	buf[1] = (n >> 16) & 0xff;
	buf[2] = (n >> 8) & 0xff;
	buf[3] = n & 0xff;
	nwd__v1__frame__pack(f, buf + FRAME_HEADER_LEN);
	*lenp = FRAME_HEADER_LEN + n;
	return buf;
}

/*
 * The wire format of a Deliver, written by hand so that the envelope's
 * bytes are copied, not decoded and packed again.  Fields go in field
 * number order and proto3 zero values are left out, as protobuf-c packs
 * them: Frame.deliver = 16 (request_id 0 is omitted); Deliver's
 * subscription_id = 1, delivery_id = 2, envelope = 3, fields_withheld = 4
 * (repeated: every entry, even an empty one), rule = 5, policy_version = 6.
 */
#define WIRE_VARINT	0
#define WIRE_LEN	2

static size_t
varint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *
put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static size_t
len_field_size(unsigned field, size_t len)
{
	return varint_size(field << 3 | WIRE_LEN) + varint_size(len) + len;
}

static uint8_t *
put_len_field(uint8_t *p, unsigned field, const void *v, size_t len)
{
	p = put_varint(p, field << 3 | WIRE_LEN);
	p = put_varint(p, len);
	memcpy(p, v, len);
	return p + len;
}

/* The length of the path at the start of a comma-separated list; empty
 * entries ("a,,b") are skipped, as strtok() would. */
static size_t
path_len(const char *w)
{
	const char *comma = strchr(w, ',');

	return comma != NULL ? (size_t)(comma - w) : strlen(w);
}

/* The size of Deliver's body (without Frame's tag and length). */
static size_t
deliver_size(const struct frame_deliver *d)
{
	const char	*w;
	size_t		 n = 0, l;

	if (d->subscription_id != 0)
		n += 1 + varint_size(d->subscription_id);
	if (d->delivery_id != 0)
		n += 1 + varint_size(d->delivery_id);
	if (d->envelope != NULL)
		n += len_field_size(3, d->envelope_len);
	for (w = d->withheld; w != NULL && *w != '\0'; w += l) {
		l = path_len(w);
		if (l > 0)
			n += len_field_size(4, l);
		if (w[l] == ',')
			l++;
	}
	if (d->rule != NULL && d->rule[0] != '\0')
		n += len_field_size(5, strlen(d->rule));
	if (d->policy_version != NULL && d->policy_version[0] != '\0')
		n += len_field_size(6, strlen(d->policy_version));
	return n;
}

uint8_t *
frame_encode_deliver(const struct frame_deliver *d, uint32_t max,
    size_t *lenp)
{
	const char	*w;
	size_t		 body, n, l;
	uint8_t		*buf, *p;

	body = deliver_size(d);
	n = varint_size(16 << 3 | WIRE_LEN) + varint_size(body) + body;
	if (n > max)
		return NULL;
	if ((buf = malloc(FRAME_HEADER_LEN + n)) == NULL)
		return NULL;
	buf[0] = (n >> 24) & 0xff;
	buf[1] = (n >> 16) & 0xff;
	buf[2] = (n >> 8) & 0xff;
	buf[3] = n & 0xff;
	p = buf + FRAME_HEADER_LEN;
	p = put_varint(p, 16 << 3 | WIRE_LEN);
	p = put_varint(p, body);
	if (d->subscription_id != 0) {
		*p++ = 1 << 3 | WIRE_VARINT;
		p = put_varint(p, d->subscription_id);
	}
	if (d->delivery_id != 0) {
		*p++ = 2 << 3 | WIRE_VARINT;
		p = put_varint(p, d->delivery_id);
	}
	if (d->envelope != NULL)
		p = put_len_field(p, 3, d->envelope, d->envelope_len);
	for (w = d->withheld; w != NULL && *w != '\0'; w += l) {
		l = path_len(w);
		if (l > 0)
			p = put_len_field(p, 4, w, l);
		if (w[l] == ',')
			l++;
	}
	if (d->rule != NULL && d->rule[0] != '\0')
		p = put_len_field(p, 5, d->rule, strlen(d->rule));
	if (d->policy_version != NULL && d->policy_version[0] != '\0')
		p = put_len_field(p, 6, d->policy_version,
		    strlen(d->policy_version));
	*lenp = (size_t)(p - buf);
	return buf;
}

static ProtobufCMessage *
decode_capped(const ProtobufCMessageDescriptor *desc, const uint8_t *buf,
    size_t len, size_t alloc_cap, char *err, size_t errlen)
{
	struct capped_alloc	 ca = { 0, alloc_cap, 0 };
	ProtobufCAllocator	 a = {
		.alloc = capped_malloc,
		.free = plain_free,
		.allocator_data = &ca,
	};
	ProtobufCMessage	*m;

	m = protobuf_c_message_unpack(desc, &a, len, buf);
	if (m == NULL) {
		if (ca.refused)
			snprintf(err, errlen, "%s does not decode: it needs "
			    "more than %zu bytes of memory", desc->short_name,
			    alloc_cap);
		else
			snprintf(err, errlen, "%zu bytes are not a valid %s",
			    len, desc->short_name);
	}
	return m;
}

/* 1 if f is one the broker sends (an answer, a delivery, a goodbye). */
static int
from_broker(const Nwd__V1__Frame *f)
{
	switch (f->msg_case) {
	case NWD__V1__FRAME__MSG_WELCOME:
	case NWD__V1__FRAME__MSG_PUBLISH_ACK:
	case NWD__V1__FRAME__MSG_SUBSCRIBE_ACK:
	case NWD__V1__FRAME__MSG_DELIVER:
	case NWD__V1__FRAME__MSG_AUDIT_PAGE:
	case NWD__V1__FRAME__MSG_PONG:
	case NWD__V1__FRAME__MSG_ERROR:
	case NWD__V1__FRAME__MSG_GOODBYE:
	case NWD__V1__FRAME__MSG_EXPLAIN_RESULT:
	case NWD__V1__FRAME__MSG_ACKED:
	case NWD__V1__FRAME__MSG_UNSUBSCRIBED:
	case NWD__V1__FRAME__MSG_DURABLE_LIST_RESULT:
	case NWD__V1__FRAME__MSG_DURABLE_DELETED:
	case NWD__V1__FRAME__MSG_DEADLINE_LIST:
	case NWD__V1__FRAME__MSG_BREAKGLASS_RESULT:
	case NWD__V1__FRAME__MSG_REVIEW_RESULT:
	case NWD__V1__FRAME__MSG_SAR_CASE_RESULT:
		return 1;
	default:
		return 0;
	}
}

Nwd__V1__Frame *
frame_decode(const uint8_t *payload, size_t len, size_t alloc_cap, char *err,
    size_t errlen)
{
	Nwd__V1__Frame	*f;
	char		 path[160] = "";
	size_t		 bad;

	f = (Nwd__V1__Frame *)decode_capped(&nwd__v1__frame__descriptor,
	    payload, len, alloc_cap, err, errlen);
	if (f == NULL || from_broker(f))
		return f;
	/* proto3 strings are UTF-8; an envelope is envelope_validate()'s. */
	if (utf8_find_invalid(&f->base, &nwd__v1__envelope__descriptor, path,
	    sizeof(path), &bad)) {
		snprintf(err, errlen, "%s is not valid UTF-8 (at byte %zu)",
		    path, bad);
		frame_free(f);
		return NULL;
	}
	return f;
}

void
frame_free(Nwd__V1__Frame *f)
{
	if (f != NULL)
		protobuf_c_message_free_unpacked(&f->base, &free_allocator);
}

Nwd__V1__Envelope *
frame_decode_envelope(const uint8_t *buf, size_t len, size_t alloc_cap,
    char *err, size_t errlen)
{
	return (Nwd__V1__Envelope *)decode_capped(
	    &nwd__v1__envelope__descriptor, buf, len, alloc_cap, err, errlen);
}

void
frame_free_envelope(Nwd__V1__Envelope *e)
{
	if (e != NULL)
		protobuf_c_message_free_unpacked(&e->base, &free_allocator);
}

const char *
frame_msg_name(const Nwd__V1__Frame *f)
{
	const ProtobufCFieldDescriptor *fd;

	if (f->msg_case == NWD__V1__FRAME__MSG__NOT_SET)
		return "empty";
	fd = protobuf_c_message_descriptor_get_field(
	    &nwd__v1__frame__descriptor, f->msg_case);
	return fd != NULL ? fd->name : "unknown";
}

const char *
frame_error_code_name(Nwd__V1__ErrorCode code)
{
	const ProtobufCEnumValue *v;

	v = protobuf_c_enum_descriptor_get_value(
	    &nwd__v1__error_code__descriptor, code);
	return v != NULL ? v->name : "ERROR_UNSPECIFIED";
}
