/*
 * clock: the daemon's clocks, named for what they are.  The wall clock
 * stamps what people read and what the law counts: audit rows, a
 * message's created time, allocation periods, retention, deadlines.  The
 * monotonic clock (CLOCK_MONOTONIC) measures intervals: timeouts, the
 * drain, latencies.  The real clock is the wall clock of the machine
 * whatever tests do, for what other software judges by it (a
 * certificate's validity).  Every module reads time here; the pure
 * modules (policy, decide, calendar) read none and are given it.
 *
 * For tests, the wall clock can be a file (config test_clock): one line of
 * Unix milliseconds, the time it was when the file was read; from there it
 * runs with the monotonic clock.  A test moves time by writing the file;
 * the daemon rereads it (clock_reread()) and acts on what is due.
 */
#ifndef NWD_CLOCK_H
#define NWD_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds since the Unix epoch: the file's time, if one is used. */
int64_t	clock_wall_ms(void);
/* Milliseconds since the Unix epoch on the machine's real clock. */
int64_t	clock_real_ms(void);
/* Milliseconds on the monotonic clock (an arbitrary origin). */
int64_t	clock_mono_ms(void);

/* Tests: the wall clock is read from path; 0, or -1 with err. */
int	clock_use_file(const char *path, char *err, size_t errlen);
/* Rereads the file; 1 if its time changed (the wall clock moved). */
int	clock_reread(void);
/* 1 if the wall clock is a file's. */
int	clock_is_test(void);
/* Back to the real wall clock. */
void	clock_reset(void);

#endif
