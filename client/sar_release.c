/*
 * sar_release: the words of the release version of a subject-access
 * report (sar_release.h).  Pure but for sar_release_labels_load(), which
 * reads one file.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sar_release.h"

#define LABELS_MAX_LINE		1024
#define LABELS_MAX_ENTRIES	10000

struct label {
	char	*category;	/* owned */
	char	*name;		/* owned */
	char	*words;		/* owned */
};

struct sar_labels {
	struct label	*v;	/* owned, n of them */
	size_t		 n;
};

static const char *const categories[] = {
	"kind", "role", "agency", "reason", "value", "field", "who",
	"withheld", "basis", NULL
};

/* Always withheld, whatever the labels file says; it may reword them. */
static const struct {
	const char	*name;
	const char	*reason;
} withheld_always[] = {
	{ "ThirdParty", "information about another person" },
	{ "SourceDetails", "police intelligence source" },
	{ "Address", "an address, to protect the people who live there" },
	{ "handling_conditions", "a condition the police set on sharing" },
	{ "justification", "the reasons given for sharing, which may name "
	    "other people" },
};

/* Body fields that hold principal ids or team names. */
static const char *const who_fields[] = {
	"invitees", "reached", "acknowledged", "worker", "principal", "team",
	"not_shared_with", NULL
};

/* Body fields that are internal (rule names) and left out. */
static const char *const internal_fields[] = { "rule", "grant_id", NULL };

void
sar_release_labels_free(struct sar_labels *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->v[i].category);
		free(l->v[i].name);
		free(l->v[i].words);
	}
	free(l->v);
	free(l);
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
	    e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int
known_category(const char *c)
{
	size_t i;

	for (i = 0; categories[i] != NULL; i++)
		if (strcmp(categories[i], c) == 0)
			return 1;
	return 0;
}

/* Parses one line into l; 0, or -1 with the cause in err. */
static int
labels_line(struct sar_labels *l, char *line, char *err, size_t errlen)
{
	struct label	*v;
	char		*cat, *name, *words, *eq;

	if ((eq = strchr(line, '#')) != NULL)
		*eq = '\0';
	line = trim(line);
	if (line[0] == '\0')
		return 0;
	if ((eq = strchr(line, '=')) == NULL) {
		snprintf(err, errlen, "expected \"CATEGORY NAME = WORDS\"");
		return -1;
	}
	*eq = '\0';
	words = trim(eq + 1);
	cat = line;
	name = cat + strcspn(cat, " \t");
	if (*name != '\0')
		*name++ = '\0';
	name = trim(name);
	if (!known_category(cat)) {
		snprintf(err, errlen, "unknown category \"%.40s\" (kind, role, "
		    "agency, reason, value, field, who, withheld, basis)", cat);
		return -1;
	}
	if (name[0] == '\0' || strpbrk(name, " \t") != NULL) {
		snprintf(err, errlen, "expected one name after \"%s\"", cat);
		return -1;
	}
	if (words[0] == '\0') {
		snprintf(err, errlen, "no words for %s %.60s", cat, name);
		return -1;
	}
	if (l->n >= LABELS_MAX_ENTRIES) {
		snprintf(err, errlen, "more than %d labels", LABELS_MAX_ENTRIES);
		return -1;
	}
	if ((v = reallocarray(l->v, l->n + 1, sizeof(*v))) == NULL)
		goto nomem;
	l->v = v;
	v = &l->v[l->n];
	v->category = strdup(cat);
	v->name = strdup(name);
	v->words = strdup(words);
	if (v->category == NULL || v->name == NULL || v->words == NULL) {
		free(v->category);
		free(v->name);
		free(v->words);
		goto nomem;
	}
	l->n++;
	return 0;
 nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

struct sar_labels *
sar_release_labels_load(const char *path, char *err, size_t errlen)
{
	struct sar_labels	*l;
	FILE			*f = NULL;
	char			 line[LABELS_MAX_LINE + 2], why[200];
	size_t			 lineno = 0;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (path == NULL)
		return l;
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s:%zu: line longer than %d "
			    "bytes", path, lineno, LABELS_MAX_LINE);
			goto fail;
		}
		if (labels_line(l, line, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%s:%zu: %s", path, lineno, why);
			goto fail;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		goto fail;
	}
	fclose(f);
	return l;
 fail:
	if (f != NULL)
		fclose(f);
	sar_release_labels_free(l);
	return NULL;
}

