#!/usr/bin/env python3
"""Does sharing two cores cost a sender CPU? The bare libcurl loop's CPU per request alone, and
beside a co-runner (`co_runner.c`) that spins in short bursts and sleeps between them, about as
much of a core as a worker's dispatcher and Redis take beside its HTTP thread. Interleaved
rounds, one line each, and the medians.

    python3 scripts/benchlib/contention.py [--rounds 10] [--requests 100000] [--busy 100 --sleep 100]

The co-runner's share of a core is printed (its CPU over the round's wall time). On the 2-core
development machine, 10 rounds beside a co-runner of 33-39 % of a core gave 0.91x the CPU per
request alone (spread wider than the difference): the co-runner's time on the cores does not
by itself make the loop's requests dearer. See docs/PERFORMANCE.md. Diagnostic only: not a
phase of scripts/bench."""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchlib import bareloop  # noqa: E402
from benchlib.procs import Cleanup  # noqa: E402
from benchlib.sink import Sink  # noqa: E402

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "co_runner.c")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--busy", type=int, default=100, help="co-runner: microseconds spinning per burst (100)")
    parser.add_argument("--sleep", type=int, default=100, help="co-runner: microseconds asleep between bursts (100)")
    args = parser.parse_args()
    cleanup = Cleanup()
    try:
        sink = Sink(cleanup)
        workdir = cleanup.temp_dir("contention")
        loop = bareloop.build(workdir)
        header_file, body_file = bareloop.request_files(workdir)
        co_runner = os.path.join(workdir, "co_runner")
        subprocess.run(["cc", "-O2", "-o", co_runner, SOURCE], check=True, timeout=120)
        figures = {"alone": [], "beside": []}
        for index in range(args.rounds):
            for name in (("alone", "beside") if index % 2 == 0 else ("beside", "alone")):
                runner = subprocess.Popen([co_runner, str(args.busy), str(args.sleep)]) if name == "beside" else None
                started = time.monotonic()
                try:
                    done = subprocess.run([loop, sink.url, str(args.requests), str(args.connections), header_file,
                                           body_file, "poll", ""], capture_output=True, text=True, timeout=300)
                finally:
                    share = None
                    if runner:
                        share = cpu_seconds(runner.pid) / (time.monotonic() - started)
                        runner.kill()
                        runner.wait()
                if done.returncode != 0:
                    raise RuntimeError(f"bare_loop exited {done.returncode}: {done.stderr.strip()[:200]}")
                result = json.loads(done.stdout)
                cpu = 1e6 * (result["user_seconds"] + result["system_seconds"]) / args.requests
                figures[name].append(cpu)
                print(f"round {index + 1} {name:6} {cpu:5.1f} µs/request  {args.requests / result['seconds']:8,.0f} req/s"
                      + (f"  co-runner {100 * share:.0f}% of a core" if share is not None else ""), flush=True)
        alone, beside = statistics.median(figures["alone"]), statistics.median(figures["beside"])
        print(f"median: alone {alone:.1f} µs/request, beside the co-runner {beside:.1f} µs/request ({beside / alone:.2f}x)")
    finally:
        cleanup.close()


if __name__ == "__main__":
    sys.exit(main())
