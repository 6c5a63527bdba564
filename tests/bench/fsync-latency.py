#!/usr/bin/env python3
"""fsync-latency.py [-m MODE] [-a MB_PER_S] FILE [N]: the disk's own commit
latency, alone or behind other writes.

Writes 8 kB and makes it durable, N times (default 20,000), cycling through
a 16 MB file that is written in full first (as PostgreSQL's WAL segments
are, so no flush allocates blocks), and prints the latency percentiles, how
many took over 5 and over 10 ms, and how often one over 10 ms came.

MODE is how each write is made durable, as PostgreSQL's wal_sync_method:
  fdatasync      pwrite, then fdatasync (the default, as PostgreSQL's)
  open_datasync  pwrite to a file opened O_DSYNC
  direct         pwrite to a file opened O_DSYNC | O_DIRECT (what
                 PostgreSQL 15 does with open_datasync and wal_level
                 minimal: the write bypasses the page cache)

With -a, a second process appends 8 kB pages to FILE.append at MB_PER_S
without any flush for as long as the measurement runs, as PostgreSQL
extends its tables and indexes: the kernel's writeback of those pages then
shares the disk with each flush (BENCHMARKS.md, sessions 5 and 6).

Run it on the filesystem that holds PostgreSQL's pg_wal, with nothing else
running, to tell a slow disk from slow COMMITs.
"""
import getopt
import mmap
import os
import signal
import sys
import time

USAGE = "usage: fsync-latency.py [-m fdatasync|open_datasync|direct] [-a MB_PER_S] FILE [N]"
try:
    opts, args = getopt.getopt(sys.argv[1:], "m:a:")
except getopt.GetoptError as e:
    sys.exit("fsync-latency.py: %s\n%s" % (e, USAGE))
mode, append_mb = "fdatasync", 0.0
for o, v in opts:
    if o == "-m":
        mode = v
    elif o == "-a":
        append_mb = float(v)
if mode not in ("fdatasync", "open_datasync", "direct") or not 1 <= len(args) <= 2:
    sys.exit(USAGE)
path = args[0]
n = int(args[1]) if len(args) > 1 else 20000
size = 16 * 1024 * 1024
page = 8192

# Fill the file once, durable, before anything is timed.
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
for off in range(0, size, page):
    os.pwrite(fd, b"x" * page, off)
os.fsync(fd)
os.close(fd)

flags = os.O_WRONLY
if mode == "open_datasync":
    flags |= os.O_DSYNC
elif mode == "direct":
    flags |= os.O_DSYNC | os.O_DIRECT
fd = os.open(path, flags)
buf = mmap.mmap(-1, page)       # page-aligned, as O_DIRECT needs
buf.write(b"y" * page)

appender = None
if append_mb > 0:
    appender = os.fork()
    if appender == 0:
        afd = os.open(path + ".append", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        chunk = b"z" * page
        interval = page / (append_mb * 1024 * 1024)
        due = time.perf_counter()
        try:
            while True:
                os.write(afd, chunk)
                due += interval
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
        finally:
            os._exit(0)

lat = []
off = 0
try:
    start = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        os.pwrite(fd, buf, off)
        if mode == "fdatasync":
            os.fdatasync(fd)
        lat.append(time.perf_counter() - t)
        off = (off + page) % size
    elapsed = time.perf_counter() - start
finally:
    if appender:
        os.kill(appender, signal.SIGKILL)
        os.waitpid(appender, 0)
        os.unlink(path + ".append")
    os.close(fd)
    os.unlink(path)
lat.sort()


def q(p):
    return lat[max(0, int(p * len(lat)) - 1)] * 1000


over5 = sum(1 for x in lat if x > .005)
over10 = sum(1 for x in lat if x > .01)
print("mode=%s append=%g MB/s n=%d in %.1f s: p50=%.2f p99=%.2f p99.9=%.2f "
      "max=%.2f ms; over 5 ms: %d, over 10 ms: %d (one every %s s)"
      % (mode, append_mb, n, elapsed, q(.5), q(.99), q(.999), lat[-1] * 1000,
         over5, over10, "%.1f" % (elapsed / over10) if over10 else "-"))
