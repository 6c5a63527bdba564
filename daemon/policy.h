/*
 * policy: the sharing policy, the machine-readable information-sharing
 * agreement.  Parses the policy file and decides, for a message and a
 * principal, whether it may be published or delivered and which body fields
 * are withheld.  Pure: no I/O, no logging, no clock.  Verdicts are an enum;
 * "no rule matched" is spelled out, and it is a deny.
 *
 * Semantics: default deny; a matching deny rule always wins; allow rules are
 * additive (a recipient sees the union of the fields its matching allow rules
 * grant, so a field is withheld only if every matching allow strips it).
 * A recipient never receives a marking above its clearance.
 *
 * The language is described in nwd-policy(5) and deploy/policy.nwd.
 */
#ifndef NWD_POLICY_H
#define NWD_POLICY_H

#include <stddef.h>

#include "identity.h"
#include "nwd.pb-c.h"
#include "redact.h"

#define POLICY_VERSION_LEN	24	/* "sha256:" + 16 hex + NUL */

enum policy_verdict {
	POLICY_DENY_NO_RULE,	/* no rule matched: default deny */
	POLICY_DENY,		/* a deny rule or a built-in limit refused */
	POLICY_ALLOW,
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
/* The principal id that receives what no one else may, or NULL. */
const char	*policy_duty(const struct policy *p);
size_t		 policy_nrules(const struct policy *p);

/* May sender publish env?  env has passed envelope_validate(). */
enum policy_verdict policy_check_publish(const struct policy *p,
		    const struct principal *sender,
		    const Nwd__V1__Envelope *env, struct policy_decision *out);

/* May recipient receive env, and without which fields? */
enum policy_verdict policy_check_deliver(const struct policy *p,
		    const struct principal *recipient,
		    const Nwd__V1__Envelope *env, struct policy_decision *out);

/* "allow", "deny" or "deny (no rule)". */
const char	*policy_verdict_name(enum policy_verdict v);

#endif
