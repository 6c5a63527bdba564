/*
 * Integration tests of "nwd audit verify" (G5): a golden chain and mutated
 * copies of it, tampering done as the database superuser.
 *
 * The golden chain is written straight into a real PostgreSQL (the schema
 * of nwdd --migrate) as postgres: two instances, hub-a signed by one key
 * and hub-b by another.  Its hashes and signatures are computed here with
 * OpenSSL from the text of chain.h, independently of daemon/chain.c, so a
 * misreading of the contract on either side shows as a failure.  Each
 * test first restores the golden state (TRUNCATE as superuser, constraints
 * the last test dropped put back, the golden rows inserted again), then
 * tampers as an attacker with superuser would (triggers disabled,
 * constraints dropped where they are in the way) and runs the built nwd
 * binary, which connects as the read-only nwd_auditor role.
 *
 * The anchors (G21): the golden checkpoints as nwdd writes them outside
 * the database, written here from chain.h's text, and what only they can
 * tell: a tail cut with its checkpoints, a chain rolled back and written
 * again; a forged anchor; an accepted restore; instances nobody was told
 * of; rows that no checkpoint signs.
 */
#include <sys/wait.h>

#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "harness.h"
#include "nwd.h"

#define NA		40	/* rows of hub-a, checkpoints every 10 */
#define NB		25	/* rows of hub-b, checkpoints every 10 */
#define CP_EVERY	10
#define NF		16	/* fields of chain.h's canonical encoding */
#define HLEN		32
#define SLEN		64

enum { F_INSTANCE, F_SEQ, F_AT, F_ACTOR, F_ACTION, F_MESSAGE_ID, F_SUBJECT,
    F_KIND, F_RECIPIENT, F_SHARED, F_WITHHELD, F_RULE, F_POLICY_VERSION,
    F_REASON, F_PEER, F_SESSION };

/* One row of a chain as the test writes it. */
struct grow {
	char	*f[NF];		/* owned; NULL is SQL NULL */
	uint8_t	 prev[HLEN];
	uint8_t	 hash[HLEN];
};

struct key {
	EVP_PKEY	*pkey;
	char		 id[17];
	char		 pub[1024];	/* path of its public key PEM */
};

static struct key	key_a, key_b, key_evil;
static struct grow	rows_a[NA + 1], rows_b[NB + 1];	/* by seq */
static char		auditor_db[256];
static int		daemon_started;	/* nwdd became ready in group_setup */

/* ------------------------------------------------------------------------
 * The chain, from chain.h's text (not from daemon/chain.c)
 */

static void
sha256(const void *a, size_t alen, uint8_t out[HLEN])
{
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(a, alen, out, &n, EVP_sha256(), NULL), 1);
	assert_int_equal(n, HLEN);
}

/* hash = SHA-256(prev || "nwd-audit-v1\n" || fields, each length-prefixed) */
static void
row_hash(const uint8_t prev[HLEN], char *const f[NF], uint8_t out[HLEN])
{
	EVP_MD_CTX	*md = EVP_MD_CTX_new();
	uint8_t		 be[4];
	uint32_t	 n;
	unsigned int	 len = 0;
	int		 i;

	assert_non_null(md);
	assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	EVP_DigestUpdate(md, prev, HLEN);
	EVP_DigestUpdate(md, "nwd-audit-v1\n", 13);
	for (i = 0; i < NF; i++) {
		n = f[i] == NULL ? 0xffffffffU : (uint32_t)strlen(f[i]);
		be[0] = n >> 24;
		be[1] = n >> 16;
		be[2] = n >> 8;
		be[3] = n;
		EVP_DigestUpdate(md, be, 4);
		if (f[i] != NULL)
			EVP_DigestUpdate(md, f[i], strlen(f[i]));
	}
	assert_int_equal(EVP_DigestFinal_ex(md, out, &len), 1);
	EVP_MD_CTX_free(md);
}

static void
hex(const uint8_t *b, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = '\0';
}

static void
key_new(struct key *k, const char *name)
{
	uint8_t		 raw[32], md[HLEN];
	size_t		 rawlen = sizeof(raw);
	const char	*tmp = getenv("NWD_TEST_TMP");
	FILE		*fp;

	assert_non_null(tmp);
	k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(k->pkey);
	assert_int_equal(EVP_PKEY_get_raw_public_key(k->pkey, raw, &rawlen),
	    1);
	sha256(raw, rawlen, md);
	hex(md, 8, k->id);
	snprintf(k->pub, sizeof(k->pub), "%s/%s.pub", tmp, name);
	assert_non_null(fp = fopen(k->pub, "w"));
	assert_int_equal(PEM_write_PUBKEY(fp, k->pkey), 1);
	assert_int_equal(fclose(fp), 0);
}

/* The signature of "nwd-checkpoint-v1 <instance> <seq> <hex> <at_ms>". */
static void
cp_sign(const struct key *k, const char *instance, int64_t seq,
    const uint8_t hash[HLEN], int64_t at_ms, uint8_t sig[SLEN])
{
	EVP_MD_CTX	*md = EVP_MD_CTX_new();
	char		 h[2 * HLEN + 1], text[512];
	size_t		 siglen = SLEN;
	int		 n;

	hex(hash, HLEN, h);
	n = snprintf(text, sizeof(text), "nwd-checkpoint-v1 %s %" PRId64
	    " %s %" PRId64, instance, seq, h, at_ms);
	assert_non_null(md);
	assert_int_equal(EVP_DigestSignInit(md, NULL, NULL, NULL, k->pkey), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &siglen,
	    (const unsigned char *)text, (size_t)n), 1);
	assert_int_equal(siglen, SLEN);
	EVP_MD_CTX_free(md);
}

static char *
xstrdup(const char *s)
{
	char *p;

	if (s == NULL)
		return NULL;
	assert_non_null(p = strdup(s));
	return p;
}

static void
grow_clear(struct grow *g)
{
	int i;

	for (i = 0; i < NF; i++) {
		free(g->f[i]);
		g->f[i] = NULL;
	}
}

static int64_t
row_at_ms(int inst, int64_t seq)
{
	return INT64_C(1700000000000) + seq * 1500 + inst * 7;
}

static int64_t
cp_at_ms(int inst, int64_t seq)
{
	return row_at_ms(inst, seq) + 3;
}

/* Fills g with golden row seq of instance inst (0 hub-a, 1 hub-b). */
static void
golden_fields(struct grow *g, int inst, int64_t seq)
{
	static const char *actions[] = { "connect", "publish", "deliver",
	    "ack", "publish_refused", "audit_query", "disconnect" };
	static const char *kinds[] = { NULL, "1", "2", "3" };
	char	b[128];

	grow_clear(g);
	g->f[F_INSTANCE] = xstrdup(inst == 0 ? "hub-a" : "hub-b");
	snprintf(b, sizeof(b), "%" PRId64, seq);
	g->f[F_SEQ] = xstrdup(b);
	snprintf(b, sizeof(b), "%" PRId64, row_at_ms(inst, seq));
	g->f[F_AT] = xstrdup(b);
	g->f[F_ACTOR] = xstrdup(seq % 5 == 0 ? NULL : seq % 5 == 1 ?
	    "ysw-zoë" : "plo-ana");
	g->f[F_ACTION] = xstrdup(actions[seq % 7]);
	if (seq % 3 != 0) {
		snprintf(b, sizeof(b), "%08" PRIx64 "-0000-4000-8000-%012x",
		    (uint64_t)seq, inst);
		g->f[F_MESSAGE_ID] = xstrdup(b);
	}
	snprintf(b, sizeof(b), "YP-%03" PRId64, seq % 11);
	g->f[F_SUBJECT] = xstrdup(seq % 4 == 3 ? NULL : b);
	g->f[F_KIND] = xstrdup(kinds[seq % 4]);
	g->f[F_RECIPIENT] = xstrdup(seq % 2 ? "team:hub" : NULL);
	g->f[F_SHARED] = xstrdup(seq % 3 == 0 ? NULL : seq % 3 == 1 ? "" :
	    "source_details,grading");
	g->f[F_WITHHELD] = xstrdup(seq % 2 ? "" : "location");
	g->f[F_RULE] = xstrdup(seq % 6 == 0 ? NULL : "hub-sees-risk");
	g->f[F_POLICY_VERSION] = xstrdup("v7");
	g->f[F_REASON] = xstrdup(seq % 4 == 2 ? "it's \"urgent\"; line\nbreak" :
	    NULL);
	snprintf(b, sizeof(b), "127.0.0.1:%" PRId64, 40000 + seq);
	g->f[F_PEER] = xstrdup(b);
	snprintf(b, sizeof(b), "s%" PRId64, seq / 3);
	g->f[F_SESSION] = xstrdup(b);
}

