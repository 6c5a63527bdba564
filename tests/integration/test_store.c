/*
 * test_store: migrate and store against a real PostgreSQL.
 *
 * Needs NWD_TEST_PGPORT (PostgreSQL on 127.0.0.1, trust authentication,
 * database nwd owned by nwd_owner, roles nwd_owner, nwd_daemon, nwd_auditor
 * and superuser postgres, schema not yet migrated) and NWD_TEST_PGDIR (the
 * cluster, stopped and started with "$NWD_SRCDIR/deploy/pg.sh stop|start").
 * It also needs NWD_TEST_PKI (deploy/gen-pki.sh: audit-signing.key and .pub
 * sign and check checkpoints).  Without them every test fails: this suite
 * is never skipped.
 *
 * No sleeps: each test runs the event loop until the callback it waits for
 * has fired (or polls the database for the state it waits for), and fails
 * if a generous deadline passes first.
 *
 * The fault tests put a TCP proxy of their own (on the same event loop)
 * between the store and PostgreSQL, to cut the connection at chosen points
 * of a transaction: before it reaches the server, in its middle, after it
 * has committed but before the store hears of it.  (A transaction is the
 * store's statements up to a pipeline Sync, with no BEGIN or COMMIT: the
 * proxy tells one by its audit statement, "nwd_insert_event", and its
 * answer by the CommandCompletes of its statements: the message INSERT and
 * the SELECT of nwd.audit_append().)
 */
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <libpq-fe.h>

#include "alloc.h"
#include "anchor.h"
#include "audit.h"
#include "chain.h"
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
	char	sign_key[PATH_MAX];	/* Ed25519, PEM */
	char	sign_pub[PATH_MAX];
	char	tmp[PATH_MAX];		/* scratch directory */
	int	pgport;
	int	ok;
} env;

struct tctx;

/* A copy of one row handed to the allocations callback. */
struct alloc_rec {
	char			*subject;
	char			*team;
	char			*worker;
	int64_t			 from_ms;
	int64_t			 until_ms;
	char			*message_id;
	char			*by;		/* its message's sender */
	enum store_alloc_proof	 proof;
	char			*why;
	int			 has_body;
};

/* One submitted batch's callback record. */
struct done_rec {
	struct tctx		*t;
	int			 fired;
	enum store_outcome	 outcome;
};

/* A copy of one row handed to the subscriptions callback. */
struct sub_rec {
	char	 *principal;
	char	 *name;
	uint32_t  kinds;
	char	**subjects;
	size_t	  nsubjects;
};

/* One query's callback record, with a copy of its rows. */
struct qrec {
	struct tctx	*t;
	int		 fired;
	int		 ok;
	int		 r_null;	/* the result pointer was NULL */
	size_t		 ncols;		/* columns to copy */
	size_t		 extra_col;	/* value(ncols) was not NULL */
	size_t		 nrows;
	char		**val;		/* nrows * ncols; NULL for SQL NULL */
	size_t		*len;
};

#define NQREC	8

/* The fault proxy: one connection pair at a time. */
struct proxy {
	struct evconnlistener	*lst;
	int			 port;
	struct bufferevent	*cli;		/* the store's side */
	struct bufferevent	*srv;		/* PostgreSQL's side */
	int			 hold_c2s;	/* keep what the store sends */
	int			 hold_s2c;	/* keep what the server sends */
	size_t			 naccepted;
	size_t			 ncuts;
};

/* Per-test state; the teardown frees whatever a failed test left. */
struct tctx {
	struct event_base	*base;
	struct store		*store;
	struct done_rec		*recs;		/* owned; outlive the store */
	size_t			 nrecs;
	size_t			 ncallbacks;
	size_t			 nout[4];	/* per store_outcome */
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

	/* The subscriptions callback. */
	int			 sub_ret;
	size_t			 nsub_calls;
	struct sub_rec		*srows;		/* owned; the last call's */
	size_t			 nsrows;

	/* A second store (same loop), its state changes. */
	struct store		*store2;
	size_t			 nstate2[3];

	struct qrec		 q[NQREC];	/* owned copies */
	struct chain_signer	*signer;	/* owned; outlives the stores */
	struct chain_verifier	*verifier;	/* owned */
	struct proxy		*proxy;		/* owned */
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
		free(t->arows[i].message_id);
		free(t->arows[i].by);
		free(t->arows[i].why);
	}
	free(t->arows);
	t->arows = NULL;
	t->narows = 0;
}

/* Keeps a copy of the rows (the store's live only during the call). */
static int
on_allocs(const struct store_alloc_row *rows, size_t n, void *arg)
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
		t->arows[i].from_ms = rows[i].e.from_ms;
		t->arows[i].until_ms = rows[i].e.until_ms;
		t->arows[i].proof = rows[i].proof;
		t->arows[i].has_body = rows[i].body != NULL;
		if ((t->arows[i].subject = strdup(rows[i].e.subject)) ==
		    NULL || (t->arows[i].team = strdup(rows[i].e.team)) ==
		    NULL || (t->arows[i].worker = strdup(rows[i].e.worker)) ==
		    NULL || (t->arows[i].message_id =
		    strdup(rows[i].message_id)) == NULL ||
		    (t->arows[i].by = strdup(rows[i].e.by != NULL ?
		    rows[i].e.by : "(null)")) == NULL ||
		    (rows[i].why != NULL && (t->arows[i].why =
		    strdup(rows[i].why)) == NULL)) {
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
 * Helpers for the chain, queries, subscriptions and faults
 */

/* The prev_hash of a chain's first row, as SQL. */
#define SQL_ZEROS	"'\\x" \
	"0000000000000000000000000000000000000000000000000000000000000000'"

/*
 * The rows of a query as the role of ci (the caller clears them); fails
 * the test on error.
 */
static PGresult *
db_rows(const char *ci, const char *sql, int nparams,
    const char *const *params)
{
	PGconn		*c;
	PGresult	*res;
	char		 err[512];

	c = PQconnectdb(ci);
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(err, sizeof(err), "%s", PQerrorMessage(c));
		PQfinish(c);
		fail_msg("connect: %s", err);
	}
	res = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, sizeof(err), "%s", PQresultErrorMessage(res));
		PQclear(res);
		PQfinish(c);
		fail_msg("%s: %s", sql, err);
	}
	PQfinish(c);
	return res;
}

static int
unhex(const char *hex, uint8_t *out, size_t len)
{
	size_t		i;
	unsigned int	v;

	if (hex == NULL || strlen(hex) != 2 * len)
		return -1;
	for (i = 0; i < len; i++) {
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* Every audit row of an instance, in seq order, as the verifier reads it. */
#define SQL_CHAIN_ROWS "SELECT encode(prev_hash, 'hex'), " \
	"encode(hash, 'hex'), " \
	"instance, seq::text, (extract(epoch FROM date_trunc('milliseconds', " \
	"at)) * 1000)::bigint::text, actor, action, message_id::text, " \
	"subject, kind::text, recipient, " \
	"array_to_string(fields_shared, ','), " \
	"array_to_string(fields_withheld, ','), rule, policy_version, " \
	"reason, peer, session, route, encode(message_hash, 'hex') " \
	"FROM nwd.audit_events WHERE instance = $1 " \
	"ORDER BY audit_events.seq"

/*
 * Recomputes the whole chain of instance from the database with chain.h:
 * seq runs 1..n without a gap or a repeat, each prev_hash is the hash of
 * the row before (zeros for the first), each hash is chain_hash() of its
 * row.  Returns n; fails the test naming the first bad row.
 */
static size_t
verify_chain(const char *instance)
{
	const char		*params[1] = { instance };
	PGresult		*res;
	struct chain_row	 row;
	uint8_t			 prev[CHAIN_HASH_LEN], want[CHAIN_HASH_LEN];
	uint8_t			 got[CHAIN_HASH_LEN], hash[CHAIN_HASH_LEN];
	char			 seq[24], err[256];
	size_t			 n, i;
	int			 f;

	res = db_rows(env.ci_auditor, SQL_CHAIN_ROWS, 1, params);
	n = (size_t)PQntuples(res);
	memset(want, 0, sizeof(want));
	err[0] = '\0';
	for (i = 0; i < n && err[0] == '\0'; i++) {
		snprintf(seq, sizeof(seq), "%zu", i + 1);
		for (f = 0; f < CHAIN_NFIELDS; f++)
			row.field[f] = PQgetisnull(res, (int)i, f + 2) ? NULL :
			    PQgetvalue(res, (int)i, f + 2);
		if (strcmp(row.field[CHAIN_F_SEQ], seq) != 0)
			snprintf(err, sizeof(err), "row %zu has seq %s", i + 1,
			    row.field[CHAIN_F_SEQ]);
		else if (unhex(PQgetvalue(res, (int)i, 0), prev,
		    sizeof(prev)) == -1 || memcmp(prev, want, sizeof(prev)))
			snprintf(err, sizeof(err), "row %s: prev_hash is not "
			    "the hash of the row before", seq);
		else if (unhex(PQgetvalue(res, (int)i, 1), hash,
		    sizeof(hash)) == -1 ||
		    chain_hash(prev, &row, got) == -1 ||
		    memcmp(got, hash, sizeof(got)) != 0)
			snprintf(err, sizeof(err), "row %s: hash is not "
			    "chain_hash(prev_hash, row)", seq);
		memcpy(want, hash, sizeof(want));
	}
	PQclear(res);
	if (err[0] != '\0')
		fail_msg("chain of %s: %s", instance, err);
	return n;
}

/*
 * Checks every checkpoint of instance: its hash is the hash of its row and
 * its signature verifies with v.  Returns the seqs, comma-separated, in
 * out.
 */
static size_t
verify_checkpoints(const char *instance, const struct chain_verifier *v,
    char *out, size_t outlen)
{
	const char	*params[1] = { instance };
	PGresult	*res;
	uint8_t		 hash[CHAIN_HASH_LEN], sig[CHAIN_SIG_LEN];
	char		 text[512], err[256];
	size_t		 n, i, len;
	int64_t		 seq, at;
	int		 tlen;

	res = db_rows(env.ci_auditor, "SELECT c.seq, encode(c.hash, 'hex'), "
	    "(extract(epoch FROM c.at) * 1000)::bigint, c.key_id, "
	    "encode(c.signature, 'hex'), c.hash = e.hash "
	    "FROM nwd.checkpoints c LEFT JOIN nwd.audit_events e "
	    "ON e.instance = c.instance AND e.seq = c.seq "
	    "WHERE c.instance = $1 ORDER BY c.seq", 1, params);
	n = (size_t)PQntuples(res);
	out[0] = err[0] = '\0';
	for (i = 0; i < n && err[0] == '\0'; i++) {
		seq = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
		at = strtoll(PQgetvalue(res, (int)i, 2), NULL, 10);
		len = strlen(out);
		snprintf(out + len, outlen - len, "%s%" PRId64, i ? "," : "",
		    seq);
		if (strcmp(PQgetvalue(res, (int)i, 5), "t") != 0)
			snprintf(err, sizeof(err), "checkpoint %" PRId64
			    ": not the hash of row %" PRId64, seq, seq);
		else if (strcmp(PQgetvalue(res, (int)i, 3),
		    chain_verifier_key_id(v)) != 0)
			snprintf(err, sizeof(err), "checkpoint %" PRId64
			    ": key_id %s", seq, PQgetvalue(res, (int)i, 3));
		else if (unhex(PQgetvalue(res, (int)i, 1), hash,
		    sizeof(hash)) == -1 || unhex(PQgetvalue(res, (int)i, 4),
		    sig, sizeof(sig)) == -1 ||
		    (tlen = chain_checkpoint_text(instance, seq, hash, at,
		    text, sizeof(text))) < 0 ||
		    chain_verify(v, text, (size_t)tlen, sig) != 1)
			snprintf(err, sizeof(err), "checkpoint %" PRId64
			    ": the signature does not verify", seq);
		/* A forged text does not verify: the check is real. */
		else if (text[tlen - 1]++, chain_verify(v, text, (size_t)tlen,
		    sig) != 0)
			snprintf(err, sizeof(err), "checkpoint %" PRId64
			    ": a changed text verifies", seq);
	}
	PQclear(res);
	if (err[0] != '\0')
		fail_msg("checkpoints of %s: %s", instance, err);
	return n;
}

static void
keys_load(struct tctx *t)
{
	char	err[512];

	if ((t->signer = chain_signer_load(env.sign_key, err,
	    sizeof(err))) == NULL)
		fail_msg("signer: %s", err);
	if ((t->verifier = chain_verifier_load(env.sign_pub, err,
	    sizeof(err))) == NULL)
		fail_msg("verifier: %s", err);
}

static size_t
count_str(const char *text, const char *needle)
{
	size_t	n = 0;

	while (text != NULL && (text = strstr(text, needle)) != NULL) {
		n++;
		text += strlen(needle);
	}
	return n;
}

static void
srows_free(struct tctx *t)
{
	size_t	i, j;

	for (i = 0; i < t->nsrows; i++) {
		free(t->srows[i].principal);
		free(t->srows[i].name);
		for (j = 0; j < t->srows[i].nsubjects; j++)
			free(t->srows[i].subjects[j]);
		free(t->srows[i].subjects);
	}
	free(t->srows);
	t->srows = NULL;
	t->nsrows = 0;
}

/* Keeps a copy of the rows (the store's live only during the call). */
static int
on_subs(const struct store_subscription *rows, size_t n, void *arg)
{
	struct tctx	*t = arg;
	struct sub_rec	*r;
	size_t		 i, j;

	t->nsub_calls++;
	srows_free(t);
	if (rows == NULL || (t->srows = calloc(n > 0 ? n : 1,
	    sizeof(*t->srows))) == NULL)
		return -1;
	t->nsrows = n;
	for (i = 0; i < n; i++) {
		r = &t->srows[i];
		r->kinds = rows[i].kinds;
		if ((r->principal = strdup(rows[i].principal)) == NULL ||
		    (r->name = strdup(rows[i].name)) == NULL ||
		    (r->subjects = calloc(rows[i].nsubjects + 1,
		    sizeof(char *))) == NULL)
			return -1;
		for (j = 0; j < rows[i].nsubjects; j++) {
			if ((r->subjects[j] = strdup(rows[i].subjects[j])) ==
			    NULL)
				return -1;
			r->nsubjects++;
		}
	}
	return t->sub_ret;
}

static const struct sub_rec *
srow_find(const struct tctx *t, const char *principal, const char *name)
{
	size_t	i;

	for (i = 0; i < t->nsrows; i++)
		if (strcmp(t->srows[i].principal, principal) == 0 &&
		    strcmp(t->srows[i].name, name) == 0)
			return &t->srows[i];
	return NULL;
}

static void
qrec_clear(struct qrec *q)
{
	size_t	i;

	for (i = 0; i < q->nrows * q->ncols; i++)
		free(q->val[i]);
	free(q->val);
	free(q->len);
	memset(q, 0, sizeof(*q));
}

static void
qrecs_free(struct tctx *t)
{
	size_t	i;

	for (i = 0; i < NQREC; i++)
		qrec_clear(&t->q[i]);
}

/* A fresh record for a query with ncols columns. */
static struct qrec *
qrec_new(struct tctx *t, size_t i, size_t ncols)
{
	assert_true(i < NQREC);
	qrec_clear(&t->q[i]);
	t->q[i].t = t;
	t->q[i].ncols = ncols;
	return &t->q[i];
}

/* Copies the rows: the result lives only during the call. */
static void
on_query(int ok, const struct store_result *r, void *arg)
{
	struct qrec	*q = arg;
	const char	*v;
	size_t		 i, j, n;

	q->fired++;
	q->ok = ok;
	q->r_null = r == NULL;
	if (q->t->in_submit)
		q->t->cb_in_submit++;
	n = store_result_nrows(r);
	if (n == 0 || (q->val = calloc(n * q->ncols,
	    sizeof(*q->val))) == NULL || (q->len = calloc(n * q->ncols,
	    sizeof(*q->len))) == NULL)
		return;
	q->nrows = n;
	for (i = 0; i < n; i++) {
		if (store_result_value(r, i, q->ncols) != NULL)
			q->extra_col++;
		for (j = 0; j < q->ncols; j++) {
			if ((v = store_result_value(r, i, j)) == NULL)
				continue;
			q->len[i * q->ncols + j] =
			    store_result_length(r, i, j);
			if ((q->val[i * q->ncols + j] = malloc(
			    q->len[i * q->ncols + j] + 1)) != NULL)
				memcpy(q->val[i * q->ncols + j], v,
				    q->len[i * q->ncols + j] + 1);
		}
	}
}

static const char *
qv(const struct qrec *q, size_t row, size_t col)
{
	assert_true(row < q->nrows && col < q->ncols);
	return q->val[row * q->ncols + col];
}

static size_t
ql(const struct qrec *q, size_t row, size_t col)
{
	assert_true(row < q->nrows && col < q->ncols);
	return q->len[row * q->ncols + col];
}

static int
cond_query(struct tctx *t, const void *arg)
{
	return ((const struct qrec *)arg)->fired > 0;
}

static void
wait_query(struct tctx *t, struct qrec *q)
{
	run_until(t, cond_query, q, DEADLINE_S, "query callback");
	assert_int_equal(q->fired, 1);
}

static void
on_state2(enum store_state st, void *arg)
{
	struct tctx	*t = arg;

	t->nstate2[st]++;
}

static int
cond_state2(struct tctx *t, const void *arg)
{
	return store_get_state(t->store2) == *(const enum store_state *)arg;
}

static int
cond_disconnects2(struct tctx *t, const void *arg)
{
	return t->nstate2[STORE_DISCONNECTED] >= *(const size_t *)arg;
}

/*
 * The first value of sql (one text parameter) as the superuser (who sees
 * all of pg_stat_activity), or -1.
 */
static long
db_count(const char *sql, const char *param)
{
	char		 out[64], err[512];
	const char	*params[1] = { param };

	if (db_try(env.ci_super, sql, param != NULL ? 1 : 0, params, out,
	    sizeof(out), err, sizeof(err)) == -1)
		return -1;
	return strtol(out, NULL, 10);
}

/* A database condition polled between passes of the loop. */
struct dbcond {
	const char	*sql;
	const char	*param;
	long		 want;
};

static int
cond_db(struct tctx *t, const void *arg)
{
	const struct dbcond	*c = arg;

	event_base_loop(t->base, EVLOOP_NONBLOCK);
	return db_count(c->sql, c->param) == c->want;
}

/* Runs the loop until sql answers want. */
static void
wait_db(struct tctx *t, const char *sql, const char *param, long want)
{
	struct dbcond	c = { sql, param, want };
	struct event	*ev;
	struct timeval	 tv = { DEADLINE_S, 0 };
	int		 expired = 0;

	/* Not run_until: the loop must not block while the database moves. */
	assert_non_null(ev = evtimer_new(t->base, on_deadline, &expired));
	evtimer_add(ev, &tv);
	while (!cond_db(t, &c) && !expired)
		;
	event_free(ev);
	if (db_count(sql, param) != want)
		fail_msg("%s (%s) never gave %ld within %d s", sql,
		    param != NULL ? param : "-", want, DEADLINE_S);
}

/* A message batch with a sealed-looking body (any bytes, NUL included). */
static struct store_batch *
make_body_batch(const char *id, const char *subject, int kind,
    int64_t created_ms, const uint8_t *body, size_t body_len,
    const char *session, size_t nevents)
{
	struct store_batch	*b;
	struct store_message	 m;
	struct audit_event	*ev;
	size_t			 i;

	assert_non_null(b = store_batch_new());
	memset(&m, 0, sizeof(m));
	snprintf(m.id, sizeof(m.id), "%s", id);
	m.kind = kind;
	m.subject = subject;
	m.sender = "principal:alice";
	m.agency = "agency-a";
	m.marking = 2;
	m.priority = 1;
	m.legal_basis = 3;
	m.created_ms = created_ms;
	m.policy_version = "v1";
	m.body = body;
	m.body_len = body_len;
	m.key_id = body != NULL ? "0123456789abcdef" : NULL;
	assert_int_equal(store_batch_set_message(b, &m), 0);
	for (i = 0; i < nevents; i++) {
		ev = make_event(AUDIT_PUBLISH, id, session);
		ev->kind = kind;
		assert_int_equal(audit_event_set(ev, AUDIT_F_SUBJECT, subject),
		    0);
		assert_int_equal(store_batch_add_event(b, ev), 0);
	}
	return b;
}

/* Creates and starts the store on ci for instance, and waits for READY. */
static void
store_up_on(struct tctx *t, const char *ci, const char *instance,
    uint32_t queue_max)
{
	assert_non_null(t->store = store_new(t->base, ci, instance, queue_max,
	    1));
	assert_int_equal(store_start(t->store, on_state, t), 0);
	wait_state(t, STORE_READY, DEADLINE_S);
}

/* ------------------------------------------------------------------------
 * The fault proxy
 */

static void	proxy_pump(struct proxy *);

/* Closes both sides (what either side had not taken is lost). */
static void
proxy_cut(struct proxy *p)
{
	if (p->cli == NULL && p->srv == NULL)
		return;
	if (p->cli != NULL)
		bufferevent_free(p->cli);
	if (p->srv != NULL)
		bufferevent_free(p->srv);
	p->cli = p->srv = NULL;
	p->ncuts++;
}

static void
proxy_on_read(struct bufferevent *bev, void *arg)
{
	proxy_pump(arg);
}

static void
proxy_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct proxy	*p = arg;

	/* Either side gone: both go, with whatever was in between. */
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		proxy_cut(p);
}

/* Forwards what is not held. */
static void
proxy_pump(struct proxy *p)
{
	if (p->cli == NULL || p->srv == NULL)
		return;
	if (!p->hold_c2s)
		evbuffer_add_buffer(bufferevent_get_output(p->srv),
		    bufferevent_get_input(p->cli));
	if (!p->hold_s2c)
		evbuffer_add_buffer(bufferevent_get_output(p->cli),
		    bufferevent_get_input(p->srv));
}

static void
proxy_on_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct proxy		*p = arg;
	struct event_base	*base = evconnlistener_get_base(l);
	struct sockaddr_in	 sin;

	/* A new connection from the store: the old one is dead to it. */
	proxy_cut(p);
	p->naccepted++;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)env.pgport);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->cli = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	p->srv = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (p->cli == NULL || p->srv == NULL) {
		if (p->cli == NULL)
			evutil_closesocket(fd);
		proxy_cut(p);
		return;
	}
	bufferevent_setcb(p->cli, proxy_on_read, NULL, proxy_on_event, p);
	bufferevent_setcb(p->srv, proxy_on_read, NULL, proxy_on_event, p);
	bufferevent_enable(p->cli, EV_READ | EV_WRITE);
	bufferevent_enable(p->srv, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(p->srv, (struct sockaddr *)&sin,
	    sizeof(sin)) == -1) {
		proxy_cut(p);
		return;
	}
	/*
	 * PostgreSQL restarted by a test (system()) must not inherit either
	 * side: a copy held open would keep the store from seeing the cut.
	 */
	evutil_make_socket_closeonexec(bufferevent_getfd(p->srv));
}

