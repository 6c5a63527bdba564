/*
 * deliver: fan-out.  Sends a message that has been decided and whose
 * audit rows have committed to the live sessions that want it: the
 * sessions of its recipient with a matching subscription.  Used by the
 * publish (every recipient) and by replay (one durable subscription).
 * The envelope travels as the bytes the decision packed; a Deliver frame
 * is written around them, never decoded again per session.
 */
#ifndef NWD_DELIVER_H
#define NWD_DELIVER_H

#include <stddef.h>
#include <stdint.h>

struct durable_registry;
struct session;
struct sessidx;

/* One decided message for one recipient; everything is borrowed. */
struct deliver_msg {
	const char	*message_id;
	int		 kind;		/* Nwd__V1__Kind */
	const char	*subject;
	const uint8_t	*bytes;		/* the packed, redacted envelope */
	size_t		 len;
	const char	*withheld;	/* comma-separated paths, or "" */
	const char	*rule;
	const char	*policy_version;
};

/*
 * Sends m on subscription sub_id of s, recorded for its ack (durable
 * names the durable subscription, NULL if live).  Returns 0, or -1 if it
 * could not be sent (the frame is too large, or s was cut off as a slow
 * consumer).
 */
int		 deliver_send(struct session *s, uint64_t sub_id,
		    const struct deliver_msg *m, const char *durable);

/*
 * Sends m to every ACTIVE session of principal whose subscriptions want
 * its kind and subject (a durable subscription preferred).  A send may
 * close a slow session; the others still get theirs.  Returns how many
 * sessions it was sent to.
 */
size_t		 deliver_fanout(const struct sessidx *idx,
		    const char *principal, const struct deliver_msg *m);

/*
 * The same, for a message another instance committed: a session whose
 * matching subscription is durable and that has sent it already (among
 * its last SESSION_MAX_UNACKED deliveries: the replay of its durable queue
 * may have brought it first, reading the queue before this instance heard
 * of the message) is not sent it again.  Live subscriptions have no other
 * way to have it, and are not looked up.
 */
size_t		 deliver_fanout_once(const struct sessidx *idx,
		    const char *principal, const struct deliver_msg *m);

/*
 * 1 if deliver_fanout() would reach at least one session of principal
 * with a message of kind about subject now, else 0.  Changes nothing.
 */
int		 deliver_would_reach(const struct sessidx *idx,
		    const char *principal, int kind, const char *subject);

/*
 * How a principal the policy allows would be reached now, as
 * decide_reach_fn answers (DECIDE_ROUTE_* bits): a live session that
 * takes the message, a durable subscription that holds it; the duty pass
 * always queues, in the duty desk's own queue.
 */
int		 deliver_route(const struct sessidx *idx,
		    const struct durable_registry *durables,
		    const char *principal, int kind, const char *subject,
		    int duty_pass);

#endif
