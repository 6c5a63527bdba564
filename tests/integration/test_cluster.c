/*
 * Several nwdd on one PostgreSQL (issue 20): three real daemons with
 * instance names of their own (nwdd-test-1, -2, -3) on the harness's
 * database, real certificates, the example agreement and cast, clients
 * through libnwd.  The hidden-state cases each deliver exactly once:
 *
 *  - an allocation published through one instance, an alert through
 *    another: the alert goes to the allocated hub, not the duty desk
 *    (before, nwdd-2 did not know nwdd-1's allocation);
 *  - a live subscriber on another instance than the publisher's: routed
 *    live, delivered by its instance, once;
 *  - the duty desk connected to another instance than the one whose
 *    duty pass chose it;
 *  - a durable subscriber connected to another instance receives live,
 *    and after reconnecting to the publisher's instance its queue, in
 *    order, nothing twice;
 *  - a subscription acknowledged on one instance routes a publish on
 *    another at once (read-your-writes for live subscriptions);
 *
 * and afterwards every instance's chain verifies (nwd audit verify).
 * Nothing sleeps: the tests wait for log lines, rows and frames.
 */
#include <sys/wait.h>

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

#define WAIT_MS		15000
#define NDAEMONS	3

static struct harness_daemon *d[NDAEMONS];

static void
on(int i)
{
	harness_daemon_use(d[i]);
}

/* Publishes an alert about subject as plo-ana; the ack (caller frees). */
static Nwd__V1__PublishAck *
alert(const char *subject, const char *summary)
{
	struct nwd_client	*plo = harness_connect_as("plo-ana");
	Nwd__V1__PublishAck	*ack = NULL;
	struct fixture_alert	 a;
	char			 err[512];

	fixture_alert_init(&a, subject,
	    NWD__V1__RISK_ALERT__CATEGORY__SELF_HARM, summary);
	if (nwd_publish(plo, &a.env, &ack, err, sizeof(err)) != NWD_OK)
		fail_msg("alert about %s: %s", subject, err);
	nwd_close(plo);
	return ack;
}

/* c receives mid within WAIT_MS, and acks it. */
static void
receives(struct nwd_client *c, const char *mid)
{
	Nwd__V1__Deliver	*dl = fixture_receive(c, mid, WAIT_MS);
	char			 err[512];

	assert_int_equal(nwd_ack(c, dl->delivery_id, mid, err, sizeof(err)),
	    NWD_OK);
	nwd_deliver_free(dl);
}

/* Instance i has done with mid, another's message (sent it to the
 * sessions here that want it, if any). */
static void
delivered_by(int i, const char *mid)
{
	char	line[128];

	snprintf(line, sizeof(line), "message=%s event=cluster_deliver", mid);
	if (!harness_wait_log(d[i], line, WAIT_MS))
		fail_msg("nwdd-test-%d did not deliver %s", i + 1, mid);
}

static int
group_setup(void **state)
{
	char	line[96];
	int	i, k;

	(void)state;
	for (i = 0; i < NDAEMONS; i++)
		if ((d[i] = harness_daemon_start("log_level = debug")) == NULL)
			return -1;
	/* Each knows the others live before anything is published. */
	for (i = 0; i < NDAEMONS; i++)
		for (k = 0; k < NDAEMONS; k++) {
			if (k == i)
				continue;
			snprintf(line, sizeof(line), "event=cluster_peer "
			    "instance=nwdd-test-%d policy=", k + 1);
			if (!harness_wait_log(d[i], line, WAIT_MS))
				return -1;
		}
	return 0;
}

static int
group_teardown(void **state)
{
	int	i, rc = 0;

	(void)state;
	for (i = 0; i < NDAEMONS; i++)
		if (d[i] != NULL && harness_daemon_stop(d[i]) != 0)
			rc = -1;
	return rc;
}

/*
 * The allocation through nwdd-1, the alert through nwdd-2: the hub
 * allocated gets it (connected to nwdd-2 as well, so that only the
 * allocation crosses), not the duty desk.
 */
