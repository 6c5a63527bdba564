/*
 * cmd_audit: what "nwd audit query" shares with "nwd sar": one audit row
 * as a JSON object.
 */
#ifndef NWD_CLIENT_CMD_AUDIT_H
#define NWD_CLIENT_CMD_AUDIT_H

#include <json.h>

#include "nwd.pb-c.h"

/* e as the JSON object of "nwd audit query --format json": a new object
 * for the caller to put. */
json_object	*cmd_audit_event_json(const Nwd__V1__AuditEvent *e);

#endif
