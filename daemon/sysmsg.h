/*
 * sysmsg: how a module below the broker has the broker publish a message
 * of its own (an Escalation, a notice that consent was withdrawn): main
 * gives it broker_publish_system() as a sysmsg_send_fn.  The message is
 * decided by the deliver rules like any other, sent by the principal
 * "nwd"; add() puts further rows in its batch (the same transaction);
 * done(committed, arg) hears the outcome.
 */
#ifndef NWD_SYSMSG_H
#define NWD_SYSMSG_H

#include "nwd.pb-c.h"

struct store_batch;

typedef int	sysmsg_add_fn(struct store_batch *batch,
		    const char *message_id, void *arg);
typedef void	sysmsg_done_fn(int committed, void *arg);
/* Returns 0, or -1 (nothing will be called). */
typedef int	sysmsg_send_fn(Nwd__V1__Envelope *env, sysmsg_add_fn *add,
		    sysmsg_done_fn *done, void *arg, void *sender_arg);

#endif
