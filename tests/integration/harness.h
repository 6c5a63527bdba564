/*
 * harness: what the daemon integration tests need around a real nwdd.
 *
 * Every function expects the world that tests/run-test.sh sets up:
 * NWD_TEST_TMP (scratch directory), NWD_TEST_PKI (deploy/gen-pki.sh
 * output), NWD_TEST_PGDIR and NWD_TEST_PGPORT (a deploy/pg.sh cluster),
 * NWD_SRCDIR and NWD_BUILDDIR.  Failures are reported on stderr with their
 * cause; functions then return NULL or -1 as stated.  The exceptions,
 * harness_sql_int() and its kin, harness_connect_as() and
 * harness_tls_session(), are for cmocka tests: they fail the running test
 * with its cause (fail_msg()) instead.
 *
 * Nothing here sleeps to synchronise: the daemon's readiness is a pipe,
 * its exit a pidfd, log lines an inotify watch, and network reads are
 * poll()ed against a deadline.
 */
#ifndef NWD_HARNESS_H
#define NWD_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nwd.h"
#include "nwd.pb-c.h"

/* ---- clocks ------------------------------------------------------------- */

/* Milliseconds on CLOCK_MONOTONIC, for deadlines and durations. */
int64_t		 harness_mono_ms(void);
/* Milliseconds since the epoch (CLOCK_REALTIME), for times nwdd compares
 * with its own wall clock (an allocation's until, say). */
int64_t		 harness_wall_ms(void);

/* ---- the daemon ---------------------------------------------------------- */

struct harness_daemon;

/*
 * Writes a configuration into NWD_TEST_TMP (the test PKI, the principals
 * and policy of deploy/, the test database, listening on a free loopback
 * port), applies the migrations once per process (nwdd --migrate), starts
 * nwdd with --ready-fd and waits up to 30 s for it to report READY.
 *
 * extra_config (may be NULL) is more "key = value" lines; a key it sets
 * replaces the harness's line for that key (nwdd refuses a key set twice),
 * so "listen = 127.0.0.1:N" or "tls_crl =" work as expected.
 *
 * Returns the running daemon, which the caller ends with
 * harness_daemon_stop(), or NULL if nwdd exited or did not become ready in
 * time; the tail of its log is then printed and harness_last_log() names
 * the whole log.  nwdd gets SIGTERM if the test process dies.
 */
struct harness_daemon *harness_daemon_start(const char *extra_config);

/*
 * The same, without --ready-fd and without waiting: returns as soon as
 * nwdd is started (the migrations are still applied first, once per
 * process).  For tests that watch readiness themselves, e.g. through
 * $NOTIFY_SOCKET, which nwdd inherits from the test's environment.
 */
struct harness_daemon *harness_daemon_spawn(const char *extra_config);

/*
 * NWD_TEST_DAEMON_WRAPPER, when set, is a command (split at blanks) that
 * every nwdd the harness runs (nwdd --migrate too) is run under, e.g.
 *
 *   NWD_TEST_DAEMON_WRAPPER="valgrind --leak-check=full
 *       --errors-for-leak-kinds=definite --error-exitcode=97"
 *
 * If its first word is valgrind, the harness adds --log-file (beside the
 * daemon's log in NWD_TEST_TMP) and reads that log when the daemon is
 * reaped: errors (its ERROR SUMMARY, or the errors reported so far if it
 * was killed) are printed, the daemon's status becomes
 * HARNESS_VALGRIND_EXIT, and the test process exits with that status
 * whatever the test itself concluded.  valgrind runs nwdd in its own
 * process, so harness_daemon_pid() and signals still reach the daemon.
 */
#define HARNESS_VALGRIND_EXIT	97

/* 1 if nwdd runs under NWD_TEST_DAEMON_WRAPPER (slower; RSS is the
 * wrapper's), else 0. */
int		 harness_daemon_wrapped(void);

int		 harness_daemon_port(const struct harness_daemon *d);
/*
 * Several daemons at once (each harness_daemon_start() has an instance
 * name of its own, nwdd-test-N, on the same database): harness_client(),
 * harness_connect_as() and the nwd tool connect to the daemon started
 * last, or to d from this call on.
 */
void		 harness_daemon_use(const struct harness_daemon *d);
/*
 * Spreads the connections over n daemons (n <= 8): each harness_client()
 * (and so each harness_connect_as() and nwd tool run) takes the next of
 * them in turn, until harness_daemon_use() names one again.
 */
