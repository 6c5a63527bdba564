/*
 * server: the state one nwdd process shares between its modules.  Owned by
 * main.c; the other modules borrow it.  Reload builds a new config, TLS
 * context, principal map and policy, then swaps the pointers here.
 */
#ifndef NWD_SERVER_H
#define NWD_SERVER_H

#include <stdint.h>
#include <sys/queue.h>

#include "nwd.pb-c.h"

struct event_base;
struct event;
struct config;
struct tls_ctx;
struct identity_map;
struct policy;
struct alloc_table;
struct sealer;
struct chain_signer;
struct anchor;
struct durable_registry;
struct retention;
struct store;
struct broker;
struct listener;
struct session;
struct console;
struct cluster;

TAILQ_HEAD(session_list, session);

/*
 * What a session does with a decoded request once it is ACTIVE: hands it
 * up to whoever main.c named (the broker).  The frame stays the caller's;
 * the handler may steal parts of it (leaving NULL).
 */
typedef void	server_request_fn(struct session *s, Nwd__V1__Frame *f,
		    void *arg);

/*
 * A session of principal gained or lost subscriptions, or ended: what
 * main.c named (the cluster, which announces principal's live
 * subscriptions on this instance to the others) hears it.
 */
typedef void	server_subs_fn(const char *principal, void *arg);

struct server {
	struct event_base	*base;		/* owned */
	struct config		*cfg;		/* owned */
	struct tls_ctx		*tls;		/* owned */
	struct identity_map	*ids;		/* owned */
	struct policy		*policy;	/* owned */
	struct alloc_table	*allocs;	/* owned; who is allocated */
	struct durable_registry	*durables;	/* owned; durable subs */
	struct sealer		*sealer;	/* owned; body keys */
	struct chain_signer	*signer;	/* owned; checkpoint key */
	struct anchor		*anchor;	/* owned; the chain's state
						   and anchors files */
	struct retention	*retention;	/* owned; purge timer */
	struct calendar		*calendar;	/* owned; NULL: none */
	struct deadlines	*deadlines;	/* owned; statutory clocks */
	struct consents		*consents;	/* owned; consent records */
	struct corrections	*corrections;	/* owned; withdrawals */
	struct breakglass	*breakglass;	/* owned; emergency access */
	struct store		*store;		/* owned */
	struct broker		*broker;	/* owned */
	server_request_fn	*on_request;	/* a session's requests */
	void			*on_request_arg;
	server_subs_fn		*on_subs;	/* NULL: nobody hears */
	void			*on_subs_arg;
	struct cluster		*cluster;	/* owned; the other instances */
	size_t			 peers;		/* how many of them are live
						   (cluster.c sets it) */
	struct listener		*listener;	/* owned */
	struct console		*console;	/* owned; NULL: no console */
	struct session_list	 sessions;	/* live sessions, owned */
	struct session_list	 zombies;	/* closed, awaiting reap */
	struct event		*reaper;	/* owned; frees zombies */
	struct sessidx		*index;		/* owned; sessions by id, principal */
	uint32_t		 nsessions;
	uint64_t		 next_session_id;
	int			 draining;
};

#endif
