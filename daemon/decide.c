/*
 * decide: the decision engine.  See decide.h for the contracts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "consent.h"
#include "decide.h"
#include "envelope.h"
#include "grant.h"
#include "identity.h"
#include "policy.h"
#include "redact.h"
#include "utf8.h"

/* The longest comma-separated list of paths a decision can withhold. */
#define DECIDE_PATHS_LEN	(REDACT_MAX_PATHS * 130)

/* Replaces a string field of an unpacked message with a copy of v. */
static int
set_string(char **slot, const char *v)
{
	char *copy;

	if ((copy = strdup(v)) == NULL)
		return -1;
	if (*slot != NULL && *slot != protobuf_c_empty_string)
		free(*slot);
	*slot = copy;
	return 0;
}

/* Appends a copy of s to a repeated string field of an unpacked message. */
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

static void
refuse(struct decide_plan *plan, Nwd__V1__ErrorCode code, const char *rules,
    const char *reason)
{
	plan->publish = POLICY_DENY;
	plan->code = code;
	snprintf(plan->rules, sizeof(plan->rules), "%s", rules);
	snprintf(plan->reason, sizeof(plan->reason), "%s", reason);
}

/* Returns 1 if name is a role or an agency of some principal of ids. */
static int
role_or_agency_known(const struct identity_map *ids, const char *name)
{
	const struct principal	*p;
	size_t			 i, n = identity_count(ids);

	for (i = 0; i < n; i++) {
		p = identity_at(ids, i);
		if (strcmp(p->role, name) == 0 || strcmp(p->agency, name) == 0)
			return 1;
	}
	return 0;
}

/*
 * The names a SharingDecision says it was not shared with must name
 * somebody: a principal's id, a team, or a role or agency of some
 * principal.  A misspelt name would silently protect nobody from the
 * not-shared-with limit below.  Returns 1, or 0 with the refusal, naming
 * every unknown name, in plan.
 */
static int
judge_not_shared_names(const struct decide_world *w,
    const Nwd__V1__SharingDecision *sd, struct decide_plan *plan)
{
	const char	*unknown[ENVELOPE_MAX_SHARE_WITH];
	const char	*name;
	char		 list[256], why[320];
	size_t		 i, n = 0, l = 0;

	for (i = 0; i < sd->n_not_shared_with &&
	    n < ENVELOPE_MAX_SHARE_WITH; i++) {
		name = sd->not_shared_with[i];
		if (identity_find_id(w->ids, name) == NULL &&
		    !policy_team_known(w->policy, w->ids, name) &&
		    !role_or_agency_known(w->ids, name))
			unknown[n++] = name;
	}
	if (n == 0)
		return 1;
	list[0] = '\0';
	for (i = 0; i < n && l < sizeof(list); i++)
		l += snprintf(list + l, sizeof(list) - l, "%s%s",
		    i == 0 ? "" : i + 1 == n ? " and " : ", ", unknown[i]);
	snprintf(why, sizeof(why), "sharing_decision.not_shared_with names "
	    "%s, which is no principal, team, role or agency the principal "
	    "mapping knows; nothing was recorded", list);
	refuse(plan, NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE,
	    "unknown-name", why);
	return 0;
}

/*
 * When a SharingDecision was made and is to be reviewed, against the
 * broker's clock: not dated more than DECIDE_CLOCK_SKEW_MS ahead of it,
 * and reviewed after the decision (decided_unix_ms, or now when it is 0).
 * Returns 1, or 0 with the refusal in plan.
 */
static int
judge_sharing_decision_times(const struct decide_world *w,
    const Nwd__V1__SharingDecision *sd, struct decide_plan *plan)
{
	char	why[320];
	int64_t	decided = sd->decided_unix_ms != 0 ? sd->decided_unix_ms :
		    w->now_ms;

	if (sd->decided_unix_ms > w->now_ms + DECIDE_CLOCK_SKEW_MS) {
		snprintf(why, sizeof(why), "sharing_decision.decided_unix_ms "
		    "is %lld s ahead of the broker's clock; a decision is "
		    "dated at most %d s in the future",
		    (long long)((sd->decided_unix_ms - w->now_ms) / 1000),
		    DECIDE_CLOCK_SKEW_MS / 1000);
		refuse(plan, NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE, "",
		    why);
		return 0;
	}
	if (sd->review_by_unix_ms != 0 && sd->review_by_unix_ms <= decided) {
		snprintf(why, sizeof(why), "sharing_decision.review_by_unix_ms "
		    "must be after the decision (decided_unix_ms, or the time "
		    "of publishing when that is 0)");
		refuse(plan, NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE, "",
		    why);
		return 0;
	}
	return 1;
}

/*
 * Built in, whatever the rules say, in the duty pass too: a
 * SharingDecision never reaches a principal it names in not_shared_with,
 * by id, role, agency or team (its own or a team line's).  It would tell
 * them what was kept from them.  If p is named, d becomes the refusal
 * (recorded even where no rule spoke of p, so that the audit trail shows
 * who the decision kept it from) and 1 is returned; else 0.
 */
