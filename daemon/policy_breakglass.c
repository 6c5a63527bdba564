/*
 * policy_breakglass: the policy's breakglass rules, emergency access.
 *
 *	breakglass NAME: roles R[,R] kinds K[,K]|* max N minutes|hours
 *	    [strip PATH[,PATH] | keep PATH[,PATH]] [grant PATH[,PATH]]
 *
 * A principal of one of the roles may claim emergency access to one young
 * person, with a reason, for at most the rule's max: while the grant
 * lasts it receives the young person's messages of the kinds, redacted as
 * the strip, keep and grant clauses say (as an allow deliver rule's do,
 * protected types included).  What no rule can lift still holds: a deny
 * deliver rule whose conditions hold, handling code C, legacy 5x5x5
 * codes 4 and 5, consent as the basis, clearance.  The grant stands in
 * for need to know (it is asserted with a reason, and reviewed).
 *
 * Parsing (from policy_parse.c) and the lookups; the decision is
 * policy_check_breakglass() in policy_eval.c.  Pure, like the rest.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "policy.h"
#include "policy_int.h"

#define MINUTE_MS		INT64_C(60000)
#define HOUR_MS			(60 * MINUTE_MS)
#define BREAKGLASS_MAX_HOURS	(7 * 24)	/* a week, at the very most */

static int
is_word(const struct lexer *lx, const char *w)
{
	return lx->type == T_WORD && strcmp(lx->text, w) == 0;
}

static const char *
check_kind(const char *w, const void *arg)
{
	static char	why[POLICY_MAX_WORD + 96];
	Nwd__V1__Kind	k;

	(void)arg;
	if (strcmp(w, "*") == 0 || envelope_kind_from_name(w, &k) == 0)
		return NULL;
	snprintf(why, sizeof(why), "unknown kind \"%s\" (kinds are the "
	    "Envelope body names, e.g. risk_alert, or *)", w);
	return why;
}

struct role_check {
	const struct policy	*p;
	const char		*rule;
};

static const char *
check_role(const char *w, const void *arg)
{
	static char		 why[2 * POLICY_MAX_WORD + 96];
	const struct role_check	*rc = arg;
	const struct policy	*p = rc->p;
	const char		*s;

	for (s = w; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-') {
			snprintf(why, sizeof(why), "\"%s\" is not a role name",
			    w);
			return why;
		}
	if (p->nroles == 0 || policy_find_role(p, w) != NULL)
		return NULL;
	snprintf(why, sizeof(why), "breakglass rule \"%s\" names role \"%s\", "
	    "which no role line declares", rc->rule, w);
	return why;
}

/* A field path of one of the rule's kinds, or of the header's text. */
static const char *
check_path(const char *w, const void *arg)
{
	static char		 why[POLICY_MAX_WORD + 160];
	const struct rule	*r = arg;
	int			 k;

	if (strncmp(w, "header.", 7) == 0)
		return redact_path_valid(NULL, w, why, sizeof(why)) == 0 ?
		    NULL : why;
	for (k = 1; envelope_kind_body_descriptor(k) != NULL; k++)
		if ((r->kinds & (1u << k)) && redact_path_valid(
		    envelope_kind_body_descriptor(k), w, why,
		    sizeof(why)) == 0)
			return NULL;
	snprintf(why, sizeof(why), "no kind of breakglass rule \"%s\" has a "
	    "field \"%s\"", r->name, w);
	return why;
}

/* A list of words, each checked; the lexer is on the first. */
static int
parse_words(struct lexer *lx, const char *what, struct strlist *l,
    const char *(*check)(const char *, const void *), const void *arg)
{
	const char *why;

	for (;;) {
		if (lx->type != T_WORD)
			return policy_lex_fail(lx, "expected %s, got %s", what,
			    policy_lex_desc(lx));
		if ((why = check(lx->text, arg)) != NULL)
			return policy_lex_fail(lx, "%s", why);
		if (strlist_has(l, lx->text))
			return policy_lex_fail(lx, "\"%s\" is listed twice",
			    lx->text);
		if (l->n == POLICY_MAX_LIST || strlist_add(l, lx->text) == -1)
			return policy_lex_fail(lx, "too many entries, or out "
			    "of memory");
		if (policy_lex_next(lx) == -1)
			return -1;
		if (lx->type != T_COMMA)
			return 0;
		if (policy_lex_next(lx) == -1)
			return -1;
	}
}

