/*
 * policy_eval: the decisions.  Given a compiled policy, a principal, a
 * validated envelope and a context, policy_check_publish() and
 * policy_check_deliver() return a verdict and fill a decision (the rules
 * that decided, one sentence for the audit, the paths to withhold).  Pure:
 * it reads the policy and the context it is given and nothing else; no
 * I/O, no logging, no clock.  The semantics are in policy.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "envelope.h"
#include "consent.h"
#include "policy.h"
#include "policy_int.h"

const char *
policy_verdict_name(enum policy_verdict v)
{
	switch (v) {
	case POLICY_ALLOW:
		return "allow";
	case POLICY_DENY:
		return "deny";
	default:
		return "deny (no rule)";
	}
}

/* ------------------------------------------------------------------------
 * Decisions
 */

static void
add_rule_name(struct policy_decision *d, const char *name)
{
	size_t n = strlen(d->rules);

	snprintf(d->rules + n, sizeof(d->rules) - n, "%s%s", n > 0 ? "," : "",
	    name);
}

static void
decision_init(struct policy_decision *d)
{
	memset(d, 0, sizeof(*d));
	d->verdict = POLICY_DENY_NO_RULE;
}

static enum policy_verdict
deny(struct policy_decision *d, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum policy_verdict
deny(struct policy_decision *d, const char *rule, const char *fmt, ...)
{
	va_list ap;

	d->verdict = POLICY_DENY;
	d->nstrip = 0;
	snprintf(d->rules, sizeof(d->rules), "%s", rule);
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
	return d->verdict;
}

static void
bases_text(uint32_t bases, char *out, size_t outlen)
{
	size_t	n = 0;
	int	b;

	out[0] = '\0';
	for (b = 1; b < 32 && n < outlen; b++)
		if (bases & (1u << b))
			n += snprintf(out + n, outlen - n, "%s%s",
			    n > 0 ? " or " : "", envelope_legal_basis_name(b));
}

enum policy_verdict
policy_check_publish(const struct policy *p, const struct principal *sender,
    const Nwd__V1__Envelope *env, const struct policy_context *ctx,
    struct policy_decision *out)
{
	const Nwd__V1__Header	*h = env->header;
	const struct rule_list	*l;
	const struct rule	*too_low = NULL, *no_basis = NULL;
	char			 want[128];
	size_t			 i;

	decision_init(out);
	if ((l = policy_rules_for(p, ACTION_PUBLISH, h->kind,
	    sender->role)) == NULL)
		l = &(struct rule_list){ NULL, 0 };
	for (i = 0; i < l->n; i++) {
		const struct rule *r = l->v[i];

		if (r->bases != 0 && !(r->bases & (1u << h->legal_basis))) {
			if (r->effect == EFFECT_ALLOW && no_basis == NULL)
				no_basis = r;
			continue;
		}
		if (r->effect == EFFECT_DENY)
			return deny(out, r->name,
			    "rule %s forbids role %s to "
			    "publish %s",
			    r->name, sender->role, envelope_kind_name(h->kind));
		if ((int)h->marking > r->max_marking) {
			if (too_low == NULL)
				too_low = r;
			continue;
		}
		out->verdict = POLICY_ALLOW;
		add_rule_name(out, r->name);
	}
	if (out->verdict == POLICY_ALLOW)
		return out->verdict;
	if (no_basis != NULL) {
		bases_text(no_basis->bases, want, sizeof(want));
		if (h->legal_basis == NWD__V1__LEGAL_BASIS__LEGAL_BASIS_UNSPECIFIED)
			return deny(out, no_basis->name,
			    "%s needs a legal "
			    "basis (%s) under rule %s; the message gives none",
			    envelope_kind_name(h->kind), want, no_basis->name);
		return deny(out, no_basis->name,
		    "%s needs a legal basis of "
		    "%s under rule %s, not %s",
		    envelope_kind_name(h->kind), want, no_basis->name,
		    envelope_legal_basis_name(h->legal_basis));
	}
	if (too_low != NULL)
		return deny(out, too_low->name,
		    "rule %s lets role %s publish "
		    "%s only up to %s",
		    too_low->name, sender->role, envelope_kind_name(h->kind),
		    envelope_marking_name(too_low->max_marking));
	snprintf(out->reason, sizeof(out->reason),
	    "no publish rule lets role "
	    "%s publish %s",
	    sender->role, envelope_kind_name(h->kind));
	return out->verdict;
}

/* ------------------------------------------------------------------------
 * Allocation rights
 */

/* Is team one of pr's: the mapping's, or a team line's? */
static int
has_team(const struct policy *p, const struct principal *pr,
    const char *team)
{
	const char *const	*extra;
	size_t			 i, n;

	for (i = 0; i < pr->nteams; i++)
		if (strcmp(pr->teams[i], team) == 0)
			return 1;
	extra = policy_extra_teams(p, pr->id, &n);
	for (i = 0; i < n; i++)
		if (strcmp(extra[i], team) == 0)
			return 1;
	return 0;
}

/* Do a and b share a team? */
static int
share_team(const struct policy *p, const struct principal *a,
    const struct principal *b)
{
	const char *const	*extra;
	size_t			 i, n;

	for (i = 0; i < a->nteams; i++)
		if (has_team(p, b, a->teams[i]))
			return 1;
	extra = policy_extra_teams(p, a->id, &n);
	for (i = 0; i < n; i++)
		if (has_team(p, b, extra[i]))
			return 1;
	return 0;
}

/* What a teams or workers clause allows, for a reason: "its own teams",
 * "itself and the workers who share a team with it, a, b". */
static void
alloc_allowed_text(unsigned flags, const struct strlist *names, int workers,
    char *out, size_t outlen)
{
	size_t i, n = 0;

	out[0] = '\0';
	if (flags & ALLOC_OWN)
		n += snprintf(out + n, outlen - n, "%s", workers ? "itself "
		    "and the workers who share a team with it" :
		    "its own teams");
	else if (workers && (flags & ALLOC_SELF))
		n += snprintf(out + n, outlen - n, "itself");
	for (i = 0; i < names->n && n < outlen; i++)
		n += snprintf(out + n, outlen - n, "%s%s", n > 0 ? ", " : "",
		    names->v[i]);
}

/* "sw:north", "sw-ben", "sw:north and sw-ben": what an Allocation names. */
static void
alloc_what(const Nwd__V1__Allocation *a, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s%s%s", a->team, a->team[0] != '\0' &&
	    a->worker[0] != '\0' ? " and " : "", a->worker);
}

