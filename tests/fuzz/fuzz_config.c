/*
 * fuzz_config: the input is the text of an nwdd configuration file.  A
 * configuration that parses must hold values inside the ranges the keys
 * declare.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NAME	"fuzz_config"

/* A broken promise: say which, and crash so that libFuzzer keeps the input. */
static void
broken(const char *what)
{
	fprintf(stderr, "%s: %s\n", NAME, what);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	*c;
	char		 err[512];

	c = config_parse((const char *)data, size, "fuzz", "/tmp", err,
	    sizeof(err));
	if (c == NULL)
		return 0;
	if (c->path == NULL || c->instance == NULL ||
	    c->listen_host == NULL || c->listen_port == NULL ||
	    c->tls_cert == NULL || c->tls_key == NULL || c->tls_ca == NULL ||
	    c->principals == NULL || c->policy == NULL ||
	    c->database == NULL || c->migrations_dir == NULL)
		broken("a parsed config lacks a string it must have");
	if (c->tls_min_version != 12 && c->tls_min_version != 13)
		broken("tls_min_version is neither 12 nor 13");
	if (c->max_frame < 1024 || c->max_frame > (64 << 20))
		broken("max_frame is outside its declared range");
	config_free(c);
	return 0;
}
