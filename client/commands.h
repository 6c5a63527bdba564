/*
 * commands: the table of nwd's commands and subcommands, as smtpctl has
 * one: every command is one struct cmd, defined in its own file
 * (client/cmd_NAME.c) and named once in commands.c's table, which main()
 * dispatches through and every help is printed from.
 *
 * A command's name is one word ("push") or two ("audit query"); the entry
 * named by the first word alone is then the group ("audit"), run when the
 * second word names none of its subcommands.  Adding a command is one file
 * that defines its struct cmd, and one line of the table (with its
 * declaration below and its file in Makefile.am).
 */
#ifndef NWD_CLIENT_COMMANDS_H
#define NWD_CLIENT_COMMANDS_H

#include <stddef.h>
#include <stdio.h>

#include "args.h"

/*
 * Commands whose options are read together (args.h): given to the wrong
 * one of them, an option is still checked, then refused as not being one
 * of its options rather than as unknown.
 */
enum cmd_family {
	CMD_FAMILY_NWD,		/* nwd itself, whoami, push, sub, ping,
				   status, durable list, durable delete,
				   help */
	CMD_FAMILY_POLICY,	/* policy explain, policy check */
	CMD_FAMILY_AUDIT,	/* audit query, sar */
	CMD_FAMILY_VERIFY,	/* audit verify */
};

struct cmd {
	const char		*name;		/* "push", "audit query" */
	/*
	 * Runs the command on a command line that args_parse() has read
	 * (for a command without opts: a->argv holds what follows its
	 * words, unread).  Returns the exit status.  NULL for a group
	 * without opts that only lists its subcommands.
	 */
	int			(*run)(struct args *a);
	/* NULL: run reads what follows its words itself. */
	const struct args_opt	*opts;
	size_t			 optsize;	/* of the struct opts fill, or 0 */
	enum cmd_family		 family;
	const char		*see;		/* the help usage errors name */
	/* After "nwd "; NULL for a group: its subcommands' are. */
	const char		*synopsis;
	/* Before the options; NULL: the group's help is the command's. */
	const char		*help;
	const char		*more;		/* after the options, or NULL */
	int			 width;		/* of the options' column */
	int			 kinds;		/* 1: help names the kinds */
};

/* The commands, in the order "nwd --help" lists them; NULL ends it. */
extern const struct cmd *const commands[];

/* nwd itself, with no command or an unknown one: the global options. */
extern const struct cmd commands_nwd;

/*
 * The command named by words[0] (and words[1], if n is 2 and it names a
 * subcommand of words[0]), or NULL.
 */
const struct cmd *commands_find(const char *const *words, size_t n);

/* The names of the commands (not of subcommands), "whoami, push, ...",
 * into buf, which it returns. */
const char *commands_names(char *buf, size_t len);

/* The group of cmd ("audit" of "audit query"), or NULL if cmd is not a
 * subcommand. */
const struct cmd *commands_group(const struct cmd *cmd);

/* 1 if cmd has subcommands. */
int	commands_is_group(const struct cmd *cmd);

/* "usage: nwd SYNOPSIS" and the rest of cmd's help (its group's if it has
 * none of its own), to f. */
void	commands_help(FILE *f, const struct cmd *cmd);

/* cmd's synopsis, a group's being its subcommands', one per line after
 * the first indented "  nwd ", into buf. */
const char *commands_synopsis(const struct cmd *cmd, char *buf, size_t len);

/* The commands, defined one per file. */
extern const struct cmd cmd_whoami, cmd_push, cmd_sub, cmd_ping, cmd_status;
extern const struct cmd cmd_durable, cmd_durable_list, cmd_durable_delete;
extern const struct cmd cmd_policy, cmd_policy_explain, cmd_policy_check;
extern const struct cmd cmd_audit, cmd_verify, cmd_audit_query;
extern const struct cmd cmd_sar, cmd_overdue, cmd_help;
extern const struct cmd cmd_kinds, cmd_template;
extern const struct cmd cmd_breakglass, cmd_review, cmd_review_list,
    cmd_review_show, cmd_review_close;
extern const struct cmd cmd_sarcase, cmd_sarcase_open, cmd_sarcase_check,
    cmd_sarcase_extend, cmd_sarcase_approve, cmd_sarcase_release,
    cmd_sarcase_show, cmd_sarcase_list;

#endif
