/*
 * Integration tests of "nwd policy explain": the online Explain request of
 * a real nwdd (auditors only, audited, and in agreement with what a real
 * publish of the same message records), and the offline command of the
 * built nwd tool, which must agree with the daemon.
 */
#include <sys/wait.h>

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
#include "fixtures.h"
#include "harness.h"
#include "nwd.h"

/* The nwd tool, with no client settings in its environment. */
#define run_nwd(out, outlen, ...) \
	harness_run_nwd(out, outlen, NULL, __VA_ARGS__)

#define WAIT_MS		10000	/* the most any event may take */
#define AT_MS		"1800000000000"	/* a fixed --at for the CLI runs */

static struct harness_daemon *daemon_main;

/* ------------------------------------------------------------------------
 * Helpers
 */

/* S1: plo-ana's graded intelligence on YP-001, with its source. */
struct intel {
	Nwd__V1__Envelope		env;
	Nwd__V1__Header			hdr;
	Nwd__V1__SubjectRef		subj;
	Nwd__V1__IntelligenceReport	body;
	Nwd__V1__Grading		grading;
	Nwd__V1__SourceDetails		source;
};

/* The same body as JSON, for the nwd tool. */
static const char s1_json[] =
    "{\"grading\": {\"source_evaluation\": 2, \"assessment\": \"B\", "
    "\"handling_code\": \"HANDLING_P\"}, \"sanitised\": true, "
    "\"summary\": \"seen with older males linked to county lines\", "
    "\"source_details\": {\"reference\": \"SRC-17\", "
    "\"relationship\": \"neighbour\"}}";

static void
intel_init(struct intel *m)
{
	nwd__v1__envelope__init(&m->env);
	nwd__v1__header__init(&m->hdr);
	nwd__v1__subject_ref__init(&m->subj);
	nwd__v1__intelligence_report__init(&m->body);
	nwd__v1__grading__init(&m->grading);
	nwd__v1__source_details__init(&m->source);
	m->subj.local_id = "YP-001";
	m->hdr.kind = NWD__V1__KIND__INTELLIGENCE_REPORT;
	m->hdr.subject = &m->subj;
	m->hdr.marking = NWD__V1__MARKING__OFFICIAL_SENSITIVE;
	m->hdr.priority = NWD__V1__PRIORITY__ROUTINE;
	m->grading.source_evaluation = 2;
	m->grading.assessment = NWD__V1__GRADING__ASSESSMENT__B;
	m->grading.handling_code = NWD__V1__GRADING__HANDLING_CODE__HANDLING_P;
	m->source.reference = "SRC-17";
	m->source.relationship = "neighbour";
	m->body.grading = &m->grading;
	m->body.sanitised = 1;
	m->body.summary = "seen with older males linked to county lines";
	m->body.source_details = &m->source;
	m->env.header = &m->hdr;
	m->env.body_case = NWD__V1__ENVELOPE__BODY_INTELLIGENCE_REPORT;
	m->env.intelligence_report = &m->body;
}

/* S6: a risk alert on YP-003, whom nobody is allocated to. */
struct alert {
	Nwd__V1__Envelope	env;
	Nwd__V1__Header		hdr;
	Nwd__V1__SubjectRef	subj;
	Nwd__V1__RiskAlert	body;
	Nwd__V1__Address	where;
};

static void
alert_init(struct alert *a, const char *subject)
{
	nwd__v1__envelope__init(&a->env);
	nwd__v1__header__init(&a->hdr);
	nwd__v1__subject_ref__init(&a->subj);
	nwd__v1__risk_alert__init(&a->body);
	nwd__v1__address__init(&a->where);
	a->subj.local_id = (char *)subject;
	a->hdr.kind = NWD__V1__KIND__RISK_ALERT;
	a->hdr.subject = &a->subj;
	a->hdr.marking = NWD__V1__MARKING__OFFICIAL;
	a->hdr.priority = NWD__V1__PRIORITY__HIGH;
	a->body.category = NWD__V1__RISK_ALERT__CATEGORY__CRIMINAL_EXPLOITATION;
	a->body.level = NWD__V1__RISK_ALERT__LEVEL__HIGH;
	a->body.summary = "picked up by a car at the station";
	a->where.line1 = "1 Station Road";
	a->body.location = &a->where;
	a->env.header = &a->hdr;
	a->env.body_case = NWD__V1__ENVELOPE__BODY_RISK_ALERT;
	a->env.risk_alert = &a->body;
}

