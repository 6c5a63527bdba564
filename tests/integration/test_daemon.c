/*
 * Integration tests of a real nwdd: real TLS with certificates made for the
 * run, a real PostgreSQL, the libnwd client and a raw TLS client for the
 * frames a well-behaved client would never send.  Each test ends by
 * checking that the daemon still serves a well-behaved client.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"
#include "fixtures.h"
#include "harness.h"
#include "nwd.h"

#define WAIT_MS		10000	/* the most any event may take */
#define QUIET_MS	700	/* how long "nothing arrives" is watched */

static struct harness_daemon *daemon_main;

/* ------------------------------------------------------------------------
 * Helpers
 */

/* The daemon's log holds "<what><mid>", in one piece. */
static void
assert_log_names(const struct harness_daemon *d, const char *what,
    const char *mid)
{
	char needle[256];

	snprintf(needle, sizeof(needle), "%s%s", what, mid);
	if (!harness_wait_log(d, needle, WAIT_MS))
		fail_msg("no \"%s\" in %s", needle, harness_daemon_log(d));
}

/* A RiskAlert about subject; the strings are static test data. */
struct alert {
	Nwd__V1__Envelope	env;
	Nwd__V1__Header		hdr;
	Nwd__V1__SubjectRef	subj;
	Nwd__V1__RiskAlert	body;
	Nwd__V1__Address	where;
};

static void
alert_init(struct alert *a, const char *subject, Nwd__V1__Marking marking,
    const char *summary)
{
	nwd__v1__envelope__init(&a->env);
	nwd__v1__header__init(&a->hdr);
	nwd__v1__subject_ref__init(&a->subj);
	nwd__v1__risk_alert__init(&a->body);
	nwd__v1__address__init(&a->where);
	a->subj.local_id = (char *)subject;
	a->hdr.kind = NWD__V1__KIND__RISK_ALERT;
	a->hdr.subject = &a->subj;
	a->hdr.marking = marking;
	a->hdr.priority = NWD__V1__PRIORITY__HIGH;
	a->body.category = NWD__V1__RISK_ALERT__CATEGORY__CRIMINAL_EXPLOITATION;
	a->body.level = NWD__V1__RISK_ALERT__LEVEL__HIGH;
	a->body.summary = (char *)summary;
	a->where.line1 = "12 Secret Street";
	a->where.postcode = "NR1 1AA";
	a->body.location = &a->where;
	a->env.header = &a->hdr;
	a->env.body_case = NWD__V1__ENVELOPE__BODY_RISK_ALERT;
	a->env.risk_alert = &a->body;
}

static void
assert_still_serving(void)
{
	struct nwd_client	*c = harness_connect_as("plo-ana");
	char			 err[256];

	assert_int_equal(nwd_ping(c, err, sizeof(err)), NWD_OK);
	nwd_close(c);
}

static uint64_t
subscribe(struct nwd_client *c, Nwd__V1__Kind kind, const char *subject)
{
	const char	*subjects[1] = { subject };
	uint64_t	 id = 0;
	char		 err[256];

	assert_int_equal(nwd_subscribe(c, &kind, 1, subjects,
	    subject != NULL ? 1 : 0, NULL, &id, err, sizeof(err)), NWD_OK);
	assert_true(id > 0);
	return id;
}

/* Asserts that no delivery arrives within QUIET_MS. */
static void
assert_no_delivery(struct nwd_client *c)
{
	Nwd__V1__Deliver	*d = NULL;
	char			 err[256];

	assert_int_equal(nwd_next_delivery(c, QUIET_MS, &d, err, sizeof(err)),
	    NWD_ERR_TIMEOUT);
	assert_null(d);
}

static int
group_setup(void **state)
{
	if ((daemon_main = harness_daemon_start(NULL)) == NULL)
		return -1;
	/* The hub works with the young people these tests write about. */
	fixture_allocate("YP-001", "hub:norwich", 0);
	fixture_allocate("YP-013", "hub:norwich", 0);
	fixture_allocate("YP-404", "hub:norwich", 0);
	return 0;
}

