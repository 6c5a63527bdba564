/*
 * explain: the nwd tool's "policy" command ("nwd policy explain", "nwd
 * policy check").  The message is built as "nwd push" builds it
 * (compose.h).
 *
 * Offline, "nwd policy explain" reads a policy file and a principal map and
 * runs the daemon's own explain engine (daemon/explain.c, compiled into
 * this tool); online it asks the broker, which answers auditors only with
 * its live policy, principals and allocations.  Both print the same table
 * or JSON object.
 */
#ifndef NWD_CLIENT_EXPLAIN_H
#define NWD_CLIENT_EXPLAIN_H

#include <stddef.h>

#include "nwd.pb-c.h"

/*
 * 1 if argv (nwd's whole command line) runs the policy command, skipping
 * nwd's global options and their values; long_options is nwd's table, to
 * know which options take a value.
 */
struct option;
int		 explain_is_policy_command(int argc, char **argv,
		    const struct option *long_options);

/*
 * Runs "nwd policy ..." on nwd's whole command line, global options
 * included, and returns the exit status.
 */
int		 explain_policy_main(int argc, char **argv);

/* For nwd's command table and "nwd help policy". */
extern const char explain_policy_synopsis[];
extern const char explain_policy_help[];

#endif
