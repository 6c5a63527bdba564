#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "redact.h"

#define REDACT_MAX_DEPTH	8

/* The header's free text, the only header fields a path may name. */
static const char *const header_paths[] = {
	"header.justification",
	"header.share_with",
	"header.subject.nhs_number",
};
#define NHEADER_PATHS	(sizeof(header_paths) / sizeof(header_paths[0]))

/* One cleared field, to be put back after packing. */
struct saved {
	void	*slot;		/* where the value lives in the message */
	size_t	 size;		/* bytes of the value */
	size_t	*count;		/* quantifier (repeated count or has_), or NULL */
	size_t	 count_val;
	unsigned char value[sizeof(void *) > 8 ? sizeof(void *) : 8];
	uint32_t *oneof_case;
	uint32_t oneof_val;
};

static size_t
scalar_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return 4;
	}
}

/* Finds the field a path names, starting at desc; NULL if there is none. */
static const ProtobufCFieldDescriptor *
walk(const ProtobufCMessageDescriptor *desc, const ProtobufCMessage *msg,
    const char *path, const ProtobufCMessage **owner)
{
	const ProtobufCFieldDescriptor	*fd = NULL;
	char				 part[128];
	const char			*dot;
	size_t				 n;
	int				 depth = 0;

	for (;;) {
		dot = strchr(path, '.');
		n = dot != NULL ? (size_t)(dot - path) : strlen(path);
		if (n == 0 || n >= sizeof(part) || ++depth > REDACT_MAX_DEPTH)
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		fd = protobuf_c_message_descriptor_get_field_by_name(desc, part);
		if (fd == NULL)
			return NULL;
		if (dot == NULL)
			break;
		if (fd->type != PROTOBUF_C_TYPE_MESSAGE ||
		    fd->label == PROTOBUF_C_LABEL_REPEATED)
			return NULL;
		if (msg != NULL) {
			if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF &&
			    *(const uint32_t *)((const char *)msg +
			    fd->quantifier_offset) != fd->id)
				msg = NULL;
			else
				msg = *(ProtobufCMessage *const *)
				    ((const char *)msg + fd->offset);
		}
		desc = fd->descriptor;
		path = dot + 1;
	}
	if (owner != NULL)
		*owner = msg;
	return fd;
}

const char *
redact_header_path(size_t i)
{
	return i < NHEADER_PATHS ? header_paths[i] : NULL;
}

/* 1 if path begins "header.": then it names the header or nothing. */
static int
is_header_path(const char *path)
{
	return strncmp(path, "header.", 7) == 0;
}

static int
header_path_listed(const char *path)
{
	size_t i;

	for (i = 0; i < NHEADER_PATHS; i++)
		if (strcmp(header_paths[i], path) == 0)
			return 1;
	return 0;
}

/*
 * The field path names in env, and in *owner the message that holds it
 * (NULL if a message on the way is absent); NULL if it names none.
 */
static const ProtobufCFieldDescriptor *
env_walk(const Nwd__V1__Envelope *env, const char *path,
    const ProtobufCMessage **owner)
{
	const ProtobufCMessage *body;

	if (is_header_path(path)) {
		if (!header_path_listed(path) || env->header == NULL)
			return NULL;
		return walk(&nwd__v1__header__descriptor, &env->header->base,
		    path + 7, owner);
	}
	if ((body = envelope_body(env)) == NULL)
		return NULL;
	return walk(body->descriptor, body, path, owner);
}

int
redact_path_valid(const ProtobufCMessageDescriptor *body, const char *path,
    char *err, size_t errlen)
{
	int k, found = 0;

	if (is_header_path(path)) {
		if (header_path_listed(path))
			return 0;
		snprintf(err, errlen, "the header fields a rule may name are "
		    "%s, %s and %s, not \"%s\"", header_paths[0],
		    header_paths[1], header_paths[2], path);
		return -1;
	}

	if (body != NULL) {
		if (walk(body, NULL, path, NULL) != NULL)
			return 0;
		snprintf(err, errlen, "%s has no field \"%s\"",
		    body->short_name, path);
		return -1;
	}
	for (k = 1; envelope_kind_body_descriptor(k) != NULL; k++)
		if (walk(envelope_kind_body_descriptor(k), NULL, path, NULL) !=
		    NULL)
			found = 1;
	if (!found) {
		snprintf(err, errlen, "no message kind has a field \"%s\"",
		    path);
		return -1;
	}
	return 0;
}

