#!/usr/bin/env python3
"""Profiles one `webhook-worker run` under the bench's load with valgrind's callgrind (repeatable
instruction counts; no hardware counters needed), then sums the inclusive costs by category.

    python3 scripts/benchlib/profile.py --binary .build/release/webhook-worker --events 5000

Same set-up as the bench's worker_x1 phase (fresh Redis, pre-filled queue, nginx sink, default
settings, signed, one endpoint), but fewer events: callgrind runs the program about 50x slower.
Writes callgrind.out.<pid> into --out-dir and prints the top functions by self cost and the
categories. Kernel time is not in callgrind's counts: the bench's user/system split gives it."""

import argparse
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchlib import runs  # noqa: E402
from benchlib.procs import Cleanup, Deadline, start_redis  # noqa: E402
from benchlib.sink import Sink  # noqa: E402

# Category: substrings of a function's name or its object file, checked in this order.
CATEGORIES = [
    ("libcurl", ("libcurl",)),
    ("TLS/crypto (signing)", ("HMAC", "SHA256", "sha256", "Crypto", "libcrypto", "boringssl", "CCryptoBoringSSL",
                              "base64", "hexSignature", "standardSignature")),
    ("JSON (parse, body)", ("JSONScanner", "JSONWriter", "Event.parse", "Event.body", "ByteScanner",
                            "StringUnescaper", "JSONDocument", "DiscordMessage")),
    ("Redis (hiredis, replies)", ("hiredis", "redisReader", "RedisConnection", "RedisReply", "RedisQueue",
                                  "SettleBatch", "TakenItem", "QueueItem")),
    ("header building", ("RequestBuilder", "HeaderLines", "curl_slist")),
    ("locks, wake-ups", ("pthread_mutex", "pthread_cond", "futex", "NSCondition", "Mutex", "os_unfair",
                         "__lll_lock", "curl_multi_wakeup", "condition")),
    ("allocation", ("malloc", "free", "realloc", "calloc", "swift_allocObject", "swift_release", "swift_retain",
                    "swift_bridgeObjectRetain", "swift_bridgeObjectRelease", "_int_malloc", "_int_free",
                    "swift_slowAlloc", "swift_slowDealloc", "cfree")),
    ("metrics, logging", ("Metrics", "Logging", "Counter", "Gauge", "Timer", "Prometheus")),
]


def run_profiled(binary, events, out_dir, timeout):
    cleanup = Cleanup()
    try:
        sink = Sink(cleanup)
        redis_url, _ = start_redis(cleanup, "profile")
        runs.prefill(redis_url, events)
        env = runs.worker_environment(redis_url, sink.url)
        os.makedirs(out_dir, exist_ok=True)
        argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_dir}/callgrind.out.%p",
                "--separate-threads=no", binary, "run"]
        before = sink.count()
        started = time.monotonic()
        worker = cleanup.start(argv, env=env, log_path=os.path.join(out_dir, "worker.log"))
        deadline = Deadline(timeout, f"profile: {events} events")
        while sink.count() - before < events:
            if worker.poll() is not None:
                raise RuntimeError(f"worker exited with {worker.returncode}; see {out_dir}/worker.log")
            deadline.check()
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        cleanup.stop(worker, signal.SIGTERM, grace=60)
        print(f"{events} events delivered under callgrind in {elapsed:.1f} s", file=sys.stderr)
        return max((os.path.join(out_dir, f) for f in os.listdir(out_dir) if f.startswith("callgrind.out.")),
                   key=os.path.getmtime)
    finally:
        cleanup.close()


def self_costs(path):
    """{function (with object): self instructions} from callgrind_annotate's flat listing."""
    done = subprocess.run(["callgrind_annotate", "--threshold=100", "--inclusive=no", path],
                          capture_output=True, text=True, check=True)
    costs = {}
    line_pattern = re.compile(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(.*)$")
    for line in done.stdout.splitlines():
        match = line_pattern.match(line)
        if not match or ":" not in match.group(2):
            continue
        costs[match.group(2).strip()] = int(match.group(1).replace(",", ""))
    return costs


def categorize(costs):
    totals = {name: 0 for name, _ in CATEGORIES}
    totals["kernel entry (syscall wrappers)"] = 0
    totals["other"] = 0
    for function, cost in costs.items():
        for name, needles in CATEGORIES:
            if any(needle in function for needle in needles):
                totals[name] += cost
                break
        else:
            if any(s in function for s in ("epoll", "poll", "__libc_send", "__libc_recv", "read", "write",
                                           "syscall", "clock_gettime")):
                totals["kernel entry (syscall wrappers)"] += cost
            else:
                totals["other"] += cost
    return totals


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--out-dir", default="bench-results/profile")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--file", default=None, help="only analyse this callgrind.out file")
    args = parser.parse_args()
    path = args.file or run_profiled(os.path.abspath(args.binary), args.events, args.out_dir, args.timeout)
    costs = self_costs(path)
    total = sum(costs.values())
    print(f"\n{path}: {total:,} instructions, {total / args.events:,.0f} per event (self costs summed)\n")
    print("top functions by self cost:")
    for function, cost in sorted(costs.items(), key=lambda item: -item[1])[:40]:
        print(f"  {100 * cost / total:5.1f} %  {function[:150]}")
    print("\nby category:")
    for name, cost in sorted(categorize(costs).items(), key=lambda item: -item[1]):
        print(f"  {100 * cost / total:5.1f} %  {cost / args.events:9,.0f} instr/event  {name}")


if __name__ == "__main__":
    main()
