/*
 * connopts: the connection options of every nwd command that talks to the
 * broker (--server, --cert, --key, --ca, --crl, --timeout), their help, and
 * how they, with the environment (NWD_SERVER, NWD_CERT, NWD_KEY, NWD_CA,
 * NWD_CRL) where one is not given, become libnwd's options.
 *
 * A command's getopt_long table splices CONNOPTS_OPTIONS in and numbers its
 * own options from CONNOPTS_END; its parser offers every option it does not
 * know itself to connopts_parse().  A parser that keeps a mask of the
 * options it saw, bit (opt - CONNOPTS_SERVER) for each, finds the
 * connection options in CONNOPTS_MASK.
 */
#ifndef NWD_CLIENT_CONNOPTS_H
#define NWD_CLIENT_CONNOPTS_H

#include <getopt.h>

struct nwd_opts;

/* The getopt_long values of the connection options. */
enum connopts_opt {
	CONNOPTS_SERVER = 0x100,
	CONNOPTS_CERT,
	CONNOPTS_KEY,
	CONNOPTS_CA,
	CONNOPTS_TIMEOUT,
	CONNOPTS_CRL,
	CONNOPTS_END		/* the first value of a command's own */
};

/* The connection options in a mask of bits (opt - CONNOPTS_SERVER). */
#define CONNOPTS_MASK	((1u << (CONNOPTS_END - CONNOPTS_SERVER)) - 1)

/* The entries of a struct option table for the connection options. */
#define CONNOPTS_OPTIONS						\
	{ "server",	required_argument, NULL, CONNOPTS_SERVER },	\
	{ "cert",	required_argument, NULL, CONNOPTS_CERT },	\
	{ "key",	required_argument, NULL, CONNOPTS_KEY },	\
	{ "ca",		required_argument, NULL, CONNOPTS_CA },		\
	{ "crl",	required_argument, NULL, CONNOPTS_CRL },	\
	{ "timeout",	required_argument, NULL, CONNOPTS_TIMEOUT }

/* What the command line gave.  The strings point into argv; NULL if not
 * given. */
struct connopts {
	const char	*server, *cert, *key, *ca, *crl;
	int		 timeout_ms;	/* --timeout, or NWD_DEFAULT_TIMEOUT_MS */
	int		 timeout_given;
};

/* Why connopts refused: say "nwd: what: why" as a usage error (exit 2). */
struct connopts_error {
	char	what[64];
	char	why[1024];
};

/* "nwd --help"'s lines for the connection options. */
extern const char connopts_help[];

/* What a command's help ends with, a blank line first: the options are
 * the command's too, and "nwd --help" says what they are. */
extern const char connopts_help_pointer[];

/* Sets co to nothing given and the default timeout. */
void	connopts_init(struct connopts *co);

/*
 * Takes getopt_long's opt and optarg arg into co if opt is a connection
 * option.  Returns 1 if it was, 0 if it is not one (co is untouched), or -1
 * if arg is not a value the option takes, with e filled in.
 */
int	connopts_parse(struct connopts *co, int opt, const char *arg,
	    struct connopts_error *e);

/*
 * Fills no from co, each option not given from its environment variable,
 * with nwd's client name.  Returns 0, or -1 with e filled in (what is cmd,
 * the command that would have connected) if there is no broker,
 * certificate, key or CA.  The strings of no are co's or the environment's.
 */
int	connopts_to_nwd_opts(const struct connopts *co, const char *cmd,
	    struct nwd_opts *no, struct connopts_error *e);

#endif
