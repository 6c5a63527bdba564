/*
 * sar_render: the release version of a subject-access report, page by
 * page (sar_render.h).  Pure: every byte goes through the caller's sink.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "sar_release.h"
#include "sar_render.h"
#include "utf8.h"

struct sar_render {
	int				 html;
	const struct sar_labels		*labels;	/* borrowed */
	const char			*subject;	/* borrowed */
	int64_t				 generated_ms;
	const struct sar_render_case	*kase;		/* borrowed; NULL */
	const struct sar_render_sink	*sink;		/* borrowed */
	enum sar_render_stream		 cur;		/* where put() writes */
	int				 failed;	/* a write failed */
	size_t				 nmsgs;		/* rendered so far */
	size_t				 nother;
	struct sar_seen			 seen;		/* owned ids */
};

/* ------------------------------------------------------------------------
 * Rows
 */

static int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

int
sar_seen_remember(struct sar_seen *s, const Nwd__V1__SarMessage *m)
{
	int64_t	*v;
	size_t	 i, cap;

	if (m->rows_cut)
		s->remember = 1;
	if (!s->remember)
		return 0;
	for (i = 0; i < m->n_events; i++) {
		if (s->n == s->cap) {
			cap = s->cap == 0 ? 256 : s->cap * 2;
			if ((v = reallocarray(s->ids, cap, sizeof(*v))) ==
			    NULL)
				return -1;
			s->ids = v;
			s->cap = cap;
		}
		s->ids[s->n++] = m->events[i]->id;
		s->sorted = 0;
	}
	return 0;
}

int
sar_seen_has(struct sar_seen *s, const Nwd__V1__AuditEvent *e)
{
	if (s->n == 0)
		return 0;
	if (!s->sorted) {
		qsort(s->ids, s->n, sizeof(*s->ids), cmp_id);
		s->sorted = 1;
	}
	return bsearch(&e->id, s->ids, s->n, sizeof(*s->ids), cmp_id) !=
	    NULL;
}

void
sar_seen_free(struct sar_seen *s)
{
	free(s->ids);
	memset(s, 0, sizeof(*s));
}

/*
 * 1 if m's recipient was reached by nothing but a live send that did not
 * happen: a deliver_lost row of theirs, and no deliver row of theirs that
 * queued the message or replayed it.
 */
static int
lost_unqueued(const Nwd__V1__SarMessage *m, const char *recipient)
{
	const Nwd__V1__AuditEvent	*e;
	size_t				 i;
	int				 lost = 0;

	for (i = 0; i < m->n_events; i++) {
		e = m->events[i];
		if (strcmp(e->recipient, recipient) != 0)
			continue;
		if (strcmp(e->action, "deliver_lost") == 0)
			lost = 1;
		else if (strcmp(e->action, "deliver") == 0 &&
		    (strstr(e->route, "queued") != NULL ||
		    strcmp(e->route, "replay") == 0))
			return 0;
	}
	return lost;
}

enum sar_row
sar_render_classify(const Nwd__V1__SarMessage *m,
    const Nwd__V1__AuditEvent *e)
{
	if (strcmp(e->action, "deliver") == 0) {
		if (strcmp(e->route, "unreachable") == 0 ||
		    (strcmp(e->route, "live") == 0 &&
		    lost_unqueued(m, e->recipient)))
			return SAR_ROW_NOT_REACHED;
		return SAR_ROW_SHARED;
	}
	if (strcmp(e->action, "deliver_refused") == 0)
		return SAR_ROW_REFUSED;
	if (strcmp(e->action, "ack") == 0)
		return SAR_ROW_ACK;
	return SAR_ROW_OTHER;
}

/* ------------------------------------------------------------------------
 * Writing
 */

static void
emit(struct sar_render *s, enum sar_render_stream st, const char *t)
{
	size_t n = strlen(t);

	if (s->failed || n == 0)
		return;
	if (s->sink->write(s->sink->arg, st, t, n) == -1)
		s->failed = 1;
}

static void
out_puts(struct sar_render *s, const char *t)
{
	emit(s, s->cur, t);
}

