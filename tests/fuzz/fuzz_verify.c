/*
 * fuzz_verify: the input of "nwd audit verify" (client/verify_core.c): an
 * instance's audit rows and checkpoints as the database prints them, and
 * the PEM public keys that sign checkpoints (daemon/chain.c's loader).
 *
 * The first byte chooses what the rest is (its value modulo 4):
 *
 *   0  text: lines of tab-separated columns, "\N" for NULL, read in the
 *      order given (the verifier must survive any order and any text):
 *        I NAME                      the instance ("I" alone: NULL)
 *        R id seq prev hash at_ok lists_ok F0 ... F15
 *        C seq hash at_ms at_ok key_id sig
 *        K                           no public key at all
 *      at_ok and lists_ok are true when they start with 't' or '1'.
 *   1  a sound chain built from the bytes (rows, field values, ids,
 *      checkpoints signed with a fixed key), then at most one tampering as
 *      an attacker with the database but not the signing key would do it
 *      (edit a field, delete a row, truncate the tail, rewrite from a row
 *      on with fresh hashes, forge a checkpoint, swap two rows' contents
 *      or ids, duplicate a row).  The verdict must be the one the
 *      tampering calls for -- intact, or a problem with exactly the rows
 *      before the first bad one counted sound.
 *   2  the same chain, then several arbitrary edits of any column (any
 *      text, NULL), deletions, duplicates and moves, in no sorted order:
 *      no crash, and an intact verdict must be self-consistent.
 *   3  a PEM file for chain_verifier_load(); a key that loads then checks
 *      a sound chain, which is intact only if it is the signing key.
 *
 * A broken promise prints what broke and aborts, so that libFuzzer keeps
 * the input.  With NWD_FUZZ_VERBOSE set in the environment each verdict
 * is printed, to see what an input does:
 *
 *   NWD_FUZZ_VERBOSE=1 build-fuzz/fuzz_verify tests/fuzz/corpus/verify/...
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* memfd_create */
#endif

#include <sys/mman.h>
#include <sys/types.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "chain.h"
#include "verify_core.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NAME		"fuzz_verify"
#define MAX_ROWS	32	/* rows of a built chain */
#define MAX_CPS		6	/* its checkpoints: signing is slow */
#define MAX_EDITS	8	/* edits of mode 2 */
#define MAX_TEXT	4096	/* rows plus checkpoints of mode 0 */
#define NCOLS_ROW	(6 + CHAIN_NFIELDS)
#define NCOLS_CP	6

/* The signing key of the built chains: fixed, so that its public PEM can
 * be a seed of mode 3.  It signs nothing but fuzz input. */
static const uint8_t key_seed[32] = {
	0x6e, 0x77, 0x64, 0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x76, 0x65,
	0x72, 0x69, 0x66, 0x79, 0x2d, 0x6f, 0x6e, 0x6c, 0x79, 0x2d, 0x6e,
	0x6f, 0x74, 0x2d, 0x61, 0x2d, 0x73, 0x65, 0x63, 0x72, 0x65,
};

static EVP_PKEY			*sign_key;	/* the fixed key */
static struct chain_verifier	*verifier;	/* its public half */
static int			 pem_fd = -1;	/* memfd for PEM input */
static char			 pem_path[64];	/* /proc/self/fd/N */
static int			 verbose;	/* NWD_FUZZ_VERBOSE set */

/* A row, every column as the database prints it; strings owned. */
struct frow {
	char	*col[4];		/* id, seq, prev, hash */
	int	 at_ok, lists_ok;
	char	*f[CHAIN_NFIELDS];
	int64_t	 id;			/* of a built row */
};
enum { COL_ID, COL_SEQ, COL_PREV, COL_HASH };

struct fcp {
	char	*col[5];		/* seq, hash, at_ms, key_id, sig */
	int	 at_ok;
	int64_t	 seq;			/* of a built checkpoint */
};
enum { CP_SEQ, CP_HASH, CP_AT, CP_KEY, CP_SIG };

struct fchain {
	char		*instance;	/* owned; NULL for none */
	struct frow	*rows;		/* owned, nrows */
	size_t		 nrows, rowcap;
	struct fcp	*cps;		/* owned, ncps */
	size_t		 ncps, cpcap;
	int		 nokeys;	/* walk with an empty keyring */
};

