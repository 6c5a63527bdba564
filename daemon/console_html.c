/*
 * console_html: escaping and local times for the auditor's console.  Pure:
 * see console_html.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "console_html.h"

void
chtml_init(struct chtml *b)
{
	memset(b, 0, sizeof(*b));
}

void
chtml_free(struct chtml *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

int
chtml_ok(const struct chtml *b)
{
	return !b->oom;
}

/* Room for n more bytes and a NUL; 0, or -1 (oom set). */
static int
reserve(struct chtml *b, size_t n)
{
	size_t	 cap;
	char	*p;

	if (b->oom)
		return -1;
	if (b->len + n + 1 <= b->cap)
		return 0;
	if (n > CHTML_MAX || b->len + n + 1 > CHTML_MAX) {
		b->oom = 1;
		return -1;
	}
	cap = b->cap != 0 ? b->cap : 4096;
	while (cap < b->len + n + 1)
		cap *= 2;
	if (cap > CHTML_MAX)
		cap = CHTML_MAX;
	if ((p = realloc(b->p, cap)) == NULL) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

static void
add(struct chtml *b, const char *s, size_t n)
{
	if (reserve(b, n) == -1)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
chtml_raw(struct chtml *b, const char *s)
{
	add(b, s, strlen(s));
}

void
chtml_rawf(struct chtml *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;
	char	small[256];

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = 1;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		add(b, small, (size_t)n);
		return;
	}
	if (reserve(b, (size_t)n) == -1)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Length of the UTF-8 sequence at p (1 to 4), or 0 if it is not one. */
static size_t
utf8_seq(const unsigned char *p)
{
	size_t	n, i;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 ||
	    cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void
chtml_text(struct chtml *b, const char *s)
{
	const unsigned char	*p;
	size_t			 n;

	if (s == NULL)
		return;
	for (p = (const unsigned char *)s; *p != '\0'; p += n) {
		n = 1;
		switch (*p) {
		case '&':
			chtml_raw(b, "&amp;");
			continue;
		case '<':
			chtml_raw(b, "&lt;");
			continue;
		case '>':
			chtml_raw(b, "&gt;");
			continue;
		case '"':
			chtml_raw(b, "&quot;");
			continue;
		case '\'':
			chtml_raw(b, "&#39;");
			continue;
		case '\t':
		case '\n':
			add(b, (const char *)p, 1);
			continue;
		}
		if (*p < 0x20 || *p == 0x7f) {
			chtml_raw(b, "\xef\xbf\xbd");
			continue;
		}
		if ((n = utf8_seq(p)) == 0) {
			n = 1;
			chtml_raw(b, "\xef\xbf\xbd");
			continue;
		}
		add(b, (const char *)p, n);
	}
}

void
chtml_csv(struct chtml *b, const char *s, int last)
{
	const unsigned char	*p;
	int			 formula, quote;

	if (s == NULL)
		s = "";
	formula = s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL;
	quote = formula || strpbrk(s, ",\"") != NULL;
	if (quote)
		chtml_raw(b, "\"");
	if (formula)
		chtml_raw(b, "'");
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"')
			chtml_raw(b, "\"\"");
		else if (*p < 0x20 || *p == 0x7f)
			chtml_rawf(b, "\\x%02x", *p);
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			/* U+0080 to U+009F: the C1 controls. */
			chtml_rawf(b, "\\x%02x", p[1]);
			p++;
		} else
			add(b, (const char *)p, 1);
	}
	if (quote)
		chtml_raw(b, "\"");
	chtml_raw(b, last ? "\r\n" : ",");
}

void
chtml_json(struct chtml *b, const char *s)
{
	const unsigned char	*p;
	size_t			 n;

	if (s == NULL) {
		chtml_raw(b, "null");
		return;
	}
	chtml_raw(b, "\"");
	for (p = (const unsigned char *)s; *p != '\0'; p += n) {
		n = 1;
		if (*p == '"' || *p == '\\')
			chtml_rawf(b, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			chtml_rawf(b, "\\u%04x", *p);
		else if (*p == '<')
			/* Never "</script>" in a JSON someone embeds. */
			chtml_raw(b, "\\u003c");
		else if ((n = utf8_seq(p)) == 0) {
			n = 1;
			chtml_raw(b, "\\ufffd");
		} else
			add(b, (const char *)p, n);
	}
	chtml_raw(b, "\"");
}

void
chtml_url(struct chtml *b, const char *s)
{
	const unsigned char *p;

	if (s == NULL)
		return;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL)
			add(b, (const char *)p, 1);
		else
			chtml_rawf(b, "%%%02X", *p);
	}
}

/* n decimal digits at s into *v; 0, or -1. */
static int
digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int
console_parse_local(const char *s, int64_t *ms, char *err, size_t errlen)
{
	int	y, m, d, hh = 0, mm = 0;
	size_t	len = strlen(s);

	if ((len != 10 && len != 16) || digits(s, 4, &y) == -1 ||
	    s[4] != '-' || digits(s + 5, 2, &m) == -1 || s[7] != '-' ||
	    digits(s + 8, 2, &d) == -1 ||
	    (len == 16 && ((s[10] != ' ' && s[10] != 'T') ||
	    digits(s + 11, 2, &hh) == -1 || s[13] != ':' ||
	    digits(s + 14, 2, &mm) == -1))) {
		snprintf(err, errlen, "is not a date: write it as "
		    "YYYY-MM-DD or YYYY-MM-DD HH:MM, in UK time, for example "
		    "2026-03-29 14:30");
		return -1;
	}
	if (calendar_utc(y, m, d, hh, mm, ms) == -1) {
		snprintf(err, errlen, "is not a day or time that exists "
		    "(the month has fewer days, or the hour or minute is out "
		    "of range)");
		return -1;
	}
	return 0;
}

void
console_format_local(int64_t ms, char *out, size_t outlen)
{
	calendar_format(ms, out, outlen);
}
