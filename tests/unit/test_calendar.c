/*
 * Unit tests for daemon/calendar.c: Europe/London local time without the
 * process time zone, the calendar file, and the deadline arithmetic of
 * S14 to S16.  Expected times are written as UTC and converted with
 * timegm(), which does not depend on TZ; the property test compares
 * calendar_local() with the C library's Europe/London (tzdata).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "calendar.h"

#define NAME		"test.cal"
#ifndef ZONEINFO	/* -DZONEINFO=\"/nowhere\" tries the skip */
#define ZONEINFO	"/usr/share/zoneinfo/Europe/London"
#endif
#define HOUR		INT64_C(3600000)

/*
 * The fixture: England and Wales's bank holidays of 2026 and 2027 and one
 * school year.  Line numbers matter to no test.
 */
static const char fixture[] =
	"# test calendar\n"
	"covers 2026-01-01 2027-12-31\n"
	"holiday 2026-01-01 New Year's Day\n"
	"holiday 2026-04-03 Good Friday\n"
	"holiday 2026-04-06 Easter Monday\n"
	"holiday 2026-05-04 Early May bank holiday\n"
	"holiday 2026-05-25 Spring bank holiday\n"
	"holiday 2026-08-31 Summer bank holiday\n"
	"holiday 2026-12-25 Christmas Day\n"
	"holiday 2026-12-28 Boxing Day (substitute day)\n"
	"holiday 2027-01-01 New Year's Day\n"
	"holiday 2027-03-26 Good Friday\n"
	"holiday 2027-03-29 Easter Monday\n"
	"holiday 2027-05-03 Early May bank holiday\n"
	"holiday 2027-05-31 Spring bank holiday\n"
	"holiday 2027-08-30 Summer bank holiday\n"
	"holiday 2027-12-27 Christmas Day (substitute day)\n"
	"holiday 2027-12-28 Boxing Day (substitute day)\n"
	"term 2026-09-03 2026-12-18 autumn\n"
	"closed 2026-10-26 2026-10-30 autumn half-term\n"
	"inset 2026-11-02\n"
	"term 2027-01-04 2027-03-25 spring\n"
	"inset 2027-01-04   # first day of term\n"
	"closed 2027-02-15 2027-02-19 spring half-term\n"
	"term 2027-04-12 2027-07-21 summer\n"
	"closed 2027-05-31 2027-06-04 summer half-term\n";

/* Milliseconds of a UTC time, computed without the calendar. */
static int64_t
utc(int y, int m, int d, int hh, int mm)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	return (int64_t)timegm(&tm) * 1000;
}

static struct calendar *
fixture_calendar(void)
{
	char		 err[512] = "";
	struct calendar	*cal;

	cal = calendar_parse(fixture, strlen(fixture), NAME, err, sizeof(err));
	if (cal == NULL)
		fail_msg("the fixture does not parse: %s", err);
	return cal;
}

static int
setup(void **state)
{
	*state = fixture_calendar();
	return 0;
}

static int
teardown(void **state)
{
	calendar_free(*state);
	return 0;
}

/* Asserts that ms shows as want ("2026-10-25 01:30:00 BST"). */
static void
assert_local(int64_t ms, const char *want)
{
	char got[64];

	calendar_format(ms, got, sizeof(got));
	assert_string_equal(got, want);
}

/* --- Local time ----------------------------------------------------------- */

static void
test_local_fields(void **state)
{
	struct calendar_tm tm;

	(void)state;
	/* Summer: BST; a Wednesday; milliseconds kept. */
	calendar_local(utc(2026, 7, 1, 11, 59) + 59 * 1000 + 234, &tm);
	assert_int_equal(tm.year, 2026);
	assert_int_equal(tm.month, 7);
	assert_int_equal(tm.day, 1);
	assert_int_equal(tm.hour, 12);
	assert_int_equal(tm.minute, 59);
	assert_int_equal(tm.second, 59);
	assert_int_equal(tm.millisecond, 234);
	assert_int_equal(tm.weekday, 3);
	assert_int_equal(tm.utc_offset, 3600);
	/* Winter: GMT; New Year's Eve 23:30 BST would be the next day. */
	calendar_local(utc(2026, 12, 31, 23, 30), &tm);
	assert_int_equal(tm.year, 2026);
	assert_int_equal(tm.month, 12);
	assert_int_equal(tm.day, 31);
	assert_int_equal(tm.hour, 23);
	assert_int_equal(tm.utc_offset, 0);
	assert_int_equal(tm.weekday, 4);
	/* Before 1970: floor, not truncation. */
	calendar_local(-1, &tm);
	assert_int_equal(tm.year, 1969);
	assert_int_equal(tm.month, 12);
	assert_int_equal(tm.day, 31);
	assert_int_equal(tm.hour, 23);
	assert_int_equal(tm.minute, 59);
	assert_int_equal(tm.second, 59);
	assert_int_equal(tm.millisecond, 999);
	assert_int_equal(tm.weekday, 3);
	/* Summer midnight local is 23:00 UTC the day before. */
	calendar_local(utc(2027, 6, 30, 23, 0), &tm);
	assert_int_equal(tm.month, 7);
	assert_int_equal(tm.day, 1);
	assert_int_equal(tm.hour, 0);
	assert_int_equal(tm.weekday, 4);
}

static void
test_local_extremes(void **state)
{
	struct calendar_tm tm;

	(void)state;
	/* Any int64 is a time: nothing overflows. */
	calendar_local(INT64_MIN, &tm);
	assert_in_range(tm.month, 1, 12);
	assert_in_range(tm.hour, 0, 23);
	calendar_local(INT64_MAX, &tm);
	assert_in_range(tm.month, 1, 12);
	assert_in_range(tm.weekday, 0, 6);
}

/* The clocks go forward at 01:00 UTC on the last Sunday of March. */
static void
test_local_spring(void **state)
{
	(void)state;
	assert_local(utc(2026, 3, 29, 0, 59), "2026-03-29 00:59:00 GMT");
	assert_local(utc(2026, 3, 29, 1, 0) - 1000, "2026-03-29 00:59:59 GMT");
	assert_local(utc(2026, 3, 29, 1, 0), "2026-03-29 02:00:00 BST");
	assert_local(utc(2026, 3, 22, 1, 0), "2026-03-22 01:00:00 GMT");
	assert_local(utc(2027, 3, 28, 0, 59), "2027-03-28 00:59:00 GMT");
	assert_local(utc(2027, 3, 28, 1, 0), "2027-03-28 02:00:00 BST");
	/* The last Sunday of March 2026 is the 29th, not the 22nd. */
	assert_local(utc(2026, 3, 28, 12, 0), "2026-03-28 12:00:00 GMT");
}

