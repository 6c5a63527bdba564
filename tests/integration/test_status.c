/*
 * The publisher's delivery status (AuditQuery.delivery_status) against a
 * real nwdd and PostgreSQL: the publisher of a message sees its publish,
 * deliver, deliver_refused and ack rows, cut down to what a publisher may
 * see, paged like any audit query; nobody else learns anything about it,
 * not even whether it exists; every question, answered or refused, is an
 * audit row; and "nwd status" prints it.
 */
#include <sys/wait.h>

#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "nwd.h"

/* The nwd tool, run as a PKI client (harness.h). */
#define run_nwd		harness_run_nwd

#define WAIT_MS		10000	/* the most any event may take */
#define NOT_YOURS	"was not found, or was not published by you"
#define NO_SUCH_MID	"00000000-0000-4000-8000-000000000000"

static struct harness_daemon *daemon_main;

/* ------------------------------------------------------------------------
 * Helpers
 */

static void
publish(const char *who, Nwd__V1__Envelope *env, char mid[40])
{
	struct nwd_client	*c = harness_connect_as(who);
	Nwd__V1__PublishAck	*ack = NULL;
	char			 err[512];

	if (nwd_publish(c, env, &ack, err, sizeof(err)) != NWD_OK)
		fail_msg("publish as %s: %s", who, err);
	if (mid != NULL)
		snprintf(mid, 40, "%s", ack->message_id);
	nwd_publish_ack_free(ack);
	nwd_close(c);
}

static void
allocate(const char *subject, const char *team)
{
	Nwd__V1__Envelope	 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header		 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef	 s = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__Allocation	 a = NWD__V1__ALLOCATION__INIT;

	s.local_id = (char *)subject;
	h.kind = NWD__V1__KIND__ALLOCATION;
	h.subject = &s;
	h.marking = NWD__V1__MARKING__OFFICIAL;
	a.team = (char *)team;
	env.header = &h;
	env.body_case = NWD__V1__ENVELOPE__BODY_ALLOCATION;
	env.allocation = &a;
	publish("case-system", &env, NULL);
}

/* plo-ana raises a RiskAlert about subject; its message id into mid. */
static void
alert(const char *subject, char mid[40])
{
	Nwd__V1__Envelope	 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header		 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef	 s = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__RiskAlert	 r = NWD__V1__RISK_ALERT__INIT;

	s.local_id = (char *)subject;
	h.kind = NWD__V1__KIND__RISK_ALERT;
	h.subject = &s;
	h.marking = NWD__V1__MARKING__OFFICIAL;
	h.priority = NWD__V1__PRIORITY__HIGH;
	r.category = NWD__V1__RISK_ALERT__CATEGORY__CRIMINAL_EXPLOITATION;
	r.level = NWD__V1__RISK_ALERT__LEVEL__HIGH;
	r.summary = "seen getting into a car at the station";
	env.header = &h;
	env.body_case = NWD__V1__ENVELOPE__BODY_RISK_ALERT;
	env.risk_alert = &r;
	publish("plo-ana", &env, mid);
}

/* One delivery-status page of mid as c; its status, the page into *out. */
static enum nwd_status
status_page(struct nwd_client *c, const char *mid, uint32_t limit,
    const char *token, Nwd__V1__AuditPage **out, char *err, size_t errlen)
{
	Nwd__V1__AuditQuery q = NWD__V1__AUDIT_QUERY__INIT;

	q.message_id = (char *)mid;
	q.delivery_status = 1;
	q.limit = limit;
	q.page_token = (char *)(token != NULL ? token : "");
	return nwd_audit_query(c, &q, out, err, errlen);
}

static const Nwd__V1__AuditEvent *
find_row(const Nwd__V1__AuditPage *p, const char *action,
    const char *recipient)
{
	size_t i;

	for (i = 0; i < p->n_events; i++)
		if (strcmp(p->events[i]->action, action) == 0 &&
		    (recipient == NULL || strcmp(p->events[i]->recipient,
		    recipient) == 0))
			return p->events[i];
	return NULL;
}