/* "max N minutes|hours": the lexer is on N. */
static int
parse_max(struct lexer *lx, int64_t *out)
{
	char		*end;
	char		 written[POLICY_MAX_WORD + 1];
	long long	 n;
	int64_t		 unit;

	if (lx->type != T_WORD || !isdigit((unsigned char)lx->text[0]))
		return policy_lex_fail(lx, "expected a number after max, got "
		    "%s", policy_lex_desc(lx));
	errno = 0;
	n = strtoll(lx->text, &end, 10);
	if (*end != '\0' || n <= 0)
		return policy_lex_fail(lx, "expected a whole number above 0 "
		    "after max, got %s", policy_lex_desc(lx));
	/* strtoll saturates a longer number; it is too long either way. */
	if (errno == ERANGE)
		n = LLONG_MAX;
	(void)snprintf(written, sizeof(written), "%s", lx->text);
	if (policy_lex_next(lx) == -1)
		return -1;
	if (is_word(lx, "minutes") || is_word(lx, "minute"))
		unit = MINUTE_MS;
	else if (is_word(lx, "hours") || is_word(lx, "hour"))
		unit = HOUR_MS;
	else
		return policy_lex_fail(lx, "expected minutes or hours after "
		    "the number, got %s", policy_lex_desc(lx));
	/* Divide rather than multiply: n may be as large as LLONG_MAX. */
	if (n > (long long)(BREAKGLASS_MAX_HOURS * HOUR_MS / unit))
		return policy_lex_fail(lx, "max %s %s is longer than a week "
		    "(%d hours), the longest a grant of break-glass may last",
		    written, lx->text, BREAKGLASS_MAX_HOURS);
	*out = n * unit;
	return policy_lex_next(lx);
}

