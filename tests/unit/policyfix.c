/*
 * policyfix: fixtures of the policy and decision engine tests.  See
 * policyfix.h for the contracts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "envelope.h"
#include "identity.h"
#include "policy.h"
#include "policyfix.h"
#include "redact.h"

#define MAX_DEPTH	6	/* of the bodies' messages */

/* ------------------------------------------------------------------------
 * Helpers
 */

char *
fix_slurp(const char *path, size_t *lenp)
{
	FILE	*fp;
	char	*buf;
	long	 n;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0 || (buf = malloc(n + 1)) == NULL) {
		fclose(fp);
		return NULL;
	}
	if (fread(buf, 1, n, fp) != (size_t)n) {
		free(buf);
		fclose(fp);
		return NULL;
	}
	buf[n] = '\0';
	fclose(fp);
	*lenp = (size_t)n;
	return buf;
}

struct policy *
fix_parse_ok(const char *text, const char *name)
{
	char		 err[512] = "";
	struct policy	*p;

	p = policy_parse(text, strlen(text), name, err, sizeof(err));
	if (p == NULL)
		fail_msg("policy %s does not parse: %s", name, err);
	return p;
}

int
fix_covers(const char *a, const char *b)
{
	size_t n = strlen(a);

	return strncmp(a, b, n) == 0 && (b[n] == '\0' || b[n] == '.');
}

int
fix_covered_by_any(const char *path, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (fix_covers(list[i], path))
			return 1;
	return 0;
}

