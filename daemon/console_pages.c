/*
 * console_pages: the auditor's console, rendered.  Server-side HTML with
 * every value escaped (chtml_text()), no script, one style sheet served
 * from the binary; CSV and JSON from the same rows.  console.c reads the
 * rows, audits the view and sends what is built here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"
#include "envelope.h"
#include "store.h"

/* store_query_audit()'s columns. */
enum {
	COL_ID, COL_INSTANCE, COL_SEQ, COL_AT, COL_ACTOR, COL_ACTION,
	COL_MESSAGE, COL_SUBJECT, COL_KIND, COL_RECIPIENT, COL_SHARED,
	COL_WITHHELD, COL_RULE, COL_POLICY, COL_REASON, COL_ROUTE,
};

const char console_css[] =
	"body{font-family:sans-serif;margin:0;color:#1b1b1b}"
	"header{background:#1d3557;color:#fff;padding:.5em 1em}"
	"header a{color:#fff;margin-right:1em}"
	"main{padding:1em}"
	"table{border-collapse:collapse;width:100%}"
	"th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;"
	"vertical-align:top}"
	"th{background:#eef}"
	".msg{border-left:4px solid #1d3557;margin:1em 0;padding-left:1em}"
	"td.yes{background:#e6f4ea}td.if{background:#fff6d5}"
	"td.no{background:#fbe9e9}"
	"figure.chart{display:inline-block;margin:0 2em 1em 0}"
	"figcaption{font-size:.9em;color:#555}"
	".ok{color:#1e6b33}"
	".refused{color:#9b1c1c}"
	".note{color:#555}"
	"form.search label{display:inline-block;margin:0 1em .5em 0}"
	"form.step{margin:.5em 0;padding:.5em;border:1px solid #ccc}"
	"form.step label{display:block;margin:.25em 0}"
	".overdue{color:#9b1c1c;font-weight:bold}";

static const char *
val(const struct store_result *r, size_t row, size_t col)
{
	const char *v = store_result_value(r, row, col);

	return v != NULL ? v : "";
}

static int64_t
num(const char *s)
{
	return s[0] != '\0' ? strtoll(s, NULL, 10) : 0;
}

static void
local_time(struct chtml *b, const char *ms)
{
	char out[64];

	if (ms[0] == '\0')
		return;
	console_format_local(num(ms), out, sizeof(out));
	chtml_text(b, out);
}

/* The kind as people read it. */
static const char *
kind_label(const struct console_labels *l, const char *kind);

static const char *
kind_name(const char *kind)
{
	const char *n;

	if (kind[0] == '\0' || strcmp(kind, "0") == 0)
		return "";
	n = envelope_kind_name((Nwd__V1__Kind)atoi(kind));
	return n != NULL ? n : kind;
}

static const char *
kind_label(const struct console_labels *l, const char *kind)
{
	const char *n = kind_name(kind);

	return n[0] != '\0' ? console_label(l, "kind", n) : n;
}

/* <a href="/PATH?KEY=VALUE">TEXT</a>, value and text escaped. */
static void
link(struct chtml *b, const char *path, const char *key, const char *value,
    const char *text)
{
	chtml_rawf(b, "<a href=\"%s?%s=", path, key);
	chtml_url(b, value);
	chtml_raw(b, "\">");
	chtml_text(b, text);
	chtml_raw(b, "</a>");
}

