#!/usr/bin/env python3
"""The throughput/latency benchmark behind scripts/bench (which installs what it needs first).

Side by side in one run, everything on 127.0.0.1 (the machine is shared and noisy, so the
ratios matter, not the absolute figures):
  1. the raw limit: wrk POSTing the worker's signed request to an nginx sink, and its CPU per
     request (getrusage of the wrk child);
  2. the libcurl floor: bare_loop.c, a plain libcurl multi loop with the same request and 64
     keep-alive connections (with curl_multi_poll, and with the socket-action API on epoll);
  3. the Python peers: Marzban-style (scripts/marzban_worker.py) on --python-events events and
     asyncio+uvloop+aiohttp (scripts/asyncio_worker.py) on --asyncio-events events;
  4. 1, 2 and 4 `webhook-worker run` processes delivering --events queued events, with CPU per
     delivery (user + system from /proc) and Redis commands per event (INFO commandstats);
     one worker again with 4 endpoints per event, in Marzban mode, and with a rate-limited
     endpoint behind a --limited-events backlog (rate --limited-rate: its Redis commands per
     delivery are the figure; the rate sets its time) (and, with --compare,
     another build of the worker, e.g. the previous commit's, in the same run; with --pairs N,
     N interleaved runs of both builds, compared by their medians);
     the bare loop and one worker again against a sink that answers with a body, as most
     receivers do (bare_answering, worker_answering; the worker keeps an excerpt of each answer);
  5. latency from enqueue to receipt at a steady 1,000 events/s through one worker.
Prints a table and writes every figure as JSON. Each phase has a hard timeout; a phase that
fails or times out is reported and the others still run. Exit code 1 when a phase did not
produce its figures (missed targets are only marked)."""

import argparse
import datetime
import json
import os
import platform
import signal
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchlib import bareloop, dip, latency, rawlimit, runs, scale  # noqa: E402
from benchlib.procs import Cleanup  # noqa: E402
from benchlib.report import print_table, targets  # noqa: E402
from benchlib.sink import Sink  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_arguments():
    parser = argparse.ArgumentParser(description="webhook-worker throughput/latency benchmark")
    parser.add_argument("--events", type=int, default=None, help="events per worker run (100000)")
    parser.add_argument("--python-events", type=int, default=None, help="events for the Python baseline (5000)")
    parser.add_argument("--asyncio-events", type=int, default=None,
                        help="events for the asyncio Python peer (20000)")
    parser.add_argument("--compare", metavar="BINARY", default=None,
                        help="also run one worker of this other webhook-worker build (before/after in one run)")
    parser.add_argument("--pairs", type=int, default=None, metavar="N",
                        help="N interleaved runs of the bare libcurl loop and one worker (and the --compare "
                             "build), --events each: the ratio to the bare loop as a median with its spread; "
                             "single rows are too noisy on a shared machine (8; none with --quick)")
    parser.add_argument("--scale", action="store_true",
                        help="also the scale phases (minutes): a 1,000,000-event backlog, a 1,000,000-entry "
                             "delayed set, 200 endpoints of which 10 are slow")
    parser.add_argument("--scale-events", type=int, default=1_000_000,
                        help="the backlog and the delayed set of --scale (1000000)")
    parser.add_argument("--limited-events", type=int, default=None,
                        help="backlog for the rate-limited endpoint's row (10000)")
    parser.add_argument("--limited-rate", default="500/s", help="that endpoint's rate: (500/s)")
    parser.add_argument("--quick", action="store_true", help="small counts and short phases: a smoke run")
    parser.add_argument("--out", default=None, help="JSON file (bench-results/bench-<UTC time>.json)")
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/webhook-worker"))
    parser.add_argument("--worker-unavailable", metavar="REASON", default=None,
                        help="skip the phases that need webhook-worker, giving this reason")
    parser.add_argument("--only", default=None, metavar="PHASES",
                        help="run only these phases, comma-separated (e.g. worker_x1,worker_log_off,worker_log_trimming,worker_ordered)")
    parser.add_argument("--phase-timeout", type=float, default=120.0, help="hard limit per phase, s (120)")
    args = parser.parse_args()
    quick = args.quick
    args.events = args.events or (10_000 if quick else 100_000)
    # The ratio to the bare loop is the headline figure, and one round of it moves 10-20 %: a
    # default run prints it as the median of interleaved rounds with their spread. Not in a
    # smoke run: at its 10,000 events the worker's start-up alone adds about 1 µs per delivery.
    args.pairs = (0 if quick else 8) if args.pairs is None else args.pairs
    args.python_events = args.python_events or (1_000 if quick else 5_000)
    args.asyncio_events = args.asyncio_events or (2_000 if quick else 20_000)
    args.limited_events = args.limited_events or (2_000 if quick else 10_000)
    args.wrk_seconds = 2 if quick else 5
    args.idle_seconds = 2 if quick else 5
    args.latency_seconds = 3 if quick else 10
    args.concurrency = int(os.environ.get("WEBHOOK_CONCURRENCY", "64"))
    if args.worker_unavailable is None and not os.access(args.binary, os.X_OK):
        args.worker_unavailable = f"{args.binary} is missing (./scripts/bench builds it, with RELEASE_BUILD of scripts/lib.sh)"
    return args


