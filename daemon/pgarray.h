/*
 * pgarray: PostgreSQL array parameters built in memory, so that one
 * statement can insert many rows through unnest().
 *
 * Two forms.  An array in PostgreSQL's binary format (text[], bigint[],
 * smallint[], bytea[]) is read by the server without parsing: no quoting,
 * no decimal numbers, no hex.  A text literal ({"a",NULL,"b\"c"}) carries
 * any element type PostgreSQL reads from text (uuid here), cast in the SQL.
 * Both grow as elements are added; a failed allocation, or an element the
 * array cannot hold, is remembered and reported by pgarray_finish(), so a
 * caller adds everything and checks once.
 */
#ifndef NWD_PGARRAY_H
#define NWD_PGARRAY_H

#include <stddef.h>
#include <stdint.h>

/* Element types of the binary form (PostgreSQL's type oids). */
enum pgarray_type {
	PGARRAY_LITERAL = 0,	/* not binary: a text literal */
	PGARRAY_BYTEA = 17,
	PGARRAY_INT8 = 20,
	PGARRAY_INT2 = 21,
	PGARRAY_TEXT = 25,
};

struct pgarray {
	char		*buf;		/* owned */
	size_t		 len;
	size_t		 cap;
	uint32_t	 n;		/* elements */
	enum pgarray_type type;
	int		 has_null;
	int		 oom;		/* an allocation failed, or a
					   value the array cannot hold */
};

/*
 * Starts an empty array: a text literal (PGARRAY_LITERAL) or an array of
 * type t in binary format.  pgarray_free() releases it.
 */
void		 pgarray_start(struct pgarray *a, enum pgarray_type t);

/* 1 if a is in binary format (libpq's paramFormats), 0 for a literal. */
int		 pgarray_is_binary(const struct pgarray *a);

/* Appends a string (NULL is SQL NULL) to a literal or a PGARRAY_TEXT. */
void		 pgarray_add(struct pgarray *a, const char *v);

/*
 * Appends an integer to a literal (in decimal), a PGARRAY_INT8 or a
 * PGARRAY_INT2 (a value out of smallint's range is refused at finish).
 */
void		 pgarray_add_i64(struct pgarray *a, int64_t v);

/* Appends SQL NULL to any array. */
void		 pgarray_add_null(struct pgarray *a);

/* Appends len bytes (p NULL is SQL NULL) to a PGARRAY_BYTEA. */
void		 pgarray_add_bytes(struct pgarray *a, const void *p, size_t len);

/*
 * Finishes a and returns 0 with the parameter in *value and *len (the
 * length matters for the binary form only), or -1 if memory ran out or the
 * array is too large for one parameter.  The value lives as long as a.
 */
int		 pgarray_finish(struct pgarray *a, const char **value, int *len);

void		 pgarray_free(struct pgarray *a);

#endif
