/*
 * Integration tests of subject-access cases (issue 19: "a SAR is a
 * case"), against a real nwdd and PostgreSQL on a wall clock the test sets
 * (test_clock), through the nwd tool and libnwd.
 *
 * Two auditors are needed for four eyes; deploy/principals.conf has one
 * (auditor-dan).  The test makes a second, auditor-eve: a certificate
 * CN=auditor-eve signed by the test CA (clients/auditor-eve.crt and .key
 * in the test PKI, made afresh each run with the openssl tool) and a
 * principal mapping of its own (NWD_TEST_TMP/principals.conf: the shipped
 * one plus auditor-eve, role auditor).
 *
 * - The flow: auditor-dan opens a case received 31 January 2027 (due 28
 *   February), checks the identity; auditor-eve approves; auditor-dan
 *   releases it with a report of arbitrary bytes; auditor-eve shows it
 *   and gets the same bytes, whose SHA-256 is the one the release
 *   returned.  Each step is its audit row naming the case; the stored
 *   report is sealed (the column holds neither the report nor a marker
 *   from inside it) and the showing is audited.
 * - Due dates: 31 January 2028 is due 29 February; an extension is
 *   recorded with its reason, once, within three months of receipt; the
 *   list shows the open cases, overdue first.
 * - Refusals, each with its error code and a sar_case_refused row: approve
 *   before the identity is checked, approve by the auditor who opened the
 *   case, release before approval, a non-auditor, an unknown reference, a
 *   duplicate reference.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "harness.h"
#include "nwd.h"

#define MARKER		"marker-of-the-report-7f3a9c"

/* deploy/principals.conf has one auditor; four eyes want a second. */
#define EVE_PRINCIPAL	"auditor-eve     auditor-eve     auditor           " \
	"governance    -                         OFFICIAL_SENSITIVE\n"

static struct harness_daemon	*daemon_main;
static char			 clock_path[1024];
static char			 extra[2400];

static int64_t
utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	return (int64_t)timegm(&tm) * 1000;
}

static void
write_clock(int64_t ms)
{
	char	 tmp[1100];
	FILE	*fp;

	snprintf(tmp, sizeof(tmp), "%s.new", clock_path);
	assert_non_null(fp = fopen(tmp, "w"));
	fprintf(fp, "%" PRId64 "\n", ms);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(rename(tmp, clock_path), 0);
}

/* Sets the daemon's wall clock and waits until it has read it. */
static void
set_clock(int64_t ms)
{
	size_t mark = harness_log_mark(daemon_main);

	write_clock(ms);
	if (!harness_wait_log_after(daemon_main, mark, "event=clock_moved",
	    15000))
		fail_msg("nwdd did not see the clock move; see %s",
		    harness_daemon_log(daemon_main));
}

static int
group_setup(void **state)
{
	const char *principals;

	(void)state;
	snprintf(clock_path, sizeof(clock_path), "%s/clock",
	    getenv("NWD_TEST_TMP"));
	write_clock(utc(2027, 2, 10, 12, 0));
	if (harness_pki_client("auditor-eve") == -1 ||
	    (principals = harness_principals_with(EVE_PRINCIPAL)) == NULL) {
		fprintf(stderr, "test_sarcase: cannot make auditor-eve\n");
		return -1;
	}
	snprintf(extra, sizeof(extra), "test_clock = %s\nprincipals = %s\n",
	    clock_path, principals);
	daemon_main = harness_daemon_start(extra);
	return daemon_main != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	return harness_daemon_stop(daemon_main) == 0 ? 0 : -1;
}

/* One request as who; the broker's error code into *code (0: none). */
static enum nwd_status
sar(const char *who, Nwd__V1__SarCaseRequest *q, Nwd__V1__SarCaseResult **r,
    Nwd__V1__ErrorCode *code, char *err, size_t errlen)
{
	struct nwd_client	*c = harness_connect_as(who);
	enum nwd_status		 st;

	*r = NULL;
	st = nwd_sar_case(c, q, r, err, errlen);
	*code = st == NWD_OK ? 0 : nwd_last_server_error(c);
	nwd_close(c);
	return st;
}

/* A request that must be refused with code and a reason holding want,
 * and leave a sar_case_refused row (actor who) holding it too. */
