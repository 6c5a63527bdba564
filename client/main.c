/*
 * nwd: the command-line client of the nwd broker, built on libnwd.
 *
 * Results go to stdout as JSON, one line each, unless a command says
 * otherwise; errors go to stderr as "nwd: <what>: <why>".  Message bodies
 * are read from a file or stdin and printed only to stdout.
 *
 * main() finds the command in the table of commands.c by its words, reads
 * the command line with the options of the command's family (args.c) and
 * runs it.  Every command, and every help, goes through here.
 */

#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "commands.h"

/*
 * The option tables of the family f, but for that of self (may be NULL),
 * into a new array; *n is how many.  NULL if out of memory.
 */
static const struct args_opt **
family(enum cmd_family f, const struct cmd *self, size_t *n)
{
	const struct args_opt	**v;
	const struct cmd *const	 *c;
	size_t			  max = 1;

	for (c = commands; *c != NULL; c++)
		max++;
	if ((v = calloc(max, sizeof(*v))) == NULL)
		return NULL;
	*n = 0;
	if (f == commands_nwd.family && self != &commands_nwd)
		v[(*n)++] = commands_nwd.opts;
	for (c = commands; *c != NULL; c++)
		if ((*c)->family == f && *c != self && (*c)->opts != NULL)
			v[(*n)++] = (*c)->opts;
	return v;
}

/*
 * A word of the command line read with the options of family f: the index
 * in argv of its first operand (after == 0), or of the operand that
 * follows the first one spelt as argv[after] (after > 0).  -1 if there is
 * none, -2 if out of memory.
 */
static int
next_word(enum cmd_family f, int argc, char **argv, int after)
{
	const struct args_opt	**tables;
	size_t			  ntables;
	int			 *idx, n, i, r = -1;

	if ((tables = family(f, NULL, &ntables)) == NULL ||
	    (idx = calloc(argc, sizeof(*idx))) == NULL) {
		free(tables);
		return -2;
	}
	if ((n = args_words(argc, argv, tables, ntables, idx, argc)) < 0)
		r = -2;
	for (i = 0; i < n; i++) {
		if (after == 0) {
			r = idx[i];
			break;
		}
		if (strcmp(argv[idx[i]], argv[after]) == 0) {
			r = i + 1 < n ? idx[i + 1] : -1;
			break;
		}
	}
	free(idx);
	free(tables);
	return r;
}

/*
 * A group without a run of its own, given no subcommand or an unknown one:
 * its help, or the word it does not know.
 */
static int
group_run(const struct cmd *group, struct args *a)
{
	if (a->argc == 0) {
		commands_help(stderr, group);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(a->argv[0], "--help") == 0 ||
	    strcmp(a->argv[0], "-h") == 0 || strcmp(a->argv[0], "help") == 0) {
		commands_help(stdout, group);
		return 0;
	}
	return args_usage(a, group->name, "no subcommand \"%s\"", a->argv[0]);
}

/* Reads the command line for cmd, named by its nwords words, and runs it. */
static int
run(const struct cmd *cmd, const char *const *words, size_t nwords,
    int argc, char **argv, int first)
{
	const struct args_opt	**mates;
	const char		 *foreign;
	struct args		  a;
	size_t			  nmates, size;
	int			  code;

	memset(&a, 0, sizeof(a));
	a.name = cmd->name;
	a.see = cmd->see;
	a.words = words;
	a.nwords = nwords;
	if (cmd->opts == NULL) {
		/* It reads what follows its words itself. */
		a.argv = argv + first + nwords;
		a.argc = (size_t)(argc - first) - nwords;
		return cmd->run != NULL ? cmd->run(&a) : group_run(cmd, &a);
	}
	size = cmd->optsize > 0 ? cmd->optsize : 1;
	if ((mates = family(cmd->family, cmd, &nmates)) == NULL ||
	    (a.opts = calloc(1, size)) == NULL) {
		free(mates);
		cli_say("arguments", "out of memory");
		return CLI_EXIT_PROTOCOL;
	}
	if ((code = args_parse(&a, argc, argv, cmd->opts, mates,
	    nmates)) >= 0)
		goto out;
	/* nwd itself and "help" answer --help themselves, and any option
	 * of their family is as good as another to them. */
	if (cmd == &commands_nwd || cmd == &cmd_help)
		code = cmd->run(&a);
	else if (a.help) {
		commands_help(stdout, cmd);
		code = 0;
	} else if ((foreign = args_foreign(&a)) != NULL)
		code = args_usage(&a, cmd->name, "--%s is not an option of %s",
		    foreign, cmd->name);
	else
		code = cmd->run(&a);
 out:
	args_free(&a);
	free(a.opts);
	free(mates);
	return code;
}

int
main(int argc, char **argv)
{
	const struct cmd	*cmd = &commands_nwd, *sub;
	const char		*words[2];
	size_t			 nwords = 0;
	int			 first, second;

	/* The command's first word, read with nwd's own options. */
	if ((first = next_word(commands_nwd.family, argc, argv, 0)) == -2)
		goto nomem;
	if (first > 0) {
		words[0] = argv[first];
		if ((sub = commands_find(words, 1)) != NULL) {
			cmd = sub;
			nwords = 1;
		}
	}
	/* A group's subcommand: the next word, read with the group's
	 * options; without options, the very next argument. */
	if (nwords == 1 && commands_is_group(cmd)) {
		if (cmd->opts == NULL)
			second = first + 1 < argc ? first + 1 : -1;
		else if ((second = next_word(cmd->family, argc, argv,
		    first)) == -2)
			goto nomem;
		if (second > 0) {
			words[1] = argv[second];
			if ((sub = commands_find(words, 2)) != cmd) {
				cmd = sub;
				nwords = 2;
			}
		}
	}
	return run(cmd, words, nwords, argc, argv, first);
 nomem:
	cli_say("arguments", "out of memory");
	return CLI_EXIT_PROTOCOL;
}
