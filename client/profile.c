/*
 * profile: named connection profiles.  See profile.h for the format and
 * the contracts.
 */

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"

#define PROFILE_MAX_LINE	4096

const char *
profile_path(char *buf, size_t len)
{
	const char *v;

	if ((v = getenv("NWD_PROFILES")) != NULL && v[0] != '\0')
		snprintf(buf, len, "%s", v);
	else if ((v = getenv("XDG_CONFIG_HOME")) != NULL && v[0] != '\0')
		snprintf(buf, len, "%s/nwd/profiles", v);
	else
		snprintf(buf, len, "%s/.config/nwd/profiles",
		    (v = getenv("HOME")) != NULL ? v : "");
	return buf;
}

void
profile_clear(struct profile *p)
{
	free(p->server);
	free(p->cert);
	free(p->key);
	free(p->ca);
	free(p->crl);
	memset(p, 0, sizeof(*p));
}

static int
bad(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
good_name(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' &&
		    *s != '.')
			return 0;
	return 1;
}

/* s without leading and trailing blanks, in place. */
static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
	    e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* A path of the file: as it is if absolute, else beside the file. */
static char *
resolve(const char *file, const char *value)
{
	const char	*slash;
	char		*out;

	if (value[0] == '/' || (slash = strrchr(file, '/')) == NULL)
		return strdup(value);
	if (asprintf(&out, "%.*s/%s", (int)(slash - file), file, value) == -1)
		return NULL;
	return out;
}

int
profile_seconds(const char *s, int *ms)
{
	char	*end;
	double	 d;

	errno = 0;
	d = strtod(s, &end);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || !(d > 0) ||
	    d * 1000 > INT_MAX)
		return -1;
	*ms = d * 1000 < 1 ? 1 : (int)(d * 1000);
	return 0;
}

int
profile_load(const char *path, const char *name, struct profile *p,
    int *line_error, char *err, size_t errlen)
{
	FILE		*f;
	char		 buf[PROFILE_MAX_LINE + 2], *s, *eq, *key, *value, *hash;
	static const char *const keys[] = { "server", "cert", "key", "ca",
	    "crl", "timeout", NULL };
	char		 names[512], section[256], *sections = NULL, *copy;
	size_t		 lineno = 0, off = 0, nsec = 0, slen = 0, k;
	unsigned	 seen = 0;
	int		 in = 0, found = 0, r = -1, ms = 0;

	memset(p, 0, sizeof(*p));
	*line_error = 0;
	names[0] = '\0';
	if ((f = fopen(path, "r")) == NULL)
		return bad(err, errlen, "cannot read the profiles file %s: %s",
		    path, strerror(errno));
	while (fgets(buf, sizeof(buf), f) != NULL) {
		lineno++;
		if (strchr(buf, '\n') == NULL && !feof(f)) {
			bad(err, errlen, "%s:%zu: line longer than %d bytes",
			    path, lineno, PROFILE_MAX_LINE);
			goto line;
		}
		s = trim(buf);
		if (*s == '\0' || *s == '#')
			continue;
		if (*s == '[') {
			if (s[strlen(s) - 1] != ']') {
				bad(err, errlen, "%s:%zu: a section is [NAME]",
				    path, lineno);
				goto line;
			}
			s[strlen(s) - 1] = '\0';
			s = trim(s + 1);
			if (!good_name(s)) {
				bad(err, errlen, "%s:%zu: \"%s\" is not a "
				    "profile name (letters, digits, -, _, .)",
				    path, lineno, s);
				goto line;
			}
			/* Every name, NUL-separated, to find doubles. */
			for (off = 0; off < slen; off += strlen(sections +
			    off) + 1)
				if (strcmp(sections + off, s) == 0) {
					bad(err, errlen, "%s:%zu: profile [%s] "
					    "again", path, lineno, s);
					goto line;
				}
			if ((copy = realloc(sections, slen + strlen(s) +
			    1)) == NULL) {
				bad(err, errlen, "out of memory");
				goto out;
			}
			sections = copy;
			memcpy(sections + slen, s, strlen(s) + 1);
			slen += strlen(s) + 1;
			if (nsec++ < 16)
				snprintf(names + strlen(names),
				    sizeof(names) - strlen(names), "%s%s",
				    nsec > 1 ? ", " : "", s);
			in = strcmp(s, name) == 0;
			found |= in;
			seen = 0;
			snprintf(section, sizeof(section), "%s", s);
			continue;
		}
		if ((eq = strchr(s, '=')) == NULL) {
			bad(err, errlen, "%s:%zu: expected [NAME] or KEY = "
			    "VALUE", path, lineno);
			goto line;
		}
		*eq = '\0';
		key = trim(s);
		value = eq + 1;
		if ((hash = strstr(value, " #")) != NULL ||
		    (hash = strstr(value, "\t#")) != NULL)
			*hash = '\0';
		value = trim(value);
		if (nsec == 0) {
			bad(err, errlen, "%s:%zu: \"%s\" before any [NAME]",
			    path, lineno, key);
			goto line;
		}
		if (*value == '\0') {
			bad(err, errlen, "%s:%zu: %s has no value", path,
			    lineno, key);
			goto line;
		}
		for (k = 0; keys[k] != NULL && strcmp(keys[k], key) != 0; k++)
			;
		if (keys[k] == NULL) {
			bad(err, errlen, "%s:%zu: unknown key \"%s\" (server, "
			    "cert, key, ca, crl, timeout)", path, lineno, key);
			goto line;
		}
		if (seen & (1u << k)) {
			bad(err, errlen, "%s:%zu: %s again in [%s]", path,
			    lineno, key, section);
			goto line;
		}
		seen |= 1u << k;
		if (strcmp(key, "timeout") == 0 && profile_seconds(value, &ms) == -1) {
			bad(err, errlen, "%s:%zu: timeout \"%s\" is not a "
			    "positive number of seconds", path, lineno, value);
			goto line;
		}
		if (!in)
			continue;
		switch (k) {
		case 0:
			p->server = strdup(value);
			break;
		case 1:
			p->cert = resolve(path, value);
			break;
		case 2:
			p->key = resolve(path, value);
			break;
		case 3:
			p->ca = resolve(path, value);
			break;
		case 4:
			p->crl = resolve(path, value);
			break;
		default:
			p->timeout_ms = ms;
			continue;
		}
		if ((k == 0 && p->server == NULL) || (k == 1 && p->cert ==
		    NULL) || (k == 2 && p->key == NULL) || (k == 3 &&
		    p->ca == NULL) || (k == 4 && p->crl == NULL)) {
			bad(err, errlen, "out of memory");
			goto out;
		}
	}
	if (ferror(f)) {
		bad(err, errlen, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	if (!found) {
		bad(err, errlen, "no profile \"%s\" in %s (%s%s)", name, path,
		    nsec > 0 ? "profiles: " : "it has none",
		    nsec > 0 ? names : "");
		goto out;
	}
	r = 0;
	goto out;
 line:
	*line_error = 1;
 out:
	fclose(f);
	free(sections);
	if (r == -1)
		profile_clear(p);
	return r;
}