static void
refused(const char *who, Nwd__V1__SarCaseRequest *q, Nwd__V1__ErrorCode want,
    const char *reason)
{
	Nwd__V1__SarCaseResult	*r = NULL;
	Nwd__V1__ErrorCode	 code;
	char			 err[1024];

	if (sar(who, q, &r, &code, err, sizeof(err)) == NWD_OK)
		fail_msg("sar-case %d of %s as %s was not refused", q->op,
		    q->reference, who);
	if (code != want)
		fail_msg("sar-case %d of %s as %s: code %d, not %d (%s)", q->op,
		    q->reference, who, code, want, err);
	if (strstr(err, reason) == NULL)
		fail_msg("sar-case %d of %s: \"%s\" does not say \"%s\"",
		    q->op, q->reference, err, reason);
	harness_wait_sql_int("nwd_auditor", 15000, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'sar_case_refused' AND actor = "
	    "'%s' AND strpos(reason, '%s') > 0", who, reason);
}

static void
sha256_hex(const void *p, size_t len, char out[65])
{
	unsigned char	md[32];
	unsigned int	n = 0;
	int		i;

	assert_int_equal(EVP_Digest(p, len, md, &n, EVP_sha256(), NULL), 1);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int
rows(const char *action, const char *ref, const char *actor)
{
	return harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = '%s' AND rule = 'sar_case:%s' AND "
	    "actor = '%s'", action, ref, actor);
}

static void
test_flow(void **state)
{
	char		 out[16384], path[1100], back[1100], hex[65], *p;
	static char	 report[3000];
	FILE		*fp;
	size_t		 i, n;
	struct stat	 st;

	(void)state;
	/* The clock is group_setup's: 10 February 2027. */
	/* A report with bytes of every value, a NUL among them. */
	n = (size_t)snprintf(report, sizeof(report), "<h1>Subject access: "
	    "YP-001</h1><p>%s</p>", MARKER);
	for (i = 0; i < 512; i++)
		report[n++] = (char)i;
	snprintf(path, sizeof(path), "%s/report.html", getenv("NWD_TEST_TMP"));
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(report, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
	sha256_hex(report, n, hex);

	assert_int_equal(harness_run_nwd(out, sizeof(out), "auditor-dan",
	    "sar-case open --subject YP-001 --reference SAR-2027-001 "
	    "--requested-by 'the young person, by email' --received "
	    "2027-01-31 --json"), 0);
	assert_non_null(strstr(out, "\"received\":\"2027-01-31\""));
	assert_non_null(strstr(out, "\"due\":\"2027-02-28\""));
	assert_non_null(strstr(out, "\"state\":\"open\""));
	assert_int_equal(rows("sar_case_opened", "SAR-2027-001",
	    "auditor-dan"), 1);
	/* Due at the end of 28 February, local time (GMT then). */
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.sar_cases WHERE reference = 'SAR-2027-001' AND due_at = "
	    "timestamptz '2027-02-28 23:59:59.999+00' AND received_at = "
	    "timestamptz '2027-01-31 00:00+00' AND requested_by = 'the young "
	    "person, by email' AND opened_by = 'auditor-dan'"), 1);

	assert_int_equal(harness_run_nwd(out, sizeof(out), "auditor-dan",
	    "sar-case check-identity SAR-2027-001 --how 'passport seen in "
	    "person' --json"), 0);
	assert_non_null(strstr(out, "\"state\":\"identity_checked\""));
	assert_int_equal(rows("sar_identity_checked", "SAR-2027-001",
	    "auditor-dan"), 1);

	assert_int_equal(harness_run_nwd(out, sizeof(out), "auditor-eve",
	    "sar-case approve SAR-2027-001 --json"), 0);
	assert_non_null(strstr(out, "\"state\":\"approved\""));
	assert_non_null(strstr(out, "\"approved_by\":\"auditor-eve\""));
	assert_int_equal(rows("sar_approved", "SAR-2027-001", "auditor-eve"),
	    1);

	assert_int_equal(harness_run_nwd(out, sizeof(out), "auditor-dan",
	    "sar-case release SAR-2027-001 --report %s", path), 0);
	assert_non_null(strstr(out, hex));
	assert_non_null(strstr(out, "released"));
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'sar_released' AND rule = "
	    "'sar_case:SAR-2027-001' AND actor = 'auditor-dan' AND "
	    "strpos(reason, '%s') > 0", hex), 1);

	/* Sealed: neither the report nor the marker inside it is stored. */
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.sar_cases WHERE reference = 'SAR-2027-001' AND report IS NOT "
	    "NULL AND octet_length(report) = %zu AND position(convert_to('%s', "
	    "'UTF8') in report) = 0 AND position(convert_to('Subject access', "
	    "'UTF8') in report) = 0 AND encode(report_sha256, 'hex') = '%s' "
	    "AND report_bytes = %zu AND report_key_id LIKE '%%/2'", n + 28,
	    MARKER, hex, n), 1);
	/* The auditor's read-only role does not read the sealed column. */
	assert_int_not_equal(harness_sql("nwd_auditor", "SELECT report FROM "
	    "nwd.sar_cases", NULL, 0), 0);

	/* Shown by the other auditor: the same bytes, and audited. */
	snprintf(back, sizeof(back), "%s/report-back.html",
	    getenv("NWD_TEST_TMP"));
	unlink(back);
	assert_int_equal(harness_run_nwd(out, sizeof(out), "auditor-eve",
	    "sar-case show SAR-2027-001 --report-out %s --json", back), 0);
	assert_non_null(strstr(out, "\"state\":\"released\""));
	assert_non_null(strstr(out, hex));
	assert_int_equal(stat(back, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal((size_t)st.st_size, n);
	assert_non_null(p = malloc(n));
	assert_non_null(fp = fopen(back, "r"));
	assert_int_equal(fread(p, 1, n, fp), n);
	fclose(fp);
	assert_memory_equal(p, report, n);
	free(p);
	assert_int_equal(rows("sar_case_query", "SAR-2027-001",
	    "auditor-eve"), 1);
	/* The report's bytes are in no audit row. */
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE strpos(coalesce(reason, ''), '%s') > 0",
	    MARKER), 0);
	/* Nor in the daemon's log. */
	assert_false(harness_log_contains(daemon_main, MARKER));

	/* Released once. */
	{
		Nwd__V1__SarCaseRequest q = NWD__V1__SAR_CASE_REQUEST__INIT;

		q.op = NWD__V1__SAR_CASE_REQUEST__OP__RELEASE;
		q.reference = (char *)"SAR-2027-001";
		q.report.data = (uint8_t *)"again";
		q.report.len = 5;
		refused("auditor-dan", &q, NWD__V1__ERROR_CODE__ERROR_CONFLICT,
		    "SAR-2027-001 was released already");
	}
}

