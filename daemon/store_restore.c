/*
 * store_restore: nwdd --accept-restore (store.h), on a blocking libpq
 * connection of its own, run by an operator while no nwdd of the instance
 * runs.
 *
 * The steps, in an order that a crash at any point leaves safe:
 *
 *  1. the instance's lock, then the database's chain head;
 *  2. the signed restore_accepted line appended to the anchors file (and
 *     logged): from then on nwd audit verify --anchors knows that the
 *     checkpoints past the accepted head were given up;
 *  3. the state file records, on disk, the row about to be written as
 *     the pending head;
 *  4. one transaction: the restore_accepted audit row at the head, and a
 *     signed checkpoint of it;
 *  5. the checkpoint's line appended to the anchors file (and logged),
 *     and the state file records the new row as committed.
 *
 * A crash after 3 leaves a state file that accepts either the old head
 * (nothing was written: run it again) or the new row.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "anchor.h"
#include "audit.h"
#include "chain.h"
#include "clock.h"
#include "log.h"
#include "store.h"
#include "store_int.h"
#include "store_sql.h"

/* Runs sql with params (bytea ones binary); returns the result or NULL. */
static PGresult *
restore_exec(PGconn *c, const char *sql, int n, const char *const *v,
    const int *len, const int *fmt, ExecStatusType want, const char *what,
    char *msg, size_t msglen)
{
	PGresult	*res;
	char		 err[512];
	size_t		 k;

	res = PQexecParams(c, sql, n, NULL, v, len, fmt, 0);
	if (res != NULL && PQresultStatus(res) == want)
		return res;
	snprintf(err, sizeof(err), "%s", res != NULL ?
	    PQresultErrorMessage(res) : PQerrorMessage(c));
	for (k = strlen(err); k > 0 && (err[k - 1] == '\n' ||
	    err[k - 1] == ' '); k--)
		err[k - 1] = '\0';
	snprintf(msg, msglen, "%s: %s", what, err);
	PQclear(res);
	return NULL;
}

/* The text of a head for a reason: "seq N (hash 0123...)". */
static void
restore_head_text(const struct anchor_head *h, char *buf, size_t len)
{
	char	hex[CHAIN_HEX_LEN];

	if (h->seq == 0) {
		snprintf(buf, len, "no row");
		return;
	}
	chain_hex(h->hash, hex);
	snprintf(buf, len, "seq %" PRId64 " (hash %.16s)", h->seq, hex);
}

/* Appends an anchor line and logs it. */
static int
restore_anchor(struct anchor *a, const struct chain_anchor *an, char *msg,
    size_t msglen)
{
	char	line[CHAIN_ANCHOR_LINE_MAX], err[512];

	if (anchor_append(a, an, err, sizeof(err)) == -1) {
		snprintf(msg, msglen, "%s", err);
		return -1;
	}
	if (chain_anchor_format(an, line, sizeof(line)) >= 0)
		log_info("%s", line);
	return 0;
}