static int
not_shared_with(const struct decide_world *w, const struct principal *p,
    const Nwd__V1__Envelope *env, struct policy_decision *d)
{
	const Nwd__V1__SharingDecision	*sd = env->sharing_decision;
	const char *const		*extra;
	const char			*name, *as = NULL;
	size_t				 i, k, nextra;

	if (env->header->kind != NWD__V1__KIND__SHARING_DECISION || sd == NULL)
		return 0;
	extra = policy_extra_teams(w->policy, p->id, &nextra);
	for (i = 0; i < sd->n_not_shared_with && as == NULL; i++) {
		name = sd->not_shared_with[i];
		if (strcmp(name, p->id) == 0)
			as = "id";
		else if (strcmp(name, p->role) == 0)
			as = "role";
		else if (strcmp(name, p->agency) == 0)
			as = "agency";
		for (k = 0; k < p->nteams && as == NULL; k++)
			if (strcmp(name, p->teams[k]) == 0)
				as = "team";
		for (k = 0; k < nextra && as == NULL; k++)
			if (strcmp(name, extra[k]) == 0)
				as = "team";
	}
	if (as == NULL)
		return 0;
	memset(d, 0, sizeof(*d));
	d->verdict = POLICY_DENY;
	snprintf(d->rules, sizeof(d->rules), "not-shared-with");
	snprintf(d->reason, sizeof(d->reason), "the sharing decision names "
	    "%s (%s's %s) in not_shared_with; it never reaches those it "
	    "names", name, p->id, as);
	return 1;
}

/*
 * The names a publish gives must name somebody: every share_with entry a
 * principal's id or a team the mapping knows (team lines count), and an
 * Allocation's team a known team and its worker a known principal.
 * Returns 1, or 0 with the refusal, naming every unknown name, in plan.
 */
static int
judge_names(const struct decide_world *w, const Nwd__V1__Envelope *env,
    struct decide_plan *plan)
{
	const Nwd__V1__Header		*h = env->header;
	const Nwd__V1__Allocation	*a = env->allocation;
	const char			*unknown[ENVELOPE_MAX_SHARE_WITH];
	char				 list[256], why[320];
	size_t				 i, n = 0, l = 0;

	for (i = 0; i < h->n_share_with && n < ENVELOPE_MAX_SHARE_WITH;
	    i++)
		if (identity_find_id(w->ids, h->share_with[i]) == NULL &&
		    !policy_team_known(w->policy, w->ids, h->share_with[i]))
			unknown[n++] = h->share_with[i];
	if (n > 0) {
		list[0] = '\0';
		for (i = 0; i < n && l < sizeof(list); i++)
			l += snprintf(list + l, sizeof(list) - l, "%s%s",
			    i == 0 ? "" : i + 1 == n ? " and " : ", ",
			    unknown[i]);
		snprintf(why, sizeof(why), "share_with names %s, which the "
		    "principal mapping does not know (no principal has that "
		    "id or team, and no team line adds it); nothing was "
		    "shared", list);
		refuse(plan, NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE,
		    "unknown-name", why);
		return 0;
	}
	if (h->kind == NWD__V1__KIND__SHARING_DECISION &&
	    env->sharing_decision != NULL)
		return judge_not_shared_names(w, env->sharing_decision, plan);
	if (h->kind != NWD__V1__KIND__ALLOCATION || a == NULL)
		return 1;
	if (a->team[0] != '\0' &&
	    !policy_team_known(w->policy, w->ids, a->team)) {
		snprintf(why, sizeof(why), "allocation names team %s, which "
		    "the principal mapping does not know (no principal has "
		    "that team, and no team line adds it); nothing was "
		    "allocated", a->team);
		refuse(plan, NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE,
		    "unknown-name", why);
		return 0;
	}
	if (a->worker[0] != '\0' &&
	    identity_find_id(w->ids, a->worker) == NULL) {
		snprintf(why, sizeof(why), "allocation names worker %s, whom "
		    "the principal mapping does not know; nothing was "
		    "allocated", a->worker);
		refuse(plan, NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE,
		    "unknown-name", why);
		return 0;
	}
	return 1;
}

/* 1 if id is one of the names the superseded message reached. */
static int
was_reached(const struct decide_superseded *sup, const char *id)
{
	size_t i;

	for (i = 0; i < sup->nreached; i++)
		if (strcmp(sup->reached[i], id) == 0)
			return 1;
	return 0;
}

/*
 * A correction or a retraction: may sender supersede the message the
 * broker found?  Returns 1 (plan->rules then says by which right: the
 * sender's own message, or the correct rules), or 0 with the refusal.
 */
