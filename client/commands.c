/*
 * commands: the table of nwd's commands, nwd itself (no command, or an
 * unknown one), and every help.  See commands.h for the contracts.
 */

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "connopts.h"
#include "frame.h"

const struct cmd *const commands[] = {
	&cmd_whoami,
	&cmd_push,
	&cmd_sub,
	&cmd_ping,
	&cmd_status,
	&cmd_durable,
	&cmd_durable_list,
	&cmd_durable_delete,
	&cmd_policy,
	&cmd_policy_explain,
	&cmd_policy_check,
	&cmd_audit,
	&cmd_verify,
	&cmd_audit_query,
	&cmd_sar,
	&cmd_overdue,
	&cmd_breakglass,
	&cmd_review,
	&cmd_review_list,
	&cmd_review_show,
	&cmd_review_close,
	&cmd_sarcase,
	&cmd_sarcase_open,
	&cmd_sarcase_check,
	&cmd_sarcase_extend,
	&cmd_sarcase_approve,
	&cmd_sarcase_release,
	&cmd_sarcase_show,
	&cmd_sarcase_list,
	&cmd_kinds,
	&cmd_template,
	&cmd_help,
	NULL,
};

/* ------------------------------------------------------------------------
 * nwd itself: the global options, the usage
 */

struct globals {
	struct connopts	conn;	/* checked, then each command's own */
};

static int
print_version(const char *value, void *field)
{
	printf("nwd %s (protocol %d)\n", PACKAGE_VERSION,
	    FRAME_PROTOCOL_VERSION);
	return 0;
}

static const struct args_opt global_opts[] = {
	{ .type = ARGS_INCLUDE, .table = connopts_opts,
	  .off = offsetof(struct globals, conn) },
	{ .name = "help", .type = ARGS_DOC,
	  .help = "this help; 'nwd help COMMAND' for one command" },
	{ .name = "version", .type = ARGS_STOP, .convert = print_version,
	  .help = "print the version" },
	{ .type = ARGS_END },
};

static void
usage(FILE *f)
{
	const struct cmd *const	*c;

	fprintf(f, "usage: nwd %s\n\n%sCommands:\n", commands_nwd.synopsis,
	    commands_nwd.help);
	for (c = commands; *c != NULL; c++)
		if ((*c)->synopsis != NULL)
			fprintf(f, "  nwd %s\n", (*c)->synopsis);
	fprintf(f, "\nGlobal options, before or after the command:\n");
	args_help(f, global_opts, commands_nwd.width);
	fputs(commands_nwd.more, f);
}

/* No command, or an unknown one.  Answers --help itself. */
static int
global_run(struct args *a)
{
	char names[512];

	if (a->help) {
		usage(stdout);
		return 0;
	}
	if (a->argc == 0) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	return args_usage(a, a->argv[0], "no such command (commands: %s)",
	    commands_names(names, sizeof(names)));
}

const struct cmd commands_nwd = {
	.name = "nwd",
	.run = global_run,
	.opts = global_opts,
	.optsize = sizeof(struct globals),
	.family = CMD_FAMILY_NWD,
	.see = "nwd --help",
	.synopsis = "[global options] COMMAND [options] [ARGS]",
	.help = "Client of the nwd information-sharing broker.\n\n",
	.more =
	    "\nExit status:\n"
	    "  0  success\n"
	    "  1  refused by the broker (ERROR_FORBIDDEN, "
	    "ERROR_INVALID_ENVELOPE,\n"
	    "     ERROR_LIMIT, ERROR_NOT_FOUND)\n"
	    "  2  invalid input or usage: bad options, bad JSON, an envelope "
	    "that fails\n"
	    "     local validation, unreadable certificate or key\n"
	    "  3  unreachable: name resolution, connect or TLS handshake "
	    "failed, or the\n"
	    "     broker refused our certificate\n"
	    "  4  unavailable: the broker's audit store is down, the broker "
	    "is shutting\n"
	    "     down, or it ended the session\n"
	    "  5  protocol or internal error\n"
	    "  6  timeout\n",
	.width = 20,
};

/* ------------------------------------------------------------------------
 * Finding commands
 */

const char *
commands_names(char *buf, size_t len)
{
	const struct cmd *const	*c;
	size_t			 off = 0;
	int			 r;

	buf[0] = '\0';
	for (c = commands; *c != NULL && off < len; c++) {
		if (strchr((*c)->name, ' ') != NULL)
			continue;
		r = snprintf(buf + off, len - off, "%s%s", off > 0 ? ", " : "",
		    (*c)->name);
		if (r < 0)
			break;
		off += (size_t)r;
	}
	return buf;
}

static const struct cmd *
find(const char *name, size_t len)
{
	const struct cmd *const *c;

	for (c = commands; *c != NULL; c++)
		if (strlen((*c)->name) == len &&
		    strncmp((*c)->name, name, len) == 0)
			return *c;
	return NULL;
}

const struct cmd *
commands_find(const char *const *words, size_t n)
{
	const struct cmd	*cmd;
	char			 name[256];

	if (n >= 2 && snprintf(name, sizeof(name), "%s %s", words[0],
	    words[1]) < (int)sizeof(name) &&
	    (cmd = find(name, strlen(name))) != NULL)
		return cmd;
	return n >= 1 ? find(words[0], strlen(words[0])) : NULL;
}

const struct cmd *
commands_group(const struct cmd *cmd)
{
	const char *sp;

	if ((sp = strchr(cmd->name, ' ')) == NULL)
		return NULL;
	return find(cmd->name, (size_t)(sp - cmd->name));
}

int
commands_is_group(const struct cmd *cmd)
{
	const struct cmd *const *c;

	for (c = commands; *c != NULL; c++)
		if (commands_group(*c) == cmd)
			return 1;
	return 0;
}

/* ------------------------------------------------------------------------
 * Help
 */

const char *
commands_synopsis(const struct cmd *cmd, char *buf, size_t len)
{
	const struct cmd *const	*c;
	size_t			 off = 0;
	int			 r;

	if (cmd->synopsis != NULL) {
		snprintf(buf, len, "%s", cmd->synopsis);
		return buf;
	}
	buf[0] = '\0';
	for (c = commands; *c != NULL && off < len; c++) {
		if (commands_group(*c) != cmd)
			continue;
		r = snprintf(buf + off, len - off, "%s%s",
		    off > 0 ? "\n  nwd " : "", (*c)->synopsis);
		if (r < 0)
			break;
		off += (size_t)r;
	}
	return buf;
}

void
commands_help(FILE *f, const struct cmd *cmd)
{
	const struct cmd	*group;
	char			 synopsis[1024];

	if (cmd == &commands_nwd) {
		usage(f);
		return;
	}
	if (cmd->help == NULL && (group = commands_group(cmd)) != NULL)
		cmd = group;
	fprintf(f, "usage: nwd %s\n\n", commands_synopsis(cmd, synopsis,
	    sizeof(synopsis)));
	if (cmd->help != NULL)
		fputs(cmd->help, f);
	if (cmd->opts != NULL)
		args_help(f, cmd->opts, cmd->width);
	if (cmd->more != NULL)
		fputs(cmd->more, f);
	if (cmd->kinds)
		fprintf(f, "\nKIND is one of: %s.\n", cli_kinds());
	if (cmd->opts != NULL && args_includes(cmd->opts, connopts_opts))
		fputs(connopts_help_pointer, f);
}
