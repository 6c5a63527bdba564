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

/* A SarCaseRequest of an ACTIVE session; the request stays the
 * caller's. */
void	sarcase_handle(struct server *srv, struct session *s,
	    uint64_t request_id, const Nwd__V1__SarCaseRequest *q);

#endif
