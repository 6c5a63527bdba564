/*
 * policy_parse: the grammar of the policy language (nwd-policy(5)).
 * policy_parse() reads the statements (allow and deny rules of publish
 * and deliver, allow allocate rules, role, team, protect, policy for the
 * title, duty, status) into a new struct policy, checking each as it is
 * read, and then has policy_compile() complete it.  Each statement is one
 * parse_ function, chosen by its first word in policy_parse(); the
 * clauses of a rule are read in parse_rule().  Tokens come from
 * policy_lex.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "envelope.h"
#include "policy.h"
#include "policy_int.h"
#include "utf8.h"

/* ------------------------------------------------------------------------
 * Parser
 */

/*
 * Parses "word [, word]..." into l.  check(word, arg) returns NULL if the
 * word is acceptable, else a description of what was expected.
 */
static int
parse_list(struct lexer *lx, const char *what, struct strlist *l,
    const char *(*check)(const char *, const void *), const void *arg)
{
	const char *why;

	for (;;) {
		if (lx->type != T_WORD)
			return policy_lex_fail(lx, "expected %s, got %s", what,
			    policy_lex_desc(lx));
		if (check != NULL && (why = check(lx->text, arg)) != NULL)
			return policy_lex_fail(lx, "%s", why);
		if (l->n == POLICY_MAX_LIST)
			return policy_lex_fail(lx, "more than %d entries in "
			    "a list", POLICY_MAX_LIST);
		if (strlist_has(l, lx->text))
			return policy_lex_fail(lx, "\"%s\" is listed twice",
			    lx->text);
		if (strlist_add(l, lx->text) == -1)
			return policy_lex_fail(lx, "out of memory");
		if (policy_lex_next(lx) == -1)
			return -1;
		if (lx->type != T_COMMA)
			return 0;
		if (policy_lex_next(lx) == -1)
			return -1;
	}
}

static const char *
check_kind(const char *w, const void *arg)
{
	static char	why[POLICY_MAX_WORD + 128];
	Nwd__V1__Kind	k;

	if (strcmp(w, "*") == 0 || envelope_kind_from_name(w, &k) == 0)
		return NULL;
	snprintf(why, sizeof(why), "unknown kind \"%s\" (kinds are the "
	    "Envelope body names, e.g. risk_alert, or *)", w);
	return why;
}

static const char *
check_name(const char *w, const void *arg)
{
	static char	 why[POLICY_MAX_WORD + 64];
	const char	*s;

	for (s = w; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' &&
		    *s != ':' && *s != '.' &&
		    !(*s == '*' && s == w && s[1] == '\0')) {
			snprintf(why, sizeof(why), "\"%s\" is not a name", w);
			return why;
		}
	}
	return NULL;
}

struct role_check {
	const struct policy	*p;
	const char		*rule;
};

/* A role name; once roles are declared, it must be one of them. */
static const char *
check_role(const char *w, const void *arg)
{
	static char		 why[2 * POLICY_MAX_WORD + 96];
	const struct role_check	*rc = arg;
	const char		*bad;
	size_t			 i;

	if ((bad = check_name(w, NULL)) != NULL)
		return bad;
	if (rc->p->nroles == 0 || strcmp(w, "*") == 0)
		return NULL;
	for (i = 0; i < rc->p->nroles; i++)
		if (strcmp(rc->p->roles[i].name, w) == 0)
			return NULL;
	snprintf(why, sizeof(why), "rule \"%s\" names role \"%s\", which no "
	    "role line declares", rc->rule, w);
	return why;
}

static const char *
check_basis(const char *w, const void *arg)
{
	static char		why[POLICY_MAX_WORD + 128];
	Nwd__V1__LegalBasis	b;

	if (envelope_legal_basis_from_name(w, &b) == 0)
		return NULL;
	snprintf(why, sizeof(why), "unknown legal basis \"%s\" (consent, "
	    "safeguarding, legal_obligation, public_task, vital_interests)", w);
	return why;
}

/*
 * A field path must exist in at least one of the rule's kinds; a path
 * of the header's free text exists in every kind.
 */
