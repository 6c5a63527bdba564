/*
 * explain: the nwd tool's "policy" command ("nwd policy explain", "nwd
 * policy check"), and the building of an envelope from command-line options
 * that "nwd push" and "nwd policy explain" share.
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

/* What a command line says about one message.  Every string is borrowed. */
struct explain_message {
	const char	*command;	/* names errors: "push" */
	const char	*kind;		/* a kind name, "risk_alert" */
	char *const	*subjects;	/* exactly one is required */
	size_t		 nsubjects;
	const char	*nhs, *marking, *priority, *basis, *justification;
	const char	*supersedes;
	const char	*claim_sender;	/* "ID[,AGENCY]": tests of push only */
	char *const	*share_with;
	size_t		 nshare_with;
	const char	*body_file;	/* "-": stdin; NULL: body_optional */
	int		 body_optional;	/* NULL body_file: 1 = an empty body,
					   0 = read stdin */
};

/* Why building failed: print "nwd: what: why"; usage adds the help hint. */
struct explain_error {
	char	what[128];
	char	why[640];
	int	usage;		/* 1: a bad option, 0: a bad file or body */
};

/*
 * Builds the envelope m describes and checks it with envelope_validate(),
 * as "nwd push" always has.  Returns a new envelope that the caller frees
 * with explain_envelope_free(), or NULL with e filled in.
 */
Nwd__V1__Envelope *explain_envelope_build(const struct explain_message *m,
		    struct explain_error *e);
void		 explain_envelope_free(Nwd__V1__Envelope *env);

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