static Nwd__V1__ExplainResult *
explain_as(const char *asker, const char *sender, Nwd__V1__Envelope *env,
    const char *const *to, size_t nto)
{
	struct nwd_client	*c = harness_connect_as(asker);
	Nwd__V1__ExplainResult	*r = NULL;
	enum nwd_status		 st;
	char			 err[512];

	st = nwd_explain(c, sender, env, to, nto, 0, &r, err, sizeof(err));
	nwd_close(c);
	if (st != NWD_OK)
		fail_msg("explain as %s: %s", asker, err);
	assert_non_null(r);
	return r;
}

static const Nwd__V1__ExplainDecision *
find_decision(const Nwd__V1__ExplainResult *r, const char *principal,
    int duty_pass)
{
	size_t i;

	for (i = 0; i < r->n_decisions; i++)
		if (strcmp(r->decisions[i]->principal, principal) == 0 &&
		    (int)r->decisions[i]->duty_pass == duty_pass)
			return r->decisions[i];
	fail_msg("no decision for %s%s", principal, duty_pass ?
	    " in the duty pass" : "");
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

/*
 * Publishes env as sender and checks that the audit rows of the publish
 * say what r said: one deliver or deliver_refused row per decision that
 * was not "not a candidate", in the same order, with the same rule,
 * fields withheld, fields shared, reason and route (how each recipient
 * was reached, as the online explanation foresaw); the publish row's
 * rule; and the ack's recipient and not-reachable counts and duty flag.
 */
static void
assert_publish_matches(const Nwd__V1__ExplainResult *r, const char *sender,
    Nwd__V1__Envelope *env)
{
	struct nwd_client	*c = harness_connect_as(sender);
	Nwd__V1__PublishAck	*ack = NULL;
	const Nwd__V1__ExplainDecision *d;
	char			 err[512], got[16384];
	char			 want[16384], w[2048], s[2048];
	size_t			 i, off = 0;

	assert_int_equal(nwd_publish(c, env, &ack, err, sizeof(err)), NWD_OK);
	nwd_close(c);
	assert_int_equal(ack->recipients, r->recipients);
	assert_int_equal(ack->not_reachable, r->not_reachable);
	assert_int_equal(ack->duty_desk, r->duty_desk);
	assert_string_equal(ack->policy_version, r->policy_version);

	/* The rows committed before the ack was sent. */
	harness_sql_text("postgres", got, sizeof(got), "SELECT rule FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = 'publish'",
	    ack->message_id);
	assert_string_equal(got, r->publish->rules);

	want[0] = '\0';
	for (i = 0; i < r->n_decisions; i++) {
		d = r->decisions[i];
		if (d->verdict ==
		    NWD__V1__EXPLAIN_VERDICT__EXPLAIN_NOT_A_CANDIDATE)
			continue;
		join(w, sizeof(w), d->fields_withheld, d->n_fields_withheld);
		join(s, sizeof(s), d->fields_shared, d->n_fields_shared);
		off += snprintf(want + off, sizeof(want) - off,
		    "%s%s|%s|%s|%s|%s|%s|%s", off > 0 ? "\n" : "",
		    d->principal, d->verdict ==
		    NWD__V1__EXPLAIN_VERDICT__EXPLAIN_ALLOWED ? "deliver" :
		    "deliver_refused", d->rules, w, s, d->reason, d->route);
		assert_true(off < sizeof(want));
	}
	assert_true(want[0] != '\0');
	harness_sql_text("postgres", got, sizeof(got), "SELECT recipient, "
	    "action, rule, array_to_string(fields_withheld, ','), "
	    "array_to_string(fields_shared, ','), reason, coalesce(route, ''), "
	    "policy_version FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action IN "
	    "('deliver', 'deliver_refused') ORDER BY id", ack->message_id);
	/* Every row also names the policy version the explanation gave. */
	{
		char	 stripped[16384], *line, *save, *bar;
		size_t	 so = 0;

		stripped[0] = '\0';
		for (line = strtok_r(got, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save)) {
			bar = strrchr(line, '|');
			assert_non_null(bar);
			assert_string_equal(bar + 1, r->policy_version);
			*bar = '\0';
			so += snprintf(stripped + so, sizeof(stripped) - so,
			    "%s%s", so > 0 ? "\n" : "", line);
		}
		assert_string_equal(stripped, want);
	}
	nwd_publish_ack_free(ack);
}

/* ---- the nwd tool -------------------------------------------------------- */

static const char *
dir_env(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : fallback;
}

static void
assert_contains(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle) == NULL)
		fail_msg("output lacks %s\noutput: %s", needle, haystack);
}

