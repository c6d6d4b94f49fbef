"""The bench's verdicts and its table. Inputs are the phase results of bench.py."""

import statistics

# Targets for one worker process on a 2-core machine shared with the sink and Redis.
MIN_SHARE_OF_WRK = 0.25
MIN_TIMES_PYTHON = 20.0
MAX_CPU_TIMES_WRK = 3.0  # CPU per delivery at most 3x wrk's CPU per request
MAX_P99_MS = 2.0
MAX_RSS_MB = 50.0
MAX_IDLE_RSS_MB = 45.0
MAX_TIMES_BARE = 1.3  # CPU per delivery at most 1.3x the bare libcurl loop's per request (median of pairs)
MAX_IDLE_CPU_PERCENT = 1.0  # "about zero": under 1 % of one core
MAX_LOG_CPU_PERCENT = 10.0  # the attempt log on costs at most 10 % CPU per delivery
MAX_LOG_COMMANDS = 0.05  # and at most 0.05 more Redis commands per event
MAX_LIMITED_COMMANDS = 5.0  # Redis commands per delivery behind a rate limit, at any backlog


def _ok(result):
    return result is not None and result.get("status") == "ok"


def _verdict(value, passes):
    return None if value is None else {"value": value, "pass": bool(passes(value))}


def _cpu(result, key="cpu_us_per_delivery"):
    return result.get(key) if _ok(result) else None


