#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json.h>

#include "pbjson.h"

/*
 * The state of one parse: where errors go and the path of the field being
 * read, which every error message names.
 */
struct pbjson_parser {
	char	*err;		/* the caller's buffer */
	size_t	 errlen;
	char	 path[256];	/* "third_parties[1].address"; may be cut */
	size_t	 pathlen;
	int	 depth;		/* messages entered below the root */
};

/* A JSON integer before it is fitted to a field's type. */
struct pbjson_int {
	int	 neg;
	uint64_t mag;
};

static int	 parse_message(struct pbjson_parser *,
		    const ProtobufCMessageDescriptor *, json_object *,
		    ProtobufCMessage *);
static json_object *message_to_json(const ProtobufCMessage *, int, int);

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
fail(struct pbjson_parser *p, const char *fmt, ...)
{
	va_list ap;

	if (p->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(p->err, p->errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static size_t
path_push(struct pbjson_parser *p, const char *fmt, ...)
{
	size_t	 saved = p->pathlen, room = sizeof(p->path) - p->pathlen;
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(p->path + p->pathlen, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		p->path[p->pathlen] = '\0';
	else if ((size_t)n >= room)
		p->pathlen = sizeof(p->path) - 1;
	else
		p->pathlen += n;
	return saved;
}

static size_t
path_push_field(struct pbjson_parser *p, const char *name)
{
	return path_push(p, "%s%s", p->pathlen > 0 ? "." : "", name);
}

static void
path_pop(struct pbjson_parser *p, size_t saved)
{
	p->pathlen = saved;
	p->path[saved] = '\0';
}

static const char *
json_kind(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "boolean";
	case json_type_int:
	case json_type_double:
		return "number";
	case json_type_string:
		return "string";
	case json_type_array:
		return "array";
	case json_type_object:
		return "object";
	}
	return "unknown";
}

const char *
pbjson_type_name(const ProtobufCFieldDescriptor *fd)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
		return "int32";
	case PROTOBUF_C_TYPE_SINT32:
		return "sint32";
	case PROTOBUF_C_TYPE_SFIXED32:
		return "sfixed32";
	case PROTOBUF_C_TYPE_INT64:
		return "int64";
	case PROTOBUF_C_TYPE_SINT64:
		return "sint64";
	case PROTOBUF_C_TYPE_SFIXED64:
		return "sfixed64";
	case PROTOBUF_C_TYPE_UINT32:
		return "uint32";
	case PROTOBUF_C_TYPE_FIXED32:
		return "fixed32";
	case PROTOBUF_C_TYPE_UINT64:
		return "uint64";
	case PROTOBUF_C_TYPE_FIXED64:
		return "fixed64";
	case PROTOBUF_C_TYPE_FLOAT:
		return "float";
	case PROTOBUF_C_TYPE_DOUBLE:
		return "double";
	case PROTOBUF_C_TYPE_BOOL:
		return "bool";
	case PROTOBUF_C_TYPE_ENUM:
		return ((const ProtobufCEnumDescriptor *)fd->descriptor)->name;
	case PROTOBUF_C_TYPE_STRING:
		return "string";
	case PROTOBUF_C_TYPE_BYTES:
		return "bytes (base64 string)";
	case PROTOBUF_C_TYPE_MESSAGE:
		return ((const ProtobufCMessageDescriptor *)fd->descriptor)->name;
	}
	return "unknown type";
}

static int
mismatch(struct pbjson_parser *p, const ProtobufCFieldDescriptor *fd,
    json_object *v)
{
	const char *what;

	switch (fd->type) {
	case PROTOBUF_C_TYPE_ENUM:
		what = "enum ";
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		what = "object ";
		break;
	default:
		what = "";
		break;
	}
	return fail(p, "field '%s': expected %s%s, got %s", p->path, what,
	    pbjson_type_name(fd), json_kind(v));
}

static size_t
elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return sizeof(int32_t);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return sizeof(uint32_t);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return sizeof(int64_t);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return sizeof(uint64_t);
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	}
	return 0;
}

/*
 * Reads an integer from a JSON number, an integral double or a numeric
 * string.  json-c saturates integer literals beyond 64 bits, so the two
 * extreme values are refused as numbers: they are ambiguous there, and
 * exact when written as strings.
 */
