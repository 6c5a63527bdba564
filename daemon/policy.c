#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "envelope.h"
#include "policy.h"

#define POLICY_MAX_WORD		128
#define POLICY_MAX_LIST		64
#define POLICY_MAX_RULES	100000

enum rule_effect { EFFECT_ALLOW, EFFECT_DENY };
enum rule_action { ACTION_PUBLISH, ACTION_DELIVER };

struct rule {
	char			*name;		/* owned */
	enum rule_effect	 effect;
	enum rule_action	 action;
	char			**roles;	/* owned; NULL = any role */
	size_t			 nroles;
	uint32_t		 kinds;		/* bit per Nwd__V1__Kind */
	int			 max_marking;	/* publish: highest marking */
	char			**strip;	/* owned paths */
	size_t			 nstrip;
	int			 line;
};

struct policy {
	char		*title;		/* owned; may be NULL */
	char		*duty;		/* owned; may be NULL */
	char		 version[POLICY_VERSION_LEN];
	struct rule	*rules;		/* owned array */
	size_t		 nrules;
};

/* ------------------------------------------------------------------------
 * Tokens
 */

enum tok_type { T_WORD, T_STRING, T_COMMA, T_COLON, T_NEWLINE, T_EOF };

struct lexer {
	const char	*name;
	const char	*p, *end;
	int		 line, col;
	/* current token */
	enum tok_type	 type;
	char		 text[POLICY_MAX_WORD + 1];
	int		 tline, tcol;
	int		 at_line_start;	/* token began in column 1 */
	char		*err;
	size_t		 errlen;
};