/* Builds both golden chains in memory. */
static void
golden_build(void)
{
	static const uint8_t	zero[HLEN];
	int64_t			s;

	for (s = 1; s <= NA; s++) {
		golden_fields(&rows_a[s], 0, s);
		memcpy(rows_a[s].prev, s == 1 ? zero : rows_a[s - 1].hash, HLEN);
		row_hash(rows_a[s].prev, rows_a[s].f, rows_a[s].hash);
	}
	for (s = 1; s <= NB; s++) {
		golden_fields(&rows_b[s], 1, s);
		memcpy(rows_b[s].prev, s == 1 ? zero : rows_b[s - 1].hash, HLEN);
		row_hash(rows_b[s].prev, rows_b[s].f, rows_b[s].hash);
	}
}

/* ------------------------------------------------------------------------
 * SQL
 */

struct buf {
	char	*s;
	size_t	 len, cap;
};

static void
buf_add(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
buf_add(struct buf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s != NULL ? b->s + b->len : NULL,
		    b->s != NULL ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		assert_true(n >= 0);
		if (b->s != NULL && b->len + (size_t)n < b->cap)
			break;
		b->cap = (b->cap + (size_t)n + 1) * 2;
		assert_non_null(b->s = realloc(b->s, b->cap));
	}
	b->len += (size_t)n;
}

/* A quoted SQL literal of s (NULL as NULL). */
static void
buf_lit(struct buf *b, const char *s)
{
	if (s == NULL) {
		buf_add(b, "NULL");
		return;
	}
	buf_add(b, "'");
	for (; *s != '\0'; s++)
		buf_add(b, *s == '\'' ? "''" : "%c", *s);
	buf_add(b, "'");
}

static void
buf_bytea(struct buf *b, const uint8_t *p, size_t n)
{
	char h[2 * SLEN + 1];

	hex(p, n, h);
	buf_add(b, "'\\x%s'::bytea", h);
}

/* An INSERT of row g; with id >= 1 the id is given explicitly. */
static void
buf_insert_row(struct buf *b, const struct grow *g, int64_t id)
{
	buf_add(b, "INSERT INTO nwd.audit_events (%sinstance, seq, at, actor, "
	    "action, message_id, subject, kind, recipient, fields_shared, "
	    "fields_withheld, rule, policy_version, reason, peer, session, "
	    "prev_hash, hash) VALUES (", id >= 1 ? "id, " : "");
	if (id >= 1)
		buf_add(b, "%" PRId64 ", ", id);
	buf_lit(b, g->f[F_INSTANCE]);
	buf_add(b, ", %s, timestamptz 'epoch' + %s * interval '1 millisecond'",
	    g->f[F_SEQ], g->f[F_AT]);
	buf_add(b, ", ");
	buf_lit(b, g->f[F_ACTOR]);
	buf_add(b, ", ");
	buf_lit(b, g->f[F_ACTION]);
	buf_add(b, ", ");
	buf_lit(b, g->f[F_MESSAGE_ID]);
	buf_add(b, "::uuid, ");
	buf_lit(b, g->f[F_SUBJECT]);
	buf_add(b, ", ");
	buf_lit(b, g->f[F_KIND]);
	buf_add(b, "::smallint, ");
	buf_lit(b, g->f[F_RECIPIENT]);
	buf_add(b, ", string_to_array(");
	buf_lit(b, g->f[F_SHARED]);
	buf_add(b, ", ','), string_to_array(");
	buf_lit(b, g->f[F_WITHHELD]);
	buf_add(b, ", ','), ");
	buf_lit(b, g->f[F_RULE]);
	buf_add(b, ", ");
	buf_lit(b, g->f[F_POLICY_VERSION]);
	buf_add(b, ", ");
	buf_lit(b, g->f[F_REASON]);
	buf_add(b, ", ");
	buf_lit(b, g->f[F_PEER]);
	buf_add(b, ", ");
	buf_lit(b, g->f[F_SESSION]);
	buf_add(b, ", ");
	buf_bytea(b, g->prev, HLEN);
	buf_add(b, ", ");
	buf_bytea(b, g->hash, HLEN);
	buf_add(b, ");\n");
}

static void
buf_insert_cp(struct buf *b, const struct key *k, const char *instance,
    int64_t seq, const uint8_t hash[HLEN], int64_t at_ms)
{
	uint8_t sig[SLEN];

	cp_sign(k, instance, seq, hash, at_ms, sig);
	buf_add(b, "INSERT INTO nwd.checkpoints (instance, seq, hash, at, "
	    "key_id, signature) VALUES ('%s', %" PRId64 ", ", instance, seq);
	buf_bytea(b, hash, HLEN);
	buf_add(b, ", timestamptz 'epoch' + %" PRId64 " * interval "
	    "'1 millisecond', '%s', ", at_ms, k->id);
	buf_bytea(b, sig, SLEN);
	buf_add(b, ");\n");
}

static void
sql(const char *role, const char *q)
{
	char out[4096];

	if (harness_sql(role, q, out, sizeof(out)) != 0)
		fail_msg("SQL as %s failed: %s\n--- the SQL:\n%.2000s", role,
		    out, q);
}

static int64_t
sql_i64(const char *q)
{
	char out[256];

	if (harness_sql("postgres", q, out, sizeof(out)) != 0)
		fail_msg("SQL failed: %s: %s", q, out);
	return strtoll(out, NULL, 10);
}

/* The id of row seq of an instance. */
static int64_t
id_of(const char *instance, int64_t seq)
{
	char q[256];

	snprintf(q, sizeof(q), "SELECT id FROM nwd.audit_events WHERE "
	    "instance = '%s' AND seq = %" PRId64, instance, seq);
	return sql_i64(q);
}

/*
 * Runs q as the superuser with every trigger of the two tables disabled,
 * as an attacker with superuser would.
 */
static void
tamper(const char *q)
{
	struct buf b = { NULL, 0, 0 };

	buf_add(&b, "ALTER TABLE nwd.audit_events DISABLE TRIGGER ALL;\n"
	    "ALTER TABLE nwd.checkpoints DISABLE TRIGGER ALL;\n%s;\n"
	    "ALTER TABLE nwd.audit_events ENABLE TRIGGER ALL;\n"
	    "ALTER TABLE nwd.checkpoints ENABLE TRIGGER ALL;\n", q);
	sql("postgres", b.s);
	free(b.s);
}

/*
 * Back to the golden state: both tables emptied as superuser, any
 * constraint a test dropped put back, the golden rows and checkpoints
 * inserted in the order daemons would write them (ids interleave).  The
 * append-only and link triggers are on while the rows go in.
 */
