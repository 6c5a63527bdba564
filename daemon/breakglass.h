/*
 * breakglass: emergency access, reviewed (issue 18).  The pure table of
 * live grants is grant.h; the decisions under a grant are decide.h's.
 * This module is the I/O around them:
 *
 *  - a claim (BreakGlass CLAIM) is judged against the policy's breakglass
 *    rules (the claimant's role, a reason, a duration within the rule's
 *    most, kinds the rule covers); granted, its row (nwd.grants), its
 *    breakglass_granted audit row and a BreakGlassAlert to the auditors
 *    (made by "nwd", decided by the deliver rules) commit in one
 *    transaction, and only then does the grant join the table the
 *    decisions read; refused, the claimant is told why and a
 *    breakglass_refused row says so;
 *  - END: the grantee ends its grant, an auditor revokes it: at once for
 *    every session (the table changes before the rows commit: failing
 *    closed), with a breakglass_ended row and an alert;
 *  - HISTORY: the young person's stored messages of the grant's kinds,
 *    each decided under the grant, audited (deliver rows that name it) and
 *    sent in one BreakGlassResult;
 *  - the review queue (Review: LIST, SHOW, CLOSE), auditors only, each
 *    request audited (review_query, review_closed, review_refused).
 *
 * The grants are read again whenever the store becomes ready.  Below the
 * broker: it publishes through main's sender (sysmsg.h).
 */
#ifndef NWD_BREAKGLASS_H
#define NWD_BREAKGLASS_H

#include <stdint.h>

#include "nwd.pb-c.h"
#include "sysmsg.h"

struct breakglass;
struct grant_table;
struct server;
struct session;

struct breakglass *breakglass_new(struct server *srv);
/* NULL is a no-op. */
void		 breakglass_free(struct breakglass *b);
void		 breakglass_set_sender(struct breakglass *b,
		    sysmsg_send_fn *send, void *arg);

/* The table the decisions read (NULL for b NULL). */
const struct grant_table *breakglass_grants(const struct breakglass *b);

/* The store is ready: the live grants are read again. */
void		 breakglass_load(struct breakglass *b);

/* A BreakGlass request of an ACTIVE session; the request stays the
 * caller's. */
void		 breakglass_handle(struct server *srv, struct session *s,
		    uint64_t request_id, const Nwd__V1__BreakGlass *q);
/* A Review request of an ACTIVE session. */
void		 breakglass_review(struct server *srv, struct session *s,
		    uint64_t request_id, const Nwd__V1__Review *q);

#endif
