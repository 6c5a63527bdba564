/*
 * Integration tests of the auditor's questions to a real nwdd over a real
 * PostgreSQL: AuditQuery (S11: auditors only, every page audited, the
 * refusals visible; paging and filters), subject access (the messages
 * about a subject opened for the auditor, with every row about each), the
 * bound on a page's size, and the nwd tool's "audit query" and "sar".
 */
#include <sys/wait.h>

#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"
#include "harness.h"
#include "nwd.h"

/* The nwd tool, run as a PKI client (harness.h). */
#define run_nwd		harness_run_nwd

#define WAIT_MS		10000	/* the most any event may take */

#define INTEL_SUMMARY	"seen with older males linked to county lines"
#define SOURCE_REF	"SRC-17"
#define CONDITIONS	"not to be disclosed to family"
#define FORMULATION	"attachment difficulties; low mood since the move"
#define RISK_SUMMARY	"self-harm risk raised after the placement move"
#define ALERT_TEXT	"picked up by a car at the station"
#define PURGED_TEXT	"an alert whose body retention has purged"
#define OTHER_TEXT	"an alert about somebody else entirely"

static struct harness_daemon *daemon_main;

/* The messages the set-up publishes. */
static char mid_s1[37];		/* intelligence, handling P, YP-001 */
static char mid_s2[37];		/* intelligence, handling C, YP-001 */
static char mid_s3[37];		/* CAMHS update, consent, YP-001 */
static char mid_alert[37];	/* risk alert YP-001, acknowledged */
static char mid_purged[37];	/* risk alert YP-001, body purged */
static char mid_other[37];	/* risk alert YP-002 */

/* ------------------------------------------------------------------------
 * Helpers
 */

/* A message of any kind about subject, with one body. */
struct msg {
	Nwd__V1__Envelope		env;
	Nwd__V1__Header			hdr;
	Nwd__V1__SubjectRef		subj;
	char				*share[1];
	Nwd__V1__IntelligenceReport	intel;
	Nwd__V1__Grading		grading;
	Nwd__V1__SourceDetails		src;
	Nwd__V1__RiskAlert		alert;
	Nwd__V1__CamhsUpdate		camhs;
	Nwd__V1__Allocation		alloc;
	Nwd__V1__ConsentRecord		consent;
	char				*purposes[1];
	Nwd__V1__Kind			ckinds[1];
};

static void
msg_init(struct msg *m, Nwd__V1__Kind kind, const char *subject)
{
	memset(m, 0, sizeof(*m));
	nwd__v1__envelope__init(&m->env);
	nwd__v1__header__init(&m->hdr);
	nwd__v1__subject_ref__init(&m->subj);
	m->subj.local_id = (char *)subject;
	m->hdr.kind = kind;
	m->hdr.subject = &m->subj;
	m->hdr.marking = NWD__V1__MARKING__OFFICIAL;
	m->hdr.priority = NWD__V1__PRIORITY__ROUTINE;
	m->env.header = &m->hdr;
	m->env.body_case = (Nwd__V1__Envelope__BodyCase)(kind + 9);
}

static void
intel_init(struct msg *m, Nwd__V1__Grading__HandlingCode handling)
{
	msg_init(m, NWD__V1__KIND__INTELLIGENCE_REPORT, "YP-001");
	m->hdr.marking = NWD__V1__MARKING__OFFICIAL_SENSITIVE;
	m->hdr.legal_basis = NWD__V1__LEGAL_BASIS__SAFEGUARDING;
	m->hdr.justification = "risk of criminal exploitation";
	nwd__v1__intelligence_report__init(&m->intel);
	nwd__v1__grading__init(&m->grading);
	nwd__v1__source_details__init(&m->src);
	m->grading.source_evaluation = 2;
	m->grading.assessment = NWD__V1__GRADING__ASSESSMENT__B;
	m->grading.handling_code = handling;
	if (handling == NWD__V1__GRADING__HANDLING_CODE__HANDLING_C) {
		m->grading.handling_conditions = CONDITIONS;
		m->share[0] = "sw:north";
		m->hdr.share_with = m->share;
		m->hdr.n_share_with = 1;
	}
	m->src.reference = SOURCE_REF;
	m->src.relationship = "neighbour";
	m->intel.grading = &m->grading;
	m->intel.sanitised = 1;
	m->intel.summary = INTEL_SUMMARY;
	m->intel.source_details = &m->src;
	m->env.intelligence_report = &m->intel;
}

static void
alert_init(struct msg *m, const char *subject, const char *summary)
{
	msg_init(m, NWD__V1__KIND__RISK_ALERT, subject);
	nwd__v1__risk_alert__init(&m->alert);
	m->alert.category =
	    NWD__V1__RISK_ALERT__CATEGORY__CRIMINAL_EXPLOITATION;
	m->alert.level = NWD__V1__RISK_ALERT__LEVEL__HIGH;
	m->alert.summary = (char *)summary;
	m->env.risk_alert = &m->alert;
}

static void
camhs_init(struct msg *m, Nwd__V1__LegalBasis basis)
{
	msg_init(m, NWD__V1__KIND__CAMHS_UPDATE, "YP-001");
	m->hdr.marking = NWD__V1__MARKING__OFFICIAL_SENSITIVE;
	m->hdr.legal_basis = basis;
	nwd__v1__camhs_update__init(&m->camhs);
	m->camhs.risk_summary = RISK_SUMMARY;
	m->camhs.clinical_formulation = FORMULATION;
	m->camhs.risk_level = NWD__V1__RISK_ALERT__LEVEL__MEDIUM;
	m->env.camhs_update = &m->camhs;
}

/* Publishes as sender; the message id into mid (if not NULL). */
static enum nwd_status
publish_as(const char *sender, Nwd__V1__Envelope *env, char mid[37])
{
	struct nwd_client	*c = harness_connect_as(sender);
	Nwd__V1__PublishAck	*ack = NULL;
	enum nwd_status		 st;
	char			 err[512];

	st = nwd_publish(c, env, &ack, err, sizeof(err));
	if (st == NWD_OK && mid != NULL)
		snprintf(mid, 37, "%s", ack->message_id);
	else if (st != NWD_OK && mid != NULL)
		fprintf(stderr, "publish as %s: %s\n", sender, err);
	nwd_publish_ack_free(ack);
	nwd_close(c);
	return st;
}