void
fix_appendf(char *buf, size_t len, const char *fmt, ...)
{
	size_t	n = strlen(buf);
	va_list	ap;

	if (n + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

void *
fix_arena_alloc(struct fix_arena *a, size_t n)
{
	void *p;

	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->v = realloc(a->v, a->cap * sizeof(void *));
		assert_non_null(a->v);
	}
	p = calloc(1, n > 0 ? n : 1);
	assert_non_null(p);
	a->v[a->n++] = p;
	return p;
}

char *
fix_arena_printf(struct fix_arena *a, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	s = fix_arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

void
fix_arena_free(struct fix_arena *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

/* ------------------------------------------------------------------------
 * Bodies with every field set, generically over the descriptors
 */

size_t
fix_value_size(ProtobufCType t)
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

void *
fix_field_slot(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd)
{
	return (char *)m + fd->offset;
}

size_t *
fix_field_count(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd)
{
	return (size_t *)((char *)m + fd->quantifier_offset);
}

static int
enum_first_value(const ProtobufCEnumDescriptor *ed)
{
	unsigned i;

	for (i = 0; i < ed->n_values; i++)
		if (ed->values[i].value != 0)
			return ed->values[i].value;
	return 0;
}

static void fill_message(struct fix_arena *,
    const ProtobufCMessageDescriptor *, ProtobufCMessage *, const char *, int);

/*
 * One value, recognisable: strings are "[path#i]", so that no string of a
 * field is part of another's.
 */
static void
fill_value(struct fix_arena *a, const ProtobufCFieldDescriptor *fd, void *slot,
    const char *path, int i, int depth)
{
	const ProtobufCMessageDescriptor	*md;
	ProtobufCMessage			*m;

	switch (fd->type) {
	case PROTOBUF_C_TYPE_STRING:
		*(char **)slot = fix_arena_printf(a, "[%s#%d]", path, i);
		break;
	case PROTOBUF_C_TYPE_BYTES:
		((ProtobufCBinaryData *)slot)->data =
		    (uint8_t *)fix_arena_printf(a, "[%s#%d]", path, i);
		((ProtobufCBinaryData *)slot)->len =
		    strlen((char *)((ProtobufCBinaryData *)slot)->data);
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		md = fd->descriptor;
		m = fix_arena_alloc(a, md->sizeof_message);
		protobuf_c_message_init(md, m);
		fill_message(a, md, m, path, depth + 1);
		*(ProtobufCMessage **)slot = m;
		break;
	case PROTOBUF_C_TYPE_BOOL:
		*(protobuf_c_boolean *)slot = 1;
		break;
	case PROTOBUF_C_TYPE_ENUM:
		*(int *)slot = enum_first_value(fd->descriptor);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		*(int64_t *)slot = 1700000000000LL + i;
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		*(float *)slot = 1.5f;
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		*(double *)slot = 2.5;
		break;
	default:	/* 32-bit integers: 2 suits every code of the schema */
		*(int32_t *)slot = 2;
		break;
	}
}

static void
fill_message(struct fix_arena *a, const ProtobufCMessageDescriptor *d,
    ProtobufCMessage *m, const char *prefix, int depth)
{
	const ProtobufCFieldDescriptor	*fd;
	char				 path[256];
	char				*arr;
	size_t				 i, sz;
	int				 j;

	assert_true(depth < MAX_DEPTH);
	for (i = 0; i < d->n_fields; i++) {
		fd = &d->fields[i];
		assert_false(fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF);
		snprintf(path, sizeof(path), "%s%s%s", prefix,
		    prefix[0] != '\0' ? "." : "", fd->name);
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			sz = fix_value_size(fd->type);
			arr = fix_arena_alloc(a, 2 * sz);
			for (j = 0; j < 2; j++)
				fill_value(a, fd, arr + j * sz, path, j,
				    depth);
			*fix_field_count(m, fd) = 2;
			*(void **)fix_field_slot(m, fd) = arr;
		} else
			fill_value(a, fd, fix_field_slot(m, fd), path, 0,
			    depth);
	}
}

Nwd__V1__Envelope *
fix_full_envelope(struct fix_arena *a, Nwd__V1__Kind kind,
    const char *subject, Nwd__V1__Marking marking)
{
	static const Nwd__V1__Envelope	 ei = NWD__V1__ENVELOPE__INIT;
	static const Nwd__V1__Header	 hi = NWD__V1__HEADER__INIT;
	static const Nwd__V1__SubjectRef si = NWD__V1__SUBJECT_REF__INIT;
	const ProtobufCMessageDescriptor *d =
	    envelope_kind_body_descriptor(kind);
	const ProtobufCFieldDescriptor	*fd;
	Nwd__V1__Envelope		*e;
	ProtobufCMessage		*body;

	assert_non_null(d);
	e = fix_arena_alloc(a, sizeof(*e));
	*e = ei;
	e->header = fix_arena_alloc(a, sizeof(*e->header));
	*e->header = hi;
	e->header->subject = fix_arena_alloc(a, sizeof(*e->header->subject));
	*e->header->subject = si;
	e->header->subject->local_id = fix_arena_printf(a, "%s", subject);
	e->header->kind = kind;
	e->header->marking = marking;
	body = fix_arena_alloc(a, d->sizeof_message);
	protobuf_c_message_init(d, body);
	fill_message(a, d, body, "", 0);
	e->body_case = envelope_kind_body_case(kind);
	fd = protobuf_c_message_descriptor_get_field(
	    &nwd__v1__envelope__descriptor, e->body_case);
	assert_non_null(fd);
	*(ProtobufCMessage **)fix_field_slot(&e->base, fd) = body;
	/*
	 * Where envelope_validate() relates fields, the generic values
	 * would be refused: every field stays set, with values that go
	 * together.  A ReturnInterview answers a MissingEpisode; a
	 * ConsentRecord that names the record it withdraws is WITHDRAWN
	 * and expires after it was recorded; an Escalation is about a
	 * message id.
	 */
	switch (kind) {
	case NWD__V1__KIND__RETURN_INTERVIEW:
		e->header->references = fix_arena_printf(a, "%s",
		    FIX_REFERENCED_ID);
		break;
	case NWD__V1__KIND__CONSENT_RECORD:
		e->consent_record->status =
		    NWD__V1__CONSENT_RECORD__STATUS__WITHDRAWN;
		e->consent_record->withdraws = fix_arena_printf(a, "%s",
		    FIX_REFERENCED_ID);
		e->consent_record->expires_unix_ms =
		    e->consent_record->recorded_unix_ms + 86400000;
		break;
	case NWD__V1__KIND__ESCALATION:
		e->escalation->about_message_id = fix_arena_printf(a, "%s",
		    FIX_REFERENCED_ID);
		break;
	case NWD__V1__KIND__SHARING_DECISION:
		/* Not shared with the police (an agency the mapping knows);
		 * decided at 1 ms, before any clock of the tests, and
		 * reviewed later; its reasons are MORE_DETRIMENTAL, as the
		 * set flag needs. */
		e->sharing_decision->not_shared_with[0] = fix_arena_printf(a,
		    "police");
		e->sharing_decision->n_not_shared_with = 1;
		e->sharing_decision->decided_unix_ms = 1;
		e->sharing_decision->review_by_unix_ms = 1702592000000LL;
		break;
	default:
		break;
	}
	return e;
}

void
fix_add_share_with(struct fix_arena *a, Nwd__V1__Header *h, const char *who)
{
	char	**nv;
	size_t	  i;

	for (i = 0; i < h->n_share_with; i++)
		if (strcmp(h->share_with[i], who) == 0)
			return;
	nv = fix_arena_alloc(a, (h->n_share_with + 1) * sizeof(char *));
	if (h->n_share_with > 0)
		memcpy(nv, h->share_with, h->n_share_with * sizeof(char *));
	nv[h->n_share_with++] = fix_arena_printf(a, "%s", who);
	h->share_with = nv;
}

Nwd__V1__Envelope *
fix_envelope_copy(const Nwd__V1__Envelope *env)
{
	Nwd__V1__Envelope	*copy;
	uint8_t			*buf;
	size_t			 len;

	len = nwd__v1__envelope__get_packed_size(env);
	buf = malloc(len + 1);
	assert_non_null(buf);
	assert_int_equal(nwd__v1__envelope__pack(env, buf), len);
	copy = nwd__v1__envelope__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(copy);
	return copy;
}

int
fix_path_present(const Nwd__V1__Envelope *env, const char *path)
{
	const ProtobufCMessage		*m = envelope_body(env);
	const ProtobufCFieldDescriptor	*fd = NULL;
	char				 copy[256], *t, *save = NULL;

	if (strncmp(path, "header.", 7) == 0) {
		m = &env->header->base;
		path += 7;
	}
	snprintf(copy, sizeof(copy), "%s", path);
	for (t = strtok_r(copy, ".", &save); t != NULL;
	    t = strtok_r(NULL, ".", &save)) {
		if (fd != NULL) {
			if (fd->type != PROTOBUF_C_TYPE_MESSAGE ||
			    fd->label == PROTOBUF_C_LABEL_REPEATED)
				return 0;
			m = *(ProtobufCMessage *const *)fix_field_slot(m, fd);
		}
		if (m == NULL)
			return 0;
		fd = protobuf_c_message_descriptor_get_field_by_name(
		    m->descriptor, t);
		if (fd == NULL)
			return 0;
	}
	return fd != NULL && fix_value_present(m, fd);
}

/* ------------------------------------------------------------------------
 * What a recipient receives (G10), checked with protobuf-c's generic
 * decoder rather than with redact.c
 */

int
fix_value_present(const ProtobufCMessage *m,
    const ProtobufCFieldDescriptor *fd)
{
	const unsigned char	*p = fix_field_slot(m, fd);
	size_t			 i, sz;

	if (fd->label == PROTOBUF_C_LABEL_REPEATED)
		return *fix_field_count(m, fd) > 0;
	switch (fd->type) {
	case PROTOBUF_C_TYPE_STRING:
		return *(char *const *)p != NULL && **(char *const *)p != '\0';
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(void *const *)p != NULL;
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)p)->len > 0;
	default:
		sz = fix_value_size(fd->type);
		for (i = 0; i < sz; i++)
			if (p[i] != 0)
				return 1;
		return 0;
	}
}

