/*
 * test_rollback: G21, the audit trail cannot be rolled back, extended by
 * anyone but its instance, or have a stored message edited, without nwdd
 * refusing to go on or "nwd audit verify" naming it, even when the
 * checkpoints are restored with the rows.  Against a real nwdd and a real
 * PostgreSQL:
 *
 *  - as the daemon's role (nwd_daemon): a correctly chained row, inserted
 *    while nwdd runs (refused: no INSERT, and nwd.audit_append() wants the
 *    instance's lock), and while it is down (written; nwdd then refuses to
 *    serve, says why in its log and on /healthz, and serves again once the
 *    row is gone);
 *  - as superuser: a tail deleted with its checkpoints (verify without the
 *    anchors cannot tell; with the anchors file, or the log, it names the
 *    truncation; nwdd refuses to serve until nwdd --accept-restore, which
 *    is audited, after which both verify intact);
 *  - a message's subject edited, its body replaced, its body removed
 *    without a purge (verify names each; the daemon's role cannot remove
 *    a body without the audit row of its purge);
 *  - an allocation inserted, as nwd_daemon and as superuser: refused when
 *    nwdd loads the allocations (the next alert does not reach the team),
 *    named by verify; a real allocation still loads;
 *  - an instance invented in the database: verify fails on it.
 *
 * Each test has an instance of its own; "nwd audit verify --instance"
 * keeps their verdicts apart.  No sleeps: log lines and SQL results are
 * waited for.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
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

#include <cmocka.h>

#include "chain.h"
#include "fixtures.h"
#include "harness.h"
#include "nwd.h"

#define WAIT_MS		30000	/* the most any event may take */

static int	metrics_port;

/* ------------------------------------------------------------------------
 * Helpers
 */

static const char *
builddir(void)
{
	const char *d = getenv("NWD_BUILDDIR");

	return d != NULL && d[0] != '\0' ? d : NWD_BUILDDIR;
}

/* The configuration lines of a daemon of instance inst. */
static const char *
conf(const char *inst)
{
	static char	buf[512];

	metrics_port = harness_free_port();
	snprintf(buf, sizeof(buf), "instance = %s\ncheckpoint_rows = 4\n"
	    "checkpoint_interval = 3600\ndb_reconnect_max = 1\n"
	    "metrics_listen = 127.0.0.1:%d\n", inst, metrics_port);
	return buf;
}

static struct harness_daemon *
start(const char *inst)
{
	struct harness_daemon	*d;

	if ((d = harness_daemon_start(conf(inst))) == NULL)
		fail_msg("nwdd of instance %s did not start (log %s)", inst,
		    harness_last_log());
	return d;
}

/* Started, not waited for: it may refuse to serve. */
static struct harness_daemon *
spawn(const char *inst)
{
	struct harness_daemon	*d;

	if ((d = harness_daemon_spawn(conf(inst))) == NULL)
		fail_msg("nwdd of instance %s could not be run", inst);
	return d;
}

static void
wait_log(struct harness_daemon *d, size_t mark, const char *needle)
{
	if (!harness_wait_log_after(d, mark, needle, WAIT_MS))
		fail_msg("nwdd did not log \"%s\" within %d ms (log %s)",
		    needle, WAIT_MS, harness_daemon_log(d));
}

/* The path of instance's anchors file in the harness's state directory. */
static const char *
anchors_path(const char *inst)
{
	static char	path[1024];

	snprintf(path, sizeof(path), "%s/state/%s.anchors",
	    getenv("NWD_TEST_TMP"), inst);
	return path;
}

/* GET /healthz once: its status, and its body into body. */
static int
healthz(char *body, size_t bodylen)
{
	struct sockaddr_in	 sin;
	struct pollfd		 pfd;
	char			 buf[4096], req[256], *hend;
	size_t			 len = 0;
	ssize_t			 n;
	int64_t			 deadline = harness_mono_ms() + WAIT_MS;
	int			 fd, status = -1;

	body[0] = '\0';
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(metrics_port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	n = snprintf(req, sizeof(req), "GET /healthz HTTP/1.1\r\nHost: "
	    "127.0.0.1\r\nConnection: close\r\n\r\n");
	assert_int_equal(write(fd, req, (size_t)n), n);
	while (len < sizeof(buf) - 1) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(deadline - harness_mono_ms())) <= 0)
			break;
		if ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	if ((hend = strstr(buf, "\r\n\r\n")) != NULL)
		snprintf(body, bodylen, "%s", hend + 4);
	return status;
}

