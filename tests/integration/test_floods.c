/*
 * Floods and slow clients against a real nwdd on loopback (G12): outside
 * input is bounded before allocation, and a well-behaved client keeps
 * being served while it happens.
 *
 * Throughout each test a canary thread runs publish -> deliver round trips
 * between two well-behaved clients (plo-ana publishes a RiskAlert on
 * YP-FLOOD, hubsys-norwich receives and acks it): 99 in 100 of them must
 * take less than CANARY_BUDGET_MS and none more than CANARY_MAX_MS (a
 * round trip includes the audit COMMIT, whose fsync the machine's other
 * work can delay).  Around the canary:
 *
 * - a connection flood past max_connections: the excess is refused at
 *   once, the rest times out in the handshake; every one is counted in
 *   /metrics (max_connections or handshake_timeout), and the daemon
 *   serves new clients afterwards;
 * - connection churn from another thread (connect, a few bytes, close,
 *   CHURN_PER_S a second);
 * - slow-loris clients in the TLS handshake (silent, or half a
 *   ClientHello): closed at handshake_timeout, not before, and audited;
 * - slow-loris clients mid-frame (two bytes of a length prefix), before
 *   Hello (closed at handshake_timeout) and after it (at idle_timeout);
 * - oversize lengths, a half-sent frame of a legal size, and a Publish
 *   with half a million repeated fields, refused by the capped decoder;
 * - a subscriber that reads nothing while a publisher pushes large
 *   alerts: cut off as a slow consumer, its durable queue keeps them all;
 * - max_connections_per_principal: a flood of one principal's sessions,
 *   each refusal answered, audited and counted in /metrics.
 *
 * The daemon's RSS (VmRSS) is read before and after each flood; its growth
 * is bounded.  Under NWD_TEST_DAEMON_WRAPPER (valgrind) the daemon's
 * timeouts are multiplied by SLOW_TIMEOUTS, budgets and waits by
 * SLOW_FACTOR, and RSS is not judged (it is the wrapper's).  Under
 * AddressSanitizer the daemon's quarantine is capped at ASAN_QUARANTINE_MB
 * and every RSS limit grows by that much.
 * NWD_TEST_SCALE (0 < x <= 1, default 1) scales the number of connections
 * and messages down.  Nothing sleeps to synchronise: every
 * wait polls for its event against a deadline.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include "frame.h"
#include "fixtures.h"
#include "harness.h"
#include "nwd.h"

#define WAIT_MS			15000	/* the most any event may take */
#define SLOW_FACTOR		8	/* budgets under a wrapper (valgrind) */
#define SLOW_TIMEOUTS		2	/* the daemon's timeouts, wrapped */
#define CANARY_BUDGET_MS	500	/* 99th percentile of a round trip */
#define CANARY_MAX_MS		2000	/* the slowest round trip */
#define CANARY_SAMPLES		65536	/* round trips whose times are kept */
#define MAX_CONNECTIONS		40
#define PER_PRINCIPAL		6
#define HANDSHAKE_S		2
#define IDLE_S			4
#define OUTPUT_CAP		262144	/* max_output_buffer */
#define MAX_FRAME		1048576	/* max_frame (the default) */
#define RSS_SLACK_KB		(24 * 1024)
/*
 * Under AddressSanitizer freed memory waits in a quarantine (256 MB by
 * default) before it is reused, so RSS climbs after any churn.  The
 * daemon started here gets a small quarantine, and each RSS limit grows
 * by that much: the bound still catches a leak or an unbounded buffer.
 */
#if defined(__SANITIZE_ADDRESS__)
#define NWD_TEST_ASAN		1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NWD_TEST_ASAN		1
#endif
#endif
#ifdef NWD_TEST_ASAN
#define ASAN_QUARANTINE_MB	16
#define ASAN_SLACK_KB		(ASAN_QUARANTINE_MB * 1024)
#else
#define ASAN_SLACK_KB		0
#endif
#define CHURN_PER_S		200	/* connections a second, at most */
#define QUEUE_MAX		600	/* store_queue_max */
#define QUEUE_MAX_BYTES		(32 << 20) /* store_queue_max_bytes */
#define HOG_PUBLISHES		1500	/* one principal's pipelined flood */
#define BIG_KB			900	/* near max_frame */
#define BIG_PUBLISHES		60
#define ALERT_KB		128	/* a slow consumer's alerts */
#define ALERTS_MAX		400	/* ... enough to pass the kernel's
					   buffers (a few MB) many times */

static struct harness_daemon	*daemon_f;
static int			 metrics_port;
static int			 slow = 1;	/* SLOW_FACTOR when wrapped */
static int			 slow_t = 1;	/* SLOW_TIMEOUTS when wrapped */
static double			 scale = 1.0;	/* NWD_TEST_SCALE */

/* Principals for sessions that only need to exist (not sw-ben, whose
 * sessions the per-principal test counts, nor the canary's). */
static const char *const extras[] = { "keyworker-kim", "camhs-cara",
    "duty-mash", "auditor-dan", "hubsys-dereham", "case-system" };
#define NEXTRAS	(sizeof(extras) / sizeof(extras[0]))

/* ------------------------------------------------------------------------
 * Small helpers
 */

static int
scaled(int n, int min)
{
	int v = (int)(n * scale);

	return v < min ? min : v;
}

static long
rss_kb(void)
{
	char	 path[64], line[256];
	FILE	*fp;
	long	 kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status",
	    (int)harness_daemon_pid(daemon_f));
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(fp);
	return kb;
}

/* RSS may grow by at most limit_kb across a flood (not judged wrapped). */
static void
assert_rss_bounded(const char *what, long before, long limit_kb)
{
	long after = rss_kb();

	limit_kb += ASAN_SLACK_KB;
	print_message("%s: daemon RSS %ld kB -> %ld kB (%+ld kB, limit %ld)"
	    "%s\n", what, before, after, after - before, limit_kb,
	    harness_daemon_wrapped() ? " (wrapped: not judged)" : "");
	assert_true(before > 0 && after > 0);
	if (!harness_daemon_wrapped() && after - before > limit_kb)
		fail_msg("%s: the daemon's RSS grew by %ld kB (limit %ld kB)",
		    what, after - before, limit_kb);
}

/*
 * Reads what is there on a readable raw socket.  Returns 1 if the peer
 * closed it (EOF or reset), else 0 (data was discarded, or nothing yet).
 */
static int
raw_closed(int fd)
{
	char	buf[4096];
	ssize_t	n;

	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n == 0)
		return 1;
	if (n < 0)
		return errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR;
	return 0;
}

/* The first len bytes of a real TLS ClientHello, into buf. */
static size_t
client_hello(uint8_t *buf, size_t max)
{
	SSL_CTX	*ctx;
	SSL	*ssl;
	BIO	*rb, *wb;
	int	 n;

	assert_non_null(ctx = SSL_CTX_new(TLS_client_method()));
	assert_non_null(ssl = SSL_new(ctx));
	assert_non_null(rb = BIO_new(BIO_s_mem()));
	assert_non_null(wb = BIO_new(BIO_s_mem()));
	SSL_set_bio(ssl, rb, wb);
	SSL_set_connect_state(ssl);
	assert_int_equal(SSL_do_handshake(ssl), -1);	/* wants the reply */
	n = BIO_read(wb, buf, (int)max);
	assert_true(n > 64);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return (size_t)n;
}

/* ------------------------------------------------------------------------
 * /metrics
 */

