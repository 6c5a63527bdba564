/*
 * test_store: migrate and store against a real PostgreSQL.
 *
 * Needs NWD_TEST_PGPORT (PostgreSQL on 127.0.0.1, trust authentication,
 * database nwd owned by nwd_owner, roles nwd_owner, nwd_daemon, nwd_auditor
 * and superuser postgres, schema not yet migrated) and NWD_TEST_PGDIR (the
 * cluster, stopped and started with "$NWD_SRCDIR/deploy/pg.sh stop|start").
 * Without them every test fails: this suite is never skipped.
 *
 * No sleeps: each test runs the event loop until the callback it waits for
 * has fired, and fails if a generous deadline passes first.
 */
#include <sys/random.h>
#include <sys/types.h>

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <libpq-fe.h>

#include "alloc.h"
#include "audit.h"
#include "log.h"
#include "migrate.h"
#include "store.h"

#ifndef NWD_SRCDIR
#define NWD_SRCDIR "."
#endif

#define INSTANCE	"test-instance"
#define DEADLINE_S	30

/* Run-wide settings from the environment. */
static struct {
	char	srcdir[PATH_MAX];
	char	pgdir[PATH_MAX];
	char	sqldir[PATH_MAX];
	char	ci_owner[128];
	char	ci_daemon[128];
	char	ci_auditor[128];
	char	ci_super[128];
	int	ok;
} env;

struct tctx;

/* A copy of one row handed to the allocations callback. */
struct alloc_rec {
	char	*subject;
	char	*team;
	char	*worker;
	int64_t	 from_ms;
	int64_t	 until_ms;
};

/* One submitted batch's callback record. */
struct done_rec {
	struct tctx		*t;
	int			 fired;
	enum store_outcome	 outcome;
};

/* Per-test state; the teardown frees whatever a failed test left. */
struct tctx {
	struct event_base	*base;
	struct store		*store;
	struct done_rec		*recs;		/* owned; outlive the store */
	size_t			 nrecs;
	size_t			 ncallbacks;
	size_t			 nout[3];	/* per store_outcome */
	size_t			 nstate[3];	/* entries into each state */
	int			 in_submit;
	int			 cb_in_submit;
	int			 pg_stopped;	/* teardown restarts it */
	int			 role_altered;	/* teardown resets it */
	PGconn			*hold;		/* owned; holds a lock */
	int			 saved_stderr;	/* log capture, or -1 */
	char			 capture[PATH_MAX];

	/* The allocations callback. */
	int			 alloc_ret;	/* what it returns */
	size_t			 nalloc_calls;
	size_t			 alloc_since_ready; /* calls since READY */
	size_t			 alloc_bad_order; /* READY without a call */
	size_t			 alloc_when_ready; /* calls made when READY */
	size_t			 alloc_rows_null; /* calls given rows NULL */
	struct alloc_rec	*arows;		/* owned; the last call's */
	size_t			 narows;
};

/* ------------------------------------------------------------------------
 * Helpers
 */

static void
make_uuid(char out[37])
{
	unsigned char	r[16];
	size_t		i, o = 0;

	assert_int_equal(getrandom(r, sizeof(r), 0), (ssize_t)sizeof(r));
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		snprintf(out + o, 3, "%02x", r[i]);
		o += 2;
	}
	out[o] = '\0';
}

/* A tag unique to this run, for telling rows apart. */
static void
make_tag(char *out, size_t len, const char *prefix)
{
	char	u[37];

	make_uuid(u);
	snprintf(out, len, "%s-%.8s", prefix, u);
}

/*
 * Runs sql on a fresh blocking connection as the role of ci.  Returns 0 and
 * the first value (if any) in out, or -1 with the server's message in err.
 * Never asserts, so no connection leaks when a test fails.
 */
