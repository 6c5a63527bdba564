/*
 * fuzz_calendar: the input is the text of a calendar file.  Of a calendar
 * that parses, every answer must keep its promises: a working-day deadline
 * lands on a working day at or after its start, a school-day deadline on
 * a school day at hh:mm local strictly after its start, and every refusal
 * is "calendar does not cover DATE".
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NAME	"fuzz_calendar"
#define COVER	"calendar does not cover "

/* A broken promise: say which, and crash so that libFuzzer keeps the input. */
static void
broken(const char *what)
{
	fprintf(stderr, "%s: %s\n", NAME, what);
	abort();
}

/* Starts: around both changes of the clocks, the turn of the years. */
static const int64_t starts[] = {
	INT64_C(1767225600000),	/* 2026-01-01 00:00 UTC */
	INT64_C(1774746000000),	/* 2026-03-29 01:00 UTC */
	INT64_C(1777582800000),	/* 2026-04-30 21:00 UTC */
	INT64_C(1792890000000),	/* 2026-10-25 01:00 UTC */
	INT64_C(1798113600000),	/* 2026-12-24 12:00 UTC */
	INT64_C(1809118800000),	/* 2027-04-30 21:00 UTC */
	INT64_C(1830211200000),	/* 2027-12-31 00:00 UTC */
	0, -1,
};

static void
check_due(const struct calendar *cal, int64_t start, int64_t due,
    int school)
{
	struct calendar_tm	tm;
	char			err[256];

	calendar_local(due, &tm);
	if (school) {
		if (due <= start)
			broken("a school-day deadline is not after its start");
		if (tm.hour != 9 || tm.minute != 0)
			broken("a school-day deadline is not at 09:00 local");
		if (calendar_is_school_day(cal, tm.year, tm.month, tm.day, err,
		    sizeof(err)) != 1)
			broken("a school-day deadline is not on a school day");
	} else {
		if (due < start)
			broken("a working-day deadline is before its start");
		if (calendar_is_working_day(cal, tm.year, tm.month, tm.day,
		    err, sizeof(err)) != 1)
			broken("a working-day deadline is not on a working "
			    "day");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct calendar	*cal;
	char		 err[512], out[512];
	int64_t		 due;
	size_t		 i;
	int		 n;

	cal = calendar_parse((const char *)data, size, "fuzz", err,
	    sizeof(err));
	if (cal == NULL) {
		if (strncmp(err, "fuzz:", 5) != 0)
			broken("a refusal does not name the file");
		return 0;
	}
	calendar_describe(cal, out, sizeof(out));
	if (strncmp(out, "calendar fuzz: covers ", 22) != 0)
		broken("the description does not begin as promised");
	for (i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		for (n = 0; n <= 2; n++) {
			if (calendar_add_working_days(cal, starts[i], n, &due,
			    err, sizeof(err)) == 0)
				check_due(cal, starts[i], due, 0);
			else if (strncmp(err, COVER, strlen(COVER)) != 0)
				broken("a working-day refusal is not about "
				    "cover");
		}
		if (calendar_next_school_day_at(cal, starts[i], 9, 0, &due,
		    err, sizeof(err)) == 0)
			check_due(cal, starts[i], due, 1);
		else if (strncmp(err, COVER, strlen(COVER)) != 0)
			broken("a school-day refusal is not about cover");
	}
	calendar_free(cal);
	return 0;
}