static void
test_allocation_on_one_alert_through_another(void **state)
{
	struct nwd_client	*hub;
	Nwd__V1__PublishAck	*ack;
	char			 route[64];

	(void)state;
	on(0);
	fixture_allocate("YP-C01", "hub:norwich", 0);
	on(1);
	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    "YP-C01", NULL);
	ack = alert("YP-C01", "self-harm risk after a move");
	assert_false(ack->duty_desk);
	assert_int_equal(ack->recipients, 1);
	fixture_route_of(ack->message_id, "hubsys-norwich", route,
	    sizeof(route));
	assert_string_equal(route, "live");
	fixture_route_of(ack->message_id, "duty-mash", route, sizeof(route));
	assert_string_equal(route, "");
	receives(hub, ack->message_id);
	fixture_nothing_more(hub);
	nwd_close(hub);
	nwd_publish_ack_free(ack);
}

/*
 * The allocation and the alert through nwdd-1, the hub on nwdd-3, and
 * nwdd-3 hears of the alert before it has read the allocation again (its
 * read of nwd.allocations is held by a lock; it was stopped while both
 * were published, so that both notes wait for it together): it decides
 * on the alert only once it has applied what the publisher knew, and
 * sends it.  Before, it decided with the allocation it did not have yet,
 * refused the hub and wrote deliver_lost (a CI run of
 * test_scenarios_cluster, S10, met this under load).
 */
static void
test_message_waits_for_the_changes_before_it(void **state)
{
	struct nwd_client	*hub;
	struct harness_lock	*lock;
	Nwd__V1__PublishAck	*ack;
	char			 line[128];

	(void)state;
	on(2);
	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    "YP-C11", NULL);
	assert_int_equal(harness_daemon_signal(d[2], SIGSTOP), 0);
	on(0);
	fixture_allocate("YP-C11", "hub:norwich", 0);
	lock = harness_lock_table("nwd.allocations");
	ack = alert("YP-C11", "missing overnight, found at a bus station");
	assert_false(ack->duty_desk);
	assert_int_equal(ack->recipients, 1);
	assert_int_equal(harness_daemon_signal(d[2], SIGCONT), 0);
	snprintf(line, sizeof(line), "message=%s event=cluster_deliver_wait",
	    ack->message_id);
	if (!harness_wait_log(d[2], line, WAIT_MS)) {
		harness_lock_abort(lock);
		fail_msg("nwdd-test-3 did not wait for the allocation before "
		    "deciding on %s (deliver_lost rows: %d)", ack->message_id,
		    harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
		    "nwd.audit_events WHERE message_id = '%s' AND action = "
		    "'deliver_lost'", ack->message_id));
	}
	harness_unlock_table(lock);
	receives(hub, ack->message_id);
	delivered_by(2, ack->message_id);
	fixture_nothing_more(hub);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = "
	    "'deliver_lost'", ack->message_id), 0);
	nwd_close(hub);
	nwd_publish_ack_free(ack);
}

/*
 * The hub on nwdd-3, the alert through nwdd-1, which decides while
 * nwdd-3 still announces the hub's session and so counts it reached; the
 * hub's session ends before nwdd-3 has read the message (nwdd-3 stopped
 * while the alert is published, its read of nwd.messages held by a lock
 * until the session's end is logged).  nwdd-3 sends nothing, and writes
 * the deliver_lost row that says so (G16: a live send that did not
 * happen is recorded), as the publisher's instance does for its own
 * sessions.  Before, nothing recorded it: the trail said reached.
 */
static void
test_session_gone_before_its_instance_heard(void **state)
{
	struct nwd_client	*hub;
	struct harness_lock	*lock;
	Nwd__V1__PublishAck	*ack;
	char			 route[64];
	size_t			 mark;

	(void)state;
	on(0);
	fixture_allocate("YP-C12", "hub:norwich", 0);
	on(2);
	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    "YP-C12", NULL);
	assert_int_equal(harness_daemon_signal(d[2], SIGSTOP), 0);
	on(0);
	ack = alert("YP-C12", "left the placement with an adult not known");
	assert_int_equal(ack->recipients, 1);
	fixture_route_of(ack->message_id, "hubsys-norwich", route,
	    sizeof(route));
	assert_string_equal(route, "live");
	lock = harness_lock_table("nwd.messages");
	nwd_close(hub);
	mark = harness_log_mark(d[2]);
	assert_int_equal(harness_daemon_signal(d[2], SIGCONT), 0);
	if (!harness_wait_log_after(d[2], mark, "event=close", WAIT_MS)) {
		harness_lock_abort(lock);
		fail_msg("nwdd-test-3 did not see the hub's session end");
	}
	harness_unlock_table(lock);
	delivered_by(2, ack->message_id);
	harness_wait_sql_int("nwd_auditor", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = "
	    "'deliver_lost' AND recipient = 'hubsys-norwich' AND instance = "
	    "'nwdd-test-3' AND reason LIKE '%%session ended%%'",
	    ack->message_id);
	nwd_publish_ack_free(ack);
}