static int
db_try(const char *ci, const char *sql, int nparams,
    const char *const *params, char *out, size_t outlen, char *err,
    size_t errlen)
{
	PGconn		*c;
	PGresult	*res;
	int		 rv = -1;

	if (out != NULL && outlen > 0)
		out[0] = '\0';
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	c = PQconnectdb(ci);
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(err, errlen, "connect: %s", PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	res = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
	switch (PQresultStatus(res)) {
	case PGRES_TUPLES_OK:
		if (out != NULL && PQntuples(res) > 0 && PQnfields(res) > 0)
			snprintf(out, outlen, "%s", PQgetisnull(res, 0, 0) ?
			    "(null)" : PQgetvalue(res, 0, 0));
		/* FALLTHROUGH */
	case PGRES_COMMAND_OK:
		rv = 0;
		break;
	default:
		snprintf(err, errlen, "%s", PQresultErrorMessage(res));
		break;
	}
	PQclear(res);
	PQfinish(c);
	return rv;
}

static void
db_ok(const char *ci, const char *sql)
{
	char	err[512];

	if (db_try(ci, sql, 0, NULL, NULL, 0, err, sizeof(err)) == -1)
		fail_msg("%s: %s", sql, err);
}

/* Runs sql with one parameter as the role of ci; fails the test on error. */
static void
db_ok1(const char *ci, const char *sql, const char *param)
{
	char		 err[512];
	const char	*params[1] = { param };

	if (db_try(ci, sql, 1, params, NULL, 0, err, sizeof(err)) == -1)
		fail_msg("%s: %s", sql, err);
}

/* Asserts that sql fails and the message contains want. */
static void
db_refused(const char *ci, const char *sql, const char *want)
{
	char	err[512];

	if (db_try(ci, sql, 0, NULL, NULL, 0, err, sizeof(err)) == 0)
		fail_msg("succeeded but must fail: %s", sql);
	if (strstr(err, want) == NULL)
		fail_msg("%s: error \"%s\" lacks \"%s\"", sql, err, want);
}

/* The first value of a query as the owner (param may be NULL), as a long. */
static long
db_long1(const char *sql, const char *param)
{
	char		 out[64], err[512];
	const char	*params[1] = { param };

	if (db_try(env.ci_owner, sql, param != NULL ? 1 : 0, params, out,
	    sizeof(out), err, sizeof(err)) == -1)
		fail_msg("%s: %s", sql, err);
	return strtol(out, NULL, 10);
}

static void
db_text1(const char *sql, const char *param, char *out, size_t outlen)
{
	char		 err[512];
	const char	*params[1] = { param };

	if (db_try(env.ci_owner, sql, 1, params, out, outlen, err,
	    sizeof(err)) == -1)
		fail_msg("%s: %s", sql, err);
}

static void
ensure_migrated(void)
{
	char	err[512];

	if (migrate_run(env.ci_owner, env.sqldir, err, sizeof(err)) == -1)
		fail_msg("migrate_run: %s", err);
}

static int
pg_ctl(const char *verb)
{
	char	cmd[3 * PATH_MAX];

	snprintf(cmd, sizeof(cmd), "'%s/deploy/pg.sh' %s '%s'", env.srcdir,
	    verb, env.pgdir);
	return system(cmd);
}

/* Log capture: operator logs go to stderr. */
static void
capture_start(struct tctx *t)
{
	const char	*dir;
	int		 fd;

	if ((dir = getenv("NWD_TEST_TMP")) == NULL || *dir == '\0')
		dir = "/tmp";
	snprintf(t->capture, sizeof(t->capture), "%s/test_store.XXXXXX", dir);
	assert_true((fd = mkstemp(t->capture)) != -1);
	fflush(stderr);
	assert_true((t->saved_stderr = dup(STDERR_FILENO)) != -1);
	assert_true(dup2(fd, STDERR_FILENO) != -1);
	close(fd);
}

/* Ends the capture; returns what was logged (caller frees). */
static char *
capture_stop(struct tctx *t)
{
	FILE	*fp;
	char	*text;
	long	 len;

	if (t->saved_stderr == -1)
		return NULL;
	fflush(stderr);
	dup2(t->saved_stderr, STDERR_FILENO);
	close(t->saved_stderr);
	t->saved_stderr = -1;
	if ((fp = fopen(t->capture, "r")) == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	if ((text = calloc(1, (size_t)len + 1)) != NULL)
		len = (long)fread(text, 1, (size_t)len, fp);
	fclose(fp);
	unlink(t->capture);
	return text;
}

static void
on_state(enum store_state st, void *arg)
{
	struct tctx	*t = arg;

	t->nstate[st]++;
	if (st == STORE_READY) {
		if (t->alloc_since_ready == 0)
			t->alloc_bad_order++;
		t->alloc_since_ready = 0;
	}
}

static void
arows_free(struct tctx *t)
{
	size_t	i;

	for (i = 0; i < t->narows; i++) {
		free(t->arows[i].subject);
		free(t->arows[i].team);
		free(t->arows[i].worker);
	}
	free(t->arows);
	t->arows = NULL;
	t->narows = 0;
}

/* Keeps a copy of the rows (the store's live only during the call). */
static int
on_allocs(const struct alloc_entry *rows, size_t n, void *arg)
{
	struct tctx	*t = arg;
	size_t		 i;

	t->nalloc_calls++;
	t->alloc_since_ready++;
	if (store_get_state(t->store) == STORE_READY)
		t->alloc_when_ready++;
	if (rows == NULL)
		t->alloc_rows_null++;
	arows_free(t);
	if ((t->arows = calloc(n > 0 ? n : 1, sizeof(*t->arows))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		t->arows[i].from_ms = rows[i].from_ms;
		t->arows[i].until_ms = rows[i].until_ms;
		if ((t->arows[i].subject = strdup(rows[i].subject)) == NULL ||
		    (t->arows[i].team = strdup(rows[i].team)) == NULL ||
		    (t->arows[i].worker = strdup(rows[i].worker)) == NULL) {
			t->narows = i + 1;
			return -1;
		}
	}
	t->narows = n;
	return t->alloc_ret;
}

static void
on_done(enum store_outcome o, void *arg)
{
	struct done_rec	*r = arg;

	r->fired++;
	r->outcome = o;
	r->t->ncallbacks++;
	r->t->nout[o]++;
	if (r->t->in_submit)
		r->t->cb_in_submit++;
}

static struct done_rec *
recs_alloc(struct tctx *t, size_t n)
{
	size_t	i;

	assert_null(t->recs);
	assert_non_null(t->recs = calloc(n, sizeof(*t->recs)));
	t->nrecs = n;
	for (i = 0; i < n; i++)
		t->recs[i].t = t;
	return t->recs;
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	*(int *)arg = 1;
}

typedef int	cond_fn(struct tctx *, const void *);

/* Runs the loop until cond holds; fails the test after secs seconds. */
static void
run_until(struct tctx *t, cond_fn *cond, const void *arg, int secs,
    const char *what)
{
	struct event	*ev;
	struct timeval	 tv = { secs, 0 };
	int		 expired = 0;

	assert_non_null(ev = evtimer_new(t->base, on_deadline, &expired));
	evtimer_add(ev, &tv);
	while (!cond(t, arg) && !expired)
		event_base_loop(t->base, EVLOOP_ONCE);
	event_free(ev);
	if (!cond(t, arg))
		fail_msg("no %s within %d s", what, secs);
}

static int
cond_state(struct tctx *t, const void *arg)
{
	return store_get_state(t->store) == *(const enum store_state *)arg;
}

static int
cond_callbacks(struct tctx *t, const void *arg)
{
	return t->ncallbacks >= *(const size_t *)arg;
}

static int
cond_disconnects(struct tctx *t, const void *arg)
{
	return t->nstate[STORE_DISCONNECTED] >= *(const size_t *)arg;
}

static int
cond_alloc_calls(struct tctx *t, const void *arg)
{
	return t->nalloc_calls >= *(const size_t *)arg;
}

static void
wait_state(struct tctx *t, enum store_state st, int secs)
{
	char	what[64];

	snprintf(what, sizeof(what), "store state %d", (int)st);
	run_until(t, cond_state, &st, secs, what);
}

static void
wait_callbacks(struct tctx *t, size_t n)
{
	run_until(t, cond_callbacks, &n, DEADLINE_S, "batch callbacks");
}

/* Creates and starts the store, with on_allocs if allocs is set. */
static void
store_begin(struct tctx *t, uint32_t queue_max, int allocs)
{
	assert_non_null(t->store = store_new(t->base, env.ci_daemon, INSTANCE,
	    queue_max, 1));
	assert_int_equal(store_get_state(t->store), STORE_DISCONNECTED);
	if (allocs)
		store_set_allocations_cb(t->store, on_allocs, t);
	assert_int_equal(store_start(t->store, on_state, t), 0);
}

static void
store_up(struct tctx *t, uint32_t queue_max)
{
	store_begin(t, queue_max, 0);
	wait_state(t, STORE_READY, DEADLINE_S);
}

static struct audit_event *
make_event(enum audit_action a, const char *message_id, const char *session)
{
	struct audit_event	*ev;

	assert_non_null(ev = audit_event_new(a, "principal:alice"));
	assert_int_equal(audit_event_set(ev, AUDIT_F_SUBJECT, "yp:42"), 0);
	assert_int_equal(audit_event_set(ev, AUDIT_F_MESSAGE_ID, message_id),
	    0);
	assert_int_equal(audit_event_set(ev, AUDIT_F_SESSION, session), 0);
	assert_int_equal(audit_event_set(ev, AUDIT_F_PEER, "127.0.0.1:4000"),
	    0);
	return ev;
}

static struct store_batch *
make_batch(const char *message_id, const char *session, size_t nevents)
{
	struct store_batch	*b;
	struct store_message	 m;
	size_t			 i;

	assert_non_null(b = store_batch_new());
	if (message_id != NULL) {
		memset(&m, 0, sizeof(m));
		snprintf(m.id, sizeof(m.id), "%s", message_id);
		m.kind = 1;
		m.subject = "yp:42";
		m.sender = "principal:alice";
		m.agency = "agency-a";
		m.marking = 2;
		m.priority = 1;
		m.legal_basis = 3;
		m.created_ms = 1700000000123LL;
		m.policy_version = "v1";
		assert_int_equal(store_batch_set_message(b, &m), 0);
	}
	for (i = 0; i < nevents; i++)
		assert_int_equal(store_batch_add_event(b,
		    make_event(AUDIT_PUBLISH, message_id, session)), 0);
	return b;
}

static int
submit(struct tctx *t, struct store_batch *b, struct done_rec *r)
{
	int	rv;

	t->in_submit = 1;
	rv = store_submit(t->store, b, on_done, r);
	t->in_submit = 0;
	return rv;
}

/* ------------------------------------------------------------------------
 * Fixtures
 */

static int
group_setup(void **state)
{
	const char	*port, *pgdir, *srcdir;

	port = getenv("NWD_TEST_PGPORT");
	pgdir = getenv("NWD_TEST_PGDIR");
	if ((srcdir = getenv("NWD_SRCDIR")) == NULL)
		srcdir = NWD_SRCDIR;
	if (port == NULL || *port == '\0' || pgdir == NULL || *pgdir == '\0') {
		fprintf(stderr, "test_store: NWD_TEST_PGPORT and "
		    "NWD_TEST_PGDIR must name a running PostgreSQL and its "
		    "directory (tests/run-test.sh sets them); "
		    "refusing to skip\n");
		return -1;
	}
	snprintf(env.srcdir, sizeof(env.srcdir), "%s", srcdir);
	snprintf(env.pgdir, sizeof(env.pgdir), "%s", pgdir);
	snprintf(env.sqldir, sizeof(env.sqldir), "%s/deploy/sql", srcdir);
#define CI(buf, user) snprintf(buf, sizeof(buf), "host=127.0.0.1 port=%s " \
	    "dbname=nwd user=%s connect_timeout=10", port, user)
	CI(env.ci_owner, "nwd_owner");
	CI(env.ci_daemon, "nwd_daemon");
	CI(env.ci_auditor, "nwd_auditor");
	CI(env.ci_super, "postgres");
#undef CI
	env.ok = 1;
	return 0;
}

static int
setup(void **state)
{
	struct tctx	*t;

	if (!env.ok)
		return -1;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	t->saved_stderr = -1;
	if ((t->base = event_base_new()) == NULL) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct tctx	*t = *state;
	char		 err[256];
	char		*text;

	if (t == NULL)
		return 0;
	/* A test that failed while capturing: show what was logged. */
	if ((text = capture_stop(t)) != NULL)
		fputs(text, stderr);
	free(text);
	store_free(t->store);
	PQfinish(t->hold);
	if (t->role_altered)
		db_try(env.ci_super, "ALTER ROLE nwd_daemon RESET "
		    "synchronous_commit", 0, NULL, NULL, 0, err, sizeof(err));
	if (t->pg_stopped)
		pg_ctl("start");
	event_base_free(t->base);
	free(t->recs);
	arows_free(t);
	free(t);
	return 0;
}

/* ------------------------------------------------------------------------
 * Tests
 */

/* 1. The first run applies 001 and 002, the second applies nothing. */
static void
test_migrate(void **state)
{
	char	err[512];
	int	n;

	n = migrate_run(env.ci_owner, env.sqldir, err, sizeof(err));
	if (n == -1)
		fail_msg("migrate_run: %s", err);
	assert_int_equal(n, 2);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.schema_migrations "
	    "WHERE version = $1::int AND name = '001_init.sql'", "1"), 1);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.schema_migrations "
	    "WHERE version = $1::int AND name = '002_allocations.sql'", "2"),
	    1);
	n = migrate_run(env.ci_owner, env.sqldir, err, sizeof(err));
	if (n == -1)
		fail_msg("second migrate_run: %s", err);
	assert_int_equal(n, 0);

	/* An error names the file and quotes the database. */
	n = migrate_run("host=127.0.0.1 port=1 dbname=nwd user=nwd_owner",
	    env.sqldir, err, sizeof(err));
	assert_int_equal(n, -1);
	assert_non_null(strstr(err, "connecting"));
}

