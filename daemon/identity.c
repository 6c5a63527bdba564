#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "envelope.h"
#include "identity.h"
#include "utf8.h"

#define IDENTITY_MAX_BYTES	(4 * 1024 * 1024)
#define IDENTITY_MAX_FIELD	256

struct identity_map {
	struct principal *v;	/* owned array of n principals */
	size_t		  n;
	char		  version[IDENTITY_VERSION_LEN];
};

static void
principal_clear(struct principal *p)
{
	size_t i;

	free(p->identity);
	free(p->id);
	free(p->role);
	free(p->agency);
	for (i = 0; i < p->nteams; i++)
		free(p->teams[i]);
	free(p->teams);
	memset(p, 0, sizeof(*p));
}

void
principal_free(struct principal *p)
{
	if (p == NULL)
		return;
	principal_clear(p);
	free(p);
}

struct principal *
principal_dup(const struct principal *p)
{
	struct principal	*c;
	size_t			 i;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->clearance = p->clearance;
	if ((c->identity = strdup(p->identity)) == NULL ||
	    (c->id = strdup(p->id)) == NULL ||
	    (c->role = strdup(p->role)) == NULL ||
	    (c->agency = strdup(p->agency)) == NULL)
		goto bad;
	if (p->nteams > 0 &&
	    (c->teams = calloc(p->nteams, sizeof(char *))) == NULL)
		goto bad;
	for (i = 0; i < p->nteams; i++) {
		if ((c->teams[i] = strdup(p->teams[i])) == NULL)
			goto bad;
		c->nteams++;
	}
	return c;
bad:
	principal_free(c);
	return NULL;
}

int
principal_in_team(const struct principal *p, const char *team)
{
	size_t i;

	if (strcmp(p->id, team) == 0)
		return 1;
	for (i = 0; i < p->nteams; i++)
		if (strcmp(p->teams[i], team) == 0)
			return 1;
	return 0;
}

void
identity_free(struct identity_map *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++)
		principal_clear(&m->v[i]);
	free(m->v);
	free(m);
}

