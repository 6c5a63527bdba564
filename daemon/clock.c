/*
 * clock: the wall clock (real, or for tests read from a file) and the
 * monotonic clock.  See clock.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

static char	*test_path;	/* NULL: the real wall clock */
static int64_t	 test_ms;	/* the file's time ... */
static int64_t	 test_mono;	/* ... read at this monotonic time */

int64_t
clock_real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
clock_wall_ms(void)
{
	if (test_path != NULL)
		return test_ms + (clock_mono_ms() - test_mono);
	return clock_real_ms();
}

/* Reads the file's time; returns 0 or -1 with the cause in err. */
static int
clock_read(const char *path, int64_t *ms, char *err, size_t errlen)
{
	FILE		*fp;
	char		 buf[64], *end;
	long long	 v;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fgets(buf, sizeof(buf), fp) == NULL)
		buf[0] = '\0';
	fclose(fp);
	errno = 0;
	v = strtoll(buf, &end, 10);
	while (*end == '\n' || *end == ' ')
		end++;
	if (buf[0] == '\0' || *end != '\0' || errno != 0 || v <= 0) {
		snprintf(err, errlen, "%s: expected Unix milliseconds on one "
		    "line", path);
		return -1;
	}
	*ms = v;
	return 0;
}

int
clock_use_file(const char *path, char *err, size_t errlen)
{
	int64_t	ms;
	char	*copy;

	if (clock_read(path, &ms, err, errlen) == -1)
		return -1;
	if ((copy = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(test_path);
	test_path = copy;
	test_ms = ms;
	test_mono = clock_mono_ms();
	return 0;
}

int
clock_reread(void)
{
	int64_t	ms;
	char	err[256];

	if (test_path == NULL || clock_read(test_path, &ms, err,
	    sizeof(err)) == -1 || ms == test_ms)
		return 0;
	test_ms = ms;
	test_mono = clock_mono_ms();
	return 1;
}

int
clock_is_test(void)
{
	return test_path != NULL;
}

void
clock_reset(void)
{
	free(test_path);
	test_path = NULL;
}
