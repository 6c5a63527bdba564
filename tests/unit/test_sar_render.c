/*
 * Unit tests for client/sar_render.c: the release report rendered page by
 * page through a sink (nwd sar --release, and the console's SAR page).
 *
 * - HTML: the head (counting the records) first, then the contents by
 *   date and kind, then the records; what is withheld is a marker with
 *   its reason and never the value; markup is text; principal ids are not
 *   shown, agencies and roles are; internal rows are left out, refused
 *   publishes are told; the case block when there is a case.
 * - Text: everything on SAR_OUT as it comes, nothing spooled.
 * - A sink that fails fails the report.
 * - sar_render_classify(): who was reached; sar_seen: the rows sent again.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nwd.pb-c.h"
#include "sar_render.h"

#define MID	"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"

struct sink {
	char	*s[3];		/* SAR_OUT, SAR_TOC, SAR_BODY */
	size_t	 n[3];
	int	 fail_after;	/* writes before one fails; -1: never */
	int	 copies;
};

static int
sink_write(void *arg, enum sar_render_stream st, const char *p, size_t n)
{
	struct sink *k = arg;

	if (k->fail_after == 0)
		return -1;
	if (k->fail_after > 0)
		k->fail_after--;
	k->s[st] = realloc(k->s[st], k->n[st] + n + 1);
	assert_non_null(k->s[st]);
	memcpy(k->s[st] + k->n[st], p, n);
	k->n[st] += n;
	k->s[st][k->n[st]] = '\0';
	return 0;
}

static int
sink_copy(void *arg, enum sar_render_stream st)
{
	struct sink *k = arg;

	k->copies++;
	return k->n[st] == 0 ? 0 : sink_write(arg, SAR_OUT, k->s[st],
	    k->n[st]);
}

static void
sink_free(struct sink *k)
{
	int i;

	for (i = 0; i < 3; i++)
		free(k->s[i]);
	memset(k, 0, sizeof(*k));
}

/* One page: a risk alert, reached and refused, a refused publish and an
 * audit query about the subject. */
struct world {
	Nwd__V1__AuditPage	 page;
	Nwd__V1__SarMessage	 m, *pm[1];
	Nwd__V1__Envelope	 env;
	Nwd__V1__Header		 h;
	Nwd__V1__RiskAlert	 ra;
	Nwd__V1__AuditEvent	 ev[3], *pev[3], other[2], *pother[2];
};

static void
world_init(struct world *w)
{
	int i;

	memset(w, 0, sizeof(*w));
	nwd__v1__audit_page__init(&w->page);
	nwd__v1__sar_message__init(&w->m);
	nwd__v1__envelope__init(&w->env);
	nwd__v1__header__init(&w->h);
	nwd__v1__risk_alert__init(&w->ra);
	w->h.kind = NWD__V1__KIND__RISK_ALERT;
	w->h.created_unix_ms = 1799159400000LL;	/* 5 January 2027 14:30 */
	w->h.sender = "plo-ana";
	w->h.originating_agency = "police";
	w->h.justification = "the boyfriend said so";
	w->ra.category = NWD__V1__RISK_ALERT__CATEGORY__GOING_MISSING;
	w->ra.level = NWD__V1__RISK_ALERT__LEVEL__HIGH;
	w->ra.summary = "<script>alert(1)</script> seen";
	w->env.header = &w->h;
	w->env.body_case = NWD__V1__ENVELOPE__BODY_RISK_ALERT;
	w->env.risk_alert = &w->ra;
	w->m.message_id = MID;
	w->m.envelope = &w->env;
	w->m.sender_role = "police_liaison";
	for (i = 0; i < 3; i++) {
		nwd__v1__audit_event__init(&w->ev[i]);
		w->ev[i].id = 10 + i;
		w->ev[i].at_unix_ms = 1799159460000LL;
		w->ev[i].message_id = MID;
		w->pev[i] = &w->ev[i];
	}
	w->ev[0].action = "publish";
	w->ev[0].actor = "plo-ana";
	w->ev[1].action = "deliver";
	w->ev[1].route = "queued";
	w->ev[1].recipient = "sw-ben";
	w->ev[1].recipient_agency = "social_care";
	w->ev[1].recipient_role = "social_worker";
	w->ev[2].action = "deliver_refused";
	w->ev[2].recipient = "hubsys-norwich";
	w->ev[2].recipient_agency = "hub";
	w->ev[2].recipient_role = "hub_system";
	w->ev[2].reason = "no rule lets hub_system receive it";
	w->m.events = w->pev;
	w->m.n_events = 3;
	w->pm[0] = &w->m;
	w->page.messages = w->pm;
	w->page.n_messages = 1;
	for (i = 0; i < 2; i++) {
		nwd__v1__audit_event__init(&w->other[i]);
		w->other[i].id = 20 + i;
		w->other[i].at_unix_ms = 1799160000000LL;
		w->pother[i] = &w->other[i];
	}
	w->other[0].action = "publish_refused";
	w->other[0].kind = NWD__V1__KIND__RISK_ALERT;
	w->other[1].action = "audit_query";
	w->other[1].actor = "auditor-dan";
	w->page.events = w->pother;
	w->page.n_events = 2;
}

