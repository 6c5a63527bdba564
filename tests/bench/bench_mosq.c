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
 * was due (and "-", where bench_broker names nwdd's instance), the tag of
 * tests/bench/bench_common.h that bench_broker's RiskAlert summary
 * carries: publish->deliver is a subscriber's receive time minus the
 * first (and, at a fixed rate, due->deliver minus the second).  Only
 * publishes sent inside the measured window (after --warmup seconds, for
 * --seconds) count; after the window the subscribers drain until one
 * second passes without a delivery.  What the two programs share (the
 * window, pacing, samples, /proc, the RESULT keys) is bench_common's.
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
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mosquitto.h>
#include <openssl/ssl.h>

#include "bench_common.h"

#define RECEIVERS_DEFAULT	BENCH_RECEIVERS
#define PUBLISHER_DEFAULT	BENCH_PUBLISHER
#define TOPIC_DEFAULT		"nwd/bench/YP-BENCH"
#define MAX_LIST		64
#define ACK_TIMEOUT_NS		(30 * NS)

static struct {
	struct bench_run run;
	const char	*host;
	int		 port;
	pid_t		 pid;		/* the broker, or 0 */
	const char	*publisher;
	const char	*topic;
	const char	*tls_version;
} opt = {
	.run = BENCH_RUN_DEFAULTS(64),
	.host = "127.0.0.1",
	.publisher = PUBLISHER_DEFAULT,
	.topic = TOPIC_DEFAULT,
	.tls_version = "tlsv1.3",
};

/* ---- clients ------------------------------------------------------------- */

static struct bench_window win;
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
	struct bench_pub st;
	char		 last_err[256];
};

struct subscriber {
	pthread_t	 th;
	int		 idx;
	const char	*identity;
	struct client	 c;
	struct bench_sub st;
	uint64_t	 rx_in_window;	/* received in the window */
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
	struct bench_tag	 t;
	char			 buf[128];
	size_t			 n;
	int64_t			 now = bench_mono_ns();

	(void)m;
	if (bench_in_window(&win, now))
		s->rx_in_window++;
	n = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
	if (n > sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	memcpy(buf, msg->payload, n);
	buf[n] = '\0';
	(void)bench_sub_delivery(&s->st, &win, &opt.run, now,
	    bench_tag_read(buf, &t) >= 4 ? &t : NULL);
}

/*
 * Runs c's network loop until *flag is nonzero, or dies (what, the error)
 * after 30 s or on a broken session.
 */
static void
loop_until(struct client *c, const int *flag, const char *what)
{
	int64_t	end = bench_mono_ns() + ACK_TIMEOUT_NS;
	int	rc;

	while (*flag == 0) {
		if (bench_mono_ns() >= end)
			bench_die("%s: %s: no answer within 30 s", c->id, what);
		if ((rc = mosquitto_loop(c->m, 100, 1)) != MOSQ_ERR_SUCCESS)
			bench_die("%s: %s: %s", c->id, what,
			    rc == MOSQ_ERR_ERRNO ? strerror(errno) :
			    mosquitto_strerror(rc));
	}
}

/* A TLS 1.3 session as identity (its client certificate), connected. */
static void
client_connect(struct client *c, const char *identity, const char *id)
{
	char	crt[4096], key[4096], ca[4096];
	int	rc, one = 1;

	snprintf(c->id, sizeof(c->id), "%s", id);
	snprintf(crt, sizeof(crt), "%s/clients/%s.crt", opt.run.pki, identity);
	snprintf(key, sizeof(key), "%s/clients/%s.key", opt.run.pki, identity);
	snprintf(ca, sizeof(ca), "%s/ca.crt", opt.run.pki);
	if ((c->m = mosquitto_new(id, true, c)) == NULL)
		bench_die("mosquitto_new: %s", strerror(errno));
	mosquitto_connect_callback_set(c->m, on_connect);
	mosquitto_subscribe_callback_set(c->m, on_subscribe);
	mosquitto_publish_callback_set(c->m, on_publish);
	mosquitto_message_callback_set(c->m, on_message);
	if ((rc = mosquitto_tls_set(c->m, ca, NULL, crt, key, NULL)) !=
	    MOSQ_ERR_SUCCESS)
		bench_die("%s: TLS files of %s (%s): %s", id, identity, crt,
		    mosquitto_strerror(rc));
	if ((rc = mosquitto_tls_opts_set(c->m, 1, opt.tls_version, NULL)) !=
	    MOSQ_ERR_SUCCESS)
		bench_die("%s: TLS options (%s): %s", id, opt.tls_version,
		    mosquitto_strerror(rc));
	(void)mosquitto_int_option(c->m, MOSQ_OPT_TCP_NODELAY, one);
	if ((rc = mosquitto_connect(c->m, opt.host, opt.port, 60)) !=
	    MOSQ_ERR_SUCCESS)
		bench_die("%s: connect to %s:%d as %s: %s", id, opt.host,
		    opt.port, identity, rc == MOSQ_ERR_ERRNO ? strerror(errno) :
		    mosquitto_strerror(rc));
	loop_until(c, &c->connected, "CONNACK");
	if (c->connected < 0)
		bench_die("%s: the broker refused the connection as %s: %s", id,
		    identity, mosquitto_connack_string(c->connack));
}


static void *
publisher_main(void *arg)
{
	struct publisher	*p = arg;
	struct bench_pacer	 pace;
	char			*payload;
	int64_t			 t_send, t_ack, end;
	int			 mid, rc;
	uint64_t		 seq;

	payload = bench_xcalloc(1, opt.run.body);
	memset(payload, 'x', opt.run.body);
	bench_pacer_init(&pace, &win, &opt.run, p->idx);
	while (bench_pacer_next(&pace, &t_send)) {
		seq = p->st.sent++;
		bench_tag_write(payload, opt.run.body, p->idx, seq, t_send,
		    pace.due, "-");
		p->c.acked_mid = 0;
		rc = mosquitto_publish(p->c.m, &mid, opt.topic,
		    (int)opt.run.body, payload, 1, false);
		end = t_send + ACK_TIMEOUT_NS;
		while (rc == MOSQ_ERR_SUCCESS && p->c.acked_mid != mid) {
			if (bench_mono_ns() >= end) {
				rc = -1;
				break;
			}
			rc = mosquitto_loop(p->c.m, 100, 1);
		}
		t_ack = bench_mono_ns();
		if (rc != MOSQ_ERR_SUCCESS) {
			/* No reconnecting: a bench run with errors is void. */
			p->st.errors++;
			snprintf(p->last_err, sizeof(p->last_err), "%s",
			    rc == -1 ? "no PUBACK within 30 s" :
			    rc == MOSQ_ERR_ERRNO ? strerror(errno) :
			    mosquitto_strerror(rc));
			break;
		}
		(void)bench_pub_acked(&p->st, &win, t_send, pace.due, t_ack);
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
			s->st.errors++;
			snprintf(s->last_err, sizeof(s->last_err), "%s",
			    rc == MOSQ_ERR_ERRNO ? strerror(errno) :
			    mosquitto_strerror(rc));
			break;
		}
	}
	return NULL;
}

