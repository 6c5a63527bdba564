/*
 * Durable subscriptions against a real nwdd and PostgreSQL: what a
 * subscriber missed while away is replayed in order, re-checked against
 * the policy and allocations in force at replay time, audited before it is
 * sent, and redelivered until acknowledged (SCENARIOS.md S9, S10); message
 * bodies are sealed at rest.
 */
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

#define WAIT_MS		10000

static struct harness_daemon *daemon_main;

/* plo-ana raises a RiskAlert; returns its message id in mid. */
static void
alert(const char *subject, const char *summary, char mid[40])
{
	struct fixture_alert a;

	fixture_alert_init(&a, subject,
	    NWD__V1__RISK_ALERT__CATEGORY__CRIMINAL_EXPLOITATION, summary);
	fixture_publish_as("plo-ana", &a.env, mid, 40);
}

/*
 * plo-ana raises n RiskAlerts on subject over one session, each summary of
 * kb kilobytes starting with its number; their ids go to mids.
 */
static void
alerts(const char *subject, int n, size_t kb, char (*mids)[40])
{
	struct nwd_client	*c = harness_connect_as("plo-ana");
	struct fixture_alert	 a;
	Nwd__V1__PublishAck	*ack;
	char			 err[512], *summary;
	int			 i;

	assert_non_null(summary = malloc(kb * 1024 + 1));
	memset(summary, 'a', kb * 1024);
	summary[kb * 1024] = '\0';
	fixture_alert_init(&a, subject,
	    NWD__V1__RISK_ALERT__CATEGORY__CRIMINAL_EXPLOITATION, summary);
	for (i = 0; i < n; i++) {
		snprintf(summary, 12, "%010d", i);
		summary[10] = ' ';
		ack = NULL;
		if (nwd_publish(c, &a.env, &ack, err, sizeof(err)) != NWD_OK)
			fail_msg("alert %d on %s: %s", i, subject, err);
		snprintf(mids[i], 40, "%s", ack->message_id);
		nwd_publish_ack_free(ack);
	}
	free(summary);
	nwd_close(c);
}

static int
group_setup(void **state)
{
	daemon_main = harness_daemon_start(NULL);
	return daemon_main != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	return harness_daemon_stop(daemon_main) == 0 ? 0 : -1;
}

/* S9: three alerts while away, replayed in order, acked, not again. */
static void
test_missed_alerts_are_replayed_in_order(void **state)
{
	static const char *summaries[3] = { "first", "second", "third" };
	struct nwd_client	*hub;
	Nwd__V1__Deliver	*d;
	char			 mid[3][40], err[512];
	int			 i;

	fixture_allocate("YP-901", "hub:norwich", 0);
	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    "YP-901", "hub-feed");
	nwd_close(hub);
	for (i = 0; i < 3; i++)
		alert("YP-901", summaries[i], mid[i]);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.deliveries WHERE principal = 'hubsys-norwich' AND "
	    "subscription = 'hub-feed' AND state = 'pending'"), 3);

	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    "YP-901", "hub-feed");
	for (i = 0; i < 3; i++) {
		d = NULL;
		assert_int_equal(nwd_next_delivery(hub, WAIT_MS, &d, err,
		    sizeof(err)), NWD_OK);
		assert_string_equal(d->envelope->header->message_id, mid[i]);
		assert_string_equal(d->envelope->risk_alert->summary,
		    summaries[i]);
		assert_int_equal(nwd_ack(hub, d->delivery_id, mid[i], err,
		    sizeof(err)), NWD_OK);
		nwd_deliver_free(d);
	}
	fixture_nothing_more(hub);
	nwd_close(hub);
	/* The acks are proof of receipt, and the queue let the messages go. */
	harness_wait_sql_int("postgres", WAIT_MS, 3, "SELECT count(*) FROM "
	    "nwd.deliveries WHERE principal = 'hubsys-norwich' AND "
	    "subscription = 'hub-feed' AND state = 'acked'");
	for (i = 0; i < 3; i++) {
		assert_int_equal(harness_sql_int("postgres", "SELECT count(*) "
		    "FROM nwd.audit_events WHERE message_id = '%s' AND action "
		    "= 'ack' AND actor = 'hubsys-norwich'", mid[i]), 1);
		/* Delivered twice over in the trail: at publish, at replay. */
		assert_int_equal(harness_sql_int("postgres", "SELECT count(*) "
		    "FROM nwd.audit_events WHERE message_id = '%s' AND action "
		    "= 'deliver' AND recipient = 'hubsys-norwich' AND reason "
		    "LIKE 'replay of durable subscription hub-feed%%'",
		    mid[i]), 1);
	}
	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    "YP-901", "hub-feed");
	fixture_nothing_more(hub);
	nwd_close(hub);
}

