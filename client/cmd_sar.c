/*
 * cmd_sar: "nwd sar", a subject-access request answered in one command:
 * every message the broker holds about a young person (opened for the
 * auditor), who got which fields, when and how (live, queued, replayed),
 * who the policy allowed but the message did not reach, what was withheld
 * and why, refusals and receipts, and every other event the audit trail
 * records about them, as JSON or as a report a data-protection officer can
 * read; or, with --release, the version the young person can be given
 * (sar_release.h): plain words, local times, who received each message by
 * agency and role, and what is protected withheld with the reason.
 * The broker answers auditors only (AuditQuery.subject_access in
 * nwd.proto) and audits every page and every body it opens.
 *
 * Each page is printed as it arrives, so memory does not grow with the
 * number of messages: the broker sends each row once (a message's rows
 * with it, the others after the messages) and says beside a message what
 * corrected or retracted it.  The HTML page puts its table of contents
 * first: the messages and the contents go to two temporary files, which
 * are copied out at the end.
 *
 * Times in the auditor's version are UTC; in the release version, UK
 * local time.  Text that came from the audit trail is printed with
 * control characters replaced in the reports, escaped in JSON and HTML.
 */

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <json.h>

#include "cli.h"
#include "cmd_audit.h"
#include "commands.h"
#include "connopts.h"
#include "envelope.h"
#include "nwd.h"
#include "pbjson.h"
#include "sar_release.h"
#include "sar_render.h"
#include "print_pdf.h"

#define SAR_PAGE_ROWS	1000	/* the most the broker puts in a page */

#ifndef NWD_LABELS_DEFAULT
#define NWD_LABELS_DEFAULT	"/usr/local/share/doc/nwd/examples/sar-labels.conf"
#endif

struct sar_opts {
	const char	*subject;
	const char	*format;
	int		 release;
	const char	*labels;
	const char	*case_ref;
	const char	*requested_by;
	const char	*received;
	const char	*due;
	const char	*pdf;
	struct connopts	 conn;
};

static const struct args_opt sar_opts[] = {
	{ .name = "subject", .type = ARGS_ONCE, .arg = "ID",
	  .off = offsetof(struct sar_opts, subject),
	  .bad = "give one subject",
	  .help = "the young person's local identifier (required)" },
	{ .name = "format", .type = ARGS_STRING, .arg = "F",
	  .off = offsetof(struct sar_opts, format),
	  .help = "report (default): plain text;\n"
	    "json: one object {subject, generated_at, messages,\n"
	    "other_events}; each message has shared_with (with\n"
	    "route), not_reached (with why: unreachable or lost),\n"
	    "refused, acks and events (not with --release);\n"
	    "html: a printable page (with --release)" },
	{ .name = "release", .type = ARGS_FLAG,
	  .off = offsetof(struct sar_opts, release),
	  .help = "the version the young person can be given: plain\n"
	    "words, UK local times, protected information\n"
	    "withheld with the reason, internal rows left out" },
	{ .name = "labels", .type = ARGS_STRING, .arg = "FILE",
	  .off = offsetof(struct sar_opts, labels),
	  .help = "words for kinds, roles, agencies, reasons and\n"
	    "fields (default $NWD_LABELS, else the installed\n"
	    "example sar-labels.conf if present)" },
	{ .name = "case-ref", .type = ARGS_STRING, .arg = "REF",
	  .off = offsetof(struct sar_opts, case_ref),
	  .help = "with --release: the request's reference; prints\n"
	    "the case block (with the three below)" },
	{ .name = "requested-by", .type = ARGS_STRING, .arg = "WHO",
	  .off = offsetof(struct sar_opts, requested_by),
	  .help = "with --case-ref: who asked" },
	{ .name = "received", .type = ARGS_STRING, .arg = "DATE",
	  .off = offsetof(struct sar_opts, received),
	  .help = "with --case-ref: when the request was received" },
	{ .name = "due", .type = ARGS_STRING, .arg = "DATE",
	  .off = offsetof(struct sar_opts, due),
	  .help = "with --case-ref: when the answer is due" },
	{ .name = "pdf", .type = ARGS_STRING, .arg = "FILE",
	  .off = offsetof(struct sar_opts, pdf),
	  .help = "with --release: the HTML page as a PDF in FILE,\n"
	    "printed by headless Chromium ($NWD_CHROMIUM, else\n"
	    "chromium on PATH)" },
	{ .type = ARGS_INCLUDE_UNLISTED, .table = connopts_opts,
	  .off = offsetof(struct sar_opts, conn) },
	{ .type = ARGS_END },
};

