#!/usr/bin/env python3
"""fsync-latency.py FILE [N]: the disk's own commit latency.

Writes 8 kB and fdatasync()s it, N times (default 20,000), cycling through a
16 MB file that is written in full first (as PostgreSQL's WAL segments are,
so no fdatasync allocates blocks), and prints the latency percentiles, how
many took over 5 and over 10 ms, and how often one over 10 ms came.
Run it alone, on the filesystem that holds PostgreSQL's pg_wal, to tell a
slow disk from slow COMMITs (BENCHMARKS.md, session 4).
"""
import os
import sys
import time

if len(sys.argv) < 2:
    sys.exit("usage: fsync-latency.py FILE [N]")
path = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
size = 16 * 1024 * 1024
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
buf = b"x" * 8192
for off in range(0, size, len(buf)):
    os.pwrite(fd, buf, off)
os.fsync(fd)
lat = []
off = 0
start = time.perf_counter()
for _ in range(n):
    t = time.perf_counter()
    os.pwrite(fd, buf, off)
    os.fdatasync(fd)
    lat.append(time.perf_counter() - t)
    off = (off + len(buf)) % size
elapsed = time.perf_counter() - start
os.close(fd)
os.unlink(path)
lat.sort()


def q(p):
    return lat[max(0, int(p * len(lat)) - 1)] * 1000


over5 = sum(1 for x in lat if x > .005)
over10 = sum(1 for x in lat if x > .01)
print("n=%d in %.1f s: p50=%.2f p99=%.2f p99.9=%.2f max=%.2f ms; "
      "over 5 ms: %d, over 10 ms: %d (one every %s s)"
      % (n, elapsed, q(.5), q(.99), q(.999), lat[-1] * 1000, over5, over10,
         "%.1f" % (elapsed / over10) if over10 else "-"))
