/*
 * console_state: the pages of the console that show the hub's state
 * rather than its history: the deadlines not yet met (what nwd overdue
 * shows an auditor) and the audit chain (each instance's head and last
 * checkpoint, and whether this daemon's head is the database's).  Read-
 * only facts; nothing here verifies the chain (nwd audit verify does).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"
#include "envelope.h"
#include "store.h"

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

static void
link(struct chtml *b, const char *path, const char *value)
{
	chtml_rawf(b, "<a href=\"%s?id=", path);
	chtml_url(b, value);
	chtml_raw(b, "\">");
	chtml_text(b, value);
	chtml_raw(b, "</a>");
}

/* "3 h 05 min" for a span of ms. */
static void
span(char *out, size_t outlen, int64_t ms)
{
	int64_t m = ms / 60000;

	if (m >= 48 * 60)
		snprintf(out, outlen, "%" PRId64 " days", m / (24 * 60));
	else if (m >= 60)
		snprintf(out, outlen, "%" PRId64 " h %02" PRId64 " min",
		    m / 60, m % 60);
	else
		snprintf(out, outlen, "%" PRId64 " min", m);
}

void
console_page_overdue(struct chtml *b, const struct store_result *r,
    int64_t now_ms, const struct console_labels *l)
{
	size_t		 i, n = store_result_nrows(r), late = 0;
	const char	*state, *kn;
	char		 when[64];
	int64_t		 due;

	for (i = 0; i < n; i++)
		if (strcmp(val(r, i, 6), "breached") == 0 ||
		    num(val(r, i, 5)) <= now_ms)
			late++;
	chtml_rawf(b, "<p id=\"count\">%zu deadline%s not yet met, %zu of "
	    "them overdue.</p>\n", n, n == 1 ? "" : "s", late);
	chtml_raw(b, "<table id=\"overdue\"><thead><tr><th>State</th>"
	    "<th>Due (UK)</th><th>Young person</th><th>Kind</th>"
	    "<th>Deadline</th><th>Sent by</th><th>Clock started</th>"
	    "<th>Escalations</th><th>Message</th><th>Note</th></tr></thead>"
	    "<tbody>\n");
	for (i = 0; i < n; i++) {
		due = num(val(r, i, 5));
		state = val(r, i, 6);
		if (strcmp(state, "breached") == 0 || due <= now_ms) {
			span(when, sizeof(when), now_ms - due);
			chtml_raw(b, "<tr class=\"refused\"><td>overdue by ");
			chtml_text(b, when);
		} else {
			span(when, sizeof(when), due - now_ms);
			chtml_raw(b, "<tr><td>due in ");
			chtml_text(b, when);
		}
		chtml_raw(b, "</td><td>");
		local_time(b, val(r, i, 5));
		chtml_raw(b, "</td><td>");
		link(b, "/subject", val(r, i, 1));
		chtml_raw(b, "</td><td>");
		kn = envelope_kind_name((Nwd__V1__Kind)atoi(val(r, i, 2)));
		chtml_text(b, kn != NULL ? console_label(l, "kind", kn) :
		    val(r, i, 2));
		chtml_raw(b, "</td><td>");
		chtml_text(b, val(r, i, 3));
		chtml_raw(b, "</td><td>");
		chtml_text(b, val(r, i, 11));
		chtml_raw(b, "</td><td>");
		local_time(b, val(r, i, 4));
		chtml_raw(b, "</td><td>");
		chtml_text(b, val(r, i, 7));
		chtml_raw(b, "</td><td>");
		link(b, "/message", val(r, i, 0));
		chtml_raw(b, "</td><td>");
		chtml_text(b, val(r, i, 10));
		chtml_raw(b, "</td></tr>\n");
	}
	chtml_raw(b, "</tbody></table>\n");
}

void
console_page_chain(struct chtml *b, const struct store_result *r,
    const struct console_chain *cs)
{
	size_t	i, n = store_result_nrows(r);
	int	mine, same;

	chtml_raw(b, "<p>Each daemon instance writes its own hash chain of "
	    "audit rows and signs a checkpoint of its head from time to "
	    "time. These are the facts as the database and this daemon hold "
	    "them now; a full verification is nwd audit verify's.</p>\n");
	chtml_raw(b, "<dl id=\"daemon\"><dt>This daemon</dt><dd>");
	chtml_text(b, cs->instance);
	chtml_rawf(b, "</dd><dt>Its committed head</dt><dd>seq %" PRId64
	    " ", cs->head_seq);
	chtml_text(b, cs->head_hash);
	chtml_raw(b, "</dd><dt>Its state file</dt><dd>");
	if (cs->state_file != NULL) {
		chtml_text(b, cs->state_file);
		chtml_rawf(b, ": seq %" PRId64 " ", cs->state_seq);
		chtml_text(b, cs->state_hash);
	} else
		chtml_raw(b, "none");
	chtml_raw(b, "</dd>");
	if (cs->refusal != NULL) {
		chtml_raw(b, "<dt>Refused</dt><dd id=\"refusal\" "
		    "class=\"refused\">");
		chtml_text(b, cs->refusal);
		chtml_raw(b, "</dd>");
	}
	chtml_raw(b, "</dl>\n<table id=\"chain\"><thead><tr><th>Instance</th>"
	    "<th>Last row</th><th>Its hash</th><th>Last checkpoint</th>"
	    "<th>Signed at (UK)</th><th>Signed hash</th><th>Key</th>"
	    "<th>Checkpoint's row</th><th>This daemon's head</th></tr>"
	    "</thead><tbody>\n");
	for (i = 0; i < n; i++) {
		mine = strcmp(val(r, i, 0), cs->instance) == 0;
		chtml_raw(b, "<tr><td>");
		chtml_text(b, val(r, i, 0));
		chtml_raw(b, "</td><td>");
		chtml_text(b, val(r, i, 1));
		chtml_raw(b, "</td><td><small>");
		chtml_text(b, val(r, i, 2));
		chtml_raw(b, "</small></td><td>");
		chtml_text(b, val(r, i, 3)[0] != '\0' ? val(r, i, 3) : "none");
		chtml_raw(b, "</td><td>");
		local_time(b, val(r, i, 4));
		chtml_raw(b, "</td><td><small>");
		chtml_text(b, val(r, i, 5));
		chtml_raw(b, "</small></td><td>");
		chtml_text(b, val(r, i, 6));
		chtml_raw(b, "</td><td>");
		if (strcmp(val(r, i, 7), "true") == 0)
			chtml_raw(b, "<span class=\"ok\">holds the signed "
			    "hash</span>");
		else if (strcmp(val(r, i, 7), "false") == 0)
			chtml_raw(b, "<span class=\"refused\">differs from "
			    "the signed hash</span>");
		chtml_raw(b, "</td><td>");
		if (mine) {
			same = num(val(r, i, 1)) == cs->head_seq &&
			    strcmp(val(r, i, 2), cs->head_hash) == 0;
			chtml_raw(b, same ? "<span class=\"ok\" id=\"match\">"
			    "matches</span>" : "<span class=\"refused\" "
			    "id=\"match\">differs</span>");
		} else
			chtml_raw(b, "another daemon's");
		chtml_raw(b, "</td></tr>\n");
	}
	chtml_raw(b, "</tbody></table>\n");
}