static void
toc_puts(struct sar_render *s, const char *t)
{
	emit(s, SAR_TOC, t);
}

static void	out_printf(struct sar_render *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
out_printf(struct sar_render *s, const char *fmt, ...)
{
	char	buf[256];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	out_puts(s, buf);
}

static void	toc_printf(struct sar_render *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
toc_printf(struct sar_render *s, const char *fmt, ...)
{
	char	buf[256];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	toc_puts(s, buf);
}

/* t with control characters as '?' and broken bytes replaced, in
 * malloc'd memory (NULL out of memory). */
static char *
clean(const char *t)
{
	size_t	 n = strlen(t) * 3 + 1;
	char	*c;

	if ((c = malloc(n)) != NULL)
		utf8_clean(c, n, t, strlen(t), UTF8_NO_CONTROLS);
	return c;
}

/* Writes t as text for the format: cleaned, and escaped for HTML, to
 * stream st.  NULL writes nothing. */
static void
put_to(struct sar_render *s, enum sar_render_stream st, const char *t)
{
	char	*c, *esc;
	size_t	 n;

	if (t == NULL)
		return;
	if ((c = clean(t)) == NULL) {
		s->failed = 1;
		return;
	}
	if (!s->html) {
		emit(s, st, c);
		free(c);
		return;
	}
	n = strlen(c) * 6 + 1;
	if ((esc = malloc(n)) != NULL)
		emit(s, st, sar_release_html_escape(c, esc, n));
	else
		s->failed = 1;
	free(esc);
	free(c);
}

static void
put(struct sar_render *s, const char *t)
{
	put_to(s, s->cur, t);
}

/* The same into the table of contents. */
static void
put_toc(struct sar_render *s, const char *t)
{
	put_to(s, SAR_TOC, t);
}

static const char *
label(struct sar_render *s, const char *category, const char *name,
    char *buf, size_t buflen)
{
	return sar_release_label(s->labels, category, name, buf, buflen);
}

/* "Norfolk Police (police liaison officer)", by agency and role. */
static const char *
who(struct sar_render *s, const char *agency, const char *role, char *buf,
    size_t buflen)
{
	char a[256], r[256];

	if (agency[0] != '\0' && role[0] != '\0')
		snprintf(buf, buflen, "%s (%s)", label(s, "agency", agency, a,
		    sizeof(a)), label(s, "role", role, r, sizeof(r)));
	else if (agency[0] != '\0')
		snprintf(buf, buflen, "%s", label(s, "agency", agency, a,
		    sizeof(a)));
	else if (role[0] != '\0')
		snprintf(buf, buflen, "%s", label(s, "role", role, r,
		    sizeof(r)));
	else
		snprintf(buf, buflen, "someone no longer on the list of users");
	return buf;
}

/* The withheld marker, with its reason, in the format. */
static void
put_withheld(struct sar_render *s, const char *reason)
{
	char m[512];

	sar_release_marker(reason, m, sizeof(m));
	if (s->html)
		out_puts(s, "<span class=\"withheld\">");
	put(s, m);
	if (s->html)
		out_puts(s, "</span>");
}

/* A fact line: "  Label: value" or a table row. */
static void
fact(struct sar_render *s, const char *name, const char *value,
    const char *withheld)
{
	if (s->html) {
		out_puts(s, "<tr><th>");
		put(s, name);
		out_puts(s, "</th><td>");
	} else {
		out_puts(s, "   ");
		put(s, name);
		out_puts(s, ": ");
	}
	if (withheld != NULL)
		put_withheld(s, withheld);
	else
		put(s, value);
	out_puts(s, s->html ? "</td></tr>\n" : "\n");
}

static void
body_item(const struct sar_release_item *it, void *arg)
{
	struct sar_render	*s = arg;
	int			 i;

	if (s->html) {
		out_printf(s, "<tr><th style=\"padding-left:%dem\">",
		    it->depth + 1);
		put(s, it->label);
		out_puts(s, "</th><td>");
	} else {
		out_puts(s, "     ");
		for (i = 0; i < it->depth; i++)
			out_puts(s, "  ");
		put(s, it->label);
		out_puts(s, it->value != NULL || it->withheld != NULL ?
		    ": " : "");
	}
	if (it->withheld != NULL)
		put_withheld(s, it->withheld);
	else
		put(s, it->value);
	out_puts(s, s->html ? "</td></tr>\n" : "\n");
}

static void
section(struct sar_render *s, const char *title)
{
	if (s->html) {
		out_puts(s, "<h3>");
		put(s, title);
		out_puts(s, "</h3>\n");
	} else {
		out_puts(s, "   ");
		put(s, title);
		out_puts(s, "\n");
	}
}

static void
list_open(struct sar_render *s)
{
	if (s->html)
		out_puts(s, "<ul>\n");
}

static void
list_close(struct sar_render *s)
{
	if (s->html)
		out_puts(s, "</ul>\n");
}

static void
list_item(struct sar_render *s, const char *t)
{
	out_puts(s, s->html ? "<li>" : "     - ");
	put(s, t);
	out_puts(s, s->html ? "</li>\n" : "\n");
}

/* Fields a recipient did not get, in words: "source details, grading". */
static void
withheld_words(struct sar_render *s, const Nwd__V1__AuditEvent *e,
    char *out, size_t outlen)
{
	const char	*f, *dot;
	char		 w[256];
	size_t		 i, used = 0;

	out[0] = '\0';
	for (i = 0; i < e->n_fields_withheld && used + 1 < outlen; i++) {
		f = e->fields_withheld[i];
		if ((dot = strrchr(f, '.')) != NULL)
			f = dot + 1;
		snprintf(out + used, outlen - used, "%s%s", i > 0 ? ", " : "",
		    label(s, "field", f, w, sizeof(w)));
		used = strlen(out);
	}
	/* Lower case after the first: it reads inside a sentence. */
	for (i = 0; out[i] != '\0'; i++)
		if (i == 0 || (i > 1 && out[i - 2] == ','))
			out[i] = (char)(out[i] >= 'A' && out[i] <= 'Z' ?
			    out[i] - 'A' + 'a' : out[i]);
}

/*
 * 1 if row i of m is told already: an earlier row of the same class with
 * the same words for its recipient, or (refused) a row that reached the
 * same agency and role: "not passed to the hub" beside "shared with the
 * hub" would say the opposite of what happened.  Messages with many rows
 * are not checked (quadratic).
 */
static int
told(struct sar_render *s, const Nwd__V1__SarMessage *m, size_t i)
{
	const Nwd__V1__AuditEvent	*e = m->events[i], *o;
	enum sar_row			 c = sar_render_classify(m, e), oc;
	char				 a[512], b[512];
	size_t				 k;

	if (m->n_events > 1000 || c == SAR_ROW_SHARED)
		return 0;
	who(s, e->recipient_agency, e->recipient_role, a, sizeof(a));
	for (k = 0; k < m->n_events; k++) {
		o = m->events[k];
		oc = sar_render_classify(m, o);
		if (k == i || !((oc == SAR_ROW_SHARED &&
		    c == SAR_ROW_REFUSED) ||
		    (oc == c && k < i)))
			continue;
		if (strcmp(a, who(s, o->recipient_agency, o->recipient_role, b,
		    sizeof(b))) == 0)
			return 1;
	}
	return 0;
}

/* One message in the release version. */
static void
release_message(struct sar_render *s, const Nwd__V1__SarMessage *m)
{
	const Nwd__V1__Envelope	*env = m->envelope;
	const Nwd__V1__Header	*h = env != NULL ? env->header : NULL;
	const ProtobufCMessage	*body = env != NULL ? envelope_body(env) :
				    NULL;
	const Nwd__V1__AuditEvent *e;
	const char		*kind, *why;
	char			 kw[256], when[80], line[2048], w[512], f[1024];
	char			 ref[16], tmp[256];
	size_t			 i, n;

	kind = h != NULL ? envelope_kind_name(h->kind) : NULL;
	kind = label(s, "kind", kind != NULL ? kind : "record", kw,
	    sizeof(kw));
	sar_release_time(h != NULL ? h->created_unix_ms : 0, when,
	    sizeof(when));
	snprintf(ref, sizeof(ref), "%s", sar_release_reference(m->message_id));
	s->nmsgs++;
	if (s->html) {
		out_printf(s, "<section class=\"msg\" id=\"m%zu\">\n<h2>%zu. ",
		    s->nmsgs, s->nmsgs);
		put(s, kind);
		out_puts(s, "</h2>\n<p class=\"when\">");
		put(s, when);
		out_puts(s, "</p>\n<table class=\"facts\">\n");
		toc_printf(s, "<li><a href=\"#m%zu\">", s->nmsgs);
		put_toc(s, when);
		toc_puts(s, " &mdash; ");
		put_toc(s, kind);
		toc_puts(s, "</a></li>\n");
	} else {
		out_printf(s, "%zu. ", s->nmsgs);
		put(s, kind);
		out_puts(s, "\n");
		fact(s, "Date", when, NULL);
	}
	if (h != NULL)
		fact(s, "From", who(s, h->originating_agency, m->sender_role,
		    line, sizeof(line)), NULL);
	fact(s, "Reference", ref, NULL);
	if (h != NULL && h->legal_basis != 0)
		fact(s, "Legal basis", label(s, "basis",
		    envelope_legal_basis_name(h->legal_basis), w, sizeof(w)),
		    NULL);
	if (h != NULL && h->justification[0] != '\0')
		fact(s, "Why it was shared", NULL,
		    sar_release_withheld(s->labels, NULL, "justification"));
	if (h != NULL && h->supersedes[0] != '\0') {
		snprintf(line, sizeof(line), h->kind ==
		    NWD__V1__KIND__RETRACTION ? "this withdraws the earlier "
		    "record with reference %s" : h->kind ==
		    NWD__V1__KIND__WITHDRAWAL_NOTICE ? "this tells those who "
		    "received the record with reference %s that it changed" :
		    "this corrects the earlier record with reference %s",
		    sar_release_reference(h->supersedes));
		fact(s, "Changes", line, NULL);
	}
	for (i = 0; i < m->n_withdrawn_by; i++) {
		snprintf(line, sizeof(line), "%s on %s (reference %s)",
		    m->withdrawn_by[i]->retracted ? "withdrawn" : "corrected",
		    sar_release_time(m->withdrawn_by[i]->at_unix_ms, tmp,
		    sizeof(tmp)), sar_release_reference(
		    m->withdrawn_by[i]->message_id));
		fact(s, "Later", line, NULL);
	}
	if (m->note[0] != '\0' && body == NULL)
		fact(s, "Content", strstr(m->note, "purged") != NULL ?
		    "no longer held: deleted under the retention schedule" :
		    "could not be read back", NULL);
	if (s->html)
		out_puts(s, "</table>\n");
	if (body != NULL) {
		section(s, "What it said");
		if (s->html)
			out_puts(s, "<table class=\"body\">\n");
		sar_release_body(body, s->labels, body_item, s);
		if (s->html)
			out_puts(s, "</table>\n");
	}

	/* Who actually received it, and when. */
	for (i = 0, n = 0; i < m->n_events; i++)
		n += sar_render_classify(m, m->events[i]) == SAR_ROW_SHARED;
	section(s, "Shared with");
	list_open(s);
	if (n == 0)
		list_item(s, "no one");
	for (i = 0; i < m->n_events; i++) {
		e = m->events[i];
		if (sar_render_classify(m, e) != SAR_ROW_SHARED)
			continue;
		withheld_words(s, e, f, sizeof(f));
		snprintf(line, sizeof(line), "%s, %s%s%s%s",
		    who(s, e->recipient_agency, e->recipient_role, w,
		    sizeof(w)), sar_release_time(e->at_unix_ms, tmp,
		    sizeof(tmp)), f[0] != '\0' ? " (without: " : "", f,
		    f[0] != '\0' ? ")" : "");
		list_item(s, line);
	}
	list_close(s);
	for (i = 0, n = 0; i < m->n_events; i++)
		n += sar_render_classify(m, m->events[i]) ==
		    SAR_ROW_REFUSED && !told(s, m, i);
	if (n > 0) {
		section(s, "Not passed to (the sharing agreement did not "
		    "allow it)");
		list_open(s);
		for (i = 0; i < m->n_events; i++) {
			e = m->events[i];
			if (sar_render_classify(m, e) != SAR_ROW_REFUSED ||
			    told(s, m, i))
				continue;
			snprintf(line, sizeof(line), "%s, %s",
			    who(s, e->recipient_agency, e->recipient_role, w,
			    sizeof(w)), sar_release_time(e->at_unix_ms, tmp,
			    sizeof(tmp)));
			list_item(s, line);
		}
		list_close(s);
	}
	for (i = 0, n = 0; i < m->n_events; i++)
		n += sar_render_classify(m, m->events[i]) == SAR_ROW_ACK;
	if (n > 0) {
		section(s, "Read and acknowledged by");
		list_open(s);
		for (i = 0; i < m->n_events; i++) {
			e = m->events[i];
			if (sar_render_classify(m, e) != SAR_ROW_ACK)
				continue;
			snprintf(line, sizeof(line), "%s, %s",
			    who(s, e->recipient_agency, e->recipient_role, w,
			    sizeof(w)), sar_release_time(e->at_unix_ms, tmp,
			    sizeof(tmp)));
			list_item(s, line);
		}
		list_close(s);
	}
	/* What happened to it since, in words; internal rows left out. */
	for (i = 0; i < m->n_events; i++) {
		e = m->events[i];
		why = NULL;
		if (strcmp(e->action, "purge") == 0)
			why = "its content was deleted under the retention "
			    "schedule";
		else if (strcmp(e->action, "deliver_withdrawn") == 0)
			why = "a copy held for a recipient was withdrawn";
		if (why == NULL)
			continue;
		snprintf(line, sizeof(line), "%s: %s", sar_release_time(
		    e->at_unix_ms, tmp, sizeof(tmp)), why);
		fact(s, "Since", line, NULL);
	}
	out_puts(s, s->html ? "</section>\n" : "\n");
}

/* A row about the subject and no held message, if the release shows it. */
static void
release_row(struct sar_render *s, const Nwd__V1__AuditEvent *e)
{
	const char	*kind;
	char		 kw[256], tmp[80], line[512];

	if (strcmp(e->action, "publish_refused") != 0)
		return;		/* internal: queries, connects, replays */
	if (s->nother++ == 0)
		section(s, "Messages about you that were not accepted");
	kind = e->kind != 0 ? envelope_kind_name(e->kind) : NULL;
	snprintf(line, sizeof(line), "%s: a %s was refused by the system "
	    "and not shared with anyone", sar_release_time(e->at_unix_ms,
	    tmp, sizeof(tmp)), kind != NULL ? label(s, "kind", kind, kw,
	    sizeof(kw)) : "message");
	list_item(s, line);
}

static const char release_css[] =
    "body{font-family:Georgia,serif;max-width:48em;margin:2em auto;"
    "padding:0 1em;color:#111;line-height:1.45}"
    "h1{font-size:1.6em}h2{font-size:1.2em;border-top:1px solid #999;"
    "padding-top:.6em;margin-top:1.6em}h3{font-size:1em;margin:.8em 0 .2em}"
    "table{border-collapse:collapse;width:100%}"
    "th{text-align:left;vertical-align:top;font-weight:normal;color:#444;"
    "width:14em;padding:.1em .6em .1em 0}td{padding:.1em 0}"
    ".withheld{background:#eee;border:1px solid #999;padding:0 .3em;"
    "font-style:italic}.when{color:#444;margin:0}"
    ".case th{width:10em}nav ol{padding-left:1.4em}"
    "@media print{section{page-break-inside:avoid}a{color:#111}}";


/* The case block's facts, if the report answers a case. */
static void
case_facts(struct sar_render *s)
{
	const struct sar_render_case *k = s->kase;

	if (k == NULL || k->reference == NULL)
		return;
	fact(s, "Reference", k->reference, NULL);
	fact(s, "Requested by", k->requested_by != NULL ? k->requested_by :
	    "-", NULL);
	fact(s, "Received", k->received != NULL ? k->received : "-", NULL);
	fact(s, "Due", k->due != NULL ? k->due : "-", NULL);
}

struct sar_render *
sar_render_new(const struct sar_render_opts *o,
    const struct sar_render_sink *sink)
{
	struct sar_render *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->html = o->html;
	s->labels = o->labels;
	s->subject = o->subject != NULL ? o->subject : "";
	s->generated_ms = o->generated_ms;
	s->kase = o->kase;
	s->sink = sink;
	s->cur = o->html ? SAR_BODY : SAR_OUT;
	return s;
}

void
sar_render_free(struct sar_render *s)
{
	if (s == NULL)
		return;
	sar_seen_free(&s->seen);
	free(s);
}

size_t
sar_render_count(const struct sar_render *s)
{
	return s->nmsgs;
}

int
sar_render_begin(struct sar_render *s)
{
	char when[80];

	if (s->html) {
		toc_puts(s, "<ul class=\"toc\">\n");
		return s->failed ? -1 : 0;	/* the head comes at the end */
	}
	sar_release_time(s->generated_ms, when, sizeof(when));
	out_puts(s, "Information held about you\n"
	    "==========================\n\n");
	fact(s, "About", s->subject, NULL);
	fact(s, "Prepared", when, NULL);
	case_facts(s);
	out_puts(s, "\nThis sets out every record the information-sharing "
	    "system holds about you,\noldest first: what it said, who it came "
	    "from, and who received it and when.\nSome parts are withheld: "
	    "each says [withheld: ...] with the reason, such as\ninformation "
	    "about another person.  Times are UK time.\n\n");
	return s->failed ? -1 : 0;
}

int
sar_render_page(struct sar_render *s, const Nwd__V1__AuditPage *p)
{
	size_t i;

	for (i = 0; i < p->n_messages; i++) {
		if (sar_seen_remember(&s->seen, p->messages[i]) == -1)
			return -1;
		release_message(s, p->messages[i]);
	}
	for (i = 0; i < p->n_events; i++)
		if (!sar_seen_has(&s->seen, p->events[i]))
			release_row(s, p->events[i]);
	return s->failed ? -1 : 0;
}

int
sar_render_end(struct sar_render *s)
{
	char when[80], n[32];

	if (!s->html) {
		if (s->nmsgs == 0)
			out_puts(s, "No records about you are held.\n");
		out_puts(s, "End of the information held.\n");
		return s->failed ? -1 : 0;
	}
	/* The head, then the contents, then the messages. */
	s->cur = SAR_OUT;
	sar_release_time(s->generated_ms, when, sizeof(when));
	out_puts(s, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<title>Information held about ");
	put(s, s->subject);
	out_puts(s, "</title>\n<style>");
	out_puts(s, release_css);
	out_puts(s, "</style>\n</head>\n<body>\n"
	    "<h1>Information held about you</h1>\n<table class=\"case\">\n");
	fact(s, "About", s->subject, NULL);
	fact(s, "Prepared", when, NULL);
	case_facts(s);
	snprintf(n, sizeof(n), "%zu", s->nmsgs);
	fact(s, "Records", n, NULL);
	out_puts(s, "</table>\n<p>This sets out every record the "
	    "information-sharing system holds about you, oldest first: what "
	    "it said, who it came from, and who received it and when. Some "
	    "parts are withheld: each says <span class=\"withheld\">"
	    "[withheld: &hellip;]</span> with the reason, such as information "
	    "about another person. Times are UK time.</p>\n"
	    "<nav>\n<h2>Contents</h2>\n");
	toc_puts(s, "</ul>\n");
	if (s->nmsgs == 0)
		out_puts(s, "<p>No records about you are held.</p>\n");
	if (s->failed || s->sink->copy(s->sink->arg, SAR_TOC) == -1)
		return -1;
	out_puts(s, "</nav>\n");
	if (s->failed || s->sink->copy(s->sink->arg, SAR_BODY) == -1)
		return -1;
	out_puts(s, "<p>End of the information held.</p>\n</body>\n</html>\n");
	return s->failed ? -1 : 0;
}
