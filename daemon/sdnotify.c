/*
 * sdnotify: sd_notify(3) through libsystemd.  See sdnotify.h.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "sdnotify.h"

#define SDNOTIFY_MAX_STATE	4096	/* one datagram */

struct sdnotify {
	char		*socket;	/* owned; $NOTIFY_SOCKET, NULL: nobody
					   to notify */
	uint64_t	 watchdog_usec;	/* 0: no watchdog */
	int		 failing;	/* the last send failed */
};

static int
parse_u64(const char *v, uint64_t *out)
{
	char			*end;
	unsigned long long	 n;

	if (!isdigit((unsigned char)v[0]))
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = n;
	return 0;
}

/*
 * Checks a $NOTIFY_SOCKET value before it is kept: a malformed one is
 * refused at start, by name, rather than failing every send later.
 * Returns 0 or -1 with err.
 */
static int
check_address(const char *v, char *err, size_t errlen)
{
	size_t	len = strlen(v);

	if ((v[0] != '/' && v[0] != '@') || len < 2) {
		snprintf(err, errlen, "NOTIFY_SOCKET=\"%.100s\" is neither an "
		    "absolute path nor an abstract socket (@name)", v);
		return -1;
	}
	if (len >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
		snprintf(err, errlen, "NOTIFY_SOCKET is %zu bytes long; a "
		    "socket address holds at most %zu", len,
		    sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1);
		return -1;
	}
	return 0;
}

struct sdnotify *
sdnotify_new(char *err, size_t errlen)
{
	struct sdnotify	*n;
	const char	*sock, *usec, *pid;
	uint64_t	 v;
	int		 r;

	if ((n = calloc(1, sizeof(*n))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sock = getenv("NOTIFY_SOCKET");
	usec = getenv("WATCHDOG_USEC");
	pid = getenv("WATCHDOG_PID");
	if (sock != NULL && *sock != '\0') {
		if (check_address(sock, err, errlen) == -1)
			goto bad;
		if ((n->socket = strdup(sock)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto bad;
		}
	}
	/* sd_watchdog_enabled(3) reads WATCHDOG_USEC and WATCHDOG_PID (the
	 * watchdog may be meant for another process) and removes them. */
	if ((r = sd_watchdog_enabled(1, &v)) < 0) {
		if (usec == NULL || parse_u64(usec, &v) == -1 || v == 0)
			snprintf(err, errlen, "WATCHDOG_USEC=\"%.40s\" is not a "
			    "positive number of microseconds", usec != NULL ?
			    usec : "");
		else
			snprintf(err, errlen, "WATCHDOG_PID=\"%.40s\" is not a "
			    "process id", pid != NULL ? pid : "");
		goto bad;
	}
	/* A watchdog without a socket to ping is no watchdog. */
	n->watchdog_usec = r > 0 && n->socket != NULL ? v : 0;
	unsetenv("NOTIFY_SOCKET");
	return n;
bad:
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	sdnotify_free(n);
	return NULL;
}

void
sdnotify_free(struct sdnotify *n)
{
	if (n == NULL)
		return;
	free(n->socket);
	free(n);
}

int
sdnotify_enabled(const struct sdnotify *n)
{
	return n != NULL && n->socket != NULL;
}

uint64_t
sdnotify_watchdog_usec(const struct sdnotify *n)
{
	return n != NULL ? n->watchdog_usec : 0;
}

uint64_t
sdnotify_monotonic_usec(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int
sdnotify_send(struct sdnotify *n, const char *fmt, ...)
{
	char	buf[SDNOTIFY_MAX_STATE];
	va_list	ap;
	int	len, r;

	if (!sdnotify_enabled(n))
		return 0;
	va_start(ap, fmt);
	len = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (len < 0)
		return -1;
	/* A long STATUS= is cut short by vsnprintf. */
	/*
	 * sd_notify(3) reads the socket from the environment, from which
	 * sdnotify_new() removed it so that no child inherits it: it is put
	 * back for the one call, which removes it again (unset_environment).
	 * nwdd's one other thread (store_conn.c's cancel request) reads no
	 * environment.
	 */
	if (setenv("NOTIFY_SOCKET", n->socket, 1) == -1)
		r = -errno;
	else
		r = sd_notify(1, buf);
	if (r < 0) {
		if (!n->failing) {
			errno = -r;
			log_warn("event=notify_failed socket=%s", n->socket);
		}
		n->failing = 1;
		return -1;
	}
	if (n->failing)
		log_info("event=notify_resumed");
	n->failing = 0;
	return 0;
}
