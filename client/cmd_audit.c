/*
 * cmd_audit: "nwd audit query", the audit trail asked of the broker
 * (AuditQuery / AuditPage in nwd.proto), filtered and paged, as a table,
 * JSON lines or CSV; and "nwd audit" alone, the group of "audit query" and
 * "audit verify" (cmd_verify.c).  The broker answers auditors only and
 * audits every page it sends.
 *
 * A delivery decision's row carries its route (live, queued,
 * "live,queued", unreachable or replay), shown in every format.
 *
 * Times given on the command line are Unix milliseconds or ISO 8601 dates
 * in UTC; times printed are UTC.  Text that came from the audit trail is
 * printed with control characters replaced in the table, and escaped as
 * its format requires in JSON and CSV.
 */

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json.h>

#include "cli.h"
#include "cmd_audit.h"
#include "commands.h"
#include "connopts.h"
#include "envelope.h"
#include "nwd.h"

#define A_MAX_LIMIT		1000	/* rows per page, as the broker caps */

struct query {
	const char	*subject, *principal, *action, *message;
	int64_t		 from_ms, until_ms;
	uint32_t	 limit;
	int		 all;
	const char	*page_token;
	const char	*format;
	struct connopts	 conn;
};

enum fmt { FMT_TABLE, FMT_JSON, FMT_CSV };

/* ------------------------------------------------------------------------
 * The options
 */

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
parse_time(const char *s, void *field)
{
	int64_t		*out = field;
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


/* A number of rows per page, 1 to A_MAX_LIMIT. */
static int
parse_limit(const char *s, void *field)
{
	char	*end;
	long	 l;

	errno = 0;
	l = strtol(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || l < 1 ||
	    l > A_MAX_LIMIT)
		return -1;
	*(uint32_t *)field = (uint32_t)l;
	return 0;
}

#define A_TIME_BAD	"is not a time: Unix milliseconds or " \
			    "YYYY-MM-DD[THH:MM[:SS]][Z] (UTC)"

static const struct args_opt query_opts[] = {
	{ .name = "subject", .type = ARGS_ONCE, .arg = "ID",
	  .off = offsetof(struct query, subject), .bad = "give one subject",
	  .help = "rows about this young person" },
	{ .name = "principal", .type = ARGS_STRING, .arg = "P",
	  .off = offsetof(struct query, principal),
	  .help = "rows where P acted or received" },
	{ .name = "action", .type = ARGS_STRING, .arg = "A",
	  .off = offsetof(struct query, action),
	  .help = "connect, auth_refused, publish, publish_refused,\n"
	    "deliver, deliver_refused, deliver_lost,\n"
	    "deliver_withdrawn, ack, subscribe, durable_deleted,\n"
	    "audit_query, policy_loaded, purge, protocol_error,\n"
	    "disconnect, tls_loaded, tls_reload_refused,\n"
	    "principals_loaded, principal_changed, reload_refused,\n"
	    "restore_accepted, deadline_set, deadline_met,\n"
	    "deadline_breached, escalated" },
	{ .name = "message", .type = ARGS_STRING, .arg = "UUID",
	  .off = offsetof(struct query, message),
	  .help = "rows about this message" },
	{ .name = "from", .type = ARGS_VALUE, .arg = "TIME",
	  .off = offsetof(struct query, from_ms), .convert = parse_time,
	  .bad = A_TIME_BAD, .help = "rows at or after TIME" },
	{ .name = "until", .type = ARGS_VALUE, .arg = "TIME",
	  .off = offsetof(struct query, until_ms), .convert = parse_time,
	  .bad = A_TIME_BAD, .help = "rows before TIME" },
	{ .name = "limit", .type = ARGS_VALUE, .arg = "N",
	  .off = offsetof(struct query, limit), .convert = parse_limit,
	  .bad = "is not a number of rows from 1 to 1000",
	  .help = "rows per page, 1 to 1000 (default 100)" },
	{ .name = "all", .type = ARGS_FLAG,
	  .off = offsetof(struct query, all),
	  .help = "follow the pages to the end" },
	{ .name = "page-token", .type = ARGS_STRING, .arg = "T",
	  .off = offsetof(struct query, page_token),
	  .help = "go on from a page that said there was more" },
	{ .name = "format", .type = ARGS_STRING, .arg = "F",
	  .off = offsetof(struct query, format),
	  .help = "table (default): at, actor, action, subject, kind,\n"
	    "recipient, route, rule, withheld, reason;\n"
	    "json: one object per row per line;\n"
	    "csv: RFC 4180, with a header line" },
	{ .type = ARGS_INCLUDE_UNLISTED, .table = connopts_opts,
	  .off = offsetof(struct query, conn) },
	{ .type = ARGS_END },
};

/* ------------------------------------------------------------------------
 * One audit row, in each format
 */

json_object *
cmd_audit_event_json(const Nwd__V1__AuditEvent *e)
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
	/* A delivery decision's route; last, so older readers are not
	 * disturbed. */
	cli_json_text(o, "route", e->route);
	return o;
}