static void
proxy_free(struct proxy *p)
{
	if (p == NULL)
		return;
	proxy_cut(p);
	if (p->lst != NULL)
		evconnlistener_free(p->lst);
	free(p);
}

/* Starts the proxy on a free loopback port; ci gets its conninfo. */
static struct proxy *
proxy_new(struct tctx *t, char *ci, size_t cilen)
{
	struct proxy		*p;
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);

	assert_non_null(p = calloc(1, sizeof(*p)));
	t->proxy = p;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_non_null(p->lst = evconnlistener_new_bind(t->base,
	    proxy_on_accept, p, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
	    LEV_OPT_CLOSE_ON_EXEC, -1,
	    (struct sockaddr *)&sin, sizeof(sin)));
	assert_int_equal(getsockname(evconnlistener_get_fd(p->lst),
	    (struct sockaddr *)&sin, &len), 0);
	p->port = ntohs(sin.sin_port);
	/* No SSL or GSS request: the proxy understands only what it holds. */
	snprintf(ci, cilen, "host=127.0.0.1 port=%d dbname=nwd user=nwd_daemon "
	    "connect_timeout=10 sslmode=disable gssencmode=disable", p->port);
	return p;
}

static size_t
proxy_held_c2s(const struct proxy *p)
{
	return p->cli != NULL ?
	    evbuffer_get_length(bufferevent_get_input(p->cli)) : 0;
}

/* The store's held bytes end with a pipeline Sync: the whole txn is here. */
static int
cond_c2s_synced(struct tctx *t, const void *arg)
{
	static const unsigned char sync[5] = { 'S', 0, 0, 0, 4 };
	struct evbuffer	*in;
	unsigned char	*data;
	size_t		 len;

	if (t->proxy->cli == NULL)
		return 0;
	in = bufferevent_get_input(t->proxy->cli);
	if ((len = evbuffer_get_length(in)) < sizeof(sync))
		return 0;
	data = evbuffer_pullup(in, -1);
	return memcmp(data + len - sizeof(sync), sync, sizeof(sync)) == 0;
}

/*
 * What the server's held bytes are: 0 nothing whole yet; 1 a whole answer
 * (it ends with ReadyForQuery, idle) that completes two statements or
 * more, so that of a transaction (a message row's INSERT and the SELECT of
 * nwd.audit_append()); 2 a whole answer to something else (a checkpoint's
 * one SELECT, a query).
 */
static int
proxy_s2c_answer(const struct proxy *p)
{
	static const unsigned char ready[6] = { 'Z', 0, 0, 0, 5, 'I' };
	struct evbuffer	*in;
	unsigned char	*data;
	size_t		 len, off, mlen;
	uint32_t	 n;
	int		 inserts = 0;

	if (p->srv == NULL)
		return 0;
	in = bufferevent_get_input(p->srv);
	if ((len = evbuffer_get_length(in)) < sizeof(ready))
		return 0;
	data = evbuffer_pullup(in, -1);
	if (memcmp(data + len - sizeof(ready), ready, sizeof(ready)) != 0)
		return 0;
	/* Each message: a type byte, then its length (itself included). */
	for (off = 0; off + 5 <= len; off += 1 + mlen) {
		memcpy(&n, data + off + 1, 4);
		mlen = ntohl(n);
		if (mlen < 4 || off + 1 + mlen > len)
			break;
		if (data[off] == 'C' && mlen >= 4 + 7 &&
		    (memcmp(data + off + 5, "INSERT ", 7) == 0 ||
		    memcmp(data + off + 5, "SELECT ", 7) == 0))
			inserts++;
	}
	return inserts >= 2 ? 1 : 2;
}

static int
cond_c2s_held(struct tctx *t, const void *arg)
{
	return proxy_held_c2s(t->proxy) > 0;
}

/* Forwards the first n held bytes from the store to the server. */
static void
proxy_forward_c2s(struct proxy *p, size_t n)
{
	assert_non_null(p->cli);
	assert_non_null(p->srv);
	assert_int_equal(evbuffer_remove_buffer(bufferevent_get_input(p->cli),
	    bufferevent_get_output(p->srv), n), (int)n);
}

/* Ends holding and cuts: the store's next connection passes freely. */
static void
proxy_cut_and_pass(struct proxy *p)
{
	proxy_cut(p);
	p->hold_c2s = p->hold_s2c = 0;
}

/* Waits until the store's backend waits on a lock. */
static void
wait_store_blocked(void)
{
	struct timespec	now, end;
	char		out[64], err[512];

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += DEADLINE_S;
	for (;;) {
		if (db_try(env.ci_super, "SELECT count(*) FROM "
		    "pg_stat_activity WHERE application_name = 'nwdd' AND "
		    "usename = 'nwd_daemon' AND wait_event_type = 'Lock'",
		    0, NULL, out, sizeof(out), err, sizeof(err)) == -1)
			fail_msg("pg_stat_activity: %s", err);
		if (strcmp(out, "1") == 0)
			return;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec)
			fail_msg("the store never waited on the lock");
	}
}

static void
terminate_store_backend(void)
{
	char	out[64], err[512];

	if (db_try(env.ci_super, "SELECT count(pg_terminate_backend(pid)) "
	    "FROM pg_stat_activity WHERE application_name = 'nwdd' AND "
	    "usename = 'nwd_daemon'", 0, NULL, out, sizeof(out), err,
	    sizeof(err)) == -1)
		fail_msg("pg_terminate_backend: %s", err);
	assert_string_equal(out, "1");
}

static void
hold_lock(struct tctx *t, const char *sql)
{
	PGresult	*res;
	int		 ok;

	t->hold = PQconnectdb(env.ci_owner);
	assert_int_equal(PQstatus(t->hold), CONNECTION_OK);
	res = PQexec(t->hold, sql);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	assert_true(ok);
}

/* ------------------------------------------------------------------------
 * Fixtures
 */

static int
group_setup(void **state)
{
	const char	*port, *pgdir, *srcdir, *pki, *tmp;

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
	if ((pki = getenv("NWD_TEST_PKI")) == NULL || *pki == '\0') {
		fprintf(stderr, "test_store: NWD_TEST_PKI must name the test "
		    "PKI (tests/run-test.sh sets it); refusing to skip\n");
		return -1;
	}
	snprintf(env.sign_key, sizeof(env.sign_key), "%s/audit-signing.key",
	    pki);
	snprintf(env.sign_pub, sizeof(env.sign_pub), "%s/audit-signing.pub",
	    pki);
	if ((tmp = getenv("NWD_TEST_TMP")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(env.tmp, sizeof(env.tmp), "%s", tmp);
	env.pgport = atoi(port);
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
	store_free(t->store2);
	proxy_free(t->proxy);
	chain_signer_free(t->signer);
	chain_verifier_free(t->verifier);
	qrecs_free(t);
	srows_free(t);
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

/*
 * 1. The first run applies every migration of deploy/sql (001 to 005 at
 * least), the second applies nothing; 003 refuses a trail that already
 * holds rows without a chain.
 */
/* The NNN_name.sql files of dir, as migrate.c counts them. */
static int
count_migrations(const char *dir)
{
	char	pat[PATH_MAX + 32];
	glob_t	g;
	int	n;

	snprintf(pat, sizeof(pat), "%s/[0-9][0-9][0-9]_*.sql", dir);
	if (glob(pat, 0, NULL, &g) != 0)
		return 0;
	n = (int)g.gl_pathc;
	globfree(&g);
	return n;
}

static void
test_migrate(void **state)
{
	char	err[512], dir[PATH_MAX + 16], from[PATH_MAX + 32];
	char	to[PATH_MAX + 64];
	char	ci[256];
	int	n;

	n = migrate_run(env.ci_owner, env.sqldir, err, sizeof(err));
	if (n == -1)
		fail_msg("migrate_run: %s", err);
	assert_int_equal(n, count_migrations(env.sqldir));
	assert_true(n >= 5);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.schema_migrations "
	    "WHERE version = $1::int AND name = '001_init.sql'", "1"), 1);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.schema_migrations "
	    "WHERE version = $1::int AND name = '002_allocations.sql'", "2"),
	    1);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.schema_migrations "
	    "WHERE version = $1::int AND name = '003_audit_chain.sql'", "3"),
	    1);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.schema_migrations "
	    "WHERE version = $1::int AND name = '004_durable.sql'", "4"), 1);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.schema_migrations "
	    "WHERE version = $1::int AND name = '005_fast_chain_link.sql'",
	    "5"), 1);
	n = migrate_run(env.ci_owner, env.sqldir, err, sizeof(err));
	if (n == -1)
		fail_msg("second migrate_run: %s", err);
	assert_int_equal(n, 0);

	/* An error names the file and quotes the database. */
	n = migrate_run("host=127.0.0.1 port=1 dbname=nwd user=nwd_owner",
	    env.sqldir, err, sizeof(err));
	assert_int_equal(n, -1);
	assert_non_null(strstr(err, "connecting"));

	/* A database migrated to 002 with an audit row refuses 003. */
	db_ok(env.ci_super, "DROP DATABASE IF EXISTS nwd_scratch");
	db_ok(env.ci_super, "CREATE DATABASE nwd_scratch OWNER nwd_owner");
	snprintf(dir, sizeof(dir), "%s/sql-002", env.tmp);
	assert_true(mkdir(dir, 0700) == 0 || errno == EEXIST);
	snprintf(from, sizeof(from), "%s/001_init.sql", env.sqldir);
	snprintf(to, sizeof(to), "%s/001_init.sql", dir);
	assert_true(symlink(from, to) == 0 || errno == EEXIST);
	snprintf(from, sizeof(from), "%s/002_allocations.sql", env.sqldir);
	snprintf(to, sizeof(to), "%s/002_allocations.sql", dir);
	assert_true(symlink(from, to) == 0 || errno == EEXIST);
	snprintf(ci, sizeof(ci), "host=127.0.0.1 port=%d dbname=nwd_scratch "
	    "user=nwd_owner", env.pgport);
	assert_int_equal(migrate_run(ci, dir, err, sizeof(err)), 2);
	db_ok(ci, "INSERT INTO nwd.audit_events (instance, at, action) "
	    "VALUES ('old', now(), 'connect')");
	assert_int_equal(migrate_run(ci, env.sqldir, err, sizeof(err)), -1);
	if (strstr(err, "003_audit_chain.sql") == NULL ||
	    strstr(err, "without a hash chain") == NULL)
		fail_msg("unexpected error: %s", err);
	assert_int_equal(db_try(ci, "SELECT count(*) FROM "
	    "nwd.schema_migrations", 0, NULL, to, sizeof(to), err,
	    sizeof(err)), 0);
	assert_string_equal(to, "2");
	db_ok(env.ci_super, "DROP DATABASE nwd_scratch");
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
	/* Text as it is, through the binary arrays: quotes, backslashes,
	 * commas, braces, NULL's spelling, UTF-8. */
	ev = make_event(AUDIT_ACK, id, tag);
	assert_int_equal(audit_event_set(ev, AUDIT_F_REASON,
	    "a \"quoted\" \\ back, {brace} NULL \xc3\xa9t\xc3\xa9"), 0);
	assert_int_equal(store_batch_add_event(b, ev), 0);
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
	db_text1("SELECT reason FROM nwd.audit_events WHERE message_id = "
	    "$1::uuid AND action = 'ack'", id, out, sizeof(out));
	assert_string_equal(out,
	    "a \"quoted\" \\ back, {brace} NULL \xc3\xa9t\xc3\xa9");
	/* In the chain; no body was given. */
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.audit_events "
	    "WHERE message_id = $1::uuid AND seq > 0 AND "
	    "octet_length(prev_hash) = 32 AND octet_length(hash) = 32",
	    id), 3);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.messages "
	    "WHERE id = $1::uuid AND body IS NULL AND key_id IS NULL AND "
	    "purged_at IS NULL", id), 1);
	verify_chain(INSTANCE);
}

/*
 * Waits (poll on the socket, up to DEADLINE_S) for the next notification
 * on c; its payload into out.
 */
static void
next_note(PGconn *c, char *out, size_t outlen)
{
	struct pollfd	 pfd;
	PGnotify	*n;
	int64_t		 end = (int64_t)time(NULL) + DEADLINE_S;

	for (;;) {
		assert_int_equal(PQconsumeInput(c), 1);
		if ((n = PQnotifies(c)) != NULL) {
			snprintf(out, outlen, "%s", n->extra);
			PQfreemem(n);
			return;
		}
		if ((int64_t)time(NULL) > end)
			fail_msg("no notification on nwd_cluster");
		pfd.fd = PQsocket(c);
		pfd.events = POLLIN;
		poll(&pfd, 1, 1000);
	}
}

/*
 * The cluster (018): a batch's changes are numbered from cluster_head
 * and rowed in cluster_changes, and announced with its message and its
 * deadline, in its transaction: a listener hears them once it commits,
 * ids and numbers only.
 */
static void
test_cluster_changes(void **state)
{
	struct tctx		*t = *state;
	struct done_rec		*r = recs_alloc(t, 1);
	struct store_batch	*b;
	PGconn			*l;
	PGresult		*res;
	char			 id[37], tag[32], note[256], want[256], hs[24];
	long			 head;

	ensure_migrated();
	store_up(t, 16);
	l = PQconnectdb(env.ci_daemon);
	assert_int_equal(PQstatus(l), CONNECTION_OK);
	res = PQexec(l, "LISTEN nwd_cluster");
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	head = db_long1("SELECT seq FROM nwd.cluster_head", NULL);
	make_uuid(id);
	make_tag(tag, sizeof(tag), "cluster");
	b = make_batch(id, tag, 1);
	assert_int_equal(store_batch_add_change(b, "allocation", id), 0);
	assert_int_equal(store_batch_add_change(b, "grant", "g-1"), 0);
	assert_int_equal(store_batch_add_change(b, "deadline", id), 0);
	assert_int_equal(store_batch_notify_message(b, 41), 0);
	assert_int_equal(submit(t, b, r), 0);
	wait_callbacks(t, 1);
	assert_int_equal(r->outcome, STORE_COMMITTED);

	/* Two numbered (a deadline is not), in the order given. */
	assert_int_equal(db_long1("SELECT seq FROM nwd.cluster_head", NULL),
	    head + 2);
	snprintf(hs, sizeof(hs), "%ld", head);
	db_text1("SELECT string_agg(concat_ws(' ', seq - $1::bigint, "
	    "instance, what, ref), ',' ORDER BY seq) FROM "
	    "nwd.cluster_changes WHERE seq > $1::bigint", hs, note,
	    sizeof(note));
	snprintf(want, sizeof(want), "1 " INSTANCE " allocation %s,2 "
	    INSTANCE " grant g-1", id);
	assert_string_equal(note, want);
	next_note(l, note, sizeof(note));
	snprintf(want, sizeof(want), "c " INSTANCE " %ld 2", head + 2);
	assert_string_equal(note, want);
	next_note(l, note, sizeof(note));
	/* With what the decision saw of the others' changes. */
	snprintf(want, sizeof(want), "m " INSTANCE " %s 41", id);
	assert_string_equal(note, want);
	next_note(l, note, sizeof(note));
	snprintf(want, sizeof(want), "d " INSTANCE " %s", id);
	assert_string_equal(note, want);
	PQfinish(l);
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
	/* The refused transaction's numbers were given again, in order. */
	verify_chain(INSTANCE);
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
	    "action, seq, prev_hash, hash) VALUES ('manual-t6', "
	    "date_trunc('milliseconds', now()), 'connect', 1, " SQL_ZEROS
	    ", sha256('t6'))";

	ensure_migrated();
	/* Since 010 the daemon writes only through nwd.audit_append(). */
	db_refused(env.ci_daemon, ins, "permission denied");
	if (db_long1("SELECT count(*) FROM nwd.audit_events WHERE "
	    "instance = 'manual-t6'", NULL) == 0)
		db_ok(env.ci_owner, ins);
	db_refused(env.ci_owner, "INSERT INTO nwd.audit_events (instance, "
	    "at, action, seq, prev_hash, hash) VALUES ('manual-t6', "
	    "'2024-01-01', 'bogus', 2, sha256('t6'), sha256('t6-2'))",
	    "check constraint");
	db_refused(env.ci_daemon, "UPDATE nwd.audit_events SET reason = 'x' "
	    "WHERE instance = 'manual-t6'", "permission denied");
	db_refused(env.ci_daemon, "DELETE FROM nwd.audit_events "
	    "WHERE instance = 'manual-t6'", "permission denied");
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
	    "WHERE instance = 'manual-t6'", "append-only");
	db_refused(env.ci_owner, "DELETE FROM nwd.audit_events "
	    "WHERE instance = 'manual-t6'", "append-only");
	db_refused(env.ci_owner, "TRUNCATE nwd.audit_events", "append-only");
	assert_true(db_long1("SELECT count(*) FROM nwd.audit_events "
	    "WHERE instance = 'manual-t6' AND reason IS NULL", NULL) >= 1);
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

