#include <stdint.h>
#include <stdio.h>
#include <sys/random.h>

#include "uuid.h"

/* Sets the version nibble and the RFC 9562 variant, and formats b. */
static void
uuid_format(unsigned char b[16], unsigned version, char out[UUID_STR_LEN])
{
	b[6] = (unsigned char)((b[6] & 0x0f) | (version << 4));
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, UUID_STR_LEN,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
	    b[10], b[11], b[12], b[13], b[14], b[15]);
}

int
uuid_generate_v4(char out[UUID_STR_LEN])
{
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		return -1;
	uuid_format(b, 4, out);
	return 0;
}

int
uuid_generate_v7(int64_t unix_ms, char out[UUID_STR_LEN])
{
	unsigned char	b[16];
	int		i;

	if (unix_ms < 0 || unix_ms > (int64_t)0xffffffffffff)
		return -1;
	if (getrandom(b + 6, sizeof(b) - 6, 0) != sizeof(b) - 6)
		return -1;
	for (i = 5; i >= 0; i--) {
		b[i] = (unsigned char)(unix_ms & 0xff);
		unix_ms >>= 8;
	}
	uuid_format(b, 7, out);
	return 0;
}
