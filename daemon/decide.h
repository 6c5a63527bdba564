/*
 * decide: the one decision engine.  Who receives a published message,
 * which of its fields, and because of which rule: the publish checks
 * (validation, size, the sender's clearance, the publish rule, names the
 * principal mapping knows, an Allocation's allocate rule, a
 * SharingDecision's dates and names), the
 * broker-owned header fields, an Allocation's side effects, the deliver
 * decision for every principal (with the limit built in here: a
 * SharingDecision never reaches those its not_shared_with names), the
 * duty pass when no one may receive it, and redaction.  The broker's publish, the replay of a durable queue
 * (decide_recipient), and explain (the daemon's and the nwd tool's offline
 * mode, decide_explain) all decide here, so they cannot drift apart.
 *
 * Pure: no I/O, no logging, no clock it did not receive (the time is the
 * world's now_ms).
 */
#ifndef NWD_DECIDE_H
#define NWD_DECIDE_H

#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "nwd.pb-c.h"
#include "policy.h"

struct grant;
struct grant_table;
struct identity_map;
struct principal;

/*
 * How far ahead of the broker's clock a publisher's own time (a
 * SharingDecision's decided_unix_ms) may be: clocks of agencies' systems
 * drift.
 */
#define DECIDE_CLOCK_SKEW_MS	(5 * 60 * 1000)

/* Room left in a frame for what the broker adds around an envelope. */
#define DECIDE_FRAME_HEADROOM	4096

/*
 * How a recipient the policy allows is reached, the route its decision row
 * records: a live session that takes the message, a durable subscription
 * that holds it, both, or neither (0: unreachable).
 */
#define DECIDE_ROUTE_LIVE	1
#define DECIDE_ROUTE_QUEUED	2

/*
 * Asked for each principal the policy allows: how it would be reached
 * now (DECIDE_ROUTE_* bits, 0 for not at all).  duty_pass is 1 in the duty
 * pass.  The engine does no I/O: the caller answers from what it knows.
 */
typedef int	decide_reach_fn(const char *principal, int kind,
		    const char *subject, int duty_pass, void *arg);

/*
 * What the broker found about the message a correction or a retraction
 * supersedes (header.supersedes), for the engine to judge.
 */
struct decide_superseded {
	int			 found;		/* 0: nwd holds no such
						   message */
	const char		*sender;	/* who published it */
	const char		*agency;	/* and for which agency */
	const char		*subject;
	int			 kind;
	int			 purged;	/* its body was purged */
	const char		*retracted_by;	/* its chain's retraction, ""
						   if none */
	char *const		*reached;	/* everyone it and its earlier
						   corrections reached */
	size_t			 nreached;
};

/* What a decision is made against; everything is borrowed. */
struct decide_world {
	const struct policy		*policy;
	const struct identity_map	*ids;
	const struct alloc_table	*allocs;	/* NULL: nobody */
	const struct consent_table	*consents;	/* NULL: not known */
	const struct grant_table	*grants;	/* NULL: no grant of
							   break-glass */
	int64_t				 now_ms;	/* the decision's time */
	uint32_t			 max_frame;	/* 0: no size limit */
	decide_reach_fn			*reach;		/* NULL: everyone the
							   policy allows
							   counts as reached
							   (explain) */
	void				*reach_arg;
	const struct decide_superseded	*superseded;	/* NULL: a supersedes
							   is not judged
							   (explain) */
};

/* What a caller wants kept in the plan besides the decisions. */
enum decide_flags {
	DECIDE_PACK = 1 << 0,		/* each allowed recipient's bytes */
	DECIDE_EVERYONE = 1 << 1,	/* not-a-candidate entries too, and
					   the fields the rules configure */
	DECIDE_SYSTEM = 1 << 2,		/* the broker's own message (an
					   Escalation): no publish rule is
					   asked, the deliver rules are */
};