static int
restore(void **state)
{
	struct buf	b = { NULL, 0, 0 };
	int64_t		s;

	buf_add(&b,
	    "ALTER TABLE nwd.audit_events DISABLE TRIGGER ALL;\n"
	    "ALTER TABLE nwd.checkpoints DISABLE TRIGGER ALL;\n"
	    "TRUNCATE nwd.checkpoints, nwd.audit_events RESTART IDENTITY;\n"
	    "ALTER TABLE nwd.audit_events ENABLE TRIGGER ALL;\n"
	    "ALTER TABLE nwd.checkpoints ENABLE TRIGGER ALL;\n"
	    "DO $$ DECLARE r record; BEGIN\n"
	    "  FOR r IN SELECT * FROM public.vfy_constraints s WHERE NOT "
	    "EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conrelid = s.rel "
	    "AND c.conname = s.name) LOOP\n"
	    "    EXECUTE format('ALTER TABLE %%s ADD CONSTRAINT %%I %%s', "
	    "r.rel, r.name, r.def);\n"
	    "  END LOOP;\n"
	    "END $$;\n");
	for (s = 1; s <= NA; s++) {
		buf_insert_row(&b, &rows_a[s], 0);
		if (s % CP_EVERY == 0)
			buf_insert_cp(&b, &key_a, "hub-a", s, rows_a[s].hash,
			    cp_at_ms(0, s));
		if (s > NB)
			continue;
		buf_insert_row(&b, &rows_b[s], 0);
		if (s % CP_EVERY == 0)
			buf_insert_cp(&b, &key_b, "hub-b", s, rows_b[s].hash,
			    cp_at_ms(1, s));
	}
	sql("postgres", b.s);
	free(b.s);
	return 0;
}

/* ------------------------------------------------------------------------
 * Running the verifier
 */

struct run {
	int	 rc;
	char	 out[16384];
};

static const char *
builddir(void)
{
	const char *d = getenv("NWD_BUILDDIR");

	return d != NULL && d[0] != '\0' ? d : NWD_BUILDDIR;
}

