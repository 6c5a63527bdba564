/*
 * store_anchor: the chain head and checkpoints anchored outside the
 * database (anchor.h): the head the database must hold at every connect,
 * the state file written before each transaction and after its commit,
 * and each checkpoint's line in the anchors file.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anchor.h"
#include "chain.h"
#include "log.h"
#include "store.h"
#include "store_int.h"

/* Describes how the database's head differs from the one expected. */
static void
store_head_differs(const struct store *s, int64_t seq,
    const uint8_t hash[CHAIN_HASH_LEN], const char *expected, char *buf,
    size_t len)
{
	char	want[CHAIN_HEX_LEN], got[CHAIN_HEX_LEN];

	chain_hex(hash, want);
	chain_hex(s->db_head_hash, got);
	if (s->db_head_seq < seq)
		snprintf(buf, len, "the database's audit chain of instance %s "
		    "ends at seq %" PRId64 " but %s seq %" PRId64 " (hash %.16s): "
		    "committed rows are missing (a restored backup, a rollback "
		    "or a truncation)", s->instance, s->db_head_seq, expected,
		    seq, want);
	else if (s->db_head_seq > seq)
		snprintf(buf, len, "the database's audit chain of instance %s "
		    "runs to seq %" PRId64 " but %s seq %" PRId64 ": rows were "
		    "added by another writer", s->instance, s->db_head_seq,
		    expected, seq);
	else
		snprintf(buf, len, "the database's audit chain of instance %s "
		    "ends at seq %" PRId64 " with hash %.16s, but %s that seq "
		    "with hash %.16s: the chain was rewritten or rolled back "
		    "and extended", s->instance, s->db_head_seq, got, expected,
		    want);
}

/* Says why the head is refused, keeps the reason and drops the connection. */
static void
store_refuse(struct store *s, const char *why)
{
	char	buf[1024];

	snprintf(buf, sizeof(buf), "%s", why);
	if (s->refusal == NULL || strcmp(s->refusal, buf) != 0) {
		free(s->refusal);
		s->refusal = strdup(buf);
	}
	log_warnx("event=chain_refused instance=%s reason=\"%s; nwdd refuses "
	    "to serve: put the database back, or accept its head with nwdd "
	    "--accept-restore (see nwdd(8))\"", s->instance, buf);
	store_drop(s, "the database's audit chain head is not the one "
	    "committed");
}

/*
 * Compares the database's chain head (what SETUP read, after resolving a
 * transaction in doubt) with the one committed: the state file's, or the
 * one in memory at a reconnect.  Returns 0 if it may be continued, or -1
 * after refusing it (the connection is dropped).
 */
int
store_head_check(struct store *s)
{
	const struct anchor_state	*st;
	char				 why[768];
	int				 same;

	if (s->anchor != NULL) {
		st = anchor_state(s->anchor);
		if (!st->present && s->db_head_seq == 0)
			goto ok;
		if (!st->present) {
			snprintf(why, sizeof(why), "the state file %s holds no "
			    "chain head (a first start with a new "
			    "state_directory, or the file was lost), but the "
			    "database's audit chain of instance %s runs to seq "
			    "%" PRId64, anchor_state_path(s->anchor),
			    s->instance, s->db_head_seq);
			store_refuse(s, why);
			return -1;
		}
		same = s->db_head_seq == st->committed.seq &&
		    memcmp(s->db_head_hash, st->committed.hash,
		    CHAIN_HASH_LEN) == 0;
		/* The transaction in flight when it stopped, committed. */
		if (!same && st->pending.seq > 0)
			same = s->db_head_seq == st->pending.seq &&
			    memcmp(s->db_head_hash, st->pending.hash,
			    CHAIN_HASH_LEN) == 0;
		if (!same) {
			store_head_differs(s, st->committed.seq,
			    st->committed.hash, "nwdd committed (state file)",
			    why, sizeof(why));
			store_refuse(s, why);
			return -1;
		}
	} else if (s->head_known && (s->db_head_seq != s->head_seq ||
	    memcmp(s->db_head_hash, s->head_hash, CHAIN_HASH_LEN) != 0)) {
		store_head_differs(s, s->head_seq, s->head_hash, "this daemon "
		    "committed", why, sizeof(why));
		store_refuse(s, why);
		return -1;
	}
 ok:
	free(s->refusal);
	s->refusal = NULL;
	return 0;
}

/* Records the committed head in the state file (not synced: the next
 * transaction's intent is). */
void
store_anchor_committed(struct store *s)
{
	struct anchor_head	h;
	char			err[512];

	if (s->anchor == NULL)
		return;
	h.seq = s->head_seq;
	memcpy(h.hash, s->head_hash, sizeof(h.hash));
	if (anchor_save(s->anchor, &h, NULL, 0, err, sizeof(err)) == -1)
		log_warnx("store: %s event=anchor_failed", err);
}

/*
 * Before a transaction with audit rows is sent: the state file says, on
 * disk, that its last row may be the head.  Returns 0, or -1 (logged).
 */
int
store_anchor_intent(struct store *s)
{
	struct anchor_head	c, p;
	char			err[512];

	if (s->anchor == NULL || s->txn_last_seq == 0)
		return 0;
	c.seq = s->head_seq;
	memcpy(c.hash, s->head_hash, sizeof(c.hash));
	p.seq = s->txn_last_seq;
	memcpy(p.hash, s->txn_last_hash, sizeof(p.hash));
	if (anchor_save(s->anchor, &c, &p, 1, err, sizeof(err)) == -1) {
		log_warnx("store: %s; audit rows cannot be written before the "
		    "state file records them event=anchor_failed", err);
		return -1;
	}
	return 0;
}

/* A checkpoint committed: the anchors file and the log get its line. */
void
store_anchor_checkpoint(struct store *s)
{
	struct chain_anchor	an;
	char			line[CHAIN_ANCHOR_LINE_MAX], err[512];

	memset(&an, 0, sizeof(an));
	an.type = CHAIN_ANCHOR_CHECKPOINT;
	snprintf(an.instance, sizeof(an.instance), "%s", s->instance);
	an.seq = s->ckpt_sent;
	memcpy(an.hash, s->ckpt_hash, sizeof(an.hash));
	an.at_ms = s->ckpt_at_ms;
	snprintf(an.key_id, sizeof(an.key_id), "%s",
	    chain_signer_key_id(s->signer));
	memcpy(an.sig, s->ckpt_sig, sizeof(an.sig));
	if (chain_anchor_format(&an, line, sizeof(line)) >= 0)
		log_info("%s", line);
	if (s->anchor != NULL && anchor_append(s->anchor, &an, err,
	    sizeof(err)) == -1)
		log_warnx("store: checkpoint of seq %" PRId64 " not anchored: "
		    "%s event=checkpoint_not_anchored", s->ckpt_sent, err);
}

void
store_chain_head_hash(const struct store *s, uint8_t out[CHAIN_HASH_LEN])
{
	memcpy(out, s->head_hash, CHAIN_HASH_LEN);
}
