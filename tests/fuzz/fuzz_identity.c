/*
 * fuzz_identity: the input is the text of a principal mapping file.  Every
 * principal of a map that parses must be found again by its identity and
 * by its id (both are unique), and survive a deep copy.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NAME	"fuzz_identity"

/* A broken promise: say which, and crash so that libFuzzer keeps the input. */
static void
broken(const char *what)
{
	fprintf(stderr, "%s: %s\n", NAME, what);
	abort();
}

static const char *const names[] = {
	"plo-ana", "sw-ben", "duty-mash", "", "-", "#", "hub:norwich",
	"police:plt", "OFFICIAL_SENSITIVE",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct identity_map	*m;
	const struct principal	*p;
	struct principal	*dup;
	size_t			 i, j;
	char			 err[512];

	m = identity_parse((const char *)data, size, "fuzz", err, sizeof(err));
	if (m == NULL)
		return 0;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		(void)identity_lookup(m, names[i]);
		(void)identity_find_id(m, names[i]);
	}
	for (i = 0; i < identity_count(m); i++) {
		if ((p = identity_at(m, i)) == NULL)
			broken("identity_at() below identity_count() is NULL");
		if (identity_lookup(m, p->identity) != p ||
		    identity_find_id(m, p->id) != p)
			broken("a principal is not found by its identity "
			    "or its id");
		if (!principal_in_team(p, p->id))
			broken("a principal is not in the team of its id");
		for (j = 0; j < p->nteams; j++)
			if (!principal_in_team(p, p->teams[j]))
				broken("a principal is not in its own team");
		(void)principal_in_team(p, "hub:norwich");
		if ((dup = principal_dup(p)) == NULL)
			continue;	/* out of memory */
		if (strcmp(dup->identity, p->identity) != 0 ||
		    strcmp(dup->id, p->id) != 0 || dup->nteams != p->nteams)
			broken("principal_dup() differs from the original");
		principal_free(dup);
	}
	identity_free(m);
	return 0;
}