/* Runs "[env] nwd audit verify ARGS 2>&1"; args and env are shell text. */
static void
verify(struct run *r, const char *env, const char *args)
{
	char	 cmd[8192];
	FILE	*p;
	size_t	 n = 0, k;
	int	 st;

	snprintf(cmd, sizeof(cmd), "%s '%s/client/nwd' audit verify %s 2>&1",
	    env != NULL ? env : "", builddir(), args);
	fflush(NULL);
	assert_non_null(p = popen(cmd, "r"));
	while (n < sizeof(r->out) - 1 &&
	    (k = fread(r->out + n, 1, sizeof(r->out) - 1 - n, p)) > 0)
		n += k;
	r->out[n] = '\0';
	st = pclose(p);
	r->rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* verify with the auditor's connection and both keys, plus extra. */
static void
verify_std(struct run *r, const char *extra)
{
	char args[8192];

	snprintf(args, sizeof(args), "--db '%s' --pubkey '%s' --pubkey '%s' %s",
	    auditor_db, key_a.pub, key_b.pub, extra != NULL ? extra : "");
	verify(r, NULL, args);
}

static void
expect(const struct run *r, int rc, const char *needle)
{
	if (r->rc != rc || (needle != NULL && strstr(r->out, needle) == NULL))
		fail_msg("nwd audit verify exited %d (want %d); want the "
		    "output to contain\n  %s\n--- it printed:\n%s", r->rc, rc,
		    needle != NULL ? needle : "(anything)", r->out);
}

static void
expect_also(const struct run *r, const char *needle)
{
	if (strstr(r->out, needle) == NULL)
		fail_msg("want the output to contain\n  %s\n--- it printed:\n"
		    "%s", needle, r->out);
}

/* "2023-11-14T22:13:20.123Z", as the verifier names checkpoint times. */
static const char *
when(int64_t ms)
{
	static char	b[64];
	struct tm	tm;
	time_t		t = (time_t)(ms / 1000);
	char		s[40];

	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(b, sizeof(b), "%s.%03dZ", s, (int)(ms % 1000));
	return b;
}

/* ------------------------------------------------------------------------
 * Tests
 */

/* The untouched chains: exit 0 with the counts. */
static void
test_intact(void **state)
{
	struct run r;

	verify_std(&r, NULL);
	expect(&r, 0, "instance hub-a: intact: 40 rows, 4 checkpoints, head "
	    "seq 40 (signed up to seq 40)");
	expect_also(&r, "instance hub-b: intact: 25 rows, 2 checkpoints, "
	    "head seq 25 (signed up to seq 20; 5 later rows not yet)");

	verify_std(&r, "--json");
	expect(&r, 0, "{\"intact\":true,\"instances\":[{\"instance\":\"hub-a\","
	    "\"intact\":true,\"rows\":40,\"checkpoints\":4,\"head_seq\":40,"
	    "\"signed_seq\":40},{\"instance\":\"hub-b\",\"intact\":true,"
	    "\"rows\":25,\"checkpoints\":2,\"head_seq\":25,\"signed_seq\":20}]}");
}

/* NWD_AUDIT_DB and NWD_AUDIT_PUBKEY; --instance; a key not given. */
static void
test_environment_instance_and_keys(void **state)
{
	struct run	r;
	char		env[8192];

	snprintf(env, sizeof(env), "NWD_AUDIT_DB='%s' NWD_AUDIT_PUBKEY='%s'",
	    auditor_db, key_a.pub);
	verify(&r, env, "--instance hub-a");
	expect(&r, 0, "instance hub-a: intact: 40 rows, 4 checkpoints");
	assert_null(strstr(r.out, "hub-b"));

	/* hub-b's checkpoints are signed by a key we were not given. */
	verify(&r, env, "");
	expect(&r, 1, "instance hub-a: intact: 40 rows");
	snprintf(env, sizeof(env), "instance hub-b: checkpoint at seq 10 "
	    "(signed at %s) names key %s, which is none of the public keys "
	    "given", when(cp_at_ms(1, 10)), key_b.id);
	expect_also(&r, env);
	expect_also(&r, "instance hub-b: 10 rows and 0 checkpoints sound "
	    "before it");

	verify_std(&r, "--instance no-such-hub");
	expect(&r, 1, "instance no-such-hub: no audit rows and no checkpoints");
}

static void
test_usage_and_unreachable(void **state)
{
	struct run	r;
	char		args[8192];

	verify(&r, "NWD_AUDIT_PUBKEY=", "--db 'dbname=nwd'");
	expect(&r, 2, "no public key: give --pubkey FILE or set "
	    "NWD_AUDIT_PUBKEY");
	verify_std(&r, "--frobnicate");
	expect(&r, 2, "--frobnicate: unknown option");
	verify_std(&r, "extra");
	expect(&r, 2, "unexpected argument");
	verify(&r, NULL, "--pubkey /nonexistent/key.pub");
	expect(&r, 2, "/nonexistent/key.pub");

	/* Nothing listens on port 1. */
	snprintf(args, sizeof(args), "--db 'host=127.0.0.1 port=1 dbname=nwd "
	    "user=nwd_auditor connect_timeout=5' --pubkey '%s'", key_a.pub);
	verify(&r, NULL, args);
	expect(&r, 3, "cannot connect to the database");
	/* A role that may not read the trail. */
	sql("postgres", "CREATE ROLE vfy_nobody LOGIN");
	snprintf(args, sizeof(args), "--db 'host=127.0.0.1 port=%s dbname=nwd "
	    "user=vfy_nobody' --pubkey '%s'", getenv("NWD_TEST_PGPORT"),
	    key_a.pub);
	verify(&r, NULL, args);
	sql("postgres", "DROP ROLE vfy_nobody");
	expect(&r, 3, "permission denied");
}

/* A middle row's field edited. */
static void
test_edited_row(void **state)
{
	struct run	r;
	char		want[256];
	int64_t		id = id_of("hub-a", 17);

	tamper("UPDATE nwd.audit_events SET reason = 'nothing to see' WHERE "
	    "instance = 'hub-a' AND seq = 17");
	verify_std(&r, NULL);
	snprintf(want, sizeof(want), "instance hub-a: row seq 17 (id %" PRId64
	    ") was altered: its hash does not match its contents", id);
	expect(&r, 1, want);
	expect_also(&r, "instance hub-a: 16 rows and 1 checkpoint sound "
	    "before it");
	expect_also(&r, "instance hub-b: intact: 25 rows");
	expect_also(&r, "TAMPERING FOUND in 1 of 2 instances");

	verify_std(&r, "--json");
	expect(&r, 1, "\"intact\":false");
	snprintf(want, sizeof(want), "\"instance\":\"hub-a\",\"intact\":false,"
	    "\"rows\":16,\"checkpoints\":1,\"head_seq\":16,\"signed_seq\":10,"
	    "\"problem\":\"row seq 17 (id %" PRId64 ") was altered: its hash "
	    "does not match its contents\"", id);
	expect_also(&r, want);
}

/*
 * Edits invisible in the canonical text: a field list regrouped, a time
 * moved by a microsecond (the superuser drops the CHECK that forbids it).
 */
static void
test_edited_representation(void **state)
{
	struct run	r;
	char		want[256];
	int64_t		id;

	/* Row 20: fields_shared "source_details,grading". */
	id = id_of("hub-a", 20);
	tamper("UPDATE nwd.audit_events SET fields_shared = "
	    "'{\"source_details,grading\"}' WHERE instance = 'hub-a' AND "
	    "seq = 20");
	verify_std(&r, NULL);
	snprintf(want, sizeof(want), "instance hub-a: row seq 20 (id %" PRId64
	    ") was altered: its hash does not match its contents (a field "
	    "list is not as the daemon writes it)", id);
	expect(&r, 1, want);

	restore(state);
	id = id_of("hub-b", 5);
	tamper("ALTER TABLE nwd.audit_events DROP CONSTRAINT "
	    "audit_events_at_check;\n"
	    "UPDATE nwd.audit_events SET at = at + interval '1 microsecond' "
	    "WHERE instance = 'hub-b' AND seq = 5");
	verify_std(&r, NULL);
	snprintf(want, sizeof(want), "instance hub-b: row seq 5 (id %" PRId64
	    ") was altered: its hash does not match its contents (its time is "
	    "not as the daemon writes it)", id);
	expect(&r, 1, want);
	expect_also(&r, "instance hub-a: intact");
}

/* A middle row deleted; then two; then one with the rest renumbered. */
static void
test_deleted_row(void **state)
{
	struct run	r;
	char		want[256];
	int64_t		id16, id18;

	tamper("DELETE FROM nwd.audit_events WHERE instance = 'hub-a' AND "
	    "seq = 17");
	verify_std(&r, NULL);
	expect(&r, 1, "instance hub-a: row seq 17 is missing (the chain jumps "
	    "from 16 to 18)");

	restore(state);
	tamper("DELETE FROM nwd.audit_events WHERE instance = 'hub-b' AND "
	    "seq IN (3, 4)");
	verify_std(&r, NULL);
	expect(&r, 1, "instance hub-b: rows seq 3 to 4 are missing (the chain "
	    "jumps from 2 to 5)");

	restore(state);
	tamper("DELETE FROM nwd.audit_events WHERE instance = 'hub-a' AND "
	    "seq = 1");
	verify_std(&r, NULL);
	expect(&r, 1, "instance hub-a: row seq 1 is missing (the chain starts "
	    "at seq 2)");

	/* Renumbered: 18 becomes 17 and so on; the link gives it away. */
	restore(state);
	id16 = id_of("hub-a", 16);
	id18 = id_of("hub-a", 18);
	tamper("DELETE FROM nwd.audit_events WHERE instance = 'hub-a' AND "
	    "seq = 17;\n"
	    "UPDATE nwd.audit_events SET seq = seq + 1000000 WHERE "
	    "instance = 'hub-a' AND seq > 17;\n"
	    "UPDATE nwd.audit_events SET seq = seq - 1000001 WHERE "
	    "instance = 'hub-a' AND seq > 1000000");
	verify_std(&r, NULL);
	snprintf(want, sizeof(want), "instance hub-a: row seq 17 (id %" PRId64
	    ") does not follow row seq 16 (id %" PRId64 "): its prev_hash is "
	    "not that row's hash", id18, id16);
	expect(&r, 1, want);
}

/* A forged row, well hashed, linked to row 16, given seq 17. */
static void
forged_row(struct grow *g)
{
	memset(g, 0, sizeof(*g));
	golden_fields(g, 0, 17);
	free(g->f[F_REASON]);
	g->f[F_REASON] = xstrdup("forged: consent on file");
	memcpy(g->prev, rows_a[16].hash, HLEN);
	row_hash(g->prev, g->f, g->hash);
}

static void
test_inserted_row(void **state)
{
	struct run	r;
	struct buf	b = { NULL, 0, 0 };
	struct grow	g;
	char		want[256];
	int64_t		id17;

	/* Beside row 17: the unique (instance, seq) is dropped first. */
	forged_row(&g);
	id17 = id_of("hub-a", 17);
	buf_add(&b, "ALTER TABLE nwd.audit_events DROP CONSTRAINT "
	    "audit_events_instance_seq_key;\n");
	buf_insert_row(&b, &g, 0);
	tamper(b.s);
	verify_std(&r, NULL);
	snprintf(want, sizeof(want), "instance hub-a: row seq 17 appears "
	    "twice (ids %" PRId64 " and %" PRId64 "): a row was inserted",
	    id17, sql_i64("SELECT max(id) FROM nwd.audit_events"));
	expect(&r, 1, want);

	/* In place of row 17, the rest renumbered: 17 becomes 18 ... */
	restore(state);
	b.len = 0;
	buf_add(&b, "UPDATE nwd.audit_events SET seq = seq + 1000000 WHERE "
	    "instance = 'hub-a' AND seq >= 17;\n"
	    "UPDATE nwd.audit_events SET seq = seq - 999999 WHERE "
	    "instance = 'hub-a' AND seq > 1000000;\n");
	buf_insert_row(&b, &g, 0);
	tamper(b.s);
	snprintf(want, sizeof(want), "instance hub-a: row seq 18 (id %" PRId64
	    ") does not follow row seq 17 (id %" PRId64 "): it links to row "
	    "seq 16, so row seq 17 (id %" PRId64 ") was inserted", id17,
	    sql_i64("SELECT max(id) FROM nwd.audit_events"),
	    sql_i64("SELECT max(id) FROM nwd.audit_events"));
	verify_std(&r, NULL);
	expect(&r, 1, want);
	grow_clear(&g);
	free(b.s);
}

/* Two rows' contents swapped (all of them, then only the payload). */
static void
test_swapped_rows(void **state)
{
	struct run	r;
	char		want[256], q[512];
	int64_t		id17 = id_of("hub-a", 17), id18 = id_of("hub-a", 18);

	/* Every column but id swapped is the same as the ids swapped. */
	snprintf(q, sizeof(q), "UPDATE nwd.audit_events SET id = -1 WHERE id = "
	    "%" PRId64 ";\nUPDATE nwd.audit_events SET id = %" PRId64 " WHERE "
	    "id = %" PRId64 ";\nUPDATE nwd.audit_events SET id = %" PRId64
	    " WHERE id = -1", id17, id17, id18, id18);
	tamper(q);
	verify_std(&r, NULL);
	snprintf(want, sizeof(want), "instance hub-a: row seq 18 (id %" PRId64
	    ") is out of order: its id is not above that of row seq 17 (id %"
	    PRId64 "), so rows were reordered", id17, id18);
	expect(&r, 1, want);

	restore(state);
	snprintf(q, sizeof(q), "UPDATE nwd.audit_events a SET actor = b.actor, "
	    "action = b.action, reason = b.reason FROM nwd.audit_events b "
	    "WHERE (a.id, b.id) IN ((%" PRId64 ", %" PRId64 "), (%" PRId64
	    ", %" PRId64 "))", id17, id18, id18, id17);
	tamper(q);
	verify_std(&r, NULL);
	snprintf(want, sizeof(want), "instance hub-a: row seq 17 (id %" PRId64
	    ") was altered: its hash does not match its contents", id17);
	expect(&r, 1, want);
}

/* The tail behind checkpoint 40 cut off. */
static void
test_truncated_tail(void **state)
{
	struct run	r;
	char		want[256];

	tamper("DELETE FROM nwd.audit_events WHERE instance = 'hub-a' AND "
	    "seq > 35");
	verify_std(&r, NULL);
	snprintf(want, sizeof(want), "instance hub-a: checkpoint at seq 40 "
	    "(signed at %s) but the chain ends at seq 35 < 40",
	    when(cp_at_ms(0, 40)));
	expect(&r, 1, want);
	expect_also(&r, "instance hub-a: 35 rows and 3 checkpoints sound "
	    "before it");

	/* Every row of the instance gone, its checkpoints left. */
	restore(state);
	tamper("DELETE FROM nwd.audit_events WHERE instance = 'hub-b'");
	verify_std(&r, NULL);
	snprintf(want, sizeof(want), "instance hub-b: checkpoint at seq 10 "
	    "(signed at %s) but the chain ends at seq 0 < 10",
	    when(cp_at_ms(1, 10)));
	expect(&r, 1, want);
}

/* A checkpoint signature forged: a flipped bit; another key's. */
static void
test_forged_checkpoint(void **state)
{
	struct run	r;
	struct buf	b = { NULL, 0, 0 };
	uint8_t		sig[SLEN];
	char		want[256];

	tamper("UPDATE nwd.checkpoints SET signature = set_byte(signature, "
	    "5, get_byte(signature, 5) # 1) WHERE instance = 'hub-a' AND "
	    "seq = 20");
	verify_std(&r, NULL);
	snprintf(want, sizeof(want), "instance hub-a: checkpoint at seq 20 "
	    "(signed at %s) has an invalid signature", when(cp_at_ms(0, 20)));
	expect(&r, 1, want);
	expect_also(&r, "instance hub-a: 20 rows and 1 checkpoint sound "
	    "before it");

	/* Signed by the attacker's own key, under its own key id. */
	restore(state);
	cp_sign(&key_evil, "hub-a", 20, rows_a[20].hash, cp_at_ms(0, 20), sig);
	buf_add(&b, "UPDATE nwd.checkpoints SET key_id = '%s', signature = ",
	    key_evil.id);
	buf_bytea(&b, sig, SLEN);
	buf_add(&b, " WHERE instance = 'hub-a' AND seq = 20");
	tamper(b.s);
	verify_std(&r, NULL);
	snprintf(want, sizeof(want), "instance hub-a: checkpoint at seq 20 "
	    "(signed at %s) names key %s, which is none of the public keys "
	    "given", when(cp_at_ms(0, 20)), key_evil.id);
	expect(&r, 1, want);

	/* ... under the real key's id. */
	restore(state);
	b.len = 0;
	buf_add(&b, "UPDATE nwd.checkpoints SET signature = ");
	buf_bytea(&b, sig, SLEN);
	buf_add(&b, " WHERE instance = 'hub-a' AND seq = 20");
	tamper(b.s);
	verify_std(&r, NULL);
	snprintf(want, sizeof(want), "instance hub-a: checkpoint at seq 20 "
	    "(signed at %s) has an invalid signature", when(cp_at_ms(0, 20)));
	expect(&r, 1, want);

	/* Its time moved: the signature covers it. */
	restore(state);
	tamper("UPDATE nwd.checkpoints SET at = at + interval '1 second' "
	    "WHERE instance = 'hub-b' AND seq = 10");
	verify_std(&r, NULL);
	snprintf(want, sizeof(want), "instance hub-b: checkpoint at seq 10 "
	    "(signed at %s) has an invalid signature",
	    when(cp_at_ms(1, 10) + 1000));
	expect(&r, 1, want);
	free(b.s);
}

/* A checkpoint's hash changed (to the previous row's). */
static void
test_checkpoint_hash_changed(void **state)
{
	struct run	r;
	char		want[256];

	tamper("UPDATE nwd.checkpoints c SET hash = e.hash FROM "
	    "nwd.audit_events e WHERE c.instance = 'hub-a' AND c.seq = 30 AND "
	    "e.instance = 'hub-a' AND e.seq = 29");
	verify_std(&r, NULL);
	snprintf(want, sizeof(want), "instance hub-a: checkpoint at seq 30 "
	    "(signed at %s) has an invalid signature, and its hash does not "
	    "match row seq 30 (id %" PRId64 ")", when(cp_at_ms(0, 30)),
	    id_of("hub-a", 30));
	expect(&r, 1, want);
}

/*
 * An attacker who knows the algorithm but not the key: row 17 edited and
 * every later hash recomputed, so every link holds.  The checkpoint at 20
 * no longer matches its row.
 */
static void
test_rewritten_chain(void **state)
{
	struct run	r;
	struct buf	b = { NULL, 0, 0 };
	struct grow	g[NA + 1];
	char		want[512], h[2 * HLEN + 1];
	int64_t		s;

	memset(g, 0, sizeof(g));
	for (s = 1; s <= NA; s++) {
		golden_fields(&g[s], 0, s);
		memcpy(g[s].prev, s == 1 ? rows_a[1].prev : g[s - 1].hash, HLEN);
		if (s == 17) {
			free(g[s].f[F_REASON]);
			g[s].f[F_REASON] = xstrdup("rewritten");
		}
		row_hash(g[s].prev, g[s].f, g[s].hash);
	}
	buf_add(&b, "UPDATE nwd.audit_events SET reason = 'rewritten' WHERE "
	    "instance = 'hub-a' AND seq = 17;\n");
	for (s = 17; s <= NA; s++) {
		buf_add(&b, "UPDATE nwd.audit_events SET prev_hash = ");
		buf_bytea(&b, g[s].prev, HLEN);
		buf_add(&b, ", hash = ");
		buf_bytea(&b, g[s].hash, HLEN);
		buf_add(&b, " WHERE instance = 'hub-a' AND seq = %" PRId64
		    ";\n", s);
	}
	tamper(b.s);
	verify_std(&r, NULL);
	snprintf(want, sizeof(want), "instance hub-a: checkpoint at seq 20 "
	    "(signed at %s) does not match row seq 20 (id %" PRId64 "): the "
	    "checkpoint hash ", when(cp_at_ms(0, 20)), id_of("hub-a", 20));
	expect(&r, 1, want);
	hex(rows_a[20].hash, HLEN, h);
	snprintf(want, sizeof(want), "%s is not the row's hash ", h);
	expect_also(&r, want);
	expect_also(&r, "so the chain up to seq 20 was rewritten");
	for (s = 1; s <= NA; s++)
		grow_clear(&g[s]);
	free(b.s);
}

/*
 * A chain longer than the verifier's FETCH batches (1,000 rows), written
 * by a third implementation of the encoding, in PL/pgSQL; its checkpoints
 * at 1000 and 2000 are signed here.
 */

static void
big_chain(void)
{
	struct buf	 b = { NULL, 0, 0 };
	uint8_t		 h[HLEN];
	char		 out[512], *bar;
	int64_t		 seq;

	sql("postgres",
	    "CREATE FUNCTION pg_temp.vf(t text) RETURNS bytea LANGUAGE sql "
	    "IMMUTABLE AS $f$ SELECT CASE WHEN t IS NULL THEN "
	    "'\\xffffffff'::bytea ELSE int4send(octet_length(t)) || "
	    "convert_to(t, 'UTF8') END $f$;\n"
	    "DO $$\n"
	    "DECLARE\n"
	    "  prev bytea := '\\x' || repeat('00', 32);\n"
	    "  h bytea;\n"
	    "  at_ms bigint;\n"
	    "  actor text;\n"
	    "  kind text;\n"
	    "BEGIN\n"
	    "  FOR s IN 1..2500 LOOP\n"
	    "    at_ms := 1700000000000 + s * 10;\n"
	    "    actor := CASE WHEN s % 7 = 0 THEN NULL ELSE 'worker-' || s END;\n"
	    "    kind := nullif(s % 5, 0)::text;\n"
	    "    h := sha256(prev || convert_to('nwd-audit-v1' || chr(10), "
	    "'UTF8') || pg_temp.vf('hub-big') || pg_temp.vf(s::text) || "
	    "pg_temp.vf(at_ms::text) || pg_temp.vf(actor) || "
	    "pg_temp.vf('publish') || pg_temp.vf(NULL) || "
	    "pg_temp.vf('YP-' || s % 50) || pg_temp.vf(kind) || "
	    "pg_temp.vf(NULL) || pg_temp.vf('a,b') || pg_temp.vf('') || "
	    "pg_temp.vf('r') || pg_temp.vf('v1') || pg_temp.vf(NULL) || "
	    "pg_temp.vf(NULL) || pg_temp.vf('s' || s / 10));\n"
	    "    INSERT INTO nwd.audit_events (instance, seq, at, actor, action, "
	    "message_id, subject, kind, recipient, fields_shared, "
	    "fields_withheld, rule, policy_version, reason, peer, session, "
	    "prev_hash, hash) VALUES ('hub-big', s, timestamptz 'epoch' + "
	    "at_ms * interval '1 millisecond', actor, 'publish', NULL, "
	    "'YP-' || s % 50, kind::smallint, NULL, '{a,b}', '{}', 'r', 'v1', "
	    "NULL, NULL, 's' || s / 10, prev, h);\n"
	    "    prev := h;\n"
	    "  END LOOP;\n"
	    "END $$");
	for (seq = 1000; seq <= 2000; seq += 1000) {
		snprintf(out, sizeof(out), "SELECT encode(hash, 'hex') FROM "
		    "nwd.audit_events WHERE instance = 'hub-big' AND seq = %"
		    PRId64, seq);
		if (harness_sql("postgres", out, out, sizeof(out)) != 0)
			fail_msg("%s", out);
		for (bar = out; bar - out < 2 * HLEN; bar += 2)
			assert_int_equal(sscanf(bar, "%2hhx", &h[(bar - out) / 2]),
			    1);
		buf_insert_cp(&b, &key_a, "hub-big", seq, h,
		    INT64_C(1700000000000) + seq * 10 + 1);
	}
	sql("postgres", b.s);
	free(b.s);
}

static void
test_large_chain(void **state)
{
	struct run	r;
	char		want[256];

	big_chain();
	verify_std(&r, "--instance hub-big");
	expect(&r, 0, "instance hub-big: intact: 2500 rows, 2 checkpoints, "
	    "head seq 2500 (signed up to seq 2000; 500 later rows not yet)");

	tamper("UPDATE nwd.audit_events SET subject = 'YP-999' WHERE "
	    "instance = 'hub-big' AND seq = 1500");
	verify_std(&r, NULL);
	snprintf(want, sizeof(want), "instance hub-big: row seq 1500 (id %"
	    PRId64 ") was altered: its hash does not match its contents",
	    id_of("hub-big", 1500));
	expect(&r, 1, want);
	expect_also(&r, "instance hub-big: 1499 rows and 1 checkpoint sound "
	    "before it");
	expect_also(&r, "instance hub-a: intact: 40 rows");

	/* The first row of the second batch gone. */
	restore(state);
	big_chain();
	tamper("DELETE FROM nwd.audit_events WHERE instance = 'hub-big' AND "
	    "seq = 1001");
	verify_std(&r, "--instance hub-big");
	expect(&r, 1, "instance hub-big: row seq 1001 is missing (the chain "
	    "jumps from 1000 to 1002)");
}

/* ------------------------------------------------------------------------
 * Anchors: the checkpoints as nwdd writes them outside the database
 */

static char	anchors_file[1024];

/*
 * The anchor line of a checkpoint, from chain.h's text (not from
 * daemon/chain.c): "event=checkpoint instance=I seq=N hash=HEX at=MS
 * key_id=K signature=HEX".
 */
static void
anchor_cp(struct buf *b, const struct key *k, const char *instance,
    int64_t seq, const uint8_t hash[HLEN], int64_t at_ms)
{
	uint8_t	sig[SLEN];
	char	h[2 * HLEN + 1], s[2 * SLEN + 1];

	cp_sign(k, instance, seq, hash, at_ms, sig);
	hex(hash, HLEN, h);
	hex(sig, SLEN, s);
	buf_add(b, "event=checkpoint instance=%s seq=%" PRId64 " hash=%s "
	    "at=%" PRId64 " key_id=%s signature=%s\n", instance, seq, h, at_ms,
	    k->id, s);
}

/* An accepted restore: "nwd-restore-v1 I OLD_SEQ OLD_HEX NEW_SEQ NEW_HEX
 * AT" signed, as its anchor line. */
static void
anchor_restore(struct buf *b, const struct key *k, const char *instance,
    int64_t old_seq, const uint8_t old_hash[HLEN], int64_t new_seq,
    const uint8_t new_hash[HLEN], int64_t at_ms)
{
	EVP_MD_CTX	*md = EVP_MD_CTX_new();
	uint8_t		 sig[SLEN];
	char		 oh[2 * HLEN + 1], nh[2 * HLEN + 1], s[2 * SLEN + 1];
	char		 text[512];
	size_t		 siglen = SLEN;
	int		 n;

	hex(old_hash, HLEN, oh);
	hex(new_hash, HLEN, nh);
	n = snprintf(text, sizeof(text), "nwd-restore-v1 %s %" PRId64 " %s %"
	    PRId64 " %s %" PRId64, instance, old_seq, oh, new_seq, nh, at_ms);
	assert_non_null(md);
	assert_int_equal(EVP_DigestSignInit(md, NULL, NULL, NULL, k->pkey), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &siglen,
	    (const unsigned char *)text, (size_t)n), 1);
	EVP_MD_CTX_free(md);
	hex(sig, SLEN, s);
	buf_add(b, "2026-01-01T00:00:00.000Z level=info event=restore_accepted "
	    "instance=%s old_seq=%" PRId64 " old_hash=%s new_seq=%" PRId64
	    " new_hash=%s at=%" PRId64 " key_id=%s signature=%s\n", instance,
	    old_seq, oh, new_seq, nh, at_ms, k->id, s);
}

