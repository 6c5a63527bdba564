/*
 * corrections: a publish that supersedes a message (a correction, or a
 * Retraction) is decided against what the store holds about that message:
 * corrections_lookup() reads it (its sender, agency, subject, kind, the
 * root of its chain, whether the chain was retracted, and everyone it and
 * its earlier corrections reached) for the decision engine
 * (decide_superseded).  The correction's row of nwd.corrections goes into
 * its own transaction; once it commits, the principals the policy no
 * longer lets receive it are told by a WithdrawalNotice from "nwd", whose
 * transaction marks the correction told.  A notice not yet sent (nwdd
 * stopped in between) is sent whenever the store becomes ready, so each
 * is sent once.
 *
 * Below the broker: it publishes through main's sender (sysmsg.h).
 */
#ifndef NWD_CORRECTIONS_H
#define NWD_CORRECTIONS_H

#include "nwd.pb-c.h"
#include "sysmsg.h"

struct corrections;
struct decide_plan;
struct decide_superseded;
struct server;
struct store_batch;

struct corrections *corrections_new(struct server *srv);
void		 corrections_free(struct corrections *c);
void		 corrections_set_sender(struct corrections *c,
		    sysmsg_send_fn *send, void *arg);

/*
 * Called with what the store holds about the superseded message, root the
 * first message of its chain; sup NULL if the store could not answer.
 * Everything is borrowed for the call.
 */
typedef void	 corrections_found_fn(const struct decide_superseded *sup,
		    const char *root, void *arg);
/* Reads message_id for a correction: 0, or -1 (fn is not called). */
int		 corrections_lookup(struct corrections *c,
		    const char *message_id, corrections_found_fn *fn,
		    void *arg);

/* The row of a correction or retraction (plan->withdraws) that
 * message_id is, into its batch.  0, or -1. */
int		 corrections_publish(struct corrections *c,
		    const Nwd__V1__Envelope *env, const char *message_id,
		    const char *root, const struct decide_plan *plan,
		    struct store_batch *batch);

/* The correction message_id of supersedes committed: those in names are
 * told (nothing if n is 0). */
void		 corrections_tell(struct corrections *c,
		    const char *message_id, const char *supersedes,
		    int retracted, const char *subject, char *const *names,
		    size_t n);

/* The store is ready: notices not yet sent are sent. */
void		 corrections_load(struct corrections *c);

#endif