/* Renders w through k; the report is k->s[SAR_OUT]. */
static int
render(struct world *w, struct sink *k, int html,
    const struct sar_render_case *kase)
{
	struct sar_render_sink	 sink = { sink_write, sink_copy, k };
	struct sar_render_opts	 o;
	struct sar_render	*r;
	int			 rc;

	memset(&o, 0, sizeof(o));
	o.html = html;
	o.subject = "YP-<001>";
	o.generated_ms = 1799200000000LL;
	o.kase = kase;
	assert_non_null(r = sar_render_new(&o, &sink));
	rc = sar_render_begin(r);
	if (rc == 0)
		rc = sar_render_page(r, &w->page);
	if (rc == 0)
		rc = sar_render_end(r);
	if (rc == 0)
		assert_int_equal(sar_render_count(r), 1);
	sar_render_free(r);
	return rc;
}

static void
expect(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("no \"%s\" in:\n%s", needle, hay);
}

static void
refuse(const char *hay, const char *needle)
{
	if (strstr(hay, needle) != NULL)
		fail_msg("\"%s\" in:\n%s", needle, hay);
}

static void
test_html(void **state)
{
	struct sar_render_case	kase = { "SAR-1", "Jo <Bloggs>", "4 Jan",
				    "4 Feb" };
	struct world		w;
	struct sink		k = { .fail_after = -1 };
	const char		*r;

	(void)state;
	world_init(&w);
	assert_int_equal(render(&w, &k, 1, &kase), 0);
	r = k.s[SAR_OUT];
	assert_int_equal(strncmp(r, "<!DOCTYPE html>\n", 16), 0);
	expect(r, "<title>Information held about YP-&lt;001&gt;</title>");
	expect(r, "<tr><th>Records</th><td>1</td></tr>");
	expect(r, "<tr><th>Reference</th><td>SAR-1</td></tr>");
	expect(r, "<tr><th>Requested by</th><td>Jo &lt;Bloggs&gt;</td></tr>");
	/* The contents by date and kind, before the records. */
	expect(r, "<nav>\n<h2>Contents</h2>\n<ul class=\"toc\">\n<li><a "
	    "href=\"#m1\">Tuesday 5 January 2027, 14:30 &mdash; risk alert"
	    "</a></li>\n</ul>\n</nav>\n<section class=\"msg\" id=\"m1\">");
	expect(r, "&lt;script&gt;alert(1)&lt;/script&gt; seen");
	refuse(r, "<script");
	/* The justification is withheld, with its reason. */
	expect(r, "<span class=\"withheld\">[withheld: the reasons given for "
	    "sharing, which may name other people]</span>");
	refuse(r, "boyfriend");
	/* Agencies and roles, never principal ids or reasons of rules. */
	expect(r, "social care (social worker), Tuesday 5 January 2027, "
	    "14:31");
	expect(r, "Not passed to (the sharing agreement did not allow it)");
	expect(r, "hub (hub system)");
	refuse(r, "sw-ben");
	refuse(r, "plo-ana");
	refuse(r, "hubsys-norwich");
	refuse(r, "no rule lets");
	/* A refused publish is told; an audit query is not. */
	expect(r, "Messages about you that were not accepted");
	refuse(r, "auditor-dan");
	refuse(r, "audit");
	expect(r, "</html>\n");
	assert_int_equal(k.copies, 2);
	sink_free(&k);
}