enum fmt { FMT_REPORT, FMT_JSON, FMT_HTML };

/* ------------------------------------------------------------------------
 * The report in progress
 */

struct sar {
	enum fmt		  fmt;
	int			  release;
	const struct sar_labels	 *labels;	/* borrowed */
	const struct sar_opts	 *opts;		/* borrowed */
	const char		 *subject;
	int64_t			  generated_ms;
	const char		 *auditor;
	const char		 *instance;
	const char		 *policy_version;
	struct sar_render_files	  files;	/* out: stdout, or the PDF's
						   page; the spools owned */
	size_t			  nmsgs;	/* printed so far */
	size_t			  nother;
	int			  in_events;	/* the messages are over */
	struct sar_seen		  seen;		/* rows printed already */
	/* The release version (sar_render.h) and its HTML spools. */
	struct sar_render	 *render;	/* owned */
	struct sar_render_sink	  sink;
	struct sar_render_case	  kase;
};

/* How a shared row reached its recipient, in words; NULL if unknown. */
static const char *
route_words(const char *route)
{
	if (strcmp(route, "live") == 0)
		return "sent to a live session";
	if (strcmp(route, "queued") == 0)
		return "queued for its durable subscription";
	if (strcmp(route, "live,queued") == 0)
		return "sent to a live session and queued";
	if (strcmp(route, "replay") == 0)
		return "sent on replay of its durable subscription";
	return NULL;
}

/* Why a row of SAR_ROW_NOT_REACHED did not reach its recipient. */
static const char *
not_reached_why(const Nwd__V1__AuditEvent *e)
{
	return strcmp(e->route, "unreachable") == 0 ? "unreachable" : "lost";
}

/* The messages that withdraw m: corrections (retract 0) or the
 * retraction (retract 1), as a JSON array of ids, or NULL if none. */
static json_object *
withdrawn_by(const Nwd__V1__SarMessage *m, int retract)
{
	json_object	*a = NULL;
	size_t		 i;

	for (i = 0; i < m->n_withdrawn_by; i++) {
		if (m->withdrawn_by[i]->retracted != retract)
			continue;
		if (a == NULL)
			a = json_object_new_array();
		json_object_array_add(a, json_object_new_string(
		    m->withdrawn_by[i]->message_id));
	}
	return a;
}

