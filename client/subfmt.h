/*
 * subfmt: how "nwd sub" prints a delivery other than as its JSON line:
 * --pretty, several lines for a person to read (coloured if asked), and
 * --format TEMPLATE, a line of the fields a template names, as
 * mosquitto_sub -F does.  Both read the delivery's JSON object (the line
 * "nwd sub" prints by default), so both know the same fields.
 *
 * A template is text with:
 *   %{FIELD}      a field of the delivery: delivery_id, message_id,
 *                 sender, agency, kind, subject, nhs_number, marking,
 *                 priority, legal_basis, justification, supersedes,
 *                 references, created_unix_ms, fields_withheld, rule,
 *                 policy_version, body, decision; "created" is
 *                 created_unix_ms as an ISO 8601 UTC time
 *   %{body.PATH}  a field of the body, nested fields joined by dots
 *                 (%{body.location.town})
 *   %%            a literal %
 *   \n \t \\      a newline, a tab, a backslash
 * A field that is not set prints as nothing; an object or an array as
 * compact JSON.  Text that came from others is printed with control
 * characters as '?' (cli_clean()).
 */
#ifndef NWD_CLIENT_SUBFMT_H
#define NWD_CLIENT_SUBFMT_H

#include <stddef.h>
#include <stdio.h>

struct json_object;
struct subfmt;

/*
 * Compiles a template.  Returns a new template for subfmt_free(), or NULL
 * with one sentence in err (an unknown field, an unclosed %{, a % or \ not
 * followed by what may follow it, out of memory).
 */
struct subfmt	*subfmt_compile(const char *tmpl, char *err, size_t errlen);

void		 subfmt_free(struct subfmt *t);

/* Prints delivery d (the JSON object of one delivery) as t says, and a
 * newline. */
void		 subfmt_print(FILE *f, const struct subfmt *t,
		    struct json_object *d);

/*
 * Prints delivery d on several lines, then a blank line: what, about
 * whom, how urgent and how marked; who sent it and when; its ids and the
 * rule that let it through; the fields withheld; the body as indented
 * JSON.  With colour, ANSI colours and bold mark them out.
 */
void		 subfmt_pretty(FILE *f, struct json_object *d, int colour);

/*
 * 1 if "nwd sub --pretty" should colour what it writes to fd: fd is a
 * terminal and NO_COLOR (https://no-color.org) is unset or empty.
 */
int		 subfmt_want_colour(int fd);

#endif