/*
 * 7b. Detached rows made while the database is away are held, in order,
 * and written first when it returns; past store_set_hold()'s bound they
 * are lost, and store_hold_nearly_full() said so before.
 */
static void
test_hold_outage(void **state)
{
	struct tctx		*t = *state;
	struct done_rec		*r = recs_alloc(t, 1);
	char			 tag[32], order[64];
	size_t			 i;

	ensure_migrated();
	store_up(t, 16);
	store_set_hold(t->store, 65536);
	make_tag(tag, sizeof(tag), "held");
	assert_int_equal(pg_ctl("stop"), 0);
	t->pg_stopped = 1;
	wait_state(t, STORE_DISCONNECTED, DEADLINE_S);
	assert_int_equal(store_hold_nearly_full(t->store), 0);
	/* connect, subscribe, publish_refused: one batch each. */
	store_submit_detached(t->store, make_batch(NULL, tag, 1));
	{
		struct store_batch	*b;

		assert_non_null(b = store_batch_new());
		assert_int_equal(store_batch_add_event(b,
		    make_event(AUDIT_SUBSCRIBE, NULL, tag)), 0);
		store_submit_detached(t->store, b);
		assert_non_null(b = store_batch_new());
		assert_int_equal(store_batch_add_event(b,
		    make_event(AUDIT_PUBLISH_REFUSED, NULL, tag)), 0);
		store_submit_detached(t->store, b);
	}
	assert_int_equal(store_held_rows(t->store), 3);
	/* Fill the hold: three quarters say so; past it, rows are lost. */
	for (i = 0; i < 4096 && !store_hold_nearly_full(t->store); i++)
		store_submit_detached(t->store, make_batch(NULL, "fill", 1));
	assert_true(store_hold_nearly_full(t->store));
	assert_true(i > 10);
	for (i = 0; i < 4096; i++)
		store_submit_detached(t->store, make_batch(NULL, "over", 1));
	assert_true(store_held_rows(t->store) < 4096);

	assert_int_equal(pg_ctl("start"), 0);
	t->pg_stopped = 0;
	wait_state(t, STORE_READY, 2 * DEADLINE_S);
	/* A batch submitted after the return is answered after them. */
	assert_int_equal(submit(t, make_batch(NULL, tag, 1), r), 0);
	wait_callbacks(t, 1);
	assert_int_equal(r->outcome, STORE_COMMITTED);
	assert_int_equal(store_held_rows(t->store), 0);
	db_text1("SELECT string_agg(action, ',' ORDER BY seq) FROM "
	    "nwd.audit_events WHERE session = $1", tag, order, sizeof(order));
	assert_string_equal(order, "publish,subscribe,publish_refused,publish");
	assert_false(store_hold_nearly_full(t->store));
	verify_chain(INSTANCE);
}

/*
 * 7c. One row PostgreSQL refuses (here: bytes that are not UTF-8) does not
 * take the rows detached beside it: they are retried one per transaction.
 */
static void
test_refused_row_alone(void **state)
{
	struct tctx		*t = *state;
	struct done_rec		*r = recs_alloc(t, 1);
	struct store_batch	*b;
	struct audit_event	*bad;
	char			 tag[32];

	ensure_migrated();
	store_up(t, 16);
	make_tag(tag, sizeof(tag), "alone");
	assert_non_null(b = store_batch_new());
	assert_int_equal(store_batch_add_event(b,
	    make_event(AUDIT_CONNECT, NULL, tag)), 0);
	bad = make_event(AUDIT_AUTH_REFUSED, NULL, tag);
	free(bad->reason);
	assert_non_null(bad->reason = strdup("not \xff UTF-8"));
	assert_int_equal(store_batch_add_event(b, bad), 0);
	assert_int_equal(store_batch_add_event(b,
	    make_event(AUDIT_DISCONNECT, NULL, tag)), 0);
	store_submit_detached(t->store, b);
	assert_int_equal(submit(t, make_batch(NULL, tag, 1), r), 0);
	wait_callbacks(t, 1);
	assert_int_equal(r->outcome, STORE_COMMITTED);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.audit_events "
	    "WHERE session = $1 AND action IN ('connect', 'disconnect')",
	    tag), 2);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.audit_events "
	    "WHERE session = $1", tag), 3);
	verify_chain(INSTANCE);
}

/*
 * 8. store_free answers every queued and in-flight batch: queued ones
 * unavailable; one in flight by its real outcome, after a bounded wait
 * (and a cancel request when the database does not answer).
 */
static void
test_free_pending(void **state)
{
	struct tctx		*t = *state;
	const size_t		 nq = 10, nf = 5;
	struct done_rec		*r = recs_alloc(t, nq + 2 * nf);
	struct store_batch	*b;
	char			 tag[32], *log;
	size_t			 i;
	int			 said;

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
	 * the transaction; store_free() waits for its result.
	 */
	t->ncallbacks = 0;
	memset(t->nout, 0, sizeof(t->nout));
	make_tag(tag, sizeof(tag), "free");
	store_up(t, 16);
	for (i = nq; i < nq + nf; i++)
		assert_int_equal(submit(t, make_batch(NULL, tag, 1), &r[i]),
		    0);
	event_base_loop(t->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(t->ncallbacks, 0);
	store_free(t->store);
	t->store = NULL;
	assert_int_equal(t->ncallbacks, nf);
	assert_int_equal(t->nout[STORE_COMMITTED], nf);
	for (i = nq; i < nq + nf; i++)
		assert_int_equal(r[i].fired, 1);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.audit_events "
	    "WHERE session = $1", tag), (long)nf);

	/*
	 * In flight and stuck behind a lock: after the wait store_free()
	 * asks the server to cancel; the transaction is refused, so its
	 * batches are unavailable, and they are not in the table.
	 */
	t->ncallbacks = 0;
	memset(t->nout, 0, sizeof(t->nout));
	make_tag(tag, sizeof(tag), "stuck");
	store_up(t, 16);
	hold_lock(t, "BEGIN; LOCK TABLE nwd.audit_events IN ACCESS EXCLUSIVE "
	    "MODE");
	for (i = nq + nf; i < nq + 2 * nf; i++)
		assert_int_equal(submit(t, make_batch(NULL, tag, 1), &r[i]),
		    0);
	event_base_loop(t->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	wait_store_blocked();
	capture_start(t);
	store_free(t->store);
	t->store = NULL;
	log = capture_stop(t);
	said = strstr(log, "asking it to cancel") != NULL;
	free(log);
	assert_true(said);
	assert_int_equal(t->ncallbacks, nf);
	assert_int_equal(t->nout[STORE_UNAVAILABLE], nf);
	PQfinish(t->hold);
	t->hold = NULL;
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.audit_events "
	    "WHERE session = $1", tag), 0);

	store_free(NULL);
}

/*
 * 9. The connection dies while a transaction is in flight (its INSERT
 * waits on a lock): its batches are in doubt, answered only once the
 * reconnected store has looked for their rows (here: not there, so
 * STORE_UNAVAILABLE).
 */
static void
test_lost_in_flight(void **state)
{
	struct tctx	*t = *state;
	const size_t	 n = 3;
	struct done_rec	*r = recs_alloc(t, n);
	char		 tag[32], *log;
	size_t		 i, disconnects;
	int		 said;

	ensure_migrated();
	store_up(t, 16);
	make_tag(tag, sizeof(tag), "lost");

	hold_lock(t, "BEGIN; LOCK TABLE nwd.audit_events IN ACCESS EXCLUSIVE "
	    "MODE");
	for (i = 0; i < n; i++)
		assert_int_equal(submit(t, make_batch(NULL, tag, 1), &r[i]),
		    0);
	/* One pass sends the transaction; then wait for it to block. */
	event_base_loop(t->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	wait_store_blocked();
	assert_int_equal(t->ncallbacks, 0);
	capture_start(t);
	terminate_store_backend();
	disconnects = t->nstate[STORE_DISCONNECTED] + 1;
	run_until(t, cond_disconnects, &disconnects, DEADLINE_S,
	    "the disconnect");
	/* In doubt: the head cannot be read while the lock is held. */
	assert_int_equal(t->ncallbacks, 0);
	assert_int_equal(store_pending(t->store), n);
	assert_int_not_equal(store_get_state(t->store), STORE_READY);

	PQfinish(t->hold);
	t->hold = NULL;
	wait_callbacks(t, n);
	log = capture_stop(t);
	said = strstr(log, "resolved outcome=unavailable") != NULL;
	free(log);
	assert_true(said);
	assert_int_equal(t->nout[STORE_UNAVAILABLE], n);
	for (i = 0; i < n; i++)
		assert_int_equal(r[i].fired, 1);
	wait_state(t, STORE_READY, DEADLINE_S);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.audit_events "
	    "WHERE session = $1", tag), 0);
	verify_chain(INSTANCE);
}

/*
 * 9b. A transaction still in doubt when the store is freed is resolved
 * there, on a connection of its own, never guessed: here its rows are
 * absent, so its batches are unavailable; with the database gone as
 * well, they are answered STORE_IN_DOUBT.
 */
static void
test_doubt_at_close(void **state)
{
	struct tctx	*t = *state;
	const size_t	 n = 3;
	struct done_rec	*r = recs_alloc(t, 2 * n);
	char		 tag[32], *log;
	size_t		 i, disconnects;
	int		 said;

	ensure_migrated();
	store_up(t, 16);
	make_tag(tag, sizeof(tag), "close");
	hold_lock(t, "BEGIN; LOCK TABLE nwd.audit_events IN ACCESS EXCLUSIVE "
	    "MODE");
	for (i = 0; i < n; i++)
		assert_int_equal(submit(t, make_batch(NULL, tag, 1), &r[i]),
		    0);
	event_base_loop(t->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	wait_store_blocked();
	terminate_store_backend();
	PQfinish(t->hold);
	t->hold = NULL;
	disconnects = t->nstate[STORE_DISCONNECTED] + 1;
	run_until(t, cond_disconnects, &disconnects, DEADLINE_S,
	    "the disconnect");
	assert_int_equal(t->ncallbacks, 0);
	/* No reconnect has run: store_free() finds it in doubt. */
	capture_start(t);
	store_free(t->store);
	t->store = NULL;
	log = capture_stop(t);
	said = strstr(log, "resolved outcome=unavailable") != NULL;
	free(log);
	assert_true(said);
	assert_int_equal(t->nout[STORE_UNAVAILABLE], n);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.audit_events "
	    "WHERE session = $1", tag), 0);

	/* Again, with the database gone before the store is freed. */
	t->ncallbacks = 0;
	memset(t->nout, 0, sizeof(t->nout));
	store_up(t, 16);
	hold_lock(t, "BEGIN; LOCK TABLE nwd.audit_events IN ACCESS EXCLUSIVE "
	    "MODE");
	for (i = n; i < 2 * n; i++)
		assert_int_equal(submit(t, make_batch(NULL, tag, 1), &r[i]),
		    0);
	event_base_loop(t->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	wait_store_blocked();
	terminate_store_backend();
	PQfinish(t->hold);
	t->hold = NULL;
	disconnects = t->nstate[STORE_DISCONNECTED] + 1;
	run_until(t, cond_disconnects, &disconnects, DEADLINE_S,
	    "the disconnect");
	assert_int_equal(pg_ctl("stop"), 0);
	t->pg_stopped = 1;
	capture_start(t);
	store_free(t->store);
	t->store = NULL;
	log = capture_stop(t);
	said = strstr(log, "could not be resolved: batches=3 answered in "
	    "doubt") != NULL;
	free(log);
	assert_true(said);
	assert_int_equal(t->ncallbacks, n);
	assert_int_equal(t->nout[STORE_IN_DOUBT], n);
	assert_int_equal(pg_ctl("start"), 0);
	t->pg_stopped = 0;
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
	/* Who made each: its message's sender, after a restart as before. */
	assert_string_equal(t->arows[n - 3].by, "principal:alice");
	assert_string_equal(t->arows[n - 1].by, "principal:alice");
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

/* ------------------------------------------------------------------------
 * The chain
 */

/*
 * 15. Rows are numbered 1..n per instance and linked; every hash is
 * chain_hash() of its row (recomputed here from the database, as the
 * verifier does); a new store continues the chain.
 */
static void
test_chain(void **state)
{
	struct tctx		*t = *state;
	struct done_rec		*r = recs_alloc(t, 3);
	struct store_batch	*b;
	struct audit_event	*ev;
	char			 inst[48], id[37], upper[37], out[256];
	size_t			 i;

	ensure_migrated();
	make_tag(inst, sizeof(inst), "chain");
	store_up_on(t, env.ci_daemon, inst, 16);
	assert_int_equal(store_chain_head(t->store), 0);
	make_uuid(id);
	for (i = 0; i < sizeof(upper); i++)
		upper[i] = (char)toupper((unsigned char)id[i]);

	/* Every kind of field: NULLs, kind 0, empty and odd lists. */
	b = make_batch(id, "chain", 1);
	assert_non_null(ev = audit_event_new(AUDIT_DELIVER, NULL));
	ev->kind = 0;
	assert_int_equal(audit_event_set(ev, AUDIT_F_FIELDS_SHARED, ""), 0);
	assert_int_equal(audit_event_set(ev, AUDIT_F_FIELDS_WITHHELD,
	    "a,,b,"), 0);
	assert_int_equal(audit_event_set(ev, AUDIT_F_REASON,
	    "quotes \" and \\ and \xc3\xa9"), 0);
	assert_int_equal(store_batch_add_event(b, ev), 0);
	/* An upper-case message id is stored and hashed lower-case. */
	assert_non_null(ev = audit_event_new(AUDIT_ACK, "principal:bob"));
	assert_int_equal(audit_event_set(ev, AUDIT_F_MESSAGE_ID, upper), 0);
	ev->kind = 7;
	assert_int_equal(store_batch_add_event(b, ev), 0);
	/* Not a UUID: refused at once (and freed). */
	assert_non_null(ev = audit_event_new(AUDIT_ACK, "principal:bob"));
	assert_int_equal(audit_event_set(ev, AUDIT_F_MESSAGE_ID, "{x}"), 0);
	assert_int_equal(store_batch_add_event(b, ev), -1);
	assert_int_equal(store_batch_nevents(b), 3);
	assert_int_equal(submit(t, b, &r[0]), 0);
	assert_int_equal(submit(t, make_batch(NULL, "chain", 2), &r[1]), 0);
	wait_callbacks(t, 2);
	assert_int_equal(t->nout[STORE_COMMITTED], 2);
	assert_int_equal(store_chain_head(t->store), 5);
	assert_int_equal(verify_chain(inst), 5);
	/* One transaction, in send order. */
	assert_int_equal(db_long1("SELECT count(DISTINCT xmin::text) FROM "
	    "nwd.audit_events WHERE instance = $1", inst), 1);
	db_text1("SELECT string_agg(action, ',' ORDER BY seq) FROM "
	    "nwd.audit_events WHERE instance = $1", inst, out, sizeof(out));
	assert_string_equal(out, "publish,deliver,ack,publish,publish");
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.audit_events "
	    "WHERE message_id = $1::uuid AND action = 'ack'", id), 1);

	/* A new store carries on from the head. */
	store_free(t->store);
	t->store = NULL;
	store_up_on(t, env.ci_daemon, inst, 16);
	assert_int_equal(store_chain_head(t->store), 5);
	assert_int_equal(submit(t, make_batch(NULL, "chain", 1), &r[2]), 0);
	wait_callbacks(t, 3);
	assert_int_equal(r[2].outcome, STORE_COMMITTED);
	assert_int_equal(store_chain_head(t->store), 6);
	assert_int_equal(verify_chain(inst), 6);
}

/*
 * 16. Two stores with one instance: the second refuses to serve (the
 * instance lock), says why and retries, until the first is freed.
 */
static void
test_chain_lock(void **state)
{
	struct tctx	*t = *state;
	struct done_rec	*r = recs_alloc(t, 2);
	const size_t	 refusals = 2;
	enum store_state ready = STORE_READY;
	char		 inst[48], *log;
	int		 said;

	ensure_migrated();
	make_tag(inst, sizeof(inst), "lock");
	store_up_on(t, env.ci_daemon, inst, 16);
	assert_int_equal(submit(t, make_batch(NULL, "lock", 2), &r[0]), 0);
	wait_callbacks(t, 1);

	capture_start(t);
	assert_non_null(t->store2 = store_new(t->base, env.ci_daemon, inst,
	    16, 1));
	assert_int_equal(store_start(t->store2, on_state2, t), 0);
	run_until(t, cond_disconnects2, &refusals, DEADLINE_S,
	    "refusals of the second store");
	log = capture_stop(t);
	said = count_str(log, "is locked by another database session") >=
	    refusals;
	free(log);
	assert_true(said);
	assert_int_equal(t->nstate2[STORE_READY], 0);
	assert_int_not_equal(store_get_state(t->store2), STORE_READY);
	/* The first serves all the while. */
	assert_int_equal(store_get_state(t->store), STORE_READY);

	store_free(t->store);
	t->store = NULL;
	run_until(t, cond_state2, &ready, DEADLINE_S, "second store ready");
	assert_int_equal(store_chain_head(t->store2), 2);
	t->in_submit = 1;
	assert_int_equal(store_submit(t->store2, make_batch(NULL, "lock", 1),
	    on_done, &r[1]), 0);
	t->in_submit = 0;
	wait_callbacks(t, 2);
	assert_int_equal(r[1].outcome, STORE_COMMITTED);
	assert_int_equal(verify_chain(inst), 3);
}