/*
 * Asks for the status of mid as c until the ack of recipient is in it (an
 * ack is written after the ack frame is answered), for up to WAIT_MS.
 * Returns that page.
 */
static Nwd__V1__AuditPage *
wait_ack_row(struct nwd_client *c, const char *mid, const char *recipient)
{
	Nwd__V1__AuditPage	*p;
	char			 err[512];
	int			 waited;

	for (waited = 0; waited < WAIT_MS; waited += 25) {
		p = NULL;
		if (status_page(c, mid, 1000, NULL, &p, err, sizeof(err)) !=
		    NWD_OK)
			fail_msg("delivery status of %s: %s", mid, err);
		assert_string_equal(p->next_page_token, "");
		if (find_row(p, "ack", recipient) != NULL)
			return p;
		nwd_audit_page_free(p);
		poll(NULL, 0, 25);
	}
	fail_msg("no ack row of %s for %s in %d ms", recipient, mid, WAIT_MS);
	return NULL;
}

/*
 * A RiskAlert about subject (allocated to hub:norwich) that hubsys-norwich
 * receives on a durable subscription and acknowledges; its id into mid.
 */
static void
acked_alert(const char *subject, const char *feed, char mid[40])
{
	struct nwd_client	*hub = harness_connect_as("hubsys-norwich");
	Nwd__V1__Kind		 k = NWD__V1__KIND__RISK_ALERT;
	Nwd__V1__Deliver	*d = NULL;
	const char		*subjects[1] = { subject };
	uint64_t		 id = 0;
	char			 err[512];

	allocate(subject, "hub:norwich");
	if (nwd_subscribe(hub, &k, 1, subjects, 1, feed, &id, err,
	    sizeof(err)) != NWD_OK)
		fail_msg("durable subscribe %s: %s", feed, err);
	alert(subject, mid);
	assert_int_equal(nwd_next_delivery(hub, WAIT_MS, &d, err,
	    sizeof(err)), NWD_OK);
	assert_string_equal(d->envelope->header->message_id, mid);
	assert_int_equal(nwd_ack(hub, d->delivery_id, mid, err, sizeof(err)),
	    NWD_OK);
	nwd_deliver_free(d);
	nwd_close(hub);
}

/* The recipients of mid's rows of action, sorted, as "a,b". */
static void
sql_recipients(const char *mid, const char *action, char *out,
    size_t outlen)
{
	harness_sql_text("postgres", out, outlen, "SELECT "
	    "coalesce(string_agg(recipient, ',' ORDER BY recipient), '') FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = '%s'", mid,
	    action);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The page's recipients of action, sorted, as "a,b". */
static void
page_recipients(const Nwd__V1__AuditPage *p, const char *action, char *out,
    size_t outlen)
{
	const char	*v[256];
	size_t		 i, n = 0, off = 0;

	for (i = 0; i < p->n_events && n < 256; i++)
		if (strcmp(p->events[i]->action, action) == 0)
			v[n++] = p->events[i]->recipient;
	qsort(v, n, sizeof(v[0]), cmp_str);
	out[0] = '\0';
	for (i = 0; i < n && off < outlen; i++)
		off += snprintf(out + off, outlen - off, "%s%s", i > 0 ? "," :
		    "", v[i]);
}

/* ---- the nwd tool -------------------------------------------------------- */

/* The line of out that starts with prefix, into line; fails if none. */
static void
line_of(const char *out, const char *prefix, char *line, size_t linelen)
{
	const char	*p = out, *end;
	size_t		 n = strlen(prefix);

	for (;;) {
		if (strncmp(p, prefix, n) == 0) {
			end = strchr(p, '\n');
			snprintf(line, linelen, "%.*s", end != NULL ?
			    (int)(end - p) : (int)strlen(p), p);
			return;
		}
		if ((p = strchr(p, '\n')) == NULL)
			fail_msg("no line starts with \"%s\" in:\n%s", prefix,
			    out);
		p++;
	}
}

static void
assert_contains(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", haystack, needle);
}

static void
assert_lacks(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle) != NULL)
		fail_msg("\"%s\" has \"%s\"", haystack, needle);
}

