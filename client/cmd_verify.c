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
 * A publish row that carries a message hash is checked against its message
 * as stored: the cursor reads the message row, its allocation rows, and
 * whether its body hashes to its digest (or, purged, whether its purge is
 * audited).  Allocation and message rows that no publish row records are
 * looked for apart, after the chains.
 *
 * --anchors reads the lines the daemons wrote outside the database (their
 * anchors files, or their logs) and checks them before the chains
 * (verify_core.c); --anchors and --instances say which instances exist,
 * and any other instance in the database is reported.  An instance with
 * rows and no checkpoint at all is reported too: nothing signed vouches
 * for them.
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
	struct cli_strv	 anchors;
	struct cli_strv	 instances;	/* owned names */
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
	{ .name = "anchors", .type = ARGS_LIST, .arg = "FILE",
	  .off = offsetof(struct verify_opts, anchors),
	  .help = "the lines nwdd wrote outside the database: an anchors\n"
	    "file (STATE_DIRECTORY/INSTANCE.anchors) or its log\n"
	    "(journalctl -u nwdd -o cat); repeatable.  The rows they\n"
	    "checkpointed must be in the chain: a rollback or a\n"
	    "truncation is found even if the checkpoints went with it" },
	{ .name = "instances", .type = ARGS_NAMES, .arg = "NAME,...",
	  .off = offsetof(struct verify_opts, instances),
	  .help = "the instances that exist; any other in the database\n"
	    "fails (with --anchors, those it names exist too)" },
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
 * the CHAIN_NFIELDS canonical fields from ROW_F0 on; then, for a row with
 * a message hash, its message: found, the message fields of chain.h after
 * the id, body_ok, purge_ok and its allocation rows. */
enum { R_ID, R_SEQ, R_PREV, R_HASH, R_AT_OK, R_LISTS_OK, ROW_F0,
	R_M_FOUND = ROW_F0 + CHAIN_NFIELDS, R_M_F1,
	R_M_BODY_OK = R_M_F1 + CHAIN_MSG_NFIELDS - 1, R_M_PURGE_OK,
	R_M_ALLOCS, R_NCOLS };
/* A text's bytes as hex, for the allocation rows' encoding. */
#define SQL_HEX(col) "encode(convert_to(" col ", 'UTF8'), 'hex')"
static const char sql_rows[] =
    "SELECT e.id::text AS id_text, e.seq::text AS seq_text, "
    "encode(e.prev_hash, 'hex') AS prev_hex, "
    "encode(e.hash, 'hex') AS hash_hex, "
    SQL_MS_OK("e.at") " AS at_ok, " SQL_LIST_OK("e.fields_shared") " AND "
    SQL_LIST_OK("e.fields_withheld") " AS lists_ok, "
    "e.instance, e.seq::text AS c_seq, (" SQL_MS("e.at") ")::text AS c_at, "
    "e.actor, e.action, "
    "e.message_id::text, e.subject, e.kind::text, e.recipient, "
    "array_to_string(e.fields_shared, ','), "
    "array_to_string(e.fields_withheld, ','), e.rule, e.policy_version, "
    "e.reason, e.peer, e.session, e.route, "
    "encode(e.message_hash, 'hex') AS mh_hex, "
    "m.id IS NOT NULL AS m_found, m.kind::text AS m_kind, "
    "m.subject AS m_subject, m.sender AS m_sender, m.agency AS m_agency, "
    "m.marking::text AS m_marking, m.priority::text AS m_priority, "
    "m.legal_basis::text AS m_legal_basis, "
    "(" SQL_MS("m.created_at") ")::text AS m_created, "
    "m.policy_version AS m_pv, m.instance AS m_instance, "
    "m.key_id AS m_key_id, encode(m.body_sha256, 'hex') AS m_body_sha256, "
    "coalesce(m.body IS NULL OR sha256(m.body) = m.body_sha256, false) "
    "AS m_body_ok, m.body IS NOT NULL OR EXISTS (SELECT 1 FROM "
    "nwd.audit_events p WHERE p.message_id = m.id AND p.action = 'purge') "
    "AS m_purge_ok, "
    "(SELECT string_agg(" SQL_HEX("a.subject") " || ':' || "
    SQL_HEX("a.team") " || ':' || " SQL_HEX("a.worker") " || ':' || "
    "coalesce((" SQL_MS("a.from_at") ")::text, '-') || ':' || "
    "coalesce((" SQL_MS("a.until_at") ")::text, '-'), ';' ORDER BY a.id) "
    "FROM nwd.allocations a WHERE a.message_id = m.id) AS m_allocs "
    "FROM nwd.audit_events e LEFT JOIN nwd.messages m ON "
    "e.message_hash IS NOT NULL AND m.id = e.message_id "
    "WHERE %s ORDER BY e.seq, e.id";

