#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "clock.h"

static const char *action_names[] = {
	[AUDIT_CONNECT] = "connect",
	[AUDIT_AUTH_REFUSED] = "auth_refused",
	[AUDIT_PUBLISH] = "publish",
	[AUDIT_PUBLISH_REFUSED] = "publish_refused",
	[AUDIT_DELIVER] = "deliver",
	[AUDIT_DELIVER_REFUSED] = "deliver_refused",
	[AUDIT_ACK] = "ack",
	[AUDIT_SUBSCRIBE] = "subscribe",
	[AUDIT_AUDIT_QUERY] = "audit_query",
	[AUDIT_POLICY_LOADED] = "policy_loaded",
	[AUDIT_PURGE] = "purge",
	[AUDIT_PROTOCOL_ERROR] = "protocol_error",
	[AUDIT_DISCONNECT] = "disconnect",
	[AUDIT_TLS_LOADED] = "tls_loaded",
	[AUDIT_TLS_RELOAD_REFUSED] = "tls_reload_refused",
	[AUDIT_DELIVER_LOST] = "deliver_lost",
	[AUDIT_DELIVER_WITHDRAWN] = "deliver_withdrawn",
	[AUDIT_DURABLE_DELETED] = "durable_deleted",
	[AUDIT_PRINCIPALS_LOADED] = "principals_loaded",
	[AUDIT_PRINCIPAL_CHANGED] = "principal_changed",
	[AUDIT_RELOAD_REFUSED] = "reload_refused",
	[AUDIT_RESTORE_ACCEPTED] = "restore_accepted",
	[AUDIT_DEADLINE_SET] = "deadline_set",
	[AUDIT_DEADLINE_MET] = "deadline_met",
	[AUDIT_DEADLINE_BREACHED] = "deadline_breached",
	[AUDIT_ESCALATED] = "escalated",
	[AUDIT_BREAKGLASS_GRANTED] = "breakglass_granted",
	[AUDIT_BREAKGLASS_REFUSED] = "breakglass_refused",
	[AUDIT_BREAKGLASS_ENDED] = "breakglass_ended",
	[AUDIT_REVIEW_CLOSED] = "review_closed",
	[AUDIT_REVIEW_REFUSED] = "review_refused",
	[AUDIT_REVIEW_QUERY] = "review_query",
	[AUDIT_CONSOLE_VIEW] = "console_view",
	[AUDIT_SAR_CASE_OPENED] = "sar_case_opened",
	[AUDIT_SAR_IDENTITY_CHECKED] = "sar_identity_checked",
	[AUDIT_SAR_EXTENDED] = "sar_extended",
	[AUDIT_SAR_APPROVED] = "sar_approved",
	[AUDIT_SAR_RELEASED] = "sar_released",
	[AUDIT_SAR_CASE_REFUSED] = "sar_case_refused",
	[AUDIT_SAR_CASE_QUERY] = "sar_case_query",
};

#define NACTIONS (sizeof(action_names) / sizeof(action_names[0]))

const char *
audit_action_name(enum audit_action a)
{
	if ((size_t)a >= NACTIONS)
		return "unknown";
	return action_names[a];
}

int
audit_action_from_name(const char *name, enum audit_action *out)
{
	size_t i;

	for (i = 0; i < NACTIONS; i++) {
		if (strcmp(name, action_names[i]) == 0) {
			*out = (enum audit_action)i;
			return 0;
		}
	}
	return -1;
}

struct audit_event *
audit_event_new(enum audit_action a, const char *actor)
{
	struct audit_event *ev;

	if ((ev = calloc(1, sizeof(*ev))) == NULL)
		return NULL;
	ev->action = a;
	ev->at_ms = clock_wall_ms();
	if (actor != NULL && (ev->actor = strdup(actor)) == NULL) {
		free(ev);
		return NULL;
	}
	return ev;
}

static char **
field_slot(struct audit_event *ev, enum audit_field f)
{
	switch (f) {
	case AUDIT_F_ACTOR:		return &ev->actor;
	case AUDIT_F_MESSAGE_ID:	return &ev->message_id;
	case AUDIT_F_SUBJECT:		return &ev->subject;
	case AUDIT_F_RECIPIENT:		return &ev->recipient;
	case AUDIT_F_FIELDS_SHARED:	return &ev->fields_shared;
	case AUDIT_F_FIELDS_WITHHELD:	return &ev->fields_withheld;
	case AUDIT_F_RULE:		return &ev->rule;
	case AUDIT_F_POLICY_VERSION:	return &ev->policy_version;
	case AUDIT_F_REASON:		return &ev->reason;
	case AUDIT_F_PEER:		return &ev->peer;
	case AUDIT_F_SESSION:		return &ev->session;
	case AUDIT_F_ROUTE:		return &ev->route;
	}
	return NULL;
}

int
audit_event_set(struct audit_event *ev, enum audit_field f, const char *value)
{
	char **slot = field_slot(ev, f);
	char *copy = NULL;

	if (slot == NULL)
		return -1;
	if (value != NULL && (copy = strdup(value)) == NULL)
		return -1;
	free(*slot);
	*slot = copy;
	return 0;
}

void
audit_event_free(struct audit_event *ev)
{
	if (ev == NULL)
		return;
	free(ev->actor);
	free(ev->message_id);
	free(ev->subject);
	free(ev->recipient);
	free(ev->fields_shared);
	free(ev->fields_withheld);
	free(ev->rule);
	free(ev->policy_version);
	free(ev->reason);
	free(ev->peer);
	free(ev->session);
	free(ev->route);
	free(ev);
}
