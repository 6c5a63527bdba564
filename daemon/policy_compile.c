/*
 * policy_compile: what turns the parsed statements into the policy that
 * decisions read, and what reads it back.  The checks across statements,
 * the rule index by (action, kind, role), the teams that team lines give
 * each principal, and what each allow deliver rule withholds for each kind
 * (the fields and header free text it strips or does not keep, and the
 * protected types and header fields it does not grant); then the
 * accessors of policy.h, the check of a principal mapping against the
 * policy, and policy_free().
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "policy.h"
#include "policy_int.h"

void
policy_rule_clear(struct rule *r)
{
	size_t k;

	free(r->name);
	strlist_clear(&r->roles);
	strlist_clear(&r->from);
	strlist_clear(&r->strip);
	strlist_clear(&r->keep);
	strlist_clear(&r->grant);
	strlist_clear(&r->teams);
	strlist_clear(&r->workers);
	for (k = 0; k < NKINDS; k++)
		free(r->eff[k].v);	/* strings are borrowed */
	memset(r, 0, sizeof(*r));
}

void
policy_free(struct policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nrules; i++)
		policy_rule_clear(&p->rules[i]);
	free(p->rules);
	for (i = 0; i < p->ndeadlines; i++)
		policy_deadline_clear(&p->deadlines[i]);
	free(p->deadlines);
	for (i = 0; i < p->nbreakglass; i++)
		policy_rule_clear(&p->breakglass[i].r);
	free(p->breakglass);
	for (i = 0; i < p->nroles; i++) {
		free(p->roles[i].name);
		free(p->roles[i].agency);
	}
	free(p->roles);
	for (i = 0; i < p->nteams; i++) {
		free(p->teams[i].name);
		strlist_clear(&p->teams[i].members);
	}
	free(p->teams);
	if (p->index != NULL) {
		for (i = 0; i < NACTIONS * NKINDS * (p->nidx + 1); i++)
			free(p->index[i].v);
		free(p->index);
	}
	for (i = 0; i < p->nidx; i++)
		free(p->idx_roles[i]);
	free(p->idx_roles);
	for (i = 0; i < p->nextra; i++)
		free(p->extra[i].teams);
	free(p->extra);
	strlist_clear(&p->duty);
	strlist_clear(&p->protect_paths);
	strlist_clear(&p->pool);
	free(p->title);
	free(p);
}

/* ------------------------------------------------------------------------
 * After parsing: checks across statements, the rule index, the teams each
 * principal gains, and what each allow rule withholds for each kind.
 */

const struct role_decl *
policy_find_role(const struct policy *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nroles; i++)
		if (strcmp(p->roles[i].name, name) == 0)
			return &p->roles[i];
	return NULL;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The index slot of a role name, or p->nidx for "any other role". */
static size_t
role_slot(const struct policy *p, const char *role)
{
	size_t lo = 0, hi = p->nidx, mid;
	int c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if ((c = strcmp(role, p->idx_roles[mid])) == 0)
			return mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return p->nidx;
}

static struct rule_list *
slot(const struct policy *p, int action, int kind, size_t role)
{
	return &p->index[((size_t)action * NKINDS + kind) * (p->nidx + 1) +
	    role];
}

static int
list_push(struct rule_list *l, const struct rule *r)
{
	const struct rule **nv;

	if ((l->n & (l->n - 1)) == 0) {
		if ((nv = realloc(l->v, (l->n ? l->n * 2 : 1) *
		    sizeof(*nv))) == NULL)
			return -1;
		l->v = nv;
	}
	l->v[l->n++] = r;
	return 0;
}

static int
build_index(struct policy *p)
{
	struct strlist	 names = { NULL, 0 };
	size_t		 i, j, n;
	int		 k;

	for (i = 0; i < p->nrules; i++)
		for (j = 0; j < p->rules[i].roles.n; j++)
			if (!strlist_has(&names, p->rules[i].roles.v[j]) &&
			    strlist_add(&names, p->rules[i].roles.v[j]) == -1)
				goto oom;
	if (names.n > 1)
		qsort(names.v, names.n, sizeof(char *), cmp_str);
	p->idx_roles = names.v;
	p->nidx = names.n;
	n = NACTIONS * NKINDS * (p->nidx + 1);
	if ((p->index = calloc(n, sizeof(*p->index))) == NULL)
		return -1;
	for (i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];

		for (k = 1; k < NKINDS; k++) {
			if (!(r->kinds & (1u << k)))
				continue;
			if (r->roles.n == 0) {
				for (j = 0; j <= p->nidx; j++)
					if (list_push(slot(p, r->action, k, j),
					    r) == -1)
						return -1;
				continue;
			}
			for (j = 0; j < r->roles.n; j++)
				if (list_push(slot(p, r->action, k,
				    role_slot(p, r->roles.v[j])), r) == -1)
					return -1;
		}
	}
	return 0;
