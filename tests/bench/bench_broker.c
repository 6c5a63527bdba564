/*
 * bench_broker: throughput, latency and memory of a running nwdd, and the
 * PostgreSQL COPY ceiling beside it.  A program that prints figures, not a
 * timed test; deploy/bench.sh sets up the world and runs it.
 *
 *   bench_broker --server H:P --pki DIR [options]       traffic
 *   bench_broker --server H:P --pki DIR --allocate      allocate the subject
 *   bench_broker --server H:P --pki DIR --idle-sessions K [--pid PID]
 *   bench_broker --server H:P --pki DIR --backlog N [--pid PID]
 *   bench_broker --server H:P --pki DIR --deadlines N --clock FILE
 *   bench_broker --copy-ceiling CONNINFO [--seconds S]
 *
 * Traffic: M subscriber sessions (principals taken in turn from
 * --receivers), each a thread blocked in nwd_next_delivery(), and N
 * publisher sessions as plo-ana, each a thread publishing RiskAlerts on the
 * bench subject and waiting for every PublishAck (libnwd is one request at
 * a time per session), either flat out or paced by absolute deadlines so
 * that together they make --rate publishes per second.  The RiskAlert's
 * summary is --body bytes long and starts with the publisher, a sequence
 * number, the CLOCK_MONOTONIC time at which nwd_publish() was called and
 * the time at which it was due; a subscriber's latency is its receive time
 * minus the first (publish to deliver), and, at a fixed rate, minus the
 * second too (the same corrected for a publisher that fell behind its
 * schedule).  Only publishes sent inside the measured window (after
 * --warmup seconds, for --seconds) count; after the window the subscribers
 * drain until one second passes without a delivery.
 *
 * Several instances behind a load balancer (--server its address): the
 * tag also names the instance the publisher's session is on (its
 * Welcome's), and a subscriber compares it with its own session's, so
 * that publish->deliver is reported apart for deliveries its own instance
 * made (same instance) and for those another instance announced to it
 * (cross-instance); where the sessions landed is printed.  --pid takes
 * every nwdd, comma-separated (their CPU summed; the first's memory), and
 * --lb-pid the load balancer, whose CPU is reported beside.
 *
 * For soaks (deploy/soak.sh): --churn S closes every session after a
 * random 0.5 S to 1.5 S and connects again (publishers and subscribers);
 * --durable NAME makes each subscription durable under NAME and acks every
 * delivery, a subscriber reconnecting (and so replaying what it missed)
 * whenever its session ends; --report FILE writes the message id of every
 * acknowledged publish, one per line, so that the audit trail and the
 * durable queues can be checked against them afterwards.  A session that
 * ends (the daemon restarted, PostgreSQL away) is connected again.
 *
 * Durable backlog: the first of --receivers subscribes durably under
 * --durable (default "backlog") and leaves; N RiskAlerts are published flat
 * out by --publishers sessions (the traffic's publishers, each numbering
 * its own), so that they queue for it; then one session of that principal
 * subscribes under the same name and reads until all N have arrived.  The
 * replay is timed from the Subscribe to the last delivery; nwdd's RSS is
 * sampled every 50 ms during it (--pid).  Every message must arrive once,
 * each publisher's in the order it published them; with --db (a role that
 * may read nwd.deliveries, such as nwd_auditor) the order of arrival is
 * also compared with the queue's (nwd.deliveries.id).  Without --ack
 * nothing is acknowledged (the replay alone, and the queue stays as it
 * was); with --ack every delivery is, by nwd_ack_nowait(), which sends
 * the Ack and does not wait for the broker's answer.  --before-replay and
 * --after-replay run a shell command (system()) just before the
 * subscribing session connects and just after the last delivery (for
 * deploy/bench.sh: profiles, metrics).
 *
 * Deadlines and escalations (issue 17), against an nwdd whose wall clock is
 * the file --clock (its test_clock): --subjects young people (YP-DL-0000,
 * ...) are allocated to hub:norwich by case-system; duty-mash subscribes
 * live to kind escalation and hubsys-norwich to risk alerts and
 * escalations, and neither ever acknowledges.  Then three windows of the
 * same steady publishes (--steady-publishers sessions of plo-ana making
 * --rate ROUTINE RiskAlerts a second in all, default 200, paced by
 * absolute deadlines; publish->ack and due->ack of each):
 *   1. before any deadline is open (--warmup, then --seconds);
 *   2. after N RiskAlerts are published flat out by --publishers sessions,
 *      --breaching M of them URGENT (urgent-alert-ack, 15 minutes) and the
 *      rest HIGH (high-alert-ack, 60 minutes), every (N/M)th URGENT, so
 *      that N deadlines are open and none is due;
 *   3. the wall clock moved on --clock-step minutes (16) after --warmup
 *      (the file written anew and renamed over it; nwdd rereads it every
 *      50 ms), so that the M URGENT deadlines breach at once; the window
 *      runs from the move to the Mth escalation the duty desk receives,
 *      and the steady publishes go on for at least --seconds from the
 *      move.
 * Measured: the time from the move to the first and the Mth escalation
 * at the duty desk, and with --db to the Mth escalated audit row (polled
 * every 25 ms); the steady p50/p99/p99.9 of each window; CPU during the
 * escalations.  Checked, after 3 s more: exactly M escalations, one about
 * each URGENT alert, under urgent-alert-ack with count 1, none about a
 * HIGH one, none before the move; with --db, the audit rows and
 * nwd.deadlines agree.  --before-move and --after-move run a shell
 * command just before the move and just after the Mth escalation.
 *
 * Idle sessions: K mutual-TLS sessions through nwd_connect() (handshake,
 * Hello, Welcome), held idle for --seconds, then pinged (a sample) and
 * closed; the daemon's RSS before and after gives the cost per session.
 *
 * COPY ceiling: the audit rows the daemon wrote last (read back from
 * nwd.audit_events, or made up if there are none) re-chained (seq,
 * prev_hash, SHA-256 hash) and written by COPY into a scratch table of the
 * same shape (columns, CHECKs, indexes; not the real table), one COPY per
 * --copy-rows rows, each its own transaction, for --seconds; then again
 * with the real table's chain-link check (its trigger function, read from
 * the database and renamed; per statement, over a transition table).
 * Needs a role that may create tables in schema public of that database
 * and read nwd.audit_events (the owner role).
 *
 * Output: human-readable lines, then one "RESULT mode=... key=value ..."
 * line for scripts.  Exit status 0, or 1 if the run could not be made.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <libpq-fe.h>

#include "nwd.h"
#include "nwd.pb-c.h"

#include "bench_common.h"

#define SUBJECT_DEFAULT		"YP-BENCH"
#define PUBLISHER		BENCH_PUBLISHER
#define ALLOCATOR		"case-system"
#define RECEIVERS_DEFAULT	BENCH_RECEIVERS
#define TEAMS_DEFAULT		"hub:norwich,hub:dereham,sw:north,camhs:central"
#define IDLE_PRINCIPALS		"hubsys-norwich,hubsys-dereham,keyworker-kim," \
				"sw-ben,camhs-cara,plo-ana,case-system,duty-mash"
#define MAX_LIST		64
#define IDLE_THREADS		8
#define IDLE_PING_SAMPLE	200
#define MAX_PIDS		16
#define INST_SLOTS		16	/* instances counted by name */

/* ---- options --------------------------------------------------------------- */

static struct {
	struct bench_run run;		/* --publishers, --rate, ... */
	const char	*server;
	pid_t		 pid;		/* nwdd (the first of --pid), or 0 */
	pid_t		 pids[MAX_PIDS]; /* every nwdd of --pid */
	int		 npids;
	pid_t		 pgpid;		/* the postmaster, or 0 */
	pid_t		 lbpid;		/* the load balancer (HAProxy), or 0 */
	long		 idle;		/* --idle-sessions K, or 0 */
	const char	*copy;		/* --copy-ceiling CONNINFO, or NULL */
	long		 copy_rows;
	const char	*db;		/* --db CONNINFO, or NULL */
	const char	*subject;
	const char	*teams;
	int		 allocate;
	int		 ack;
	int		 timeout_ms;
	double		 churn;		/* seconds a session lives; 0 = on */
	const char	*durable;	/* durable subscription name, or NULL */
	const char	*report;	/* file of acked message ids, or NULL */
	long		 backlog;	/* --backlog N, or 0 */
	const char	*hook_before;	/* shell command, or NULL */
	const char	*hook_after;	/* shell command, or NULL */
	long		 deadlines;	/* --deadlines N, or 0 */
	long		 breaching;	/* of them URGENT */
	const char	*clock;		/* nwdd's test_clock file */
	int		 clock_step;	/* minutes the clock moves */
	int		 dl_subjects;	/* young people the alerts are about */
	int		 dl_steady;	/* steady publisher sessions */
} opt = {
	.run = BENCH_RUN_DEFAULTS(32),
	.copy_rows = 8000,
	.subject = SUBJECT_DEFAULT,
	.teams = TEAMS_DEFAULT,
	.timeout_ms = 30000,
	.breaching = 1000,
	.clock_step = 16,
	.dl_subjects = 100,
	.dl_steady = 8,
};

/* ---- small helpers ---------------------------------------------------------- */

static struct nwd_opts
client_opts(const char *principal)
{
	static __thread char	 crt[4096], key[4096], ca[4096];
	struct nwd_opts		 o;

	snprintf(crt, sizeof(crt), "%s/clients/%s.crt", opt.run.pki, principal);
	snprintf(key, sizeof(key), "%s/clients/%s.key", opt.run.pki, principal);
	snprintf(ca, sizeof(ca), "%s/ca.crt", opt.run.pki);
	memset(&o, 0, sizeof(o));
	o.server = opt.server;
	o.cert = crt;
	o.key = key;
	o.ca = ca;
	o.client_name = "bench_broker";
	o.timeout_ms = opt.timeout_ms;
	return o;
}

static struct nwd_client *
connect_as(const char *principal, int fatal)
{
	struct nwd_opts		 o = client_opts(principal);
	struct nwd_client	*c;
	enum nwd_status		 st;
	char			 err[512];

	if ((c = nwd_connect(&o, &st, err, sizeof(err))) == NULL && fatal)
		bench_die("connect to %s as %s: %s", opt.server, principal,
		    err);
	return c;
}

/* ---- /proc ------------------------------------------------------------------- */

/* CPU ticks of pid and all its direct children (a postmaster's backends). */
static long long
proc_tree_ticks(pid_t pid)
{
	DIR		*d;
	struct dirent	*de;
	long long	 sum, t;
	pid_t		 pp;

	if ((sum = bench_proc_cpu_ticks(pid, NULL)) < 0)
		return -1;
	if ((d = opendir("/proc")) == NULL)
		return sum;
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if ((t = bench_proc_cpu_ticks(atoi(de->d_name), &pp)) >= 0 &&
		    pp == pid)
			sum += t;
	}
	closedir(d);
	return sum;
}

/* On-CPU and run-queue nanoseconds of a process (/proc/PID/schedstat). */
static int
sched_read(pid_t pid, long long *run, long long *wait)
{
	char	 path[64];
	FILE	*fp;
	int	 ok;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	ok = fscanf(fp, "%lld %lld", run, wait) == 2;
	fclose(fp);
	return ok ? 0 : -1;
}

#define SNAP_MAXPG	64

struct cpu_snap {
	struct bench_cpu base;		/* time, self, machine */
	long long	 daemon, pg, lb;
	long long	 d_run, d_wait;			/* nwdd's schedstat */
	size_t		 npg;
	pid_t		 pg_pid[SNAP_MAXPG];		/* the postmaster's */
	long long	 pg_run[SNAP_MAXPG], pg_wait[SNAP_MAXPG]; /* children */
};

static void
cpu_snap(struct cpu_snap *c)
{
	DIR		*d;
	struct dirent	*de;
	pid_t		 pp, pid;
	long long	 t;
	int		 i;

	bench_cpu_snap(&c->base);
	c->daemon = opt.npids > 0 ? 0 : -1;
	for (i = 0; i < opt.npids && c->daemon >= 0; i++)
		if ((t = bench_proc_cpu_ticks(opt.pids[i], NULL)) >= 0)
			c->daemon += t;
		else
			c->daemon = -1;
	c->lb = opt.lbpid > 0 ? bench_proc_cpu_ticks(opt.lbpid, NULL) : -1;
	c->pg = opt.pgpid > 0 ? proc_tree_ticks(opt.pgpid) : -1;
	c->d_run = c->d_wait = -1;
	if (opt.pid > 0)
		sched_read(opt.pid, &c->d_run, &c->d_wait);
	c->npg = 0;
	if (opt.pgpid <= 0 || (d = opendir("/proc")) == NULL)
		return;
	while ((de = readdir(d)) != NULL && c->npg < SNAP_MAXPG) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = atoi(de->d_name);
		if (bench_proc_cpu_ticks(pid, &pp) < 0 || pp != opt.pgpid ||
		    sched_read(pid, &c->pg_run[c->npg],
		    &c->pg_wait[c->npg]) == -1)
			continue;
		c->pg_pid[c->npg++] = pid;
	}
	closedir(d);
}

/* Percent of one CPU that ticks a then b were between s0 and s1, or -1. */
static double
cpu_pct(long long a, long long b, const struct cpu_snap *s0,
    const struct cpu_snap *s1)
{
	return bench_cpu_pct(a, b, &s0->base, &s1->base);
}

/* Wall-time shares of one process: on a CPU, runnable but waiting for one. */
static void
print_sched(const char *who, pid_t pid, long long r0, long long w0,
    long long r1, long long w1, int64_t wall)
{
	double	run = 100.0 * (double)(r1 - r0) / (double)wall;
	double	wait = 100.0 * (double)(w1 - w0) / (double)wall;

	printf("  %s (pid %d): on a CPU %.0f%%, runnable but waiting for a CPU "
	    "%.0f%%, sleeping (I/O, fsync, its peer) %.0f%% of the time\n",
	    who, (int)pid, run, wait, 100 - run - wait > 0 ?
	    100 - run - wait : 0);
}

