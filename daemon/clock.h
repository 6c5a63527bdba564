/*
 * clock: the daemon's two clocks, named for what they are.  The wall
 * clock (CLOCK_REALTIME) stamps what people read: audit rows, a message's
 * created time, allocation periods, retention.  The monotonic clock
 * (CLOCK_MONOTONIC) measures intervals: timeouts, deadlines of the drain,
 * latencies.  Every module reads time here; the pure modules (policy,
 * decide) read none and are given it.
 */
#ifndef NWD_CLOCK_H
#define NWD_CLOCK_H

#include <stdint.h>

/* Milliseconds since the Unix epoch. */
int64_t	clock_wall_ms(void);
/* Milliseconds on the monotonic clock (an arbitrary origin). */
int64_t	clock_mono_ms(void);

#endif
