/*
 * The handshake table: every way a client certificate can be wrong, against
 * a real nwdd, with what the client sees and the audit row of each refusal;
 * then the CRL cases an operator can get wrong, which stop nwdd at start
 * with a clear error; then a CRL that goes stale while nwdd runs.
 *
 * The table runs twice: against the default daemon (TLS 1.3 only) and
 * against one configured with tls_min_version = 1.2, with clients pinned to
 * TLS 1.2, where the server judges the certificate inside the handshake.
 */
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "frame.h"
#include "harness.h"
#include "tlstest.h"

static int wait_ms = 10000;	/* the most any event may take */

enum outcome {
	REFUSED_IN_TLS,		/* an alert or a close; no frame */
	ERROR_FRAME,		/* TLS up, then an Error frame and a close */
	WELCOME,		/* served */
};

struct row {
	const char	*what;
	const char	*client;	/* under the PKI's clients/; NULL: none */
	int		 client_tls;	/* 0: the daemon's floor, 12: TLS 1.2 */
	int		 only_13;	/* only against the TLS 1.3 daemon */
	enum outcome	 outcome;
	const char	*client_sees;	/* in the error, the frame's text or
					   the welcomed principal */
	const char	*client_sees12;	/* with TLS 1.2, if it differs */
	const char	*action;	/* the audit row */
	const char	*actor_like;	/* SQL LIKE patterns, quotes doubled */
	const char	*reason_like;
};

static const struct row table[] = {
	{ "no certificate", NULL, 0, 0, REFUSED_IN_TLS,
	  "alert certificate required", "alert handshake failure",
	  "auth_refused", "cert:-",
	  "TLS handshake failed: %peer did not return a certificate" },
	{ "foreign CA", "foreign", 0, 0, REFUSED_IN_TLS,
	  "alert unknown ca", NULL, "auth_refused", "cert:CN=plo-ana,O=nwd demo",
	  "certificate verify failed: unable to get local issuer "
	  "certificate" },
	{ "expired", "expired", 0, 0, REFUSED_IN_TLS,
	  "alert certificate expired", NULL, "auth_refused", "cert:CN=expired,%",
	  "certificate verify failed: certificate has expired" },
	{ "not yet valid", "notyet", 0, 0, REFUSED_IN_TLS,
	  "alert bad certificate", NULL, "auth_refused", "cert:CN=plo-ana,%",
	  "certificate verify failed: certificate is not yet valid" },
	{ "revoked", "revoked", 0, 0, REFUSED_IN_TLS,
	  "alert certificate revoked", NULL, "auth_refused", "cert:CN=revoked,%",
	  "certificate verify failed: certificate revoked" },
	{ "unmapped", "stranger", 0, 0, ERROR_FRAME,
	  "certificate identity 'stranger' maps to no principal", NULL,
	  "auth_refused", "cert:CN=stranger,%",
	  "certificate identity ''stranger'' maps to no principal" },
	{ "two identities (two CNs)", "twocn", 0, 0, ERROR_FRAME,
	  "certificate refused: certificate subject has more than one CN; "
	  "the identity is ambiguous", NULL, "auth_refused",
	  "cert:CN=plo-ana,CN=keyworker-kim,O=nwd demo",
	  "certificate subject has more than one CN; the identity is "
	  "ambiguous" },
	{ "TLS 1.2 client, TLS 1.3 daemon", "plo-ana", 12, 1, REFUSED_IN_TLS,
	  "alert protocol version", NULL, "auth_refused", "cert:-",
	  "TLS handshake failed: %unsupported protocol" },
	{ "good", "plo-ana", 0, 0, WELCOME, "plo-ana", NULL, "connect",
	  "plo-ana",
	  "%" },
};

static struct harness_daemon *daemon13, *daemon12;

static int
group_setup(void **state)
{
	if (harness_daemon_wrapped())
		wait_ms = 60000;
	if ((daemon13 = harness_daemon_start(NULL)) == NULL ||
	    (daemon12 = harness_daemon_start("tls_min_version = 1.2\n")) ==
	    NULL)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	int rc = 0;

	if (harness_daemon_stop(daemon13) != 0 ||
	    harness_daemon_stop(daemon12) != 0)
		rc = -1;
	daemon13 = daemon12 = NULL;
	return rc;
}