static void
print_cpu(const struct cpu_snap *s0, const struct cpu_snap *s1)
{
	double		 mach = bench_cpu_machine_pct(&s0->base,
	    &s1->base);
	long long	 best = -1, r, w;
	size_t		 i, j, bi = 0, bj = 0;

	printf("cpu (100%% = one core of %ld):  nwdd %.0f%%%s  postgres %.0f%%  "
	    "bench_broker %.0f%%  machine busy %.0f%% of all cores\n",
	    sysconf(_SC_NPROCESSORS_ONLN),
	    cpu_pct(s0->daemon, s1->daemon, s0, s1), opt.npids > 1 ?
	    " (all instances)" : "", cpu_pct(s0->pg, s1->pg, s0, s1),
	    cpu_pct(s0->base.self, s1->base.self, s0, s1), mach);
	if (opt.lbpid > 0)
		printf("  load balancer (pid %d): %.0f%% of a core\n",
		    (int)opt.lbpid, cpu_pct(s0->lb, s1->lb, s0, s1));
	if (s0->d_run >= 0 && s1->d_run >= 0)
		print_sched("nwdd", opt.pid, s0->d_run, s0->d_wait, s1->d_run,
		    s1->d_wait, s1->base.t - s0->base.t);
	for (i = 0; i < s0->npg; i++)
		for (j = 0; j < s1->npg; j++)
			if (s1->pg_pid[j] == s0->pg_pid[i] &&
			    (r = s1->pg_run[j] - s0->pg_run[i]) > best) {
				best = r;
				bi = i;
				bj = j;
			}
	if (best >= 0) {
		r = s0->pg_run[bi];
		w = s0->pg_wait[bi];
		print_sched("busiest PostgreSQL process", s0->pg_pid[bi], r, w,
		    s1->pg_run[bj], s1->pg_wait[bj], s1->base.t - s0->base.t);
	}
}

/* Peak RSS sampler of the daemon, every rss_every_us while it runs. */
static atomic_long	 rss_peak_kb;
static atomic_int	 rss_stop;
static useconds_t	 rss_every_us = 100000;

static void *
rss_sampler(void *arg)
{
	long	 kb;

	(void)arg;
	while (!atomic_load(&rss_stop)) {
		kb = bench_proc_status_kb(opt.pid, "VmRSS");
		if (kb > atomic_load(&rss_peak_kb))
			atomic_store(&rss_peak_kb, kb);
		usleep(rss_every_us);
	}
	return NULL;
}

/* ---- traffic ----------------------------------------------------------------- */

static struct bench_window win;
static atomic_int stop_subs;
static FILE	*report_fp;		/* --report */
static pthread_mutex_t report_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_long backlog_claimed;	/* --backlog: publishes taken */

/* When a session opened now ends under --churn: 0.5 to 1.5 times it. */
static int64_t
churn_due(unsigned int *seed)
{
	if (opt.churn <= 0)
		return INT64_MAX;
	return bench_mono_ns() + (int64_t)(opt.churn * NS *
	    (0.5 + (double)rand_r(seed) / RAND_MAX));
}

struct publisher {
	pthread_t	 th;
	int		 idx;
	struct nwd_client *c;
	struct bench_pub st;
	uint64_t	 reconnects, churned, win_recipients;
	enum nwd_status	 last_st;
	char		 last_err[256];
	uint8_t		*acked_seq;	/* --backlog: 1 at each acked seq */
	size_t		 acked_cap;
	char		 inst[BENCH_INST_MAX]; /* the instance its session is on */
};

struct subscriber {
	pthread_t	 th;
	int		 idx;
	const char	*principal;
	struct nwd_client *c;
	struct bench_sub st;
	uint64_t	 ack_errors, reconnects, churned;
	struct bench_lat lat_same, lat_cross;	/* by the publisher's instance */
	char		 last_err[256];
	char		 inst[BENCH_INST_MAX]; /* the instance its session is on */
};

/*
 * The instance a session is on, from its Welcome, into buf: "-" if the
 * broker named none.  Behind a load balancer the sessions of one run are
 * on several instances; a delivery's tag names the publisher's, so that a
 * subscriber tells a delivery made by its own instance from one another
 * instance announced to it.
 */
static void
session_instance(const struct nwd_client *c, char *buf, size_t len)
{
	const Nwd__V1__Welcome	*w = c != NULL ? nwd_welcome(c) : NULL;
	size_t			 i;

	snprintf(buf, len, "%s", w != NULL && w->instance != NULL &&
	    w->instance[0] != '\0' ? w->instance : "-");
	for (i = 0; buf[i] != '\0'; i++)
		if (isspace((unsigned char)buf[i]))
			buf[i] = '_';
}

static void
fill_alert(Nwd__V1__Envelope *env, Nwd__V1__Header *h, Nwd__V1__SubjectRef *s,
    Nwd__V1__RiskAlert *a, char *summary)
{
	s->local_id = (char *)opt.subject;
	h->kind = NWD__V1__KIND__RISK_ALERT;
	h->subject = s;
	/* OFFICIAL, so that keyworker-kim (cleared to OFFICIAL) receives. */
	h->marking = NWD__V1__MARKING__OFFICIAL;
	h->priority = NWD__V1__PRIORITY__ROUTINE;
	h->legal_basis = NWD__V1__LEGAL_BASIS__SAFEGUARDING;
	h->justification = "benchmark";
	a->category = NWD__V1__RISK_ALERT__CATEGORY__GOING_MISSING;
	a->level = NWD__V1__RISK_ALERT__LEVEL__MEDIUM;
	a->summary = summary;
	env->header = h;
	env->body_case = NWD__V1__ENVELOPE__BODY_RISK_ALERT;
	env->risk_alert = a;
}

/* Records that publish seq of p was acknowledged (--backlog). */
static void
mark_acked(struct publisher *p, uint64_t seq)
{
	size_t	cap;

	if (seq >= p->acked_cap) {
		cap = p->acked_cap ? p->acked_cap : 4096;
		while (cap <= seq)
			cap *= 2;
		if ((p->acked_seq = realloc(p->acked_seq, cap)) == NULL)
			bench_die("out of memory");
		memset(p->acked_seq + p->acked_cap, 0, cap - p->acked_cap);
		p->acked_cap = cap;
	}
	p->acked_seq[seq] = 1;
}

static void *
publisher_main(void *arg)
{
	struct publisher	*p = arg;
	Nwd__V1__Envelope	 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header		 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef	 s = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__RiskAlert	 a = NWD__V1__RISK_ALERT__INIT;
	Nwd__V1__PublishAck	*ack;
	struct bench_pacer	 pace;
	char			*summary;
	int64_t			 t_send, t_ack, end_at;
	unsigned int		 seed = (unsigned int)p->idx * 2654435761U + 1;
	enum nwd_status		 st;
	uint64_t		 seq;

	end_at = churn_due(&seed);
	summary = bench_xcalloc(1, opt.run.body + 1);
	memset(summary, 'x', opt.run.body);
	fill_alert(&env, &h, &s, &a, summary);
	bench_pacer_init(&pace, &win, &opt.run, p->idx);
	while (bench_pacer_next(&pace, &t_send)) {
		/* --backlog: N publishes in all, whichever thread takes them. */
		if (opt.backlog > 0 &&
		    atomic_fetch_add(&backlog_claimed, 1) >= opt.backlog)
			break;
		if (p->c != NULL && t_send >= end_at) {
			nwd_close(p->c);
			p->c = NULL;
			p->churned++;
		}
		if (p->c == NULL) {
			/* The session ended: try again, not in a tight loop. */
			if ((p->c = connect_as(PUBLISHER, 0)) == NULL) {
				usleep(100000);
				p->st.errors++;
				continue;
			}
			p->reconnects++;
			end_at = churn_due(&seed);
			session_instance(p->c, p->inst, sizeof(p->inst));
		}
		seq = p->st.sent++;
		bench_tag_write(summary, opt.run.body, p->idx, seq, t_send,
		    pace.due, p->inst);
		ack = NULL;
		st = nwd_publish(p->c, &env, &ack, p->last_err,
		    sizeof(p->last_err));
		t_ack = bench_mono_ns();
		if (st == NWD_OK) {
			if (bench_pub_acked(&p->st, &win, t_send, pace.due,
			    t_ack))
				p->win_recipients += ack->recipients;
			if (opt.backlog > 0)
				mark_acked(p, seq);
			if (report_fp != NULL) {
				pthread_mutex_lock(&report_mu);
				fprintf(report_fp, "%s\n", ack->message_id);
				pthread_mutex_unlock(&report_mu);
			}
		} else {
			p->st.errors++;
			p->last_st = st;
			if (st != NWD_ERR_REFUSED && st != NWD_ERR_UNAVAILABLE &&
			    st != NWD_ERR_INVALID) {
				nwd_close(p->c);
				p->c = NULL;
			}
		}
		nwd_publish_ack_free(ack);
	}
	free(summary);
	return NULL;
}

/*
 * Connects s and subscribes it to the bench subject (durable under
 * --durable).  Returns 0, or -1 (dies instead if fatal).
 */
static int
subscriber_connect(struct subscriber *s, int fatal)
{
	Nwd__V1__Kind	 k = NWD__V1__KIND__RISK_ALERT;
	const char	*subj = opt.subject;
	char		 err[512];

	if ((s->c = connect_as(s->principal, fatal)) == NULL)
		return -1;
	session_instance(s->c, s->inst, sizeof(s->inst));
	if (nwd_subscribe(s->c, &k, 1, &subj, 1, opt.durable, NULL, err,
	    sizeof(err)) != NWD_OK) {
		if (fatal)
			bench_die("subscribe as %s: %s", s->principal, err);
		snprintf(s->last_err, sizeof(s->last_err), "%.200s", err);
		nwd_close(s->c);
		s->c = NULL;
		return -1;
	}
	return 0;
}

static void *
subscriber_main(void *arg)
{
	struct subscriber	*s = arg;
	Nwd__V1__Deliver	*d;
	const char		*sum;
	struct bench_tag	 tag;
	enum nwd_status		 st;
	int64_t			 now, end_at;
	unsigned int		 seed = (unsigned int)s->idx * 40503U + 7;
	int			 nf;
	char			 err[256];

	end_at = churn_due(&seed);
	while (!atomic_load(&stop_subs)) {
		if (s->c != NULL && bench_mono_ns() >= end_at) {
			nwd_close(s->c);
			s->c = NULL;
			s->churned++;
		}
		if (s->c == NULL) {
			/* Not in a tight loop while the daemon is away. */
			if (subscriber_connect(s, 0) == -1) {
				usleep(100000);
				continue;
			}
			s->reconnects++;
			end_at = churn_due(&seed);
		}
		st = nwd_next_delivery(s->c, 100, &d, s->last_err,
		    sizeof(s->last_err));
		if (st == NWD_ERR_TIMEOUT)
			continue;
		if (st != NWD_OK) {
			s->st.errors++;
			if (opt.churn <= 0 && opt.durable == NULL)
				break;
			/* Soaks: the session ended; connect again. */
			nwd_close(s->c);
			s->c = NULL;
			continue;
		}
		now = bench_mono_ns();
		sum = d->envelope != NULL && d->envelope->risk_alert != NULL ?
		    d->envelope->risk_alert->summary : NULL;
		nf = sum != NULL ? bench_tag_read(sum, &tag) : 0;
		if (bench_sub_delivery(&s->st, &win, &opt.run, now, nf >= 4 ?
		    &tag : NULL) && nf == 5)
			bench_lat_add(strcmp(tag.inst, s->inst) == 0 ?
			    &s->lat_same : &s->lat_cross, now - tag.t_send);
		/* Not waiting for each Acked: the subscriber keeps up. */
		if (opt.ack && nwd_ack_nowait(s->c, d->delivery_id,
		    d->envelope != NULL && d->envelope->header != NULL ?
		    d->envelope->header->message_id : "", err,
		    sizeof(err)) != NWD_OK)
			s->ack_errors++;
		nwd_deliver_free(d);
	}
	return NULL;
}

/* Highest audit row id, or -1 (with --db). */
static long long
audit_max_id(PGconn *db)
{
	PGresult	*r;
	long long	 v = -1;

	if (db == NULL)
		return -1;
	r = PQexec(db, "SELECT coalesce(max(id), 0) FROM nwd.audit_events");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	else
		fprintf(stderr, "bench_broker: --db: %s", PQerrorMessage(db));
	PQclear(r);
	return v;
}

/*
 * Where the sessions are: how many publishers and subscribers each
 * instance holds (from their Welcomes), as one line; *ninst is the number
 * of instances.
 */
static void
print_placement(const struct publisher *pubs, const struct subscriber *subs,
    int *ninst)
{
	const char	*name[INST_SLOTS];
	int		 np[INST_SLOTS] = { 0 }, ns[INST_SLOTS] = { 0 };
	int		 n = 0, i, j, k;
	const char	*inst;

	for (i = 0; i < opt.run.npub + opt.run.nsub; i++) {
		inst = i < opt.run.npub ? pubs[i].inst :
		    subs[i - opt.run.npub].inst;
		for (j = 0; j < n && strcmp(name[j], inst) != 0; j++)
			;
		if (j == n) {
			if (n == INST_SLOTS)
				continue;
			name[n++] = inst;
		}
		if (i < opt.run.npub)
			np[j]++;
		else
			ns[j]++;
	}
	printf("sessions by instance:");
	for (k = 0; k < n; k++)
		printf("%s %s %d publishers %d subscribers", k ? ";" : "",
		    name[k], np[k], ns[k]);
	printf("\n");
	*ninst = n;
}

