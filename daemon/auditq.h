/*
 * auditq: answers an auditor's AuditQuery frame from the audit trail (and,
 * for a subject-access request, the messages about the subject, opened for
 * the auditor).  Only the auditor role may ask; every query is itself an
 * audit row, committed before the answer is sent.
 */
#ifndef NWD_AUDITQ_H
#define NWD_AUDITQ_H

#include <stdint.h>

#include "nwd.pb-c.h"

struct server;
struct session;

/* Answers one AuditQuery from an ACTIVE session; q stays the caller's. */
void	auditq_handle(struct server *srv, struct session *s,
	    uint64_t request_id, const Nwd__V1__AuditQuery *q);

#endif
