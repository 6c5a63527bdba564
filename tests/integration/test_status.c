/*
 * The publisher's delivery status (AuditQuery.delivery_status) against a
 * real nwdd and PostgreSQL: the publisher of a message sees its publish,
 * deliver (with the route), deliver_refused, deliver_withdrawn and ack
 * rows, cut down to what a publisher may see under the policy's status
 * lines (by default: recipients named within its own agency, by role
 * elsewhere; no reasons about others; "status names all" names everyone),
 * paged like any audit query; nobody else learns anything about it, not
 * even whether it exists; every question, answered or refused, is an
 * audit row; and "nwd status" prints each recipient's state by route and
 * role, never claiming delivery to one the message did not reach.
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

#include "fixtures.h"
#include "harness.h"
#include "nwd.h"

/* The nwd tool, run as a PKI client (harness.h). */
#define run_nwd		harness_run_nwd

#define WAIT_MS		10000	/* the most any event may take */
#define NOT_YOURS	"was not found, or was not published by you"
#define NO_SUCH_MID	"00000000-0000-4000-8000-000000000000"

static struct harness_daemon *daemon_main;

/* The roles of deploy/principals.conf, by principal id. */
static const char *
role_of(const char *id)
{
	static const char *const map[][2] = {
		{ "plo-ana", "police_liaison" },
		{ "hubsys-norwich", "hub_system" },
		{ "hubsys-dereham", "hub_system" },
		{ "keyworker-kim", "hub_keyworker" },
		{ "sw-ben", "social_worker" },
		{ "camhs-cara", "camhs_clinician" },
		{ "case-system", "case_system" },
		{ "duty-mash", "duty" },
		{ "auditor-dan", "auditor" },
		{ "revoked-rob", "hub_keyworker" },
		{ "exp-eve", "hub_keyworker" },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i][0], id) == 0)
			return map[i][1];
	fail_msg("principal %s is not in deploy/principals.conf", id);
	return NULL;
}

/* ------------------------------------------------------------------------
 * Helpers
 */

/* who raises a RiskAlert about subject; its message id into mid. */
static void
alert_as(const char *who, const char *subject, char mid[40])
{
	struct fixture_alert a;

	fixture_alert_init(&a, subject,
	    NWD__V1__RISK_ALERT__CATEGORY__CRIMINAL_EXPLOITATION,
	    "seen getting into a car at the station");
	fixture_publish_as(who, &a.env, mid, 40);
}

static void
alert(const char *subject, char mid[40])
{
	alert_as("plo-ana", subject, mid);
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

/* The first row of action whose recipient the status shows by role. */
static const Nwd__V1__AuditEvent *
find_role_row(const Nwd__V1__AuditPage *p, const char *action,
    const char *role)
{
	size_t i;

	for (i = 0; i < p->n_events; i++)
		if (strcmp(p->events[i]->action, action) == 0 &&
		    p->events[i]->recipient[0] == '\0' &&
		    strcmp(p->events[i]->recipient_role, role) == 0)
			return p->events[i];
	return NULL;
}

/*
 * The status of mid as c, one page of everything.  nwd_ack() returns once
 * the broker has recorded the acknowledgement, so an ack row is there
 * already: no waiting.
 */
static Nwd__V1__AuditPage *
status_all(struct nwd_client *c, const char *mid)
{
	Nwd__V1__AuditPage	*p = NULL;
	char			 err[512];

	if (status_page(c, mid, 1000, NULL, &p, err, sizeof(err)) != NWD_OK)
		fail_msg("delivery status of %s: %s", mid, err);
	assert_string_equal(p->next_page_token, "");
	return p;
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
	char			 err[512], done[128];
	size_t			 mark;

	fixture_allocate(subject, "hub:norwich", 0);
	mark = harness_log_mark(daemon_main);
	if (nwd_subscribe(hub, &k, 1, subjects, 1, feed, &id, err,
	    sizeof(err)) != NWD_OK)
		fail_msg("durable subscribe %s: %s", feed, err);
	/* Until its (empty) replay is done, what comes for it is queued
	 * and replayed rather than sent live. */
	snprintf(done, sizeof(done), "event=replay durable=%s ", feed);
	assert_true(harness_wait_log_after(daemon_main, mark, done, WAIT_MS));
	alert(subject, mid);
	assert_int_equal(nwd_next_delivery(hub, WAIT_MS, &d, err,
	    sizeof(err)), NWD_OK);
	assert_string_equal(d->envelope->header->message_id, mid);
	assert_int_equal(nwd_ack(hub, d->delivery_id, mid, err, sizeof(err)),
	    NWD_OK);
	/* Acked came back: the row is committed. */
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'ack' AND message_id = '%s' AND "
	    "recipient = 'hubsys-norwich'", mid), 1);
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