static int
group_teardown(void **state)
{
	int rc = harness_daemon_stop(daemon_main);

	daemon_main = NULL;
	return rc == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------------
 * The walking skeleton's story
 */

/* The broker tells each client who it is, from the certificate alone. */
static void
test_welcome_names_the_principal(void **state)
{
	struct nwd_client		*c = harness_connect_as("plo-ana");
	const Nwd__V1__Principal	*p = nwd_principal(c);

	assert_non_null(p);
	assert_string_equal(p->id, "plo-ana");
	assert_string_equal(p->role, "police_liaison");
	assert_string_equal(p->agency, "police");
	assert_int_equal(p->n_teams, 2);
	assert_string_equal(p->teams[0], "police:plt");
	assert_string_equal(p->teams[1], "hub:norwich");
	assert_int_equal(p->clearance, NWD__V1__MARKING__OFFICIAL_SENSITIVE);
	assert_memory_equal(nwd_welcome(c)->policy_version, "sha256:", 7);
	nwd_close(c);
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'connect' AND actor = 'plo-ana'");
	/* The group set-up's allocations are on record. */
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.allocations WHERE team = 'hub:norwich'"), 3);
}

/*
 * plo-ana pushes a risk alert on YP-001; hubsys-norwich, subscribed, gets
 * it with the address stripped; the audit rows were committed before it.
 * The log names who did what to which message and holds none of the body.
 */
static void
test_push_reaches_subscriber_after_audit(void **state)
{
	struct nwd_client	*hub = harness_connect_as("hubsys-norwich");
	struct nwd_client	*plo = harness_connect_as("plo-ana");
	struct alert		 a;
	Nwd__V1__PublishAck	*ack = NULL;
	Nwd__V1__Deliver	*d = NULL;
	char			 err[512], mid[40];
	uint64_t		 sub;

	sub = subscribe(hub, NWD__V1__KIND__RISK_ALERT, "YP-001");
	alert_init(&a, "YP-001", NWD__V1__MARKING__OFFICIAL,
	    "seen with older males linked to county lines");
	assert_int_equal(nwd_publish(plo, &a.env, &ack, err, sizeof(err)),
	    NWD_OK);
	assert_non_null(ack);
	assert_true(strlen(ack->message_id) == 36);
	assert_true(ack->recipients >= 1);
	snprintf(mid, sizeof(mid), "%s", ack->message_id);

	assert_int_equal(nwd_next_delivery(hub, WAIT_MS, &d, err, sizeof(err)),
	    NWD_OK);
	/* The rows are in the database by the time the delivery arrived. */
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND ((action = "
	    "'publish' AND actor = 'plo-ana') OR (action = 'deliver' AND "
	    "recipient = 'hubsys-norwich'))", mid), 2);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.messages WHERE id = '%s' AND sender = 'plo-ana' AND subject "
	    "= 'YP-001'", mid), 1);
	/* The broker's id is a version 7 UUID whose first 48 bits are the
	 * message's created time in milliseconds (doc/PROTOCOL.md). */
	assert_int_equal(mid[14], '7');
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.messages WHERE id = '%s' AND (extract(epoch FROM created_at) "
	    "* 1000)::bigint = ('x' || lpad(replace(left(id::text, 13), '-', "
	    "''), 16, '0'))::bit(64)::bigint", mid), 1);

	assert_int_equal(d->subscription_id, sub);
	assert_string_equal(d->envelope->header->message_id, mid);
	assert_string_equal(d->envelope->header->sender, "plo-ana");
	assert_string_equal(d->envelope->header->originating_agency, "police");
	assert_string_equal(d->envelope->header->subject->local_id, "YP-001");
	assert_int_equal(d->envelope->body_case,
	    NWD__V1__ENVELOPE__BODY_RISK_ALERT);
	assert_string_equal(d->envelope->risk_alert->summary,
	    "seen with older males linked to county lines");
	/* hub-alerts strips the location: gone from the bytes, and said. */
	assert_null(d->envelope->risk_alert->location);
	assert_int_equal(d->n_fields_withheld, 1);
	assert_string_equal(d->fields_withheld[0], "location");
	assert_string_equal(d->rule, "hub-alerts");
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND recipient = "
	    "'hubsys-norwich' AND fields_withheld = '{location}' AND rule = "
	    "'hub-alerts' AND policy_version = '%s'", mid, d->policy_version),
	    1);

	/* The acknowledgement is audited too. */
	assert_int_equal(nwd_ack(hub, d->delivery_id, mid, err, sizeof(err)),
	    NWD_OK);
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = 'ack' AND "
	    "actor = 'hubsys-norwich'", mid);

	/* The log (at debug, its most verbose) names the principals, the
	 * actions and the message id, and holds nothing of the body. */
	assert_log_names(daemon_main, "principal=plo-ana event=publish "
	    "message=", mid);
	assert_log_names(daemon_main, "principal=hubsys-norwich "
	    "event=deliver message=", mid);
	assert_log_names(daemon_main, "principal=hubsys-norwich event=ack "
	    "message=", mid);
	assert_false(harness_log_contains(daemon_main, "county lines"));
	assert_false(harness_log_contains(daemon_main, "Secret Street"));
	assert_false(harness_log_contains(daemon_main, "NR1 1AA"));

	nwd_deliver_free(d);
	nwd_publish_ack_free(ack);
	nwd_close(plo);
	nwd_close(hub);
}

/* A subscriber to another subject, or not allowed the kind, gets nothing. */
static void
test_only_matching_allowed_subscribers_receive(void **state)
{
	struct nwd_client	*other = harness_connect_as("hubsys-dereham");
	struct nwd_client	*police = harness_connect_as("sw-ben");
	struct nwd_client	*plo = harness_connect_as("plo-ana");
	struct alert		 a;
	Nwd__V1__PublishAck	*ack = NULL;
	char			 err[512];

	subscribe(other, NWD__V1__KIND__RISK_ALERT, "YP-002");
	/* keyworker-kim may not see OFFICIAL-SENSITIVE (clearance). */
	nwd_close(police);
	police = harness_connect_as("keyworker-kim");
	subscribe(police, NWD__V1__KIND__RISK_ALERT, "YP-001");
	alert_init(&a, "YP-001", NWD__V1__MARKING__OFFICIAL_SENSITIVE,
	    "sensitive");
	assert_int_equal(nwd_publish(plo, &a.env, &ack, err, sizeof(err)),
	    NWD_OK);
	assert_no_delivery(other);
	assert_no_delivery(police);
	nwd_publish_ack_free(ack);
	nwd_close(plo);
	nwd_close(police);
	nwd_close(other);
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'deliver_refused' AND recipient "
	    "= 'keyworker-kim' AND rule = 'clearance'");
}

