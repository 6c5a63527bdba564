/*
 * chain: the tamper-evident audit trail's arithmetic, shared by the store
 * (which writes the chain) and the verifier (nwd audit verify, which
 * recomputes it).  No I/O but reading the key files named to the loaders.
 *
 * Each daemon instance writes its own chain.  Row seq (1, 2, ...) of an
 * instance carries prev_hash (the hash of row seq-1, or 32 zero bytes for
 * seq 1) and
 *
 *     hash = SHA-256(prev_hash || canonical(row))
 *
 * canonical(row) is the ASCII magic "nwd-audit-v1\n" followed by these
 * fields in this order, each as a 4-byte big-endian length and that many
 * bytes of UTF-8, a NULL field as the length 0xffffffff and no bytes:
 *
 *     instance, seq (decimal), at (unix milliseconds, decimal), actor,
 *     action, message_id (lower-case UUID), subject, kind (decimal, NULL
 *     for none), recipient, fields_shared, fields_withheld (each the
 *     comma-joined list, "" for an empty list), rule, policy_version,
 *     reason, peer, session
 *
 * and then the optional fields, in this order:
 *
 *     route          a delivery decision's route (since migration 008)
 *     message_hash   a publish row's hash of the message as stored
 *                    (chain_message_hash(), lower-case hex; since 010)
 *
 * The encoding ends after the last optional field that is not NULL; one
 * that is NULL before it is written as NULL.  So a row without either
 * hashes as it did before 008, and a row with a route only as it did
 * before 010.
 *
 * The message hash binds the message row to its publish row, and with it
 * to the chain: SHA-256 of the ASCII magic "nwd-message-v1\n" followed by
 * these fields, encoded as above:
 *
 *     id (lower-case UUID), kind, subject, sender, agency, marking,
 *     priority, legal_basis (each enum decimal), created (unix
 *     milliseconds, decimal), policy_version, instance, key_id,
 *     body_sha256 (lower-case hex of SHA-256 of the sealed body, NULL for
 *     none)
 *
 * then, for each allocation row recorded with the message, in the order
 * written, five more: subject, team, worker, from and until (unix
 * milliseconds, NULL for none).  A purge removes the body but not its
 * digest (nwd.messages.body_sha256), so a purged message still hashes.
 *
 * A checkpoint signs, with the instance's Ed25519 key, the ASCII text
 *
 *     "nwd-checkpoint-v1 <instance> <seq> <hex(hash of row seq)> <at_ms>"
 *
 * and is written three times: as a row of nwd.checkpoints, as a line of
 * the daemon's anchors file and as a line of its log (the journal), the
 * last two outside the database and alike:
 *
 *     event=checkpoint instance=I seq=N hash=HEX at=MS key_id=K
 *         signature=HEX
 *
 * An operator's acceptance of a database whose head is not the one the
 * daemon committed (nwdd --accept-restore) is an anchor line too, signing
 * "nwd-restore-v1 <instance> <old_seq> <old_hex> <new_seq> <new_hex>
 * <at_ms>" (old: the head the daemon had committed; new: the database's):
 *
 *     event=restore_accepted instance=I old_seq=N old_hash=HEX new_seq=N
 *         new_hash=HEX at=MS key_id=K signature=HEX
 *
 * On one line each; a value with a space, a quote, a backslash, an '=' or
 * a control character is double-quoted, with \", \\ and \xHH inside.
 *
 * The signing key never enters the database; the verifier holds the
 * public key.
 */
#ifndef NWD_CHAIN_H
#define NWD_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#define CHAIN_HASH_LEN		32
#define CHAIN_SIG_LEN		64
#define CHAIN_NFIELDS		18	/* the last two are optional */
/* Hex of a hash, with its NUL. */
#define CHAIN_HEX_LEN		(2 * CHAIN_HASH_LEN + 1)

/* The fields of one row in canonical order; NULL pointers are SQL NULL. */
struct chain_row {
	const char	*field[CHAIN_NFIELDS];
};

