/*
 * cmd_breakglass: "nwd breakglass", emergency access to a young person
 * (BreakGlass in nwd.proto): claim it with a reason for a bounded time,
 * read the history it opens, end it; and "nwd review list|show|close",
 * the auditors' review of every grant (Review).  Every request, granted
 * or refused, is audited by the broker.
 *
 * Output: a grant as one line of text, or with --json one JSON object
 * (the GrantInfo of nwd.proto); history and review rows one JSON object
 * per line.
 */

#include <ctype.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "cli.h"
#include "commands.h"
#include "connopts.h"
#include "envelope.h"
#include "nwd.h"
#include "pbjson.h"

struct bg_opts {
	const char	*subject;
	const char	*reason;
	int64_t		 for_ms;
	struct cli_strv	 kinds;
	const char	*end;
	int		 history;
	int		 json;
	struct connopts	 conn;
};

struct review_opts {
	int		 all;
	int		 json;
	const char	*outcome;
	const char	*note;
	struct connopts	 conn;
};

/* "4h", "90m", "1h30m", "2d": a duration into milliseconds. */
static int
parse_duration(const char *v, void *field)
{
	int64_t		 total = 0, n, unit;
	char		*end;

	if (*v == '\0')
		return -1;
	while (*v != '\0') {
		if (!isdigit((unsigned char)*v))
			return -1;
		n = strtoll(v, &end, 10);
		switch (*end) {
		case 'd':
			unit = 86400000;
			break;
		case 'h':
			unit = 3600000;
			break;
		case 'm':
			unit = 60000;
			break;
		default:
			return -1;
		}
		if (n <= 0 || n > 1000000)
			return -1;
		total += n * unit;
		v = end + 1;
	}
	*(int64_t *)field = total;
	return 0;
}

static const struct args_opt bg_opts_table[] = {
	{ .name = "subject", .type = ARGS_STRING, .arg = "ID",
	  .off = offsetof(struct bg_opts, subject),
	  .help = "the young person" },
	{ .name = "reason", .type = ARGS_STRING, .arg = "TEXT",
	  .off = offsetof(struct bg_opts, reason),
	  .help = "why emergency access is needed (required)" },
	{ .name = "for", .type = ARGS_VALUE, .arg = "DURATION",
	  .off = offsetof(struct bg_opts, for_ms), .convert = parse_duration,
	  .bad = "is not a duration such as 4h, 90m or 1h30m",
	  .help = "how long, e.g. 4h (at most what the policy's\n"
	    "breakglass rule allows)" },
	{ .name = "kinds", .type = ARGS_NAMES, .arg = "K[,K]",
	  .off = offsetof(struct bg_opts, kinds),
	  .help = "only these kinds (default: every kind the rule\n"
	    "allows)" },
	{ .name = "history", .type = ARGS_FLAG,
	  .off = offsetof(struct bg_opts, history),
	  .help = "with --subject: the young person's messages our\n"
	    "live grant opens, one JSON object per line" },
	{ .name = "end", .type = ARGS_STRING, .arg = "GRANT",
	  .off = offsetof(struct bg_opts, end),
	  .help = "end our grant GRANT now (an auditor revokes one)" },
	{ .name = "json", .type = ARGS_FLAG,
	  .off = offsetof(struct bg_opts, json),
	  .help = "the grant as one JSON object (GrantInfo of\n"
	    "nwd.proto)" },
	{ .type = ARGS_INCLUDE_UNLISTED, .table = connopts_opts,
	  .off = offsetof(struct bg_opts, conn) },
	{ .type = ARGS_END },
};

static const struct args_opt list_opts[] = {
	{ .name = "all", .type = ARGS_FLAG,
	  .off = offsetof(struct review_opts, all),
	  .help = "closed reviews too" },
	{ .name = "json", .type = ARGS_FLAG,
	  .off = offsetof(struct review_opts, json),
	  .help = "one JSON object per grant per line" },
	{ .type = ARGS_INCLUDE_UNLISTED, .table = connopts_opts,
	  .off = offsetof(struct review_opts, conn) },
	{ .type = ARGS_END },
};

