/*
 * replay: what a durable subscriber missed, sent when it subscribes.  The
 * pending deliveries of its subscription are read from the store, oldest
 * first, a page at a time; each message is decided again by the decision
 * engine against the policy, mapping and allocations in force now; the
 * decisions are audited, and only once those rows have committed is
 * anything sent, as fast as the subscriber reads.
 */
#ifndef NWD_REPLAY_H
#define NWD_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "nwd.pb-c.h"

struct server;
struct session;
struct store_result;

/*
 * A page: at most REPLAY_PAGE_ROWS deliveries and about REPLAY_PAGE_BYTES
 * of their sealed bodies (the first row always comes).  All replays hold
 * at most the budget's bytes of pages at once (and one body more each);
 * a replay waits for REPLAY_PAGE_MIN of it to be free.
 */
#define REPLAY_PAGE_ROWS	1000
#define REPLAY_PAGE_BYTES	(1024 * 1024)
#define REPLAY_PAGE_MIN		(64 * 1024)

/* Sets the budget (replay_max_bytes); once, before any replay starts. */
void		 replay_set_budget(size_t bytes);

/*
 * Replays the pending deliveries of (s's principal, name) on subscription
 * sub_id of s, oldest first, in pages paced by the session's output (see
 * replay.c); a session's durable subscriptions replay one after another.
 * Until its replay is over the subscription receives nothing live: what
 * is published meanwhile comes with the replay, in order.  Runs
 * asynchronously; if the session goes away meanwhile, what was not sent
 * stays pending.
 */
void		 replay_start(struct server *srv, struct session *s,
		    uint64_t sub_id, const char *name);

/*
 * Opens and decodes the stored message of row of res (columns 0-11 as
 * store_query_pending()).  Returns it (free it with
 * frame_free_envelope()), or NULL with the reason it cannot be delivered
 * in why.  Also used by the cluster, for a message another instance
 * committed.
 */
Nwd__V1__Envelope *replay_open_stored(struct server *srv,
		    const struct store_result *res, size_t row, char *why,
		    size_t whylen);

/*
 * Stops replaying subscription sub_id of s (it was unsubscribed or
 * deleted): what was not sent stays pending.
 */
void		 replay_forget(struct session *s, uint64_t sub_id);

#endif
