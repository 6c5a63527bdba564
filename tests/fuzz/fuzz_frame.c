/*
 * fuzz_frame: the input is a byte stream from a client, read the way
 * daemon/session.c reads it: a 4-byte length checked against max_frame,
 * then one nwd.v1.Frame decoded with the allocation cap the session uses.
 * The envelope of a decoded Publish goes through envelope_validate(), as the
 * broker would put it.  A bad length or a frame that does not decode ends
 * the stream, as it ends the session.
 */
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "frame.h"

#define FUZZ_MAX_FRAME	FRAME_DEFAULT_MAX

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Nwd__V1__Frame		*f;
	const Nwd__V1__Envelope	*env;
	uint32_t		 n;
	char			 err[256];

	while (size >= FRAME_HEADER_LEN) {
		n = frame_peek_length(data);
		if (!frame_length_ok(n, FUZZ_MAX_FRAME))
			break;
		if (size - FRAME_HEADER_LEN < n)
			break;
		data += FRAME_HEADER_LEN;
		size -= FRAME_HEADER_LEN;
		f = frame_decode(data, n, (size_t)FUZZ_MAX_FRAME * 4, err,
		    sizeof(err));
		data += n;
		size -= n;
		if (f == NULL)
			break;
		(void)frame_msg_name(f);
		if (f->msg_case == NWD__V1__FRAME__MSG_PUBLISH &&
		    f->publish != NULL &&
		    (env = f->publish->envelope) != NULL)
			(void)envelope_validate(env, err, sizeof(err));
		frame_free(f);
	}
	return 0;
}
