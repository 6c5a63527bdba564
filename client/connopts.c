/*
 * connopts: the connection options of the nwd commands that talk to the
 * broker.  See connopts.h for the contracts.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "connopts.h"
#include "nwd.h"

const char connopts_help[] =
    "  --server HOST:PORT    the broker; [IPV6]:PORT for an IPv6 address\n"
    "                        (default $NWD_SERVER)\n"
    "  --cert FILE           our certificate, PEM (default $NWD_CERT)\n"
    "  --key FILE            its private key, PEM (default $NWD_KEY)\n"
    "  --ca FILE             the CA of the broker's certificate, PEM\n"
    "                        (default $NWD_CA)\n"
    "  --crl FILE            CRLs of that CA, PEM: refuse a revoked broker\n"
    "                        certificate (default $NWD_CRL; none: no check)\n"
    "  --timeout SECONDS     connect and request timeout (default 10)\n";

const char connopts_help_pointer[] =
    "\nGlobal options (--server, --cert, --key, --ca, --crl, --timeout): "
    "see 'nwd --help'.\n";

void
connopts_init(struct connopts *co)
{
	memset(co, 0, sizeof(*co));
	co->timeout_ms = NWD_DEFAULT_TIMEOUT_MS;
}

/* Parses SECONDS (a positive decimal) into milliseconds. */
static int
parse_seconds(const char *s, int *ms)
{
	char	*end;
	double	 d;

	errno = 0;
	d = strtod(s, &end);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || !(d > 0) ||
	    d * 1000 > INT_MAX)
		return -1;
	*ms = d * 1000 < 1 ? 1 : (int)(d * 1000);
	return 0;
}

int
connopts_parse(struct connopts *co, int opt, const char *arg,
    struct connopts_error *e)
{
	switch (opt) {
	case CONNOPTS_SERVER:
		co->server = arg;
		return 1;
	case CONNOPTS_CERT:
		co->cert = arg;
		return 1;
	case CONNOPTS_KEY:
		co->key = arg;
		return 1;
	case CONNOPTS_CA:
		co->ca = arg;
		return 1;
	case CONNOPTS_CRL:
		co->crl = arg;
		return 1;
	case CONNOPTS_TIMEOUT:
		if (parse_seconds(arg, &co->timeout_ms) == -1) {
			snprintf(e->what, sizeof(e->what), "--timeout");
			snprintf(e->why, sizeof(e->why), "\"%s\" is not a "
			    "positive number of seconds", arg);
			return -1;
		}
		co->timeout_given = 1;
		return 1;
	}
	return 0;
}

int
connopts_to_nwd_opts(const struct connopts *co, const char *cmd,
    struct nwd_opts *no, struct connopts_error *e)
{
	memset(no, 0, sizeof(*no));
	no->server = co->server != NULL ? co->server : getenv("NWD_SERVER");
	no->cert = co->cert != NULL ? co->cert : getenv("NWD_CERT");
	no->key = co->key != NULL ? co->key : getenv("NWD_KEY");
	no->ca = co->ca != NULL ? co->ca : getenv("NWD_CA");
	no->crl = co->crl != NULL ? co->crl : getenv("NWD_CRL");
	no->client_name = "nwd/" PACKAGE_VERSION;
	no->timeout_ms = co->timeout_ms;
	if (no->server == NULL || no->server[0] == '\0')
		snprintf(e->why, sizeof(e->why), "no broker: give --server "
		    "HOST:PORT or set NWD_SERVER");
	else if (no->cert == NULL || no->key == NULL || no->ca == NULL)
		snprintf(e->why, sizeof(e->why), "no %s: give --%s FILE or set "
		    "NWD_%s", no->cert == NULL ? "certificate" :
		    no->key == NULL ? "key" : "CA", no->cert == NULL ? "cert" :
		    no->key == NULL ? "key" : "ca", no->cert == NULL ? "CERT" :
		    no->key == NULL ? "KEY" : "CA");
	else
		return 0;
	snprintf(e->what, sizeof(e->what), "%s", cmd);
	return -1;
}
