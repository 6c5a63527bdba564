#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static enum log_level threshold = LOG_LVL_INFO;

void
log_set_level(enum log_level lvl)
{
	threshold = lvl;
}

int
log_level_from_name(const char *name, enum log_level *out)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

static void
vlog(enum log_level lvl, const char *errstr, const char *fmt, va_list ap)
{
	static const char *tags[] = { "error", "warn", "info", "debug" };
	char		 ts[32];
	struct timespec	 now;
	struct tm	 tm;

	if (lvl > threshold)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	flockfile(stderr);
	fprintf(stderr, "%s.%03ldZ level=%s ", ts, now.tv_nsec / 1000000,
	    tags[lvl]);
	vfprintf(stderr, fmt, ap);
	if (errstr != NULL)
		fprintf(stderr, " error=\"%s\"", errstr);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	vlog(LOG_LVL_WARN, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_WARN, NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_INFO, NULL, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_DEBUG, NULL, fmt, ap);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
