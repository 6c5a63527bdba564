/*
 * anchor: what the daemon keeps of its audit chain outside the database,
 * in its state directory (state_directory), so that a database rolled
 * back, truncated or extended behind its back is noticed.
 *
 *   <dir>/<instance>.state    the chain head the daemon committed, and the
 *                             head of the transaction it is about to
 *                             send (written and fsynced before sending it)
 *   <dir>/<instance>.anchors  every checkpoint it signed and every restore
 *                             an operator accepted, one line each
 *                             (chain.h), appended and fsynced; the same
 *                             lines go to the log
 *
 * (<instance> with every byte but A-Z a-z 0-9 . _ - written %HH, and a
 * leading '.' too.)
 *
 * The state file is two slots of ANCHOR_SLOT_LEN bytes, written in turn,
 * each one line
 *
 *   nwd-state-v1 gen=G instance=I seq=N hash=HEX pending_seq=N
 *       pending_hash=HEX sum=S
 *
 * padded with spaces to its newline; S is the first 16 hex digits of the
 * SHA-256 of the text before " sum=".  The valid slot with the highest
 * gen holds the state, so a write torn by a crash leaves the one before.
 * seq 0 is "no row" (its hash 32 zero bytes); pending_seq 0 "nothing in
 * flight".
 *
 * The daemon holds an exclusive lock (flock) on the state file for as
 * long as the anchor is open: a second nwdd, or nwdd --accept-restore,
 * with the same state directory and instance is refused while one runs.
 *
 * No logging: every function that fails says why in err.
 */
#ifndef NWD_ANCHOR_H
#define NWD_ANCHOR_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "chain.h"

#define ANCHOR_SLOT_LEN	512

struct anchor;

/* A place in the chain: row seq and its hash (seq 0: none). */
struct anchor_head {
	int64_t		seq;
	uint8_t		hash[CHAIN_HASH_LEN];
};

/* What the state file says; present is 0 for a new (empty) file. */
struct anchor_state {
	int			present;
	uint64_t		gen;
	struct anchor_head	committed;
	struct anchor_head	pending;	/* seq 0: none */
};

/*
 * Opens (creating them, and the directory, if need be) the state and
 * anchors files of instance in dir, locks the state file and reads it.
 * Returns the anchor (anchor_free() closes it), or NULL with the file and
 * reason in err: the directory cannot be made or written, another process
 * holds the lock, the state file is not one (no valid slot in a file
 * that is not empty, or another instance's).
 */
struct anchor	*anchor_open(const char *dir, const char *instance, char *err,
		    size_t errlen);
void		 anchor_free(struct anchor *a);

/*
 * Gives the two files, and the directory if anchor_open() made it, to
 * uid and gid: a daemon started as root opens them before it becomes its
 * user, who must be able to open them again (nwdd --accept-restore).
 * Returns 0, or -1 with the reason in err.
 */
int		 anchor_give(struct anchor *a, uid_t uid, gid_t gid, char *err,
		    size_t errlen);

/* The state as last read or written.  Borrowed from a. */
const struct anchor_state *anchor_state(const struct anchor *a);

/* The paths of the two files; borrowed from a. */
const char	*anchor_state_path(const struct anchor *a);
const char	*anchor_anchors_path(const struct anchor *a);

/*
 * Records committed (and pending, NULL for none) as the state, in the
 * slot not holding the current one.  With sync, returns only once it is
 * on disk (fdatasync).  Returns 0, or -1 with the reason in err (the
 * state in memory is then unchanged).
 */
int		 anchor_save(struct anchor *a, const struct anchor_head *committed,
		    const struct anchor_head *pending, int sync, char *err,
		    size_t errlen);

/*
 * Appends an anchor line (chain_anchor_format()) and a newline to the
 * anchors file and fsyncs it.  Returns 0, or -1 with the reason in err.
 */
int		 anchor_append(struct anchor *a, const struct chain_anchor *an,
		    char *err, size_t errlen);

#endif
