#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

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

/*
 * 1 if stderr is a stream systemd connected to the journal: it then sets
 * JOURNAL_STREAM to that stream's "device:inode".  A variable inherited by
 * a process whose stderr was redirected elsewhere does not count.
 */
static int
stderr_is_journal(void)
{
	const char		*v = getenv("JOURNAL_STREAM");
	unsigned long long	 dev, ino;
	struct stat		 st;

	if (v == NULL || sscanf(v, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

/* A line being built, written with one write: stderr is unbuffered. */
struct line {
	char	 stack[1536];
	char	*buf;
	size_t	 len, cap;
};

static void
line_put(struct line *l, const char *p, size_t n)
{
	char	*tmp;
	size_t	 cap;

	if (l->len + n + 1 > l->cap) {
		cap = (l->len + n + 1) * 2;
		if (l->buf == l->stack) {
			if ((tmp = malloc(cap)) == NULL)
				return;		/* the line is cut short */
			memcpy(tmp, l->buf, l->len);
		} else if ((tmp = realloc(l->buf, cap)) == NULL)
			return;
		l->buf = tmp;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, p, n);
	l->len += n;
}

/* Appends s with newlines as "\n" and other control characters as '?':
 * one event, one line, whatever a value held. */
static void
line_put_escaped(struct line *l, const char *s)
{
	const char	*run = s;

	for (; *s != '\0'; s++) {
		if (*s != '\n' && (unsigned char)*s >= 0x20 && *s != 0x7f)
			continue;
		line_put(l, run, (size_t)(s - run));
		line_put(l, *s == '\n' ? "\\n" : "?", *s == '\n' ? 2 : 1);
		run = s + 1;
	}
	line_put(l, run, (size_t)(s - run));
}

static void
vlog(enum log_level lvl, const char *errstr, const char *fmt, va_list ap)
{
	static const char *tags[] = { "error", "warn", "info", "debug" };
	static const int prio[] = { 3, 4, 6, 7 };	/* syslog's */
	static int	 journal = -1;
	char		 head[64], ts[32], buf[1024], *text = buf, *big = NULL;
	struct line	 l;
	struct timespec	 now;
	struct tm	 tm;
	va_list		 ap2;
	int		 n;

	if (lvl > threshold)
		return;
	if (journal == -1)
		journal = stderr_is_journal();
	va_copy(ap2, ap);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n >= (int)sizeof(buf) && vasprintf(&big, fmt, ap2) != -1)
		text = big;
	va_end(ap2);
	l.buf = l.stack;
	l.len = 0;
	l.cap = sizeof(l.stack);
	if (journal) {
		/* The journal stamps the time; "<N>" sets the priority. */
		n = snprintf(head, sizeof(head), "<%d>level=%s ", prio[lvl],
		    tags[lvl]);
	} else {
		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		n = snprintf(head, sizeof(head), "%s.%03ldZ level=%s ", ts,
		    now.tv_nsec / 1000000, tags[lvl]);
	}
	line_put(&l, head, (size_t)n);
	line_put_escaped(&l, text);
	if (errstr != NULL) {
		line_put(&l, " error=\"", 8);
		line_put_escaped(&l, errstr);
		line_put(&l, "\"", 1);
	}
	line_put(&l, "\n", 1);
	flockfile(stderr);
	fwrite(l.buf, 1, l.len, stderr);
	funlockfile(stderr);
	if (l.buf != l.stack)
		free(l.buf);
	free(big);
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