void
console_page_head(struct chtml *b, const char *title, const char *who,
    const char *role)
{
	chtml_raw(b, "<!DOCTYPE html>\n<html lang=\"en-GB\"><head>"
	    "<meta charset=\"utf-8\"><title>");
	chtml_text(b, title);
	chtml_raw(b, " - nwd console</title>"
	    "<link rel=\"stylesheet\" href=\"/console.css\"></head><body>"
	    "<header><a href=\"/\">Search</a><a href=\"/refusals\">"
	    "Refusals</a><a href=\"/escalations\">Escalations</a>"
	    "<a href=\"/overdue\">Overdue</a><a href=\"/reviews\">"
	    "Break-glass reviews</a><a href=\"/sar\">Subject access</a>"
	    "<a href=\"/chain\">Chain</a>"
	    "<a href=\"/agreement\">Agreement</a><span class=\"who\">");
	if (who != NULL) {
		chtml_raw(b, "Signed in as ");
		chtml_text(b, who);
		chtml_raw(b, " (");
		chtml_text(b, role);
		chtml_raw(b, ")");
	}
	chtml_raw(b, "</span></header><main><h1>");
	chtml_text(b, title);
	chtml_raw(b, "</h1>\n");
}

void
console_page_foot(struct chtml *b)
{
	chtml_raw(b, "<p class=\"note\">Times are UK time (Europe/London). "
	    "Every page you open here is recorded in the audit trail.</p>"
	    "</main></body></html>\n");
}

void
console_page_error(struct chtml *b, const char *title, const char *why)
{
	chtml_raw(b, "<p id=\"error\" class=\"refused\">");
	chtml_text(b, why);
	chtml_raw(b, "</p>\n");
	(void)title;
}

static void
field(struct chtml *b, const char *label, const char *name,
    const char *value, const char *hint)
{
	chtml_rawf(b, "<label>%s <input name=\"%s\" value=\"", label, name);
	chtml_text(b, value != NULL ? value : "");
	chtml_raw(b, "\" placeholder=\"");
	chtml_text(b, hint);
	chtml_raw(b, "\"></label>\n");
}

void
console_page_form(struct chtml *b, const struct console_search *q)
{
	chtml_raw(b, "<form class=\"search\" method=\"get\" "
	    "action=\"/search\">\n");
	field(b, "Young person (local id)", "subject", q ? q->subject : NULL,
	    "YP-001");
	field(b, "Principal", "principal", q ? q->principal : NULL,
	    "plo-ana");
	field(b, "Action", "action", q ? q->action : NULL, "deliver");
	field(b, "From (UK time)", "from", q ? q->from : NULL,
	    "2026-12-01 09:00");
	field(b, "Until (UK time)", "until", q ? q->until : NULL,
	    "2026-12-07");
	chtml_raw(b, "<button type=\"submit\">Search</button>\n"
	    "<button type=\"submit\" name=\"format\" value=\"csv\">"
	    "Export CSV</button>\n"
	    "<button type=\"submit\" name=\"format\" value=\"json\">"
	    "Export JSON</button>\n</form>\n"
	    "<p id=\"nhs\" class=\"note\">Search by the local id; the NHS "
	    "number is held only inside sealed messages, so the console "
	    "cannot search by it.</p>\n");
}

void
console_page_filter(struct chtml *b, const char *path,
    const struct console_search *q)
{
	chtml_raw(b, "<form class=\"search\" method=\"get\" action=\"");
	chtml_text(b, path);
	chtml_raw(b, "\">\n");
	field(b, "Principal", "principal", q ? q->principal : NULL,
	    "plo-ana");
	field(b, "Young person (local id)", "subject", q ? q->subject : NULL,
	    "YP-001");
	field(b, "From (UK time)", "from", q ? q->from : NULL,
	    "2026-12-01 09:00");
	field(b, "Until (UK time)", "until", q ? q->until : NULL,
	    "2026-12-07");
	chtml_raw(b, "<button type=\"submit\">Show</button>\n"
	    "<button type=\"submit\" name=\"format\" value=\"csv\">"
	    "Export CSV</button>\n"
	    "<button type=\"submit\" name=\"format\" value=\"json\">"
	    "Export JSON</button>\n</form>\n");
}

/* Counts by label, in first-seen order. */
struct counts {
	struct console_bar	v[CONSOLE_CHART_MAX * 4];
	char			label[CONSOLE_CHART_MAX * 4][128];
	size_t			n;
	uint64_t		rest;
};

