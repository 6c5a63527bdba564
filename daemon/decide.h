/*
 * decide: "would this principal receive this message, which fields,
 * because of which rule".  Replays what the broker does with a publish:
 * validation, the sender's clearance, the publish rule, the deliver
 * decision for every principal, the duty pass when no one may receive it,
 * redaction, without storing or delivering anything.  Pure (no I/O, no
 * clock, no logging): the daemon answers auditors with it and the nwd tool
 * links it for the offline "nwd policy explain", so the two cannot drift
 * apart.
 */
#ifndef NWD_DECIDE_H
#define NWD_DECIDE_H

#include <stddef.h>
#include <stdint.h>

#include "nwd.pb-c.h"

struct policy;
struct identity_map;
struct alloc_table;

/* The most principals an Explain may name in "to". */
#define EXPLAIN_MAX_TO		256

/* What a decision is made against; everything is borrowed. */
struct explain_world {
	const struct policy		*policy;
	const struct identity_map	*ids;
	const struct alloc_table	*allocs;	/* NULL: nobody */
	int64_t				 now_ms;	/* the publish's time */
	uint32_t			 max_frame;	/* 0: no size limit */
};

enum explain_status {
	EXPLAIN_OK,
	EXPLAIN_NOT_FOUND,	/* the sender or a "to" principal is unknown */
	EXPLAIN_NOMEM,
};

/*
 * Explains how the broker would decide env if the principal with id sender
 * published it at w->now_ms.  env stays the caller's and is not modified;
 * it need not be valid (an invalid one is explained as a refused publish).
 * to (nto ids, may be 0) restricts which deliver decisions are reported;
 * the recipient count and the duty pass are always those of the whole
 * principal map.  Returns a new result that the caller frees with
 * explain_result_free(), or NULL with *status (if not NULL) set and one
 * sentence in err.
 */
Nwd__V1__ExplainResult *explain_run(const struct explain_world *w,
		    const char *sender, const Nwd__V1__Envelope *env,
		    char *const *to, size_t nto, enum explain_status *status,
		    char *err, size_t errlen);

/* NULL is a no-op. */
void		 explain_result_free(Nwd__V1__ExplainResult *r);

/* "allowed", "delivered", "refused", "not a candidate". */
const char	*explain_verdict_text(Nwd__V1__ExplainVerdict v, int publish);

#endif
