/*
 * seal: message bodies are encrypted at rest with AES-256-GCM.  The key
 * lives in a file outside the database (a systemd credential in
 * production); each sealed body names the key by its id so keys can
 * rotate: a sealer opens bodies sealed with any key it was given, and
 * seals with the newest.
 *
 * A sealed body is nonce (12 bytes) || ciphertext || tag (16 bytes).  Its
 * additional authenticated data binds it to its message row, so that a
 * body cannot be moved to another row, nor the row's subject or kind
 * changed, unnoticed.  Two formats, told apart by the key id recorded in
 * the row:
 *
 *   1  key id "<16 hex digits>": the AAD is the message id (bodies sealed
 *      before migration 010; still opened, never sealed any more)
 *   2  key id "<16 hex digits>/2": the AAD is
 *        "nwd-seal-v2\n" || len(id) || id || len(subject) || subject ||
 *        len(kind) || kind
 *      each length 4 bytes big-endian, id lower-case, kind decimal
 */
#ifndef NWD_SEAL_H
#define NWD_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define SEAL_KEY_LEN	32
#define SEAL_NONCE_LEN	12
#define SEAL_TAG_LEN	16
#define SEAL_OVERHEAD	(SEAL_NONCE_LEN + SEAL_TAG_LEN)
#define SEAL_KEY_ID_LEN	17	/* 16 hex digits and a NUL */
#define SEAL_V2_SUFFIX	"/2"	/* a row's key id for format 2 */
#define SEAL_ROW_KEY_ID_LEN (SEAL_KEY_ID_LEN + 2)

struct sealer;

/* What a body is bound to; borrowed.  subject is required to seal. */
struct seal_aad {
	const char	*message_id;
	const char	*subject;
	int		 kind;		/* Nwd__V1__Kind */
};

/*
 * Loads key files (each 32 random bytes, raw or as 64 hex digits); the
 * first seals, all open.  Refuses a file others can read.  Returns NULL
 * with the file and reason in err.  The sealer keeps a keyed cipher
 * context per key, which every seal_body() and open_body() reuses: one
 * thread at a time may use it.
 */
struct sealer	*sealer_load(const char *const *paths, size_t npaths,
		    char *err, size_t errlen);
void		 sealer_free(struct sealer *s);

/* The id of the sealing key: first 16 hex digits of SHA-256(key). */
const char	*sealer_key_id(const struct sealer *s);

/* The key id a row records for a body seal_body() sealed: "<id>/2". */
const char	*sealer_row_key_id(const struct sealer *s);

/*
 * Seals len bytes for the message aad names (format 2) into a new buffer
 * of len + SEAL_OVERHEAD bytes (caller frees).  Returns NULL if an
 * argument is missing, or memory or randomness failed.
 */
uint8_t		*seal_body(const struct sealer *s,
		    const struct seal_aad *aad, const uint8_t *body, size_t len,
		    size_t *outlen);

/*
 * Opens a body whose row records key id key_id (its key and its format)
 * and the message aad names.  Returns the plaintext (caller frees;
 * *outlen its length), or NULL with the reason in err: unknown key, or a
 * body that fails authentication (tampered, moved to another row, or the
 * row's subject or kind changed).  Format 1 reads only aad->message_id.
 */
uint8_t		*open_body(const struct sealer *s, const char *key_id,
		    const struct seal_aad *aad, const uint8_t *sealed,
		    size_t len, size_t *outlen, char *err, size_t errlen);

#endif
