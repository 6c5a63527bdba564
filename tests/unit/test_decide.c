/*
 * Unit tests for the decision engine (daemon/decide.c, decide_explain.c):
 * who receives a published message, which of its fields, and because of
 * which rule, as decide_publish() and decide_recipient() answer it.
 *
 * - The scenarios of shared/SCENARIOS.md, tests/data/scenarios.txt, under
 *   deploy/policy.nwd for every principal of deploy/principals.conf: one
 *   test per scenario block.  Each message is decided by decide_publish()
 *   as the broker decides it, and the plan is checked against the block's
 *   lines: the publish verdict, every deliver and duty-pass decision (its
 *   verdict, rules, reason and withheld fields), that every audited
 *   decision is listed, the recipient count and the duty desk.  What is
 *   withheld is checked in the bytes the plan would deliver, decoded with
 *   protobuf-c's generic decoder (G10).  A replayed delivery (recheck) is
 *   decided by decide_recipient().  Every message is decided again with
 *   the client's sender fields claiming each principal in turn, which
 *   must change nothing (S13).
 * - The decision table, tests/data/policy-cases.txt, as far as the broker
 *   can meet its lines: deliver lines through decide_recipient() (with
 *   G10 on the bytes), publish and allocate lines through
 *   decide_publish() (its header says which are refused before the
 *   policy, and how an Allocation is judged by both rule sets).
 * - The contracts of decide.h, test_contract_*: DECIDE_PACK and
 *   DECIDE_EVERYONE, the refusals before the policy (no envelope, too
 *   large for max_frame, a marking above the sender's clearance), an
 *   Allocation's side effects and rights, a recipient gone from the
 *   mapping, decide_explain() as the plan converted, decide_plan_free()
 *   again.
 *
 * The fixtures shared with test_policy.c are in policyfix.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "decide.h"
#include "envelope.h"
#include "grant.h"
#include "identity.h"
#include "policy.h"
#include "policyfix.h"

#define SCENARIOS_FILE	NWD_TEST_DATA "/scenarios.txt"

/* The broker's defaults: nwdd.conf's max_frame, and an id it would set. */
#define MAX_FRAME	(1u << 20)
#define MESSAGE_ID	"7d3c1a52-0b7e-4c39-9a0e-5c1f2f0e8a11"

/* What the runs checked, for the summary main() prints. */
static struct {
	int	blocks, messages, lines, rechecks, g10, claims;
} seen;

/* ------------------------------------------------------------------------
 * The scenarios: tests/data/scenarios.txt (its header says how to read it)
 */

#define MAX_TOKENS	80

struct stmt {
	int	 line;
	int	 ntok;
	char	*tok[MAX_TOKENS];	/* owned by scen_arena */
};

struct block {
	char		 name[200];	/* the test's name: "S1 ..." */
	char		 id[32];
	int		 line;
	struct stmt	*stmts;		/* owned by scen_arena */
	size_t		 nstmts;
};

static struct fix_arena	 scen_arena;
static struct block	*blocks;	/* owned by scen_arena */
static size_t		 nblocks;
static char		 scen_error[512];	/* outside any block */

/* Ends a physical line at a '#' that is not inside a string. */
static void
strip_comment(char *s)
{
	int q = 0;

	for (; *s != '\0'; s++) {
		if (*s == '"')
			q = !q;
		else if (*s == '#' && !q) {
			*s = '\0';
			return;
		}
	}
}

/* Splits a statement into words; "a, b" and "a ,b" make one word "a,b". */
static int
tokenize(struct fix_arena *a, const char *s, struct stmt *st)
{
	const char	*start;
	int		 quoted, merge = 0;
	size_t		 n;

	st->ntok = 0;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			return 0;
		quoted = *s == '"';
		if (quoted) {
			start = ++s;
			while (*s != '\0' && *s != '"')
				s++;
			if (*s != '"')
				return -1;
			n = (size_t)(s - start);
			s++;
		} else {
			start = s;
			while (*s != '\0' && *s != ' ' && *s != '\t' &&
			    *s != '"')
				s++;
			n = (size_t)(s - start);
		}
		if (!quoted && st->ntok > 0 && (merge || start[0] == ',')) {
			char *prev = st->tok[st->ntok - 1];

			st->tok[st->ntok - 1] = fix_arena_printf(a, "%s%.*s",
			    prev, (int)n, start);
		} else {
			if (st->ntok == MAX_TOKENS)
				return -1;
			st->tok[st->ntok++] = fix_arena_printf(a, "%.*s",
			    (int)n, start);
		}
		merge = !quoted && n > 0 && start[n - 1] == ',';
	}
}

static void
load_scenarios(void)
{
	char		*text, *line, *next, stmt_text[4096];
	size_t		 len, cap = 0, scap = 0;
	int		 lineno = 0, indent, stmt_indent = -1, stmt_line = 0;
	struct block	*b = NULL;
	struct stmt	*st;

	if ((text = fix_slurp(SCENARIOS_FILE, &len)) == NULL) {
		snprintf(scen_error, sizeof(scen_error), "%s: %s",
		    SCENARIOS_FILE, strerror(errno));
		return;
	}
	stmt_text[0] = '\0';
	for (line = text; ; line = next) {
		int end = line == NULL || *line == '\0';

		if (!end) {
			lineno++;
			if ((next = strchr(line, '\n')) != NULL)
				*next++ = '\0';
			strip_comment(line);
			for (indent = 0; line[indent] == ' ' ||
			    line[indent] == '\t'; indent++)
				;
			if (line[indent] == '\0')
				continue;
			if (stmt_indent >= 0 && indent > stmt_indent &&
			    strncmp(stmt_text, "scenario ", 9) != 0) {
				fix_appendf(stmt_text, sizeof(stmt_text), " %s",
				    line + indent);
				continue;
			}
		} else
			next = NULL;
		/* The statement so far is complete. */
		if (stmt_indent >= 0) {
			struct stmt tmp;

			memset(&tmp, 0, sizeof(tmp));
			tmp.line = stmt_line;
			if (tokenize(&scen_arena, stmt_text, &tmp) == -1) {
				snprintf(scen_error, sizeof(scen_error),
				    "scenarios.txt:%d: a string is not closed "
				    "or the statement is too long", stmt_line);
			} else if (strcmp(tmp.tok[0], "scenario") == 0) {
				if (nblocks == cap) {
					struct block *nb;

					cap = cap ? cap * 2 : 16;
					nb = fix_arena_alloc(&scen_arena,
					    cap * sizeof(*nb));
					if (nblocks > 0)
						memcpy(nb, blocks,
						    nblocks * sizeof(*nb));
					blocks = nb;
				}
				b = &blocks[nblocks++];
				memset(b, 0, sizeof(*b));
				scap = 0;
				b->line = stmt_line;
				snprintf(b->id, sizeof(b->id), "%s",
				    tmp.ntok > 1 ? tmp.tok[1] : "?");
				snprintf(b->name, sizeof(b->name), "%s",
				    stmt_text + strspn(stmt_text + 8, " \t") +
				    8);
			} else if (b == NULL) {
				snprintf(scen_error, sizeof(scen_error),
				    "scenarios.txt:%d: \"%s\" before the first "
				    "scenario", stmt_line, tmp.tok[0]);
			} else {
				if (b->nstmts == scap) {
					struct stmt *ns;

					scap = scap ? scap * 2 : 32;
					ns = fix_arena_alloc(&scen_arena,
					    scap * sizeof(*ns));
					if (b->nstmts > 0)
						memcpy(ns, b->stmts,
						    b->nstmts * sizeof(*ns));
					b->stmts = ns;
				}
				st = &b->stmts[b->nstmts++];
				*st = tmp;
			}
		}
		if (end)
			break;
		snprintf(stmt_text, sizeof(stmt_text), "%s", line + indent);
		stmt_indent = indent;
		stmt_line = lineno;
	}
	free(text);
}

/* One scenario block being run. */
struct run {
	const struct block	*b;
	struct fix_arena	 a;
	struct alloc_table	*allocs;	/* owned */
	int64_t			 now;
	int			 nfail;
	/* The current message. */
	int			 msg_line;	/* 0: none yet */
	const struct principal	*sender;
	Nwd__V1__Envelope	*env;		/* owned; as decided, which
						   decide_publish changed */
	struct decide_plan	 plan;		/* owned; DECIDE_PACK */
	struct decide_plan	 every;		/* owned; DECIDE_EVERYONE */
	int			 passed;	/* the publish passed its
						   checks: plan holds the
						   decisions */
	int			*stated;	/* owned; per plan entry */
	int			 publish_stated, recipients_stated;
};

