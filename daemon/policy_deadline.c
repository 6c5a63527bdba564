/*
 * policy_deadline: the policy's deadline rules, the statutory clocks.
 *
 *	deadline NAME: kinds K[,K] [priority P[,P]] [when FIELD is V[,V]]
 *	    [from receipt|FIELD]
 *	    within N minutes|hours|working days | before next school day HH:MM
 *	    closed by ack [roles R[,R]] | closed by KIND[,KIND] referencing
 *	    [escalate every N minutes|hours]
 *
 * A published message of one of the kinds (and priorities), whose body
 * FIELD (an enum or a bool at the top of the body) holds one of the
 * values, sets a deadline: from the body's time FIELD (an int64 *_unix_ms;
 * 0 or absent: when the broker received it) plus the length.  It is met by
 * an acknowledgement of a recipient (of the roles, if named) or by a
 * message of a closing kind about the same subject whose header references
 * it; unmet at its due time it escalates, again at every interval.
 *
 * Parsing (from policy_parse.c) and evaluation; pure like the rest of the
 * policy: the time and the calendar are given.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "envelope.h"
#include "policy.h"
#include "policy_int.h"

#define MINUTE_MS	INT64_C(60000)
#define HOUR_MS		(60 * MINUTE_MS)
#define DEADLINE_MAX_MINUTES	(366 * 24 * 60)	/* a year */
#define DEADLINE_MAX_DAYS	366

/* The field name of kind k's body, or NULL. */
static const ProtobufCFieldDescriptor *
body_field(int k, const char *name)
{
	const ProtobufCMessageDescriptor *d = envelope_kind_body_descriptor(k);

	return d != NULL ? protobuf_c_message_descriptor_get_field_by_name(d,
	    name) : NULL;
}

/* Checks FIELD against every kind of the mask: NULL, or why not. */
static const char *
check_field(uint32_t kinds, const char *name, int want_time, char *why,
    size_t whylen)
{
	const ProtobufCFieldDescriptor	*f;
	int				 k;

	for (k = 1; k < NKINDS; k++) {
		if (!(kinds & (1u << k)) ||
		    envelope_kind_body_descriptor(k) == NULL)
			continue;
		f = body_field(k, name);
		if (f == NULL) {
			snprintf(why, whylen, "%s has no field \"%s\"",
			    envelope_kind_name(k), name);
			return why;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED)
			goto wrong;
		if (want_time && f->type != PROTOBUF_C_TYPE_INT64)
			goto wrong;
		if (!want_time && f->type != PROTOBUF_C_TYPE_ENUM &&
		    f->type != PROTOBUF_C_TYPE_BOOL)
			goto wrong;
		continue;
 wrong:
		snprintf(why, whylen, "%s's field \"%s\" is not %s",
		    envelope_kind_name(k), name, want_time ? "a time "
		    "(int64 Unix milliseconds)" : "an enum or a bool");
		return why;
	}
	return NULL;
}

/* Checks a when value against the field in every kind. */
static const char *
check_value(uint32_t kinds, const char *field, const char *v, char *why,
    size_t whylen)
{
	const ProtobufCFieldDescriptor	*f;
	const ProtobufCEnumDescriptor	*e;
	int				 k;

	for (k = 1; k < NKINDS; k++) {
		if (!(kinds & (1u << k)) ||
		    envelope_kind_body_descriptor(k) == NULL)
			continue;
		f = body_field(k, field);
		if (f->type == PROTOBUF_C_TYPE_BOOL) {
			if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
				goto bad;
			continue;
		}
		e = f->descriptor;
		if (protobuf_c_enum_descriptor_get_value_by_name(e, v) ==
		    NULL || strstr(v, "UNSPECIFIED") != NULL)
			goto bad;
		continue;
 bad:
		snprintf(why, whylen, "\"%s\" is not a value of %s's field "
		    "\"%s\"", v, envelope_kind_name(k), field);
		return why;
	}
	return NULL;
}

