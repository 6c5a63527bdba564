/*
 * sessidx: the live sessions indexed by session id and by principal id,
 * so that finding a session and fanning a delivery out to a principal's
 * sessions cost the same with ten sessions or ten thousand.
 *
 * The index knows sessions only as opaque pointers; session.c keeps it in
 * step with the server's session list.
 */
#ifndef NWD_SESSIDX_H
#define NWD_SESSIDX_H

#include <stddef.h>
#include <stdint.h>

struct sessidx;

struct sessidx	*sessidx_new(void);
void		 sessidx_free(struct sessidx *);

/* Adds session ptr under id (not yet under a principal); 0 or -1. */
int		 sessidx_add(struct sessidx *, uint64_t id, void *ptr);

/* Files the session id under principal (copied); 0 or -1. */
int		 sessidx_set_principal(struct sessidx *, uint64_t id,
		    const char *principal);

/* Removes the session id, wherever it is filed.  Unknown ids are no-ops. */
void		 sessidx_del(struct sessidx *, uint64_t id);

/* The session of id, or NULL. */
void		*sessidx_get(const struct sessidx *, uint64_t id);

/* Number of sessions filed under principal. */
size_t		 sessidx_count(const struct sessidx *, const char *principal);

/*
 * Copies the sessions filed under principal into out (at most max of
 * them) and returns how many there are in all: the caller may act on a
 * snapshot while sessions come and go.
 */
size_t		 sessidx_of(const struct sessidx *, const char *principal,
		    void **out, size_t max);

/*
 * Every session filed under principal, however many: in stack (of nstack)
 * when they fit, else in a new array.  *n says how many.  Returns the
 * array (free it with sessidx_done()), or NULL without the memory.
 */
void		**sessidx_all(const struct sessidx *, const char *principal,
		    void **stack, size_t nstack, size_t *n);
void		 sessidx_done(void **all, void **stack);

#endif
