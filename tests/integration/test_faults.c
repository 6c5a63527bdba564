/*
 * Faults under load (G1, G3, GUARANTEES.md): a publisher process publishes
 * without pause while the daemon is killed with SIGKILL, or PostgreSQL is
 * stopped with -m immediate.  Afterwards every publish that got a PublishAck
 * has its audit rows, no message was stored twice, a durable subscriber
 * receives every acknowledged message, and the audit chain verifies.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "nwd.h"

#define WAIT_MS		15000
#define MAX_ACKED	20000

static const char *instance_config = "instance = nwdd-faults\n"
    "checkpoint_rows = 50\n";

/* The daemon of the running test, stopped by teardown if a test fails. */
static struct harness_daemon *current;

/*
 * Starts (or restarts) the daemon; a restart listens on the port of the
 * first start, where the load process keeps reconnecting.
 */
static struct harness_daemon *
start_daemon(int port)
{
	char extra[256];

	if (port == 0)
		return current = harness_daemon_start(instance_config);
	snprintf(extra, sizeof(extra), "%slisten = 127.0.0.1:%d\n",
	    instance_config, port);
	return current = harness_daemon_start(extra);
}

static int
teardown(void **state)
{
	if (current != NULL)
		harness_daemon_stop(current);
	current = NULL;
	return 0;
}

static void
publish(struct nwd_client *c, Nwd__V1__Kind kind, const char *subject,
    char mid[40], enum nwd_status *st)
{
	Nwd__V1__Envelope	 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header		 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef	 s = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__RiskAlert	 r = NWD__V1__RISK_ALERT__INIT;
	Nwd__V1__Allocation	 a = NWD__V1__ALLOCATION__INIT;
	Nwd__V1__PublishAck	*ack = NULL;
	char			 err[512];

	s.local_id = (char *)subject;
	h.kind = kind;
	h.subject = &s;
	h.marking = NWD__V1__MARKING__OFFICIAL;
	env.header = &h;
	if (kind == NWD__V1__KIND__ALLOCATION) {
		a.team = "hub:norwich";
		env.body_case = NWD__V1__ENVELOPE__BODY_ALLOCATION;
		env.allocation = &a;
	} else {
		r.category = NWD__V1__RISK_ALERT__CATEGORY__GOING_MISSING;
		r.level = NWD__V1__RISK_ALERT__LEVEL__MEDIUM;
		r.summary = "fault test";
		env.body_case = NWD__V1__ENVELOPE__BODY_RISK_ALERT;
		env.risk_alert = &r;
	}
	*st = nwd_publish(c, &env, &ack, err, sizeof(err));
	if (*st == NWD_OK)
		snprintf(mid, 40, "%s", ack->message_id);
	nwd_publish_ack_free(ack);
}

/*
 * The load: a child process publishes RiskAlerts on subject as plo-ana,
 * reconnecting when the daemon goes away, and writes the id of every
 * acknowledged publish, one a line, to path.  It stops when stop_path
 * exists and it has published at least once since.
 */
static pid_t
start_load(const char *subject, const char *path)
{
	pid_t pid;

	if ((pid = fork()) == -1)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		struct nwd_client	*c = NULL;
		struct nwd_opts		 o = harness_client("plo-ana");
		enum nwd_status		 st;
		char			 mid[40], err[256], stop[600];
		FILE			*fp = fopen(path, "w");
		int			 i;

		snprintf(stop, sizeof(stop), "%s.stop", path);
		if (fp == NULL)
			_exit(2);
		setvbuf(fp, NULL, _IOLBF, 0);
		/* Only acknowledged publishes count towards the cap. */
		for (i = 0; i < MAX_ACKED;) {
			if (access(stop, F_OK) == 0)
				break;
			if (c == NULL) {
				o.timeout_ms = 2000;
				c = nwd_connect(&o, &st, err, sizeof(err));
				if (c == NULL) {
					/* The daemon is down: wait for it. */
					poll(NULL, 0, 50);
					continue;
				}
			}
			publish(c, NWD__V1__KIND__RISK_ALERT, subject, mid, &st);
			if (st == NWD_OK) {
				fprintf(fp, "%s\n", mid);
				i++;
			} else if (st == NWD_ERR_UNAVAILABLE) {
				/* Back off while the database is away. */
				poll(NULL, 0, 5);
			} else {
				nwd_close(c);
				c = NULL;
			}
		}
		nwd_close(c);
		fclose(fp);
		_exit(0);
	}
	return pid;
}