/*
 * 17. The database refuses rows that cannot belong to a chain, whoever
 * inserts them: a gap, a wrong link, a repeated seq, a first row with a
 * link, a time finer than the millisecond.
 */
static void
test_chain_db_refuses(void **state)
{
	char	inst[48], inst2[48], sql[1536];

#define H(n)	"sha256('" #n "')"
#define ROW(seq, prev, hash, at) "INSERT INTO nwd.audit_events (instance, " \
	"at, action, seq, prev_hash, hash) VALUES ('%s', " at ", 'connect', " \
	#seq ", " prev ", " hash ")"

	ensure_migrated();
	make_tag(inst, sizeof(inst), "manual-db");
	make_tag(inst2, sizeof(inst2), "manual-db2");
	snprintf(sql, sizeof(sql), ROW(1, SQL_ZEROS, H(1), "'2024-01-01'"),
	    inst);
	db_ok(env.ci_owner, sql);
	snprintf(sql, sizeof(sql), ROW(3, H(1), H(3), "'2024-01-01'"), inst);
	db_refused(env.ci_owner, sql, "does not follow row 2");
	snprintf(sql, sizeof(sql), ROW(2, H(9), H(2), "'2024-01-01'"), inst);
	db_refused(env.ci_owner, sql, "does not follow row 1");
	snprintf(sql, sizeof(sql), ROW(1, SQL_ZEROS, H(4), "'2024-01-01'"),
	    inst);
	db_refused(env.ci_owner, sql, "audit_events_instance_seq_key");
	snprintf(sql, sizeof(sql), ROW(2, H(1), H(2),
	    "'2024-01-01 00:00:00.0001'"), inst);
	db_refused(env.ci_owner, sql, "audit_events_at_check");
	snprintf(sql, sizeof(sql), ROW(1, H(1), H(1), "'2024-01-01'"),
	    "manual-other");
	db_refused(env.ci_owner, sql, "audit_events_chain_check");
	snprintf(sql, sizeof(sql), ROW(0, SQL_ZEROS, H(1), "'2024-01-01'"),
	    "manual-other");
	db_refused(env.ci_owner, sql, "audit_events_chain_check");
	snprintf(sql, sizeof(sql), "INSERT INTO nwd.audit_events (instance, "
	    "at, action) VALUES ('%s', now(), 'connect')", inst);
	db_refused(env.ci_owner, sql, "null value");
	/* The good next row is accepted; never straight from the daemon. */
	snprintf(sql, sizeof(sql), ROW(2, H(1), H(2), "'2024-01-01'"), inst);
	db_refused(env.ci_daemon, sql, "permission denied");
	db_ok(env.ci_owner, sql);

	/*
	 * Rows of one statement are checked against each other (007): a
	 * wrong link or a gap between them is refused, whatever the order of
	 * the VALUES; a statement that continues two chains at once is
	 * checked per instance.
	 */
#define VAL(i, seq, prev, hash) "('%" #i "$s', '2024-01-01', 'connect', " \
	#seq ", " prev ", " hash ")"
#define MULTI "INSERT INTO nwd.audit_events (instance, at, action, seq, " \
	"prev_hash, hash) VALUES "
	snprintf(sql, sizeof(sql), MULTI VAL(1, 3, H(2), H(3)) ", "
	    VAL(1, 4, H(9), H(4)), inst);
	db_refused(env.ci_owner, sql, "row 4 of instance");
	db_refused(env.ci_owner, sql, "does not follow row 3");
	snprintf(sql, sizeof(sql), MULTI VAL(1, 3, H(2), H(3)) ", "
	    VAL(1, 5, H(4), H(5)), inst);
	db_refused(env.ci_owner, sql, "does not follow row 4");
	snprintf(sql, sizeof(sql), MULTI VAL(1, 4, H(3), H(4)) ", "
	    VAL(1, 3, H(9), H(3)), inst);
	db_refused(env.ci_owner, sql, "does not follow row 2");
	snprintf(sql, sizeof(sql), MULTI VAL(1, 5, H(4), H(5)) ", "
	    VAL(1, 4, H(3), H(4)), inst);
	db_refused(env.ci_owner, sql, "does not follow row 3");
	snprintf(sql, sizeof(sql), MULTI VAL(1, 4, H(3), H(4)) ", "
	    VAL(1, 3, H(2), H(3)) ", " VAL(2, 1, SQL_ZEROS, H(1)) ", "
	    VAL(2, 3, H(2), H(3)), inst, inst2);
	db_refused(env.ci_owner, sql, "row 3 of instance manual-db2");
	snprintf(sql, sizeof(sql), MULTI VAL(1, 4, H(3), H(4)) ", "
	    VAL(1, 3, H(2), H(3)) ", " VAL(2, 1, SQL_ZEROS, H(1)) ", "
	    VAL(2, 2, H(1), H(2)), inst, inst2);
	db_ok(env.ci_owner, sql);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.audit_events "
	    "WHERE instance = $1", inst), 4);
#undef MULTI
#undef VAL
#undef ROW
#undef H
}

/* ------------------------------------------------------------------------
 * Checkpoints
 */

static int
cond_ckpt(struct tctx *t, const void *arg)
{
	const char	*inst = arg;
	char		 seq[24];
	long		 n;

	snprintf(seq, sizeof(seq), "%" PRId64, store_chain_head(t->store));
	{
		const char	*params[2] = { inst, seq };
		char		 out[32], err[256];

		if (db_try(env.ci_auditor, "SELECT count(*) FROM "
		    "nwd.checkpoints WHERE instance = $1 AND seq = "
		    "$2::bigint", 2, params, out, sizeof(out), err,
		    sizeof(err)) == -1)
			return 0;
		n = strtol(out, NULL, 10);
	}
	return n == 1;
}

/* A round trip through the store: what was due before it has run. */
static void
store_round_trip(struct tctx *t, size_t qi)
{
	struct store_audit_filter	f;
	struct qrec			*q = qrec_new(t, qi, 1);

	memset(&f, 0, sizeof(f));
	f.limit = 1;
	assert_int_equal(store_query_audit(t->store, &f, on_query, q), 0);
	wait_query(t, q);
	assert_true(q->ok);
}

/*
 * 18. Signed checkpoints: every N rows after a commit, after an interval
 * with new rows, and at store_free(); each verifies with the public key
 * and names its row's hash.
 */
static void
test_checkpoints(void **state)
{
	struct tctx	*t = *state;
	struct done_rec	*r = recs_alloc(t, 64);
	char		 inst[48], seqs[256];
	size_t		 i, n = 0;

	ensure_migrated();
	keys_load(t);
	make_tag(inst, sizeof(inst), "ckpt");
	assert_non_null(t->store = store_new(t->base, env.ci_daemon, inst, 64,
	    1));
	store_set_checkpoints(t->store, t->signer, 10, 0);
	assert_int_equal(store_start(t->store, on_state, t), 0);
	wait_state(t, STORE_READY, DEADLINE_S);

	/* 12 rows: one checkpoint, at 12. */
	for (i = 0; i < 12; i++)
		assert_int_equal(submit(t, make_batch(NULL, "ckpt", 1),
		    &r[n++]), 0);
	wait_callbacks(t, n);
	store_round_trip(t, 0);
	verify_checkpoints(inst, t->verifier, seqs, sizeof(seqs));
	assert_string_equal(seqs, "12");
	/* 5 more: none; 5 more: at 22 (10 since 12). */
	for (i = 0; i < 5; i++)
		assert_int_equal(submit(t, make_batch(NULL, "ckpt", 1),
		    &r[n++]), 0);
	wait_callbacks(t, n);
	store_round_trip(t, 1);
	verify_checkpoints(inst, t->verifier, seqs, sizeof(seqs));
	assert_string_equal(seqs, "12");
	for (i = 0; i < 5; i++)
		assert_int_equal(submit(t, make_batch(NULL, "ckpt", 1),
		    &r[n++]), 0);
	wait_callbacks(t, n);
	store_round_trip(t, 2);
	verify_checkpoints(inst, t->verifier, seqs, sizeof(seqs));
	assert_string_equal(seqs, "12,22");
	/* One more row, then store_free(): a last checkpoint, at 23. */
	assert_int_equal(submit(t, make_batch(NULL, "ckpt", 1), &r[n++]), 0);
	wait_callbacks(t, n);
	store_free(t->store);
	t->store = NULL;
	verify_checkpoints(inst, t->verifier, seqs, sizeof(seqs));
	assert_string_equal(seqs, "12,22,23");

	/* By time: 3 rows (fewer than N), then the interval passes. */
	assert_non_null(t->store = store_new(t->base, env.ci_daemon, inst, 64,
	    1));
	store_set_checkpoints(t->store, t->signer, 1000, 200);
	assert_int_equal(store_start(t->store, on_state, t), 0);
	wait_state(t, STORE_READY, DEADLINE_S);
	for (i = 0; i < 3; i++)
		assert_int_equal(submit(t, make_batch(NULL, "ckpt", 1),
		    &r[n++]), 0);
	wait_callbacks(t, n);
	assert_int_equal(store_chain_head(t->store), 26);
	run_until(t, cond_ckpt, inst, DEADLINE_S, "a timed checkpoint");
	verify_checkpoints(inst, t->verifier, seqs, sizeof(seqs));
	assert_string_equal(seqs, "12,22,23,26");
	/* Nothing new: store_free() writes none. */
	store_free(t->store);
	t->store = NULL;
	assert_int_equal(verify_checkpoints(inst, t->verifier, seqs,
	    sizeof(seqs)), 4);
	assert_int_equal(verify_chain(inst), 26);
}

/* ------------------------------------------------------------------------
 * Subscriptions, deliveries, queries
 */

/*
 * 19. Durable subscriptions are recorded (re-subscribing replaces) and
 * handed, subjects in order, to the callback at every connect, before
 * READY; a callback that refuses them keeps the store from serving.
 */
static void
test_subscriptions(void **state)
{
	struct tctx			*t = *state;
	struct done_rec			*r = recs_alloc(t, 2);
	struct store_batch		*b;
	struct store_subscription	 sub;
	const char			*subjects[] = { "yp:1",
	    "yp \"two\"", "yp\\3", "a,b", "{x}", "", "NULL" };
	const char			*again[] = { "yp:9" };
	const char			*bad[] = { "yp:1", NULL };
	const struct sub_rec		*s1, *s2;
	const size_t			 refusals = 3;
	char				 who[48], *log;
	size_t				 i;
	int				 said;

	ensure_migrated();
	make_tag(who, sizeof(who), "p:sub");
	memset(&sub, 0, sizeof(sub));
	sub.principal = who;
	sub.name = "alpha";
	sub.kinds = 0x6;
	sub.subjects = subjects;
	sub.nsubjects = sizeof(subjects) / sizeof(subjects[0]);

	/* Refused at once. */
	assert_non_null(b = store_batch_new());
	sub.principal = NULL;
	assert_int_equal(store_batch_add_subscription(b, &sub), -1);
	sub.principal = who;
	sub.subjects = bad;
	sub.nsubjects = 2;
	assert_int_equal(store_batch_add_subscription(b, &sub), -1);
	assert_int_equal(store_batch_add_subscription(NULL, &sub), -1);
	assert_int_equal(store_batch_add_subscription(b, NULL), -1);
	sub.subjects = subjects;
	sub.nsubjects = sizeof(subjects) / sizeof(subjects[0]);

	assert_int_equal(store_batch_add_subscription(b, &sub), 0);
	sub.name = "beta";
	sub.kinds = ~1u;
	sub.subjects = NULL;
	sub.nsubjects = 0;
	assert_int_equal(store_batch_add_subscription(b, &sub), 0);
	assert_int_equal(store_batch_add_event(b, make_event(AUDIT_SUBSCRIBE,
	    NULL, "sub")), 0);

	assert_non_null(t->store = store_new(t->base, env.ci_daemon, INSTANCE,
	    16, 1));
	store_set_subscriptions_cb(t->store, on_subs, t);
	assert_int_equal(store_start(t->store, on_state, t), 0);
	wait_state(t, STORE_READY, DEADLINE_S);
	assert_int_equal(t->nsub_calls, 1);
	assert_int_equal(submit(t, b, &r[0]), 0);
	wait_callbacks(t, 1);
	assert_int_equal(r[0].outcome, STORE_COMMITTED);

	/* At the next connect, as recorded. */
	store_free(t->store);
	t->store = NULL;
	t->nsub_calls = 0;
	assert_non_null(t->store = store_new(t->base, env.ci_daemon, INSTANCE,
	    16, 1));
	store_set_subscriptions_cb(t->store, on_subs, t);
	store_set_allocations_cb(t->store, on_allocs, t);
	assert_int_equal(store_start(t->store, on_state, t), 0);
	wait_state(t, STORE_READY, DEADLINE_S);
	assert_int_equal(t->nsub_calls, 1);
	assert_int_equal(t->nalloc_calls, 1);
	assert_non_null(s1 = srow_find(t, who, "alpha"));
	assert_non_null(s2 = srow_find(t, who, "beta"));
	assert_int_equal(s1->kinds, 0x6);
	assert_int_equal(s1->nsubjects, sizeof(subjects) / sizeof(subjects[0]));
	for (i = 0; i < s1->nsubjects; i++)
		assert_string_equal(s1->subjects[i], subjects[i]);
	assert_int_equal(s2->kinds, ~1u);
	assert_int_equal(s2->nsubjects, 0);
	assert_int_equal(t->nsrows, (size_t)db_long1("SELECT count(*) FROM "
	    "nwd.subscriptions", NULL));

	/* Re-subscribing replaces kinds and subjects. */
	assert_non_null(b = store_batch_new());
	sub.name = "alpha";
	sub.kinds = 0x8;
	sub.subjects = again;
	sub.nsubjects = 1;
	assert_int_equal(store_batch_add_subscription(b, &sub), 0);
	assert_int_equal(submit(t, b, &r[1]), 0);
	wait_callbacks(t, 2);
	assert_int_equal(r[1].outcome, STORE_COMMITTED);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.subscriptions "
	    "WHERE principal = $1 AND name = 'alpha' AND kinds = 8 AND "
	    "subjects = '{yp:9}' AND updated_at > now() - interval '1 minute'",
	    who), 1);
	store_free(t->store);
	t->store = NULL;

	/* The callback refuses: never READY, and the log says why. */
	t->sub_ret = -1;
	t->nsub_calls = 0;
	capture_start(t);
	assert_non_null(t->store = store_new(t->base, env.ci_daemon, INSTANCE,
	    16, 1));
	store_set_subscriptions_cb(t->store, on_subs, t);
	memset(t->nstate, 0, sizeof(t->nstate));
	assert_int_equal(store_start(t->store, on_state, t), 0);
	run_until(t, cond_disconnects, &refusals, DEADLINE_S,
	    "refused subscription loads");
	log = capture_stop(t);
	said = strstr(log, "did not accept the subscriptions") != NULL;
	free(log);
	assert_true(said);
	assert_int_equal(t->nstate[STORE_READY], 0);
	t->sub_ret = 0;
	wait_state(t, STORE_READY, DEADLINE_S);
	assert_non_null(s1 = srow_find(t, who, "alpha"));
	assert_int_equal(s1->kinds, 0x8);
	assert_int_equal(s1->nsubjects, 1);
	assert_string_equal(s1->subjects[0], "yp:9");
}

/* The columns of store_query_messages(); store_query_pending() adds the
 * delivery's id. */
#define MSG_NCOLS	12
#define PENDING_NCOLS	13

/* Checks one message row of a query against what make_body_batch wrote. */
static void
assert_msg_row(const struct qrec *q, size_t row, const char *id,
    const char *subject, int kind, int64_t created_ms, const uint8_t *body,
    size_t body_len)
{
	char	buf[32];

	assert_string_equal(qv(q, row, 0), id);
	snprintf(buf, sizeof(buf), "%d", kind);
	assert_string_equal(qv(q, row, 1), buf);
	assert_string_equal(qv(q, row, 2), subject);
	assert_string_equal(qv(q, row, 3), "principal:alice");
	assert_string_equal(qv(q, row, 4), "agency-a");
	assert_string_equal(qv(q, row, 5), "2");
	assert_string_equal(qv(q, row, 6), "1");
	assert_string_equal(qv(q, row, 7), "3");
	snprintf(buf, sizeof(buf), "%" PRId64, created_ms);
	assert_string_equal(qv(q, row, 8), buf);
	if (body == NULL) {
		assert_null(qv(q, row, 9));
		assert_int_equal(ql(q, row, 9), 0);
		assert_null(qv(q, row, 10));
	} else {
		assert_non_null(qv(q, row, 9));
		assert_int_equal(ql(q, row, 9), body_len);
		assert_memory_equal(qv(q, row, 9), body, body_len);
		assert_string_equal(qv(q, row, 10), "0123456789abcdef");
	}
	assert_string_equal(qv(q, row, 11), "v1");
}

/*
 * 20. Deliveries queue with their message, pending ones come back oldest
 * first with the sealed body's exact bytes, acked and refused ones do not;
 * a query runs after the batches submitted before it, and calls back from
 * the loop.
 */