static int
next(struct lexer *lx)
{
	return policy_lex_next(lx);
}

static int
is_word(const struct lexer *lx, const char *w)
{
	return lx->type == T_WORD && strcmp(lx->text, w) == 0;
}

/* A positive whole number at most max. */
static int
parse_count(struct lexer *lx, int64_t max, int64_t *out)
{
	char	*end;
	long long n;

	if (lx->type != T_WORD || !isdigit((unsigned char)lx->text[0]))
		return policy_lex_fail(lx, "expected a number, got %s",
		    policy_lex_desc(lx));
	n = strtoll(lx->text, &end, 10);
	if (*end != '\0' || n <= 0 || n > max)
		return policy_lex_fail(lx, "expected a whole number from 1 to "
		    "%" PRId64 ", got %s", max, policy_lex_desc(lx));
	*out = n;
	return next(lx);
}

/* "N minutes|hours" (every) or also "N working days" (within). */
static int
parse_length(struct lexer *lx, int days_ok, struct deadline_rule *d,
    int64_t *every_ms)
{
	int64_t	n = 0;

	if (parse_count(lx, DEADLINE_MAX_MINUTES, &n) == -1)
		return -1;
	if (is_word(lx, "minutes") || is_word(lx, "minute") ||
	    is_word(lx, "hours") || is_word(lx, "hour")) {
		int64_t ms = n * (lx->text[0] == 'm' ? MINUTE_MS : HOUR_MS);

		if (ms > DEADLINE_MAX_MINUTES * MINUTE_MS)
			return policy_lex_fail(lx, "at most a year");
		if (every_ms != NULL)
			*every_ms = ms;
		else {
			d->unit = DEADLINE_ELAPSED;
			d->length_ms = ms;
		}
		return next(lx);
	}
	if (days_ok && is_word(lx, "working")) {
		if (next(lx) == -1)
			return -1;
		if (!is_word(lx, "days") && !is_word(lx, "day"))
			return policy_lex_fail(lx, "expected days after "
			    "working, got %s", policy_lex_desc(lx));
		if (n > DEADLINE_MAX_DAYS)
			return policy_lex_fail(lx, "at most %d working days",
			    DEADLINE_MAX_DAYS);
		d->unit = DEADLINE_WORKING_DAYS;
		d->days = (int)n;
		return next(lx);
	}
	return policy_lex_fail(lx, "expected minutes or hours%s after the "
	    "number, got %s", days_ok ? " or working days" : "",
	    policy_lex_desc(lx));
}

/* "before next school day HH:MM" (from after "before"). */
static int
parse_school_day(struct lexer *lx, struct deadline_rule *d)
{
	static const char *const words[] = { "next", "school", "day" };
	size_t	i;
	char	*end;
	long	hh, mm;

	for (i = 0; i < 3; i++) {
		if (!is_word(lx, words[i]))
			return policy_lex_fail(lx, "expected \"before next "
			    "school day HH:MM\", got %s", policy_lex_desc(lx));
		if (next(lx) == -1)
			return -1;
	}
	if (lx->type != T_WORD)
		return policy_lex_fail(lx, "expected a time HH:MM, got %s",
		    policy_lex_desc(lx));
	/* The lexer reads "09:00" as one word. */
	if (strlen(lx->text) == 5 && lx->text[2] == ':' &&
	    isdigit((unsigned char)lx->text[0]) &&
	    isdigit((unsigned char)lx->text[1]) &&
	    isdigit((unsigned char)lx->text[3]) &&
	    isdigit((unsigned char)lx->text[4])) {
		hh = (lx->text[0] - '0') * 10 + lx->text[1] - '0';
		mm = (lx->text[3] - '0') * 10 + lx->text[4] - '0';
		if (hh > 23 || mm > 59)
			return policy_lex_fail(lx, "expected a time HH:MM "
			    "(00:00 to 23:59), got %s", policy_lex_desc(lx));
		d->unit = DEADLINE_SCHOOL_DAY;
		d->hh = (int)hh;
		d->mm = (int)mm;
		return next(lx);
	}
	hh = strtol(lx->text, &end, 10);
	if (*end != '\0' || hh < 0 || hh > 23 || strlen(lx->text) != 2)
		return policy_lex_fail(lx, "expected a time HH:MM (00:00 to "
		    "23:59), got %s", policy_lex_desc(lx));
	if (next(lx) == -1)
		return -1;
	if (lx->type != T_COLON)
		return policy_lex_fail(lx, "expected a time HH:MM, got %s",
		    policy_lex_desc(lx));
	if (next(lx) == -1)
		return -1;
	mm = lx->type == T_WORD ? strtol(lx->text, &end, 10) : -1;
	if (lx->type != T_WORD || *end != '\0' || mm < 0 || mm > 59 ||
	    strlen(lx->text) != 2)
		return policy_lex_fail(lx, "expected minutes 00 to 59, got %s",
		    policy_lex_desc(lx));
	d->unit = DEADLINE_SCHOOL_DAY;
	d->hh = (int)hh;
	d->mm = (int)mm;
	return next(lx);
}