/* An unacknowledged delivery comes again on the next connect. */
static void
test_unacked_is_redelivered(void **state)
{
	struct nwd_client	*hub;
	Nwd__V1__Deliver	*d = NULL;
	char			 mid[40], err[512];

	fixture_allocate("YP-902", "hub:norwich", 0);
	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    "YP-902", "feed-902");
	alert("YP-902", "not acked", mid);
	assert_int_equal(nwd_next_delivery(hub, WAIT_MS, &d, err, sizeof(err)),
	    NWD_OK);
	assert_string_equal(d->envelope->header->message_id, mid);
	nwd_deliver_free(d);
	nwd_close(hub);		/* without an ack */

	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    "YP-902", "feed-902");
	d = NULL;
	assert_int_equal(nwd_next_delivery(hub, WAIT_MS, &d, err, sizeof(err)),
	    NWD_OK);
	assert_string_equal(d->envelope->header->message_id, mid);
	assert_int_equal(nwd_ack(hub, d->delivery_id, mid, err, sizeof(err)),
	    NWD_OK);
	nwd_deliver_free(d);
	nwd_close(hub);
}

/* S10: the allocation ends while a delivery is pending: refused at replay. */
static void
test_replay_uses_the_allocations_of_now(void **state)
{
	struct nwd_client	*hub;
	char			 mid[40], out[64];

	fixture_allocate("YP-910", "hub:norwich", 0);
	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    "YP-910", "feed-910");
	nwd_close(hub);
	alert("YP-910", "allocated when sent", mid);
	/* Ends it. */
	fixture_allocate("YP-910", "hub:norwich", harness_wall_ms());

	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    "YP-910", "feed-910");
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = "
	    "'deliver_refused' AND recipient = 'hubsys-norwich' AND reason "
	    "LIKE '%%allocated to YP-910%%'", mid);
	fixture_nothing_more(hub);
	nwd_close(hub);
	harness_sql_text("postgres", out, sizeof(out), "SELECT state FROM "
	    "nwd.deliveries WHERE message_id = '%s' AND principal = "
	    "'hubsys-norwich'", mid);
	assert_string_equal(out, "refused");
}

/*
 * G17: a durable queue many times max_output_buffer drains completely, in
 * order, and the subscriber is never cut off by its own replay: 600
 * alerts of 3 kB and 3 of 700 kB (near max_frame) against an output cap of
 * 256 kB.  Every one is received once, acknowledged, and the queue is
 * empty afterwards.
 */
#define BIG_SMALL	600
#define BIG_LARGE	3