/* Writes the S1 body into the scratch directory; returns its path. */
static const char *
s1_body_file(void)
{
	static char	 path[4096];
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/s1.json",
	    dir_env("NWD_TEST_TMP", "/tmp"));
	if ((fp = fopen(path, "w")) == NULL || fputs(s1_json, fp) == EOF ||
	    fclose(fp) != 0)
		fail_msg("cannot write %s", path);
	return path;
}

/* "--policy P --principals M" of deploy/, as the daemon runs them. */
static const char *
offline_files(void)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "--policy %s/deploy/policy.nwd "
	    "--principals %s/deploy/principals.conf",
	    dir_env("NWD_SRCDIR", NWD_SRCDIR),
	    dir_env("NWD_SRCDIR", NWD_SRCDIR));
	return buf;
}

/* The CLI's connection options for the PKI client name. */
static const char *
connection_options(const char *name)
{
	static char	buf[4096];
	struct nwd_opts	o = harness_client(name);

	snprintf(buf, sizeof(buf), "--server %s --cert %s --key %s --ca %s",
	    o.server, o.cert, o.key, o.ca);
	return buf;
}

static const char *
online_options(const char *name)
{
	static char buf[4200];

	snprintf(buf, sizeof(buf), "--online %s", connection_options(name));
	return buf;
}

/* ------------------------------------------------------------------------
 * Set-up
 */

/* who holds a durable subscription to everything, and goes away. */
static int
keep_durable(const char *who)
{
	struct nwd_client	*c = harness_connect_as(who);
	char			 err[512];
	int			 rc;

	rc = nwd_subscribe(c, NULL, 0, NULL, 0, "explain-feed", NULL, err,
	    sizeof(err)) == NWD_OK ? 0 : -1;
	if (rc == -1)
		fprintf(stderr, "durable subscribe as %s: %s\n", who, err);
	nwd_close(c);
	return rc;
}