static void
test_deliveries(void **state)
{
	struct tctx			*t = *state;
	struct done_rec			*r = recs_alloc(t, 8);
	struct store_batch		*b;
	struct store_subscription	 sub;
	struct qrec			*q;
	uint8_t				 body[3][40];
	char				 id[3][37], who[48], other[37], tag[32];
	int64_t				 did[3];
	size_t				 i;

	ensure_migrated();
	make_tag(who, sizeof(who), "p:del");
	make_tag(tag, sizeof(tag), "del");
	store_up(t, 16);

	memset(&sub, 0, sizeof(sub));
	sub.principal = who;
	sub.name = "inbox";
	sub.kinds = ~1u;
	assert_non_null(b = store_batch_new());
	assert_int_equal(store_batch_add_subscription(b, &sub), 0);
	assert_int_equal(submit(t, b, &r[0]), 0);
	for (i = 0; i < 3; i++) {
		make_uuid(id[i]);
		memset(body[i], 0, sizeof(body[i]));
		assert_int_equal(getrandom(body[i], sizeof(body[i]), 0),
		    (ssize_t)sizeof(body[i]));
		body[i][5] = 0;		/* a NUL inside */
		body[i][6] = 0xff;
		b = make_body_batch(id[i], "yp:del", 3, 1700000000000LL +
		    (int64_t)i, i == 2 ? NULL : body[i], sizeof(body[i]), tag,
		    1);
		assert_int_equal(store_batch_add_delivery(b, id[i], who,
		    "inbox"), 0);
		/* Twice in one batch: the second changes nothing. */
		if (i == 0)
			assert_int_equal(store_batch_add_delivery(b, id[i],
			    who, "inbox"), 0);
		assert_int_equal(submit(t, b, &r[1 + i]), 0);
	}
	/* Submitted after them: sees them, calls back later. */
	q = qrec_new(t, 0, PENDING_NCOLS);
	t->in_submit = 1;
	assert_int_equal(store_query_pending(t->store, who, "inbox", 0, 0,
	    UINT64_MAX >> 1, on_query, q), 0);
	t->in_submit = 0;
	assert_int_equal(q->fired, 0);
	wait_query(t, q);
	assert_int_equal(t->ncallbacks, 4);
	assert_int_equal(t->nout[STORE_COMMITTED], 4);
	assert_int_equal(t->cb_in_submit, 0);
	assert_true(q->ok);
	assert_int_equal(q->nrows, 3);
	assert_int_equal(q->extra_col, 0);
	for (i = 0; i < 3; i++) {
		assert_msg_row(q, i, id[i], "yp:del", 3, 1700000000000LL +
		    (int64_t)i, i == 2 ? NULL : body[i], sizeof(body[i]));
		did[i] = strtoll(qv(q, i, 12), NULL, 10);
		assert_true(did[i] > 0);
		assert_true(i == 0 || did[i] > did[i - 1]);
	}

	/* limit */
	q = qrec_new(t, 1, PENDING_NCOLS);
	assert_int_equal(store_query_pending(t->store, who, "inbox", 0, 2,
	    UINT64_MAX >> 1, on_query, q), 0);
	wait_query(t, q);
	assert_int_equal(q->nrows, 2);
	assert_string_equal(qv(q, 1, 0), id[1]);

	/* Pages: after a delivery's id; the bytes of the sealed bodies. */
	q = qrec_new(t, 1, PENDING_NCOLS);
	assert_int_equal(store_query_pending(t->store, who, "inbox", did[0],
	    100, UINT64_MAX >> 1, on_query, q), 0);
	wait_query(t, q);
	assert_int_equal(q->nrows, 2);
	assert_string_equal(qv(q, 0, 0), id[1]);
	assert_string_equal(qv(q, 1, 0), id[2]);
	q = qrec_new(t, 1, PENDING_NCOLS);
	assert_int_equal(store_query_pending(t->store, who, "inbox", did[2],
	    100, UINT64_MAX >> 1, on_query, q), 0);
	wait_query(t, q);
	assert_int_equal(q->nrows, 0);
	/* 40 + 40 bytes fit in 41 only as far as the second starts. */
	q = qrec_new(t, 1, PENDING_NCOLS);
	assert_int_equal(store_query_pending(t->store, who, "inbox", 0, 100,
	    41, on_query, q), 0);
	wait_query(t, q);
	assert_int_equal(q->nrows, 2);
	/* The first row comes whatever its size. */
	q = qrec_new(t, 1, PENDING_NCOLS);
	assert_int_equal(store_query_pending(t->store, who, "inbox", 0, 100,
	    1, on_query, q), 0);
	wait_query(t, q);
	assert_int_equal(q->nrows, 1);
	assert_string_equal(qv(q, 0, 0), id[0]);
	/* A purged body counts nothing: the third follows the second. */
	q = qrec_new(t, 1, PENDING_NCOLS);
	assert_int_equal(store_query_pending(t->store, who, "inbox", did[0],
	    100, 1, on_query, q), 0);
	wait_query(t, q);
	assert_int_equal(q->nrows, 1);
	assert_string_equal(qv(q, 0, 0), id[1]);

	/* Acked and refused leave the queue; unknown ones change nothing. */
	make_uuid(other);
	assert_non_null(b = store_batch_new());
	assert_int_equal(store_batch_set_delivery_state(b, id[0], who,
	    "inbox", STORE_DELIVERY_ACKED), 0);
	assert_int_equal(store_batch_set_delivery_state(b, id[1], who,
	    "inbox", STORE_DELIVERY_REFUSED), 0);
	assert_int_equal(store_batch_set_delivery_state(b, other, who,
	    "inbox", STORE_DELIVERY_ACKED), 0);
	assert_int_equal(store_batch_set_delivery_state(b, id[2], who,
	    "inbox", (enum store_delivery_state)42), -1);
	assert_int_equal(store_batch_add_event(b, make_event(AUDIT_ACK, id[0],
	    tag)), 0);
	assert_int_equal(submit(t, b, &r[4]), 0);
	/* The page is unordered (store.h): it sees what has committed. */
	wait_callbacks(t, 5);
	assert_int_equal(r[4].outcome, STORE_COMMITTED);
	q = qrec_new(t, 2, PENDING_NCOLS);
	assert_int_equal(store_query_pending(t->store, who, "inbox", 0, 100,
	    UINT64_MAX >> 1, on_query, q), 0);
	wait_query(t, q);
	assert_int_equal(q->nrows, 1);
	assert_string_equal(qv(q, 0, 0), id[2]);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.deliveries WHERE "
	    "principal = $1", who), 3);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.deliveries WHERE "
	    "principal = $1 AND changed_at >= created_at", who), 3);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.deliveries WHERE "
	    "principal = $1 AND state = 'acked'", who), 1);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.deliveries WHERE "
	    "principal = $1 AND state = 'refused'", who), 1);

	/* A delivery for a subscription that does not exist fails alone. */
	assert_non_null(b = store_batch_new());
	assert_int_equal(store_batch_add_delivery(b, id[2], who, "nosuch"), 0);
	assert_int_equal(submit(t, b, &r[5]), 0);
	assert_int_equal(submit(t, make_batch(NULL, tag, 1), &r[6]), 0);
	wait_callbacks(t, 7);
	assert_int_equal(r[5].outcome, STORE_FAILED);
	assert_int_equal(r[6].outcome, STORE_COMMITTED);

	/* Refused at once. */
	assert_int_equal(store_query_pending(t->store, NULL, "inbox", 0, 0, 1,
	    on_query, q), -1);
	assert_int_equal(store_batch_add_delivery(NULL, id[0], who, "x"), -1);
	assert_non_null(b = store_batch_new());
	assert_int_equal(store_batch_add_delivery(b, NULL, who, "x"), -1);
	assert_int_equal(store_batch_add_delivery(b, id[0], NULL, "x"), -1);
	assert_int_equal(store_batch_add_delivery(b, id[0], who, NULL), -1);
	store_batch_free(b);
	verify_chain(INSTANCE);
}

/* The columns of store_query_audit(). */
#define AUDIT_NCOLS	15

/*
 * 21. Audit queries: each filter alone, paging, the default and maximum
 * limits, every column of a row.
 */
static void
test_query_audit(void **state)
{
	struct tctx			*t = *state;
	struct done_rec			*r = recs_alloc(t, 1);
	struct store_batch		*b;
	struct audit_event		*ev;
	struct store_audit_filter	 f;
	struct qrec			*q;
	char				 subj[48], inst[48], id[37], sql[1024];
	char				 buf[64], first_id[24];
	size_t				 i;

	ensure_migrated();
	make_tag(subj, sizeof(subj), "yp:aq");
	make_tag(inst, sizeof(inst), "aq");
	make_uuid(id);
	store_up_on(t, env.ci_daemon, inst, 16);

	/* Five rows: at 1000..5000 ms, two actors, recipients, actions. */
	assert_non_null(b = store_batch_new());
	for (i = 0; i < 5; i++) {
		assert_non_null(ev = audit_event_new(i < 3 ? AUDIT_DELIVER :
		    AUDIT_ACK, i % 2 ? "principal:odd" : "principal:even"));
		ev->at_ms = 1000 * (int64_t)(i + 1);
		ev->kind = (int)i + 1;
		assert_int_equal(audit_event_set(ev, AUDIT_F_SUBJECT, subj), 0);
		assert_int_equal(audit_event_set(ev, AUDIT_F_RECIPIENT,
		    i == 4 ? "principal:even" : "principal:r"), 0);
		if (i == 2)
			assert_int_equal(audit_event_set(ev,
			    AUDIT_F_MESSAGE_ID, id), 0);
		assert_int_equal(audit_event_set(ev, AUDIT_F_FIELDS_SHARED,
		    "a,b"), 0);
		assert_int_equal(audit_event_set(ev, AUDIT_F_FIELDS_WITHHELD,
		    ""), 0);
		assert_int_equal(audit_event_set(ev, AUDIT_F_RULE, "rule-1"),
		    0);
		assert_int_equal(audit_event_set(ev, AUDIT_F_POLICY_VERSION,
		    "pv"), 0);
		assert_int_equal(audit_event_set(ev, AUDIT_F_REASON, "why"),
		    0);
		assert_int_equal(store_batch_add_event(b, ev), 0);
	}
	assert_int_equal(submit(t, b, r), 0);

	/* subject: all five, every column. */
	memset(&f, 0, sizeof(f));
	f.subject = subj;
	q = qrec_new(t, 0, AUDIT_NCOLS);
	assert_int_equal(store_query_audit(t->store, &f, on_query, q), 0);
	wait_query(t, q);
	assert_int_equal(r->outcome, STORE_COMMITTED);
	assert_true(q->ok);
	assert_int_equal(q->nrows, 5);
	assert_int_equal(q->extra_col, 0);
	snprintf(first_id, sizeof(first_id), "%s", qv(q, 0, 0));
	db_text1("SELECT min(id) FROM nwd.audit_events WHERE subject = $1",
	    subj, buf, sizeof(buf));
	assert_string_equal(first_id, buf);
	assert_string_equal(qv(q, 2, 1), inst);
	assert_string_equal(qv(q, 2, 2), "3");
	assert_string_equal(qv(q, 2, 3), "3000");
	assert_string_equal(qv(q, 2, 4), "principal:even");
	assert_string_equal(qv(q, 2, 5), "deliver");
	assert_string_equal(qv(q, 2, 6), id);
	assert_string_equal(qv(q, 2, 7), subj);
	assert_string_equal(qv(q, 2, 8), "3");
	assert_string_equal(qv(q, 2, 9), "principal:r");
	assert_string_equal(qv(q, 2, 10), "a,b");
	assert_string_equal(qv(q, 2, 11), "");
	assert_string_equal(qv(q, 2, 12), "rule-1");
	assert_string_equal(qv(q, 2, 13), "pv");
	assert_string_equal(qv(q, 2, 14), "why");
	assert_null(qv(q, 0, 6));

#define AUDIT_SEQS(qr, want) do {					\
	char	 _s[128] = "";						\
	size_t	 _i;							\
	for (_i = 0; _i < (qr)->nrows; _i++)				\
		snprintf(_s + strlen(_s), sizeof(_s) - strlen(_s),	\
		    "%s%s", _i ? "," : "", qv((qr), _i, 2));		\
	assert_string_equal(_s, (want));				\
} while (0)

	/* principal: as actor or as recipient. */
	f.principal = "principal:even";
	q = qrec_new(t, 1, AUDIT_NCOLS);
	assert_int_equal(store_query_audit(t->store, &f, on_query, q), 0);
	wait_query(t, q);
	AUDIT_SEQS(q, "1,3,5");
	f.principal = "principal:r";
	q = qrec_new(t, 1, AUDIT_NCOLS);
	assert_int_equal(store_query_audit(t->store, &f, on_query, q), 0);
	wait_query(t, q);
	AUDIT_SEQS(q, "1,2,3,4");
	f.principal = NULL;
	/* action */
	f.action = "ack";
	q = qrec_new(t, 1, AUDIT_NCOLS);
	assert_int_equal(store_query_audit(t->store, &f, on_query, q), 0);
	wait_query(t, q);
	AUDIT_SEQS(q, "4,5");
	f.action = NULL;
	/* message id, without the subject */
	f.subject = NULL;
	f.message_id = id;
	q = qrec_new(t, 1, AUDIT_NCOLS);
	assert_int_equal(store_query_audit(t->store, &f, on_query, q), 0);
	wait_query(t, q);
	AUDIT_SEQS(q, "3");
	f.message_id = NULL;
	f.subject = subj;
	/* from (inclusive) until (exclusive) */
	f.from_ms = 2000;
	f.until_ms = 4000;
	q = qrec_new(t, 1, AUDIT_NCOLS);
	assert_int_equal(store_query_audit(t->store, &f, on_query, q), 0);
	wait_query(t, q);
	AUDIT_SEQS(q, "2,3");
	f.from_ms = f.until_ms = 0;
	/* paging */
	f.limit = 2;
	q = qrec_new(t, 1, AUDIT_NCOLS);
	assert_int_equal(store_query_audit(t->store, &f, on_query, q), 0);
	wait_query(t, q);
	AUDIT_SEQS(q, "1,2");
	f.after_id = strtoll(qv(q, 1, 0), NULL, 10);
	q = qrec_new(t, 2, AUDIT_NCOLS);
	assert_int_equal(store_query_audit(t->store, &f, on_query, q), 0);
	wait_query(t, q);
	AUDIT_SEQS(q, "3,4");
	f.after_id = strtoll(qv(q, 1, 0), NULL, 10);
	q = qrec_new(t, 1, AUDIT_NCOLS);
	assert_int_equal(store_query_audit(t->store, &f, on_query, q), 0);
	wait_query(t, q);
	AUDIT_SEQS(q, "5");
	/* A bad message id: the query fails, ok 0 and no result. */
	memset(&f, 0, sizeof(f));
	f.message_id = "not-a-uuid";
	q = qrec_new(t, 1, AUDIT_NCOLS);
	assert_int_equal(store_query_audit(t->store, &f, on_query, q), 0);
	wait_query(t, q);
	assert_false(q->ok);
	assert_true(q->r_null);
	assert_int_equal(store_get_state(t->store), STORE_READY);
#undef AUDIT_SEQS

	/* Limits: 0 is 100, more than 10000 is 10000 (10001 rows exist). */
	make_tag(inst, sizeof(inst), "manual-cap");
	snprintf(sql, sizeof(sql), "INSERT INTO nwd.audit_events (instance, "
	    "at, action, subject, seq, prev_hash, hash) SELECT '%s', "
	    "'2024-01-01', 'connect', '%s-cap', g, CASE WHEN g = 1 THEN "
	    "'\\x%064d'::bytea ELSE sha256((g - 1)::text::bytea) END, "
	    "sha256(g::text::bytea) FROM generate_series(1, 10001) g", inst,
	    subj, 0);
	db_ok(env.ci_owner, sql);
	snprintf(buf, sizeof(buf), "%s-cap", subj);
	memset(&f, 0, sizeof(f));
	f.subject = buf;
	q = qrec_new(t, 1, 1);
	assert_int_equal(store_query_audit(t->store, &f, on_query, q), 0);
	wait_query(t, q);
	assert_int_equal(q->nrows, 100);
	f.limit = 50000;
	q = qrec_new(t, 1, 1);
	assert_int_equal(store_query_audit(t->store, &f, on_query, q), 0);
	wait_query(t, q);
	assert_int_equal(q->nrows, 10000);
	/* In id order as numbers (the ids cross a power of ten). */
	for (i = 1; i < q->nrows; i++)
		assert_true(strtoll(qv(q, i - 1, 0), NULL, 10) <
		    strtoll(qv(q, i, 0), NULL, 10));
	assert_int_equal(store_query_audit(t->store, NULL, on_query, q), -1);
}

/*
 * 22. A subject-access request: every message about the subject, oldest
 * first, with its body.
 */
static void
test_query_messages(void **state)
{
	struct tctx	*t = *state;
	struct done_rec	*r = recs_alloc(t, 3);
	struct qrec	*q;
	uint8_t		 body[3][16];
	char		 id[3][37], subj[48];
	const int64_t	 created[3] = { 3000, 1000, 2000 };
	size_t		 i;

	ensure_migrated();
	make_tag(subj, sizeof(subj), "yp:sar");
	store_up(t, 16);
	for (i = 0; i < 3; i++) {
		make_uuid(id[i]);
		memset(body[i], (int)i, sizeof(body[i]));
		assert_int_equal(submit(t, make_body_batch(id[i], subj, 4,
		    created[i], body[i], sizeof(body[i]), "sar", 1), &r[i]),
		    0);
	}
	q = qrec_new(t, 0, MSG_NCOLS);
	assert_int_equal(store_query_messages(t->store, subj, NULL, 0,
	    on_query, q), 0);
	wait_query(t, q);
	assert_int_equal(t->nout[STORE_COMMITTED], 3);
	assert_true(q->ok);
	assert_int_equal(q->nrows, 3);
	assert_int_equal(q->extra_col, 0);
	assert_msg_row(q, 0, id[1], subj, 4, 1000, body[1], sizeof(body[1]));
	assert_msg_row(q, 1, id[2], subj, 4, 2000, body[2], sizeof(body[2]));
	assert_msg_row(q, 2, id[0], subj, 4, 3000, body[0], sizeof(body[0]));

	/* A page: from a message (itself first), at most limit rows. */
	q = qrec_new(t, 3, MSG_NCOLS);
	assert_int_equal(store_query_messages(t->store, subj, id[2], 1,
	    on_query, q), 0);
	wait_query(t, q);
	assert_true(q->ok);
	assert_int_equal(q->nrows, 1);
	assert_msg_row(q, 0, id[2], subj, 4, 2000, body[2], sizeof(body[2]));
	q = qrec_new(t, 4, MSG_NCOLS);
	assert_int_equal(store_query_messages(t->store, subj, id[2], 5,
	    on_query, q), 0);
	wait_query(t, q);
	assert_int_equal(q->nrows, 2);
	assert_msg_row(q, 0, id[2], subj, 4, 2000, body[2], sizeof(body[2]));
	assert_msg_row(q, 1, id[0], subj, 4, 3000, body[0], sizeof(body[0]));
	/* From a message about no one here: nothing. */
	q = qrec_new(t, 5, MSG_NCOLS);
	assert_int_equal(store_query_messages(t->store, "yp:nobody", id[2], 5,
	    on_query, q), 0);
	wait_query(t, q);
	assert_true(q->ok);
	assert_int_equal(q->nrows, 0);

	q = qrec_new(t, 1, MSG_NCOLS);
	assert_int_equal(store_query_messages(t->store, "yp:nobody", NULL, 0,
	    on_query, q), 0);
	wait_query(t, q);
	assert_true(q->ok);
	assert_false(q->r_null);
	assert_int_equal(q->nrows, 0);
	assert_int_equal(store_query_messages(t->store, NULL, NULL, 0,
	    on_query, q),
	    -1);
}

/*
 * Retention as nwdd does it: the expired ones of kind before before_ms, then
 * one batch that audits each purge and removes each body.  Returns the
 * number purged; outcome gets the batch's (STORE_COMMITTED if none).
 */
static size_t
purge_expired(struct tctx *t, int kind, int64_t before_ms,
    struct done_rec *r, struct store_batch *extra)
{
	struct store_batch	*b;
	struct audit_event	*ev;
	struct qrec		*q;
	size_t			 i;