static const char *
check_path(const char *w, const void *arg)
{
	static char	 why[POLICY_MAX_WORD + 160];
	const struct rule *r = arg;
	char		 e[POLICY_MAX_WORD + 160];
	int		 k, any = 0;

	if (strncmp(w, "header.", 7) == 0) {
		if (redact_path_valid(NULL, w, e, sizeof(e)) == 0)
			return NULL;
		snprintf(why, sizeof(why), "%s", e);
		return why;
	}

	for (k = 1; envelope_kind_body_descriptor(k) != NULL; k++) {
		if (!(r->kinds & (1u << k)))
			continue;
		any = 1;
		if (redact_path_valid(
		        envelope_kind_body_descriptor(k), w, e, sizeof(e)) == 0)
			return NULL;
	}
	if (!any)
		return "field paths need the rule's kinds first";
	snprintf(why, sizeof(why), "no kind of this rule has a field \"%s\"",
	    w);
	return why;
}

/* A team of an allocate rule: own, any, or a team name. */
static const char *
check_alloc_team(const char *w, const void *arg)
{
	if (strcmp(w, "self") == 0)
		return "\"self\" applies to workers; teams are own, any or "
		    "team names";
	if (strcmp(w, "*") == 0)
		return "teams are own, any or team names";
	return check_name(w, NULL);
}

/* A worker of an allocate rule: self, own, any, or a principal. */
static const char *
check_alloc_worker(const char *w, const void *arg)
{
	if (strcmp(w, "*") == 0)
		return "workers are self, own, any or principals";
	return check_name(w, NULL);
}

/*
 * "teams own|any|TEAM[, ...]" or "workers self|own|any|P[, ...]" of an
 * allocate rule, the keyword read: into *flags (ALLOC_*) and names.
 */
static int
parse_alloc_list(struct lexer *lx, int workers, unsigned *flags,
    struct strlist *names)
{
	struct strlist	l = { NULL, 0 };
	size_t		i;

	if (*flags & ALLOC_GIVEN)
		return policy_lex_fail(lx, "%s given twice", workers ?
		    "workers" : "teams");
	if (policy_lex_next(lx) == -1 || parse_list(lx, workers ?
	    "self, own, any or a principal" : "own, any or a team", &l,
	    workers ? check_alloc_worker : check_alloc_team, NULL) == -1)
		goto bad;
	*flags = ALLOC_GIVEN;
	for (i = 0; i < l.n; i++) {
		if (strcmp(l.v[i], "own") == 0)
			*flags |= ALLOC_OWN;
		else if (strcmp(l.v[i], "any") == 0)
			*flags |= ALLOC_ANY;
		else if (workers && strcmp(l.v[i], "self") == 0)
			*flags |= ALLOC_SELF;
		else if (strlist_add(names, l.v[i]) == -1) {
			policy_lex_fail(lx, "out of memory");
			goto bad;
		}
	}
	strlist_clear(&l);
	return 0;
bad:
	strlist_clear(&l);
	return -1;
}

static int
expect_word(struct lexer *lx, const char *what)
{
	if (policy_lex_next(lx) == -1)
		return -1;
	if (lx->type != T_WORD)
		return policy_lex_fail(lx, "expected %s, got %s", what,
		    policy_lex_desc(lx));
	return 0;
}

static int
expect_colon(struct lexer *lx, const char *after)
{
	if (policy_lex_next(lx) == -1)
		return -1;
	if (lx->type != T_COLON)
		return policy_lex_fail(lx, "expected ':' after %s, got %s",
		    after, policy_lex_desc(lx));
	return policy_lex_next(lx);
}

static int
parse_when(struct lexer *lx, struct rule *r)
{
	for (;;) {
		if (policy_lex_next(lx) == -1)
			return -1;
		if (r->action == ACTION_ALLOCATE && (lx->type != T_WORD ||
		    strcmp(lx->text, "allocated") != 0))
			return policy_lex_fail(lx, "allocate rules take when "
			    "allocated only");
		if (lx->type == T_WORD && strcmp(lx->text, "allocated") == 0)
			r->when |= WHEN_ALLOCATED;
		else if (lx->type == T_WORD && strcmp(lx->text, "named") == 0)
			r->when |= WHEN_NAMED;
		else if (lx->type == T_WORD && strcmp(lx->text, "duty") == 0)
			r->when |= WHEN_DUTY;
		else if (lx->type == T_WORD && strcmp(lx->text, "consent") ==
		    0 && r->action == ACTION_DELIVER)
			r->when |= WHEN_CONSENT;
		else
			return policy_lex_fail(lx, "expected allocated, named, "
			    "consent or duty, got %s", policy_lex_desc(lx));
		if (policy_lex_next(lx) == -1)
			return -1;
		if (lx->type != T_WORD || strcmp(lx->text, "or") != 0)
			return 0;
	}
}