/*
 * Does allocate rule r allow sender the Allocation of env?  If not, why
 * not goes into why.  The clauses in order: when allocated, teams,
 * workers, end.
 */
static int
allocate_holds(const struct policy *p, const struct rule *r,
    const struct principal *sender, const Nwd__V1__Envelope *env,
    const struct policy_context *ctx, char *why, size_t whylen)
{
	const Nwd__V1__Allocation	*a = env->allocation;
	const char			*subject;
	const struct principal		*w;
	const char *const		*extra;
	struct alloc_entry		 cur;
	char				 allowed[256], what[300];
	size_t				 nextra;

	subject = env->header->subject->local_id;
	extra = policy_extra_teams(p, sender->id, &nextra);
	if ((r->when & WHEN_ALLOCATED) && !alloc_table_is_allocated(
	    ctx->allocs, subject, sender, extra, nextra, ctx->now_ms)) {
		snprintf(why, whylen, "rule %s lets role %s allocate only "
		    "young people it is allocated to; %s is not allocated to "
		    "%s", r->name, sender->role, sender->id, subject);
		return 0;
	}
	if (a->team[0] != '\0') {
		if (!(r->alloc_teams & ALLOC_GIVEN)) {
			snprintf(why, whylen, "rule %s does not let role %s "
			    "allocate teams", r->name, sender->role);
			return 0;
		}
		if (!(r->alloc_teams & ALLOC_ANY) &&
		    !((r->alloc_teams & ALLOC_OWN) &&
		    has_team(p, sender, a->team)) &&
		    !strlist_has(&r->teams, a->team)) {
			alloc_allowed_text(r->alloc_teams, &r->teams, 0,
			    allowed, sizeof(allowed));
			snprintf(why, whylen, "rule %s does not let role %s "
			    "allocate team %s (it allows %.100s)", r->name,
			    sender->role, a->team, allowed);
			return 0;
		}
	}
	if (a->worker[0] != '\0') {
		if (!(r->alloc_workers & ALLOC_GIVEN)) {
			snprintf(why, whylen, "rule %s does not let role %s "
			    "allocate workers", r->name, sender->role);
			return 0;
		}
		w = ctx->ids != NULL ? identity_find_id(ctx->ids, a->worker) :
		    NULL;
		if (!(r->alloc_workers & ALLOC_ANY) &&
		    !((r->alloc_workers & (ALLOC_SELF | ALLOC_OWN)) &&
		    strcmp(a->worker, sender->id) == 0) &&
		    !((r->alloc_workers & ALLOC_OWN) && w != NULL &&
		    share_team(p, sender, w)) &&
		    !strlist_has(&r->workers, a->worker)) {
			alloc_allowed_text(r->alloc_workers, &r->workers, 1,
			    allowed, sizeof(allowed));
			snprintf(why, whylen, "rule %s does not let role %s "
			    "allocate worker %s (it allows %.100s)", r->name,
			    sender->role, a->worker, allowed);
			return 0;
		}
	}
	/*
	 * An Allocation replaces the record of the same subject, team and
	 * worker: if that one is current or yet to come, this one ends or
	 * changes it, which only its maker may do unless the rule says
	 * "end any".
	 */
	if (!r->end_any && alloc_table_find(ctx->allocs, subject, a->team,
	    a->worker, &cur) && (cur.until_ms == 0 ||
	    cur.until_ms > ctx->now_ms) && strcmp(cur.by, sender->id) != 0) {
		alloc_what(a, what, sizeof(what));
		snprintf(why, whylen, "the allocation of %.100s to %s was "
		    "made by %s; rule %s lets role %s end or change only the "
		    "allocations it made", what, subject, cur.by[0] != '\0' ?
		    cur.by : "a principal not recorded", r->name,
		    sender->role);
		return 0;
	}
	return 1;
}

