/*
 * sarcase: a subject-access request as a case (issue 19), for auditors
 * only.  A case is opened with a reference, the young person it is about,
 * who asked and when it was received; it is due one calendar month after
 * receipt (Europe/London, calendar_add_months()), and may be extended once
 * with a reason.  The requester's identity is checked, then a second
 * auditor (never the one who opened it) approves the release, then the
 * report given to the requester is released: its bytes are stored sealed
 * (seal.h, with additional data of the case's own) with their SHA-256, so
 * that what was given can be shown later.
 *
 * Every step commits its audit row (rule "sar_case:REFERENCE") with the
 * change in one transaction before the answer; every refusal is an error
 * to the asker and a sar_case_refused row; a case shown (its report
 * opened) or the cases listed is a sar_case_query row, committed before
 * the answer when a report is shown.  Report bytes are never logged.
 */
#ifndef NWD_SARCASE_H
#define NWD_SARCASE_H

#include <stdint.h>

#include "nwd.pb-c.h"

struct server;
struct session;

/* Who asks, when it is not a session (the console); borrowed. */
struct sarcase_asker {
	const char	*actor;		/* the principal's id */
	const char	*role;
	const char	*origin;	/* names the rows' session: "console" */
	const char	*peer;		/* its address; may be NULL */
};

/*
 * The answer to a request: the case(s) and, for show, the released
 * report (res, the callee's, valid during the call), or an error (res
 * NULL; code and the words, "sar-case approve refused: ...").  Called
 * exactly once per sarcase_run(), after the step's rows have committed.
 */
typedef void	sarcase_answer_fn(const Nwd__V1__SarCaseResult *res,
		    Nwd__V1__ErrorCode code, const char *error, void *arg);
/* 1 if the asker has gone, so a step not yet taken is dropped. */
typedef int	sarcase_gone_fn(void *arg);

/*
 * The same request for who, through the same checks, steps and rows as a
 * session's; the answer goes to cb (gone may be NULL).  q stays the
 * caller's.
 */
void	sarcase_run(struct server *srv, const struct sarcase_asker *who,
	    const Nwd__V1__SarCaseRequest *q, sarcase_answer_fn *cb,
	    sarcase_gone_fn *gone, void *arg);

/* A SarCaseRequest of an ACTIVE session; the request stays the
 * caller's. */
void	sarcase_handle(struct server *srv, struct session *s,
	    uint64_t request_id, const Nwd__V1__SarCaseRequest *q);

#endif
