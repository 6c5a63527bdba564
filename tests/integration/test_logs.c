/*
 * The operator log of a real nwdd, read whole after the daemon stopped:
 *
 * - every line carries event= (README "Logs"), through a run at
 *   log_level = debug that starts, publishes (acknowledged, refused by
 *   the policy, refused for want of consent), delivers, refuses an
 *   unmapped certificate, reloads, loses PostgreSQL and gets it back, and
 *   stops;
 * - with log_subjects = no, the subject id used in a run (allocated,
 *   subscribed to, published about, named in a refusal's reason, and in
 *   the description of an audit query logged when its answer comes back
 *   from the database) is never written to the log, while the client is
 *   still told it; the lines say subject=- instead.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixtures.h"
#include "harness.h"
#include "nwd.h"

#define WAIT_MS		15000	/* the most any event may take */

/* The daemon's whole log, owned by the caller. */
static char *
read_log(const char *path)
{
	FILE	*fp;
	char	*text;
	long	 len;

	if ((fp = fopen(path, "r")) == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	assert_non_null(text = calloc(1, (size_t)len + 1));
	assert_int_equal(fread(text, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	return text;
}

/* A risk alert about subject with the legal basis consent: refused when
 * no consent covers it, and the reason names the subject. */
static enum nwd_status
publish_on_consent(struct nwd_client *c, const char *subject, char *err,
    size_t errlen)
{
	struct fixture_alert	 a;
	Nwd__V1__PublishAck	*ack = NULL;
	enum nwd_status		 st;

	fixture_alert_init(&a, subject,
	    NWD__V1__RISK_ALERT__CATEGORY__GOING_MISSING, "logs test");
	a.h.legal_basis = NWD__V1__LEGAL_BASIS__CONSENT;
	st = nwd_publish(c, &a.env, &ack, err, errlen);
	nwd_publish_ack_free(ack);
	return st;
}

/*
 * The run both tests share: an allocation, a subscription, an alert
 * delivered, a publish refused for want of consent.  Returns the refusal's
 * text in why.
 */
static void
workload(const char *subject, char *why, size_t whylen)
{
	struct nwd_client	*sub, *pub;
	Nwd__V1__Deliver	*dl;
	char			 mid[40], err[512];

	fixture_allocate(subject, "hub:norwich", 0);
	sub = fixture_subscribe_as("hubsys-norwich",
	    NWD__V1__KIND__RISK_ALERT, subject, NULL);
	pub = harness_connect_as("plo-ana");
	if (fixture_publish_kind(pub, NWD__V1__KIND__RISK_ALERT, subject,
	    "logs test", mid, err, sizeof(err)) != NWD_OK)
		fail_msg("publish about %s: %s", subject, err);
	dl = fixture_receive(sub, mid, WAIT_MS);
	nwd__v1__deliver__free_unpacked(dl, NULL);
	assert_int_equal(publish_on_consent(pub, subject, why, whylen),
	    NWD_ERR_REFUSED);
	nwd_close(pub);
	nwd_close(sub);
}

static void
test_every_line_has_an_event(void **state)
{
	struct harness_daemon	*d;
	struct nwd_opts		 o;
	char			 why[512], err[512], *text, *line, *save;
	char			*log;
	size_t			 n = 0, mark;

	assert_non_null(d = harness_daemon_start("log_level = debug\n"));
	/* The path outlives the daemon's handle. */
	assert_non_null(log = strdup(harness_daemon_log(d)));
	workload("YP-LOGS-1", why, sizeof(why));

	/* A certificate that maps to no principal. */
	o = harness_client("stranger");
	assert_null(nwd_connect(&o, NULL, err, sizeof(err)));
	assert_true(harness_wait_log(d, "maps to no principal", WAIT_MS));

	/* A reload. */
	mark = harness_log_mark(d);
	assert_int_equal(harness_daemon_signal(d, SIGHUP), 0);
	assert_true(harness_wait_log_after(d, mark, "event=reload_done",
	    WAIT_MS));

	/* The database lost and found again. */
	mark = harness_log_mark(d);
	assert_int_equal(harness_pg_stop(), 0);
	assert_true(harness_wait_log_after(d, mark,
	    "store: database unavailable", WAIT_MS));
	assert_int_equal(harness_pg_start(), 0);
	assert_true(harness_wait_log_after(d, mark, "store: state=ready",
	    30000));

	assert_int_equal(harness_daemon_stop(d), 0);
	text = read_log(log);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save), n++)
		if (strstr(line, " event=") == NULL &&
		    strncmp(line, "event=", 6) != 0)
			fail_msg("a line of %s without event=: %s", log, line);
	/* The run logged enough to mean something. */
	assert_true(n > 20);
	free(text);
	free(log);
}

static void
test_subjects_stay_out_of_the_log(void **state)
{
	static const char	*subject = "YP-LOGS-731";
	struct harness_daemon	*d;
	struct nwd_client	*c;
	Nwd__V1__AuditQuery	 q = NWD__V1__AUDIT_QUERY__INIT;
	Nwd__V1__AuditPage	*page = NULL;
	char			 why[512], err[512], *text, *log;

	assert_non_null(d = harness_daemon_start("log_level = debug\n"
	    "log_subjects = no\n"));
	/* The path outlives the daemon's handle. */
	assert_non_null(log = strdup(harness_daemon_log(d)));
	workload(subject, why, sizeof(why));
	/* An answer that comes back from the database, logged then (the
	 * query's description names the subject). */
	c = harness_connect_as("auditor-dan");
	q.subject = (char *)subject;
	if (nwd_audit_query(c, &q, &page, err, sizeof(err)) != NWD_OK)
		fail_msg("audit query about %s: %s", subject, err);
	assert_true(page->n_events > 0);
	nwd_audit_page_free(page);
	nwd_close(c);
	assert_true(harness_wait_log(d, "event=audit_query ", WAIT_MS));
	/* The client is told which young person; the log is not. */
	if (strstr(why, subject) == NULL)
		fail_msg("the refusal does not name %s: %s", subject, why);
	assert_int_equal(harness_daemon_stop(d), 0);
	text = read_log(log);
	if (strstr(text, subject) != NULL)
		fail_msg("%s is in %s with log_subjects = no:\n%s", subject,
		    log, text);
	assert_non_null(strstr(text, "event=publish message="));
	assert_non_null(strstr(text, " subject=- "));
	free(text);
	free(log);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_line_has_an_event),
		cmocka_unit_test(test_subjects_stay_out_of_the_log),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
