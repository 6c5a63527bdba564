/*
 * bench_common: what the load generators share (tests/bench/bench_broker,
 * which drives nwdd through libnwd, and tests/bench/bench_mosq, which
 * drives Mosquitto through libmosquitto), so that the two measure and
 * report in the same way: the run's shape and its options, the clock and
 * pacing by absolute deadlines, the warm-up and measured window, the tag a
 * publish carries, latency samples and their quantiles, CPU and memory
 * from /proc, the drain after the window, the human-readable lines and
 * the RESULT keys both print.  The protocol (sessions, publishing,
 * receiving) stays in each program.
 *
 * Not thread-safe unless said: each publisher or subscriber thread owns
 * its struct bench_pub or struct bench_sub; the main thread reads them
 * after joining the thread (last_rx excepted, which is atomic).
 */
#ifndef NWD_BENCH_COMMON_H
#define NWD_BENCH_COMMON_H

#include <sys/types.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define NS			1000000000LL
/* The identities both programs run as, from the shipped principals. */
#define BENCH_PUBLISHER		"plo-ana"
#define BENCH_RECEIVERS		"hubsys-norwich,hubsys-dereham," \
				"keyworker-kim,sw-ben,camhs-cara"
#define BENCH_BODY_MIN		64	/* room for the tag */
#define BENCH_TAG		"nwdbench"
#define BENCH_INST_MAX		64	/* an instance name in a tag */
#define BENCH_DRAIN_QUIET_NS	(1 * NS)
#define BENCH_DRAIN_MAX_NS	(30 * NS)

/* The program's name, the prefix of bench_die()'s messages. */
extern const char	*bench_prog;

int64_t	 bench_mono_ns(void);
/* Sleeps until CLOCK_MONOTONIC reaches t (ns), whatever signals come. */
void	 bench_sleep_until(int64_t t);
/* Prints "PROG: message" on stderr and exits 1. */
void	 bench_die(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
/* calloc() that dies instead of returning NULL (n 0 is taken as 1). */
void	*bench_xcalloc(size_t n, size_t size);
/* pthread_create() with default attributes that dies if it fails. */
void	 bench_thread_start(pthread_t *th, void *(*fn)(void *), void *arg);
/* Splits a comma-separated list in place into out (at most max items,
 * empty ones skipped).  Returns the number of items. */
size_t	 bench_split_list(char *s, char **out, size_t max);

/* ---- the run's shape and its options ------------------------------------- */

struct bench_run {
	const char	*pki;		/* ca.crt, clients/ID.crt and .key */
	const char	*receivers;	/* subscribers' identities, a list */
	int		 npub;		/* publisher sessions */
	int		 nsub;		/* subscriber sessions */
	size_t		 body;		/* payload bytes, tag first */
	double		 rate;		/* publishes/s in all; 0: flat out */
	double		 seconds;	/* the measured window */
	double		 warmup;	/* before the window */
};

/* A run's defaults but for the number of publishers: 5 subscribers (the
 * receivers in turn), 1 KB bodies, flat out, 10 s after a 2 s warm-up. */
#define BENCH_RUN_DEFAULTS(publishers) {				\
	.receivers = BENCH_RECEIVERS,					\
	.npub = (publishers),						\
	.nsub = 5,							\
	.body = 1024,							\
	.seconds = 10,							\
	.warmup = 2,							\
}

/*
 * Options, one table a program: each entry names a long option and the
 * variable it sets, through one of the macros below, which check that the
 * variable has the type the kind sets (a mismatch does not compile).
 */
enum bench_opt_kind {
	BENCH_OPT_STR,		/* const char *: the argument */
	BENCH_OPT_INT,		/* int: atoi() */
	BENCH_OPT_LONG,		/* long: atol() */
	BENCH_OPT_SIZE,		/* size_t: strtoul() */
	BENCH_OPT_DOUBLE,	/* double: atof() */
	BENCH_OPT_FLAG,		/* int: 1; the option takes no argument */
	BENCH_OPT_CALL		/* call(the argument) */
};

struct bench_opt {
	const char		*name;
	enum bench_opt_kind	 kind;
	void			*dst;		/* the variable, or NULL */
	void			(*call)(const char *arg);
};

#define BENCH_OPT_VAR(type, var)	((void *)(1 ? &(var) : (type *)NULL))
#define BENCH_OPT_S(name, var) \
	{ name, BENCH_OPT_STR, BENCH_OPT_VAR(const char *, var), NULL }
#define BENCH_OPT_I(name, var) \
	{ name, BENCH_OPT_INT, BENCH_OPT_VAR(int, var), NULL }