static void
count(struct counts *c, const char *label)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->label[i], label) == 0) {
			c->v[i].count++;
			return;
		}
	if (c->n == sizeof(c->v) / sizeof(c->v[0])) {
		c->rest++;
		return;
	}
	snprintf(c->label[c->n], sizeof(c->label[c->n]), "%s", label);
	c->v[c->n].label = c->label[c->n];
	c->v[c->n].count = 1;
	c->n++;
}

static int
by_label(const void *a, const void *b)
{
	return strcmp(((const struct console_bar *)a)->label,
	    ((const struct console_bar *)b)->label);
}

void
console_page_charts(struct chtml *b, const struct store_result *r,
    const struct console_labels *l)
{
	struct counts	*kinds, *weeks;
	size_t		 i, n = store_result_nrows(r);
	char		 w[16];

	if (n == 0)
		return;
	if ((kinds = calloc(1, sizeof(*kinds))) == NULL ||
	    (weeks = calloc(1, sizeof(*weeks))) == NULL) {
		free(kinds);
		b->oom = 1;
		return;
	}
	for (i = 0; i < n; i++) {
		/* A message counts once, at its publish row. */
		if (strcmp(val(r, i, COL_ACTION), "publish") == 0 &&
		    kind_name(val(r, i, COL_KIND))[0] != '\0')
			count(kinds, kind_label(l, val(r, i, COL_KIND)));
		console_week_of(num(val(r, i, COL_AT)), w, sizeof(w));
		count(weeks, w);
	}
	/* Rows come in id order, nearly time order: sort the weeks. */
	qsort(weeks->v, weeks->n, sizeof(weeks->v[0]), by_label);
	chtml_raw(b, "<div id=\"charts\">\n");
	if (kinds->n > 0)
		console_chart_bars(b, "per-kind", "Messages per kind", kinds->v,
		    kinds->n);
	console_chart_columns(b, "per-week", "Rows per week (weeks from "
	    "Monday)", weeks->v, weeks->n);
	chtml_raw(b, "</div>\n");
	free(kinds);
	free(weeks);
}

static const char *const row_names[] = {
	"id", "instance", "seq", "at_unix_ms", "actor", "action",
	"message_id", "subject", "kind", "recipient", "fields_shared",
	"fields_withheld", "rule", "policy_version", "reason", "route",
};
#define NCOLS	(sizeof(row_names) / sizeof(row_names[0]))

void
console_page_rows(struct chtml *b, const struct store_result *r,
    enum console_format f, const char *next, const struct console_labels *l)
{
	size_t	i, c, n = store_result_nrows(r);
	char	at[64];

