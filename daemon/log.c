#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <systemd/sd-journal.h>

#include "log.h"

static enum log_level threshold = LOG_LVL_INFO;

/* log_subjects: 1 shows child identifiers, 0 writes "-" for them. */
static int subjects_shown = 1;

/* The child identifiers of the request being handled (log_subjects_add()),
 * scrubbed from every line while subjects are not shown. */
#define LOG_SCOPE_MAX	16
static char	*scope[LOG_SCOPE_MAX];	/* owned */
static size_t	 nscope;

void
log_set_level(enum log_level lvl)
{
	threshold = lvl;
}

void
log_set_subjects(int shown)
{
	subjects_shown = shown;
}

int
log_subjects_shown(void)
{
	return subjects_shown;
}

size_t
log_subjects_mark(void)
{
	return nscope;
}

void
log_subjects_release(size_t mark)
{
	while (nscope > mark)
		free(scope[--nscope]);
}

const char *
log_subject(const char *id)
{
	return subjects_shown || id == NULL ? id : "-";
}

void
log_subjects_add(const char *id)
{
	size_t i;

	/* Shown, empty, or already there: nothing to scrub. */
	if (subjects_shown || id == NULL || *id == '\0')
		return;
	for (i = 0; i < nscope; i++)
		if (strcmp(scope[i], id) == 0)
			return;
	if (nscope == LOG_SCOPE_MAX)
		return;
	if ((scope[nscope] = strdup(id)) != NULL)
		nscope++;
}

void
log_subjects_clear(void)
{
	log_subjects_release(0);
}

/* 1 if c may be part of an identifier: a scrubbed id must stand alone. */
static int
id_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*
 * text with every free-standing occurrence of a scoped identifier
 * replaced by "-", in a string the caller frees; NULL if there was none
 * (or memory ran out: then the line is not written at all).
 */
