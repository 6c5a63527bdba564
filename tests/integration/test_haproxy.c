/*
 * HAProxy in front of two nwdd on one PostgreSQL (issue 20), with a real
 * haproxy started from deploy/haproxy.cfg on loopback ports: its defaults
 * and its health check (GET /healthz on each instance's metrics_listen
 * port) as the example has them, the bind address, the server lines and
 * the process settings replaced.
 *
 * Clients connect through HAProxy, mutual TLS end to end: a libnwd
 * publisher, reconnecting, and "nwd sub --durable" (which reconnects by
 * default).  The instance holding the subscriber's session is killed with
 * SIGKILL under load; HAProxy marks it down (read from its stats socket),
 * the clients reconnect through HAProxy to the other instance, every
 * acknowledged publish has its audit rows, the durable subscriber gets its
 * whole queue in the publisher's order, and every chain verifies.
 *
 * Live delivery from one instance to a session on another is not relied
 * on: killing the subscriber's instance sends the subscriber to the
 * instance that survives, whose durable replay reads its queue from the
 * database.  Skipped (77) without haproxy.
 */
#include <sys/socket.h>
#include <sys/un.h>
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

#define WAIT_MS		20000
#define MAX_ACKED	20000
#define SUBJECT		"YP-811"

static struct harness_daemon	*inst[2];
static int			 inst_port[2], inst_metrics[2];
static pid_t			 haproxy_pid = -1;
static int			 haproxy_port;
static char			 haproxy_sock[100];
static struct harness_child	*sub;

static const char *
haproxy_path(void)
{
	static const char *const paths[] = { "/usr/sbin/haproxy",
	    "/usr/local/sbin/haproxy", "/usr/bin/haproxy", NULL };
	int i;

	for (i = 0; paths[i] != NULL; i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

static int
teardown(void **state)
{
	int i;

	(void)state;
	if (sub != NULL) {
		kill(harness_child_pid(sub), SIGTERM);
		harness_child_free(sub);
		sub = NULL;
	}
	if (haproxy_pid > 0) {
		kill(haproxy_pid, SIGTERM);
		waitpid(haproxy_pid, NULL, 0);
		haproxy_pid = -1;
	}
	for (i = 0; i < 2; i++) {
		if (inst[i] != NULL)
			harness_daemon_stop(inst[i]);
		inst[i] = NULL;
	}
	return 0;
}

/* A port that neither harness_free_port() nor we gave out already. */
static int
fresh_port(const int *used, size_t n)
{
	size_t	i;
	int	p;

	for (;;) {
		p = harness_free_port();
		for (i = 0; i < n; i++)
			if (used[i] == p)
				break;
		if (i == n)
			return p;
	}
}

/*
 * Writes path from the example deploy/haproxy.cfg: comments dropped; of
 * "global", maxconn only (lowered to 1000), plus a stats socket in the
 * test's directory; the
 * frontend's bind on 127.0.0.1:haproxy_port; the backend's server lines
 * replaced, one per instance (its TLS port, its metrics port for the
 * check); everything else as the example has it.
 */
static void
write_haproxy_cfg(const char *path)
{
	char	 src[600], line[1024], *p;
	FILE	*in, *out;
	int	 section = 0, nserver = 0;	/* 1 global, 2 other */

	snprintf(src, sizeof(src), "%s/deploy/haproxy.cfg",
	    getenv("NWD_SRCDIR"));
	in = fopen(src, "r");
	if (in == NULL)
		fail_msg("cannot read %s: %s", src, strerror(errno));
	out = fopen(path, "w");
	assert_non_null(out);
	while (fgets(line, sizeof(line), in) != NULL) {
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '#' || *p == '\n' || *p == '\0')
			continue;
		if (p == line) {
			section = strncmp(line, "global", 6) == 0 ? 1 : 2;
			fputs(line, out);
			if (section == 1)
				fprintf(out, "\tstats socket %s level admin\n",
				    haproxy_sock);
			continue;
		}
		if (section == 1) {
			/* Two descriptors a connection: within our limit. */
			if (strncmp(p, "maxconn", 7) == 0)
				fprintf(out, "\tmaxconn 1000\n");
			continue;
		}
		if (strncmp(p, "bind ", 5) == 0) {
			fprintf(out, "\tbind 127.0.0.1:%d\n", haproxy_port);
			continue;
		}
		if (strncmp(p, "server ", 7) == 0) {
			if (nserver < 2)
				fprintf(out, "\tserver nwdd-%d 127.0.0.1:%d "
				    "check port %d\n", nserver + 1,
				    inst_port[nserver], inst_metrics[nserver]);
			nserver++;
			continue;
		}
		fputs(line, out);
	}
	fclose(in);
	assert_int_equal(fclose(out), 0);
	if (nserver < 2)
		fail_msg("%s has %d server lines, not 2 or more", src, nserver);
}

/* Starts haproxy -db (in the foreground) on the configuration at path. */
static void
start_haproxy(const char *path, const char *log)
{
	int fd;

	haproxy_pid = fork();
	assert_true(haproxy_pid >= 0);
	if (haproxy_pid == 0) {
		if ((fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600)) !=
		    -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(haproxy_path(), "haproxy", "-db", "-f", path,
		    (char *)NULL);
		_exit(127);
	}
}

/* Fails the test, with haproxy's log, if haproxy has exited. */
static void
haproxy_alive(void)
{
	char	path[600], buf[4096];
	FILE	*fp;
	size_t	n = 0;
	int	status;

	if (haproxy_pid <= 0 || waitpid(haproxy_pid, &status, WNOHANG) !=
	    haproxy_pid)
		return;
	haproxy_pid = -1;
	snprintf(path, sizeof(path), "%s/haproxy.log", getenv("NWD_TEST_TMP"));
	if ((fp = fopen(path, "r")) != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, fp);
		fclose(fp);
	}
	buf[n] = '\0';
	fail_msg("haproxy exited (status %d):\n%s", status, buf);
}

