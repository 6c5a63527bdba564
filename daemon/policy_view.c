/*
 * policy_view: the compiled policy, read-only, for the agreement page of
 * the auditor's console (policy.h).  Pure: it reads struct policy and
 * writes the caller's buffers.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "envelope.h"
#include "policy_int.h"

int
policy_rule_at(const struct policy *p, size_t i, struct policy_rule_view *out)
{
	const struct rule *r;

	if (p == NULL || i >= p->nrules)
		return -1;
	r = &p->rules[i];
	memset(out, 0, sizeof(*out));
	out->name = r->name;
	out->allow = r->effect == EFFECT_ALLOW;
	out->action = r->action == ACTION_PUBLISH ? POLICY_VIEW_PUBLISH :
	    r->action == ACTION_DELIVER ? POLICY_VIEW_DELIVER :
	    r->action == ACTION_ALLOCATE ? POLICY_VIEW_ALLOCATE :
	    POLICY_VIEW_CORRECT;
	out->roles = (const char *const *)r->roles.v;
	out->nroles = r->roles.n;
	out->kinds = r->kinds;
	out->max_marking = r->action == ACTION_PUBLISH ? r->max_marking : 0;
	out->bases = r->bases;
	out->from = (const char *const *)r->from.v;
	out->nfrom = r->from.n;
	out->when = (r->when & WHEN_ALLOCATED ? POLICY_WHEN_ALLOCATED : 0) |
	    (r->when & WHEN_NAMED ? POLICY_WHEN_NAMED : 0) |
	    (r->when & WHEN_DUTY ? POLICY_WHEN_DUTY : 0) |
	    (r->when & WHEN_CONSENT ? POLICY_WHEN_CONSENT : 0);
	out->strip = (const char *const *)r->strip.v;
	out->nstrip = r->strip.n;
	out->keep = (const char *const *)r->keep.v;
	out->nkeep = r->keep.n;
	out->grant = (const char *const *)r->grant.v;
	out->ngrant = r->grant.n;
	out->line = r->line;
	return 0;
}

size_t
policy_nroles(const struct policy *p)
{
	return p != NULL ? p->nroles : 0;
}

const char *
policy_role_at(const struct policy *p, size_t i, const char **agency,
    int *clearance)
{
	if (p == NULL || i >= p->nroles)
		return NULL;
	if (agency != NULL)
		*agency = p->roles[i].agency;
	if (clearance != NULL)
		*clearance = p->roles[i].clearance;
	return p->roles[i].name;
}

static int
conditional(const struct rule *r)
{
	return r->when != 0 || r->bases != 0 || r->from.n > 0;
}

void
policy_cell(const struct policy *p, enum policy_view_action action, int kind,
    const char *role, struct policy_cell *out)
{
	const struct rule_list	*l;
	const struct rule	*r;
	enum rule_action	 a;
	size_t			 i;
	int			 allow = 0, allow_cond = 0, deny = 0;
	int			 deny_cond = 0;

	memset(out, 0, sizeof(*out));
	out->state = POLICY_CELL_NO_RULE;
	a = action == POLICY_VIEW_PUBLISH ? ACTION_PUBLISH :
	    action == POLICY_VIEW_DELIVER ? ACTION_DELIVER :
	    action == POLICY_VIEW_ALLOCATE ? ACTION_ALLOCATE : ACTION_CORRECT;
	if (p == NULL || role == NULL || kind <= 0 || kind >= NKINDS ||
	    (l = policy_rules_for(p, a, (Nwd__V1__Kind)kind, role)) == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		r = l->v[i];
		/* The index's rules are p->rules' own. */
		if (out->nrules < POLICY_CELL_MAX)
			out->rule[out->nrules++] = (size_t)(r - p->rules);
		else
			out->more++;
		if (r->effect == EFFECT_DENY) {
			if (conditional(r))
				deny_cond = 1;
			else
				deny = 1;
		} else if (conditional(r))
			allow_cond = 1;
		else
			allow = 1;
	}
	if (deny)
		out->state = POLICY_CELL_DENY;
	else if (allow && !deny_cond)
		out->state = POLICY_CELL_ALLOW;
	else if (allow || allow_cond)
		out->state = POLICY_CELL_CONDITIONAL;
	else
		out->state = POLICY_CELL_NO_RULE;
}

