/*
 * Availability (issue 20): an instance name is held exclusively while its
 * nwdd runs, and PostgreSQL fails over to a synchronous standby under load.
 *
 *  - A second nwdd with an instance name in use on the same database
 *    refuses to start (exit status 3), saying which host and pid hold it
 *    and since when; once the first stops, it starts.
 *  - A daemon whose connection is lost while someone else takes the
 *    instance lock writes nothing under the name until it has it again.
 *  - The primary PostgreSQL killed (immediate) and its synchronous standby
 *    promoted while two publishers and a durable subscriber run through
 *    libnwd: the daemon, given a multi-host connection string with
 *    target_session_attrs=read-write, reconnects to the new primary
 *    without a restart, resolves the transaction in doubt there and takes
 *    its instance lock there; every acknowledged publish has its rows on
 *    the new primary, the durable subscriber receives every acknowledged
 *    message in each publisher's order, and the chain verifies.
 *
 * Nothing sleeps to synchronise: the daemons' logs, their exits, the
 * database's rows and the clients' files are waited for.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixtures.h"
#include "harness.h"
#include "nwd.h"

#define WAIT_MS		15000
#define MAX_ACKED	20000
#define MAX_GOT		(4 * MAX_ACKED)

/* The daemons of the running test, stopped by teardown if it fails. */
static struct harness_daemon *current, *second;

static int
teardown(void **state)
{
	(void)state;
	if (second != NULL)
		harness_daemon_stop(second);
	if (current != NULL)
		harness_daemon_stop(current);
	second = current = NULL;
	return 0;
}

static const char *const feed_subjects[2] = { "YP-801", "YP-802" };

/*
 * Connects as hubsys-norwich to port and opens durable subscription name
 * on feed_subjects; NULL if either fails.
 */
static struct nwd_client *
feed_connect(int port, const char *name, int timeout_ms)
{
	struct nwd_opts		 o = harness_client("hubsys-norwich");
	struct nwd_client	*c;
	Nwd__V1__Kind		 k = NWD__V1__KIND__RISK_ALERT;
	enum nwd_status		 st;
	uint64_t		 id;
	char			 err[256], srv[32];

	snprintf(srv, sizeof(srv), "127.0.0.1:%d", port);
	o.server = srv;
	o.timeout_ms = timeout_ms;
	if ((c = nwd_connect(&o, &st, err, sizeof(err))) == NULL)
		return NULL;
	if (nwd_subscribe(c, &k, 1, feed_subjects, 2, name, &id, err,
	    sizeof(err)) != NWD_OK) {
		nwd_close(c);
		return NULL;
	}
	return c;
}

/*
 * The durable subscriber: a child process that keeps durable subscription
 * name open on the daemon on port, reconnecting when it is lost, and
 * writes the id of every message delivered, one a line, in the order
 * received, to path; it acknowledges each (waiting for the broker's
 * Acked, so that a recorded acknowledgement is never delivered again).
 * It stops when path.stop exists.
 */
static pid_t
start_subscriber(int port, const char *name, const char *path)
{
	pid_t pid;

	if ((pid = fork()) == -1)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		struct nwd_client	*c = NULL;
		Nwd__V1__Deliver	*dv;
		enum nwd_status		 st;
		char			 err[256], stop[600];
		FILE			*fp = fopen(path, "w");

		snprintf(stop, sizeof(stop), "%s.stop", path);
		if (fp == NULL)
			_exit(2);
		setvbuf(fp, NULL, _IOLBF, 0);
		while (access(stop, F_OK) != 0) {
			if (c == NULL &&
			    (c = feed_connect(port, name, 2000)) == NULL) {
				poll(NULL, 0, 50);
				continue;
			}
			dv = NULL;
			st = nwd_next_delivery(c, 100, &dv, err, sizeof(err));
			if (st == NWD_ERR_TIMEOUT)
				continue;
			if (st != NWD_OK) {
				nwd_close(c);
				c = NULL;
				continue;
			}
			fprintf(fp, "%s\n", dv->envelope->header->message_id);
			if (nwd_ack(c, dv->delivery_id,
			    dv->envelope->header->message_id, err,
			    sizeof(err)) != NWD_OK) {
				nwd_close(c);
				c = NULL;
			}
			nwd_deliver_free(dv);
		}
		nwd_close(c);
		fclose(fp);
		_exit(0);
	}
	return pid;
}

/*
 * The subscriber received every id of the publisher's file pub, the
 * first time each in the publisher's order.  Returns how many.
 */