static int
lex_fail(struct lexer *lx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
lex_fail(struct lexer *lx, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	n = snprintf(lx->err, lx->errlen, "%s:%d:%d: ", lx->name, lx->tline,
	    lx->tcol);
	if (n < 0 || (size_t)n >= lx->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(lx->err + n, lx->errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

static void
advance(struct lexer *lx)
{
	if (*lx->p == '\n') {
		lx->line++;
		lx->col = 1;
	} else
		lx->col++;
	lx->p++;
}

static int
word_char(int c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '.' || c == '*' ||
	    c == '/';
}

/*
 * Reads the next token.  A line that begins with white space continues the
 * statement above it, so newlines are only reported before a line that
 * starts in column 1.
 */
static int
lex_next(struct lexer *lx)
{
	size_t n = 0;
	int c;

	for (;;) {
		if (lx->p >= lx->end) {
			lx->type = T_EOF;
			lx->tline = lx->line;
			lx->tcol = lx->col;
			strcpy(lx->text, "end of file");
			return 0;
		}
		c = (unsigned char)*lx->p;
		if (c == '#') {
			while (lx->p < lx->end && *lx->p != '\n')
				advance(lx);
			continue;
		}
		if (c == '\n') {
			advance(lx);
			if (lx->p < lx->end && *lx->p != ' ' &&
			    *lx->p != '\t' && *lx->p != '\n' &&
			    *lx->p != '\r' && *lx->p != '#') {
				lx->type = T_NEWLINE;
				lx->tline = lx->line;
				lx->tcol = 1;
				strcpy(lx->text, "end of line");
				return 0;
			}
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r') {
			advance(lx);
			continue;
		}
		break;
	}
	lx->tline = lx->line;
	lx->tcol = lx->col;
	lx->at_line_start = lx->col == 1;
	if (c == ',' || c == ':') {
		lx->type = c == ',' ? T_COMMA : T_COLON;
		lx->text[0] = c;
		lx->text[1] = '\0';
		advance(lx);
		return 0;
	}
	if (c == '"') {
		advance(lx);
		while (lx->p < lx->end && *lx->p != '"' && *lx->p != '\n') {
			if (n == POLICY_MAX_WORD)
				return lex_fail(lx, "string longer than %d "
				    "bytes", POLICY_MAX_WORD);
			if (!isprint((unsigned char)*lx->p))
				return lex_fail(lx, "control character in "
				    "string");
			lx->text[n++] = *lx->p;
			advance(lx);
		}
		if (lx->p >= lx->end || *lx->p != '"')
			return lex_fail(lx, "string is not closed with \"");
		advance(lx);
		lx->text[n] = '\0';
		lx->type = T_STRING;
		return 0;
	}
	if (!word_char(c)) {
		if (isprint(c))
			return lex_fail(lx, "unexpected character '%c'", c);
		return lex_fail(lx, "unexpected byte 0x%02x", c);
	}
	while (lx->p < lx->end && word_char((unsigned char)*lx->p)) {
		if (n == POLICY_MAX_WORD)
			return lex_fail(lx, "word longer than %d bytes",
			    POLICY_MAX_WORD);
		lx->text[n++] = *lx->p;
		advance(lx);
	}
	lx->text[n] = '\0';
	lx->type = T_WORD;
	return 0;
}

static const char *
tok_desc(const struct lexer *lx)
{
	static char buf[POLICY_MAX_WORD + 16];

	if (lx->type == T_WORD || lx->type == T_STRING)
		snprintf(buf, sizeof(buf), "\"%s\"", lx->text);
	else if (lx->type == T_COMMA || lx->type == T_COLON)
		snprintf(buf, sizeof(buf), "'%s'", lx->text);
	else
		snprintf(buf, sizeof(buf), "%s", lx->text);
	return buf;
}

/* ------------------------------------------------------------------------
 * Parser
 */

static void
rule_clear(struct rule *r)
{
	size_t i;

	free(r->name);
	for (i = 0; i < r->nroles; i++)
		free(r->roles[i]);
	free(r->roles);
	for (i = 0; i < r->nstrip; i++)
		free(r->strip[i]);
	free(r->strip);
	memset(r, 0, sizeof(*r));
}

void
policy_free(struct policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nrules; i++)
		rule_clear(&p->rules[i]);
	free(p->rules);
	free(p->title);
	free(p->duty);
	free(p);
}

/*
 * Parses "word [, word]..." into a new array.  check(word) returns NULL if
 * the word is acceptable, else a description of what was expected.
 */
static int
parse_list(struct lexer *lx, const char *what, char ***out, size_t *nout,
    const char *(*check)(const char *, void *), void *arg)
{
	char		**v;
	const char	*why;
	size_t		 n = 0;

	if ((v = calloc(POLICY_MAX_LIST, sizeof(char *))) == NULL)
		return lex_fail(lx, "out of memory");
	for (;;) {
		if (lx->type != T_WORD) {
			lex_fail(lx, "expected %s, got %s", what, tok_desc(lx));
			goto bad;
		}
		if (check != NULL && (why = check(lx->text, arg)) != NULL) {
			lex_fail(lx, "%s", why);
			goto bad;
		}
		if (n == POLICY_MAX_LIST) {
			lex_fail(lx, "more than %d entries in a list",
			    POLICY_MAX_LIST);
			goto bad;
		}
		if ((v[n++] = strdup(lx->text)) == NULL) {
			lex_fail(lx, "out of memory");
			goto bad;
		}
		if (lex_next(lx) == -1)
			goto bad;
		if (lx->type != T_COMMA)
			break;
		if (lex_next(lx) == -1)
			goto bad;
	}
	*out = v;
	*nout = n;
	return 0;
bad:
	while (n > 0)
		free(v[--n]);
	free(v);
	return -1;
}

static const char *
check_kind(const char *w, void *arg)
{
	static char	why[POLICY_MAX_WORD + 128];
	Nwd__V1__Kind	k;

	if (strcmp(w, "*") == 0 || kind_from_name(w, &k) == 0)
		return NULL;
	snprintf(why, sizeof(why), "unknown kind \"%s\" (kinds are the "
	    "Envelope body names, e.g. risk_alert, or *)", w);
	return why;
}

static const char *
check_role(const char *w, void *arg)
{
	static char why[POLICY_MAX_WORD + 64];
	const char *s;

	for (s = w; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' &&
		    !(*s == '*' && s == w && s[1] == '\0')) {
			snprintf(why, sizeof(why), "\"%s\" is not a role name",
			    w);
			return why;
		}
	}
	return NULL;
}

static const char *
check_path(const char *w, void *arg)
{
	static char	 why[POLICY_MAX_WORD + 160];
	const struct rule *r = arg;
	char		 e[POLICY_MAX_WORD + 64];
	int		 k, any = 0;

	for (k = 1; kind_body_descriptor(k) != NULL; k++) {
		if (!(r->kinds & (1u << k)))
			continue;
		any = 1;
		if (redact_path_valid(kind_body_descriptor(k), w, e,
		    sizeof(e)) == 0)
			return NULL;
	}
	if (!any)
		return "strip needs the rule's kinds first";
	snprintf(why, sizeof(why), "no kind of this rule has a field \"%s\"",
	    w);
	return why;
}

static int
parse_rule(struct lexer *lx, struct policy *p, enum rule_effect effect)
{
	struct rule	 r;
	char		**list;
	size_t		 n, i;
	int		 have_kinds = 0;
	Nwd__V1__Kind	 k;
	Nwd__V1__Marking m;

	memset(&r, 0, sizeof(r));
	r.effect = effect;
	r.line = lx->tline;
	r.max_marking = NWD__V1__MARKING__OFFICIAL_SENSITIVE;
	if (lex_next(lx) == -1)
		return -1;
	if (lx->type == T_WORD && strcmp(lx->text, "publish") == 0)
		r.action = ACTION_PUBLISH;
	else if (lx->type == T_WORD && strcmp(lx->text, "deliver") == 0)
		r.action = ACTION_DELIVER;
	else
		return lex_fail(lx, "expected publish or deliver, got %s",
		    tok_desc(lx));
	if (lex_next(lx) == -1)
		return -1;
	if (lx->type != T_WORD || check_role(lx->text, NULL) != NULL)
		return lex_fail(lx, "expected a rule name, got %s",
		    tok_desc(lx));
	for (i = 0; i < p->nrules; i++)
		if (strcmp(p->rules[i].name, lx->text) == 0)
			return lex_fail(lx, "rule \"%s\" is already defined "
			    "on line %d", lx->text, p->rules[i].line);
	if ((r.name = strdup(lx->text)) == NULL)
		return lex_fail(lx, "out of memory");
	if (lex_next(lx) == -1)
		goto bad;
	if (lx->type != T_COLON) {
		lex_fail(lx, "expected ':' after the rule name, got %s",
		    tok_desc(lx));
		goto bad;
	}
	if (lex_next(lx) == -1)
		goto bad;
	while (lx->type != T_NEWLINE && lx->type != T_EOF) {
		if (lx->type != T_WORD) {
			lex_fail(lx, "expected a clause (roles, kinds, max, "
			    "strip), got %s", tok_desc(lx));
			goto bad;
		}
		if (strcmp(lx->text, "roles") == 0) {
			if (r.roles != NULL) {
				lex_fail(lx, "roles given twice");
				goto bad;
			}
			if (lex_next(lx) == -1 || parse_list(lx, "a role",
			    &r.roles, &r.nroles, check_role, NULL) == -1)
				goto bad;
		} else if (strcmp(lx->text, "kinds") == 0) {
			if (have_kinds) {
				lex_fail(lx, "kinds given twice");
				goto bad;
			}
			if (lex_next(lx) == -1 || parse_list(lx, "a kind",
			    &list, &n, check_kind, NULL) == -1)
				goto bad;
			for (i = 0; i < n; i++) {
				if (strcmp(list[i], "*") == 0)
					r.kinds = ~1u;
				else if (kind_from_name(list[i], &k) == 0)
					r.kinds |= 1u << k;
				free(list[i]);
			}
			free(list);
			have_kinds = 1;
		} else if (strcmp(lx->text, "max") == 0) {
			if (r.action != ACTION_PUBLISH) {
				lex_fail(lx, "max applies to publish rules; "
				    "deliveries are limited by clearance");
				goto bad;
			}
			if (lex_next(lx) == -1)
				goto bad;
			if (lx->type != T_WORD ||
			    marking_from_name(lx->text, &m) == -1 ||
			    m > NWD__V1__MARKING__OFFICIAL_SENSITIVE) {
				lex_fail(lx, "expected OFFICIAL or "
				    "OFFICIAL_SENSITIVE, got %s", tok_desc(lx));
				goto bad;
			}
			r.max_marking = m;
			if (lex_next(lx) == -1)
				goto bad;
		} else if (strcmp(lx->text, "strip") == 0) {
			if (r.action != ACTION_DELIVER ||
			    r.effect != EFFECT_ALLOW) {
				lex_fail(lx, "strip applies to allow deliver "
				    "rules");
				goto bad;
			}
			if (r.strip != NULL) {
				lex_fail(lx, "strip given twice");
				goto bad;
			}
			if (lex_next(lx) == -1 || parse_list(lx, "a field path",
			    &r.strip, &r.nstrip, check_path, &r) == -1)
				goto bad;
		} else {
			lex_fail(lx, "unknown clause \"%s\" (expected roles, "
			    "kinds, max or strip)", lx->text);
			goto bad;
		}
	}
	if (r.roles == NULL || !have_kinds) {
		lex_fail(lx, "rule \"%s\" needs %s", r.name,
		    r.roles == NULL ? "roles" : "kinds");
		goto bad;
	}
	for (i = 0; i < r.nroles; i++)
		if (strcmp(r.roles[i], "*") == 0)
			break;
	if (i < r.nroles) {
		/* "*" anywhere in the list means every role. */
		for (i = 0; i < r.nroles; i++)
			free(r.roles[i]);
		free(r.roles);
		r.roles = NULL;
		r.nroles = 0;
	}
	if (p->nrules == POLICY_MAX_RULES) {
		lex_fail(lx, "more than %d rules", POLICY_MAX_RULES);
		goto bad;
	}
	if ((p->nrules & (p->nrules - 1)) == 0) {
		struct rule *nr = realloc(p->rules,
		    (p->nrules ? p->nrules * 2 : 1) * sizeof(*nr));
		if (nr == NULL) {
			lex_fail(lx, "out of memory");
			goto bad;
		}
		p->rules = nr;
	}
	p->rules[p->nrules++] = r;
	return 0;
bad:
	rule_clear(&r);
	return -1;
}

/* "policy "title"" and "duty principal" */
static int
parse_setting(struct lexer *lx, char **slot, const char *what)
{
	if (*slot != NULL)
		return lex_fail(lx, "%s given twice", what);
	if (lex_next(lx) == -1)
		return -1;
	if (lx->type != T_WORD && lx->type != T_STRING)
		return lex_fail(lx, "expected %s, got %s", what, tok_desc(lx));
	if ((*slot = strdup(lx->text)) == NULL)
		return lex_fail(lx, "out of memory");
	if (lex_next(lx) == -1)
		return -1;
	if (lx->type != T_NEWLINE && lx->type != T_EOF)
		return lex_fail(lx, "expected end of line after %s, got %s",
		    what, tok_desc(lx));
	return 0;
}

struct policy *
policy_parse(const char *text, size_t len, const char *name, char *err,
    size_t errlen)
{
	struct policy	*p;
	struct lexer	 lx;
	char		 hex[DIGEST_HEX_LEN + 1];
	int		 rc;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	memset(&lx, 0, sizeof(lx));
	lx.name = name;
	lx.p = text;
	lx.end = text + len;
	lx.line = lx.col = 1;
	lx.err = err;
	lx.errlen = errlen;
	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "%s: contains a NUL byte", name);
		goto bad;
	}
	if (lex_next(&lx) == -1)
		goto bad;
	while (lx.type != T_EOF) {
		if (lx.type == T_NEWLINE) {
			if (lex_next(&lx) == -1)
				goto bad;
			continue;
		}
		if (lx.type != T_WORD || !lx.at_line_start) {
			lex_fail(&lx, "expected allow, deny, policy or duty at "
			    "the start of a line, got %s", tok_desc(&lx));
			goto bad;
		}
		if (strcmp(lx.text, "allow") == 0)
			rc = parse_rule(&lx, p, EFFECT_ALLOW);
		else if (strcmp(lx.text, "deny") == 0)
			rc = parse_rule(&lx, p, EFFECT_DENY);
		else if (strcmp(lx.text, "policy") == 0)
			rc = parse_setting(&lx, &p->title, "a policy title");
		else if (strcmp(lx.text, "duty") == 0)
			rc = parse_setting(&lx, &p->duty,
			    "the duty principal");
		else {
			lex_fail(&lx, "expected allow, deny, policy or duty, "
			    "got %s", tok_desc(&lx));
			goto bad;
		}
		if (rc == -1)
			goto bad;
	}
	digest_sha256_hex(text, len, hex);
	snprintf(p->version, sizeof(p->version), "sha256:%.16s", hex);
	return p;
bad:
	policy_free(p);
	return NULL;
}

