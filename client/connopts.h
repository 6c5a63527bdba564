/*
 * connopts: the connection options of every nwd command that talks to the
 * broker (--server, --cert, --key, --ca, --crl, --timeout, --profile),
 * their help, and how they become libnwd's options and a connection.
 * Each setting comes from the command line, else from the named profile
 * (--profile, else $NWD_PROFILE; profile.h), else from the environment
 * (NWD_SERVER, NWD_CERT, NWD_KEY, NWD_CA, NWD_CRL).
 *
 * Such a command's option table includes connopts_opts, unlisted, at the
 * offset of its struct connopts: "nwd --help" lists them, and the
 * command's help ends with connopts_help_pointer.
 */
#ifndef NWD_CLIENT_CONNOPTS_H
#define NWD_CLIENT_CONNOPTS_H

#include "args.h"

struct nwd_client;
struct nwd_opts;

/* What the command line gave.  The strings point into argv; NULL if not
 * given.  All zero is nothing given. */
struct connopts {
	const char	*server, *cert, *key, *ca, *crl;
	const char	*profile;	/* --profile NAME */
	int		 timeout_ms;	/* --timeout; 0 if not given (then
					   NWD_DEFAULT_TIMEOUT_MS) */
	int		 keepalive_ms;	/* not an option here: a command that
					   has one sets it; 0 = libnwd's
					   default, < 0 = none */
};

/* The options, in the order "nwd --help" lists them. */
extern const struct args_opt connopts_opts[];

/* What a command's help ends with, a blank line first: the options are
 * the command's too, and "nwd --help" says what they are. */
extern const char connopts_help_pointer[];

/*
 * Connects as co and the environment say, for the command of a.  If there
 * is no broker, certificate, key or CA, says so as a usage error of a;
 * if the connection fails, says why.  Returns the client, or NULL with
 * *code set to the exit status.
 */
struct nwd_client *connopts_connect(const struct connopts *co,
		    const struct args *a, int *code);

/*
 * The libnwd options that connopts_connect() connects with, into *no (its
 * strings are co's or the environment's).  Returns 0, or says what is
 * missing as a usage error of a and returns its exit status.
 */
int		 connopts_fill(const struct connopts *co, const struct args *a,
		    struct nwd_opts *no);

#endif
