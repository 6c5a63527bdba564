/*
 * cmd_durable: "nwd durable list" and "nwd durable delete NAME", our
 * principal's durable subscriptions as the broker holds them (DurableList
 * and DurableDelete in nwd.proto): what each is filtered on, how much
 * waits in its queue and since when, whether a session has it open; and
 * deleting one, which withdraws what it held.
 *
 * Times are shown as an age ("3h12m") and in local time in the table, and
 * in ISO 8601 UTC in JSON.
 */

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json.h>

#include "cli.h"
#include "commands.h"
#include "connopts.h"
#include "envelope.h"
#include "nwd.h"

struct durable_opts {
	int		json;
	struct connopts	conn;
};

static const struct args_opt list_opts[] = {
	{ .name = "json", .type = ARGS_FLAG,
	  .off = offsetof(struct durable_opts, json),
	  .help = "one JSON object per subscription per line: name,\n"
	    "kinds and subjects ([] for every one), pending,\n"
	    "oldest_pending (ISO 8601 UTC, null if none),\n"
	    "oldest_pending_unix_ms, updated, updated_unix_ms, open" },
	{ .type = ARGS_INCLUDE_UNLISTED, .table = connopts_opts,
	  .off = offsetof(struct durable_opts, conn) },
	{ .type = ARGS_END },
};

static const struct args_opt delete_opts[] = {
	{ .type = ARGS_INCLUDE_UNLISTED, .table = connopts_opts,
	  .off = offsetof(struct durable_opts, conn) },
	{ .type = ARGS_END },
};

