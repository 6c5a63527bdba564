/*
 * calendar: Europe/London local time, the calendar file's grammar and the
 * deadline arithmetic (calendar.h has the rules).  Pure: the file is read
 * by calendar_load.c.
 *
 * Dates are day numbers, days since 1970-01-01 (negative before it), so
 * that a day's successor is one more; civil dates are converted with
 * Howard Hinnant's days_from_civil() and civil_from_days() algorithms,
 * exact for the proleptic Gregorian calendar.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "utf8.h"

#define MS_MINUTE	INT64_C(60000)
#define MS_HOUR		INT64_C(3600000)
#define MS_DAY		INT64_C(86400000)

/* 0001-01-01 and 9999-12-31, the dates a calendar may name. */
#define DAY_MIN		INT64_C(-719162)
#define DAY_MAX		INT64_C(2932896)

#define NAME_MAX_BYTES	100	/* a holiday's, a term's, a closure's name */

/* A dated line: a holiday or an INSET day. */
struct cal_date {
	int64_t	 day;		/* days since 1970-01-01 */
	int	 line;		/* of the file, for messages */
	char	*name;		/* owned; NULL for an INSET day */
};

/* A period of whole days: a term or a closure inside one. */
struct cal_period {
	int64_t	 from, to;	/* days since 1970-01-01, both included */
	int	 line;
	char	*name;		/* owned */
};

struct calendar {
	char			*name;		/* owned: the file's name */
	int64_t			 cover_from;	/* working days known from */
	int64_t			 cover_to;	/* ... to, both included */
	unsigned		 week;		/* bit i: weekday i (0 Sunday)
						   is in the working week */
	/* Owned arrays, sorted by day (by from) once parsed. */
	struct cal_date		*holidays;
	size_t			 nholidays;
	struct cal_date		*insets;
	size_t			 ninsets;
	struct cal_period	*terms;		/* do not overlap */
	size_t			 nterms;
	struct cal_period	*closed;	/* do not overlap */
	size_t			 nclosed;
};

static const char *const weekdays[7] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat",
};
static const char *const weekday_names[7] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
	"Saturday",
};

/* --- Dates and local time ----------------------------------------------- */

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t		era;
	unsigned	yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (unsigned)(m > 2 ? m - 3 : m + 9) + 2) / 5 +
	    (unsigned)d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t		era;
	unsigned	doe, yoe, doy, mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)((int64_t)yoe + era * 400 + (*m <= 2));
}

/* 0 Sunday to 6 Saturday; 1970-01-01 was a Thursday. */
static int
weekday(int64_t z)
{
	return (int)((z % 7 + 7 + 4) % 7);
}

static int
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
date_exists(int y, int m, int d)
{
	static const int mdays[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
	};

	if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1)
		return 0;
	return d <= mdays[m - 1] + (m == 2 && leap(y));
}

/* The last Sunday of month m (March or October: 31 days) of year y. */
static int64_t
last_sunday(int64_t y, int m)
{
	int64_t z = days_from_civil(y, m, 31);

	return z - weekday(z);
}

/* Splits ms into a day number and the milliseconds into that day. */
static int64_t
split_day(int64_t ms, int64_t *rem)
{
	int64_t z = ms / MS_DAY;

	*rem = ms % MS_DAY;
	if (*rem < 0) {
		*rem += MS_DAY;
		z--;
	}
	return z;
}

/* Seconds east of UTC in Europe/London at ms: 3600 in BST, else 0. */
static int
utc_offset(int64_t ms)
{
	int	y, m, d;
	int64_t	z, rem, start, end;

	z = split_day(ms, &rem);
	civil_from_days(z, &y, &m, &d);
	start = last_sunday(y, 3);
	end = last_sunday(y, 10);
	if (z < start || (z == start && rem < MS_HOUR))
		return 0;
	if (z > end || (z == end && rem >= MS_HOUR))
		return 0;
	return 3600;
}

/*
 * The UTC time of a local wall time given as milliseconds since
 * 1970-01-01 00:00 local.  Read as BST if that reading is in BST (so the
 * repeated hour is its first occurrence), else as GMT (so a time in the
 * spring-forward gap moves forward by the gap).
 */