static const struct args_opt show_opts[] = {
	{ .name = "json", .type = ARGS_FLAG,
	  .off = offsetof(struct review_opts, json),
	  .help = "the grant, then each audit row, one JSON object\n"
	    "per line" },
	{ .type = ARGS_INCLUDE_UNLISTED, .table = connopts_opts,
	  .off = offsetof(struct review_opts, conn) },
	{ .type = ARGS_END },
};

static const struct args_opt close_opts[] = {
	{ .name = "outcome", .type = ARGS_STRING, .arg = "OUTCOME",
	  .off = offsetof(struct review_opts, outcome),
	  .help = "justified or unjustified (required)" },
	{ .name = "note", .type = ARGS_STRING, .arg = "TEXT",
	  .off = offsetof(struct review_opts, note),
	  .help = "the reviewer's finding (required)" },
	{ .name = "json", .type = ARGS_FLAG,
	  .off = offsetof(struct review_opts, json),
	  .help = "the grant as one JSON object" },
	{ .type = ARGS_INCLUDE_UNLISTED, .table = connopts_opts,
	  .off = offsetof(struct review_opts, conn) },
	{ .type = ARGS_END },
};

/* One grant as a line of text. */
static void
print_grant(const Nwd__V1__GrantInfo *g)
{
	char		 from[40], until[40], a[256], b[256], c[256], d[512];
	const char	*k;
	size_t		 i, n = 0;

	d[0] = '\0';
	for (i = 0; i < g->n_kinds && n < sizeof(d); i++)
		if ((k = envelope_kind_name(g->kinds[i])) != NULL)
			n += snprintf(d + n, sizeof(d) - n, "%s%s",
			    n > 0 ? "," : "", k);
	printf("grant %s: %s (%s) on %s, %s to %s, %s; rule %s; kinds %s; "
	    "review %s%s%s; %" PRIu32 " deliveries\n",
	    cli_clean(g->grant_id, a, sizeof(a)),
	    cli_clean(g->principal, b, sizeof(b)), g->role,
	    cli_clean(g->subject, c, sizeof(c)),
	    cli_time(g->from_unix_ms, 0, from, sizeof(from)),
	    cli_time(g->until_unix_ms, 0, until, sizeof(until)), g->state,
	    g->rule, d, g->review, g->outcome[0] != '\0' ? " " : "",
	    g->outcome, g->deliveries);
}

/* m as one JSON line; 0 or CLI_EXIT_PROTOCOL. */
static int
json_line(const ProtobufCMessage *m)
{
	json_object	*o = pbjson_to_object(m, 0);
	int		 rc;

	if (o == NULL)
		return CLI_EXIT_PROTOCOL;
	rc = cli_json_line(o) == -1 ? CLI_EXIT_PROTOCOL : 0;
	json_object_put(o);
	return rc;
}

