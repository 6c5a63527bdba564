/*
 * SIGHUP reloads the TLS files: the server certificate and key, the client
 * CA and the CRL.  Each test runs its own nwdd on copies of the test PKI's
 * files, replaces some of them with sessions open, sends SIGHUP and checks
 * what live sessions, new handshakes, the log and the audit trail show.
 *
 *   - a new CRL revoking a live session's certificate closes that session
 *     (Error frame, disconnect row) and no other;
 *   - a new server certificate serves new handshakes while live sessions
 *     carry on;
 *   - broken files of every kind are refused, logged and audited, and the
 *     old context keeps serving;
 *   - a handshake in flight across the reload is judged by the new files;
 *   - started as root with "user", a reload reads the files as that user:
 *     a key only root can read is refused and the old context serves; the
 *     same key owned by the user loads.
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
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "frame.h"
#include "harness.h"
#include "tlstest.h"

static int wait_ms = 10000;	/* the most any event may take */

/* One daemon on its own copies of the TLS files. */
struct world {
	struct harness_daemon	*d;
	int			 port;
	char			 dir[512];
	char			 cert[600], key[600], ca[600], crl[600];
};

/* A world whose nwdd runs as user (NULL: the harness's choice). */
static void
world_start_as(struct world *w, const char *name, const char *user)
{
	char extra[3000];

	snprintf(w->dir, sizeof(w->dir), "%s/%s", getenv("NWD_TEST_TMP"),
	    name);
	if (mkdir(w->dir, 0755) == -1)
		fail_msg("mkdir %s failed", w->dir);
	snprintf(w->cert, sizeof(w->cert), "%s/server.crt", w->dir);
	snprintf(w->key, sizeof(w->key), "%s/server.key", w->dir);
	snprintf(w->ca, sizeof(w->ca), "%s/ca.crt", w->dir);
	snprintf(w->crl, sizeof(w->crl), "%s/ca.crl", w->dir);
	tlstest_install("server.crt", w->cert);
	tlstest_install("server.key", w->key);
	chmod(w->key, 0600);
	tlstest_install("ca.crt", w->ca);
	tlstest_install("ca.crl", w->crl);
	snprintf(extra, sizeof(extra), "tls_cert = %s\ntls_key = %s\n"
	    "tls_ca = %s\ntls_crl = %s\n%s%s%s", w->cert, w->key, w->ca,
	    w->crl, user != NULL ? "user = " : "", user != NULL ? user : "",
	    user != NULL ? "\n" : "");
	assert_non_null(w->d = harness_daemon_start(extra));
	w->port = harness_daemon_port(w->d);
}

static void
world_start(struct world *w, const char *name)
{
	world_start_as(w, name, NULL);
}

static void
world_stop(struct world *w)
{
	assert_int_equal(harness_daemon_stop(w->d), 0);
	w->d = NULL;
}

/* SIGHUP, then wait for each needle (NULL-terminated) in the log. */
static void
sighup_expect(struct world *w, const char *needle, ...)
{
	size_t	 mark = harness_log_mark(w->d);
	va_list	 ap;

	assert_int_equal(harness_daemon_signal(w->d, SIGHUP), 0);
	va_start(ap, needle);
	for (; needle != NULL; needle = va_arg(ap, const char *))
		if (!harness_wait_log_after(w->d, mark, needle, wait_ms))
			fail_msg("no \"%s\" in %s within %d ms after SIGHUP",
			    needle, harness_daemon_log(w->d), wait_ms);
	va_end(ap);
}

/* A raw session as client, past its Hello. */
static struct harness_tls *
session_as(struct world *w, const char *client)
{
	struct harness_tls	*t;
	Nwd__V1__Frame		*f = NULL;
	char			 err[512];

	if ((t = harness_tls_connect(w->port, client, NULL, err,
	    sizeof(err))) == NULL)
		fail_msg("connect as %s: %s", client, err);
	assert_int_equal(harness_tls_hello(t, wait_ms, &f), 0);
	if (f->msg_case != NWD__V1__FRAME__MSG_WELCOME)
		fail_msg("%s: expected a welcome, got %s", client,
		    frame_msg_name(f));
	frame_free(f);
	return t;
}

/* The session answers a Ping with its Pong. */
static void
assert_pings(struct harness_tls *t, uint64_t nonce)
{
	Nwd__V1__Frame	 f = NWD__V1__FRAME__INIT, *r = NULL;
	Nwd__V1__Ping	 p = NWD__V1__PING__INIT;

	p.nonce = nonce;
	f.request_id = 100 + nonce;
	f.msg_case = NWD__V1__FRAME__MSG_PING;
	f.ping = &p;
	assert_int_equal(harness_tls_send_frame(t, &f), 0);
	if (harness_tls_read_frame(t, wait_ms, &r) != 0)
		fail_msg("no pong: %s", harness_tls_error(t));
	assert_int_equal(r->msg_case, NWD__V1__FRAME__MSG_PONG);
	assert_int_equal(r->pong->nonce, nonce);
	frame_free(r);
}

