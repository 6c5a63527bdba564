/*
 * consent: the young people's consent records.  See consent.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "consent.h"

struct rec {
	char			*message_id;	/* owned */
	char			*subject;	/* owned */
	enum consent_status	 status;
	uint32_t		 kinds;
	char			**agencies;	/* owned */
	size_t			 nagencies;
	int64_t			 recorded_ms;
	int64_t			 expires_ms;
	char			*withdraws;	/* owned; NULL: every one */
};

struct consent_table {
	struct rec	*v;
	size_t		 n, cap;
};

static void
rec_clear(struct rec *r)
{
	size_t i;

	free(r->message_id);
	free(r->subject);
	for (i = 0; i < r->nagencies; i++)
		free(r->agencies[i]);
	free(r->agencies);
	free(r->withdraws);
	memset(r, 0, sizeof(*r));
}

struct consent_table *
consent_table_new(void)
{
	return calloc(1, sizeof(struct consent_table));
}

void
consent_table_clear(struct consent_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		rec_clear(&t->v[i]);
	t->n = 0;
}

void
consent_table_free(struct consent_table *t)
{
	if (t == NULL)
		return;
	consent_table_clear(t);
	free(t->v);
	free(t);
}

size_t
consent_table_count(const struct consent_table *t)
{
	return t != NULL ? t->n : 0;
}

int
consent_table_put(struct consent_table *t, const struct consent_record *r)
{
	struct rec	*nv, *c;
	size_t		 i;

	if (t == NULL || r == NULL || r->message_id == NULL ||
	    r->subject == NULL)
		return -1;
	if (t->n == t->cap) {
		if ((nv = reallocarray(t->v, t->cap ? t->cap * 2 : 16,
		    sizeof(*nv))) == NULL)
			return -1;
		t->v = nv;
		t->cap = t->cap ? t->cap * 2 : 16;
	}
	c = &t->v[t->n];
	memset(c, 0, sizeof(*c));
	c->status = r->status;
	c->kinds = r->kinds;
	c->recorded_ms = r->recorded_ms;
	c->expires_ms = r->expires_ms;
	if ((c->message_id = strdup(r->message_id)) == NULL ||
	    (c->subject = strdup(r->subject)) == NULL ||
	    (r->withdraws != NULL && r->withdraws[0] != '\0' &&
	    (c->withdraws = strdup(r->withdraws)) == NULL) ||
	    (r->nagencies > 0 && (c->agencies = calloc(r->nagencies,
	    sizeof(char *))) == NULL))
		goto fail;
	for (i = 0; i < r->nagencies; i++) {
		if ((c->agencies[i] = strdup(r->agencies[i])) == NULL)
			goto fail;
		c->nagencies++;
	}
	t->n++;
	return 0;
 fail:
	rec_clear(c);
	return -1;
}

static const struct rec *
find(const struct consent_table *t, const char *message_id)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i].message_id, message_id) == 0)
			return &t->v[i];
	return NULL;
}

/* Does r's own scope cover kind and agency (NULL: some agency)? */
static int
scope_covers(const struct rec *r, int kind, const char *agency)
{
	size_t i;

	if (r->kinds != 0 && (kind <= 0 || kind >= 32 ||
	    !(r->kinds & (1u << kind))))
		return 0;
	if (r->nagencies == 0 || agency == NULL)
		return 1;
	for (i = 0; i < r->nagencies; i++)
		if (strcmp(r->agencies[i], agency) == 0)
			return 1;
	return 0;
}

/* "2027-02-01", the day in Europe/London. */
static void
day(int64_t ms, char *out, size_t outlen)
{
	struct calendar_tm t;

	calendar_local(ms, &t);
	snprintf(out, outlen, "%04d-%02d-%02d", t.year, t.month, t.day);
}

int
consent_covers(const struct consent_table *t, const char *subject, int kind,
    const char *agency, int64_t now_ms, char *why, size_t whylen)
{
	const struct rec	*r, *last = NULL, *target;
	char			 d[32];
	size_t			 i;

	for (i = 0; t != NULL && i < t->n; i++) {
		r = &t->v[i];
		if (strcmp(r->subject, subject) != 0)
			continue;
		if (r->status == CONSENT_WITHDRAWN) {
			/* The scope of what it withdraws, or everything. */
			target = r->withdraws != NULL ? find(t, r->withdraws) :
			    NULL;
			if (r->withdraws != NULL && (target == NULL ||
			    !scope_covers(target, kind, agency)))
				continue;
		} else if (!scope_covers(r, kind, agency))
			continue;
		last = r;
	}
	if (last == NULL) {
		if (why != NULL)
			snprintf(why, whylen, "no consent of %s covering this "
			    "share is recorded", subject);
		return 0;
	}
	day(last->recorded_ms, d, sizeof(d));
	switch (last->status) {
	case CONSENT_REFUSED:
		if (why != NULL)
			snprintf(why, whylen, "consent of %s was refused "
			    "(record %s, %s)", subject, last->message_id, d);
		return 0;
	case CONSENT_WITHDRAWN:
		if (why != NULL)
			snprintf(why, whylen, "consent of %s was withdrawn "
			    "(record %s, %s)", subject, last->message_id, d);
		return 0;
	case CONSENT_GIVEN:
		break;
	}
	if (last->expires_ms != 0 && last->expires_ms <= now_ms) {
		if (why != NULL) {
			day(last->expires_ms, d, sizeof(d));
			snprintf(why, whylen, "consent of %s expired on %s "
			    "(record %s)", subject, d, last->message_id);
		}
		return 0;
	}
	return 1;
}
