/*
 * decide_explain: a publish decided by decide_publish() without storing
 * or delivering anything, turned into the ExplainResult that the daemon
 * sends an auditor and the nwd tool prints offline.  The conversion is all
 * there is here: the decisions are the engine's.  Pure, as decide.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide.h"
#include "identity.h"
#include "policy.h"

/* Appends a copy of s to a repeated string field. */
static int
strv_push(char ***v, size_t *n, const char *s)
{
	char **nv;

	if ((nv = realloc(*v, (*n + 1) * sizeof(char *))) == NULL)
		return -1;
	*v = nv;
	if ((nv[*n] = strdup(s)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

/* Splits "a,b" into a repeated string field. */
static int
strv_split(const char *list, char ***v, size_t *n)
{
	const char	*p = list, *comma;
	char		*part;
	size_t		 l;
	int		 rc;

	while (p != NULL && *p != '\0') {
		comma = strchr(p, ',');
		l = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (l > 0) {
			if ((part = strndup(p, l)) == NULL)
				return -1;
			rc = strv_push(v, n, part);
			free(part);
			if (rc == -1)
				return -1;
		}
		p = comma != NULL ? comma + 1 : NULL;
	}
	return 0;
}

/* Replaces a string field of a result with a copy of v. */
static int
set_string(char **slot, const char *v)
{
	char *copy;

	if ((copy = strdup(v != NULL ? v : "")) == NULL)
		return -1;
	if (*slot != NULL && *slot != protobuf_c_empty_string)
		free(*slot);
	*slot = copy;
	return 0;
}

static Nwd__V1__ExplainDecision *
decision_new(const char *principal, const char *role)
{
	Nwd__V1__ExplainDecision *d;

	if ((d = malloc(sizeof(*d))) == NULL)
		return NULL;
	nwd__v1__explain_decision__init(d);
	if (set_string(&d->principal, principal) == -1 ||
	    set_string(&d->role, role) == -1) {
		nwd__v1__explain_decision__free_unpacked(d, NULL);
		return NULL;
	}
	return d;
}

static int
decision_add(Nwd__V1__ExplainResult *r, Nwd__V1__ExplainDecision *d)
{
	Nwd__V1__ExplainDecision **nv;

	if ((nv = realloc(r->decisions, (r->n_decisions + 1) *
	    sizeof(*nv))) == NULL) {
		nwd__v1__explain_decision__free_unpacked(d, NULL);
		return -1;
	}
	r->decisions = nv;
	nv[r->n_decisions++] = d;
	return 0;
}

static Nwd__V1__ExplainVerdict
verdict(enum policy_verdict v)
{
	switch (v) {
	case POLICY_ALLOW:
		return NWD__V1__EXPLAIN_VERDICT__EXPLAIN_ALLOWED;
	case POLICY_DENY:
		return NWD__V1__EXPLAIN_VERDICT__EXPLAIN_REFUSED;
	default:
		return NWD__V1__EXPLAIN_VERDICT__EXPLAIN_NOT_A_CANDIDATE;
	}
}

static int
wanted(char *const *to, size_t nto, const char *id)
{
	size_t i;

	if (nto == 0)
		return 1;
	for (i = 0; i < nto; i++)
		if (strcmp(to[i], id) == 0)
			return 1;
	return 0;
}

static int
add_entry(Nwd__V1__ExplainResult *r, const struct decide_entry *e)
{
	Nwd__V1__ExplainDecision *d;

	if ((d = decision_new(e->id, e->role)) == NULL)
		return -1;
	d->duty_pass = e->duty_pass;
	d->verdict = verdict(e->verdict);
	if (e->verdict == POLICY_ALLOW && decide_route_name(e->route) != NULL &&
	    set_string(&d->route, decide_route_name(e->route)) == -1) {
		nwd__v1__explain_decision__free_unpacked(d, NULL);
		return -1;
	}
	if (set_string(&d->rules, e->rules) == -1 ||
	    set_string(&d->reason, e->reason) == -1 ||
	    (e->verdict == POLICY_ALLOW &&
	    (strv_split(e->withheld, &d->fields_withheld,
	    &d->n_fields_withheld) == -1 ||
	    strv_split(e->shared, &d->fields_shared,
	    &d->n_fields_shared) == -1 ||
	    strv_split(e->configured, &d->fields_configured,
	    &d->n_fields_configured) == -1))) {
		nwd__v1__explain_decision__free_unpacked(d, NULL);
		return -1;
	}
	return decision_add(r, d);
}

/* The sender is never a candidate for its own message. */
static int
add_sender(Nwd__V1__ExplainResult *r, const struct principal *sender)
{
	Nwd__V1__ExplainDecision	*d;
	char				 why[256];

	if ((d = decision_new(sender->id, sender->role)) == NULL)
		return -1;
	d->verdict = NWD__V1__EXPLAIN_VERDICT__EXPLAIN_NOT_A_CANDIDATE;
	snprintf(why, sizeof(why), "%s is the sender; the broker does not "
	    "decide for a message's own sender", sender->id);
	if (set_string(&d->reason, why) == -1) {
		nwd__v1__explain_decision__free_unpacked(d, NULL);
		return -1;
	}
	return decision_add(r, d);
}

/* A private copy of env that the engine may change, freed by
 * free_unpacked. */
static Nwd__V1__Envelope *
envelope_copy(const Nwd__V1__Envelope *env)
{
	Nwd__V1__Envelope	*copy;
	uint8_t			*buf;
	size_t			 len;

	len = nwd__v1__envelope__get_packed_size(env);
	if ((buf = malloc(len > 0 ? len : 1)) == NULL)
		return NULL;
	nwd__v1__envelope__pack(env, buf);
	copy = nwd__v1__envelope__unpack(NULL, len, buf);
	free(buf);
	return copy;
}

Nwd__V1__ExplainResult *
decide_explain(const struct decide_world *w, const char *sender,
    const Nwd__V1__Envelope *env, char *const *to, size_t nto,
    enum decide_explain_status *status, char *err, size_t errlen)
{
	const struct principal	*p;
	Nwd__V1__ExplainResult	*r = NULL;
	Nwd__V1__Envelope	*copy = NULL;
	struct decide_plan	 plan;
	size_t			 i, k;

	memset(&plan, 0, sizeof(plan));
	if ((p = identity_find_id(w->ids, sender)) == NULL) {
		snprintf(err, errlen, "no principal '%.64s' in the principal "
		    "map", sender);
		goto not_found;
	}
	for (i = 0; i < nto; i++) {
		if (identity_find_id(w->ids, to[i]) == NULL) {
			snprintf(err, errlen, "no principal '%.64s' in the "
			    "principal map", to[i]);
			goto not_found;
		}
	}
	if ((r = malloc(sizeof(*r))) == NULL)
		goto nomem;
	nwd__v1__explain_result__init(r);
	r->at_unix_ms = w->now_ms;
	if (set_string(&r->policy_version, policy_version(w->policy)) == -1 ||
	    set_string(&r->sender, p->id) == -1 ||
	    set_string(&r->agency, p->agency) == -1 ||
	    (r->publish = decision_new(p->id, p->role)) == NULL)
		goto nomem;
	if (env != NULL && (copy = envelope_copy(env)) == NULL)
		goto nomem;
	if (decide_publish(w, p, copy, NULL, DECIDE_EVERYONE, &plan) == -1)
		goto nomem;
	r->publish->verdict = verdict(plan.publish);
	if (set_string(&r->publish->rules, plan.rules) == -1 ||
	    set_string(&r->publish->reason, plan.reason) == -1)
		goto nomem;
	r->recipients = plan.recipients;
	r->not_reachable = plan.not_reachable;
	r->duty_desk = plan.duty_desk;
	/* The entries in the principal map's order, the sender in its
	 * place, then the duty pass. */
	for (i = 0, k = 0; i < identity_count(w->ids); i++) {
		const struct principal *q = identity_at(w->ids, i);

		if (q == p) {
			if (nto > 0 && wanted(to, nto, p->id) &&
			    add_sender(r, p) == -1)
				goto nomem;
			continue;
		}
		if (k < plan.nentries && !plan.entries[k].duty_pass &&
		    strcmp(plan.entries[k].id, q->id) == 0) {
			if (wanted(to, nto, q->id) &&
			    add_entry(r, &plan.entries[k]) == -1)
				goto nomem;
			k++;
		}
	}
	for (; k < plan.nentries; k++)
		if (wanted(to, nto, plan.entries[k].id) &&
		    add_entry(r, &plan.entries[k]) == -1)
			goto nomem;
	decide_plan_free(&plan);
	if (copy != NULL)
		nwd__v1__envelope__free_unpacked(copy, NULL);
	if (status != NULL)
		*status = DECIDE_EXPLAIN_OK;
	return r;
nomem:
	snprintf(err, errlen, "out of memory");
	decide_plan_free(&plan);
	if (copy != NULL)
		nwd__v1__envelope__free_unpacked(copy, NULL);
	decide_explain_free(r);
	if (status != NULL)
		*status = DECIDE_EXPLAIN_NOMEM;
	return NULL;
not_found:
	if (status != NULL)
		*status = DECIDE_EXPLAIN_NOT_FOUND;
	return NULL;
}

void
decide_explain_free(Nwd__V1__ExplainResult *r)
{
	if (r != NULL)
		nwd__v1__explain_result__free_unpacked(r, NULL);
}

const char *
decide_verdict_text(Nwd__V1__ExplainVerdict v, int publish)
{
	switch (v) {
	case NWD__V1__EXPLAIN_VERDICT__EXPLAIN_ALLOWED:
		return publish ? "allowed" : "delivered";
	case NWD__V1__EXPLAIN_VERDICT__EXPLAIN_REFUSED:
		return "refused";
	case NWD__V1__EXPLAIN_VERDICT__EXPLAIN_NOT_A_CANDIDATE:
		return "not a candidate";
	default:
		return "unknown";
	}
}
