/*
 * sdnotify: the service manager's notification protocol, through
 * libsystemd's sd_notify(3): one datagram of "KEY=value" lines to the
 * AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" for an
 * abstract socket).  Outside systemd (no $NOTIFY_SOCKET) every call is a
 * no-op that succeeds.  sd_notify(3) sends without MSG_DONTWAIT: a
 * manager whose socket queue is full (it is megabytes deep, and systemd
 * empties it from its own loop) would hold the caller until it drains.
 *
 * The watchdog: $WATCHDOG_USEC asks for "WATCHDOG=1" at least that often;
 * it applies only if $WATCHDOG_PID is unset or names this process
 * (sd_watchdog_enabled(3)).  When and whether to ping is the caller's
 * decision (main.c pings from the event loop after checking that the
 * database writer makes progress).
 */
#ifndef NWD_SDNOTIFY_H
#define NWD_SDNOTIFY_H

#include <stddef.h>
#include <stdint.h>

struct sdnotify;

/*
 * Reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID, removes them from
 * the environment (so that no child inherits them).  Returns the handle,
 * owned by the caller, or NULL with the cause in err if a variable is
 * malformed.
 */
struct sdnotify	*sdnotify_new(char *err, size_t errlen);
void		 sdnotify_free(struct sdnotify *n);

/* 1 if there is a socket to notify, else 0. */
int		 sdnotify_enabled(const struct sdnotify *n);

/* The watchdog interval in microseconds; 0 means no watchdog. */
uint64_t	 sdnotify_watchdog_usec(const struct sdnotify *n);

/*
 * Sends the state (printf-formatted, e.g. "READY=1\nSTATUS=serving").
 * Returns 0 if it was sent or there is nobody to notify, -1 if sending
 * failed; the first of a run of failures is logged.
 */
int		 sdnotify_send(struct sdnotify *n, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/* CLOCK_MONOTONIC in microseconds, as RELOADING=1 wants MONOTONIC_USEC. */
uint64_t	 sdnotify_monotonic_usec(void);

#endif