static int
packed_equal(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
	size_t	 na, nb;
	uint8_t	*ba, *bb;
	int	 eq;

	if (a == NULL || b == NULL)
		return a == b;
	na = protobuf_c_message_get_packed_size(a);
	nb = protobuf_c_message_get_packed_size(b);
	if (na != nb)
		return 0;
	ba = malloc(na + 1);
	bb = malloc(nb + 1);
	assert_non_null(ba);
	assert_non_null(bb);
	protobuf_c_message_pack(a, ba);
	protobuf_c_message_pack(b, bb);
	eq = memcmp(ba, bb, na) == 0;
	free(ba);
	free(bb);
	return eq;
}

static int
one_value_equal(const ProtobufCFieldDescriptor *fd, const void *a,
    const void *b)
{
	const char *sa, *sb;

	switch (fd->type) {
	case PROTOBUF_C_TYPE_STRING:
		sa = *(char *const *)a;
		sb = *(char *const *)b;
		return strcmp(sa != NULL ? sa : "", sb != NULL ? sb : "") == 0;
	case PROTOBUF_C_TYPE_MESSAGE:
		return packed_equal(*(ProtobufCMessage *const *)a,
		    *(ProtobufCMessage *const *)b);
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)a)->len ==
		    ((const ProtobufCBinaryData *)b)->len &&
		    memcmp(((const ProtobufCBinaryData *)a)->data,
		    ((const ProtobufCBinaryData *)b)->data,
		    ((const ProtobufCBinaryData *)a)->len) == 0;
	default:
		return memcmp(a, b, fix_value_size(fd->type)) == 0;
	}
}