	q = qrec_new(t, 0, 2);
	assert_int_equal(store_query_expired(t->store, kind, before_ms, 0,
	    on_query, q), 0);
	wait_query(t, q);
	assert_true(q->ok);
	if (q->nrows == 0 && extra == NULL)
		return 0;
	b = extra != NULL ? extra : store_batch_new();
	assert_non_null(b);
	for (i = 0; i < q->nrows; i++) {
		assert_non_null(ev = audit_event_new(AUDIT_PURGE, "nwdd-test"));
		ev->kind = kind;
		assert_int_equal(audit_event_set(ev, AUDIT_F_MESSAGE_ID,
		    qv(q, i, 0)), 0);
		assert_int_equal(audit_event_set(ev, AUDIT_F_SUBJECT,
		    qv(q, i, 1)), 0);
		assert_int_equal(store_batch_add_event(b, ev), 0);
		assert_int_equal(store_batch_add_purge(b, qv(q, i, 0)), 0);
	}
	assert_int_equal(submit(t, b, r), 0);
	return q->nrows;
}

/*
 * 23. Retention: the expired messages of one kind are found oldest first
 * without being touched; a batch removes their bodies together with the
 * audit row of each purge (header rows stay); other kinds and newer
 * messages keep their bodies.  A batch that fails removes no body.
 */
static void
test_purge(void **state)
{
	struct tctx	*t = *state;
	struct done_rec	*r = recs_alloc(t, 8);
	struct store_batch *bad;
	struct alloc_entry ae;
	struct qrec	*q;
	uint8_t		 body[8] = { 1, 2, 0, 4, 5, 6, 7, 8 };
	char		 id[4][37], subj[48], missing[37];
	/* kind 9: two old ones, one new; kind 10: an old one. */
	const int64_t	 created[4] = { 1500000000000LL, 1500000001000LL,
	    4000000000000LL, 1500000000000LL };
	const int	 kinds[4] = { 9, 9, 9, 10 };
	size_t		 i, n;

	ensure_migrated();
	make_tag(subj, sizeof(subj), "yp:purge");
	store_up(t, 16);
	/* Whatever earlier tests left of kind 9 goes first. */
	if (purge_expired(t, 9, 1600000000000LL, &r[0], NULL) > 0) {
		wait_callbacks(t, 1);
		assert_int_equal(r[0].outcome, STORE_COMMITTED);
	}
	n = t->ncallbacks;
	for (i = 0; i < 4; i++) {
		make_uuid(id[i]);
		assert_int_equal(submit(t, make_body_batch(id[i], subj,
		    kinds[i], created[i], body, sizeof(body), "purge", 1),
		    &r[1 + i]), 0);
	}
	wait_callbacks(t, n + 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(r[1 + i].outcome, STORE_COMMITTED);

	/* Found, oldest first, and nothing removed by looking. */
	q = qrec_new(t, 1, 2);
	assert_int_equal(store_query_expired(t->store, 9, 1600000000000LL, 0,
	    on_query, q), 0);
	wait_query(t, q);
	assert_true(q->ok);
	assert_int_equal(q->nrows, 2);
	assert_string_equal(qv(q, 0, 0), id[0]);
	assert_string_equal(qv(q, 0, 1), subj);
	assert_string_equal(qv(q, 1, 0), id[1]);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.messages WHERE "
	    "subject = $1 AND body IS NOT NULL", subj), 4);

	/*
	 * A batch that the database refuses (an allocation of a message that
	 * does not exist) purges nothing and audits nothing.
	 */
	assert_non_null(bad = store_batch_new());
	make_uuid(missing);
	memset(&ae, 0, sizeof(ae));
	ae.subject = subj;
	ae.team = "hub:norwich";
	assert_int_equal(store_batch_add_allocation(bad, &ae, missing), 0);
	n = t->ncallbacks;
	assert_int_equal(purge_expired(t, 9, 1600000000000LL, &r[5], bad), 2);
	wait_callbacks(t, n + 1);
	assert_int_equal(r[5].outcome, STORE_FAILED);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.messages WHERE "
	    "subject = $1 AND body IS NOT NULL", subj), 4);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.audit_events "
	    "WHERE subject = $1 AND action = 'purge'", subj), 0);

	/* The real purge: bodies and audit rows together. */
	n = t->ncallbacks;
	assert_int_equal(purge_expired(t, 9, 1600000000000LL, &r[6], NULL),
	    2);
	wait_callbacks(t, n + 1);
	assert_int_equal(r[6].outcome, STORE_COMMITTED);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.messages WHERE "
	    "subject = $1 AND body IS NULL AND purged_at IS NOT NULL AND "
	    "key_id IS NOT NULL AND kind = 9 AND created_at < "
	    "'2020-01-01'", subj), 2);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.messages WHERE "
	    "subject = $1 AND body = '\\x0102000405060708' AND purged_at IS "
	    "NULL", subj), 2);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.messages WHERE "
	    "subject = $1", subj), 4);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.audit_events e "
	    "JOIN nwd.messages m ON m.id = e.message_id WHERE "
	    "e.subject = $1 AND e.action = 'purge' AND m.body IS NULL", subj),
	    2);
	/* Again: nothing left to purge. */
	assert_int_equal(purge_expired(t, 9, 1600000000000LL, &r[7], NULL), 0);
	/* A purge id must be a UUID. */
	assert_non_null(bad = store_batch_new());
	assert_int_equal(store_batch_add_purge(bad, "not-a-uuid"), -1);
	assert_int_equal(store_batch_add_purge(bad, NULL), -1);
	store_batch_free(bad);
	/* A purged message reads back without its body. */
	q = qrec_new(t, 2, MSG_NCOLS);
	assert_int_equal(store_query_messages(t->store, subj, NULL, 0,
	    on_query, q), 0);
	wait_query(t, q);
	assert_int_equal(q->nrows, 4);
	for (i = 0; i < q->nrows; i++) {
		if (strcmp(qv(q, i, 0), id[0]) == 0 ||
		    strcmp(qv(q, i, 0), id[1]) == 0)
			assert_null(qv(q, i, 9));
		else
			assert_int_equal(ql(q, i, 9), sizeof(body));
		assert_string_equal(qv(q, i, 10), "0123456789abcdef");
	}
}

/*
 * 24. The connection dies under a query: a read fails (ok 0, no result),
 * and so do the queries waiting behind it.
 */
static void
test_query_lost(void **state)
{
	struct tctx	*t = *state;
	struct done_rec	*r = recs_alloc(t, 1);
	struct qrec	*q1, *q2;
	uint8_t		 body[4] = { 9, 9, 9, 9 };
	char		 id[37], subj[48];

	ensure_migrated();
	make_tag(subj, sizeof(subj), "yp:qlost");
	store_up(t, 16);
	make_uuid(id);
	assert_int_equal(submit(t, make_body_batch(id, subj, 11,
	    1500000000000LL, body, sizeof(body), "qlost", 1), r), 0);
	wait_callbacks(t, 1);

	hold_lock(t, "BEGIN; LOCK TABLE nwd.messages IN ACCESS EXCLUSIVE "
	    "MODE");
	q1 = qrec_new(t, 0, MSG_NCOLS);
	q2 = qrec_new(t, 1, MSG_NCOLS);
	assert_int_equal(store_query_messages(t->store, subj, NULL, 0,
	    on_query, q1),
	    0);
	assert_int_equal(store_query_messages(t->store, subj, NULL, 0,
	    on_query, q2),
	    0);
	event_base_loop(t->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	wait_store_blocked();
	terminate_store_backend();
	/* The one in flight and the one waiting both fail. */
	wait_query(t, q1);
	wait_query(t, q2);
	assert_false(q1->ok);
	assert_true(q1->r_null);
	assert_false(q2->ok);
	assert_int_equal(store_query_messages(t->store, subj, NULL, 0,
	    on_query, q1),
	    -1);
	PQfinish(t->hold);
	t->hold = NULL;
	wait_state(t, STORE_READY, DEADLINE_S);
}

/* ------------------------------------------------------------------------
 * G1 and G3: outcomes when the connection is cut
 */

/*
 * 25. A fault proxy cuts the connection at chosen points; the store
 * resolves each transaction by looking for its rows, never by guessing:
 * after COMMIT took effect (the result lost) it says COMMITTED, before the
 * server saw anything or in the middle of the transaction it says
 * UNAVAILABLE, for transactions with audit rows (found by their last row)
 * and without (found by their mark); a purge batch whose answer was lost
 * is found by its audit row like any other.
 */
static void
test_proxy_outcomes(void **state)
{
	struct tctx		*t = *state;
	struct done_rec		*r = recs_alloc(t, 8);
	struct proxy		*p;
	struct store_batch	*b;
	struct alloc_entry	 e;
	struct qrec		*q;
	uint8_t			 body[32];
	char			 ci[256], inst[48], tag[32], id[4][37], *log;
	size_t			 i, n;

	ensure_migrated();
	make_tag(inst, sizeof(inst), "proxy");
	make_tag(tag, sizeof(tag), "proxy");
	memset(body, 0x5a, sizeof(body));
	for (i = 0; i < 4; i++)
		make_uuid(id[i]);
	p = proxy_new(t, ci, sizeof(ci));
	capture_start(t);
	store_up_on(t, ci, inst, 16);
	assert_int_equal(submit(t, make_batch(NULL, tag, 1), &r[0]), 0);
	wait_callbacks(t, 1);
	assert_int_equal(r[0].outcome, STORE_COMMITTED);

	/* a. After COMMIT: durable, but the store never heard. */
	p->hold_s2c = 1;
	assert_int_equal(submit(t, make_body_batch(id[0], "yp:proxy", 1,
	    1700000000000LL, body, sizeof(body), tag, 2), &r[1]), 0);
	wait_db(t, "SELECT count(*) FROM nwd.audit_events WHERE message_id = "
	    "$1::uuid", id[0], 2);
	assert_int_equal(r[1].fired, 0);
	proxy_cut_and_pass(p);
	wait_callbacks(t, 2);
	assert_int_equal(r[1].outcome, STORE_COMMITTED);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.messages WHERE "
	    "id = $1::uuid", id[0]), 1);

	/* b. The same for a transaction without audit rows. */
	memset(&e, 0, sizeof(e));
	e.subject = "yp:proxy";
	e.team = "team-after";
	assert_non_null(b = store_batch_new());
	assert_int_equal(store_batch_add_allocation(b, &e, id[0]), 0);
	p->hold_s2c = 1;
	assert_int_equal(submit(t, b, &r[2]), 0);
	wait_db(t, "SELECT count(*) FROM nwd.allocations WHERE message_id = "
	    "$1::uuid AND team = 'team-after'", id[0], 1);
	assert_int_equal(r[2].fired, 0);
	proxy_cut_and_pass(p);
	wait_callbacks(t, 3);
	assert_int_equal(r[2].outcome, STORE_COMMITTED);

	/* c. Before the server saw any of it. */
	p->hold_c2s = 1;
	assert_int_equal(submit(t, make_body_batch(id[1], "yp:proxy", 1,
	    1700000000000LL, body, sizeof(body), tag, 2), &r[3]), 0);
	run_until(t, cond_c2s_synced, NULL, DEADLINE_S, "held transaction");
	proxy_cut_and_pass(p);
	wait_callbacks(t, 4);
	assert_int_equal(r[3].outcome, STORE_UNAVAILABLE);

	/* d. In the middle: BEGIN and some rows reached it, COMMIT did not. */
	p->hold_c2s = 1;
	assert_int_equal(submit(t, make_body_batch(id[2], "yp:proxy", 1,
	    1700000000000LL, body, sizeof(body), tag, 40), &r[4]), 0);
	run_until(t, cond_c2s_synced, NULL, DEADLINE_S, "held transaction");
	n = proxy_held_c2s(p);
	proxy_forward_c2s(p, n / 2);
	wait_db(t, "SELECT count(*) FROM pg_stat_activity WHERE "
	    "application_name = 'nwdd' AND backend_xid IS NOT NULL AND "
	    "usename = $1", "nwd_daemon", 1);
	proxy_cut_and_pass(p);
	wait_callbacks(t, 5);
	assert_int_equal(r[4].outcome, STORE_UNAVAILABLE);

	/* e. Before the server, without audit rows. */
	e.team = "team-before";
	assert_non_null(b = store_batch_new());
	assert_int_equal(store_batch_add_allocation(b, &e, id[0]), 0);
	p->hold_c2s = 1;
	assert_int_equal(submit(t, b, &r[5]), 0);
	run_until(t, cond_c2s_synced, NULL, DEADLINE_S, "held transaction");
	proxy_cut_and_pass(p);
	wait_callbacks(t, 6);
	assert_int_equal(r[5].outcome, STORE_UNAVAILABLE);

	/*
	 * f. A purge (the body's removal and its audit row, one batch) that
	 * took effect, its answer lost: found by its audit row, COMMITTED.
	 */
	assert_int_equal(submit(t, make_body_batch(id[3], "yp:proxy", 12,
	    1500000000000LL, body, sizeof(body), tag, 1), &r[6]), 0);
	wait_callbacks(t, 7);
	assert_int_equal(r[6].outcome, STORE_COMMITTED);
	q = qrec_new(t, 0, 2);
	assert_int_equal(store_query_expired(t->store, 12, 1600000000000LL, 0,
	    on_query, q), 0);
	wait_query(t, q);
	assert_true(q->ok);
	assert_int_equal(q->nrows, 1);
	assert_string_equal(qv(q, 0, 0), id[3]);
	assert_non_null(b = store_batch_new());
	assert_int_equal(store_batch_add_event(b, make_event(AUDIT_PURGE,
	    id[3], tag)), 0);
	assert_int_equal(store_batch_add_purge(b, id[3]), 0);
	p->hold_s2c = 1;
	assert_int_equal(submit(t, b, &r[7]), 0);
	wait_db(t, "SELECT count(*) FROM nwd.messages WHERE id = $1::uuid AND "
	    "body IS NULL", id[3], 1);
	assert_int_equal(r[7].fired, 0);
	proxy_cut_and_pass(p);
	wait_callbacks(t, 8);
	assert_int_equal(r[7].outcome, STORE_COMMITTED);
	wait_state(t, STORE_READY, DEADLINE_S);
	log = capture_stop(t);

	/* Only what the store said COMMITTED is there. */
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.messages WHERE "
	    "id = $1::uuid", id[1]), 0);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.messages WHERE "
	    "id = $1::uuid", id[2]), 0);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.audit_events WHERE "
	    "message_id = $1::uuid", id[1]), 0);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.audit_events WHERE "
	    "message_id = $1::uuid", id[2]), 0);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.allocations WHERE "
	    "message_id = $1::uuid AND team = 'team-before'", id[0]), 0);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.allocations WHERE "
	    "message_id = $1::uuid AND team = 'team-after'", id[0]), 1);
	/* ... and the store says how it knew. */
	n = count_str(log, "resolved outcome=committed by=\"last audit row\"");
	i = count_str(log, "resolved outcome=committed by=\"mark\"");
	assert_int_equal(n, 2);
	assert_int_equal(i, 1);
	n = count_str(log, "resolved outcome=unavailable by=\"last audit "
	    "row\"");
	i = count_str(log, "resolved outcome=unavailable by=\"mark\"");
	free(log);
	assert_int_equal(n, 2);
	assert_int_equal(i, 1);
	assert_true(p->ncuts >= 6);
	assert_int_equal(t->nout[STORE_FAILED], 0);
	assert_int_equal(verify_chain(inst), 1 + 2 + 1 + 1);
	assert_int_equal(store_chain_head(t->store), 5);
}

#define FAULT_N		2000	/* batches */
#define FAULT_WINDOW	64	/* submitted and not yet answered */
#define FAULT_EVERY	120	/* batches committed between faults */

enum fault_kind {
	F_KILL,		/* kill the backend, whatever it does */
	F_KILL_MID,	/* ... while it has written rows, uncommitted */
	F_CUT_AFTER,	/* cut once the server has answered a COMMIT */
	F_CUT_BEFORE,	/* cut what the store sends before it arrives */
	F_RESTART,	/* stop immediately, in a transaction, and start */
};

struct fault_run;

struct fault_rec {
	struct fault_run	*run;
	char			 id[37];
	int			 submitted;	/* 0: refused at submit */
	int			 fired;
	enum store_outcome	 outcome;
};

struct fault_run {
	struct tctx		*t;
	struct fault_rec	*rec;
	char			 tag[32];
	size_t			 next;		/* first not yet tried */
	size_t			 outstanding;
	size_t			 answered;
	size_t			 committed;
	size_t			 refused;
	size_t			 kills;		/* backends terminated */
	size_t			 cuts;
	size_t			 restarts;
};

static void
on_fault_done(enum store_outcome o, void *arg)
{
	struct fault_rec	*rec = arg;

	rec->fired++;
	rec->outcome = o;
	rec->run->outstanding--;
	rec->run->answered++;
	if (o == STORE_COMMITTED)
		rec->run->committed++;
	rec->run->t->nout[o]++;
	rec->run->t->ncallbacks++;
}

/* Submits up to the window; at most one refusal per pass (store down). */
static void
fault_pump(struct fault_run *fr)
{
	static const uint8_t	 body[16] = { 0xde, 0xad, 0, 0xbe, 0xef };
	struct fault_rec	*rec;
	struct store_batch	*b;

	while (fr->next < FAULT_N && fr->outstanding < FAULT_WINDOW) {
		rec = &fr->rec[fr->next++];
		rec->run = fr;
		make_uuid(rec->id);
		b = make_body_batch(rec->id, "yp:fault", 2, 1700000000000LL,
		    body, sizeof(body), fr->tag, 2);
		if (store_submit(fr->t->store, b, on_fault_done, rec) == -1) {
			store_batch_free(b);
			fr->refused++;
			break;
		}
		rec->submitted = 1;
		fr->outstanding++;
	}
}

/* Held bytes at the proxy; batches keep coming meanwhile. */
static int
cond_fault_s2c(struct tctx *t, const void *arg)
{
	struct proxy	*p = t->proxy;

	fault_pump((struct fault_run *)arg);
	switch (proxy_s2c_answer(p)) {
	case 1:
		return 1;
	case 2:
		/* A checkpoint's or a query's: let it through, hold on. */
		evbuffer_add_buffer(bufferevent_get_output(p->cli),
		    bufferevent_get_input(p->srv));
		return 0;
	default:
		return 0;
	}
}

static int
cond_fault_c2s(struct tctx *t, const void *arg)
{
	fault_pump((struct fault_run *)arg);
	return cond_c2s_held(t, NULL);
}

/*
 * A whole transaction from the store is held at the proxy (a checkpoint or
 * a query is let through meanwhile).
 */
static int
cond_fault_txn_held(struct tctx *t, const void *arg)
{
	struct proxy	*p = t->proxy;
	struct evbuffer	*in;

	fault_pump((struct fault_run *)arg);
	if (!cond_c2s_synced(t, NULL))
		return 0;
	in = bufferevent_get_input(p->cli);
	if (evbuffer_search(in, "nwd_insert_event", sizeof("nwd_insert_event"),
	    NULL).pos != -1)
		return 1;
	evbuffer_add_buffer(bufferevent_get_output(p->srv), in);
	return 0;
}

/*
 * Puts the store's backend in the middle of a transaction: the first half
 * of it reaches the server (which writes rows and waits for the rest), the
 * second half, its Sync included, stays at the proxy.
 */
