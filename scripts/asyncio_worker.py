#!/usr/bin/env python3
"""The strongest plain-Python peer a user could write instead: the bench's second baseline.

asyncio on uvloop; redis.asyncio takes batches (RPOP with a count, BRPOP when the queue is
empty); an aiohttp keep-alive pool sends up to --concurrency POSTs at once, each signed like the
worker's default mode (hex HMAC of the body in `x-webhook-secret`, plus the Standard Webhooks
`webhook-id`, `webhook-timestamp` and `webhook-signature` headers). No processing list, retries
or dead letters: only the fast path, so it is a floor for Python, not a like-for-like product.
It stops on SIGTERM or SIGINT.

    python3 scripts/asyncio_worker.py --redis-url redis://127.0.0.1:6379/0 \\
        --address http://127.0.0.1:9000/ --secret s3cret
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import signal
import sys
import time

import aiohttp
import redis.asyncio as redis
import uvloop


async def deliver(session, address, key, raw, counters, timeout):
    event = json.loads(raw)
    event["tries"] = 0
    body = json.dumps(event, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json"}
    if key:
        webhook_id = "msg_" + os.urandom(12).hex()
        timestamp = str(int(time.time()))
        signed = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
        headers.update({
            "webhook-id": webhook_id,
            "webhook-timestamp": timestamp,
            "x-webhook-secret": hmac.new(key, body, hashlib.sha256).hexdigest(),
            "webhook-signature": "v1," + base64.b64encode(signed).decode(),
        })
    try:
        async with session.post(address, data=body, headers=headers, timeout=timeout) as answer:
            await answer.read()
            ok = 200 <= answer.status < 300
    except (aiohttp.ClientError, asyncio.TimeoutError):
        ok = False
    counters["delivered" if ok else "failed"] += 1


async def run(args, stopping):
    queue = redis.Redis.from_url(args.redis_url)
    key = args.secret.encode()
    counters = {"delivered": 0, "failed": 0}
    connector = aiohttp.TCPConnector(limit=args.concurrency, keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    room = asyncio.Semaphore(args.concurrency)
    tasks = set()

    async def one(raw):
        try:
            await deliver(session, args.address, key, raw, counters, timeout)
        finally:
            room.release()

    async with aiohttp.ClientSession(connector=connector) as session:
        while not stopping.is_set():
            batch = await queue.rpop(args.queue, args.batch)
            if not batch:
                popped = await queue.brpop(args.queue, timeout=1)
                batch = [popped[1]] if popped else []
            for raw in batch:
                await room.acquire()
                task = asyncio.create_task(one(raw))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks)
    await queue.aclose()
    print(f"delivered {counters['delivered']}, failed {counters['failed']}", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--queue", default="webhooks:queue", help="list key (default webhooks:queue)")
    parser.add_argument("--address", required=True, help="endpoint URL")
    parser.add_argument("--secret", default="", help="HMAC key; empty: unsigned")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    parser.add_argument("--concurrency", type=int, default=64, help="POSTs in flight at once (64)")
    parser.add_argument("--batch", type=int, default=100, help="events taken per RPOP (100)")
    args = parser.parse_args()

    async def start():
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        await run(args, stopping)

    uvloop.run(start())


if __name__ == "__main__":
    main()
