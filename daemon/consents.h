/*
 * consents: the daemon keeps the young people's consent records (the pure
 * table is consent.h) up to date.  A published ConsentRecord is a row of
 * nwd.consents in the publish's own transaction, and joins the table once
 * it commits; the rows are read back whenever the store becomes ready.
 * A withdrawal is told to everyone who received a consent-based share
 * about the young person before: a copy of the withdrawal, sent by "nwd"
 * and naming them (share_with), decided by the deliver rules for
 * consent_record like any message.
 *
 * Below the broker: it publishes through main's sender (sysmsg.h).
 */
#ifndef NWD_CONSENTS_H
#define NWD_CONSENTS_H

#include "nwd.pb-c.h"
#include "sysmsg.h"

struct consents;
struct consents_change;
struct server;
struct store_batch;

struct consents	*consents_new(struct server *srv);
void		 consents_free(struct consents *c);
void		 consents_set_sender(struct consents *c, sysmsg_send_fn *send,
		    void *arg);

/* The table the decisions read (consent.h). */
struct consent_table;
const struct consent_table *consents_table(const struct consents *c);

/* The store is ready: every record is read again. */
void		 consents_load(struct consents *c);

/*
 * A publish about to be submitted: a ConsentRecord's row into batch, and
 * *out (NULL for other kinds) for consents_commit().  0, or -1.
 */
int		 consents_publish(struct consents *c,
		    const Nwd__V1__Envelope *env, const char *message_id,
		    struct store_batch *batch, struct consents_change **out);

/* The batch of ch committed (or not): the record joins the table, a
 * withdrawal is told; frees ch. */
void		 consents_commit(struct consents *c,
		    struct consents_change *ch, int committed);

#endif
