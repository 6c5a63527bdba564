/*
 * nwdd as a systemd service, against a real PostgreSQL and a real nwdd:
 * the test plays systemd's part through a $NOTIFY_SOCKET it creates and
 * reads itself (a path socket and an abstract one), with SO_PASSCRED so
 * that every datagram is known to come from nwdd's own pid.
 *
 * - Readiness: READY=1 comes only once the database is up.  Started with
 *   PostgreSQL stopped, nwdd retries (the log says so, twice), pings the
 *   watchdog and says STATUS=waiting for the database, and sends no READY;
 *   PostgreSQL started, READY=1 follows.  SIGTERM sends STOPPING=1.
 * - Watchdog: WATCHDOG=1 arrives every WATCHDOG_USEC/2; an exclusive lock
 *   on nwd.audit_events taken from another connection stalls a publish's
 *   transaction, and past db_stall_timeout the pings stop (and the publish
 *   stays unacknowledged); the lock released, the pings resume and the
 *   publish is acknowledged.
 * - Reload: SIGHUP sends RELOADING=1 (with MONOTONIC_USEC) then READY=1;
 *   a broken policy is refused and READY=1 still follows, saying so.
 * - Drain: under a live publishing load SIGTERM makes every client get a
 *   Goodbye (libnwd: "the broker is shutting down: ..."), nwdd exits 0
 *   within drain_timeout, and every acknowledged publish has its audit row.
 * - Privileges (as root): with "user = nobody" nwdd serves with every uid
 *   and gid of /proc/PID/status switched and no other groups; root
 *   without "user" is refused; a key file others can read and a
 *   world-readable configuration are refused naming the file; a key given
 *   as credential:NAME is read from $CREDENTIALS_DIRECTORY.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
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
#define NLOADS		3
#define DRAIN_TIMEOUT_S	5

/* The daemon of the running test, stopped by teardown if a test fails. */
static struct harness_daemon *current;

/* ---- the notification socket: systemd's side ------------------------------ */

/*
 * A thread receives every datagram as it comes (the socket's queue is
 * short: net.unix.max_dgram_qlen) and keeps it, with its sender's pid from
 * SCM_CREDENTIALS, in notes[], guarded by mtx; cond is signalled on each.
 */
struct note {
	int64_t	 at_ms;
	pid_t	 pid;
	char	 text[1024];
};

struct notifier {
	int		 fd;
	char		 name[108];	/* "@abstract" or a path */
	int		 wake[2];	/* a pipe: stops the thread */
	pthread_t	 thread;
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cond;		/* on CLOCK_MONOTONIC */
	struct note	*notes;
	size_t		 n, cap;
	uint64_t	 syncs;		/* sync markers received */
};

static struct notifier *notifier;	/* of the running test */

#define SYNC_PREFIX	"X-NWD-TEST-SYNC="

static void *
notifier_run(void *arg)
{
	struct notifier	*n = arg;
	struct pollfd	 pfd[2];
	struct msghdr	 mh;
	struct iovec	 iov;
	struct cmsghdr	*cm;
	struct ucred	 cred;
	union {
		char		buf[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr	align;
	}		 ctl;
	struct note	 nt;
	ssize_t		 r;

	for (;;) {
		pfd[0].fd = n->fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = n->wake[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		if (pfd[1].revents != 0)
			return NULL;
		memset(&nt, 0, sizeof(nt));
		iov.iov_base = nt.text;
		iov.iov_len = sizeof(nt.text) - 1;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		if ((r = recvmsg(n->fd, &mh, MSG_DONTWAIT)) < 0)
			continue;
		nt.text[r] = '\0';
		nt.at_ms = harness_mono_ms();
		nt.pid = -1;
		for (cm = CMSG_FIRSTHDR(&mh); cm != NULL;
		    cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level == SOL_SOCKET &&
			    cm->cmsg_type == SCM_CREDENTIALS) {
				memcpy(&cred, CMSG_DATA(cm), sizeof(cred));
				nt.pid = cred.pid;
			}
		}
		pthread_mutex_lock(&n->mtx);
		if (strncmp(nt.text, SYNC_PREFIX, strlen(SYNC_PREFIX)) == 0)
			n->syncs++;
		else {
			if (n->n == n->cap) {
				n->cap = n->cap ? n->cap * 2 : 64;
				n->notes = realloc(n->notes,
				    n->cap * sizeof(*n->notes));
				if (n->notes == NULL)
					abort();
			}
			n->notes[n->n++] = nt;
		}
		pthread_cond_broadcast(&n->cond);
		pthread_mutex_unlock(&n->mtx);
	}
}

static struct notifier *
notifier_open(int abstract)
{
	struct notifier		*n;
	struct sockaddr_un	 sun;
	pthread_condattr_t	 ca;
	socklen_t		 len;
	int			 one = 1;
	static int		 seq;

	n = calloc(1, sizeof(*n));
	assert_non_null(n);
	seq++;
	if (abstract)
		snprintf(n->name, sizeof(n->name), "@nwd-test-service-%d-%d",
		    (int)getpid(), seq);
	else
		snprintf(n->name, sizeof(n->name), "%s/notify-%d",
		    getenv("NWD_TEST_TMP"), seq);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, n->name, strlen(n->name));
	len = offsetof(struct sockaddr_un, sun_path) + strlen(n->name);
	if (abstract)
		sun.sun_path[0] = '\0';
	else
		len++;
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(n->fd >= 0);
	assert_int_equal(setsockopt(n->fd, SOL_SOCKET, SO_PASSCRED, &one,
	    sizeof(one)), 0);
	if (bind(n->fd, (struct sockaddr *)&sun, len) == -1)
		fail_msg("bind %s: %s", n->name, strerror(errno));
	/* As systemd's socket: anyone may send (nwdd may not be root). */
	if (!abstract)
		assert_int_equal(chmod(n->name, 0777), 0);
	assert_int_equal(pipe2(n->wake, O_CLOEXEC), 0);
	pthread_mutex_init(&n->mtx, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&n->cond, &ca);
	pthread_condattr_destroy(&ca);
	assert_int_equal(pthread_create(&n->thread, NULL, notifier_run, n),
	    0);
	notifier = n;
	return n;
}

