/*
 * harness: a real nwdd, its log, the test PostgreSQL and a raw TLS client
 * for the daemon integration tests.  See harness.h for the contracts.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* pipe2, memmem, vasprintf */
#endif

#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
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

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cmocka.h>

#include "frame.h"
#include "harness.h"

#define READY_TIMEOUT_MS	30000	/* nwdd start to READY */
#define STOP_TIMEOUT_MS		30000	/* SIGTERM to exit */
#define CONNECT_TIMEOUT_MS	10000	/* TCP connect and TLS handshake */
#define IO_TIMEOUT_MS		10000	/* one harness_tls_write() */
#define READ_MAX_FRAME		(64u << 20)	/* frames a test may read */
#define DECODE_ALLOC_CAP	(256u << 20)
#define READY_FD		3
#define LOG_TAIL_LINES		30
#define SQL_INT_OUT		256	/* what harness_sql_int() reads */
#define SQL_POLL_MS		25	/* harness_wait_sql_int() between queries */

struct harness_daemon {
	pid_t	 pid;
	int	 pidfd;		/* owned; -1 if pidfd_open is unavailable */
	int	 port;
	int	 exited;	/* 1 once reaped; status is then valid */
	int	 status;	/* as harness_daemon_stop() returns it */
	char	*conf;		/* owned */
	char	*log;		/* owned */
	char	*vglog;		/* owned; valgrind's log, NULL unwrapped */
};

struct harness_tls {
	SSL_CTX	*ctx;		/* owned */
	SSL	*ssl;		/* owned */
	int	 fd;		/* owned */
	int	 broken;	/* 1 after a fatal TLS or socket error */
	char	 err[512];
};

static int	 daemon_seq;		/* numbers config and log files */
static int	 migrated;		/* nwdd --migrate has run */
static char	 last_log[4096];
static int	 last_port;		/* port of the last daemon started */
static char	**wrapper;		/* NWD_TEST_DAEMON_WRAPPER, split */
static int	 wrapper_read;		/* wrapper has been looked up */
static int	 wrapped_failures;	/* runs whose valgrind log has errors */

/* ---- small helpers --------------------------------------------------------- */

static const char *
env_required(const char *name)
{
	const char	*v = getenv(name);

	if (v == NULL || *v == '\0') {
		fprintf(stderr, "harness: %s is not set; run the test through "
		    "tests/run-test.sh (make check does)\n", name);
		return NULL;
	}
	return v;
}

static const char *
srcdir(void)
{
	const char	*v = getenv("NWD_SRCDIR");

	if (v != NULL && *v != '\0')
		return v;
#ifdef NWD_SRCDIR
	return NWD_SRCDIR;
#else
	return ".";
#endif
}

static const char *
builddir(void)
{
	const char	*v = getenv("NWD_BUILDDIR");

	if (v != NULL && *v != '\0')
		return v;
#ifdef NWD_BUILDDIR
	return NWD_BUILDDIR;
#else
	return ".";
#endif
}

static char *
xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
xasprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n == -1) {
		fprintf(stderr, "harness: out of memory\n");
		abort();
	}
	return s;
}