static int
get_int(struct pbjson_parser *p, const ProtobufCFieldDescriptor *fd,
    json_object *v, struct pbjson_int *out)
{
	const char	*s = "", *digits;
	char		*end;
	int64_t		 i;
	double		 d;

	switch (json_object_get_type(v)) {
	case json_type_int:
		i = json_object_get_int64(v);
		if (i < 0) {
			if (i == INT64_MIN)
				goto ambiguous;
			out->neg = 1;
			out->mag = (uint64_t)(-(i + 1)) + 1;
			return 0;
		}
		out->neg = 0;
		out->mag = json_object_get_uint64(v);
		if (out->mag == UINT64_MAX)
			goto ambiguous;
		return 0;
	case json_type_double:
		d = json_object_get_double(v);
		if (!isfinite(d) || d != trunc(d))
			return fail(p, "field '%s': %g is not an integer "
			    "(%s)", p->path, d, pbjson_type_name(fd));
		if (fabs(d) >= 18446744073709551616.0)
			return fail(p, "field '%s': %g is out of range for "
			    "%s", p->path, d, pbjson_type_name(fd));
		out->neg = d < 0;
		out->mag = (uint64_t)fabs(d);
		return 0;
	case json_type_string:
		s = json_object_get_string(v);
		digits = s[0] == '-' ? s + 1 : s;
		if (digits[0] < '0' || digits[0] > '9')
			goto notnum;
		errno = 0;
		out->mag = strtoull(digits, &end, 10);
		if (*end != '\0')
			goto notnum;
		if (errno == ERANGE)
			return fail(p, "field '%s': \"%s\" is out of range "
			    "for %s", p->path, s, pbjson_type_name(fd));
		out->neg = s[0] == '-' && out->mag != 0;
		return 0;
	default:
		return mismatch(p, fd, v);
	}
 notnum:
	return fail(p, "field '%s': \"%s\" is not a number (%s)", p->path, s,
	    pbjson_type_name(fd));
 ambiguous:
	return fail(p, "field '%s': %s is out of range for %s (write the "
	    "extreme 64-bit values as strings)", p->path,
	    json_object_to_json_string(v), pbjson_type_name(fd));
}

/* Fits n into [-(negmax), posmax]; negmax 0 means unsigned. */
static int
fit_int(struct pbjson_parser *p, const ProtobufCFieldDescriptor *fd,
    const struct pbjson_int *n, uint64_t negmax, uint64_t posmax)
{
	if (n->neg ? n->mag <= negmax : n->mag <= posmax)
		return 0;
	return fail(p, "field '%s': %s%" PRIu64 " is out of range for %s",
	    p->path, n->neg ? "-" : "", n->mag, pbjson_type_name(fd));
}

static int64_t
int_value(const struct pbjson_int *n)
{
	if (n->neg)
		return n->mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN :
		    -(int64_t)n->mag;
	return (int64_t)n->mag;
}

static int
get_double(struct pbjson_parser *p, const ProtobufCFieldDescriptor *fd,
    json_object *v, double *out)
{
	const char	*s;
	char		*end;

	switch (json_object_get_type(v)) {
	case json_type_int:
	case json_type_double:
		*out = json_object_get_double(v);
		break;
	case json_type_string:
		s = json_object_get_string(v);
		if (strcmp(s, "NaN") == 0)
			*out = NAN;
		else if (strcmp(s, "Infinity") == 0)
			*out = INFINITY;
		else if (strcmp(s, "-Infinity") == 0)
			*out = -INFINITY;
		else {
			errno = 0;
			*out = strtod(s, &end);
			if (s[0] == '\0' || *end != '\0' || errno == ERANGE ||
			    !isfinite(*out))
				return fail(p, "field '%s': \"%s\" is not a "
				    "number (%s)", p->path, s,
				    pbjson_type_name(fd));
		}
		break;
	default:
		return mismatch(p, fd, v);
	}
	if (fd->type == PROTOBUF_C_TYPE_FLOAT && isfinite(*out) &&
	    fabs(*out) > FLT_MAX)
		return fail(p, "field '%s': %g is out of range for float",
		    p->path, *out);
	return 0;
}