/* 2. A message and three events commit, after store_submit returned. */
static void
test_commit_one(void **state)
{
	struct tctx		*t = *state;
	struct done_rec		*r = recs_alloc(t, 1);
	struct store_batch	*b;
	struct audit_event	*ev;
	char			 id[37], tag[32], out[256], want[256];

	ensure_migrated();
	store_up(t, 16);
	make_uuid(id);
	make_tag(tag, sizeof(tag), "one");

	b = make_batch(id, tag, 0);
	ev = make_event(AUDIT_PUBLISH, id, tag);
	assert_int_equal(audit_event_set(ev, AUDIT_F_FIELDS_SHARED,
	    "source_details,grading"), 0);
	assert_int_equal(audit_event_set(ev, AUDIT_F_FIELDS_WITHHELD, ""), 0);
	ev->kind = 3;
	assert_int_equal(store_batch_add_event(b, ev), 0);
	ev = make_event(AUDIT_DELIVER, id, tag);
	assert_int_equal(audit_event_set(ev, AUDIT_F_RECIPIENT,
	    "principal:bob"), 0);
	assert_int_equal(audit_event_set(ev, AUDIT_F_FIELDS_WITHHELD,
	    "address"), 0);
	ev->at_ms = 1700000000456LL;
	assert_int_equal(store_batch_add_event(b, ev), 0);
	assert_int_equal(store_batch_add_event(b,
	    make_event(AUDIT_ACK, id, tag)), 0);
	assert_int_equal(store_batch_nevents(b), 3);

	assert_int_equal(submit(t, b, r), 0);
	assert_int_equal(r->fired, 0);
	assert_int_equal(store_pending(t->store), 1);
	wait_callbacks(t, 1);
	assert_int_equal(r->fired, 1);
	assert_int_equal(r->outcome, STORE_COMMITTED);
	assert_int_equal(t->cb_in_submit, 0);
	assert_int_equal(store_pending(t->store), 0);

	assert_int_equal(db_long1("SELECT count(*) FROM nwd.messages "
	    "WHERE id = $1::uuid", id), 1);
	db_text1("SELECT concat_ws('|', kind, subject, sender, agency, "
	    "marking, priority, legal_basis, policy_version, instance, "
	    "(extract(epoch FROM created_at) * 1000)::bigint) "
	    "FROM nwd.messages WHERE id = $1::uuid", id, out, sizeof(out));
	assert_string_equal(out, "1|yp:42|principal:alice|agency-a|2|1|3|v1|"
	    INSTANCE "|1700000000123");
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.audit_events "
	    "WHERE message_id = $1::uuid", id), 3);
	db_text1("SELECT concat_ws('|', action, kind, fields_shared::text, "
	    "fields_withheld::text, actor, subject, peer, session, instance) "
	    "FROM nwd.audit_events WHERE message_id = $1::uuid AND "
	    "action = 'publish'", id, out, sizeof(out));
	snprintf(want, sizeof(want), "publish|3|{source_details,grading}|{}|"
	    "principal:alice|yp:42|127.0.0.1:4000|%s|" INSTANCE, tag);
	assert_string_equal(out, want);
	db_text1("SELECT concat_ws('|', recipient, "
	    "fields_shared IS NULL, fields_withheld::text, kind IS NULL, "
	    "(extract(epoch FROM at) * 1000)::bigint) "
	    "FROM nwd.audit_events WHERE message_id = $1::uuid AND "
	    "action = 'deliver'", id, out, sizeof(out));
	assert_string_equal(out, "principal:bob|t|{address}|t|1700000000456");
}

