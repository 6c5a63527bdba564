/*
 * policy: the sharing policy, the machine-readable information-sharing
 * agreement.  Parses the policy file and decides, for a message and a
 * principal, whether it may be published or delivered and which body fields
 * and which of the header's free text (redact.h) are withheld.  Pure: no
 * I/O, no logging, no clock it is not given.  Verdicts are an enum; "no
 * rule matched" is spelled out, and it is a deny.
 *
 * Semantics (nwd-policy(5), deploy/policy.nwd):
 *  - default deny; a matching deny rule always wins over any allow;
 *  - allow rules are additive: a recipient sees the union of the fields its
 *    matching allows grant, so a field is withheld only if every matching
 *    allow withholds it;
 *  - protected message types (addresses, third parties, sources) are
 *    withheld wherever they appear unless a rule grants them by name: a
 *    keep does not lift a protection, and an allow that does not grant a
 *    protected field withholds it, so the union of allows delivers it only
 *    if one of them grants it;
 *  - built in, whatever the rules say: handling code C reaches named
 *    recipients only; legacy 5x5x5 handling codes 4 and 5 never leave the
 *    police; nobody receives a marking above their clearance; an
 *    OFFICIAL-SENSITIVE message needs the recipient to be allocated to the
 *    subject or named (need to know), except at the duty desk;
 *  - rules with "when duty" apply only in the duty pass, when no one else
 *    may receive a message;
 *  - an Allocation needs, besides its publish rule, an allow allocate rule
 *    that lets the sender allocate its team and worker to the subject, and
 *    end or change the allocation it replaces if another principal made
 *    it: need to know is never self-asserted.
 */
#ifndef NWD_POLICY_H
#define NWD_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "identity.h"
#include "nwd.pb-c.h"
#include "redact.h"

#define POLICY_VERSION_LEN	24	/* "sha256:" + 16 hex + NUL */

struct alloc_table;
struct consent_table;

enum policy_verdict {
	POLICY_DENY_NO_RULE,	/* no rule for this role and kind: not a
				   candidate; default deny */
	POLICY_DENY,		/* a deny rule, an unmet condition or a
				   built-in limit refused */
	POLICY_ALLOW,
};

/* What a decision may look at besides the message and the principal. */
struct policy_context {
	const struct alloc_table *allocs;	/* NULL: nobody is allocated */
	int64_t			  now_ms;	/* for allocation periods */
	int			  duty_pass;	/* 1: routing to the duty desk */
	const struct identity_map *ids;		/* the principal mapping,
						   for allocate rules;
						   NULL: nobody */
	const struct consent_table *consents;	/* NULL: not known (no
						   consent is found, and
						   the basis-consent limit
						   is not judged) */
};

struct policy_decision {
	enum policy_verdict	 verdict;
	char			 rules[256];	/* rule names that decided */
	char			 reason[256];	/* one sentence for the audit */
	/* Paths to withhold; the strings belong to the policy. */
	const char		*strip[REDACT_MAX_PATHS];
	size_t			 nstrip;
};

struct policy;

/*
 * Parses policy text.  name is used in messages.  Returns a new policy, or
 * NULL with "NAME:LINE:COL: what was expected" in err.
 */
struct policy	*policy_parse(const char *text, size_t len, const char *name,
		    char *err, size_t errlen);
void		 policy_free(struct policy *p);

/* "sha256:" and the first 16 hex digits of the text's SHA-256. */
const char	*policy_version(const struct policy *p);
const char	*policy_title(const struct policy *p);
size_t		 policy_nrules(const struct policy *p);

/* The duty principals (who receive what no one else may). */
size_t		 policy_nduty(const struct policy *p);
const char	*policy_duty_at(const struct policy *p, size_t i);
/*
 * What the publisher of a message may see of its recipients ("status"
 * lines): each recipient's name, and the reason of a decision about it,
 * for everyone, for the principals of the publisher's own agency only, or
 * for nobody (then a recipient shows as its role).  Defaults: names within
 * the agency, no reasons.
 */
enum policy_status_scope {
	POLICY_STATUS_NONE,
	POLICY_STATUS_AGENCY,
	POLICY_STATUS_ALL,
};
enum policy_status_scope policy_status_names(const struct policy *p);
enum policy_status_scope policy_status_reasons(const struct policy *p);

/* 1 if id is a duty principal, else 0. */
int		 policy_is_duty(const struct policy *p, const char *id);
/* The first duty principal, or NULL. */
const char	*policy_duty(const struct policy *p);

/*
 * Returns 1 if team is a team that some principal of ids has, or that a
 * team line of the policy declares; else 0.  A principal's id is not a
 * team.
 */
int		 policy_team_known(const struct policy *p,
		    const struct identity_map *ids, const char *team);

