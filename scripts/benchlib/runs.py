"""Throughput runs: a fresh Redis, a pre-filled queue, K worker processes, the sink's count.

The same measurement serves the Swift worker and the Python baseline, so their rates compare:
the clock starts just before the processes are spawned (start-up included) and stops when the
sink has counted every event."""

import os
import signal
import sys
import time

import redis

from .procs import Deadline, PhaseTimeout, cpu_seconds, peak_rss_mb, rss_mb, rss_split_mb, start_redis
from .rawlimit import SECRET

QUEUE = "webhooks:queue"
SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Variables the worker reads: removed from its environment so "default settings" means defaults.
WORKER_VARIABLES = ("WEBHOOK_", "REDIS_", "JOB_SEND_NOTIFICATIONS_INTERVAL", "NUMBER_OF_RECURRENT_",
                    "RECURRENT_NOTIFICATIONS_", "DISCORD_WEBHOOK_URL", "INGEST_", "LOG_LEVEL")


def worker_environment(redis_url, address, concurrency=None, extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(WORKER_VARIABLES)}
    env.update(REDIS_URL=redis_url, WEBHOOK_ADDRESS=address, WEBHOOK_SECRET=SECRET, LOG_LEVEL="warning")
    if concurrency is not None:
        env["WEBHOOK_CONCURRENCY"] = str(concurrency)
    env.update(extra or {})
    return env


def endpoints(sink_url, count):
    """`count` distinct endpoint URLs on the sink (distinct paths: distinct targets)."""
    return ",".join(sink_url if count == 1 else f"{sink_url}{index}" for index in range(1, count + 1))


def commands_processed(redis_url):
    """Calls of every command Redis ran (INFO commandstats: script-internal calls included),
    not counting the INFO commands of this function itself."""
    client = redis.Redis.from_url(redis_url)
    try:
        stats = client.info("commandstats")
    finally:
        client.close()
    return sum(v["calls"] for k, v in stats.items() if k != "cmdstat_info")


def attempt_log_figures(redis_url, key="webhooks:log"):
    """The attempt log's length and bytes per record (MEMORY USAGE of the list over its length,
    every element sampled); empty when the run wrote none (WEBHOOK_LOG_MAX=0, another build)."""
    client = redis.Redis.from_url(redis_url)
    try:
        length = client.llen(key)
        if not length:
            return {}
        return {"log_records": length, "log_bytes_per_record": round(client.memory_usage(key, samples=0) / length, 1)}
    finally:
        client.close()


def prefill(redis_url, count, batch=1000, keys=None, note_bytes=0):
    """Pushes `count` events as LPUSHes of `batch` events each, pipelined. With `keys`, the
    events name that many users in turn (user-0 ... user-<keys-1>, then again): the active keys
    of an ordered endpoint. With `note_bytes`, each event also carries a user object whose note
    is that long: Marzban's events carry the whole user (links, proxies), 1-2 KB."""
    client = redis.Redis.from_url(redis_url)
    now = time.time()
    user = ',"user":{"note":"%s"}' % ("n" * note_bytes) if note_bytes else ""
    pipe = client.pipeline(transaction=False)
    for start in range(0, count, batch):
        pipe.lpush(QUEUE, *(
            '{"username":"user-%d","action":"user_created","enqueued_at":%.6f%s}' % (i % keys if keys else i, now, user)
            for i in range(start, min(start + batch, count))))
        if len(pipe) >= 20:
            pipe.execute()
    pipe.execute()
    queued = client.llen(QUEUE)
    client.close()
    if queued != count:
        raise RuntimeError(f"prefill: LLEN {QUEUE} is {queued}, expected {count}")


def queue_state(redis_url):
    """Depths after a run: queue, processing lists, delayed, dead; all 0 after a clean run."""
    client = redis.Redis.from_url(redis_url)
    try:
        processing = sum(client.llen(k) for k in client.scan_iter("webhooks:processing:*"))
        ordered = sum(client.zcard(k) for k in client.scan_iter("webhooks:ordered:*:pending"))
        return {"queue": client.llen(QUEUE), "processing": processing,
                "delayed": client.zcard("webhooks:delayed"), "dead": client.llen("webhooks:dead"),
                "ordered_pending": ordered}
    finally:
        client.close()


def swift_worker(binary, concurrency, endpoint_count=1, extra=None, rate=None, workdir=None, ordered=False):
    """argv/env factory for `webhook-worker run` (`endpoint_count` endpoints on the sink). With
    `rate` (e.g. "500/s"): one endpoint of an endpoints file (written in `workdir`) with that
    fleet-wide rate limit, instead of WEBHOOK_ADDRESS. With `ordered`: WEBHOOK_ORDERING=per-user
    (each user's events in enqueue order)."""
    def factory(redis_url, sink_url):
        env = worker_environment(redis_url, endpoints(sink_url, endpoint_count), concurrency, extra)
        if rate is not None:
            path = os.path.join(workdir, "endpoints.yaml")
            with open(path, "w") as f:
                f.write(f"endpoints:\n  - name: limited\n    url: {sink_url}\n    rate: {rate}\n")
            del env["WEBHOOK_ADDRESS"]
            env["WEBHOOK_ENDPOINTS_FILE"] = path
        if ordered:
            env["WEBHOOK_ORDERING"] = "per-user"
        return [binary, "run"], env
    return factory