/* One principal's decision about one message. */
struct decide_entry {
	char			*id;		/* owned; the principal's id */
	char			*role;		/* owned; its role ("" if it is
						   not in the mapping) */
	enum policy_verdict	 verdict;
	int			 duty_pass;	/* decided in the duty pass */
	char			 rules[256];	/* the rules that decided */
	char			 reason[256];	/* one sentence, or "" */
	int			 route;		/* allowed: DECIDE_ROUTE_* bits
						   (0 unreachable); -1 when
						   the world has no reach */
	char			*withheld;	/* owned; allowed: the paths
						   removed, "a,b" ("" none) */
	char			*shared;	/* owned; allowed: the top-level
						   body fields shared */
	char			*configured;	/* owned; DECIDE_EVERYONE and
						   allowed: what the rules strip */
	uint8_t			*bytes;		/* owned; DECIDE_PACK and
						   allowed: the redacted
						   envelope, packed */
	size_t			 len;
};

/*
 * The decision about one publish.  publish is POLICY_ALLOW, or the refusal:
 * then code, rules and reason are what the publisher is told and the
 * audit row says, and entries holds what was decided before the refusal
 * (nothing, or the decisions that found no recipient: "no dead letters").
 *
 * No dead letters: when the publish reaches no one (no principal the
 * policy allows is reachable), the duty principals are decided in the duty
 * pass; if it still reaches no one it is refused.
 */
struct decide_plan {
	enum policy_verdict	 publish;
	Nwd__V1__ErrorCode	 code;		/* refused: for the publisher */
	char			 rules[256];	/* the publish rule(s) */
	char			 reason[320];	/* why (refused: for the
						   publisher) */
	char			 note[256];	/* allowed: what the broker set
						   over the client's header */
	size_t			 recipients;	/* allowed entries reached */
	size_t			 not_reachable;	/* allowed, reached by nothing */
	int			 duty_desk;	/* they are the duty desk */
	struct decide_entry	*entries;	/* owned; allow and deny rows
						   in the principal map's
						   order, then the duty pass */
	size_t			 nentries;
	size_t			 capentries;
	int			 has_alloc;	/* an Allocation to record */
	struct alloc_entry	 alloc;		/* strings in
						   alloc_strings; by is
						   the sender */
	char			*alloc_strings;	/* owned */
	int			 withdraws;	/* a correction (1) or a
						   retraction (2) of the
						   world's superseded */
	char			**notices;	/* owned; withdraws: who the
						   superseded message reached
						   and the policy no longer
						   lets receive this one: a
						   WithdrawalNotice tells
						   them */
	size_t			 nnotices;
};

/*
 * Decides env, published by sender at w->now_ms with id message_id (NULL:
 * none is set, as for explain).  env is the caller's and is changed: an
 * allowed publish gets the broker-owned header fields (message id,
 * sender, originating agency, created time) and an Allocation's team and
 * worker added to share_with, so that what the caller stores is what was
 * decided.  env may be NULL (refused: no envelope).  sender is borrowed.
 * Fills plan (which the caller frees with decide_plan_free()) and returns
 * 0; returns -1 if memory ran out (plan is then empty).
 *
 * Corrections and retractions (header.supersedes, judged when
 * w->superseded is set): the superseded message must exist, not be
 * purged, retracted or made by the broker, be about the same young
 * person and (for a correction) of the same kind, and come from the
 * sender, or from the sender's agency where an allow correct rule lets
 * the sender's role correct that kind.  It then goes to those the
 * superseded message (and its earlier corrections) reached, and to no one
 * else, each decided under the policy now (a duty principal in the duty
 * pass too); those it may no longer go to are plan->notices.  A
 * Retraction needs no publish rule: the right to withdraw comes from the
 * message.  A WithdrawalNotice (DECIDE_SYSTEM) goes to the principals its
 * share_with names, and to no one else, without a rule: telling them is
 * the controller's duty (UK GDPR art. 19).
 */
