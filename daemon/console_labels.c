/*
 * console_labels: the plain-language labels of kinds, roles, agencies and
 * reasons that the console shows (console_html.h).  Pure.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_html.h"
#include "utf8.h"

struct label {
	char	*key;		/* owned: "prefix.name" */
	char	*words;		/* owned */
};

struct console_labels {
	struct label	*v;	/* owned, sorted by key */
	size_t		 n, cap;
};

void
console_labels_free(struct console_labels *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].words);
	}
	free(l->v);
	free(l);
}

size_t
console_labels_count(const struct console_labels *l)
{
	return l != NULL ? l->n : 0;
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->key,
	    ((const struct label *)b)->key);
}

/* 1 if k is "prefix.name" as the header says. */
static int
key_ok(const char *k)
{
	const char	*dot = strchr(k, '.'), *p;

	if (dot == NULL || dot == k || dot[1] == '\0')
		return 0;
	for (p = k; p < dot; p++)
		if (!islower((unsigned char)*p) && *p != '_')
			return 0;
	for (p = dot + 1; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("_.:-", *p) == NULL)
			return 0;
	return 1;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

struct console_labels *
console_labels_parse(const char *text, size_t len, const char *name,
    char *err, size_t errlen)
{
	struct console_labels	*l;
	struct label		*nv;
	const char		*p = text, *end = text + len, *nl;
	char			 line[1024], *k, *w, *eq;
	size_t			 i, n;
	int			 lineno = 0;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	while (p < end) {
		lineno++;
		nl = memchr(p, '\n', end - p);
		n = (nl != NULL ? nl : end) - p;
		if (n >= sizeof(line)) {
			snprintf(err, errlen, "%s:%d: the line is too long",
			    name, lineno);
			goto bad;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl != NULL ? nl + 1 : end;
		if (memchr(line, '\0', n) != NULL || !utf8_valid_str(line,
		    NULL)) {
			snprintf(err, errlen, "%s:%d: not UTF-8 text", name,
			    lineno);
			goto bad;
		}
		k = trim(line);
		if (*k == '\0' || *k == '#')
			continue;
		if ((eq = strchr(k, '=')) == NULL) {
			snprintf(err, errlen, "%s:%d: expected \"key = words\"",
			    name, lineno);
			goto bad;
		}
		*eq = '\0';
		k = trim(k);
		w = trim(eq + 1);
		if (!key_ok(k)) {
			snprintf(err, errlen, "%s:%d: \"%.64s\" is not a key "
			    "(prefix.name, e.g. kind.risk_alert)", name,
			    lineno, k);
			goto bad;
		}
		if (*w == '\0' || strlen(w) > CONSOLE_LABEL_MAX ||
		    utf8_has_control(w)) {
			snprintf(err, errlen, "%s:%d: the words for %s are "
			    "empty, longer than %d bytes or hold control "
			    "characters", name, lineno, k, CONSOLE_LABEL_MAX);
			goto bad;
		}
		for (i = 0; i < l->n; i++)
			if (strcmp(l->v[i].key, k) == 0) {
				snprintf(err, errlen, "%s:%d: %s is given "
				    "twice", name, lineno, k);
				goto bad;
			}
		if (l->n == CONSOLE_LABELS_MAX) {
			snprintf(err, errlen, "%s:%d: more than %d labels",
			    name, lineno, CONSOLE_LABELS_MAX);
			goto bad;
		}
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 32;
			if ((nv = realloc(l->v, l->cap * sizeof(*nv))) == NULL)
				goto oom;
			l->v = nv;
		}
		l->v[l->n].key = strdup(k);
		l->v[l->n].words = strdup(w);
		l->n++;
		if (l->v[l->n - 1].key == NULL || l->v[l->n - 1].words == NULL)
			goto oom;
	}
	qsort(l->v, l->n, sizeof(*l->v), cmp);
	return l;
oom:
	snprintf(err, errlen, "%s: out of memory", name);
bad:
	console_labels_free(l);
	return NULL;
}

const char *
console_label(const struct console_labels *l, const char *prefix,
    const char *name)
{
	struct label	 want, *hit;
	char		 key[256];

	if (name == NULL)
		return "";
	if (l == NULL || l->n == 0 || snprintf(key, sizeof(key), "%s.%s",
	    prefix, name) >= (int)sizeof(key))
		return name;
	want.key = key;
	hit = bsearch(&want, l->v, l->n, sizeof(*l->v), cmp);
	return hit != NULL ? hit->words : name;
}
