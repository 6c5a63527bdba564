/*
 * explain: answers an auditor's Explain frame with the decision engine of
 * decide.h, against the daemon's live policy, principals and allocations.
 */
#ifndef NWD_EXPLAIN_H
#define NWD_EXPLAIN_H

#include <stdint.h>

#include "nwd.pb-c.h"

struct server;
struct session;

/* The role that may ask the daemon to explain. */
#define EXPLAIN_ROLE		"auditor"

/*
 * Answers an Explain frame from an ACTIVE session.  Only principals of role
 * EXPLAIN_ROLE may ask; anyone else gets ERROR_FORBIDDEN and the refusal
 * is audited.  The question is audited as an audit_query event, and the
 * ExplainResult is sent only once that row has committed; if the audit
 * store is unavailable the answer is ERROR_UNAVAILABLE.  req stays the
 * caller's.
 */
void		 explain_handle(struct server *srv, struct session *s,
		    uint64_t request_id, const Nwd__V1__Explain *req);

#endif
