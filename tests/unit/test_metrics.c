/*
 * Unit tests for daemon/metrics.c: the registry and its rendering in the
 * Prometheus text format, without a socket.
 *
 * - A known registry renders to exactly the expected text: HELP and TYPE
 *   lines, families in the order added, series in the order created.
 * - Histograms: an observation equal to a bound falls in that bound's
 *   bucket, buckets are cumulative, +Inf holds every observation, _sum and
 *   _count agree with what was observed.
 * - Label values and help texts are escaped; numbers are written in their
 *   shortest exact form.
 * - Misuse (a gauge update on a counter, a missing label, bounds out of
 *   order) is refused and changes nothing.
 * - nwdd's registry: every helper is a no-op before metrics_init(); after
 *   it the counters, state gauge and histograms move by what was reported;
 *   TLS failure texts map to the documented refusal reasons.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"
#include "nwd.pb-c.h"

static char *
render(const struct metrics *m)
{
	char	*text;
	size_t	 len;

	text = metrics_render(m, &len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	return text;
}

/* 1 if text has a line that is exactly line. */
static int
has_line(const char *text, const char *line)
{
	size_t		 n = strlen(line);
	const char	*p;

	for (p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

static void
test_known_registry(void **state)
{
	static const double bounds[] = { 0.1, 1, 10 };
	struct metrics		*m = metrics_new();
	struct metrics_family	*req, *temp, *lat;
	char			*text;

	assert_non_null(m);
	req = metrics_family_new(m, METRICS_COUNTER, "app_requests_total",
	    "Requests served.", "code", NULL, 0);
	temp = metrics_family_new(m, METRICS_GAUGE, "app_temperature",
	    "Temperature now.", NULL, NULL, 0);
	lat = metrics_family_new(m, METRICS_HISTOGRAM, "app_latency_seconds",
	    "Latency.", NULL, bounds, 3);
	assert_non_null(req);
	assert_non_null(temp);
	assert_non_null(lat);
	assert_int_equal(metrics_add(req, "200", 1), 0);
	assert_int_equal(metrics_add(req, "404", 2), 0);
	assert_int_equal(metrics_add(req, "200", 4), 0);
	assert_int_equal(metrics_set(temp, NULL, 21.5), 0);
	assert_int_equal(metrics_observe(lat, NULL, 0.05), 0);
	assert_int_equal(metrics_observe(lat, NULL, 1), 0);
	assert_int_equal(metrics_observe(lat, NULL, 3), 0);
	assert_int_equal(metrics_observe(lat, NULL, 20), 0);
	text = render(m);
	assert_string_equal(text,
	    "# HELP app_requests_total Requests served.\n"
	    "# TYPE app_requests_total counter\n"
	    "app_requests_total{code=\"200\"} 5\n"
	    "app_requests_total{code=\"404\"} 2\n"
	    "# HELP app_temperature Temperature now.\n"
	    "# TYPE app_temperature gauge\n"
	    "app_temperature 21.5\n"
	    "# HELP app_latency_seconds Latency.\n"
	    "# TYPE app_latency_seconds histogram\n"
	    "app_latency_seconds_bucket{le=\"0.1\"} 1\n"
	    "app_latency_seconds_bucket{le=\"1\"} 2\n"
	    "app_latency_seconds_bucket{le=\"10\"} 3\n"
	    "app_latency_seconds_bucket{le=\"+Inf\"} 4\n"
	    "app_latency_seconds_sum 24.05\n"
	    "app_latency_seconds_count 4\n");
	free(text);
	metrics_free(m);
}

static void
test_empty_family_and_registry(void **state)
{
	struct metrics	*m = metrics_new();
	char		*text;

	text = render(m);
	assert_string_equal(text, "");
	free(text);
	assert_non_null(metrics_family_new(m, METRICS_GAUGE, "x", "X.", "l",
	    NULL, 0));
	text = render(m);
	assert_string_equal(text, "# HELP x X.\n# TYPE x gauge\n");
	free(text);
	metrics_free(m);
	metrics_free(NULL);
}

static void
test_histogram_semantics(void **state)
{
	static const double bounds[] = { 1, 2, 4 };
	struct metrics		*m = metrics_new();
	struct metrics_family	*h;
	char			*text;
	int			 i;

	h = metrics_family_new(m, METRICS_HISTOGRAM, "h", "H.", "op", bounds,
	    3);
	assert_non_null(h);
	/* Nothing observed yet for "read": every bucket 0. */
	assert_int_equal(metrics_observe(h, "write", 0), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(metrics_observe(h, "read", 2), 0);
	assert_int_equal(metrics_observe(h, "read", 2.0000001), 0);
	assert_int_equal(metrics_observe(h, "read", 1000), 0);
	text = render(m);
	assert_string_equal(text,
	    "# HELP h H.\n"
	    "# TYPE h histogram\n"
	    "h_bucket{op=\"write\",le=\"1\"} 1\n"
	    "h_bucket{op=\"write\",le=\"2\"} 1\n"
	    "h_bucket{op=\"write\",le=\"4\"} 1\n"
	    "h_bucket{op=\"write\",le=\"+Inf\"} 1\n"
	    "h_sum{op=\"write\"} 0\n"
	    "h_count{op=\"write\"} 1\n"
	    "h_bucket{op=\"read\",le=\"1\"} 0\n"
	    "h_bucket{op=\"read\",le=\"2\"} 3\n"
	    "h_bucket{op=\"read\",le=\"4\"} 4\n"
	    "h_bucket{op=\"read\",le=\"+Inf\"} 5\n"
	    "h_sum{op=\"read\"} 1008.0000001\n"
	    "h_count{op=\"read\"} 5\n");
	free(text);
	metrics_free(m);
}

static void
test_escaping(void **state)
{
	struct metrics		*m = metrics_new();
	struct metrics_family	*f;
	char			*text;

	f = metrics_family_new(m, METRICS_GAUGE, "info", "Path C:\\x\nnext "
	    "\"line\".", "v", NULL, 0);
	assert_int_equal(metrics_set(f, "a\"b\\c\nd", 1), 0);
	text = render(m);
	assert_string_equal(text,
	    "# HELP info Path C:\\\\x\\nnext \"line\".\n"
	    "# TYPE info gauge\n"
	    "info{v=\"a\\\"b\\\\c\\nd\"} 1\n");
	free(text);
	metrics_free(m);
}

static void
test_numbers(void **state)
{
	static const struct {
		double		 v;
		const char	*text;
	} cases[] = {
		{ 0, "n 0" },
		{ -0.0, "n 0" },
		{ 7, "n 7" },
		{ -3, "n -3" },
		{ 0.1, "n 0.1" },
		{ 0.0005, "n 0.0005" },
		{ 1.0 / 3, "n 0.3333333333333333" },
		{ 1735689600, "n 1735689600" },
		{ 123456789012345, "n 123456789012345" },
		{ 1e300, "n 1e+300" },
		{ INFINITY, "n +Inf" },
		{ -INFINITY, "n -Inf" },
		{ NAN, "n NaN" },
	};
	struct metrics		*m;
	struct metrics_family	*f;
	char			*text;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		m = metrics_new();
		f = metrics_family_new(m, METRICS_GAUGE, "n", "N.", NULL,
		    NULL, 0);
		assert_int_equal(metrics_set(f, NULL, cases[i].v), 0);
		text = render(m);
		if (!has_line(text, cases[i].text))
			fail_msg("%g rendered as:\n%s", cases[i].v, text);
		free(text);
		metrics_free(m);
	}
}

static void
test_misuse_is_refused(void **state)
{
	static const double unordered[] = { 1, 1 };
	static const double bounds[] = { 1 };
	struct metrics		*m = metrics_new();
	struct metrics_family	*c, *g, *h;
	char			*text;

	c = metrics_family_new(m, METRICS_COUNTER, "c_total", "C.", NULL,
	    NULL, 0);
	g = metrics_family_new(m, METRICS_GAUGE, "g", "G.", "k", NULL, 0);
	h = metrics_family_new(m, METRICS_HISTOGRAM, "h", "H.", NULL, bounds,
	    1);
	assert_null(metrics_family_new(m, METRICS_HISTOGRAM, "bad", "B.",
	    NULL, unordered, 2));
	assert_int_equal(metrics_set(c, NULL, 5), -1);
	assert_int_equal(metrics_observe(c, NULL, 5), -1);
	assert_int_equal(metrics_add(h, NULL, 5), -1);
	assert_int_equal(metrics_set(h, NULL, 5), -1);
	assert_int_equal(metrics_observe(g, "x", 5), -1);
	assert_int_equal(metrics_add(c, "label", 1), -1);	/* has none */
	assert_int_equal(metrics_add(g, NULL, 1), -1);		/* needs one */
	assert_int_equal(metrics_add(NULL, NULL, 1), -1);
	text = render(m);
	assert_string_equal(text,
	    "# HELP c_total C.\n# TYPE c_total counter\nc_total 0\n"
	    "# HELP g G.\n# TYPE g gauge\n"
	    "# HELP h H.\n# TYPE h histogram\n"
	    "h_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 0\n"
	    "h_sum 0\nh_count 0\n");
	free(text);
	metrics_free(m);
}

static void
test_zero_and_clear(void **state)
{
	struct metrics		*m = metrics_new();
	struct metrics_family	*g;
	char			*text;

	g = metrics_family_new(m, METRICS_GAUGE, "g", "G.", "k", NULL, 0);
	metrics_set(g, "a", 3);
	metrics_set(g, "b", 4);
	metrics_zero(g);
	metrics_add(g, "b", 1);
	text = render(m);
	assert_string_equal(text,
	    "# HELP g G.\n# TYPE g gauge\ng{k=\"a\"} 0\ng{k=\"b\"} 1\n");
	free(text);
	metrics_clear(g);
	metrics_set(g, "c", 2);
	text = render(m);
	assert_string_equal(text, "# HELP g G.\n# TYPE g gauge\ng{k=\"c\"} 2\n");
	free(text);
	metrics_free(m);
}

static void
test_daemon_registry(void **state)
{
	char	*text;
	size_t	 len;

	/* Before metrics_init(), nothing is kept and nothing breaks. */
	metrics_publish("acked");
	metrics_refusal("policy");
	metrics_txn(3, 9, 0.002);
	metrics_publish_seconds(0.001);
	assert_null(metrics_render_daemon(&len));

	assert_int_equal(metrics_init(), 0);
	text = metrics_render_daemon(&len);
	assert_non_null(text);
	/* Every series the daemon lists exists from the start, at 0. */
	assert_true(has_line(text, "# TYPE nwd_publishes_total counter"));
	assert_true(has_line(text, "nwd_publishes_total{outcome=\"acked\"} 0"));
	assert_true(has_line(text, "nwd_refusals_total{reason=\"policy\"} 0"));
	assert_true(has_line(text, "nwd_refusals_total{reason="
	    "\"max_connections_principal\"} 0"));
	assert_true(has_line(text, "nwd_deliveries_total 0"));
	assert_true(has_line(text, "nwd_store_state{state=\"ready\"} 0"));
	assert_true(has_line(text, "nwd_store_txn_batches_count 0"));
	assert_true(has_line(text, "# TYPE nwd_store_commit_seconds "
	    "histogram"));
	free(text);

	metrics_publish("acked");
	metrics_publish("acked");
	metrics_publish_refused(NWD__V1__ERROR_CODE__ERROR_FORBIDDEN,
	    "clearance");
	metrics_publish_refused(NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, "r7");
	metrics_publish_refused(NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, NULL);
	metrics_publish_refused(NWD__V1__ERROR_CODE__ERROR_FORBIDDEN,
	    "no-dead-letters");
	metrics_publish_refused(NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE,
	    NULL);
	metrics_publish_refused(NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, NULL);
	metrics_delivery();
	metrics_txn(3, 9, 0.002);
	metrics_txn(1, 2, 0.0004);
	metrics_publish_seconds(0.004);
	metrics_store_state("connecting");
	metrics_store_state("ready");
	metrics_policy("old");
	metrics_policy("v2");
	metrics_sessions_reset();
	metrics_sessions_add("hub_system", 2);
	metrics_sessions_add(NULL, 1);
	metrics_tls(1800000000, 1900000000, 0);
	text = metrics_render_daemon(&len);
	assert_non_null(text);
	assert_true(has_line(text, "nwd_publishes_total{outcome=\"acked\"} 2"));
	assert_true(has_line(text, "nwd_publishes_total{outcome=\"refused\"} "
	    "4"));
	assert_true(has_line(text, "nwd_publishes_total{outcome=\"invalid\"} "
	    "1"));
	assert_true(has_line(text, "nwd_publishes_total{outcome="
	    "\"unavailable\"} 1"));
	assert_true(has_line(text, "nwd_refusals_total{reason=\"clearance\"} "
	    "1"));
	assert_true(has_line(text, "nwd_refusals_total{reason=\"policy\"} 2"));
	assert_true(has_line(text, "nwd_refusals_total{reason="
	    "\"no_recipients\"} 1"));
	assert_true(has_line(text, "nwd_refusals_total{reason="
	    "\"envelope_invalid\"} 1"));
	assert_true(has_line(text, "nwd_refusals_total{reason="
	    "\"store_unavailable\"} 1"));
	assert_true(has_line(text, "nwd_deliveries_total 1"));
	assert_true(has_line(text, "nwd_store_txn_batches_bucket{le=\"2\"} 1"));
	assert_true(has_line(text, "nwd_store_txn_batches_bucket{le=\"4\"} 2"));
	assert_true(has_line(text, "nwd_store_txn_batches_sum 4"));
	assert_true(has_line(text, "nwd_store_txn_audit_rows_sum 11"));
	assert_true(has_line(text, "nwd_store_commit_seconds_bucket"
	    "{le=\"0.0005\"} 1"));
	assert_true(has_line(text, "nwd_store_commit_seconds_bucket"
	    "{le=\"0.001\"} 1"));
	assert_true(has_line(text, "nwd_store_commit_seconds_bucket"
	    "{le=\"0.002\"} 2"));
	assert_true(has_line(text, "nwd_publish_seconds_bucket"
	    "{le=\"0.003\"} 0"));
	assert_true(has_line(text, "nwd_publish_seconds_bucket"
	    "{le=\"0.005\"} 1"));
	assert_true(has_line(text, "nwd_publish_seconds_count 1"));
	assert_true(has_line(text, "nwd_store_commit_seconds_count 2"));
	assert_true(has_line(text, "nwd_store_state{state=\"connecting\"} 0"));
	assert_true(has_line(text, "nwd_store_state{state=\"ready\"} 1"));
	assert_true(has_line(text, "nwd_policy_info{version=\"v2\"} 1"));
	assert_null(strstr(text, "version=\"old\""));
	assert_true(has_line(text, "nwd_sessions{role=\"hub_system\"} 2"));
	assert_true(has_line(text, "nwd_sessions{role=\"unauthenticated\"} 1"));
	assert_true(has_line(text, "nwd_tls_cert_not_after_timestamp_seconds"
	    "{cert=\"server\"} 1800000000"));
	assert_true(has_line(text, "nwd_tls_cert_not_after_timestamp_seconds"
	    "{cert=\"ca\"} 1900000000"));
	/* No CRL: the family is there, without a series. */
	assert_true(has_line(text, "# TYPE "
	    "nwd_tls_crl_next_update_timestamp_seconds gauge"));
	assert_null(strstr(text,
	    "\nnwd_tls_crl_next_update_timestamp_seconds "));
	free(text);
	metrics_shutdown();
	assert_null(metrics_render_daemon(&len));
}

static void
test_tls_reasons(void **state)
{
	static const char *cases[][2] = {
		{ "certificate verify failed: unable to get local issuer "
		  "certificate", "tls_unknown_ca" },
		{ "certificate verify failed: self-signed certificate in "
		  "certificate chain", "tls_unknown_ca" },
		{ "certificate verify failed: certificate revoked",
		  "tls_revoked" },
		{ "certificate verify failed: certificate has expired",
		  "tls_expired" },
		{ "certificate verify failed: certificate is not yet valid",
		  "tls_verify" },
		{ "TLS handshake failed: error:0A0000C7:SSL routines::peer did "
		  "not return a certificate", "tls_no_cert" },
		{ "TLS handshake failed: connection closed", "tls_handshake" },
		{ "", "tls_handshake" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(metrics_tls_reason(cases[i][0]),
		    cases[i][1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_registry),
		cmocka_unit_test(test_empty_family_and_registry),
		cmocka_unit_test(test_histogram_semantics),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_misuse_is_refused),
		cmocka_unit_test(test_zero_and_clear),
		cmocka_unit_test(test_daemon_registry),
		cmocka_unit_test(test_tls_reasons),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