static const char *
check_kind_name(const char *w, const void *arg)
{
	static char	why[POLICY_MAX_WORD + 80];
	Nwd__V1__Kind	k;

	(void)arg;
	if (envelope_kind_from_name(w, &k) == 0)
		return NULL;
	snprintf(why, sizeof(why), "unknown kind \"%s\" (kinds are the "
	    "Envelope body names, e.g. missing_episode)", w);
	return why;
}

/* Any word: when values are checked against the field once it is known. */
static const char *
check_any(const char *w, const void *arg)
{
	(void)w;
	(void)arg;
	return NULL;
}

static const char *
check_priority(const char *w, const void *arg)
{
	static char	why[POLICY_MAX_WORD + 80];

	(void)arg;
	if (strcmp(w, "routine") == 0 || strcmp(w, "high") == 0 ||
	    strcmp(w, "urgent") == 0)
		return NULL;
	snprintf(why, sizeof(why), "expected routine, high or urgent, got "
	    "\"%s\"", w);
	return why;
}

static const char *
check_role_name(const char *w, const void *arg)
{
	static char		 why[POLICY_MAX_WORD + 80];
	const struct policy	*p = arg;

	if (p->nroles == 0 || policy_find_role(p, w) != NULL)
		return NULL;
	snprintf(why, sizeof(why), "role \"%s\" is not declared", w);
	return why;
}

/* A list of words, each checked; the lexer is on the first. */
static int
parse_words(struct lexer *lx, const char *what, struct strlist *l,
    const char *(*check)(const char *, const void *), const void *arg)
{
	const char *why;

	for (;;) {
		if (lx->type != T_WORD)
			return policy_lex_fail(lx, "expected %s, got %s", what,
			    policy_lex_desc(lx));
		if ((why = check(lx->text, arg)) != NULL)
			return policy_lex_fail(lx, "%s", why);
		if (strlist_has(l, lx->text))
			return policy_lex_fail(lx, "\"%s\" is listed twice",
			    lx->text);
		if (l->n == POLICY_MAX_LIST || strlist_add(l, lx->text) == -1)
			return policy_lex_fail(lx, "too many entries, or out "
			    "of memory");
		if (next(lx) == -1)
			return -1;
		if (lx->type != T_COMMA)
			return 0;
		if (next(lx) == -1)
			return -1;
	}
}

/* A kinds mask from a list of kind names. */
static uint32_t
kinds_mask(const struct strlist *l)
{
	Nwd__V1__Kind	k;
	uint32_t	m = 0;
	size_t		i;

	for (i = 0; i < l->n; i++)
		if (envelope_kind_from_name(l->v[i], &k) == 0)
			m |= 1u << k;
	return m;
}