static int64_t
wall_to_utc(int64_t wall)
{
	int64_t bst = wall - MS_HOUR;

	return utc_offset(bst) == 3600 ? bst : wall;
}

void
calendar_local(int64_t ms, struct calendar_tm *out)
{
	int64_t	z, rem;
	int	off;

	off = utc_offset(ms);
	z = split_day(ms, &rem);
	rem += off * INT64_C(1000);
	if (rem >= MS_DAY) {
		rem -= MS_DAY;
		z++;
	}
	memset(out, 0, sizeof(*out));
	civil_from_days(z, &out->year, &out->month, &out->day);
	out->hour = (int)(rem / MS_HOUR);
	out->minute = (int)(rem % MS_HOUR / MS_MINUTE);
	out->second = (int)(rem % MS_MINUTE / 1000);
	out->millisecond = (int)(rem % 1000);
	out->weekday = weekday(z);
	out->utc_offset = off;
}

/* The local date of ms and the local time of day, in milliseconds. */
static int64_t
local_day(int64_t ms, int64_t *tod)
{
	struct calendar_tm	tm;

	calendar_local(ms, &tm);
	*tod = tm.hour * MS_HOUR + tm.minute * MS_MINUTE +
	    tm.second * INT64_C(1000) + tm.millisecond;
	return days_from_civil(tm.year, tm.month, tm.day);
}

int
calendar_utc(int y, int m, int d, int hh, int mm, int64_t *ms)
{
	if (!date_exists(y, m, d) || hh < 0 || hh > 23 || mm < 0 || mm > 59)
		return -1;
	*ms = wall_to_utc(days_from_civil(y, m, d) * MS_DAY + hh * MS_HOUR +
	    mm * MS_MINUTE);
	return 0;
}

void
calendar_format(int64_t ms, char *out, size_t outlen)
{
	struct calendar_tm tm;

	calendar_local(ms, &tm);
	snprintf(out, outlen, "%04d-%02d-%02d %02d:%02d:%02d %s", tm.year,
	    tm.month, tm.day, tm.hour, tm.minute, tm.second,
	    tm.utc_offset ? "BST" : "GMT");
}

int
calendar_end_of_day(int64_t ms, int64_t *out)
{
	struct calendar_tm	tm;
	int64_t			t;

	calendar_local(ms, &tm);
	/* 23:59 never falls in a change of the clocks (01:00 to 02:00). */
	if (calendar_utc(tm.year, tm.month, tm.day, 23, 59, &t) == -1)
		return -1;
	*out = t + 59999;
	return 0;
}

int
calendar_add_months(int64_t start_ms, int n, int64_t *due)
{
	static const int	mdays[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	struct calendar_tm	tm;
	int			y, m, d, last;
	int64_t			t;

	if (n < 0 || n > 1200)
		return -1;
	calendar_local(start_ms, &tm);
	y = tm.year + (tm.month - 1 + n) / 12;
	m = (tm.month - 1 + n) % 12 + 1;
	last = mdays[m - 1] + (m == 2 && leap(y));
	d = tm.day < last ? tm.day : last;
	if (calendar_utc(y, m, d, 23, 59, &t) == -1)
		return -1;
	*due = t + 59999;
	return 0;
}

int64_t
calendar_add_hours(int64_t start_ms, int64_t hours)
{
	int64_t ms;

	if (__builtin_mul_overflow(hours, MS_HOUR, &ms) ||
	    __builtin_add_overflow(start_ms, ms, &ms))
		return hours < 0 ? INT64_MIN : INT64_MAX;
	return ms;
}

/* "YYYY-MM-DD" of a day number, usable in one expression. */
struct datestr {
	char	s[16];
};

static struct datestr
ds(int64_t z)
{
	struct datestr	r;
	int		y, m, d;

	civil_from_days(z, &y, &m, &d);
	snprintf(r.s, sizeof(r.s), "%04d-%02d-%02d", y, m, d);
	return r;
}

/* --- Questions about days ----------------------------------------------- */

static int
cmp_date(const void *a, const void *b)
{
	const struct cal_date *x = a, *y = b;

	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return (x->line > y->line) - (x->line < y->line);
}

static int
cmp_period(const void *a, const void *b)
{
	const struct cal_period *x = a, *y = b;

	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	return (x->line > y->line) - (x->line < y->line);
}

static int
in_dates(const struct cal_date *v, size_t n, int64_t z)
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v[mid].day == z)
			return 1;
		if (v[mid].day < z)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* The period of v (sorted, not overlapping) that holds z, or NULL. */
