/*
 * console_chart: the console's small charts as inline SVG
 * (console_html.h).  Pure: counts in, markup out.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_html.h"

#define BAR_H		18	/* a horizontal bar's row */
#define LABEL_W		200	/* the labels' column */
#define PLOT_W		320
#define COL_W		28	/* a column's slot */
#define PLOT_H		120

static uint64_t
max_count(const struct console_bar *v, size_t n)
{
	uint64_t	m = 0;
	size_t		i;

	for (i = 0; i < n; i++)
		if (v[i].count > m)
			m = v[i].count;
	return m;
}

/* length of count on a scale whose max is full (at least 1 if count). */
static unsigned
scale(uint64_t count, uint64_t max, unsigned full)
{
	uint64_t len;

	if (max == 0 || count == 0)
		return 0;
	len = count * full / max;
	return len == 0 ? 1 : (unsigned)len;
}

static void
head(struct chtml *b, const char *id, const char *title, unsigned w,
    unsigned h)
{
	chtml_rawf(b, "<figure class=\"chart\"><svg id=\"%s\" "
	    "xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" height=\"%u\" "
	    "viewBox=\"0 0 %u %u\" role=\"img\" aria-label=\"", id, w, h, w,
	    h);
	chtml_text(b, title);
	chtml_raw(b, "\"><title>");
	chtml_text(b, title);
	chtml_raw(b, "</title>\n");
}

static void
foot(struct chtml *b, const char *title)
{
	chtml_raw(b, "</svg><figcaption>");
	chtml_text(b, title);
	chtml_raw(b, "</figcaption></figure>\n");
}

void
console_chart_bars(struct chtml *b, const char *id, const char *title,
    const struct console_bar *v, size_t n)
{
	uint64_t	max, rest = 0;
	size_t		i, shown = n > CONSOLE_CHART_MAX ? CONSOLE_CHART_MAX : n;
	unsigned	y, len, rows = (unsigned)shown + (n > shown);

	for (i = shown; i < n; i++)
		rest += v[i].count;
	max = max_count(v, shown);
	if (rest > max)
		max = rest;
	head(b, id, title, LABEL_W + PLOT_W + 60, rows * BAR_H + 4);
	for (i = 0; i < rows; i++) {
		uint64_t	 c = i < shown ? v[i].count : rest;
		const char	*label = i < shown ? v[i].label : "others";

		y = (unsigned)i * BAR_H + 2;
		len = scale(c, max, PLOT_W);
		chtml_rawf(b, "<g><text x=\"%u\" y=\"%u\" text-anchor=\"end\" "
		    "font-size=\"12\">", LABEL_W - 6, y + 13);
		chtml_text(b, label);
		chtml_rawf(b, "</text><rect x=\"%u\" y=\"%u\" width=\"%u\" "
		    "height=\"%u\" fill=\"#1d3557\"/><text x=\"%u\" y=\"%u\" "
		    "font-size=\"12\">%" PRIu64 "</text></g>\n", LABEL_W, y, len,
		    BAR_H - 4, LABEL_W + len + 4, y + 13, c);
	}
	foot(b, title);
}

void
console_chart_columns(struct chtml *b, const char *id, const char *title,
    const struct console_bar *v, size_t n)
{
	uint64_t	max;
	size_t		i, first = n > CONSOLE_CHART_MAX ? n - CONSOLE_CHART_MAX :
			    0;
	unsigned	x, len, w = (unsigned)(n - first) * COL_W + 20;

	/* The latest columns if there are too many: the rest are older. */
	max = max_count(v + first, n - first);
	head(b, id, title, w < 200 ? 200 : w, PLOT_H + 70);
	for (i = first; i < n; i++) {
		x = (unsigned)(i - first) * COL_W + 10;
		len = scale(v[i].count, max, PLOT_H);
		chtml_rawf(b, "<g><rect x=\"%u\" y=\"%u\" width=\"%u\" "
		    "height=\"%u\" fill=\"#457b9d\"><title>", x, 16 + PLOT_H -
		    len, COL_W - 6, len);
		chtml_text(b, v[i].label);
		chtml_rawf(b, ": %" PRIu64 "</title></rect><text x=\"%u\" "
		    "y=\"%u\" font-size=\"10\" text-anchor=\"middle\">%" PRIu64
		    "</text><text font-size=\"9\" transform=\"translate(%u,%u) "
		    "rotate(60)\">", v[i].count, x + (COL_W - 6) / 2, 12 +
		    PLOT_H - len, v[i].count, x + 4, PLOT_H + 22);
		chtml_text(b, v[i].label);
		chtml_raw(b, "</text></g>\n");
	}
	foot(b, title);
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t		era;
	unsigned	yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t		era;
	unsigned	doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void
console_week_of(int64_t ms, char *out, size_t outlen)
{
	char		local[64];
	int		y, m, d;
	int64_t		days, wd, yy;
	unsigned	mm, dd;

	/* The UK date first: a Monday 00:30 BST is Sunday in UTC. */
	console_format_local(ms, local, sizeof(local));
	if (sscanf(local, "%d-%d-%d", &y, &m, &d) != 3) {
		snprintf(out, outlen, "?");
		return;
	}
	days = days_from_civil(y, (unsigned)m, (unsigned)d);
	/* 1970-01-01 was a Thursday: Monday is 0. */
	wd = ((days % 7) + 7 + 3) % 7;
	civil_from_days(days - wd, &yy, &mm, &dd);
	snprintf(out, outlen, "%04" PRId64 "-%02u-%02u", yy, mm, dd);
}
