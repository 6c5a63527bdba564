/*
 * policyfix: what the unit tests of the policy module (test_policy.c) and
 * of the decision engine (test_decide.c) both need: an arena, envelopes
 * with every body field set, the check of what a recipient receives (G10)
 * with protobuf-c's generic decoder rather than with redact.c, the
 * shipped policy and principals, and the lines of tests/data/
 * policy-cases.txt.
 *
 * Test code: a failure that is the fixture's own (memory, a file that
 * will not load) fails the running cmocka test.
 */
#ifndef NWD_POLICYFIX_H
#define NWD_POLICYFIX_H

#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "identity.h"
#include "nwd.pb-c.h"
#include "policy.h"

#define FIX_POLICY_FILE		NWD_TEST_DATA "/../../deploy/policy.nwd"
#define FIX_PRINCIPALS_FILE	NWD_TEST_DATA "/../../deploy/principals.conf"
#define FIX_CASES_FILE		NWD_TEST_DATA "/policy-cases.txt"

/* Reads a whole file into a new NUL-terminated buffer; NULL on failure. */
char		*fix_slurp(const char *path, size_t *lenp);

/* Appends to a fixed buffer, never overrunning it. */
void		 fix_appendf(char *buf, size_t len, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

/* Parses policy text; fails the test if it does not parse. */
struct policy	*fix_parse_ok(const char *text, const char *name);

/* Returns 1 if withholding path a withholds path b (equal, or a parent). */
int		 fix_covers(const char *a, const char *b);
int		 fix_covered_by_any(const char *path,
		    const char *const *list, size_t n);

/* An arena: everything a test builds, freed at once. */
struct fix_arena {
	void	**v;		/* owned, and each of its n pointers */
	size_t	  n, cap;
};

/* Zeroed memory the arena owns. */
void		*fix_arena_alloc(struct fix_arena *a, size_t n);
char		*fix_arena_printf(struct fix_arena *a, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* Frees everything and empties the arena, which may be used again. */
void		 fix_arena_free(struct fix_arena *a);

/* Protobuf-c's layout of a value, generically over the descriptors. */
size_t		 fix_value_size(ProtobufCType t);
void		*fix_field_slot(const ProtobufCMessage *m,
		    const ProtobufCFieldDescriptor *fd);
size_t		*fix_field_count(const ProtobufCMessage *m,
		    const ProtobufCFieldDescriptor *fd);
/* Returns 1 if the field holds a value other than its default. */
int		 fix_value_present(const ProtobufCMessage *m,
		    const ProtobufCFieldDescriptor *fd);

/* The message id a full envelope refers to where it must name one. */
#define FIX_REFERENCED_ID	"01890a5d-ac96-774b-bcce-b302099a8057"

/*
 * A new envelope of kind about subject, with every body field set (strings
 * "[path#i]", so that no string of a field is part of another's; repeated
 * fields hold two entries; enums their first value but where fields must
 * go together: a ConsentRecord is WITHDRAWN, withdrawing
 * FIX_REFERENCED_ID; a SharingDecision is not shared with "police",
 * decided at 1 ms); the header has no share_with, no legal basis, no
 * sender, and references FIX_REFERENCED_ID in a ReturnInterview only.
 * Everything is the arena's.
 */
Nwd__V1__Envelope *fix_full_envelope(struct fix_arena *a, Nwd__V1__Kind kind,
		    const char *subject, Nwd__V1__Marking marking);
/* Adds who to share_with unless it is there; the strings are a's. */
void		 fix_add_share_with(struct fix_arena *a, Nwd__V1__Header *h,
		    const char *who);
/*
 * A copy of env as a peer's bytes unpack: every part owned by protobuf-c,
 * so that code which replaces its strings (the engine) may; the caller
 * frees it with nwd__v1__envelope__free_unpacked().
 */
Nwd__V1__Envelope *fix_envelope_copy(const Nwd__V1__Envelope *env);
/* Returns 1 if path (dotted, as redact.h) names a field present in env's
 * body, or with "header." in its header; paths through a repeated field
 * name nothing. */
int		 fix_path_present(const Nwd__V1__Envelope *env,
		    const char *path);

/*
 * Compares a decoded body with the original: fields under a path of strip
 * must be absent (and none of their text anywhere in buf), every other
 * field present with its value.  Appends what is wrong to why.
 */
void		 fix_compare_body(const ProtobufCMessageDescriptor *d,
		    const ProtobufCMessage *orig, const ProtobufCMessage *got,
		    const char *prefix, const char *const *strip,
		    size_t nstrip, const uint8_t *buf, size_t len, char *why,
		    size_t whylen);
/*
 * Checks the bytes a recipient of env receives, decoded with protobuf-c's
 * generic decoder: the header and the body as fix_compare_body() says for
 * the paths strip (header paths begin "header.").  Returns 0, or -1 with
 * what is wrong in why.
 */
int		 fix_check_bytes(const Nwd__V1__Envelope *env,
		    const char *const *strip, size_t nstrip, const uint8_t *buf,
		    size_t len, char *why, size_t whylen);
/*
 * Packs env for a recipient as the broker does (redact_pack with a
 * decision's strip list) and checks the bytes with fix_check_bytes().
 * withheld gets redact_pack's list of what it removed.  Returns 0, or -1
 * with what is wrong in why.
 */
int		 fix_check_delivered(Nwd__V1__Envelope *env,
		    const char *const *strip, size_t nstrip, char *withheld,
		    size_t withheldlen, char *why, size_t whylen);

/* Returns 1 if two comma-separated lists hold the same items. */
int		 fix_same_set(const char *a, const char *b);
/* A decision's strip list, comma-separated. */
void		 fix_strip_csv(const struct policy_decision *d, char *out,
		    size_t outlen);
/* Splits a comma-separated list (in place) into at most max paths;
 * returns how many, or -1 if there are more. */
int		 fix_split_paths(char *csv, const char **out, size_t max);

/* "allow", "deny", "norule"; returns 0, or -1 for another word. */
int		 fix_parse_verdict(const char *w, enum policy_verdict *v);

/*
 * deploy/policy.nwd and deploy/principals.conf, loaded by
 * fix_load_deploy() (a cmocka group setup) and freed by fix_free_deploy().
 */
extern struct policy		*fix_policy;
extern struct identity_map	*fix_principals;
extern char			*fix_policy_text;	/* the policy's text */
extern size_t			 fix_policy_len;

int		 fix_load_deploy(void **state);
int		 fix_free_deploy(void **state);
/* The principal of principals.conf with id; fails the test if none. */
const struct principal *fix_cast(const char *id);

/*
 * One line of tests/data/policy-cases.txt (its header says how to read
 * it).  The context of a question:
 */
#define FIX_CTX_NONE		0
#define FIX_CTX_ALLOCATED	1	/* YP-001 allocated to the principal */
#define FIX_CTX_NAMED		2	/* the principal in share_with */
#define FIX_CTX_DUTY		4	/* asked in the duty pass */

struct fix_case {
	const struct principal	*pr;		/* fix_principals' */
	int			 publish;	/* else deliver, or: */
	int			 allocate;	/* pr allocates (the
						   message is an
						   Allocation) */
	Nwd__V1__Kind		 kind;
	Nwd__V1__Marking	 marking;
	int			 context;	/* FIX_CTX_* */
	enum policy_verdict	 want;
	const char		*rules;		/* the line's; "" none */
	const char		*strip;		/* the line's; NULL none */
};

/*
 * Parses a case line, splitting it in place (c's strings point into it).
 * Returns NULL, or what is wrong with the line.
 */
const char	*fix_case_parse(char *line, struct fix_case *c);

/*
 * The message of a case: a full envelope of kind and marking about
 * YP-001 with legal basis safeguarding (an intelligence report graded
 * 2A, handling P, legacy B22, which the broker accepts), pr named in
 * share_with if context says so; and, if it says allocated, YP-001
 * allocated to pr by name in t (pr and t may be NULL for FIX_CTX_NONE).
 * An Allocation allocates pr as the worker, and pr's first team (none if
 * it has none), so that it names what the mapping knows.
 * The envelope is a's.
 */
Nwd__V1__Envelope *fix_case_message(struct fix_arena *a,
		    const struct principal *pr, Nwd__V1__Kind kind,
		    Nwd__V1__Marking marking, int context,
		    struct alloc_table *t);

/*
 * Puts every case line of policy-cases.txt to check, which returns NULL
 * or what went wrong (it may write that in why, whylen bytes).  Each
 * failure is printed as "policy-cases.txt:LINE: what\n    the line".
 * Returns the number of cases; *nbad gets the number that failed.
 */
int		 fix_cases_each(const char *(*check)(const struct fix_case *c,
		    char *why, size_t whylen, void *arg), void *arg,
		    int *nbad);

#endif
