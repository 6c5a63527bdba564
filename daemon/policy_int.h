/*
 * policy_int: what the files of the policy module share and nothing else
 * sees: the limits of the language, the parsed rules and declarations, the
 * runtime policy they compile into (struct policy) and the string lists
 * they are built from.  Include it only from daemon/policy*.c; the API for
 * everyone else is policy.h.
 */
#ifndef NWD_POLICY_INT_H
#define NWD_POLICY_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define POLICY_MAX_WORD		128
#define POLICY_MAX_LIST		64
#define POLICY_MAX_RULES	100000
#define POLICY_MAX_DEPTH	6	/* nesting searched for protected types */
#define NKINDS			32	/* bits in a kinds mask */
#define NACTIONS		4

enum rule_effect { EFFECT_ALLOW, EFFECT_DENY };
enum rule_action { ACTION_PUBLISH, ACTION_DELIVER, ACTION_ALLOCATE,
    ACTION_CORRECT };

/* What an allow allocate rule's teams and workers clauses allow. */
#define ALLOC_GIVEN	0x1	/* the clause is there */
#define ALLOC_OWN	0x2	/* the allocator's teams, or workers who
				   share one with it (itself included) */
#define ALLOC_ANY	0x4	/* any the mapping knows */
#define ALLOC_SELF	0x8	/* workers: the allocator itself */

#define WHEN_ALLOCATED	0x1
#define WHEN_NAMED	0x2
#define WHEN_DUTY	0x4
#define WHEN_CONSENT	0x8

/* A list of strings, owned. */
struct strlist {
	char	**v;
	size_t	  n;
};

struct rule {
	char			*name;		/* owned */
	enum rule_effect	 effect;
	enum rule_action	 action;
	struct strlist		 roles;		/* empty = every role */
	int			 roles_line, roles_col;
	uint32_t		 kinds;		/* bit per Nwd__V1__Kind */
	int			 max_marking;	/* publish: highest marking */
	uint32_t		 bases;		/* bit per legal basis; 0 = any */
	struct strlist		 from;		/* originating agencies */
	unsigned		 when;		/* WHEN_*, any of them; 0 = none */
	struct strlist		 strip, keep, grant;
	/* What this allow withholds, per kind; computed after parsing. */
	struct strlist		 eff[NKINDS];
	/* allow allocate: whom it may allocate (ALLOC_* and the names
	   listed), and whether it may end another's allocation. */
	unsigned		 alloc_teams;
	struct strlist		 teams;
	unsigned		 alloc_workers;
	struct strlist		 workers;
	int			 end_any;
	int			 line;
};

/* A deadline rule (policy_deadline.c). */
enum deadline_unit {
	DEADLINE_ELAPSED,	/* length_ms of real time */
	DEADLINE_WORKING_DAYS,	/* days working days, same local time */
	DEADLINE_SCHOOL_DAY,	/* the next school day at hh:mm */
};

struct deadline_rule {
	char			*name;		/* owned */
	uint32_t		 kinds;		/* bit per Nwd__V1__Kind */
	uint32_t		 priorities;	/* bit per priority; 0: any */
	char			*when_field;	/* owned; NULL: always */
	struct strlist		 when_values;
	int			 from_set;
	char			*from_field;	/* owned; NULL: receipt */
	int			 from_line, from_col;
	enum deadline_unit	 unit;
	int64_t			 length_ms;
	int			 days;
	int			 hh, mm;
	int			 by_ack;
	struct strlist		 ack_roles;	/* empty: any recipient */
	uint32_t		 closing_kinds;	/* referencing messages */
	int64_t			 every_ms;	/* 0: escalate once */
	int			 line;
};

/* A breakglass rule (policy_breakglass.c): who may claim emergency
 * access, to which kinds, for how long at most, redacted as r says (r is
 * an allow rule of action ACTION_DELIVER, outside the index). */
struct breakglass_rule {
	struct rule		 r;
	int64_t			 max_ms;
};

struct role_decl {
	char	*name;		/* owned */
	char	*agency;	/* owned */
	int	 clearance;	/* 0 = no cap */
	int	 line;
};

struct team_decl {
	char		*name;		/* owned */
	struct strlist	 members;
	int		 line;
};

/* The rules that can apply to one (action, kind, role), in file order. */
struct rule_list {
	const struct rule	**v;	/* owned array of borrowed rules */
	size_t			  n;
};

struct policy {
	char		*title;		/* owned; may be NULL */
	struct strlist	 duty;
	int		 status_names;	/* enum policy_status_scope */
	int		 status_reasons;
	int		 status_set;	/* bit 1 names, bit 2 reasons given */
	char		 version[POLICY_VERSION_LEN];
	struct rule	*rules;		/* owned array */
	size_t		 nrules;
	struct deadline_rule *deadlines; /* owned array */
	size_t		 ndeadlines;
	struct breakglass_rule *breakglass; /* owned array */
	size_t		 nbreakglass;
	struct role_decl *roles;	/* owned array */
	size_t		 nroles;
	struct team_decl *teams;	/* owned array */
	size_t		 nteams;
	const ProtobufCMessageDescriptor *protect[32];
	size_t		 nprotect;
	struct strlist	 protect_paths;	/* protected header text */
	/*
	 * index[(action * NKINDS + kind) * (nidx + 1) + role] lists the rules
	 * for a role named in some rule (role < nidx) or for any other role
	 * (role == nidx: the rules for every role only).
	 */
	char		**idx_roles;	/* owned names, nidx of them, sorted */
	size_t		  nidx;
	struct rule_list *index;	/* owned */
	/* principal id -> teams from team lines, sorted by id */
	struct extra_teams {
		const char	 *id;		/* borrowed from teams */
		const char	**teams;	/* owned array, borrowed strings */
		size_t		  n;
	}		*extra;
	size_t		 nextra;
	struct strlist	 pool;		/* paths the per-kind lists borrow */
};