/* "closed by ack [roles R[,R]]" or "closed by KIND[,KIND] referencing" */
static int
parse_closed(struct lexer *lx, struct policy *p, struct deadline_rule *d)
{
	struct strlist	kinds = { NULL, 0 };

	if (!is_word(lx, "by"))
		return policy_lex_fail(lx, "expected by after closed, got %s",
		    policy_lex_desc(lx));
	if (next(lx) == -1)
		return -1;
	if (is_word(lx, "ack")) {
		d->by_ack = 1;
		if (next(lx) == -1)
			return -1;
		if (!is_word(lx, "roles"))
			return 0;
		if (next(lx) == -1)
			return -1;
		return parse_words(lx, "a role", &d->ack_roles,
		    check_role_name, p);
	}
	if (parse_words(lx, "ack or a kind", &kinds, check_kind_name,
	    NULL) == -1) {
		strlist_clear(&kinds);
		return -1;
	}
	d->closing_kinds = kinds_mask(&kinds);
	strlist_clear(&kinds);
	if (!is_word(lx, "referencing"))
		return policy_lex_fail(lx, "expected referencing after the "
		    "closing kinds (a message of that kind about the same "
		    "subject whose header references this one), got %s",
		    policy_lex_desc(lx));
	return next(lx);
}

void
policy_deadline_clear(struct deadline_rule *d)
{
	free(d->name);
	free(d->when_field);
	free(d->from_field);
	strlist_clear(&d->when_values);
	strlist_clear(&d->ack_roles);
	memset(d, 0, sizeof(*d));
}

