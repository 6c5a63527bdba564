/*
 * A subscriber that waits for ever, against a real nwdd and PostgreSQL:
 * "nwd sub" (run as a child, its stdout and stderr read line by line) and
 * libnwd.
 *
 * - Keepalive: with idle_timeout = 2, a subscriber that pings stays for
 *   more than three idle timeouts and still receives; one that does not
 *   is closed, and says so truly (the broker's idle timeout, not "no
 *   delivery"); libnwd alike.
 * - Reconnect: a durable subscriber outlives a restart of nwdd on the same
 *   port and receives what was published while it was away, each message
 *   once, in order; a --no-reconnect subscriber prints the Goodbye's
 *   reason and exits 4.
 * - --idle-exit: exit 6, "no delivery in N seconds".
 * - nwd durable list and delete: pending counts, withdrawal (audit rows
 *   and queue states), the cap on durable subscriptions, and filters
 *   replaced only when asked.
 * - libnwd: nwd_ack() returns once the ack is recorded, nwd_ack_nowait()'s
 *   errors come with the next call, nwd_unsubscribe() gets Unsubscribed.
 *
 * Every wait is for an event (a line of output, a log line, a row, an
 * exit) against a deadline; the only plain windows are those in which a
 * session must stay open.
 */
#include <sys/types.h>

#include <inttypes.h>
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

#include "fixtures.h"
#include "harness.h"
#include "nwd.h"

#define run_nwd		harness_run_nwd

#define WAIT_MS		10000	/* the most any event may take */
#define IDLE_S		2	/* the daemon's idle_timeout here */
#define OUT		1	/* a child's stdout */
#define ERR		2	/* and its stderr */

/* ------------------------------------------------------------------------
 * Helpers
 */

/* plo-ana raises a RiskAlert about subject; its message id into mid. */
static void
alert(const char *subject, char mid[40])
{
	struct fixture_alert a;

	fixture_alert_init(&a, subject,
	    NWD__V1__RISK_ALERT__CATEGORY__GOING_MISSING,
	    "not back at the hub by ten");
	a.r.level = NWD__V1__RISK_ALERT__LEVEL__MEDIUM;
	fixture_publish_as("plo-ana", &a.env, mid, 40);
}

static void
assert_contains(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", haystack, needle);
}