/* ------------------------------------------------------------------------
 * Certificates
 */

/* Reads until the broker closes; returns the Error frame if it sent one. */
static Nwd__V1__Frame *
read_refusal(struct harness_tls *t)
{
	Nwd__V1__Frame	*f = NULL;
	int		 rc;

	rc = harness_tls_read_frame(t, WAIT_MS, &f);
	if (rc == 0)
		return f;
	/* An alert or a close: the handshake itself was refused. */
	assert_true(rc == 1 || (rc == -1 &&
	    strstr(harness_tls_error(t), "timed out") == NULL));
	return NULL;
}

static void
test_no_client_certificate_is_refused(void **state)
{
	struct harness_tls	*t;
	Nwd__V1__Frame		*f;
	char			 err[512];

	t = harness_tls_connect(harness_daemon_port(daemon_main), NULL, NULL,
	    err, sizeof(err));
	if (t != NULL) {
		f = read_refusal(t);
		assert_null(f);
		harness_tls_close(t);
	}
	assert_true(harness_wait_log(daemon_main, "event=auth_refused "
	    "subject=\"-\"", WAIT_MS));
	assert_still_serving();
}

static void
test_foreign_ca_is_refused_and_audited(void **state)
{
	struct harness_tls	*t;
	char			 err[512];

	t = harness_tls_connect(harness_daemon_port(daemon_main), "foreign",
	    NULL, err, sizeof(err));
	if (t != NULL) {
		assert_null(read_refusal(t));
		harness_tls_close(t);
	}
	/* Its certificate claims to be plo-ana; another CA signed it. */
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'auth_refused' AND actor LIKE "
	    "'cert:CN=plo-ana%%' AND reason = 'certificate verify failed: "
	    "unable to get local issuer certificate'");
	assert_still_serving();
}

static void
test_revoked_and_expired_are_refused(void **state)
{
	static const char *names[] = { "revoked", "expired" };
	static const char *why[] = { "certificate revoked",
	    "certificate has expired" };
	struct harness_tls	*t;
	char			 err[512];
	size_t			 i;

	for (i = 0; i < 2; i++) {
		t = harness_tls_connect(harness_daemon_port(daemon_main),
		    names[i], NULL, err, sizeof(err));
		if (t != NULL) {
			assert_null(read_refusal(t));
			harness_tls_close(t);
		}
		harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) "
		    "FROM nwd.audit_events WHERE action = 'auth_refused' AND "
		    "actor LIKE 'cert:CN=%s,%%' AND reason LIKE '%%%s'",
		    names[i], why[i]);
	}
	assert_still_serving();
}

/*
 * libnwd checks the broker's certificate against the CRLs it is given
 * (nwd_opts.crl): a CRL that revokes the server certificate, a CRL past its
 * next update and one from another CA refuse the broker; the CA's current
 * CRL does not.  A file that holds no CRL is a local error.
 */
static void
test_client_checks_broker_against_crl(void **state)
{
	static const struct {
		const char	*file;
		enum nwd_status	 st;	/* NWD_OK: connects */
		const char	*why;
	} cases[] = {
		{ "ca.crl", NWD_OK, NULL },
		{ "ca-next.crl", NWD_OK, NULL },
		{ "server-revoked.crl", NWD_ERR_TLS,
		    "the broker's certificate does not verify: certificate "
		    "revoked" },
		{ "ca-expired.crl", NWD_ERR_TLS,
		    "the broker's certificate does not verify: CRL has "
		    "expired" },
		{ "foreign-ca.crl", NWD_ERR_TLS,
		    "the broker's certificate does not verify: unable to get "
		    "certificate CRL" },
		{ "ca.crt", NWD_ERR_INVALID, "no PEM X509 CRL in it" },
		{ "no-such.crl", NWD_ERR_INVALID, "No such file" },
	};
	struct nwd_opts		 o;
	struct nwd_client	*c;
	enum nwd_status		 st;
	char			 crl[4096], err[512];
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		o = harness_client("plo-ana");
		snprintf(crl, sizeof(crl), "%s", harness_pki(cases[i].file));
		o.crl = crl;
		err[0] = '\0';
		c = nwd_connect(&o, &st, err, sizeof(err));
		if (cases[i].st == NWD_OK) {
			if (c == NULL)
				fail_msg("%s: %s", cases[i].file, err);
			assert_int_equal(nwd_ping(c, err, sizeof(err)),
			    NWD_OK);
			nwd_close(c);
			continue;
		}
		if (c != NULL)
			fail_msg("%s: connected", cases[i].file);
		if (strstr(err, cases[i].why) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].file, err,
			    cases[i].why);
		if (st != cases[i].st)
			fail_msg("%s: %s, not %s (%s)", cases[i].file,
			    nwd_status_name(st), nwd_status_name(cases[i].st),
			    err);
	}
	assert_still_serving();
}

