/*
 * grant: the live grants of emergency access (break-glass), in memory.
 * Pure: no I/O, no clock it is not given.  A grant lets one principal
 * receive one young person's messages of some kinds, from its start until
 * its expiry or until it is ended (by the grantee) or revoked (by an
 * auditor), whichever comes first, under one breakglass rule of the
 * policy.  The decision engine (decide.h) asks grant_covering() for a
 * recipient the policy itself refuses.
 */
#ifndef NWD_GRANT_H
#define NWD_GRANT_H

#include <stddef.h>
#include <stdint.h>

#define GRANT_ID_LEN	37	/* a UUID and its NUL */

struct grant {
	const char	*id;		/* a UUID */
	const char	*principal;	/* the grantee */
	const char	*role;		/* its role when it claimed */
	const char	*subject;
	const char	*rule;		/* the breakglass rule */
	uint32_t	 kinds;		/* bit per Nwd__V1__Kind */
	int64_t		 from_ms;
	int64_t		 until_ms;
	int64_t		 ended_ms;	/* 0: not ended before until_ms */
};

struct grant_table;

struct grant_table *grant_table_new(void);
/* NULL is a no-op. */
void		 grant_table_free(struct grant_table *t);
/* Forgets every grant (before a reload from the store). */
void		 grant_table_clear(struct grant_table *t);
/*
 * Adds a copy of g (its strings too); a grant of the same id is replaced.
 * Returns 0, or -1 if memory ran out (t is as it was).
 */
int		 grant_table_put(struct grant_table *t, const struct grant *g);
size_t		 grant_table_count(const struct grant_table *t);
/* The grant of id, or NULL; it belongs to t until t changes. */
const struct grant *grant_table_find(const struct grant_table *t,
		    const char *id);
/* Ends the grant of id at at_ms (if it is live then): 1, or 0 if none. */
int		 grant_table_end(struct grant_table *t, const char *id,
		    int64_t at_ms);
/* Forgets the grants no longer live at now_ms; returns how many. */
size_t		 grant_table_prune(struct grant_table *t, int64_t now_ms);

/* How many grants of principal are live at now_ms. */
size_t		 grant_count_live(const struct grant_table *t,
		    const char *principal, int64_t now_ms);

/* 1 if g is live at now_ms: started, not expired, not ended. */
int		 grant_live(const struct grant *g, int64_t now_ms);

/*
 * A grant live at now_ms that lets principal receive a message of kind
 * about subject, or NULL (kind 0: any kind).  The oldest such grant if
 * there are several.  It belongs to t until t changes.
 */
const struct grant *grant_covering(const struct grant_table *t,
		    const char *principal, const char *subject, int kind,
		    int64_t now_ms);

#endif