static int
get_enum(struct pbjson_parser *p, const ProtobufCFieldDescriptor *fd,
    json_object *v, int *out)
{
	const ProtobufCEnumDescriptor	*ed = fd->descriptor;
	const ProtobufCEnumValue	*ev;
	struct pbjson_int		 n;
	char				 names[512];
	size_t				 off = 0;
	unsigned			 i;
	int				 r;

	switch (json_object_get_type(v)) {
	case json_type_string:
		/* Enum names are read in any case, as every enum name the
		 * tool reads. */
		ev = protobuf_c_enum_descriptor_get_value_by_name(ed,
		    json_object_get_string(v));
		for (i = 0; ev == NULL && i < ed->n_values; i++)
			if (strcasecmp(ed->values[i].name,
			    json_object_get_string(v)) == 0)
				ev = &ed->values[i];
		if (ev != NULL) {
			*out = ev->value;
			return 0;
		}
		names[0] = '\0';
		for (i = 0; i < ed->n_values && off < sizeof(names); i++) {
			r = snprintf(names + off, sizeof(names) - off, "%s%s",
			    i > 0 ? ", " : "", ed->values[i].name);
			if (r < 0)
				break;
			off += r;
		}
		return fail(p, "field '%s': \"%s\" is not a value of enum %s "
		    "(one of %s)", p->path, json_object_get_string(v),
		    ed->name, names);
	case json_type_int:
	case json_type_double:
		if (get_int(p, fd, v, &n) == -1 ||
		    fit_int(p, fd, &n, (uint64_t)INT32_MAX + 1, INT32_MAX) == -1)
			return -1;
		ev = protobuf_c_enum_descriptor_get_value(ed,
		    (int)int_value(&n));
		if (ev == NULL)
			return fail(p, "field '%s': %" PRId64 " is not a value "
			    "of enum %s", p->path, int_value(&n), ed->name);
		*out = ev->value;
		return 0;
	default:
		return mismatch(p, fd, v);
	}
}

static int
b64_value(int c)
{
	const char *q;

	if (c == '\0' || (q = strchr(b64_alphabet, c)) == NULL)
		return -1;
	return (int)(q - b64_alphabet);
}

static int
get_bytes(struct pbjson_parser *p, const ProtobufCFieldDescriptor *fd,
    json_object *v, ProtobufCBinaryData *out)
{
	const char	*s;
	size_t		 len, i, o = 0;
	uint8_t		*buf;
	uint32_t	 acc = 0;
	int		 bits = 0, x;

	if (!json_object_is_type(v, json_type_string))
		return mismatch(p, fd, v);
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (len % 4 != 0)
		goto bad;
	if (len > 0 && s[len - 1] == '=')
		len--;
	if (len > 0 && s[len - 1] == '=')
		len--;
	if ((buf = malloc(len / 4 * 3 + 3)) == NULL)
		return fail(p, "field '%s': out of memory", p->path);
	for (i = 0; i < len; i++) {
		if ((x = b64_value((unsigned char)s[i])) == -1) {
			free(buf);
			goto bad;
		}
		acc = (acc << 6) | (uint32_t)x;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (acc >> bits) & 0xff;
		}
	}
	out->data = buf;
	out->len = o;
	return 0;
 bad:
	return fail(p, "field '%s': expected base64 text (bytes)", p->path);
}

/*
 * Parses one value of field fd into dst, the member itself for a singular
 * field or one element of a repeated one.  Whatever it allocates is
 * attached to dst before anything can fail, so freeing the root message
 * releases it.
 */