static json_object *
message_json(const Nwd__V1__SarMessage *m)
{
	const Nwd__V1__Envelope	*env = m->envelope;
	const Nwd__V1__Header	*h = env != NULL ? env->header : NULL;
	const ProtobufCMessage	*body = env != NULL ? envelope_body(env) :
				    NULL;
	const Nwd__V1__AuditEvent *e;
	json_object		*o, *shared, *refused, *acks, *other, *x;
	json_object		*missed;
	char			 at[40], words[4096];
	size_t			 i;

	o = json_object_new_object();
	cli_json_text(o, "message_id", m->message_id);
	cli_json_text(o, "kind", h != NULL ? envelope_kind_name(h->kind) :
	    NULL);
	cli_json_text(o, "sender", h != NULL ? h->sender : NULL);
	cli_json_text(o, "agency", h != NULL ? h->originating_agency : NULL);
	cli_time(h != NULL ? h->created_unix_ms : 0, 1, at, sizeof(at));
	cli_json_text(o, "created", h != NULL && h->created_unix_ms != 0 ? at :
	    NULL);
	json_object_object_add(o, "created_unix_ms",
	    json_object_new_int64(h != NULL ? h->created_unix_ms : 0));
	cli_json_text(o, "marking", h != NULL ? cli_marking(h->marking) : NULL);
	cli_json_text(o, "priority", h != NULL ? cli_priority(h->priority) :
	    NULL);
	cli_json_text(o, "legal_basis",
	    h != NULL && h->legal_basis != 0
	        ? envelope_legal_basis_name(h->legal_basis)
	        : NULL);
	cli_json_text(o, "justification", h != NULL ? h->justification : NULL);
	if (h != NULL && h->n_share_with > 0)
		json_object_object_add(o, "share_with",
		    cli_json_strings(h->share_with, h->n_share_with));
	if (h != NULL && h->supersedes[0] != '\0')
		cli_json_text(o, "supersedes", h->supersedes);
	if (h != NULL && h->references[0] != '\0')
		cli_json_text(o, "references", h->references);
	if ((x = withdrawn_by(m, 0)) != NULL)
		json_object_object_add(o, "corrected_by", x);
	if ((x = withdrawn_by(m, 1)) != NULL)
		json_object_object_add(o, "retracted_by", x);
	if (h != NULL && h->subject != NULL &&
	    h->subject->nhs_number[0] != '\0')
		cli_json_text(o, "nhs_number", h->subject->nhs_number);
	json_object_object_add(o, "body", body != NULL ?
	    pbjson_to_object(body, 0) : NULL);
	if (h != NULL && h->kind == NWD__V1__KIND__SHARING_DECISION &&
	    env->sharing_decision != NULL)
		cli_json_text(o, "decision", cli_sharing_decision_words(
		    env->sharing_decision, words, sizeof(words)));
	cli_json_text(o, "note", m->note);

	shared = json_object_new_array();
	missed = json_object_new_array();
	refused = json_object_new_array();
	acks = json_object_new_array();
	other = json_object_new_array();
	for (i = 0; i < m->n_events; i++) {
		e = m->events[i];
		cli_time(e->at_unix_ms, 1, at, sizeof(at));
		x = json_object_new_object();
		switch (sar_render_classify(m, e)) {
		case SAR_ROW_SHARED:
			cli_json_text(x, "recipient", e->recipient);
			cli_json_text(x, "at", at);
			cli_json_text(x, "route", e->route);
			cli_json_text(x, "rule", e->rule);
			json_object_object_add(x, "fields_shared",
			    cli_json_strings(e->fields_shared,
			    e->n_fields_shared));
			json_object_object_add(x, "fields_withheld",
			    cli_json_strings(e->fields_withheld,
			    e->n_fields_withheld));
			json_object_array_add(shared, x);
			break;
		case SAR_ROW_NOT_REACHED:
			cli_json_text(x, "recipient", e->recipient);
			cli_json_text(x, "at", at);
			cli_json_text(x, "why", not_reached_why(e));
			cli_json_text(x, "rule", e->rule);
			json_object_array_add(missed, x);
			break;
		case SAR_ROW_REFUSED:
			cli_json_text(x, "recipient", e->recipient);
			cli_json_text(x, "at", at);
			cli_json_text(x, "rule", e->rule);
			cli_json_text(x, "reason", e->reason);
			json_object_array_add(refused, x);
			break;
		case SAR_ROW_ACK:
			cli_json_text(x, "recipient", e->recipient[0] != '\0' ?
			    e->recipient : e->actor);
			cli_json_text(x, "at", at);
			json_object_array_add(acks, x);
			break;
		case SAR_ROW_OTHER:
			json_object_put(x);
			json_object_array_add(other, cmd_audit_event_json(e));
			break;
		}
	}
	json_object_object_add(o, "shared_with", shared);
	json_object_object_add(o, "not_reached", missed);
	json_object_object_add(o, "refused", refused);
	json_object_object_add(o, "acks", acks);
	json_object_object_add(o, "events", other);
	return o;
}

/* The JSON object's head, up to the messages' array. */
static void
json_begin(struct sar *s)
{
	json_object	*o;
	const char	*t;
	char		 at[40];

	o = json_object_new_object();
	cli_json_text(o, "subject", s->subject);
	cli_time(s->generated_ms, 1, at, sizeof(at));
	cli_json_text(o, "generated_at", at);
	cli_json_text(o, "generated_by", s->auditor);
	cli_json_text(o, "broker_instance", s->instance);
	cli_json_text(o, "policy_version", s->policy_version);
	t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	/* Without its closing brace, the arrays follow. */
	fprintf(s->files.out, "%.*s,\"messages\":[", (int)strlen(t) - 1, t);
	json_object_put(o);
}