static void
test_backlog_larger_than_output_cap_drains(void **state)
{
	struct harness_daemon	*d;
	struct nwd_client	*hub;
	Nwd__V1__Deliver	*dv;
	char			(*mids)[40], err[512];
	int			 i, n = BIG_SMALL + BIG_LARGE;

	/* A daemon of its own, with a small output cap. */
	assert_int_equal(harness_daemon_stop(daemon_main), 0);
	d = harness_daemon_start("max_output_buffer = 262144");
	assert_non_null(d);
	assert_non_null(mids = calloc(n, sizeof(*mids)));
	fixture_allocate("YP-930", "hub:norwich", 0);
	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    "YP-930", "feed-930");
	nwd_close(hub);
	alerts("YP-930", BIG_SMALL / 2, 3, mids);
	alerts("YP-930", BIG_LARGE, 700, mids + BIG_SMALL / 2);
	alerts("YP-930", BIG_SMALL - BIG_SMALL / 2, 3,
	    mids + BIG_SMALL / 2 + BIG_LARGE);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.deliveries WHERE principal = 'hubsys-norwich' AND "
	    "subscription = 'feed-930' AND state = 'pending'"), n);

	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    "YP-930", "feed-930");
	for (i = 0; i < n; i++) {
		dv = NULL;
		if (nwd_next_delivery(hub, WAIT_MS, &dv, err, sizeof(err)) !=
		    NWD_OK)
			fail_msg("delivery %d of %d: %s", i + 1, n, err);
		assert_string_equal(dv->envelope->header->message_id,
		    mids[i]);
		assert_int_equal(nwd_ack(hub, dv->delivery_id, mids[i], err,
		    sizeof(err)), NWD_OK);
		nwd_deliver_free(dv);
	}
	fixture_nothing_more(hub);
	nwd_close(hub);
	harness_wait_sql_int("postgres", WAIT_MS, n, "SELECT count(*) FROM "
	    "nwd.deliveries WHERE principal = 'hubsys-norwich' AND "
	    "subscription = 'feed-930' AND state = 'acked'");
	assert_false(harness_log_contains(d, "slow consumer"));
	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    "YP-930", "feed-930");
	fixture_nothing_more(hub);
	nwd_close(hub);
	free(mids);
	assert_int_equal(harness_daemon_stop(d), 0);
	daemon_main = harness_daemon_start(NULL);
	assert_non_null(daemon_main);
}

/*
 * hub receives mids[0] to mids[n - 1], in that order, acknowledging each,
 * and then nothing more.
 */
static void
drain_in_order(struct nwd_client *hub, char (*mids)[40], int n)
{
	Nwd__V1__Deliver	*dv;
	char			 err[512];
	int			 i;

	for (i = 0; i < n; i++) {
		dv = NULL;
		if (nwd_next_delivery(hub, WAIT_MS, &dv, err, sizeof(err)) !=
		    NWD_OK)
			fail_msg("delivery %d of %d: %s", i + 1, n, err);
		if (strcmp(dv->envelope->header->message_id, mids[i]) != 0)
			fail_msg("delivery %d is %s, expected %s", i + 1,
			    dv->envelope->header->message_id, mids[i]);
		assert_int_equal(nwd_ack(hub, dv->delivery_id, mids[i], err,
		    sizeof(err)), NWD_OK);
		nwd_deliver_free(dv);
	}
	fixture_nothing_more(hub);
}

/*
 * Publishes that commit while a replay is still sending come after the
 * backlog, in order, each once: the replay brings them, not a live send
 * that would overtake the backlog or arrive a second time.
 */
#define DURING_BACKLOG	1500
#define DURING_NEW	5

static void
test_publishes_during_replay_keep_order(void **state)
{
	struct harness_daemon	*d;
	struct nwd_client	*hub;
	char			(*mids)[40];
	int			 n = DURING_BACKLOG + DURING_NEW;

	assert_int_equal(harness_daemon_stop(daemon_main), 0);
	d = harness_daemon_start("max_output_buffer = 131072");
	assert_non_null(d);
	assert_non_null(mids = calloc(n, sizeof(*mids)));
	fixture_allocate("YP-931", "hub:norwich", 0);
	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    "YP-931", "feed-931");
	nwd_close(hub);
	alerts("YP-931", DURING_BACKLOG, 3, mids);

	/* The replay starts and stalls on a subscriber that reads nothing
	 * yet: 4.5 MB against a 128 kB output cap and the socket's
	 * buffers. */
	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    "YP-931", "feed-931");
	alerts("YP-931", DURING_NEW, 1, mids + DURING_BACKLOG);
	drain_in_order(hub, mids, n);
	nwd_close(hub);
	assert_false(harness_log_contains(d, "slow consumer"));
	free(mids);
	assert_int_equal(harness_daemon_stop(d), 0);
	daemon_main = harness_daemon_start(NULL);
	assert_non_null(daemon_main);
}