static int
group_setup(void **state)
{
	(void)state;
	daemon_main = harness_daemon_start(NULL);
	return daemon_main != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	return harness_daemon_stop(daemon_main) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------------
 * Tests
 */

/*
 * The publisher sees its message's publish row, a deliver row for every
 * recipient, the refusals, and the ack of the durable subscriber; nothing
 * else of the trail, and of each row only what a publisher may see.
 */
static void
test_publisher_sees_deliveries_and_acks(void **state)
{
	struct nwd_client		*ana;
	Nwd__V1__AuditPage		*p;
	const Nwd__V1__AuditEvent	*e;
	char				 mid[40], want[1024], got[1024];
	size_t				 i;

	(void)state;
	acked_alert("YP-960", "status-feed", mid);
	ana = harness_connect_as("plo-ana");
	p = wait_ack_row(ana, mid, "hubsys-norwich");
	nwd_audit_page_free(p);
	/* An auditor's subject access opens the body: a row about mid that
	 * is none of the publisher's business. */
	{
		struct nwd_client	*dan =
		    harness_connect_as("auditor-dan");
		Nwd__V1__AuditQuery	 q = NWD__V1__AUDIT_QUERY__INIT;
		char			 err[512];

		q.subject = "YP-960";
		q.subject_access = 1;
		p = NULL;
		if (nwd_audit_query(dan, &q, &p, err, sizeof(err)) != NWD_OK)
			fail_msg("subject access: %s", err);
		nwd_audit_page_free(p);
		nwd_close(dan);
	}
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = "
	    "'audit_query'", mid), 1);
	p = wait_ack_row(ana, mid, "hubsys-norwich");

	/* The publish row, and the rule it was published under. */
	assert_non_null(e = find_row(p, "publish", NULL));
	assert_string_equal(e->rule, "police-intelligence");
	assert_int_equal(e->kind, NWD__V1__KIND__RISK_ALERT);
	/* A deliver row for each recipient the trail has, and no other. */
	sql_recipients(mid, "deliver", want, sizeof(want));
	page_recipients(p, "deliver", got, sizeof(got));
	assert_string_equal(got, want);
	assert_contains(got, "hubsys-norwich");
	assert_contains(got, "keyworker-kim");
	e = find_row(p, "deliver", "hubsys-norwich");
	assert_string_equal(e->rule, "hub-alerts");
	assert_true(e->n_fields_shared > 0);
	sql_recipients(mid, "deliver_refused", want, sizeof(want));
	page_recipients(p, "deliver_refused", got, sizeof(got));
	assert_string_equal(got, want);
	/* One ack: hubsys-norwich's; keyworker-kim has not acknowledged. */
	page_recipients(p, "ack", got, sizeof(got));
	assert_string_equal(got, "hubsys-norwich");
	/* Every row of those four actions about mid, and only those. */
	assert_int_equal(p->n_events, harness_sql_int("postgres", "SELECT "
	    "count(*) FROM nwd.audit_events WHERE message_id = '%s' AND "
	    "action IN ('publish', 'deliver', 'deliver_refused', 'ack')",
	    mid));
	for (i = 0; i < p->n_events; i++) {
		e = p->events[i];
		assert_string_equal(e->message_id, mid);
		assert_true(e->id > 0 && e->at_unix_ms > 0);
		/* Not who acted, where, under which version, nor the chain. */
		assert_string_equal(e->actor, "");
		assert_string_equal(e->instance, "");
		assert_string_equal(e->subject, "");
		assert_string_equal(e->policy_version, "");
		assert_int_equal(e->seq, 0);
	}
	assert_int_equal(p->n_messages, 0);
	nwd_audit_page_free(p);
	/* Each question is on record as the publisher's audit query. */
	assert_true(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'audit_query' AND actor = "
	    "'plo-ana' AND reason LIKE 'delivery status message=%s "
	    "limit=1000; answered %% rows'", mid) >= 1);
	nwd_close(ana);
}

