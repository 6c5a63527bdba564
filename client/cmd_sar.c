/*
 * cmd_sar: "nwd sar", a subject-access request answered in one command:
 * every message the broker holds about a young person (opened for the
 * auditor), who got which fields, when and how (live, queued, replayed),
 * who the policy allowed but the message did not reach, what was withheld
 * and why, refusals and receipts, and every other event the audit trail
 * records about them, as JSON or as a report a data-protection officer can
 * send.
 * The broker answers auditors only (AuditQuery.subject_access in
 * nwd.proto) and audits every page and every body it opens.
 *
 * Times printed are UTC.  Text that came from the audit trail is printed
 * with control characters replaced in the report, and escaped in JSON.
 */

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "cli.h"
#include "cmd_audit.h"
#include "commands.h"
#include "connopts.h"
#include "envelope.h"
#include "nwd.h"
#include "pbjson.h"

#define SAR_PAGE_ROWS	1000	/* the most the broker puts in a page */

struct sar_opts {
	const char	*subject;
	const char	*format;
	struct connopts	 conn;
};

static const struct args_opt sar_opts[] = {
	{ .name = "subject", .type = ARGS_ONCE, .arg = "ID",
	  .off = offsetof(struct sar_opts, subject),
	  .bad = "give one subject",
	  .help = "the young person's local identifier (required)" },
	{ .name = "format", .type = ARGS_STRING, .arg = "F",
	  .off = offsetof(struct sar_opts, format),
	  .help = "report (default): plain text to send as it is;\n"
	    "json: one object {subject, generated_at, messages,\n"
	    "other_events}; each message has shared_with (with\n"
	    "route), not_reached (with why: unreachable or lost),\n"
	    "refused, acks and events" },
	{ .type = ARGS_INCLUDE_UNLISTED, .table = connopts_opts,
	  .off = offsetof(struct sar_opts, conn) },
	{ .type = ARGS_END },
};

enum fmt { FMT_REPORT, FMT_JSON };

/* ------------------------------------------------------------------------
 * What the broker holds
 */

struct sar {
	const char		 *subject;
	int64_t			  generated_ms;
	const char		 *auditor;
	const char		 *instance;
	const char		 *policy_version;
	Nwd__V1__SarMessage	**msgs;		/* owned */
	size_t			  nmsgs;
	Nwd__V1__AuditEvent	**rows;		/* owned: about the subject */
	size_t			  nrows;
	int64_t			 *ids;		/* sorted ids of message rows */
	size_t			  nids;
};

static void
sar_free(struct sar *s)
{
	size_t i;

	for (i = 0; i < s->nmsgs; i++)
		protobuf_c_message_free_unpacked(&s->msgs[i]->base, NULL);
	for (i = 0; i < s->nrows; i++)
		protobuf_c_message_free_unpacked(&s->rows[i]->base, NULL);
	free(s->msgs);
	free(s->rows);
	free(s->ids);
}

/* Moves the page's messages and rows into s; the page keeps none. */
static int
sar_take(struct sar *s, Nwd__V1__AuditPage *p)
{
	Nwd__V1__SarMessage	**mv;
	Nwd__V1__AuditEvent	**ev;

	if (p->n_messages > 0) {
		if ((mv = reallocarray(s->msgs, s->nmsgs + p->n_messages,
		    sizeof(*mv))) == NULL)
			return -1;
		s->msgs = mv;
		memcpy(s->msgs + s->nmsgs, p->messages,
		    p->n_messages * sizeof(*mv));
		s->nmsgs += p->n_messages;
		p->n_messages = 0;
	}
	if (p->n_events > 0) {
		if ((ev = reallocarray(s->rows, s->nrows + p->n_events,
		    sizeof(*ev))) == NULL)
			return -1;
		s->rows = ev;
		memcpy(s->rows + s->nrows, p->events,
		    p->n_events * sizeof(*ev));
		s->nrows += p->n_events;
		p->n_events = 0;
	}
	return 0;
}