static void
test_unmapped_certificate_gets_an_error_and_is_audited(void **state)
{
	struct harness_tls	*t;
	Nwd__V1__Frame		*f;
	char			 err[512];

	t = harness_tls_connect(harness_daemon_port(daemon_main), "stranger",
	    NULL, err, sizeof(err));
	assert_non_null(t);
	f = read_refusal(t);
	assert_non_null(f);
	assert_int_equal(f->msg_case, NWD__V1__FRAME__MSG_ERROR);
	assert_int_equal(f->error->code, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN);
	assert_non_null(strstr(f->error->text,
	    "certificate identity 'stranger' maps to no principal"));
	frame_free(f);
	assert_int_equal(harness_tls_read_frame(t, WAIT_MS, &f), 1);
	harness_tls_close(t);
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'auth_refused' AND actor LIKE "
	    "'cert:CN=stranger,%%' AND reason LIKE '%%maps to no principal'");
	assert_still_serving();
}

static void
test_two_common_names_are_ambiguous(void **state)
{
	struct harness_tls	*t;
	Nwd__V1__Frame		*f;
	char			 err[512];

	t = harness_tls_connect(harness_daemon_port(daemon_main), "twocn",
	    NULL, err, sizeof(err));
	assert_non_null(t);
	f = read_refusal(t);
	assert_non_null(f);
	assert_int_equal(f->error->code, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN);
	assert_non_null(strstr(f->error->text, "more than one CN"));
	frame_free(f);
	harness_tls_close(t);
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'auth_refused' AND reason LIKE "
	    "'%%more than one CN%%'");
}

/* ------------------------------------------------------------------------
 * Frames
 */

/* Expects an Error with this code, then the close. */
static void
expect_error_then_close(struct harness_tls *t, Nwd__V1__ErrorCode code,
    const char *text)
{
	Nwd__V1__Frame *f = NULL;

	assert_int_equal(harness_tls_read_frame(t, WAIT_MS, &f), 0);
	assert_int_equal(f->msg_case, NWD__V1__FRAME__MSG_ERROR);
	assert_int_equal(f->error->code, code);
	if (strstr(f->error->text, text) == NULL)
		fail_msg("error text \"%s\" lacks \"%s\"", f->error->text,
		    text);
	frame_free(f);
	assert_int_equal(harness_tls_read_frame(t, WAIT_MS, &f), 1);
}

/* A raw session as name with the daemon, past its Welcome. */
static struct harness_tls *
raw_session(const char *name)
{
	return harness_tls_session(harness_daemon_port(daemon_main), name,
	    WAIT_MS);
}

static void
test_zero_length_frame(void **state)
{
	struct harness_tls	*t = raw_session("plo-ana");
	const uint8_t		 zero[4] = { 0, 0, 0, 0 };

	assert_int_equal(harness_tls_write(t, zero, 4), 0);
	expect_error_then_close(t, NWD__V1__ERROR_CODE__ERROR_FRAME_TOO_LARGE,
	    "frame length 0 is outside 1..1048576");
	harness_tls_close(t);
	assert_still_serving();
}

static long
daemon_rss_kb(void)
{
	char	 path[64], line[256];
	FILE	*fp;
	long	 kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status",
	    (int)harness_daemon_pid(daemon_main));
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(fp);
	return kb;
}

/* A 2 GiB length is refused from its four bytes, without allocating. */
static void
test_oversize_frame_refused_without_allocating(void **state)
{
	const uint8_t	 huge[4] = { 0x7f, 0xff, 0xff, 0xff };
	const uint8_t	 over[4] = { 0x00, 0x10, 0x00, 0x01 }; /* max + 1 */
	long		 before, after;
	struct harness_tls *t;

	before = daemon_rss_kb();
	t = raw_session("plo-ana");
	assert_int_equal(harness_tls_write(t, huge, 4), 0);
	expect_error_then_close(t, NWD__V1__ERROR_CODE__ERROR_FRAME_TOO_LARGE,
	    "frame length 2147483647 is outside");
	harness_tls_close(t);
	t = raw_session("plo-ana");
	assert_int_equal(harness_tls_write(t, over, 4), 0);
	expect_error_then_close(t, NWD__V1__ERROR_CODE__ERROR_FRAME_TOO_LARGE,
	    "frame length 1048577 is outside");
	harness_tls_close(t);
	after = daemon_rss_kb();
	assert_true(before > 0 && after > 0);
	/* Far below the 2 GiB announced: nothing of that size was made. */
	assert_true(after - before < 16 * 1024);
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'protocol_error' AND actor = "
	    "'plo-ana' AND reason LIKE 'frame length 2147483647%%'");
	assert_still_serving();
}

static void
test_bytes_that_are_not_a_frame(void **state)
{
	struct harness_tls	*t = raw_session("plo-ana");
	/* Length 6, then a field with wire type 7, which does not exist. */
	const uint8_t		 junk[10] = { 0, 0, 0, 6, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0x07 };

	assert_int_equal(harness_tls_write(t, junk, sizeof(junk)), 0);
	expect_error_then_close(t, NWD__V1__ERROR_CODE__ERROR_MALFORMED,
	    "malformed frame");
	harness_tls_close(t);
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'protocol_error' AND reason LIKE "
	    "'malformed frame%%'");
	assert_still_serving();
}

