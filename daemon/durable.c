#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "durable.h"
#include "store.h"

/* One durable subscription. */
struct entry {
	struct entry	*next;		/* owned */
	char		*name;		/* owned */
	uint32_t	 kinds;
	char		**subjects;	/* owned */
	size_t		 nsubjects;
};

/* One principal's subscriptions. */
struct holder {
	struct holder	*next;		/* owned; the bucket's chain */
	char		*principal;	/* owned */
	struct entry	*entries;	/* owned */
	size_t		 n;
};

#define NBUCKETS	1024

struct durable_registry {
	struct holder	*buckets[NBUCKETS];	/* owned chains */
};

static unsigned
bucket(const char *principal)
{
	unsigned h = 2166136261u;

	for (; *principal != '\0'; principal++)
		h = (h ^ (unsigned char)*principal) * 16777619u;
	return h % NBUCKETS;
}

static void
entry_free(struct entry *e)
{
	size_t i;

	for (i = 0; i < e->nsubjects; i++)
		free(e->subjects[i]);
	free(e->subjects);
	free(e->name);
	free(e);
}

static void
holder_free(struct holder *h)
{
	struct entry *e;

	while ((e = h->entries) != NULL) {
		h->entries = e->next;
		entry_free(e);
	}
	free(h->principal);
	free(h);
}

struct durable_registry *
durable_registry_new(void)
{
	return calloc(1, sizeof(struct durable_registry));
}

void
durable_registry_free(struct durable_registry *r)
{
	struct holder	*h;
	size_t		 i;

	if (r == NULL)
		return;
	for (i = 0; i < NBUCKETS; i++) {
		while ((h = r->buckets[i]) != NULL) {
			r->buckets[i] = h->next;
			holder_free(h);
		}
	}
	free(r);
}

static struct holder *
find_holder(const struct durable_registry *r, const char *principal)
{
	struct holder *h;

	for (h = r->buckets[bucket(principal)]; h != NULL; h = h->next)
		if (strcmp(h->principal, principal) == 0)
			return h;
	return NULL;
}

int
durable_registry_put(struct durable_registry *r,
    const struct store_subscription *sub)
{
	struct holder	*h;
	struct entry	*e, **pp;
	size_t		 i;

	if ((h = find_holder(r, sub->principal)) == NULL) {
		if ((h = calloc(1, sizeof(*h))) == NULL ||
		    (h->principal = strdup(sub->principal)) == NULL) {
			free(h);
			return -1;
		}
		h->next = r->buckets[bucket(sub->principal)];
		r->buckets[bucket(sub->principal)] = h;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->name = strdup(sub->name)) == NULL ||
	    (sub->nsubjects > 0 && (e->subjects = calloc(sub->nsubjects,
	    sizeof(char *))) == NULL))
		goto bad;
	e->kinds = sub->kinds;
	for (i = 0; i < sub->nsubjects; i++) {
		if ((e->subjects[i] = strdup(sub->subjects[i])) == NULL)
			goto bad;
		e->nsubjects++;
	}
	for (pp = &h->entries; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->name, e->name) == 0) {
			e->next = (*pp)->next;
			entry_free(*pp);
			*pp = e;
			return 0;
		}
	}
	*pp = e;
	h->n++;
	return 0;
bad:
	if (e != NULL)
		entry_free(e);
	return -1;
}

int
durable_registry_del(struct durable_registry *r, const char *principal,
    const char *name)
{
	struct holder	*h;
	struct entry	*e, **pp;

	if ((h = find_holder(r, principal)) == NULL)
		return -1;
	for (pp = &h->entries; (e = *pp) != NULL; pp = &e->next) {
		if (strcmp(e->name, name) == 0) {
			*pp = e->next;
			entry_free(e);
			h->n--;
			return 0;
		}
	}
	return -1;
}

static int
wants(const struct entry *e, int kind, const char *subject)
{
	size_t i;

	if (kind < 0 || kind > 31 || !(e->kinds & (1u << kind)))
		return 0;
	if (e->nsubjects == 0)
		return 1;
	for (i = 0; i < e->nsubjects; i++)
		if (strcmp(e->subjects[i], subject) == 0)
			return 1;
	return 0;
}

size_t
durable_registry_match(const struct durable_registry *r,
    const char *principal, int kind, const char *subject, const char **names,
    size_t max)
{
	const struct holder	*h;
	const struct entry	*e;
	size_t			 n = 0;

	if (r == NULL || (h = find_holder(r, principal)) == NULL)
		return 0;
	for (e = h->entries; e != NULL && n < max; e = e->next)
		if (wants(e, kind, subject))
			names[n++] = e->name;
	return n;
}

size_t
durable_registry_count(const struct durable_registry *r,
    const char *principal)
{
	const struct holder *h;

	if (r == NULL || (h = find_holder(r, principal)) == NULL)
		return 0;
	return h->n;
}

const struct store_subscription *
durable_registry_get(const struct durable_registry *r, const char *principal,
    const char *name, struct store_subscription *out)
{
	const struct holder	*h;
	const struct entry	*e;

	if (r == NULL || (h = find_holder(r, principal)) == NULL)
		return NULL;
	for (e = h->entries; e != NULL; e = e->next) {
		if (strcmp(e->name, name) != 0)
			continue;
		memset(out, 0, sizeof(*out));
		out->principal = h->principal;
		out->name = e->name;
		out->kinds = e->kinds;
		out->subjects = (const char *const *)e->subjects;
		out->nsubjects = e->nsubjects;
		return out;
	}
	return NULL;
}

int
durable_same_filters(const struct store_subscription *sub, uint32_t kinds,
    const char *const *subjects, size_t nsubjects)
{
	size_t i, j;

	if (sub->kinds != kinds || sub->nsubjects != nsubjects)
		return 0;
	/* Each list holds every subject of the other. */
	for (i = 0; i < nsubjects; i++) {
		for (j = 0; j < sub->nsubjects; j++)
			if (strcmp(subjects[i], sub->subjects[j]) == 0)
				break;
		if (j == sub->nsubjects)
			return 0;
	}
	for (j = 0; j < sub->nsubjects; j++) {
		for (i = 0; i < nsubjects; i++)
			if (strcmp(subjects[i], sub->subjects[j]) == 0)
				break;
		if (i == nsubjects)
			return 0;
	}
	return 1;
}

int
durable_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > DURABLE_MAX_NAME)
		return 0;
	for (; *name != '\0'; name++)
		if (!isalnum((unsigned char)*name) && *name != '-' &&
		    *name != '_' && *name != '.')
			return 0;
	return 1;
}
