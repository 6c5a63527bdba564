/*
 * cmd_verify: "nwd audit verify", the audit trail's verifier.  Reads every
 * instance's hash chain and checkpoints straight from PostgreSQL (libpq,
 * blocking, one read-only REPEATABLE READ transaction, cursors), recomputes
 * every hash with chain.h, checks seq continuity, links and id order, and
 * every checkpoint's Ed25519 signature and hash; names the first problem of
 * each instance.
 *
 * The whole check runs in one READ ONLY, REPEATABLE READ transaction, so
 * the chains and checkpoints are read from one snapshot while the daemons
 * keep appending.  Each instance's rows come through a cursor ordered by
 * (seq, id), its checkpoints through a second cursor ordered by seq; the
 * two are merged as they stream (verify_core.c walks them and decides), so
 * memory does not grow with the trail.  This file is the database side:
 * the queries, the cursors, and the report.
 *
 * The database's representation must be the one the daemon writes, or two
 * different rows could encode to the same canonical bytes: a timestamp
 * with sub-millisecond digits or a field list that does not survive
 * string_to_array(array_to_string(x, ','), ',') is an altered row even
 * though its hash might match.  The queries below report both (at_ok,
 * lists_ok) for verify_core.c to judge.
 */

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>
#include <libpq-fe.h>

#include "chain.h"
#include "cli.h"
#include "commands.h"
#include "verify_core.h"

/* Exit statuses of "nwd audit verify". */
#define VERIFY_EXIT_INTACT	0	/* every chain and checkpoint checks */
#define VERIFY_EXIT_TAMPERED	1	/* a problem was found and named */
#define VERIFY_EXIT_USAGE	2	/* bad options, unreadable key */
#define VERIFY_EXIT_UNREADABLE	3	/* cannot connect, read or check */

struct verify_opts {
	const char	*db;
	struct cli_strv	 pubkeys;
	const char	*instance;
	int		 json;
};

static const struct args_opt verify_options[] = {
	{ .name = "db", .type = ARGS_STRING, .arg = "CONNINFO",
	  .off = offsetof(struct verify_opts, db),
	  .help = "libpq connection string, for a read-only role such as\n"
	    "nwd_auditor (default $NWD_AUDIT_DB, else libpq's defaults)" },
	{ .name = "pubkey", .type = ARGS_LIST, .arg = "FILE",
	  .off = offsetof(struct verify_opts, pubkeys),
	  .help = "an Ed25519 public key (PEM) that signs checkpoints;\n"
	    "repeatable (default $NWD_AUDIT_PUBKEY); a checkpoint whose\n"
	    "key id is none of these fails" },
	{ .name = "instance", .type = ARGS_STRING, .arg = "NAME",
	  .off = offsetof(struct verify_opts, instance),
	  .help = "check this instance only" },
	{ .name = "json", .type = ARGS_FLAG,
	  .off = offsetof(struct verify_opts, json),
	  .help = "print one JSON object instead of text" },
	{ .type = ARGS_END },
};

#define FETCH_ROWS	1000	/* rows per FETCH */

/* Unix milliseconds of a timestamptz, exact once truncated (numeric or
 * double extract() alike); NULL for a non-finite time. */
#define SQL_MS(col) "CASE WHEN isfinite(" col ") THEN (extract(epoch FROM " \
		"date_trunc('milliseconds', " col ")) * 1000)::bigint END"
/* The daemon writes whole milliseconds only. */
#define SQL_MS_OK(col) "coalesce(isfinite(" col ") AND " col " = " \
		"date_trunc('milliseconds', " col "), false)"
/* A field list as the daemon writes it: string_to_array(list, ','). */
#define SQL_LIST_OK(col) "coalesce(" col " IS NULL OR string_to_array(" \
		"array_to_string(" col ", ','), ',') = " col ", false)"

/* Row columns: 0 id, 1 seq, 2 prev_hash, 3 hash, 4 at_ok, 5 lists_ok, then
 * the CHAIN_NFIELDS canonical fields from ROW_F0 on. */
enum { R_ID, R_SEQ, R_PREV, R_HASH, R_AT_OK, R_LISTS_OK, ROW_F0 };
static const char sql_rows[] =
    "SELECT id::text AS id_text, seq::text AS seq_text, "
    "encode(prev_hash, 'hex') AS prev_hex, encode(hash, 'hex') AS hash_hex, "
    SQL_MS_OK("at") " AS at_ok, " SQL_LIST_OK("fields_shared") " AND "
    SQL_LIST_OK("fields_withheld") " AS lists_ok, "
    "instance, seq::text AS c_seq, (" SQL_MS("at") ")::text AS c_at, "
    "actor, action, "
    "message_id::text, subject, kind::text, recipient, "
    "array_to_string(fields_shared, ','), "
    "array_to_string(fields_withheld, ','), rule, policy_version, reason, "
    "peer, session, route "
    "FROM nwd.audit_events WHERE %s ORDER BY seq, id";

