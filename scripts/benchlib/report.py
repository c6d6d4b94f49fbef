"""The bench's verdicts and its table. Inputs are the phase results of bench.py."""

# Issue 4's targets for one worker process on a 2-core machine.
MIN_SHARE_OF_WRK = 0.25
MIN_TIMES_PYTHON = 20.0
MAX_P99_MS = 10.0
MAX_RSS_MB = 50.0
MAX_IDLE_CPU_PERCENT = 1.0  # "about zero": under 1 % of one core


def _ok(result):
    return result is not None and result.get("status") == "ok"


def _verdict(value, passes):
    return None if value is None else {"value": value, "pass": bool(passes(value))}


def targets(results):
    """Each target with its measured value and pass/fail; None when its inputs are missing."""
    raw, python = results.get("raw"), results.get("python")
    one, lat = results.get("worker_x1"), results.get("latency")
    share = times = p99 = rss = idle = None
    if _ok(one) and _ok(raw):
        share = round(one["rate"] / raw["rate"], 3)
    if _ok(one) and _ok(python):
        times = round(one["rate"] / python["rate"], 1)
    if _ok(lat):
        p99 = lat["p99_ms"]
    if _ok(one):
        rss, idle = one.get("peak_rss_mb"), one.get("idle_cpu_percent")
    return {
        "worker_x1_share_of_wrk": _verdict(share, lambda v: v >= MIN_SHARE_OF_WRK),
        "worker_x1_times_python": _verdict(times, lambda v: v >= MIN_TIMES_PYTHON),
        "latency_p99_ms": _verdict(p99, lambda v: v < MAX_P99_MS),
        "peak_rss_mb": _verdict(rss, lambda v: v < MAX_RSS_MB),
        "idle_cpu_percent": _verdict(idle, lambda v: v < MAX_IDLE_CPU_PERCENT),
    }


def _mark(verdict):
    if verdict is None:
        return "n/a"
    return "PASS" if verdict["pass"] else "FAIL"


def _failure(result):
    if result is None:
        return "not run"
    if result.get("status") == "timeout" and "delivered" in result:
        return f"timeout ({result['delivered']:,} of {result['events']:,} delivered)"
    return f"{result.get('status')}: {result.get('error', '')}"[:60]


def print_table(document):
    settings, results, verdicts = document["settings"], document["results"], document["targets"]
    rows = []

    def row(label, value="", ratio="", target="", mark=""):
        rows.append((label, value, ratio, target, mark))

    raw = results.get("raw")
    raw_label = f"raw limit (wrk -c{settings['concurrency']}, {settings['wrk_seconds']} s)"
    if _ok(raw):
        row(raw_label, f"{raw['rate']:,.0f} req/s")
    else:
        row(raw_label, _failure(raw))
    for count in (1, 2, 4):
        result = results.get(f"worker_x{count}")
        label = f"webhook-worker x{count} ({settings['events']:,} events)"
        if not _ok(result):
            row(label, _failure(result))
            continue
        ratio = f"{result['rate'] / raw['rate']:.2f} of wrk" if _ok(raw) else ""
        if count == 1:
            verdict = verdicts["worker_x1_share_of_wrk"]
            row(label, f"{result['rate']:,.0f} ev/s", ratio, f">= {MIN_SHARE_OF_WRK:.2f}", _mark(verdict))
        else:
            row(label, f"{result['rate']:,.0f} ev/s", ratio)
    python = results.get("python")
    label = f"python, Marzban-style ({settings['python_events']:,} events)"
    row(label, f"{python['rate']:,.0f} ev/s" if _ok(python) else _failure(python))
    verdict = verdicts["worker_x1_times_python"]
    row("webhook-worker x1 / python", "", f"{verdict['value']}x" if verdict else "",
        f">= {MIN_TIMES_PYTHON:.0f}x", _mark(verdict))
    lat = results.get("latency")
    label = f"latency at {settings['latency_rate']:,}/s, {settings['latency_seconds']} s"
    if _ok(lat):
        row(label + " p50", f"{lat['p50_ms']:.2f} ms")
        row(label + " p99", f"{lat['p99_ms']:.2f} ms", "", f"< {MAX_P99_MS:.0f} ms",
            _mark(verdicts["latency_p99_ms"]))
        row(label + " max", f"{lat['max_ms']:.2f} ms", f"{lat['over_10ms']} over 10 ms")
        floor = lat.get("receiver_floor", {})
        if floor.get("count"):
            row("  receiver's own share p50/p99", f"{floor['p50_ms']:.2f}/{floor['p99_ms']:.2f} ms",
                "included above")
    else:
        row(label, _failure(lat))
    one = results.get("worker_x1")
    rss, idle = verdicts["peak_rss_mb"], verdicts["idle_cpu_percent"]
    row("peak RSS, worker x1", f"{rss['value']:.1f} MB" if rss else "", "", f"< {MAX_RSS_MB:.0f} MB",
        _mark(rss))
    idle_label = f"idle CPU, worker x1 ({one.get('idle_seconds', '?')} s)" if _ok(one) else "idle CPU, worker x1"
    row(idle_label, f"{idle['value']:.2f} % of a core" if idle else "", "",
        f"< {MAX_IDLE_CPU_PERCENT:.0f} %", _mark(idle))

    loads = [r["load_average_at_start"] for r in results.values() if "load_average_at_start" in r]
    load = f", load average {min(loads):.1f}-{max(loads):.1f}" if loads else ""
    print(f"\nwebhook-worker bench, {document['timestamp']}, {document['nproc']} cores{load} "
          "(shared machine: read the ratios, not the absolute figures)\n")
    header = ("measure", "value", "ratio", "target", "")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(5)]
    for line in [header] + rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip())
    for result in results.values():
        if result.get("warning"):
            print(f"warning: {result['warning']}")
