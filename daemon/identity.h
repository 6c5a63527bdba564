/*
 * identity: the administrator's mapping from a certificate identity (the
 * value of the configured certificate field, extracted by tls.c) to a
 * principal {id, role, agency, teams, clearance}.  Roles and teams are never
 * taken from the client.
 *
 * File format: one principal a line, whitespace-separated columns, '#'
 * comments, '-' for an empty teams list:
 *
 *   # identity   principal   role            agency   teams                clearance
 *   plo-ana      plo-ana     police_liaison  police   police:plt,hub:norwich OFFICIAL_SENSITIVE
 */
#ifndef NWD_IDENTITY_H
#define NWD_IDENTITY_H

#include <stddef.h>

#define IDENTITY_MAX_TEAMS	32
#define IDENTITY_VERSION_LEN	24	/* "sha256:" + 16 hex + NUL */

struct principal {
	char	*identity;	/* owned; certificate field value */
	char	*id;		/* owned */
	char	*role;		/* owned */
	char	*agency;	/* owned */
	char	**teams;	/* owned, nteams strings */
	size_t	 nteams;
	int	 clearance;	/* Nwd__V1__Marking */
};

struct identity_map;

/* Loads a mapping file; NULL with "FILE:LINE:COL: cause" in err. */
struct identity_map *identity_load(const char *path, char *err, size_t errlen);
struct identity_map *identity_parse(const char *text, size_t len,
		    const char *name, char *err, size_t errlen);
void		 identity_free(struct identity_map *m);

/* Returns the principal for a certificate identity, or NULL if unmapped.
 * The result is owned by the map. */
const struct principal *identity_lookup(const struct identity_map *m,
		    const char *identity);
/* Returns the principal with this id, or NULL. */
const struct principal *identity_find_id(const struct identity_map *m,
		    const char *id);
size_t		 identity_count(const struct identity_map *m);
/* "sha256:" and the first 16 hex digits of the file's SHA-256. */
const char	*identity_version(const struct identity_map *m);

/*
 * What changed from old to new, for the audit trail: "VERSION -> VERSION;
 * added: a, b; removed: c; changed: d (teams x -> y)" ("none" where
 * nothing did).
 */
void		 identity_diff(const struct identity_map *old,
		    const struct identity_map *new, char *out, size_t outlen);
/*
 * What differs between two principals ("role a -> b, teams x -> y"), into
 * out; returns 1 if anything does (id, role, agency, teams, clearance),
 * else 0 with "" in out.
 */
int		 principal_diff(const struct principal *a,
		    const struct principal *b, char *out, size_t outlen);
const struct principal *identity_at(const struct identity_map *m, size_t i);

/* Returns 1 if the principal is in team (or team is its id). */
int		 principal_in_team(const struct principal *p, const char *team);

/* Deep copy, owned by the caller; principal_free(NULL) is a no-op. */
struct principal *principal_dup(const struct principal *p);
void		 principal_free(struct principal *p);

#endif