static int
allocate(const char *subject, const char *team)
{
	struct msg m;

	msg_init(&m, NWD__V1__KIND__ALLOCATION, subject);
	nwd__v1__allocation__init(&m.alloc);
	m.alloc.team = (char *)team;
	m.env.allocation = &m.alloc;
	return publish_as("case-system", &m.env, NULL) == NWD_OK ? 0 : -1;
}

/* One page, asked as asker; fails the test on an error. */
static Nwd__V1__AuditPage *
query_page(struct nwd_client *c, const Nwd__V1__AuditQuery *q)
{
	Nwd__V1__AuditPage	*p = NULL;
	char			 err[512];

	if (nwd_audit_query(c, q, &p, err, sizeof(err)) != NWD_OK)
		fail_msg("audit query: %s", err);
	assert_non_null(p);
	return p;
}

/* The row ids matching a WHERE clause, as "1,2,3". */
static void
sql_ids(char *out, size_t outlen, const char *where)
{
	harness_sql_text("postgres", out, outlen, "SELECT "
	    "coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM "
	    "nwd.audit_events WHERE %s", where);
}

/* Follows the pages of q to the end; the row ids into out as "1,2,3". */
static size_t
all_ids(struct nwd_client *c, Nwd__V1__AuditQuery *q, char *out,
    size_t outlen, size_t *npages)
{
	Nwd__V1__AuditPage	*p;
	char			 token[256];
	size_t			 i, n = 0, off = 0;
	int64_t			 last = 0;

	out[0] = '\0';
	*npages = 0;
	q->page_token = "";
	for (;;) {
		p = query_page(c, q);
		(*npages)++;
		assert_true(p->n_events <= (q->limit != 0 ? q->limit : 100));
		for (i = 0; i < p->n_events; i++) {
			/* Ascending across pages: no duplicate, no reorder. */
			assert_true(p->events[i]->id > last);
			last = p->events[i]->id;
			off += snprintf(out + off, outlen - off, "%s%" PRId64,
			    off > 0 ? "," : "", last);
			assert_true(off < outlen);
			n++;
		}
		if (p->next_page_token[0] == '\0') {
			nwd_audit_page_free(p);
			return n;
		}
		snprintf(token, sizeof(token), "%s", p->next_page_token);
		nwd_audit_page_free(p);
		q->page_token = token;
		assert_true(*npages < 10000);
	}
}

static const Nwd__V1__AuditEvent *
find_row(const Nwd__V1__AuditPage *p, const char *action, const char *mid,
    const char *recipient)
{
	size_t i;

	for (i = 0; i < p->n_events; i++)
		if (strcmp(p->events[i]->action, action) == 0 &&
		    (mid == NULL || strcmp(p->events[i]->message_id,
		    mid) == 0) && (recipient == NULL ||
		    strcmp(p->events[i]->recipient, recipient) == 0))
			return p->events[i];
	return NULL;
}

static void
join(char *out, size_t outlen, char *const *v, size_t n)
{
	size_t i, off = 0;

	out[0] = '\0';
	for (i = 0; i < n && off < outlen; i++)
		off += snprintf(out + off, outlen - off, "%s%s",
		    i > 0 ? "," : "", v[i]);
}

/* ---- the nwd tool -------------------------------------------------------- */

static void
assert_contains(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle) == NULL)
		fail_msg("output lacks %s\noutput: %s", needle, haystack);
}

static void
assert_lacks(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle) != NULL)
		fail_msg("output has %s\noutput: %s", needle, haystack);
}

static size_t
count(const char *haystack, const char *needle)
{
	size_t n = 0;

	while ((haystack = strstr(haystack, needle)) != NULL) {
		n++;
		haystack += strlen(needle);
	}
	return n;
}

/*
 * The text of the JSON object that follows "message_id":"mid" in a SAR:
 * from there to the next message's key (or the other events).
 */
static char *
sar_message(const char *json, const char *mid)
{
	char		 key[80];
	const char	*start, *end;

	snprintf(key, sizeof(key), "{\"message_id\":\"%s\"", mid);
	if ((start = strstr(json, key)) == NULL) {
		fail_msg("the SAR has no message %s", mid);
		return NULL;
	}
	if ((end = strstr(start + 1, "{\"message_id\":\"")) == NULL &&
	    (end = strstr(start, "\"other_events\"")) == NULL)
		end = start + strlen(start);
	return strndup(start, (size_t)(end - start));
}

/* ------------------------------------------------------------------------
 * Set-up: SCENARIOS.md's allocations and a history about YP-001
 */

