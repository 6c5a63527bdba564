/*
 * verify_core: the verdict of "nwd audit verify" on one instance's audit
 * chain, without the database.  Given the instance's rows in (seq, id)
 * order and its checkpoints in seq order, as the text PostgreSQL prints
 * them, and the public keys that sign checkpoints, it recomputes every
 * hash with chain.h, checks seq continuity, the prev_hash links, id order
 * and every checkpoint's signature and hash, and names the first problem.
 *
 * A publish row that carries a message hash (chain.h, since 010) is also
 * checked against the message as stored, when the source read it: its row,
 * its allocation rows and the digest of its sealed body must hash to it.
 *
 * With anchors (the lines of the daemons' anchors files or their logs:
 * signed checkpoints and accepted restores, kept outside the database), the
 * rows they name must be there with the hashes they name: a rollback or a
 * truncation of the tail is found even when the database's checkpoints
 * went back with its rows.
 *
 * Pure: no I/O, no logging, no clock.  The rows and checkpoints come from
 * a source (client/cmd_verify.c reads them through cursors; the fuzz
 * target tests/fuzz/fuzz_verify.c builds them from its input), so the
 * chain is walked as it streams and memory does not grow with it.
 */
#ifndef NWD_VERIFY_CORE_H
#define NWD_VERIFY_CORE_H

#include <sys/types.h>

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
 *
 * msg_read says the source read the message of a row whose message hash
 * is not NULL; the msg_ members are then what it found: msg_found whether
 * nwd.messages has the row, msg_field[] its fields in chain.h's order
 * (msg_field[CHAIN_M_ID] the id), msg_allocs its allocation rows (see
 * verify_parse_allocs(); NULL for none), msg_body_ok that its body is
 * purged or hashes to its body_sha256, msg_purge_ok that its body is there
 * or an audit row records its purge.
 */
struct verify_row {
	const char	*id;
	const char	*seq;
	const char	*prev_hex;
	const char	*hash_hex;
	int		 at_ok;
	int		 lists_ok;
	const char	*field[CHAIN_NFIELDS];
	int		 msg_read;
	int		 msg_found;
	const char	*msg_field[CHAIN_MSG_NFIELDS];
	const char	*msg_allocs;
	int		 msg_body_ok;
	int		 msg_purge_ok;
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
	int64_t		 anchored;	/* seq of the last anchor matched */
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

/* One place an anchor says the chain of an instance went through. */
struct verify_anchor {
	int64_t		 seq;
	uint8_t		 hash[CHAIN_HASH_LEN];
	int64_t		 at_ms;
	size_t		 line;		/* in the anchors given */
	int		 restore;	/* the head an accepted restore names */
};

/* What the anchors say of one instance. */
struct verify_anchor_inst {
	char			*name;		/* owned */
	struct verify_anchor	*v;		/* owned; by seq once finished */
	size_t			 n, cap;
	size_t			 superseded;	/* given up at a restore */
	size_t			 restores;	/* restores accepted */
};

/* The anchors given, by instance; the first bad line makes problem. */
struct verify_anchors {
	struct verify_anchor_inst *inst;	/* owned */
	size_t			 n, cap;
	size_t			 lines;		/* anchor lines read */
	char			*problem;	/* owned; NULL: none */
};

/*
 * Reads one line of the anchors given (an anchors file's, or a log's).
 * A line that is no anchor is skipped.  An anchor whose signature does
 * not check with a key of kr, that names none of them, or that is
 * malformed sets an->problem (the first only) and is not used.  A
 * checkpoint anchors its row; an accepted restore gives up the anchors of
 * its instance read so far beyond the head it accepted, and anchors that
 * head.  Returns 0, or -1 if out of memory.
 */
int		 verify_anchors_line(struct verify_anchors *an,
		    const struct verify_keyring *kr, const char *line,
		    size_t len, size_t lineno);

/* After the last line: each instance's anchors in seq order. */
void		 verify_anchors_finish(struct verify_anchors *an);

/* The anchors of instance name, or NULL if none. */
const struct verify_anchor_inst *verify_anchors_find(
		    const struct verify_anchors *an, const char *name);

/* Frees what an holds and zeroes it. */
void		 verify_anchors_clear(struct verify_anchors *an);

/*
 * verify_walk(), and the rows anchors names (NULL: none) must be in the
 * chain with the hashes they name: a row that is not, or a chain that ends
 * before one, is the instance's problem.
 */
int		 verify_walk_anchored(struct verify_inst *in,
		    const struct verify_keyring *kr,
		    const struct verify_anchor_inst *anchors,
		    const struct verify_source *src, char *err, size_t errlen);

/*
 * The allocation rows of a message as the source reads them: rows joined
 * with ';', each "SUBJECT:TEAM:WORKER:FROM:UNTIL", the texts as the hex of
 * their bytes, the times decimal Unix milliseconds or "-" for NULL.
 * Fills *out (n groups of CHAIN_ALLOC_NFIELDS strings, in one allocation
 * the caller frees) and returns n, or -1 if s is malformed or memory ran
 * out.  NULL or "" is no rows.
 */
ssize_t		 verify_parse_allocs(const char *s,
		    const char *(**out)[CHAIN_ALLOC_NFIELDS]);

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
