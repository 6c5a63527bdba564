/*
 * Unit tests for daemon/sdnotify.c, sd_notify(3) through libsystemd.
 *
 * - Outside systemd (no $NOTIFY_SOCKET) everything is a quiet no-op.
 * - A path socket and an abstract ("@name") socket, created here, receive
 *   exactly the datagrams sent; the variables are removed from the
 *   environment so no child inherits them.
 * - $WATCHDOG_USEC is honoured only for this process ($WATCHDOG_PID) and
 *   only with a socket; malformed variables are refused by name.
 * - A socket that went away makes sending fail (-1) rather than block.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sdnotify.h"

static char	tmpdir[512];

static int
group_setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/nwd-sdnotify.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	char	cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
clear_env(void)
{
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

/* A datagram socket bound to name (a path, or "@abstract"). */
static int
listen_on(const char *name)
{
	struct sockaddr_un	sun;
	socklen_t		len;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_true(strlen(name) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, name, strlen(name));
	len = offsetof(struct sockaddr_un, sun_path) + strlen(name);
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	else {
		unlink(name);
		len++;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	if (bind(fd, (struct sockaddr *)&sun, len) == -1)
		fail_msg("bind %s: %s", name, strerror(errno));
	return fd;
}

/* The next datagram on fd within 5 s, NUL-terminated in buf. */
static void
recv_one(int fd, char *buf, size_t len)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	ssize_t		n;

	assert_int_equal(poll(&pfd, 1, 5000), 1);
	n = recv(fd, buf, len - 1, 0);
	assert_true(n >= 0);
	buf[n] = '\0';
}

static void
test_outside_systemd(void **state)
{
	struct sdnotify	*n;
	char		 err[256] = "";

	clear_env();
	setenv("WATCHDOG_USEC", "1000000", 1);
	n = sdnotify_new(err, sizeof(err));
	assert_non_null(n);
	assert_int_equal(sdnotify_enabled(n), 0);
	/* A watchdog without a socket to ping is no watchdog. */
	assert_int_equal(sdnotify_watchdog_usec(n), 0);
	assert_int_equal(sdnotify_send(n, "READY=1"), 0);
	sdnotify_free(n);
	sdnotify_free(NULL);
	assert_int_equal(sdnotify_send(NULL, "READY=1"), 0);
	assert_int_equal(sdnotify_enabled(NULL), 0);
}

static void
check_socket(const char *name)
{
	struct sdnotify	*n;
	char		 err[256] = "", buf[4096], pid[32];
	int		 fd;

	clear_env();
	fd = listen_on(name);
	setenv("NOTIFY_SOCKET", name, 1);
	setenv("WATCHDOG_USEC", "500000", 1);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	n = sdnotify_new(err, sizeof(err));
	if (n == NULL)
		fail_msg("sdnotify_new with %s: %s", name, err);
	assert_int_equal(sdnotify_enabled(n), 1);
	assert_int_equal(sdnotify_watchdog_usec(n), 500000);
	assert_null(getenv("NOTIFY_SOCKET"));
	assert_null(getenv("WATCHDOG_USEC"));
	assert_null(getenv("WATCHDOG_PID"));

	assert_int_equal(sdnotify_send(n, "READY=1\nSTATUS=serving %d", 7),
	    0);
	recv_one(fd, buf, sizeof(buf));
	assert_string_equal(buf, "READY=1\nSTATUS=serving 7");
	assert_int_equal(sdnotify_send(n, "WATCHDOG=1"), 0);
	recv_one(fd, buf, sizeof(buf));
	assert_string_equal(buf, "WATCHDOG=1");
	sdnotify_free(n);
	close(fd);
	if (name[0] == '/')
		unlink(name);
}

static void
test_path_socket(void **state)
{
	char	path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/notify", tmpdir);
	check_socket(path);
}

static void
test_abstract_socket(void **state)
{
	char	name[64];

	snprintf(name, sizeof(name), "@nwd-test-sdnotify-%d", (int)getpid());
	check_socket(name);
}

static void
test_watchdog_pid(void **state)
{
	struct sdnotify	*n;
	char		 err[256] = "", path[PATH_MAX], pid[32];
	int		 fd;

	snprintf(path, sizeof(path), "%s/notify-pid", tmpdir);
	fd = listen_on(path);
	clear_env();
	setenv("NOTIFY_SOCKET", path, 1);
	setenv("WATCHDOG_USEC", "2000000", 1);
	snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	assert_non_null(n = sdnotify_new(err, sizeof(err)));
	assert_int_equal(sdnotify_enabled(n), 1);
	assert_int_equal(sdnotify_watchdog_usec(n), 0);
	sdnotify_free(n);

	/* Without WATCHDOG_PID the watchdog is ours. */
	setenv("NOTIFY_SOCKET", path, 1);
	setenv("WATCHDOG_USEC", "2000000", 1);
	assert_non_null(n = sdnotify_new(err, sizeof(err)));
	assert_int_equal(sdnotify_watchdog_usec(n), 2000000);
	sdnotify_free(n);
	close(fd);
}

static void
expect_refused(const char *sock, const char *usec, const char *pid,
    const char *why)
{
	struct sdnotify	*n;
	char		 err[256] = "";

	clear_env();
	if (sock != NULL)
		setenv("NOTIFY_SOCKET", sock, 1);
	if (usec != NULL)
		setenv("WATCHDOG_USEC", usec, 1);
	if (pid != NULL)
		setenv("WATCHDOG_PID", pid, 1);
	n = sdnotify_new(err, sizeof(err));
	if (n != NULL) {
		sdnotify_free(n);
		fail_msg("accepted NOTIFY_SOCKET=%s WATCHDOG_USEC=%s "
		    "WATCHDOG_PID=%s", sock, usec, pid);
	}
	if (strstr(err, why) == NULL)
		fail_msg("error lacks \"%s\": %s", why, err);
}

static void
test_malformed(void **state)
{
	char	longname[200];

	expect_refused("relative/path", NULL, NULL, "NOTIFY_SOCKET=");
	expect_refused("@", NULL, NULL, "NOTIFY_SOCKET=");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	expect_refused(longname, NULL, NULL, "NOTIFY_SOCKET is 199 bytes");
	expect_refused("/run/x", "soon", NULL, "WATCHDOG_USEC=\"soon\"");
	expect_refused("/run/x", "0", NULL, "WATCHDOG_USEC=\"0\"");
	expect_refused("/run/x", "100x", NULL, "WATCHDOG_USEC=\"100x\"");
	expect_refused("/run/x", "1000", "me", "WATCHDOG_PID=\"me\"");
	clear_env();
}

static void
test_socket_gone(void **state)
{
	struct sdnotify	*n;
	char		 err[256] = "", path[PATH_MAX];
	int		 fd;

	snprintf(path, sizeof(path), "%s/notify-gone", tmpdir);
	fd = listen_on(path);
	clear_env();
	setenv("NOTIFY_SOCKET", path, 1);
	assert_non_null(n = sdnotify_new(err, sizeof(err)));
	close(fd);
	unlink(path);
	assert_int_equal(sdnotify_send(n, "WATCHDOG=1"), -1);
	assert_int_equal(sdnotify_send(n, "WATCHDOG=1"), -1);
	/* It comes back: sending works again. */
	fd = listen_on(path);
	assert_int_equal(sdnotify_send(n, "WATCHDOG=1"), 0);
	sdnotify_free(n);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outside_systemd),
		cmocka_unit_test(test_path_socket),
		cmocka_unit_test(test_abstract_socket),
		cmocka_unit_test(test_watchdog_pid),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_socket_gone),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