#define BENCH_OPT_L(name, var) \
	{ name, BENCH_OPT_LONG, BENCH_OPT_VAR(long, var), NULL }
#define BENCH_OPT_Z(name, var) \
	{ name, BENCH_OPT_SIZE, BENCH_OPT_VAR(size_t, var), NULL }
#define BENCH_OPT_D(name, var) \
	{ name, BENCH_OPT_DOUBLE, BENCH_OPT_VAR(double, var), NULL }
#define BENCH_OPT_F(name, var) \
	{ name, BENCH_OPT_FLAG, BENCH_OPT_VAR(int, var), NULL }
#define BENCH_OPT_C(name, fn) \
	{ name, BENCH_OPT_CALL, NULL, fn }

/* The options of a struct bench_run r, for a program's table. */
#define BENCH_RUN_OPTS(r) \
	BENCH_OPT_S("pki", (r).pki), \
	BENCH_OPT_S("receivers", (r).receivers), \
	BENCH_OPT_I("publishers", (r).npub), \
	BENCH_OPT_I("subscribers", (r).nsub), \
	BENCH_OPT_Z("body", (r).body), \
	BENCH_OPT_D("rate", (r).rate), \
	BENCH_OPT_D("seconds", (r).seconds), \
	BENCH_OPT_D("warmup", (r).warmup)

/* Parses argv's options by the n entries of opts (getopt_long(), so an
 * unambiguous prefix of a name will do), setting their variables.
 * Returns 0, or -1 on an unknown option, --help, -h or an operand (the
 * caller prints its usage). */
int	 bench_getopt(int argc, char *argv[], const struct bench_opt *opts,
	    size_t n);
/* Dies with a specific message if r's numbers cannot make a run. */
void	 bench_run_check(const struct bench_run *r);

/* ---- the window and pacing ----------------------------------------------- */

/* Publishing starts at start; what is sent in [lo, hi) is measured. */
struct bench_window {
	int64_t	 start, lo, hi;
};

/* Opens w a tenth of a second from now: r->warmup, then r->seconds. */
void	 bench_window_open(struct bench_window *w,
	    const struct bench_run *r);
int	 bench_in_window(const struct bench_window *w, int64_t t);

/*
 * One publisher's schedule.  Flat out, a publish is due when the last one
 * is acknowledged.  At r->rate, the publishers share the rate: each sends
 * every npub / rate seconds, publisher idx staggered idx / rate seconds
 * after the window's start, at absolute deadlines (a late publish does
 * not move the next).
 */
struct bench_pacer {
	const struct bench_window	*w;	/* the caller's */
	int64_t				 due, interval;
	int				 started;
};

void	 bench_pacer_init(struct bench_pacer *p,
	    const struct bench_window *w, const struct bench_run *r, int idx);
/* Waits for the next publish: returns 1 with *t_send the time now and
 * p->due the time it was due, or 0 when the window has ended.  A publish
 * skipped (its session away) still uses its turn. */
int	 bench_pacer_next(struct bench_pacer *p, int64_t *t_send);

/* ---- the tag a publish carries ------------------------------------------- */

/*
 * "nwdbench PUB SEQ T_SEND T_DUE INSTANCE ", at the start of the payload:
 * the publisher, its sequence number, the CLOCK_MONOTONIC times at which
 * the publish was sent and due, and the instance the publisher's session
 * is on ("-" where the broker names none).
 */
struct bench_tag {
	int		 pub;
	uint64_t	 seq;
	int64_t		 t_send, t_due;
	char		 inst[BENCH_INST_MAX];
};

/* Writes the tag over the first bytes of payload (len bytes; no NUL). */
void	 bench_tag_write(char *payload, size_t len, int pub, uint64_t seq,
	    int64_t t_send, int64_t t_due, const char *inst);
/* Reads a tag from the start of s (a string).  Returns the fields read:
 * 5, or 4 (inst "") from a tag without the instance; less: not a tag. */
int	 bench_tag_read(const char *s, struct bench_tag *t);

/* ---- latency samples ----------------------------------------------------- */

/* Samples in microseconds. */
struct bench_lat {
	uint32_t	*v;		/* owned; NULL while n is 0 */
	size_t		 n, cap;
};

/* Adds ns (clamped to 0..UINT32_MAX us); dies if out of memory. */
void	 bench_lat_add(struct bench_lat *l, int64_t ns);
void	 bench_lat_merge(struct bench_lat *dst,
	    const struct bench_lat *src);
/* Sorts l; then bench_lat_q() reads quantiles. */
void	 bench_lat_sort(struct bench_lat *l);
/* Quantile q (0..1) of a sorted l in ms, or -1 if l is empty. */
double	 bench_lat_q(const struct bench_lat *l, double q);
void	 bench_lat_free(struct bench_lat *l);