/* Appends printf text to out (of outlen bytes), truncating. */
static void
add(char *out, size_t outlen, const char *fmt, ...)
{
	size_t	len = strlen(out);
	va_list	ap;

	if (len + 1 >= outlen)
		return;
	va_start(ap, fmt);
	vsnprintf(out + len, outlen - len, fmt, ap);
	va_end(ap);
}

static void
add_kinds(char *out, size_t outlen, uint32_t kinds)
{
	const char	*n;
	int		 k, first = 1;

	for (k = 1; k < NKINDS; k++)
		if (kinds & (1u << k)) {
			n = envelope_kind_name((Nwd__V1__Kind)k);
			add(out, outlen, "%s%s", first ? "" : ", ",
			    n != NULL ? n : "?");
			first = 0;
		}
}

static void
add_list(char *out, size_t outlen, const struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		add(out, outlen, "%s%s", i > 0 ? ", " : "", l->v[i]);
}

static void
add_duration(char *out, size_t outlen, int64_t ms)
{
	if (ms % 3600000 == 0)
		add(out, outlen, "%" PRId64 " hour%s", ms / 3600000,
		    ms == 3600000 ? "" : "s");
	else
		add(out, outlen, "%" PRId64 " minute%s", ms / 60000,
		    ms == 60000 ? "" : "s");
}

int
policy_deadline_describe(const struct policy *p, size_t i, const char **name,
    char *out, size_t outlen)
{
	const struct deadline_rule	*d;
	static const char *const	 prio[] = { "", "routine", "high",
					    "urgent" };
	int				 k, first = 1;

	if (p == NULL || i >= p->ndeadlines || outlen == 0)
		return -1;
	d = &p->deadlines[i];
	*name = d->name;
	out[0] = '\0';
	add_kinds(out, outlen, d->kinds);
	if (d->priorities != 0) {
		add(out, outlen, " of priority ");
		for (k = 1; k < 4; k++)
			if (d->priorities & (1u << k)) {
				add(out, outlen, "%s%s", first ? "" : " or ",
				    prio[k]);
				first = 0;
			}
	}
	if (d->when_field != NULL) {
		add(out, outlen, " whose %s is ", d->when_field);
		add_list(out, outlen, &d->when_values);
	}
	add(out, outlen, ": ");
	switch (d->unit) {
	case DEADLINE_ELAPSED:
		add(out, outlen, "within ");
		add_duration(out, outlen, d->length_ms);
		break;
	case DEADLINE_WORKING_DAYS:
		add(out, outlen, "within %d working day%s", d->days,
		    d->days == 1 ? "" : "s");
		break;
	case DEADLINE_SCHOOL_DAY:
		add(out, outlen, "before %02d:%02d on the next school day",
		    d->hh, d->mm);
		break;
	}
	add(out, outlen, " of %s", d->from_field != NULL ? d->from_field :
	    "receipt");
	if (d->by_ack) {
		add(out, outlen, "; met by an acknowledgement");
		if (d->ack_roles.n > 0) {
			add(out, outlen, " by ");
			add_list(out, outlen, &d->ack_roles);
		}
	}
	if (d->closing_kinds != 0) {
		add(out, outlen, "; met by a ");
		add_kinds(out, outlen, d->closing_kinds);
		add(out, outlen, " referencing it");
	}
	if (d->every_ms != 0) {
		add(out, outlen, "; escalated again every ");
		add_duration(out, outlen, d->every_ms);
	} else
		add(out, outlen, "; escalated once");
	return 0;
}

int
policy_breakglass_describe(const struct policy *p, size_t i,
    const char **name, char *out, size_t outlen)
{
	const struct breakglass_rule *b;

	if (p == NULL || i >= p->nbreakglass || outlen == 0)
		return -1;
	b = &p->breakglass[i];
	*name = b->r.name;
	out[0] = '\0';
	add_list(out, outlen, &b->r.roles);
	add(out, outlen, " may claim emergency access to ");
	add_kinds(out, outlen, b->r.kinds);
	add(out, outlen, " for at most ");
	add_duration(out, outlen, b->max_ms);
	if (b->r.strip.n > 0) {
		add(out, outlen, "; withheld: ");
		add_list(out, outlen, &b->r.strip);
	}
	if (b->r.keep.n > 0) {
		add(out, outlen, "; only these kept: ");
		add_list(out, outlen, &b->r.keep);
	}
	if (b->r.grant.n > 0) {
		add(out, outlen, "; protected fields granted: ");
		add_list(out, outlen, &b->r.grant);
	}
	add(out, outlen, "; every grant is reviewed");
	return 0;
}