/* The source over a chain, in array order. */
struct fsource {
	const struct fchain	*c;
	size_t			 row, cp;
};

/* The bytes still to be read. */
struct bytes {
	const uint8_t	*p;
	size_t		 n;
};

static void
broken(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
broken(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "%s: ", NAME);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

static void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n, size)) == NULL)
		broken("out of memory");
	return p;
}

static char *
xstrdup(const char *s)
{
	char	*d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		broken("out of memory");
	return d;
}

static char *
xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
xprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n == -1)
		broken("out of memory");
	return s;
}

static unsigned int
take(struct bytes *b)
{
	if (b->n == 0)
		return 0;
	b->n--;
	return *b->p++;
}

/* A string of up to max bytes of input (a NUL ends it early). */
static char *
take_str(struct bytes *b, size_t max)
{
	size_t	 len = take(b) % (max + 1), i;
	char	*s;

	if (len > b->n)
		len = b->n;
	s = xcalloc(1, len + 1);
	for (i = 0; i < len; i++)
		s[i] = (char)b->p[i];
	b->p += len;
	b->n -= len;
	return s;
}

/* ------------------------------------------------------------------------
 * Chains
 */

static void
frow_clear(struct frow *r)
{
	int	i;

	for (i = 0; i < 4; i++)
		free(r->col[i]);
	for (i = 0; i < CHAIN_NFIELDS; i++)
		free(r->f[i]);
	memset(r, 0, sizeof(*r));
}

static void
fcp_clear(struct fcp *c)
{
	int	i;

	for (i = 0; i < 5; i++)
		free(c->col[i]);
	memset(c, 0, sizeof(*c));
}

static void
fchain_free(struct fchain *c)
{
	size_t	i;

	for (i = 0; i < c->nrows; i++)
		frow_clear(&c->rows[i]);
	for (i = 0; i < c->ncps; i++)
		fcp_clear(&c->cps[i]);
	free(c->rows);
	free(c->cps);
	free(c->instance);
	memset(c, 0, sizeof(*c));
}

static struct frow *
add_row(struct fchain *c)
{
	struct frow	*r;

	if (c->nrows == c->rowcap) {
		c->rowcap = c->rowcap ? 2 * c->rowcap : 16;
		if ((r = reallocarray(c->rows, c->rowcap, sizeof(*r))) == NULL)
			broken("out of memory");
		c->rows = r;
	}
	r = &c->rows[c->nrows++];
	memset(r, 0, sizeof(*r));
	return r;
}

static struct fcp *
add_cp(struct fchain *c)
{
	struct fcp	*p;

	if (c->ncps == c->cpcap) {
		c->cpcap = c->cpcap ? 2 * c->cpcap : 8;
		if ((p = reallocarray(c->cps, c->cpcap, sizeof(*p))) == NULL)
			broken("out of memory");
		c->cps = p;
	}
	p = &c->cps[c->ncps++];
	memset(p, 0, sizeof(*p));
	return p;
}

static void
frow_copy(struct frow *dst, const struct frow *src)
{
	int	i;

	for (i = 0; i < 4; i++)
		dst->col[i] = xstrdup(src->col[i]);
	for (i = 0; i < CHAIN_NFIELDS; i++)
		dst->f[i] = xstrdup(src->f[i]);
	dst->at_ok = src->at_ok;
	dst->lists_ok = src->lists_ok;
	dst->id = src->id;
}

static void
set_str(char **slot, char *value)
{
	free(*slot);
	*slot = value;
}

static int
src_row(void *arg, struct verify_row *out)
{
	struct fsource		*s = arg;
	const struct frow	*r;
	int			 i;

	if (s->row >= s->c->nrows)
		return 0;
	r = &s->c->rows[s->row++];
	out->id = r->col[COL_ID];
	out->seq = r->col[COL_SEQ];
	out->prev_hex = r->col[COL_PREV];
	out->hash_hex = r->col[COL_HASH];
	out->at_ok = r->at_ok;
	out->lists_ok = r->lists_ok;
	for (i = 0; i < CHAIN_NFIELDS; i++)
		out->field[i] = r->f[i];
	return 1;
}