int
policy_deadline_parse(struct lexer *lx, struct policy *p)
{
	struct deadline_rule	 d;
	struct strlist		 l = { NULL, 0 };
	char			 why[POLICY_MAX_WORD * 2 + 120];
	const char		*bad;
	size_t			 i;
	int			 have_length = 0, have_closed = 0;
	int			 field_line = 0, field_col = 0;

	memset(&d, 0, sizeof(d));
	d.line = lx->tline;
	if (next(lx) == -1)
		return -1;
	if (lx->type != T_WORD || strchr(lx->text, ':') != NULL)
		return policy_lex_fail(lx, "expected a deadline name, got %s",
		    policy_lex_desc(lx));
	for (i = 0; i < p->ndeadlines; i++)
		if (strcmp(p->deadlines[i].name, lx->text) == 0)
			return policy_lex_fail(lx, "deadline \"%s\" is already "
			    "defined on line %d", lx->text,
			    p->deadlines[i].line);
	if ((d.name = strdup(lx->text)) == NULL)
		return policy_lex_fail(lx, "out of memory");
	if (next(lx) == -1)
		goto bad;
	if (lx->type != T_COLON) {
		policy_lex_fail(lx, "expected ':' after the deadline name, got "
		    "%s", policy_lex_desc(lx));
		goto bad;
	}
	if (next(lx) == -1)
		goto bad;
	while (lx->type != T_NEWLINE && lx->type != T_EOF) {
		if (is_word(lx, "kinds") && d.kinds == 0) {
			if (next(lx) == -1 || parse_words(lx, "a kind", &l,
			    check_kind_name, NULL) == -1)
				goto bad;
			d.kinds = kinds_mask(&l);
			strlist_clear(&l);
		} else if (is_word(lx, "priority") && d.priorities == 0) {
			if (next(lx) == -1 || parse_words(lx, "a priority",
			    &l, check_priority, NULL) == -1)
				goto bad;
			for (i = 0; i < l.n; i++)
				d.priorities |= 1u << (strcmp(l.v[i],
				    "routine") == 0 ? NWD__V1__PRIORITY__ROUTINE :
				    strcmp(l.v[i], "high") == 0 ?
				    NWD__V1__PRIORITY__HIGH :
				    NWD__V1__PRIORITY__URGENT);
			strlist_clear(&l);
		} else if (is_word(lx, "when") && d.when_field == NULL) {
			if (next(lx) == -1)
				goto bad;
			if (lx->type != T_WORD) {
				policy_lex_fail(lx, "expected a body field, "
				    "got %s", policy_lex_desc(lx));
				goto bad;
			}
			field_line = lx->tline;
			field_col = lx->tcol;
			if ((d.when_field = strdup(lx->text)) == NULL ||
			    next(lx) == -1)
				goto bad;
			if (!is_word(lx, "is")) {
				policy_lex_fail(lx, "expected is after the "
				    "field, got %s", policy_lex_desc(lx));
				goto bad;
			}
			if (next(lx) == -1 || parse_words(lx, "a value",
			    &d.when_values, check_any, NULL) == -1)
				goto bad;
		} else if (is_word(lx, "from") && !d.from_set) {
			d.from_set = 1;
			if (next(lx) == -1)
				goto bad;
			if (lx->type != T_WORD) {
				policy_lex_fail(lx, "expected receipt or a "
				    "body time field, got %s",
				    policy_lex_desc(lx));
				goto bad;
			}
			if (!is_word(lx, "receipt")) {
				d.from_line = lx->tline;
				d.from_col = lx->tcol;
				if ((d.from_field = strdup(lx->text)) == NULL)
					goto bad;
			}
			if (next(lx) == -1)
				goto bad;
		} else if (is_word(lx, "within") && !have_length) {
			have_length = 1;
			if (next(lx) == -1 || parse_length(lx, 1, &d,
			    NULL) == -1)
				goto bad;
		} else if (is_word(lx, "before") && !have_length) {
			have_length = 1;
			if (next(lx) == -1 || parse_school_day(lx, &d) == -1)
				goto bad;
		} else if (is_word(lx, "closed") && !have_closed) {
			have_closed = 1;
			if (next(lx) == -1 || parse_closed(lx, p, &d) == -1)
				goto bad;
		} else if (is_word(lx, "escalate") && d.every_ms == 0) {
			if (next(lx) == -1)
				goto bad;
			if (!is_word(lx, "every")) {
				policy_lex_fail(lx, "expected every after "
				    "escalate, got %s", policy_lex_desc(lx));
				goto bad;
			}
			if (next(lx) == -1 || parse_length(lx, 0, &d,
			    &d.every_ms) == -1)
				goto bad;
		} else if (lx->type == T_WORD && (is_word(lx, "kinds") ||
		    is_word(lx, "priority") || is_word(lx, "when") ||
		    is_word(lx, "from") || is_word(lx, "within") ||
		    is_word(lx, "before") || is_word(lx, "closed") ||
		    is_word(lx, "escalate"))) {
			policy_lex_fail(lx, "%s given twice%s", lx->text,
			    is_word(lx, "within") || is_word(lx, "before") ?
			    " (a deadline has one length)" : "");
			goto bad;
		} else {
			policy_lex_fail(lx, "expected a deadline clause (kinds, "
			    "priority, when, from, within, before, closed, "
			    "escalate), got %s", policy_lex_desc(lx));
			goto bad;
		}
	}
	if (d.kinds == 0 || !have_length || !have_closed) {
		policy_lex_fail(lx, "deadline \"%s\" (line %d) needs %s",
		    d.name, d.line, d.kinds == 0 ? "kinds" : !have_length ?
		    "a length (within ... or before next school day HH:MM)" :
		    "closed by ...");
		goto bad;
	}
	if (d.when_field != NULL) {
		bad = check_field(d.kinds, d.when_field, 0, why, sizeof(why));
		for (i = 0; bad == NULL && i < d.when_values.n; i++)
			bad = check_value(d.kinds, d.when_field,
			    d.when_values.v[i], why, sizeof(why));
		if (bad != NULL) {
			snprintf(lx->err, lx->errlen, "%s:%d:%d: %s", lx->name,
			    field_line, field_col, bad);
			goto bad;
		}
	}
	if (d.from_field != NULL && (bad = check_field(d.kinds, d.from_field,
	    1, why, sizeof(why))) != NULL) {
		snprintf(lx->err, lx->errlen, "%s:%d:%d: %s", lx->name,
		    d.from_line, d.from_col, bad);
		goto bad;
	}
	if (p->ndeadlines == POLICY_MAX_RULES) {
		policy_lex_fail(lx, "more than %d deadlines", POLICY_MAX_RULES);
		goto bad;
	}
	if ((p->ndeadlines & (p->ndeadlines - 1)) == 0) {
		struct deadline_rule *nd = realloc(p->deadlines,
		    (p->ndeadlines ? p->ndeadlines * 2 : 1) * sizeof(*nd));

		if (nd == NULL) {
			policy_lex_fail(lx, "out of memory");
			goto bad;
		}
		p->deadlines = nd;
	}
	p->deadlines[p->ndeadlines++] = d;
	return 0;
 bad:
	strlist_clear(&l);
	policy_deadline_clear(&d);
	return -1;
}