/* Checkpoint columns.  (No output column may be named like a column of
 * the table: ORDER BY would sort by the output column.) */
enum { C_SEQ, C_HASH, C_AT_MS, C_AT_OK, C_KEY_ID, C_SIG };
static const char sql_checkpoints[] =
    "SELECT seq::text AS seq_text, encode(hash, 'hex') AS hash_hex, "
    "(" SQL_MS("at") ")::text AS at_ms, " SQL_MS_OK("at") " AS at_ok, "
    "key_id, encode(signature, 'hex') AS sig_hex "
    "FROM nwd.checkpoints WHERE %s ORDER BY seq, at, ctid";

/* Every instance that has rows or checkpoints; NULL sorts last. */
static const char sql_instances[] =
    "SELECT instance FROM nwd.audit_events UNION "
    "SELECT instance FROM nwd.checkpoints ORDER BY 1";

/* A server-side cursor read FETCH_ROWS at a time. */
struct cursor {
	PGconn		*conn;
	const char	*name;
	PGresult	*res;
	int		 row, nrows;
	int		 eof;
};

/* ------------------------------------------------------------------------
 * The database
 */

/* The server's message without its trailing newline. */
static const char *
pq_error(PGconn *conn, char *buf, size_t len)
{
	size_t	n;

	snprintf(buf, len, "%s", PQerrorMessage(conn));
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return buf;
}

/* Runs a command that returns no rows.  0, or -1 after saying why. */
static int
pq_command(PGconn *conn, const char *sql, const char *what)
{
	PGresult	*res;
	char		 err[512];
	int		 ok;

	res = PQexec(conn, sql);
	ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		cli_say("audit verify", "%s: %s", what,
		    pq_error(conn, err, sizeof(err)));
	PQclear(res);
	return ok ? 0 : -1;
}

static int
cursor_open(struct cursor *c, PGconn *conn, const char *name,
    const char *query_fmt, const char *where)
{
	char	*sql;
	size_t	 len;
	int	 rc;

	memset(c, 0, sizeof(*c));
	c->conn = conn;
	c->name = name;
	len = strlen(query_fmt) + strlen(where) + strlen(name) + 64;
	if ((sql = malloc(len)) == NULL) {
		cli_say("audit verify", "out of memory");
		return -1;
	}
	rc = snprintf(sql, len, "DECLARE %s NO SCROLL CURSOR FOR ", name);
	snprintf(sql + rc, len - (size_t)rc, query_fmt, where);
	rc = pq_command(conn, sql, "reading the audit trail");
	free(sql);
	return rc;
}

/*
 * Moves to the next row.  Returns 1 (the row is c->res, c->row), 0 at the
 * end, -1 on an error (said).
 */
static int
cursor_next(struct cursor *c)
{
	char	sql[64], err[512];

	if (c->res != NULL && c->row + 1 < c->nrows) {
		c->row++;
		return 1;
	}
	if (c->eof)
		return 0;
	PQclear(c->res);
	snprintf(sql, sizeof(sql), "FETCH FORWARD %d FROM %s", FETCH_ROWS,
	    c->name);
	c->res = PQexec(c->conn, sql);
	if (c->res == NULL || PQresultStatus(c->res) != PGRES_TUPLES_OK) {
		cli_say("audit verify", "reading the audit trail: %s",
		    pq_error(c->conn, err, sizeof(err)));
		PQclear(c->res);
		c->res = NULL;
		c->eof = 1;
		return -1;
	}
	c->nrows = PQntuples(c->res);
	c->row = 0;
	if (c->nrows < FETCH_ROWS)
		c->eof = 1;
	if (c->nrows == 0) {
		PQclear(c->res);
		c->res = NULL;
		return 0;
	}
	return 1;
}

/* The value of column col of the current row; NULL for SQL NULL. */
static const char *
cursor_value(const struct cursor *c, int col)
{
	if (PQgetisnull(c->res, c->row, col))
		return NULL;
	return PQgetvalue(c->res, c->row, col);
}

static int
cursor_bool(const struct cursor *c, int col)
{
	const char *v = cursor_value(c, col);

	return v != NULL && v[0] == 't';
}

