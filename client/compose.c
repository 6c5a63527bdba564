/*
 * compose: the envelope that "nwd push" sends and "nwd policy explain"
 * judges, built from the message options both take.  See compose.h for
 * the contracts.
 */

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "compose.h"
#include "envelope.h"
#include "pbjson.h"
#include "schema.h"

const struct args_opt compose_opts[] = {
	{ .name = "subject", .type = ARGS_LIST, .arg = "ID",
	  .off = offsetof(struct compose_msg, subjects),
	  .help = "the young person's local identifier (required)" },
	{ .name = "nhs-number", .type = ARGS_STRING, .arg = "N",
	  .off = offsetof(struct compose_msg, nhs),
	  .help = "their NHS number: ten digits, or as printed\n"
	    "(943 476 5919)" },
	{ .name = "marking", .type = ARGS_STRING, .arg = "M",
	  .off = offsetof(struct compose_msg, marking),
	  .help = "OFFICIAL (default) or OFFICIAL-SENSITIVE" },
	{ .name = "priority", .type = ARGS_STRING, .arg = "P",
	  .off = offsetof(struct compose_msg, priority),
	  .help = "ROUTINE (default), HIGH or URGENT" },
	{ .name = "basis", .type = ARGS_STRING, .arg = "B",
	  .off = offsetof(struct compose_msg, basis),
	  .help = "consent, safeguarding, legal_obligation,\n"
	    "public_task or vital_interests" },
	{ .name = "justification", .type = ARGS_STRING, .arg = "TEXT",
	  .off = offsetof(struct compose_msg, justification),
	  .help = "why sharing is necessary" },
	{ .name = "share-with", .type = ARGS_NAMES, .arg = "A,B",
	  .off = offsetof(struct compose_msg, share_with),
	  .bad = "is not a comma-separated list of names",
	  .help = "named recipients (principals or teams); repeatable" },
	{ .name = "supersedes", .type = ARGS_STRING, .arg = "UUID",
	  .off = offsetof(struct compose_msg, supersedes),
	  .help = "the message this one corrects" },
	{ .name = "references", .type = ARGS_STRING, .arg = "UUID",
	  .off = offsetof(struct compose_msg, references),
	  .help = "the message this one answers (a return_interview:\n"
	    "the missing_episode)" },
	{ .type = ARGS_END },
};

