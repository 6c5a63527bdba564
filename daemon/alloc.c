#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "identity.h"

/* One record, with its strings in one allocation after the struct. */
struct record {
	struct record	*next;		/* owned; next record of the subject */
	char		*team;		/* into this allocation */
	char		*worker;
	char		*by;		/* "" if not known */
	int64_t		 from_ms;
	int64_t		 until_ms;
};

struct subject {
	struct subject	*next;		/* owned; hash chain */
	struct record	*records;	/* owned list */
	char		 id[];		/* the subject's local id */
};

struct alloc_table {
	struct subject	**buckets;	/* owned array of chains */
	size_t		  nbuckets;	/* a power of two */
	size_t		  nsubjects;
	size_t		  nrecords;
};

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

struct alloc_table *
alloc_table_new(void)
{
	struct alloc_table *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->nbuckets = 64;
	if ((t->buckets = calloc(t->nbuckets, sizeof(*t->buckets))) == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

void
alloc_table_free(struct alloc_table *t)
{
	struct subject	*s;
	struct record	*r;
	size_t		 i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nbuckets; i++) {
		while ((s = t->buckets[i]) != NULL) {
			t->buckets[i] = s->next;
			while ((r = s->records) != NULL) {
				s->records = r->next;
				free(r);
			}
			free(s);
		}
	}
	free(t->buckets);
	free(t);
}

static struct subject *
find(const struct alloc_table *t, const char *id)
{
	struct subject *s;

	for (s = t->buckets[hash(id) & (t->nbuckets - 1)]; s != NULL;
	    s = s->next)
		if (strcmp(s->id, id) == 0)
			return s;
	return NULL;
}

/* Doubles the bucket array when subjects outnumber buckets. */
static void
grow(struct alloc_table *t)
{
	struct subject	**nb, *s;
	size_t		  i, n = t->nbuckets * 2, h;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;		/* chains just get longer */
	for (i = 0; i < t->nbuckets; i++) {
		while ((s = t->buckets[i]) != NULL) {
			t->buckets[i] = s->next;
			h = hash(s->id) & (n - 1);
			s->next = nb[h];
			nb[h] = s;
		}
	}
	free(t->buckets);
	t->buckets = nb;
	t->nbuckets = n;
}

int
alloc_table_put(struct alloc_table *t, const struct alloc_entry *e)
{
	struct subject	 *s;
	struct record	 *r, **pp;
	const char	 *by = e->by != NULL ? e->by : "";
	size_t		  tl = strlen(e->team), wl = strlen(e->worker), h;
	size_t		  bl = strlen(by);

	if ((r = malloc(sizeof(*r) + tl + wl + bl + 3)) == NULL)
		return -1;
	r->team = (char *)(r + 1);
	r->worker = r->team + tl + 1;
	r->by = r->worker + wl + 1;
	memcpy(r->team, e->team, tl + 1);
	memcpy(r->worker, e->worker, wl + 1);
	memcpy(r->by, by, bl + 1);
	r->from_ms = e->from_ms;
	r->until_ms = e->until_ms;
	r->next = NULL;
	if ((s = find(t, e->subject)) == NULL) {
		if ((s = malloc(sizeof(*s) + strlen(e->subject) + 1)) == NULL) {
			free(r);
			return -1;
		}
		strcpy(s->id, e->subject);
		s->records = NULL;
		h = hash(s->id) & (t->nbuckets - 1);
		s->next = t->buckets[h];
		t->buckets[h] = s;
		if (++t->nsubjects > t->nbuckets)
			grow(t);
	}
	/* A later record for the same team and worker replaces the earlier. */
	for (pp = &s->records; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->team, r->team) == 0 &&
		    strcmp((*pp)->worker, r->worker) == 0) {
			r->next = (*pp)->next;
			free(*pp);
			*pp = r;
			return 0;
		}
	}
	*pp = r;
	t->nrecords++;
	return 0;
}

static int
in_list(const char *team, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], team) == 0)
			return 1;
	return 0;
}

int
alloc_table_is_allocated(const struct alloc_table *t, const char *subject,
    const struct principal *p, const char *const *extra, size_t nextra,
    int64_t now_ms)
{
	const struct subject	*s;
	const struct record	*r;

	if (t == NULL || (s = find(t, subject)) == NULL)
		return 0;
	for (r = s->records; r != NULL; r = r->next) {
		if (r->from_ms != 0 && now_ms < r->from_ms)
			continue;
		if (r->until_ms != 0 && now_ms >= r->until_ms)
			continue;
		if (r->worker[0] != '\0' && strcmp(r->worker, p->id) == 0)
			return 1;
		if (r->team[0] != '\0' &&
		    (principal_in_team(p, r->team) ||
		    in_list(r->team, extra, nextra)))
			return 1;
	}
	return 0;
}

int
alloc_table_find(const struct alloc_table *t, const char *subject,
    const char *team, const char *worker, struct alloc_entry *out)
{
	const struct subject	*s;
	const struct record	*r;

	if (t == NULL || (s = find(t, subject)) == NULL)
		return 0;
	for (r = s->records; r != NULL; r = r->next) {
		if (strcmp(r->team, team) != 0 ||
		    strcmp(r->worker, worker) != 0)
			continue;
		out->subject = s->id;
		out->team = r->team;
		out->worker = r->worker;
		out->from_ms = r->from_ms;
		out->until_ms = r->until_ms;
		out->by = r->by;
		return 1;
	}
	return 0;
}

size_t
alloc_table_count(const struct alloc_table *t)
{
	return t->nrecords;
}