int64_t
harness_mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
harness_wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
remaining_ms(int64_t deadline)
{
	int64_t	left = deadline - harness_mono_ms();

	return left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Reads a whole file into a NUL-terminated buffer.  Returns NULL on error. */
static char *
slurp(const char *path, size_t *lenp)
{
	FILE	*fp;
	char	*buf = NULL;
	size_t	 len = 0, cap = 0, n;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			char	*nb;

			cap = cap ? cap * 2 : 65536;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				free(buf);
				fclose(fp);
				return NULL;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
		if (n == 0)
			break;
	}
	fclose(fp);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

static void
print_log_tail(const char *path)
{
	char	*buf, *p;
	size_t	 len;
	int	 lines = 0;

	if ((buf = slurp(path, &len)) == NULL) {
		fprintf(stderr, "harness: cannot read %s: %s\n", path,
		    strerror(errno));
		return;
	}
	p = buf + len;
	if (p > buf && p[-1] == '\n')
		p--;
	while (p > buf && lines < LOG_TAIL_LINES) {
		p--;
		if (*p == '\n')
			lines++;
	}
	if (*p == '\n')
		p++;
	fprintf(stderr, "harness: last lines of %s:\n%s%s", path, p,
	    len > 0 && buf[len - 1] != '\n' ? "\n" : "");
	free(buf);
}

/*
 * The first port of the kernel's ephemeral range
 * (/proc/sys/net/ipv4/ip_local_port_range); Linux's default if unreadable.
 */
static int
ephemeral_low(void)
{
	FILE	*f;
	int	 lo;

	if ((f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re")) == NULL)
		return 32768;
	if (fscanf(f, "%d", &lo) != 1 || lo < 1025)
		lo = 32768;
	fclose(f);
	return lo;
}

/* Whether nothing is bound to 127.0.0.1:port right now. */
static int
port_is_free(int port)
{
	struct sockaddr_in	sin;
	int			fd, ok;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	ok = bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

/*
 * A loopback TCP port for nwdd to listen on.  Not one the kernel hands out
 * (bind to port 0) because those are the ephemeral ports: every outgoing
 * connection (the migration's, a client's, another test's) takes one, and
 * one taken between this check and nwdd's bind made nwdd exit with "Address
 * already in use".  Outside that range only an explicit bind can take it:
 * the ports are drawn at random below it (as deploy/pg.sh freeport does), so
 * two tests running side by side do not draw the same one.
 */
int
harness_free_port(void)
{
	static int	seeded;
	int		lo, floor_port, span, port, i;

	if (!seeded) {
		srandom((unsigned int)getpid() ^
		    (unsigned int)harness_mono_ms());
		seeded = 1;
	}
	lo = ephemeral_low();
	/* As deploy/pg.sh freeport: 20000 up to the range, else 1024 up. */
	floor_port = lo - 1 > 20000 ? 20000 : 1024;
	span = lo - floor_port;
	if (span <= 0)
		return -1;
	for (i = 0; i < 200; i++) {
		port = floor_port + (int)(random() % span);
		if (port_is_free(port))
			return port;
	}
	return -1;
}

static int
decode_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return -1;
}

/*
 * Runs argv with stdin from /dev/null.  The child's stdout goes to out
 * (NUL-terminated, truncated to outlen - 1; may be NULL) and its stderr to
 * errpath (appended; NULL = inherited).  Returns the decoded exit status,
 * or -1 if it could not be run.
 */
static int
run(char *const argv[], char *out, size_t outlen, const char *errpath)
{
	int	 pfd[2], wstatus, devnull, efd;
	size_t	 used = 0;
	ssize_t	 n;
	char	 sink[4096];
	pid_t	 pid;

	if (pipe2(pfd, O_CLOEXEC) == -1) {
		fprintf(stderr, "harness: pipe: %s\n", strerror(errno));
		return -1;
	}
	fflush(NULL);
	if ((pid = fork()) == -1) {
		fprintf(stderr, "harness: fork: %s\n", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		if ((devnull = open("/dev/null", O_RDONLY)) != -1)
			dup2(devnull, 0);
		dup2(pfd[1], 1);
		if (errpath != NULL && (efd = open(errpath,
		    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) != -1)
			dup2(efd, 2);
		execv(argv[0], argv);
		fprintf(stderr, "harness: cannot run %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	if (out != NULL && outlen > 0)
		out[0] = '\0';
	/* Read to EOF even once out is full, so the child never blocks. */
	for (;;) {
		char	*dst = sink;
		size_t	 room = sizeof(sink);

		if (out != NULL && used + 1 < outlen) {
			dst = out + used;
			room = outlen - 1 - used;
		}
		n = read(pfd[0], dst, room);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (dst != sink)
			used += n;
	}
	close(pfd[0]);
	if (out != NULL && outlen > 0)
		out[used] = '\0';
	while (waitpid(pid, &wstatus, 0) == -1)
		if (errno != EINTR)
			return -1;
	return decode_status(wstatus);
}

/* ---- a wrapper around nwdd (valgrind) ------------------------------------ */

/* Looks name up in $PATH unless it has a slash.  Returns a new string. */
static char *
find_program(const char *name)
{
	const char	*path = getenv("PATH"), *p, *colon;
	char		*cand;

	if (strchr(name, '/') != NULL || path == NULL)
		return xasprintf("%s", name);
	for (p = path; ; p = colon + 1) {
		colon = strchr(p, ':');
		cand = xasprintf("%.*s/%s", colon != NULL ? (int)(colon - p) :
		    (int)strlen(p), p, name);
		if (access(cand, X_OK) == 0)
			return cand;
		free(cand);
		if (colon == NULL)
			break;
	}
	return xasprintf("%s", name);
}

/*
 * NWD_TEST_DAEMON_WRAPPER split at blanks (its first word looked up in
 * $PATH), or NULL if it is unset or empty.  Once a wrapper is seen, the
 * test process's exit status becomes HARNESS_VALGRIND_EXIT if any wrapped
 * run had errors (wrapped_atexit()).
 */
static void	wrapped_atexit(void);

static char **
daemon_wrapper(void)
{
	const char	*env;
	char		*copy, *word, *save = NULL;
	size_t		 n = 0;

	if (wrapper_read)
		return wrapper;
	wrapper_read = 1;
	env = getenv("NWD_TEST_DAEMON_WRAPPER");
	if (env == NULL || env[strspn(env, " \t")] == '\0')
		return NULL;
	copy = xasprintf("%s", env);
	if ((wrapper = calloc(strlen(env) / 2 + 2, sizeof(*wrapper))) == NULL) {
		fprintf(stderr, "harness: out of memory\n");
		abort();
	}
	for (word = strtok_r(copy, " \t", &save); word != NULL;
	    word = strtok_r(NULL, " \t", &save)) {
		wrapper[n] = n == 0 ? find_program(word) :
		    xasprintf("%s", word);
		n++;
	}
	free(copy);
	atexit(wrapped_atexit);
	return wrapper;
}

int
harness_daemon_wrapped(void)
{
	return daemon_wrapper() != NULL;
}

/* 1 if the wrapper is valgrind, whose log the harness then reads. */
static int
wrapper_is_valgrind(char **w)
{
	const char	*base;

	if (w == NULL)
		return 0;
	base = strrchr(w[0], '/') != NULL ? strrchr(w[0], '/') + 1 : w[0];
	return strcmp(base, "valgrind") == 0;
}

/*
 * argv for running nwdd with args (NULL-terminated, after argv[0]) under
 * the wrapper, with valgrind's log going to vglog; or nwdd alone.  The
 * vector and its strings are owned by the caller, who frees them with
 * free_argv() (only the forked child execs it, so leaking it there is
 * harmless).
 */
static char **
wrapped_argv(const char *nwdd, const char *vglog, char *const args[])
{
	char	**w = daemon_wrapper(), **v;
	size_t	  nw = 0, na = 0, i = 0;

	while (w != NULL && w[nw] != NULL)
		nw++;
	while (args[na] != NULL)
		na++;
	if ((v = calloc(nw + na + 3, sizeof(*v))) == NULL) {
		fprintf(stderr, "harness: out of memory\n");
		abort();
	}
	for (; i < nw; i++)
		v[i] = xasprintf("%s", w[i]);
	if (vglog != NULL && wrapper_is_valgrind(w))
		v[i++] = xasprintf("--log-file=%s", vglog);
	v[i++] = xasprintf("%s", nwdd);
	for (na = 0; args[na] != NULL; na++)
		v[i++] = xasprintf("%s", args[na]);
	v[i] = NULL;
	return v;
}

static void
free_argv(char **v)
{
	size_t	i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* 1 if line (of valgrind's text output) begins one of memcheck's errors. */
static int
valgrind_error_line(const char *line)
{
	static const char *const kinds[] = {
		"Invalid read of size", "Invalid write of size",
		"Invalid free()", "Mismatched free()", "Conditional jump or "
		"move depends on uninitialised", "Use of uninitialised value",
		"Syscall param", "Source and destination overlap",
		"has a fishy value", "Invalid alignment", "are definitely lost",
		"Jump to the invalid address", "Process terminating with "
		"default action",
	};
	size_t	i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strstr(line, kinds[i]) != NULL)
			return 1;
	return 0;
}

/*
 * Reads a valgrind log: the count of its final "ERROR SUMMARY", or, if
 * the process was killed before it could write one, the errors reported
 * so far.  Prints the log when there are errors and counts the run in
 * wrapped_failures.  Returns the count, 0 if the log is clean, -1 if
 * there is no log (a wrapper other than valgrind).
 */
static int
valgrind_check(const char *vglog, const char *what)
{
	char	*buf, *line, *nl, *p;
	size_t	 len;
	int	 n = 0, summary = -1;

	if ((buf = slurp(vglog, &len)) == NULL)
		return -1;
	for (line = buf; line != NULL && *line != '\0';
	    line = nl != NULL ? nl + 1 : NULL) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if ((p = strstr(line, "ERROR SUMMARY: ")) != NULL)
			summary = atoi(p + strlen("ERROR SUMMARY: "));
		else
			n += valgrind_error_line(line);
		if (nl != NULL)
			*nl = '\n';
	}
	if (summary >= 0)
		n = summary;
	if (n > 0) {
		fprintf(stderr, "harness: valgrind found %d error%s in %s "
		    "(%s):\n%s\n", n, n == 1 ? "" : "s", what, vglog, buf);
		wrapped_failures++;
	}
	free(buf);
	return n;
}

/* A test whose wrapped daemons had errors fails, whatever it asserted. */
static void
wrapped_atexit(void)
{
	if (wrapped_failures == 0)
		return;
	fprintf(stderr, "harness: valgrind found errors in %d run%s of nwdd; "
	    "failing the test (exit %d)\n", wrapped_failures,
	    wrapped_failures == 1 ? "" : "s", HARNESS_VALGRIND_EXIT);
	fflush(NULL);
	_exit(HARNESS_VALGRIND_EXIT);
}

/* ---- the daemon ------------------------------------------------------------ */

static int
pidfd_open_compat(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

/*
 * Waits up to timeout_ms (< 0: forever) for the daemon to exit and reaps
 * it.  Returns 0 once reaped, -1 on timeout.
 */
static int
reap(struct harness_daemon *d, int timeout_ms)
{
	struct pollfd	pfd;
	int		wstatus, r;

	if (d->exited)
		return 0;
	if (d->pidfd == -1 && timeout_ms == 0) {
		/* No pidfd (kernel < 5.3): only a look is bounded. */
		if ((r = waitpid(d->pid, &wstatus, WNOHANG)) == 0)
			return -1;
		d->exited = 1;
		d->status = r == -1 ? -1 : decode_status(wstatus);
		if (d->vglog != NULL && valgrind_check(d->vglog, "nwdd") > 0)
			d->status = HARNESS_VALGRIND_EXIT;
		return 0;
	}
	if (d->pidfd != -1 && timeout_ms >= 0) {
		pfd.fd = d->pidfd;
		pfd.events = POLLIN;
		do
			r = poll(&pfd, 1, timeout_ms);
		while (r == -1 && errno == EINTR);
		if (r == 0)
			return -1;
	}
	/* The pidfd is readable (or there is none): waitpid returns now. */
	while (waitpid(d->pid, &wstatus, 0) == -1) {
		if (errno != EINTR) {
			d->exited = 1;
			d->status = -1;
			return 0;
		}
	}
	d->exited = 1;
	d->status = decode_status(wstatus);
	if (d->vglog != NULL && valgrind_check(d->vglog, "nwdd") > 0)
		d->status = HARNESS_VALGRIND_EXIT;
	return 0;
}

static void
daemon_free(struct harness_daemon *d)
{
	if (d == NULL)
		return;
	if (d->pidfd != -1)
		close(d->pidfd);
	free(d->conf);
	free(d->log);
	free(d->vglog);
	free(d);
}

/* 1 if line (up to its end) sets key, e.g. "listen = ...". */
static int
line_key(const char *line, size_t len, char *key, size_t keylen)
{
	size_t	i = 0, k = 0;

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == len || line[i] == '#')
		return 0;
	while (i < len && line[i] != '=' && line[i] != ' ' &&
	    line[i] != '\t' && k + 1 < keylen)
		key[k++] = line[i++];
	key[k] = '\0';
	return k > 0;
}

/* 1 if extra sets key; *val then points at the value (not terminated). */
static int
extra_sets(const char *extra, const char *key, const char **val)
{
	const char	*p = extra, *nl, *eq;
	char		 k[64];

	while (extra != NULL && *p != '\0') {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		if (line_key(p, nl - p, k, sizeof(k)) && strcmp(k, key) == 0) {
			if (val != NULL) {
				eq = memchr(p, '=', nl - p);
				*val = eq != NULL ? eq + 1 : nl;
			}
			return 1;
		}
		p = *nl ? nl + 1 : nl;
	}
	return 0;
}

static char *
write_config(int seq, int port, const char *extra)
{
	const char	*tmp, *pki, *pgport;
	char		*path, *base, *line, *nl, k[64];
	FILE		*fp;

	if ((tmp = env_required("NWD_TEST_TMP")) == NULL ||
	    (pki = env_required("NWD_TEST_PKI")) == NULL ||
	    (pgport = env_required("NWD_TEST_PGPORT")) == NULL)
		return NULL;
	base = xasprintf(
	    "instance = nwdd-test-%d\n"
	    "listen = 127.0.0.1:%d\n"
	    "tls_cert = %s/server.crt\n"
	    "tls_key = %s/server.key\n"
	    "tls_ca = %s/ca.crt\n"
	    "tls_crl = %s/ca.crl\n"
	    "body_key = %s/body.key\n"
	    "audit_signing_key = %s/audit-signing.key\n"
	    "principals = %s/deploy/principals.conf\n"
	    "policy = %s/deploy/policy.nwd\n"
	    "calendar = %s/deploy/calendar.conf\n"
	    "database = host=127.0.0.1 port=%s dbname=nwd user=nwd_daemon "
	    "connect_timeout=5\n"
	    "migrate_database = host=127.0.0.1 port=%s dbname=nwd "
	    "user=nwd_owner connect_timeout=5\n"
	    "migrations = %s/deploy/sql\n"
	    "log_level = debug\n"
	    "state_directory = %s/state\n"
	    "%s",
	    seq, port, pki, pki, pki, pki, pki, pki, srcdir(), srcdir(),
	    srcdir(), pgport,
	    pgport,
	    srcdir(), tmp,
	    /* nwdd refuses root without a user; the tests may stay root. */
	    geteuid() == 0 ? "user = root\n" : "");
	path = xasprintf("%s/nwdd-%d.conf", tmp, seq);
	/* nwdd refuses a configuration that others can read. */
	if ((fp = fopen(path, "w")) == NULL ||
	    fchmod(fileno(fp), 0600) == -1) {
		fprintf(stderr, "harness: cannot write %s: %s\n", path,
		    strerror(errno));
		if (fp != NULL)
			fclose(fp);
		free(base);
		free(path);
		return NULL;
	}
	fprintf(fp, "# written by tests/integration/harness.c\n");
	for (line = base; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		if (line_key(line, nl - line, k, sizeof(k)) &&
		    extra_sets(extra, k, NULL))
			continue;
		fprintf(fp, "%.*s\n", (int)(nl - line), line);
	}
	if (extra != NULL)
		fprintf(fp, "# extra_config\n%s\n", extra);
	free(base);
	if (fclose(fp) != 0) {
		fprintf(stderr, "harness: cannot write %s: %s\n", path,
		    strerror(errno));
		free(path);
		return NULL;
	}
	return path;
}

static int
migrate_once(const char *nwdd, const char *conf, const char *log)
{
	char	*args[] = { "--migrate", "-c", (char *)conf, NULL };
	char	**argv, *vglog;
	int	 rc;

	if (migrated)
		return 0;
	vglog = xasprintf("%s.migrate-valgrind", log);
	argv = wrapped_argv(nwdd, vglog, args);
	rc = run(argv, NULL, 0, log);
	free_argv(argv);
	if (wrapper_is_valgrind(daemon_wrapper()) &&
	    valgrind_check(vglog, "nwdd --migrate") > 0)
		rc = HARNESS_VALGRIND_EXIT;
	free(vglog);
	if (rc != 0) {
		fprintf(stderr, "harness: %s --migrate -c %s exited %d\n", nwdd,
		    conf, rc);
		print_log_tail(log);
		return -1;
	}
	migrated = 1;
	return 0;
}

/* Starts nwdd; with wait_ready, as harness_daemon_start() says. */
static struct harness_daemon *
daemon_start(const char *extra_config, int wait_ready)
{
	struct harness_daemon	*d;
	struct pollfd		 pfd;
	const char		*tmp, *v;
	char			*nwdd = NULL, buf[64], **argv = NULL;
	char			 readyfd_s[16];
	char			*args_ready[] = { "-c", NULL, "--ready-fd",
				    readyfd_s, NULL };
	char			*args_plain[] = { "-c", NULL, NULL };
	int			 rfd[2] = { -1, -1 }, logfd, seq, r;
	size_t			 got = 0;
	ssize_t			 n;
	int64_t			 deadline;

	if ((tmp = env_required("NWD_TEST_TMP")) == NULL)
		return NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->pidfd = -1;
	seq = ++daemon_seq;
	if (extra_sets(extra_config, "listen", &v)) {
		const char	*end = v + strcspn(v, "\n");

		while (end > v && end[-1] != ':')
			end--;
		d->port = end > v ? atoi(end) : -1;
	} else
		d->port = harness_free_port();
	if (d->port <= 0) {
		fprintf(stderr, "harness: no port to listen on\n");
		goto fail;
	}
	if ((d->conf = write_config(seq, d->port, extra_config)) == NULL)
		goto fail;
	d->log = xasprintf("%s/nwdd-%d.log", tmp, seq);
	snprintf(last_log, sizeof(last_log), "%s", d->log);
	nwdd = xasprintf("%s/daemon/nwdd", builddir());
	if (access(nwdd, X_OK) == -1) {
		fprintf(stderr, "harness: %s: %s (build it first)\n", nwdd,
		    strerror(errno));
		goto fail;
	}
	if (migrate_once(nwdd, d->conf, d->log) == -1)
		goto fail;

	if (pipe2(rfd, O_CLOEXEC) == -1) {
		fprintf(stderr, "harness: pipe: %s\n", strerror(errno));
		goto fail;
	}
	snprintf(readyfd_s, sizeof(readyfd_s), "%d", READY_FD);
	args_ready[1] = args_plain[1] = d->conf;
	if (wrapper_is_valgrind(daemon_wrapper()))
		d->vglog = xasprintf("%s/nwdd-%d.valgrind", tmp, seq);
	argv = wrapped_argv(nwdd, d->vglog, wait_ready ? args_ready :
	    args_plain);
	fflush(NULL);
	if ((d->pid = fork()) == -1) {
		fprintf(stderr, "harness: fork: %s\n", strerror(errno));
		goto fail;
	}
	if (d->pid == 0) {
		/* nwdd must not outlive a test that crashes. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if ((logfd = open(d->log, O_WRONLY | O_CREAT | O_APPEND,
		    0644)) == -1)
			_exit(127);
		dup2(logfd, 1);
		dup2(logfd, 2);
		close(logfd);
		if ((logfd = open("/dev/null", O_RDONLY)) != -1 && logfd != 0) {
			dup2(logfd, 0);
			close(logfd);
		}
		if (wait_ready) {
			if (rfd[1] == READY_FD)
				fcntl(READY_FD, F_SETFD, 0);
			else if (dup2(rfd[1], READY_FD) == -1)
				_exit(127);
		}
		/* nwdd, or a wrapper (NWD_TEST_DAEMON_WRAPPER) and nwdd. */
		execv(argv[0], argv);
		fprintf(stderr, "harness: cannot run %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	free_argv(argv);
	argv = NULL;
	close(rfd[1]);
	rfd[1] = -1;
	d->pidfd = pidfd_open_compat(d->pid);
	last_port = d->port;
	if (!wait_ready) {
		close(rfd[0]);
		free(nwdd);
		return d;
	}

	/*
	 * nwdd writes "READY\n" to the pipe once it serves and closes it; EOF
	 * without it means that it exited (or closed the fd) first.
	 */
	deadline = harness_mono_ms() + READY_TIMEOUT_MS;
	for (;;) {
		pfd.fd = rfd[0];
		pfd.events = POLLIN;
		r = poll(&pfd, 1, remaining_ms(deadline));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, "harness: nwdd (pid %d) not ready after "
			    "%d ms; killing it\n", (int)d->pid, READY_TIMEOUT_MS);
			kill(d->pid, SIGKILL);
			goto fail_running;
		}
		n = read(rfd[0], buf + got, sizeof(buf) - 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
		buf[got] = '\0';
		if (strchr(buf, '\n') != NULL || got == sizeof(buf) - 1)
			break;
	}
	buf[got] = '\0';
	if (strcmp(buf, "READY\n") != 0) {
		if (got > 0)
			fprintf(stderr, "harness: nwdd wrote \"%s\" to the "
			    "ready fd, not READY\n", buf);
		else
			fprintf(stderr, "harness: nwdd closed the ready fd "
			    "without READY\n");
		goto fail_running;
	}
	close(rfd[0]);
	free(nwdd);
	return d;

fail_running:
	/* It closed the pipe, so it is exiting; give it a moment to finish. */
	if (reap(d, STOP_TIMEOUT_MS) == -1) {
		kill(d->pid, SIGKILL);
		reap(d, -1);
	}
	fprintf(stderr, "harness: nwdd exited with status %d\n", d->status);
	print_log_tail(d->log);
fail:
	if (rfd[0] != -1)
		close(rfd[0]);
	if (rfd[1] != -1)
		close(rfd[1]);
	free_argv(argv);
	free(nwdd);
	daemon_free(d);
	return NULL;
}

struct harness_daemon *
harness_daemon_start(const char *extra_config)
{
	return daemon_start(extra_config, 1);
}

struct harness_daemon *
harness_daemon_spawn(const char *extra_config)
{
	return daemon_start(extra_config, 0);
}

static int	 spread_port[8];	/* harness_daemon_spread() */
static size_t	 nspread, spread_next;

void
harness_daemon_use(const struct harness_daemon *d)
{
	last_port = d->port;
	nspread = 0;
}

void
harness_daemon_spread(struct harness_daemon *const *d, size_t n)
{
	size_t	i;

	for (i = 0; i < n && i < 8; i++)
		spread_port[i] = d[i]->port;
	nspread = i;
	spread_next = 0;
}

int
harness_daemon_port(const struct harness_daemon *d)
{
	return d->port;
}

pid_t
harness_daemon_pid(const struct harness_daemon *d)
{
	return d->pid;
}

const char *
harness_daemon_log(const struct harness_daemon *d)
{
	return d->log;
}

const char *
harness_daemon_config(const struct harness_daemon *d)
{
	return d->conf;
}

const char *
harness_last_log(void)
{
	return last_log;
}

int
harness_daemon_signal(struct harness_daemon *d, int sig)
{
	if (d->exited) {
		fprintf(stderr, "harness: nwdd (pid %d) has already exited\n",
		    (int)d->pid);
		return -1;
	}
	if (kill(d->pid, sig) == -1) {
		fprintf(stderr, "harness: kill %d: %s\n", (int)d->pid,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
harness_daemon_wait_exit(struct harness_daemon *d, int timeout_ms)
{
	if (reap(d, timeout_ms) == -1)
		return -1;
	return d->status;
}

int
harness_daemon_stop(struct harness_daemon *d)
{
	int	status;

	if (d == NULL)
		return -1;
	if (!d->exited) {
		kill(d->pid, SIGTERM);
		if (reap(d, STOP_TIMEOUT_MS) == -1) {
			fprintf(stderr, "harness: nwdd (pid %d) still runs %d ms "
			    "after SIGTERM; killing it\n", (int)d->pid,
			    STOP_TIMEOUT_MS);
			print_log_tail(d->log);
			kill(d->pid, SIGKILL);
			reap(d, -1);
			d->status = -1;
		}
	}
	status = d->status;
	daemon_free(d);
	return status;
}

/* ---- the daemon's log ------------------------------------------------------ */

static int
log_has(const char *path, size_t mark, const char *needle)
{
	char	*buf;
	size_t	 len;
	int	 found;

	if ((buf = slurp(path, &len)) == NULL)
		return 0;
	found = mark <= len &&
	    memmem(buf + mark, len - mark, needle, strlen(needle)) != NULL;
	free(buf);
	return found;
}

int
harness_log_contains(const struct harness_daemon *d, const char *needle)
{
	return log_has(d->log, 0, needle);
}

size_t
harness_log_mark(const struct harness_daemon *d)
{
	struct stat	st;

	return stat(d->log, &st) == 0 ? (size_t)st.st_size : 0;
}

int
harness_wait_log(const struct harness_daemon *d, const char *needle,
    int timeout_ms)
{
	return harness_wait_log_after(d, 0, needle, timeout_ms);
}

int
harness_wait_log_after(const struct harness_daemon *d, size_t mark,
    const char *needle, int timeout_ms)
{
	struct pollfd	 pfd;
	char		 evbuf[4096];
	int64_t		 deadline = harness_mono_ms() + timeout_ms;
	int		 ifd, found = 0;

	/*
	 * The log is followed through inotify: each write to it wakes us.
	 * The watch is set up before the first look, so no write is missed.
	 * Without inotify this degrades to a 20 ms poll of the file.
	 */
	ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ifd != -1 && inotify_add_watch(ifd, d->log,
	    IN_MODIFY | IN_CLOSE_WRITE) == -1) {
		close(ifd);
		ifd = -1;
	}
	for (;;) {
		if (log_has(d->log, mark, needle)) {
			found = 1;
			break;
		}
		if (remaining_ms(deadline) == 0)
			break;
		pfd.fd = ifd;
		pfd.events = POLLIN;
		if (ifd == -1)
			poll(NULL, 0, remaining_ms(deadline) < 20 ?
			    remaining_ms(deadline) : 20);
		else if (poll(&pfd, 1, remaining_ms(deadline)) > 0)
			while (read(ifd, evbuf, sizeof(evbuf)) > 0)
				;
	}
	if (ifd != -1)
		close(ifd);
	return found;
}

/* ---- PostgreSQL ------------------------------------------------------------ */

static int	 standby_port;		/* 0: no standby */
static int	 promoted;		/* the standby is the primary */
static char	*standby_dir;		/* NWD_TEST_PGDIR/standby */

/* The directory of the cluster harness_sql() runs on. */
static const char *
current_pgdir(void)
{
	const char *pgdir = env_required("NWD_TEST_PGDIR");

	return promoted && standby_dir != NULL ? standby_dir : pgdir;
}

/* Runs deploy/pg.sh what a1 [a2] (a2 may be NULL); returns its status. */
static int
pg_sh(const char *what, const char *a1, const char *a2)
{
	char	*pgsh, *argv[5];
	int	 rc;

	pgsh = xasprintf("%s/deploy/pg.sh", srcdir());
	argv[0] = pgsh;
	argv[1] = (char *)what;
	argv[2] = (char *)a1;
	argv[3] = (char *)a2;
	argv[4] = NULL;
	rc = run(argv, NULL, 0, NULL);
	if (rc != 0)
		fprintf(stderr, "harness: pg.sh %s %s%s%s exited %d\n", what,
		    a1, a2 ? " " : "", a2 ? a2 : "", rc);
	free(pgsh);
	return rc;
}

/* Runs deploy/pg.sh what NWD_TEST_PGDIR [mode]; 0 or -1. */
static int
pg_ctl(const char *what, const char *mode)
{
	const char *pgdir;

	if ((pgdir = env_required("NWD_TEST_PGDIR")) == NULL)
		return -1;
	return pg_sh(what, pgdir, mode) == 0 ? 0 : -1;
}

int
harness_pg_stop(void)
{
	return pg_ctl("stop", NULL);
}

int
harness_pg_kill(void)
{
	return pg_ctl("stop", "immediate");
}

int
harness_pg_start(void)
{
	return pg_ctl("start", NULL);
}

int
harness_pg_standby_start(void)
{
	const char	*pgdir;
	char		 port[16];
	int		 attempt, p, rc;

	if ((pgdir = env_required("NWD_TEST_PGDIR")) == NULL)
		return -1;
	if (standby_port != 0) {
		fprintf(stderr, "harness: a standby runs already\n");
		return -1;
	}
	/* Another process may take the port first: pg.sh exits 3. */
	for (attempt = 0; attempt < 5; attempt++) {
		p = harness_free_port();
		snprintf(port, sizeof(port), "%d", p);
		rc = pg_sh("standby", pgdir, port);
		if (rc == 0) {
			standby_port = p;
			free(standby_dir);
			standby_dir = xasprintf("%s/standby", pgdir);
			return 0;
		}
		if (rc != 3)
			return -1;
	}
	return -1;
}

int
harness_pg_promote(void)
{
	if (standby_port == 0 || standby_dir == NULL) {
		fprintf(stderr, "harness: no standby to promote\n");
		return -1;
	}
	if (pg_sh("promote", standby_dir, NULL) != 0)
		return -1;
	promoted = 1;
	return 0;
}

int
harness_pg_standby_port(void)
{
	return standby_port;
}

const char *
harness_pg_port(void)
{
	static char	buf[16];
	const char	*pgport = env_required("NWD_TEST_PGPORT");

	if (!promoted)
		return pgport;
	snprintf(buf, sizeof(buf), "%d", standby_port);
	return buf;
}

const char *
harness_pg_multihost(const char *user)
{
	static char	*buf;
	const char	*pgport = env_required("NWD_TEST_PGPORT");

	free(buf);
	buf = xasprintf("host=127.0.0.1,127.0.0.1 port=%s,%d dbname=nwd "
	    "user=%s target_session_attrs=read-write connect_timeout=5",
	    pgport != NULL ? pgport : "0", standby_port, user);
	return buf;
}

struct harness_lock {
	pid_t	pid;
	int	in;	/* psql's standard input */
};

struct harness_lock *
harness_lock_table(const char *table)
{
	struct harness_lock	*l;
	const char		*pgdir, *rel;
	char			*pgsh, *sql;
	int			 p[2], devnull;

	if ((pgdir = current_pgdir()) == NULL)
		fail_msg("harness_lock_table: no NWD_TEST_PGDIR");
	l = calloc(1, sizeof(*l));
	assert_non_null(l);
	pgsh = xasprintf("%s/deploy/pg.sh", srcdir());
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	l->pid = fork();
	assert_true(l->pid >= 0);
	if (l->pid == 0) {
		dup2(p[0], 0);
		if ((devnull = open("/dev/null", O_WRONLY)) != -1)
			dup2(devnull, 1);
		execl(pgsh, pgsh, "psql", pgdir, "postgres", "-X", "-q", "-v",
		    "ON_ERROR_STOP=1", (char *)NULL);
		_exit(127);
	}
	free(pgsh);
	close(p[0]);
	l->in = p[1];
	sql = xasprintf("BEGIN;\nLOCK TABLE %s IN ACCESS EXCLUSIVE MODE;\n",
	    table);
	assert_int_equal(write(l->in, sql, strlen(sql)), (ssize_t)strlen(sql));
	free(sql);
	rel = strchr(table, '.') != NULL ? strchr(table, '.') + 1 : table;
	harness_wait_sql_int("postgres", 15000, 1, "SELECT count(*) FROM "
	    "pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE "
	    "c.relname = '%s' AND l.mode = 'AccessExclusiveLock' AND "
	    "l.granted", rel);
	return l;
}

void
harness_unlock_table(struct harness_lock *l)
{
	int status;

	if (l == NULL)
		return;
	assert_int_equal(write(l->in, "COMMIT;\n", 8), 8);
	close(l->in);
	assert_int_equal(waitpid(l->pid, &status, 0), l->pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	free(l);
}

void
harness_lock_abort(struct harness_lock *l)
{
	if (l == NULL)
		return;
	close(l->in);
	kill(l->pid, SIGTERM);
	waitpid(l->pid, NULL, 0);
	free(l);
}

int
harness_sql(const char *role, const char *sql, char *out, size_t outlen)
{
	const char	*pgdir, *tmp;
	char		*pgsh, *errpath, *msg;
	char		*argv[] = { NULL, "psql", NULL, (char *)role, "-X", "-q",
			    "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c",
			    (char *)sql, NULL };
	size_t		 len;
	int		 rc;

	if ((pgdir = current_pgdir()) == NULL ||
	    (tmp = env_required("NWD_TEST_TMP")) == NULL)
		return -1;
	pgsh = xasprintf("%s/deploy/pg.sh", srcdir());
	errpath = xasprintf("%s/harness-sql.err", tmp);
	argv[0] = pgsh;
	argv[2] = (char *)pgdir;
	if (role == NULL)
		argv[3] = "postgres";
	unlink(errpath);
	rc = run(argv, out, outlen, errpath);
	if (rc > 0 && (msg = slurp(errpath, &len)) != NULL) {
		if (out != NULL && outlen > 0)
			snprintf(out, outlen, "%s", msg);
		free(msg);
	}
	if (out != NULL && outlen > 0) {
		len = strlen(out);
		while (len > 0 && out[len - 1] == '\n')
			out[--len] = '\0';
	}
	unlink(errpath);
	free(errpath);
	free(pgsh);
	return rc;
}

/* harness_sql(), failing the running test on an error. */
static void
sql_or_fail(const char *role, const char *sql, char *out, size_t outlen)
{
	if (out != NULL && outlen > 0)
		out[0] = '\0';
	if (harness_sql(role, sql, out, outlen) != 0)
		fail_msg("SQL as %s failed: %s: %s", role, sql,
		    out != NULL && outlen > 0 ? out : "");
}

/*
 * Formats fmt into a new string, which the caller frees, and runs it as
 * sql_or_fail() does.
 */
static char *
vsql_or_fail(const char *role, char *out, size_t outlen, const char *fmt,
    va_list ap)
{
	char	*sql;

	if (vasprintf(&sql, fmt, ap) == -1) {
		fprintf(stderr, "harness: out of memory\n");
		abort();
	}
	sql_or_fail(role, sql, out, outlen);
	return sql;
}

void
harness_sql_text(const char *role, char *out, size_t outlen,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	free(vsql_or_fail(role, out, outlen, fmt, ap));
	va_end(ap);
}

int
harness_sql_int(const char *role, const char *fmt, ...)
{
	char	 out[SQL_INT_OUT];
	va_list	 ap;

	va_start(ap, fmt);
	free(vsql_or_fail(role, out, sizeof(out), fmt, ap));
	va_end(ap);
	return atoi(out);
}

void
harness_wait_sql_int(const char *role, int timeout_ms, int want,
    const char *fmt, ...)
{
	char	*sql, out[SQL_INT_OUT];
	va_list	 ap;
	int64_t	 deadline;
	int	 got;

	va_start(ap, fmt);
	sql = vsql_or_fail(role, out, sizeof(out), fmt, ap);
	va_end(ap);
	deadline = harness_mono_ms() + timeout_ms;
	while ((got = atoi(out)) != want) {
		if (harness_mono_ms() >= deadline)
			fail_msg("waited %d ms for \"%s\" = %d; it is %d",
			    timeout_ms, sql, want, got);
		poll(NULL, 0, SQL_POLL_MS);
		sql_or_fail(role, sql, out, sizeof(out));
	}
	free(sql);
}

/* ---- certificates ---------------------------------------------------------- */

static const char *
pki_dir(void)
{
	const char	*pki;

	if ((pki = env_required("NWD_TEST_PKI")) == NULL)
		pki = ".";
	return pki;
}

const char *
harness_pki(const char *file)
{
	static char	path[4096];

	snprintf(path, sizeof(path), "%s/%s", pki_dir(), file);
	return path;
}

int
harness_pki_client(const char *name)
{
	const char	*tmp = env_required("NWD_TEST_TMP");
	char		*base, *cnf, *csr, *cmd;
	FILE		*fp;
	int		 rc, pid = (int)getpid();

	if (tmp == NULL)
		return -1;
	base = xasprintf("%s/clients/%s", pki_dir(), name);
	/* One good for another hour is kept: a test beside this one may be
	 * reading it. */
	cmd = xasprintf("openssl x509 -checkend 3600 -noout -in '%s.crt' "
	    ">/dev/null 2>&1", base);
	rc = system(cmd);
	free(cmd);
	if (rc == 0) {
		free(base);
		return 0;
	}
	cnf = xasprintf("%s/%s.cnf", tmp, name);
	csr = xasprintf("%s/%s.csr", tmp, name);
	if ((fp = fopen(cnf, "w")) == NULL) {
		fprintf(stderr, "harness: %s: %s\n", cnf, strerror(errno));
		rc = -1;
		goto out;
	}
	fprintf(fp, "[ req ]\ndistinguished_name = dn\nprompt = no\n[ dn ]\n"
	    "[ client ]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = "
	    "critical, digitalSignature\nextendedKeyUsage = clientAuth\n");
	if (fclose(fp) != 0) {
		fprintf(stderr, "harness: %s: %s\n", cnf, strerror(errno));
		rc = -1;
		goto out;
	}
	/* Made under temporary names and renamed into place, so that a test
	 * running beside this one never sees half a file. */
	cmd = xasprintf("set -e; umask 077; openssl req -config '%s' -new "
	    "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "
	    "'%s.key.%d' -out '%s' -subj '/O=nwd test/CN=%s' 2>/dev/null; "
	    "openssl x509 -req -in '%s' -CA '%s/ca.crt' -CAkey '%s/ca.key' "
	    "-set_serial %lld -days 2 -sha256 -extfile '%s' -extensions "
	    "client -out '%s.crt.%d' 2>/dev/null; mv -f '%s.key.%d' '%s.key'; "
	    "mv -f '%s.crt.%d' '%s.crt'", cnf, base, pid, csr, name, csr,
	    pki_dir(), pki_dir(), (long long)time(NULL) * 100000 + pid % 100000,
	    cnf, base, pid, base, pid, base, base, pid, base);
	rc = system(cmd);
	free(cmd);
	if (rc != 0) {
		fprintf(stderr, "harness: could not make the client "
		    "certificate %s (status %d)\n", base, rc);
		rc = -1;
	}
out:
	free(csr);
	free(cnf);
	free(base);
	return rc;
}

const char *
harness_principals_with(const char *lines)
{
	static char	 path[4096];
	const char	*tmp = env_required("NWD_TEST_TMP");
	char		 src[4096], line[1024];
	FILE		*in, *out;

	if (tmp == NULL)
		return NULL;
	snprintf(src, sizeof(src), "%s/deploy/principals.conf", srcdir());
	snprintf(path, sizeof(path), "%s/principals.conf", tmp);
	if ((in = fopen(src, "r")) == NULL) {
		fprintf(stderr, "harness: %s: %s\n", src, strerror(errno));
		return NULL;
	}
	if ((out = fopen(path, "w")) == NULL) {
		fprintf(stderr, "harness: %s: %s\n", path, strerror(errno));
		fclose(in);
		return NULL;
	}
	while (fgets(line, sizeof(line), in) != NULL)
		fputs(line, out);
	fputs(lines, out);
	fclose(in);
	if (fclose(out) != 0) {
		fprintf(stderr, "harness: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	return path;
}

/* ---- raw TLS client -------------------------------------------------------- */

/* Appends OpenSSL's error queue (and its verify result) to t->err. */
static void
tls_fail(struct harness_tls *t, const char *what)
{
	unsigned long	e;
	size_t		len;
	long		vr;
	char		buf[256];

	snprintf(t->err, sizeof(t->err), "%s", what);
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		len = strlen(t->err);
		snprintf(t->err + len, sizeof(t->err) - len, ": %s", buf);
	}
	if (t->ssl != NULL && (vr = SSL_get_verify_result(t->ssl)) != X509_V_OK) {
		len = strlen(t->err);
		snprintf(t->err + len, sizeof(t->err) - len,
		    " (server certificate: %s)",
		    X509_verify_cert_error_string(vr));
	}
}

static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd	pfd;
	int		r;

	pfd.fd = fd;
	pfd.events = events;
	do
		r = poll(&pfd, 1, remaining_ms(deadline));
	while (r == -1 && errno == EINTR);
	return r;
}

/* Bounds each blocking socket call by what is left until deadline. */
static void
set_socket_timeout(int fd, int64_t deadline)
{
	struct timeval	tv;
	int		ms = remaining_ms(deadline);

	if (ms == 0)
		ms = 1;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int
tcp_connect(int port, int64_t deadline, char *err, size_t errlen)
{
	struct sockaddr_in	sin;
	socklen_t		slen = sizeof(int);
	int			fd, flags, soerr = 0;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		if (errno != EINPROGRESS) {
			snprintf(err, errlen, "connect to 127.0.0.1:%d: %s",
			    port, strerror(errno));
			close(fd);
			return -1;
		}
		if (wait_fd(fd, POLLOUT, deadline) <= 0) {
			snprintf(err, errlen, "connect to 127.0.0.1:%d: timed "
			    "out", port);
			close(fd);
			return -1;
		}
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen);
		if (soerr != 0) {
			snprintf(err, errlen, "connect to 127.0.0.1:%d: %s",
			    port, strerror(soerr));
			close(fd);
			return -1;
		}
	}
	fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	return fd;
}

static struct harness_tls *tls_connect(int, const char *, const char *,
		    const char *, int, char *, size_t);

struct harness_tls *
harness_tls_connect(int port, const char *client, const char *ca_override,
    char *err, size_t errlen)
{
	return harness_tls_connect_version(port, client, ca_override, 13, err,
	    errlen);
}

struct harness_tls *
harness_tls_connect_version(int port, const char *client,
    const char *ca_override, int version, char *err, size_t errlen)
{
	char	crt[4096], key[4096];

	if (client == NULL)
		return tls_connect(port, NULL, NULL, ca_override, version, err,
		    errlen);
	snprintf(crt, sizeof(crt), "%s/clients/%s.crt", pki_dir(), client);
	snprintf(key, sizeof(key), "%s/clients/%s.key", pki_dir(), client);
	return tls_connect(port, crt, key, ca_override, version, err, errlen);
}

struct harness_tls *
harness_tls_connect_files(int port, const char *crt, const char *key,
    char *err, size_t errlen)
{
	return tls_connect(port, crt, key, NULL, 13, err, errlen);
}

/* The connection of harness_tls_connect_version(), with the client's
 * certificate and key as files (both NULL: none). */
static struct harness_tls *
tls_connect(int port, const char *crt, const char *key,
    const char *ca_override, int version, char *err, size_t errlen)
{
	struct harness_tls	*t;
	int64_t			 deadline = harness_mono_ms() +
	    CONNECT_TIMEOUT_MS;
	char			 ca[4096];
	int			 proto, r;

	/* A peer that closes first must give EPIPE, not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	proto = version == 12 ? TLS1_2_VERSION : TLS1_3_VERSION;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->fd = -1;
	snprintf(ca, sizeof(ca), "%s", ca_override != NULL ? ca_override :
	    harness_pki("ca.crt"));
	ERR_clear_error();
	if ((t->ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		tls_fail(t, "SSL_CTX_new");
		goto fail;
	}
	SSL_CTX_set_min_proto_version(t->ctx, proto);
	SSL_CTX_set_max_proto_version(t->ctx, proto);
	/* Reads return after each record, so poll() deadlines hold. */
	SSL_CTX_clear_mode(t->ctx, SSL_MODE_AUTO_RETRY);
	SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(t->ctx, ca, NULL) != 1) {
		tls_fail(t, "cannot load the CA");
		snprintf(err, errlen, "%s: %s", ca, t->err);
		goto fail_quiet;
	}
	if (crt != NULL) {
		if (SSL_CTX_use_certificate_chain_file(t->ctx, crt) != 1 ||
		    SSL_CTX_use_PrivateKey_file(t->ctx, key,
		    SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(t->ctx) != 1) {
			tls_fail(t, "cannot load the client certificate");
			snprintf(err, errlen, "%s: %s", crt, t->err);
			goto fail_quiet;
		}
	}
	if ((t->fd = tcp_connect(port, deadline, err, errlen)) == -1)
		goto fail_quiet;
	if ((t->ssl = SSL_new(t->ctx)) == NULL ||
	    SSL_set_fd(t->ssl, t->fd) != 1 ||
	    SSL_set_tlsext_host_name(t->ssl, "localhost") != 1 ||
	    SSL_set1_host(t->ssl, "localhost") != 1) {
		tls_fail(t, "SSL setup");
		goto fail;
	}
	set_socket_timeout(t->fd, deadline);
	while ((r = SSL_connect(t->ssl)) != 1) {
		int	e = SSL_get_error(t->ssl, r);

		if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
		    remaining_ms(deadline) > 0)
			continue;
		if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
			snprintf(t->err, sizeof(t->err), "TLS handshake: %s",
			    errno == EAGAIN ? "timed out" : errno ?
			    strerror(errno) : "connection closed by the server");
		else
			tls_fail(t, "TLS handshake");
		goto fail;
	}
	return t;

fail:
	snprintf(err, errlen, "%s", t->err);
fail_quiet:
	t->broken = 1;
	harness_tls_close(t);
	return NULL;
}

const char *
harness_tls_error(const struct harness_tls *t)
{
	return t->err;
}

int
harness_tls_fd(const struct harness_tls *t)
{
	return t->fd;
}

int
harness_tls_write(struct harness_tls *t, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	int64_t		 deadline = harness_mono_ms() + IO_TIMEOUT_MS;
	size_t		 n;
	int		 r, e;

	ERR_clear_error();
	while (len > 0) {
		set_socket_timeout(t->fd, deadline);
		r = SSL_write_ex(t->ssl, p, len, &n);
		if (r == 1) {
			p += n;
			len -= n;
			continue;
		}
		e = SSL_get_error(t->ssl, r);
		if ((e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) &&
		    remaining_ms(deadline) > 0)
			continue;
		t->broken = 1;
		if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
			snprintf(t->err, sizeof(t->err), "write: %s",
			    errno == EAGAIN ? "timed out" : errno ?
			    strerror(errno) : "connection closed");
		else
			tls_fail(t, "write");
		return -1;
	}
	return 0;
}

/*
 * Reads exactly len bytes before deadline.  Returns 0, 1 on a close before
 * the first byte, -1 otherwise (cause in t->err).
 */
static int
read_exact(struct harness_tls *t, uint8_t *buf, size_t len, int64_t deadline)
{
	size_t	got = 0, n;
	int	r, e;

	ERR_clear_error();
	while (got < len) {
		if (SSL_pending(t->ssl) == 0) {
			r = wait_fd(t->fd, POLLIN, deadline);
			if (r == 0) {
				snprintf(t->err, sizeof(t->err), "read: timed "
				    "out with %zu of %zu bytes", got, len);
				return -1;
			}
		}
		set_socket_timeout(t->fd, deadline);
		r = SSL_read_ex(t->ssl, buf + got, len - got, &n);
		if (r == 1) {
			got += n;
			continue;
		}
		e = SSL_get_error(t->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (remaining_ms(deadline) > 0)
				continue;
			snprintf(t->err, sizeof(t->err), "read: timed out");
			return -1;
		}
		if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL &&
		    ERR_peek_error() == 0 && (errno == 0 ||
		    errno == ECONNRESET))) {
			t->broken = e != SSL_ERROR_ZERO_RETURN;
			snprintf(t->err, sizeof(t->err), "connection closed by "
			    "the server%s", e == SSL_ERROR_ZERO_RETURN ? "" :
			    errno == ECONNRESET ? " (reset)" : " (EOF)");
			if (got == 0)
				return 1;
			snprintf(t->err + strlen(t->err), sizeof(t->err) -
			    strlen(t->err), " after %zu of %zu bytes", got, len);
			return -1;
		}
		t->broken = 1;
		if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
			snprintf(t->err, sizeof(t->err), "read: %s",
			    errno == EAGAIN ? "timed out" : strerror(errno));
		else
			tls_fail(t, "read");
		return -1;
	}
	return 0;
}

int
harness_tls_read_frame(struct harness_tls *t, int timeout_ms,
    Nwd__V1__Frame **out)
{
	uint8_t		 hdr[FRAME_HEADER_LEN], *payload;
	uint32_t	 len;
	int64_t		 deadline = harness_mono_ms() + timeout_ms;
	int		 r;
	char		 err[256];

	*out = NULL;
	t->err[0] = '\0';
	if ((r = read_exact(t, hdr, sizeof(hdr), deadline)) != 0)
		return r;
	len = frame_peek_length(hdr);
	if (len == 0 || len > READ_MAX_FRAME) {
		snprintf(t->err, sizeof(t->err), "server sent a frame length "
		    "of %u", len);
		return -1;
	}
	if ((payload = malloc(len)) == NULL) {
		snprintf(t->err, sizeof(t->err), "out of memory");
		return -1;
	}
	if ((r = read_exact(t, payload, len, deadline)) != 0) {
		free(payload);
		return -1;
	}
	*out = frame_decode(payload, len, DECODE_ALLOC_CAP, err, sizeof(err));
	free(payload);
	if (*out == NULL) {
		snprintf(t->err, sizeof(t->err), "undecodable frame: %s", err);
		return -1;
	}
	return 0;
}

int
harness_tls_send_frame(struct harness_tls *t, const Nwd__V1__Frame *f)
{
	uint8_t	*buf;
	size_t	 len;
	int	 r;

	if ((buf = frame_encode(f, READ_MAX_FRAME, &len)) == NULL) {
		snprintf(t->err, sizeof(t->err), "frame_encode failed");
		return -1;
	}
	r = harness_tls_write(t, buf, len);
	free(buf);
	return r;
}

int
harness_tls_hello(struct harness_tls *t, int timeout_ms, Nwd__V1__Frame **out)
{
	Nwd__V1__Frame	f = NWD__V1__FRAME__INIT;
	Nwd__V1__Hello	h = NWD__V1__HELLO__INIT;

	*out = NULL;
	h.protocol_version = FRAME_PROTOCOL_VERSION;
	h.client_name = "nwd-test-harness";
	f.request_id = 1;
	f.msg_case = NWD__V1__FRAME__MSG_HELLO;
	f.hello = &h;
	if (harness_tls_send_frame(t, &f) == -1)
		return -1;
	return harness_tls_read_frame(t, timeout_ms, out);
}

void
harness_tls_close(struct harness_tls *t)
{
	if (t == NULL)
		return;
	if (t->ssl != NULL) {
		if (!t->broken && SSL_is_init_finished(t->ssl)) {
			set_socket_timeout(t->fd, harness_mono_ms() + 1000);
			SSL_shutdown(t->ssl);
		}
		SSL_free(t->ssl);
	}
	SSL_CTX_free(t->ctx);
	if (t->fd != -1)
		close(t->fd);
	ERR_clear_error();
	free(t);
}

struct harness_tls *
harness_tls_session(int port, const char *client, int timeout_ms)
{
	struct harness_tls	*t;
	Nwd__V1__Frame		*f = NULL;
	char			 err[512];

	if ((t = harness_tls_connect(port, client, NULL, err, sizeof(err))) ==
	    NULL)
		fail_msg("connect as %s: %s", client, err);
	if (harness_tls_hello(t, timeout_ms, &f) != 0 ||
	    f->msg_case != NWD__V1__FRAME__MSG_WELCOME)
		fail_msg("hello as %s: %s", client, f == NULL ?
		    harness_tls_error(t) : frame_msg_name(f));
	frame_free(f);
	return t;
}

int
harness_tcp_connect(int port)
{
	struct sockaddr_in	sin;
	int			fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- libnwd ---------------------------------------------------------------- */

struct kept_string {
	struct kept_string	*next;
	char			 s[];
};

/* Strings handed to libnwd options, kept until the process exits. */
static struct kept_string *kept;

static const char *
keep(const char *s)
{
	struct kept_string	*k;
	size_t			 len = strlen(s) + 1;

	for (k = kept; k != NULL; k = k->next)
		if (strcmp(k->s, s) == 0)
			return k->s;
	if ((k = malloc(sizeof(*k) + len)) == NULL) {
		fprintf(stderr, "harness: out of memory\n");
		abort();
	}
	memcpy(k->s, s, len);
	k->next = kept;
	kept = k;
	return k->s;
}

struct nwd_opts
harness_client(const char *name)
{
	struct nwd_opts	o;
	char		buf[4200];

	memset(&o, 0, sizeof(o));
	snprintf(buf, sizeof(buf), "127.0.0.1:%d", nspread > 0 ?
	    spread_port[spread_next++ % nspread] : last_port);
	o.server = keep(buf);
	snprintf(buf, sizeof(buf), "%s/clients/%s.crt", pki_dir(), name);
	o.cert = keep(buf);
	snprintf(buf, sizeof(buf), "%s/clients/%s.key", pki_dir(), name);
	o.key = keep(buf);
	o.ca = keep(harness_pki("ca.crt"));
	o.client_name = keep(name);
	o.timeout_ms = 10000;
	return o;
}

struct nwd_client *
harness_connect_as(const char *name)
{
	struct nwd_opts			 o = harness_client(name);
	struct nwd_client		*c;
	const Nwd__V1__Principal	*p;
	enum nwd_status			 st;
	char				 err[512];

	if ((c = nwd_connect(&o, &st, err, sizeof(err))) == NULL)
		fail_msg("connect as %s: %s (%s)", name, err,
		    nwd_status_name(st));
	p = nwd_principal(c);
	if (p == NULL || p->id == NULL || strcmp(p->id, name) != 0)
		fail_msg("connected as %s, the broker names the principal %s",
		    name, p == NULL ? "(none)" : p->id == NULL ? "(null)" :
		    p->id);
	return c;
}

/* ---- the shell ---------------------------------------------------------- */

int
harness_sh(const char *fmt, ...)
{
	char	*cmd;
	va_list	 ap;
	int	 rc;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) == -1) {
		va_end(ap);
		fprintf(stderr, "harness: out of memory\n");
		return -1;
	}
	va_end(ap);
	rc = system(cmd);
	if (rc != -1 && WIFEXITED(rc))
		rc = WEXITSTATUS(rc);
	else if (rc != -1 && WIFSIGNALED(rc))
		rc = 128 + WTERMSIG(rc);
	else
		rc = -1;
	if (rc != 0)
		fprintf(stderr, "harness: exited %d: %s\n", rc, cmd);
	free(cmd);
	return rc;
}

/* ---- the nwd tool ------------------------------------------------------ */

int
harness_run_nwd(char *out, size_t outlen, const char *who, const char *fmt,
    ...)
{
	struct nwd_opts	 o;
	char		 cmd[12288], env[4200], args[6144];
	FILE		*p;
	size_t		 n = 0, r;
	va_list		 ap;
	int		 status;

	if (outlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	env[0] = '\0';
	if (who != NULL) {
		o = harness_client(who);
		snprintf(env, sizeof(env), "NWD_SERVER=%s NWD_CERT=%s "
		    "NWD_KEY=%s NWD_CA=%s ", o.server, o.cert, o.key, o.ca);
	}
	snprintf(cmd, sizeof(cmd), "%s%s/client/nwd %s </dev/null", env,
	    builddir(), args);
	fflush(NULL);
	if ((p = popen(cmd, "r")) == NULL) {
		fprintf(stderr, "harness: popen %s: %s\n", cmd,
		    strerror(errno));
		return -1;
	}
	while (n + 1 < outlen &&
	    (r = fread(out + n, 1, outlen - 1 - n, p)) > 0)
		n += r;
	out[n] = '\0';
	/* The rest, if any, is read and dropped: the tool must not block. */
	while (fread(args, 1, sizeof(args), p) > 0)
		n = outlen;
	status = pclose(p);
	if (n + 1 >= outlen) {
		fprintf(stderr, "harness: the output of %s is larger than %zu "
		    "bytes\n", cmd, outlen);
		return -1;
	}
	if (status == -1 || !WIFEXITED(status)) {
		fprintf(stderr, "harness: %s did not exit normally\n", cmd);
		return -1;
	}
	return WEXITSTATUS(status);
}

/* ------------------------------------------------------------------------
 * The nwd tool as a child that runs on
 */

struct harness_child {
	pid_t	 pid;
	int	 fd[3];		/* [1] its stdout, [2] its stderr; -1 at EOF */
	char	*buf[3];	/* owned: everything read, NUL-terminated */
	size_t	 len[3];
	size_t	 seen[3];	/* harness_child_wait_line() went this far */
	int	 exited;
	int	 status;
};

struct harness_child *
harness_nwd_spawn(const char *who, const char *fmt, ...)
{
	struct harness_child	*c;
	struct nwd_opts		 o;
	char			*args, *cmd;
	int			 out[2] = { -1, -1 }, err[2] = { -1, -1 }, fd;
	va_list			 ap;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->fd[0] = -1;
	memset(&o, 0, sizeof(o));
	va_start(ap, fmt);
	if (vasprintf(&args, fmt, ap) == -1)
		args = NULL;
	va_end(ap);
	if (args == NULL)
		goto fail;
	cmd = xasprintf("exec %s/client/nwd %s", builddir(), args);
	free(args);
	if (who != NULL)
		o = harness_client(who);
	if (pipe2(out, O_CLOEXEC) == -1 || pipe2(err, O_CLOEXEC) == -1) {
		fprintf(stderr, "harness: pipe: %s\n", strerror(errno));
		free(cmd);
		goto fail;
	}
	fflush(NULL);
	if ((c->pid = fork()) == -1) {
		fprintf(stderr, "harness: fork: %s\n", strerror(errno));
		free(cmd);
		goto fail;
	}
	if (c->pid == 0) {
		/* The tool must not outlive a test that crashes. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(out[1], 1);
		dup2(err[1], 2);
		if ((fd = open("/dev/null", O_RDONLY)) != -1 && fd != 0) {
			dup2(fd, 0);
			close(fd);
		}
		if (who != NULL && (setenv("NWD_SERVER", o.server, 1) == -1 ||
		    setenv("NWD_CERT", o.cert, 1) == -1 ||
		    setenv("NWD_KEY", o.key, 1) == -1 ||
		    setenv("NWD_CA", o.ca, 1) == -1))
			_exit(127);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	free(cmd);
	close(out[1]);
	close(err[1]);
	c->fd[1] = out[0];
	c->fd[2] = err[0];
	fcntl(c->fd[1], F_SETFL, O_NONBLOCK);
	fcntl(c->fd[2], F_SETFL, O_NONBLOCK);
	return c;
fail:
	if (out[0] != -1) {
		close(out[0]);
		close(out[1]);
	}
	if (err[0] != -1) {
		close(err[0]);
		close(err[1]);
	}
	free(c);
	return NULL;
}

/*
 * Reads what the child has written, waiting up to timeout_ms (-1: until
 * both pipes are at EOF) for something.  Returns 1 if it read anything or
 * a pipe ended, 0 if nothing came in time.
 */
static int
child_read(struct harness_child *c, int timeout_ms)
{
	struct pollfd	pfd[2];
	char		tmp[8192], *nb;
	ssize_t		n;
	int		i, k, r, any = 0;

	for (i = 1, k = 0; i <= 2; i++) {
		pfd[k].fd = c->fd[i];
		pfd[k].events = POLLIN;
		pfd[k].revents = 0;
		k++;
	}
	do
		r = poll(pfd, 2, timeout_ms);
	while (r == -1 && errno == EINTR);
	if (r <= 0)
		return 0;
	for (i = 1; i <= 2; i++) {
		if (c->fd[i] == -1 || pfd[i - 1].revents == 0)
			continue;
		while ((n = read(c->fd[i], tmp, sizeof(tmp))) > 0) {
			if ((nb = realloc(c->buf[i], c->len[i] + n + 1)) ==
			    NULL)
				fail_msg("harness: out of memory");
			c->buf[i] = nb;
			memcpy(nb + c->len[i], tmp, n);
			c->len[i] += n;
			nb[c->len[i]] = '\0';
			any = 1;
		}
		if (n == 0 || (n == -1 && errno != EAGAIN &&
		    errno != EINTR)) {
			close(c->fd[i]);
			c->fd[i] = -1;
			any = 1;
		}
	}
	return any;
}

int
harness_child_wait_line(struct harness_child *c, int which,
    const char *needle, int timeout_ms, char *line, size_t linelen)
{
	int64_t		 deadline = harness_mono_ms() + timeout_ms;
	const char	*p, *start, *end;

	if (which != 1 && which != 2)
		return 0;
	for (;;) {
		if (c->buf[which] != NULL &&
		    (p = strstr(c->buf[which] + c->seen[which], needle)) !=
		    NULL && (end = strchr(p, '\n')) != NULL) {
			for (start = p; start > c->buf[which] +
			    c->seen[which] && start[-1] != '\n'; start--)
				;
			if (line != NULL && linelen > 0)
				snprintf(line, linelen, "%.*s",
				    (int)(end - start), start);
			c->seen[which] = (size_t)(end + 1 - c->buf[which]);
			return 1;
		}
		if (c->fd[which] == -1 || remaining_ms(deadline) == 0)
			return 0;
		child_read(c, remaining_ms(deadline));
	}
}

const char *
harness_child_output(const struct harness_child *c, int which)
{
	if ((which != 1 && which != 2) || c->buf[which] == NULL)
		return "";
	return c->buf[which];
}

pid_t
harness_child_pid(const struct harness_child *c)
{
	return c->pid;
}

int
harness_child_wait(struct harness_child *c, int timeout_ms)
{
	int64_t	deadline = harness_mono_ms() + timeout_ms;
	int	wstatus;
	pid_t	r;

	while (!c->exited) {
		/* Its output first: a child blocked on a full pipe never
		 * exits. */
		while (c->fd[1] != -1 || c->fd[2] != -1) {
			if (remaining_ms(deadline) == 0)
				return -1;
			child_read(c, remaining_ms(deadline));
		}
		do
			r = waitpid(c->pid, &wstatus, 0);
		while (r == -1 && errno == EINTR);
		c->exited = 1;
		c->status = r == -1 ? -1 : decode_status(wstatus);
	}
	return c->status;
}

void
harness_child_free(struct harness_child *c)
{
	int i;

	if (c == NULL)
		return;
	if (!c->exited) {
		kill(c->pid, SIGCONT);
		kill(c->pid, SIGTERM);
		if (harness_child_wait(c, STOP_TIMEOUT_MS) == -1) {
			kill(c->pid, SIGKILL);
			harness_child_wait(c, STOP_TIMEOUT_MS);
		}
	}
	for (i = 1; i <= 2; i++) {
		if (c->fd[i] != -1)
			close(c->fd[i]);
		free(c->buf[i]);
	}
	free(c);
}