static int
parse_value(struct pbjson_parser *p, const ProtobufCFieldDescriptor *fd,
    json_object *v, void *dst)
{
	const ProtobufCMessageDescriptor *md;
	ProtobufCMessage	*sub;
	struct pbjson_int	 n;
	double			 d;
	const char		*s;
	int			 e = 0;

	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		if (get_int(p, fd, v, &n) == -1 ||
		    fit_int(p, fd, &n, (uint64_t)INT32_MAX + 1, INT32_MAX) == -1)
			return -1;
		*(int32_t *)dst = (int32_t)int_value(&n);
		return 0;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if (get_int(p, fd, v, &n) == -1 ||
		    fit_int(p, fd, &n, 0, UINT32_MAX) == -1)
			return -1;
		*(uint32_t *)dst = (uint32_t)n.mag;
		return 0;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		if (get_int(p, fd, v, &n) == -1 ||
		    fit_int(p, fd, &n, (uint64_t)INT64_MAX + 1, INT64_MAX) == -1)
			return -1;
		*(int64_t *)dst = int_value(&n);
		return 0;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if (get_int(p, fd, v, &n) == -1 ||
		    fit_int(p, fd, &n, 0, UINT64_MAX) == -1)
			return -1;
		*(uint64_t *)dst = n.mag;
		return 0;
	case PROTOBUF_C_TYPE_FLOAT:
		if (get_double(p, fd, v, &d) == -1)
			return -1;
		*(float *)dst = (float)d;
		return 0;
	case PROTOBUF_C_TYPE_DOUBLE:
		return get_double(p, fd, v, (double *)dst);
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			return mismatch(p, fd, v);
		*(protobuf_c_boolean *)dst = json_object_get_boolean(v) ? 1 : 0;
		return 0;
	case PROTOBUF_C_TYPE_ENUM:
		if (get_enum(p, fd, v, &e) == -1)
			return -1;
		*(int *)dst = e;
		return 0;
	case PROTOBUF_C_TYPE_STRING:
		if (!json_object_is_type(v, json_type_string))
			return mismatch(p, fd, v);
		s = json_object_get_string(v);
		if (strlen(s) != (size_t)json_object_get_string_len(v))
			return fail(p, "field '%s': string contains a NUL "
			    "character", p->path);
		if ((*(char **)dst = strdup(s)) == NULL)
			return fail(p, "field '%s': out of memory", p->path);
		return 0;
	case PROTOBUF_C_TYPE_BYTES:
		return get_bytes(p, fd, v, dst);
	case PROTOBUF_C_TYPE_MESSAGE:
		md = fd->descriptor;
		if (!json_object_is_type(v, json_type_object))
			return mismatch(p, fd, v);
		if (p->depth >= PBJSON_MAX_DEPTH)
			return fail(p, "field '%s': messages are nested more "
			    "than %d levels deep", p->path, PBJSON_MAX_DEPTH);
		if ((sub = malloc(md->sizeof_message)) == NULL)
			return fail(p, "field '%s': out of memory", p->path);
		protobuf_c_message_init(md, sub);
		*(ProtobufCMessage **)dst = sub;
		p->depth++;
		e = parse_message(p, md, v, sub);
		p->depth--;
		return e;
	}
	return fail(p, "field '%s': unsupported field type", p->path);
}

static int
parse_repeated(struct pbjson_parser *p, const ProtobufCFieldDescriptor *fd,
    json_object *v, ProtobufCMessage *m)
{
	json_object	*e;
	size_t		 n, i, saved, esz = elem_size(fd->type);
	char		*arr;

	if (!json_object_is_type(v, json_type_array))
		return fail(p, "field '%s': expected array of %s, got %s",
		    p->path, pbjson_type_name(fd), json_kind(v));
	n = json_object_array_length(v);
	if (n > PBJSON_MAX_REPEATED)
		return fail(p, "field '%s': %zu elements; at most %d",
		    p->path, n, PBJSON_MAX_REPEATED);
	if (n == 0)
		return 0;
	if ((arr = calloc(n, esz)) == NULL)
		return fail(p, "field '%s': out of memory", p->path);
	*(void **)((char *)m + fd->offset) = arr;
	*(size_t *)((char *)m + fd->quantifier_offset) = n;
	for (i = 0; i < n; i++) {
		saved = path_push(p, "[%zu]", i);
		e = json_object_array_get_idx(v, i);
		if (e == NULL)
			return fail(p, "field '%s': expected %s%s, got null",
			    p->path, fd->type == PROTOBUF_C_TYPE_MESSAGE ?
			    "object " : "", pbjson_type_name(fd));
		if (parse_value(p, fd, e, arr + i * esz) == -1)
			return -1;
		path_pop(p, saved);
	}
	return 0;
}

