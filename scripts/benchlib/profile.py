#!/usr/bin/env python3
"""Profiles one `webhook-worker run` under the bench's load with `perf record` (cpu-clock
sampling with call graphs; kernel samples included), then sums the samples by category.

    python3 scripts/benchlib/profile.py --binary .build/release/webhook-worker --events 100000

Same set-up as the bench's worker_x1 phase (fresh Redis, pre-filled queue, nginx sink, default
settings, signed, one endpoint). perf attaches once the worker runs and stops when the sink has
counted every event. Needs linux-perf; a software clock is used, so no hardware counters are
needed. (valgrind 3.19's callgrind cannot run the worker: it fails on the Swift toolchain's
DWARF 5 and crashes in libdispatch.) Prints the top symbols by self time and the categories."""

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

# Category: substrings of "dso symbol", checked in this order; the first match wins.
CATEGORIES = [
    ("kernel: locks, wake-ups (futex, scheduler)", ("futex", "schedule", "finish_task_switch", "try_to_wake_up",
                                                    "__wake_up", "ttwu", "pick_next", "dequeue_task",
                                                    "enqueue_task", "update_curr", "psi_")),
    ("kernel: network (TCP/IP on loopback)", ("tcp_", "ip_", "__dev_queue", "net_rx", "loopback", "skb",
                                              "sock_", "__sys_sendto", "__sys_recvfrom", "inet_", "__netif",
                                              "__napi", "process_backlog", "dst_", "nf_", "sk_", "__ip", "neigh")),
    ("kernel: other (syscalls, polling, memory)", ("[kernel.kallsyms]", "[kernel")),
    ("libcurl", ("libcurl",)),
    ("signing (HMAC-SHA256, base64)", ("sha256", "SHA256", "HMAC", "hmac", "base64", "Crypto",
                                       "hexSignature", "standardSignature")),
    ("JSON (parse, body)", ("JSONScanner", "JSONWriter", "Event.parse", "Event.body", "ByteScanner",
                            "StringUnescaper", "JSONDocument", "DiscordMessage", "JSONMember")),
    ("Redis client (hiredis, replies, scripts)", ("hiredis", "redis", "Redis", "SettleBatch", "TakenItem",
                                                  "QueueItem")),
    ("header building, request set-up", ("RequestBuilder", "HeaderLines", "curl_slist", "Transfer",
                                         "HTTPRequest")),
    ("locks, wake-ups (user side)", ("pthread_mutex", "pthread_cond", "NSCondition", "Mutex", "__lll_lock",
                                     "curl_multi_wakeup", "lll_", "Synchronization")),
    ("allocation, reference counting", ("malloc", "free", "realloc", "calloc", "swift_allocObject",
                                        "swift_release", "swift_retain", "swift_bridgeObject", "_int_malloc",
                                        "_int_free", "swift_slowAlloc", "swift_slowDealloc", "swift_dealloc",
                                        "swift_beginAccess", "swift_endAccess", "swift_isUniquely",
                                        "swift_arrayInit", "swift_arrayDestroy", "tcache", "unlink_chunk")),
    ("settle, in-flight table, taker", ("Settler", "InFlight", "Taker", "Resolution", "DeliveryUnit")),
    ("metrics, logging", ("Metrics", "Logging", "Counter", "Gauge", "Timer", "Prometheus")),
    ("libc string/memory", ("memcpy", "memmove", "memset", "strlen", "memcmp", "strncasecmp", "__strn",
                            "__memcmp", "__mem", "__str")),
]


def run_profiled(binary, events, out_dir, timeout, frequency):
    cleanup = Cleanup()
    try:
        sink = Sink(cleanup)
        redis_url, _ = start_redis(cleanup, "profile")
        runs.prefill(redis_url, events)
        env = runs.worker_environment(redis_url, sink.url)
        os.makedirs(out_dir, exist_ok=True)
        data = os.path.join(out_dir, "perf.data")
        before = sink.count()
        # perf starts the worker, so every thread it creates is sampled from the start.
        perf = cleanup.start(["perf", "record", "-e", "cpu-clock", "-F", str(frequency), "-g", "-o", data,
                              "--", binary, "run"], env=env, log_path=os.path.join(out_dir, "worker.log"))
        started = time.monotonic()
        deadline = Deadline(timeout, f"profile: {events} events")
        while sink.count() - before < events:
            if perf.poll() is not None:
                raise RuntimeError(f"perf/worker exited with {perf.returncode}; see {out_dir}/worker.log")
            deadline.check()
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        with open(f"/proc/{perf.pid}/task/{perf.pid}/children") as f:
            worker_pid = int(f.read().split()[0])
        os.kill(worker_pid, signal.SIGTERM)  # the worker stops cleanly; then perf writes its data
        perf.wait(timeout=60)
        print(f"{events} events delivered under perf in {elapsed:.1f} s", file=sys.stderr)
        return data
    finally:
        cleanup.close()


def self_costs(path):
    """{"dso symbol": samples} (self time) from perf report, Swift names demangled."""
    done = subprocess.run(["perf", "report", "-i", path, "--no-children", "--sort", "dso,symbol", "--stdio",
                           "-g", "none", "--percent-limit", "0", "-F", "sample,dso,symbol"],
                          capture_output=True, text=True, check=True)
    text = done.stdout
    try:
        text = subprocess.run(["swift", "demangle", "--simplified"], input=text, capture_output=True,
                              text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pass
    costs = {}
    line_pattern = re.compile(r"^\s*(\d+)\s+(\S+)\s+\[[.k]\]\s+(.*)$")
    for line in text.splitlines():
        match = line_pattern.match(line)
        if match:
            key = f"{match.group(2)} {match.group(3).strip()}"
            costs[key] = costs.get(key, 0) + int(match.group(1))
    return costs


def categorize(costs):
    totals = {name: 0 for name, _ in CATEGORIES}
    totals["other"] = 0
    for function, cost in costs.items():
        kernel = function.startswith("[kernel")
        for name, needles in CATEGORIES:
            if name.startswith("kernel") != kernel:
                continue
            if any(needle in function for needle in needles):
                totals[name] += cost
                break
        else:
            totals["other"] += cost
    return totals


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--frequency", type=int, default=4999, help="samples per second (4999)")
    parser.add_argument("--out-dir", default="bench-results/profile")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--file", default=None, help="only analyse this perf.data file")
    args = parser.parse_args()
    path = args.file or run_profiled(os.path.abspath(args.binary), args.events, args.out_dir, args.timeout,
                                     args.frequency)
    costs = self_costs(path)
    total = sum(costs.values())
    micros = 1e6 / args.frequency  # one sample stands for this much CPU time
    print(f"\n{path}: {total:,} samples = {total * micros / 1e6:.2f} s CPU, "
          f"{total * micros / args.events:.1f} µs per event\n")
    print("top symbols by self time:")
    for function, cost in sorted(costs.items(), key=lambda item: -item[1])[:45]:
        print(f"  {100 * cost / total:5.1f} %  {function[:140]}")
    print("\nby category:")
    for name, cost in sorted(categorize(costs).items(), key=lambda item: -item[1]):
        print(f"  {100 * cost / total:5.1f} %  {cost * micros / args.events:6.2f} µs/event  {name}")


if __name__ == "__main__":
    main()