/* Fails if any string of a field (of the original) occurs in the bytes. */
static void
check_no_leak(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd,
    const char *path, const uint8_t *buf, size_t len, char *why,
    size_t whylen)
{
	const ProtobufCMessageDescriptor *md;
	size_t	 n = 1, i, k, sz = fix_value_size(fd->type);
	const char *slot = fix_field_slot(m, fd);

	if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
		n = *fix_field_count(m, fd);
		slot = *(char *const *)slot;
	}
	for (i = 0; i < n; i++) {
		const void *v = slot + i * sz;

		if (fd->type == PROTOBUF_C_TYPE_STRING) {
			const char *s = *(char *const *)v;

			if (s != NULL && strlen(s) >= 4 &&
			    memmem(buf, len, s, strlen(s)) != NULL)
				fix_appendf(why, whylen, "the bytes carry "
				    "\"%s\" of withheld %s; ", s, path);
		} else if (fd->type == PROTOBUF_C_TYPE_MESSAGE &&
		    *(ProtobufCMessage *const *)v != NULL) {
			const ProtobufCMessage *sub =
			    *(ProtobufCMessage *const *)v;

			md = fd->descriptor;
			for (k = 0; k < md->n_fields; k++)
				check_no_leak(sub, &md->fields[k], path, buf,
				    len, why, whylen);
		}
	}
}