/* A new handshake as client shows the certificate with this fingerprint. */
static void
assert_serves(struct world *w, const char *client, const char *fp)
{
	char got[TLSTEST_FP_LEN], err[512];

	if (tlstest_server_fingerprint(w->port, client, got, err,
	    sizeof(err)) == -1)
		fail_msg("handshake as %s: %s", client, err);
	assert_string_equal(got, fp);
}

/* ------------------------------------------------------------------------
 * (a) A new CRL closes the live sessions it revokes, and only those.
 */
static void
test_new_crl_closes_revoked_live_session(void **state)
{
	struct world		 w;
	struct harness_tls	*old_kim, *kim, *ana, *t;
	Nwd__V1__Frame		*f = NULL;
	char			 err[512];

	world_start(&w, "crl");
	/* kim's retired certificate (ca-next.crl revokes it), kim's current
	 * one (same principal) and ana's. */
	old_kim = session_as(&w, "retired");
	kim = session_as(&w, "keyworker-kim");
	ana = session_as(&w, "plo-ana");

	tlstest_install("ca-next.crl", w.crl);
	sighup_expect(&w, "event=tls_reload_done", "sessions_closed=1", NULL);

	/* The revoked session is told why, then closed. */
	if (harness_tls_read_frame(old_kim, wait_ms, &f) != 0)
		fail_msg("no error frame: %s", harness_tls_error(old_kim));
	assert_int_equal(f->msg_case, NWD__V1__FRAME__MSG_ERROR);
	assert_int_equal(f->error->code, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN);
	assert_string_equal(f->error->text, "client certificate no longer "
	    "accepted after TLS reload: certificate revoked");
	frame_free(f);
	assert_int_equal(harness_tls_read_frame(old_kim, wait_ms, &f), 1);
	harness_tls_close(old_kim);

	/* The others carry on. */
	assert_pings(kim, 1);
	assert_pings(ana, 2);

	tlstest_wait_count("SELECT count(*) FROM nwd.audit_events WHERE "
	    "action = 'disconnect' AND actor = 'keyworker-kim' AND reason = "
	    "'client certificate no longer accepted after TLS reload: "
	    "certificate revoked'", 1, wait_ms);
	tlstest_wait_count("SELECT count(*) FROM nwd.audit_events WHERE "
	    "action = 'disconnect' AND reason LIKE '%after TLS reload%'", 1,
	    wait_ms);
	tlstest_wait_count("SELECT count(*) FROM nwd.audit_events WHERE "
	    "action = 'tls_loaded' AND reason LIKE 'reload: server "
	    "certificate sha256:% (CN=localhost,O=nwd demo) expires %; "
	    "1 CA certificate, first expiry %; CRL 2 revoked, next update %'",
	    1, wait_ms);

	/* A new handshake with the retired certificate is refused. */
	t = harness_tls_connect(w.port, "retired", NULL, err, sizeof(err));
	if (t != NULL) {
		assert_int_not_equal(harness_tls_hello(t, wait_ms, &f), 0);
		harness_tls_close(t);
	}
	tlstest_wait_count("SELECT count(*) FROM nwd.audit_events WHERE "
	    "action = 'auth_refused' AND actor LIKE 'cert:CN=keyworker-kim,%' "
	    "AND reason = 'certificate verify failed: certificate revoked'", 1,
	    wait_ms);

	assert_pings(kim, 3);
	harness_tls_close(kim);
	harness_tls_close(ana);
	world_stop(&w);
}

/* ------------------------------------------------------------------------
 * (b) A new server certificate: new handshakes see it, live sessions stay.
 */
static void
test_new_server_certificate_serves_new_handshakes(void **state)
{
	struct world		 w;
	struct harness_tls	*live;
	char			 fp_old[TLSTEST_FP_LEN], fp_new[TLSTEST_FP_LEN];
	char			 sql[512];
	int			 started;

	tlstest_file_fingerprint(harness_pki("server.crt"), fp_old);
	tlstest_file_fingerprint(harness_pki("server-next.crt"), fp_new);
	assert_string_not_equal(fp_old, fp_new);
	/* The files serving from the start are audited too. */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM nwd.audit_events "
	    "WHERE action = 'tls_loaded' AND reason LIKE 'startup: server "
	    "certificate %s (CN=localhost,O=nwd demo) expires %%; 1 CA "
	    "certificate, first expiry %%'", fp_old);
	started = tlstest_count(sql);
	assert_true(started >= 0);
	world_start(&w, "cert");
	tlstest_wait_count(sql, started + 1, wait_ms);
	assert_serves(&w, "plo-ana", fp_old);
	live = session_as(&w, "sw-ben");

	tlstest_install("server-next.crt", w.cert);
	tlstest_install("server-next.key", w.key);
	sighup_expect(&w, "event=tls_reload_done", fp_new, NULL);

	assert_pings(live, 1);
	assert_serves(&w, "plo-ana", fp_new);
	assert_pings(live, 2);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM nwd.audit_events "
	    "WHERE action = 'tls_loaded' AND reason LIKE 'reload: server "
	    "certificate %s (CN=localhost,O=nwd demo) expires %%'", fp_new);
	tlstest_wait_count(sql, 1, wait_ms);

	harness_tls_close(live);
	world_stop(&w);
}