/* ------------------------------------------------------------------------
 * Evaluation
 */

/* The body field's value as a number (enum, bool, int64); 0 if absent. */
static int64_t
field_value(const ProtobufCMessage *body, const char *name)
{
	const ProtobufCFieldDescriptor	*f;
	const char			*at;

	f = protobuf_c_message_descriptor_get_field_by_name(body->descriptor,
	    name);
	if (f == NULL)
		return 0;
	at = (const char *)body + f->offset;
	switch (f->type) {
	case PROTOBUF_C_TYPE_ENUM:
		return *(const int *)(const void *)at;
	case PROTOBUF_C_TYPE_BOOL:
		return *(const protobuf_c_boolean *)(const void *)at ? 1 : 0;
	case PROTOBUF_C_TYPE_INT64:
		return *(const int64_t *)(const void *)at;
	default:
		return 0;
	}
}

/* Does the body's when field hold one of the rule's values? */
static int
when_holds(const struct deadline_rule *d, const ProtobufCMessage *body)
{
	const ProtobufCFieldDescriptor	*f;
	const ProtobufCEnumValue	*ev;
	int64_t				 v;
	size_t				 i;

	if (d->when_field == NULL)
		return 1;
	f = protobuf_c_message_descriptor_get_field_by_name(body->descriptor,
	    d->when_field);
	if (f == NULL)
		return 0;
	v = field_value(body, d->when_field);
	for (i = 0; i < d->when_values.n; i++) {
		if (f->type == PROTOBUF_C_TYPE_BOOL) {
			if ((strcmp(d->when_values.v[i], "true") == 0) == (v != 0))
				return 1;
			continue;
		}
		ev = protobuf_c_enum_descriptor_get_value_by_name(
		    f->descriptor, d->when_values.v[i]);
		if (ev != NULL && ev->value == v)
			return 1;
	}
	return 0;
}

/*
 * Without a calendar that covers the dates: working days are Monday to
 * Friday and school days too.  Both only make a deadline earlier or the
 * same (holidays are not skipped), never later.
 */
static int64_t
weekdays_only(int64_t start_ms, const struct deadline_rule *d)
{
	struct calendar_tm	t;
	int64_t			at = start_ms, due;
	int			n = d->days, k;

	if (d->unit == DEADLINE_SCHOOL_DAY) {
		for (k = 0; k < 8; k++, at += 24 * HOUR_MS) {
			calendar_local(at, &t);
			if (t.weekday == 0 || t.weekday == 6)
				continue;
			if (calendar_utc(t.year, t.month, t.day, d->hh, d->mm,
			    &due) == 0 && due > start_ms)
				return due;
		}
		return start_ms + 24 * HOUR_MS;
	}
	calendar_local(start_ms, &t);
	while (n > 0) {
		at += 24 * HOUR_MS;
		calendar_local(at, &t);
		if (t.weekday != 0 && t.weekday != 6)
			n--;
	}
	calendar_local(start_ms, &t);
	{
		struct calendar_tm s = t;

		calendar_local(at, &t);
		if (calendar_utc(t.year, t.month, t.day, s.hour, s.minute,
		    &due) == 0)
			return due;
	}
	return at;
}