static int
parse_field(struct pbjson_parser *p, const ProtobufCMessageDescriptor *d,
    const ProtobufCFieldDescriptor *fd, json_object *v, ProtobufCMessage *m)
{
	const ProtobufCFieldDescriptor *other;
	uint32_t	*oneof_case;
	char		*member = (char *)m + fd->offset;

	if (fd->label == PROTOBUF_C_LABEL_REPEATED)
		return parse_repeated(p, fd, v, m);
	if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		oneof_case = (uint32_t *)((char *)m + fd->quantifier_offset);
		if (*oneof_case != 0 && *oneof_case != fd->id) {
			other = protobuf_c_message_descriptor_get_field(d,
			    *oneof_case);
			return fail(p, "field '%s': '%s' is already set and "
			    "only one field of a oneof may be", p->path,
			    other != NULL ? other->name : "another field");
		}
		/* The member of a oneof starts as NULL or zero: safe to free. */
		*oneof_case = fd->id;
		return parse_value(p, fd, v, member);
	}
	if (parse_value(p, fd, v, member) == -1)
		return -1;
	if (fd->label == PROTOBUF_C_LABEL_OPTIONAL && fd->quantifier_offset != 0 &&
	    fd->type != PROTOBUF_C_TYPE_STRING &&
	    fd->type != PROTOBUF_C_TYPE_MESSAGE)
		*(protobuf_c_boolean *)((char *)m + fd->quantifier_offset) = 1;
	return 0;
}

/* 1 if key is the proto3 lowerCamelCase name of the field named name
 * ("nhsNumber" of "nhs_number"). */
static int
is_camel(const char *key, const char *name)
{
	int up = 0;

	for (; *name != '\0'; name++) {
		if (*name == '_') {
			up = 1;
			continue;
		}
		if (*key++ != (up && *name >= 'a' && *name <= 'z' ?
		    *name - 'a' + 'A' : *name))
			return 0;
		up = 0;
	}
	return *key == '\0';
}

/* The field of d named key, or whose lowerCamelCase name key is. */
static const ProtobufCFieldDescriptor *
field_named(const ProtobufCMessageDescriptor *d, const char *key)
{
	const ProtobufCFieldDescriptor	*fd;
	unsigned			 i;

	if ((fd = protobuf_c_message_descriptor_get_field_by_name(d,
	    key)) != NULL)
		return fd;
	for (i = 0; i < d->n_fields; i++)
		if (is_camel(key, d->fields[i].name))
			return &d->fields[i];
	return NULL;
}

static int
parse_message(struct pbjson_parser *p, const ProtobufCMessageDescriptor *d,
    json_object *obj, ProtobufCMessage *m)
{
	const ProtobufCFieldDescriptor *fd;
	const char	**seen;		/* by field index: the key that set it */
	size_t		  saved;
	int		  r = -1;

	if ((seen = calloc(d->n_fields + 1, sizeof(*seen))) == NULL)
		return fail(p, "out of memory");
	json_object_object_foreach(obj, key, val) {
		saved = path_push_field(p, key);
		if ((fd = field_named(d, key)) == NULL) {
			fail(p, "unknown field '%s'", p->path);
			goto out;
		}
		if (seen[fd - d->fields] != NULL) {
			fail(p, "field '%s' given twice (as '%s' and '%s')",
			    p->path, seen[fd - d->fields], key);
			goto out;
		}
		seen[fd - d->fields] = key;
		/* null means "not set", as in the proto3 JSON mapping. */
		if (val != NULL && parse_field(p, d, fd, val, m) == -1)
			goto out;
		path_pop(p, saved);
	}
	r = 0;
 out:
	free(seen);
	return r;
}

ProtobufCMessage *
pbjson_from_object(const ProtobufCMessageDescriptor *d, json_object *obj,
    char *err, size_t errlen)
{
	struct pbjson_parser	 p;
	ProtobufCMessage	*m;

	memset(&p, 0, sizeof(p));
	p.err = err;
	p.errlen = errlen;
	if (!json_object_is_type(obj, json_type_object)) {
		fail(&p, "expected a JSON object for %s, got %s", d->name,
		    json_kind(obj));
		return NULL;
	}
	if ((m = malloc(d->sizeof_message)) == NULL) {
		fail(&p, "out of memory");
		return NULL;
	}
	protobuf_c_message_init(d, m);
	if (parse_message(&p, d, obj, m) == -1) {
		protobuf_c_message_free_unpacked(m, NULL);
		return NULL;
	}
	return m;
}

/* Fills err with the line and column of a JSON syntax error. */
static void
syntax_error(const char *text, size_t end, const char *why, char *err,
    size_t errlen)
{
	size_t	i, line = 1, col = 1;

	for (i = 0; i < end; i++) {
		if (text[i] == '\n') {
			line++;
			col = 1;
		} else
			col++;
	}
	snprintf(err, errlen, "invalid JSON at line %zu, column %zu: %s",
	    line, col, why);
}