static size_t
check_received_in_order(const char *pub, char **got, size_t ngot)
{
	char	**v;
	size_t	  n, i, j, last = 0;

	v = fixture_read_lines(pub, &n);
	for (i = 0; i < n; i++) {
		for (j = 0; j < ngot; j++)
			if (strcmp(got[j], v[i]) == 0)
				break;
		if (j == ngot)
			fail_msg("acknowledged message %s (%zu of %zu in %s) "
			    "never reached the durable subscriber", v[i],
			    i + 1, n, pub);
		if (i > 0 && j < last)
			fail_msg("message %s reached the durable subscriber "
			    "before %s, published earlier", v[i], v[i - 1]);
		last = j;
	}
	fixture_free_lines(v, n);
	return n;
}

/* The hostname nwdd records (gethostname()). */
static void
hostname(char *buf, size_t len)
{
	assert_int_equal(gethostname(buf, len), 0);
	buf[len - 1] = '\0';
}

/*
 * 1. A second nwdd with an instance name in use refuses to start: exit
 * status 3, and a log event naming the holder's host, pid and start;
 * once the first stops, the second starts, and the holder row names it.
 */
static void
test_instance_in_use(void **state)
{
	char	extra[512], host[256], want[512], log[8192];
	FILE	*fp;
	size_t	n;
	int	rc;

	(void)state;
	hostname(host, sizeof(host));
	current = harness_daemon_start("instance = nwdd-held\n");
	assert_non_null(current);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.instance_holders WHERE instance = 'nwdd-held' AND pid = %d "
	    "AND host = '%s'", (int)harness_daemon_pid(current), host), 1);

	/* Another state directory: the first's state file is not what
	 * stops the second. */
	snprintf(extra, sizeof(extra), "instance = nwdd-held\n"
	    "state_directory = %s/state-second\n", getenv("NWD_TEST_TMP"));
	second = harness_daemon_spawn(extra);
	assert_non_null(second);
	rc = harness_daemon_wait_exit(second, WAIT_MS);
	assert_int_equal(rc, 3);
	snprintf(want, sizeof(want), "event=instance_in_use instance=nwdd-held "
	    "holder_host=%s holder_pid=%d holder_since=", host,
	    (int)harness_daemon_pid(current));
	if (!harness_log_contains(second, want)) {
		fp = fopen(harness_daemon_log(second), "r");
		n = fp != NULL ? fread(log, 1, sizeof(log) - 1, fp) : 0;
		log[n] = '\0';
		if (fp != NULL)
			fclose(fp);
		fail_msg("the refused daemon's log lacks \"%s\":\n%s", want,
		    log);
	}
	assert_true(harness_log_contains(second, "refusing to start a second "
	    "daemon with the same instance"));
	assert_true(harness_log_contains(second,
	    "event=stopped reason=\"instance_in_use\""));
	harness_daemon_stop(second);

	/*
	 * The first stops: the name is free.  (Started from the first's
	 * state directory: a daemon that takes over an instance takes its
	 * state file too, or its chain head is refused as a restore would
	 * be; see nwdd --accept-restore.)
	 */
	assert_int_equal(harness_daemon_stop(current), 0);
	current = NULL;
	snprintf(extra, sizeof(extra), "instance = nwdd-held\n");
	second = harness_daemon_start(extra);
	assert_non_null(second);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.instance_holders WHERE instance = 'nwdd-held' AND pid = %d",
	    (int)harness_daemon_pid(second)), 1);

	/*
	 * Killed, it is started again at once on the same host: the name is
	 * not refused (the dead process's session ends, and the store waits
	 * for it rather than refuse).
	 */
	assert_int_equal(harness_daemon_signal(second, SIGKILL), 0);
	harness_daemon_stop(second);
	second = harness_daemon_start(extra);
	assert_non_null(second);
	assert_int_equal(harness_daemon_stop(second), 0);
	second = NULL;
	fixture_verify_chains("nwdd-held", NULL);
}

/* A psql session as postgres on the harness's database; SQL on its stdin. */
struct psql {
	pid_t	pid;
	int	in;
};