static void
test_due_and_extension(void **state)
{
	Nwd__V1__SarCaseRequest	 q = NWD__V1__SAR_CASE_REQUEST__INIT;
	Nwd__V1__SarCaseResult	*r = NULL;
	Nwd__V1__ErrorCode	 code;
	char			 out[16384], err[1024], *a, *b, *c;

	(void)state;
	set_clock(utc(2028, 3, 15, 12, 0));
	/* A leap year: 31 January is due 29 February. */
	assert_int_equal(harness_run_nwd(out, sizeof(out), "auditor-dan",
	    "sar-case open --subject YP-002 --reference SAR-LEAP "
	    "--requested-by 'a parent' --received 2028-01-31 --json"), 0);
	assert_non_null(strstr(out, "\"due\":\"2028-02-29\""));
	assert_non_null(strstr(out, "\"overdue\":true"));
	/* Summer time: received 00:30 BST on 1 April (31 March in UTC) is
	 * received on 1 April, due 1 May. */
	assert_int_equal(harness_run_nwd(out, sizeof(out), "auditor-dan",
	    "sar-case open --subject YP-002 --reference SAR-LATER "
	    "--requested-by 'a solicitor' --received 2027-04-01T00:30 "
	    "--json"), 0);
	assert_non_null(strstr(out, "\"due\":\"2027-05-01\""));
	/* Not yet due: received 10 March 2028, due 10 April. */
	assert_int_equal(harness_run_nwd(out, sizeof(out), "auditor-dan",
	    "sar-case open --subject YP-003 --reference SAR-FRESH "
	    "--requested-by 'the young person' --received 2028-03-10 "
	    "--json"), 0);
	assert_non_null(strstr(out, "\"due\":\"2028-04-10\""));
	assert_null(strstr(out, "\"overdue\":true"));

	/* Extended, with its reason, once. */
	assert_int_equal(harness_run_nwd(out, sizeof(out), "auditor-eve",
	    "sar-case extend SAR-LEAP --to 2028-04-30 --reason 'complex: "
	    "records held by three agencies' --json"), 0);
	assert_non_null(strstr(out, "\"extended_to\":\"2028-04-30\""));
	assert_non_null(strstr(out, "\"extension_reason\":\"complex: records "
	    "held by three agencies\""));
	assert_non_null(strstr(out, "\"extended_by\":\"auditor-eve\""));
	assert_non_null(strstr(out, "\"due\":\"2028-02-29\""));
	assert_int_equal(rows("sar_extended", "SAR-LEAP", "auditor-eve"), 1);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.sar_cases WHERE reference = 'SAR-LEAP' AND extended_to = "
	    "timestamptz '2028-04-30 23:59:59.999+01' AND extension_reason "
	    "LIKE 'complex:%%'"), 1);
	q.op = NWD__V1__SAR_CASE_REQUEST__OP__EXTEND;
	q.reference = (char *)"SAR-LEAP";
	q.extended_to_unix_ms = utc(2028, 4, 30, 11, 0);
	q.reason = (char *)"again";
	refused("auditor-dan", &q, NWD__V1__ERROR_CODE__ERROR_CONFLICT,
	    "SAR-LEAP was extended already");
	/* Past three months after receipt (1 April 2027 + 3: 1 July). */
	q.reference = (char *)"SAR-LATER";
	q.extended_to_unix_ms = utc(2027, 7, 2, 11, 0);
	refused("auditor-dan", &q,
	    NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE,
	    "no later than 2027-07-01");

	/* The open cases, overdue first: SAR-LATER (due 1 May 2027), then
	 * SAR-LEAP (extended to 30 April 2028), then SAR-FRESH... the
	 * soonest due first, and here every overdue one is due sooner. */
	q.op = NWD__V1__SAR_CASE_REQUEST__OP__LIST;
	q.reference = (char *)"";
	if (sar("auditor-eve", &q, &r, &code, err, sizeof(err)) != NWD_OK)
		fail_msg("list: %s", err);
	{
		size_t	i, later = 99, leap = 99, fresh = 99;

		for (i = 0; i < r->n_cases; i++) {
			const Nwd__V1__SarCase *k = r->cases[i];

			assert_string_not_equal(k->state, "released");
			if (strcmp(k->reference, "SAR-LATER") == 0) {
				later = i;
				assert_true(k->overdue);
			} else if (strcmp(k->reference, "SAR-LEAP") == 0) {
				leap = i;
				assert_false(k->overdue);
				assert_int_equal(k->extended_to_unix_ms,
				    utc(2028, 4, 30, 22, 59) + 59999);
			} else if (strcmp(k->reference, "SAR-FRESH") == 0) {
				fresh = i;
				assert_false(k->overdue);
			}
		}
		assert_true(later < fresh && fresh < leap && leap < 99);
		for (i = 1; i < r->n_cases; i++)
			assert_true(r->cases[i - 1]->overdue ||
			    !r->cases[i]->overdue);
	}
	nwd_sar_case_result_free(r);
	harness_wait_sql_int("nwd_auditor", 15000, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'sar_case_query' AND actor = "
	    "'auditor-eve' AND strpos(reason, 'listed') > 0");
	/* The tool prints the same list, overdue marked. */
	assert_int_equal(harness_run_nwd(out, sizeof(out), "auditor-dan",
	    "sar-case list"), 0);
	assert_non_null(a = strstr(out, "SAR-LATER"));
	assert_non_null(b = strstr(out, "SAR-FRESH"));
	assert_non_null(c = strstr(out, "SAR-LEAP"));
	assert_true(a < b && b < c);
	assert_non_null(strstr(a, "OVERDUE"));
}