static int
run_traffic(void)
{
	struct publisher	*pubs;
	struct subscriber	*subs;
	struct bench_totals	 tot;
	struct bench_lat	 lat_same = { 0 }, lat_cross = { 0 };
	struct cpu_snap		 c0, c1;
	pthread_t		 rss_th;
	PGconn			*db = NULL;
	char			*rlist, *recv[MAX_LIST];
	size_t			 nrecv;
	uint64_t		 reconn = 0, win_rcpt = 0, ackerr = 0;
	uint64_t		 pchurn = 0, sreconn = 0, schurn = 0;
	long long		 id0 = -1, id1 = -1;
	long			 hwm0 = -1, hwm = -1, rss_end = -1;
	double			 secs = opt.run.seconds, fanout, l1;
	int			 i, ninst = 0;

	rlist = strdup(opt.run.receivers);
	if (rlist == NULL ||
	    (nrecv = bench_split_list(rlist, recv, MAX_LIST)) == 0)
		bench_die("--receivers names no principal");
	if (opt.db != NULL) {
		db = PQconnectdb(opt.db);
		if (PQstatus(db) != CONNECTION_OK)
			bench_die("--db: %s", PQerrorMessage(db));
	}
	l1 = bench_loadavg1();
	printf("== traffic: %d publishers (%s), %d subscribers, body %zu B, "
	    "%s, %.0f s after %.0f s warm-up; subject %s%s\n", opt.run.npub,
	    PUBLISHER, opt.run.nsub, opt.run.body, opt.run.rate > 0 ?
	    "fixed rate" : "flat out", opt.run.seconds, opt.run.warmup,
	    opt.subject, opt.ack ? "; subscribers ack" : "");
	if (opt.run.rate > 0)
		printf("rate: %.0f publishes/s in all\n", opt.run.rate);
	printf("load average before: %.2f\n", l1);

	subs = bench_xcalloc(opt.run.nsub, sizeof(*subs));
	for (i = 0; i < opt.run.nsub; i++) {
		subs[i].idx = i;
		subs[i].principal = recv[i % nrecv];
		(void)subscriber_connect(&subs[i], 1);
	}
	pubs = bench_xcalloc(opt.run.npub, sizeof(*pubs));
	for (i = 0; i < opt.run.npub; i++) {
		pubs[i].idx = i;
		pubs[i].c = connect_as(PUBLISHER, 1);
		session_instance(pubs[i].c, pubs[i].inst, sizeof(pubs[i].inst));
	}
	print_placement(pubs, subs, &ninst);
	if (opt.pid > 0) {
		hwm0 = bench_proc_status_kb(opt.pid, "VmHWM");
		atomic_store(&rss_peak_kb,
		    bench_proc_status_kb(opt.pid, "VmRSS"));
		bench_thread_start(&rss_th, rss_sampler, NULL);
	}

	bench_window_open(&win, &opt.run);
	for (i = 0; i < opt.run.nsub; i++)
		bench_thread_start(&subs[i].th, subscriber_main, &subs[i]);
	for (i = 0; i < opt.run.npub; i++)
		bench_thread_start(&pubs[i].th, publisher_main, &pubs[i]);

	bench_sleep_until(win.lo);
	cpu_snap(&c0);
	id0 = audit_max_id(db);
	bench_sleep_until(win.hi);
	cpu_snap(&c1);
	id1 = audit_max_id(db);
	for (i = 0; i < opt.run.npub; i++)
		pthread_join(pubs[i].th, NULL);
	bench_drain(&win, &subs[0].st, sizeof(subs[0]), opt.run.nsub);
	atomic_store(&stop_subs, 1);
	for (i = 0; i < opt.run.nsub; i++)
		pthread_join(subs[i].th, NULL);
	if (opt.pid > 0) {
		atomic_store(&rss_stop, 1);
		pthread_join(rss_th, NULL);
		hwm = bench_proc_status_kb(opt.pid, "VmHWM");
		rss_end = bench_proc_status_kb(opt.pid, "VmRSS");
	}

	bench_totals_init(&tot);
	for (i = 0; i < opt.run.npub; i++) {
		struct publisher *p = &pubs[i];

		bench_totals_add_pub(&tot, &p->st);
		reconn += p->reconnects;
		pchurn += p->churned;
		win_rcpt += p->win_recipients;
		if (p->st.errors > 0)
			fprintf(stderr, "publisher %d: %" PRIu64 " errors, last "
			    "(%s): %s\n", i, p->st.errors,
			    nwd_status_name(p->last_st), p->last_err);
		nwd_close(p->c);
	}
	for (i = 0; i < opt.run.nsub; i++) {
		struct subscriber *s = &subs[i];

		bench_totals_add_sub(&tot, &s->st);
		ackerr += s->ack_errors;
		sreconn += s->reconnects;
		schurn += s->churned;
		bench_lat_merge(&lat_same, &s->lat_same);
		bench_lat_merge(&lat_cross, &s->lat_cross);
		if (s->st.errors > 0)
			fprintf(stderr, "subscriber %d (%s): %" PRIu64 " session%s "
			    "ended, the last: %s\n", i, s->principal,
			    s->st.errors, s->st.errors == 1 ? "" : "s",
			    s->last_err);
		nwd_close(s->c);
		bench_lat_free(&s->lat_same);
		bench_lat_free(&s->lat_cross);
	}
	bench_totals_sort(&tot);
	bench_lat_sort(&lat_same);
	bench_lat_sort(&lat_cross);
	fanout = bench_totals_fanout(&tot);

	bench_print_published(&tot, &opt.run);
	printf("deliveries received: %10.0f /s   (%" PRIu64 " in the window; "
	    "fan-out %.2f per publish; per subscriber %" PRIu64 "..%" PRIu64
	    ")\n", tot.win_recv / secs, tot.win_recv, fanout, tot.smin,
	    tot.smax);
	printf("audited recipients:  %10.0f /s   (deliver rows: PublishAck."
	    "recipients, %.2f per publish, online or not)\n", win_rcpt / secs,
	    tot.win_acked > 0 ? (double)win_rcpt / (double)tot.win_acked : 0);
	if (id0 >= 0 && id1 >= 0)
		printf("audit rows written:  %10.0f /s   (all actions, "
		    "nwd.audit_events ids %lld..%lld; %.2f per publish)\n",
		    (id1 - id0) / secs, id0, id1, tot.win_acked > 0 ?
		    (double)(id1 - id0) / (double)tot.win_acked : 0);
	bench_print_latencies(&tot, &opt.run, "publish->ack:");
	if (lat_cross.n > 0) {
		/* Behind a load balancer: by the publisher's instance. */
		printf("  same instance:     p50 %.2f ms  p99 %.2f ms  p99.9 %.2f "
		    "ms  (%zu deliveries: publisher and subscriber on one "
		    "instance)\n", bench_lat_q(&lat_same, .5),
		    bench_lat_q(&lat_same, .99), bench_lat_q(&lat_same, .999),
		    lat_same.n);
		printf("  cross-instance:    p50 %.2f ms  p99 %.2f ms  p99.9 %.2f "
		    "ms  (%zu deliveries: announced by another instance)\n",
		    bench_lat_q(&lat_cross, .5), bench_lat_q(&lat_cross, .99),
		    bench_lat_q(&lat_cross, .999), lat_cross.n);
	}
	printf("errors:              %" PRIu64 " publish, %" PRIu64
	    " subscriber sessions ended, %" PRIu64 " ack, %" PRIu64
	    " reconnects, %" PRIu64 " deliveries not ours\n", tot.perr,
	    tot.serr, ackerr, reconn, tot.foreign);
	if (opt.churn > 0 || opt.durable != NULL)
		printf("sessions:            %" PRIu64 " publisher and %" PRIu64
		    " subscriber sessions closed by --churn; %" PRIu64
		    " publisher and %" PRIu64 " subscriber reconnects in all\n",
		    pchurn, schurn, reconn, sreconn);
	print_cpu(&c0, &c1);
	if (opt.pid > 0)
		printf("nwdd memory:         peak RSS %ld kB during the run "
		    "(sampled), VmHWM %ld kB (was %ld kB before), RSS at end "
		    "%ld kB\n", atomic_load(&rss_peak_kb), hwm, hwm0, rss_end);
	bench_result_begin(&opt.run, NULL, &tot, tot.win_recv / secs);
	printf(" fanout=%.2f audited_recipients_per_s=%.0f "
	    "audit_rows_per_s=%.0f", fanout, win_rcpt / secs,
	    id0 >= 0 && id1 >= 0 ? (id1 - id0) / secs : -1);
	bench_result_latencies(&opt.run, &tot);
	printf(" nwdd_cpu=%.0f pg_cpu=%.0f bench_cpu=%.0f "
	    "peak_rss_kb=%ld hwm_kb=%ld load1=%.2f acked_total=%" PRIu64
	    " sent_total=%" PRIu64 " pub_reconnects=%" PRIu64
	    " sub_reconnects=%" PRIu64 " lb_cpu=%.0f instances=%d"
	    " same_p50_ms=%.2f same_p99_ms=%.2f same_n=%zu"
	    " cross_p50_ms=%.2f cross_p99_ms=%.2f cross_n=%zu\n",
	    cpu_pct(c0.daemon, c1.daemon, &c0, &c1),
	    cpu_pct(c0.pg, c1.pg, &c0, &c1),
	    cpu_pct(c0.base.self, c1.base.self, &c0, &c1),
	    (long)atomic_load(&rss_peak_kb), hwm, l1, tot.acked, tot.sent,
	    reconn, sreconn, cpu_pct(c0.lb, c1.lb, &c0, &c1), ninst,
	    bench_lat_q(&lat_same, .5), bench_lat_q(&lat_same, .99),
	    lat_same.n, bench_lat_q(&lat_cross, .5),
	    bench_lat_q(&lat_cross, .99), lat_cross.n);
	bench_totals_free(&tot);
	bench_lat_free(&lat_same);
	bench_lat_free(&lat_cross);
	free(pubs);
	free(subs);
	free(rlist);
	PQfinish(db);
	return tot.perr > 0 && tot.win_acked == 0 ? 1 : 0;
}

/* ---- durable backlog --------------------------------------------------------- */

#define BACKLOG_DURABLE		"backlog"
#define BACKLOG_RSS_EVERY_US	50000
#define BACKLOG_QUIET_NS	(15 * NS)
#define BACKLOG_GAP_NS		(2 * NS / 1000)
#define BACKLOG_BINS		120

/* Runs a --before-replay or --after-replay command, if any; says if it
 * failed, and goes on. */
static void
run_hook(const char *cmd, const char *what)
{
	int	rc;

	if (cmd == NULL || *cmd == '\0')
		return;
	fflush(stdout);
	if ((rc = system(cmd)) != 0)
		fprintf(stderr, "bench_broker: %s command exited %d: %s\n",
		    what, rc, cmd);
}

/* One number from a query with text parameters, or -1 (with --db). */
static long long
db_count(PGconn *db, const char *sql, int n, const char *const *params)
{
	PGresult	*r;
	long long	 v = -1;

	if (db == NULL)
		return -1;
	r = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	else
		fprintf(stderr, "bench_broker: --db: %s", PQerrorMessage(db));
	PQclear(r);
	return v;
}

#define SQL_PENDING_COUNT \
	"SELECT count(*) FROM nwd.deliveries WHERE principal = $1 AND " \
	"subscription = $2 AND state = 'pending'"

/*
 * The message ids of the durable queue's pending deliveries in the queue's
 * order (nwd.deliveries.id), the order the daemon replays them in; NULL
 * without --db.  The caller frees the result.
 */
static char (*queue_order(PGconn *db, const char *principal,
    const char *name, size_t *n))[37]
{
	const char	*p[2] = { principal, name };
	char		(*ids)[37];
	PGresult	*r;
	size_t		 i;

	*n = 0;
	if (db == NULL)
		return NULL;
	r = PQexecParams(db, "SELECT message_id::text FROM nwd.deliveries "
	    "WHERE principal = $1 AND subscription = $2 AND state = 'pending' "
	    "ORDER BY id", 2, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "bench_broker: --db: %s", PQerrorMessage(db));
		PQclear(r);
		return NULL;
	}
	*n = (size_t)PQntuples(r);
	ids = bench_xcalloc(*n, sizeof(*ids));
	for (i = 0; i < *n; i++)
		snprintf(ids[i], sizeof(ids[i]), "%s", PQgetvalue(r, (int)i, 0));
	PQclear(r);
	return ids;
}

/*
 * --backlog N: a durable subscription of one principal (the first of
 * --receivers) made and left; N RiskAlerts published flat out by
 * --publishers sessions while it is away, so that they queue for it; then
 * one session of that principal subscribes under the same name and reads
 * until all N have arrived.  Measures the replay from the Subscribe to the
 * last delivery, and nwdd's RSS during it.
 */
