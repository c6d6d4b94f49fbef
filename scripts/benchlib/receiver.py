#!/usr/bin/env python3
"""The latency receiver: a raw asyncio HTTP/1.1 keep-alive server on 127.0.0.1.

For every POST it records time.time() - enqueued_at (from the JSON body) the moment the body has
been read, then answers 200. `GET /stats` returns {"count": n}; `GET /latencies` returns every
recorded latency in seconds. Run as its own process so the bench's producer cannot delay it.

    python3 receiver.py --port 9000
"""

import argparse
import asyncio
import json
import time

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
latencies = []
errors = 0


def json_answer(value):
    body = json.dumps(value).encode()
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body), body)


async def serve(reader, writer):
    global errors
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            length = 0
            for line in header_lines:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            body = await reader.readexactly(length) if length else b""
            received = time.time()
            if request_line.startswith("POST"):
                try:
                    latencies.append(received - float(json.loads(body)["enqueued_at"]))
                except (ValueError, KeyError, TypeError):
                    errors += 1
                writer.write(OK)
            elif request_line.startswith("GET /stats"):
                writer.write(json_answer({"count": len(latencies), "errors": errors}))
            elif request_line.startswith("GET /latencies"):
                writer.write(json_answer(latencies))
            else:
                writer.write(OK)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def main(port):
    server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    try:
        asyncio.run(main(parser.parse_args().port))
    except KeyboardInterrupt:
        pass
