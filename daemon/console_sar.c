/*
 * console_sar: the console's subject-access pages (issue 19).
 *
 *   GET  /sar              the open cases, a form to open one, a form to
 *                          find one by reference
 *   GET  /sar/case?ref=R   the case: its facts and the next step as a form
 *   GET  /sar/view?ref=R   the report as it would be released now
 *   GET  /sar/report?ref=R the report as it was released (a download)
 *   POST /sar/open         open a case
 *   POST /sar/step         check identity, extend, approve, release
 *
 * Nothing here decides a case: every step and every case shown goes
 * through sarcase_run() (sarcase.c: the same checks, the same four eyes,
 * the same rows as "nwd sar-case"); every page of the report through
 * auditq_subject_page() (auditq.c: the same pages and rows as "nwd sar");
 * and the words are sar_render.c's, which "nwd sar --release" prints, so
 * the console shows and stores what the command would.
 *
 * The report is rendered a page at a time.  Shown, its contents and its
 * records go to two temporary files and the page to a third, which is
 * sent in chunks, each once the last has been written out: memory does
 * not grow with the subject's messages.  Released, it is built in
 * memory, no larger than a case can store (one frame, sarcase.c), and
 * handed to the release step.
 *
 * Each view is a console_view row, committed before anything is sent;
 * the forms carry the CSRF token (console_form()).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "auditq.h"
#include "clock.h"
#include "config.h"
#include "console_int.h"
#include "log.h"
#include "sar_release.h"
#include "sar_render.h"
#include "sarcase.h"
#include "server.h"

#define SAR_REF_MAX	64	/* bytes of a case reference (sarcase.c) */
#define SAR_TEXT_MAX	1000	/* requested_by, how, reason */
/* The page of the report: its inline style sheet, nothing else. */
#define SAR_REPORT_CSP	"default-src 'none'; style-src 'unsafe-inline'; " \
	"form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

enum stage {
	ST_PAGE,	/* a page about the case (list, case, download) */
	ST_VIEW,	/* the report shown */
	ST_RELEASE,	/* the report built, then released */
};

/* A growing buffer, at most max bytes. */
struct membuf {
	char	*p;		/* owned */
	size_t	 len, cap, max;
};

/* One SAR request in progress. */
struct sarjob {
	struct console_job	*j;		/* owned until sent */
	enum stage		 stage;
	int			 op;		/* the step asked (POST) */
	char			 ref[SAR_REF_MAX + 1];
	char			 text[SAR_TEXT_MAX + 1]; /* how, reason */
	int64_t			 to_ms;		/* extend: the new due date */

	/* The case, copied from its SHOW (the report's case block). */
	char			 requested_by[SAR_TEXT_MAX + 1];
	char			 received[64];
	char			 due[64];

	/* The report in progress. */
	struct sar_labels	*labels;	/* owned; NULL: none */
	struct sar_render	*render;	/* owned */
	struct sar_render_sink	 sink;
	struct sar_render_case	 kase;
	char			 token[256];	/* the next page's */
	struct sar_render_files	 files;		/* ST_VIEW; owned (out: the
						   page in the making) */
	struct membuf		 mtoc, mbody, mpage;	/* ST_RELEASE */
	int			 too_big;	/* ST_RELEASE: over max */
};

static void	next_page(struct sarjob *);
static void	render_start(struct console_job *, int);