/* Which clauses each kind of rule takes. */
static const char *
clause_allowed(const struct rule *r, const char *clause)
{
	int deliver = r->action == ACTION_DELIVER;
	int allow = r->effect == EFFECT_ALLOW;
	int alloc_clause = strcmp(clause, "teams") == 0 ||
	    strcmp(clause, "workers") == 0 || strcmp(clause, "end") == 0;

	if (r->action == ACTION_CORRECT)
		return strcmp(clause, "roles") == 0 ||
		    strcmp(clause, "kinds") == 0 ? NULL : "correct rules take "
		    "roles and kinds only";
	if (r->action == ACTION_ALLOCATE)
		return alloc_clause || strcmp(clause, "roles") == 0 ||
		    strcmp(clause, "when") == 0 ? NULL : "allocate rules take "
		    "roles, when allocated, teams, workers and end";
	if (alloc_clause)
		return "teams, workers and end apply to allow allocate rules";

	if (strcmp(clause, "max") == 0 && !(allow && !deliver))
		return "max applies to allow publish rules; deliveries are "
		    "limited by clearance";
	if ((strcmp(clause, "strip") == 0 || strcmp(clause, "keep") == 0 ||
	    strcmp(clause, "grant") == 0) && !(allow && deliver))
		return "strip, keep and grant apply to allow deliver rules";
	if ((strcmp(clause, "when") == 0 || strcmp(clause, "from") == 0) &&
	    !deliver)
		return "when and from apply to deliver rules";
	return NULL;
}