/* 3. Two thousand batches at once all commit, in few transactions. */
static void
test_commit_many(void **state)
{
	struct tctx	*t = *state;
	const size_t	 n = 2000;
	struct done_rec	*r = recs_alloc(t, n);
	char		 tag[32];
	size_t		 i;
	long		 ntx;

	ensure_migrated();
	store_up(t, 4096);
	make_tag(tag, sizeof(tag), "bulk");
	for (i = 0; i < n; i++)
		assert_int_equal(submit(t, make_batch(NULL, tag, 1), &r[i]), 0);
	assert_int_equal(t->ncallbacks, 0);
	wait_callbacks(t, n);
	assert_int_equal(t->nout[STORE_COMMITTED], n);
	assert_int_equal(t->cb_in_submit, 0);
	for (i = 0; i < n; i++)
		assert_int_equal(r[i].fired, 1);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.audit_events "
	    "WHERE session = $1", tag), (long)n);
	ntx = db_long1("SELECT count(DISTINCT xmin::text) "
	    "FROM nwd.audit_events WHERE session = $1", tag);
	print_message("%zu batches committed in %ld transactions\n", n, ntx);
	assert_true(ntx >= 1 && ntx <= (long)n / 10);
}

/* 4. A duplicate message id fails its batch alone. */
static void
test_refused_alone(void **state)
{
	struct tctx	*t = *state;
	struct done_rec	*r = recs_alloc(t, 4);
	char		 dup[37], id1[37], id3[37], tag[32];

	ensure_migrated();
	store_up(t, 16);
	make_uuid(dup);
	make_uuid(id1);
	make_uuid(id3);
	make_tag(tag, sizeof(tag), "dup");

	assert_int_equal(submit(t, make_batch(dup, "first", 1), &r[0]), 0);
	wait_callbacks(t, 1);
	assert_int_equal(r[0].outcome, STORE_COMMITTED);

	/* Submitted in one pass: they share the first transaction. */
	assert_int_equal(submit(t, make_batch(id1, tag, 2), &r[1]), 0);
	assert_int_equal(submit(t, make_batch(dup, tag, 2), &r[2]), 0);
	assert_int_equal(submit(t, make_batch(id3, tag, 2), &r[3]), 0);
	wait_callbacks(t, 4);
	assert_int_equal(r[1].fired, 1);
	assert_int_equal(r[2].fired, 1);
	assert_int_equal(r[3].fired, 1);
	assert_int_equal(r[1].outcome, STORE_COMMITTED);
	assert_int_equal(r[2].outcome, STORE_FAILED);
	assert_int_equal(r[3].outcome, STORE_COMMITTED);
	assert_int_equal(t->cb_in_submit, 0);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.audit_events "
	    "WHERE session = $1", tag), 4);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.messages "
	    "WHERE id = $1::uuid", id1), 1);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.messages "
	    "WHERE id = $1::uuid", id3), 1);
	/* Only the first batch's event names the duplicate id. */
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.audit_events "
	    "WHERE message_id = $1::uuid", dup), 1);

	/* The connection is still usable afterwards. */
	assert_int_equal(store_get_state(t->store), STORE_READY);
	t->ncallbacks = 0;
	free(t->recs);
	t->recs = NULL;
	r = recs_alloc(t, 1);
	assert_int_equal(submit(t, make_batch(NULL, tag, 1), r), 0);
	wait_callbacks(t, 1);
	assert_int_equal(r->outcome, STORE_COMMITTED);
}

/* 5. synchronous_commit off: never READY, and the log says why. */
static void
test_sync_commit_off(void **state)
{
	struct tctx		*t = *state;
	const size_t		 attempts = 2;
	struct store_batch	*b;
	char			*log;
	int			 said;

	ensure_migrated();
	db_ok(env.ci_super, "ALTER ROLE nwd_daemon SET synchronous_commit "
	    "= off");
	t->role_altered = 1;

	capture_start(t);
	assert_non_null(t->store = store_new(t->base, env.ci_daemon, INSTANCE,
	    16, 1));
	assert_int_equal(store_start(t->store, on_state, t), 0);
	run_until(t, cond_disconnects, &attempts, DEADLINE_S,
	    "refused connection attempts");
	log = capture_stop(t);
	assert_non_null(log);
	said = strstr(log, "synchronous_commit is off for this role; nwdd "
	    "refuses to serve without durable commits") != NULL;
	free(log);
	assert_true(said);
	assert_int_equal(t->nstate[STORE_READY], 0);
	assert_true(t->nstate[STORE_CONNECTING] >= attempts);
	b = make_batch(NULL, "off", 1);
	assert_int_equal(submit(t, b, NULL), -1);
	store_batch_free(b);

	db_ok(env.ci_super, "ALTER ROLE nwd_daemon RESET synchronous_commit");
	t->role_altered = 0;
	wait_state(t, STORE_READY, DEADLINE_S);
	assert_int_equal(t->nstate[STORE_READY], 1);
}

