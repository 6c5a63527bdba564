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
 * and then, only when it is not NULL, route (a delivery decision's route,
 * since migration 008): rows without one hash as they did before.
 *
 * A checkpoint signs, with the instance's Ed25519 key, the ASCII text
 *
 *     "nwd-checkpoint-v1 <instance> <seq> <hex(hash of row seq)> <at_ms>"
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
#define CHAIN_NFIELDS		17	/* the last is optional: route */

/* The fields of one row in canonical order; NULL pointers are SQL NULL. */
struct chain_row {
	const char	*field[CHAIN_NFIELDS];
};

enum chain_field {
	CHAIN_F_INSTANCE, CHAIN_F_SEQ, CHAIN_F_AT, CHAIN_F_ACTOR,
	CHAIN_F_ACTION, CHAIN_F_MESSAGE_ID, CHAIN_F_SUBJECT, CHAIN_F_KIND,
	CHAIN_F_RECIPIENT, CHAIN_F_FIELDS_SHARED, CHAIN_F_FIELDS_WITHHELD,
	CHAIN_F_RULE, CHAIN_F_POLICY_VERSION, CHAIN_F_REASON, CHAIN_F_PEER,
	CHAIN_F_SESSION, CHAIN_F_ROUTE,
};

/* hash = SHA-256(prev || canonical(row)).  Returns 0, or -1 on failure. */
int	chain_hash(const uint8_t prev[CHAIN_HASH_LEN],
	    const struct chain_row *row, uint8_t out[CHAIN_HASH_LEN]);

/* Lower-case hex of a hash, into out[2 * CHAIN_HASH_LEN + 1]. */
void	chain_hex(const uint8_t hash[CHAIN_HASH_LEN], char *out);

/* The text a checkpoint signs, into out; returns its length or -1. */
int	chain_checkpoint_text(const char *instance, int64_t seq,
	    const uint8_t hash[CHAIN_HASH_LEN], int64_t at_ms, char *out,
	    size_t outlen);

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
