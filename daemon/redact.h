/*
 * redact: removes named fields from an envelope's body, generically over
 * protobuf-c descriptors, so that a new message kind needs schema and
 * policy lines but no new C code, and the header's free text.  Pure: no
 * I/O.
 *
 * A path names a field of the body message, with dots for nested messages:
 * "source_details", "grading.handling_conditions"; or, beginning
 * "header.", one of the header's free-text fields (redact_header_path()):
 * "header.justification", "header.share_with",
 * "header.subject.nhs_number".  The rest of the header (the subject's
 * local id, kind, marking, sender, ...) is what routes and identifies a
 * message and cannot be withheld.
 */
#ifndef NWD_REDACT_H
#define NWD_REDACT_H

#include <stddef.h>
#include <stdint.h>

#include "nwd.pb-c.h"

#define REDACT_MAX_PATHS	64

/*
 * Checks that path names a field of the body of kind (NULL kind descriptor
 * means "any kind": the path is checked against every body), or the
 * header's free text (for any kind).  Returns 0, or -1 with the reason in
 * err.
 */
int	redact_path_valid(const ProtobufCMessageDescriptor *body,
	    const char *path, char *err, size_t errlen);

/*
 * The paths of the header's free text, which a policy may withhold as it
 * withholds body fields: the i-th, or NULL past the last.  The strings
 * are static.
 */
const char *redact_header_path(size_t i);

/* Returns 1 if path names a field that holds a value in env, else 0. */
int	redact_path_present(const Nwd__V1__Envelope *env, const char *path);

/*
 * Packs env with every field named in paths cleared from its body or
 * header.  env is modified while packing and restored before return, so
 * the caller's envelope is unchanged.  Paths that do not exist in this
 * kind, and header paths other than redact_header_path()'s, are ignored.
 * withheld (may be NULL) receives, comma-separated, the paths that were
 * present and removed.  Returns the packed bytes (caller frees), or NULL if
 * memory ran out or withheld is too small to name every path removed (the
 * audit must never under-report what was withheld).
 */
uint8_t	*redact_pack(Nwd__V1__Envelope *env, const char *const *paths,
	    size_t npaths, size_t *lenp, char *withheld, size_t withheldlen);

/*
 * The same without packing: names in withheld the paths that were present
 * and would be removed.  Returns 0, or -1 if withheld is too small.
 */
int	 redact_withheld(Nwd__V1__Envelope *env, const char *const *paths,
	    size_t npaths, char *withheld, size_t withheldlen);

#endif
