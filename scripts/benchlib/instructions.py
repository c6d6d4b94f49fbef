#!/usr/bin/env python3
"""Instructions per delivery under callgrind: the noise-free second opinion beside the bench's
CPU times (which move 10-20 % from run to run on a shared machine). Counts user-space
instructions only: the kernel's share (system calls, TCP) is not in these figures. valgrind 3.19
(Debian 12) cannot yet run the worker (it fails on DWARF 5, and a strip --strip-debug copy then
dies with an internal SIGSEGV once the worker's threads start): the worker half reports that and
the bare loop's figures stand alone until a newer valgrind.

  cp .build/release/webhook-worker /tmp/ww && strip --strip-debug /tmp/ww   # valgrind 3.19 cannot read DWARF 5
  python3 scripts/benchlib/instructions.py --binary /tmp/ww [--events 20000]

Runs, against one nginx sink: the bare libcurl loop (bare_loop.c, curl_multi_poll) under
callgrind for --events requests, then one worker under callgrind delivering --events queued
events, with its counters zeroed after the first 1,000 deliveries (start-up excluded) and dumped
when the rest are in. Prints instructions per request/delivery, their ratio, and the top
functions of each (inclusive of nothing: self cost), and keeps the callgrind files with --keep DIR."""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchlib import bareloop  # noqa: E402
from benchlib.procs import Cleanup, Deadline, start_redis  # noqa: E402
from benchlib.runs import prefill, worker_environment  # noqa: E402
from benchlib.sink import Sink  # noqa: E402

TOTALS = re.compile(r"^(?:summary|totals):\s+(\d+)", re.M)


def total_instructions(path):
    with open(path) as f:
        match = TOTALS.search(f.read())
    if not match:
        raise RuntimeError(f"no totals in {path}")
    return int(match.group(1))


def top_functions(path, count):
    done = subprocess.run(["callgrind_annotate", "--threshold=99", path], capture_output=True, text=True,
                          timeout=300)
    lines = [line for line in done.stdout.splitlines() if re.match(r"^\s*[\d,]+ \(", line)]
    return lines[1:count + 1]


def bare(sink, workdir, requests, connections):
    binary = bareloop.build(workdir)
    header_file, body_file = bareloop.request_files(workdir)
    out = os.path.join(workdir, "callgrind.bare")
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary, sink.url,
                    str(requests), str(connections), header_file, body_file, "poll"],
                   capture_output=True, text=True, timeout=1800, check=True)
    return out


def worker(cleanup, sink, workdir, binary, events, warmup=1000):
    redis_url, redis_process = start_redis(cleanup, "callgrind")
    prefill(redis_url, events + warmup)
    env = worker_environment(redis_url, sink.url)
    out = os.path.join(workdir, "callgrind.worker")
    before = sink.count()
    process = cleanup.start(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary, "run"],
                            cwd=workdir, env=env, log_path=os.path.join(workdir, "worker.log"))
    deadline = Deadline(3600, "worker under callgrind")
    try:
        while sink.count() - before < warmup:
            if process.poll() is not None:
                with open(os.path.join(workdir, "worker.log"), errors="replace") as f:
                    tail = f.read()[-800:]
                raise RuntimeError(f"the worker under callgrind exited with {process.returncode} (valgrind 3.19 "
                                   f"cannot read DWARF 5: pass a copy made with strip --strip-debug): {tail}")
            deadline.check()
            time.sleep(0.2)
        subprocess.run(["callgrind_control", "--zero", str(process.pid)], capture_output=True, timeout=120,
                       check=True)
        first = sink.count() - before
        while sink.count() - before < events + warmup:
            deadline.check()
            time.sleep(0.2)
        for path in glob.glob(out + "*"):
            os.remove(path)
        subprocess.run(["callgrind_control", "--dump", str(process.pid)], capture_output=True, timeout=300,
                       check=True)
        delivered = sink.count() - before - first
    finally:
        cleanup.stop(process, grace=60)
        cleanup.stop(redis_process)
    dumps = sorted(p for p in glob.glob(out + "*") if os.path.getsize(p) > 0)
    if not dumps:
        raise RuntimeError("callgrind wrote no dump")
    return dumps[0], delivered


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--keep", metavar="DIR", default=None, help="copy the callgrind files here")
    parser.add_argument("--skip-bare", action="store_true")
    args = parser.parse_args()
    cleanup = Cleanup()
    try:
        sink = Sink(cleanup)
        workdir = cleanup.temp_dir("callgrind")
        results = {}
        if not args.skip_bare:
            path = bare(sink, workdir, args.events, args.connections)
            results["bare"] = (path, total_instructions(path) / args.events)
        try:
            path, delivered = worker(cleanup, sink, workdir, args.binary, args.events)
            results["worker"] = (path, total_instructions(path) / delivered)
        except RuntimeError as error:
            # valgrind 3.19 (Debian 12) dies in the worker (an internal SIGSEGV once its threads
            # start, after the DWARF 5 problem is stripped away): the bare loop's figures stand alone.
            print(f"worker: not measured: {str(error)[:300]}", file=sys.stderr)
        for name, (path, per) in results.items():
            print(f"\n{name}: {per:,.0f} instructions per {'request' if name == 'bare' else 'delivery'}")
            for line in top_functions(path, args.top):
                print("   " + line.strip())
            if args.keep:
                os.makedirs(args.keep, exist_ok=True)
                shutil.copy(path, os.path.join(args.keep, f"callgrind.{name}"))
        if "bare" in results and "worker" in results:
            print(f"\nworker / bare loop: {results['worker'][1] / results['bare'][1]:.2f}x in user-space instructions")
    finally:
        cleanup.close()


if __name__ == "__main__":
    main()
