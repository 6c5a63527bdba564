#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"

#define UTF8_MAX_DEPTH	32	/* nesting walked; the schema has 4 */

/*
 * Reads one character from the n > 0 bytes at p.  Returns its length with
 * *ok set and the code point in *cp, or, for an ill-formed sequence, the
 * length of its maximal subpart (at least 1) with *ok clear.  The ranges
 * are Unicode's table 3-7 of well-formed byte sequences.
 */
static size_t
step(const unsigned char *p, size_t n, uint32_t *cp, int *ok)
{
	unsigned char	c = p[0], lo = 0x80, hi = 0xbf;
	uint32_t	v;
	size_t		need, i;

	*ok = 0;
	if (c < 0x80) {
		*cp = c;
		*ok = 1;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		v = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;		/* no overlong forms */
		else if (c == 0xed)
			hi = 0x9f;		/* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		v = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;		/* no overlong forms */
		else if (c == 0xf4)
			hi = 0x8f;		/* nothing above U+10FFFF */
	} else
		return 1;	/* a continuation byte, C0, C1, F5 to FF */
	for (i = 1; i <= need; i++) {
		if (i >= n || p[i] < lo || p[i] > hi)
			return i;
		v = v << 6 | (p[i] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	*cp = v;
	*ok = 1;
	return need + 1;
}

static int
is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

int
utf8_valid(const char *s, size_t len, size_t *bad)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 cp;
	size_t			 i = 0, n;
	int			 ok;

	while (i < len) {
		/* ASCII, the common case, a byte at a time. */
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = step(p + i, len - i, &cp, &ok);
		if (!ok) {
			if (bad != NULL)
				*bad = i;
			return 0;
		}
		i += n;
	}
	return 1;
}

int
utf8_valid_str(const char *s, size_t *bad)
{
	return utf8_valid(s, strlen(s), bad);
}

int
utf8_has_control(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = strlen(s), i = 0;
	uint32_t		 cp;
	int			 ok;

	while (i < n) {
		i += step(p + i, n - i, &cp, &ok);
		if (ok && is_control(cp))
			return 1;
	}
	return 0;
}

int
utf8_text_valid(const char *text, size_t len, int *line, int *col)
{
	size_t	bad, i, start = 0;

	if (utf8_valid(text, len, &bad))
		return 1;
	*line = 1;
	for (i = 0; i < bad; i++)
		if (text[i] == '\n') {
			(*line)++;
			start = i + 1;
		}
	*col = (int)(bad - start) + 1;
	return 0;
}

size_t
utf8_cut(const char *s, size_t len, size_t max)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 k;

	if (len <= max)
		return len;
	/* Back to the first byte of the character at max: at most three
	 * continuation bytes precede it in valid UTF-8. */
	for (k = max; k > 0 && max - k < 3 && (p[k] & 0xc0) == 0x80; k--)
		;
	return (p[k] & 0xc0) == 0x80 ? max : k;
}

size_t
utf8_clean(char *out, size_t outlen, const char *s, size_t len, int flags)
{
	static const char	 fffd[] = "\xef\xbf\xbd";
	const unsigned char	*p = (const unsigned char *)s;
	const char		*piece;
	uint32_t		 cp;
	size_t			 i = 0, o = 0, n, plen;
	int			 ok;

	while (i < len) {
		n = step(p + i, len - i, &cp, &ok);
		if (!ok) {
			piece = fffd;
			plen = 3;
		} else if ((flags & UTF8_NO_CONTROLS) && is_control(cp)) {
			piece = "?";
			plen = 1;
		} else {
			piece = s + i;
			plen = n;
		}
		if (o + plen >= outlen)
			break;
		memcpy(out + o, piece, plen);
		o += plen;
		i += n;
	}
	out[o] = '\0';
	return o;
}

/* Appends ".name", "name", ".name[i]" or "name[i]" (i >= 0) to path. */
static void
path_push(char *path, size_t pathlen, size_t len, const char *name,
    long idx)
{
	if (len >= pathlen)
		return;
	if (idx < 0)
		snprintf(path + len, pathlen - len, "%s%s", len > 0 ? "." : "",
		    name);
	else
		snprintf(path + len, pathlen - len, "%s%s[%ld]",
		    len > 0 ? "." : "", name, idx);
}

static int
find_invalid(const ProtobufCMessage *m, const ProtobufCMessageDescriptor *skip,
    char *path, size_t pathlen, size_t *bad, int depth)
{
	const ProtobufCFieldDescriptor	*fd;
	const char			*base = (const char *)m;
	const char			*str;
	const ProtobufCMessage		*sub;
	size_t				 i, j, n, len = strlen(path);

	if (depth > UTF8_MAX_DEPTH)
		return 0;
	for (i = 0; i < m->descriptor->n_fields; i++) {
		fd = &m->descriptor->fields[i];
		if (fd->type != PROTOBUF_C_TYPE_STRING &&
		    fd->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (fd->type == PROTOBUF_C_TYPE_MESSAGE &&
		    fd->descriptor == skip)
			continue;
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)(base + fd->quantifier_offset);
			for (j = 0; j < n; j++) {
				const void *v = (*(void *const *const *)(base +
				    fd->offset))[j];

				path_push(path, pathlen, len, fd->name,
				    (long)j);
				if (fd->type == PROTOBUF_C_TYPE_STRING) {
					str = v;
					if (str != NULL &&
					    !utf8_valid_str(str, bad))
						return 1;
				} else if (v != NULL && find_invalid(v, skip,
				    path, pathlen, bad, depth + 1))
					return 1;
				path[len] = '\0';
			}
			continue;
		}
		/* A member of a oneof counts only when it is the one set. */
		if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + fd->quantifier_offset) != fd->id)
			continue;
		path_push(path, pathlen, len, fd->name, -1);
		if (fd->type == PROTOBUF_C_TYPE_STRING) {
			str = *(const char *const *)(base + fd->offset);
			if (str != NULL && !utf8_valid_str(str, bad))
				return 1;
		} else {
			sub = *(const ProtobufCMessage *const *)(base +
			    fd->offset);
			if (sub != NULL && find_invalid(sub, skip, path,
			    pathlen, bad, depth + 1))
				return 1;
		}
		path[len] = '\0';
	}
	return 0;
}

int
utf8_find_invalid(const ProtobufCMessage *m,
    const ProtobufCMessageDescriptor *skip, char *path, size_t pathlen,
    size_t *bad)
{
	size_t dummy;

	return find_invalid(m, skip, path, pathlen, bad != NULL ? bad : &dummy,
	    0);
}