oom:
	strlist_clear(&names);
	return -1;
}

static int
cmp_extra(const void *a, const void *b)
{
	return strcmp(((const struct extra_teams *)a)->id,
	    ((const struct extra_teams *)b)->id);
}

static int
build_extra_teams(struct policy *p)
{
	struct extra_teams	*e;
	size_t			 i, j, x;

	for (i = 0; i < p->nteams; i++) {
		for (j = 0; j < p->teams[i].members.n; j++) {
			const char *id = p->teams[i].members.v[j];

			for (x = 0; x < p->nextra; x++)
				if (strcmp(p->extra[x].id, id) == 0)
					break;
			if (x == p->nextra) {
				e = realloc(p->extra, (p->nextra + 1) *
				    sizeof(*e));
				if (e == NULL)
					return -1;
				p->extra = e;
				memset(&p->extra[x], 0, sizeof(*e));
				p->extra[x].id = id;
				p->nextra++;
			}
			e = &p->extra[x];
			if ((e->teams = realloc(e->teams, (e->n + 1) *
			    sizeof(char *))) == NULL)
				return -1;
			e->teams[e->n++] = p->teams[i].name;
		}
	}
	if (p->nextra > 1)
		qsort(p->extra, p->nextra, sizeof(*p->extra), cmp_extra);
	return 0;
}

/* Returns 1 if withholding path a withholds path b (equal, or a parent). */
int
policy_path_covers(const char *a, const char *b)
{
	size_t n = strlen(a);

	return strncmp(a, b, n) == 0 && (b[n] == '\0' || b[n] == '.');
}

static int
covered_by(const char *path, const struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (policy_path_covers(l->v[i], path))
			return 1;
	return 0;
}

/* Adds a borrowed path to a rule's per-kind list, unless covered already. */
static int
eff_add(struct strlist *l, char *path)
{
	char	**nv;
	size_t	  i;

	for (i = 0; i < l->n; i++)
		if (policy_path_covers(l->v[i], path))
			return 0;
	/* A parent added now covers children added before. */
	for (i = 0; i < l->n;) {
		if (policy_path_covers(path, l->v[i]))
			l->v[i] = l->v[--l->n];
		else
			i++;
	}
	if (l->n >= REDACT_MAX_PATHS)
		return -1;
	if ((nv = realloc(l->v, (l->n + 1) * sizeof(char *))) == NULL)
		return -1;
	l->v = nv;
	l->v[l->n++] = path;
	return 0;
}

/*
 * Paths found by walking the schema are interned in the policy's pool so
 * that the per-kind lists can borrow them.
 */
static char *
pool_intern(struct strlist *pool, const char *path)
{
	size_t i;

	for (i = 0; i < pool->n; i++)
		if (strcmp(pool->v[i], path) == 0)
			return pool->v[i];
	if (strlist_add(pool, path) == -1)
		return NULL;
	return pool->v[pool->n - 1];
}

static int
is_protected(const struct policy *p, const ProtobufCMessageDescriptor *d)
{
	size_t i;

	for (i = 0; i < p->nprotect; i++)
		if (p->protect[i] == d)
			return 1;
	return 0;
}

/* Does a message type hold a protected type anywhere inside? */
static int
holds_protected(const struct policy *p, const ProtobufCMessageDescriptor *d,
    int depth)
{
	size_t i;

	if (is_protected(p, d))
		return 1;
	if (depth == POLICY_MAX_DEPTH)
		return 0;
	for (i = 0; i < d->n_fields; i++)
		if (d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE &&
		    holds_protected(p, d->fields[i].descriptor, depth + 1))
			return 1;
	return 0;
}

/*
 * Walks a body: protected fields join the rule's list unless granted (a
 * keep does not lift a protection: only a grant does); with keep, every
 * field neither kept nor on the way to a kept field joins too.  Kept
 * messages are walked as well, for the protected types inside them.
 */
static int
walk_fields(const struct policy *p, struct strlist *pool, const struct rule *r,
    const ProtobufCMessageDescriptor *d, const char *prefix,
    struct strlist *out, int depth)
{
	const ProtobufCFieldDescriptor	*fd;
	char				 path[POLICY_MAX_WORD * 2], *ip;
	size_t				 i, j;
	int				 kept, leads_to_kept;

