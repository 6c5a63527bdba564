/*
 * bench_mosq: the peer beside nwd in deploy/bench.sh (BENCH_ONLY=mosquitto):
 * a Mosquitto broker driven the way tests/bench/bench_broker drives nwdd.
 * A program that prints figures, not a timed test.
 *
 *   bench_mosq --port P --pki DIR [options]
 *
 * M subscriber clients (identities taken in turn from --receivers), each a
 * thread running its own client's network loop, subscribed with QoS 1 to
 * one topic; N publisher clients (--publisher's identity), each a thread
 * publishing with QoS 1 and waiting for every PUBACK before the next
 * publish (as bench_broker waits for every PublishAck), either flat out or
 * paced by absolute deadlines so that together they make --rate publishes
 * per second.  Every client is an MQTT 3.1.1 client with a TLS 1.3
 * session, a client certificate from DIR/clients/<id>.crt, the server
 * checked against DIR/ca.crt, and TCP_NODELAY.  A payload is --body bytes
 * and starts with the publisher, a sequence number, the CLOCK_MONOTONIC
 * time at which mosquitto_publish() was called and the time at which it
 * was due, as bench_broker's RiskAlert summary does: publish->deliver is a
 * subscriber's receive time minus the first (and, at a fixed rate,
 * due->deliver minus the second).  Only publishes sent inside the measured
 * window (after --warmup seconds, for --seconds) count; after the window
 * the subscribers drain until one second passes without a delivery.
 *
 * A PUBACK says that the broker has the message, not that any subscriber
 * has it: flat out, Mosquitto takes publishes faster than it sends them
 * on, and its queues (max_queued_messages) grow.  So deliveries_per_s is
 * the deliveries received inside the window, whenever published (what the
 * broker delivered in that time), and pub_deliveries_per_s the deliveries
 * of the window's publishes, received until the drain ends (bench_broker's
 * figure, the same as the first when the broker keeps up).
 *
 * Output: human-readable lines, then one "RESULT mode=flat|rate
 * broker=mosquitto ..." line with the keys of bench_broker's where they
 * mean the same.  lost= counts the window's acknowledged publishes times
 * the subscribers less the deliveries received of them.  Exit status 0,
 * or 1 if the run could not be made.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>
#include <openssl/ssl.h>

#define NS			1000000000LL
#define RECEIVERS_DEFAULT	"hubsys-norwich,hubsys-dereham,keyworker-kim," \
				"sw-ben,camhs-cara"
#define PUBLISHER_DEFAULT	"plo-ana"
#define TOPIC_DEFAULT		"nwd/bench/YP-BENCH"
#define BODY_MIN		64
#define MAX_LIST		64
#define DRAIN_QUIET_NS		(1 * NS)
#define DRAIN_MAX_NS		(30 * NS)
#define ACK_TIMEOUT_NS		(30 * NS)
#define TAG			"nwdbench"

static struct {
	const char	*host;
	int		 port;
	const char	*pki;
	int		 npub;
	int		 nsub;
	size_t		 body;
	double		 rate;		/* publishes/s; 0 = flat out */
	double		 seconds;
	double		 warmup;
	pid_t		 pid;		/* the broker, or 0 */
	const char	*receivers;
	const char	*publisher;
	const char	*topic;
	const char	*tls_version;
} opt = {
	.host = "127.0.0.1",
	.npub = 64,
	.nsub = 5,
	.body = 1024,
	.seconds = 10,
	.warmup = 2,
	.receivers = RECEIVERS_DEFAULT,
	.publisher = PUBLISHER_DEFAULT,
	.topic = TOPIC_DEFAULT,
	.tls_version = "tlsv1.3",
};

/* ---- small helpers ---------------------------------------------------------- */

static int64_t
mono_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static void
sleep_until(int64_t t)
{
	struct timespec	ts;

	ts.tv_sec = t / NS;
	ts.tv_nsec = t % NS;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	    EINTR)
		;
}

static void
die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "bench_mosq: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n > 0 ? n : 1, size)) == NULL)
		die("out of memory");
	return p;
}

