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
 * exact bytes of the binary bytea[] format PostgreSQL's array_recv reads.
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
	assert_null(sessidx_get(x, 11));
	sessidx_free(x);
	/* NULL index: lookups fail safely. */
	assert_null(sessidx_get(NULL, 1));
	assert_int_equal(sessidx_count(NULL, "x"), 0);
	sessidx_del(NULL, 1);
}

static void
test_pgarray_text(void **state)
{
	struct pgarray	 a;
	const char	*v;
	int		 len;

	(void)state;
	pgarray_text(&a);
	pgarray_add(&a, "plain");
	pgarray_add(&a, NULL);
	pgarray_add(&a, "q\"uote\\slash,comma {brace}");
	pgarray_add(&a, "");
	pgarray_add_i64(&a, -42);
	assert_int_equal(pgarray_finish(&a, &v, &len), 0);
	assert_string_equal(v, "{\"plain\",NULL,\"q\\\"uote\\\\slash,comma "
	    "{brace}\",\"\",\"-42\"}");
	assert_int_equal(len, (int)strlen(v));
	/* A second finish gives the same literal. */
	assert_int_equal(pgarray_finish(&a, &v, &len), 0);
	assert_int_equal(len, (int)strlen(v));
	assert_int_equal(v[len - 1], '}');
	pgarray_free(&a);

	pgarray_text(&a);
	assert_int_equal(pgarray_finish(&a, &v, &len), 0);
	assert_string_equal(v, "{}");
	pgarray_free(&a);

	/* Bytes into a text array are refused at finish. */
	pgarray_text(&a);
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

static void
test_pgarray_bytea(void **state)
{
	struct pgarray	 a;
	const char	*v;
	int		 len;

	(void)state;
	pgarray_bytea(&a);
	pgarray_add_bytes(&a, "\x00\x01\xff", 3);
	pgarray_add_bytes(&a, NULL, 0);
	pgarray_add_bytes(&a, "", 0);
	assert_int_equal(pgarray_finish(&a, &v, &len), 0);
	assert_int_equal(len, 20 + 4 + 3 + 4 + 4);
	assert_int_equal(get32(v), 1);		/* ndim */
	assert_int_equal(get32(v + 4), 1);	/* has nulls */
	assert_int_equal(get32(v + 8), 17);	/* bytea */
	assert_int_equal(get32(v + 12), 3);	/* elements */
	assert_int_equal(get32(v + 16), 1);	/* lower bound */
	assert_int_equal(get32(v + 20), 3);
	assert_memory_equal(v + 24, "\x00\x01\xff", 3);
	assert_int_equal(get32(v + 27), UINT32_MAX);	/* NULL */
	assert_int_equal(get32(v + 31), 0);		/* empty */
	pgarray_free(&a);

	/* No NULL: the flag is 0.  No element: refused (never sent). */
	pgarray_bytea(&a);
	pgarray_add_bytes(&a, "ab", 2);
	assert_int_equal(pgarray_finish(&a, &v, &len), 0);
	assert_int_equal(get32(v + 4), 0);
	pgarray_free(&a);
	pgarray_bytea(&a);
	assert_int_equal(pgarray_finish(&a, &v, &len), -1);
	pgarray_add(&a, "text");
	assert_int_equal(pgarray_finish(&a, &v, &len), -1);
	pgarray_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sessidx_model),
		cmocka_unit_test(test_sessidx_snapshot_bounded),
		cmocka_unit_test(test_pgarray_text),
		cmocka_unit_test(test_pgarray_bytea),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