/*
 * The subscriber on nwdd-3, the publisher on nwdd-1: routed live at once
 * (the SubscribeAck came after nwdd-1 could know), delivered by nwdd-3,
 * once.
 */
static void
test_live_subscriber_on_another_instance(void **state)
{
	struct nwd_client	*hub;
	Nwd__V1__PublishAck	*ack;
	char			 route[64];

	(void)state;
	on(1);
	fixture_allocate("YP-C02", "hub:norwich", 0);
	on(2);
	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    "YP-C02", NULL);
	on(0);
	ack = alert("YP-C02", "seen at the station at night");
	assert_false(ack->duty_desk);
	assert_int_equal(ack->recipients, 1);
	fixture_route_of(ack->message_id, "hubsys-norwich", route,
	    sizeof(route));
	assert_string_equal(route, "live");
	receives(hub, ack->message_id);
	delivered_by(2, ack->message_id);
	fixture_nothing_more(hub);
	/* No instance wrote that the send did not happen. */
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = "
	    "'deliver_lost'", ack->message_id), 0);
	nwd_close(hub);
	nwd_publish_ack_free(ack);
}

/*
 * The duty desk on nwdd-1, the alert about a child allocated to no one
 * through nwdd-2: the duty pass on nwdd-2 queues it in the desk's queue,
 * and nwdd-1 sends it to the desk's session, once; the desk's ack is
 * recorded.
 */
static void
test_duty_desk_on_another_instance(void **state)
{
	struct nwd_client	*duty;
	Nwd__V1__PublishAck	*ack;
	Nwd__V1__Deliver	*dl;
	char			 err[512], mid[40];

	(void)state;
	on(0);
	duty = harness_connect_as("duty-mash");
	if (nwd_subscribe(duty, NULL, 0, NULL, 0, "duty", NULL, err,
	    sizeof(err)) != NWD_OK)
		fail_msg("duty desk subscribe: %s", err);
	on(1);
	ack = alert("YP-C03", "nobody holds this child");
	snprintf(mid, sizeof(mid), "%s", ack->message_id);
	assert_true(ack->duty_desk);
	/* What its queue held comes first, in order; then this one. */
	for (;;) {
		dl = NULL;
		if (nwd_next_delivery(duty, WAIT_MS, &dl, err, sizeof(err)) !=
		    NWD_OK)
			fail_msg("the duty desk does not receive %s: %s", mid,
			    err);
		assert_int_equal(nwd_ack(duty, dl->delivery_id,
		    dl->envelope->header->message_id, err, sizeof(err)),
		    NWD_OK);
		if (strcmp(dl->envelope->header->message_id, mid) == 0)
			break;
		nwd_deliver_free(dl);
	}
	nwd_deliver_free(dl);
	harness_wait_sql_int("nwd_auditor", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.deliveries WHERE message_id = '%s' AND principal = "
	    "'duty-mash' AND state = 'acked'", mid);
	/* nwdd-1 has done with it (sent it live, or found that the replay
	 * had), and nothing comes twice. */
	delivered_by(0, mid);
	fixture_nothing_more(duty);
	nwd_close(duty);
	nwd_publish_ack_free(ack);
}

/*
 * sw-ben's durable subscription, opened on nwdd-2: an alert through
 * nwdd-1 reaches it live; two more while it is away are queued, and on
 * nwdd-1 its queue comes in order, nothing twice.
 */