/*
 * Allocation and message rows that no publish row records: written by
 * someone other than a daemon (the chains vouch for the others).  At most
 * STORE_PROBLEMS_MAX + 1.
 */
#define STORE_PROBLEMS_MAX	10
static const char sql_orphans[] =
    "(SELECT 'allocation', a.id::text, a.message_id::text "
    "FROM nwd.allocations a WHERE NOT EXISTS (SELECT 1 FROM "
    "nwd.audit_events e WHERE e.message_id = a.message_id AND "
    "e.action = 'publish') ORDER BY a.id LIMIT 11) "
    "UNION ALL "
    "(SELECT 'message', m.id::text, m.instance FROM nwd.messages m "
    "WHERE NOT EXISTS (SELECT 1 FROM nwd.audit_events e WHERE "
    "e.message_id = m.id AND e.action = 'publish') ORDER BY m.stored_at, "
    "m.id LIMIT 11)";

/* Checkpoint columns.  (No output column may be named like a column of
 * the table: ORDER BY would sort by the output column.) */
enum { C_SEQ, C_HASH, C_AT_MS, C_AT_OK, C_KEY_ID, C_SIG };
static const char sql_checkpoints[] =
    "SELECT seq::text AS seq_text, encode(hash, 'hex') AS hash_hex, "
    "(" SQL_MS("at") ")::text AS at_ms, " SQL_MS_OK("at") " AS at_ok, "
    "key_id, encode(signature, 'hex') AS sig_hex "
    "FROM nwd.checkpoints e WHERE %s ORDER BY e.seq, e.at, e.ctid";

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
	out->msg_read = out->field[CHAIN_F_MESSAGE_HASH] != NULL;
	out->msg_found = cursor_bool(c, R_M_FOUND);
	out->msg_field[CHAIN_M_ID] = out->field[CHAIN_F_MESSAGE_ID];
	for (i = 1; i < CHAIN_MSG_NFIELDS; i++)
		out->msg_field[i] = cursor_value(c, R_M_F1 + i - 1);
	out->msg_body_ok = cursor_bool(c, R_M_BODY_OK);
	out->msg_purge_ok = cursor_bool(c, R_M_PURGE_OK);
	out->msg_allocs = cursor_value(c, R_M_ALLOCS);
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
    const struct verify_anchors *an, struct verify_inst *in)
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
		len = strlen(lit) + 24;
		if ((where = malloc(len)) != NULL)
			snprintf(where, len, "e.instance = %s", lit);
		PQfreemem(lit);
	} else
		where = strdup("e.instance IS NULL");
	if (where == NULL) {
		cli_say("audit verify", "out of memory");
		return -1;
	}
	if (cursor_open(&wc.rows, conn, "nwd_verify_rows", sql_rows,
	    where) == -1 || cursor_open(&wc.cps, conn, "nwd_verify_cps",
	    sql_checkpoints, where) == -1)
		goto out;
	if (verify_walk_anchored(in, kr, verify_anchors_find(an, in->name),
	    &src, err, sizeof(err)) == -1) {
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

/* Everything the report says. */
struct verify_report {
	struct verify_inst	*insts;		/* borrowed */
	size_t			 n;
	const char		*anchors_problem; /* borrowed; NULL: none */
	int			 anchored;	/* --anchors given */
	struct cli_strv		 store;		/* owned: store problems */
	int			 tampered;	/* problems found */
};

static void
report_text(struct verify_report *rp)
{
	const struct verify_inst	*in;
	char				 name[256];
	size_t				 i;

	if (rp->anchors_problem != NULL) {
		rp->tampered++;
		printf("anchors: %s\n", rp->anchors_problem);
	}
	for (i = 0; i < rp->n; i++) {
		in = &rp->insts[i];
		if (in->name == NULL)
			snprintf(name, sizeof(name), "(none)");
		else
			verify_printable(in->name, name, sizeof(name));
		if (in->problem != NULL) {
			rp->tampered++;
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
		if (rp->anchored)
			printf("instance %s: anchored up to seq %" PRId64 "\n",
			    name, in->anchored);
	}
	for (i = 0; i < rp->store.n; i++) {
		rp->tampered++;
		printf("message store: %s\n", rp->store.v[i]);
	}
}

static int
report_json(struct verify_report *rp)
{
	json_object	*o, *arr, *io, *st;
	size_t		 i;
	int		 rc;

	o = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i < rp->n; i++) {
		const struct verify_inst *in = &rp->insts[i];

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
		if (rp->anchored)
			json_object_object_add(io, "anchored_seq",
			    json_object_new_int64(in->anchored));
		if (in->problem != NULL) {
			rp->tampered++;
			json_object_object_add(io, "problem",
			    json_object_new_string(in->problem));
		}
		json_object_array_add(arr, io);
	}
	if (rp->anchors_problem != NULL)
		rp->tampered++;
	rp->tampered += (int)rp->store.n;
	json_object_object_add(o, "intact", json_object_new_boolean(
	    rp->tampered == 0));
	json_object_object_add(o, "instances", arr);
	if (rp->anchors_problem != NULL)
		json_object_object_add(o, "anchors_problem",
		    json_object_new_string(rp->anchors_problem));
	if (rp->store.n > 0) {
		st = json_object_new_array();
		for (i = 0; i < rp->store.n; i++)
			json_object_array_add(st,
			    json_object_new_string(rp->store.v[i]));
		json_object_object_add(o, "store_problems", st);
	}
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

/* 1 if name is among the instances told of (--instances, anchors). */
static int
told_of(const struct verify_opts *o, const struct verify_anchors *an,
    const char *name)
{
	size_t	i;

	if (name == NULL)
		return 0;
	for (i = 0; i < o->instances.n; i++)
		if (strcmp(o->instances.v[i], name) == 0)
			return 1;
	return verify_anchors_find(an, name) != NULL;
}

/* Appends a copy of name (NULL: the rows without one) to *v. */
static int
insts_add(struct verify_inst **v, size_t *n, const char *name)
{
	struct verify_inst	*tmp;

	if ((tmp = reallocarray(*v, *n + 1, sizeof(*tmp))) == NULL)
		return -1;
	*v = tmp;
	memset(&tmp[*n], 0, sizeof(tmp[*n]));
	if (name != NULL && (tmp[*n].name = strdup(name)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

/*
 * The instances to check, into *out (names owned): the one --instance
 * names; else every one the database holds, and those the anchors and
 * --instances name that it does not.
 */
static int
list_instances(PGconn *conn, const struct verify_opts *o,
    const struct verify_anchors *an, struct verify_inst **out, size_t *nout)
{
	PGresult		*res = NULL;
	struct verify_inst	*v = NULL;
	char			 err[512];
	size_t			 n = 0, i, j;
	int			 k;

	if (o->instance != NULL) {
		if (insts_add(&v, &n, o->instance) == -1)
			goto nomem;
		*out = v;
		*nout = n;
		return 0;
	}
	res = PQexec(conn, sql_instances);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		cli_say("audit verify", "reading the audit trail: %s",
		    pq_error(conn, err, sizeof(err)));
		PQclear(res);
		return -1;
	}
	for (k = 0; k < PQntuples(res); k++)
		if (insts_add(&v, &n, PQgetisnull(res, k, 0) ? NULL :
		    PQgetvalue(res, k, 0)) == -1)
			goto nomem;
	PQclear(res);
	res = NULL;
	/* Told of, but without a row or a checkpoint. */
	for (i = 0; i < o->instances.n + (an != NULL ? an->n : 0); i++) {
		const char *name = i < o->instances.n ? o->instances.v[i] :
		    an->inst[i - o->instances.n].name;

		for (j = 0; j < n; j++)
			if (v[j].name != NULL && strcmp(v[j].name, name) == 0)
				break;
		if (j == n && insts_add(&v, &n, name) == -1)
			goto nomem;
	}
	*out = v;
	*nout = n;
	return 0;
 nomem:
	cli_say("audit verify", "out of memory");
	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	PQclear(res);
	return -1;
}

/*
 * What a walk cannot see: an instance nobody was told of, one with rows
 * and no signature at all, one told of without a row.  Returns 0 or -1
 * (out of memory).
 */
static int
judge_instance(const struct verify_opts *o, const struct verify_anchors *an,
    struct verify_inst *in)
{
	int	told = o->instances.n > 0 || (an != NULL && an->n > 0);

	if (told && o->instance == NULL && !told_of(o, an, in->name))
		return verify_set_problem(in, "not an instance that the "
		    "anchors or --instances name: %" PRId64 " row%s written "
		    "under a name no daemon was known to have", in->rows,
		    in->rows == 1 ? "" : "s");
	if (in->problem != NULL)
		return 0;
	if (in->rows == 0 && in->cps == 0 && (o->instance != NULL ||
	    (told && told_of(o, an, in->name))))
		return verify_set_problem(in, "no audit rows and no "
		    "checkpoints");
	if (in->rows > 0 && in->cps == 0)
		return verify_set_problem(in, "%" PRId64 " row%s and no "
		    "checkpoint: no signature vouches for them (a daemon that "
		    "never signed, or an instance invented in the database)",
		    in->rows, in->rows == 1 ? "" : "s");
	return 0;
}

/* Allocation and message rows no publish row records, into rp->store. */
static int
find_orphans(PGconn *conn, struct verify_report *rp)
{
	PGresult	*res;
	char		 err[512], line[512], a[64], b[64];
	int		 i, n;

	res = PQexec(conn, sql_orphans);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		cli_say("audit verify", "reading the message store: %s",
		    pq_error(conn, err, sizeof(err)));
		PQclear(res);
		return -1;
	}
	n = PQntuples(res);
	for (i = 0; i < n && rp->store.n < STORE_PROBLEMS_MAX; i++) {
		verify_printable(PQgetvalue(res, i, 1), a, sizeof(a));
		verify_printable(PQgetvalue(res, i, 2), b, sizeof(b));
		if (strcmp(PQgetvalue(res, i, 0), "allocation") == 0)
			snprintf(line, sizeof(line), "allocation id %s names "
			    "message %s, which no publish row of the audit "
			    "trail records: it was not written by a daemon",
			    a, b);
		else
			snprintf(line, sizeof(line), "message %s (instance %s) "
			    "is in nwd.messages but no publish row of the audit "
			    "trail records it: it was not written by a daemon",
			    a, b);
		if (cli_strv_add(&rp->store, strdup(line)) == -1 ||
		    rp->store.v[rp->store.n - 1] == NULL) {
			PQclear(res);
			cli_say("audit verify", "out of memory");
			return -1;
		}
	}
	if (n > STORE_PROBLEMS_MAX && cli_strv_add(&rp->store,
	    strdup("and more rows that no publish row records")) == -1) {
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

static int
verify_run(const struct verify_opts *o, const struct verify_keyring *kr,
    const struct verify_anchors *an)
{
	PGconn			*conn;
	struct verify_report	 rp;
	size_t			 i;
	int			 rc = VERIFY_EXIT_UNREADABLE;
	const char		*db;

	memset(&rp, 0, sizeof(rp));
	rp.anchored = an != NULL;
	rp.anchors_problem = an != NULL ? an->problem : NULL;
	db = o->db != NULL ? o->db : getenv("NWD_AUDIT_DB");
	if ((conn = db_connect(db != NULL ? db : "")) == NULL)
		return VERIFY_EXIT_UNREADABLE;
	/* One snapshot for every chain and checkpoint; nothing written. */
	if (pq_command(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	    "starting the transaction") == -1)
		goto out;
	if (list_instances(conn, o, an, &rp.insts, &rp.n) == -1)
		goto out;
	for (i = 0; i < rp.n; i++)
		if (verify_instance(conn, kr, an, &rp.insts[i]) == -1 ||
		    judge_instance(o, an, &rp.insts[i]) == -1)
			goto out;
	if (o->instance == NULL && find_orphans(conn, &rp) == -1)
		goto out;
	(void)pq_command(conn, "COMMIT", "ending the transaction");

	if (o->json) {
		if (report_json(&rp) == -1)
			goto out;
	} else {
		report_text(&rp);
		if (rp.n == 0)
			printf("no audit rows and no checkpoints\n");
	}
	if (fflush(stdout) == EOF) {
		cli_say("stdout", "%s", strerror(errno));
		goto out;
	}
	if (rp.tampered > 0 && !o->json)
		cli_say("audit verify", "TAMPERING FOUND in %d of %zu "
		    "instance%s%s%s", rp.tampered - (rp.anchors_problem !=
		    NULL) - (int)rp.store.n, rp.n, rp.n == 1 ? "" : "s",
		    rp.anchors_problem != NULL ? " and in the anchors" : "",
		    rp.store.n > 0 ? " and in the message store" : "");
	rc = rp.tampered > 0 ? VERIFY_EXIT_TAMPERED : VERIFY_EXIT_INTACT;
 out:
	for (i = 0; i < rp.n; i++)
		verify_inst_clear(&rp.insts[i]);
	free(rp.insts);
	cli_strv_clear(&rp.store, 1);
	PQfinish(conn);
	return rc;
}

/*
 * Reads the anchors files into an (the first bad line is its problem).
 * Returns 0, or -1 after saying why a file cannot be read.
 */
static int
read_anchors(const struct verify_opts *o, const struct verify_keyring *kr,
    struct verify_anchors *an)
{
	FILE	*fp;
	char	*line = NULL;
	size_t	 cap = 0, i, lineno = 0;
	ssize_t	 len;
	int	 rc = -1;

	for (i = 0; i < o->anchors.n; i++) {
		if ((fp = fopen(o->anchors.v[i], "r")) == NULL) {
			cli_say("--anchors", "%s: %s", o->anchors.v[i],
			    strerror(errno));
			goto out;
		}
		while ((len = getline(&line, &cap, fp)) != -1) {
			lineno++;
			if (verify_anchors_line(an, kr, line, (size_t)len,
			    lineno) == -1) {
				fclose(fp);
				cli_say("--anchors", "out of memory");
				goto out;
			}
		}
		if (ferror(fp)) {
			cli_say("--anchors", "%s: %s", o->anchors.v[i],
			    strerror(errno));
			fclose(fp);
			goto out;
		}
		fclose(fp);
	}
	if (an->lines == 0) {
		cli_say("--anchors", "no checkpoint or restore line in %s",
		    o->anchors.n == 1 ? o->anchors.v[0] : "the files given");
		goto out;
	}
	verify_anchors_finish(an);
	rc = 0;
 out:
	free(line);
	return rc;
}

static int
verify_cmd_run(struct args *a)
{
	const struct verify_opts *o = a->opts;
	struct verify_keyring	 kr = { NULL, 0 };
	struct verify_anchors	 an;
	char *const		*pubkeys = o->pubkeys.v;
	char			*env;
	char			 err[512];
	size_t			 npubkeys = o->pubkeys.n, i;
	int			 rc;

	memset(&an, 0, sizeof(an));
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
	if (o->anchors.n > 0 && read_anchors(o, &kr, &an) == -1)
		goto out;
	rc = verify_run(o, &kr, o->anchors.n > 0 ? &an : NULL);
 out:
	verify_anchors_clear(&an);
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
	    "[--anchors FILE]... [--instances NAME,...] [--instance NAME] "
	    "[--json]",
	.help = "Reads every instance's audit chain and checkpoints from "
	    "PostgreSQL, in one\nread-only snapshot, recomputes every row's "
	    "hash and checks seq continuity,\nthe prev_hash links, id order "
	    "and every checkpoint's Ed25519 signature and\nhash, and every "
	    "published message against the hash its publish row\nrecords.  "
	    "Prints, per instance, the rows and checkpoints checked and the "
	    "head\nseq, or the first problem: an altered, missing, inserted "
	    "or reordered row,\na tail truncated behind a checkpoint, a "
	    "checkpoint with an invalid\nsignature, an unknown key or a hash "
	    "that is not its row's, an edited\nmessage or allocation, an "
	    "instance with rows but no checkpoint.  With\n--anchors, also a "
	    "rollback or a truncation behind a checkpoint that nwdd\nwrote "
	    "outside the database, and any instance the anchors (or "
	    "--instances)\ndo not name.\n\nOptions:\n",
	.more = "\nExit status: 0 intact, 1 tampering found, 2 usage or an "
	    "unreadable key\nor anchors file, 3 cannot connect to or read the "
	    "database.\n",
	.width = 15,
};
