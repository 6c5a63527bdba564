/*
 * calendar_load: reads a calendar file for calendar_parse().  The only
 * part of the calendar module that does I/O, so that calendar.c stays
 * pure (tests/unit/layering.sh).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"

struct calendar *
calendar_load(const char *path, char *err, size_t errlen)
{
	FILE		*fp;
	char		*text;
	size_t		 len;
	struct calendar	*cal = NULL;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return NULL;
	}
	if ((text = malloc(CALENDAR_MAX_BYTES + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto done;
	}
	len = fread(text, 1, CALENDAR_MAX_BYTES + 1, fp);
	if (ferror(fp))
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    strerror(errno));
	else if (len > CALENDAR_MAX_BYTES)
		snprintf(err, errlen, "%s: larger than %d bytes", path,
		    CALENDAR_MAX_BYTES);
	else
		cal = calendar_parse(text, len, path, err, errlen);
	free(text);
done:
	fclose(fp);
	return cal;
}
