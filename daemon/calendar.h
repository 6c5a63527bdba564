/*
 * calendar: Europe/London local time and the working and school days of a
 * calendar file, for statutory deadlines (a return-home interview within
 * 72 hours, a notification before the next school day, a decision within
 * one working day).  Pure: no clock (every function is given the time),
 * no global state, no process time zone (TZ is never read or set), no
 * logging; calendar_load() alone reads a file (calendar_load.c).  Errors
 * go to the caller's buffer.  Times are Unix milliseconds, UTC.
 *
 * Local time.  The UK rules in force since 1996, applied to every year:
 * British Summer Time (UTC+1) from 01:00 UTC on the last Sunday of March
 * to 01:00 UTC on the last Sunday of October, Greenwich Mean Time (UTC+0)
 * otherwise.  Turning a local wall time into UTC:
 *  - a local time that does not exist (the spring-forward gap, 01:00 to
 *    01:59 on the last Sunday of March) moves forward by the gap:
 *    01:30 is read as 02:30 BST (01:30 UTC);
 *  - a local time that happens twice (01:00 to 01:59 on the last Sunday of
 *    October) is its first occurrence, in BST: 01:30 is 00:30 UTC.
 *
 * The file (nwd-calendar(5), deploy/calendar.conf) says which dates it is
 * complete for ("covers"), the working week, the bank holidays, the school
 * terms and the days schools are closed inside them.
 *  - A working day is a day of the working week (default Monday to Friday)
 *    that is not a holiday.  Working days are known for the dates of the
 *    covers line.
 *  - A school day is a working day inside a term that is not an INSET day
 *    and not inside a closed period (a half-term).  School days are known
 *    from the first day of the earliest term to the last day of the latest.
 * A question about a day the calendar does not know is an error, never a
 * guess: "calendar does not cover 2028-01-04: FILE lists working days from
 * 2026-01-01 to 2027-12-31".
 */
#ifndef NWD_CALENDAR_H
#define NWD_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

#define CALENDAR_MAX_BYTES	(1024 * 1024)	/* largest calendar file */

/* A moment as Europe/London shows it. */
struct calendar_tm {
	int	year;		/* 1 to 9999 for the times this module
				   produces from dates it accepts */
	int	month;		/* 1 to 12 */
	int	day;		/* 1 to 31 */
	int	hour;		/* 0 to 23 */
	int	minute;		/* 0 to 59 */
	int	second;		/* 0 to 59 */
	int	millisecond;	/* 0 to 999 */
	int	weekday;	/* 0 Sunday to 6 Saturday, as struct tm */
	int	utc_offset;	/* seconds east of UTC: 0 (GMT), 3600 (BST) */
};

struct calendar;

/*
 * Parses calendar text; name is used in messages.  Returns a new calendar,
 * which the caller frees with calendar_free(), or NULL with
 * "NAME:LINE: cause" (or "NAME: cause" when no line is to blame) in err.
 */
struct calendar	*calendar_parse(const char *text, size_t len,
		    const char *name, char *err, size_t errlen);
/*
 * Reads and parses the file at path (at most CALENDAR_MAX_BYTES).  NULL
 * with "PATH: cannot open: ..." or "PATH: cannot read: ..." for a file
 * that is missing or unreadable, or a parse error as calendar_parse().
 */
struct calendar	*calendar_load(const char *path, char *err, size_t errlen);
/* Frees cal; calendar_free(NULL) does nothing. */
void		 calendar_free(struct calendar *cal);
/*
 * One line for the daemon's log, into out (truncated to outlen):
 * "calendar FILE: covers 2026-01-01 to 2027-12-31, week mon tue wed thu
 * fri, 16 holidays, 3 terms from 2026-09-03 to 2027-07-21, 5 INSET days,
 * 3 closed periods".
 */
void		 calendar_describe(const struct calendar *cal, char *out,
		    size_t outlen);

/* The local time of ms (any value). */
void		 calendar_local(int64_t ms, struct calendar_tm *out);
/*
 * The UTC time of the local wall time y-m-d hh:mm:00, into *ms, with the
 * gap and the repeated hour resolved as above.  Returns 0, or -1 if the
 * date does not exist (2026-02-30), the year is outside 1 to 9999, or hh
 * or mm is out of range.
 */
int		 calendar_utc(int y, int m, int d, int hh, int mm,
		    int64_t *ms);
/*
 * "2026-10-25 01:30:00 BST": the local time of ms, into out (truncated to
 * outlen), for messages that people read.
 */
void		 calendar_format(int64_t ms, char *out, size_t outlen);

/*
 * Whether the local date y-m-d is a working day (a school day): 1 if it
 * is, 0 if not, -1 with the cause in err if the date does not exist or the
 * calendar does not cover it.
 */
int		 calendar_is_working_day(const struct calendar *cal, int y,
		    int m, int d, char *err, size_t errlen);
int		 calendar_is_school_day(const struct calendar *cal, int y,
		    int m, int d, char *err, size_t errlen);

/*
 * start_ms plus hours of elapsed real time.  Across a change of the clocks
 * the local wall time moves by an hour: 72 hours from Friday 16:00 BST
 * before the October change is Monday 15:00 GMT.
 */
int64_t		 calendar_add_hours(int64_t start_ms, int64_t hours);

/*
 * The end (23:59:59.999 local time) of the local day of ms, into *out.
 * Returns 0, or -1 if that day is outside the years 1 to 9999.
 */
int		 calendar_end_of_day(int64_t ms, int64_t *out);

/*
 * n (0 to 1200) calendar months after the local date of start_ms, as the
 * end of that local day, into *due: the same day of the month n months on,
 * or that month's last day if it has none (31 January plus one is 28
 * February, or 29 in a leap year).  For a subject-access request's due
 * date.  Returns 0, or -1 if n or the result is out of range.
 */
int		 calendar_add_months(int64_t start_ms, int n, int64_t *due);

/*
 * The deadline n (0 or more) working days after start_ms, into *due: the
 * same local wall time of day on the n-th working day after the start's
 * date (Friday 15:00, with Monday a bank holiday, plus 1 is Tuesday 15:00).
 * A start on a day that is not a working day counts from the start (00:00)
 * of the next working day (Saturday 11:00 plus 1 is Tuesday 00:00, the end
 * of Monday).  A wall time that does not exist or happens twice on the due
 * date is resolved as calendar_utc() does.  Returns 0, or -1 with the
 * cause in err if n is negative or a day on the way is not covered.
 */
int		 calendar_add_working_days(const struct calendar *cal,
		    int64_t start_ms, int n, int64_t *due, char *err,
		    size_t errlen);

/*
 * The first moment strictly after start_ms that is hh:mm local time on a
 * school day, into *due: a notification on Friday 22:00 before a
 * bank-holiday Monday in term is due Tuesday 09:00; on a school Tuesday at
 * 07:00, Tuesday 09:00; at 10:00, the next school day 09:00; after the
 * last day of a term, the first day of the next term.  Returns 0, or -1
 * with the cause in err if hh or mm is out of range or the calendar does
 * not cover a day it must look at (no later term is listed).
 */
int		 calendar_next_school_day_at(const struct calendar *cal,
		    int64_t start_ms, int hh, int mm, int64_t *due, char *err,
		    size_t errlen);

#endif