/* A frame before Hello is a protocol error. */
static void
test_request_before_hello(void **state)
{
	struct harness_tls	*t;
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT;
	Nwd__V1__Ping		 p = NWD__V1__PING__INIT;
	char			 err[512];

	t = harness_tls_connect(harness_daemon_port(daemon_main), "sw-ben",
	    NULL, err, sizeof(err));
	assert_non_null(t);
	f.request_id = 7;
	f.msg_case = NWD__V1__FRAME__MSG_PING;
	f.ping = &p;
	assert_int_equal(harness_tls_send_frame(t, &f), 0);
	expect_error_then_close(t, NWD__V1__ERROR_CODE__ERROR_PROTOCOL,
	    "expected hello, got ping");
	harness_tls_close(t);
}

/* ------------------------------------------------------------------------
 * Envelopes
 */

static void
expect_refused(struct nwd_client *c, Nwd__V1__Envelope *env,
    enum nwd_status want, const char *text)
{
	Nwd__V1__PublishAck	*ack = NULL;
	char			 err[512];

	assert_int_equal(nwd_publish(c, env, &ack, err, sizeof(err)), want);
	assert_null(ack);
	if (strstr(err, text) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, text);
}

static void
test_body_not_matching_kind_is_refused_and_audited(void **state)
{
	struct nwd_client	*c = harness_connect_as("plo-ana");
	struct alert		 a;
	char			 err[256];

	alert_init(&a, "YP-001", NWD__V1__MARKING__OFFICIAL, "x");
	a.hdr.kind = NWD__V1__KIND__MISSING_EPISODE;
	expect_refused(c, &a.env, NWD_ERR_INVALID,
	    "body risk_alert does not match kind missing_episode");
	/* The session survives a refused publish. */
	assert_int_equal(nwd_ping(c, err, sizeof(err)), NWD_OK);
	nwd_close(c);
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'publish_refused' AND actor = "
	    "'plo-ana' AND subject = 'YP-001' AND reason = 'body risk_alert "
	    "does not match kind missing_episode'");
}

static void
test_publish_without_subject_is_refused_and_audited(void **state)
{
	struct nwd_client	*c = harness_connect_as("plo-ana");
	struct alert		 a;

	alert_init(&a, "", NWD__V1__MARKING__OFFICIAL, "x");
	expect_refused(c, &a.env, NWD_ERR_INVALID,
	    "header.subject.local_id is missing");
	nwd_close(c);
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'publish_refused' AND subject IS "
	    "NULL AND reason LIKE 'header.subject.local_id is missing%%'");
}

static void
test_marking_above_official_sensitive_is_refused(void **state)
{
	struct nwd_client	*c = harness_connect_as("plo-ana");
	struct alert		 a;

	alert_init(&a, "YP-001", NWD__V1__MARKING__SECRET, "x");
	expect_refused(c, &a.env, NWD_ERR_INVALID,
	    "marking SECRET is above OFFICIAL-SENSITIVE");
	nwd_close(c);
}

/* S7: only police roles publish intelligence. */
static void
test_policy_refuses_publish(void **state)
{
	struct nwd_client		*c = harness_connect_as("sw-ben");
	Nwd__V1__Envelope		 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header			 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef		 s = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__IntelligenceReport	 r = NWD__V1__INTELLIGENCE_REPORT__INIT;
	Nwd__V1__Grading		 g = NWD__V1__GRADING__INIT;

	s.local_id = "YP-001";
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
	expect_refused(c, &env, NWD_ERR_REFUSED, "no publish rule lets role "
	    "social_worker publish intelligence_report");
	nwd_close(c);
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'publish_refused' AND actor = "
	    "'sw-ben' AND kind = 1");
}

/* S13: what a client writes in the sender fields changes nothing. */
static void
test_forged_sender_is_ignored(void **state)
{
	struct nwd_client	*hub = harness_connect_as("hubsys-norwich");
	struct nwd_client	*ben = harness_connect_as("sw-ben");
	struct alert		 a;
	Nwd__V1__PublishAck	*ack = NULL;
	Nwd__V1__Deliver	*d = NULL;
	char			 err[512], out[64];

	subscribe(hub, NWD__V1__KIND__RISK_ALERT, "YP-013");
	alert_init(&a, "YP-013", NWD__V1__MARKING__OFFICIAL, "forged");
	a.hdr.sender = "plo-ana";
	a.hdr.originating_agency = "police";
	a.hdr.message_id = "00000000-0000-4000-8000-000000000000";
	assert_int_equal(nwd_publish(ben, &a.env, &ack, err, sizeof(err)),
	    NWD_OK);
	assert_string_not_equal(ack->message_id,
	    "00000000-0000-4000-8000-000000000000");
	assert_int_equal(nwd_next_delivery(hub, WAIT_MS, &d, err, sizeof(err)),
	    NWD_OK);
	assert_string_equal(d->envelope->header->sender, "sw-ben");
	assert_string_equal(d->envelope->header->originating_agency,
	    "social_care");
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND actor <> 'sw-ben'",
	    ack->message_id), 0);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = 'publish' "
	    "AND reason LIKE 'ignored client-supplied sender ''plo-ana''%%'",
	    ack->message_id), 1);
	harness_sql_text("postgres", out, sizeof(out), "SELECT sender FROM "
	    "nwd.messages WHERE id = '%s'", ack->message_id);
	assert_string_equal(out, "sw-ben");
	nwd_deliver_free(d);
	nwd_publish_ack_free(ack);
	nwd_close(ben);
	nwd_close(hub);
}

