#include <stdlib.h>
#include <string.h>

#include "subs.h"

struct subs_entry {
	struct subs_entry	*next;		/* owned */
	uint64_t		 id;
	uint32_t		 kinds;		/* bit per kind */
	char			**subjects;	/* owned; NULL = any */
	size_t			 nsubjects;
	char			*durable;	/* owned; NULL = live only */
	int			 replaying;	/* its replay is running */
	int			 held;		/* a message held back since */
};

static void
entry_free(struct subs_entry *e)
{
	size_t i;

	for (i = 0; i < e->nsubjects; i++)
		free(e->subjects[i]);
	free(e->subjects);
	free(e->durable);
	free(e);
}

uint64_t
subs_add(struct subs *l, uint32_t kinds_mask, char **subjects,
    size_t nsubjects, const char *durable)
{
	struct subs_entry *e;

	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (durable != NULL && (e->durable = strdup(durable)) == NULL)) {
		free(e);
		while (nsubjects > 0)
			free(subjects[--nsubjects]);
		free(subjects);
		return 0;
	}
	e->id = ++l->next_id;
	e->kinds = kinds_mask;
	e->subjects = subjects;
	e->nsubjects = nsubjects;
	e->next = l->head;
	l->head = e;
	l->n++;
	return e->id;
}

int
subs_remove(struct subs *l, uint64_t id)
{
	struct subs_entry **pp, *e;

	for (pp = &l->head; (e = *pp) != NULL; pp = &e->next) {
		if (e->id == id) {
			*pp = e->next;
			entry_free(e);
			l->n--;
			return 0;
		}
	}
	return -1;
}

static int
wants(const struct subs_entry *e, int kind, const char *subject)
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

uint64_t
subs_match(struct subs *l, int kind, const char *subject,
    const char **durable)
{
	struct subs_entry	*e;
	const struct subs_entry	*live = NULL;

	*durable = NULL;
	for (e = l->head; e != NULL; e = e->next) {
		if (!wants(e, kind, subject))
			continue;
		if (e->durable != NULL && e->replaying) {
			e->held = 1;
			return 0;
		}
		if (e->durable != NULL) {
			*durable = e->durable;
			return e->id;
		}
		if (live == NULL)
			live = e;
	}
	return live != NULL ? live->id : 0;
}

int
subs_would_match(const struct subs *l, int kind, const char *subject)
{
	const struct subs_entry	*e;
	int			 any = 0;

	for (e = l->head; e != NULL; e = e->next) {
		if (!wants(e, kind, subject))
			continue;
		if (e->durable != NULL && e->replaying)
			return 0;
		any = 1;
	}
	return any;
}

void
subs_each(const struct subs *l, subs_each_fn *fn, void *arg)
{
	const struct subs_entry	*e;

	for (e = l->head; e != NULL; e = e->next)
		fn(e->kinds, e->subjects, e->nsubjects, e->durable, arg);
}

static struct subs_entry *
find(struct subs *l, uint64_t id)
{
	struct subs_entry *e;

	for (e = l->head; e != NULL; e = e->next)
		if (e->id == id)
			return e;
	return NULL;
}

void
subs_set_replaying(struct subs *l, uint64_t id, int on)
{
	struct subs_entry *e;

	if ((e = find(l, id)) != NULL) {
		e->replaying = on;
		e->held = 0;
	}
}

int
subs_take_held(struct subs *l, uint64_t id)
{
	struct subs_entry	*e;
	int			 held;

	if ((e = find(l, id)) == NULL)
		return 0;
	held = e->held;
	e->held = 0;
	return held;
}

uint64_t
subs_durable_id(const struct subs *l, const char *name)
{
	const struct subs_entry *e;

	for (e = l->head; e != NULL; e = e->next)
		if (e->durable != NULL && strcmp(e->durable, name) == 0)
			return e->id;
	return 0;
}

int
subs_has_durable(const struct subs *l, const char *name)
{
	const struct subs_entry *e;

	for (e = l->head; e != NULL; e = e->next)
		if (e->durable != NULL && strcmp(e->durable, name) == 0)
			return 1;
	return 0;
}

void
subs_clear(struct subs *l)
{
	struct subs_entry *e;

	while ((e = l->head) != NULL) {
		l->head = e->next;
		entry_free(e);
	}
	l->n = 0;
}