static void
notifier_close(struct notifier *n)
{
	if (n == NULL)
		return;
	if (write(n->wake[1], "x", 1) == 1)
		pthread_join(n->thread, NULL);
	close(n->wake[0]);
	close(n->wake[1]);
	close(n->fd);
	if (n->name[0] == '/')
		unlink(n->name);
	pthread_mutex_destroy(&n->mtx);
	pthread_cond_destroy(&n->cond);
	free(n->notes);
	free(n);
	if (notifier == n)
		notifier = NULL;
}

/* Waits on cond until deadline (ms, monotonic); mtx is held. */
static int
notifier_sleep(struct notifier *n, int64_t deadline)
{
	struct timespec	ts;

	ts.tv_sec = deadline / 1000;
	ts.tv_nsec = (deadline % 1000) * 1000000;
	return pthread_cond_timedwait(&n->cond, &n->mtx, &ts);
}

/*
 * Returns once every datagram sent to the socket before the call has been
 * received: a marker sent now comes after them (the queue is in order).
 */
static void
notifier_sync(struct notifier *n)
{
	struct sockaddr_un	sun;
	socklen_t		len;
	uint64_t		want;
	int64_t			deadline = harness_mono_ms() + WAIT_MS;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, n->name, strlen(n->name));
	len = offsetof(struct sockaddr_un, sun_path) + strlen(n->name) +
	    (n->name[0] == '@' ? 0 : 1);
	if (n->name[0] == '@')
		sun.sun_path[0] = '\0';
	pthread_mutex_lock(&n->mtx);
	want = n->syncs + 1;
	pthread_mutex_unlock(&n->mtx);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	/* Blocks while the queue is full, until the thread makes room. */
	assert_true(sendto(fd, SYNC_PREFIX "1", strlen(SYNC_PREFIX) + 1, 0,
	    (struct sockaddr *)&sun, len) > 0);
	close(fd);
	pthread_mutex_lock(&n->mtx);
	while (n->syncs < want && harness_mono_ms() < deadline)
		notifier_sleep(n, deadline);
	pthread_mutex_unlock(&n->mtx);
	assert_true(n->syncs >= want);
}

static size_t
notifier_len(struct notifier *n)
{
	size_t	len;

	pthread_mutex_lock(&n->mtx);
	len = n->n;
	pthread_mutex_unlock(&n->mtx);
	return len;
}

/* A copy of note i. */
static struct note
notifier_note(struct notifier *n, size_t i)
{
	struct note	nt;

	pthread_mutex_lock(&n->mtx);
	assert_true(i < n->n);
	nt = n->notes[i];
	pthread_mutex_unlock(&n->mtx);
	return nt;
}

/* 1 if the note has line (a whole "KEY=value" line, or "KEY=" prefix). */
static int
note_has(const struct note *nt, const char *line)
{
	const char	*p = nt->text, *nl;
	size_t		 len = strlen(line);

	while (*p != '\0') {
		nl = p + strcspn(p, "\n");
		if (line[len - 1] == '=' ? (size_t)(nl - p) >= len &&
		    memcmp(p, line, len) == 0 :
		    (size_t)(nl - p) == len && memcmp(p, line, len) == 0)
			return 1;
		p = *nl != '\0' ? nl + 1 : nl;
	}
	return 0;
}

/*
 * Waits up to ms for a note at index from or later that has line; returns
 * its index, or -1.
 */
static long
notifier_wait(struct notifier *n, size_t from, const char *line, int ms)
{
	int64_t	deadline = harness_mono_ms() + ms;
	size_t	i = from;
	long	found = -1;

	pthread_mutex_lock(&n->mtx);
	for (;;) {
		for (; i < n->n; i++) {
			if (note_has(&n->notes[i], line)) {
				found = (long)i;
				break;
			}
		}
		if (found >= 0 || harness_mono_ms() >= deadline)
			break;
		notifier_sleep(n, deadline);
	}
	pthread_mutex_unlock(&n->mtx);
	return found;
}

static size_t
notifier_count(struct notifier *n, size_t from, const char *line)
{
	size_t	i, c = 0;

	pthread_mutex_lock(&n->mtx);
	for (i = from; i < n->n; i++)
		c += note_has(&n->notes[i], line);
	pthread_mutex_unlock(&n->mtx);
	return c;
}