static int
run_backlog(void)
{
	Nwd__V1__Kind		 k = NWD__V1__KIND__RISK_ALERT;
	const char		*subj = opt.subject;
	const char		*name = opt.durable != NULL ? opt.durable :
				    BACKLOG_DURABLE;
	struct publisher	*pubs;
	struct nwd_client	*c;
	struct cpu_snap		 c0, c1;
	struct bench_lat	 gaps = { 0 };
	Nwd__V1__Deliver	*d;
	PGconn			*db = NULL;
	pthread_t		 rss_th;
	char			*rlist, *recv[MAX_LIST], err[512];
	const char		*principal, *sum, *mid, *qp[2];
	char			(*qids)[37] = NULL, (*rids)[37] = NULL;
	uint8_t			**rx;
	int64_t			*last, t_run0, t_pub1, t0, t_sub, t_first = 0;
	int64_t			 t_last = 0, t_prev = 0, now, deadline;
	int64_t			 gap_ns = 0;
	struct bench_tag	 tag;
	uint64_t		 acked = 0, sent = 0, perr = 0, seq;
	uint64_t		 got = 0, ours = 0, dup = 0, ooo = 0, stale = 0;
	uint64_t		 foreign = 0, unacked = 0, ackerr = 0, rn = 0;
	uint64_t		 bins[BACKLOG_BINS];
	size_t			 nrecv, nq = 0, i, nbins = 0, mism = 0;
	long long		 pend0 = -1, pend1 = -1, pend2 = -1, id0, id1;
	long			 rss0 = -1, hwm0 = -1, hwm = -1, rss_end = -1;
	long			 peak = -1;
	double			 l1, pub_s, secs, rate;
	enum nwd_status		 st;
	int			 pub, queue_ok = -1, complete, in_order, ended = 0;

	rlist = strdup(opt.run.receivers);
	if (rlist == NULL ||
	    (nrecv = bench_split_list(rlist, recv, MAX_LIST)) == 0)
		bench_die("--receivers names no principal");
	principal = recv[0];
	qp[0] = principal;
	qp[1] = name;
	if (opt.db != NULL) {
		db = PQconnectdb(opt.db);
		if (PQstatus(db) != CONNECTION_OK)
			bench_die("--db: %s", PQerrorMessage(db));
	}
	l1 = bench_loadavg1();
	printf("== backlog: %ld RiskAlerts (body %zu B, subject %s) queued for "
	    "durable subscription \"%s\" of %s while it is away, published by "
	    "%d sessions of %s flat out; then replayed to one session of %s "
	    "(%s)\n", opt.backlog, opt.run.body, opt.subject, name, principal,
	    opt.run.npub, PUBLISHER, principal, opt.ack ? "acking every "
	    "delivery with nwd_ack_nowait(), which does not wait for the "
	    "answer" :
	    "no acks: the replay alone");
	printf("load average before: %.2f\n", l1);

	/* (a) The subscription exists, and its principal is away. */
	c = connect_as(principal, 1);
	if (nwd_subscribe(c, &k, 1, &subj, 1, name, NULL, err,
	    sizeof(err)) != NWD_OK)
		bench_die("subscribe as %s, durable %s: %s", principal, name,
		    err);
	nwd_close(c);
	pend0 = db_count(db, SQL_PENDING_COUNT, 2, qp);
	if (pend0 > 0)
		printf("note: %lld deliveries were pending for \"%s\" before "
		    "this run; they are replayed too (counted as stale)\n",
		    pend0, name);

	/* (b) N publishes, flat out, while it is away. */
	pubs = bench_xcalloc(opt.run.npub, sizeof(*pubs));
	for (i = 0; i < (size_t)opt.run.npub; i++) {
		pubs[i].idx = (int)i;
		pubs[i].c = connect_as(PUBLISHER, 1);
		session_instance(pubs[i].c, pubs[i].inst, sizeof(pubs[i].inst));
	}
	t_run0 = bench_mono_ns();
	/* Flat out from a moment from now, every publish in the window. */
	win.start = win.lo = t_run0 + NS / 10;
	win.hi = INT64_MAX;
	for (i = 0; i < (size_t)opt.run.npub; i++)
		bench_thread_start(&pubs[i].th, publisher_main, &pubs[i]);
	for (i = 0; i < (size_t)opt.run.npub; i++)
		pthread_join(pubs[i].th, NULL);
	t_pub1 = bench_mono_ns();
	rx = bench_xcalloc(opt.run.npub, sizeof(*rx));
	last = bench_xcalloc(opt.run.npub, sizeof(*last));
	for (i = 0; i < (size_t)opt.run.npub; i++) {
		struct publisher *p = &pubs[i];

		sent += p->st.sent;
		acked += p->st.acked;
		perr += p->st.errors;
		if (p->st.errors > 0)
			fprintf(stderr, "publisher %zu: %" PRIu64 " errors, last "
			    "(%s): %s\n", i, p->st.errors,
			    nwd_status_name(p->last_st), p->last_err);
		nwd_close(p->c);
		p->c = NULL;
		rx[i] = bench_xcalloc(p->st.sent, 1);
		last[i] = -1;
	}
	pub_s = (t_pub1 - win.start) / 1e9;
	pend1 = db_count(db, SQL_PENDING_COUNT, 2, qp);
	printf("published: %" PRIu64 " acked of %" PRIu64 " sent in %.1f s "
	    "(%.0f publishes/s), %" PRIu64 " errors", acked, sent, pub_s,
	    acked / pub_s, perr);
	if (pend1 >= 0)
		printf("; %lld pending for \"%s\"", pend1, name);
	printf("\n");
	if (acked == 0)
		bench_die("nothing was published");
	qids = queue_order(db, principal, name, &nq);
	rids = bench_xcalloc(acked + (pend0 > 0 ? (size_t)pend0 : 0) + 1,
	    sizeof(*rids));

	/* (c) The replay, from the Subscribe to the last delivery. */
	id0 = audit_max_id(db);
	rss0 = bench_proc_status_kb(opt.pid, "VmRSS");
	hwm0 = bench_proc_status_kb(opt.pid, "VmHWM");
	run_hook(opt.hook_before, "--before-replay");
	c = connect_as(principal, 1);
	if (opt.pid > 0) {
		rss_every_us = BACKLOG_RSS_EVERY_US;
		atomic_store(&rss_peak_kb,
		    bench_proc_status_kb(opt.pid, "VmRSS"));
		bench_thread_start(&rss_th, rss_sampler, NULL);
	}
	cpu_snap(&c0);
	printf("replay: started\n");
	t0 = bench_mono_ns();
	if (nwd_subscribe(c, &k, 1, &subj, 1, name, NULL, err,
	    sizeof(err)) != NWD_OK)
		bench_die("subscribe as %s, durable %s: %s", principal, name,
		    err);
	t_sub = bench_mono_ns();
	/* Generous: 120 s, or 2 ms a message if that is longer. */
	deadline = t0 + (opt.backlog / 500 > 120 ? opt.backlog / 500 : 120) *
	    NS;
	memset(bins, 0, sizeof(bins));
	t_prev = t0;
	while (ours < acked) {
		now = bench_mono_ns();
		if (now >= deadline || now - (t_last ? t_last : t_sub) >=
		    BACKLOG_QUIET_NS)
			break;
		st = nwd_next_delivery(c, 1000, &d, err, sizeof(err));
		if (st == NWD_ERR_TIMEOUT)
			continue;
		if (st != NWD_OK) {
			fprintf(stderr, "bench_broker: the replay's session "
			    "ended (%s): %s\n", nwd_status_name(st), err);
			ended = 1;
			break;
		}
		now = bench_mono_ns();
		got++;
		if (t_first == 0)
			t_first = now;
		if (now - t_prev >= BACKLOG_GAP_NS) {
			bench_lat_add(&gaps, now - t_prev);
			gap_ns += now - t_prev;
		}
		t_prev = now;
		sum = d->envelope != NULL && d->envelope->risk_alert != NULL ?
		    d->envelope->risk_alert->summary : NULL;
		mid = d->envelope != NULL && d->envelope->header != NULL ?
		    d->envelope->header->message_id : "";
		if (rn < acked + (pend0 > 0 ? (uint64_t)pend0 : 0) + 1)
			snprintf(rids[rn++], sizeof(rids[0]), "%s", mid);
		if (sum == NULL || bench_tag_read(sum, &tag) < 4 ||
		    (pub = tag.pub) < 0 || pub >= opt.run.npub)
			foreign++;
		else if (tag.t_send < t_run0)
			stale++;
		else if ((seq = tag.seq) >= pubs[pub].st.sent ||
		    seq >= pubs[pub].acked_cap || !pubs[pub].acked_seq[seq])
			unacked++;
		else {
			if (rx[pub][seq] > 0)
				dup++;
			else {
				if ((int64_t)seq < last[pub])
					ooo++;
				else
					last[pub] = (int64_t)seq;
				ours++;
				t_last = now;
				if ((size_t)((now - t0) / NS) < BACKLOG_BINS) {
					bins[(now - t0) / NS]++;
					if ((size_t)((now - t0) / NS) >= nbins)
						nbins = (now - t0) / NS + 1;
				}
			}
			if (rx[pub][seq] < UINT8_MAX)
				rx[pub][seq]++;
		}
		if (opt.ack && nwd_ack_nowait(c, d->delivery_id, mid, err,
		    sizeof(err)) != NWD_OK)
			ackerr++;
		nwd_deliver_free(d);
	}
	cpu_snap(&c1);
	printf("replay: done\n");
	run_hook(opt.hook_after, "--after-replay");
	if (opt.pid > 0) {
		atomic_store(&rss_stop, 1);
		pthread_join(rss_th, NULL);
		peak = atomic_load(&rss_peak_kb);
		hwm = bench_proc_status_kb(opt.pid, "VmHWM");
		rss_end = bench_proc_status_kb(opt.pid, "VmRSS");
	}
	nwd_close(c);
	id1 = audit_max_id(db);
	if (opt.ack)
		/* The acks are committed in batches of their own: a moment. */
		usleep(500000);
	pend2 = db_count(db, SQL_PENDING_COUNT, 2, qp);

	/* The queue's order against the order of arrival. */
	if (qids != NULL && nq == rn) {
		for (i = 0; i < nq; i++)
			if (strcmp(qids[i], rids[i]) != 0)
				mism++;
		queue_ok = mism == 0;
	}
	complete = ours == acked && dup == 0;
	in_order = ooo == 0 && queue_ok != 0;
	secs = t_last > t0 ? (t_last - t0) / 1e9 : 0;
	rate = secs > 0 ? ours / secs : 0;
	bench_lat_sort(&gaps);

	printf("replay: SubscribeAck after %.1f ms, first delivery after %.1f "
	    "ms, last after %.2f s\n", (t_sub - t0) / 1e6, t_first > 0 ?
	    (t_first - t0) / 1e6 : -1.0, secs);
	printf("replay: %" PRIu64 " of %" PRIu64 " received in %.2f s: %.0f "
	    "messages/s\n", ours, acked, secs, rate);
	printf("replay: %s, %s; %" PRIu64 " duplicates, %" PRIu64
	    " out of a publisher's order, %" PRIu64 " missing, %" PRIu64
	    " stale (earlier runs), %" PRIu64 " not acked when published, %"
	    PRIu64 " foreign%s\n", complete ? "complete" : "INCOMPLETE",
	    in_order ? "in order" : "OUT OF ORDER", dup, ooo, acked - ours,
	    stale, unacked, foreign, ended ? "; the session ended" : "");
	if (queue_ok >= 0)
		printf("replay: against the queue's order (nwd.deliveries.id, "
		    "%zu pending before): %s\n", nq, queue_ok ? "the same" :
		    "differs");
	else if (qids != NULL)
		printf("replay: against the queue's order: not compared (%zu "
		    "pending before, %" PRIu64 " received)\n", nq, rn);
	if (mism > 0)
		printf("replay: %zu positions differ from the queue's order\n",
		    mism);
	printf("replay: messages by second:");
	for (i = 0; i < nbins; i++)
		printf(" %" PRIu64, bins[i]);
	printf("\n");
	printf("replay: pauses of >= 2 ms between deliveries: %zu, %.2f s in "
	    "all (%.0f%% of the replay), p50 %.1f ms, p90 %.1f ms, max %.1f "
	    "ms\n", gaps.n, gap_ns / 1e9, secs > 0 ? 100 * gap_ns / 1e9 / secs :
	    0, bench_lat_q(&gaps, .5), bench_lat_q(&gaps, .9),
	    bench_lat_q(&gaps, 1));
	if (opt.ack)
		printf("replay: %" PRIu64 " acks failed to send\n", ackerr);
	printf("during the replay, ");
	print_cpu(&c0, &c1);
	if (opt.pid > 0)
		printf("nwdd memory:         RSS %ld kB before the replay, peak "
		    "%ld kB during it (sampled every %d ms), %ld kB after; "
		    "VmHWM %ld kB before, %ld kB after\n", rss0, peak,
		    BACKLOG_RSS_EVERY_US / 1000, rss_end, hwm0, hwm);
	if (id0 >= 0 && id1 >= 0) {
		printf("audit rows written during the replay: %lld (%.2f per "
		    "message)\n", id1 - id0, ours > 0 ? (double)(id1 - id0) /
		    ours : 0);
	}
	if (pend2 >= 0)
		printf("pending for \"%s\" after the replay: %lld\n", name,
		    pend2);
	printf("RESULT mode=backlog messages=%" PRIu64 " received=%" PRIu64
	    " seconds=%.3f per_s=%.0f peak_rss_kb=%ld rss_before_kb=%ld "
	    "rss_after_kb=%ld hwm_kb=%ld in_order=%d complete=%d "
	    "duplicates=%" PRIu64 " out_of_order=%" PRIu64 " queue_order=%d "
	    "stale=%" PRIu64 " ack=%d publishers=%d body=%zu "
	    "publish_per_s=%.0f publish_errors=%" PRIu64 " first_ms=%.1f "
	    "pauses=%zu pause_s=%.3f audit_rows=%lld nwdd_cpu=%.0f pg_cpu=%.0f "
	    "bench_cpu=%.0f load1=%.2f\n", acked, ours, secs, rate, peak, rss0,
	    rss_end, hwm, in_order, complete, dup, ooo, queue_ok, stale,
	    opt.ack, opt.run.npub, opt.run.body, acked / pub_s, perr,
	    t_first > 0 ? (t_first - t0) / 1e6 : -1.0, gaps.n, gap_ns / 1e9, id0 >= 0 &&
	    id1 >= 0 ? id1 - id0 : -1, cpu_pct(c0.daemon, c1.daemon, &c0, &c1),
	    cpu_pct(c0.pg, c1.pg, &c0, &c1), cpu_pct(c0.base.self,
	    c1.base.self, &c0, &c1), l1);
	for (i = 0; i < (size_t)opt.run.npub; i++) {
		free(rx[i]);
		free(pubs[i].acked_seq);
		bench_lat_free(&pubs[i].st.ack_lat);
	}
	free(rx);
	free(last);
	free(pubs);
	free(qids);
	free(rids);
	bench_lat_free(&gaps);
	free(rlist);
	PQfinish(db);
	return 0;
}

/* ---- deadlines and escalations ------------------------------------------------ */

#define DL_SUBJECT_FMT		"YP-DL-%04d"
#define DL_TEAM			"hub:norwich"
#define DL_HUB			"hubsys-norwich"
#define DL_DUTY			"duty-mash"
#define DL_RULE			"urgent-alert-ack"
#define DL_WAIT_NS		(180 * NS)	/* for the escalations */
#define DL_QUIET_NS		(3 * NS)	/* after them: any more? */
#define DL_POLL_NS		(25 * NS / 1000) /* --db: escalated rows */
#define DL_TIMELINE_MAX		60		/* bins printed */
#define DL_TAG			"nwdbench-dl"

/* The publishes that set the deadlines, by publish index. */
struct dl_alert {
	char	 id[37];
	int	 urgent;
	int	 acked;
	int	 duty_seen;	/* escalations of it the duty desk got */
};

static struct dl_alert	*dl_alerts;
static struct dl_alert	**dl_sorted;	/* acked ones, by id */
static size_t		 dl_nsorted;
static atomic_long	 dl_next;	/* the fill's next index */
static char		(*dl_subjects)[32];
static int64_t		 dl_t0;		/* the steady publishers' start */
static atomic_llong	 dl_stop_at;	/* nothing due at or after it */
static atomic_int	 dl_readers_stop;

/* Publish i of the fill is URGENT: every (N / M)th, M of them. */
static int
dl_is_urgent(long i)
{
	long	stride = opt.deadlines / opt.breaching;

	return i % stride == 0 && i / stride < opt.breaching;
}

/* A RiskAlert about subject at priority prio (the traffic's otherwise). */
static void
dl_envelope(Nwd__V1__Envelope *env, Nwd__V1__Header *h,
    Nwd__V1__SubjectRef *s, Nwd__V1__RiskAlert *a, char *summary)
{
	fill_alert(env, h, s, a, summary);
	a->level = NWD__V1__RISK_ALERT__LEVEL__HIGH;
}

/* A publish refused for the moment, or a session that ended: go on. */
static void
dl_publish_failed(struct nwd_client **c, enum nwd_status st)
{
	if (st != NWD_ERR_REFUSED && st != NWD_ERR_UNAVAILABLE &&
	    st != NWD_ERR_INVALID) {
		nwd_close(*c);
		*c = NULL;
	}
}

struct dl_filler {
	pthread_t	 th;
	struct nwd_client *c;
	uint64_t	 errors;
	char		 last_err[256];
};