/* The label's words, or NULL. */
static const char *
lookup(const struct sar_labels *l, const char *category, const char *name)
{
	size_t i;

	if (l == NULL || name == NULL)
		return NULL;
	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].category, category) == 0 &&
		    strcmp(l->v[i].name, name) == 0)
			return l->v[i].words;
	return NULL;
}

/* name made readable: lower case, '_' and '-' as spaces, no "_unix_ms". */
static const char *
readable(const char *name, char *buf, size_t buflen)
{
	size_t i, n = strlen(name);

	if (buflen == 0)
		return "";
	if (n > 8 && strcmp(name + n - 8, "_unix_ms") == 0)
		n -= 8;
	for (i = 0; i < n && i + 1 < buflen; i++) {
		if (name[i] == '_' || name[i] == '-')
			buf[i] = ' ';
		else
			buf[i] = (char)tolower((unsigned char)name[i]);
	}
	buf[i] = '\0';
	return buf;
}

const char *
sar_release_label(const struct sar_labels *l, const char *category,
    const char *name, char *buf, size_t buflen)
{
	const char *w;

	if ((w = lookup(l, category, name)) != NULL)
		return w;
	readable(name != NULL ? name : "", buf, buflen);
	/* A field reads as a label: "Source evaluation". */
	if (strcmp(category, "field") == 0 && buflen > 0)
		buf[0] = (char)toupper((unsigned char)buf[0]);
	return buf;
}

const char *
sar_release_withheld(const struct sar_labels *l, const char *type_name,
    const char *field_name)
{
	const char	*names[2] = { type_name, field_name };
	const char	*w;
	size_t		 i, k;

	for (k = 0; k < 2; k++) {
		if (names[k] == NULL)
			continue;
		if ((w = lookup(l, "withheld", names[k])) != NULL)
			return w;
		for (i = 0; i < sizeof(withheld_always) /
		    sizeof(withheld_always[0]); i++)
			if (strcmp(withheld_always[i].name, names[k]) == 0)
				return withheld_always[i].reason;
	}
	return NULL;
}

const char *
sar_release_reference(const char *message_id)
{
	size_t n = strlen(message_id);

	return n > 8 ? message_id + n - 8 : message_id;
}

const char *
sar_release_marker(const char *reason, char *buf, size_t buflen)
{
	snprintf(buf, buflen, "[withheld: %s]", reason);
	return buf;
}

/* ---- time ---------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t		era;
	unsigned	yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t		era;
	unsigned	doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* 0 Sunday .. 6 Saturday. */
static unsigned
weekday(int64_t days)
{
	return (unsigned)(days >= -4 ? (days + 4) % 7 : (days + 5) % 7 + 6);
}

/* The day (since the epoch) of the last Sunday of month m of year y. */
static int64_t
last_sunday(int64_t y, unsigned m)
{
	int64_t last = days_from_civil(m == 12 ? y + 1 : y,
	    m == 12 ? 1 : m + 1, 1) - 1;

	return last - weekday(last);
}

/* Seconds to add to UTC at t (seconds since the epoch) in Europe/London. */
static int64_t
london_offset(int64_t t)
{
	int64_t		y, start, end;
	unsigned	m, d;

	civil_from_days(t >= 0 ? t / 86400 : (t - 86399) / 86400, &y, &m, &d);
	start = last_sunday(y, 3) * 86400 + 3600;
	end = last_sunday(y, 10) * 86400 + 3600;
	return t >= start && t < end ? 3600 : 0;
}

static const char *const day_names[] = { "Sunday", "Monday", "Tuesday",
	"Wednesday", "Thursday", "Friday", "Saturday" };
static const char *const month_names[] = { "January", "February", "March",
	"April", "May", "June", "July", "August", "September", "October",
	"November", "December" };