/* Every golden checkpoint's line, as the daemons' anchors files hold
 * them (hub-b's as its log writes them), then more, into anchors_file. */
static void
write_anchors(const char *more)
{
	struct buf	 b = { NULL, 0, 0 };
	FILE		*fp;
	int64_t		 s;

	snprintf(anchors_file, sizeof(anchors_file), "%s/golden.anchors",
	    getenv("NWD_TEST_TMP"));
	buf_add(&b, "# the anchors of hub-a and hub-b\n");
	for (s = CP_EVERY; s <= NA; s += CP_EVERY) {
		anchor_cp(&b, &key_a, "hub-a", s, rows_a[s].hash,
		    cp_at_ms(0, s));
		if (s > NB)
			continue;
		buf_add(&b, "2026-01-01T00:00:00.000Z level=info ");
		anchor_cp(&b, &key_b, "hub-b", s, rows_b[s].hash,
		    cp_at_ms(1, s));
	}
	if (more != NULL)
		buf_add(&b, "%s", more);
	assert_non_null(fp = fopen(anchors_file, "w"));
	assert_int_equal(fwrite(b.s, 1, b.len, fp), b.len);
	assert_int_equal(fclose(fp), 0);
	free(b.s);
}

static void
verify_anchored(struct run *r, const char *extra)
{
	char	args[2048];

	snprintf(args, sizeof(args), "--anchors '%s' %s", anchors_file,
	    extra != NULL ? extra : "");
	verify_std(r, args);
}