/* Waits up to ms for count WATCHDOG=1 pings from index from on. */
static int
wait_pings(struct notifier *n, size_t from, size_t count, int ms)
{
	int64_t	deadline = harness_mono_ms() + ms;
	size_t	i, c;

	pthread_mutex_lock(&n->mtx);
	for (;;) {
		for (i = from, c = 0; i < n->n; i++)
			c += note_has(&n->notes[i], "WATCHDOG=1");
		if (c >= count || harness_mono_ms() >= deadline)
			break;
		notifier_sleep(n, deadline);
	}
	pthread_mutex_unlock(&n->mtx);
	return c >= count;
}

/* Every note from index from on came from pid. */
static void
notifier_check_sender(struct notifier *n, size_t from, pid_t pid)
{
	struct note	nt;
	size_t		i, len = notifier_len(n);

	for (i = from; i < len; i++) {
		nt = notifier_note(n, i);
		if (nt.pid != pid)
			fail_msg("notification \"%s\" came from pid %d, not "
			    "nwdd (%d)", nt.text, (int)nt.pid, (int)pid);
	}
}

/* Puts the socket (and a watchdog of usec) in the environment for nwdd. */
static void
notifier_export(const struct notifier *n, unsigned long usec)
{
	char	buf[32];

	setenv("NOTIFY_SOCKET", n->name, 1);
	unsetenv("WATCHDOG_PID");
	if (usec > 0) {
		snprintf(buf, sizeof(buf), "%lu", usec);
		setenv("WATCHDOG_USEC", buf, 1);
	} else
		unsetenv("WATCHDOG_USEC");
}

static void
notifier_unexport(void)
{
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
}

/*
 * Starts nwdd (spawn: without waiting for its READY) with the socket, and
 * a watchdog of usec (0: none), in its environment alone: PostgreSQL,
 * which the tests start too, speaks sd_notify as well.
 */
static struct harness_daemon *
start_notified(struct notifier *n, unsigned long usec, const char *extra,
    int spawn)
{
	struct harness_daemon	*d;

	notifier_export(n, usec);
	d = spawn ? harness_daemon_spawn(extra) : harness_daemon_start(extra);
	notifier_unexport();
	return d;
}

/* ---- fixtures ------------------------------------------------------------- */

/* A lock holder: psql keeping an exclusive lock on nwd.audit_events. */
static struct harness_lock *locker;
static int	pg_down;	/* the test stopped PostgreSQL */

static int
teardown(void **state)
{
	harness_lock_abort(locker);
	locker = NULL;
	if (current != NULL)
		harness_daemon_stop(current);
	current = NULL;
	if (pg_down && harness_pg_start() == 0)
		pg_down = 0;
	notifier_close(notifier);
	notifier_unexport();
	return 0;
}