static void
fault_hold_mid(struct fault_run *fr)
{
	struct tctx	*t = fr->t;

	t->proxy->hold_c2s = 1;
	run_until(t, cond_fault_txn_held, fr, DEADLINE_S, "a transaction");
	proxy_forward_c2s(t->proxy, proxy_held_c2s(t->proxy) / 2);
	wait_db(t, "SELECT count(*) FROM pg_stat_activity WHERE "
	    "application_name = 'nwdd' AND backend_xid IS NOT NULL AND "
	    "usename = $1", "nwd_daemon", 1);
}

static void
fault_inject(struct fault_run *fr, enum fault_kind k)
{
	struct tctx	*t = fr->t;
	char		 out[32], err[512], cmd[3 * PATH_MAX];

	if (k == F_KILL_MID || k == F_RESTART)
		fault_hold_mid(fr);
	switch (k) {
	case F_KILL:
	case F_KILL_MID:
		if (db_try(env.ci_super, "SELECT count(pg_terminate_backend("
		    "pid)) FROM pg_stat_activity WHERE application_name = "
		    "'nwdd' AND usename = 'nwd_daemon'", 0, NULL, out,
		    sizeof(out), err, sizeof(err)) == -1)
			fail_msg("pg_terminate_backend: %s", err);
		fr->kills += (size_t)strtoul(out, NULL, 10);
		t->proxy->hold_c2s = 0;
		break;
	case F_CUT_AFTER:
		/* The server commits and answers; the store never hears it. */
		t->proxy->hold_s2c = 1;
		run_until(t, cond_fault_s2c, fr, DEADLINE_S, "an answer");
		proxy_cut_and_pass(t->proxy);
		fr->cuts++;
		break;
	case F_CUT_BEFORE:
		t->proxy->hold_c2s = 1;
		run_until(t, cond_fault_c2s, fr, DEADLINE_S, "a request");
		proxy_cut_and_pass(t->proxy);
		fr->cuts++;
		break;
	case F_RESTART:
		snprintf(cmd, sizeof(cmd), "'%s/deploy/pg.sh' stop '%s' "
		    "immediate >/dev/null", env.srcdir, env.pgdir);
		t->pg_stopped = 1;
		assert_int_equal(system(cmd), 0);
		assert_int_equal(pg_ctl("start"), 0);
		t->pg_stopped = 0;
		fr->restarts++;
		t->proxy->hold_c2s = 0;
		break;
	}
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted copies of column 0 of res (pointers into res). */
static const char **
sorted_col(PGresult *res)
{
	const char	**v;
	size_t		  n = (size_t)PQntuples(res), i;

	assert_non_null(v = calloc(n > 0 ? n : 1, sizeof(*v)));
	for (i = 0; i < n; i++)
		v[i] = PQgetvalue(res, (int)i, 0);
	qsort(v, n, sizeof(*v), cmp_str);
	return v;
}

/*
 * 26. G1/G3 under load: 2,000 batches submitted continuously, while the
 * database connection is killed (pg_terminate_backend), cut by the proxy
 * before and after the server answers, and PostgreSQL is stopped
 * immediately and restarted.  Afterwards: every batch said COMMITTED has
 * all its rows exactly once, no batch said UNAVAILABLE (or refused at
 * submit) has any, no batch FAILED, the chain runs 1..n without a gap or
 * a repeat and every hash recomputes, and every checkpoint verifies.
 */
static void
test_fault_load(void **state)
{
	struct tctx		*t = *state;
	static const enum fault_kind kinds[] = { F_KILL_MID, F_CUT_AFTER,
	    F_KILL, F_CUT_BEFORE, F_KILL_MID, F_CUT_AFTER, F_RESTART,
	    F_KILL_MID, F_CUT_AFTER };	/* after 120, 240, ... commits */
	const size_t		 nfaults = sizeof(kinds) / sizeof(kinds[0]);
	struct fault_run	 fr;
	struct event		*ev;
	struct timeval		 tv = { 300, 0 };
	PGresult		*mres, *eres;
	const char		**mids, **eids, *key, *params[1];
	struct fault_rec	*rec;
	char			 ci[256], inst[48], seqs[4096], *log;
	size_t			 nf = 0, i, nm, ne, nrows, nckpt;
	size_t			 res_c, res_u, committed, unavailable;
	int			 expired = 0, bad = 0;

	ensure_migrated();
	keys_load(t);
	memset(&fr, 0, sizeof(fr));
	fr.t = t;
	make_tag(fr.tag, sizeof(fr.tag), "fault");
	make_tag(inst, sizeof(inst), "fault");
	assert_non_null(fr.rec = calloc(FAULT_N, sizeof(*fr.rec)));
	proxy_new(t, ci, sizeof(ci));
	capture_start(t);
	assert_non_null(t->store = store_new(t->base, ci, inst,
	    2 * FAULT_WINDOW, 1));
	store_set_checkpoints(t->store, t->signer, 100, 0);
	assert_int_equal(store_start(t->store, on_state, t), 0);
	wait_state(t, STORE_READY, DEADLINE_S);

	assert_non_null(ev = evtimer_new(t->base, on_deadline, &expired));
	evtimer_add(ev, &tv);
	while (!expired) {
		fault_pump(&fr);
		if (nf < nfaults && fr.committed >= (nf + 1) * FAULT_EVERY &&
		    fr.outstanding > 0 &&
		    store_get_state(t->store) == STORE_READY)
			fault_inject(&fr, kinds[nf++]);
		if (fr.next == FAULT_N && fr.outstanding == 0)
			break;
		event_base_loop(t->base, EVLOOP_ONCE);
	}
	event_free(ev);
	if (expired) {
		free(fr.rec);
		fail_msg("the fault run did not finish: tried %zu answered "
		    "%zu outstanding %zu", fr.next, fr.answered,
		    fr.outstanding);
	}
	/*
	 * Quiet now: whatever checkpoint is due gets written.  (No last one
	 * from store_free(): its bounded blocking wait cannot pass this
	 * proxy, which runs on the loop; test_checkpoints has that one.)
	 */
	wait_state(t, STORE_READY, DEADLINE_S);
	store_round_trip(t, 0);
	store_set_checkpoints(t->store, NULL, 0, 0);
	store_free(t->store);
	t->store = NULL;
	log = capture_stop(t);
	res_c = count_str(log, "resolved outcome=committed");
	res_u = count_str(log, "resolved outcome=unavailable");
	bad = count_str(log, "out of step") > 0;
	free(log);

	/* What the store said, against what the database holds. */
	params[0] = inst;
	mres = db_rows(env.ci_auditor, "SELECT id::text FROM nwd.messages "
	    "WHERE instance = $1", 1, params);
	eres = db_rows(env.ci_auditor, "SELECT message_id::text FROM "
	    "nwd.audit_events WHERE instance = $1", 1, params);
	mids = sorted_col(mres);
	eids = sorted_col(eres);
	nm = (size_t)PQntuples(mres);
	ne = (size_t)PQntuples(eres);
	committed = unavailable = 0;
	for (i = 0; i < FAULT_N && !bad; i++) {
		const char	**lo, **hi;
		size_t		  nev;

		rec = &fr.rec[i];
		key = rec->id;
		lo = bsearch(&key, eids, ne, sizeof(*eids), cmp_str);
		nev = 0;
		if (lo != NULL) {
			for (hi = lo; hi < eids + ne && strcmp(*hi, key) == 0;
			    hi++)
				nev++;
			while (lo > eids && strcmp(lo[-1], key) == 0) {
				lo--;
				nev++;
			}
		}
		if (rec->submitted && rec->fired != 1) {
			print_error("batch %zu answered %d times\n", i,
			    rec->fired);
			bad = 1;
		} else if (rec->submitted &&
		    rec->outcome == STORE_COMMITTED) {
			committed++;
			if (nev != 2 || bsearch(&key, mids, nm, sizeof(*mids),
			    cmp_str) == NULL) {
				print_error("batch %zu committed but has %zu "
				    "audit rows\n", i, nev);
				bad = 1;
			}
		} else {
			if (rec->submitted) {
				if (rec->outcome != STORE_UNAVAILABLE)
					bad = 1;
				unavailable++;
			}
			if (nev != 0 || bsearch(&key, mids, nm, sizeof(*mids),
			    cmp_str) != NULL) {
				print_error("batch %zu %s but has %zu audit "
				    "rows\n", i, rec->submitted ?
				    "unavailable" : "refused", nev);
				bad = 1;
			}
		}
	}
	free(mids);
	free(eids);
	PQclear(mres);
	PQclear(eres);
	free(fr.rec);
	assert_false(bad);
	assert_int_equal(nm, committed);
	assert_int_equal(ne, 2 * committed);
	nrows = verify_chain(inst);
	assert_int_equal(nrows, 2 * committed);
	nckpt = verify_checkpoints(inst, t->verifier, seqs, sizeof(seqs));
	print_message("fault run: %d batches tried: %zu committed, %zu "
	    "unavailable, %zu refused at submit, 0 failed; faults: %zu "
	    "backends killed, %zu proxy cuts, %zu immediate restart; in "
	    "doubt at a cut and resolved at reconnect: %zu committed, %zu "
	    "unavailable; chain of %zu rows verified, %zu checkpoints "
	    "verified\n", FAULT_N, committed, unavailable, fr.refused,
	    fr.kills, fr.cuts, fr.restarts, res_c, res_u, nrows, nckpt);
	assert_int_equal(t->nout[STORE_FAILED], 0);
	assert_int_equal(committed + unavailable + fr.refused, FAULT_N);
	assert_int_equal(nf, nfaults);
	assert_int_equal(fr.kills, 4);
	assert_int_equal(fr.cuts, 4);
	assert_int_equal(fr.restarts, 1);
	assert_true(committed >= nfaults * FAULT_EVERY);
	/*
	 * Each cut after the answer left a commit the store had to find;
	 * each kill in the middle and the restart, an abort.
	 */
	assert_true(res_c >= 3);
	assert_true(res_u >= 4);
	assert_true(nckpt >= 1);
	/* Checkpoints kept up: fewer than 100 rows after the last one. */
	{
		const char	*last = strrchr(seqs, ',');

		assert_true(nrows - strtoull(last != NULL ? last + 1 : seqs,
		    NULL, 10) < 100);
	}
}

/* ------------------------------------------------------------------------
 * G6 on the new tables
 */

/*
 * 27. Each forbidden change as each role: the trail and the checkpoints
 * are append-only for the daemon and the owner; a message changes only by
 * losing its body in a purge; the daemon changes only a delivery's state;
 * the auditor writes nothing.
 */
static void
test_privileges_new(void **state)
{
	char		 id[37], inst[48], sql[1024];
	const char	*tables[] = { "messages", "audit_events", "checkpoints",
	    "allocations", "subscriptions", "deliveries", "instances" };
	size_t		 i;

	ensure_migrated();
	make_uuid(id);
	make_tag(inst, sizeof(inst), "manual-g6");
	db_ok1(env.ci_daemon, "INSERT INTO nwd.messages (id, kind, subject, "
	    "sender, created_at, instance, body, key_id) VALUES ($1::uuid, 1, "
	    "'yp:g6', 'principal:g6', now(), 'g6', '\\x0102', 'k1')", id);
	/* Audit rows and checkpoints: the owner's INSERT, not the daemon's
	 * (010: the daemon writes through the functions, holding the
	 * instance's lock). */
	snprintf(sql, sizeof(sql), "INSERT INTO nwd.audit_events (instance, "
	    "at, action, seq, prev_hash, hash) VALUES ('%s', '2024-01-01', "
	    "'connect', 1, " SQL_ZEROS ", sha256('g6'))", inst);
	db_refused(env.ci_daemon, sql, "permission denied");
	db_ok(env.ci_owner, sql);
	snprintf(sql, sizeof(sql), "INSERT INTO nwd.checkpoints (instance, "
	    "seq, hash, at, key_id, signature) VALUES ('%s', 1, sha256('g6'), "
	    "'2024-01-01', 'k', decode(repeat('00', 64), 'hex'))", inst);
	db_refused(env.ci_daemon, sql, "permission denied");
	db_ok(env.ci_owner, sql);
	snprintf(sql, sizeof(sql), "INSERT INTO nwd.subscriptions (principal, "
	    "name, kinds) VALUES ('%s', 'n', 1)", inst);
	db_ok(env.ci_daemon, sql);
	snprintf(sql, sizeof(sql), "INSERT INTO nwd.deliveries (message_id, "
	    "principal, subscription) VALUES ('%s', '%s', 'n')", id, inst);
	db_ok(env.ci_daemon, sql);
	snprintf(sql, sizeof(sql), "INSERT INTO nwd.instances (instance, "
	    "mark) VALUES ('%s', '%s')", inst, id);
	db_ok(env.ci_daemon, sql);

#define REFUSED(ci, want, ...) do {					\
	snprintf(sql, sizeof(sql), __VA_ARGS__);			\
	db_refused((ci), sql, (want));					\
} while (0)
	/* The daemon. */
	REFUSED(env.ci_daemon, "permission denied", "UPDATE nwd.audit_events "
	    "SET reason = 'x' WHERE instance = '%s'", inst);
	REFUSED(env.ci_daemon, "permission denied", "UPDATE nwd.audit_events "
	    "SET hash = sha256('y') WHERE instance = '%s'", inst);
	REFUSED(env.ci_daemon, "permission denied", "DELETE FROM "
	    "nwd.audit_events WHERE instance = '%s'", inst);
	REFUSED(env.ci_daemon, "permission denied", "TRUNCATE "
	    "nwd.audit_events");
	REFUSED(env.ci_daemon, "permission denied", "UPDATE nwd.checkpoints "
	    "SET signature = sha256('x') WHERE instance = '%s'", inst);
	REFUSED(env.ci_daemon, "permission denied", "DELETE FROM "
	    "nwd.checkpoints WHERE instance = '%s'", inst);
	REFUSED(env.ci_daemon, "permission denied", "TRUNCATE "
	    "nwd.checkpoints");
	REFUSED(env.ci_daemon, "permission denied", "UPDATE nwd.messages SET "
	    "sender = 'x' WHERE id = '%s'", id);
	REFUSED(env.ci_daemon, "permission denied", "UPDATE nwd.messages SET "
	    "subject = 'x', body = NULL WHERE id = '%s'", id);
	REFUSED(env.ci_daemon, "never replaced", "UPDATE nwd.messages SET "
	    "body = '\\x03' WHERE id = '%s'", id);
	REFUSED(env.ci_daemon, "records its time", "UPDATE nwd.messages SET "
	    "body = NULL WHERE id = '%s'", id);
	REFUSED(env.ci_daemon, "messages_purge_check", "UPDATE nwd.messages "
	    "SET purged_at = now() WHERE id = '%s'", id);
	REFUSED(env.ci_daemon, "permission denied", "DELETE FROM nwd.messages "
	    "WHERE id = '%s'", id);
	REFUSED(env.ci_daemon, "permission denied", "TRUNCATE nwd.messages "
	    "CASCADE");
	REFUSED(env.ci_daemon, "permission denied", "UPDATE nwd.deliveries SET "
	    "principal = 'x' WHERE message_id = '%s'", id);
	REFUSED(env.ci_daemon, "permission denied", "DELETE FROM "
	    "nwd.deliveries WHERE message_id = '%s'", id);
	REFUSED(env.ci_daemon, "permission denied", "TRUNCATE nwd.deliveries");
	REFUSED(env.ci_daemon, "deliveries_state_check", "UPDATE "
	    "nwd.deliveries SET state = 'gone' WHERE message_id = '%s'", id);
	REFUSED(env.ci_daemon, "permission denied", "UPDATE nwd.subscriptions "
	    "SET principal = 'x' WHERE principal = '%s'", inst);
	REFUSED(env.ci_daemon, "permission denied", "DELETE FROM "
	    "nwd.subscriptions WHERE principal = '%s'", inst);
	REFUSED(env.ci_daemon, "permission denied", "DELETE FROM "
	    "nwd.instances WHERE instance = '%s'", inst);
	REFUSED(env.ci_daemon, "permission denied", "UPDATE nwd.instances SET "
	    "instance = 'x' WHERE instance = '%s'", inst);
	/* A body removed without the audit row of its purge (010). */
	REFUSED(env.ci_daemon, "without the audit row of its purge", "UPDATE "
	    "nwd.messages SET body = NULL, purged_at = now() WHERE id = '%s'",
	    id);
	/* What it may do: a delivery's state; a purge, once, audited. */
	snprintf(sql, sizeof(sql), "UPDATE nwd.deliveries SET state = 'acked', "
	    "changed_at = now() WHERE message_id = '%s'", id);
	db_ok(env.ci_daemon, sql);
	snprintf(sql, sizeof(sql), "INSERT INTO nwd.audit_events (instance, "
	    "at, action, message_id, seq, prev_hash, hash) VALUES ('%s', "
	    "'2024-01-01', 'purge', '%s', 2, sha256('g6'), sha256('g6-2'))",
	    inst, id);
	db_ok(env.ci_owner, sql);
	snprintf(sql, sizeof(sql), "UPDATE nwd.messages SET body = NULL, "
	    "purged_at = now() WHERE id = '%s'", id);
	db_ok(env.ci_daemon, sql);
	REFUSED(env.ci_daemon, "recorded once", "UPDATE nwd.messages SET "
	    "purged_at = now() + interval '1 day' WHERE id = '%s'", id);
	REFUSED(env.ci_daemon, "never replaced", "UPDATE nwd.messages SET "
	    "body = '\\x01', purged_at = NULL WHERE id = '%s'", id);

	/* The owner. */
	REFUSED(env.ci_owner, "append-only", "UPDATE nwd.audit_events SET "
	    "reason = 'x' WHERE instance = '%s'", inst);
	REFUSED(env.ci_owner, "append-only", "DELETE FROM nwd.audit_events "
	    "WHERE instance = '%s'", inst);
	REFUSED(env.ci_owner, "append-only", "TRUNCATE nwd.audit_events");
	REFUSED(env.ci_owner, "append-only", "UPDATE nwd.checkpoints SET "
	    "key_id = 'x' WHERE instance = '%s'", inst);
	REFUSED(env.ci_owner, "append-only", "DELETE FROM nwd.checkpoints "
	    "WHERE instance = '%s'", inst);
	REFUSED(env.ci_owner, "append-only", "TRUNCATE nwd.checkpoints");
	REFUSED(env.ci_owner, "only the body and purged_at", "UPDATE "
	    "nwd.messages SET sender = 'x' WHERE id = '%s'", id);
	REFUSED(env.ci_owner, "DELETE refused", "DELETE FROM nwd.messages "
	    "WHERE id = '%s'", id);
	REFUSED(env.ci_owner, "TRUNCATE refused", "TRUNCATE nwd.messages "
	    "CASCADE");

	/* The auditor reads everything and writes nothing. */
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM nwd.%s",
		    tables[i]);
		db_ok(env.ci_auditor, sql);
		REFUSED(env.ci_auditor, "permission denied", "INSERT INTO "
		    "nwd.%s DEFAULT VALUES", tables[i]);
		REFUSED(env.ci_auditor, "permission denied", "DELETE FROM "
		    "nwd.%s", tables[i]);
		REFUSED(env.ci_auditor, "permission denied", "TRUNCATE nwd.%s "
		    "CASCADE", tables[i]);
	}
	REFUSED(env.ci_auditor, "permission denied", "UPDATE nwd.messages SET "
	    "body = NULL WHERE id = '%s'", id);
	REFUSED(env.ci_auditor, "permission denied", "UPDATE nwd.deliveries "
	    "SET state = 'pending' WHERE message_id = '%s'", id);