/* The untouched chains against their anchors; what the anchors name. */
static void
test_anchors_intact(void **state)
{
	struct run	r;
	struct buf	b = { NULL, 0, 0 };

	write_anchors(NULL);
	verify_anchored(&r, NULL);
	expect(&r, 0, "instance hub-a: intact: 40 rows, 4 checkpoints");
	expect_also(&r, "instance hub-a: anchored up to seq 40");
	expect_also(&r, "instance hub-b: anchored up to seq 20");
	verify_anchored(&r, "--json");
	expect(&r, 0, "\"anchored_seq\":40");

	/* --instances and the anchors say which instances exist. */
	verify_std(&r, "--instances hub-a");
	expect(&r, 1, "instance hub-b: not an instance that the anchors or "
	    "--instances name: 25 rows");
	expect_also(&r, "instance hub-a: intact");
	verify_std(&r, "--instances hub-a,hub-b,hub-c");
	expect(&r, 1, "instance hub-c: no audit rows and no checkpoints");
	/* An instance the anchors name, gone from the database. */
	anchor_cp(&b, &key_a, "hub-gone", 1, rows_a[1].hash, 1000);
	write_anchors(b.s);
	verify_anchored(&r, NULL);
	expect(&r, 1, "instance hub-gone: the anchors hold a checkpoint of seq "
	    "1 at 1970-01-01T00:00:01.000Z (anchor line 8) but the chain ends "
	    "at seq 0 < 1");
	expect_also(&r, "TAMPERING FOUND in 1 of 3 instances");
	/* A line that is not one. */
	write_anchors("event=checkpoint instance=hub-gone seq=1 "
	    "hash=0000000000000000000000000000000000000000000000000000000000000000 "
	    "at=1 key_id=0000000000000000 signature=00\n");
	verify_anchored(&r, NULL);
	expect(&r, 1, "anchors: anchor line 8 is malformed: cannot read the "
	    "value of signature");
	expect_also(&r, "TAMPERING FOUND in 0 of 2 instances and in the "
	    "anchors");
	free(b.s);
}

