"""The raw limit: wrk POSTing the worker's exact request (body and signed headers) to the sink."""

import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import time

from .procs import children_cpu_seconds

SECRET = "bench-secret"


def signed_request(secret=SECRET, now=None):
    """The body and headers the worker sends for one fresh event in its default mode."""
    now = time.time() if now is None else now
    body = ('{"username":"user-0","action":"user_created","enqueued_at":%.6f,"tries":0}' % now).encode()
    webhook_id = "msg_0123456789abcdef01234567_1a2b3c4d"
    timestamp = str(int(now))
    key = secret.encode()
    standard = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    headers = {
        "Content-Type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": timestamp,
        "x-webhook-secret": hmac.new(key, body, hashlib.sha256).hexdigest(),
        "webhook-signature": "v1," + base64.b64encode(standard).decode(),
    }
    return body, headers


def _lua_string(text):
    # json.dumps gives a double-quoted literal whose escapes Lua also understands for ASCII text.
    return json.dumps(text)


def post_script(body, headers):
    lines = ['wrk.method = "POST"', f"wrk.body = {_lua_string(body.decode())}"]
    lines += [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()]
    return "\n".join(lines) + "\n"


def measure(sink, workdir, connections, seconds):
    """Runs `wrk -t1 -c<connections> -d<seconds>s` against the sink; returns the figures."""
    body, headers = signed_request()
    script = os.path.join(workdir, "post.lua")
    with open(script, "w") as f:
        f.write(post_script(body, headers))
    before = sink.count()
    connections_before = sink.connections()
    cpu_before = children_cpu_seconds()
    result = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", script, sink.url],
        capture_output=True, text=True, timeout=seconds + 60)
    counted = sink.count() - before
    connections = sink.connections() - connections_before
    cpu = children_cpu_seconds() - cpu_before
    if result.returncode != 0:
        raise RuntimeError(f"wrk exited {result.returncode}: {result.stderr.strip()[:300]}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    if not match:
        raise RuntimeError(f"wrk printed no Requests/sec: {result.stdout.strip()[:300]}")
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", result.stdout)
    socket_errors = re.search(r"Socket errors:.*", result.stdout)
    return {
        "rate": float(match.group(1)),
        "seconds": seconds,
        "connections": connections,
        "sink_requests": counted,
        "connections_per_100k": round(1e5 * connections / counted, 1) if counted else None,
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(0) if socket_errors else None,
        "body_bytes": len(body),
        "cpu_seconds": round(cpu, 3),
        "cpu_us_per_request": round(1e6 * cpu / counted, 2) if counted else None,
    }
