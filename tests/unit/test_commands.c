/*
 * Unit tests for the table of nwd's commands (client/commands.c) and what
 * is made from it, walking the table (issue 21):
 *
 * - "nwd help WORDS" and "nwd WORDS --help" run, exit 0 and print the
 *   command's help (commands_help()) for every command and subcommand,
 *   and nwd's own usage for "nwd --help", "nwd help" and "nwd help
 *   --help";
 * - each help names every option the command accepts: its own (but the
 *   few left out of the help on purpose, help NULL: --claim-sender), and
 *   those its table includes, listed or named in a line of text;
 * - the bash completion (client/completion/nwd), run by bash against the
 *   built nwd, offers every command, every subcommand of a group, and
 *   every option that a command's help lists.
 *
 * Runs the built client/nwd (NWD_BUILDDIR) and bash.
 */
#include <sys/wait.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "args.h"
#include "commands.h"

static const char *
dir_env(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : fallback;
}

/* Runs the shell command cmd; its stdout into a new string (*out), its
 * exit status returned. */
static int
run(const char *cmd, char **out)
{
	FILE	*p;
	char	*buf = NULL;
	size_t	 len = 0, cap = 0, r;
	int	 st;

	fflush(NULL);
	if ((p = popen(cmd, "r")) == NULL)
		fail_msg("popen %s", cmd);
	do {
		if (len + 4096 > cap) {
			cap = cap * 2 + 8192;
			assert_non_null(buf = realloc(buf, cap));
		}
		r = fread(buf + len, 1, cap - len - 1, p);
		len += r;
	} while (r > 0);
	buf[len] = '\0';
	st = pclose(p);
	*out = buf;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* cmd's help as commands_help() prints it, in a new string. */
static char *
help_of(const struct cmd *cmd)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f;

	assert_non_null(f = open_memstream(&buf, &len));
	commands_help(f, cmd);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* 1 if text names --name (not as the start of a longer option). */
static int
names(const char *text, const char *name)
{
	const char	*p = text;
	char		 opt[128];
	size_t		 n;

	snprintf(opt, sizeof(opt), "--%s", name);
	n = strlen(opt);
	while ((p = strstr(p, opt)) != NULL) {
		if (p[n] != '-' && (p[n] < 'a' || p[n] > 'z'))
			return 1;
		p += n;
	}
	return 0;
}

/* Fails unless help names every option of t (hidden ones of the command's
 * own table excepted). */
static void
check_options(const char *what, const char *help, const struct args_opt *t,
    int top)
{
	for (; t->type != ARGS_END; t++) {
		switch (t->type) {
		case ARGS_TEXT:
			continue;
		case ARGS_INCLUDE:
		case ARGS_INCLUDE_UNLISTED:
			check_options(what, help, t->table, 0);
			continue;
		default:
			break;
		}
		if (top && t->help == NULL)
			continue;
		if (!names(help, t->name))
			fail_msg("the help of '%s' does not name --%s:\n%s",
			    what, t->name, help);
	}
}

static void
test_every_help(void **state)
{
	const struct cmd *const	*c;
	const char		*nwd;
	char			 cmd[4096], *want, *got;

	(void)state;
	nwd = dir_env("NWD_BUILDDIR", NWD_BUILDDIR);
	want = help_of(&commands_nwd);
	snprintf(cmd, sizeof(cmd), "%s/client/nwd --help", nwd);
	assert_int_equal(run(cmd, &got), 0);
	assert_string_equal(got, want);
	free(got);
	snprintf(cmd, sizeof(cmd), "%s/client/nwd help", nwd);
	assert_int_equal(run(cmd, &got), 0);
	assert_string_equal(got, want);
	free(got);
	check_options("nwd", want, commands_nwd.opts, 1);
	free(want);

	for (c = commands; *c != NULL; c++) {
		want = help_of(*c);
		assert_non_null(strstr(want, "usage: nwd "));
		snprintf(cmd, sizeof(cmd), "%s/client/nwd help %s", nwd,
		    (*c)->name);
		if (run(cmd, &got) != 0)
			fail_msg("%s: not exit 0", cmd);
		if (strcmp(got, want) != 0)
			fail_msg("%s printed:\n%s\nnot:\n%s", cmd, got, want);
		free(got);
		snprintf(cmd, sizeof(cmd), "%s/client/nwd %s --help", nwd,
		    (*c)->name);
		if (run(cmd, &got) != 0)
			fail_msg("%s: not exit 0", cmd);
		/* "nwd help --help" is nwd's usage, as "nwd help" is. */
		if (*c == &cmd_help) {
			free(want);
			want = help_of(&commands_nwd);
		}
		if (strcmp(got, want) != 0)
			fail_msg("%s printed:\n%s\nnot:\n%s", cmd, got, want);
		free(got);
		free(want);
		want = help_of(*c);
		if ((*c)->opts != NULL)
			check_options((*c)->name, want, (*c)->opts, 1);
		free(want);
	}
}

/* What the completion offers after "nwd WORDS" with cur the word being
 * completed, one a line, in a new string. */
static char *
complete(const char *words, const char *cur)
{
	char	 cmd[8192], *out;

	snprintf(cmd, sizeof(cmd), "PATH='%s/client':\"$PATH\" bash -c '"
	    "source \"$0\"; COMP_WORDS=(nwd %s \"$1\"); "
	    "COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _nwd; "
	    "printf \"%%s\\n\" \"${COMPREPLY[@]}\"' "
	    "'%s/client/completion/nwd' '%s' </dev/null",
	    dir_env("NWD_BUILDDIR", NWD_BUILDDIR), words,
	    dir_env("NWD_SRCDIR", NWD_SRCDIR), cur);
	if (run(cmd, &out) != 0)
		fail_msg("%s: not exit 0", cmd);
	return out;
}

/* Fails unless the lines of offered include word. */
static void
offers(const char *offered, const char *word, const char *after)
{
	const char	*p = offered;
	size_t		 n = strlen(word);

	while ((p = strstr(p, word)) != NULL) {
		if ((p == offered || p[-1] == '\n') && p[n] == '\n')
			return;
		p += n;
	}
	fail_msg("the completion of 'nwd %s' lacks %s; it offers:\n%s", after,
	    word, offered);
}

/* Fails unless every listed option of t is offered. */
static void
offers_options(const char *offered, const struct args_opt *t,
    const char *after)
{
	char opt[128];

	for (; t->type != ARGS_END; t++) {
		if (t->type == ARGS_INCLUDE) {
			offers_options(offered, t->table, after);
			continue;
		}
		if (t->type == ARGS_TEXT || t->type == ARGS_INCLUDE_UNLISTED ||
		    t->help == NULL)
			continue;
		snprintf(opt, sizeof(opt), "--%s", t->name);
		offers(offered, opt, after);
	}
}

static void
test_completion(void **state)
{
	const struct cmd *const	*c;
	const struct cmd	*group;
	char			*top, *subs, *opts, first[128];
	const char		*sp;

	(void)state;
	top = complete("", "");
	opts = complete("", "--");
	offers_options(opts, commands_nwd.opts, "--");
	free(opts);
	for (c = commands; *c != NULL; c++) {
		sp = strchr((*c)->name, ' ');
		snprintf(first, sizeof(first), "%.*s", sp != NULL ?
		    (int)(sp - (*c)->name) : (int)strlen((*c)->name),
		    (*c)->name);
		offers(top, first, "");
		if ((group = commands_group(*c)) != NULL) {
			subs = complete(group->name, "");
			offers(subs, sp + 1, group->name);
			free(subs);
		}
		if ((*c)->opts == NULL)
			continue;
		opts = complete((*c)->name, "--");
		offers_options(opts, (*c)->opts, (*c)->name);
		free(opts);
	}
	free(top);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_help),
		cmocka_unit_test(test_completion),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
