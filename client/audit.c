/*
 * audit: "nwd audit query" and "nwd sar", the auditor's questions to the
 * broker (AuditQuery / AuditPage in nwd.proto).
 *
 * Times given on the command line are Unix milliseconds or ISO 8601 dates
 * in UTC; times printed are UTC.  Text that came from the audit trail is
 * printed with control characters replaced in the table and the report, and
 * escaped as its format requires in JSON and CSV.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>

#include "audit.h"
#include "envelope.h"
#include "cli.h"
#include "connopts.h"
#include "nwd.h"
#include "pbjson.h"

#define A_MAX_LIMIT		1000	/* rows per page, as the broker caps */

enum aopt {
	A_SUBJECT = CONNOPTS_END, A_PRINCIPAL, A_ACTION, A_MESSAGE, A_FROM,
	A_UNTIL, A_LIMIT, A_ALL, A_FORMAT, A_PAGE_TOKEN,
};
#define ABIT(o)		(1u << ((o) - CONNOPTS_SERVER))
#define A_SAR_OPTS	(CONNOPTS_MASK | ABIT(A_SUBJECT) | ABIT(A_FORMAT))

static const struct option audit_options[] = {
	CONNOPTS_OPTIONS,
	{ "help",	no_argument,	   NULL, 'h' },
	{ "subject",	required_argument, NULL, A_SUBJECT },
	{ "principal",	required_argument, NULL, A_PRINCIPAL },
	{ "action",	required_argument, NULL, A_ACTION },
	{ "message",	required_argument, NULL, A_MESSAGE },
	{ "from",	required_argument, NULL, A_FROM },
	{ "until",	required_argument, NULL, A_UNTIL },
	{ "limit",	required_argument, NULL, A_LIMIT },
	{ "all",	no_argument,	   NULL, A_ALL },
	{ "format",	required_argument, NULL, A_FORMAT },
	{ "page-token",	required_argument, NULL, A_PAGE_TOKEN },
	{ NULL, 0, NULL, 0 },
};

enum acmd { CMD_NONE, CMD_QUERY, CMD_SAR };

struct aopts {
	enum acmd	 cmd;
	unsigned	 given;
	struct connopts	 conn;
	const char	*subject, *principal, *action, *message, *page_token;
	const char	*format;
	int64_t		 from_ms, until_ms;
	uint32_t	 limit;
	int		 all;
};

const char audit_query_synopsis[] =
    "audit query [--subject ID] [--principal P] [--action A] "
    "[--message UUID]\n"
    "      [--from TIME] [--until TIME] [--limit N] [--all | --page-token T]"
    "\n      [--format table|json|csv]";

const char audit_query_help[] =
    "Asks the broker for audit rows (auditors only; every page asked is "
    "itself\nrecorded as an audit_query row).  Filters combine; a row "
    "matches --principal\nas its actor or its recipient.\n\n"
    "Options:\n"
    "  --subject ID        rows about this young person\n"
    "  --principal P       rows where P acted or received\n"
    "  --action A          connect, auth_refused, publish, publish_refused,"
    "\n                      deliver, deliver_refused, ack, subscribe, "
    "audit_query,\n                      policy_loaded, purge, "
    "protocol_error, disconnect,\n                      tls_loaded, "
    "tls_reload_refused\n"
    "  --message UUID      rows about this message\n"
    "  --from TIME         rows at or after TIME\n"
    "  --until TIME        rows before TIME\n"
    "  --limit N           rows per page, 1 to 1000 (default 100)\n"
    "  --all               follow the pages to the end\n"
    "  --page-token T      go on from a page that said there was more\n"
    "  --format F          table (default): at, actor, action, subject, "
    "kind,\n                      recipient, rule, withheld, reason;\n"
    "                      json: one object per row per line;\n"
    "                      csv: RFC 4180, with a header line\n\n"
    "TIME is Unix milliseconds or ISO 8601 in UTC: YYYY-MM-DD, "
    "YYYY-MM-DDTHH:MM,\nYYYY-MM-DDTHH:MM:SS[.mmm], each with an optional "
    "trailing Z.\n\n"
    "Without --all, if more rows match, the token of the next page is "
    "printed on\nstderr.  A paged query sees the trail as it was at its "
    "first page.\n";

const char audit_sar_synopsis[] =
    "sar --subject ID [--format report|json]";

