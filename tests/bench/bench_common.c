/*
 * bench_common: what bench_broker and bench_mosq share; see bench_common.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"

const char	*bench_prog = "bench";

/* ---- small helpers ------------------------------------------------------- */

int64_t
bench_mono_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

void
bench_sleep_until(int64_t t)
{
	struct timespec	ts;

	ts.tv_sec = t / NS;
	ts.tv_nsec = t % NS;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	    EINTR)
		;
}

void
bench_die(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "%s: ", bench_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void *
bench_xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n > 0 ? n : 1, size)) == NULL)
		bench_die("out of memory");
	return p;
}

void
bench_thread_start(pthread_t *th, void *(*fn)(void *), void *arg)
{
	int	rc;

	if ((rc = pthread_create(th, NULL, fn, arg)) != 0)
		bench_die("pthread_create: %s", strerror(rc));
}

size_t
bench_split_list(char *s, char **out, size_t max)
{
	char	*tok, *save;
	size_t	 n = 0;

	for (tok = strtok_r(s, ",", &save); tok != NULL && n < max;
	    tok = strtok_r(NULL, ",", &save))
		if (*tok != '\0')
			out[n++] = tok;
	return n;
}

/* ---- the run's shape and its options ------------------------------------- */

int
bench_getopt(int argc, char *argv[], const struct bench_opt *opts, size_t n)
{
	struct option		*lo;
	const struct bench_opt	*o;
	size_t			 i;
	int			 ch, rc = 0;

	lo = bench_xcalloc(n + 2, sizeof(*lo));
	for (i = 0; i < n; i++) {
		lo[i].name = opts[i].name;
		lo[i].has_arg = opts[i].kind == BENCH_OPT_FLAG ? no_argument :
		    required_argument;
		lo[i].val = 256 + (int)i;
	}
	lo[n].name = "help";
	lo[n].val = 'h';
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (ch < 256 || (size_t)(ch - 256) >= n) {
			rc = -1;
			break;
		}
		o = &opts[ch - 256];
		switch (o->kind) {
		case BENCH_OPT_STR:
			*(const char **)o->dst = optarg;
			break;
		case BENCH_OPT_INT:
			*(int *)o->dst = atoi(optarg);
			break;
		case BENCH_OPT_LONG:
			*(long *)o->dst = atol(optarg);
			break;
		case BENCH_OPT_SIZE:
			*(size_t *)o->dst = strtoul(optarg, NULL, 10);
			break;
		case BENCH_OPT_DOUBLE:
			*(double *)o->dst = atof(optarg);
			break;
		case BENCH_OPT_FLAG:
			*(int *)o->dst = 1;
			break;
		case BENCH_OPT_CALL:
			o->call(optarg);
			break;
		}
	}
	free(lo);
	if (rc == 0 && optind != argc)
		rc = -1;
	return rc;
}

void
bench_run_check(const struct bench_run *r)
{
	if (r->npub < 1 || r->nsub < 1)
		bench_die("--publishers and --subscribers must be at least 1");
	if (r->body < BENCH_BODY_MIN)
		bench_die("--body must be at least %d bytes (it carries the "
		    "timestamps)", BENCH_BODY_MIN);
	if (r->seconds <= 0 || r->warmup < 0 || r->rate < 0)
		bench_die("--seconds must be above 0, --warmup and --rate not "
		    "below 0");
}

/* ---- the window and pacing ----------------------------------------------- */

void
bench_window_open(struct bench_window *w, const struct bench_run *r)
{
	w->start = bench_mono_ns() + NS / 10;
	w->lo = w->start + (int64_t)(r->warmup * NS);
	w->hi = w->lo + (int64_t)(r->seconds * NS);
}

int
bench_in_window(const struct bench_window *w, int64_t t)
{
	return t >= w->lo && t < w->hi;
}