static int
parse_rule(struct lexer *lx, struct policy *p, enum rule_effect effect)
{
	struct rule	 r;
	struct strlist	 kinds = { NULL, 0 }, bases = { NULL, 0 };
	struct role_check rc;
	const char	*why;
	size_t		 i;
	int		 have_kinds = 0, have_max = 0, have_when = 0;
	int		 have_end = 0;
	Nwd__V1__Kind	 k;
	Nwd__V1__Marking m;
	Nwd__V1__LegalBasis b;

	memset(&r, 0, sizeof(r));
	r.effect = effect;
	r.line = lx->tline;
	r.max_marking = NWD__V1__MARKING__OFFICIAL_SENSITIVE;
	if (policy_lex_next(lx) == -1)
		return -1;
	if (lx->type == T_WORD && strcmp(lx->text, "publish") == 0)
		r.action = ACTION_PUBLISH;
	else if (lx->type == T_WORD && strcmp(lx->text, "deliver") == 0)
		r.action = ACTION_DELIVER;
	else if (lx->type == T_WORD && strcmp(lx->text, "allocate") == 0) {
		if (effect == EFFECT_DENY)
			return policy_lex_fail(lx, "there is no deny allocate: "
			    "allocation rights are granted by allow allocate "
			    "rules only");
		r.action = ACTION_ALLOCATE;
		/* Indexed under the kind it judges. */
		r.kinds = 1u << NWD__V1__KIND__ALLOCATION;
	} else if (lx->type == T_WORD && strcmp(lx->text, "correct") == 0) {
		if (effect == EFFECT_DENY)
			return policy_lex_fail(lx, "there is no deny correct: "
			    "the right to correct another's message is granted "
			    "by allow correct rules only");
		r.action = ACTION_CORRECT;
	} else
		return policy_lex_fail(lx, "expected publish, deliver, "
		    "allocate or correct, got %s", policy_lex_desc(lx));
	if (policy_lex_next(lx) == -1)
		return -1;
	if (lx->type != T_WORD || check_name(lx->text, NULL) != NULL ||
	    strchr(lx->text, ':') != NULL)
		return policy_lex_fail(lx, "expected a rule name, got %s",
		    policy_lex_desc(lx));
	for (i = 0; i < p->nrules; i++)
		if (strcmp(p->rules[i].name, lx->text) == 0)
			return policy_lex_fail(lx, "rule \"%s\" is already "
			    "defined on line %d", lx->text, p->rules[i].line);
	if ((r.name = strdup(lx->text)) == NULL)
		return policy_lex_fail(lx, "out of memory");
	if (expect_colon(lx, "the rule name") == -1)
		goto bad;
	while (lx->type != T_NEWLINE && lx->type != T_EOF) {
		if (lx->type != T_WORD) {
			policy_lex_fail(lx, "expected a clause (%s), got %s",
			    r.action == ACTION_ALLOCATE ? "roles, when, teams, "
			    "workers, end" : "roles, kinds, max, basis, when, "
			    "from, strip, keep, grant", policy_lex_desc(lx));
			goto bad;
		}
		if ((why = clause_allowed(&r, lx->text)) != NULL) {
			policy_lex_fail(lx, "%s", why);
			goto bad;
		}
		if (strcmp(lx->text, "roles") == 0) {
			if (r.roles.n > 0) {
				policy_lex_fail(lx, "roles given twice");
				goto bad;
			}
			if (policy_lex_next(lx) == -1)
				goto bad;
			r.roles_line = lx->tline;
			r.roles_col = lx->tcol;
			rc.p = p;
			rc.rule = r.name;
			if (parse_list(lx, "a role", &r.roles, check_role,
			    &rc) == -1)
				goto bad;
		} else if (strcmp(lx->text, "kinds") == 0) {
			if (have_kinds) {
				policy_lex_fail(lx, "kinds given twice");
				goto bad;
			}
			if (policy_lex_next(lx) == -1 || parse_list(lx,
			    "a kind", &kinds, check_kind, NULL) == -1)
				goto bad;
			for (i = 0; i < kinds.n; i++) {
				if (strcmp(kinds.v[i], "*") == 0)
					r.kinds = ~1u;
				else if (envelope_kind_from_name(
				             kinds.v[i], &k) == 0)
					r.kinds |= 1u << k;
			}
			strlist_clear(&kinds);
			have_kinds = 1;
		} else if (strcmp(lx->text, "max") == 0) {
			if (have_max) {
				policy_lex_fail(lx, "max given twice");
				goto bad;
			}
			if (policy_lex_next(lx) == -1)
				goto bad;
			if (lx->type != T_WORD ||
			    envelope_marking_from_name(lx->text, &m) == -1 ||
			    m > NWD__V1__MARKING__OFFICIAL_SENSITIVE) {
				policy_lex_fail(lx, "expected OFFICIAL or "
				    "OFFICIAL_SENSITIVE, got %s",
				    policy_lex_desc(lx));
				goto bad;
			}
			r.max_marking = m;
			have_max = 1;
			if (policy_lex_next(lx) == -1)
				goto bad;
		} else if (strcmp(lx->text, "basis") == 0) {
			if (r.bases != 0) {
				policy_lex_fail(lx, "basis given twice");
				goto bad;
			}
			if (policy_lex_next(lx) == -1 || parse_list(lx,
			    "a legal basis", &bases, check_basis, NULL) == -1)
				goto bad;
			for (i = 0; i < bases.n; i++)
				if (envelope_legal_basis_from_name(
				        bases.v[i], &b) == 0)
					r.bases |= 1u << b;
			strlist_clear(&bases);
		} else if (strcmp(lx->text, "when") == 0) {
			if (have_when) {
				policy_lex_fail(lx, "when given twice; join "
				    "conditions with \"or\"");
				goto bad;
			}
			have_when = 1;
			if (parse_when(lx, &r) == -1)
				goto bad;
		} else if (strcmp(lx->text, "from") == 0) {
			if (r.from.n > 0) {
				policy_lex_fail(lx, "from given twice");
				goto bad;
			}
			if (policy_lex_next(lx) == -1 || parse_list(lx,
			    "an agency", &r.from, check_name, NULL) == -1)
				goto bad;
		} else if (strcmp(lx->text, "teams") == 0) {
			if (parse_alloc_list(lx, 0, &r.alloc_teams,
			    &r.teams) == -1)
				goto bad;
		} else if (strcmp(lx->text, "workers") == 0) {
			if (parse_alloc_list(lx, 1, &r.alloc_workers,
			    &r.workers) == -1)
				goto bad;
		} else if (strcmp(lx->text, "end") == 0) {
			if (have_end) {
				policy_lex_fail(lx, "end given twice");
				goto bad;
			}
			have_end = 1;
			if (policy_lex_next(lx) == -1)
				goto bad;
			if (lx->type != T_WORD ||
			    (strcmp(lx->text, "own") != 0 &&
			    strcmp(lx->text, "any") != 0)) {
				policy_lex_fail(lx, "expected own or any after "
				    "end, got %s", policy_lex_desc(lx));
				goto bad;
			}
			r.end_any = strcmp(lx->text, "any") == 0;
			if (policy_lex_next(lx) == -1)
				goto bad;
		} else if (strcmp(lx->text, "strip") == 0 ||
		    strcmp(lx->text, "keep") == 0 ||
		    strcmp(lx->text, "grant") == 0) {
			struct strlist *l = lx->text[0] == 's' ? &r.strip :
			    lx->text[0] == 'k' ? &r.keep : &r.grant;
			char clause[POLICY_MAX_WORD + 1];

			snprintf(clause, sizeof(clause), "%s", lx->text);
			if (l->n > 0) {
				policy_lex_fail(lx, "%s given twice", clause);
				goto bad;
			}
			if ((clause[0] == 's' && r.keep.n > 0) ||
			    (clause[0] == 'k' && r.strip.n > 0)) {
				policy_lex_fail(lx, "a rule takes strip or "
				    "keep, not both");
				goto bad;
			}
			if (policy_lex_next(lx) == -1 || parse_list(lx,
			    "a field path", l, check_path, &r) == -1)
				goto bad;
		} else {
			policy_lex_fail(lx, "unknown clause \"%s\" (expected "
			    "%s)", lx->text, r.action == ACTION_ALLOCATE ?
			    "roles, when, teams, workers or end" : "roles, "
			    "kinds, max, basis, when, from, strip, keep or "
			    "grant");
			goto bad;
		}
	}
	if (r.action == ACTION_ALLOCATE && r.roles.n > 0 &&
	    r.alloc_teams == 0 && r.alloc_workers == 0) {
		policy_lex_fail(lx, "rule \"%s\" (line %d) needs teams or "
		    "workers", r.name, r.line);
		goto bad;
	}
	if (r.roles.n == 0 || (!have_kinds && r.action != ACTION_ALLOCATE)) {
		policy_lex_fail(lx, "rule \"%s\" (line %d) needs %s", r.name,
		    r.line, r.roles.n == 0 ? "roles" : "kinds");
		goto bad;
	}
	if (strlist_has(&r.roles, "*"))
		strlist_clear(&r.roles);	/* every role */
	if (p->nrules == POLICY_MAX_RULES) {
		policy_lex_fail(lx, "more than %d rules", POLICY_MAX_RULES);
		goto bad;
	}
	if ((p->nrules & (p->nrules - 1)) == 0) {
		struct rule *nr = realloc(p->rules,
		    (p->nrules ? p->nrules * 2 : 1) * sizeof(*nr));
		if (nr == NULL) {
			policy_lex_fail(lx, "out of memory");
			goto bad;
		}
		p->rules = nr;
	}
	p->rules[p->nrules++] = r;
	return 0;
bad:
	strlist_clear(&kinds);
	strlist_clear(&bases);
	policy_rule_clear(&r);
	return -1;
}