/* The count of the audit rows that r's handshake must add one to. */
static void
row_sql(const struct row *r, char *sql, size_t len)
{
	snprintf(sql, len, "SELECT count(*) FROM nwd.audit_events WHERE "
	    "action = '%s' AND actor LIKE '%s' AND coalesce(reason, '') LIKE "
	    "'%s'", r->action, r->actor_like, r->reason_like);
}

/* One handshake of the table against d; tls is the client's pinned
 * version. */
static void
run_row(const struct row *r, struct harness_daemon *d, int tls)
{
	struct harness_tls	*t;
	Nwd__V1__Frame		*f = NULL;
	const char		*sees = r->client_sees;
	char			 err[512], sql[1024];
	int			 before, rc;

	if (tls == 12 && r->client_sees12 != NULL)
		sees = r->client_sees12;
	print_message("%s (TLS 1.%d client)\n", r->what, tls - 10);
	row_sql(r, sql, sizeof(sql));
	before = tlstest_count(sql);
	t = harness_tls_connect_version(harness_daemon_port(d), r->client,
	    NULL, tls, err, sizeof(err));
	switch (r->outcome) {
	case REFUSED_IN_TLS:
		/* In TLS 1.2 the alert ends the handshake; in TLS 1.3 the
		 * client is done first and meets it on its first read. */
		if (t != NULL) {
			/* Reading only: a write could meet the reset of the
			 * closed socket before the alert is read. */
			rc = harness_tls_read_frame(t, wait_ms, &f);
			if (rc == 0)
				fail_msg("%s: got a frame: %s", r->what,
				    frame_msg_name(f));
			snprintf(err, sizeof(err), "%s", harness_tls_error(t));
			harness_tls_close(t);
		}
		if (strstr(err, sees) == NULL)
			fail_msg("%s: the client saw \"%s\", not \"%s\"",
			    r->what, err, sees);
		break;
	case ERROR_FRAME:
		if (t == NULL)
			fail_msg("%s: handshake failed: %s", r->what, err);
		if (harness_tls_read_frame(t, wait_ms, &f) != 0)
			fail_msg("%s: no frame: %s", r->what,
			    harness_tls_error(t));
		assert_int_equal(f->msg_case, NWD__V1__FRAME__MSG_ERROR);
		assert_int_equal(f->error->code,
		    NWD__V1__ERROR_CODE__ERROR_FORBIDDEN);
		assert_string_equal(f->error->text, sees);
		frame_free(f);
		assert_int_equal(harness_tls_read_frame(t, wait_ms, &f), 1);
		harness_tls_close(t);
		break;
	case WELCOME:
		if (t == NULL)
			fail_msg("%s: handshake failed: %s", r->what, err);
		assert_int_equal(harness_tls_hello(t, wait_ms, &f), 0);
		assert_int_equal(f->msg_case, NWD__V1__FRAME__MSG_WELCOME);
		assert_string_equal(f->welcome->principal->id, sees);
		frame_free(f);
		harness_tls_close(t);
		break;
	}
	/* Exactly one new row for this handshake. */
	tlstest_wait_count(sql, before + 1, wait_ms);
}

static void
test_handshake_table_tls13(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		run_row(&table[i], daemon13, table[i].client_tls != 0 ?
		    table[i].client_tls : 13);
}

static void
test_handshake_table_tls12(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (!table[i].only_13)
			run_row(&table[i], daemon12, 12);
}

/* ------------------------------------------------------------------------
 * CRL and key mistakes stop nwdd at start, saying which file and why.
 */
struct start_row {
	const char	*what;
	const char	*key;		/* the config key set, */
	const char	*value;		/* to this: a PKI file, or "@name" for
					   a file in NWD_TEST_TMP */
	const char	*expect[2];	/* in the log */
};

static const struct start_row start_table[] = {
	/* Named with the configuration line that names it. */
	{ "CRL missing", "tls_crl", "@no-such.crl",
	  { ": tls_crl: ", "no-such.crl: No such file or directory" } },
	{ "CRL expired", "tls_crl", "ca-expired.crl",
	  { "ca-expired.crl: the CRL of CN=nwd demo CA,O=nwd demo expired "
	    "at ", "(nextUpdate; publish a fresh CRL)" } },
	{ "CRL not yet valid", "tls_crl", "@future.crl",
	  { "future.crl: the CRL of CN=nwd demo CA,O=nwd demo is not valid "
	    "before ", NULL } },
	{ "CRL of another CA", "tls_crl", "foreign-ca.crl",
	  { "foreign-ca.crl: the CRL issued by CN=foreign demo CA,O=not nwd "
	    "is not signed by a CA of tls_ca", NULL } },
	{ "CRL not covering every CA", "tls_ca", "@two-cas.crt",
	  { "ca.crl: no CRL for the CA CN=foreign demo CA,O=not nwd; every "
	    "CA of tls_ca needs one", NULL } },
	{ "key of another certificate", "tls_key", "server-next.key",
	  { "server-next.key does not match ", NULL } },
};

