/*
 * Integration test of retention (issue 4): nwdd purges the bodies that
 * have outlived their kind's retention period, and audits each purge in
 * the same transaction.  Real PostgreSQL, real daemon.
 *
 * nwdd runs with risk_alert bodies kept 1 day, allocations 3650 days, and
 * a purge every second.  A RiskAlert is published for real; a copy of it
 * dated 30 days ago and an allocation dated 30 days ago are added by the
 * database superuser (nothing else can make a message old).  The test
 * waits for the purge and checks:
 *   - the old alert's body is gone, its header row stays, purged_at is
 *     set, and exactly one 'purge' audit row names it, with the reason;
 *   - the new alert and the old allocation keep their bodies;
 *   - the round logs what it purged, and purged it once.
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

#include "fixtures.h"
#include "harness.h"
#include "nwd.h"

#define WAIT_MS		15000

static struct harness_daemon *daemon_main;

/* plo-ana raises a RiskAlert; returns its message id in mid. */
static void
alert(const char *subject, char mid[40])
{
	struct fixture_alert a;

	fixture_alert_init(&a, subject,
	    NWD__V1__RISK_ALERT__CATEGORY__CRIMINAL_EXPLOITATION,
	    "seen with older males at the station");
	fixture_publish_as("plo-ana", &a.env, mid, 40);
}

/* A copy of message mid, as kind, created days ago; its id into out. */
static void
old_copy(const char *mid, int kind, int days, char out[40])
{
	char sql[1024];

	snprintf(sql, sizeof(sql), "INSERT INTO nwd.messages (id, kind, "
	    "subject, sender, agency, marking, priority, legal_basis, "
	    "created_at, policy_version, instance, body, key_id) "
	    "SELECT gen_random_uuid(), %d, subject, sender, agency, marking, "
	    "priority, legal_basis, date_trunc('milliseconds', now()) - "
	    "interval '%d days', policy_version, instance, body, key_id "
	    "FROM nwd.messages WHERE id = '%s' RETURNING id", kind, days, mid);
	if (harness_sql("postgres", sql, out, 40) != 0)
		fail_msg("copy of %s: %s", mid, out);
	/* psql prints the id, then "INSERT 0 1" after a RETURNING. */
	out[36] = '\0';
}

static int
group_setup(void **state)
{
	(void)state;
	daemon_main = harness_daemon_start("retention = default:1, "
	    "allocation:3650\npurge_interval = 1\n");
	return daemon_main != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	return harness_daemon_stop(daemon_main) == 0 ? 0 : -1;
}

static void
test_expired_bodies_are_purged_and_audited(void **state)
{
	char	mid[40], old_alert[40], old_alloc[40];

	(void)state;
	alert("YP-RET-1", mid);
	old_copy(mid, NWD__V1__KIND__RISK_ALERT, 30, old_alert);
	old_copy(mid, NWD__V1__KIND__ALLOCATION, 30, old_alloc);

	/* The purge and its audit row arrive together. */
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'purge' AND message_id = '%s'",
	    old_alert);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.messages WHERE id = '%s' AND body IS NULL AND purged_at IS "
	    "NOT NULL AND subject = 'YP-RET-1'", old_alert), 1);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'purge' AND message_id = '%s' "
	    "AND subject = 'YP-RET-1' AND reason LIKE 'retention: risk_alert "
	    "bodies are kept 1 days'", old_alert), 1);

	/* The new alert and the old allocation keep their bodies. */
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.messages WHERE id IN ('%s', '%s') AND body IS NOT NULL AND "
	    "purged_at IS NULL", mid, old_alloc), 2);

	/* The round that purged it says so, and purged it once. */
	assert_true(harness_wait_log(daemon_main, "event=purge bodies=1",
	    WAIT_MS));
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'purge'"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expired_bodies_are_purged_and_audited),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("retention", tests, group_setup,
	    group_teardown);
}
