/*
 * Unit tests for daemon/sessidx.c (sessions by id and by principal) and
 * daemon/pgarray.c (array parameters for multi-row INSERTs).
 *
 * sessidx: against a plain model over thousands of operations (adds,
 * filings, refilings, removals, lookups, counts) so that growth and
 * removal inside chains are exercised; snapshots larger than the caller's
 * array report the full count.
 *
 * pgarray: the exact text literal (quoting of '"' and '\', NULL), and the
 * exact bytes of the binary text[], bigint[], smallint[] and bytea[] forms
 * PostgreSQL's array_recv reads (empty arrays, NULLs, byte order, range
 * and type refusals).  test_store sends them to a real PostgreSQL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pgarray.h"
#include "sessidx.h"

#define NSESS	3000
#define NPRINC	37

struct model {
	int	live;
	int	principal;	/* -1: not filed */
};

static void
principal_name(int p, char *buf, size_t len)
{
	snprintf(buf, len, "principal-%d", p);
}

static void
check_model(const struct sessidx *x, const struct model *m, void **tags)
{
	void	*out[NSESS];
	char	 name[32];
	size_t	 n, want, i, k;
	int	 p;

	for (i = 0; i < NSESS; i++)
		assert_ptr_equal(sessidx_get(x, i + 1), m[i].live ? tags[i] :
		    NULL);
	for (p = 0; p < NPRINC; p++) {
		principal_name(p, name, sizeof(name));
		want = 0;
		for (i = 0; i < NSESS; i++)
			if (m[i].live && m[i].principal == p)
				want++;
		assert_int_equal(sessidx_count(x, name), want);
		n = sessidx_of(x, name, out, NSESS);
		assert_int_equal(n, want);
		for (k = 0; k < n; k++) {
			i = (size_t)((char *)out[k] - (char *)tags[0]);
			assert_true(i < NSESS);
			assert_true(m[i].live);
			assert_int_equal(m[i].principal, p);
		}
	}
}

static void
test_sessidx_model(void **state)
{
	static struct model	 m[NSESS];
	static char		 base[NSESS];
	void			*tags[NSESS];
	struct sessidx		*x;
	char			 name[32];
	unsigned		 seed = 12345;
	size_t			 i, step;
	int			 p;

	(void)state;
	assert_non_null(x = sessidx_new());
	for (i = 0; i < NSESS; i++) {
		tags[i] = &base[i];
		m[i].live = 0;
		m[i].principal = -1;
	}
	for (step = 0; step < 20000; step++) {
		seed = seed * 1103515245 + 12345;
		i = (seed >> 8) % NSESS;
		p = (int)((seed >> 20) % NPRINC);
		principal_name(p, name, sizeof(name));
		switch ((seed >> 4) % 4) {
		case 0:
		case 1:
			if (m[i].live) {
				assert_int_equal(sessidx_add(x, i + 1,
				    tags[i]), -1);	/* no duplicate ids */
				assert_int_equal(sessidx_set_principal(x,
				    i + 1, name), 0);
				m[i].principal = p;
			} else {
				assert_int_equal(sessidx_add(x, i + 1,
				    tags[i]), 0);
				m[i].live = 1;
				m[i].principal = -1;
			}
			break;
		case 2:
			if (!m[i].live) {
				assert_int_equal(sessidx_set_principal(x,
				    i + 1, name), -1);
				break;
			}
			assert_int_equal(sessidx_set_principal(x, i + 1,
			    name), 0);
			m[i].principal = p;
			break;
		default:
			sessidx_del(x, i + 1);	/* unknown ids: no-op */
			m[i].live = 0;
			m[i].principal = -1;
			break;
		}
		if (step % 2500 == 0)
			check_model(x, m, tags);
	}
	check_model(x, m, tags);
	sessidx_free(x);
}