static int
group_setup(void **state)
{
	if ((daemon_main = harness_daemon_start(NULL)) == NULL)
		return -1;
	/* SCENARIOS.md: YP-001 to the hub, sw:north and CAMHS; YP-003 none. */
	fixture_allocate("YP-001", "hub:norwich", 0);
	fixture_allocate("YP-001", "sw:north", 0);
	fixture_allocate("YP-001", "camhs:central", 0);
	fixture_allocate("YP-002", "hub:dereham", 0);
	/*
	 * The recipients of S1 keep durable subscriptions, so that they are
	 * reached while away (queued): online, explain says how each would
	 * be reached now, as a publish finds them.
	 */
	if (keep_durable("sw-ben") == -1 ||
	    keep_durable("hubsys-norwich") == -1 ||
	    keep_durable("camhs-cara") == -1)
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

/* ------------------------------------------------------------------------
 * Online
 */

/* S1 explained, then published: the explanation is what happened. */
static void
test_s1_explained_as_published(void **state)
{
	Nwd__V1__ExplainResult		*r;
	const Nwd__V1__ExplainDecision	*d;
	struct intel			 m;
	char				 list[512];

	intel_init(&m);
	r = explain_as("auditor-dan", "plo-ana", &m.env, NULL, 0);
	assert_string_equal(r->sender, "plo-ana");
	assert_string_equal(r->agency, "police");
	assert_int_equal(r->publish->verdict,
	    NWD__V1__EXPLAIN_VERDICT__EXPLAIN_ALLOWED);
	assert_string_equal(r->publish->rules, "police-intelligence");
	assert_int_equal(r->recipients, 3);
	assert_false(r->duty_desk);

	/* sw-ben gets it whole. */
	d = find_decision(r, "sw-ben", 0);
	assert_int_equal(d->verdict, NWD__V1__EXPLAIN_VERDICT__EXPLAIN_ALLOWED);
	assert_string_equal(d->rules, "social-worker-case");
	assert_int_equal(d->n_fields_withheld, 0);
	/* The hub and CAMHS get the summary: no source, no grading. */
	d = find_decision(r, "hubsys-norwich", 0);
	assert_int_equal(d->verdict, NWD__V1__EXPLAIN_VERDICT__EXPLAIN_ALLOWED);
	assert_string_equal(d->rules, "intelligence-summary");
	join(list, sizeof(list), d->fields_withheld, d->n_fields_withheld);
	assert_string_equal(list, "grading,source_details");
	join(list, sizeof(list), d->fields_configured,
	    d->n_fields_configured);
	assert_string_equal(list,
	    "grading,legacy,source_details,third_parties,location,"
	    "header.justification,header.share_with,"
	    "header.subject.nhs_number");
	d = find_decision(r, "camhs-cara", 0);
	assert_int_equal(d->verdict, NWD__V1__EXPLAIN_VERDICT__EXPLAIN_ALLOWED);
	join(list, sizeof(list), d->fields_withheld, d->n_fields_withheld);
	assert_string_equal(list, "grading,source_details");
	/* hubsys-dereham gets nothing, and why is said. */
	d = find_decision(r, "hubsys-dereham", 0);
	assert_int_equal(d->verdict, NWD__V1__EXPLAIN_VERDICT__EXPLAIN_REFUSED);
	assert_non_null(strstr(d->reason, "not allocated to YP-001"));
	/* No rule names the duty desk outside the duty pass. */
	d = find_decision(r, "duty-mash", 0);
	assert_int_equal(d->verdict,
	    NWD__V1__EXPLAIN_VERDICT__EXPLAIN_NOT_A_CANDIDATE);

	assert_publish_matches(r, "plo-ana", &m.env);
	nwd_explain_result_free(r);
}

/* S6: nobody allocated, so the duty desk; explained, then published. */
static void
test_s6_duty_desk_explained_as_published(void **state)
{
	Nwd__V1__ExplainResult		*r;
	const Nwd__V1__ExplainDecision	*d;
	struct alert			 a;

	alert_init(&a, "YP-003");
	r = explain_as("auditor-dan", "plo-ana", &a.env, NULL, 0);
	assert_int_equal(r->recipients, 1);
	assert_true(r->duty_desk);
	d = find_decision(r, "hubsys-norwich", 0);
	assert_int_equal(d->verdict, NWD__V1__EXPLAIN_VERDICT__EXPLAIN_REFUSED);
	d = find_decision(r, "duty-mash", 1);
	assert_int_equal(d->verdict, NWD__V1__EXPLAIN_VERDICT__EXPLAIN_ALLOWED);
	assert_string_equal(d->rules, "duty-desk");
	/* The duty desk is granted the address a hub would not see. */
	assert_int_equal(d->n_fields_withheld, 0);
	assert_publish_matches(r, "plo-ana", &a.env);
	nwd_explain_result_free(r);
}

/* The question is on record before the answer arrives. */
static void
test_explain_is_audited(void **state)
{
	Nwd__V1__ExplainResult	*r;
	struct alert		 a;
	const char		*q = "SELECT count(*) FROM nwd.audit_events "
				    "WHERE action = 'audit_query' AND actor = "
				    "'auditor-dan' AND subject = 'YP-002' AND "
				    "kind = 3 AND reason = 'explain risk_alert "
				    "YP-002 as plo-ana' AND policy_version "
				    "LIKE 'sha256:%'";
	int			 before;

	before = harness_sql_int("postgres", "%s", q);
	alert_init(&a, "YP-002");
	r = explain_as("auditor-dan", "plo-ana", &a.env, NULL, 0);
	assert_int_equal(harness_sql_int("postgres", "%s", q), before + 1);
	/* S8's start: YP-002 is the Dereham hub's. */
	assert_int_equal(find_decision(r, "hubsys-dereham", 0)->verdict,
	    NWD__V1__EXPLAIN_VERDICT__EXPLAIN_ALLOWED);
	assert_int_equal(find_decision(r, "hubsys-norwich", 0)->verdict,
	    NWD__V1__EXPLAIN_VERDICT__EXPLAIN_REFUSED);
	nwd_explain_result_free(r);
	/* Nothing was published. */
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.messages WHERE subject = 'YP-002' AND kind = 3"), 0);
}

/* Only auditors may ask; the refusal is on record too. */
static void
test_non_auditor_is_refused(void **state)
{
	struct nwd_client	*c = harness_connect_as("hubsys-norwich");
	Nwd__V1__ExplainResult	*r = NULL;
	struct alert		 a;
	char			 err[512];

	alert_init(&a, "YP-001");
	assert_int_equal(nwd_explain(c, "plo-ana", &a.env, NULL, 0, 0, &r,
	    err, sizeof(err)), NWD_ERR_REFUSED);
	assert_null(r);
	assert_non_null(strstr(err, "ERROR_FORBIDDEN: explain is for "
	    "auditors"));
	/* The session carries on. */
	assert_int_equal(nwd_ping(c, err, sizeof(err)), NWD_OK);
	nwd_close(c);
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'audit_query' AND actor = "
	    "'hubsys-norwich' AND reason = 'refused: explain is for auditors, "
	    "not role hub_system; asked: explain risk_alert YP-001 as "
	    "plo-ana'");
}