#undef REFUSED

	/* Everything as it was (but for the purge and the ack). */
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.messages WHERE "
	    "id = $1::uuid AND sender = 'principal:g6' AND subject = 'yp:g6' "
	    "AND body IS NULL AND purged_at IS NOT NULL", id), 1);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.audit_events "
	    "WHERE instance = $1 AND reason IS NULL", inst), 2);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.checkpoints "
	    "WHERE instance = $1 AND key_id = 'k'", inst), 1);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.deliveries "
	    "WHERE message_id = $1::uuid AND state = 'acked'", id), 1);
}

/* ------------------------------------------------------------------------
 * G21: the chain head against the one committed; allocations vouched for
 */

/* The state file's text (a's), read from disk. */
static void
state_text(struct anchor *a, char *out, size_t outlen)
{
	FILE	*fp;
	size_t	 n;

	assert_non_null(fp = fopen(anchor_state_path(a), "r"));
	n = fread(out, 1, outlen - 1, fp);
	out[n] = '\0';
	fclose(fp);
}

static struct anchor *
anchor_ok(const char *inst)
{
	struct anchor	*a;
	char		 dir[PATH_MAX + 32], err[512];

	snprintf(dir, sizeof(dir), "%s/state-test_store", env.tmp);
	if ((a = anchor_open(dir, inst, err, sizeof(err))) == NULL)
		fail_msg("anchor_open: %s", err);
	return a;
}

/* As the superuser, with the triggers off (an attacker's tampering). */
static void
db_tamper(const char *sql, const char *param)
{
	PGconn		*c;
	PGresult	*res;
	const char	*params[1] = { param };
	char		 err[512];
	int		 ok;

	c = PQconnectdb(env.ci_super);
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(err, sizeof(err), "%s", PQerrorMessage(c));
		PQfinish(c);
		fail_msg("connect: %s", err);
	}
	PQclear(PQexec(c, "SET session_replication_role = replica"));
	res = PQexecParams(c, sql, param != NULL ? 1 : 0, NULL, params, NULL,
	    NULL, 0);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK;
	snprintf(err, sizeof(err), "%s", PQresultErrorMessage(res));
	PQclear(res);
	PQfinish(c);
	if (!ok)
		fail_msg("%s: %s", sql, err);
}

/* Ends the store's backend; the store connects again. */
static void
kill_store_backend(void)
{
	db_ok(env.ci_super, "SELECT pg_terminate_backend(pid) FROM "
	    "pg_stat_activity WHERE application_name = 'nwdd' AND "
	    "usename = 'nwd_daemon'");
}

static int
cond_refused(struct tctx *t, const void *arg)
{
	const char	*why = store_refusal(t->store);

	return why != NULL && strstr(why, (const char *)arg) != NULL;
}

/*
 * 29. With a state file, the store writes the committed head outside the
 * database; at a connect it refuses a database whose head is another (a
 * row added by another writer, its own last row removed), says why
 * (event=chain_refused, store_refusal()) and serves again by itself once
 * the database is put back.
 */
static void
test_anchored_head(void **state)
{
	struct tctx		*t = *state;
	struct done_rec		*r = recs_alloc(t, 3);
	struct anchor		*a;
	const struct anchor_state *st;
	char			 inst[48], text[2 * ANCHOR_SLOT_LEN + 1], *log;
	const size_t		 refusals = 2;
	int			 said;

	ensure_migrated();
	make_tag(inst, sizeof(inst), "anchor");
	a = anchor_ok(inst);
	assert_int_equal(anchor_state(a)->present, 0);
	assert_non_null(t->store = store_new(t->base, env.ci_daemon, inst, 16,
	    1));
	store_set_anchor(t->store, a);
	assert_int_equal(store_start(t->store, on_state, t), 0);
	wait_state(t, STORE_READY, DEADLINE_S);
	assert_int_equal(submit(t, make_batch(NULL, "anchor", 3), &r[0]), 0);
	wait_callbacks(t, 1);
	assert_int_equal(r[0].outcome, STORE_COMMITTED);
	/* The committed head, in memory and on disk. */
	st = anchor_state(a);
	assert_true(st->present);
	assert_int_equal(st->committed.seq, 3);
	assert_int_equal(st->pending.seq, 0);
	state_text(a, text, sizeof(text));
	assert_non_null(strstr(text, " seq=3 hash="));
	assert_non_null(strstr(text, " pending_seq=0 "));
	store_free(t->store);
	t->store = NULL;

	/* While it is down, another writer extends the chain. */
	db_ok1(env.ci_owner, "INSERT INTO nwd.audit_events (instance, at, "
	    "action, seq, prev_hash, hash) SELECT instance, '2024-01-01', "
	    "'ack', 4, hash, sha256('another writer') FROM nwd.audit_events "
	    "WHERE instance = $1 AND seq = 3", inst);
	memset(t->nstate, 0, sizeof(t->nstate));
	capture_start(t);
	assert_non_null(t->store = store_new(t->base, env.ci_daemon, inst, 16,
	    1));
	store_set_anchor(t->store, a);
	assert_int_equal(store_start(t->store, on_state, t), 0);
	run_until(t, cond_disconnects, &refusals, DEADLINE_S, "refusals");
	log = capture_stop(t);
	said = count_str(log, "event=chain_refused") >= 1 &&
	    strstr(log, "runs to seq 4 but nwdd committed (state file) seq "
	    "3: rows were added by another writer") != NULL;
	free(log);
	assert_true(said);
	assert_int_equal(t->nstate[STORE_READY], 0);
	assert_non_null(store_refusal(t->store));
	assert_non_null(strstr(store_refusal(t->store), "another writer"));

	/* Put back: it serves by itself, and continues its own chain. */
	db_tamper("DELETE FROM nwd.audit_events WHERE instance = $1 AND "
	    "seq = 4", inst);
	wait_state(t, STORE_READY, DEADLINE_S);
	assert_null(store_refusal(t->store));
	assert_int_equal(store_chain_head(t->store), 3);
	assert_int_equal(submit(t, make_batch(NULL, "anchor", 1), &r[1]), 0);
	wait_callbacks(t, 2);
	assert_int_equal(r[1].outcome, STORE_COMMITTED);
	assert_int_equal(anchor_state(a)->committed.seq, 4);

	/* Its own last row taken away (a rollback), noticed at a reconnect. */
	db_tamper("DELETE FROM nwd.audit_events WHERE instance = $1 AND "
	    "seq = 4", inst);
	kill_store_backend();
	run_until(t, cond_refused, "ends at seq 3 but nwdd committed (state "
	    "file) seq 4", DEADLINE_S, "the rollback refused");
	assert_int_not_equal(store_get_state(t->store), STORE_READY);
	store_free(t->store);
	t->store = NULL;
	anchor_free(a);
}

/*
 * 30. The state file records a transaction's last row, on disk, before
 * the transaction reaches the server; one whose COMMIT answer was lost is
 * found at the reconnect with the state file agreeing.
 */
static void
test_anchor_intent(void **state)
{
	struct tctx	*t = *state;
	struct done_rec	*r = recs_alloc(t, 3);
	struct anchor	*a;
	struct proxy	*p;
	char		 ci[256], inst[48], id[37];
	char		 text[2 * ANCHOR_SLOT_LEN + 1];
	uint8_t		 body[4] = { 1, 2, 3, 4 };

	ensure_migrated();
	make_tag(inst, sizeof(inst), "intent");
	a = anchor_ok(inst);
	p = proxy_new(t, ci, sizeof(ci));
	assert_non_null(t->store = store_new(t->base, ci, inst, 16, 1));
	store_set_anchor(t->store, a);
	assert_int_equal(store_start(t->store, on_state, t), 0);
	wait_state(t, STORE_READY, DEADLINE_S);
	assert_int_equal(submit(t, make_batch(NULL, "intent", 2), &r[0]), 0);
	wait_callbacks(t, 1);
	assert_int_equal(anchor_state(a)->committed.seq, 2);

	/* Held before the server: the state file already names seq 5. */
	p->hold_c2s = 1;
	make_uuid(id);
	assert_int_equal(submit(t, make_body_batch(id, "yp:intent", 1,
	    1700000000000LL, body, sizeof(body), "intent", 3), &r[1]), 0);
	run_until(t, cond_c2s_synced, NULL, DEADLINE_S, "held transaction");
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.audit_events "
	    "WHERE instance = $1", inst), 2);
	state_text(a, text, sizeof(text));
	assert_non_null(strstr(text, " seq=2 hash="));
	assert_non_null(strstr(text, " pending_seq=5 pending_hash="));

	/* Its COMMIT's answer lost: committed, found at the reconnect. */
	p->hold_c2s = 0;
	p->hold_s2c = 1;
	proxy_forward_c2s(p, proxy_held_c2s(p));
	wait_db(t, "SELECT count(*) FROM nwd.audit_events WHERE "
	    "instance = $1", inst, 5);
	proxy_cut_and_pass(p);
	wait_callbacks(t, 2);
	assert_int_equal(r[1].outcome, STORE_COMMITTED);
	wait_state(t, STORE_READY, DEADLINE_S);
	assert_null(store_refusal(t->store));
	assert_int_equal(store_chain_head(t->store), 5);
	assert_int_equal(submit(t, make_batch(NULL, "intent", 1), &r[2]), 0);
	wait_callbacks(t, 3);
	assert_int_equal(r[2].outcome, STORE_COMMITTED);
	assert_int_equal(anchor_state(a)->committed.seq, 6);
	assert_int_equal(verify_chain(inst), 6);
	store_free(t->store);
	t->store = NULL;
	anchor_free(a);
}

/*
 * 31. Without a state file, a reconnect still compares the database's
 * head with the one committed: a removed last row is refused until it is
 * put back.
 */
static void
test_head_in_memory(void **state)
{
	struct tctx	*t = *state;
	struct done_rec	*r = recs_alloc(t, 1);
	char		 inst[48], sql[512];

	ensure_migrated();
	make_tag(inst, sizeof(inst), "memory");
	store_up_on(t, env.ci_daemon, inst, 16);
	assert_int_equal(submit(t, make_batch(NULL, "memory", 2), &r[0]), 0);
	wait_callbacks(t, 1);
	snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS public.saved_%s",
	    inst + 7);
	db_ok(env.ci_super, sql);
	snprintf(sql, sizeof(sql), "CREATE TABLE public.saved_%s AS SELECT * "
	    "FROM nwd.audit_events WHERE instance = $1 AND seq = 2", inst + 7);
	db_ok1(env.ci_super, sql, inst);
	db_tamper("DELETE FROM nwd.audit_events WHERE instance = $1 AND "
	    "seq = 2", inst);
	kill_store_backend();
	run_until(t, cond_refused, "ends at seq 1 but this daemon committed "
	    "seq 2", DEADLINE_S, "the missing row refused");
	snprintf(sql, sizeof(sql), "INSERT INTO nwd.audit_events SELECT * "
	    "FROM public.saved_%s", inst + 7);
	db_tamper(sql, NULL);
	wait_state(t, STORE_READY, DEADLINE_S);
	assert_null(store_refusal(t->store));
	assert_int_equal(verify_chain(inst), 2);
}

static const struct alloc_rec *
arow_of(const struct tctx *t, const char *message_id, size_t nth)
{
	size_t	i;

	for (i = 0; i < t->narows; i++)
		if (strcmp(t->arows[i].message_id, message_id) == 0 &&
		    nth-- == 0)
			return &t->arows[i];
	fail_msg("no allocation row %zu of message %s handed over", nth,
	    message_id);
	return NULL;
}

/* A message batch of kind 14, with a body, its publish row and one
 * allocation of subject to team. */
static struct store_batch *
alloc_batch(const char *id, const char *subject, const char *team,
    int64_t until_ms)
{
	struct store_batch	*b;
	struct alloc_entry	 e;
	struct audit_event	*ev;
	uint8_t			 body[5] = { 9, 8, 7, 0, 5 };

	b = make_body_batch(id, subject, 14, 1700000000000LL, body,
	    sizeof(body), "proof", 1);
	memset(&e, 0, sizeof(e));
	e.subject = subject;
	e.team = team;
	e.worker = "";
	e.from_ms = 1700000000000LL;
	e.until_ms = until_ms;
	assert_int_equal(store_batch_add_allocation(b, &e, id), 0);
	/* A decision row of the message does not carry its hash. */
	ev = make_event(AUDIT_DELIVER, id, "proof");
	assert_int_equal(store_batch_add_event(b, ev), 0);
	return b;
}

/*
 * 32. The publish row carries the message hash (deliver rows do not), and
 * at connect each allocation row is handed over with what vouches for it:
 * one the publish row's hash covers; one added to a published message, or
 * to a message never published, or whose message was edited, is not;
 * one of a publish row from before message hashes comes with its body.
 */
static void
test_alloc_proofs(void **state)
{
	struct tctx		*t = *state;
	struct done_rec		*r = recs_alloc(t, 3);
	const struct alloc_rec	*ar;
	char			 m1[37], m2[37], m3[37], m4[37], subj[48];
	char			 inst[48];

	ensure_migrated();
	make_tag(subj, sizeof(subj), "yp:proof");
	/* "manual-": its chain is tampered with below (test_all_chains). */
	make_tag(inst, sizeof(inst), "manual-proof");
	make_uuid(m1);
	make_uuid(m2);
	make_uuid(m3);
	make_uuid(m4);
	store_up_on(t, env.ci_daemon, inst, 16);
	assert_int_equal(submit(t, alloc_batch(m1, subj, "team-1", 0), &r[0]),
	    0);
	assert_int_equal(submit(t, alloc_batch(m2, subj, "team-2",
	    1800000000000LL), &r[1]), 0);
	assert_int_equal(submit(t, alloc_batch(m4, subj, "team-4", 0), &r[2]),
	    0);
	wait_callbacks(t, 3);
	assert_int_equal(t->nout[STORE_COMMITTED], 3);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.audit_events WHERE "
	    "message_id = $1::uuid AND action = 'publish' AND "
	    "octet_length(message_hash) = 32", m1), 1);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.audit_events WHERE "
	    "message_id = $1::uuid AND action = 'deliver' AND "
	    "message_hash IS NULL", m1), 1);
	assert_int_equal(db_long1("SELECT count(*) FROM nwd.messages WHERE "
	    "id = $1::uuid AND body_sha256 = sha256(body)", m1), 1);
	assert_int_equal(verify_chain(inst), 6);
	store_free(t->store);
	t->store = NULL;

	/* Added to m2; a message (m3) never published; m4 "before 010". */
	db_ok1(env.ci_daemon, "INSERT INTO nwd.allocations (message_id, "
	    "subject, team, instance) SELECT id, subject, 'team-2', 'x' FROM "
	    "nwd.messages WHERE id = $1::uuid", m2);
	db_ok1(env.ci_daemon, "INSERT INTO nwd.messages (id, kind, subject, "
	    "sender, created_at, instance) VALUES ($1::uuid, 14, 'yp:proof', "
	    "'x', now(), 'x')", m3);
	db_ok1(env.ci_daemon, "INSERT INTO nwd.allocations (message_id, "
	    "subject, team, instance) VALUES ($1::uuid, 'yp:proof', 'team-3', "
	    "'x')", m3);
	db_tamper("UPDATE nwd.audit_events SET message_hash = NULL WHERE "
	    "message_id = $1::uuid AND action = 'publish'", m4);

	store_begin(t, 16, 1);
	wait_state(t, STORE_READY, DEADLINE_S);
	ar = arow_of(t, m1, 0);
	assert_int_equal(ar->proof, STORE_ALLOC_VOUCHED);
	assert_string_equal(ar->team, "team-1");
	ar = arow_of(t, m2, 0);
	assert_int_equal(ar->proof, STORE_ALLOC_VOUCHED);
	assert_int_equal(ar->until_ms, 1800000000000LL);
	ar = arow_of(t, m2, 1);
	assert_int_equal(ar->proof, STORE_ALLOC_UNVOUCHED);
	assert_non_null(strstr(ar->why, "not among the allocation rows"));
	ar = arow_of(t, m3, 0);
	assert_int_equal(ar->proof, STORE_ALLOC_UNVOUCHED);
	assert_non_null(strstr(ar->why, "no publish row"));
	ar = arow_of(t, m4, 0);
	assert_int_equal(ar->proof, STORE_ALLOC_LEGACY);
	assert_true(ar->has_body);
	store_free(t->store);
	t->store = NULL;

	/* m1's message edited: nothing vouches for its allocation now. */
	db_tamper("UPDATE nwd.messages SET subject = 'yp:other' WHERE "
	    "id = $1::uuid", m1);
	store_begin(t, 16, 1);
	wait_state(t, STORE_READY, DEADLINE_S);
	ar = arow_of(t, m1, 0);
	assert_int_equal(ar->proof, STORE_ALLOC_UNVOUCHED);
	assert_non_null(strstr(ar->why, "does not match"));
}

/*
 * 33. Last: every chain the store wrote in this run (every instance but
 * the hand-made ones) recomputes from its first row to its last.
 */
static void
test_all_chains(void **state)
{
	PGresult	*res;
	size_t		 i, n, rows = 0;

	ensure_migrated();
	res = db_rows(env.ci_auditor, "SELECT DISTINCT instance FROM "
	    "nwd.audit_events WHERE instance NOT LIKE 'manual-%' ORDER BY 1",
	    0, NULL);
	n = (size_t)PQntuples(res);
	for (i = 0; i < n; i++)
		rows += verify_chain(PQgetvalue(res, (int)i, 0));
	PQclear(res);
	print_message("%zu chains, %zu rows, all verified\n", n, rows);
	assert_true(n >= 5);
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
		cmocka_unit_test_setup_teardown(test_cluster_changes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refused_alone, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sync_commit_off, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_privileges, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reconnect, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hold_outage, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refused_row_alone, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_free_pending, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_doubt_at_close, setup,
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
		cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_lock, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_chain_db_refuses, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_checkpoints, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_subscriptions, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_deliveries, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_query_audit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_query_messages, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_purge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_lost, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_proxy_outcomes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fault_load, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_privileges_new, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_anchored_head, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_anchor_intent, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_head_in_memory, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_alloc_proofs, setup,
		    teardown),
		/* Last: every chain written in this run. */
		cmocka_unit_test_setup_teardown(test_all_chains, setup,
		    teardown),
	};

	/* NWD_TEST_FILTER=test_chain* runs some tests alone (as cmocka
	 * matches them; test_migrate is needed first on a fresh run). */
	if (getenv("NWD_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("NWD_TEST_FILTER"));
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
