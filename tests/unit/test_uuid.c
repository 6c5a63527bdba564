/*
 * Unit tests for daemon/uuid.c: the message ids (version 7) and the
 * transaction marks (version 4).
 *
 * Version 7: the form 8-4-4-4-12 in lower case, the version and variant
 * bits, the millisecond time in the first 48 bits (read back from the
 * text), ids of later milliseconds sorting after earlier ones as text (so
 * as PostgreSQL's uuid type, which compares bytes, sorts them), the random
 * bits differing between two ids of one millisecond, and the bounds of the
 * time.  Version 4: form, version and variant.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "uuid.h"

/* Asserts the form 8-4-4-4-12 of lower-case hex digits, the version and the
 * RFC 9562 variant (10xx). */
static void
assert_uuid_form(const char *u, char version)
{
	size_t i;

	assert_int_equal(strlen(u), 36);
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(u[i], '-');
		else
			assert_non_null(strchr("0123456789abcdef", u[i]));
	}
	assert_int_equal(u[14], version);
	assert_non_null(strchr("89ab", u[19]));
}

/* The 48-bit time in the first 12 hex digits of a version 7 id. */
static int64_t
v7_time(const char *u)
{
	char hex[13];

	memcpy(hex, u, 8);
	memcpy(hex + 8, u + 9, 4);
	hex[12] = '\0';
	return (int64_t)strtoll(hex, NULL, 16);
}

static void
test_v7_form_and_time(void **state)
{
	/* 2026-11-23 20:00:00.123 UTC, the epoch, and the last millisecond
	 * that 48 bits hold. */
	const int64_t	times[] = { 1795464000123, 0, 0xffffffffffff };
	char		u[UUID_STR_LEN];
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		assert_int_equal(uuid_generate_v7(times[i], u), 0);
		assert_uuid_form(u, '7');
		assert_int_equal(v7_time(u), times[i]);
	}
	assert_int_equal(uuid_generate_v7(1795464000123, u), 0);
	assert_memory_equal(u, "01a209fe-727b-7", 15);
}

static void
test_v7_out_of_range(void **state)
{
	char u[UUID_STR_LEN] = "untouched";

	(void)state;
	assert_int_equal(uuid_generate_v7(-1, u), -1);
	assert_int_equal(uuid_generate_v7((int64_t)1 << 48, u), -1);
	assert_int_equal(uuid_generate_v7(INT64_MAX, u), -1);
}

static void
test_v7_sorts_by_time(void **state)
{
	char	prev[UUID_STR_LEN], u[UUID_STR_LEN];
	int64_t	t;

	(void)state;
	assert_int_equal(uuid_generate_v7(1795464000000, prev), 0);
	/* Across a carry of every byte boundary of the time, too. */
	for (t = 1795464000001; t < 1795464000001 + 1000; t++) {
		assert_int_equal(uuid_generate_v7(t, u), 0);
		assert_true(strcmp(prev, u) < 0);
		memcpy(prev, u, sizeof(u));
	}
	assert_int_equal(uuid_generate_v7(0xfeffffffff, prev), 0);
	assert_int_equal(uuid_generate_v7(0xff00000000, u), 0);
	assert_true(strcmp(prev, u) < 0);
}

static void
test_v7_random_part_differs(void **state)
{
	char	a[UUID_STR_LEN], b[UUID_STR_LEN];
	int	i;

	(void)state;
	/* 74 random bits: a collision in 100 tries means no randomness. */
	for (i = 0; i < 100; i++) {
		assert_int_equal(uuid_generate_v7(1795464000123, a), 0);
		assert_int_equal(uuid_generate_v7(1795464000123, b), 0);
		assert_memory_equal(a, b, 14);
		assert_string_not_equal(a + 14, b + 14);
	}
}

static void
test_v4_form(void **state)
{
	char	a[UUID_STR_LEN], b[UUID_STR_LEN];

	(void)state;
	assert_int_equal(uuid_generate_v4(a), 0);
	assert_int_equal(uuid_generate_v4(b), 0);
	assert_uuid_form(a, '4');
	assert_uuid_form(b, '4');
	assert_string_not_equal(a, b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v7_form_and_time),
		cmocka_unit_test(test_v7_out_of_range),
		cmocka_unit_test(test_v7_sorts_by_time),
		cmocka_unit_test(test_v7_random_part_differs),
		cmocka_unit_test(test_v4_form),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