/* Splits a comma-separated list in place.  Returns the number of items. */
static size_t
split_list(char *s, char **out, size_t max)
{
	char	*tok, *save;
	size_t	 n = 0;

	for (tok = strtok_r(s, ",", &save); tok != NULL && n < max;
	    tok = strtok_r(NULL, ",", &save))
		if (*tok != '\0')
			out[n++] = tok;
	return n;
}

/* utime + stime of one process in clock ticks; -1 if gone. */
static long long
proc_cpu_ticks(pid_t pid)
{
	char		 path[64], buf[1024], *p;
	unsigned long	 ut, st;
	FILE		*fp;
	size_t		 n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		return -1;
	return (long long)ut + st;
}

/* A "Key:   N kB" line of /proc/PID/status, in kB; -1 if unreadable. */
static long
proc_status_kb(pid_t pid, const char *key)
{
	char	 path[64], line[256];
	size_t	 kl = strlen(key);
	long	 v = -1;
	FILE	*fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
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

struct cpu_snap {
	int64_t		 t;
	long long	 broker, self, busy, total;
};

static void
cpu_snap(struct cpu_snap *c)
{
	c->t = mono_ns();
	c->broker = opt.pid > 0 ? proc_cpu_ticks(opt.pid) : -1;
	c->self = proc_cpu_ticks(getpid());
	machine_ticks(&c->busy, &c->total);
}

/* Percent of one CPU used between two snapshots (-1 if unknown). */
static double
cpu_pct(long long a, long long b, const struct cpu_snap *s0,
    const struct cpu_snap *s1)
{
	double	secs = (double)(s1->t - s0->t) / NS;

	if (a < 0 || b < 0 || secs <= 0)
		return -1;
	return 100.0 * (double)(b - a) / (double)sysconf(_SC_CLK_TCK) / secs;
}

static double
loadavg1(void)
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

/* ---- latency samples (microseconds) ------------------------------------------ */

struct lat {
	uint32_t	*v;
	size_t		 n, cap;
};

static void
lat_add(struct lat *l, int64_t ns)
{
	int64_t	us = ns / 1000;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 65536;
		if ((l->v = realloc(l->v, l->cap * sizeof(*l->v))) == NULL)
			die("out of memory");
	}
	l->v[l->n++] = us < 0 ? 0 : us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static void
lat_merge(struct lat *dst, const struct lat *src)
{
	size_t	i;

	for (i = 0; i < src->n; i++)
		lat_add(dst, (int64_t)src->v[i] * 1000);
}

static int
u32cmp(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorts l; then lat_q() reads quantiles. */
static void
lat_sort(struct lat *l)
{
	if (l->n > 1)	/* an empty one has no array */
		qsort(l->v, l->n, sizeof(*l->v), u32cmp);
}

static double
lat_q(const struct lat *l, double q)
{
	size_t	i;

	if (l->n == 0)
		return -1;
	i = (size_t)(q * (double)(l->n - 1) + 0.5);
	return l->v[i] / 1000.0;	/* ms */
}

/* ---- clients ------------------------------------------------------------------ */

static int64_t		 t_start, win_lo, win_hi;
static atomic_int	 stop_subs;

struct client {
	struct mosquitto	*m;
	char			 id[64];
	int			 connected;	/* CONNACK: 1 accepted, -1 refused */
	int			 connack;
	int			 subscribed;	/* SUBACK */
	int			 granted;
	int			 acked_mid;	/* the last PUBACK's mid */
};

struct publisher {
	pthread_t	 th;
	int		 idx;
	struct client	 c;
	uint64_t	 sent, acked, errors;
	uint64_t	 win_acked, win_late;
	int64_t		 max_lag_ns;
	struct lat	 ack_lat;
	char		 last_err[256];
};

struct subscriber {
	pthread_t	 th;
	int		 idx;
	const char	*identity;
	struct client	 c;
	uint64_t	 received, win_received, rx_in_window, foreign, errors;
	atomic_llong	 last_rx;
	struct lat	 lat, lat_sched;
	char		 last_err[256];
};

static void
on_connect(struct mosquitto *m, void *obj, int rc)
{
	struct client	*c = obj;

	(void)m;
	c->connack = rc;
	c->connected = rc == 0 ? 1 : -1;
}

static void
on_subscribe(struct mosquitto *m, void *obj, int mid, int n,
    const int *granted)
{
	struct client	*c = obj;

	(void)m;
	(void)mid;
	c->granted = n > 0 ? granted[0] : -1;
	c->subscribed = 1;
}

static void
on_publish(struct mosquitto *m, void *obj, int mid)
{
	struct client	*c = obj;

	(void)m;
	c->acked_mid = mid;
}

static void
on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct subscriber	*s = (struct subscriber *)((char *)obj -
	    offsetof(struct subscriber, c));
	char			 tag[128];
	size_t			 n;
	int64_t			 now = mono_ns(), t_send, t_due;
	uint64_t		 seq;
	int			 pub;

	(void)m;
	atomic_store(&s->last_rx, now);
	s->received++;
	if (now >= win_lo && now < win_hi)
		s->rx_in_window++;
	n = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
	if (n > sizeof(tag) - 1)
		n = sizeof(tag) - 1;
	memcpy(tag, msg->payload, n);
	tag[n] = '\0';
	if (sscanf(tag, TAG " %d %" SCNu64 " %" SCNd64 " %" SCNd64, &pub,
	    &seq, &t_send, &t_due) != 4) {
		s->foreign++;
		return;
	}
	if (t_send >= win_lo && t_send < win_hi) {
		s->win_received++;
		lat_add(&s->lat, now - t_send);
		if (opt.rate > 0)
			lat_add(&s->lat_sched, now - t_due);
	}
}

/*
 * Runs c's network loop until *flag is nonzero, or dies (what, the error)
 * after 30 s or on a broken session.
 */
static void
loop_until(struct client *c, const int *flag, const char *what)
{
	int64_t	end = mono_ns() + ACK_TIMEOUT_NS;
	int	rc;

	while (*flag == 0) {
		if (mono_ns() >= end)
			die("%s: %s: no answer within 30 s", c->id, what);
		if ((rc = mosquitto_loop(c->m, 100, 1)) != MOSQ_ERR_SUCCESS)
			die("%s: %s: %s", c->id, what, rc == MOSQ_ERR_ERRNO ?
			    strerror(errno) : mosquitto_strerror(rc));
	}
}

/* A TLS 1.3 session as identity (its client certificate), connected. */
static void
client_connect(struct client *c, const char *identity, const char *id)
{
	char	crt[4096], key[4096], ca[4096];
	int	rc, one = 1;

	snprintf(c->id, sizeof(c->id), "%s", id);
	snprintf(crt, sizeof(crt), "%s/clients/%s.crt", opt.pki, identity);
	snprintf(key, sizeof(key), "%s/clients/%s.key", opt.pki, identity);
	snprintf(ca, sizeof(ca), "%s/ca.crt", opt.pki);
	if ((c->m = mosquitto_new(id, true, c)) == NULL)
		die("mosquitto_new: %s", strerror(errno));
	mosquitto_connect_callback_set(c->m, on_connect);
	mosquitto_subscribe_callback_set(c->m, on_subscribe);
	mosquitto_publish_callback_set(c->m, on_publish);
	mosquitto_message_callback_set(c->m, on_message);
	if ((rc = mosquitto_tls_set(c->m, ca, NULL, crt, key, NULL)) !=
	    MOSQ_ERR_SUCCESS)
		die("%s: TLS files of %s (%s): %s", id, identity, crt,
		    mosquitto_strerror(rc));
	if ((rc = mosquitto_tls_opts_set(c->m, 1, opt.tls_version, NULL)) !=
	    MOSQ_ERR_SUCCESS)
		die("%s: TLS options (%s): %s", id, opt.tls_version,
		    mosquitto_strerror(rc));
	(void)mosquitto_int_option(c->m, MOSQ_OPT_TCP_NODELAY, one);
	if ((rc = mosquitto_connect(c->m, opt.host, opt.port, 60)) !=
	    MOSQ_ERR_SUCCESS)
		die("%s: connect to %s:%d as %s: %s", id, opt.host, opt.port,
		    identity, rc == MOSQ_ERR_ERRNO ? strerror(errno) :
		    mosquitto_strerror(rc));
	loop_until(c, &c->connected, "CONNACK");
	if (c->connected < 0)
		die("%s: the broker refused the connection as %s: %s", id,
		    identity, mosquitto_connack_string(c->connack));
}

/* Writes the tag into the first bytes of the payload (opt.body long). */
static void
stamp(char *payload, int pub, uint64_t seq, int64_t t_send, int64_t t_due)
{
	char	tag[128];
	int	n;

	n = snprintf(tag, sizeof(tag), TAG " %d %" PRIu64 " %" PRId64 " %"
	    PRId64 " ", pub, seq, t_send, t_due);
	memcpy(payload, tag, (size_t)n < opt.body ? (size_t)n : opt.body);
}

static void *
publisher_main(void *arg)
{
	struct publisher	*p = arg;
	char			*payload;
	int64_t			 interval = 0, due, t_send, t_ack, end;
	int			 mid, rc;
	uint64_t		 seq;

	payload = xcalloc(1, opt.body);
	memset(payload, 'x', opt.body);
	if (opt.rate > 0) {
		interval = (int64_t)((double)opt.npub * NS / opt.rate);
		/* Staggered, so that the publishers do not send in bursts. */
		due = t_start + (int64_t)((double)p->idx * NS / opt.rate);
	} else
		due = t_start;
	sleep_until(due);
	for (;;) {
		if (opt.rate > 0) {
			if (due >= win_hi)
				break;
			sleep_until(due);
		}
		t_send = mono_ns();
		if (opt.rate <= 0) {
			if (t_send >= win_hi)
				break;
			due = t_send;
		}
		seq = p->sent++;
		stamp(payload, p->idx, seq, t_send, due);
		p->c.acked_mid = 0;
		rc = mosquitto_publish(p->c.m, &mid, opt.topic, (int)opt.body,
		    payload, 1, false);
		end = t_send + ACK_TIMEOUT_NS;
		while (rc == MOSQ_ERR_SUCCESS && p->c.acked_mid != mid) {
			if (mono_ns() >= end) {
				rc = -1;
				break;
			}
			rc = mosquitto_loop(p->c.m, 100, 1);
		}
		t_ack = mono_ns();
		if (rc != MOSQ_ERR_SUCCESS) {
			/* No reconnecting: a bench run with errors is void. */
			p->errors++;
			snprintf(p->last_err, sizeof(p->last_err), "%s",
			    rc == -1 ? "no PUBACK within 30 s" :
			    rc == MOSQ_ERR_ERRNO ? strerror(errno) :
			    mosquitto_strerror(rc));
			break;
		}
		p->acked++;
		if (t_send >= win_lo && t_send < win_hi) {
			p->win_acked++;
			lat_add(&p->ack_lat, t_ack - t_send);
			if (t_send - due > 1000000)
				p->win_late++;
			if (t_send - due > p->max_lag_ns)
				p->max_lag_ns = t_send - due;
		}
		if (opt.rate > 0)
			due += interval;
	}
	free(payload);
	return NULL;
}

static void *
subscriber_main(void *arg)
{
	struct subscriber	*s = arg;
	int			 rc;

	while (!atomic_load(&stop_subs)) {
		rc = mosquitto_loop(s->c.m, 100, 1);
		if (rc != MOSQ_ERR_SUCCESS) {
			s->errors++;
			snprintf(s->last_err, sizeof(s->last_err), "%s",
			    rc == MOSQ_ERR_ERRNO ? strerror(errno) :
			    mosquitto_strerror(rc));
			break;
		}
	}
	return NULL;
}

static int
run(void)
{
	struct publisher	*pubs;
	struct subscriber	*subs;
	struct lat		 lat = { 0 }, lat_sched = { 0 }, ack_lat = { 0 };
	struct cpu_snap		 c0, c1;
	char			*rlist, *recv[MAX_LIST], id[64];
	const char		*tlsv = "?";
	size_t			 nrecv;
	uint64_t		 sent = 0, acked = 0, perr = 0, win_acked = 0;
	uint64_t		 win_late = 0, win_recv = 0, serr = 0;
	uint64_t		 foreign = 0, smin = UINT64_MAX, smax = 0;
	uint64_t		 rx_win = 0;
	int64_t			 max_lag = 0, quiet_since, now, last;
	long			 hwm = -1;
	double			 secs = opt.seconds, fanout, l1, mach;
	long long		 lost;
	SSL			*ssl;
	int			 i;

	rlist = strdup(opt.receivers);
	if (rlist == NULL || (nrecv = split_list(rlist, recv, MAX_LIST)) == 0)
		die("--receivers names no identity");
	l1 = loadavg1();
	printf("== mosquitto: %d publishers (%s), %d subscribers, body %zu B, "
	    "QoS 1, %s, %.0f s after %.0f s warm-up; topic %s\n", opt.npub,
	    opt.publisher, opt.nsub, opt.body, opt.rate > 0 ? "fixed rate" :
	    "flat out", opt.seconds, opt.warmup, opt.topic);
	if (opt.rate > 0)
		printf("rate: %.0f publishes/s in all\n", opt.rate);
	printf("load average before: %.2f\n", l1);

	subs = xcalloc((size_t)opt.nsub, sizeof(*subs));
	for (i = 0; i < opt.nsub; i++) {
		subs[i].idx = i;
		subs[i].identity = recv[(size_t)i % nrecv];
		snprintf(id, sizeof(id), "bench-sub-%d", i);
		client_connect(&subs[i].c, subs[i].identity, id);
		if (mosquitto_subscribe(subs[i].c.m, NULL, opt.topic, 1) !=
		    MOSQ_ERR_SUCCESS)
			die("%s: subscribe failed", id);
		loop_until(&subs[i].c, &subs[i].c.subscribed, "SUBACK");
		if (subs[i].c.granted != 1)
			die("%s: the broker granted QoS %d, not 1", id,
			    subs[i].c.granted);
	}
	pubs = xcalloc((size_t)opt.npub, sizeof(*pubs));
	for (i = 0; i < opt.npub; i++) {
		pubs[i].idx = i;
		snprintf(id, sizeof(id), "bench-pub-%d", i);
		client_connect(&pubs[i].c, opt.publisher, id);
	}
	if ((ssl = mosquitto_ssl_get(pubs[0].c.m)) != NULL)
		tlsv = SSL_get_version(ssl);
	printf("sessions: %s, %s\n", tlsv, ssl != NULL ?
	    SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)) : "no TLS");

	t_start = mono_ns() + NS / 10;
	win_lo = t_start + (int64_t)(opt.warmup * NS);
	win_hi = win_lo + (int64_t)(opt.seconds * NS);
	for (i = 0; i < opt.nsub; i++)
		if (pthread_create(&subs[i].th, NULL, subscriber_main,
		    &subs[i]) != 0)
			die("pthread_create failed");
	for (i = 0; i < opt.npub; i++)
		if (pthread_create(&pubs[i].th, NULL, publisher_main,
		    &pubs[i]) != 0)
			die("pthread_create failed");

	sleep_until(win_lo);
	cpu_snap(&c0);
	sleep_until(win_hi);
	cpu_snap(&c1);
	for (i = 0; i < opt.npub; i++)
		pthread_join(pubs[i].th, NULL);

	/* Drain: until a second passes without a delivery (at most 30 s). */
	quiet_since = mono_ns();
	for (;;) {
		now = mono_ns();
		last = 0;
		for (i = 0; i < opt.nsub; i++)
			if (atomic_load(&subs[i].last_rx) > last)
				last = atomic_load(&subs[i].last_rx);
		if (last > quiet_since)
			quiet_since = last;
		if (now - quiet_since >= DRAIN_QUIET_NS ||
		    now - win_hi >= DRAIN_MAX_NS)
			break;
		usleep(50000);
	}
	atomic_store(&stop_subs, 1);
	for (i = 0; i < opt.nsub; i++)
		pthread_join(subs[i].th, NULL);
	if (opt.pid > 0)
		hwm = proc_status_kb(opt.pid, "VmHWM");

	for (i = 0; i < opt.npub; i++) {
		struct publisher *p = &pubs[i];

		sent += p->sent;
		acked += p->acked;
		perr += p->errors;
		win_acked += p->win_acked;
		win_late += p->win_late;
		if (p->max_lag_ns > max_lag)
			max_lag = p->max_lag_ns;
		lat_merge(&ack_lat, &p->ack_lat);
		if (p->errors > 0)
			fprintf(stderr, "publisher %d: %s\n", i, p->last_err);
		mosquitto_disconnect(p->c.m);
		mosquitto_destroy(p->c.m);
		free(p->ack_lat.v);
	}
	for (i = 0; i < opt.nsub; i++) {
		struct subscriber *s = &subs[i];

		win_recv += s->win_received;
		rx_win += s->rx_in_window;
		serr += s->errors;
		foreign += s->foreign;
		if (s->win_received < smin)
			smin = s->win_received;
		if (s->win_received > smax)
			smax = s->win_received;
		lat_merge(&lat, &s->lat);
		lat_merge(&lat_sched, &s->lat_sched);
		if (s->errors > 0)
			fprintf(stderr, "subscriber %d (%s): session ended: "
			    "%s\n", i, s->identity, s->last_err);
		mosquitto_disconnect(s->c.m);
		mosquitto_destroy(s->c.m);
		free(s->lat.v);
		free(s->lat_sched.v);
	}
	lat_sort(&lat);
	lat_sort(&lat_sched);
	lat_sort(&ack_lat);
	fanout = win_acked > 0 ? (double)win_recv / (double)win_acked : 0;
	lost = (long long)(win_acked * (uint64_t)opt.nsub) - (long long)win_recv;
	mach = c1.total > c0.total ? 100.0 * (double)(c1.busy - c0.busy) /
	    (double)(c1.total - c0.total) : -1;

	printf("publishes acked:     %10.0f /s   (%" PRIu64 " in the window; "
	    "%" PRIu64 " sent, %" PRIu64 " acked in all)\n",
	    (double)win_acked / secs, win_acked, sent, acked);
	printf("deliveries received: %10.0f /s   (%" PRIu64 " received in the "
	    "window, whenever published)\n", (double)rx_win / secs, rx_win);
	printf("of window publishes: %10.0f /s   (%" PRIu64 " of the window's "
	    "publishes received, until the drain; fan-out %.2f per publish; "
	    "per subscriber %" PRIu64 "..%" PRIu64 "; %lld missing)\n",
	    (double)win_recv / secs, win_recv, fanout, smin, smax, lost);
	printf("publish->deliver:    p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  "
	    "max %.2f ms  (%zu samples)\n", lat_q(&lat, .5), lat_q(&lat, .99),
	    lat_q(&lat, .999), lat_q(&lat, 1), lat.n);
	if (opt.rate > 0)
		printf("due->deliver:        p50 %.2f ms  p99 %.2f ms  p99.9 %.2f "
		    "ms  max %.2f ms  (from the scheduled send time; %" PRIu64
		    " publishes sent > 1 ms late, worst %.1f ms)\n",
		    lat_q(&lat_sched, .5), lat_q(&lat_sched, .99),
		    lat_q(&lat_sched, .999), lat_q(&lat_sched, 1), win_late,
		    (double)max_lag / 1e6);
	printf("publish->PUBACK:     p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  "
	    "max %.2f ms\n", lat_q(&ack_lat, .5), lat_q(&ack_lat, .99),
	    lat_q(&ack_lat, .999), lat_q(&ack_lat, 1));
	printf("errors:              %" PRIu64 " publish, %" PRIu64
	    " subscriber sessions ended, %" PRIu64 " deliveries not ours\n",
	    perr, serr, foreign);
	printf("cpu (100%% = one core of %ld):  mosquitto %.0f%%  bench_mosq "
	    "%.0f%%  machine busy %.0f%% of all cores; mosquitto VmHWM %ld kB\n",
	    sysconf(_SC_NPROCESSORS_ONLN), cpu_pct(c0.broker, c1.broker, &c0,
	    &c1), cpu_pct(c0.self, c1.self, &c0, &c1), mach, hwm);
	printf("RESULT mode=%s broker=mosquitto publishers=%d subscribers=%d "
	    "body=%zu rate=%.0f seconds=%.0f pubs_per_s=%.0f "
	    "deliveries_per_s=%.0f pub_deliveries_per_s=%.0f fanout=%.2f "
	    "lost=%lld p50_ms=%.2f "
	    "p99_ms=%.2f p999_ms=%.2f max_ms=%.2f sched_p99_ms=%.2f "
	    "ack_p99_ms=%.2f errors=%" PRIu64 " sub_errors=%" PRIu64
	    " broker_cpu=%.0f bench_cpu=%.0f machine_busy=%.0f hwm_kb=%ld "
	    "load1=%.2f tls=%s\n",
	    opt.rate > 0 ? "rate" : "flat", opt.npub, opt.nsub, opt.body,
	    opt.rate, secs, (double)win_acked / secs, (double)rx_win / secs,
	    (double)win_recv / secs, fanout, lost, lat_q(&lat, .5), lat_q(&lat, .99),
	    lat_q(&lat, .999), lat_q(&lat, 1), opt.rate > 0 ?
	    lat_q(&lat_sched, .99) : -1, lat_q(&ack_lat, .99), perr, serr,
	    cpu_pct(c0.broker, c1.broker, &c0, &c1),
	    cpu_pct(c0.self, c1.self, &c0, &c1), mach, hwm, l1, tlsv);
	free(lat.v);
	free(lat_sched.v);
	free(ack_lat.v);
	free(pubs);
	free(subs);
	free(rlist);
	return perr > 0 || serr > 0 ? 1 : 0;
}