	for (i = 0; i < d->n_fields; i++) {
		fd = &d->fields[i];
		snprintf(path, sizeof(path), "%s%s%s", prefix,
		    prefix[0] != '\0' ? "." : "", fd->name);
		kept = covered_by(path, &r->keep);
		leads_to_kept = 0;
		for (j = 0; j < r->keep.n; j++)
			if (policy_path_covers(path, r->keep.v[j]) &&
			    strcmp(path, r->keep.v[j]) != 0)
				leads_to_kept = 1;
		/*
		 * A protected type, or a repeated field whose elements hold
		 * one (its elements cannot be redacted one by one), is
		 * withheld whole unless the rule grants it.
		 */
		if (fd->type == PROTOBUF_C_TYPE_MESSAGE &&
		    !covered_by(path, &r->grant) &&
		    (is_protected(p, fd->descriptor) ||
		    (fd->label == PROTOBUF_C_LABEL_REPEATED &&
		    holds_protected(p, fd->descriptor, 0)))) {
			if ((ip = pool_intern(pool, path)) == NULL ||
			    eff_add(out, ip) == -1)
				return -1;
			continue;
		}
		if (r->keep.n > 0 && !kept && !leads_to_kept) {
			if ((ip = pool_intern(pool, path)) == NULL ||
			    eff_add(out, ip) == -1)
				return -1;
			continue;
		}
		if (fd->type == PROTOBUF_C_TYPE_MESSAGE &&
		    fd->label != PROTOBUF_C_LABEL_REPEATED &&
		    depth < POLICY_MAX_DEPTH &&
		    walk_fields(p, pool, r, fd->descriptor, path, out,
		    depth + 1) == -1)
			return -1;
	}
	return 0;
}

/*
 * The header's free text a rule withholds: what the policy protects and
 * the rule does not grant, and with keep what the rule does not keep.
 */
static int
walk_header(const struct policy *p, struct strlist *pool,
    const struct rule *r, struct strlist *out)
{
	const char	*hp;
	char		*ip;
	size_t		 i;

	for (i = 0; (hp = redact_header_path(i)) != NULL; i++) {
		if (!(strlist_has(&p->protect_paths, hp) &&
		    !covered_by(hp, &r->grant)) &&
		    !(r->keep.n > 0 && !covered_by(hp, &r->keep)))
			continue;
		if ((ip = pool_intern(pool, hp)) == NULL ||
		    eff_add(out, ip) == -1)
			return -1;
	}
	return 0;
}

int
policy_rule_withheld(struct policy *p, struct rule *r)
{
	const ProtobufCMessageDescriptor *d;
	char	 e[POLICY_MAX_WORD + 64];
	size_t	 j;
	int	 k;

	for (k = 1; (d = envelope_kind_body_descriptor(k)) != NULL; k++) {
		if (!(r->kinds & (1u << k)))
			continue;
		for (j = 0; j < r->strip.n; j++)
			if (redact_path_valid(d, r->strip.v[j], e,
			    sizeof(e)) == 0 &&
			    eff_add(&r->eff[k], r->strip.v[j]) == -1)
				return -1;
		if (walk_fields(p, &p->pool, r, d, "", &r->eff[k], 0) ==
		    -1 || walk_header(p, &p->pool, r, &r->eff[k]) == -1)
			return -1;
	}
	return 0;
}

static int
compute_withheld(struct policy *p)
{
	size_t	 i;

	for (i = 0; i < p->nrules; i++) {
		struct rule *r = &p->rules[i];

		if (r->effect != EFFECT_ALLOW || r->action != ACTION_DELIVER)
			continue;
		if (policy_rule_withheld(p, r) == -1)
			return -1;
	}
	/* A breakglass rule redacts as an allow deliver rule does. */
	for (i = 0; i < p->nbreakglass; i++)
		if (policy_rule_withheld(p, &p->breakglass[i].r) == -1)
			return -1;
	return 0;
}