static void
test_text(void **state)
{
	struct world	w;
	struct sink	k = { .fail_after = -1 };
	const char	*r;

	(void)state;
	world_init(&w);
	assert_int_equal(render(&w, &k, 0, NULL), 0);
	r = k.s[SAR_OUT];
	assert_int_equal(strncmp(r, "Information held about you\n", 27), 0);
	expect(r, "   About: YP-<001>\n");
	expect(r, "1. risk alert\n");
	expect(r, "<script>alert(1)</script> seen");
	expect(r, "[withheld: the reasons given for sharing");
	refuse(r, "boyfriend");
	refuse(r, "Requested by");
	expect(r, "End of the information held.\n");
	assert_null(k.s[SAR_TOC]);
	assert_null(k.s[SAR_BODY]);
	assert_int_equal(k.copies, 0);
	sink_free(&k);
}

static void
test_sink_fails(void **state)
{
	struct world	w;
	struct sink	k;
	int		after;

	(void)state;
	world_init(&w);
	/* Wherever the sink fails, the report does. */
	for (after = 0; after < 40; after += 3) {
		memset(&k, 0, sizeof(k));
		k.fail_after = after;
		assert_int_equal(render(&w, &k, 1, NULL), -1);
		sink_free(&k);
	}
}

static void
test_classify(void **state)
{
	Nwd__V1__SarMessage	m = NWD__V1__SAR_MESSAGE__INIT;
	Nwd__V1__AuditEvent	e[3], *pe[3];
	int			i;

	(void)state;
	for (i = 0; i < 3; i++) {
		nwd__v1__audit_event__init(&e[i]);
		e[i].recipient = "sw-ben";
		pe[i] = &e[i];
	}
	m.events = pe;
	m.n_events = 2;
	e[0].action = "deliver";
	e[0].route = "live";
	e[1].action = "ack";
	assert_int_equal(sar_render_classify(&m, &e[0]), SAR_ROW_SHARED);
	assert_int_equal(sar_render_classify(&m, &e[1]), SAR_ROW_ACK);
	/* A live send that did not happen, and no queue: not reached. */
	e[1].action = "deliver_lost";
	assert_int_equal(sar_render_classify(&m, &e[0]),
	    SAR_ROW_NOT_REACHED);
	assert_int_equal(sar_render_classify(&m, &e[1]), SAR_ROW_OTHER);
	/* ... unless a queue held it. */
	e[2].action = "deliver";
	e[2].route = "queued";
	m.n_events = 3;
	assert_int_equal(sar_render_classify(&m, &e[0]), SAR_ROW_SHARED);
	e[2].route = "unreachable";
	assert_int_equal(sar_render_classify(&m, &e[2]),
	    SAR_ROW_NOT_REACHED);
	e[2].action = "deliver_refused";
	assert_int_equal(sar_render_classify(&m, &e[2]), SAR_ROW_REFUSED);
}

static void
test_seen(void **state)
{
	Nwd__V1__SarMessage	m = NWD__V1__SAR_MESSAGE__INIT;
	Nwd__V1__AuditEvent	e[2], *pe[2], x = NWD__V1__AUDIT_EVENT__INIT;
	struct sar_seen		s;

	(void)state;
	memset(&s, 0, sizeof(s));
	nwd__v1__audit_event__init(&e[0]);
	nwd__v1__audit_event__init(&e[1]);
	e[0].id = 7;
	e[1].id = 3;
	pe[0] = &e[0];
	pe[1] = &e[1];
	m.events = pe;
	m.n_events = 2;
	/* Nothing is remembered until a message comes without rows. */
	assert_int_equal(sar_seen_remember(&s, &m), 0);
	assert_int_equal(sar_seen_has(&s, &e[0]), 0);
	m.rows_cut = 1;
	assert_int_equal(sar_seen_remember(&s, &m), 0);
	assert_int_equal(sar_seen_has(&s, &e[0]), 1);
	assert_int_equal(sar_seen_has(&s, &e[1]), 1);
	x.id = 5;
	assert_int_equal(sar_seen_has(&s, &x), 0);
	sar_seen_free(&s);
	assert_int_equal(sar_seen_has(&s, &e[0]), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_sink_fails),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_seen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