static int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Indexes the ids of the rows that came with messages. */
static int
sar_index(struct sar *s)
{
	size_t i, k, n = 0;

	for (i = 0; i < s->nmsgs; i++)
		n += s->msgs[i]->n_events;
	if (n == 0)
		return 0;
	if ((s->ids = calloc(n, sizeof(*s->ids))) == NULL)
		return -1;
	for (i = 0; i < s->nmsgs; i++)
		for (k = 0; k < s->msgs[i]->n_events; k++)
			s->ids[s->nids++] = s->msgs[i]->events[k]->id;
	qsort(s->ids, s->nids, sizeof(*s->ids), cmp_id);
	return 0;
}

/* 1 if the row is shown with its message, not among the others. */
static int
sar_with_message(const struct sar *s, const Nwd__V1__AuditEvent *e)
{
	return s->nids > 0 && bsearch(&e->id, s->ids, s->nids,
	    sizeof(*s->ids), cmp_id) != NULL;
}

enum row_class {
	ROW_SHARED,		/* a deliver row that reached its recipient */
	ROW_NOT_REACHED,	/* allowed, but nothing took it */
	ROW_REFUSED,
	ROW_ACK,
	ROW_OTHER
};

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

/*
 * Where a row of message m goes.  A delivery decision counts as shared
 * only if it reached its recipient: a live session took it, a durable
 * subscription holds it, or a replay sent it; one the policy allowed that
 * nothing could take (route unreachable), or that was to go live and did
 * not (deliver_lost) with no queue holding it, was not shared.  Rows from
 * before routes were recorded count as shared.
 */
static enum row_class
classify(const Nwd__V1__SarMessage *m, const Nwd__V1__AuditEvent *e)
{
	if (strcmp(e->action, "deliver") == 0) {
		if (strcmp(e->route, "unreachable") == 0 ||
		    (strcmp(e->route, "live") == 0 &&
		    lost_unqueued(m, e->recipient)))
			return ROW_NOT_REACHED;
		return ROW_SHARED;
	}
	if (strcmp(e->action, "deliver_refused") == 0)
		return ROW_REFUSED;
	if (strcmp(e->action, "ack") == 0)
		return ROW_ACK;
	return ROW_OTHER;
}

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

/* Why a row of ROW_NOT_REACHED did not reach its recipient. */
static const char *
not_reached_why(const Nwd__V1__AuditEvent *e)
{
	return strcmp(e->route, "unreachable") == 0 ? "unreachable" : "lost";
}

/* The messages of the report that withdraw m: corrections (retract 0) or
 * the retraction (retract 1), as a JSON array of ids, or NULL if none. */
static json_object *
withdrawn_by(const struct sar *s, const Nwd__V1__SarMessage *m, int retract)
{
	const Nwd__V1__Header	*h;
	json_object		*a = NULL;
	size_t			 i;

	for (i = 0; i < s->nmsgs; i++) {
		h = s->msgs[i]->envelope != NULL ?
		    s->msgs[i]->envelope->header : NULL;
		if (h == NULL || strcmp(h->supersedes, m->message_id) != 0 ||
		    h->kind == NWD__V1__KIND__WITHDRAWAL_NOTICE ||
		    (h->kind == NWD__V1__KIND__RETRACTION) != retract)
			continue;
		if (a == NULL)
			a = json_object_new_array();
		json_object_array_add(a, json_object_new_string(
		    s->msgs[i]->message_id));
	}
	return a;
}