static int
src_cp(void *arg, struct verify_checkpoint *out)
{
	struct fsource		*s = arg;
	const struct fcp	*p;

	if (s->cp >= s->c->ncps)
		return 0;
	p = &s->c->cps[s->cp++];
	out->seq = p->col[CP_SEQ];
	out->hash_hex = p->col[CP_HASH];
	out->at_ms = p->col[CP_AT];
	out->at_ok = p->at_ok;
	out->key_id = p->col[CP_KEY];
	out->sig_hex = p->col[CP_SIG];
	return 1;
}

/*
 * Walks c with the keys given (the fixed key if kr is NULL) and checks
 * what must hold of any verdict.  in is cleared first; the caller clears
 * it after.
 */
static void
walk(const struct fchain *c, const struct verify_keyring *kr,
    struct verify_inst *in)
{
	struct chain_verifier	*one[1] = { verifier };
	struct verify_keyring	 fixed = { one, 1 }, none = { NULL, 0 };
	struct fsource		 fs = { c, 0, 0 };
	struct verify_source	 src = { src_row, src_cp, &fs };
	char			 err[256], buf[256];
	size_t			 len;

	memset(in, 0, sizeof(*in));
	in->name = xstrdup(c->instance);
	if (kr == NULL)
		kr = c->nokeys ? &none : &fixed;
	if (verify_walk(in, kr, &src, err, sizeof(err)) != 0)
		broken("verify_walk failed: %s", err);
	if (verbose)
		fprintf(stderr, "%s: %zu rows, %zu checkpoints: %" PRId64
		    " and %" PRId64 " sound, head %" PRId64 ": %s\n", NAME,
		    c->nrows, c->ncps, in->rows, in->cps, in->head,
		    in->problem != NULL ? in->problem : "intact");
	if (in->rows < 0 || (uint64_t)in->rows > c->nrows ||
	    in->cps < 0 || (uint64_t)in->cps > c->ncps)
		broken("counted %" PRId64 " rows and %" PRId64 " checkpoints "
		    "of %zu and %zu", in->rows, in->cps, c->nrows, c->ncps);
	if (in->problem != NULL) {
		len = strlen(in->problem);
		if (len == 0 || len >= VERIFY_PROBLEM_MAX)
			broken("a problem of %zu bytes", len);
		(void)verify_printable(in->problem, buf, sizeof(buf));
		return;
	}
	/* Intact: every row and checkpoint was read and found sound. */
	if ((size_t)in->rows != c->nrows || (size_t)in->cps != c->ncps)
		broken("intact after %" PRId64 " of %zu rows and %" PRId64
		    " of %zu checkpoints", in->rows, c->nrows, in->cps,
		    c->ncps);
	if (in->head != in->rows)
		broken("intact with head %" PRId64 " after %" PRId64 " rows",
		    in->head, in->rows);
	if (in->cps > 0 && (in->last_cp < 1 || in->last_cp > in->head))
		broken("intact with the last checkpoint at %" PRId64 " and "
		    "head %" PRId64, in->last_cp, in->head);
}

/* ------------------------------------------------------------------------
 * Building a sound chain
 */

