/*
 * schema: kinds, their descriptions and their bodies' skeletons, from the
 * descriptors.  See schema.h for the contracts.
 */

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <json.h>

#include "envelope.h"
#include "pbjson.h"
#include "schema.h"

/* The one hand-kept list: a line for each kind, by its name. */
static const struct {
	const char	*kind;
	const char	*what;
} descriptions[] = {
	{ "intelligence_report", "sanitised, graded police intelligence "
	    "(3x5x2) about the young person" },
	{ "missing_episode", "a missing episode: reported, found, returned; "
	    "starts the 72-hour clock" },
	{ "risk_alert", "a risk of harm (exploitation, self-harm, going "
	    "missing...) and its level" },
	{ "domestic_abuse_notification", "Operation Encompass: a domestic "
	    "abuse incident, for the school" },
	{ "camhs_update", "an update from child and adolescent mental health "
	    "services" },
	{ "placement_change", "the young person moves placement" },
	{ "strategy_discussion_request", "asks the named agencies to a "
	    "strategy discussion" },
	{ "allocation", "allocates a team or worker to the young person" },
	{ "consent_record", "a decision about sharing (given, refused, "
	    "withdrawn) and its scope" },
	{ "return_interview", "the return-home interview; closes a missing "
	    "episode's clock" },
	{ "escalation", "a deadline passed or an urgent message unacknowledged "
	    "(made by the broker alone)" },
	{ "retraction", "withdraws the message header.supersedes names, "
	    "replacing nothing" },
	{ "sharing_decision", "a decision not to share, on the record: what, "
	    "with whom, why" },
	{ "withdrawal_notice", "a message you had was corrected or retracted "
	    "(made by the broker alone)" },
	{ "break_glass_alert", "emergency access was claimed, ended or "
	    "revoked (made by the broker alone)" },
};

const char *
schema_kind_description(Nwd__V1__Kind kind)
{
	const char	*name;
	size_t		 i;

	if ((name = envelope_kind_name(kind)) == NULL)
		return NULL;
	for (i = 0; i < sizeof(descriptions) / sizeof(descriptions[0]); i++)
		if (strcmp(descriptions[i].kind, name) == 0)
			return descriptions[i].what;
	return NULL;
}

int
schema_kind_from_name(const char *name, Nwd__V1__Kind *out)
{
	char	low[64];
	size_t	i;

	for (i = 0; name[i] != '\0' && i < sizeof(low) - 1; i++)
		low[i] = (char)tolower((unsigned char)name[i]);
	if (name[i] != '\0')
		return -1;
	low[i] = '\0';
	return envelope_kind_from_name(low, out);
}

/* ------------------------------------------------------------------------
 * Skeletons
 */

/* "enum Level: LOW | MEDIUM | HIGH": the values but the zero one, unless
 * it is the only one. */
static json_object *
enum_type(const ProtobufCEnumDescriptor *ed)
{
	char		buf[1024];
	size_t		off;
	unsigned	i, n = 0;
	int		r;

	r = snprintf(buf, sizeof(buf), "enum %s:", ed->short_name);
	off = r > 0 ? (size_t)r : 0;
	for (i = 0; i < ed->n_values && off < sizeof(buf); i++) {
		if (ed->values[i].value == 0 && ed->n_values > 1)
			continue;
		r = snprintf(buf + off, sizeof(buf) - off, "%s %s",
		    n++ > 0 ? " |" : "", ed->values[i].name);
		if (r < 0)
			break;
		off += (size_t)r;
	}
	return json_object_new_string(buf);
}

/* An enum's first value that is not its zero one (or the zero one). */
static json_object *
enum_example(const ProtobufCEnumDescriptor *ed)
{
	unsigned i;

	for (i = 0; i < ed->n_values; i++)
		if (ed->values[i].value != 0)
			return json_object_new_string(ed->values[i].name);
	return json_object_new_string(ed->n_values > 0 ?
	    ed->values[0].name : "");
}

static json_object *skeleton(const ProtobufCMessageDescriptor *, int, int);

/* One value of field fd. */
static json_object *
value(const ProtobufCFieldDescriptor *fd, int types, int depth)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_MESSAGE:
		return skeleton(fd->descriptor, types, depth + 1);
	case PROTOBUF_C_TYPE_ENUM:
		return types ? enum_type(fd->descriptor) :
		    enum_example(fd->descriptor);
	default:
		break;
	}
	if (types)
		return json_object_new_string(pbjson_type_name(fd));
	switch (fd->type) {
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_BYTES:
		return json_object_new_string("");
	case PROTOBUF_C_TYPE_BOOL:
		return json_object_new_boolean(0);
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
		return json_object_new_double(0);
	default:
		return json_object_new_int(0);
	}
}

/* The oneof that field i of d is a member of, by its first member's
 * index, or -1 if none. */
static int
oneof_first(const ProtobufCMessageDescriptor *d, unsigned i)
{
	const ProtobufCFieldDescriptor	*fd = &d->fields[i];
	unsigned			 j;

	if (!(fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
		return -1;
	for (j = 0; j < i; j++)
		if ((d->fields[j].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    d->fields[j].quantifier_offset == fd->quantifier_offset)
			return (int)j;
	return (int)i;
}

static json_object *
skeleton(const ProtobufCMessageDescriptor *d, int types, int depth)
{
	const ProtobufCFieldDescriptor	*fd;
	json_object			*obj, *v, *arr;
	char				 type[256];
	unsigned			 i;
	int				 first;

	if ((obj = json_object_new_object()) == NULL)
		return NULL;
	if (depth >= SCHEMA_MAX_DEPTH)
		return obj;
	for (i = 0; i < d->n_fields; i++) {
		fd = &d->fields[i];
		first = oneof_first(d, i);
		/* A placeholder sets one member of a oneof, as a body may. */
		if (!types && first >= 0 && (unsigned)first != i)
			continue;
		if ((v = value(fd, types, depth)) == NULL)
			goto fail;
		if (types && first >= 0 && json_object_is_type(v,
		    json_type_string)) {
			snprintf(type, sizeof(type), "%s (a oneof: set one "
			    "of its fields only)", json_object_get_string(v));
			json_object_put(v);
			if ((v = json_object_new_string(type)) == NULL)
				goto fail;
		}
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			if ((arr = json_object_new_array()) == NULL ||
			    json_object_array_add(arr, v) != 0) {
				json_object_put(v);
				json_object_put(arr);
				goto fail;
			}
			v = arr;
		}
		if (json_object_object_add(obj, fd->name, v) != 0) {
			json_object_put(v);
			goto fail;
		}
	}
	return obj;
 fail:
	json_object_put(obj);
	return NULL;
}

json_object *
schema_template(const ProtobufCMessageDescriptor *d, int types)
{
	return skeleton(d, types, 0);
}