/* Reads a whole small file; NULL if it cannot. */
static char *
slurp(const char *path)
{
	FILE	*fp = fopen(path, "r");
	char	*buf;
	size_t	 n;

	if (fp == NULL)
		return NULL;
	buf = calloc(1, 65536);
	assert_non_null(buf);
	n = fread(buf, 1, 65535, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* ---- readiness ------------------------------------------------------------ */

static void
test_ready_after_database(void **state)
{
	struct harness_daemon	*d;
	struct notifier		*n;
	struct note		 nt;
	size_t			 mark, i;
	long			 ready;
	int64_t			 up;
	pid_t			 pid;

	n = notifier_open(1);

	/* An ordinary start: READY=1 and the ready fd agree. */
	current = d = start_notified(n, 1000000, NULL, 0);
	assert_non_null(d);
	assert_true(notifier_wait(n, 0, "READY=1", WAIT_MS) >= 0);
	notifier_check_sender(n, 0, harness_daemon_pid(d));
	mark = notifier_len(n);
	assert_int_equal(harness_daemon_stop(d), 0);
	current = NULL;
	assert_true(notifier_wait(n, mark, "STOPPING=1", WAIT_MS) >= 0);

	/* Started with the database down: it must wait. */
	assert_int_equal(harness_pg_stop(), 0);
	pg_down = 1;
	mark = notifier_len(n);
	current = d = start_notified(n, 1000000, "db_reconnect_max = 1\n", 1);
	assert_non_null(d);
	pid = harness_daemon_pid(d);
	assert_true(harness_wait_log(d, "store: database unavailable",
	    WAIT_MS));
	assert_true(harness_wait_log_after(d, harness_log_mark(d),
	    "store: database unavailable", WAIT_MS));
	/* The loop turns (the watchdog is pinged) and says why it waits. */
	assert_true(notifier_wait(n, mark, "WATCHDOG=1", WAIT_MS) >= 0);
	assert_true(notifier_wait(n, mark, "STATUS=waiting for the database "
	    "(TLS and policy loaded)", WAIT_MS) >= 0);
	notifier_sync(n);
	assert_int_equal(notifier_count(n, mark, "READY=1"), 0);
	assert_false(harness_log_contains(d, "event=ready "));

	/* The database comes up: READY=1, once, from nwdd itself. */
	i = notifier_len(n);
	assert_int_equal(harness_pg_start(), 0);
	pg_down = 0;
	up = harness_mono_ms();
	ready = notifier_wait(n, i, "READY=1", WAIT_MS);
	assert_true(ready >= 0);
	nt = notifier_note(n, (size_t)ready);
	if (strstr(nt.text, "\nSTATUS=serving on ") == NULL)
		fail_msg("READY=1 without STATUS=serving: \"%s\"", nt.text);
	assert_true(harness_wait_log(d, "event=ready ", WAIT_MS));
	notifier_check_sender(n, mark, pid);
	/* It serves: a publish goes through to the database. */
	fixture_allocate("YP-SVC-1", "hub:norwich", 0);
	notifier_sync(n);
	assert_int_equal(notifier_count(n, mark, "READY=1"), 1);
	print_message("READY=1 %lld ms after PostgreSQL was up; %zu "
	    "watchdog pings while it was down\n", (long long)
	    (nt.at_ms - up), notifier_count(n, mark, "WATCHDOG=1"));
	assert_int_equal(harness_daemon_stop(d), 0);
	current = NULL;
}

/* ---- the watchdog --------------------------------------------------------- */

static void
test_watchdog_stops_on_stall(void **state)
{
	struct harness_daemon	*d;
	struct notifier		*n;
	struct note		 nt;
	size_t			 mark, i, pings;
	int64_t			 gap, maxgap = 0, t0;
	long			 at;
	pid_t			 pub;
	int			 status, pfd[2];
	char			 mid[40];

	n = notifier_open(0);
	/* Pings every 150 ms. */
	current = d = start_notified(n, 300000, "db_stall_timeout = 1\n", 0);
	assert_non_null(d);
	assert_true(notifier_wait(n, 0, "READY=1", WAIT_MS) >= 0);
	fixture_allocate("YP-SVC-2", "hub:norwich", 0);

	/* Periodic pings: five in a row, none further apart than 600 ms. */
	mark = notifier_len(n);
	assert_true(wait_pings(n, mark, 5, 3000));
	for (i = mark, t0 = -1; i < notifier_len(n); i++) {
		nt = notifier_note(n, i);
		if (!note_has(&nt, "WATCHDOG=1"))
			continue;
		if (t0 >= 0 && (gap = nt.at_ms - t0) > maxgap)
			maxgap = gap;
		t0 = nt.at_ms;
	}
	assert_true(maxgap <= 600);
	notifier_check_sender(n, 0, harness_daemon_pid(d));

	/* Stall the writer: a publish's transaction waits for the lock. */
	locker = harness_lock_table("nwd.audit_events");
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	pub = fork();
	assert_true(pub >= 0);
	if (pub == 0) {
		struct nwd_opts		 o = harness_client("plo-ana");
		struct nwd_client	*c;
		enum nwd_status		 st;
		char			 err[512];

		o.timeout_ms = 60000;
		if ((c = nwd_connect(&o, &st, err, sizeof(err))) == NULL)
			_exit(2);
		st = fixture_publish_kind(c, NWD__V1__KIND__RISK_ALERT,
		    "YP-SVC-2", "service test", mid, err, sizeof(err));
		if (st != NWD_OK)
			_exit(3);
		if (write(pfd[1], mid, 36) != 36)
			_exit(4);
		nwd_close(c);
		_exit(0);
	}
	close(pfd[1]);
	assert_true(harness_wait_log(d, "event=watchdog_withheld", WAIT_MS));
	/* Every ping sent before that line is here now; then: silence. */
	notifier_sync(n);
	mark = notifier_len(n);
	assert_int_equal(notifier_wait(n, mark, "WATCHDOG=1", 2000), -1);
	assert_true(notifier_count(n, 0, "STATUS=") > 0);
	assert_true(notifier_wait(n, 0, "STATUS=database stalled: a round "
	    "trip has taken over 1 s (db_stall_timeout); watchdog withheld",
	    0) >= 0);
	/* Audit first: nothing is acknowledged while the writer hangs. */
	assert_int_equal(waitpid(pub, &status, WNOHANG), 0);

	/* The stall ends: the publish commits, the pings resume. */
	mark = notifier_len(n);
	harness_unlock_table(locker);
	locker = NULL;
	at = notifier_wait(n, mark, "WATCHDOG=1", WAIT_MS);
	assert_true(at >= 0);
	assert_true(harness_wait_log(d, "event=watchdog_resumed", WAIT_MS));
	assert_int_equal(waitpid(pub, &status, 0), pub);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(read(pfd[0], mid, 36), 36);
	close(pfd[0]);
	mid[36] = '\0';
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = 'publish'",
	    mid), 1);
	mark = notifier_len(n);
	assert_true(wait_pings(n, mark, 3, 3000));
	pings = notifier_count(n, 0, "WATCHDOG=1");
	print_message("watchdog: %zu pings, max gap %lld ms before the stall, "
	    "none during it\n", pings, (long long)maxgap);
	notifier_check_sender(n, 0, harness_daemon_pid(d));
	assert_int_equal(harness_daemon_stop(d), 0);
	current = NULL;
}

/* ---- reload --------------------------------------------------------------- */

static void
copy_file(const char *from, const char *to)
{
	char	*text = slurp(from);
	FILE	*fp;

	assert_non_null(text);
	assert_non_null(fp = fopen(to, "w"));
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	free(text);
}