/* 6. The trail is append-only for every role. */
static void
test_privileges(void **state)
{
	const char	*ins = "INSERT INTO nwd.audit_events (instance, at, "
	    "action) VALUES ('t6', now(), 'connect')";

	ensure_migrated();
	db_ok(env.ci_daemon, ins);
	db_refused(env.ci_daemon, "INSERT INTO nwd.audit_events (instance, "
	    "at, action) VALUES ('t6', now(), 'bogus')", "check constraint");
	db_refused(env.ci_daemon, "UPDATE nwd.audit_events SET reason = 'x' "
	    "WHERE instance = 't6'", "permission denied");
	db_refused(env.ci_daemon, "DELETE FROM nwd.audit_events "
	    "WHERE instance = 't6'", "permission denied");
	db_refused(env.ci_daemon, "TRUNCATE nwd.audit_events",
	    "permission denied");
	db_refused(env.ci_daemon, "UPDATE nwd.messages SET sender = 'x'",
	    "permission denied");
	db_refused(env.ci_daemon, "DELETE FROM nwd.messages",
	    "permission denied");

	db_refused(env.ci_auditor, ins, "permission denied");
	db_ok(env.ci_auditor, "SELECT count(*) FROM nwd.audit_events");
	db_ok(env.ci_auditor, "SELECT count(*) FROM nwd.messages");
	db_refused(env.ci_auditor, "DELETE FROM nwd.audit_events",
	    "permission denied");

	db_refused(env.ci_owner, "UPDATE nwd.audit_events SET reason = 'x' "
	    "WHERE instance = 't6'", "append-only");
	db_refused(env.ci_owner, "DELETE FROM nwd.audit_events "
	    "WHERE instance = 't6'", "append-only");
	db_refused(env.ci_owner, "TRUNCATE nwd.audit_events", "append-only");
	assert_true(db_long1("SELECT count(*) FROM nwd.audit_events "
	    "WHERE instance = 't6' AND reason IS NULL", NULL) >= 1);
}

/* 7. The database goes away and comes back; the store follows. */
static void
test_reconnect(void **state)
{
	struct tctx		*t = *state;
	struct done_rec		*r = recs_alloc(t, 1);
	struct store_batch	*b;
	char			 tag[32];

	ensure_migrated();
	store_up(t, 16);
	assert_int_equal(pg_ctl("stop"), 0);
	t->pg_stopped = 1;
	wait_state(t, STORE_DISCONNECTED, DEADLINE_S);
	b = make_batch(NULL, "down", 1);
	assert_int_equal(submit(t, b, r), -1);
	store_batch_free(b);
	assert_int_equal(r->fired, 0);

	assert_int_equal(pg_ctl("start"), 0);
	t->pg_stopped = 0;
	wait_state(t, STORE_READY, 2 * DEADLINE_S);
	assert_true(t->nstate[STORE_READY] >= 2);

	make_tag(tag, sizeof(tag), "back");
	assert_int_equal(submit(t, make_batch(NULL, tag, 1), r), 0);
	wait_callbacks(t, 1);
	assert_int_equal(r->outcome, STORE_COMMITTED);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.audit_events "
	    "WHERE session = $1", tag), 1);
}

