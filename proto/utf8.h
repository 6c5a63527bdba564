/*
 * utf8: strict UTF-8 (RFC 3629, Unicode's table of well-formed byte
 * sequences): no overlong forms, no surrogates (U+D800 to U+DFFF), nothing
 * above U+10FFFF.  The checks every string from outside passes, the cut
 * that keeps a shortened string whole, the copy that makes any bytes fit
 * for a log line or an audit row, and the walk over every string field of
 * an unpacked protobuf message.
 *
 * Pure functions: no I/O, no allocation.  A "control character" is one of
 * Unicode's category Cc: U+0000 to U+001F, U+007F and U+0080 to U+009F.
 */
#ifndef NWD_UTF8_H
#define NWD_UTF8_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

/*
 * Returns 1 if the len bytes at s are valid UTF-8, else 0 with the offset
 * of the first byte of the first ill-formed sequence in *bad (bad may be
 * NULL).  NUL bytes are valid (U+0000); utf8_valid_str() stops at the
 * first.
 */
int	 utf8_valid(const char *s, size_t len, size_t *bad);
int	 utf8_valid_str(const char *s, size_t *bad);

/* 1 if the valid UTF-8 string s holds a control character, else 0. */
int	 utf8_has_control(const char *s);

/*
 * The length of the longest prefix of the len bytes at s that is at most
 * max bytes long and does not end inside a character: len itself if len
 * <= max.  For valid UTF-8 the prefix is valid UTF-8.  For other bytes the
 * result is still at most max.
 */
size_t	 utf8_cut(const char *s, size_t len, size_t max);

/*
 * For a text file's contents: returns 1 if the len bytes at text are
 * valid UTF-8, else 0 with the line (from 1) and the column (in bytes,
 * from 1) of the first ill-formed byte in *line and *col, for an error
 * that points at it.
 */
int	 utf8_text_valid(const char *text, size_t len, int *line, int *col);

#define UTF8_KEEP_CONTROLS	0x0	/* copy control characters */
#define UTF8_NO_CONTROLS	0x1	/* replace each with '?' */

/*
 * Copies the len bytes at s into out (outlen bytes, the NUL included,
 * outlen > 0) as valid UTF-8: each ill-formed sequence (each maximal
 * subpart, as Unicode recommends) becomes U+FFFD, and with
 * UTF8_NO_CONTROLS each control character (NUL included) becomes '?'.
 * The copy stops before the first character that does not fit, so it is
 * never cut inside a character.  Returns the bytes written, without the
 * NUL.  s and out must not overlap.
 */
size_t	 utf8_clean(char *out, size_t outlen, const char *s, size_t len,
	    int flags);

/*
 * Finds the first string field of m, nested messages and repeated fields
 * included, whose value is not valid UTF-8.  Messages of the descriptor
 * skip (may be NULL) are not entered.  Returns 1 with the field's path in
 * path ("third_parties[0].name", after what path held on entry, joined by
 * a dot) and the offset of the bad byte in the value in *bad; else 0 with
 * path as it was.  pathlen bounds path (the NUL included).
 */
int	 utf8_find_invalid(const ProtobufCMessage *m,
	    const ProtobufCMessageDescriptor *skip, char *path, size_t pathlen,
	    size_t *bad);

#endif
