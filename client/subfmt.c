/*
 * subfmt: --pretty and --format for "nwd sub".  See subfmt.h for the
 * contracts.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json.h>

#include "cli.h"
#include "subfmt.h"

/* The fields of a delivery's JSON object (cmd_sub.c), and "created". */
static const char *const fields[] = {
	"delivery_id", "message_id", "sender", "agency", "kind", "subject",
	"nhs_number", "marking", "priority", "legal_basis", "justification",
	"supersedes", "references", "created_unix_ms", "created",
	"fields_withheld", "rule", "policy_version", "body", "decision",
	NULL,
};

/* One piece of a template: text, or a field (path). */
struct piece {
	char	*text;		/* owned: literal text, or NULL */
	char	*path;		/* owned: "kind", "body.location.town" */
};

struct subfmt {
	struct piece	*v;	/* owned */
	size_t		 n;
};

void
subfmt_free(struct subfmt *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++) {
		free(t->v[i].text);
		free(t->v[i].path);
	}
	free(t->v);
	free(t);
}

/* Appends a piece; takes text and path.  0, or -1 if out of memory. */
static int
add(struct subfmt *t, char *text, char *path)
{
	struct piece *v;

	if ((v = realloc(t->v, (t->n + 1) * sizeof(*v))) == NULL) {
		free(text);
		free(path);
		return -1;
	}
	t->v = v;
	t->v[t->n].text = text;
	t->v[t->n].path = path;
	t->n++;
	return 0;
}

static int
known(const char *path)
{
	size_t i;

	if (strncmp(path, "body.", 5) == 0)
		return path[5] != '\0' && path[strlen(path) - 1] != '.' &&
		    strstr(path, "..") == NULL;
	for (i = 0; fields[i] != NULL; i++)
		if (strcmp(fields[i], path) == 0)
			return 1;
	return 0;
}

struct subfmt *
subfmt_compile(const char *tmpl, char *err, size_t errlen)
{
	struct subfmt	*t;
	const char	*p, *close;
	char		*lit, *path;
	size_t		 n = 0;

	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (lit = malloc(strlen(tmpl) + 1)) == NULL) {
		free(t);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (p = tmpl; *p != '\0'; p++) {
		if (*p == '\\') {
			switch (p[1]) {
			case 'n':
				lit[n++] = '\n';
				break;
			case 't':
				lit[n++] = '\t';
				break;
			case '\\':
				lit[n++] = '\\';
				break;
			default:
				snprintf(err, errlen, "\"\\%.1s\" at %zu is no "
				    "escape (\\n, \\t or \\\\)", p + 1,
				    (size_t)(p - tmpl) + 1);
				goto fail;
			}
			p++;
			continue;
		}
		if (*p != '%') {
			lit[n++] = *p;
			continue;
		}
		if (p[1] == '%') {
			lit[n++] = '%';
			p++;
			continue;
		}
		if (p[1] != '{' || (close = strchr(p + 2, '}')) == NULL) {
			snprintf(err, errlen, "'%%' at %zu: write %%{FIELD}, "
			    "or %%%% for a %%", (size_t)(p - tmpl) + 1);
			goto fail;
		}
		if ((path = strndup(p + 2, (size_t)(close - p - 2))) == NULL)
			goto nomem;
		if (!known(path)) {
			snprintf(err, errlen, "no field \"%s\" (fields: "
			    "delivery_id, message_id, sender, agency, kind, "
			    "subject, nhs_number, marking, priority, "
			    "legal_basis, justification, supersedes, "
			    "references, created_unix_ms, created, "
			    "fields_withheld, rule, policy_version, body, "
			    "body.FIELD, decision)", path);
			free(path);
			goto fail;
		}
		if (n > 0) {
			lit[n] = '\0';
			if (add(t, strdup(lit), NULL) == -1 ||
			    t->v[t->n - 1].text == NULL) {
				free(path);
				goto nomem;
			}
			n = 0;
		}
		if (add(t, NULL, path) == -1)
			goto nomem;
		p = close;
	}
	if (n > 0) {
		lit[n] = '\0';
		if (add(t, strdup(lit), NULL) == -1 ||
		    t->v[t->n - 1].text == NULL)
			goto nomem;
	}
	free(lit);
	return t;
 nomem:
	snprintf(err, errlen, "out of memory");
 fail:
	free(lit);
	subfmt_free(t);
	return NULL;
}

/* Writes s, made safe for a terminal. */
static void
put_clean(FILE *f, const char *s)
{
	char	*buf;
	size_t	 len = strlen(s) + 1;

	if ((buf = malloc(len)) == NULL)
		return;
	fputs(cli_clean(s, buf, len), f);
	free(buf);
}

/* The value at path ("kind", "body.location.town") of d, or NULL. */
static json_object *
lookup(json_object *d, const char *path)
{
	json_object	*v = d;
	const char	*p = path, *dot;
	char		 key[256];
	size_t		 n;

	for (;;) {
		dot = strchr(p, '.');
		n = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof(key) || !json_object_is_type(v,
		    json_type_object))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		if (!json_object_object_get_ex(v, key, &v))
			return NULL;
		if (dot == NULL)
			return v;
		p = dot + 1;
	}
}