/* "to" narrows the report, never the counts; unknown names are refused. */
static void
test_to_and_unknown_principals(void **state)
{
	const char		*to[] = { "hubsys-dereham", "plo-ana" };
	const char		*nobody[] = { "nobody" };
	struct nwd_client	*c;
	Nwd__V1__ExplainResult	*r = NULL;
	struct intel		 m;
	char			 err[512];

	intel_init(&m);
	r = explain_as("auditor-dan", "plo-ana", &m.env, to, 2);
	assert_int_equal(r->n_decisions, 2);
	assert_int_equal(r->recipients, 3);
	assert_string_equal(r->decisions[0]->principal, "plo-ana");
	assert_int_equal(r->decisions[0]->verdict,
	    NWD__V1__EXPLAIN_VERDICT__EXPLAIN_NOT_A_CANDIDATE);
	assert_non_null(strstr(r->decisions[0]->reason, "is the sender"));
	assert_string_equal(r->decisions[1]->principal, "hubsys-dereham");
	nwd_explain_result_free(r);
	r = NULL;

	c = harness_connect_as("auditor-dan");
	assert_int_equal(nwd_explain(c, "plo-ana", &m.env, nobody, 1, 0, &r,
	    err, sizeof(err)), NWD_ERR_REFUSED);
	assert_non_null(strstr(err, "ERROR_NOT_FOUND"));
	assert_non_null(strstr(err, "no principal 'nobody'"));
	assert_int_equal(nwd_explain(c, "nobody", &m.env, NULL, 0, 0, &r,
	    err, sizeof(err)), NWD_ERR_REFUSED);
	assert_null(r);
	/* A refused publish is explained, not an error: S7. */
	r = explain_as("auditor-dan", "sw-ben", &m.env, NULL, 0);
	assert_int_equal(r->publish->verdict,
	    NWD__V1__EXPLAIN_VERDICT__EXPLAIN_REFUSED);
	assert_non_null(strstr(r->publish->reason, "no publish rule lets role "
	    "social_worker publish intelligence_report"));
	assert_int_equal(r->n_decisions, 0);
	assert_int_equal(r->recipients, 0);
	nwd_explain_result_free(r);
	nwd_close(c);
}

/* ------------------------------------------------------------------------
 * Offline: the nwd tool, against deploy/'s files
 */

/* Removes every occurrence of what from s. */
static void
strip_all(char *s, const char *what)
{
	char	*p;
	size_t	 n = strlen(what);

	while ((p = strstr(s, what)) != NULL)
		memmove(p, p + n, strlen(p + n) + 1);
}