int
policy_deadlines(const struct policy *p, const struct calendar *cal,
    const Nwd__V1__Envelope *env, int64_t received_ms,
    struct policy_deadline *out, size_t max, size_t *n)
{
	const struct deadline_rule	*d;
	const ProtobufCMessage		*body = envelope_body(env);
	struct policy_deadline		*o;
	char				 err[256];
	int				 kind = env->header->kind;
	int				 prio = env->header->priority;
	size_t				 i;
	int				 rc;

	*n = 0;
	if (p == NULL || body == NULL || kind <= 0 || kind >= NKINDS)
		return 0;
	for (i = 0; i < p->ndeadlines; i++) {
		d = &p->deadlines[i];
		if (!(d->kinds & (1u << kind)) || (d->priorities != 0 &&
		    (prio <= 0 || prio >= 32 || !(d->priorities &
		    (1u << prio)))) || !when_holds(d, body))
			continue;
		if (*n == max)
			return -1;
		o = &out[(*n)++];
		memset(o, 0, sizeof(*o));
		o->rule = d->name;
		o->start_ms = d->from_field != NULL ?
		    field_value(body, d->from_field) : 0;
		if (o->start_ms <= 0)
			o->start_ms = received_ms;
		o->every_ms = d->every_ms;
		o->by_ack = d->by_ack;
		o->closing_kinds = d->closing_kinds;
		switch (d->unit) {
		case DEADLINE_ELAPSED:
			o->due_ms = o->start_ms + d->length_ms;
			break;
		case DEADLINE_WORKING_DAYS:
		case DEADLINE_SCHOOL_DAY:
			rc = cal == NULL ? -1 : d->unit ==
			    DEADLINE_WORKING_DAYS ? calendar_add_working_days(
			    cal, o->start_ms, d->days, &o->due_ms, err,
			    sizeof(err)) : calendar_next_school_day_at(cal,
			    o->start_ms, d->hh, d->mm, &o->due_ms, err,
			    sizeof(err));
			if (rc == -1) {
				o->due_ms = weekdays_only(o->start_ms, d);
				snprintf(o->note, sizeof(o->note), "due from "
				    "weekdays alone, never later than the "
				    "calendar's: %.200s", cal == NULL ? "no "
				    "calendar" : err);
			}
			break;
		}
	}
	return 0;
}

static const struct deadline_rule *
find(const struct policy *p, const char *rule)
{
	size_t i;

	for (i = 0; p != NULL && i < p->ndeadlines; i++)
		if (strcmp(p->deadlines[i].name, rule) == 0)
			return &p->deadlines[i];
	return NULL;
}

int
policy_deadline_closed_by_message(const struct policy *p, const char *rule,
    int kind)
{
	const struct deadline_rule *d = find(p, rule);

	return d != NULL && kind > 0 && kind < NKINDS &&
	    (d->closing_kinds & (1u << kind)) != 0;
}

int
policy_deadline_closed_by_ack(const struct policy *p, const char *rule,
    const char *role)
{
	const struct deadline_rule *d = find(p, rule);

	return d != NULL && d->by_ack && (d->ack_roles.n == 0 ||
	    (role != NULL && strlist_has(&d->ack_roles, role)));
}

int
policy_deadline_known(const struct policy *p, const char *rule)
{
	return find(p, rule) != NULL;
}

int64_t
policy_deadline_every(const struct policy *p, const char *rule)
{
	const struct deadline_rule *d = find(p, rule);

	return d != NULL ? d->every_ms : 0;
}

const char *
policy_deadline_needs_calendar(const struct policy *p)
{
	size_t i;

	for (i = 0; p != NULL && i < p->ndeadlines; i++)
		if (p->deadlines[i].unit != DEADLINE_ELAPSED)
			return p->deadlines[i].name;
	return NULL;
}

size_t
policy_ndeadlines(const struct policy *p)
{
	return p != NULL ? p->ndeadlines : 0;
}