static void
test_reload_notifies(void **state)
{
	struct harness_daemon	*d;
	struct notifier		*n;
	struct note		 nt;
	char			 policy[1024], src[1024], extra[1200];
	long			 reloading, ready;
	size_t			 mark;
	FILE			*fp;

	snprintf(policy, sizeof(policy), "%s/policy-reload.nwd",
	    getenv("NWD_TEST_TMP"));
	snprintf(src, sizeof(src), "%s/deploy/policy.nwd",
	    getenv("NWD_SRCDIR"));
	copy_file(src, policy);
	snprintf(extra, sizeof(extra), "policy = %s\n", policy);

	n = notifier_open(1);
	current = d = start_notified(n, 0, extra, 0);
	assert_non_null(d);
	assert_true(notifier_wait(n, 0, "READY=1", WAIT_MS) >= 0);

	/* A good reload: RELOADING=1, then READY=1. */
	mark = notifier_len(n);
	assert_int_equal(harness_daemon_signal(d, SIGHUP), 0);
	reloading = notifier_wait(n, mark, "RELOADING=1", WAIT_MS);
	assert_true(reloading >= 0);
	nt = notifier_note(n, (size_t)reloading);
	assert_true(note_has(&nt, "MONOTONIC_USEC="));
	ready = notifier_wait(n, (size_t)reloading + 1, "READY=1", WAIT_MS);
	assert_true(ready > reloading);
	assert_true(harness_log_contains(d, "event=reload_done"));

	/* A broken policy: refused, the old one serves, READY=1 says so. */
	assert_non_null(fp = fopen(policy, "a"));
	fputs("\nthis is not a rule\n", fp);
	assert_int_equal(fclose(fp), 0);
	mark = notifier_len(n);
	assert_int_equal(harness_daemon_signal(d, SIGHUP), 0);
	reloading = notifier_wait(n, mark, "RELOADING=1", WAIT_MS);
	assert_true(reloading >= 0);
	ready = notifier_wait(n, (size_t)reloading + 1, "READY=1", WAIT_MS);
	assert_true(ready > reloading);
	nt = notifier_note(n, (size_t)ready);
	assert_non_null(strstr(nt.text, "STATUS=reload refused"));
	assert_true(harness_log_contains(d, "event=reload_refused"));
	notifier_check_sender(n, 0, harness_daemon_pid(d));
	assert_int_equal(harness_daemon_stop(d), 0);
	current = NULL;
}

/* ---- drain ---------------------------------------------------------------- */

/*
 * A publisher child: publishes RiskAlerts about subject as plo-ana on one
 * session, writing each acknowledged message id to path, until a publish
 * fails; then writes "ERR status: message" and exits 0.
 */
static pid_t
start_publisher(const char *subject, const char *path)
{
	pid_t	pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct nwd_opts		 o = harness_client("plo-ana");
		struct nwd_client	*c;
		enum nwd_status		 st;
		char			 mid[40], err[512];
		FILE			*fp = fopen(path, "w");

		if (fp == NULL)
			_exit(2);
		setvbuf(fp, NULL, _IOLBF, 0);
		if ((c = nwd_connect(&o, &st, err, sizeof(err))) == NULL) {
			fprintf(fp, "ERR connect %s: %s\n",
			    nwd_status_name(st), err);
			_exit(3);
		}
		while ((st = fixture_publish_kind(c,
		    NWD__V1__KIND__RISK_ALERT, subject, "service test", mid,
		    err, sizeof(err))) == NWD_OK)
			fprintf(fp, "%s\n", mid);
		fprintf(fp, "ERR %s: %s\n", nwd_status_name(st), err);
		nwd_close(c);
		fclose(fp);
		_exit(0);
	}
	return pid;
}

static size_t
acked_lines(const char *path)
{
	char	*text = slurp(path), *p;
	size_t	 n = 0;

	if (text == NULL)
		return 0;
	for (p = text; (p = strchr(p, '\n')) != NULL; p++)
		n++;
	if (strstr(text, "ERR ") != NULL)
		n--;
	free(text);
	return n;
}