void
fix_compare_body(const ProtobufCMessageDescriptor *d,
    const ProtobufCMessage *orig, const ProtobufCMessage *got,
    const char *prefix,
    const char *const *strip, size_t nstrip, const uint8_t *buf, size_t len,
    char *why, size_t whylen)
{
	const ProtobufCFieldDescriptor	*fd;
	char				 path[256];
	size_t				 i, j, n, sz;
	const char			*ao, *ag;

	for (i = 0; i < d->n_fields; i++) {
		fd = &d->fields[i];
		snprintf(path, sizeof(path), "%s%s%s", prefix,
		    prefix[0] != '\0' ? "." : "", fd->name);
		if (fix_covered_by_any(path, strip, nstrip)) {
			if (fix_value_present(got, fd))
				fix_appendf(why, whylen, "%s is delivered "
				    "though withheld; ", path);
			check_no_leak(orig, fd, path, buf, len, why, whylen);
			continue;
		}
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *fix_field_count(orig, fd);
			if (*fix_field_count(got, fd) != n) {
				fix_appendf(why, whylen, "%s has %zu entries, "
				    "not %zu; ", path,
				    *fix_field_count(got, fd), n);
				continue;
			}
			sz = fix_value_size(fd->type);
			ao = *(char *const *)fix_field_slot(orig, fd);
			ag = *(char *const *)fix_field_slot(got, fd);
			for (j = 0; j < n; j++)
				if (!one_value_equal(fd, ao + j * sz,
				    ag + j * sz))
					fix_appendf(why, whylen, "%s[%zu] "
					    "differs; ", path, j);
			continue;
		}
		if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
			const ProtobufCMessage *mo, *mg;

			mo = *(ProtobufCMessage *const *)fix_field_slot(orig,
			    fd);
			mg = *(ProtobufCMessage *const *)fix_field_slot(got,
			    fd);
			if ((mo == NULL) != (mg == NULL))
				fix_appendf(why, whylen, "%s is %s; ", path,
				    mo == NULL ? "delivered but was not sent" :
				    "missing");
			else if (mo != NULL)
				fix_compare_body(fd->descriptor, mo, mg, path,
				    strip, nstrip, buf, len, why, whylen);
			continue;
		}
		if (!one_value_equal(fd, fix_field_slot(orig, fd),
		    fix_field_slot(got, fd)))
			fix_appendf(why, whylen, "%s differs%s; ", path,
			    fix_value_present(got, fd) ? "" : " (missing)");
	}
}

int
fix_check_bytes(const Nwd__V1__Envelope *env, const char *const *strip,
    size_t nstrip, const uint8_t *buf, size_t len, char *why, size_t whylen)
{
	ProtobufCMessage	*got;
	Nwd__V1__Envelope	*ge;

	why[0] = '\0';
	got = protobuf_c_message_unpack(&nwd__v1__envelope__descriptor, NULL,
	    len, buf);
	if (got == NULL) {
		snprintf(why, whylen, "the delivered bytes do not decode");
		return -1;
	}
	ge = (Nwd__V1__Envelope *)got;
	/* The header as decided, but for the free text withheld
	 * ("header.justification", ...), which must be absent. */
	if (ge->header == NULL)
		fix_appendf(why, whylen, "the header is not delivered; ");
	else
		fix_compare_body(&nwd__v1__header__descriptor,
		    &env->header->base, &ge->header->base, "header", strip,
		    nstrip, buf, len, why, whylen);
	if (ge->body_case != env->body_case || envelope_body(ge) == NULL)
		fix_appendf(why, whylen, "the body is not delivered; ");
	else
		fix_compare_body(envelope_body(env)->descriptor,
		    envelope_body(env), envelope_body(ge), "", strip, nstrip,
		    buf, len, why, whylen);
	protobuf_c_message_free_unpacked(got, NULL);
	return why[0] == '\0' ? 0 : -1;
}

int
fix_check_delivered(Nwd__V1__Envelope *env, const char *const *strip,
    size_t nstrip, char *withheld, size_t withheldlen, char *why,
    size_t whylen)
{
	uint8_t	*buf;
	size_t	 len = 0;
	int	 rc;

	why[0] = '\0';
	buf = redact_pack(env, strip, nstrip, &len, withheld, withheldlen);
	if (buf == NULL) {
		snprintf(why, whylen, "redact_pack failed");
		return -1;
	}
	rc = fix_check_bytes(env, strip, nstrip, buf, len, why, whylen);
	free(buf);
	return rc;
}

int
fix_same_set(const char *a, const char *b)
{
	char	 x[1024], y[1024], *t, *save = NULL;
	size_t	 na = 0, nb = 0, i;
	const char *vb[REDACT_MAX_PATHS * 2];

	snprintf(x, sizeof(x), "%s", a);
	snprintf(y, sizeof(y), "%s", b);
	for (t = strtok_r(y, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save))
		if (nb < sizeof(vb) / sizeof(vb[0]))
			vb[nb++] = t;
	save = NULL;
	for (t = strtok_r(x, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < nb; i++)
			if (vb[i] != NULL && strcmp(vb[i], t) == 0)
				break;
		if (i == nb)
			return 0;
		vb[i] = NULL;
		na++;
	}
	return na == nb;
}

