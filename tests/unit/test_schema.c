/*
 * Unit tests for client/schema.c: what "nwd kinds" and "nwd template"
 * print, read from the descriptors (issue 21).
 *
 * - Every kind the schema knows has a one-line description, and none is
 *   described that the schema does not know.
 * - Kind names are read in any case.
 * - Every kind's template, printed as text, parses back through the
 *   CLI's JSON parser (pbjson_parse()) into a body of that kind.
 * - Every template names every field of the body, nested and repeated
 *   ones included, and its --types form every enum's values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json.h>

#include "envelope.h"
#include "pbjson.h"
#include "schema.h"

static void
test_descriptions(void **state)
{
	const char	*d;
	int		 k;

	(void)state;
	for (k = 1; envelope_kind_name(k) != NULL; k++) {
		d = schema_kind_description(k);
		if (d == NULL || d[0] == '\0' || strchr(d, '\n') != NULL)
			fail_msg("kind %s has no one-line description",
			    envelope_kind_name(k));
	}
	assert_true(k > 10);
	assert_null(schema_kind_description(k));
	assert_null(schema_kind_description(0));
}

static void
test_kind_names(void **state)
{
	Nwd__V1__Kind k;

	(void)state;
	assert_int_equal(schema_kind_from_name("risk_alert", &k), 0);
	assert_int_equal(k, NWD__V1__KIND__RISK_ALERT);
	assert_int_equal(schema_kind_from_name("RISK_ALERT", &k), 0);
	assert_int_equal(k, NWD__V1__KIND__RISK_ALERT);
	assert_int_equal(schema_kind_from_name("Missing_Episode", &k), 0);
	assert_int_equal(k, NWD__V1__KIND__MISSING_EPISODE);
	assert_int_equal(schema_kind_from_name("risk-alert", &k), -1);
	assert_int_equal(schema_kind_from_name("header", &k), -1);
	assert_int_equal(schema_kind_from_name("", &k), -1);
}

/* Fails unless o has every field of d, with the same shape, down to
 * SCHEMA_MAX_DEPTH; with types, every enum's every non-zero value. */
static void
check_fields(const ProtobufCMessageDescriptor *d, json_object *o, int types,
    int depth, const char *kind)
{
	const ProtobufCFieldDescriptor	*fd;
	const ProtobufCEnumDescriptor	*ed;
	json_object			*v;
	unsigned			 i, j;

	if (depth >= SCHEMA_MAX_DEPTH)
		return;
	assert_true(json_object_is_type(o, json_type_object));
	for (i = 0; i < d->n_fields; i++) {
		fd = &d->fields[i];
		if (!json_object_object_get_ex(o, fd->name, &v)) {
			/* Placeholders set one member of a oneof only. */
			if (!types && (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
				continue;
			fail_msg("template of %s lacks %s.%s", kind, d->name,
			    fd->name);
		}
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			assert_true(json_object_is_type(v, json_type_array));
			assert_int_equal(json_object_array_length(v), 1);
			v = json_object_array_get_idx(v, 0);
		}
		if (fd->type == PROTOBUF_C_TYPE_MESSAGE)
			check_fields(fd->descriptor, v, types, depth + 1, kind);
		if (fd->type == PROTOBUF_C_TYPE_ENUM && types) {
			ed = fd->descriptor;
			for (j = 0; j < ed->n_values; j++)
				if (ed->values[j].value != 0 &&
				    strstr(json_object_get_string(v),
				    ed->values[j].name) == NULL)
					fail_msg("%s.%s of %s: \"%s\" lacks %s",
					    d->name, fd->name, kind,
					    json_object_get_string(v),
					    ed->values[j].name);
		}
	}
	/* Nothing but fields. */
	json_object_object_foreach(o, key, val) {
		(void)val;
		if (protobuf_c_message_descriptor_get_field_by_name(d,
		    key) == NULL)
			fail_msg("template of %s: %s has no field %s", kind,
			    d->name, key);
	}
}

static void
test_templates_round_trip(void **state)
{
	const ProtobufCMessageDescriptor	*d;
	ProtobufCMessage			*m;
	json_object				*o;
	const char				*text;
	char					 err[512];
	int					 k;

	(void)state;
	for (k = 1; envelope_kind_name(k) != NULL; k++) {
		d = envelope_kind_body_descriptor(k);
		assert_non_null(d);
		assert_non_null(o = schema_template(d, 0));
		check_fields(d, o, 0, 0, envelope_kind_name(k));
		text = json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PRETTY);
		m = pbjson_parse(d, text, strlen(text), err, sizeof(err));
		if (m == NULL)
			fail_msg("template of %s does not parse: %s\n%s",
			    envelope_kind_name(k), err, text);
		assert_ptr_equal(m->descriptor, d);
		protobuf_c_message_free_unpacked(m, NULL);
		json_object_put(o);

		assert_non_null(o = schema_template(d, 1));
		check_fields(d, o, 1, 0, envelope_kind_name(k));
		json_object_put(o);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_descriptions),
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_templates_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