static int
judge_superseded(const struct decide_world *w, const struct principal *sender,
    const Nwd__V1__Envelope *env, struct decide_plan *plan)
{
	const struct decide_superseded	*sup = w->superseded;
	const Nwd__V1__Header		*h = env->header;
	const char			*kname;
	struct policy_decision		 d;
	char				 why[320];
	int				 retract = h->kind ==
					    NWD__V1__KIND__RETRACTION;

	if (!sup->found) {
		snprintf(why, sizeof(why), "header.supersedes names message "
		    "%s, which nwd does not hold: there is nothing to %s",
		    h->supersedes, retract ? "retract" : "correct");
		refuse(plan, NWD__V1__ERROR_CODE__ERROR_NOT_FOUND, "supersedes",
		    why);
		return 0;
	}
	kname = envelope_kind_name(sup->kind);
	if (envelope_kind_broker_only(sup->kind)) {
		snprintf(why, sizeof(why), "message %s is %s %s that nwd "
		    "made: only nwd may withdraw it", h->supersedes,
		    kname != NULL && strchr("aeiou", kname[0]) ? "an" : "a",
		    kname != NULL ? kname : "message");
		refuse(plan, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, "supersedes",
		    why);
		return 0;
	}
	if (strcmp(sup->subject, h->subject->local_id) != 0) {
		/* Which young person it is about is not said: the sender
		 * may never have received it. */
		snprintf(why, sizeof(why), "message %s is about another "
		    "young person, not %s: a correction or retraction must "
		    "be about the same young person as the message it "
		    "withdraws", h->supersedes, h->subject->local_id);
		refuse(plan, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, "supersedes",
		    why);
		return 0;
	}
	if (sup->retracted_by[0] != '\0') {
		snprintf(why, sizeof(why), "message %s was retracted (by %s): "
		    "a retracted message cannot be corrected or retracted "
		    "again", h->supersedes, sup->retracted_by);
		refuse(plan, NWD__V1__ERROR_CODE__ERROR_CONFLICT, "supersedes",
		    why);
		return 0;
	}
	if (sup->purged) {
		snprintf(why, sizeof(why), "message %s was purged under the "
		    "retention schedule: nwd no longer holds what it said, so "
		    "it cannot be corrected through nwd", h->supersedes);
		refuse(plan, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, "supersedes",
		    why);
		return 0;
	}
	if (!retract && (int)h->kind != sup->kind) {
		snprintf(why, sizeof(why), "message %s is %s %s: a correction "
		    "is of the kind it corrects (publish a retraction to "
		    "withdraw it)", h->supersedes,
		    kname != NULL && strchr("aeiou", kname[0]) ? "an" : "a",
		    kname != NULL ? kname : "message");
		refuse(plan, NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE,
		    "supersedes", why);
		return 0;
	}
	if (strcmp(sup->sender, sender->id) == 0) {
		snprintf(plan->rules, sizeof(plan->rules), "own-message");
	} else if (strcmp(sup->agency, sender->agency) != 0) {
		snprintf(why, sizeof(why), "message %s was published by "
		    "another agency (%s): only the agency that published a "
		    "message may %s it", h->supersedes, sup->agency,
		    retract ? "retract" : "correct");
		refuse(plan, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, "supersedes",
		    why);
		return 0;
	} else if (policy_check_correct(w->policy, sender, sup->kind, &d) !=
	    POLICY_ALLOW) {
		snprintf(why, sizeof(why), "message %s was published by %s, "
		    "not by you, and %s", h->supersedes, sup->sender,
		    d.reason);
		refuse(plan, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, "correct",
		    why);
		return 0;
	} else
		snprintf(plan->rules, sizeof(plan->rules), "%s", d.rules);
	if (sup->nreached == 0) {
		snprintf(why, sizeof(why), "message %s reached no one, so "
		    "there is no one to tell: publish the right information "
		    "as a new message", h->supersedes);
		refuse(plan, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, "supersedes",
		    why);
		return 0;
	}
	plan->withdraws = retract ? 2 : 1;
	return 1;
}

/*
 * The publish checks, in the order the publisher is answered: an
 * envelope, a valid one, one that fits a frame, a marking within the
 * sender's clearance, a publish rule, names the mapping knows, and for an
 * Allocation an allocate rule.  Returns 1 if the publish may go on, 0 if
 * plan now holds its refusal.  An allowed Allocation's rules are the
 * publish rules, then the allocate rules.
 */