/* v[0..n) sorted and joined with commas into out. */
static void
join_sorted(const char **v, size_t n, char *out, size_t outlen)
{
	size_t i, off = 0;

	qsort(v, n, sizeof(v[0]), cmp_str);
	out[0] = '\0';
	for (i = 0; i < n && off < outlen; i++)
		off += snprintf(out + off, outlen - off, "%s%s", i > 0 ? "," :
		    "", v[i]);
}

/* The page's recipients of action, sorted, as "a,b". */
static void
page_recipients(const Nwd__V1__AuditPage *p, const char *action, char *out,
    size_t outlen)
{
	const char	*v[256];
	size_t		 n = 0, i;

	for (i = 0; i < p->n_events && n < 256; i++)
		if (strcmp(p->events[i]->action, action) == 0)
			v[n++] = p->events[i]->recipient;
	join_sorted(v, n, out, outlen);
}

/* The page's recipient roles of action, sorted, as "a,b". */
static void
page_roles(const Nwd__V1__AuditPage *p, const char *action, char *out,
    size_t outlen)
{
	const char	*v[256];
	size_t		 n = 0, i;

	for (i = 0; i < p->n_events && n < 256; i++)
		if (strcmp(p->events[i]->action, action) == 0)
			v[n++] = p->events[i]->recipient_role;
	join_sorted(v, n, out, outlen);
}

/* The roles of the recipients of mid's rows of action, as the mapping
 * has them, sorted, as "a,b". */
static void
sql_roles(const char *mid, const char *action, char *out, size_t outlen)
{
	char		 ids[4096], *id, *save = NULL;
	const char	*v[256];
	size_t		 n = 0;

	sql_recipients(mid, action, ids, sizeof(ids));
	for (id = strtok_r(ids, ",", &save); id != NULL && n < 256;
	    id = strtok_r(NULL, ",", &save))
		v[n++] = role_of(id);
	join_sorted(v, n, out, outlen);
}

