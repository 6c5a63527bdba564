/*
 * overdue: a DeadlineQuery, answered from nwd.deadlines with what the
 * asking principal may see (an auditor and the duty desk everything,
 * anyone else the young people it or a team of its is allocated to), and
 * audited as an audit_query row.
 */
#ifndef NWD_OVERDUE_H
#define NWD_OVERDUE_H

#include <stdint.h>

#include "nwd.pb-c.h"

struct server;
struct session;

void	overdue_handle(struct server *srv, struct session *s,
	    uint64_t request_id, const Nwd__V1__DeadlineQuery *q);

#endif