	if (f == CONSOLE_CSV) {
		chtml_csv(b, "at", 0);
		for (c = 0; c < NCOLS; c++)
			chtml_csv(b, row_names[c], c + 1 == NCOLS);
		for (i = 0; i < n; i++) {
			console_format_local(num(val(r, i, COL_AT)), at,
			    sizeof(at));
			chtml_csv(b, at, 0);
			for (c = 0; c < NCOLS; c++)
				chtml_csv(b, c == COL_KIND ?
				    kind_name(val(r, i, c)) :
				    store_result_value(r, i, c), c + 1 == NCOLS);
		}
		return;
	}
	if (f == CONSOLE_JSON) {
		chtml_raw(b, "{\"rows\":[");
		for (i = 0; i < n; i++) {
			chtml_raw(b, i > 0 ? ",\n{" : "\n{");
			console_format_local(num(val(r, i, COL_AT)), at,
			    sizeof(at));
			chtml_raw(b, "\"at\":");
			chtml_json(b, at);
			for (c = 0; c < NCOLS; c++) {
				chtml_rawf(b, ",\"%s\":", row_names[c]);
				chtml_json(b, c == COL_KIND ?
				    kind_name(val(r, i, c)) :
				    store_result_value(r, i, c));
			}
			chtml_raw(b, "}");
		}
		chtml_rawf(b, "],\"more\":%s", next != NULL ? "true" : "false");
		if (next != NULL) {
			chtml_raw(b, ",\"next\":");
			chtml_json(b, next);
		}
		chtml_raw(b, "}\n");
		return;
	}
	chtml_rawf(b, "<p id=\"count\">%zu row%s%s", n, n == 1 ? "" : "s",
	    next != NULL ? " on this page; more follow: " : ".");
	if (next != NULL) {
		chtml_raw(b, "<a class=\"next\" href=\"");
		chtml_text(b, next);
		chtml_raw(b, "\">next page</a>");
	}
	chtml_raw(b, "</p>\n");
	chtml_raw(b, "<table id=\"rows\"><thead><tr><th>When (UK)</th>"
	    "<th>Who</th><th>Action</th><th>Young person</th><th>Kind</th>"
	    "<th>Message</th><th>Recipient</th><th>Withheld</th>"
	    "<th>Reason</th></tr></thead><tbody>\n");
	for (i = 0; i < n; i++) {
		chtml_raw(b, "<tr><td>");
		local_time(b, val(r, i, COL_AT));
		chtml_raw(b, "</td><td>");
		chtml_text(b, val(r, i, COL_ACTOR));
		chtml_raw(b, "</td><td>");
		chtml_text(b, val(r, i, COL_ACTION));
		chtml_raw(b, "</td><td>");
		if (val(r, i, COL_SUBJECT)[0] != '\0')
			link(b, "/subject", "id", val(r, i, COL_SUBJECT),
			    val(r, i, COL_SUBJECT));
		chtml_raw(b, "</td><td>");
		chtml_text(b, kind_label(l, val(r, i, COL_KIND)));
		chtml_raw(b, "</td><td>");
		if (val(r, i, COL_MESSAGE)[0] != '\0')
			link(b, "/message", "id", val(r, i, COL_MESSAGE),
			    val(r, i, COL_MESSAGE));
		chtml_raw(b, "</td><td>");
		chtml_text(b, val(r, i, COL_RECIPIENT));
		chtml_raw(b, "</td><td>");
		chtml_text(b, val(r, i, COL_WITHHELD));
		chtml_raw(b, "</td><td>");
		chtml_text(b, val(r, i, COL_REASON));
		chtml_raw(b, "</td></tr>\n");
	}
	chtml_raw(b, "</tbody></table>\n");
	if (next != NULL) {
		chtml_raw(b, "<p><a id=\"next\" href=\"");
		chtml_text(b, next);
		chtml_raw(b, "\">Next page</a></p>\n");
	}
}

/* One event of a message, in words, as a list item. */
static void
event_line(struct chtml *b, const struct store_result *r, size_t i)
{
	const char *a = val(r, i, COL_ACTION);

	chtml_raw(b, "<li>");
	local_time(b, val(r, i, COL_AT));
	chtml_raw(b, ": ");
	if (strcmp(a, "publish") == 0) {
		chtml_raw(b, "published by ");
		chtml_text(b, val(r, i, COL_ACTOR));
	} else if (strcmp(a, "deliver") == 0) {
		chtml_raw(b, "shared with ");
		chtml_text(b, val(r, i, COL_RECIPIENT));
		if (val(r, i, COL_ROUTE)[0] != '\0') {
			chtml_raw(b, " (");
			chtml_text(b, val(r, i, COL_ROUTE));
			chtml_raw(b, ")");
		}
		if (val(r, i, COL_WITHHELD)[0] != '\0') {
			chtml_raw(b, "; withheld from them: ");
			chtml_text(b, val(r, i, COL_WITHHELD));
		}
	} else if (strcmp(a, "ack") == 0) {
		chtml_raw(b, "acknowledged by ");
		chtml_text(b, val(r, i, COL_ACTOR));
	} else if (strcmp(a, "deliver_refused") == 0) {
		chtml_raw(b, "<span class=\"refused\">not shared with ");
		chtml_text(b, val(r, i, COL_RECIPIENT));
		chtml_raw(b, "</span>");
	} else {
		chtml_text(b, a);
		if (val(r, i, COL_ACTOR)[0] != '\0') {
			chtml_raw(b, " by ");
			chtml_text(b, val(r, i, COL_ACTOR));
		}
	}
	if (val(r, i, COL_REASON)[0] != '\0') {
		chtml_raw(b, " <span class=\"note\">(");
		chtml_text(b, val(r, i, COL_REASON));
		chtml_raw(b, ")</span>");
	}
	chtml_raw(b, "</li>\n");
}