/* 8. store_free answers every queued and in-flight batch. */
static void
test_free_pending(void **state)
{
	struct tctx		*t = *state;
	const size_t		 nq = 10, nf = 5;
	struct done_rec		*r = recs_alloc(t, nq + nf);
	struct store_batch	*b;
	size_t			 i;

	ensure_migrated();
	store_up(t, (uint32_t)nq);
	for (i = 0; i < nq; i++)
		assert_int_equal(submit(t, make_batch(NULL, "free", 1), &r[i]),
		    0);
	/* Queue full: refused, the caller keeps the batch. */
	b = make_batch(NULL, "free", 1);
	assert_int_equal(submit(t, b, &r[nq]), -1);
	store_batch_free(b);
	assert_int_equal(store_pending(t->store), nq);
	assert_int_equal(t->ncallbacks, 0);
	store_free(t->store);
	t->store = NULL;
	assert_int_equal(t->ncallbacks, nq);
	assert_int_equal(t->nout[STORE_UNAVAILABLE], nq);
	for (i = 0; i < nq; i++)
		assert_int_equal(r[i].fired, 1);

	/*
	 * In flight: one pass of the loop runs the deferred kick, which sends
	 * the transaction; the result is not read before store_free().
	 */
	t->ncallbacks = 0;
	memset(t->nout, 0, sizeof(t->nout));
	store_up(t, 16);
	for (i = nq; i < nq + nf; i++)
		assert_int_equal(submit(t, make_batch(NULL, "free", 1), &r[i]),
		    0);
	event_base_loop(t->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(t->ncallbacks, 0);
	store_free(t->store);
	t->store = NULL;
	assert_int_equal(t->ncallbacks, nf);
	assert_int_equal(t->nout[STORE_UNAVAILABLE], nf);
	for (i = nq; i < nq + nf; i++)
		assert_int_equal(r[i].fired, 1);

	store_free(NULL);
}

/*
 * 9. The connection dies while a transaction is in flight (its INSERT waits
 * on a lock): every batch in it is answered STORE_UNAVAILABLE.
 */
static void
test_lost_in_flight(void **state)
{
	struct tctx	*t = *state;
	const size_t	 n = 3;
	struct done_rec	*r = recs_alloc(t, n);
	PGresult	*res;
	struct timespec	 now, end;
	char		 tag[32], out[64], err[512];
	const char	*params[1];
	size_t		 i;
	int		 ok;

	ensure_migrated();
	store_up(t, 16);
	make_tag(tag, sizeof(tag), "lost");
	params[0] = tag;

	t->hold = PQconnectdb(env.ci_owner);
	assert_int_equal(PQstatus(t->hold), CONNECTION_OK);
	res = PQexec(t->hold, "BEGIN; LOCK TABLE nwd.audit_events "
	    "IN ACCESS EXCLUSIVE MODE");
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	assert_true(ok);

	for (i = 0; i < n; i++)
		assert_int_equal(submit(t, make_batch(NULL, tag, 1), &r[i]),
		    0);
	/* One pass sends the transaction; then wait for it to block. */
	event_base_loop(t->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += DEADLINE_S;
	for (;;) {
		if (db_try(env.ci_super, "SELECT count(*) FROM "
		    "pg_stat_activity WHERE application_name = 'nwdd' AND "
		    "usename = 'nwd_daemon' AND wait_event_type = 'Lock'",
		    0, NULL, out, sizeof(out), err, sizeof(err)) == -1)
			fail_msg("pg_stat_activity: %s", err);
		if (strcmp(out, "1") == 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec)
			fail_msg("the store's INSERT never waited on the lock");
	}
	assert_int_equal(t->ncallbacks, 0);
	if (db_try(env.ci_super, "SELECT count(pg_terminate_backend(pid)) "
	    "FROM pg_stat_activity WHERE application_name = 'nwdd' AND "
	    "usename = 'nwd_daemon'", 0, NULL, out, sizeof(out), err,
	    sizeof(err)) == -1)
		fail_msg("pg_terminate_backend: %s", err);
	assert_string_equal(out, "1");

	wait_callbacks(t, n);
	assert_int_equal(t->nout[STORE_UNAVAILABLE], n);
	for (i = 0; i < n; i++)
		assert_int_equal(r[i].fired, 1);
	assert_true(t->nstate[STORE_DISCONNECTED] >= 1);

	PQfinish(t->hold);
	t->hold = NULL;
	wait_state(t, STORE_READY, DEADLINE_S);
	assert_int_equal(db_try(env.ci_owner, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE session = $1", 1, params, out,
	    sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "0");
}

/* ------------------------------------------------------------------------
 * Allocations
 */

/* Times as the store reads them back: Unix ms, 0 for NULL. */
#define SQL_MS(col) "coalesce(round(extract(epoch FROM date_trunc(" \
	"'milliseconds', " col ")) * 1000)::bigint, 0)"

/* The rows of nwd.allocations that match where, on one line. */
#define SQL_ALLOC_ROWS(where) "SELECT string_agg(concat_ws('|', subject, " \
	"team, worker, " SQL_MS("from_at") ", " SQL_MS("until_at") \
	", instance), ';' ORDER BY id) FROM nwd.allocations " where

static void
assert_arow(const struct alloc_rec *r, const char *subject, const char *team,
    const char *worker, int64_t from_ms, int64_t until_ms)
{
	assert_string_equal(r->subject, subject);
	assert_string_equal(r->team, team);
	assert_string_equal(r->worker, worker);
	assert_int_equal(r->from_ms, from_ms);
	assert_int_equal(r->until_ms, until_ms);
}

/*
 * Every row the last allocations callback got, as SQL_ALLOC_ROWS writes
 * them (without the instance); the caller frees the result.
 */
static char *
arows_text(const struct tctx *t)
{
	char	*buf, *p;
	size_t	 len = 1, i;
	int	 n;

	for (i = 0; i < t->narows; i++)
		len += strlen(t->arows[i].subject) + strlen(t->arows[i].team) +
		    strlen(t->arows[i].worker) + 64;
	assert_non_null(buf = calloc(1, len));
	for (p = buf, i = 0; i < t->narows; i++) {
		n = snprintf(p, len - (size_t)(p - buf), "%s%s|%s|%s|%" PRId64
		    "|%" PRId64, i > 0 ? ";" : "", t->arows[i].subject,
		    t->arows[i].team, t->arows[i].worker, t->arows[i].from_ms,
		    t->arows[i].until_ms);
		assert_true(n > 0 && (size_t)n < len - (size_t)(p - buf));
		p += n;
	}
	return buf;
}

/* Asserts the last callback got every row of the table, in id order. */
static void
assert_arows_all(struct tctx *t)
{
	char	*want, *got, err[512];
	long	 n;

	n = db_long1("SELECT count(*) FROM nwd.allocations", NULL);
	assert_int_equal(t->narows, (size_t)n);
	assert_non_null(want = calloc(1, 1 << 20));
	if (db_try(env.ci_owner, "SELECT string_agg(concat_ws('|', subject, "
	    "team, worker, " SQL_MS("from_at") ", " SQL_MS("until_at") "), "
	    "';' ORDER BY id) FROM nwd.allocations", 0, NULL, want, 1 << 20,
	    err, sizeof(err)) == -1) {
		free(want);
		fail_msg("reading nwd.allocations: %s", err);
	}
	if (n == 0)
		snprintf(want, 1 << 20, "%s", "");
	got = arows_text(t);
	if (strcmp(want, got) != 0) {
		print_error("want: %s\ngot:  %s\n", want, got);
		free(want);
		free(got);
		fail_msg("the callback's rows differ from nwd.allocations");
	}
	free(want);
	free(got);
}

/*
 * 10. A batch's allocation rows commit with its message; 0 times are NULL;
 * an allocation of an unknown message fails its batch alone.
 */
static void
test_alloc_commit(void **state)
{
	struct tctx		*t = *state;
	struct done_rec		*r = recs_alloc(t, 3);
	struct store_batch	*b, *bad;
	struct alloc_entry	 e;
	char			 id[37], other[37], tag[32], subj[48], team[16];
	char			 out[512], want[512], longid[64];

	ensure_migrated();
	store_up(t, 16);
	make_uuid(id);
	make_uuid(other);
	make_tag(tag, sizeof(tag), "alloc");
	snprintf(subj, sizeof(subj), "yp:%s", tag);
	snprintf(team, sizeof(team), "team-a");

	b = make_batch(id, tag, 1);
	memset(&e, 0, sizeof(e));
	e.subject = subj;
	e.team = team;
	e.worker = "";
	e.from_ms = 1700000000123LL;
	e.until_ms = 0;
	assert_int_equal(store_batch_add_allocation(b, &e, id), 0);
	e.team = "";
	e.worker = "principal:carol";
	e.from_ms = 0;
	e.until_ms = 1700000000789LL;
	assert_int_equal(store_batch_add_allocation(b, &e, id), 0);
	/* The batch holds copies. */
	memset(subj, 'X', sizeof(subj) - 1);
	memset(team, 'X', sizeof(team) - 1);

	/* Refused at once, the batch unchanged. */
	e.subject = "yp:refused";
	e.team = "";
	e.worker = "";
	assert_int_equal(store_batch_add_allocation(b, &e, id), -1);
	e.team = NULL;
	e.worker = NULL;
	assert_int_equal(store_batch_add_allocation(b, &e, id), -1);
	e.worker = "principal:carol";
	assert_int_equal(store_batch_add_allocation(b, &e, NULL), -1);
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_int_equal(store_batch_add_allocation(b, &e, longid), -1);
	e.subject = NULL;
	assert_int_equal(store_batch_add_allocation(b, &e, id), -1);
	assert_int_equal(store_batch_add_allocation(NULL, &e, id), -1);
	assert_int_equal(store_batch_add_allocation(b, NULL, id), -1);

	/* No message row for "other": its batch fails, alone. */
	assert_non_null(bad = store_batch_new());
	e.subject = "yp:orphan";
	assert_int_equal(store_batch_add_allocation(bad, &e, other), 0);
	assert_int_equal(submit(t, bad, &r[0]), 0);
	assert_int_equal(submit(t, b, &r[1]), 0);
	wait_callbacks(t, 2);
	assert_int_equal(r[0].outcome, STORE_FAILED);
	assert_int_equal(r[1].outcome, STORE_COMMITTED);
	assert_int_equal(t->cb_in_submit, 0);

	db_text1(SQL_ALLOC_ROWS("WHERE message_id = $1::uuid"), id, out,
	    sizeof(out));
	snprintf(want, sizeof(want), "yp:%s|team-a||1700000000123|0|" INSTANCE
	    ";yp:%s||principal:carol|0|1700000000789|" INSTANCE, tag, tag);
	assert_string_equal(out, want);
	/* 0 is NULL, not the epoch. */
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.allocations WHERE "
	    "message_id = $1::uuid AND (from_at IS NULL) <> (until_at IS NULL) "
	    "AND recorded_at IS NOT NULL", id), 2);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.audit_events "
	    "WHERE message_id = $1::uuid", id), 1);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.allocations "
	    "WHERE message_id = $1::uuid", other), 0);

	/* A batch with only an allocation, of a message stored earlier. */
	e.subject = "yp:later";
	e.team = "team-b";
	e.worker = "";
	e.from_ms = 1700000000000LL;
	e.until_ms = 1700000001000LL;
	assert_non_null(b = store_batch_new());
	assert_int_equal(store_batch_add_allocation(b, &e, id), 0);
	assert_int_equal(store_batch_nevents(b), 0);
	assert_int_equal(submit(t, b, &r[2]), 0);
	wait_callbacks(t, 3);
	assert_int_equal(r[2].outcome, STORE_COMMITTED);
	db_text1(SQL_ALLOC_ROWS("WHERE message_id = $1::uuid AND "
	    "subject = 'yp:later'"), id, out, sizeof(out));
	assert_string_equal(out, "yp:later|team-b||1700000000000|"
	    "1700000001000|" INSTANCE);
}