static size_t
count(const char *haystack, const char *needle)
{
	size_t		 n = 0;
	const char	*p = haystack;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

/* Waits for a line holding needle on the child's stream, or fails. */
static void
want_line(struct harness_child *c, int which, const char *needle,
    char *line, size_t linelen)
{
	if (!harness_child_wait_line(c, which, needle, WAIT_MS, line,
	    linelen))
		fail_msg("no line with \"%s\" on the %s of nwd (pid %d) in %d "
		    "ms; it wrote:\n--- stdout\n%s--- stderr\n%s", needle,
		    which == OUT ? "stdout" : "stderr",
		    (int)harness_child_pid(c), WAIT_MS,
		    harness_child_output(c, OUT), harness_child_output(c, ERR));
}

static struct harness_child *
spawn_sub(const char *who, const char *args)
{
	struct harness_child *c;

	c = harness_nwd_spawn(who, "sub %s", args);
	assert_non_null(c);
	want_line(c, ERR, "nwd: subscribed id=", NULL, 0);
	return c;
}

/* The daemon's log, whole; the caller frees it. */
static char *
read_log(const struct harness_daemon *d)
{
	FILE	*f;
	char	*buf;
	long	 n;

	assert_non_null(f = fopen(harness_daemon_log(d), "r"));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	assert_non_null(buf = calloc(1, (size_t)n + 1));
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* ------------------------------------------------------------------------
 * (a) Keepalive
 */

static void
test_keepalive_outlives_idle_timeout(void **state)
{
	struct harness_daemon	*d;
	struct harness_child	*ka, *quiet;
	struct nwd_opts		 o;
	struct nwd_client	*c;
	Nwd__V1__Deliver	*dv = NULL;
	Nwd__V1__Kind		 k = NWD__V1__KIND__RISK_ALERT;
	const char		*subjects[1] = { "YP-S1" };
	enum nwd_status		 st;
	char			 mid[40], err[512], *log, *line, *nl;
	int64_t			 t0, t1, left;
	size_t			 closes;

	(void)state;
	d = harness_daemon_start("idle_timeout = 2");
	assert_non_null(d);
	fixture_allocate("YP-S1", "hub:norwich", 0);
	ka = spawn_sub("hubsys-norwich", "--kind risk_alert --subject YP-S1 "
	    "--keepalive 0.5");
	t0 = harness_mono_ms();
	quiet = spawn_sub("keyworker-kim", "--kind risk_alert --subject YP-S1 "
	    "--keepalive 0");

	/* Without the keepalive, the broker closes it, and it says so. */
	assert_int_equal(harness_child_wait(quiet, WAIT_MS), 4);
	assert_contains(harness_child_output(quiet, ERR), "nwd: sub: the "
	    "broker ended the session: ERROR_TIMEOUT: idle for 2 s "
	    "(idle_timeout)\n");
	assert_true(strstr(harness_child_output(quiet, ERR), "no delivery") ==
	    NULL);

	/* libnwd alike: a wait longer than idle_timeout, with pings ... */
	o = harness_client("camhs-cara");
	o.keepalive_ms = 300;
	assert_non_null(c = nwd_connect(&o, &st, err, sizeof(err)));
	assert_int_equal(nwd_next_delivery(c, (IDLE_S * 2 + 1) * 1000, &dv,
	    err, sizeof(err)), NWD_ERR_TIMEOUT);
	assert_int_equal(nwd_ping(c, err, sizeof(err)), NWD_OK);
	nwd_close(c);
	/* ... and without: the broker ends it, and that is the status. */
	o.keepalive_ms = -1;
	assert_non_null(c = nwd_connect(&o, &st, err, sizeof(err)));
	assert_int_equal(nwd_subscribe(c, &k, 1, subjects, 1, NULL, NULL, err,
	    sizeof(err)), NWD_OK);
	t1 = harness_mono_ms();
	assert_int_equal(nwd_next_delivery(c, -1, &dv, err, sizeof(err)),
	    NWD_ERR_CLOSED);
	assert_true(harness_mono_ms() - t1 < WAIT_MS);
	assert_string_equal(err, "the broker ended the session: "
	    "ERROR_TIMEOUT: idle for 2 s (idle_timeout)");
	assert_int_equal(nwd_last_server_error(c),
	    NWD__V1__ERROR_CODE__ERROR_TIMEOUT);
	assert_int_equal(nwd_ping(c, err, sizeof(err)), NWD_ERR_CLOSED);
	nwd_close(c);

	/* With the keepalive: still there after three idle timeouts ... */
	left = 3 * IDLE_S * 1000 + 500 - (harness_mono_ms() - t0);
	assert_int_equal(harness_child_wait(ka, left > 0 ? (int)left : 0), -1);
	/* ... and it still receives. */
	alert("YP-S1", mid);
	want_line(ka, OUT, mid, NULL, 0);
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'ack' AND message_id = '%s' AND "
	    "recipient = 'hubsys-norwich'", mid);
	harness_child_free(ka);

	/* The broker closed two sessions as idle: kim's and camhs-cara's. */
	harness_wait_sql_int("postgres", WAIT_MS, 2, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'disconnect' AND reason = "
	    "'idle for 2 s (idle_timeout)'");
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'disconnect' AND actor = "
	    "'hubsys-norwich' AND reason LIKE '%%idle_timeout%%'"), 0);
	log = read_log(d);
	closes = 0;
	for (line = log; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		*nl = '\0';
		if (strstr(line, "event=close reason=\"idle for") == NULL)
			continue;
		closes++;
		assert_true(strstr(line, "hubsys-norwich") == NULL);
	}
	assert_int_equal(closes, 2);
	free(log);
	harness_child_free(quiet);
	assert_int_equal(harness_daemon_stop(d), 0);
}

/* ------------------------------------------------------------------------
 * (b) Reconnect after a restart; (d) the Goodbye, without reconnecting
 */

