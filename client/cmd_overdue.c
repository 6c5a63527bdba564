/*
 * cmd_overdue: "nwd overdue", the statutory clocks (DeadlineQuery in
 * nwd.proto): the deadlines due, overdue and (with --all) met, of the
 * young people we may see, with the rule, when each was due and how it
 * stands.  Times are local in the table, ISO 8601 UTC in JSON.
 */

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>

#include "cli.h"
#include "commands.h"
#include "connopts.h"
#include "envelope.h"
#include "nwd.h"

struct overdue_opts {
	const char	*subject;
	const char	*rule;
	const char	*team;
	int		 all;
	int		 json;
	uint32_t	 limit;
	struct connopts	 conn;
};

static int
parse_limit(const char *v, void *field)
{
	char		*end;
	unsigned long	 n = strtoul(v, &end, 10);

	if (*v == '\0' || *end != '\0' || n == 0 || n > 10000)
		return -1;
	*(uint32_t *)field = (uint32_t)n;
	return 0;
}

static const struct args_opt opts[] = {
	{ .name = "subject", .type = ARGS_STRING, .arg = "ID",
	  .off = offsetof(struct overdue_opts, subject),
	  .help = "deadlines about this young person" },
	{ .name = "rule", .type = ARGS_STRING, .arg = "RULE",
	  .off = offsetof(struct overdue_opts, rule),
	  .help = "deadlines of this policy rule" },
	{ .name = "team", .type = ARGS_STRING, .arg = "TEAM",
	  .off = offsetof(struct overdue_opts, team),
	  .help = "deadlines about young people allocated to TEAM" },
	{ .name = "all", .type = ARGS_FLAG,
	  .off = offsetof(struct overdue_opts, all),
	  .help = "met deadlines too" },
	{ .name = "limit", .type = ARGS_VALUE, .arg = "N",
	  .off = offsetof(struct overdue_opts, limit), .convert = parse_limit,
	  .bad = "is not a number from 1 to 10000",
	  .help = "at most N deadlines (default 1000)" },
	{ .name = "json", .type = ARGS_FLAG,
	  .off = offsetof(struct overdue_opts, json),
	  .help = "one JSON object per deadline per line: message_id,\n"
	    "subject, kind, rule, start, due (ISO 8601 UTC) and\n"
	    "their _unix_ms, state, escalations, met, met_by,\n"
	    "note, sender" },
	{ .type = ARGS_INCLUDE_UNLISTED, .table = connopts_opts,
	  .off = offsetof(struct overdue_opts, conn) },
	{ .type = ARGS_END },
};

/* "2027-01-11 16:00" in local time. */
static const char *
local_time(int64_t ms, char *out, size_t outlen)
{
	struct tm	tm;
	time_t		t = (time_t)(ms / 1000);

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(out, outlen, "%" PRId64, ms);
	return out;
}

static json_object *
info_json(const Nwd__V1__DeadlineInfo *d)
{
	json_object	*o = json_object_new_object();
	const char	*k = envelope_kind_name(d->kind);
	char		 t[40];

	cli_json_string(o, "message_id", d->message_id);
	cli_json_string(o, "subject", d->subject);
	cli_json_string(o, "kind", k != NULL ? k : "");
	cli_json_string(o, "rule", d->rule);
	cli_json_string(o, "start", cli_time(d->start_unix_ms, 1, t,
	    sizeof(t)));
	json_object_object_add(o, "start_unix_ms",
	    json_object_new_int64(d->start_unix_ms));
	cli_json_string(o, "due", cli_time(d->due_unix_ms, 1, t, sizeof(t)));
	json_object_object_add(o, "due_unix_ms",
	    json_object_new_int64(d->due_unix_ms));
	cli_json_string(o, "state", d->state);
	json_object_object_add(o, "escalations",
	    json_object_new_int64(d->escalations));
	cli_json_text(o, "met", d->met_unix_ms != 0 ? cli_time(d->met_unix_ms,
	    1, t, sizeof(t)) : NULL);
	cli_json_text(o, "met_by", d->met_by);
	cli_json_text(o, "note", d->note);
	cli_json_string(o, "sender", d->sender);
	return o;
}

#define NCOLS	7
static const char *const heads[NCOLS] = { "DUE", "STATE", "SUBJECT",
    "RULE", "KIND", "ESCALATED", "MESSAGE" };

