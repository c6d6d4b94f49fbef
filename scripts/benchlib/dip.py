"""Warm connections across a dip in concurrency: one worker delivers a burst of events (every
connection of its pool busy), then a trickle (one event at a time, so one connection busy), then
a second burst. The sink counts the connections it accepted: with the pool's connections kept
through the trickle, about the pool size in all; a connection cache that shrinks with the
transfers in flight (libcurl's default CURLMOPT_MAXCONNECTS: 4 per handle added) closes most of
them during the trickle and opens them again for the second burst."""

import os
import time

import redis

from .procs import Deadline
from .runs import QUEUE, prefill, worker_environment
from .procs import start_redis


def measure(cleanup, sink, binary, concurrency, burst, trickle=200, trickle_interval=0.01, timeout=120):
    redis_url, redis_process = start_redis(cleanup, "dip")
    workdir = cleanup.temp_dir("dip")
    client = redis.Redis.from_url(redis_url)
    worker = None
    deadline = Deadline(timeout, "connection dip")
    try:
        before, connections_before = sink.count(), sink.connections()
        prefill(redis_url, burst)
        argv, env = [binary, "run"], worker_environment(redis_url, sink.url, concurrency)
        worker = cleanup.start(argv, cwd=workdir, env=env, log_path=os.path.join(workdir, "worker.log"))

        def wait(total):
            while sink.count() - before < total:
                if worker.poll() is not None:
                    raise RuntimeError(f"worker exited with {worker.returncode}")
                deadline.check()
                time.sleep(0.01)
        wait(burst)
        after_burst = sink.connections() - connections_before
        for index in range(trickle):
            client.lpush(QUEUE, '{"username":"trickle-%d","action":"user_created","enqueued_at":%.6f}'
                         % (index, time.time()))
            wait(burst + index + 1)
            time.sleep(trickle_interval)
        after_trickle = sink.connections() - connections_before
        # The second burst: pushed while the worker runs (prefill's LLEN check would race it).
        pipe = client.pipeline(transaction=False)
        for start in range(0, burst, 1000):
            pipe.lpush(QUEUE, *('{"username":"again-%d","action":"user_created","enqueued_at":%.6f}' % (i, time.time())
                                for i in range(start, min(start + 1000, burst))))
        pipe.execute()
        wait(2 * burst + trickle)
        total = sink.connections() - connections_before
        deliveries = sink.count() - before
        return {"burst": burst, "trickle": trickle, "deliveries": deliveries,
                "connections_after_first_burst": after_burst, "connections_after_trickle": after_trickle,
                "connections": total, "connections_per_100k": round(1e5 * total / deliveries, 1)}
    finally:
        if worker is not None:
            cleanup.stop(worker, grace=15)
        client.close()
        cleanup.stop(redis_process)