static int
cursor_close(struct cursor *c)
{
	char	sql[64];

	PQclear(c->res);
	c->res = NULL;
	if (c->conn == NULL)
		return 0;
	snprintf(sql, sizeof(sql), "CLOSE %s", c->name);
	return pq_command(c->conn, sql, "closing a cursor");
}

/* ------------------------------------------------------------------------
 * Checking: verify_core.c walks the chain as the two cursors stream it.
 */

/* The cursors of one instance, as a verify_source. */
struct walk_cursors {
	struct cursor	rows;
	struct cursor	cps;
};

static int
source_row(void *arg, struct verify_row *out)
{
	struct walk_cursors	*wc = arg;
	const struct cursor	*c = &wc->rows;
	int			 r, i;

	if ((r = cursor_next(&wc->rows)) != 1)
		return r;
	out->id = cursor_value(c, R_ID);
	out->seq = cursor_value(c, R_SEQ);
	out->prev_hex = cursor_value(c, R_PREV);
	out->hash_hex = cursor_value(c, R_HASH);
	out->at_ok = cursor_bool(c, R_AT_OK);
	out->lists_ok = cursor_bool(c, R_LISTS_OK);
	for (i = 0; i < CHAIN_NFIELDS; i++)
		out->field[i] = cursor_value(c, ROW_F0 + i);
	return 1;
}

static int
source_checkpoint(void *arg, struct verify_checkpoint *out)
{
	struct walk_cursors	*wc = arg;
	const struct cursor	*c = &wc->cps;
	int			 r;

	if ((r = cursor_next(&wc->cps)) != 1)
		return r;
	out->seq = cursor_value(c, C_SEQ);
	out->hash_hex = cursor_value(c, C_HASH);
	out->at_ms = cursor_value(c, C_AT_MS);
	out->at_ok = cursor_bool(c, C_AT_OK);
	out->key_id = cursor_value(c, C_KEY_ID);
	out->sig_hex = cursor_value(c, C_SIG);
	return 1;
}

/*
 * Walks one instance's rows and checkpoints.  Returns 0 (in->problem set
 * if a problem was found) or -1 if the check could not be completed
 * (said).
 */
static int
verify_instance(PGconn *conn, const struct verify_keyring *kr,
    struct verify_inst *in)
{
	struct walk_cursors	 wc;
	struct verify_source	 src = { source_row, source_checkpoint, &wc };
	char			*lit, *where, err[256];
	size_t			 len;
	int			 rc = -1;

	memset(&wc, 0, sizeof(wc));
	if (in->name != NULL) {
		if ((lit = PQescapeLiteral(conn, in->name,
		    strlen(in->name))) == NULL) {
			cli_say("audit verify", "out of memory");
			return -1;
		}
		len = strlen(lit) + 16;
		if ((where = malloc(len)) != NULL)
			snprintf(where, len, "instance = %s", lit);
		PQfreemem(lit);
	} else
		where = strdup("instance IS NULL");
	if (where == NULL) {
		cli_say("audit verify", "out of memory");
		return -1;
	}
	if (cursor_open(&wc.rows, conn, "nwd_verify_rows", sql_rows,
	    where) == -1 || cursor_open(&wc.cps, conn, "nwd_verify_cps",
	    sql_checkpoints, where) == -1)
		goto out;
	if (verify_walk(in, kr, &src, err, sizeof(err)) == -1) {
		if (err[0] != '\0')	/* else the cursor said */
			cli_say("audit verify", "%s", err);
		goto out;
	}
	rc = 0;
 out:
	/* After a failure the transaction is aborted: nothing to close. */
	if (rc == 0 && (cursor_close(&wc.rows) == -1 ||
	    cursor_close(&wc.cps) == -1))
		rc = -1;
	PQclear(wc.rows.res);
	PQclear(wc.cps.res);
	free(where);
	return rc;
}

/* ------------------------------------------------------------------------
 * Reporting
 */