void
console_page_timeline(struct chtml *b, const char *subject,
    const struct store_result *r, const char *next,
    const struct console_labels *l)
{
	size_t	 i, j, n = store_result_nrows(r), nmsg = 0;
	char	*done;

	if ((done = calloc(n + 1, 1)) == NULL) {
		b->oom = 1;
		return;
	}
	chtml_raw(b, "<p>Every message about ");
	chtml_text(b, subject);
	chtml_raw(b, ", oldest first: who sent it, who it was shared with "
	    "and what was withheld, who acknowledged it, who was refused "
	    "it and why, and what followed.</p>\n<div id=\"timeline\">\n");
	for (i = 0; i < n; i++) {
		const char *mid = val(r, i, COL_MESSAGE);

		if (done[i] || mid[0] == '\0')
			continue;
		nmsg++;
		chtml_raw(b, "<section class=\"msg\"><h2>");
		chtml_text(b, kind_label(l, val(r, i, COL_KIND)));
		chtml_raw(b, " ");
		link(b, "/message", "id", mid, mid);
		chtml_raw(b, "</h2><ul>\n");
		for (j = i; j < n; j++) {
			if (done[j] || strcmp(val(r, j, COL_MESSAGE), mid) != 0)
				continue;
			done[j] = 1;
			event_line(b, r, j);
		}
		chtml_raw(b, "</ul></section>\n");
	}
	chtml_raw(b, "</div>\n<h2>Other events about this young person</h2>"
	    "<ul id=\"other\">\n");
	for (i = 0; i < n; i++)
		if (!done[i])
			event_line(b, r, i);
	chtml_rawf(b, "</ul>\n<p id=\"count\">%zu message%s, %zu row%s%s",
	    nmsg, nmsg == 1 ? "" : "s", n, n == 1 ? "" : "s", next != NULL ?
	    " on this page (a message's later rows may follow): " : ".");
	if (next != NULL) {
		chtml_raw(b, "<a id=\"next\" href=\"");
		chtml_text(b, next);
		chtml_raw(b, "\">next page</a>");
	}
	chtml_raw(b, "</p>\n");
	free(done);
}

