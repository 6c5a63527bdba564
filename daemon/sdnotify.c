/*
 * sdnotify: sd_notify(3) without libsystemd.  See sdnotify.h.
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

#include "log.h"
#include "sdnotify.h"

#define SDNOTIFY_MAX_STATE	4096	/* one datagram */

struct sdnotify {
	int			 fd;		/* owned; -1: nobody to notify */
	struct sockaddr_un	 sun;
	socklen_t		 sunlen;
	uint64_t		 watchdog_usec;	/* 0: no watchdog */
	int			 failing;	/* the last send failed */
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

/* Fills n->sun from a $NOTIFY_SOCKET value; returns 0 or -1 with err. */
static int
set_address(struct sdnotify *n, const char *v, char *err, size_t errlen)
{
	size_t	len = strlen(v);

	if ((v[0] != '/' && v[0] != '@') || len < 2) {
		snprintf(err, errlen, "NOTIFY_SOCKET=\"%.100s\" is neither an "
		    "absolute path nor an abstract socket (@name)", v);
		return -1;
	}
	if (len >= sizeof(n->sun.sun_path)) {
		snprintf(err, errlen, "NOTIFY_SOCKET is %zu bytes long; a "
		    "socket address holds at most %zu", len,
		    sizeof(n->sun.sun_path) - 1);
		return -1;
	}
	memset(&n->sun, 0, sizeof(n->sun));
	n->sun.sun_family = AF_UNIX;
	memcpy(n->sun.sun_path, v, len);
	if (v[0] == '@') {
		/* Abstract: a leading NUL, and the length is exact. */
		n->sun.sun_path[0] = '\0';
		n->sunlen = offsetof(struct sockaddr_un, sun_path) + len;
	} else
		n->sunlen = offsetof(struct sockaddr_un, sun_path) + len + 1;
	return 0;
}

struct sdnotify *
sdnotify_new(char *err, size_t errlen)
{
	struct sdnotify	*n;
	const char	*sock, *usec, *pid;
	uint64_t	 v, wpid;

	if ((n = calloc(1, sizeof(*n))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n->fd = -1;
	sock = getenv("NOTIFY_SOCKET");
	usec = getenv("WATCHDOG_USEC");
	pid = getenv("WATCHDOG_PID");
	if (usec != NULL && *usec != '\0') {
		if (parse_u64(usec, &v) == -1 || v == 0) {
			snprintf(err, errlen, "WATCHDOG_USEC=\"%.40s\" is not a "
			    "positive number of microseconds", usec);
			goto bad;
		}
		n->watchdog_usec = v;
		if (pid != NULL && *pid != '\0') {
			if (parse_u64(pid, &wpid) == -1) {
				snprintf(err, errlen, "WATCHDOG_PID=\"%.40s\" is "
				    "not a process id", pid);
				goto bad;
			}
			/* The watchdog is meant for another process. */
			if (wpid != (uint64_t)getpid())
				n->watchdog_usec = 0;
		}
	}
	if (sock != NULL && *sock != '\0') {
		if (set_address(n, sock, err, errlen) == -1)
			goto bad;
		if ((n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC,
		    0)) == -1) {
			snprintf(err, errlen, "NOTIFY_SOCKET: socket: %s",
			    strerror(errno));
			goto bad;
		}
	} else
		n->watchdog_usec = 0;	/* nobody to ping */
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	return n;
bad:
	sdnotify_free(n);
	return NULL;
}

void
sdnotify_free(struct sdnotify *n)
{
	if (n == NULL)
		return;
	if (n->fd != -1)
		close(n->fd);
	free(n);
}

int
sdnotify_enabled(const struct sdnotify *n)
{
	return n != NULL && n->fd != -1;
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
	ssize_t	r;
	int	len;

	if (!sdnotify_enabled(n))
		return 0;
	va_start(ap, fmt);
	len = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (len < 0)
		return -1;
	if ((size_t)len >= sizeof(buf))
		len = sizeof(buf) - 1;	/* a long STATUS= is cut short */
	/* Never wait for the manager: the loop must keep turning. */
	do
		r = sendto(n->fd, buf, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT,
		    (struct sockaddr *)&n->sun, n->sunlen);
	while (r == -1 && errno == EINTR);
	if (r == -1) {
		if (!n->failing)
			log_warn("event=notify_failed socket=%s%s",
			    n->sun.sun_path[0] == '\0' ? "@" : "",
			    n->sun.sun_path[0] == '\0' ? n->sun.sun_path + 1 :
			    n->sun.sun_path);
		n->failing = 1;
		return -1;
	}
	if (n->failing)
		log_info("event=notify_resumed");
	n->failing = 0;
	return 0;
}
