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

#endif