/* The route of mid's deliver row for recipient. */
static void
sql_route(const char *mid, const char *recipient, char *out, size_t outlen)
{
	harness_sql_text("postgres", out, outlen, "SELECT coalesce(route, "
	    "'(null)') FROM nwd.audit_events WHERE message_id = '%s' AND "
	    "action = 'deliver' AND recipient = '%s'", mid, recipient);
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

/* The line of out that holds needle, into line; fails if none. */
static void
line_with(const char *out, const char *needle, char *line, size_t linelen)
{
	const char	*p, *start, *end;

	if ((p = strstr(out, needle)) == NULL)
		fail_msg("no line holds \"%s\" in:\n%s", needle, out);
	for (start = p; start > out && start[-1] != '\n'; start--)
		;
	end = strchr(p, '\n');
	snprintf(line, linelen, "%.*s", end != NULL ? (int)(end - start) :
	    (int)strlen(start), start);
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
 * recipient with its route, the refusals, and the ack of the durable
 * subscriber; nothing else of the trail, and of each row only what a
 * publisher may see.  plo-ana is police; every recipient here is of
 * another agency, so under the default status lines each is shown by its
 * role, with no name and no reason.
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
	p = status_all(ana, mid);

	/* The publish row, and the rule it was published under. */
	assert_non_null(e = find_row(p, "publish", NULL));
	assert_string_equal(e->rule, "police-intelligence");
	assert_int_equal(e->kind, NWD__V1__KIND__RISK_ALERT);
	/*
	 * A deliver row for each recipient the trail has, and no other:
	 * named in the trail, shown by role to the publisher.
	 */
	sql_recipients(mid, "deliver", want, sizeof(want));
	assert_contains(want, "hubsys-norwich");
	assert_contains(want, "keyworker-kim");
	sql_roles(mid, "deliver", want, sizeof(want));
	page_roles(p, "deliver", got, sizeof(got));
	assert_string_equal(got, want);
	page_recipients(p, "deliver", got, sizeof(got));
	assert_lacks(got, "hubsys-norwich");
	assert_lacks(got, "keyworker-kim");
	/* The hub's durable subscription was open: live and queued. */
	sql_route(mid, "hubsys-norwich", got, sizeof(got));
	assert_string_equal(got, "live,queued");
	e = find_role_row(p, "deliver", "hub_system");
	assert_non_null(e);
	assert_string_equal(e->rule, "hub-alerts");
	assert_string_equal(e->route, "live,queued");
	assert_true(e->n_fields_shared > 0);
	/* The keyworker had neither: allowed, not reachable. */
	sql_route(mid, "keyworker-kim", got, sizeof(got));
	assert_string_equal(got, "unreachable");
	e = find_role_row(p, "deliver", "hub_keyworker");
	assert_non_null(e);
	assert_string_equal(e->route, "unreachable");
	/* Refusals, by role, without the policy's reasons. */
	sql_roles(mid, "deliver_refused", want, sizeof(want));
	page_roles(p, "deliver_refused", got, sizeof(got));
	assert_string_equal(got, want);
	assert_contains(got, "social_worker");
	/* One ack: the hub's; the keyworker has not acknowledged. */
	page_roles(p, "ack", got, sizeof(got));
	assert_string_equal(got, "hub_system");
	/* Every row of those actions about mid, and only those. */
	assert_int_equal(p->n_events, harness_sql_int("postgres", "SELECT "
	    "count(*) FROM nwd.audit_events WHERE message_id = '%s' AND "
	    "action IN ('publish', 'deliver', 'deliver_refused', 'ack', "
	    "'deliver_lost', 'deliver_withdrawn', 'deadline_set', "
	    "'deadline_met', 'deadline_breached', 'escalated')", mid));
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
		if (strcmp(e->action, "publish") == 0)
			continue;
		/* A clock the message set, and what became of it: no name
		 * but a role (deadline rows have no recipient). */
		if (strncmp(e->action, "deadline_", 9) == 0 ||
		    strcmp(e->action, "escalated") == 0) {
			assert_string_equal(e->recipient, "");
			assert_null(strstr(e->reason, "hubsys-norwich"));
			continue;
		}
		/* Nobody of the police but plo-ana: no names, no reasons. */
		assert_string_equal(e->recipient, "");
		assert_string_equal(e->reason, "");
		assert_string_not_equal(e->recipient_role, "");
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

/*
 * A publisher of the recipients' own agency sees their names: hubsys-
 * dereham (hub) raises an alert that the Norwich hub receives live, the
 * keyworker could not be reached, and plo-ana (police, of a team
 * allocated to the child) is shown by role.
 */
static void
test_same_agency_sees_names(void **state)
{
	struct nwd_client		*hub, *der;
	Nwd__V1__AuditPage		*p;
	const Nwd__V1__AuditEvent	*e;
	Nwd__V1__Kind			 k = NWD__V1__KIND__RISK_ALERT;
	Nwd__V1__Deliver		*d = NULL;
	const char			*subjects[1] = { "YP-964" };
	char				 mid[40], err[512], out[65536];
	char				 line[1024];
	size_t				 i;

	(void)state;
	fixture_allocate("YP-964", "hub:norwich", 0);
	hub = harness_connect_as("hubsys-norwich");
	if (nwd_subscribe(hub, &k, 1, subjects, 1, NULL, NULL, err,
	    sizeof(err)) != NWD_OK)
		fail_msg("subscribe: %s", err);
	alert_as("hubsys-dereham", "YP-964", mid);
	assert_int_equal(nwd_next_delivery(hub, WAIT_MS, &d, err,
	    sizeof(err)), NWD_OK);
	assert_string_equal(d->envelope->header->message_id, mid);
	nwd_deliver_free(d);

	der = harness_connect_as("hubsys-dereham");
	p = status_all(der, mid);
	e = find_row(p, "deliver", "hubsys-norwich");
	assert_non_null(e);
	assert_string_equal(e->recipient_role, "hub_system");
	assert_string_equal(e->route, "live");
	e = find_row(p, "deliver", "keyworker-kim");
	assert_non_null(e);
	assert_string_equal(e->recipient_role, "hub_keyworker");
	assert_string_equal(e->route, "unreachable");
	/* plo-ana: another agency, by role only. */
	assert_null(find_row(p, "deliver", "plo-ana"));
	e = find_role_row(p, "deliver", "police_liaison");
	assert_non_null(e);
	assert_string_equal(e->route, "unreachable");
	/* "status reasons none": no reasons about others, even our own
	 * (the deadline rows about the message itself say when it is due). */
	for (i = 0; i < p->n_events; i++)
		if (strcmp(p->events[i]->action, "publish") != 0 &&
		    strncmp(p->events[i]->action, "deadline_", 9) != 0)
			assert_string_equal(p->events[i]->reason, "");
	nwd_audit_page_free(p);
	nwd_close(der);
	nwd_close(hub);

	/* nwd status says the same: names, roles, states. */
	assert_int_equal(run_nwd(out, sizeof(out), "hubsys-dereham",
	    "status %s", mid), 0);
	line_of(out, "hubsys-norwich ", line, sizeof(line));
	assert_contains(line, "reached live");
	assert_contains(line, "not yet");
	line_of(out, "keyworker-kim ", line, sizeof(line));
	assert_contains(line, "not reachable");
	/* Not reached: no time it was reached, nothing to acknowledge. */
	assert_lacks(line, "Z ");
	assert_lacks(line, "not yet");
	line_of(out, "a police_liaison ", line, sizeof(line));
	assert_contains(line, "not reachable");
	line_of(out, "Recipients  ", line, sizeof(line));
	assert_contains(line, "1 reached of ");
	assert_contains(line, "1 reached live");
	assert_contains(out, "police_liaison: 1 not reachable; 0 "
	    "acknowledged\n");
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
	all = status_all(ana, mid);
	assert_non_null(find_role_row(all, "ack", "hub_system"));
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
	fixture_allocate("YP-962", "hub:norwich", 0);
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

/*
 * "nwd status": the table and the JSON lines, by route and role; refusals
 * exit 1 and 2.  The hub's durable subscription is open when plo-ana
 * publishes (live and queued, then acknowledged); the keyworker's is
 * closed (queued), then deleted, which withdraws the message.
 */
static void
test_nwd_status(void **state)
{
	struct nwd_client	*kim;
	Nwd__V1__Kind		 k = NWD__V1__KIND__RISK_ALERT;
	const char		*subjects[1] = { "YP-963" };
	char			 mid[40], out[65536], line[1024], who[256];
	char			 crl[4096], err[512];

	(void)state;
	kim = harness_connect_as("keyworker-kim");
	if (nwd_subscribe(kim, &k, 1, subjects, 1, "kim-status", NULL, err,
	    sizeof(err)) != NWD_OK)
		fail_msg("durable subscribe: %s", err);
	nwd_close(kim);
	acked_alert("YP-963", "status-cli", mid);
	sql_route(mid, "keyworker-kim", out, sizeof(out));
	assert_string_equal(out, "queued");
	assert_int_equal(run_nwd(out, sizeof(out), "keyworker-kim", "durable "
	    "delete kim-status"), 0);
	assert_string_equal(out, "{\"name\":\"kim-status\",\"withdrawn\":1}\n");
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'deliver_withdrawn' AND "
	    "message_id = '%s' AND recipient = 'keyworker-kim'", mid), 1);

	assert_int_equal(run_nwd(out, sizeof(out), "plo-ana", "status %s",
	    mid), 0);
	assert_contains(out, mid);
	assert_contains(out, "risk_alert");
	assert_contains(out, "RECIPIENT");
	assert_contains(out, "REACHED AT");
	/* The hub: reached live and queued, acknowledged (a time). */
	line_of(out, "a hub_system ", line, sizeof(line));
	assert_contains(line, "live and queued");
	assert_lacks(line, "not yet");
	assert_contains(line, "Z  ");
	/* The keyworker: queued, then withdrawn; nothing to acknowledge. */
	line_of(out, "a hub_keyworker ", line, sizeof(line));
	assert_contains(line, "withdrawn");
	assert_lacks(line, "not yet");
	/* Names are not shown to the police: none of the hub's. */
	assert_lacks(out, "hubsys-norwich");
	assert_lacks(out, "keyworker-kim");
	/* The summary, by state and by role and state. */
	line_of(out, "Recipients  ", line, sizeof(line));
	assert_contains(line, "1 live and queued");
	assert_contains(line, "1 withdrawn");
	assert_contains(line, "; 1 acknowledged");
	assert_contains(out, "By role     hub_system: 1 live and queued, 1 "
	    "refused; 1 acknowledged\n");
	assert_contains(out, "            hub_keyworker: 2 not reachable, 1 "
	    "withdrawn; 0 acknowledged\n");
	/* A refused recipient, by role, without the policy's reason. */
	harness_sql_text("postgres", who, sizeof(who), "SELECT "
	    "coalesce(min(recipient), '') FROM nwd.audit_events WHERE action "
	    "= 'deliver_refused' AND message_id = '%s'", mid);
	assert_string_not_equal(who, "");
	snprintf(line, sizeof(line), "  a %s ", role_of(who));
	assert_contains(strstr(out, "\nRefused\n"), line);
	assert_lacks(strstr(out, "\nRefused\n"), who);

	assert_int_equal(run_nwd(out, sizeof(out), "plo-ana", "status --json "
	    "%s", mid), 0);
	line_of(out, "{\"message_id\":\"", line, sizeof(line));
	assert_contains(out, "\"recipient\":null,\"role\":\"hub_system\","
	    "\"state\":\"live_and_queued\",\"route\":\"live,queued\","
	    "\"reached\":true,\"decided_at\":\"20");
	line_with(out, "\"state\":\"live_and_queued\"", line, sizeof(line));
	assert_lacks(line, "\"acknowledged_at\":null");
	assert_contains(line, "\"acknowledged_at\":\"20");
	assert_contains(out, "\"recipient\":null,\"role\":\"hub_keyworker\","
	    "\"state\":\"withdrawn\",\"route\":\"queued\"");
	assert_contains(out, "\"state\":\"refused\"");
	assert_lacks(out, "hubsys-norwich");

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
	/* plo-ana's questions are on record. */
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
		assert_contains(out, "no broker: give --server HOST:PORT or a "
		    "--profile, or set NWD_SERVER");
	}
}