/*
 * "show stat" on the stats socket, into buf; 0, or -1 if the socket does
 * not answer (yet).
 */
static int
haproxy_stats(char *buf, size_t len)
{
	struct sockaddr_un	 sa;
	size_t			 n = 0;
	ssize_t			 r;
	int			 fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", haproxy_sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    write(fd, "show stat\n", 10) != 10) {
		close(fd);
		return -1;
	}
	while (n + 1 < len && (r = read(fd, buf + n, len - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	close(fd);
	return 0;
}

/*
 * Field idx (0-based) of server name's line of backend nwdd in the stats
 * in buf, into out; 0, or -1 if absent.
 */
static int
stat_field(const char *buf, const char *name, int idx, char *out,
    size_t outlen)
{
	char		 prefix[64];
	const char	*l, *e;
	int		 i;

	snprintf(prefix, sizeof(prefix), "nwdd,%s,", name);
	for (l = buf; l != NULL && *l != '\0'; l = strchr(l, '\n') ?
	    strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, prefix, strlen(prefix)) != 0)
			continue;
		for (i = 0; i < idx && l != NULL; i++)
			l = strchr(l, ',') ? strchr(l, ',') + 1 : NULL;
		if (l == NULL)
			return -1;
		e = l + strcspn(l, ",\n");
		snprintf(out, outlen, "%.*s", (int)(e - l), l);
		return 0;
	}
	return -1;
}

#define STAT_SCUR	4	/* current sessions */
#define STAT_STATUS	17	/* UP, DOWN, ... */

/* Waits until server name's status starts with want (UP, DOWN). */
static void
wait_status(const char *name, const char *want)
{
	char	buf[16384], st[64] = "";
	int	waited;

	for (waited = 0; waited < WAIT_MS; waited += 20) {
		haproxy_alive();
		if (haproxy_stats(buf, sizeof(buf)) == 0 &&
		    stat_field(buf, name, STAT_STATUS, st, sizeof(st)) == 0 &&
		    strncmp(st, want, strlen(want)) == 0)
			return;
		poll(NULL, 0, 20);
	}
	fail_msg("HAProxy did not report %s %s (last: \"%s\")", name, want,
	    st);
}

/* Waits until one server holds exactly one session; returns its index. */
static int
wait_one_session(void)
{
	char	buf[16384], a[16], b[16];
	int	waited;

	for (waited = 0; waited < WAIT_MS; waited += 20) {
		if (haproxy_stats(buf, sizeof(buf)) == 0 &&
		    stat_field(buf, "nwdd-1", STAT_SCUR, a, sizeof(a)) == 0 &&
		    stat_field(buf, "nwdd-2", STAT_SCUR, b, sizeof(b)) == 0) {
			if (atoi(a) + atoi(b) == 1)
				return atoi(a) == 1 ? 0 : 1;
		}
		poll(NULL, 0, 20);
	}
	fail_msg("HAProxy never showed the subscriber's one session");
	return -1;
}

/*
 * The acknowledged publishes of the publisher that wrote path: each has
 * its publish row; the durable subscriber (whose stdout is out) printed
 * each, the first time in the publisher's order.  Returns how many, and in
 * *ninst on how many instances its publish rows are.
 */