/*
 * The tail cut with its checkpoints: the database alone cannot tell; the
 * anchors name the truncation.  Accepted as a restore, it is intact.
 */
static void
test_anchors_truncated(void **state)
{
	struct run	 r;
	struct buf	 b = { NULL, 0, 0 };
	char		 want[512];

	tamper("DELETE FROM nwd.checkpoints WHERE instance = 'hub-a' AND "
	    "seq > 25;\nDELETE FROM nwd.audit_events WHERE instance = 'hub-a' "
	    "AND seq > 25");
	verify_std(&r, NULL);
	expect(&r, 0, "instance hub-a: intact: 25 rows, 2 checkpoints, head "
	    "seq 25 (signed up to seq 20; 5 later rows not yet)");
	write_anchors(NULL);
	verify_anchored(&r, NULL);
	snprintf(want, sizeof(want), "instance hub-a: the anchors hold a "
	    "checkpoint of seq 30 at %s (anchor line 6) but the chain ends at "
	    "seq 25 < 30: rows were removed after they were anchored",
	    when(cp_at_ms(0, 30)));
	expect(&r, 1, want);
	expect_also(&r, "instance hub-b: intact");

	/* An operator accepted the restore: the anchors beyond it go. */
	anchor_restore(&b, &key_a, "hub-a", 40, rows_a[40].hash, 25,
	    rows_a[25].hash, cp_at_ms(0, 40) + 60000);
	write_anchors(b.s);
	verify_anchored(&r, NULL);
	expect(&r, 0, "instance hub-a: anchored up to seq 25");
	/* The head a restore names must be in the chain: seq 24 is (the
	 * rows after it are later ones), seq 26 is not. */
	b.len = 0;
	anchor_restore(&b, &key_a, "hub-a", 40, rows_a[40].hash, 24,
	    rows_a[24].hash, cp_at_ms(0, 40) + 60000);
	write_anchors(b.s);
	verify_anchored(&r, NULL);
	expect(&r, 0, "instance hub-a: anchored up to seq 24");
	b.len = 0;
	anchor_restore(&b, &key_a, "hub-a", 40, rows_a[40].hash, 26,
	    rows_a[26].hash, cp_at_ms(0, 40) + 60000);
	write_anchors(b.s);
	verify_anchored(&r, NULL);
	expect(&r, 1, "instance hub-a: an accepted restore continued from "
	    "seq 26");
	free(b.s);
}

/*
 * Rolled back to seq 25 with its checkpoints, then written again (the
 * algorithm is no secret; the key is): the database alone looks intact,
 * the anchors name the first anchored row that is not the one they
 * signed.
 */
static void
test_anchors_rewritten(void **state)
{
	struct run	 r;
	struct buf	 b = { NULL, 0, 0 };
	struct grow	 g[NA + 1];
	char		 want[512];
	int64_t		 s;

	memset(g, 0, sizeof(g));
	buf_add(&b, "DELETE FROM nwd.checkpoints WHERE instance = 'hub-a' AND "
	    "seq > 25;\nDELETE FROM nwd.audit_events WHERE instance = 'hub-a' "
	    "AND seq > 25;\n");
	for (s = 26; s <= NA; s++) {
		golden_fields(&g[s], 0, s);
		free(g[s].f[F_REASON]);
		g[s].f[F_REASON] = xstrdup("written again");
		memcpy(g[s].prev, s == 26 ? rows_a[25].hash : g[s - 1].hash,
		    HLEN);
		row_hash(g[s].prev, g[s].f, g[s].hash);
		buf_insert_row(&b, &g[s], 0);
	}
	tamper(b.s);
	verify_std(&r, NULL);
	expect(&r, 0, "instance hub-a: intact: 40 rows, 2 checkpoints");
	write_anchors(NULL);
	verify_anchored(&r, NULL);
	snprintf(want, sizeof(want), "instance hub-a: row seq 30 (id %" PRId64
	    ") is not the row the anchors checkpointed at %s (anchor line 6): "
	    "the chain was rolled back to before seq 30 and written again",
	    id_of("hub-a", 30), when(cp_at_ms(0, 30)));
	expect(&r, 1, want);
	expect_also(&r, "instance hub-a: 30 rows and 2 checkpoints sound "
	    "before it");
	for (s = 26; s <= NA; s++)
		grow_clear(&g[s]);
	free(b.s);
}