static void
test_drain_under_load(void **state)
{
	struct harness_daemon	*d;
	struct notifier		*n;
	char			 path[NLOADS][512], extra[256], *text, *line;
	char			*save, *sql, *more;
	pid_t			 pub[NLOADS];
	size_t			 acked = 0, i;
	int64_t			 t0, took;
	int			 status, rc, rows;

	n = notifier_open(0);
	snprintf(extra, sizeof(extra), "drain_timeout = %d\n",
	    DRAIN_TIMEOUT_S);
	current = d = start_notified(n, 0, extra, 0);
	assert_non_null(d);
	fixture_allocate("YP-SVC-3", "hub:norwich", 0);
	for (i = 0; i < NLOADS; i++) {
		snprintf(path[i], sizeof(path[i]), "%s/drain-%zu",
		    getenv("NWD_TEST_TMP"), i);
		pub[i] = start_publisher("YP-SVC-3", path[i]);
	}
	/* The load runs: every publisher has been acknowledged often. */
	t0 = harness_mono_ms() + WAIT_MS;
	for (i = 0; i < NLOADS; i++) {
		while (acked_lines(path[i]) < 20) {
			if (harness_mono_ms() > t0)
				fail_msg("publisher %zu: %zu acks", i,
				    acked_lines(path[i]));
			poll(NULL, 0, 20);
		}
	}

	t0 = harness_mono_ms();
	assert_int_equal(harness_daemon_signal(d, SIGTERM), 0);
	rc = harness_daemon_wait_exit(d, (DRAIN_TIMEOUT_S + 10) * 1000);
	took = harness_mono_ms() - t0;
	assert_int_equal(rc, 0);
	assert_true(took < DRAIN_TIMEOUT_S * 1000);
	assert_true(harness_log_contains(d, "event=drained"));
	assert_false(harness_log_contains(d, "event=drain_timeout"));
	notifier_sync(n);
	assert_true(notifier_wait(n, 0, "STOPPING=1", 0) >= 0);
	notifier_check_sender(n, 0, harness_daemon_pid(d));
	harness_daemon_stop(d);
	current = NULL;

	/* Every client was told why, and every ack has its audit row. */
	sql = strdup("SELECT count(DISTINCT message_id) FROM nwd.audit_events "
	    "WHERE action = 'publish' AND message_id IN (");
	assert_non_null(sql);
	for (i = 0; i < NLOADS; i++) {
		assert_int_equal(waitpid(pub[i], &status, 0), pub[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		text = slurp(path[i]);
		assert_non_null(text);
		for (line = strtok_r(text, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save)) {
			if (strncmp(line, "ERR ", 4) == 0) {
				if (strstr(line, "ERR closed: the "
				    "broker is shutting down: ") == NULL ||
				    strstr(line, "is stopping") == NULL)
					fail_msg("publisher %zu ended with "
					    "\"%s\", not a Goodbye", i, line);
				continue;
			}
			assert_true(asprintf(&more, "%s%s'%s'", sql,
			    acked > 0 ? ", " : "", line) > 0);
			free(sql);
			sql = more;
			acked++;
		}
		free(text);
	}
	assert_true(acked >= NLOADS * 20);
	assert_true(asprintf(&more, "%s)", sql) > 0);
	free(sql);
	rows = harness_sql_int("postgres", "%s", more);
	if ((size_t)rows != acked)
		fail_msg("of %zu acknowledged publishes, %d have their audit "
		    "row", acked, rows);
	free(more);
	print_message("drain: %zu publishes acknowledged by %d publishers; "
	    "SIGTERM to exit 0 in %lld ms (drain_timeout %d s)\n", acked,
	    NLOADS, (long long)took, DRAIN_TIMEOUT_S);
}

/* ---- privileges and files ------------------------------------------------- */

/* "Uid:\t0\t0\t0\t0" and the like from /proc/PID/status. */
static void
proc_ids(pid_t pid, const char *key, char *out, size_t outlen)
{
	char	path[64], *text, *p, *nl;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	text = slurp(path);
	assert_non_null(text);
	p = strstr(text, key);
	if (p == NULL)
		fail_msg("%s has no %s", path, key);
	p += strlen(key);
	nl = p + strcspn(p, "\n");
	while (nl > p && (nl[-1] == ' ' || nl[-1] == '\t'))
		nl--;
	*nl = '\0';
	while (*p == '\t' || *p == ' ')
		p++;
	snprintf(out, outlen, "%s", p);
	free(text);
}

static void
test_runs_as_user(void **state)
{
	struct harness_daemon	*d;
	struct notifier		*n;
	struct passwd		*pw;
	char			 want[128], got[128], mid[40], err[512];
	struct nwd_client	*c;

	if (geteuid() != 0)
		skip();
	assert_non_null(pw = getpwnam("nobody"));
	n = notifier_open(0);
	current = d = start_notified(n, 1000000, "user = nobody\n", 0);
	assert_non_null(d);
	/* READY=1 and pings come from the process that dropped root. */
	assert_true(notifier_wait(n, 0, "READY=1", WAIT_MS) >= 0);
	assert_true(notifier_wait(n, 0, "WATCHDOG=1", WAIT_MS) >= 0);
	notifier_check_sender(n, 0, harness_daemon_pid(d));
	assert_true(harness_log_contains(d, "event=privileges_dropped "
	    "user=nobody"));

	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", pw->pw_uid, pw->pw_uid,
	    pw->pw_uid, pw->pw_uid);
	proc_ids(harness_daemon_pid(d), "\nUid:", got, sizeof(got));
	assert_string_equal(got, want);
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", pw->pw_gid, pw->pw_gid,
	    pw->pw_gid, pw->pw_gid);
	proc_ids(harness_daemon_pid(d), "\nGid:", got, sizeof(got));
	assert_string_equal(got, want);
	snprintf(want, sizeof(want), "%u", pw->pw_gid);
	proc_ids(harness_daemon_pid(d), "\nGroups:", got, sizeof(got));
	assert_string_equal(got, want);
	proc_ids(harness_daemon_pid(d), "\nCapEff:", got, sizeof(got));
	assert_string_equal(got, "0000000000000000");

	/* It still serves: a publish is audited and acknowledged. */
	fixture_allocate("YP-SVC-4", "hub:norwich", 0);
	c = harness_connect_as("plo-ana");
	if (fixture_publish_kind(c, NWD__V1__KIND__RISK_ALERT, "YP-SVC-4",
	    "service test", mid, err, sizeof(err)) != NWD_OK)
		fail_msg("publish as nobody's daemon: %s", err);
	nwd_close(c);
	assert_int_equal(harness_daemon_stop(d), 0);
	current = NULL;
}

/*
 * Runs nwdd with args (a shell word list) and env (may be ""), capturing
 * stdout and stderr in out.  Returns its exit status.
 */