/* Paged two rows at a time, the status holds the same rows, in order. */
static void
test_status_pages(void **state)
{
	struct nwd_client	*ana;
	Nwd__V1__AuditPage	*p, *all;
	char			 mid[40], err[512], token[256] = "";
	size_t			 i, n = 0, pages = 0;
	int64_t			 last = 0;

	(void)state;
	acked_alert("YP-961", "status-pages", mid);
	ana = harness_connect_as("plo-ana");
	all = wait_ack_row(ana, mid, "hubsys-norwich");
	assert_true(all->n_events > 2);
	do {
		p = NULL;
		assert_int_equal(status_page(ana, mid, 2, token, &p, err,
		    sizeof(err)), NWD_OK);
		assert_true(p->n_events <= 2);
		for (i = 0; i < p->n_events; i++, n++) {
			assert_true(n < all->n_events);
			assert_true(p->events[i]->id > last);
			last = p->events[i]->id;
			assert_int_equal(last, all->events[n]->id);
		}
		snprintf(token, sizeof(token), "%s", p->next_page_token);
		nwd_audit_page_free(p);
		assert_true(++pages < 100);
	} while (token[0] != '\0');
	assert_int_equal(n, all->n_events);
	assert_true(pages >= all->n_events / 2);
	nwd_audit_page_free(all);
	nwd_close(ana);
}

/*
 * Somebody else's message and one that does not exist get the same
 * answer, an auditor's question included; both are on record.
 */
static void
test_others_learn_nothing(void **state)
{
	struct nwd_client	*cara, *dan;
	Nwd__V1__AuditPage	*p = NULL;
	char			 mid[40], err[512], err2[512], want[512];

	(void)state;
	allocate("YP-962", "hub:norwich");
	alert("YP-962", mid);
	cara = harness_connect_as("camhs-cara");
	assert_int_equal(status_page(cara, mid, 0, NULL, &p, err,
	    sizeof(err)), NWD_ERR_REFUSED);
	assert_null(p);
	assert_int_equal(nwd_last_server_error(cara),
	    NWD__V1__ERROR_CODE__ERROR_NOT_FOUND);
	snprintf(want, sizeof(want), "ERROR_NOT_FOUND: delivery status: "
	    "message %s " NOT_YOURS, mid);
	assert_string_equal(err, want);
	assert_int_equal(status_page(cara, NO_SUCH_MID, 0, NULL, &p, err2,
	    sizeof(err2)), NWD_ERR_REFUSED);
	assert_null(p);
	snprintf(want, sizeof(want), "ERROR_NOT_FOUND: delivery status: "
	    "message %s " NOT_YOURS, NO_SUCH_MID);
	assert_string_equal(err2, want);
	/* Without delivery_status, a clinician is no auditor. */
	{
		Nwd__V1__AuditQuery q = NWD__V1__AUDIT_QUERY__INIT;

		q.message_id = mid;
		assert_int_equal(nwd_audit_query(cara, &q, &p, err,
		    sizeof(err)), NWD_ERR_REFUSED);
		assert_int_equal(nwd_last_server_error(cara),
		    NWD__V1__ERROR_CODE__ERROR_FORBIDDEN);
	}
	nwd_close(cara);
	/* An auditor has the audit trail, but no delivery status of others. */
	dan = harness_connect_as("auditor-dan");
	assert_int_equal(status_page(dan, mid, 0, NULL, &p, err, sizeof(err)),
	    NWD_ERR_REFUSED);
	assert_contains(err, NOT_YOURS);
	nwd_close(dan);

	/* The answer came after the row committed: no need to wait. */
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'audit_query' AND actor = "
	    "'camhs-cara' AND reason = 'delivery status message=%s limit=100; "
	    "not answered: message %s " NOT_YOURS "'", mid, mid), 1);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'audit_query' AND actor = "
	    "'camhs-cara' AND reason LIKE 'delivery status message="
	    NO_SUCH_MID " %%; not answered: %%'"), 1);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'audit_query' AND actor = "
	    "'auditor-dan' AND reason LIKE 'delivery status message=%s %%; "
	    "not answered: %%'", mid), 1);
	/* The questions name no message: none is opened or revealed. */
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'audit_query' AND message_id = "
	    "'%s'", mid), 0);
}