static int
judge_publish(const struct decide_world *w, const struct principal *sender,
    const Nwd__V1__Envelope *env, int flags, struct decide_plan *plan)
{
	struct policy_context	 ctx;
	struct policy_decision	 d;
	char			 err[320], why[256], right[256] = "";
	size_t			 n;

	if (env == NULL) {
		refuse(plan, NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE, "",
		    "publish carries no envelope");
		return 0;
	}
	if (envelope_validate(env, err, sizeof(err)) == -1) {
		refuse(plan, NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE, "",
		    err);
		return 0;
	}
	if (env->header->kind == NWD__V1__KIND__SHARING_DECISION &&
	    !judge_sharing_decision_times(w, env->sharing_decision, plan))
		return 0;
	if (w->max_frame != 0 && nwd__v1__envelope__get_packed_size(env) +
	    DECIDE_FRAME_HEADROOM > w->max_frame) {
		snprintf(err, sizeof(err), "envelope is too large to deliver "
		    "within max_frame (%u bytes, less %d for the broker's "
		    "header)", w->max_frame, DECIDE_FRAME_HEADROOM);
		refuse(plan, NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE, "",
		    err);
		return 0;
	}
	if ((int)env->header->marking > sender->clearance) {
		snprintf(err, sizeof(err), "marking %s is above the sender's "
		    "clearance %s", envelope_marking_name(env->header->marking),
		    envelope_marking_name(sender->clearance));
		refuse(plan, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, "clearance",
		    err);
		return 0;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.allocs = w->allocs;
	ctx.consents = w->consents;
	ctx.now_ms = w->now_ms;
	if (flags & DECIDE_SYSTEM) {
		/* The broker's own message: no role publishes it. */
		plan->publish = POLICY_ALLOW;
		snprintf(plan->rules, sizeof(plan->rules), "nwd");
		snprintf(plan->reason, sizeof(plan->reason), "made by the "
		    "broker");
		return 1;
	}
	/* Consent as the legal basis: a current consent must cover it. */
	/* (A ConsentRecord is how consent comes to be recorded at all.) */
	if (env->header->legal_basis == NWD__V1__LEGAL_BASIS__CONSENT &&
	    env->header->kind != NWD__V1__KIND__CONSENT_RECORD &&
	    w->consents != NULL && !consent_covers(w->consents,
	    env->header->subject->local_id, env->header->kind, NULL,
	    w->now_ms, why, sizeof(why))) {
		snprintf(err, sizeof(err), "legal basis consent, but %s", why);
		refuse(plan, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, "consent",
		    err);
		return 0;
	}
	/* A Retraction needs no publish rule: the right to withdraw the
	 * message is its own. */
	if (env->header->kind == NWD__V1__KIND__RETRACTION &&
	    w->superseded != NULL) {
		if (!judge_superseded(w, sender, env, plan))
			return 0;
		snprintf(right, sizeof(right), "%s", plan->rules);
		plan->rules[0] = '\0';
		if (!judge_names(w, env, plan)) {
			plan->withdraws = 0;
			return 0;
		}
		plan->publish = POLICY_ALLOW;
		snprintf(plan->rules, sizeof(plan->rules), "%s", right);
		snprintf(plan->reason, sizeof(plan->reason), "withdraws "
		    "message %s", env->header->supersedes);
		return 1;
	}
	if (policy_check_publish(w->policy, sender, env, &ctx, &d) !=
	    POLICY_ALLOW) {
		plan->withdraws = 0;
		refuse(plan, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, d.rules,
		    d.reason);
		return 0;
	}
	/* Some kinds only the broker makes, whatever the policy says. */
	if (envelope_kind_broker_only(env->header->kind)) {
		plan->withdraws = 0;
		snprintf(err, sizeof(err), "kind %s is made by the broker "
		    "alone; no principal may publish it, whatever the "
		    "policy's rules say", envelope_kind_name(env->header->kind));
		refuse(plan, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN,
		    "broker-only", err);
		return 0;
	}
	/* A correction: the right to correct what it supersedes. */
	if (env->header->supersedes[0] != '\0' && w->superseded != NULL) {
		if (!judge_superseded(w, sender, env, plan))
			return 0;
		snprintf(right, sizeof(right), "%s", plan->rules);
		plan->rules[0] = '\0';
	}
	if (!judge_names(w, env, plan)) {
		plan->withdraws = 0;
		return 0;
	}
	plan->publish = POLICY_ALLOW;
	snprintf(plan->rules, sizeof(plan->rules), "%s", d.rules);
	if (right[0] != '\0') {
		n = strlen(plan->rules);
		snprintf(plan->rules + n, sizeof(plan->rules) - n, ",%s",
		    right);
	}
	snprintf(plan->reason, sizeof(plan->reason), "%s", d.reason);
	if (env->header->kind != NWD__V1__KIND__ALLOCATION)
		return 1;
	/* Need to know is not self-asserted: the allocate rules. */
	ctx.ids = w->ids;
	if (policy_check_allocate(w->policy, sender, env, &ctx, &d) !=
	    POLICY_ALLOW) {
		refuse(plan, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, d.rules,
		    d.reason);
		return 0;
	}
	n = strlen(plan->rules);
	snprintf(plan->rules + n, sizeof(plan->rules) - n, ",%s", d.rules);
	return 1;
}

/*
 * The header fields the broker owns, never the client: the id, the
 * sender, the agency and the time.  What the client claimed instead is
 * noted for the publish row.  An Allocation names the team or worker it
 * allocates: they are told, as if named in share_with, and the plan keeps
 * the record for the allocation table, made by the sender.
 */
static int
prepare(const struct decide_world *w, const struct principal *sender,
    Nwd__V1__Envelope *env, const char *message_id, struct decide_plan *plan)
{
	Nwd__V1__Header			*h = env->header;
	const Nwd__V1__Allocation	*a = env->allocation;
	const char			*who[2];
	char				 cs[41], ca[41];
	size_t				 i, k, tl, wl, sl, bl;

	if ((h->sender[0] != '\0' && strcmp(h->sender, sender->id) != 0) ||
	    (h->originating_agency[0] != '\0' &&
	    strcmp(h->originating_agency, sender->agency) != 0)) {
		/* At most 40 bytes of each, whole characters, no controls:
		 * the note goes into the publish row. */
		utf8_clean(cs, sizeof(cs), h->sender, strlen(h->sender),
		    UTF8_NO_CONTROLS);
		utf8_clean(ca, sizeof(ca), h->originating_agency,
		    strlen(h->originating_agency), UTF8_NO_CONTROLS);
		snprintf(plan->note, sizeof(plan->note), "ignored "
		    "client-supplied sender '%s' and agency '%s'", cs, ca);
	}
	h->created_unix_ms = w->now_ms;
	if ((message_id != NULL && set_string(&h->message_id,
	    message_id) == -1) ||
	    set_string(&h->sender, sender->id) == -1 ||
	    set_string(&h->originating_agency, sender->agency) == -1)
		return -1;
	if (h->kind != NWD__V1__KIND__ALLOCATION || a == NULL)
		return 0;
	who[0] = a->team;
	who[1] = a->worker;
	for (k = 0; k < 2; k++) {
		if (who[k][0] == '\0')
			continue;
		for (i = 0; i < h->n_share_with; i++)
			if (strcmp(h->share_with[i], who[k]) == 0)
				break;
		if (i == h->n_share_with &&
		    strv_push(&h->share_with, &h->n_share_with, who[k]) == -1)
			return -1;
	}
	tl = strlen(a->team);
	wl = strlen(a->worker);
	sl = strlen(h->subject->local_id);
	bl = strlen(sender->id);
	if ((plan->alloc_strings = malloc(tl + wl + sl + bl + 4)) == NULL)
		return -1;
	memcpy(plan->alloc_strings, a->team, tl + 1);
	memcpy(plan->alloc_strings + tl + 1, a->worker, wl + 1);
	memcpy(plan->alloc_strings + tl + wl + 2, h->subject->local_id, sl + 1);
	memcpy(plan->alloc_strings + tl + wl + sl + 3, sender->id, bl + 1);
	plan->alloc.team = plan->alloc_strings;
	plan->alloc.worker = plan->alloc_strings + tl + 1;
	plan->alloc.subject = plan->alloc_strings + tl + wl + 2;
	plan->alloc.by = plan->alloc_strings + tl + wl + sl + 3;
	plan->alloc.from_ms = a->from_unix_ms;
	plan->alloc.until_ms = a->until_unix_ms;
	plan->has_alloc = 1;
	return 0;
}

/* Returns 1 if the comma-separated list holds name. */
static int
csv_has(const char *list, const char *name)
{
	size_t l = strlen(name);

	while (list != NULL && *list != '\0') {
		if (strncmp(list, name, l) == 0 &&
		    (list[l] == ',' || list[l] == '\0'))
			return 1;
		if ((list = strchr(list, ',')) != NULL)
			list++;
	}
	return 0;
}

/*
 * The top-level body fields present and not wholly withheld, then the
 * header's free text present and not withheld, as the audit row's
 * fields_shared lists them.  Scalars are always counted: their zero is a
 * value too.  Returns a new string, or NULL.
 */
static char *
fields_shared(const Nwd__V1__Envelope *env, const char *withheld)
{
	const ProtobufCMessage		*body = envelope_body(env);
	const ProtobufCFieldDescriptor	*fd;
	const char			*p, *hp;
	char				 out[4096];
	size_t				 i, n = 0, l;

	out[0] = '\0';
	for (i = 0; body != NULL && i < body->descriptor->n_fields; i++) {
		fd = &body->descriptor->fields[i];
		p = (const char *)body + fd->offset;
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			if (*(const size_t *)((const char *)body +
			    fd->quantifier_offset) == 0)
				continue;
		} else if (fd->type == PROTOBUF_C_TYPE_STRING) {
			if (*(char *const *)p == NULL ||
			    **(char *const *)p == '\0')
				continue;
		} else if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
			if (*(void *const *)p == NULL)
				continue;
		}
		l = strlen(fd->name);
		if (csv_has(withheld, fd->name) || n + l + 2 >= sizeof(out))
			continue;
		n += snprintf(out + n, sizeof(out) - n, "%s%s",
		    n > 0 ? "," : "", fd->name);
	}
	for (i = 0; (hp = redact_header_path(i)) != NULL; i++) {
		l = strlen(hp);
		if (!redact_path_present(env, hp) || csv_has(withheld, hp) ||
		    n + l + 2 >= sizeof(out))
			continue;
		n += snprintf(out + n, sizeof(out) - n, "%s%s",
		    n > 0 ? "," : "", hp);
	}
	return strdup(out);
}

