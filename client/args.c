/*
 * args: the command line of every nwd command.  See args.h for the
 * contracts.
 *
 * getopt_long() runs in glibc's return-in-order mode ("-" in front of the
 * short options), so operands come back as they stand, between options, and
 * argv is never permuted; ":" makes a missing value its own answer.
 */

#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"

#define ARGS_VAL0	0x100	/* getopt value of the first item */

/* One option that the command line may give: the command's or a mate's. */
struct args_item {
	const struct args_opt	*opt;
	size_t			 off;	/* of its field in the command's
					   struct, includes added */
	int			 own;	/* 0: a mate's, checked, not stored */
	int			 given;
};

/* What a field may be, so that a mate's value is checked somewhere. */
union args_scratch {
	int		 i;
	long		 l;
	long long	 ll;
	int64_t		 i64;
	double		 d;
	const char	*s;
};

static int
parsed(const struct args_opt *o)
{
	return o->type >= ARGS_FLAG && o->type <= ARGS_STOP;
}

static int
items_find(const struct args_item *items, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(items[i].opt->name, name) == 0)
			return 1;
	return 0;
}

/* Appends the parsed options of t (at base) that are not known yet. */
static int
items_add(struct args_item **items, size_t *n, const struct args_opt *t,
    size_t base, int own)
{
	struct args_item	*v;
	const struct args_opt	*o;

	for (o = t; o->type != ARGS_END; o++) {
		if (o->type == ARGS_INCLUDE ||
		    o->type == ARGS_INCLUDE_UNLISTED) {
			if (items_add(items, n, o->table, base + o->off,
			    own) == -1)
				return -1;
			continue;
		}
		if (!parsed(o) || items_find(*items, *n, o->name))
			continue;
		if ((v = reallocarray(*items, *n + 1, sizeof(*v))) == NULL)
			return -1;
		*items = v;
		v[*n].opt = o;
		v[*n].off = base + o->off;
		v[*n].own = own;
		v[*n].given = 0;
		(*n)++;
	}
	return 0;
}