static const char *
local(int64_t ms, int with_time, char *buf, size_t buflen)
{
	int64_t		t, days, secs, y;
	unsigned	m, d;

	t = (ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	t += london_offset(t);
	days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	secs = t - days * 86400;
	civil_from_days(days, &y, &m, &d);
	if (with_time)
		snprintf(buf, buflen, "%s %u %s %" PRId64 ", %02d:%02d",
		    day_names[weekday(days)], d, month_names[m - 1], y,
		    (int)(secs / 3600), (int)(secs % 3600 / 60));
	else
		snprintf(buf, buflen, "%s %u %s %" PRId64,
		    day_names[weekday(days)], d, month_names[m - 1], y);
	return buf;
}

const char *
sar_release_time(int64_t ms, char *buf, size_t buflen)
{
	return local(ms, 1, buf, buflen);
}

const char *
sar_release_date(int64_t ms, char *buf, size_t buflen)
{
	return local(ms, 0, buf, buflen);
}

/* ---- HTML ---------------------------------------------------------------- */

const char *
sar_release_html_escape(const char *s, char *out, size_t outlen)
{
	const char	*rep;
	size_t		 o = 0, k;
	char		 one[2] = { 0, 0 };

	if (outlen == 0)
		return out;
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: one[0] = *s; rep = one; break;
		}
		k = strlen(rep);
		/* A UTF-8 sequence is not cut: stop at its lead byte. */
		if (o + k >= outlen)
			break;
		memcpy(out + o, rep, k);
		o += k;
	}
	while (o > 0 && *s != '\0' && ((unsigned char)out[o - 1] & 0xc0) ==
	    0x80)
		o--;
	if (o > 0 && *s != '\0' && ((unsigned char)out[o - 1] & 0xc0) == 0xc0)
		o--;
	out[o] = '\0';
	return out;
}

/* ---- a body, field by field ---------------------------------------------- */

static int
in(const char *const *set, const char *name)
{
	size_t i;

	for (i = 0; set[i] != NULL; i++)
		if (strcmp(set[i], name) == 0)
			return 1;
	return 0;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

struct walk {
	const struct sar_labels	*l;
	sar_release_emit_fn	*emit;
	void			*arg;
};

static void	walk_message(struct walk *, const ProtobufCMessage *, int);

/* A principal or team named in a body, as the labels say, never by id. */
static const char *
who_words(const struct sar_labels *l, const char *field, const char *id,
    char *buf, size_t buflen)
{
	const char *w;

	if ((w = lookup(l, "who", id)) != NULL ||
	    (w = lookup(l, "role", id)) != NULL ||
	    (w = lookup(l, "agency", id)) != NULL)
		return w;
	if (strcmp(field, "team") == 0 || strcmp(field, "not_shared_with") ==
	    0)
		snprintf(buf, buflen, "%s", "a team or service the record "
		    "names");
	else
		snprintf(buf, buflen, "%s", "a member of staff");
	return buf;
}

/* One value of field f at p, in words into buf; NULL if not to be shown. */
static const char *
value_words(struct walk *w, const ProtobufCFieldDescriptor *f,
    const void *p, char *buf, size_t buflen)
{
	const ProtobufCEnumDescriptor	*ed;
	const ProtobufCEnumValue	*ev;
	char				 tmp[128];
	int64_t				 i64;

	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;

		if (s == NULL || s[0] == '\0')
			return NULL;
		if (in(who_fields, f->name))
			return who_words(w->l, f->name, s, buf, buflen);
		if (ends_with(f->name, "message_id") ||
		    strcmp(f->name, "withdraws") == 0) {
			snprintf(buf, buflen, "the record with reference %s",
			    sar_release_reference(s));
			return buf;
		}
		snprintf(buf, buflen, "%s", s);
		return buf;
	}
	case PROTOBUF_C_TYPE_BOOL:
		return *(const protobuf_c_boolean *)p ? "yes" : NULL;
	case PROTOBUF_C_TYPE_ENUM:
		ed = f->descriptor;
		if (*(const int *)p == 0 || (ev =
		    protobuf_c_enum_descriptor_get_value(ed, *(const int *)p))
		    == NULL)
			return NULL;
		if (strcmp(ed->short_name, "Kind") == 0) {
			readable(ev->name, tmp, sizeof(tmp));
			for (size_t k = 0; tmp[k] != '\0'; k++)
				if (tmp[k] == ' ')
					tmp[k] = '_';
			return sar_release_label(w->l, "kind", tmp, buf,
			    buflen);
		}
		if (strcmp(ed->short_name, "Reason") == 0 &&
		    lookup(w->l, "reason", ev->name) != NULL)
			return lookup(w->l, "reason", ev->name);
		return sar_release_label(w->l, "value", ev->name, buf, buflen);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		i64 = *(const int64_t *)p;
		if (i64 == 0)
			return NULL;
		if (ends_with(f->name, "_unix_ms"))
			return sar_release_time(i64, buf, buflen);
		snprintf(buf, buflen, "%" PRId64, i64);
		return buf;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if (*(const uint64_t *)p == 0)
			return NULL;
		snprintf(buf, buflen, "%" PRIu64, *(const uint64_t *)p);
		return buf;
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		if (*(const int32_t *)p == 0)
			return NULL;
		snprintf(buf, buflen, "%" PRId32, *(const int32_t *)p);
		return buf;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if (*(const uint32_t *)p == 0)
			return NULL;
		snprintf(buf, buflen, "%" PRIu32, *(const uint32_t *)p);
		return buf;
	case PROTOBUF_C_TYPE_FLOAT:
		if (*(const float *)p == 0)
			return NULL;
		snprintf(buf, buflen, "%g", (double)*(const float *)p);
		return buf;
	case PROTOBUF_C_TYPE_DOUBLE:
		if (*(const double *)p == 0)
			return NULL;
		snprintf(buf, buflen, "%g", *(const double *)p);
		return buf;
	case PROTOBUF_C_TYPE_BYTES:
		if (((const ProtobufCBinaryData *)p)->len == 0)
			return NULL;
		snprintf(buf, buflen, "(%zu bytes of data)",
		    ((const ProtobufCBinaryData *)p)->len);
		return buf;
	case PROTOBUF_C_TYPE_MESSAGE:
		break;
	}
	return NULL;
}

