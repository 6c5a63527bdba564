#include <stdarg.h>
#include <stdio.h>

#include "cli.h"

void
cli_vsay(const char *what, const char *fmt, va_list ap)
{
	fprintf(stderr, "nwd: %s: ", what);
	vfprintf(stderr, fmt, ap);
}

void
cli_say(const char *what, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vsay(what, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
cli_exit_status(struct nwd_client *c, enum nwd_status st)
{
	switch (st) {
	case NWD_OK:
		return 0;
	case NWD_ERR_INVALID:
		return c != NULL && nwd_last_server_error(c) !=
		    NWD__V1__ERROR_CODE__ERROR_UNSPECIFIED ? CLI_EXIT_REFUSED :
		    CLI_EXIT_USAGE;
	case NWD_ERR_REFUSED:
		return CLI_EXIT_REFUSED;
	case NWD_ERR_UNREACHABLE:
	case NWD_ERR_TLS:
		return CLI_EXIT_UNREACHABLE;
	case NWD_ERR_UNAVAILABLE:
	case NWD_ERR_CLOSED:
		return CLI_EXIT_UNAVAILABLE;
	case NWD_ERR_TIMEOUT:
		return CLI_EXIT_TIMEOUT;
	case NWD_ERR_PROTOCOL:
	case NWD_ERR_INTERNAL:
		break;
	}
	return CLI_EXIT_PROTOCOL;
}

struct nwd_client *
cli_connect(const struct nwd_opts *o, int *code)
{
	struct nwd_client	*c;
	enum nwd_status		 st;
	char			 err[512];

	if ((c = nwd_connect(o, &st, err, sizeof(err))) == NULL) {
		cli_say(o->server, "%s", err);
		/* Before Welcome the broker can only refuse our certificate. */
		*code = st == NWD_ERR_REFUSED ? CLI_EXIT_UNREACHABLE :
		    cli_exit_status(NULL, st);
	}
	return c;
}
