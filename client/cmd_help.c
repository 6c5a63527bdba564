/*
 * cmd_help: "nwd help [COMMAND [SUBCOMMAND]]", the usage of nwd or the
 * help of one command, from the table of commands.
 */

#include <stdio.h>

#include "commands.h"

/* Its operands are all it reads. */
static const struct args_opt help_opts[] = {
	{ .type = ARGS_END },
};

/* Answers --help itself: "nwd help --help" is nwd's usage. */
static int
help_run(struct args *a)
{
	const struct cmd *cmd;

	if (a->argc == 0) {
		commands_help(stdout, &commands_nwd);
		return 0;
	}
	/* Words after the command's (or a group's subcommand's) are not
	 * looked at. */
	if ((cmd = commands_find((const char *const *)a->argv,
	    a->argc > 1 ? 2 : 1)) == NULL)
		return args_usage(a, "help", "no command \"%s\"", a->argv[0]);
	commands_help(stdout, cmd);
	return 0;
}

const struct cmd cmd_help = {
	.name = "help",
	.run = help_run,
	.opts = help_opts,
	.family = CMD_FAMILY_NWD,
	.see = "nwd --help",
	.synopsis = "help [COMMAND]",
	.help = "Prints the usage of nwd, or the help of COMMAND; of a group's "
	    "subcommand\nwith both words, as 'nwd help audit query'.\n",
};
