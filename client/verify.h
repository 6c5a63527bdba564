/*
 * verify: "nwd audit verify", the audit trail's verifier.  Reads every
 * instance's hash chain and checkpoints straight from PostgreSQL (libpq,
 * blocking, one read-only REPEATABLE READ transaction, cursors), recomputes
 * every hash with chain.h, checks seq continuity, links and id order, and
 * every checkpoint's Ed25519 signature and hash; names the first problem of
 * each instance.
 */
#ifndef NWD_VERIFY_H
#define NWD_VERIFY_H

#include <stdio.h>

/* Exit codes of "nwd audit verify". */
#define VERIFY_EXIT_INTACT	0	/* every chain and checkpoint checks */
#define VERIFY_EXIT_TAMPERED	1	/* a problem was found and named */
#define VERIFY_EXIT_USAGE	2	/* bad options, unreadable key */
#define VERIFY_EXIT_UNREADABLE	3	/* cannot connect, read or check */

/*
 * "nwd audit ...": argv[0] is "audit", argv[1] the subcommand ("verify").
 * Returns the exit code.
 */
int	audit_main(int argc, char **argv);

/* The help of "nwd audit verify", to f. */
void	audit_usage(FILE *f);

/* Its synopsis (after "nwd ") and help, for nwd's command table. */
extern const char audit_verify_synopsis[];
extern const char audit_verify_help[];

#endif