static void
report_text(const struct verify_inst *insts, size_t n, int *tampered)
{
	const struct verify_inst	*in;
	char				 name[256];
	size_t				 i;

	for (i = 0; i < n; i++) {
		in = &insts[i];
		if (in->name == NULL)
			snprintf(name, sizeof(name), "(none)");
		else
			verify_printable(in->name, name, sizeof(name));
		if (in->problem != NULL) {
			(*tampered)++;
			printf("instance %s: %s\n", name, in->problem);
			printf("instance %s: %" PRId64 " row%s and %" PRId64
			    " checkpoint%s sound before it\n", name, in->rows,
			    in->rows == 1 ? "" : "s", in->cps,
			    in->cps == 1 ? "" : "s");
			continue;
		}
		printf("instance %s: intact: %" PRId64 " row%s, %" PRId64
		    " checkpoint%s, head seq %" PRId64, name, in->rows,
		    in->rows == 1 ? "" : "s", in->cps, in->cps == 1 ? "" : "s",
		    in->head);
		if (in->cps == 0)
			printf(" (no checkpoint: no row is signed yet)\n");
		else if (in->last_cp < in->head)
			printf(" (signed up to seq %" PRId64 "; %" PRId64
			    " later row%s not yet)\n", in->last_cp,
			    in->head - in->last_cp,
			    in->head - in->last_cp == 1 ? "" : "s");
		else
			printf(" (signed up to seq %" PRId64 ")\n",
			    in->last_cp);
	}
}

static int
report_json(const struct verify_inst *insts, size_t n, int *tampered)
{
	json_object	*o, *arr, *io;
	size_t		 i;
	int		 rc;

	o = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i < n; i++) {
		const struct verify_inst *in = &insts[i];

		io = json_object_new_object();
		json_object_object_add(io, "instance", in->name != NULL ?
		    json_object_new_string(in->name) : NULL);
		json_object_object_add(io, "intact",
		    json_object_new_boolean(in->problem == NULL));
		json_object_object_add(io, "rows",
		    json_object_new_int64(in->rows));
		json_object_object_add(io, "checkpoints",
		    json_object_new_int64(in->cps));
		json_object_object_add(io, "head_seq",
		    json_object_new_int64(in->head));
		json_object_object_add(io, "signed_seq",
		    json_object_new_int64(in->cps > 0 ? in->last_cp : 0));
		if (in->problem != NULL) {
			(*tampered)++;
			json_object_object_add(io, "problem",
			    json_object_new_string(in->problem));
		}
		json_object_array_add(arr, io);
	}
	json_object_object_add(o, "intact", json_object_new_boolean(
	    *tampered == 0));
	json_object_object_add(o, "instances", arr);
	rc = cli_json_line(o);
	json_object_put(o);
	return rc;
}

/* ------------------------------------------------------------------------
 * The command
 */

