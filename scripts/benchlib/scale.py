"""How cost grows with the work (bench.py --scale; minutes, so not in every run):

  backlog         a backlog of N events (1,000,000) drains at a constant rate with flat memory:
                  the delivery rate per 100,000-event slice, the worker's RSS sampled every second,
                  and Redis bytes per queued event (used_memory before/after the prefill, and
                  MEMORY USAGE of the queue list, over N);
  delayed         a delayed set of N due entries: what promoting costs per item (Redis CPU and
                  the time of the promote script's own ZRANGEBYSCORE/RPUSH/ZREM calls, from INFO
                  commandstats) and how fast the worker delivers them;
  slow_endpoints  200 endpoints per event of which 10 are slow (5 never answer, 5 answer after
                  2 s): the 190 fast ones' delivery rate beside a run with those 190 alone."""

import os
import sys
import time

import redis

from .procs import Deadline, LOOPBACK, PhaseTimeout, cpu_seconds, free_port, rss_mb, start_redis, wait_for_port
from .runs import QUEUE, prefill, worker_environment

DELAYED = "webhooks:delayed"
SLOW_RECEIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "slow_receiver.py")


def _redis_cpu(client):
    info = client.info("cpu")
    return info["used_cpu_user"] + info["used_cpu_sys"]


def _drain(cleanup, sink, argv, env, workdir, expected, deadline, slice_size, partial=False):
    """Starts the worker, waits until the sink counted `expected` more requests; returns
    (worker process, seconds, slice rates, RSS samples in MB, CPU seconds). With `partial`, a
    deadline ends the wait instead of failing it (the caller reads what was delivered)."""
    before = sink.count()
    started = time.monotonic()
    worker = cleanup.start(argv, cwd=workdir, env=env, log_path=os.path.join(workdir, "worker.log"))
    slices, samples = [], []
    next_slice, slice_started, next_sample = slice_size, None, started
    while True:
        delivered = sink.count() - before
        now = time.monotonic()
        if slice_started is None and delivered > 0:
            slice_started = (now, delivered)  # start-up excluded from the first slice
            next_slice = delivered + slice_size
        if slice_started is not None and delivered >= min(next_slice, expected):
            seconds = now - slice_started[0]
            slices.append(round((delivered - slice_started[1]) / seconds) if seconds > 0 else None)
            slice_started = (now, delivered)
            next_slice = delivered + slice_size
        if now >= next_sample:
            samples.append(round(rss_mb(worker.pid), 1))
            next_sample += 1.0
        if delivered >= expected:
            break
        if worker.poll() is not None:
            raise RuntimeError(f"worker exited with {worker.returncode}")
        if partial and deadline.left() <= 0:
            break
        deadline.check()
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    samples.append(round(rss_mb(worker.pid), 1))
    return worker, elapsed, slices, samples, cpu_seconds(worker.pid)


def backlog(cleanup, sink, binary, concurrency, events, timeout):
    redis_url, redis_process = start_redis(cleanup, "scale-backlog")
    workdir = cleanup.temp_dir("scale-backlog")
    client = redis.Redis.from_url(redis_url)
    worker = None
    try:
        empty = client.info("memory")["used_memory"]
        prefill(redis_url, events, batch=2000)
        used = client.info("memory")["used_memory"] - empty
        list_bytes = client.memory_usage(QUEUE, samples=0)
        argv, env = [binary, "run"], worker_environment(redis_url, sink.url, concurrency)
        worker, seconds, slices, samples, cpu = _drain(cleanup, sink, argv, env, workdir, events,
                                                       Deadline(timeout, f"draining {events} events"), 100_000)
        return {"events": events, "seconds": round(seconds, 1), "rate": round(events / seconds),
                "slice_rates": slices, "rss_mb_samples": samples,
                "rss_mb_min": min(samples), "rss_mb_max": max(samples),
                "cpu_us_per_delivery": round(1e6 * cpu / events, 2),
                "redis_bytes_per_event_used_memory": round(used / events, 1),
                "redis_bytes_per_event_memory_usage": round(list_bytes / events, 1)}
    finally:
        if worker is not None:
            cleanup.stop(worker, grace=15)
        client.close()
        cleanup.stop(redis_process)


