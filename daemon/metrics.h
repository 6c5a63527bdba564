/*
 * metrics: counters, gauges and histograms, and their rendering in the
 * Prometheus text exposition format (version 0.0.4).
 *
 * Two layers.  A registry (struct metrics) is plain data: families added in
 * order, each with at most one label, series created on first use, and a
 * renderer that is a pure function of the registry.  On top of it, nwdd's
 * own registry: metrics_init() builds it with every nwd_* family, and the
 * named helpers below update it from the modules that see the events.
 * Before metrics_init() (metrics_listen unset) every helper is a no-op, so
 * a daemon without metrics pays nothing.
 *
 * No I/O, no logging, no clock: a failed allocation loses one update and
 * nothing else.
 */
#ifndef NWD_METRICS_H
#define NWD_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum metrics_type {
	METRICS_COUNTER,
	METRICS_GAUGE,
	METRICS_HISTOGRAM,
};

struct metrics;
struct metrics_family;

struct metrics	*metrics_new(void);
void		 metrics_free(struct metrics *m);

/*
 * Adds a family, rendered after those added before it.  name and help are
 * copied; label names the family's one label or is NULL for none (the
 * family's one series then exists from the start, at 0).  A
 * histogram takes nbounds upper bounds in increasing order (copied); the
 * +Inf bucket is implicit.  Returns the family, owned by m, or NULL if
 * memory ran out or the bounds are not increasing.
 */
struct metrics_family *metrics_family_new(struct metrics *m,
		    enum metrics_type type, const char *name, const char *help,
		    const char *label, const double *bounds, size_t nbounds);

/*
 * Updates the series with label value lv (NULL for a family without a
 * label), creating it at 0 first.  metrics_add() is for counters and
 * gauges, metrics_set() for gauges, metrics_observe() for histograms; each
 * returns 0, or -1 on the wrong type or if memory ran out.
 */
int		 metrics_add(struct metrics_family *f, const char *lv,
		    double by);
int		 metrics_set(struct metrics_family *f, const char *lv,
		    double v);
int		 metrics_observe(struct metrics_family *f, const char *lv,
		    double v);
/* Sets every series of a gauge to 0; metrics_clear() drops them all. */
void		 metrics_zero(struct metrics_family *f);
void		 metrics_clear(struct metrics_family *f);

/*
 * The whole registry in the text format: per family "# HELP" and "# TYPE"
 * lines, then one line per series in creation order; a histogram's
 * buckets are cumulative, then _sum and _count.  Label values are escaped
 * (backslash, double quote, newline).  Returns a NUL-terminated string
 * owned by the caller with its length in *lenp, or NULL if memory ran out.
 */
char		*metrics_render(const struct metrics *m, size_t *lenp);

/* ---- nwdd's registry --------------------------------------------------- */

/* Builds the daemon's registry; 0, or -1 if memory ran out. */
int		 metrics_init(void);
void		 metrics_shutdown(void);
/* Renders the daemon's registry as metrics_render() does; NULL if none. */
char		*metrics_render_daemon(size_t *lenp);

/*
 * Events.  outcome is one of acked, refused, invalid, unavailable, failed;
 * reason one of the refusal reasons pre-listed in metrics.c (another name
 * still counts, as a new series).
 */
void		 metrics_publish(const char *outcome);
void		 metrics_refusal(const char *reason);
void		 metrics_delivery(void);
/* An acknowledged publish: seconds from its frame read to its deliveries
 * and PublishAck queued. */
void		 metrics_publish_seconds(double seconds);
/*
 * A refused publish, from its error code (Nwd__V1__ErrorCode) and the rule
 * that refused it (may be NULL): counts its outcome and its reason.
 */
void		 metrics_publish_refused(int code, const char *rule);
/* The refusal reason for a failed TLS handshake, from the text that
 * tls_failure_reason() wrote: tls_unknown_ca, tls_revoked, ... */
const char	*metrics_tls_reason(const char *reason);

/*
 * The store: one call per committed transaction with the batches and
 * audit rows it held and the seconds COMMIT took; the current state's name
 * (its gauge is 1, every other state's 0); the batches waiting.
 */
void		 metrics_txn(size_t batches, size_t rows, double commit_seconds);
/* How long one batch waited in the store's queue for its transaction. */
void		 metrics_store_wait(double seconds);
void		 metrics_store_state(const char *state_name);
void		 metrics_store_queue(size_t depth);
void		 metrics_store_queue_max(size_t max);

/*
 * Gauges refreshed before each scrape.  Sessions: metrics_sessions_reset()
 * sets every role to 0, then metrics_sessions_add() counts each one (role
 * NULL: not yet authenticated).  A time of 0 leaves its series out; a
 * negative process figure (unknown) leaves the last one.
 */
void		 metrics_sessions_reset(void);
void		 metrics_sessions_add(const char *role, double n);
void		 metrics_durable_unacked(size_t n);
/* The other instances live, and whether one's policy differs. */
void		 metrics_cluster(size_t peers, int mismatch);
/* Deadlines unmet (breached: of them, escalated), and one breached. */
void		 metrics_deadlines(uint64_t open, uint64_t breached);
void		 metrics_deadline_breached(const char *rule);
void		 metrics_policy(const char *version);
void		 metrics_tls(time_t cert_not_after, time_t ca_not_after,
		    time_t crl_next_update);
/*
 * The process, as Prometheus's client libraries name it (process_*), and
 * under nwd's older names (nwd_process_*) as well.  A negative figure is
 * unknown and leaves the last one.  CPU seconds only ever go up.
 */
struct metrics_process_figures {
	double	cpu_seconds;	/* user + system */
	double	rss_bytes;
	double	vsize_bytes;
	double	open_fds;
	double	max_fds;	/* the soft RLIMIT_NOFILE */
	double	start_time;	/* Unix time */
};
void		 metrics_process(const struct metrics_process_figures *pf);
/* nwd_build_info{version} 1. */
void		 metrics_build_info(const char *version);

#endif