static void
hex(const uint8_t *p, size_t n, char *out)
{
	static const char	digits[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static int
hex_to(const char *s, uint8_t out[CHAIN_HASH_LEN])
{
	unsigned int	v;
	size_t		i;

	if (s == NULL || strlen(s) != 2 * CHAIN_HASH_LEN)
		return -1;
	for (i = 0; i < CHAIN_HASH_LEN; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* Recomputes row r's hash over its fields with prev (hex), as the daemon
 * writes it.  */
static void
rehash(struct frow *r, const char *prev_hex)
{
	struct chain_row	row;
	uint8_t			prev[CHAIN_HASH_LEN], h[CHAIN_HASH_LEN];
	char			out[2 * CHAIN_HASH_LEN + 1];
	int			i;

	if (hex_to(prev_hex, prev) == -1)
		broken("a built prev_hash does not decode");
	for (i = 0; i < CHAIN_NFIELDS; i++)
		row.field[i] = r->f[i];
	if (chain_hash(prev, &row, h) == -1)
		broken("chain_hash failed");
	hex(h, sizeof(h), out);
	set_str(&r->col[COL_PREV], xstrdup(prev_hex));
	set_str(&r->col[COL_HASH], xstrdup(out));
}

/* Signs a checkpoint of instance at seq over hash_hex, at at_ms. */
static void
sign_cp(struct fcp *p, const char *instance, int64_t seq,
    const char *hash_hex, int64_t at_ms)
{
	EVP_MD_CTX	*md;
	uint8_t		 h[CHAIN_HASH_LEN], sig[CHAIN_SIG_LEN];
	char		 text[4096 + 256], sighex[2 * CHAIN_SIG_LEN + 1];
	size_t		 siglen = sizeof(sig);
	int		 n;

	if (hex_to(hash_hex, h) == -1)
		broken("a built row hash does not decode");
	n = chain_checkpoint_text(instance, seq, h, at_ms, text,
	    sizeof(text));
	if (n < 0)
		broken("chain_checkpoint_text failed");
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, NULL, NULL, sign_key) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (uint8_t *)text, (size_t)n) != 1 ||
	    siglen != sizeof(sig))
		broken("signing a checkpoint failed");
	EVP_MD_CTX_free(md);
	hex(sig, sizeof(sig), sighex);
	p->seq = seq;
	p->col[CP_SEQ] = xprintf("%" PRId64, seq);
	p->col[CP_HASH] = xstrdup(hash_hex);
	p->col[CP_AT] = xprintf("%" PRId64, at_ms);
	p->col[CP_KEY] = xstrdup(chain_verifier_key_id(verifier));
	p->col[CP_SIG] = xstrdup(sighex);
	p->at_ok = 1;
}

static const char *const actors[] = { "plo-ana", "sw-ben", "duty-mash",
    "cert:CN=stranger", "" };
static const char *const actions[] = { "publish", "deliver", "refuse",
    "connect", "disconnect", "auth_refused", "protocol_error" };
static const char *const lists[] = { "", "name", "name,dob", "risk.summary",
    "a,,b" };

/*
 * Builds a sound chain from the input: its instance, rows, ids and field
 * values, and a checkpoint every few rows (and maybe at the head).
 */
static void
build_chain(struct bytes *b, struct fchain *c)
{
	struct frow	*r;
	struct fcp	*p;
	int64_t		 id = 0, at = 1700000000000LL;
	size_t		 n, every, i;
	unsigned int	 bits;
	char		 zero[2 * CHAIN_HASH_LEN + 1];

	memset(c, 0, sizeof(*c));
	memset(zero, '0', 2 * CHAIN_HASH_LEN);
	zero[2 * CHAIN_HASH_LEN] = '\0';
	c->instance = take_str(b, 24);
	if (c->instance[0] == '\0')
		set_str(&c->instance, xstrdup("nwdd-1"));
	n = take(b) % (MAX_ROWS + 1);
	every = 1 + take(b) % 12;
	if (n / every > MAX_CPS)
		every = n / MAX_CPS + 1;
	for (i = 0; i < n; i++) {
		r = add_row(c);
		bits = take(b);
		id += 1 + take(b) % 3;
		at += take(b) * 7;
		r->id = id;
		r->col[COL_ID] = xprintf("%" PRId64, id);
		r->col[COL_SEQ] = xprintf("%zu", i + 1);
		r->at_ok = r->lists_ok = 1;
		r->f[CHAIN_F_INSTANCE] = xstrdup(c->instance);
		r->f[CHAIN_F_SEQ] = xstrdup(r->col[COL_SEQ]);
		r->f[CHAIN_F_AT] = xprintf("%" PRId64, at);
		r->f[CHAIN_F_ACTOR] = xstrdup(actors[bits % 5]);
		r->f[CHAIN_F_ACTION] = xstrdup(actions[(bits >> 3) % 7]);
		if (bits & 0x40) {
			r->f[CHAIN_F_MESSAGE_ID] = xprintf("0f8fad5b-d9cb-469f-"
			    "a165-%012zx", i);
			r->f[CHAIN_F_SUBJECT] = take_str(b, 16);
			r->f[CHAIN_F_KIND] = xprintf("%u", 1 + bits % 9);
			r->f[CHAIN_F_RECIPIENT] = xstrdup(actors[(bits + 1) %
			    5]);
			r->f[CHAIN_F_RULE] = xstrdup("share-health");
		}
		r->f[CHAIN_F_FIELDS_SHARED] = xstrdup(lists[bits % 5]);
		r->f[CHAIN_F_FIELDS_WITHHELD] = xstrdup(lists[(bits >> 2) % 5]);
		r->f[CHAIN_F_POLICY_VERSION] = xstrdup("a1b2c3");
		if (bits & 0x80)
			r->f[CHAIN_F_REASON] = take_str(b, 32);
		r->f[CHAIN_F_PEER] = xprintf("127.0.0.1:%u", 40000 + bits);
		r->f[CHAIN_F_SESSION] = xprintf("s%zu", i + 1);
		rehash(r, i == 0 ? zero : c->rows[i - 1].col[COL_HASH]);
	}
	for (i = every; i <= n; i += every) {
		p = add_cp(c);
		sign_cp(p, c->instance, (int64_t)i,
		    c->rows[i - 1].col[COL_HASH], at + (int64_t)i);
	}
	/* Sometimes also a checkpoint at the head. */
	if (n > 0 && n % every != 0 && (take(b) & 1)) {
		p = add_cp(c);
		sign_cp(p, c->instance, (int64_t)n,
		    c->rows[n - 1].col[COL_HASH], at + (int64_t)n);
	}
}

/* The seq of the first checkpoint at or above seq, or 0 if none. */
static int64_t
cp_at_or_above(const struct fchain *c, int64_t seq)
{
	size_t	i;

	for (i = 0; i < c->ncps; i++)
		if (c->cps[i].seq >= seq)
			return c->cps[i].seq;
	return 0;
}

static void
delete_row(struct fchain *c, size_t i)
{
	frow_clear(&c->rows[i]);
	memmove(&c->rows[i], &c->rows[i + 1],
	    (c->nrows - i - 1) * sizeof(c->rows[0]));
	c->nrows--;
}

/* A different hex digit at position pos of s. */
static void
flip_hex(char *s, size_t pos)
{
	static const char	digits[] = "0123456789abcdef";
	const char		*d;
	size_t			 len = strlen(s);

	if (len == 0)
		return;
	pos %= len;
	d = strchr(digits, s[pos]);
	s[pos] = d != NULL ? digits[(d - digits + 1) % 16] : '0';
}

/*
 * Mode 1: at most one tampering, and the verdict it calls for.  sound is
 * then the number of rows the verifier must count sound before the
 * problem, or -1 if the chain must still be intact.
 */
static void
tamper_one(struct bytes *b, struct fchain *c)
{
	struct verify_inst	 in;
	struct frow		*r, *s, tmp;
	char			*v, *old;
	size_t			 n = c->nrows, i, j, f;
	int64_t			 sound = -1, cp, maxid = 0;
	int			 k;
	const char		*what = "nothing";

	i = n > 0 ? take(b) % n : 0;		/* the row, from 0 */
	switch (n == 0 ? 0 : take(b) % 8) {
	case 0:
		break;
	case 1:
		/* Edit a field; not the instance or seq, which move or
		 * renumber the row rather than alter it. */
		what = "an edited field";
		f = take(b) % CHAIN_NFIELDS;
		if (f == CHAIN_F_INSTANCE || f == CHAIN_F_SEQ)
			f = CHAIN_F_REASON;
		v = take(b) & 1 ? take_str(b, 16) : NULL;
		old = c->rows[i].f[f];
		if ((v == NULL) != (old == NULL) || (v != NULL &&
		    strcmp(v, old) != 0))
			sound = (int64_t)i;
		set_str(&c->rows[i].f[f], v);
		break;
	case 2:
		/* Delete a row: a gap, or a tail cut behind a checkpoint. */
		what = "a deleted row";
		if (i + 1 < n || cp_at_or_above(c, (int64_t)n) == (int64_t)n)
			sound = (int64_t)i;
		delete_row(c, i);
		break;
	case 3:
		/* Truncate the tail from row i on. */
		what = "a truncated tail";
		if (cp_at_or_above(c, (int64_t)i + 1) != 0)
			sound = (int64_t)i;
		while (c->nrows > i)
			delete_row(c, c->nrows - 1);
		break;
	case 4:
		/* Rewrite from row i on with fresh hashes: caught by the
		 * first checkpoint at or above it, after its row. */
		what = "a rewritten chain";
		r = &c->rows[i];
		set_str(&r->f[CHAIN_F_REASON], xprintf("%s+",
		    r->f[CHAIN_F_REASON] != NULL ? r->f[CHAIN_F_REASON] : ""));
		rehash(r, r->col[COL_PREV]);
		for (j = i + 1; j < n; j++)
			rehash(&c->rows[j], c->rows[j - 1].col[COL_HASH]);
		if ((cp = cp_at_or_above(c, (int64_t)i + 1)) != 0)
			sound = cp;
		break;
	case 5:
		/* Forge a checkpoint: any one of its columns. */
		if (c->ncps == 0)
			break;
		what = "a forged checkpoint";
		j = take(b) % c->ncps;
		k = (int)(take(b) % 4);
		if (k == 0)
			flip_hex(c->cps[j].col[CP_SIG], take(b));
		else if (k == 1)
			flip_hex(c->cps[j].col[CP_HASH], take(b));
		else if (k == 2)
			flip_hex(c->cps[j].col[CP_KEY], take(b));
		else
			set_str(&c->cps[j].col[CP_AT], xprintf("%" PRId64,
			    (int64_t)strtoll(c->cps[j].col[CP_AT], NULL, 10) +
			    1 + take(b)));
		sound = c->cps[j].seq;
		break;
	case 6:
		/* Swap two neighbours' contents (ids stay), or their ids. */
		if (i + 1 >= n)
			break;
		r = &c->rows[i];
		s = &c->rows[i + 1];
		if (take(b) & 1) {
			what = "swapped ids";
			old = r->col[COL_ID];
			r->col[COL_ID] = s->col[COL_ID];
			s->col[COL_ID] = old;
			sound = (int64_t)i + 1;
		} else {
			what = "swapped rows";
			tmp = *r;
			*r = *s;
			*s = tmp;
			old = r->col[COL_ID];
			r->col[COL_ID] = s->col[COL_ID];
			s->col[COL_ID] = old;
			/* The seq columns moved too: back in seq order. */
			old = r->col[COL_SEQ];
			r->col[COL_SEQ] = s->col[COL_SEQ];
			s->col[COL_SEQ] = old;
			sound = (int64_t)i;
		}
		break;
	case 7:
		/* A copy of a row under a new, higher id: read after it. */
		what = "a duplicated row";
		for (j = 0; j < n; j++)
			if (c->rows[j].id > maxid)
				maxid = c->rows[j].id;
		memset(&tmp, 0, sizeof(tmp));
		frow_copy(&tmp, &c->rows[i]);
		set_str(&tmp.col[COL_ID], xprintf("%" PRId64, maxid + 1));
		(void)add_row(c);
		memmove(&c->rows[i + 2], &c->rows[i + 1],
		    (n - i - 1) * sizeof(c->rows[0]));
		c->rows[i + 1] = tmp;
		sound = (int64_t)i + 1;
		break;
	}
	walk(c, NULL, &in);
	if (sound == -1 && in.problem != NULL)
		broken("%s (row %zu) is not tampering, yet: %s", what, i + 1,
		    in.problem);
	if (sound != -1 && in.problem == NULL)
		broken("%s (row %zu) was not found: intact with %" PRId64
		    " rows", what, i + 1, in.rows);
	if (sound != -1 && in.rows != sound)
		broken("%s (row %zu): %" PRId64 " rows counted sound, not %"
		    PRId64 ": %s", what, i + 1, in.rows, sound, in.problem);
	verify_inst_clear(&in);
}

/* Mode 2: several arbitrary edits, in no sorted order. */
static void
tamper_many(struct bytes *b, struct fchain *c)
{
	struct verify_inst	 in;
	struct frow		*r;
	struct fcp		*p;
	size_t			 e, nedits = 1 + take(b) % MAX_EDITS, i;
	unsigned int		 op, col;
	char			*v;

	for (e = 0; e < nedits && b->n > 0; e++) {
		op = take(b) % 6;
		col = take(b);
		v = col & 0x80 ? NULL : take_str(b, 80);
		switch (op) {
		case 0:		/* any column of a row */
			if (c->nrows == 0)
				break;
			r = &c->rows[take(b) % c->nrows];
			col %= 4 + CHAIN_NFIELDS + 2;
			if (col < 4) {
				set_str(&r->col[col], v);
				v = NULL;
			} else if (col < 4 + CHAIN_NFIELDS) {
				set_str(&r->f[col - 4], v);
				v = NULL;
			} else if (col == 4 + CHAIN_NFIELDS)
				r->at_ok = !r->at_ok;
			else
				r->lists_ok = !r->lists_ok;
			break;
		case 1:		/* any column of a checkpoint */
			if (c->ncps == 0)
				break;
			p = &c->cps[take(b) % c->ncps];
			col %= 6;
			if (col < 5) {
				set_str(&p->col[col], v);
				v = NULL;
			} else
				p->at_ok = !p->at_ok;
			break;
		case 2:		/* delete a row or a checkpoint */
			if (col & 1 && c->nrows > 0)
				delete_row(c, take(b) % c->nrows);
			else if (c->ncps > 0) {
				i = take(b) % c->ncps;
				fcp_clear(&c->cps[i]);
				memmove(&c->cps[i], &c->cps[i + 1],
				    (c->ncps - i - 1) * sizeof(c->cps[0]));
				c->ncps--;
			}
			break;
		case 3:		/* duplicate a row at the end */
			if (c->nrows == 0)
				break;
			i = take(b) % c->nrows;
			r = add_row(c);
			frow_copy(r, &c->rows[i]);
			break;
		case 4:		/* move a row */
			if (c->nrows < 2)
				break;
			{
				struct frow	tmp;
				size_t		a = take(b) % c->nrows;
				size_t		z = take(b) % c->nrows;

				tmp = c->rows[a];
				c->rows[a] = c->rows[z];
				c->rows[z] = tmp;
			}
			break;
		case 5:		/* the instance */
			set_str(&c->instance, v);
			v = NULL;
			break;
		}
		free(v);
	}
	walk(c, NULL, &in);
	verify_inst_clear(&in);
}

/* ------------------------------------------------------------------------
 * Mode 0: text
 */

/* Splits line (modified) at tabs into at most max columns; "\N" is NULL. */
static size_t
split(char *line, char **cols, size_t max)
{
	size_t	n = 0;
	char	*p = line, *tab;

	while (n < max) {
		tab = strchr(p, '\t');
		if (tab != NULL)
			*tab = '\0';
		cols[n++] = strcmp(p, "\\N") == 0 ? NULL : p;
		if (tab == NULL)
			break;
		p = tab + 1;
	}
	return n;
}

static int
truth(const char *s)
{
	return s != NULL && (s[0] == 't' || s[0] == '1');
}

static void
from_text(const uint8_t *data, size_t size)
{
	struct fchain		 c;
	struct verify_inst	 in;
	struct frow		*r;
	struct fcp		*p;
	char			*text, *line, *next, *cols[1 + NCOLS_ROW];
	size_t			 n, i, items = 0;

	memset(&c, 0, sizeof(c));
	c.instance = xstrdup("nwdd-1");
	text = xcalloc(1, size + 1);
	memcpy(text, data, size);
	for (line = text; line != NULL && items < MAX_TEXT; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		memset(cols, 0, sizeof(cols));
		n = split(line, cols, 1 + NCOLS_ROW);
		if (cols[0] == NULL)
			continue;
		if (strcmp(cols[0], "I") == 0)
			set_str(&c.instance, n > 1 ? xstrdup(cols[1]) : NULL);
		else if (strcmp(cols[0], "K") == 0)
			c.nokeys = 1;
		else if (strcmp(cols[0], "R") == 0) {
			r = add_row(&c);
			items++;
			for (i = 0; i < 4; i++)
				r->col[i] = xstrdup(cols[1 + i]);
			r->at_ok = truth(cols[5]);
			r->lists_ok = truth(cols[6]);
			for (i = 0; i < CHAIN_NFIELDS; i++)
				r->f[i] = xstrdup(cols[7 + i]);
		} else if (strcmp(cols[0], "C") == 0) {
			p = add_cp(&c);
			items++;
			p->col[CP_SEQ] = xstrdup(cols[1]);
			p->col[CP_HASH] = xstrdup(cols[2]);
			p->col[CP_AT] = xstrdup(cols[3]);
			p->at_ok = truth(cols[4]);
			p->col[CP_KEY] = xstrdup(cols[5]);
			p->col[CP_SIG] = xstrdup(cols[6]);
		}
	}
	free(text);
	walk(&c, NULL, &in);
	verify_inst_clear(&in);
	fchain_free(&c);
}

/* ------------------------------------------------------------------------
 * Mode 3: a PEM public key
 */

static void
from_pem(const uint8_t *data, size_t size)
{
	struct chain_verifier	*v, *one[1];
	struct verify_keyring	 kr;
	struct verify_inst	 in;
	struct fchain		 c;
	struct bytes		 b = { (const uint8_t *)"\0\x0c\x03", 3 };
	char			 err[512];
	int			 same;

	if (ftruncate(pem_fd, 0) == -1 ||
	    (size > 0 && pwrite(pem_fd, data, size, 0) != (ssize_t)size))
		broken("cannot write the PEM to a memfd");
	if ((v = chain_verifier_load(pem_path, err, sizeof(err))) == NULL) {
		if (err[0] == '\0')
			broken("chain_verifier_load failed without a reason");
		return;
	}
	if (strlen(chain_verifier_key_id(v)) != 16)
		broken("a key id of %zu characters",
		    strlen(chain_verifier_key_id(v)));
	same = strcmp(chain_verifier_key_id(v),
	    chain_verifier_key_id(verifier)) == 0;
	/* Twelve rows, a checkpoint every three, with the loaded key. */
	build_chain(&b, &c);
	one[0] = v;
	kr.v = one;
	kr.n = 1;
	walk(&c, &kr, &in);
	if (same != (in.problem == NULL))
		broken("a key %s the signing key judged the chain %s",
		    same ? "equal to" : "other than",
		    in.problem == NULL ? "intact" : in.problem);
	verify_inst_clear(&in);
	fchain_free(&c);
	chain_verifier_free(v);
}

/* ------------------------------------------------------------------------
 * The target
 */

static void
init(void)
{
	BIO	*bio;
	char	*pem;
	long	 len;
	char	 err[512];

	if ((sign_key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
	    key_seed, sizeof(key_seed))) == NULL)
		broken("cannot make the signing key");
	if ((pem_fd = memfd_create("fuzz_verify.pem", MFD_CLOEXEC)) == -1)
		broken("memfd_create failed");
	snprintf(pem_path, sizeof(pem_path), "/proc/self/fd/%d", pem_fd);
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PUBKEY(bio, sign_key) != 1 ||
	    (len = BIO_get_mem_data(bio, &pem)) <= 0 ||
	    pwrite(pem_fd, pem, (size_t)len, 0) != len)
		broken("cannot write the public key");
	BIO_free(bio);
	if ((verifier = chain_verifier_load(pem_path, err,
	    sizeof(err))) == NULL)
		broken("cannot load the public key: %s", err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bytes	b;
	struct fchain	c;
	unsigned int	mode;

	if (sign_key == NULL) {
		init();
		verbose = getenv("NWD_FUZZ_VERBOSE") != NULL;
	}
	if (size == 0)
		return 0;
	mode = data[0] % 4;
	b.p = data + 1;
	b.n = size - 1;
	switch (mode) {
	case 0:
		from_text(b.p, b.n);
		break;
	case 1:
		build_chain(&b, &c);
		tamper_one(&b, &c);
		fchain_free(&c);
		break;
	case 2:
		build_chain(&b, &c);
		tamper_many(&b, &c);
		fchain_free(&c);
		break;
	case 3:
		from_pem(b.p, b.n);
		break;
	}
	return 0;
}