static const struct cal_period *
period_of(const struct cal_period *v, size_t n, int64_t z)
{
	size_t lo = 0, hi = n, mid;

	/* The last period starting on or before z. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v[mid].from <= z)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || v[lo - 1].to < z)
		return NULL;
	return &v[lo - 1];
}

static int
working(const struct calendar *cal, int64_t z)
{
	return ((cal->week >> weekday(z)) & 1) &&
	    !in_dates(cal->holidays, cal->nholidays, z);
}

static int
school(const struct calendar *cal, int64_t z)
{
	return working(cal, z) &&
	    period_of(cal->terms, cal->nterms, z) != NULL &&
	    !in_dates(cal->insets, cal->ninsets, z) &&
	    period_of(cal->closed, cal->nclosed, z) == NULL;
}

/* 0 if the working days of day z are known, else -1 with err. */
static int
covers_work(const struct calendar *cal, int64_t z, char *err, size_t errlen)
{
	if (z >= cal->cover_from && z <= cal->cover_to)
		return 0;
	snprintf(err, errlen, "calendar does not cover %s: %s lists working "
	    "days from %s to %s", ds(z).s, cal->name, ds(cal->cover_from).s,
	    ds(cal->cover_to).s);
	return -1;
}

/* 0 if the school days of day z are known, else -1 with err. */
static int
covers_school(const struct calendar *cal, int64_t z, char *err,
    size_t errlen)
{
	int64_t first, last;

	if (cal->nterms == 0) {
		snprintf(err, errlen, "calendar does not cover %s: %s lists "
		    "no school terms", ds(z).s, cal->name);
		return -1;
	}
	first = cal->terms[0].from;
	last = cal->terms[cal->nterms - 1].to;
	if (z >= first && z <= last)
		return 0;
	snprintf(err, errlen, "calendar does not cover %s: %s lists school "
	    "terms from %s to %s", ds(z).s, cal->name, ds(first).s,
	    ds(last).s);
	return -1;
}

/* The day number of y-m-d, or -1 with err if there is no such date. */
static int
day_of(int y, int m, int d, int64_t *z, char *err, size_t errlen)
{
	if (!date_exists(y, m, d)) {
		snprintf(err, errlen, "no such date %04d-%02d-%02d", y, m, d);
		return -1;
	}
	*z = days_from_civil(y, m, d);
	return 0;
}

int
calendar_is_working_day(const struct calendar *cal, int y, int m, int d,
    char *err, size_t errlen)
{
	int64_t z;

	if (day_of(y, m, d, &z, err, errlen) == -1 ||
	    covers_work(cal, z, err, errlen) == -1)
		return -1;
	return working(cal, z);
}

int
calendar_is_school_day(const struct calendar *cal, int y, int m, int d,
    char *err, size_t errlen)
{
	int64_t z;

	if (day_of(y, m, d, &z, err, errlen) == -1 ||
	    covers_school(cal, z, err, errlen) == -1)
		return -1;
	return school(cal, z);
}

/* --- Deadlines ----------------------------------------------------------- */

int
calendar_add_working_days(const struct calendar *cal, int64_t start_ms,
    int n, int64_t *due, char *err, size_t errlen)
{
	int64_t	z, tod;

	if (n < 0) {
		snprintf(err, errlen, "working days must be 0 or more, not %d",
		    n);
		return -1;
	}
	z = local_day(start_ms, &tod);
	if (covers_work(cal, z, err, errlen) == -1)
		return -1;
	if (working(cal, z)) {
		if (n == 0) {
			*due = start_ms;
			return 0;
		}
	} else {
		/* From the start of the next working day. */
		tod = 0;
		do {
			if (covers_work(cal, ++z, err, errlen) == -1)
				return -1;
		} while (!working(cal, z));
	}
	while (n > 0) {
		if (covers_work(cal, ++z, err, errlen) == -1)
			return -1;
		if (working(cal, z))
			n--;
	}
	*due = wall_to_utc(z * MS_DAY + tod);
	return 0;
}

int
calendar_next_school_day_at(const struct calendar *cal, int64_t start_ms,
    int hh, int mm, int64_t *due, char *err, size_t errlen)
{
	int64_t	z, tod, t, at;

	if (hh < 0 || hh > 23 || mm < 0 || mm > 59) {
		snprintf(err, errlen, "no such time %02d:%02d", hh, mm);
		return -1;
	}
	at = hh * MS_HOUR + mm * MS_MINUTE;
	z = local_day(start_ms, &tod);
	/* Beyond the years of any date (and of int64 milliseconds below). */
	if (z < DAY_MIN || z > DAY_MAX) {
		(void)covers_school(cal, z, err, errlen);
		return -1;
	}
	for (;; z++) {
		t = wall_to_utc(z * MS_DAY + at);
		if (t <= start_ms)
			continue;
		if (covers_school(cal, z, err, errlen) == -1)
			return -1;
		if (school(cal, z)) {
			*due = t;
			return 0;
		}
	}
}

/* --- The file ------------------------------------------------------------ */

struct parse {
	struct calendar	*cal;
	const char	*name;		/* the file, for messages */
	int		 line;		/* the line being read */
	int		 cover_line;	/* of covers, 0 until seen */
	int		 week_line;	/* of week, 0 until seen */
	char		*err;
	size_t		 errlen;
	/* The earliest problem found by the checks after the last line. */
	int		 bad_line;	/* 0: none */
	char		 bad[384];
};

static int	fail(struct parse *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	problem(struct parse *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* A problem of the line being read: "NAME:LINE: cause". */
static int
fail(struct parse *ps, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	n = ps->line > 0 ?
	    snprintf(ps->err, ps->errlen, "%s:%d: ", ps->name, ps->line) :
	    snprintf(ps->err, ps->errlen, "%s: ", ps->name);
	if (n < 0 || (size_t)n >= ps->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

/* A problem of line found later: kept if it is the earliest so far. */
static void
problem(struct parse *ps, int line, const char *fmt, ...)
{
	va_list ap;

	if (ps->bad_line != 0 && ps->bad_line <= line)
		return;
	ps->bad_line = line;
	va_start(ap, fmt);
	vsnprintf(ps->bad, sizeof(ps->bad), fmt, ap);
	va_end(ap);
}

/* The next word of *p, NUL-terminated, or NULL at the end of the line. */
static char *
word(char **p)
{
	char *s = *p, *w;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0') {
		*p = s;
		return NULL;
	}
	w = s;
	while (*s != '\0' && *s != ' ' && *s != '\t')
		s++;
	if (*s != '\0')
		*s++ = '\0';
	*p = s;
	return w;
}

/* The rest of the line, trimmed, or NULL if there is nothing. */
static char *
rest(char **p)
{
	char *s = *p, *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	*p = e;
	return *s == '\0' ? NULL : s;
}

/* Parses YYYY-MM-DD into a day number. */
static int
date(struct parse *ps, const char *w, int64_t *z)
{
	int	y, m, d, i;

	for (i = 0; i < 10; i++)
		if (i == 4 || i == 7 ? w[i] != '-' :
		    !isdigit((unsigned char)w[i]))
			break;
	if (i < 10 || w[10] != '\0')
		return fail(ps, "bad date \"%.40s\": want YYYY-MM-DD", w);
	y = atoi(w);
	m = atoi(w + 5);
	d = atoi(w + 8);
	if (!date_exists(y, m, d))
		return fail(ps, "no such date %s", w);
	*z = days_from_civil(y, m, d);
	return 0;
}

/* A name: owned copy into *out. */
static int
name_copy(struct parse *ps, const char *s, char **out)
{
	if (strlen(s) > NAME_MAX_BYTES)
		return fail(ps, "name \"%.40s...\" is longer than %d bytes", s,
		    NAME_MAX_BYTES);
	if ((*out = strdup(s)) == NULL)
		return fail(ps, "out of memory");
	return 0;
}

/*
 * v, which holds n elements of size sz, with room for one more: v itself,
 * or v moved, or NULL if memory ran out (v is then unchanged).
 */
static void *
grow(void *v, size_t n, size_t sz)
{
	if (n != 0 && (n & (n - 1)) != 0)
		return v;	/* room up to the next power of two */
	return realloc(v, (n ? n * 2 : 1) * sz);
}

/* Parses "FROM TO" into a period; trailing words are left in *p. */
static int
period(struct parse *ps, char **p, const char *usage, struct cal_period *pd)
{
	char *a, *b;

	if ((a = word(p)) == NULL || (b = word(p)) == NULL)
		return fail(ps, "expected \"%s\"", usage);
	if (date(ps, a, &pd->from) == -1 || date(ps, b, &pd->to) == -1)
		return -1;
	pd->line = ps->line;
	return 0;
}

static int
parse_covers(struct parse *ps, char *p)
{
	struct cal_period	pd;
	char			*junk;

	if (ps->cover_line != 0)
		return fail(ps, "covers is given twice (first at line %d)",
		    ps->cover_line);
	if (period(ps, &p, "covers FROM TO", &pd) == -1)
		return -1;
	if ((junk = word(&p)) != NULL)
		return fail(ps, "trailing \"%.40s\" after covers FROM TO",
		    junk);
	if (pd.to < pd.from)
		return fail(ps, "covers ends %s, before it starts %s",
		    ds(pd.to).s, ds(pd.from).s);
	ps->cal->cover_from = pd.from;
	ps->cal->cover_to = pd.to;
	ps->cover_line = ps->line;
	return 0;
}

static int
parse_week(struct parse *ps, char *p)
{
	char		*w;
	unsigned	 week = 0;
	int		 i;

	if (ps->week_line != 0)
		return fail(ps, "week is given twice (first at line %d)",
		    ps->week_line);
	while ((w = word(&p)) != NULL) {
		for (i = 0; i < 7; i++)
			if (strcmp(w, weekdays[i]) == 0)
				break;
		if (i == 7)
			return fail(ps, "\"%.40s\" is not a day of the week "
			    "(mon, tue, wed, thu, fri, sat, sun)", w);
		if (week & (1u << i))
			return fail(ps, "week lists %s twice", w);
		week |= (1u << i);
	}
	if (week == 0)
		return fail(ps, "expected \"week DAY...\", e.g. \"week mon tue "
		    "wed thu fri\"");
	ps->cal->week = week;
	ps->week_line = ps->line;
	return 0;
}

static int
parse_holiday(struct parse *ps, char *p)
{
	struct calendar	*cal = ps->cal;
	struct cal_date	 dt = { 0 }, *v;
	char		*w, *name;

	if ((w = word(&p)) == NULL || (name = rest(&p)) == NULL)
		return fail(ps, "expected \"holiday YYYY-MM-DD NAME\"");
	if (date(ps, w, &dt.day) == -1)
		return -1;
	if ((v = grow(cal->holidays, cal->nholidays, sizeof(*v))) == NULL)
		return fail(ps, "out of memory");
	cal->holidays = v;
	if (name_copy(ps, name, &dt.name) == -1)
		return -1;
	dt.line = ps->line;
	cal->holidays[cal->nholidays++] = dt;
	return 0;
}

static int
parse_term(struct parse *ps, char *p)
{
	struct calendar		*cal = ps->cal;
	struct cal_period	 pd = { 0 }, *v;
	char			*name, *junk;

	if (period(ps, &p, "term FROM TO NAME", &pd) == -1)
		return -1;
	if ((name = word(&p)) == NULL)
		return fail(ps, "expected \"term FROM TO NAME\"");
	if ((junk = word(&p)) != NULL)
		return fail(ps, "trailing \"%.40s\": a term's name is one word",
		    junk);
	if (pd.to < pd.from)
		return fail(ps, "term %s ends %s, before it starts %s", name,
		    ds(pd.to).s, ds(pd.from).s);
	if ((v = grow(cal->terms, cal->nterms, sizeof(*v))) == NULL)
		return fail(ps, "out of memory");
	cal->terms = v;
	if (name_copy(ps, name, &pd.name) == -1)
		return -1;
	cal->terms[cal->nterms++] = pd;
	return 0;
}

static int
parse_closed(struct parse *ps, char *p)
{
	struct calendar		*cal = ps->cal;
	struct cal_period	 pd = { 0 }, *v;
	char			*name;

	if (period(ps, &p, "closed FROM TO NAME", &pd) == -1)
		return -1;
	if ((name = rest(&p)) == NULL)
		return fail(ps, "expected \"closed FROM TO NAME\"");
	if (pd.to < pd.from)
		return fail(ps, "closed %s ends %s, before it starts %s", name,
		    ds(pd.to).s, ds(pd.from).s);
	if ((v = grow(cal->closed, cal->nclosed, sizeof(*v))) == NULL)
		return fail(ps, "out of memory");
	cal->closed = v;
	if (name_copy(ps, name, &pd.name) == -1)
		return -1;
	cal->closed[cal->nclosed++] = pd;
	return 0;
}

static int
parse_inset(struct parse *ps, char *p)
{
	struct calendar	*cal = ps->cal;
	struct cal_date	 dt = { 0 }, *v;
	char		*w, *junk;

	if ((w = word(&p)) == NULL)
		return fail(ps, "expected \"inset YYYY-MM-DD\"");
	if (date(ps, w, &dt.day) == -1)
		return -1;
	if ((junk = word(&p)) != NULL)
		return fail(ps, "trailing \"%.40s\": one INSET day a line "
		    "(\"closed FROM TO NAME\" for a longer closure)", junk);
	if ((v = grow(cal->insets, cal->ninsets, sizeof(*v))) == NULL)
		return fail(ps, "out of memory");
	cal->insets = v;
	dt.line = ps->line;
	cal->insets[cal->ninsets++] = dt;
	return 0;
}

static const struct directive {
	const char	*name;
	int		(*parse)(struct parse *, char *);
} directives[] = {
	{ "covers",	parse_covers },
	{ "week",	parse_week },
	{ "holiday",	parse_holiday },
	{ "term",	parse_term },
	{ "closed",	parse_closed },
	{ "inset",	parse_inset },
};
#define NDIRECTIVES	(sizeof(directives) / sizeof(directives[0]))

/* A day that must be a day of the working week (a holiday, an INSET day). */
static void
check_weekday(struct parse *ps, const char *what, const struct cal_date *dt)
{
	int wd = weekday(dt->day);

	if (!((ps->cal->week >> wd) & 1))
		problem(ps, dt->line, "%s %s is a %s, not a day of the working "
		    "week", what, ds(dt->day).s, weekday_names[wd]);
}

/* Dates of v (sorted) listed twice. */
static void
check_twice(struct parse *ps, const char *what, const struct cal_date *v,
    size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (v[i].day == v[i - 1].day)
			problem(ps, v[i].line, "%s %s is listed twice (also at "
			    "line %d)", what, ds(v[i].day).s, v[i - 1].line);
}

/* Periods of v (sorted by from) that overlap an earlier one. */
static void
check_overlap(struct parse *ps, const char *what, const struct cal_period *v,
    size_t n)
{
	const struct cal_period	*a, *b;
	size_t			 i, last = 0;

	for (i = 1; i < n; i++) {
		/* last: of the periods before i, the one ending latest. */
		if (v[i].from <= v[last].to) {
			a = &v[last];
			b = &v[i];
			if (a->line > b->line) {
				a = &v[i];
				b = &v[last];
			}
			problem(ps, b->line, "%s %s %s to %s overlaps %s %s %s "
			    "to %s (line %d)", what, b->name, ds(b->from).s,
			    ds(b->to).s, what, a->name, ds(a->from).s,
			    ds(a->to).s, a->line);
		}
		if (v[i].to > v[last].to)
			last = i;
	}
}

/* qsort(), which must not be given a NULL array, even an empty one. */
static void
sort(void *v, size_t n, size_t sz, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(v, n, sz, cmp);
}

/*
 * What can be checked only once every line is read (the lines may come in
 * any order); the earliest problem is reported.
 */
static int
check(struct parse *ps)
{
	struct calendar		*cal = ps->cal;
	const struct cal_period	*t;
	size_t			 i;

	ps->line = 0;
	if (ps->cover_line == 0)
		return fail(ps, "no covers line: say which dates the holidays "
		    "are complete for, e.g. \"covers 2026-01-01 2027-12-31\"");
	sort(cal->holidays, cal->nholidays, sizeof(*cal->holidays), cmp_date);
	sort(cal->insets, cal->ninsets, sizeof(*cal->insets), cmp_date);
	sort(cal->terms, cal->nterms, sizeof(*cal->terms), cmp_period);
	sort(cal->closed, cal->nclosed, sizeof(*cal->closed), cmp_period);

	/* Overlaps first: the checks below assume there are none. */
	check_overlap(ps, "term", cal->terms, cal->nterms);
	check_overlap(ps, "closed", cal->closed, cal->nclosed);
	if (ps->bad_line != 0) {
		ps->line = ps->bad_line;
		return fail(ps, "%s", ps->bad);
	}

	for (i = 0; i < cal->nholidays; i++) {
		if (cal->holidays[i].day < cal->cover_from ||
		    cal->holidays[i].day > cal->cover_to)
			problem(ps, cal->holidays[i].line, "holiday %s is "
			    "outside covers %s to %s",
			    ds(cal->holidays[i].day).s, ds(cal->cover_from).s,
			    ds(cal->cover_to).s);
		check_weekday(ps, "holiday", &cal->holidays[i]);
	}
	check_twice(ps, "holiday", cal->holidays, cal->nholidays);

	for (i = 0; i < cal->nterms; i++) {
		t = &cal->terms[i];
		if (t->from < cal->cover_from || t->to > cal->cover_to)
			problem(ps, t->line, "term %s %s to %s is outside "
			    "covers %s to %s", t->name, ds(t->from).s,
			    ds(t->to).s, ds(cal->cover_from).s,
			    ds(cal->cover_to).s);
	}

	for (i = 0; i < cal->ninsets; i++) {
		if (period_of(cal->terms, cal->nterms,
		    cal->insets[i].day) == NULL)
			problem(ps, cal->insets[i].line, "inset %s is outside "
			    "every term", ds(cal->insets[i].day).s);
		check_weekday(ps, "inset", &cal->insets[i]);
	}
	check_twice(ps, "inset", cal->insets, cal->ninsets);

	for (i = 0; i < cal->nclosed; i++) {
		t = period_of(cal->terms, cal->nterms, cal->closed[i].from);
		if (t == NULL || t->to < cal->closed[i].to)
			problem(ps, cal->closed[i].line, "closed %s %s to %s "
			    "is not inside one term", cal->closed[i].name,
			    ds(cal->closed[i].from).s,
			    ds(cal->closed[i].to).s);
	}

	if (ps->bad_line != 0) {
		ps->line = ps->bad_line;
		return fail(ps, "%s", ps->bad);
	}
	return 0;
}

/* Comments and surrounding blanks off; -1 if the line has a control byte. */
static int
clean(struct parse *ps, char *line)
{
	char *s;

	if ((s = strchr(line, '#')) != NULL)
		*s = '\0';
	for (s = line; *s != '\0'; s++) {
		if (*s == '\r' && s[1] == '\0')
			*s = '\0';
		else if ((*s != '\t' && (unsigned char)*s < 0x20) ||
		    *s == 0x7f)
			return fail(ps, "control character in column %d",
			    (int)(s - line) + 1);
	}
	return 0;
}

struct calendar *
calendar_parse(const char *text, size_t len, const char *name, char *err,
    size_t errlen)
{
	struct parse	 ps;
	struct calendar	*cal;
	char		*buf = NULL, *line, *next, *p, *w;
	size_t		 i;

	memset(&ps, 0, sizeof(ps));
	ps.name = name;
	ps.err = err;
	ps.errlen = errlen;
	if ((cal = calloc(1, sizeof(*cal))) == NULL ||
	    (cal->name = strdup(name)) == NULL) {
		free(cal);
		fail(&ps, "out of memory");
		return NULL;
	}
	ps.cal = cal;
	cal->week = 0x3e;	/* Monday to Friday */
	if (len > CALENDAR_MAX_BYTES) {
		fail(&ps, "is %zu bytes; a calendar may be at most %d", len,
		    CALENDAR_MAX_BYTES);
		goto bad;
	}
	if ((buf = malloc(len + 1)) == NULL) {
		fail(&ps, "out of memory");
		goto bad;
	}
	if (len > 0)
		memcpy(buf, text, len);
	buf[len] = '\0';
	if (strlen(buf) != len) {
		fail(&ps, "contains a NUL byte");
		goto bad;
	}
	{
		int	bad_line, bad_col;

		if (!utf8_text_valid(buf, len, &bad_line, &bad_col)) {
			ps.line = bad_line;
			fail(&ps, "not valid UTF-8 (byte %d of the line)",
			    bad_col);
			goto bad;
		}
	}
	for (line = buf; line != NULL; line = next) {
		ps.line++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (clean(&ps, line) == -1)
			goto bad;
		p = line;
		if ((w = word(&p)) == NULL)
			continue;
		for (i = 0; i < NDIRECTIVES; i++)
			if (strcmp(w, directives[i].name) == 0)
				break;
		if (i == NDIRECTIVES) {
			fail(&ps, "unknown directive \"%.40s\" (covers, week, "
			    "holiday, term, closed, inset)", w);
			goto bad;
		}
		if (directives[i].parse(&ps, p) == -1)
			goto bad;
	}
	if (check(&ps) == -1)
		goto bad;
	free(buf);
	return cal;
bad:
	free(buf);
	calendar_free(cal);
	return NULL;
}

static void
free_dates(struct cal_date *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

static void
free_periods(struct cal_period *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

void
calendar_free(struct calendar *cal)
{
	if (cal == NULL)
		return;
	free_dates(cal->holidays, cal->nholidays);
	free_dates(cal->insets, cal->ninsets);
	free_periods(cal->terms, cal->nterms);
	free_periods(cal->closed, cal->nclosed);
	free(cal->name);
	free(cal);
}

/* "1 holiday", "2 holidays". */
static const char *
plural(size_t n)
{
	return n == 1 ? "" : "s";
}

void
calendar_describe(const struct calendar *cal, char *out, size_t outlen)
{
	char	week[32] = "", terms[64];
	int	i;

	for (i = 1; i <= 7; i++) {
		if (!((cal->week >> (i % 7)) & 1))
			continue;
		if (week[0] != '\0')
			strcat(week, " ");
		strcat(week, weekdays[i % 7]);
	}
	if (cal->nterms == 0)
		snprintf(terms, sizeof(terms), "no terms");
	else
		snprintf(terms, sizeof(terms), "%zu term%s from %s to %s",
		    cal->nterms, plural(cal->nterms), ds(cal->terms[0].from).s,
		    ds(cal->terms[cal->nterms - 1].to).s);
	snprintf(out, outlen, "calendar %s: covers %s to %s, week %s, "
	    "%zu holiday%s, %s, %zu INSET day%s, %zu closed period%s",
	    cal->name, ds(cal->cover_from).s, ds(cal->cover_to).s, week,
	    cal->nholidays, plural(cal->nholidays), terms, cal->ninsets,
	    plural(cal->ninsets), cal->nclosed, plural(cal->nclosed));
}