/* One CSV field (RFC 4180), spreadsheet-safe (cli_csv_field()). */
static void
csv_field(const char *s, int last)
{
	cli_csv_field(stdout, s, last);
}

static const char csv_header[] = "id,at,at_unix_ms,instance,seq,actor,"
    "action,message_id,subject,kind,recipient,fields_shared,"
    "fields_withheld,rule,policy_version,reason,route\r\n";

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
	csv_field(e->reason, 0);
	csv_field(e->route, 1);
}

/* The table's columns, each row's cells cleaned for a terminal. */
#define NCOLS	10
static const char *const table_head[NCOLS] = { "AT", "ACTOR", "ACTION",
    "SUBJECT", "KIND", "RECIPIENT", "ROUTE", "RULE", "WITHHELD", "REASON" };

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
	v[6] = e->route;
	v[7] = e->rule;
	v[8] = list;
	v[9] = e->reason;
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

static void
query_init(const struct query *o, Nwd__V1__AuditQuery *q)
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
query_run(struct args *a)
{
	const struct query	 *o = a->opts;
	Nwd__V1__AuditQuery	  q;
	Nwd__V1__AuditPage	 *page = NULL, **pages = NULL, **pv;
	struct nwd_client	 *c;
	enum nwd_status		  st;
	enum fmt		  f = FMT_TABLE;
	json_object		 *j;
	char			  err[512], token[256] = "";
	size_t			  npages = 0, i;
	int			  code = 0, r;

	if (a->argc != 0)
		return args_usage(a, a->name, "usage: nwd audit query "
		    "[options]");
	if (o->format != NULL) {
		if (strcasecmp(o->format, "table") == 0)
			f = FMT_TABLE;
		else if (strcasecmp(o->format, "json") == 0)
			f = FMT_JSON;
		else if (strcasecmp(o->format, "csv") == 0)
			f = FMT_CSV;
		else
			return args_usage(a, "--format",
			    "\"%s\": one of table, "
			    "json, csv",
			    o->format);
	}
	if (o->action != NULL && o->action[0] == '\0')
		return args_usage(a, "--action", "needs an action name");
	/* Action names are lower case; like every name the tool reads,
	 * they are taken in any case (argv's own string is lowered). */
	for (i = 0; o->action != NULL && o->action[i] != '\0'; i++)
		((char *)o->action)[i] = (char)tolower(
		    (unsigned char)o->action[i]);
	if (o->message != NULL && !envelope_is_uuid(o->message))
		return args_usage(a, "--message", "\"%s\" is not a message id "
		    "(a UUID)", o->message);
	if (o->from_ms != 0 && o->until_ms != 0 && o->from_ms >= o->until_ms)
		return args_usage(a, "--from", "must be before --until");
	if ((c = connopts_connect(&o->conn, a, &code)) == NULL)
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
				j = cmd_audit_event_json(page->events[i]);
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
			/* One table, as wide as every page needs. */
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


const struct cmd cmd_audit_query = {
	.name = "audit query",
	.run = query_run,
	.opts = query_opts,
	.optsize = sizeof(struct query),
	.family = CMD_FAMILY_AUDIT,
	.see = "nwd audit query --help",
	.synopsis = "audit query [--subject ID] [--principal P] [--action A] "
	    "[--message UUID]\n"
	    "      [--from TIME] [--until TIME] [--limit N] [--all | "
	    "--page-token T]\n      [--format table|json|csv]",
	.help = "Asks the broker for audit rows (auditors only; every page "
	    "asked is itself\nrecorded as an audit_query row).  Filters "
	    "combine; a row matches --principal\nas its actor or its "
	    "recipient.\n\nOptions:\n",
	.more = "\nTIME is Unix milliseconds or ISO 8601 in UTC: YYYY-MM-DD, "
	    "YYYY-MM-DDTHH:MM,\nYYYY-MM-DDTHH:MM:SS[.mmm], each with an "
	    "optional trailing Z.\n\n"
	    "Without --all, if more rows match, the token of the next page is "
	    "printed on\nstderr.  A paged query sees the trail as it was at "
	    "its first page.\n",
	.width = 18,
};

/* ------------------------------------------------------------------------
 * nwd audit: no subcommand, or an unknown one
 */

/* Reads its arguments itself, as "nwd audit" always has. */
static int
audit_run(struct args *a)
{
	if (a->argc == 0) {
		commands_help(stderr, &cmd_audit);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(a->argv[0], "--help") == 0 ||
	    strcmp(a->argv[0], "-h") == 0 || strcmp(a->argv[0], "help") == 0) {
		commands_help(stdout, &cmd_audit);
		return 0;
	}
	return args_usage(a, a->name, "no such command \"%s\" (commands: "
	    "verify)", a->argv[0]);
}

const struct cmd cmd_audit = {
	.name = "audit",
	.run = audit_run,
	.family = CMD_FAMILY_AUDIT,
	.see = "nwd audit verify --help",
	.help = "The audit trail: 'nwd audit verify' checks its hash chains "
	    "and checkpoints\nin PostgreSQL; 'nwd audit query' asks the broker "
	    "for its rows (auditors\nonly).  'nwd help audit verify' and 'nwd "
	    "help audit query' say more.\n",
};
