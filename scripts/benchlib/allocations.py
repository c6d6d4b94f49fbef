#!/usr/bin/env python3
"""Counts one `webhook-worker run`'s allocations per delivery, per thread, under the bench's load:
Swift objects (`swift_allocObject`, which Swift arrays, strings, classes and closure contexts
go through), C mallocs (libcurl's, hiredis's and Swift's own, which ends in malloc) and Swift
reference-count operations (`swift_retain` + `swift_release`: atomic, and dearer when the object
was last touched on another core); and, over as many deliveries just before (without the
probes, which change the scheduling and slow every thread), each thread's context switches
(`/proc/<pid>/task/<tid>/status`): voluntary ones (the thread waited: a wake-up each) and
involuntary ones (it was preempted), and its CPU time (`.../stat`, user + system: which thread
the worker's cost per delivery is spent on).

    python3 scripts/benchlib/allocations.py --binary $PWD/.build/release/webhook-worker [--answer-body TEXT]

Counts, not times: free of the machine's noise, so two builds compare in one run each (the
involuntary switches and the CPU times excepted: they follow what else the machine runs). Same
set-up as the bench's worker_x1 phase (fresh Redis, pre-filled queue, nginx sink, default
settings, signed, one endpoint). Counting starts after the first 2,000 deliveries (start-up
and warm caches excluded). Needs linux-perf and root (it adds four uprobes, `perf probe -x`,
and leaves them in place; each run adds them again). A binary with the Swift runtime linked in
(the shipped build) is run as a copy without debug information, where `perf probe` finds the
runtime's functions."""

import argparse
import collections
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchlib import runs  # noqa: E402
from benchlib.procs import Cleanup, Deadline, start_redis  # noqa: E402
from benchlib.sink import Sink  # noqa: E402

# (library, function) per probe; its perf event is probe_<library>:<function>.
PROBES = (("libswiftCore", "swift_allocObject"), ("libc", "malloc"),
          ("libswiftCore", "swift_retain"), ("libswiftCore", "swift_release"))
EVENTS = tuple(f"probe_{lib}:{function}" for lib, function in PROBES)


def library(binary, name):
    """The path of the shared library `name` (e.g. libswiftCore) the binary loads; None when it
    loads none of that name (the Swift runtime linked into the binary, as in the shipped build)."""
    done = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True)
    for line in done.stdout.splitlines():
        parts = line.split()
        if parts and parts[0].startswith(name + ".") and len(parts) >= 3 and parts[2].startswith("/"):
            return parts[2]
    return None


def probed_binary(binary, workdir):
    """The binary to run and probe: itself when it loads the Swift runtime as a library; else (the
    runtime linked statically) a copy without debug information, whose symbols `perf probe` can
    place (it fails on the build's DWARF 5 and finds no `swift_allocObject` then)."""
    if library(binary, "libswiftCore"):
        return binary
    copy = os.path.join(workdir, os.path.basename(binary))
    shutil.copy(binary, copy)
    subprocess.run(["strip", "--strip-debug", copy], check=True, timeout=120)
    return copy


def ensure_probes(binary):
    """Adds the probes on `binary` and the libraries it loads, under the fixed names in EVENTS:
    each run removes them first, since a probe left by an earlier run may sit in another copy."""
    subprocess.run(["perf", "probe", "-q", *[arg for event in EVENTS for arg in ("-d", event)]],
                   capture_output=True, text=True)  # fails harmlessly when there are none
    for event, (name, function) in zip(EVENTS, PROBES):
        target = library(binary, name) or binary
        done = subprocess.run(["perf", "probe", "-x", target, f"{event}={function}"], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"perf probe -x {target} {function}: {done.stderr.strip()[-300:]}")


def switches(pid):
    """Voluntary and involuntary context switches and CPU time (user + system, µs) so far, per
    thread name."""
    out = collections.defaultdict(collections.Counter)
    tick = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key in ("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"):
                        out[name][key.split("_")[0]] += int(value)
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rpartition(")")[2].split()  # after the name, which may hold spaces
            out[name]["cpu"] += (int(fields[11]) + int(fields[12])) * 1_000_000 // tick  # utime, stime
        except FileNotFoundError:
            pass  # a thread that ended meanwhile
    return out


def count(binary, events, timeout, answer=""):
    cleanup = Cleanup()
    try:
        sink = Sink(cleanup, answer=answer)
        redis_url, _ = start_redis(cleanup, "allocations")
        warm = 2000
        runs.prefill(redis_url, 2 * events + warm + 1000)
        before = sink.count()
        worker = cleanup.start([binary, "run"], env=runs.worker_environment(redis_url, sink.url),
                               log_path=os.path.join(cleanup.temp_dir("allocations"), "worker.log"))
        deadline = Deadline(timeout, "allocations: warm-up")
        while sink.count() - before < warm:
            deadline.check()
            time.sleep(0.005)
        # The context switches first, over `events` deliveries without the probes: a uprobe traps
        # into the kernel at every call, which changes how threads are scheduled.
        start = sink.count()
        switched = switches(worker.pid)
        deadline = Deadline(timeout, f"context switches: {events} deliveries")
        while sink.count() - start < events:
            deadline.check()
            time.sleep(0.01)
        for thread, counts in switches(worker.pid).items():
            counts.subtract(switched.get(thread, collections.Counter()))
            switched[thread] = counts
        switched_over = sink.count() - start
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
    for thread, counts in switched.items():
        # Scaled to the allocations' deliveries, so that every column divides by one count.
        per_thread[thread].update({(kind if kind == "cpu" else "switches " + kind):
                                   round(n * delivered / max(1, switched_over)) for kind, n in counts.items()})
    return per_thread, delivered


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--events", type=int, default=50_000, help="deliveries counted (50,000)")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--answer-body", default="", metavar="TEXT",
                        help="the sink answers each POST with this body (default none), as most receivers do")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="allocations-")
    try:
        binary = probed_binary(os.path.abspath(args.binary), workdir)
        ensure_probes(binary)
        per_thread, delivered = count(binary, args.events, args.timeout, answer=args.answer_body)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    total = collections.Counter()
    print(f"allocations and context switches per delivery over {delivered} deliveries "
          "(swift: swift_allocObject; malloc: every malloc; arc: swift_retain + swift_release; "
          "switches: voluntary / involuntary; cpu: user + system, over the switches' deliveries)")

    def row(name, counts):
        arc = counts["swift_retain"] + counts["swift_release"]
        print(f"  {name:18s} swift {counts['swift_allocObject'] / delivered:6.2f}   malloc {counts['malloc'] / delivered:6.2f}"
              f"   arc {arc / delivered:7.1f}"
              f"   switches {counts['switches voluntary'] / delivered:6.3f} / {counts['switches nonvoluntary'] / delivered:6.3f}"
              f"   cpu {counts['cpu'] / delivered:5.1f} µs")

    for thread, counts in sorted(per_thread.items(), key=lambda item: -(item[1]["malloc"] + item[1]["switches voluntary"])):
        if sum(counts.values()) < delivered / 100:
            continue
        total.update(counts)
        row(thread, counts)
    row("all threads", total)


if __name__ == "__main__":
    main()