static void
json_item(struct sar *s, json_object *o, size_t n)
{
	fprintf(s->files.out, "%s%s", n > 0 ? "," : "",
	    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

/* ---- the report ---------------------------------------------------------- */

/* Prints a JSON body as "path: value" lines, indented. */
static void
report_body(json_object *v, char *path, size_t pathlen, size_t used)
{
	char		 buf[4096];
	size_t		 i, n;

	switch (json_object_get_type(v)) {
	case json_type_object: {
		json_object_object_foreach(v, key, val) {
			snprintf(path + used, pathlen - used, "%s%s",
			    used > 0 ? "." : "", key);
			report_body(val, path, pathlen, strlen(path));
			path[used] = '\0';
		}
		break;
	}
	case json_type_array:
		n = json_object_array_length(v);
		for (i = 0; i < n; i++) {
			snprintf(path + used, pathlen - used, "[%zu]", i);
			report_body(json_object_array_get_idx(v, i), path,
			    pathlen, strlen(path));
			path[used] = '\0';
		}
		break;
	case json_type_string:
		printf("      %s: %s\n", path,
		    cli_clean(json_object_get_string(v), buf, sizeof(buf)));
		break;
	default:
		printf("      %s: %s\n", path, cli_clean(
		    json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
		    buf, sizeof(buf)));
		break;
	}
}

/* "intelligence report" for intelligence_report. */
static void
kind_words(Nwd__V1__Kind k, char *out, size_t outlen)
{
	const char	*n = envelope_kind_name(k);
	size_t		 i;

	snprintf(out, outlen, "%s", n != NULL ? n : "message of unknown kind");
	for (i = 0; out[i] != '\0'; i++)
		if (out[i] == '_')
			out[i] = ' ';
}

static void
underline(const char *title)
{
	size_t n = strlen(title);

	printf("%s\n", title);
	while (n-- > 0)
		putchar('-');
	putchar('\n');
}

/* One other row, as a line: "when  action by actor: ..." */
static void
report_row(const Nwd__V1__AuditEvent *e, int with_message)
{
	char	at[40], a[256], b[256], c[1024], d[256], list[1024];

	cli_time(e->at_unix_ms, 0, at, sizeof(at));
	printf("    %s  %s by %s", at, cli_clean(e->action, a, sizeof(a)),
	    cli_clean(e->actor[0] != '\0' ? e->actor : "-", b, sizeof(b)));
	if (e->recipient[0] != '\0')
		printf(" for %s", cli_clean(e->recipient, d, sizeof(d)));
	if (with_message && e->message_id[0] != '\0')
		printf(", message %s", cli_clean(e->message_id, d, sizeof(d)));
	if (e->kind != 0 && envelope_kind_name(e->kind) != NULL)
		printf(", %s", envelope_kind_name(e->kind));
	if (e->rule[0] != '\0')
		printf(" (rule %s)", cli_clean(e->rule, d, sizeof(d)));
	if (e->n_fields_withheld > 0) {
		cli_join(list, sizeof(list), e->fields_withheld,
		    e->n_fields_withheld, ", ");
		printf(", withheld: %s", cli_clean(list, c, sizeof(c)));
	}
	if (e->reason[0] != '\0')
		printf(": %s", cli_clean(e->reason, c, sizeof(c)));
	putchar('\n');
}

static void
report_message(const Nwd__V1__SarMessage *m, size_t idx)
{
	const Nwd__V1__Envelope	*env = m->envelope;
	const Nwd__V1__Header	*h = env != NULL ? env->header : NULL;
	const ProtobufCMessage	*body = env != NULL ? envelope_body(env) :
				    NULL;
	const Nwd__V1__AuditEvent *e;
	json_object		*b;
	enum sar_row		 want;
	char			 title[256], kw[128], at[40], a[1024], c[1024];
	char			 path[1024], list[4096], words[4096];
	size_t			 i, n;
	static const char *const section[] = {
		[SAR_ROW_SHARED] = "Shared with",
		[SAR_ROW_NOT_REACHED] = "Allowed, but not reached",
		[SAR_ROW_REFUSED] = "Not shared with",
		[SAR_ROW_ACK] = "Receipt acknowledged by",
		[SAR_ROW_OTHER] = "Other events about this message",
	};

	kind_words(h != NULL ? h->kind : 0, kw, sizeof(kw));
	snprintf(title, sizeof(title), "Message %zu: %s", idx + 1, kw);
	underline(title);
	printf("  Message id     %s\n", cli_clean(m->message_id, a, sizeof(a)));
	if (h != NULL) {
		cli_time(h->created_unix_ms, 0, at, sizeof(at));
		printf("  Created        %s by %s (%s)\n", at,
		    cli_clean(h->sender[0] != '\0' ? h->sender : "-", a,
		    sizeof(a)), cli_clean(h->originating_agency[0] != '\0' ?
		    h->originating_agency : "-", c, sizeof(c)));
		printf("  Marking        %s\n", cli_marking(h->marking) !=
		    NULL ? cli_marking(h->marking) : "-");
		printf("  Priority       %s\n", cli_priority(h->priority) !=
		    NULL ? cli_priority(h->priority) : "-");
		if (h->legal_basis != 0)
			printf("  Legal basis    %s\n",
			    envelope_legal_basis_name(h->legal_basis));
		if (h->justification[0] != '\0')
			printf("  Justification  %s\n",
			    cli_clean(h->justification, a, sizeof(a)));
		if (h->n_share_with > 0) {
			cli_join(list, sizeof(list), h->share_with,
			    h->n_share_with, ", ");
			printf("  Named for      %s\n", cli_clean(list, a,
			    sizeof(a)));
		}
		if (h->supersedes[0] != '\0')
			printf("  %s       %s\n", h->kind ==
			    NWD__V1__KIND__RETRACTION ? "Retracts" :
			    h->kind == NWD__V1__KIND__WITHDRAWAL_NOTICE ?
			    "Tells of" : "Corrects",
			    cli_clean(h->supersedes, a, sizeof(a)));
		if (h->references[0] != '\0')
			printf("  Answers        %s\n",
			    cli_clean(h->references, a, sizeof(a)));
	}
	/* What withdrew it, later in the report (the broker says). */
	for (i = 0; i < m->n_withdrawn_by; i++) {
		cli_time(m->withdrawn_by[i]->at_unix_ms, 0, at, sizeof(at));
		printf("  %s   %s (%s)\n", m->withdrawn_by[i]->retracted ?
		    "Retracted by" : "Corrected by",
		    cli_clean(m->withdrawn_by[i]->message_id, a, sizeof(a)),
		    at);
	}
	if (h != NULL && h->kind == NWD__V1__KIND__SHARING_DECISION &&
	    env->sharing_decision != NULL)
		printf("  Decision       %s\n", cli_clean(
		    cli_sharing_decision_words(env->sharing_decision, words,
		    sizeof(words)), list, sizeof(list)));
	if (m->note[0] != '\0')
		printf("  Note           %s\n", cli_clean(m->note, a,
		    sizeof(a)));
	if (body != NULL && (b = pbjson_to_object(body, 0)) != NULL) {
		printf("  Content, as held\n");
		path[0] = '\0';
		if (json_object_object_length(b) == 0)
			printf("      (empty)\n");
		report_body(b, path, sizeof(path), 0);
		json_object_put(b);
	} else
		printf("  Content        not held\n");

	for (want = SAR_ROW_SHARED; want <= SAR_ROW_OTHER; want++) {
		for (i = 0, n = 0; i < m->n_events; i++)
			n += sar_render_classify(m, m->events[i]) == want;
		if (n == 0) {
			if (want == SAR_ROW_SHARED)
				printf("  %s\n    no one\n", section[want]);
			continue;
		}
		printf("  %s\n", section[want]);
		for (i = 0; i < m->n_events; i++) {
			e = m->events[i];
			if (sar_render_classify(m, e) != want)
				continue;
			cli_time(e->at_unix_ms, 0, at, sizeof(at));
			switch (want) {
			case SAR_ROW_SHARED:
				cli_join(list, sizeof(list), e->fields_withheld,
				    e->n_fields_withheld, ", ");
				printf("    %s  %s: %s", at,
				    cli_clean(e->recipient, a, sizeof(a)),
				    list[0] != '\0' ? "withheld " :
				    "the whole message");
				if (list[0] != '\0')
					printf("%s",
					    cli_clean(list, c, sizeof(c)));
				if (e->rule[0] != '\0')
					printf(" (rule %s)",
					    cli_clean(e->rule, c, sizeof(c)));
				if (route_words(e->route) != NULL)
					printf("; %s", route_words(e->route));
				putchar('\n');
				break;
			case SAR_ROW_NOT_REACHED:
				printf("    %s  %s: %s", at,
				    cli_clean(e->recipient, a, sizeof(a)),
				    strcmp(not_reached_why(e), "lost") == 0 ?
				    "to go to a live session, which ended "
				    "before the send; no queue held it" :
				    "no session or durable subscription could "
				    "take it");
				if (e->rule[0] != '\0')
					printf(" (rule %s)",
					    cli_clean(e->rule, c, sizeof(c)));
				putchar('\n');
				break;
			case SAR_ROW_REFUSED:
				printf("    %s  %s: %s", at,
				    cli_clean(e->recipient, a, sizeof(a)),
				    e->reason[0] != '\0' ?
				    cli_clean(e->reason, c, sizeof(c)) :
				    "refused");
				if (e->rule[0] != '\0')
					printf(" (rule %s)",
					    cli_clean(e->rule, c, sizeof(c)));
				putchar('\n');
				break;
			case SAR_ROW_ACK:
				printf("    %s  %s\n", at, cli_clean(
				    e->recipient[0] != '\0' ? e->recipient :
				    e->actor, a, sizeof(a)));
				break;
			case SAR_ROW_OTHER:
				report_row(e, 0);
				break;
			}
		}
	}
	putchar('\n');
}

static void
report_begin(const struct sar *s)
{
	char	title[256], at[40], a[256], b[256];
	size_t	i;

	snprintf(title, sizeof(title), "Subject access report: %s",
	    cli_clean(s->subject, a, sizeof(a)));
	printf("%s\n", title);
	for (i = strlen(title); i > 0; i--)
		putchar('=');
	printf("\n\n");
	cli_time(s->generated_ms, 0, at, sizeof(at));
	printf("Generated   %s by %s, from broker %s\n", at,
	    cli_clean(s->auditor, a, sizeof(a)), cli_clean(s->instance, b,
	    sizeof(b)));
	printf("Policy      %s\n\n", cli_clean(s->policy_version, a,
	    sizeof(a)));
	printf("This report sets out everything the information-sharing "
	    "broker holds about\n%s.  For each message, oldest first: what "
	    "it said, who received it,\nwhen, how, and which parts were "
	    "withheld from them under the sharing policy;\nwho the policy "
	    "allowed but the message did not reach; who was refused it\nand "
	    "why; and who acknowledged receipt.  After the messages come the "
	    "other\nevents the audit trail records about %s, such as "
	    "messages refused\nat publication and earlier audit queries.  "
	    "Times are UTC.\n\n", cli_clean(s->subject, a, sizeof(a)),
	    cli_clean(s->subject, b, sizeof(b)));
}

/* The messages are over: the heading of the other events. */
static void
report_events(const struct sar *s)
{
	char	title[256], a[256];

	if (s->nmsgs == 0)
		printf("No messages about %s are held.\n\n",
		    cli_clean(s->subject, a, sizeof(a)));
	snprintf(title, sizeof(title), "Other recorded events about %s",
	    cli_clean(s->subject, a, sizeof(a)));
	underline(title);
}

static void
report_end(const struct sar *s)
{
	char	a[256];

	if (s->nother == 0)
		printf("    none\n");
	printf("\nHeld        %zu message%s about %s; %zu other recorded "
	    "event%s\n", s->nmsgs, s->nmsgs == 1 ? "" : "s",
	    cli_clean(s->subject, a, sizeof(a)), s->nother,
	    s->nother == 1 ? "" : "s");
	printf("\nEnd of report.\n");
}

/* ------------------------------------------------------------------------
 * Pages as they arrive
 */

static int
sar_begin(struct sar *s)
{
	const struct sar_opts	*o = s->opts;
	struct sar_render_opts	 ro;

	if (s->release) {
		if (s->fmt == FMT_HTML && ((s->files.body = tmpfile()) == NULL ||
		    (s->files.toc = tmpfile()) == NULL))
			return -1;
		sar_render_file_sink(&s->sink, &s->files);
		s->kase.reference = o->case_ref;
		s->kase.requested_by = o->requested_by;
		s->kase.received = o->received;
		s->kase.due = o->due;
		memset(&ro, 0, sizeof(ro));
		ro.html = s->fmt == FMT_HTML;
		ro.labels = s->labels;
		ro.subject = s->subject;
		ro.generated_ms = s->generated_ms;
		ro.kase = o->case_ref != NULL ? &s->kase : NULL;
		if ((s->render = sar_render_new(&ro, &s->sink)) == NULL)
			return -1;
		return sar_render_begin(s->render);
	} else if (s->fmt == FMT_JSON)
		json_begin(s);
	else
		report_begin(s);
	return 0;
}

static int
sar_page(struct sar *s, const Nwd__V1__AuditPage *p)
{
	const Nwd__V1__AuditEvent	*e;
	size_t				 i;

	if (s->release)
		return sar_render_page(s->render, p);
	for (i = 0; i < p->n_messages && !s->in_events; i++) {
		if (sar_seen_remember(&s->seen, p->messages[i]) == -1)
			return -1;
		if (s->fmt == FMT_JSON)
			json_item(s, message_json(p->messages[i]), s->nmsgs++);
		else
			report_message(p->messages[i], s->nmsgs++);
	}
	for (i = 0; i < p->n_events; i++) {
		e = p->events[i];
		if (!s->in_events) {
			s->in_events = 1;
			if (s->fmt == FMT_JSON)
				fputs("],\"other_events\":[", s->files.out);
			else
				report_events(s);
		}
		if (sar_seen_has(&s->seen, e))
			continue;
		if (s->fmt == FMT_JSON)
			json_item(s, cmd_audit_event_json(e), s->nother++);
		else {
			report_row(e, 1);
			s->nother++;
		}
	}
	return ferror(s->files.out) ? -1 : 0;
}

static int
sar_end(struct sar *s)
{
	if (s->release) {
		if (sar_render_end(s->render) == -1)
			return -1;
		return s->files.out == stdout ? cli_flush() : fflush(s->files.out);
	}
	if (s->fmt == FMT_JSON) {
		fputs(s->in_events ? "]}\n" : "],\"other_events\":[]}\n",
		    s->files.out);
		return cli_flush();
	}
	if (!s->in_events)
		report_events(s);
	report_end(s);
	return cli_flush();
}

/* The labels: --labels, $NWD_LABELS, or the installed example if there. */
static struct sar_labels *
sar_labels(const char *opt, char *err, size_t errlen)
{
	const char *path = opt;

	if (path == NULL)
		path = getenv("NWD_LABELS");
	if (path == NULL && access(NWD_LABELS_DEFAULT, R_OK) == 0)
		path = NWD_LABELS_DEFAULT;
	return sar_release_labels_load(path, err, errlen);
}

static int
sar_run(struct args *a)
{
	const struct sar_opts	 *o = a->opts;
	Nwd__V1__AuditQuery	 q;
	Nwd__V1__AuditPage	*page = NULL;
	const Nwd__V1__Principal *p;
	struct nwd_client	*c = NULL;
	struct sar_labels	*labels = NULL;
	struct sar		 s;
	enum nwd_status		 st;
	enum fmt		 f = FMT_REPORT;
	char			 err[512], token[256], chromium[4096];
	char			 html[4096];
	const char		*tmp;
	int			 code = 0, fd;

	if (a->argc != 0)
		return args_usage(a, a->name, "unexpected argument \"%s\"",
		    a->argv[0]);
	if (o->subject == NULL || o->subject[0] == '\0')
		return args_usage(a, "sar", "--subject ID is required");
	if (o->format != NULL) {
		if (strcasecmp(o->format, "report") == 0)
			f = FMT_REPORT;
		else if (strcasecmp(o->format, "json") == 0 && !o->release)
			f = FMT_JSON;
		else if (strcasecmp(o->format, "html") == 0 && o->release)
			f = FMT_HTML;
		else
			return args_usage(a, "--format", "\"%s\": one of "
			    "%s", o->format, o->release ? "report, html (with "
			    "--release)" : "report, json (html with --release)");
	}
	if (!o->release && (o->labels != NULL || o->case_ref != NULL ||
	    o->requested_by != NULL || o->received != NULL || o->due != NULL))
		return args_usage(a, "sar", "--labels and the case options "
		    "go with --release");
	if (o->pdf != NULL && (!o->release || (o->format != NULL &&
	    strcasecmp(o->format, "html") != 0) || o->pdf[0] == '\0'))
		return args_usage(a, "--pdf", "FILE goes with --release (and "
		    "--format html, or no --format)");
	if (o->pdf != NULL) {
		f = FMT_HTML;
		if (print_pdf_chromium(chromium, sizeof(chromium), err,
		    sizeof(err)) == NULL) {
			cli_say("sar", "--pdf: %s", err);
			return CLI_EXIT_PROTOCOL;
		}
	}
	if (o->case_ref == NULL && (o->requested_by != NULL ||
	    o->received != NULL || o->due != NULL))
		return args_usage(a, "sar", "--requested-by, --received and "
		    "--due go with --case-ref");
	if (o->release && (labels = sar_labels(o->labels, err,
	    sizeof(err))) == NULL)
		return args_usage(a, "--labels", "%s", err);
	memset(&s, 0, sizeof(s));
	html[0] = '\0';
	if ((c = connopts_connect(&o->conn, a, &code)) == NULL)
		goto out;
	s.fmt = f;
	s.release = o->release;
	s.labels = labels;
	s.opts = o;
	s.files.out = stdout;
	if (o->pdf != NULL) {
		/* The page Chromium prints: a private temporary file. */
		tmp = getenv("TMPDIR");
		snprintf(html, sizeof(html), "%s/nwd-sar-XXXXXX.html",
		    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
		if ((fd = mkstemps(html, 5)) == -1 ||
		    (s.files.out = fdopen(fd, "w")) == NULL) {
			cli_say("sar", "--pdf: cannot make a temporary file: %s",
			    strerror(errno));
			if (fd != -1)
				close(fd);
			s.files.out = NULL;
			code = CLI_EXIT_PROTOCOL;
			goto out;
		}
	}
	s.subject = o->subject;
	s.generated_ms = cli_wall_ms();
	p = nwd_principal(c);
	s.auditor = p != NULL ? p->id : "";
	s.instance = nwd_welcome(c)->instance;
	s.policy_version = nwd_welcome(c)->policy_version;

	nwd__v1__audit_query__init(&q);
	q.subject = (char *)o->subject;
	q.subject_access = 1;
	q.limit = SAR_PAGE_ROWS;
	for (;;) {
		if ((st = nwd_audit_query(c, &q, &page, err,
		    sizeof(err))) != NWD_OK) {
			cli_say("sar", "%s", err);
			code = cli_exit_status(c, st);
			goto out;
		}
		/* Nothing is printed until the broker has answered once. */
		if (q.page_token == NULL || q.page_token[0] == '\0') {
			if (sar_begin(&s) == -1) {
				cli_say("sar", "cannot make a temporary file");
				code = CLI_EXIT_PROTOCOL;
				goto out;
			}
		}
		if (sar_page(&s, page) == -1) {
			cli_say("sar", "out of memory, or output failed");
			code = CLI_EXIT_PROTOCOL;
			goto out;
		}
		if (page->next_page_token[0] == '\0')
			break;
		snprintf(token, sizeof(token), "%s", page->next_page_token);
		q.page_token = token;
		nwd_audit_page_free(page);
		page = NULL;
	}
	if (sar_end(&s) == -1)
		code = CLI_EXIT_PROTOCOL;
	else if (o->pdf != NULL) {
		if (fclose(s.files.out) != 0) {
			s.files.out = NULL;
			cli_say("sar", "--pdf: cannot write the page: %s",
			    strerror(errno));
			code = CLI_EXIT_PROTOCOL;
			goto out;
		}
		s.files.out = NULL;
		if (print_pdf(chromium, html, o->pdf, err, sizeof(err)) == -1) {
			cli_say("sar", "--pdf: %s", err);
			code = CLI_EXIT_PROTOCOL;
		}
	}
 out:
	nwd_audit_page_free(page);
	if (s.files.out != NULL && s.files.out != stdout)
		fclose(s.files.out);
	if (html[0] != '\0')
		unlink(html);
	if (s.files.toc != NULL)
		fclose(s.files.toc);
	if (s.files.body != NULL)
		fclose(s.files.body);
	sar_render_free(s.render);
	sar_seen_free(&s.seen);
	sar_release_labels_free(labels);
	nwd_close(c);
	return code;
}

const struct cmd cmd_sar = {
    .name = "sar",
    .run = sar_run,
    .opts = sar_opts,
    .optsize = sizeof(struct sar_opts),
    .family = CMD_FAMILY_AUDIT,
    .see = "nwd sar --help",
    .synopsis = "sar --subject ID [--format report|json] | "
        "--subject ID --release [--format report|html] [--labels FILE] "
        "[--case-ref REF [--requested-by WHO] [--received DATE] "
        "[--due DATE]] [--pdf FILE]",
    .help =
        "Answers a subject-access request: everything the broker holds "
        "about one young\nperson, from every page the broker has (auditors "
        "only; each page, and each\nmessage body opened, is recorded in the "
        "audit trail).\n\n"
        "For each message about the subject, oldest first: its header and "
        "its content\n(decrypted for the auditor, or why it is not there, "
        "such as a body purged\nunder retention), who received it, when, "
        "how (a live session, a durable\nsubscription's queue, a replay), "
        "under which rule and which fields were\nwithheld from them; who "
        "the policy allowed but the message did not reach (no\nsession or "
        "durable subscription could take it, or a live send that did not\n"
        "happen); who was refused it and why; and who acknowledged "
        "receipt.  Then\nevery other event the audit trail records about "
        "the subject (refused\npublishes, withdrawals, earlier audit "
        "queries, ...).\n\n"
        "With --release, the version the young person can be given: "
        "each record in plain\nwords with its date in UK time, who it "
        "came from and who received it, by\nagency and role (words from "
        "the labels file, nwd(1) LABELS FILE); information\nabout other "
        "people, police sources, addresses, handling conditions and the\n"
        "reasons given for sharing replaced by \"[withheld: REASON]\"; "
        "audit queries,\nconnections and replays left out.  --format "
        "html makes a printable page with\na table of contents by date and "
        "kind; --pdf FILE prints that page to a\nPDF with headless "
        "Chromium.\n\n"
        "Pages are printed as they arrive, so a subject with any number "
        "of messages\nis answered in bounded memory.\n\nOptions:\n",
    .width = 18,
};