/* ------------------------------------------------------------------------
 * PostgreSQL going away
 */

static void
test_database_down_fails_closed_and_recovers(void **state)
{
	struct nwd_client	*hub = harness_connect_as("hubsys-norwich");
	struct nwd_client	*plo = harness_connect_as("plo-ana");
	struct alert		 a;
	Nwd__V1__PublishAck	*ack = NULL;
	Nwd__V1__Deliver	*d = NULL;
	char			 err[512];
	size_t			 mark;
	enum nwd_status		 st;

	subscribe(hub, NWD__V1__KIND__RISK_ALERT, "YP-404");
	alert_init(&a, "YP-404", NWD__V1__MARKING__OFFICIAL, "while down");

	mark = harness_log_mark(daemon_main);
	assert_int_equal(harness_pg_stop(), 0);
	assert_true(harness_wait_log_after(daemon_main, mark,
	    "store: database unavailable", WAIT_MS));
	st = nwd_publish(plo, &a.env, &ack, err, sizeof(err));
	assert_int_equal(st, NWD_ERR_UNAVAILABLE);
	assert_null(ack);
	assert_non_null(strstr(err, "ERROR_UNAVAILABLE"));
	assert_non_null(strstr(err, "nothing can be shared"));
	assert_no_delivery(hub);
	/* Other requests are still served while the database is away. */
	assert_int_equal(nwd_ping(plo, err, sizeof(err)), NWD_OK);

	mark = harness_log_mark(daemon_main);
	assert_int_equal(harness_pg_start(), 0);
	assert_true(harness_wait_log_after(daemon_main, mark,
	    "store: state=ready", 30000));
	a.body.summary = "after recovery";
	assert_int_equal(nwd_publish(plo, &a.env, &ack, err, sizeof(err)),
	    NWD_OK);
	assert_int_equal(nwd_next_delivery(hub, WAIT_MS, &d, err, sizeof(err)),
	    NWD_OK);
	assert_string_equal(d->envelope->risk_alert->summary,
	    "after recovery");
	/* Only the message sent after recovery was ever stored. */
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.messages WHERE subject = 'YP-404' AND kind = 3"), 1);
	nwd_deliver_free(d);
	nwd_publish_ack_free(ack);
	nwd_close(plo);
	nwd_close(hub);
}

/*
 * Issue 16, finding 9: a session that connects, subscribes, is refused a
 * publish and leaves while PostgreSQL is away has every one of its rows
 * on record once the database returns, in the order they happened (they
 * used to be dropped: "audit rows dropped").
 */
/* The rows of the session that was refused a publish on subject. */
#define SAME_SESSION(subject)						\
	"(instance, session) = (SELECT instance, session FROM "		\
	"nwd.audit_events WHERE action = 'publish_refused' AND "	\
	"subject = '" subject "' LIMIT 1)"

static void
test_outage_loses_no_row(void **state)
{
	struct nwd_client	*plo;
	struct alert		 a;
	Nwd__V1__PublishAck	*ack = NULL;
	char			 err[512], order[256];
	size_t			 mark;

	mark = harness_log_mark(daemon_main);
	assert_int_equal(harness_pg_stop(), 0);
	assert_true(harness_wait_log_after(daemon_main, mark,
	    "store: database unavailable", WAIT_MS));
	plo = harness_connect_as("plo-ana");
	subscribe(plo, NWD__V1__KIND__RISK_ALERT, "YP-406");
	alert_init(&a, "YP-406", NWD__V1__MARKING__OFFICIAL, "held rows");
	assert_int_equal(nwd_publish(plo, &a.env, &ack, err, sizeof(err)),
	    NWD_ERR_UNAVAILABLE);
	assert_null(ack);
	nwd_close(plo);
	/* Its disconnect, too, is made before the database is back. */
	assert_true(harness_wait_log_after(daemon_main, mark,
	    "principal=plo-ana peer=", WAIT_MS));
	assert_true(harness_wait_log_after(daemon_main, mark,
	    "event=close reason=", WAIT_MS));
	assert_true(harness_wait_log_after(daemon_main, mark,
	    "store: database unavailable; holding audit rows", WAIT_MS));

	mark = harness_log_mark(daemon_main);
	assert_int_equal(harness_pg_start(), 0);
	assert_true(harness_wait_log_after(daemon_main, mark,
	    "store: writing the audit rows held", 30000));
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'publish_refused' AND actor = "
	    "'plo-ana' AND subject = 'YP-406'");
	harness_wait_sql_int("postgres", WAIT_MS, 4, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE %s", SAME_SESSION("YP-406"));
	harness_sql_text("postgres", order, sizeof(order), "SELECT "
	    "string_agg(action, ',' ORDER BY seq) FROM nwd.audit_events "
	    "WHERE %s", SAME_SESSION("YP-406"));
	assert_string_equal(order,
	    "connect,subscribe,publish_refused,disconnect");
	/* The refusal says why. */
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE %s AND action = 'publish_refused' AND "
	    "reason LIKE '%%unavailable%%'", SAME_SESSION("YP-406")), 1);
}