static void
test_durable_reconnects_after_restart(void **state)
{
	struct harness_daemon	*d;
	struct harness_child	*sub, *once;
	char			 mid[4][40], line[1024], extra[64];
	const char		*out;
	size_t			 mark;
	int			 port, i;

	(void)state;
	assert_non_null(d = harness_daemon_start(NULL));
	port = harness_daemon_port(d);
	fixture_allocate("YP-S2", "hub:norwich", 0);
	mark = harness_log_mark(d);
	sub = spawn_sub("hubsys-norwich", "--durable sub-rc --kind risk_alert "
	    "--subject YP-S2");
	/* Its (empty) replay done, what comes is sent live. */
	assert_true(harness_wait_log_after(d, mark, "event=replay "
	    "durable=sub-rc ", WAIT_MS));
	once = spawn_sub("keyworker-kim", "--no-reconnect --kind risk_alert "
	    "--subject YP-S2");
	alert("YP-S2", mid[0]);
	want_line(sub, OUT, mid[0], NULL, 0);
	want_line(once, OUT, mid[0], NULL, 0);
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'ack' AND message_id = '%s' AND "
	    "recipient = 'hubsys-norwich'", mid[0]);

	/* SIGTERM: every session is told Goodbye, with the reason. */
	assert_int_equal(harness_daemon_stop(d), 0);
	assert_int_equal(harness_child_wait(once, WAIT_MS), 4);
	assert_contains(harness_child_output(once, ERR), "nwd: sub: the broker "
	    "is shutting down: nwdd-test-");
	assert_contains(harness_child_output(once, ERR), " is stopping; "
	    "reconnect later\n");
	want_line(sub, ERR, "nwd: sub: the broker is shutting down: ", line,
	    sizeof(line));
	assert_contains(line, "is stopping; reconnect later; reconnecting");
	/* While nothing listens, an attempt fails, and it goes on. */
	want_line(sub, ERR, "nwd: sub: reconnect attempt 1 after ", line,
	    sizeof(line));
	assert_contains(line, "Connection refused");

	/*
	 * Held still (SIGSTOP) so that it cannot come back before the
	 * messages are published: they go to its durable queue.
	 */
	assert_int_equal(kill(harness_child_pid(sub), SIGSTOP), 0);
	snprintf(extra, sizeof(extra), "listen = 127.0.0.1:%d", port);
	assert_non_null(d = harness_daemon_start(extra));
	for (i = 1; i < 4; i++) {
		alert("YP-S2", mid[i]);
		assert_int_equal(harness_sql_int("postgres", "SELECT count(*) "
		    "FROM nwd.audit_events WHERE action = 'deliver' AND "
		    "message_id = '%s' AND recipient = 'hubsys-norwich' AND "
		    "route = 'queued'", mid[i]), 1);
	}
	assert_int_equal(kill(harness_child_pid(sub), SIGCONT), 0);

	/* One line per attempt, the last subscribed; then the replay. */
	want_line(sub, ERR, ": subscribed id=", line, sizeof(line));
	assert_true(strncmp(line, "nwd: sub: reconnect attempt ", 28) == 0);
	for (i = 1; i < 4; i++)
		want_line(sub, OUT, mid[i], NULL, 0);	/* in order */
	for (i = 1; i < 4; i++)
		harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) "
		    "FROM nwd.audit_events WHERE action = 'ack' AND message_id "
		    "= '%s' AND recipient = 'hubsys-norwich'", mid[i]);
	out = harness_child_output(sub, OUT);
	for (i = 0; i < 4; i++)
		assert_int_equal(count(out, mid[i]), 1);
	assert_int_equal(count(out, "\n"), 4);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'deliver' AND recipient = "
	    "'hubsys-norwich' AND route = 'replay' AND message_id IN ('%s', "
	    "'%s', '%s')", mid[1], mid[2], mid[3]), 3);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.deliveries WHERE principal = 'hubsys-norwich' AND "
	    "subscription = 'sub-rc' AND state = 'pending'"), 0);
	/* Every line of its stderr after the reason is an attempt. */
	out = strstr(harness_child_output(sub, ERR), "; reconnecting\n");
	assert_non_null(out);
	for (out = strchr(out, '\n') + 1; *out != '\0';
	    out = strchr(out, '\n') + 1)
		assert_true(strncmp(out, "nwd: sub: reconnect attempt ", 28) ==
		    0);
	print_message("the durable subscriber's stderr:\n%s",
	    harness_child_output(sub, ERR));
	harness_child_free(sub);
	harness_child_free(once);
	assert_int_equal(harness_daemon_stop(d), 0);
}

/* ------------------------------------------------------------------------
 * (c) --idle-exit, and the options that go with sub
 */