enum policy_verdict
policy_check_allocate(const struct policy *p, const struct principal *sender,
    const Nwd__V1__Envelope *env, const struct policy_context *ctx,
    struct policy_decision *out)
{
	const struct rule_list	*l;
	const struct rule	*failed = NULL;
	char			 why[256] = "", first[256] = "";
	size_t			 i;

	decision_init(out);
	if (env->header->kind != NWD__V1__KIND__ALLOCATION ||
	    env->allocation == NULL)
		return deny(out, "", "not an allocation");
	if ((l = policy_rules_for(p, ACTION_ALLOCATE,
	    NWD__V1__KIND__ALLOCATION, sender->role)) == NULL || l->n == 0) {
		snprintf(out->reason, sizeof(out->reason), "no allocate rule "
		    "lets role %s allocate", sender->role);
		return out->verdict;
	}
	for (i = 0; i < l->n; i++) {
		if (!allocate_holds(p, l->v[i], sender, env, ctx, why,
		    sizeof(why))) {
			if (failed == NULL) {
				failed = l->v[i];
				snprintf(first, sizeof(first), "%s", why);
			}
			continue;
		}
		out->verdict = POLICY_ALLOW;
		add_rule_name(out, l->v[i]->name);
	}
	if (out->verdict == POLICY_ALLOW)
		return out->verdict;
	return deny(out, failed->name, "%s", first);
}

enum policy_verdict
policy_check_correct(const struct policy *p, const struct principal *sender,
    int kind, struct policy_decision *out)
{
	const struct rule_list	*l;
	size_t			 i;

	decision_init(out);
	if (kind <= 0 || kind >= NKINDS || (l = policy_rules_for(p,
	    ACTION_CORRECT, (Nwd__V1__Kind)kind, sender->role)) == NULL || l->n == 0) {
		snprintf(out->reason, sizeof(out->reason), "no correct rule "
		    "lets role %s correct another's %s", sender->role,
		    envelope_kind_name(kind) != NULL ?
		    envelope_kind_name(kind) : "message");
		return out->verdict;
	}
	for (i = 0; i < l->n; i++)
		add_rule_name(out, l->v[i]->name);
	out->verdict = POLICY_ALLOW;
	return out->verdict;
}

/* Facts about one (message, recipient), computed once, lazily. */
struct facts {
	const struct policy		*p;
	const struct principal		*rcpt;
	const Nwd__V1__Envelope		*env;
	const struct policy_context	*ctx;
	const char *const		*extra;
	size_t				 nextra;
	int				 allocated;	/* -1 = not yet known */
	int				 named;
};

static int
is_allocated(struct facts *f)
{
	if (f->allocated == -1)
		f->allocated = alloc_table_is_allocated(f->ctx->allocs,
		    f->env->header->subject->local_id, f->rcpt, f->extra,
		    f->nextra, f->ctx->now_ms);
	return f->allocated;
}