void
bench_pacer_init(struct bench_pacer *p, const struct bench_window *w,
    const struct bench_run *r, int idx)
{
	p->w = w;
	p->started = 0;
	p->interval = 0;
	p->due = w->start;
	if (r->rate > 0) {
		p->interval = (int64_t)((double)r->npub * NS / r->rate);
		/* Staggered, so that the publishers do not send in bursts. */
		p->due += (int64_t)((double)idx * NS / r->rate);
	}
}

int
bench_pacer_next(struct bench_pacer *p, int64_t *t_send)
{
	int64_t	t;

	if (!p->started) {
		bench_sleep_until(p->due);
		p->started = 1;
	} else
		p->due += p->interval;
	if (p->interval > 0) {
		if (p->due >= p->w->hi)
			return 0;
		bench_sleep_until(p->due);
	}
	t = bench_mono_ns();
	if (p->interval == 0) {
		if (t >= p->w->hi)
			return 0;
		p->due = t;
	}
	*t_send = t;
	return 1;
}

/* ---- the tag a publish carries ------------------------------------------- */

void
bench_tag_write(char *payload, size_t len, int pub, uint64_t seq,
    int64_t t_send, int64_t t_due, const char *inst)
{
	char	tag[64 + BENCH_INST_MAX];
	int	n;

	n = snprintf(tag, sizeof(tag), BENCH_TAG " %d %" PRIu64 " %" PRId64
	    " %" PRId64 " %s ", pub, seq, t_send, t_due, inst);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(tag))
		n = sizeof(tag) - 1;
	memcpy(payload, tag, (size_t)n < len ? (size_t)n : len);
}

int
bench_tag_read(const char *s, struct bench_tag *t)
{
	int	n;

	t->inst[0] = '\0';
	/* %63s: BENCH_INST_MAX - 1. */
	n = sscanf(s, BENCH_TAG " %d %" SCNu64 " %" SCNd64 " %" SCNd64 " %63s",
	    &t->pub, &t->seq, &t->t_send, &t->t_due, t->inst);
	return n < 0 ? 0 : n;
}

/* ---- latency samples ----------------------------------------------------- */

void
bench_lat_add(struct bench_lat *l, int64_t ns)
{
	int64_t	us = ns / 1000;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 65536;
		if ((l->v = realloc(l->v, l->cap * sizeof(*l->v))) == NULL)
			bench_die("out of memory");
	}
	l->v[l->n++] = us < 0 ? 0 : us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

void
bench_lat_merge(struct bench_lat *dst, const struct bench_lat *src)
{
	size_t	i;

	for (i = 0; i < src->n; i++)
		bench_lat_add(dst, (int64_t)src->v[i] * 1000);
}