/*
 * Pages are sent strictly in order, each only once its rows have
 * committed: when a later page's transaction fails (here a trigger
 * refuses the replay's deliver row of one message, which no page of 3 kB
 * bodies can hold before its 343rd row), the subscriber gets the whole
 * pages before it, in order, then the Error that ends the replay, and
 * nothing of that page or after it.  Every message stays pending until
 * acknowledged: the next replay brings them all again, in order, once.
 */
#define FAIL_BACKLOG	1000
#define FAIL_AT		500

static void
test_replay_stops_at_a_page_that_does_not_commit(void **state)
{
	struct nwd_client	*hub;
	Nwd__V1__Deliver	*dv;
	char			(*mids)[40], err[512], sql[1024];
	int			 got, rc;

	assert_non_null(mids = calloc(FAIL_BACKLOG, sizeof(*mids)));
	fixture_allocate("YP-932", "hub:norwich", 0);
	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    "YP-932", "feed-932");
	nwd_close(hub);
	alerts("YP-932", FAIL_BACKLOG, 3, mids);
	snprintf(sql, sizeof(sql), "CREATE FUNCTION nwd.test_refuse() RETURNS "
	    "trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'test: "
	    "refused'; END $$; CREATE TRIGGER test_refuse BEFORE INSERT ON "
	    "nwd.audit_events FOR EACH ROW WHEN (NEW.message_id = '%s' AND "
	    "NEW.route = 'replay') EXECUTE FUNCTION nwd.test_refuse();",
	    mids[FAIL_AT]);
	if (harness_sql("postgres", sql, err, sizeof(err)) != 0)
		fail_msg("trigger: %s", err);

	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    "YP-932", "feed-932");
	for (got = 0;; got++) {
		dv = NULL;
		rc = nwd_next_delivery(hub, WAIT_MS, &dv, err, sizeof(err));
		if (rc != NWD_OK)
			break;
		if (got >= FAIL_AT)
			fail_msg("delivery %d arrived: the refused page was "
			    "sent", got + 1);
		if (strcmp(dv->envelope->header->message_id, mids[got]) != 0)
			fail_msg("delivery %d is %s, expected %s", got + 1,
			    dv->envelope->header->message_id, mids[got]);
		nwd_deliver_free(dv);
	}
	assert_int_equal(rc, NWD_ERR_UNAVAILABLE);
	assert_non_null(strstr(err, "did not commit"));
	/* At least the first page came, and the page of FAIL_AT did not. */
	assert_true(got > 0 && got <= FAIL_AT);
	nwd_close(hub);
	/* What was not sent and yet said to be replayed (a page after the
	 * refused one that committed) is said, too, not to have been sent. */
	harness_wait_sql_int("postgres", WAIT_MS, 0, "SELECT count(*) FROM "
	    "nwd.audit_events d WHERE d.action = 'deliver' AND d.route = "
	    "'replay' AND d.subject = 'YP-932' AND d.message_id NOT IN "
	    "(SELECT message_id FROM nwd.deliveries WHERE principal = "
	    "'hubsys-norwich' AND subscription = 'feed-932' ORDER BY id "
	    "LIMIT %d) AND NOT EXISTS (SELECT 1 FROM nwd.audit_events a "
	    "WHERE a.message_id = d.message_id AND a.id > d.id AND "
	    "a.action = 'deliver_lost')", got);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'deliver' AND route = 'replay' "
	    "AND message_id = '%s'", mids[FAIL_AT]), 0);

	if (harness_sql("postgres", "DROP TRIGGER test_refuse ON "
	    "nwd.audit_events; DROP FUNCTION nwd.test_refuse();", err,
	    sizeof(err)) != 0)
		fail_msg("drop trigger: %s", err);
	/* Nothing was acknowledged: all of it comes again, in order. */
	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    "YP-932", "feed-932");
	drain_in_order(hub, mids, FAIL_BACKLOG);
	nwd_close(hub);
	free(mids);
}