/* The paths the rules configure for a recipient, "a,b". */
static char *
configured(const struct policy_decision *d)
{
	char	out[DECIDE_PATHS_LEN];
	size_t	i, n = 0;

	out[0] = '\0';
	for (i = 0; i < d->nstrip && n < sizeof(out); i++)
		n += snprintf(out + n, sizeof(out) - n, "%s%s",
		    n > 0 ? "," : "", d->strip[i]);
	return strdup(out);
}

void
decide_entry_clear(struct decide_entry *e)
{
	if (e == NULL)
		return;
	free(e->id);
	free(e->role);
	free(e->withheld);
	free(e->shared);
	free(e->configured);
	/* A recipient's copy of the envelope: wiped before it is freed. */
	if (e->bytes != NULL)
		explicit_bzero(e->bytes, e->len);
	free(e->bytes);
	memset(e, 0, sizeof(*e));
}

/* Fills e from the policy's decision d about the principal id (of role,
 * "" if unknown): redaction included. */
static int
entry_fill(struct decide_entry *e, const char *id, const char *role,
    const struct policy_decision *d, int duty_pass, Nwd__V1__Envelope *env,
    int flags)
{
	char withheld[DECIDE_PATHS_LEN];

	memset(e, 0, sizeof(*e));
	if ((e->id = strdup(id)) == NULL || (e->role = strdup(role)) == NULL)
		goto fail;
	e->verdict = d->verdict;
	e->duty_pass = duty_pass;
	snprintf(e->rules, sizeof(e->rules), "%s", d->rules);
	snprintf(e->reason, sizeof(e->reason), "%s", d->reason);
	if (d->verdict != POLICY_ALLOW)
		return 0;
	if (flags & DECIDE_PACK) {
		if ((e->bytes = redact_pack(env, d->strip, d->nstrip, &e->len,
		    withheld, sizeof(withheld))) == NULL)
			goto fail;
	} else if (redact_withheld(env, d->strip, d->nstrip, withheld,
	    sizeof(withheld)) == -1)
		goto fail;
	if ((e->withheld = strdup(withheld)) == NULL ||
	    (e->shared = fields_shared(env, withheld)) == NULL ||
	    ((flags & DECIDE_EVERYONE) && (e->configured =
	    configured(d)) == NULL))
		goto fail;
	return 0;
fail:
	decide_entry_clear(e);
	return -1;
}