/* GET /metrics into a new string (Connection: close), or NULL. */
static char *
metrics_get(void)
{
	struct pollfd	 pfd;
	char		 req[256], *buf = NULL, *nb, *body;
	size_t		 len = 0, cap = 0;
	ssize_t		 n;
	int64_t		 deadline = harness_mono_ms() + WAIT_MS;
	int		 fd, reqlen;

	if ((fd = harness_tcp_connect(metrics_port)) == -1)
		return NULL;
	reqlen = snprintf(req, sizeof(req), "GET /metrics HTTP/1.1\r\nHost: "
	    "127.0.0.1\r\nConnection: close\r\n\r\n");
	if (write(fd, req, reqlen) != reqlen)
		goto bad;
	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(deadline - harness_mono_ms())) <= 0)
			goto bad;
		if (len + 8192 + 1 > cap) {
			cap = cap * 2 + 16384;
			if ((nb = realloc(buf, cap)) == NULL)
				goto bad;
			buf = nb;
		}
		if ((n = read(fd, buf + len, cap - len - 1)) < 0) {
			if (errno == EINTR)
				continue;
			goto bad;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	if (buf == NULL)
		return NULL;
	buf[len] = '\0';
	if (strncmp(buf, "HTTP/1.1 200", 12) != 0 ||
	    (body = strstr(buf, "\r\n\r\n")) == NULL) {
		free(buf);
		return NULL;
	}
	memmove(buf, body + 4, strlen(body + 4) + 1);
	return buf;
bad:
	close(fd);
	free(buf);
	return NULL;
}

/* The value of one series, e.g. nwd_refusals_total{reason="x"}. */
static double
metric(const char *series)
{
	char	*text, *p;
	size_t	 n = strlen(series);
	double	 v = -1;

	if ((text = metrics_get()) == NULL)
		fail_msg("GET /metrics on port %d failed", metrics_port);
	for (p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'),
	    p = p != NULL ? p + 1 : NULL) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ') {
			v = strtod(p + n + 1, NULL);
			break;
		}
	}
	free(text);
	if (v < 0)
		fail_msg("/metrics has no series %s", series);
	return v;
}

static double
refusals(const char *reason)
{
	char	series[128];

	snprintf(series, sizeof(series), "nwd_refusals_total{reason=\"%s\"}",
	    reason);
	return metric(series);
}

/* ------------------------------------------------------------------------
 * The canary: publish -> deliver round trips in a thread of its own
 */

struct canary {
	pthread_t		 thr;
	int			 running;	/* thr must be joined */
	struct nwd_client	*pub, *sub;
	atomic_int		 stop;
	atomic_llong		 n;		/* round trips done */
	int64_t			 max_ms, sum_ms;	/* read after join */
	int32_t			 ms[CANARY_SAMPLES];	/* read after join */
	atomic_int		 failed;
	char			 err[640];	/* the first failure */
};

static void *
canary_run(void *arg)
{
	struct canary		*c = arg;
	struct fixture_alert	 a;
	Nwd__V1__PublishAck	*ack;
	Nwd__V1__Deliver	*d;
	char			 err[512], mid[40];
	int64_t			 t0, dt;
	enum nwd_status		 st;

	fixture_alert_init(&a, "YP-FLOOD",
	    NWD__V1__RISK_ALERT__CATEGORY__CRIMINAL_EXPLOITATION,
	    "canary: still served?");
	while (!atomic_load(&c->stop)) {
		ack = NULL;
		d = NULL;
		t0 = harness_mono_ms();
		if ((st = nwd_publish(c->pub, &a.env, &ack, err,
		    sizeof(err))) != NWD_OK) {
			snprintf(c->err, sizeof(c->err), "publish %" PRId64
			    ": %.512s (%s)", (int64_t)c->n + 1, err,
			    nwd_status_name(st));
			break;
		}
		snprintf(mid, sizeof(mid), "%s", ack->message_id);
		nwd_publish_ack_free(ack);
		if ((st = nwd_next_delivery(c->sub, WAIT_MS * slow, &d, err,
		    sizeof(err))) != NWD_OK) {
			snprintf(c->err, sizeof(c->err), "delivery %" PRId64
			    ": %.512s (%s)", (int64_t)c->n + 1, err,
			    nwd_status_name(st));
			break;
		}
		dt = harness_mono_ms() - t0;
		if (strcmp(d->envelope->header->message_id, mid) != 0) {
			snprintf(c->err, sizeof(c->err), "delivery %" PRId64
			    " is %s, not %s", (int64_t)c->n + 1,
			    d->envelope->header->message_id, mid);
			nwd_deliver_free(d);
			break;
		}
		st = nwd_ack(c->sub, d->delivery_id, mid, err, sizeof(err));
		nwd_deliver_free(d);
		if (st != NWD_OK) {
			snprintf(c->err, sizeof(c->err), "ack %" PRId64
			    ": %.512s", (int64_t)c->n + 1, err);
			break;
		}
		c->n++;
		c->sum_ms += dt;
		if (c->n <= CANARY_SAMPLES)
			c->ms[c->n - 1] = (int32_t)dt;
		if (dt > c->max_ms)
			c->max_ms = dt;
	}
	atomic_store(&c->failed, c->err[0] != '\0');
	return NULL;
}

static void
canary_start(struct canary *c)
{
	Nwd__V1__Kind	 k = NWD__V1__KIND__RISK_ALERT;
	const char	*subjects[1] = { "YP-FLOOD" };
	uint64_t	 id = 0;
	char		 err[512];

	memset(c, 0, sizeof(*c));
	atomic_init(&c->stop, 0);
	atomic_init(&c->n, 0);
	atomic_init(&c->failed, 0);
	c->sub = harness_connect_as("hubsys-norwich");
	c->pub = harness_connect_as("plo-ana");
	if (nwd_subscribe(c->sub, &k, 1, subjects, 1, NULL, &id, err,
	    sizeof(err)) != NWD_OK)
		fail_msg("canary subscribe: %s", err);
	assert_int_equal(pthread_create(&c->thr, NULL, canary_run, c), 0);
	c->running = 1;
}

/* Stops the thread and closes the clients; no assertion. */
static void
canary_end(struct canary *c)
{
	if (!c->running)
		return;
	atomic_store(&c->stop, 1);
	pthread_join(c->thr, NULL);
	c->running = 0;
	nwd_close(c->pub);
	nwd_close(c->sub);
	c->pub = c->sub = NULL;
}

static int
cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return x < y ? -1 : x > y;
}

/* Stops the canary and asserts it was served within the budget. */
static void
canary_stop(struct canary *c, const char *what)
{
	int64_t	n, p50 = 0, p99 = 0;

	canary_end(c);
	n = c->n < CANARY_SAMPLES ? c->n : CANARY_SAMPLES;
	if (n > 0) {
		qsort(c->ms, n, sizeof(c->ms[0]), cmp_i32);
		p50 = c->ms[n / 2];
		p99 = c->ms[(n * 99) / 100];
	}
	print_message("%s: canary %lld round trips, median %" PRId64 " ms, "
	    "p99 %" PRId64 " ms, max %" PRId64 " ms (budget: p99 %d, max %d)"
	    "\n", what, (long long)c->n, p50, p99, c->max_ms,
	    CANARY_BUDGET_MS * slow, CANARY_MAX_MS * slow);
	if (c->failed)
		fail_msg("%s: the well-behaved client was not served: %s", what,
		    c->err);
	assert_true(c->n > 0);
	if (p99 > CANARY_BUDGET_MS * slow || c->max_ms > CANARY_MAX_MS * slow)
		fail_msg("%s: round trips took up to %" PRId64 " ms, p99 %"
		    PRId64 " ms (budget: p99 %d ms, max %d ms)", what,
		    c->max_ms, p99, CANARY_BUDGET_MS * slow,
		    CANARY_MAX_MS * slow);
}

/* The canary of the test running; its teardown stops it if the test
 * failed first. */
static struct canary	canary;