void		 harness_daemon_spread(struct harness_daemon *const *d,
		    size_t n);
/* A loopback port nothing listens on, outside the ephemeral range. */
int		 harness_free_port(void);
pid_t		 harness_daemon_pid(const struct harness_daemon *d);
/* Paths of its log (stdout and stderr) and of its configuration file. */
const char	*harness_daemon_log(const struct harness_daemon *d);
const char	*harness_daemon_config(const struct harness_daemon *d);

/* The log of the daemon most recently started, even one that failed. */
const char	*harness_last_log(void);

/* Sends sig to the daemon.  Returns 0, or -1 if it could not be sent. */
int		 harness_daemon_signal(struct harness_daemon *d, int sig);

/*
 * Waits up to timeout_ms for the daemon to exit by itself and reaps it.
 * Returns its status as harness_daemon_stop() does, or -1 on timeout
 * (the daemon then still runs).  d must still be given to
 * harness_daemon_stop(), which then only frees it.
 */
int		 harness_daemon_wait_exit(struct harness_daemon *d,
		    int timeout_ms);

/*
 * Sends SIGTERM (unless the daemon already exited), waits up to 30 s for
 * the exit (then SIGKILL), and frees d.  Returns the exit code, 128 + the
 * signal number if a signal ended it, or -1 if it had to be killed.
 * NULL is a no-op returning -1.
 */
int		 harness_daemon_stop(struct harness_daemon *d);

/* ---- the daemon's log ---------------------------------------------------- */

/* 1 if the log contains needle, else 0. */
int		 harness_log_contains(const struct harness_daemon *d,
		    const char *needle);

/* The log's current size, to pass to harness_wait_log_after(). */
size_t		 harness_log_mark(const struct harness_daemon *d);

/*
 * Waits up to timeout_ms for needle to appear in the log (anywhere, or
 * after byte offset mark).  Returns 1 once it is there, 0 on timeout.
 */
int		 harness_wait_log(const struct harness_daemon *d,
		    const char *needle, int timeout_ms);
int		 harness_wait_log_after(const struct harness_daemon *d,
		    size_t mark, const char *needle, int timeout_ms);

/* ---- PostgreSQL ----------------------------------------------------------- */

/* deploy/pg.sh on NWD_TEST_PGDIR; each blocks until done, returns 0/-1. */
int		 harness_pg_stop(void);		/* fast shutdown */
int		 harness_pg_kill(void);		/* immediate shutdown */
int		 harness_pg_start(void);

/*
 * A synchronous streaming standby of the harness's PostgreSQL (deploy/pg.sh
 * standby: pg_basebackup -R, a replication slot, synchronous_standby_names
 * on the primary), in NWD_TEST_PGDIR/standby on a free loopback port;
 * returns once the primary reports it "sync", 0 or -1.  harness_pg_kill()
 * still kills the primary; harness_pg_promote() promotes the standby (pg_ctl
 * promote, waiting until it accepts writes), after which harness_sql() and
 * its kin, harness_lock_table() and harness_pg_port() are the new
 * primary's.  run-test.sh removes the standby with the primary.
 */
int		 harness_pg_standby_start(void);
int		 harness_pg_promote(void);
/* The standby's port; 0 if none was started. */
int		 harness_pg_standby_port(void);
/* The port of the database harness_sql() runs on, in decimal. */
const char	*harness_pg_port(void);
/*
 * A libpq connection string naming the primary and the standby, in that
 * order, as user, with target_session_attrs=read-write (libpq tries each
 * host and keeps the one that takes writes), for "database =".  Valid
 * until the next call.
 */
const char	*harness_pg_multihost(const char *user);

/*
 * Runs sql (one or more statements) with psql -At in database nwd as role
 * (nwd_owner, nwd_daemon, nwd_auditor or postgres).  On success out holds
 * the output, trailing newline removed, columns separated by '|'; on
 * failure it holds psql's error message.  out may be NULL.  Returns 0 on
 * success, psql's non-zero exit status on an SQL or connection error, -1
 * if psql could not be run.
 */
int		 harness_sql(const char *role, const char *sql, char *out,
		    size_t outlen);