static char *
scrub(const char *text, int *dropped)
{
	const char	*p, *hit;
	char		*out = NULL, *q;
	size_t		 i, len, best;
	int		 found = 0;

	*dropped = 0;
	for (i = 0; i < nscope && !found; i++)
		for (p = text; (hit = strstr(p, scope[i])) != NULL; p = hit + 1)
			if ((hit == text || !id_char(hit[-1])) &&
			    !id_char(hit[strlen(scope[i])])) {
				found = 1;
				break;
			}
	if (!found)
		return NULL;
	/* Each id is at least one byte and becomes one: no longer. */
	if ((out = malloc(strlen(text) + 1)) == NULL) {
		*dropped = 1;
		return NULL;
	}
	for (p = text, q = out; *p != '\0';) {
		best = 0;
		if (p == text || !id_char(p[-1]))
			for (i = 0; i < nscope; i++) {
				len = strlen(scope[i]);
				if (len > best && strncmp(p, scope[i], len) == 0 &&
				    !id_char(p[len]))
					best = len;
			}
		if (best > 0) {
			*q++ = '-';
			p += best;
		} else
			*q++ = *p++;
	}
	*q = '\0';
	return out;
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

/*
 * 1 if journald listens on its native socket.  sd_journal_sendv(3)
 * reports success when the socket is missing, so without this check
 * events would vanish where stderr leads to a journal stream but journald
 * is not at the usual place (a container, a test).
 */
static int
journald_listens(void)
{
	struct stat st;

	return stat("/run/systemd/journal/socket", &st) == 0 &&
	    S_ISSOCK(st.st_mode);
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

/* Fields the journal gives a meaning of its own: a key of ours that
 * would collide is sent as NWD_KEY instead. */
static int
journal_reserved(const char *name, size_t len)
{
	static const char *names[] = { "MESSAGE", "MESSAGE_ID", "PRIORITY",
	    "ERRNO", "INVOCATION_ID", "USER_INVOCATION_ID", "DOCUMENTATION",
	    "TID", "UNIT", "USER_UNIT" };
	size_t i;

	if ((len > 5 && memcmp(name, "CODE_", 5) == 0) ||
	    (len > 7 && memcmp(name, "SYSLOG_", 7) == 0) ||
	    (len > 10 && memcmp(name, "COREDUMP_", 9) == 0))
		return 1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
			return 1;
	return 0;
}

void
log_journal_fields(const char *text, void (*fn)(const char *, size_t,
    const char *, size_t, void *), void *arg)
{
	const char	*p = text, *k, *v, *e;
	char		 name[64 + 4];
	size_t		 klen, nlen, i;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		/* A key: a lower-case letter, then letters, digits, '_'. */
		k = p;
		if (*p >= 'a' && *p <= 'z')
			while ((*p >= 'a' && *p <= 'z') || (*p >= '0' &&
			    *p <= '9') || *p == '_')
				p++;
		klen = (size_t)(p - k);
		if (klen == 0 || *p != '=') {
			/* Not key=value: skip the word. */
			while (*p != '\0' && *p != ' ')
				p++;
			continue;
		}
		p++;
		if (*p == '"') {
			/* Quoted: up to the '"' that ends the word. */
			v = ++p;
			for (e = v; *e != '\0' && !(*e == '"' &&
			    (e[1] == ' ' || e[1] == '\0')); e++)
				;
			p = *e == '"' ? e + 1 : e;
		} else {
			v = p;
			for (e = v; *e != '\0' && *e != ' '; e++)
				;
			p = e;
		}
		if (klen > 60)
			continue;
		nlen = 0;
		for (i = 0; i < klen; i++)
			name[nlen++] = k[i] >= 'a' && k[i] <= 'z' ?
			    (char)(k[i] - 'a' + 'A') : k[i];
		if (journal_reserved(name, nlen)) {
			memmove(name + 4, name, nlen);
			memcpy(name, "NWD_", 4);
			nlen += 4;
		}
		fn(name, nlen, v, (size_t)(e - v), arg);
	}
}

/* The fields of one journal entry, NUL-free, side by side in l. */
struct entry {
	struct line	 l;
	size_t		 off[64], len[64];
	size_t		 n;
};

static void
entry_start(struct entry *en, const char *name)
{
	if (en->n < sizeof(en->off) / sizeof(en->off[0])) {
		en->off[en->n] = en->l.len;
		line_put(&en->l, name, strlen(name));
	}
}

static void
entry_end(struct entry *en)
{
	if (en->n < sizeof(en->off) / sizeof(en->off[0])) {
		en->len[en->n] = en->l.len - en->off[en->n];
		en->n++;
	}
}

static void
entry_field(const char *name, size_t nlen, const char *v, size_t vlen,
    void *arg)
{
	struct entry	*en = arg;
	char		*val;

	if (en->n >= sizeof(en->off) / sizeof(en->off[0]))
		return;
	en->off[en->n] = en->l.len;
	line_put(&en->l, name, nlen);
	line_put(&en->l, "=", 1);
	if ((val = strndup(v, vlen)) != NULL) {
		line_put_escaped(&en->l, val);
		free(val);
	}
	entry_end(en);
}

/*
 * Sends one event to the journal: MESSAGE (the line as it would be
 * written, without priority and time), PRIORITY, SYSLOG_IDENTIFIER,
 * ERROR for log_warn's errno text, and a field per key=value pair.
 * Returns 0, or -1 if the journal did not take it.
 */
static int
journal_send(int prio, const char *message, size_t mlen, const char *text,
    const char *errstr)
{
	struct entry	 en;
	struct iovec	 iov[64];
	char		 num[16];
	size_t		 i;
	int		 r;

	memset(&en, 0, sizeof(en));
	en.l.buf = en.l.stack;
	en.l.cap = sizeof(en.l.stack);
	entry_start(&en, "MESSAGE=");
	line_put(&en.l, message, mlen);
	entry_end(&en);
	snprintf(num, sizeof(num), "%d", prio);
	entry_start(&en, "PRIORITY=");
	line_put(&en.l, num, strlen(num));
	entry_end(&en);
	entry_start(&en, "SYSLOG_IDENTIFIER=");
	line_put(&en.l, program_invocation_short_name,
	    strlen(program_invocation_short_name));
	entry_end(&en);
	if (errstr != NULL) {
		entry_start(&en, "ERROR=");
		line_put_escaped(&en.l, errstr);
		entry_end(&en);
	}
	log_journal_fields(text, entry_field, &en);
	for (i = 0; i < en.n; i++) {
		iov[i].iov_base = en.l.buf + en.off[i];
		iov[i].iov_len = en.len[i];
	}
	r = sd_journal_sendv(iov, (int)en.n);
	if (en.l.buf != en.l.stack)
		free(en.l.buf);
	return r < 0 ? -1 : 0;
}

static void
vlog(enum log_level lvl, const char *errstr, const char *fmt, va_list ap)
{
	static const char *tags[] = { "error", "warn", "info", "debug" };
	static const int prio[] = { 3, 4, 6, 7 };	/* syslog's */
	static int	 journal = -1, native = -1;
	char		 head[64], ts[32], buf[1024], *text = buf, *big = NULL;
	char		*clean = NULL;
	int		 dropped;
	struct line	 l;
	struct timespec	 now;
	struct tm	 tm;
	va_list		 ap2;
	size_t		 hlen;
	int		 n;

	if (lvl > threshold)
		return;
	if (journal == -1) {
		journal = stderr_is_journal();
		native = journal && journald_listens();
	}
	va_copy(ap2, ap);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n >= (int)sizeof(buf) && vasprintf(&big, fmt, ap2) != -1)
		text = big;
	va_end(ap2);
	if (nscope > 0) {
		if ((clean = scrub(text, &dropped)) != NULL)
			text = clean;
		else if (dropped) {
			free(big);
			return;
		}
	}
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
	/* The journal takes the fields, or the line goes to stderr (its
	 * stream to the journal) as before: journald not listening on its
	 * socket, or the entry refused. */
	hlen = journal ? (size_t)strcspn(l.buf, ">") + 1 : 0;
	if (!native || journal_send(prio[lvl], l.buf + hlen, l.len - hlen,
	    text, errstr) == -1) {
		line_put(&l, "\n", 1);
		flockfile(stderr);
		fwrite(l.buf, 1, l.len, stderr);
		funlockfile(stderr);
	}
	if (l.buf != l.stack)
		free(l.buf);
	free(clean);
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