/* The canary must also have made progress while a flood held. */
static void
canary_wait_progress(struct canary *c, int64_t rounds)
{
	int64_t deadline = harness_mono_ms() + WAIT_MS * slow, start = c->n;

	while (c->n < start + rounds && !c->failed &&
	    harness_mono_ms() < deadline)
		poll(NULL, 0, 10);
	if (c->n < start + rounds)
		fail_msg("the canary made %lld round trips in %d ms (wanted %"
		    PRId64 ")%s%s", (long long)(c->n - start), WAIT_MS * slow,
		    rounds, c->failed ? ": " : "", c->failed ? c->err : "");
}

static void
assert_still_serving(void)
{
	struct nwd_client	*c = harness_connect_as("keyworker-kim");
	char			 err[256];

	assert_int_equal(nwd_ping(c, err, sizeof(err)), NWD_OK);
	nwd_close(c);
}

/* ------------------------------------------------------------------------
 * Raw TLS sessions
 */

static struct harness_tls *
tls_as(const char *name)
{
	struct harness_tls	*t;
	char			 err[512];

	if ((t = harness_tls_connect(harness_daemon_port(daemon_f), name,
	    NULL, err, sizeof(err))) == NULL)
		fail_msg("TLS connect as %s: %s", name, err);
	return t;
}

/* A raw session past Hello. */
static struct harness_tls *
active_as(const char *name)
{
	struct harness_tls	*t = tls_as(name);
	Nwd__V1__Frame		*f = NULL;

	if (harness_tls_hello(t, WAIT_MS * slow, &f) != 0 ||
	    f->msg_case != NWD__V1__FRAME__MSG_WELCOME)
		fail_msg("hello as %s: %s", name, f == NULL ?
		    harness_tls_error(t) : frame_msg_name(f));
	frame_free(f);
	return t;
}

/*
 * Waits for each of n sessions to get an Error with code and text in it,
 * then be closed.  at[i] receives the time the Error arrived.
 */
static void
expect_errors(struct harness_tls **t, int n, Nwd__V1__ErrorCode code,
    const char *text, int64_t *at)
{
	struct pollfd	*pfd;
	Nwd__V1__Frame	*f;
	int64_t		 deadline = harness_mono_ms() + WAIT_MS * slow;
	int		 i, left = n, r;

	assert_non_null(pfd = calloc(n, sizeof(*pfd)));
	for (i = 0; i < n; i++) {
		pfd[i].fd = harness_tls_fd(t[i]);
		pfd[i].events = POLLIN;
	}
	while (left > 0) {
		if (harness_mono_ms() >= deadline)
			fail_msg("%d of %d sessions got no \"%s\" in time",
			    left, n, text);
		if (poll(pfd, n, (int)(deadline - harness_mono_ms())) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			/* Readable: a ticket, or our Error (one record). */
			f = NULL;
			r = harness_tls_read_frame(t[i], WAIT_MS * slow, &f);
			if (r != 0)
				fail_msg("session %d: no Error frame: %s", i,
				    harness_tls_error(t[i]));
			if (f->msg_case != NWD__V1__FRAME__MSG_ERROR ||
			    f->error->code != code ||
			    strstr(f->error->text, text) == NULL)
				fail_msg("session %d: got %s (%s), want an "
				    "Error with \"%s\"", i, frame_msg_name(f),
				    f->msg_case == NWD__V1__FRAME__MSG_ERROR ?
				    f->error->text : "-", text);
			at[i] = harness_mono_ms();
			frame_free(f);
			/* Then the daemon closes it. */
			f = NULL;
			if (harness_tls_read_frame(t[i], WAIT_MS * slow,
			    &f) != 1)
				fail_msg("session %d: not closed after its "
				    "Error: %s", i, f != NULL ?
				    frame_msg_name(f) :
				    harness_tls_error(t[i]));
			pfd[i].fd = -1;
			left--;
		}
	}
	free(pfd);
}

/*
 * Every time in at[] lies within [lo_ms, hi_ms] after its start: t0s[i],
 * or t0 for all if t0s is NULL.
 */
static void
assert_times(const char *what, const int64_t *at, int n, int64_t t0,
    const int64_t *t0s, int64_t lo_ms, int64_t hi_ms)
{
	int64_t	min = INT64_MAX, max = 0, d;
	int	i;

	for (i = 0; i < n; i++) {
		d = at[i] - (t0s != NULL ? t0s[i] : t0);
		if (d < min)
			min = d;
		if (d > max)
			max = d;
	}
	print_message("%s: %d closed after %" PRId64 " to %" PRId64 " ms "
	    "(allowed %" PRId64 " to %" PRId64 ")\n", what, n, min, max, lo_ms,
	    hi_ms);
	if (min < lo_ms || max > hi_ms)
		fail_msg("%s: closed after %" PRId64 " to %" PRId64 " ms, "
		    "outside %" PRId64 " to %" PRId64 " ms", what, min, max,
		    lo_ms, hi_ms);
}

/* ------------------------------------------------------------------------
 * Set-up
 */

