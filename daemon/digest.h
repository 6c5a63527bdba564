/* digest: SHA-256 of a buffer as lower-case hex, for content versions. */
#ifndef NWD_DIGEST_H
#define NWD_DIGEST_H

#include <stddef.h>

#define DIGEST_HEX_LEN	64

/* Writes the 64 hex digits and a NUL into out (at least 65 bytes). */
void	digest_sha256_hex(const void *buf, size_t len, char *out);

#endif
