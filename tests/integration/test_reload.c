/*
 * G18: rights follow the current mapping and policy.  Against a real nwdd
 * and PostgreSQL: principals are removed, demoted and moved with their
 * sessions open, then SIGHUP; each session is judged by the new mapping at
 * once; every reload, accepted or refused, is an audit row saying what
 * changed (finding 1 of the rights issue).
 */
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

#define WAIT_MS		15000

static char	principals_path[1024];

/* Writes the principal mapping the daemon reads: the shipped one, with
 * line edits: each edit is "OLD\tNEW" (NEW empty: the line goes). */
static void
write_principals(const char *const *edits, size_t nedits)
{
	char	 src[1024], line[1024], *tab;
	FILE	*in, *out;
	size_t	 i, n;

	snprintf(src, sizeof(src), "%s/deploy/principals.conf",
	    getenv("NWD_SRCDIR"));
	assert_non_null(in = fopen(src, "r"));
	assert_non_null(out = fopen(principals_path, "w"));
	while (fgets(line, sizeof(line), in) != NULL) {
		for (i = 0; i < nedits; i++) {
			tab = strchr(edits[i], '\t');
			n = (size_t)(tab - edits[i]);
			if (strncmp(line, edits[i], n) == 0)
				break;
		}
		if (i == nedits)
			fputs(line, out);
		else if (tab[1] != '\0')
			fprintf(out, "%s\n", tab + 1);
	}
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

static struct harness_daemon *
start(void)
{
	char extra[1200];

	snprintf(principals_path, sizeof(principals_path),
	    "%s/principals.conf", getenv("NWD_TEST_TMP"));
	write_principals(NULL, 0);
	snprintf(extra, sizeof(extra), "principals = %s\n", principals_path);
	return harness_daemon_start(extra);
}

static void
sighup(struct harness_daemon *d, const char *needle)
{
	size_t mark = harness_log_mark(d);

	assert_int_equal(harness_daemon_signal(d, SIGHUP), 0);
	if (!harness_wait_log_after(d, mark, needle, WAIT_MS))
		fail_msg("no \"%s\" after SIGHUP", needle);
}

static int
audit_query(struct nwd_client *c, char *err, size_t errlen)
{
	Nwd__V1__AuditQuery	 q = NWD__V1__AUDIT_QUERY__INIT;
	Nwd__V1__AuditPage	*p = NULL;
	int			 st;

	q.subject = "YP-001";
	q.limit = 1;
	st = nwd_audit_query(c, &q, &p, err, errlen);
	nwd_audit_page_free(p);
	return st;
}

/*
 * auditor-dan's line is removed with his session open: at the reload his
 * session ends (Goodbye, audited with the reason), and he cannot connect
 * again.  Before, his open session went on answering audit queries.
 */
static void
test_removed_principal_loses_session(void **state)
{
	static const char	*drop_dan[] = { "auditor-dan\t" };
	struct harness_daemon	*d = start();
	struct nwd_client	*dan;
	char			 err[512];

	assert_non_null(d);
	dan = harness_connect_as("auditor-dan");
	assert_int_equal(audit_query(dan, err, sizeof(err)), NWD_OK);
	write_principals(drop_dan, 1);
	sighup(d, "event=reload_done");
	/* Ended by the reload, not refused on its next request only. */
	harness_wait_sql_int("nwd_auditor", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'disconnect' AND actor = "
	    "'auditor-dan' AND reason LIKE '%%no longer in the principal "
	    "mapping%%'");
	assert_int_not_equal(audit_query(dan, err, sizeof(err)), NWD_OK);
	assert_non_null(strstr(err, "no longer in the principal mapping"));
	nwd_close(dan);
	assert_int_equal(harness_daemon_stop(d), 0);
}

/*
 * sw-ben moves from sw:north to sw:south and keyworker-kim is demoted
 * (hub_keyworker to a role of no rights): their open sessions take the
 * new principal at once, audited; the mapping's change is one
 * principals_loaded row naming the file's hash and who was added, removed
 * and changed.
 */
static void
test_changed_principals_take_new_rights(void **state)
{
	static const char	*edits[] = {
	    "sw-ben\tsw-ben          sw-ben          social_worker     "
	    "social_care   sw:south                  OFFICIAL_SENSITIVE",
	    "keyworker-kim\tkeyworker-kim   keyworker-kim   hub_keyworker     "
	    "hub           hub:dereham               OFFICIAL",
	    "revoked \t",
	};
	struct harness_daemon	*d = start();
	struct nwd_client	*ben, *kim;
	char			 row[2048], err[512];

	assert_non_null(d);
	ben = harness_connect_as("sw-ben");
	kim = harness_connect_as("keyworker-kim");
	assert_string_equal(nwd_principal(ben)->teams[0], "sw:north");
	write_principals(edits, 3);
	sighup(d, "event=reload_done");
	harness_wait_sql_int("nwd_auditor", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'principal_changed' AND actor = "
	    "'sw-ben' AND reason LIKE '%%teams sw:north -> sw:south%%'");
	harness_wait_sql_int("nwd_auditor", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'principal_changed' AND actor = "
	    "'keyworker-kim' AND reason LIKE '%%teams hub:norwich -> "
	    "hub:dereham%%'");
	harness_sql_text("nwd_auditor", row, sizeof(row), "SELECT reason FROM "
	    "nwd.audit_events WHERE action = 'principals_loaded' ORDER BY id "
	    "DESC LIMIT 1");
	assert_non_null(strstr(row, "sha256:"));
	assert_non_null(strstr(row, "removed: revoked-rob"));
	assert_non_null(strstr(row, "changed: "));
	assert_non_null(strstr(row, "sw-ben"));
	assert_non_null(strstr(row, "keyworker-kim"));
	/* The sessions go on, with their new rights. */
	assert_int_equal(nwd_ping(ben, err, sizeof(err)), NWD_OK);
	assert_int_equal(nwd_ping(kim, err, sizeof(err)), NWD_OK);
	nwd_close(ben);
	nwd_close(kim);
	assert_int_equal(harness_daemon_stop(d), 0);
}

/* A broken mapping is refused, the old one serves, and the refusal is an
 * audit row with its reason (before, only the log said so). */
static void
test_refused_reload_is_audited(void **state)
{
	static const char	*broken[] = {
	    "sw-ben\tsw-ben sw-ben social_worker",
	};
	struct harness_daemon	*d = start();
	struct nwd_client	*ben;
	char			 err[512];

	assert_non_null(d);
	write_principals(broken, 1);
	sighup(d, "event=reload_refused");
	harness_wait_sql_int("nwd_auditor", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'reload_refused' AND reason LIKE "
	    "'%%principals.conf:%%'");
	/* The old mapping still serves. */
	ben = harness_connect_as("sw-ben");
	assert_int_equal(nwd_ping(ben, err, sizeof(err)), NWD_OK);
	nwd_close(ben);
	assert_int_equal(harness_daemon_stop(d), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_removed_principal_loses_session),
		cmocka_unit_test(test_changed_principals_take_new_rights),
		cmocka_unit_test(test_refused_reload_is_audited),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("reload", tests, NULL, NULL);
}