/*
 * The same for a test, with the query formatted from fmt (so a '%' of
 * the SQL, as in LIKE, is written "%%"): each fails the running test if
 * psql reports an error, naming role, the query and psql's message.
 *
 * harness_sql_text() puts the output into out as harness_sql() does.
 * harness_sql_int() returns the output read with atoi() (so no row is 0).
 * harness_wait_sql_int() runs the query until it returns want, every
 * 25 ms; if it still returns something else once timeout_ms have passed,
 * the test fails naming the query, want and the last answer.  It is for
 * rows committed shortly after an event that nothing signals to a client,
 * such as detached audit rows.
 */
void		 harness_sql_text(const char *role, char *out, size_t outlen,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int		 harness_sql_int(const char *role, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
void		 harness_wait_sql_int(const char *role, int timeout_ms,
		    int want, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));

/*
 * A psql session (role postgres, database nwd) holding ACCESS EXCLUSIVE on
 * table (e.g. "nwd.audit_events") in an open transaction: writes that need
 * the table wait until harness_unlock_table() commits it.  Returns once
 * pg_locks shows the lock granted; fails the running test otherwise.
 */
struct harness_lock *harness_lock_table(const char *table);
void		 harness_unlock_table(struct harness_lock *l);
/* After a failed test: ends the psql session without committing.  NULL
 * is a no-op. */
void		 harness_lock_abort(struct harness_lock *l);

/* ---- certificates ---------------------------------------------------------- */

/*
 * The path of a file of the test PKI, e.g. harness_pki("ca.crt") or
 * harness_pki("clients/plo-ana.key").  Points into static storage that the
 * next call reuses.
 */
const char	*harness_pki(const char *file);

/*
 * Makes clients/NAME.crt and clients/NAME.key in the test PKI: a client
 * certificate (CN=name, O=nwd test, EC P-256, clientAuth) signed by its CA
 * for two days, made under temporary names and renamed into place.  One
 * that is there already and good for another hour is kept.  For a client
 * that deploy/gen-pki.sh does not make.  Returns 0, or -1 said on stderr.
 */
int		 harness_pki_client(const char *name);

/*
 * Writes NWD_TEST_TMP/principals.conf: deploy/principals.conf with lines
 * (whole lines, each ending in a newline) after it, for "principals =".
 * Returns its path (static storage), or NULL said on stderr.
 */
const char	*harness_principals_with(const char *lines);

/* ---- raw TLS client ------------------------------------------------------- */

struct harness_tls;

/*
 * Connects to 127.0.0.1:port with TLS 1.3 and completes the handshake,
 * verifying the server (name "localhost") against ca_override or, if NULL,
 * the PKI's ca.crt.  client names a certificate under the PKI's clients/
 * ("plo-ana", "foreign", ...) or is NULL to present none.  Returns the
 * connection, or NULL with the cause in err.
 *
 * In TLS 1.3 the server judges the client's certificate after the client
 * considers the handshake done, so a refused client usually connects and
 * then sees an alert or EOF on its first harness_tls_read_frame().
 *
 * harness_tls_connect_version() is the same with the protocol version
 * pinned: 13 for TLS 1.3, 12 for TLS 1.2.
 */
struct harness_tls *harness_tls_connect(int port, const char *client,
		    const char *ca_override, char *err, size_t errlen);
struct harness_tls *harness_tls_connect_version(int port, const char *client,
		    const char *ca_override, int version, char *err,
		    size_t errlen);

/*
 * The same (TLS 1.3, the server verified against the PKI's ca.crt) with
 * the client's certificate and key from files, e.g. ones a test made
 * under NWD_TEST_TMP.
 */
struct harness_tls *harness_tls_connect_files(int port, const char *crt,
		    const char *key, char *err, size_t errlen);

/* Writes len raw bytes.  Returns 0, or -1 (cause in harness_tls_error()). */
int		 harness_tls_write(struct harness_tls *t, const void *buf,
		    size_t len);

/* Frames f with its 4-byte length and writes it.  Returns 0 or -1. */
int		 harness_tls_send_frame(struct harness_tls *t,
		    const Nwd__V1__Frame *f);

/*
 * Reads one frame (4-byte big-endian length, then the payload), waiting up
 * to timeout_ms.  Returns 0 with *out set (release it with frame_free()),
 * 1 if the server closed the connection before a new frame began (close
 * notify, EOF or reset), or -1 on a timeout, a TLS alert, a torn or
 * undecodable frame (cause in harness_tls_error()).
 */
int		 harness_tls_read_frame(struct harness_tls *t, int timeout_ms,
		    Nwd__V1__Frame **out);

/*
 * Sends a Hello (protocol version FRAME_PROTOCOL_VERSION) with request_id
 * 1 and reads the answer.  Returns what harness_tls_read_frame() returns;
 * on 0 *out is the answer (a Welcome or an Error).
 */
int		 harness_tls_hello(struct harness_tls *t, int timeout_ms,
		    Nwd__V1__Frame **out);

/* The cause of the last failure on t ("" if none). */
const char	*harness_tls_error(const struct harness_tls *t);

/* The socket of t, to poll() many connections at once; t still owns it. */
int		 harness_tls_fd(const struct harness_tls *t);

/* Sends close_notify if the session is intact, closes, frees.  NULL ok. */
void		 harness_tls_close(struct harness_tls *t);

/*
 * For a cmocka test: connects as client (harness_tls_connect()), sends a
 * Hello and reads the answer within timeout_ms.  Returns the session,
 * which the caller ends with harness_tls_close(); fails the running test
 * unless the answer is a Welcome.
 */
struct harness_tls *harness_tls_session(int port, const char *client,
		    int timeout_ms);

/* A plain TCP connection to 127.0.0.1:port (close-on-exec); its socket,
 * or -1 with errno set. */
int		 harness_tcp_connect(int port);

/* ---- libnwd ---------------------------------------------------------------- */

/*
 * Options for libnwd to connect to the daemon most recently started, as
 * the PKI client name.  The strings live until the process exits.
 */
struct nwd_opts	 harness_client(const char *name);

/*
 * Connects through libnwd as the PKI client name (harness_client(name)).
 * Fails the running test if the connection fails, naming the cause and
 * its nwd_status, or if the broker names a principal other than name
 * (each client certificate the tests connect with is named after its
 * principal in deploy/principals.conf).
 * The caller owns the client and ends it with nwd_close().
 */
struct nwd_client *harness_connect_as(const char *name);

/* ---- the shell ---------------------------------------------------------- */

/*
 * Runs the command formatted from fmt with /bin/sh (system()).  Returns
 * its exit status, 128 + the signal that ended it, or -1 if it could not
 * run; a non-zero answer is said on stderr with the command.
 */
int		 harness_sh(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));