static size_t
count_lines(const char *path)
{
	FILE	*fp = fopen(path, "r");
	char	 line[64];
	size_t	 n = 0;

	if (fp == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		n++;
	fclose(fp);
	return n;
}

/* Waits for the load to have acknowledged at least n publishes. */
static void
wait_acked(const char *path, size_t n)
{
	int waited;

	for (waited = 0; waited < WAIT_MS; waited += 20) {
		if (count_lines(path) >= n)
			return;
		poll(NULL, 0, 20);
	}
	fail_msg("the load acknowledged %zu publishes, not %zu",
	    count_lines(path), n);
}

static void
stop_load(pid_t pid, const char *path)
{
	char	stop[600];
	FILE	*fp;
	int	status;

	snprintf(stop, sizeof(stop), "%s.stop", path);
	fp = fopen(stop, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Every acknowledged id has its publish row, once; no message twice. */
static size_t
check_acked_have_rows(const char *path)
{
	FILE	*fp = fopen(path, "r");
	char	 line[64];
	size_t	 n = 0;
	int	 rows;

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		rows = harness_sql_int("postgres", "SELECT count(*) FROM "
		    "nwd.audit_events WHERE message_id = '%s' AND action = "
		    "'publish'", line);
		if (rows != 1)
			fail_msg("acknowledged message %s has %d publish rows",
			    line, rows);
		n++;
	}
	fclose(fp);
	return n;
}

static void
verify_chain(void)
{
	char	cmd[2048], out[4096];
	FILE	*p;
	size_t	n;
	int	status;

	snprintf(cmd, sizeof(cmd), "NWD_AUDIT_DB='host=127.0.0.1 port=%s "
	    "dbname=nwd user=nwd_auditor' %s/client/nwd audit verify "
	    "--pubkey %s 2>&1", getenv("NWD_TEST_PGPORT"),
	    getenv("NWD_BUILDDIR"), harness_pki("audit-signing.pub"));
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	status = pclose(p);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("nwd audit verify failed: %s", out);
	if (strstr(out, "instance nwdd-faults: intact") == NULL)
		fail_msg("nwd audit verify: %s", out);
}

/*
 * SIGKILL mid-load: the restarted daemon continues the chain, every
 * acknowledged publish has its rows, and the durable subscriber receives
 * every acknowledged message.
 */
static void
test_sigkill_mid_load(void **state)
{
	struct harness_daemon	*d;
	struct nwd_client	*c;
	Nwd__V1__Kind		 k = NWD__V1__KIND__RISK_ALERT;
	const char		*subjects[1] = { "YP-777" };
	Nwd__V1__Deliver	*dv;
	enum nwd_status		 st;
	char			 path[512], mid[40], err[512], sql[256];
	size_t			 acked, got = 0;
	uint64_t		 id;
	int			 kills, port;
	pid_t			 load;

	snprintf(path, sizeof(path), "%s/acked-kill", getenv("NWD_TEST_TMP"));
	d = start_daemon(0);
	assert_non_null(d);
	port = harness_daemon_port(d);
	c = harness_connect_as("case-system");
	publish(c, NWD__V1__KIND__ALLOCATION, "YP-777", mid, &st);
	assert_int_equal(st, NWD_OK);
	nwd_close(c);
	/* A durable subscriber that is away for the whole load. */
	c = harness_connect_as("hubsys-norwich");
	assert_int_equal(nwd_subscribe(c, &k, 1, subjects, 1, "fault-feed",
	    &id, err, sizeof(err)), NWD_OK);
	nwd_close(c);

	load = start_load("YP-777", path);
	for (kills = 1; kills <= 2; kills++) {
		wait_acked(path, kills * 100);
		assert_int_equal(harness_daemon_signal(d, SIGKILL), 0);
		harness_daemon_stop(d);
		current = NULL;
		d = start_daemon(port);
		assert_non_null(d);
	}
	wait_acked(path, 300);
	stop_load(load, path);

	acked = check_acked_have_rows(path);
	assert_true(acked >= 300);
	/* Nothing stored twice, however the kills fell. */
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) - "
	    "count(DISTINCT id) FROM nwd.messages"), 0);
	/* The subscriber gets at least every acknowledged message. */
	c = harness_connect_as("hubsys-norwich");
	assert_int_equal(nwd_subscribe(c, &k, 1, subjects, 1, "fault-feed",
	    &id, err, sizeof(err)), NWD_OK);
	for (;;) {
		dv = NULL;
		st = nwd_next_delivery(c, 3000, &dv, err, sizeof(err));
		if (st != NWD_OK)
			break;
		snprintf(sql, sizeof(sql), "%s", dv->envelope->header->message_id);
		nwd_ack(c, dv->delivery_id, sql, err, sizeof(err));
		nwd_deliver_free(dv);
		got++;
	}
	assert_int_equal(st, NWD_ERR_TIMEOUT);
	nwd_close(c);
	if (got < acked)
		fail_msg("the durable subscriber got %zu of %zu acknowledged "
		    "messages", got, acked);
	print_message("SIGKILL x2 mid-load: %zu publishes acknowledged, all "
	    "with their rows; the durable subscriber received %zu\n", acked,
	    got);
	current = NULL;
	assert_int_equal(harness_daemon_stop(d), 0);
	verify_chain();
}

/*
 * PostgreSQL stopped with -m immediate mid-load, twice: publishes are
 * refused while it is away, every acknowledged one has its rows, and the
 * chain verifies.
 */
static void
test_database_killed_mid_load(void **state)
{
	struct harness_daemon	*d;
	char			 path[512];
	size_t			 acked, mark;
	int			 round;
	pid_t			 load;

	snprintf(path, sizeof(path), "%s/acked-pg", getenv("NWD_TEST_TMP"));
	d = start_daemon(0);
	assert_non_null(d);
	load = start_load("YP-777", path);
	for (round = 1; round <= 2; round++) {
		wait_acked(path, count_lines(path) + 100);
		mark = harness_log_mark(d);
		assert_int_equal(harness_pg_kill(), 0);
		assert_true(harness_wait_log_after(d, mark,
		    "store: database unavailable", WAIT_MS));
		mark = harness_log_mark(d);
		assert_int_equal(harness_pg_start(), 0);
		assert_true(harness_wait_log_after(d, mark, "store: state=ready",
		    30000));
	}
	wait_acked(path, count_lines(path) + 50);
	stop_load(load, path);
	acked = check_acked_have_rows(path);
	assert_true(acked >= 250);
	print_message("PostgreSQL stopped -m immediate x2 mid-load: %zu "
	    "publishes acknowledged, all with their rows\n", acked);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) - "
	    "count(DISTINCT (instance, seq)) FROM nwd.audit_events"), 0);
	current = NULL;
	assert_int_equal(harness_daemon_stop(d), 0);
	verify_chain();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_sigkill_mid_load, teardown),
		cmocka_unit_test_teardown(test_database_killed_mid_load,
		    teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("faults", tests, NULL, NULL);
}