/* The rules of a decision made under grant g: "breakglass:RULE grant=ID"
 * if it allows, else the refusing rules and the grant. */
static void
grant_rules(struct policy_decision *d, const struct grant *g)
{
	char rules[sizeof(d->rules)];

	if (d->verdict == POLICY_ALLOW)
		snprintf(d->rules, sizeof(d->rules), "breakglass:%s "
		    DECIDE_GRANT_TAG "%s", g->rule, g->id);
	else {
		snprintf(rules, sizeof(rules), "%s", d->rules);
		snprintf(d->rules, sizeof(d->rules), "%.180s%s" DECIDE_GRANT_TAG
		    "%s", rules, rules[0] != '\0' ? " " : "", g->id);
	}
}

/*
 * A recipient the policy refused (d): if a live grant covers it, the
 * grant's rule decides instead, unless that too refuses one whom a rule
 * of the policy refused (whose refusal then stands).
 */
static void
under_grant(const struct decide_world *w, const struct principal *p,
    const Nwd__V1__Envelope *env, const struct policy_context *ctx,
    struct policy_decision *d)
{
	const struct grant	*g;
	struct policy_decision	 bd;

	if (w->grants == NULL || ctx->duty_pass || d->verdict == POLICY_ALLOW ||
	    (g = grant_covering(w->grants, p->id,
	    env->header->subject->local_id, env->header->kind,
	    w->now_ms)) == NULL)
		return;
	policy_check_breakglass(w->policy, g->rule, p, env, ctx, &bd);
	if (bd.verdict != POLICY_ALLOW && d->verdict != POLICY_DENY_NO_RULE)
		return;
	*d = bd;
	grant_rules(d, g);
}

/* Decides for p and records it; a principal no rule names is left out
 * unless the caller asked for everyone. */
static int
decide_one(const struct decide_world *w, const struct principal *p,
    Nwd__V1__Envelope *env, const struct policy_context *ctx, int flags,
    struct decide_plan *plan)
{
	struct policy_decision	 d;
	struct decide_entry	*ne, *e;
	size_t			 cap;

	policy_check_deliver(w->policy, p, env, ctx, &d);
	/* A grant stands in for need to know; what a decision not to
	 * share names is kept from them whatever grants it. */
	under_grant(w, p, env, ctx, &d);
	not_shared_with(w, p, env, &d);
	if (d.verdict == POLICY_DENY_NO_RULE && !(flags & DECIDE_EVERYONE))
		return 0;
	if (plan->nentries == plan->capentries) {
		cap = plan->capentries > 0 ? plan->capentries * 2 : 8;
		if ((ne = realloc(plan->entries, cap * sizeof(*ne))) == NULL)
			return -1;
		plan->entries = ne;
		plan->capentries = cap;
	}
	e = &plan->entries[plan->nentries];
	if (entry_fill(e, p->id, p->role, &d, ctx->duty_pass, env, flags) ==
	    -1)
		return -1;
	plan->nentries++;
	if (d.verdict != POLICY_ALLOW)
		return 0;
	e->route = w->reach != NULL ? w->reach(p->id, env->header->kind,
	    env->header->subject->local_id, ctx->duty_pass, w->reach_arg) : -1;
	if (e->route != 0)
		plan->recipients++;
	else
		plan->not_reachable++;
	return 0;
}