static void
membuf_free(struct membuf *b)
{
	if (b->p != NULL)
		explicit_bzero(b->p, b->cap);
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int
membuf_add(struct membuf *b, const char *p, size_t n)
{
	char	*v;
	size_t	 cap;

	if (b->len + n > b->max)
		return -1;
	if (b->len + n > b->cap) {
		cap = b->cap == 0 ? 65536 : b->cap;
		while (cap < b->len + n)
			cap *= 2;
		if ((v = realloc(b->p, cap)) == NULL)
			return -1;
		b->p = v;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

static void
sarjob_free(struct sarjob *sj)
{
	if (sj == NULL)
		return;
	sar_render_free(sj->render);
	sar_release_labels_free(sj->labels);
	if (sj->files.toc != NULL)
		fclose(sj->files.toc);
	if (sj->files.body != NULL)
		fclose(sj->files.body);
	if (sj->files.out != NULL)
		fclose(sj->files.out);
	membuf_free(&sj->mtoc);
	membuf_free(&sj->mbody);
	membuf_free(&sj->mpage);
	free(sj);
}

/* Hands j back (a plain page of code, audited and sent); frees sj. */
static void
fail(struct sarjob *sj, int code, const char *title, const char *why)
{
	struct console_job *j = sj->j;

	sj->j = NULL;
	sarjob_free(sj);
	console_plain(j, code, title, why);
}

/* The HTTP status of a sarcase.c error. */
static int
status_of(Nwd__V1__ErrorCode code)
{
	switch (code) {
	case NWD__V1__ERROR_CODE__ERROR_FORBIDDEN:
		return 403;
	case NWD__V1__ERROR_CODE__ERROR_NOT_FOUND:
		return 404;
	case NWD__V1__ERROR_CODE__ERROR_CONFLICT:
		return 409;
	case NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE:
	case NWD__V1__ERROR_CODE__ERROR_LIMIT:
	case NWD__V1__ERROR_CODE__ERROR_PROTOCOL:
		return 400;
	case NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE:
		return 503;
	default:
		return 500;
	}
}

/* Asks sarcase.c for op on sj->ref as the console's principal. */
static void
ask(struct sarjob *sj, Nwd__V1__SarCaseRequest *q, sarcase_answer_fn *cb)
{
	struct console_job	*j = sj->j;
	struct sarcase_asker	 who;

	who.actor = j->actor;
	who.role = j->role;
	who.origin = "console";
	who.peer = j->peer;
	if (q->reference == NULL || q->reference[0] == '\0')
		q->reference = sj->ref;
	sarcase_run(j->c->srv, &who, q, cb, NULL, sj);
}

/* ------------------------------------------------------------------------
 * The pages
 */

static void
date_words(int64_t ms, char *out, size_t outlen)
{
	if (ms == 0)
		snprintf(out, outlen, "-");
	else
		sar_release_date(ms, out, outlen);
}

static void
fact(struct chtml *b, const char *name, const char *value)
{
	chtml_raw(b, "<tr><th>");
	chtml_text(b, name);
	chtml_raw(b, "</th><td>");
	chtml_text(b, value);
	chtml_raw(b, "</td></tr>\n");
}

/* "2026-12-07 14:05:09 GMT by auditor-dan". */
static void
fact_when(struct chtml *b, const char *name, int64_t ms, const char *by)
{
	char when[64], line[400];

	if (ms == 0)
		return;
	console_format_local(ms, when, sizeof(when));
	snprintf(line, sizeof(line), "%s by %s", when, by);
	fact(b, name, line);
}

static const char *
state_words(const char *state)
{
	if (strcmp(state, "open") == 0)
		return "opened: the requester's identity is to be checked";
	if (strcmp(state, "identity_checked") == 0)
		return "identity checked: the release is to be approved by "
		    "another auditor";
	if (strcmp(state, "approved") == 0)
		return "approved: ready to release";
	if (strcmp(state, "released") == 0)
		return "released";
	return state;
}

/* A form of this console: POST to action, with the token and ref. */
static void
form_open(struct chtml *b, const struct console_job *j, const char *action,
    const char *ref, const char *op, const char *id)
{
	chtml_rawf(b, "<form class=\"step\" id=\"%s\" method=\"post\" "
	    "action=\"%s\"><input type=\"hidden\" name=\"csrf\" value=\"",
	    id, action);
	chtml_text(b, j->csrf);
	chtml_raw(b, "\">");
	if (ref != NULL) {
		chtml_raw(b, "<input type=\"hidden\" name=\"ref\" value=\"");
		chtml_text(b, ref);
		chtml_raw(b, "\">");
	}
	if (op != NULL)
		chtml_rawf(b, "<input type=\"hidden\" name=\"op\" "
		    "value=\"%s\">", op);
}

static void
case_link(struct chtml *b, const char *ref)
{
	chtml_raw(b, "<a href=\"/sar/case?ref=");
	chtml_url(b, ref);
	chtml_raw(b, "\">");
	chtml_text(b, ref);
	chtml_raw(b, "</a>");
}

/* GET /sar: the open cases. */
static void
list_answer(const Nwd__V1__SarCaseResult *res, Nwd__V1__ErrorCode code,
    const char *error, void *arg)
{
	struct sarjob		*sj = arg;
	struct console_job	*j = sj->j;
	struct chtml		*b = &j->out;
	const Nwd__V1__SarCase	*c;
	char			 due[80];
	size_t			 i;

	if (res == NULL) {
		fail(sj, status_of(code), "Subject-access requests", error);
		return;
	}
	j->code = 200;
	console_page_head(b, "Subject-access requests", j->actor, j->role);
	chtml_rawf(b, "<p id=\"count\">%zu open request%s", res->n_cases,
	    res->n_cases == 1 ? "" : "s");
	if (res->omitted > 0)
		chtml_rawf(b, " shown; %u more not shown", res->omitted);
	chtml_raw(b, ".</p>\n");
	if (res->n_cases > 0)
		chtml_raw(b, "<table id=\"cases\"><tr><th>Reference</th>"
		    "<th>Young person</th><th>Requested by</th>"
		    "<th>Received</th><th>Due</th><th>State</th></tr>\n");
	for (i = 0; i < res->n_cases; i++) {
		c = res->cases[i];
		chtml_raw(b, "<tr><td>");
		case_link(b, c->reference);
		chtml_raw(b, "</td><td>");
		chtml_text(b, c->subject);
		chtml_raw(b, "</td><td>");
		chtml_text(b, c->requested_by);
		chtml_raw(b, "</td><td>");
		date_words(c->received_unix_ms, due, sizeof(due));
		chtml_text(b, due);
		chtml_raw(b, c->overdue ? "</td><td class=\"overdue\">" :
		    "</td><td>");
		date_words(c->extended_to_unix_ms != 0 ?
		    c->extended_to_unix_ms : c->due_unix_ms, due, sizeof(due));
		chtml_text(b, due);
		if (c->overdue)
			chtml_raw(b, " (overdue)");
		chtml_raw(b, "</td><td>");
		chtml_text(b, state_words(c->state));
		chtml_raw(b, "</td></tr>\n");
	}
	if (res->n_cases > 0)
		chtml_raw(b, "</table>\n");
	chtml_raw(b, "<h2>Find a request</h2>\n<form class=\"search\" "
	    "method=\"get\" action=\"/sar/case\"><label>Reference <input "
	    "name=\"ref\" maxlength=\"64\" required></label><button>Show"
	    "</button></form>\n<h2>Open a request</h2>\n");
	form_open(b, j, "/sar/open", NULL, NULL, "open");
	chtml_raw(b, "<label>Reference <input name=\"ref\" maxlength=\"64\" "
	    "required></label><label>Young person (local id) <input "
	    "name=\"subject\" maxlength=\"64\" required></label><label>"
	    "Requested by <input name=\"requested_by\" maxlength=\"1000\" "
	    "required></label><label>Received (YYYY-MM-DD; empty: today) "
	    "<input name=\"received\" maxlength=\"16\"></label><button>Open"
	    "</button></form>\n");
	console_page_foot(b);
	snprintf(j->reason + strlen(j->reason), sizeof(j->reason) -
	    strlen(j->reason), "; %zu cases", res->n_cases);
	sj->j = NULL;
	sarjob_free(sj);
	console_audit_and_send(j, NULL);
}

/* GET /sar/case: the case and its next step. */
static void
case_page(struct sarjob *sj, const Nwd__V1__SarCase *c)
{
	struct console_job	*j = sj->j;
	struct chtml		*b = &j->out;
	char			 line[1400], d[80], title[120];

	snprintf(title, sizeof(title), "Subject-access request %s",
	    c->reference);
	console_page_head(b, title, j->actor, j->role);
	chtml_raw(b, "<table id=\"case\">\n");
	fact(b, "Reference", c->reference);
	chtml_raw(b, "<tr><th>Young person</th><td><a href=\"/subject?id=");
	chtml_url(b, c->subject);
	chtml_raw(b, "\">");
	chtml_text(b, c->subject);
	chtml_raw(b, "</a></td></tr>\n");
	fact(b, "Requested by", c->requested_by);
	date_words(c->received_unix_ms, d, sizeof(d));
	fact(b, "Received", d);
	date_words(c->due_unix_ms, d, sizeof(d));
	fact(b, "Due", d);
	if (c->extended_to_unix_ms != 0) {
		date_words(c->extended_to_unix_ms, d, sizeof(d));
		snprintf(line, sizeof(line), "to %s by %s: %s", d,
		    c->extended_by, c->extension_reason);
		fact(b, "Extended", line);
	}
	chtml_rawf(b, "<tr><th>State</th><td id=\"state\"%s>",
	    c->overdue ? " class=\"overdue\"" : "");
	chtml_text(b, state_words(c->state));
	if (c->overdue)
		chtml_raw(b, " (overdue)");
	chtml_raw(b, "</td></tr>\n");
	fact_when(b, "Opened", c->opened_unix_ms, c->opened_by);
	fact_when(b, "Identity checked", c->identity_checked_unix_ms,
	    c->identity_checked_by);
	if (c->identity_checked_how[0] != '\0')
		fact(b, "How", c->identity_checked_how);
	fact_when(b, "Approved", c->approved_unix_ms, c->approved_by);
	fact_when(b, "Released", c->released_unix_ms, c->released_by);
	if (c->report_sha256[0] != '\0') {
		snprintf(line, sizeof(line), "%" PRIu64 " bytes, sha256 %s",
		    c->report_bytes, c->report_sha256);
		fact(b, "Report given", line);
	}
	chtml_raw(b, "</table>\n<ul id=\"reports\">");
	if (strcmp(c->state, "released") == 0) {
		chtml_raw(b, "<li><a id=\"released\" href=\"/sar/report?ref=");
		chtml_url(b, c->reference);
		chtml_raw(b, "\">The report as it was released</a> (the "
		    "stored copy, as given)</li>");
	}
	chtml_raw(b, "<li><a id=\"view\" href=\"/sar/view?ref=");
	chtml_url(b, c->reference);
	chtml_raw(b, "\">The report as it would be released now</a> "
	    "(what the young person would read)</li></ul>\n");

	if (strcmp(c->state, "open") == 0) {
		chtml_raw(b, "<h2>Check the requester's identity</h2>\n");
		form_open(b, j, "/sar/step", c->reference, "check-identity",
		    "check-identity");
		chtml_raw(b, "<label>How it was checked <input name=\"how\" "
		    "maxlength=\"1000\" required></label><button>Identity "
		    "checked</button></form>\n");
	} else if (strcmp(c->state, "identity_checked") == 0) {
		chtml_raw(b, "<h2>Approve the release</h2>\n<p>By an auditor "
		    "other than the one who opened the request (");
		chtml_text(b, c->opened_by);
		chtml_raw(b, "): four eyes.</p>\n");
		form_open(b, j, "/sar/step", c->reference, "approve",
		    "approve");
		chtml_raw(b, "<button>Approve the release</button></form>\n");
	} else if (strcmp(c->state, "approved") == 0) {
		chtml_raw(b, "<h2>Release</h2>\n<p>The report is made now, as "
		    "it would be released, and stored sealed as given.</p>\n");
		form_open(b, j, "/sar/step", c->reference, "release",
		    "release");
		chtml_raw(b, "<button>Release the report</button></form>\n");
	}
	if (strcmp(c->state, "released") != 0 && c->extended_to_unix_ms ==
	    0) {
		chtml_raw(b, "<h2>Extend the due date</h2>\n");
		form_open(b, j, "/sar/step", c->reference, "extend", "extend");
		chtml_raw(b, "<label>New due date (YYYY-MM-DD) <input "
		    "name=\"to\" maxlength=\"16\" required></label><label>"
		    "Reason <input name=\"reason\" maxlength=\"1000\" "
		    "required></label><button>Extend</button></form>\n");
	}
	console_page_foot(b);
}

/* The case shown (SHOW): the page, the report's download, or the case
 * block of a report to render. */
static void
show_answer(const Nwd__V1__SarCaseResult *res, Nwd__V1__ErrorCode code,
    const char *error, void *arg)
{
	struct sarjob		*sj = arg;
	struct console_job	*j = sj->j;
	const Nwd__V1__SarCase	*c;

	if (res == NULL || res->n_cases != 1) {
		fail(sj, res == NULL ? status_of(code) : 500,
		    "Subject-access request", res == NULL ? error :
		    "the case could not be read");
		return;
	}
	c = res->cases[0];
	snprintf(j->subject, sizeof(j->subject), "%s", c->subject);
	console_describe(j, "subject", c->subject);
	j->code = 200;
	switch (j->route) {
	case R_SAR_REPORT:
		if (res->report.len == 0) {
			fail(sj, 404, "Not released", "This request has not "
			    "been released: there is no report as given.");
			return;
		}
		j->type = "text/html; charset=utf-8";
		j->csp = SAR_REPORT_CSP;
		snprintf(j->filename, sizeof(j->filename), "sar-%s.html",
		    c->reference);
		/* '/' may be in a reference, not in a file name. */
		for (char *p = j->filename; *p != '\0'; p++)
			if (*p == '/')
				*p = '-';
		/* The bytes as given (chtml holds them as they are). */
		chtml_free(&j->out);
		if ((j->out.p = malloc(res->report.len + 1)) == NULL)
			j->out.oom = 1;
		else {
			memcpy(j->out.p, res->report.data, res->report.len);
			j->out.p[res->report.len] = '\0';
			j->out.len = res->report.len;
			j->out.cap = res->report.len + 1;
		}
		snprintf(j->reason + strlen(j->reason), sizeof(j->reason) -
		    strlen(j->reason), "; the released report, %zu bytes, "
		    "sha256 %s", res->report.len, c->report_sha256);
		break;
	case R_SAR_VIEW:
	case R_SAR_STEP:
		snprintf(sj->requested_by, sizeof(sj->requested_by), "%s",
		    c->requested_by);
		date_words(c->received_unix_ms, sj->received,
		    sizeof(sj->received));
		date_words(c->extended_to_unix_ms != 0 ?
		    c->extended_to_unix_ms : c->due_unix_ms, sj->due,
		    sizeof(sj->due));
		j->then_arg = sj;
		if (j->route == R_SAR_VIEW) {
			/* The view's row first; the report after it. */
			j->then = render_start;
			console_audit_and_send(j, NULL);
		} else
			render_start(j, 1);
		return;
	default:
		case_page(sj, c);
		break;
	}
	sj->j = NULL;
	sarjob_free(sj);
	console_audit_and_send(j, NULL);
}

/* ------------------------------------------------------------------------
 * The report, page by page
 */

static struct membuf *
membuf_of(struct sarjob *sj, enum sar_render_stream st)
{
	return st == SAR_TOC ? &sj->mtoc : st == SAR_BODY ? &sj->mbody :
	    &sj->mpage;
}

/* ST_RELEASE's sink: memory, each buffer no larger than a frame. */
static int
mem_write(void *arg, enum sar_render_stream st, const char *p, size_t n)
{
	struct sarjob *sj = arg;

	if (membuf_add(membuf_of(sj, st), p, n) == -1) {
		sj->too_big = membuf_of(sj, st)->len + n >
		    membuf_of(sj, st)->max;
		return -1;
	}
	return 0;
}

static int
mem_copy(void *arg, enum sar_render_stream st)
{
	struct sarjob	*sj = arg;
	struct membuf	*b = membuf_of(sj, st);

	return b->len == 0 ? 0 : mem_write(arg, SAR_OUT, b->p, b->len);
}

/* The report could not be made: why, as a page. */
static void
render_failed(struct sarjob *sj)
{
	char why[300];

	if (sj->too_big) {
		snprintf(why, sizeof(why), "The report is larger than a "
		    "request can store (max_frame, %u bytes); nothing was "
		    "released.", sj->j->c->srv->cfg->max_frame);
		fail(sj, 400, "Report too large", why);
	} else
		fail(sj, 500, "Report not made", "The report could not be "
		    "written (out of memory or temporary space).");
}

/* The case's row has committed (the view's, or the SHOW before a
 * release): the report begins. */
static void
render_start(struct console_job *j, int committed)
{
	struct sarjob		*sj = j->then_arg;
	struct sar_render_opts	 o;
	const char		*path = j->c->srv->cfg->sar_labels;
	char			 err[512];

	j->then = NULL;
	j->then_arg = NULL;
	if (!committed) {
		fail(sj, 503, "Unavailable", "The audit trail cannot record "
		    "this view right now, so it is not shown.");
		return;
	}
	if (path != NULL && (sj->labels = sar_release_labels_load(path, err,
	    sizeof(err))) == NULL)
		log_warnx("console: sar_labels %s; the report names things as "
		    "they are spelled event=console_sar_labels_refused", err);
	if (sj->stage == ST_VIEW) {
		if ((sj->files.toc = tmpfile()) == NULL ||
		    (sj->files.body = tmpfile()) == NULL ||
		    (sj->files.out = tmpfile()) == NULL) {
			render_failed(sj);
			return;
		}
		sar_render_file_sink(&sj->sink, &sj->files);
	} else {
		sj->mtoc.max = sj->mbody.max = sj->mpage.max =
		    j->c->srv->cfg->max_frame;
		sj->sink.write = mem_write;
		sj->sink.copy = mem_copy;
		sj->sink.arg = sj;
	}
	sj->kase.reference = sj->ref;
	sj->kase.requested_by = sj->requested_by;
	sj->kase.received = sj->received;
	sj->kase.due = sj->due;
	memset(&o, 0, sizeof(o));
	o.html = 1;
	o.labels = sj->labels;
	o.subject = j->subject;
	o.generated_ms = clock_wall_ms();
	o.kase = &sj->kase;
	if ((sj->render = sar_render_new(&o, &sj->sink)) == NULL ||
	    sar_render_begin(sj->render) == -1) {
		render_failed(sj);
		return;
	}
	sj->token[0] = '\0';
	next_page(sj);
}

#define SAR_CHUNK	65536	/* bytes of the page sent at a time */

/* The browser went while the page streamed: the rest is dropped. */
static void
stream_gone(struct console_job *j)
{
	struct sarjob *sj = j->then_arg;

	j->gone = NULL;
	sj->j = NULL;
	sarjob_free(sj);
	console_job_free(j);
}

/*
 * Sends the next piece of the page once the last one has been written
 * out (evhttp_send_reply_chunk_with_cb()): at most SAR_CHUNK bytes of it
 * in memory, however long the report.
 */
static void
stream_next(struct evhttp_connection *evcon, void *arg)
{
	struct sarjob		*sj = arg;
	struct console_job	*j = sj->j;
	struct evhttp_request	*req = j->req;
	struct evbuffer		*b;
	char			*buf;
	size_t			 n;

	(void)evcon;
	if ((buf = malloc(SAR_CHUNK)) == NULL ||
	    (n = fread(buf, 1, SAR_CHUNK, sj->files.out)) == 0 ||
	    (b = evbuffer_new()) == NULL) {
		/* The end (or no memory: the page ends short, and the
		 * browser sees a truncated page, not a wrong one). */
		free(buf);
		if (j->evcon != NULL)
			evhttp_connection_set_closecb(j->evcon, NULL, NULL);
		j->evcon = NULL;
		j->req = NULL;
		j->gone = NULL;
		sj->j = NULL;
		sarjob_free(sj);
		console_job_free(j);
		evhttp_send_reply_end(req);
		return;
	}
	evbuffer_add(b, buf, n);
	free(buf);
	evhttp_send_reply_chunk_with_cb(req, b, stream_next, sj);
	evbuffer_free(b);
}

/* ST_VIEW: the page is made, in a file; it streams from there. */
static void
send_view(struct sarjob *sj)
{
	struct console_job *j = sj->j;

	if (fflush(sj->files.out) == EOF || fseeko(sj->files.out, 0, SEEK_SET) == -1) {
		render_failed(sj);
		return;
	}
	j->code = 200;
	j->type = "text/html; charset=utf-8";
	j->csp = SAR_REPORT_CSP;
	console_headers(j);
	evhttp_send_reply_start(j->req, 200, "OK");
	j->then_arg = sj;
	j->gone = stream_gone;
	stream_next(NULL, sj);
}

static void	step_answer(const Nwd__V1__SarCaseResult *,
		    Nwd__V1__ErrorCode, const char *, void *);

static void
page_answer(const Nwd__V1__AuditPage *page, const char *error, void *arg)
{
	struct sarjob			*sj = arg;
	Nwd__V1__SarCaseRequest		 q = NWD__V1__SAR_CASE_REQUEST__INIT;

	if (sj->j->req == NULL) {
		/* The browser has gone: nothing is made or released. */
		console_job_free(sj->j);
		sj->j = NULL;
		sarjob_free(sj);
		return;
	}
	if (page == NULL) {
		fail(sj, 503, "Report not made", error);
		return;
	}
	if (sar_render_page(sj->render, page) == -1) {
		render_failed(sj);
		return;
	}
	if (page->next_page_token[0] != '\0') {
		snprintf(sj->token, sizeof(sj->token), "%s",
		    page->next_page_token);
		next_page(sj);
		return;
	}
	if (sar_render_end(sj->render) == -1) {
		render_failed(sj);
		return;
	}
	if (sj->stage == ST_VIEW) {
		send_view(sj);
		return;
	}
	q.op = NWD__V1__SAR_CASE_REQUEST__OP__RELEASE;
	q.report.data = (uint8_t *)sj->mpage.p;
	q.report.len = sj->mpage.len;
	ask(sj, &q, step_answer);
}

static void
next_page(struct sarjob *sj)
{
	struct console_job	*j = sj->j;
	struct auditq_asker	 who;
	char			 err[320];

	who.actor = j->actor;
	who.role = j->role;
	who.origin = "console";
	who.peer = j->peer;
	if (auditq_subject_page(j->c->srv, &who, j->subject, sj->token,
	    page_answer, sj, err, sizeof(err)) == -1)
		fail(sj, 503, "Report not made", err);
}

/* ------------------------------------------------------------------------
 * The steps
 */

/* A step taken (or refused): back to the case, or why not. */
static void
step_answer(const Nwd__V1__SarCaseResult *res, Nwd__V1__ErrorCode code,
    const char *error, void *arg)
{
	struct sarjob		*sj = arg;
	struct console_job	*j = sj->j;

	if (res == NULL) {
		fail(sj, status_of(code), code ==
		    NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE ||
		    code == NWD__V1__ERROR_CODE__ERROR_INTERNAL ? "Not done" :
		    "Refused", error);
		return;
	}
	j->code = 303;
	j->type = "text/plain; charset=utf-8";
	snprintf(j->location, sizeof(j->location), "/sar/case?ref=%s",
	    sj->ref);
	chtml_raw(&j->out, "Done.\n");
	if (res->n_cases == 1) {
		snprintf(j->subject, sizeof(j->subject), "%s",
		    res->cases[0]->subject);
		snprintf(j->reason + strlen(j->reason), sizeof(j->reason) -
		    strlen(j->reason), "; now %s", res->cases[0]->state);
	}
	sj->j = NULL;
	sarjob_free(sj);
	console_audit_and_send(j, NULL);
}

/* A form's field into out; -1 (and the page said why) if malformed. */
static int
field(struct sarjob *sj, const struct evkeyvalq *form, const char *key,
    char *out, size_t outlen)
{
	char why[200];

	if (console_param(form, key, out, outlen) == 0)
		return 0;
	snprintf(why, sizeof(why), "The field \"%s\" is too long (at most "
	    "%zu bytes), is not UTF-8 text or holds control characters.", key,
	    outlen - 1);
	fail(sj, 400, "Bad request", why);
	return -1;
}

/* A local date typed in a form, or 0 if empty; -1 (page said) if bad. */
static int
date_field(struct sarjob *sj, const struct evkeyvalq *form, const char *key,
    int64_t *ms)
{
	char v[64], err[200], why[400];

	*ms = 0;
	if (field(sj, form, key, v, sizeof(v)) == -1)
		return -1;
	if (v[0] == '\0')
		return 0;
	if (console_parse_local(v, ms, err, sizeof(err)) == -1) {
		snprintf(why, sizeof(why), "\"%s\" (%s) %s", v, key, err);
		fail(sj, 400, "Bad request", why);
		return -1;
	}
	return 0;
}

/* POST /sar/open and /sar/step. */
static void
post(struct sarjob *sj, const char *path, struct evhttp_request *req)
{
	struct console_job	*j = sj->j;
	Nwd__V1__SarCaseRequest	 q = NWD__V1__SAR_CASE_REQUEST__INIT;
	struct evkeyvalq	 form;
	char			 op[32], subject[ENVELOPE_MAX_SUBJECT + 1];
	char			 who[SAR_TEXT_MAX + 1];

	j->route = strcmp(path, "/sar/open") == 0 ? R_SAR_OPEN : R_SAR_STEP;
	if (strcmp(path, "/sar/open") != 0 && strcmp(path, "/sar/step") != 0) {
		fail(sj, 404, "Not found", "There is no such form.");
		return;
	}
	if (console_form(j, req, &form) == -1) {
		sj->j = NULL;		/* console_form() sent and freed it */
		sarjob_free(sj);
		return;
	}
	if (field(sj, &form, "ref", sj->ref, sizeof(sj->ref)) == -1)
		goto out;
	console_describe(j, "ref", sj->ref);
	if (j->route == R_SAR_OPEN) {
		if (field(sj, &form, "subject", subject, sizeof(subject)) ==
		    -1 || field(sj, &form, "requested_by", who, sizeof(who)) ==
		    -1 || date_field(sj, &form, "received",
		    &q.received_unix_ms) == -1)
			goto out;
		console_describe(j, "subject", subject);
		snprintf(j->subject, sizeof(j->subject), "%s", subject);
		q.op = NWD__V1__SAR_CASE_REQUEST__OP__OPEN;
		q.subject = subject;
		q.requested_by = who;
		ask(sj, &q, step_answer);
		goto out;
	}
	if (field(sj, &form, "op", op, sizeof(op)) == -1)
		goto out;
	console_describe(j, "op", op);
	if (strcmp(op, "check-identity") == 0) {
		if (field(sj, &form, "how", sj->text, sizeof(sj->text)) == -1)
			goto out;
		q.op = NWD__V1__SAR_CASE_REQUEST__OP__CHECK_IDENTITY;
		q.how = sj->text;
	} else if (strcmp(op, "approve") == 0)
		q.op = NWD__V1__SAR_CASE_REQUEST__OP__APPROVE;
	else if (strcmp(op, "extend") == 0) {
		if (field(sj, &form, "reason", sj->text, sizeof(sj->text)) ==
		    -1 || date_field(sj, &form, "to", &q.extended_to_unix_ms) ==
		    -1)
			goto out;
		q.op = NWD__V1__SAR_CASE_REQUEST__OP__EXTEND;
		q.reason = sj->text;
	} else if (strcmp(op, "release") == 0) {
		/* The case first (its block in the report), then the
		 * report, then the release. */
		sj->stage = ST_RELEASE;
		q.op = NWD__V1__SAR_CASE_REQUEST__OP__SHOW;
		ask(sj, &q, show_answer);
		goto out;
	} else {
		fail(sj, 400, "Bad request", "No such step (check-identity, "
		    "approve, extend, release).");
		goto out;
	}
	ask(sj, &q, step_answer);
out:
	evhttp_clear_headers(&form);
}

void
console_sar_route(struct console_job *j, const char *path,
    struct evhttp_request *req, const struct evkeyvalq *q)
{
	Nwd__V1__SarCaseRequest	 sq = NWD__V1__SAR_CASE_REQUEST__INIT;
	struct sarjob		*sj;

	if ((sj = calloc(1, sizeof(*sj))) == NULL) {
		console_plain(j, 503, "Unavailable", "out of memory");
		return;
	}
	sj->j = j;
	if (q == NULL) {
		post(sj, path, req);
		return;
	}
	if (strcmp(path, "/sar") == 0) {
		j->route = R_SAR;
		sq.op = NWD__V1__SAR_CASE_REQUEST__OP__LIST;
		ask(sj, &sq, list_answer);
		return;
	}
	if (strcmp(path, "/sar/case") == 0)
		j->route = R_SAR_CASE;
	else if (strcmp(path, "/sar/view") == 0) {
		j->route = R_SAR_VIEW;
		sj->stage = ST_VIEW;
	} else if (strcmp(path, "/sar/report") == 0)
		j->route = R_SAR_REPORT;
	else {
		fail(sj, 404, "Not found", "There is no such page.");
		return;
	}
	if (field(sj, q, "ref", sj->ref, sizeof(sj->ref)) == -1)
		return;
	if (sj->ref[0] == '\0') {
		fail(sj, 400, "Bad request", "Which request? Give its "
		    "reference.");
		return;
	}
	console_describe(j, "ref", sj->ref);
	sq.op = NWD__V1__SAR_CASE_REQUEST__OP__SHOW;
	ask(sj, &sq, show_answer);
}