static int
fail(char *err, size_t errlen, const char *name, int line, int col,
    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int
fail(char *err, size_t errlen, const char *name, int line, int col,
    const char *fmt, ...)
{
	va_list	ap;
	int	n;

	n = snprintf(err, errlen, "%s:%d:%d: ", name, line, col);
	if (n < 0 || (size_t)n >= errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

static int
word_ok(const char *w)
{
	for (; *w != '\0'; w++)
		if (!isgraph((unsigned char)*w) || *w == ',')
			return 0;
	return 1;
}

static int
parse_teams(struct principal *p, char *w)
{
	char *t, *save = NULL;

	if (strcmp(w, "-") == 0)
		return 0;
	for (t = strtok_r(w, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		if (p->nteams == IDENTITY_MAX_TEAMS)
			return -1;
		if (p->teams == NULL && (p->teams = calloc(IDENTITY_MAX_TEAMS,
		    sizeof(char *))) == NULL)
			return -1;
		if ((p->teams[p->nteams] = strdup(t)) == NULL)
			return -1;
		p->nteams++;
	}
	return 0;
}

struct identity_map *
identity_parse(const char *text, size_t len, const char *name, char *err,
    size_t errlen)
{
	static const char *cols[] = { "identity", "principal", "role",
	    "agency", "teams", "clearance" };
	struct identity_map	*m;
	struct principal	 p;
	const char		*line, *end, *s;
	char			 w[6][IDENTITY_MAX_FIELD + 1];
	int			 wcol[6];
	size_t			 nw, wl, i;
	int			 lineno = 0;
	Nwd__V1__Marking	 mk;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	{
		char hex[DIGEST_HEX_LEN + 1];

		digest_sha256_hex(text, len, hex);
		snprintf(m->version, sizeof(m->version), "sha256:%.16s", hex);
	}
	memset(&p, 0, sizeof(p));
	if (!utf8_text_valid(text, len, &lineno, &wcol[0])) {
		fail(err, errlen, name, lineno, wcol[0], "not valid UTF-8");
		goto bad;
	}
	lineno = 0;
	for (line = text; line < text + len; line = end + 1) {
		lineno++;
		if ((end = memchr(line, '\n', text + len - line)) == NULL)
			end = text + len;
		nw = 0;
		for (s = line; s < end && *s != '#';) {
			if (isspace((unsigned char)*s)) {
				s++;
				continue;
			}
			if (*s == '\0' || !isprint((unsigned char)*s)) {
				fail(err, errlen, name, lineno,
				    (int)(s - line) + 1, "control character "
				    "or non-ASCII byte");
				goto bad;
			}
			if (nw == 6) {
				fail(err, errlen, name, lineno,
				    (int)(s - line) + 1, "extra column after "
				    "clearance");
				goto bad;
			}
			wcol[nw] = (int)(s - line) + 1;
			for (wl = 0; s < end && !isspace((unsigned char)*s) &&
			    *s != '#'; s++, wl++) {
				if (!isprint((unsigned char)*s)) {
					fail(err, errlen, name, lineno,
					    (int)(s - line) + 1, "control "
					    "character or non-ASCII byte");
					goto bad;
				}
				if (wl == IDENTITY_MAX_FIELD) {
					fail(err, errlen, name, lineno,
					    wcol[nw], "%s is longer than %d "
					    "bytes", cols[nw],
					    IDENTITY_MAX_FIELD);
					goto bad;
				}
				w[nw][wl] = *s;
			}
			w[nw++][wl] = '\0';
		}
		if (nw == 0)
			continue;
		if (nw < 6) {
			fail(err, errlen, name, lineno,
			    (int)(end - line) + 1, "expected %s column; a "
			    "line needs identity, principal, role, agency, "
			    "teams ('-' for none) and clearance", cols[nw]);
			goto bad;
		}
		for (i = 0; i < 5; i++) {
			if (i != 4 && !word_ok(w[i])) {
				fail(err, errlen, name, lineno, wcol[i],
				    "%s must not contain a comma", cols[i]);
				goto bad;
			}
		}
		if (envelope_marking_from_name(w[5], &mk) == -1 ||
		    mk > NWD__V1__MARKING__OFFICIAL_SENSITIVE) {
			fail(err, errlen, name, lineno, wcol[5], "clearance "
			    "must be OFFICIAL or OFFICIAL_SENSITIVE, not "
			    "\"%s\"", w[5]);
			goto bad;
		}
		if (identity_lookup(m, w[0]) != NULL) {
			fail(err, errlen, name, lineno, wcol[0], "identity "
			    "\"%s\" is mapped twice; an identity must name "
			    "one principal", w[0]);
			goto bad;
		}
		if (identity_find_id(m, w[1]) != NULL) {
			fail(err, errlen, name, lineno, wcol[1], "principal "
			    "\"%s\" is defined twice", w[1]);
			goto bad;
		}
		p.clearance = mk;
		if ((p.identity = strdup(w[0])) == NULL ||
		    (p.id = strdup(w[1])) == NULL ||
		    (p.role = strdup(w[2])) == NULL ||
		    (p.agency = strdup(w[3])) == NULL) {
			fail(err, errlen, name, lineno, 1, "out of memory");
			goto bad;
		}
		if (parse_teams(&p, w[4]) == -1) {
			fail(err, errlen, name, lineno, wcol[4], "teams must "
			    "be at most %d comma-separated names",
			    IDENTITY_MAX_TEAMS);
			goto bad;
		}
		if ((m->n & (m->n - 1)) == 0) {
			struct principal *nv = realloc(m->v,
			    (m->n ? m->n * 2 : 1) * sizeof(*nv));
			if (nv == NULL) {
				fail(err, errlen, name, lineno, 1,
				    "out of memory");
				goto bad;
			}
			m->v = nv;
		}
		m->v[m->n++] = p;
		memset(&p, 0, sizeof(p));
		if (end == text + len)
			break;
	}
	return m;
bad:
	principal_clear(&p);
	identity_free(m);
	return NULL;
}

struct identity_map *
identity_load(const char *path, char *err, size_t errlen)
{
	FILE			*fp;
	char			*text;
	size_t			 len;
	struct identity_map	*m;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return NULL;
	}
	if ((text = malloc(IDENTITY_MAX_BYTES + 1)) == NULL) {
		fclose(fp);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	len = fread(text, 1, IDENTITY_MAX_BYTES + 1, fp);
	if (ferror(fp) || len > IDENTITY_MAX_BYTES) {
		snprintf(err, errlen, "%s: %s", path, ferror(fp) ?
		    "read error" : "larger than 4 MiB");
		m = NULL;
	} else
		m = identity_parse(text, len, path, err, errlen);
	free(text);
	fclose(fp);
	return m;
}

const struct principal *
identity_lookup(const struct identity_map *m, const char *identity)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->v[i].identity, identity) == 0)
			return &m->v[i];
	return NULL;
}

const struct principal *
identity_find_id(const struct identity_map *m, const char *id)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->v[i].id, id) == 0)
			return &m->v[i];
	return NULL;
}