static int
bg_run(struct args *a)
{
	const struct bg_opts		*o = a->opts;
	Nwd__V1__BreakGlass		 q = NWD__V1__BREAK_GLASS__INIT;
	Nwd__V1__BreakGlassResult	*r = NULL;
	struct nwd_client		*c;
	enum nwd_status			 st;
	char				 err[1024], *k;
	size_t				 i;
	int				 code = 0;

	if (a->argc != 0)
		return args_usage(a, a->name, "usage: nwd %s",
		    cmd_breakglass.synopsis);
	if (o->end != NULL) {
		q.op = NWD__V1__BREAK_GLASS__OP__END;
		q.grant_id = (char *)o->end;
	} else if (o->history) {
		q.op = NWD__V1__BREAK_GLASS__OP__HISTORY;
		if (o->subject == NULL)
			return args_usage(a, a->name, "--history needs "
			    "--subject ID");
	} else {
		/* The broker judges the claim, and audits a refusal. */
		q.op = NWD__V1__BREAK_GLASS__OP__CLAIM;
		q.reason = (char *)(o->reason != NULL ? o->reason : "");
		q.duration_ms = o->for_ms;
		/* Kind names are lower case, and taken in any case. */
		for (i = 0; i < o->kinds.n; i++)
			for (k = o->kinds.v[i]; *k != '\0'; k++)
				*k = (char)tolower((unsigned char)*k);
		q.kinds = o->kinds.v;
		q.n_kinds = o->kinds.n;
	}
	q.subject = (char *)(o->subject != NULL ? o->subject : "");
	if ((c = connopts_connect(&o->conn, a, &code)) == NULL)
		return code;
	if ((st = nwd_breakglass(c, &q, &r, err, sizeof(err))) != NWD_OK) {
		cli_say("breakglass", "%s", err);
		code = cli_exit_status(c, st);
		goto out;
	}
	if (q.op == NWD__V1__BREAK_GLASS__OP__HISTORY) {
		for (i = 0; i < r->n_history && code == 0; i++)
			code = json_line(&r->history[i]->base);
		if (r->omitted > 0)
			cli_say("breakglass", "%" PRIu32 " more messages did "
			    "not fit in one answer", r->omitted);
	} else if (r->grant != NULL && o->json)
		code = json_line(&r->grant->base);
	else if (r->grant != NULL)
		print_grant(r->grant);
	if (cli_flush() == -1)
		code = CLI_EXIT_PROTOCOL;
out:
	nwd_breakglass_result_free(r);
	nwd_close(c);
	return code;
}

static int
review(struct args *a, Nwd__V1__Review *q, const struct review_opts *o,
    const char *what)
{
	Nwd__V1__ReviewResult	*r = NULL;
	struct nwd_client	*c;
	enum nwd_status		 st;
	char			 err[1024], at[40], x[256], y[512];
	size_t			 i;
	int			 code = 0;

	if ((c = connopts_connect(&o->conn, a, &code)) == NULL)
		return code;
	if ((st = nwd_review(c, q, &r, err, sizeof(err))) != NWD_OK) {
		cli_say(what, "%s", err);
		code = cli_exit_status(c, st);
		goto out;
	}
	for (i = 0; i < r->n_grants && code == 0; i++)
		if (o->json)
			code = json_line(&r->grants[i]->base);
		else
			print_grant(r->grants[i]);
	if (!o->json && r->n_grants == 0)
		printf("(none)\n");
	for (i = 0; i < r->n_events && code == 0; i++) {
		const Nwd__V1__AuditEvent *e = r->events[i];

		if (o->json)
			code = json_line(&e->base);
		else
			printf("  %s  %-18s %-14s %s%s%s\n", cli_time(
			    e->at_unix_ms, 0, at, sizeof(at)), e->action,
			    cli_clean(e->recipient[0] != '\0' ? e->recipient :
			    e->actor, x, sizeof(x)), e->message_id,
			    e->message_id[0] != '\0' ? "  " : "",
			    cli_clean(e->reason, y, sizeof(y)));
	}
	if (r->omitted > 0)
		cli_say(what, "%" PRIu32 " more did not fit in one answer",
		    r->omitted);
	if (cli_flush() == -1)
		code = CLI_EXIT_PROTOCOL;
out:
	nwd_review_result_free(r);
	nwd_close(c);
	return code;
}

static int
list_run(struct args *a)
{
	const struct review_opts	*o = a->opts;
	Nwd__V1__Review			 q = NWD__V1__REVIEW__INIT;

	if (a->argc != 0)
		return args_usage(a, a->name, "usage: nwd %s",
		    cmd_review_list.synopsis);
	q.op = NWD__V1__REVIEW__OP__LIST;
	q.all = o->all;
	return review(a, &q, o, "review list");
}

static int
show_run(struct args *a)
{
	const struct review_opts	*o = a->opts;
	Nwd__V1__Review			 q = NWD__V1__REVIEW__INIT;

	if (a->argc != 1)
		return args_usage(a, a->name, "usage: nwd %s",
		    cmd_review_show.synopsis);
	q.op = NWD__V1__REVIEW__OP__SHOW;
	q.grant_id = a->argv[0];
	return review(a, &q, o, "review show");
}