static void
test_durable_on_another_instance(void **state)
{
	struct nwd_client	*ben;
	Nwd__V1__PublishAck	*a1, *a2, *a3;
	char			 route[64];

	(void)state;
	on(0);
	fixture_allocate("YP-C04", "sw:north", 0);
	on(1);
	ben = fixture_subscribe_as("sw-ben", NWD__V1__KIND__RISK_ALERT,
	    "YP-C04", "ben-c04");
	on(0);
	a1 = alert("YP-C04", "first");
	fixture_route_of(a1->message_id, "sw-ben", route, sizeof(route));
	assert_string_equal(route, "live,queued");
	receives(ben, a1->message_id);
	delivered_by(1, a1->message_id);
	fixture_nothing_more(ben);
	harness_wait_sql_int("nwd_auditor", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.deliveries WHERE message_id = '%s' AND principal = 'sw-ben' "
	    "AND state = 'acked'", a1->message_id);
	nwd_close(ben);
	/* nwdd-2 has told the others that ben's session is gone. */
	if (!harness_wait_log(d[0], "event=cluster_live instance=nwdd-test-2 "
	    "principal=sw-ben subscriptions=0", WAIT_MS))
		fail_msg("nwdd-1 did not hear that sw-ben left nwdd-2");
	a2 = alert("YP-C04", "second");
	a3 = alert("YP-C04", "third");
	fixture_route_of(a2->message_id, "sw-ben", route, sizeof(route));
	assert_string_equal(route, "queued");
	ben = fixture_subscribe_as("sw-ben", NWD__V1__KIND__RISK_ALERT,
	    "YP-C04", "ben-c04");
	receives(ben, a2->message_id);
	receives(ben, a3->message_id);
	fixture_nothing_more(ben);
	nwd_close(ben);
	nwd_publish_ack_free(a1);
	nwd_publish_ack_free(a2);
	nwd_publish_ack_free(a3);
}

#define SEQ_N	200

/*
 * SEQ_N alerts one after another through nwdd-1 to a subscriber on
 * subscriber_on: each reaches it, as itself, before the next is
 * published, and nothing more comes.
 */
static void
sequential(int subscriber_on, const char *subject)
{
	struct nwd_client	*hub, *plo;
	Nwd__V1__PublishAck	*ack;
	Nwd__V1__Deliver	*dl;
	struct fixture_alert	 a;
	char			 err[512];
	int			 i;

	on(0);
	fixture_allocate(subject, "hub:norwich", 0);
	on(subscriber_on);
	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    subject, NULL);
	on(0);
	plo = harness_connect_as("plo-ana");
	fixture_alert_init(&a, subject,
	    NWD__V1__RISK_ALERT__CATEGORY__SELF_HARM, "one after another");
	for (i = 0; i < SEQ_N; i++) {
		ack = NULL;
		if (nwd_publish(plo, &a.env, &ack, err, sizeof(err)) != NWD_OK)
			fail_msg("publish: %s", err);
		dl = NULL;
		if (nwd_next_delivery(hub, WAIT_MS, &dl, err, sizeof(err)) !=
		    NWD_OK)
			fail_msg("delivery %d: %s", i, err);
		assert_string_equal(dl->envelope->header->message_id,
		    ack->message_id);
		nwd_deliver_free(dl);
		nwd_publish_ack_free(ack);
	}
	fixture_nothing_more(hub);
	nwd_close(plo);
	nwd_close(hub);
}

/*
 * Alerts published one after another reach a subscriber on the
 * publisher's instance and one on another instance alike, each once and
 * in turn.  (How long a delivery through another instance takes is the
 * benchmark's: BENCH_ONLY=scale, its cross run; not timed here.)
 */
static void
test_sequential_alerts_same_and_cross_instance(void **state)
{
	(void)state;
	sequential(0, "YP-C06");
	sequential(1, "YP-C07");
}

/*
 * nwdd-1's cluster connection is cut (its backend terminated) while
 * nwdd-2 records an allocation: nwdd-1 says so, connects again, and a
 * publish through it then decides with the allocation it did not hear
 * of.
 */