/* Waits for /healthz to answer status; its body into body. */
static void
wait_health(int status, char *body, size_t bodylen)
{
	int64_t	deadline = harness_mono_ms() + WAIT_MS;
	int	got;

	while ((got = healthz(body, bodylen)) != status) {
		if (harness_mono_ms() > deadline)
			fail_msg("/healthz answered %d, not %d, for %d ms: %s",
			    got, status, WAIT_MS, body);
		poll(NULL, 0, 50);
	}
}

/* Runs a shell command; its exit status, its output (both) into out. */
static int
run(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
run(char *out, size_t outlen, const char *fmt, ...)
{
	char	 cmd[4096];
	FILE	*p;
	size_t	 n = 0, k;
	va_list	 ap;
	int	 st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	strncat(cmd, " 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	fflush(NULL);
	assert_non_null(p = popen(cmd, "r"));
	while (n < outlen - 1 &&
	    (k = fread(out + n, 1, outlen - 1 - n, p)) > 0)
		n += k;
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* nwd audit verify as nwd_auditor with the PKI's key, and args. */
static int
verify(char *out, size_t outlen, const char *args)
{
	return run(out, outlen, "'%s/client/nwd' audit verify --db "
	    "'host=127.0.0.1 port=%s dbname=nwd user=nwd_auditor "
	    "connect_timeout=5' --pubkey '%s' %s", builddir(),
	    getenv("NWD_TEST_PGPORT"), harness_pki("audit-signing.pub"), args);
}

static void
expect(int rc, const char *out, int want, const char *needle)
{
	if (rc != want || (needle != NULL && strstr(out, needle) == NULL))
		fail_msg("exited %d (want %d); want the output to contain\n  "
		    "%s\n--- it printed:\n%s", rc, want, needle != NULL ?
		    needle : "(anything)", out);
}

/* nwdd --accept-restore with the configuration cfg. */
static int
accept_restore(const char *cfg, char *out, size_t outlen)
{
	return run(out, outlen, "'%s/daemon/nwdd' --accept-restore -c '%s'",
	    builddir(), cfg);
}

/* Runs sql as the superuser with the triggers of the trail off. */
static void
tamper(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
tamper(const char *fmt, ...)
{
	char	sql[4096], out[2048];
	va_list	ap;
	int	n;

	n = snprintf(sql, sizeof(sql), "SET session_replication_role = "
	    "replica;\n");
	va_start(ap, fmt);
	vsnprintf(sql + n, sizeof(sql) - (size_t)n, fmt, ap);
	va_end(ap);
	if (harness_sql("postgres", sql, out, sizeof(out)) != 0)
		fail_msg("as superuser: %s\n--- %s", out, sql);
}

/* Publishes a risk alert about subject as who; its message id into mid. */
static void
alert(const char *who, const char *subject, char mid[64])
{
	struct nwd_client	*c = harness_connect_as(who);
	Nwd__V1__Envelope	 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header		 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef	 s = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__RiskAlert	 r = NWD__V1__RISK_ALERT__INIT;
	Nwd__V1__PublishAck	*ack = NULL;
	char			 err[512];

	s.local_id = (char *)subject;
	h.kind = NWD__V1__KIND__RISK_ALERT;
	h.subject = &s;
	h.marking = NWD__V1__MARKING__OFFICIAL;
	r.category = NWD__V1__RISK_ALERT__CATEGORY__GOING_MISSING;
	r.level = NWD__V1__RISK_ALERT__LEVEL__MEDIUM;
	r.summary = "G21";
	env.header = &h;
	env.body_case = NWD__V1__ENVELOPE__BODY_RISK_ALERT;
	env.risk_alert = &r;
	if (nwd_publish(c, &env, &ack, err, sizeof(err)) != NWD_OK)
		fail_msg("%s could not publish about %s: %s", who, subject,
		    err);
	snprintf(mid, 64, "%s", ack->message_id);
	nwd_publish_ack_free(ack);
	nwd_close(c);
}

/* case-system allocates subject to team; the message id into mid. */
static void
allocate(const char *subject, const char *team, char mid[64])
{
	struct fixture_allocation m;

	fixture_allocation_init(&m, subject, team, 0);
	fixture_publish_as("case-system", &m.env, mid, 64);
}

/* The chain head of inst: its seq, and its hash as hex into hex. */
static int64_t
head(const char *inst, char hex[CHAIN_HEX_LEN])
{
	char	out[256], *bar;

	harness_sql_text("postgres", out, sizeof(out), "SELECT seq || '|' || "
	    "encode(hash, 'hex') FROM nwd.audit_events WHERE instance = '%s' "
	    "ORDER BY seq DESC LIMIT 1", inst);
	if ((bar = strchr(out, '|')) == NULL)
		fail_msg("no chain head for %s: %s", inst, out);
	snprintf(hex, CHAIN_HEX_LEN, "%s", bar + 1);
	return strtoll(out, NULL, 10);
}

/*
 * The SQL that appends to inst, through nwd.audit_append(), a correctly
 * chained ack by hubsys-dereham of message mid (hashed here with
 * chain.h, so that nothing but the daemon can tell it is not its own).
 */
static void
forged_append(const char *inst, const char *mid, char *sql, size_t len)
{
	struct chain_row	 r;
	uint8_t			 prev[CHAIN_HASH_LEN], h[CHAIN_HASH_LEN];
	char			 prevhex[CHAIN_HEX_LEN], hex[CHAIN_HEX_LEN];
	char			 seq[24], at[24];
	int64_t			 s, at_ms = INT64_C(1700000000000);

	s = head(inst, prevhex) + 1;
	assert_int_equal(chain_unhex(prevhex, prev, sizeof(prev)), 0);
	snprintf(seq, sizeof(seq), "%" PRId64, s);
	snprintf(at, sizeof(at), "%" PRId64, at_ms);
	memset(&r, 0, sizeof(r));
	r.field[CHAIN_F_INSTANCE] = inst;
	r.field[CHAIN_F_SEQ] = seq;
	r.field[CHAIN_F_AT] = at;
	r.field[CHAIN_F_ACTOR] = "hubsys-dereham";
	r.field[CHAIN_F_ACTION] = "ack";
	r.field[CHAIN_F_MESSAGE_ID] = mid;
	r.field[CHAIN_F_SUBJECT] = "YP-001";
	assert_int_equal(chain_hash(prev, &r, h), 0);
	chain_hex(h, hex);
	snprintf(sql, len, "SELECT nwd.audit_append('%s', ARRAY[%s::bigint], "
	    "ARRAY['hubsys-dereham'], ARRAY['ack'], ARRAY['%s'::uuid], "
	    "ARRAY['YP-001'], ARRAY[NULL::smallint], ARRAY[NULL::text], "
	    "ARRAY[NULL::text], ARRAY[NULL::text], ARRAY[NULL::text], "
	    "ARRAY[NULL::text], ARRAY[NULL::text], ARRAY[NULL::text], "
	    "ARRAY[NULL::text], ARRAY[%s::bigint], "
	    "ARRAY[decode('%s', 'hex')], ARRAY[decode('%s', 'hex')], "
	    "ARRAY[NULL::text], ARRAY[NULL::bytea])", inst, at, mid, seq,
	    prevhex, hex);
}

/*
 * Ends d's database connection and waits until it has connected, and
 * loaded, again.  The wait is for the drop and for READY after mark:
 * an allocations_loaded line alone may be a reload the cluster asked for
 * just before the drop (another instance's change), after which a
 * publish would meet the store on its way down.
 */
static void
reconnect(struct harness_daemon *d)
{
	size_t	mark = harness_log_mark(d);

	harness_sql_int("postgres", "SELECT count(pg_terminate_backend(pid)) "
	    "FROM pg_stat_activity WHERE application_name = 'nwdd' AND "
	    "usename = 'nwd_daemon'");
	wait_log(d, mark, "store: database unavailable");
	/* The store was ready at mark: a ready line after it is the
	 * reconnect's. */
	wait_log(d, mark, "store: state=ready");
}

/* ------------------------------------------------------------------------
 * As the daemon's role: a correctly chained row
 */

static void
test_daemon_role_cannot_extend(void **state)
{
	static const char	*inst = "g21-extend";
	struct harness_daemon	*d;
	char			 mid[64], sql[4096], out[8192], body[2048];
	char			 prevhex[CHAIN_HEX_LEN];
	int64_t			 seq;
	size_t			 mark;
	int			 rows;

	d = start(inst);
	alert("plo-ana", "YP-001", mid);
	seq = head(inst, prevhex);
	rows = harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE instance = '%s'", inst);

	/* While nwdd runs: no INSERT, and the function wants the lock. */
	snprintf(sql, sizeof(sql), "INSERT INTO nwd.audit_events (instance, "
	    "at, actor, action, message_id, seq, prev_hash, hash) VALUES "
	    "('%s', '2024-01-01', 'hubsys-dereham', 'ack', '%s', %" PRId64
	    ", decode('%s', 'hex'), sha256('forged'))", inst, mid, seq + 1,
	    prevhex);
	assert_int_not_equal(harness_sql("nwd_daemon", sql, out,
	    sizeof(out)), 0);
	if (strstr(out, "permission denied") == NULL)
		fail_msg("the daemon's role inserted an audit row: %s", out);
	forged_append(inst, mid, sql, sizeof(sql));
	assert_int_not_equal(harness_sql("nwd_daemon", sql, out,
	    sizeof(out)), 0);
	if (strstr(out, "does not hold the lock of instance") == NULL)
		fail_msg("nwd.audit_append() without the lock: %s", out);
	harness_sql_text("nwd_daemon", out, sizeof(out), "SELECT "
	    "pg_try_advisory_lock(hashtext('nwd-instance:%s'))", inst);
	assert_string_equal(out, "f");
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE instance = '%s'", inst), rows);
	alert("plo-ana", "YP-001", mid);	/* it serves on */
	assert_int_equal(harness_daemon_stop(d), 0);
	rows = harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE instance = '%s'", inst);

	/* While it is down, a writer with its role takes the lock. */
	forged_append(inst, mid, sql, sizeof(sql));
	snprintf(out, sizeof(out), "SELECT pg_advisory_lock(hashtext("
	    "'nwd-instance:%s'));\n%s", inst, sql);
	if (harness_sql("nwd_daemon", out, out, sizeof(out)) != 0)
		fail_msg("the forged row, lock held: %s", out);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE instance = '%s'", inst), rows + 1);
	/* Verify cannot tell a well-chained unsigned tail. */
	snprintf(sql, sizeof(sql), "--instance %s --anchors '%s'", inst,
	    anchors_path(inst));
	expect(verify(out, sizeof(out), sql), out, 0, "intact");

	/* nwdd refuses to serve, and says why. */
	d = spawn(inst);
	wait_log(d, 0, "event=chain_refused");
	assert_true(harness_log_contains(d, "rows were added by another "
	    "writer"));
	wait_health(503, body, sizeof(body));
	if (strstr(body, "audit chain refused") == NULL ||
	    strstr(body, "added by another writer") == NULL)
		fail_msg("/healthz says: %s", body);
	assert_false(harness_log_contains(d, "event=ready"));

	/* The row taken away: it serves again, by itself. */
	mark = harness_log_mark(d);
	tamper("DELETE FROM nwd.audit_events WHERE instance = '%s' AND "
	    "seq = %d", inst, rows + 1);
	wait_log(d, mark, "event=ready");
	wait_health(200, body, sizeof(body));
	alert("plo-ana", "YP-001", mid);
	assert_int_equal(harness_daemon_stop(d), 0);
	expect(verify(out, sizeof(out), sql), out, 0, "intact");
}

/* ------------------------------------------------------------------------
 * As superuser: a tail deleted with its checkpoints
 */

static void
test_rollback_with_checkpoints(void **state)
{
	static const char	*inst = "g21-roll";
	struct harness_daemon	*d;
	char			 mid[64], args[2048], out[8192], body[2048];
	char			 want[512], hex[CHAIN_HEX_LEN], log[1024];
	char			 cfg[1024];
	int64_t			 h, cut;
	int			 i, ncp;

	d = start(inst);
	for (i = 0; i < 6; i++)
		alert("plo-ana", "YP-001", mid);
	snprintf(log, sizeof(log), "%s", harness_daemon_log(d));
	assert_int_equal(harness_daemon_stop(d), 0);
	h = head(inst, hex);
	ncp = harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.checkpoints WHERE instance = '%s'", inst);
	assert_true(ncp >= 3);
	/* Back to before the second checkpoint: two or more go too. */
	cut = harness_sql_int("postgres", "SELECT seq FROM nwd.checkpoints "
	    "WHERE instance = '%s' ORDER BY seq OFFSET 1 LIMIT 1", inst) - 1;
	tamper("DELETE FROM nwd.checkpoints WHERE instance = '%s' AND seq > "
	    "%" PRId64 ";\nDELETE FROM nwd.audit_events WHERE instance = '%s' "
	    "AND seq > %" PRId64, inst, cut, inst, cut);

	/* The database alone looks intact: its checkpoints went too. */
	snprintf(args, sizeof(args), "--instance %s", inst);
	expect(verify(out, sizeof(out), args), out, 0, "intact");
	/* The anchors file, and the log, say otherwise. */
	snprintf(want, sizeof(want), "but the chain ends at seq %" PRId64,
	    cut);
	snprintf(args, sizeof(args), "--instance %s --anchors '%s'", inst,
	    anchors_path(inst));
	expect(verify(out, sizeof(out), args), out, 1, want);
	expect(1, out, 1, "rows were removed after they were anchored");
	snprintf(args, sizeof(args), "--instance %s --anchors '%s'", inst,
	    log);
	expect(verify(out, sizeof(out), args), out, 1, want);

	/* nwdd refuses to serve the rolled-back database. */
	d = spawn(inst);
	wait_log(d, 0, "event=chain_refused");
	snprintf(want, sizeof(want), "ends at seq %" PRId64 " but nwdd "
	    "committed (state file) seq %" PRId64, cut, h);
	if (!harness_log_contains(d, want))
		fail_msg("no \"%s\" in %s", want, harness_daemon_log(d));
	wait_health(503, body, sizeof(body));
	assert_non_null(strstr(body, "committed rows are missing"));
	/* --accept-restore is refused while it runs (it holds the state). */
	snprintf(cfg, sizeof(cfg), "%s", harness_daemon_config(d));
	assert_int_equal(accept_restore(cfg, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "in use by another process"));
	assert_int_equal(harness_daemon_stop(d), 0);

	/* The operator accepts the database's head: audited, signed. */
	assert_int_equal(accept_restore(cfg, out, sizeof(out)), 0);
	if (strstr(out, "restore accepted for instance g21-roll") == NULL)
		fail_msg("nwdd --accept-restore said: %s", out);
	snprintf(want, sizeof(want), "nwdd had committed seq %" PRId64
	    " (hash %.16s), the database''s chain ends at seq %" PRId64, h, hex,
	    cut);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE instance = '%s' AND seq = %" PRId64
	    " AND action = 'restore_accepted' AND actor LIKE 'operator:%%' "
	    "AND strpos(reason, '%s') > 0", inst, cut + 1, want), 1);
	assert_int_equal(harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.checkpoints WHERE instance = '%s' AND seq = %" PRId64, inst,
	    cut + 1), 1);
	/* Nothing more to accept. */
	assert_int_equal(accept_restore(cfg, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "nothing to accept"));

	/* It serves again; both verify intact, the restore accounted for. */
	d = start(inst);
	alert("plo-ana", "YP-001", mid);
	assert_int_equal(harness_daemon_stop(d), 0);
	snprintf(args, sizeof(args), "--instance %s --anchors '%s'", inst,
	    anchors_path(inst));
	expect(verify(out, sizeof(out), args), out, 0, "intact");
	snprintf(args, sizeof(args), "--instance %s", inst);
	expect(verify(out, sizeof(out), args), out, 0, "intact");
}

/* ------------------------------------------------------------------------
 * As superuser: a stored message edited
 */

static void
test_message_edited(void **state)
{
	static const char	*inst = "g21-msg";
	struct harness_daemon	*d;
	char			 m1[64], m2[64], m3[64], args[2048];
	char			 out[8192], want[256], sql[512];

	d = start(inst);
	alert("plo-ana", "YP-001", m1);
	alert("plo-ana", "YP-001", m2);
	alert("plo-ana", "YP-001", m3);
	/* The daemon's role cannot remove a body without its purge row. */
	snprintf(sql, sizeof(sql), "UPDATE nwd.messages SET body = NULL, "
	    "purged_at = now() WHERE id = '%s'", m3);
	assert_int_not_equal(harness_sql("nwd_daemon", sql, out,
	    sizeof(out)), 0);
	if (strstr(out, "without the audit row of its purge") == NULL)
		fail_msg("a body removed without its purge: %s", out);
	assert_int_equal(harness_daemon_stop(d), 0);
	snprintf(args, sizeof(args), "--instance %s --anchors '%s'", inst,
	    anchors_path(inst));
	expect(verify(out, sizeof(out), args), out, 0, "intact");

	/* Moved into YP-999's subject access request. */
	tamper("UPDATE nwd.messages SET subject = 'YP-999' WHERE id = '%s'",
	    m1);
	snprintf(want, sizeof(want), "message %s, published in row seq", m1);
	expect(verify(out, sizeof(out), args), out, 1, want);
	expect(1, out, 1, "was changed");
	snprintf(args, sizeof(args), "--instance %s", inst);
	expect(verify(out, sizeof(out), args), out, 1, want);
	tamper("UPDATE nwd.messages SET subject = 'YP-001' WHERE id = '%s'",
	    m1);
	expect(verify(out, sizeof(out), args), out, 0, "intact");

	/* Its body replaced; then removed without a purge. */
	tamper("UPDATE nwd.messages SET body = body || '\\x00'::bytea WHERE "
	    "id = '%s'", m2);
	snprintf(want, sizeof(want), "the body of message %s", m2);
	expect(verify(out, sizeof(out), args), out, 1, want);
	expect(1, out, 1, "was replaced");
	tamper("UPDATE nwd.messages SET body = NULL, purged_at = now() WHERE "
	    "id = '%s'", m2);
	expect(verify(out, sizeof(out), args), out, 1, want);
	expect(1, out, 1, "removed without the audit row of its purge");
}

/* ------------------------------------------------------------------------
 * An allocation inserted
 */

/* Deliver rows of message mid to principal who. */
static int
delivered(const char *mid, const char *who)
{
	return harness_sql_int("postgres", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = 'deliver' "
	    "AND recipient = '%s'", mid, who);
}

static void
test_allocation_inserted(void **state)
{
	static const char	*inst = "g21-alloc";
	struct harness_daemon	*d;
	char			 m1[64], m2[64], a1[64], fake[64], args[2048];
	char			 out[8192], want[256];
	size_t			 mark;

	d = start(inst);
	/* YP-003 is allocated to nobody: an alert goes to the duty desk. */
	alert("plo-ana", "YP-003", m1);
	assert_int_equal(delivered(m1, "hubsys-dereham"), 0);
	/* A real allocation, which must survive the loads below. */
	allocate("YP-004", "hub:dereham", a1);

	/* As nwd_daemon: YP-003 to hub:dereham, behind an alert's message. */
	harness_sql_int("nwd_daemon", "INSERT INTO nwd.allocations "
	    "(message_id, subject, team, instance) VALUES ('%s', 'YP-003', "
	    "'hub:dereham', '%s') RETURNING 1", m1, inst);
	mark = harness_log_mark(d);
	reconnect(d);
	wait_log(d, mark, "event=allocations_loaded");
	snprintf(want, sizeof(want), "event=allocation_refused "
	    "allocation_id=");
	wait_log(d, mark, want);
	snprintf(want, sizeof(want), "message_id=%s", m1);
	wait_log(d, mark, want);
	alert("plo-ana", "YP-003", m2);
	assert_int_equal(delivered(m2, "hubsys-dereham"), 0);
	alert("plo-ana", "YP-004", m2);
	assert_int_equal(delivered(m2, "hubsys-dereham"), 1);

	/* As superuser: a message and its allocation, never published. */
	snprintf(fake, sizeof(fake), "00000000-0000-4000-8000-0000000021a1");
	tamper("INSERT INTO nwd.messages (id, kind, subject, sender, "
	    "created_at, instance) VALUES ('%s', %d, 'YP-003', 'case-system', "
	    "now(), '%s');\nINSERT INTO nwd.allocations (message_id, subject, "
	    "team, instance) VALUES ('%s', 'YP-003', 'hub:dereham', '%s')",
	    fake, NWD__V1__KIND__ALLOCATION, inst, fake, inst);
	mark = harness_log_mark(d);
	reconnect(d);
	wait_log(d, mark, "event=allocations_loaded");
	snprintf(want, sizeof(want), "message_id=%s reason=\"no publish row",
	    fake);
	wait_log(d, mark, want);
	alert("plo-ana", "YP-003", m2);
	assert_int_equal(delivered(m2, "hubsys-dereham"), 0);
	assert_int_equal(harness_daemon_stop(d), 0);

	/* verify names both. */
	snprintf(args, sizeof(args), "--instance %s", inst);
	snprintf(want, sizeof(want), "message %s, published in row seq", m1);
	expect(verify(out, sizeof(out), args), out, 1, want);
	expect(verify(out, sizeof(out), ""), out, 1, want);
	snprintf(want, sizeof(want), "names message %s, which no publish row "
	    "of the audit trail records", fake);
	expect(1, out, 1, want);
	/* Gone again: verify intact, the allocation of YP-004 still loads. */
	tamper("DELETE FROM nwd.allocations WHERE message_id IN ('%s', '%s') "
	    "AND subject = 'YP-003';\nDELETE FROM nwd.messages WHERE id = "
	    "'%s'", m1, fake, fake);
	expect(verify(out, sizeof(out), args), out, 0, "intact");
	d = start(inst);
	alert("plo-ana", "YP-004", m2);
	assert_int_equal(delivered(m2, "hubsys-dereham"), 1);
	assert_int_equal(harness_daemon_stop(d), 0);
}

/* ------------------------------------------------------------------------
 * An instance invented in the database
 */

static void
test_invented_instance(void **state)
{
	struct harness_daemon	*d;
	char			 mid[64], args[2048], out[8192];

	d = start("g21-real");
	alert("plo-ana", "YP-001", mid);
	assert_int_equal(harness_daemon_stop(d), 0);
	/* A well-chained first row, no checkpoint: nothing signs it. */
	tamper("INSERT INTO nwd.audit_events (instance, at, actor, action, "
	    "seq, prev_hash, hash) VALUES ('g21-invented', '2024-01-01', "
	    "'hubsys-dereham', 'ack', 1, decode(repeat('00', 32), 'hex'), "
	    "sha256('x'))");
	/* Its hash does not matter to this: it is never signed. */
	expect(verify(out, sizeof(out), "--instance g21-invented"), out, 1,
	    "instance g21-invented: ");
	snprintf(args, sizeof(args), "--anchors '%s'", anchors_path(
	    "g21-real"));
	expect(verify(out, sizeof(out), args), out, 1, "instance "
	    "g21-invented: not an instance that the anchors or --instances "
	    "name");
	expect(verify(out, sizeof(out), "--instances g21-real"), out, 1,
	    "instance g21-invented: not an instance");
	tamper("DELETE FROM nwd.audit_events WHERE instance = 'g21-invented'");
	snprintf(args, sizeof(args), "--instance g21-real --anchors '%s'",
	    anchors_path("g21-real"));
	expect(verify(out, sizeof(out), args), out, 0, "intact");
}

/* The invented instance's row, correctly hashed: no checkpoint is the
 * problem verify names. */
static void
test_unsigned_instance(void **state)
{
	struct chain_row	 r;
	uint8_t			 zero[CHAIN_HASH_LEN] = { 0 }, h[CHAIN_HASH_LEN];
	char			 hex[CHAIN_HEX_LEN], out[8192];

	memset(&r, 0, sizeof(r));
	r.field[CHAIN_F_INSTANCE] = "g21-unsigned";
	r.field[CHAIN_F_SEQ] = "1";
	r.field[CHAIN_F_AT] = "1700000000000";
	r.field[CHAIN_F_ACTOR] = "hubsys-dereham";
	r.field[CHAIN_F_ACTION] = "ack";
	assert_int_equal(chain_hash(zero, &r, h), 0);
	chain_hex(h, hex);
	tamper("INSERT INTO nwd.audit_events (instance, at, actor, action, "
	    "seq, prev_hash, hash) VALUES ('g21-unsigned', timestamptz "
	    "'epoch' + 1700000000000 * interval '1 millisecond', "
	    "'hubsys-dereham', 'ack', 1, decode(repeat('00', 32), 'hex'), "
	    "decode('%s', 'hex'))", hex);
	expect(verify(out, sizeof(out), "--instance g21-unsigned"), out, 1,
	    "instance g21-unsigned: 1 row and no checkpoint: no signature "
	    "vouches for them");
	tamper("DELETE FROM nwd.audit_events WHERE instance = "
	    "'g21-unsigned'");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_daemon_role_cannot_extend),
		cmocka_unit_test(test_rollback_with_checkpoints),
		cmocka_unit_test(test_message_edited),
		cmocka_unit_test(test_allocation_inserted),
		cmocka_unit_test(test_invented_instance),
		cmocka_unit_test(test_unsigned_instance),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("G21: a chain that cannot be "
	    "quietly rewritten", tests, NULL, NULL);
}