def delayed(cleanup, sink, binary, concurrency, events, timeout):
    redis_url, redis_process = start_redis(cleanup, "scale-delayed")
    workdir = cleanup.temp_dir("scale-delayed")
    client = redis.Redis.from_url(redis_url)
    worker = None
    try:
        due = time.time() - 1
        pipe = client.pipeline(transaction=False)
        for start in range(0, events, 2000):
            pipe.zadd(DELAYED, {'{"username":"user-%d","action":"user_created","enqueued_at":%.6f}' % (i, due): due
                                for i in range(start, min(start + 2000, events))})
            if len(pipe) >= 20:
                pipe.execute()
        pipe.execute()
        if client.zcard(DELAYED) != events:
            raise RuntimeError(f"ZCARD {DELAYED} is {client.zcard(DELAYED)}, expected {events}")
        zset_bytes = client.memory_usage(DELAYED, samples=0)
        client.config_resetstat()
        redis_cpu = _redis_cpu(client)
        argv, env = [binary, "run"], worker_environment(redis_url, sink.url, concurrency)
        worker, seconds, slices, samples, cpu = _drain(cleanup, sink, argv, env, workdir, events,
                                                       Deadline(timeout, f"delivering {events} delayed events"),
                                                       100_000)
        redis_cpu = _redis_cpu(client) - redis_cpu
        stats = client.info("commandstats")
        promote = {name: stats.get(f"cmdstat_{name}", {}) for name in ("zrangebyscore", "rpush", "zrem")}
        promote_usec = sum(s.get("usec", 0) for s in promote.values())
        return {"events": events, "seconds": round(seconds, 1), "rate": round(events / seconds),
                "slice_rates": slices, "rss_mb_max": max(samples),
                "cpu_us_per_delivery": round(1e6 * cpu / events, 2),
                "redis_bytes_per_delayed_entry": round(zset_bytes / events, 1),
                "promote_calls": promote["zrangebyscore"].get("calls", 0),
                "promote_redis_us_per_item": round(promote_usec / events, 3),
                "redis_cpu_us_per_event": round(1e6 * redis_cpu / events, 2)}
    finally:
        if worker is not None:
            cleanup.stop(worker, grace=15)
        client.close()
        cleanup.stop(redis_process)


def slow_endpoints(cleanup, sink, binary, concurrency, timeout, events=1000, fast=190, hung=5, slow=5, budget=120):
    """The fast endpoints' delivery rate alone and beside the slow ones; the second run stops
    after `budget` seconds if it is not done by then (its rate is then what it delivered so far)."""
    port = free_port()
    receiver = cleanup.start([sys.executable, SLOW_RECEIVER, "--port", str(port), "--delay", "2"])
    wait_for_port(port, Deadline(10, f"slow receiver on port {port}"))
    fast_urls = [f"{sink.url}{index}" for index in range(1, fast + 1)]
    slow_urls = ([f"http://{LOOPBACK}:{port}/hang{index}" for index in range(hung)]
                 + [f"http://{LOOPBACK}:{port}/slow{index}" for index in range(slow)])
    result = {"events": events, "fast_endpoints": fast, "hung_endpoints": hung, "slow_endpoints": slow}
    try:
        for label, urls in (("alone", fast_urls), ("with_slow", fast_urls[:fast // 2] + slow_urls + fast_urls[fast // 2:])):
            redis_url, redis_process = start_redis(cleanup, f"scale-slow-{label}")
            workdir = cleanup.temp_dir(f"scale-slow-{label}")
            worker = None
            try:
                prefill(redis_url, events)
                argv, env = [binary, "run"], worker_environment(redis_url, ",".join(urls), concurrency)
                before = sink.count()
                worker, seconds, slices, samples, cpu = _drain(cleanup, sink, argv, env, workdir, events * fast,
                                                               Deadline(budget if label == "with_slow" else timeout,
                                                                        f"{label}: {events * fast} deliveries"),
                                                               events * fast // 5, partial=label == "with_slow")
                delivered = sink.count() - before
                result[label] = {"seconds": round(seconds, 1), "fast_deliveries": delivered,
                                 "fast_rate": round(delivered / seconds), "complete": delivered >= events * fast,
                                 "slice_rates": slices, "rss_mb_max": max(samples)}
            except PhaseTimeout as error:
                result[label] = {"status": "timeout", "error": str(error)}
                raise
            finally:
                if worker is not None:
                    cleanup.stop(worker, grace=15)
                cleanup.stop(redis_process)
        result["fast_rate_kept"] = round(result["with_slow"]["fast_rate"] / result["alone"]["fast_rate"], 3)
        return result
    finally:
        cleanup.stop(receiver)
