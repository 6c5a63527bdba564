/*
 * verify_core: the verdict of "nwd audit verify" on one instance's audit
 * chain, without the database.  Given the instance's rows in (seq, id)
 * order and its checkpoints in seq order, as the text PostgreSQL prints
 * them, and the public keys that sign checkpoints, it recomputes every
 * hash with chain.h, checks seq continuity, the prev_hash links, id order
 * and every checkpoint's signature and hash, and names the first problem.
 *
 * Pure: no I/O, no logging, no clock.  The rows and checkpoints come from
 * a source (client/verify.c reads them through cursors; the fuzz target
 * tests/fuzz/fuzz_verify.c builds them from its input), so the chain is
 * walked as it streams and memory does not grow with it.
 */
#ifndef NWD_VERIFY_CORE_H
#define NWD_VERIFY_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "chain.h"

#define VERIFY_PROBLEM_MAX	1024	/* longest problem text, with NUL */

/*
 * One row of nwd.audit_events.  Every string is borrowed and NULL for SQL
 * NULL.  id and seq are decimal text; prev_hex and hash_hex the hex of
 * 32 bytes.  at_ok and lists_ok are the database's word that the row's
 * time is a whole millisecond and that its field lists survive being
 * joined with ',' and split again, as the daemon writes them.  field[] is
 * the canonical encoding's fields in chain.h's order.
 */
struct verify_row {
	const char	*id;
	const char	*seq;
	const char	*prev_hex;
	const char	*hash_hex;
	int		 at_ok;
	int		 lists_ok;
	const char	*field[CHAIN_NFIELDS];
};

/*
 * One row of nwd.checkpoints.  Borrowed strings, NULL for SQL NULL: seq and
 * at_ms (Unix milliseconds) decimal, hash_hex and sig_hex hex; at_ok as in
 * verify_row.
 */
struct verify_checkpoint {
	const char	*seq;
	const char	*hash_hex;
	const char	*at_ms;
	int		 at_ok;
	const char	*key_id;
	const char	*sig_hex;
};

/* The public keys given; borrowed by the walk. */
struct verify_keyring {
	struct chain_verifier	**v;
	size_t			  n;
};

/*
 * What is known of one instance.  The caller owns name and problem (free
 * both, or call verify_inst_clear()); the walk replaces problem.
 */
struct verify_inst {
	char		*name;		/* NULL: rows without an instance */
	int64_t		 rows;		/* rows checked and found sound */
	int64_t		 cps;		/* checkpoints checked and sound */
	int64_t		 head;		/* seq of the last sound row */
	int64_t		 last_cp;	/* seq of the last sound checkpoint */
	char		*problem;	/* the first problem, or NULL */
};

/*
 * Where the walk reads an instance's rows and checkpoints.  Each callback
 * returns 1 with *out filled, 0 at the end, or -1 on a failure that it has
 * reported itself.  The strings of *out stay valid until the next call of
 * the same callback; after 0 or -1 it is not called again.
 */
struct verify_source {
	int	(*next_row)(void *arg, struct verify_row *out);
	int	(*next_checkpoint)(void *arg, struct verify_checkpoint *out);
	void	*arg;
};

/*
 * Walks one instance's chain from src and checks it with the keys of kr.
 * Returns 0 when the walk is complete: in->problem is then NULL if the
 * chain is intact, or names the first problem, and the counters say what
 * was sound before it.  Returns -1 if the check could not be completed:
 * err is empty if the source failed (it said why), else holds the cause
 * (out of memory, a failure of the hash).
 */
int		 verify_walk(struct verify_inst *in,
		    const struct verify_keyring *kr,
		    const struct verify_source *src, char *err, size_t errlen);

/* Sets in->problem (replacing any).  Returns 0, or -1 if out of memory. */
int		 verify_set_problem(struct verify_inst *in, const char *fmt,
		    ...) __attribute__((format(printf, 2, 3)));

/* Frees in->name and in->problem and zeroes *in. */
void		 verify_inst_clear(struct verify_inst *in);

/*
 * A copy of s (which came from the database) safe to print on a terminal:
 * control bytes become '?', at most 200 bytes are kept.  Into buf, which
 * it returns; "(null)" for NULL.
 */
const char	*verify_printable(const char *s, char *buf, size_t len);

#endif
