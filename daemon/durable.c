#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "durable.h"
#include "store.h"

struct entry {
	struct entry	*next;		/* owned */
	char		*principal;	/* owned */
	char		*name;		/* owned */
	uint32_t	 kinds;
	char		**subjects;	/* owned */
	size_t		 nsubjects;
};

#define NBUCKETS	1024

struct durable_registry {
	struct entry	*buckets[NBUCKETS];	/* owned chains */
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
	free(e->principal);
	free(e->name);
	free(e);
}

struct durable_registry *
durable_registry_new(void)
{
	return calloc(1, sizeof(struct durable_registry));
}

void
durable_registry_free(struct durable_registry *r)
{
	struct entry	*e;
	size_t		 i;

	if (r == NULL)
		return;
	for (i = 0; i < NBUCKETS; i++) {
		while ((e = r->buckets[i]) != NULL) {
			r->buckets[i] = e->next;
			entry_free(e);
		}
	}
	free(r);
}

int
durable_registry_put(struct durable_registry *r,
    const struct store_subscription *sub)
{
	struct entry	*e, **pp;
	size_t		 i;

	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->principal = strdup(sub->principal)) == NULL ||
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
	for (pp = &r->buckets[bucket(e->principal)]; *pp != NULL;
	    pp = &(*pp)->next) {
		if (strcmp((*pp)->principal, e->principal) == 0 &&
		    strcmp((*pp)->name, e->name) == 0) {
			e->next = (*pp)->next;
			entry_free(*pp);
			*pp = e;
			return 0;
		}
	}
	*pp = e;
	return 0;
bad:
	if (e != NULL)
		entry_free(e);
	return -1;
}

size_t
durable_registry_match(const struct durable_registry *r,
    const char *principal, int kind, const char *subject, const char **names,
    size_t max)
{
	const struct entry	*e;
	size_t			 i, n = 0;
	int			 want;

	if (r == NULL)
		return 0;
	for (e = r->buckets[bucket(principal)]; e != NULL && n < max;
	    e = e->next) {
		if (strcmp(e->principal, principal) != 0 ||
		    !(e->kinds & (1u << kind)))
			continue;
		want = e->nsubjects == 0;
		for (i = 0; i < e->nsubjects && !want; i++)
			want = strcmp(e->subjects[i], subject) == 0;
		if (want)
			names[n++] = e->name;
	}
	return n;
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