const char audit_sar_help[] =
    "Answers a subject-access request: everything the broker holds about "
    "one young\nperson, from every page the broker has (auditors only; "
    "each page, and each\nmessage body opened, is recorded in the audit "
    "trail).\n\n"
    "For each message about the subject, oldest first: its header and its "
    "content\n(decrypted for the auditor, or why it is not there, such as "
    "a body purged\nunder retention), who received it, when, under which "
    "rule and which fields\nwere withheld from them, who was refused it "
    "and why, and who acknowledged\nreceipt.  Then every other event the "
    "audit trail records about the subject\n(refused publishes, earlier "
    "audit queries, ...).\n\n"
    "Options:\n"
    "  --subject ID        the young person's local identifier (required)\n"
    "  --format F          report (default): plain text to send as it is;\n"
    "                      json: one object {subject, generated_at, "
    "messages,\n                      other_events}\n";

/* ------------------------------------------------------------------------
 * Small helpers
 */

static int
usage_bad(const struct aopts *o, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
usage_bad(const struct aopts *o, const char *what, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vsay(what, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see 'nwd %s --help')\n", o->cmd == CMD_SAR ?
	    "sar" : "audit query");
	return CLI_EXIT_USAGE;
}

/* Reads exactly n digits at *p; advances it. */
static int
digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

/*
 * Unix milliseconds, or ISO 8601 in UTC: YYYY-MM-DD[THH:MM[:SS[.mmm]]][Z].
 */
static int
parse_time(const char *s, int64_t *out)
{
	const char	*p = s;
	struct tm	 tm, back;
	time_t		 t;
	long long	 v;
	char		*end;
	int		 y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, n;

	if (*s == '\0')
		return -1;
	if (strspn(s, "0123456789") == strlen(s)) {
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno != 0 || v <= 0)
			return -1;
		*out = v;
		return 0;
	}
	if (digits(&p, 4, &y) == -1 || *p++ != '-' ||
	    digits(&p, 2, &mo) == -1 || *p++ != '-' ||
	    digits(&p, 2, &d) == -1)
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) == -1 || *p++ != ':' ||
		    digits(&p, 2, &mi) == -1)
			return -1;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec) == -1)
				return -1;
			if (*p == '.') {
				p++;
				for (n = 0; n < 3 && isdigit((unsigned char)*p);
				    n++, p++)
					ms = ms * 10 + (*p - '0');
				if (n == 0)
					return -1;
				for (; n < 3; n++)
					ms *= 10;
			}
		}
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	if (*p != '\0' || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || sec > 59)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if ((t = timegm(&tm)) == (time_t)-1 || gmtime_r(&t, &back) == NULL ||
	    back.tm_mday != d || back.tm_mon != mo - 1)
		return -1;	/* 2025-02-30 */
	*out = (int64_t)t * 1000 + ms;
	return *out > 0 ? 0 : -1;
}

static struct nwd_client *
connect_broker(const struct aopts *o, const char *what, int *code)
{
	struct nwd_opts		 no;
	struct connopts_error	 ce;

	if (connopts_to_nwd_opts(&o->conn, what, &no, &ce) == -1) {
		*code = usage_bad(o, ce.what, "%s", ce.why);
		return NULL;
	}
	return cli_connect(&no, code);
}

/* ------------------------------------------------------------------------
 * One audit row, in each format
 */

static json_object *
event_json(const Nwd__V1__AuditEvent *e)
{
	json_object	*o = json_object_new_object();
	char		 at[40];

	cli_time(e->at_unix_ms, 1, at, sizeof(at));
	json_object_object_add(o, "id", json_object_new_int64(e->id));
	cli_json_text(o, "at", at);
	json_object_object_add(o, "at_unix_ms",
	    json_object_new_int64(e->at_unix_ms));
	cli_json_text(o, "instance", e->instance);
	json_object_object_add(o, "seq", json_object_new_int64(e->seq));
	cli_json_text(o, "actor", e->actor);
	cli_json_text(o, "action", e->action);
	cli_json_text(o, "message_id", e->message_id);
	cli_json_text(o, "subject", e->subject);
	cli_json_text(o, "kind", envelope_kind_name(e->kind));
	cli_json_text(o, "recipient", e->recipient);
	json_object_object_add(o, "fields_shared",
	    cli_json_strings(e->fields_shared, e->n_fields_shared));
	json_object_object_add(o, "fields_withheld",
	    cli_json_strings(e->fields_withheld, e->n_fields_withheld));
	cli_json_text(o, "rule", e->rule);
	cli_json_text(o, "policy_version", e->policy_version);
	cli_json_text(o, "reason", e->reason);
	return o;
}