static struct psql
psql_open(void)
{
	struct psql	p;
	char		pgsh[600], pgdir[600];
	int		fds[2], devnull;

	snprintf(pgsh, sizeof(pgsh), "%s/deploy/pg.sh", getenv("NWD_SRCDIR"));
	snprintf(pgdir, sizeof(pgdir), "%s", getenv("NWD_TEST_PGDIR"));
	assert_int_equal(pipe(fds), 0);
	p.pid = fork();
	assert_true(p.pid >= 0);
	if (p.pid == 0) {
		dup2(fds[0], 0);
		close(fds[0]);
		close(fds[1]);
		if ((devnull = open("/dev/null", O_WRONLY)) != -1)
			dup2(devnull, 1);
		execl(pgsh, pgsh, "psql", pgdir, "postgres", "-X", "-q", "-v",
		    "ON_ERROR_STOP=1", (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	p.in = fds[1];
	return p;
}

static void
psql_send(struct psql *p, const char *sql)
{
	assert_int_equal(write(p->in, sql, strlen(sql)), (ssize_t)strlen(sql));
}

/* Ends the session (its locks go with it). */
static void
psql_close(struct psql *p)
{
	int status;

	close(p->in);
	assert_int_equal(waitpid(p->pid, &status, 0), p->pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/*
 * 2. The daemon's connection is lost, and another session takes the
 * instance lock before it reconnects: the daemon refuses to write under
 * the name (publishes are unavailable, no audit row is written) and
 * retries, without stopping, until it has the lock again.
 */
static void
test_lock_taken_while_away(void **state)
{
	struct nwd_client	*c;
	struct psql		 p;
	enum nwd_status		 st;
	char			 mid[40], err[256];
	size_t			 mark;
	int			 rows;

	(void)state;
	current = harness_daemon_start("instance = nwdd-away\n");
	assert_non_null(current);
	c = harness_connect_as("case-system");
	st = fixture_publish_kind(c, NWD__V1__KIND__ALLOCATION, "YP-901",
	    NULL, mid, err, sizeof(err));
	assert_int_equal(st, NWD_OK);

	/* A session queues for the lock; the daemon's backend is ended. */
	p = psql_open();
	psql_send(&p, "SELECT pg_advisory_lock(hashtext("
	    "'nwd-instance:nwdd-away'));\n");
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "pg_locks WHERE locktype = 'advisory' AND NOT granted");
	mark = harness_log_mark(current);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "(SELECT pg_terminate_backend(backend_pid) FROM "
	    "nwd.instance_holders WHERE instance = 'nwdd-away') t"), 1);
	harness_wait_sql_int("postgres", WAIT_MS, 1, "SELECT count(*) FROM "
	    "pg_locks WHERE locktype = 'advisory' AND granted AND pid NOT IN "
	    "(SELECT backend_pid FROM nwd.instance_holders WHERE instance = "
	    "'nwdd-away')");
	assert_true(harness_wait_log_after(current, mark, "store: instance "
	    "nwdd-away is locked by another database session", WAIT_MS));
	rows = harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE instance = 'nwdd-away'");

	/* Nothing is written under the name meanwhile. */
	st = fixture_publish_kind(c, NWD__V1__KIND__ALLOCATION, "YP-902",
	    NULL, mid, err, sizeof(err));
	assert_int_equal(st, NWD_ERR_UNAVAILABLE);
	mark = harness_log_mark(current);
	assert_true(harness_wait_log_after(current, mark, "store: instance "
	    "nwdd-away is locked by another database session", WAIT_MS));
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE instance = 'nwdd-away'"), rows);
	assert_int_equal(waitpid(harness_daemon_pid(current), NULL, WNOHANG),
	    0);

	/* The lock is free again: the daemon serves, as before. */
	mark = harness_log_mark(current);
	psql_close(&p);
	assert_true(harness_wait_log_after(current, mark, "store: state=ready",
	    WAIT_MS));
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.instance_holders WHERE instance = 'nwdd-away' AND pid = %d",
	    (int)harness_daemon_pid(current)), 1);
	nwd_close(c);
	c = harness_connect_as("case-system");
	st = fixture_publish_kind(c, NWD__V1__KIND__ALLOCATION, "YP-902",
	    NULL, mid, err, sizeof(err));
	assert_int_equal(st, NWD_OK);
	nwd_close(c);
	assert_int_equal(harness_daemon_stop(current), 0);
	current = NULL;
	fixture_verify_chains("nwdd-away", NULL);
}

/*
 * 3. The primary killed and the synchronous standby promoted under load:
 * two publishers and a durable subscriber connected through libnwd; the
 * daemon goes on without a restart, on the new primary.
 */