/* ------------------------------------------------------------------------
 * (c) Broken files are refused; the old context keeps serving.
 */
enum which { CERT, KEY, CA, CRL };

struct broken {
	const char	*what;
	enum which	 file;
	const char	*from_pki;	/* copy this PKI file over it, */
	const char	*text;		/* or write this, */
					/* or (both NULL) remove it */
	const char	*expect;	/* in the log and the audit reason */
};

static const struct broken broken_files[] = {
	{ "CRL that is no PEM", CRL, NULL, "not a CRL\n",
	  "no PEM CRL in the file" },
	{ "CRL of another CA", CRL, "foreign-ca.crl", NULL,
	  "the CRL issued by CN=foreign demo CA,O=not nwd is not signed by "
	  "a CA of tls_ca" },
	{ "expired CRL", CRL, "ca-expired.crl", NULL,
	  "(nextUpdate; publish a fresh CRL)" },
	{ "missing CRL", CRL, NULL, NULL,
	  "cannot open the CRL file: No such file or directory" },
	{ "key of another certificate", KEY, "server-next.key", NULL,
	  "server.key does not match" },
	{ "certificate that is no PEM", CERT, NULL,
	  "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
	  "cannot load server certificate" },
	{ "missing CA file", CA, NULL, NULL,
	  "cannot open the client CA file: No such file or directory" },
	{ "CA file holding no CA", CA, "clients/plo-ana.crt", NULL,
	  "CN=plo-ana,O=nwd demo is not a CA certificate" },
};

static const char *
path_of(struct world *w, enum which file, const char **pki_name)
{
	switch (file) {
	case CERT:
		*pki_name = "server.crt";
		return w->cert;
	case KEY:
		*pki_name = "server.key";
		return w->key;
	case CA:
		*pki_name = "ca.crt";
		return w->ca;
	case CRL:
		break;
	}
	*pki_name = "ca.crl";
	return w->crl;
}

static void
test_broken_files_are_refused_and_old_context_serves(void **state)
{
	struct world		 w;
	struct harness_tls	*live, *t;
	const struct broken	*b;
	const char		*path, *good;
	char			 fp[TLSTEST_FP_LEN], sql[1024], err[512];
	size_t			 i;

	tlstest_file_fingerprint(harness_pki("server.crt"), fp);
	world_start(&w, "broken");
	live = session_as(&w, "plo-ana");
	for (i = 0; i < sizeof(broken_files) / sizeof(broken_files[0]); i++) {
		b = &broken_files[i];
		print_message("broken: %s\n", b->what);
		path = path_of(&w, b->file, &good);
		if (b->from_pki != NULL)
			tlstest_install(b->from_pki, path);
		else if (b->text != NULL)
			tlstest_write(path, b->text);
		else
			assert_int_equal(unlink(path), 0);
		snprintf(sql, sizeof(sql), "event=tls_reload_refused "
		    "reason=\"%s", path);
		sighup_expect(&w, sql, b->expect, NULL);
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM "
		    "nwd.audit_events WHERE action = 'tls_reload_refused' AND "
		    "strpos(reason, 'reload refused: %s') = 1 AND "
		    "strpos(reason, '%s') > 0 AND strpos(reason, '; keeping "
		    "server certificate %s') > 0", path, b->expect, fp);
		tlstest_wait_count(sql, 1, wait_ms);
		/* The old context serves, the live session stays. */
		assert_serves(&w, "keyworker-kim", fp);
		assert_pings(live, i + 1);
		tlstest_install(good, path);
		if (b->file == KEY)
			chmod(path, 0600);
	}
	/* The old CRL is still checked. */
	t = harness_tls_connect(w.port, "revoked", NULL, err, sizeof(err));
	if (t != NULL) {
		Nwd__V1__Frame *f = NULL;

		assert_int_not_equal(harness_tls_hello(t, wait_ms, &f), 0);
		harness_tls_close(t);
	}
	tlstest_wait_count("SELECT count(*) FROM nwd.audit_events WHERE "
	    "action = 'auth_refused' AND actor LIKE 'cert:CN=revoked,%' AND "
	    "reason = 'certificate verify failed: certificate revoked'", 1,
	    wait_ms);
	/* Whole again: the next SIGHUP takes the files. */
	sighup_expect(&w, "event=tls_reload_done", NULL);
	assert_pings(live, 99);
	harness_tls_close(live);
	world_stop(&w);
}