/* "3h12m": the time from ms to now, in its two largest units. */
static const char *
age(int64_t ms, int64_t now, char *out, size_t outlen)
{
	int64_t s = (now - ms) / 1000;

	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(out, outlen, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(out, outlen, "%" PRId64 "m%02" PRId64 "s", s / 60,
		    s % 60);
	else if (s < 86400)
		snprintf(out, outlen, "%" PRId64 "h%02" PRId64 "m", s / 3600,
		    s % 3600 / 60);
	else
		snprintf(out, outlen, "%" PRId64 "d%02" PRId64 "h", s / 86400,
		    s % 86400 / 3600);
	return out;
}

/* "2026-11-23 14:05" in local time. */
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

/* The kinds, "risk_alert,missing_episode", or "*" for every one. */
static const char *
kinds_text(const Nwd__V1__DurableInfo *d, char *out, size_t outlen)
{
	const char	*n;
	size_t		 i, off = 0;

	if (d->n_kinds == 0)
		return "*";
	out[0] = '\0';
	for (i = 0; i < d->n_kinds && off < outlen; i++) {
		n = envelope_kind_name(d->kinds[i]);
		off += snprintf(out + off, outlen - off, "%s%s",
		    i > 0 ? "," : "", n != NULL ? n : "?");
	}
	return out;
}

static json_object *
info_json(const Nwd__V1__DurableInfo *d)
{
	json_object	*o = json_object_new_object(), *k;
	const char	*n;
	char		 t[40];
	size_t		 i;

	cli_json_string(o, "name", d->name);
	k = json_object_new_array();
	for (i = 0; i < d->n_kinds; i++)
		json_object_array_add(k, (n = envelope_kind_name(d->kinds[i])) !=
		    NULL ? json_object_new_string(n) :
		    json_object_new_int(d->kinds[i]));
	json_object_object_add(o, "kinds", k);
	json_object_object_add(o, "subjects", cli_json_strings(d->subjects,
	    d->n_subjects));
	json_object_object_add(o, "pending",
	    json_object_new_uint64(d->pending));
	cli_json_text(o, "oldest_pending", d->oldest_pending_unix_ms != 0 ?
	    cli_time(d->oldest_pending_unix_ms, 1, t, sizeof(t)) : NULL);
	json_object_object_add(o, "oldest_pending_unix_ms",
	    json_object_new_int64(d->oldest_pending_unix_ms));
	cli_json_text(o, "updated", d->updated_unix_ms != 0 ?
	    cli_time(d->updated_unix_ms, 1, t, sizeof(t)) : NULL);
	json_object_object_add(o, "updated_unix_ms",
	    json_object_new_int64(d->updated_unix_ms));
	json_object_object_add(o, "open", json_object_new_boolean(d->open));
	return o;
}

#define NCOLS	6
static const char *const heads[NCOLS] = { "NAME", "KINDS", "SUBJECTS",
    "PENDING", "OLDEST PENDING", "OPEN" };

static void
cells(const Nwd__V1__DurableInfo *d, int64_t now, char c[NCOLS][512])
{
	char	a[64], b[64], list[1024];

	cli_clean(d->name, c[0], sizeof(c[0]));
	cli_clean(kinds_text(d, list, sizeof(list)), c[1], sizeof(c[1]));
	if (d->n_subjects == 0)
		snprintf(c[2], sizeof(c[2]), "*");
	else {
		cli_join(list, sizeof(list), d->subjects, d->n_subjects, ",");
		cli_clean(list, c[2], sizeof(c[2]));
	}
	snprintf(c[3], sizeof(c[3]), "%" PRIu64, d->pending);
	if (d->oldest_pending_unix_ms == 0)
		snprintf(c[4], sizeof(c[4]), "-");
	else
		snprintf(c[4], sizeof(c[4]), "%s (%s)",
		    age(d->oldest_pending_unix_ms, now, a, sizeof(a)),
		    local_time(d->oldest_pending_unix_ms, b, sizeof(b)));
	snprintf(c[5], sizeof(c[5]), "%s", d->open ? "yes" : "no");
}

static void
print_table(const Nwd__V1__DurableListResult *r)
{
	static char	c[NCOLS][512];
	int64_t		now = cli_wall_ms();
	size_t		w[NCOLS], i, k, len;

	for (k = 0; k < NCOLS; k++)
		w[k] = strlen(heads[k]);
	for (i = 0; i < r->n_durables; i++) {
		cells(r->durables[i], now, c);
		for (k = 0; k < NCOLS; k++)
			if ((len = strlen(c[k])) > w[k])
				w[k] = len;
	}
	for (k = 0; k + 1 < NCOLS; k++)
		printf("%-*s  ", (int)w[k], heads[k]);
	printf("%s\n", heads[NCOLS - 1]);
	for (i = 0; i < r->n_durables; i++) {
		cells(r->durables[i], now, c);
		for (k = 0; k < NCOLS; k++)
			if (k + 1 < NCOLS)
				printf("%-*s  ", (int)w[k], c[k]);
			else
				printf("%s\n", c[k]);
	}
	if (r->n_durables == 0)
		printf("(none)\n");
}

static int
list_run(struct args *a)
{
	const struct durable_opts	*o = a->opts;
	Nwd__V1__DurableListResult	*r = NULL;
	struct nwd_client		*c;
	enum nwd_status			 st;
	json_object			*j;
	char				 err[512];
	size_t				 i;
	int				 code = 0;

	if (a->argc != 0)
		return args_usage(a, a->name, "usage: nwd %s",
		    cmd_durable_list.synopsis);
	if ((c = connopts_connect(&o->conn, a, &code)) == NULL)
		return code;
	if ((st = nwd_durable_list(c, &r, err, sizeof(err))) != NWD_OK) {
		cli_say("durable list", "%s", err);
		code = cli_exit_status(c, st);
		goto out;
	}
	if (o->json) {
		for (i = 0; i < r->n_durables && code == 0; i++) {
			j = info_json(r->durables[i]);
			if (cli_json_line(j) == -1)
				code = CLI_EXIT_PROTOCOL;
			json_object_put(j);
		}
	} else
		print_table(r);
	if (cli_flush() == -1)
		code = CLI_EXIT_PROTOCOL;
 out:
	nwd_durable_list_free(r);
	nwd_close(c);
	return code;
}

static int
delete_run(struct args *a)
{
	const struct durable_opts	*o = a->opts;
	struct nwd_client		*c;
	enum nwd_status			 st;
	json_object			*j;
	uint64_t			 withdrawn = 0;
	char				 err[512];
	int				 code = 0;

	if (a->argc != 1 || a->argv[0][0] == '\0')
		return args_usage(a, a->name, "usage: nwd %s",
		    cmd_durable_delete.synopsis);
	if ((c = connopts_connect(&o->conn, a, &code)) == NULL)
		return code;
	if ((st = nwd_durable_delete(c, a->argv[0], &withdrawn, err,
	    sizeof(err))) != NWD_OK) {
		cli_say("durable delete", "%s", err);
		code = cli_exit_status(c, st);
	} else {
		j = json_object_new_object();
		cli_json_string(j, "name", a->argv[0]);
		json_object_object_add(j, "withdrawn",
		    json_object_new_uint64(withdrawn));
		code = cli_print_json(j) == 0 ? 0 : CLI_EXIT_PROTOCOL;
		json_object_put(j);
	}
	nwd_close(c);
	return code;
}

/* The group: its subcommands' synopses and what they share. */
const struct cmd cmd_durable = {
	.name = "durable",
	.family = CMD_FAMILY_NWD,
	.see = "nwd help durable",
	.help = "Our principal's durable subscriptions, as the broker holds "
	    "them: 'nwd durable\nlist' shows them, 'nwd durable delete NAME' "
	    "deletes one.  A subscription to\nother kinds or subjects under "
	    "the same name is made with 'nwd sub --durable\nNAME --replace' "
	    "instead, which keeps what is queued.  'nwd help durable list'\n"
	    "and 'nwd help durable delete' say more.\n",
};

const struct cmd cmd_durable_list = {
	.name = "durable list",
	.run = list_run,
	.opts = list_opts,
	.optsize = sizeof(struct durable_opts),
	.family = CMD_FAMILY_NWD,
	.see = "nwd help durable list",
	.synopsis = "durable list [--json]",
	.help = "Lists our principal's durable subscriptions: each one's NAME, "
	    "the KINDS and\nSUBJECTS it is filtered on (* for every one), how "
	    "many messages are PENDING\nin its queue, how old the OLDEST "
	    "PENDING one is (\"3h12m\", and when it was\nqueued, in local "
	    "time), and whether a session of ours has it OPEN.\n\n"
	    "Options:\n",
	.width = 20,
};

const struct cmd cmd_durable_delete = {
	.name = "durable delete",
	.run = delete_run,
	.opts = delete_opts,
	.optsize = sizeof(struct durable_opts),
	.family = CMD_FAMILY_NWD,
	.see = "nwd help durable delete",
	.synopsis = "durable delete NAME",
	.help = "Deletes our principal's durable subscription NAME: it is "
	    "closed on every\nsession of ours, and what was pending in it is "
	    "withdrawn, each message\naudited as deliver_withdrawn, not "
	    "delivered.  Prints {\"name\", \"withdrawn\"}:\nhow many "
	    "pending messages were withdrawn.  Exit status 1 with\n"
	    "ERROR_NOT_FOUND: we hold no durable subscription NAME.\n",
};
