#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "frame.h"

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

static void
plain_free(void *data, void *p)
{
	(void)data;
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

Nwd__V1__Frame *
frame_decode(const uint8_t *payload, size_t len, size_t alloc_cap, char *err,
    size_t errlen)
{
	return (Nwd__V1__Frame *)decode_capped(&nwd__v1__frame__descriptor,
	    payload, len, alloc_cap, err, errlen);
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