/* ---- /proc --------------------------------------------------------------- */

/* A "Key:   N kB" line of /proc/PID/status (pid 0: this process), in kB;
 * -1 if unreadable. */
long	 bench_proc_status_kb(pid_t pid, const char *key);
/* utime + stime of one process in clock ticks, and its parent if ppid is
 * not NULL; -1 if gone. */
long long bench_proc_cpu_ticks(pid_t pid, pid_t *ppid);
/* The 1-minute load average, or -1. */
double	 bench_loadavg1(void);

/* A moment's CPU counters: this process's ticks and all CPUs' (from
 * /proc/stat, busy being all but idle and iowait). */
struct bench_cpu {
	int64_t		 t;
	long long	 self, busy, total;
};

void	 bench_cpu_snap(struct bench_cpu *c);
/* Percent of one CPU that ticks a then b (-1: unknown) were between
 * snapshots s0 and s1; -1 if unknown. */
double	 bench_cpu_pct(long long a, long long b,
	    const struct bench_cpu *s0, const struct bench_cpu *s1);
/* Percent of all CPUs busy between s0 and s1, or -1. */
double	 bench_cpu_machine_pct(const struct bench_cpu *s0,
	    const struct bench_cpu *s1);

/* ---- publishers' and subscribers' counts --------------------------------- */

struct bench_pub {
	uint64_t	 sent, acked, errors;
	uint64_t	 win_acked;
	uint64_t	 win_late;	/* sent more than 1 ms after due */
	int64_t		 max_lag_ns;
	struct bench_lat ack_lat;	/* publish->ack in the window */
};

/* Counts the publish sent at t_send (due at due) acknowledged at t_ack.
 * Returns 1 if it was sent inside w. */
int	 bench_pub_acked(struct bench_pub *p, const struct bench_window *w,
	    int64_t t_send, int64_t due, int64_t t_ack);

struct bench_sub {
	atomic_llong	 last_rx;	/* the last delivery's time */
	uint64_t	 received, win_received, foreign, errors;
	struct bench_lat lat;		/* publish->deliver */
	struct bench_lat lat_sched;	/* due->deliver (at a rate) */
};

/* Counts a delivery received at now carrying tag t (NULL: not a bench
 * publish).  Returns 1 if it was published inside w. */
int	 bench_sub_delivery(struct bench_sub *s,
	    const struct bench_window *w, const struct bench_run *r,
	    int64_t now, const struct bench_tag *t);

/* After the window: waits until a second passes without a delivery to
 * any of n subscribers (at most 30 s after the window).  The n struct
 * bench_sub are stride bytes apart from first (each inside a program's
 * subscriber). */
void	 bench_drain(const struct bench_window *w,
	    const struct bench_sub *first, size_t stride, int n);

/* ---- the run's figures --------------------------------------------------- */

struct bench_totals {
	uint64_t	 sent, acked, perr, win_acked, win_late;
	uint64_t	 win_recv, serr, foreign, smin, smax;
	int64_t		 max_lag_ns;
	struct bench_lat lat, lat_sched, ack_lat;
};

void	 bench_totals_init(struct bench_totals *t);
/* Adds p's or s's counts and samples to t, and frees their samples. */
void	 bench_totals_add_pub(struct bench_totals *t, struct bench_pub *p);
void	 bench_totals_add_sub(struct bench_totals *t, struct bench_sub *s);
void	 bench_totals_sort(struct bench_totals *t);
void	 bench_totals_free(struct bench_totals *t);
/* Deliveries of the window's publishes per acknowledged one. */
double	 bench_totals_fanout(const struct bench_totals *t);

/* "publishes acked:" and its figures, one line. */
void	 bench_print_published(const struct bench_totals *t,
	    const struct bench_run *r);
/* "publish->deliver:", "due->deliver:" (at a rate) and ack_label (the
 * broker's acknowledgement, "publish->ack:") with their quantiles. */
void	 bench_print_latencies(const struct bench_totals *t,
	    const struct bench_run *r, const char *ack_label);

/*
 * The RESULT line, in three pieces so that each program puts its own
 * keys where they stand: bench_result_begin() prints "RESULT mode=...
 * [extra] publishers=... deliveries_per_s=N" (no newline), and
 * bench_result_latencies() " p50_ms=... sub_errors=N"; the program adds
 * " key=value" pairs between and after, and the newline.
 */
void	 bench_result_begin(const struct bench_run *r, const char *extra,
	    const struct bench_totals *t, double deliveries_per_s);
void	 bench_result_latencies(const struct bench_run *r,
	    const struct bench_totals *t);

#endif /* NWD_BENCH_COMMON_H */