/* 1 if id is one of the policy's duty principals. */
static int
is_duty(const struct policy *policy, const char *id)
{
	size_t i;

	for (i = 0; i < policy_nduty(policy); i++)
		if (strcmp(policy_duty_at(policy, i), id) == 0)
			return 1;
	return 0;
}

/*
 * A principal the superseded message reached: the correction (or
 * retraction) if the policy lets it have this one now (a duty principal
 * in the duty pass too: the duty desk that had the original has its
 * correction), else a WithdrawalNotice.
 */
static int
decide_withdrawal(const struct decide_world *w, const struct principal *p,
    Nwd__V1__Envelope *env, struct policy_context *ctx, int flags,
    struct decide_plan *plan)
{
	const struct decide_entry	*e;
	size_t				 before = plan->nentries;
	char				**nv;

	if (decide_one(w, p, env, ctx, flags, plan) == -1)
		return -1;
	e = plan->nentries > before ? &plan->entries[plan->nentries - 1] :
	    NULL;
	if ((e == NULL || e->verdict != POLICY_ALLOW) &&
	    is_duty(w->policy, p->id)) {
		if (e != NULL) {
			decide_entry_clear(&plan->entries[--plan->nentries]);
			e = NULL;
		}
		ctx->duty_pass = 1;
		if (decide_one(w, p, env, ctx, flags, plan) == -1) {
			ctx->duty_pass = 0;
			return -1;
		}
		ctx->duty_pass = 0;
		e = plan->nentries > before ?
		    &plan->entries[plan->nentries - 1] : NULL;
	}
	if (e != NULL && e->verdict == POLICY_ALLOW)
		return 0;
	if ((nv = realloc(plan->notices, (plan->nnotices + 1) *
	    sizeof(*nv))) == NULL)
		return -1;
	plan->notices = nv;
	if ((nv[plan->nnotices] = strdup(p->id)) == NULL)
		return -1;
	plan->nnotices++;
	return 0;
}

/*
 * The broker's WithdrawalNotice: to each principal share_with names
 * (already known to the mapping, or passed over), whole, by no rule but
 * the duty to tell; never to anyone else, and never in a duty pass.
 */
static int
decide_notice(const struct decide_world *w, Nwd__V1__Envelope *env,
    int flags, struct decide_plan *plan)
{
	const Nwd__V1__Header	*h = env->header;
	const struct principal	*p;
	struct policy_decision	 d;
	struct decide_entry	*ne, *e;
	size_t			 i, cap;

	for (i = 0; i < h->n_share_with; i++) {
		if ((p = identity_find_id(w->ids, h->share_with[i])) == NULL)
			continue;
		memset(&d, 0, sizeof(d));
		d.verdict = POLICY_ALLOW;
		snprintf(d.rules, sizeof(d.rules), "withdrawal-notice");
		snprintf(d.reason, sizeof(d.reason), "told that message %s, "
		    "which it received, was withdrawn (UK GDPR art. 19)",
		    h->supersedes);
		if (plan->nentries == plan->capentries) {
			cap = plan->capentries > 0 ? plan->capentries * 2 : 8;
			if ((ne = realloc(plan->entries, cap *
			    sizeof(*ne))) == NULL)
				return -1;
			plan->entries = ne;
			plan->capentries = cap;
		}
		e = &plan->entries[plan->nentries];
		if (entry_fill(e, p->id, p->role, &d, 0, env, flags) == -1)
			return -1;
		plan->nentries++;
		e->route = w->reach != NULL ? w->reach(p->id, h->kind,
		    h->subject->local_id, 0, w->reach_arg) : -1;
		if (e->route != 0)
			plan->recipients++;
		else
			plan->not_reachable++;
	}
	if (plan->nentries == 0)
		refuse(plan, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN,
		    "withdrawal-notice", "no one it names is in the mapping");
	return 0;
}

int
decide_publish(const struct decide_world *w, const struct principal *sender,
    Nwd__V1__Envelope *env, const char *message_id, int flags,
    struct decide_plan *plan)
{
	const struct principal	*p;
	struct policy_context	 ctx;
	size_t			 i, n = identity_count(w->ids);