static void *
dl_fill_main(void *arg)
{
	struct dl_filler	*f = arg;
	Nwd__V1__Envelope	 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header		 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef	 s = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__RiskAlert	 a = NWD__V1__RISK_ALERT__INIT;
	Nwd__V1__PublishAck	*ack;
	enum nwd_status		 st;
	char			*summary, tag[64];
	long			 i;
	int			 try, n;

	summary = bench_xcalloc(1, opt.run.body + 1);
	memset(summary, 'x', opt.run.body);
	dl_envelope(&env, &h, &s, &a, summary);
	while ((i = atomic_fetch_add(&dl_next, 1)) < opt.deadlines) {
		dl_alerts[i].urgent = dl_is_urgent(i);
		s.local_id = dl_subjects[i % opt.dl_subjects];
		h.priority = dl_alerts[i].urgent ? NWD__V1__PRIORITY__URGENT :
		    NWD__V1__PRIORITY__HIGH;
		n = snprintf(tag, sizeof(tag), DL_TAG " %ld %s ", i,
		    dl_alerts[i].urgent ? "URGENT" : "HIGH");
		memcpy(summary, tag, (size_t)n < opt.run.body ? (size_t)n :
		    opt.run.body);
		/* Refused for the moment (a full queue): again, a few times. */
		for (try = 0; try < 5 && !dl_alerts[i].acked; try++) {
			if (f->c == NULL &&
			    (f->c = connect_as(PUBLISHER, 0)) == NULL) {
				f->errors++;
				usleep(100000);
				continue;
			}
			ack = NULL;
			st = nwd_publish(f->c, &env, &ack, f->last_err,
			    sizeof(f->last_err));
			if (st == NWD_OK) {
				snprintf(dl_alerts[i].id,
				    sizeof(dl_alerts[i].id), "%s",
				    ack->message_id);
				dl_alerts[i].acked = 1;
			} else {
				f->errors++;
				dl_publish_failed(&f->c, st);
				usleep(100000);
			}
			nwd_publish_ack_free(ack);
		}
	}
	free(summary);
	return NULL;
}

/* One publish of the steady publishers: when it was due, sent, acked. */
struct dl_sample {
	int64_t	 due, sent, acked;	/* acked: 0 if it failed */
};

struct dl_steady {
	pthread_t	 th;
	int		 idx;
	struct nwd_client *c;
	struct dl_sample *v;
	size_t		 n, cap;
	uint64_t	 errors;
	char		 last_err[256];
};

static void *
dl_steady_main(void *arg)
{
	struct dl_steady	*p = arg;
	Nwd__V1__Envelope	 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header		 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef	 s = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__RiskAlert	 a = NWD__V1__RISK_ALERT__INIT;
	Nwd__V1__PublishAck	*ack;
	enum nwd_status		 st;
	struct dl_sample	*sm;
	int64_t			 interval, due, t_send, t_ack;
	uint64_t		 seq = 0;
	char			*summary;

	summary = bench_xcalloc(1, opt.run.body + 1);
	memset(summary, 'x', opt.run.body);
	/* ROUTINE: no deadline rule applies to it. */
	fill_alert(&env, &h, &s, &a, summary);
	interval = (int64_t)((double)opt.dl_steady * NS / opt.run.rate);
	due = dl_t0 + (int64_t)((double)p->idx * NS / opt.run.rate);
	for (;; due += interval, seq++) {
		if (due >= atomic_load(&dl_stop_at))
			break;
		bench_sleep_until(due);
		if (due >= atomic_load(&dl_stop_at))
			break;
		t_send = bench_mono_ns();
		s.local_id = dl_subjects[(p->idx + seq * opt.dl_steady) %
		    (uint64_t)opt.dl_subjects];
		bench_tag_write(summary, opt.run.body, p->idx, seq, t_send, due,
		    "-");
		t_ack = 0;
		if (p->c == NULL && (p->c = connect_as(PUBLISHER, 0)) == NULL)
			p->errors++;
		else {
			ack = NULL;
			st = nwd_publish(p->c, &env, &ack, p->last_err,
			    sizeof(p->last_err));
			if (st == NWD_OK)
				t_ack = bench_mono_ns();
			else {
				p->errors++;
				dl_publish_failed(&p->c, st);
			}
			nwd_publish_ack_free(ack);
		}
		if (p->n == p->cap) {
			p->cap = p->cap ? p->cap * 2 : 4096;
			if ((p->v = realloc(p->v, p->cap * sizeof(*p->v))) ==
			    NULL)
				bench_die("out of memory");
		}
		sm = &p->v[p->n++];
		sm->due = due;
		sm->sent = t_send;
		sm->acked = t_ack;
	}
	free(summary);
	return NULL;
}

/* Starts the steady publishers (connected already) a moment from now. */
static void
dl_steady_start(struct dl_steady *st)
{
	int	i;

	dl_t0 = bench_mono_ns() + NS / 10;
	atomic_store(&dl_stop_at, INT64_MAX);
	for (i = 0; i < opt.dl_steady; i++) {
		st[i].idx = i;
		st[i].n = 0;
		bench_thread_start(&st[i].th, dl_steady_main, &st[i]);
	}
}

static void
dl_steady_stop(struct dl_steady *st, int64_t at)
{
	int	i;

	atomic_store(&dl_stop_at, at);
	for (i = 0; i < opt.dl_steady; i++)
		pthread_join(st[i].th, NULL);
}

struct dl_stats {
	size_t	 n, failed, late;
	double	 p50, p99, p999, max;		/* publish->ack, ms */
	double	 due_p99, due_max;		/* due->ack, ms */
	double	 seconds, per_s;
};

/* The steady publishes due in [lo, hi). */
static void
dl_stats(const struct dl_steady *st, int64_t lo, int64_t hi,
    struct dl_stats *o)
{
	struct bench_lat	 a = { 0 }, d = { 0 };
	size_t		 k;
	int		 i;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < opt.dl_steady; i++)
		for (k = 0; k < st[i].n; k++) {
			const struct dl_sample *sm = &st[i].v[k];

			if (sm->due < lo || sm->due >= hi)
				continue;
			o->n++;
			if (sm->sent - sm->due > 1000000)
				o->late++;
			if (sm->acked == 0) {
				o->failed++;
				continue;
			}
			bench_lat_add(&a, sm->acked - sm->sent);
			bench_lat_add(&d, sm->acked - sm->due);
		}
	bench_lat_sort(&a);
	bench_lat_sort(&d);
	o->p50 = bench_lat_q(&a, .5);
	o->p99 = bench_lat_q(&a, .99);
	o->p999 = bench_lat_q(&a, .999);
	o->max = bench_lat_q(&a, 1);
	o->due_p99 = bench_lat_q(&d, .99);
	o->due_max = bench_lat_q(&d, 1);
	o->seconds = (hi - lo) / 1e9;
	o->per_s = o->seconds > 0 ? (o->n - o->failed) / o->seconds : 0;
	bench_lat_free(&a);
	bench_lat_free(&d);
}

static void
dl_print_stats(const char *what, const struct dl_stats *s)
{
	printf("steady %-30s %zu publishes due in %.2f s (%.0f acked/s): "
	    "publish->ack p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  max %.2f "
	    "ms; due->ack p99 %.2f ms  max %.2f ms; %zu sent > 1 ms late, "
	    "%zu failed\n", what, s->n, s->seconds, s->per_s, s->p50, s->p99,
	    s->p999, s->max, s->due_p99, s->due_max, s->late, s->failed);
}

/* A steady window with no clock move: after --warmup, --seconds long. */
static void
dl_steady_window(struct dl_steady *st, const char *what, struct dl_stats *o)
{
	int64_t	lo, hi;
	double	l1 = bench_loadavg1();

	dl_steady_start(st);
	lo = dl_t0 + (int64_t)(opt.run.warmup * NS);
	hi = lo + (int64_t)(opt.run.seconds * NS);
	bench_sleep_until(hi);
	dl_steady_stop(st, hi);
	dl_stats(st, lo, hi, o);
	printf("(load average %.2f) ", l1);
	dl_print_stats(what, o);
}

/* An Escalation a reader received. */
struct dl_rx {
	int64_t		 t;
	char		 about[37];
	char		 rule[40];
	uint32_t	 count;
};

struct dl_reader {
	pthread_t	 th;
	const char	*principal;
	struct nwd_client *c;
	pthread_mutex_t	 mu;
	struct dl_rx	*v;		/* escalations, in order */
	size_t		 n, cap;
	atomic_long	 nesc;
	uint64_t	 alerts, other;
	int		 ended;
	char		 last_err[256];
};

static void *
dl_reader_main(void *arg)
{
	struct dl_reader	*r = arg;
	Nwd__V1__Deliver	*d;
	Nwd__V1__Envelope	*e;
	struct dl_rx		*x;
	enum nwd_status		 st;

	while (!atomic_load(&dl_readers_stop)) {
		st = nwd_next_delivery(r->c, 100, &d, r->last_err,
		    sizeof(r->last_err));
		if (st == NWD_ERR_TIMEOUT)
			continue;
		if (st != NWD_OK) {
			r->ended = 1;
			break;
		}
		e = d->envelope;
		/* The body is a union: its case says which. */
		if (e != NULL && e->body_case ==
		    NWD__V1__ENVELOPE__BODY_ESCALATION &&
		    e->escalation != NULL) {
			pthread_mutex_lock(&r->mu);
			if (r->n == r->cap) {
				r->cap = r->cap ? r->cap * 2 : 2048;
				if ((r->v = realloc(r->v, r->cap *
				    sizeof(*r->v))) == NULL)
					bench_die("out of memory");
			}
			x = &r->v[r->n++];
			x->t = bench_mono_ns();
			snprintf(x->about, sizeof(x->about), "%s",
			    e->escalation->about_message_id);
			snprintf(x->rule, sizeof(x->rule), "%s",
			    e->escalation->rule);
			x->count = e->escalation->count;
			pthread_mutex_unlock(&r->mu);
			atomic_fetch_add(&r->nesc, 1);
		} else if (e != NULL && e->body_case ==
		    NWD__V1__ENVELOPE__BODY_RISK_ALERT)
			r->alerts++;
		else
			r->other++;
		/* Never acknowledged: the alerts' deadlines stay unmet. */
		nwd_deliver_free(d);
	}
	return NULL;
}

static void
dl_reader_start(struct dl_reader *r, const char *principal,
    const Nwd__V1__Kind *kinds, size_t nkinds)
{
	char	err[512];

	memset(r, 0, sizeof(*r));
	r->principal = principal;
	pthread_mutex_init(&r->mu, NULL);
	r->c = connect_as(principal, 1);
	if (nwd_subscribe(r->c, kinds, nkinds, NULL, 0, NULL, NULL, err,
	    sizeof(err)) != NWD_OK)
		bench_die("subscribe as %s: %s", principal, err);
	bench_thread_start(&r->th, dl_reader_main, r);
}

/* --db: when the escalated audit rows since id0 reach one, and the target. */
struct dl_poll {
	pthread_t	 th;
	PGconn		*db;
	char		 id0[24];
	long long	 target, count;
	int64_t		 t_first, t_last;
	atomic_int	 stop;
};

static void *
dl_poll_main(void *arg)
{
	struct dl_poll	*p = arg;
	const char	*params[1] = { p->id0 };
	int64_t		 next = bench_mono_ns(), now;

	while (!atomic_load(&p->stop)) {
		p->count = db_count(p->db, "SELECT count(*) FROM "
		    "nwd.audit_events WHERE id > $1::bigint AND action = "
		    "'escalated'", 1, params);
		now = bench_mono_ns();
		if (p->count > 0 && p->t_first == 0)
			p->t_first = now;
		if (p->count >= p->target) {
			p->t_last = now;
			break;
		}
		if (p->count < 0)
			break;
		next += DL_POLL_NS;
		bench_sleep_until(next > now ? next : now);
	}
	return NULL;
}

static int
dl_cmp(const void *a, const void *b)
{
	return strcmp((*(struct dl_alert *const *)a)->id,
	    (*(struct dl_alert *const *)b)->id);
}

static struct dl_alert *
dl_find(const char *id)
{
	struct dl_alert		 key, *kp = &key, **hit;

	snprintf(key.id, sizeof(key.id), "%s", id);
	hit = bsearch(&kp, dl_sorted, dl_nsorted, sizeof(*dl_sorted),
	    dl_cmp);
	return hit != NULL ? *hit : NULL;
}

static int64_t
real_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The test clock's time, and when the file was written (real ms). */
static int64_t
dl_clock_read(int64_t *mtime_ms)
{
	struct stat	 sb;
	long long	 v;
	FILE		*fp;

	if ((fp = fopen(opt.clock, "r")) == NULL)
		bench_die("--clock %s: %s", opt.clock, strerror(errno));
	if (fscanf(fp, "%lld", &v) != 1 || v <= 0)
		bench_die("--clock %s: expected Unix milliseconds", opt.clock);
	if (fstat(fileno(fp), &sb) == -1)
		bench_die("--clock %s: %s", opt.clock, strerror(errno));
	fclose(fp);
	*mtime_ms = (int64_t)sb.st_mtim.tv_sec * 1000 +
	    sb.st_mtim.tv_nsec / 1000000;
	return v;
}

/* Writes the test clock as nwdd reads it: a new file, renamed over it. */
static void
dl_clock_write(int64_t ms)
{
	char	 tmp[4096];
	FILE	*fp;

	snprintf(tmp, sizeof(tmp), "%s.new", opt.clock);
	if ((fp = fopen(tmp, "w")) == NULL)
		bench_die("%s: %s", tmp, strerror(errno));
	fprintf(fp, "%" PRId64 "\n", ms);
	if (fclose(fp) != 0 || rename(tmp, opt.clock) == -1)
		bench_die("--clock %s: %s", opt.clock, strerror(errno));
}

/* Prints the deadlines by rule and state (--db). */
static void
dl_print_deadlines(PGconn *db, const char *when)
{
	PGresult	*r;
	int		 i;

	if (db == NULL)
		return;
	r = PQexec(db, "SELECT rule, state, count(*) FROM nwd.deadlines "
	    "GROUP BY 1, 2 ORDER BY 1, 2");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "bench_broker: --db: %s", PQerrorMessage(db));
		PQclear(r);
		return;
	}
	printf("nwd.deadlines %s:", when);
	for (i = 0; i < PQntuples(r); i++)
		printf("%s %s %s %s", i ? "," : "", PQgetvalue(r, i, 0),
		    PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
	printf("%s\n", PQntuples(r) == 0 ? " none" : "");
	PQclear(r);
}

/*
 * --deadlines N: N RiskAlerts (--breaching M of them URGENT, the rest HIGH)
 * about --subjects young people allocated to the hub, so that N deadlines
 * are open, none of them acknowledged; then the wall clock (--clock, nwdd's
 * test_clock) moved on 16 minutes, so that the M URGENT ones breach at
 * once, with the duty desk subscribed to escalations and --rate steady
 * publishes going on.  See the top of this file.
 */
