/*
 * connopts: the connection options of the nwd commands that talk to the
 * broker.  See connopts.h for the contracts.
 */

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "connopts.h"
#include "nwd.h"
#include "profile.h"

/* Parses SECONDS (a positive decimal) into milliseconds, at least 1,
 * as a profile's timeout is. */
static int
parse_seconds(const char *s, void *field)
{
	return profile_seconds(s, field);
}

const struct args_opt connopts_opts[] = {
	{ .name = "server", .type = ARGS_STRING, .arg = "HOST:PORT",
	  .off = offsetof(struct connopts, server),
	  .help = "the broker; [IPV6]:PORT for an IPv6 address\n"
	    "(default $NWD_SERVER)" },
	{ .name = "cert", .type = ARGS_STRING, .arg = "FILE",
	  .off = offsetof(struct connopts, cert),
	  .help = "our certificate, PEM (default $NWD_CERT)" },
	{ .name = "key", .type = ARGS_STRING, .arg = "FILE",
	  .off = offsetof(struct connopts, key),
	  .help = "its private key, PEM (default $NWD_KEY)" },
	{ .name = "ca", .type = ARGS_STRING, .arg = "FILE",
	  .off = offsetof(struct connopts, ca),
	  .help = "the CA of the broker's certificate, PEM\n"
	    "(default $NWD_CA)" },
	{ .name = "crl", .type = ARGS_STRING, .arg = "FILE",
	  .off = offsetof(struct connopts, crl),
	  .help = "CRLs of that CA, PEM: refuse a revoked broker\n"
	    "certificate (default $NWD_CRL; none: no check)" },
	{ .name = "timeout", .type = ARGS_VALUE, .arg = "SECONDS",
	  .off = offsetof(struct connopts, timeout_ms),
	  .convert = parse_seconds,
	  .bad = "is not a positive number of seconds",
	  .help = "connect and request timeout (default 10)" },
	{ .name = "profile", .type = ARGS_STRING, .arg = "NAME",
	  .off = offsetof(struct connopts, profile),
	  .help = "the connection profile NAME of $NWD_PROFILES\n"
	    "(default ~/.config/nwd/profiles): what the\n"
	    "options above do not give (default $NWD_PROFILE)" },
	{ .type = ARGS_END },
};

const char connopts_help_pointer[] =
    "\nGlobal options (--server, --cert, --key, --ca, --crl, --timeout,\n"
    "--profile): "
    "see 'nwd --help'.\n";

/* The profile of the command line or $NWD_PROFILE, read once; its
 * strings live until the process exits, as libnwd's options need. */
static struct profile	profile;

/* Reads the profile name once.  0, or an exit status after saying why. */
static int
load_profile(const struct args *a, const char *name)
{
	static int	loaded;
	char		path[4096], err[1024];
	int		line_error;

	if (loaded)
		return 0;
	if (profile_load(profile_path(path, sizeof(path)), name, &profile,
	    &line_error, err, sizeof(err)) == -1) {
		if (line_error) {
			fprintf(stderr, "nwd: %s\n", err);
			return CLI_EXIT_USAGE;
		}
		return args_usage(a, "--profile", "%s", err);
	}
	loaded = 1;
	return 0;
}

/* The command line's value, else the profile's, else the environment's. */
static const char *
pick(const char *given, const char *profiled, const char *env)
{
	if (given != NULL)
		return given;
	if (profiled != NULL)
		return profiled;
	return getenv(env);
}

int
connopts_fill(const struct connopts *co, const struct args *a,
    struct nwd_opts *no)
{
	const char	*name = co->profile;
	int		 code;

	if (name == NULL && (name = getenv("NWD_PROFILE")) != NULL &&
	    name[0] == '\0')
		name = NULL;
	if (name != NULL && (code = load_profile(a, name)) != 0)
		return code;
	memset(no, 0, sizeof(*no));
	no->server = pick(co->server, profile.server, "NWD_SERVER");
	no->cert = pick(co->cert, profile.cert, "NWD_CERT");
	no->key = pick(co->key, profile.key, "NWD_KEY");
	no->ca = pick(co->ca, profile.ca, "NWD_CA");
	no->crl = pick(co->crl, profile.crl, "NWD_CRL");
	no->client_name = "nwd/" PACKAGE_VERSION;
	no->timeout_ms = co->timeout_ms != 0 ? co->timeout_ms :
	    profile.timeout_ms != 0 ? profile.timeout_ms :
	    NWD_DEFAULT_TIMEOUT_MS;
	no->keepalive_ms = co->keepalive_ms;
	if (no->server == NULL || no->server[0] == '\0')
		return args_usage(a, a->name, "no broker: give --server "
		    "HOST:PORT or a --profile, or set NWD_SERVER");
	if (no->cert == NULL)
		return args_usage(a, a->name, "no certificate: give --cert "
		    "FILE or a --profile, or set NWD_CERT");
	if (no->key == NULL)
		return args_usage(a, a->name, "no key: give --key FILE or a "
		    "--profile, or set NWD_KEY");
	if (no->ca == NULL)
		return args_usage(a, a->name, "no CA: give --ca FILE or a "
		    "--profile, or set NWD_CA");
	return 0;
}

struct nwd_client *
connopts_connect(const struct connopts *co, const struct args *a, int *code)
{
	struct nwd_opts	 no;

	if ((*code = connopts_fill(co, a, &no)) != 0)
		return NULL;
	return cli_connect(&no, code);
}