/* One CSV field (RFC 4180): quoted when it holds , " CR or LF. */
static void
csv_field(const char *s, int last)
{
	const char *p;

	if (s == NULL)
		s = "";
	if (strpbrk(s, ",\"\r\n") == NULL)
		fputs(s, stdout);
	else {
		putchar('"');
		for (p = s; *p != '\0'; p++) {
			if (*p == '"')
				putchar('"');
			putchar(*p);
		}
		putchar('"');
	}
	fputs(last ? "\r\n" : ",", stdout);
}

static const char csv_header[] = "id,at,at_unix_ms,instance,seq,actor,"
    "action,message_id,subject,kind,recipient,fields_shared,"
    "fields_withheld,rule,policy_version,reason\r\n";

static void
csv_event(const Nwd__V1__AuditEvent *e)
{
	char	num[32], at[40], list[8192];

	snprintf(num, sizeof(num), "%" PRId64, e->id);
	csv_field(num, 0);
	cli_time(e->at_unix_ms, 1, at, sizeof(at));
	csv_field(at, 0);
	snprintf(num, sizeof(num), "%" PRId64, e->at_unix_ms);
	csv_field(num, 0);
	csv_field(e->instance, 0);
	snprintf(num, sizeof(num), "%" PRId64, e->seq);
	csv_field(num, 0);
	csv_field(e->actor, 0);
	csv_field(e->action, 0);
	csv_field(e->message_id, 0);
	csv_field(e->subject, 0);
	csv_field(envelope_kind_name(e->kind), 0);
	csv_field(e->recipient, 0);
	cli_join(list, sizeof(list), e->fields_shared, e->n_fields_shared, ",");
	csv_field(list, 0);
	cli_join(list, sizeof(list), e->fields_withheld, e->n_fields_withheld,
	    ",");
	csv_field(list, 0);
	csv_field(e->rule, 0);
	csv_field(e->policy_version, 0);
	csv_field(e->reason, 1);
}

/* The table's columns, each row's cells cleaned for a terminal. */
#define NCOLS	9
static const char *const table_head[NCOLS] = { "AT", "ACTOR", "ACTION",
    "SUBJECT", "KIND", "RECIPIENT", "RULE", "WITHHELD", "REASON" };

static void
table_cells(const Nwd__V1__AuditEvent *e, char cells[NCOLS][1024])
{
	char		 list[1024];
	const char	*v[NCOLS];
	size_t		 i;

	cli_time(e->at_unix_ms, 0, cells[0], sizeof(cells[0]));
	cli_join(list, sizeof(list), e->fields_withheld, e->n_fields_withheld,
	    ",");
	v[0] = cells[0];
	v[1] = e->actor;
	v[2] = e->action;
	v[3] = e->subject;
	v[4] = envelope_kind_name(e->kind);
	v[5] = e->recipient;
	v[6] = e->rule;
	v[7] = list;
	v[8] = e->reason;
	for (i = 1; i < NCOLS; i++)
		cli_clean(v[i] != NULL && v[i][0] != '\0' ? v[i] : "-",
		    cells[i], sizeof(cells[i]));
}

static int
print_table(Nwd__V1__AuditPage *const *pages, size_t npages)
{
	static char	cells[NCOLS][1024];
	size_t		w[NCOLS], p, i, c, len;

	for (c = 0; c < NCOLS; c++)
		w[c] = strlen(table_head[c]);
	for (p = 0; p < npages; p++)
		for (i = 0; i < pages[p]->n_events; i++) {
			table_cells(pages[p]->events[i], cells);
			for (c = 0; c < NCOLS; c++)
				if ((len = strlen(cells[c])) > w[c])
					w[c] = len;
		}
	for (c = 0; c + 1 < NCOLS; c++)
		printf("%-*s  ", (int)w[c], table_head[c]);
	printf("%s\n", table_head[NCOLS - 1]);
	for (p = 0; p < npages; p++)
		for (i = 0; i < pages[p]->n_events; i++) {
			table_cells(pages[p]->events[i], cells);
			for (c = 0; c < NCOLS; c++)
				if (c + 1 < NCOLS)
					printf("%-*s  ", (int)w[c], cells[c]);
				else
					printf("%s\n", cells[c]);
		}
	return cli_flush();
}