/* Is the recipient one of names (as itself, or by a team of its)? */
static int
names_rcpt(const struct facts *f, char *const *names, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (principal_in_team(f->rcpt, names[i]))
			return 1;
		for (j = 0; j < f->nextra; j++)
			if (strcmp(f->extra[j], names[i]) == 0)
				return 1;
	}
	return 0;
}

/*
 * Named: in share_with, or, for a strategy discussion request, among its
 * invitees (the people it asks to the discussion are named by it).
 */
static int
is_named(struct facts *f)
{
	const Nwd__V1__Header	*h = f->env->header;
	const Nwd__V1__StrategyDiscussionRequest *sdr;

	if (f->named != -1)
		return f->named;
	f->named = names_rcpt(f, h->share_with, h->n_share_with);
	if (!f->named && f->env->body_case ==
	    NWD__V1__ENVELOPE__BODY_STRATEGY_DISCUSSION_REQUEST &&
	    (sdr = f->env->strategy_discussion_request) != NULL)
		f->named = names_rcpt(f, sdr->invitees, sdr->n_invitees);
	return f->named;
}

/*
 * Do a rule's conditions hold?  If not, why not goes into why.  Rules that
 * only apply at the duty desk hold only in the duty pass, and in the duty
 * pass only they hold.
 */
static int
conditions_hold(const struct rule *r, struct facts *f, char *why,
    size_t whylen)
{
	const Nwd__V1__Header	*h = f->env->header;
	unsigned		 w = r->when;

	if (r->bases != 0 && !(r->bases & (1u << h->legal_basis))) {
		snprintf(why, whylen,
		    "rule %s requires another legal basis "
		    "than %s",
		    r->name, envelope_legal_basis_name(h->legal_basis));
		return 0;
	}
	if (r->from.n > 0 && !strlist_has(&r->from, h->originating_agency)) {
		snprintf(why, whylen, "rule %s does not cover messages from "
		    "%s", r->name, h->originating_agency);
		return 0;
	}
	/* The conditions of "when" are alternatives. */
	if (w == 0 || ((w & WHEN_DUTY) && f->ctx->duty_pass) ||
	    ((w & WHEN_ALLOCATED) && is_allocated(f)) ||
	    ((w & WHEN_NAMED) && is_named(f)) ||
	    ((w & WHEN_CONSENT) && consent_covers(f->ctx->consents,
	    h->subject->local_id, h->kind, f->rcpt->agency, f->ctx->now_ms,
	    NULL, 0)))
		return 1;
	if (w == WHEN_CONSENT) {
		consent_covers(f->ctx->consents, h->subject->local_id, h->kind,
		    f->rcpt->agency, f->ctx->now_ms, why, whylen);
		return 0;
	}
	if ((w & (WHEN_ALLOCATED | WHEN_NAMED)) ==
	    (WHEN_ALLOCATED | WHEN_NAMED))
		snprintf(why, whylen, "%s is neither allocated to %s nor "
		    "named in share_with", f->rcpt->id, h->subject->local_id);
	else if (w & WHEN_ALLOCATED)
		snprintf(why, whylen, "%s is not allocated to %s", f->rcpt->id,
		    h->subject->local_id);
	else
		/* Only "named" is left: "duty" alone always holds in its pass. */
		snprintf(why, whylen, "%s is not named in share_with",
		    f->rcpt->id);
	return 0;
}

/*
 * Is this rule one the current pass looks at?  Deny rules always are; in
 * the duty pass only the allows marked "when duty", otherwise every allow
 * but those marked only "when duty".
 */
static int
in_pass(const struct rule *r, const struct policy_context *ctx)
{
	if (r->effect == EFFECT_DENY)
		return 1;
	return ctx->duty_pass ? (r->when & WHEN_DUTY) != 0 :
	    r->when != WHEN_DUTY;
}

/*
 * Narrows set (n paths) to what both it and l withhold: for each pair where
 * one path covers the other, the narrower one is withheld by both.
 */
static size_t
strip_intersect(const char **set, size_t n, const struct strlist *l)
{
	const char	*out[REDACT_MAX_PATHS];
	const char	*w;
	size_t		 i, j, k, nout = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < l->n; j++) {
			if (policy_path_covers(set[i], l->v[j]))
				w = l->v[j];
			else if (policy_path_covers(l->v[j], set[i]))
				w = set[i];
			else
				continue;
			for (k = 0; k < nout; k++)
				if (strcmp(out[k], w) == 0)
					break;
			if (k == nout && nout < REDACT_MAX_PATHS)
				out[nout++] = w;
		}
	}
	memcpy(set, out, nout * sizeof(out[0]));
	return nout;
}