static int
group_setup(void **state)
{
	struct nwd_client	*ben;
	Nwd__V1__Deliver	*d = NULL;
	Nwd__V1__Kind		 k = NWD__V1__KIND__RISK_ALERT;
	const char		*yp1 = "YP-001";
	struct msg		 m;
	char			 err[512];

	if ((daemon_main = harness_daemon_start(NULL)) == NULL)
		return -1;
	if (allocate("YP-001", "hub:norwich") == -1 ||
	    allocate("YP-001", "sw:north") == -1 ||
	    allocate("YP-001", "camhs:central") == -1 ||
	    allocate("YP-002", "hub:dereham") == -1)
		return -1;
	/*
	 * sw-ben's case system and the Norwich hub keep durable
	 * subscriptions to intelligence on YP-001: what is shared with them
	 * reaches them while they are away (G16: a recipient nobody could
	 * reach is not "shared with", in the SAR either).
	 */
	k = NWD__V1__KIND__INTELLIGENCE_REPORT;
	ben = harness_connect_as("sw-ben");
	if (nwd_subscribe(ben, &k, 1, &yp1, 1, "ben-intel", NULL, err,
	    sizeof(err)) != NWD_OK) {
		fprintf(stderr, "durable subscribe: %s\n", err);
		return -1;
	}
	nwd_close(ben);
	ben = harness_connect_as("hubsys-norwich");
	if (nwd_subscribe(ben, &k, 1, &yp1, 1, "hub-intel", NULL, err,
	    sizeof(err)) != NWD_OK) {
		fprintf(stderr, "durable subscribe: %s\n", err);
		return -1;
	}
	nwd_close(ben);
	k = NWD__V1__KIND__RISK_ALERT;

	/* S1: the hub and CAMHS get the summary; Dereham is refused. */
	intel_init(&m, NWD__V1__GRADING__HANDLING_CODE__HANDLING_P);
	if (publish_as("plo-ana", &m.env, mid_s1) != NWD_OK)
		return -1;
	/* S2: handling C, named for sw:north; the others refused. */
	intel_init(&m, NWD__V1__GRADING__HANDLING_CODE__HANDLING_C);
	if (publish_as("plo-ana", &m.env, mid_s2) != NWD_OK)
		return -1;
	/* S3: the hub gets the risk summary without the formulation. */
	/* S3 shares on consent: the young person gave it (S18). */
	msg_init(&m, NWD__V1__KIND__CONSENT_RECORD, "YP-001");
	m.hdr.legal_basis = NWD__V1__LEGAL_BASIS__CONSENT;
	nwd__v1__consent_record__init(&m.consent);
	m.consent.given_by = "young person";
	m.consent.status = NWD__V1__CONSENT_RECORD__STATUS__GIVEN;
	m.purposes[0] = "camhs-sharing";
	m.consent.purposes = m.purposes;
	m.consent.n_purposes = 1;
	m.ckinds[0] = NWD__V1__KIND__CAMHS_UPDATE;
	m.consent.kinds = m.ckinds;
	m.consent.n_kinds = 1;
	m.env.consent_record = &m.consent;
	if (publish_as("sw-ben", &m.env, NULL) != NWD_OK)
		return -1;
	camhs_init(&m, NWD__V1__LEGAL_BASIS__CONSENT);
	if (publish_as("camhs-cara", &m.env, mid_s3) != NWD_OK)
		return -1;
	/* S4: refused at publish, nothing stored. */
	camhs_init(&m, NWD__V1__LEGAL_BASIS__LEGAL_BASIS_UNSPECIFIED);
	if (publish_as("camhs-cara", &m.env, NULL) != NWD_ERR_REFUSED)
		return -1;

	/* A risk alert that sw-ben receives live and acknowledges. */
	ben = harness_connect_as("sw-ben");
	if (nwd_subscribe(ben, &k, 1, &yp1, 1, NULL, NULL, err,
	    sizeof(err)) != NWD_OK) {
		fprintf(stderr, "subscribe: %s\n", err);
		return -1;
	}
	alert_init(&m, "YP-001", ALERT_TEXT);
	if (publish_as("plo-ana", &m.env, mid_alert) != NWD_OK ||
	    nwd_next_delivery(ben, WAIT_MS, &d, err, sizeof(err)) != NWD_OK ||
	    nwd_ack(ben, d->delivery_id, d->envelope->header->message_id,
	    err, sizeof(err)) != NWD_OK) {
		fprintf(stderr, "deliver and ack: %s\n", err);
		return -1;
	}
	nwd_deliver_free(d);
	nwd_close(ben);

	/*
	 * One whose body retention purged, as the purge does it but for its
	 * audit row: without that row the database refuses the removal
	 * (010), so the triggers are off for it.
	 */
	alert_init(&m, "YP-001", PURGED_TEXT);
	if (publish_as("plo-ana", &m.env, mid_purged) != NWD_OK)
		return -1;
	if (harness_sql("postgres", "SET session_replication_role = replica;\n"
	    "UPDATE nwd.messages SET body = NULL, "
	    "purged_at = now() WHERE id = (SELECT id FROM nwd.messages "
	    "ORDER BY created_at DESC, id DESC LIMIT 1)", err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "purge: %s\n", err);
		return -1;
	}
	/* Somebody else's. */
	alert_init(&m, "YP-002", OTHER_TEXT);
	if (publish_as("plo-ana", &m.env, mid_other) != NWD_OK)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	int rc = harness_daemon_stop(daemon_main);

	daemon_main = NULL;
	return rc == 0 ? 0 : -1;
}

/* The detached rows of the set-up (refusal, ack) are in before a test. */
static int
test_setup(void **state)
{
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'publish_refused' AND actor = "
	    "'camhs-cara' AND subject = 'YP-001'");
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'ack' AND message_id = '%s' AND "
	    "recipient = 'sw-ben'", mid_alert);
	return 0;
}

/* ------------------------------------------------------------------------
 * S11 through the daemon
 */

/* auditor-dan gets every row about YP-001, refusals included. */
static void
test_s11_auditor_sees_everything_about_yp001(void **state)
{
	struct nwd_client		*c = harness_connect_as("auditor-dan");
	Nwd__V1__AuditQuery		 q = NWD__V1__AUDIT_QUERY__INIT;
	Nwd__V1__AuditPage		*p;
	const Nwd__V1__AuditEvent	*e;
	char				 want[65536], got[65536], list[256];
	char				 where[256];
	size_t				 i, off = 0;
	int				 before;

	before = harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'audit_query' AND actor = "
	    "'auditor-dan' AND subject = 'YP-001' AND reason LIKE 'audit "
	    "query subject=YP-001 limit=1000; answered %%'");
	sql_ids(want, sizeof(want), "subject = 'YP-001'");
	q.subject = "YP-001";
	q.limit = 1000;
	p = query_page(c, &q);
	got[0] = '\0';
	for (i = 0; i < p->n_events; i++) {
		assert_string_equal(p->events[i]->subject, "YP-001");
		off += snprintf(got + off, sizeof(got) - off, "%s%" PRId64,
		    off > 0 ? "," : "", p->events[i]->id);
	}
	/* Exactly the rows that were there: its own row is not among them. */
	assert_string_equal(got, want);
	assert_string_equal(p->next_page_token, "");
	assert_int_equal(p->n_messages, 0);

	/* S1's rows: the publish, the summary for the hub, Dereham refused. */
	assert_non_null(e = find_row(p, "publish", mid_s1, NULL));
	assert_string_equal(e->actor, "plo-ana");
	assert_int_equal(e->kind, NWD__V1__KIND__INTELLIGENCE_REPORT);
	assert_string_equal(e->rule, "police-intelligence");
	assert_true(e->seq > 0);
	assert_true(e->at_unix_ms > 1700000000000);
	assert_true(e->instance[0] != '\0');
	assert_non_null(e = find_row(p, "deliver", mid_s1, "hubsys-norwich"));
	join(list, sizeof(list), e->fields_withheld, e->n_fields_withheld);
	/* The summary keeps no header free text (nwd-policy(5)). */
	assert_string_equal(list,
	    "grading,source_details,header.justification");
	assert_string_equal(e->rule, "intelligence-summary");
	assert_non_null(e = find_row(p, "deliver", mid_s1, "sw-ben"));
	assert_int_equal(e->n_fields_withheld, 0);
	assert_non_null(e = find_row(p, "deliver_refused", mid_s1,
	    "hubsys-dereham"));
	assert_non_null(strstr(e->reason, "not allocated to YP-001"));
	/* S2's refusals name handling C. */
	assert_non_null(e = find_row(p, "deliver_refused", mid_s2,
	    "hubsys-norwich"));
	assert_string_equal(e->rule, "handling-C");
	assert_non_null(strstr(e->reason, "handling code C"));
	assert_non_null(find_row(p, "deliver_refused", mid_s2, "camhs-cara"));
	/* S4's refused publish. */
	assert_non_null(e = find_row(p, "publish_refused", NULL, NULL));
	assert_string_equal(e->actor, "camhs-cara");
	assert_non_null(strstr(e->reason, "legal basis"));
	/* Nothing about YP-002. */
	assert_null(find_row(p, "publish", mid_other, NULL));

	/* The question is on record, committed before the answer came. */
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'audit_query' AND actor = "
	    "'auditor-dan' AND subject = 'YP-001' AND reason LIKE 'audit "
	    "query subject=YP-001 limit=1000; answered %%'"), before + 1);
	snprintf(where, sizeof(where), "audit query subject=YP-001 "
	    "limit=1000; answered %zu rows", p->n_events);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'audit_query' AND reason = '%s' "
	    "AND id > %s", where, strrchr(want, ',') + 1), 1);
	nwd_audit_page_free(p);

	/* Asked again, the first question is among the answers. */
	p = query_page(c, &q);
	assert_non_null(e = find_row(p, "audit_query", NULL, NULL));
	assert_string_equal(e->actor, "auditor-dan");
	assert_non_null(strstr(e->reason, "audit query subject=YP-001"));
	nwd_audit_page_free(p);
	nwd_close(c);
}