/* The keys of one object being scanned by duplicate_key(). */
struct scan_obj {
	size_t	 first;		/* its first key in the keys array */
	int	 is_object;
	int	 want_key;
};

/*
 * The string that starts at text[i] (a '"'), decoded, in a new string;
 * *end is the index after its closing quote.  NULL if out of memory.
 */
static char *
scan_string(const char *text, size_t len, size_t i, size_t *end)
{
	json_object	*o;
	char		*s;
	size_t		 j;

	for (j = i + 1; j < len && text[j] != '"'; j++)
		if (text[j] == '\\')
			j++;
	*end = j + 1;
	if (memchr(text + i, '\\', j - i) == NULL)
		return strndup(text + i + 1, j - i - 1);
	/* An escaped key: json-c decodes it, as it decoded the object. */
	if ((s = strndup(text + i, j - i + 1)) == NULL)
		return NULL;
	o = json_tokener_parse(s);
	free(s);
	s = o != NULL ? strdup(json_object_get_string(o)) : NULL;
	json_object_put(o);
	return s;
}

/*
 * Scans valid JSON text for an object with the same key twice (which
 * json-c reads as the last one alone).  Returns 0 if there is none, or -1
 * with the error, naming the key and where it is, in err.
 */
static int
duplicate_key(const char *text, size_t len, char *err, size_t errlen)
{
	struct scan_obj	 stack[2 * PBJSON_MAX_DEPTH + 2];
	char		**keys = NULL, **grown, *k;
	size_t		  nkeys = 0, cap = 0, i, j, end, line, col;
	int		  depth = -1, r = 0;

	for (i = 0; i < len && r == 0; i++) {
		switch (text[i]) {
		case '{':
		case '[':
			if (depth + 1 >= (int)(sizeof(stack) /
			    sizeof(stack[0])))
				goto done;	/* json-c refused deeper */
			depth++;
			stack[depth].first = nkeys;
			stack[depth].is_object = text[i] == '{';
			stack[depth].want_key = text[i] == '{';
			break;
		case '}':
		case ']':
			if (depth < 0)
				goto done;
			while (nkeys > stack[depth].first)
				free(keys[--nkeys]);
			depth--;
			break;
		case ',':
			if (depth >= 0 && stack[depth].is_object)
				stack[depth].want_key = 1;
			break;
		case '"':
			if (depth < 0 || !stack[depth].want_key) {
				free(scan_string(text, len, i, &end));
				i = end - 1;
				break;
			}
			stack[depth].want_key = 0;
			if ((k = scan_string(text, len, i, &end)) == NULL) {
				snprintf(err, errlen, "out of memory");
				r = -1;
				break;
			}
			for (j = stack[depth].first; j < nkeys; j++)
				if (strcmp(keys[j], k) == 0)
					break;
			if (j < nkeys) {
				for (j = 0, line = 1, col = 1; j < i; j++)
					if (text[j] == '\n') {
						line++;
						col = 1;
					} else
						col++;
				snprintf(err, errlen, "duplicate key '%.128s' "
				    "at line %zu, column %zu (each key may "
				    "appear once in an object)", k, line, col);
				free(k);
				r = -1;
				break;
			}
			if (nkeys == cap) {
				cap = cap > 0 ? cap * 2 : 16;
				if ((grown = realloc(keys, cap *
				    sizeof(*keys))) == NULL) {
					free(k);
					snprintf(err, errlen, "out of memory");
					r = -1;
					break;
				}
				keys = grown;
			}
			keys[nkeys++] = k;
			i = end - 1;
			break;
		default:
			break;
		}
	}
 done:
	while (nkeys > 0)
		free(keys[--nkeys]);
	free(keys);
	return r;
}