/* Teams the policy's team lines give principal id (may be none). */
const char *const *policy_extra_teams(const struct policy *p, const char *id,
		    size_t *n);

/*
 * Checks a principal mapping against the policy: each principal's role is
 * declared (if the policy declares roles) with the principal's agency, and
 * each duty principal and team member exists.  Returns 0, or -1 with the
 * first problem in err.
 */
int		 policy_check_principals(const struct policy *p,
		    const struct identity_map *ids, char *err, size_t errlen);

/* May sender publish env?  env has passed envelope_validate(). */
enum policy_verdict policy_check_publish(const struct policy *p,
		    const struct principal *sender,
		    const Nwd__V1__Envelope *env,
		    const struct policy_context *ctx,
		    struct policy_decision *out);

/*
 * May sender make the Allocation env carries?  env has passed
 * envelope_validate(), and its team and worker are names the mapping
 * knows (the decision engine refuses others first).  The allow allocate
 * rules of sender's role are alternatives: the allocation is allowed if
 * one of them allows all of it (its when, teams, workers and end
 * clauses), and the decision names every rule that does; otherwise it is
 * refused by the first rule, saying which clause did not hold, or, if no
 * allocate rule names the role, POLICY_DENY_NO_RULE.  ctx->allocs gives
 * the allocations now (for "when allocated", and for who made the
 * allocation of the same subject, team and worker that this one would
 * replace); ctx->ids the mapping (for workers who share a team).
 */
enum policy_verdict policy_check_allocate(const struct policy *p,
		    const struct principal *sender,
		    const Nwd__V1__Envelope *env,
		    const struct policy_context *ctx,
		    struct policy_decision *out);

/*
 * May sender correct or retract a message of kind that someone else of
 * its own agency published?  (Its own messages it may always correct;
 * another agency's, never: the decision engine judges those.)  Allowed
 * if an allow correct rule names sender's role and kind, the decision
 * naming every such rule; else POLICY_DENY_NO_RULE with the reason.
 */
enum policy_verdict policy_check_correct(const struct policy *p,
		    const struct principal *sender, int kind,
		    struct policy_decision *out);

/* May recipient receive env, and without which fields? */
enum policy_verdict policy_check_deliver(const struct policy *p,
		    const struct principal *recipient,
		    const Nwd__V1__Envelope *env,
		    const struct policy_context *ctx,
		    struct policy_decision *out);

/* "allow", "deny" or "deny (no rule)". */
const char	*policy_verdict_name(enum policy_verdict v);

/* ------------------------------------------------------------------------
 * Deadlines (policy_deadline.c): the statutory clocks
 */
struct calendar;

/* A deadline a published message sets. */
struct policy_deadline {
	const char	*rule;		/* the policy's */
	int64_t		 start_ms;	/* when its clock started */
	int64_t		 due_ms;
	int64_t		 every_ms;	/* re-escalation interval; 0: once */
	int		 by_ack;	/* met by an acknowledgement */
	uint32_t	 closing_kinds;	/* or by a referencing message */
	char		 note[320];	/* how due was computed, if not as
					   the rule says; "" otherwise */
};

/*
 * The deadlines env sets, received at received_ms: at most max into out,
 * *n of them.  cal (may be NULL) gives working and school days; without
 * one that covers the dates, they are weekdays (due never later than the
 * calendar would make it) and note says so.  Returns 0, or -1 if more
 * than max rules apply.
 */
int		 policy_deadlines(const struct policy *p,
		    const struct calendar *cal, const Nwd__V1__Envelope *env,
		    int64_t received_ms, struct policy_deadline *out,
		    size_t max, size_t *n);
/* 1 if a message of kind that references the message meets rule. */
int		 policy_deadline_closed_by_message(const struct policy *p,
		    const char *rule, int kind);
/* 1 if an acknowledgement by a recipient of role meets rule. */
int		 policy_deadline_closed_by_ack(const struct policy *p,
		    const char *rule, const char *role);
/* 1 if the policy has a deadline rule of that name. */
int		 policy_deadline_known(const struct policy *p,
		    const char *rule);
/* The rule's re-escalation interval (0: once, or no such rule). */
int64_t		 policy_deadline_every(const struct policy *p,
		    const char *rule);
/* The first deadline rule that counts working or school days, or NULL. */
const char	*policy_deadline_needs_calendar(const struct policy *p);
size_t		 policy_ndeadlines(const struct policy *p);

/* ------------------------------------------------------------------------
 * Break-glass (policy_breakglass.c): emergency access, reviewed
 */

/* A breakglass rule, as a claim is judged by it. */
struct policy_breakglass {
	const char	*rule;		/* the policy's */
	uint32_t	 kinds;		/* bit per Nwd__V1__Kind */
	int64_t		 max_ms;	/* the longest grant */
};