/* ... and back at 01:00 UTC on the last Sunday of October. */
static void
test_local_autumn(void **state)
{
	(void)state;
	assert_local(utc(2026, 10, 25, 0, 0), "2026-10-25 01:00:00 BST");
	assert_local(utc(2026, 10, 25, 0, 59), "2026-10-25 01:59:00 BST");
	assert_local(utc(2026, 10, 25, 1, 0), "2026-10-25 01:00:00 GMT");
	assert_local(utc(2026, 10, 25, 1, 59), "2026-10-25 01:59:00 GMT");
	assert_local(utc(2026, 10, 18, 1, 0), "2026-10-18 02:00:00 BST");
	assert_local(utc(2027, 10, 31, 0, 59), "2027-10-31 01:59:00 BST");
	assert_local(utc(2027, 10, 31, 1, 0), "2027-10-31 01:00:00 GMT");
	assert_local(utc(2027, 10, 24, 1, 0), "2027-10-24 02:00:00 BST");
}

static void
test_utc_ordinary(void **state)
{
	int64_t ms;

	(void)state;
	assert_int_equal(calendar_utc(2026, 1, 15, 9, 0, &ms), 0);
	assert_int_equal(ms, utc(2026, 1, 15, 9, 0));
	assert_int_equal(calendar_utc(2026, 7, 15, 9, 0, &ms), 0);
	assert_int_equal(ms, utc(2026, 7, 15, 8, 0));
	assert_int_equal(calendar_utc(2028, 2, 29, 23, 59, &ms), 0);
	assert_int_equal(ms, utc(2028, 2, 29, 23, 59));
	/* Summer midnight is the day before in UTC. */
	assert_int_equal(calendar_utc(2027, 7, 1, 0, 0, &ms), 0);
	assert_int_equal(ms, utc(2027, 6, 30, 23, 0));
}

/* 01:00 to 01:59 on the spring Sunday does not exist: forward by the gap. */
static void
test_utc_gap(void **state)
{
	int64_t ms;

	(void)state;
	assert_int_equal(calendar_utc(2026, 3, 29, 0, 59, &ms), 0);
	assert_int_equal(ms, utc(2026, 3, 29, 0, 59));
	assert_int_equal(calendar_utc(2026, 3, 29, 1, 0, &ms), 0);
	assert_int_equal(ms, utc(2026, 3, 29, 1, 0));
	assert_local(ms, "2026-03-29 02:00:00 BST");
	assert_int_equal(calendar_utc(2026, 3, 29, 1, 30, &ms), 0);
	assert_int_equal(ms, utc(2026, 3, 29, 1, 30));
	assert_local(ms, "2026-03-29 02:30:00 BST");
	assert_int_equal(calendar_utc(2026, 3, 29, 2, 0, &ms), 0);
	assert_int_equal(ms, utc(2026, 3, 29, 1, 0));
	assert_int_equal(calendar_utc(2026, 3, 29, 2, 30, &ms), 0);
	assert_int_equal(ms, utc(2026, 3, 29, 1, 30));
	assert_int_equal(calendar_utc(2027, 3, 28, 1, 15, &ms), 0);
	assert_local(ms, "2027-03-28 02:15:00 BST");
}

/* 01:00 to 01:59 on the autumn Sunday happens twice: the first, BST. */
static void
test_utc_repeated(void **state)
{
	int64_t ms;

	(void)state;
	assert_int_equal(calendar_utc(2026, 10, 25, 0, 59, &ms), 0);
	assert_int_equal(ms, utc(2026, 10, 24, 23, 59));
	assert_int_equal(calendar_utc(2026, 10, 25, 1, 0, &ms), 0);
	assert_int_equal(ms, utc(2026, 10, 25, 0, 0));
	assert_int_equal(calendar_utc(2026, 10, 25, 1, 30, &ms), 0);
	assert_int_equal(ms, utc(2026, 10, 25, 0, 30));
	assert_local(ms, "2026-10-25 01:30:00 BST");
	assert_int_equal(calendar_utc(2026, 10, 25, 1, 59, &ms), 0);
	assert_int_equal(ms, utc(2026, 10, 25, 0, 59));
	assert_int_equal(calendar_utc(2026, 10, 25, 2, 0, &ms), 0);
	assert_int_equal(ms, utc(2026, 10, 25, 2, 0));
	assert_local(ms, "2026-10-25 02:00:00 GMT");
	assert_int_equal(calendar_utc(2027, 10, 31, 1, 30, &ms), 0);
	assert_int_equal(ms, utc(2027, 10, 31, 0, 30));
}

static void
test_utc_invalid(void **state)
{
	int64_t ms = 42;

	(void)state;
	assert_int_equal(calendar_utc(2026, 2, 30, 9, 0, &ms), -1);
	assert_int_equal(calendar_utc(2027, 2, 29, 9, 0, &ms), -1);
	assert_int_equal(calendar_utc(2100, 2, 29, 9, 0, &ms), -1);
	assert_int_equal(calendar_utc(2026, 4, 31, 9, 0, &ms), -1);
	assert_int_equal(calendar_utc(2026, 13, 1, 9, 0, &ms), -1);
	assert_int_equal(calendar_utc(2026, 0, 1, 9, 0, &ms), -1);
	assert_int_equal(calendar_utc(2026, 1, 0, 9, 0, &ms), -1);
	assert_int_equal(calendar_utc(2026, 1, 1, 24, 0, &ms), -1);
	assert_int_equal(calendar_utc(2026, 1, 1, 12, 60, &ms), -1);
	assert_int_equal(calendar_utc(2026, 1, 1, -1, 0, &ms), -1);
	assert_int_equal(calendar_utc(0, 1, 1, 0, 0, &ms), -1);
	assert_int_equal(calendar_utc(10000, 1, 1, 0, 0, &ms), -1);
	assert_int_equal(ms, 42);
	assert_int_equal(calendar_utc(2000, 2, 29, 0, 0, &ms), 0);
}

/*
 * Every quarter of an hour of 2026 to 2028 against glibc's Europe/London,
 * and back: calendar_utc() of the local time gives the same moment, except
 * in the repeated hour, where it gives the first (BST) occurrence.
 */