/* Records an allocation (and its message) as the owner, outside nwdd. */
static void
db_alloc(const char *id, const char *values)
{
	char	sql[1024];

	snprintf(sql, sizeof(sql), "INSERT INTO nwd.allocations (message_id, "
	    "subject, team, worker, from_at, until_at, instance) "
	    "SELECT $1::uuid, %s", values);
	db_ok1(env.ci_owner, sql, id);
}

/*
 * 11. At connect the store hands every allocation, in order, to the
 * callback, before it reports READY.
 */
static void
test_alloc_load(void **state)
{
	struct tctx	*t = *state;
	char		 id[37], tag[32], subj[48], vals[512];
	size_t		 n;

	ensure_migrated();

	/* Whatever is there now (nothing on a fresh run). */
	store_begin(t, 16, 1);
	wait_state(t, STORE_READY, DEADLINE_S);
	assert_int_equal(t->nalloc_calls, 1);
	assert_int_equal(t->alloc_rows_null, 0);
	assert_arows_all(t);
	store_free(t->store);
	t->store = NULL;
	t->nalloc_calls = 0;
	memset(t->nstate, 0, sizeof(t->nstate));

	make_uuid(id);
	make_tag(tag, sizeof(tag), "load");
	snprintf(subj, sizeof(subj), "yp:%s", tag);
	db_ok1(env.ci_owner, "INSERT INTO nwd.messages (id, kind, subject, "
	    "sender, created_at, instance) VALUES ($1::uuid, 1, 'yp:42', "
	    "'principal:alice', now(), 'sql')", id);
	snprintf(vals, sizeof(vals), "'%s', 'team-a', '', "
	    "timestamptz '2023-11-14 22:13:20.123+00', NULL, 'sql'", subj);
	db_alloc(id, vals);
	/* Below the millisecond is cut off. */
	snprintf(vals, sizeof(vals), "'%s', '', 'principal:carol', NULL, "
	    "timestamptz '2023-11-14 22:13:20.456789+00', 'sql'", subj);
	db_alloc(id, vals);
	snprintf(vals, sizeof(vals), "'%s', 'team-a', '', "
	    "timestamptz '2023-11-14 22:13:20.123+00', "
	    "timestamptz '2023-11-14 22:13:20.789+00', 'sql'", subj);
	db_alloc(id, vals);

	store_begin(t, 16, 1);
	assert_int_equal(t->nalloc_calls, 0);
	wait_state(t, STORE_READY, DEADLINE_S);
	assert_int_equal(t->nalloc_calls, 1);
	assert_int_equal(t->nstate[STORE_READY], 1);
	assert_int_equal(t->alloc_bad_order, 0);
	assert_int_equal(t->alloc_when_ready, 0);
	assert_int_equal(t->alloc_rows_null, 0);
	assert_true(t->narows >= 3);
	n = t->narows;
	assert_arow(&t->arows[n - 3], subj, "team-a", "", 1700000000123LL, 0);
	assert_arow(&t->arows[n - 2], subj, "", "principal:carol", 0,
	    1700000000456LL);
	assert_arow(&t->arows[n - 1], subj, "team-a", "", 1700000000123LL,
	    1700000000789LL);
	assert_arows_all(t);
}

/*
 * 12. The callback refuses the allocations: the store never reports READY,
 * says why and retries; once the callback accepts, it serves.
 */
