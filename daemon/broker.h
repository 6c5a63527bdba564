/*
 * broker: what happens to a decoded request from an active session.
 * Publish, as a coordinator: the decision engine (decide.h) judges the
 * publish and decides for every principal; the broker turns the plan into
 * the message, decision and delivery rows of one store batch (trail.h), and
 * only when that batch has committed hands the recipients' bytes to
 * fan-out (deliver.h) and acknowledges the publisher.  Also subscriptions
 * (a durable one replays what it missed: replay.h) and acks; explain and
 * audit queries are passed to their modules.
 */
#ifndef NWD_BROKER_H
#define NWD_BROKER_H

#include "sysmsg.h"
#include "nwd.pb-c.h"

struct server;
struct session;
struct broker;

struct broker	*broker_new(struct server *srv);
void		 broker_free(struct broker *b);

/*
 * Handles one frame from an ACTIVE session s; arg is the broker (the
 * server_request_fn that main.c gives the sessions).  The frame stays the
 * caller's; the broker takes what it needs (it may steal the envelope,
 * leaving NULL).
 */
void		 broker_handle(struct session *s, Nwd__V1__Frame *f,
		    void *arg);

/*
 * Publishes env, the broker's own message (an Escalation), as the
 * principal "nwd": the deliver rules decide who receives it; add() puts
 * further rows in its batch; done(committed, arg) hears the outcome.
 * broker_arg is the broker (a sysmsg_send_fn, sysmsg.h).  Returns 0, or -1.
 */
int		 broker_publish_system(Nwd__V1__Envelope *env,
		    sysmsg_add_fn *add, sysmsg_done_fn *done, void *arg,
		    void *broker_arg);

#endif