static void
put_value(FILE *f, json_object *d, const char *path)
{
	json_object	*v, *ms;
	char		 when[64];

	if (strcmp(path, "created") == 0) {
		if (json_object_object_get_ex(d, "created_unix_ms", &ms))
			fputs(cli_time(json_object_get_int64(ms), 1, when,
			    sizeof(when)), f);
		return;
	}
	if ((v = lookup(d, path)) == NULL)
		return;
	switch (json_object_get_type(v)) {
	case json_type_null:
		return;
	case json_type_string:
		put_clean(f, json_object_get_string(v));
		return;
	case json_type_object:
	case json_type_array:
		put_clean(f, json_object_to_json_string_ext(v,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		return;
	default:
		fputs(json_object_to_json_string(v), f);
		return;
	}
}

void
subfmt_print(FILE *f, const struct subfmt *t, json_object *d)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (t->v[i].text != NULL)
			fputs(t->v[i].text, f);
		else
			put_value(f, d, t->v[i].path);
	}
	fputc('\n', f);
}

/* ------------------------------------------------------------------------
 * --pretty
 */

#define C_BOLD		"\033[1m"
#define C_DIM		"\033[2m"
#define C_RED		"\033[1;31m"
#define C_YELLOW	"\033[33m"
#define C_CYAN		"\033[1;36m"
#define C_OFF		"\033[0m"

int
subfmt_want_colour(int fd)
{
	const char *nc = getenv("NO_COLOR");

	return isatty(fd) && (nc == NULL || nc[0] == '\0');
}

/* The string field key of d, or "" if it has none. */
static const char *
str(json_object *d, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(d, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

/* "  label value" if value is not empty, the label dim if colour. */
static void
labelled(FILE *f, int colour, const char *label, const char *value)
{
	if (value[0] == '\0')
		return;
	fprintf(f, "  %s%s%s ", colour ? C_DIM : "", label,
	    colour ? C_OFF : "");
	put_clean(f, value);
	fputc('\n', f);
}

void
subfmt_pretty(FILE *f, json_object *d, int colour)
{
	json_object	*v, *ms, *body;
	const char	*prio = str(d, "priority"), *pc = "", *s, *nl;
	char		 when[64], *line;
	size_t		 n;

	if (colour && strcmp(prio, "URGENT") == 0)
		pc = C_RED;
	else if (colour && strcmp(prio, "HIGH") == 0)
		pc = C_YELLOW;
	fputs(colour ? C_CYAN : "", f);
	put_clean(f, str(d, "kind"));
	fprintf(f, "%s about %s", colour ? C_OFF : "", colour ? C_BOLD : "");
	put_clean(f, str(d, "subject"));
	fprintf(f, "%s  %s", colour ? C_OFF : "", pc);
	put_clean(f, prio);
	fprintf(f, "%s  ", colour && pc[0] != '\0' ? C_OFF : "");
	put_clean(f, str(d, "marking"));
	fputc('\n', f);

	when[0] = '\0';
	if (json_object_object_get_ex(d, "created_unix_ms", &ms))
		cli_time(json_object_get_int64(ms), 1, when, sizeof(when));
	fprintf(f, "  %sfrom%s ", colour ? C_DIM : "", colour ? C_OFF : "");
	put_clean(f, str(d, "sender"));
	fputs(" (", f);
	put_clean(f, str(d, "agency"));
	fprintf(f, ") %sat%s %s\n", colour ? C_DIM : "", colour ? C_OFF : "",
	    when);
	labelled(f, colour, "nhs number", str(d, "nhs_number"));
	labelled(f, colour, "legal basis", str(d, "legal_basis"));
	labelled(f, colour, "justification", str(d, "justification"));
	labelled(f, colour, "supersedes", str(d, "supersedes"));
	labelled(f, colour, "references", str(d, "references"));
	labelled(f, colour, "message", str(d, "message_id"));
	if (json_object_object_get_ex(d, "delivery_id", &v))
		labelled(f, colour, "delivery", json_object_to_json_string(v));
	labelled(f, colour, "rule", str(d, "rule"));
	labelled(f, colour, "policy", str(d, "policy_version"));
	if (json_object_object_get_ex(d, "fields_withheld", &v) &&
	    json_object_array_length(v) > 0)
		labelled(f, colour, "withheld", json_object_to_json_string_ext(
		    v, JSON_C_TO_STRING_PLAIN));
	labelled(f, colour, "decision", str(d, "decision"));
	if (json_object_object_get_ex(d, "body", &body) &&
	    json_object_is_type(body, json_type_object) &&
	    json_object_object_length(body) > 0) {
		fprintf(f, "  %sbody%s\n", colour ? C_DIM : "",
		    colour ? C_OFF : "");
		s = json_object_to_json_string_ext(body,
		    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
		    JSON_C_TO_STRING_NOSLASHESCAPE);
		for (; s != NULL && *s != '\0'; s = nl + (*nl != '\0')) {
			if ((nl = strchr(s, '\n')) == NULL)
				nl = s + strlen(s);
			n = (size_t)(nl - s);
			if ((line = strndup(s, n)) == NULL)
				break;
			fputs("    ", f);
			put_clean(f, line);
			fputc('\n', f);
			free(line);
		}
	}
	fputc('\n', f);
}