/*
 * A policy whose status lines say "status names all": plo-ana sees every
 * recipient's name, reasons still withheld ("status reasons none").  Runs
 * last: it replaces the daemon.
 */
static void
test_status_names_all(void **state)
{
	struct nwd_client		*hub, *ana;
	Nwd__V1__AuditPage		*p;
	const Nwd__V1__AuditEvent	*e;
	Nwd__V1__Kind			 k = NWD__V1__KIND__RISK_ALERT;
	Nwd__V1__Deliver		*d = NULL;
	const char			*subjects[1] = { "YP-965" };
	char				 path[4096], extra[4200], err[512];
	char				 mid[40], out[65536], line[1024];
	char				*policy, *at;
	size_t				 i;
	FILE				*f;

	(void)state;
	/* deploy/policy.nwd with "status names all". */
	snprintf(path, sizeof(path), "%s/deploy/policy.nwd",
	    getenv("NWD_SRCDIR"));
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(policy = calloc(1, 1 << 20));
	assert_true(fread(policy, 1, (1 << 20) - 1, f) > 0);
	fclose(f);
	assert_non_null(at = strstr(policy, "\nstatus names agency\n"));
	memcpy(at, "\nstatus names all   \n", strlen("\nstatus names all   \n"));
	snprintf(path, sizeof(path), "%s/names-all.nwd",
	    getenv("NWD_TEST_TMP"));
	assert_non_null(f = fopen(path, "w"));
	assert_true(fputs(policy, f) >= 0);
	assert_int_equal(fclose(f), 0);
	free(policy);
	assert_int_equal(harness_daemon_stop(daemon_main), 0);
	snprintf(extra, sizeof(extra), "policy = %s\n", path);
	daemon_main = harness_daemon_start(extra);
	assert_non_null(daemon_main);

	fixture_allocate("YP-965", "hub:norwich", 0);
	hub = harness_connect_as("hubsys-norwich");
	if (nwd_subscribe(hub, &k, 1, subjects, 1, NULL, NULL, err,
	    sizeof(err)) != NWD_OK)
		fail_msg("subscribe: %s", err);
	alert("YP-965", mid);
	assert_int_equal(nwd_next_delivery(hub, WAIT_MS, &d, err,
	    sizeof(err)), NWD_OK);
	nwd_deliver_free(d);
	nwd_close(hub);

	ana = harness_connect_as("plo-ana");
	p = status_all(ana, mid);
	e = find_row(p, "deliver", "hubsys-norwich");
	assert_non_null(e);
	assert_string_equal(e->recipient_role, "hub_system");
	assert_string_equal(e->route, "live");
	e = find_row(p, "deliver", "keyworker-kim");
	assert_non_null(e);
	assert_string_equal(e->route, "unreachable");
	for (i = 0; i < p->n_events; i++) {
		e = p->events[i];
		if (strcmp(e->action, "publish") == 0 ||
		    strncmp(e->action, "deadline_", 9) == 0)
			continue;
		assert_string_not_equal(e->recipient, "");
		assert_string_equal(e->reason, "");
	}
	nwd_audit_page_free(p);
	nwd_close(ana);

	assert_int_equal(run_nwd(out, sizeof(out), "plo-ana", "status %s",
	    mid), 0);
	line_of(out, "hubsys-norwich ", line, sizeof(line));
	assert_contains(line, "hub_system");
	assert_contains(line, "reached live");
	line_of(out, "keyworker-kim ", line, sizeof(line));
	assert_contains(line, "not reachable");
	assert_lacks(out, "  a hub_");
	assert_int_equal(run_nwd(out, sizeof(out), "plo-ana", "status --json "
	    "%s", mid), 0);
	assert_contains(out, "\"recipient\":\"hubsys-norwich\",\"role\":"
	    "\"hub_system\",\"state\":\"live\",\"route\":\"live\","
	    "\"reached\":true");
	assert_contains(out, "\"recipient\":\"keyworker-kim\",\"role\":"
	    "\"hub_keyworker\",\"state\":\"not_reachable\",\"route\":"
	    "\"unreachable\",\"reached\":false");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_publisher_sees_deliveries_and_acks),
		cmocka_unit_test(test_same_agency_sees_names),
		cmocka_unit_test(test_status_pages),
		cmocka_unit_test(test_others_learn_nothing),
		cmocka_unit_test(test_invalid_questions),
		cmocka_unit_test(test_nwd_status),
		cmocka_unit_test(test_nwd_environment),
		cmocka_unit_test(test_status_names_all),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("status", tests, group_setup,
	    group_teardown);
}
