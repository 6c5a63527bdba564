/*
 * compose: the envelope of one message, built from the options that say
 * what it is (--subject, --nhs-number, --marking, --priority, --basis,
 * --justification, --share-with, --supersedes, --references), its kind
 * and its body.
 * "nwd push" sends it; "nwd policy explain" asks what the policy would do
 * with it.  Both build it here, so both mean the same by every option.
 */
#ifndef NWD_CLIENT_COMPOSE_H
#define NWD_CLIENT_COMPOSE_H

#include "args.h"
#include "cli.h"
#include "nwd.pb-c.h"

/*
 * One message, as a command line says it.  The options of compose_opts
 * fill the first part; the command sets the rest.  Strings are borrowed
 * (from argv) except share_with's, which args_free() frees.
 */
struct compose_msg {
	struct cli_strv	 subjects;	/* exactly one is required */
	const char	*nhs, *marking, *priority, *basis, *justification;
	struct cli_strv	 share_with;	/* split at commas */
	const char	*supersedes, *references;

	const char	*command;	/* names errors: "push" */
	const char	*kind;		/* a kind name, "risk_alert" */
	const char	*claim_sender;	/* "ID[,AGENCY]": tests of push only */
	const char	*body_file;	/* "-": stdin; NULL: body_optional */
	int		 body_optional;	/* NULL body_file: 1 = an empty body,
					   0 = read stdin */
	/* The body already read (nwd push --lines), used instead of
	 * body_file; borrowed, only read.  NULL: body_file says. */
	struct json_object *body_json;
};

/* The message options, at offsets in struct compose_msg, listed as "nwd
 * push" lists them. */
extern const struct args_opt compose_opts[];

/* Why building failed: print "nwd: what: why"; usage adds the help hint. */
struct compose_error {
	char	what[128];
	char	why[640];
	int	usage;		/* 1: a bad option, 0: a bad file or body */
};

/*
 * Builds the envelope m describes and checks it with envelope_validate().
 * Returns a new envelope that the caller frees with compose_free(), or
 * NULL with e filled in.
 */
Nwd__V1__Envelope *compose_envelope(const struct compose_msg *m,
		    struct compose_error *e);

/* Frees an envelope of compose_envelope(); NULL is a no-op. */
void		 compose_free(Nwd__V1__Envelope *env);

#endif