static PGconn *
db_connect(const char *conninfo)
{
	const char	*keys[] = { "dbname", "fallback_application_name",
			    "client_encoding", NULL };
	const char	*vals[] = { conninfo, "nwd audit verify", "UTF8",
			    NULL };
	PGconn		*conn;
	char		 err[512];

	conn = PQconnectdbParams(keys, vals, 1);
	if (conn == NULL) {
		cli_say("audit verify", "cannot connect: out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		cli_say("audit verify", "cannot connect to the database: %s",
		    pq_error(conn, err, sizeof(err)));
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

/* The instances to check, into *out (names owned). */
static int
list_instances(PGconn *conn, const struct verify_opts *o,
    struct verify_inst **out, size_t *nout)
{
	PGresult	*res;
	struct verify_inst	*v;
	char		 err[512];
	int		 i, n;

	if (o->instance != NULL) {
		if ((v = calloc(1, sizeof(*v))) == NULL ||
		    (v->name = strdup(o->instance)) == NULL) {
			free(v);
			cli_say("audit verify", "out of memory");
			return -1;
		}
		*out = v;
		*nout = 1;
		return 0;
	}
	res = PQexec(conn, sql_instances);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		cli_say("audit verify", "reading the audit trail: %s",
		    pq_error(conn, err, sizeof(err)));
		PQclear(res);
		return -1;
	}
	n = PQntuples(res);
	if ((v = calloc(n > 0 ? (size_t)n : 1, sizeof(*v))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++)
		if (!PQgetisnull(res, i, 0) &&
		    (v[i].name = strdup(PQgetvalue(res, i, 0))) == NULL)
			goto nomem;
	PQclear(res);
	*out = v;
	*nout = (size_t)n;
	return 0;
 nomem:
	cli_say("audit verify", "out of memory");
	if (v != NULL)
		for (i = 0; i < n; i++)
			free(v[i].name);
	free(v);
	PQclear(res);
	return -1;
}

static int
verify_run(const struct verify_opts *o, const struct verify_keyring *kr)
{
	PGconn		*conn;
	struct verify_inst	*insts = NULL;
	size_t		 ninsts = 0, i;
	int		 tampered = 0, rc = VERIFY_EXIT_UNREADABLE;
	const char	*db;

	db = o->db != NULL ? o->db : getenv("NWD_AUDIT_DB");
	if ((conn = db_connect(db != NULL ? db : "")) == NULL)
		return VERIFY_EXIT_UNREADABLE;
	/* One snapshot for every chain and checkpoint; nothing written. */
	if (pq_command(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	    "starting the transaction") == -1)
		goto out;
	if (list_instances(conn, o, &insts, &ninsts) == -1)
		goto out;
	for (i = 0; i < ninsts; i++)
		if (verify_instance(conn, kr, &insts[i]) == -1)
			goto out;
	if (o->instance != NULL && insts[0].rows == 0 && insts[0].cps == 0 &&
	    insts[0].problem == NULL &&
	    verify_set_problem(&insts[0], "no audit rows and no "
	    "checkpoints") == -1)
		goto out;
	(void)pq_command(conn, "COMMIT", "ending the transaction");

	if (o->json) {
		if (report_json(insts, ninsts, &tampered) == -1)
			goto out;
	} else {
		report_text(insts, ninsts, &tampered);
		if (ninsts == 0)
			printf("no audit rows and no checkpoints\n");
	}
	if (fflush(stdout) == EOF) {
		cli_say("stdout", "%s", strerror(errno));
		goto out;
	}
	if (tampered > 0 && !o->json)
		cli_say("audit verify", "TAMPERING FOUND in %d of %zu "
		    "instance%s", tampered, ninsts, ninsts == 1 ? "" : "s");
	rc = tampered > 0 ? VERIFY_EXIT_TAMPERED : VERIFY_EXIT_INTACT;
 out:
	for (i = 0; i < ninsts; i++)
		verify_inst_clear(&insts[i]);
	free(insts);
	PQfinish(conn);
	return rc;
}

static int
verify_cmd_run(struct args *a)
{
	const struct verify_opts *o = a->opts;
	struct verify_keyring	 kr = { NULL, 0 };
	char *const		*pubkeys = o->pubkeys.v;
	char			*env;
	char			 err[512];
	size_t			 npubkeys = o->pubkeys.n, i;
	int			 rc;

	if (a->argc != 0)
		return args_usage(a, a->name, "unexpected argument \"%s\"",
		    a->argv[0]);
	if (npubkeys == 0) {
		env = getenv("NWD_AUDIT_PUBKEY");
		if (env == NULL || env[0] == '\0')
			return args_usage(a, a->name, "no public key: give "
			    "--pubkey FILE or set NWD_AUDIT_PUBKEY");
		pubkeys = &env;
		npubkeys = 1;
	}
	if ((kr.v = calloc(npubkeys, sizeof(*kr.v))) == NULL) {
		cli_say(a->name, "out of memory");
		return VERIFY_EXIT_UNREADABLE;
	}
	rc = VERIFY_EXIT_USAGE;
	for (i = 0; i < npubkeys; i++) {
		if ((kr.v[kr.n] = chain_verifier_load(pubkeys[i], err,
		    sizeof(err))) == NULL) {
			cli_say("--pubkey", "%s", err);
			goto out;
		}
		kr.n++;
	}
	rc = verify_run(o, &kr);
 out:
	for (i = 0; i < kr.n; i++)
		chain_verifier_free(kr.v[i]);
	free(kr.v);
	return rc;
}

const struct cmd cmd_verify = {
	.name = "audit verify",
	.run = verify_cmd_run,
	.opts = verify_options,
	.optsize = sizeof(struct verify_opts),
	.family = CMD_FAMILY_VERIFY,
	.see = "nwd audit verify --help",
	.synopsis = "audit verify [--db CONNINFO] [--pubkey FILE]... "
	    "[--instance NAME] [--json]",
	.help = "Reads every instance's audit chain and checkpoints from "
	    "PostgreSQL, in one\nread-only snapshot, recomputes every row's "
	    "hash and checks seq continuity,\nthe prev_hash links, id order "
	    "and every checkpoint's Ed25519 signature and\nhash.  Prints, per "
	    "instance, the rows and checkpoints checked and the head\nseq, or "
	    "the first problem: an altered, missing, inserted or reordered "
	    "row,\na tail truncated behind a checkpoint, a checkpoint with an "
	    "invalid\nsignature, an unknown key or a hash that is not its "
	    "row's.\n\nOptions:\n",
	.more = "\nExit status: 0 intact, 1 tampering found, 2 usage or an "
	    "unreadable key,\n3 cannot connect to or read the database.\n",
	.width = 15,
};
