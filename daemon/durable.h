/*
 * durable: the registry of durable subscriptions, (principal, name) ->
 * (kinds, subjects), rebuilt from the store at every connect and updated
 * when a subscriber names a new one; and which durable subscriptions a
 * message is queued for.  Pure data structure: no I/O.  The replay of
 * what a subscriber missed is replay.h's.
 */
#ifndef NWD_DURABLE_H
#define NWD_DURABLE_H

#include <stddef.h>
#include <stdint.h>

struct store_subscription;
struct durable_registry;

#define DURABLE_MAX_NAME	64

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

#endif
