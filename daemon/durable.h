/*
 * durable: the registry of durable subscriptions, (principal, name) ->
 * (kinds, subjects), rebuilt from the store at every connect and updated
 * when a subscriber opens, changes or deletes one; and which durable
 * subscriptions a message is queued for.  Indexed by principal, so that
 * matching a message costs what one principal's subscriptions cost, never
 * what everyone's do.  Pure data structure: no I/O.  The replay of what a
 * subscriber missed is replay.h's.
 */
#ifndef NWD_DURABLE_H
#define NWD_DURABLE_H

#include <stddef.h>
#include <stdint.h>

struct store_subscription;
struct durable_registry;

#define DURABLE_MAX_NAME	64

/*
 * The duty desk's queue: each duty principal's durable subscription of
 * this name holds what the duty pass sent it (what reached no one else),
 * whatever else it subscribes to, so that a message that reached no one
 * is never lost.  nwdd makes it exist the first time it is used.
 */
#define DURABLE_DUTY		"duty"

struct durable_registry *durable_registry_new(void);
void		 durable_registry_free(struct durable_registry *r);

/* Records a subscription (copied), replacing one of the same name. */
int		 durable_registry_put(struct durable_registry *r,
		    const struct store_subscription *sub);
/* Forgets (principal, name); 0, or -1 if there was none. */
int		 durable_registry_del(struct durable_registry *r,
		    const char *principal, const char *name);

/*
 * Fills names (borrowed from the registry, valid until it changes) with
 * principal's durable subscriptions that want a message of kind about
 * subject; returns how many (at most max).
 */
size_t		 durable_registry_match(const struct durable_registry *r,
		    const char *principal, int kind, const char *subject,
		    const char **names, size_t max);

/* How many durable subscriptions principal holds. */
size_t		 durable_registry_count(const struct durable_registry *r,
		    const char *principal);

/*
 * principal's subscription name, or NULL: its filters are set in *out
 * (subjects borrowed from the registry, valid until it changes).
 */
const struct store_subscription *durable_registry_get(
		    const struct durable_registry *r, const char *principal,
		    const char *name, struct store_subscription *out);

/*
 * 1 if filters (kinds, subjects in any order) are those of sub, else 0.
 */
int		 durable_same_filters(const struct store_subscription *sub,
		    uint32_t kinds, const char *const *subjects,
		    size_t nsubjects);

/* Returns 1 if name is acceptable as a durable subscription name. */
int		 durable_name_ok(const char *name);

#endif