enum chain_field {
	CHAIN_F_INSTANCE, CHAIN_F_SEQ, CHAIN_F_AT, CHAIN_F_ACTOR,
	CHAIN_F_ACTION, CHAIN_F_MESSAGE_ID, CHAIN_F_SUBJECT, CHAIN_F_KIND,
	CHAIN_F_RECIPIENT, CHAIN_F_FIELDS_SHARED, CHAIN_F_FIELDS_WITHHELD,
	CHAIN_F_RULE, CHAIN_F_POLICY_VERSION, CHAIN_F_REASON, CHAIN_F_PEER,
	CHAIN_F_SESSION, CHAIN_F_ROUTE, CHAIN_F_MESSAGE_HASH,
};

/* The fields of a message row in canonical order (see above). */
#define CHAIN_MSG_NFIELDS	13
#define CHAIN_ALLOC_NFIELDS	5

enum chain_msg_field {
	CHAIN_M_ID, CHAIN_M_KIND, CHAIN_M_SUBJECT, CHAIN_M_SENDER,
	CHAIN_M_AGENCY, CHAIN_M_MARKING, CHAIN_M_PRIORITY, CHAIN_M_LEGAL_BASIS,
	CHAIN_M_CREATED, CHAIN_M_POLICY_VERSION, CHAIN_M_INSTANCE,
	CHAIN_M_KEY_ID, CHAIN_M_BODY_SHA256,
};

enum chain_alloc_field {
	CHAIN_A_SUBJECT, CHAIN_A_TEAM, CHAIN_A_WORKER, CHAIN_A_FROM,
	CHAIN_A_UNTIL,
};

/* A message row and its allocation rows; NULL pointers are SQL NULL. */
struct chain_message {
	const char	*field[CHAIN_MSG_NFIELDS];
	/* nalloc groups of CHAIN_ALLOC_NFIELDS fields */
	const char	*(*alloc)[CHAIN_ALLOC_NFIELDS];
	size_t		 nalloc;
};

/* hash = SHA-256(prev || canonical(row)).  Returns 0, or -1 on failure. */
int	chain_hash(const uint8_t prev[CHAIN_HASH_LEN],
	    const struct chain_row *row, uint8_t out[CHAIN_HASH_LEN]);

/*
 * SHA-256 set up once, for chain_hash_with() over many rows: the same
 * hashes as chain_hash(), without fetching the digest and making a
 * context for each row.  One thread at a time uses a hasher.
 * chain_hasher_new() returns NULL if OpenSSL or memory fails;
 * chain_hasher_free(NULL) is a no-op.
 */
struct chain_hasher;
struct chain_hasher	*chain_hasher_new(void);
void			 chain_hasher_free(struct chain_hasher *h);
int			 chain_hash_with(struct chain_hasher *h,
			    const uint8_t prev[CHAIN_HASH_LEN],
			    const struct chain_row *row,
			    uint8_t out[CHAIN_HASH_LEN]);

/* Lower-case hex of a hash, into out[2 * CHAIN_HASH_LEN + 1]. */
void	chain_hex(const uint8_t hash[CHAIN_HASH_LEN], char *out);

/* Parses exactly 2 * n hex digits into out; returns 0 or -1. */
int	chain_unhex(const char *hex, uint8_t *out, size_t n);

/* SHA-256 of len bytes, as lower-case hex into out[CHAIN_HEX_LEN]. */
int	chain_sha256_hex(const void *buf, size_t len, char *out);

/* The message hash of m (see above).  Returns 0, or -1 on failure. */
int	chain_message_hash(const struct chain_message *m,
	    uint8_t out[CHAIN_HASH_LEN]);

/* The text a checkpoint signs, into out; returns its length or -1. */
int	chain_checkpoint_text(const char *instance, int64_t seq,
	    const uint8_t hash[CHAIN_HASH_LEN], int64_t at_ms, char *out,
	    size_t outlen);

/* The text an accepted restore signs, into out; its length or -1. */
int	chain_restore_text(const char *instance, int64_t old_seq,
	    const uint8_t old_hash[CHAIN_HASH_LEN], int64_t new_seq,
	    const uint8_t new_hash[CHAIN_HASH_LEN], int64_t at_ms, char *out,
	    size_t outlen);