/* ------------------------------------------------------------------------
 * nwd audit query
 */

enum fmt { FMT_TABLE, FMT_JSON, FMT_CSV, FMT_REPORT };

static void
query_init(const struct aopts *o, Nwd__V1__AuditQuery *q)
{
	nwd__v1__audit_query__init(q);
	q->subject = (char *)(o->subject != NULL ? o->subject : "");
	q->principal = (char *)(o->principal != NULL ? o->principal : "");
	q->action = (char *)(o->action != NULL ? o->action : "");
	q->message_id = (char *)(o->message != NULL ? o->message : "");
	q->from_unix_ms = o->from_ms;
	q->until_unix_ms = o->until_ms;
	q->limit = o->limit;
	q->page_token = (char *)(o->page_token != NULL ? o->page_token : "");
}

static int
cmd_query(const struct aopts *o)
{
	Nwd__V1__AuditQuery	  q;
	Nwd__V1__AuditPage	 *page = NULL, **pages = NULL, **pv;
	struct nwd_client	 *c;
	enum nwd_status		  st;
	enum fmt		  f = FMT_TABLE;
	json_object		 *j;
	char			  err[512], token[256] = "";
	size_t			  npages = 0, i;
	int			  code = 0, r;

	if (o->format != NULL) {
		if (strcmp(o->format, "table") == 0)
			f = FMT_TABLE;
		else if (strcmp(o->format, "json") == 0)
			f = FMT_JSON;
		else if (strcmp(o->format, "csv") == 0)
			f = FMT_CSV;
		else
			return usage_bad(o, "--format", "\"%s\": one of table, "
			    "json, csv", o->format);
	}
	if (o->action != NULL && o->action[0] == '\0')
		return usage_bad(o, "--action", "needs an action name");
	if (o->message != NULL && !envelope_is_uuid(o->message))
		return usage_bad(o, "--message", "\"%s\" is not a message id "
		    "(a UUID)", o->message);
	if (o->from_ms != 0 && o->until_ms != 0 && o->from_ms >= o->until_ms)
		return usage_bad(o, "--from", "must be before --until");
	if ((c = connect_broker(o, "audit query", &code)) == NULL)
		return code;
	query_init(o, &q);
	if (f == FMT_CSV)
		fputs(csv_header, stdout);
	for (;;) {
		if ((st = nwd_audit_query(c, &q, &page, err,
		    sizeof(err))) != NWD_OK) {
			cli_say("audit query", "%s", err);
			code = cli_exit_status(c, st);
			break;
		}
		r = 0;
		for (i = 0; f != FMT_TABLE && i < page->n_events; i++) {
			if (f == FMT_CSV)
				csv_event(page->events[i]);
			else {
				j = event_json(page->events[i]);
				r |= cli_json_line(j);
				json_object_put(j);
			}
		}
		if (f != FMT_TABLE && (r != 0 || cli_flush() == -1)) {
			code = CLI_EXIT_PROTOCOL;
			break;
		}
		snprintf(token, sizeof(token), "%s", page->next_page_token);
		if (f == FMT_TABLE) {
			/* One table, its columns as wide as every page needs. */
			if ((pv = reallocarray(pages, npages + 1,
			    sizeof(*pv))) == NULL) {
				cli_say("audit query", "out of memory");
				code = CLI_EXIT_PROTOCOL;
				break;
			}
			pages = pv;
			pages[npages++] = page;
		} else
			nwd_audit_page_free(page);
		page = NULL;
		if (!o->all || token[0] == '\0')
			break;
		q.page_token = token;
	}
	nwd_audit_page_free(page);
	if (code == 0 && f == FMT_TABLE && print_table(pages, npages) == -1)
		code = CLI_EXIT_PROTOCOL;
	for (i = 0; i < npages; i++)
		nwd_audit_page_free(pages[i]);
	free(pages);
	if (code == 0 && token[0] != '\0' && !o->all)
		fprintf(stderr, "nwd: audit query: more rows match; go on with "
		    "--page-token %s (or ask with --all)\n", token);
	nwd_close(c);
	return code;
}

