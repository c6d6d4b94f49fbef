"""Latency from enqueue to receipt at a steady rate, through one worker, to a timing receiver.

The producer pushes one event every 1/rate s on an absolute schedule (a late push is made at
once, so the rate does not drift), each with enqueued_at = time.time() at the push. The receiver
(receiver.py, its own process) records time.time() - enqueued_at when a request's body is in.
Its own share is measured first: the same figure for POSTs sent straight to it (the "floor")."""

import http.client
import json
import os
import sys
import time

import redis

from .procs import LOOPBACK, Deadline, PhaseTimeout, free_port, start_redis, wait_for_port
from .runs import QUEUE, worker_environment

RECEIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "receiver.py")


def percentiles(values):
    """p50, p99 and max of `values` (seconds) in milliseconds."""
    if not values:
        return {"count": 0}
    ordered = sorted(values)

    def at(q):
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)
    return {"count": len(ordered), "p50_ms": at(0.50), "p90_ms": at(0.90), "p99_ms": at(0.99),
            "max_ms": round(1000 * ordered[-1], 3), "over_10ms": sum(1 for v in ordered if v > 0.010)}


class Receiver:
    def __init__(self, cleanup):
        self.port = free_port()
        self.process = cleanup.start([sys.executable, RECEIVER, "--port", str(self.port)])
        wait_for_port(self.port, Deadline(10, f"latency receiver on port {self.port}"))
        self.url = f"http://{LOOPBACK}:{self.port}/hook"
        self.connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=10)

    def get(self, path):
        self.connection.request("GET", path)
        return json.loads(self.connection.getresponse().read())

    def floor(self, count):
        """Latencies of `count` POSTs sent straight to the receiver, one at a time."""
        before = self.get("/stats")["count"]
        for _ in range(count):
            body = ('{"username":"floor","action":"user_created","enqueued_at":%.6f,"tries":0}'
                    % time.time()).encode()
            self.connection.request("POST", "/hook", body=body,
                                    headers={"Content-Type": "application/json"})
            self.connection.getresponse().read()
        return self.get("/latencies")[before:]


def produce(redis_url, rate, seconds):
    """LPUSHes rate*seconds events on an absolute schedule; returns (pushed, worst lag in ms)."""
    client = redis.Redis.from_url(redis_url)
    total = int(rate * seconds)
    interval = 1.0 / rate
    worst_lag = 0.0
    start = time.monotonic() + 0.01
    for i in range(total):
        due = start + i * interval
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        else:
            worst_lag = max(worst_lag, -wait)
        client.lpush(QUEUE, '{"username":"user-%d","action":"user_created","enqueued_at":%.6f}'
                     % (i, time.time()))
    client.close()
    return total, round(1000 * worst_lag, 3)


def measure(cleanup, binary, rate, seconds, timeout, concurrency=None):
    """Runs the latency phase; returns its figures (status "timeout" past `timeout` s)."""
    result = {"rate": rate, "seconds": seconds}
    deadline = Deadline(timeout, f"latency at {rate}/s")
    redis_url, redis_process = start_redis(cleanup, "latency")
    receiver = Receiver(cleanup)
    workdir = cleanup.temp_dir("work-latency")
    worker = None
    try:
        result["receiver_floor"] = percentiles(receiver.floor(1000))
        worker = cleanup.start([binary, "run"], cwd=workdir,
                               env=worker_environment(redis_url, receiver.url, concurrency),
                               log_path=os.path.join(workdir, "worker.log"))
        _wait_until_registered(redis_url, worker, deadline)
        before = receiver.get("/stats")["count"]
        pushed, worst_lag = produce(redis_url, rate, seconds)
        result.update(pushed=pushed, producer_worst_lag_ms=worst_lag)
        while receiver.get("/stats")["count"] - before < pushed:
            deadline.check()
            time.sleep(0.05)
        result.update(status="ok", **percentiles(receiver.get("/latencies")[before:]))
    except PhaseTimeout as error:
        result.update(status="timeout", error=str(error))
    finally:
        if worker is not None:
            result["exit_code"] = cleanup.stop(worker, grace=15)
        cleanup.stop(receiver.process)
        cleanup.stop(redis_process)
    return result


def _wait_until_registered(redis_url, worker, deadline):
    # The worker is ready once its first heartbeat is in the workers set; then let it settle.
    client = redis.Redis.from_url(redis_url)
    try:
        while client.zcard("webhooks:workers") == 0:
            if worker.poll() is not None:
                raise RuntimeError(f"latency: worker exited with {worker.returncode}")
            deadline.check()
            time.sleep(0.05)
    finally:
        client.close()
    time.sleep(0.5)
