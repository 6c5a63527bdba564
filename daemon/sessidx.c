/*
 * sessidx: live sessions by id and by principal (see sessidx.h).
 *
 * Two chained hash tables over the same entries, each doubled when it
 * holds more entries than buckets.
 */
#include <stdlib.h>
#include <string.h>

#include "sessidx.h"

#define SESSIDX_FIRST	64

struct sessidx_ent {
	uint64_t		 id;
	char			*principal;	/* owned; NULL: not filed */
	void			*ptr;
	struct sessidx_ent	*next_id;
	struct sessidx_ent	*next_p;
};

struct sessidx {
	struct sessidx_ent	**by_id;
	struct sessidx_ent	**by_p;
	size_t			 nbuckets;	/* both tables, a power of 2 */
	size_t			 n;
};

static size_t
hash_id(uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (size_t)id;
}

static size_t
hash_str(const char *s)
{
	uint64_t	h = 0xcbf29ce484222325ULL;	/* FNV-1a */

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return (size_t)h;
}

struct sessidx *
sessidx_new(void)
{
	struct sessidx	*x;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	x->nbuckets = SESSIDX_FIRST;
	x->by_id = calloc(x->nbuckets, sizeof(*x->by_id));
	x->by_p = calloc(x->nbuckets, sizeof(*x->by_p));
	if (x->by_id == NULL || x->by_p == NULL) {
		free(x->by_id);
		free(x->by_p);
		free(x);
		return NULL;
	}
	return x;
}

void
sessidx_free(struct sessidx *x)
{
	struct sessidx_ent	*e, *next;
	size_t			 i;

	if (x == NULL)
		return;
	for (i = 0; i < x->nbuckets; i++) {
		for (e = x->by_id[i]; e != NULL; e = next) {
			next = e->next_id;
			free(e->principal);
			free(e);
		}
	}
	free(x->by_id);
	free(x->by_p);
	free(x);
}

/* Doubles both tables; on failure keeps the old ones (only slower). */
static void
sessidx_grow(struct sessidx *x)
{
	struct sessidx_ent	**id, **p, *e, *next;
	size_t			 n = x->nbuckets * 2, i, h;

	id = calloc(n, sizeof(*id));
	p = calloc(n, sizeof(*p));
	if (id == NULL || p == NULL) {
		free(id);
		free(p);
		return;
	}
	for (i = 0; i < x->nbuckets; i++) {
		for (e = x->by_id[i]; e != NULL; e = next) {
			next = e->next_id;
			h = hash_id(e->id) & (n - 1);
			e->next_id = id[h];
			id[h] = e;
			if (e->principal != NULL) {
				h = hash_str(e->principal) & (n - 1);
				e->next_p = p[h];
				p[h] = e;
			}
		}
	}
	free(x->by_id);
	free(x->by_p);
	x->by_id = id;
	x->by_p = p;
	x->nbuckets = n;
}

static struct sessidx_ent *
sessidx_find(const struct sessidx *x, uint64_t id)
{
	struct sessidx_ent	*e;

	for (e = x->by_id[hash_id(id) & (x->nbuckets - 1)]; e != NULL;
	    e = e->next_id)
		if (e->id == id)
			return e;
	return NULL;
}

int
sessidx_add(struct sessidx *x, uint64_t id, void *ptr)
{
	struct sessidx_ent	*e;
	size_t			 h;

	if (sessidx_find(x, id) != NULL)
		return -1;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return -1;
	if (x->n >= x->nbuckets)
		sessidx_grow(x);
	e->id = id;
	e->ptr = ptr;
	h = hash_id(id) & (x->nbuckets - 1);
	e->next_id = x->by_id[h];
	x->by_id[h] = e;
	x->n++;
	return 0;
}

static void
sessidx_unfile(struct sessidx *x, struct sessidx_ent *e)
{
	struct sessidx_ent	**pp;

	if (e->principal == NULL)
		return;
	for (pp = &x->by_p[hash_str(e->principal) & (x->nbuckets - 1)];
	    *pp != NULL; pp = &(*pp)->next_p) {
		if (*pp == e) {
			*pp = e->next_p;
			break;
		}
	}
	free(e->principal);
	e->principal = NULL;
	e->next_p = NULL;
}

int
sessidx_set_principal(struct sessidx *x, uint64_t id, const char *principal)
{
	struct sessidx_ent	*e;
	char			*copy;
	size_t			 h;

	if ((e = sessidx_find(x, id)) == NULL || principal == NULL ||
	    (copy = strdup(principal)) == NULL)
		return -1;
	sessidx_unfile(x, e);
	e->principal = copy;
	h = hash_str(copy) & (x->nbuckets - 1);
	e->next_p = x->by_p[h];
	x->by_p[h] = e;
	return 0;
}

void
sessidx_del(struct sessidx *x, uint64_t id)
{
	struct sessidx_ent	**pp, *e;

	if (x == NULL)
		return;
	for (pp = &x->by_id[hash_id(id) & (x->nbuckets - 1)]; *pp != NULL;
	    pp = &(*pp)->next_id) {
		if ((*pp)->id != id)
			continue;
		e = *pp;
		*pp = e->next_id;
		sessidx_unfile(x, e);
		free(e);
		x->n--;
		return;
	}
}

void *
sessidx_get(const struct sessidx *x, uint64_t id)
{
	struct sessidx_ent	*e;

	if (x == NULL || (e = sessidx_find(x, id)) == NULL)
		return NULL;
	return e->ptr;
}

size_t
sessidx_of(const struct sessidx *x, const char *principal, void **out,
    size_t max)
{
	struct sessidx_ent	*e;
	size_t			 n = 0;

	if (x == NULL || principal == NULL)
		return 0;
	for (e = x->by_p[hash_str(principal) & (x->nbuckets - 1)]; e != NULL;
	    e = e->next_p) {
		if (strcmp(e->principal, principal) != 0)
			continue;
		if (n < max)
			out[n] = e->ptr;
		n++;
	}
	return n;
}

void **
sessidx_all(const struct sessidx *x, const char *principal, void **stack,
    size_t nstack, size_t *n)
{
	void	**all = stack;

	*n = sessidx_of(x, principal, stack, nstack);
	if (*n > nstack) {
		if ((all = calloc(*n, sizeof(*all))) == NULL)
			return NULL;
		*n = sessidx_of(x, principal, all, *n);
	}
	return all;
}

void
sessidx_done(void **all, void **stack)
{
	if (all != stack)
		free(all);
}

size_t
sessidx_count(const struct sessidx *x, const char *principal)
{
	return sessidx_of(x, principal, NULL, 0);
}