/* "role NAME: agency AGENCY [clearance MARKING]" */
static int
parse_role(struct lexer *lx, struct policy *p)
{
	struct role_decl	 d, *nv;
	Nwd__V1__Marking	 m;
	size_t			 i;

	memset(&d, 0, sizeof(d));
	d.line = lx->tline;
	if (expect_word(lx, "a role name") == -1)
		return -1;
	if (check_name(lx->text, NULL) != NULL || strcmp(lx->text, "*") == 0)
		return policy_lex_fail(lx, "\"%s\" is not a role name",
		    lx->text);
	for (i = 0; i < p->nroles; i++)
		if (strcmp(p->roles[i].name, lx->text) == 0)
			return policy_lex_fail(lx, "role \"%s\" is already "
			    "declared on line %d", lx->text, p->roles[i].line);
	if ((d.name = strdup(lx->text)) == NULL)
		return policy_lex_fail(lx, "out of memory");
	if (expect_colon(lx, "the role name") == -1)
		goto bad;
	while (lx->type != T_NEWLINE && lx->type != T_EOF) {
		if (lx->type == T_WORD && strcmp(lx->text, "agency") == 0 &&
		    d.agency == NULL) {
			if (expect_word(lx, "an agency") == -1)
				goto bad;
			if ((d.agency = strdup(lx->text)) == NULL) {
				policy_lex_fail(lx, "out of memory");
				goto bad;
			}
		} else if (lx->type == T_WORD &&
		    strcmp(lx->text, "clearance") == 0 && d.clearance == 0) {
			if (expect_word(lx, "a marking") == -1)
				goto bad;
			if (envelope_marking_from_name(lx->text, &m) == -1 ||
			    m > NWD__V1__MARKING__OFFICIAL_SENSITIVE) {
				policy_lex_fail(lx, "expected OFFICIAL or "
				    "OFFICIAL_SENSITIVE, got %s",
				    policy_lex_desc(lx));
				goto bad;
			}
			d.clearance = m;
		} else {
			policy_lex_fail(lx, "expected agency or clearance "
			    "(once each), got %s", policy_lex_desc(lx));
			goto bad;
		}
		if (policy_lex_next(lx) == -1)
			goto bad;
	}
	if (d.agency == NULL) {
		policy_lex_fail(lx, "role \"%s\" (line %d) needs an agency",
		    d.name, d.line);
		goto bad;
	}
	if ((nv = realloc(p->roles, (p->nroles + 1) * sizeof(*nv))) == NULL) {
		policy_lex_fail(lx, "out of memory");
		goto bad;
	}
	p->roles = nv;
	p->roles[p->nroles++] = d;
	return 0;
bad:
	free(d.name);
	free(d.agency);
	return -1;
}