const char *
policy_version(const struct policy *p)
{
	return p->version;
}

const char *
policy_duty(const struct policy *p)
{
	return p->duty;
}

size_t
policy_nrules(const struct policy *p)
{
	return p->nrules;
}

const char *
policy_verdict_name(enum policy_verdict v)
{
	switch (v) {
	case POLICY_ALLOW:
		return "allow";
	case POLICY_DENY:
		return "deny";
	default:
		return "deny (no rule)";
	}
}

/* ------------------------------------------------------------------------
 * Decisions
 */

static int
rule_matches(const struct rule *r, enum rule_action action,
    const struct principal *who, Nwd__V1__Kind kind)
{
	size_t i;

	if (r->action != action || !(r->kinds & (1u << kind)))
		return 0;
	if (r->roles == NULL)
		return 1;
	for (i = 0; i < r->nroles; i++)
		if (strcmp(r->roles[i], who->role) == 0)
			return 1;
	return 0;
}

static void
add_rule_name(struct policy_decision *d, const char *name)
{
	size_t n = strlen(d->rules);

	snprintf(d->rules + n, sizeof(d->rules) - n, "%s%s", n > 0 ? "," : "",
	    name);
}

/* Returns 1 if withholding path a withholds path b (equal, or a parent). */
static int
path_covers(const char *a, const char *b)
{
	size_t n = strlen(a);

	return strncmp(a, b, n) == 0 && (b[n] == '\0' || b[n] == '.');
}

