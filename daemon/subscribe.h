/*
 * subscribe: a session's subscriptions and acknowledgements.  Subscribe
 * (live, or durable: recorded, then replayed), Unsubscribe, Ack (proof of
 * receipt; a durable queue lets the message go), and a principal's own
 * durable subscriptions: list them, delete one.  Every request is answered
 * with its request id, and every change is audited.
 */
#ifndef NWD_SUBSCRIBE_H
#define NWD_SUBSCRIBE_H

#include <stdint.h>

#include "nwd.pb-c.h"

struct server;
struct session;

void	subscribe_handle(struct server *srv, struct session *s,
	    uint64_t request_id, const Nwd__V1__Subscribe *sub);
void	subscribe_unsubscribe(struct server *srv, struct session *s,
	    uint64_t request_id, const Nwd__V1__Unsubscribe *u);
void	subscribe_ack(struct server *srv, struct session *s,
	    uint64_t request_id, const Nwd__V1__Ack *ack);
void	subscribe_durable_list(struct server *srv, struct session *s,
	    uint64_t request_id);
void	subscribe_durable_delete(struct server *srv, struct session *s,
	    uint64_t request_id, const Nwd__V1__DurableDelete *del);

#endif