static int
handling_c(const Nwd__V1__Envelope *env)
{
	return env->header->kind == NWD__V1__KIND__INTELLIGENCE_REPORT &&
	    env->intelligence_report != NULL &&
	    env->intelligence_report->grading != NULL &&
	    env->intelligence_report->grading->handling_code ==
	    NWD__V1__GRADING__HANDLING_CODE__HANDLING_C;
}

static int
legacy_police_only(const Nwd__V1__Envelope *env)
{
	return env->header->kind == NWD__V1__KIND__INTELLIGENCE_REPORT &&
	    env->intelligence_report != NULL &&
	    env->intelligence_report->legacy != NULL &&
	    env->intelligence_report->legacy->handling_code >= 4;
}

enum policy_verdict
policy_check_deliver(const struct policy *p, const struct principal *rcpt,
    const Nwd__V1__Envelope *env, const struct policy_context *ctx,
    struct policy_decision *out)
{
	const Nwd__V1__Header	*h = env->header;
	const struct rule_list	*l;
	const struct rule	*failed = NULL;
	const struct role_decl	*rd;
	struct facts		 f;
	char			 why[256] = "";
	const char		*strip[REDACT_MAX_PATHS];
	size_t			 i, nstrip = 0, nallow = 0, ncand = 0;
	int			 clearance, k = h->kind;

	decision_init(out);
	memset(&f, 0, sizeof(f));
	f.p = p;
	f.rcpt = rcpt;
	f.env = env;
	f.ctx = ctx;
	f.allocated = f.named = -1;
	f.extra = policy_extra_teams(p, rcpt->id, &f.nextra);
	if ((l = policy_rules_for(p, ACTION_DELIVER, k, rcpt->role)) == NULL)
		l = &(struct rule_list){ NULL, 0 };

	/* A deny whose conditions hold wins over everything. */
	for (i = 0; i < l->n; i++) {
		const struct rule *r = l->v[i];

		if (!in_pass(r, ctx))
			continue;
		if (r->effect == EFFECT_ALLOW)
			ncand++;
		else if (conditions_hold(r, &f, why, sizeof(why)))
			return deny(out, r->name,
			    "rule %s forbids role %s to "
			    "receive %s",
			    r->name, rcpt->role, envelope_kind_name(k));
	}
	if (ncand == 0) {
		snprintf(out->reason, sizeof(out->reason),
		    "no deliver rule "
		    "lets role %s receive %s",
		    rcpt->role, envelope_kind_name(k));
		return out->verdict;
	}
	for (i = 0; i < l->n; i++) {
		const struct rule *r = l->v[i];

		if (r->effect != EFFECT_ALLOW || !in_pass(r, ctx))
			continue;
		if (!conditions_hold(r, &f, why, sizeof(why))) {
			if (failed == NULL)
				failed = r;
			continue;
		}
		add_rule_name(out, r->name);
		/* Withhold only what every matching allow withholds. */
		if (nallow++ == 0) {
			for (nstrip = 0; nstrip < r->eff[k].n; nstrip++)
				strip[nstrip] = r->eff[k].v[nstrip];
		} else
			nstrip = strip_intersect(strip, nstrip, &r->eff[k]);
	}
	if (nallow == 0) {
		/* Recompute the first failure's reason for the audit. */
		conditions_hold(failed, &f, why, sizeof(why));
		return deny(out, failed->name, "%s", why);
	}

	/* Limits no rule can lift. */
	if (handling_c(env) && !is_named(&f))
		return deny(out, "handling-C", "handling code C: only "
		    "recipients named in share_with may receive it");
	/* Shared on consent: only as far as the consent goes. */
	if (h->legal_basis == NWD__V1__LEGAL_BASIS__CONSENT &&
	    h->kind != NWD__V1__KIND__CONSENT_RECORD &&
	    ctx->consents != NULL && !ctx->duty_pass &&
	    !consent_covers(ctx->consents, h->subject->local_id, h->kind,
	    rcpt->agency, ctx->now_ms, why, sizeof(why)))
		return deny(out, "consent", "legal basis consent: %s", why);
	if (legacy_police_only(env) && strcmp(rcpt->agency, "police") != 0)
		return deny(out, "legacy-5x5x5", "legacy 5x5x5 handling code "
		    "%u: never outside the police",
		    env->intelligence_report->legacy->handling_code);
	clearance = rcpt->clearance;
	if ((rd = policy_find_role(p, rcpt->role)) != NULL &&
	    rd->clearance != 0 && rd->clearance < clearance)
		clearance = rd->clearance;
	if ((int)h->marking > clearance)
		return deny(out, "clearance",
		    "marking %s is above the "
		    "recipient's clearance %s",
		    envelope_marking_name(h->marking),
		    envelope_marking_name(clearance));
	if (h->marking == NWD__V1__MARKING__OFFICIAL_SENSITIVE &&
	    !ctx->duty_pass && !is_allocated(&f) && !is_named(&f))
		return deny(out, "need-to-know", "OFFICIAL-SENSITIVE: %s is "
		    "neither allocated to %s nor named", rcpt->id,
		    h->subject->local_id);
	out->verdict = POLICY_ALLOW;
	memcpy(out->strip, strip, nstrip * sizeof(strip[0]));
	out->nstrip = nstrip;
	return out->verdict;
}