static int
run_deadlines(void)
{
	static const Nwd__V1__Kind duty_kinds[] = { NWD__V1__KIND__ESCALATION };
	static const Nwd__V1__Kind hub_kinds[] = { NWD__V1__KIND__RISK_ALERT,
	    NWD__V1__KIND__ESCALATION };
	struct dl_reader	 duty, hub;
	struct dl_filler	*fill;
	struct dl_steady	*st;
	struct dl_stats		 s_none, s_open, s_fire, s_win;
	struct dl_poll		 poll;
	struct cpu_snap		 c0, c1;
	struct dl_alert		*al;
	struct nwd_client	*c;
	PGconn			*db = NULL;
	char			 err[512], team[] = DL_TEAM;
	const char		*sq[1];
	int64_t			 t_f0, t_f1, old_ms, mtime_ms, wall_ms, new_ms;
	int64_t			 t_move, real_move, t_seen, t_first = 0;
	int64_t			 t_last = 0, t_hub_last = 0, t_end, bin;
	uint64_t		 fill_errors = 0, steady_errors = 0;
	size_t			 i, k, nacked = 0, distinct = 0, dup = 0;
	size_t			 high = 0, foreign = 0, wrong = 0, before = 0;
	size_t			 hub_got = 0, nbins, duty_n, hub_n;
	size_t			 bins[DL_TIMELINE_MAX];
	double			 bins_max[DL_TIMELINE_MAX];
	long long		 open0 = -1, id0 = -1, db_esc = -1;
	long long		 db_esc_distinct = -1, db_breached = -1;
	long long		 db_other_rule = -1, db_breached_rows = -1;
	double			 l1, l_move, fill_s, secs;
	int			 complete, j;

	if (opt.clock == NULL)
		bench_die("--deadlines needs --clock FILE (nwdd's test_clock)");
	if (opt.breaching < 1 || opt.breaching > opt.deadlines)
		bench_die("--breaching must be 1 to --deadlines");
	if (opt.run.rate <= 0)
		opt.run.rate = 200;
	(void)dl_clock_read(&mtime_ms);
	if (opt.db != NULL) {
		db = PQconnectdb(opt.db);
		if (PQstatus(db) != CONNECTION_OK)
			bench_die("--db: %s", PQerrorMessage(db));
	}
	l1 = bench_loadavg1();
	printf("== deadlines: %ld RiskAlerts from %s (%ld URGENT: %s, 15 "
	    "minutes; %ld HIGH: 60 minutes) about %d young people allocated "
	    "to %s, published by %d sessions flat out and never "
	    "acknowledged; %s subscribed to escalations (live), %s to alerts "
	    "and escalations; %d sessions publishing %.0f ROUTINE RiskAlerts/s "
	    "(body %zu B); then the wall clock (%s) moved on %d minutes\n",
	    opt.deadlines, PUBLISHER, opt.breaching, DL_RULE,
	    opt.deadlines - opt.breaching, opt.dl_subjects, DL_TEAM,
	    opt.run.npub, DL_DUTY, DL_HUB, opt.dl_steady, opt.run.rate,
	    opt.run.body, opt.clock, opt.clock_step);
	printf("load average before: %.2f\n", l1);

	/* (a) The young people, allocated to the hub. */
	dl_subjects = bench_xcalloc(opt.dl_subjects, sizeof(*dl_subjects));
	c = connect_as(ALLOCATOR, 1);
	for (j = 0; j < opt.dl_subjects; j++) {
		Nwd__V1__Envelope	 env = NWD__V1__ENVELOPE__INIT;
		Nwd__V1__Header		 h = NWD__V1__HEADER__INIT;
		Nwd__V1__SubjectRef	 s = NWD__V1__SUBJECT_REF__INIT;
		Nwd__V1__Allocation	 a = NWD__V1__ALLOCATION__INIT;
		Nwd__V1__PublishAck	*ack = NULL;

		snprintf(dl_subjects[j], sizeof(dl_subjects[j]),
		    DL_SUBJECT_FMT, j);
		s.local_id = dl_subjects[j];
		h.kind = NWD__V1__KIND__ALLOCATION;
		h.subject = &s;
		h.marking = NWD__V1__MARKING__OFFICIAL;
		a.team = team;
		env.header = &h;
		env.body_case = NWD__V1__ENVELOPE__BODY_ALLOCATION;
		env.allocation = &a;
		if (nwd_publish(c, &env, &ack, err, sizeof(err)) != NWD_OK)
			bench_die("allocate %s to %s as %s: %s", dl_subjects[j],
			    DL_TEAM, ALLOCATOR, err);
		nwd_publish_ack_free(ack);
	}
	nwd_close(c);
	printf("allocated %s..%s to %s\n", dl_subjects[0],
	    dl_subjects[opt.dl_subjects - 1], DL_TEAM);

	/* (b) Who is listening: the duty desk and the hub. */
	dl_reader_start(&duty, DL_DUTY, duty_kinds, 1);
	dl_reader_start(&hub, DL_HUB, hub_kinds, 2);
	st = bench_xcalloc(opt.dl_steady, sizeof(*st));
	for (j = 0; j < opt.dl_steady; j++)
		st[j].c = connect_as(PUBLISHER, 1);

	/* (c) The steady publishes before any deadline is open. */
	dl_steady_window(st, "(no deadlines open):", &s_none);

	/* (d) N deadlines set. */
	dl_alerts = bench_xcalloc(opt.deadlines, sizeof(*dl_alerts));
	fill = bench_xcalloc(opt.run.npub, sizeof(*fill));
	for (j = 0; j < opt.run.npub; j++)
		fill[j].c = connect_as(PUBLISHER, 1);
	t_f0 = bench_mono_ns();
	for (j = 0; j < opt.run.npub; j++)
		bench_thread_start(&fill[j].th, dl_fill_main, &fill[j]);
	for (j = 0; j < opt.run.npub; j++) {
		pthread_join(fill[j].th, NULL);
		fill_errors += fill[j].errors;
		if (fill[j].errors > 0)
			fprintf(stderr, "fill session %d: %" PRIu64 " errors, "
			    "the last: %s\n", j, fill[j].errors,
			    fill[j].last_err);
		nwd_close(fill[j].c);
	}
	t_f1 = bench_mono_ns();
	fill_s = (t_f1 - t_f0) / 1e9;
	dl_sorted = bench_xcalloc(opt.deadlines, sizeof(*dl_sorted));
	for (i = 0; i < (size_t)opt.deadlines; i++)
		if (dl_alerts[i].acked) {
			nacked++;
			dl_sorted[dl_nsorted++] = &dl_alerts[i];
		}
	qsort(dl_sorted, dl_nsorted, sizeof(*dl_sorted), dl_cmp);
	printf("deadlines set: %zu of %ld alerts acked in %.1f s (%.0f "
	    "publishes/s), %" PRIu64 " errors\n", nacked, opt.deadlines,
	    fill_s, nacked / fill_s, fill_errors);
	if (nacked < (size_t)opt.deadlines)
		bench_die("only %zu of %ld alerts were published", nacked,
		    opt.deadlines);
	if (db != NULL) {
		open0 = db_count(db, "SELECT count(*) FROM nwd.deadlines WHERE "
		    "state = 'open'", 0, NULL);
		dl_print_deadlines(db, "after the fill");
	}

	/* (e) The same steady publishes, N deadlines open, none due. */
	dl_steady_window(st, "(deadlines open, none due):", &s_open);

	/* (f) The clock moves: M breach at once, the steady publishes on. */
	dl_steady_start(st);
	bench_sleep_until(dl_t0 + (int64_t)(opt.run.warmup * NS));
	run_hook(opt.hook_before, "--before-move");
	memset(&poll, 0, sizeof(poll));
	if (db != NULL) {
		id0 = audit_max_id(db);
		if ((poll.db = PQconnectdb(opt.db)) == NULL ||
		    PQstatus(poll.db) != CONNECTION_OK)
			bench_die("--db: %s", PQerrorMessage(poll.db));
		snprintf(poll.id0, sizeof(poll.id0), "%lld", id0);
		poll.target = opt.breaching;
	}
	old_ms = dl_clock_read(&mtime_ms);
	l_move = bench_loadavg1();
	cpu_snap(&c0);
	/* nwdd's wall clock: the file's time, run on since it was written. */
	real_move = real_ms();
	wall_ms = old_ms + (real_move - mtime_ms);
	new_ms = wall_ms + (int64_t)opt.clock_step * 60000;
	if (db != NULL)
		bench_thread_start(&poll.th, dl_poll_main, &poll);
	t_move = bench_mono_ns();
	dl_clock_write(new_ms);
	printf("clock moved: %" PRId64 " -> %" PRId64 " (+%d minutes) at real "
	    "time %" PRId64 " ms; load average %.2f\n", wall_ms, new_ms,
	    opt.clock_step, real_move, l_move);
	/* Until M have reached the duty desk (or DL_WAIT_NS). */
	for (;;) {
		t_seen = bench_mono_ns();
		if (atomic_load(&duty.nesc) >= opt.breaching || t_seen - t_move >= DL_WAIT_NS)
			break;
		usleep(2000);
	}
	cpu_snap(&c1);
	run_hook(opt.hook_after, "--after-move");
	/* The steady publishes run at least --seconds from the move. */
	t_end = t_move + (int64_t)(opt.run.seconds * NS);
	if (t_end > bench_mono_ns())
		bench_sleep_until(t_end);
	else
		t_end = bench_mono_ns();
	dl_steady_stop(st, t_end);
	/* Anything more (a duplicate, a HIGH one) would come now. */
	bench_sleep_until(bench_mono_ns() + DL_QUIET_NS);
	if (db != NULL) {
		atomic_store(&poll.stop, 1);
		pthread_join(poll.th, NULL);
		PQfinish(poll.db);
	}
	atomic_store(&dl_readers_stop, 1);
	pthread_join(duty.th, NULL);
	pthread_join(hub.th, NULL);

	/* What the duty desk got. */
	duty_n = duty.n;
	memset(bins, 0, sizeof(bins));
	for (k = 0; k < DL_TIMELINE_MAX; k++)
		bins_max[k] = 0;
	for (i = 0; i < duty_n; i++) {
		const struct dl_rx *x = &duty.v[i];

		if (x->t < t_move) {
			before++;
			continue;
		}
		if ((al = dl_find(x->about)) == NULL) {
			foreign++;
			continue;
		}
		if (!al->urgent) {
			high++;
			continue;
		}
		if (strcmp(x->rule, DL_RULE) != 0 || x->count != 1)
			wrong++;
		if (al->duty_seen++ > 0) {
			dup++;
			continue;
		}
		distinct++;
		if (t_first == 0)
			t_first = x->t;
		t_last = x->t;
	}
	/* The hub: the escalations about URGENT alerts (a count only). */
	hub_n = hub.n;
	for (i = 0; i < hub_n; i++)
		if (hub.v[i].t >= t_move && (al = dl_find(hub.v[i].about)) !=
		    NULL && al->urgent) {
			hub_got++;
			t_hub_last = hub.v[i].t;
		}
	complete = distinct == (size_t)opt.breaching && dup == 0 &&
	    high == 0 && foreign == 0 && wrong == 0 && before == 0;
	secs = t_last > t_move ? (t_last - t_move) / 1e9 : 0;

	/* The steady publishes while they fired, and over --seconds. */
	dl_stats(st, t_move, t_last > t_move ? t_last : t_seen, &s_fire);
	dl_stats(st, t_move, t_move + (int64_t)(opt.run.seconds * NS), &s_win);
	for (j = 0; j < opt.dl_steady; j++) {
		steady_errors += st[j].errors;
		if (st[j].errors > 0)
			fprintf(stderr, "steady session %d: %" PRIu64 " errors, "
			    "the last: %s\n", j, st[j].errors,
			    st[j].last_err);
	}

	if (db != NULL) {
		char		 idb[24];
		const char	*p1[1] = { idb };

		snprintf(idb, sizeof(idb), "%lld", id0);
		db_esc = db_count(db, "SELECT count(*) FROM nwd.audit_events "
		    "WHERE id > $1::bigint AND action = 'escalated'", 1, p1);
		db_esc_distinct = db_count(db, "SELECT count(DISTINCT "
		    "message_id) FROM nwd.audit_events WHERE id > $1::bigint "
		    "AND action = 'escalated'", 1, p1);
		db_breached_rows = db_count(db, "SELECT count(*) FROM "
		    "nwd.audit_events WHERE id > $1::bigint AND action = "
		    "'deadline_breached'", 1, p1);
		db_other_rule = db_count(db, "SELECT count(*) FROM "
		    "nwd.audit_events WHERE id > $1::bigint AND action IN "
		    "('escalated', 'deadline_breached') AND rule <> '" DL_RULE
		    "'", 1, p1);
		sq[0] = DL_RULE;
		db_breached = db_count(db, "SELECT count(*) FROM nwd.deadlines "
		    "WHERE state = 'breached' AND rule = $1", 1, sq);
		dl_print_deadlines(db, "after the escalations");
	}

	printf("escalations: the duty desk got %zu of %ld in %.3f s from the "
	    "clock move (the first after %.1f ms): %.0f escalations/s\n",
	    distinct, opt.breaching, secs, t_first > 0 ? (t_first - t_move) /
	    1e6 : -1.0, secs > 0 ? distinct / secs : 0);
	printf("escalations: %s; %zu duplicates, %zu about HIGH alerts, %zu "
	    "about messages not ours, %zu with another rule or a count not "
	    "1, %zu before the clock moved; the hub got %zu (the last after "
	    "%.3f s)%s%s\n", complete ? "each once, none else" : "CHECK FAILED",
	    dup, high, foreign, wrong, before, hub_got, t_hub_last > 0 ?
	    (t_hub_last - t_move) / 1e9 : -1.0, duty.ended ?
	    "; the duty desk's session ENDED" : "", hub.ended ?
	    "; the hub's session ENDED" : "");
	if (db != NULL)
		printf("escalations: audit rows since the move: %lld escalated "
		    "(%lld messages), %lld deadline_breached, %lld of either "
		    "under another rule; %lld %s deadlines breached; the %ldth "
		    "escalated row seen after %.3f s (polled every %d ms; the "
		    "first after %.3f s)\n", db_esc, db_esc_distinct,
		    db_breached_rows, db_other_rule, db_breached, DL_RULE,
		    opt.breaching, poll.t_last > 0 ? (poll.t_last - t_move) /
		    1e9 : -1.0, (int)(DL_POLL_NS / 1000000), poll.t_first > 0 ?
		    (poll.t_first - t_move) / 1e9 : -1.0);
	/* The timeline: escalations, and the slowest steady ack, by bin. */
	bin = secs <= 5 ? NS / 10 : secs <= 60 ? NS : 10 * NS;
	nbins = (size_t)((t_last - t_move) / bin) + 1;
	if (nbins > DL_TIMELINE_MAX)
		nbins = DL_TIMELINE_MAX;
	for (i = 0; i < duty_n; i++)
		if (duty.v[i].t >= t_move &&
		    (k = (size_t)((duty.v[i].t - t_move) / bin)) < nbins)
			bins[k]++;
	for (j = 0; j < opt.dl_steady; j++)
		for (k = 0; k < st[j].n; k++) {
			const struct dl_sample *sm = &st[j].v[k];
			size_t b;

			if (sm->due < t_move || sm->acked == 0 ||
			    (b = (size_t)((sm->due - t_move) / bin)) >= nbins)
				continue;
			if ((sm->acked - sm->sent) / 1e6 > bins_max[b])
				bins_max[b] = (sm->acked - sm->sent) / 1e6;
		}
	printf("timeline from the move, by %.1f s: escalations received:",
	    bin / 1e9);
	for (i = 0; i < nbins; i++)
		printf(" %zu", bins[i]);
	printf("\ntimeline from the move, by %.1f s: slowest steady "
	    "publish->ack (ms):", bin / 1e9);
	for (i = 0; i < nbins; i++)
		printf(" %.0f", bins_max[i]);
	printf("\n");
	dl_print_stats("(no deadlines open):", &s_none);
	dl_print_stats("(deadlines open, none due):", &s_open);
	dl_print_stats("(while the escalations came):", &s_fire);
	dl_print_stats("(--seconds from the move):", &s_win);
	printf("while the escalations came, ");
	print_cpu(&c0, &c1);
	printf("RESULT mode=deadlines open=%ld breaching=%ld received=%zu "
	    "complete=%d duplicates=%zu high=%zu foreign=%zu wrong=%zu "
	    "before=%zu hub=%zu seconds=%.3f first_ms=%.1f per_s=%.0f "
	    "db_seconds=%.3f db_escalated=%lld db_breached=%lld "
	    "none_p50_ms=%.2f none_p99_ms=%.2f none_p999_ms=%.2f "
	    "none_due_p99_ms=%.2f open_p50_ms=%.2f open_p99_ms=%.2f "
	    "open_p999_ms=%.2f open_due_p99_ms=%.2f "
	    "fire_p50_ms=%.2f fire_p99_ms=%.2f fire_p999_ms=%.2f "
	    "fire_max_ms=%.2f fire_due_p99_ms=%.2f fire_samples=%zu "
	    "win_p99_ms=%.2f win_due_p99_ms=%.2f rate=%.0f steady_errors=%"
	    PRIu64 " fill_per_s=%.0f fill_errors=%" PRIu64 " open_db=%lld "
	    "nwdd_cpu=%.0f pg_cpu=%.0f bench_cpu=%.0f move_real_ms=%" PRId64
	    " load1=%.2f load_move=%.2f\n", opt.deadlines, opt.breaching,
	    distinct, complete, dup, high, foreign, wrong, before,
	    hub_got, secs, t_first > 0 ? (t_first - t_move) / 1e6 : -1.0,
	    secs > 0 ? distinct / secs : 0, db != NULL && poll.t_last > 0 ?
	    (poll.t_last - t_move) / 1e9 : -1.0, db_esc, db_breached,
	    s_none.p50, s_none.p99, s_none.p999, s_none.due_p99, s_open.p50,
	    s_open.p99, s_open.p999, s_open.due_p99, s_fire.p50, s_fire.p99, s_fire.p999, s_fire.max,
	    s_fire.due_p99, s_fire.n, s_win.p99, s_win.due_p99, opt.run.rate,
	    steady_errors, nacked / fill_s, fill_errors, open0,
	    cpu_pct(c0.daemon, c1.daemon, &c0, &c1),
	    cpu_pct(c0.pg, c1.pg, &c0, &c1), cpu_pct(c0.base.self,
	    c1.base.self, &c0, &c1), real_move, l1, l_move);
	for (j = 0; j < opt.dl_steady; j++) {
		nwd_close(st[j].c);
		free(st[j].v);
	}
	nwd_close(duty.c);
	nwd_close(hub.c);
	free(duty.v);
	free(hub.v);
	free(st);
	free(fill);
	free(dl_sorted);
	free(dl_alerts);
	free(dl_subjects);
	PQfinish(db);
	return 0;
}