/*
 * The string list helpers, inline so that each file of the module has them
 * without exporting them.  strlist_clear frees every string and leaves an
 * empty list.  strlist_add appends a copy of s; it returns 0, or -1 (out of
 * memory) with l as it was.  strlist_has says whether l holds s.
 */
static inline void
strlist_clear(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static inline int
strlist_add(struct strlist *l, const char *s)
{
	char **nv;

	if ((l->n & (l->n - 1)) == 0) {
		if ((nv = realloc(l->v, (l->n ? l->n * 2 : 1) *
		    sizeof(char *))) == NULL)
			return -1;
		l->v = nv;
	}
	if ((l->v[l->n] = strdup(s)) == NULL)
		return -1;
	l->n++;
	return 0;
}

static inline int
strlist_has(const struct strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

/* ------------------------------------------------------------------------
 * The compiled policy (policy_compile.c)
 */

/*
 * Completes a policy the parser has filled: checks what spans statements,
 * builds the rule index and the teams of each principal, and computes what
 * each allow deliver rule withholds.  Returns 0, or -1 with "NAME:..." in
 * err; on error p is still for policy_free() to free, as a whole.
 */
int		 policy_compile(struct policy *p, const char *name, char *err,
		    size_t errlen);

/* Frees what r owns and zeroes it; r itself belongs to the caller. */
void		 policy_rule_clear(struct rule *r);

/* The declaration of role name, or NULL; it belongs to p. */
const struct role_decl *policy_find_role(const struct policy *p,
		    const char *name);

/*
 * The rules that can apply to action a on kind for role, in file order, or
 * NULL for a kind outside the index.  The list belongs to p.
 */
const struct rule_list *policy_rules_for(const struct policy *p,
		    enum rule_action a, Nwd__V1__Kind kind, const char *role);

/* Returns 1 if withholding path a withholds path b (equal, or a parent). */
int		 policy_path_covers(const char *a, const char *b);

/* ------------------------------------------------------------------------
 * Deadline rules (policy_deadline.c)
 */
struct lexer;

/* Parses "deadline NAME: ..." (the lexer is on "deadline"). */
int		 policy_deadline_parse(struct lexer *lx, struct policy *p);
/* Frees what d owns and zeroes it. */
void		 policy_deadline_clear(struct deadline_rule *d);

/* ------------------------------------------------------------------------
 * Breakglass rules (policy_breakglass.c)
 */

/* Parses "breakglass NAME: ..." (the lexer is on "breakglass"). */
int		 policy_breakglass_parse(struct lexer *lx, struct policy *p);

/* The breakglass rule named name, or NULL; it belongs to p. */
const struct breakglass_rule *policy_breakglass_rule(const struct policy *p,
		    const char *name);

/*
 * What an allow deliver rule r withholds from each kind it covers, into
 * r->eff (policy_compile.c): its strip or keep, and the protected types
 * it does not grant.  0, or -1 if memory ran out.
 */
int		 policy_rule_withheld(struct policy *p, struct rule *r);

/* ------------------------------------------------------------------------
 * The lexer (policy_lex.c), which only the parser (policy_parse.c) uses
 */

enum tok_type { T_WORD, T_STRING, T_COMMA, T_COLON, T_NEWLINE, T_EOF };

struct lexer {
	const char	*name;		/* borrowed, for messages */
	const char	*p, *end;	/* borrowed: the text left to read */
	int		 line, col;
	/* current token */
	enum tok_type	 type;
	char		 text[POLICY_MAX_WORD + 1];
	int		 tline, tcol;
	int		 at_line_start;	/* token began in column 1 */
	char		*err;		/* borrowed: the caller's buffer */
	size_t		 errlen;
};

/*
 * Starts lx on the len bytes of text, which must outlive it.  name is used
 * in messages; errors are written into err, of errlen bytes.  The first
 * token is read by the first policy_lex_next().
 */
void		 policy_lex_init(struct lexer *lx, const char *name,
		    const char *text, size_t len, char *err, size_t errlen);

/*
 * Reads the next token into lx.  Returns 0, or -1 with the error in lx's
 * error buffer.  At the end of the text the token is T_EOF, again and again.
 */
int		 policy_lex_next(struct lexer *lx);

/*
 * Writes "NAME:LINE:COL: " for the current token and then the message into
 * lx's error buffer.  Always returns -1, so that a caller can return it.
 */
int		 policy_lex_fail(struct lexer *lx, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/*
 * The current token as a message names it: "word", ':' or end of line.
 * The string is static and good until the next call.
 */
const char	*policy_lex_desc(const struct lexer *lx);

#endif