/* The running daemon writes no core file: keys and plaintext stay in it. */
static void
test_no_core_files(void **state)
{
	char	 path[64], line[256];
	FILE	*fp;
	int	 found = 0;

	snprintf(path, sizeof(path), "/proc/%d/limits",
	    (int)harness_daemon_pid(daemon_main));
	assert_non_null(fp = fopen(path, "r"));
	while (fgets(line, sizeof(line), fp) != NULL) {
		unsigned long	soft, hard;

		if (strncmp(line, "Max core file size", 18) != 0)
			continue;
		assert_int_equal(sscanf(line + 18, " %lu %lu", &soft, &hard),
		    2);
		assert_int_equal(soft, 0);
		assert_int_equal(hard, 0);
		found = 1;
	}
	fclose(fp);
	assert_true(found);
}

/* ------------------------------------------------------------------------
 * Limits, on a daemon of their own
 */

static void
test_handshake_timeout_and_max_connections(void **state)
{
	struct harness_daemon	*d;
	struct harness_tls	*t[2], *extra;
	Nwd__V1__Frame		*f = NULL;
	char			 err[512];
	int			 i;

	d = harness_daemon_start("max_connections = 2\n"
	    "handshake_timeout = 1\n");
	assert_non_null(d);
	/* Two sessions that connect and never say Hello. */
	for (i = 0; i < 2; i++) {
		t[i] = harness_tls_connect(harness_daemon_port(d), "plo-ana",
		    NULL, err, sizeof(err));
		assert_non_null(t[i]);
	}
	/* A third is over max_connections: closed without a word. */
	extra = harness_tls_connect(harness_daemon_port(d), "sw-ben", NULL,
	    err, sizeof(err));
	if (extra != NULL) {
		assert_int_not_equal(harness_tls_read_frame(extra, WAIT_MS, &f),
		    0);
		harness_tls_close(extra);
	}
	assert_true(harness_wait_log(d, "event=connection_refused", WAIT_MS));
	/* The silent two are told they took too long, and closed. */
	for (i = 0; i < 2; i++) {
		expect_error_then_close(t[i],
		    NWD__V1__ERROR_CODE__ERROR_TIMEOUT, "no hello within 1 s");
		harness_tls_close(t[i]);
	}
	assert_int_equal(harness_daemon_stop(d), 0);
}

/* ------------------------------------------------------------------------
 * Policy files: refused at start, kept on a broken reload, swapped and
 * audited on a good one.
 */

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static char *
read_all(const char *path)
{
	FILE	*fp = fopen(path, "r");
	char	*buf;
	long	 n;

	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = calloc(1, n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, n, fp), (size_t)n);
	fclose(fp);
	return buf;
}

static void
test_broken_policy_stops_start(void **state)
{
	char path[512], extra[600];

	snprintf(path, sizeof(path), "%s/broken-start.nwd",
	    getenv("NWD_TEST_TMP"));
	write_file(path, "policy \"x\"\nallow deliver r: roles a kinds "
	    "risk_alrt\n");
	snprintf(extra, sizeof(extra), "policy = %s\n", path);
	assert_null(harness_daemon_start(extra));
	{
		char *log = read_all(harness_last_log());

		if (strstr(log, "broken-start.nwd:2:32: unknown kind "
		    "\"risk_alrt\"") == NULL)
			fail_msg("log lacks the file:line:col error: %s", log);
		free(log);
	}
}

static void
test_reload_keeps_old_policy_or_swaps_in_new(void **state)
{
	struct harness_daemon	*d;
	struct nwd_opts		 o;
	struct nwd_client	*c;
	enum nwd_status		 st;
	char			 path[512], extra[600], err[512], v1[64];
	char			*good, *changed;
	size_t			 mark;

	snprintf(path, sizeof(path), "%s/reload.nwd", getenv("NWD_TEST_TMP"));
	snprintf(extra, sizeof(extra), "%s/deploy/policy.nwd",
	    getenv("NWD_SRCDIR"));
	good = read_all(extra);
	write_file(path, good);
	snprintf(extra, sizeof(extra), "policy = %s\n", path);
	d = harness_daemon_start(extra);
	assert_non_null(d);
	o = harness_client("plo-ana");
	c = nwd_connect(&o, &st, err, sizeof(err));
	assert_non_null(c);
	snprintf(v1, sizeof(v1), "%s", nwd_welcome(c)->policy_version);
	nwd_close(c);

	/* A broken file is refused, with its position; the old one stays. */
	write_file(path, "allow deliver oops roles x\n");
	mark = harness_log_mark(d);
	assert_int_equal(harness_daemon_signal(d, SIGHUP), 0);
	assert_true(harness_wait_log_after(d, mark, "event=reload_refused "
	    "reason=\"", WAIT_MS));
	assert_true(harness_log_contains(d, "reload.nwd:1:20: expected ':' "
	    "after the rule name"));
	c = nwd_connect(&o, &st, err, sizeof(err));
	assert_non_null(c);
	assert_string_equal(nwd_welcome(c)->policy_version, v1);
	assert_int_equal(nwd_ping(c, err, sizeof(err)), NWD_OK);
	nwd_close(c);

	/* A good new file is swapped in and the load is audited. */
	changed = calloc(1, strlen(good) + 64);
	assert_non_null(changed);
	sprintf(changed, "%s\n# reviewed again\n", good);
	write_file(path, changed);
	mark = harness_log_mark(d);
	assert_int_equal(harness_daemon_signal(d, SIGHUP), 0);
	assert_true(harness_wait_log_after(d, mark, "event=reload_done",
	    WAIT_MS));
	c = nwd_connect(&o, &st, err, sizeof(err));
	assert_non_null(c);
	assert_string_not_equal(nwd_welcome(c)->policy_version, v1);
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'policy_loaded' AND "
	    "policy_version = '%s' AND reason LIKE 'reload:%%'",
	    nwd_welcome(c)->policy_version);
	nwd_close(c);
	free(changed);
	free(good);
	assert_int_equal(harness_daemon_stop(d), 0);
}