static void
test_local_matches_tzdata(void **state)
{
	struct calendar_tm	 tm;
	struct tm		 lt, earlier;
	char			*saved = NULL;
	const char		*tz;
	time_t			 t, t1, from, to;
	int64_t			 back, want;
	long			 n = 0;

	(void)state;
	if (access(ZONEINFO, R_OK) != 0) {
		print_message("skipped: no %s (apt-get install tzdata)\n",
		    ZONEINFO);
		skip();
	}
	if ((tz = getenv("TZ")) != NULL && (saved = strdup(tz)) == NULL)
		fail_msg("out of memory");
	setenv("TZ", "Europe/London", 1);
	tzset();
	from = (time_t)(utc(2026, 1, 1, 0, 0) / 1000);
	to = (time_t)(utc(2029, 1, 1, 0, 0) / 1000);
	for (t = from; t < to; t += 15 * 60, n++) {
		calendar_local((int64_t)t * 1000, &tm);
		assert_non_null(localtime_r(&t, &lt));
		if (tm.year != lt.tm_year + 1900 || tm.month != lt.tm_mon + 1 ||
		    tm.day != lt.tm_mday || tm.hour != lt.tm_hour ||
		    tm.minute != lt.tm_min || tm.second != lt.tm_sec ||
		    tm.weekday != lt.tm_wday || tm.utc_offset != lt.tm_gmtoff)
			fail_msg("at %lld: calendar %04d-%02d-%02d %02d:%02d "
			    "+%d, tzdata %04d-%02d-%02d %02d:%02d +%ld",
			    (long long)t, tm.year, tm.month, tm.day, tm.hour,
			    tm.minute, tm.utc_offset, lt.tm_year + 1900,
			    lt.tm_mon + 1, lt.tm_mday, lt.tm_hour, lt.tm_min,
			    lt.tm_gmtoff);
		want = (int64_t)t * 1000;
		t1 = t - 3600;
		assert_non_null(localtime_r(&t1, &earlier));
		if (earlier.tm_mday == lt.tm_mday &&
		    earlier.tm_hour == lt.tm_hour &&
		    earlier.tm_min == lt.tm_min)
			want -= HOUR;	/* the second of a repeated hour */
		assert_int_equal(calendar_utc(tm.year, tm.month, tm.day,
		    tm.hour, tm.minute, &back), 0);
		assert_int_equal(back, want);
	}
	assert_int_equal(n, 3 * 365 * 96 + 96);	/* 2028 is a leap year */
	if (saved != NULL) {
		setenv("TZ", saved, 1);
		free(saved);
	} else
		unsetenv("TZ");
	tzset();
}

/* --- Days ----------------------------------------------------------------- */