/* Malformed questions are refused with what is wrong. */
static void
test_invalid_questions(void **state)
{
	struct nwd_client	*ana = harness_connect_as("plo-ana");
	Nwd__V1__AuditQuery	 q = NWD__V1__AUDIT_QUERY__INIT;
	Nwd__V1__AuditPage	*p = NULL;
	char			 err[512];

	(void)state;
	q.delivery_status = 1;
	q.message_id = "not-a-message-id";
	assert_int_equal(nwd_audit_query(ana, &q, &p, err, sizeof(err)),
	    NWD_ERR_INVALID);
	assert_int_equal(nwd_last_server_error(ana),
	    NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE);
	assert_string_equal(err, "ERROR_INVALID_ENVELOPE: delivery status: "
	    "message_id is not a UUID");

	q.message_id = "";
	assert_int_equal(nwd_audit_query(ana, &q, &p, err, sizeof(err)),
	    NWD_ERR_INVALID);
	assert_contains(err, "a delivery-status query needs the message_id");

	q.message_id = NO_SUCH_MID;
	q.subject = "YP-960";
	assert_int_equal(nwd_audit_query(ana, &q, &p, err, sizeof(err)),
	    NWD_ERR_INVALID);
	assert_contains(err, "takes the message_id alone");

	q.subject = "YP-960";
	q.subject_access = 1;
	assert_int_equal(nwd_audit_query(ana, &q, &p, err, sizeof(err)),
	    NWD_ERR_INVALID);
	assert_contains(err, "subject-access request or a delivery status");

	q.subject = "";
	q.subject_access = 0;
	q.page_token = "m" NO_SUCH_MID;
	assert_int_equal(nwd_audit_query(ana, &q, &p, err, sizeof(err)),
	    NWD_ERR_INVALID);
	assert_string_equal(err, "ERROR_INVALID_ENVELOPE: delivery status: "
	    "the page token is not one this broker gave");
	assert_null(p);
	/* The session carries on. */
	assert_int_equal(nwd_ping(ana, err, sizeof(err)), NWD_OK);
	nwd_close(ana);
}

/* "nwd status": the table and the JSON lines; refusals exit 1 and 2. */
static void
test_nwd_status(void **state)
{
	struct nwd_client	*ana;
	char			 mid[40], out[65536], line[1024], who[256];
	char			 crl[4096];

	(void)state;
	acked_alert("YP-963", "status-cli", mid);
	ana = harness_connect_as("plo-ana");
	nwd_audit_page_free(wait_ack_row(ana, mid, "hubsys-norwich"));
	nwd_close(ana);

	assert_int_equal(run_nwd(out, sizeof(out), "plo-ana", "status %s",
	    mid), 0);
	assert_contains(out, mid);
	assert_contains(out, "risk_alert");
	assert_contains(out, "RECIPIENT");
	/* The ack is there: a time where "not yet" would be. */
	line_of(out, "hubsys-norwich ", line, sizeof(line));
	assert_lacks(line, "not yet");
	assert_contains(line, "Z  ");
	line_of(out, "keyworker-kim ", line, sizeof(line));
	assert_contains(line, "not yet");
	/* A refused recipient, if the policy refused one, with its reason. */
	harness_sql_text("postgres", who, sizeof(who), "SELECT "
	    "coalesce(min(recipient), '') FROM nwd.audit_events WHERE action "
	    "= 'deliver_refused' AND message_id = (SELECT message_id FROM "
	    "nwd.audit_events WHERE action = 'publish' AND actor = 'plo-ana' "
	    "AND subject = 'YP-963')");
	if (who[0] != '\0')
		assert_contains(strstr(out, "\nRefused\n"), who);
	else
		assert_contains(out, "\nRefused\n  none\n");

	assert_int_equal(run_nwd(out, sizeof(out), "plo-ana", "status --json "
	    "%s", mid), 0);
	line_of(out, "{\"message_id\":\"", line, sizeof(line));
	assert_contains(out, "\"recipient\":\"hubsys-norwich\",\"status\":"
	    "\"acknowledged\"");
	assert_contains(out, "\"recipient\":\"keyworker-kim\",\"status\":"
	    "\"delivered\"");

	/* Not ours: refused (1); not a message id: usage (2). */
	assert_int_equal(run_nwd(out, sizeof(out), "camhs-cara", "status %s",
	    mid), 1);
	assert_string_equal(out, "");
	assert_int_equal(run_nwd(out, sizeof(out), "plo-ana", "status "
	    "not-a-uuid 2>/dev/null"), 2);
	assert_int_equal(run_nwd(out, sizeof(out), "plo-ana", "status "
	    "2>/dev/null"), 2);
	/* --crl, a global option: the broker's certificate revoked stops the
	 * tool (3, as unreachable); the CA's current CRL lets it ask.
	 * (harness_pki() answers in a buffer that run_nwd() reuses.) */
	snprintf(crl, sizeof(crl), "%s", harness_pki("server-revoked.crl"));
	assert_int_equal(run_nwd(out, sizeof(out), "plo-ana", "status --crl "
	    "%s %s 2>/dev/null", crl, mid), 3);
	assert_string_equal(out, "");
	snprintf(crl, sizeof(crl), "%s", harness_pki("ca.crl"));
	assert_int_equal(run_nwd(out, sizeof(out), "plo-ana", "status --crl "
	    "%s %s", crl, mid), 0);
	assert_contains(out, mid);
	/* Both of plo-ana's questions are on record. */
	assert_true(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'audit_query' AND actor = "
	    "'plo-ana' AND reason LIKE 'delivery status message=%s "
	    "limit=1000; answered %%'", mid) >= 3);
}