/* ---- allocation -------------------------------------------------------------- */

static int
run_allocate(void)
{
	struct nwd_client	*c = connect_as(ALLOCATOR, 1);
	char			*list, *teams[MAX_LIST], err[512];
	size_t			 n, i;

	if ((list = strdup(opt.teams)) == NULL)
		bench_die("out of memory");
	n = bench_split_list(list, teams, MAX_LIST);
	for (i = 0; i < n; i++) {
		Nwd__V1__Envelope	 env = NWD__V1__ENVELOPE__INIT;
		Nwd__V1__Header		 h = NWD__V1__HEADER__INIT;
		Nwd__V1__SubjectRef	 s = NWD__V1__SUBJECT_REF__INIT;
		Nwd__V1__Allocation	 a = NWD__V1__ALLOCATION__INIT;
		Nwd__V1__PublishAck	*ack = NULL;

		s.local_id = (char *)opt.subject;
		h.kind = NWD__V1__KIND__ALLOCATION;
		h.subject = &s;
		h.marking = NWD__V1__MARKING__OFFICIAL;
		a.team = teams[i];
		env.header = &h;
		env.body_case = NWD__V1__ENVELOPE__BODY_ALLOCATION;
		env.allocation = &a;
		if (nwd_publish(c, &env, &ack, err, sizeof(err)) != NWD_OK)
			bench_die("allocate %s to %s as %s: %s", opt.subject,
			    teams[i], ALLOCATOR, err);
		printf("allocated %s to %s (message %s)\n", opt.subject,
		    teams[i], ack->message_id);
		nwd_publish_ack_free(ack);
	}
	nwd_close(c);
	free(list);
	return 0;
}

/* ---- idle sessions ----------------------------------------------------------- */

static struct nwd_client **idle_clients;
static atomic_long	 idle_next, idle_ok, idle_fail;
static char		*idle_who[MAX_LIST];
static size_t		 idle_nwho;
static char		 idle_err[512];
static pthread_mutex_t	 idle_mtx = PTHREAD_MUTEX_INITIALIZER;

static void *
idle_connector(void *arg)
{
	struct nwd_opts		 o;
	struct nwd_client	*c;
	enum nwd_status		 st;
	char			 err[512];
	long			 i;

	(void)arg;
	while ((i = atomic_fetch_add(&idle_next, 1)) < opt.idle) {
		o = client_opts(idle_who[i % idle_nwho]);
		if ((c = nwd_connect(&o, &st, err, sizeof(err))) == NULL) {
			atomic_fetch_add(&idle_fail, 1);
			pthread_mutex_lock(&idle_mtx);
			snprintf(idle_err, sizeof(idle_err), "%s", err);
			pthread_mutex_unlock(&idle_mtx);
			continue;
		}
		idle_clients[i] = c;
		atomic_fetch_add(&idle_ok, 1);
	}
	return NULL;
}

static void
raise_nofile(rlim_t want)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < want)
		fprintf(stderr, "bench_broker: warning: open files limited to "
		    "%llu (ulimit -n), fewer than %llu\n",
		    (unsigned long long)rl.rlim_cur, (unsigned long long)want);
}

static int
run_idle(void)
{
	pthread_t	 th[IDLE_THREADS];
	char		*list;
	long		 rss0, rss1, rss_end, hwm, self0, self1, i, pinged = 0;
	long		 pingfail = 0, alive;
	int64_t		 t0, t1, hold_end;
	struct cpu_snap	 c0, c1;
	double		 per, l1;
	char		 err[512];
	int		 k;

	if (opt.pid <= 0)
		bench_die("--idle-sessions needs --pid (the daemon's RSS is "
		    "the figure)");
	raise_nofile((rlim_t)opt.idle + 64);
	if ((list = strdup(IDLE_PRINCIPALS)) == NULL)
		bench_die("out of memory");
	idle_nwho = bench_split_list(list, idle_who, MAX_LIST);
	idle_clients = bench_xcalloc(opt.idle, sizeof(*idle_clients));
	l1 = bench_loadavg1();
	printf("== idle sessions: %ld mutual-TLS sessions (%d connecting "
	    "threads), held %.0f s\n", opt.idle, IDLE_THREADS, opt.run.seconds);
	printf("load average before: %.2f\n", l1);
	rss0 = bench_proc_status_kb(opt.pid, "VmRSS");
	self0 = bench_proc_status_kb(0, "VmRSS");
	atomic_store(&rss_peak_kb, rss0);
	{
		pthread_t rt;

		bench_thread_start(&rt, rss_sampler, NULL);
		cpu_snap(&c0);
		t0 = bench_mono_ns();
		for (k = 0; k < IDLE_THREADS; k++)
			bench_thread_start(&th[k], idle_connector, NULL);
		for (k = 0; k < IDLE_THREADS; k++)
			pthread_join(th[k], NULL);
		t1 = bench_mono_ns();
		cpu_snap(&c1);
		printf("connected %ld of %ld in %.1f s (%.0f handshakes/s); "
		    "%ld failed%s%s\n", atomic_load(&idle_ok), opt.idle,
		    (t1 - t0) / 1e9, atomic_load(&idle_ok) / ((t1 - t0) / 1e9),
		    atomic_load(&idle_fail), idle_err[0] ? ", last: " : "",
		    idle_err);
		printf("while connecting, ");
		print_cpu(&c0, &c1);
		/* Idle: nothing is sent; the daemon's RSS is what it keeps. */
		hold_end = bench_mono_ns() + (int64_t)(opt.run.seconds * NS);
		bench_sleep_until(bench_mono_ns() + 2 * NS);
		rss1 = bench_proc_status_kb(opt.pid, "VmRSS");
		bench_sleep_until(hold_end);
		atomic_store(&rss_stop, 1);
		pthread_join(rt, NULL);
	}
	rss_end = bench_proc_status_kb(opt.pid, "VmRSS");
	hwm = bench_proc_status_kb(opt.pid, "VmHWM");
	self1 = bench_proc_status_kb(0, "VmRSS");
	/* Still served?  Ping a sample, spread over the whole set. */
	alive = atomic_load(&idle_ok);
	for (i = 0; i < opt.idle && pinged < IDLE_PING_SAMPLE;
	    i += opt.idle / IDLE_PING_SAMPLE > 0 ? opt.idle / IDLE_PING_SAMPLE :
	    1) {
		if (idle_clients[i] == NULL)
			continue;
		pinged++;
		if (nwd_ping(idle_clients[i], err, sizeof(err)) != NWD_OK) {
			pingfail++;
			if (pingfail == 1)
				fprintf(stderr, "ping: %s\n", err);
		}
	}
	per = alive > 0 ? (double)(rss_end - rss0) * 1024 / alive : 0;
	printf("nwdd RSS: %ld kB before, %ld kB 2 s after connecting, %ld kB "
	    "after %.0f s idle; peak %ld kB (VmHWM %ld kB)\n", rss0, rss1,
	    rss_end, opt.run.seconds, atomic_load(&rss_peak_kb), hwm);
	printf("per session: %.1f kB (RSS growth / sessions)\n", per / 1024);
	printf("still served after the idle time: %ld of %ld pinged\n",
	    pinged - pingfail, pinged);
	printf("bench_broker's own RSS: %ld kB -> %ld kB (libnwd: one TLS "
	    "context per session)\n", self0, self1);
	for (i = 0; i < opt.idle; i++)
		nwd_close(idle_clients[i]);
	printf("RESULT mode=idle sessions=%ld connected=%ld failed=%ld "
	    "rss_before_kb=%ld rss_kb=%ld peak_rss_kb=%ld hwm_kb=%ld "
	    "per_session_kb=%.1f ping_ok=%ld ping=%ld handshakes_per_s=%.0f "
	    "load1=%.2f\n", opt.idle, alive, atomic_load(&idle_fail), rss0,
	    rss_end, atomic_load(&rss_peak_kb), hwm, per / 1024,
	    pinged - pingfail, pinged, alive / ((t1 - t0) / 1e9), l1);
	free(idle_clients);
	free(list);
	return alive == opt.idle && pingfail == 0 ? 0 : 1;
}

/* ---- COPY ceiling ------------------------------------------------------------ */

#define COPY_TABLE	"public.nwd_bench_copy"
#define COPY_FUNC	"public.nwd_bench_copy_link"
/* The columns of nwd.audit_events but id (the table's own default) and the
 * chain (recomputed here).  instance is replaced too: one chain. */
#define COPY_COLS	"at, actor, action, message_id, subject, kind, " \
			"recipient, fields_shared, fields_withheld, rule, " \
			"policy_version, reason, peer, session"
#define COPY_SAMPLE	8000
#define COPY_INSTANCE	"bench-copy"

static PGconn	*pg;