void
console_page_message(struct chtml *b, const char *message_id,
    const struct store_result *r, const struct console_labels *l)
{
	size_t	i, j, n = store_result_nrows(r);
	int	acked;

	if (n == 0) {
		chtml_raw(b, "<p id=\"error\">No audit rows name message ");
		chtml_text(b, message_id);
		chtml_raw(b, ".</p>\n");
		return;
	}
	chtml_raw(b, "<dl id=\"summary\">");
	for (i = 0; i < n; i++)
		if (strcmp(val(r, i, COL_ACTION), "publish") == 0) {
			chtml_raw(b, "<dt>Kind</dt><dd>");
			chtml_text(b, kind_label(l, val(r, i, COL_KIND)));
			chtml_raw(b, "</dd><dt>Sent by</dt><dd>");
			chtml_text(b, val(r, i, COL_ACTOR));
			chtml_raw(b, "</dd><dt>Young person</dt><dd>");
			link(b, "/subject", "id", val(r, i, COL_SUBJECT),
			    val(r, i, COL_SUBJECT));
			chtml_raw(b, "</dd><dt>When</dt><dd>");
			local_time(b, val(r, i, COL_AT));
			chtml_raw(b, "</dd><dt>Policy</dt><dd>");
			chtml_text(b, val(r, i, COL_POLICY));
			chtml_raw(b, "</dd>");
			break;
		}
	chtml_raw(b, "</dl>\n<table id=\"recipients\"><thead><tr>"
	    "<th>Recipient</th><th>How</th><th>Withheld</th>"
	    "<th>Acknowledged</th><th>Rule or reason</th></tr></thead>"
	    "<tbody>\n");
	for (i = 0; i < n; i++) {
		const char *a = val(r, i, COL_ACTION);
		int refused = strcmp(a, "deliver_refused") == 0;

		if (strcmp(a, "deliver") != 0 && !refused)
			continue;
		chtml_raw(b, refused ? "<tr class=\"refused\"><td>" :
		    "<tr><td>");
		chtml_text(b, val(r, i, COL_RECIPIENT));
		chtml_raw(b, "</td><td>");
		chtml_text(b, refused ? "refused" : val(r, i, COL_ROUTE));
		chtml_raw(b, "</td><td>");
		chtml_text(b, val(r, i, COL_WITHHELD));
		chtml_raw(b, "</td><td>");
		for (acked = 0, j = 0; j < n && !refused; j++)
			if (strcmp(val(r, j, COL_ACTION), "ack") == 0 &&
			    strcmp(val(r, j, COL_ACTOR),
			    val(r, i, COL_RECIPIENT)) == 0) {
				local_time(b, val(r, j, COL_AT));
				acked = 1;
				break;
			}
		if (!acked)
			chtml_raw(b, refused ? "" : "not yet");
		chtml_raw(b, "</td><td>");
		chtml_text(b, refused ? val(r, i, COL_REASON) :
		    val(r, i, COL_RULE));
		chtml_raw(b, "</td></tr>\n");
	}
	chtml_raw(b, "</tbody></table>\n<h2>Every row</h2>\n");
	console_page_rows(b, r, CONSOLE_HTML, NULL, l);
}

void
console_page_reviews(struct chtml *b, const struct store_result *r,
    const char *csrf)
{
	size_t	i, n = store_result_nrows(r);

	chtml_rawf(b, "<p id=\"count\">%zu open review%s.</p>\n", n,
	    n == 1 ? "" : "s");
	chtml_raw(b, "<table id=\"reviews\"><thead><tr><th>Grant</th>"
	    "<th>Who</th><th>Role</th><th>Young person</th><th>Why</th>"
	    "<th>From</th><th>Until</th><th>Close the review</th></tr>"
	    "</thead><tbody>\n");
	for (i = 0; i < n; i++) {
		chtml_raw(b, "<tr><td>");
		chtml_text(b, val(r, i, 0));
		chtml_raw(b, "</td><td>");
		chtml_text(b, val(r, i, 1));
		chtml_raw(b, "</td><td>");
		chtml_text(b, val(r, i, 2));
		chtml_raw(b, "</td><td>");
		link(b, "/subject", "id", val(r, i, 3), val(r, i, 3));
		chtml_raw(b, "</td><td>");
		chtml_text(b, val(r, i, 5));
		chtml_raw(b, "</td><td>");
		local_time(b, val(r, i, 7));
		chtml_raw(b, "</td><td>");
		local_time(b, val(r, i, 8));
		chtml_raw(b, "</td><td><form method=\"post\" "
		    "action=\"/review/close\"><input type=\"hidden\" "
		    "name=\"csrf\" value=\"");
		chtml_text(b, csrf);
		chtml_raw(b, "\"><input type=\"hidden\" name=\"grant\" "
		    "value=\"");
		chtml_text(b, val(r, i, 0));
		chtml_raw(b, "\"><select name=\"outcome\"><option>justified"
		    "</option><option>unjustified</option></select> "
		    "<input name=\"note\" required placeholder=\"note\"> "
		    "<button type=\"submit\">Close</button></form></td>"
		    "</tr>\n");
	}
	chtml_raw(b, "</tbody></table>\n");
}
