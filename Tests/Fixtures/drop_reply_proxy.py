#!/usr/bin/env python3
"""A TCP proxy for fault tests: forwards everything between clients and an upstream server, except
that the reply to a request containing MARKER is lost, up to TIMES times: the proxy lets the
request reach the server, reads the server's reply, and closes the client's connection instead of
forwarding it. The server has acted; the client never learns so (a lost reply).

usage: drop_reply_proxy.py UPSTREAM_PORT MARKER [TIMES] [MIN_REPLY_BYTES]
Prints the listening port on the first line of standard output.
"""
import asyncio
import sys

import parent_watch  # noqa: E402  (Tests/Fixtures, beside this script)

parent_watch.exit_with_parent()

upstream_port = int(sys.argv[1])
marker = sys.argv[2].encode()
remaining = int(sys.argv[3]) if len(sys.argv) > 3 else 1
min_reply = int(sys.argv[4]) if len(sys.argv) > 4 else 1


async def handle(client_reader, client_writer):
    global remaining
    try:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
    except OSError:
        client_writer.close()
        return
    drop = asyncio.Event()

    async def client_to_server():
        global remaining
        try:
            while data := await client_reader.read(1 << 16):
                if remaining > 0 and marker in data:
                    drop.set()
                server_writer.write(data)
                await server_writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            server_writer.close()

    async def server_to_client():
        global remaining
        try:
            while data := await server_reader.read(1 << 16):
                if drop.is_set():
                    # Collect the whole reply briefly, then lose it if it is the one we wait for.
                    await asyncio.sleep(0.2)
                    try:
                        more = await asyncio.wait_for(server_reader.read(1 << 20), 0.05)
                        data += more
                    except asyncio.TimeoutError:
                        pass
                    if len(data) >= min_reply and remaining > 0:
                        remaining -= 1
                        print(f"dropped a reply of {len(data)} bytes", file=sys.stderr, flush=True)
                        client_writer.close()
                        server_writer.close()
                        return
                    drop.clear()
                client_writer.write(data)
                await client_writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            client_writer.close()

    await asyncio.gather(client_to_server(), server_to_client())


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
