#!/usr/bin/env python3
"""Counts one `webhook-worker run`'s allocations per delivery, per thread, under the bench's load:
Swift objects (`swift_allocObject`, which Swift arrays, strings, classes and closure contexts
go through) and C mallocs (libcurl's, hiredis's and Swift's own, which ends in malloc).

    python3 scripts/benchlib/allocations.py --binary $PWD/.build/release/webhook-worker

Counts, not times: free of the machine's noise, so two builds compare in one run each. Same
set-up as the bench's worker_x1 phase (fresh Redis, pre-filled queue, nginx sink, default
settings, signed, one endpoint). Counting starts after the first 2,000 deliveries (start-up
and warm caches excluded). Needs linux-perf and root (it adds two uprobes, `perf probe -x`,
and leaves them in place for the next run)."""

import argparse
import collections
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchlib import runs  # noqa: E402
from benchlib.procs import Cleanup, Deadline, start_redis  # noqa: E402
from benchlib.sink import Sink  # noqa: E402

EVENTS = ("probe_libswiftCore:swift_allocObject", "probe_libc:malloc")


def library(binary, name):
    """The path of the shared library `name` (e.g. libswiftCore) the binary loads."""
    done = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True)
    for line in done.stdout.splitlines():
        parts = line.split()
        if parts and parts[0].startswith(name + ".") and len(parts) >= 3 and parts[2].startswith("/"):
            return parts[2]
    raise RuntimeError(f"{binary} does not load {name}")


def ensure_probes(binary):
    existing = subprocess.run(["perf", "probe", "-l"], capture_output=True, text=True).stdout
    for event, (lib, function) in zip(EVENTS, [(library(binary, "libswiftCore"), "swift_allocObject"),
                                               (library(binary, "libc"), "malloc")]):
        if event not in existing:
            done = subprocess.run(["perf", "probe", "-x", lib, function], capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"perf probe -x {lib} {function}: {done.stderr.strip()[-300:]}")


def count(binary, events, timeout):
    cleanup = Cleanup()
    try:
        sink = Sink(cleanup)
        redis_url, _ = start_redis(cleanup, "allocations")
        warm = 2000
        runs.prefill(redis_url, events + warm + 1000)
        before = sink.count()
        worker = cleanup.start([binary, "run"], env=runs.worker_environment(redis_url, sink.url),
                               log_path=os.path.join(cleanup.temp_dir("allocations"), "worker.log"))
        deadline = Deadline(timeout, "allocations: warm-up")
        while sink.count() - before < warm:
            deadline.check()
            time.sleep(0.005)
        start = sink.count()
        perf = subprocess.Popen(["perf", "stat", "--per-thread", "-x", ";", "-e", ",".join(EVENTS),
                                 "-p", str(worker.pid)], stderr=subprocess.PIPE, text=True)
        deadline = Deadline(timeout, f"allocations: {events} deliveries")
        while sink.count() - start < events:
            deadline.check()
            time.sleep(0.01)
        perf.send_signal(signal.SIGINT)
        output = perf.communicate(timeout=30)[1]
        delivered = sink.count() - start
    finally:
        cleanup.close()
    per_thread = collections.defaultdict(collections.Counter)
    for line in output.splitlines():
        fields = line.split(";")
        if len(fields) > 3 and fields[1].strip().isdigit():
            per_thread[fields[0].rsplit("-", 1)[0]][fields[3].split(":")[-1]] += int(fields[1])
    return per_thread, delivered


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--events", type=int, default=50_000, help="deliveries counted (50,000)")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    ensure_probes(binary)
    per_thread, delivered = count(binary, args.events, args.timeout)
    total = collections.Counter()
    print(f"allocations per delivery over {delivered} deliveries (swift: swift_allocObject; malloc: every malloc)")
    for thread, counts in sorted(per_thread.items(), key=lambda item: -sum(item[1].values())):
        if sum(counts.values()) < delivered / 100:
            continue
        total.update(counts)
        print(f"  {thread:18s} swift {counts['swift_allocObject'] / delivered:6.2f}   malloc {counts['malloc'] / delivered:6.2f}")
    print(f"  {'all threads':18s} swift {total['swift_allocObject'] / delivered:6.2f}   malloc {total['malloc'] / delivered:6.2f}")


if __name__ == "__main__":
    main()