json_object *
pbjson_read(const char *json, size_t len, char *err, size_t errlen)
{
	struct json_tokener	*tok;
	enum json_tokener_error	 jerr;
	json_object		*obj = NULL;
	char			*text;
	size_t			 end;

	if (len > PBJSON_MAX_INPUT) {
		snprintf(err, errlen, "JSON text is %zu bytes; at most %d",
		    len, PBJSON_MAX_INPUT);
		return NULL;
	}
	/* The terminating NUL tells the tokener that the input ends. */
	if ((text = malloc(len + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(text, json, len);
	text[len] = '\0';
	/* An object and an array per message level, and the root. */
	if ((tok = json_tokener_new_ex(2 * PBJSON_MAX_DEPTH + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto free_text;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len + 1);
	end = json_tokener_get_parse_end(tok);
	if (obj == NULL) {
		jerr = json_tokener_get_error(tok);
		if (jerr == json_tokener_error_parse_eof ||
		    jerr == json_tokener_continue)
			end = len;
		syntax_error(text, end, json_tokener_error_desc(jerr), err,
		    errlen);
		goto free_tok;
	}
	if (end < len) {
		syntax_error(text, end, "unexpected text after the object",
		    err, errlen);
		json_object_put(obj);
		obj = NULL;
	} else if (duplicate_key(text, len, err, errlen) == -1) {
		json_object_put(obj);
		obj = NULL;
	}
 free_tok:
	json_tokener_free(tok);
 free_text:
	free(text);
	return obj;
}

ProtobufCMessage *
pbjson_parse(const ProtobufCMessageDescriptor *d, const char *json,
    size_t len, char *err, size_t errlen)
{
	json_object		*obj;
	ProtobufCMessage	*m;

	if ((obj = pbjson_read(json, len, err, errlen)) == NULL)
		return NULL;
	m = pbjson_from_object(d, obj, err, errlen);
	json_object_put(obj);
	return m;
}

/* ------------------------------------------------------------------------ */

static json_object *
double_to_json(double d)
{
	if (isnan(d))
		return json_object_new_string("NaN");
	if (isinf(d))
		return json_object_new_string(d > 0 ? "Infinity" : "-Infinity");
	return json_object_new_double(d);
}

static json_object *
bytes_to_json(const ProtobufCBinaryData *b)
{
	json_object	*o;
	char		*s;
	size_t		 i, n = 0;
	uint32_t	 v;

	if ((s = malloc((b->len + 2) / 3 * 4 + 1)) == NULL)
		return NULL;
	for (i = 0; i < b->len; i += 3) {
		v = (uint32_t)b->data[i] << 16;
		if (i + 1 < b->len)
			v |= (uint32_t)b->data[i + 1] << 8;
		if (i + 2 < b->len)
			v |= b->data[i + 2];
		s[n++] = b64_alphabet[(v >> 18) & 0x3f];
		s[n++] = b64_alphabet[(v >> 12) & 0x3f];
		s[n++] = i + 1 < b->len ? b64_alphabet[(v >> 6) & 0x3f] : '=';
		s[n++] = i + 2 < b->len ? b64_alphabet[v & 0x3f] : '=';
	}
	s[n] = '\0';
	o = json_object_new_string(s);
	free(s);
	return o;
}

static json_object *
value_to_json(const ProtobufCFieldDescriptor *fd, const void *src, int flags,
    int depth)
{
	const ProtobufCEnumValue *ev;
	const char *s;

	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_object_new_int(*(const int32_t *)src);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_object_new_int64(*(const uint32_t *)src);
	/*
	 * The two values that get_int() refuses as numbers (json-c saturates
	 * there, so they are ambiguous) are written as strings, so that
	 * what is printed parses back.
	 */
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		if (*(const int64_t *)src == INT64_MIN)
			return json_object_new_string("-9223372036854775808");
		return json_object_new_int64(*(const int64_t *)src);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if (*(const uint64_t *)src == UINT64_MAX)
			return json_object_new_string("18446744073709551615");
		return json_object_new_uint64(*(const uint64_t *)src);
	case PROTOBUF_C_TYPE_FLOAT:
		return double_to_json(*(const float *)src);
	case PROTOBUF_C_TYPE_DOUBLE:
		return double_to_json(*(const double *)src);
	case PROTOBUF_C_TYPE_BOOL:
		return json_object_new_boolean(*(const protobuf_c_boolean *)src);
	case PROTOBUF_C_TYPE_ENUM:
		ev = protobuf_c_enum_descriptor_get_value(fd->descriptor,
		    *(const int *)src);
		if (ev == NULL)
			return json_object_new_int(*(const int *)src);
		return json_object_new_string(ev->name);
	case PROTOBUF_C_TYPE_STRING:
		s = *(char *const *)src;
		return json_object_new_string(s != NULL ? s : "");
	case PROTOBUF_C_TYPE_BYTES:
		return bytes_to_json(src);
	case PROTOBUF_C_TYPE_MESSAGE:
		if (*(ProtobufCMessage *const *)src == NULL)
			return json_object_new_object();
		return message_to_json(*(ProtobufCMessage *const *)src, flags,
		    depth + 1);
	}
	return NULL;
}

/* Returns 1 if a singular proto3 value is its type's default. */
static int
is_default(const ProtobufCFieldDescriptor *fd, const void *src)
{
	const char *s;

	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return *(const uint32_t *)src == 0;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return *(const uint64_t *)src == 0;
	case PROTOBUF_C_TYPE_FLOAT:
		return *(const float *)src == 0;
	case PROTOBUF_C_TYPE_DOUBLE:
		return *(const double *)src == 0;
	case PROTOBUF_C_TYPE_BOOL:
		return *(const protobuf_c_boolean *)src == 0;
	case PROTOBUF_C_TYPE_ENUM:
		return *(const int *)src == 0;
	case PROTOBUF_C_TYPE_STRING:
		s = *(char *const *)src;
		return s == NULL || s[0] == '\0';
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)src)->len == 0;
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(ProtobufCMessage *const *)src == NULL;
	}
	return 1;
}

static json_object *
repeated_to_json(const ProtobufCFieldDescriptor *fd, const ProtobufCMessage *m,
    int flags, int depth)
{
	json_object	*arr, *e;
	const char	*elems = *(char *const *)((const char *)m + fd->offset);
	size_t		 n, i, esz = elem_size(fd->type);

	n = *(const size_t *)((const char *)m + fd->quantifier_offset);
	if ((arr = json_object_new_array_ext((int)n)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if ((e = value_to_json(fd, elems + i * esz, flags,
		    depth)) == NULL || json_object_array_add(arr, e) != 0) {
			json_object_put(e);
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

static json_object *
message_to_json(const ProtobufCMessage *m, int flags, int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const ProtobufCFieldDescriptor	 *fd;
	const char	*member, *quant;
	json_object	*obj, *v;
	unsigned	 i;

	if (depth > PBJSON_MAX_DEPTH)
		return NULL;
	if ((obj = json_object_new_object()) == NULL)
		return NULL;
	for (i = 0; i < d->n_fields; i++) {
		fd = &d->fields[i];
		member = (const char *)m + fd->offset;
		quant = (const char *)m + fd->quantifier_offset;
		if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			if (*(const uint32_t *)quant != fd->id)
				continue;
		} else if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			if (*(const size_t *)quant == 0 &&
			    !(flags & PBJSON_EMIT_DEFAULTS))
				continue;
		} else if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
			if (*(ProtobufCMessage *const *)member == NULL)
				continue;
		} else if (fd->label == PROTOBUF_C_LABEL_OPTIONAL &&
		    fd->quantifier_offset != 0 &&
		    fd->type != PROTOBUF_C_TYPE_STRING) {
			if (!*(const protobuf_c_boolean *)quant &&
			    !(flags & PBJSON_EMIT_DEFAULTS))
				continue;
		} else if (fd->label != PROTOBUF_C_LABEL_REQUIRED &&
		    !(flags & PBJSON_EMIT_DEFAULTS) && is_default(fd, member))
			continue;
		if (fd->label == PROTOBUF_C_LABEL_REPEATED)
			v = repeated_to_json(fd, m, flags, depth);
		else
			v = value_to_json(fd, member, flags, depth);
		if (v == NULL || json_object_object_add(obj, fd->name, v) != 0) {
			json_object_put(v);
			json_object_put(obj);
			return NULL;
		}
	}
	return obj;
}

json_object *
pbjson_to_object(const ProtobufCMessage *m, int flags)
{
	return message_to_json(m, flags, 0);
}

char *
pbjson_print(const ProtobufCMessage *m, int flags)
{
	json_object	*obj;
	const char	*s;
	char		*out = NULL;
	int		 jflags = JSON_C_TO_STRING_NOSLASHESCAPE;

	if ((obj = pbjson_to_object(m, flags)) == NULL)
		return NULL;
	jflags |= (flags & PBJSON_PRETTY) ? JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN;
	if ((s = json_object_to_json_string_ext(obj, jflags)) != NULL)
		out = strdup(s);
	json_object_put(obj);
	return out;
}