static void
test_alloc_refused(void **state)
{
	struct tctx		*t = *state;
	const size_t		 calls = 3;
	struct store_batch	*b;
	char			*log;
	int			 said;

	ensure_migrated();
	t->alloc_ret = -1;
	capture_start(t);
	store_begin(t, 16, 1);
	run_until(t, cond_alloc_calls, &calls, DEADLINE_S,
	    "refused allocation loads");
	log = capture_stop(t);
	assert_non_null(log);
	said = strstr(log, "did not accept the allocations") != NULL;
	free(log);
	assert_true(said);
	assert_int_equal(t->nstate[STORE_READY], 0);
	assert_true(t->nstate[STORE_CONNECTING] >= calls);
	assert_true(t->nstate[STORE_DISCONNECTED] >= calls - 1);
	assert_int_not_equal(store_get_state(t->store), STORE_READY);
	b = make_batch(NULL, "refused", 1);
	assert_int_equal(submit(t, b, NULL), -1);
	store_batch_free(b);

	t->alloc_ret = 0;
	wait_state(t, STORE_READY, DEADLINE_S);
	assert_int_equal(t->nstate[STORE_READY], 1);
	assert_true(t->nalloc_calls > calls);
	assert_int_equal(t->alloc_bad_order, 0);
	assert_int_equal(t->alloc_when_ready, 0);
	assert_arows_all(t);
}

/*
 * 13. The database goes away and comes back: the callback runs again, before
 * READY, and sees what the store wrote in between.
 */
static void
test_alloc_reconnect(void **state)
{
	struct tctx		*t = *state;
	struct done_rec		*r = recs_alloc(t, 1);
	struct store_batch	*b;
	struct alloc_entry	 e;
	char			 id[37], tag[32], subj[48];

	ensure_migrated();
	store_begin(t, 16, 1);
	wait_state(t, STORE_READY, DEADLINE_S);
	assert_int_equal(t->nalloc_calls, 1);

	make_uuid(id);
	make_tag(tag, sizeof(tag), "again");
	snprintf(subj, sizeof(subj), "yp:%s", tag);
	b = make_batch(id, tag, 1);
	memset(&e, 0, sizeof(e));
	e.subject = subj;
	e.team = "";
	e.worker = "principal:dave";
	assert_int_equal(store_batch_add_allocation(b, &e, id), 0);
	assert_int_equal(submit(t, b, r), 0);
	wait_callbacks(t, 1);
	assert_int_equal(r->outcome, STORE_COMMITTED);

	assert_int_equal(pg_ctl("stop"), 0);
	t->pg_stopped = 1;
	wait_state(t, STORE_DISCONNECTED, DEADLINE_S);
	assert_int_equal(pg_ctl("start"), 0);
	t->pg_stopped = 0;
	wait_state(t, STORE_READY, 2 * DEADLINE_S);
	assert_true(t->nstate[STORE_READY] >= 2);
	assert_true(t->nalloc_calls >= 2);
	assert_int_equal(t->alloc_bad_order, 0);
	assert_int_equal(t->alloc_when_ready, 0);
	assert_true(t->narows >= 1);
	assert_arow(&t->arows[t->narows - 1], subj, "", "principal:dave", 0,
	    0);
	assert_arows_all(t);
}

/* 14. Allocation rows are append-only for every role. */
static void
test_alloc_privileges(void **state)
{
	char	id[37], unknown[37], sql[512];

	ensure_migrated();
	make_uuid(id);
	make_uuid(unknown);
	db_ok1(env.ci_daemon, "INSERT INTO nwd.messages (id, kind, subject, "
	    "sender, created_at, instance) VALUES ($1::uuid, 1, 'yp:42', "
	    "'principal:alice', now(), 't14')", id);
	db_ok1(env.ci_daemon, "INSERT INTO nwd.allocations (message_id, "
	    "subject, worker, instance) VALUES ($1::uuid, 'yp:t14', "
	    "'principal:t14', 't14')", id);

	snprintf(sql, sizeof(sql), "INSERT INTO nwd.allocations (message_id, "
	    "subject, instance) VALUES ('%s', 'yp:t14', 't14')", id);
	db_refused(env.ci_daemon, sql, "allocations_who_check");
	snprintf(sql, sizeof(sql), "INSERT INTO nwd.allocations (message_id, "
	    "subject, team, from_at, instance) VALUES ('%s', 'yp:t14', 't', "
	    "'-infinity', 't14')", id);
	db_refused(env.ci_daemon, sql, "allocations_finite_check");
	snprintf(sql, sizeof(sql), "INSERT INTO nwd.allocations (message_id, "
	    "subject, team, instance) VALUES ('%s', 'yp:t14', 't', 't14')",
	    unknown);
	db_refused(env.ci_daemon, sql, "foreign key");

	db_refused(env.ci_daemon, "UPDATE nwd.allocations SET until_at = now() "
	    "WHERE instance = 't14'", "permission denied");
	db_refused(env.ci_daemon, "DELETE FROM nwd.allocations "
	    "WHERE instance = 't14'", "permission denied");
	db_refused(env.ci_daemon, "TRUNCATE nwd.allocations",
	    "permission denied");

	db_ok(env.ci_auditor, "SELECT count(*) FROM nwd.allocations");
	snprintf(sql, sizeof(sql), "INSERT INTO nwd.allocations (message_id, "
	    "subject, team, instance) VALUES ('%s', 'yp:t14', 't', 't14')",
	    id);
	db_refused(env.ci_auditor, sql, "permission denied");
	db_refused(env.ci_auditor, "DELETE FROM nwd.allocations",
	    "permission denied");

	db_refused(env.ci_owner, "UPDATE nwd.allocations SET until_at = now() "
	    "WHERE instance = 't14'", "append-only");
	db_refused(env.ci_owner, "DELETE FROM nwd.allocations "
	    "WHERE instance = 't14'", "append-only");
	db_refused(env.ci_owner, "TRUNCATE nwd.allocations", "append-only");
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.allocations "
	    "WHERE message_id = $1::uuid AND worker = 'principal:t14' AND "
	    "team = '' AND until_at IS NULL", id), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_migrate, setup, teardown),
		/* Early: it also sees the table as migration left it. */
		cmocka_unit_test_setup_teardown(test_alloc_load, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_commit_one, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_commit_many, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refused_alone, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sync_commit_off, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_privileges, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reconnect, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_free_pending, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_lost_in_flight, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_alloc_commit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_alloc_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_alloc_reconnect, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_alloc_privileges, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