/* The first breakglass rule that names role: 1 with *out, or 0. */
int		 policy_breakglass_for(const struct policy *p,
		    const char *role, struct policy_breakglass *out);
size_t		 policy_nbreakglass(const struct policy *p);

/*
 * May recipient receive env under a grant of breakglass rule (whose kinds
 * the caller has checked cover env's)?  Allowed unless the rule no longer
 * exists or covers the kind or the recipient's role, a deny deliver rule
 * whose conditions hold forbids it, or a limit no rule lifts does
 * (handling code C, consent as the basis, legacy 5x5x5, clearance); the
 * grant stands in for need to know.  An allow withholds what the rule
 * says; its rules are the rule's name.
 */
enum policy_verdict policy_check_breakglass(const struct policy *p,
		    const char *rule, const struct principal *recipient,
		    const Nwd__V1__Envelope *env,
		    const struct policy_context *ctx,
		    struct policy_decision *out);

/* ------------------------------------------------------------------------
 * A read-only view of the compiled policy (policy_view.c), for the
 * auditor's console's agreement page: the rules, the declared roles, the
 * matrix of kinds x roles, and the deadline and breakglass rules in
 * words.  Every string belongs to the policy and lives as long as it.
 */

#define POLICY_WHEN_ALLOCATED	0x1
#define POLICY_WHEN_NAMED	0x2
#define POLICY_WHEN_DUTY	0x4
#define POLICY_WHEN_CONSENT	0x8

enum policy_view_action {
	POLICY_VIEW_PUBLISH,
	POLICY_VIEW_DELIVER,
	POLICY_VIEW_ALLOCATE,
	POLICY_VIEW_CORRECT,
};

/* One rule as written (after compiling). */
struct policy_rule_view {
	const char		 *name;
	int			  allow;	/* 1 allow, 0 deny */
	enum policy_view_action	  action;
	const char *const	 *roles;	/* nroles == 0: every role */
	size_t			  nroles;
	uint32_t		  kinds;	/* bit per Nwd__V1__Kind */
	int			  max_marking;	/* publish: the highest
						   Nwd__V1__Marking */
	uint32_t		  bases;	/* bit per legal basis; 0: any */
	const char *const	 *from;		/* originating agencies */
	size_t			  nfrom;
	unsigned		  when;		/* POLICY_WHEN_*, any of them;
						   0: always */
	const char *const	 *strip, *const *keep, *const *grant;
	size_t			  nstrip, nkeep, ngrant;
	int			  line;		/* in the policy file */
};

/* Rule i (< policy_nrules()) into out: 0, or -1 if there is none. */
int		 policy_rule_at(const struct policy *p, size_t i,
		    struct policy_rule_view *out);

/* The roles the policy declares, in file order. */
size_t		 policy_nroles(const struct policy *p);
/* Role i's name, agency and clearance (a Nwd__V1__Marking; 0: no cap);
 * NULL if there is no role i.  agency and clearance may be NULL. */
const char	*policy_role_at(const struct policy *p, size_t i,
		    const char **agency, int *clearance);

/* What the rules say of one (action, kind, role), before the built-in
 * limits and before anything a message holds. */
enum policy_cell_state {
	POLICY_CELL_NO_RULE,	/* no rule: denied by default */
	POLICY_CELL_DENY,	/* a deny without conditions */
	POLICY_CELL_ALLOW,	/* an allow without conditions, no deny that
				   could hold */
	POLICY_CELL_CONDITIONAL, /* allowed only when conditions hold (when,
				   basis, from), or a conditional deny */
};

#define POLICY_CELL_MAX	16

struct policy_cell {
	enum policy_cell_state	 state;
	size_t			 rule[POLICY_CELL_MAX];	/* policy_rule_at()
							   indices */
	size_t			 nrules;	/* at most POLICY_CELL_MAX */
	size_t			 more;		/* rules left out */
};

/* The cell of the matrix for action on kind for role (a declared role or
 * any other name); kind out of range: no rule. */
void		 policy_cell(const struct policy *p,
		    enum policy_view_action action, int kind, const char *role,
		    struct policy_cell *out);

/* Deadline rule i in words ("risk_alert: within 24 hours of receipt;
 * met by an acknowledgement; re-escalated every 4 hours") into out, its
 * name into *name.  0, or -1 if there is no rule i. */
int		 policy_deadline_describe(const struct policy *p, size_t i,
		    const char **name, char *out, size_t outlen);
/* Breakglass rule i in words (roles, kinds, the longest grant, what it
 * withholds) into out, its name into *name.  0, or -1 if none. */
int		 policy_breakglass_describe(const struct policy *p, size_t i,
		    const char **name, char *out, size_t outlen);

#endif
