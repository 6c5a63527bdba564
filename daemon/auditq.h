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

/* Who asks a query that is not a session's (the console); borrowed. */
struct auditq_asker {
	const char	*actor;		/* the principal's id */
	const char	*role;
	const char	*origin;	/* names the rows' session: "console" */
	const char	*peer;		/* its address */
};

/*
 * One page of a subject-access answer, or why there is none (page NULL,
 * error in words).  Called once per auditq_subject_page() that returned
 * 0, after the page's rows (its audit_query row and one per body opened)
 * have committed.  page is the callee's, valid during the call.
 */
typedef void	auditq_page_fn(const Nwd__V1__AuditPage *page,
		    const char *error, void *arg);

/*
 * Reads the page of subject's subject-access answer after token (NULL or
 * "" for the first), exactly as an AuditQuery with subject_access would be
 * answered (the same pages, the same audit rows), for who, who must be an
 * auditor; the answer goes to cb.  Returns 0, or -1 with the reason in err
 * and no call of cb.
 */
int	auditq_subject_page(struct server *srv, const struct auditq_asker *who,
	    const char *subject, const char *token, auditq_page_fn *cb,
	    void *arg, char *err, size_t errlen);

#endif