const char *
identity_version(const struct identity_map *m)
{
	return m->version;
}

/* Appends ", " and the formatted text to out, never overrunning it. */
static void
diff_add(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
diff_add(char *out, size_t outlen, const char *fmt, ...)
{
	size_t	n = strlen(out);
	va_list	ap;

	if (n + 3 >= outlen)
		return;
	if (n > 0) {
		memcpy(out + n, ", ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(out + n, outlen - n, fmt, ap);
	va_end(ap);
}

static void
teams_text(const struct principal *p, char *out, size_t outlen)
{
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < p->nteams && n < outlen; i++)
		n += snprintf(out + n, outlen - n, "%s%s", i > 0 ? "," : "",
		    p->teams[i]);
	if (p->nteams == 0)
		snprintf(out, outlen, "-");
}

int
principal_diff(const struct principal *a, const struct principal *b,
    char *out, size_t outlen)
{
	char ta[512], tb[512];

	out[0] = '\0';
	if (strcmp(a->id, b->id) != 0)
		diff_add(out, outlen, "id %s -> %s", a->id, b->id);
	if (strcmp(a->role, b->role) != 0)
		diff_add(out, outlen, "role %s -> %s", a->role, b->role);
	if (strcmp(a->agency, b->agency) != 0)
		diff_add(out, outlen, "agency %s -> %s", a->agency, b->agency);
	teams_text(a, ta, sizeof(ta));
	teams_text(b, tb, sizeof(tb));
	if (strcmp(ta, tb) != 0)
		diff_add(out, outlen, "teams %s -> %s", ta, tb);
	if (a->clearance != b->clearance)
		diff_add(out, outlen, "clearance %s -> %s",
		    envelope_marking_name(a->clearance),
		    envelope_marking_name(b->clearance));
	return out[0] != '\0';
}

void
identity_diff(const struct identity_map *old, const struct identity_map *new,
    char *out, size_t outlen)
{
	const struct principal	*p, *q;
	char			 added[1024] = "", removed[1024] = "";
	char			 changed[2048] = "", d[512];
	size_t			 i;

	for (i = 0; i < new->n; i++)
		if (identity_find_id(old, new->v[i].id) == NULL)
			diff_add(added, sizeof(added), "%s", new->v[i].id);
	for (i = 0; i < old->n; i++) {
		p = &old->v[i];
		if ((q = identity_find_id(new, p->id)) == NULL)
			diff_add(removed, sizeof(removed), "%s", p->id);
		else if (principal_diff(p, q, d, sizeof(d)) ||
		    strcmp(p->identity, q->identity) != 0)
			diff_add(changed, sizeof(changed), "%s (%s)", p->id,
			    d[0] != '\0' ? d : "certificate identity");
	}
	snprintf(out, outlen, "%s -> %s; added: %s; removed: %s; changed: %s",
	    old->version, new->version, added[0] != '\0' ? added : "none",
	    removed[0] != '\0' ? removed : "none",
	    changed[0] != '\0' ? changed : "none");
}

size_t
identity_count(const struct identity_map *m)
{
	return m->n;
}

const struct principal *
identity_at(const struct identity_map *m, size_t i)
{
	return i < m->n ? &m->v[i] : NULL;
}