static void
test_idle_exit(void **state)
{
	struct harness_daemon	*d;
	struct harness_child	*c;
	char			 out[4096];

	(void)state;
	assert_non_null(d = harness_daemon_start(NULL));
	c = spawn_sub("hubsys-norwich", "--kind risk_alert --subject YP-S3 "
	    "--idle-exit 1");
	assert_int_equal(harness_child_wait(c, WAIT_MS), 6);
	assert_contains(harness_child_output(c, ERR), "nwd: sub: no delivery "
	    "in 1 second\n");
	assert_string_equal(harness_child_output(c, OUT), "");
	harness_child_free(c);
	c = spawn_sub("hubsys-norwich", "--subject YP-S3 --idle-exit 0.5");
	assert_int_equal(harness_child_wait(c, WAIT_MS), 6);
	assert_contains(harness_child_output(c, ERR), "nwd: sub: no delivery "
	    "in 0.5 seconds\n");
	harness_child_free(c);

	/* Usage errors, before any connection. */
	assert_int_equal(run_nwd(out, sizeof(out), "hubsys-norwich", "sub "
	    "--replace 2>&1"), 2);
	assert_contains(out, "--replace: replaces the filters of a durable "
	    "subscription: give --durable NAME");
	assert_int_equal(run_nwd(out, sizeof(out), "hubsys-norwich", "sub "
	    "--reconnect --no-reconnect 2>&1"), 2);
	assert_int_equal(run_nwd(out, sizeof(out), "hubsys-norwich", "sub "
	    "--idle-exit 0 2>&1"), 2);
	assert_contains(out, "is not a positive number of seconds");
	assert_int_equal(run_nwd(out, sizeof(out), "hubsys-norwich", "sub "
	    "--keepalive soon 2>&1"), 2);
	assert_int_equal(harness_daemon_stop(d), 0);
}

/* ------------------------------------------------------------------------
 * (e) nwd durable list and delete; the cap; replacing filters
 */