struct cpu_snap {
	struct bench_cpu base;
	long long	 broker;
};

static void
cpu_snap(struct cpu_snap *c)
{
	bench_cpu_snap(&c->base);
	c->broker = opt.pid > 0 ? bench_proc_cpu_ticks(opt.pid, NULL) : -1;
}

static int
run(void)
{
	struct publisher	*pubs;
	struct subscriber	*subs;
	struct bench_totals	 tot;
	struct cpu_snap		 c0, c1;
	char			*rlist, *recv[MAX_LIST], id[64];
	const char		*tlsv = "?";
	size_t			 nrecv;
	uint64_t		 rx_win = 0;
	long			 hwm = -1;
	double			 secs = opt.run.seconds, fanout, l1, mach;
	double			 cpu_broker, cpu_self;
	long long		 lost;
	SSL			*ssl;
	int			 i;

	rlist = strdup(opt.run.receivers);
	if (rlist == NULL ||
	    (nrecv = bench_split_list(rlist, recv, MAX_LIST)) == 0)
		bench_die("--receivers names no identity");
	l1 = bench_loadavg1();
	printf("== mosquitto: %d publishers (%s), %d subscribers, body %zu B, "
	    "QoS 1, %s, %.0f s after %.0f s warm-up; topic %s\n", opt.run.npub,
	    opt.publisher, opt.run.nsub, opt.run.body, opt.run.rate > 0 ?
	    "fixed rate" : "flat out", opt.run.seconds, opt.run.warmup,
	    opt.topic);
	if (opt.run.rate > 0)
		printf("rate: %.0f publishes/s in all\n", opt.run.rate);
	printf("load average before: %.2f\n", l1);

	subs = bench_xcalloc((size_t)opt.run.nsub, sizeof(*subs));
	for (i = 0; i < opt.run.nsub; i++) {
		subs[i].idx = i;
		subs[i].identity = recv[(size_t)i % nrecv];
		snprintf(id, sizeof(id), "bench-sub-%d", i);
		client_connect(&subs[i].c, subs[i].identity, id);
		if (mosquitto_subscribe(subs[i].c.m, NULL, opt.topic, 1) !=
		    MOSQ_ERR_SUCCESS)
			bench_die("%s: subscribe failed", id);
		loop_until(&subs[i].c, &subs[i].c.subscribed, "SUBACK");
		if (subs[i].c.granted != 1)
			bench_die("%s: the broker granted QoS %d, not 1", id,
			    subs[i].c.granted);
	}
	pubs = bench_xcalloc((size_t)opt.run.npub, sizeof(*pubs));
	for (i = 0; i < opt.run.npub; i++) {
		pubs[i].idx = i;
		snprintf(id, sizeof(id), "bench-pub-%d", i);
		client_connect(&pubs[i].c, opt.publisher, id);
	}
	if ((ssl = mosquitto_ssl_get(pubs[0].c.m)) != NULL)
		tlsv = SSL_get_version(ssl);
	printf("sessions: %s, %s\n", tlsv, ssl != NULL ?
	    SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)) : "no TLS");

	bench_window_open(&win, &opt.run);
	for (i = 0; i < opt.run.nsub; i++)
		bench_thread_start(&subs[i].th, subscriber_main, &subs[i]);
	for (i = 0; i < opt.run.npub; i++)
		bench_thread_start(&pubs[i].th, publisher_main, &pubs[i]);

	bench_sleep_until(win.lo);
	cpu_snap(&c0);
	bench_sleep_until(win.hi);
	cpu_snap(&c1);
	for (i = 0; i < opt.run.npub; i++)
		pthread_join(pubs[i].th, NULL);
	bench_drain(&win, &subs[0].st, sizeof(subs[0]), opt.run.nsub);
	atomic_store(&stop_subs, 1);
	for (i = 0; i < opt.run.nsub; i++)
		pthread_join(subs[i].th, NULL);
	if (opt.pid > 0)
		hwm = bench_proc_status_kb(opt.pid, "VmHWM");

	bench_totals_init(&tot);
	for (i = 0; i < opt.run.npub; i++) {
		struct publisher *p = &pubs[i];

		bench_totals_add_pub(&tot, &p->st);
		if (p->st.errors > 0)
			fprintf(stderr, "publisher %d: %s\n", i, p->last_err);
		mosquitto_disconnect(p->c.m);
		mosquitto_destroy(p->c.m);
	}
	for (i = 0; i < opt.run.nsub; i++) {
		struct subscriber *s = &subs[i];

		bench_totals_add_sub(&tot, &s->st);
		rx_win += s->rx_in_window;
		if (s->st.errors > 0)
			fprintf(stderr, "subscriber %d (%s): session ended: "
			    "%s\n", i, s->identity, s->last_err);
		mosquitto_disconnect(s->c.m);
		mosquitto_destroy(s->c.m);
	}
	bench_totals_sort(&tot);
	fanout = bench_totals_fanout(&tot);
	lost = (long long)(tot.win_acked * (uint64_t)opt.run.nsub) -
	    (long long)tot.win_recv;
	mach = bench_cpu_machine_pct(&c0.base, &c1.base);
	cpu_broker = bench_cpu_pct(c0.broker, c1.broker, &c0.base, &c1.base);
	cpu_self = bench_cpu_pct(c0.base.self, c1.base.self, &c0.base,
	    &c1.base);

	bench_print_published(&tot, &opt.run);
	printf("deliveries received: %10.0f /s   (%" PRIu64 " received in the "
	    "window, whenever published)\n", (double)rx_win / secs, rx_win);
	printf("of window publishes: %10.0f /s   (%" PRIu64 " of the window's "
	    "publishes received, until the drain; fan-out %.2f per publish; "
	    "per subscriber %" PRIu64 "..%" PRIu64 "; %lld missing)\n",
	    (double)tot.win_recv / secs, tot.win_recv, fanout, tot.smin,
	    tot.smax, lost);
	bench_print_latencies(&tot, &opt.run, "publish->PUBACK:");
	printf("errors:              %" PRIu64 " publish, %" PRIu64
	    " subscriber sessions ended, %" PRIu64 " deliveries not ours\n",
	    tot.perr, tot.serr, tot.foreign);
	printf("cpu (100%% = one core of %ld):  mosquitto %.0f%%  bench_mosq "
	    "%.0f%%  machine busy %.0f%% of all cores; mosquitto VmHWM %ld kB\n",
	    sysconf(_SC_NPROCESSORS_ONLN), cpu_broker, cpu_self, mach, hwm);
	bench_result_begin(&opt.run, "broker=mosquitto", &tot,
	    (double)rx_win / secs);
	printf(" pub_deliveries_per_s=%.0f fanout=%.2f lost=%lld",
	    (double)tot.win_recv / secs, fanout, lost);
	bench_result_latencies(&opt.run, &tot);
	printf(" broker_cpu=%.0f bench_cpu=%.0f machine_busy=%.0f hwm_kb=%ld "
	    "load1=%.2f tls=%s\n", cpu_broker, cpu_self, mach, hwm, l1, tlsv);
	bench_totals_free(&tot);
	free(pubs);
	free(subs);
	free(rlist);
	return tot.perr > 0 || tot.serr > 0 ? 1 : 0;
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
	const struct bench_opt	opts[] = {
		BENCH_RUN_OPTS(opt.run),
		BENCH_OPT_S("host", opt.host),
		BENCH_OPT_I("port", opt.port),
		BENCH_OPT_S("publisher", opt.publisher),
		BENCH_OPT_I("pid", opt.pid),
		BENCH_OPT_S("topic", opt.topic),
		BENCH_OPT_S("tls-version", opt.tls_version),
	};
	int			rc;

	bench_prog = "bench_mosq";
	if (bench_getopt(argc, argv, opts, sizeof(opts) / sizeof(opts[0])) ==
	    -1 || opt.port <= 0 || opt.port > 65535 || opt.run.pki == NULL)
		usage();
	bench_run_check(&opt.run);
	mosquitto_lib_init();
	rc = run();
	mosquitto_lib_cleanup();
	return rc;
}
