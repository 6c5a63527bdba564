/*
 * pgarray: PostgreSQL array parameters (see pgarray.h).
 *
 * Text literal: '{' elements separated by ',' '}', each element quoted
 * with '\' before '"' and '\', NULL unquoted.
 *
 * Binary (array_recv): int32 ndim (1, or 0 for an empty array), int32
 * has-null flag, uint32 element type oid, then per dimension int32 size and
 * int32 lower bound (1), then per element int32 length (-1 for NULL) and
 * its bytes in the type's binary form (text: its bytes; bigint: 8 bytes;
 * smallint: 2 bytes); every integer in network order.
 */
#include <arpa/inet.h>

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgarray.h"

#define PGARRAY_BIN_HEADER	20	/* ndim, flags, oid, size, lbound */
#define PGARRAY_BIN_EMPTY	12	/* ndim 0, flags, oid */

static int
pgarray_reserve(struct pgarray *a, size_t more)
{
	size_t	 cap;
	char	*tmp;

	if (a->oom)
		return -1;
	if (more > SIZE_MAX - a->len) {
		a->oom = 1;
		return -1;
	}
	if (a->len + more <= a->cap)
		return 0;
	cap = a->cap > 0 ? a->cap : 256;
	while (cap < a->len + more) {
		if (cap > SIZE_MAX / 2) {
			a->oom = 1;
			return -1;
		}
		cap *= 2;
	}
	if ((tmp = realloc(a->buf, cap)) == NULL) {
		a->oom = 1;
		return -1;
	}
	a->buf = tmp;
	a->cap = cap;
	return 0;
}

static void
pgarray_put32(struct pgarray *a, uint32_t v)
{
	uint32_t	n = htonl(v);

	if (pgarray_reserve(a, sizeof(n)) == -1)
		return;
	memcpy(a->buf + a->len, &n, sizeof(n));
	a->len += sizeof(n);
}

void
pgarray_start(struct pgarray *a, enum pgarray_type t)
{
	memset(a, 0, sizeof(*a));
	a->type = t;
	if (t == PGARRAY_LITERAL) {
		if (pgarray_reserve(a, 1) == 0)
			a->buf[a->len++] = '{';
		return;
	}
	/* The header is written by pgarray_finish(); room is kept for it. */
	if (pgarray_reserve(a, PGARRAY_BIN_HEADER) == 0)
		a->len = PGARRAY_BIN_HEADER;
}

int
pgarray_is_binary(const struct pgarray *a)
{
	return a->type != PGARRAY_LITERAL;
}

/* One binary element: its length (-1 for NULL) and len bytes of p. */
static void
pgarray_put_elem(struct pgarray *a, const void *p, size_t len)
{
	if (p == NULL) {
		pgarray_put32(a, UINT32_MAX);
		a->has_null = 1;
		a->n++;
		return;
	}
	if (len > INT32_MAX) {
		a->oom = 1;
		return;
	}
	pgarray_put32(a, (uint32_t)len);
	if (pgarray_reserve(a, len) == -1)
		return;
	if (len > 0)
		memcpy(a->buf + a->len, p, len);
	a->len += len;
	a->n++;
}

void
pgarray_add(struct pgarray *a, const char *v)
{
	const char	*c;
	size_t		 need = 1;

	if (pgarray_is_binary(a)) {
		if (a->type != PGARRAY_TEXT)
			a->oom = 1;	/* a caller's mistake: refuse at finish */
		else
			pgarray_put_elem(a, v, v != NULL ? strlen(v) : 0);
		return;
	}
	if (v == NULL) {
		if (pgarray_reserve(a, 5) == -1)
			return;
		if (a->n > 0)
			a->buf[a->len++] = ',';
		memcpy(a->buf + a->len, "NULL", 4);
		a->len += 4;
		a->n++;
		return;
	}
	for (c = v; *c != '\0'; c++)
		need += (*c == '"' || *c == '\\') ? 2 : 1;
	if (pgarray_reserve(a, need + 2) == -1)
		return;
	if (a->n > 0)
		a->buf[a->len++] = ',';
	a->buf[a->len++] = '"';
	for (c = v; *c != '\0'; c++) {
		if (*c == '"' || *c == '\\')
			a->buf[a->len++] = '\\';
		a->buf[a->len++] = *c;
	}
	a->buf[a->len++] = '"';
	a->n++;
}

void
pgarray_add_i64(struct pgarray *a, int64_t v)
{
	char	 num[24];
	uint8_t	 be[8];
	int	 i;

	switch (a->type) {
	case PGARRAY_LITERAL:
		snprintf(num, sizeof(num), "%" PRId64, v);
		pgarray_add(a, num);
		return;
	case PGARRAY_INT8:
		for (i = 0; i < 8; i++)
			be[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
		pgarray_put_elem(a, be, 8);
		return;
	case PGARRAY_INT2:
		if (v < INT16_MIN || v > INT16_MAX) {
			a->oom = 1;
			return;
		}
		be[0] = (uint8_t)((uint16_t)v >> 8);
		be[1] = (uint8_t)((uint16_t)v & 0xff);
		pgarray_put_elem(a, be, 2);
		return;
	default:
		a->oom = 1;
		return;
	}
}

void
pgarray_add_null(struct pgarray *a)
{
	if (pgarray_is_binary(a))
		pgarray_put_elem(a, NULL, 0);
	else
		pgarray_add(a, NULL);
}

void
pgarray_add_bytes(struct pgarray *a, const void *p, size_t len)
{
	if (a->type != PGARRAY_BYTEA) {
		a->oom = 1;
		return;
	}
	pgarray_put_elem(a, p, len);
}

int
pgarray_finish(struct pgarray *a, const char **value, int *len)
{
	uint32_t	hdr[5];
	size_t		i;

	if (a->oom || a->buf == NULL)
		return -1;
	if (pgarray_is_binary(a)) {
		if (a->len > INT_MAX)
			return -1;
		hdr[0] = htonl(a->n > 0 ? 1 : 0);
		hdr[1] = htonl(a->has_null ? 1 : 0);
		hdr[2] = htonl((uint32_t)a->type);
		hdr[3] = htonl(a->n);
		hdr[4] = htonl(1);
		for (i = 0; i < 5; i++)
			memcpy(a->buf + i * 4, &hdr[i], 4);
		*value = a->buf;
		/* An empty array has no dimension: ndim, flags and oid only. */
		*len = a->n > 0 ? (int)a->len : PGARRAY_BIN_EMPTY;
		return 0;
	}
	/* Closed once: a second finish returns the same literal. */
	if (a->len == 0 || a->buf[a->len - 1] != '\0') {
		if (pgarray_reserve(a, 2) == -1)
			return -1;
		a->buf[a->len++] = '}';
		a->buf[a->len++] = '\0';
	}
	if (a->len > INT_MAX)
		return -1;
	*value = a->buf;
	*len = (int)(a->len - 1);
	return 0;
}

void
pgarray_free(struct pgarray *a)
{
	free(a->buf);
	memset(a, 0, sizeof(*a));
}
