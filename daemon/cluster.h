/*
 * cluster: several nwdd instances on one PostgreSQL, deciding the same
 * way and delivering to each other's sessions (DESIGN.md "Scale beyond
 * one machine").  Over the store's second connection (store_listen.h)
 * every instance LISTENs on nwd_cluster and
 *
 *  - mirrors what the others change that decisions read.  A transaction
 *    that writes an allocation, a durable subscription, a consent record,
 *    a grant or a session's live subscriptions numbers the change from the
 *    change sequence and NOTIFYs its number (store_batch_add_change());
 *    an instance that hears another's change reads the allocations and
 *    subscriptions again (store_reload(), with the checks of a connect),
 *    and the consent records, grants and deadlines.  A deadline is
 *    announced without a number (decisions do not read it) and the others
 *    read the deadlines again within a second, to run its timer too.
 *    Read-your-writes: while another instance is live, a publish is
 *    decided only once this instance has applied every change committed
 *    before the publish arrived (cluster_sync(): one query of the change
 *    sequence, shared by the publishes that arrive while it is in
 *    flight; a reload if it shows another's change);
 *  - keeps a heartbeat with its policy version in nwd.cluster_members and
 *    reads the others'; an instance whose policy differs from a live
 *    peer's for longer than CLUSTER_POLICY_GRACE_MS refuses publishes
 *    (cluster_policy_ok()) until they agree, and says so
 *    (event=cluster_policy_mismatch, /healthz);
 *  - announces its sessions' live subscriptions (principal, kinds,
 *    subjects: nwd.cluster_live) and mirrors the others', so that a
 *    publish records a recipient whose session is on another instance as
 *    reached live (cluster_reach());
 *  - delivers the others' messages: a publish committed on another
 *    instance is announced with its id; this instance reads the message
 *    and its decided recipients, decides each recipient that has a
 *    session here again (decide_recipient(), as replay does) and sends
 *    the Deliver (deliver_fanout()); a recipient the decision here
 *    refuses gets a deliver_lost row in this instance's chain.
 *
 * Nothing in a notification is a body or intelligence: ids and numbers.
 */
#ifndef NWD_CLUSTER_H
#define NWD_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

struct server;
struct cluster;

/* How often the heartbeat is written, and how old a live one may be. */
#define CLUSTER_HEARTBEAT_MS		1000
#define CLUSTER_LIVE_MS			5000
/* How long a policy may differ from a live peer's: a reload's time. */
#define CLUSTER_POLICY_GRACE_MS		10000

/*
 * The cluster of srv (borrowed; its store, sessions, policy and
 * registries).  Nothing connects before cluster_start().  NULL if out of
 * memory.
 */
struct cluster	*cluster_new(struct server *srv);
int		 cluster_start(struct cluster *c);
/*
 * Closes the connection (the publishes waiting are refused) and does no
 * more; before the store is freed, whose last callbacks may still reach
 * the cluster, which cluster_free() then frees.
 */
void		 cluster_stop(struct cluster *c);
void		 cluster_free(struct cluster *c);

/*
 * Read-your-writes.  Returns 1 if a publish may be decided now (no other
 * instance is live, or this one has applied every change the database
 * holds as far as it can know without asking), 0 if fn(ok, arg) will be
 * called from the loop once it has (ok 0: it could not find out, the
 * publish is refused), or -1 if it cannot find out now (its connection
 * is down while another instance is live) or memory ran out.  Waiters
 * are answered in the order they came.
 */
typedef void	cluster_ready_fn(int ok, void *arg);
int		 cluster_sync(struct cluster *c, cluster_ready_fn *fn,
		    void *arg);
/* 1 if cluster_sync() would not answer at once (another instance is
 * live, or publishes are waiting), else 0: the hot path's one test. */
int		 cluster_must_wait(const struct cluster *c);

/*
 * 1 if publishes may be served under this policy, 0 if a live peer's
 * policy has differed from this one's for longer than the grace (why
 * says which, for the publisher and /healthz).
 */
int		 cluster_policy_ok(const struct cluster *c, char *why,
		    size_t whylen);
/* The policy was reloaded: announce its version now. */
void		 cluster_policy_changed(struct cluster *c);

/* Live peers (other instances whose heartbeat is young). */
size_t		 cluster_peers(const struct cluster *c);
/* Every change up to this number is applied here (what a decision made
 * now sees; the others' live subscriptions among it). */
int64_t		 cluster_applied(const struct cluster *c);
/* 1 while a live peer's policy differs from this one's, else 0. */
int		 cluster_policy_differs(const struct cluster *c);

/*
 * 1 if a live peer announced a live subscription of principal that wants
 * a message of kind about subject, else 0.
 */
int		 cluster_reach(const struct cluster *c, const char *principal,
		    int kind, const char *subject);

/*
 * Announces principal's live subscriptions on this instance now (a
 * session of it subscribed): returns 1 if there is no need (no other
 * instance is live, or the connection is down), else 0 and fn(ok, arg)
 * is called once the announcement has committed, so that a publish on
 * another instance after the SubscribeAck routes to the session here.
 * -1 if out of memory.
 */
int		 cluster_announce(struct cluster *c, const char *principal,
		    cluster_ready_fn *fn, void *arg);

/* A server_subs_fn (server.h): arg is the cluster. */
void		 cluster_subs_changed(const char *principal, void *arg);

#endif