int		 decide_publish(const struct decide_world *w,
		    const struct principal *sender, Nwd__V1__Envelope *env,
		    const char *message_id, int flags,
		    struct decide_plan *plan);

/*
 * Decides one recipient of a stored message again (a pending delivery of
 * a durable queue, at replay): the policy and allocations of w, in the
 * duty pass if duty_pass (a delivery the duty pass queued).  who is the recipient's id; recipient is its principal,
 * or NULL if it is no longer in the mapping (refused).  env has passed envelope_validate() and is
 * changed only while packing.  Fills out (free its members with
 * decide_entry_clear()) and returns 0, or -1 if memory ran out.
 */
int		 decide_recipient(const struct decide_world *w,
		    const struct principal *recipient, const char *who,
		    Nwd__V1__Envelope *env, int duty_pass, int flags,
		    struct decide_entry *out);

/*
 * Break-glass.  A principal the policy does not let receive a message
 * (outside the duty pass) receives it all the same if a grant of the
 * world, live at now_ms, covers it, its subject and its kind, and the
 * grant's breakglass rule allows it (policy_check_breakglass()): redacted
 * as the rule says, and the decision's rules are "breakglass:RULE
 * grant=ID" (a refusal under the grant: "RULES grant=ID"), so that its
 * audit row names the grant.  decide_publish() and decide_recipient() do
 * this by themselves; DECIDE_GRANT_TAG is what a row's rule carries.
 */
#define DECIDE_GRANT_TAG	"grant="

/*
 * Decides env for recipient under grant g alone (the history a grantee
 * asks for): refused unless g is live at w->now_ms and covers env's
 * subject and kind, and the grant's rule allows it.  Fills out (free its
 * members with decide_entry_clear()) and returns 0, or -1 if memory ran
 * out.  env has passed envelope_validate().
 */
int		 decide_grant(const struct decide_world *w,
		    const struct principal *recipient, const struct grant *g,
		    Nwd__V1__Envelope *env, int flags,
		    struct decide_entry *out);

void		 decide_entry_clear(struct decide_entry *e);
/* "live", "queued", "live,queued", "unreachable"; NULL for -1. */
const char	*decide_route_name(int route);
/* Frees what the plan owns and empties it; NULL is a no-op. */
void		 decide_plan_free(struct decide_plan *plan);

/*
 * Explain: "would this principal receive this message, which fields,
 * because of which rule", answered by decide_publish() without storing or
 * delivering anything (decide_explain.c).
 */

/* The most principals an Explain may name in "to". */
#define DECIDE_EXPLAIN_MAX_TO	256

enum decide_explain_status {
	DECIDE_EXPLAIN_OK,
	DECIDE_EXPLAIN_NOT_FOUND,	/* the sender or a "to" principal is
					   unknown */
	DECIDE_EXPLAIN_NOMEM,
};

/*
 * Explains how the broker would decide env if the principal with id sender
 * published it at w->now_ms.  env stays the caller's and is not modified;
 * it need not be valid (an invalid one is explained as a refused publish).
 * to (nto ids, may be 0) restricts which deliver decisions are reported;
 * the recipient count and the duty pass are always those of the whole
 * principal map.  Returns a new result that the caller frees with
 * decide_explain_free(), or NULL with *status (if not NULL) set and one
 * sentence in err.
 */
Nwd__V1__ExplainResult *decide_explain(const struct decide_world *w,
		    const char *sender, const Nwd__V1__Envelope *env,
		    char *const *to, size_t nto,
		    enum decide_explain_status *status, char *err,
		    size_t errlen);

/* NULL is a no-op. */
void		 decide_explain_free(Nwd__V1__ExplainResult *r);

/* "allowed", "delivered", "refused", "not a candidate". */
const char	*decide_verdict_text(Nwd__V1__ExplainVerdict v, int publish);

#endif