/* ------------------------------------------------------------------------
 * nwd sar
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

enum row_class { ROW_SHARED, ROW_REFUSED, ROW_ACK, ROW_OTHER };

static enum row_class
classify(const Nwd__V1__AuditEvent *e)
{
	if (strcmp(e->action, "deliver") == 0)
		return ROW_SHARED;
	if (strcmp(e->action, "deliver_refused") == 0)
		return ROW_REFUSED;
	if (strcmp(e->action, "ack") == 0)
		return ROW_ACK;
	return ROW_OTHER;
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
	char			 at[40];
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
	if (h != NULL && h->subject != NULL &&
	    h->subject->nhs_number[0] != '\0')
		cli_json_text(o, "nhs_number", h->subject->nhs_number);
	json_object_object_add(o, "body", body != NULL ?
	    pbjson_to_object(body, 0) : NULL);
	cli_json_text(o, "note", m->note);

	shared = json_object_new_array();
	refused = json_object_new_array();
	acks = json_object_new_array();
	other = json_object_new_array();
	for (i = 0; i < m->n_events; i++) {
		e = m->events[i];
		cli_time(e->at_unix_ms, 1, at, sizeof(at));
		x = json_object_new_object();
		switch (classify(e)) {
		case ROW_SHARED:
			cli_json_text(x, "recipient", e->recipient);
			cli_json_text(x, "at", at);
			cli_json_text(x, "rule", e->rule);
			json_object_object_add(x, "fields_shared",
			    cli_json_strings(e->fields_shared,
			    e->n_fields_shared));
			json_object_object_add(x, "fields_withheld",
			    cli_json_strings(e->fields_withheld,
			    e->n_fields_withheld));
			json_object_array_add(shared, x);
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
			json_object_array_add(other, event_json(e));
			break;
		}
	}
	json_object_object_add(o, "shared_with", shared);
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
		json_object_array_add(msgs, message_json(s->msgs[i]));
	json_object_object_add(o, "messages", msgs);
	other = json_object_new_array();
	for (i = 0; i < s->nrows; i++)
		if (!sar_with_message(s, s->rows[i]))
			json_object_array_add(other, event_json(s->rows[i]));
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
	char			 path[1024], list[4096];
	size_t			 i, n;
	static const char *const section[] = {
		[ROW_SHARED] = "Shared with",
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
			printf("  Corrects       %s\n",
			    cli_clean(h->supersedes, a, sizeof(a)));
	}
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
			n += classify(m->events[i]) == want;
		if (n == 0) {
			if (want == ROW_SHARED)
				printf("  %s\n    no one\n", section[want]);
			continue;
		}
		printf("  %s\n", section[want]);
		for (i = 0; i < m->n_events; i++) {
			e = m->events[i];
			if (classify(e) != want)
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
	    "it said, who received it,\nwhen, and which parts were withheld "
	    "from them under the sharing policy; who\nwas refused it and why; "
	    "and who acknowledged receipt.  After the messages\ncome the other "
	    "events the audit trail records about %s, such as\nmessages "
	    "refused at publication and earlier audit queries.  Times are "
	    "UTC.\n\n", cli_clean(s->subject, a, sizeof(a)),
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
cmd_sar(const struct aopts *o)
{
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

	if (o->subject == NULL || o->subject[0] == '\0')
		return usage_bad(o, "sar", "--subject ID is required");
	if (o->format != NULL) {
		if (strcmp(o->format, "report") == 0)
			f = FMT_REPORT;
		else if (strcmp(o->format, "json") == 0)
			f = FMT_JSON;
		else
			return usage_bad(o, "--format", "\"%s\": one of "
			    "report, json", o->format);
	}
	if ((c = connect_broker(o, "sar", &code)) == NULL)
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
	q.limit = A_MAX_LIMIT;
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

/* ------------------------------------------------------------------------
 * The command line
 */

int
audit_tool_command(int argc, char **argv, const struct option *long_options)
{
	const struct option	*lo;
	const char		*a;
	size_t			 n;
	int			 i;

	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		if (a[1] != '-' || strchr(a, '=') != NULL)
			continue;
		n = strlen(a + 2);
		for (lo = long_options; lo->name != NULL; lo++)
			if (strlen(lo->name) == n &&
			    strncmp(lo->name, a + 2, n) == 0 &&
			    lo->has_arg == required_argument)
				i++;
	}
	if (i >= argc)
		return 0;
	if (strcmp(argv[i], "sar") == 0)
		return 1;
	return strcmp(argv[i], "audit") == 0 && i + 1 < argc &&
	    strcmp(argv[i + 1], "query") == 0;
}

static const char *
aopt_name(int o)
{
	const struct option *lo;

	for (lo = audit_options; lo->name != NULL; lo++)
		if (lo->val == o)
			return lo->name;
	return "?";
}