static void
test_sessidx_snapshot_bounded(void **state)
{
	struct sessidx	*x;
	void		*out[4];
	char		 tag[10];
	uint64_t	 id;

	(void)state;
	assert_non_null(x = sessidx_new());
	for (id = 1; id <= 10; id++) {
		assert_int_equal(sessidx_add(x, id, &tag[id - 1]), 0);
		assert_int_equal(sessidx_set_principal(x, id, "hubsys-norwich"),
		    0);
	}
	memset(out, 0, sizeof(out));
	assert_int_equal(sessidx_of(x, "hubsys-norwich", out, 4), 10);
	assert_non_null(out[3]);
	assert_int_equal(sessidx_of(x, "nobody", out, 4), 0);
	/* sessidx_all: every one of them, past the stack's size. */
	{
		void	**all;
		size_t	  n, k, m;
		int	  seen[10] = { 0 };

		assert_non_null(all = sessidx_all(x, "hubsys-norwich", out, 4,
		    &n));
		assert_int_equal(n, 10);
		assert_ptr_not_equal(all, out);
		for (k = 0; k < n; k++) {
			m = (size_t)((char *)all[k] - tag);
			assert_true(m < 10);
			seen[m]++;
		}
		for (k = 0; k < 10; k++)
			assert_int_equal(seen[k], 1);
		sessidx_done(all, out);
		assert_ptr_equal(all = sessidx_all(x, "nobody", out, 4, &n),
		    out);
		assert_int_equal(n, 0);
		sessidx_done(all, out);
	}
	assert_null(sessidx_get(x, 11));
	sessidx_free(x);
	/* NULL index: lookups fail safely. */
	assert_null(sessidx_get(NULL, 1));
	assert_int_equal(sessidx_count(NULL, "x"), 0);
	sessidx_del(NULL, 1);
}

static void
test_pgarray_literal(void **state)
{
	struct pgarray	 a;
	const char	*v;
	int		 len;

	(void)state;
	pgarray_start(&a, PGARRAY_LITERAL);
	pgarray_add(&a, "plain");
	pgarray_add(&a, NULL);
	pgarray_add(&a, "q\"uote\\slash,comma {brace}");
	pgarray_add(&a, "");
	pgarray_add_i64(&a, -42);
	pgarray_add_null(&a);
	assert_int_equal(pgarray_finish(&a, &v, &len), 0);
	assert_string_equal(v, "{\"plain\",NULL,\"q\\\"uote\\\\slash,comma "
	    "{brace}\",\"\",\"-42\",NULL}");
	assert_int_equal(len, (int)strlen(v));
	assert_int_equal(pgarray_is_binary(&a), 0);
	/* A second finish gives the same literal. */
	assert_int_equal(pgarray_finish(&a, &v, &len), 0);
	assert_int_equal(len, (int)strlen(v));
	assert_int_equal(v[len - 1], '}');
	pgarray_free(&a);

	pgarray_start(&a, PGARRAY_LITERAL);
	assert_int_equal(pgarray_finish(&a, &v, &len), 0);
	assert_string_equal(v, "{}");
	pgarray_free(&a);

	/* Bytes into a text literal are refused at finish. */
	pgarray_start(&a, PGARRAY_LITERAL);
	pgarray_add_bytes(&a, "x", 1);
	assert_int_equal(pgarray_finish(&a, &v, &len), -1);
	pgarray_free(&a);
}

