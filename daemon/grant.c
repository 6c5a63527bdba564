/*
 * grant: the live grants of emergency access.  See grant.h.
 */
#include <stdlib.h>
#include <string.h>

#include "grant.h"

struct grant_table {
	struct grant	*v;		/* owned array; strings owned */
	size_t		 n, cap;
};

static void
grant_clear(struct grant *g)
{
	free((char *)g->id);
	free((char *)g->principal);
	free((char *)g->role);
	free((char *)g->subject);
	free((char *)g->rule);
	memset(g, 0, sizeof(*g));
}

struct grant_table *
grant_table_new(void)
{
	return calloc(1, sizeof(struct grant_table));
}

void
grant_table_clear(struct grant_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		grant_clear(&t->v[i]);
	t->n = 0;
}

void
grant_table_free(struct grant_table *t)
{
	if (t == NULL)
		return;
	grant_table_clear(t);
	free(t->v);
	free(t);
}

size_t
grant_table_count(const struct grant_table *t)
{
	return t != NULL ? t->n : 0;
}

static struct grant *
find(const struct grant_table *t, const char *id)
{
	size_t i;

	for (i = 0; t != NULL && i < t->n; i++)
		if (strcmp(t->v[i].id, id) == 0)
			return &t->v[i];
	return NULL;
}

const struct grant *
grant_table_find(const struct grant_table *t, const char *id)
{
	return find(t, id);
}

static char *
dup(const char *s)
{
	return strdup(s != NULL ? s : "");
}

int
grant_table_put(struct grant_table *t, const struct grant *g)
{
	struct grant	 c, *nv, *old;
	size_t		 cap;

	memset(&c, 0, sizeof(c));
	if ((c.id = dup(g->id)) == NULL ||
	    (c.principal = dup(g->principal)) == NULL ||
	    (c.role = dup(g->role)) == NULL ||
	    (c.subject = dup(g->subject)) == NULL ||
	    (c.rule = dup(g->rule)) == NULL)
		goto fail;
	c.kinds = g->kinds;
	c.from_ms = g->from_ms;
	c.until_ms = g->until_ms;
	c.ended_ms = g->ended_ms;
	if ((old = find(t, g->id)) != NULL) {
		grant_clear(old);
		*old = c;
		return 0;
	}
	if (t->n == t->cap) {
		cap = t->cap > 0 ? t->cap * 2 : 8;
		if ((nv = realloc(t->v, cap * sizeof(*nv))) == NULL)
			goto fail;
		t->v = nv;
		t->cap = cap;
	}
	t->v[t->n++] = c;
	return 0;
fail:
	grant_clear(&c);
	return -1;
}

int
grant_live(const struct grant *g, int64_t now_ms)
{
	return g->from_ms <= now_ms && now_ms < g->until_ms &&
	    (g->ended_ms == 0 || now_ms < g->ended_ms);
}

int
grant_table_end(struct grant_table *t, const char *id, int64_t at_ms)
{
	struct grant *g = find(t, id);

	if (g == NULL || !grant_live(g, at_ms))
		return 0;
	g->ended_ms = at_ms;
	return 1;
}

size_t
grant_table_prune(struct grant_table *t, int64_t now_ms)
{
	size_t i, k = 0, n = 0;

	if (t == NULL)
		return 0;
	for (i = 0; i < t->n; i++) {
		if (!grant_live(&t->v[i], now_ms) &&
		    (t->v[i].from_ms <= now_ms)) {
			grant_clear(&t->v[i]);
			n++;
			continue;
		}
		t->v[k++] = t->v[i];
	}
	t->n = k;
	return n;
}

size_t
grant_count_live(const struct grant_table *t, const char *principal,
    int64_t now_ms)
{
	size_t i, n = 0;

	for (i = 0; t != NULL && i < t->n; i++)
		if (strcmp(t->v[i].principal, principal) == 0 &&
		    grant_live(&t->v[i], now_ms))
			n++;
	return n;
}

const struct grant *
grant_covering(const struct grant_table *t, const char *principal,
    const char *subject, int kind, int64_t now_ms)
{
	const struct grant	*g, *best = NULL;
	size_t			 i;

	for (i = 0; t != NULL && i < t->n; i++) {
		g = &t->v[i];
		if (strcmp(g->principal, principal) != 0 ||
		    strcmp(g->subject, subject) != 0 ||
		    (kind != 0 && (kind < 0 || kind > 31 ||
		    !(g->kinds & (1u << kind)))) || !grant_live(g, now_ms))
			continue;
		if (best == NULL || g->from_ms < best->from_ms)
			best = g;
	}
	return best;
}