/* hubsys-norwich asking the same is refused, and that is on record. */
static void
test_s11_other_roles_are_refused(void **state)
{
	const char		*who[] = { "hubsys-norwich", "plo-ana" };
	Nwd__V1__AuditQuery	 q = NWD__V1__AUDIT_QUERY__INIT;
	Nwd__V1__AuditPage	*p = NULL;
	struct nwd_client	*c;
	char			 err[512];
	size_t			 i;

	q.subject = "YP-001";
	for (i = 0; i < 2; i++) {
		c = harness_connect_as(who[i]);
		assert_int_equal(nwd_audit_query(c, &q, &p, err, sizeof(err)),
		    NWD_ERR_REFUSED);
		assert_null(p);
		assert_int_equal(nwd_last_server_error(c),
		    NWD__V1__ERROR_CODE__ERROR_FORBIDDEN);
		assert_non_null(strstr(err, "ERROR_FORBIDDEN: audit queries "
		    "are for auditors"));
		/* Subject access too. */
		q.subject_access = 1;
		assert_int_equal(nwd_audit_query(c, &q, &p, err, sizeof(err)),
		    NWD_ERR_REFUSED);
		q.subject_access = 0;
		/* The session carries on. */
		assert_int_equal(nwd_ping(c, err, sizeof(err)), NWD_OK);
		nwd_close(c);
	}
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'audit_query' AND actor = "
	    "'hubsys-norwich' AND subject = 'YP-001' AND reason = 'refused: "
	    "audit queries are for auditors, not role hub_system; asked: "
	    "audit query subject=YP-001 limit=100'");
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'audit_query' AND actor = "
	    "'hubsys-norwich' AND subject = 'YP-001' AND reason = 'refused: "
	    "audit queries are for auditors, not role hub_system; asked: "
	    "subject access YP-001 limit=100'");
	harness_wait_sql_int("postgres", WAIT_MS, 2, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'audit_query' AND actor = "
	    "'plo-ana' AND reason LIKE 'refused: audit queries are for "
	    "auditors, not role police_liaison;%%'");
}

/* Pages of 2 chain to exactly the rows there were; every page audited. */
static void
test_paging_chains_without_gaps(void **state)
{
	struct nwd_client	*c = harness_connect_as("auditor-dan");
	Nwd__V1__AuditQuery	 q = NWD__V1__AUDIT_QUERY__INIT;
	char			 want[65536], got[65536];
	size_t			 n, npages;
	int			 before, paged;

	before = harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'audit_query' AND actor = "
	    "'auditor-dan' AND reason LIKE 'audit query subject=YP-001 "
	    "limit=2%%'");
	paged = harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'audit_query' AND actor = "
	    "'auditor-dan' AND reason LIKE 'audit query subject=YP-001 "
	    "limit=2 page=%%@%%'");
	sql_ids(want, sizeof(want), "subject = 'YP-001'");
	q.subject = "YP-001";
	q.limit = 2;
	n = all_ids(c, &q, got, sizeof(got), &npages);
	assert_true(n >= 5);
	/* Each page adds a matching audit_query row; none is seen. */
	assert_string_equal(got, want);
	assert_int_equal(npages, n / 2 + 1);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'audit_query' AND actor = "
	    "'auditor-dan' AND reason LIKE 'audit query subject=YP-001 "
	    "limit=2%%'"), before + (int)npages);
	/* Later pages name their token and the bound of the first. */
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'audit_query' AND actor = "
	    "'auditor-dan' AND reason LIKE 'audit query subject=YP-001 "
	    "limit=2 page=%%@%%'"), paged + (int)npages - 1);
	nwd_close(c);
}