static void
test_primary_promoted_mid_load(void **state)
{
	struct nwd_client	*c;
	Nwd__V1__Deliver	*dv;
	enum nwd_status		 st;
	char			 extra[1024], mid[40], err[256];
	char			 pub[2][512], sub[512], drain[600];
	char			**got;
	size_t			 mark, acked[2], ngot, before[2];
	pid_t			 pubs[2], subpid, pid;
	FILE			*fp;
	int			 port, i, dup;
	int64_t			 t0, t1, t2;

	(void)state;
	assert_int_equal(harness_pg_standby_start(), 0);
	snprintf(extra, sizeof(extra), "instance = nwdd-failover\n"
	    "checkpoint_rows = 50\n"
	    "db_reconnect_max = 1\n"
	    "database = %s\n", harness_pg_multihost("nwd_daemon"));
	current = harness_daemon_start(extra);
	assert_non_null(current);
	pid = harness_daemon_pid(current);
	port = harness_daemon_port(current);

	c = harness_connect_as("case-system");
	for (i = 0; i < 2; i++) {
		st = fixture_publish_kind(c, NWD__V1__KIND__ALLOCATION,
		    feed_subjects[i], NULL, mid, err, sizeof(err));
		assert_int_equal(st, NWD_OK);
	}
	nwd_close(c);
	/* The durable subscription exists before the first publish. */
	c = feed_connect(port, "failover-feed", 5000);
	assert_non_null(c);
	nwd_close(c);

	snprintf(sub, sizeof(sub), "%s/got", getenv("NWD_TEST_TMP"));
	subpid = start_subscriber(port, "failover-feed", sub);
	for (i = 0; i < 2; i++) {
		snprintf(pub[i], sizeof(pub[i]), "%s/acked-%d",
		    getenv("NWD_TEST_TMP"), i);
		pubs[i] = fixture_load_start(port, feed_subjects[i],
		    "failover test", pub[i], MAX_ACKED, 1);
	}
	for (i = 0; i < 2; i++)
		fixture_wait_lines(pub[i], 100, WAIT_MS);
	fixture_wait_lines(sub, 100, WAIT_MS);

	/* The primary dies; the standby is promoted. */
	mark = harness_log_mark(current);
	t0 = harness_mono_ms();
	assert_int_equal(harness_pg_kill(), 0);
	assert_true(harness_wait_log_after(current, mark,
	    "store: database unavailable", WAIT_MS));
	for (i = 0; i < 2; i++)
		before[i] = fixture_count_lines(pub[i]);
	assert_int_equal(harness_pg_promote(), 0);
	t1 = harness_mono_ms();
	assert_true(harness_wait_log_after(current, mark, "store: state=ready",
	    30000));
	t2 = harness_mono_ms();
	/* The same process, on the new primary, with its lock there. */
	assert_int_equal(harness_daemon_pid(current), pid);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.instance_holders h JOIN pg_locks l ON l.pid = h.backend_pid "
	    "AND l.locktype = 'advisory' AND l.granted WHERE h.instance = "
	    "'nwdd-failover' AND h.pid = %d", (int)pid), 1);
	assert_int_equal(harness_sql_int("postgres", "SELECT "
	    "pg_is_in_recovery()::int"), 0);

	/* The load goes on there. */
	for (i = 0; i < 2; i++)
		fixture_wait_lines(pub[i], before[i] + 100, WAIT_MS);
	for (i = 0; i < 2; i++)
		fixture_stop_child(pubs[i], pub[i]);
	for (i = 0; i < 2; i++)
		acked[i] = fixture_check_published_once(pub[i]);

	/*
	 * The subscriber has had what was published up to now, or gets the
	 * rest of its queue at its next connect: it stops, and the test
	 * drains the queue, appending to what it received.
	 */
	fixture_stop_child(subpid, sub);
	snprintf(drain, sizeof(drain), "%s", sub);
	fp = fopen(drain, "a");
	assert_non_null(fp);
	c = feed_connect(port, "failover-feed", 5000);
	assert_non_null(c);
	for (;;) {
		dv = NULL;
		st = nwd_next_delivery(c, 2000, &dv, err, sizeof(err));
		if (st != NWD_OK)
			break;
		fprintf(fp, "%s\n", dv->envelope->header->message_id);
		assert_int_equal(nwd_ack(c, dv->delivery_id,
		    dv->envelope->header->message_id, err, sizeof(err)),
		    NWD_OK);
		nwd_deliver_free(dv);
	}
	assert_int_equal(st, NWD_ERR_TIMEOUT);
	nwd_close(c);
	fclose(fp);

	got = fixture_read_lines(sub, &ngot);
	for (i = 0; i < 2; i++)
		check_received_in_order(pub[i], got, ngot);
	dup = (int)ngot - (int)(acked[0] + acked[1]);
	fixture_free_lines(got, ngot);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) - "
	    "count(DISTINCT (instance, seq)) FROM nwd.audit_events"), 0);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) - "
	    "count(DISTINCT id) FROM nwd.messages"), 0);
	print_message("primary killed, standby promoted mid-load: %zu + %zu "
	    "publishes acknowledged, all with their rows on the new primary; "
	    "the durable subscriber received every one in order (%d "
	    "delivered again after an acknowledgement the old primary "
	    "lost); kill to promoted %" PRId64 " ms, promoted to serving "
	    "%" PRId64 " ms\n", acked[0], acked[1], dup, t1 - t0, t2 - t1);
	assert_int_equal(harness_daemon_stop(current), 0);
	current = NULL;
	fixture_verify_chains("nwdd-failover", NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_instance_in_use, teardown),
		cmocka_unit_test_teardown(test_lock_taken_while_away,
		    teardown),
		/* Last: from here on the standby is the primary. */
		cmocka_unit_test_teardown(test_primary_promoted_mid_load,
		    teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("failover", tests, NULL, NULL);
}
