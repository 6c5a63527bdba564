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