/* Filters by action, principal, message and time agree with SQL. */
static void
test_filters(void **state)
{
	struct nwd_client	*c = harness_connect_as("auditor-dan");
	Nwd__V1__AuditQuery	 q = NWD__V1__AUDIT_QUERY__INIT;
	char			 want[65536], got[65536], where[512], out[64];
	int64_t			 t1, t2;
	size_t			 n, npages;

	q.limit = 3;
	q.subject = "YP-001";
	q.action = "deliver_refused";
	sql_ids(want, sizeof(want), "subject = 'YP-001' AND action = "
	    "'deliver_refused'");
	n = all_ids(c, &q, got, sizeof(got), &npages);
	assert_true(n >= 3);	/* Dereham on S1, two on S2, ... */
	assert_string_equal(got, want);

	q.subject = "";
	q.action = "";
	q.principal = "hubsys-dereham";
	sql_ids(want, sizeof(want), "actor = 'hubsys-dereham' OR recipient = "
	    "'hubsys-dereham'");
	n = all_ids(c, &q, got, sizeof(got), &npages);
	assert_true(n >= 1);
	assert_string_equal(got, want);

	q.principal = "";
	q.message_id = mid_s2;
	snprintf(where, sizeof(where), "message_id = '%s'", mid_s2);
	sql_ids(want, sizeof(want), where);
	n = all_ids(c, &q, got, sizeof(got), &npages);
	assert_true(n >= 4);	/* publish, deliver, two refused */
	assert_string_equal(got, want);

	/* From S2's publish (inclusive) until the alert's (exclusive). */
	q.message_id = "";
	q.subject = "YP-001";
	harness_sql_text("postgres", out, sizeof(out), "SELECT (extract(epoch "
	    "FROM at) * 1000)::bigint FROM nwd.audit_events WHERE action = "
	    "'publish' AND message_id = '%s'", mid_s2);
	t1 = strtoll(out, NULL, 10);
	harness_sql_text("postgres", out, sizeof(out), "SELECT (extract(epoch "
	    "FROM at) * 1000)::bigint FROM nwd.audit_events WHERE action = "
	    "'publish' AND message_id = '%s'", mid_alert);
	t2 = strtoll(out, NULL, 10);
	assert_true(t1 > 0 && t2 > t1);
	q.from_unix_ms = t1;
	q.until_unix_ms = t2;
	snprintf(where, sizeof(where), "subject = 'YP-001' AND at >= "
	    "timestamptz 'epoch' + %" PRId64 " * interval '1 millisecond' "
	    "AND at < timestamptz 'epoch' + %" PRId64 " * interval "
	    "'1 millisecond'", t1, t2);
	sql_ids(want, sizeof(want), where);
	n = all_ids(c, &q, got, sizeof(got), &npages);
	assert_true(n >= 4);
	assert_string_equal(got, want);
	nwd_close(c);
}

/* What the broker refuses to read, with the reason. */
static void
test_bad_queries(void **state)
{
	struct nwd_client	*c = harness_connect_as("auditor-dan");
	Nwd__V1__AuditQuery	 q = NWD__V1__AUDIT_QUERY__INIT;
	Nwd__V1__AuditPage	*p = NULL;
	char			 err[512];

	q.subject_access = 1;
	assert_int_equal(nwd_audit_query(c, &q, &p, err, sizeof(err)),
	    NWD_ERR_INVALID);
	assert_non_null(strstr(err, "a subject-access query needs a subject"));
	q.subject = "YP-001";
	q.action = "deliver";
	assert_int_equal(nwd_audit_query(c, &q, &p, err, sizeof(err)),
	    NWD_ERR_INVALID);
	assert_non_null(strstr(err, "takes the subject alone"));
	q.subject_access = 0;
	q.action = "steal";
	assert_int_equal(nwd_audit_query(c, &q, &p, err, sizeof(err)),
	    NWD_ERR_INVALID);
	assert_non_null(strstr(err, "unknown action"));
	q.action = "";
	q.page_token = "m00000000-0000-0000-0000-000000000000";
	assert_int_equal(nwd_audit_query(c, &q, &p, err, sizeof(err)),
	    NWD_ERR_INVALID);
	assert_non_null(strstr(err, "page token"));
	q.page_token = "twelve";
	assert_int_equal(nwd_audit_query(c, &q, &p, err, sizeof(err)),
	    NWD_ERR_INVALID);
	q.page_token = "";
	q.message_id = "not-a-uuid";
	assert_int_equal(nwd_audit_query(c, &q, &p, err, sizeof(err)),
	    NWD_ERR_INVALID);
	q.message_id = "";
	q.from_unix_ms = 2000;
	q.until_unix_ms = 1000;
	assert_int_equal(nwd_audit_query(c, &q, &p, err, sizeof(err)),
	    NWD_ERR_INVALID);
	assert_null(p);
	/* A message token names a message about the subject. */
	q.from_unix_ms = q.until_unix_ms = 0;
	q.subject_access = 1;
	q.page_token = "m00000000-0000-0000-0000-000000000000@1";
	assert_int_equal(nwd_audit_query(c, &q, &p, err, sizeof(err)),
	    NWD_ERR_REFUSED);
	assert_non_null(strstr(err, "ERROR_NOT_FOUND"));
	/* A session that was refused goes on. */
	assert_int_equal(nwd_ping(c, err, sizeof(err)), NWD_OK);
	nwd_close(c);
}

/* ------------------------------------------------------------------------
 * Subject access through the daemon
 */

static const Nwd__V1__SarMessage *
find_message(const Nwd__V1__AuditPage *p, const char *mid)
{
	size_t i;

	for (i = 0; i < p->n_messages; i++)
		if (strcmp(p->messages[i]->message_id, mid) == 0)
			return p->messages[i];
	return NULL;
}

