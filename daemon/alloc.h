/*
 * alloc: who is allocated to which young person, from Allocation messages.
 * An in-memory index the policy engine reads to decide the "allocated"
 * condition; the store persists every allocation and hands them all back
 * at each connect, so the table survives restarts and reflects what other
 * instances recorded.  Pure data structure: no I/O, no clock.
 */
#ifndef NWD_ALLOC_H
#define NWD_ALLOC_H

#include <stddef.h>
#include <stdint.h>

struct principal;
struct alloc_table;

/* One allocation: team or worker (either may be empty) to subject. */
struct alloc_entry {
	const char	*subject;
	const char	*team;		/* "" if the allocation names a worker */
	const char	*worker;	/* "" if the allocation names a team */
	int64_t		 from_ms;	/* 0 = since always */
	int64_t		 until_ms;	/* 0 = open-ended */
	const char	*by;		/* the principal that made it (the
					   Allocation's sender); NULL or ""
					   if not known */
};

struct alloc_table *alloc_table_new(void);
void		 alloc_table_free(struct alloc_table *t);

/*
 * Records an allocation, copying the strings.  A later record for the same
 * subject and the same team and worker replaces the earlier one, which is
 * how an allocation is ended (a record with until_ms set).  Returns 0, or
 * -1 if memory ran out (the table is unchanged).
 */
int		 alloc_table_put(struct alloc_table *t,
		    const struct alloc_entry *e);

/*
 * The record for subject, team and worker (exactly: "" for none), the one
 * a new Allocation of them would replace.  Returns 1 and fills out (its
 * strings belong to the table and last until it changes; by is "" if not
 * known), or 0 if there is none (t may be NULL: none).
 */
int		 alloc_table_find(const struct alloc_table *t,
		    const char *subject, const char *team, const char *worker,
		    struct alloc_entry *out);

/*
 * Returns 1 if, at now_ms, subject is allocated to the principal itself
 * (as worker), to one of its teams, or to one of extra_teams (teams the
 * policy gives it), else 0.
 */
int		 alloc_table_is_allocated(const struct alloc_table *t,
		    const char *subject, const struct principal *p,
		    const char *const *extra_teams, size_t nextra,
		    int64_t now_ms);

/* Number of records (current, ended and future). */
size_t		 alloc_table_count(const struct alloc_table *t);

#endif