/*
 * Narrows set (n paths) to what both it and r withhold: for each pair where
 * one path covers the other, the narrower one is withheld by both.
 */
static size_t
strip_intersect(const char **set, size_t n, const struct rule *r)
{
	const char	*out[REDACT_MAX_PATHS];
	const char	*w;
	size_t		 i, j, k, nout = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < r->nstrip; j++) {
			if (path_covers(set[i], r->strip[j]))
				w = r->strip[j];
			else if (path_covers(r->strip[j], set[i]))
				w = set[i];
			else
				continue;
			for (k = 0; k < nout; k++)
				if (strcmp(out[k], w) == 0)
					break;
			if (k == nout && nout < REDACT_MAX_PATHS)
				out[nout++] = w;
		}
	}
	memcpy(set, out, nout * sizeof(out[0]));
	return nout;
}

static void
decision_init(struct policy_decision *d)
{
	memset(d, 0, sizeof(*d));
	d->verdict = POLICY_DENY_NO_RULE;
}

enum policy_verdict
policy_check_publish(const struct policy *p, const struct principal *sender,
    const Nwd__V1__Envelope *env, struct policy_decision *out)
{
	Nwd__V1__Kind	 kind = env->header->kind;
	int		 marking = env->header->marking;
	const struct rule *too_low = NULL;
	size_t		 i;

	decision_init(out);
	for (i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];

		if (!rule_matches(r, ACTION_PUBLISH, sender, kind))
			continue;
		if (r->effect == EFFECT_DENY) {
			out->verdict = POLICY_DENY;
			out->rules[0] = '\0';
			add_rule_name(out, r->name);
			snprintf(out->reason, sizeof(out->reason), "rule %s "
			    "forbids role %s to publish %s", r->name,
			    sender->role, kind_name(kind));
			return out->verdict;
		}
		if (marking > r->max_marking) {
			too_low = r;
			continue;
		}
		out->verdict = POLICY_ALLOW;
		add_rule_name(out, r->name);
	}
	if (out->verdict == POLICY_ALLOW)
		return out->verdict;
	if (too_low != NULL) {
		out->verdict = POLICY_DENY;
		add_rule_name(out, too_low->name);
		snprintf(out->reason, sizeof(out->reason), "rule %s lets role "
		    "%s publish %s only up to %s", too_low->name, sender->role,
		    kind_name(kind), marking_name(too_low->max_marking));
		return out->verdict;
	}
	snprintf(out->reason, sizeof(out->reason), "no publish rule lets role "
	    "%s publish %s", sender->role, kind_name(kind));
	return out->verdict;
}

