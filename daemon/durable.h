/*
 * durable: durable subscriptions.  The registry of (principal, name) ->
 * (kinds, subjects), rebuilt from the store at every connect and updated
 * when a subscriber names a new one; which durable subscriptions a message
 * is queued for; and the replay of what a subscriber missed: each message
 * re-checked against the policy and allocations in force at replay time,
 * its decision audited before anything is sent.
 */
#ifndef NWD_DURABLE_H
#define NWD_DURABLE_H

#include <stddef.h>
#include <stdint.h>

struct server;
struct session;
struct store_subscription;
struct durable_registry;

#define DURABLE_MAX_NAME	64
#define DURABLE_REPLAY_MAX	10000	/* messages replayed per subscribe */

struct durable_registry *durable_registry_new(void);
void		 durable_registry_free(struct durable_registry *r);

/* Records a subscription (copied), replacing one of the same name. */
int		 durable_registry_put(struct durable_registry *r,
		    const struct store_subscription *sub);

/*
 * Fills names (borrowed from the registry, valid until it changes) with
 * principal's durable subscriptions that want a message of kind about
 * subject; returns how many (at most max).
 */
size_t		 durable_registry_match(const struct durable_registry *r,
		    const char *principal, int kind, const char *subject,
		    const char **names, size_t max);

/* Returns 1 if name is acceptable as a durable subscription name. */
int		 durable_name_ok(const char *name);

/*
 * Replays the pending deliveries of (s's principal, name) on subscription
 * sub_id of s, oldest first.  Runs asynchronously; if the session goes
 * away meanwhile, what was not sent stays pending.
 */
void		 durable_replay(struct server *srv, struct session *s,
		    uint64_t sub_id, const char *name);

#endif