static uint32_t
get32(const char *p)
{
	uint32_t	v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

/* The header of a one-dimensional binary array of n elements of oid. */
static void
check_header(const char *v, uint32_t has_null, uint32_t oid, uint32_t n)
{
	assert_int_equal(get32(v), 1);		/* ndim */
	assert_int_equal(get32(v + 4), has_null);
	assert_int_equal(get32(v + 8), oid);
	assert_int_equal(get32(v + 12), n);	/* elements */
	assert_int_equal(get32(v + 16), 1);	/* lower bound */
}

static void
test_pgarray_bytea(void **state)
{
	struct pgarray	 a;
	const char	*v;
	int		 len;

	(void)state;
	pgarray_start(&a, PGARRAY_BYTEA);
	assert_int_equal(pgarray_is_binary(&a), 1);
	pgarray_add_bytes(&a, "\x00\x01\xff", 3);
	pgarray_add_bytes(&a, NULL, 0);
	pgarray_add_bytes(&a, "", 0);
	assert_int_equal(pgarray_finish(&a, &v, &len), 0);
	assert_int_equal(len, 20 + 4 + 3 + 4 + 4);
	check_header(v, 1, 17, 3);
	assert_int_equal(get32(v + 20), 3);
	assert_memory_equal(v + 24, "\x00\x01\xff", 3);
	assert_int_equal(get32(v + 27), UINT32_MAX);	/* NULL */
	assert_int_equal(get32(v + 31), 0);		/* empty */
	pgarray_free(&a);

	/* No NULL: the flag is 0.  Text into bytea: refused. */
	pgarray_start(&a, PGARRAY_BYTEA);
	pgarray_add_bytes(&a, "ab", 2);
	assert_int_equal(pgarray_finish(&a, &v, &len), 0);
	assert_int_equal(get32(v + 4), 0);
	pgarray_add(&a, "text");
	assert_int_equal(pgarray_finish(&a, &v, &len), -1);
	pgarray_free(&a);

	/* No element: no dimension (array_recv's form of '{}'). */
	pgarray_start(&a, PGARRAY_BYTEA);
	assert_int_equal(pgarray_finish(&a, &v, &len), 0);
	assert_int_equal(len, 12);
	assert_int_equal(get32(v), 0);
	assert_int_equal(get32(v + 4), 0);
	assert_int_equal(get32(v + 8), 17);
	pgarray_free(&a);
}

static void
test_pgarray_binary_text_and_integers(void **state)
{
	struct pgarray	 a;
	const char	*v;
	int		 len;

	(void)state;
	/* text[]: each element its bytes, no quoting; NULL is -1. */
	pgarray_start(&a, PGARRAY_TEXT);
	pgarray_add(&a, "q\"uote\\,{}");
	pgarray_add(&a, NULL);
	pgarray_add_null(&a);
	pgarray_add(&a, "");
	assert_int_equal(pgarray_finish(&a, &v, &len), 0);
	check_header(v, 1, 25, 4);
	assert_int_equal(len, 20 + 4 + 10 + 4 + 4 + 4);
	assert_int_equal(get32(v + 20), 10);
	assert_memory_equal(v + 24, "q\"uote\\,{}", 10);
	assert_int_equal(get32(v + 34), UINT32_MAX);
	assert_int_equal(get32(v + 38), UINT32_MAX);
	assert_int_equal(get32(v + 42), 0);
	/* Integers do not go into text[]. */
	pgarray_add_i64(&a, 1);
	assert_int_equal(pgarray_finish(&a, &v, &len), -1);
	pgarray_free(&a);

	/* bigint[]: 8 bytes, big-endian, two's complement. */
	pgarray_start(&a, PGARRAY_INT8);
	pgarray_add_i64(&a, -2);
	pgarray_add_i64(&a, INT64_C(0x0102030405060708));
	assert_int_equal(pgarray_finish(&a, &v, &len), 0);
	check_header(v, 0, 20, 2);
	assert_int_equal(len, 20 + 2 * (4 + 8));
	assert_int_equal(get32(v + 20), 8);
	assert_memory_equal(v + 24, "\xff\xff\xff\xff\xff\xff\xff\xfe", 8);
	assert_int_equal(get32(v + 32), 8);
	assert_memory_equal(v + 36, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	/* Strings do not go into bigint[]. */
	pgarray_add(&a, "3");
	assert_int_equal(pgarray_finish(&a, &v, &len), -1);
	pgarray_free(&a);

	/* smallint[]: 2 bytes; out of range refused at finish. */
	pgarray_start(&a, PGARRAY_INT2);
	pgarray_add_i64(&a, 32767);
	pgarray_add_i64(&a, -32768);
	pgarray_add_null(&a);
	assert_int_equal(pgarray_finish(&a, &v, &len), 0);
	check_header(v, 1, 21, 3);
	assert_int_equal(len, 20 + 2 * (4 + 2) + 4);
	assert_memory_equal(v + 24, "\x7f\xff", 2);
	assert_memory_equal(v + 30, "\x80\x00", 2);
	assert_int_equal(get32(v + 32), UINT32_MAX);
	pgarray_add_i64(&a, 32768);
	assert_int_equal(pgarray_finish(&a, &v, &len), -1);
	pgarray_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sessidx_model),
		cmocka_unit_test(test_sessidx_snapshot_bounded),
		cmocka_unit_test(test_pgarray_literal),
		cmocka_unit_test(test_pgarray_bytea),
		cmocka_unit_test(test_pgarray_binary_text_and_integers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