static void
scen_fail(struct run *r, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
scen_fail(struct run *r, int line, const char *fmt, ...)
{
	char	buf[2048];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	print_error("scenarios.txt:%d: %s\n", line, buf);
	r->nfail++;
}

static struct decide_world
run_world(const struct run *r)
{
	struct decide_world w;

	memset(&w, 0, sizeof(w));
	w.policy = fix_policy;
	w.ids = fix_principals;
	w.allocs = r->allocs;
	w.now_ms = r->now;
	w.max_frame = MAX_FRAME;
	return w;
}

/* A plan refused for no dead letters: the publish passed its checks and
 * the policy, and nobody may have the message. */
static int
no_dead_letters(const struct decide_plan *plan)
{
	return plan->publish != POLICY_ALLOW &&
	    strcmp(plan->rules, "no-dead-letters") == 0;
}

/* The entry of the plan for id, in the first pass or the duty pass; -1 if
 * there is none. */
static int
entry_index(const struct decide_plan *plan, const char *id, int duty_pass)
{
	size_t i;

	for (i = 0; i < plan->nentries; i++)
		if (plan->entries[i].duty_pass == duty_pass &&
		    strcmp(plan->entries[i].id, id) == 0)
			return (int)i;
	return -1;
}

/* The checks at the end of a message: every audited decision (an allow or
 * a deny entry of the plan) was listed.  Frees the message. */
static void
finish_message(struct run *r)
{
	const struct decide_entry	*e;
	size_t				 i;

	if (r->msg_line != 0) {
		if (!r->publish_stated)
			scen_fail(r, r->msg_line, "no publish line for this "
			    "message");
		if (!r->recipients_stated)
			scen_fail(r, r->msg_line, "no recipients line for "
			    "this message");
		for (i = 0; i < r->plan.nentries; i++) {
			e = &r->plan.entries[i];
			if (r->stated[i])
				continue;
			scen_fail(r, r->msg_line, "the decision for %s is not "
			    "listed: %s %s %s %s (%s)", e->id, e->duty_pass ?
			    "duty-pass" : "deliver", e->id,
			    policy_verdict_name(e->verdict), e->rules,
			    e->reason);
		}
	}
	r->msg_line = 0;
	decide_plan_free(&r->plan);
	decide_plan_free(&r->every);
	if (r->env != NULL)
		nwd__v1__envelope__free_unpacked(r->env, NULL);
	r->env = NULL;
	free(r->stated);
	r->stated = NULL;
	r->passed = 0;
}

/* A statement "WHO VERDICT [RULES] [withheld L] [because T]", parsed. */
struct stated {
	enum policy_verdict	 want;
	const char		*rules;		/* NULL for norule */
	const char		*withheld;	/* "-" none; NULL not said */
	const char		*because;	/* NULL not said */
	Nwd__V1__ErrorCode	 code;		/* refused publish's */
};

static int
parse_stated(struct run *r, const struct stmt *st, int publish,
    struct stated *s)
{
	int i;

	memset(s, 0, sizeof(*s));
	s->code = NWD__V1__ERROR_CODE__ERROR_FORBIDDEN;
	if (st->ntok < 3 || fix_parse_verdict(st->tok[2], &s->want) == -1) {
		scen_fail(r, st->line, "expected \"%s WHO allow|deny|norule "
		    "...\"", st->tok[0]);
		return -1;
	}
	i = 3;
	if (s->want != POLICY_DENY_NO_RULE) {
		if (i >= st->ntok || strcmp(st->tok[i], "withheld") == 0 ||
		    strcmp(st->tok[i], "because") == 0) {
			scen_fail(r, st->line, "%s needs the rule names",
			    st->tok[2]);
			return -1;
		}
		s->rules = st->tok[i++];
	}
	for (; i < st->ntok; i += 2) {
		if (i + 1 >= st->ntok) {
			scen_fail(r, st->line, "\"%s\" needs a value",
			    st->tok[i]);
			return -1;
		}
		if (strcmp(st->tok[i], "withheld") == 0 && s->want ==
		    POLICY_ALLOW && !publish)
			s->withheld = st->tok[i + 1];
		else if (strcmp(st->tok[i], "because") == 0)
			s->because = st->tok[i + 1];
		else if (strcmp(st->tok[i], "code") == 0 && publish &&
		    s->want != POLICY_ALLOW &&
		    (strcmp(st->tok[i + 1], "invalid") == 0 ||
		    strcmp(st->tok[i + 1], "forbidden") == 0))
			s->code = st->tok[i + 1][0] == 'i' ?
			    NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE :
			    NWD__V1__ERROR_CODE__ERROR_FORBIDDEN;
		else {
			scen_fail(r, st->line, "unexpected \"%s\"",
			    st->tok[i]);
			return -1;
		}
	}
	if (s->want == POLICY_ALLOW && !publish && s->withheld == NULL) {
		scen_fail(r, st->line, "an allowed delivery needs \"withheld "
		    "FIELDS\" or \"withheld -\"");
		return -1;
	}
	return 0;
}

/*
 * Checks an engine's entry against a deliver, duty-pass or recheck line:
 * the verdict, the rules, the reason, and for an allowed one the withheld
 * set and the packed bytes (G10: the withheld fields absent, everything
 * else as it was decided).
 */
static void
check_entry(struct run *r, const struct stmt *st, const char *label,
    const struct decide_entry *e)
{
	struct stated	 s;
	const char	*paths[REDACT_MAX_PATHS];
	char		 list[1024], why[4096];
	int		 n;

	if (parse_stated(r, st, 0, &s) == -1)
		return;
	if (e->verdict != s.want) {
		scen_fail(r, st->line, "%s %s: %s (rules \"%s\", reason \"%s\""
		    "%s%s), expected %s", label, st->tok[1],
		    policy_verdict_name(e->verdict), e->rules, e->reason,
		    e->withheld != NULL ? ", withholding " : "",
		    e->withheld != NULL ? e->withheld : "",
		    policy_verdict_name(s.want));
		return;
	}
	if (strcmp(e->rules, s.rules != NULL ? s.rules : "") != 0)
		scen_fail(r, st->line, "%s %s: rules \"%s\", expected \"%s\" "
		    "(reason \"%s\")", label, st->tok[1], e->rules,
		    s.rules != NULL ? s.rules : "", e->reason);
	if (s.because != NULL && strstr(e->reason, s.because) == NULL)
		scen_fail(r, st->line, "%s %s: the reason \"%s\" does not say "
		    "\"%s\"", label, st->tok[1], e->reason, s.because);
	if (strcmp(e->id, st->tok[1]) != 0)
		scen_fail(r, st->line, "%s %s: the entry names %s", label,
		    st->tok[1], e->id);
	if (e->verdict != POLICY_ALLOW) {
		if (e->reason[0] == '\0')
			scen_fail(r, st->line, "%s %s: a refusal without a "
			    "reason", label, st->tok[1]);
		if (e->withheld != NULL || e->shared != NULL ||
		    e->bytes != NULL)
			scen_fail(r, st->line, "%s %s: a refusal with "
			    "something to deliver", label, st->tok[1]);
		return;
	}
	if (e->withheld == NULL || e->shared == NULL || e->bytes == NULL) {
		scen_fail(r, st->line, "%s %s: allowed, but the entry has no "
		    "%s", label, st->tok[1], e->bytes == NULL ? "bytes" :
		    "withheld or shared list");
		return;
	}
	snprintf(list, sizeof(list), "%s", strcmp(s.withheld, "-") == 0 ?
	    "" : s.withheld);
	if (!fix_same_set(e->withheld, list))
		scen_fail(r, st->line, "%s %s: withheld %s, expected %s",
		    label, st->tok[1], e->withheld[0] != '\0' ? e->withheld :
		    "-", s.withheld);
	/* G10: what the line says is withheld is absent from the bytes the
	 * plan delivers, and everything else is there as decided. */
	if ((n = fix_split_paths(list, paths, REDACT_MAX_PATHS)) == -1) {
		scen_fail(r, st->line, "too many withheld paths");
		return;
	}
	seen.g10++;
	if (fix_check_bytes(r->env, paths, (size_t)n, e->bytes, e->len, why,
	    sizeof(why)) == -1)
		scen_fail(r, st->line, "%s %s: what it receives is wrong: %s",
		    label, st->tok[1], why);
}

/*
 * Checks the publish line against the plan.  The plan of a refused
 * publish says "deny": the broker refuses a publish no rule allows as it
 * refuses one a rule forbids, so a norule line is a refusal that names no
 * rule.  A publish the policy allows that nobody may receive is refused
 * for no dead letters; the plan then names that refusal, not the publish
 * rule, so the rule the line names is the policy's own answer
 * (policy_check_publish).
 */
static void
check_publish(struct run *r, const struct stmt *st)
{
	const struct decide_plan	*pl = &r->plan;
	struct policy_context		 ctx;
	struct policy_decision		 d;
	struct stated			 s;
	const char			*rules;

	if (parse_stated(r, st, 1, &s) == -1)
		return;
	rules = s.rules != NULL ? s.rules : "";
	if (s.want == POLICY_ALLOW && no_dead_letters(pl)) {
		memset(&ctx, 0, sizeof(ctx));
		ctx.allocs = r->allocs;
		ctx.now_ms = r->now;
		policy_check_publish(fix_policy, r->sender, r->env, &ctx, &d);
		if (d.verdict != POLICY_ALLOW || strcmp(d.rules, rules) != 0)
			scen_fail(r, st->line, "publish %s: refused for no "
			    "dead letters, and the policy says %s \"%s\" (%s), "
			    "expected allow \"%s\"", st->tok[1],
			    policy_verdict_name(d.verdict), d.rules, d.reason,
			    rules);
		if (pl->code != NWD__V1__ERROR_CODE__ERROR_FORBIDDEN)
			scen_fail(r, st->line, "publish %s: refused for no "
			    "dead letters with error code %d", st->tok[1],
			    (int)pl->code);
		return;
	}
	if ((s.want == POLICY_ALLOW) != (pl->publish == POLICY_ALLOW)) {
		scen_fail(r, st->line, "publish %s: %s (rules \"%s\", reason "
		    "\"%s\"), expected %s", st->tok[1],
		    policy_verdict_name(pl->publish), pl->rules, pl->reason,
		    policy_verdict_name(s.want));
		return;
	}
	if (strcmp(pl->rules, rules) != 0)
		scen_fail(r, st->line, "publish %s: rules \"%s\", expected "
		    "\"%s\" (reason \"%s\")", st->tok[1], pl->rules, rules,
		    pl->reason);
	if (s.because != NULL && strstr(pl->reason, s.because) == NULL)
		scen_fail(r, st->line, "publish %s: the reason \"%s\" does not "
		    "say \"%s\"", st->tok[1], pl->reason, s.because);
	if (pl->publish == POLICY_ALLOW)
		return;
	if (pl->publish != POLICY_DENY || pl->code != s.code ||
	    pl->reason[0] == '\0')
		scen_fail(r, st->line, "publish %s: a refusal must be a deny "
		    "with error code %d and a reason: %s, code %d, \"%s\"",
		    st->tok[1], (int)s.code, policy_verdict_name(pl->publish),
		    (int)pl->code, pl->reason);
	if (pl->nentries != 0)
		scen_fail(r, st->line, "publish %s: refused, yet %zu "
		    "decisions were made", st->tok[1], pl->nentries);
}

/* Returns 1 if two plans decide the same, entry for entry, byte for
 * byte; otherwise 0 with the first difference in why. */
static int
same_plan(const struct decide_plan *a, const struct decide_plan *b,
    char *why, size_t whylen)
{
	const struct decide_entry	*x, *y;
	size_t				 i;

	if (a->publish != b->publish || a->code != b->code ||
	    strcmp(a->rules, b->rules) != 0 ||
	    strcmp(a->reason, b->reason) != 0) {
		snprintf(why, whylen, "publish %s \"%s\" (%s)",
		    policy_verdict_name(b->publish), b->rules, b->reason);
		return 0;
	}
	if (a->recipients != b->recipients || a->duty_desk != b->duty_desk ||
	    a->nentries != b->nentries) {
		snprintf(why, whylen, "%zu recipients, duty desk %d, %zu "
		    "decisions", b->recipients, b->duty_desk, b->nentries);
		return 0;
	}
	for (i = 0; i < a->nentries; i++) {
		x = &a->entries[i];
		y = &b->entries[i];
		if (strcmp(x->id, y->id) != 0 || x->verdict != y->verdict ||
		    x->duty_pass != y->duty_pass ||
		    strcmp(x->rules, y->rules) != 0 ||
		    strcmp(x->reason, y->reason) != 0 ||
		    (x->withheld == NULL) != (y->withheld == NULL) ||
		    (x->withheld != NULL &&
		    strcmp(x->withheld, y->withheld) != 0) ||
		    x->len != y->len || (x->len > 0 &&
		    memcmp(x->bytes, y->bytes, x->len) != 0)) {
			snprintf(why, whylen, "%s: %s \"%s\" (%s), withholding "
			    "\"%s\", %zu bytes", y->id,
			    policy_verdict_name(y->verdict), y->rules,
			    y->reason, y->withheld != NULL ? y->withheld : "",
			    y->len);
			return 0;
		}
	}
	return 1;
}

/*
 * S13: the sender fields a client writes change nothing.  sent is the
 * message as the client sent it; it is decided again with the fields
 * claiming each principal in turn, and nobody.
 */
static void
check_claims(struct run *r, const struct stmt *st, Nwd__V1__Envelope *sent)
{
	struct decide_world	 w = run_world(r);
	struct decide_plan	 plan;
	const struct principal	*p;
	Nwd__V1__Header		*h = sent->header;
	Nwd__V1__Envelope	*copy;
	char			*sv_sender = h->sender;
	char			*sv_agency = h->originating_agency;
	char			 why[1024];
	size_t			 i, n = identity_count(fix_principals);

	for (i = 0; i <= n; i++) {
		p = i < n ? identity_at(fix_principals, i) : NULL;
		h->sender = p != NULL ? p->id : (char *)"";
		h->originating_agency = p != NULL ? p->agency : (char *)"";
		copy = fix_envelope_copy(sent);
		h->sender = sv_sender;
		h->originating_agency = sv_agency;
		assert_int_equal(decide_publish(&w, r->sender, copy,
		    MESSAGE_ID, DECIDE_PACK, &plan), 0);
		seen.claims++;
		if (!same_plan(&r->plan, &plan, why, sizeof(why)))
			scen_fail(r, st->line, "the decision changes when the "
			    "sender fields claim %s: %s", p != NULL ? p->id :
			    "nobody", why);
		decide_plan_free(&plan);
		nwd__v1__envelope__free_unpacked(copy, NULL);
	}
}

/*
 * The plan decided with DECIDE_EVERYONE and without DECIDE_PACK holds the
 * same decisions, no bytes, and a not-a-candidate entry for every other
 * principal no rule speaks of.
 */
static void
check_everyone(struct run *r, const struct stmt *st)
{
	const struct decide_entry	*x, *y;
	size_t				 i, k = 0;

	for (i = 0; i < r->every.nentries; i++) {
		y = &r->every.entries[i];
		if (y->bytes != NULL)
			scen_fail(r, st->line, "%s: bytes without DECIDE_PACK",
			    y->id);
		if (y->verdict == POLICY_DENY_NO_RULE)
			continue;
		if (k == r->plan.nentries) {
			scen_fail(r, st->line, "DECIDE_EVERYONE decides for %s "
			    "too: %s", y->id, policy_verdict_name(y->verdict));
			continue;
		}
		x = &r->plan.entries[k++];
		if (strcmp(x->id, y->id) != 0 || x->verdict != y->verdict ||
		    x->duty_pass != y->duty_pass ||
		    strcmp(x->rules, y->rules) != 0 ||
		    strcmp(x->reason, y->reason) != 0 ||
		    (x->withheld != NULL && (y->withheld == NULL ||
		    strcmp(x->withheld, y->withheld) != 0 ||
		    y->shared == NULL || strcmp(x->shared, y->shared) != 0 ||
		    y->configured == NULL)))
			scen_fail(r, st->line, "with DECIDE_EVERYONE, %s is "
			    "decided %s \"%s\" withholding \"%s\"; without, "
			    "%s %s \"%s\" withholding \"%s\"", y->id,
			    policy_verdict_name(y->verdict), y->rules,
			    y->withheld != NULL ? y->withheld : "", x->id,
			    policy_verdict_name(x->verdict), x->rules,
			    x->withheld != NULL ? x->withheld : "");
	}
	if (k != r->plan.nentries)
		scen_fail(r, st->line, "DECIDE_EVERYONE leaves out %zu "
		    "decisions", r->plan.nentries - k);
	if (r->every.recipients != r->plan.recipients ||
	    r->every.duty_desk != r->plan.duty_desk ||
	    r->every.publish != r->plan.publish)
		scen_fail(r, st->line, "DECIDE_EVERYONE changes the outcome: "
		    "%zu recipients, duty desk %d", r->every.recipients,
		    r->every.duty_desk);
}
static const ProtobufCEnumValue *
enum_by_name(const ProtobufCEnumDescriptor *ed, const char *name)
{
	return protobuf_c_enum_descriptor_get_value_by_name(ed, name);
}

/* Sets a non-repeated scalar field of a body from its text. */
static int
set_body_field(struct fix_arena *a, ProtobufCMessage *body, const char *name,
    const char *value)
{
	const ProtobufCFieldDescriptor	*fd;
	const ProtobufCEnumValue	*ev;
	void				*slot;

	fd = protobuf_c_message_descriptor_get_field_by_name(body->descriptor,
	    name);
	if (fd == NULL || fd->label == PROTOBUF_C_LABEL_REPEATED)
		return -1;
	slot = fix_field_slot(body, fd);
	switch (fd->type) {
	case PROTOBUF_C_TYPE_ENUM:
		if ((ev = enum_by_name(fd->descriptor, value)) == NULL)
			return -1;
		*(int *)slot = ev->value;
		return 0;
	case PROTOBUF_C_TYPE_STRING:
		*(char **)slot = fix_arena_printf(a, "%s", value);
		return 0;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		*(int64_t *)slot = strtoll(value, NULL, 10);
		return 0;
	case PROTOBUF_C_TYPE_BOOL:
		*(protobuf_c_boolean *)slot = strcmp(value, "true") == 0;
		return 0;
	case PROTOBUF_C_TYPE_MESSAGE:
	case PROTOBUF_C_TYPE_BYTES:
		return -1;
	default:
		*(int32_t *)slot = (int32_t)strtol(value, NULL, 10);
		return 0;
	}
}

/*
 * Builds the message of "message KIND from SENDER subject YP marking M
 * [more]" as the client sends it, in r's arena, and sets r->sender.
 * Returns NULL if the line is wrong.
 */
static Nwd__V1__Envelope *
build_message(struct run *r, const struct stmt *st)
{
	Nwd__V1__Kind			 kind;
	Nwd__V1__Marking		 marking;
	Nwd__V1__Envelope		*e;
	Nwd__V1__Header			*h;
	Nwd__V1__IntelligenceReport	*ir = NULL;
	ProtobufCMessage		*body;
	const char *from = NULL, *subject = NULL, *mark = NULL, *grading = NULL,
	    *handling = NULL, *conditions = NULL, *legacy = NULL;
	const char *claim_id = NULL, *claim_agency = NULL;
	const ProtobufCEnumValue	*ev;
	char				 list[1024], *t, *save;
	size_t				 i;
	int				 k, pending[MAX_TOKENS], npending = 0;
	Nwd__V1__LegalBasis		 basis;

	if (st->ntok < 2 || envelope_kind_from_name(st->tok[1], &kind) == -1) {
		scen_fail(r, st->line, "message needs a kind");
		return NULL;
	}
	for (k = 2; k < st->ntok; k += 2) {
		if (k + 1 >= st->ntok) {
			scen_fail(r, st->line, "\"%s\" needs a value",
			    st->tok[k]);
			return NULL;
		}
		if (strcmp(st->tok[k], "from") == 0)
			from = st->tok[k + 1];
		else if (strcmp(st->tok[k], "subject") == 0)
			subject = st->tok[k + 1];
		else if (strcmp(st->tok[k], "marking") == 0)
			mark = st->tok[k + 1];
		else if (strcmp(st->tok[k], "grading") == 0)
			grading = st->tok[k + 1];
		else if (strcmp(st->tok[k], "handling") == 0)
			handling = st->tok[k + 1];
		else if (strcmp(st->tok[k], "conditions") == 0)
			conditions = st->tok[k + 1];
		else if (strcmp(st->tok[k], "legacy") == 0)
			legacy = st->tok[k + 1];
		else if (strcmp(st->tok[k], "claims") == 0) {
			if (k + 2 >= st->ntok) {
				scen_fail(r, st->line, "claims ID AGENCY");
				return NULL;
			}
			claim_id = st->tok[k + 1];
			claim_agency = st->tok[k + 2];
			k++;
		} else
			pending[npending++] = k;
	}
	if (from == NULL || subject == NULL || mark == NULL ||
	    envelope_marking_from_name(mark, &marking) == -1) {
		scen_fail(r, st->line, "message needs from, subject and a "
		    "marking");
		return NULL;
	}
	if ((r->sender = identity_find_id(fix_principals, from)) == NULL) {
		scen_fail(r, st->line, "%s is not in principals.conf", from);
		return NULL;
	}
	e = fix_full_envelope(&r->a, kind, subject, marking);
	h = e->header;
	body = (ProtobufCMessage *)envelope_body(e);
	if (kind == NWD__V1__KIND__INTELLIGENCE_REPORT) {
		/* Grading and legacy codes are as the line says, or absent. */
		ir = e->intelligence_report;
		ir->grading = NULL;
		ir->legacy = NULL;
	}
	if (kind == NWD__V1__KIND__ALLOCATION) {
		e->allocation->team = (char *)"";
		e->allocation->worker = (char *)"";
		e->allocation->from_unix_ms = e->allocation->until_unix_ms = 0;
	}
	for (i = 0; i < (size_t)npending; i++) {
		const char *key = st->tok[pending[i]];
		const char *val = st->tok[pending[i] + 1];

		if (strcmp(key, "priority") == 0) {
			if ((ev = enum_by_name(&nwd__v1__priority__descriptor,
			    val)) == NULL)
				goto bad;
			h->priority = ev->value;
		} else if (strcmp(key, "basis") == 0) {
			if (envelope_legal_basis_from_name(val, &basis) == -1)
				goto bad;
			h->legal_basis = basis;
		} else if (strcmp(key, "justification") == 0) {
			h->justification = fix_arena_printf(&r->a, "%s", val);
		} else if (strcmp(key, "nhs") == 0) {
			h->subject->nhs_number = fix_arena_printf(&r->a, "%s",
			    val);
		} else if (strcmp(key, "share-with") == 0) {
			snprintf(list, sizeof(list), "%s", val);
			save = NULL;
			for (t = strtok_r(list, ",", &save); t != NULL;
			    t = strtok_r(NULL, ",", &save))
				fix_add_share_with(&r->a, h, t);
		} else if (set_body_field(&r->a, body, key, val) == -1) {
bad:
			scen_fail(r, st->line, "cannot set %s to %s", key, val);
			return NULL;
		}
	}
	if (grading != NULL || handling != NULL || conditions != NULL) {
		Nwd__V1__Grading *g;

		if (ir == NULL || grading == NULL || strlen(grading) != 2) {
			scen_fail(r, st->line, "grading (e.g. 2B), handling "
			    "and conditions go with an intelligence_report");
			return NULL;
		}
		g = fix_arena_alloc(&r->a, sizeof(*g));
		nwd__v1__grading__init(g);
		g->source_evaluation = (uint32_t)(grading[0] - '0');
		snprintf(list, sizeof(list), "%c", grading[1]);
		if ((ev = enum_by_name(
		    &nwd__v1__grading__assessment__descriptor, list)) != NULL)
			g->assessment = ev->value;
		if (handling != NULL) {
			snprintf(list, sizeof(list), "HANDLING_%s", handling);
			if ((ev = enum_by_name(
			    &nwd__v1__grading__handling_code__descriptor,
			    list)) == NULL) {
				scen_fail(r, st->line, "handling P or C");
				return NULL;
			}
			g->handling_code = ev->value;
		}
		if (conditions != NULL)
			g->handling_conditions = fix_arena_printf(&r->a, "%s",
			    conditions);
		ir->grading = g;
	}
	if (legacy != NULL) {
		Nwd__V1__Legacy5x5x5 *l;

		if (ir == NULL || strlen(legacy) != 3) {
			scen_fail(r, st->line, "legacy (e.g. B24) goes with an "
			    "intelligence_report");
			return NULL;
		}
		l = fix_arena_alloc(&r->a, sizeof(*l));
		nwd__v1__legacy5x5x5__init(l);
		l->source_evaluation = fix_arena_printf(&r->a, "%c", legacy[0]);
		l->intelligence_evaluation = (uint32_t)(legacy[1] - '0');
		l->handling_code = (uint32_t)(legacy[2] - '0');
		ir->legacy = l;
	}
	if (claim_id != NULL) {
		h->sender = fix_arena_printf(&r->a, "%s", claim_id);
		h->originating_agency = fix_arena_printf(&r->a, "%s",
		    claim_agency);
	}
	return e;
}

/*
 * "message ...": decided by decide_publish() as the broker decides it,
 * then the broker-owned header fields, DECIDE_EVERYONE and S13 are
 * checked; the lines that follow are checked against the plan.
 */
static void
do_message(struct run *r, const struct stmt *st)
{
	struct decide_world	 w;
	Nwd__V1__Envelope	*sent, *copy;
	Nwd__V1__Header		*h;
	const char		*claim;
	size_t			 i, nallowed = 0;

	finish_message(r);
	if ((sent = build_message(r, st)) == NULL)
		return;
	seen.messages++;
	r->msg_line = st->line;
	r->publish_stated = r->recipients_stated = 0;
	w = run_world(r);
	/* The broker decides on the envelope a peer's bytes unpack to. */
	r->env = fix_envelope_copy(sent);
	assert_int_equal(decide_publish(&w, r->sender, r->env, MESSAGE_ID,
	    DECIDE_PACK, &r->plan), 0);
	r->stated = calloc(r->plan.nentries + 1, sizeof(int));
	assert_non_null(r->stated);
	r->passed = r->plan.publish == POLICY_ALLOW ||
	    no_dead_letters(&r->plan);
	for (i = 0; i < r->plan.nentries; i++) {
		if (r->plan.entries[i].verdict == POLICY_ALLOW)
			nallowed++;
		if (r->plan.entries[i].verdict == POLICY_DENY_NO_RULE)
			scen_fail(r, st->line, "%s: a not-a-candidate entry "
			    "without DECIDE_EVERYONE", r->plan.entries[i].id);
	}
	if (nallowed != r->plan.recipients ||
	    (r->plan.publish == POLICY_ALLOW) != (nallowed > 0))
		scen_fail(r, st->line, "the plan counts %zu recipients, "
		    "allows %zu entries and says %s", r->plan.recipients,
		    nallowed, policy_verdict_name(r->plan.publish));

	/* The header fields the broker owns, over what the client said. */
	h = r->env->header;
	claim = sent->header->sender;
	if (r->passed) {
		if (strcmp(h->sender, r->sender->id) != 0 ||
		    strcmp(h->originating_agency, r->sender->agency) != 0 ||
		    strcmp(h->message_id, MESSAGE_ID) != 0 ||
		    h->created_unix_ms != r->now)
			scen_fail(r, st->line, "the decided header is sender "
			    "\"%s\", agency \"%s\", id \"%s\", created %lld; "
			    "expected %s, %s, %s, %lld", h->sender,
			    h->originating_agency, h->message_id,
			    (long long)h->created_unix_ms, r->sender->id,
			    r->sender->agency, MESSAGE_ID, (long long)r->now);
		if (claim[0] != '\0' && strcmp(claim, r->sender->id) != 0 &&
		    strstr(r->plan.note, claim) == NULL)
			scen_fail(r, st->line, "the note \"%s\" does not say "
			    "that the claim %s was ignored", r->plan.note,
			    claim);
		if (claim[0] == '\0' && r->plan.note[0] != '\0')
			scen_fail(r, st->line, "a note without a claim: %s",
			    r->plan.note);
	}

	/* Asking for everyone and for no bytes changes no decision. */
	copy = fix_envelope_copy(sent);
	assert_int_equal(decide_publish(&w, r->sender, copy, MESSAGE_ID,
	    DECIDE_EVERYONE, &r->every), 0);
	nwd__v1__envelope__free_unpacked(copy, NULL);
	check_everyone(r, st);

	/* S13: whatever the client writes in the sender fields. */
	check_claims(r, st, sent);
}

/*
 * "allocate YP TEAM[,TEAM] | worker ID  [from MS] [until MS] [by ID]": by
 * whom (case-system unless said; "-" for not known), as an Allocation it
 * published.
 */
static void
do_allocate(struct run *r, const struct stmt *st)
{
	struct alloc_entry	 e;
	char			 list[1024], *t, *save = NULL;
	int			 k, worker = 0;
	int64_t			 from = 0, until = 0;
	const char		*who, *by = "case-system";

	if (st->ntok < 3) {
		scen_fail(r, st->line, "allocate YP TEAMS | worker ID");
		return;
	}
	k = 2;
	if (strcmp(st->tok[2], "worker") == 0) {
		worker = 1;
		k = 3;
	}
	if (k >= st->ntok) {
		scen_fail(r, st->line, "allocate to whom?");
		return;
	}
	who = st->tok[k++];
	for (; k + 1 < st->ntok; k += 2) {
		if (strcmp(st->tok[k], "from") == 0)
			from = strtoll(st->tok[k + 1], NULL, 10);
		else if (strcmp(st->tok[k], "until") == 0)
			until = strtoll(st->tok[k + 1], NULL, 10);
		else if (strcmp(st->tok[k], "by") == 0)
			by = strcmp(st->tok[k + 1], "-") == 0 ? NULL :
			    st->tok[k + 1];
		else
			break;
	}
	if (k != st->ntok) {
		scen_fail(r, st->line, "unexpected \"%s\"", st->tok[k]);
		return;
	}
	snprintf(list, sizeof(list), "%s", who);
	for (t = strtok_r(list, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		memset(&e, 0, sizeof(e));
		e.subject = st->tok[1];
		e.team = worker ? "" : t;
		e.worker = worker ? t : "";
		e.from_ms = from;
		e.until_ms = until;
		e.by = by;
		assert_int_equal(alloc_table_put(r->allocs, &e), 0);
	}
}

/* "publish", "deliver", "duty-pass" and "recheck" lines. */
static void
do_expect(struct run *r, const struct stmt *st)
{
	struct decide_world	 w;
	struct decide_entry	 e;
	struct stated		 s;
	const struct principal	*p;
	const char		*what = st->tok[0];
	int			 duty = strcmp(what, "duty-pass") == 0, i;

	seen.lines++;
	if (r->msg_line == 0 && strcmp(what, "recheck") != 0) {
		scen_fail(r, st->line, "%s before any message", what);
		return;
	}
	if (r->env == NULL) {
		scen_fail(r, st->line, "%s needs a message", what);
		return;
	}
	if (st->ntok < 3) {
		scen_fail(r, st->line, "%s WHO VERDICT ...", what);
		return;
	}
	if ((p = identity_find_id(fix_principals, st->tok[1])) == NULL) {
		scen_fail(r, st->line, "%s is not in principals.conf",
		    st->tok[1]);
		return;
	}
	if (strcmp(what, "publish") == 0) {
		if (p != r->sender)
			scen_fail(r, st->line, "the sender is %s",
			    r->sender->id);
		r->publish_stated = 1;
		check_publish(r, st);
		return;
	}
	if (!r->passed) {
		scen_fail(r, st->line, "the publish is refused (%s): nothing "
		    "is decided for anyone", r->plan.reason);
		return;
	}
	if (strcmp(what, "recheck") == 0) {
		/* A pending delivery replayed: the stored message, decided
		 * again now. */
		seen.rechecks++;
		w = run_world(r);
		assert_int_equal(decide_recipient(&w, p, p->id, r->env, 0,
		    DECIDE_PACK, &e), 0);
		check_entry(r, st, "recheck", &e);
		decide_entry_clear(&e);
		return;
	}
	if (p == r->sender) {
		scen_fail(r, st->line, "%s is the sender", p->id);
		return;
	}
	if (parse_stated(r, st, 0, &s) == -1)
		return;
	i = entry_index(&r->plan, p->id, duty);
	if (s.want == POLICY_DENY_NO_RULE) {
		/* Not a candidate: no entry, no audit row; with
		 * DECIDE_EVERYONE, a not-a-candidate entry. */
		if (i >= 0) {
			r->stated[i] = 1;
			scen_fail(r, st->line, "%s %s: %s (rules \"%s\", "
			    "reason \"%s\"), expected norule (no entry)", what,
			    p->id,
			    policy_verdict_name(r->plan.entries[i].verdict),
			    r->plan.entries[i].rules,
			    r->plan.entries[i].reason);
		}
		i = entry_index(&r->every, p->id, duty);
		if (!duty && (i < 0 ||
		    r->every.entries[i].verdict != POLICY_DENY_NO_RULE))
			scen_fail(r, st->line, "%s %s: DECIDE_EVERYONE has no "
			    "not-a-candidate entry", what, p->id);
		return;
	}
	if (i < 0) {
		if (duty && entry_index(&r->every, p->id, 1) < 0)
			scen_fail(r, st->line, "%s %s: not asked in the duty "
			    "pass, which %s", what, p->id, r->plan.recipients >
			    0 && !r->plan.duty_desk ? "did not run: others "
			    "may have the message" : "ran");
		else
			scen_fail(r, st->line, "%s %s: no decision in the plan "
			    "(not a candidate), expected %s", what, p->id,
			    policy_verdict_name(s.want));
		return;
	}
	r->stated[i] = 1;
	check_entry(r, st, what, &r->plan.entries[i]);
}

/* "recipients N duty yes|no" */
static void
do_recipients(struct run *r, const struct stmt *st)
{
	size_t	want;
	int	duty;

	if (r->msg_line == 0 || st->ntok != 4 ||
	    strcmp(st->tok[2], "duty") != 0 ||
	    (strcmp(st->tok[3], "yes") != 0 &&
	    strcmp(st->tok[3], "no") != 0)) {
		scen_fail(r, st->line, "recipients N duty yes|no, after a "
		    "message");
		return;
	}
	want = strtoul(st->tok[1], NULL, 10);
	duty = strcmp(st->tok[3], "yes") == 0;
	r->recipients_stated = 1;
	if (r->plan.recipients != want || r->plan.duty_desk != duty)
		scen_fail(r, st->line, "%zu recipients, duty desk %s; expected "
		    "%zu, duty desk %s", r->plan.recipients,
		    r->plan.duty_desk ? "yes" : "no", want, duty ? "yes" :
		    "no");
}

static void
test_scenario(void **state)
{
	const struct block	*b = *state;
	struct run		 r;
	const struct stmt	*st;
	size_t			 i;

	memset(&r, 0, sizeof(r));
	r.b = b;
	r.now = 1000;
	r.allocs = alloc_table_new();
	assert_non_null(r.allocs);
	seen.blocks++;
	for (i = 0; i < b->nstmts; i++) {
		st = &b->stmts[i];
		if (strcmp(st->tok[0], "allocate") == 0)
			do_allocate(&r, st);
		else if (strcmp(st->tok[0], "at") == 0 && st->ntok == 2)
			r.now = strtoll(st->tok[1], NULL, 10);
		else if (strcmp(st->tok[0], "message") == 0)
			do_message(&r, st);
		else if (strcmp(st->tok[0], "publish") == 0 ||
		    strcmp(st->tok[0], "deliver") == 0 ||
		    strcmp(st->tok[0], "duty-pass") == 0 ||
		    strcmp(st->tok[0], "recheck") == 0)
			do_expect(&r, st);
		else if (strcmp(st->tok[0], "recipients") == 0)
			do_recipients(&r, st);
		else
			scen_fail(&r, st->line, "unknown statement \"%s\"",
			    st->tok[0]);
	}
	finish_message(&r);
	alloc_table_free(r.allocs);
	fix_arena_free(&r.a);
	if (r.nfail > 0)
		fail_msg("scenario %s (scenarios.txt:%d): %d problems", b->id,
		    b->line, r.nfail);
}

/* The file is well formed and covers every row of SCENARIOS.md. */
static void
test_scenario_coverage(void **state)
{
	char	id[16];
	size_t	i, j;
	int	s, nmsg = 0;

	if (scen_error[0] != '\0')
		fail_msg("%s", scen_error);
	for (s = 1; s <= 13; s++) {
		snprintf(id, sizeof(id), "S%d", s);
		for (i = 0; i < nblocks; i++)
			if (strcmp(blocks[i].id, id) == 0)
				break;
		if (i == nblocks)
			fail_msg("scenarios.txt has no block for %s", id);
	}
	for (i = 0; i < nblocks; i++)
		for (j = 0; j < blocks[i].nstmts; j++)
			if (strcmp(blocks[i].stmts[j].tok[0], "message") == 0)
				nmsg++;
	/* The file must not silently shrink. */
	assert_true(nblocks >= 20);
	assert_true(nmsg >= 35);
}

/* ------------------------------------------------------------------------
 * The decision table, tests/data/policy-cases.txt, through the engine.
 * test_policy puts every line to the policy module; here the lines the
 * broker can meet are put to decide_recipient() and decide_publish().
 * The duty lines are the duty pass: decide_recipient() decides them as a
 * delivery the duty pass queued is decided again at replay (the
 * duty-pass lines of scenarios.txt cover the pass within a publish).
 */

struct case_counts {
	int	deliver;	/* through decide_recipient */
	int	publish;	/* through decide_publish, to the policy */
	int	nodead;		/* ... refused then for no dead letters */
	int	refused;	/* refused by the broker before the policy */
	int	invalid;	/* deliver lines of a message the broker
				   refuses at publish */
	int	duty;		/* of them, in the duty pass */
	int	allocate;	/* Allocations, through both rule sets */
};

static struct decide_world
case_world(struct alloc_table *t)
{
	struct decide_world w;

	memset(&w, 0, sizeof(w));
	w.policy = fix_policy;
	w.ids = fix_principals;
	w.allocs = t;
	w.now_ms = 1000;
	w.max_frame = MAX_FRAME;
	return w;
}

/*
 * A message the broker refuses before it asks the policy: envelope_validate
 * refuses it, or its marking is above the sender's clearance.  The plan
 * must be that refusal, with the broker's own code, rule and reason.
 */
static const char *
check_refused_first(const struct fix_case *c, const Nwd__V1__Envelope *sent,
    const struct decide_plan *pl, char *why, size_t whylen)
{
	char	err[512];
	int	valid;

	valid = envelope_validate(sent, err, sizeof(err)) == 0;
	if (!valid && (pl->publish != POLICY_DENY ||
	    pl->code != NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE ||
	    pl->rules[0] != '\0' || strcmp(pl->reason, err) != 0)) {
		snprintf(why, whylen, "envelope_validate refuses the message "
		    "(%s), so the engine must too, with ERROR_INVALID_ENVELOPE "
		    "and no rule; it says %s, code %d, rules \"%s\", reason "
		    "\"%s\"", err, policy_verdict_name(pl->publish),
		    (int)pl->code, pl->rules, pl->reason);
		return why;
	}
	if (valid && (pl->publish != POLICY_DENY ||
	    pl->code != NWD__V1__ERROR_CODE__ERROR_FORBIDDEN ||
	    strcmp(pl->rules, "clearance") != 0 ||
	    strstr(pl->reason, "above the sender's clearance") == NULL)) {
		snprintf(why, whylen, "the marking %s is above %s's clearance "
		    "%s, so the engine must refuse it by rule clearance; it "
		    "says %s, code %d, rules \"%s\", reason \"%s\"",
		    envelope_marking_name(c->marking), c->pr->id,
		    envelope_marking_name(c->pr->clearance),
		    policy_verdict_name(pl->publish), (int)pl->code, pl->rules,
		    pl->reason);
		return why;
	}
	if (pl->nentries != 0) {
		snprintf(why, whylen, "refused before the policy, yet %zu "
		    "decisions were made", pl->nentries);
		return why;
	}
	return NULL;
}

/*
 * An Allocation (an allocate line, or a publish line of kind allocation)
 * through the engine.  The publish rules answer first; what they allow
 * the allocate rules answer: the plan is allowed naming both, or refused
 * naming the allocate rule, as the policy module says.  An allocate line
 * states the allocate rules' answer (a role no rule names is refused by
 * the publish rules or the allocate rules, naming none); a publish line
 * the publish rules'.
 */
static const char *
check_case_allocation(const struct fix_case *c, Nwd__V1__Envelope *sent,
    struct alloc_table *t, struct case_counts *n, char *why, size_t whylen)
{
	struct decide_world	 w = case_world(t);
	struct decide_plan	 pl;
	Nwd__V1__Envelope	*env;
	struct policy_context	 ctx;
	struct policy_decision	 pub, al;
	const char		*bad = NULL;
	char			 want[600];
	int			 allowed;

	n->allocate++;
	memset(&ctx, 0, sizeof(ctx));
	ctx.allocs = t;
	ctx.now_ms = w.now_ms;
	ctx.ids = fix_principals;
	policy_check_publish(fix_policy, c->pr, sent, &ctx, &pub);
	policy_check_allocate(fix_policy, c->pr, sent, &ctx, &al);
	if (c->publish && (pub.verdict != c->want ||
	    strcmp(pub.rules, c->rules) != 0)) {
		snprintf(why, whylen, "the publish rules say %s \"%s\", "
		    "expected %s \"%s\"", policy_verdict_name(pub.verdict),
		    pub.rules, policy_verdict_name(c->want), c->rules);
		return why;
	}
	if (c->allocate && (al.verdict != c->want ||
	    strcmp(al.rules, c->rules) != 0)) {
		snprintf(why, whylen, "the allocate rules say %s \"%s\" (%s), "
		    "expected %s \"%s\"", policy_verdict_name(al.verdict),
		    al.rules, al.reason, policy_verdict_name(c->want),
		    c->rules);
		return why;
	}
	allowed = pub.verdict == POLICY_ALLOW && al.verdict == POLICY_ALLOW;
	if (allowed)
		snprintf(want, sizeof(want), "%s,%s", pub.rules, al.rules);
	else
		snprintf(want, sizeof(want), "%s", pub.verdict !=
		    POLICY_ALLOW ? pub.rules : al.rules);
	env = fix_envelope_copy(sent);
	assert_int_equal(decide_publish(&w, c->pr, env, MESSAGE_ID, 0, &pl),
	    0);
	if (no_dead_letters(&pl) ? !allowed : (pl.publish == POLICY_ALLOW) !=
	    allowed) {
		snprintf(why, whylen, "the engine says %s \"%s\" (%s), "
		    "expected %s \"%s\"", policy_verdict_name(pl.publish),
		    pl.rules, pl.reason, allowed ? "allow" : "deny", want);
		bad = why;
	} else if (!no_dead_letters(&pl) && strcmp(pl.rules, want) != 0) {
		snprintf(why, whylen, "the engine's rules \"%s\", expected "
		    "\"%s\"", pl.rules, want);
		bad = why;
	} else if (!allowed && (pl.code !=
	    NWD__V1__ERROR_CODE__ERROR_FORBIDDEN || pl.reason[0] == '\0' ||
	    pl.nentries != 0 || pl.has_alloc)) {
		snprintf(why, whylen, "a refused Allocation must say "
		    "ERROR_FORBIDDEN and why, and decide and record nothing");
		bad = why;
	} else if (allowed && (!pl.has_alloc ||
	    strcmp(pl.alloc.by, c->pr->id) != 0)) {
		snprintf(why, whylen, "an allowed Allocation is recorded as "
		    "made by its sender");
		bad = why;
	}
	decide_plan_free(&pl);
	nwd__v1__envelope__free_unpacked(env, NULL);
	return bad;
}

static const char *
check_case_publish(const struct fix_case *c, Nwd__V1__Envelope *sent,
    struct alloc_table *t, struct case_counts *n, char *why, size_t whylen)
{
	struct decide_world	 w = case_world(t);
	struct decide_plan	 pl;
	Nwd__V1__Envelope	*env;
	struct policy_context	 ctx;
	struct policy_decision	 d;
	const char		*bad = NULL;
	char			 err[512];

	env = fix_envelope_copy(sent);
	assert_int_equal(decide_publish(&w, c->pr, env, MESSAGE_ID, 0, &pl),
	    0);
	if (envelope_validate(sent, err, sizeof(err)) == -1 ||
	    (int)c->marking > c->pr->clearance) {
		n->refused++;
		bad = check_refused_first(c, sent, &pl, why, whylen);
		goto done;
	}
	n->publish++;
	if (c->want == POLICY_ALLOW && no_dead_letters(&pl)) {
		/* Allowed by the policy, refused because nobody may have
		 * it: the plan names that refusal, the policy the rule. */
		n->nodead++;
		memset(&ctx, 0, sizeof(ctx));
		ctx.allocs = t;
		ctx.now_ms = w.now_ms;
		policy_check_publish(fix_policy, c->pr, sent, &ctx, &d);
		if (strcmp(d.rules, c->rules) != 0) {
			snprintf(why, whylen, "refused for no dead letters; "
			    "the publish rules are \"%s\", expected \"%s\"",
			    d.rules, c->rules);
			bad = why;
		}
		goto done;
	}
	if ((c->want == POLICY_ALLOW) != (pl.publish == POLICY_ALLOW)) {
		snprintf(why, whylen, "publish %s (rules \"%s\", reason "
		    "\"%s\"), expected %s", policy_verdict_name(pl.publish),
		    pl.rules, pl.reason, policy_verdict_name(c->want));
		bad = why;
	} else if (strcmp(pl.rules, c->rules) != 0) {
		snprintf(why, whylen, "publish rules \"%s\", expected \"%s\" "
		    "(reason \"%s\")", pl.rules, c->rules, pl.reason);
		bad = why;
	} else if (pl.publish != POLICY_ALLOW &&
	    (pl.code != NWD__V1__ERROR_CODE__ERROR_FORBIDDEN ||
	    pl.reason[0] == '\0' || pl.nentries != 0)) {
		snprintf(why, whylen, "a refused publish must say "
		    "ERROR_FORBIDDEN and why, and decide nothing: code %d, "
		    "reason \"%s\", %zu decisions", (int)pl.code, pl.reason,
		    pl.nentries);
		bad = why;
	}
done:
	decide_plan_free(&pl);
	nwd__v1__envelope__free_unpacked(env, NULL);
	return bad;
}

static const char *
check_case_deliver(const struct fix_case *c, Nwd__V1__Envelope *sent,
    struct alloc_table *t, struct case_counts *n, char *why, size_t whylen)
{
	struct decide_world	 w = case_world(t);
	struct decide_entry	 e;
	struct decide_plan	 pl;
	Nwd__V1__Envelope	*env;
	const char		*paths[REDACT_MAX_PATHS], *bad = NULL;
	char			 strip[1024], want[1024], err[512];
	int			 np, i;

	env = fix_envelope_copy(sent);
	if (envelope_validate(sent, err, sizeof(err)) == -1) {
		/* No such message is ever stored, so no recipient is ever
		 * decided for it: its publish is refused. */
		n->invalid++;
		assert_int_equal(decide_publish(&w, c->pr, env, MESSAGE_ID, 0,
		    &pl), 0);
		bad = check_refused_first(c, sent, &pl, why, whylen);
		decide_plan_free(&pl);
		nwd__v1__envelope__free_unpacked(env, NULL);
		return bad;
	}
	n->deliver++;
	assert_int_equal(decide_recipient(&w, c->pr, c->pr->id, env,
	    (c->context & FIX_CTX_DUTY) != 0, DECIDE_PACK, &e), 0);
	if (e.verdict != c->want) {
		snprintf(why, whylen, "verdict %s, expected %s (rules \"%s\", "
		    "reason \"%s\")", policy_verdict_name(e.verdict),
		    policy_verdict_name(c->want), e.rules, e.reason);
		bad = why;
		goto done;
	}
	if (strcmp(e.rules, c->rules) != 0) {
		snprintf(why, whylen, "rules \"%s\", expected \"%s\" (reason "
		    "\"%s\")", e.rules, c->rules, e.reason);
		bad = why;
		goto done;
	}
	if (e.verdict != POLICY_ALLOW) {
		if (e.reason[0] == '\0')
			bad = "a refusal without a reason";
		else if (e.withheld != NULL || e.bytes != NULL)
			bad = "a refusal with something to deliver";
		goto done;
	}
	/* The paths of strip= that the full message holds are withheld,
	 * and absent from the bytes. */
	snprintf(strip, sizeof(strip), "%s", c->strip != NULL ? c->strip :
	    "");
	if ((np = fix_split_paths(strip, paths, REDACT_MAX_PATHS)) == -1) {
		bad = "too many strip= paths";
		goto done;
	}
	want[0] = '\0';
	for (i = 0; i < np; i++)
		if (fix_path_present(env, paths[i]))
			fix_appendf(want, sizeof(want), "%s%s",
			    want[0] != '\0' ? "," : "", paths[i]);
	if (e.withheld == NULL || e.bytes == NULL) {
		bad = "allowed, but nothing to deliver";
		goto done;
	}
	if (!fix_same_set(e.withheld, want)) {
		snprintf(why, whylen, "withheld \"%s\", expected \"%s\"",
		    e.withheld, want);
		bad = why;
		goto done;
	}
	snprintf(strip, sizeof(strip), "%s", want);
	np = fix_split_paths(strip, paths, REDACT_MAX_PATHS);
	seen.g10++;
	if (fix_check_bytes(env, paths, (size_t)np, e.bytes, e.len, why,
	    whylen) == -1)
		bad = why;
done:
	decide_entry_clear(&e);
	nwd__v1__envelope__free_unpacked(env, NULL);
	return bad;
}

/* Checks one line of the table through the engine; returns NULL or what
 * went wrong. */
static const char *
check_case(const struct fix_case *c, char *why, size_t whylen, void *arg)
{
	struct case_counts	*n = arg;
	struct fix_arena	 a;
	struct alloc_table	*t;
	Nwd__V1__Envelope	*sent;
	const char		*bad;

	if ((c->context & FIX_CTX_DUTY) && c->publish)
		fail_msg("a publish line in the duty pass");
	if (c->context & FIX_CTX_DUTY)
		n->duty++;
	memset(&a, 0, sizeof(a));
	assert_non_null(t = alloc_table_new());
	sent = fix_case_message(&a, c->pr, c->kind, c->marking, c->context,
	    t);
	if (c->allocate || (c->publish &&
	    c->kind == NWD__V1__KIND__ALLOCATION &&
	    envelope_validate(sent, why, whylen) == 0 &&
	    (int)c->marking <= c->pr->clearance))
		bad = check_case_allocation(c, sent, t, n, why, whylen);
	else if (c->publish)
		bad = check_case_publish(c, sent, t, n, why, whylen);
	else
		bad = check_case_deliver(c, sent, t, n, why, whylen);
	alloc_table_free(t);
	fix_arena_free(&a);
	return bad;
}

static void
test_decision_table(void **state)
{
	struct case_counts	n;
	int			ncases, nbad;

	memset(&n, 0, sizeof(n));
	ncases = fix_cases_each(check_case, &n, &nbad);
	print_message("policy-cases.txt: %d lines: %d deliver lines through "
	    "decide_recipient, %d publish lines through decide_publish to "
	    "the policy (%d of them refused then for no dead letters), %d "
	    "refused by the broker before the policy, %d deliver lines of a "
	    "message refused at publish, %d of the deliver lines in the "
	    "duty pass, %d Allocations through the publish and allocate "
	    "rules\n", ncases, n.deliver, n.publish, n.nodead, n.refused,
	    n.invalid, n.duty, n.allocate);
	/* The table must not silently shrink, nor the engine's share of
	 * it. */
	assert_true(ncases >= 100);
	assert_true(n.deliver >= 75);
	assert_true(n.duty >= 15);
	assert_true(n.publish >= 30);
	assert_true(n.allocate >= 10);
	if (nbad > 0)
		fail_msg("%d of %d policy cases failed through the engine",
		    nbad, ncases);
}

/* ------------------------------------------------------------------------
 * The engine's contracts (decide.h), one by one
 */

/* YP-001 allocated as in most scenarios: hub:norwich, sw:north and
 * camhs:central. */
static struct alloc_table *
s1_allocations(void)
{
	static const char *const teams[] = { "hub:norwich", "sw:north",
	    "camhs:central" };
	struct alloc_table	*t;
	struct alloc_entry	 ae;
	size_t			 i;

	assert_non_null(t = alloc_table_new());
	for (i = 0; i < sizeof(teams) / sizeof(teams[0]); i++) {
		memset(&ae, 0, sizeof(ae));
		ae.subject = "YP-001";
		ae.team = teams[i];
		ae.worker = "";
		assert_int_equal(alloc_table_put(t, &ae), 0);
	}
	return t;
}

/* An OFFICIAL-SENSITIVE message of kind about subject, every field set,
 * with legal basis safeguarding, as a peer's bytes unpack (the caller
 * frees it). */
static Nwd__V1__Envelope *
message(Nwd__V1__Kind kind, const char *subject)
{
	struct fix_arena	 a;
	Nwd__V1__Envelope	*e, *env;

	memset(&a, 0, sizeof(a));
	e = fix_case_message(&a, NULL, kind,
	    NWD__V1__MARKING__OFFICIAL_SENSITIVE, FIX_CTX_NONE, NULL);
	e->header->subject->local_id = (char *)subject;
	env = fix_envelope_copy(e);
	fix_arena_free(&a);
	return env;
}

/* S1: police intelligence about YP-001 (from plo-ana). */
static Nwd__V1__Envelope *
s1_message(void)
{
	return message(NWD__V1__KIND__INTELLIGENCE_REPORT, "YP-001");
}

static const struct decide_entry *
find_entry(const struct decide_plan *pl, const char *id)
{
	int i = entry_index(pl, id, 0);

	return i >= 0 ? &pl->entries[i] : NULL;
}

/* A SharingDecision about subject, OFFICIAL, not shared with names[n],
 * decided and to be reviewed as given (the caller frees it). */
static Nwd__V1__Envelope *
sd_message(const char *subject, char **names, size_t n, int64_t decided,
    int64_t review)
{
	struct fix_arena	 a;
	Nwd__V1__Envelope	*e, *env;

	memset(&a, 0, sizeof(a));
	e = fix_case_message(&a, NULL, NWD__V1__KIND__SHARING_DECISION,
	    NWD__V1__MARKING__OFFICIAL, FIX_CTX_NONE, NULL);
	e->header->subject->local_id = (char *)subject;
	e->sharing_decision->not_shared_with = names;
	e->sharing_decision->n_not_shared_with = n;
	e->sharing_decision->decided_unix_ms = decided;
	e->sharing_decision->review_by_unix_ms = review;
	env = fix_envelope_copy(e);
	fix_arena_free(&a);
	return env;
}

/* Publishes a SharingDecision from sender; the caller frees the plan. */
static void
sd_publish(struct decide_world *w, const char *sender, char **names,
    size_t n, int64_t decided, int64_t review, struct decide_plan *pl)
{
	Nwd__V1__Envelope *env = sd_message("YP-001", names, n, decided,
	    review);

	assert_int_equal(decide_publish(w, fix_cast(sender), env, MESSAGE_ID,
	    0, pl), 0);
	nwd__v1__envelope__free_unpacked(env, NULL);
}

/* The entry of id must be the not-shared-with refusal naming how. */
static void
expect_kept_from(const struct decide_plan *pl, const char *id,
    const char *reason)
{
	const struct decide_entry *e = find_entry(pl, id);

	if (e == NULL)
		fail_msg("no decision about %s", id);
	assert_int_equal(e->verdict, POLICY_DENY);
	assert_string_equal(e->rules, "not-shared-with");
	assert_string_equal(e->reason, reason);
	assert_null(e->bytes);
}

/*
 * Built in: a SharingDecision never reaches whom its not_shared_with names,
 * by id, role, agency or team, whatever the rules say (the duty desk and
 * the auditors have rules for every one), in the duty pass and at replay
 * too; a name the mapping does not know, a decision dated ahead of the
 * clock and a review date not after the decision are refused.
 */
static void
test_sharing_decision_limit(void **state)
{
	struct alloc_table	*t = s1_allocations();
	struct decide_world	 w = case_world(t);
	struct decide_plan	 pl;
	struct decide_entry	 e;
	Nwd__V1__Envelope	*env;
	char			*names[4];

	w.now_ms = 1700000000000LL;
	/* By id, and by role: only the social worker is kept out. */
	names[0] = "sw-ben";
	sd_publish(&w, "camhs-cara", names, 1, 0, 0, &pl);
	assert_int_equal(pl.publish, POLICY_ALLOW);
	expect_kept_from(&pl, "sw-ben", "the sharing decision names sw-ben "
	    "(sw-ben's id) in not_shared_with; it never reaches those it "
	    "names");
	assert_int_equal(find_entry(&pl, "duty-mash")->verdict, POLICY_ALLOW);
	assert_int_equal(pl.recipients, 2);
	decide_plan_free(&pl);
	names[0] = "social_worker";
	sd_publish(&w, "camhs-cara", names, 1, 0, 0, &pl);
	expect_kept_from(&pl, "sw-ben", "the sharing decision names "
	    "social_worker (sw-ben's role) in not_shared_with; it never "
	    "reaches those it names");
	decide_plan_free(&pl);

	/* By team: plo-ana is in hub:norwich as well as the hub. */
	names[0] = "hub:norwich";
	sd_publish(&w, "camhs-cara", names, 1, 0, 0, &pl);
	expect_kept_from(&pl, "plo-ana", "the sharing decision names "
	    "hub:norwich (plo-ana's team) in not_shared_with; it never "
	    "reaches those it names");
	expect_kept_from(&pl, "hubsys-norwich", "the sharing decision names "
	    "hub:norwich (hubsys-norwich's team) in not_shared_with; it "
	    "never reaches those it names");
	expect_kept_from(&pl, "keyworker-kim", "the sharing decision names "
	    "hub:norwich (keyworker-kim's team) in not_shared_with; it "
	    "never reaches those it names");
	assert_null(find_entry(&pl, "hubsys-dereham"));
	assert_int_equal(pl.recipients, 3);
	decide_plan_free(&pl);

	/* By agency, over the duty desk's own rule. */
	names[0] = "social_care";
	sd_publish(&w, "camhs-cara", names, 1, 0, 0, &pl);
	assert_int_equal(pl.publish, POLICY_ALLOW);
	expect_kept_from(&pl, "duty-mash", "the sharing decision names "
	    "social_care (duty-mash's agency) in not_shared_with; it never "
	    "reaches those it names");
	expect_kept_from(&pl, "sw-ben", "the sharing decision names "
	    "social_care (sw-ben's agency) in not_shared_with; it never "
	    "reaches those it names");
	expect_kept_from(&pl, "case-system", "the sharing decision names "
	    "social_care (case-system's agency) in not_shared_with; it never "
	    "reaches those it names");
	assert_int_equal(find_entry(&pl, "auditor-dan")->verdict,
	    POLICY_ALLOW);
	assert_int_equal(pl.recipients, 1);
	decide_plan_free(&pl);

	/* Nobody left but the duty desk, which it names too: the duty
	 * pass refuses it as well, and the publish is refused. */
	names[0] = "social_care";
	names[1] = "governance";
	sd_publish(&w, "camhs-cara", names, 2, 0, 0, &pl);
	assert_int_equal(pl.publish, POLICY_DENY);
	assert_string_equal(pl.rules, "no-dead-letters");
	assert_int_equal(pl.recipients, 0);
	{
		int i = entry_index(&pl, "duty-mash", 1);

		assert_true(i >= 0);
		assert_int_equal(pl.entries[i].verdict, POLICY_DENY);
		assert_string_equal(pl.entries[i].rules, "not-shared-with");
	}
	decide_plan_free(&pl);

	/* At replay, the same limit. */
	names[0] = "police";
	env = sd_message("YP-001", names, 1, 0, 0);
	assert_int_equal(decide_recipient(&w, fix_cast("plo-ana"), "plo-ana",
	    env, 0, DECIDE_PACK, &e), 0);
	assert_int_equal(e.verdict, POLICY_DENY);
	assert_string_equal(e.rules, "not-shared-with");
	assert_null(e.bytes);
	decide_entry_clear(&e);
	assert_int_equal(decide_recipient(&w, fix_cast("auditor-dan"),
	    "auditor-dan", env, 0, DECIDE_PACK, &e), 0);
	assert_int_equal(e.verdict, POLICY_ALLOW);
	decide_entry_clear(&e);
	nwd__v1__envelope__free_unpacked(env, NULL);

	/* Names the mapping does not know protect nobody: refused. */
	names[0] = "polce";
	names[1] = "police";
	names[2] = "hub:nowhere";
	sd_publish(&w, "camhs-cara", names, 3, 0, 0, &pl);
	assert_int_equal(pl.publish, POLICY_DENY);
	assert_int_equal(pl.code, NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE);
	assert_string_equal(pl.rules, "unknown-name");
	assert_string_equal(pl.reason, "sharing_decision.not_shared_with "
	    "names polce and hub:nowhere, which is no principal, team, role "
	    "or agency the principal mapping knows; nothing was recorded");
	assert_int_equal(pl.nentries, 0);
	decide_plan_free(&pl);

	/* Dated within the clock skew: accepted; beyond it: refused. */
	names[0] = "police";
	sd_publish(&w, "camhs-cara", names, 1,
	    w.now_ms + DECIDE_CLOCK_SKEW_MS, 0, &pl);
	assert_int_equal(pl.publish, POLICY_ALLOW);
	decide_plan_free(&pl);
	sd_publish(&w, "camhs-cara", names, 1,
	    w.now_ms + DECIDE_CLOCK_SKEW_MS + 60000, 0, &pl);
	assert_int_equal(pl.publish, POLICY_DENY);
	assert_int_equal(pl.code, NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE);
	assert_string_equal(pl.reason, "sharing_decision.decided_unix_ms is "
	    "360 s ahead of the broker's clock; a decision is dated at most "
	    "300 s in the future");
	decide_plan_free(&pl);

	/* A review date, with the decision dated now (0): after now. */
	sd_publish(&w, "camhs-cara", names, 1, 0, w.now_ms, &pl);
	assert_int_equal(pl.publish, POLICY_DENY);
	assert_string_equal(pl.reason, "sharing_decision.review_by_unix_ms "
	    "must be after the decision (decided_unix_ms, or the time of "
	    "publishing when that is 0)");
	decide_plan_free(&pl);
	sd_publish(&w, "camhs-cara", names, 1, 0, w.now_ms + 1, &pl);
	assert_int_equal(pl.publish, POLICY_ALLOW);
	decide_plan_free(&pl);
	alloc_table_free(t);
}

/* DECIDE_PACK off: the same decisions, withheld and shared, no bytes. */
static void
test_contract_no_pack(void **state)
{
	struct alloc_table	*t = s1_allocations();
	struct decide_world	 w = case_world(t);
	struct decide_plan	 packed, bare;
	Nwd__V1__Envelope	*e1 = s1_message(), *e2 = s1_message();
	const struct decide_entry *x, *y;
	size_t			 i, nallowed = 0;

	assert_int_equal(decide_publish(&w, fix_cast("plo-ana"), e1,
	    MESSAGE_ID, DECIDE_PACK, &packed), 0);
	assert_int_equal(decide_publish(&w, fix_cast("plo-ana"), e2,
	    MESSAGE_ID, 0, &bare), 0);
	assert_int_equal(bare.publish, POLICY_ALLOW);
	assert_int_equal(bare.nentries, packed.nentries);
	assert_int_equal(bare.recipients, packed.recipients);
	for (i = 0; i < bare.nentries; i++) {
		x = &packed.entries[i];
		y = &bare.entries[i];
		assert_string_equal(y->id, x->id);
		assert_int_equal(y->verdict, x->verdict);
		assert_null(y->bytes);
		assert_int_equal(y->len, 0);
		assert_null(y->configured);
		if (y->verdict != POLICY_ALLOW) {
			assert_null(y->withheld);
			assert_null(y->shared);
			continue;
		}
		nallowed++;
		assert_non_null(x->bytes);
		assert_non_null(y->withheld);
		assert_non_null(y->shared);
		assert_string_equal(y->withheld, x->withheld);
		assert_string_equal(y->shared, x->shared);
	}
	/* The summary the hub gets: sources withheld, the rest shared. */
	assert_true(nallowed == 3);
	y = find_entry(&bare, "hubsys-norwich");
	assert_non_null(y);
	assert_true(fix_same_set(y->withheld,
	    "grading,legacy,source_details,third_parties,location"));
	assert_null(strstr(y->shared, "source_details"));
	assert_non_null(strstr(y->shared, "summary"));
	decide_plan_free(&packed);
	decide_plan_free(&bare);
	nwd__v1__envelope__free_unpacked(e1, NULL);
	nwd__v1__envelope__free_unpacked(e2, NULL);
	alloc_table_free(t);
}

/* DECIDE_EVERYONE: every principal but the sender, the ones no rule
 * names as not-a-candidate entries, and what the rules configure. */
static void
test_contract_everyone(void **state)
{
	struct alloc_table	*t = s1_allocations();
	struct decide_world	 w = case_world(t);
	struct decide_plan	 pl;
	Nwd__V1__Envelope	*env = s1_message();
	const struct decide_entry *e;
	size_t			 i, nnorule = 0, nallowed = 0;

	assert_int_equal(decide_publish(&w, fix_cast("plo-ana"), env,
	    MESSAGE_ID, DECIDE_EVERYONE | DECIDE_PACK, &pl), 0);
	assert_int_equal(pl.publish, POLICY_ALLOW);
	assert_int_equal(pl.nentries, identity_count(fix_principals) - 1);
	for (i = 0; i < pl.nentries; i++) {
		e = &pl.entries[i];
		assert_string_not_equal(e->id, "plo-ana");
		assert_int_equal(e->duty_pass, 0);
		if (e->verdict == POLICY_DENY_NO_RULE) {
			nnorule++;
			assert_string_equal(e->rules, "");
			assert_true(e->reason[0] != '\0');
			assert_null(e->withheld);
			assert_null(e->configured);
			assert_null(e->bytes);
		} else if (e->verdict == POLICY_ALLOW) {
			nallowed++;
			assert_non_null(e->configured);
			assert_non_null(e->bytes);
		}
	}
	assert_int_equal(nallowed, pl.recipients);
	assert_int_equal(pl.recipients, 3);
	e = find_entry(&pl, "keyworker-kim");
	assert_non_null(e);
	assert_int_equal(e->verdict, POLICY_DENY_NO_RULE);
	assert_string_equal(e->role, "hub_keyworker");
	/* The hub's summary rule configures what it strips. */
	e = find_entry(&pl, "hubsys-norwich");
	assert_non_null(e);
	assert_true(e->configured[0] != '\0');
	decide_plan_free(&pl);
	nwd__v1__envelope__free_unpacked(env, NULL);
	alloc_table_free(t);
}

/* No envelope: refused, invalid, and nothing decided. */
static void
test_contract_null_envelope(void **state)
{
	struct decide_world	w = case_world(NULL);
	struct decide_plan	pl;

	assert_int_equal(decide_publish(&w, fix_cast("plo-ana"), NULL,
	    MESSAGE_ID, DECIDE_PACK, &pl), 0);
	assert_int_equal(pl.publish, POLICY_DENY);
	assert_int_equal(pl.code, NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE);
	assert_string_equal(pl.reason, "publish carries no envelope");
	assert_string_equal(pl.rules, "");
	assert_int_equal(pl.nentries, 0);
	assert_int_equal(pl.recipients, 0);
	assert_int_equal(pl.has_alloc, 0);
	decide_plan_free(&pl);
}

/* An envelope must fit max_frame less the broker's headroom. */
static void
test_contract_max_frame(void **state)
{
	struct alloc_table	*t = s1_allocations();
	struct decide_world	 w = case_world(t);
	struct decide_plan	 pl;
	Nwd__V1__Envelope	*env = s1_message();
	uint32_t		 size;

	size = (uint32_t)nwd__v1__envelope__get_packed_size(env);
	/* Exactly fits. */
	w.max_frame = size + DECIDE_FRAME_HEADROOM;
	assert_int_equal(decide_publish(&w, fix_cast("plo-ana"), env,
	    MESSAGE_ID, 0, &pl), 0);
	assert_int_equal(pl.publish, POLICY_ALLOW);
	decide_plan_free(&pl);
	nwd__v1__envelope__free_unpacked(env, NULL);
	/* One byte over. */
	env = s1_message();
	w.max_frame = size + DECIDE_FRAME_HEADROOM - 1;
	assert_int_equal(decide_publish(&w, fix_cast("plo-ana"), env,
	    MESSAGE_ID, DECIDE_PACK, &pl), 0);
	assert_int_equal(pl.publish, POLICY_DENY);
	assert_int_equal(pl.code, NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE);
	assert_string_equal(pl.rules, "");
	assert_non_null(strstr(pl.reason, "too large to deliver within "
	    "max_frame"));
	assert_int_equal(pl.nentries, 0);
	/* Refused: the broker-owned fields are not set. */
	assert_string_equal(env->header->message_id, "");
	decide_plan_free(&pl);
	nwd__v1__envelope__free_unpacked(env, NULL);
	/* 0: no limit. */
	env = s1_message();
	w.max_frame = 0;
	assert_int_equal(decide_publish(&w, fix_cast("plo-ana"), env,
	    MESSAGE_ID, 0, &pl), 0);
	assert_int_equal(pl.publish, POLICY_ALLOW);
	decide_plan_free(&pl);
	nwd__v1__envelope__free_unpacked(env, NULL);
	alloc_table_free(t);
}

/* A marking above the sender's clearance is refused by rule
 * "clearance", before the policy is asked. */
static void
test_contract_sender_clearance(void **state)
{
	struct decide_world	 w = case_world(NULL);
	struct decide_plan	 pl;
	struct fix_arena	 a;
	Nwd__V1__Envelope	*env;
	const struct principal	*kim = fix_cast("keyworker-kim");

	assert_int_equal(kim->clearance, NWD__V1__MARKING__OFFICIAL);
	memset(&a, 0, sizeof(a));
	/* keyworker-kim may publish a placement change (policy-cases). */
	env = fix_envelope_copy(fix_case_message(&a, kim,
	    NWD__V1__KIND__PLACEMENT_CHANGE,
	    NWD__V1__MARKING__OFFICIAL_SENSITIVE, FIX_CTX_NONE, NULL));
	fix_arena_free(&a);
	assert_int_equal(decide_publish(&w, kim, env, MESSAGE_ID, DECIDE_PACK,
	    &pl), 0);
	assert_int_equal(pl.publish, POLICY_DENY);
	assert_int_equal(pl.code, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN);
	assert_string_equal(pl.rules, "clearance");
	assert_string_equal(pl.reason, "marking OFFICIAL_SENSITIVE is above "
	    "the sender's clearance OFFICIAL");
	assert_int_equal(pl.nentries, 0);
	decide_plan_free(&pl);
	nwd__v1__envelope__free_unpacked(env, NULL);
}

/* An Allocation names its team and worker in share_with (once each) and
 * leaves its record in the plan; without a message id none is set. */
static void
test_contract_allocation(void **state)
{
	struct decide_world	 w = case_world(NULL);
	struct decide_plan	 pl;
	struct fix_arena	 a;
	Nwd__V1__Envelope	*sent, *env;
	Nwd__V1__Header		*h;
	const struct decide_entry *e;
	size_t			 i, nteam = 0, nworker = 0;

	memset(&a, 0, sizeof(a));
	sent = fix_full_envelope(&a, NWD__V1__KIND__ALLOCATION, "YP-002",
	    NWD__V1__MARKING__OFFICIAL);
	sent->allocation->team = (char *)"hub:norwich";
	sent->allocation->worker = (char *)"sw-ben";
	sent->allocation->from_unix_ms = 500;
	sent->allocation->until_unix_ms = 9000;
	fix_add_share_with(&a, sent->header, "sw-ben");
	env = fix_envelope_copy(sent);
	fix_arena_free(&a);
	w.now_ms = 700;
	assert_int_equal(decide_publish(&w, fix_cast("case-system"), env,
	    NULL, DECIDE_PACK, &pl), 0);
	assert_int_equal(pl.publish, POLICY_ALLOW);
	assert_string_equal(pl.rules, "social-care,case-system-allocates");
	h = env->header;
	for (i = 0; i < h->n_share_with; i++) {
		nteam += strcmp(h->share_with[i], "hub:norwich") == 0;
		nworker += strcmp(h->share_with[i], "sw-ben") == 0;
	}
	assert_int_equal(h->n_share_with, 2);
	assert_int_equal(nteam, 1);
	assert_int_equal(nworker, 1);
	assert_int_equal(pl.has_alloc, 1);
	assert_string_equal(pl.alloc.team, "hub:norwich");
	assert_string_equal(pl.alloc.worker, "sw-ben");
	assert_string_equal(pl.alloc.subject, "YP-002");
	assert_int_equal(pl.alloc.from_ms, 500);
	assert_int_equal(pl.alloc.until_ms, 9000);
	/* Made by its sender, whatever the client says. */
	assert_string_equal(pl.alloc.by, "case-system");
	/* The broker's fields, but no id: explain publishes nothing. */
	assert_string_equal(h->message_id, "");
	assert_string_equal(h->sender, "case-system");
	assert_string_equal(h->originating_agency, "social_care");
	assert_int_equal(h->created_unix_ms, 700);
	/* The team and the worker are told, as if named. */
	e = find_entry(&pl, "hubsys-norwich");
	assert_non_null(e);
	assert_int_equal(e->verdict, POLICY_ALLOW);
	e = find_entry(&pl, "sw-ben");
	assert_non_null(e);
	assert_int_equal(e->verdict, POLICY_ALLOW);
	decide_plan_free(&pl);
	nwd__v1__envelope__free_unpacked(env, NULL);

	/* Any other kind leaves no record. */
	env = s1_message();
	assert_int_equal(decide_publish(&w, fix_cast("plo-ana"), env,
	    MESSAGE_ID, 0, &pl), 0);
	assert_int_equal(pl.has_alloc, 0);
	assert_null(pl.alloc_strings);
	decide_plan_free(&pl);
	nwd__v1__envelope__free_unpacked(env, NULL);
}

/*
 * The allocation table keeps who made each record, and a later record of
 * the same subject, team and worker replaces it, maker and all; the
 * engine refuses an Allocation the allocate rules do not allow before it
 * decides anything, and records nothing.
 */
static void
test_contract_allocation_rights(void **state)
{
	struct alloc_table	*t = s1_allocations();
	struct decide_world	 w = case_world(t);
	struct decide_plan	 pl;
	struct alloc_entry	 e, got;
	struct fix_arena	 a;
	Nwd__V1__Envelope	*sent, *env;

	memset(&e, 0, sizeof(e));
	e.subject = "YP-001";
	e.team = "";
	e.worker = "sw-ben";
	e.by = "sw-ben";
	assert_int_equal(alloc_table_put(t, &e), 0);
	assert_int_equal(alloc_table_find(t, "YP-001", "", "sw-ben", &got), 1);
	assert_string_equal(got.by, "sw-ben");
	assert_string_equal(got.subject, "YP-001");
	assert_int_equal(alloc_table_find(t, "YP-001", "sw-ben", "", &got),
	    0);
	assert_int_equal(alloc_table_find(t, "YP-009", "", "sw-ben", &got),
	    0);
	assert_int_equal(alloc_table_find(NULL, "YP-001", "", "sw-ben",
	    &got), 0);
	/* s1_allocations() gave no maker: "", not NULL. */
	assert_int_equal(alloc_table_find(t, "YP-001", "sw:north", "", &got),
	    1);
	assert_string_equal(got.by, "");
	e.by = NULL;
	e.until_ms = 5000;
	assert_int_equal(alloc_table_put(t, &e), 0);
	assert_int_equal(alloc_table_find(t, "YP-001", "", "sw-ben", &got), 1);
	assert_string_equal(got.by, "");
	assert_int_equal(got.until_ms, 5000);

	/* sw-ben ends hub:norwich's allocation: refused, nothing decided. */
	memset(&a, 0, sizeof(a));
	sent = fix_full_envelope(&a, NWD__V1__KIND__ALLOCATION, "YP-001",
	    NWD__V1__MARKING__OFFICIAL);
	sent->allocation->team = (char *)"hub:norwich";
	sent->allocation->worker = (char *)"";
	sent->allocation->from_unix_ms = 0;
	sent->allocation->until_unix_ms = 1000;
	env = fix_envelope_copy(sent);
	fix_arena_free(&a);
	assert_int_equal(decide_publish(&w, fix_cast("sw-ben"), env,
	    MESSAGE_ID, DECIDE_PACK | DECIDE_EVERYONE, &pl), 0);
	assert_int_equal(pl.publish, POLICY_DENY);
	assert_int_equal(pl.code, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN);
	assert_string_equal(pl.rules, "social-worker-own-cases");
	assert_non_null(strstr(pl.reason, "allocate team hub:norwich"));
	assert_int_equal(pl.nentries, 0);
	assert_int_equal(pl.has_alloc, 0);
	assert_null(pl.alloc_strings);
	/* Refused: the broker-owned fields are not set. */
	assert_string_equal(env->header->message_id, "");
	decide_plan_free(&pl);
	nwd__v1__envelope__free_unpacked(env, NULL);
	alloc_table_free(t);
}

/* A recipient no longer in the mapping is refused, saying so. */
static void
test_contract_recipient_gone(void **state)
{
	struct alloc_table	*t = s1_allocations();
	struct decide_world	 w = case_world(t);
	struct decide_entry	 e;
	Nwd__V1__Envelope	*env = s1_message();

	assert_int_equal(decide_recipient(&w, NULL, "hubsys-gone", env, 0,
	    DECIDE_PACK, &e), 0);
	assert_int_equal(e.verdict, POLICY_DENY);
	assert_string_equal(e.id, "hubsys-gone");
	assert_string_equal(e.role, "");
	assert_string_equal(e.rules, "");
	assert_string_equal(e.reason, "hubsys-gone is no longer in the "
	    "principal mapping");
	assert_int_equal(e.duty_pass, 0);
	assert_null(e.bytes);
	assert_null(e.withheld);
	decide_entry_clear(&e);
	/* A principal still there is decided as at publish. */
	assert_int_equal(decide_recipient(&w, fix_cast("hubsys-norwich"),
	    "hubsys-norwich", env, 0, DECIDE_PACK, &e), 0);
	assert_int_equal(e.verdict, POLICY_ALLOW);
	assert_string_equal(e.role, "hub_system");
	assert_non_null(e.bytes);
	decide_entry_clear(&e);
	decide_entry_clear(&e);
	decide_entry_clear(NULL);
	nwd__v1__envelope__free_unpacked(env, NULL);
	alloc_table_free(t);
}

/* ---- corrections and retractions (issue 18) ---------------------------- */

/* plo-ana's RiskAlert on YP-002, reached by the names in reached. */
static struct decide_superseded
police_alert(char *const *reached, size_t n)
{
	struct decide_superseded sup;

	memset(&sup, 0, sizeof(sup));
	sup.found = 1;
	sup.sender = "plo-ana";
	sup.agency = "police";
	sup.subject = "YP-002";
	sup.kind = NWD__V1__KIND__RISK_ALERT;
	sup.retracted_by = "";
	sup.reached = reached;
	sup.nreached = n;
	return sup;
}

#define SUP_ID	"01890a5d-ac96-774b-bcce-b302099a8057"

/* sender's correction of sup (a RiskAlert about subject) is refused with
 * code, rule and a reason holding needle. */
static void
expect_withdraw_refused(const char *sender, const char *subject, int kind,
    const struct decide_superseded *sup, Nwd__V1__ErrorCode code,
    const char *rule, const char *needle)
{
	struct alloc_table	*t = s1_allocations();
	struct decide_world	 w = case_world(t);
	struct decide_plan	 pl;
	Nwd__V1__Envelope	*env = message((Nwd__V1__Kind)kind, subject);

	env->header->supersedes = strdup(SUP_ID);
	w.superseded = sup;
	assert_int_equal(decide_publish(&w, fix_cast(sender), env, NULL, 0,
	    &pl), 0);
	assert_int_equal(pl.publish, POLICY_DENY);
	assert_int_equal(pl.code, code);
	assert_string_equal(pl.rules, rule);
	if (strstr(pl.reason, needle) == NULL)
		fail_msg("refusal \"%s\" does not say \"%s\"", pl.reason,
		    needle);
	assert_int_equal(pl.nentries, 0);
	assert_int_equal(pl.nnotices, 0);
	assert_int_equal(pl.withdraws, 0);
	decide_plan_free(&pl);
	nwd__v1__envelope__free_unpacked(env, NULL);
	alloc_table_free(t);
}

/* Every refusal of a correction, each with its own reason. */
static void
test_withdraw_refusals(void **state)
{
	char			*reached[] = { "hubsys-dereham" };
	struct decide_superseded sup = police_alert(reached, 1);
	int			 ra = NWD__V1__KIND__RISK_ALERT;

	(void)state;
	sup.found = 0;
	expect_withdraw_refused("plo-ana", "YP-002", ra, &sup,
	    NWD__V1__ERROR_CODE__ERROR_NOT_FOUND, "supersedes",
	    "which nwd does not hold");
	sup = police_alert(reached, 1);
	sup.purged = 1;
	expect_withdraw_refused("plo-ana", "YP-002", ra, &sup,
	    NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, "supersedes", "was purged");
	sup = police_alert(reached, 1);
	expect_withdraw_refused("plo-ana", "YP-003", ra, &sup,
	    NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, "supersedes",
	    "about another young person, not YP-003");
	expect_withdraw_refused("hubsys-norwich", "YP-002", ra, &sup,
	    NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, "supersedes",
	    "published by another agency (police)");
	expect_withdraw_refused("plo-ana", "YP-002",
	    NWD__V1__KIND__MISSING_EPISODE, &sup,
	    NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE, "supersedes",
	    "a correction is of the kind it corrects");
	sup.retracted_by = SUP_ID;
	expect_withdraw_refused("plo-ana", "YP-002", ra, &sup,
	    NWD__V1__ERROR_CODE__ERROR_CONFLICT, "supersedes",
	    "was retracted (by " SUP_ID ")");
	sup = police_alert(reached, 1);
	sup.kind = NWD__V1__KIND__ESCALATION;
	sup.sender = "nwd";
	sup.agency = "nwd";
	expect_withdraw_refused("plo-ana", "YP-002", ra, &sup,
	    NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, "supersedes",
	    "only nwd may withdraw it");
	sup = police_alert(reached, 0);
	expect_withdraw_refused("plo-ana", "YP-002", ra, &sup,
	    NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, "supersedes",
	    "reached no one");
	/* Same agency, but no correct rule names the duty role. */
	{
		struct policy_decision d;

		assert_int_equal(policy_check_correct(fix_policy,
		    fix_cast("duty-mash"), ra, &d), POLICY_DENY_NO_RULE);
		assert_string_equal(d.reason, "no correct rule lets role duty "
		    "correct another's risk_alert");
		assert_int_equal(policy_check_correct(fix_policy,
		    fix_cast("keyworker-kim"), ra, &d), POLICY_ALLOW);
		assert_string_equal(d.rules, "same-agency");
	}
}

/*
 * Property: for any set of principals the original reached and any
 * allocations of its young person, the correction goes to each of them
 * either with its content (an allowed entry) or as a notice, never both,
 * and to no one else in either way; a retraction likewise.
 */
static void
test_withdraw_reach_property(void **state)
{
	static const char *const teams[] = { "hub:norwich", "hub:dereham",
	    "sw:north", "camhs:central", "school:north-high" };
	const struct principal	*p;
	struct decide_superseded sup;
	struct decide_world	 w;
	struct decide_plan	 pl;
	struct alloc_table	*t;
	struct alloc_entry	 ae;
	Nwd__V1__Envelope	*env;
	char			*reached[32];
	uint32_t		 rnd = 2463534242u;
	size_t			 i, k, n, nids, round, allowed, told;
	int			 in_r, is_allowed, is_told, kind;

	(void)state;
	nids = identity_count(fix_principals);
	for (round = 0; round < 400; round++) {
		assert_non_null(t = alloc_table_new());
		for (i = 0; i < sizeof(teams) / sizeof(teams[0]); i++) {
			rnd ^= rnd << 13, rnd ^= rnd >> 17, rnd ^= rnd << 5;
			if (rnd & 1)
				continue;
			memset(&ae, 0, sizeof(ae));
			ae.subject = "YP-002";
			ae.team = teams[i];
			ae.worker = "";
			assert_int_equal(alloc_table_put(t, &ae), 0);
		}
		n = 0;
		for (i = 0; i < nids && n < 32; i++) {
			p = identity_at(fix_principals, i);
			rnd ^= rnd << 13, rnd ^= rnd >> 17, rnd ^= rnd << 5;
			if ((rnd % 3) == 0 && strcmp(p->id, "plo-ana") != 0)
				reached[n++] = p->id;
		}
		if (n == 0)
			reached[n++] = "hubsys-dereham";
		sup = police_alert(reached, n);
		kind = round % 4 == 0 ? NWD__V1__KIND__RETRACTION :
		    NWD__V1__KIND__RISK_ALERT;
		env = message((Nwd__V1__Kind)kind, "YP-002");
		env->header->marking = NWD__V1__MARKING__OFFICIAL;
		env->header->supersedes = strdup(SUP_ID);
		w = case_world(t);
		w.superseded = &sup;
		assert_int_equal(decide_publish(&w, fix_cast("plo-ana"), env,
		    NULL, 0, &pl), 0);
		if (pl.publish != POLICY_ALLOW) {
			for (k = 0; k < n; k++)
				fprintf(stderr, "reached %s\n", reached[k]);
			fail_msg("round %zu: %s refused: %s", round,
			    envelope_kind_name(kind), pl.reason);
		}
		assert_int_equal(pl.withdraws, kind ==
		    NWD__V1__KIND__RETRACTION ? 2 : 1);
		allowed = told = 0;
		for (i = 0; i < nids; i++) {
			p = identity_at(fix_principals, i);
			for (in_r = 0, k = 0; k < n; k++)
				in_r |= strcmp(reached[k], p->id) == 0;
			for (is_allowed = 0, k = 0; k < pl.nentries; k++)
				is_allowed |= strcmp(pl.entries[k].id,
				    p->id) == 0 && pl.entries[k].verdict ==
				    POLICY_ALLOW;
			for (is_told = 0, k = 0; k < pl.nnotices; k++)
				is_told |= strcmp(pl.notices[k], p->id) == 0;
			if (in_r && is_allowed == is_told)
				fail_msg("round %zu: %s was reached: %s", round,
				    p->id, is_allowed ? "both the correction "
				    "and a notice" : "neither the correction "
				    "nor a notice");
			if (!in_r && (is_allowed || is_told))
				fail_msg("round %zu: %s was not reached, yet "
				    "gets the %s", round, p->id, is_allowed ?
				    "correction" : "notice");
			allowed += is_allowed;
			told += is_told;
		}
		assert_int_equal(allowed + told, n);
		assert_int_equal(pl.nnotices, told);
		decide_plan_free(&pl);
		nwd__v1__envelope__free_unpacked(env, NULL);
		alloc_table_free(t);
	}
}

/* nwd's WithdrawalNotice goes to those it names, and no one else. */
static void
test_withdraw_notice_named_only(void **state)
{
	static const struct principal nwd = { .id = (char *)"nwd",
	    .role = (char *)"nwd", .agency = (char *)"nwd",
	    .clearance = NWD__V1__MARKING__OFFICIAL_SENSITIVE };
	struct alloc_table		*t = s1_allocations();
	struct decide_world		 w = case_world(t);
	struct decide_plan		 pl;
	Nwd__V1__Envelope		 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header			 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef		 sr = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__WithdrawalNotice	 wn = NWD__V1__WITHDRAWAL_NOTICE__INIT;
	char				*names[] = { "hubsys-norwich",
					    "sw-ben" };

	(void)state;
	sr.local_id = "YP-001";
	h.kind = NWD__V1__KIND__WITHDRAWAL_NOTICE;
	h.subject = &sr;
	h.marking = NWD__V1__MARKING__OFFICIAL;
	h.priority = NWD__V1__PRIORITY__ROUTINE;
	h.legal_basis = NWD__V1__LEGAL_BASIS__LEGAL_OBLIGATION;
	h.share_with = names;
	h.n_share_with = 2;
	h.supersedes = SUP_ID;
	h.message_id = (char *)protobuf_c_empty_string;
	h.sender = (char *)protobuf_c_empty_string;
	h.originating_agency = (char *)protobuf_c_empty_string;
	wn.withdrawn_message_id = SUP_ID;
	wn.how = NWD__V1__WITHDRAWAL_NOTICE__HOW__CORRECTED;
	env.header = &h;
	env.body_case = NWD__V1__ENVELOPE__BODY_WITHDRAWAL_NOTICE;
	env.withdrawal_notice = &wn;
	assert_int_equal(decide_publish(&w, &nwd, &env, NULL, DECIDE_SYSTEM,
	    &pl), 0);
	assert_int_equal(pl.publish, POLICY_ALLOW);
	assert_int_equal(pl.nentries, 2);
	assert_string_equal(pl.entries[0].id, "hubsys-norwich");
	assert_string_equal(pl.entries[1].id, "sw-ben");
	assert_string_equal(pl.entries[0].rules, "withdrawal-notice");
	assert_int_equal(pl.duty_desk, 0);
	decide_plan_free(&pl);
	/* The broker-owned fields decide_publish set (no message id was
	 * given). */
	free(h.sender);
	free(h.originating_agency);
	/* A publisher may not make one. */
	h.message_id = h.sender = h.originating_agency =
	    (char *)protobuf_c_empty_string;
	assert_int_equal(decide_publish(&w, fix_cast("plo-ana"), &env, NULL,
	    0, &pl), 0);
	assert_int_equal(pl.publish, POLICY_DENY);
	assert_string_equal(pl.rules, "");
	decide_plan_free(&pl);
	/* Not even where a rule would let every kind be published. */
	{
		struct policy *any = fix_parse_ok("policy \"any\"\n"
		    "duty duty-mash\nrole police_liaison: agency police\n"
		    "allow publish anything:\n    roles police_liaison\n"
		    "    kinds *\n", "any");

		w.policy = any;
		h.message_id = h.sender = h.originating_agency =
		    (char *)protobuf_c_empty_string;
		assert_int_equal(decide_publish(&w, fix_cast("plo-ana"), &env,
		    NULL, 0, &pl), 0);
		assert_int_equal(pl.publish, POLICY_DENY);
		assert_string_equal(pl.rules, "broker-only");
		if (h.sender != protobuf_c_empty_string)
			free(h.sender);
		if (h.originating_agency != protobuf_c_empty_string)
			free(h.originating_agency);
		assert_non_null(strstr(pl.reason, "made by the broker alone"));
		decide_plan_free(&pl);
		policy_free(any);
	}
	alloc_table_free(t);
}

static void
join_strv(char *const *v, size_t n, char *out, size_t outlen)
{
	size_t i;

	out[0] = '\0';
	for (i = 0; i < n; i++)
		fix_appendf(out, outlen, "%s%s", i > 0 ? "," : "", v[i]);
}

/* One explain decision against the plan's entry it converts. */
static void
same_decision(const Nwd__V1__ExplainDecision *d, const struct decide_entry *e)
{
	static const Nwd__V1__ExplainVerdict verdicts[] = {
		[POLICY_ALLOW] = NWD__V1__EXPLAIN_VERDICT__EXPLAIN_ALLOWED,
		[POLICY_DENY] = NWD__V1__EXPLAIN_VERDICT__EXPLAIN_REFUSED,
		[POLICY_DENY_NO_RULE] =
		    NWD__V1__EXPLAIN_VERDICT__EXPLAIN_NOT_A_CANDIDATE,
	};
	char list[1024];

	assert_string_equal(d->principal, e->id);
	assert_string_equal(d->role, e->role);
	assert_int_equal(d->verdict, verdicts[e->verdict]);
	assert_string_equal(d->rules, e->rules);
	assert_string_equal(d->reason, e->reason);
	assert_int_equal(d->duty_pass, e->duty_pass);
	join_strv(d->fields_withheld, d->n_fields_withheld, list,
	    sizeof(list));
	assert_string_equal(list, e->withheld != NULL ? e->withheld : "");
	join_strv(d->fields_shared, d->n_fields_shared, list, sizeof(list));
	assert_string_equal(list, e->shared != NULL ? e->shared : "");
	join_strv(d->fields_configured, d->n_fields_configured, list,
	    sizeof(list));
	assert_string_equal(list, e->configured != NULL ? e->configured : "");
}

/*
 * decide_explain() is the plan, converted: the S1 message, and the S6
 * message that only the duty desk may have, explained and decided.
 */
static void
test_contract_explain(void **state)
{
	char *const		 to[] = { (char *)"plo-ana",
				    (char *)"camhs-cara" };
	char *const		 nobody[] = { (char *)"nobody" };
	struct alloc_table	*t = s1_allocations();
	struct decide_world	 w = case_world(t);
	struct decide_plan	 pl;
	Nwd__V1__ExplainResult	*r;
	Nwd__V1__Envelope	*env, *mine;
	enum decide_explain_status st;
	uint8_t			*before, *after;
	size_t			 len, i, k;
	char			 err[256];
	int			 s6;

	for (s6 = 0; s6 <= 1; s6++) {
		/* S6: a risk alert about YP-003, whom nobody is
		 * allocated to; only the duty desk may have it. */
		env = s6 ? message(NWD__V1__KIND__RISK_ALERT, "YP-003") :
		    s1_message();
		len = nwd__v1__envelope__get_packed_size(env);
		before = malloc(len);
		assert_non_null(before);
		nwd__v1__envelope__pack(env, before);
		r = decide_explain(&w, "plo-ana", env, NULL, 0, &st, err,
		    sizeof(err));
		assert_non_null(r);
		assert_int_equal(st, DECIDE_EXPLAIN_OK);
		/* The caller's envelope is not touched. */
		after = malloc(len);
		assert_non_null(after);
		assert_int_equal(nwd__v1__envelope__get_packed_size(env), len);
		nwd__v1__envelope__pack(env, after);
		assert_memory_equal(before, after, len);
		free(before);
		free(after);
		/* What the engine decides, asked for everyone. */
		mine = fix_envelope_copy(env);
		assert_int_equal(decide_publish(&w, fix_cast("plo-ana"), mine,
		    NULL, DECIDE_EVERYONE, &pl), 0);
		assert_int_equal(pl.publish, POLICY_ALLOW);
		assert_int_equal(r->publish->verdict,
		    NWD__V1__EXPLAIN_VERDICT__EXPLAIN_ALLOWED);
		assert_string_equal(r->publish->rules, pl.rules);
		assert_string_equal(r->publish->reason, pl.reason);
		assert_string_equal(r->sender, "plo-ana");
		assert_string_equal(r->agency, "police");
		assert_int_equal(r->at_unix_ms, w.now_ms);
		assert_string_equal(r->policy_version,
		    policy_version(fix_policy));
		assert_int_equal(r->recipients, pl.recipients);
		assert_int_equal(r->duty_desk, pl.duty_desk);
		assert_int_equal(r->duty_desk, s6);
		assert_int_equal(r->n_decisions, pl.nentries);
		for (i = 0; i < pl.nentries; i++)
			same_decision(r->decisions[i], &pl.entries[i]);
		decide_explain_free(r);

		/* Restricted to two: the sender, not a candidate, and
		 * camhs-cara as decided. */
		r = decide_explain(&w, "plo-ana", env, to, 2, &st, err,
		    sizeof(err));
		assert_non_null(r);
		assert_int_equal(r->n_decisions, 2);
		assert_string_equal(r->decisions[0]->principal, "plo-ana");
		assert_int_equal(r->decisions[0]->verdict,
		    NWD__V1__EXPLAIN_VERDICT__EXPLAIN_NOT_A_CANDIDATE);
		k = (size_t)entry_index(&pl, "camhs-cara", 0);
		same_decision(r->decisions[1], &pl.entries[k]);
		assert_int_equal(r->recipients, pl.recipients);
		decide_explain_free(r);
		decide_plan_free(&pl);
		nwd__v1__envelope__free_unpacked(mine, NULL);
		nwd__v1__envelope__free_unpacked(env, NULL);
	}

	/* Unknown principals. */
	env = s1_message();
	assert_null(decide_explain(&w, "nobody", env, NULL, 0, &st, err,
	    sizeof(err)));
	assert_int_equal(st, DECIDE_EXPLAIN_NOT_FOUND);
	assert_string_equal(err, "no principal 'nobody' in the principal map");
	assert_null(decide_explain(&w, "plo-ana", env, nobody, 1, &st, err,
	    sizeof(err)));
	assert_int_equal(st, DECIDE_EXPLAIN_NOT_FOUND);
	nwd__v1__envelope__free_unpacked(env, NULL);
	/* No envelope: explained as a refused publish. */
	r = decide_explain(&w, "plo-ana", NULL, NULL, 0, &st, err,
	    sizeof(err));
	assert_non_null(r);
	assert_int_equal(r->publish->verdict,
	    NWD__V1__EXPLAIN_VERDICT__EXPLAIN_REFUSED);
	assert_string_equal(r->publish->reason, "publish carries no envelope");
	assert_int_equal(r->n_decisions, 0);
	decide_explain_free(r);
	decide_explain_free(NULL);
	alloc_table_free(t);
}

/* decide_plan_free() empties the plan: again, and on NULL, is a no-op. */
static void
test_contract_plan_free(void **state)
{
	struct alloc_table	*t = s1_allocations();
	struct decide_world	 w = case_world(t);
	struct decide_plan	 pl;
	Nwd__V1__Envelope	*env = s1_message();

	assert_int_equal(decide_publish(&w, fix_cast("plo-ana"), env,
	    MESSAGE_ID, DECIDE_PACK | DECIDE_EVERYONE, &pl), 0);
	assert_true(pl.nentries > 0);
	decide_plan_free(&pl);
	assert_null(pl.entries);
	assert_int_equal(pl.nentries, 0);
	assert_int_equal(pl.recipients, 0);
	assert_null(pl.alloc_strings);
	decide_plan_free(&pl);
	decide_plan_free(NULL);
	nwd__v1__envelope__free_unpacked(env, NULL);
	alloc_table_free(t);
}

/* The G10 check of the plan's bytes is not vacuous: a whole delivery
 * checked as the hub's summary fails it, field by field. */
static void
test_contract_g10_not_vacuous(void **state)
{
	static const char *const summary[] = { "grading", "legacy",
	    "source_details", "third_parties", "location" };
	struct alloc_table	*t = s1_allocations();
	struct decide_world	 w = case_world(t);
	struct decide_plan	 pl;
	Nwd__V1__Envelope	*env = s1_message();
	const struct decide_entry *ben, *hub;
	char			 why[4096];

	assert_int_equal(decide_publish(&w, fix_cast("plo-ana"), env,
	    MESSAGE_ID, DECIDE_PACK, &pl), 0);
	ben = find_entry(&pl, "sw-ben");
	hub = find_entry(&pl, "hubsys-norwich");
	assert_non_null(ben);
	assert_non_null(hub);
	assert_int_equal(fix_check_bytes(env, summary, 5, hub->bytes,
	    hub->len, why, sizeof(why)), 0);
	assert_int_equal(fix_check_bytes(env, summary, 5, ben->bytes,
	    ben->len, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "source_details is delivered though "
	    "withheld"));
	assert_non_null(strstr(why, "the bytes carry \"[location.town#0]\""));
	assert_int_equal(fix_check_bytes(env, NULL, 0, hub->bytes, hub->len,
	    why, sizeof(why)), -1);
	assert_non_null(strstr(why, "grading is missing"));
	decide_plan_free(&pl);
	nwd__v1__envelope__free_unpacked(env, NULL);
	alloc_table_free(t);
}

/* ------------------------------------------------------------------------
 */

/*
 * The sender fields a client claims are quoted in the publish row's note,
 * at most 40 bytes of each, whole characters, control characters
 * replaced: the note must be UTF-8 that PostgreSQL takes.
 */
static void
test_contract_claim_note(void **state)
{
	struct alloc_table	*t = s1_allocations();
	struct decide_world	 w = case_world(t);
	struct decide_plan	 pl;
	struct fix_arena	 a;
	Nwd__V1__Envelope	*e, *env;
	char			 sender[64];
	size_t			 i;

	/* "x" and 30 "é": the 40th byte is inside the 20th "é". */
	sender[0] = 'x';
	for (i = 0; i < 30; i++)
		memcpy(sender + 1 + 2 * i, "\xc3\xa9", 2);
	sender[61] = '\0';
	memset(&a, 0, sizeof(a));
	e = fix_case_message(&a, NULL, NWD__V1__KIND__INTELLIGENCE_REPORT,
	    NWD__V1__MARKING__OFFICIAL_SENSITIVE, FIX_CTX_NONE, NULL);
	e->header->subject->local_id = (char *)"YP-001";
	e->header->sender = sender;
	e->header->originating_agency = (char *)"\x1b[31mpolice\xc2\x85";
	env = fix_envelope_copy(e);
	fix_arena_free(&a);
	assert_int_equal(decide_publish(&w, fix_cast("plo-ana"), env,
	    MESSAGE_ID, 0, &pl), 0);
	assert_int_equal(pl.publish, POLICY_ALLOW);
	assert_string_equal(pl.note, "ignored client-supplied sender 'x"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9' and agency '?[31mpolice?'");
	assert_string_equal(env->header->sender, "plo-ana");
	decide_plan_free(&pl);
	nwd__v1__envelope__free_unpacked(env, NULL);
	alloc_table_free(t);
}

/*
 * Break-glass: a live grant lets its grantee receive what the policy
 * alone does not, redacted as the breakglass rule says and with the rule
 * naming the grant; not before or after its window, nor another kind, nor
 * through a rule that does not cover the kind or the grantee's role.
 */
static void
test_contract_breakglass(void **state)
{
	static const char	 id[] = "0b1b2c3d-0000-4000-8000-00000000abcd";
	struct alloc_table	*t = s1_allocations();
	struct decide_world	 w = case_world(t);
	struct grant_table	*g = grant_table_new();
	struct grant		 gr;
	struct decide_plan	 plan;
	struct decide_entry	 e;
	const struct decide_entry *d;
	Nwd__V1__Envelope	*env = message(NWD__V1__KIND__RISK_ALERT,
				    "YP-001");
	Nwd__V1__Envelope	*camhs = message(NWD__V1__KIND__CAMHS_UPDATE,
				    "YP-001");

	(void)state;
	/* Without a grant, the duty desk has no rule for it. */
	assert_int_equal(decide_publish(&w, fix_cast("plo-ana"), env,
	    MESSAGE_ID, DECIDE_PACK, &plan), 0);
	assert_null(find_entry(&plan, "duty-mash"));
	decide_plan_free(&plan);

	memset(&gr, 0, sizeof(gr));
	gr.id = id;
	gr.principal = "duty-mash";
	gr.role = "duty";
	gr.subject = "YP-001";
	gr.rule = "duty-emergency";
	gr.kinds = (1u << NWD__V1__KIND__RISK_ALERT) |
	    (1u << NWD__V1__KIND__CAMHS_UPDATE);
	gr.from_ms = 500;
	gr.until_ms = 2000;
	assert_int_equal(grant_table_put(g, &gr), 0);
	w.grants = g;
	assert_int_equal(decide_publish(&w, fix_cast("plo-ana"), env,
	    MESSAGE_ID, DECIDE_PACK, &plan), 0);
	assert_non_null(d = find_entry(&plan, "duty-mash"));
	assert_int_equal(d->verdict, POLICY_ALLOW);
	assert_string_equal(d->rules, "breakglass:duty-emergency "
	    "grant=0b1b2c3d-0000-4000-8000-00000000abcd");
	/* Protected types, which the rule does not grant, are withheld. */
	assert_string_equal(d->withheld, "associates,location");
	assert_non_null(d->bytes);
	decide_plan_free(&plan);

	/* The same, replayed and as history. */
	assert_int_equal(decide_recipient(&w, fix_cast("duty-mash"),
	    "duty-mash", env, 0, DECIDE_PACK, &e), 0);
	assert_int_equal(e.verdict, POLICY_ALLOW);
	assert_non_null(strstr(e.rules, id));
	decide_entry_clear(&e);
	assert_int_equal(decide_grant(&w, fix_cast("duty-mash"),
	    grant_table_find(g, id), env, DECIDE_PACK, &e), 0);
	assert_int_equal(e.verdict, POLICY_ALLOW);
	decide_entry_clear(&e);

	/* The rule does not open the clinical record, grant or not. */
	assert_int_equal(decide_recipient(&w, fix_cast("duty-mash"),
	    "duty-mash", camhs, 0, DECIDE_PACK, &e), 0);
	assert_int_equal(e.verdict, POLICY_DENY);
	assert_non_null(strstr(e.rules, "grant=0b1b2c3d"));
	assert_non_null(strstr(e.reason, "does not cover camhs_update"));
	decide_entry_clear(&e);

	/* A grantee whose role the rule does not name. */
	assert_int_equal(decide_grant(&w, fix_cast("keyworker-kim"),
	    grant_table_find(g, id), env, DECIDE_PACK, &e), 0);
	assert_int_equal(e.verdict, POLICY_DENY);
	assert_non_null(strstr(e.reason, "does not name role hub_keyworker"));
	decide_entry_clear(&e);

	/* At its expiry it opens nothing. */
	w.now_ms = 2000;
	assert_int_equal(decide_publish(&w, fix_cast("plo-ana"), env,
	    MESSAGE_ID, DECIDE_PACK, &plan), 0);
	assert_null(find_entry(&plan, "duty-mash"));
	decide_plan_free(&plan);
	assert_int_equal(decide_grant(&w, fix_cast("duty-mash"),
	    grant_table_find(g, id), env, DECIDE_PACK, &e), 0);
	assert_int_equal(e.verdict, POLICY_DENY);
	assert_non_null(strstr(e.reason, "is not live"));
	decide_entry_clear(&e);

	nwd__v1__envelope__free_unpacked(camhs, NULL);
	nwd__v1__envelope__free_unpacked(env, NULL);
	grant_table_free(g);
	alloc_table_free(t);
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_scenario_coverage),
		cmocka_unit_test(test_decision_table),
		cmocka_unit_test(test_contract_no_pack),
		cmocka_unit_test(test_contract_everyone),
		cmocka_unit_test(test_contract_null_envelope),
		cmocka_unit_test(test_contract_max_frame),
		cmocka_unit_test(test_contract_sender_clearance),
		cmocka_unit_test(test_contract_allocation),
		cmocka_unit_test(test_contract_allocation_rights),
		cmocka_unit_test(test_contract_claim_note),
		cmocka_unit_test(test_contract_recipient_gone),
		cmocka_unit_test(test_withdraw_refusals),
		cmocka_unit_test(test_withdraw_reach_property),
		cmocka_unit_test(test_withdraw_notice_named_only),
		cmocka_unit_test(test_sharing_decision_limit),
		cmocka_unit_test(test_contract_explain),
		cmocka_unit_test(test_contract_plan_free),
		cmocka_unit_test(test_contract_g10_not_vacuous),
		cmocka_unit_test(test_contract_breakglass),
	};
	struct CMUnitTest	*tests;
	size_t			 nfixed = sizeof(fixed) / sizeof(fixed[0]);
	size_t			 n = 0, i;
	int			 rc;

	load_scenarios();
	tests = calloc(nblocks + nfixed, sizeof(*tests));
	if (tests == NULL)
		return 1;
	for (i = 0; i < nblocks; i++) {
		tests[n].name = blocks[i].name;
		tests[n].test_func = test_scenario;
		tests[n].initial_state = &blocks[i];
		n++;
	}
	for (i = 0; i < nfixed; i++)
		tests[n++] = fixed[i];
	rc = _cmocka_run_group_tests("test_decide", tests, n, fix_load_deploy,
	    fix_free_deploy);
	free(tests);
	fix_arena_free(&scen_arena);
	printf("test_decide: %d scenario blocks, %d messages (each decided "
	    "%d times more with claimed sender fields), %d lines (%d "
	    "rechecks), %d deliveries' bytes decoded\n", seen.blocks,
	    seen.messages, seen.messages > 0 ? seen.claims / seen.messages :
	    0, seen.lines, seen.rechecks, seen.g10);
	return rc;
}
