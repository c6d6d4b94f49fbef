#!/usr/bin/env python3
"""A webhook worker the way Marzban delivers: the bench's Python baseline.

One event at a time: redis-py BRPOP from the queue, `tries` set, one requests.Session POST per
event with the hex HMAC-SHA256 of the body in `x-webhook-secret` (what the seed's receiver
checks), wait for the answer, next. No concurrency, as in Marzban's sender. It stops on SIGTERM
or SIGINT, or after --max-events deliveries.

    python3 scripts/marzban_worker.py --redis-url redis://127.0.0.1:6379/0 \\
        --address http://127.0.0.1:9000/ --secret s3cret
"""

import argparse
import hashlib
import hmac
import json
import signal
import sys

import redis
import requests

stopping = False


def stop(_signum, _frame):
    global stopping
    stopping = True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--queue", default="webhooks:queue", help="list key (default webhooks:queue)")
    parser.add_argument("--address", required=True, help="endpoint URL")
    parser.add_argument("--secret", default="", help="HMAC key; empty: unsigned")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    parser.add_argument("--max-events", type=int, default=0, help="stop after this many (0: never)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    queue = redis.Redis.from_url(args.redis_url)
    session = requests.Session()
    key = args.secret.encode()
    delivered = failed = 0
    while not stopping and (args.max_events == 0 or delivered < args.max_events):
        # A short BRPOP timeout so a stop request is seen within a second on an empty queue.
        popped = queue.brpop(args.queue, timeout=1)
        if popped is None:
            continue
        event = json.loads(popped[1])
        event["tries"] = 0
        body = json.dumps(event, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"}
        if key:
            headers["x-webhook-secret"] = hmac.new(key, body, hashlib.sha256).hexdigest()
        try:
            answer = session.post(args.address, data=body, headers=headers, timeout=args.timeout)
            ok = 200 <= answer.status_code < 300
        except requests.RequestException:
            ok = False
        if ok:
            delivered += 1
        else:
            failed += 1
    print(f"delivered {delivered}, failed {failed}", file=sys.stderr)


if __name__ == "__main__":
    main()