enum policy_verdict
policy_check_deliver(const struct policy *p, const struct principal *rcpt,
    const Nwd__V1__Envelope *env, struct policy_decision *out)
{
	Nwd__V1__Kind	 kind = env->header->kind;
	const char	*strip[REDACT_MAX_PATHS];
	size_t		 i, j, nstrip = 0, nallow = 0;

	decision_init(out);
	for (i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];

		if (!rule_matches(r, ACTION_DELIVER, rcpt, kind))
			continue;
		if (r->effect == EFFECT_DENY) {
			out->verdict = POLICY_DENY;
			out->rules[0] = '\0';
			out->nstrip = 0;
			add_rule_name(out, r->name);
			snprintf(out->reason, sizeof(out->reason), "rule %s "
			    "forbids role %s to receive %s", r->name,
			    rcpt->role, kind_name(kind));
			return out->verdict;
		}
		add_rule_name(out, r->name);
		/* Withhold only what every matching allow withholds. */
		if (nallow++ == 0) {
			for (j = 0; j < r->nstrip && nstrip < REDACT_MAX_PATHS;
			    j++)
				strip[nstrip++] = r->strip[j];
			continue;
		}
		nstrip = strip_intersect(strip, nstrip, r);
	}
	if (nallow == 0) {
		snprintf(out->reason, sizeof(out->reason), "no deliver rule "
		    "lets role %s receive %s", rcpt->role, kind_name(kind));
		return out->verdict;
	}
	/* A rule may allow the kind; the marking must still be cleared. */
	if ((int)env->header->marking > rcpt->clearance) {
		out->verdict = POLICY_DENY;
		snprintf(out->rules, sizeof(out->rules), "clearance");
		snprintf(out->reason, sizeof(out->reason), "marking %s is "
		    "above the recipient's clearance %s",
		    marking_name(env->header->marking),
		    marking_name(rcpt->clearance));
		return out->verdict;
	}
	out->verdict = POLICY_ALLOW;
	memcpy(out->strip, strip, nstrip * sizeof(strip[0]));
	out->nstrip = nstrip;
	return out->verdict;
}
