/*
 * console_html: the pure helpers of the auditor's console (console.h):
 * an output buffer with HTML, CSV (spreadsheet-safe) and JSON escaping,
 * and the Europe/London times people type and read.  No I/O, no clock.
 */
#ifndef NWD_CONSOLE_HTML_H
#define NWD_CONSOLE_HTML_H

#include <stddef.h>
#include <stdint.h>

/*
 * A growing output buffer.  A failed allocation sets oom and later
 * appends do nothing, so a page is built without checking each call and
 * judged once (chtml_ok()).  Never grows past CHTML_MAX bytes (oom then).
 */
#define CHTML_MAX	(16u << 20)

struct chtml {
	char	*p;		/* owned; NUL-terminated when not NULL */
	size_t	 len, cap;
	int	 oom;
};

void	chtml_init(struct chtml *b);
/* Frees the buffer's memory; the struct may be used again after init. */
void	chtml_free(struct chtml *b);
/* 1 if every append so far succeeded. */
int	chtml_ok(const struct chtml *b);

/* Appends s as it is: markup the caller wrote, never a value. */
void	chtml_raw(struct chtml *b, const char *s);
void	chtml_rawf(struct chtml *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/*
 * Appends s (NULL: nothing) as HTML text or an attribute value: & < > "
 * and ' become entities; C0 controls other than tab and newline, DEL and
 * bytes that are not UTF-8 become U+FFFD.
 */
void	chtml_text(struct chtml *b, const char *s);
/*
 * Appends s (NULL: "") as one CSV field (RFC 4180) and a comma, or CRLF
 * if last: the rule of the nwd tool's cli_csv_field(), so that a cell
 * opened in a spreadsheet is never a formula.  A field that starts with
 * = + - @ a tab or a CR gets a leading ', control characters (C0, DEL,
 * C1) are written \xHH; quoted when it holds , " or such a prefix.
 */
void	chtml_csv(struct chtml *b, const char *s, int last);
/* Appends s (NULL: null) as a JSON string, quotes included. */
void	chtml_json(struct chtml *b, const char *s);
/* Appends s percent-encoded for a URL's query (unreserved bytes kept). */
void	chtml_url(struct chtml *b, const char *s);

/*
 * A local (Europe/London) date or time as a person types it, into Unix
 * milliseconds: "YYYY-MM-DD" (its midnight), "YYYY-MM-DD HH:MM" or
 * "YYYY-MM-DDTHH:MM" (what an HTML datetime-local field sends), the gap
 * and the repeated hour resolved as calendar.h does.  Returns 0, or -1
 * with a sentence for the person in err.
 */
int	console_parse_local(const char *s, int64_t *ms, char *err,
	    size_t errlen);
/* "2026-12-07 14:05:09 GMT": ms in Europe/London, into out. */
void	console_format_local(int64_t ms, char *out, size_t outlen);

/*
 * Plain-language labels (console_labels.c): "prefix.name = words" lines
 * (kind.risk_alert = risk alert, role.police_liaison = police liaison
 * officer, agency.police = the police, reason.CODE = ...), '#' starting a
 * comment line, blank lines ignored.  A key is a lower-case prefix, a dot
 * and a name of letters, digits and _ . : -; the words are UTF-8 without
 * control characters, at most CONSOLE_LABEL_MAX bytes.  A key given twice
 * is an error.  Pure: the caller reads the file.
 */
#define CONSOLE_LABEL_MAX	200
#define CONSOLE_LABELS_MAX	10000

struct console_labels;

/* The labels of text (len bytes); name is used in messages.  NULL with
 * "NAME:LINE: what is wrong" in err. */
struct console_labels *console_labels_parse(const char *text, size_t len,
	    const char *name, char *err, size_t errlen);
void	console_labels_free(struct console_labels *l);
size_t	console_labels_count(const struct console_labels *l);
/* The words for prefix.name, or name itself if l is NULL or has none
 * (NULL name: ""); borrowed from l or from the caller. */
const char *console_label(const struct console_labels *l, const char *prefix,
	    const char *name);

/*
 * Small charts (console_chart.c): inline SVG markup, no script and no
 * style attribute (the console's CSP allows neither), every label
 * escaped.  A bar is a label and a count.
 */
struct console_bar {
	const char	*label;		/* borrowed */
	uint64_t	 count;
};

#define CONSOLE_CHART_MAX	60	/* bars drawn; the rest summed */

/* Horizontal bars, one per item (counts per kind), titled. */
void	console_chart_bars(struct chtml *b, const char *id, const char *title,
	    const struct console_bar *v, size_t n);
/* Vertical columns in the order given (counts per week), titled. */
void	console_chart_columns(struct chtml *b, const char *id,
	    const char *title, const struct console_bar *v, size_t n);
/* The Monday (UK local date, "YYYY-MM-DD") of the week holding ms, into
 * out (at least 11 bytes). */
void	console_week_of(int64_t ms, char *out, size_t outlen);

#endif