static void
test_durable_list_delete(void **state)
{
	struct harness_daemon	*d;
	struct nwd_client	*kim;
	Nwd__V1__Kind		 ra = NWD__V1__KIND__RISK_ALERT;
	Nwd__V1__Kind		 me = NWD__V1__KIND__MISSING_EPISODE;
	const char		*subjects[1] = { "YP-S5" };
	char			 out[65536], err[512], mid[2][40];

	(void)state;
	assert_non_null(d = harness_daemon_start("max_durable_per_principal "
	    "= 2"));
	fixture_allocate("YP-S5", "hub:norwich", 0);
	kim = harness_connect_as("keyworker-kim");
	assert_int_equal(nwd_subscribe_durable(kim, &ra, 1, subjects, 1,
	    "kim-a", 0, NULL, err, sizeof(err)), NWD_OK);
	assert_int_equal(nwd_subscribe_durable(kim, &me, 1, subjects, 1,
	    "kim-b", 0, NULL, err, sizeof(err)), NWD_OK);
	nwd_close(kim);
	alert("YP-S5", mid[0]);
	alert("YP-S5", mid[1]);

	/* Pending counts, filters, not open. */
	assert_int_equal(run_nwd(out, sizeof(out), "keyworker-kim", "durable "
	    "list --json"), 0);
	assert_contains(out, "{\"name\":\"kim-a\",\"kinds\":[\"risk_alert\"],"
	    "\"subjects\":[\"YP-S5\"],\"pending\":2,\"oldest_pending\":\"20");
	assert_contains(out, "{\"name\":\"kim-b\",\"kinds\":"
	    "[\"missing_episode\"],\"subjects\":[\"YP-S5\"],\"pending\":0,"
	    "\"oldest_pending\":null,\"oldest_pending_unix_ms\":0,");
	assert_int_equal(count(out, "\"open\":false}"), 2);
	assert_int_equal(run_nwd(out, sizeof(out), "keyworker-kim", "durable "
	    "list"), 0);
	assert_true(strncmp(out, "NAME ", 5) == 0);
	assert_contains(out, "KINDS");
	assert_contains(out, "OLDEST PENDING");
	assert_contains(out, "kim-a  risk_alert       YP-S5     2        ");
	assert_contains(out, "s (20");		/* an age, then local time */

	/* A third is past max_durable_per_principal: ERROR_LIMIT. */
	assert_int_equal(run_nwd(out, sizeof(out), "keyworker-kim", "sub "
	    "--durable kim-c --idle-exit 0.2 2>&1"), 1);
	assert_contains(out, "ERROR_LIMIT: keyworker-kim already holds 2 "
	    "durable subscriptions (max_durable_per_principal)");
	assert_contains(out, "nwd durable delete NAME");

	/* Other filters for kim-b: refused, unless replaced. */
	assert_int_equal(run_nwd(out, sizeof(out), "keyworker-kim", "sub "
	    "--durable kim-b --kind risk_alert --subject YP-S5 --idle-exit "
	    "0.2 2>&1"), 1);
	assert_contains(out, "ERROR_CONFLICT: durable subscription kim-b "
	    "exists with other kinds or subjects");
	assert_int_equal(run_nwd(out, sizeof(out), "keyworker-kim", "sub "
	    "--durable kim-b --replace --kind risk_alert --subject YP-S5 "
	    "--idle-exit 0.2 2>&1"), 6);
	assert_contains(out, "nwd: subscribed id=");
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'subscribe' AND actor = "
	    "'keyworker-kim' AND reason LIKE 'durable=kim-b %%(replaced its "
	    "filters; what was queued stays queued)'"), 1);
	assert_int_equal(run_nwd(out, sizeof(out), "keyworker-kim", "durable "
	    "list --json"), 0);
	assert_contains(out, "{\"name\":\"kim-b\",\"kinds\":[\"risk_alert\"]");

	/* Delete: what was pending is withdrawn, each on record. */
	assert_int_equal(run_nwd(out, sizeof(out), "keyworker-kim", "durable "
	    "delete kim-a"), 0);
	assert_string_equal(out, "{\"name\":\"kim-a\",\"withdrawn\":2}\n");
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'deliver_withdrawn' AND "
	    "recipient = 'keyworker-kim' AND message_id IN ('%s', '%s')",
	    mid[0], mid[1]), 2);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'durable_deleted' AND actor = "
	    "'keyworker-kim' AND reason = 'durable=kim-a deleted; 2 pending "
	    "withdrawn'"), 1);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.deliveries WHERE principal = 'keyworker-kim' AND "
	    "subscription = 'kim-a' AND state = 'withdrawn'"), 2);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.deliveries WHERE principal = 'keyworker-kim' AND "
	    "subscription = 'kim-a' AND state = 'pending'"), 0);
	assert_int_equal(run_nwd(out, sizeof(out), "keyworker-kim", "durable "
	    "list --json"), 0);
	assert_true(strstr(out, "kim-a") == NULL);
	/* Deleted, it is no longer ours: not found, exit 1; a slot is free. */
	assert_int_equal(run_nwd(out, sizeof(out), "keyworker-kim", "durable "
	    "delete kim-a 2>&1"), 1);
	assert_contains(out, "ERROR_NOT_FOUND: keyworker-kim has no durable "
	    "subscription kim-a");
	assert_int_equal(run_nwd(out, sizeof(out), "keyworker-kim", "sub "
	    "--durable kim-c --idle-exit 0.2 2>&1"), 6);
	assert_int_equal(harness_daemon_stop(d), 0);
}

/* ------------------------------------------------------------------------
 * (f) libnwd: acks answered, unsubscribe answered
 */

