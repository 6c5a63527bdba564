/*
 * cmd_kinds: "nwd kinds", every message kind with its one-line
 * description, and "nwd template KIND", the JSON skeleton of a kind's body
 * (or, with --types, of its fields' types), both from the descriptors
 * (schema.c).
 */

#include <stddef.h>
#include <stdio.h>

#include <json.h>

#include "cli.h"
#include "commands.h"
#include "envelope.h"
#include "schema.h"

struct template {
	int	types;
};

/* Its operands are all it reads. */
static const struct args_opt kinds_opts[] = {
	{ .type = ARGS_END },
};

static const struct args_opt template_opts[] = {
	{ .name = "types", .type = ARGS_FLAG,
	  .off = offsetof(struct template, types),
	  .help = "each field's type instead of a placeholder: \"int64\",\n"
	    "\"enum Level: LOW | MEDIUM | HIGH\"" },
	{ .type = ARGS_END },
};

static int
kinds_run(struct args *a)
{
	const char	*name;
	int		 k;

	if (a->argc != 0)
		return args_usage(a, a->name, "usage: nwd %s",
		    cmd_kinds.synopsis);
	for (k = 1; (name = envelope_kind_name(k)) != NULL; k++)
		printf("%-28s %s\n", name, schema_kind_description(k));
	return cli_flush() == 0 ? 0 : CLI_EXIT_PROTOCOL;
}

const struct cmd cmd_kinds = {
	.name = "kinds",
	.run = kinds_run,
	.opts = kinds_opts,
	.family = CMD_FAMILY_NWD,
	.see = "nwd --help",
	.synopsis = "kinds",
	.help = "Lists every message kind, one a line: its name (as push, sub "
	    "and template\ntake it, in any case) and what it carries.  Kinds "
	    "made by the broker alone\ncannot be pushed.\n",
};

static int
template_run(struct args *a)
{
	const struct template	*o = a->opts;
	Nwd__V1__Kind		 kind;
	json_object		*j;
	const char		*s;

	if (a->argc != 1)
		return args_usage(a, a->name, "usage: nwd %s",
		    cmd_template.synopsis);
	if (schema_kind_from_name(a->argv[0], &kind) == -1)
		return args_usage(a, a->name, "unknown kind \"%s\" (one of "
		    "%s)", a->argv[0], cli_kinds());
	if ((j = schema_template(envelope_kind_body_descriptor(kind),
	    o->types)) == NULL) {
		cli_say("template", "out of memory");
		return CLI_EXIT_PROTOCOL;
	}
	s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	printf("%s\n", s != NULL ? s : "{}");
	json_object_put(j);
	return cli_flush() == 0 ? 0 : CLI_EXIT_PROTOCOL;
}

const struct cmd cmd_template = {
	.name = "template",
	.run = template_run,
	.opts = template_opts,
	.optsize = sizeof(struct template),
	.family = CMD_FAMILY_NWD,
	.see = "nwd --help",
	.synopsis = "template [--types] KIND",
	.help = "Prints the JSON skeleton of a KIND's body, read from the "
	    "schema: every field,\nnested messages as objects, repeated fields "
	    "as an array of one element.\nEach value is a placeholder of the "
	    "field's type (\"\", 0, false, an enum's\nfirst value) that push "
	    "accepts as it is: fill it in, drop what you do not\nneed, and "
	    "give it to 'nwd push KIND FILE'.  With --types, each value is\n"
	    "the field's type instead, enums with their values.\n\n"
	    "Options:\n",
	.width = 20,
	.kinds = 1,
};