/* S1 offline says what the daemon says, byte for byte. */
static void
test_cli_offline_s1_agrees_with_daemon(void **state)
{
	static char	 off[65536], on[65536];
	const char	*body = s1_body_file(), *a, *b;
	const char	*msg = "intelligence_report --subject YP-001 "
			    "--marking OFFICIAL-SENSITIVE --from plo-ana";

	assert_int_equal(run_nwd(off, sizeof(off), "policy explain --json "
	    "%s --allocate YP-001=hub:norwich,sw:north,camhs:central "
	    "--allocate YP-002=hub:dereham --at " AT_MS " %s %s",
	    offline_files(), msg, body), 0);
	assert_contains(off, "\"source\":\"offline\"");
	assert_contains(off, "\"publish\":{\"principal\":\"plo-ana\","
	    "\"role\":\"police_liaison\",\"verdict\":\"allowed\","
	    "\"rules\":\"police-intelligence\"");
	assert_contains(off, "\"recipients\":3,\"duty_desk\":false");
	assert_contains(off, "{\"principal\":\"sw-ben\",\"role\":"
	    "\"social_worker\",\"verdict\":\"delivered\",\"rules\":"
	    "\"social-worker-case\",\"reason\":\"\",\"fields_withheld\":[]");
	assert_contains(off, "{\"principal\":\"hubsys-norwich\",\"role\":"
	    "\"hub_system\",\"verdict\":\"delivered\",\"rules\":"
	    "\"intelligence-summary\",\"reason\":\"\",\"fields_withheld\":"
	    "[\"grading\",\"source_details\"]");
	assert_contains(off, "{\"principal\":\"camhs-cara\",\"role\":"
	    "\"camhs_clinician\",\"verdict\":\"delivered\"");
	assert_contains(off, "{\"principal\":\"hubsys-dereham\",\"role\":"
	    "\"hub_system\",\"verdict\":\"refused\"");

	assert_int_equal(run_nwd(on, sizeof(on), "policy explain --json "
	    "%s --at " AT_MS " %s %s", online_options("auditor-dan"), msg,
	    body), 0);
	assert_contains(on, "\"source\":\"online\"");
	/* Online says how each recipient is reached now; offline cannot. */
	assert_contains(on, "\"duty_pass\":false,\"route\":\"queued\"");
	strip_all(on, ",\"route\":\"queued\"");
	/* From the policy version on, the two answers are the same. */
	assert_non_null(a = strstr(off, "\"policy_version\""));
	assert_non_null(b = strstr(on, "\"policy_version\""));
	assert_string_equal(a, b);
}

/* S6 offline: the duty desk, with the default empty body. */
static void
test_cli_offline_s6_duty_desk(void **state)
{
	static char out[65536];

	assert_int_equal(run_nwd(out, sizeof(out), "policy explain --json "
	    "%s --allocate YP-001=hub:norwich risk_alert --subject YP-003 "
	    "--from plo-ana", offline_files()), 0);
	assert_contains(out, "\"body\":\"empty\"");
	assert_contains(out, "\"recipients\":1,\"duty_desk\":true");
	assert_contains(out, "{\"principal\":\"hubsys-norwich\",\"role\":"
	    "\"hub_system\",\"verdict\":\"refused\",\"rules\":\"hub-alerts\"");
	assert_contains(out, "{\"principal\":\"duty-mash\",\"role\":\"duty\","
	    "\"verdict\":\"delivered\",\"rules\":\"duty-desk\"");
	assert_contains(out, "\"duty_pass\":true}");
	assert_contains(out, "\"note\":\"no body was given");

	/* The table says the same to a person. */
	assert_int_equal(run_nwd(out, sizeof(out), "policy explain %s "
	    "risk_alert --subject YP-003 --from plo-ana --to duty-mash",
	    offline_files()), 0);
	assert_contains(out, "outcome   1 recipient, at the duty desk");
	assert_contains(out, "PRINCIPAL");
	assert_contains(out, "-- the duty pass");
	assert_contains(out, "duty-mash  duty  delivered        duty-desk");
}