/*
 * Every command that connects takes its connection from the environment
 * when no option gives it: NWD_SERVER, NWD_CERT, NWD_KEY and NWD_CA (as
 * run_nwd() sets them) and NWD_CRL; without a broker each says how to name
 * one and exits 2.
 */
static void
test_nwd_environment(void **state)
{
	static const struct {
		const char	*who;		/* the PKI client to run as */
		const char	*args;
		int		 answered;	/* its exit once asked */
	} cmds[] = {
		{ "plo-ana", "status " NO_SUCH_MID, 1 },
		{ "auditor-dan", "audit query --subject YP-ENV", 0 },
		{ "auditor-dan", "sar --subject YP-ENV --format json", 0 },
		{ "auditor-dan", "policy explain --online risk_alert "
		    "--subject YP-ENV --from plo-ana", 0 },
	};
	char	out[65536], revoked[4096], current[4096];
	size_t	i;

	(void)state;
	/* harness_pki() answers in a buffer that run_nwd() reuses. */
	snprintf(revoked, sizeof(revoked), "%s",
	    harness_pki("server-revoked.crl"));
	snprintf(current, sizeof(current), "%s", harness_pki("ca.crl"));
	assert_int_equal(unsetenv("NWD_SERVER"), 0);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		/* NWD_CRL revoking the broker's certificate: unreachable. */
		assert_int_equal(setenv("NWD_CRL", revoked, 1), 0);
		assert_int_equal(run_nwd(out, sizeof(out), cmds[i].who,
		    "%s 2>/dev/null", cmds[i].args), 3);
		assert_string_equal(out, "");
		/* The CA's current CRL: the broker is asked. */
		assert_int_equal(setenv("NWD_CRL", current, 1), 0);
		assert_int_equal(run_nwd(out, sizeof(out), cmds[i].who,
		    "%s 2>/dev/null", cmds[i].args), cmds[i].answered);
		assert_int_equal(unsetenv("NWD_CRL"), 0);
		assert_int_equal(run_nwd(out, sizeof(out), NULL, "%s 2>&1",
		    cmds[i].args), 2);
		assert_contains(out, "no broker: give --server HOST:PORT or "
		    "set NWD_SERVER");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_publisher_sees_deliveries_and_acks),
		cmocka_unit_test(test_status_pages),
		cmocka_unit_test(test_others_learn_nothing),
		cmocka_unit_test(test_invalid_questions),
		cmocka_unit_test(test_nwd_status),
		cmocka_unit_test(test_nwd_environment),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("status", tests, group_setup,
	    group_teardown);
}