static void
test_subject_access_opens_the_messages(void **state)
{
	struct nwd_client		*c = harness_connect_as("auditor-dan");
	Nwd__V1__AuditQuery		 q = NWD__V1__AUDIT_QUERY__INIT;
	Nwd__V1__AuditPage		*p;
	const Nwd__V1__SarMessage	*m;
	const Nwd__V1__IntelligenceReport *ir;
	char				 list[256];
	size_t				 i;
	int				 opened;

	opened = harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'audit_query' AND actor = "
	    "'auditor-dan' AND message_id = '%s' AND reason = 'body opened "
	    "for the subject-access request on YP-001'", mid_s1);
	q.subject = "YP-001";
	q.subject_access = 1;
	q.limit = 1000;
	p = query_page(c, &q);
	/* Every message about YP-001, oldest first, and no other. */
	assert_int_equal(p->n_messages, harness_sql_int("postgres", "SELECT "
	    "count(*) FROM nwd.messages WHERE subject = 'YP-001'"));
	for (i = 0; i < p->n_messages; i++) {
		assert_non_null(p->messages[i]->envelope);
		assert_string_equal(p->messages[i]->envelope->header->subject->
		    local_id, "YP-001");
		if (i > 0)
			assert_true(p->messages[i]->envelope->header->
			    created_unix_ms >= p->messages[i - 1]->envelope->
			    header->created_unix_ms);
	}
	assert_null(find_message(p, mid_other));
	assert_string_equal(p->next_page_token, "");

	/* S1 whole, for the auditor: summary, source and grading. */
	assert_non_null(m = find_message(p, mid_s1));
	assert_string_equal(m->note, "");
	assert_string_equal(m->envelope->header->sender, "plo-ana");
	assert_string_equal(m->envelope->header->originating_agency, "police");
	assert_string_equal(m->envelope->header->message_id, mid_s1);
	ir = m->envelope->intelligence_report;
	assert_non_null(ir);
	assert_string_equal(ir->summary, INTEL_SUMMARY);
	assert_string_equal(ir->source_details->reference, SOURCE_REF);
	assert_int_equal(ir->grading->source_evaluation, 2);
	/* With every row about it, the withheld fields per recipient. */
	assert_true(m->n_events >= 5);
	for (i = 0; i < m->n_events; i++) {
		assert_string_equal(m->events[i]->message_id, mid_s1);
		if (strcmp(m->events[i]->recipient, "camhs-cara") == 0) {
			join(list, sizeof(list), m->events[i]->fields_withheld,
			    m->events[i]->n_fields_withheld);
			assert_string_equal(list, "grading,source_details,"
			    "header.justification");
		}
	}
	/* S3's formulation, which the hub never saw, is held. */
	assert_non_null(m = find_message(p, mid_s3));
	assert_string_equal(m->envelope->camhs_update->clinical_formulation,
	    FORMULATION);
	/* The acknowledgement, which names no subject, comes with it. */
	assert_non_null(m = find_message(p, mid_alert));
	for (i = 0; i < m->n_events; i++)
		if (strcmp(m->events[i]->action, "ack") == 0)
			break;
	assert_true(i < m->n_events);
	assert_string_equal(m->events[i]->recipient, "sw-ben");
	assert_string_equal(m->events[i]->subject, "");
	/* The purged body: its header, and why there is no more. */
	assert_non_null(m = find_message(p, mid_purged));
	assert_string_equal(m->note, "body purged under retention");
	assert_int_equal(m->envelope->body_case,
	    NWD__V1__ENVELOPE__BODY__NOT_SET);
	assert_int_equal(m->envelope->header->kind, NWD__V1__KIND__RISK_ALERT);
	assert_string_equal(m->envelope->header->sender, "plo-ana");
	assert_true(m->envelope->header->created_unix_ms > 0);
	/* Then the rows about the subject. */
	assert_non_null(find_row(p, "publish_refused", NULL, NULL));

	/* The page, and each body opened, is on record. */
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'audit_query' AND actor = "
	    "'auditor-dan' AND message_id = '%s' AND subject = 'YP-001' AND "
	    "kind = 1 AND reason = 'body opened for the subject-access "
	    "request on YP-001'", mid_s1), opened + 1);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'audit_query' AND message_id = "
	    "'%s'", mid_purged), 0);
	assert_true(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'audit_query' AND actor = "
	    "'auditor-dan' AND subject = 'YP-001' AND message_id IS NULL AND "
	    "reason = 'subject access YP-001 limit=1000; answered %zu "
	    "messages, %zu rows'", p->n_messages, p->n_events) >= 1);
	nwd_audit_page_free(p);
	nwd_close(c);
}

/* ------------------------------------------------------------------------
 * The nwd tool
 */

static void
test_cli_audit_query(void **state)
{
	static char	 out[262144];
	char		 where[256], crl[4096];
	const char	*line;
	int		 n;

	/*
	 * --crl: a CRL that revokes the broker's certificate stops the tool
	 * before it asks (3, as for a broker it cannot reach); with the CA's
	 * current CRL it asks.
	 */
	snprintf(crl, sizeof(crl), "%s", harness_pki("server-revoked.crl"));
	assert_int_equal(run_nwd(out, sizeof(out), "auditor-dan", "audit "
	    "query --crl %s --subject YP-CRL 2>/dev/null", crl), 3);
	assert_string_equal(out, "");
	snprintf(crl, sizeof(crl), "%s", harness_pki("ca.crl"));
	assert_int_equal(run_nwd(out, sizeof(out), "auditor-dan", "audit "
	    "query --crl %s --subject YP-CRL --format json", crl), 0);
	assert_true(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'audit_query' AND actor = "
	    "'auditor-dan' AND subject = 'YP-CRL'") == 1);

	/* CSV: a header, then one CRLF-ended record per row. */
	n = harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE subject = 'YP-001' AND action = "
	    "'deliver_refused'");
	assert_int_equal(run_nwd(out, sizeof(out), "auditor-dan", "audit "
	    "query --subject YP-001 --action deliver_refused --format csv"),
	    0);
	assert_true(strncmp(out, "id,at,at_unix_ms,instance,seq,actor,action,"
	    "message_id,subject,kind,recipient,fields_shared,fields_withheld,"
	    "rule,policy_version,reason,route\r\n", 141) == 0);
	assert_int_equal(count(out, "\r\n"), n + 1);
	assert_int_equal(count(out, ",deliver_refused,"), n);
	assert_contains(out, ",YP-001,intelligence_report,hubsys-norwich,,,"
	    "handling-C,sha256:");
	/* Lists hold commas, so they are quoted. */
	assert_int_equal(run_nwd(out, sizeof(out), "auditor-dan", "audit "
	    "query --message %s --action deliver --format csv", mid_s1), 0);
	assert_contains(out, ",hubsys-norwich,\"sanitised,summary,");
	assert_contains(out, ",\"grading,source_details,header.justification\","
	    "intelligence-summary,sha256:");
	/* Each decision's route, last. */
	assert_contains(out, ",queued\r\n");
	assert_contains(out, ",unreachable\r\n");

	/* JSON lines, every page with --all. */
	n = harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE subject = 'YP-001'");
	assert_int_equal(run_nwd(out, sizeof(out), "auditor-dan", "audit "
	    "query --subject YP-001 --limit 2 --all --format json"), 0);
	assert_int_equal(count(out, "\n"), n);
	for (line = out; *line != '\0'; line = strchr(line, '\n') + 1)
		assert_true(strncmp(line, "{\"id\":", 6) == 0);
	snprintf(where, sizeof(where), "{\"id\":");
	assert_int_equal(count(out, where), n);
	assert_contains(out, "\"action\":\"deliver\",\"message_id\":\"");
	assert_contains(out, "\"recipient\":\"hubsys-norwich\","
	    "\"fields_shared\":[\"sanitised\",\"summary\",");
	assert_contains(out, "\"fields_withheld\":[\"grading\","
	    "\"source_details\",\"header.justification\"],\"rule\":"
	    "\"intelligence-summary\"");
	assert_contains(out, "\"at\":\"20");
	assert_contains(out, "\"route\":\"queued\"}");
	assert_contains(out, "\"route\":null}");

	/* Without --all, one page and the token on stderr. */
	assert_int_equal(run_nwd(out, sizeof(out), "auditor-dan", "audit "
	    "query --subject YP-001 --limit 2 --format json 2>&1"), 0);
	assert_contains(out, "more rows match; go on with --page-token ");

	/* The table, with ISO times; the time range in ISO 8601. */
	n = harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE subject = 'YP-001'");
	assert_int_equal(run_nwd(out, sizeof(out), "auditor-dan", "audit "
	    "query --subject YP-001 --from 2000-01-01 --until "
	    "2100-01-01T00:00:00Z --limit 1000"), 0);
	assert_true(strncmp(out, "AT  ", 4) == 0 || strncmp(out, "AT ", 3) ==
	    0);
	assert_contains(out, "ACTOR");
	assert_contains(out, "RECIPIENT");
	assert_contains(out, "ROUTE");
	assert_contains(out, "WITHHELD");
	assert_contains(out, "REASON\n");
	assert_contains(out, "grading,source_details");
	assert_contains(out, "deliver_refused");
	assert_int_equal(count(out, "\n"), n + 1);	/* and the header */

	/* Refused for others, and usage errors before any connection. */
	assert_int_equal(run_nwd(out, sizeof(out), "hubsys-norwich", "audit "
	    "query --subject YP-001"), 1);
	assert_int_equal(run_nwd(out, sizeof(out), "auditor-dan", "audit "
	    "query --from yesterday"), 2);
	assert_int_equal(run_nwd(out, sizeof(out), "auditor-dan", "audit "
	    "query --limit 5000"), 2);
	assert_int_equal(run_nwd(out, sizeof(out), "auditor-dan", "audit "
	    "query --format xml"), 2);
	assert_int_equal(run_nwd(out, sizeof(out), "auditor-dan", "audit "
	    "query --from 2025-02-30"), 2);
}