int
policy_breakglass_parse(struct lexer *lx, struct policy *p)
{
	struct breakglass_rule	 b, *nv;
	struct strlist		 kinds = { NULL, 0 };
	struct strlist		*l;
	struct role_check	 rc;
	Nwd__V1__Kind		 k;
	char			 clause[POLICY_MAX_WORD + 1];
	size_t			 i;
	int			 have_kinds = 0;

	memset(&b, 0, sizeof(b));
	b.r.effect = EFFECT_ALLOW;
	b.r.action = ACTION_DELIVER;
	b.r.line = lx->tline;
	if (policy_lex_next(lx) == -1)
		return -1;
	if (lx->type != T_WORD || strchr(lx->text, ':') != NULL)
		return policy_lex_fail(lx, "expected a breakglass rule name, "
		    "got %s", policy_lex_desc(lx));
	for (i = 0; i < p->nbreakglass; i++)
		if (strcmp(p->breakglass[i].r.name, lx->text) == 0)
			return policy_lex_fail(lx, "breakglass rule \"%s\" is "
			    "already defined on line %d", lx->text,
			    p->breakglass[i].r.line);
	if ((b.r.name = strdup(lx->text)) == NULL)
		return policy_lex_fail(lx, "out of memory");
	if (policy_lex_next(lx) == -1)
		goto bad;
	if (lx->type != T_COLON) {
		policy_lex_fail(lx, "expected ':' after the breakglass rule "
		    "name, got %s", policy_lex_desc(lx));
		goto bad;
	}
	if (policy_lex_next(lx) == -1)
		goto bad;
	while (lx->type != T_NEWLINE && lx->type != T_EOF) {
		if (is_word(lx, "roles") && b.r.roles.n == 0) {
			if (policy_lex_next(lx) == -1)
				goto bad;
			b.r.roles_line = lx->tline;
			b.r.roles_col = lx->tcol;
			rc.p = p;
			rc.rule = b.r.name;
			if (parse_words(lx, "a role", &b.r.roles, check_role,
			    &rc) == -1)
				goto bad;
		} else if (is_word(lx, "kinds") && !have_kinds) {
			if (policy_lex_next(lx) == -1 || parse_words(lx,
			    "a kind", &kinds, check_kind, NULL) == -1)
				goto bad;
			for (i = 0; i < kinds.n; i++)
				if (strcmp(kinds.v[i], "*") == 0)
					b.r.kinds = ~1u;
				else if (envelope_kind_from_name(kinds.v[i],
				    &k) == 0)
					b.r.kinds |= 1u << k;
			strlist_clear(&kinds);
			have_kinds = 1;
		} else if (is_word(lx, "max") && b.max_ms == 0) {
			if (policy_lex_next(lx) == -1 ||
			    parse_max(lx, &b.max_ms) == -1)
				goto bad;
		} else if ((is_word(lx, "strip") && b.r.strip.n == 0 &&
		    b.r.keep.n == 0) || (is_word(lx, "keep") &&
		    b.r.keep.n == 0 && b.r.strip.n == 0) ||
		    (is_word(lx, "grant") && b.r.grant.n == 0)) {
			snprintf(clause, sizeof(clause), "%s", lx->text);
			if (!have_kinds) {
				policy_lex_fail(lx, "%s needs the rule's kinds "
				    "first", clause);
				goto bad;
			}
			l = clause[0] == 's' ? &b.r.strip : clause[0] == 'k' ?
			    &b.r.keep : &b.r.grant;
			if (policy_lex_next(lx) == -1 || parse_words(lx,
			    "a field path", l, check_path, &b.r) == -1)
				goto bad;
		} else if ((is_word(lx, "strip") && b.r.keep.n > 0) ||
		    (is_word(lx, "keep") && b.r.strip.n > 0)) {
			policy_lex_fail(lx, "a breakglass rule takes strip or "
			    "keep, not both");
			goto bad;
		} else if (is_word(lx, "roles") || is_word(lx, "kinds") ||
		    is_word(lx, "max") || is_word(lx, "strip") ||
		    is_word(lx, "keep") || is_word(lx, "grant")) {
			policy_lex_fail(lx, "%s given twice", lx->text);
			goto bad;
		} else {
			policy_lex_fail(lx, "expected roles, kinds, max, "
			    "strip, keep or grant in breakglass rule \"%s\", "
			    "got %s", b.r.name, policy_lex_desc(lx));
			goto bad;
		}
	}
	if (b.r.roles.n == 0 || !have_kinds || b.max_ms == 0) {
		policy_lex_fail(lx, "breakglass rule \"%s\" (line %d) needs "
		    "%s", b.r.name, b.r.line, b.r.roles.n == 0 ? "roles" :
		    !have_kinds ? "kinds" : "max (how long a grant lasts at "
		    "most)");
		goto bad;
	}
	if ((nv = realloc(p->breakglass, (p->nbreakglass + 1) *
	    sizeof(*nv))) == NULL) {
		policy_lex_fail(lx, "out of memory");
		goto bad;
	}
	p->breakglass = nv;
	p->breakglass[p->nbreakglass++] = b;
	return 0;
bad:
	strlist_clear(&kinds);
	policy_rule_clear(&b.r);
	return -1;
}

const struct breakglass_rule *
policy_breakglass_rule(const struct policy *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nbreakglass; i++)
		if (strcmp(p->breakglass[i].r.name, name) == 0)
			return &p->breakglass[i];
	return NULL;
}

size_t
policy_nbreakglass(const struct policy *p)
{
	return p->nbreakglass;
}

int
policy_breakglass_for(const struct policy *p, const char *role,
    struct policy_breakglass *out)
{
	const struct breakglass_rule	*b;
	size_t				 i;

	for (i = 0; i < p->nbreakglass; i++) {
		b = &p->breakglass[i];
		if (!strlist_has(&b->r.roles, role))
			continue;
		out->rule = b->r.name;
		out->kinds = b->r.kinds;
		out->max_ms = b->max_ms;
		return 1;
	}
	return 0;
}
