/* uuid: random (version 4) UUIDs for message ids. */
#ifndef NWD_UUID_H
#define NWD_UUID_H

#define UUID_STR_LEN	37	/* 36 characters and a NUL */

/* Writes a new random UUID into out; returns 0, or -1 if the kernel's
 * random source failed. */
int	uuid_generate_v4(char out[UUID_STR_LEN]);

#endif