static void
test_cli_sar(void **state)
{
	static char	 out[262144];
	char		*m;

	assert_int_equal(run_nwd(out, sizeof(out), "auditor-dan", "sar "
	    "--subject YP-001 --format json"), 0);
	assert_true(strncmp(out, "{\"subject\":\"YP-001\",\"generated_at\":\"",
	    36) == 0);
	assert_contains(out, "\"generated_by\":\"auditor-dan\"");
	/* Every message about YP-001, decrypted; none about YP-002. */
	assert_int_equal((int)count(out, "{\"message_id\":\""),
	    harness_sql_int("postgres", "SELECT count(*) FROM nwd.messages "
	    "WHERE subject = 'YP-001'"));
	assert_lacks(out, mid_other);
	assert_lacks(out, OTHER_TEXT);
	assert_contains(out, ALERT_TEXT);
	assert_contains(out, FORMULATION);

	/* S1: the body whole; who got which fields. */
	m = sar_message(out, mid_s1);
	assert_contains(m, "\"kind\":\"intelligence_report\",\"sender\":"
	    "\"plo-ana\",\"agency\":\"police\",\"created\":\"20");
	assert_contains(m, "\"marking\":\"OFFICIAL-SENSITIVE\"");
	assert_contains(m, "\"summary\":\"" INTEL_SUMMARY "\"");
	assert_contains(m, "\"reference\":\"" SOURCE_REF "\"");
	assert_contains(m, "{\"recipient\":\"hubsys-norwich\",\"at\":\"20");
	assert_contains(m, "\"rule\":\"intelligence-summary\","
	    "\"fields_shared\":[\"sanitised\",\"summary\",");
	assert_contains(m, "],\"fields_withheld\":[\"grading\","
	    "\"source_details\",\"header.justification\"]}");
	assert_contains(m, "{\"recipient\":\"sw-ben\",\"at\":\"20");
	assert_contains(m, "\"rule\":\"social-worker-case\","
	    "\"fields_shared\":[\"grading\",\"sanitised\",\"summary\","
	    "\"source_details\",");
	assert_contains(m, "],\"fields_withheld\":[]}");
	assert_contains(m, "\"refused\":[{\"recipient\":\"hubsys-dereham\"");
	/*
	 * Shared with only those it reached (a durable subscription held it
	 * for both); camhs-cara, allowed but with nothing to take it, is
	 * not among them (G16).
	 */
	assert_contains(m, "{\"recipient\":\"hubsys-norwich\",\"at\":\"20");
	assert_contains(m, "\"route\":\"queued\",\"rule\":"
	    "\"intelligence-summary\"");
	assert_lacks(strstr(m, "\"shared_with\":"), "\"not_reached\":[]");
	assert_contains(strstr(m, "\"not_reached\":["), "{\"recipient\":"
	    "\"camhs-cara\",\"at\":\"20");
	assert_contains(m, "\"why\":\"unreachable\",\"rule\":"
	    "\"intelligence-summary\"}");
	assert_lacks(strstr(m, "\"not_reached\":["), "\"hubsys-norwich\"");
	free(m);
	/* S2: refused with the reason. */
	m = sar_message(out, mid_s2);
	assert_contains(m, "\"handling_conditions\":\"" CONDITIONS "\"");
	assert_contains(m, "{\"recipient\":\"hubsys-norwich\",\"at\":\"20");
	assert_contains(m, "\"rule\":\"handling-C\",\"reason\":\"");
	assert_contains(m, "handling code C");
	free(m);
	/* The acknowledged alert. */
	m = sar_message(out, mid_alert);
	assert_contains(m, "\"acks\":[{\"recipient\":\"sw-ben\",\"at\":\"20");
	free(m);
	/* The purged one. */
	m = sar_message(out, mid_purged);
	assert_contains(m, "\"body\":null,\"note\":\"body purged under "
	    "retention\"");
	assert_lacks(m, PURGED_TEXT);
	free(m);
	/* Refusals at publish and earlier audit queries are the others. */
	assert_contains(out, "\"other_events\":[");
	m = strstr(out, "\"other_events\":[");
	assert_contains(m, "\"action\":\"publish_refused\"");
	assert_contains(m, "\"action\":\"audit_query\"");
	assert_lacks(m, "\"action\":\"deliver\"");

	/* The report says the same to a person. */
	assert_int_equal(run_nwd(out, sizeof(out), "auditor-dan", "sar "
	    "--subject YP-001"), 0);
	assert_contains(out, "Subject access report: YP-001\n=====");
	assert_contains(out, "Generated   20");
	assert_contains(out, "by auditor-dan");
	assert_contains(out, ": intelligence report\n");
	assert_contains(out, "      summary: " INTEL_SUMMARY "\n");
	assert_contains(out, "      source_details.reference: " SOURCE_REF);
	assert_contains(out, "hubsys-norwich: withheld grading, "
	    "source_details, header.justification (rule "
	    "intelligence-summary); queued for its durable subscription");
	assert_contains(out, "  Allowed, but not reached\n");
	assert_contains(out, "camhs-cara: no session or durable subscription "
	    "could take it (rule intelligence-summary)");
	assert_contains(out, "sw-ben: the whole message (rule "
	    "social-worker-case)");
	assert_contains(out, "  Not shared with\n");
	assert_contains(out, "handling code C");
	assert_contains(out, "  Receipt acknowledged by\n");
	assert_contains(out, "  Note           body purged under retention");
	assert_contains(out, FORMULATION);
	assert_contains(out, "Other recorded events about YP-001\n");
	assert_contains(out, "publish_refused by camhs-cara");
	assert_lacks(out, OTHER_TEXT);
	assert_contains(out, "End of report.\n");

	/* Only auditors; the subject is required. */
	assert_int_equal(run_nwd(out, sizeof(out), "hubsys-norwich", "sar "
	    "--subject YP-001"), 1);
	assert_int_equal(run_nwd(out, sizeof(out), "auditor-dan", "sar"), 2);
	assert_int_equal(run_nwd(out, sizeof(out), "auditor-dan", "sar "
	    "--subject YP-001 --action ack"), 2);
	assert_int_equal(run_nwd(out, sizeof(out), "auditor-dan", "help sar"),
	    0);
	assert_contains(out, "usage: nwd sar --subject ID");
}

