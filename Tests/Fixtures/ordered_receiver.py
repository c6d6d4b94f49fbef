#!/usr/bin/env python3
"""A receiver for the ordered-delivery checker: records every request, in the order received.

Each POST gets, by a seeded random draw: 500 (FAIL_RATE), a hang past the worker's timeout
(HANG_RATE: the answer comes after HANG seconds, when the worker has given up), or 200.
A body whose `username` (or `username:seq`) is in the STUCK list always gets 500. Each request is recorded as
{"status": 200 | 500 | "hang", "body": <the event>, "users": <distinct usernames in the
request>, "n": <events in the request>}, appended under a lock at the moment
the answer is decided, so the record order is the order the requests arrived in.
A Marzban-mode body (a JSON array) is recorded as one record per element, in array order.

GET /records answers every record so far, one JSON object per line.

Usage: ordered_receiver.py SEED FAIL_RATE HANG_RATE HANG [STUCK,USERS]
Prints the listening port on the first line of standard output.
"""
import http.server
import json
import os
import random
import signal
import sys
import threading
import time

import parent_watch  # noqa: E402  (Tests/Fixtures, beside this script)

parent_watch.exit_with_parent()

SEED = int(sys.argv[1])
FAIL_RATE = float(sys.argv[2])
HANG_RATE = float(sys.argv[3])
HANG = float(sys.argv[4])
STUCK = set(filter(None, (sys.argv[5] if len(sys.argv) > 5 else "").split(",")))
LOCK = threading.Lock()
RANDOM = random.Random(SEED)
RECORDS = []


class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        events = document if isinstance(document, list) else [document]
        users = {event.get("username") for event in events if isinstance(event, dict)}
        names = users | {"%s:%s" % (event.get("username"), event.get("seq")) for event in events if isinstance(event, dict)}
        with LOCK:
            draw = RANDOM.random()
            if names & STUCK or draw < FAIL_RATE:
                status = 500
            elif draw < FAIL_RATE + HANG_RATE:
                status = "hang"
            else:
                status = 200
            for event in events:
                RECORDS.append(json.dumps({"status": status, "body": event, "users": len(users), "n": len(events)}))
        if status == "hang":
            time.sleep(HANG)
            status = 200
        self.answer(status, b"ok")

    def do_GET(self):
        with LOCK:
            text = "".join(record + "\n" for record in RECORDS)
        self.answer(200, text.encode())

    def answer(self, status, payload):
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


# The test process starts us with SIGTERM blocked (an inherited signal mask): stop on it anyway.
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])
server = Server(("127.0.0.1", 0), Receiver)
print(server.server_address[1], flush=True)
server.serve_forever()