/* An anchor line forged, or signed with a key not given. */
static void
test_anchors_forged(void **state)
{
	struct run	 r;
	struct buf	 b = { NULL, 0, 0 };
	char		*p;
	FILE		*fp;

	anchor_cp(&b, &key_evil, "hub-a", 40, rows_a[40].hash,
	    cp_at_ms(0, 40));
	write_anchors(b.s);
	verify_anchored(&r, NULL);
	snprintf(b.s, b.cap, "anchors: anchor line 8 (instance hub-a, seq 40) "
	    "is signed with key %s, which is none of the public keys given",
	    key_evil.id);
	expect(&r, 1, b.s);
	expect_also(&r, "instance hub-a: intact");

	/* A digit of a signature changed. */
	b.len = 0;
	anchor_cp(&b, &key_a, "hub-a", 40, rows_a[40].hash, cp_at_ms(0, 40));
	assert_non_null(p = strstr(b.s, "signature=") + 10);
	*p = *p == '0' ? '1' : '0';
	write_anchors(b.s);
	verify_anchored(&r, NULL);
	expect(&r, 1, "anchors: anchor line 8 (instance hub-a, seq 40) has an "
	    "invalid signature");
	/* Its seq changed instead. */
	b.len = 0;
	anchor_cp(&b, &key_a, "hub-a", 40, rows_a[40].hash, cp_at_ms(0, 40));
	assert_non_null(p = strstr(b.s, "seq=40"));
	p[4] = '5';
	write_anchors(b.s);
	verify_anchored(&r, NULL);
	expect(&r, 1, "has an invalid signature");
	/* No anchor at all in the file is a usage error. */
	assert_non_null(fp = fopen(anchors_file, "w"));
	fputs("event=ready instance=hub-a\n", fp);
	assert_int_equal(fclose(fp), 0);
	verify_anchored(&r, NULL);
	expect(&r, 2, "no checkpoint or restore line");
	free(b.s);
}

/* Rows without a single checkpoint: nothing signed vouches for them. */
static void
test_unsigned_rows(void **state)
{
	struct run	r;

	tamper("DELETE FROM nwd.checkpoints WHERE instance = 'hub-b'");
	verify_std(&r, NULL);
	expect(&r, 1, "instance hub-b: 25 rows and no checkpoint: no "
	    "signature vouches for them");
	expect_also(&r, "instance hub-a: intact");
}

/*
 * The chain a real nwdd writes, with checkpoints signed by the test PKI's
 * audit key, verifies.  Skipped while this nwdd does not start or writes
 * no checkpoint.
 */
static void
test_daemon_chain(void **state)
{
	struct harness_daemon	*d;
	struct nwd_opts		 o;
	struct nwd_client	*c;
	enum nwd_status		 st;
	struct run		 r;
	char			 err[512], args[8192];
	int			 i;

	sql("postgres", "ALTER TABLE nwd.audit_events DISABLE TRIGGER ALL;\n"
	    "ALTER TABLE nwd.checkpoints DISABLE TRIGGER ALL;\n"
	    "TRUNCATE nwd.checkpoints, nwd.audit_events;\n"
	    "ALTER TABLE nwd.audit_events ENABLE TRIGGER ALL;\n"
	    "ALTER TABLE nwd.checkpoints ENABLE TRIGGER ALL;\n");
	if (!daemon_started) {
		print_message("nwdd did not start in the setup; skipping its "
		    "chain\n");
		skip();
	}
	if ((d = harness_daemon_start("checkpoint_rows = 2")) == NULL) {
		print_message("nwdd did not start; skipping its chain\n");
		skip();
	}
	for (i = 0; i < 3; i++) {
		o = harness_client("plo-ana");
		if ((c = nwd_connect(&o, &st, err, sizeof(err))) == NULL)
			fail_msg("connect: %s", err);
		assert_int_equal(nwd_ping(c, err, sizeof(err)), NWD_OK);
		nwd_close(c);
	}
	assert_int_equal(harness_daemon_stop(d), 0);
	if (sql_i64("SELECT count(*) FROM nwd.checkpoints") == 0) {
		print_message("nwdd wrote no checkpoint; skipping its chain\n");
		skip();
	}
	snprintf(args, sizeof(args), "--db '%s' --pubkey '%s'", auditor_db,
	    harness_pki("audit-signing.pub"));
	verify(&r, NULL, args);
	expect(&r, 0, ": intact: ");
	print_message("%s", r.out);
}

static int
group_setup(void **state)
{
	struct harness_daemon	*d;
	char			 out[256];

	/* nwdd --migrate makes the schema; the daemon itself is not needed
	 * (and may write rows: restore() empties the tables). */
	if ((d = harness_daemon_start(NULL)) != NULL) {
		daemon_started = 1;
		harness_daemon_stop(d);
	}
	if (harness_sql("postgres", "SELECT to_regclass('nwd.checkpoints') "
	    "IS NOT NULL", out, sizeof(out)) != 0 || strcmp(out, "t") != 0) {
		fprintf(stderr, "test_verify: no nwd.checkpoints after "
		    "migrating: %s\n", out);
		return -1;
	}
	/* The constraints restore() puts back if a test dropped them. */
	if (harness_sql("postgres", "DROP TABLE IF EXISTS "
	    "public.vfy_constraints;\nCREATE TABLE public.vfy_constraints AS "
	    "SELECT conrelid::regclass AS rel, conname::text AS name, "
	    "pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE "
	    "conrelid IN ('nwd.audit_events'::regclass, "
	    "'nwd.checkpoints'::regclass)", out, sizeof(out)) != 0) {
		fprintf(stderr, "test_verify: %s\n", out);
		return -1;
	}
	snprintf(auditor_db, sizeof(auditor_db), "host=127.0.0.1 port=%s "
	    "dbname=nwd user=nwd_auditor connect_timeout=5",
	    getenv("NWD_TEST_PGPORT"));
	key_new(&key_a, "hub-a");
	key_new(&key_b, "hub-b");
	key_new(&key_evil, "evil");
	golden_build();
	return 0;
}

static int
group_teardown(void **state)
{
	int64_t s;

	for (s = 1; s <= NA; s++)
		grow_clear(&rows_a[s]);
	for (s = 1; s <= NB; s++)
		grow_clear(&rows_b[s]);
	EVP_PKEY_free(key_a.pkey);
	EVP_PKEY_free(key_b.pkey);
	EVP_PKEY_free(key_evil.pkey);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_daemon_chain),
		cmocka_unit_test_setup(test_intact, restore),
		cmocka_unit_test_setup(test_environment_instance_and_keys,
		    restore),
		cmocka_unit_test_setup(test_usage_and_unreachable, restore),
		cmocka_unit_test_setup(test_edited_row, restore),
		cmocka_unit_test_setup(test_edited_representation, restore),
		cmocka_unit_test_setup(test_deleted_row, restore),
		cmocka_unit_test_setup(test_inserted_row, restore),
		cmocka_unit_test_setup(test_swapped_rows, restore),
		cmocka_unit_test_setup(test_truncated_tail, restore),
		cmocka_unit_test_setup(test_forged_checkpoint, restore),
		cmocka_unit_test_setup(test_checkpoint_hash_changed, restore),
		cmocka_unit_test_setup(test_rewritten_chain, restore),
		cmocka_unit_test_setup(test_large_chain, restore),
		cmocka_unit_test_setup(test_anchors_intact, restore),
		cmocka_unit_test_setup(test_anchors_truncated, restore),
		cmocka_unit_test_setup(test_anchors_rewritten, restore),
		cmocka_unit_test_setup(test_anchors_forged, restore),
		cmocka_unit_test_setup(test_unsigned_rows, restore),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("nwd audit verify", tests,
	    group_setup, group_teardown);
}
