/*
 * frame: the length-prefixed framing of nwd.v1.Frame, shared by the daemon
 * and the clients.
 *
 * On the wire a frame is a 4-byte big-endian length N followed by N bytes of
 * one protobuf nwd.v1.Frame, with 0 < N <= max_frame.
 */
#ifndef NWD_FRAME_H
#define NWD_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "nwd.pb-c.h"

#define FRAME_HEADER_LEN	4
#define FRAME_DEFAULT_MAX	(1024 * 1024)
#define FRAME_PROTOCOL_VERSION	1

/* Returns the payload length announced by a 4-byte header. */
uint32_t	 frame_peek_length(const uint8_t hdr[FRAME_HEADER_LEN]);

/* Returns 1 if n is a legal payload length under max (0 < n <= max). */
int		 frame_length_ok(uint32_t n, uint32_t max);

/*
 * Packs f behind its length prefix into a new buffer that the caller frees
 * with free().  Returns NULL if the packed frame would exceed max bytes or
 * memory runs out; *lenp is then untouched.
 */
uint8_t		*frame_encode(const Nwd__V1__Frame *f, uint32_t max,
		    size_t *lenp);

/*
 * A Deliver frame whose envelope is already packed.  withheld is a
 * comma-separated list of paths ("" or NULL for none); rule and
 * policy_version may be "" or NULL.
 */
struct frame_deliver {
	uint64_t	 subscription_id;
	uint64_t	 delivery_id;
	const uint8_t	*envelope;	/* a packed Envelope */
	size_t		 envelope_len;
	const char	*withheld;
	const char	*rule;
	const char	*policy_version;
};

/*
 * Encodes a Deliver frame (with its length prefix) around the
 * already-packed envelope, without decoding it: the bytes are those
 * frame_encode() makes of the equivalent Frame (request_id 0).  Returns
 * the frame (caller frees) and its length in *lenp, or NULL if it would
 * exceed max bytes or memory ran out.
 */
uint8_t		*frame_encode_deliver(const struct frame_deliver *d,
		    uint32_t max, size_t *lenp);

/*
 * Unpacks one frame payload (without its header).  No more than alloc_cap
 * bytes are allocated while decoding, so a payload that claims a huge
 * repeated field cannot exhaust memory.  A frame that a client sends (a
 * request: not one of the broker's answers, deliveries or goodbye) is
 * refused if a string field outside its envelope is not valid UTF-8, as
 * proto3 requires of strings; err then names it ("subscribe.subjects[1] is
 * not valid UTF-8 (at byte 3)").  An envelope (of a Publish or an Explain)
 * is left to envelope_validate(), whose refusal names the field and is
 * answered and audited as a refused publish.  Returns the frame, which the
 * caller releases with frame_free(), or NULL with a reason in err.
 */
Nwd__V1__Frame	*frame_decode(const uint8_t *payload, size_t len,
		    size_t alloc_cap, char *err, size_t errlen);

/* Frees a frame returned by frame_decode(); NULL is a no-op. */
void		 frame_free(Nwd__V1__Frame *f);

/*
 * Unpacks an Envelope the same way (capped allocation); release it with
 * frame_free_envelope().
 */
Nwd__V1__Envelope *frame_decode_envelope(const uint8_t *buf, size_t len,
		    size_t alloc_cap, char *err, size_t errlen);
void		 frame_free_envelope(Nwd__V1__Envelope *e);

/* Returns the lower-case name of a frame's message case ("publish"). */
const char	*frame_msg_name(const Nwd__V1__Frame *f);

/* Returns the symbolic name of an error code ("ERROR_MALFORMED"). */
const char	*frame_error_code_name(Nwd__V1__ErrorCode code);

#endif