/*
 * A replay reads its pages on a connection of its own (store_reader.c).
 * When that connection is lost with a page's query in flight (the query
 * waits on a lock, its backend is terminated), the query goes back to the
 * store's own connection: the backlog still drains, in order, once; the
 * store itself never dropped; and the reader comes back for the next one.
 */
#define READER_BACKLOG	700

/* The daemon's backends that do not hold the instance lock, but its
 * cluster connection (cluster.h): the reader. */
#define READER_SQL "FROM pg_stat_activity a WHERE a.usename = " \
	"'nwd_daemon' AND a.backend_type = 'client backend' AND NOT EXISTS " \
	"(SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND " \
	"l.locktype = 'advisory') AND " \
	"left(a.application_name, 13) <> 'nwdd cluster '"

static void
test_replay_survives_the_loss_of_its_reader(void **state)
{
	struct harness_lock	*lock;
	struct nwd_client	*hub;
	char			(*mids)[40];
	size_t			 mark;

	assert_non_null(mids = calloc(READER_BACKLOG, sizeof(*mids)));
	fixture_allocate("YP-933", "hub:norwich", 0);
	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    "YP-933", "feed-933");
	nwd_close(hub);
	alerts("YP-933", READER_BACKLOG, 3, mids);
	assert_true(harness_wait_log(daemon_main, "store: reader connected",
	    WAIT_MS));

	/* The first page's query waits on the lock, on the reader. */
	mark = harness_log_mark(daemon_main);
	lock = harness_lock_table("nwd.deliveries");
	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    "YP-933", "feed-933");
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) "
	    READER_SQL " AND a.wait_event_type = 'Lock'");
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "(SELECT pg_terminate_backend(a.pid) " READER_SQL ") t"), 1);
	assert_true(harness_wait_log_after(daemon_main, mark,
	    "reader connection lost", WAIT_MS));
	harness_unlock_table(lock);
	drain_in_order(hub, mids, READER_BACKLOG);
	nwd_close(hub);
	assert_false(harness_log_contains(daemon_main,
	    "database unavailable"));

	/* The reader is back, and serves the next replay. */
	assert_true(harness_wait_log_after(daemon_main, mark,
	    "store: reader connected", WAIT_MS));
	alerts("YP-933", READER_BACKLOG, 3, mids);
	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    "YP-933", "feed-933");
	drain_in_order(hub, mids, READER_BACKLOG);
	nwd_close(hub);
	free(mids);
}

/* Bodies are sealed at rest: the text is not in the database. */
static void
test_bodies_are_sealed_at_rest(void **state)
{
	char	mid[40], out[256];

	fixture_allocate("YP-920", "hub:norwich", 0);
	alert("YP-920", "a secret only recipients may read", mid);
	harness_sql_text("postgres", out, sizeof(out), "SELECT length(body) > "
	    "28, key_id IS NOT NULL, position(convert_to('a secret only', "
	    "'UTF8') IN body) = 0 FROM nwd.messages WHERE id = '%s'", mid);
	assert_string_equal(out, "t|t|t");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missed_alerts_are_replayed_in_order),
		cmocka_unit_test(test_unacked_is_redelivered),
		cmocka_unit_test(test_replay_uses_the_allocations_of_now),
		cmocka_unit_test(test_bodies_are_sealed_at_rest),
		cmocka_unit_test(test_backlog_larger_than_output_cap_drains),
		cmocka_unit_test(test_publishes_during_replay_keep_order),
		cmocka_unit_test(test_replay_survives_the_loss_of_its_reader),
		cmocka_unit_test(
		    test_replay_stops_at_a_page_that_does_not_commit),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("durable", tests, group_setup,
	    group_teardown);
}