static int
group_setup(void **state)
{
	struct rlimit	 rl;
	const char	*v;
	char		 extra[1024];

	if ((v = getenv("NWD_TEST_SCALE")) != NULL && *v != '\0') {
		scale = strtod(v, NULL);
		if (!(scale > 0 && scale <= 1)) {
			fprintf(stderr, "NWD_TEST_SCALE=%s: want 0 < x <= 1\n",
			    v);
			return -1;
		}
	}
	if (harness_daemon_wrapped()) {
		slow = SLOW_FACTOR;
		slow_t = SLOW_TIMEOUTS;
	}
	/* The floods open a few hundred sockets at once. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096 &&
	    rl.rlim_max > rl.rlim_cur) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((metrics_port = harness_free_port()) <= 0)
		return -1;
#ifdef NWD_TEST_ASAN
	{
		char	 opts[1024];

		v = getenv("ASAN_OPTIONS");
		snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=%d",
		    v != NULL ? v : "", v != NULL && *v != '\0' ? ":" : "",
		    ASAN_QUARANTINE_MB);
		if (setenv("ASAN_OPTIONS", opts, 1) == -1)
			return -1;
	}
#endif
	snprintf(extra, sizeof(extra),
	    "max_connections = %d\n"
	    "max_connections_per_principal = %d\n"
	    "handshake_timeout = %d\n"
	    "idle_timeout = %d\n"
	    "max_output_buffer = %d\n"
	    "max_frame = %d\n"
	    "store_queue_max = %d\n"
	    "store_queue_max_bytes = %d\n"
	    "metrics_listen = 127.0.0.1:%d\n",
	    MAX_CONNECTIONS, PER_PRINCIPAL, HANDSHAKE_S * slow_t,
	    IDLE_S * slow_t, OUTPUT_CAP, MAX_FRAME, QUEUE_MAX,
	    QUEUE_MAX_BYTES, metrics_port);
	if ((daemon_f = harness_daemon_start(extra)) == NULL)
		return -1;
	fixture_allocate("YP-FLOOD", "hub:norwich", 0);
	fixture_allocate("YP-SLOW", "hub:norwich", 0);
	print_message("floods: scale %.2f, timeouts x%d%s\n", scale, slow,
	    harness_daemon_wrapped() ? " (nwdd wrapped)" : "");
	return 0;
}

/* A table lock a test holds: released by the teardown if it failed. */
static struct harness_lock	*held_lock;

/* After each test, even one that failed: no canary left running, no
 * table left locked for the next test. */
static int
test_teardown(void **state)
{
	canary_end(&canary);
	harness_lock_abort(held_lock);
	held_lock = NULL;
	return 0;
}

static int
group_teardown(void **state)
{
	int rc = harness_daemon_stop(daemon_f);

	daemon_f = NULL;
	return rc == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------------
 * Connection floods
 */

/*
 * Past max_connections: the excess is closed at once, the rest waits in
 * the handshake until handshake_timeout; each is counted under one reason
 * or the other, and the canary never stalls.
 */
static void
test_connection_flood(void **state)
{
	struct pollfd	*pfd;
	int		 k = scaled(200, 2 * MAX_CONNECTIONS), i, left, early;
	double		 refused0, timeout0, refused, timedout;
	long		 rss0;
	int64_t		 t0, deadline;

	canary_start(&canary);
	canary_wait_progress(&canary, 3);
	rss0 = rss_kb();
	refused0 = refusals("max_connections");
	timeout0 = refusals("handshake_timeout");
	assert_non_null(pfd = calloc(k, sizeof(*pfd)));
	t0 = harness_mono_ms();
	for (i = 0; i < k; i++) {
		if ((pfd[i].fd = harness_tcp_connect(harness_daemon_port(daemon_f))) ==
		    -1)
			fail_msg("flood connection %d of %d: %s", i, k,
			    strerror(errno));
		pfd[i].events = POLLIN;
	}
	/* The canary keeps its round trips while the flood holds. */
	canary_wait_progress(&canary, 5);
	/* Each is closed by the daemon: refused now, or timed out later. */
	deadline = harness_mono_ms() + (HANDSHAKE_S * slow_t) * 1000 +
	    WAIT_MS * slow;
	left = k;
	early = 0;
	while (left > 0 && harness_mono_ms() < deadline) {
		if (poll(pfd, k, (int)(deadline - harness_mono_ms())) <= 0)
			continue;
		for (i = 0; i < k; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0 ||
			    !raw_closed(pfd[i].fd))
				continue;
			if (harness_mono_ms() - t0 <
			    HANDSHAKE_S * slow_t * 1000 - 200)
				early++;
			close(pfd[i].fd);
			pfd[i].fd = -1;
			left--;
		}
	}
	if (left > 0)
		fail_msg("%d of %d flood connections were never closed", left,
		    k);
	free(pfd);
	refused = refusals("max_connections") - refused0;
	timedout = refusals("handshake_timeout") - timeout0;
	print_message("flood of %d: %d closed at once, %.0f refused over "
	    "max_connections, %.0f timed out in the handshake\n", k, early,
	    refused, timedout);
	/* Every connection is accounted for, once. */
	assert_int_equal((int)(refused + timedout), k);
	assert_true(refused >= 1);
	assert_int_equal((int)refused, early);
	if (!harness_daemon_wrapped())
		/* The canary's two sessions and the flood fill the slots. */
		assert_int_equal((int)refused, k - (MAX_CONNECTIONS - 2));
	assert_true(harness_log_contains(daemon_f, "event=connection_refused"));
	canary_wait_progress(&canary, 3);
	canary_stop(&canary, "connection flood");
	assert_still_serving();
	assert_rss_bounded("connection flood", rss0, RSS_SLACK_KB);
}

struct churn {
	atomic_int	stop;
	int		port;
	long		n;		/* connections made */
	int		failed;		/* connect failed (not refused) */
	uint8_t		hello[2048];
	size_t		hello_len;
};

/*
 * Connects, writes a little (nothing, garbage, part of a ClientHello),
 * and goes: closing, or resetting the connection.  Paced at CHURN_PER_S,
 * so that on a small machine the attacker does not simply starve the
 * canary of CPU.
 */
static void *
churn_run(void *arg)
{
	struct churn	*ch = arg;
	struct linger	 lg = { 1, 0 };
	unsigned int	 seed = 1;
	int64_t		 start = harness_mono_ms(), due;
	int		 fd;
	size_t		 n;

	while (!atomic_load(&ch->stop)) {
		due = start + ch->n * 1000 / CHURN_PER_S;
		if (harness_mono_ms() < due)
			poll(NULL, 0, (int)(due - harness_mono_ms()));
		if ((fd = harness_tcp_connect(ch->port)) == -1) {
			ch->failed++;
			continue;
		}
		n = rand_r(&seed) % ch->hello_len;
		switch (ch->n % 4) {
		case 0:
			break;
		case 1:
			(void)!write(fd, ch->hello, n);
			break;
		case 2:
			(void)!write(fd, "GET / HTTP/1.0\r\n\r\n", 18);
			break;
		case 3:
			(void)!write(fd, ch->hello, n);
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			break;
		}
		close(fd);
		ch->n++;
	}
	return NULL;
}

/* Another thread connects and goes, CHURN_PER_S a second: the canary is
 * served, no session is left over, and every connection that was accepted
 * is one auth_refused row (those refused at max_connections are counted,
 * not audited: a flood must not flood the trail). */
static void
test_connection_churn(void **state)
{
	struct churn	ch;
	pthread_t	thr;
	long		rss0;
	int64_t		until, deadline;
	int		rows0;
	double		full0, full;
	const char	*rows_sql = "SELECT count(*) FROM nwd.audit_events "
			    "WHERE action = 'auth_refused'";

	canary_start(&canary);
	canary_wait_progress(&canary, 3);
	rss0 = rss_kb();
	rows0 = harness_sql_int("postgres", "%s", rows_sql);
	full0 = refusals("max_connections");
	memset(&ch, 0, sizeof(ch));
	atomic_init(&ch.stop, 0);
	ch.port = harness_daemon_port(daemon_f);
	ch.hello_len = client_hello(ch.hello, sizeof(ch.hello));
	assert_int_equal(pthread_create(&thr, NULL, churn_run, &ch), 0);
	until = harness_mono_ms() + scaled(4000, 1000);
	canary_wait_progress(&canary, 5);
	while (harness_mono_ms() < until && !canary.failed)
		poll(NULL, 0, 50);
	atomic_store(&ch.stop, 1);
	assert_int_equal(pthread_join(thr, NULL), 0);
	assert_true(ch.n > 0);
	full = refusals("max_connections") - full0;
	/* One row for each, once every churned session has ended. */
	harness_wait_sql_int("postgres", WAIT_MS * slow,
	    rows0 + (int)ch.n - (int)full, "%s", rows_sql);
	print_message("churn: %ld connections made and dropped, %d audit rows "
	    "(auth_refused), %.0f refused at max_connections\n", ch.n,
	    harness_sql_int("postgres", "%s", rows_sql) - rows0, full);
	canary_wait_progress(&canary, 3);
	canary_stop(&canary, "connection churn");
	/* Every churned connection is gone: no session but none. */
	deadline = harness_mono_ms() + WAIT_MS * slow;
	while (metric("nwd_sessions{role=\"unauthenticated\"}") != 0 &&
	    harness_mono_ms() < deadline)
		poll(NULL, 0, 50);
	assert_true(metric("nwd_sessions{role=\"unauthenticated\"}") == 0);
	assert_still_serving();
	assert_rss_bounded("connection churn", rss0, RSS_SLACK_KB);
}

/* ------------------------------------------------------------------------
 * Slow clients
 */

/*
 * Silent connections and half a ClientHello: closed at handshake_timeout
 * (not before), each audited as a refused handshake.
 */
static void
test_slow_loris_handshake(void **state)
{
	struct pollfd	*pfd;
	uint8_t		 hello[2048];
	size_t		 hlen;
	int		 n = scaled(16, 4), i, left;
	int64_t		*at, t0, deadline;
	double		 timeout0;
	long		 rss0;
	char		 sql[256];
	int		 before;

	hlen = client_hello(hello, sizeof(hello));
	canary_start(&canary);
	canary_wait_progress(&canary, 3);
	rss0 = rss_kb();
	timeout0 = refusals("handshake_timeout");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM nwd.audit_events "
	    "WHERE action = 'auth_refused' AND reason LIKE 'TLS handshake not "
	    "finished within %d s%%'", HANDSHAKE_S * slow_t);
	before = harness_sql_int("postgres", "%s", sql);
	assert_non_null(pfd = calloc(2 * n, sizeof(*pfd)));
	assert_non_null(at = calloc(2 * n, sizeof(*at)));
	t0 = harness_mono_ms();
	for (i = 0; i < 2 * n; i++) {
		if ((pfd[i].fd = harness_tcp_connect(harness_daemon_port(daemon_f))) ==
		    -1)
			fail_msg("connection %d: %s", i, strerror(errno));
		pfd[i].events = POLLIN;
		/* Half of them send half a ClientHello and stall. */
		if (i % 2 == 1)
			assert_int_equal(write(pfd[i].fd, hello, hlen / 2),
			    (ssize_t)(hlen / 2));
	}
	deadline = harness_mono_ms() + (HANDSHAKE_S * slow_t) * 1000 +
	    WAIT_MS * slow;
	left = 2 * n;
	while (left > 0 && harness_mono_ms() < deadline) {
		if (poll(pfd, 2 * n, (int)(deadline - harness_mono_ms())) <= 0)
			continue;
		for (i = 0; i < 2 * n; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0 ||
			    !raw_closed(pfd[i].fd))
				continue;
			at[i] = harness_mono_ms();
			close(pfd[i].fd);
			pfd[i].fd = -1;
			left--;
		}
	}
	if (left > 0)
		fail_msg("%d of %d slow handshakes were never closed", left,
		    2 * n);
	assert_times("slow handshakes", at, 2 * n, t0, NULL,
	    HANDSHAKE_S * slow_t * 1000 - 100,
	    HANDSHAKE_S * slow_t * 1000 + 3000 * slow);
	free(pfd);
	free(at);
	canary_wait_progress(&canary, 3);
	canary_stop(&canary, "slow handshakes");
	assert_int_equal((int)(refusals("handshake_timeout") - timeout0),
	    2 * n);
	harness_wait_sql_int("postgres", WAIT_MS * slow, before + 2 * n,
	    "%s", sql);
	assert_rss_bounded("slow handshakes", rss0, RSS_SLACK_KB);
}

