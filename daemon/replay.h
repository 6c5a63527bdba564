/*
 * replay: what a durable subscriber missed, sent when it subscribes.  The
 * pending deliveries of its subscription are read from the store, oldest
 * first; each message is decided again by the decision engine against the
 * policy, mapping and allocations in force now; the decisions are audited,
 * and only once those rows have committed is anything sent.
 */
#ifndef NWD_REPLAY_H
#define NWD_REPLAY_H

#include <stdint.h>

struct server;
struct session;

#define REPLAY_MAX	10000	/* messages replayed per subscribe */

/*
 * Replays the pending deliveries of (s's principal, name) on subscription
 * sub_id of s, oldest first.  Runs asynchronously; if the session goes
 * away meanwhile, what was not sent stays pending.
 */
void		 replay_start(struct server *srv, struct session *s,
		    uint64_t sub_id, const char *name);

#endif
