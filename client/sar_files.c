/*
 * sar_files: the release report's sink over files (sar_render.h), for the
 * CLI (stdout or the PDF's page) and the console (temporary files).
 */
#include <stdio.h>

#include "sar_render.h"

static FILE *
file_of(const struct sar_render_files *f, enum sar_render_stream st)
{
	return st == SAR_TOC ? f->toc : st == SAR_BODY ? f->body : f->out;
}

static int
files_write(void *arg, enum sar_render_stream st, const char *p, size_t n)
{
	FILE	*f = file_of(arg, st);

	return f != NULL && fwrite(p, 1, n, f) == n ? 0 : -1;
}

static int
files_copy(void *arg, enum sar_render_stream st)
{
	struct sar_render_files	*fs = arg;
	FILE			*f = file_of(fs, st);
	char			 buf[16384];
	size_t			 n;

	if (f == NULL || fs->out == NULL || fflush(f) == EOF ||
	    fseeko(f, 0, SEEK_SET) == -1)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (fwrite(buf, 1, n, fs->out) != n)
			return -1;
	return ferror(f) ? -1 : 0;
}

void
sar_render_file_sink(struct sar_render_sink *sink,
    struct sar_render_files *f)
{
	sink->write = files_write;
	sink->copy = files_copy;
	sink->arg = f;
}