static void
test_cluster_connection_lost(void **state)
{
	struct nwd_client	*hub;
	Nwd__V1__PublishAck	*ack;
	size_t			 mark;

	(void)state;
	mark = harness_log_mark(d[0]);
	assert_int_equal(harness_sql_int("postgres", "SELECT count("
	    "pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
	    "application_name = 'nwdd cluster nwdd-test-1'"), 1);
	on(1);
	fixture_allocate("YP-C08", "hub:norwich", 0);
	if (!harness_wait_log_after(d[0], mark,
	    "event=cluster_connection_lost", WAIT_MS) ||
	    !harness_wait_log_after(d[0], mark, "event=cluster_listening",
	    WAIT_MS))
		fail_msg("nwdd-1 did not connect again");
	on(0);
	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    "YP-C08", NULL);
	ack = alert("YP-C08", "after the connection came back");
	assert_false(ack->duty_desk);
	assert_int_equal(ack->recipients, 1);
	receives(hub, ack->message_id);
	fixture_nothing_more(hub);
	nwd_close(hub);
	nwd_publish_ack_free(ack);
}

/*
 * nwdd-3, holding hubsys-norwich's only live session, is killed: from the
 * others' next heartbeat it is not live (its cluster connection is
 * gone), so a publish through nwdd-1 does not count that session as
 * reached and the duty desk has the alert instead.  nwdd-3 then starts
 * again under its name and continues its chain.
 */
static void
test_killed_instance_is_not_counted(void **state)
{
	struct nwd_client	*hub;
	Nwd__V1__PublishAck	*ack;
	char			 route[64];
	size_t			 mark;

	(void)state;
	on(0);
	fixture_allocate("YP-C09", "hub:norwich", 0);
	on(2);
	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    "YP-C09", NULL);
	mark = harness_log_mark(d[0]);
	assert_int_equal(harness_daemon_signal(d[2], SIGKILL), 0);
	assert_int_equal(harness_daemon_wait_exit(d[2], WAIT_MS),
	    128 + SIGKILL);
	harness_daemon_stop(d[2]);
	d[2] = NULL;
	nwd_close(hub);
	if (!harness_wait_log_after(d[0], mark, "event=cluster_peer "
	    "instance=nwdd-test-3 state=gone", WAIT_MS))
		fail_msg("nwdd-1 still counts the killed nwdd-3 as live");
	on(0);
	ack = alert("YP-C09", "while nwdd-3 is down");
	fixture_route_of(ack->message_id, "hubsys-norwich", route,
	    sizeof(route));
	assert_string_equal(route, "unreachable");
	assert_true(ack->duty_desk);
	nwd_publish_ack_free(ack);
	/* Back under its own name: the others count it again. */
	mark = harness_log_mark(d[0]);
	assert_non_null(d[2] = harness_daemon_start("instance = nwdd-test-3\n"
	    "log_level = debug"));
	if (!harness_wait_log_after(d[0], mark, "event=cluster_peer "
	    "instance=nwdd-test-3 policy=", WAIT_MS))
		fail_msg("nwdd-1 does not see nwdd-3 back");
}

