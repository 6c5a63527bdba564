/*
 * seal: message bodies are encrypted at rest with AES-256-GCM.  The key
 * lives in a file outside the database (a systemd credential in
 * production); each sealed body names the key by its id so keys can
 * rotate: a sealer opens bodies sealed with any key it was given, and
 * seals with the newest.
 *
 * A sealed body is nonce (12 bytes) || ciphertext || tag (16 bytes); the
 * message id is the additional authenticated data, so a body cannot be
 * moved to another message row unnoticed.
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

struct sealer;

/*
 * Loads key files (each 32 random bytes, raw or as 64 hex digits); the
 * first seals, all open.  Refuses a file others can read.  Returns NULL
 * with the file and reason in err.
 */
struct sealer	*sealer_load(const char *const *paths, size_t npaths,
		    char *err, size_t errlen);
void		 sealer_free(struct sealer *s);

/* The id of the sealing key: first 16 hex digits of SHA-256(key). */
const char	*sealer_key_id(const struct sealer *s);

/*
 * Seals len bytes for message_id into a new buffer of len + SEAL_OVERHEAD
 * bytes (caller frees).  Returns NULL if memory or randomness failed.
 */
uint8_t		*seal_body(const struct sealer *s, const char *message_id,
		    const uint8_t *body, size_t len, size_t *outlen);

/*
 * Opens a body sealed with key key_id.  Returns the plaintext (caller
 * frees; *outlen its length), or NULL with the reason in err: unknown key,
 * or a body that fails authentication (tampered, or moved).
 */
uint8_t		*open_body(const struct sealer *s, const char *key_id,
		    const char *message_id, const uint8_t *sealed, size_t len,
		    size_t *outlen, char *err, size_t errlen);

#endif