/*
 * Two bytes of a length prefix, then nothing: before Hello the session is
 * closed at handshake_timeout, after it at idle_timeout, each with an
 * Error saying which.
 */
static void
test_slow_loris_mid_frame(void **state)
{
	struct harness_tls	**pre, **post;
	const uint8_t		  two[2] = { 0, 0 };
	int			  n = scaled(8, 2), i;
	int64_t			 *at_pre, *at_post, *t_pre, *t_post;
	long			  rss0;

	canary_start(&canary);
	canary_wait_progress(&canary, 3);
	rss0 = rss_kb();
	assert_non_null(pre = calloc(n, sizeof(*pre)));
	assert_non_null(post = calloc(n, sizeof(*post)));
	assert_non_null(at_pre = calloc(n, sizeof(*at_pre)));
	assert_non_null(at_post = calloc(n, sizeof(*at_post)));
	assert_non_null(t_pre = calloc(n, sizeof(*t_pre)));
	assert_non_null(t_post = calloc(n, sizeof(*t_post)));
	/* After Hello: the idle timer starts when the Welcome is sent. */
	for (i = 0; i < n; i++) {
		post[i] = active_as(extras[i % NEXTRAS]);
		t_post[i] = harness_mono_ms();
		assert_int_equal(harness_tls_write(post[i], two, 2), 0);
	}
	/* Before Hello: the timer starts once the certificate is mapped,
	 * which the client sees as the end of its handshake. */
	for (i = 0; i < n; i++) {
		pre[i] = tls_as(extras[(i + 3) % NEXTRAS]);
		t_pre[i] = harness_mono_ms();
		assert_int_equal(harness_tls_write(pre[i], two, 2), 0);
	}
	expect_errors(pre, n, NWD__V1__ERROR_CODE__ERROR_TIMEOUT,
	    "no hello within", at_pre);
	expect_errors(post, n, NWD__V1__ERROR_CODE__ERROR_TIMEOUT,
	    "(idle_timeout)", at_post);
	assert_times("mid-frame before Hello", at_pre, n, 0, t_pre,
	    HANDSHAKE_S * slow_t * 1000 - 200,
	    HANDSHAKE_S * slow_t * 1000 + 3000 * slow);
	assert_times("mid-frame after Hello", at_post, n, 0, t_post,
	    IDLE_S * slow_t * 1000 - 200, IDLE_S * slow_t * 1000 + 3000 * slow);
	for (i = 0; i < n; i++) {
		harness_tls_close(pre[i]);
		harness_tls_close(post[i]);
	}
	free(pre);
	free(post);
	free(at_pre);
	free(at_post);
	free(t_pre);
	free(t_post);
	canary_wait_progress(&canary, 3);
	canary_stop(&canary, "mid-frame stalls");
	assert_rss_bounded("mid-frame stalls", rss0, RSS_SLACK_KB);
}

/* ------------------------------------------------------------------------
 * Oversize input
 */

/*
 * A Publish whose header carries n empty share_with entries: two bytes
 * each on the wire, a pointer and an allocation each once decoded.
 */
static uint8_t *
huge_repeated_publish(size_t n, size_t *lenp)
{
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT;
	Nwd__V1__Publish	 p = NWD__V1__PUBLISH__INIT;
	struct fixture_alert	 a;
	char			**sw;
	uint8_t			*buf;
	size_t			 i;

	fixture_alert_init(&a, "YP-FLOOD",
	    NWD__V1__RISK_ALERT__CATEGORY__CRIMINAL_EXPLOITATION, "huge");
	assert_non_null(sw = calloc(n, sizeof(*sw)));
	for (i = 0; i < n; i++)
		sw[i] = "";
	a.h.share_with = sw;
	a.h.n_share_with = n;
	p.envelope = &a.env;
	f.request_id = 7;
	f.msg_case = NWD__V1__FRAME__MSG_PUBLISH;
	f.publish = &p;
	buf = frame_encode(&f, MAX_FRAME, lenp);
	free(sw);
	assert_non_null(buf);
	return buf;
}

/*
 * Lengths over max_frame and zero; frames of a legal size half sent;
 * half a million repeated fields in one legal frame.  Each refusal comes
 * from the length or the capped decoder, before anything of that size is
 * allocated, and the RSS shows it.
 */