#define CHAIN_ANCHOR_INSTANCE_MAX 255	/* bytes of an anchored instance */
#define CHAIN_ANCHOR_LINE_MAX	2048	/* the longest line and NUL */
#define CHAIN_KEY_ID_MAX	17	/* 16 hex digits and a NUL */

enum chain_anchor_type {
	CHAIN_ANCHOR_CHECKPOINT,	/* event=checkpoint */
	CHAIN_ANCHOR_RESTORE,		/* event=restore_accepted */
};

/*
 * One anchor line.  For a checkpoint, seq and hash name the row signed;
 * for an accepted restore, seq and hash are the database's head that was
 * accepted and old_seq, old_hash the head the daemon had committed.
 */
struct chain_anchor {
	enum chain_anchor_type	 type;
	char			 instance[CHAIN_ANCHOR_INSTANCE_MAX + 1];
	int64_t			 seq;
	uint8_t			 hash[CHAIN_HASH_LEN];
	int64_t			 old_seq;
	uint8_t			 old_hash[CHAIN_HASH_LEN];
	int64_t			 at_ms;
	char			 key_id[CHAIN_KEY_ID_MAX];
	uint8_t			 sig[CHAIN_SIG_LEN];
};

/*
 * The line of a (the text after "event=..." up to, without, the newline)
 * into out.  Returns its length, or -1 if it does not fit or a is not
 * well formed (an instance too long or with a NUL, a key id too long).
 */
int	chain_anchor_format(const struct chain_anchor *a, char *out,
	    size_t outlen);

/*
 * Reads an anchor from a line of len bytes (an anchors file's line, or a
 * log line: whatever precedes "event=" is skipped).  Returns 1 with *a
 * filled, 0 if the line holds no "event=checkpoint" or
 * "event=restore_accepted", -1 if it does but is malformed (the reason in
 * err).  Pure: the caller checks the signature (chain_anchor_text()).
 */
int	chain_anchor_parse(const char *line, size_t len,
	    struct chain_anchor *a, char *err, size_t errlen);

/* The text a's signature covers, into out; its length or -1. */
int	chain_anchor_text(const struct chain_anchor *a, char *out,
	    size_t outlen);

/*
 * Appends value v to the line in out (of outlen bytes, holding a string)
 * as an anchor line writes it: as it is, or double-quoted.  Returns 0, or
 * -1 if it does not fit (out is then unchanged).
 */
int	chain_put_value(char *out, size_t outlen, const char *v);

/*
 * The next "key=value" of a line, from *p up to end: key and value (a
 * quoted one unquoted) into the buffers, *p moved past it.  Returns 1,
 * 0 at the end of the line, -1 if malformed or too long.
 */
int	chain_next_pair(const char **p, const char *end, char *key,
	    size_t keylen, char *val, size_t vallen);

struct chain_signer;
struct chain_verifier;

/*
 * Loads an Ed25519 private key (PEM) for signing checkpoints.  Returns
 * NULL with the file and reason in err.  key_id is the first 16 hex
 * digits of the SHA-256 of the raw public key.
 */
struct chain_signer *chain_signer_load(const char *path, char *err,
	    size_t errlen);
const char	*chain_signer_key_id(const struct chain_signer *s);
int		 chain_sign(const struct chain_signer *s, const char *text,
		    size_t len, uint8_t sig[CHAIN_SIG_LEN]);
void		 chain_signer_free(struct chain_signer *s);

/* Loads an Ed25519 public key (PEM) for checking checkpoints. */
struct chain_verifier *chain_verifier_load(const char *path, char *err,
	    size_t errlen);
const char	*chain_verifier_key_id(const struct chain_verifier *v);
/* Returns 1 if sig is a valid signature of text, else 0. */
int		 chain_verify(const struct chain_verifier *v, const char *text,
		    size_t len, const uint8_t sig[CHAIN_SIG_LEN]);
void		 chain_verifier_free(struct chain_verifier *v);

#endif
