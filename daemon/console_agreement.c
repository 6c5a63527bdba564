/*
 * console_agreement: the agreement page of the auditor's console, the
 * compiled policy as a governance lead signs it off: who may publish and
 * who may receive each kind (a matrix of kinds x roles), every rule with
 * its conditions and the fields it withholds, keeps or grants, the
 * built-in limits no rule lifts, the deadlines and the break-glass rules.
 * Read from the policy in force (policy.h's view), every value escaped.
 */
#include <stdio.h>
#include <string.h>

#include "console_int.h"
#include "envelope.h"
#include "policy.h"

#define MAX_KIND	32

static const char *
action_name(enum policy_view_action a)
{
	switch (a) {
	case POLICY_VIEW_PUBLISH:
		return "publish";
	case POLICY_VIEW_DELIVER:
		return "receive";
	case POLICY_VIEW_ALLOCATE:
		return "allocate";
	case POLICY_VIEW_CORRECT:
		return "correct colleagues' messages";
	}
	return "?";
}

static void
list(struct chtml *b, const char *const *v, size_t n, const char *none)
{
	size_t i;

	if (n == 0)
		chtml_text(b, none);
	for (i = 0; i < n; i++) {
		if (i > 0)
			chtml_raw(b, ", ");
		chtml_text(b, v[i]);
	}
}

static void
kinds(struct chtml *b, const struct console_labels *l, uint32_t mask)
{
	const char	*n;
	int		 k, first = 1;

	for (k = 1; k < MAX_KIND; k++) {
		if (!(mask & (1u << k)) ||
		    (n = envelope_kind_name((Nwd__V1__Kind)k)) == NULL)
			continue;
		if (!first)
			chtml_raw(b, ", ");
		chtml_text(b, console_label(l, "kind", n));
		first = 0;
	}
}

/* The conditions of a rule, in words. */
static void
conditions(struct chtml *b, const struct policy_rule_view *v)
{
	const char	*n;
	int		 any = 0, k;

	if (v->when != 0) {
		chtml_raw(b, "only when the recipient is ");
		chtml_text(b, v->when & POLICY_WHEN_ALLOCATED ? "allocated" :
		    "");
		if ((v->when & POLICY_WHEN_ALLOCATED) && (v->when &
		    ~POLICY_WHEN_ALLOCATED))
			chtml_raw(b, " or ");
		if (v->when & POLICY_WHEN_NAMED)
			chtml_raw(b, "named in share_with");
		if ((v->when & POLICY_WHEN_NAMED) && (v->when &
		    (POLICY_WHEN_DUTY | POLICY_WHEN_CONSENT)))
			chtml_raw(b, " or ");
		if (v->when & POLICY_WHEN_DUTY)
			chtml_raw(b, "the duty desk (no one else may have "
			    "it)");
		if ((v->when & POLICY_WHEN_DUTY) && (v->when &
		    POLICY_WHEN_CONSENT))
			chtml_raw(b, " or ");
		if (v->when & POLICY_WHEN_CONSENT)
			chtml_raw(b, "covered by a consent");
		any = 1;
	}
	if (v->bases != 0) {
		chtml_raw(b, any ? "; " : "");
		chtml_raw(b, "legal basis ");
		for (k = 0; k < 32; k++)
			if ((v->bases & (1u << k)) && (n =
			    envelope_legal_basis_name((Nwd__V1__LegalBasis)k)) !=
			    NULL) {
				chtml_text(b, n);
				chtml_raw(b, " ");
			}
		any = 1;
	}
	if (v->nfrom > 0) {
		chtml_raw(b, any ? "; " : "");
		chtml_raw(b, "from ");
		list(b, v->from, v->nfrom, "");
		any = 1;
	}
	if (v->max_marking != 0 && (n = envelope_marking_name(
	    (Nwd__V1__Marking)v->max_marking)) != NULL) {
		chtml_raw(b, any ? "; " : "");
		chtml_raw(b, "marked at most ");
		chtml_text(b, n);
		any = 1;
	}
	if (!any)
		chtml_raw(b, "always");
}

static void
matrix(struct chtml *b, const struct policy *p, const struct console_labels *l,
    enum policy_view_action a, const char *id)
{
	struct policy_cell	 c;
	struct policy_rule_view	 v;
	const char		*kn, *role;
	size_t			 i, r, nroles = policy_nroles(p);
	int			 k;