static int
run_nwdd(const char *env, const char *args, char *out, size_t outlen)
{
	char	cmd[4096];
	FILE	*p;
	size_t	n;
	int	status;

	snprintf(cmd, sizeof(cmd), "%s %s/daemon/nwdd %s 2>&1 </dev/null",
	    env, getenv("NWD_BUILDDIR"), args);
	assert_non_null(p = popen(cmd, "r"));
	n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * A complete configuration in NWD_TEST_TMP with mode, the test PKI's
 * files except that tls_key is given, and extra lines.
 */
/* write_conf() names no calendar (the shipped policy then refuses). */
static int	no_calendar;

static void
write_conf(const char *path, mode_t mode, const char *tls_key,
    const char *extra)
{
	const char	*pki = getenv("NWD_TEST_PKI"), *src = getenv("NWD_SRCDIR");
	FILE		*fp;

	unlink(path);
	assert_non_null(fp = fopen(path, "w"));
	fprintf(fp, "listen = 127.0.0.1:1\n"
	    "tls_cert = %s/server.crt\ntls_key = %s\ntls_ca = %s/ca.crt\n"
	    "tls_crl = %s/ca.crl\nbody_key = %s/body.key\n"
	    "audit_signing_key = %s/audit-signing.key\n"
	    "principals = %s/deploy/principals.conf\n"
	    "policy = %s/deploy/policy.nwd\n"
	    "%s%s%s"
	    "database = host=127.0.0.1 port=%s dbname=nwd user=nwd_daemon\n"
	    "%s", pki, tls_key, pki, pki, pki, pki, src, src,
	    no_calendar ? "" : "calendar = ", no_calendar ? "" : src,
	    no_calendar ? "" : "/deploy/calendar.conf\n",
	    getenv("NWD_TEST_PGPORT"), extra);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void
copy_key(const char *from, const char *to, mode_t mode)
{
	unlink(to);
	copy_file(from, to);
	assert_int_equal(chmod(to, mode), 0);
}

static void
test_refusals(void **state)
{
	const char	*tmp = getenv("NWD_TEST_TMP");
	char		 conf[512], key[1024], creds[512], args[1200];
	char		 out[4096], env[600], want[1400];

	snprintf(conf, sizeof(conf), "%s/refusals.conf", tmp);
	snprintf(key, sizeof(key), "%s/server-copy.key", tmp);
	snprintf(args, sizeof(args), "--check-config -c %s", conf);

	/* The reference: all modes right, the check passes. */
	copy_key(harness_pki("server.key"), key, 0600);
	write_conf(conf, 0600, key, "");
	if (run_nwdd("", args, out, sizeof(out)) != 0)
		fail_msg("nwdd --check-config: %s", out);

	/* A TLS key others can read. */
	assert_int_equal(chmod(key, 0644), 0);
	assert_int_equal(run_nwdd("", args, out, sizeof(out)), 1);
	snprintf(want, sizeof(want), "nwdd: %s: private key file is "
	    "accessible by group or others (mode 0644)", key);
	if (strstr(out, want) == NULL)
		fail_msg("expected \"%s\", got: %s", want, out);
	assert_int_equal(chmod(key, 0640), 0);
	assert_int_equal(run_nwdd("", args, out, sizeof(out)), 1);
	assert_non_null(strstr(out, key));
	assert_int_equal(chmod(key, 0600), 0);

	/* A configuration others can read (it may hold a password). */
	assert_int_equal(chmod(conf, 0644), 0);
	assert_int_equal(run_nwdd("", args, out, sizeof(out)), 1);
	snprintf(want, sizeof(want), "nwdd: %s: configuration file is "
	    "writable by group or others, or readable by others", conf);
	if (strstr(out, want) == NULL)
		fail_msg("expected \"%s\", got: %s", want, out);
	assert_int_equal(chmod(conf, 0660), 0);
	assert_int_equal(run_nwdd("", args, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "(mode 0660)"));
	assert_int_equal(chmod(conf, 0640), 0);
	if (run_nwdd("", args, out, sizeof(out)) != 0)
		fail_msg("0640 refused: %s", out);

	/* The key as a systemd credential. */
	snprintf(creds, sizeof(creds), "%s/credentials", tmp);
	mkdir(creds, 0700);
	snprintf(key, sizeof(key), "%s/tls.key", creds);
	copy_key(harness_pki("server.key"), key, 0400);
	write_conf(conf, 0600, "credential:tls.key", "");
	assert_int_equal(run_nwdd("", args, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "tls_key: \"credential:tls.key\" names a "
	    "systemd credential, but $CREDENTIALS_DIRECTORY is not set"));
	snprintf(env, sizeof(env), "CREDENTIALS_DIRECTORY=%s", creds);
	if (run_nwdd(env, args, out, sizeof(out)) != 0)
		fail_msg("credential:tls.key in %s: %s", creds, out);
	assert_int_equal(chmod(key, 0440), 0);
	assert_int_equal(run_nwdd(env, args, out, sizeof(out)), 1);
	assert_non_null(strstr(out, key));
	write_conf(conf, 0600, "credential:../tls.key", "");
	assert_int_equal(run_nwdd(env, args, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "must name a credential"));

	/*
	 * Deadline rules that count working or school days need a calendar;
	 * a calendar that is wrong is refused at its line.
	 */
	snprintf(key, sizeof(key), "%s/server-copy.key", tmp);
	no_calendar = 1;
	write_conf(conf, 0600, key, "");
	no_calendar = 0;
	assert_int_equal(run_nwdd("", args, out, sizeof(out)), 1);
	snprintf(want, sizeof(want), "deadline rule \"encompass-school\" counts "
	    "working or school days, but %s names no calendar (set calendar, "
	    "nwd-calendar(5))", conf);
	if (strstr(out, want) == NULL)
		fail_msg("expected \"%s\", got: %s", want, out);
	{
		char	cal[600], line[1400];
		FILE	*fp;

		snprintf(cal, sizeof(cal), "%s/overlap.cal", tmp);
		assert_non_null(fp = fopen(cal, "w"));
		fprintf(fp, "covers 2026-01-01 2027-12-31\n"
		    "term 2026-09-03 2026-12-18 autumn\n"
		    "term 2026-12-01 2027-03-25 spring\n");
		assert_int_equal(fclose(fp), 0);
		no_calendar = 1;
		snprintf(line, sizeof(line), "calendar = %s\n", cal);
		write_conf(conf, 0600, key, line);
		no_calendar = 0;
		assert_int_equal(run_nwdd("", args, out, sizeof(out)), 1);
		snprintf(want, sizeof(want), "%s:3: ", cal);
		if (strstr(out, want) == NULL || strstr(out, "overlap") == NULL)
			fail_msg("expected \"%s...overlap...\", got: %s", want,
			    out);
	}

	/* Root without a user is refused before anything is loaded. */
	if (geteuid() == 0) {
		snprintf(key, sizeof(key), "%s/server-copy.key", tmp);
		write_conf(conf, 0600, key, "");
		snprintf(args, sizeof(args), "-c %s", conf);
		assert_int_equal(run_nwdd("", args, out, sizeof(out)), 1);
		assert_non_null(strstr(out, "nwdd will not serve as root"));
		write_conf(conf, 0600, key, "user = nwd-no-such-user\n");
		assert_int_equal(run_nwdd("", args, out, sizeof(out)), 1);
		assert_non_null(strstr(out,
		    "user = nwd-no-such-user: no such user"));
	}
}

/*
 * --check-config names the line of a file that is missing, and tries the
 * database: its version, role and schema when it answers, libpq's error
 * and exit 4 when it does not.
 */
static void
test_check_config(void **state)
{
	const char	*tmp = getenv("NWD_TEST_TMP");
	char		 conf[512], key[1024], args[1200], out[4096];
	char		 want[1600], port[16], saved[16];
	int		 free_port;

	snprintf(conf, sizeof(conf), "%s/check.conf", tmp);
	snprintf(key, sizeof(key), "%s/server-copy.key", tmp);
	snprintf(args, sizeof(args), "--check-config -c %s", conf);
	copy_key(harness_pki("server.key"), key, 0600);

	/* The database answers: line 11 of write_conf()'s file. */
	write_conf(conf, 0600, key, "");
	if (run_nwdd("", args, out, sizeof(out)) != 0)
		fail_msg("nwdd --check-config: %s", out);
	snprintf(want, sizeof(want), "%s:11: database: connected to "
	    "PostgreSQL ", conf);
	if (strstr(out, want) == NULL || strstr(out, " as nwd_daemon, "
	    "schema at migration ") == NULL)
		fail_msg("expected \"%s... as nwd_daemon, schema at migration "
		    "N\", got: %s", want, out);

	/* A missing file, at the line that names it. */
	write_conf(conf, 0600, "missing.key", "");
	assert_int_equal(run_nwdd("", args, out, sizeof(out)), 1);
	snprintf(want, sizeof(want), "nwdd: %s:3: tls_key: %s/missing.key: No "
	    "such file or directory\n", conf, tmp);
	if (strstr(out, want) == NULL)
		fail_msg("expected \"%s\", got: %s", want, out);
	write_conf(conf, 0600, key, "labels = nope/labels.conf\n");
	assert_int_equal(run_nwdd("", args, out, sizeof(out)), 1);
	snprintf(want, sizeof(want), "nwdd: %s:12: labels: %s/nope/labels.conf: "
	    "No such file or directory\n", conf, tmp);
	if (strstr(out, want) == NULL)
		fail_msg("expected \"%s\", got: %s", want, out);

	/* Nothing listens on the port: libpq's error on one line (its
	 * double quotes made single), and exit 4. */
	assert_true((free_port = harness_free_port()) > 0);
	snprintf(saved, sizeof(saved), "%s", getenv("NWD_TEST_PGPORT"));
	snprintf(port, sizeof(port), "%d", free_port);
	setenv("NWD_TEST_PGPORT", port, 1);
	write_conf(conf, 0600, key, "");
	setenv("NWD_TEST_PGPORT", saved, 1);
	assert_int_equal(run_nwdd("", args, out, sizeof(out)), 4);
	snprintf(want, sizeof(want), "nwdd: %s:11: database: cannot connect: "
	    "connection to server at '127.0.0.1', port %d failed: ", conf,
	    free_port);
	if (strstr(out, want) == NULL || strstr(out, "Connection refused") ==
	    NULL)
		fail_msg("expected \"%s...Connection refused\", got: %s", want,
		    out);
	/* The rest was checked before: it says so. */
	assert_non_null(strstr(out, ": ok; policy "));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_ready_after_database, teardown),
		cmocka_unit_test_teardown(test_watchdog_stops_on_stall,
		    teardown),
		cmocka_unit_test_teardown(test_reload_notifies, teardown),
		cmocka_unit_test_teardown(test_drain_under_load, teardown),
		cmocka_unit_test_teardown(test_runs_as_user, teardown),
		cmocka_unit_test_teardown(test_refusals, teardown),
		cmocka_unit_test_teardown(test_check_config, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