ONLY = None  # --only: the phases to run (None: all)
ANSWER_BODY = "received, thanks"  # what the answering sink sends with each 200


def phase(results, name, function):
    """Runs one phase; an exception becomes {"status": "error"} and the bench goes on."""
    if ONLY is not None and name not in ONLY:
        results[name] = {"status": "skipped", "error": "not in --only"}
        return
    print(f"... {name}", file=sys.stderr, flush=True)
    started = time.monotonic()
    load = os.getloadavg()[0]  # a busy machine explains odd figures: keep the evidence
    try:
        results[name] = function()
    except Exception as error:  # one failing phase must not cost the others' figures
        traceback.print_exc(file=sys.stderr)
        results[name] = {"status": "error", "error": f"{type(error).__name__}: {error}"}
    results[name].setdefault("status", "ok")
    results[name]["load_average_at_start"] = round(load, 2)
    print(f"    {results[name]['status']} in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)


def versions():
    def first_line(argv):
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return (done.stdout or done.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return None
    return {"nginx": first_line(["nginx", "-v"]), "wrk": first_line(["wrk", "--version"]),
            "redis": first_line(["redis-server", "--version"]), "python": platform.python_version(),
            "commit": first_line(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])}


def run(args, cleanup):
    results = {}
    sink = Sink(cleanup)
    limit = args.phase_timeout
    concurrency = os.environ.get("WEBHOOK_CONCURRENCY")
    phase(results, "raw", lambda: rawlimit.measure(sink, cleanup.temp_dir("wrk"), args.concurrency,
                                                   args.wrk_seconds))
    phase(results, "bare", lambda: bareloop.measure(sink, cleanup.temp_dir("bare"), args.events, args.concurrency,
                                                    timeout=limit))
    phase(results, "python", lambda: runs.throughput(cleanup, sink, runs.python_worker, args.python_events,
                                                     1, limit, "python"))
    # The asyncio peer gets the worker's figures too: 1, 2 and 4 processes, memory and idle CPU.
    for count in (1, 2, 4):
        name = "python_asyncio" if count == 1 else f"python_asyncio_x{count}"
        idle = args.idle_seconds if count == 1 else 0
        phase(results, name, lambda c=count, i=idle: runs.throughput(cleanup, sink, runs.asyncio_worker,
                                                                     args.asyncio_events, c, limit,
                                                                     f"asyncio-x{c}", idle_seconds=i))
    # HTTPS: the same three side by side against a TLS nginx whose certificate comes from a CA
    # made at run time, which the bare loop (CURLOPT_CAINFO) and the worker (WEBHOOK_CA_FILE) trust.
    tls_sink = None
    if ONLY is None or ONLY & {"raw_tls", "bare_tls", "worker_tls"}:
        tls_sink = Sink(cleanup, tls=True)
        phase(results, "raw_tls", lambda: rawlimit.measure(tls_sink, cleanup.temp_dir("wrk-tls"), args.concurrency,
                                                           args.wrk_seconds))
        phase(results, "bare_tls", lambda: bareloop.measure(tls_sink, cleanup.temp_dir("bare-tls"), args.events,
                                                            args.concurrency, modes=("poll",), timeout=limit))
        if args.worker_unavailable:
            results["worker_tls"] = {"status": "skipped", "error": args.worker_unavailable}
        else:
            tls_worker = runs.swift_worker(args.binary, concurrency, extra={"WEBHOOK_CA_FILE": tls_sink.ca_file})
            phase(results, "worker_tls", lambda: runs.throughput(cleanup, tls_sink, tls_worker, args.events, 1, limit,
                                                                 "tls"))
    worker = runs.swift_worker(args.binary, concurrency)
    # A receiver that answers with a body, as most do ("ok", a receipt): the bare loop and one
    # worker side by side against an nginx answering ANSWER_BODY (the worker keeps an excerpt of
    # each answer in the attempt log; the sink above answers with none).
    answering_sink = None
    if ONLY is None or ONLY & {"bare_answering", "worker_answering"}:
        answering_sink = Sink(cleanup, answer=ANSWER_BODY)
        phase(results, "bare_answering", lambda: bareloop.measure(answering_sink, cleanup.temp_dir("bare-answering"),
                                                                  args.events, args.concurrency, modes=("poll",),
                                                                  timeout=limit))
        if args.worker_unavailable:
            results["worker_answering"] = {"status": "skipped", "error": args.worker_unavailable}
        else:
            phase(results, "worker_answering", lambda: runs.throughput(cleanup, answering_sink, worker, args.events, 1,
                                                                       limit, "answering"))
    workers = [(f"worker_x{count}", count) for count in (1, 2, 4)]
    for name, count in workers:
        if args.worker_unavailable:
            results[name] = {"status": "skipped", "error": args.worker_unavailable}
            continue
        idle = args.idle_seconds if count == 1 else 0
        phase(results, name, lambda c=count, i=idle: runs.throughput(cleanup, sink, worker, args.events, c,
                                                                     limit, f"x{c}", idle_seconds=i))
    variants = [
        ("worker_4_endpoints", runs.swift_worker(args.binary, concurrency, endpoint_count=4),
         max(1, args.events // 4), {"requests_per_event": 4, "deliveries_per_event": 4}),
        ("worker_marzban", runs.swift_worker(args.binary, concurrency, extra={"WEBHOOK_COMPAT": "marzban"}),
         args.events, {"requests_per_event": 0}),
        # Ordered delivery (WEBHOOK_ORDERING=per-user) with 10,000 active keys, beside worker_x1:
        # the target is within 2x of unordered per delivery.
        ("worker_ordered", runs.swift_worker(args.binary, concurrency, ordered=True),
         args.events, {"keys": 10_000}),
        ("worker_rate_limited", runs.swift_worker(args.binary, concurrency, rate=args.limited_rate,
                                                  workdir=cleanup.temp_dir("rate-limited")),
         args.limited_events, {}),
    ]
    # Tracing on: every attempt a span, exported to a second nginx standing in for the collector
    # (its own, so the sink's request count stays the deliveries').
    collector = Sink(cleanup)
    variants.append(("worker_traced", runs.swift_worker(args.binary, concurrency, extra={
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": collector.url.replace("/hook", "/v1/traces")}), args.events, {}))
    # The attempt log's cost: the default (on, worker_x1) against off, and with a cap small
    # enough that every settle also trims.
    variants.append(("worker_log_off", runs.swift_worker(args.binary, concurrency, extra={"WEBHOOK_LOG_MAX": "0"}),
                     args.events, {}))
    variants.append(("worker_log_trimming", runs.swift_worker(args.binary, concurrency, extra={"WEBHOOK_LOG_MAX": "1000"}),
                     args.events, {}))
    # A small room (WEBHOOK_MAX_INFLIGHT=32): room is freed only by a settle, so a settle batch
    # that does not fit in the room would make every room's worth of events wait out the settle
    # delay (see SettlePolicy); its rate beside worker_x1's shows it does not.
    variants.append(("worker_small_room", runs.swift_worker(args.binary, concurrency, extra={"WEBHOOK_MAX_INFLIGHT": "32"}),
                     args.events, {}))
    if args.compare:
        variants.append(("worker_x1_compare", runs.swift_worker(args.compare, concurrency), args.events, {}))
    for name, factory, events, options in variants:
        if args.worker_unavailable:
            results[name] = {"status": "skipped", "error": args.worker_unavailable}
            continue
        phase(results, name, lambda f=factory, e=events, o=options, n=name:
              runs.throughput(cleanup, sink, f, e, 1, limit, n, **o))
    if args.worker_unavailable:
        results["connection_dip"] = {"status": "skipped", "error": args.worker_unavailable}
    else:
        phase(results, "connection_dip", lambda: dip.measure(cleanup, sink, args.binary, concurrency,
                                                             max(1000, args.events // 5), timeout=limit))
    if args.pairs and not args.worker_unavailable:
        phase(results, "pairs", lambda: interleaved_pairs(cleanup, sink, args, concurrency, limit))
    if args.scale and not args.worker_unavailable:
        phase(results, "scale_backlog", lambda: scale.backlog(cleanup, sink, args.binary, concurrency,
                                                              args.scale_events, timeout=max(limit, 900)))
        phase(results, "scale_delayed", lambda: scale.delayed(cleanup, sink, args.binary, concurrency,
                                                              args.scale_events, timeout=max(limit, 900)))
        phase(results, "scale_slow_endpoints", lambda: scale.slow_endpoints(cleanup, sink, args.binary, concurrency,
                                                                            timeout=max(limit, 600)))
    if args.worker_unavailable:
        results["latency"] = {"status": "skipped", "error": args.worker_unavailable}
    else:
        phase(results, "latency", lambda: latency.measure(cleanup, args.binary, 1000, args.latency_seconds,
                                                          limit, concurrency))
    sink.stop()
    collector.stop()
    if tls_sink is not None:
        tls_sink.stop()
    if answering_sink is not None:
        answering_sink.stop()
    return results


def interleaved_pairs(cleanup, sink, args, concurrency, limit):
    """Runs the bare libcurl loop (curl_multi_poll), this build and the --compare build (if any)
    one after the other, args.pairs times (the order rotating), args.events requests or events
    each; returns the lists of CPU per request/delivery and this build's ratio to the bare loop of
    its own round (so each ratio compares runs made seconds apart, under the same load)."""
    builds = {"this": runs.swift_worker(args.binary, concurrency)}
    if args.compare:
        builds["compare"] = runs.swift_worker(args.compare, concurrency)
    names = ["bare", *builds]
    cpu = {name: [] for name in names}
    workdir = cleanup.temp_dir("pairs-bare")
    for index in range(args.pairs):
        order = names[index % len(names):] + names[:index % len(names)]
        for name in order:
            if name == "bare":
                result = bareloop.measure(sink, workdir, args.events, args.concurrency, modes=("poll",),
                                          timeout=limit)
                cpu[name].append(result["cpu_us_per_request"])
                continue
            result = runs.throughput(cleanup, sink, builds[name], args.events, 1, limit, f"pair{index}-{name}")
            if result.get("status") != "ok":
                raise RuntimeError(f"pair {index}, {name}: {result.get('error', result.get('status'))}")
            cpu[name].append(result["cpu_us_per_delivery"])
    document = {"pairs": args.pairs, "events": args.events, "bare_cpu_us": cpu["bare"], "this_cpu_us": cpu["this"],
                "this_to_bare": [round(mine / bare, 3) for mine, bare in zip(cpu["this"], cpu["bare"])]}
    if args.compare:
        document["compare_cpu_us"] = cpu["compare"]
        document["compare_to_bare"] = [round(theirs / bare, 3) for theirs, bare in zip(cpu["compare"], cpu["bare"])]
        document["this_lower_in"] = sum(1 for mine, theirs in zip(cpu["this"], cpu["compare"]) if mine < theirs)
    return document


def interrupt(_signum, _frame):
    raise KeyboardInterrupt


def main():
    # SIGTERM and SIGHUP stop the bench like Ctrl-C: through the finally block that cleans up.
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)
    args = parse_arguments()
    global ONLY
    ONLY = set(args.only.split(",")) if args.only else None
    stamp = datetime.datetime.now(datetime.timezone.utc)
    out = args.out or os.path.join(ROOT, "bench-results", f"bench-{stamp:%Y%m%dT%H%M%SZ}.json")
    cleanup = Cleanup()
    try:
        results = run(args, cleanup)
    except KeyboardInterrupt:
        print("\ninterrupted: stopping every process the bench started", file=sys.stderr)
        return 130
    finally:
        cleanup.close()
    document = {
        "timestamp": stamp.isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "settings": {"events": args.events, "python_events": args.python_events, "quick": args.quick,
                     "pairs": args.pairs,
                     "asyncio_events": args.asyncio_events, "compare": args.compare,
                     "limited_events": args.limited_events, "limited_rate": args.limited_rate,
                     "concurrency": args.concurrency, "wrk_seconds": args.wrk_seconds,
                     "latency_rate": 1000, "latency_seconds": args.latency_seconds,
                     "idle_seconds": args.idle_seconds, "phase_timeout": args.phase_timeout},
        "versions": versions(),
        "results": results,
        "targets": targets(results),
    }
    print_table(document)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(document, f, indent=2)
        f.write("\n")
    shown = os.path.relpath(out)
    print(f"\nfigures written to {out if shown.startswith('..') else shown}")
    return 0 if all(r.get("status") == "ok" for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