static void
test_oversize_input(void **state)
{
	static const uint8_t	 lens[3][4] = {
		{ 0x7f, 0xff, 0xff, 0xff },	/* 2 GiB */
		{ 0x00, 0x10, 0x00, 0x01 },	/* max_frame + 1 */
		{ 0x00, 0x00, 0x00, 0x00 },	/* zero */
	};
	struct harness_tls	**t;
	uint8_t			*huge, *half;
	size_t			 hugelen, halflen = MAX_FRAME / 2;
	int			 n = scaled(4, 1), i, j;
	int64_t			*at;
	long			 rss0, rss_held;
	double			 over0, bad0;

	canary_start(&canary);
	canary_wait_progress(&canary, 3);
	rss0 = rss_kb();
	over0 = refusals("frame_oversize");
	bad0 = refusals("frame_malformed");
	assert_non_null(t = calloc(3 * n + 2 * n, sizeof(*t)));
	assert_non_null(at = calloc(3 * n + 2 * n, sizeof(*at)));

	/* Lengths: refused from their four bytes. */
	for (i = 0; i < 3 * n; i++) {
		t[i] = active_as(extras[i % NEXTRAS]);
		assert_int_equal(harness_tls_write(t[i], lens[i % 3], 4), 0);
	}
	expect_errors(t, 3 * n, NWD__V1__ERROR_CODE__ERROR_FRAME_TOO_LARGE,
	    "(max_frame)", at);
	for (i = 0; i < 3 * n; i++)
		harness_tls_close(t[i]);
	assert_int_equal((int)(refusals("frame_oversize") - over0), 3 * n);

	/* Half a frame of a legal size: held (at most max_frame each) until
	 * idle_timeout. */
	assert_non_null(half = calloc(1, 4 + halflen));
	half[1] = 0x0f;		/* a length of 0x0f0000 = 983040 bytes */
	for (i = 0; i < 2 * n; i++) {
		t[i] = active_as(extras[i % NEXTRAS]);
		assert_int_equal(harness_tls_write(t[i], half, 4 + halflen), 0);
	}
	free(half);
	rss_held = rss_kb();
	print_message("%d half frames of %zu bytes held: RSS %+ld kB\n",
	    2 * n, halflen, rss_held - rss0);
	expect_errors(t, 2 * n, NWD__V1__ERROR_CODE__ERROR_TIMEOUT,
	    "(idle_timeout)", at);
	for (i = 0; i < 2 * n; i++)
		harness_tls_close(t[i]);

	/* Huge repeated fields: the decoder's cap (4 x max_frame) refuses
	 * 520000 entries (4 MB of pointers alone) in a 1 MB frame. */
	huge = huge_repeated_publish(520000, &hugelen);
	assert_true(hugelen <= 4 + MAX_FRAME);
	for (i = 0; i < n; i++) {
		t[i] = active_as(extras[i % NEXTRAS]);
		assert_int_equal(harness_tls_write(t[i], huge, hugelen), 0);
	}
	free(huge);
	expect_errors(t, n, NWD__V1__ERROR_CODE__ERROR_MALFORMED,
	    "needs more than 4194304 bytes of memory", at);
	for (j = 0; j < n; j++)
		harness_tls_close(t[j]);
	assert_int_equal((int)(refusals("frame_malformed") - bad0), n);
	free(t);
	free(at);
	canary_wait_progress(&canary, 3);
	canary_stop(&canary, "oversize input");
	/* What was held is bounded by max_frame per session; after, flat. */
	if (!harness_daemon_wrapped())
		assert_true(rss_held - rss0 <= 2 * n * (MAX_FRAME / 1024) +
		    RSS_SLACK_KB + ASAN_SLACK_KB);
	assert_rss_bounded("oversize input", rss0,
	    2 * n * (MAX_FRAME / 1024) + RSS_SLACK_KB);
}

/* ------------------------------------------------------------------------
 * Slow consumers
 */

/*
 * Subscribes as who to durable subscription name (RiskAlerts about
 * subject) and reads and acknowledges n deliveries, each message once and
 * in the order the queue holds them; then nothing more comes.
 */
static void
drain_durable(const char *who, const char *subject, const char *name, int n)
{
	struct nwd_client	*c = harness_connect_as(who);
	Nwd__V1__Kind		 k = NWD__V1__KIND__RISK_ALERT;
	const char		*subjects[1] = { subject };
	Nwd__V1__Deliver	*d;
	char			 err[512], last[40] = "";
	int			 i;

	if (nwd_subscribe(c, &k, 1, subjects, 1, name, NULL, err,
	    sizeof(err)) != NWD_OK)
		fail_msg("durable subscribe %s: %s", name, err);
	for (i = 0; i < n; i++) {
		d = NULL;
		if (nwd_next_delivery(c, WAIT_MS * slow, &d, err,
		    sizeof(err)) != NWD_OK)
			fail_msg("%s: delivery %d of %d: %s", name, i + 1, n,
			    err);
		/* Version 7 ids: the queue's order is the publish order. */
		if (strcmp(d->envelope->header->message_id, last) <= 0)
			fail_msg("%s: delivery %d (%s) is not after %s", name,
			    i + 1, d->envelope->header->message_id, last);
		snprintf(last, sizeof(last), "%s",
		    d->envelope->header->message_id);
		if (nwd_ack(c, d->delivery_id, last, err, sizeof(err)) !=
		    NWD_OK)
			fail_msg("%s: ack %d: %s", name, i + 1, err);
		nwd_deliver_free(d);
	}
	assert_int_equal(nwd_ping(c, err, sizeof(err)), NWD_OK);
	d = NULL;
	assert_int_equal(nwd_next_delivery(c, 0, &d, err, sizeof(err)),
	    NWD_ERR_TIMEOUT);
	nwd_close(c);
}

/*
 * hubsys-norwich subscribes (durable) to YP-SLOW on a raw session and
 * then reads nothing (it keeps sending Pings, so it is not idle), while
 * plo-ana publishes ALERT_KB alerts as fast as the broker acknowledges
 * them.  Once its output passes max_output_buffer the
 * session is cut off, audited as a slow consumer; every alert stays
 * pending in its durable queue; the canary never notices.  Then it comes
 * back and reads: the queue drains, every alert in order, and the
 * replay of it cuts nobody off.
 */
static void
test_slow_consumer(void **state)
{
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT, *in = NULL;
	Nwd__V1__Frame		 pf = NWD__V1__FRAME__INIT;
	Nwd__V1__Ping		 ping = NWD__V1__PING__INIT;
	Nwd__V1__Subscribe	 sub = NWD__V1__SUBSCRIBE__INIT;
	Nwd__V1__Kind		 kind = NWD__V1__KIND__RISK_ALERT;
	char			*subjects[1] = { "YP-SLOW" };
	struct harness_tls	*slowc;
	struct nwd_client	*pub;
	Nwd__V1__PublishAck	*ack;
	struct fixture_alert	 a;
	char			*summary, err[512], sql[512];
	int			 sent = 0, pending0;
	double			 cut0;
	long			 rss0;

	canary_start(&canary);
	canary_wait_progress(&canary, 3);
	rss0 = rss_kb();
	cut0 = refusals("slow_consumer");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM nwd.deliveries WHERE "
	    "principal = 'hubsys-norwich' AND subscription = 'flood-slow' AND "
	    "state = 'pending'");
	pending0 = harness_sql_int("postgres", "%s", sql);

	slowc = active_as("hubsys-norwich");
	sub.n_kinds = 1;
	sub.kinds = &kind;
	sub.n_subjects = 1;
	sub.subjects = subjects;
	sub.durable_name = "flood-slow";
	f.request_id = 2;
	f.msg_case = NWD__V1__FRAME__MSG_SUBSCRIBE;
	f.subscribe = &sub;
	assert_int_equal(harness_tls_send_frame(slowc, &f), 0);
	assert_int_equal(harness_tls_read_frame(slowc, WAIT_MS * slow, &in),
	    0);
	assert_int_equal(in->msg_case, NWD__V1__FRAME__MSG_SUBSCRIBE_ACK);
	frame_free(in);
	/* From here on it reads nothing. */

	assert_non_null(summary = malloc(ALERT_KB * 1024 + 1));
	memset(summary, 'x', ALERT_KB * 1024);
	summary[ALERT_KB * 1024] = '\0';
	fixture_alert_init(&a, "YP-SLOW",
	    NWD__V1__RISK_ALERT__CATEGORY__CRIMINAL_EXPLOITATION, summary);
	pf.msg_case = NWD__V1__FRAME__MSG_PING;
	pf.ping = &ping;
	pub = harness_connect_as("plo-ana");
	while (refusals("slow_consumer") == cut0) {
		/* Requests, never a read.  Once cut off, a write may fail. */
		pf.request_id = 100 + sent;
		ping.nonce = sent;
		(void)harness_tls_send_frame(slowc, &pf);
		if (sent >= ALERTS_MAX)
			fail_msg("%d alerts of %d kB and the silent subscriber "
			    "is still connected", sent, ALERT_KB);
		ack = NULL;
		if (nwd_publish(pub, &a.env, &ack, err, sizeof(err)) != NWD_OK)
			fail_msg("publish %d: %s", sent + 1, err);
		nwd_publish_ack_free(ack);
		sent++;
	}
	nwd_close(pub);
	free(summary);
	print_message("slow consumer cut off after %d alerts of %d kB (%d kB)"
	    "\n", sent, ALERT_KB, sent * ALERT_KB);
	assert_int_equal((int)(refusals("slow_consumer") - cut0), 1);
	assert_true(harness_log_contains(daemon_f, "slow consumer"));
	/* The connection is closed under it. */
	in = NULL;
	for (;;) {
		int r = harness_tls_read_frame(slowc, WAIT_MS * slow, &in);

		if (r != 0)
			break;
		frame_free(in);
		in = NULL;
	}
	harness_tls_close(slowc);
	harness_wait_sql_int("postgres", WAIT_MS * slow, 1, "SELECT count(*) "
	    "FROM nwd.audit_events WHERE action = 'disconnect' AND actor = "
	    "'hubsys-norwich' AND reason LIKE 'slow consumer%%'");
	/*
	 * G16: what was queued to it and never written out is on the
	 * record as not delivered that way (its durable queue still holds
	 * it): at least the frame that would have passed the cap was not.
	 */
	harness_wait_sql_int("postgres", WAIT_MS * slow, 1, "SELECT "
	    "(count(*) > 0)::int FROM nwd.audit_events WHERE action = "
	    "'deliver_lost' AND recipient = 'hubsys-norwich' AND reason LIKE "
	    "'cut off before its frame was written out%%durable queue still "
	    "holds it'");
	/* Every alert waits in the durable queue. */
	harness_wait_sql_int("postgres", WAIT_MS * slow, pending0 + sent,
	    "%s", sql);
	canary_wait_progress(&canary, 3);
	canary_stop(&canary, "slow consumer");
	assert_rss_bounded("slow consumer", rss0,
	    OUTPUT_CAP / 1024 * 4 + RSS_SLACK_KB);

	/*
	 * G17: the queue it left, many times max_output_buffer, drains
	 * when it comes back and reads: every alert, in order, once.
	 */
	drain_durable("hubsys-norwich", "YP-SLOW", "flood-slow",
	    pending0 + sent);
	harness_wait_sql_int("postgres", WAIT_MS * slow, 0, "%s", sql);
	assert_int_equal((int)(refusals("slow_consumer") - cut0), 1);
	assert_rss_bounded("slow consumer's queue drained", rss0,
	    OUTPUT_CAP / 1024 * 4 + RSS_SLACK_KB);
}

