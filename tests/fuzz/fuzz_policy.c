/*
 * fuzz_policy: the input is the text of a sharing policy file.  Only the
 * parts of the policy API that stay stable while the language grows are
 * called: policy_parse, policy_version, policy_nrules and policy_free.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NAME	"fuzz_policy"

/* A broken promise: say which, and crash so that libFuzzer keeps the input. */
static void
broken(const char *what)
{
	fprintf(stderr, "%s: %s\n", NAME, what);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy	*p;
	const char	*v;
	char		 err[512];

	p = policy_parse((const char *)data, size, "fuzz", err, sizeof(err));
	if (p == NULL)
		return 0;
	/* The version is "sha256:" and 16 hex digits, whatever the text. */
	v = policy_version(p);
	if (v == NULL || strncmp(v, "sha256:", 7) != 0 ||
	    strlen(v) != POLICY_VERSION_LEN - 1)
		broken("policy_version() is not sha256: and 16 hex digits");
	(void)policy_nrules(p);
	policy_free(p);
	return 0;
}
