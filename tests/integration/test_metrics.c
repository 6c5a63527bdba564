/*
 * The monitoring endpoint of a real nwdd (metrics_listen), scraped with a
 * plain HTTP/1.1 client written here on a socket:
 *
 * - /metrics is the Prometheus text format; HEAD has no body; another
 *   path is 404 and another method 405.
 * - Publishes acknowledged, refused by the policy and invalid, a delivery,
 *   an unmapped certificate and one from a foreign CA move their counters
 *   by exactly one each; sessions are counted by role while open.
 * - max_connections_per_principal: the session over the cap gets an
 *   ERROR_LIMIT naming the limit, is audited and counted; other
 *   principals still connect, and a freed slot can be used again.
 * - /healthz is 200 while PostgreSQL is up, 503 with the reason once it
 *   is stopped (and publishes count as unavailable), 200 again after it
 *   restarts.  Every wait polls for the event against a deadline.
 * - The other limits are counted when they bite: max_connections,
 *   handshake_timeout, idle_timeout, max_frame, a malformed frame,
 *   max_subscriptions.
 * - metrics_listen on an address that is not loopback stops the start.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "frame.h"
#include "fixtures.h"
#include "harness.h"
#include "nwd.h"

#define WAIT_MS		15000	/* the most any event may take */
#define PER_PRINCIPAL	2	/* max_connections_per_principal here */

static struct harness_daemon	*daemon_m;
static int			 metrics_port;

/* ------------------------------------------------------------------------
 * A plain HTTP/1.1 client
 */

struct http_reply {
	int	 status;
	char	 headers[2048];
	char	*body;		/* owned; NUL-terminated */
	size_t	 bodylen;
};

/*
 * Sends "METHOD path" with Connection: close and reads the whole answer
 * until the server closes.  Returns 0, or -1 with the cause on stderr.
 */
static int
http_request(const char *method, const char *path, struct http_reply *r)
{
	struct sockaddr_in	 sin;
	struct pollfd		 pfd;
	char			 req[512], *buf = NULL, *hend, *nb;
	size_t			 len = 0, cap = 0;
	ssize_t			 n;
	int64_t			 deadline = harness_mono_ms() + WAIT_MS;
	int			 fd, reqlen;

	memset(r, 0, sizeof(*r));
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(metrics_port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		fprintf(stderr, "http: connect to %d: %s\n", metrics_port,
		    strerror(errno));
		close(fd);
		return -1;
	}
	reqlen = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: "
	    "127.0.0.1:%d\r\nConnection: close\r\n\r\n", method, path,
	    metrics_port);
	if (write(fd, req, reqlen) != reqlen) {
		close(fd);
		return -1;
	}
	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(deadline - harness_mono_ms())) <= 0) {
			fprintf(stderr, "http: %s %s: no answer in time\n",
			    method, path);
			goto bad;
		}
		if (len + 4096 + 1 > cap) {
			cap = cap * 2 + 8192;
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
	fd = -1;
	if (buf == NULL)
		goto bad;
	buf[len] = '\0';
	if (sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1 ||
	    (hend = strstr(buf, "\r\n\r\n")) == NULL) {
		fprintf(stderr, "http: not an HTTP answer: %.80s\n", buf);
		goto bad;
	}
	snprintf(r->headers, sizeof(r->headers), "%.*s", (int)(hend - buf),
	    buf);
	r->bodylen = len - (hend + 4 - buf);
	if ((r->body = malloc(r->bodylen + 1)) == NULL)
		goto bad;
	memcpy(r->body, hend + 4, r->bodylen);
	r->body[r->bodylen] = '\0';
	free(buf);
	return 0;
bad:
	if (fd != -1)
		close(fd);
	free(buf);
	return -1;
}

static void
http_reply_free(struct http_reply *r)
{
	free(r->body);
	r->body = NULL;
}

/* GET /metrics; the text, owned by the caller. */
static char *
scrape(void)
{
	struct http_reply r;

	assert_int_equal(http_request("GET", "/metrics", &r), 0);
	assert_int_equal(r.status, 200);
	return r.body;
}