/* ------------------------------------------------------------------------
 * The store's queue: shared fairly, bounded by bytes
 */

/* Sends n publishes of a on t without reading anything. */
static void
pipeline(struct harness_tls *t, struct fixture_alert *a, int n,
    uint64_t first_id)
{
	Nwd__V1__Frame		f = NWD__V1__FRAME__INIT;
	Nwd__V1__Publish	p = NWD__V1__PUBLISH__INIT;
	int			i;

	p.envelope = &a->env;
	f.msg_case = NWD__V1__FRAME__MSG_PUBLISH;
	f.publish = &p;
	for (i = 0; i < n; i++) {
		f.request_id = first_id + i;
		if (harness_tls_send_frame(t, &f) != 0)
			fail_msg("publish %d of %d: %s", i + 1, n,
			    harness_tls_error(t));
	}
}

/*
 * Reads n answers from t: how many PublishAcks and Errors of each code
 * (*limit: ERROR_LIMIT, *unavailable: ERROR_UNAVAILABLE; anything else
 * fails the test).
 */
static int
answers(struct harness_tls *t, int n, int *limit, int *unavailable)
{
	Nwd__V1__Frame	*f;
	int		 i, acked = 0;

	*limit = *unavailable = 0;
	for (i = 0; i < n; i++) {
		f = NULL;
		if (harness_tls_read_frame(t, WAIT_MS * slow, &f) != 0)
			fail_msg("answer %d of %d: %s", i + 1, n,
			    harness_tls_error(t));
		if (f->msg_case == NWD__V1__FRAME__MSG_PUBLISH_ACK)
			acked++;
		else if (f->msg_case == NWD__V1__FRAME__MSG_ERROR &&
		    f->error->code == NWD__V1__ERROR_CODE__ERROR_LIMIT)
			(*limit)++;
		else if (f->msg_case == NWD__V1__FRAME__MSG_ERROR &&
		    f->error->code == NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE)
			(*unavailable)++;
		else
			fail_msg("answer %d: %s%s%s", i + 1, frame_msg_name(f),
			    f->msg_case == NWD__V1__FRAME__MSG_ERROR ? ": " :
			    "", f->msg_case == NWD__V1__FRAME__MSG_ERROR ?
			    f->error->text : "");
		frame_free(f);
	}
	return acked;
}

/*
 * G17, one principal cannot fill the queue that others need: while the
 * audit table is locked, keyworker-kim pipelines HOG_PUBLISHES ROUTINE
 * alerts on each of two sessions (more than store_queue_max); past the
 * per-session and the ROUTINE share of the queue they are refused; plo-ana's
 * URGENT alert is still taken, and acknowledged once the lock goes.
 */
static void
test_one_principal_cannot_starve_others(void **state)
{
	struct harness_lock	*lock;
	struct harness_tls	*kim[2], *plo;
	struct fixture_alert	 routine, urgent;
	Nwd__V1__Frame		*f = NULL;
	int			 i, acked = 0, limit, unavail, l, u;
	double			 q;

	fixture_alert_init(&routine, "YP-FLOOD",
	    NWD__V1__RISK_ALERT__CATEGORY__CRIMINAL_EXPLOITATION,
	    "kim's routine flood");
	routine.h.priority = NWD__V1__PRIORITY__ROUTINE;
	fixture_alert_init(&urgent, "YP-FLOOD",
	    NWD__V1__RISK_ALERT__CATEGORY__CRIMINAL_EXPLOITATION,
	    "plo-ana's urgent alert");
	urgent.h.priority = NWD__V1__PRIORITY__URGENT;
	kim[0] = active_as("keyworker-kim");
	kim[1] = active_as("keyworker-kim");
	plo = active_as("plo-ana");
	held_lock = lock = harness_lock_table("nwd.audit_events");
	/* One session's flood first, read up to where its in-flight limit
	 * refuses more; then the other's, up to where the principal's share
	 * of the queue refuses it.  (Both at once, how the daemon's reads of
	 * the two interleave decided which limit came first: under valgrind
	 * the share could fill before either session reached its limit.) */
	pipeline(kim[0], &routine, HOG_PUBLISHES, 1000);
	for (i = 0; i < WAIT_MS * slow / 25 && refusals("in_flight") < 1; i++)
		poll(NULL, 0, 25);
	assert_true(refusals("in_flight") >= 1);
	pipeline(kim[1], &routine, HOG_PUBLISHES, 1000);
	for (i = 0; i < WAIT_MS * slow / 25 && refusals("queue_bytes") < 1;
	    i++)
		poll(NULL, 0, 25);
	assert_true(refusals("queue_bytes") >= 1);
	q = metric("nwd_store_queue_batches");
	assert_true(q < QUEUE_MAX);
	/* The urgent alert is taken, under the lock, beside it. */
	pipeline(plo, &urgent, 1, 77);
	for (i = 0; i < WAIT_MS * slow / 25 &&
	    metric("nwd_store_queue_batches") < q + 1; i++)
		poll(NULL, 0, 25);
	assert_true(metric("nwd_store_queue_batches") >= q + 1);
	held_lock = NULL;
	harness_unlock_table(lock);
	if (harness_tls_read_frame(plo, WAIT_MS * slow, &f) != 0)
		fail_msg("plo-ana: %s", harness_tls_error(plo));
	if (f->msg_case != NWD__V1__FRAME__MSG_PUBLISH_ACK)
		fail_msg("plo-ana's URGENT alert: %s: %s", frame_msg_name(f),
		    f->msg_case == NWD__V1__FRAME__MSG_ERROR ? f->error->text :
		    "");
	assert_int_equal(f->request_id, 77);
	frame_free(f);
	/* kim: at most max_publishes_in_flight (256) taken per session at
	 * once; the rest refused, each answered. */
	limit = unavail = 0;
	for (i = 0; i < 2; i++) {
		acked += answers(kim[i], HOG_PUBLISHES, &l, &u);
		limit += l;
		unavail += u;
	}
	print_message("one principal's flood: %d acknowledged, %d refused at "
	    "its limits, %d for the queue's ROUTINE share; the URGENT alert "
	    "of another was taken\n", acked, limit, unavail);
	assert_int_equal(acked + limit + unavail, 2 * HOG_PUBLISHES);
	assert_true(limit > 0);
	assert_true(unavail > 0);
	/* (Once the lock went and kim read its answers, the rest of its
	 * flood was read and some of it taken: the queue had room again.) */
	assert_true(acked >= 256);
	for (i = 0; i < 2; i++)
		harness_tls_close(kim[i]);
	harness_tls_close(plo);
	assert_still_serving();
}