/* One element of field f (at p), at depth. */
static void
walk_one(struct walk *w, const ProtobufCFieldDescriptor *f, const void *p,
    const char *label, int depth)
{
	struct sar_release_item	 it = { depth, label, NULL, NULL };
	const ProtobufCMessage	*sub;
	const char		*why;
	char			 buf[4096];

	if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
		sub = *(const ProtobufCMessage *const *)p;
		if (sub == NULL)
			return;
		/* short_name: "ThirdParty", not "nwd.v1.ThirdParty". */
		why = sar_release_withheld(w->l,
		    ((const ProtobufCMessageDescriptor *)f->descriptor)->
		    short_name, f->name);
		if (why != NULL) {
			it.withheld = why;
			w->emit(&it, w->arg);
			return;
		}
		w->emit(&it, w->arg);
		walk_message(w, sub, depth + 1);
		return;
	}
	if ((it.value = value_words(w, f, p, buf, sizeof(buf))) == NULL)
		return;
	if ((why = sar_release_withheld(w->l, NULL, f->name)) != NULL) {
		it.value = NULL;
		it.withheld = why;
	}
	w->emit(&it, w->arg);
}

static size_t
type_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return 4;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
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
		return sizeof(void *);
	}
	return 0;
}

static void
walk_message(struct walk *w, const ProtobufCMessage *m, int depth)
{
	const ProtobufCMessageDescriptor	*d = m->descriptor;
	const ProtobufCFieldDescriptor		*f;
	const char				*base = (const char *)m;
	const char				*arr;
	const char				*label;
	char					 buf[256];
	size_t					 i, k, n;

	for (i = 0; i < d->n_fields; i++) {
		f = &d->fields[i];
		if (in(internal_fields, f->name))
			continue;
		label = sar_release_label(w->l, "field", f->name, buf,
		    sizeof(buf));
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)(base + f->quantifier_offset);
			arr = *(const char *const *)(base + f->offset);
			for (k = 0; k < n; k++)
				walk_one(w, f, arr + k * type_size(f->type),
				    label, depth);
			continue;
		}
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
			continue;
		if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
		    f->type != PROTOBUF_C_TYPE_MESSAGE &&
		    f->type != PROTOBUF_C_TYPE_STRING &&
		    !*(const protobuf_c_boolean *)(base +
		    f->quantifier_offset))
			continue;
		walk_one(w, f, base + f->offset, label, depth);
	}
}

void
sar_release_body(const ProtobufCMessage *body, const struct sar_labels *l,
    sar_release_emit_fn *emit, void *arg)
{
	struct walk w = { l, emit, arg };

	if (body != NULL)
		walk_message(&w, body, 0);
}