def targets(results):
    """Each target with its measured value and pass/fail; None when its inputs are missing."""
    raw, python = results.get("raw"), results.get("python")
    one, lat = results.get("worker_x1"), results.get("latency")
    share = times = p99 = rss = idle = idle_rss = cpu_ratio = None
    if _ok(one) and _ok(raw):
        share = round(one["rate"] / raw["rate"], 3)
        if one.get("cpu_us_per_delivery") and raw.get("cpu_us_per_request"):
            cpu_ratio = round(one["cpu_us_per_delivery"] / raw["cpu_us_per_request"], 2)
    if _ok(one) and _ok(python):
        times = round(one["rate"] / python["rate"], 1)
    if _ok(lat):
        p99 = lat["p99_ms"]
    if _ok(one):
        rss, idle, idle_rss = one.get("peak_rss_mb"), one.get("idle_cpu_percent"), one.get("idle_rss_mb")
    limited = results.get("worker_rate_limited")
    limited_commands = limited.get("redis_commands_per_event") if _ok(limited) else None
    return {
        "worker_x1_share_of_wrk": _verdict(share, lambda v: v >= MIN_SHARE_OF_WRK),
        "worker_x1_cpu_times_wrk": _verdict(cpu_ratio, lambda v: v <= MAX_CPU_TIMES_WRK),
        "worker_x1_times_python": _verdict(times, lambda v: v >= MIN_TIMES_PYTHON),
        "latency_p99_ms": _verdict(p99, lambda v: v < MAX_P99_MS),
        "peak_rss_mb": _verdict(rss, lambda v: v < MAX_RSS_MB),
        "idle_rss_mb": _verdict(idle_rss, lambda v: v < MAX_IDLE_RSS_MB),
        "idle_cpu_percent": _verdict(idle, lambda v: v < MAX_IDLE_CPU_PERCENT),
        "rate_limited_commands": _verdict(limited_commands, lambda v: v <= MAX_LIMITED_COMMANDS),
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


def _us(value):
    return f"{value:.1f} µs" if value is not None else ""


def _spread(values, digits=1):
    return f"{min(values):.{digits}f}-{max(values):.{digits}f}"


def _connections_note(raw, bare):
    parts = []
    if _ok(bare) and bare.get("connections_per_100k") is not None:
        parts.append(f"bare loop {bare['connections_per_100k']:,.1f}")
    if _ok(raw) and raw.get("connections_per_100k") is not None:
        parts.append(f"wrk {raw['connections_per_100k']:,.1f}")
    return ", ".join(parts)


def _side_by_side_rows(row, phases, bare, ratio_label, connections_label=None):
    """Rows of phases run against one sink of their own, each with its ratio to the bare loop
    run against that sink. `phases`: (label, result, key of its CPU figure); the worker's
    result (whose key is per delivery) is shown in events."""
    if all(result is None or result.get("status") == "skipped" for _, result, _ in phases):
        return
    bare_cpu = _cpu(bare, "cpu_us_per_request")
    for label, result, key in phases:
        if not _ok(result):
            row(label, _failure(result))
            continue
        cpu = result.get(key)
        worker = key == "cpu_us_per_delivery"
        ratio = f"{cpu / bare_cpu:.2f}x {ratio_label}" if cpu and bare_cpu else ""
        events = f" ({result['events']:,} events)" if worker else ""
        row(label + events, f"{result['rate']:,.0f} {'ev/s' if worker else 'req/s'}", _us(cpu), ratio)
        if connections_label and result.get("connections_per_100k") is not None:
            row(f"  {connections_label} per 100,000 requests", f"{result['connections_per_100k']:,.1f}")


def _tls_rows(results, row):
    """HTTPS: wrk, the bare loop and one worker against the TLS sink, with their ratios to the
    TLS bare loop and the connections each opened per 100,000 requests."""
    bare = results.get("bare_tls")
    _side_by_side_rows(row, (("https: wrk -t1 (TLS, nginx)", results.get("raw_tls"), "cpu_us_per_request"),
                             ("https: bare libcurl multi loop (CURLOPT_CAINFO)", bare, "cpu_us_per_request"),
                             ("https: webhook-worker x1 (WEBHOOK_CA_FILE)", results.get("worker_tls"), "cpu_us_per_delivery")),
                       bare, "bare TLS", connections_label="connections (TLS handshakes)")


def _answering_rows(results, row):
    """A receiver answering with a body: the bare loop and one worker against the answering sink,
    the worker's ratio to that bare loop."""
    bare = results.get("bare_answering")
    _side_by_side_rows(row, (("answered with a body: bare libcurl multi loop", bare, "cpu_us_per_request"),
                             ("answered with a body: webhook-worker x1", results.get("worker_answering"),
                              "cpu_us_per_delivery")),
                       bare, "bare (answering)")


def _scale_rows(results, row):
    backlog, delayed, slow = (results.get(k) for k in ("scale_backlog", "scale_delayed", "scale_slow_endpoints"))
    if _ok(backlog):
        rates = [r for r in backlog["slice_rates"] if r]
        row(f"scale: backlog of {backlog['events']:,} events, x1", f"{backlog['rate']:,} ev/s",
            _us(backlog.get("cpu_us_per_delivery")),
            f"per 100k slice {min(rates):,}-{max(rates):,} ev/s" if rates else "")
        steady = backlog["rss_mb_samples"][1:] or backlog["rss_mb_samples"]  # the first: at start-up
        row("  worker RSS while draining (1 s samples after start-up)", f"{min(steady):.1f}-{max(steady):.1f} MB")
        row("  Redis bytes per queued event", f"{backlog['redis_bytes_per_event_used_memory']:.0f} B", "",
            f"MEMORY USAGE {backlog['redis_bytes_per_event_memory_usage']:.0f} B")
    elif backlog is not None and backlog.get("status") != "skipped":
        row("scale: backlog", _failure(backlog))
    if _ok(delayed):
        row(f"scale: delayed set of {delayed['events']:,} due entries, x1", f"{delayed['rate']:,} ev/s",
            _us(delayed.get("cpu_us_per_delivery")))
        row("  promote: Redis time per item (ZRANGEBYSCORE+RPUSH+ZREM)", f"{delayed['promote_redis_us_per_item']:.2f} µs",
            "", f"{delayed['promote_calls']:,} promote calls")
        row("  Redis CPU per event, promote + take + settle", f"{delayed['redis_cpu_us_per_event']:.1f} µs", "",
            f"{delayed['redis_bytes_per_delayed_entry']:.0f} B per delayed entry")
    elif delayed is not None and delayed.get("status") != "skipped":
        row("scale: delayed set", _failure(delayed))
    if _ok(slow):
        row(f"scale: {slow['fast_endpoints']} fast endpoints alone ({slow['events']:,} events)",
            f"{slow['alone']['fast_rate']:,} deliveries/s")
        beside = slow["with_slow"]
        done = "" if beside.get("complete", True) else \
            f", stopped after {beside['seconds']:.0f} s with {beside['fast_deliveries']:,} delivered"
        row(f"  the same beside {slow['hung_endpoints']} hung and {slow['slow_endpoints']} 2 s endpoints",
            f"{beside['fast_rate']:,} deliveries/s", "", f"{slow['fast_rate_kept']:.2f}x the rate alone{done}")
        row("  worker RSS, alone / beside the slow ones", f"{slow['alone']['rss_mb_max']:.1f} / {beside['rss_mb_max']:.1f} MB")
    elif slow is not None and slow.get("status") != "skipped":
        row("scale: slow endpoints", _failure(slow))


def print_table(document):
    settings, results, verdicts = document["settings"], document["results"], document["targets"]
    rows = []

    def row(label, rate="", cpu="", ratio="", target="", mark=""):
        rows.append((label, rate, cpu, ratio, target, mark))

    raw, bare, one = results.get("raw"), results.get("bare"), results.get("worker_x1")
    wrk_cpu = _cpu(raw, "cpu_us_per_request")
    bare_cpu = _cpu(bare, "cpu_us_per_request")

    def ratios(cpu):
        parts = []
        if cpu is not None and wrk_cpu:
            parts.append(f"{cpu / wrk_cpu:.2f}x wrk")
        if cpu is not None and bare_cpu:
            parts.append(f"{cpu / bare_cpu:.2f}x bare")
        return ", ".join(parts)

    label = f"wrk -t1 -c{settings['concurrency']}, {settings['wrk_seconds']} s (the raw limit)"
    if _ok(raw):
        row(label, f"{raw['rate']:,.0f} req/s", _us(wrk_cpu))
    else:
        row(label, _failure(raw))
    if _ok(bare):
        for mode, what in (("poll", "curl_multi_poll"), ("epoll", "socket action on epoll")):
            if mode in bare:
                row(f"bare libcurl multi loop, {what}", f"{bare[mode]['rate']:,.0f} req/s",
                    _us(bare[mode]["cpu_us_per_request"]), ratios(bare[mode]["cpu_us_per_request"]))
    else:
        row("bare libcurl multi loop", _failure(bare))

    for count in (1, 2, 4):
        result = results.get(f"worker_x{count}")
        label = f"webhook-worker x{count} ({settings['events']:,} events)"
        if not _ok(result):
            row(label, _failure(result))
            continue
        if count == 1:
            verdict = verdicts["worker_x1_cpu_times_wrk"]
            row(label, f"{result['rate']:,.0f} ev/s", _us(result.get("cpu_us_per_delivery")),
                ratios(result.get("cpu_us_per_delivery")), f"<= {MAX_CPU_TIMES_WRK:.0f}x wrk", _mark(verdict))
            row("  Redis commands per event", f"{result.get('redis_commands_per_event', 0):.2f}")
            share = verdicts["worker_x1_share_of_wrk"]
            row("  rate / wrk's rate", f"{share['value']:.2f}" if share else "", "", "",
                f">= {MIN_SHARE_OF_WRK:.2f}", _mark(share))
        else:
            row(label, f"{result['rate']:,.0f} ev/s", _us(result.get("cpu_us_per_delivery")))
    if _ok(one) and one.get("connections_per_100k") is not None:
        row("  connections opened per 100,000 deliveries", f"{one['connections_per_100k']:,.1f}", "",
            _connections_note(raw, bare))
    for key, label in (("worker_4_endpoints", "webhook-worker x1, 4 endpoints per event: per delivery"),
                       ("worker_marzban", "webhook-worker x1, Marzban mode: per event"),
                       ("worker_traced", "webhook-worker x1, OpenTelemetry spans exported"),
                       ("worker_ordered", "webhook-worker x1, ordered per user, 10,000 active keys"),
                       ("worker_small_room", "webhook-worker x1, WEBHOOK_MAX_INFLIGHT=32"),
                       ("worker_x1_compare", "webhook-worker x1, --compare binary")):
        result = results.get(key)
        if result is None or result.get("status") == "skipped":
            continue
        if _ok(result):
            row(f"{label} ({result['events']:,} events)", f"{result['rate']:,.0f} ev/s",
                _us(result.get("cpu_us_per_delivery")), ratios(result.get("cpu_us_per_delivery")))
            if key == "worker_4_endpoints":
                per_event = result["cpu_seconds"] * 1e6 / result["events"]
                row("  the same per event (4 deliveries)", f"{4 * result['rate']:,.0f} deliveries/s",
                    _us(per_event), ratios(per_event))
            if key == "worker_marzban" and result.get("sink_requests"):
                per_request = result["cpu_seconds"] * 1e6 / result["sink_requests"]
                row(f"  the same per request ({result['events'] / result['sink_requests']:.1f} events per batch)",
                    f"{result['sink_requests'] / result['seconds']:,.0f} req/s", _us(per_request), ratios(per_request))
        else:
            row(label, _failure(result))
    _tls_rows(results, row)
    _answering_rows(results, row)

    log_off, log_trim = results.get("worker_log_off"), results.get("worker_log_trimming")
    if log_off is not None and log_off.get("status") != "skipped":
        if _ok(log_off) and _ok(one):
            row(f"webhook-worker x1, attempt log off ({log_off['events']:,} events)", f"{log_off['rate']:,.0f} ev/s",
                _us(log_off.get("cpu_us_per_delivery")), ratios(log_off.get("cpu_us_per_delivery")))
            row("  Redis commands per event, log off", f"{log_off.get('redis_commands_per_event', 0):.2f}")
            for label, on in (("on (x1 above)", one), ("on, trimming (WEBHOOK_LOG_MAX=1000)", log_trim)):
                if not _ok(on):
                    continue
                cpu = on["cpu_us_per_delivery"] / log_off["cpu_us_per_delivery"] - 1
                extra = on.get("redis_commands_per_event", 0) - log_off.get("redis_commands_per_event", 0)
                row(f"  attempt log {label}: CPU per delivery", "", _us(on.get("cpu_us_per_delivery")),
                    f"{cpu * 100:+.1f} % vs off", f"<= {MAX_LOG_CPU_PERCENT:.0f} %",
                    _mark({"value": cpu, "pass": cpu * 100 <= MAX_LOG_CPU_PERCENT}))
                row(f"  attempt log {label}: Redis commands per event", f"{on.get('redis_commands_per_event', 0):.2f}", "",
                    f"{extra:+.3f} vs off", f"<= +{MAX_LOG_COMMANDS:.2f}",
                    _mark({"value": extra, "pass": extra <= MAX_LOG_COMMANDS}))
            if one.get("log_bytes_per_record"):
                row("  attempt log bytes per record", f"{one['log_bytes_per_record']:.0f} B", "",
                    f"MEMORY USAGE / {one['log_records']:,} records")
        else:
            row("webhook-worker x1, attempt log off", _failure(log_off))

    ordered, unordered = results.get("worker_ordered"), results.get("worker_x1")
    if ordered and unordered and _ok(ordered) and _ok(unordered):
        cpu = ordered.get("cpu_us_per_delivery", 0) / max(1e-9, unordered.get("cpu_us_per_delivery", 0))
        row("  ordered vs unordered: CPU per delivery", f"{cpu:.2f}x", "", "", "<= 2x", _mark({"pass": cpu <= 2}))
        row("  ordered: Redis commands per event", f"{ordered.get('redis_commands_per_event', 0):.2f}",
            f"(unordered {unordered.get('redis_commands_per_event', 0):.2f})")
    limited = results.get("worker_rate_limited")
    if limited is not None and limited.get("status") != "skipped":
        label = f"webhook-worker x1, rate {settings.get('limited_rate', '?')} behind a backlog"
        if _ok(limited):
            row(f"{label} ({limited['events']:,} events)", f"{limited['rate']:,.0f} ev/s",
                _us(limited.get("cpu_us_per_delivery")))
            row("  Redis commands per delivery", f"{limited.get('redis_commands_per_event', 0):.2f}", "", "",
                f"<= {MAX_LIMITED_COMMANDS:.0f}", _mark(verdicts.get("rate_limited_commands")))
        else:
            row(label, _failure(limited))

    dip = results.get("connection_dip")
    if _ok(dip):
        row(f"connections across a dip in concurrency ({dip['burst']:,} + {dip['trickle']} one at a time + "
            f"{dip['burst']:,})", f"{dip['connections']}", "",
            f"{dip['connections_after_first_burst']} after the first burst, {dip['connections_after_trickle']} "
            "after the trickle")
    elif dip is not None and dip.get("status") != "skipped":
        row("connections across a dip in concurrency", _failure(dip))
    pairs = results.get("pairs")
    if pairs is not None and _ok(pairs):
        mine = statistics.median(pairs["this_cpu_us"])
        label = f"interleaved runs ({pairs['pairs']} x {pairs['events']:,} events)"
        if pairs.get("bare_cpu_us"):
            ratio = statistics.median(pairs["this_to_bare"])
            verdict = {"value": ratio, "pass": ratio <= MAX_TIMES_BARE}
            row(f"{label}: bare loop, median", "", _us(statistics.median(pairs["bare_cpu_us"])),
                f"{_spread(pairs['bare_cpu_us'])} µs")
            row(f"  this build, median", "", _us(mine), f"{_spread(pairs['this_cpu_us'])} µs")
            row("  this build / bare loop of the same round, median", f"{ratio:.2f}x", "",
                f"spread {_spread(pairs['this_to_bare'], 2)}", f"<= {MAX_TIMES_BARE}x bare", _mark(verdict))
        else:
            row(f"{label}: this build, median", "", _us(mine), ratios(mine))
        if pairs.get("compare_cpu_us"):
            theirs = statistics.median(pairs["compare_cpu_us"])
            row("  --compare binary, median", "", _us(theirs),
                f"{statistics.median(pairs['compare_to_bare']):.2f}x bare, spread "
                f"{_spread(pairs['compare_to_bare'], 2)}" if pairs.get("compare_to_bare") else ratios(theirs))
            row("  this build lower in", f"{pairs['this_lower_in']} of {pairs['pairs']} pairs", "",
                f"{mine / theirs:.2f}x the other build")
    elif pairs is not None:
        row("interleaved pairs", _failure(pairs))
    peers = (("python", "python, Marzban-style"), ("python_asyncio", "python asyncio+uvloop+aiohttp x1"),
             ("python_asyncio_x2", "python asyncio+uvloop+aiohttp x2"),
             ("python_asyncio_x4", "python asyncio+uvloop+aiohttp x4"))
    for key, label in peers:
        result = results.get(key)
        if result is None and key.endswith(("_x2", "_x4")):
            continue  # a results file written before these phases existed
        if not _ok(result):
            row(label, _failure(result))
            continue
        row(f"{label} ({result['events']:,} events)", f"{result['rate']:,.0f} ev/s",
            _us(result.get("cpu_us_per_delivery")), ratios(result.get("cpu_us_per_delivery")))
        if result.get("processes") == 1:
            row("  Redis commands per event", f"{result.get('redis_commands_per_event', 0):.2f}")
        if result.get("idle_rss_mb") is not None:
            row("  peak / idle RSS, idle CPU", f"{result['peak_rss_mb']:.1f} / {result['idle_rss_mb']:.1f} MB", "",
                f"{result['idle_cpu_percent']:.2f} % of a core")
    verdict = verdicts["worker_x1_times_python"]
    row("webhook-worker x1 / python Marzban-style", "", "", f"{verdict['value']}x" if verdict else "",
        f">= {MIN_TIMES_PYTHON:.0f}x", _mark(verdict))
    peer = results.get("python_asyncio")
    if _ok(one) and _ok(peer):
        row("webhook-worker x1 / python asyncio", "", "", f"{one['rate'] / peer['rate']:.1f}x")

    lat = results.get("latency")
    label = f"latency at {settings['latency_rate']:,}/s, {settings['latency_seconds']} s"
    if _ok(lat):
        row(label + " p50", f"{lat['p50_ms']:.2f} ms")
        row(label + " p99", f"{lat['p99_ms']:.2f} ms", "", "", f"< {MAX_P99_MS:.0f} ms",
            _mark(verdicts["latency_p99_ms"]))
        row(label + " max", f"{lat['max_ms']:.2f} ms", "", f"{lat['over_10ms']} over 10 ms")
        floor = lat.get("receiver_floor", {})
        if floor.get("count"):
            row("  receiver's own share p50/p99", f"{floor['p50_ms']:.2f}/{floor['p99_ms']:.2f} ms", "",
                "included above")
    else:
        row(label, _failure(lat))
    rss, idle_rss, idle = verdicts["peak_rss_mb"], verdicts["idle_rss_mb"], verdicts["idle_cpu_percent"]
    row("peak RSS, worker x1", f"{rss['value']:.1f} MB" if rss else "", "", "", f"< {MAX_RSS_MB:.0f} MB",
        _mark(rss))
    row("idle RSS, worker x1", f"{idle_rss['value']:.1f} MB" if idle_rss else "", "", "",
        f"< {MAX_IDLE_RSS_MB:.0f} MB", _mark(idle_rss))
    if one is not None and one.get("idle_rss_anon_mb") is not None:
        row("  private / mapped files (code, shared)",
            f"{one['idle_rss_anon_mb']:.1f} / {one['idle_rss_file_mb']:.1f} MB", "", "RssAnon / RssFile")
    idle_label = f"idle CPU, worker x1 ({one.get('idle_seconds', '?')} s)" if _ok(one) else "idle CPU, worker x1"
    row(idle_label, f"{idle['value']:.2f} % of a core" if idle else "", "", "",
        f"< {MAX_IDLE_CPU_PERCENT:.0f} %", _mark(idle))

    _scale_rows(results, row)

    loads = [r["load_average_at_start"] for r in results.values() if "load_average_at_start" in r]
    load = f", load average {min(loads):.1f}-{max(loads):.1f}" if loads else ""
    print(f"\nwebhook-worker bench, {document['timestamp']}, {document['nproc']} cores{load} "
          "(shared machine: read the ratios, not the absolute figures)\n")
    header = ("measure", "rate", "CPU/request", "ratio", "target", "")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(6)]
    for line in [header] + rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip())
    for result in results.values():
        if result.get("warning"):
            print(f"warning: {result['warning']}")
