/* uuid: UUIDs for message ids (version 7, RFC 9562) and transaction marks
 * (version 4). */
#ifndef NWD_UUID_H
#define NWD_UUID_H

#include <stdint.h>

#define UUID_STR_LEN	37	/* 36 characters and a NUL */

/* Writes a new random UUID (version 4) into out; returns 0, or -1 if the
 * kernel's random source failed. */
int	uuid_generate_v4(char out[UUID_STR_LEN]);

/* Writes a new UUID of version 7 into out: unix_ms (milliseconds since the
 * epoch, 0 to 2^48 - 1) in its first 48 bits, then 74 random bits.  Ids made
 * later sort after ids made earlier (to the millisecond), so they go to the
 * right-hand end of a btree index instead of to a random page of it.
 * Returns 0, or -1 if unix_ms is out of range or the kernel's random source
 * failed. */
int	uuid_generate_v7(int64_t unix_ms, char out[UUID_STR_LEN]);

#endif