int
store_accept_restore(const char *conninfo, const char *instance,
    const struct chain_signer *signer, struct anchor *a, const char *actor,
    char *msg, size_t msglen)
{
	const char	*keys[] = { "dbname", "fallback_application_name",
			    "client_encoding", NULL };
	const char	*vals[] = { conninfo, "nwdd --accept-restore", "UTF8",
			    NULL };
	const struct anchor_state	*st = anchor_state(a);
	struct anchor_head	 old, db, row;
	struct chain_anchor	 ra, ca;
	struct audit_event	*ev = NULL;
	struct store_row	 r;
	PGconn			*c;
	PGresult		*res = NULL;
	const char		*v[STORE_EVENT_NPARAMS];
	int			 len[STORE_EVENT_NPARAMS];
	int			 fmt[STORE_EVENT_NPARAMS];
	char			 text[1024], oldt[96], dbt[96], reason[512];
	char			 seq[24], at[24], err[512];
	int			 n, rc = -1, i;

	if (msglen > 0)
		msg[0] = '\0';
	if (conninfo == NULL || instance == NULL || signer == NULL ||
	    a == NULL) {
		snprintf(msg, msglen, "missing argument");
		return -1;
	}
	c = PQconnectdbParams(keys, vals, 1);
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		snprintf(msg, msglen, "cannot connect to the database: %s",
		    c != NULL ? PQerrorMessage(c) : "out of memory");
		goto out;
	}

	/* 1. The lock: no nwdd of the instance may be writing. */
	v[0] = instance;
	if ((res = restore_exec(c, store_sql_lock, 1, v, NULL, NULL,
	    PGRES_TUPLES_OK, "taking the instance lock", msg,
	    msglen)) == NULL)
		goto out;
	if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		snprintf(msg, msglen, "instance %s is locked by another "
		    "database session: stop the nwdd serving it first",
		    instance);
		goto out;
	}
	PQclear(res);
	if ((res = restore_exec(c, store_sql_head, 1, v, NULL, NULL,
	    PGRES_TUPLES_OK, "reading the chain head", msg,
	    msglen)) == NULL)
		goto out;
	memset(&db, 0, sizeof(db));
	if (PQntuples(res) == 1 && (store_parse_i64(PQgetvalue(res, 0, 0),
	    &db.seq) == -1 || chain_unhex(PQgetvalue(res, 0, 1), db.hash,
	    CHAIN_HASH_LEN) == -1)) {
		snprintf(msg, msglen, "reading the chain head: unexpected "
		    "result");
		goto out;
	}
	PQclear(res);
	res = NULL;

	memset(&old, 0, sizeof(old));
	if (st->present)
		old = st->committed;
	restore_head_text(&old, oldt, sizeof(oldt));
	restore_head_text(&db, dbt, sizeof(dbt));
	if (st->present && ((db.seq == old.seq && memcmp(db.hash, old.hash,
	    CHAIN_HASH_LEN) == 0) || (st->pending.seq > 0 &&
	    db.seq == st->pending.seq && memcmp(db.hash, st->pending.hash,
	    CHAIN_HASH_LEN) == 0))) {
		snprintf(msg, msglen, "nothing to accept: the database's audit "
		    "chain of instance %s ends at %s, as nwdd committed",
		    instance, dbt);
		rc = 0;
		goto out;
	}

	/* 2. The signed acceptance, outside the database first. */
	memset(&ra, 0, sizeof(ra));
	ra.type = CHAIN_ANCHOR_RESTORE;
	snprintf(ra.instance, sizeof(ra.instance), "%s", instance);
	ra.seq = db.seq;
	memcpy(ra.hash, db.hash, sizeof(ra.hash));
	ra.old_seq = old.seq;
	memcpy(ra.old_hash, old.hash, sizeof(ra.old_hash));
	ra.at_ms = clock_wall_ms();
	snprintf(ra.key_id, sizeof(ra.key_id), "%s",
	    chain_signer_key_id(signer));
	if ((n = chain_anchor_text(&ra, text, sizeof(text))) < 0 ||
	    chain_sign(signer, text, (size_t)n, ra.sig) == -1) {
		snprintf(msg, msglen, "cannot sign the acceptance");
		goto out;
	}
	if (restore_anchor(a, &ra, msg, msglen) == -1)
		goto out;

	/* 3. The row about to be written, as the pending head. */
	snprintf(reason, sizeof(reason), "restore accepted: nwdd had "
	    "committed %s%s, the database's chain ends at %s; nwdd continues "
	    "from the database's head", oldt, st->present ? "" :
	    " (no state file)", dbt);
	if ((ev = audit_event_new(AUDIT_RESTORE_ACCEPTED, actor)) == NULL ||
	    audit_event_set(ev, AUDIT_F_REASON, reason) == -1) {
		snprintf(msg, msglen, "out of memory");
		goto out;
	}
	row.seq = db.seq + 1;
	store_canon_row(instance, ev, row.seq, NULL, &r);
	if (chain_hash(db.hash, &r.row, row.hash) == -1) {
		snprintf(msg, msglen, "cannot hash the audit row");
		goto out;
	}
	if (anchor_save(a, &old, &row, 1, err, sizeof(err)) == -1) {
		snprintf(msg, msglen, "%s", err);
		goto out;
	}

	/* 4. The row and its checkpoint, in one transaction. */
	if ((res = restore_exec(c, "BEGIN", 0, NULL, NULL, NULL,
	    PGRES_COMMAND_OK, "BEGIN", msg, msglen)) == NULL)
		goto out;
	PQclear(res);
	memset(len, 0, sizeof(len));
	memset(fmt, 0, sizeof(fmt));
	for (i = 0; i < STORE_EVENT_NPARAMS; i++)
		v[i] = NULL;
	snprintf(at, sizeof(at), "%" PRId64, ev->at_ms);
	v[0] = instance;
	v[1] = at;
	v[2] = ev->actor;
	v[3] = audit_action_name(ev->action);
	v[12] = ev->reason;
	v[15] = r.seq;
	v[16] = (const char *)db.hash;
	len[16] = CHAIN_HASH_LEN;
	fmt[16] = 1;
	v[17] = (const char *)row.hash;
	len[17] = CHAIN_HASH_LEN;
	fmt[17] = 1;
	if ((res = restore_exec(c, store_sql_restore_row, STORE_EVENT_NPARAMS,
	    v, len, fmt, PGRES_TUPLES_OK, "writing the restore_accepted row",
	    msg, msglen)) == NULL)
		goto out;
	PQclear(res);
	memset(&ca, 0, sizeof(ca));
	ca.type = CHAIN_ANCHOR_CHECKPOINT;
	snprintf(ca.instance, sizeof(ca.instance), "%s", instance);
	ca.seq = row.seq;
	memcpy(ca.hash, row.hash, sizeof(ca.hash));
	ca.at_ms = clock_wall_ms();
	snprintf(ca.key_id, sizeof(ca.key_id), "%s",
	    chain_signer_key_id(signer));
	if ((n = chain_anchor_text(&ca, text, sizeof(text))) < 0 ||
	    chain_sign(signer, text, (size_t)n, ca.sig) == -1) {
		snprintf(msg, msglen, "cannot sign the checkpoint");
		goto out;
	}
	snprintf(seq, sizeof(seq), "%" PRId64, ca.seq);
	snprintf(at, sizeof(at), "%" PRId64, ca.at_ms);
	memset(len, 0, sizeof(len));
	memset(fmt, 0, sizeof(fmt));
	v[0] = instance;
	v[1] = seq;
	v[2] = (const char *)ca.hash;
	len[2] = CHAIN_HASH_LEN;
	fmt[2] = 1;
	v[3] = at;
	v[4] = ca.key_id;
	v[5] = (const char *)ca.sig;
	len[5] = CHAIN_SIG_LEN;
	fmt[5] = 1;
	if ((res = restore_exec(c, store_sql_ckpt, STORE_CKPT_NPARAMS, v, len,
	    fmt, PGRES_TUPLES_OK, "writing its checkpoint", msg,
	    msglen)) == NULL)
		goto out;
	PQclear(res);
	if ((res = restore_exec(c, "COMMIT", 0, NULL, NULL, NULL,
	    PGRES_COMMAND_OK, "COMMIT", msg, msglen)) == NULL)
		goto out;
	PQclear(res);
	res = NULL;

	/* 5. The checkpoint outside the database, the new head committed. */
	if (restore_anchor(a, &ca, msg, msglen) == -1 ||
	    anchor_save(a, &row, NULL, 1, err, sizeof(err)) == -1) {
		if (msg[0] == '\0')
			snprintf(msg, msglen, "%s", err);
		goto out;
	}
	snprintf(msg, msglen, "restore accepted for instance %s: nwdd had "
	    "committed %s, the database's chain ended at %s; the "
	    "restore_accepted row is seq %" PRId64 ", signed, and the state "
	    "file (%s) and the anchors file (%s) record it", instance, oldt,
	    dbt, row.seq, anchor_state_path(a), anchor_anchors_path(a));
	log_info("event=restore_accepted_row instance=%s seq=%" PRId64
	    " reason=\"%s\"", instance, row.seq, reason);
	rc = 1;
 out:
	PQclear(res);
	audit_event_free(ev);
	PQfinish(c);
	return rc;
}