/* ------------------------------------------------------------------------
 * Break-glass
 */

enum policy_verdict
policy_check_breakglass(const struct policy *p, const char *rule,
    const struct principal *rcpt, const Nwd__V1__Envelope *env,
    const struct policy_context *ctx, struct policy_decision *out)
{
	const Nwd__V1__Header		*h = env->header;
	const struct breakglass_rule	*b;
	const struct rule_list		*l;
	const struct role_decl		*rd;
	struct facts			 f;
	char				 why[256] = "";
	size_t				 i;
	int				 clearance, k = h->kind;

	decision_init(out);
	if ((b = policy_breakglass_rule(p, rule)) == NULL)
		return deny(out, rule, "the policy has no breakglass rule %s "
		    "any more", rule);
	if (k <= 0 || k >= NKINDS || !(b->r.kinds & (1u << k)))
		return deny(out, rule, "breakglass rule %s does not cover %s",
		    rule, envelope_kind_name(k));
	if (!strlist_has(&b->r.roles, rcpt->role))
		return deny(out, rule, "breakglass rule %s does not name role "
		    "%s", rule, rcpt->role);
	memset(&f, 0, sizeof(f));
	f.p = p;
	f.rcpt = rcpt;
	f.env = env;
	f.ctx = ctx;
	f.allocated = f.named = -1;
	f.extra = policy_extra_teams(p, rcpt->id, &f.nextra);
	/* A deny whose conditions hold wins over a grant too. */
	if ((l = policy_rules_for(p, ACTION_DELIVER, k, rcpt->role)) != NULL)
		for (i = 0; i < l->n; i++) {
			const struct rule *r = l->v[i];

			if (r->effect == EFFECT_DENY &&
			    conditions_hold(r, &f, why, sizeof(why)))
				return deny(out, r->name, "rule %s forbids "
				    "role %s to receive %s, break-glass or "
				    "not", r->name, rcpt->role,
				    envelope_kind_name(k));
		}
	if (handling_c(env) && !is_named(&f))
		return deny(out, "handling-C", "handling code C: only "
		    "recipients named in share_with may receive it");
	if (h->legal_basis == NWD__V1__LEGAL_BASIS__CONSENT &&
	    h->kind != NWD__V1__KIND__CONSENT_RECORD &&
	    ctx->consents != NULL &&
	    !consent_covers(ctx->consents, h->subject->local_id, h->kind,
	    rcpt->agency, ctx->now_ms, why, sizeof(why)))
		return deny(out, "consent", "legal basis consent: %s", why);
	if (legacy_police_only(env) && strcmp(rcpt->agency, "police") != 0)
		return deny(out, "legacy-5x5x5", "legacy 5x5x5 handling code "
		    "%u: never outside the police",
		    env->intelligence_report->legacy->handling_code);
	clearance = rcpt->clearance;
	if ((rd = policy_find_role(p, rcpt->role)) != NULL &&
	    rd->clearance != 0 && rd->clearance < clearance)
		clearance = rd->clearance;
	if ((int)h->marking > clearance)
		return deny(out, "clearance", "marking %s is above the "
		    "recipient's clearance %s",
		    envelope_marking_name(h->marking),
		    envelope_marking_name(clearance));
	out->verdict = POLICY_ALLOW;
	add_rule_name(out, rule);
	snprintf(out->reason, sizeof(out->reason), "emergency access under "
	    "breakglass rule %s", rule);
	for (i = 0; i < b->r.eff[k].n && i < REDACT_MAX_PATHS; i++)
		out->strip[i] = b->r.eff[k].v[i];
	out->nstrip = i;
	return out->verdict;
}