/* ------------------------------------------------------------------------
 * (d) A handshake begun before the reload is judged by the new files.
 */
static void
test_handshake_across_reload_is_judged_by_new_files(void **state)
{
	struct world		 w;
	struct tlstest_conn	*c;
	Nwd__V1__Frame		*f = NULL;
	char			 err[512];

	world_start(&w, "midway");
	/* The daemon made this connection's SSL from the old context. */
	c = tlstest_begin(w.port, "retired");
	tlstest_install("ca-next.crl", w.crl);
	sighup_expect(&w, "event=tls_reload_done", NULL);
	if (tlstest_finish_hello(c, &f, err, sizeof(err)) != 0)
		fail_msg("expected an error frame: %s", err);
	assert_int_equal(f->msg_case, NWD__V1__FRAME__MSG_ERROR);
	assert_int_equal(f->error->code, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN);
	assert_string_equal(f->error->text, "certificate refused: certificate "
	    "verify failed: certificate revoked (TLS files reloaded during the "
	    "handshake)");
	frame_free(f);
	tlstest_close(c);
	tlstest_wait_count("SELECT count(*) FROM nwd.audit_events WHERE "
	    "action = 'auth_refused' AND actor LIKE 'cert:CN=keyworker-kim,%' "
	    "AND reason = 'certificate verify failed: certificate revoked (TLS "
	    "files reloaded during the handshake)'", 1, wait_ms);
	world_stop(&w);
}

/* ------------------------------------------------------------------------
 * (e) After the privilege drop, a reload reads the files as "user".
 */
static void
test_reload_reads_files_as_user(void **state)
{
	struct world		 w;
	struct passwd		*pw;
	char			 fp_old[TLSTEST_FP_LEN], fp_new[TLSTEST_FP_LEN];

	(void)state;
	if (geteuid() != 0)
		skip();		/* only root drops privileges */
	if ((pw = getpwnam("nobody")) == NULL)
		fail_msg("no user nobody to run as");
	tlstest_file_fingerprint(harness_pki("server.crt"), fp_old);
	tlstest_file_fingerprint(harness_pki("server-next.crt"), fp_new);
	/* nobody may pass through the test's directories, nothing more. */
	assert_int_equal(chmod(getenv("NWD_TEST_TMP"), 0711), 0);
	world_start_as(&w, "asuser", "nobody");
	assert_int_equal(chmod(w.dir, 0711), 0);
	if (!harness_wait_log(w.d, "event=privileges_dropped user=nobody",
	    wait_ms))
		fail_msg("nwdd did not drop privileges to nobody");
	assert_serves(&w, "plo-ana", fp_old);

	/* root's own 0600 key: refused for want of permission. */
	tlstest_install("server-next.crt", w.cert);
	tlstest_install("server-next.key", w.key);
	assert_int_equal(chmod(w.key, 0600), 0);
	assert_int_equal(chmod(w.cert, 0644), 0);
	assert_int_equal(chmod(w.ca, 0644), 0);
	assert_int_equal(chmod(w.crl, 0644), 0);
	sighup_expect(&w, "event=tls_reload_refused", "Permission denied",
	    NULL);
	assert_serves(&w, "plo-ana", fp_old);
	tlstest_wait_count("SELECT count(*) FROM nwd.audit_events WHERE "
	    "action = 'tls_reload_refused' AND reason LIKE "
	    "'%server.key: cannot load server key: Permission denied%'", 1,
	    wait_ms);

	/* The same key, the user's own: loaded. */
	assert_int_equal(chown(w.key, pw->pw_uid, pw->pw_gid), 0);
	sighup_expect(&w, "event=tls_reload_done", fp_new, NULL);
	assert_serves(&w, "plo-ana", fp_new);
	world_stop(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_crl_closes_revoked_live_session),
		cmocka_unit_test(
		    test_new_server_certificate_serves_new_handshakes),
		cmocka_unit_test(
		    test_broken_files_are_refused_and_old_context_serves),
		cmocka_unit_test(
		    test_handshake_across_reload_is_judged_by_new_files),
		cmocka_unit_test(test_reload_reads_files_as_user),
	};

	signal(SIGPIPE, SIG_IGN);
	if (harness_daemon_wrapped())
		wait_ms = 60000;
	return cmocka_run_group_tests_name("tls reload", tests, NULL, NULL);
}