static int
close_run(struct args *a)
{
	const struct review_opts	*o = a->opts;
	Nwd__V1__Review			 q = NWD__V1__REVIEW__INIT;

	if (a->argc != 1)
		return args_usage(a, a->name, "usage: nwd %s",
		    cmd_review_close.synopsis);
	/* The broker judges the outcome and the note, and audits. */
	q.op = NWD__V1__REVIEW__OP__CLOSE;
	q.grant_id = a->argv[0];
	q.outcome = (char *)(o->outcome != NULL ? o->outcome : "");
	q.note = (char *)(o->note != NULL ? o->note : "");
	return review(a, &q, o, "review close");
}

const struct cmd cmd_breakglass = {
	.name = "breakglass",
	.run = bg_run,
	.opts = bg_opts_table,
	.optsize = sizeof(struct bg_opts),
	.family = CMD_FAMILY_NWD,
	.see = "nwd help breakglass",
	.synopsis = "breakglass --subject ID --reason TEXT --for DURATION "
	    "[--kinds K[,K]] | --history --subject ID | --end GRANT [--json]",
	.help = "Emergency access to a young person we have no other right "
	    "to see.  The\npolicy's breakglass rules say which roles may claim "
	    "it, for which kinds and\nfor how long at most.  A claim needs a "
	    "reason; granted, we receive the young\nperson's messages of "
	    "those kinds published while it lasts, and with\n--history the "
	    "ones published before, each redacted as the rule says and\n"
	    "audited under the grant.  The auditors are alerted at once and "
	    "review every\ngrant (nwd review).  A grant ends at its expiry "
	    "or with --end.\n\nOptions:\n",
	.width = 20,
};

const struct cmd cmd_review = {
	.name = "review",
	.family = CMD_FAMILY_NWD,
	.see = "nwd help review",
	.help = "The auditors' review of every break-glass grant: 'nwd review "
	    "list' shows the\ngrants whose review is open, 'nwd review show "
	    "GRANT' everything seen under\none, 'nwd review close GRANT "
	    "--outcome justified|unjustified --note TEXT'\ncloses its review, "
	    "once.  Auditors only; every request is audited.\n",
};

const struct cmd cmd_review_list = {
	.name = "review list",
	.run = list_run,
	.opts = list_opts,
	.optsize = sizeof(struct review_opts),
	.family = CMD_FAMILY_NWD,
	.see = "nwd help review list",
	.synopsis = "review list [--all] [--json]",
	.help = "Lists the break-glass grants whose review is open (with "
	    "--all every grant):\nwho claimed which young person, when, for "
	    "how long, under which rule, its\nstate (live, expired, ended, "
	    "revoked), the review's outcome and how many\ndeliveries were "
	    "made under it.\n\nOptions:\n",
	.width = 20,
};

const struct cmd cmd_review_show = {
	.name = "review show",
	.run = show_run,
	.opts = show_opts,
	.optsize = sizeof(struct review_opts),
	.family = CMD_FAMILY_NWD,
	.see = "nwd help review show",
	.synopsis = "review show GRANT [--json]",
	.help = "Shows one grant and every audit row made under it: the claim, "
	    "each message\ndelivered (or refused) under it, its end, and the "
	    "review.\n\nOptions:\n",
	.width = 20,
};

const struct cmd cmd_review_close = {
	.name = "review close",
	.run = close_run,
	.opts = close_opts,
	.optsize = sizeof(struct review_opts),
	.family = CMD_FAMILY_NWD,
	.see = "nwd help review close",
	.synopsis = "review close GRANT --outcome justified|unjustified "
	    "--note TEXT [--json]",
	.help = "Closes the review of a grant with its outcome and the "
	    "reviewer's note.  A\nreview closes once.\n\nOptions:\n",
	.width = 20,
};
