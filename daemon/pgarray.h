/*
 * pgarray: PostgreSQL array parameters built in memory, so that one
 * statement can insert many rows through unnest().
 *
 * A text array is sent as its text literal ({"a",NULL,"b\"c"}); any
 * element type that PostgreSQL reads from text (bigint, uuid, smallint...)
 * goes through it, cast in the SQL.  A bytea array is sent in PostgreSQL's
 * binary array format, so bytes are never hex-encoded.  Both grow as
 * elements are added; a failed allocation is remembered and reported by
 * pgarray_ok(), so a caller adds everything and checks once.
 */
#ifndef NWD_PGARRAY_H
#define NWD_PGARRAY_H

#include <stddef.h>
#include <stdint.h>

struct pgarray {
	char	*buf;		/* owned */
	size_t	 len;
	size_t	 cap;
	uint32_t n;		/* elements */
	int	 binary;	/* bytea[] in binary format */
	int	 has_null;
	int	 oom;		/* an allocation failed */
};

/* Starts an empty text-literal array; pgarray_free() releases it. */
void		 pgarray_text(struct pgarray *a);

/* Starts an empty bytea array in binary format. */
void		 pgarray_bytea(struct pgarray *a);

/* Appends a string (NULL is SQL NULL) to a text array. */
void		 pgarray_add(struct pgarray *a, const char *v);

/* Appends a decimal integer to a text array. */
void		 pgarray_add_i64(struct pgarray *a, int64_t v);

/* Appends len bytes (p NULL is SQL NULL) to a bytea array. */
void		 pgarray_add_bytes(struct pgarray *a, const void *p, size_t len);

/*
 * Finishes a and returns 0 with the parameter in *value and *len (the
 * length matters for the binary form only), or -1 if memory ran out or the
 * array is too large for one parameter.  The value lives as long as a.
 */
int		 pgarray_finish(struct pgarray *a, const char **value, int *len);

void		 pgarray_free(struct pgarray *a);

#endif