	chtml_rawf(b, "<table id=\"%s\" class=\"matrix\"><thead><tr>"
	    "<th>Kind</th>", id);
	for (r = 0; r < nroles; r++) {
		role = policy_role_at(p, r, NULL, NULL);
		chtml_raw(b, "<th>");
		chtml_text(b, console_label(l, "role", role));
		chtml_raw(b, "</th>");
	}
	chtml_raw(b, "</tr></thead><tbody>\n");
	for (k = 1; k < MAX_KIND; k++) {
		if ((kn = envelope_kind_name((Nwd__V1__Kind)k)) == NULL)
			continue;
		chtml_raw(b, "<tr><th>");
		chtml_text(b, console_label(l, "kind", kn));
		chtml_raw(b, "</th>");
		for (r = 0; r < nroles; r++) {
			role = policy_role_at(p, r, NULL, NULL);
			policy_cell(p, a, k, role, &c);
			chtml_rawf(b, "<td class=\"%s\">", c.state ==
			    POLICY_CELL_ALLOW ? "yes" : c.state ==
			    POLICY_CELL_CONDITIONAL ? "if" : "no");
			chtml_raw(b, c.state == POLICY_CELL_ALLOW ? "yes" :
			    c.state == POLICY_CELL_CONDITIONAL ? "if" :
			    c.state == POLICY_CELL_DENY ? "never" : "no");
			for (i = 0; i < c.nrules; i++) {
				if (policy_rule_at(p, c.rule[i], &v) == -1)
					continue;
				chtml_raw(b, i == 0 ? " <small>" : ", ");
				chtml_raw(b, "<a href=\"#rule-");
				chtml_url(b, v.name);
				chtml_raw(b, "\">");
				chtml_text(b, v.name);
				chtml_raw(b, "</a>");
			}
			if (c.nrules > 0)
				chtml_rawf(b, "%s</small>", c.more > 0 ?
				    ", ..." : "");
			chtml_raw(b, "</td>");
		}
		chtml_raw(b, "</tr>\n");
	}
	chtml_raw(b, "</tbody></table>\n");
}