/*
 * What is held for an absent database is bounded: once three quarters of
 * store_hold_max_bytes are used, a new session is refused "unavailable"
 * (not served without its rows), and everything held up to then is
 * written when the database returns.
 */
static void
test_outage_hold_bound_refuses_new_sessions(void **state)
{
	struct harness_daemon	*d;
	struct nwd_client	*plo, *other;
	struct nwd_opts		 o;
	struct alert		 a;
	Nwd__V1__PublishAck	*ack = NULL;
	enum nwd_status		 st = NWD_OK;
	char			 err[512];
	size_t			 mark;
	int			 n, refused = 0;

	d = harness_daemon_start("store_hold_max_bytes = 65536\n");
	assert_non_null(d);
	plo = harness_connect_as("plo-ana");
	mark = harness_log_mark(d);
	assert_int_equal(harness_pg_stop(), 0);
	assert_true(harness_wait_log_after(d, mark,
	    "store: database unavailable", WAIT_MS));
	alert_init(&a, "YP-407", NWD__V1__MARKING__OFFICIAL, "bound");
	o = harness_client("sw-ben");
	for (n = 1; n <= 2000 && !refused; n++) {
		assert_int_equal(nwd_publish(plo, &a.env, &ack, err,
		    sizeof(err)), NWD_ERR_UNAVAILABLE);
		if (n % 10 != 0)
			continue;
		other = nwd_connect(&o, &st, err, sizeof(err));
		if (other != NULL) {
			nwd_close(other);
			continue;
		}
		assert_int_equal(st, NWD_ERR_UNAVAILABLE);
		assert_non_null(strstr(err, "store_hold_max_bytes"));
		refused = n;
	}
	/* Refused once the hold filled, not at once and not never. */
	assert_true(refused >= 20);
	assert_true(refused < 2000);

	mark = harness_log_mark(d);
	assert_int_equal(harness_pg_start(), 0);
	assert_true(harness_wait_log_after(d, mark,
	    "store: writing the audit rows held", 30000));
	/* Every refused publish is on record: nothing was lost. */
	harness_wait_sql_int("postgres", WAIT_MS, refused, "SELECT count(*) "
	    "FROM nwd.audit_events WHERE action = 'publish_refused' AND "
	    "subject = 'YP-407'");
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE %s AND action = 'connect'",
	    SAME_SESSION("YP-407")), 1);
	/* And so is the session refused for the bound, with its reason. */
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'auth_refused' AND actor = "
	    "'sw-ben' AND reason LIKE '%%store_hold_max_bytes%%'");
	/* With the database back, sessions are served again. */
	assert_non_null(other = nwd_connect(&o, &st, err, sizeof(err)));
	nwd_close(other);
	nwd_close(plo);
	assert_int_equal(harness_daemon_stop(d), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_welcome_names_the_principal),
		cmocka_unit_test(test_push_reaches_subscriber_after_audit),
		cmocka_unit_test(test_only_matching_allowed_subscribers_receive),
		cmocka_unit_test(test_no_client_certificate_is_refused),
		cmocka_unit_test(test_foreign_ca_is_refused_and_audited),
		cmocka_unit_test(test_revoked_and_expired_are_refused),
		cmocka_unit_test(test_client_checks_broker_against_crl),
		cmocka_unit_test(
		    test_unmapped_certificate_gets_an_error_and_is_audited),
		cmocka_unit_test(test_two_common_names_are_ambiguous),
		cmocka_unit_test(test_zero_length_frame),
		cmocka_unit_test(test_oversize_frame_refused_without_allocating),
		cmocka_unit_test(test_bytes_that_are_not_a_frame),
		cmocka_unit_test(test_request_before_hello),
		cmocka_unit_test(
		    test_body_not_matching_kind_is_refused_and_audited),
		cmocka_unit_test(
		    test_publish_without_subject_is_refused_and_audited),
		cmocka_unit_test(test_marking_above_official_sensitive_is_refused),
		cmocka_unit_test(test_policy_refuses_publish),
		cmocka_unit_test(test_forged_sender_is_ignored),
		cmocka_unit_test(test_database_down_fails_closed_and_recovers),
		cmocka_unit_test(test_outage_loses_no_row),
		cmocka_unit_test(test_no_core_files),
		cmocka_unit_test(test_handshake_timeout_and_max_connections),
		cmocka_unit_test(test_broken_policy_stops_start),
		cmocka_unit_test(test_reload_keeps_old_policy_or_swaps_in_new),
		cmocka_unit_test(test_outage_hold_bound_refuses_new_sessions),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("nwdd", tests, group_setup,
	    group_teardown);
}
