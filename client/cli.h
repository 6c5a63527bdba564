/*
 * cli: what every nwd subcommand says to its user.  Messages go to stderr
 * as "nwd: WHAT: message".
 */
#ifndef NWD_CLI_H
#define NWD_CLI_H

#include <stdarg.h>

#include "nwd.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"		/* configure passes the real one */
#endif

/* Exit statuses of every nwd command that talks to the broker (nwd(1),
 * EXIT STATUS). */
#define CLI_EXIT_REFUSED	1	/* the broker refused the request */
#define CLI_EXIT_USAGE		2
#define CLI_EXIT_UNREACHABLE	3	/* no connection, TLS, certificate */
#define CLI_EXIT_UNAVAILABLE	4	/* broker or its audit store away */
#define CLI_EXIT_PROTOCOL	5	/* anything else, output included */
#define CLI_EXIT_TIMEOUT	6

/* Prints "nwd: what: message" and a newline. */
void	cli_say(const char *what, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Prints "nwd: what: message" without the newline, for callers that add
 * their own ending (a pointer to the help, say). */
void	cli_vsay(const char *what, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));

/*
 * The exit status for a library status; c (may be NULL) tells a request the
 * broker judged invalid (refused) from one the tool could not send (usage).
 */
int	cli_exit_status(struct nwd_client *c, enum nwd_status st);

/* Connects with o.  On failure says why, naming the server, and sets
 * *code; returns NULL. */
struct nwd_client *cli_connect(const struct nwd_opts *o, int *code);

#endif