static void
test_refusals(void **state)
{
	Nwd__V1__SarCaseRequest	 q = NWD__V1__SAR_CASE_REQUEST__INIT;
	Nwd__V1__SarCaseResult	*r = NULL;
	Nwd__V1__ErrorCode	 code;
	char			 err[1024];

	(void)state;
	set_clock(utc(2027, 3, 1, 9, 0));
	q.op = NWD__V1__SAR_CASE_REQUEST__OP__OPEN;
	q.reference = (char *)"SAR-R1";
	q.subject = (char *)"YP-001";
	q.requested_by = (char *)"a parent";
	if (sar("auditor-eve", &q, &r, &code, err, sizeof(err)) != NWD_OK)
		fail_msg("open: %s", err);
	assert_int_equal(r->n_cases, 1);
	assert_string_equal(r->cases[0]->opened_by, "auditor-eve");
	/* Received now (1 March): due 1 April, the end of the day, BST. */
	assert_in_range(r->cases[0]->received_unix_ms, utc(2027, 3, 1, 9, 0),
	    utc(2027, 3, 1, 9, 10));
	assert_int_equal(r->cases[0]->due_unix_ms, utc(2027, 4, 1, 22, 59) +
	    59999);
	nwd_sar_case_result_free(r);

	/* A duplicate reference. */
	q.subject = (char *)"YP-002";
	refused("auditor-dan", &q, NWD__V1__ERROR_CODE__ERROR_CONFLICT,
	    "a case with reference SAR-R1 exists already");
	/* A non-auditor, with its reference on the row. */
	q.op = NWD__V1__SAR_CASE_REQUEST__OP__SHOW;
	refused("sw-ben", &q, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN,
	    "only auditors work on subject-access cases (role social_worker");
	assert_int_equal(rows("sar_case_refused", "SAR-R1", "sw-ben"), 1);
	/* An unknown reference. */
	q.op = NWD__V1__SAR_CASE_REQUEST__OP__APPROVE;
	q.reference = (char *)"SAR-NOPE";
	refused("auditor-dan", &q, NWD__V1__ERROR_CODE__ERROR_NOT_FOUND,
	    "no subject-access case SAR-NOPE");
	/* Approve before the identity is checked. */
	q.reference = (char *)"SAR-R1";
	refused("auditor-dan", &q, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN,
	    "the identity of the requester of SAR-R1 has not been checked");
	/* Release before approval (the identity checked meanwhile). */
	q.op = NWD__V1__SAR_CASE_REQUEST__OP__CHECK_IDENTITY;
	q.how = (char *)"birth certificate and a letter from the school";
	if (sar("auditor-eve", &q, &r, &code, err, sizeof(err)) != NWD_OK)
		fail_msg("check identity: %s", err);
	nwd_sar_case_result_free(r);
	q.op = NWD__V1__SAR_CASE_REQUEST__OP__RELEASE;
	q.report.data = (uint8_t *)"a report";
	q.report.len = 8;
	refused("auditor-dan", &q, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN,
	    "the release of SAR-R1 has not been approved");
	/* Approve by the auditor who opened it: four eyes. */
	q.op = NWD__V1__SAR_CASE_REQUEST__OP__APPROVE;
	refused("auditor-eve", &q, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN,
	    "auditor-eve opened SAR-R1: the release is approved by another "
	    "auditor (four eyes)");
	/* Nothing changed by the refusals; the other auditor approves. */
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.sar_cases WHERE reference = 'SAR-R1' AND state = "
	    "'identity_checked' AND subject = 'YP-001'"), 1);
	if (sar("auditor-dan", &q, &r, &code, err, sizeof(err)) != NWD_OK)
		fail_msg("approve: %s", err);
	assert_string_equal(r->cases[0]->state, "approved");
	nwd_sar_case_result_free(r);
	/* The tool says a refusal on stderr and exits 1 (refused). */
	{
		char out[4096];

		assert_int_equal(harness_run_nwd(out, sizeof(out), "sw-ben",
		    "sar-case list"), 1);
	}
	/* Bad input is refused before anything is read. */
	q.op = NWD__V1__SAR_CASE_REQUEST__OP__OPEN;
	q.reference = (char *)"-bad ref";
	refused("auditor-dan", &q,
	    NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE,
	    "a case reference is required");
	/* The database itself keeps four eyes. */
	assert_int_not_equal(harness_sql("postgres", "UPDATE nwd.sar_cases "
	    "SET approved_by = opened_by WHERE reference = 'SAR-R1'", NULL,
	    0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flow),
		cmocka_unit_test(test_due_and_extension),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