static size_t
check_publisher(const char *path, const char *out, int *ninst)
{
	char		**acked;
	const char	 *q;
	size_t		  nacked, i, j, last = 0;

	fixture_check_published_once(path);
	acked = fixture_read_lines(path, &nacked);
	*ninst = 0;
	for (i = 0; i < nacked; i++) {
		if ((q = strstr(out, acked[i])) == NULL)
			fail_msg("acknowledged message %s (%zu of %zu in %s) "
			    "never reached the durable subscriber", acked[i],
			    i + 1, nacked, path);
		j = (size_t)(q - out);
		if (i > 0 && j < last)
			fail_msg("message %s reached the durable subscriber "
			    "before %s, published earlier", acked[i],
			    acked[i - 1]);
		last = j;
	}
	if (nacked > 0)
		*ninst = harness_sql_int("postgres", "SELECT count(DISTINCT "
		    "instance) FROM nwd.audit_events WHERE action = 'publish' "
		    "AND message_id IN ('%s', '%s')", acked[0],
		    acked[nacked - 1]);
	fixture_free_lines(acked, nacked);
	return nacked;
}

#define NPUB	3

static void
test_kill_behind_haproxy(void **state)
{
	struct nwd_client	*c;
	Nwd__V1__Kind		 k = NWD__V1__KIND__RISK_ALERT;
	const char		*subjects[1] = { SUBJECT };
	enum nwd_status		 st;
	const char		*tmp = getenv("NWD_TEST_TMP"), *out, *q;
	char			 extra[2][512], cfg[600], log[600];
	char			 path[NPUB][600], lastid[NPUB][64];
	char			 mid[40], err[256], name[16];
	size_t			 before[NPUB], n, total = 0, i;
	uint64_t		 id;
	pid_t			 pub[NPUB];
	int			 used[5], victim, ngot, ninst, moved = 0;
	int64_t			 t0, t1;
	FILE			*fp;

	(void)state;
	for (i = 0; i < 2; i++) {
		used[2 * i] = inst_port[i] = fresh_port(used, 2 * i);
		used[2 * i + 1] = inst_metrics[i] = fresh_port(used,
		    2 * i + 1);
	}
	haproxy_port = fresh_port(used, 4);
	if ((size_t)snprintf(haproxy_sock, sizeof(haproxy_sock),
	    "%s/haproxy.sock", tmp) >= sizeof(haproxy_sock))
		fail_msg("%s is too long for a socket path", tmp);

	/*
	 * The first instance alone: the allocation and the durable
	 * subscription exist before the second starts, so that both load
	 * them at connect (telling the other instance of a change is issue
	 * 20's cross-instance work, not relied on here).
	 */
	snprintf(extra[0], sizeof(extra[0]), "instance = nwdd-ha-1\n"
	    "listen = 127.0.0.1:%d\nmetrics_listen = 127.0.0.1:%d\n",
	    inst_port[0], inst_metrics[0]);
	assert_non_null(inst[0] = harness_daemon_start(extra[0]));
	c = harness_connect_as("case-system");
	st = fixture_publish_kind(c, NWD__V1__KIND__ALLOCATION, SUBJECT, NULL,
	    mid, err, sizeof(err));
	assert_int_equal(st, NWD_OK);
	nwd_close(c);
	c = harness_connect_as("hubsys-norwich");
	assert_int_equal(nwd_subscribe(c, &k, 1, subjects, 1, "ha-feed", &id,
	    err, sizeof(err)), NWD_OK);
	nwd_close(c);
	snprintf(extra[1], sizeof(extra[1]), "instance = nwdd-ha-2\n"
	    "listen = 127.0.0.1:%d\nmetrics_listen = 127.0.0.1:%d\n"
	    "state_directory = %s/state-2\n", inst_port[1], inst_metrics[1],
	    tmp);
	assert_non_null(inst[1] = harness_daemon_start(extra[1]));

	snprintf(cfg, sizeof(cfg), "%s/haproxy.cfg", tmp);
	snprintf(log, sizeof(log), "%s/haproxy.log", tmp);
	write_haproxy_cfg(cfg);
	start_haproxy(cfg, log);
	wait_status("nwdd-1", "UP");
	wait_status("nwdd-2", "UP");

	/* The subscriber, through HAProxy; then the instance it reached. */
	sub = harness_nwd_spawn("hubsys-norwich", "--server 127.0.0.1:%d sub "
	    "--durable ha-feed --kind risk_alert --subject " SUBJECT,
	    haproxy_port);
	assert_non_null(sub);
	if (!harness_child_wait_line(sub, 2, "nwd: subscribed", WAIT_MS,
	    NULL, 0))
		fail_msg("nwd sub: %s", harness_child_output(sub, 2));
	victim = wait_one_session();

	/*
	 * Three publishers, each connected before the next starts: with
	 * leastconn the subscriber's instance gets one of them, the other
	 * instance two.  Publishing there reaches the subscriber live; the
	 * other two queue for it in the database.
	 */
	for (i = 0; i < NPUB; i++) {
		snprintf(path[i], sizeof(path[i]), "%s/acked-%zu", tmp, i);
		pub[i] = fixture_load_start(haproxy_port, SUBJECT,
		    "haproxy test", path[i], MAX_ACKED, 0);
		fixture_wait_lines(path[i], 1, WAIT_MS);
	}
	for (i = 0; i < NPUB; i++)
		fixture_wait_lines(path[i], 100, WAIT_MS);

	/* SIGKILL the subscriber's instance; HAProxy marks it down. */
	t0 = harness_mono_ms();
	assert_int_equal(harness_daemon_signal(inst[victim], SIGKILL), 0);
	harness_daemon_stop(inst[victim]);
	inst[victim] = NULL;
	snprintf(name, sizeof(name), "nwdd-%d", victim + 1);
	wait_status(name, "DOWN");
	t1 = harness_mono_ms();
	for (i = 0; i < NPUB; i++)
		before[i] = fixture_count_lines(path[i]);
	for (i = 0; i < NPUB; i++)
		fixture_wait_lines(path[i], before[i] + 100, WAIT_MS);
	for (i = 0; i < NPUB; i++)
		fixture_stop_child(pub[i], path[i]);

	/*
	 * The subscriber, back through HAProxy on the survivor, gets its
	 * whole queue: each publisher's last acknowledged message comes,
	 * and everything before it, in order.
	 */
	for (i = 0; i < NPUB; i++) {
		lastid[i][0] = '\0';
		if ((fp = fopen(path[i], "r")) != NULL) {
			while (fgets(lastid[i], sizeof(lastid[i]), fp) != NULL)
				;
			fclose(fp);
		}
		lastid[i][strcspn(lastid[i], "\n")] = '\0';
		if (strstr(harness_child_output(sub, 1), lastid[i]) == NULL &&
		    !harness_child_wait_line(sub, 1, lastid[i], WAIT_MS, NULL,
		    0))
			fail_msg("the durable subscriber never got %s, the "
			    "last acknowledged message of %s; its stderr: %s",
			    lastid[i], path[i], harness_child_output(sub, 2));
	}
	out = harness_child_output(sub, 1);
	for (i = 0; i < NPUB; i++) {
		n = check_publisher(path[i], out, &ninst);
		total += n;
		if (ninst == 2)
			moved++;
	}
	for (ngot = 0, q = out; (q = strstr(q, "\"message_id\"")) != NULL;
	    q++)
		ngot++;
	/* Both clients of the killed instance went through a reconnect. */
	if (strstr(harness_child_output(sub, 2), "reconnect attempt") == NULL)
		fail_msg("nwd sub did not reconnect: %s",
		    harness_child_output(sub, 2));
	assert_int_equal(moved, 1);
	print_message("nwdd-%d killed behind HAProxy mid-load: %zu publishes "
	    "acknowledged by %d publishers (one moved to the survivor), all "
	    "with their rows; nwd sub --durable, reconnected through "
	    "HAProxy, printed all of them in each publisher's order (%d "
	    "lines, %d again after an acknowledgement lost with the "
	    "instance); HAProxy marked it down %" PRId64 " ms after the "
	    "kill\n", victim + 1, total, NPUB, ngot, ngot - (int)total,
	    t1 - t0);

	kill(harness_child_pid(sub), SIGTERM);
	harness_child_free(sub);
	sub = NULL;

	/* Started again (as systemd would), it is marked up again. */
	assert_non_null(inst[victim] = harness_daemon_start(extra[victim]));
	wait_status(name, "UP");
	kill(haproxy_pid, SIGTERM);
	waitpid(haproxy_pid, NULL, 0);
	haproxy_pid = -1;
	for (i = 0; i < 2; i++) {
		assert_int_equal(harness_daemon_stop(inst[i]), 0);
		inst[i] = NULL;
	}
	fixture_verify_chains("nwdd-ha-1", "nwdd-ha-2", NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_kill_behind_haproxy, teardown),
	};

	if (haproxy_path() == NULL) {
		fprintf(stderr, "test_haproxy: skipped: haproxy is not "
		    "installed (apt-get install haproxy)\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("haproxy", tests, NULL, NULL);
}