/* ---- the nwd tool ------------------------------------------------------ */

/*
 * Runs the built nwd tool with args (a shell fragment: our paths have no
 * spaces), stdin from /dev/null, as the PKI client who through NWD_SERVER,
 * NWD_CERT, NWD_KEY and NWD_CA (harness_client(who)), or with none of them
 * if who is NULL.  Its stdout goes to out.  Returns its exit status, or -1
 * (said on stderr) if it could not run, did not exit, or wrote outlen - 1
 * bytes or more.
 */
int		 harness_run_nwd(char *out, size_t outlen, const char *who,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * The nwd tool as a child that goes on running (nwd sub, say), started as
 * harness_run_nwd() runs it (who, args, stdin from /dev/null; the child
 * is the tool itself, so signals such as SIGSTOP reach it), with its
 * stdout and stderr each on a pipe that the functions below read.  It
 * gets SIGTERM if the test process dies.  Returns the child, which the
 * caller releases with harness_child_free(), or NULL (said on stderr).
 */
struct harness_child;
struct harness_child *harness_nwd_spawn(const char *who, const char *fmt,
		    ...) __attribute__((format(printf, 2, 3)));

/*
 * Waits up to timeout_ms for a whole line holding needle on the child's
 * stdout (which 1) or stderr (2), after the line the last call found on
 * it, reading both meanwhile.  Returns 1 with the line (no newline) in
 * line (may be NULL), or 0 if it did not come in time or the stream
 * ended first.
 */
int		 harness_child_wait_line(struct harness_child *c, int which,
		    const char *needle, int timeout_ms, char *line,
		    size_t linelen);

/* Everything read so far from stdout (1) or stderr (2); "" if nothing.
 * Valid until the next call on c. */
const char	*harness_child_output(const struct harness_child *c,
		    int which);

pid_t		 harness_child_pid(const struct harness_child *c);

/*
 * Waits up to timeout_ms for the child to exit, reading its output
 * meanwhile.  Returns its exit status, 128 + the signal that ended it, or
 * -1 if it is still running.
 */
int		 harness_child_wait(struct harness_child *c, int timeout_ms);

/* Ends the child if it still runs (SIGCONT, SIGTERM, then SIGKILL),
 * reaps it and frees c.  NULL is a no-op. */
void		 harness_child_free(struct harness_child *c);

#endif