/* The getopt_long() table of items, with --help; NULL if out of memory. */
static struct option *
longopts(const struct args_item *items, size_t n)
{
	struct option	*lo;
	size_t		 i;

	if ((lo = calloc(n + 2, sizeof(*lo))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		lo[i].name = items[i].opt->name;
		lo[i].has_arg = items[i].opt->arg != NULL ? required_argument :
		    no_argument;
		lo[i].val = ARGS_VAL0 + (int)i;
	}
	lo[n].name = "help";
	lo[n].has_arg = no_argument;
	lo[n].val = 'h';
	return lo;
}

static int
nomem(void)
{
	cli_say("arguments", "out of memory");
	return CLI_EXIT_PROTOCOL;
}

int
args_usage(const struct args *a, const char *what, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vsay(what, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see '%s')\n", a->see);
	return CLI_EXIT_USAGE;
}

/* Checks a mate's value as the mate would, storing nothing. */
static int
check_only(const struct args *a, const struct args_opt *o, const char *what,
    const char *value)
{
	union args_scratch	scratch;
	struct cli_strv		names = { NULL, 0 };
	int			r;

	switch (o->type) {
	case ARGS_NAMES:
		r = cli_strv_split(&names, value);
		cli_strv_clear(&names, 1);
		break;
	case ARGS_VALUE:
		memset(&scratch, 0, sizeof(scratch));
		r = o->convert(value, &scratch);
		break;
	default:
		return -1;
	}
	return r == 0 ? -1 : args_usage(a, what, "\"%s\" %s", value, o->bad);
}

/* Takes one option.  Returns -1 to go on, or an exit status. */
static int
take(struct args *a, struct args_item *it, const char *value)
{
	const struct args_opt	*o = it->opt;
	void			*field = (char *)a->opts + it->off;
	char			 what[128];

	it->given = 1;
	snprintf(what, sizeof(what), "--%s", o->name);
	if (o->type == ARGS_STOP)
		return o->convert(NULL, NULL);
	if (!it->own)
		return o->type == ARGS_NAMES || o->type == ARGS_VALUE ?
		    check_only(a, o, what, value) : -1;
	switch (o->type) {
	case ARGS_FLAG:
		*(int *)field = 1;
		break;
	case ARGS_ONCE:
		if (*(const char **)field != NULL)
			return args_usage(a, what, "%s", o->bad);
		/* FALLTHROUGH */
	case ARGS_STRING:
		*(const char **)field = value;
		break;
	case ARGS_LIST:
		if (cli_strv_add(field, (char *)value) == -1)
			return nomem();
		break;
	case ARGS_NAMES:
		if (cli_strv_split(field, value) == -1)
			return args_usage(a, what, "\"%s\" %s", value, o->bad);
		break;
	case ARGS_VALUE:
		if (o->convert(value, field) == -1)
			return args_usage(a, what, "\"%s\" %s", value, o->bad);
		break;
	default:
		break;
	}
	return -1;
}

/* Removes the command's words from the operands, each the first of its
 * spelling after the one before. */
static void
drop_words(struct args *a)
{
	size_t w, i, from = 0;

	for (w = 0; w < a->nwords; w++) {
		for (i = from; i < a->argc; i++)
			if (strcmp(a->argv[i], a->words[w]) == 0)
				break;
		if (i == a->argc)
			continue;
		memmove(&a->argv[i], &a->argv[i + 1],
		    (a->argc - i - 1) * sizeof(*a->argv));
		a->argc--;
		from = i;
	}
}

static int
add_operand(struct args *a, char *s)
{
	char **v;

	if ((v = reallocarray(a->argv, a->argc + 1, sizeof(*v))) == NULL)
		return -1;
	a->argv = v;
	a->argv[a->argc++] = s;
	return 0;
}

int
args_parse(struct args *a, int argc, char **argv, const struct args_opt *own,
    const struct args_opt *const *mates, size_t nmates)
{
	struct option	*lo = NULL;
	size_t		 i;
	int		 c, code = -1;

	if (items_add(&a->items, &a->nitems, own, 0, 1) == -1)
		return nomem();
	for (i = 0; i < nmates; i++)
		if (items_add(&a->items, &a->nitems, mates[i], 0, 0) == -1)
			return nomem();
	if ((lo = longopts(a->items, a->nitems)) == NULL)
		return nomem();

	opterr = 0;
	optind = 0;	/* glibc: start afresh, whatever read argv before */
	while (code == -1 && (c = getopt_long(argc, argv, "-:h", lo,
	    NULL)) != -1) {
		switch (c) {
		case 1:
			if (add_operand(a, optarg) == -1)
				code = nomem();
			break;
		case 'h':
			a->help = 1;
			break;
		case ':':
			code = args_usage(a, argv[optind - 1], "needs a value");
			break;
		case '?':
			code = args_usage(a, argv[optind - 1] != NULL ?
			    argv[optind - 1] : "?", "unknown option");
			break;
		default:
			code = take(a, &a->items[c - ARGS_VAL0], optarg);
			break;
		}
	}
	/* After "--": operands all. */
	for (; code == -1 && optind < argc; optind++)
		if (add_operand(a, argv[optind]) == -1)
			code = nomem();
	free(lo);
	if (code == -1)
		drop_words(a);
	return code;
}

void
args_free(struct args *a)
{
	const struct args_item	*it;
	size_t			 i;

	for (i = 0; i < a->nitems; i++) {
		it = &a->items[i];
		if (it->own && (it->opt->type == ARGS_LIST ||
		    it->opt->type == ARGS_NAMES))
			cli_strv_clear((struct cli_strv *)((char *)a->opts +
			    it->off), it->opt->type == ARGS_NAMES);
	}
	free(a->items);
	free(a->argv);
	a->items = NULL;
	a->nitems = 0;
	a->argv = NULL;
	a->argc = 0;
}

const char *
args_foreign(const struct args *a)
{
	size_t i;

	for (i = 0; i < a->nitems; i++)
		if (a->items[i].given && !a->items[i].own)
			return a->items[i].opt->name;
	return NULL;
}

const char *
args_next_given(const struct args *a, size_t *i)
{
	for (; *i < a->nitems; (*i)++)
		if (a->items[*i].given)
			return a->items[(*i)++].opt->name;
	return NULL;
}

int
args_words(int argc, char **argv, const struct args_opt *const *tables,
    size_t ntables, int *idx, int max)
{
	struct args_item	*items = NULL;
	struct option		*lo = NULL;
	size_t			 nitems = 0, i;
	int			 c = -1, n = 0;

	for (i = 0; i < ntables; i++)
		if (items_add(&items, &nitems, tables[i], 0, 0) == -1)
			goto fail;
	if ((lo = longopts(items, nitems)) == NULL)
		goto fail;
	opterr = 0;
	optind = 0;
	while (n < max && (c = getopt_long(argc, argv, "-:h", lo,
	    NULL)) != -1)
		if (c == 1)
			idx[n++] = optind - 1;
	if (n < max && c == -1)
		for (; n < max && optind < argc; optind++)
			idx[n++] = optind;
	free(lo);
	free(items);
	return n;
 fail:
	free(items);
	return -1;
}

/* ------------------------------------------------------------------------
 * The help
 */

/* text, its later lines indented by indent columns. */
static void
help_lines(FILE *f, const char *text, int indent)
{
	const char *p, *nl;

	for (p = text; (nl = strchr(p, '\n')) != NULL; p = nl + 1)
		fprintf(f, "%.*s\n%*s", (int)(nl - p), p, indent, "");
	fprintf(f, "%s\n", p);
}

void
args_help(FILE *f, const struct args_opt *t, int width)
{
	const struct args_opt	*o;
	char			 left[128];

	for (o = t; o->type != ARGS_END; o++) {
		if (o->type == ARGS_TEXT) {
			fputs(o->help, f);
			continue;
		}
		if (o->type == ARGS_INCLUDE) {
			args_help(f, o->table, width);
			continue;
		}
		if (o->type == ARGS_INCLUDE_UNLISTED || o->help == NULL)
			continue;
		/* The parser's own --help is -h too. */
		snprintf(left, sizeof(left), "%s--%s%s%s",
		    strcmp(o->name, "help") == 0 ? "-h, " : "", o->name,
		    o->arg != NULL ? " " : "", o->arg != NULL ? o->arg : "");
		if ((int)strlen(left) <= width)
			fprintf(f, "  %-*s  ", width, left);
		else
			fprintf(f, "  %s\n%*s", left, width + 4, "");
		help_lines(f, o->help, width + 4);
	}
}

int
args_includes(const struct args_opt *t, const struct args_opt *sub)
{
	const struct args_opt *o;

	for (o = t; o->type != ARGS_END; o++)
		if ((o->type == ARGS_INCLUDE ||
		    o->type == ARGS_INCLUDE_UNLISTED) &&
		    (o->table == sub || args_includes(o->table, sub)))
			return 1;
	return 0;
}