static int
u32cmp(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void
bench_lat_sort(struct bench_lat *l)
{
	if (l->n > 1)	/* none: v is NULL, which qsort() may not take */
		qsort(l->v, l->n, sizeof(*l->v), u32cmp);
}

double
bench_lat_q(const struct bench_lat *l, double q)
{
	size_t	i;

	if (l->n == 0)
		return -1;
	i = (size_t)(q * (double)(l->n - 1) + 0.5);
	return l->v[i] / 1000.0;	/* ms */
}

void
bench_lat_free(struct bench_lat *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* ---- /proc --------------------------------------------------------------- */

long
bench_proc_status_kb(pid_t pid, const char *key)
{
	char	 path[64], line[256];
	size_t	 kl = strlen(key);
	long	 v = -1;
	FILE	*fp;

	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/status");
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	fclose(fp);
	return v;
}

long long
bench_proc_cpu_ticks(pid_t pid, pid_t *ppid)
{
	char		 path[64], buf[1024], *p;
	unsigned long	 ut, st;
	int		 pp;
	FILE		*fp;
	size_t		 n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip past it. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime */
	if (sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &pp, &ut, &st) != 3)
		return -1;
	if (ppid != NULL)
		*ppid = pp;
	return (long long)ut + st;
}

double
bench_loadavg1(void)
{
	double	 l = -1;
	FILE	*fp;

	if ((fp = fopen("/proc/loadavg", "r")) != NULL) {
		if (fscanf(fp, "%lf", &l) != 1)
			l = -1;
		fclose(fp);
	}
	return l;
}

/* All CPUs: busy and total ticks from /proc/stat. */
static void
machine_ticks(long long *busy, long long *total)
{
	unsigned long long	 v[8] = { 0 };
	FILE			*fp;
	int			 i;

	*busy = *total = 0;
	if ((fp = fopen("/proc/stat", "r")) == NULL)
		return;
	if (fscanf(fp, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	    &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8)
		for (i = 0; i < 8; i++) {
			*total += (long long)v[i];
			if (i != 3 && i != 4)	/* idle, iowait */
				*busy += (long long)v[i];
		}
	fclose(fp);
}

void
bench_cpu_snap(struct bench_cpu *c)
{
	c->t = bench_mono_ns();
	c->self = bench_proc_cpu_ticks(getpid(), NULL);
	machine_ticks(&c->busy, &c->total);
}

double
bench_cpu_pct(long long a, long long b, const struct bench_cpu *s0,
    const struct bench_cpu *s1)
{
	double	secs = (double)(s1->t - s0->t) / NS;

	if (a < 0 || b < 0 || secs <= 0)
		return -1;
	return 100.0 * (double)(b - a) / (double)sysconf(_SC_CLK_TCK) / secs;
}

double
bench_cpu_machine_pct(const struct bench_cpu *s0, const struct bench_cpu *s1)
{
	if (s1->total <= s0->total)
		return -1;
	return 100.0 * (double)(s1->busy - s0->busy) /
	    (double)(s1->total - s0->total);
}

/* ---- publishers' and subscribers' counts --------------------------------- */

int
bench_pub_acked(struct bench_pub *p, const struct bench_window *w,
    int64_t t_send, int64_t due, int64_t t_ack)
{
	p->acked++;
	if (!bench_in_window(w, t_send))
		return 0;
	p->win_acked++;
	bench_lat_add(&p->ack_lat, t_ack - t_send);
	if (t_send - due > 1000000)
		p->win_late++;
	if (t_send - due > p->max_lag_ns)
		p->max_lag_ns = t_send - due;
	return 1;
}

int
bench_sub_delivery(struct bench_sub *s, const struct bench_window *w,
    const struct bench_run *r, int64_t now, const struct bench_tag *t)
{
	atomic_store(&s->last_rx, now);
	s->received++;
	if (t == NULL) {
		s->foreign++;
		return 0;
	}
	if (!bench_in_window(w, t->t_send))
		return 0;
	s->win_received++;
	bench_lat_add(&s->lat, now - t->t_send);
	if (r->rate > 0)
		bench_lat_add(&s->lat_sched, now - t->t_due);
	return 1;
}

void
bench_drain(const struct bench_window *w, const struct bench_sub *first,
    size_t stride, int n)
{
	const struct bench_sub	*s;
	int64_t			 quiet_since, now, last, rx;
	int			 i;

	quiet_since = bench_mono_ns();
	for (;;) {
		now = bench_mono_ns();
		last = 0;
		for (i = 0; i < n; i++) {
			s = (const struct bench_sub *)(const void *)
			    ((const char *)first + (size_t)i * stride);
			if ((rx = atomic_load(&s->last_rx)) > last)
				last = rx;
		}
		if (last > quiet_since)
			quiet_since = last;
		if (now - quiet_since >= BENCH_DRAIN_QUIET_NS ||
		    now - w->hi >= BENCH_DRAIN_MAX_NS)
			break;
		usleep(50000);
	}
}

/* ---- the run's figures --------------------------------------------------- */

void
bench_totals_init(struct bench_totals *t)
{
	memset(t, 0, sizeof(*t));
	t->smin = UINT64_MAX;
}

void
bench_totals_add_pub(struct bench_totals *t, struct bench_pub *p)
{
	t->sent += p->sent;
	t->acked += p->acked;
	t->perr += p->errors;
	t->win_acked += p->win_acked;
	t->win_late += p->win_late;
	if (p->max_lag_ns > t->max_lag_ns)
		t->max_lag_ns = p->max_lag_ns;
	bench_lat_merge(&t->ack_lat, &p->ack_lat);
	bench_lat_free(&p->ack_lat);
}

void
bench_totals_add_sub(struct bench_totals *t, struct bench_sub *s)
{
	t->win_recv += s->win_received;
	t->serr += s->errors;
	t->foreign += s->foreign;
	if (s->win_received < t->smin)
		t->smin = s->win_received;
	if (s->win_received > t->smax)
		t->smax = s->win_received;
	bench_lat_merge(&t->lat, &s->lat);
	bench_lat_merge(&t->lat_sched, &s->lat_sched);
	bench_lat_free(&s->lat);
	bench_lat_free(&s->lat_sched);
}

void
bench_totals_sort(struct bench_totals *t)
{
	bench_lat_sort(&t->lat);
	bench_lat_sort(&t->lat_sched);
	bench_lat_sort(&t->ack_lat);
}

void
bench_totals_free(struct bench_totals *t)
{
	bench_lat_free(&t->lat);
	bench_lat_free(&t->lat_sched);
	bench_lat_free(&t->ack_lat);
}

double
bench_totals_fanout(const struct bench_totals *t)
{
	return t->win_acked > 0 ? (double)t->win_recv / (double)t->win_acked :
	    0;
}

void
bench_print_published(const struct bench_totals *t, const struct bench_run *r)
{
	printf("publishes acked:     %10.0f /s   (%" PRIu64 " in the window; "
	    "%" PRIu64 " sent, %" PRIu64 " acked in all)\n",
	    (double)t->win_acked / r->seconds, t->win_acked, t->sent,
	    t->acked);
}

/* label padded to 21 columns, then p50, p99, p99.9 and max (no newline). */
static void
print_quantiles(const char *label, const struct bench_lat *l)
{
	printf("%-21sp50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  max %.2f ms",
	    label, bench_lat_q(l, .5), bench_lat_q(l, .99),
	    bench_lat_q(l, .999), bench_lat_q(l, 1));
}

void
bench_print_latencies(const struct bench_totals *t, const struct bench_run *r,
    const char *ack_label)
{
	print_quantiles("publish->deliver:", &t->lat);
	printf("  (%zu samples)\n", t->lat.n);
	if (r->rate > 0) {
		print_quantiles("due->deliver:", &t->lat_sched);
		printf("  (from the scheduled send time; %" PRIu64 " publishes "
		    "sent > 1 ms late, worst %.1f ms)\n", t->win_late,
		    (double)t->max_lag_ns / 1e6);
	}
	print_quantiles(ack_label, &t->ack_lat);
	printf("\n");
}

void
bench_result_begin(const struct bench_run *r, const char *extra,
    const struct bench_totals *t, double deliveries_per_s)
{
	printf("RESULT mode=%s%s%s publishers=%d subscribers=%d body=%zu "
	    "rate=%.0f seconds=%.0f pubs_per_s=%.0f deliveries_per_s=%.0f",
	    r->rate > 0 ? "rate" : "flat", extra != NULL ? " " : "",
	    extra != NULL ? extra : "", r->npub, r->nsub, r->body, r->rate,
	    r->seconds, (double)t->win_acked / r->seconds, deliveries_per_s);
}

void
bench_result_latencies(const struct bench_run *r,
    const struct bench_totals *t)
{
	printf(" p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f max_ms=%.2f "
	    "sched_p99_ms=%.2f ack_p99_ms=%.2f errors=%" PRIu64
	    " sub_errors=%" PRIu64, bench_lat_q(&t->lat, .5),
	    bench_lat_q(&t->lat, .99), bench_lat_q(&t->lat, .999),
	    bench_lat_q(&t->lat, 1), r->rate > 0 ?
	    bench_lat_q(&t->lat_sched, .99) : -1, bench_lat_q(&t->ack_lat, .99),
	    t->perr, t->serr);
}