/*
 * A small max_frame: pages are cut to fit and their tokens go on, in the
 * messages and in the rows, and the whole is what one big page holds.
 * Runs last: it replaces the daemon.
 */
static void
test_pages_fit_max_frame(void **state)
{
	static char		 big[262144], small[262144];
	struct nwd_client	*c;
	Nwd__V1__AuditQuery	 q = NWD__V1__AUDIT_QUERY__INIT;
	char			 want[65536], got[65536];
	size_t			 npages;
	const char		*a, *b;

	assert_int_equal(run_nwd(big, sizeof(big), "auditor-dan", "sar "
	    "--subject YP-001 --format json"), 0);
	assert_int_equal(harness_daemon_stop(daemon_main), 0);
	daemon_main = harness_daemon_start("max_frame = 6144");
	assert_non_null(daemon_main);

	c = harness_connect_as("auditor-dan");
	sql_ids(want, sizeof(want), "subject = 'YP-001'");
	q.subject = "YP-001";
	q.limit = 1000;
	all_ids(c, &q, got, sizeof(got), &npages);
	assert_string_equal(got, want);
	assert_true(npages > 1);
	nwd_close(c);
	assert_true(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'audit_query' AND reason LIKE "
	    "'audit query subject=YP-001 limit=1000 page=%%'") >= 1);

	/* The SAR in many pages says what it said in one. */
	assert_int_equal(run_nwd(small, sizeof(small), "auditor-dan", "sar "
	    "--subject YP-001 --format json"), 0);
	assert_true(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'audit_query' AND reason LIKE "
	    "'subject access YP-001 limit=1000 page=m%%'") >= 1);
	/* Messages identical (the rows of the first SAR aside). */
	a = strstr(big, "\"messages\":[");
	b = strstr(small, "\"messages\":[");
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(count(a, "{\"message_id\":\""),
	    count(b, "{\"message_id\":\""));
	assert_contains(b, INTEL_SUMMARY);
	assert_contains(b, FORMULATION);
	assert_contains(b, "\"fields_withheld\":[\"grading\","
	    "\"source_details\",\"header.justification\"]");
	assert_contains(b, "body purged under retention");

	/*
	 * The smallest max_frame: a message with its rows does not fit in a
	 * page of its own, so it comes with the rows that fit (the others
	 * name the subject and come later, among the rows) and its body.
	 */
	assert_int_equal(harness_daemon_stop(daemon_main), 0);
	daemon_main = harness_daemon_start("max_frame = 1024");
	assert_non_null(daemon_main);
	assert_int_equal(run_nwd(small, sizeof(small), "auditor-dan", "sar "
	    "--subject YP-001 --format json"), 0);
	b = strstr(small, "\"messages\":[");
	assert_non_null(b);
	assert_int_equal(count(a, "{\"message_id\":\""),
	    count(b, "{\"message_id\":\""));
	assert_contains(b, "audit rows fit in one frame (max_frame 1024 "
	    "bytes); query by message id for the rest");
	assert_contains(b, INTEL_SUMMARY);
	assert_contains(b, FORMULATION);
	assert_contains(b, ALERT_TEXT);
	/* No row is lost: those cut from their message are with the others. */
	assert_int_equal(count(strstr(big, "\"other_events\":["),
	    "\"action\":\"deliver_refused\""), 0);
	assert_true(count(strstr(small, "\"other_events\":["),
	    "\"action\":\"deliver_refused\"") > 0);
	assert_int_equal(count(small, "\"handling code C: only recipients"),
	    count(big, "\"handling code C: only recipients"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(
		    test_s11_auditor_sees_everything_about_yp001, test_setup),
		cmocka_unit_test_setup(test_s11_other_roles_are_refused,
		    test_setup),
		cmocka_unit_test_setup(test_paging_chains_without_gaps,
		    test_setup),
		cmocka_unit_test_setup(test_filters, test_setup),
		cmocka_unit_test_setup(test_bad_queries, test_setup),
		cmocka_unit_test_setup(test_subject_access_opens_the_messages,
		    test_setup),
		cmocka_unit_test_setup(test_cli_audit_query, test_setup),
		cmocka_unit_test_setup(test_cli_sar, test_setup),
		cmocka_unit_test_setup(test_pages_fit_max_frame, test_setup),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("nwd audit query and sar", tests,
	    group_setup, group_teardown);
}