	memset(plan, 0, sizeof(*plan));
	if (!judge_publish(w, sender, env, flags, plan))
		return 0;
	if (prepare(w, sender, env, message_id, plan) == -1)
		goto nomem;
	memset(&ctx, 0, sizeof(ctx));
	ctx.allocs = w->allocs;
	ctx.consents = w->consents;
	ctx.now_ms = w->now_ms;
	if (env->header->kind == NWD__V1__KIND__WITHDRAWAL_NOTICE &&
	    (flags & DECIDE_SYSTEM))
		return decide_notice(w, env, flags, plan) == -1 ? -1 : 0;
	/* Every principal but the sender (a correction: those reached). */
	for (i = 0; i < n; i++) {
		p = identity_at(w->ids, i);
		if (strcmp(p->id, sender->id) == 0)
			continue;
		if (plan->withdraws) {
			if (was_reached(w->superseded, p->id) &&
			    decide_withdrawal(w, p, env, &ctx, flags,
			    plan) == -1)
				goto nomem;
			continue;
		}
		if (decide_one(w, p, env, &ctx, flags, plan) == -1)
			goto nomem;
	}
	if (plan->recipients == 0 && plan->nnotices == 0) {
		/* No dead letters: what reaches no one goes to the duty
		 * desk (whether no one may have it or no one could be
		 * reached). */
		ctx.duty_pass = 1;
		for (i = 0; i < policy_nduty(w->policy); i++) {
			p = identity_find_id(w->ids,
			    policy_duty_at(w->policy, i));
			if (p == NULL || strcmp(p->id, sender->id) == 0)
				continue;
			if (decide_one(w, p, env, &ctx, flags, plan) == -1)
				goto nomem;
		}
		plan->duty_desk = plan->recipients > 0;
	}
	if (plan->recipients == 0 && plan->nnotices == 0)
		refuse(plan, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN,
		    "no-dead-letters", "no principal may receive this message, "
		    "not even the duty desk; nothing was shared");
	return 0;
nomem:
	decide_plan_free(plan);
	return -1;
}

int
decide_recipient(const struct decide_world *w,
    const struct principal *recipient, const char *who,
    Nwd__V1__Envelope *env, int duty_pass, int flags,
    struct decide_entry *out)
{
	struct policy_context	ctx;
	struct policy_decision	d;

	memset(&d, 0, sizeof(d));
	if (recipient == NULL) {
		d.verdict = POLICY_DENY;
		snprintf(d.reason, sizeof(d.reason), "%s is no longer in the "
		    "principal mapping", who);
	} else {
		memset(&ctx, 0, sizeof(ctx));
		ctx.allocs = w->allocs;
		ctx.consents = w->consents;
		ctx.now_ms = w->now_ms;
		ctx.duty_pass = duty_pass;
		policy_check_deliver(w->policy, recipient, env, &ctx, &d);
		under_grant(w, recipient, env, &ctx, &d);
		not_shared_with(w, recipient, env, &d);
	}
	return entry_fill(out, who, recipient != NULL ? recipient->role : "",
	    &d, duty_pass, env, flags);
}

int
decide_grant(const struct decide_world *w, const struct principal *recipient,
    const struct grant *g, Nwd__V1__Envelope *env, int flags,
    struct decide_entry *out)
{
	struct policy_context	ctx;
	struct policy_decision	d;
	int			kind = env->header->kind;

	memset(&d, 0, sizeof(d));
	memset(&ctx, 0, sizeof(ctx));
	ctx.allocs = w->allocs;
	ctx.consents = w->consents;
	ctx.now_ms = w->now_ms;
	if (!grant_live(g, w->now_ms)) {
		d.verdict = POLICY_DENY;
		snprintf(d.reason, sizeof(d.reason), "grant %s is not live",
		    g->id);
	} else if (strcmp(g->subject, env->header->subject->local_id) != 0 ||
	    kind <= 0 || kind > 31 || !(g->kinds & (1u << kind))) {
		d.verdict = POLICY_DENY;
		snprintf(d.reason, sizeof(d.reason), "grant %s does not cover "
		    "%s about %s", g->id, envelope_kind_name(kind),
		    env->header->subject->local_id);
	} else
		policy_check_breakglass(w->policy, g->rule, recipient, env,
		    &ctx, &d);
	grant_rules(&d, g);
	return entry_fill(out, recipient->id, recipient->role, &d, 0, env,
	    flags);
}

const char *
decide_route_name(int route)
{
	switch (route) {
	case 0:
		return "unreachable";
	case DECIDE_ROUTE_LIVE:
		return "live";
	case DECIDE_ROUTE_QUEUED:
		return "queued";
	case DECIDE_ROUTE_LIVE | DECIDE_ROUTE_QUEUED:
		return "live,queued";
	default:
		return NULL;
	}
}

void
decide_plan_free(struct decide_plan *plan)
{
	size_t i;

	if (plan == NULL)
		return;
	for (i = 0; i < plan->nentries; i++)
		decide_entry_clear(&plan->entries[i]);
	free(plan->entries);
	free(plan->alloc_strings);
	for (i = 0; i < plan->nnotices; i++)
		free(plan->notices[i]);
	free(plan->notices);
	memset(plan, 0, sizeof(*plan));
}