/* Concatenates two PKI files into path. */
static void
concat(const char *path, const char *a, const char *b)
{
	char	 *ta, *tb, *both;
	FILE	 *fp;
	long	  n;
	const char *srcs[2] = { a, b };
	char	**dst[2] = { &ta, &tb };
	int	  i;

	for (i = 0; i < 2; i++) {
		assert_non_null(fp = fopen(harness_pki(srcs[i]), "r"));
		fseek(fp, 0, SEEK_END);
		n = ftell(fp);
		fseek(fp, 0, SEEK_SET);
		assert_non_null(*dst[i] = calloc(1, n + 1));
		assert_int_equal(fread(*dst[i], 1, n, fp), (size_t)n);
		fclose(fp);
	}
	assert_non_null(both = malloc(strlen(ta) + strlen(tb) + 1));
	strcpy(both, ta);
	strcat(both, tb);
	tlstest_write(path, both);
	free(both);
	free(ta);
	free(tb);
}

static void
test_crl_mistakes_stop_the_start(void **state)
{
	const struct start_row	*r;
	char			 path[1024], extra[1200], *log;
	const char		*tmp = getenv("NWD_TEST_TMP");
	size_t			 i, j, len;
	FILE			*fp;
	time_t			 now = time(NULL);

	snprintf(path, sizeof(path), "%s/future.crl", tmp);
	tlstest_make_crl(path, NULL, now + 86400, now + 2 * 86400);
	snprintf(path, sizeof(path), "%s/two-cas.crt", tmp);
	concat(path, "ca.crt", "foreign-ca.crt");
	for (i = 0; i < sizeof(start_table) / sizeof(start_table[0]); i++) {
		r = &start_table[i];
		print_message("start refused: %s\n", r->what);
		if (r->value[0] == '@')
			snprintf(path, sizeof(path), "%s/%s", tmp, r->value + 1);
		else
			snprintf(path, sizeof(path), "%s",
			    harness_pki(r->value));
		snprintf(extra, sizeof(extra), "%s = %s\n", r->key, path);
		assert_null(harness_daemon_start(extra));
		assert_non_null(fp = fopen(harness_last_log(), "r"));
		assert_non_null(log = calloc(1, 1 << 20));
		len = fread(log, 1, (1 << 20) - 1, fp);
		log[len] = '\0';
		fclose(fp);
		for (j = 0; j < 2 && r->expect[j] != NULL; j++)
			if (strstr(log, r->expect[j]) == NULL)
				fail_msg("%s: the log lacks \"%s\":\n%s", r->what,
				    r->expect[j], log);
		free(log);
	}
}

/* ------------------------------------------------------------------------
 * A CRL that passes its nextUpdate while nwdd runs: every new client is
 * refused (fail closed) until a fresh CRL is loaded.
 */
