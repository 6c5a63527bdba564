/*
 * schema: what nwd knows of the message kinds, read from the protobuf-c
 * descriptors at run time: each kind's one-line description (the only
 * hand-kept list), its name in any case, and the skeleton of its body
 * that "nwd template" prints.
 *
 * Kind names, like every enum name the tool reads (body enums, markings,
 * priorities, legal bases, audit actions), are case-insensitive.
 */
#ifndef NWD_CLIENT_SCHEMA_H
#define NWD_CLIENT_SCHEMA_H

#include <protobuf-c/protobuf-c.h>

#include "nwd.pb-c.h"

struct json_object;

/* The depth of nested messages a skeleton goes down to; deeper, {}. */
#define SCHEMA_MAX_DEPTH	8

/* The one-line description of a kind the schema knows, or NULL. */
const char	*schema_kind_description(Nwd__V1__Kind kind);

/*
 * The kind named name in any case ("risk_alert", "RISK_ALERT") into *out.
 * Returns 0, or -1 if no kind has that name.
 */
int		 schema_kind_from_name(const char *name, Nwd__V1__Kind *out);

/*
 * The skeleton of a message of type d: every field, nested messages as
 * objects, repeated fields as an array of one element.  With types 0, each
 * value is a placeholder that pbjson_from_object() reads back into a
 * message ("" for strings and bytes, 0, false, an enum's first value that
 * is not its zero, the first member of a oneof only); with types 1, each
 * value is the field's type as a string ("int64", "enum Level: LOW |
 * MEDIUM | HIGH"), every oneof member marked as such.  Returns a new
 * object (one reference), or NULL if memory runs out.
 */
struct json_object *schema_template(const ProtobufCMessageDescriptor *d,
		    int types);

#endif