/* Parses argv into o.  Returns -1 to go on, or an exit status. */
static int
parse_args(int argc, char **argv, struct aopts *o)
{
	struct connopts_error	 ce;
	const char		*words[3];
	char			*end;
	long			 l;
	size_t			 nwords = 0;
	unsigned		 extra;
	int			 c, r, help = 0, opt;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "-:h", audit_options,
	    NULL)) != -1) {
		if (c >= CONNOPTS_SERVER)
			o->given |= ABIT(c);
		switch (c) {
		case 1:
			if (nwords == 0)
				o->cmd = strcmp(optarg, "sar") == 0 ? CMD_SAR :
				    CMD_QUERY;
			if (nwords < 3)
				words[nwords] = optarg;
			nwords++;
			break;
		case 'h':
			help = 1;
			break;
		case A_SUBJECT:
			if (o->subject != NULL)
				return usage_bad(o, "--subject", "give one "
				    "subject");
			o->subject = optarg;
			break;
		case A_PRINCIPAL:
			o->principal = optarg;
			break;
		case A_ACTION:
			o->action = optarg;
			break;
		case A_MESSAGE:
			o->message = optarg;
			break;
		case A_FROM:
		case A_UNTIL:
			if (parse_time(optarg, c == A_FROM ? &o->from_ms :
			    &o->until_ms) == -1)
				return usage_bad(o, c == A_FROM ? "--from" :
				    "--until", "\"%s\" is not a time: Unix "
				    "milliseconds or YYYY-MM-DD[THH:MM[:SS]][Z]"
				    " (UTC)", optarg);
			break;
		case A_LIMIT:
			errno = 0;
			l = strtol(optarg, &end, 10);
			if (optarg[0] == '\0' || *end != '\0' || errno != 0 ||
			    l < 1 || l > A_MAX_LIMIT)
				return usage_bad(o, "--limit", "\"%s\" is not "
				    "a number of rows from 1 to %d", optarg,
				    A_MAX_LIMIT);
			o->limit = (uint32_t)l;
			break;
		case A_ALL:
			o->all = 1;
			break;
		case A_FORMAT:
			o->format = optarg;
			break;
		case A_PAGE_TOKEN:
			o->page_token = optarg;
			break;
		case ':':
			return usage_bad(o, argv[optind - 1], "needs a value");
		default:
			if ((r = connopts_parse(&o->conn, c, optarg,
			    &ce)) == 1)
				break;
			if (r == -1)
				return usage_bad(o, ce.what, "%s", ce.why);
			return usage_bad(o, argv[optind - 1] != NULL ?
			    argv[optind - 1] : "?", "unknown option");
		}
	}
	for (; optind < argc; optind++) {
		if (nwords == 0)
			o->cmd = strcmp(argv[optind], "sar") == 0 ? CMD_SAR :
			    CMD_QUERY;
		if (nwords < 3)
			words[nwords] = argv[optind];
		nwords++;
	}
	if (help) {
		if (o->cmd == CMD_SAR)
			printf("usage: nwd %s\n\n%s", audit_sar_synopsis,
			    audit_sar_help);
		else
			printf("usage: nwd %s\n\n%s", audit_query_synopsis,
			    audit_query_help);
		fputs(connopts_help_pointer, stdout);
		return 0;
	}
	if (o->cmd == CMD_SAR && nwords != 1)
		return usage_bad(o, "sar", "unexpected argument \"%s\"",
		    words[1]);
	if (o->cmd == CMD_QUERY && (nwords != 2 ||
	    strcmp(words[0], "audit") != 0 || strcmp(words[1], "query") != 0))
		return usage_bad(o, "audit query", "usage: nwd audit query "
		    "[options]");
	if (o->cmd == CMD_SAR) {
		extra = o->given & ~A_SAR_OPTS;
		for (opt = CONNOPTS_SERVER; extra != 0; opt++)
			if (extra & ABIT(opt))
				return usage_bad(o, "sar", "--%s is not an "
				    "option of sar", aopt_name(opt));
	}
	return -1;
}

int
audit_tool_main(int argc, char **argv)
{
	struct aopts	o;
	int		code;

	memset(&o, 0, sizeof(o));
	connopts_init(&o.conn);
	if ((code = parse_args(argc, argv, &o)) >= 0)
		return code;
	return o.cmd == CMD_SAR ? cmd_sar(&o) : cmd_query(&o);
}