void
fix_strip_csv(const struct policy_decision *d, char *out, size_t outlen)
{
	size_t i;

	out[0] = '\0';
	for (i = 0; i < d->nstrip; i++)
		fix_appendf(out, outlen, "%s%s", i > 0 ? "," : "",
		    d->strip[i]);
}

/* ------------------------------------------------------------------------
 * The shipped policy and principals, loaded once.
 */

struct policy		*fix_policy;
struct identity_map	*fix_principals;
char			*fix_policy_text;
size_t			 fix_policy_len;

int
fix_load_deploy(void **state)
{
	char	 err[512] = "";
	char	*text;
	size_t	 len;

	fix_policy_text = fix_slurp(FIX_POLICY_FILE, &fix_policy_len);
	if (fix_policy_text == NULL) {
		fprintf(stderr, "%s: %s\n", FIX_POLICY_FILE, strerror(errno));
		return -1;
	}
	fix_policy = policy_parse(fix_policy_text, fix_policy_len,
	    "deploy/policy.nwd", err, sizeof(err));
	if (fix_policy == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	if ((text = fix_slurp(FIX_PRINCIPALS_FILE, &len)) == NULL) {
		fprintf(stderr, "%s: %s\n", FIX_PRINCIPALS_FILE,
		    strerror(errno));
		return -1;
	}
	/* identity_parse on the file text, as the broker's loader does. */
	fix_principals = identity_parse(text, len,
	    "deploy/principals.conf", err, sizeof(err));
	free(text);
	if (fix_principals == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

int
fix_free_deploy(void **state)
{
	policy_free(fix_policy);
	identity_free(fix_principals);
	free(fix_policy_text);
	return 0;
}

const struct principal *
fix_cast(const char *id)
{
	const struct principal *p = identity_find_id(fix_principals, id);

	if (p == NULL)
		fail_msg("%s is not in deploy/principals.conf", id);
	return p;
}
int
fix_split_paths(char *csv, const char **out, size_t max)
{
	char	*t, *save = NULL;
	size_t	 n = 0;

	for (t = strtok_r(csv, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		if (n == max)
			return -1;
		out[n++] = t;
	}
	return (int)n;
}

int
fix_parse_verdict(const char *w, enum policy_verdict *v)
{
	if (strcmp(w, "allow") == 0)
		*v = POLICY_ALLOW;
	else if (strcmp(w, "deny") == 0)
		*v = POLICY_DENY;
	else if (strcmp(w, "norule") == 0)
		*v = POLICY_DENY_NO_RULE;
	else
		return -1;
	return 0;
}

/* ------------------------------------------------------------------------
 * The decision table: tests/data/policy-cases.txt
 */

const char *
fix_case_parse(char *line, struct fix_case *c)
{
	char	*f[9], *save = NULL, *tok;
	size_t	 nf = 0, i;

	memset(c, 0, sizeof(*c));
	c->rules = "";
	for (tok = strtok_r(line, " \t", &save); tok != NULL && nf < 9;
	    tok = strtok_r(NULL, " \t", &save))
		f[nf++] = tok;
	if (nf < 6 || nf > 8 || tok != NULL)
		return "expected 6 to 8 columns";
	if ((c->pr = identity_find_id(fix_principals, f[0])) == NULL)
		return "unknown principal";
	if (strcmp(f[1], "publish") == 0)
		c->publish = 1;
	else if (strcmp(f[1], "allocate") == 0)
		c->allocate = 1;
	else if (strcmp(f[1], "deliver") != 0)
		return "action must be publish, deliver or allocate";
	if (envelope_kind_from_name(f[2], &c->kind) == -1)
		return "unknown kind";
	if (c->allocate && c->kind != NWD__V1__KIND__ALLOCATION)
		return "an allocate line is about kind allocation";
	if (envelope_marking_from_name(f[3], &c->marking) == -1)
		return "unknown marking";
	if (strcmp(f[4], "allocated") == 0)
		c->context = FIX_CTX_ALLOCATED;
	else if (strcmp(f[4], "named") == 0)
		c->context = FIX_CTX_NAMED;
	else if (strcmp(f[4], "duty") == 0)
		c->context = FIX_CTX_DUTY;
	else if (strcmp(f[4], "-") != 0)
		return "context must be -, allocated, named or duty";
	if (fix_parse_verdict(f[5], &c->want) == -1)
		return "verdict must be allow, deny or norule";
	for (i = 6; i < nf; i++) {
		if (strncmp(f[i], "strip=", 6) == 0)
			c->strip = f[i] + 6;
		else if (i == 6)
			c->rules = strcmp(f[i], "-") == 0 ? "" : f[i];
		else
			return "junk after the rules";
	}
	if (c->strip != NULL && (c->want != POLICY_ALLOW || c->publish ||
	    c->allocate))
		return "strip= only goes with an allowed delivery";
	return NULL;
}

Nwd__V1__Envelope *
fix_case_message(struct fix_arena *a, const struct principal *pr,
    Nwd__V1__Kind kind, Nwd__V1__Marking marking, int context,
    struct alloc_table *t)
{
	struct alloc_entry	 ae;
	Nwd__V1__Envelope	*e;

	if (context & FIX_CTX_ALLOCATED) {
		memset(&ae, 0, sizeof(ae));
		ae.subject = "YP-001";
		ae.team = "";
		ae.worker = pr->id;
		assert_int_equal(alloc_table_put(t, &ae), 0);
	}
	e = fix_full_envelope(a, kind, "YP-001", marking);
	e->header->legal_basis = NWD__V1__LEGAL_BASIS__SAFEGUARDING;
	/* A legacy source evaluation the broker accepts (A to E). */
	if (kind == NWD__V1__KIND__INTELLIGENCE_REPORT)
		e->intelligence_report->legacy->source_evaluation =
		    fix_arena_printf(a, "B");
	/* An Allocation names what the mapping knows: the principal as
	 * the worker, and its first team. */
	if (kind == NWD__V1__KIND__ALLOCATION) {
		e->allocation->team = fix_arena_printf(a, "%s",
		    pr != NULL && pr->nteams > 0 ? pr->teams[0] : "");
		e->allocation->worker = fix_arena_printf(a, "%s",
		    pr != NULL ? pr->id : "");
		e->allocation->from_unix_ms = e->allocation->until_unix_ms = 0;
	}
	if (context & FIX_CTX_NAMED)
		fix_add_share_with(a, e->header, pr->id);
	return e;
}

int
fix_cases_each(const char *(*check)(const struct fix_case *c, char *why,
    size_t whylen, void *arg), void *arg, int *nbad)
{
	struct fix_case	 c;
	char		*text, *line, *next, copy[1024], why[2048];
	const char	*bad;
	size_t		 len;
	int		 lineno = 0, ncases = 0;

	*nbad = 0;
	if ((text = fix_slurp(FIX_CASES_FILE, &len)) == NULL)
		fail_msg("%s: %s", FIX_CASES_FILE, strerror(errno));
	for (line = text; line != NULL && *line != '\0'; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		while (isspace((unsigned char)*line))
			line++;
		if (*line == '\0' || *line == '#')
			continue;
		snprintf(copy, sizeof(copy), "%s", line);
		ncases++;
		why[0] = '\0';
		if ((bad = fix_case_parse(line, &c)) == NULL)
			bad = check(&c, why, sizeof(why), arg);
		if (bad != NULL) {
			print_error("policy-cases.txt:%d: %s\n    %s\n",
			    lineno, bad, copy);
			(*nbad)++;
		}
	}
	free(text);
	return ncases;
}