/* The value of the series named exactly series ("name{labels}"). */
static double
value_in(const char *text, const char *series)
{
	size_t		 n = strlen(series);
	const char	*p;

	for (p = text; (p = strstr(p, series)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return NAN;
}

static double
metric(const char *series)
{
	char	*text = scrape();
	double	 v = value_in(text, series);

	if (isnan(v))
		fail_msg("no series %s in /metrics:\n%s", series, text);
	free(text);
	return v;
}

/* Waits for a series to reach want, scraping against a deadline. */
static void
wait_metric(const char *series, double want)
{
	int64_t	deadline = harness_mono_ms() + WAIT_MS;
	double	got;

	while ((got = metric(series)) != want) {
		if (harness_mono_ms() > deadline)
			fail_msg("waited %d ms for %s = %g; it is %g", WAIT_MS,
			    series, want, got);
		poll(NULL, 0, 20);
	}
}

/* GET /healthz until it answers status; returns its body. */
static char *
wait_health(int status)
{
	struct http_reply	r;
	int64_t			deadline = harness_mono_ms() + 30000;

	for (;;) {
		assert_int_equal(http_request("GET", "/healthz", &r), 0);
		if (r.status == status)
			return r.body;
		http_reply_free(&r);
		if (harness_mono_ms() > deadline)
			fail_msg("/healthz did not answer %d within 30 s",
			    status);
		poll(NULL, 0, 50);
	}
}

/* ------------------------------------------------------------------------
 * The daemon and its clients
 */

/* A RiskAlert about subject at marking. */
static enum nwd_status
publish_alert(struct nwd_client *c, const char *subject,
    Nwd__V1__Marking marking, char *err, size_t errlen)
{
	Nwd__V1__Envelope	 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header		 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef	 s = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__RiskAlert	 r = NWD__V1__RISK_ALERT__INIT;
	Nwd__V1__PublishAck	*ack = NULL;
	enum nwd_status		 st;

	s.local_id = (char *)subject;
	h.kind = NWD__V1__KIND__RISK_ALERT;
	h.subject = &s;
	h.marking = marking;
	r.category = NWD__V1__RISK_ALERT__CATEGORY__GOING_MISSING;
	r.level = NWD__V1__RISK_ALERT__LEVEL__MEDIUM;
	r.summary = "metrics test";
	env.header = &h;
	env.body_case = NWD__V1__ENVELOPE__BODY_RISK_ALERT;
	env.risk_alert = &r;
	st = nwd_publish(c, &env, &ack, err, errlen);
	nwd_publish_ack_free(ack);
	return st;
}

/* sw-ben may not publish intelligence (the policy's S7). */
static enum nwd_status
publish_intelligence(struct nwd_client *c, char *err, size_t errlen)
{
	Nwd__V1__Envelope		 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header			 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef		 s = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__IntelligenceReport	 r = NWD__V1__INTELLIGENCE_REPORT__INIT;
	Nwd__V1__Grading		 g = NWD__V1__GRADING__INIT;
	Nwd__V1__PublishAck		*ack = NULL;
	enum nwd_status			 st;

	s.local_id = "YP-101";
	h.kind = NWD__V1__KIND__INTELLIGENCE_REPORT;
	h.subject = &s;
	h.marking = NWD__V1__MARKING__OFFICIAL;
	g.source_evaluation = 2;
	g.assessment = NWD__V1__GRADING__ASSESSMENT__B;
	g.handling_code = NWD__V1__GRADING__HANDLING_CODE__HANDLING_P;
	r.grading = &g;
	r.sanitised = 1;
	r.summary = "x";
	env.header = &h;
	env.body_case = NWD__V1__ENVELOPE__BODY_INTELLIGENCE_REPORT;
	env.intelligence_report = &r;
	st = nwd_publish(c, &env, &ack, err, errlen);
	nwd_publish_ack_free(ack);
	return st;
}

/* A handshake the broker refuses: the connection ends without a Welcome. */
static void
refused_handshake(const char *client)
{
	struct harness_tls	*t;
	Nwd__V1__Frame		*f = NULL;
	char			 err[512];

	t = harness_tls_connect(harness_daemon_port(daemon_m), client, NULL,
	    err, sizeof(err));
	if (t == NULL)
		return;
	if (harness_tls_read_frame(t, WAIT_MS, &f) == 0) {
		assert_int_equal(f->msg_case, NWD__V1__FRAME__MSG_ERROR);
		frame_free(f);
	}
	harness_tls_close(t);
}

static int
group_setup(void **state)
{
	char extra[256];

	if ((metrics_port = harness_free_port()) <= 0)
		return -1;
	snprintf(extra, sizeof(extra), "metrics_listen = 127.0.0.1:%d\n"
	    "max_connections_per_principal = %d\n", metrics_port,
	    PER_PRINCIPAL);
	if ((daemon_m = harness_daemon_start(extra)) == NULL)
		return -1;
	fixture_allocate("YP-101", "hub:norwich", 0);
	return 0;
}

static int
group_teardown(void **state)
{
	int rc = harness_daemon_stop(daemon_m);

	daemon_m = NULL;
	return rc == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------------
 * Tests
 */

static void
test_endpoint_paths_and_methods(void **state)
{
	struct http_reply r;

	assert_int_equal(http_request("GET", "/metrics", &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.headers, "Content-Type: text/plain; "
	    "version=0.0.4"));
	assert_non_null(strstr(r.body, "# TYPE nwd_publishes_total counter\n"));
	assert_non_null(strstr(r.body, "# TYPE nwd_store_commit_seconds "
	    "histogram\n"));
	assert_non_null(strstr(r.body, "\nnwd_store_txn_batches_count "));
	assert_non_null(strstr(r.body, "# TYPE nwd_store_wait_seconds "
	    "histogram\n"));
	/* The test PKI's certificates and CRL, as Unix times. */
	assert_true(value_in(r.body, "nwd_tls_cert_not_after_timestamp_seconds"
	    "{cert=\"server\"}") > (double)time(NULL));
	assert_true(value_in(r.body, "nwd_tls_cert_not_after_timestamp_seconds"
	    "{cert=\"ca\"}") > (double)time(NULL));
	assert_true(value_in(r.body, "nwd_tls_crl_next_update_timestamp_"
	    "seconds") > (double)time(NULL));
	assert_true(value_in(r.body, "nwd_process_open_fds") > 3);
	/* The standard process_* names, read from /proc/self, beside the
	 * older nwd_process_* ones, and the build. */
	assert_non_null(strstr(r.body, "# TYPE process_cpu_seconds_total "
	    "counter\n"));
	assert_true(value_in(r.body, "process_cpu_seconds_total") >= 0);
	assert_true(value_in(r.body, "process_resident_memory_bytes") >
	    1024 * 1024);
	assert_true(value_in(r.body, "process_virtual_memory_bytes") >=
	    value_in(r.body, "process_resident_memory_bytes"));
	assert_true(value_in(r.body, "process_open_fds") > 3);
	assert_true(value_in(r.body, "process_max_fds") >=
	    value_in(r.body, "process_open_fds"));
	assert_true(value_in(r.body, "process_start_time_seconds") >
	    (double)time(NULL) - 3600);
	assert_true(value_in(r.body, "process_start_time_seconds") <=
	    (double)time(NULL) + 1);
	assert_true(value_in(r.body, "nwd_build_info{version=\"" PACKAGE_VERSION
	    "\"}") == 1);
	assert_true(value_in(r.body, "nwd_store_queue_max_batches") == 10000);
	/* The policy version the daemon says it runs. */
	assert_true(harness_log_contains(daemon_m, "policy="));
	assert_non_null(strstr(r.body, "\nnwd_policy_info{version=\""));
	http_reply_free(&r);

	assert_int_equal(http_request("HEAD", "/metrics", &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.bodylen, 0);
	http_reply_free(&r);

	assert_int_equal(http_request("GET", "/metrics/../secret", &r), 0);
	assert_int_equal(r.status, 404);
	http_reply_free(&r);
	assert_int_equal(http_request("GET", "/", &r), 0);
	assert_int_equal(r.status, 404);
	http_reply_free(&r);

	assert_int_equal(http_request("POST", "/metrics", &r), 0);
	assert_int_equal(r.status, 405);
	assert_non_null(strstr(r.headers, "Allow: GET, HEAD"));
	http_reply_free(&r);
	assert_int_equal(http_request("DELETE", "/healthz", &r), 0);
	assert_int_equal(r.status, 405);
	http_reply_free(&r);

	assert_int_equal(http_request("GET", "/healthz", &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ok\n");
	http_reply_free(&r);
}

static void
test_counters_move_by_what_happened(void **state)
{
	static const char *series[] = {
		"nwd_publishes_total{outcome=\"acked\"}",
		"nwd_publishes_total{outcome=\"refused\"}",
		"nwd_publishes_total{outcome=\"invalid\"}",
		"nwd_deliveries_total",
		"nwd_refusals_total{reason=\"policy\"}",
		"nwd_refusals_total{reason=\"envelope_invalid\"}",
		"nwd_refusals_total{reason=\"unmapped\"}",
		"nwd_refusals_total{reason=\"tls_unknown_ca\"}",
		"nwd_refusals_total{reason=\"tls_revoked\"}",
		"nwd_refusals_total{reason=\"clearance\"}",
	};
	static const double moved[] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 };
	enum { NSERIES = sizeof(series) / sizeof(series[0]) };
	struct nwd_client	*hub, *plo, *ben;
	Nwd__V1__Kind		 kind = NWD__V1__KIND__RISK_ALERT;
	const char		*subj[1] = { "YP-101" };
	Nwd__V1__Deliver	*d = NULL;
	double			 before[NSERIES], txns, rows, commits, pubs;
	double			 batches, waits;
	char			*text, err[512];
	uint64_t		 sub;
	size_t			 i;

	text = scrape();
	for (i = 0; i < NSERIES; i++)
		if (isnan(before[i] = value_in(text, series[i])))
			fail_msg("no %s before", series[i]);
	txns = value_in(text, "nwd_store_txn_batches_count");
	rows = value_in(text, "nwd_store_txn_audit_rows_sum");
	commits = value_in(text, "nwd_store_commit_seconds_count");
	pubs = value_in(text, "nwd_publish_seconds_count");
	batches = value_in(text, "nwd_store_txn_batches_sum");
	waits = value_in(text, "nwd_store_wait_seconds_count");
	free(text);

	hub = harness_connect_as("hubsys-norwich");
	plo = harness_connect_as("plo-ana");
	ben = harness_connect_as("sw-ben");
	/* Open sessions by role, the test's own only. */
	wait_metric("nwd_sessions{role=\"hub_system\"}", 1);
	wait_metric("nwd_sessions{role=\"police_liaison\"}", 1);
	wait_metric("nwd_sessions{role=\"social_worker\"}", 1);
	assert_true(metric("nwd_sessions{role=\"camhs_clinician\"}") == 0);

	assert_int_equal(nwd_subscribe(hub, &kind, 1, subj, 1, NULL, &sub,
	    err, sizeof(err)), NWD_OK);
	assert_int_equal(publish_alert(plo, "YP-101",
	    NWD__V1__MARKING__OFFICIAL, err, sizeof(err)), NWD_OK);
	assert_int_equal(nwd_next_delivery(hub, WAIT_MS, &d, err, sizeof(err)),
	    NWD_OK);
	nwd_deliver_free(d);
	assert_int_equal(publish_intelligence(ben, err, sizeof(err)),
	    NWD_ERR_REFUSED);
	assert_int_equal(publish_alert(plo, "", NWD__V1__MARKING__OFFICIAL,
	    err, sizeof(err)), NWD_ERR_INVALID);
	refused_handshake("stranger");
	refused_handshake("foreign");
	refused_handshake("revoked");

	/* The refused handshakes are counted as the daemon sees them. */
	wait_metric(series[7], before[7] + 1);
	wait_metric(series[8], before[8] + 1);
	text = scrape();
	for (i = 0; i < NSERIES; i++)
		if (value_in(text, series[i]) != before[i] + moved[i])
			fail_msg("%s went from %g to %g, not by %g", series[i],
			    before[i], value_in(text, series[i]), moved[i]);
	/*
	 * The store's histograms: the acked publish committed in some
	 * transaction with its audit rows (publish + deliveries at least).
	 */
	assert_true(value_in(text, "nwd_store_txn_batches_count") >= txns + 1);
	assert_true(value_in(text, "nwd_store_commit_seconds_count") >=
	    commits + 1);
	assert_true(value_in(text, "nwd_store_txn_audit_rows_sum") >= rows + 2);
	/*
	 * Every committed batch was counted as waiting in the queue when it
	 * was sent, before its commit counted it (a retry waits again).  So
	 * the totals hold at any moment; the differences do not: a batch
	 * in flight at the first scrape had its wait counted before it and
	 * its commit after.  This test's publish waited after the first.
	 */
	assert_true(value_in(text, "nwd_store_wait_seconds_count") >=
	    value_in(text, "nwd_store_txn_batches_sum"));
	assert_true(value_in(text, "nwd_store_wait_seconds_count") >=
	    waits + 1);
	assert_true(value_in(text, "nwd_store_txn_batches_sum") >= batches + 1);
	/* One acknowledged publish: one publish latency, above zero. */
	assert_true(value_in(text, "nwd_publish_seconds_count") == pubs + 1);
	assert_true(value_in(text, "nwd_publish_seconds_sum") > 0);
	free(text);

	nwd_close(ben);
	nwd_close(plo);
	nwd_close(hub);
	wait_metric("nwd_sessions{role=\"hub_system\"}", 0);
	wait_metric("nwd_sessions{role=\"unauthenticated\"}", 0);
}

static void
test_sessions_per_principal_are_capped(void **state)
{
	struct nwd_client	*kim[PER_PRINCIPAL], *again, *other;
	struct harness_tls	*t;
	Nwd__V1__Frame		*f = NULL;
	const char		*series = "nwd_refusals_total{reason="
				    "\"max_connections_principal\"}";
	char			 err[512];
	double			 before = metric(series);
	int			 i;

	for (i = 0; i < PER_PRINCIPAL; i++)
		kim[i] = harness_connect_as("keyworker-kim");
	wait_metric("nwd_sessions{role=\"hub_keyworker\"}", PER_PRINCIPAL);

	/* One more for the same principal: told why, then closed. */
	t = harness_tls_connect(harness_daemon_port(daemon_m), "keyworker-kim",
	    NULL, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(harness_tls_read_frame(t, WAIT_MS, &f), 0);
	assert_int_equal(f->msg_case, NWD__V1__FRAME__MSG_ERROR);
	assert_int_equal(f->error->code, NWD__V1__ERROR_CODE__ERROR_LIMIT);
	if (strstr(f->error->text, "principal keyworker-kim already has 2 "
	    "sessions open (max_connections_per_principal)") == NULL)
		fail_msg("error text: %s", f->error->text);
	frame_free(f);
	assert_int_equal(harness_tls_read_frame(t, WAIT_MS, &f), 1);
	harness_tls_close(t);
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'auth_refused' AND actor = "
	    "'keyworker-kim' AND reason LIKE "
	    "'%%(max_connections_per_principal)'");
	assert_true(metric(series) == before + 1);
	assert_true(harness_log_contains(daemon_m, "principal=keyworker-kim "));

	/* Another principal is not held back by kim's sessions. */
	other = harness_connect_as("hubsys-norwich");
	assert_int_equal(nwd_ping(other, err, sizeof(err)), NWD_OK);
	nwd_close(other);

	/* Once one of kim's sessions has gone, kim may connect again. */
	nwd_close(kim[0]);
	wait_metric("nwd_sessions{role=\"hub_keyworker\"}", PER_PRINCIPAL - 1);
	again = harness_connect_as("keyworker-kim");
	assert_int_equal(nwd_ping(again, err, sizeof(err)), NWD_OK);
	assert_true(metric(series) == before + 1);
	nwd_close(again);
	for (i = 1; i < PER_PRINCIPAL; i++)
		nwd_close(kim[i]);
}

/* An Error with code, then the broker's close. */
static void
expect_error_then_close(struct harness_tls *t, Nwd__V1__ErrorCode code)
{
	Nwd__V1__Frame *f = NULL;

	assert_int_equal(harness_tls_read_frame(t, WAIT_MS, &f), 0);
	assert_int_equal(f->msg_case, NWD__V1__FRAME__MSG_ERROR);
	assert_int_equal(f->error->code, code);
	frame_free(f);
	assert_int_equal(harness_tls_read_frame(t, WAIT_MS, &f), 1);
}

/*
 * The limits, each counted when it bites, on a daemon of their own with
 * small ones: max_connections, handshake_timeout (TLS done, no Hello),
 * idle_timeout, max_frame, a malformed frame, max_subscriptions.
 */
static void
test_limits_are_counted_when_they_bite(void **state)
{
	static const uint8_t	 over[4] = { 0x00, 0x00, 0x10, 0x01 };
	static const uint8_t	 junk[10] = { 0, 0, 0, 6, 0xff, 0xff, 0xff,
				    0xff, 0xff, 0xff };
	struct harness_daemon	*d;
	struct harness_tls	*t[2], *extra;
	struct nwd_client	*c;
	Nwd__V1__Frame		*f = NULL;
	Nwd__V1__Kind		 kind = NWD__V1__KIND__RISK_ALERT;
	char			 extra_conf[256], err[512];
	uint64_t		 sub;
	int			 i, main_port = metrics_port;

	metrics_port = harness_free_port();
	snprintf(extra_conf, sizeof(extra_conf), "instance = nwdd-limits\n"
	    "metrics_listen = 127.0.0.1:%d\nmax_connections = 2\n"
	    "handshake_timeout = 1\nidle_timeout = 1\nmax_frame = 4096\n"
	    "max_subscriptions = 1\n", metrics_port);
	assert_non_null(d = harness_daemon_start(extra_conf));

	/* Two sessions that never say Hello fill max_connections. */
	for (i = 0; i < 2; i++) {
		t[i] = harness_tls_connect(harness_daemon_port(d), "plo-ana",
		    NULL, err, sizeof(err));
		assert_non_null(t[i]);
	}
	extra = harness_tls_connect(harness_daemon_port(d), "sw-ben", NULL,
	    err, sizeof(err));
	if (extra != NULL) {
		assert_int_not_equal(harness_tls_read_frame(extra, WAIT_MS, &f),
		    0);
		harness_tls_close(extra);
	}
	wait_metric("nwd_refusals_total{reason=\"max_connections\"}", 1);
	for (i = 0; i < 2; i++) {
		expect_error_then_close(t[i],
		    NWD__V1__ERROR_CODE__ERROR_TIMEOUT);
		harness_tls_close(t[i]);
	}
	wait_metric("nwd_refusals_total{reason=\"handshake_timeout\"}", 2);
	wait_metric("nwd_sessions{role=\"police_liaison\"}", 0);

	/* A session that goes quiet after its Hello. */
	t[0] = harness_tls_session(harness_daemon_port(d), "plo-ana",
	    WAIT_MS);
	expect_error_then_close(t[0], NWD__V1__ERROR_CODE__ERROR_TIMEOUT);
	harness_tls_close(t[0]);
	wait_metric("nwd_refusals_total{reason=\"idle_timeout\"}", 1);

	/* A frame over max_frame, then bytes that are no frame. */
	t[0] = harness_tls_session(harness_daemon_port(d), "plo-ana",
	    WAIT_MS);
	assert_int_equal(harness_tls_write(t[0], over, 4), 0);
	expect_error_then_close(t[0],
	    NWD__V1__ERROR_CODE__ERROR_FRAME_TOO_LARGE);
	harness_tls_close(t[0]);
	wait_metric("nwd_refusals_total{reason=\"frame_oversize\"}", 1);
	t[0] = harness_tls_session(harness_daemon_port(d), "plo-ana",
	    WAIT_MS);
	assert_int_equal(harness_tls_write(t[0], junk, sizeof(junk)), 0);
	expect_error_then_close(t[0], NWD__V1__ERROR_CODE__ERROR_MALFORMED);
	harness_tls_close(t[0]);
	wait_metric("nwd_refusals_total{reason=\"frame_malformed\"}", 1);

	/* One subscription is allowed, the second is refused. */
	wait_metric("nwd_sessions{role=\"police_liaison\"}", 0);
	c = harness_connect_as("plo-ana");
	assert_int_equal(nwd_subscribe(c, &kind, 1, NULL, 0, NULL, &sub, err,
	    sizeof(err)), NWD_OK);
	assert_int_equal(nwd_subscribe(c, &kind, 1, NULL, 0, NULL, &sub, err,
	    sizeof(err)), NWD_ERR_REFUSED);
	assert_non_null(strstr(err, "max_subscriptions"));
	nwd_close(c);
	assert_true(metric("nwd_refusals_total{reason="
	    "\"max_subscriptions\"}") == 1);

	assert_int_equal(harness_daemon_stop(d), 0);
	metrics_port = main_port;
}

/* 1 if the file at path contains needle. */
static int
file_contains(const char *path, const char *needle)
{
	FILE	*fp = fopen(path, "r");
	char	 line[1024];
	int	 found = 0;

	if (fp == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), fp) != NULL)
		found = strstr(line, needle) != NULL;
	fclose(fp);
	return found;
}

/* The endpoint has no authentication: only loopback addresses are taken. */
static void
test_non_loopback_metrics_address_is_refused(void **state)
{
	static const char *bad[] = { "0.0.0.0", "10.1.2.3", "localhost" };
	char	extra[128], want[160];
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(extra, sizeof(extra), "metrics_listen = %s:9464\n",
		    bad[i]);
		assert_null(harness_daemon_start(extra));
		snprintf(want, sizeof(want), "metrics_listen must be a "
		    "loopback address (127.x.x.x or [::1]), not \"%s\"",
		    bad[i]);
		if (!file_contains(harness_last_log(), want))
			fail_msg("%s does not say: %s", harness_last_log(),
			    want);
	}
	snprintf(extra, sizeof(extra), "metrics_listen = 127.0.0.1\n");
	assert_null(harness_daemon_start(extra));
	assert_true(file_contains(harness_last_log(), "metrics_listen must "
	    "be host:port with a port from 1 to 65535, or empty"));
}

/* It stops PostgreSQL (and starts it again). */
static void
test_healthz_follows_the_database(void **state)
{
	const char	*unavailable = "nwd_publishes_total{outcome="
			    "\"unavailable\"}";
	struct nwd_client *plo = harness_connect_as("plo-ana");
	char		*body, err[512];
	double		 before = metric(unavailable);

	body = wait_health(200);
	assert_string_equal(body, "ok\n");
	free(body);
	assert_true(metric("nwd_store_state{state=\"ready\"}") == 1);

	assert_int_equal(harness_pg_stop(), 0);
	body = wait_health(503);
	if (strstr(body, "audit store not ready (state=") == NULL ||
	    strchr(body, '\n') != body + strlen(body) - 1)
		fail_msg("503 body: %s", body);
	free(body);
	assert_true(metric("nwd_store_state{state=\"ready\"}") == 0);
	assert_int_equal(publish_alert(plo, "YP-101",
	    NWD__V1__MARKING__OFFICIAL, err, sizeof(err)),
	    NWD_ERR_UNAVAILABLE);
	assert_true(metric(unavailable) == before + 1);

	assert_int_equal(harness_pg_start(), 0);
	body = wait_health(200);
	assert_string_equal(body, "ok\n");
	free(body);
	assert_true(metric("nwd_store_state{state=\"ready\"}") == 1);
	assert_int_equal(publish_alert(plo, "YP-101",
	    NWD__V1__MARKING__OFFICIAL, err, sizeof(err)), NWD_OK);
	nwd_close(plo);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoint_paths_and_methods),
		cmocka_unit_test(test_counters_move_by_what_happened),
		cmocka_unit_test(test_sessions_per_principal_are_capped),
		cmocka_unit_test(test_healthz_follows_the_database),
		/* These start daemons of their own, which harness_client()
		 * names from then on. */
		cmocka_unit_test(test_limits_are_counted_when_they_bite),
		cmocka_unit_test(test_non_loopback_metrics_address_is_refused),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
