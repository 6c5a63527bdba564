/*
 * Faults under load (G1, G3, GUARANTEES.md): a publisher process publishes
 * without pause while the daemon is killed with SIGKILL, or PostgreSQL is
 * stopped with -m immediate.  Afterwards every publish that got a PublishAck
 * has its audit rows, no message was stored twice, a durable subscriber
 * receives every acknowledged message, and the audit chain verifies.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixtures.h"
#include "harness.h"
#include "nwd.h"

#define WAIT_MS		15000
#define MAX_ACKED	20000

static const char *instance_config = "instance = nwdd-faults\n"
    "checkpoint_rows = 50\n";

/* The daemon of the running test, stopped by teardown if a test fails. */
static struct harness_daemon *current;

/*
 * Starts (or restarts) the daemon; a restart listens on the port of the
 * first start, where the load process keeps reconnecting.
 */
static struct harness_daemon *
start_daemon(int port)
{
	char extra[256];

	if (port == 0)
		return current = harness_daemon_start(instance_config);
	snprintf(extra, sizeof(extra), "%slisten = 127.0.0.1:%d\n",
	    instance_config, port);
	return current = harness_daemon_start(extra);
}

static int
teardown(void **state)
{
	if (current != NULL)
		harness_daemon_stop(current);
	current = NULL;
	return 0;
}

/*
 * SIGKILL mid-load: the restarted daemon continues the chain, every
 * acknowledged publish has its rows, and the durable subscriber receives
 * every acknowledged message.
 */
static void
test_sigkill_mid_load(void **state)
{
	struct harness_daemon	*d;
	struct nwd_client	*c;
	Nwd__V1__Kind		 k = NWD__V1__KIND__RISK_ALERT;
	const char		*subjects[1] = { "YP-777" };
	Nwd__V1__Deliver	*dv;
	enum nwd_status		 st;
	char			 path[512], mid[40], err[512], sql[256];
	size_t			 acked, got = 0;
	uint64_t		 id;
	int			 kills, port;
	pid_t			 load;

	snprintf(path, sizeof(path), "%s/acked-kill", getenv("NWD_TEST_TMP"));
	d = start_daemon(0);
	assert_non_null(d);
	port = harness_daemon_port(d);
	c = harness_connect_as("case-system");
	st = fixture_publish_kind(c, NWD__V1__KIND__ALLOCATION, "YP-777",
	    NULL, mid, err, sizeof(err));
	assert_int_equal(st, NWD_OK);
	nwd_close(c);
	/* A durable subscriber that is away for the whole load. */
	c = harness_connect_as("hubsys-norwich");
	assert_int_equal(nwd_subscribe(c, &k, 1, subjects, 1, "fault-feed",
	    &id, err, sizeof(err)), NWD_OK);
	nwd_close(c);

	load = fixture_load_start(0, "YP-777", "fault test", path,
	    MAX_ACKED, 1);
	for (kills = 1; kills <= 2; kills++) {
		fixture_wait_lines(path, kills * 100, WAIT_MS);
		assert_int_equal(harness_daemon_signal(d, SIGKILL), 0);
		harness_daemon_stop(d);
		current = NULL;
		d = start_daemon(port);
		assert_non_null(d);
	}
	fixture_wait_lines(path, 300, WAIT_MS);
	fixture_stop_child(load, path);

	acked = fixture_check_published_once(path);
	assert_true(acked >= 300);
	/* Nothing stored twice, however the kills fell. */
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) - "
	    "count(DISTINCT id) FROM nwd.messages"), 0);
	/* The subscriber gets at least every acknowledged message. */
	c = harness_connect_as("hubsys-norwich");
	assert_int_equal(nwd_subscribe(c, &k, 1, subjects, 1, "fault-feed",
	    &id, err, sizeof(err)), NWD_OK);
	for (;;) {
		dv = NULL;
		st = nwd_next_delivery(c, 3000, &dv, err, sizeof(err));
		if (st != NWD_OK)
			break;
		snprintf(sql, sizeof(sql), "%s", dv->envelope->header->message_id);
		nwd_ack(c, dv->delivery_id, sql, err, sizeof(err));
		nwd_deliver_free(dv);
		got++;
	}
	assert_int_equal(st, NWD_ERR_TIMEOUT);
	nwd_close(c);
	if (got < acked)
		fail_msg("the durable subscriber got %zu of %zu acknowledged "
		    "messages", got, acked);
	print_message("SIGKILL x2 mid-load: %zu publishes acknowledged, all "
	    "with their rows; the durable subscriber received %zu\n", acked,
	    got);
	current = NULL;
	assert_int_equal(harness_daemon_stop(d), 0);
	fixture_verify_chains("nwdd-faults", NULL);
}

/*
 * PostgreSQL stopped with -m immediate mid-load, twice: publishes are
 * refused while it is away, every acknowledged one has its rows, and the
 * chain verifies.
 */
static void
test_database_killed_mid_load(void **state)
{
	struct harness_daemon	*d;
	char			 path[512];
	size_t			 acked, mark;
	int			 round;
	pid_t			 load;

	snprintf(path, sizeof(path), "%s/acked-pg", getenv("NWD_TEST_TMP"));
	d = start_daemon(0);
	assert_non_null(d);
	load = fixture_load_start(0, "YP-777", "fault test", path,
	    MAX_ACKED, 1);
	for (round = 1; round <= 2; round++) {
		fixture_wait_lines(path, fixture_count_lines(path) + 100,
		    WAIT_MS);
		mark = harness_log_mark(d);
		assert_int_equal(harness_pg_kill(), 0);
		assert_true(harness_wait_log_after(d, mark,
		    "store: database unavailable", WAIT_MS));
		mark = harness_log_mark(d);
		assert_int_equal(harness_pg_start(), 0);
		assert_true(harness_wait_log_after(d, mark, "store: state=ready",
		    30000));
	}
	fixture_wait_lines(path, fixture_count_lines(path) + 50, WAIT_MS);
	fixture_stop_child(load, path);
	acked = fixture_check_published_once(path);
	assert_true(acked >= 250);
	print_message("PostgreSQL stopped -m immediate x2 mid-load: %zu "
	    "publishes acknowledged, all with their rows\n", acked);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) - "
	    "count(DISTINCT (instance, seq)) FROM nwd.audit_events"), 0);
	current = NULL;
	assert_int_equal(harness_daemon_stop(d), 0);
	fixture_verify_chains("nwdd-faults", NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_sigkill_mid_load, teardown),
		cmocka_unit_test_teardown(test_database_killed_mid_load,
		    teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("faults", tests, NULL, NULL);
}
