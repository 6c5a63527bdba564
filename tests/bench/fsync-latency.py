#!/usr/bin/env python3
"""fsync-latency.py FILE [N]: the disk's own commit latency.

Writes 8 kB and fdatasync()s it, N times (default 20,000), cycling through a
16 MB file as PostgreSQL's WAL does, and prints the latency percentiles.
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
os.ftruncate(fd, size)
os.fsync(fd)
buf = b"x" * 8192
lat = []
off = 0
for _ in range(n):
    t = time.perf_counter()
    os.pwrite(fd, buf, off)
    os.fdatasync(fd)
    lat.append(time.perf_counter() - t)
    off = (off + len(buf)) % size
os.close(fd)
os.unlink(path)
lat.sort()


def q(p):
    return lat[max(0, int(p * len(lat)) - 1)] * 1000


print("n=%d p50=%.2f p99=%.2f p99.9=%.2f max=%.2f ms; over 10 ms: %d"
      % (n, q(.5), q(.99), q(.999), lat[-1] * 1000,
         sum(1 for x in lat if x > .01)))
