#!/usr/bin/env python3
"""Redis's CPU per event for the settle script alone: settles of delivered events (one attempt
log record each, as a worker with default settings writes them) run against a fresh
redis-server, with Redis's own CPU (`INFO cpu`) read around each call.

    python3 scripts/benchlib/settle_cost.py [--settles 400] [--events 256] [--rounds 3]
    python3 scripts/benchlib/settle_cost.py --source <(git show REV:Sources/WebhookRedis/Scripts.swift)

The script is read from Sources/WebhookRedis/Scripts.swift (or --source: an earlier revision's,
to compare): no worker, no HTTP and no other process shares the measure, so it is steadier
than Redis's CPU beside a running worker. Both argument layouts are known: the current one
(the events' counts in one shape argument) and the earlier one (two count arguments per
event). Prints Redis's CPU per event for each round and their median."""

import argparse
import os
import re
import statistics
import sys

import redis

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchlib.procs import Cleanup, start_redis  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ITEM = (b'#o83k5xit1sc7s65e-2 {"action":"user_created","username":"user-12345",'
        b'"user":{"username":"user-12345","status":"active"}}')
RECORD = (b'[1733225642123,"msg_000000000000000000000000deadbeef_nb1c2d3e4f5a6b7c8","user_created",'
          b'"user-12345","billing",1,"delivered",200,12,null,""]')


def swift_literal(source, pattern):
    """The Lua of a multi-line Swift string literal, its indentation and escapes undone."""
    found = re.search(pattern + r'"""\n(.*?)\n\s*"""', source, re.S)
    if not found:
        raise SystemExit(f"settle_cost: no {pattern!r} in the Swift source")
    lines = found.group(1).split("\n")
    indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    return "\n".join(line[indent:] for line in lines).replace("\\\\", "\\")


def settle_script(path):
    """(Lua source, True when the counts travel in one shape argument)."""
    with open(path) as f:
        source = f.read()
    lua = (swift_literal(source, r'static let settleHelpers = ') + "\n"
           + swift_literal(source, r'static let settle = LuaScript\(name: "settle", source: settleHelpers \+ '))
    return lua, "shape" in lua


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default=os.path.join(ROOT, "Sources/WebhookRedis/Scripts.swift"))
    parser.add_argument("--settles", type=int, default=400)
    parser.add_argument("--events", type=int, default=256, help="events per settle (256, the default batch)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    lua, shaped = settle_script(args.source)
    cleanup = Cleanup()
    try:
        url, _ = start_redis(cleanup, "settle-cost")
        client = redis.Redis.from_url(url)
        sha = client.script_load(lua)

        def cpu():
            info = client.info("cpu")
            return info["used_cpu_user"] + info["used_cpu_sys"]

        figures = []
        for round_index in range(args.rounds):
            client.delete("queue", "delayed", "dead", "processing", "log")
            used = 0.0
            for settle in range(args.settles):
                items = [ITEM + b"-%d" % index for index in range(args.events)]
                client.lpush("processing", *items)
                argv = [0, args.events, 100_000, 0]
                if shaped:
                    argv.append(b"\x00\x00\x00\x00\x00\x01" * args.events)
                    for item in items:
                        argv += [item, RECORD]
                else:
                    for item in items:
                        argv += [item, 0, 1, RECORD]
                before = cpu()
                reply = client.evalsha(sha, 5, "queue", "delayed", "dead", "processing", "log", *argv)
                used += cpu() - before
                if reply[0] != args.events:
                    raise SystemExit(f"settle_cost: the settle wrote {reply[0]} of {args.events} events: {reply}")
            figure = 1e6 * used / (args.settles * args.events)
            figures.append(figure)
            print(f"round {round_index + 1}: {figure:.2f} µs of Redis CPU per settled event", flush=True)
        print(f"median: {statistics.median(figures):.2f} µs per event "
              f"({args.settles} settles of {args.events} delivered events per round, "
              f"{'one shape argument' if shaped else 'two count arguments per event'})")
    finally:
        cleanup.close()


if __name__ == "__main__":
    sys.exit(main())