/* Refusals of the tool itself: usage, unknown principals, bad files. */
static void
test_cli_refusals_and_check(void **state)
{
	static char	out[8192];
	char		bad[4096], crl[4096];

	/* Offline needs its files; online has its own. */
	assert_int_equal(run_nwd(out, sizeof(out), "policy explain risk_alert "
	    "--subject YP-003 --from plo-ana"), 2);
	assert_int_equal(run_nwd(out, sizeof(out), "policy explain %s "
	    "--online risk_alert --subject YP-003 --from plo-ana",
	    offline_files()), 2);
	assert_int_equal(run_nwd(out, sizeof(out), "policy explain %s "
	    "risk_alert --subject YP-003 --from nobody", offline_files()), 2);
	/* Online, a non-auditor is refused: exit 1. */
	assert_int_equal(run_nwd(out, sizeof(out), "policy explain %s "
	    "risk_alert --subject YP-003 --from plo-ana",
	    online_options("sw-ben")), 1);
	/* --crl: the broker's certificate revoked, the tool stops (3, as
	 * unreachable); the CA's current CRL lets it ask. */
	snprintf(crl, sizeof(crl), "%s", harness_pki("server-revoked.crl"));
	assert_int_equal(run_nwd(out, sizeof(out), "policy explain %s --crl "
	    "%s risk_alert --subject YP-003 --from plo-ana 2>/dev/null",
	    online_options("auditor-dan"), crl), 3);
	snprintf(crl, sizeof(crl), "%s", harness_pki("ca.crl"));
	assert_int_equal(run_nwd(out, sizeof(out), "policy explain %s --crl "
	    "%s risk_alert --subject YP-003 --from plo-ana",
	    online_options("auditor-dan"), crl), 0);
	assert_contains(out, "PRINCIPAL");

	assert_int_equal(run_nwd(out, sizeof(out), "policy check "
	    "%s/deploy/policy.nwd", dir_env("NWD_SRCDIR", NWD_SRCDIR)), 0);
	assert_contains(out, "policy.nwd: ok, ");
	snprintf(bad, sizeof(bad), "%s/tests/data/bad-policies/bad-action.nwd",
	    dir_env("NWD_SRCDIR", NWD_SRCDIR));
	assert_int_equal(run_nwd(out, sizeof(out), "policy check %s", bad),
	    1);
}

/* nwd push builds its envelope with the same code, and still works. */
static void
test_cli_push_shares_the_envelope_building(void **state)
{
	static char	 out[8192];
	char		*mid, *end;

	assert_int_equal(run_nwd(out, sizeof(out), "push risk_alert %s "
	    "--subject YP-004 --priority HIGH --share-with duty-mash "
	    "--claim-sender sw-ben,social_care %s",
	    connection_options("plo-ana"), s1_body_file()), 2);
	/* The S1 body is not a risk alert; a risk alert's body is. */
	{
		static const char	 alert[] = "{\"category\": "
					    "\"CRIMINAL_EXPLOITATION\", "
					    "\"level\": \"HIGH\", \"summary\": "
					    "\"x\"}";
		char			 path[4096];
		FILE			*fp;

		snprintf(path, sizeof(path), "%s/alert.json",
		    dir_env("NWD_TEST_TMP", "/tmp"));
		if ((fp = fopen(path, "w")) == NULL ||
		    fputs(alert, fp) == EOF || fclose(fp) != 0)
			fail_msg("cannot write %s", path);
		assert_int_equal(run_nwd(out, sizeof(out), "push risk_alert "
		    "%s --subject YP-004 --priority HIGH --share-with "
		    "duty-mash --claim-sender sw-ben,social_care %s",
		    connection_options("plo-ana"), path), 0);
	}
	assert_contains(out, "\"recipients\":1");
	assert_non_null(mid = strstr(out, "\"message_id\":\""));
	mid += strlen("\"message_id\":\"");
	assert_non_null(end = strchr(mid, '"'));
	*end = '\0';
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = 'publish' "
	    "AND actor = 'plo-ana' AND reason LIKE 'ignored client-supplied "
	    "sender ''sw-ben'' and agency ''social_care''%%'", mid), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_s1_explained_as_published),
		cmocka_unit_test(test_s6_duty_desk_explained_as_published),
		cmocka_unit_test(test_explain_is_audited),
		cmocka_unit_test(test_non_auditor_is_refused),
		cmocka_unit_test(test_to_and_unknown_principals),
		cmocka_unit_test(test_cli_offline_s1_agrees_with_daemon),
		cmocka_unit_test(test_cli_offline_s6_duty_desk),
		cmocka_unit_test(test_cli_refusals_and_check),
		cmocka_unit_test(test_cli_push_shares_the_envelope_building),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("nwd policy explain", tests,
	    group_setup, group_teardown);
}
