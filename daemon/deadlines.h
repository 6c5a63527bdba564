/*
 * deadlines: the statutory clocks nwd keeps (issue 17).  A publish that a
 * policy deadline rule applies to sets a deadline: a row of nwd.deadlines
 * and a deadline_set audit row in the publish's own transaction.  An
 * acknowledgement, or a message that references it, meets it
 * (deadline_met, in that request's transaction).  Unmet at its due time
 * it is breached: an Escalation message goes out (deadline_breached,
 * escalated), decided by the policy's deliver rules like any message, and
 * again at the rule's interval until someone acts.  The rows are the
 * truth: the unmet deadlines are read back whenever the store becomes
 * ready, so a daemon that was down past a due time acts on it when it
 * starts, and the database lets each escalation happen once only.
 *
 * Below the broker: it asks main's sender (deadlines_set_sender()) to
 * publish an Escalation, and calls nothing above it.
 */
#ifndef NWD_DEADLINES_H
#define NWD_DEADLINES_H

#include <stdint.h>

#include "nwd.pb-c.h"
#include "sysmsg.h"

struct deadlines;
struct deadlines_change;
struct principal;
struct server;
struct store_batch;
struct trail_origin;

struct deadlines *deadlines_new(struct server *srv);
void		 deadlines_free(struct deadlines *d);
void		 deadlines_set_sender(struct deadlines *d,
		    sysmsg_send_fn *send, void *arg);

/* The store is ready: read every unmet deadline again, act on what is
 * due. */
void		 deadlines_load(struct deadlines *d);
/* The wall clock moved (a test clock): act on what is due now. */
void		 deadlines_clock_moved(struct deadlines *d);

/*
 * A publish about to be submitted: the deadlines env sets (a row and a
 * deadline_set audit row each) and those its header.references meets
 * (deadline_met), into batch.  *out (NULL if nothing changes) is given
 * to deadlines_commit() once the batch has an outcome.  Returns 0, or -1
 * (out of memory).
 */
int		 deadlines_publish(struct deadlines *d,
		    const Nwd__V1__Envelope *env, const char *message_id,
		    const char *sender, const struct trail_origin *o,
		    struct store_batch *batch,
		    struct deadlines_change **out);

/* An acknowledgement of message_id by who: the deadlines it meets. */
int		 deadlines_ack(struct deadlines *d, const char *message_id,
		    const struct principal *who, const struct trail_origin *o,
		    struct store_batch *batch,
		    struct deadlines_change **out);

/* The batch of c committed (or not): apply it (or drop it); frees c. */
void		 deadlines_commit(struct deadlines *d,
		    struct deadlines_change *c, int committed);

/* How many deadlines are unmet, and breached, now (metrics). */
void		 deadlines_counts(const struct deadlines *d, uint64_t *open,
		    uint64_t *breached);

#endif
