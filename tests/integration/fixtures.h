/*
 * fixtures: the messages the integration tests publish and the client
 * steps they repeat (allocate a subject, subscribe, receive, "nothing
 * more", a publishing child under load), on top of harness.h.
 *
 * Like harness_sql_int() and harness_connect_as(), the functions whose
 * comment says so fail the running cmocka test with the cause
 * (fail_msg() or a cmocka assertion) instead of returning an error; they
 * are for test bodies and setups, not for forked children.
 */
#ifndef NWD_FIXTURES_H
#define NWD_FIXTURES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nwd.h"
#include "nwd.pb-c.h"

/* ---- messages ----------------------------------------------------------- */

/* An OFFICIAL Allocation, its pieces on the caller's stack. */
struct fixture_allocation {
	Nwd__V1__Envelope	env;
	Nwd__V1__Header		h;
	Nwd__V1__SubjectRef	s;
	Nwd__V1__Allocation	a;
};

/*
 * Fills m: subject allocated to team until until_ms (Unix ms; 0 for no
 * end).  subject and team are borrowed, not copied.
 */
void		 fixture_allocation_init(struct fixture_allocation *m,
		    const char *subject, const char *team, int64_t until_ms);

/* An OFFICIAL RiskAlert of priority HIGH, level HIGH, on the caller's
 * stack. */
struct fixture_alert {
	Nwd__V1__Envelope	env;
	Nwd__V1__Header		h;
	Nwd__V1__SubjectRef	s;
	Nwd__V1__RiskAlert	r;
};

/* Fills a: about subject, of category, with summary (both borrowed). */
void		 fixture_alert_init(struct fixture_alert *a,
		    const char *subject, Nwd__V1__RiskAlert__Category category,
		    const char *summary);

/* ---- one client step each ----------------------------------------------- */

/*
 * Publishes env as who on a connection of its own (harness_connect_as()).
 * If mid is not NULL, the message id goes there (midlen bytes at most).
 * Fails the running test, naming who and the cause, if the publish is
 * refused.
 */
void		 fixture_publish_as(const char *who, Nwd__V1__Envelope *env,
		    char *mid, size_t midlen);

/*
 * Publishes the allocation of subject to team until until_ms (0: no end)
 * as case-system, as fixture_publish_as() does; fails the running test,
 * naming subject, team and the cause, if it is refused.
 */
void		 fixture_allocate(const char *subject, const char *team,
		    int64_t until_ms);

/*
 * The load's message on c: an Allocation of subject to hub:norwich if kind
 * is NWD__V1__KIND__ALLOCATION, else a MEDIUM going-missing RiskAlert with
 * summary; OFFICIAL, default priority.  Returns nwd_publish()'s status;
 * on NWD_OK the message id is in mid, else the cause is in err.  Fails no
 * test: children under load call it.
 */
enum nwd_status	 fixture_publish_kind(struct nwd_client *c,
		    Nwd__V1__Kind kind, const char *subject,
		    const char *summary, char mid[40], char *err,
		    size_t errlen);

/*
 * Connects as who and subscribes to messages of kind (about subject, or
 * any if subject is NULL), durably under the name durable if it is not
 * NULL.
 * Returns the client (the caller ends it with nwd_close()); fails the
 * running test if the subscription is refused, or if a durable one comes
 * back without its id.
 */
struct nwd_client *fixture_subscribe_as(const char *who, Nwd__V1__Kind kind,
		    const char *subject, const char *durable);

/*
 * The next delivery on c, within timeout_ms, must be mid.  Returns it
 * (unacknowledged; the caller frees it with nwd_deliver_free()); fails
 * the running test otherwise.
 */
Nwd__V1__Deliver *fixture_receive(struct nwd_client *c, const char *mid,
		    int timeout_ms);

/*
 * Nothing more is queued for c: a Ping's Pong comes back after anything
 * the broker sent before it, and nothing arrived with it.  Fails the
 * running test otherwise.
 */
void		 fixture_nothing_more(struct nwd_client *c);

/* The routes of the deliver rows of mid for recipient, blank-separated
 * ("" if none, NULL for a NULL route), into out. */
void		 fixture_route_of(const char *mid, const char *recipient,
		    char *out, size_t outlen);

/* ---- a publishing child ------------------------------------------------- */

/*
 * The load: a child process that publishes fixture_publish_kind()
 * RiskAlerts about subject with summary as plo-ana, to the daemon on
 * 127.0.0.1:port (port 0: the daemon harness_client() names), connecting
 * with a 2 s timeout and again whenever the session fails, and writes the
 * id of every acknowledged publish, one a line, to path, until path.stop
 * exists or max publishes were acknowledged.  If backoff is set, a publish
 * refused with NWD_ERR_UNAVAILABLE (the database is away) is tried again
 * 5 ms later on the same session instead of reconnecting.  Returns the
 * child's pid; fails the running test if it cannot fork.
 */
pid_t		 fixture_load_start(int port, const char *subject,
		    const char *summary, const char *path, int max,
		    int backoff);

/* ---- files of lines that children write --------------------------------- */

/* How many lines the file at path has (0 if it does not exist). */
size_t		 fixture_count_lines(const char *path);

/* Waits up to timeout_ms for the file at path to have at least n lines;
 * fails the running test otherwise. */
void		 fixture_wait_lines(const char *path, size_t n,
		    int timeout_ms);

/* The lines of path (newlines removed), *n of them; none if it does not
 * exist.  The caller frees them with fixture_free_lines(). */
char		**fixture_read_lines(const char *path, size_t *n);
void		 fixture_free_lines(char **v, size_t n);

/* Asks the child writing path to stop (creates path.stop) and reaps pid;
 * fails the running test unless it exited 0. */
void		 fixture_stop_child(pid_t pid, const char *path);

/* ---- what the database holds afterwards --------------------------------- */

/*
 * Every message id in the file at path (one a line, as the load writes
 * them) has exactly one publish row in nwd.audit_events.  Returns how many
 * ids there were; fails the running test otherwise, or if there is no
 * file at path.
 */
size_t		 fixture_check_published_once(const char *path);

/*
 * nwd audit verify, as nwd_auditor with the PKI's audit key, over the
 * database harness_sql() runs on: fails the running test unless it exits
 * 0 and says "instance NAME: intact" for each name given (the list ends
 * with NULL).
 */
void		 fixture_verify_chains(const char *instance, ...)
		    __attribute__((sentinel));

#endif