static int
post_fail(char *err, size_t errlen, const char *name, int line, int col,
    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int
post_fail(char *err, size_t errlen, const char *name, int line, int col,
    const char *fmt, ...)
{
	va_list	ap;
	int	n;

	n = snprintf(err, errlen, "%s:%d:%d: ", name, line, col);
	if (n < 0 || (size_t)n >= errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

static int
check_roles_declared(const struct policy *p, const char *name, char *err,
    size_t errlen)
{
	size_t i, j;

	if (p->nroles == 0)
		return 0;	/* roles are declared all or not at all */
	for (i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];

		for (j = 0; j < r->roles.n; j++)
			if (policy_find_role(p, r->roles.v[j]) == NULL)
				return post_fail(err, errlen, name,
				    r->roles_line, r->roles_col, "rule \"%s\" "
				    "names role \"%s\", which no role line "
				    "declares", r->name, r->roles.v[j]);
	}
	for (i = 0; i < p->nbreakglass; i++) {
		const struct rule *r = &p->breakglass[i].r;

		for (j = 0; j < r->roles.n; j++)
			if (policy_find_role(p, r->roles.v[j]) == NULL)
				return post_fail(err, errlen, name,
				    r->roles_line, r->roles_col, "breakglass "
				    "rule \"%s\" names role \"%s\", which no "
				    "role line declares", r->name, r->roles.v[j]);
	}
	return 0;
}

int
policy_compile(struct policy *p, const char *name, char *err, size_t errlen)
{
	if (check_roles_declared(p, name, err, errlen) == -1)
		return -1;
	if (build_index(p) == -1 || build_extra_teams(p) == -1 ||
	    compute_withheld(p) == -1) {
		snprintf(err, errlen, "%s: out of memory (or more than %d "
		    "fields withheld by one rule)", name, REDACT_MAX_PATHS);
		return -1;
	}
	return 0;
}

const struct rule_list *
policy_rules_for(const struct policy *p, enum rule_action a, Nwd__V1__Kind kind,
    const char *role)
{
	if (kind <= 0 || kind >= NKINDS)
		return NULL;
	return slot(p, a, kind, role_slot(p, role));
}

const char *
policy_version(const struct policy *p)
{
	return p->version;
}

const char *
policy_title(const struct policy *p)
{
	return p->title;
}

size_t
policy_nrules(const struct policy *p)
{
	return p->nrules;
}

size_t
policy_nduty(const struct policy *p)
{
	return p->duty.n;
}

const char *
policy_duty_at(const struct policy *p, size_t i)
{
	return i < p->duty.n ? p->duty.v[i] : NULL;
}

enum policy_status_scope
policy_status_names(const struct policy *p)
{
	return (enum policy_status_scope)p->status_names;
}

enum policy_status_scope
policy_status_reasons(const struct policy *p)
{
	return (enum policy_status_scope)p->status_reasons;
}

int
policy_is_duty(const struct policy *p, const char *id)
{
	size_t i;

	for (i = 0; i < policy_nduty(p); i++)
		if (strcmp(policy_duty_at(p, i), id) == 0)
			return 1;
	return 0;
}

const char *
policy_duty(const struct policy *p)
{
	return policy_duty_at(p, 0);
}

const char *const *
policy_extra_teams(const struct policy *p, const char *id, size_t *n)
{
	size_t lo = 0, hi = p->nextra, mid;
	int c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if ((c = strcmp(id, p->extra[mid].id)) == 0) {
			*n = p->extra[mid].n;
			return p->extra[mid].teams;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*n = 0;
	return NULL;
}

int
policy_team_known(const struct policy *p, const struct identity_map *ids,
    const char *team)
{
	const struct principal	*pr;
	size_t			 i, j;

	for (i = 0; i < p->nteams; i++)
		if (strcmp(p->teams[i].name, team) == 0)
			return 1;
	for (i = 0; ids != NULL && i < identity_count(ids); i++) {
		pr = identity_at(ids, i);
		for (j = 0; j < pr->nteams; j++)
			if (strcmp(pr->teams[j], team) == 0)
				return 1;
	}
	return 0;
}

int
policy_check_principals(const struct policy *p,
    const struct identity_map *ids, char *err, size_t errlen)
{
	const struct principal	*pr;
	const struct role_decl	*rd;
	size_t			 i, j;

	for (i = 0; p->nroles > 0 && i < identity_count(ids); i++) {
		pr = identity_at(ids, i);
		if ((rd = policy_find_role(p, pr->role)) == NULL) {
			snprintf(err, errlen, "principal %s has role %s, "
			    "which the policy does not declare", pr->id,
			    pr->role);
			return -1;
		}
		if (strcmp(rd->agency, pr->agency) != 0) {
			snprintf(err, errlen, "principal %s is in agency %s, "
			    "but the policy declares role %s in agency %s",
			    pr->id, pr->agency, pr->role, rd->agency);
			return -1;
		}
	}
	for (i = 0; i < p->duty.n; i++) {
		if (identity_find_id(ids, p->duty.v[i]) == NULL) {
			snprintf(err, errlen, "duty principal %s is not in "
			    "the principal mapping", p->duty.v[i]);
			return -1;
		}
	}
	for (i = 0; i < p->nteams; i++) {
		for (j = 0; j < p->teams[i].members.n; j++) {
			if (identity_find_id(ids,
			    p->teams[i].members.v[j]) == NULL) {
				snprintf(err, errlen, "team %s lists %s, who "
				    "is not in the principal mapping",
				    p->teams[i].name,
				    p->teams[i].members.v[j]);
				return -1;
			}
		}
	}
	return 0;
}