/* Writes the example policy to path, with extra appended. */
static void
write_policy(const char *path, const char *extra)
{
	char	src[1024], buf[8192];
	FILE	*in, *out;
	size_t	n;

	snprintf(src, sizeof(src), "%s/deploy/policy.nwd", NWD_SRCDIR);
	assert_non_null(in = fopen(src, "r"));
	assert_non_null(out = fopen(path, "w"));
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fputs(extra, out);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

/*
 * A fourth instance started with another version of the policy: the
 * others say so at once, refuse publishes once the difference has
 * lasted longer than a reload takes, and serve again as soon as the
 * fourth reloads the same policy.
 */
static void
test_policy_versions_must_agree(void **state)
{
	struct harness_daemon	*d4;
	struct nwd_client	*plo;
	Nwd__V1__PublishAck	*ack = NULL;
	struct fixture_alert	 a;
	char			 path[1024], conf[1200], err[512];
	int			 i;

	(void)state;
	snprintf(path, sizeof(path), "%s/policy-other.nwd",
	    getenv("NWD_TEST_TMP"));
	write_policy(path, "\n# another version of the agreement\n");
	snprintf(conf, sizeof(conf), "instance = nwdd-policy-b\n"
	    "log_level = debug\npolicy = %s", path);
	assert_non_null(d4 = harness_daemon_start(conf));
	if (!harness_wait_log(d[0], "event=cluster_policy_mismatch "
	    "instance=nwdd-policy-b", WAIT_MS) ||
	    !harness_wait_log(d[0], "event=cluster_policy_refusing "
	    "instance=nwdd-policy-b", WAIT_MS + 10000))
		fail_msg("nwdd-1 did not refuse to serve beside another "
		    "policy");
	on(0);
	plo = harness_connect_as("plo-ana");
	fixture_alert_init(&a, "YP-C05",
	    NWD__V1__RISK_ALERT__CATEGORY__SELF_HARM,
	    "while the policies differ");
	assert_int_equal(nwd_publish(plo, &a.env, &ack, err, sizeof(err)),
	    NWD_ERR_UNAVAILABLE);
	if (strstr(err, "disagree on the policy") == NULL)
		fail_msg("refused, but not for the policy: %s", err);
	/* The fourth reloads the same agreement: all serve again. */
	write_policy(path, "");
	assert_int_equal(harness_daemon_signal(d4, SIGHUP), 0);
	for (i = 0; i < NDAEMONS; i++)
		if (!harness_wait_log(d[i], "event=cluster_policy_agreed",
		    WAIT_MS))
			fail_msg("nwdd-test-%d did not see the policies agree",
			    i + 1);
	assert_int_equal(nwd_publish(plo, &a.env, &ack, err, sizeof(err)),
	    NWD_OK);
	nwd_publish_ack_free(ack);
	nwd_close(plo);
	assert_int_equal(harness_daemon_stop(d4), 0);
}

/*
 * sw-ben's durable subscription is away; nwdd-2 records the allocation
 * that lets him have YP-C10's alerts and queues one for him; he comes
 * back through nwdd-1 at once: its replay decides with that allocation
 * (it waits for nwdd-1 to have it) and delivers, rather than refusing at
 * replay.
 */
static void
test_replay_decides_with_another_instances_allocation(void **state)
{
	struct nwd_client	*ben;
	Nwd__V1__PublishAck	*ack;
	char			 route[64];

	(void)state;
	on(0);
	ben = fixture_subscribe_as("sw-ben", NWD__V1__KIND__RISK_ALERT,
	    "YP-C10", "ben-c10");
	nwd_close(ben);
	on(1);
	fixture_allocate("YP-C10", "sw:north", 0);
	ack = alert("YP-C10", "queued while he was away");
	fixture_route_of(ack->message_id, "sw-ben", route, sizeof(route));
	assert_string_equal(route, "queued");
	on(0);
	ben = fixture_subscribe_as("sw-ben", NWD__V1__KIND__RISK_ALERT,
	    "YP-C10", "ben-c10");
	receives(ben, ack->message_id);
	fixture_nothing_more(ben);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = "
	    "'deliver_refused' AND recipient = 'sw-ben'", ack->message_id),
	    0);
	nwd_close(ben);
	nwd_publish_ack_free(ack);
}

/* Every instance's chain is intact, and each wrote one (stopped first:
 * each signs its last checkpoint as it stops). */
static void
test_every_chain_verifies(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < NDAEMONS; i++) {
		assert_int_equal(harness_daemon_stop(d[i]), 0);
		d[i] = NULL;
	}
	fixture_verify_chains("nwdd-test-1", "nwdd-test-2", "nwdd-test-3",
	    "nwdd-policy-b", NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allocation_on_one_alert_through_another),
		cmocka_unit_test(test_message_waits_for_the_changes_before_it),
		cmocka_unit_test(test_session_gone_before_its_instance_heard),
		cmocka_unit_test(test_live_subscriber_on_another_instance),
		cmocka_unit_test(test_duty_desk_on_another_instance),
		cmocka_unit_test(test_durable_on_another_instance),
		cmocka_unit_test(
		    test_replay_decides_with_another_instances_allocation),
		cmocka_unit_test(test_cluster_connection_lost),
		cmocka_unit_test(test_killed_instance_is_not_counted),
		cmocka_unit_test(test_sequential_alerts_same_and_cross_instance),
		cmocka_unit_test(test_policy_versions_must_agree),
		cmocka_unit_test(test_every_chain_verifies),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
