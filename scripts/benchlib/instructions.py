#!/usr/bin/env python3
"""Instructions per delivery under callgrind: the noise-free second opinion beside the bench's
CPU times (which move 10-20 % from run to run on a shared machine). Counts user-space
instructions only: the kernel's share (system calls, TCP) is not in these figures, and valgrind
runs SHA-256 without the CPU's SHA extensions, so HMACs count several times what they cost on
the machine.

  cp .build/release/webhook-worker /tmp/ww && strip --strip-debug /tmp/ww   # valgrind 3.19 cannot read DWARF 5
  python3 scripts/benchlib/instructions.py --binary /tmp/ww [--events 10000] [--keep DIR] [--env NAME=VALUE]
      [--note-bytes 1400]

Runs, against one nginx sink: the bare libcurl loop (bare_loop.c, curl_multi_poll) under
callgrind for --events requests, then one worker under callgrind delivering --events queued
events after 1,000 deliveries of warm-up (start-up excluded), one profile per thread. Prints
instructions per request/delivery, per worker thread (webhook-http, dispatcher, taker) and in
all, the ratios to the bare loop, and the top functions of each (self cost); --keep DIR keeps
the callgrind files; --env sets a worker variable (repeatable: `--env WEBHOOK_LOG_MAX=0` counts a
feature's share by difference); --note-bytes N gives each queued event a user object with a note
of N bytes, for the cost of events of Marzban's size (the bare loop still posts the small body);
--answer-body TEXT has the sink answer every POST with TEXT (both loops read it), for the cost of
a receiver that answers with a body, as most do (the attempt log keeps an excerpt).
The worker runs with sigsuspend_copy.c preloaded: without it valgrind 3.19
dies in the worker's main thread (see that file)."""

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


def without_open_calls(path):
    """A copy of a callgrind dump without its calls of count 0: the frames that were open when
    the counters were zeroed. callgrind_annotate 3.19 reads the cost line after such a call as
    the caller's own, and charged a whole thread to its `clone` frame."""
    out = path + ".annotated"
    with open(path, errors="replace") as source, open(out, "w") as target:
        skip = False
        for line in source:
            if skip:
                skip = False
                continue
            if line.startswith("calls=0 "):
                skip = True
                continue
            target.write(line)
    return out


def top_functions(path, count):
    done = subprocess.run(["callgrind_annotate", "--threshold=99", without_open_calls(path)], capture_output=True,
                          text=True, timeout=300)
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


def sigsuspend_shim(workdir):
    """Builds the LD_PRELOAD library that lets valgrind 3.19 run the worker (see sigsuspend_copy.c)."""
    out = os.path.join(workdir, "sigsuspend_copy.so")
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sigsuspend_copy.c")
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", out, source], check=True, timeout=120)
    return out


def worker(cleanup, sink, workdir, binary, events, warmup=1000, extra=None, note_bytes=0):
    """Runs the worker under callgrind, one profile per thread (--separate-threads), counters
    zeroed after `warmup` deliveries and dumped once `events` more are in. Returns the dump's
    files, one per thread, and the deliveries between zero and dump."""
    redis_url, redis_process = start_redis(cleanup, "callgrind")
    prefill(redis_url, events + warmup, note_bytes=note_bytes)
    env = worker_environment(redis_url, sink.url, extra=extra)
    env["LD_PRELOAD"] = sigsuspend_shim(workdir)
    out = os.path.join(workdir, "callgrind.worker")
    before = sink.count()
    process = cleanup.start(["valgrind", "--tool=callgrind", "--separate-threads=yes", "--compress-strings=no", f"--callgrind-out-file={out}",
                             binary, "run"], cwd=workdir, env=env, log_path=os.path.join(workdir, "worker.log"))
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
        # A dump (which also zeroes the counters) rather than --zero: after a --zero, callgrind
        # 3.19 charges every later instruction of a thread to its `clone` frame.
        subprocess.run(["callgrind_control", "--dump", str(process.pid)], capture_output=True, timeout=120,
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
        # The dump's files, taken now: at exit callgrind writes the shutdown's own.
        dumps = sorted(p for p in glob.glob(out + "*") if os.path.getsize(p) > 0)
    finally:
        cleanup.stop(process, grace=60)
        cleanup.stop(redis_process)
    if not dumps:
        raise RuntimeError("callgrind wrote no dump")
    return dumps, delivered


# A thread's profile is named by the function it runs (callgrind does not record thread names).
THREAD_ROLES = (("CurlLoop", "webhook-http"), ("DispatcherC3run", "dispatcher"), ("TakerC3run", "taker"))


def thread_role(path):
    with open(path, errors="replace") as f:
        text = f.read()
    for marker, role in THREAD_ROLES:
        if marker in text:
            return role
    return "other"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--keep", metavar="DIR", default=None, help="copy the callgrind files here")
    parser.add_argument("--skip-bare", action="store_true")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="a worker variable, e.g. WEBHOOK_LOG_MAX=0 (repeatable)")
    parser.add_argument("--note-bytes", type=int, default=0, metavar="N",
                        help="each event carries a user note of N bytes (Marzban's events are 1-2 KB)")
    parser.add_argument("--answer-body", default="", metavar="TEXT",
                        help="the sink answers each POST with this body (default none), as most receivers do")
    args = parser.parse_args()
    extra = {}
    for setting in args.env:
        name, equals, value = setting.partition("=")
        if not equals or not name:
            parser.error(f"--env {setting!r}: expected NAME=VALUE")
        extra[name] = value
    cleanup = Cleanup()
    try:
        sink = Sink(cleanup, answer=args.answer_body)
        workdir = cleanup.temp_dir("callgrind")
        results = {}
        if not args.skip_bare:
            path = bare(sink, workdir, args.events, args.connections)
            results["bare"] = (path, total_instructions(path) / args.events)
        try:
            paths, delivered = worker(cleanup, sink, workdir, args.binary, args.events, extra=extra,
                                      note_bytes=args.note_bytes)
            per_thread = {}
            for path in paths:
                role = thread_role(path)
                per_thread.setdefault(role, []).append(path)
            total = 0
            for role, role_paths in sorted(per_thread.items()):
                count = sum(total_instructions(p) for p in role_paths) / delivered
                total += count
                results[f"worker: {role}"] = (max(role_paths, key=total_instructions), count)
            results["worker"] = (None, total)
        except RuntimeError as error:
            print(f"worker: not measured: {str(error)[:300]}", file=sys.stderr)
        for name, (path, per) in results.items():
            print(f"\n{name}: {per:,.0f} instructions per {'request' if name == 'bare' else 'delivery'}")
            if path is None:
                continue
            for line in top_functions(path, args.top):
                print("   " + line.strip())
            if args.keep:
                os.makedirs(args.keep, exist_ok=True)
                shutil.copy(path, os.path.join(args.keep, "callgrind." + name.replace("worker: ", "")))
        if "bare" in results and "worker" in results:
            print(f"\nworker / bare loop: {results['worker'][1] / results['bare'][1]:.2f}x in user-space instructions")
            if "worker: webhook-http" in results:
                print(f"worker's HTTP thread / bare loop: "
                      f"{results['worker: webhook-http'][1] / results['bare'][1]:.2f}x")
    finally:
        cleanup.close()


if __name__ == "__main__":
    main()
