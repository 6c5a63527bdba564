/*
 * cli: what every nwd subcommand says to its user.  Messages go to stderr
 * as "nwd: WHAT: message".
 */
#ifndef NWD_CLI_H
#define NWD_CLI_H

#include <stdarg.h>

/* Prints "nwd: what: message" and a newline. */
void	cli_say(const char *what, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Prints "nwd: what: message" without the newline, for callers that add
 * their own ending (a pointer to the help, say). */
void	cli_vsay(const char *what, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));

#endif