static json_object *
message_json(const struct sar *s, const Nwd__V1__SarMessage *m)
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
	if ((x = withdrawn_by(s, m, 0)) != NULL)
		json_object_object_add(o, "corrected_by", x);
	if ((x = withdrawn_by(s, m, 1)) != NULL)
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
		switch (classify(m, e)) {
		case ROW_SHARED:
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
		case ROW_NOT_REACHED:
			cli_json_text(x, "recipient", e->recipient);
			cli_json_text(x, "at", at);
			cli_json_text(x, "why", not_reached_why(e));
			cli_json_text(x, "rule", e->rule);
			json_object_array_add(missed, x);
			break;
		case ROW_REFUSED:
			cli_json_text(x, "recipient", e->recipient);
			cli_json_text(x, "at", at);
			cli_json_text(x, "rule", e->rule);
			cli_json_text(x, "reason", e->reason);
			json_object_array_add(refused, x);
			break;
		case ROW_ACK:
			cli_json_text(x, "recipient", e->recipient[0] != '\0' ?
			    e->recipient : e->actor);
			cli_json_text(x, "at", at);
			json_object_array_add(acks, x);
			break;
		case ROW_OTHER:
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

static json_object *
sar_json(const struct sar *s)
{
	json_object	*o, *msgs, *other;
	char		 at[40];
	size_t		 i;

	o = json_object_new_object();
	cli_json_text(o, "subject", s->subject);
	cli_time(s->generated_ms, 1, at, sizeof(at));
	cli_json_text(o, "generated_at", at);
	cli_json_text(o, "generated_by", s->auditor);
	cli_json_text(o, "broker_instance", s->instance);
	cli_json_text(o, "policy_version", s->policy_version);
	msgs = json_object_new_array();
	for (i = 0; i < s->nmsgs; i++)
		json_object_array_add(msgs, message_json(s, s->msgs[i]));
	json_object_object_add(o, "messages", msgs);
	other = json_object_new_array();
	for (i = 0; i < s->nrows; i++)
		if (!sar_with_message(s, s->rows[i]))
			json_object_array_add(other,
			    cmd_audit_event_json(s->rows[i]));
	json_object_object_add(o, "other_events", other);
	return o;
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
report_message(const struct sar *s, size_t idx)
{
	const Nwd__V1__SarMessage *m = s->msgs[idx];
	const Nwd__V1__Envelope	*env = m->envelope;
	const Nwd__V1__Header	*h = env != NULL ? env->header : NULL;
	const ProtobufCMessage	*body = env != NULL ? envelope_body(env) :
				    NULL;
	const Nwd__V1__AuditEvent *e;
	json_object		*b;
	enum row_class		 want;
	char			 title[256], kw[128], at[40], a[1024], c[1024];
	char			 path[1024], list[4096], words[4096];
	size_t			 i, n;
	static const char *const section[] = {
		[ROW_SHARED] = "Shared with",
		[ROW_NOT_REACHED] = "Allowed, but not reached",
		[ROW_REFUSED] = "Not shared with",
		[ROW_ACK] = "Receipt acknowledged by",
		[ROW_OTHER] = "Other events about this message",
	};

	kind_words(h != NULL ? h->kind : 0, kw, sizeof(kw));
	snprintf(title, sizeof(title), "Message %zu of %zu: %s", idx + 1,
	    s->nmsgs, kw);
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
	/* What withdrew it, later in the report. */
	for (i = 0; i < s->nmsgs; i++) {
		const Nwd__V1__Header *w = s->msgs[i]->envelope != NULL ?
		    s->msgs[i]->envelope->header : NULL;

		if (w == NULL || strcmp(w->supersedes, m->message_id) != 0 ||
		    w->kind == NWD__V1__KIND__WITHDRAWAL_NOTICE)
			continue;
		cli_time(w->created_unix_ms, 0, at, sizeof(at));
		printf("  %s   %s (%s)\n", w->kind ==
		    NWD__V1__KIND__RETRACTION ? "Retracted by" :
		    "Corrected by", cli_clean(s->msgs[i]->message_id, a,
		    sizeof(a)), at);
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

	for (want = ROW_SHARED; want <= ROW_OTHER; want++) {
		for (i = 0, n = 0; i < m->n_events; i++)
			n += classify(m, m->events[i]) == want;
		if (n == 0) {
			if (want == ROW_SHARED)
				printf("  %s\n    no one\n", section[want]);
			continue;
		}
		printf("  %s\n", section[want]);
		for (i = 0; i < m->n_events; i++) {
			e = m->events[i];
			if (classify(m, e) != want)
				continue;
			cli_time(e->at_unix_ms, 0, at, sizeof(at));
			switch (want) {
			case ROW_SHARED:
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
			case ROW_NOT_REACHED:
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
			case ROW_REFUSED:
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
			case ROW_ACK:
				printf("    %s  %s\n", at, cli_clean(
				    e->recipient[0] != '\0' ? e->recipient :
				    e->actor, a, sizeof(a)));
				break;
			case ROW_OTHER:
				report_row(e, 0);
				break;
			}
		}
	}
	putchar('\n');
}

static int
sar_report(const struct sar *s)
{
	char	title[256], at[40], a[256], b[256];
	size_t	i, nother = 0;

	for (i = 0; i < s->nrows; i++)
		nother += !sar_with_message(s, s->rows[i]);
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
	printf("Policy      %s\n", cli_clean(s->policy_version, a, sizeof(a)));
	printf("Held        %zu message%s about %s; %zu other recorded "
	    "event%s\n\n", s->nmsgs, s->nmsgs == 1 ? "" : "s",
	    cli_clean(s->subject, a, sizeof(a)), nother,
	    nother == 1 ? "" : "s");
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
	if (s->nmsgs == 0)
		printf("No messages about %s are held.\n\n",
		    cli_clean(s->subject, a, sizeof(a)));
	for (i = 0; i < s->nmsgs; i++)
		report_message(s, i);
	snprintf(title, sizeof(title), "Other recorded events about %s",
	    cli_clean(s->subject, a, sizeof(a)));
	underline(title);
	if (nother == 0)
		printf("    none\n");
	for (i = 0; i < s->nrows; i++)
		if (!sar_with_message(s, s->rows[i]))
			report_row(s->rows[i], 1);
	printf("\nEnd of report.\n");
	return cli_flush();
}

static int
sar_run(struct args *a)
{
	const struct sar_opts	 *o = a->opts;
	Nwd__V1__AuditQuery	 q;
	Nwd__V1__AuditPage	*page = NULL;
	const Nwd__V1__Principal *p;
	struct nwd_client	*c;
	struct sar		 s;
	enum nwd_status		 st;
	enum fmt		 f = FMT_REPORT;
	json_object		*j;
	char			 err[512], token[256];
	int			 code = 0;

	if (a->argc != 0)
		return args_usage(a, a->name, "unexpected argument \"%s\"",
		    a->argv[0]);
	if (o->subject == NULL || o->subject[0] == '\0')
		return args_usage(a, "sar", "--subject ID is required");
	if (o->format != NULL) {
		if (strcmp(o->format, "report") == 0)
			f = FMT_REPORT;
		else if (strcmp(o->format, "json") == 0)
			f = FMT_JSON;
		else
			return args_usage(a, "--format", "\"%s\": one of "
			    "report, json", o->format);
	}
	if ((c = connopts_connect(&o->conn, a, &code)) == NULL)
		return code;
	memset(&s, 0, sizeof(s));
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
		if (sar_take(&s, page) == -1) {
			cli_say("sar", "out of memory");
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
	if (sar_index(&s) == -1) {
		cli_say("sar", "out of memory");
		code = CLI_EXIT_PROTOCOL;
		goto out;
	}
	if (f == FMT_JSON) {
		j = sar_json(&s);
		if (cli_json_line(j) == -1 || cli_flush() == -1)
			code = CLI_EXIT_PROTOCOL;
		json_object_put(j);
	} else if (sar_report(&s) == -1)
		code = CLI_EXIT_PROTOCOL;
 out:
	nwd_audit_page_free(page);
	sar_free(&s);
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
    .synopsis = "sar --subject ID [--format report|json]",
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
        "queries, ...).\n\nOptions:\n",
    .width = 18,
};
