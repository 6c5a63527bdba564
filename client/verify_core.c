/*
 * verify_core: the checks of "nwd audit verify" on one instance's chain.
 * See verify_core.h and chain.h.
 *
 * The database's representation must be the one the daemon writes, or two
 * different rows could encode to the same canonical bytes: a timestamp
 * with sub-millisecond digits or a field list that does not survive
 * string_to_array(array_to_string(x, ','), ',') is an altered row even
 * though its hash might match.  The source reports both (at_ok,
 * lists_ok).
 *
 * The anchors are read first, whole (they are small: a line per
 * checkpoint), and merged with each instance's rows as they stream.
 */
#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain.h"
#include "verify_core.h"

/* The previous rows of the chain being walked. */
struct walk {
	int		have_prev, have_pprev;
	int64_t		prev_seq, prev_id;
	uint8_t		prev_hash[CHAIN_HASH_LEN];
	uint8_t		pprev_hash[CHAIN_HASH_LEN];
};

/* ------------------------------------------------------------------------
 * Small helpers
 */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes exactly n bytes of lower- or upper-case hex; -1 otherwise. */
static int
hex_decode(const char *s, uint8_t *out, size_t n)
{
	size_t	i;
	int	hi, lo;

	if (s == NULL || strlen(s) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		if ((hi = hexval(s[2 * i])) < 0 ||
		    (lo = hexval(s[2 * i + 1])) < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* strtoll of a whole decimal string; -1 if it is not one. */
static int
parse_i64(const char *s, int64_t *out)
{
	char		*end;
	long long	 v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static void	fmt_ms_i64(int64_t ms, char *buf, size_t len);
static int	check_message(struct verify_inst *, const struct verify_row *,
		    int64_t, int64_t);

/* "2024-05-01T12:00:00.123Z" for Unix milliseconds. */
static void
fmt_ms(const char *ms_text, char *buf, size_t len)
{
	int64_t	ms;

	if (parse_i64(ms_text, &ms) == -1) {
		snprintf(buf, len, "an invalid time");
		return;
	}
	fmt_ms_i64(ms, buf, len);
}

static void
fmt_ms_i64(int64_t ms, char *buf, size_t len)
{
	struct tm	tm;
	int64_t		sec, frac;
	time_t		t;

	sec = ms / 1000;
	frac = ms % 1000;
	if (frac < 0) {
		frac += 1000;
		sec--;
	}
	t = (time_t)sec;
	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(buf, len, "%" PRId64 " ms", ms);
		return;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)frac);
}

const char *
verify_printable(const char *s, char *buf, size_t len)
{
	size_t	i;

	if (s == NULL)
		return "(null)";
	if (len == 0)
		return "";
	for (i = 0; s[i] != '\0' && i + 1 < len && i < 200; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' :
		    s[i];
	buf[i] = '\0';
	return buf;
}

int
verify_set_problem(struct verify_inst *in, const char *fmt, ...)
{
	va_list	ap;
	char	buf[VERIFY_PROBLEM_MAX];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	free(in->problem);
	if ((in->problem = strdup(buf)) == NULL)
		return -1;
	return 0;
}

void
verify_inst_clear(struct verify_inst *in)
{
	free(in->name);
	free(in->problem);
	memset(in, 0, sizeof(*in));
}

/* ------------------------------------------------------------------------
 * Checking
 */

static const struct chain_verifier *
keyring_find(const struct verify_keyring *kr, const char *key_id)
{
	size_t	i;

	if (key_id == NULL)
		return NULL;
	for (i = 0; i < kr->n; i++)
		if (strcmp(chain_verifier_key_id(kr->v[i]), key_id) == 0)
			return kr->v[i];
	return NULL;
}

/*
 * Checks checkpoint c.  row_hash is the hash of the (sound) row at its
 * seq, with row_id that row's id, or NULL when the chain ends before it.
 * Returns 1 if sound, 0 after setting the instance's problem, -1 on an
 * internal error.
 */
static int
check_checkpoint(struct verify_inst *in, const struct verify_keyring *kr,
    const struct verify_checkpoint *c, const uint8_t *row_hash,
    const char *row_id)
{
	const struct chain_verifier	*v;
	uint8_t		 hash[CHAIN_HASH_LEN], sig[CHAIN_SIG_LEN];
	char		 at[48], pk[256], text[4096], *big = NULL;
	const char	*why = NULL;
	int64_t		 seq, at_ms;
	size_t		 need;
	int		 sig_ok = 0, hash_ok, have_hash, n;

	fmt_ms(c->at_ms, at, sizeof(at));
	if (in->name == NULL)
		return verify_set_problem(in, "a checkpoint (seq %s, signed at "
		    "%s) has no instance", c->seq != NULL ? c->seq : "none",
		    at) == -1 ? -1 : 0;
	if (parse_i64(c->seq, &seq) == -1)
		return verify_set_problem(in, "a checkpoint (signed at %s) has "
		    "no seq", at) == -1 ? -1 : 0;
	have_hash = hex_decode(c->hash_hex, hash, sizeof(hash)) == 0;
	hash_ok = have_hash && row_hash != NULL &&
	    memcmp(hash, row_hash, CHAIN_HASH_LEN) == 0;

	if ((v = keyring_find(kr, c->key_id)) == NULL) {
		if (row_hash == NULL || hash_ok)
			return verify_set_problem(in, "checkpoint at seq %"
			    PRId64 " (signed at %s) names key %s, which is "
			    "none of the public keys given", seq, at,
			    c->key_id == NULL ? "(none)" :
			    verify_printable(c->key_id, pk, sizeof(pk))) ==
			    -1 ? -1 : 0;
		return verify_set_problem(in, "checkpoint at seq %" PRId64
		    " (signed at %s) names key %s, which is none of the "
		    "public keys given, and its hash does not match row seq %"
		    PRId64 " (id %s)", seq, at, c->key_id == NULL ? "(none)" :
		    verify_printable(c->key_id, pk, sizeof(pk)), seq,
		    row_id) == -1 ? -1 : 0;
	}
	if (!have_hash)
		why = "its hash is not 32 bytes";
	else if (hex_decode(c->sig_hex, sig, sizeof(sig)) == -1)
		why = "it is not 64 bytes";
	else if (parse_i64(c->at_ms, &at_ms) == -1 || !c->at_ok)
		why = "its time is not a whole millisecond";
	if (why == NULL) {
		need = strlen(in->name) + 2 * CHAIN_HASH_LEN + 80;
		if (need > sizeof(text) && (big = malloc(need)) == NULL)
			return -1;
		n = chain_checkpoint_text(in->name, seq, hash, at_ms,
		    big != NULL ? big : text, big != NULL ? need :
		    sizeof(text));
		if (n < 0) {
			free(big);
			return -1;
		}
		sig_ok = chain_verify(v, big != NULL ? big : text, (size_t)n,
		    sig);
		free(big);
	}
	if (sig_ok && (row_hash == NULL || hash_ok))
		return 1;
	if (sig_ok) {
		char	want[2 * CHAIN_HASH_LEN + 1];
		char	got[2 * CHAIN_HASH_LEN + 1];

		chain_hex(hash, got);
		chain_hex(row_hash, want);
		return verify_set_problem(in, "checkpoint at seq %" PRId64
		    " (signed at %s) does not match row seq %" PRId64 " (id "
		    "%s): the checkpoint hash %s is not the row's hash %s, so "
		    "the chain up to seq %" PRId64 " was rewritten", seq, at,
		    seq, row_id, got, want, seq) == -1 ? -1 : 0;
	}
	if (row_hash == NULL || hash_ok)
		return verify_set_problem(in, "checkpoint at seq %" PRId64
		    " (signed at %s) has an invalid signature%s%s%s", seq, at,
		    why != NULL ? " (" : "", why != NULL ? why : "",
		    why != NULL ? ")" : "") == -1 ? -1 : 0;
	return verify_set_problem(in, "checkpoint at seq %" PRId64 " (signed "
	    "at %s) has an invalid signature, and its hash does not match "
	    "row seq %" PRId64 " (id %s)", seq, at, seq, row_id) == -1 ?
	    -1 : 0;
}

/*
 * Checks row r against the walk so far.  Returns 1 if sound (the walk
 * then includes it), 0 after setting the problem, -1 on an internal
 * error.
 */
static int
check_row(struct verify_inst *in, struct walk *w, const struct verify_row *r)
{
	static const uint8_t	zero[CHAIN_HASH_LEN];
	struct chain_row	row;
	uint8_t		 prev[CHAIN_HASH_LEN], hash[CHAIN_HASH_LEN];
	uint8_t		 computed[CHAIN_HASH_LEN];
	int64_t		 seq, id, want;
	int		 i;

	if (r->id == NULL || parse_i64(r->id, &id) == -1)
		return verify_set_problem(in, "a row has no id") == -1 ? -1 :
		    0;
	if (in->name == NULL)
		return verify_set_problem(in, "row id %s has no instance: it "
		    "belongs to no chain", r->id) == -1 ? -1 : 0;
	if (parse_i64(r->seq, &seq) == -1)
		return verify_set_problem(in, "row id %s has no seq: it is not "
		    "part of the chain", r->id) == -1 ? -1 : 0;

	/* Continuity: 1, 2, 3, ... (prev_seq counts up from 1, so the
	 * additions below cannot overflow). */
	want = w->have_prev ? w->prev_seq + 1 : 1;
	if (w->have_prev && seq == w->prev_seq)
		return verify_set_problem(in, "row seq %" PRId64 " appears "
		    "twice (ids %" PRId64 " and %" PRId64 "): a row was "
		    "inserted", seq, w->prev_id, id) == -1 ? -1 : 0;
	if (seq < want)
		return verify_set_problem(in, "row seq %" PRId64 " (id %" PRId64
		    ") is not a valid seq (the chain starts at seq 1)", seq,
		    id) == -1 ? -1 : 0;
	if (seq == 2 && !w->have_prev)
		return verify_set_problem(in, "row seq 1 is missing (the chain "
		    "starts at seq 2)") == -1 ? -1 : 0;
	if (seq > want && !w->have_prev)
		return verify_set_problem(in, "rows seq 1 to %" PRId64 " are "
		    "missing (the chain starts at seq %" PRId64 ")", seq - 1,
		    seq) == -1 ? -1 : 0;
	if (seq > want && seq == want + 1)
		return verify_set_problem(in, "row seq %" PRId64 " is missing "
		    "(the chain jumps from %" PRId64 " to %" PRId64 ")", want,
		    w->prev_seq, seq) == -1 ? -1 : 0;
	if (seq > want)
		return verify_set_problem(in, "rows seq %" PRId64 " to %" PRId64
		    " are missing (the chain jumps from %" PRId64 " to %" PRId64
		    ")", want, seq - 1, w->prev_seq, seq) == -1 ? -1 : 0;

	/* The link to the previous row. */
	if (hex_decode(r->prev_hex, prev, sizeof(prev)) == -1)
		return verify_set_problem(in, "row seq %" PRId64 " (id %" PRId64
		    ") was altered: its prev_hash is not 32 bytes", seq, id) ==
		    -1 ? -1 : 0;
	if (!w->have_prev && memcmp(prev, zero, sizeof(zero)) != 0)
		return verify_set_problem(in, "row seq 1 (id %" PRId64 ") does "
		    "not start the chain: its prev_hash is not 32 zero bytes "
		    "(it was altered or inserted)", id) == -1 ? -1 : 0;
	if (w->have_prev && memcmp(prev, w->prev_hash, sizeof(prev)) != 0) {
		if (w->have_pprev && memcmp(prev, w->pprev_hash,
		    sizeof(prev)) == 0)
			return verify_set_problem(in, "row seq %" PRId64 " (id "
			    "%" PRId64 ") does not follow row seq %" PRId64
			    " (id %" PRId64 "): it links to row seq %" PRId64
			    ", so row seq %" PRId64 " (id %" PRId64 ") was "
			    "inserted", seq, id, w->prev_seq, w->prev_id,
			    w->prev_seq - 1, w->prev_seq, w->prev_id) == -1 ?
			    -1 : 0;
		return verify_set_problem(in, "row seq %" PRId64 " (id %" PRId64
		    ") does not follow row seq %" PRId64 " (id %" PRId64 "): "
		    "its prev_hash is not that row's hash (rows were inserted, "
		    "deleted, reordered or rewritten here)", seq, id,
		    w->prev_seq, w->prev_id) == -1 ? -1 : 0;
	}

	/* The row's own hash, over its contents as the daemon wrote them. */
	if (hex_decode(r->hash_hex, hash, sizeof(hash)) == -1)
		return verify_set_problem(in, "row seq %" PRId64 " (id %" PRId64
		    ") was altered: its hash is not 32 bytes", seq, id) == -1 ?
		    -1 : 0;
	for (i = 0; i < CHAIN_NFIELDS; i++)
		row.field[i] = r->field[i];
	if (chain_hash(prev, &row, computed) == -1)
		return -1;
	if (memcmp(computed, hash, sizeof(hash)) != 0)
		return verify_set_problem(in, "row seq %" PRId64 " (id %" PRId64
		    ") was altered: its hash does not match its contents", seq,
		    id) == -1 ? -1 : 0;
	if (!r->at_ok || !r->lists_ok)
		return verify_set_problem(in, "row seq %" PRId64 " (id %" PRId64
		    ") was altered: its hash does not match its contents (%s "
		    "is not as the daemon writes it)", seq, id, !r->at_ok ?
		    "its time" : "a field list") == -1 ? -1 : 0;

	/* Within an instance, ids grow with seq. */
	if (w->have_prev && id <= w->prev_id)
		return verify_set_problem(in, "row seq %" PRId64 " (id %" PRId64
		    ") is out of order: its id is not above that of row seq %"
		    PRId64 " (id %" PRId64 "), so rows were reordered", seq,
		    id, w->prev_seq, w->prev_id) == -1 ? -1 : 0;

	/* A publish row's message, as stored. */
	if (r->msg_read && r->field[CHAIN_F_MESSAGE_HASH] != NULL &&
	    (i = check_message(in, r, seq, id)) != 1)
		return i;

	if (w->have_prev) {
		memcpy(w->pprev_hash, w->prev_hash, CHAIN_HASH_LEN);
		w->have_pprev = 1;
	}
	memcpy(w->prev_hash, hash, CHAIN_HASH_LEN);
	w->prev_seq = seq;
	w->prev_id = id;
	w->have_prev = 1;
	return 1;
}

/* ------------------------------------------------------------------------
 * Messages
 */

ssize_t
verify_parse_allocs(const char *s, const char *(**out)[CHAIN_ALLOC_NFIELDS])
{
	const char	*(*g)[CHAIN_ALLOC_NFIELDS];
	const char	*p, *end;
	char		*buf, *b;
	size_t		 n = 1, i, f, len;
	int		 hi, lo;

	*out = NULL;
	if (s == NULL || *s == '\0')
		return 0;
	for (p = s; *p != '\0'; p++)
		if (*p == ';')
			n++;
	len = strlen(s) + CHAIN_ALLOC_NFIELDS * n;
	if (n > SIZE_MAX / sizeof(*g) / 2 ||
	    (g = malloc(n * sizeof(*g) + len)) == NULL)
		return -1;
	buf = b = (char *)(g + n);
	p = s;
	for (i = 0; i < n; i++) {
		for (f = 0; f < CHAIN_ALLOC_NFIELDS; f++) {
			end = p + strcspn(p, f + 1 < CHAIN_ALLOC_NFIELDS ?
			    ":;" : ";");
			if (f + 1 < CHAIN_ALLOC_NFIELDS && *end != ':')
				goto bad;
			if (f + 1 == CHAIN_ALLOC_NFIELDS && *end != '\0' &&
			    (*end != ';' || i + 1 == n))
				goto bad;
			g[i][f] = b;
			if (f >= CHAIN_A_FROM && end - p == 1 && *p == '-')
				g[i][f] = NULL;
			else if (f >= CHAIN_A_FROM) {
				if (end == p)
					goto bad;
				for (; p < end; p++) {
					if ((*p < '0' || *p > '9') &&
					    *p != '-')
						goto bad;
					*b++ = *p;
				}
				*b++ = '\0';
			} else {
				if ((end - p) % 2 != 0)
					goto bad;
				for (; p < end; p += 2) {
					if ((hi = hexval(p[0])) < 0 ||
					    (lo = hexval(p[1])) < 0 ||
					    (hi == 0 && lo == 0))
						goto bad;
					*b++ = (char)(hi << 4 | lo);
				}
				*b++ = '\0';
			}
			p = end + (*end != '\0' ? 1 : 0);
		}
	}
	(void)buf;
	*out = g;
	return (ssize_t)n;
 bad:
	free(g);
	return -1;
}

/*
 * Checks the message of publish row r (sound, seq and id): it is there,
 * and with its allocations and body digest hashes to the message hash
 * the row carries; its body is the one sealed, or its purge is audited.
 * Returns 1 if sound, 0 after setting the problem, -1 on an internal
 * error.
 */
static int
check_message(struct verify_inst *in, const struct verify_row *r,
    int64_t seq, int64_t id)
{
	struct chain_message	 m;
	const char		*(*al)[CHAIN_ALLOC_NFIELDS] = NULL;
	const char		*mid = r->field[CHAIN_F_MESSAGE_ID];
	uint8_t			 want[CHAIN_HASH_LEN], got[CHAIN_HASH_LEN];
	char			 pm[64];
	ssize_t			 n;
	int			 i, rc;

	verify_printable(mid, pm, sizeof(pm));
	if (!r->msg_found)
		return verify_set_problem(in, "message %s, published in row "
		    "seq %" PRId64 " (id %" PRId64 "), is not in nwd.messages: "
		    "its row was deleted", pm, seq, id) == -1 ? -1 : 0;
	if (hex_decode(r->field[CHAIN_F_MESSAGE_HASH], want,
	    sizeof(want)) == -1)
		return verify_set_problem(in, "row seq %" PRId64 " (id %"
		    PRId64 ") carries a message hash that is not 32 bytes",
		    seq, id) == -1 ? -1 : 0;
	if ((n = verify_parse_allocs(r->msg_allocs, &al)) < 0)
		return verify_set_problem(in, "the allocation rows of message "
		    "%s cannot be read", pm) == -1 ? -1 : 0;
	memset(&m, 0, sizeof(m));
	for (i = 0; i < CHAIN_MSG_NFIELDS; i++)
		m.field[i] = r->msg_field[i];
	m.alloc = al;
	m.nalloc = (size_t)n;
	rc = chain_message_hash(&m, got);
	free(al);
	if (rc == -1)
		return -1;
	if (memcmp(got, want, sizeof(got)) != 0)
		return verify_set_problem(in, "message %s, published in row "
		    "seq %" PRId64 " (id %" PRId64 "), was changed: its row in "
		    "nwd.messages, its allocation rows or its body digest do "
		    "not hash to the message hash its publish row records (an "
		    "edited subject, kind or header, a replaced body, an added "
		    "or edited allocation)", pm, seq, id) == -1 ? -1 : 0;
	if (!r->msg_body_ok)
		return verify_set_problem(in, "the body of message %s, "
		    "published in row seq %" PRId64 " (id %" PRId64 "), was "
		    "replaced: it does not hash to the digest its row records",
		    pm, seq, id) == -1 ? -1 : 0;
	if (!r->msg_purge_ok)
		return verify_set_problem(in, "the body of message %s, "
		    "published in row seq %" PRId64 " (id %" PRId64 "), was "
		    "removed without the audit row of its purge", pm, seq,
		    id) == -1 ? -1 : 0;
	return 1;
}

/* ------------------------------------------------------------------------
 * Anchors
 */

static struct verify_anchor_inst *
anchors_inst(struct verify_anchors *an, const char *name)
{
	struct verify_anchor_inst	*tmp;
	size_t				 i;

	for (i = 0; i < an->n; i++)
		if (strcmp(an->inst[i].name, name) == 0)
			return &an->inst[i];
	if (an->n == an->cap) {
		if ((tmp = reallocarray(an->inst, an->cap ? an->cap * 2 : 4,
		    sizeof(*tmp))) == NULL)
			return NULL;
		an->inst = tmp;
		an->cap = an->cap ? an->cap * 2 : 4;
	}
	memset(&an->inst[an->n], 0, sizeof(an->inst[an->n]));
	if ((an->inst[an->n].name = strdup(name)) == NULL)
		return NULL;
	return &an->inst[an->n++];
}

static int
anchors_push(struct verify_anchor_inst *ai, const struct verify_anchor *a)
{
	struct verify_anchor	*tmp;

	if (ai->n == ai->cap) {
		if ((tmp = reallocarray(ai->v, ai->cap ? ai->cap * 2 : 16,
		    sizeof(*tmp))) == NULL)
			return -1;
		ai->v = tmp;
		ai->cap = ai->cap ? ai->cap * 2 : 16;
	}
	ai->v[ai->n++] = *a;
	return 0;
}

static int
anchors_problem(struct verify_anchors *an, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
anchors_problem(struct verify_anchors *an, const char *fmt, ...)
{
	va_list	ap;
	char	buf[VERIFY_PROBLEM_MAX];

	if (an->problem != NULL)
		return 0;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return (an->problem = strdup(buf)) == NULL ? -1 : 0;
}

int
verify_anchors_line(struct verify_anchors *an,
    const struct verify_keyring *kr, const char *line, size_t len,
    size_t lineno)
{
	const struct chain_verifier	*v;
	struct verify_anchor_inst	*ai;
	struct chain_anchor		 a;
	struct verify_anchor		 va;
	char				 text[1024], err[128], pk[64];
	size_t				 i, k;
	int				 r, n;

	if ((r = chain_anchor_parse(line, len, &a, err, sizeof(err))) == 0)
		return 0;
	an->lines++;
	if (r == -1)
		return anchors_problem(an, "anchor line %zu is malformed: %s",
		    lineno, err);
	if ((v = keyring_find(kr, a.key_id)) == NULL)
		return anchors_problem(an, "anchor line %zu (instance %s, seq "
		    "%" PRId64 ") is signed with key %s, which is none of the "
		    "public keys given", lineno, verify_printable(a.instance,
		    text, sizeof(text)), a.seq, verify_printable(a.key_id, pk,
		    sizeof(pk)));
	if ((n = chain_anchor_text(&a, text, sizeof(text))) < 0 ||
	    !chain_verify(v, text, (size_t)n, a.sig))
		return anchors_problem(an, "anchor line %zu (instance %s, seq "
		    "%" PRId64 ") has an invalid signature: it is forged or was "
		    "changed", lineno, verify_printable(a.instance, text,
		    sizeof(text)), a.seq);
	if ((ai = anchors_inst(an, a.instance)) == NULL)
		return -1;
	memset(&va, 0, sizeof(va));
	va.seq = a.seq;
	memcpy(va.hash, a.hash, sizeof(va.hash));
	va.at_ms = a.at_ms;
	va.line = lineno;
	if (a.type == CHAIN_ANCHOR_RESTORE) {
		/* What lay beyond the accepted head was given up. */
		for (i = k = 0; i < ai->n; i++) {
			if (ai->v[i].seq > a.seq)
				ai->superseded++;
			else
				ai->v[k++] = ai->v[i];
		}
		ai->n = k;
		ai->restores++;
		va.restore = 1;
		if (a.seq == 0)
			return 0;
	}
	return anchors_push(ai, &va);
}

static int
anchor_cmp(const void *x, const void *y)
{
	const struct verify_anchor	*a = x, *b = y;

	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return a->line < b->line ? -1 : a->line > b->line;
}

void
verify_anchors_finish(struct verify_anchors *an)
{
	size_t	i;

	for (i = 0; i < an->n; i++)
		qsort(an->inst[i].v, an->inst[i].n, sizeof(*an->inst[i].v),
		    anchor_cmp);
}

const struct verify_anchor_inst *
verify_anchors_find(const struct verify_anchors *an, const char *name)
{
	size_t	i;

	if (an == NULL || name == NULL)
		return NULL;
	for (i = 0; i < an->n; i++)
		if (strcmp(an->inst[i].name, name) == 0)
			return &an->inst[i];
	return NULL;
}

void
verify_anchors_clear(struct verify_anchors *an)
{
	size_t	i;

	for (i = 0; i < an->n; i++) {
		free(an->inst[i].name);
		free(an->inst[i].v);
	}
	free(an->inst);
	free(an->problem);
	memset(an, 0, sizeof(*an));
}

/*
 * Checks the anchors of ai up to the sound row seq (hash h, id id) from
 * *k on.  Returns 1 if they match, 0 after setting the problem, -1 on an
 * internal error.
 */
static int
check_anchors(struct verify_inst *in, const struct verify_anchor_inst *ai,
    size_t *k, int64_t seq, const uint8_t h[CHAIN_HASH_LEN], int64_t id)
{
	const struct verify_anchor	*a;
	char				 at[48];

	for (; ai != NULL && *k < ai->n && ai->v[*k].seq <= seq; (*k)++) {
		a = &ai->v[*k];
		if (a->seq < seq || memcmp(a->hash, h, CHAIN_HASH_LEN) == 0) {
			in->anchored = a->seq;
			continue;
		}
		fmt_ms_i64(a->at_ms, at, sizeof(at));
		return verify_set_problem(in, "row seq %" PRId64 " (id %"
		    PRId64 ") is not the row %s at %s (anchor line %zu): the "
		    "chain was rolled back to before seq %" PRId64 " and "
		    "written again (with its checkpoints, if they match)",
		    seq, id, a->restore ? "an accepted restore continued "
		    "from" : "the anchors checkpointed", at, a->line, seq) ==
		    -1 ? -1 : 0;
	}
	return 1;
}

int
verify_walk(struct verify_inst *in, const struct verify_keyring *kr,
    const struct verify_source *src, char *err, size_t errlen)
{
	return verify_walk_anchored(in, kr, NULL, src, err, errlen);
}

int
verify_walk_anchored(struct verify_inst *in, const struct verify_keyring *kr,
    const struct verify_anchor_inst *ai, const struct verify_source *src,
    char *err, size_t errlen)
{
	struct verify_row	 row;
	struct verify_checkpoint cp;
	struct walk		 w;
	char			 id_s[24], at[48];
	int			 r = 0, have_cp;
	int64_t			 cp_seq;
	size_t			 k = 0;

	if (errlen > 0)
		err[0] = '\0';
	memset(&w, 0, sizeof(w));
	memset(&cp, 0, sizeof(cp));
	if ((have_cp = src->next_checkpoint(src->arg, &cp)) == -1)
		return -1;

	/* A source that does not read messages leaves msg_read 0. */
	while (in->problem == NULL && (memset(&row, 0, sizeof(row)),
	    r = src->next_row(src->arg, &row)) == 1) {
		if ((r = check_row(in, &w, &row)) != 1) {
			if (r == -1)
				snprintf(err, errlen, "cannot check the rows: "
				    "out of memory or a failure of the hash");
			break;
		}
		in->rows++;
		in->head = w.prev_seq;
		snprintf(id_s, sizeof(id_s), "%" PRId64, w.prev_id);
		if ((r = check_anchors(in, ai, &k, w.prev_seq, w.prev_hash,
		    w.prev_id)) != 1) {
			if (r == -1)
				snprintf(err, errlen, "out of memory");
			break;
		}
		/* Every checkpoint up to this seq: it names this row. */
		while (have_cp == 1 && parse_i64(cp.seq, &cp_seq) == 0 &&
		    cp_seq <= w.prev_seq) {
			if (cp_seq < w.prev_seq)
				r = verify_set_problem(in, "checkpoint at seq %"
				    PRId64 " names no row (seqs start at 1)",
				    cp_seq) == -1 ? -1 : 0;
			else
				r = check_checkpoint(in, kr, &cp, w.prev_hash,
				    id_s);
			if (r != 1)
				break;
			in->cps++;
			in->last_cp = cp_seq;
			if ((have_cp = src->next_checkpoint(src->arg,
			    &cp)) == -1)
				return -1;
		}
		if (r == -1)
			snprintf(err, errlen, "cannot check a checkpoint: out "
			    "of memory");
		if (r != 1)
			break;
	}
	if (r == -1)		/* a source failure left err empty */
		return -1;
	/* A checkpoint beyond the end: if it is genuine, the tail is gone. */
	if (in->problem == NULL && have_cp == 1) {
		if ((r = check_checkpoint(in, kr, &cp, NULL, NULL)) == -1) {
			snprintf(err, errlen, "cannot check a checkpoint: out "
			    "of memory");
			return -1;
		}
		fmt_ms(cp.at_ms, at, sizeof(at));
		if (r == 1 && verify_set_problem(in, "checkpoint at seq %s "
		    "(signed at %s) but the chain ends at seq %" PRId64 " < %s",
		    cp.seq, at, in->head, cp.seq) == -1) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	/* An anchor beyond the end: the tail was cut, checkpoints and all. */
	if (in->problem == NULL && ai != NULL && k < ai->n) {
		const struct verify_anchor *a = &ai->v[k];

		fmt_ms_i64(a->at_ms, at, sizeof(at));
		if (verify_set_problem(in, "%s seq %" PRId64 " at %s (anchor "
		    "line %zu) but the chain ends at seq %" PRId64 " < %"
		    PRId64 ": rows were removed after they were anchored (a "
		    "rollback or a truncation; the database's checkpoints went "
		    "with them)", a->restore ? "an accepted restore continued "
		    "from" : "the anchors hold a checkpoint of", a->seq, at,
		    a->line, in->head, a->seq) == -1) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}