void
console_page_agreement(struct chtml *b, const struct policy *p,
    const struct console_labels *l)
{
	struct policy_rule_view	 v;
	const char		*name, *agency, *t;
	char			 words[1024];
	size_t			 i;
	int			 clearance;

	chtml_raw(b, "<dl id=\"summary\"><dt>Agreement</dt><dd>");
	t = policy_title(p);
	chtml_text(b, t != NULL ? t : "(untitled)");
	chtml_raw(b, "</dd><dt>Version</dt><dd id=\"version\">");
	chtml_text(b, policy_version(p));
	chtml_rawf(b, "</dd><dt>Rules</dt><dd>%zu</dd><dt>Duty desk</dt><dd>",
	    policy_nrules(p));
	for (i = 0; i < policy_nduty(p); i++) {
		chtml_raw(b, i > 0 ? ", " : "");
		chtml_text(b, policy_duty_at(p, i));
	}
	chtml_raw(b, "</dd></dl>\n");

	chtml_raw(b, "<h2>Roles</h2>\n<table id=\"roles\"><thead><tr>"
	    "<th>Role</th><th>Name in the policy</th><th>Agency</th>"
	    "<th>Highest marking it may receive</th></tr></thead><tbody>\n");
	for (i = 0; (name = policy_role_at(p, i, &agency, &clearance)) !=
	    NULL; i++) {
		chtml_raw(b, "<tr><td>");
		chtml_text(b, console_label(l, "role", name));
		chtml_raw(b, "</td><td>");
		chtml_text(b, name);
		chtml_raw(b, "</td><td>");
		chtml_text(b, console_label(l, "agency", agency));
		chtml_raw(b, "</td><td>");
		t = clearance != 0 ? envelope_marking_name(
		    (Nwd__V1__Marking)clearance) : NULL;
		chtml_text(b, t != NULL ? t : "no limit");
		chtml_raw(b, "</td></tr>\n");
	}
	chtml_raw(b, "</tbody></table>\n");

	chtml_raw(b, "<h2>Who may receive what</h2>\n<p>\"yes\": a rule "
	    "allows it with no condition; \"if\": only when the rule's "
	    "conditions hold (see the rule); \"never\": a deny rule forbids "
	    "it; \"no\": no rule allows it, so it is refused. The built-in "
	    "limits below apply in every case.</p>\n");
	matrix(b, p, l, POLICY_VIEW_DELIVER, "deliver");
	chtml_raw(b, "<h2>Who may publish what</h2>\n");
	matrix(b, p, l, POLICY_VIEW_PUBLISH, "publish");

	chtml_raw(b, "<h2>Limits no rule lifts</h2>\n<ul id=\"limits\">"
	    "<li>Default deny: what no rule allows is refused, and a deny "
	    "whose conditions hold wins over any allow.</li>"
	    "<li>Handling code C reaches only the recipients named in "
	    "share_with.</li>"
	    "<li>Legacy 5x5x5 handling codes 4 and 5 never leave the "
	    "police.</li>"
	    "<li>Nobody receives a marking above their role's clearance."
	    "</li>"
	    "<li>OFFICIAL-SENSITIVE needs the recipient to be allocated to "
	    "the young person or named (need to know), except at the duty "
	    "desk.</li>"
	    "<li>Addresses, third parties and sources are withheld wherever "
	    "they appear unless a rule grants them by name.</li></ul>\n");

	chtml_raw(b, "<h2>Every rule</h2>\n<table id=\"rules\"><thead><tr>"
	    "<th>Rule</th><th>Effect</th><th>Roles</th><th>Kinds</th>"
	    "<th>Conditions</th><th>Withheld</th><th>Only these kept</th>"
	    "<th>Protected fields granted</th><th>Line</th></tr></thead>"
	    "<tbody>\n");
	for (i = 0; policy_rule_at(p, i, &v) == 0; i++) {
		chtml_raw(b, "<tr id=\"rule-");
		chtml_text(b, v.name);
		chtml_raw(b, "\"><td>");
		chtml_text(b, v.name);
		chtml_raw(b, "</td><td>");
		chtml_raw(b, v.allow ? "may " : "may not ");
		chtml_text(b, action_name(v.action));
		chtml_raw(b, "</td><td>");
		if (v.nroles == 0)
			chtml_raw(b, "every role");
		for (size_t r = 0; r < v.nroles; r++) {
			chtml_raw(b, r > 0 ? ", " : "");
			chtml_text(b, console_label(l, "role", v.roles[r]));
		}
		chtml_raw(b, "</td><td>");
		kinds(b, l, v.kinds);
		chtml_raw(b, "</td><td>");
		conditions(b, &v);
		chtml_raw(b, "</td><td>");
		list(b, v.strip, v.nstrip, "");
		chtml_raw(b, "</td><td>");
		list(b, v.keep, v.nkeep, "");
		chtml_raw(b, "</td><td>");
		list(b, v.grant, v.ngrant, "");
		chtml_rawf(b, "</td><td>%d</td></tr>\n", v.line);
	}
	chtml_raw(b, "</tbody></table>\n");

	chtml_raw(b, "<h2>Deadlines</h2>\n<ul id=\"deadlines\">\n");
	for (i = 0; policy_deadline_describe(p, i, &name, words,
	    sizeof(words)) == 0; i++) {
		chtml_raw(b, "<li><b>");
		chtml_text(b, name);
		chtml_raw(b, "</b>: ");
		chtml_text(b, words);
		chtml_raw(b, "</li>\n");
	}
	if (i == 0)
		chtml_raw(b, "<li>None.</li>\n");
	chtml_raw(b, "</ul>\n<h2>Break-glass (emergency access)</h2>\n"
	    "<ul id=\"breakglass\">\n");
	for (i = 0; policy_breakglass_describe(p, i, &name, words,
	    sizeof(words)) == 0; i++) {
		chtml_raw(b, "<li><b>");
		chtml_text(b, name);
		chtml_raw(b, "</b>: ");
		chtml_text(b, words);
		chtml_raw(b, "</li>\n");
	}
	if (i == 0)
		chtml_raw(b, "<li>None.</li>\n");
	chtml_raw(b, "</ul>\n");
}