static void
fail_at(struct compose_error *e, int usage, const char *what,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
fail_at(struct compose_error *e, int usage, const char *what,
    const char *fmt, ...)
{
	va_list ap;

	e->usage = usage;
	snprintf(e->what, sizeof(e->what), "%s", what);
	va_start(ap, fmt);
	vsnprintf(e->why, sizeof(e->why), fmt, ap);
	va_end(ap);
}

/* Reads all of FILE, or stdin for NULL or "-", up to PBJSON_MAX_INPUT. */
static char *
read_body(const char *path, size_t *lenp, struct compose_error *e)
{
	FILE		*f;
	char		*buf;
	size_t		 n = 0, r;
	int		 stdin_ = path == NULL || strcmp(path, "-") == 0;
	const char	*name = stdin_ ? "stdin" : path;

	if (stdin_)
		f = stdin;
	else if ((f = fopen(path, "r")) == NULL) {
		fail_at(e, 0, name, "%s", strerror(errno));
		return NULL;
	}
	if ((buf = malloc(PBJSON_MAX_INPUT + 1)) == NULL) {
		fail_at(e, 0, name, "out of memory");
		goto close;
	}
	while (n <= PBJSON_MAX_INPUT &&
	    (r = fread(buf + n, 1, PBJSON_MAX_INPUT + 1 - n, f)) > 0)
		n += r;
	if (ferror(f)) {
		fail_at(e, 0, name, "%s", strerror(errno));
		goto fail;
	}
	if (n > PBJSON_MAX_INPUT) {
		fail_at(e, 0, name, "the body is larger than %d bytes",
		    PBJSON_MAX_INPUT);
		goto fail;
	}
	if (!stdin_)
		fclose(f);
	*lenp = n;
	return buf;
 fail:
	free(buf);
 close:
	if (!stdin_)
		fclose(f);
	return NULL;
}

static int
parse_priority(const char *s, Nwd__V1__Priority *out)
{
	const ProtobufCEnumValue	*v;
	char				 up[32];
	size_t				 i;

	for (i = 0; s[i] != '\0' && i < sizeof(up) - 1; i++)
		up[i] = toupper((unsigned char)s[i]);
	up[i] = '\0';
	v = protobuf_c_enum_descriptor_get_value_by_name(
	    &nwd__v1__priority__descriptor, up);
	if (s[i] != '\0' || v == NULL ||
	    v->value == NWD__V1__PRIORITY__PRIORITY_UNSPECIFIED)
		return -1;
	*out = (Nwd__V1__Priority)v->value;
	return 0;
}

/* Sets a string field of the envelope being built to a copy of v. */
static int
copy_into(char **slot, const char *v)
{
	char *copy;

	if ((copy = strdup(v)) == NULL)
		return -1;
	*slot = copy;
	return 0;
}

Nwd__V1__Envelope *
compose_envelope(const struct compose_msg *m,
    struct compose_error *e)
{
	Nwd__V1__Envelope		*env;
	Nwd__V1__Header			*h;
	const ProtobufCFieldDescriptor	*fd;
	ProtobufCMessage		*body;
	Nwd__V1__Kind			 kind;
	const char			*comma, *name, *nhs_arg;
	char				*text, err[512], nhs[11];
	size_t				 len;

	memset(e, 0, sizeof(*e));
	if (schema_kind_from_name(m->kind, &kind) == -1) {
		fail_at(e, 1, m->command, "unknown kind \"%s\" (one of %s)",
		    m->kind, cli_kinds());
		return NULL;
	}
	if (m->subjects.n != 1) {
		fail_at(e, 1, m->command, "%s", m->subjects.n == 0 ?
		    "--subject ID is required" : "give one --subject");
		return NULL;
	}
	if ((env = malloc(sizeof(*env))) == NULL) {
		fail_at(e, 1, m->command, "out of memory");
		return NULL;
	}
	nwd__v1__envelope__init(env);
	if ((h = malloc(sizeof(*h))) == NULL)
		goto nomem;
	nwd__v1__header__init(h);
	env->header = h;
	h->kind = kind;
	if ((h->subject = malloc(sizeof(*h->subject))) == NULL)
		goto nomem;
	nwd__v1__subject_ref__init(h->subject);
	/* The printed form "943 476 5919" goes as its digits; anything
	 * else goes as written, for envelope_validate() to judge. */
	if (m->nhs != NULL && envelope_nhs_number_digits(m->nhs, nhs) == 0)
		nhs_arg = nhs;
	else
		nhs_arg = m->nhs;
	if (copy_into(&h->subject->local_id, m->subjects.v[0]) == -1 ||
	    (nhs_arg != NULL &&
	    copy_into(&h->subject->nhs_number, nhs_arg) == -1))
		goto nomem;
	h->marking = NWD__V1__MARKING__OFFICIAL;
	if (m->marking != NULL &&
	    envelope_marking_from_name(m->marking, &h->marking) == -1) {
		fail_at(e, 1, "--marking", "\"%s\" is not a marking (OFFICIAL "
		    "or OFFICIAL-SENSITIVE)", m->marking);
		goto fail;
	}
	h->priority = NWD__V1__PRIORITY__ROUTINE;
	if (m->priority != NULL && parse_priority(m->priority,
	    &h->priority) == -1) {
		fail_at(e, 1, "--priority", "\"%s\" is not ROUTINE, HIGH or "
		    "URGENT", m->priority);
		goto fail;
	}
	if (m->basis != NULL &&
	    envelope_legal_basis_from_name(m->basis, &h->legal_basis) == -1) {
		fail_at(e, 1, "--basis", "\"%s\" is not consent, "
		    "safeguarding, legal_obligation, public_task or "
		    "vital_interests", m->basis);
		goto fail;
	}
	if (m->justification != NULL && copy_into(&h->justification,
	    m->justification) == -1)
		goto nomem;
	if (m->share_with.n > 0) {
		if ((h->share_with = calloc(m->share_with.n,
		    sizeof(char *))) == NULL)
			goto nomem;
		for (; h->n_share_with < m->share_with.n; h->n_share_with++)
			if (copy_into(&h->share_with[h->n_share_with],
			    m->share_with.v[h->n_share_with]) == -1)
				goto nomem;
	}
	if (m->supersedes != NULL &&
	    copy_into(&h->supersedes, m->supersedes) == -1)
		goto nomem;
	if (m->references != NULL &&
	    copy_into(&h->references, m->references) == -1)
		goto nomem;
	if (m->claim_sender != NULL) {
		/* For tests: the broker must overwrite both. */
		comma = strchr(m->claim_sender, ',');
		h->sender = comma != NULL ? strndup(m->claim_sender,
		    (size_t)(comma - m->claim_sender)) :
		    strdup(m->claim_sender);
		if (h->sender == NULL || copy_into(&h->originating_agency,
		    comma != NULL ? comma + 1 : h->sender) == -1)
			goto nomem;
	}

	if (m->body_json != NULL) {
		body = pbjson_from_object(envelope_kind_body_descriptor(kind),
		    m->body_json, err, sizeof(err));
		if (body == NULL) {
			fail_at(e, 0, "body", "%s", err);
			goto fail;
		}
		goto parsed;
	}
	if (m->body_file == NULL && m->body_optional) {
		text = strdup("{}");
		len = 2;
		name = "body";
		if (text == NULL)
			goto nomem;
	} else {
		name = m->body_file != NULL && strcmp(m->body_file, "-") != 0 ?
		    m->body_file : "stdin";
		if ((text = read_body(m->body_file, &len, e)) == NULL)
			goto fail;
	}
	body = pbjson_parse(
	    envelope_kind_body_descriptor(kind), text, len, err, sizeof(err));
	free(text);
	if (body == NULL) {
		fail_at(e, 0, name, "%s", err);
		goto fail;
	}
 parsed:
	env->body_case = envelope_kind_body_case(kind);
	fd = protobuf_c_message_descriptor_get_field(
	    &nwd__v1__envelope__descriptor, env->body_case);
	*(ProtobufCMessage **)((char *)env + fd->offset) = body;
	if (envelope_validate(env, err, sizeof(err)) == -1) {
		fail_at(e, 0, "invalid envelope", "%s", err);
		goto fail;
	}
	return env;
 nomem:
	fail_at(e, 1, m->command, "out of memory");
 fail:
	compose_free(env);
	return NULL;
}

void
compose_free(Nwd__V1__Envelope *env)
{
	if (env != NULL)
		nwd__v1__envelope__free_unpacked(env, NULL);
}
