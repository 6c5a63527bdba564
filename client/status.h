/*
 * status: "nwd status MESSAGE_ID", a publisher's view of what became of a
 * message it published: who it was shared with and when, which fields
 * were withheld from whom, who acknowledged receipt, who was refused it
 * and why.  The broker answers only about the caller's own messages
 * (AuditQuery.delivery_status in nwd.proto) and audits every question.
 */
#ifndef NWD_CLIENT_STATUS_H
#define NWD_CLIENT_STATUS_H

#include <stddef.h>

#include "nwd.h"

/* For nwd's command table and "nwd help status". */
extern const char status_synopsis[];
extern const char status_help[];

/*
 * Asks c for the delivery status of message_id, following every page, and
 * prints it on stdout: a table, or with json one JSON object per recipient
 * per line.  message_id stays the caller's and should be a UUID (the broker
 * refuses anything else).  Returns NWD_OK, or the failure with its cause
 * in err; a failure to write stdout is NWD_ERR_INTERNAL.
 */
enum nwd_status	status_show(struct nwd_client *c, const char *message_id,
		    int json, char *err, size_t errlen);

#endif
