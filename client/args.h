/*
 * args: the command line of every nwd command.
 *
 * A command lists its options in a table of struct args_opt: the long
 * name, the value it takes, where that value goes in the command's own
 * struct, and the option's line in the command's help.  args_parse() reads
 * the whole command line with one getopt_long() and fills the struct;
 * args_help() prints the options as the command's help lists them.
 *
 * Options may come before or after the command's words, in any order; "--"
 * ends them.  -h and --help are every command's: args_parse() notes them and
 * the caller prints the help.  A command is parsed together with the other
 * commands of its family (commands.h): an option of theirs is recognised,
 * its value checked as for them, and it is remembered but not stored, so
 * that the caller can say it is not an option of this command rather than
 * an unknown one.  An option that two commands of a family both have is
 * theirs alike: it takes a value in both or in neither.
 *
 * Every usage error is said as "nwd: WHAT: WHY" and a line "(see 'HELP')",
 * and is exit status 2 (CLI_EXIT_USAGE).
 */
#ifndef NWD_CLIENT_ARGS_H
#define NWD_CLIENT_ARGS_H

#include <stddef.h>
#include <stdio.h>

enum args_type {
	ARGS_END,		/* ends a table */
	ARGS_FLAG,		/* int: 1 if given */
	ARGS_STRING,		/* const char *: the last value given */
	ARGS_ONCE,		/* const char *: a second is refused (bad) */
	ARGS_LIST,		/* struct cli_strv: every value, in order */
	ARGS_NAMES,		/* struct cli_strv: each value split at
				   commas, as owned copies; an empty name is
				   bad */
	ARGS_VALUE,		/* convert() turns the value into the field */
	ARGS_STOP,		/* convert(NULL, NULL) acts and gives the
				   exit status; nothing after it is read */
	ARGS_DOC,		/* listed in the help, parsed by another
				   table */
	ARGS_TEXT,		/* help: a line or heading among the
				   options' lines, printed as it is */
	ARGS_INCLUDE,		/* table: its options, at off, listed */
	ARGS_INCLUDE_UNLISTED,	/* table: its options, at off, unlisted */
};

/* One entry of a command's option table. */
struct args_opt {
	const char	*name;		/* --NAME */
	enum args_type	 type;
	size_t		 off;		/* of its field in the command's
					   struct */
	const char	*arg;		/* the value's name in the help; NULL
					   for an option that takes none */
	const char	*help;		/* its line in the help (more lines
					   after newlines); NULL: unlisted */
	/* Why a value is refused: said after the quoted value (for
	 * ARGS_ONCE, alone). */
	const char	*bad;
	/*
	 * ARGS_VALUE: sets the field from value and returns 0, or returns
	 * -1 if value is not one it takes.  The field is a scalar (a
	 * mate's value is converted into scratch space to be checked).
	 */
	int		(*convert)(const char *value, void *field);
	const struct args_opt *table;	/* ARGS_INCLUDE* */
};

struct args_item;

/*
 * One command line.  The caller sets the first part; args_parse() fills
 * the rest, which args_free() frees.
 */
struct args {
	const char	 *name;		/* the command, naming its errors */
	const char	 *see;		/* the help usage errors point to */
	const char *const *words;	/* the command's words on the line */
	size_t		  nwords;
	void		 *opts;		/* the command's struct, zeroed */

	char		**argv;		/* the operands, after the words (the
					   strings are the command line's) */
	size_t		  argc;
	int		  help;		/* -h or --help was given */
	struct args_item *items;	/* every option known; ours first */
	size_t		  nitems;
};

/*
 * Parses argv[1..argc) into a->opts with the options of own, knowing those
 * of mates[0..nmates) as the other commands' of the family.  Returns -1 to
 * go on, or an exit status after saying why (or, for ARGS_STOP, what the
 * option said).  The strings stored point into argv.
 */
int	args_parse(struct args *a, int argc, char **argv,
	    const struct args_opt *own, const struct args_opt *const *mates,
	    size_t nmates);

/* Frees what args_parse() allocated, in a and in a->opts. */
void	args_free(struct args *a);

/* The first option given that is not the command's own (in the order of
 * the tables), or NULL. */
const char *args_foreign(const struct args *a);

/*
 * The options given, in the order of the tables: returns the name of the
 * first given at or after *i and moves *i past it, or NULL at the end.
 * Start with *i = 0.
 */
const char *args_next_given(const struct args *a, size_t *i);

/* Says "nwd: what: ..." and where the help is; returns CLI_EXIT_USAGE. */
int	args_usage(const struct args *a, const char *what, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));

/*
 * Finds the words of a command line: the indices in argv of its first
 * operands, at most max, into idx, reading the options of tables[0..n) as
 * args_parse() would.  Returns how many, or -1 if out of memory.
 */
int	args_words(int argc, char **argv, const struct args_opt *const *tables,
	    size_t ntables, int *idx, int max);

/*
 * Prints the listed options of t, one "  --NAME ARG  help" each with the
 * help at column width + 4 (on the next line if NAME ARG is wider).
 */
void	args_help(FILE *f, const struct args_opt *t, int width);

/* 1 if t includes sub, listed or not. */
int	args_includes(const struct args_opt *t, const struct args_opt *sub);

#endif
