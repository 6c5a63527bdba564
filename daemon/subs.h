/*
 * subs: one session's subscriptions, and which of them wants a message.
 * A subscription names the kinds it wants (a bit per Nwd__V1__Kind) and
 * the subjects (none: every subject), and may be a durable subscription.
 * Pure data structure: no I/O.
 */
#ifndef NWD_SUBS_H
#define NWD_SUBS_H

#include <stddef.h>
#include <stdint.h>

struct subs_entry;

/* A session's subscriptions; zeroed is empty. */
struct subs {
	struct subs_entry	*head;		/* owned list */
	uint32_t		 n;
	uint64_t		 next_id;
};

/*
 * Adds a subscription; takes ownership of subjects (an array of nsubjects
 * strings) and copies durable (NULL for a live-only subscription).
 * Returns its id (never 0), or 0 if memory ran out (subjects are then
 * freed).
 */
uint64_t	 subs_add(struct subs *l, uint32_t kinds_mask, char **subjects,
		    size_t nsubjects, const char *durable);
/* Removes subscription id; -1 if there is none. */
int		 subs_remove(struct subs *l, uint64_t id);
/*
 * The id of a subscription that wants a message of kind about subject, or
 * 0.  A durable one is preferred when several match; *durable is set to
 * its name (owned by l) or NULL.  While a matching durable subscription is
 * replaying, the message is not for this session now (0): the replay will
 * bring it, in order; the subscription notes that one was held back.
 */
uint64_t	 subs_match(struct subs *l, int kind, const char *subject,
		    const char **durable);
/* 1 if subs_match() would return a subscription now (without its side
 * effect), else 0. */
int		 subs_would_match(const struct subs *l, int kind,
		    const char *subject);
/* Marks durable subscription id as replaying (on 1) or live (on 0). */
void		 subs_set_replaying(struct subs *l, uint64_t id, int on);
/* 1 if a message was held back from subscription id since the last call
 * (which clears the note), else 0. */
int		 subs_take_held(struct subs *l, uint64_t id);
/* The id of durable subscription name in l, or 0. */
uint64_t	 subs_durable_id(const struct subs *l, const char *name);
/* Returns 1 if l holds durable subscription name. */
int		 subs_has_durable(const struct subs *l, const char *name);
/*
 * Calls fn for each subscription of l, oldest last: its kinds, subjects
 * (borrowed; nsubjects 0 for every subject) and durable name (NULL for a
 * live one).
 */
typedef void	subs_each_fn(uint32_t kinds, char *const *subjects,
		    size_t nsubjects, const char *durable, void *arg);
void		 subs_each(const struct subs *l, subs_each_fn *fn, void *arg);
/* Frees every subscription; l is empty afterwards. */
void		 subs_clear(struct subs *l);

#endif