def python_worker(redis_url, sink_url):
    """argv/env factory for scripts/marzban_worker.py."""
    argv = [sys.executable, os.path.join(SCRIPTS, "marzban_worker.py"), "--redis-url", redis_url,
            "--queue", QUEUE, "--address", sink_url, "--secret", SECRET]
    return argv, dict(os.environ)


def asyncio_worker(redis_url, sink_url):
    """argv/env factory for scripts/asyncio_worker.py (uvloop, redis.asyncio, aiohttp)."""
    argv = [sys.executable, os.path.join(SCRIPTS, "asyncio_worker.py"), "--redis-url", redis_url,
            "--queue", QUEUE, "--address", sink_url, "--secret", SECRET, "--concurrency", "64"]
    return argv, dict(os.environ)


def throughput(cleanup, sink, factory, events, processes, timeout, label, idle_seconds=0,
               requests_per_event=1.0, deliveries_per_event=1, keys=None):
    """Delivers `events` queued events with `processes` workers; returns the run's figures.

    The run is over when the sink has counted events * requests_per_event requests (several
    endpoints: more; Marzban mode batches events: the count is a lower bound, so the run also
    waits until Redis holds nothing). CPU per delivery is the workers' user + system CPU (from
    /proc) over events * deliveries_per_event. With idle_seconds > 0 also measures, for the first
    process, its peak and idle RSS and its CPU while the queue stays empty."""
    result = {"events": events, "processes": processes}
    batched = requests_per_event < 1
    redis_url, redis_process = start_redis(cleanup, label)
    workdir = cleanup.temp_dir(f"work-{label}")  # empty: no .env to pick up
    workers = []
    try:
        prefill(redis_url, events, keys=keys)
        commands_before = commands_processed(redis_url)
        expected = int(events * requests_per_event)
        deadline = Deadline(timeout, f"{label}: delivering {events} events")
        before = sink.count()
        connections_before = sink.connections()
        started = time.monotonic()
        for index in range(processes):
            argv, env = factory(redis_url, sink.url)
            workers.append(cleanup.start(argv, cwd=workdir, env=env,
                                         log_path=os.path.join(workdir, f"worker-{index}.log")))
        first = None  # (seconds, count) at the first poll that saw a delivery: start-up excluded
        while (delivered := sink.count() - before) < expected or (batched and _busy(redis_url)):
            if first is None and delivered > 0:
                first = (time.monotonic() - started, delivered)
            for worker in workers:
                if worker.poll() is not None:
                    raise RuntimeError(f"{label}: worker exited with {worker.returncode}: "
                                       f"{_log_tail(workdir, workers.index(worker))}")
            deadline.check()
            time.sleep(0.02)
        elapsed = time.monotonic() - started
        cpu = sum(cpu_seconds(w.pid) for w in workers)
        commands = commands_processed(redis_url) - commands_before
        result.update(status="ok", seconds=round(elapsed, 3), rate=round(events / elapsed, 1),
                      cpu_seconds=round(cpu, 3),
                      cpu_us_per_delivery=round(1e6 * cpu / (events * deliveries_per_event), 2),
                      redis_commands_per_event=round(commands / events, 3))
        result.update(attempt_log_figures(redis_url))
        if first is not None and elapsed > first[0]:
            result.update(first_delivery_s=round(first[0], 3),
                          rate_after_first=round((events - first[1]) / (elapsed - first[0]), 1))
        if idle_seconds > 0:
            result.update(_idle_figures(workers[0], idle_seconds))
        result["sink_requests"] = sink.count() - before
        # Connections the sink accepted during the run (idle phase included), per 100,000
        # requests: with keep-alive, about the pool size once, however many requests.
        result["connections"] = sink.connections() - connections_before
        result["connections_per_100k"] = round(1e5 * result["connections"] / max(1, result["sink_requests"]), 1)
        if not batched and result["sink_requests"] != expected:
            result["warning"] = f"{label}: sink counted {result['sink_requests']} requests, expected {expected}"
    except PhaseTimeout as error:
        result.update(status="timeout", error=str(error), delivered=sink.count() - before)
    finally:
        codes = [cleanup.stop(w, signal.SIGTERM, grace=15) for w in workers]
        result["exit_codes"] = codes
        if result.get("status") == "ok":
            result["after"] = queue_state(redis_url)
            if any(result["after"].values()):
                result["warning"] = f"{label}: Redis not empty after the run: {result['after']}"
        cleanup.stop(redis_process)
    return result


def _idle_figures(worker, seconds):
    # Let the settler write its last batch first: the queue is empty but work may be finishing.
    time.sleep(1.0)
    first = cpu_seconds(worker.pid)
    time.sleep(seconds)
    used = cpu_seconds(worker.pid) - first
    anon, mapped = rss_split_mb(worker.pid)
    return {"idle_seconds": seconds, "idle_cpu_percent": round(100 * used / seconds, 2),
            "peak_rss_mb": round(peak_rss_mb(worker.pid), 1), "idle_rss_mb": round(rss_mb(worker.pid), 1),
            "idle_rss_anon_mb": round(anon, 1), "idle_rss_file_mb": round(mapped, 1)}


def _busy(redis_url):
    state = queue_state(redis_url)
    return state["queue"] > 0 or state["processing"] > 0


def _log_tail(workdir, index):
    try:
        with open(os.path.join(workdir, f"worker-{index}.log"), errors="replace") as f:
            return f.read()[-500:].strip()
    except OSError:
        return "(no log)"