/* "team NAME: members P[, P]..." */
static int
parse_team(struct lexer *lx, struct policy *p)
{
	struct team_decl	 d, *nv;
	size_t			 i;

	memset(&d, 0, sizeof(d));
	d.line = lx->tline;
	if (expect_word(lx, "a team name") == -1)
		return -1;
	if (check_name(lx->text, NULL) != NULL || strcmp(lx->text, "*") == 0)
		return policy_lex_fail(lx, "\"%s\" is not a team name",
		    lx->text);
	for (i = 0; i < p->nteams; i++)
		if (strcmp(p->teams[i].name, lx->text) == 0)
			return policy_lex_fail(lx, "team \"%s\" is already "
			    "declared on line %d", lx->text, p->teams[i].line);
	if ((d.name = strdup(lx->text)) == NULL)
		return policy_lex_fail(lx, "out of memory");
	if (expect_colon(lx, "the team name") == -1)
		goto bad;
	if (lx->type != T_WORD || strcmp(lx->text, "members") != 0) {
		policy_lex_fail(lx, "expected members, got %s",
		    policy_lex_desc(lx));
		goto bad;
	}
	if (policy_lex_next(lx) == -1 || parse_list(lx, "a principal",
	    &d.members, check_name, NULL) == -1)
		goto bad;
	if (lx->type != T_NEWLINE && lx->type != T_EOF) {
		policy_lex_fail(lx, "expected end of line after the members, "
		    "got %s", policy_lex_desc(lx));
		goto bad;
	}
	if ((nv = realloc(p->teams, (p->nteams + 1) * sizeof(*nv))) == NULL) {
		policy_lex_fail(lx, "out of memory");
		goto bad;
	}
	p->teams = nv;
	p->teams[p->nteams++] = d;
	return 0;
bad:
	free(d.name);
	strlist_clear(&d.members);
	return -1;
}

