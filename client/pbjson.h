/*
 * pbjson: JSON <-> protobuf-c messages, generically over descriptors.
 *
 * Field names are written as the .proto names (snake_case) and read as
 * those or proto3's lowerCamelCase names (a field given under both, and a
 * key twice in one object, are refused); enums are written by name and
 * read by name, in any case, or number; 64-bit integers are JSON numbers
 * (a numeric string is accepted too), bytes are base64.  Nothing here knows a message
 * type by name: a new message kind needs a schema change, not new code.
 *
 * Outside input is bounded: at most PBJSON_MAX_INPUT bytes of JSON,
 * PBJSON_MAX_DEPTH levels of nested messages and PBJSON_MAX_REPEATED
 * elements in one repeated field.  Every error names the field by its path
 * from the root ("grading.assessment", "third_parties[1].address.town").
 */
#ifndef NWD_PBJSON_H
#define NWD_PBJSON_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

struct json_object;

#define PBJSON_MAX_INPUT	(1024 * 1024)
#define PBJSON_MAX_DEPTH	32
#define PBJSON_MAX_REPEATED	65536

/* The name of a field's type as errors and templates print it ("int64",
 * "bytes (base64 string)", an enum's or a message's name). */
const char		*pbjson_type_name(const ProtobufCFieldDescriptor *fd);

/* Flags of pbjson_to_object() and pbjson_print(). */
#define PBJSON_PRETTY		0x01	/* indent; default is one line */
#define PBJSON_EMIT_DEFAULTS	0x02	/* also write zero scalars, "" and [] */

/*
 * Parses len bytes of JSON text (one object, which need not be
 * NUL-terminated) into a new message of type d.  The result is allocated
 * with the default protobuf-c allocator, so the caller releases it with
 * protobuf_c_message_free_unpacked(m, NULL).  Returns NULL with one
 * sentence in err on invalid JSON, an unknown field, a type mismatch, a
 * value out of range, or input beyond the limits above.
 */
ProtobufCMessage	*pbjson_parse(const ProtobufCMessageDescriptor *d,
			    const char *json, size_t len, char *err,
			    size_t errlen);

/*
 * Reads len bytes of JSON text (one value, which need not be
 * NUL-terminated) as pbjson_parse() does, without converting it: strict
 * JSON, valid UTF-8, nothing after the value, at most PBJSON_MAX_INPUT
 * bytes.  Returns a new JSON value (one reference, released with
 * json_object_put()), or NULL with one sentence in err.
 */
struct json_object	*pbjson_read(const char *json, size_t len, char *err,
			    size_t errlen);

/*
 * Converts a parsed JSON object the same way.  obj stays the caller's and
 * is only read.  The result is owned as with pbjson_parse().
 */
ProtobufCMessage	*pbjson_from_object(const ProtobufCMessageDescriptor *d,
			    struct json_object *obj, char *err, size_t errlen);

/*
 * Returns a new JSON object for m (one reference, released with
 * json_object_put()), or NULL if memory runs out.  Proto3 fields holding
 * their default value and unset submessages are omitted unless flags has
 * PBJSON_EMIT_DEFAULTS; only the selected member of a oneof is written.
 */
struct json_object	*pbjson_to_object(const ProtobufCMessage *m,
			    int flags);

/*
 * Returns m as JSON text in a new string that the caller frees with free(),
 * or NULL if memory runs out.
 */
char			*pbjson_print(const ProtobufCMessage *m, int flags);

#endif