/* Returns 1 if the field holds a non-default value in msg. */
static int
field_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *fd)
{
	const char	*p = (const char *)msg + fd->offset;
	size_t		 i, sz;

	if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)((const char *)msg +
		    fd->quantifier_offset) == fd->id;
	if (fd->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const size_t *)((const char *)msg +
		    fd->quantifier_offset) > 0;
	switch (fd->type) {
	case PROTOBUF_C_TYPE_STRING:
		return *(char *const *)p != NULL && **(char *const *)p != '\0';
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(void *const *)p != NULL;
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)p)->len > 0;
	default:
		sz = scalar_size(fd->type);
		for (i = 0; i < sz; i++)
			if (p[i] != 0)
				return 1;
		return 0;
	}
}

static void
clear_field(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *fd,
    struct saved *s)
{
	char *p = (char *)msg + fd->offset;

	memset(s, 0, sizeof(*s));
	if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
		s->count = (size_t *)((char *)msg + fd->quantifier_offset);
		s->count_val = *s->count;
		*s->count = 0;
		return;
	}
	if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		s->oneof_case = (uint32_t *)((char *)msg +
		    fd->quantifier_offset);
		s->oneof_val = *s->oneof_case;
		*s->oneof_case = 0;
		return;
	}
	s->slot = p;
	s->size = scalar_size(fd->type);
	memcpy(s->value, p, s->size);
	if (fd->type == PROTOBUF_C_TYPE_STRING)
		*(const char **)p = protobuf_c_empty_string;
	else
		memset(p, 0, s->size);
}

static void
restore_field(const struct saved *s)
{
	if (s->count != NULL)
		*s->count = s->count_val;
	if (s->oneof_case != NULL)
		*s->oneof_case = s->oneof_val;
	if (s->slot != NULL)
		memcpy(s->slot, s->value, s->size);
}

/*
 * Clears the fields paths name from env's body (remembering them in saved)
 * and names, in withheld, the ones that were present.  *nsavedp is how
 * many were cleared.  Returns 0, or -1 if withheld is too small to name
 * them all.
 */
static int
clear_paths(Nwd__V1__Envelope *env, const char *const *paths, size_t npaths,
    struct saved *saved, size_t *nsavedp, char *withheld, size_t withheldlen)
{
	const ProtobufCMessage		*owner;
	const ProtobufCFieldDescriptor	*fd;
	size_t				 i, nsaved = 0, wl = 0;
	int				 overflow = 0;

	if (withheld != NULL && withheldlen > 0)
		withheld[0] = '\0';
	for (i = 0; i < npaths; i++) {
		owner = NULL;
		fd = env_walk(env, paths[i], &owner);
		if (fd == NULL || owner == NULL || !field_present(owner, fd))
			continue;
		clear_field((ProtobufCMessage *)owner, fd, &saved[nsaved++]);
		if (withheld == NULL)
			continue;
		if (wl + strlen(paths[i]) + 2 > withheldlen) {
			/* The audit must name all it withheld: refuse. */
			overflow = 1;
			continue;
		}
		wl += snprintf(withheld + wl, withheldlen - wl, "%s%s",
		    wl > 0 ? "," : "", paths[i]);
	}
	*nsavedp = nsaved;
	return overflow ? -1 : 0;
}

int
redact_path_present(const Nwd__V1__Envelope *env, const char *path)
{
	const ProtobufCMessage		*owner = NULL;
	const ProtobufCFieldDescriptor	*fd;

	fd = env_walk(env, path, &owner);
	return fd != NULL && owner != NULL && field_present(owner, fd);
}

static uint8_t *
redact(Nwd__V1__Envelope *env, const char *const *paths, size_t npaths,
    int pack, size_t *lenp, char *withheld, size_t withheldlen, int *rc)
{
	struct saved	*saved;
	size_t		 len, n;
	uint8_t		*buf = NULL;
	int		 ok;

	*rc = -1;
	if ((saved = calloc(npaths > 0 ? npaths : 1, sizeof(*saved))) == NULL)
		return NULL;
	ok = clear_paths(env, paths, npaths, saved, &n, withheld,
	    withheldlen) == 0;
	if (ok && pack) {
		len = nwd__v1__envelope__get_packed_size(env);
		if ((buf = malloc(len > 0 ? len : 1)) != NULL) {
			nwd__v1__envelope__pack(env, buf);
			*lenp = len;
			*rc = 0;
		}
	} else if (ok)
		*rc = 0;
	/* Every cleared field is put back, in reverse order. */
	while (n > 0)
		restore_field(&saved[--n]);
	free(saved);
	return buf;
}

uint8_t *
redact_pack(Nwd__V1__Envelope *env, const char *const *paths, size_t npaths,
    size_t *lenp, char *withheld, size_t withheldlen)
{
	int rc;

	return redact(env, paths, npaths, 1, lenp, withheld, withheldlen, &rc);
}

int
redact_withheld(Nwd__V1__Envelope *env, const char *const *paths,
    size_t npaths, char *withheld, size_t withheldlen)
{
	int rc;

	redact(env, paths, npaths, 0, NULL, withheld, withheldlen, &rc);
	return rc;
}