static void
test_libnwd_acked_and_unsubscribed(void **state)
{
	struct harness_daemon	*d;
	struct nwd_client	*hub;
	Nwd__V1__Deliver	*dv = NULL;
	Nwd__V1__Kind		 k = NWD__V1__KIND__RISK_ALERT;
	const char		*subjects[1] = { "YP-S6" };
	uint64_t		 id = 0;
	char			 err[512], mid[3][40];

	(void)state;
	assert_non_null(d = harness_daemon_start(NULL));
	fixture_allocate("YP-S6", "hub:norwich", 0);
	hub = harness_connect_as("hubsys-norwich");
	assert_int_equal(nwd_subscribe(hub, &k, 1, subjects, 1, NULL, &id,
	    err, sizeof(err)), NWD_OK);

	/* nwd_ack() returns once the ack is recorded: the row is there. */
	alert("YP-S6", mid[0]);
	assert_int_equal(nwd_next_delivery(hub, WAIT_MS, &dv, err,
	    sizeof(err)), NWD_OK);
	assert_string_equal(dv->envelope->header->message_id, mid[0]);
	assert_int_equal(nwd_ack(hub, dv->delivery_id, mid[0], err,
	    sizeof(err)), NWD_OK);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'ack' AND message_id = '%s' AND "
	    "recipient = 'hubsys-norwich'", mid[0]), 1);
	/* Twice: the delivery no longer waits for an ack. */
	assert_int_equal(nwd_ack(hub, dv->delivery_id, mid[0], err,
	    sizeof(err)), NWD_ERR_REFUSED);
	assert_int_equal(nwd_last_server_error(hub),
	    NWD__V1__ERROR_CODE__ERROR_NOT_FOUND);
	nwd_deliver_free(dv);

	/* Without waiting: sent; its Acked is read and dropped later. */
	alert("YP-S6", mid[1]);
	assert_int_equal(nwd_next_delivery(hub, WAIT_MS, &dv, err,
	    sizeof(err)), NWD_OK);
	assert_int_equal(nwd_ack_nowait(hub, dv->delivery_id, mid[1], err,
	    sizeof(err)), NWD_OK);
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'ack' AND message_id = '%s'",
	    mid[1]);
	assert_int_equal(nwd_ping(hub, err, sizeof(err)), NWD_OK);
	/* One the broker refuses: the next call says so, once. */
	assert_int_equal(nwd_ack_nowait(hub, dv->delivery_id, mid[1], err,
	    sizeof(err)), NWD_OK);
	nwd_deliver_free(dv);
	assert_int_equal(nwd_next_delivery(hub, WAIT_MS, &dv, err,
	    sizeof(err)), NWD_ERR_REFUSED);
	assert_contains(err, "an acknowledgement sent without waiting failed: "
	    "ERROR_NOT_FOUND: delivery ");
	assert_int_equal(nwd_last_server_error(hub),
	    NWD__V1__ERROR_CODE__ERROR_NOT_FOUND);
	assert_int_equal(nwd_ping(hub, err, sizeof(err)), NWD_OK);

	/* nwd_unsubscribe() gets Unsubscribed; then nothing is sent live. */
	assert_int_equal(nwd_unsubscribe(hub, id, err, sizeof(err)), NWD_OK);
	assert_int_equal(nwd_unsubscribe(hub, id, err, sizeof(err)),
	    NWD_ERR_REFUSED);
	assert_contains(err, "ERROR_NOT_FOUND: no subscription");
	alert("YP-S6", mid[2]);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'deliver' AND message_id = '%s' "
	    "AND recipient = 'hubsys-norwich' AND route = 'unreachable'",
	    mid[2]), 1);
	assert_int_equal(nwd_next_delivery(hub, 0, &dv, err, sizeof(err)),
	    NWD_ERR_TIMEOUT);
	nwd_close(hub);

	/* The durable calls, through libnwd. */
	{
		Nwd__V1__DurableListResult	*r = NULL;
		uint64_t			 withdrawn = 99;
		size_t				 i, found = 0;

		hub = harness_connect_as("hubsys-norwich");
		assert_int_equal(nwd_subscribe_durable(hub, &k, 1, subjects, 1,
		    "lib-feed", 0, NULL, err, sizeof(err)), NWD_OK);
		assert_int_equal(nwd_durable_list(hub, &r, err, sizeof(err)),
		    NWD_OK);
		/* sub-rc, of the reconnect test, is the hub's too. */
		for (i = 0; i < r->n_durables; i++) {
			if (strcmp(r->durables[i]->name, "lib-feed") != 0)
				continue;
			found++;
			assert_true(r->durables[i]->open);
			assert_int_equal(r->durables[i]->pending, 0);
			assert_int_equal(r->durables[i]->n_kinds, 1);
			assert_int_equal(r->durables[i]->kinds[0],
			    NWD__V1__KIND__RISK_ALERT);
		}
		assert_int_equal(found, 1);
		nwd_durable_list_free(r);
		assert_int_equal(nwd_durable_delete(hub, "lib-feed", &withdrawn,
		    err, sizeof(err)), NWD_OK);
		assert_int_equal(withdrawn, 0);
		assert_int_equal(nwd_durable_delete(hub, "lib-feed", NULL, err,
		    sizeof(err)), NWD_ERR_REFUSED);
		nwd_close(hub);
	}
	assert_int_equal(harness_daemon_stop(d), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keepalive_outlives_idle_timeout),
		cmocka_unit_test(test_durable_reconnects_after_restart),
		cmocka_unit_test(test_idle_exit),
		cmocka_unit_test(test_durable_list_delete),
		cmocka_unit_test(test_libnwd_acked_and_unsubscribed),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("sub", tests, NULL, NULL);
}