static void
usage(void)
{
	fprintf(stderr,
"usage: bench_mosq --port P --pki DIR [--host H] [--publishers N]\n"
"           [--subscribers M] [--receivers ID,...] [--publisher ID]\n"
"           [--body BYTES] [--rate PUBS_PER_S] [--seconds S] [--warmup S]\n"
"           [--pid BROKER_PID] [--topic T] [--tls-version V]\n"
"\n"
"Defaults: host 127.0.0.1, 64 publishers (%s), 5 subscribers (%s,\n"
"in turn), 1024-byte payloads, QoS 1, flat out (no --rate), 10 s measured\n"
"after a 2 s warm-up, topic %s, tlsv1.3.\n",
	    PUBLISHER_DEFAULT, RECEIVERS_DEFAULT, TOPIC_DEFAULT);
	exit(2);
}

int
main(int argc, char *argv[])
{
	enum { O_HOST = 256, O_PORT, O_PKI, O_PUB, O_SUB, O_RECV, O_PUBID,
	    O_BODY, O_RATE, O_SECS, O_WARM, O_PID, O_TOPIC, O_TLSV };
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, O_HOST },
		{ "port", required_argument, NULL, O_PORT },
		{ "pki", required_argument, NULL, O_PKI },
		{ "publishers", required_argument, NULL, O_PUB },
		{ "subscribers", required_argument, NULL, O_SUB },
		{ "receivers", required_argument, NULL, O_RECV },
		{ "publisher", required_argument, NULL, O_PUBID },
		{ "body", required_argument, NULL, O_BODY },
		{ "rate", required_argument, NULL, O_RATE },
		{ "seconds", required_argument, NULL, O_SECS },
		{ "warmup", required_argument, NULL, O_WARM },
		{ "pid", required_argument, NULL, O_PID },
		{ "topic", required_argument, NULL, O_TOPIC },
		{ "tls-version", required_argument, NULL, O_TLSV },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int	ch, rc;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case O_HOST:
			opt.host = optarg;
			break;
		case O_PORT:
			opt.port = atoi(optarg);
			break;
		case O_PKI:
			opt.pki = optarg;
			break;
		case O_PUB:
			opt.npub = atoi(optarg);
			break;
		case O_SUB:
			opt.nsub = atoi(optarg);
			break;
		case O_RECV:
			opt.receivers = optarg;
			break;
		case O_PUBID:
			opt.publisher = optarg;
			break;
		case O_BODY:
			opt.body = strtoul(optarg, NULL, 10);
			break;
		case O_RATE:
			opt.rate = atof(optarg);
			break;
		case O_SECS:
			opt.seconds = atof(optarg);
			break;
		case O_WARM:
			opt.warmup = atof(optarg);
			break;
		case O_PID:
			opt.pid = atoi(optarg);
			break;
		case O_TOPIC:
			opt.topic = optarg;
			break;
		case O_TLSV:
			opt.tls_version = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || opt.port <= 0 || opt.port > 65535 ||
	    opt.pki == NULL)
		usage();
	if (opt.npub < 1 || opt.nsub < 1 || opt.body < BODY_MIN ||
	    opt.seconds <= 0 || opt.warmup < 0 || opt.rate < 0)
		die("--publishers and --subscribers are at least 1, --body at "
		    "least %d, --seconds above 0", BODY_MIN);
	mosquitto_lib_init();
	rc = run();
	mosquitto_lib_cleanup();
	return rc;
}