static void
pg_exec(const char *sql)
{
	PGresult	*r = PQexec(pg, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		bench_die("%s: %s", sql, PQerrorMessage(pg));
	PQclear(r);
}

/* Row templates: COPY text of COPY_COLS, without the trailing newline. */
static char	**tmpl;
static size_t	  ntmpl;

static void
tmpl_add(const char *line, size_t len)
{
	static size_t	cap;

	if (ntmpl == cap) {
		cap = cap ? cap * 2 : 1024;
		if ((tmpl = realloc(tmpl, cap * sizeof(*tmpl))) == NULL)
			bench_die("out of memory");
	}
	if ((tmpl[ntmpl] = strndup(line, len)) == NULL)
		bench_die("out of memory");
	ntmpl++;
}

/*
 * The rows the daemon wrote last, in the order it wrote them; or, if the
 * trail is empty, rows made up like a RiskAlert's: a publish and seven
 * deliver rows.
 */
static void
load_templates(void)
{
	PGresult	*r;
	char		*buf, q[512];
	int		 n;

	snprintf(q, sizeof(q), "COPY (SELECT " COPY_COLS " FROM (SELECT * "
	    "FROM nwd.audit_events ORDER BY id DESC LIMIT %d) t ORDER BY id) "
	    "TO STDOUT", COPY_SAMPLE);
	r = PQexec(pg, q);
	if (PQresultStatus(r) != PGRES_COPY_OUT)
		bench_die("reading nwd.audit_events: %s", PQerrorMessage(pg));
	PQclear(r);
	while ((n = PQgetCopyData(pg, &buf, 0)) > 0) {
		tmpl_add(buf, n > 0 && buf[n - 1] == '\n' ? n - 1 : n);
		PQfreemem(buf);
	}
	while ((r = PQgetResult(pg)) != NULL)
		PQclear(r);
	if (ntmpl > 0) {
		printf("row templates: the last %zu rows of nwd.audit_events\n",
		    ntmpl);
		return;
	}
	{
		static const char *rcpt[] = { "hubsys-norwich",
		    "hubsys-dereham", "keyworker-kim", "sw-ben", "camhs-cara",
		    "revoked-rob", "exp-eve" };
		char	line[1024];
		size_t	i;

		snprintf(line, sizeof(line), "2025-01-01 00:00:00+00\tplo-ana\t"
		    "publish\t00000000-0000-4000-8000-000000000000\t%s\t3\t\\N\t"
		    "\\N\t\\N\tpolice-intelligence\t%064d\t\\N\t127.0.0.1:40000\t"
		    "s-1", opt.subject, 0);
		tmpl_add(line, strlen(line));
		for (i = 0; i < sizeof(rcpt) / sizeof(rcpt[0]); i++) {
			snprintf(line, sizeof(line), "2025-01-01 00:00:00+00\t"
			    "plo-ana\tdeliver\t00000000-0000-4000-8000-"
			    "000000000000\t%s\t3\t%s\t{category,level,summary}"
			    "\t{}\thub-alerts\t%064d\t\\N\t127.0.0.1:40000\t"
			    "s-1", opt.subject, rcpt[i], 0);
			tmpl_add(line, strlen(line));
		}
		printf("row templates: nwd.audit_events is empty; a made-up "
		    "publish and 7 deliver rows\n");
	}
}

static void
hex(char *out, const uint8_t *in, size_t n)
{
	static const char	d[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/*
 * COPYs rows for opt.run.seconds in chunks of opt.copy_rows, continuing the
 * chain in *seq and prev.  Returns rows per second.
 */
static double
copy_for(int64_t *seq, uint8_t prev[32], int64_t *rows_out)
{
	PGresult	*r;
	char		*buf, ph[65], hh[65];
	uint8_t		 h[32];
	size_t		 cap = 1 << 22, len;
	int64_t		 t0, t1, rows = 0, k;
	EVP_MD_CTX	*mc;

	if ((buf = malloc(cap)) == NULL || (mc = EVP_MD_CTX_new()) == NULL)
		bench_die("out of memory");
	t0 = bench_mono_ns();
	t1 = t0 + (int64_t)(opt.run.seconds * NS);
	while (bench_mono_ns() < t1) {
		r = PQexec(pg, "COPY " COPY_TABLE " (instance, " COPY_COLS
		    ", seq, prev_hash, hash) FROM STDIN");
		if (PQresultStatus(r) != PGRES_COPY_IN)
			bench_die("COPY: %s", PQerrorMessage(pg));
		PQclear(r);
		len = 0;
		for (k = 0; k < opt.copy_rows; k++) {
			const char *t = tmpl[(size_t)(*seq) % ntmpl];
			size_t	    tl = strlen(t);

			(*seq)++;
			/* hash = SHA-256(prev_hash || the row's text): the
			 * chain's cost, not its exact canonical form. */
			if (EVP_DigestInit_ex(mc, EVP_sha256(), NULL) != 1 ||
			    EVP_DigestUpdate(mc, prev, 32) != 1 ||
			    EVP_DigestUpdate(mc, t, tl) != 1 ||
			    EVP_DigestFinal_ex(mc, h, NULL) != 1)
				bench_die("SHA-256 failed");
			hex(ph, prev, 32);
			hex(hh, h, 32);
			if (len + tl + 256 > cap) {
				if (PQputCopyData(pg, buf, (int)len) != 1)
					bench_die("COPY: %s",
					    PQerrorMessage(pg));
				len = 0;
			}
			len += (size_t)snprintf(buf + len, cap - len,
			    COPY_INSTANCE "\t%s\t%" PRId64 "\t\\\\x%s\t\\\\x%s\n",
			    t, *seq, ph, hh);
			memcpy(prev, h, 32);
		}
		if ((len > 0 && PQputCopyData(pg, buf, (int)len) != 1) ||
		    PQputCopyEnd(pg, NULL) != 1)
			bench_die("COPY: %s", PQerrorMessage(pg));
		while ((r = PQgetResult(pg)) != NULL) {
			if (PQresultStatus(r) != PGRES_COMMAND_OK)
				bench_die("COPY: %s", PQerrorMessage(pg));
			PQclear(r);
		}
		rows += opt.copy_rows;
	}
	free(buf);
	EVP_MD_CTX_free(mc);
	*rows_out = rows;
	return rows / ((bench_mono_ns() - t0) / 1e9);
}

static int
run_copy(void)
{
	PGresult	*r;
	uint8_t		 prev[32];
	int64_t		 seq = 0, rows1, rows2;
	double		 plain, trig, l1;
	char		 sc[64] = "?";

	pg = PQconnectdb(opt.copy);
	if (PQstatus(pg) != CONNECTION_OK)
		bench_die("--copy-ceiling: %s", PQerrorMessage(pg));
	r = PQexec(pg, "SHOW synchronous_commit");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		snprintf(sc, sizeof(sc), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	l1 = bench_loadavg1();
	printf("== COPY ceiling: audit rows by COPY into a scratch table of "
	    "nwd.audit_events' shape, %ld rows per COPY (one transaction), "
	    "%.0f s each; synchronous_commit = %s\n", opt.copy_rows,
	    opt.run.seconds, sc);
	printf("load average before: %.2f\n", l1);
	load_templates();
	pg_exec("SET client_min_messages = warning");
	pg_exec("DROP TABLE IF EXISTS " COPY_TABLE);
	pg_exec("DROP FUNCTION IF EXISTS " COPY_FUNC "()");
	/* Columns, NOT NULLs, CHECKs and every index of the real table; not
	 * its triggers, not its sequence. */
	pg_exec("CREATE TABLE " COPY_TABLE " (LIKE nwd.audit_events "
	    "INCLUDING CONSTRAINTS INCLUDING INDEXES INCLUDING STORAGE)");
	pg_exec("ALTER TABLE " COPY_TABLE " ALTER COLUMN id ADD GENERATED "
	    "BY DEFAULT AS IDENTITY");

	memset(prev, 0, sizeof(prev));
	plain = copy_for(&seq, prev, &rows1);
	printf("COPY:                         %10.0f rows/s  (%" PRId64
	    " rows)\n", plain, rows1);

	/*
	 * The real table checks each row's link to the one before, once per
	 * statement over the rows it inserted.  The same check on the scratch
	 * table: the database's own function (pg_get_functiondef), with the
	 * table's and its own name replaced, so that there is one copy of it.
	 */
	pg_exec("DO $$ DECLARE d text; BEGIN "
	    "d := pg_get_functiondef('nwd.audit_events_link()'::regprocedure); "
	    "d := replace(d, 'nwd.audit_events_link()', '" COPY_FUNC "()'); "
	    "d := replace(d, 'nwd.audit_events', '" COPY_TABLE "'); "
	    "IF position('FROM " COPY_TABLE " ' IN d) = 0 THEN "
	    "RAISE EXCEPTION 'nwd.audit_events_link() does not read "
	    "nwd.audit_events as the bench expects: %', d; END IF; "
	    "EXECUTE d; END $$");
	pg_exec("CREATE TRIGGER nwd_bench_copy_link AFTER INSERT ON "
	    COPY_TABLE " REFERENCING NEW TABLE AS new_rows FOR EACH "
	    "STATEMENT EXECUTE FUNCTION " COPY_FUNC "()");
	trig = copy_for(&seq, prev, &rows2);
	printf("COPY + chain-link trigger:    %10.0f rows/s  (%" PRId64
	    " rows; the real table's check, once per COPY)\n", trig, rows2);

	pg_exec("DROP TABLE " COPY_TABLE);
	pg_exec("DROP FUNCTION " COPY_FUNC "()");
	printf("RESULT mode=copy rows_per_copy=%ld copy_rows_per_s=%.0f "
	    "copy_trigger_rows_per_s=%.0f synchronous_commit=%s load1=%.2f\n",
	    opt.copy_rows, plain, trig, sc, l1);
	PQfinish(pg);
	return 0;
}

/* ---- main -------------------------------------------------------------------- */

/*
 * --pid P[,P...]: the daemons whose CPU is counted (summed: several
 * instances behind a load balancer); the first is the one whose memory
 * and scheduling are sampled.
 */
static void
parse_pids(const char *arg)
{
	char	*list, *item[MAX_PIDS];
	size_t	 n, i;

	if ((list = strdup(arg)) == NULL)
		bench_die("out of memory");
	n = bench_split_list(list, item, MAX_PIDS);
	opt.npids = 0;
	for (i = 0; i < n; i++)
		if ((opt.pids[opt.npids] = atoi(item[i])) > 0)
			opt.npids++;
	opt.pid = opt.npids > 0 ? opt.pids[0] : 0;
	free(list);
}

static void
usage(void)
{
	fprintf(stderr,
"usage: bench_broker --server H:P --pki DIR [--publishers N] [--subscribers M]\n"
"           [--body BYTES] [--rate PUBS_PER_S] [--seconds S] [--warmup S]\n"
"           [--pid NWDD_PID[,NWDD_PID...]] [--pg-pid POSTMASTER_PID]\n"
"           [--lb-pid HAPROXY_PID] [--db CONNINFO] [--subject ID]\n"
"           [--receivers P,P,...] [--ack]\n"
"           [--churn SECONDS] [--durable NAME] [--report FILE]\n"
"       bench_broker --server H:P --pki DIR --allocate [--subject ID]\n"
"           [--teams T,T,...]\n"
"       bench_broker --server H:P --pki DIR --idle-sessions K --pid PID\n"
"           [--seconds S]\n"
"       bench_broker --server H:P --pki DIR --backlog N [--publishers P]\n"
"           [--body BYTES] [--pid NWDD_PID] [--pg-pid POSTMASTER_PID]\n"
"           [--db CONNINFO] [--receivers P,...] [--durable NAME] [--ack]\n"
"           [--before-replay CMD] [--after-replay CMD]\n"
"       bench_broker --server H:P --pki DIR --deadlines N --clock FILE\n"
"           [--breaching M] [--clock-step MINUTES] [--subjects K]\n"
"           [--publishers P] [--steady-publishers S] [--rate PUBS_PER_S]\n"
"           [--seconds S] [--warmup S] [--body BYTES] [--pid NWDD_PID]\n"
"           [--pg-pid POSTMASTER_PID] [--db CONNINFO]\n"
"           [--before-move CMD] [--after-move CMD]\n"
"       bench_broker --copy-ceiling CONNINFO [--seconds S] [--copy-rows R]\n"
"\n"
"Defaults: 32 publishers (plo-ana), 5 subscribers (%s, in turn),\n"
"1024-byte RiskAlert summary, flat out (no --rate), 10 s measured after a\n"
"2 s warm-up, subject %s, allocation teams %s.\n",
	    RECEIVERS_DEFAULT, SUBJECT_DEFAULT, TEAMS_DEFAULT);
	exit(2);
}

int
main(int argc, char *argv[])
{
	const struct bench_opt	opts[] = {
		BENCH_RUN_OPTS(opt.run),
		BENCH_OPT_S("server", opt.server),
		BENCH_OPT_C("pid", parse_pids),
		BENCH_OPT_I("pg-pid", opt.pgpid),
		BENCH_OPT_I("lb-pid", opt.lbpid),
		BENCH_OPT_L("idle-sessions", opt.idle),
		BENCH_OPT_S("copy-ceiling", opt.copy),
		BENCH_OPT_L("copy-rows", opt.copy_rows),
		BENCH_OPT_S("db", opt.db),
		BENCH_OPT_S("subject", opt.subject),
		BENCH_OPT_S("teams", opt.teams),
		BENCH_OPT_F("allocate", opt.allocate),
		BENCH_OPT_F("ack", opt.ack),
		BENCH_OPT_D("churn", opt.churn),
		BENCH_OPT_S("durable", opt.durable),
		BENCH_OPT_S("report", opt.report),
		BENCH_OPT_L("backlog", opt.backlog),
		BENCH_OPT_S("before-replay", opt.hook_before),
		BENCH_OPT_S("after-replay", opt.hook_after),
		BENCH_OPT_L("deadlines", opt.deadlines),
		BENCH_OPT_L("breaching", opt.breaching),
		BENCH_OPT_S("clock", opt.clock),
		BENCH_OPT_I("clock-step", opt.clock_step),
		BENCH_OPT_I("subjects", opt.dl_subjects),
		BENCH_OPT_I("steady-publishers", opt.dl_steady),
		BENCH_OPT_S("before-move", opt.hook_before),
		BENCH_OPT_S("after-move", opt.hook_after),
	};
	int			rc;

	bench_prog = "bench_broker";
	if (bench_getopt(argc, argv, opts, sizeof(opts) / sizeof(opts[0])) ==
	    -1 || opt.copy_rows < 1 || opt.idle < 0 || opt.churn < 0 ||
	    opt.backlog < 0 || opt.deadlines < 0 || opt.clock_step < 1 ||
	    opt.dl_subjects < 1 || opt.dl_steady < 1)
		usage();
	/* A durable queue lets go on ack: soaks ack; --backlog says. */
	if (opt.durable != NULL && opt.backlog == 0)
		opt.ack = 1;
	bench_run_check(&opt.run);
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* A session the daemon drops must give EPIPE, not end the run. */
	signal(SIGPIPE, SIG_IGN);
	if (opt.copy != NULL)
		return run_copy();
	if (opt.server == NULL || opt.run.pki == NULL)
		usage();
	if (opt.allocate)
		return run_allocate();
	if (opt.idle > 0)
		return run_idle();
	if (opt.backlog > 0) {
		raise_nofile((rlim_t)opt.run.npub * 2 + 64);
		return run_backlog();
	}
	if (opt.deadlines > 0) {
		raise_nofile((rlim_t)(opt.run.npub + opt.dl_steady) * 2 + 64);
		return run_deadlines();
	}
	raise_nofile((rlim_t)(opt.run.npub + opt.run.nsub) * 2 + 64);
	if (opt.report != NULL &&
	    (report_fp = fopen(opt.report, "w")) == NULL)
		bench_die("--report %s: %s", opt.report, strerror(errno));
	rc = run_traffic();
	if (report_fp != NULL && fclose(report_fp) != 0)
		bench_die("--report %s: %s", opt.report, strerror(errno));
	return rc;
}