static void
cells(const Nwd__V1__DeadlineInfo *d, char c[NCOLS][256])
{
	char		 t[40], met[96];
	const char	*k = envelope_kind_name(d->kind);

	local_time(d->due_unix_ms, t, sizeof(t));
	cli_clean(t, c[0], sizeof(c[0]));
	if (d->met_unix_ms != 0) {
		snprintf(met, sizeof(met), "met %s", local_time(d->met_unix_ms,
		    t, sizeof(t)));
		cli_clean(met, c[1], sizeof(c[1]));
	} else
		cli_clean(d->state, c[1], sizeof(c[1]));
	cli_clean(d->subject, c[2], sizeof(c[2]));
	cli_clean(d->rule, c[3], sizeof(c[3]));
	cli_clean(k != NULL ? k : "?", c[4], sizeof(c[4]));
	snprintf(c[5], sizeof(c[5]), "%" PRIu32, d->escalations);
	cli_clean(d->message_id, c[6], sizeof(c[6]));
}

static void
print_table(const Nwd__V1__DeadlineList *l)
{
	static char	c[NCOLS][256];
	size_t		w[NCOLS], i, k, len;

	for (k = 0; k < NCOLS; k++)
		w[k] = strlen(heads[k]);
	for (i = 0; i < l->n_deadlines; i++) {
		cells(l->deadlines[i], c);
		for (k = 0; k < NCOLS; k++)
			if ((len = strlen(c[k])) > w[k])
				w[k] = len;
	}
	for (k = 0; k + 1 < NCOLS; k++)
		printf("%-*s  ", (int)w[k], heads[k]);
	printf("%s\n", heads[NCOLS - 1]);
	for (i = 0; i < l->n_deadlines; i++) {
		cells(l->deadlines[i], c);
		for (k = 0; k < NCOLS; k++)
			if (k + 1 < NCOLS)
				printf("%-*s  ", (int)w[k], c[k]);
			else
				printf("%s\n", c[k]);
	}
	if (l->n_deadlines == 0)
		printf("(none)\n");
}

static int
run(struct args *a)
{
	const struct overdue_opts	*o = a->opts;
	Nwd__V1__DeadlineQuery		 q = NWD__V1__DEADLINE_QUERY__INIT;
	Nwd__V1__DeadlineList		*l = NULL;
	struct nwd_client		*c;
	enum nwd_status			 st;
	json_object			*j;
	char				 err[512];
	size_t				 i;
	int				 code = 0;

	if (a->argc != 0)
		return args_usage(a, a->name, "usage: nwd %s",
		    cmd_overdue.synopsis);
	q.subject = (char *)(o->subject != NULL ? o->subject : "");
	q.rule = (char *)(o->rule != NULL ? o->rule : "");
	q.team = (char *)(o->team != NULL ? o->team : "");
	q.all = o->all;
	q.limit = o->limit;
	if ((c = connopts_connect(&o->conn, a, &code)) == NULL)
		return code;
	if ((st = nwd_deadlines(c, &q, &l, err, sizeof(err))) != NWD_OK) {
		cli_say("overdue", "%s", err);
		code = cli_exit_status(c, st);
		goto out;
	}
	if (o->json) {
		for (i = 0; i < l->n_deadlines && code == 0; i++) {
			j = info_json(l->deadlines[i]);
			if (cli_json_line(j) == -1)
				code = CLI_EXIT_PROTOCOL;
			json_object_put(j);
		}
	} else
		print_table(l);
	if (cli_flush() == -1)
		code = CLI_EXIT_PROTOCOL;
 out:
	nwd_deadline_list_free(l);
	nwd_close(c);
	return code;
}

const struct cmd cmd_overdue = {
	.name = "overdue",
	.run = run,
	.opts = opts,
	.optsize = sizeof(struct overdue_opts),
	.family = CMD_FAMILY_NWD,
	.see = "nwd help overdue",
	.synopsis = "overdue [--subject ID] [--rule RULE] [--team TEAM] "
	    "[--all] [--json]",
	.help = "Lists the statutory clocks (the policy's deadline rules) we "
	    "may see, by due\ntime: the deadlines not yet met, and with --all "
	    "the met ones too.  STATE is\nopen (not yet due), overdue (due, "
	    "its escalation on its way), breached (an\nEscalation was sent; "
	    "ESCALATED says how many) or when it was met.  An\nauditor and "
	    "the duty desk see every deadline; anyone else those about\n"
	    "young people they, or a team of theirs, are allocated to.  Each "
	    "query is\naudited.\n\nOptions:\n",
	.width = 20,
};