static void
test_crl_going_stale_refuses_clients(void **state)
{
	static const char *const revoked[] = { "revoked", NULL };
	struct harness_daemon	*d;
	struct harness_tls	*t;
	Nwd__V1__Frame		*f = NULL;
	char			 crl[1024], extra[1200], err[512];
	time_t			 next;
	size_t			 mark;
	int			 window = harness_daemon_wrapped() ? 30 : 4;

	snprintf(crl, sizeof(crl), "%s/stale.crl", getenv("NWD_TEST_TMP"));
	tlstest_install("ca.crl", crl);
	snprintf(extra, sizeof(extra), "tls_crl = %s\n", crl);
	assert_non_null(d = harness_daemon_start(extra));

	/* A CRL good for a few seconds more, taken by a reload. */
	next = time(NULL) + window;
	tlstest_make_crl(crl, revoked, time(NULL) - 60, next);
	mark = harness_log_mark(d);
	assert_int_equal(harness_daemon_signal(d, SIGHUP), 0);
	if (!harness_wait_log_after(d, mark, "event=tls_reload_done",
	    wait_ms))
		fail_msg("the short-lived CRL was not taken (a reload slower "
		    "than %d s?); see %s", window, harness_daemon_log(d));
	t = harness_tls_connect(harness_daemon_port(d), "plo-ana", NULL, err,
	    sizeof(err));
	assert_non_null(t);
	assert_int_equal(harness_tls_hello(t, wait_ms, &f), 0);
	assert_int_equal(f->msg_case, NWD__V1__FRAME__MSG_WELCOME);
	frame_free(f);
	harness_tls_close(t);

	/* The event awaited is the clock passing nextUpdate. */
	while (time(NULL) <= next)
		poll(NULL, 0, 100);
	t = harness_tls_connect(harness_daemon_port(d), "plo-ana", NULL, err,
	    sizeof(err));
	if (t != NULL) {
		assert_int_not_equal(harness_tls_hello(t, wait_ms, &f), 0);
		harness_tls_close(t);
	}
	tlstest_wait_count("SELECT count(*) FROM nwd.audit_events WHERE "
	    "action = 'auth_refused' AND actor LIKE 'cert:CN=plo-ana,%' AND "
	    "reason = 'certificate verify failed: CRL has expired'", 1,
	    wait_ms);

	/* A fresh CRL restores service. */
	tlstest_install("ca.crl", crl);
	mark = harness_log_mark(d);
	assert_int_equal(harness_daemon_signal(d, SIGHUP), 0);
	assert_true(harness_wait_log_after(d, mark, "event=tls_reload_done",
	    wait_ms));
	t = harness_tls_connect(harness_daemon_port(d), "plo-ana", NULL, err,
	    sizeof(err));
	assert_non_null(t);
	assert_int_equal(harness_tls_hello(t, wait_ms, &f), 0);
	assert_int_equal(f->msg_case, NWD__V1__FRAME__MSG_WELCOME);
	frame_free(f);
	harness_tls_close(t);
	assert_int_equal(harness_daemon_stop(d), 0);
}

/* ------------------------------------------------------------------------
 * A certificate that expires during a session ends it: Error and Goodbye
 * naming the expiry, and a disconnect row that says why (issue 16).
 */
static void
test_certificate_expiring_mid_session(void **state)
{
	struct harness_daemon	*hd;
	struct nwd_client	*c;
	struct nwd_opts		 o;
	Nwd__V1__Deliver	*d = NULL;
	enum nwd_status		 st = NWD_OK;
	char			 crt[1024], key[1024], err[512];
	int			 window = harness_daemon_wrapped() ? 30 : 5;

	snprintf(crt, sizeof(crt), "%s/short.crt", getenv("NWD_TEST_TMP"));
	snprintf(key, sizeof(key), "%s/short.key", getenv("NWD_TEST_TMP"));
	assert_non_null(hd = harness_daemon_start(NULL));
	o = harness_client("plo-ana");
	tlstest_make_client_cert(crt, key, "plo-ana", time(NULL) - 60,
	    time(NULL) + window);
	o.cert = crt;
	o.key = key;
	c = nwd_connect(&o, &st, err, sizeof(err));
	if (c == NULL)
		fail_msg("the short-lived certificate was refused (a handshake "
		    "slower than %d s?): %s", window, err);
	/* The event awaited is the session's end; it must come. */
	st = nwd_next_delivery(c, (window + 30) * 1000, &d, err, sizeof(err));
	assert_int_equal(st, NWD_ERR_REFUSED);
	assert_null(d);
	if (strstr(err, "client certificate expired at ") == NULL)
		fail_msg("unexpected end: %s", err);
	nwd_close(c);
	tlstest_wait_count("SELECT count(*) FROM nwd.audit_events WHERE "
	    "action = 'disconnect' AND actor = 'plo-ana' AND reason LIKE "
	    "'client certificate expired at % during the session'", 1,
	    wait_ms);
	/* And it cannot open another. */
	c = nwd_connect(&o, &st, err, sizeof(err));
	assert_null(c);
	assert_int_equal(harness_daemon_stop(hd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_table_tls13),
		cmocka_unit_test(test_handshake_table_tls12),
		cmocka_unit_test(test_crl_mistakes_stop_the_start),
		cmocka_unit_test(test_crl_going_stale_refuses_clients),
		cmocka_unit_test(test_certificate_expiring_mid_session),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("handshakes", tests, group_setup,
	    group_teardown);
}
