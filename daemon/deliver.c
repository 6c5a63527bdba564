#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "decide.h"
#include "deliver.h"
#include "durable.h"
#include "frame.h"
#include "log.h"
#include "metrics.h"
#include "server.h"
#include "sessidx.h"
#include "session.h"

/* Sessions of one principal handled without allocating. */
#define DELIVER_FANOUT_STACK	16

int
deliver_send(struct session *s, uint64_t sub_id, const struct deliver_msg *m,
    const char *durable)
{
	struct frame_deliver	 d;
	uint8_t			*frame;
	size_t			 len;
	int			 rc;

	d.subscription_id = sub_id;
	d.delivery_id = session_delivery_add(s, m->message_id, durable);
	d.envelope = m->bytes;
	d.envelope_len = m->len;
	d.withheld = m->withheld;
	d.rule = m->rule;
	d.policy_version = m->policy_version;
	if ((frame = frame_encode_deliver(&d, s->srv->cfg->max_frame,
	    &len)) == NULL) {
		session_log(warnx, s, "message=%s event=deliver_failed "
		    "reason=\"frame exceeds max_frame or out of memory\"",
		    m->message_id);
		return -1;
	}
	if ((rc = session_send_bytes(s, frame, len)) == 0) {
		session_delivery_sent(s, d.delivery_id);
		metrics_delivery();
		session_log(debug, s, "event=deliver message=%s delivery=%llu%s%s",
		    m->message_id, (unsigned long long)d.delivery_id,
		    durable != NULL ? " durable=" : "",
		    durable != NULL ? durable : "");
	}
	/* The recipient's copy of the intelligence: wiped, then freed. */
	explicit_bzero(frame, len);
	free(frame);
	return rc;
}

static size_t	fanout(const struct sessidx *, const char *,
		    const struct deliver_msg *, int);

size_t
deliver_fanout(const struct sessidx *idx, const char *principal,
    const struct deliver_msg *m)
{
	return fanout(idx, principal, m, 0);
}

size_t
deliver_fanout_once(const struct sessidx *idx, const char *principal,
    const struct deliver_msg *m)
{
	return fanout(idx, principal, m, 1);
}

static size_t
fanout(const struct sessidx *idx, const char *principal,
    const struct deliver_msg *m, int once)
{
	struct session	*s;
	void		*stack[DELIVER_FANOUT_STACK], **ss;
	const char	*durable;
	size_t		 k, n, sent = 0;
	uint64_t	 sub;

	/* A snapshot: a delivery may close a slow session. */
	if ((ss = sessidx_all(idx, principal, stack, DELIVER_FANOUT_STACK,
	    &n)) == NULL) {
		log_warnx("event=deliver_skipped message=%s principal=%s "
		    "reason=\"out of memory\"", m->message_id, principal);
		return 0;
	}
	for (k = 0; k < n; k++) {
		/*
		 * An earlier delivery may have closed it: a closed session
		 * stays allocated until the reaper runs, on a later turn of
		 * the loop.
		 */
		s = ss[k];
		if (s->state != SESSION_ACTIVE)
			continue;
		if ((sub = subs_match(&s->subs, m->kind, m->subject,
		    &durable)) == 0)
			continue;
		/* Only a durable subscription's replay can have sent it
		 * first: the scan of the session's recent sends is not paid
		 * for the others. */
		if (once && durable != NULL &&
		    session_delivery_sent_before(s, m->message_id))
			continue;
		if (deliver_send(s, sub, m, durable) == 0)
			sent++;
	}
	sessidx_done(ss, stack);
	return sent;
}

int
deliver_would_reach(const struct sessidx *idx, const char *principal,
    int kind, const char *subject)
{
	void		*stack[DELIVER_FANOUT_STACK], **ss;
	struct session	*s;
	size_t		 k, n;
	int		 found = 0;

	/* Out of memory: say yes, and let fan-out find out. */
	if ((ss = sessidx_all(idx, principal, stack, DELIVER_FANOUT_STACK,
	    &n)) == NULL)
		return 1;
	for (k = 0; k < n && !found; k++) {
		s = ss[k];
		found = s->state == SESSION_ACTIVE &&
		    subs_would_match(&s->subs, kind, subject);
	}
	sessidx_done(ss, stack);
	return found;
}

int
deliver_route(const struct sessidx *idx, const struct durable_registry *dur,
    const char *principal, int kind, const char *subject, int duty_pass)
{
	const char	*names[1];
	int		 route = 0;

	if (deliver_would_reach(idx, principal, kind, subject))
		route |= DECIDE_ROUTE_LIVE;
	if (duty_pass || durable_registry_match(dur, principal, kind, subject,
	    names, 1) > 0)
		route |= DECIDE_ROUTE_QUEUED;
	return route;
}