/* Finds a message type reachable from a body by its short name. */
static const ProtobufCMessageDescriptor *
find_type(const ProtobufCMessageDescriptor *d, const char *name, int depth)
{
	const ProtobufCMessageDescriptor *found;
	size_t i;

	if (strcmp(d->short_name, name) == 0)
		return d;
	if (depth == POLICY_MAX_DEPTH)
		return NULL;
	for (i = 0; i < d->n_fields; i++) {
		if (d->fields[i].type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		found = find_type(d->fields[i].descriptor, name, depth + 1);
		if (found != NULL)
			return found;
	}
	return NULL;
}

static const ProtobufCMessageDescriptor *
find_body_type(const char *name)
{
	const ProtobufCMessageDescriptor *d = NULL;
	int k;

	for (k = 1; d == NULL && envelope_kind_body_descriptor(k) != NULL; k++)
		d = find_type(envelope_kind_body_descriptor(k), name, 0);
	return d;
}

static const char *
check_type(const char *w, const void *arg)
{
	static char why[POLICY_MAX_WORD + 160];

	if (strncmp(w, "header.", 7) == 0) {
		if (redact_path_valid(NULL, w, why, sizeof(why)) == 0)
			return NULL;
		return why;
	}
	if (find_body_type(w) != NULL)
		return NULL;
	snprintf(why, sizeof(why), "no message kind contains a type \"%s\" "
	    "(types are the message names of nwd.proto, e.g. Address)", w);
	return why;
}

/* "protect TYPE|header.PATH[, ...]" */
static int
parse_protect(struct lexer *lx, struct policy *p)
{
	struct strlist	 l = { NULL, 0 };
	const ProtobufCMessageDescriptor *d;
	size_t		 i;

	if (policy_lex_next(lx) == -1 || parse_list(lx, "a message type", &l,
	    check_type, NULL) == -1)
		goto bad;
	for (i = 0; i < l.n; i++) {
		if (strncmp(l.v[i], "header.", 7) == 0) {
			if (!strlist_has(&p->protect_paths, l.v[i]) &&
			    strlist_add(&p->protect_paths, l.v[i]) == -1) {
				policy_lex_fail(lx, "out of memory");
				goto bad;
			}
			continue;
		}
		d = find_body_type(l.v[i]);
		if (p->nprotect == sizeof(p->protect) / sizeof(p->protect[0])) {
			policy_lex_fail(lx, "too many protected types");
			goto bad;
		}
		p->protect[p->nprotect++] = d;
	}
	if (lx->type != T_NEWLINE && lx->type != T_EOF) {
		policy_lex_fail(lx, "expected end of line after protect, "
		    "got %s", policy_lex_desc(lx));
		goto bad;
	}
	strlist_clear(&l);
	return 0;
bad:
	strlist_clear(&l);
	return -1;
}

/* "policy "title"" */
static int
parse_title(struct lexer *lx, struct policy *p)
{
	if (p->title != NULL)
		return policy_lex_fail(lx, "a policy title given twice");
	if (policy_lex_next(lx) == -1)
		return -1;
	if (lx->type != T_WORD && lx->type != T_STRING)
		return policy_lex_fail(lx, "expected a policy title, got %s",
		    policy_lex_desc(lx));
	if ((p->title = strdup(lx->text)) == NULL)
		return policy_lex_fail(lx, "out of memory");
	if (policy_lex_next(lx) == -1)
		return -1;
	if (lx->type != T_NEWLINE && lx->type != T_EOF)
		return policy_lex_fail(lx, "expected end of line after a "
		    "policy title, got %s", policy_lex_desc(lx));
	return 0;
}

/* "duty P[, P]..." */
static int
parse_duty(struct lexer *lx, struct policy *p)
{
	if (p->duty.n > 0)
		return policy_lex_fail(lx, "the duty principal given twice");
	if (policy_lex_next(lx) == -1 || parse_list(lx, "the duty principal",
	    &p->duty, check_name, NULL) == -1)
		return -1;
	if (lx->type != T_NEWLINE && lx->type != T_EOF)
		return policy_lex_fail(lx, "expected end of line after the "
		    "duty principal, got %s", policy_lex_desc(lx));
	return 0;
}
/*
 * "status names all|agency|none", "status reasons all|agency|none": what
 * a publisher may see of its message's recipients.
 */
static int
parse_status(struct lexer *lx, struct policy *p)
{
	int what, scope;

	if (policy_lex_next(lx) == -1)
		return -1;
	if (lx->type != T_WORD || (strcmp(lx->text, "names") != 0 &&
	    strcmp(lx->text, "reasons") != 0))
		return policy_lex_fail(lx, "expected names or reasons after "
		    "status, got %s", policy_lex_desc(lx));
	what = strcmp(lx->text, "names") == 0 ? 1 : 2;
	if (p->status_set & what)
		return policy_lex_fail(lx, "status %s given twice", what == 1 ?
		    "names" : "reasons");
	if (policy_lex_next(lx) == -1)
		return -1;
	if (lx->type != T_WORD)
		scope = -1;
	else if (strcmp(lx->text, "all") == 0)
		scope = POLICY_STATUS_ALL;
	else if (strcmp(lx->text, "agency") == 0)
		scope = POLICY_STATUS_AGENCY;
	else if (strcmp(lx->text, "none") == 0)
		scope = POLICY_STATUS_NONE;
	else
		scope = -1;
	if (scope == -1)
		return policy_lex_fail(lx, "expected all, agency or none, got "
		    "%s", policy_lex_desc(lx));
	if (what == 1)
		p->status_names = scope;
	else
		p->status_reasons = scope;
	p->status_set |= what;
	if (policy_lex_next(lx) == -1)
		return -1;
	if (lx->type != T_NEWLINE && lx->type != T_EOF)
		return policy_lex_fail(lx, "expected end of line after the "
		    "status scope, got %s", policy_lex_desc(lx));
	return 0;
}

struct policy *
policy_parse(const char *text, size_t len, const char *name, char *err,
    size_t errlen)
{
	struct policy	*p;
	struct lexer	 lx;
	char		 hex[DIGEST_HEX_LEN + 1];
	int		 rc, bad_line, bad_col;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	p->status_names = POLICY_STATUS_AGENCY;
	p->status_reasons = POLICY_STATUS_NONE;
	policy_lex_init(&lx, name, text, len, err, errlen);
	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "%s: contains a NUL byte", name);
		goto bad;
	}
	if (!utf8_text_valid(text, len, &bad_line, &bad_col)) {
		snprintf(err, errlen, "%s:%d:%d: not valid UTF-8", name,
		    bad_line, bad_col);
		goto bad;
	}
	if (policy_lex_next(&lx) == -1)
		goto bad;
	while (lx.type != T_EOF) {
		if (lx.type == T_NEWLINE) {
			if (policy_lex_next(&lx) == -1)
				goto bad;
			continue;
		}
		if (lx.type != T_WORD || !lx.at_line_start) {
			policy_lex_fail(&lx, "expected allow, deny, role, "
			    "team, protect, policy, duty, status, deadline or "
			    "breakglass at the start of a line, got %s",
			    policy_lex_desc(&lx));
			goto bad;
		}
		if (strcmp(lx.text, "allow") == 0)
			rc = parse_rule(&lx, p, EFFECT_ALLOW);
		else if (strcmp(lx.text, "deny") == 0)
			rc = parse_rule(&lx, p, EFFECT_DENY);
		else if (strcmp(lx.text, "role") == 0)
			rc = parse_role(&lx, p);
		else if (strcmp(lx.text, "team") == 0)
			rc = parse_team(&lx, p);
		else if (strcmp(lx.text, "protect") == 0)
			rc = parse_protect(&lx, p);
		else if (strcmp(lx.text, "policy") == 0)
			rc = parse_title(&lx, p);
		else if (strcmp(lx.text, "duty") == 0)
			rc = parse_duty(&lx, p);
		else if (strcmp(lx.text, "status") == 0)
			rc = parse_status(&lx, p);
		else if (strcmp(lx.text, "deadline") == 0)
			rc = policy_deadline_parse(&lx, p);
		else if (strcmp(lx.text, "breakglass") == 0)
			rc = policy_breakglass_parse(&lx, p);
		else {
			policy_lex_fail(&lx, "expected allow, deny, role, "
			    "team, protect, policy, duty, status, deadline or "
			    "breakglass, got %s",
			    policy_lex_desc(&lx));
			goto bad;
		}
		if (rc == -1)
			goto bad;
	}
	if (policy_compile(p, name, err, errlen) == -1)
		goto bad;
	digest_sha256_hex(text, len, hex);
	snprintf(p->version, sizeof(p->version), "sha256:%.16s", hex);
	return p;
bad:
	policy_free(p);
	return NULL;
}