/*
 * G17, memory bounded by bytes: while the audit table is locked, plo-ana
 * pipelines BIG_PUBLISHES alerts of BIG_KB (each held as its sealed body
 * and a copy per recipient until it commits); past the bytes a principal
 * may hold, they are refused at once; RSS stays within the budget.
 */
static void
test_queue_bounded_by_bytes(void **state)
{
	struct harness_lock	*lock;
	struct harness_tls	*plo;
	struct fixture_alert	 big;
	char			*summary;
	long			 rss0;
	int			 acked, limit, unavail;

	rss0 = rss_kb();
	assert_non_null(summary = malloc(BIG_KB * 1024 + 1));
	memset(summary, 'b', BIG_KB * 1024);
	summary[BIG_KB * 1024] = '\0';
	fixture_alert_init(&big, "YP-SLOW",
	    NWD__V1__RISK_ALERT__CATEGORY__CRIMINAL_EXPLOITATION, summary);
	plo = active_as("plo-ana");
	held_lock = lock = harness_lock_table("nwd.audit_events");
	pipeline(plo, &big, BIG_PUBLISHES, 5000);
	/* Each is read and judged: refused ones are answered at once. */
	for (acked = 0; acked < WAIT_MS * slow / 25 &&
	    refusals("queue_bytes") < 1; acked++)
		poll(NULL, 0, 25);
	assert_true(refusals("queue_bytes") >= 1);
	assert_rss_bounded("publishes held under a lock", rss0,
	    QUEUE_MAX_BYTES / 1024 + 2 * BIG_KB + RSS_SLACK_KB);
	held_lock = NULL;
	harness_unlock_table(lock);
	acked = answers(plo, BIG_PUBLISHES, &limit, &unavail);
	print_message("%d alerts of %d kB under a lock: %d acknowledged, %d "
	    "refused for the bytes they would hold\n", BIG_PUBLISHES, BIG_KB,
	    acked, unavail);
	assert_true(acked >= 1);
	assert_true(unavail >= 1);
	assert_int_equal(acked + unavail + limit, BIG_PUBLISHES);
	harness_tls_close(plo);
	free(summary);
	assert_still_serving();
	assert_rss_bounded("publishes held under a lock, after", rss0,
	    QUEUE_MAX_BYTES / 1024 + 2 * BIG_KB + RSS_SLACK_KB);
}

/* ------------------------------------------------------------------------
 * One principal's flood
 */

/*
 * sw-ben opens many sessions: PER_PRINCIPAL are served, each one over
 * gets ERROR_LIMIT naming the limit, is audited and counted in /metrics;
 * other principals still connect; a freed slot serves again.
 */
static void
test_principal_flood(void **state)
{
	struct harness_tls	**t;
	Nwd__V1__Frame		*f;
	int			 n = scaled(24, PER_PRINCIPAL + 4), i, ok = 0;
	int			 limited = 0, before;
	double			 lim0;
	long			 rss0;
	char			 sql[256];

	canary_start(&canary);
	canary_wait_progress(&canary, 3);
	rss0 = rss_kb();
	lim0 = refusals("max_connections_principal");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM nwd.audit_events "
	    "WHERE action = 'auth_refused' AND actor = 'sw-ben' AND reason "
	    "LIKE 'principal sw-ben already has %d sessions open%%'",
	    PER_PRINCIPAL);
	before = harness_sql_int("postgres", "%s", sql);
	assert_non_null(t = calloc(n, sizeof(*t)));
	for (i = 0; i < n; i++) {
		t[i] = tls_as("sw-ben");
		f = NULL;
		if (harness_tls_hello(t[i], WAIT_MS * slow, &f) != 0)
			fail_msg("session %d: %s", i, harness_tls_error(t[i]));
		if (f->msg_case == NWD__V1__FRAME__MSG_WELCOME)
			ok++;
		else if (f->msg_case == NWD__V1__FRAME__MSG_ERROR &&
		    f->error->code == NWD__V1__ERROR_CODE__ERROR_LIMIT &&
		    strstr(f->error->text, "max_connections_per_principal") !=
		    NULL) {
			limited++;
			harness_tls_close(t[i]);
			t[i] = NULL;
		} else
			fail_msg("session %d: %s", i, frame_msg_name(f));
		frame_free(f);
	}
	print_message("sw-ben: %d sessions served, %d refused "
	    "(max_connections_per_principal = %d)\n", ok, limited,
	    PER_PRINCIPAL);
	assert_int_equal(ok, PER_PRINCIPAL);
	assert_int_equal(limited, n - PER_PRINCIPAL);
	assert_int_equal((int)(refusals("max_connections_principal") - lim0),
	    limited);
	harness_wait_sql_int("postgres", WAIT_MS * slow, before + limited,
	    "%s", sql);
	/* Others are not affected; a freed slot serves sw-ben again. */
	assert_still_serving();
	for (i = 0; i < n; i++)
		if (t[i] != NULL) {
			harness_tls_close(t[i]);
			t[i] = NULL;
			break;
		}
	{
		struct nwd_opts		 o = harness_client("sw-ben");
		struct nwd_client	*cl = NULL;
		enum nwd_status		 st;
		char			 err[512];
		int64_t			 deadline = harness_mono_ms() +
		    WAIT_MS * slow;

		/* The daemon notices the close a moment later. */
		while (cl == NULL && harness_mono_ms() < deadline)
			if ((cl = nwd_connect(&o, &st, err, sizeof(err))) ==
			    NULL)
				poll(NULL, 0, 20);
		if (cl == NULL)
			fail_msg("sw-ben cannot connect after a slot was "
			    "freed: %s", err);
		nwd_close(cl);
	}
	for (i = 0; i < n; i++)
		harness_tls_close(t[i]);
	free(t);
	canary_wait_progress(&canary, 3);
	canary_stop(&canary, "principal flood");
	assert_rss_bounded("principal flood", rss0, RSS_SLACK_KB);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_connection_flood, test_teardown),
		cmocka_unit_test_teardown(test_connection_churn, test_teardown),
		cmocka_unit_test_teardown(test_slow_loris_handshake,
		    test_teardown),
		cmocka_unit_test_teardown(test_slow_loris_mid_frame,
		    test_teardown),
		cmocka_unit_test_teardown(test_oversize_input, test_teardown),
		cmocka_unit_test_teardown(test_slow_consumer, test_teardown),
		cmocka_unit_test_teardown(test_principal_flood, test_teardown),
		cmocka_unit_test_teardown(
		    test_one_principal_cannot_starve_others, test_teardown),
		cmocka_unit_test_teardown(test_queue_bounded_by_bytes,
		    test_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("floods", tests, group_setup,
	    group_teardown);
}