static void
test_working_days(void **state)
{
	struct calendar	*cal = *state;
	char		 err[256];

	/* A week with no holiday: Monday 2026-06-08 to Sunday. */
	assert_int_equal(calendar_is_working_day(cal, 2026, 6, 8, err,
	    sizeof(err)), 1);
	assert_int_equal(calendar_is_working_day(cal, 2026, 6, 12, err,
	    sizeof(err)), 1);
	assert_int_equal(calendar_is_working_day(cal, 2026, 6, 13, err,
	    sizeof(err)), 0);
	assert_int_equal(calendar_is_working_day(cal, 2026, 6, 14, err,
	    sizeof(err)), 0);
	/* Bank holidays, and the days around them. */
	assert_int_equal(calendar_is_working_day(cal, 2026, 12, 24, err,
	    sizeof(err)), 1);
	assert_int_equal(calendar_is_working_day(cal, 2026, 12, 25, err,
	    sizeof(err)), 0);
	assert_int_equal(calendar_is_working_day(cal, 2026, 12, 28, err,
	    sizeof(err)), 0);
	assert_int_equal(calendar_is_working_day(cal, 2026, 12, 29, err,
	    sizeof(err)), 1);
	assert_int_equal(calendar_is_working_day(cal, 2027, 3, 29, err,
	    sizeof(err)), 0);
	/* The ends of covers. */
	assert_int_equal(calendar_is_working_day(cal, 2026, 1, 2, err,
	    sizeof(err)), 1);
	assert_int_equal(calendar_is_working_day(cal, 2027, 12, 31, err,
	    sizeof(err)), 1);
	assert_int_equal(calendar_is_working_day(cal, 2028, 1, 4, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "calendar does not cover 2028-01-04: "
	    "test.cal lists working days from 2026-01-01 to 2027-12-31");
	assert_int_equal(calendar_is_working_day(cal, 2025, 12, 31, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "calendar does not cover 2025-12-31: "
	    "test.cal lists working days from 2026-01-01 to 2027-12-31");
	assert_int_equal(calendar_is_working_day(cal, 2026, 2, 30, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "no such date 2026-02-30");
}

static void
test_school_days(void **state)
{
	struct calendar	*cal = *state;
	char		 err[256];
	static const struct {
		int	y, m, d, want;
	} days[] = {
		{ 2026, 9, 3, 1 },	/* the first day of the first term */
		{ 2026, 9, 5, 0 },	/* a Saturday in term */
		{ 2026, 10, 23, 1 },	/* Friday before half-term */
		{ 2026, 10, 26, 0 },	/* the half-term week */
		{ 2026, 10, 30, 0 },
		{ 2026, 11, 2, 0 },	/* INSET day */
		{ 2026, 11, 3, 1 },
		{ 2026, 12, 18, 1 },	/* the last day of term */
		{ 2026, 12, 21, 0 },	/* the Christmas holidays */
		{ 2027, 1, 1, 0 },
		{ 2027, 1, 4, 0 },	/* INSET on the first day of term */
		{ 2027, 1, 5, 1 },
		{ 2027, 3, 25, 1 },
		{ 2027, 3, 26, 0 },	/* Good Friday, after the term */
		{ 2027, 4, 9, 0 },	/* Easter holidays */
		{ 2027, 4, 12, 1 },
		{ 2027, 5, 3, 0 },	/* a bank holiday in term */
		{ 2027, 5, 4, 1 },
		{ 2027, 7, 21, 1 },	/* the last day of the last term */
	};
	size_t i;

	for (i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
		if (calendar_is_school_day(cal, days[i].y, days[i].m,
		    days[i].d, err, sizeof(err)) != days[i].want)
			fail_msg("%04d-%02d-%02d: want %d", days[i].y,
			    days[i].m, days[i].d, days[i].want);
	}
	/* Outside the terms listed, school days are not known. */
	assert_int_equal(calendar_is_school_day(cal, 2026, 9, 2, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "calendar does not cover 2026-09-02: "
	    "test.cal lists school terms from 2026-09-03 to 2027-07-21");
	assert_int_equal(calendar_is_school_day(cal, 2027, 7, 22, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "calendar does not cover 2027-07-22: "
	    "test.cal lists school terms from 2026-09-03 to 2027-07-21");
}

static void
test_no_terms(void **state)
{
	static const char text[] = "covers 2026-01-01 2026-12-31\n";
	struct calendar	*cal;
	char		 err[256];
	int64_t		 due;

	(void)state;
	cal = calendar_parse(text, strlen(text), NAME, err, sizeof(err));
	assert_non_null(cal);
	assert_int_equal(calendar_is_working_day(cal, 2026, 3, 2, err,
	    sizeof(err)), 1);
	assert_int_equal(calendar_is_school_day(cal, 2026, 3, 2, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "calendar does not cover 2026-03-02: "
	    "test.cal lists no school terms");
	assert_int_equal(calendar_next_school_day_at(cal,
	    utc(2026, 3, 2, 12, 0), 9, 0, &due, err, sizeof(err)), -1);
	assert_string_equal(err, "calendar does not cover 2026-03-03: "
	    "test.cal lists no school terms");
	calendar_free(cal);
}

/* A working week of six days, lines in any order. */
static void
test_working_week(void **state)
{
	static const char text[] =
	    "holiday 2026-12-26 Boxing Day\n"
	    "week mon tue wed thu fri sat\n"
	    "covers 2026-12-01 2026-12-31\n";
	struct calendar	*cal;
	char		 err[256];
	int64_t		 due;

	(void)state;
	cal = calendar_parse(text, strlen(text), NAME, err, sizeof(err));
	if (cal == NULL)
		fail_msg("%s", err);
	assert_int_equal(calendar_is_working_day(cal, 2026, 12, 19, err,
	    sizeof(err)), 1);
	assert_int_equal(calendar_is_working_day(cal, 2026, 12, 20, err,
	    sizeof(err)), 0);
	assert_int_equal(calendar_is_working_day(cal, 2026, 12, 26, err,
	    sizeof(err)), 0);
	/*
	 * Thursday 24th 10:00 + 2: Friday 25th (not a holiday here), then
	 * Saturday 26th a holiday and Sunday off: Monday 28th.
	 */
	assert_int_equal(calendar_add_working_days(cal,
	    utc(2026, 12, 24, 10, 0), 2, &due, err, sizeof(err)), 0);
	assert_local(due, "2026-12-28 10:00:00 GMT");
	calendar_free(cal);
}

/* --- Deadlines ------------------------------------------------------------ */

/* S14: found Friday 16:00, 72 hours: Monday 16:00. */
static void
test_hours(void **state)
{
	int64_t start, due;

	(void)state;
	start = utc(2026, 6, 12, 15, 0);
	due = calendar_add_hours(start, 72);
	assert_int_equal(due, utc(2026, 6, 15, 15, 0));
	assert_local(due, "2026-06-15 16:00:00 BST");
	assert_int_equal(calendar_add_hours(start, 0), start);
	assert_int_equal(calendar_add_hours(INT64_MAX - 1, 1), INT64_MAX);
	assert_int_equal(calendar_add_hours(0, INT64_MAX), INT64_MAX);
	assert_int_equal(calendar_add_hours(0, INT64_MIN), INT64_MIN);
}

/* A subject-access request: one calendar month, to the end of the day. */
static void
test_add_months(void **state)
{
	int64_t due;

	(void)state;
	assert_int_equal(calendar_add_months(utc(2027, 1, 31, 10, 0), 1,
	    &due), 0);
	assert_local(due, "2027-02-28 23:59:59 GMT");
	assert_int_equal(due, utc(2027, 2, 28, 23, 59) + 59999);
	assert_int_equal(calendar_add_months(utc(2028, 1, 31, 10, 0), 1,
	    &due), 0);
	assert_local(due, "2028-02-29 23:59:59 GMT");
	/* 00:30 BST on 1 April is still 31 March in UTC: the local date
	 * counts. */
	assert_int_equal(calendar_add_months(utc(2027, 3, 31, 23, 30), 1,
	    &due), 0);
	assert_local(due, "2027-05-01 23:59:59 BST");
	assert_int_equal(calendar_add_months(utc(2027, 3, 31, 12, 0), 1,
	    &due), 0);
	assert_local(due, "2027-04-30 23:59:59 BST");
	/* Across the end of the year and across the change of the clocks. */
	assert_int_equal(calendar_add_months(utc(2026, 12, 15, 9, 0), 1,
	    &due), 0);
	assert_local(due, "2027-01-15 23:59:59 GMT");
	assert_int_equal(calendar_add_months(utc(2026, 10, 5, 9, 0), 1,
	    &due), 0);
	assert_local(due, "2026-11-05 23:59:59 GMT");
	assert_int_equal(calendar_add_months(utc(2026, 11, 30, 9, 0), 3,
	    &due), 0);
	assert_local(due, "2027-02-28 23:59:59 GMT");
	assert_int_equal(calendar_add_months(0, -1, &due), -1);
	assert_int_equal(calendar_end_of_day(utc(2027, 6, 1, 22, 30), &due),
	    0);
	assert_local(due, "2027-06-01 23:59:59 BST");
}

/* 72 real hours across the change of the clocks: the wall time moves. */
static void
test_hours_across_changes(void **state)
{
	int64_t start, due;

	(void)state;
	start = utc(2026, 10, 23, 15, 0);
	assert_local(start, "2026-10-23 16:00:00 BST");
	due = calendar_add_hours(start, 72);
	assert_int_equal(due - start, 72 * HOUR);
	assert_local(due, "2026-10-26 15:00:00 GMT");
	start = utc(2027, 3, 26, 16, 0);
	assert_local(start, "2027-03-26 16:00:00 GMT");
	due = calendar_add_hours(start, 72);
	assert_local(due, "2027-03-29 17:00:00 BST");
}

/* S16: Friday 22:00 before a bank-holiday Monday in term: Tuesday 09:00. */
static void
test_s16_next_school_day(void **state)
{
	struct calendar	*cal = *state;
	char		 err[256];
	int64_t		 start, due;

	start = utc(2027, 4, 30, 21, 0);
	assert_local(start, "2027-04-30 22:00:00 BST");
	assert_int_equal(calendar_next_school_day_at(cal, start, 9, 0, &due,
	    err, sizeof(err)), 0);
	assert_local(due, "2027-05-04 09:00:00 BST");
	assert_int_equal(due, utc(2027, 5, 4, 8, 0));
}

static void
test_next_school_day_same_day(void **state)
{
	struct calendar	*cal = *state;
	char		 err[256];
	int64_t		 due;

	/* Tuesday 2026-11-03 07:00, a school day: 09:00 the same day. */
	assert_int_equal(calendar_next_school_day_at(cal,
	    utc(2026, 11, 3, 7, 0), 9, 0, &due, err, sizeof(err)), 0);
	assert_local(due, "2026-11-03 09:00:00 GMT");
	/* 10:00: the start of the next school day. */
	assert_int_equal(calendar_next_school_day_at(cal,
	    utc(2026, 11, 3, 10, 0), 9, 0, &due, err, sizeof(err)), 0);
	assert_local(due, "2026-11-04 09:00:00 GMT");
	/* 09:00 itself: strictly after, so the next day. */
	assert_int_equal(calendar_next_school_day_at(cal,
	    utc(2026, 11, 3, 9, 0), 9, 0, &due, err, sizeof(err)), 0);
	assert_local(due, "2026-11-04 09:00:00 GMT");
	assert_int_equal(calendar_next_school_day_at(cal,
	    utc(2026, 11, 3, 9, 0) - 1, 9, 0, &due, err, sizeof(err)), 0);
	assert_local(due, "2026-11-03 09:00:00 GMT");
	/* Another time of day. */
	assert_int_equal(calendar_next_school_day_at(cal,
	    utc(2026, 11, 3, 9, 0), 8, 45, &due, err, sizeof(err)), 0);
	assert_local(due, "2026-11-04 08:45:00 GMT");
	/* A Friday before a normal weekend. */
	assert_int_equal(calendar_next_school_day_at(cal,
	    utc(2026, 11, 6, 22, 0), 9, 0, &due, err, sizeof(err)), 0);
	assert_local(due, "2026-11-09 09:00:00 GMT");
	assert_int_equal(calendar_next_school_day_at(cal,
	    utc(2026, 11, 3, 9, 0), 24, 0, &due, err, sizeof(err)), -1);
	assert_string_equal(err, "no such time 24:00");
}

/* Half-terms, INSET days, holidays between terms, the end of the list. */
static void
test_next_school_day_across_terms(void **state)
{
	struct calendar	*cal = *state;
	char		 err[256];
	int64_t		 due;

	/* Friday before half-term: half-term, then an INSET Monday. */
	assert_int_equal(calendar_next_school_day_at(cal,
	    utc(2026, 10, 23, 15, 0), 9, 0, &due, err, sizeof(err)), 0);
	assert_local(due, "2026-11-03 09:00:00 GMT");
	/* The last day of the autumn term: the spring term, after INSET. */
	assert_int_equal(calendar_next_school_day_at(cal,
	    utc(2026, 12, 18, 12, 0), 9, 0, &due, err, sizeof(err)), 0);
	assert_local(due, "2027-01-05 09:00:00 GMT");
	/* Spring to summer across Easter and the change of the clocks. */
	assert_int_equal(calendar_next_school_day_at(cal,
	    utc(2027, 3, 25, 12, 0), 9, 0, &due, err, sizeof(err)), 0);
	assert_local(due, "2027-04-12 09:00:00 BST");
	/* The last day of the last term: no next term is listed. */
	assert_int_equal(calendar_next_school_day_at(cal,
	    utc(2027, 7, 21, 12, 0), 9, 0, &due, err, sizeof(err)), -1);
	assert_string_equal(err, "calendar does not cover 2027-07-22: "
	    "test.cal lists school terms from 2026-09-03 to 2027-07-21");
	/* Before the first term, whether it is a school day is unknown. */
	assert_int_equal(calendar_next_school_day_at(cal,
	    utc(2026, 9, 2, 6, 0), 9, 0, &due, err, sizeof(err)), -1);
	assert_string_equal(err, "calendar does not cover 2026-09-02: "
	    "test.cal lists school terms from 2026-09-03 to 2027-07-21");
	/* ... but the evening before, only the first day matters. */
	assert_int_equal(calendar_next_school_day_at(cal,
	    utc(2026, 9, 2, 20, 0), 9, 0, &due, err, sizeof(err)), 0);
	assert_local(due, "2026-09-03 09:00:00 BST");
	/* Far outside every date. */
	assert_int_equal(calendar_next_school_day_at(cal, INT64_MAX, 9, 0,
	    &due, err, sizeof(err)), -1);
	assert_int_equal(strncmp(err, "calendar does not cover ", 24), 0);
	assert_int_equal(calendar_next_school_day_at(cal, INT64_MIN, 9, 0,
	    &due, err, sizeof(err)), -1);
	assert_int_equal(strncmp(err, "calendar does not cover ", 24), 0);
}

static void
test_add_working_days(void **state)
{
	struct calendar	*cal = *state;
	char		 err[256];
	int64_t		 start, due;

	/* S14 in working days: Friday 16:00 + 1 is Monday 16:00. */
	start = utc(2026, 6, 12, 15, 0);
	assert_int_equal(calendar_add_working_days(cal, start, 1, &due, err,
	    sizeof(err)), 0);
	assert_local(due, "2026-06-15 16:00:00 BST");
	/* Friday 15:00 before a bank-holiday Monday + 1: Tuesday 15:00. */
	start = utc(2026, 5, 1, 14, 0);
	assert_local(start, "2026-05-01 15:00:00 BST");
	assert_int_equal(calendar_add_working_days(cal, start, 1, &due, err,
	    sizeof(err)), 0);
	assert_local(due, "2026-05-05 15:00:00 BST");
	/* + 0 on a working day: the start itself. */
	assert_int_equal(calendar_add_working_days(cal, start, 0, &due, err,
	    sizeof(err)), 0);
	assert_int_equal(due, start);
	/* + 5: a week and a day, over the holiday. */
	assert_int_equal(calendar_add_working_days(cal, start, 5, &due, err,
	    sizeof(err)), 0);
	assert_local(due, "2026-05-11 15:00:00 BST");
	/* Seconds and milliseconds are kept. */
	assert_int_equal(calendar_add_working_days(cal, start + 61001, 1, &due,
	    err, sizeof(err)), 0);
	assert_int_equal(due, utc(2026, 5, 5, 14, 0) + 61001);
}

/* A start on a day that is not a working day counts from the next one. */
static void
test_add_working_days_from_day_off(void **state)
{
	struct calendar	*cal = *state;
	char		 err[256];
	int64_t		 due;

	/* Saturday 11:00, Monday a holiday: from Tuesday 00:00, + 1. */
	assert_int_equal(calendar_add_working_days(cal,
	    utc(2026, 5, 2, 10, 0), 1, &due, err, sizeof(err)), 0);
	assert_local(due, "2026-05-06 00:00:00 BST");
	/* + 0: the start of the next working day. */
	assert_int_equal(calendar_add_working_days(cal,
	    utc(2026, 5, 2, 10, 0), 0, &due, err, sizeof(err)), 0);
	assert_local(due, "2026-05-05 00:00:00 BST");
	/* Sunday, an ordinary weekend: the end of Monday. */
	assert_int_equal(calendar_add_working_days(cal,
	    utc(2026, 6, 7, 12, 0), 1, &due, err, sizeof(err)), 0);
	assert_local(due, "2026-06-09 00:00:00 BST");
	/* Christmas Day itself. */
	assert_int_equal(calendar_add_working_days(cal,
	    utc(2026, 12, 25, 12, 0), 1, &due, err, sizeof(err)), 0);
	assert_local(due, "2026-12-30 00:00:00 GMT");
}

static void
test_add_working_days_christmas(void **state)
{
	struct calendar	*cal = *state;
	char		 err[256];
	int64_t		 start, due;

	start = utc(2026, 12, 24, 10, 0);
	assert_int_equal(calendar_add_working_days(cal, start, 1, &due, err,
	    sizeof(err)), 0);
	assert_local(due, "2026-12-29 10:00:00 GMT");
	assert_int_equal(calendar_add_working_days(cal, start, 3, &due, err,
	    sizeof(err)), 0);
	assert_local(due, "2026-12-31 10:00:00 GMT");
	/* New Year's Day 2027 is a Friday. */
	assert_int_equal(calendar_add_working_days(cal, start, 4, &due, err,
	    sizeof(err)), 0);
	assert_local(due, "2027-01-04 10:00:00 GMT");
	/* 2027: Christmas on a Saturday, both substitute days. */
	start = utc(2027, 12, 24, 10, 0);
	assert_int_equal(calendar_add_working_days(cal, start, 1, &due, err,
	    sizeof(err)), 0);
	assert_local(due, "2027-12-29 10:00:00 GMT");
}

/* The wall time is kept across a change of the clocks. */
static void
test_add_working_days_across_changes(void **state)
{
	struct calendar	*cal = *state;
	char		 err[256];
	int64_t		 start, due;

	start = utc(2026, 10, 23, 15, 0);
	assert_int_equal(calendar_add_working_days(cal, start, 1, &due, err,
	    sizeof(err)), 0);
	assert_local(due, "2026-10-26 16:00:00 GMT");
	assert_int_equal(due - start, 73 * HOUR);
	start = utc(2026, 3, 27, 9, 0);
	assert_int_equal(calendar_add_working_days(cal, start, 1, &due, err,
	    sizeof(err)), 0);
	assert_local(due, "2026-03-30 09:00:00 BST");
	assert_int_equal(due - start, 71 * HOUR);
}

static void
test_add_working_days_errors(void **state)
{
	struct calendar	*cal = *state;
	char		 err[256];
	int64_t		 due = 42;

	assert_int_equal(calendar_add_working_days(cal,
	    utc(2026, 6, 12, 15, 0), -1, &due, err, sizeof(err)), -1);
	assert_string_equal(err, "working days must be 0 or more, not -1");
	/* Thursday 30 December 2027 + 2 runs past covers. */
	assert_int_equal(calendar_add_working_days(cal,
	    utc(2027, 12, 30, 12, 0), 1, &due, err, sizeof(err)), 0);
	assert_local(due, "2027-12-31 12:00:00 GMT");
	due = 42;
	assert_int_equal(calendar_add_working_days(cal,
	    utc(2027, 12, 30, 12, 0), 2, &due, err, sizeof(err)), -1);
	assert_string_equal(err, "calendar does not cover 2028-01-01: "
	    "test.cal lists working days from 2026-01-01 to 2027-12-31");
	assert_int_equal(due, 42);
	/* A start outside covers. */
	assert_int_equal(calendar_add_working_days(cal,
	    utc(2025, 12, 31, 12, 0), 1, &due, err, sizeof(err)), -1);
	assert_string_equal(err, "calendar does not cover 2025-12-31: "
	    "test.cal lists working days from 2026-01-01 to 2027-12-31");
	assert_int_equal(calendar_add_working_days(cal, INT64_MAX, 1, &due,
	    err, sizeof(err)), -1);
	assert_int_equal(strncmp(err, "calendar does not cover ", 24), 0);
}

/* --- The file ------------------------------------------------------------- */

static void
test_describe(void **state)
{
	char out[512];

	calendar_describe(*state, out, sizeof(out));
	assert_string_equal(out, "calendar test.cal: covers 2026-01-01 to "
	    "2027-12-31, week mon tue wed thu fri, 16 holidays, 3 terms from "
	    "2026-09-03 to 2027-07-21, 2 INSET days, 3 closed periods");
}

static void
test_describe_small(void **state)
{
	static const char text[] =
	    "covers 2026-01-01 2026-12-31\n"
	    "week sun mon\n"
	    "holiday 2026-01-04 A Sunday\n";
	struct calendar	*cal;
	char		 err[256], out[512];

	(void)state;
	cal = calendar_parse(text, strlen(text), NAME, err, sizeof(err));
	if (cal == NULL)
		fail_msg("%s", err);
	calendar_describe(cal, out, sizeof(out));
	assert_string_equal(out, "calendar test.cal: covers 2026-01-01 to "
	    "2026-12-31, week mon sun, 1 holiday, no terms, 0 INSET days, "
	    "0 closed periods");
	calendar_free(cal);
}

/* Comments, blank lines, tabs, CRLF and any order are accepted. */
static void
test_layout(void **state)
{
	static const char text[] =
	    "\r\n"
	    "  # an indented comment\r\n"
	    "inset\t2026-11-02\r\n"
	    "closed 2026-10-26 2026-10-30   half term   # a comment\r\n"
	    "\tterm 2026-09-03 2026-12-18 autumn\r\n"
	    "covers 2026-01-01 2026-12-31";
	struct calendar	*cal;
	char		 err[256], out[512];

	(void)state;
	cal = calendar_parse(text, strlen(text), NAME, err, sizeof(err));
	if (cal == NULL)
		fail_msg("%s", err);
	calendar_describe(cal, out, sizeof(out));
	assert_string_equal(out, "calendar test.cal: covers 2026-01-01 to "
	    "2026-12-31, week mon tue wed thu fri, 0 holidays, 1 term from "
	    "2026-09-03 to 2026-12-18, 1 INSET day, 1 closed period");
	assert_int_equal(calendar_is_school_day(cal, 2026, 11, 2, err,
	    sizeof(err)), 0);
	assert_int_equal(calendar_is_school_day(cal, 2026, 10, 28, err,
	    sizeof(err)), 0);
	assert_int_equal(calendar_is_school_day(cal, 2026, 11, 3, err,
	    sizeof(err)), 1);
	calendar_free(cal);
}

#define C	"covers 2026-01-01 2027-12-31\n"	/* line 1 */
#define T	"term 2026-09-03 2026-12-18 autumn\n"

static const struct bad {
	const char	*text;
	const char	*want;
} bad[] = {
	{ C "terms 2026-09-03 2026-12-18 autumn\n",
	  "test.cal:2: unknown directive \"terms\" (covers, week, holiday, "
	  "term, closed, inset)" },
	{ C "holiday 2026-2-3 Pancake Day\n",
	  "test.cal:2: bad date \"2026-2-3\": want YYYY-MM-DD" },
	{ C "holiday 2026-12-25x Christmas Day\n",
	  "test.cal:2: bad date \"2026-12-25x\": want YYYY-MM-DD" },
	{ C "holiday 2026-02-30 No Day\n",
	  "test.cal:2: no such date 2026-02-30" },
	{ C "holiday 2027-02-29 No Day\n",
	  "test.cal:2: no such date 2027-02-29" },
	{ C "holiday 2026-13-01 No Day\n",
	  "test.cal:2: no such date 2026-13-01" },
	{ C "holiday 0000-01-01 No Day\n",
	  "test.cal:2: no such date 0000-01-01" },
	{ C "term 2026-09-03 2026-08-01 autumn\n",
	  "test.cal:2: term autumn ends 2026-08-01, before it starts "
	  "2026-09-03" },
	{ C T "term 2026-12-01 2027-03-25 spring\n",
	  "test.cal:3: term spring 2026-12-01 to 2027-03-25 overlaps term "
	  "autumn 2026-09-03 to 2026-12-18 (line 2)" },
	/* The later line is blamed, whatever the order of the dates. */
	{ C "term 2027-01-04 2027-03-25 spring\n"
	    "term 2026-09-03 2027-01-04 autumn\n",
	  "test.cal:3: term autumn 2026-09-03 to 2027-01-04 overlaps term "
	  "spring 2027-01-04 to 2027-03-25 (line 2)" },
	{ C "term 2026-09-01 2027-07-31 year\n" T,
	  "test.cal:3: term autumn 2026-09-03 to 2026-12-18 overlaps term "
	  "year 2026-09-01 to 2027-07-31 (line 2)" },
	{ C "holiday 2026-12-25 Christmas Day\n"
	    "holiday 2026-12-25 Christmas Day\n",
	  "test.cal:3: holiday 2026-12-25 is listed twice (also at line 2)" },
	{ C "holiday 2026-12-26 Boxing Day\n",
	  "test.cal:2: holiday 2026-12-26 is a Saturday, not a day of the "
	  "working week" },
	{ C "holiday 2028-01-03 New Year's Day (substitute day)\n",
	  "test.cal:2: holiday 2028-01-03 is outside covers 2026-01-01 to "
	  "2027-12-31" },
	{ C T "inset 2026-08-10\n",
	  "test.cal:3: inset 2026-08-10 is outside every term" },
	{ C "inset 2026-09-07\n",
	  "test.cal:2: inset 2026-09-07 is outside every term" },
	{ C T "inset 2026-11-02\ninset 2026-11-02\n",
	  "test.cal:4: inset 2026-11-02 is listed twice (also at line 3)" },
	{ C T "inset 2026-11-07\n",
	  "test.cal:3: inset 2026-11-07 is a Saturday, not a day of the "
	  "working week" },
	{ C T "inset 2026-11-02 2026-11-03\n",
	  "test.cal:3: trailing \"2026-11-03\": one INSET day a line "
	  "(\"closed FROM TO NAME\" for a longer closure)" },
	{ C "term 2026-09-03 2026-12-18 autumn term\n",
	  "test.cal:2: trailing \"term\": a term's name is one word" },
	{ "covers 2026-01-01 2027-12-31 2028\n",
	  "test.cal:1: trailing \"2028\" after covers FROM TO" },
	{ "covers 2026-01-01\n",
	  "test.cal:1: expected \"covers FROM TO\"" },
	{ "covers 2027-01-01 2026-12-31\n",
	  "test.cal:1: covers ends 2026-12-31, before it starts 2027-01-01" },
	{ C "covers 2026-01-01 2027-12-31\n",
	  "test.cal:2: covers is given twice (first at line 1)" },
	{ "# nothing\nholiday 2026-12-25 Christmas Day\n",
	  "test.cal: no covers line: say which dates the holidays are "
	  "complete for, e.g. \"covers 2026-01-01 2027-12-31\"" },
	{ "",
	  "test.cal: no covers line: say which dates the holidays are "
	  "complete for, e.g. \"covers 2026-01-01 2027-12-31\"" },
	{ C "holiday 2026-12-25\n",
	  "test.cal:2: expected \"holiday YYYY-MM-DD NAME\"" },
	{ C "term 2026-09-03 2026-12-18\n",
	  "test.cal:2: expected \"term FROM TO NAME\"" },
	{ C T "closed 2026-10-26 2026-10-30\n",
	  "test.cal:3: expected \"closed FROM TO NAME\"" },
	{ C "inset\n",
	  "test.cal:2: expected \"inset YYYY-MM-DD\"" },
	{ C "term 2026-09-03 2027-12-31 long\n"
	    "term 2026-09-03 2026-12-18 autumn\n",
	  "test.cal:3: term autumn 2026-09-03 to 2026-12-18 overlaps term "
	  "long 2026-09-03 to 2027-12-31 (line 2)" },
	{ C "term 2027-09-02 2028-07-20 next\n",
	  "test.cal:2: term next 2027-09-02 to 2028-07-20 is outside covers "
	  "2026-01-01 to 2027-12-31" },
	{ C T "closed 2026-12-14 2026-12-23 christmas\n",
	  "test.cal:3: closed christmas 2026-12-14 to 2026-12-23 is not "
	  "inside one term" },
	{ C T "closed 2026-10-30 2026-10-26 half-term\n",
	  "test.cal:3: closed half-term ends 2026-10-26, before it starts "
	  "2026-10-30" },
	{ C T "closed 2026-10-26 2026-10-30 half-term\n"
	    "closed 2026-10-30 2026-11-02 long weekend\n",
	  "test.cal:4: closed long weekend 2026-10-30 to 2026-11-02 overlaps "
	  "closed half-term 2026-10-26 to 2026-10-30 (line 3)" },
	{ "week mon tue monday\n" C,
	  "test.cal:1: \"monday\" is not a day of the week (mon, tue, wed, "
	  "thu, fri, sat, sun)" },
	{ "week mon tue mon\n" C,
	  "test.cal:1: week lists mon twice" },
	{ "week\n" C,
	  "test.cal:1: expected \"week DAY...\", e.g. \"week mon tue wed thu "
	  "fri\"" },
	{ "week mon\nweek tue\n" C,
	  "test.cal:2: week is given twice (first at line 1)" },
	/* A holiday outside the working week set below it. */
	{ C "holiday 2026-06-12 A Friday\nweek mon tue wed thu\n",
	  "test.cal:2: holiday 2026-06-12 is a Friday, not a day of the "
	  "working week" },
	{ C "holiday 2026-12-25 Christmas\001Day\n",
	  "test.cal:2: control character in column 29" },
	{ C "holiday 2026-12-25 Christmas Day\r\r\n",
	  "test.cal:2: control character in column 33" },
	{ C "holiday 2026-12-25 " "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789"
	    "012345678901234567890\n",
	  "test.cal:2: name \"0123456789012345678901234567890123456789...\" "
	  "is longer than 100 bytes" },
	/* The earliest line is blamed, whatever is checked first. */
	{ C "inset 2026-08-10\n" T "holiday 2026-12-25 Christmas\n"
	    "holiday 2026-12-25 Christmas\n",
	  "test.cal:2: inset 2026-08-10 is outside every term" },
	/* ... but an overlap first: the other checks need none. */
	{ C "inset 2026-08-10\n" T T,
	  "test.cal:4: term autumn 2026-09-03 to 2026-12-18 overlaps term "
	  "autumn 2026-09-03 to 2026-12-18 (line 3)" },
};

static void
test_parse_errors(void **state)
{
	struct calendar	*cal;
	char		 err[512];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(err, 0, sizeof(err));
		cal = calendar_parse(bad[i].text, strlen(bad[i].text), NAME,
		    err, sizeof(err));
		if (cal != NULL) {
			calendar_free(cal);
			fail_msg("case %zu accepted; want \"%s\"", i,
			    bad[i].want);
		}
		if (strcmp(err, bad[i].want) != 0)
			fail_msg("case %zu:\n got \"%s\"\nwant \"%s\"", i, err,
			    bad[i].want);
	}
}

static void
test_parse_nul_and_size(void **state)
{
	static const char text[] = "covers 2026-01-01 2027-12-31\n\0x\n";
	struct calendar	*cal;
	char		 err[256], *big;

	(void)state;
	cal = calendar_parse(text, sizeof(text) - 1, NAME, err, sizeof(err));
	assert_null(cal);
	assert_string_equal(err, "test.cal: contains a NUL byte");
	/* Bytes that are not UTF-8, pointed at (G20). */
	cal = calendar_parse("covers 2026-01-01 2027-12-31\nholiday 2026-12-25 "
	    "No\xebl\n", 53, NAME, err, sizeof(err));
	assert_null(cal);
	assert_string_equal(err, "test.cal:2: not valid UTF-8 (byte 22 of the "
	    "line)");
	if ((big = malloc(CALENDAR_MAX_BYTES + 1)) == NULL)
		fail_msg("out of memory");
	memset(big, '\n', CALENDAR_MAX_BYTES + 1);
	cal = calendar_parse(big, CALENDAR_MAX_BYTES + 1, NAME, err,
	    sizeof(err));
	assert_null(cal);
	assert_string_equal(err, "test.cal: is 1048577 bytes; a calendar may "
	    "be at most 1048576");
	free(big);
	/* A small error buffer is truncated, not overrun. */
	cal = calendar_parse("x\n", 2, NAME, err, 12);
	assert_null(cal);
	assert_string_equal(err, "test.cal:1:");
}

static void
test_load(void **state)
{
	struct calendar	*cal;
	char		 err[512], out[512];

	(void)state;
	cal = calendar_load(NWD_TEST_DATA "/calendar/good.conf", err,
	    sizeof(err));
	if (cal == NULL)
		fail_msg("%s", err);
	calendar_describe(cal, out, sizeof(out));
	assert_string_equal(out, "calendar " NWD_TEST_DATA "/calendar/good.conf"
	    ": covers 2026-09-01 to 2026-12-31, week mon tue wed thu fri, "
	    "1 holiday, 1 term from 2026-09-03 to 2026-12-18, 1 INSET day, "
	    "1 closed period");
	calendar_free(cal);
	cal = calendar_load(NWD_TEST_DATA "/calendar/overlap.conf", err,
	    sizeof(err));
	assert_null(cal);
	assert_string_equal(err, NWD_TEST_DATA "/calendar/overlap.conf:9: "
	    "term spring 2026-12-14 to 2027-03-25 overlaps term autumn "
	    "2026-09-03 to 2026-12-18 (line 6)");
}

/* A file that is missing or cannot be read. */
static void
test_load_unreadable(void **state)
{
	struct calendar	*cal;
	char		 err[512];

	(void)state;
	cal = calendar_load(NWD_TEST_DATA "/calendar/missing.conf", err,
	    sizeof(err));
	assert_null(cal);
	assert_string_equal(err, NWD_TEST_DATA "/calendar/missing.conf: "
	    "cannot open: No such file or directory");
	cal = calendar_load(NWD_TEST_DATA "/calendar", err, sizeof(err));
	assert_null(cal);
	assert_string_equal(err, NWD_TEST_DATA "/calendar: cannot read: "
	    "Is a directory");
}

/* deploy/calendar.conf parses and gives S16 its answer. */
static void
test_deploy_example(void **state)
{
	struct calendar	*cal;
	char		 err[512], out[512];
	int64_t		 due;

	(void)state;
	cal = calendar_load(NWD_TEST_DATA "/../../deploy/calendar.conf", err,
	    sizeof(err));
	if (cal == NULL)
		fail_msg("%s", err);
	calendar_describe(cal, out, sizeof(out));
	assert_non_null(strstr(out, ": covers 2026-01-01 to 2027-12-31, week "
	    "mon tue wed thu fri, 16 holidays, 3 terms from 2026-09-03 to "
	    "2027-07-21, 5 INSET days, 3 closed periods"));
	assert_int_equal(calendar_next_school_day_at(cal,
	    utc(2027, 4, 30, 21, 0), 9, 0, &due, err, sizeof(err)), 0);
	assert_local(due, "2027-05-04 09:00:00 BST");
	assert_int_equal(calendar_add_working_days(cal,
	    utc(2026, 12, 24, 10, 0), 1, &due, err, sizeof(err)), 0);
	assert_local(due, "2026-12-29 10:00:00 GMT");
	calendar_free(cal);
}

static void
test_free_null(void **state)
{
	(void)state;
	calendar_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_fields),
		cmocka_unit_test(test_local_extremes),
		cmocka_unit_test(test_local_spring),
		cmocka_unit_test(test_local_autumn),
		cmocka_unit_test(test_utc_ordinary),
		cmocka_unit_test(test_utc_gap),
		cmocka_unit_test(test_utc_repeated),
		cmocka_unit_test(test_utc_invalid),
		cmocka_unit_test(test_local_matches_tzdata),
		cmocka_unit_test_setup_teardown(test_working_days, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_school_days, setup,
		    teardown),
		cmocka_unit_test(test_no_terms),
		cmocka_unit_test(test_working_week),
		cmocka_unit_test(test_hours),
		cmocka_unit_test(test_hours_across_changes),
		cmocka_unit_test(test_add_months),
		cmocka_unit_test_setup_teardown(test_s16_next_school_day,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_school_day_same_day,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_next_school_day_across_terms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_working_days, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_add_working_days_from_day_off, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_add_working_days_christmas, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_add_working_days_across_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_working_days_errors,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_describe, setup,
		    teardown),
		cmocka_unit_test(test_describe_small),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_nul_and_size),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_load_unreadable),
		cmocka_unit_test(test_deploy_example),
		cmocka_unit_test(test_free_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
