/*
 * Unit tests for daemon/grant.c, the live grants of break-glass.
 *
 * - A grant covers its principal, subject and kinds from its start until
 *   its expiry (not at the expiry itself), and nothing else.
 * - Ending it ends it at once; ending what is not live changes nothing.
 * - The oldest of two covering grants is the one that decides.
 * - put replaces a grant of the same id; clear forgets all; prune forgets
 *   those no longer live.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "grant.h"

#define ALERT	3
#define MISSING	2
#define HOUR	INT64_C(3600000)
#define T0	INT64_C(1798790400000)	/* 2027-01-01 */

static const char ID1[] = "0b1b2c3d-0000-4000-8000-000000000001";
static const char ID2[] = "0b1b2c3d-0000-4000-8000-000000000002";

static void
put(struct grant_table *t, const char *id, const char *who,
    const char *subject, uint32_t kinds, int64_t from, int64_t until)
{
	struct grant g;

	memset(&g, 0, sizeof(g));
	g.id = id;
	g.principal = who;
	g.role = "duty";
	g.subject = subject;
	g.rule = "duty-emergency";
	g.kinds = kinds;
	g.from_ms = from;
	g.until_ms = until;
	assert_int_equal(grant_table_put(t, &g), 0);
}

static void
test_covers_within_its_window(void **state)
{
	struct grant_table	*t = grant_table_new();
	const struct grant	*g;

	(void)state;
	put(t, ID1, "duty-mash", "YP-003", 1u << ALERT, T0, T0 + 4 * HOUR);
	g = grant_covering(t, "duty-mash", "YP-003", ALERT, T0);
	assert_non_null(g);
	assert_string_equal(g->id, ID1);
	assert_string_equal(g->rule, "duty-emergency");
	assert_non_null(grant_covering(t, "duty-mash", "YP-003", ALERT,
	    T0 + 4 * HOUR - 1));
	assert_non_null(grant_covering(t, "duty-mash", "YP-003", 0, T0));
	/* Not at the expiry, not before the start. */
	assert_null(grant_covering(t, "duty-mash", "YP-003", ALERT,
	    T0 + 4 * HOUR));
	assert_null(grant_covering(t, "duty-mash", "YP-003", ALERT, T0 - 1));
	/* Not another kind, subject or principal. */
	assert_null(grant_covering(t, "duty-mash", "YP-003", MISSING, T0));
	assert_null(grant_covering(t, "duty-mash", "YP-001", ALERT, T0));
	assert_null(grant_covering(t, "sw-ben", "YP-003", ALERT, T0));
	assert_null(grant_covering(t, "duty-mash", "YP-003", 40, T0));
	grant_table_free(t);
}

static void
test_end(void **state)
{
	struct grant_table	*t = grant_table_new();
	const struct grant	*g;

	(void)state;
	put(t, ID1, "duty-mash", "YP-003", 1u << ALERT, T0, T0 + 4 * HOUR);
	assert_int_equal(grant_table_end(t, ID1, T0 + HOUR), 1);
	assert_null(grant_covering(t, "duty-mash", "YP-003", ALERT,
	    T0 + HOUR));
	assert_non_null(g = grant_table_find(t, ID1));
	assert_int_equal(g->ended_ms, T0 + HOUR);
	assert_false(grant_live(g, T0 + HOUR));
	assert_true(grant_live(g, T0 + HOUR - 1));
	/* Ended already, or unknown: nothing changes. */
	assert_int_equal(grant_table_end(t, ID1, T0 + 2 * HOUR), 0);
	assert_int_equal(g->ended_ms, T0 + HOUR);
	assert_int_equal(grant_table_end(t, ID2, T0), 0);
	grant_table_free(t);
}

static void
test_oldest_decides(void **state)
{
	struct grant_table	*t = grant_table_new();

	(void)state;
	put(t, ID2, "duty-mash", "YP-003", 1u << ALERT, T0 + HOUR,
	    T0 + 5 * HOUR);
	put(t, ID1, "duty-mash", "YP-003", 1u << ALERT, T0, T0 + 2 * HOUR);
	assert_string_equal(grant_covering(t, "duty-mash", "YP-003", ALERT,
	    T0 + HOUR)->id, ID1);
	assert_string_equal(grant_covering(t, "duty-mash", "YP-003", ALERT,
	    T0 + 3 * HOUR)->id, ID2);
	grant_table_free(t);
}

static void
test_put_clear_prune(void **state)
{
	struct grant_table *t = grant_table_new();

	(void)state;
	put(t, ID1, "duty-mash", "YP-003", 1u << ALERT, T0, T0 + HOUR);
	put(t, ID1, "duty-mash", "YP-003", 1u << MISSING, T0, T0 + HOUR);
	assert_int_equal(grant_table_count(t), 1);
	assert_null(grant_covering(t, "duty-mash", "YP-003", ALERT, T0));
	assert_non_null(grant_covering(t, "duty-mash", "YP-003", MISSING, T0));
	put(t, ID2, "sw-ben", "YP-001", 1u << ALERT, T0, T0 + 3 * HOUR);
	assert_int_equal(grant_count_live(t, "sw-ben", T0), 1);
	assert_int_equal(grant_count_live(t, "duty-mash", T0 + HOUR), 0);
	assert_int_equal(grant_table_prune(t, T0 + 2 * HOUR), 1);
	assert_int_equal(grant_table_count(t), 1);
	assert_null(grant_table_find(t, ID1));
	assert_non_null(grant_table_find(t, ID2));
	grant_table_clear(t);
	assert_int_equal(grant_table_count(t), 0);
	assert_null(grant_covering(t, "sw-ben", "YP-001", ALERT, T0));
	grant_table_free(t);
	grant_table_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_covers_within_its_window),
		cmocka_unit_test(test_end),
		cmocka_unit_test(test_oldest_decides),
		cmocka_unit_test(test_put_clear_prune),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
